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

/// Everyday job 5: set a VM's memory and add a tag in one call; the result shows each change and
/// whether it waits for a restart; a concurrent change is refused, not overwritten.
#[tokio::test]
async fn a_config_change_with_the_digest_read_just_before() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    let before = s.ok("proxmox_guest_config", json!({"vmid": 100})).await;
    let old_tags = before["config"]["tags"].as_str().unwrap_or("").to_string();
    let r = s
        .ok(
            "proxmox_guest_config_update",
            json!({"vmid": 100, "set": {"memory": 6144}, "tags_add": ["mcp-test"]}),
        )
        .await;
    let mem = &r["changes"]["memory"];
    assert_eq!(mem["old"], before["config"]["memory"], "{r}");
    assert_eq!(mem["new"].to_string().trim_matches('"'), "6144", "{r}");
    let tags = &r["changes"]["tags"];
    assert!(tags["new"].as_str().unwrap().contains("mcp-test"), "{r}");
    for t in old_tags.split([';', ',', ' ']).filter(|t| !t.is_empty()) {
        assert!(
            tags["new"].as_str().unwrap().contains(t),
            "tag {t} was lost: {r}"
        );
    }
    // VM 100 runs: the memory change waits for a restart (the pending list shows it), the tags
    // apply at once.
    assert_eq!(mem["pending"], true, "{r}");
    assert_eq!(tags["pending"], false, "{r}");
    assert!(r["next"].as_str().unwrap().contains("restart"), "{r}");
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 100})).await;
    assert!(cfg["pending"].get("memory").is_some(), "{cfg}");
    // The PUT carried the digest read just before.
    let put = pve
        .requests()
        .await
        .into_iter()
        .rfind(|q| q["method"] == "PUT")
        .expect("a PUT");
    assert!(put["body"].as_str().unwrap().contains("digest="), "{put}");
    // Removing the tag again leaves the others.
    let r = s
        .ok(
            "proxmox_guest_config_update",
            json!({"vmid": 100, "tags_remove": ["mcp-test"]}),
        )
        .await;
    assert!(
        !r["changes"]["tags"]["new"].to_string().contains("mcp-test"),
        "{r}"
    );

    // Someone changed the configuration after it was read: PVE refuses the stale digest, and
    // the error says to read it again.
    let current = s.ok("proxmox_guest_config", json!({"vmid": 101})).await;
    let mut stale = current["config"].clone();
    stale["digest"] = json!("0000000000000000000000000000000000000000");
    pve.control(
        json!({"op": "script", "method": "GET", "path": "/nodes/pve1/qemu/101/config",
                       "json": stale, "times": 1}),
    )
    .await;
    let e = s
        .err(
            "proxmox_guest_config_update",
            json!({"vmid": 101, "set": {"cores": 2}}),
        )
        .await;
    assert!(
        e.contains("digest") && e.contains("proxmox_guest_config"),
        "{e}"
    );
    // Keys the tool sets itself are refused in `set`.
    let e = s
        .err(
            "proxmox_guest_config_update",
            json!({"vmid": 101, "set": {"digest": "x"}}),
        )
        .await;
    assert!(e.contains("digest"), "{e}");
    // A dry run shows the request with the digest and the values it would replace.
    let r = s
        .ok(
            "proxmox_guest_config_update",
            json!({"vmid": 101, "set": {"memory": 2048}, "dry_run": true}),
        )
        .await;
    assert!(r["request"]["form"]["digest"].is_string(), "{r}");
    assert!(r["would_replace"].get("memory").is_some(), "{r}");
}

/// Everyday jobs 2 and 8: the tasks that failed, on every node at once, and the log of a VM's
/// last failed start, read-only.
#[tokio::test]
async fn failed_tasks_of_every_node_and_the_log_of_a_failed_start() {
    let pve = FakePve::start().await;
    pve.control(json!({"op": "call", "method": "add_node", "args": ["pve2"]}))
        .await;
    pve.control(json!({"op": "set_vm", "vmid": 102, "start_error": "TASK ERROR: start failed: QEMU exited with code 1"}))
        .await;
    let rw = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    let e = rw.err("proxmox_guest_start", json!({"vmid": 102})).await;
    assert!(e.contains("failed"), "{e}");
    rw.ok("proxmox_guest_start", json!({"vmid": 101, "wait": 30}))
        .await;
    let ro = Mcp::alice(&pve, &[], &["--read-only"]).await;
    pve.clear_requests().await;
    let r = ro
        .ok("proxmox_node_task", json!({"errors": true, "since": "24h"}))
        .await;
    assert_eq!(r["nodes"], json!(["pve1", "pve2"]), "{r}");
    let tasks = r["tasks"].as_array().unwrap();
    assert!(!tasks.is_empty(), "{r}");
    assert!(
        tasks.iter().all(|t| t["status"] != "OK"),
        "a task that ended well is listed: {r}"
    );
    let failed = tasks
        .iter()
        .find(|t| t["id"] == "102")
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        failed["started"].as_str().unwrap().ends_with('Z'),
        "{failed}"
    );
    // Both nodes were asked, with the filters PVE knows.
    let asked: Vec<String> = pve
        .requests()
        .await
        .iter()
        .filter(|q| q["path"].as_str().unwrap_or("").ends_with("/tasks"))
        .map(|q| format!("{} {}", q["path"], q["query_string"]))
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|q| q.contains("errors=1") && q.contains("since=")),
        "{asked:?}"
    );
    // The log of that failed start.
    let log = ro
        .ok(
            "proxmox_task_log",
            json!({"upid": failed["upid"], "tail": 5}),
        )
        .await;
    let lines = log["lines"].to_string();
    assert!(lines.contains("TASK ERROR"), "{log}");
    let e = ro
        .err("proxmox_node_task", json!({"since": "yesterday"}))
        .await;
    assert!(e.contains("24h"), "{e}");
}

/// Everyday job 8: every node's CPU, memory and disk, and every storage's usage.
#[tokio::test]
async fn every_storage_with_its_usage_in_one_call() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[], &["--read-only"]).await;
    pve.clear_requests().await;
    let r = s.ok("proxmox_storage_list", json!({})).await;
    let list = r["storages"].as_array().unwrap();
    assert!(!list.is_empty(), "{r}");
    let with_usage = list
        .iter()
        .find(|st| st["total_bytes"].as_u64().is_some_and(|t| t > 0))
        .unwrap_or_else(|| panic!("no storage with a size: {r}"));
    let (used, total) = (
        with_usage["used_bytes"].as_u64().unwrap(),
        with_usage["total_bytes"].as_u64().unwrap(),
    );
    let fraction = with_usage["used_fraction"].as_f64().unwrap();
    assert!(
        (fraction - used as f64 / total as f64).abs() < 0.001,
        "{with_usage}"
    );
    assert_eq!(
        pve.requests().await.len(),
        1,
        "one request for every storage"
    );
    let isos = s
        .ok("proxmox_storage_list", json!({"content": "iso"}))
        .await;
    for st in isos["storages"].as_array().unwrap() {
        assert!(st["content"].as_str().unwrap().contains("iso"), "{st}");
    }
    assert!(
        isos["total"].as_u64().unwrap() < r["total"].as_u64().unwrap(),
        "{isos}"
    );
    let e = s
        .err("proxmox_storage_list", json!({"content": "movies"}))
        .await;
    assert!(e.contains("vztmpl"), "{e}");
}

/// Everyday job 7: clone a VM, migrate a guest to another node, back a guest up, list its
/// backups; each one call, by VMID.
#[tokio::test]
async fn clone_migrate_back_up_and_list_backups() {
    let pve = FakePve::start().await;
    pve.control(json!({"op": "call", "method": "add_node", "args": ["pve2"]}))
        .await;
    let s = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    let next = s.ok("proxmox_get_next_vmid", json!({})).await["vmid"]
        .as_u64()
        .unwrap();
    let r = s
        .ok(
            "proxmox_guest_clone",
            json!({"vmid": 9000, "name": "web-clone", "full": true}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let clone = pve
        .requests()
        .await
        .into_iter()
        .find(|q| q["path"] == "/api2/json/nodes/pve1/qemu/9000/clone")
        .expect("the clone was sent");
    let body = clone["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("newid={next}")) && body.contains("name=web-clone"),
        "{body}"
    );
    // A container's clone takes the name as its hostname.
    s.ok(
        "proxmox_guest_clone",
        json!({"vmid": 201, "name": "cache-2", "newid": 1201}),
    )
    .await;
    let ct = pve
        .requests()
        .await
        .into_iter()
        .find(|q| q["path"] == "/api2/json/nodes/pve1/lxc/201/clone")
        .expect("the container clone was sent");
    assert!(
        ct["body"].as_str().unwrap().contains("hostname=cache-2"),
        "{ct}"
    );

    let r = s
        .ok(
            "proxmox_guest_migrate",
            json!({"vmid": 201, "target": "pve2"}),
        )
        .await;
    assert!(r["upid"].is_string(), "{r}");
    assert!(
        pve.requests()
            .await
            .iter()
            .any(|q| q["path"] == "/api2/json/nodes/pve1/lxc/201/migrate"
                && q["body"].as_str().unwrap_or("").contains("target=pve2")),
        "the migration was not sent"
    );

    let r = s
        .ok(
            "proxmox_guest_backup",
            json!({"vmid": 101, "mode": "snapshot", "storage": "local"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let dump = pve
        .requests()
        .await
        .into_iter()
        .find(|q| q["path"] == "/api2/json/nodes/pve1/vzdump")
        .expect("vzdump was sent");
    assert!(
        dump["body"].as_str().unwrap().contains("vmid=101"),
        "{dump}"
    );
    let list = s.ok("proxmox_backup_list", json!({"vmid": 101})).await;
    let backups = list["backups"].as_array().unwrap();
    assert!(
        backups.iter().all(|b| b["vmid"] == 101),
        "another guest's backup is listed: {list}"
    );
    assert!(!list["storages"].as_array().unwrap().is_empty(), "{list}");
    if let Some(b) = backups.first() {
        assert!(b["created"].as_str().unwrap().ends_with('Z'), "{b}");
    }
}

#[tokio::test]
async fn the_instructions_say_whether_writes_are_on() {
    let pve = FakePve::start().await;
    for (vars, args, says) in [
        (vec![], vec![], "writes refused"),
        (
            vec![("PROXMOX_ALLOW_ELEVATED", "true")],
            vec![],
            "writes allowed",
        ),
        (vec![], vec!["--read-only"], "read-only"),
    ] {
        let s = Mcp::alice(&pve, &vars, &args).await;
        let info = s.client.peer_info().expect("initialized");
        let text = info.instructions.clone().unwrap_or_default();
        assert!(text.contains(&format!("This server: {says}")), "{text}");
        assert!(text.contains("dry_run"), "{text}");
    }
}

/// Everyday job 6: a container from a template and a VM with a disk and a NIC, one call each;
/// disks as {storage, size_gb}, NICs as objects, the next free VMID; what PVE got is echoed.
#[tokio::test]
async fn create_a_container_and_a_vm_in_one_call_each() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    let templates = s
        .ok("proxmox_storage_list", json!({"content": "vztmpl"}))
        .await;
    let store = templates["storages"][0]["storage"]
        .as_str()
        .unwrap_or("local")
        .to_string();
    let next = s.ok("proxmox_get_next_vmid", json!({})).await["vmid"]
        .as_u64()
        .unwrap();
    let ct = s
        .ok(
            "proxmox_create_lxc",
            json!({"name": "web2", "ostemplate": format!("{store}:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
                   "cores": 2, "memory": 1024,
                   "disks": [{"storage": "local-lvm", "size_gb": 8}],
                   "nics": [{"bridge": "vmbr0", "ip": "dhcp"}],
                   "password": "Create-Canary-9", "wait": 60}),
        )
        .await;
    assert_eq!(ct["status"], "OK", "{ct}");
    assert_eq!(ct["vmid"], next, "{ct}");
    assert_eq!(ct["config"]["rootfs"], "local-lvm:8", "{ct}");
    assert_eq!(
        ct["config"]["net0"], "name=eth0,bridge=vmbr0,ip=dhcp",
        "{ct}"
    );
    assert!(!ct.to_string().contains("Create-Canary-9"));
    let post = pve
        .requests()
        .await
        .into_iter()
        .find(|q| q["method"] == "POST" && q["path"] == "/api2/json/nodes/pve1/lxc")
        .expect("the container was created");
    let body = post["body"].as_str().unwrap();
    assert!(
        body.contains("hostname=web2") && body.contains(&format!("vmid={next}")),
        "{body}"
    );
    // It exists now, found by VMID alone.
    let st = s.ok("proxmox_guest_status", json!({"vmid": next})).await;
    assert!(
        st.to_string().contains("web2") || st["status"].is_string(),
        "{st}"
    );

    pve.control(json!({"op": "call", "method": "store_file",
                       "args": ["local", "debian-12.iso", 1_048_576, "iso"]}))
        .await;
    let vm = s
        .ok(
            "proxmox_create_vm",
            json!({"name": "app1", "cores": 2, "memory": 2048, "ostype": "l26",
                   "disks": [{"storage": "local-lvm", "size_gb": 32}],
                   "nics": [{"bridge": "vmbr0", "tag": 30}],
                   "iso": "local:iso/debian-12.iso", "wait": 60}),
        )
        .await;
    assert_eq!(vm["status"], "OK", "{vm}");
    assert_eq!(vm["config"]["scsi0"], "local-lvm:32", "{vm}");
    assert!(
        vm["config"]["net0"].as_str().unwrap().starts_with("virtio"),
        "{vm}"
    );
    assert!(
        vm["config"]["net0"].as_str().unwrap().contains("tag=30"),
        "{vm}"
    );
    assert_eq!(
        vm["config"]["ide2"], "local:iso/debian-12.iso,media=cdrom",
        "{vm}"
    );
    // A disk without a size is refused before anything is sent.
    pve.clear_requests().await;
    let e = s
        .err(
            "proxmox_create_vm",
            json!({"name": "bad", "disks": [{"storage": "local-lvm"}]}),
        )
        .await;
    assert!(e.contains("size_gb"), "{e}");
    let e = s
        .err(
            "proxmox_create_vm",
            json!({"name": "bad", "nics": [{"bridge": "vmbr0", "tag": 5000}]}),
        )
        .await;
    assert!(e.contains("net0") && e.contains("tag"), "{e}");
    assert!(
        pve.requests().await.iter().all(|q| q["method"] == "GET"),
        "a refused create sent a write"
    );
}

/// The guest agent: what a VM says about itself, a command waited for with its output, and an
/// agent that does not answer explained. The `agent` toolset is not in the default list.
#[tokio::test]
async fn the_guest_agent_reports_and_runs_a_command() {
    let pve = FakePve::start().await;
    pve.control(json!({"op": "set_vm", "vmid": 100, "agent": {
        "exec": {"df -h /": {"exitcode": 0, "out-data": "Filesystem Size\n/dev/sda1 10G\n", "err-data": ""}}
    }}))
    .await;
    let default = Mcp::alice(&pve, &[], &[]).await;
    assert!(
        !default
            .tools()
            .await
            .iter()
            .any(|t| t.name.starts_with("proxmox_agent_")),
        "the agent toolset is on by default"
    );
    let s = Mcp::alice(
        &pve,
        &[("PROXMOX_ALLOW_ELEVATED", "true")],
        &["--toolsets", "guests,agent"],
    )
    .await;
    let r = s.ok("proxmox_agent_info", json!({"vmid": 100})).await;
    assert!(r["os"].as_str().unwrap().contains("Debian"), "{r}");
    assert_eq!(r["hostname"], "web", "{r}");
    let eth0 = r["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "eth0")
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(eth0["ips"], json!(["192.0.2.10/24"]), "{r}");
    assert!(
        r["filesystems"][0]["total_bytes"].as_u64().unwrap() > 0,
        "{r}"
    );

    let r = s
        .ok(
            "proxmox_agent_exec",
            json!({"vmid": 100, "command": ["df", "-h", "/"], "timeout": 10}),
        )
        .await;
    assert_eq!(r["exitcode"], 0, "{r}");
    assert!(r["stdout"].as_str().unwrap().contains("/dev/sda1"), "{r}");
    // Running a command in a guest is asked of the person first.
    assert!(
        s.asked().iter().any(|q| q.contains("VM 100 \"web\"")),
        "{:?}",
        s.asked()
    );
    let sent = pve
        .requests()
        .await
        .into_iter()
        .find(|q| q["method"] == "POST" && q["path"] == "/api2/json/nodes/pve1/qemu/100/agent/exec")
        .expect("exec was sent");
    let body = sent["body"].as_str().unwrap();
    assert!(
        body.contains("command=df") && body.contains("command=-h"),
        "{body}"
    );

    // VM 101 is stopped: its agent does not answer, and the error says how to get one.
    let e = s.err("proxmox_agent_info", json!({"vmid": 101})).await;
    assert!(
        e.contains("qemu-guest-agent") && e.contains("\"agent\": 1"),
        "{e}"
    );
    let e = s.err("proxmox_agent_info", json!({"vmid": 200})).await;
    assert!(e.contains("container"), "{e}");
}

/// A node's logs and services (toolset `system`, not in the default list); a node-level tool
/// on a cluster of one node needs no `node`.
#[tokio::test]
async fn a_nodes_logs_and_services() {
    let pve = FakePve::start().await;
    // Reading logs and running services take more than alice's VM rights.
    for who in ["alice@pve", "alice@pve!ci"] {
        pve.control(json!({"op": "grant", "id": who, "path": "/nodes",
                           "privs": ["Sys.Syslog", "Sys.Modify", "Sys.Audit"]}))
            .await;
    }
    let s = Mcp::alice(
        &pve,
        &[("PROXMOX_ALLOW_ELEVATED", "true")],
        &["--toolsets", "nodes,system"],
    )
    .await;
    let status = s.ok("proxmox_node_status", json!({})).await;
    assert!(status.is_object(), "{status}");
    pve.clear_requests().await;
    let log = s
        .ok(
            "proxmox_node_log",
            json!({"lines": 5, "service": "pveproxy", "since": "24h"}),
        )
        .await;
    assert_eq!(log["node"], "pve1", "{log}");
    assert!(log["lines"].as_array().unwrap().len() <= 5, "{log}");
    let asked: Vec<String> = pve
        .requests()
        .await
        .iter()
        .filter(|q| q["path"].as_str().unwrap_or("").ends_with("/syslog"))
        .map(|q| q["query_string"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        asked.last().is_some_and(|q| q.contains("limit=5")
            && q.contains("service=pveproxy")
            && q.contains("since=")),
        "{asked:?}"
    );
    let journal = s
        .ok("proxmox_node_log", json!({"source": "journal", "lines": 3}))
        .await;
    assert_eq!(journal["source"], "journal", "{journal}");
    assert!(
        pve.requests()
            .await
            .iter()
            .any(|q| q["path"].as_str().unwrap_or("").ends_with("/journal")
                && q["query_string"]
                    .as_str()
                    .unwrap_or("")
                    .contains("lastentries=3")),
        "the journal was not asked for its last entries"
    );
    let services = s.ok("proxmox_node_service_list", json!({})).await;
    assert!(
        !services["services"].as_array().unwrap().is_empty(),
        "{services}"
    );
    let r = s
        .ok(
            "proxmox_node_service_restart",
            json!({"service": "pveproxy", "wait": 30}),
        )
        .await;
    assert!(r["upid"].is_string() || r["status"].is_string(), "{r}");
    assert!(
        pve.requests().await.iter().any(|q| q["method"] == "POST"
            && q["path"] == "/api2/json/nodes/pve1/services/pveproxy/restart"),
        "the restart was not sent"
    );
    // Stopping a service interrupts it: the person is asked.
    s.ok(
        "proxmox_node_service_stop",
        json!({"service": "cron", "wait": 30}),
    )
    .await;
    assert!(
        s.asked().iter().any(|q| q.contains("services/cron/stop")),
        "{:?}",
        s.asked()
    );
    let e = s
        .err("proxmox_node_service_start", json!({"service": "nginx"}))
        .await;
    assert!(
        e.contains("pveproxy"),
        "unknown services list the known ones: {e}"
    );
}

/// Bulk actions (toolset `bulk`): a dry run lists who would be touched and sends nothing; a
/// destructive one asks the person once for the whole list; each guest gets a result line.
#[tokio::test]
async fn bulk_actions_by_selector() {
    let pve = FakePve::start().await;
    let mut vars = mcp::env(&pve);
    vars.push(("PROXMOX_ALLOW_ELEVATED".into(), "true".into()));
    let s = Mcp::start_answering(&vars, &["--toolsets", "bulk"], mcp::Answer::Accept).await;
    pve.clear_requests().await;
    let r = s
        .ok(
            "proxmox_bulk_start",
            json!({"type": "qemu", "dry_run": true}),
        )
        .await;
    assert_eq!(r["dry_run"], true, "{r}");
    let would: Vec<u64> = r["guests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["result"] == "would be acted on")
        .filter_map(|g| g["vmid"].as_u64())
        .collect();
    // 100 runs already and 9000 is a template: 101 and 102 would start.
    assert_eq!(would, vec![101, 102], "{r}");
    assert!(
        pve.requests().await.iter().all(|q| q["method"] == "GET"),
        "a dry run sent a write"
    );
    let e = s.err("proxmox_bulk_stop", json!({})).await;
    assert!(e.contains("selector"), "{e}");

    let r = s
        .ok(
            "proxmox_bulk_start",
            json!({"vmids": [101, 201], "wait": 60}),
        )
        .await;
    assert_eq!(r["acted_on"], 2, "{r}");
    assert_eq!(r["ok"], 2, "{r}");
    assert!(
        s.asked().is_empty(),
        "a start asked the person: {:?}",
        s.asked()
    );

    // A stop of three guests: one question naming all of them.
    let r = s
        .ok(
            "proxmox_bulk_stop",
            json!({"vmids": [100, 101, 201], "wait": 60}),
        )
        .await;
    assert_eq!(r["acted_on"], 3, "{r}");
    let asked = s.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].contains("3 guests")
            && asked[0].contains("VM 100 \"web\"")
            && asked[0].contains("container 201"),
        "{asked:?}"
    );
    let stops = pve
        .requests()
        .await
        .iter()
        .filter(|q| {
            q["method"] == "POST" && q["path"].as_str().unwrap_or("").ends_with("/status/stop")
        })
        .count();
    assert_eq!(stops, 3);

    // Declined: nothing is stopped.
    let no = Mcp::start_answering(&vars, &["--toolsets", "bulk"], mcp::Answer::Decline).await;
    no.ok("proxmox_bulk_start", json!({"vmids": [100], "wait": 60}))
        .await;
    pve.clear_requests().await;
    let e = no
        .err("proxmox_bulk_shutdown", json!({"vmids": [100]}))
        .await;
    assert!(e.contains("did not confirm"), "{e}");
    assert!(pve.requests().await.iter().all(|q| q["method"] == "GET"));
}

/// The last request of `method` whose path ends with `end`, as fakepve logged it.
async fn last_request(pve: &FakePve, method: &str, end: &str) -> Option<Value> {
    pve.requests()
        .await
        .into_iter()
        .rfind(|q| q["method"] == method && q["path"].as_str().is_some_and(|p| p.ends_with(end)))
}

fn body(q: &Value) -> String {
    q["body"].as_str().unwrap_or("").replace("%2B", "+")
}

/// The disk tools are a toolset of their own, outside the default list.
async fn disks_session(pve: &FakePve) -> Mcp {
    Mcp::alice(
        pve,
        &[("PROXMOX_ALLOW_ELEVATED", "true")],
        &["--toolsets", "guests,disks"],
    )
    .await
}

#[tokio::test]
async fn disk_resize_grows_and_refuses_a_shrink_before_sending() {
    let pve = FakePve::start().await;
    let default = Mcp::alice(&pve, &[], &[]).await;
    assert!(
        !default
            .tools()
            .await
            .iter()
            .any(|t| t.name.starts_with("proxmox_guest_disk_")),
        "the disk tools are not in the default list"
    );
    let s = disks_session(&pve).await;
    // A shrink is refused with the current size; nothing is sent.
    let e = s
        .err(
            "proxmox_guest_disk_resize",
            json!({"vmid": 101, "disk": "scsi1", "size": "100G"}),
        )
        .await;
    assert!(e.contains("200G") && e.contains("cannot shrink"), "{e}");
    assert!(last_request(&pve, "PUT", "/resize").await.is_none());
    // A disk that does not exist: the guest's disks are listed.
    let e = s
        .err(
            "proxmox_guest_disk_resize",
            json!({"vmid": 101, "disk": "scsi7", "grow_gb": 1}),
        )
        .await;
    assert!(e.contains("scsi0 (") && e.contains("scsi1 ("), "{e}");
    // `grow_gb` is PVE's `+NG`, sent with the digest.
    let r = s
        .ok(
            "proxmox_guest_disk_resize",
            json!({"vmid": 101, "disk": "scsi1", "grow_gb": 10}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    assert_eq!(r["size_after"], "210G", "{r}");
    let put = last_request(&pve, "PUT", "/nodes/pve1/qemu/101/resize")
        .await
        .expect("the resize");
    let b = body(&put);
    assert!(
        b.contains("disk=scsi1") && b.contains("size=+10G") && b.contains("digest="),
        "{put}"
    );
    // A container's mount point grows in fakepve's state.
    let r = s
        .ok(
            "proxmox_guest_disk_resize",
            json!({"vmid": 201, "disk": "rootfs", "size": "+2G"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 201})).await;
    assert!(
        cfg["config"]["rootfs"]
            .as_str()
            .unwrap()
            .contains("size=6G"),
        "{cfg}"
    );
}

#[tokio::test]
async fn disk_move_takes_disk_for_vms_and_containers() {
    let pve = FakePve::start().await;
    let s = disks_session(&pve).await;
    let r = s
        .ok(
            "proxmox_guest_disk_move",
            json!({"vmid": 101, "disk": "scsi1", "storage": "local", "delete": true}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let post = last_request(&pve, "POST", "/nodes/pve1/qemu/101/move_disk")
        .await
        .expect("move_disk");
    let b = body(&post);
    assert!(
        b.contains("disk=scsi1") && b.contains("storage=local") && b.contains("delete=1"),
        "{post}"
    );
    // A container's `disk` is sent as `volume`.
    let r = s
        .ok(
            "proxmox_guest_disk_move",
            json!({"vmid": 201, "disk": "rootfs", "storage": "local"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let post = last_request(&pve, "POST", "/nodes/pve1/lxc/201/move_volume")
        .await
        .expect("move_volume");
    let b = body(&post);
    assert!(
        b.contains("volume=rootfs") && b.contains("storage=local") && !b.contains("disk="),
        "{post}"
    );
    let e = s
        .err(
            "proxmox_guest_disk_move",
            json!({"vmid": 201, "disk": "mp4", "storage": "local"}),
        )
        .await;
    assert!(e.contains("rootfs ("), "{e}");
}

#[tokio::test]
async fn disk_add_and_detach_with_the_digest() {
    let pve = FakePve::start().await;
    let s = disks_session(&pve).await;
    // A VM's disk at the next free scsiN, with the format's keys.
    let r = s
        .ok(
            "proxmox_guest_disk_add",
            json!({"vmid": 101, "storage": "local-lvm", "size_gb": 16,
                   "options": {"ssd": true, "iothread": true, "discard": "on"}}),
        )
        .await;
    assert_eq!(r["disk"], "scsi2", "{r}");
    let put = last_request(&pve, "PUT", "/nodes/pve1/qemu/101/config")
        .await
        .expect("the config change");
    let b = body(&put)
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%3D", "=");
    assert!(
        b.contains("scsi2=local-lvm:16") && b.contains("ssd=1") && b.contains("digest="),
        "{put}"
    );
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 101})).await;
    assert!(cfg["config"]["scsi2"].is_string(), "{cfg}");
    // Detaching a VM's disk: `delete` with the digest.
    let r = s
        .ok(
            "proxmox_guest_disk_detach",
            json!({"vmid": 101, "disk": "scsi1"}),
        )
        .await;
    assert_eq!(r["disk"], "scsi1", "{r}");
    let put = last_request(&pve, "PUT", "/nodes/pve1/qemu/101/config")
        .await
        .unwrap();
    let b = body(&put);
    assert!(b.contains("delete=scsi1") && b.contains("digest="), "{put}");
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 101})).await;
    assert!(cfg["config"].get("scsi1").is_none(), "{cfg}");
    // Deleting a VM's disk for good: `unlink` with force, confirmed by the person.
    s.ok(
        "proxmox_guest_disk_detach",
        json!({"vmid": 102, "disk": "scsi0", "destroy": true}),
    )
    .await;
    let put = last_request(&pve, "PUT", "/nodes/pve1/qemu/102/unlink")
        .await
        .expect("unlink");
    let b = body(&put);
    assert!(b.contains("idlist=scsi0") && b.contains("force=1"), "{put}");
    assert!(
        s.asked().iter().any(|q| q.contains("for good")),
        "{:?}",
        s.asked()
    );
    // A container's mount point needs its path.
    let e = s
        .err(
            "proxmox_guest_disk_add",
            json!({"vmid": 201, "storage": "local-lvm", "size_gb": 2}),
        )
        .await;
    assert!(e.contains("`path`"), "{e}");
    let r = s
        .ok(
            "proxmox_guest_disk_add",
            json!({"vmid": 201, "storage": "local-lvm", "size_gb": 2, "path": "/srv/data"}),
        )
        .await;
    assert_eq!(r["disk"], "mp0", "{r}");
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 201})).await;
    assert!(
        cfg["config"]["mp0"]
            .as_str()
            .unwrap()
            .contains("mp=/srv/data"),
        "{cfg}"
    );
    // Detached, it is kept as unusedN; deleting that asks the person first.
    let r = s
        .ok(
            "proxmox_guest_disk_detach",
            json!({"vmid": 201, "disk": "mp0"}),
        )
        .await;
    let unused = r["unused"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    let e = s
        .err(
            "proxmox_guest_disk_detach",
            json!({"vmid": 201, "disk": unused}),
        )
        .await;
    assert!(e.contains("destroy"), "{e}");
    let asked = s.asked().len();
    s.ok(
        "proxmox_guest_disk_detach",
        json!({"vmid": 201, "disk": unused, "destroy": true}),
    )
    .await;
    assert_eq!(s.asked().len(), asked + 1, "{:?}", s.asked());
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 201})).await;
    assert!(cfg["config"].get(&unused).is_none(), "{cfg}");
}

#[tokio::test]
async fn nic_add_and_remove_at_the_next_free_net() {
    let pve = FakePve::start().await;
    let s = disks_session(&pve).await;
    // VM 101 has net0: the new NIC is net1, a virtio one unless a model is given.
    let r = s
        .ok(
            "proxmox_guest_nic_add",
            json!({"vmid": 101, "nic": {"bridge": "vmbr0", "tag": 30, "firewall": true}}),
        )
        .await;
    assert_eq!(r["nic"], "net1", "{r}");
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 101})).await;
    let net1 = cfg["config"]["net1"]
        .as_str()
        .unwrap_or_else(|| panic!("{cfg}"));
    assert!(
        net1.starts_with("virtio") && net1.contains("bridge=vmbr0") && net1.contains("tag=30"),
        "{net1}"
    );
    let put = last_request(&pve, "PUT", "/nodes/pve1/qemu/101/config")
        .await
        .unwrap();
    assert!(body(&put).contains("digest="), "{put}");
    // The same NIC as PVE's text makes the same request.
    let r = s
        .ok(
            "proxmox_guest_nic_add",
            json!({"vmid": 101, "nic": "virtio,bridge=vmbr0,firewall=1,tag=30"}),
        )
        .await;
    assert_eq!(r["nic"], "net2", "{r}");
    let sent = |q: &Value, key: &str| {
        body(q)
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
            .map(|v| v.replace("%2C", ",").replace("%3D", "="))
    };
    let text_put = last_request(&pve, "PUT", "/nodes/pve1/qemu/101/config")
        .await
        .unwrap();
    assert!(
        sent(&put, "net1").is_some_and(|v| v.contains("bridge=vmbr0")),
        "{put}"
    );
    assert_eq!(
        sent(&put, "net1"),
        sent(&text_put, "net2"),
        "{put} {text_put}"
    );
    // A container's NIC is named ethN after its slot.
    let r = s
        .ok(
            "proxmox_guest_nic_add",
            json!({"vmid": 201, "nic": {"bridge": "vmbr0", "ip": "dhcp"}}),
        )
        .await;
    assert_eq!(r["nic"], "net1", "{r}");
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 201})).await;
    assert!(
        cfg["config"]["net1"]
            .as_str()
            .unwrap()
            .contains("name=eth1"),
        "{cfg}"
    );
    // Removing one that does not exist lists the NICs; removing net1 deletes it with the digest.
    let e = s
        .err(
            "proxmox_guest_nic_remove",
            json!({"vmid": 201, "nic": "net5"}),
        )
        .await;
    assert!(e.contains("net0 (") && e.contains("net1 ("), "{e}");
    let r = s
        .ok(
            "proxmox_guest_nic_remove",
            json!({"vmid": 201, "nic": "net1"}),
        )
        .await;
    assert_eq!(r["nics"], json!(["net0"]), "{r}");
    let put = last_request(&pve, "PUT", "/nodes/pve1/lxc/201/config")
        .await
        .unwrap();
    let b = body(&put);
    assert!(b.contains("delete=net1") && b.contains("digest="), "{put}");
}

/// A concurrent change makes a disk change fail with the digest error; a dry run sends nothing
/// and shows the request with the digest, and whether the person would be asked.
#[tokio::test]
async fn disk_changes_are_refused_on_a_stale_digest_and_dry_runs_send_nothing() {
    let pve = FakePve::start().await;
    let s = disks_session(&pve).await;
    let current = s.ok("proxmox_guest_config", json!({"vmid": 101})).await;
    let mut stale = current["config"].clone();
    stale["digest"] = json!("0000000000000000000000000000000000000000");
    pve.control(
        json!({"op": "script", "method": "GET", "path": "/nodes/pve1/qemu/101/config",
               "json": stale, "times": 1}),
    )
    .await;
    let e = s
        .err(
            "proxmox_guest_disk_add",
            json!({"vmid": 101, "storage": "local-lvm", "size_gb": 4}),
        )
        .await;
    assert!(e.contains("digest"), "{e}");
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 101})).await;
    assert!(cfg["config"].get("scsi2").is_none(), "{cfg}");
    pve.clear_requests().await;
    let r = s
        .ok(
            "proxmox_guest_disk_resize",
            json!({"vmid": 101, "disk": "scsi0", "size": "80G", "dry_run": true}),
        )
        .await;
    assert_eq!(r["dry_run"], true, "{r}");
    assert_eq!(r["request"]["path"], "/nodes/pve1/qemu/101/resize", "{r}");
    assert_eq!(r["request"]["form"]["size"], "80G", "{r}");
    assert!(r["request"]["form"]["digest"].is_string(), "{r}");
    let r = s
        .ok(
            "proxmox_guest_disk_detach",
            json!({"vmid": 101, "disk": "scsi1", "destroy": true, "dry_run": true}),
        )
        .await;
    assert_eq!(r["request"]["path"], "/nodes/pve1/qemu/101/unlink", "{r}");
    assert!(r["confirmation"].is_string(), "{r}");
    assert!(
        pve.requests().await.iter().all(|q| q["method"] == "GET"),
        "a dry run sent a write"
    );
}

/// Filters with known values refuse unknown ones instead of answering an empty list.
#[tokio::test]
async fn an_unknown_node_or_status_is_an_error_not_an_empty_list() {
    let pve = FakePve::start().await;
    pve.control(json!({"op": "call", "method": "add_node", "args": ["pve2"]}))
        .await;
    let s = Mcp::alice(&pve, &[], &[]).await;
    let e = s.err("proxmox_guest_list", json!({"node": "pve9"})).await;
    assert!(
        e.contains("no node `pve9`") && e.contains("pve1") && e.contains("pve2"),
        "{e}"
    );
    let e = s.err("proxmox_guest_list", json!({"status": "up"})).await;
    assert!(e.contains("status") && e.contains("running"), "{e}");
    // A node that exists but holds no guest: an empty list.
    let r = s.ok("proxmox_guest_list", json!({"node": "pve2"})).await;
    assert_eq!(r["total"], 0, "{r}");
}
