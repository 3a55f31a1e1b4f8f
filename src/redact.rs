//! Secrets in PVE's answers, replaced before an answer is shown (tool results, logs).
//!
//! Two layers:
//!
//! 1. **Declared**: the fields the generator found secret in the method's schema
//!    ([`Endpoint::secret_fields`]): `config/encryption-key` of `POST /storage`,
//!    `corosync_authkey` of a node join, the subscription `key`, an SDN DNS plugin's `key`, an
//!    ACME DNS plugin's `data`, TFA `recovery` codes, the `value=` part of a webhook's headers.
//! 2. **By name**, anywhere in the answer (nested objects and array items), for what the schema
//!    does not declare: keys equal to or ending in a secret name ([`is_secret_key`]:
//!    `password`, `secret`, `token`, `ticket`, `authkey`, `private-key`, ...), and `value` next
//!    to `full-tokenid` (a new API token). A bare `key` counts only where declared.
//!
//! A secret value is replaced by [`REDACTED`], keeping its shape: a string or number becomes
//! the text, a list or object keeps its structure with every string and number in it replaced,
//! `null` and booleans stay (they say whether something is set, not what it is). So an answer
//! still fits its schema's types as far as lists and objects go.

use serde_json::Value;

use crate::catalog::Endpoint;

/// What a secret is replaced by.
pub const REDACTED: &str = "(secret, not shown)";

/// Key names (lower case) whose values are secrets: a key equal to one or ending in one is
/// secret (`cipassword`, `new-password`, `corosync_authkey`, `vncticket`,
/// `CSRFPreventionToken`, `eab-hmac-key`).
pub const SECRET_KEY_SUFFIXES: &[&str] = &[
    "password",
    "passphrase",
    "secret",
    "token",
    "ticket",
    "authkey",
    "private-key",
    "privatekey",
    "encryption-key",
    "hmac-key",
    "client-key",
    "api-key",
    "apikey",
    "keyring",
    "otp",
    "recovery",
    "tfa-challenge",
];

/// Keys that end like a secret but hold none: `lock-token` is the SDN configuration lock's
/// handle, which the caller needs to pass back to release the lock.
const NOT_SECRET_KEYS: &[&str] = &["lock-token"];

/// True when an answer's key `key` names a secret wherever it appears (the name-based net):
/// equal to or ending in one of [`SECRET_KEY_SUFFIXES`], compared without case. `tokenid`,
/// `full-tokenid` and `key` are not secret by name.
pub fn is_secret_key(key: &str) -> bool {
    // Bytes, without a lowercase copy: this runs for every key of every answer.
    let k = key.as_bytes();
    let ends_with =
        |s: &str| k.len() >= s.len() && k[k.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes());
    SECRET_KEY_SUFFIXES.iter().any(|s| ends_with(s))
        && !NOT_SECRET_KEYS.iter().any(|n| key.eq_ignore_ascii_case(n))
}

/// True when parameter `name` of `ep` takes a secret: declared by the schema
/// ([`Endpoint::secret_params`], `net3` counts for `net[n]`, `net3.key` for `net3`), or secret
/// by name ([`is_secret_key`], or [`crate::args::is_secret_name`]'s wider net: anything
/// containing `key`, `password`, ...). For hiding values in messages; it errs on the side of
/// hiding.
pub fn is_secret_param(ep: Option<&Endpoint>, name: &str) -> bool {
    let base = name.split('.').next().unwrap_or(name);
    let declared = ep.is_some_and(|ep| {
        ep.secret_params.iter().any(|p| {
            *p == base
                || p.strip_suffix("[n]").is_some_and(|stem| {
                    base.strip_prefix(stem)
                        .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
                })
        })
    });
    declared
        || name.split('.').any(is_secret_key)
        || name.split('.').any(crate::args::is_secret_name)
}

/// `data` (an answer's `data`) with its secrets replaced: the fields `ep` declares
/// ([`Endpoint::secret_fields`]), then every value under a secret-looking key
/// ([`is_secret_key`]) anywhere in it. Without an endpoint only the second applies.
pub fn redact(ep: Option<&Endpoint>, mut data: Value) -> Value {
    if let Some(ep) = ep {
        for field in ep.secret_fields {
            let segs: Vec<&str> = field.split('/').filter(|s| !s.is_empty()).collect();
            declared(&mut data, &segs);
        }
    }
    by_name(&mut data);
    data
}

/// Replaces what `segs` (one declared field, split) points to inside `v`.
fn declared(v: &mut Value, segs: &[&str]) {
    let Some((first, rest)) = segs.split_first() else {
        hide(v);
        return;
    };
    match (*first, v) {
        ("[]", Value::Array(items)) => items.iter_mut().for_each(|i| declared(i, rest)),
        ("value=", Value::String(s)) if rest.is_empty() => *s = hide_value_part(s),
        ("value=", Value::Object(map)) if rest.is_empty() => {
            if let Some(inner) = map.get_mut("value") {
                hide(inner);
            }
        }
        (key, Value::Object(map)) => {
            if let Some(inner) = map.get_mut(key) {
                declared(inner, rest);
            }
        }
        _ => {}
    }
}

/// `name=X,value=SECRET` with the `value=` part replaced.
fn hide_value_part(s: &str) -> String {
    s.split(',')
        .map(|part| {
            if part.trim_start().starts_with("value=") {
                format!("value={REDACTED}")
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Replaces every string and number in `v`, keeping lists and objects as such.
fn hide(v: &mut Value) {
    match v {
        Value::String(_) | Value::Number(_) => *v = Value::String(REDACTED.to_string()),
        Value::Array(items) => items.iter_mut().for_each(hide),
        Value::Object(map) => map.values_mut().for_each(hide),
        Value::Null | Value::Bool(_) => {}
    }
}

fn by_name(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let token_answer = map.contains_key("full-tokenid");
            for (k, val) in map.iter_mut() {
                if is_secret_key(k) || (token_answer && k == "value") {
                    hide(val);
                } else {
                    by_name(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(by_name),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apidoc::HttpMethod;
    use crate::catalog::find;
    use serde_json::json;

    fn ep(method: HttpMethod, path: &str) -> &'static Endpoint {
        find(method, path).unwrap_or_else(|| panic!("{method} {path}"))
    }

    #[test]
    fn the_generator_declares_the_secret_fields() {
        let fields = |m, p| ep(m, p).secret_fields.to_vec();
        assert_eq!(
            fields(HttpMethod::Post, "/storage"),
            ["config/encryption-key"]
        );
        assert_eq!(
            fields(HttpMethod::Put, "/storage/{storage}"),
            ["config/encryption-key"]
        );
        assert_eq!(
            fields(HttpMethod::Post, "/cluster/config/nodes/{node}"),
            ["corosync_authkey"]
        );
        assert_eq!(
            fields(HttpMethod::Get, "/nodes/{node}/subscription"),
            ["key"]
        );
        assert_eq!(fields(HttpMethod::Get, "/cluster/sdn/dns/{dns}"), ["key"]);
        assert_eq!(
            fields(HttpMethod::Get, "/cluster/acme/plugins/{id}"),
            ["data"]
        );
        assert_eq!(
            fields(HttpMethod::Get, "/cluster/acme/plugins"),
            ["[]/data"]
        );
        assert_eq!(
            fields(HttpMethod::Post, "/access/tfa/{userid}"),
            ["recovery"]
        );
        let hook = fields(
            HttpMethod::Get,
            "/cluster/notifications/endpoints/webhook/{name}",
        );
        assert!(
            hook.contains(&"secret") && hook.contains(&"header/[]/value="),
            "{hook:?}"
        );
        let hooks = fields(HttpMethod::Get, "/cluster/notifications/endpoints/webhook");
        assert!(hooks.contains(&"[]/secret") && hooks.contains(&"[]/header/[]/value="));
        assert!(fields(HttpMethod::Get, "/nodes/{node}/qemu").is_empty());

        let params = |m, p| ep(m, p).secret_params.to_vec();
        assert_eq!(
            params(HttpMethod::Put, "/cluster/acme/plugins/{id}"),
            ["data"]
        );
        assert_eq!(params(HttpMethod::Post, "/cluster/acme/plugins"), ["data"]);
        let hook = params(
            HttpMethod::Put,
            "/cluster/notifications/endpoints/webhook/{name}",
        );
        assert!(
            hook.contains(&"header") && hook.contains(&"secret"),
            "{hook:?}"
        );
        assert!(params(HttpMethod::Post, "/storage").contains(&"encryption-key"));
        assert_eq!(
            params(HttpMethod::Put, "/nodes/{node}/subscription"),
            ["key"]
        );
        assert!(
            params(HttpMethod::Put, "/nodes/{node}/qemu/{vmid}/config").contains(&"cipassword")
        );
    }

    #[test]
    fn declared_fields_are_replaced_at_any_depth() {
        let storage = ep(HttpMethod::Post, "/storage");
        let v = redact(
            Some(storage),
            json!({"config": {"encryption-key": "{\"kdf\":null,\"key\":\"ENCKEY-CANARY\"}",
                              "other": "kept"},
                   "storage": "pbs1", "type": "pbs"}),
        );
        assert_eq!(v["config"]["encryption-key"], REDACTED);
        assert_eq!(v["config"]["other"], "kept");
        assert_eq!(v["storage"], "pbs1");

        let sub = ep(HttpMethod::Get, "/nodes/{node}/subscription");
        let v = redact(Some(sub), json!({"key": "pve2c-SUBKEY", "level": "c"}));
        assert_eq!(v, json!({"key": REDACTED, "level": "c"}));
        // Without the endpoint, a bare `key` is not a secret.
        let v = redact(None, json!({"key": "net0", "value": "virtio"}));
        assert_eq!(v, json!({"key": "net0", "value": "virtio"}));

        let plugins = ep(HttpMethod::Get, "/cluster/acme/plugins");
        let v = redact(
            Some(plugins),
            json!([{"plugin": "cf", "data": "Q0ZfVG9rZW49"}, {"plugin": "standalone"}]),
        );
        assert_eq!(v[0]["data"], REDACTED);
        assert_eq!(v[0]["plugin"], "cf");
        assert_eq!(v[1], json!({"plugin": "standalone"}));

        let hook = ep(
            HttpMethod::Get,
            "/cluster/notifications/endpoints/webhook/{name}",
        );
        let v = redact(
            Some(hook),
            json!({"name": "hook1", "url": "https://example.com/{{ secrets.apikey }}",
                   "secret": ["name=apikey,value=V0VCSE9PSw=="],
                   "header": ["name=Authorization,value=QmVhcmVyIFg=", "name=X-Plain"]}),
        );
        assert_eq!(v["secret"], json!([REDACTED]));
        assert_eq!(
            v["header"],
            json!([
                format!("name=Authorization,value={REDACTED}"),
                "name=X-Plain"
            ])
        );
        assert_eq!(v["url"], "https://example.com/{{ secrets.apikey }}");

        let tfa = ep(HttpMethod::Post, "/access/tfa/{userid}");
        let v = redact(
            Some(tfa),
            json!({"id": "recovery", "recovery": ["a1b2", "c3d4"]}),
        );
        assert_eq!(v["recovery"], json!([REDACTED, REDACTED]));
        assert_eq!(v["id"], "recovery");
    }

    #[test]
    fn the_name_net_catches_nested_values_of_any_type() {
        let v = redact(
            None,
            json!({
                "ticket": "PVE:root@pam:X", "username": "root@pam",
                "list": [{"full-tokenid": "a@pve!x", "value": "s3cret", "tokenid": "x"}],
                "cfg": {"value": "keep", "cipassword": "pw", "corosync_authkey": "ak",
                        "secret": ["one", {"name": "n", "value": "v"}],
                        "CSRFPreventionToken": "c", "totp": 123456, "has-password": true,
                        "lock-token": "lock-1", "password": null},
                "deep": [[{"private-key": {"pem": "-----BEGIN"}}]],
            }),
        );
        assert_eq!(v["ticket"], REDACTED);
        assert_eq!(v["username"], "root@pam");
        assert_eq!(v["list"][0]["value"], REDACTED);
        assert_eq!(v["list"][0]["tokenid"], "x");
        assert_eq!(v["list"][0]["full-tokenid"], "a@pve!x");
        let cfg = &v["cfg"];
        assert_eq!(cfg["value"], "keep");
        assert_eq!(cfg["cipassword"], REDACTED);
        assert_eq!(cfg["corosync_authkey"], REDACTED);
        assert_eq!(
            cfg["secret"],
            json!([REDACTED, {"name": REDACTED, "value": REDACTED}])
        );
        assert_eq!(cfg["CSRFPreventionToken"], REDACTED);
        assert_eq!(cfg["totp"], REDACTED);
        assert_eq!(cfg["has-password"], true);
        assert_eq!(cfg["lock-token"], "lock-1");
        assert_eq!(cfg["password"], Value::Null);
        assert_eq!(v["deep"][0][0]["private-key"]["pem"], REDACTED);
    }

    #[test]
    fn secret_params_by_schema_and_by_name() {
        let plugin = ep(HttpMethod::Put, "/cluster/acme/plugins/{id}");
        assert!(is_secret_param(Some(plugin), "data"));
        assert!(!is_secret_param(None, "data"));
        assert!(!is_secret_param(Some(plugin), "api"));
        let config = ep(HttpMethod::Put, "/nodes/{node}/qemu/{vmid}/config");
        assert!(is_secret_param(Some(config), "cipassword"));
        assert!(!is_secret_param(Some(config), "net1.bridge"));
        assert!(!is_secret_param(Some(config), "name"));
        assert!(is_secret_param(None, "password"));
        assert!(is_secret_param(None, "new-password"));
        assert!(is_secret_key("vncticket") && is_secret_key("eab-hmac-key"));
        assert!(!is_secret_key("full-tokenid") && !is_secret_key("key"));
        // Without case; the one exception, in any case; a short key is not cut out of a suffix.
        assert!(is_secret_key("X-API-Key") && is_secret_key("PASSWORD"));
        assert!(!is_secret_key("Lock-Token") && !is_secret_key("otq") && !is_secret_key(""));
    }
}
