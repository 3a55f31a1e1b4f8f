//! The runtime client: one connection pool per PVE server, authentication, PVE's encoding rules
//! and error mapping, handled once for every generated endpoint function.

mod auth;
mod response;
mod task;
mod tls;
mod upload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, COOKIE, HeaderValue};
use serde_json::Value;
use tokio::sync::Mutex;

pub use auth::{ApiToken, Auth};
pub use task::{TaskOutcome, TaskPoll, WaitOptions};
pub use tls::{TlsMode, parse_fingerprint, presented_fingerprint};
pub use upload::{CHUNK, DEFAULT_UPLOAD_RATE, Download, UploadFile, upload_timeout};

use crate::apidoc::HttpMethod;
use crate::catalog::Endpoint;
use crate::params::Form;
use crate::{Error, Secret};
use auth::Ticket;

/// PVE's default API port.
pub const DEFAULT_PORT: u16 = 8006;
/// Default deadline of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// PVE tickets live two hours; the client renews them this long after login.
pub const DEFAULT_TICKET_RENEWAL: Duration = Duration::from_secs(105 * 60);
/// The largest answer the client reads by default (64 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// Settings for a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    host: String,
    port: u16,
    auth: Option<Auth>,
    tls: TlsMode,
    timeout: Duration,
    connect_timeout: Duration,
    ticket_renewal: Duration,
    max_response_bytes: u64,
    upload_rate: u64,
}

impl ClientBuilder {
    /// Port (default 8006).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Credentials (required).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// An API token in any accepted form (`PVEAPIToken=USER@REALM!ID=SECRET` or
    /// `USER@REALM!ID=SECRET`).
    pub fn token(self, token: &str) -> Result<Self, Error> {
        Ok(self.auth(Auth::Token(ApiToken::parse(token)?)))
    }

    /// User (`root@pam`) and password.
    pub fn password(self, username: &str, password: &str) -> Result<Self, Error> {
        Ok(self.auth(Auth::password(username, password)?))
    }

    /// Certificate checking (default: [`TlsMode::Strict`]).
    pub fn tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }

    /// Deadline of every request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Deadline of connection setup (default 10 s, never above the request timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long after login a ticket is renewed (default 105 min; PVE's tickets last 120).
    pub fn ticket_renewal(mut self, after: Duration) -> Self {
        self.ticket_renewal = after;
        self
    }

    /// The largest answer to read (default 64 MiB); a larger one is
    /// [`Error::ResponseTooLarge`].
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The slowest upload accepted, in bytes per second (default 1 MiB/s): an upload's deadline
    /// is the request timeout plus the file's size at this rate ([`upload_timeout`]), so a
    /// large file is not cut off by the timeout of ordinary requests.
    pub fn upload_rate(mut self, bytes_per_second: u64) -> Self {
        self.upload_rate = bytes_per_second.max(1);
        self
    }

    /// Builds the client; nothing is sent until the first call.
    pub fn build(self) -> Result<Client, Error> {
        let auth = self.auth.ok_or_else(|| Error::Config {
            message: "no credentials: set an API token, or a user and password".to_string(),
        })?;
        if self.host.is_empty() || self.host.contains(['/', '?', '#', '@', ' ']) {
            return Err(Error::Config {
                message: format!(
                    "`{}` is not a host name or address (give the host alone, such as pve.example.com)",
                    self.host
                ),
            });
        }
        let host = host_for_url(&self.host)?;
        let builder = reqwest::Client::builder()
            .http1_only()
            // PVE never redirects; following one would send the request (a write's body, the
            // CSRF token) to wherever the answer points. A 3xx is `Error::Redirect`.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout.min(self.timeout))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("proxmox-mcp/", env!("CARGO_PKG_VERSION")));
        let http = tls::apply(builder, &self.tls)?
            .build()
            .map_err(|e| Error::Config {
                message: format!("HTTP client setup: {e}"),
            })?;
        let auth = match auth {
            Auth::Token(t) => {
                let mut header = HeaderValue::from_str(&t.header()).map_err(|_| Error::Config {
                    message: "the API token contains characters not allowed in a header"
                        .to_string(),
                })?;
                header.set_sensitive(true);
                AuthState::Token {
                    header,
                    id: t.full_id(),
                }
            }
            Auth::Password { username, password } => AuthState::Ticket {
                username,
                password,
                ticket: Mutex::new(None),
                renewal: self.ticket_renewal,
                logins: std::sync::atomic::AtomicU64::new(0),
            },
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base: format!("https://{host}:{}/api2/json", self.port),
                auth,
                timeout: self.timeout,
                max_response_bytes: self.max_response_bytes,
                upload_rate: self.upload_rate,
            }),
        })
    }
}

/// The host as it goes into the URL: names and IPv4 addresses as they are, IPv6 addresses in
/// brackets; `host:port` is refused with a hint, since the port is a setting of its own.
fn host_for_url(host: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::Config {
        message: format!("`{host}` {why}"),
    };
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad(
            "is not a host name or address (give the host alone, such as pve.example.com)",
        ));
    }
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if inner.contains(':') {
        if inner.parse::<std::net::Ipv6Addr>().is_ok() {
            return Ok(format!("[{inner}]"));
        }
        if host.matches(':').count() == 1 {
            return Err(bad(
                "looks like HOST:PORT: give the host alone and the port separately \
                 (PROXMOX_PORT, or ClientBuilder::port)",
            ));
        }
        return Err(bad("is neither a host name nor an IPv6 address"));
    }
    Ok(host.to_string())
}

enum AuthState {
    Token {
        header: HeaderValue,
        /// `USER@REALM!TOKENID`.
        id: String,
    },
    Ticket {
        username: String,
        password: Secret,
        ticket: Mutex<Option<Ticket>>,
        renewal: Duration,
        /// Logins so far: each ticket's generation, so that a 401 drops only the ticket it
        /// was sent with.
        logins: std::sync::atomic::AtomicU64,
    },
}

struct Inner {
    http: reqwest::Client,
    base: String,
    auth: AuthState,
    timeout: Duration,
    max_response_bytes: u64,
    upload_rate: u64,
}

/// What a request carries besides its path.
#[derive(Clone, Copy)]
enum Payload<'a> {
    /// The parameters: in the query string (GET, DELETE) or a form-urlencoded body.
    Form(&'a Form),
    /// A `multipart/form-data` body: the parameters as text parts, then `file` as the part
    /// named `field`, with the value of the parameter `field` as its file name.
    Upload {
        form: &'a Form,
        field: &'a str,
        file: &'a UploadFile,
    },
}

impl Payload<'_> {
    fn form(&self) -> &Form {
        match self {
            Payload::Form(f) | Payload::Upload { form: f, .. } => f,
        }
    }
}

/// A client for one PVE server (or cluster endpoint). Cheap to clone; clones share the
/// connection pool and the login.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match &self.inner.auth {
            AuthState::Token { .. } => "api-token".to_string(),
            AuthState::Ticket { username, .. } => format!("ticket as {username}"),
        };
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("auth", &auth)
            .finish()
    }
}

/// Headers a request carries for authentication.
struct AuthHeaders {
    authorization: Option<HeaderValue>,
    cookie: Option<HeaderValue>,
    csrf: Option<HeaderValue>,
    /// The generation of the ticket in `cookie`.
    ticket_generation: Option<u64>,
}

impl Client {
    /// Settings for a client of `host` (name or address, without scheme or port).
    pub fn builder(host: &str) -> ClientBuilder {
        ClientBuilder {
            host: host.trim().to_string(),
            port: DEFAULT_PORT,
            auth: None,
            tls: TlsMode::Strict,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            ticket_renewal: DEFAULT_TICKET_RENEWAL,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            upload_rate: DEFAULT_UPLOAD_RATE,
        }
    }

    /// `https://host:port/api2/json`.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// True when the client authenticates with an API token.
    pub fn uses_token(&self) -> bool {
        matches!(self.inner.auth, AuthState::Token { .. })
    }

    /// Who the client acts as: the token id (`USER@REALM!TOKENID`) or the user (`USER@REALM`).
    pub fn principal(&self) -> &str {
        match &self.inner.auth {
            AuthState::Token { id, .. } => id,
            AuthState::Ticket { username, .. } => username,
        }
    }

    /// Like [`Client::execute`], with the `total` PVE sends beside `data` for paged lists (task
    /// logs, ...).
    pub async fn execute_with_total(
        &self,
        endpoint: &Endpoint,
        path_values: &[&str],
        form: Form,
    ) -> Result<(Value, Option<u64>), Error> {
        self.execute_envelope(endpoint, path_values, Payload::Form(&form))
            .await
            .map(|env| (env.data, env.total))
    }

    /// Calls a catalog endpoint with the values of its path variables, in order (generated
    /// functions call this). The values are checked against the catalog and percent-encoded
    /// ([`crate::path::build`]), so none can leave its segment.
    pub async fn execute(
        &self,
        endpoint: &Endpoint,
        path_values: &[&str],
        form: Form,
    ) -> Result<Value, Error> {
        self.execute_envelope(endpoint, path_values, Payload::Form(&form))
            .await
            .map(|env| env.data)
    }

    /// Like [`Client::execute`], with `data` read straight from the answer's bytes as `T` (no
    /// intermediate [`Value`]): for large lists read into a compact type. An answer whose `data`
    /// does not fit `T` is an [`Error::Decode`]; a missing or null `data` is `T::default()`.
    pub async fn execute_as<T: serde::de::DeserializeOwned + Default>(
        &self,
        endpoint: &Endpoint,
        path_values: &[&str],
        form: Form,
    ) -> Result<T, Error> {
        self.execute_envelope(endpoint, path_values, Payload::Form(&form))
            .await
            .map(|env| env.data)
    }

    /// Sends `file` to a method that takes a file (`POST /nodes/{node}/storage/{storage}/upload`;
    /// the generated function calls this) as `multipart/form-data`: the parameters of `form` as
    /// text parts, then the file as the part named `field`, its file name the value of the
    /// parameter `field` (PVE reads the name from there). The file is streamed from disk, with
    /// its length as `Content-Length`, under the deadline of [`upload_timeout`]. A 401 with a
    /// ticket logs in again and sends the file again from its start.
    pub async fn upload(
        &self,
        endpoint: &Endpoint,
        path_values: &[&str],
        form: Form,
        field: &str,
        file: &UploadFile,
    ) -> Result<Value, Error> {
        if endpoint.method != HttpMethod::Post {
            return Err(Error::InvalidParameter {
                name: field.to_string(),
                reason: format!(
                    "{} {} takes no file: only a POST can carry one",
                    endpoint.method, endpoint.path
                ),
            });
        }
        if !form.pairs().iter().any(|(k, _)| k == field) {
            return Err(Error::InvalidParameter {
                name: field.to_string(),
                reason: "missing: it names the file on the server".to_string(),
            });
        }
        let payload = Payload::Upload {
            form: &form,
            field,
            file,
        };
        self.execute_envelope(endpoint, path_values, payload)
            .await
            .map(|env| env.data)
    }

    /// Calls a GET whose answer is a file rather than JSON (`GET
    /// /nodes/{node}/storage/{storage}/file-restore/download`; the generated function calls
    /// this), reading at most `limit` bytes of it: the rest is left unread and
    /// [`Download::cut`] says so. An error status is read as any other error.
    pub async fn download(
        &self,
        endpoint: &Endpoint,
        path_values: &[&str],
        form: Form,
        limit: u64,
    ) -> Result<Download, Error> {
        let name = || format!("{} {}", endpoint.method, endpoint.path);
        if endpoint.method != HttpMethod::Get {
            return Err(Error::Unsupported {
                method: name(),
                reason: "only a GET answers with a file".to_string(),
            });
        }
        if !endpoint.allowtoken && self.uses_token() {
            return Err(Error::TokenNotAllowed { method: name() });
        }
        let path = crate::path::build(endpoint, path_values)?;
        let mut retried = false;
        loop {
            let headers = self.auth_headers(HttpMethod::Get).await?;
            let resp = self
                .request_once(HttpMethod::Get, &path, Payload::Form(&form), &headers)
                .await?;
            if resp.status().is_success() {
                return response::read_file(resp, self.inner.timeout, limit).await;
            }
            let e = response::read::<Value>(
                resp,
                self.inner.timeout,
                self.inner.max_response_bytes,
                path_values,
            )
            .await
            .err()
            .unwrap_or_else(|| Error::Decode {
                message: "an error status with a success body".to_string(),
            });
            match e {
                Error::Unauthorized { .. } if !retried && !self.uses_token() => {
                    self.drop_ticket(headers.ticket_generation).await;
                    retried = true;
                }
                Error::Forbidden { message, .. } => {
                    return Err(Error::Forbidden {
                        message,
                        required: Some(endpoint.permission.to_string()),
                    });
                }
                other => return Err(other),
            }
        }
    }

    /// Calls any method at a concrete path (`/nodes/pve1/qemu`, percent-encoded where a value
    /// needs it), for callers that build requests at run time. The path must match a method of
    /// the catalog ([`crate::path::resolve`]); its values are then checked as [`Client::execute`]
    /// checks them.
    pub async fn request(
        &self,
        method: HttpMethod,
        path: &str,
        form: Form,
    ) -> Result<Value, Error> {
        let (endpoint, values) = crate::path::resolve(method, path)?;
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        self.execute(endpoint, &values, form).await
    }

    async fn execute_envelope<T: serde::de::DeserializeOwned + Default>(
        &self,
        endpoint: &Endpoint,
        path_values: &[&str],
        payload: Payload<'_>,
    ) -> Result<response::Envelope<T>, Error> {
        let name = || format!("{} {}", endpoint.method, endpoint.path);
        if let (Some(reason), Payload::Form(_)) = (endpoint.unsupported, payload) {
            return Err(Error::Unsupported {
                method: name(),
                reason: reason.to_string(),
            });
        }
        if !endpoint.allowtoken && self.uses_token() {
            return Err(Error::TokenNotAllowed { method: name() });
        }
        let path = crate::path::build(endpoint, path_values)?;
        let method = endpoint.method;
        let mut retried = false;
        loop {
            let headers = self.auth_headers(method).await?;
            let res = self
                .send_once(method, &path, payload, &headers, path_values)
                .await;
            match res {
                Err(Error::Unauthorized { .. }) if !retried && !self.uses_token() => {
                    // The ticket expired or was revoked: log in once more and retry. PVE
                    // answered 401, so the request was not carried out.
                    tracing::debug!(%method, path, "401 with a ticket; logging in again");
                    self.drop_ticket(headers.ticket_generation).await;
                    retried = true;
                }
                Err(Error::Forbidden { message, .. }) => {
                    return Err(Error::Forbidden {
                        message,
                        required: Some(endpoint.permission.to_string()),
                    });
                }
                other => return other,
            }
        }
    }

    async fn send_once<T: serde::de::DeserializeOwned + Default>(
        &self,
        method: HttpMethod,
        path: &str,
        payload: Payload<'_>,
        headers: &AuthHeaders,
        path_values: &[&str],
    ) -> Result<response::Envelope<T>, Error> {
        let timeout = self.deadline(payload);
        let resp = self.request_once(method, path, payload, headers).await?;
        response::read(resp, timeout, self.inner.max_response_bytes, path_values).await
    }

    /// The deadline of a request: the client's timeout, or an upload's ([`upload_timeout`]).
    fn deadline(&self, payload: Payload<'_>) -> Duration {
        match payload {
            Payload::Form(_) => self.inner.timeout,
            Payload::Upload { file, .. } => {
                upload_timeout(self.inner.timeout, file.len(), self.inner.upload_rate)
            }
        }
    }

    /// Sends one request and returns the answer's head (the body is read by the caller).
    async fn request_once(
        &self,
        method: HttpMethod,
        path: &str,
        payload: Payload<'_>,
        headers: &AuthHeaders,
    ) -> Result<reqwest::Response, Error> {
        let url = format!("{}{}", self.inner.base, path);
        let http = &self.inner.http;
        let form = payload.form();
        let mut req = match (method, payload) {
            (HttpMethod::Get, _) => http.get(&url).query(form.pairs()),
            (HttpMethod::Delete, _) => http.delete(&url).query(form.pairs()),
            (HttpMethod::Post, Payload::Upload { field, file, .. }) => {
                let mut body = reqwest::multipart::Form::new();
                let mut file_name = "";
                for (k, v) in form.pairs() {
                    if k == field {
                        file_name = v;
                    } else {
                        body = body.text(k.clone(), v.clone());
                    }
                }
                // The file last, as PVE's web interface sends it.
                body = body.part(field.to_string(), file.part(file_name).await?);
                http.post(&url)
                    .multipart(body)
                    .timeout(self.deadline(payload))
            }
            (HttpMethod::Post, _) => http.post(&url).form(form.pairs()),
            (HttpMethod::Put, _) => http.put(&url).form(form.pairs()),
        };
        if let Some(h) = &headers.authorization {
            req = req.header(AUTHORIZATION, h.clone());
        }
        if let Some(h) = &headers.cookie {
            req = req.header(COOKIE, h.clone());
        }
        if let Some(h) = &headers.csrf {
            req = req.header("CSRFPreventionToken", h.clone());
        }
        tracing::debug!(%method, path, params = form.pairs().len(), "PVE request");
        req.send()
            .await
            .map_err(|e| response::transport_error(e, self.deadline(payload)))
    }

    async fn auth_headers(&self, method: HttpMethod) -> Result<AuthHeaders, Error> {
        match &self.inner.auth {
            AuthState::Token { header, .. } => Ok(AuthHeaders {
                authorization: Some(header.clone()),
                cookie: None,
                csrf: None,
                ticket_generation: None,
            }),
            AuthState::Ticket {
                ticket, renewal, ..
            } => {
                let mut guard = ticket.lock().await;
                let fresh = guard
                    .as_ref()
                    .is_some_and(|t| t.obtained.elapsed() < *renewal);
                if !fresh {
                    *guard = Some(self.login().await?);
                }
                let t = guard.as_ref().expect("a ticket after login");
                let sensitive = |s: String| {
                    HeaderValue::from_str(&s).map(|mut h| {
                        h.set_sensitive(true);
                        h
                    })
                };
                let bad = |_| Error::Decode {
                    message: "PVE sent a ticket that is not header-safe".to_string(),
                };
                let cookie =
                    sensitive(format!("PVEAuthCookie={}", t.cookie.expose())).map_err(bad)?;
                let csrf = if method == HttpMethod::Get {
                    None
                } else {
                    Some(sensitive(t.csrf.expose().to_string()).map_err(bad)?)
                };
                Ok(AuthHeaders {
                    authorization: None,
                    cookie: Some(cookie),
                    csrf,
                    ticket_generation: Some(t.generation),
                })
            }
        }
    }

    /// Forgets the ticket of `generation` after PVE refused it; a newer one (a concurrent
    /// caller's re-login) stays.
    async fn drop_ticket(&self, generation: Option<u64>) {
        if let AuthState::Ticket { ticket, .. } = &self.inner.auth {
            let mut guard = ticket.lock().await;
            if guard.as_ref().map(|t| t.generation) == generation {
                *guard = None;
            }
        }
    }

    /// `POST /access/ticket` with the password.
    async fn login(&self) -> Result<Ticket, Error> {
        let AuthState::Ticket {
            username,
            password,
            logins,
            ..
        } = &self.inner.auth
        else {
            unreachable!("login is only called for ticket auth");
        };
        let mut form = Form::new();
        form.text("username", username);
        form.text("password", password.expose());
        let none = AuthHeaders {
            authorization: None,
            cookie: None,
            csrf: None,
            ticket_generation: None,
        };
        let env: response::Envelope = match self
            .send_once(
                HttpMethod::Post,
                "/access/ticket",
                Payload::Form(&form),
                &none,
                &[],
            )
            .await
        {
            Err(Error::Unauthorized { message }) => {
                return Err(Error::Unauthorized {
                    message: format!("login as {username} failed: {message}"),
                });
            }
            other => other?,
        };
        // A user with two-factor authentication gets a half ticket and `NeedTFA`, which is
        // no login at all.
        let need_tfa = env
            .data
            .get("NeedTFA")
            .and_then(crate::lenient::bool_of)
            .unwrap_or(false);
        if need_tfa {
            return Err(Error::TwoFactorRequired {
                user: username.clone(),
            });
        }
        let field = |k: &str| env.data.get(k).and_then(Value::as_str).map(str::to_string);
        match (field("ticket"), field("CSRFPreventionToken")) {
            (Some(ticket), Some(csrf)) => {
                tracing::debug!(user = %username, "logged in for a PVE ticket");
                Ok(Ticket {
                    cookie: Secret::new(ticket),
                    csrf: Secret::new(csrf),
                    obtained: Instant::now(),
                    generation: logins.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                })
            }
            _ => Err(Error::Decode {
                message: "the login answer lacks `ticket` or `CSRFPreventionToken`".to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_checks() {
        let e = Client::builder("pve").build().unwrap_err().to_string();
        assert!(e.contains("no credentials"), "{e}");
        let e = Client::builder("https://pve:8006")
            .token("root@pam!a=b")
            .unwrap()
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("host name"), "{e}");
        let c = Client::builder("::1")
            .token("root@pam!a=b")
            .unwrap()
            .port(9)
            .build()
            .unwrap();
        assert_eq!(c.base_url(), "https://[::1]:9/api2/json");
        assert!(!format!("{c:?}").contains("=b"));
    }

    #[test]
    fn hosts_for_the_url() {
        assert_eq!(host_for_url("pve.example.com").unwrap(), "pve.example.com");
        assert_eq!(host_for_url("10.0.0.5").unwrap(), "10.0.0.5");
        assert_eq!(host_for_url("fe80::1").unwrap(), "[fe80::1]");
        assert_eq!(host_for_url("[::1]").unwrap(), "[::1]");
        let e = host_for_url("pve.example.com:8006")
            .unwrap_err()
            .to_string();
        assert!(e.contains("HOST:PORT") && e.contains("PROXMOX_PORT"), "{e}");
        assert!(host_for_url("a:b:c").is_err());
    }
}
