//! Secrets PVE returns are replaced before an answer reaches a tool result: a thin layer over
//! the library's [`proxmox_mcp::redact`], which knows each method's secret fields from the
//! catalog and adds a name-based net for what the schema does not declare.

use proxmox_mcp::catalog::Endpoint;
use serde_json::{Map, Value};

pub use proxmox_mcp::redact::REDACTED;

/// `data` with the values of secret-looking keys replaced, for answers whose method is not known
/// (or that were reshaped, such as a guest configuration built from its pending list).
pub fn redact(data: Value) -> Value {
    proxmox_mcp::redact::redact(None, data)
}

/// `data`, the answer of `ep`, with the fields `ep` declares secret and the values of
/// secret-looking keys replaced.
pub fn redact_for(ep: &Endpoint, data: Value) -> Value {
    proxmox_mcp::redact::redact(Some(ep), data)
}

/// True when `ep`'s parameter `name` holds a secret (declared by the schema, or named like one).
pub fn is_secret_param(ep: &Endpoint, name: &str) -> bool {
    proxmox_mcp::redact::is_secret_param(Some(ep), name) || proxmox_mcp::args::is_secret_name(name)
}

/// Tool arguments as the audit log keeps them: values of secret-named keys masked, at any depth
/// (`params.password` of the generic call included, also when `params` is given as JSON text).
pub fn mask_args(args: &Map<String, Value>) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    if proxmox_mcp::args::is_secret_name(k) || proxmox_mcp::redact::is_secret_key(k)
                    {
                        *val = Value::String(REDACTED.to_string());
                    } else {
                        walk(val);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::String(s) if s.trim_start().starts_with('{') => {
                match serde_json::from_str::<Value>(s) {
                    Ok(mut inner) => {
                        walk(&mut inner);
                        *v = inner;
                    }
                    // Text that is not JSON may still hold a secret: kept out of the log.
                    Err(_) => *v = Value::String("(text that is not JSON, not shown)".into()),
                }
            }
            _ => {}
        }
    }
    let mut v = Value::Object(args.clone());
    walk(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxmox_mcp::apidoc::HttpMethod;
    use proxmox_mcp::catalog::find;
    use proxmox_mcp::redact::REDACTED;
    use serde_json::json;

    #[test]
    fn replaces_secrets_only() {
        let v = redact(json!({"ticket": "PVE:root@pam:X", "username": "root@pam",
                              "list": [{"full-tokenid": "a@pve!x", "value": "s3cret"}],
                              "cfg": {"value": "keep"}}));
        assert_eq!(v["ticket"], REDACTED);
        assert_eq!(v["username"], "root@pam");
        assert_eq!(v["list"][0]["value"], REDACTED);
        assert_eq!(v["cfg"]["value"], "keep");
    }

    #[test]
    fn arguments_are_masked_at_any_depth_and_in_json_text() {
        let args = json!({"vmid": 100, "params": {"password": "P1", "name": "x"},
                          "text": "{\"cipassword\": \"P2\"}", "broken": "{\"password\": \"P3\",}"});
        let v = mask_args(args.as_object().unwrap());
        let t = v.to_string();
        for p in ["P1", "P2", "P3"] {
            assert!(!t.contains(p), "{t}");
        }
        assert_eq!(v["params"]["name"], "x");
        assert_eq!(v["vmid"], 100);
    }

    #[test]
    fn declared_fields_need_the_endpoint() {
        let ep = find(HttpMethod::Get, "/cluster/sdn/dns/{dns}").unwrap();
        let answer = json!({"dns": "pdns", "key": "PDNS-KEY", "url": "http://dns"});
        assert_eq!(redact(answer.clone())["key"], "PDNS-KEY");
        let v = redact_for(ep, answer);
        assert_eq!(v["key"], REDACTED);
        assert_eq!(v["url"], "http://dns");
    }
}
