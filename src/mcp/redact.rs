//! Secrets PVE returns (tickets, CSRF tokens, a new API token's value) are replaced before an
//! answer reaches a tool result.

use serde_json::Value;

/// Keys whose values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &[
    "ticket",
    "CSRFPreventionToken",
    "password",
    "vncticket",
    "value",
    "secret",
    "token",
];

/// `data` with the secrets of `ep`'s answer replaced, and secret-named keys anywhere.
pub fn redact_for(_ep: &proxmox_mcp::catalog::Endpoint, data: Value) -> Value {
    redact(data)
}

/// True when `ep`'s parameter `name` holds a secret.
pub fn is_secret_param(_ep: &proxmox_mcp::catalog::Endpoint, name: &str) -> bool {
    proxmox_mcp::args::is_secret_name(name)
}

/// Tool arguments as the audit log keeps them: values of secret-named keys masked, at any depth
/// (`params.password` of the generic call included).
pub fn mask_args(args: &serde_json::Map<String, Value>) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    if proxmox_mcp::args::is_secret_name(k) {
                        *val = Value::String(REDACTED.to_string());
                    } else {
                        walk(val);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            // `params` given as JSON text: masked as a whole when it names a secret.
            Value::String(s) if s.trim_start().starts_with('{') => {
                if let Ok(mut inner) = serde_json::from_str::<Value>(s) {
                    walk(&mut inner);
                    *v = inner;
                }
            }
            _ => {}
        }
    }
    let mut v = Value::Object(args.clone());
    walk(&mut v);
    v
}

/// What a secret is replaced by.
pub const REDACTED: &str = "(secret, not shown)";

/// `data` with secrets replaced. `value` only counts as a secret next to `full-tokenid` (the
/// answer of creating an API token); other keys count everywhere.
pub fn redact(mut data: Value) -> Value {
    walk(&mut data);
    data
}

fn walk(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let token_answer = map.contains_key("full-tokenid");
            for (k, val) in map.iter_mut() {
                let secret = SECRET_KEYS.contains(&k.as_str())
                    && (k != "value" || token_answer)
                    && val.is_string();
                if secret {
                    *val = Value::String(REDACTED.to_string());
                } else {
                    walk(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
