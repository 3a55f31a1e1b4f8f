//! The error type of every SDK call.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// What went wrong with a call. Each variant says what to do next in its `Display`; none carries
/// a secret (tokens, passwords, tickets and CSRF tokens never enter an error).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A parameter failed a check the schema states, before anything was sent.
    InvalidParameter {
        /// The parameter.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client is configured wrongly (bad token syntax, unreadable CA file, ...).
    Config {
        /// What is wrong.
        message: String,
    },
    /// PVE says the resource does not exist (PVE answers 500 "does not exist" / "no such ...").
    NotFound {
        /// PVE's message.
        message: String,
    },
    /// PVE rejected parameters (400), with its message per field.
    BadRequest {
        /// PVE's message.
        message: String,
        /// Field → what PVE said about it.
        errors: BTreeMap<String, String>,
    },
    /// Authentication failed (401): wrong or expired credentials, or a missing CSRF token.
    Unauthorized {
        /// PVE's message.
        message: String,
    },
    /// Authenticated, but not allowed (403).
    Forbidden {
        /// PVE's message.
        message: String,
        /// The privilege the schema says the method needs, in words.
        required: Option<String>,
    },
    /// The method refuses API tokens (`allowtoken: 0`); it was not sent.
    TokenNotAllowed {
        /// `METHOD /path/template`.
        method: String,
    },
    /// No answer in time.
    Timeout {
        /// How long the client waited.
        after: Duration,
    },
    /// The server could not be reached; nothing was sent.
    Connect {
        /// What failed and why, as one sentence: `cannot connect to HOST:PORT: connection
        /// refused`, `cannot resolve HOST: ...`.
        message: String,
    },
    /// The request was sent but the connection broke before the whole answer came: a write may
    /// or may not have taken effect. Never retried by the client.
    ConnectionLost {
        /// What failed.
        message: String,
    },
    /// The answer was larger than the client accepts (`ClientBuilder::max_response_bytes`).
    ResponseTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The user must complete two-factor authentication, which a password login cannot do.
    TwoFactorRequired {
        /// `USER@REALM`.
        user: String,
    },
    /// A local file the call sends (an upload) cannot be read, or changed while it was sent.
    LocalFile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// [`crate::Client::execute`] cannot send this method (it carries a file: the generated
    /// function does); nothing was sent.
    Unsupported {
        /// `METHOD /path/template`.
        method: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// The TLS handshake failed: untrusted certificate, wrong pinned fingerprint, ...
    Tls {
        /// What failed and why: `handshake with HOST:PORT failed: CAUSE` (`Display` puts `TLS`
        /// in front).
        message: String,
    },
    /// Any other answer that is not a success, with PVE's message.
    Server {
        /// HTTP status.
        status: u16,
        /// PVE's message (reason phrase or body).
        message: String,
    },
    /// PVE (or something in between) answered with a redirect (3xx). The client never follows
    /// one: PVE's API does not redirect, and following would send the request, a write's body
    /// included, to wherever the answer points.
    Redirect {
        /// HTTP status (301, 302, 307, ...).
        status: u16,
        /// The `Location` the answer pointed to (clipped, control characters removed), when it
        /// had one.
        location: Option<String>,
    },
    /// The answer could not be read as the schema describes it.
    Decode {
        /// What did not fit.
        message: String,
    },
    /// A task did not finish within the wait bound; it may still be running.
    TaskTimeout {
        /// The task.
        upid: String,
        /// How long the client waited.
        waited: Duration,
    },
    /// Waiting for a task failed (its status could not be read); the task may still be running.
    TaskWaitFailed {
        /// The task.
        upid: String,
        /// Why the status could not be read.
        error: Box<Error>,
    },
    /// A task ran to its end and failed ([`crate::Client::wait_task_ok`],
    /// [`crate::TaskOutcome::into_result`]).
    TaskFailed {
        /// The task.
        upid: String,
        /// PVE's exit status: the error text.
        exit_status: String,
        /// The last lines of the task log (as many as `WaitOptions::log_lines` asked for).
        log_tail: Vec<String>,
    },
    /// The configuration changed between reading it and writing it: the `digest` sent with the
    /// write is stale (PVE answers 500 "detected modified configuration - file changed by other
    /// user? Try again." or "checksum mismatch (file change by other user?)"). Nothing was
    /// changed; read the configuration again and retry with its new digest.
    Conflict {
        /// PVE's message.
        message: String,
    },
    /// A property string (`virtio,bridge=vmbr0`) could not be read: from
    /// [`crate::propstring::PropError`], so `s.parse::<QemuNet>()?` works in a function that
    /// returns this error.
    PropertyString {
        /// What is wrong with it.
        message: String,
    },
}

/// PVE's text on one line: its lines joined with `, `, each without its closing full stop (PVE
/// ends most messages with `.` and a newline, which read badly inside a sentence or before `;`).
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.strip_suffix('.') {
            Some(s) if !s.ends_with('.') => s,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The key of [`Error::BadRequest`]'s `errors` under which the client counts the fields of a
/// large answer it left out (`"3 more"`).
pub(crate) const MORE_FIELDS: &str = "…";

/// Log lines that [`Error::TaskFailed`]'s `Display` shows (the variant keeps them all).
const TASK_LOG_LINES_SHOWN: usize = 5;

impl From<crate::propstring::PropError> for Error {
    fn from(e: crate::propstring::PropError) -> Self {
        Error::PropertyString { message: e.0 }
    }
}

impl Error {
    /// The HTTP status PVE answered with, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::NotFound { .. } | Error::Conflict { .. } => Some(500),
            Error::BadRequest { .. } => Some(400),
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::Server { status, .. } | Error::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidParameter { name, reason } => {
                write!(f, "invalid parameter `{name}`: {reason}")
            }
            Error::Config { message } => write!(f, "configuration error: {message}"),
            Error::NotFound { message } => write!(
                f,
                "not found: {message} (list the resources first to check the id and node)"
            ),
            Error::BadRequest { message, errors } => {
                let message = one_line(message);
                if errors.is_empty() {
                    return write!(f, "bad request: {message}");
                }
                f.write_str("invalid parameters: ")?;
                let fields = errors.iter().filter(|(k, _)| *k != MORE_FIELDS);
                for (i, (field, why)) in fields.enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{field}: {}", one_line(why))?;
                }
                // PVE's generic sentence says nothing the line above does not.
                if !message.is_empty()
                    && !message.eq_ignore_ascii_case("parameter verification failed")
                {
                    write!(f, " ({message})")?;
                }
                if let Some(more) = errors.get(MORE_FIELDS) {
                    write!(f, "; … {} fields not shown", one_line(more))?;
                }
                Ok(())
            }
            Error::Unauthorized { message } => write!(
                f,
                "authentication failed: {message} (check the API token or user and password; \
                 a token is `USER@REALM!TOKENID=SECRET`)"
            ),
            Error::Forbidden { message, required } => {
                write!(f, "permission denied: {message}")?;
                if let Some(r) = required {
                    write!(f, " (this call needs {r})")?;
                }
                Ok(())
            }
            Error::TokenNotAllowed { method } => write!(
                f,
                "{method} refuses API tokens (allowtoken: 0); use user and password \
                 (ticket) authentication for it"
            ),
            Error::Timeout { after } => write!(
                f,
                "no answer within {:.1} s (raise the timeout, or check the network and pveproxy; \
                 a write may still have taken effect)",
                after.as_secs_f64()
            ),
            Error::Connect { message } => write!(
                f,
                "{message} (nothing was sent; check the host, the port (PVE's is 8006) and \
                 firewalls)"
            ),
            Error::ConnectionLost { message } => write!(
                f,
                "the request was sent but the connection broke before the answer ({message}): \
                 it may or may not have taken effect; check the state before sending it again"
            ),
            Error::ResponseTooLarge { limit } => write!(
                f,
                "PVE's answer is larger than {limit} bytes, the most this client reads; \
                 narrow the request (filters, limit) or raise max_response_bytes"
            ),
            Error::TwoFactorRequired { user } => write!(
                f,
                "{user} must complete two-factor authentication, which a password login here \
                 cannot do; use an API token (tokens need no second factor)"
            ),
            Error::LocalFile { path, message } => write!(f, "local file {path}: {message}"),
            Error::Unsupported { method, reason } => {
                write!(f, "{method} cannot be sent as a plain request: {reason}")
            }
            Error::Tls { message } => {
                write!(f, "TLS {message}")?;
                // The verifiers' messages about fingerprints carry their own advice.
                if !message.contains("fingerprint") {
                    f.write_str(
                        " (trust PVE's CA with a CA file, or pin the certificate's SHA-256 \
                         fingerprint)",
                    )?;
                }
                Ok(())
            }
            Error::Server { status, message } => write!(f, "PVE answered {status}: {message}"),
            Error::Redirect { status, location } => {
                let reason = reqwest::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("redirect");
                write!(f, "PVE answered {status} {reason}")?;
                match location {
                    Some(l) => write!(f, " with a redirect to {l}")?,
                    None => f.write_str(" (a redirect without a Location)")?,
                }
                f.write_str(
                    "; proxmox-mcp does not follow redirects (PVE never sends them), so the \
                     request was not followed: check the host and port, or a proxy in between",
                )
            }
            Error::Decode { message } => write!(f, "unexpected answer: {message}"),
            Error::TaskTimeout { upid, waited } => write!(
                f,
                "task {upid} still running after {:.1} s; it goes on in PVE, check it later",
                waited.as_secs_f64()
            ),
            Error::TaskWaitFailed { upid, error } => write!(
                f,
                "lost track of task {upid}: {error}; the task may still be running, wait for it \
                 again or read its status"
            ),
            Error::TaskFailed {
                upid,
                exit_status,
                log_tail,
            } => {
                write!(f, "task {upid} failed: {exit_status}")?;
                let lines: Vec<&str> = log_tail
                    .iter()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty())
                    .collect();
                if !lines.is_empty() {
                    let shown = &lines[lines.len().saturating_sub(TASK_LOG_LINES_SHOWN)..];
                    write!(f, "; last log lines: {}", shown.join(" | "))?;
                }
                Ok(())
            }
            Error::Conflict { message } => write!(
                f,
                "the configuration changed since it was read ({message}); nothing was written: \
                 read it again for its new digest, check that the change still applies, and retry"
            ),
            Error::PropertyString { message } => {
                write!(f, "invalid property string: {message}")
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::Error;
    use crate::enums::Model;
    use crate::formats::QemuNet;

    /// What a caller writes: `?` on a property string inside a function returning [`Error`].
    fn bridge_of(net: &str) -> Result<String, Error> {
        let net: QemuNet = net.parse()?;
        Ok(net.bridge.unwrap_or_default())
    }

    #[test]
    fn a_property_string_error_passes_through_question_mark() {
        assert_eq!(bridge_of("virtio,bridge=vmbr1").unwrap(), "vmbr1");
        let e = bridge_of("bridge=vmbr1").unwrap_err();
        match &e {
            Error::PropertyString { message } => {
                assert!(message.contains("model"), "{message}")
            }
            other => panic!("expected PropertyString, got {other:?}"),
        }
        assert!(
            e.to_string().starts_with("invalid property string: "),
            "{e}"
        );
        assert_eq!(e.status(), None);
        let net: QemuNet = "e1000,bridge=vmbr0".parse().unwrap();
        assert_eq!(net.model, Model::E1000);
    }

    #[test]
    fn a_bad_request_reads_as_one_line() {
        let errors = [
            (
                "snapname",
                "value must have at most 40 characters.\n",
            ),
            (
                "memory",
                "invalid format - format error\nmemory.current: type check ('integer') failed - got 'x'\n",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let e = Error::BadRequest {
            message: "Parameter verification failed.\n".to_string(),
            errors,
        };
        assert_eq!(
            e.to_string(),
            "invalid parameters: memory: invalid format - format error, memory.current: type \
             check ('integer') failed - got 'x'; snapname: value must have at most 40 characters"
        );
        let e = Error::BadRequest {
            message: "unable to parse value.\n".to_string(),
            errors: Default::default(),
        };
        assert_eq!(e.to_string(), "bad request: unable to parse value");
        let e = Error::BadRequest {
            message: "clipped...".to_string(),
            errors: [("a".to_string(), "b.".to_string())].into_iter().collect(),
        };
        assert_eq!(e.to_string(), "invalid parameters: a: b (clipped...)");
    }

    #[test]
    fn connect_and_tls_read_as_one_sentence_with_their_hint() {
        let e = Error::Connect {
            message: "cannot connect to 10.0.0.5:8006: connection refused".to_string(),
        };
        assert!(
            e.to_string()
                .starts_with("cannot connect to 10.0.0.5:8006: connection refused (nothing"),
            "{e}"
        );
        let e = Error::Tls {
            message: "handshake with pve:8006 failed: invalid peer certificate: UnknownIssuer"
                .to_string(),
        };
        assert_eq!(
            e.to_string(),
            "TLS handshake with pve:8006 failed: invalid peer certificate: UnknownIssuer \
             (trust PVE's CA with a CA file, or pin the certificate's SHA-256 fingerprint)"
        );
        let e = Error::Tls {
            message: "handshake with pve:8006 failed: the server presents the certificate AA, \
                      but the pinned fingerprint is BB"
                .to_string(),
        };
        assert!(e.to_string().ends_with("pinned fingerprint is BB"), "{e}");
    }

    #[test]
    fn a_conflict_says_to_read_again() {
        let e = Error::Conflict {
            message: "checksum mismatch (file change by other user?)".to_string(),
        };
        assert_eq!(e.status(), Some(500));
        let text = e.to_string();
        assert!(text.contains("checksum mismatch") && text.contains("read it again"));
    }
}
