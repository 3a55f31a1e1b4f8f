//! Which parameters and returned fields are secrets (typed `crate::Secret`, never printed, and
//! listed in the catalog's `secret_params` and `secret_fields`, which redaction reads).
//!
//! The schema does not mark them. A string is secret when its name says so ([`SECRET_NAMES`]),
//! when its format is a PEM private key, when its description says it is a private key, a token
//! value, a TOTP value or a subscription key, or when it is listed by place ([`SECRET_IN`]).
//! Lists of `name=...,value=...` property strings whose `value` is secret are listed by place
//! too ([`SECRET_VALUE_PART_IN`]).

use crate::apidoc::{Format, HttpMethod, MethodDef, Schema, SchemaType};

/// Names that are secret wherever they appear.
pub const SECRET_NAMES: &[&str] = &[
    "password",
    "new-password",
    "confirmation-password",
    "cipassword",
    "secret",
    "token",
    "eab-hmac-key",
    "client-key",
    "encryption-key",
    "keyring",
    "ticket",
    "vncticket",
    "CSRFPreventionToken",
    "totp",
    "otp",
    "tfa-challenge",
    "corosync_authkey",
];

/// Generic names that are secret at these paths (path template, name). For a GET at such a
/// path the field counts as returned even where the answer's schema does not declare it (the
/// SDN DNS plugin's answer is a bare `object`).
pub const SECRET_IN: &[(&str, &str)] = &[
    // The PowerDNS API key of an SDN DNS plugin.
    ("/cluster/sdn/dns", "key"),
    ("/cluster/sdn/dns/{dns}", "key"),
    // An ACME DNS plugin's `data`: the DNS provider's API credentials, base64-encoded.
    ("/cluster/acme/plugins", "data"),
    ("/cluster/acme/plugins/{id}", "data"),
    // New TFA recovery codes (POST answer).
    ("/access/tfa/{userid}", "recovery"),
    // A SPICE connection's `host` is no host name but the proxy's signed ticket
    // (`pvespiceproxy:TIME:VMID:NODE::SIGNATURE`); with `password` it opens the console.
    ("/nodes/{node}/qemu/{vmid}/spiceproxy", "host"),
    ("/nodes/{node}/lxc/{vmid}/spiceproxy", "host"),
    ("/nodes/{node}/spiceshell", "host"),
];

/// Lists of `name=NAME,value=BASE64` property strings whose `value` part is secret (path
/// template, name): a notification webhook's HTTP headers (`Authorization: Bearer ...`). Their
/// `secret` lists are secret whole, by name.
pub const SECRET_VALUE_PART_IN: &[(&str, &str)] = &[
    ("/cluster/notifications/endpoints/webhook", "header"),
    ("/cluster/notifications/endpoints/webhook/{name}", "header"),
];

/// The catalog's `secret_params` of `m`: the parameters whose values are secrets (indexed
/// families as `name[n]`), in the schema's order.
pub fn secret_params(m: &MethodDef) -> Vec<String> {
    let path = m.path.as_str();
    m.parameters
        .properties
        .iter()
        .flatten()
        .filter(|(name, s)| {
            is_secret(path, name, s) || SECRET_VALUE_PART_IN.contains(&(path, name.as_str()))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The catalog's `secret_fields` of `m`: where its answer holds secrets, as paths relative to
/// `data` (see `crate::catalog::Endpoint::secret_fields` for the notation).
pub fn secret_fields(m: &MethodDef) -> Vec<String> {
    let mut out = Vec::new();
    walk_returns(&m.path, &m.returns, "", &mut out);
    if m.method == HttpMethod::Get {
        let top = match m.returns.ty {
            Some(SchemaType::Object) => Some(""),
            Some(SchemaType::Array)
                if m.returns
                    .items
                    .as_ref()
                    .is_some_and(|i| i.ty == Some(SchemaType::Object)) =>
            {
                Some("[]/")
            }
            _ => None,
        };
        for (p, name) in SECRET_IN {
            if let Some(prefix) = top
                && *p == m.path
            {
                let field = format!("{prefix}{name}");
                if !out.contains(&field) {
                    out.push(field);
                }
            }
        }
    }
    out
}

fn walk_returns(path: &str, s: &Schema, prefix: &str, out: &mut Vec<String>) {
    if let Some(items) = &s.items {
        walk_returns(path, items, &format!("{prefix}[]/"), out);
    }
    for (name, p) in s.properties.iter().flatten() {
        let here = format!("{prefix}{}", name.trim_end_matches("[n]"));
        if is_secret(path, name, p) {
            out.push(here);
        } else if SECRET_VALUE_PART_IN.contains(&(path, name.as_str())) {
            let items = if p.ty == Some(SchemaType::Array) {
                "/[]"
            } else {
                ""
            };
            out.push(format!("{here}{items}/value="));
        } else {
            walk_returns(path, p, &format!("{here}/"), out);
        }
    }
}

/// Words in a description that make a string field secret.
const SECRET_WORDS: &[&str] = &["private key", "token value", "totp", "subscription key"];

/// True when the string field `name` of a method at `path` holds a secret.
pub fn is_secret(path: &str, name: &str, s: &Schema) -> bool {
    let stringish = matches!(s.ty, None | Some(SchemaType::String));
    let item_string = s.ty == Some(SchemaType::Array)
        && s.items
            .as_ref()
            .is_some_and(|i| matches!(i.ty, None | Some(SchemaType::String)));
    if !(stringish || item_string)
        || s.enum_values.is_some()
        || matches!(s.format, Some(Format::PropertyString(_)))
    {
        return false;
    }
    if SECRET_NAMES.contains(&name) || SECRET_IN.contains(&(path, name)) {
        return true;
    }
    if matches!(&s.format, Some(Format::Named(f)) if f == "pem-string") {
        return true;
    }
    let desc = s.description.as_deref().unwrap_or("").to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| desc.contains(w))
}
