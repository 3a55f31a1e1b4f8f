//! Curated tools beyond the first nineteen, against fakepve: snapshots, the next free VMID, and
//! the choice of tools a server serves.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use common::FakePve;
use mcp::Mcp;
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<String> {
    list["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect()
}

/// Everyday job 4: shut a container down, snapshot it, list its snapshots, roll back, delete the
/// snapshot; each one call, by VMID alone.
#[tokio::test]
async fn a_containers_snapshot_cycle_by_vmid_alone() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    let r = s
        .ok("proxmox_guest_shutdown", json!({"vmid": 200, "wait": 60}))
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let r = s
        .ok(
            "proxmox_guest_snapshot_create",
            json!({"vmid": 200, "snapname": "before_upgrade", "description": "pre-upgrade"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let list = s
        .ok("proxmox_guest_snapshot_list", json!({"vmid": 200}))
        .await;
    assert!(
        names(&list).contains(&"before_upgrade".to_string()),
        "{list}"
    );
    assert!(names(&list).contains(&"current".to_string()), "{list}");
    // Rolling back is destructive: the person is asked (the test client accepts).
    let r = s
        .ok(
            "proxmox_guest_snapshot_rollback",
            json!({"vmid": 200, "snapname": "before_upgrade"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    assert!(
        s.asked()
            .iter()
            .any(|q| q.contains("Roll back to the snapshot `before_upgrade`")
                && q.contains("container 200")),
        "{:?}",
        s.asked()
    );
    let r = s
        .ok(
            "proxmox_guest_snapshot_delete",
            json!({"vmid": 200, "snapname": "before_upgrade"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let list = s
        .ok("proxmox_guest_snapshot_list", json!({"vmid": 200}))
        .await;
    assert!(
        !names(&list).contains(&"before_upgrade".to_string()),
        "{list}"
    );
    // The requests went to the container's methods, found from the VMID.
    let paths: Vec<String> = pve
        .requests()
        .await
        .iter()
        .filter(|r| r["method"] != "GET")
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .collect();
    for want in [
        "/api2/json/nodes/pve1/lxc/200/snapshot",
        "/api2/json/nodes/pve1/lxc/200/snapshot/before_upgrade/rollback",
        "/api2/json/nodes/pve1/lxc/200/snapshot/before_upgrade",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} not in {paths:?}");
    }
    // A snapshot name that is not one is refused before anything is sent.
    let e = s
        .err(
            "proxmox_guest_snapshot_create",
            json!({"vmid": 200, "snapname": "../x"}),
        )
        .await;
    assert!(e.contains("snapname"), "{e}");
}

#[tokio::test]
async fn the_next_free_vmid_and_the_choice_of_tools() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[], &["--exclude-tools", "proxmox_guest_delete"]).await;
    let r = s.ok("proxmox_get_next_vmid", json!({})).await;
    let id = r["vmid"].as_u64().unwrap_or_else(|| panic!("{r}"));
    assert!(id >= 100, "{r}");
    assert!(
        !s.tools()
            .await
            .iter()
            .any(|t| t.name == "proxmox_guest_delete")
    );
    let e = s.err("proxmox_guest_delete", json!({"vmid": 100})).await;
    assert!(e.contains("--exclude-tools"), "{e}");
    let only = Mcp::alice(&pve, &[("PROXMOX_MCP_TOOLSETS", "snapshots")], &[]).await;
    let listed: Vec<String> = only
        .tools()
        .await
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(
        listed
            .iter()
            .all(|n| n.starts_with("proxmox_guest_snapshot_")),
        "{listed:?}"
    );
    let e = only.err("proxmox_guest_list", json!({})).await;
    assert!(e.contains("toolset `guests` is not served"), "{e}");
}
