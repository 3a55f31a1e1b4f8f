//! PVE's schema nodes as the JSON Schema of tool inputs and outputs, compactly: `tools/list` has a
//! byte budget, so descriptions are PVE's first sentence, clipped.

use proxmox_mcp::apidoc::{Format, Schema, SchemaType};
use serde_json::{Map, Value, json};

/// Longest description kept for a parameter.
const MAX_DESCRIPTION: usize = 50;

/// The first sentence of PVE's text, clipped.
pub fn first_sentence(text: &str, max: usize) -> String {
    let text = text.trim();
    let end = text
        .char_indices()
        .find(|(i, c)| (*c == '.' && text[i + 1..].starts_with(char::is_whitespace)) || *c == '\n')
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    clip(text[..end].trim_end_matches('.').trim(), max)
}

/// `text` in at most `max` characters, cut at a word boundary with "…" (mid-word only when a
/// single word is longer than `max`).
pub fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let cut: String = text.chars().take(max).collect();
    // The whole of the last word when the next character ends it.
    let next_ends = text[cut.len()..].starts_with(char::is_whitespace);
    let kept = if next_ends {
        cut.as_str()
    } else {
        cut.rfind(char::is_whitespace).map_or("", |i| &cut[..i])
    };
    let kept = kept.trim_end_matches(|c: char| c.is_whitespace() || ",;:(-&/".contains(c));
    if kept.is_empty() {
        let cut: String = text.chars().take(max - 1).collect();
        return format!("{}…", cut.trim_end());
    }
    if kept.chars().count() >= max {
        // Room for the mark: one word less.
        return clip(kept, max - 1);
    }
    format!("{kept}…")
}

/// The input schema of one parameter.
pub fn param(schema: &Schema) -> Value {
    let mut out = Map::new();
    let ty = match schema.ty {
        Some(SchemaType::Integer) => "integer",
        Some(SchemaType::Number) => "number",
        Some(SchemaType::Boolean) => "boolean",
        Some(SchemaType::Array) => "array",
        Some(SchemaType::Object) => "object",
        _ => "string",
    };
    out.insert("type".into(), ty.into());
    if let Some(d) = schema.description.as_deref() {
        let mut d = first_sentence(d, MAX_DESCRIPTION);
        if let Some(Format::PropertyString(_)) = schema.format {
            d.push_str(" (key=value,... or an object)");
        }
        if !d.is_empty() {
            out.insert("description".into(), d.into());
        }
    }
    if let Some(values) = &schema.enum_values {
        out.insert("enum".into(), json!(values));
    }
    if ty == "integer" || ty == "number" {
        let num = |f: f64| {
            if ty == "integer" {
                json!(f as i64)
            } else {
                json!(f)
            }
        };
        if let Some(m) = schema.minimum {
            out.insert("minimum".into(), num(m));
        }
        if let Some(m) = schema.maximum {
            out.insert("maximum".into(), num(m));
        }
    }
    if ty == "string" {
        if let Some(m) = schema.min_length.filter(|m| *m > 0) {
            out.insert("minLength".into(), json!(m));
        }
        if let Some(m) = schema.max_length {
            out.insert("maxLength".into(), json!(m));
        }
    }
    if ty == "array" {
        let item = schema.items.as_deref().map(param).unwrap_or(json!({}));
        let item_ty = item.get("type").cloned().unwrap_or(json!("string"));
        out.insert("items".into(), json!({ "type": item_ty }));
    }
    if let Some(d) = &schema.default
        && (d.is_number() || d.is_boolean() || d.as_str().is_some_and(|s| s.len() <= 20))
    {
        let d = match (ty, d) {
            ("boolean", Value::Number(n)) => json!(n.as_u64() == Some(1)),
            ("integer" | "number", Value::String(s)) => match s.parse::<f64>() {
                Ok(f) if ty == "integer" => json!(f as i64),
                Ok(f) => json!(f),
                Err(_) => Value::Null,
            },
            _ => d.clone(),
        };
        // false and 0 go without saying (and without bytes in tools/list).
        if !d.is_null() && d != json!(false) && d != json!(0) {
            out.insert("default".into(), d);
        }
    }
    Value::Object(out)
}

/// An object schema from properties and the required names.
pub fn object(properties: Map<String, Value>, required: Vec<String>) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), json!(required));
    }
    Value::Object(out)
}

/// The JSON type of a return value, for output schemas (PVE's booleans travel as 0/1).
fn output_type(schema: &Schema) -> Value {
    match schema.ty {
        Some(SchemaType::Integer) => json!({"type": "integer"}),
        Some(SchemaType::Number) => json!({"type": "number"}),
        Some(SchemaType::Boolean) => json!({"type": ["boolean", "integer"]}),
        Some(SchemaType::String) => json!({"type": "string"}),
        Some(SchemaType::Array) => json!({"type": "array"}),
        Some(SchemaType::Object) => json!({"type": "object"}),
        _ => json!({}),
    }
}

/// The properties PVE always sends (not `optional`), with their types: what an output schema
/// states without costing `tools/list` a line per optional field.
fn always_sent(props: &std::collections::BTreeMap<String, Schema>) -> Map<String, Value> {
    props
        .iter()
        .filter(|(k, s)| !s.optional && !k.contains('['))
        .map(|(k, s)| (k.clone(), output_type(s)))
        .collect()
}

/// The output schema of a method's return: an object's own properties with their types, or a list
/// wrapped in an object under `wrap`.
pub fn output(returns: &Schema, wrap: &str) -> Value {
    match returns.ty {
        Some(SchemaType::Array) => {
            let mut items = json!({"type": "object"});
            if let Some(props) = returns.items.as_deref().and_then(|i| i.properties.as_ref()) {
                let p = always_sent(props);
                if !p.is_empty() {
                    items["properties"] = Value::Object(p);
                }
            }
            object(
                [(wrap.to_string(), json!({"type": "array", "items": items}))]
                    .into_iter()
                    .collect(),
                vec![wrap.to_string()],
            )
        }
        Some(SchemaType::Object) => {
            let props = returns
                .properties
                .as_ref()
                .map(always_sent)
                .unwrap_or_default();
            object(props, Vec::new())
        }
        _ => object(
            [(wrap.to_string(), output_type(returns))]
                .into_iter()
                .collect(),
            Vec::new(),
        ),
    }
}

/// Makes `data` fit the types of an output schema made by [`output`]: numbers PVE sent as
/// strings become numbers, nulls are dropped. Returns false when something still does not fit.
pub fn conform(data: &mut Value, schema: &Value) -> bool {
    let (Some(obj), Some(props)) = (
        data.as_object_mut(),
        schema.get("properties").and_then(Value::as_object),
    ) else {
        return data.is_object();
    };
    obj.retain(|_, v| !v.is_null());
    let mut ok = true;
    for (k, v) in obj.iter_mut() {
        let Some(ty) = props.get(k).and_then(|p| p.get("type")) else {
            continue;
        };
        let fits = |v: &Value, t: &str| match t {
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "string" => v.is_string(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => true,
        };
        let types: Vec<&str> = match ty {
            Value::String(t) => vec![t.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        if types.iter().any(|t| fits(v, t)) {
            continue;
        }
        if let Value::String(s) = v {
            if types.contains(&"integer")
                && let Ok(n) = s.parse::<i64>()
            {
                *v = json!(n);
                continue;
            }
            if types.contains(&"number")
                && let Ok(n) = s.parse::<f64>()
                && n.is_finite()
            {
                *v = json!(n);
                continue;
            }
        }
        if types.contains(&"integer")
            && let Some(f) = v.as_f64()
            && f.fract() == 0.0
        {
            *v = json!(f as i64);
            continue;
        }
        if types.contains(&"string") && (v.is_number() || v.is_boolean()) {
            *v = Value::String(v.to_string());
            continue;
        }
        ok = false;
    }
    ok
}

/// Whether a result fits an output schema made here (the subset they use: `type`, `enum`,
/// `required`, `properties`, `items`), recursively. `Err` names where and what misfits.
pub fn fits(v: &Value, schema: &Value) -> Result<(), String> {
    let is = |t: &str| match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => true,
    };
    let type_ok = match schema.get("type") {
        Some(Value::String(t)) => is(t),
        Some(Value::Array(ts)) => ts.iter().any(|t| is(t.as_str().unwrap_or(""))),
        _ => true,
    };
    let listed = schema
        .get("enum")
        .and_then(Value::as_array)
        .is_none_or(|values| values.contains(v));
    if !type_ok || !listed {
        let want = schema
            .get("enum")
            .or_else(|| schema.get("type"))
            .map(Value::to_string)
            .unwrap_or_default();
        return Err(format!("expected {want}, got {}", kind(v)));
    }
    if let Some(obj) = v.as_object() {
        let required = schema.get("required").and_then(Value::as_array);
        if let Some(r) = required
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|r| !obj.contains_key(*r))
        {
            return Err(format!("`{r}` is missing"));
        }
        for (k, sub) in schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(x) = obj.get(k) {
                fits(x, sub).map_err(|e| format!("`{k}`: {e}"))?;
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), v.as_array()) {
        for (i, x) in list.iter().enumerate() {
            fits(x, items).map_err(|e| format!("item {i}: {e}"))?;
        }
    }
    Ok(())
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("{s:?}"),
        Value::String(_) => "a long string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_names_the_misfit() {
        let schema = json!({"type": "object", "properties": {
            "upid": {"type": "string"}, "status": {"enum": ["OK", "running"]},
            "tasks": {"type": "array", "items": {"type": "object", "properties": {"pid": {"type": "integer"}}}}
        }, "required": ["upid"]});
        assert_eq!(fits(&json!({"upid": "U", "status": "OK"}), &schema), Ok(()));
        assert_eq!(
            fits(&json!({"upid": "U", "status": "stopped"}), &schema),
            Err("`status`: expected [\"OK\",\"running\"], got \"stopped\"".into())
        );
        assert!(
            fits(&json!({"status": "OK"}), &schema)
                .unwrap_err()
                .contains("`upid` is missing")
        );
        assert!(
            fits(&json!({"upid": "U", "tasks": [{"pid": "x"}]}), &schema)
                .unwrap_err()
                .contains("item 0")
        );
    }

    #[test]
    fn first_sentences() {
        assert_eq!(
            first_sentence("Start the VM. It boots.", 90),
            "Start the VM"
        );
        assert_eq!(
            first_sentence("Version 1.2 is here", 90),
            "Version 1.2 is here"
        );
        assert_eq!(first_sentence("abcdefgh", 5), "abcd…");
        // Cut at a word boundary, never inside a word.
        assert_eq!(
            first_sentence("Start the virtual machine now. Then", 16),
            "Start the…"
        );
        assert_eq!(clip("Amount of memory, in MiB", 17), "Amount of memory…");
        assert_eq!(clip("Amount of memory, in MiB", 16), "Amount of…");
        assert_eq!(clip("short", 16), "short");
    }

    #[test]
    fn conform_coerces_numbers_and_reports_misfits() {
        let schema = json!({"type":"object","properties":{"cpus":{"type":"integer"},"name":{"type":"string"}}});
        let mut v = json!({"cpus": "4", "name": 7, "gone": null});
        assert!(conform(&mut v, &schema));
        assert_eq!(v, json!({"cpus": 4, "name": "7"}));
        let mut v = json!({"cpus": "many"});
        assert!(!conform(&mut v, &schema));
    }
}
