//! Tool arguments that must not reach PVE as given: values that would break out of a property
//! string or a configuration line are refused before sending, and integer path values go out in
//! canonical form.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use common::FakePve;
use mcp::Mcp;
use serde_json::json;

#[tokio::test]
async fn property_string_breakouts_and_line_breaks_are_refused_before_sending() {
    let pve = FakePve::start().await;
    let server = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    pve.clear_requests().await;
    let call = |params: serde_json::Value| json!({"method": "PUT", "path": "/nodes/pve1/qemu/100/config", "params": params});

    let e = server
        .err(
            "proxmox_api_call",
            call(json!({"net1": {"model": "virtio", "bridge": "vmbr0,firewall=1,tag=5"}})),
        )
        .await;
    assert!(e.contains("net1.bridge") && e.contains("`,`"), "{e}");
    assert!(e.contains("Nothing was sent"), "{e}");

    let e = server
        .err("proxmox_api_call", call(json!({"name": "vm\nargs: -x"})))
        .await;
    assert!(e.contains("`name`") && e.contains("line break"), "{e}");
    assert!(!e.contains("args: -x"), "the value is echoed: {e}");

    let e = server
        .err(
            "proxmox_api_call",
            call(json!({"net1": {"model": "virtio", "bridge": "vmbr0\nargs: -x"}})),
        )
        .await;
    assert!(e.contains("net1.bridge"), "{e}");

    let log = pve.requests().await;
    assert!(
        log.iter().all(|r| r["method"] == "GET"),
        "a write reached PVE: {log:?}"
    );
    assert!(
        !log.iter().any(|r| r["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/qemu/100/config"))),
        "{log:?}"
    );

    // A description may span lines: this one is sent.
    server
        .ok(
            "proxmox_api_call",
            call(json!({"description": "first line\nsecond line"})),
        )
        .await;
    let log = pve.requests().await;
    assert!(
        log.iter()
            .any(|r| r["method"] == "PUT" && r["path"] == "/api2/json/nodes/pve1/qemu/100/config"),
        "{log:?}"
    );
}

#[tokio::test]
async fn a_vmid_with_leading_zeros_is_sent_canonical() {
    let pve = FakePve::start().await;
    let server = Mcp::alice(&pve, &[], &[]).await;
    for vmid in ["0100", "+100"] {
        pve.clear_requests().await;
        let out = server
            .ok("proxmox_guest_status", json!({"vmid": vmid}))
            .await;
        assert_eq!(out["vmid"], 100, "{out}");
        let log = pve.requests().await;
        let paths: Vec<&str> = log.iter().filter_map(|r| r["path"].as_str()).collect();
        assert!(
            paths.contains(&"/api2/json/nodes/pve1/qemu/100/status/current"),
            "{paths:?}"
        );
        assert!(
            paths
                .iter()
                .all(|p| !p.contains("0100") && !p.contains("%2B")),
            "{paths:?}"
        );
    }
}
