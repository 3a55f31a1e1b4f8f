//! The demo cluster through the SDK client, pinned by fingerprint, as the MCP server uses it.

use proxmox_mcp::apidoc::HttpMethod::{self, Delete, Get, Post, Put};
use proxmox_mcp::params::Form;
use proxmox_mcp::{ApiToken, Auth, Client, Error, TlsMode, WaitOptions};
use serde_json::Value;

use super::{Demo, start};

fn client_with(demo: &Demo, token: &str, tls: TlsMode) -> Client {
    Client::builder("127.0.0.1")
        .port(demo.port)
        .auth(Auth::Token(ApiToken::parse(token).unwrap()))
        .tls(tls)
        .build()
        .unwrap()
}

fn client(demo: &Demo) -> Client {
    client_with(
        demo,
        &demo.token,
        TlsMode::Fingerprint(demo.fingerprint.clone()),
    )
}

fn form(pairs: &[(&str, &str)]) -> Form {
    let mut f = Form::new();
    for (k, v) in pairs {
        f.text(k, v);
    }
    f
}

async fn call(
    c: &Client,
    m: HttpMethod,
    path: &str,
    pairs: &[(&str, &str)],
) -> Result<Value, Error> {
    c.request(m, path, form(pairs)).await
}

/// Sends a write that starts a task and waits for it.
async fn run(
    c: &Client,
    m: HttpMethod,
    path: &str,
    pairs: &[(&str, &str)],
) -> proxmox_mcp::TaskOutcome {
    let upid = call(c, m, path, pairs).await.unwrap();
    let upid: proxmox_mcp::Upid = upid.as_str().unwrap().parse().unwrap();
    c.wait_task(&upid, WaitOptions::default()).await.unwrap()
}

#[tokio::test]
async fn demo_lists_guests_nodes_and_storage() {
    let demo = start().await.unwrap();
    assert_eq!(demo.fingerprint.len(), 32 * 3 - 1);
    assert!(!format!("{demo:?}").contains(demo.token.split('=').nth(1).unwrap()));
    let c = client(&demo);
    let vms = call(&c, Get, "/cluster/resources", &[("type", "vm")])
        .await
        .unwrap();
    let vms = vms.as_array().unwrap();
    let ids: Vec<&str> = vms.iter().filter_map(|v| v["id"].as_str()).collect();
    for id in [
        "qemu/100", "qemu/101", "qemu/102", "qemu/103", "qemu/104", "lxc/200", "lxc/201",
    ] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    let web = vms.iter().find(|v| v["vmid"] == 100).unwrap();
    assert_eq!(web["name"], "web01");
    assert_eq!(web["status"], "running");
    assert_eq!(web["node"], "pve1");
    assert_eq!(web["pool"], "prod");
    assert!(vms.iter().any(|v| v["vmid"] == 103 && v["template"] == 1));
    let nodes = call(&c, Get, "/nodes", &[]).await.unwrap();
    assert_eq!(nodes.as_array().unwrap().len(), 2);
    let version = call(&c, Get, "/version", &[]).await.unwrap();
    assert!(version["version"].as_str().unwrap().starts_with("9."));
    let isos = call(
        &c,
        Get,
        "/nodes/pve1/storage/local/content",
        &[("content", "iso")],
    )
    .await
    .unwrap();
    let volids: Vec<&str> = isos
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["volid"].as_str())
        .collect();
    assert!(
        volids.contains(&"local:iso/debian-13.0.0-amd64-netinst.iso"),
        "{volids:?}"
    );
    assert!(
        volids.iter().all(|v| v.starts_with("local:iso/")),
        "{volids:?}"
    );
    let disks = call(&c, Get, "/nodes/pve1/storage/local-lvm/content", &[])
        .await
        .unwrap();
    assert!(
        disks.to_string().contains("local-lvm:vm-100-disk-0"),
        "{disks}"
    );
    // The typed SDK reads it too.
    let list = proxmox_mcp::api::nodes::qemu::get(&c, "pve1", &Default::default())
        .await
        .unwrap();
    assert!(list.len() >= 3);
}

#[tokio::test]
async fn demo_starts_a_vm_and_locks_it_meanwhile() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let upid = call(&c, Post, "/nodes/pve2/qemu/102/status/start", &[])
        .await
        .unwrap();
    let upid = upid.as_str().unwrap();
    assert_eq!(upid.parse::<proxmox_mcp::Upid>().unwrap().node(), "pve2");
    assert!(upid.contains(":qmstart:102:"), "{upid}");
    // A second write while the task runs: the guest is locked.
    let e = call(&c, Post, "/nodes/pve2/qemu/102/status/stop", &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("got timeout"), "{e}");
    let outcome = c
        .wait_task(&upid.parse().unwrap(), WaitOptions::default())
        .await
        .unwrap();
    assert!(outcome.success, "{outcome:?}");
    let status = call(&c, Get, "/nodes/pve2/qemu/102/status/current", &[])
        .await
        .unwrap();
    assert_eq!(status["status"], "running");
    assert_eq!(status["qmpstatus"], "running");
    let e = call(&c, Post, "/nodes/pve2/qemu/102/status/start", &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("VM 102 already running"), "{e}");
    let tasks = call(&c, Get, "/nodes/pve2/tasks", &[]).await.unwrap();
    assert_eq!(tasks[0]["upid"], upid);
    assert_eq!(tasks[0]["status"], "OK");
}

#[tokio::test]
async fn demo_snapshots_and_config_writes_change_state() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let snaps = call(&c, Get, "/nodes/pve1/qemu/100/snapshot", &[])
        .await
        .unwrap();
    assert!(snaps.to_string().contains("before-upgrade"));
    let path = "/nodes/pve1/lxc/200/snapshot";
    let upid = call(&c, Post, path, &[("snapname", "pre-patch")])
        .await
        .unwrap();
    // While the task runs, the container is locked and says so.
    let e = call(&c, Put, "/nodes/pve1/lxc/200/config", &[("cores", "2")])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("CT 200 is locked (snapshot)"), "{e}");
    let config = call(&c, Get, "/nodes/pve1/lxc/200/config", &[])
        .await
        .unwrap();
    assert_eq!(config["lock"], "snapshot");
    let out = c
        .wait_task(
            &upid.as_str().unwrap().parse().unwrap(),
            WaitOptions::default(),
        )
        .await
        .unwrap();
    assert!(out.success, "{out:?}");
    let snaps = call(&c, Get, "/nodes/pve1/lxc/200/snapshot", &[])
        .await
        .unwrap();
    let names: Vec<&str> = snaps
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["pre-patch", "current"]);
    assert_eq!(snaps[1]["parent"], "pre-patch");
    let e = call(
        &c,
        Post,
        "/nodes/pve1/lxc/200/snapshot",
        &[("snapname", "pre-patch")],
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("already used"), "{e}");
    // PUT config applies at once; `delete` removes keys; the digest changes.
    let before = call(&c, Get, "/nodes/pve1/qemu/101/config", &[])
        .await
        .unwrap();
    call(
        &c,
        Put,
        "/nodes/pve1/qemu/101/config",
        &[("memory", "4096"), ("delete", "tags")],
    )
    .await
    .unwrap();
    let after = call(&c, Get, "/nodes/pve1/qemu/101/config", &[])
        .await
        .unwrap();
    assert_eq!(after["memory"], "4096");
    assert!(after.get("tags").is_none());
    assert_ne!(before["digest"], after["digest"]);
    let stale = before["digest"].as_str().unwrap();
    let e = call(
        &c,
        Put,
        "/nodes/pve1/qemu/101/config",
        &[("cores", "8"), ("digest", stale)],
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("file changed by other user"), "{e}");
    // Deleting a running guest is refused; a snapshot of a missing one names the file.
    let e = call(&c, Delete, "/nodes/pve1/qemu/100", &[])
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("VM 100 is running - destroy failed"),
        "{e}"
    );
}

#[tokio::test]
async fn demo_creates_a_vm_and_refuses_a_duplicate() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let id = call(&c, Get, "/cluster/nextid", &[]).await.unwrap();
    assert_eq!(id, "105");
    let params = [
        ("vmid", "105"),
        ("name", "new01"),
        ("memory", "1024"),
        ("scsi0", "local-lvm:10,iothread=1"),
        ("net0", "virtio,bridge=vmbr0"),
    ];
    let out = run(&c, Post, "/nodes/pve1/qemu", &params).await;
    assert!(out.success, "{out:?}");
    let config = call(&c, Get, "/nodes/pve1/qemu/105/config", &[])
        .await
        .unwrap();
    assert_eq!(
        config["scsi0"],
        "local-lvm:vm-105-disk-0,iothread=1,size=10G"
    );
    assert_eq!(config["name"], "new01");
    let status = call(&c, Get, "/nodes/pve1/qemu/105/status/current", &[])
        .await
        .unwrap();
    assert_eq!(status["status"], "stopped");
    let e = call(&c, Post, "/nodes/pve2/qemu", &params)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("VM 105 already exists on node 'pve1'"),
        "{e}"
    );
    let e = call(&c, Post, "/nodes/pve1/qemu", &[("name", "x")])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::BadRequest { errors, .. } if errors.contains_key("vmid")),
        "{e:?}"
    );
    let out = run(&c, Delete, "/nodes/pve1/qemu/105", &[]).await;
    assert!(out.success, "{out:?}");
    let e = call(&c, Get, "/nodes/pve1/qemu/105/config", &[])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn demo_broken_vm_fails_to_start_with_a_log() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let out = run(&c, Post, "/nodes/pve1/qemu/104/status/start", &[]).await;
    assert!(!out.success);
    assert_eq!(out.exit_status, "start failed: QEMU exited with code 1");
    let last = out.log_tail.last().unwrap();
    assert_eq!(last, "TASK ERROR: start failed: QEMU exited with code 1");
    assert!(out.log_tail.len() >= 3, "{:?}", out.log_tail);
    let status = call(&c, Get, "/nodes/pve1/qemu/104/status/current", &[])
        .await
        .unwrap();
    assert_eq!(status["status"], "stopped");
}

#[tokio::test]
async fn demo_refuses_a_wrong_token_and_a_wrong_fingerprint() {
    let demo = start().await.unwrap();
    let (id, _) = demo.token.split_once('=').unwrap();
    let wrong = client_with(
        &demo,
        &format!("{id}=not-the-secret"),
        TlsMode::Fingerprint(demo.fingerprint.clone()),
    );
    let e = call(&wrong, Get, "/version", &[]).await.unwrap_err();
    assert!(
        matches!(&e, Error::Unauthorized { message } if message == "authentication failure"),
        "{e:?}"
    );
    let other = ["AB"; 32].join(":");
    let pinned = client_with(&demo, &demo.token, TlsMode::Fingerprint(other));
    let e = call(&pinned, Get, "/version", &[]).await.unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
}

#[tokio::test]
async fn demo_certificate_fingerprint_is_what_the_client_sees() {
    let demo = start().await.unwrap();
    // Verification against the system roots fails and names the presented certificate.
    let strict = client_with(&demo, &demo.token, TlsMode::Verify(None));
    let e = call(&strict, Get, "/version", &[]).await.unwrap_err();
    assert!(e.to_string().contains(&demo.fingerprint), "{e}");
}

#[tokio::test]
async fn demo_enforces_permissions_like_pve() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let e = call(&c, Put, "/nodes/pve1/dns", &[("search", "example.com")])
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Forbidden { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("Permission check failed (/nodes/pve1, Sys.Modify)"),
        "{e}"
    );
    let e = call(&c, Post, "/nodes/pve1/status", &[("command", "reboot")])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Sys.PowerMgmt"), "{e}");
    let perms = call(&c, Get, "/access/permissions", &[("path", "/vms/100")])
        .await
        .unwrap();
    assert_eq!(perms["/vms/100"]["VM.PowerMgmt"], 1);
    assert!(perms["/vms/100"].get("Sys.Modify").is_none());
    assert!(perms.get("/storage").is_none(), "{perms}");
}

#[tokio::test]
async fn demo_answers_missing_and_unknown_like_pve() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let e = call(&c, Get, "/nodes/pve1/qemu/999/status/current", &[])
        .await
        .unwrap_err();
    match e {
        Error::NotFound { message } => {
            assert_eq!(
                message,
                "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"
            )
        }
        e => panic!("{e:?}"),
    }
    let e = call(&c, Get, "/nodes/pve2/lxc/200/config", &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nodes/pve2/lxc/200.conf"), "{e}");
    // In PVE's schema, not simulated.
    let e = call(&c, Get, "/nodes/pve1/apt/versions", &[])
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(501), "{e}");
    assert!(
        e.to_string().contains("not simulated by the demo cluster"),
        "{e}"
    );
    // Not in the schema at all (the SDK refuses to send it, so ask with a raw HTTP client).
    let raw = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let resp = raw
        .get(format!("https://127.0.0.1:{}/api2/json/foo", demo.port))
        .header("Authorization", format!("PVEAPIToken={}", demo.token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 501);
    let reason = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| r.as_bytes().to_vec());
    assert_eq!(
        reason.as_deref(),
        Some(&b"Method 'GET /foo' not implemented"[..])
    );
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(body["data"], Value::Null);
}

#[tokio::test]
async fn demo_clones_migrates_and_backs_up_like_pve() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    // A full clone of a running VM: the new VMID's disks, a new MAC, the name given.
    let out = run(
        &c,
        Post,
        "/nodes/pve1/qemu/100/clone",
        &[("newid", "150"), ("name", "web03")],
    )
    .await;
    assert!(out.success, "{out:?}");
    let config = call(&c, Get, "/nodes/pve1/qemu/150/config", &[])
        .await
        .unwrap();
    assert_eq!(config["name"], "web03");
    let scsi0 = config["scsi0"].as_str().unwrap();
    assert!(scsi0.starts_with("local-lvm:vm-150-disk-0,"), "{config}");
    assert!(config.get("lock").is_none(), "{config}");
    assert!(
        config["net0"]
            .as_str()
            .unwrap()
            .contains("BC:24:11:00:00:96")
    );
    for (params, want) in [
        (
            &[("newid", "101")][..],
            "VM 101 already exists on node 'pve1'",
        ),
        (
            &[("newid", "151"), ("full", "0")][..],
            "Linked clone feature is not supported for drive",
        ),
        (
            &[("newid", "151"), ("target", "pve2")][..],
            "can't clone VM to node 'pve2' (VM uses local storage)",
        ),
    ] {
        let e = call(&c, Post, "/nodes/pve1/qemu/100/clone", params)
            .await
            .unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    // Migrate: PVE's refusals, then a stopped container moves.
    for (path, params, want) in [
        (
            "/nodes/pve1/qemu/101/migrate",
            &[("target", "pve2")][..],
            "can't migrate running VM without --online",
        ),
        (
            "/nodes/pve1/qemu/101/migrate",
            &[("target", "pve1")][..],
            "target: target is local node",
        ),
        (
            "/nodes/pve2/lxc/201/migrate",
            &[("target", "pve7")][..],
            "no such cluster node 'pve7'",
        ),
    ] {
        let e = call(&c, Post, path, params).await.unwrap_err();
        assert!(e.to_string().contains(want), "{path}: {e}");
    }
    let out = run(
        &c,
        Post,
        "/nodes/pve2/lxc/201/migrate",
        &[("target", "pve1")],
    )
    .await;
    assert!(out.success, "{out:?}");
    call(&c, Get, "/nodes/pve1/lxc/201/status/current", &[])
        .await
        .unwrap();
    // A running VM with local disks needs `with-local-disks` as well as `online`.
    let out = run(
        &c,
        Post,
        "/nodes/pve1/qemu/101/migrate",
        &[("target", "pve2"), ("online", "1")],
    )
    .await;
    assert!(!out.success, "{out:?}");
    // vzdump: refused on a storage without `backup`; the archive appears in `local`.
    let e = call(
        &c,
        Post,
        "/nodes/pve1/vzdump",
        &[("vmid", "101"), ("storage", "local-lvm")],
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("wrong content type"), "{e}");
    let out = run(
        &c,
        Post,
        "/nodes/pve1/vzdump",
        &[("vmid", "101"), ("storage", "local"), ("mode", "snapshot")],
    )
    .await;
    assert!(out.success, "{out:?}");
    let content = call(
        &c,
        Get,
        "/nodes/pve1/storage/local/content",
        &[("content", "backup"), ("vmid", "101")],
    )
    .await
    .unwrap();
    let list = content.as_array().unwrap();
    assert_eq!(list.len(), 1, "{content}");
    let b = &list[0];
    assert!(
        b["volid"]
            .as_str()
            .unwrap()
            .starts_with("local:backup/vzdump-qemu-101-"),
        "{b}"
    );
    assert_eq!(b["format"], "vma.zst");
    assert!(b["size"].as_u64().unwrap() > 0 && b["ctime"].as_u64().unwrap() > 0);
    // Tasks: the history's failed start, filtered by `errors`, `since` and `typefilter`.
    let failed = call(
        &c,
        Get,
        "/nodes/pve1/tasks",
        &[("errors", "1"), ("since", "1")],
    )
    .await
    .unwrap();
    assert!(failed.to_string().contains("qmstart"), "{failed}");
    let dumps = call(&c, Get, "/nodes/pve1/tasks", &[("typefilter", "vzdump")])
        .await
        .unwrap();
    assert!(
        dumps
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["type"] == "vzdump"),
        "{dumps}"
    );
    let future = (super::cluster::epoch() + 3600).to_string();
    let none = call(&c, Get, "/nodes/pve1/tasks", &[("since", &future)])
        .await
        .unwrap();
    assert_eq!(none, serde_json::json!([]));
}

/// The log of a task.
async fn log_of(c: &Client, upid: &str) -> Vec<String> {
    let node = upid.split(':').nth(1).unwrap();
    let lines = call(c, Get, &format!("/nodes/{node}/tasks/{upid}/log"), &[])
        .await
        .unwrap();
    lines
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["t"].as_str().map(str::to_string))
        .collect()
}

/// Waits for the task of an answer that is a UPID.
async fn wait(c: &Client, upid: &Value) -> proxmox_mcp::TaskOutcome {
    let upid: proxmox_mcp::Upid = upid.as_str().unwrap().parse().unwrap();
    c.wait_task(&upid, WaitOptions::default()).await.unwrap()
}

#[tokio::test]
async fn demo_keeps_pending_changes_until_a_restart() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let path = "/nodes/pve1/qemu/100/config";
    // Memory of a running VM waits; a tag applies at once.
    call(&c, Put, path, &[("memory", "4096"), ("tags", "prod;web;x")])
        .await
        .unwrap();
    let merged = call(&c, Get, path, &[]).await.unwrap();
    assert_eq!(merged["memory"], "4096", "{merged}");
    let current = call(&c, Get, path, &[("current", "1")]).await.unwrap();
    assert_eq!(current["memory"], "2048", "{current}");
    assert_eq!(current["tags"], "prod;web;x", "{current}");
    let pending = call(&c, Get, "/nodes/pve1/qemu/100/pending", &[])
        .await
        .unwrap();
    let item = |key: &str| {
        pending
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"] == key)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(item("memory")["value"], "2048", "{pending}");
    assert_eq!(item("memory")["pending"], "4096", "{pending}");
    assert!(item("tags").get("pending").is_none(), "{pending}");
    // A deletion waits too, and `revert` drops a pending change.
    call(&c, Put, path, &[("delete", "cpu")]).await.unwrap();
    call(&c, Put, path, &[("cores", "4")]).await.unwrap();
    call(&c, Put, path, &[("revert", "cores")]).await.unwrap();
    let pending = call(&c, Get, "/nodes/pve1/qemu/100/pending", &[])
        .await
        .unwrap();
    let cpu = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "cpu")
        .unwrap();
    assert_eq!(cpu["delete"], 1, "{pending}");
    assert!(!pending.to_string().contains("\"pending\":4"), "{pending}");
    // The memory in use is still the old one until the VM is restarted.
    let status = call(&c, Get, "/nodes/pve1/qemu/100/status/current", &[])
        .await
        .unwrap();
    assert_eq!(status["maxmem"], 2048u64 << 20);
    assert!(
        run(&c, Post, "/nodes/pve1/qemu/100/status/reboot", &[])
            .await
            .success
    );
    let current = call(&c, Get, path, &[("current", "1")]).await.unwrap();
    assert_eq!(current["memory"], "4096", "{current}");
    assert!(current.get("cpu").is_none(), "{current}");
    let pending = call(&c, Get, "/nodes/pve1/qemu/100/pending", &[])
        .await
        .unwrap();
    assert!(!pending.to_string().contains("pending"), "{pending}");
    // A stopped VM takes changes at once.
    call(
        &c,
        Put,
        "/nodes/pve2/qemu/102/config",
        &[("memory", "4096")],
    )
    .await
    .unwrap();
    let current = call(&c, Get, "/nodes/pve2/qemu/102/config", &[("current", "1")])
        .await
        .unwrap();
    assert_eq!(current["memory"], "4096", "{current}");
}

#[tokio::test]
async fn demo_converts_templates_and_answers_features() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let f = call(
        &c,
        Get,
        "/nodes/pve1/qemu/101/feature",
        &[("feature", "snapshot")],
    )
    .await
    .unwrap();
    assert_eq!(
        f,
        serde_json::json!({"hasFeature": true, "nodes": ["pve1"]})
    );
    let f = call(
        &c,
        Get,
        "/nodes/pve1/qemu/101/feature",
        &[("feature", "clone")],
    )
    .await
    .unwrap();
    assert_eq!(f["hasFeature"], false, "{f}");
    let f = call(
        &c,
        Get,
        "/nodes/pve2/qemu/103/feature",
        &[("feature", "clone")],
    )
    .await
    .unwrap();
    assert_eq!(f["hasFeature"], true, "{f}");
    let f = call(
        &c,
        Get,
        "/nodes/pve1/lxc/200/feature",
        &[("feature", "snapshot")],
    )
    .await
    .unwrap();
    assert_eq!(f, serde_json::json!({"hasFeature": true}));
    // PVE's refusals: running, snapshots, a template already; and the template is clone-only.
    for (path, want) in [
        (
            "/nodes/pve1/qemu/101/template",
            "you can't convert a VM to template if VM is running",
        ),
        (
            "/nodes/pve1/qemu/100/template",
            "unable to create template, because VM contains snapshots",
        ),
        (
            "/nodes/pve2/qemu/103/template",
            "Permission check failed (/vms/103, VM.Allocate)",
        ),
    ] {
        let e = call(&c, Post, path, &[]).await.unwrap_err();
        assert!(e.to_string().contains(want), "{path}: {e}");
    }
    let upid = call(&c, Post, "/nodes/pve1/qemu/104/template", &[])
        .await
        .unwrap();
    assert!(
        upid.as_str().unwrap().contains(":qmtemplate:104:"),
        "{upid}"
    );
    assert!(wait(&c, &upid).await.success);
    let config = call(&c, Get, "/nodes/pve1/qemu/104/config", &[])
        .await
        .unwrap();
    assert_eq!(config["template"], 1, "{config}");
    assert!(
        config["scsi0"]
            .as_str()
            .unwrap()
            .starts_with("local-lvm:base-104-disk-0,"),
        "{config}"
    );
    let e = call(&c, Post, "/nodes/pve1/qemu/104/template", &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("template to a template"), "{e}");
    // A container's conversion answers null and runs as a task.
    let none = call(&c, Post, "/nodes/pve2/lxc/201/template", &[])
        .await
        .unwrap();
    assert_eq!(none, Value::Null);
    let tasks = call(
        &c,
        Get,
        "/nodes/pve2/tasks",
        &[("typefilter", "vztemplate"), ("source", "all")],
    )
    .await
    .unwrap();
    assert!(wait(&c, &tasks[0]["upid"]).await.success, "{tasks}");
    let config = call(&c, Get, "/nodes/pve2/lxc/201/config", &[])
        .await
        .unwrap();
    assert_eq!(config["template"], 1, "{config}");
    assert!(
        config["rootfs"]
            .as_str()
            .unwrap()
            .contains("base-201-disk-0")
    );
}

#[tokio::test]
async fn demo_restores_its_backups_like_pve() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let archive = "local:backup/vzdump-qemu-100-2026_11_20-02_00_00.vma.zst";
    let upid = call(
        &c,
        Post,
        "/nodes/pve1/qemu",
        &[("vmid", "120"), ("archive", archive), ("unique", "1")],
    )
    .await
    .unwrap();
    assert!(upid.as_str().unwrap().contains(":qmrestore:120:"), "{upid}");
    let out = wait(&c, &upid).await;
    assert!(out.success, "{out:?}");
    let config = call(&c, Get, "/nodes/pve1/qemu/120/config", &[])
        .await
        .unwrap();
    assert_eq!(config["name"], "web01", "{config}");
    assert!(
        config["scsi0"]
            .as_str()
            .unwrap()
            .starts_with("local-lvm:vm-120-disk-0,"),
        "{config}"
    );
    assert!(
        config["net0"]
            .as_str()
            .unwrap()
            .contains("BC:24:11:00:00:78")
    );
    for (path, params, want) in [
        (
            "/nodes/pve1/qemu",
            vec![("vmid", "101"), ("archive", archive)],
            "unable to restore VM 101 - VM 101 already exists on node 'pve1'",
        ),
        (
            "/nodes/pve1/qemu",
            vec![("vmid", "101"), ("archive", archive), ("force", "1")],
            "unable to restore VM 101 - vm is running",
        ),
        (
            "/nodes/pve1/lxc",
            vec![
                ("vmid", "200"),
                (
                    "ostemplate",
                    "local:backup/vzdump-lxc-200-2026_11_20-02_10_00.tar.zst",
                ),
                ("restore", "1"),
                ("force", "1"),
            ],
            "can't overwrite running container",
        ),
        (
            "/nodes/pve1/lxc",
            vec![
                ("vmid", "100"),
                (
                    "ostemplate",
                    "local:backup/vzdump-lxc-200-2026_11_20-02_10_00.tar.zst",
                ),
                ("restore", "1"),
            ],
            "VM 100 already exists on node 'pve1'",
        ),
        (
            "/nodes/pve1/qemu",
            vec![("vmid", "121"), ("archive", "local:backup/nothing.vma.zst")],
            "volume 'local:backup/nothing.vma.zst' does not exist",
        ),
    ] {
        let e = call(&c, Post, path, &params).await.unwrap_err();
        assert!(e.to_string().contains(want), "{params:?}: {e}");
    }
    // A container from its backup, onto the shared storage.
    let out = run(
        &c,
        Post,
        "/nodes/pve1/lxc",
        &[
            ("vmid", "220"),
            (
                "ostemplate",
                "local:backup/vzdump-lxc-200-2026_11_20-02_10_00.tar.zst",
            ),
            ("restore", "1"),
            ("storage", "nas"),
        ],
    )
    .await;
    assert!(out.success, "{out:?}");
    let config = call(&c, Get, "/nodes/pve1/lxc/220/config", &[])
        .await
        .unwrap();
    assert_eq!(config["hostname"], "dns", "{config}");
    assert!(
        config["rootfs"]
            .as_str()
            .unwrap()
            .starts_with("nas:220/vm-220-disk-0.raw,"),
        "{config}"
    );
}

#[tokio::test]
async fn demo_resizes_moves_and_unlinks_disks() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let out = run(
        &c,
        Put,
        "/nodes/pve1/qemu/101/resize",
        &[("disk", "scsi0"), ("size", "+10G")],
    )
    .await;
    assert!(out.success, "{out:?}");
    let config = call(&c, Get, "/nodes/pve1/qemu/101/config", &[])
        .await
        .unwrap();
    assert!(
        config["scsi0"].as_str().unwrap().ends_with("size=110G"),
        "{config}"
    );
    // A VM's shrink fails in its task; a container's is refused at once.
    let out = run(
        &c,
        Put,
        "/nodes/pve1/qemu/101/resize",
        &[("disk", "scsi0"), ("size", "50G")],
    )
    .await;
    assert_eq!(out.exit_status, "shrinking disks is not supported");
    let e = call(
        &c,
        Put,
        "/nodes/pve2/lxc/201/resize",
        &[("disk", "rootfs"), ("size", "16G")],
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("unable to shrink disk size"), "{e}");
    // A move to the shared storage keeps the old volume as unused0.
    let out = run(
        &c,
        Post,
        "/nodes/pve2/qemu/102/move_disk",
        &[("disk", "scsi0"), ("storage", "nas")],
    )
    .await;
    assert!(out.success, "{out:?}");
    let config = call(&c, Get, "/nodes/pve2/qemu/102/config", &[])
        .await
        .unwrap();
    assert!(
        config["scsi0"]
            .as_str()
            .unwrap()
            .starts_with("nas:102/vm-102-disk-0.qcow2,"),
        "{config}"
    );
    assert_eq!(config["unused0"], "local-lvm:vm-102-disk-0", "{config}");
    let nas = call(&c, Get, "/nodes/pve1/storage/nas/content", &[])
        .await
        .unwrap();
    assert!(
        nas.to_string().contains("nas:102/vm-102-disk-0.qcow2"),
        "{nas}"
    );
    for (path, params, want) in [
        (
            "/nodes/pve2/qemu/102/move_disk",
            vec![("disk", "scsi0"), ("storage", "nas")],
            "you can't move to the same storage with same format",
        ),
        (
            "/nodes/pve2/qemu/102/move_disk",
            vec![("disk", "scsi0"), ("storage", "local")],
            "storage 'local' does not support vm images",
        ),
        (
            "/nodes/pve2/qemu/102/move_disk",
            vec![("disk", "ide2"), ("storage", "nas")],
            "you can't move a cdrom",
        ),
        (
            "/nodes/pve1/lxc/200/move_volume",
            vec![("volume", "rootfs"), ("storage", "nas")],
            "cannot move volumes of a running container",
        ),
    ] {
        let e = call(&c, Post, path, &params).await.unwrap_err();
        assert!(e.to_string().contains(want), "{params:?}: {e}");
    }
    let out = run(
        &c,
        Post,
        "/nodes/pve2/lxc/201/move_volume",
        &[("volume", "rootfs"), ("storage", "nas"), ("delete", "1")],
    )
    .await;
    assert!(out.success, "{out:?}");
    let config = call(&c, Get, "/nodes/pve2/lxc/201/config", &[])
        .await
        .unwrap();
    assert!(
        config["rootfs"]
            .as_str()
            .unwrap()
            .starts_with("nas:201/vm-201-disk-0.raw,"),
        "{config}"
    );
    assert!(config.get("unused0").is_none(), "{config}");
    // On shared storage only, it may be cloned to the other node.
    let out = run(
        &c,
        Post,
        "/nodes/pve2/lxc/201/clone",
        &[("newid", "260"), ("target", "pve1"), ("hostname", "build2")],
    )
    .await;
    assert!(out.success, "{out:?}");
    call(&c, Get, "/nodes/pve1/lxc/260/config", &[])
        .await
        .unwrap();
    // Unlink: a disk becomes unusedN; an unused volume is destroyed.
    call(
        &c,
        Put,
        "/nodes/pve2/qemu/102/config",
        &[("scsi1", "local-lvm:4")],
    )
    .await
    .unwrap();
    call(
        &c,
        Put,
        "/nodes/pve2/qemu/102/unlink",
        &[("idlist", "scsi1")],
    )
    .await
    .unwrap();
    let config = call(&c, Get, "/nodes/pve2/qemu/102/config", &[])
        .await
        .unwrap();
    assert!(config.get("scsi1").is_none(), "{config}");
    assert!(
        config["unused1"]
            .as_str()
            .unwrap()
            .starts_with("local-lvm:vm-102-disk-")
    );
    call(
        &c,
        Put,
        "/nodes/pve2/qemu/102/unlink",
        &[("idlist", "unused0,unused1"), ("force", "1")],
    )
    .await
    .unwrap();
    let config = call(&c, Get, "/nodes/pve2/qemu/102/config", &[])
        .await
        .unwrap();
    assert!(!config.to_string().contains("unused"), "{config}");
}

/// Runs `argv` through the agent of `vmid` on pve1 and returns its status.
async fn exec(c: &Client, vmid: u64, argv: &[&str]) -> Result<Value, Error> {
    let path = format!("/nodes/pve1/qemu/{vmid}/agent/exec");
    let pairs: Vec<(&str, &str)> = argv.iter().map(|a| ("command", *a)).collect();
    let started = call(c, Post, &path, &pairs).await?;
    let pid = started["pid"].as_u64().unwrap().to_string();
    call(
        c,
        Get,
        &format!("/nodes/pve1/qemu/{vmid}/agent/exec-status"),
        &[("pid", &pid)],
    )
    .await
}

#[tokio::test]
async fn demo_guest_agent_answers_like_qemu_ga() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let base = "/nodes/pve1/qemu/100/agent";
    let os = call(&c, Get, &format!("{base}/get-osinfo"), &[])
        .await
        .unwrap();
    assert_eq!(os["result"]["id"], "debian", "{os}");
    let ifs = call(&c, Get, &format!("{base}/network-get-interfaces"), &[])
        .await
        .unwrap();
    assert_eq!(ifs["result"][1]["hardware-address"], "bc:24:11:00:00:64");
    let host = call(&c, Get, &format!("{base}/get-host-name"), &[])
        .await
        .unwrap();
    assert_eq!(host["result"]["host-name"], "web01");
    let fs = call(&c, Get, &format!("{base}/get-fsinfo"), &[])
        .await
        .unwrap();
    assert_eq!(fs["result"][0]["mountpoint"], "/", "{fs}");
    let ping = call(&c, Post, &format!("{base}/ping"), &[]).await.unwrap();
    assert_eq!(ping, serde_json::json!({"result": {}}));
    // exec and exec-status, unwrapped; a command in a shell that is not there exits 127.
    let st = exec(&c, 100, &["uname", "-a"]).await.unwrap();
    assert_eq!(st["exited"], 1, "{st}");
    assert_eq!(st["exitcode"], 0, "{st}");
    assert!(
        st["out-data"].as_str().unwrap().starts_with("Linux web01 "),
        "{st}"
    );
    let st = exec(&c, 100, &["cat", "/etc/os-release"]).await.unwrap();
    assert!(st["out-data"].as_str().unwrap().contains("trixie"), "{st}");
    let st = exec(&c, 100, &["df", "-h"]).await.unwrap();
    assert!(st["out-data"].as_str().unwrap().contains(" /\n"), "{st}");
    let st = exec(&c, 100, &["sh", "-c", "frobnicate --now"])
        .await
        .unwrap();
    assert_eq!(st["exitcode"], 127, "{st}");
    assert_eq!(st["err-data"], "sh: 1: frobnicate: not found\n", "{st}");
    let e = exec(&c, 100, &["frobnicate"]).await.unwrap_err();
    assert!(
        e.to_string().contains("Failed to execute child process"),
        "{e}"
    );
    // Files written are read back; a missing one is QEMU-GA's error.
    call(
        &c,
        Post,
        &format!("{base}/file-write"),
        &[("file", "/tmp/demo.txt"), ("content", "hello demo\n")],
    )
    .await
    .unwrap();
    let read = call(
        &c,
        Get,
        &format!("{base}/file-read"),
        &[("file", "/tmp/demo.txt")],
    )
    .await
    .unwrap();
    assert_eq!(read["content"], "hello demo\n", "{read}");
    let read = call(
        &c,
        Get,
        &format!("{base}/file-read"),
        &[("file", "/etc/os-release"), ("count", "10")],
    )
    .await
    .unwrap();
    assert_eq!(read["truncated"], 1, "{read}");
    let e = call(&c, Get, &format!("{base}/file-read"), &[("file", "/nope")])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("failed to open file '/nope'"), "{e}");
    // Freeze, status, thaw.
    let n = call(&c, Post, &format!("{base}/fsfreeze-freeze"), &[])
        .await
        .unwrap();
    assert_eq!(n["result"], 1, "{n}");
    let s = call(&c, Post, &format!("{base}/fsfreeze-status"), &[])
        .await
        .unwrap();
    assert_eq!(s["result"], "frozen");
    call(&c, Post, &format!("{base}/fsfreeze-thaw"), &[])
        .await
        .unwrap();
    let s = call(&c, Post, &format!("{base}/fsfreeze-status"), &[])
        .await
        .unwrap();
    assert_eq!(s["result"], "thawed");
    let pw = call(
        &c,
        Post,
        &format!("{base}/set-user-password"),
        &[("username", "root"), ("password", "correct horse")],
    )
    .await
    .unwrap();
    assert_eq!(pw, serde_json::json!({"result": {}}));
    // db01 has the agent enabled but not installed; win11 has none configured and is stopped.
    let e = call(&c, Get, "/nodes/pve1/qemu/101/agent/get-osinfo", &[])
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert!(
        e.to_string().contains("QEMU guest agent is not running"),
        "{e}"
    );
    let e = call(&c, Post, "/nodes/pve2/qemu/102/agent/ping", &[])
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("No QEMU guest agent configured"),
        "{e}"
    );
    // Shutting the guest down through its agent stops it.
    call(&c, Post, &format!("{base}/shutdown"), &[])
        .await
        .unwrap();
    let e = call(&c, Post, &format!("{base}/ping"), &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("VM 100 is not running"), "{e}");
}

#[tokio::test]
async fn demo_metrics_cloudinit_and_consoles() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let points = call(
        &c,
        Get,
        "/nodes/pve1/qemu/101/rrddata",
        &[("timeframe", "hour"), ("cf", "AVERAGE")],
    )
    .await
    .unwrap();
    let points = points.as_array().unwrap();
    assert_eq!(points.len(), 70);
    let status = call(&c, Get, "/nodes/pve1/qemu/101/status/current", &[])
        .await
        .unwrap();
    assert_eq!(points[69]["mem"].as_f64(), status["mem"].as_f64());
    assert_eq!(points[69]["maxmem"], status["maxmem"]);
    let step = points[1]["time"].as_u64().unwrap() - points[0]["time"].as_u64().unwrap();
    assert_eq!(step, 60);
    let day = call(
        &c,
        Get,
        "/nodes/pve2/qemu/102/rrddata",
        &[("timeframe", "day")],
    )
    .await
    .unwrap();
    assert_eq!(
        day[1]["time"].as_u64().unwrap() - day[0]["time"].as_u64().unwrap(),
        1800
    );
    assert!(
        day.as_array().unwrap().iter().all(|p| p["cpu"] == 0),
        "stopped"
    );
    // Cloud-init of a clone of the template: a change is pending until the drive is rebuilt.
    let out = run(&c, Post, "/nodes/pve2/qemu/103/clone", &[("newid", "150")]).await;
    assert!(out.success, "{out:?}");
    let ci = call(&c, Get, "/nodes/pve2/qemu/150/cloudinit", &[])
        .await
        .unwrap();
    assert!(ci.to_string().contains("\"ciuser\""), "{ci}");
    assert!(!ci.to_string().contains("pending"), "{ci}");
    let config = call(&c, Get, "/nodes/pve2/qemu/150/config", &[])
        .await
        .unwrap();
    assert_eq!(
        config["ide2"], "local-lvm:vm-150-cloudinit,media=cdrom",
        "{config}"
    );
    call(
        &c,
        Put,
        "/nodes/pve2/qemu/150/config",
        &[
            ("ciuser", "admin"),
            ("ipconfig0", "ip=192.0.2.50/24,gw=192.0.2.1"),
        ],
    )
    .await
    .unwrap();
    let ci = call(&c, Get, "/nodes/pve2/qemu/150/cloudinit", &[])
        .await
        .unwrap();
    let user = ci
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "ciuser")
        .unwrap();
    assert_eq!(user["value"], "debian", "{ci}");
    assert_eq!(user["pending"], "admin", "{ci}");
    let dump = call(
        &c,
        Get,
        "/nodes/pve2/qemu/150/cloudinit/dump",
        &[("type", "user")],
    )
    .await
    .unwrap();
    let dump = dump.as_str().unwrap();
    assert!(
        dump.starts_with("#cloud-config\n") && dump.contains("user: admin"),
        "{dump}"
    );
    assert!(dump.contains("  - ssh-ed25519 AAAA"), "{dump}");
    let net = call(
        &c,
        Get,
        "/nodes/pve2/qemu/150/cloudinit/dump",
        &[("type", "network")],
    )
    .await
    .unwrap();
    assert!(
        net.as_str().unwrap().contains("address: '192.0.2.50/24'"),
        "{net}"
    );
    call(&c, Put, "/nodes/pve2/qemu/150/cloudinit", &[])
        .await
        .unwrap();
    let ci = call(&c, Get, "/nodes/pve2/qemu/150/cloudinit", &[])
        .await
        .unwrap();
    assert!(!ci.to_string().contains("pending"), "{ci}");
    // Consoles: fake tickets of PVE's shape; a stopped guest has none.
    let vnc = call(&c, Post, "/nodes/pve1/qemu/100/vncproxy", &[])
        .await
        .unwrap();
    assert!(vnc["ticket"].as_str().unwrap().contains("DEMO"), "{vnc}");
    assert!(vnc["port"].is_u64() && vnc["upid"].as_str().unwrap().starts_with("UPID:pve1:"));
    let term = call(&c, Post, "/nodes/pve1/lxc/200/termproxy", &[])
        .await
        .unwrap();
    assert!(
        term["user"].is_string() && term.get("cert").is_none(),
        "{term}"
    );
    let e = call(&c, Post, "/nodes/pve1/qemu/100/spiceproxy", &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no spice port"), "{e}");
    let e = call(&c, Post, "/nodes/pve2/qemu/102/spiceproxy", &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("VM 102 not running"), "{e}");
}

#[tokio::test]
async fn demo_starts_stops_and_migrates_a_node_guests() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let out = run(&c, Post, "/nodes/pve1/stopall", &[]).await;
    assert!(out.success, "{out:?}");
    let log = log_of(&c, out.upid.as_str()).await;
    assert!(
        log.iter().any(|l| l.starts_with("Stopping CT 200")),
        "{log:?}"
    );
    let list = call(&c, Get, "/nodes/pve1/qemu", &[]).await.unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|g| g["status"] == "stopped"),
        "{list}"
    );
    // startall starts the guests marked onboot; `force` the listed others too.
    let out = run(&c, Post, "/nodes/pve1/startall", &[]).await;
    assert!(out.success, "{out:?}");
    for (path, want) in [
        ("/nodes/pve1/qemu/100/status/current", "running"),
        ("/nodes/pve1/qemu/101/status/current", "running"),
        ("/nodes/pve1/lxc/200/status/current", "stopped"),
    ] {
        let s = call(&c, Get, path, &[]).await.unwrap();
        assert_eq!(s["status"], want, "{path}");
    }
    let out = run(
        &c,
        Post,
        "/nodes/pve1/startall",
        &[("vms", "200,104"), ("force", "1")],
    )
    .await;
    let log = log_of(&c, out.upid.as_str()).await;
    assert!(
        log.iter().any(|l| l.contains("Starting VM 104 failed")),
        "{log:?}"
    );
    let s = call(&c, Get, "/nodes/pve1/lxc/200/status/current", &[])
        .await
        .unwrap();
    assert_eq!(s["status"], "running");
    let e = call(&c, Post, "/nodes/pve2/startall", &[("vms", "103")])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("(/vms/103, VM.PowerMgmt)"), "{e}");
    // migrateall: running VMs with local disks are skipped without with-local-disks.
    let out = run(&c, Post, "/nodes/pve1/migrateall", &[("target", "pve2")]).await;
    assert!(out.success, "{out:?}");
    let log = log_of(&c, out.upid.as_str()).await;
    assert!(log.iter().any(|l| l.contains("Has local disks")), "{log:?}");
    let s = call(&c, Get, "/nodes/pve2/lxc/200/status/current", &[])
        .await
        .unwrap();
    assert_eq!(s["status"], "running");
    call(&c, Get, "/nodes/pve1/qemu/100/status/current", &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn demo_storage_content_deletes_prunes_and_downloads() {
    let demo = start().await.unwrap();
    let c = client(&demo);
    let params = [
        ("content", "iso"),
        ("filename", "alpine-3.22.iso"),
        ("url", "https://example.org/alpine-3.22.iso"),
    ];
    let out = run(&c, Post, "/nodes/pve1/storage/local/download-url", &params).await;
    assert!(out.success, "{out:?}");
    let isos = call(
        &c,
        Get,
        "/nodes/pve1/storage/local/content",
        &[("content", "iso")],
    )
    .await
    .unwrap();
    assert!(
        isos.to_string().contains("local:iso/alpine-3.22.iso"),
        "{isos}"
    );
    let out = run(&c, Post, "/nodes/pve1/storage/local/download-url", &params).await;
    assert!(
        out.exit_status
            .contains("refusing to override existing file"),
        "{out:?}"
    );
    let e = call(
        &c,
        Post,
        "/nodes/pve1/storage/local/download-url",
        &[
            ("content", "iso"),
            ("filename", "x.exe"),
            ("url", "https://example.org/x"),
        ],
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("wrong file extension"), "{e}");
    // Delete: a task; with `delay` it is done at once and PVE answers null.
    let out = run(
        &c,
        Delete,
        "/nodes/pve1/storage/local/content/local:iso/alpine-3.22.iso",
        &[],
    )
    .await;
    assert!(out.success, "{out:?}");
    let none = call(
        &c,
        Delete,
        "/nodes/pve1/storage/local/content/iso/Win11_24H2_English_x64.iso",
        &[("delay", "5")],
    )
    .await
    .unwrap();
    assert_eq!(none, Value::Null);
    let isos = call(
        &c,
        Get,
        "/nodes/pve1/storage/local/content",
        &[("content", "iso")],
    )
    .await
    .unwrap();
    assert_eq!(isos.as_array().unwrap().len(), 1, "{isos}");
    let out = run(
        &c,
        Delete,
        "/nodes/pve1/storage/local-lvm/content/local-lvm:vm-100-disk-0",
        &[],
    )
    .await;
    assert!(out.exit_status.contains("in use"), "{out:?}");
    // Prune: a second backup of 100, then keep-last=1 marks the older one.
    let out = run(
        &c,
        Post,
        "/nodes/pve1/vzdump",
        &[("vmid", "100"), ("storage", "local")],
    )
    .await;
    assert!(out.success, "{out:?}");
    let marks = call(
        &c,
        Get,
        "/nodes/pve1/storage/local/prunebackups",
        &[("prune-backups", "keep-last=1"), ("vmid", "100")],
    )
    .await
    .unwrap();
    let marks = marks.as_array().unwrap();
    assert_eq!(marks.len(), 2, "{marks:?}");
    assert_eq!(marks[0]["mark"], "keep");
    assert_eq!(marks[1]["mark"], "remove");
    assert_eq!(marks[1]["type"], "qemu");
    let out = run(
        &c,
        Delete,
        "/nodes/pve1/storage/local/prunebackups",
        &[("prune-backups", "keep-last=1"), ("vmid", "100")],
    )
    .await;
    assert!(out.success, "{out:?}");
    let left = call(
        &c,
        Get,
        "/nodes/pve1/storage/local/content",
        &[("content", "backup"), ("vmid", "100")],
    )
    .await
    .unwrap();
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert!(!left.to_string().contains("2026_11_20"), "{left}");
    // Uploads need a real PVE, and say so (the SDK does not send them: ask over raw HTTP).
    let raw = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let resp = raw
        .post(format!(
            "https://127.0.0.1:{}/api2/json/nodes/pve1/storage/local/upload",
            demo.port
        ))
        .header("Authorization", format!("PVEAPIToken={}", demo.token))
        .header("Content-Type", "multipart/form-data; boundary=x")
        .body(b"--x\r\n\xff\xfe binary\r\n--x--\r\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 501);
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("uploads are not simulated"), "{message}");
    assert!(message.contains("download-url"), "{message}");
}
