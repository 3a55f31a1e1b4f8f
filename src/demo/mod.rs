//! A simulated PVE cluster inside the binary, for `serve --demo`: two nodes with VMs, containers,
//! storage, snapshots and tasks, served as PVE's HTTPS API on loopback with a fresh self-signed
//! certificate (pinned by fingerprint) and a fresh API token, so that the SDK client and the MCP
//! tools run against it exactly as against a real cluster.

mod agent;
mod api;
mod cluster;
mod config;
mod content;
mod disks;
mod extras;
mod guests;
mod moves;
mod nodes;
mod restore;
mod status;
mod tls;

#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// A running demo cluster on 127.0.0.1.
pub struct Demo {
    /// The HTTPS port.
    pub port: u16,
    /// SHA-256 of the certificate's DER, `AB:CD:...` (32 bytes, uppercase, colon-separated).
    pub fingerprint: String,
    /// The API token, `USER@REALM!TOKENID=SECRET`; the secret is new at every start.
    pub token: String,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("port", &self.port)
            .field("fingerprint", &self.fingerprint)
            .field("token", &format!("{}=***", cluster::TOKEN_ID))
            .finish()
    }
}

/// Starts the demo cluster on 127.0.0.1 with a port the OS chooses, as tasks of the current tokio
/// runtime (a current-thread runtime will do); it runs until the runtime stops.
pub async fn start() -> Result<Demo, String> {
    let identity = tls::identity()?;
    let secret = random_secret()?;
    let tcp = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| format!("demo cluster: cannot listen on 127.0.0.1: {e}"))?;
    let listener =
        tls::TlsListener::new(tcp, identity.config).map_err(|e| format!("demo cluster: {e}"))?;
    let port = axum::serve::Listener::local_addr(&listener)
        .map_err(|e| format!("demo cluster: {e}"))?
        .port();
    let shared = Arc::new(api::Shared::new(&secret));
    let router = axum::Router::new().fallback(answer).with_state(shared);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "demo cluster: the server stopped");
        }
    });
    tracing::info!(port, "demo cluster listening on 127.0.0.1");
    Ok(Demo {
        port,
        fingerprint: identity.fingerprint,
        token: format!("{}={secret}", cluster::TOKEN_ID),
    })
}

/// 16 random bytes in the form of PVE's token secrets (a UUID).
fn random_secret() -> Result<String, String> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| "demo cluster: no randomness".to_string())?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// Every request: parameters from the query string and the form body, then the API.
async fn answer(
    State(shared): State<Arc<api::Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let params = std::str::from_utf8(&body)
        .map_err(|_| "the request body is not UTF-8".to_string())
        .and_then(|b| api::Params::parse(&[uri.query().unwrap_or(""), b]));
    let reply = api::handle(&shared, method.as_str(), uri.path(), auth, params);
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        reply.body.to_string(),
    )
        .into_response();
    // PVE puts its message in the reason phrase, where the SDK reads it first.
    if let Some(m) = reply.message {
        let phrase: String = m
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
            .take(500)
            .collect();
        if let Ok(p) = hyper::ext::ReasonPhrase::try_from(phrase.trim().to_string()) {
            resp.extensions_mut().insert(p);
        }
    }
    resp
}
