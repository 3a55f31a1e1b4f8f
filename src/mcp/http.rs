//! MCP over rmcp's Streamable HTTP transport, mounted at `/mcp` in axum.
//!
//! What guards it, in the order a request meets it:
//!
//! 1. a bearer token, always required (`PROXMOX_MCP_HTTP_TOKEN`, or a file named by
//!    `--http-token-file` / `PROXMOX_MCP_HTTP_TOKEN_FILE`), compared in constant time; a missing or
//!    wrong token is answered 401 with `WWW-Authenticate: Bearer`. There is no unauthenticated
//!    mode, not even on loopback: start-up refuses without a token and says how to set one. The
//!    `Authorization` header is removed once checked, so nothing behind this layer (rmcp puts the
//!    request's `http::request::Parts` into the request context) can see it, let alone send it to
//!    PVE, which the SDK client reaches with its own credentials;
//! 2. rmcp's DNS-rebinding checks: the `Host` must be an allowed host (loopback names, the bind
//!    address, `--http-allowed-host`), and an `Origin`, when present, an allowed origin
//!    (`http://localhost`, `http://127.0.0.1`, `http://[::1]` on any port, and
//!    `--http-allowed-origin`); otherwise 403;
//! 3. a cap on live sessions (`--http-max-sessions`, default 64): a request that would open one
//!    more (a POST without `Mcp-Session-Id`) is answered 503 with a JSON-RPC error. There is one
//!    bearer token, so the total is also the per-token cap. A session counts from its
//!    `initialize` until the client sends DELETE or it has been idle for 30 minutes;
//! 4. rmcp's body limit (4 MiB, 413 beyond) and its session manager, which closes a session idle
//!    for 30 minutes.
//!
//! Ctrl-C or SIGTERM stops accepting connections, ends the sessions and returns.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use proxmox_mcp::Secret;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::server::Server;

/// The variable holding the bearer token.
pub const TOKEN_VAR: &str = "PROXMOX_MCP_HTTP_TOKEN";
/// The variable naming a file that holds the bearer token.
pub const TOKEN_FILE_VAR: &str = "PROXMOX_MCP_HTTP_TOKEN_FILE";
/// The variable with extra allowed origins, comma-separated.
pub const ORIGINS_VAR: &str = "PROXMOX_MCP_HTTP_ALLOWED_ORIGINS";
/// The variable with extra allowed `Host` names, comma-separated.
pub const HOSTS_VAR: &str = "PROXMOX_MCP_HTTP_ALLOWED_HOSTS";
/// The variable with the most sessions that may be live at once.
pub const MAX_SESSIONS_VAR: &str = "PROXMOX_MCP_HTTP_MAX_SESSIONS";
/// Live sessions at most, unless configured.
pub const DEFAULT_MAX_SESSIONS: usize = 64;

/// The path the MCP endpoint is served at.
pub const MCP_PATH: &str = "/mcp";
/// How long a session may stay idle before the server closes it.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The shortest bearer token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// Origins allowed whatever is configured: browser pages served from loopback, on any port.
const LOOPBACK_ORIGINS: [&str; 3] = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];
/// `Host` names allowed whatever is configured (on any port).
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The command-line flags of `serve` for the HTTP transport. Their variables are read by
/// [`HttpArgs::options`], and only with `--http`, so that stdio ignores them.
#[derive(clap::Args, Debug, Default)]
pub struct HttpArgs {
    /// Serve MCP over Streamable HTTP at http://ADDR/mcp instead of stdio (such as
    /// 127.0.0.1:8080). Needs a bearer token: PROXMOX_MCP_HTTP_TOKEN or --http-token-file.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// File holding the bearer token clients must send, instead of PROXMOX_MCP_HTTP_TOKEN
    /// (default: PROXMOX_MCP_HTTP_TOKEN_FILE).
    #[arg(long, value_name = "PATH")]
    pub http_token_file: Option<PathBuf>,
    /// A browser origin allowed besides loopback ones, such as https://app.example:8443
    /// (repeatable; without a port, the scheme's default port; `:*` for any port; also
    /// PROXMOX_MCP_HTTP_ALLOWED_ORIGINS, comma-separated).
    #[arg(long, value_name = "ORIGIN")]
    pub http_allowed_origin: Vec<String>,
    /// A Host name clients may use besides loopback ones and the bind address, such as
    /// mcp.example or mcp.example:8080 (repeatable; also PROXMOX_MCP_HTTP_ALLOWED_HOSTS,
    /// comma-separated).
    #[arg(long, value_name = "HOST")]
    pub http_allowed_host: Vec<String>,
    /// Sessions that may be live at once, all clients together (default 64; also
    /// PROXMOX_MCP_HTTP_MAX_SESSIONS). Beyond it a new session is refused with 503 until one
    /// closes: the client sends DELETE, or it stays idle for 30 minutes.
    #[arg(long, value_name = "N")]
    pub http_max_sessions: Option<usize>,
}

/// Everything [`serve_http`] needs, validated.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The address to listen on.
    pub bind: SocketAddr,
    /// The bearer token clients must send.
    pub token: Secret,
    /// Allowed `Origin` values (rmcp's syntax: `scheme://host:port`, `:*` for any port).
    pub allowed_origins: Vec<String>,
    /// Allowed `Host` names or `host:port` authorities.
    pub allowed_hosts: Vec<String>,
    /// Idle time after which a session is closed.
    pub session_timeout: Duration,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// Sessions live at once at most.
    pub max_sessions: usize,
}

impl HttpArgs {
    /// The validated options when `--http` is given, reading the token from the environment or
    /// the token file; `None` for stdio.
    pub fn options(&self) -> Result<Option<HttpOptions>, String> {
        let Some(bind) = self.http else {
            return Ok(None);
        };
        let token_file = self
            .http_token_file
            .clone()
            .or_else(|| var(TOKEN_FILE_VAR).map(PathBuf::from));
        let token = read_token(var(TOKEN_VAR), token_file.as_deref())?;
        let origins = with_list_var(&self.http_allowed_origin, ORIGINS_VAR);
        let hosts = with_list_var(&self.http_allowed_host, HOSTS_VAR);
        let mut allowed_origins: Vec<String> = LOOPBACK_ORIGINS.map(String::from).to_vec();
        for o in &origins {
            allowed_origins.push(parse_origin(o)?);
        }
        let mut allowed_hosts: Vec<String> = LOOPBACK_HOSTS.map(String::from).to_vec();
        if !bind.ip().is_unspecified() {
            allowed_hosts.push(bind.ip().to_string());
        } else if hosts.is_empty() {
            tracing::warn!(
                "--http {bind} listens on every address, but only loopback Host names are \
                 allowed: add the names clients use with --http-allowed-host or {HOSTS_VAR}"
            );
        }
        for h in &hosts {
            allowed_hosts.push(parse_host(h)?);
        }
        let max_sessions = max_sessions(self.http_max_sessions, var(MAX_SESSIONS_VAR))?;
        Ok(Some(HttpOptions {
            bind,
            token,
            allowed_origins,
            allowed_hosts,
            session_timeout: SESSION_TIMEOUT,
            max_body_bytes: MAX_BODY_BYTES,
            max_sessions,
        }))
    }
}

/// The session cap: the flag, else the variable, else the default; at least 1.
fn max_sessions(flag: Option<usize>, from_env: Option<String>) -> Result<usize, String> {
    let (n, from) = match (flag, from_env) {
        (Some(n), _) => (Some(n), "--http-max-sessions".to_string()),
        (None, Some(v)) => (
            v.trim().parse::<usize>().ok(),
            format!("{MAX_SESSIONS_VAR} `{}`", v.trim()),
        ),
        (None, None) => return Ok(DEFAULT_MAX_SESSIONS),
    };
    n.filter(|n| *n >= 1).ok_or_else(|| {
        format!("{from} is not a number of sessions of at least 1 (default {DEFAULT_MAX_SESSIONS})")
    })
}

/// A variable's value, when set and not empty.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The flag's values, else the variable's comma-separated ones; blanks dropped.
fn with_list_var(flags: &[String], name: &str) -> Vec<String> {
    let from_var;
    let items: Vec<&str> = if flags.is_empty() {
        from_var = var(name).unwrap_or_default();
        from_var.split(',').collect()
    } else {
        flags.iter().map(String::as_str).collect()
    };
    items
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The token from the variable or the file (not both), checked.
fn read_token(from_env: Option<String>, file: Option<&std::path::Path>) -> Result<Secret, String> {
    let token = match (from_env, file) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "both {TOKEN_VAR} and a token file (--http-token-file / {TOKEN_FILE_VAR}) are set: \
                 keep one"
            ));
        }
        (Some(t), None) => t,
        (None, Some(path)) => {
            refuse_exposed(path)?;
            std::fs::read_to_string(path)
                .map_err(|e| {
                    format!(
                        "cannot read the HTTP bearer token file {} (--http-token-file / \
                     {TOKEN_FILE_VAR}): {e}",
                        path.display()
                    )
                })?
                .trim()
                .to_string()
        }
        (None, None) => {
            return Err(format!(
                "--http needs a bearer token that clients send as `Authorization: Bearer TOKEN`: \
                 set {TOKEN_VAR} or pass --http-token-file PATH (or {TOKEN_FILE_VAR}); make one \
                 with `openssl rand -hex 32`"
            ));
        }
    };
    if token.len() < MIN_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "the HTTP bearer token ({TOKEN_VAR} or the token file) must be at least \
             {MIN_TOKEN_LEN} printable ASCII characters without spaces; make one with \
             `openssl rand -hex 32`"
        ));
    }
    Ok(Secret::new(token))
}

/// Refuses a token file that users other than its owner can get at (any group or other bit).
#[cfg(unix)]
fn refuse_exposed(path: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        // Not readable at all: reading it says why.
        return Ok(());
    };
    let mode = meta.permissions().mode() & 0o777;
    if crate::config::exposed(mode) {
        let shown = path.display();
        return Err(format!(
            "the HTTP bearer token file {shown} (--http-token-file / {TOKEN_FILE_VAR}) can be read \
             by other users (mode {mode:o}): run `chmod 600 {shown}`; not starting until then"
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_exposed(_path: &std::path::Path) -> Result<(), String> {
    Ok(())
}

/// An allowed origin as rmcp takes it: `null`, or `scheme://host[:port]` with an explicit port
/// (the scheme's default when none is given) or `:*`.
fn parse_origin(raw: &str) -> Result<String, String> {
    let raw = raw.trim().trim_end_matches('/');
    if raw == "null" {
        return Ok(raw.to_string());
    }
    let bad = |why: &str| {
        format!(
            "--http-allowed-origin / {ORIGINS_VAR}: `{raw}` is not an origin ({why}); write \
             scheme://host[:port], such as https://app.example:8443 or http://app.example:*"
        )
    };
    let (base, any_port) = match raw.strip_suffix(":*") {
        Some(base) => (base, true),
        None => (raw, false),
    };
    let uri: Uri = base.parse().map_err(|_| bad("it does not parse"))?;
    let scheme = uri.scheme_str().ok_or_else(|| bad("no scheme"))?;
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return Err(bad("the scheme is not http or https")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if authority.as_str().contains('@') || uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
        return Err(bad("an origin has no user, path or query"));
    }
    if any_port && authority.port().is_some() {
        return Err(bad("two ports"));
    }
    let host = authority.host();
    Ok(match (any_port, authority.port_u16()) {
        (true, _) => format!("{scheme}://{host}:*"),
        (false, Some(port)) => format!("{scheme}://{host}:{port}"),
        (false, None) => format!("{scheme}://{host}:{default_port}"),
    })
}

/// An allowed `Host`: a name or address, optionally with a port.
fn parse_host(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    match raw.parse::<axum::http::uri::Authority>() {
        Ok(a) if !a.as_str().contains('@') => Ok(a.as_str().to_ascii_lowercase()),
        _ => Err(format!(
            "--http-allowed-host / {HOSTS_VAR}: `{raw}` is not a host name or host:port, such as \
             mcp.example or mcp.example:8080"
        )),
    }
}

/// SHA-256 of `bytes`, so that tokens of any length compare in the same time.
fn digest(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The expected token, kept as its digest.
#[derive(Clone)]
struct Bearer {
    expected: Arc<[u8; 32]>,
}

impl Bearer {
    /// Whether `presented` is the token, in time that does not depend on where they differ.
    fn matches(&self, presented: &[u8]) -> bool {
        let got = digest(presented);
        let diff = got
            .iter()
            .zip(self.expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

/// The bearer check: 401 unless `Authorization: Bearer TOKEN` carries the token; the header is
/// removed before the request goes on.
async fn authenticate(State(bearer): State<Bearer>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .map(|t| bearer.matches(t.as_bytes()));
    match presented {
        Some(true) => {
            req.headers_mut().remove(header::AUTHORIZATION);
            next.run(req).await
        }
        Some(false) => unauthorized(
            r#"Bearer realm="proxmox-mcp", error="invalid_token""#,
            "the bearer token is wrong: send the token the server was started with \
             (PROXMOX_MCP_HTTP_TOKEN or --http-token-file)",
        ),
        None => unauthorized(
            r#"Bearer realm="proxmox-mcp""#,
            "a bearer token is required: send `Authorization: Bearer TOKEN` with the token the \
             server was started with (PROXMOX_MCP_HTTP_TOKEN or --http-token-file)",
        ),
    }
}

fn unauthorized(challenge: &'static str, message: &'static str) -> Response {
    tracing::debug!("refused an HTTP request without a valid bearer token");
    let mut r = (StatusCode::UNAUTHORIZED, message).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    r
}

/// The session cap: rmcp's session manager (whose map holds exactly the live sessions: a
/// session leaves it on DELETE and when it ends after its idle time) and the most it may hold.
#[derive(Clone)]
struct Cap {
    sessions: Arc<LocalSessionManager>,
    max: usize,
    idle: Duration,
    /// Held while a request that may open a session is handled, so that two at once cannot
    /// both pass the count.
    opening: Arc<tokio::sync::Mutex<()>>,
}

/// Refuses a request that would open a session beyond the cap (a POST without
/// `Mcp-Session-Id`), with 503 and a JSON-RPC error that says why and when room is made.
async fn cap_sessions(State(cap): State<Cap>, req: Request, next: Next) -> Response {
    let opens =
        req.method() == axum::http::Method::POST && !req.headers().contains_key("mcp-session-id");
    if !opens {
        return next.run(req).await;
    }
    let _opening = cap.opening.lock().await;
    let live = cap.sessions.sessions.read().await.len();
    if live >= cap.max {
        tracing::warn!(
            live,
            max = cap.max,
            "refused a new MCP session: the session limit is reached"
        );
        return too_many_sessions(cap.max, cap.idle);
    }
    next.run(req).await
}

fn too_many_sessions(max: usize, idle: Duration) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {
            "code": -32000,
            "message": format!(
                "too many sessions: {max} are open, the most this server allows \
                 (--http-max-sessions / {MAX_SESSIONS_VAR}); a session closes when its client \
                 sends DELETE, or after {} minutes idle; try again then",
                idle.as_secs() / 60
            ),
            "data": {"max_sessions": max, "idle_timeout_secs": idle.as_secs()},
        }
    });
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    r
}

/// The axum application: `/mcp` behind the bearer check and the session cap; anything else is
/// 404.
fn router(server: Server, opts: &HttpOptions, config: StreamableHttpServerConfig) -> axum::Router {
    let mut session_config = SessionConfig::default();
    session_config.keep_alive = Some(opts.session_timeout);
    let mut sessions = LocalSessionManager::default();
    sessions.session_config = session_config;
    let sessions = Arc::new(sessions);
    let cap = Cap {
        sessions: sessions.clone(),
        max: opts.max_sessions,
        idle: opts.session_timeout,
        opening: Arc::default(),
    };
    let service = StreamableHttpService::new(move || Ok(server.clone()), sessions, config);
    let bearer = Bearer {
        expected: Arc::new(digest(opts.token.expose().as_bytes())),
    };
    axum::Router::new()
        .route_service(MCP_PATH, service)
        .layer(middleware::from_fn_with_state(cap, cap_sessions))
        .layer(middleware::from_fn_with_state(bearer, authenticate))
}

/// Serves MCP over Streamable HTTP until Ctrl-C or SIGTERM.
pub async fn serve_http(server: Server, opts: HttpOptions) -> Result<(), String> {
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(opts.allowed_hosts.clone())
        .with_allowed_origins(opts.allowed_origins.clone())
        .enforce_origin_validation()
        .with_max_request_body_bytes(opts.max_body_bytes);
    let stop = config.cancellation_token.clone();
    let app = router(server, &opts, config);
    let listener = tokio::net::TcpListener::bind(opts.bind)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {} (--http): {e}; pick a free address and port",
                opts.bind
            )
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let url = format!("http://{local}{MCP_PATH}");
    if !local.ip().is_loopback() {
        tracing::warn!(
            %url,
            "serving MCP beyond loopback over plain HTTP: the bearer token crosses the network \
             in clear; put a TLS proxy in front"
        );
    }
    tracing::info!(
        %url,
        session_timeout_secs = opts.session_timeout.as_secs(),
        max_sessions = opts.max_sessions,
        "serving MCP"
    );
    eprintln!("serving MCP on {url}");
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        stop.cancel();
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("the HTTP server failed: {e}"))
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_get_an_explicit_port() {
        assert_eq!(
            parse_origin("https://app.example").unwrap(),
            "https://app.example:443"
        );
        assert_eq!(
            parse_origin("http://app.example/").unwrap(),
            "http://app.example:80"
        );
        assert_eq!(
            parse_origin("http://app.example:*").unwrap(),
            "http://app.example:*"
        );
        assert_eq!(
            parse_origin("http://[::1]:3000").unwrap(),
            "http://[::1]:3000"
        );
        assert_eq!(parse_origin("null").unwrap(), "null");
        for bad in [
            "app.example",
            "ftp://app.example",
            "http://app.example/path",
            "http://u@app.example",
            "http://app.example:1:*",
        ] {
            let e = parse_origin(bad).unwrap_err();
            assert!(e.contains("--http-allowed-origin"), "{e}");
        }
    }

    #[test]
    fn the_session_cap_is_at_least_one() {
        assert_eq!(max_sessions(None, None).unwrap(), DEFAULT_MAX_SESSIONS);
        assert_eq!(max_sessions(Some(3), Some("9".into())).unwrap(), 3);
        assert_eq!(max_sessions(None, Some(" 9 ".into())).unwrap(), 9);
        let e = max_sessions(None, Some("many".into())).unwrap_err();
        assert!(e.starts_with("PROXMOX_MCP_HTTP_MAX_SESSIONS `many`"), "{e}");
        let e = max_sessions(Some(0), None).unwrap_err();
        assert!(e.starts_with("--http-max-sessions"), "{e}");
    }

    #[test]
    fn hosts_are_names_or_authorities() {
        assert_eq!(parse_host("MCP.example:8080").unwrap(), "mcp.example:8080");
        assert!(parse_host("http://x").is_err());
        assert!(parse_host("a b").is_err());
    }

    #[test]
    fn a_token_is_required_and_checked() {
        let e = read_token(None, None).unwrap_err();
        assert!(
            e.contains(TOKEN_VAR) && e.contains("--http-token-file"),
            "{e}"
        );
        let e = read_token(Some("short".into()), None).unwrap_err();
        assert!(e.contains("at least") && !e.contains("short"), "{e}");
        let e = read_token(Some("a".repeat(20)), Some("/x".as_ref())).unwrap_err();
        assert!(e.contains("keep one"), "{e}");
        let t = read_token(Some("0123456789abcdef".into()), None).unwrap();
        assert_eq!(t.expose(), "0123456789abcdef");
    }

    /// A token file only its owner can read (the check refuses any other mode).
    fn token_file(name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("proxmox-mcp-{name}-{}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_token_file_others_can_read_is_refused() {
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let path = token_file("open-token", "0123456789abcdef0123-secret\n", mode);
            let e = read_token(None, Some(&path)).unwrap_err();
            let shown = path.display().to_string();
            assert!(
                e.contains(&shown)
                    && e.contains(&format!("mode {mode:o}"))
                    && e.contains(&format!("chmod 600 {shown}")),
                "{e}"
            );
            assert!(!e.contains("secret"), "{e}");
            let _ = std::fs::remove_file(&path);
        }
        let path = token_file("closed-token", "0123456789abcdef0123\n", 0o400);
        assert!(read_token(None, Some(&path)).is_ok());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_token_file_is_trimmed() {
        let path = token_file("token", "0123456789abcdef0123\n", 0o600);
        let t = read_token(None, Some(&path)).unwrap();
        assert_eq!(t.expose(), "0123456789abcdef0123");
        let _ = std::fs::remove_file(&path);
        let e = read_token(None, Some(&path)).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }

    #[test]
    fn bearer_matches_only_the_token() {
        let b = Bearer {
            expected: Arc::new(digest(b"0123456789abcdef")),
        };
        assert!(b.matches(b"0123456789abcdef"));
        assert!(!b.matches(b"0123456789abcdeg"));
        assert!(!b.matches(b""));
    }
}
