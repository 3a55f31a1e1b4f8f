//! Property-string formats the schema names without defining them.
//!
//! PVE's api-viewer prints a parameter with a registered format as `"format": "pve-qm-boot"`:
//! the keys stay in PVE's Perl sources. `named_formats.json` beside this file holds their
//! definitions, written from those sources (each entry says which repository, file, Perl
//! definition and release), in the form the schema gives an inline format. [`apply`] puts them in
//! place of the names in the raw schema and parses the methods' schemas again, so everything
//! after it (structs, enums, the catalog's JSON, `args`) sees an inline format, as if PVE had
//! printed one. A name the schema does not use (an older release) is simply not applied.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::apidoc::{ApiSchema, parse_schema};

/// The data file, compiled into the build script.
pub const DATA: &str = include_str!("named_formats.json");

/// The format definitions of [`DATA`]: name to the `keys` object.
pub fn table() -> Result<BTreeMap<String, Value>, String> {
    let doc: Value =
        serde_json::from_str(DATA).map_err(|e| format!("src/codegen/named_formats.json: {e}"))?;
    let formats = doc
        .get("formats")
        .and_then(Value::as_object)
        .ok_or("src/codegen/named_formats.json: `formats` must be an object")?;
    let mut out = BTreeMap::new();
    for (name, def) in formats {
        let at = format!("src/codegen/named_formats.json: formats.{name}");
        if def.get("source").and_then(|s| s.get("file")).is_none() {
            return Err(format!(
                "{at}: `source.file` is missing (say where the keys come from)"
            ));
        }
        let keys = def
            .get("keys")
            .filter(|k| k.as_object().is_some_and(|k| !k.is_empty()))
            .ok_or(format!("{at}: `keys` must be a non-empty object"))?;
        // Each key must read as a schema node of the api-viewer's form.
        for (key, s) in keys.as_object().into_iter().flatten() {
            parse_schema(s, &format!("{at}.keys.{key}")).map_err(|e| e.to_string())?;
        }
        out.insert(name.clone(), keys.clone());
    }
    Ok(out)
}

/// The struct names `named_formats.json` chooses (`"struct"`), by the format object as JSON
/// (what `types::Formats` deduplicates by). Formats without one are named from their path.
pub fn struct_names(table: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    let doc: Value = serde_json::from_str(DATA).unwrap_or_default();
    table
        .iter()
        .filter_map(|(name, keys)| {
            let chosen = doc["formats"][name]["struct"].as_str()?;
            Some((serde_json::to_string(keys).ok()?, chosen.to_string()))
        })
        .collect()
}

/// A line for each defined struct's documentation saying where its keys come from, by the
/// format object as JSON: ``Keys of PVE's named format `pve-qm-boot` (proxmox/qemu-server,
/// src/PVE/QemuServer.pm, qemu-server 9.2.6).``
pub fn sources(table: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    let doc: Value = serde_json::from_str(DATA).unwrap_or_default();
    table
        .iter()
        .filter_map(|(name, keys)| {
            let src = &doc["formats"][name]["source"];
            let release = src["release"].as_str()?;
            let release = release.split(" (").next().unwrap_or(release);
            let line = format!(
                "Keys of PVE's named format `{name}`, which the schema does not define: from {}, \
                 `{}` ({release}), kept in `src/codegen/named_formats.json`.",
                src["repository"].as_str()?,
                src["file"].as_str()?,
            );
            Some((serde_json::to_string(keys).ok()?, line))
        })
        .collect()
}

/// Replaces every string-typed `"format": NAME` of `v` whose NAME is in `table` by its keys;
/// counts the replacements per name in `used`.
fn replace(v: &mut Value, table: &BTreeMap<String, Value>, used: &mut BTreeMap<String, usize>) {
    match v {
        Value::Object(obj) => {
            let named = obj
                .get("format")
                .and_then(Value::as_str)
                .filter(|_| obj.get("type").and_then(Value::as_str) == Some("string"))
                .and_then(|name| table.get_key_value(name));
            if let Some((name, keys)) = named {
                *used.entry(name.clone()).or_default() += 1;
                obj.insert("format".to_string(), keys.clone());
            }
            for (_, child) in obj.iter_mut() {
                replace(child, table, used);
            }
        }
        Value::Array(items) => {
            for item in items {
                replace(item, table, used);
            }
        }
        _ => {}
    }
}

/// Puts the definitions of `table` in place of their names in every method's parameters and
/// returns; returns how often each name was replaced (names the schema lacks are absent).
pub fn apply(
    schema: &mut ApiSchema,
    table: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, usize>, String> {
    let mut used = BTreeMap::new();
    for m in &mut schema.methods {
        for (part, s) in [
            ("parameters", &mut m.parameters),
            ("returns", &mut m.returns),
        ] {
            let mut raw = s.raw.clone();
            let before = used.values().sum::<usize>();
            replace(&mut raw, table, &mut used);
            if used.values().sum::<usize>() != before {
                *s = parse_schema(&raw, &format!("{} {}: {part}", m.path, m.method))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apidoc::Format;

    fn schema(json: &str) -> ApiSchema {
        ApiSchema::parse(json).unwrap()
    }

    #[test]
    fn every_definition_reads_and_names_its_source() {
        let t = table().unwrap();
        assert_eq!(t.len(), 11);
        assert!(t.contains_key("pve-qm-boot") && t.contains_key("pve-startup-order"));
        assert_eq!(
            struct_names(&t).len(),
            1,
            "only the shared startup has a chosen name"
        );
    }

    /// Every definition is used by the vendored schema: a misspelt name would silently do
    /// nothing. (A newer or older schema may lack some; `apply` skips those.)
    #[test]
    fn the_vendored_schema_uses_every_definition() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("apidoc/apidoc.json")).unwrap();
        let mut s = ApiSchema::parse(&text).unwrap();
        let t = table().unwrap();
        let used = apply(&mut s, &t).unwrap();
        let missing: Vec<&String> = t.keys().filter(|k| !used.contains_key(*k)).collect();
        assert!(missing.is_empty(), "not in the schema: {missing:?}");
        assert_eq!(used["pve-startup-order"], 7, "{used:?}");
    }

    #[test]
    fn a_named_format_becomes_inline_and_unknown_names_stay() {
        let mut s = schema(
            r#"[{"path":"/x","text":"x","info":{"PUT":{"method":"PUT","parameters":{
                "properties":{
                    "startup":{"type":"string","format":"pve-startup-order","optional":1},
                    "other":{"type":"string","format":"pve-something-else","optional":1}}}}}}]"#,
        );
        let used = apply(&mut s, &table().unwrap()).unwrap();
        assert_eq!(used.get("pve-startup-order"), Some(&1));
        let props = s.methods[0].parameters.properties.as_ref().unwrap();
        let Some(Format::PropertyString(keys)) = &props["startup"].format else {
            panic!("{:?}", props["startup"].format)
        };
        assert!(keys["order"].default_key);
        assert!(
            matches!(&props["other"].format, Some(Format::Named(n)) if n == "pve-something-else")
        );
        // The raw JSON, which the catalog carries, says the same.
        assert!(s.methods[0].parameters.raw["properties"]["startup"]["format"]["up"].is_object());
        // A schema without any of the names (an older release) is left as it was.
        let mut old = schema(r#"[{"path":"/y","text":"y","info":{"GET":{"method":"GET"}}}]"#);
        let before = old.clone();
        assert!(apply(&mut old, &table().unwrap()).unwrap().is_empty());
        assert_eq!(old, before);
    }
}
