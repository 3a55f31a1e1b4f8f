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
