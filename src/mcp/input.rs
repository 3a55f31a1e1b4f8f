//! Reading a tool's arguments: the check against its input schema, and typed reads of single
//! arguments. The bottom of the MCP layer: it calls nothing above it.

use proxmox_mcp::args;
use serde_json::{Map, Value};

use super::tools::{BuiltTool, DEFAULT_WAIT, MAX_WAIT};

/// Checks the arguments against the tool's input schema: names, types, listed values, ranges.
/// Objects and lists given as JSON text are read as such; numbers given as text are used as
/// numbers. A value is shown in an error only when it is short, not secret-named and not meant
/// to be an object or a list (whose text may hold a secret).
pub fn check(tool: &BuiltTool, args: &mut Map<String, Value>) -> Result<(), String> {
    let empty = Map::new();
    let props = tool.input["properties"].as_object().unwrap_or(&empty);
    args.retain(|_, v| !v.is_null());
    for (name, value) in args.iter_mut() {
        let Some(p) = props.get(name) else {
            let names: Vec<&str> = props.keys().map(String::as_str).collect();
            return Err(format!(
                "unknown argument `{name}`: {} takes {}",
                tool.decl.name,
                names.join(", ")
            ));
        };
        let ty = p["type"].as_str().unwrap_or("string");
        if let (Value::String(s), "object" | "array") = (&*value, ty)
            && let Ok(parsed) = serde_json::from_str::<Value>(s)
            && (parsed.is_object() || parsed.is_array())
        {
            *value = parsed;
        }
        let fits = match ty {
            "integer" => value.is_i64() || value.is_u64() || int_text(value).is_some(),
            "number" => {
                value.is_number()
                    || value
                        .as_str()
                        .is_some_and(|s| s.trim().parse::<f64>().is_ok_and(f64::is_finite))
            }
            "boolean" => flag_value(value).is_some(),
            "array" => value.is_array() || value.is_string(),
            "object" => value.is_object(),
            // Strings: numbers and booleans are written as text; objects are property strings.
            _ => !value.is_array(),
        };
        let expects = || {
            let mut e = match ty {
                "integer" => "an integer".to_string(),
                "number" => "a number".into(),
                "boolean" => "true or false".into(),
                "array" => "a list".into(),
                "object" => "an object".into(),
                _ => "a string".into(),
            };
            if let Some(values) = p["enum"].as_array() {
                let v: Vec<String> = values
                    .iter()
                    .map(|v| v.as_str().unwrap_or("").to_string())
                    .collect();
                e = format!("one of {}", v.join(", "));
            }
            if let (Some(a), Some(b)) = (p["minimum"].as_f64(), p["maximum"].as_f64()) {
                e.push_str(&format!(" from {a} to {b}"));
            } else if let Some(a) = p["minimum"].as_f64() {
                e.push_str(&format!(" of at least {a}"));
            }
            e
        };
        let shown = || shown(name, ty, value);
        if !fits {
            return Err(format!(
                "invalid argument `{name}`: expects {}, got {}. Nothing was sent.",
                expects(),
                shown()
            ));
        }
        if let Some(values) = p["enum"].as_array()
            && value
                .as_str()
                .is_none_or(|s| !values.iter().any(|v| v.as_str() == Some(s)))
        {
            return Err(format!(
                "invalid argument `{name}`: expects {}, got {}. Nothing was sent.",
                expects(),
                shown()
            ));
        }
        if ty == "integer" || ty == "number" {
            let n = value
                .as_f64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
            if let Some(n) = n
                && (p["minimum"].as_f64().is_some_and(|m| n < m)
                    || p["maximum"].as_f64().is_some_and(|m| n > m))
            {
                return Err(format!(
                    "invalid argument `{name}`: expects {}, got {}. Nothing was sent.",
                    expects(),
                    shown()
                ));
            }
        }
        // From here on a number is a number and a flag is a flag, whatever form it came in.
        if ty == "integer"
            && let Some(n) = int_text(value)
        {
            *value = Value::from(n);
        }
        if ty == "boolean"
            && let Some(b) = flag_value(value)
        {
            *value = Value::Bool(b);
        }
    }
    for r in tool.input["required"].as_array().into_iter().flatten() {
        if let Some(r) = r.as_str()
            && !args.contains_key(r)
        {
            return Err(format!(
                "missing argument `{r}` ({} needs it). Nothing was sent.",
                tool.decl.name
            ));
        }
    }
    Ok(())
}

/// How a rejected value is shown: never a secret-named one, never the text of an object or
/// list (a malformed `params` may hold a password), and at most 60 characters of the rest.
fn shown(name: &str, ty: &str, value: &Value) -> String {
    if args::is_secret_name(name) {
        return "the value given".to_string();
    }
    if matches!(ty, "object" | "array") && value.is_string() {
        return "text that is not valid JSON (check quotes, commas and brackets)".to_string();
    }
    if value.is_object() || value.is_array() {
        return if value.is_object() {
            "an object".to_string()
        } else {
            "a list".to_string()
        };
    }
    let t = value.to_string();
    if t.chars().count() > 60 {
        format!("{}...", t.chars().take(60).collect::<String>())
    } else {
        t
    }
}

/// An integer given as a number or as its decimal text (`"5"`, `" 5 "`, `"+5"`).
fn int_text(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        }
        _ => None,
    }
}

fn flag_value(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A string argument (a number is given as its text).
pub fn text(args: &Map<String, Value>, name: &str) -> Option<String> {
    match args.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative integer argument, given as a number or as its text.
pub fn uint(args: &Map<String, Value>, name: &str) -> Option<u64> {
    int_text(args.get(name)?).and_then(|n| u64::try_from(n).ok())
}

/// A boolean argument (`true`, `1`, `"true"`, `"1"`).
pub fn flag(args: &Map<String, Value>, name: &str) -> bool {
    args.get(name).and_then(flag_value).unwrap_or(false)
}

/// Removes `wait` from the arguments: seconds to wait for a task (checked by [`check`]).
pub fn take_wait(args: &mut Map<String, Value>) -> u64 {
    let wait = uint(args, "wait").unwrap_or(DEFAULT_WAIT).min(MAX_WAIT);
    args.remove("wait");
    wait
}

/// The `vmid` argument as a number, written back into `args` in canonical form (`"0100"` and
/// `"+100"` are 100), so what is located, checked and sent is the same VMID.
pub fn vmid(args: &mut Map<String, Value>) -> Result<u64, String> {
    let v = args.get("vmid").ok_or("missing argument `vmid`")?;
    let id = int_text(v)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| {
            format!(
                "invalid argument `vmid`: expects an integer, got {}",
                shown("vmid", "integer", v)
            )
        })?;
    args.insert("vmid".into(), Value::from(id));
    Ok(id)
}

/// The `limit` argument, at most [`MAX_LIMIT`]; `default` when absent.
pub fn limit(args: &Map<String, Value>, default: usize) -> usize {
    uint(args, "limit")
        .map(|n| n.min(MAX_LIMIT) as usize)
        .unwrap_or(default)
}

/// The most items a `limit` argument may ask for (its schema says so too).
pub const MAX_LIMIT: u64 = 1000;

/// The `fields` argument: names to keep, as a list or comma-separated text.
pub fn fields(args: &Map<String, Value>) -> Option<Vec<String>> {
    let list = args.get("fields")?;
    Some(match list {
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Value::String(s) => s.split(',').map(|f| f.trim().to_string()).collect(),
        _ => return None,
    })
}

/// `since` as a Unix epoch: `24h`, `7d`, `90m` (before `now`), or an epoch itself.
pub fn since_epoch(v: &Value, now: u64) -> Result<u64, String> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => String::new(),
    };
    let bad = || {
        format!(
            "invalid argument `since`: expects a time back such as `24h`, `7d` or `90m`, or a \
             Unix epoch, got `{}`",
            text.chars().take(40).collect::<String>()
        )
    };
    if let Ok(epoch) = text.parse::<u64>() {
        return Ok(epoch);
    }
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(now.saturating_sub(n.saturating_mul(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_given_as_text_are_numbers() {
        let m = json!({"start": "900", "limit": " 10 ", "tail": 5, "bad": "5x", "neg": "-3"});
        let m = m.as_object().unwrap();
        assert_eq!(uint(m, "start"), Some(900));
        assert_eq!(uint(m, "limit"), Some(10));
        assert_eq!(uint(m, "tail"), Some(5));
        assert_eq!(uint(m, "bad"), None);
        assert_eq!(uint(m, "neg"), None);
    }

    #[test]
    fn vmids_are_canonical() {
        for given in [json!(100), json!("100"), json!("+100"), json!("0100")] {
            let mut m = Map::new();
            m.insert("vmid".into(), given.clone());
            assert_eq!(vmid(&mut m), Ok(100), "{given}");
            assert_eq!(m["vmid"], json!(100));
        }
        for bad in [
            json!("1e2"),
            json!("10 0"),
            json!("x"),
            json!(-1),
            json!(""),
        ] {
            let mut m = Map::new();
            m.insert("vmid".into(), bad.clone());
            assert!(vmid(&mut m).is_err(), "{bad}");
        }
    }

    #[test]
    fn malformed_json_text_is_never_echoed() {
        let s = shown(
            "params",
            "object",
            &json!(r#"{"userid":"carol@pve","password":"Secret-Canary-1",}"#),
        );
        assert!(!s.contains("Secret-Canary-1"), "{s}");
        assert!(s.contains("not valid JSON"), "{s}");
        assert_eq!(shown("password", "string", &json!("x")), "the value given");
    }

    #[test]
    fn since_is_a_time_back_or_an_epoch() {
        let now = 1_000_000;
        assert_eq!(since_epoch(&json!("24h"), now), Ok(now - 86_400));
        assert_eq!(since_epoch(&json!("7d"), now), Ok(now - 7 * 86_400));
        assert_eq!(since_epoch(&json!("90m"), now), Ok(now - 5400));
        assert_eq!(since_epoch(&json!(123), now), Ok(123));
        assert_eq!(since_epoch(&json!("99999d"), now), Ok(0));
        for bad in ["yesterday", "5w", "", "h"] {
            assert!(since_epoch(&json!(bad), now).is_err(), "{bad}");
        }
    }
}
