//! Arguments given as JSON (by an MCP tool, or any caller that builds requests at run time),
//! checked against a method's parameter schema from the catalog and encoded the way PVE wants.
//!
//! [`prepare`] refuses unknown names, missing required parameters, wrong types, values outside
//! the schema's ranges, lengths, listed values, named formats and patterns; what it returns can be
//! sent with [`crate::Client::execute`]. Nothing here echoes the value of a parameter whose name
//! says it is a secret.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::Error;
use crate::apidoc::{Format, Schema, SchemaType, parse_schema};
use crate::catalog::Endpoint;
use crate::params::Form;
use crate::validate::Text;

/// Checked arguments of one call.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// The values of the path's `{variables}`, in order.
    pub path_values: Vec<String>,
    /// The other parameters, encoded.
    pub form: Form,
}

/// A method's parameters by name.
pub type Parameters = Arc<BTreeMap<String, Schema>>;

/// The parameter schema of `ep` (parsed once per method).
pub fn parameters(ep: &Endpoint) -> Parameters {
    static CACHE: OnceLock<Mutex<HashMap<(usize, usize), Parameters>>> = OnceLock::new();
    let key = (ep.path.as_ptr() as usize, ep.method as usize);
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(key)
        .or_insert_with(|| {
            let props = serde_json::from_str::<Value>(ep.parameters)
                .ok()
                .and_then(|v| parse_schema(&v, ep.path).ok())
                .and_then(|s| s.properties)
                .unwrap_or_default();
            Arc::new(props)
        })
        .clone()
}

/// The schema of parameter `name` of `props`: its own entry, or its indexed family's (`net3` is
/// described by `net[n]`).
pub fn lookup<'a>(props: &'a BTreeMap<String, Schema>, name: &str) -> Option<&'a Schema> {
    if let Some(s) = props.get(name) {
        return Some(s);
    }
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() == name.len() || stem.is_empty() {
        return None;
    }
    props.get(&format!("{stem}[n]"))
}

/// True for parameter names whose values must never be shown.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "passphrase",
        "key",
        "otp",
        "totp",
    ]
    .iter()
    .any(|w| n.contains(w))
        && !matches!(n.as_str(), "keyboard" | "keephugepages" | "keepalive")
}

fn invalid(name: &str, reason: String) -> Error {
    Error::InvalidParameter {
        name: name.to_string(),
        reason,
    }
}

/// Checks `args` against the parameters of `ep` and encodes them. Path variables come from the
/// arguments of the same name.
pub fn prepare(ep: &Endpoint, args: &Map<String, Value>) -> Result<Prepared, Error> {
    let props = parameters(ep);
    let path_names: Vec<&str> = ep.path_vars.iter().map(|v| v.name).collect();
    for name in args.keys() {
        if lookup(&props, name).is_none() && !path_names.contains(&name.as_str()) {
            return Err(invalid(name, unknown_reason(&props)));
        }
    }
    let mut out = Prepared::default();
    for var in ep.path_vars {
        let value = match args.get(var.name) {
            None | Some(Value::Null) => {
                return Err(invalid(var.name, "is required (part of the path)".into()));
            }
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(invalid(
                    var.name,
                    format!("must be a string or a number, got {}", kind_of(other)),
                ));
            }
        };
        // Checked here, and integers in canonical form (`0100` is `100`): what is sent, and what
        // callers (the MCP pre-flight's ACL paths) see.
        out.path_values
            .push(crate::path::canonical_value(var, &value)?);
    }
    for (name, schema) in props.iter() {
        if !schema.optional
            && !name.ends_with("[n]")
            && !path_names.contains(&name.as_str())
            && args.get(name).is_none_or(Value::is_null)
        {
            return Err(invalid(name, format!("is required: {}", expects(schema))));
        }
    }
    for (name, value) in args {
        if path_names.contains(&name.as_str()) || value.is_null() {
            continue;
        }
        let schema = lookup(&props, name).expect("checked above");
        let secret = crate::redact::is_secret_param(Some(ep), name);
        encode(&mut out.form, name, value, schema, secret)?;
    }
    Ok(out)
}

fn unknown_reason(props: &BTreeMap<String, Schema>) -> String {
    let names: Vec<&str> = props.keys().map(String::as_str).collect();
    if names.is_empty() {
        return "is not a parameter of this method (it takes none)".into();
    }
    let mut list = names
        .iter()
        .take(40)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 40 {
        list.push_str(", ...");
    }
    format!("is not a parameter of this method; it takes: {list}")
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What a parameter expects, in a few words.
pub fn expects(schema: &Schema) -> String {
    if let Some(values) = &schema.enum_values {
        return format!("one of {}", values.join(", "));
    }
    let range = match (schema.minimum, schema.maximum) {
        (Some(a), Some(b)) => format!(" from {a} to {b}"),
        (Some(a), None) => format!(" of at least {a}"),
        (None, Some(b)) => format!(" of at most {b}"),
        (None, None) => String::new(),
    };
    match schema.ty {
        Some(SchemaType::Integer) => format!("an integer{range}"),
        Some(SchemaType::Number) => format!("a number{range}"),
        Some(SchemaType::Boolean) => "true or false".into(),
        Some(SchemaType::Array) => "a list".into(),
        Some(SchemaType::Object) => "an object".into(),
        _ => match &schema.format {
            Some(Format::PropertyString(_)) => "a property string (key=value,...)".into(),
            Some(Format::Named(f)) => match crate::validate::format_rule(f) {
                Some(rule) => format!("a string: {rule}"),
                None => "a string".into(),
            },
            None => "a string".into(),
        },
    }
}

/// Encodes `value` of parameter `name`; `secret` (or a secret-looking name) keeps the value out
/// of every message and limits its checks to the length.
fn encode(
    form: &mut Form,
    name: &str,
    value: &Value,
    schema: &Schema,
    secret: bool,
) -> Result<(), Error> {
    let secret = secret || is_secret_name(name);
    let shown = |v: &Value| {
        if secret {
            "the value".to_string()
        } else {
            let text = v.to_string();
            let clipped: String = text.chars().take(60).collect();
            if clipped.len() < text.len() {
                format!("{clipped}...")
            } else {
                clipped
            }
        }
    };
    let wrong = |v: &Value| {
        invalid(
            name,
            format!(
                "expects {}, got {} ({})",
                expects(schema),
                kind_of(v),
                shown(v)
            ),
        )
    };
    match schema.ty {
        Some(SchemaType::Boolean) => {
            let b = match value {
                Value::Bool(b) => *b,
                Value::Number(n) if n.as_u64() == Some(0) => false,
                Value::Number(n) if n.as_u64() == Some(1) => true,
                Value::String(s) => match s.as_str() {
                    "1" | "true" => true,
                    "0" | "false" => false,
                    _ => return Err(wrong(value)),
                },
                _ => return Err(wrong(value)),
            };
            form.bool(name, b);
        }
        Some(SchemaType::Integer) => {
            let n = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| wrong(value))?;
            form.int(
                name,
                n,
                schema.minimum.map(|m| m.ceil() as i64),
                schema.maximum.map(|m| m.floor() as i64),
            )?;
        }
        Some(SchemaType::Number) => {
            let n = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .ok_or_else(|| wrong(value))?;
            form.num(name, n, schema.minimum, schema.maximum)?;
        }
        Some(SchemaType::Array) => {
            let items = match value {
                Value::Array(a) => a.clone(),
                Value::String(s) if s.trim_start().starts_with('[') => {
                    match serde_json::from_str::<Value>(s) {
                        Ok(Value::Array(a)) => a,
                        _ => return Err(wrong(value)),
                    }
                }
                other => vec![other.clone()],
            };
            let item_schema = schema.items.as_deref().cloned().unwrap_or_default();
            for item in &items {
                encode(form, name, item, &item_schema, secret)?;
            }
        }
        Some(SchemaType::Object) => {
            let text = match value {
                Value::Object(_) => value.to_string(),
                Value::String(s) if serde_json::from_str::<Map<String, Value>>(s).is_ok() => {
                    s.clone()
                }
                _ => return Err(wrong(value)),
            };
            form.text(name, &text);
        }
        _ => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => (if *b { "1" } else { "0" }).to_string(),
                Value::Object(map) if matches!(schema.format, Some(Format::PropertyString(_))) => {
                    property_string(name, map, schema)?
                }
                Value::Array(_) | Value::Object(_) | Value::Null => {
                    return Err(wrong(value));
                }
            };
            if let Some(values) = &schema.enum_values {
                let allowed: Vec<&str> = values.iter().map(String::as_str).collect();
                form.choice(name, &text, &allowed)?;
            } else if secret {
                // Secrets get the length check only: a format or pattern error would show them.
                form.secret(name, &text, schema.min_length, schema.max_length)?;
            } else {
                if let Some(Format::PropertyString(keys)) = &schema.format {
                    check_property_string(name, &text, keys, secret)?;
                }
                let format = match &schema.format {
                    Some(Format::Named(f)) => Some(f.as_str()),
                    _ => None,
                };
                let rule = Text {
                    min_length: schema.min_length,
                    max_length: schema.max_length,
                    format,
                    pattern: schema.pattern.as_deref(),
                };
                // A key of a property string (`net0.tag`) is never free text.
                if !name.contains('.') && crate::apidoc::is_free_text(name, schema) {
                    form.free_text(name, &text, &rule)?;
                } else {
                    form.str(name, &text, &rule)?;
                }
            }
        }
    }
    Ok(())
}

/// Checks the keys of property string `text` that the schema knows, each as its own parameter
/// (`net0.tag`), and that the required keys are there. Keys the schema does not know pass: a
/// newer PVE may take them.
fn check_property_string(
    name: &str,
    text: &str,
    keys: &BTreeMap<String, Schema>,
    secret: bool,
) -> Result<(), Error> {
    let default_key = keys.iter().find(|(_, s)| s.default_key).map(|(k, _)| k);
    let pairs = crate::propstring::split_with(text, default_key.map(String::as_str), |key| {
        let s = keys.get(key)?;
        Some((s.alias.clone()?, s.key_alias.clone()))
    })
    .map_err(|e| invalid(name, e.to_string()))?;
    let mut scratch = Form::new();
    for (key, value) in &pairs {
        if let Some(schema) = keys.get(key) {
            let value = Value::String(value.clone());
            encode(
                &mut scratch,
                &format!("{name}.{key}"),
                &value,
                schema,
                secret,
            )?;
        }
    }
    let missing = keys.iter().find(|(k, s)| {
        !s.optional
            && s.alias.is_none()
            && s.key_alias.is_none()
            && !pairs.iter().any(|(p, _)| p == *k)
    });
    if let Some((k, _)) = missing {
        return Err(invalid(name, format!("required key `{k}` is missing")));
    }
    Ok(())
}

/// An object given for a property-string parameter, written as `key=value,...` (the default key
/// first, without its name). A value holding `,` or a control character is refused (named
/// `net1.bridge`): it would become another key.
fn property_string(name: &str, map: &Map<String, Value>, schema: &Schema) -> Result<String, Error> {
    let Some(Format::PropertyString(keys)) = &schema.format else {
        unreachable!("checked by the caller")
    };
    let mut parts = Vec::new();
    let default_key = keys.iter().find(|(_, s)| s.default_key).map(|(k, _)| k);
    for (k, v) in map {
        if !keys.contains_key(k) {
            let list: Vec<&str> = keys.keys().map(String::as_str).collect();
            return Err(invalid(
                name,
                format!(
                    "`{k}` is not a key of this property string; keys: {}",
                    list.join(", ")
                ),
            ));
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => (if *b { "1" } else { "0" }).to_string(),
            Value::Number(n) => n.to_string(),
            Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join(";"),
            _ => {
                return Err(invalid(
                    name,
                    format!("key `{k}` must be a string, number or boolean"),
                ));
            }
        };
        // A disk size as PVE prints it (`4096M` is `4G`), as the typed structs send it.
        let text = match &keys[k].format {
            Some(Format::Named(f)) if f == "disk-size" => {
                crate::propstring::canonical_size(&text).unwrap_or(text)
            }
            _ => text,
        };
        // Joined without escaping (PVE has none), so a value must stay inside its key.
        crate::validate::check_prop_value(&format!("{name}.{k}"), &text)?;
        // PVE's order (`print_property_string`): the default key, the required keys, the rest,
        // each group by name (the map iterates by name; the sort below is stable).
        if Some(k) == default_key && !text.contains('=') {
            parts.push((0, text));
        } else {
            // The default key keeps its name when its value holds `=`, which would otherwise
            // read as `key=value` (PVE reads a key up to the first `=`, so later ones are safe).
            let rank = if Some(k) == default_key {
                0
            } else if keys[k].optional {
                2
            } else {
                1
            };
            parts.push((rank, format!("{k}={text}")));
        }
    }
    parts.sort_by_key(|(rank, _)| *rank);
    Ok(parts
        .into_iter()
        .map(|(_, p)| p)
        .collect::<Vec<_>>()
        .join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apidoc::HttpMethod;
    use crate::catalog::find;
    use serde_json::json;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn checks_and_encodes() {
        let ep = find(
            HttpMethod::Post,
            "/nodes/{node}/qemu/{vmid}/status/shutdown",
        )
        .unwrap();
        let p = prepare(
            ep,
            &args(json!({"node": "pve1", "vmid": 100, "timeout": "30", "forceStop": true})),
        )
        .unwrap();
        assert_eq!(p.path_values, ["pve1", "100"]);
        let pairs = p.form.pairs();
        assert!(
            pairs.contains(&("timeout".into(), "30".into())),
            "{pairs:?}"
        );
        assert!(
            pairs.contains(&("forceStop".into(), "1".into())),
            "{pairs:?}"
        );
        let e = prepare(
            ep,
            &args(json!({"node": "pve1", "vmid": 100, "tiemout": 3})),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tiemout") && e.contains("timeout"), "{e}");
        let e = prepare(ep, &args(json!({"node": "pve1"})))
            .unwrap_err()
            .to_string();
        assert!(e.contains("vmid") && e.contains("required"), "{e}");
        let e = prepare(
            ep,
            &args(json!({"node": "pve1", "vmid": 100, "forceStop": "yes"})),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("forceStop") && e.contains("true or false"),
            "{e}"
        );
        let e = prepare(
            ep,
            &args(json!({"node": "pve1", "vmid": 100, "timeout": -1})),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("below the minimum"), "{e}");
    }

    #[test]
    fn enums_indexed_names_property_objects_and_json_strings() {
        let ep = find(HttpMethod::Put, "/nodes/{node}/qemu/{vmid}/config").unwrap();
        let base = json!({"node": "pve1", "vmid": 100});
        let mut a = args(base.clone());
        a.insert("ostype".into(), json!("windows95"));
        let e = prepare(ep, &a).unwrap_err().to_string();
        assert!(e.contains("one of") && e.contains("l26"), "{e}");
        let mut a = args(base.clone());
        a.insert("net3".into(), json!({"model": "virtio", "bridge": "vmbr0"}));
        let p = prepare(ep, &a).unwrap();
        let pairs = p.form.pairs();
        assert_eq!(pairs[0].0, "net3");
        assert!(pairs[0].1.contains("bridge=vmbr0"), "{pairs:?}");
        let mut a = args(base.clone());
        a.insert("delete".into(), json!("net1,net2"));
        assert!(prepare(ep, &a).is_ok());
        // A list given as a JSON string.
        let ep = find(HttpMethod::Get, "/cluster/resources").unwrap();
        assert!(prepare(ep, &args(json!({"type": "vm"}))).is_ok());
        let e = prepare(ep, &args(json!({"type": "vms"})))
            .unwrap_err()
            .to_string();
        assert!(e.contains("one of"), "{e}");
    }

    /// The typed structs and JSON arguments share one implementation of the checks: the same
    /// bad value gets the same error either way.
    #[test]
    fn typed_parameters_and_json_arguments_fail_alike() {
        use crate::api::nodes::qemu;
        use crate::params::Params;
        let typed = |p: &dyn Params| {
            let mut form = Form::new();
            p.write(&mut form).unwrap_err().to_string()
        };
        let json = |method, path, extra: Value| {
            let mut a = args(json!({"node": "pve1", "vmid": 100}));
            a.extend(args(extra));
            prepare(find(method, path).unwrap(), &a)
                .unwrap_err()
                .to_string()
        };
        let snapshot = "/nodes/{node}/qemu/{vmid}/snapshot";
        let config = "/nodes/{node}/qemu/{vmid}/config";
        // A named format (pve-configid), a range, an unlisted value, a length, and a key inside a
        // property string.
        let mut net = crate::formats::QemuNet::new(crate::enums::Model::Virtio);
        net.tag = Some(5000);
        let mut with_net = qemu::config::PutParams::default();
        with_net.net.insert(0, net);
        let cases: Vec<(String, String)> = vec![
            (
                typed(&qemu::snapshot::PostParams::new("1st".into())),
                json(HttpMethod::Post, snapshot, json!({"snapname": "1st"})),
            ),
            (
                typed(&qemu::config::PutParams {
                    cores: Some(0),
                    ..Default::default()
                }),
                json(HttpMethod::Put, config, json!({"cores": 0})),
            ),
            (
                typed(&qemu::config::PutParams {
                    ostype: Some(crate::enums::QemuOstype::Unlisted("plan9".into())),
                    ..Default::default()
                }),
                json(HttpMethod::Put, config, json!({"ostype": "plan9"})),
            ),
            (
                typed(&qemu::config::PutParams {
                    description: Some("x".repeat(9000)),
                    ..Default::default()
                }),
                json(
                    HttpMethod::Put,
                    config,
                    json!({"description": "x".repeat(9000)}),
                ),
            ),
            (
                typed(&with_net),
                json(
                    HttpMethod::Put,
                    config,
                    json!({"net0": "virtio,bridge=vmbr0,tag=5000"}),
                ),
            ),
        ];
        for (typed, json) in &cases {
            assert_eq!(typed, json);
        }
        assert!(
            cases[0]
                .0
                .contains("letters, digits, `-` and `_`, starting with a letter"),
            "{}",
            cases[0].0
        );
        assert!(cases[1].0.contains("below the minimum 1"), "{}", cases[1].0);
        assert!(
            cases[2].0.contains("`plan9` is not one of"),
            "{}",
            cases[2].0
        );
        assert!(cases[4].0.contains("net0.tag"), "{}", cases[4].0);
    }

    /// JSON arguments (the generic tools, the CLI) see the keys of the formats the schema only
    /// names, and send disk sizes as PVE prints them, as the typed structs do.
    #[test]
    fn named_formats_and_disk_sizes_in_json_arguments() {
        let ep = find(HttpMethod::Put, "/nodes/{node}/qemu/{vmid}/config").unwrap();
        let prep = |extra: Value| {
            let mut a = args(json!({"node": "pve1", "vmid": 100}));
            a.extend(args(extra));
            prepare(ep, &a)
        };
        let p = prep(json!({
            "startup": {"order": 2, "up": 30},
            "scsi1": {"file": "local-lvm:vm-100-disk-1", "size": "4096M"},
            "watchdog": "i6300esb,action=reset",
        }))
        .unwrap();
        let pairs = p.form.pairs();
        assert!(
            pairs.contains(&("startup".into(), "2,up=30".into())),
            "{pairs:?}"
        );
        assert!(
            pairs.contains(&("scsi1".into(), "local-lvm:vm-100-disk-1,size=4G".into())),
            "{pairs:?}"
        );
        let e = prep(json!({"startup": {"order": 1, "later": 5}}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("later") && e.contains("up"), "{e}");
        let e = prep(json!({"watchdog": "model=i6300esb,action=explode"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("watchdog.action"), "{e}");
    }

    #[test]
    fn object_form_property_strings_print_in_pves_order() {
        // PVE's print_property_string: the default key, then required keys, then the rest.
        let ep = find(HttpMethod::Put, "/nodes/{node}/lxc/{vmid}/config").unwrap();
        let a = args(json!({"node": "pve1", "vmid": 200,
            "mp0": {"backup": true, "mp": "/data", "volume": "local-lvm:8", "acl": false}}));
        let p = prepare(ep, &a).unwrap();
        let mp0 = p.form.pairs().iter().find(|(k, _)| k == "mp0").unwrap();
        assert_eq!(mp0.1, "local-lvm:8,mp=/data,acl=0,backup=1");
    }

    #[test]
    fn property_string_values_and_control_characters_are_refused() {
        use crate::api::nodes::qemu;
        use crate::params::Params;
        let ep = find(HttpMethod::Put, "/nodes/{node}/qemu/{vmid}/config").unwrap();
        let prep = |extra: Value| {
            let mut a = args(json!({"node": "pve1", "vmid": 100}));
            a.extend(args(extra));
            prepare(ep, &a)
        };
        let named = |r: Result<Prepared, Error>| match r {
            Err(Error::InvalidParameter { name, reason }) => (name, reason),
            other => panic!("{other:?}"),
        };
        // A `,` in an object-form value would start other keys (firewall=1, tag=5).
        let (name, reason) = named(prep(
            json!({"net1": {"model": "virtio", "bridge": "vmbr0,firewall=1,tag=5"}}),
        ));
        assert_eq!(name, "net1.bridge");
        assert!(
            reason.contains("`,`") && !reason.contains("vmbr0"),
            "{reason}"
        );
        let (name, _) = named(prep(
            json!({"net1": {"model": "virtio,bridge=vmbr9", "bridge": "vmbr0"}}),
        ));
        assert_eq!(name, "net1.model");
        let (name, reason) = named(prep(
            json!({"net1": {"model": "virtio", "bridge": "vmbr0\t"}}),
        ));
        assert_eq!(name, "net1.bridge");
        assert!(reason.contains("U+0009"), "{reason}");
        // The same through the typed struct.
        let mut net = crate::formats::QemuNet::new(crate::enums::Model::Virtio);
        net.bridge = Some("vmbr0,firewall=1".into());
        let mut put = qemu::config::PutParams::default();
        put.net.insert(1, net);
        let e = put.write(&mut Form::new()).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameter { name, .. } if name == "net1.bridge"),
            "{e:?}"
        );

        // A line break in an ordinary string parameter, in a property string given as text, and
        // in `tags`.
        let (name, reason) = named(prep(json!({"name": "vm\nargs: -x"})));
        assert_eq!(name, "name");
        assert!(
            reason.contains("line break") && !reason.contains("args"),
            "{reason}"
        );
        let (name, _) = named(prep(json!({"net1": "virtio,bridge=vmbr0\nargs: -x"})));
        assert!(name == "net1.bridge" || name == "net1", "{name}");
        assert!(named(prep(json!({"tags": "a\nb"}))).0 == "tags");
        let (_, reason) = named(prep(json!({"description": "x\u{0}y"})));
        assert!(reason.contains("U+0000"), "{reason}");
        let e = qemu::config::PutParams {
            name: Some("vm\nargs: -x".into()),
            ..Default::default()
        }
        .write(&mut Form::new())
        .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameter { name, .. } if name == "name"),
            "{e:?}"
        );
        // Free text takes line breaks and tabs, typed or not.
        prep(json!({"description": "line 1\nline 2\r\n\tindented"})).unwrap();
        qemu::config::PutParams {
            description: Some("line 1\nline 2".into()),
            ..Default::default()
        }
        .write(&mut Form::new())
        .unwrap();
        // A secret may span lines (key material) but never shows in the message.
        let storage = find(HttpMethod::Post, "/storage").unwrap();
        let base = json!({"storage": "s1", "type": "pbs"});
        let mut a = args(base.clone());
        a.insert("keyring".into(), json!("[client.x]\n\tkey = AQ=="));
        prepare(storage, &a).unwrap();
        let mut a = args(base);
        a.insert("password".into(), json!("Canary\u{7}Pw"));
        let e = prepare(storage, &a).unwrap_err().to_string();
        assert!(e.contains("U+0007") && !e.contains("Canary"), "{e}");
    }

    /// The free-text rule (`apidoc::is_free_text`) against the whole schema: which parameters
    /// take line breaks.
    #[test]
    fn free_text_parameters_of_the_schema() {
        let mut names = std::collections::BTreeSet::new();
        let mut count = 0;
        for ep in crate::catalog::ENDPOINTS.iter() {
            for (name, s) in parameters(ep).iter() {
                if crate::apidoc::is_free_text(name, s) {
                    names.insert(name.clone());
                    count += 1;
                }
            }
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "certificates",
                "comment",
                "comments",
                "consent-text",
                "content",
                "data",
                "description",
                "input-data",
                "key",
                "keyring",
                "notes",
                "ssh-public-keys"
            ],
            "{count}"
        );
        assert_eq!(count, 64);
        let vzdump = find(HttpMethod::Post, "/nodes/{node}/vzdump").unwrap();
        let s = &parameters(vzdump)["notes-template"];
        assert!(!crate::apidoc::is_free_text("notes-template", s));
    }

    #[test]
    fn integer_path_values_come_back_canonical() {
        let ep = find(HttpMethod::Get, "/nodes/{node}/qemu/{vmid}/status/current").unwrap();
        for vmid in [json!("0100"), json!("+100"), json!(100), json!("100")] {
            let p = prepare(ep, &args(json!({"node": "pve1", "vmid": vmid}))).unwrap();
            assert_eq!(p.path_values, ["pve1", "100"], "{vmid}");
        }
        for bad in [
            json!(" 100"),
            json!("1 00"),
            json!("0x64"),
            json!("1e2"),
            json!(100.5),
        ] {
            let e = prepare(ep, &args(json!({"node": "pve1", "vmid": bad}))).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidParameter { name, .. } if name == "vmid"),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn property_strings_are_checked_key_by_key() {
        let ep = find(HttpMethod::Put, "/nodes/{node}/qemu/{vmid}/config").unwrap();
        let with = |net0: Value| {
            let mut a = args(json!({"node": "pve1", "vmid": 100}));
            a.insert("net0".into(), net0);
            prepare(ep, &a)
        };
        assert!(with(json!("virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20")).is_ok());
        // A key this schema does not know passes (a newer PVE may take it).
        assert!(with(json!("virtio,bridge=vmbr0,newkey=1")).is_ok());
        let e = with(json!("bridge=vmbr0")).unwrap_err().to_string();
        assert!(e.contains("required key `model` is missing"), "{e}");
        let e = with(json!({"model": "virtio", "firewall": "maybe"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("net0.firewall"), "{e}");
        let e = with(json!("rtl9999,bridge=vmbr0")).unwrap_err().to_string();
        assert!(e.contains("net0.model") && e.contains("rtl9999"), "{e}");
    }

    #[test]
    fn secrets_are_not_echoed() {
        let ep = find(HttpMethod::Put, "/access/password").unwrap();
        let e = prepare(
            ep,
            &args(json!({"userid": "alice@pve", "password": {"a": "hunter2"}})),
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("password"), "{e}");
    }
}
