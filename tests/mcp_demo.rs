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

/// The VMID of the demo's guest named `name`.
async fn vmid_of(s: &Mcp, name: &str) -> u64 {
    let list = s.ok("proxmox_guest_list", json!({})).await;
    list["guests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .and_then(|g| g["vmid"].as_u64())
        .unwrap_or_else(|| panic!("no guest {name}: {list}"))
}

/// A number given as a JSON number or a string of digits.
fn as_u64(v: &serde_json::Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

#[tokio::test]
async fn demo_clones_migrates_backs_up_and_changes_with_curated_tools() {
    let s = Mcp::start(&[], &["--demo", "--allow-elevated"]).await;

    // The demo's history holds a failed start of its broken VM, found across both nodes.
    let failed = s
        .ok("proxmox_node_task", json!({"errors": true, "since": "24h"}))
        .await;
    let tasks = failed["tasks"].as_array().expect("tasks");
    assert!(
        tasks.iter().any(|t| t["type"] == "qmstart"
            && t["status"]
                .as_str()
                .is_some_and(|x| x.contains("QEMU exited"))),
        "{failed}"
    );
    assert!(tasks.iter().all(|t| t["status"] != "OK"), "{failed}");

    // Clone the template as the next free VMID: a linked clone with the new name.
    let template = vmid_of(&s, "debian13-tmpl").await;
    let next = s.ok("proxmox_get_next_vmid", json!({})).await;
    let newid = as_u64(&next["vmid"]).unwrap_or_else(|| panic!("{next}"));
    let cloned = s
        .ok(
            "proxmox_guest_clone",
            json!({"vmid": template, "newid": newid, "name": "web02"}),
        )
        .await;
    assert_eq!(cloned["status"], "OK", "{cloned}");
    let config = s.ok("proxmox_guest_config", json!({"vmid": newid})).await;
    let text = config.to_string();
    assert!(text.contains("web02"), "{config}");
    assert!(
        text.contains(&format!("base-{template}-disk-0/vm-{newid}-disk-0")),
        "{config}"
    );
    // An existing VMID is refused with PVE's words.
    let e = s
        .err(
            "proxmox_guest_clone",
            json!({"vmid": template, "newid": newid, "name": "again"}),
        )
        .await;
    assert!(
        e.contains(&format!("{newid} already exists on node")),
        "{e}"
    );

    // A container clones too: its name is the new guest's hostname, its disk a full copy.
    let build = vmid_of(&s, "build").await;
    let next = s.ok("proxmox_get_next_vmid", json!({})).await;
    let ctid = as_u64(&next["vmid"]).unwrap_or_else(|| panic!("{next}"));
    assert_ne!(ctid, newid, "{next}");
    let cloned = s
        .ok(
            "proxmox_guest_clone",
            json!({"vmid": build, "newid": ctid, "name": "build2"}),
        )
        .await;
    assert_eq!(cloned["status"], "OK", "{cloned}");
    let config = s.ok("proxmox_guest_config", json!({"vmid": ctid})).await;
    assert_eq!(config["config"]["hostname"], "build2", "{config}");
    assert!(
        config
            .to_string()
            .contains(&format!("local-lvm:vm-{ctid}-disk-0")),
        "{config}"
    );

    // Migrate the stopped Windows VM to the other node; its VMID alone then finds it there.
    let win = vmid_of(&s, "win11").await;
    let before = s.ok("proxmox_guest_list", json!({})).await;
    let from = before["guests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["vmid"] == json!(win))
        .and_then(|g| g["node"].as_str())
        .unwrap()
        .to_string();
    let to = if from == "pve1" { "pve2" } else { "pve1" };
    let moved = s
        .ok("proxmox_guest_migrate", json!({"vmid": win, "target": to}))
        .await;
    assert_eq!(moved["status"], "OK", "{moved}");
    let status = s.ok("proxmox_guest_status", json!({"vmid": win})).await;
    assert_eq!(status["name"], "win11", "{status}");
    let after = s.ok("proxmox_guest_list", json!({})).await;
    assert!(
        after["guests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["vmid"] == json!(win) && g["node"] == to),
        "{after}"
    );
    // A running VM needs `online`, as on PVE.
    let db = vmid_of(&s, "db01").await;
    let e = s
        .err("proxmox_guest_migrate", json!({"vmid": db, "target": from}))
        .await;
    let other = if from == "pve1" { "pve2" } else { "pve1" };
    let e = if e.contains("target is local node") {
        s.err(
            "proxmox_guest_migrate",
            json!({"vmid": db, "target": other}),
        )
        .await
    } else {
        e
    };
    assert!(
        e.contains("can't migrate running VM without --online"),
        "{e}"
    );

    // Back the container up and find the new archive among its backups.
    let ct = vmid_of(&s, "dns").await;
    let backup = s
        .ok(
            "proxmox_guest_backup",
            json!({"vmid": ct, "storage": "local"}),
        )
        .await;
    assert_eq!(backup["status"], "OK", "{backup}");
    let list = s.ok("proxmox_backup_list", json!({"vmid": ct})).await;
    let backups = list["backups"].as_array().expect("backups");
    assert!(backups.iter().all(|b| b["vmid"] == json!(ct)), "{list}");
    let newest = &backups[0];
    let volid = newest["volid"].as_str().unwrap_or_default();
    assert!(
        volid.starts_with(&format!("local:backup/vzdump-lxc-{ct}-")) && volid.ends_with(".tar.zst"),
        "{list}"
    );
    assert!(
        backups.len() >= 2,
        "the seeded backup and the new one: {list}"
    );
    assert!(newest["size"].as_u64().is_some_and(|n| n > 0), "{list}");
    // A storage that does not hold backups is refused.
    let e = s
        .err(
            "proxmox_guest_backup",
            json!({"vmid": ct, "storage": "local-lvm"}),
        )
        .await;
    assert!(e.contains("wrong content type"), "{e}");

    // Storage usage per node.
    let storages = s.ok("proxmox_storage_list", json!({})).await;
    let all = storages["storages"].as_array().expect("storages");
    // local, local-lvm and the shared NFS storage `nas`, on each of the two nodes.
    assert_eq!(all.len(), 6, "{storages}");
    assert!(
        all.iter()
            .any(|x| x["storage"] == "nas" && x["shared"] == json!(true)),
        "{storages}"
    );
    assert!(
        all.iter()
            .all(|x| x["used_bytes"].as_u64().is_some() && x["used_fraction"].is_number()),
        "{storages}"
    );

    // A config change with the digest read just before: memory and a tag.
    let changed = s
        .ok(
            "proxmox_guest_config_update",
            json!({"vmid": newid, "set": {"memory": 4096}, "tags_add": ["demo"]}),
        )
        .await;
    // PVE answers a VM's memory as a property string.
    assert_eq!(
        as_u64(&changed["changes"]["memory"]["new"]),
        Some(4096),
        "{changed}"
    );
    let config = s.ok("proxmox_guest_config", json!({"vmid": newid})).await;
    assert_eq!(as_u64(&config["config"]["memory"]), Some(4096), "{config}");
    assert!(
        config["config"]["tags"]
            .as_str()
            .is_some_and(|t| t.contains("demo")),
        "{config}"
    );
}

/// The tools of the non-default toolsets whose methods the demo answers, through `--toolsets
/// all`: provisioning (template, feature, cloud-init), metrics, bulk (node-wide), disks and NICs,
/// and the guest agent.
#[tokio::test]
async fn demo_answers_the_provisioning_disk_agent_metrics_and_bulk_tools() {
    let s = Mcp::start(&[], &["--demo", "--allow-elevated", "--toolsets", "all"]).await;
    let web = vmid_of(&s, "web01").await;
    let db = vmid_of(&s, "db01").await;
    let win = vmid_of(&s, "win11").await;

    // The guest agent: web01's answers, db01's is enabled but not running.
    let info = s.ok("proxmox_agent_info", json!({"vmid": web})).await;
    assert_eq!(info["hostname"], "web01", "{info}");
    assert_eq!(info["os"], "Debian GNU/Linux 13 (trixie)", "{info}");
    assert!(info["interfaces"].to_string().contains("/24"), "{info}");
    assert_eq!(info["filesystems"][0]["mountpoint"], "/", "{info}");
    let out = s
        .ok(
            "proxmox_agent_exec",
            json!({"vmid": web, "command": ["uname", "-a"]}),
        )
        .await;
    assert_eq!(out["exitcode"], 0, "{out}");
    assert!(
        out["stdout"].as_str().unwrap().starts_with("Linux web01 "),
        "{out}"
    );
    let out = s
        .ok(
            "proxmox_agent_exec",
            json!({"vmid": web, "command": ["sh", "-c", "frobnicate"]}),
        )
        .await;
    assert_eq!(out["exitcode"], 127, "{out}");
    let e = s.err("proxmox_agent_info", json!({"vmid": db})).await;
    assert!(e.contains("QEMU guest agent is not running"), "{e}");

    // Metrics: 70 points summarised; the last memory value is what the status says now.
    let m = s
        .ok(
            "proxmox_guest_metrics",
            json!({"vmid": db, "timeframe": "hour"}),
        )
        .await;
    assert_eq!(m["points"], 70, "{m}");
    let status = s.ok("proxmox_guest_status", json!({"vmid": db})).await;
    assert_eq!(
        as_u64(&m["measures"]["mem"]["last"]),
        as_u64(&status["mem"]),
        "{m} {status}"
    );

    // Disks and NICs of the stopped Windows VM: add, grow, move to the shared storage, detach,
    // destroy the detached volume; a NIC in and out.
    let added = s
        .ok(
            "proxmox_guest_disk_add",
            json!({"vmid": win, "storage": "local-lvm", "size_gb": 4}),
        )
        .await;
    let disk = added["disk"].as_str().unwrap_or_else(|| panic!("{added}"));
    assert_eq!(disk, "scsi1", "{added}");
    let grown = s
        .ok(
            "proxmox_guest_disk_resize",
            json!({"vmid": win, "disk": disk, "grow_gb": 2}),
        )
        .await;
    assert_eq!(grown["size_after"], "6G", "{grown}");
    let moved = s
        .ok(
            "proxmox_guest_disk_move",
            json!({"vmid": win, "disk": disk, "storage": "nas", "delete": true}),
        )
        .await;
    assert!(
        moved["value"]
            .as_str()
            .is_some_and(|v| v.starts_with(&format!("nas:{win}/vm-{win}-disk-"))),
        "{moved}"
    );
    let detached = s
        .ok(
            "proxmox_guest_disk_detach",
            json!({"vmid": win, "disk": disk}),
        )
        .await;
    let unused = detached["unused"]
        .as_str()
        .unwrap_or_else(|| panic!("{detached}"))
        .to_string();
    s.ok(
        "proxmox_guest_disk_detach",
        json!({"vmid": win, "disk": unused, "destroy": true}),
    )
    .await;
    let config = s.ok("proxmox_guest_config", json!({"vmid": win})).await;
    assert!(!config.to_string().contains("unused"), "{config}");
    assert!(!config.to_string().contains("nas:"), "{config}");
    let nic = s
        .ok(
            "proxmox_guest_nic_add",
            json!({"vmid": win, "nic": {"bridge": "vmbr0"}}),
        )
        .await;
    assert_eq!(nic["nic"], "net1", "{nic}");
    s.ok(
        "proxmox_guest_nic_remove",
        json!({"vmid": win, "nic": "net1"}),
    )
    .await;

    // Cloud-init of a clone of the template: a change is pending until the drive is rebuilt;
    // then the clone becomes a template itself, which can be cloned but not snapshotted.
    let template = vmid_of(&s, "debian13-tmpl").await;
    let f = s
        .ok(
            "proxmox_guest_feature",
            json!({"vmid": template, "feature": "clone"}),
        )
        .await;
    assert!(f.to_string().contains("\"hasFeature\":true"), "{f}");
    let next = s.ok("proxmox_get_next_vmid", json!({})).await;
    let ci = as_u64(&next["vmid"]).unwrap_or_else(|| panic!("{next}"));
    let cloned = s
        .ok(
            "proxmox_guest_clone",
            json!({"vmid": template, "newid": ci, "name": "ci01"}),
        )
        .await;
    assert_eq!(cloned["status"], "OK", "{cloned}");
    s.ok(
        "proxmox_guest_config_update",
        json!({"vmid": ci, "set": {"ciuser": "admin"}}),
    )
    .await;
    let values = s.ok("proxmox_cloudinit", json!({"vmid": ci})).await;
    assert!(
        values.to_string().contains("\"pending\":\"admin\""),
        "{values}"
    );
    let dump = s
        .ok(
            "proxmox_cloudinit_dump",
            json!({"vmid": ci, "type": "user"}),
        )
        .await;
    assert!(dump.to_string().contains("user: admin"), "{dump}");
    s.ok("proxmox_cloudinit_regenerate", json!({"vmid": ci}))
        .await;
    let values = s.ok("proxmox_cloudinit", json!({"vmid": ci})).await;
    assert!(!values.to_string().contains("pending"), "{values}");
    let converted = s.ok("proxmox_guest_template", json!({"vmid": ci})).await;
    assert!(converted.to_string().contains("OK"), "{converted}");
    let f = s
        .ok(
            "proxmox_guest_feature",
            json!({"vmid": ci, "feature": "snapshot"}),
        )
        .await;
    assert!(f.to_string().contains("\"hasFeature\":false"), "{f}");
    let e = s.err("proxmox_guest_template", json!({"vmid": ci})).await;
    assert!(e.contains("template to a template"), "{e}");

    // Node-wide: stop and start one container of pve1, then move pve2's guests to pve1.
    let dns = vmid_of(&s, "dns").await;
    let stopped = s
        .ok(
            "proxmox_node_stopall",
            json!({"node": "pve1", "vms": dns.to_string()}),
        )
        .await;
    assert!(stopped.to_string().contains("OK"), "{stopped}");
    let status = s.ok("proxmox_guest_status", json!({"vmid": dns})).await;
    assert_eq!(status["status"], "stopped", "{status}");
    s.ok(
        "proxmox_node_startall",
        json!({"node": "pve1", "vms": dns.to_string(), "force": true}),
    )
    .await;
    let status = s.ok("proxmox_guest_status", json!({"vmid": dns})).await;
    assert_eq!(status["status"], "running", "{status}");
    s.ok(
        "proxmox_node_migrateall",
        json!({"node": "pve2", "target": "pve1"}),
    )
    .await;
    let list = s.ok("proxmox_guest_list", json!({})).await;
    assert!(
        list["guests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["vmid"] == json!(win) && g["node"] == "pve1"),
        "{list}"
    );
}
