//! Reading PVE's answers: the `{"data": ...}` envelope, and errors from the status, the reason
//! phrase and the body.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::Error;

/// The envelope of a successful answer.
pub(crate) struct Envelope {
    pub data: Value,
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

/// Maps a transport failure (no HTTP answer) to an error.
pub(crate) fn transport_error(e: reqwest::Error, timeout: Duration) -> Error {
    if e.is_timeout() {
        return Error::Timeout { after: timeout };
    }
    let e = e.without_url();
    let mut chain = vec![e.to_string()];
    let mut tls = false;
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        if s.downcast_ref::<rustls::Error>().is_some() {
            tls = true;
        }
        let text = s.to_string();
        if text.contains("certificate") || text.contains("InvalidCertificate") {
            tls = true;
        }
        if !chain.iter().any(|c| c.contains(&text)) {
            chain.push(text);
        }
        source = s.source();
    }
    let message = clip(chain.join(": "));
    if tls {
        Error::Tls { message }
    } else if e.is_connect() {
        // Refused, unreachable, DNS failure: nothing was sent.
        Error::Connect { message }
    } else {
        // The request went out and the connection broke before the answer was complete.
        Error::ConnectionLost { message }
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

/// Reads the body, at most `limit` bytes.
async fn body(
    mut resp: reqwest::Response,
    timeout: Duration,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(Error::ResponseTooLarge { limit });
    }
    let mut out = Vec::new();
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

/// Reads an answer: the unwrapped envelope on success, a typed error otherwise. `path_values`
/// are the values of the request path's variables.
pub(crate) async fn read(
    resp: reqwest::Response,
    timeout: Duration,
    limit: u64,
    path_values: &[&str],
) -> Result<Envelope, Error> {
    let status = resp.status();
    let reason = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).trim().to_string())
        .filter(|r| !r.is_empty());
    let body = body(resp, timeout, limit).await?;
    let json: Option<Value> = serde_json::from_slice(&body).ok();

    if status.is_success() {
        let Some(Value::Object(mut obj)) = json else {
            return Err(Error::Decode {
                message: format!(
                    "expected a JSON object with `data`, got {} bytes that are not one",
                    body.len()
                ),
            });
        };
        let total = obj
            .get("total")
            .and_then(crate::lenient::i64_of)
            .map(|t| t.max(0) as u64);
        return Ok(Envelope {
            data: obj.remove("data").unwrap_or(Value::Null),
            total,
        });
    }

    let body_message = json
        .as_ref()
        .and_then(|j| j.get("message"))
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let errors: BTreeMap<String, String> = json
        .as_ref()
        .and_then(|j| j.get("errors"))
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let text = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    (k.clone(), text.trim().to_string())
                })
                .collect()
        })
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
    use super::{means_conflict, means_not_found};

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
