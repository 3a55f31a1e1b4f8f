//! `proxmox-mcp serve --http` as a child process, against fakepve: the bearer token, the Host and
//! Origin checks, the body limit, start-up refusals, and MCP through rmcp's Streamable HTTP client.

mod common;
#[path = "common/http.rs"]
mod http;
#[path = "common/mcp.rs"]
mod mcp;
use std::time::Duration;

use common::FakePve;
use http::{HttpServer, START_TIMEOUT, TOKEN, plain_client, spawn};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Runs `args` to completion (it must not serve); returns the exit status and stderr.
async fn run_to_end(vars: &[(String, String)], args: &[&str]) -> (bool, String) {
    let child = spawn(vars, args);
    let out = tokio::time::timeout(START_TIMEOUT, child.wait_with_output())
        .await
        .expect("proxmox-mcp should have refused to start, but it is still running")
        .expect("wait for proxmox-mcp");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn initialize() -> String {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "mcp_http test", "version": "1"}
        }
    })
    .to_string()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_401_and_nothing_reaches_pve() {
    let pve = FakePve::start().await;
    let server = HttpServer::start(&pve, &[], &[]).await;
    pve.clear_requests().await;
    let wrong = bearer("not-the-token-0123456789abcdef");
    let basic = format!("Basic {TOKEN}");
    let prefix = bearer(&TOKEN[..TOKEN.len() - 1]);
    for (what, headers) in [
        ("no Authorization", vec![]),
        ("a wrong token", vec![("Authorization", wrong.as_str())]),
        (
            "a token cut short",
            vec![("Authorization", prefix.as_str())],
        ),
        ("the Basic scheme", vec![("Authorization", basic.as_str())]),
    ] {
        let r = server.post(initialize(), &headers).await;
        assert_eq!(r.status().as_u16(), 401, "{what}");
        let challenge = r
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(challenge.starts_with("Bearer"), "{what}: {challenge:?}");
        assert!(r.headers().get("mcp-session-id").is_none(), "{what}");
        let body = r.text().await.unwrap();
        assert!(body.contains("PROXMOX_MCP_HTTP_TOKEN"), "{what}: {body}");
        assert!(!body.contains(TOKEN), "{what}: {body}");
    }
    // A tools/call without a token does not reach the handler either.
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "proxmox_guest_list", "arguments": {}}});
    let r = server.post(call.to_string(), &[]).await;
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(pve.requests().await, Vec::<Value>::new());
}

#[tokio::test]
async fn origin_and_host_are_checked() {
    let pve = FakePve::start().await;
    // The origin from the flag, the hosts from the variable.
    let server = HttpServer::start(
        &pve,
        &[(
            "PROXMOX_MCP_HTTP_ALLOWED_HOSTS",
            "mcp.example, other.example:8080",
        )],
        &["--http-allowed-origin", "https://app.example"],
    )
    .await;
    let auth = bearer(TOKEN);
    let status = |r: reqwest::Response| r.status().as_u16();
    for (origin, want) in [
        ("http://evil.example", 403),
        ("http://localhost.evil.example", 403),
        ("https://localhost:3000", 403),
        ("https://app.example:444", 403),
        ("null", 403),
        ("http://localhost:5173", 200),
        ("http://127.0.0.1", 200),
        ("http://[::1]:8080", 200),
        ("https://app.example", 200),
    ] {
        let r = server
            .post(
                initialize(),
                &[("Authorization", &auth), ("Origin", origin)],
            )
            .await;
        assert_eq!(status(r), want, "Origin: {origin}");
    }
    let port = server
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches("/mcp");
    for (host, want) in [
        ("evil.example".to_string(), 403),
        (format!("evil.example:{port}"), 403),
        (format!("localhost:{port}"), 200),
        (format!("127.0.0.1:{port}"), 200),
        ("mcp.example".to_string(), 200),
        ("other.example:8080".to_string(), 200),
        ("other.example:8081".to_string(), 403),
    ] {
        let r = server
            .post(initialize(), &[("Authorization", &auth), ("Host", &host)])
            .await;
        assert_eq!(status(r), want, "Host: {host}");
    }
    // Without a token, the token check answers first.
    let r = server
        .post(initialize(), &[("Origin", "http://evil.example")])
        .await;
    assert_eq!(status(r), 401);
}

#[tokio::test]
async fn a_body_over_4_mib_is_413() {
    let pve = FakePve::start().await;
    let server = HttpServer::start(&pve, &[], &[]).await;
    let padding = "x".repeat(4 * 1024 * 1024 + 1);
    let big =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"_meta": {"pad": padding}}});
    let r = server
        .post(big.to_string(), &[("Authorization", &bearer(TOKEN))])
        .await;
    assert_eq!(r.status().as_u16(), 413);
    // Just under the limit is not refused for its size.
    let padding = "x".repeat(1024 * 1024);
    let ok = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {"experimental": {"pad": {"p": padding}}},
        "clientInfo": {"name": "c", "version": "1"}}});
    let r = server
        .post(ok.to_string(), &[("Authorization", &bearer(TOKEN))])
        .await;
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn tools_work_over_http_and_the_token_stays_on_this_side() {
    let pve = FakePve::start().await;
    let server = HttpServer::start(&pve, &[("RUST_LOG", "trace")], &[]).await;
    let client = server.client(TOKEN).await;
    let info = client.peer_info().expect("initialized");
    assert_eq!(info.server_info.as_ref().unwrap().name, "proxmox-mcp");
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(
        tools.iter().any(|t| t.name == "proxmox_guest_list"),
        "{:?}",
        tools.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    pve.clear_requests().await;
    let r = client
        .call_tool(CallToolRequestParams::new("proxmox_guest_list"))
        .await
        .expect("tools/call proxmox_guest_list");
    assert_ne!(r.is_error, Some(true), "{}", mcp::text(&r));
    let s = r.structured_content.expect("structured content");
    let vmids: Vec<u64> = s["guests"]
        .as_array()
        .expect("guests")
        .iter()
        .filter_map(|g| g["vmid"].as_u64())
        .collect();
    for v in [100, 101, 200] {
        assert!(vmids.contains(&v), "{vmids:?}");
    }
    // PVE saw alice's API token, never the MCP client's bearer token.
    let reqs = pve.requests().await;
    assert!(!reqs.is_empty());
    for req in &reqs {
        assert_eq!(req["auth"]["kind"], "token", "{req}");
        assert_eq!(req["auth"]["id"], "alice@pve!ci", "{req}");
        assert!(!req.to_string().contains(TOKEN), "{req}");
        let authz = req["headers"]["authorization"].as_str().unwrap_or_default();
        assert!(authz.starts_with("PVEAPIToken="), "{req}");
    }
    client.cancel().await.expect("close the MCP session");
    let log = server.stderr();
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "{log}");
    assert!(
        !log.contains(TOKEN),
        "the bearer token is in the log:\n{log}"
    );
}

#[tokio::test]
async fn a_wrong_token_fails_the_rmcp_client() {
    let pve = FakePve::start().await;
    let server = HttpServer::start(&pve, &[], &[]).await;
    let config = StreamableHttpClientTransportConfig::with_uri(server.url.clone())
        .auth_header("wrong-token-0123456789abcdef".to_string());
    let transport = StreamableHttpClientTransport::from_config(config);
    assert!(().serve(transport).await.is_err());
}

#[tokio::test]
async fn the_token_file_works() {
    let pve = FakePve::start().await;
    let path = std::env::temp_dir().join(format!("proxmox-mcp-http-token-{}", std::process::id()));
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    // Only its owner may read it (review m4: other modes are refused, below).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut vars = mcp::env(&pve);
    vars.push((
        "PROXMOX_MCP_HTTP_TOKEN_FILE".into(),
        path.display().to_string(),
    ));
    let path_arg = path.display().to_string();
    // The file comes from the flag here, and the variable in the refusal below.
    let mut child = spawn(
        &mcp::env(&pve),
        &[
            "serve",
            "--http",
            "127.0.0.1:0",
            "--http-token-file",
            &path_arg,
        ],
    );
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(START_TIMEOUT, lines.next_line())
        .await
        .expect("the URL line")
        .unwrap()
        .unwrap_or_default();
    let url = line
        .strip_prefix("serving MCP on ")
        .unwrap_or_else(|| panic!("{line}"));
    let r = plain_client()
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("Authorization", bearer(TOKEN))
        .body(initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    child.kill().await.unwrap();
    // The variable and the file together are ambiguous.
    vars.push(("PROXMOX_MCP_HTTP_TOKEN".into(), TOKEN.into()));
    let (ok, err) = run_to_end(&vars, &["serve", "--http", "127.0.0.1:0"]).await;
    assert!(!ok);
    assert!(err.contains("keep one"), "{err}");
    // A token file other users can read stops start-up, naming the file, its mode and the fix.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, err) = run_to_end(
        &mcp::env(&pve),
        &[
            "serve",
            "--http",
            "127.0.0.1:0",
            "--http-token-file",
            &path_arg,
        ],
    )
    .await;
    assert!(!ok, "{err}");
    assert!(
        err.contains(&format!("token file {path_arg}"))
            && err.contains("mode 644")
            && err.contains(&format!("chmod 600 {path_arg}")),
        "{err}"
    );
    assert!(
        !err.contains(TOKEN) && !err.contains("serving MCP"),
        "{err}"
    );
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn start_up_refuses_without_a_usable_token() {
    let pve = FakePve::start().await;
    let vars = mcp::env(&pve);
    for bind in ["0.0.0.0:0", "127.0.0.1:0"] {
        let (ok, err) = run_to_end(&vars, &["serve", "--http", bind]).await;
        assert!(!ok, "{bind}: {err}");
        assert!(
            err.contains("PROXMOX_MCP_HTTP_TOKEN") && err.contains("--http-token-file"),
            "{bind}: {err}"
        );
        assert!(!err.contains("serving MCP"), "{err}");
    }
    let mut short = vars.clone();
    short.push(("PROXMOX_MCP_HTTP_TOKEN".into(), "tooshort".into()));
    let (ok, err) = run_to_end(&short, &["serve", "--http", "127.0.0.1:0"]).await;
    assert!(!ok);
    assert!(err.contains("at least 16"), "{err}");
    assert!(!err.contains("tooshort"), "{err}");
    let mut with_token = vars.clone();
    with_token.push(("PROXMOX_MCP_HTTP_TOKEN".into(), TOKEN.into()));
    let (ok, err) = run_to_end(
        &with_token,
        &[
            "serve",
            "--http",
            "127.0.0.1:0",
            "--http-allowed-origin",
            "app.example",
        ],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("--http-allowed-origin"), "{err}");
    let mut bad_var = with_token.clone();
    bad_var.push((
        "PROXMOX_MCP_HTTP_ALLOWED_ORIGINS".into(),
        "https://ok.example,ftp://bad.example".into(),
    ));
    let (ok, err) = run_to_end(&bad_var, &["serve", "--http", "127.0.0.1:0"]).await;
    assert!(!ok);
    assert!(
        err.contains("PROXMOX_MCP_HTTP_ALLOWED_ORIGINS") && err.contains("ftp://bad.example"),
        "{err}"
    );
}

#[tokio::test]
async fn stdio_ignores_the_http_variables() {
    let pve = FakePve::start().await;
    let server = mcp::Mcp::alice(
        &pve,
        &[
            ("PROXMOX_MCP_HTTP_TOKEN_FILE", ""),
            ("PROXMOX_MCP_HTTP_ALLOWED_ORIGINS", "not an origin"),
            ("PROXMOX_MCP_HTTP_ALLOWED_HOSTS", ""),
        ],
        &[],
    )
    .await;
    assert!(!server.tools().await.is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_the_server() {
    let pve = FakePve::start().await;
    let mut server = HttpServer::start(&pve, &[], &[]).await;
    // An open session with a GET stream must not keep the server up.
    let client = server.client(TOKEN).await;
    let pid = server.child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .expect("the server did not stop within 10 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}; stderr: {}", server.stderr());
    drop(client);
}

/// Review m3: the number of live sessions is capped. Beyond the cap a new `initialize` gets 503
/// with a JSON-RPC error; a session closed with DELETE makes room again.
#[tokio::test]
async fn sessions_are_capped_and_a_deleted_one_makes_room() {
    let pve = FakePve::start().await;
    let server = HttpServer::start(&pve, &[], &["--http-max-sessions", "3"]).await;
    let auth = bearer(TOKEN);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = server
            .post(initialize(), &[("Authorization", auth.as_str())])
            .await;
        assert_eq!(r.status().as_u16(), 200, "{}", server.stderr());
        let id = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
        ids.push(id);
    }
    // The fourth is refused, and says what the limit is and how sessions close.
    let r = server
        .post(initialize(), &[("Authorization", auth.as_str())])
        .await;
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get("mcp-session-id").is_none());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("too many sessions: 3 are open")
            && message.contains("DELETE")
            && message.contains("30 minutes"),
        "{body}"
    );
    // A request within an open session still works.
    let r = server
        .post(
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
            &[
                ("Authorization", auth.as_str()),
                ("Mcp-Session-Id", ids[0].as_str()),
                ("MCP-Protocol-Version", "2025-06-18"),
            ],
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    // DELETE closes one; then a new session is accepted, and the cap holds again.
    let r = plain_client()
        .delete(&server.url)
        .header("Authorization", auth.as_str())
        .header("Mcp-Session-Id", ids[1].as_str())
        .header("MCP-Protocol-Version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "DELETE: {}", r.status());
    let r = server
        .post(initialize(), &[("Authorization", auth.as_str())])
        .await;
    assert_eq!(r.status().as_u16(), 200, "{}", server.stderr());
    let r = server
        .post(initialize(), &[("Authorization", auth.as_str())])
        .await;
    assert_eq!(r.status().as_u16(), 503);
    // Without the token it is still 401, whatever the count.
    let r = server.post(initialize(), &[]).await;
    assert_eq!(r.status().as_u16(), 401);
}
