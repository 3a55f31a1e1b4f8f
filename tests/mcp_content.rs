//! The `content` and `restore` toolsets against fakepve: storage definitions and volumes,
//! deleting a volume, pruning backups, downloading from a URL, uploading a local file (streamed,
//! only from the upload directory), restoring a backup, and reading files out of a backup.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use std::path::{Path, PathBuf};

use common::FakePve;
use mcp::Mcp;
use serde_json::{Value, json};

const ELEVATED: (&str, &str) = ("PROXMOX_ALLOW_ELEVATED", "true");

/// A server for `pve` as alice with the content and restore toolsets (and guests, to look).
async fn session(pve: &FakePve, extra: &[(&str, &str)]) -> Mcp {
    Mcp::alice(pve, extra, &["--toolsets", "guests,content,restore"]).await
}

/// What alice needs beyond her VM operator role: allocate and delete on the storages, and
/// Sys.Modify for download-url.
async fn grant_storage(pve: &FakePve) {
    pve.control(json!({"op": "grant", "id": "alice@pve", "path": "/storage",
        "privs": ["Datastore.Allocate", "Datastore.AllocateTemplate", "Datastore.AllocateSpace",
                  "Datastore.Audit"]}))
        .await;
    pve.control(json!({"op": "grant", "id": "alice@pve", "path": "/", "privs": ["Sys.Modify"]}))
        .await;
}

/// Puts a file on a storage of the fake (`content` iso, vztmpl, backup, ...).
async fn store(pve: &FakePve, storage: &str, name: &str, size: u64, content: &str) {
    pve.control(json!({"op": "call", "method": "store_file",
        "args": [storage, name, size, content]}))
        .await;
}

/// The requests with `method` whose path ends with `suffix`.
async fn sent(pve: &FakePve, method: &str, suffix: &str) -> Vec<Value> {
    pve.requests()
        .await
        .into_iter()
        .filter(|r| r["method"] == method && r["path"].as_str().unwrap_or("").ends_with(suffix))
        .collect()
}

/// The query of a request as a map.
fn query(r: &Value) -> serde_json::Map<String, Value> {
    r["query"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].clone()))
        .collect()
}

/// The volume IDs on a storage, as proxmox_storage_content lists them.
async fn volids(s: &Mcp, storage: &str) -> Vec<String> {
    let r = s
        .ok(
            "proxmox_storage_content",
            json!({"storage": storage, "limit": 1000}),
        )
        .await;
    r["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["volid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn storage_definitions_and_volumes_newest_first() {
    let pve = FakePve::start().await;
    grant_storage(&pve).await;
    let default = Mcp::alice(&pve, &[], &[]).await;
    let listed: Vec<String> = default
        .tools()
        .await
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for t in ["proxmox_storage_content", "proxmox_backup_restore"] {
        assert!(!listed.iter().any(|n| n == t), "{t} is not a default tool");
    }
    let s = session(&pve, &[]).await;
    let cfg = s.ok("proxmox_storage_config", json!({})).await;
    let local = cfg["storages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["storage"] == "local")
        .unwrap()
        .clone();
    assert_eq!(local["type"], "dir", "{cfg}");
    assert_eq!(
        local["content"],
        json!(["iso", "vztmpl", "backup"]),
        "{cfg}"
    );
    assert_eq!(local["shared"], false, "{cfg}");
    let one = s
        .ok("proxmox_storage_config", json!({"storage": "local-lvm"}))
        .await;
    assert_eq!(one["storage"]["type"], "lvmthin", "{one}");
    assert_eq!(one["storage"]["vgname"], "pve", "{one}");

    store(&pve, "local", "debian.iso", 1234, "iso").await;
    store(
        &pve,
        "local",
        "vzdump-qemu-101-2025_01_01-00_00_00.vma.zst",
        5000,
        "backup",
    )
    .await;
    pve.clear_requests().await;
    let isos = s
        .ok(
            "proxmox_storage_content",
            json!({"storage": "local", "content": "iso"}),
        )
        .await;
    assert_eq!(isos["node"], "pve1", "the storage's only node: {isos}");
    assert_eq!(isos["total"], 1, "{isos}");
    let iso = &isos["volumes"][0];
    assert_eq!(iso["volid"], "local:iso/debian.iso");
    assert_eq!(iso["size"], 1234);
    assert!(iso["created"].as_str().unwrap().ends_with('Z'), "{iso}");
    let get = sent(&pve, "GET", "/nodes/pve1/storage/local/content").await;
    assert_eq!(query(&get[0])["content"], "iso", "{get:?}");
    let one = s
        .ok(
            "proxmox_storage_content",
            json!({"storage": "local", "limit": 1}),
        )
        .await;
    assert_eq!(one["total"], 2, "{one}");
    assert_eq!(one["volumes"].as_array().unwrap().len(), 1, "{one}");
    assert!(one["next"].as_str().unwrap().contains("1 more"), "{one}");
    let e = s
        .err("proxmox_storage_content", json!({"storage": "nfs9"}))
        .await;
    assert!(e.contains("no storage `nfs9`"), "{e}");
}

#[tokio::test]
async fn a_volume_is_deleted_by_name_and_size_and_a_disk_in_use_is_refused() {
    let pve = FakePve::start().await;
    grant_storage(&pve).await;
    store(&pve, "local", "debian.iso", 1234, "iso").await;
    // Unelevated: refused before anything is sent.
    let ro = session(&pve, &[]).await;
    let e = ro
        .err(
            "proxmox_storage_content_delete",
            json!({"volume": "local:iso/debian.iso"}),
        )
        .await;
    assert!(e.contains("does not allow writes"), "{e}");
    assert!(sent(&pve, "DELETE", "").await.is_empty());

    let s = session(&pve, &[ELEVATED]).await;
    // A dry run shows the request, sends nothing.
    let r = s
        .ok(
            "proxmox_storage_content_delete",
            json!({"volume": "local:iso/debian.iso", "dry_run": true}),
        )
        .await;
    assert_eq!(
        r["request"]["path"], "/nodes/pve1/storage/local/content/local:iso/debian.iso",
        "{r}"
    );
    assert!(r["confirmation"].is_string(), "{r}");
    assert!(sent(&pve, "DELETE", "").await.is_empty());
    assert!(s.asked().is_empty());

    let r = s
        .ok(
            "proxmox_storage_content_delete",
            json!({"volume": "local:iso/debian.iso"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let asked = s.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].contains("local:iso/debian.iso")
            && asked[0].contains("1234 bytes")
            && asked[0].contains("ISO image"),
        "{asked:?}"
    );
    let del = sent(&pve, "DELETE", "debian.iso").await;
    // The volume ID takes the rest of the path: its `/` stays, PVE routes it to `{volume}`.
    assert_eq!(
        del[0]["raw_path"],
        "/api2/json/nodes/pve1/storage/local/content/local:iso/debian.iso"
    );
    assert_eq!(
        del[0]["route"]["params"]["volume"], "local:iso/debian.iso",
        "{del:?}"
    );
    assert!(
        !volids(&s, "local")
            .await
            .iter()
            .any(|v| v.contains("debian"))
    );

    // A backup: named with its guest.
    let backup = "vzdump-lxc-201-2025_01_01-00_00_00.tar.zst";
    store(&pve, "local", backup, 4096, "backup").await;
    s.ok(
        "proxmox_storage_content_delete",
        json!({"volume": format!("local:backup/{backup}")}),
    )
    .await;
    let last = s.asked().pop().unwrap();
    assert!(
        last.contains("backup of guest 201") && last.contains("4.0 KiB"),
        "{last}"
    );
    assert!(!volids(&s, "local").await.iter().any(|v| v.contains(backup)));

    // A disk a guest uses: refused, naming the key and the tool that detaches it.
    pve.clear_requests().await;
    let e = s
        .err(
            "proxmox_storage_content_delete",
            json!({"volume": "local-lvm:vm-101-disk-1"}),
        )
        .await;
    assert!(
        e.contains("VM 101") && e.contains("scsi1") && e.contains("proxmox_guest_disk_detach"),
        "{e}"
    );
    assert!(sent(&pve, "DELETE", "").await.is_empty());

    // A disk no guest uses goes.
    let client = common::alice(&pve);
    let mut form = proxmox_mcp::params::Form::new();
    form.text("vmid", "102");
    form.text("filename", "vm-102-disk-9");
    form.text("size", "1G");
    client
        .request(
            proxmox_mcp::apidoc::HttpMethod::Post,
            "/nodes/pve1/storage/local-lvm/content",
            form,
        )
        .await
        .unwrap();
    let r = s
        .ok(
            "proxmox_storage_content_delete",
            json!({"volume": "local-lvm:vm-102-disk-9"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    let last = s.asked().pop().unwrap();
    assert!(
        last.contains("disk of guest 102") && last.contains("1073741824 bytes"),
        "{last}"
    );
    assert!(
        !volids(&s, "local-lvm")
            .await
            .contains(&"local-lvm:vm-102-disk-9".to_string())
    );
    // One left as unusedN of its guest is not in use: it goes, and the question says where it
    // is listed.
    pve.control(json!({"op": "set_vm", "vmid": 101,
        "attrs": {"config": {"unused0": "local-lvm:vm-101-disk-9,size=2G"}}}))
        .await;
    pve.clear_requests().await;
    s.ok(
        "proxmox_storage_content_delete",
        json!({"volume": "local-lvm:vm-101-disk-9"}),
    )
    .await;
    let last = s.asked().pop().unwrap();
    assert!(last.contains("unused0 of VM 101 \"db\""), "{last}");
    assert_eq!(sent(&pve, "DELETE", "vm-101-disk-9").await.len(), 1);
    // A volume that is not there.
    let e = s
        .err(
            "proxmox_storage_content_delete",
            json!({"volume": "local:iso/none.iso"}),
        )
        .await;
    assert!(
        e.contains("no volume") && e.contains("proxmox_storage_content"),
        "{e}"
    );
}

/// The preview PVE gives for a retention: two backups go, one stays.
fn preview() -> Value {
    json!([
        {"volid": "local:backup/vzdump-qemu-101-2025_01_01-00_00_00.vma.zst", "mark": "remove",
         "ctime": 1735689600, "type": "qemu", "vmid": 101},
        {"volid": "local:backup/vzdump-qemu-101-2025_01_02-00_00_00.vma.zst", "mark": "remove",
         "ctime": 1735776000, "type": "qemu", "vmid": 101},
        {"volid": "local:backup/vzdump-qemu-101-2025_01_03-00_00_00.vma.zst", "mark": "keep",
         "ctime": 1735862400, "type": "qemu", "vmid": 101}
    ])
}

#[tokio::test]
async fn prune_sends_a_prune_backups_string_after_the_preview() {
    let pve = FakePve::start().await;
    grant_storage(&pve).await;
    let s = session(&pve, &[ELEVATED]).await;
    pve.control(json!({"op": "script", "method": "GET",
        "path": "/nodes/pve1/storage/local/prunebackups", "json": preview()}))
        .await;
    // A dry run reads the preview and sends no prune.
    let r = s
        .ok(
            "proxmox_backup_prune",
            json!({"storage": "local", "keep_daily": 7, "keep_last": 1, "vmid": 101,
                   "type": "qemu", "dry_run": true}),
        )
        .await;
    assert_eq!(
        r["request"]["form"]["prune-backups"], "keep-last=1,keep-daily=7",
        "{r}"
    );
    assert_eq!(r["would_keep"], 1, "{r}");
    let gone = r["would_remove"].as_array().unwrap();
    assert_eq!(gone.len(), 2, "{r}");
    assert!(sent(&pve, "DELETE", "").await.is_empty());
    let get = sent(&pve, "GET", "/prunebackups").await;
    let q = query(&get[0]);
    assert_eq!(q["prune-backups"], "keep-last=1,keep-daily=7", "{q:?}");
    assert_eq!(q["vmid"], "101");
    assert_eq!(q["type"], "qemu");

    // The prune: confirmed with the backups that go, sent as one DELETE with the string.
    let r = s
        .ok(
            "proxmox_backup_prune",
            json!({"storage": "local", "keep_daily": 7, "keep_last": 1, "vmid": 101,
                   "type": "qemu", "wait": 0}),
        )
        .await;
    assert_eq!(r["removed"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["kept"], 1, "{r}");
    let asked = s.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].contains("delete 2 backup(s)")
            && asked[0].contains("vzdump-qemu-101-2025_01_01-00_00_00.vma.zst")
            && asked[0].contains("keep-last=1,keep-daily=7"),
        "{asked:?}"
    );
    let del = sent(&pve, "DELETE", "/nodes/pve1/storage/local/prunebackups").await;
    assert_eq!(del.len(), 1, "{del:?}");
    let q = query(&del[0]);
    assert_eq!(q["prune-backups"], "keep-last=1,keep-daily=7", "{q:?}");
    assert_eq!(q["vmid"], "101");
    assert!(
        !q.contains_key("keep-last") && !q.contains_key("dry-run"),
        "{q:?}"
    );

    // A retention that removes nothing sends nothing.
    pve.control(json!({"op": "script", "method": "GET",
        "path": "/nodes/pve1/storage/local/prunebackups",
        "json": [{"volid": "local:backup/x.vma.zst", "mark": "keep", "ctime": 1, "type": "qemu"}]}))
        .await;
    pve.clear_requests().await;
    let r = s
        .ok(
            "proxmox_backup_prune",
            json!({"storage": "local", "keep_all": true}),
        )
        .await;
    assert!(
        r["note"].as_str().unwrap().contains("nothing was sent"),
        "{r}"
    );
    assert!(sent(&pve, "DELETE", "").await.is_empty());
    let e = s
        .err(
            "proxmox_backup_prune",
            json!({"storage": "local", "keep_all": true, "keep_last": 2}),
        )
        .await;
    assert!(e.contains("conflicts"), "{e}");
}

#[tokio::test]
async fn a_download_takes_its_name_from_the_url_and_lands_on_the_storage() {
    let pve = FakePve::start().await;
    grant_storage(&pve).await;
    let s = session(&pve, &[ELEVATED]).await;
    let sum = "a".repeat(64);
    let r = s
        .ok(
            "proxmox_storage_download_url",
            json!({"url": "https://cdimage.example.org/13.0/debian-13.0.0-amd64-netinst.iso?mirror=1",
                   "storage": "local", "checksum": sum, "checksum-algorithm": "sha256"}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    assert_eq!(
        r["volid"], "local:iso/debian-13.0.0-amd64-netinst.iso",
        "{r}"
    );
    let post = sent(&pve, "POST", "/nodes/pve1/storage/local/download-url").await;
    let body = post[0]["body"].as_str().unwrap();
    for part in [
        "filename=debian-13.0.0-amd64-netinst.iso",
        "content=iso",
        "checksum-algorithm=sha256",
        &format!("checksum={sum}"),
    ] {
        assert!(body.contains(part), "{part} not in {body}");
    }
    assert!(
        volids(&s, "local")
            .await
            .contains(&"local:iso/debian-13.0.0-amd64-netinst.iso".to_string())
    );
    pve.clear_requests().await;
    // A name that does not fit the content type, a URL without a name: nothing is sent.
    let e = s
        .err(
            "proxmox_storage_download_url",
            json!({"url": "https://example.org/a.iso", "storage": "local", "content": "vztmpl"}),
        )
        .await;
    assert!(
        e.contains(".tar.zst") && e.contains("Nothing was sent"),
        "{e}"
    );
    let e = s
        .err(
            "proxmox_storage_download_url",
            json!({"url": "https://example.org/", "storage": "local"}),
        )
        .await;
    assert!(e.contains("give `filename`"), "{e}");
    assert!(sent(&pve, "POST", "").await.is_empty());
}

/// A fresh directory of the test's own.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pmcp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The peak resident memory of process `pid`, in bytes (VmHWM).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn uploads_are_off_without_an_upload_directory() {
    let pve = FakePve::start().await;
    grant_storage(&pve).await;
    let s = session(&pve, &[ELEVATED]).await;
    let e = s
        .err(
            "proxmox_storage_upload",
            json!({"path": "/etc/passwd", "storage": "local", "content": "iso"}),
        )
        .await;
    assert!(
        e.contains("PROXMOX_MCP_UPLOAD_DIR")
            && e.contains("upload_dir")
            && e.contains("Nothing was sent"),
        "{e}"
    );
    assert!(sent(&pve, "POST", "/upload").await.is_empty());
    // The generic tool cannot carry a file: it points to this one.
    let api = Mcp::alice(&pve, &[ELEVATED], &["--toolsets", "api"]).await;
    let e = api
        .err(
            "proxmox_api_call",
            json!({"method": "POST", "path": "/nodes/pve1/storage/local/upload",
                   "params": {"content": "iso", "filename": "a.iso"}}),
        )
        .await;
    assert!(e.contains("proxmox_storage_upload"), "{e}");
    assert!(sent(&pve, "POST", "/upload").await.is_empty());
}

/// A 60 MiB ISO is streamed: the server's peak memory grows far less than the file.
#[tokio::test]
async fn a_large_upload_streams_with_flat_memory_and_lands_on_the_storage() {
    let pve = FakePve::start().await;
    grant_storage(&pve).await;
    let up = dir("upload-big");
    let file = up.join("big.iso");
    let len: usize = 60 << 20;
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let mut x: u32 = 0x1234_5678;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..(len >> 20) {
            for b in block.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            f.write_all(&block).unwrap();
        }
    }
    let sum = sha256_hex(&file);
    let upload_dir = up.display().to_string();
    let s = session(
        &pve,
        &[ELEVATED, ("PROXMOX_MCP_UPLOAD_DIR", upload_dir.as_str())],
    )
    .await;
    // Warm the server up (TLS, tool list) before the baseline.
    let _ = volids(&s, "local").await;
    let before = peak_rss(s.pid);
    let r = s
        .ok(
            "proxmox_storage_upload",
            json!({"path": "big.iso", "storage": "local"}),
        )
        .await;
    let after = peak_rss(s.pid);
    assert_eq!(r["status"], "OK", "{r}");
    assert_eq!(r["volid"], "local:iso/big.iso", "{r}");
    assert_eq!(r["bytes"], len as u64, "{r}");
    assert_eq!(r["sha256"], sum, "{r}");
    let grew = after.saturating_sub(before);
    eprintln!(
        "peak RSS {} KiB before, {} KiB after the upload",
        before >> 10,
        after >> 10
    );
    assert!(
        grew < 16 << 20,
        "peak RSS grew by {} MiB for a {} MiB upload",
        grew >> 20,
        len >> 20
    );
    let post = sent(&pve, "POST", "/nodes/pve1/storage/local/upload").await;
    assert_eq!(post.len(), 1);
    assert!(
        post[0]["content_type"]
            .as_str()
            .unwrap()
            .starts_with("multipart/form-data"),
        "{}",
        post[0]["content_type"]
    );
    let length: usize = post[0]["headers"]["content-length"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > len && length < len + 2048, "{length}");
    let body = post[0]["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("name=\"checksum\"\r\n\r\n{sum}\r\n"))
            && body.contains("name=\"checksum-algorithm\"\r\n\r\nsha256\r\n")
            && body.contains("filename=\"big.iso\""),
        "{}",
        &body[..400.min(body.len())]
    );
    let listed = s
        .ok(
            "proxmox_storage_content",
            json!({"storage": "local", "content": "iso"}),
        )
        .await;
    let iso = listed["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["volid"] == "local:iso/big.iso")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(iso["size"], len as u64);
    let _ = std::fs::remove_dir_all(&up);
}

#[tokio::test]
async fn uploads_outside_the_directory_through_a_link_or_of_the_wrong_kind_are_refused() {
    let pve = FakePve::start().await;
    grant_storage(&pve).await;
    let base = dir("upload-refused");
    let up = base.join("up");
    std::fs::create_dir_all(up.join("sub.iso")).unwrap();
    std::fs::write(base.join("secret.iso"), b"secret").unwrap();
    std::fs::write(up.join("notes.txt"), b"notes").unwrap();
    std::fs::write(up.join("small.iso"), b"iso").unwrap();
    std::os::unix::fs::symlink(base.join("secret.iso"), up.join("link.iso")).unwrap();
    let upload_dir = up.display().to_string();
    let s = session(
        &pve,
        &[ELEVATED, ("PROXMOX_MCP_UPLOAD_DIR", upload_dir.as_str())],
    )
    .await;
    let secret = base.join("secret.iso").display().to_string();
    for (path, why) in [
        ("../secret.iso", "outside the upload directory"),
        (secret.as_str(), "outside the upload directory"),
        ("link.iso", "outside the upload directory"),
        ("sub.iso", "not a regular file"),
        ("notes.txt", "cannot tell the content type"),
    ] {
        let e = s
            .err(
                "proxmox_storage_upload",
                json!({"path": path, "storage": "local"}),
            )
            .await;
        assert!(
            e.contains(why) && e.contains("Nothing was sent"),
            "{path}: {e}"
        );
    }
    // The content type given must fit the file's extension, both the local one and the name.
    let e = s
        .err(
            "proxmox_storage_upload",
            json!({"path": "notes.txt", "storage": "local", "content": "iso"}),
        )
        .await;
    assert!(e.contains(".iso or .img"), "{e}");
    let e = s
        .err(
            "proxmox_storage_upload",
            json!({"path": "small.iso", "storage": "local", "filename": "small.tar.zst"}),
        )
        .await;
    assert!(e.contains("does not fit"), "{e}");
    assert!(sent(&pve, "POST", "/upload").await.is_empty());
    // A dry run checks all that and shows the request; the file is not read, nothing is sent.
    let r = s
        .ok(
            "proxmox_storage_upload",
            json!({"path": "small.iso", "storage": "local", "dry_run": true}),
        )
        .await;
    assert_eq!(
        r["request"]["path"], "/nodes/pve1/storage/local/upload",
        "{r}"
    );
    assert_eq!(r["request"]["form"]["filename"], "small.iso", "{r}");
    assert_eq!(r["bytes"], 3, "{r}");
    assert!(sent(&pve, "POST", "/upload").await.is_empty());
    let _ = std::fs::remove_dir_all(&base);
}

#[tokio::test]
async fn a_container_backup_is_restored_to_the_next_free_vmid() {
    let pve = FakePve::start().await;
    grant_storage(&pve).await;
    let backup = "vzdump-lxc-201-2025_01_01-00_00_00.tar.zst";
    store(&pve, "local", backup, 1000, "backup").await;
    let s = session(&pve, &[ELEVATED]).await;
    let volid = format!("local:backup/{backup}");
    let r = s
        .ok(
            "proxmox_backup_restore",
            json!({"volume": volid, "storage": "local-lvm", "unique": true}),
        )
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    assert_eq!(r["type"], "lxc", "{r}");
    let vmid = r["vmid"].as_u64().unwrap();
    assert!(s.asked().is_empty(), "a new guest is not confirmed");
    let post = sent(&pve, "POST", "/nodes/pve1/lxc").await;
    let body = post[0]["body"]
        .as_str()
        .unwrap()
        .replace("%3A", ":")
        .replace("%2F", "/");
    for part in [
        format!("ostemplate={volid}"),
        "restore=1".to_string(),
        format!("vmid={vmid}"),
        "storage=local-lvm".to_string(),
        "unique=1".to_string(),
    ] {
        assert!(body.contains(&part), "{part} not in {body}");
    }
    assert!(!body.contains("archive="), "{body}");
    let ct = pve.control(json!({"op": "get_ct", "vmid": vmid})).await;
    assert_eq!(ct["vmid"], vmid, "{ct}");
}

#[tokio::test]
async fn a_restore_over_a_guest_needs_force_and_names_it_in_the_confirmation() {
    let pve = FakePve::start().await;
    grant_storage(&pve).await;
    let volid = "local:backup/vzdump-qemu-101-2025_01_01-00_00_00.vma.zst";
    store(
        &pve,
        "local",
        "vzdump-qemu-101-2025_01_01-00_00_00.vma.zst",
        5000,
        "backup",
    )
    .await;
    let s = session(&pve, &[ELEVATED]).await;
    let e = s
        .err(
            "proxmox_backup_restore",
            json!({"volume": volid, "vmid": 101}),
        )
        .await;
    assert!(e.contains("VM 101 \"db\"") && e.contains("force"), "{e}");
    let e = s
        .err(
            "proxmox_backup_restore",
            json!({"volume": volid, "vmid": 100, "force": true}),
        )
        .await;
    assert!(
        e.contains("running") && e.contains("proxmox_guest_stop"),
        "{e}"
    );
    let e = s
        .err(
            "proxmox_backup_restore",
            json!({"volume": volid, "vmid": 201, "force": true}),
        )
        .await;
    assert!(e.contains("container") && e.contains("VM backup"), "{e}");
    assert!(sent(&pve, "POST", "/qemu").await.is_empty());
    // A dry run: the request, the confirmation to come, nothing sent.
    let r = s
        .ok(
            "proxmox_backup_restore",
            json!({"volume": volid, "vmid": 101, "force": true, "dry_run": true}),
        )
        .await;
    assert_eq!(r["request"]["path"], "/nodes/pve1/qemu", "{r}");
    assert_eq!(r["request"]["form"]["archive"], volid, "{r}");
    assert_eq!(r["request"]["form"]["force"], "1", "{r}");
    assert!(r["request"]["form"].get("restore").is_none(), "{r}");
    assert!(r["confirmation"].is_string(), "{r}");
    assert!(sent(&pve, "POST", "/qemu").await.is_empty());
    // PVE starts the restore (scripted: fakepve does not restore VMs).
    let upid = "UPID:pve1:0000ABCD:00001234:65A1B2C3:qmrestore:101:alice@pve!ci:";
    pve.control(
        json!({"op": "script", "method": "POST", "path": "/nodes/pve1/qemu",
        "json": upid}),
    )
    .await;
    let r = s
        .ok(
            "proxmox_backup_restore",
            json!({"volume": volid, "vmid": 101, "force": true, "start": true, "wait": 0}),
        )
        .await;
    assert_eq!(r["upid"], upid, "{r}");
    let asked = s.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].contains("over VM 101 \"db\" on pve1") && asked[0].contains("destroyed"),
        "{asked:?}"
    );
    let post = sent(&pve, "POST", "/nodes/pve1/qemu").await;
    let body = post[0]["body"]
        .as_str()
        .unwrap()
        .replace("%3A", ":")
        .replace("%2F", "/");
    for part in [
        format!("archive={volid}"),
        "vmid=101".to_string(),
        "force=1".to_string(),
        "start=1".to_string(),
    ] {
        assert!(body.contains(&part), "{part} not in {body}");
    }
    assert!(
        !body.contains("restore=") && !body.contains("ostemplate="),
        "{body}"
    );
}

/// A PBS storage's file-restore answers, scripted (fakepve does not model file restore).
async fn script_pbs(pve: &FakePve) {
    let b64 = |s: &str| proxmox_mcp_b64(s);
    pve.control(json!({"op": "script", "method": "GET",
    "path": "/nodes/pve1/storage/pbs/file-restore/list",
    "json": [
        {"filepath": b64("/etc/hostname"), "text": "hostname", "type": "f", "leaf": true,
         "size": 4, "mtime": 1735689600},
        {"filepath": b64("/etc/big.log"), "text": "big.log", "type": "f", "leaf": true,
         "size": 100_000},
        {"filepath": b64("/etc/bin.dat"), "text": "bin.dat", "type": "f", "leaf": true,
         "size": 4},
        {"filepath": b64("/etc/ssh"), "text": "ssh", "type": "d", "leaf": false}
    ]}))
    .await;
}

/// Base64 for the scripted answers (the server's own encoder is not public).
fn proxmox_mcp_b64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[tokio::test]
async fn files_inside_a_backup_are_listed_and_read_with_plain_paths() {
    let pve = FakePve::start().await;
    script_pbs(&pve).await;
    let s = session(&pve, &[]).await;
    let volid = "pbs:backup/ct/201/2025-01-01T00:00:00Z";
    let r = s
        .ok(
            "proxmox_file_restore_list",
            json!({"volume": volid, "path": "/etc/", "node": "pve1"}),
        )
        .await;
    assert_eq!(r["path"], "/etc", "{r}");
    assert_eq!(r["total"], 4, "{r}");
    assert_eq!(r["entries"][0]["path"], "/etc/hostname", "{r}");
    assert_eq!(r["entries"][0]["modified"], "2025-01-01T00:00:00Z", "{r}");
    assert_eq!(r["entries"][3]["kind"], "directory", "{r}");
    let get = sent(&pve, "GET", "/file-restore/list").await;
    let q = query(&get[0]);
    assert_eq!(q["filepath"], "L2V0Yw==", "base64 of /etc: {q:?}");
    assert_eq!(q["volume"], volid);
    s.ok(
        "proxmox_file_restore_list",
        json!({"volume": volid, "node": "pve1"}),
    )
    .await;
    let get = sent(&pve, "GET", "/file-restore/list").await;
    assert_eq!(query(&get[1])["filepath"], "/", "the root is sent as /");

    // A text file.
    let dl = "/nodes/pve1/storage/pbs/file-restore/download";
    pve.control(json!({"op": "script", "method": "GET", "path": dl,
        "body": "dns\n", "content_type": "application/octet-stream", "times": 1}))
        .await;
    let r = s
        .ok(
            "proxmox_file_restore_read",
            json!({"volume": volid, "path": "/etc/hostname", "node": "pve1"}),
        )
        .await;
    assert_eq!(r["content"], "dns\n", "{r}");
    assert_eq!(r["encoding"], "utf-8", "{r}");
    assert_eq!(r["cut"], false, "{r}");
    let get = sent(&pve, "GET", "/file-restore/download").await;
    assert_eq!(query(&get[0])["filepath"], "L2V0Yy9ob3N0bmFtZQ==");
    // A large text file: cut within the result's bound, with a marker.
    pve.control(json!({"op": "script", "method": "GET", "path": dl,
        "body": "line of the log\n".repeat(6250), "content_type": "application/octet-stream",
        "times": 1}))
        .await;
    let r = s
        .ok(
            "proxmox_file_restore_read",
            json!({"volume": volid, "path": "/etc/big.log", "node": "pve1"}),
        )
        .await;
    assert_eq!(r["cut"], true, "{r}");
    assert!(
        r["note"].as_str().unwrap().contains("of 100000"),
        "{}",
        r["note"]
    );
    let shown = r["content"].as_str().unwrap().len();
    assert!(shown > 50_000 && shown <= 64 * 1024, "{shown}");
    assert!(r.get("result_cut").is_none(), "fits the result's bound");
    // A binary file: base64.
    pve.control(json!({"op": "script", "method": "GET", "path": dl,
        "body": "\u{0}\u{1}ab", "content_type": "application/octet-stream", "times": 1}))
        .await;
    let r = s
        .ok(
            "proxmox_file_restore_read",
            json!({"volume": volid, "path": "/etc/bin.dat", "node": "pve1"}),
        )
        .await;
    assert_eq!(r["encoding"], "base64", "{r}");
    assert_eq!(r["content"], "AAFhYg==", "{r}");
    // A directory is refused before anything is downloaded.
    pve.clear_requests().await;
    let e = s
        .err(
            "proxmox_file_restore_read",
            json!({"volume": volid, "path": "/etc/ssh", "node": "pve1"}),
        )
        .await;
    assert!(
        e.contains("directory") && e.contains("proxmox_file_restore_list"),
        "{e}"
    );
    assert!(sent(&pve, "GET", "/file-restore/download").await.is_empty());

    // A read-only server refuses both: PVE would start a file-restore VM.
    let ro = session(&pve, &[("PROXMOX_READ_ONLY", "true")]).await;
    pve.clear_requests().await;
    for tool in ["proxmox_file_restore_list", "proxmox_file_restore_read"] {
        let e = ro
            .err(
                tool,
                json!({"volume": volid, "path": "/etc/hostname", "node": "pve1"}),
            )
            .await;
        assert!(
            e.contains("read-only") && e.contains("Nothing was sent"),
            "{tool}: {e}"
        );
    }
    assert!(sent(&pve, "GET", "/file-restore/").await.is_empty());
}

/// The generic read tool cannot read a file answer: it says which tool can, and sends nothing.
#[tokio::test]
async fn the_generic_get_points_a_file_download_to_its_tool() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[], &[]).await;
    pve.clear_requests().await;
    let e = s
        .err(
            "proxmox_api_get",
            json!({"path": "/nodes/pve1/storage/pbs/file-restore/download",
                   "params": {"volume": "pbs:backup/vm/100/2026-11-20T02:00:00Z", "filepath": "Lw=="}}),
        )
        .await;
    assert!(e.contains("proxmox_file_restore_read"), "{e}");
    assert!(pve.requests().await.is_empty());
}
