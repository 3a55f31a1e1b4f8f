//! Configuration as an administrator writes it, through the real binary: the ProxmoxMCP family's `servers` file against
//! two fakepve instances at once (the `server` argument, `proxmox_servers`, per-server write
//! policy), and start-up refusals with their exact messages.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use std::path::PathBuf;

use common::FakePve;
use mcp::Mcp;
use serde_json::{Value, json};

/// A file in a fresh directory.
fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "proxmox-mcp-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// alice's token as `USER@REALM!ID=SECRET`.
fn token(pve: &FakePve) -> String {
    format!("{}={}", pve.alice().token_id, pve.alice().token_secret)
}

/// The number of requests `pve` saw for `path`.
async fn hits(pve: &FakePve, path: &str) -> usize {
    pve.requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with(path)))
        .count()
}

#[tokio::test]
async fn several_servers_route_by_the_server_argument() {
    let (a, b) = tokio::join!(FakePve::start(), FakePve::start());
    // The family's keys, plus the per-server additions; `lab` allows writes, `prod` does not.
    let config = json!({
        "default": "prod",
        "servers": {
            "prod": {"host": a.host(), "port": a.port(), "username": "alice", "realm": "pve",
                     "token_env_var": "PROD_TOKEN", "fingerprint": a.fingerprint(), "timeout": 30},
            "lab": {"host": b.host(), "port": b.port(), "token_env_var": "LAB_TOKEN",
                    "fingerprint": b.fingerprint(), "allow_elevated": true, "default_node": b.node()}
        }
    });
    let path = write("servers.json", &config.to_string());
    let vars: Vec<(String, String)> = [
        ("PROXMOX_MCP_CONFIG", path.display().to_string()),
        ("PROD_TOKEN", token(&a)),
        ("LAB_TOKEN", token(&b)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let server = Mcp::start(&vars, &[]).await;
    let tools = server.tools().await;
    // Every tool but proxmox_servers takes `server`, naming the configured ones, default first.
    for t in &tools {
        let server_arg = t
            .input_schema
            .get("properties")
            .and_then(|p| p.get("server"));
        if t.name == "proxmox_servers" {
            assert!(server_arg.is_none());
        } else {
            let enum_ = server_arg.unwrap_or_else(|| panic!("{} has no `server`", t.name));
            assert_eq!(enum_["enum"], json!(["prod", "lab"]), "{}", t.name);
        }
    }
    let listed = server.ok("proxmox_servers", json!({})).await;
    let servers = listed["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{listed}");
    assert_eq!(servers[0]["name"], "prod");
    assert_eq!(servers[0]["default"], true);
    assert_eq!(servers[0]["writes"], false);
    assert_eq!(servers[1]["writes"], true);
    for s in servers {
        assert_eq!(s["reachable"], true, "{s}");
        assert!(
            s["version"].as_str().is_some_and(|v| v.starts_with('9')),
            "{s}"
        );
    }

    // The argument routes each call to its server; without it, the default answers.
    a.clear_requests().await;
    b.clear_requests().await;
    server
        .ok("proxmox_guest_list", json!({"server": "lab"}))
        .await;
    assert_eq!(hits(&b, "/cluster/resources").await, 1);
    assert_eq!(hits(&a, "/cluster/resources").await, 0);
    server.ok("proxmox_guest_list", json!({})).await;
    assert_eq!(hits(&a, "/cluster/resources").await, 1);
    assert_eq!(hits(&b, "/cluster/resources").await, 1);
    // `lab`'s default node fills a node argument left out.
    server
        .ok("proxmox_node_status", json!({"server": "lab"}))
        .await;
    assert_eq!(hits(&b, &format!("/nodes/{}/status", b.node())).await, 1);

    // Writes follow each server's policy; the refusal sends nothing.
    let stopped = first_stopped_vm(&a).await;
    let e = server
        .err("proxmox_guest_start", json!({"vmid": stopped}))
        .await;
    assert!(e.contains("PROXMOX_ALLOW_ELEVATED"), "{e}");
    assert_eq!(hits(&a, "/status/start").await, 0);
    let started = server
        .ok(
            "proxmox_guest_start",
            json!({"vmid": stopped, "server": "lab"}),
        )
        .await;
    assert_eq!(started["status"], "OK", "{started}");
    assert_eq!(hits(&b, "/status/start").await, 1);

    // An unknown server names the configured ones and sends nothing.
    a.clear_requests().await;
    let e = server
        .err("proxmox_guest_list", json!({"server": "staging"}))
        .await;
    assert!(
        e.contains("unknown server `staging`") && e.contains("prod, lab"),
        "{e}"
    );
    assert!(a.requests().await.is_empty());
}

/// A stopped VM of the seeded guests.
async fn first_stopped_vm(pve: &FakePve) -> u64 {
    let list = common::alice(pve)
        .request(
            proxmox_mcp::apidoc::HttpMethod::Get,
            "/cluster/resources",
            proxmox_mcp::params::Form::new(),
        )
        .await
        .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "qemu" && g["status"] == "stopped" && g["template"] != json!(1))
        .and_then(|g| g["vmid"].as_u64())
        .expect("a stopped VM in the guests file")
}

#[tokio::test]
async fn one_server_adds_nothing_to_the_tools() {
    let pve = FakePve::start().await;
    let server = Mcp::alice(&pve, &[], &[]).await;
    let tools = server.tools().await;
    assert!(!tools.iter().any(|t| t.name == "proxmox_servers"));
    for t in &tools {
        let props = t
            .input_schema
            .get("properties")
            .cloned()
            .unwrap_or(Value::Null);
        assert!(props.get("server").is_none(), "{}", t.name);
    }
    let e = server.err("proxmox_servers", json!({})).await;
    assert!(e.contains("only one server is configured"), "{e}");
}

/// `proxmox-mcp serve` with exactly these variables and arguments: its exit status and stderr.
fn serve_fails(vars: &[(&str, &str)], args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .arg("serve")
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "serve started");
    assert!(out.stdout.is_empty(), "stdout is for the protocol only");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_settings_stop_start_up_with_one_message() {
    let bad = write(
        "bad.json",
        r#"{"servers": {"pve": {"host": "127.0.0.1", "port": "eighty", "token_env_var": "T"}}}"#,
    );
    let p = bad.display().to_string();
    let e = serve_fails(&[("PROXMOX_MCP_CONFIG", &p), ("T", "u@pam!x=y")], &[]);
    assert_eq!(
        e.trim(),
        format!("error: servers.pve.port in {p} `eighty` is not a port number (1-65535)")
    );
    let e = serve_fails(&[], &["--config", "/nonexistent/servers.toml"]);
    assert!(
        e.starts_with("error: cannot read the configuration file /nonexistent/servers.toml"),
        "{e}"
    );
    let e = serve_fails(&[], &[]);
    assert!(
        e.contains("PROXMOX_HOST is not set") && e.contains("--demo"),
        "{e}"
    );
    // The family's diagnostic credentials are not a switch.
    let e = serve_fails(
        &[
            ("PROXMOX_HOST", "127.0.0.1"),
            ("PROXMOX_TOKEN", "test-api-token-diagnostic"),
        ],
        &[],
    );
    assert!(e.contains("serve --demo"), "{e}");
    assert!(!e.contains("test-api-token"), "{e}");
    let e = serve_fails(
        &[
            ("PROXMOX_HOST", "127.0.0.1"),
            ("PROXMOX_TOKEN", "u@pam!x=y"),
        ],
        &["--server", "lab"],
    );
    assert!(
        e.contains("`lab`, which is not configured; configured: default"),
        "{e}"
    );
}

/// Review M3: `PROXMOX_READ_ONLY=false` with `--allow-elevated` does not make the file's read-only
/// server writable; the write is refused before sending and start-up warns about the ignored
/// variable.
#[tokio::test]
async fn global_settings_do_not_lift_a_files_read_only() {
    let pve = FakePve::start().await;
    let config = format!(
        "default = \"lab\"\n\n[servers.prod]\nhost = \"{h}\"\nport = {p}\ntoken_env_var = \"PROD_TOKEN\"\n\
         fingerprint = \"{f}\"\nread_only = true\n\n[servers.lab]\nhost = \"{h}\"\nport = {p}\n\
         token_env_var = \"LAB_TOKEN\"\nfingerprint = \"{f}\"\nallow_elevated = true\n",
        h = pve.host(),
        p = pve.port(),
        f = pve.fingerprint()
    );
    let path = write("servers.toml", &config);
    let vars: Vec<(String, String)> = [
        ("PROXMOX_MCP_CONFIG", path.display().to_string()),
        ("PROD_TOKEN", token(&pve)),
        ("LAB_TOKEN", token(&pve)),
        ("PROXMOX_READ_ONLY", "false".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let server = mcp::Mcp::start(&vars, &["--allow-elevated"]).await;
    let listed = server.ok("proxmox_servers", json!({})).await;
    let by_name = |n: &str| {
        listed["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("prod")["writes"], false, "{listed}");
    assert_eq!(by_name("lab")["writes"], true, "{listed}");
    pve.clear_requests().await;
    let e = server
        .err(
            "proxmox_guest_start",
            json!({"vmid": 102, "server": "prod"}),
        )
        .await;
    assert!(e.contains("read-only"), "{e}");
    let sent = pve.requests().await;
    assert!(
        sent.iter().all(|r| r["method"] == "GET"),
        "a write reached PVE: {sent:?}"
    );
    assert_eq!(hits(&pve, "/status/start").await, 0);
    let stderr = server.stderr();
    assert!(
        stderr.contains("WARN")
            && stderr.contains("server `prod`: PROXMOX_READ_ONLY=false is ignored for `read_only`")
            && stderr.contains("servers.prod.read_only in"),
        "{stderr}"
    );
}
