//! Which parameters and returned fields are secrets (typed `crate::Secret`, never printed).
//!
//! The schema does not mark them. A string is secret when its name says so ([`SECRET_NAMES`]),
//! when its format is a PEM private key, when its description says it is a private key, a token
//! value, a TOTP value or a subscription key, or when it is listed by place ([`SECRET_IN`]).

use crate::apidoc::{Format, Schema, SchemaType};

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

/// Generic names that are secret at these paths (path template, name).
pub const SECRET_IN: &[(&str, &str)] = &[
    // The PowerDNS API key of an SDN DNS plugin.
    ("/cluster/sdn/dns", "key"),
    ("/cluster/sdn/dns/{dns}", "key"),
];

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
