//! `proxmox-mcp serve` driven by rmcp's client over stdio, against fakepve: the tool list, every
//! curated tool, write gating (the exhaustive walk), the permission pre-flight, tasks, errors and
//! secrets.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use std::time::{Duration, Instant};

use common::FakePve;
use mcp::{Mcp, text};
use proxmox_mcp::catalog::ENDPOINTS;
use serde_json::{Value, json};

/// The byte budget of the default tools/list (about 6k tokens): what an assistant needs for the
/// everyday jobs of a Proxmox admin, measured against the peers (the TypeScript server lists
/// 66 KB; kubernetes-mcp-server's default list is about 19 KB).
const BUDGET: usize = 24 * 1024;

/// What fakepve saw, as `METHOD /path` lines.
async fn method_paths(pve: &FakePve) -> Vec<String> {
    pve.requests()
        .await
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn snapshot_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/tools_list.json")
}

/// The checks every listed tool passes, and the committed snapshot of the list.
fn check_and_snapshot(tools: &[rmcp::model::Tool], file: &str) -> usize {
    for t in tools {
        let schema = &t.input_schema;
        assert_eq!(schema.get("type"), Some(&json!("object")), "{}", t.name);
        for k in ["anyOf", "oneOf", "allOf"] {
            assert!(!schema.contains_key(k), "{} has a top-level {k}", t.name);
        }
        let a = t
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no annotations", t.name));
        assert!(
            a.read_only_hint.is_some()
                && a.destructive_hint.is_some()
                && a.idempotent_hint.is_some()
                && a.open_world_hint.is_some(),
            "{} lacks an annotation",
            t.name
        );
        let out = t
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no outputSchema", t.name));
        assert_eq!(out.get("type"), Some(&json!("object")), "{}", t.name);
        // Reads and writes never share a tool: a write tool is never read-only, and a write
        // tool takes `dry_run`.
        let write =
            t.name.contains("start") || t.name.contains("delete") || t.name == "proxmox_api_call";
        if write {
            assert_eq!(a.read_only_hint, Some(false), "{}", t.name);
        }
        if a.read_only_hint == Some(false) {
            assert!(
                schema["properties"].get("dry_run").is_some(),
                "{} writes but takes no dry_run",
                t.name
            );
        }
    }
    let list = json!({ "tools": tools });
    // The committed snapshot: a change to any schema shows as a diff in review.
    let pretty = serde_json::to_string_pretty(&list).unwrap() + "\n";
    let path = snapshot_path().with_file_name(file);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == pretty,
        "tools/list differs from {}; review the change and run UPDATE_SNAPSHOTS=1 cargo test --test mcp_server",
        path.display()
    );
    serde_json::to_string(&list).unwrap().len()
}

#[tokio::test]
async fn tools_list_schemas_annotations_budget_and_snapshot() {
    let pve = FakePve::start().await;
    let server = Mcp::alice(&pve, &[], &[]).await;
    let info = server.client.peer_info().expect("initialized");
    assert_eq!(info.server_info.as_ref().unwrap().name, "proxmox-mcp");
    let tools = server.tools().await;
    assert!(tools.len() >= 19, "{}", tools.len());
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for n in [
        "proxmox_guest_list",
        "proxmox_guest_start",
        "proxmox_task_wait",
        "proxmox_api_call",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }
    let bytes = check_and_snapshot(&tools, "tools_list.json");
    assert!(
        bytes <= BUDGET,
        "the default tools/list is {bytes} bytes, over {BUDGET}"
    );
    // Every toolset: the same checks, and its own snapshot.
    let all = Mcp::alice(&pve, &[], &["--toolsets", "all"]).await;
    let every = all.tools().await;
    assert!(every.len() > tools.len());
    check_and_snapshot(&every, "tools_list_all.json");
    // --read-only leaves every write out, the generic call tool included.
    let ro = Mcp::alice(
        &pve,
        &[("PROXMOX_ALLOW_ELEVATED", "true")],
        &["--read-only"],
    )
    .await;
    let ro_tools = ro.tools().await;
    assert!(!ro_tools.is_empty());
    for t in &ro_tools {
        assert_eq!(
            t.annotations.as_ref().unwrap().read_only_hint,
            Some(true),
            "{}",
            t.name
        );
    }
    let msg = ro.err("proxmox_guest_start", json!({"vmid": 101})).await;
    assert!(msg.contains("read-only"), "{msg}");
}

#[tokio::test]
async fn curated_tools_against_fakepve_state() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    // The guest list: one PVE request, filters, fields, limit.
    pve.clear_requests().await;
    let all = s.ok("proxmox_guest_list", json!({})).await;
    let reqs = pve.requests().await;
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let vmids: Vec<u64> = all["guests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["vmid"].as_u64().unwrap())
        .collect();
    for v in [100, 101, 200] {
        assert!(vmids.contains(&v), "{vmids:?}");
    }
    assert_eq!(all["total"].as_u64().unwrap() as usize, vmids.len());
    let lxc = s
        .ok(
            "proxmox_guest_list",
            json!({"type": "lxc", "fields": ["vmid", "name"]}),
        )
        .await;
    for g in lxc["guests"].as_array().unwrap() {
        assert!(g.get("status").is_none(), "{g}");
        assert!(vmids.contains(&g["vmid"].as_u64().unwrap()));
    }
    assert!(
        lxc["guests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["vmid"] == 200)
    );
    assert!(
        !lxc["guests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["vmid"] == 100)
    );
    let one = s.ok("proxmox_guest_list", json!({"limit": 1})).await;
    assert_eq!(one["guests"].as_array().unwrap().len(), 1);
    assert_eq!(one["truncated"], true);
    let web = s
        .ok(
            "proxmox_guest_list",
            json!({"name": "WE", "status": "running"}),
        )
        .await;
    assert_eq!(web["guests"][0]["vmid"], 100, "{web}");

    // Status and config, the node found from the VMID.
    let st = s.ok("proxmox_guest_status", json!({"vmid": 100})).await;
    assert_eq!(st["status"], "running", "{st}");
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 100})).await;
    assert_eq!(cfg["config"]["name"], "web", "{cfg}");
    assert_eq!(cfg["node"], "pve1");
    assert_eq!(cfg["type"], "qemu");
    let ct = s.ok("proxmox_guest_config", json!({"vmid": 200})).await;
    assert_eq!(ct["type"], "lxc", "{ct}");

    // Power: start, shut down, stop, reboot, pause, resume: fakepve's state follows.
    let vm = |vmid: u64| {
        let pve = &pve;
        async move { pve.control(json!({"op": "get_vm", "vmid": vmid})).await }
    };
    let r = s.ok("proxmox_guest_start", json!({"vmid": 101})).await;
    assert_eq!(r["status"], "OK", "{r}");
    assert!(r["upid"].as_str().unwrap().starts_with("UPID:pve1:"));
    assert_eq!(vm(101).await["status"], "running");
    s.ok(
        "proxmox_guest_shutdown",
        json!({"vmid": 101, "timeout": 30}),
    )
    .await;
    assert_eq!(vm(101).await["status"], "stopped");
    s.ok(
        "proxmox_guest_start",
        json!({"vmid": 101, "node": "pve1", "type": "qemu"}),
    )
    .await;
    s.ok("proxmox_guest_stop", json!({"vmid": 101})).await;
    assert_eq!(vm(101).await["status"], "stopped");
    s.ok("proxmox_guest_reboot", json!({"vmid": 100})).await;
    assert_eq!(vm(100).await["status"], "running");
    s.ok("proxmox_guest_pause", json!({"vmid": 100})).await;
    let paused = vm(100).await;
    assert!(
        paused["qmpstatus"] == "paused" || paused["status"] == "paused",
        "{paused}"
    );
    s.ok("proxmox_guest_resume", json!({"vmid": 100})).await;
    assert_eq!(vm(100).await["qmpstatus"], "running");
    // The container: stopped first (PVE refuses to destroy a running one), then deleted.
    s.ok("proxmox_guest_stop", json!({"vmid": 200})).await;
    let gone = s
        .ok("proxmox_guest_delete", json!({"vmid": 200, "purge": true}))
        .await;
    assert_eq!(gone["status"], "OK", "{gone}");
    let (status, _) = pve.control_raw(json!({"op": "get_ct", "vmid": 200})).await;
    assert_ne!(status, 200, "the container is still there");
    let after = s.ok("proxmox_guest_list", json!({})).await;
    assert!(
        !after["guests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["vmid"] == 200)
    );

    // Nodes and tasks.
    let nodes = s.ok("proxmox_node_list", json!({})).await;
    assert_eq!(nodes["nodes"][0]["node"], "pve1", "{nodes}");
    let ns = s.ok("proxmox_node_status", json!({"node": "pve1"})).await;
    assert!(ns.as_object().is_some_and(|o| !o.is_empty()), "{ns}");
    let tasks = s.ok("proxmox_node_task", json!({"vmid": 101})).await;
    let list = tasks["tasks"].as_array().unwrap();
    assert!(list.iter().any(|t| t["type"] == "qmstart"), "{tasks}");
    let upid = r["upid"].as_str().unwrap();
    let one = s.ok("proxmox_node_task", json!({"upid": upid})).await;
    assert_eq!(one["task"]["status"], "stopped", "{one}");
    assert_eq!(one["task"]["exitstatus"], "OK");
    let log = s
        .ok("proxmox_task_log", json!({"upid": upid, "tail": 1}))
        .await;
    assert_eq!(log["lines"], json!(["TASK OK"]), "{log}");
    let waited = s.ok("proxmox_task_wait", json!({"upid": upid})).await;
    assert_eq!(waited["status"], "OK");

    // The generic tools reach everything.
    let found = s
        .ok("proxmox_api_search", json!({"query": "qemu snapshot"}))
        .await;
    let methods = found["methods"].as_array().unwrap();
    assert!(
        methods
            .iter()
            .any(|m| m["path"] == "/nodes/{node}/qemu/{vmid}/snapshot" && m["method"] == "POST"),
        "{found}"
    );
    let d = s
        .ok(
            "proxmox_api_describe",
            json!({"method": "POST", "path": "/nodes/{node}/qemu/{vmid}/snapshot"}),
        )
        .await;
    assert_eq!(d["required"], json!(["snapname"]), "{d}");
    assert!(
        d["parameters"]["snapname"]
            .as_str()
            .unwrap()
            .starts_with("string"),
        "{d}"
    );
    assert_eq!(d["needs"], "VM.Snapshot on /vms/{vmid}");
    // Compact by default (about 3 KB for 90 parameters), everything with `detail: full`; both
    // fit the tool's output schema (`ok` checks it).
    let d = s
        .ok(
            "proxmox_api_describe",
            json!({"method": "POST", "path": "/nodes/{node}/qemu"}),
        )
        .await;
    assert!(d.to_string().len() <= 3300, "{d}");
    let d = s
        .ok(
            "proxmox_api_describe",
            json!({"method": "POST", "path": "/nodes/{node}/qemu", "detail": "full"}),
        )
        .await;
    assert_eq!(d["parameters"]["net[n]"]["names"], "net0..net31", "{d}");
    let found = s
        .ok(
            "proxmox_api_search",
            json!({"query": "container 101 snapshot"}),
        )
        .await;
    assert_eq!(
        found["methods"][0]["example"], "/nodes/{node}/lxc/101/snapshot",
        "{found}"
    );
    let g = s
        .ok(
            "proxmox_api_get",
            json!({"path": "/nodes/pve1/qemu/100/config", "fields": ["name", "cores"]}),
        )
        .await;
    assert_eq!(g["data"], json!({"name": "web", "cores": 2}), "{g}");
    let list = s
        .ok(
            "proxmox_api_get",
            json!({"path": "/nodes/pve1/qemu", "params": "{\"full\": true}", "limit": 1}),
        )
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    assert!(list["total"].as_u64().unwrap() >= 2);
    let snap = s
        .ok("proxmox_api_call", json!({"method": "POST", "path": "/nodes/pve1/qemu/100/snapshot",
                                      "params": {"snapname": "before-upgrade", "description": "mcp"}}))
        .await;
    assert_eq!(snap["status"], "OK", "{snap}");
    let snaps = s
        .ok(
            "proxmox_api_get",
            json!({"path": "/nodes/pve1/qemu/100/snapshot"}),
        )
        .await;
    assert!(
        snaps["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "before-upgrade"),
        "{snaps}"
    );
    let put = s
        .ok(
            "proxmox_api_call",
            json!({"method": "PUT", "path": "/nodes/pve1/qemu/100/config",
                                      "params": {"net3": {"model": "virtio", "bridge": "vmbr0"}}}),
        )
        .await;
    assert!(put.get("data").is_some(), "{put}");
    // The VM runs: PVE keeps the new NIC as a pending change.
    let cfg = s.ok("proxmox_guest_config", json!({"vmid": 100})).await;
    let net3 = cfg["config"]["net3"]
        .as_str()
        .or(cfg["pending"]["net3"].as_str());
    assert!(
        net3.is_some_and(|n| n.contains("bridge=vmbr0")),
        "{put} {cfg}"
    );
}

/// A concrete path for a template, with plausible values.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{node}" => "pve1".to_string(),
            "{vmid}" => "100".to_string(),
            s if s.starts_with('{') => "x1".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn unelevated_every_write_is_refused_and_nothing_reaches_pve() {
    let pve = FakePve::start().await;
    // Every toolset: the write tools outside the default list are walked too.
    let s = Mcp::alice(&pve, &[], &["--toolsets", "all"]).await;
    pve.clear_requests().await;
    let mut walked = 0;
    for e in ENDPOINTS.iter().filter(|e| e.is_write()) {
        let msg = s
            .err(
                "proxmox_api_call",
                json!({"method": e.method.as_str(), "path": concrete(e.path)}),
            )
            .await;
        assert!(
            msg.contains("PROXMOX_ALLOW_ELEVATED"),
            "{} {}: {msg}",
            e.method,
            e.path
        );
        walked += 1;
    }
    assert!(walked > 300, "{walked}");
    for t in s.tools().await {
        if t.annotations.as_ref().unwrap().read_only_hint == Some(false) {
            let msg = s.err(&t.name, json!({"vmid": 100, "method": "POST", "path": "/nodes/pve1/qemu/100/status/start"})).await;
            assert!(msg.contains("PROXMOX_ALLOW_ELEVATED"), "{}: {msg}", t.name);
            walked += 1;
        }
    }
    let reqs = pve.requests().await;
    assert!(
        reqs.is_empty(),
        "{walked} refused calls, yet PVE saw {reqs:?}"
    );
    // An unrecognised value stops start-up instead of meaning false.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .arg("serve")
        .env_clear()
        .envs(mcp::env(&pve))
        .env("PROXMOX_ALLOW_ELEVATED", "sure")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PROXMOX_ALLOW_ELEVATED") && err.contains("neither true nor false"),
        "{err}"
    );
}

#[tokio::test]
async fn preflight_refuses_what_the_token_lacks_before_sending() {
    let pve = FakePve::start().await;
    let bob = |pve: &FakePve| {
        let mut vars = mcp::bob_env(pve);
        vars.push(("PROXMOX_ALLOW_ELEVATED".into(), "true".into()));
        vars
    };
    let s = Mcp::start(&bob(&pve), &[]).await;
    pve.clear_requests().await;
    let msg = s.err("proxmox_guest_start", json!({"vmid": 101})).await;
    assert!(
        msg.contains("bob@pve!ro") && msg.contains("lacks VM.PowerMgmt on /vms/101"),
        "{msg}"
    );
    // The remedy names a role and the concrete path, never a shell command.
    assert!(
        msg.contains("grant PVEVMUser (or a role with VM.PowerMgmt) on /vms/101"),
        "{msg}"
    );
    assert!(!msg.contains("pveum"), "{msg}");
    let sent = method_paths(&pve).await;
    assert!(
        sent.iter().all(|r| r.starts_with("GET")),
        "a write reached PVE: {sent:?}"
    );
    assert!(
        sent.iter().any(|r| r.contains("/access/permissions")),
        "{sent:?}"
    );
    // The same through the generic tool, with a parameter in the check's path.
    let msg = s
        .err("proxmox_api_call", json!({"method": "POST", "path": "/nodes/pve1/qemu/100/snapshot", "params": {"snapname": "s1"}}))
        .await;
    assert!(msg.contains("lacks VM.Snapshot on /vms/100"), "{msg}");
    // A read that PVE refuses is explained with the same words.
    let msg = s
        .err("proxmox_api_get", json!({"path": "/cluster/backup"}))
        .await;
    assert!(
        msg.contains("permission denied") && msg.contains("bob@pve!ro"),
        "{msg}"
    );
    // Granted, it goes through (a fresh server: the pre-flight caches PVE's answer briefly).
    pve.control(
        json!({"op": "grant", "id": "bob@pve!ro", "path": "/vms/101", "privs": ["VM.PowerMgmt"]}),
    )
    .await;
    let s = Mcp::start(&bob(&pve), &[]).await;
    let r = s.ok("proxmox_guest_start", json!({"vmid": 101})).await;
    assert_eq!(r["status"], "OK", "{r}");
    let vm = pve.control(json!({"op": "get_vm", "vmid": 101})).await;
    assert_eq!(vm["status"], "running");
}

/// PVE's `/access/permissions` maps each privilege held to its propagate flag; 0 (a pool grant, a
/// non-propagating ACL, a privilege-separated token's intersection) still means held. Here bob may
/// start VM 102 only through a grant on its pool, and the permissions answer is PVE's for that.
#[tokio::test]
async fn preflight_counts_a_privilege_at_propagate_0_as_held() {
    use proxmox_mcp::apidoc::HttpMethod;
    use proxmox_mcp::params::Form;
    let pve = FakePve::start().await;
    // A pool `ops` holding VM 102, and bob's grant on it (fakepve enforces it on the POST).
    let root = common::root_ticket(&pve);
    let mut form = Form::new();
    form.text("poolid", "ops");
    root.request(HttpMethod::Post, "/pools", form)
        .await
        .unwrap();
    let mut form = Form::new();
    form.text("vms", "102");
    root.request(HttpMethod::Put, "/pools/ops", form)
        .await
        .unwrap();
    pve.control(
        json!({"op": "grant", "id": "bob@pve", "path": "/pool/ops", "privs": ["VM.PowerMgmt"]}),
    )
    .await;
    pve.control(
        json!({"op": "grant", "id": "bob@pve!ro", "path": "/pool/ops", "privs": ["VM.PowerMgmt"]}),
    )
    .await;
    // PVE's answer: pool-derived privileges are always 0 ("never set propagation").
    pve.control(
        json!({"op": "script", "method": "GET", "path": "/access/permissions",
        "json": {"/vms/102": {"VM.Audit": 1, "VM.PowerMgmt": 0}}}),
    )
    .await;
    let vars = mcp::bob_env(&pve);
    let s = Mcp::start(&vars, &["--allow-elevated"]).await;
    pve.clear_requests().await;
    let r = s
        .ok(
            "proxmox_guest_start",
            json!({"vmid": 102, "node": pve.node(), "type": "qemu", "wait": 0}),
        )
        .await;
    assert!(r["upid"].is_string() || r["status"].is_string(), "{r}");
    let sent = method_paths(&pve).await;
    assert!(
        sent.iter()
            .any(|r| r.starts_with("POST") && r.ends_with("/qemu/102/status/start")),
        "the start was not sent: {sent:?}"
    );
    assert!(
        sent.iter().any(|r| r.contains("/access/permissions")),
        "{sent:?}"
    );
}

#[tokio::test]
async fn errors_say_what_went_wrong_and_what_to_do() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    pve.clear_requests().await;
    let msg = s
        .err(
            "proxmox_guest_shutdown",
            json!({"vmid": 100, "timeout": -5}),
        )
        .await;
    assert!(
        msg.contains("`timeout`") && msg.contains("at least 0"),
        "{msg}"
    );
    let msg = s
        .err("proxmox_guest_start", json!({"vmid": 100, "force": true}))
        .await;
    assert!(
        msg.contains("unknown argument `force`") && msg.contains("vmid"),
        "{msg}"
    );
    let msg = s.err("proxmox_guest_start", json!({"vmid": "abc"})).await;
    assert!(msg.contains("`vmid`") && msg.contains("integer"), "{msg}");
    let msg = s.err("proxmox_guest_list", json!({"type": "vm"})).await;
    assert!(msg.contains("one of qemu, lxc"), "{msg}");
    let msg = s
        .err("proxmox_api_call", json!({"method": "PUT", "path": "/nodes/pve1/qemu/100/config", "params": {"ostype": "win95"}}))
        .await;
    assert!(msg.contains("ostype") && msg.contains("l26"), "{msg}");
    let msg = s
        .err(
            "proxmox_api_call",
            json!({"method": "POST", "path": "/nodes/pve1/qemu/100/snapshot"}),
        )
        .await;
    assert!(
        msg.contains("snapname") && msg.contains("required"),
        "{msg}"
    );
    assert!(
        pve.requests().await.is_empty(),
        "a refused argument reached PVE"
    );
    // Not found: the cluster has no VM 999.
    let msg = s.err("proxmox_guest_status", json!({"vmid": 999})).await;
    assert!(
        msg.contains("no VM or container 999") && msg.contains("proxmox_guest_list"),
        "{msg}"
    );
    let msg = s
        .err(
            "proxmox_api_get",
            json!({"path": "/nodes/pve1/qemu/999/status/current"}),
        )
        .await;
    assert!(
        msg.contains("999") && msg.contains("proxmox_guest_list"),
        "{msg}"
    );
    // Wrong type for the VMID, a template path, GET through the write tool, no such path.
    let msg = s
        .err("proxmox_guest_status", json!({"vmid": 100, "type": "lxc"}))
        .await;
    assert!(msg.contains("VM (qemu)"), "{msg}");
    let msg = s
        .err("proxmox_api_get", json!({"path": "/nodes/{node}/qemu"}))
        .await;
    assert!(msg.contains("template"), "{msg}");
    let msg = s
        .err(
            "proxmox_api_call",
            json!({"method": "GET", "path": "/nodes"}),
        )
        .await;
    assert!(msg.contains("proxmox_api_get"), "{msg}");
    let msg = s
        .err("proxmox_api_get", json!({"path": "/no/such/thing"}))
        .await;
    assert!(
        msg.contains("proxmox_api_search") || msg.contains("no method"),
        "{msg}"
    );
    // PVE's per-field 400.
    let msg = s
        .err("proxmox_api_call", json!({"method": "PUT", "path": "/nodes/pve1/qemu/100/config", "params": {"net3": "model=virtio,bridge=vmbr0,rate=abc"}}))
        .await;
    assert!(msg.contains("net3"), "{msg}");
    // A locked guest.
    pve.control(json!({"op": "set_vm", "vmid": 101, "lock": "backup"}))
        .await;
    let msg = s.err("proxmox_guest_start", json!({"vmid": 101})).await;
    assert!(
        msg.contains("locked") && msg.contains("proxmox_node_task"),
        "{msg}"
    );
    // A tool that does not exist is a protocol error.
    let r = s
        .client
        .call_tool(rmcp::model::CallToolRequestParams::new("proxmox_nope"))
        .await;
    assert!(r.is_err(), "{r:?}");
}

#[tokio::test]
async fn tasks_report_progress_stop_on_cancel_and_show_failures() {
    let pve = FakePve::start_with(common::StartOptions {
        time_scale: 0.05,
        ..Default::default()
    })
    .await;
    let mut s = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    // A start that takes 40 PVE seconds (2 s here): progress arrives, then OK. While it runs,
    // its log reports percentages as PVE's long tasks do; the notifications carry the latest
    // line, and the percentage as progress out of 100.
    pve.control(json!({"op": "set_vm", "vmid": 101, "start_secs": 40}))
        .await;
    let logger = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        pve.control(json!({"op": "task_log", "lines": ["INFO:  12% (1.0 GiB of 8.0 GiB) in 3s"]}))
            .await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        pve.control(json!({"op": "task_log", "lines": ["INFO:  37% (3.0 GiB of 8.0 GiB) in 6s"]}))
            .await;
    };
    let (r, _) = tokio::join!(s.ok("proxmox_guest_start", json!({"vmid": 101})), logger);
    assert_eq!(r["status"], "OK", "{r}");
    let mut seen = Vec::new();
    while let Ok(p) = s.progress.try_recv() {
        seen.push(p);
    }
    assert!(seen.len() >= 2, "progress: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].progress < w[1].progress),
        "progress must increase: {seen:?}"
    );
    let with_percent: Vec<_> = seen.iter().filter(|p| p.total == Some(100.0)).collect();
    assert!(
        with_percent.iter().any(|p| p.progress == 37.0
            && p.message
                .as_deref()
                .is_some_and(|m| m.contains("INFO:  37% (3.0 GiB of 8.0 GiB)"))),
        "{seen:?}"
    );
    assert!(with_percent.iter().any(|p| p.progress == 12.0), "{seen:?}");

    // A failing task: its exit status and log tail, as an error.
    pve.control(json!({"op": "set", "time_scale": 0})).await;
    pve.control(
        json!({"op": "set_vm", "vmid": 101, "status": "stopped", "start_secs": 0,
                       "start_error": "kvm: cannot allocate memory"}),
    )
    .await;
    let msg = s
        .err(
            "proxmox_guest_start",
            json!({"vmid": 101, "node": "pve1", "type": "qemu"}),
        )
        .await;
    assert!(
        msg.contains("failed") && msg.contains("cannot allocate memory"),
        "{msg}"
    );
    assert!(msg.contains("last lines of its log"), "{msg}");
    pve.control(json!({"op": "set", "time_scale": 0.05})).await;
    pve.control(json!({"op": "set_vm", "vmid": 101, "start_error": null}))
        .await;

    // A long start, cancelled: the server stops polling (the task goes on).
    pve.control(json!({"op": "set_vm", "vmid": 101, "status": "stopped", "start_secs": 2000}))
        .await;
    let req = rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(
        rmcp::model::CallToolRequestParams::new("proxmox_guest_start").with_arguments(
            json!({"vmid": 101, "wait": 600})
                .as_object()
                .unwrap()
                .clone(),
        ),
    ));
    let handle = s
        .client
        .send_cancellable_request(req, rmcp::service::PeerRequestOptions::no_options())
        .await
        .unwrap();
    // Wait for the first progress of this call, then cancel.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout(Duration::from_secs(1), s.progress.recv()).await {
            Ok(Some(p)) if p.progress_token == handle.progress_token && p.progress > 0.0 => break,
            _ if Instant::now() > deadline => panic!("no progress for the long start"),
            _ => {}
        }
    }
    handle
        .cancel(Some("user changed their mind".into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let polls = |reqs: &[Value]| {
        reqs.iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/status")))
            .count()
    };
    let before = polls(&pve.requests().await);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = polls(&pve.requests().await);
    assert_eq!(
        before, after,
        "the server kept polling after the client cancelled"
    );
    let t0 = Instant::now();
    s.ok("proxmox_node_list", json!({})).await;
    assert!(t0.elapsed() < Duration::from_secs(10));

    // A short bound: the UPID and how to follow it.
    let r = s
        .ok("proxmox_guest_shutdown", json!({"vmid": 100, "wait": 0}))
        .await;
    assert_eq!(r["status"], "running", "{r}");
    assert!(r["next"].as_str().unwrap().contains("proxmox_task_wait"));
}

#[tokio::test]
async fn secrets_never_reach_results_or_stderr_at_trace() {
    let pve = FakePve::start().await;
    let token = pve.alice().token_secret.clone();
    let password = pve.root().password.clone();
    let mut outputs = Vec::new();
    // As root with a password (ticket login), then as alice with her token, logging everything.
    let mut root = mcp::env(&pve);
    root.retain(|(k, _)| !k.starts_with("PROXMOX_TOKEN") && k != "PROXMOX_USER");
    root.push(("PROXMOX_USER".into(), "root@pam".into()));
    root.push(("PROXMOX_PASSWORD".into(), password.clone()));
    let mut alice = mcp::env(&pve);
    for vars in [&mut root, &mut alice] {
        vars.push(("RUST_LOG".into(), "trace".into()));
        vars.push(("PROXMOX_ALLOW_ELEVATED".into(), "true".into()));
        let s = Mcp::start(vars, &[]).await;
        for (tool, args) in [
            ("proxmox_guest_list", json!({})),
            ("proxmox_guest_config", json!({"vmid": 100})),
            ("proxmox_guest_start", json!({"vmid": 101})),
            ("proxmox_api_get", json!({"path": "/access/permissions"})),
            ("proxmox_api_get", json!({"path": "/cluster/resources"})),
            (
                "proxmox_api_call",
                json!({"method": "POST", "path": "/access/users/alice@pve/token/canary"}),
            ),
        ] {
            let r = s.call(tool, args).await;
            outputs.push(text(&r));
            outputs.push(
                r.structured_content
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let err = s.stderr();
        assert!(
            err.contains("TRACE") || err.contains("DEBUG"),
            "trace logging is off: {err}"
        );
        outputs.push(err);
    }
    let all = outputs.join("\n");
    assert!(!all.contains(&token), "the token secret leaked");
    assert!(!all.contains(&password), "the password leaked");
    assert!(!all.contains("PVE:root@pam:"), "a ticket leaked");
    assert!(
        all.contains("(secret, not shown)"),
        "nothing was redacted: {all}"
    );
}

/// Standard input and output that are files, not pipes (a script's redirection), are served
/// through tokio's stdin and stdout; pipes (every other test) are polled directly.
#[tokio::test]
async fn stdio_works_from_files_as_from_pipes() {
    let pve = FakePve::start().await;
    let dir = std::env::temp_dir().join(format!("proxmox-mcp-stdio-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (input, output) = (dir.join("in.jsonl"), dir.join("out.jsonl"));
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "files", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "proxmox_guest_list", "arguments": {"fields": ["vmid"]}}}),
    ];
    let text: String = messages.iter().map(|m| format!("{m}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .arg("serve")
        .env_clear()
        .envs(mcp::env(&pve))
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::fs::File::create(&output).unwrap())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The end of the file ends the session; the answer to the call may still be on its way,
    // so the server is given time to finish, then stopped.
    let deadline = Instant::now() + Duration::from_secs(20);
    let answers = loop {
        let out = std::fs::read_to_string(&output).unwrap_or_default();
        if out.lines().count() >= 2 || Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(child);
    let answers: Vec<Value> = answers
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(answers[0]["result"]["serverInfo"]["name"], "proxmox-mcp");
    let guests = &answers[1]["result"]["structuredContent"]["guests"];
    assert_eq!(guests[0], json!({"vmid": 100}), "{}", answers[1]);
    let _ = std::fs::remove_dir_all(&dir);
}
