//! The `provisioning`, `metrics` and node-wide `bulk` tools against fakepve: templates, feature
//! checks, cloud-init, usage over time, and PVE's own startall/stopall/migrateall.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use common::FakePve;
use mcp::Mcp;
use serde_json::{Value, json};

/// The non-GET requests fakepve received, as `METHOD path body`.
async fn writes(pve: &FakePve) -> Vec<String> {
    pve.requests()
        .await
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| {
            format!(
                "{} {} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or(""),
                r["body"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test]
async fn pves_own_startall_stopall_and_migrateall() {
    let pve = FakePve::start().await;
    pve.control(json!({"op": "call", "method": "add_node", "args": ["pve2"]}))
        .await;
    let s = Mcp::alice(
        &pve,
        &[("PROXMOX_ALLOW_ELEVATED", "true")],
        &["--toolsets", "bulk"],
    )
    .await;
    let r = s
        .ok(
            "proxmox_node_startall",
            json!({"node": "pve1", "vms": "100,101"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    // Stopping every guest is destructive: the person is asked, naming the node.
    let r = s
        .ok(
            "proxmox_node_stopall",
            json!({"node": "pve1", "timeout": 30}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    assert!(
        s.asked()
            .iter()
            .any(|q| q.contains("Stop every guest on node pve1")),
        "{:?}",
        s.asked()
    );
    let r = s
        .ok(
            "proxmox_node_migrateall",
            json!({"node": "pve1", "target": "pve2", "maxworkers": 2}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    // Starting and migrating are not destructive: only the stop was asked about.
    assert_eq!(s.asked().len(), 1, "{:?}", s.asked());
    let sent = writes(&pve).await;
    for want in [
        "POST /api2/json/nodes/pve1/startall vms=100%2C101",
        "POST /api2/json/nodes/pve1/stopall timeout=30",
        "POST /api2/json/nodes/pve1/migrateall ",
    ] {
        assert!(
            sent.iter().any(|l| l.starts_with(want)),
            "{want} not in {sent:?}"
        );
    }
    let migrate = sent.iter().find(|l| l.contains("migrateall")).unwrap();
    assert!(
        migrate.contains("target=pve2") && migrate.contains("maxworkers=2"),
        "{migrate}"
    );
    // A dry run sends nothing and says what would be sent.
    pve.clear_requests().await;
    let r = s
        .ok(
            "proxmox_node_stopall",
            json!({"node": "pve1", "dry_run": true}),
        )
        .await;
    assert_eq!(r["dry_run"], true, "{r}");
    assert!(writes(&pve).await.is_empty());
}

#[tokio::test]
async fn a_template_a_feature_check_and_cloud_init() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(
        &pve,
        &[("PROXMOX_ALLOW_ELEVATED", "true")],
        &["--toolsets", "provisioning"],
    )
    .await;
    let r = s
        .ok(
            "proxmox_guest_feature",
            json!({"vmid": 101, "feature": "snapshot"}),
        )
        .await;
    assert!(r.get("hasFeature").is_some(), "{r}");
    // A feature that is not one of PVE's is refused before anything is sent.
    let e = s
        .err(
            "proxmox_guest_feature",
            json!({"vmid": 101, "feature": "teleport"}),
        )
        .await;
    assert!(e.contains("feature"), "{e}");

    // Turning a guest into a template cannot be undone: the person is asked.
    let r = s.ok("proxmox_guest_template", json!({"vmid": 101})).await;
    assert_eq!(r["status"], "OK", "{r}");
    assert!(
        s.asked()
            .iter()
            .any(|q| q.contains("into a template") && q.contains("101")),
        "{:?}",
        s.asked()
    );
    assert!(
        writes(&pve)
            .await
            .iter()
            .any(|l| l.starts_with("POST /api2/json/nodes/pve1/qemu/101/template")),
        "{:?}",
        writes(&pve).await
    );

    // Cloud-init is a VM's: a container's VMID is refused with nothing sent.
    pve.clear_requests().await;
    let e = s
        .err("proxmox_cloudinit_regenerate", json!({"vmid": 200}))
        .await;
    assert!(
        e.contains("200 is a container") && e.contains("VMs only"),
        "{e}"
    );
    assert!(writes(&pve).await.is_empty());
    let r = s
        .ok("proxmox_cloudinit_regenerate", json!({"vmid": 100}))
        .await;
    assert!(r.is_object(), "{r}");
    assert!(
        writes(&pve)
            .await
            .iter()
            .any(|l| l.starts_with("PUT /api2/json/nodes/pve1/qemu/100/cloudinit")),
        "{:?}",
        writes(&pve).await
    );
    let scripted = json!([
        {"key": "ciuser", "value": "admin", "pending": "ops"},
        {"key": "ipconfig0", "value": "ip=dhcp"}
    ]);
    pve.control(json!({"op": "script", "method": "GET",
                       "path": "/nodes/pve1/qemu/100/cloudinit", "json": scripted}))
        .await;
    let r = s.ok("proxmox_cloudinit", json!({"vmid": 100})).await;
    assert_eq!(r["data"][0]["pending"], "ops", "{r}");
    pve.control(json!({"op": "script", "method": "GET",
                       "path": "/nodes/pve1/qemu/100/cloudinit/dump",
                       "json": "#cloud-config\nuser: admin\n"}))
        .await;
    let r = s
        .ok(
            "proxmox_cloudinit_dump",
            json!({"vmid": 100, "type": "user"}),
        )
        .await;
    assert_eq!(r["data"], "#cloud-config\nuser: admin\n", "{r}");
    let dump = pve
        .requests()
        .await
        .into_iter()
        .rfind(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/cloudinit/dump"))
        })
        .unwrap();
    assert!(
        dump.to_string().contains("type=user"),
        "the dump's type goes in the query: {dump}"
    );
}

#[tokio::test]
async fn usage_over_time_summarised_per_measure() {
    let pve = FakePve::start().await;
    let points: Vec<Value> = (0..60)
        .map(|i| {
            json!({"time": 1_764_000_000 + i * 60, "cpu": 0.01 * f64::from(i as u8 % 10),
                   "maxcpu": 2, "mem": 1_000_000_000 + i * 1_000_000, "maxmem": 2_147_483_648u64,
                   "netin": 1500.5, "netout": 300})
        })
        .collect();
    pve.control(json!({"op": "script", "method": "GET",
                       "path": "/nodes/pve1/lxc/200/rrddata", "json": points}))
        .await;
    let s = Mcp::alice(&pve, &[], &["--toolsets", "metrics"]).await;
    let r = s
        .ok(
            "proxmox_guest_metrics",
            json!({"vmid": 200, "timeframe": "day", "cf": "MAX"}),
        )
        .await;
    assert_eq!(r["points"], 60, "{r}");
    assert_eq!(r["node"], "pve1");
    assert_eq!(r["from"], "2025-11-24T16:00:00Z", "{r}");
    let m = &r["measures"];
    assert_eq!(m["cpu"]["max"], 0.09, "{r}");
    assert_eq!(m["cpu"]["min"], 0.0, "{r}");
    assert_eq!(m["mem"]["last"], 1_059_000_000, "{r}");
    assert_eq!(m["netin"]["mean"], 1501, "{r}");
    let req = pve
        .requests()
        .await
        .into_iter()
        .rfind(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/rrddata")))
        .unwrap();
    assert!(
        req.to_string().contains("timeframe=day") && req.to_string().contains("cf=MAX"),
        "{req}"
    );
    // Without a timeframe the last hour is read (PVE requires one).
    let r = s.ok("proxmox_guest_metrics", json!({"vmid": 100})).await;
    assert_eq!(r["timeframe"], "hour", "{r}");
    // The output is a summary, a few hundred bytes, not 60 points.
    let text = s.call("proxmox_guest_metrics", json!({"vmid": 200})).await;
    assert!(mcp::text(&text).len() < 2000, "{}", mcp::text(&text));
}
