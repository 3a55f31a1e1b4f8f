//! The nine everyday jobs of an assistant, done as a new user's assistant would do them: through
//! the default toolsets, with curated tools only (never the generic `proxmox_api_*` ones), each
//! step in at most two calls besides waiting for tasks. The same script runs against fakepve and
//! against the demo cluster (`serve --demo`), each with its own cast of guests.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use std::collections::BTreeMap;

use common::FakePve;
use mcp::{Mcp, text};
use serde_json::{Value, json};

/// A client that counts its calls per job and refuses the generic tools.
struct Assistant {
    mcp: Mcp,
    calls: BTreeMap<&'static str, usize>,
}

impl Assistant {
    async fn ok(&mut self, job: &'static str, tool: &str, args: Value) -> Value {
        self.count(job, tool);
        self.mcp.ok(tool, args).await
    }

    async fn err(&mut self, job: &'static str, tool: &str, args: Value) -> String {
        self.count(job, tool);
        self.mcp.err(tool, args).await
    }

    fn count(&mut self, job: &'static str, tool: &str) {
        assert!(
            !tool.starts_with("proxmox_api_"),
            "{job} needed the generic tool {tool}"
        );
        *self.calls.entry(job).or_default() += 1;
    }
}

/// Who plays which part in the jobs: the same script runs on fakepve and on the demo cluster.
struct Cast {
    /// A VM whose last start failed (job 2).
    broken: u64,
    /// A stopped VM to start (job 3).
    to_start: u64,
    /// A running container to shut down and snapshot (job 4).
    container: u64,
    /// A running VM whose memory change waits for a restart (job 5).
    running_vm: u64,
    /// The container template and the ISO of job 6.
    ostemplate: &'static str,
    iso: &'static str,
    /// The template to clone, the guest to migrate and where, the guest to back up (job 7).
    template: u64,
    migrate: (u64, &'static str),
    backup: u64,
}

/// fakepve with a second node, a failed start of VM 102 and an ISO.
async fn fakepve() -> (FakePve, Mcp, Cast) {
    let pve = FakePve::start().await;
    pve.control(json!({"op": "call", "method": "add_node", "args": ["pve2"]}))
        .await;
    pve.control(json!({"op": "set_vm", "vmid": 102, "start_error": "TASK ERROR: start failed: QEMU exited with code 1"}))
        .await;
    pve.control(json!({"op": "call", "method": "store_file",
                       "args": ["local", "debian-12.iso", 1_048_576, "iso"]}))
        .await;
    let mcp = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    // Earlier, someone tried to start VM 102 and it failed.
    let _ = mcp.call("proxmox_guest_start", json!({"vmid": 102})).await;
    let cast = Cast {
        broken: 102,
        to_start: 101,
        container: 200,
        running_vm: 100,
        ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        iso: "local:iso/debian-12.iso",
        template: 9000,
        migrate: (201, "pve2"),
        backup: 101,
    };
    (pve, mcp, cast)
}

/// The demo cluster as `serve --demo` starts it: its history already holds the broken VM's
/// failed start.
async fn demo() -> (Mcp, Cast) {
    let mcp = Mcp::start(&[], &["--demo", "--allow-elevated"]).await;
    let cast = Cast {
        broken: 104,
        to_start: 102,
        container: 200,
        running_vm: 100,
        ostemplate: "local:vztmpl/debian-13-standard_13.0-1_amd64.tar.zst",
        iso: "local:iso/debian-13.0.0-amd64-netinst.iso",
        template: 103,
        migrate: (201, "pve1"),
        backup: 101,
    };
    (mcp, cast)
}

#[tokio::test]
async fn nine_everyday_jobs_on_fakepve() {
    let (_pve, mcp, cast) = fakepve().await;
    nine_jobs(mcp, &cast).await;
}

#[tokio::test]
async fn nine_everyday_jobs_on_the_demo_cluster() {
    let (mcp, cast) = demo().await;
    nine_jobs(mcp, &cast).await;
}

/// The nine jobs, each step in at most two calls of curated tools of the default list.
async fn nine_jobs(mcp: Mcp, cast: &Cast) {
    // The default toolsets only: no flag chose them.
    let listed: Vec<String> = mcp
        .tools()
        .await
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    let mut a = Assistant {
        mcp,
        calls: BTreeMap::new(),
    };

    // 1. Which guests run, on which node, with how much memory.
    let r = a
        .ok(
            "1 running guests",
            "proxmox_guest_list",
            json!({"status": "running", "fields": ["vmid", "name", "node", "maxmem", "mem"]}),
        )
        .await;
    let guests = r["guests"].as_array().unwrap();
    assert!(!guests.is_empty(), "{r}");
    assert!(
        guests
            .iter()
            .all(|g| g["node"].is_string() && g.get("maxmem").is_some()),
        "{r}"
    );

    // 2. Why VM 102 will not start: its last failed start and the log.
    let r = a
        .ok(
            "2 why no start",
            "proxmox_node_task",
            json!({"vmid": cast.broken, "errors": true, "limit": 1}),
        )
        .await;
    let upid = r["tasks"][0]["upid"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    let log = a
        .ok(
            "2 why no start",
            "proxmox_task_log",
            json!({"upid": upid, "tail": 10}),
        )
        .await;
    assert!(log["lines"].to_string().contains("QEMU exited"), "{log}");

    // 3. Start a VM and wait until it runs.
    let r = a
        .ok(
            "3 start",
            "proxmox_guest_start",
            json!({"vmid": cast.to_start, "wait": 60}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");

    // 4. Shut a container down, snapshot it, list, roll back, delete the snapshot.
    for (step, tool, args) in [
        (
            "4a shutdown",
            "proxmox_guest_shutdown",
            json!({"vmid": cast.container, "wait": 60}),
        ),
        (
            "4b snapshot",
            "proxmox_guest_snapshot_create",
            json!({"vmid": cast.container, "snapname": "before"}),
        ),
        (
            "4c list",
            "proxmox_guest_snapshot_list",
            json!({"vmid": cast.container}),
        ),
        (
            "4d rollback",
            "proxmox_guest_snapshot_rollback",
            json!({"vmid": cast.container, "snapname": "before"}),
        ),
        (
            "4e delete",
            "proxmox_guest_snapshot_delete",
            json!({"vmid": cast.container, "snapname": "before"}),
        ),
    ] {
        a.ok(step, tool, args).await;
    }

    // 5. Set a VM's memory and add a tag, then show the pending change.
    let r = a
        .ok(
            "5 change",
            "proxmox_guest_config_update",
            json!({"vmid": cast.running_vm, "set": {"memory": 8192}, "tags_add": ["reviewed"]}),
        )
        .await;
    assert_eq!(r["changes"]["memory"]["pending"], true, "{r}");
    let cfg = a
        .ok(
            "5 change",
            "proxmox_guest_config",
            json!({"vmid": cast.running_vm}),
        )
        .await;
    assert!(cfg["pending"].get("memory").is_some(), "{cfg}");

    // 6. A container from a template and a VM with a disk and a NIC.
    a.ok(
        "6a create container",
        "proxmox_create_lxc",
        json!({"name": "ct-new", "ostemplate": cast.ostemplate,
               "disks": [{"storage": "local-lvm", "size_gb": 8}], "nics": [{"bridge": "vmbr0", "ip": "dhcp"}]}),
    )
    .await;
    a.ok(
        "6b create VM",
        "proxmox_create_vm",
        json!({"name": "vm-new", "memory": 2048, "disks": [{"storage": "local-lvm", "size_gb": 16}],
               "nics": [{"bridge": "vmbr0"}], "iso": cast.iso}),
    )
    .await;

    // 7. Clone a VM, migrate a guest, back a guest up, list its backups.
    a.ok(
        "7a clone",
        "proxmox_guest_clone",
        json!({"vmid": cast.template, "name": "from-template"}),
    )
    .await;
    a.ok(
        "7b migrate",
        "proxmox_guest_migrate",
        json!({"vmid": cast.migrate.0, "target": cast.migrate.1}),
    )
    .await;
    a.ok(
        "7c back up",
        "proxmox_guest_backup",
        json!({"vmid": cast.backup, "storage": "local"}),
    )
    .await;
    a.ok(
        "7d backups",
        "proxmox_backup_list",
        json!({"vmid": cast.backup}),
    )
    .await;

    // 8. Every node's CPU, memory and disk; every storage's usage; the tasks that failed today.
    let nodes = a.ok("8a nodes", "proxmox_node_list", json!({})).await;
    assert!(nodes["nodes"][0].get("cpu").is_some(), "{nodes}");
    let st = a.ok("8b storage", "proxmox_storage_list", json!({})).await;
    assert!(
        st["storages"][0].get("used_fraction").is_some() || st["total"].as_u64() > Some(0),
        "{st}"
    );
    let failed = a
        .ok(
            "8c failed today",
            "proxmox_node_task",
            json!({"errors": true, "since": "24h"}),
        )
        .await;
    assert!(!failed["tasks"].as_array().unwrap().is_empty(), "{failed}");

    // 9. A VMID that does not exist, answered with the next step.
    let e = a
        .err(
            "9a no such VMID",
            "proxmox_guest_status",
            json!({"vmid": 999}),
        )
        .await;
    assert!(e.contains("proxmox_guest_list"), "{e}");

    for (job, n) in &a.calls {
        assert!(*n <= 2, "{job} took {n} calls");
    }
    // Every tool used is in the default list.
    for tool in [
        "proxmox_guest_config_update",
        "proxmox_create_vm",
        "proxmox_create_lxc",
        "proxmox_guest_clone",
        "proxmox_guest_migrate",
        "proxmox_guest_backup",
        "proxmox_backup_list",
        "proxmox_storage_list",
        "proxmox_guest_snapshot_rollback",
    ] {
        assert!(
            listed.iter().any(|t| t == tool),
            "{tool} is not in the default list"
        );
    }
}

/// Job 9, the refusals: a write without elevation, a write the token may not do; each says the
/// next step and sends nothing.
#[tokio::test]
async fn refusals_name_the_next_step_and_send_nothing() {
    let pve = FakePve::start().await;
    let unelevated = Mcp::alice(&pve, &[], &[]).await;
    pve.clear_requests().await;
    let e = unelevated
        .err("proxmox_guest_start", json!({"vmid": 101}))
        .await;
    assert!(
        e.contains("PROXMOX_ALLOW_ELEVATED") && e.contains("dry_run"),
        "{e}"
    );
    assert!(pve.requests().await.is_empty());
    // bob's token may only look.
    let mut vars = mcp::env(&pve);
    vars.retain(|(k, _)| !k.starts_with("PROXMOX_TOKEN") && k != "PROXMOX_USER");
    vars.push((
        "PROXMOX_TOKEN".into(),
        pve.bob()
            .token_header()
            .trim_start_matches("PVEAPIToken=")
            .to_string(),
    ));
    vars.push(("PROXMOX_ALLOW_ELEVATED".into(), "true".into()));
    let bob = Mcp::start(&vars, &[]).await;
    let r = bob.call("proxmox_guest_start", json!({"vmid": 101})).await;
    let e = text(&r);
    assert_eq!(r.is_error, Some(true), "{e}");
    assert!(e.contains("VM.PowerMgmt") && e.contains("/vms/101"), "{e}");
    assert!(
        pve.requests().await.iter().all(|q| q["method"] == "GET"),
        "a refused write was sent"
    );
}

/// Job 9's refusals on the demo cluster: a write without elevation, and a write its token may not
/// do (the template is clone-only for it, as PVETemplateUser on `/vms/103`); each names the next
/// step and says nothing was sent.
#[tokio::test]
async fn refusals_name_the_next_step_on_the_demo_cluster() {
    let unelevated = Mcp::start(&[], &["--demo"]).await;
    let e = unelevated
        .err("proxmox_guest_start", json!({"vmid": 102}))
        .await;
    assert!(
        e.contains("PROXMOX_ALLOW_ELEVATED") && e.contains("dry_run"),
        "{e}"
    );
    let elevated = Mcp::start(&[], &["--demo", "--allow-elevated"]).await;
    let r = elevated
        .call("proxmox_guest_start", json!({"vmid": 103}))
        .await;
    let e = text(&r);
    assert_eq!(r.is_error, Some(true), "{e}");
    assert!(e.contains("VM.PowerMgmt") && e.contains("/vms/103"), "{e}");
    assert!(e.contains("Nothing was sent"), "{e}");
    // The template can still be cloned by the same token.
    let r = elevated
        .ok(
            "proxmox_guest_clone",
            json!({"vmid": 103, "name": "from-template"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
}
