//! Reading PVE's answers: the `{"data": ...}` envelope, and errors from the status, the reason
//! phrase and the body.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;
use crate::error::MORE_FIELDS;

/// The envelope of a successful answer, its `data` read as `T` (a [`Value`] unless the caller
/// asks for a type).
pub(crate) struct Envelope<T = Value> {
    pub data: T,
    /// `total` beside `data`, which list methods such as task logs send.
    pub total: Option<u64>,
}

const MAX_MESSAGE: usize = 2000;

fn clip(mut s: String) -> String {
    if s.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// Maps a transport failure (no HTTP answer) to an error: one sentence with what failed (the
/// address actually used) and the innermost cause, without reqwest's and hyper's wrappers
/// ("error sending request: client error (Connect): tcp connect error: ...").
pub(crate) fn transport_error(e: reqwest::Error, timeout: Duration) -> Error {
    if e.is_timeout() {
        return Error::Timeout { after: timeout };
    }
    let host = e.url().and_then(|u| u.host_str()).map(str::to_string);
    let addr = e.url().and_then(|u| {
        let host = u.host_str()?;
        Some(match u.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        })
    });
    let is_connect = e.is_connect();
    let e = e.without_url();
    // The chain, with what an io::Error wraps (its `source` skips it), outermost first.
    let mut chain: Vec<&(dyn std::error::Error + 'static)> = vec![&e];
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        chain.push(s);
        if let Some(inner) = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            chain.push(inner);
        }
        source = s.source();
    }
    let rustls_error = chain.iter().find_map(|s| s.downcast_ref::<rustls::Error>());
    let texts: Vec<String> = chain.iter().map(|s| s.to_string()).collect();
    let tls = rustls_error.is_some()
        || texts
            .iter()
            .any(|t| t.contains("certificate") || t.contains("InvalidCertificate"));
    let innermost = texts.last().cloned().unwrap_or_default();
    let cause = match rustls_error {
        // The verifiers' own sentences (pin mismatch, how to pin), without "unexpected error: ".
        Some(rustls::Error::General(m)) => m.clone(),
        Some(other) => other.to_string(),
        // Where a wrapper hides the rustls error, its text still starts with rustls' prefix for
        // the verifiers' own sentences.
        None => tidy_cause(
            innermost
                .strip_prefix("unexpected error: ")
                .unwrap_or(&innermost),
        ),
    };
    let at = addr.as_deref().unwrap_or("the server");
    if tls {
        Error::Tls {
            message: clip(format!("handshake with {at} failed: {cause}")),
        }
    } else if is_connect {
        // Refused, unreachable, DNS failure: nothing was sent.
        let dns = texts.iter().any(|t| t.starts_with("dns error"));
        let message = match (&host, dns) {
            (Some(host), true) => format!("cannot resolve {host}: {cause}"),
            _ => format!("cannot connect to {at}: {cause}"),
        };
        Error::Connect {
            message: clip(message),
        }
    } else {
        // The request went out and the connection broke before the answer was complete.
        Error::ConnectionLost {
            message: clip(format!("{at}: {cause}")),
        }
    }
}

/// An OS error's text as part of a sentence: `Connection refused (os error 111)` becomes
/// `connection refused`.
pub(crate) fn tidy_cause(text: &str) -> String {
    let mut t = text.trim();
    if let Some(i) = t.rfind(" (os error ")
        && t.ends_with(')')
    {
        t = &t[..i];
    }
    let mut chars = t.chars();
    match (chars.next(), chars.next()) {
        // Lower-case a capital that starts a word, not an acronym (`TLS`, `DNS`).
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => first
            .to_lowercase()
            .chain(t[first.len_utf8()..].chars())
            .collect(),
        _ => t.to_string(),
    }
}

/// True when PVE's 500 message says that the resource the request addresses does not exist:
/// PVE's wording for a missing resource, naming one of the path's values (so "storage 'x' does
/// not exist" about a body parameter, or an errno text, is not "not found").
pub(crate) fn means_not_found(message: &str, path_values: &[&str]) -> bool {
    let m = message.to_ascii_lowercase();
    const ERRNO: &[&str] = &[
        "no such file or directory",
        "no such process",
        "no such device",
    ];
    const MISSING: &[&str] = &[
        "does not exist",
        "doesn't exist",
        "no such ",
        "not found",
        "unable to find",
    ];
    if ERRNO.iter().any(|e| m.contains(e)) || !MISSING.iter().any(|w| m.contains(w)) {
        return false;
    }
    path_values.iter().any(|v| {
        let v = v.to_ascii_lowercase();
        !v.is_empty() && m.contains(&v)
    })
}

/// True when PVE's message says that the configuration changed since the client read it (a
/// stale `digest`): `detected modified configuration - file changed by other user? Try again.`
/// (guest configurations) or `checksum mismatch (file change by other user?)` (other
/// configuration files).
pub(crate) fn means_conflict(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("detected modified configuration")
        || m.contains("file changed by other user")
        || m.contains("file change by other user")
}

/// Fields of a 400 answer's `errors` that an error keeps; the rest are counted under
/// [`MORE_FIELDS`].
pub(crate) const MAX_FIELDS: usize = 20;
/// Characters kept of each field's text (and of its name).
pub(crate) const MAX_FIELD_TEXT: usize = 500;

/// `text` cut to `max` characters, with `...` when something was cut.
fn clip_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

/// PVE's per-field errors of a 400 answer, bounded: at most [`MAX_FIELDS`] fields, each name and
/// text cut to [`MAX_FIELD_TEXT`] characters, and the number of fields left out under
/// [`MORE_FIELDS`] (`"3 more"`). A hostile or broken answer cannot make an error text large.
/// The text about a secret parameter (`password`, ...) is not kept: it may quote the value.
pub(crate) fn field_errors(errors: &serde_json::Map<String, Value>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = errors
        .iter()
        .take(MAX_FIELDS)
        .map(|(k, v)| {
            let text = match v {
                // PVE's message may quote the value it refused.
                _ if crate::redact::is_secret_param(None, k) => {
                    "(PVE's message about this secret parameter is not shown: it may quote the \
                     value)"
                        .to_string()
                }
                Value::String(s) => clip_chars(s.trim(), MAX_FIELD_TEXT),
                other => clip_chars(&other.to_string(), MAX_FIELD_TEXT),
            };
            (clip_chars(k, MAX_FIELD_TEXT), text)
        })
        .collect();
    if errors.len() > MAX_FIELDS {
        out.insert(
            MORE_FIELDS.to_string(),
            format!("{} more", errors.len() - MAX_FIELDS),
        );
    }
    out
}

/// A `Location` header as an error shows it: lossy UTF-8, control characters dropped, at most
/// 300 characters.
fn shown_location(raw: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    clip_chars(text.trim(), 300)
}

/// Reads the body, at most `limit` bytes.
async fn body(
    mut resp: reqwest::Response,
    timeout: Duration,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(Error::ResponseTooLarge { limit });
    }
    // One allocation of the announced size (within the limit) instead of doublings and copies.
    let announced = resp.content_length().unwrap_or(0).min(limit);
    let mut out = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(e, timeout))?
    {
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(Error::ResponseTooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads a successful answer that is a file: at most `limit` bytes, the rest left unread.
pub(crate) async fn read_file(
    mut resp: reqwest::Response,
    timeout: Duration,
    limit: u64,
) -> Result<super::Download, Error> {
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string());
    let length = resp.content_length();
    let mut bytes = Vec::new();
    let mut cut = false;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(e, timeout))?
    {
        let room = limit.saturating_sub(bytes.len() as u64) as usize;
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            cut = true;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(super::Download {
        bytes,
        content_type,
        length,
        cut,
    })
}

/// `{"data": ..., "total": ...}` as PVE wraps every answer, `data` read straight from the body
/// as `T` (no intermediate [`Value`] for a typed read).
fn envelope<T: DeserializeOwned + Default>(body: &[u8]) -> Result<Envelope<T>, Error> {
    #[derive(Deserialize)]
    #[serde(bound = "T: DeserializeOwned")]
    struct Wire<T> {
        #[serde(default = "Option::default")]
        data: Option<T>,
        #[serde(default)]
        total: Option<Value>,
    }
    let not_an_object = || Error::Decode {
        message: format!(
            "expected a JSON object with `data`, got {} bytes that are not one",
            body.len()
        ),
    };
    // A struct would also read from a JSON array: only an object is an envelope.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(not_an_object());
    }
    let wire: Wire<T> = serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => Error::Decode {
            message: format!("the answer's `data` is not shaped as PVE documents it: {e}"),
        },
        _ => not_an_object(),
    })?;
    Ok(Envelope {
        data: wire.data.unwrap_or_default(),
        total: wire
            .total
            .as_ref()
            .and_then(crate::lenient::i64_of)
            .map(|t| t.max(0) as u64),
    })
}

/// Reads an answer: the unwrapped envelope on success, a typed error otherwise. `path_values`
/// are the values of the request path's variables.
pub(crate) async fn read<T: DeserializeOwned + Default>(
    resp: reqwest::Response,
    timeout: Duration,
    limit: u64,
    path_values: &[&str],
) -> Result<Envelope<T>, Error> {
    let status = resp.status();
    let reason = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).trim().to_string())
        .filter(|r| !r.is_empty());
    if status.is_redirection() {
        // Never followed (the client's redirect policy is `none`); the body is not read.
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| shown_location(l.as_bytes()));
        return Err(Error::Redirect {
            status: status.as_u16(),
            location,
        });
    }
    let body = body(resp, timeout, limit).await?;
    if status.is_success() {
        return envelope(&body);
    }
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let body_message = json
        .as_ref()
        .and_then(|j| j.get("message"))
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let errors = json
        .as_ref()
        .and_then(|j| j.get("errors"))
        .and_then(Value::as_object)
        .map(field_errors)
        .unwrap_or_default();
    let text_body = || {
        let t = String::from_utf8_lossy(&body).trim().to_string();
        (!t.is_empty() && json.is_none() && !t.starts_with('<')).then_some(t)
    };
    // PVE puts its message in the reason phrase; one the HTTP parser could not keep (bytes
    // that are not ASCII, for one) leaves the body, or says that there was no message.
    let message = clip(reason.or(body_message).or_else(text_body).unwrap_or_else(|| {
        format!(
            "HTTP {} {} without a readable message from PVE (its reason phrase was empty or not \
             readable); see the PVE host's syslog or task log",
            status.as_u16(),
            status.canonical_reason().unwrap_or("error")
        )
    }));
    Err(match status.as_u16() {
        400 => Error::BadRequest { message, errors },
        401 => Error::Unauthorized { message },
        403 => Error::Forbidden {
            message,
            required: None,
        },
        500 if means_conflict(&message) => Error::Conflict { message },
        500 if means_not_found(&message, path_values) => Error::NotFound { message },
        code => Error::Server {
            status: code,
            message,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::{
        Envelope, MORE_FIELDS, envelope, field_errors, means_conflict, means_not_found, tidy_cause,
    };
    use serde_json::{Value, json};

    #[test]
    fn the_envelope_is_read_as_any_type() {
        let env: Envelope = envelope(br#" {"data": [1, 2], "total": "7"}"#).unwrap();
        assert_eq!((env.data, env.total), (json!([1, 2]), Some(7)));
        let env: Envelope = envelope(br#"{"data": null}"#).unwrap();
        assert_eq!((env.data, env.total), (Value::Null, None));
        let env: Envelope<Vec<u32>> = envelope(br#"{"total": 0}"#).unwrap();
        assert!(env.data.is_empty());
        // An array is not an envelope, though a struct could be read from one.
        for body in [&br#"[{"data": 1}]"#[..], b"", br#"{"data": [1"#, b"<html>"] {
            let e = envelope::<Value>(body).err().unwrap().to_string();
            assert!(e.contains("expected a JSON object with `data`"), "{e}");
        }
        let e = envelope::<Vec<u32>>(br#"{"data": {"a": 1}}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not shaped as PVE documents it"), "{e}");
    }

    #[test]
    fn field_errors_are_bounded() {
        let mut errors = serde_json::Map::new();
        for i in 0..25 {
            errors.insert(format!("f{i:02}"), serde_json::json!("x".repeat(3000)));
        }
        let out = field_errors(&errors);
        assert_eq!(out.len(), 21);
        assert_eq!(out[MORE_FIELDS], "5 more");
        assert!(out["f00"].chars().count() <= 503, "{}", out["f00"].len());
        let shown = crate::Error::BadRequest {
            message: "parameter verification failed.".into(),
            errors: out,
        }
        .to_string();
        assert!(shown.len() < 20 * 520 + 200, "{}", shown.len());
        assert!(shown.ends_with("… 5 more fields not shown"), "{shown}");
        let mut errors = serde_json::Map::new();
        errors.insert(
            "password".into(),
            serde_json::json!("value 'Hunter2' is too short"),
        );
        errors.insert(
            "cores".into(),
            serde_json::json!("value must be at least 1"),
        );
        let out = field_errors(&errors);
        assert!(!out["password"].contains("Hunter2"), "{out:?}");
        assert_eq!(out["cores"], "value must be at least 1");
    }

    #[test]
    fn os_error_texts_read_as_part_of_a_sentence() {
        assert_eq!(
            tidy_cause("Connection refused (os error 111)"),
            "connection refused"
        );
        assert_eq!(
            tidy_cause("failed to lookup address information: Name or service not known"),
            "failed to lookup address information: Name or service not known"
        );
        assert_eq!(tidy_cause("TLS close_notify"), "TLS close_notify");
        assert_eq!(tidy_cause(""), "");
    }

    #[test]
    fn conflict_wording() {
        assert!(means_conflict(
            "detected modified configuration - file changed by other user? Try again."
        ));
        assert!(means_conflict(
            "checksum mismatch (file change by other user?)"
        ));
        assert!(!means_conflict("VM 100 is locked (backup)"));
        assert!(!means_conflict("checksum mismatch in backup archive"));
    }

    #[test]
    fn not_found_wording() {
        let vm = ["pve1", "999"];
        assert!(means_not_found(
            "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist",
            &vm
        ));
        assert!(means_not_found("no such VM ('999')", &vm));
        assert!(means_not_found(
            "snapshot 'before' does not exist",
            &["pve1", "100", "before"]
        ));
        assert!(!means_not_found("VM 999 not running", &vm));
        // A missing thing named by a body parameter, during a create: not the addressed resource.
        assert!(!means_not_found("storage 'nfs9' does not exist", &["pve1"]));
        // errno text.
        assert!(!means_not_found(
            "unable to open '/var/lib/vz/999.raw': No such file or directory",
            &vm
        ));
    }
}
