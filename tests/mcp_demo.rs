//! `proxmox-mcp serve --demo` driven over MCP with no `PROXMOX_*` variable set: the simulated
//! cluster answers through the same client and tool pipeline as a real one.

#[path = "common/mcp.rs"]
mod mcp;
// The MCP helpers name the fakepve harness; the demo needs none of it.
mod common;

use mcp::Mcp;
use serde_json::json;

#[tokio::test]
async fn demo_lists_starts_with_progress_snapshots_and_fails_like_pve() {
    let mut s = Mcp::start(&[], &["--demo", "--allow-elevated"]).await;
    assert!(s.stderr().contains("DEMO MODE"), "{}", s.stderr());

    // Two nodes, VMs and containers on both.
    let list = s.ok("proxmox_guest_list", json!({})).await;
    let guests = list["guests"].as_array().unwrap();
    let nodes: std::collections::BTreeSet<&str> =
        guests.iter().filter_map(|g| g["node"].as_str()).collect();
    assert_eq!(nodes.len(), 2, "{list}");
    assert!(guests.iter().any(|g| g["type"] == "lxc"), "{list}");
    let stopped = guests
        .iter()
        .find(|g| {
            g["type"] == "qemu"
                && g["status"] == "stopped"
                && g["name"] != "broken-vm"
                && g["template"] != json!(1)
        })
        .and_then(|g| g["vmid"].as_u64())
        .expect("a stopped VM");

    // A start: a task with a UPID that finishes, progress while it runs, the VM then runs.
    let started = s.ok("proxmox_guest_start", json!({"vmid": stopped})).await;
    assert_eq!(started["status"], "OK", "{started}");
    assert!(
        started["upid"]
            .as_str()
            .is_some_and(|u| u.starts_with("UPID:")),
        "{started}"
    );
    let mut seen = Vec::new();
    while let Ok(p) = s.progress.try_recv() {
        seen.push(p.progress);
    }
    assert!(!seen.is_empty(), "no progress notification");
    let status = s.ok("proxmox_guest_status", json!({"vmid": stopped})).await;
    assert_eq!(status["status"], "running", "{status}");

    // A snapshot through the generic tool changes the demo's state.
    let node = guests
        .iter()
        .find(|g| g["vmid"] == json!(stopped))
        .and_then(|g| g["node"].as_str())
        .unwrap()
        .to_string();
    let path = format!("/nodes/{node}/qemu/{stopped}/snapshot");
    let snap = s
        .ok(
            "proxmox_api_call",
            json!({"method": "POST", "path": path, "params": {"snapname": "demo-test"}}),
        )
        .await;
    assert_eq!(snap["status"], "OK", "{snap}");
    let snaps = s.ok("proxmox_api_get", json!({"path": path})).await;
    assert!(snaps.to_string().contains("demo-test"), "{snaps}");

    // The broken VM: its start task fails, and the error carries the log tail.
    let broken = guests
        .iter()
        .find(|g| g["name"] == "broken-vm")
        .and_then(|g| g["vmid"].as_u64())
        .expect("the demo's broken VM");
    let e = s.err("proxmox_guest_start", json!({"vmid": broken})).await;
    assert!(e.contains("failed") && e.contains("QEMU exited"), "{e}");

    // Permissions behave as on PVE: the demo token may not reboot a node.
    let e = s
        .err(
            "proxmox_api_call",
            json!({"method": "POST", "path": format!("/nodes/{node}/status"),
                   "params": {"command": "reboot"}}),
        )
        .await;
    assert!(e.contains("lacks Sys.PowerMgmt"), "{e}");
}

#[tokio::test]
async fn demo_refuses_writes_without_elevation_and_mixes_with_no_real_settings() {
    let s = Mcp::start(&[("PROXMOX_DEMO".into(), "true".into())], &[]).await;
    let list = s.ok("proxmox_guest_list", json!({})).await;
    let vmid = list["guests"][0]["vmid"].as_u64().unwrap();
    let e = s.err("proxmox_guest_stop", json!({"vmid": vmid})).await;
    assert!(e.contains("PROXMOX_ALLOW_ELEVATED"), "{e}");
    // The demo never stands in for a configured cluster.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .args(["serve", "--demo"])
        .env_clear()
        .env("PROXMOX_HOST", "pve.example.com")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not combine with PROXMOX_HOST"), "{err}");
}
