//! One run with an outside client: the official MCP Python SDK (`mcp`, pinned in the test venv)
//! lists the tools of `proxmox-mcp serve` and calls `proxmox_guest_list` against fakepve.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use common::FakePve;
use serde_json::Value;

#[tokio::test]
async fn the_python_sdk_lists_tools_and_lists_guests() {
    let pve = FakePve::start().await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_python/smoke.py");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new(common::python())
            .arg(&script)
            .arg(env!("CARGO_BIN_EXE_proxmox-mcp"))
            .env_clear()
            .envs(mcp::env(&pve))
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client did not finish in 60 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let r: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(r["server"], "proxmox-mcp");
    let tools: Vec<&str> = r["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        tools.contains(&"proxmox_guest_list") && tools.contains(&"proxmox_api_call"),
        "{tools:?}"
    );
    let list = &r["guest_list"];
    assert_eq!(list["is_error"], false, "{list}");
    let guests = list["structured"]["guests"].as_array().unwrap();
    assert!(
        guests
            .iter()
            .any(|g| g["vmid"] == 100 && g["name"] == "web"),
        "{list}"
    );
    let text: Value = serde_json::from_str(list["text"][0].as_str().unwrap()).unwrap();
    assert_eq!(text, list["structured"]);
    assert_eq!(r["not_found"]["is_error"], true);
    assert!(
        r["not_found"]["text"][0]
            .as_str()
            .unwrap()
            .contains("no VM or container 999")
    );
}

/// Runs `tests/mcp_python/safety.py ARGS` with these variables; returns its JSON report.
async fn safety_script(args: &[&str], vars: &[(String, String)]) -> Value {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_python/safety.py");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new(common::python())
            .arg(&script)
            .args(args)
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client did not finish in 120 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

/// What both transports must show: per protocol revision, a dry run that asks nothing, a
/// declined stop that sends nothing, an accepted stop that is sent; and in fakepve's log, only
/// the accepted stops.
async fn check_confirmations(pve: &FakePve, report: &Value) {
    for (mode, protocol, accepted, declined) in [
        ("legacy", "2025-11-25", "qemu/100", "qemu/101"),
        ("2026-07-28", "2026-07-28", "lxc/200", "lxc/201"),
    ] {
        let r = &report[mode];
        assert_eq!(r["protocol"], protocol, "{r}");
        let dry = &r["dry_run"];
        assert_eq!(dry["is_error"], false, "{dry}");
        assert_eq!(dry["structured"]["dry_run"], true, "{dry}");
        assert_eq!(
            r["asked_after_dry_run"], 0,
            "a dry run asked the person: {r}"
        );
        let declined_text = r["declined"]["text"][0].as_str().unwrap_or("");
        assert_eq!(r["declined"]["is_error"], true, "{r}");
        assert!(declined_text.contains("did not confirm"), "{declined_text}");
        assert_eq!(r["accepted"]["is_error"], false, "{r}");
        let asked = r["asked"].as_array().unwrap();
        assert_eq!(asked.len(), 2, "{r}");
        assert!(asked[1].as_str().unwrap().contains("Stop"), "{asked:?}");
        let stops: Vec<String> = pve
            .requests()
            .await
            .into_iter()
            .filter(|q| q["method"] == "POST")
            .filter_map(|q| q["path"].as_str().map(str::to_string))
            .filter(|p| p.ends_with("/status/stop"))
            .collect();
        assert!(
            stops.iter().any(|p| p.contains(accepted)),
            "{mode}: the accepted stop was not sent: {stops:?}"
        );
        assert!(
            !stops.iter().any(|p| p.contains(declined)),
            "{mode}: the declined stop was sent: {stops:?}"
        );
    }
}

/// The audit log both transports leave: per revision a dry run, a declined stop and an accepted
/// one (sent, then PVE's answer); on 2026-07-28 each confirmation is first an input-required
/// result. The chain verifies.
fn check_audit(log: &std::path::Path) {
    let text = std::fs::read_to_string(log).unwrap();
    let decisions: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["decision"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        decisions,
        [
            "dry-run",
            "refused-confirmation",
            "sent",
            "answered",
            "dry-run",
            "asked-input",
            "refused-confirmation",
            "asked-input",
            "sent",
            "answered",
        ],
        "{text}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .args(["audit", "verify"])
        .arg(log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn audit_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("proxmox-mcp-py-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("audit.jsonl")
}

#[tokio::test]
async fn the_python_sdk_confirms_destructive_calls_over_stdio_in_both_revisions() {
    let pve = FakePve::start().await;
    let log = audit_path("stdio");
    let mut vars = mcp::env(&pve);
    vars.push(("PROXMOX_ALLOW_ELEVATED".into(), "true".into()));
    vars.push(("PROXMOX_MCP_AUDIT_LOG".into(), log.to_str().unwrap().into()));
    let report = safety_script(&["stdio", env!("CARGO_BIN_EXE_proxmox-mcp")], &vars).await;
    check_confirmations(&pve, &report).await;
    // Both revisions ran in one server process each, one after the other, on one log.
    check_audit(&log);
}

#[tokio::test]
async fn the_python_sdk_confirms_destructive_calls_over_http_in_both_revisions() {
    use tokio::io::AsyncBufReadExt;
    let pve = FakePve::start().await;
    let token = "python-sdk-http-token-0123456789";
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"));
    let log = audit_path("http");
    cmd.args(["serve", "--http", "127.0.0.1:0", "--audit-log"])
        .arg(&log)
        .env_clear()
        .envs(mcp::env(&pve))
        .env("PROXMOX_ALLOW_ELEVATED", "true")
        .env("PROXMOX_MCP_HTTP_TOKEN", token)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("serving MCP on ") {
                return url.trim().to_string();
            }
        }
        panic!("serve --http ended without printing its URL");
    })
    .await
    .expect("serve --http did not start in 30 s");
    // Keep draining stderr so the server never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let vars: Vec<(String, String)> = Vec::new();
    let report = safety_script(&["http", &url, token], &vars).await;
    check_confirmations(&pve, &report).await;
    check_audit(&log);
    child.kill().await.ok();
}
