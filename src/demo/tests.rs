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
