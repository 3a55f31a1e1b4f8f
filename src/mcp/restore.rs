//! Backups back into use: restore a backup volume to a guest (a new VMID, or over the existing
//! guest with `force`, which the person confirms by name), and single files out of a PBS backup
//! (list a directory, read one file). PVE wants the restore as a create (`archive` for a VM,
//! `ostemplate` with `restore=1` for a container) and file paths in base64; the tools take plain
//! values and write them so.

use proxmox_mcp::apidoc::HttpMethod::{Get, Post};
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::content::{node_of, split_volid};
use super::errors::explain;
use super::input::{self, text};
use super::send::{Call, Outcome, refuse_side_effect, send};
use super::table::Custom;
use super::tools::ep as endpoint;

/// The most of a file `proxmox_file_restore_read` reads.
pub const READ_LIMIT: usize = 64 * 1024;
/// Room for a text file's content in the result, in bytes of JSON (the result stays within
/// [`super::bound::MAX_RESULT`]).
const TEXT_ROOM: usize = 62 * 1024;
/// The most bytes of a binary file shown (their base64 fits [`TEXT_ROOM`]).
const BINARY_SHOWN: usize = 45 * 1024;

/// The methods each tool of this module calls (the first one describes the tool).
pub fn endpoints(c: Custom) -> Vec<&'static Endpoint> {
    let fr = |p: &str| {
        endpoint(
            Get,
            &format!("/nodes/{{node}}/storage/{{storage}}/file-restore/{p}"),
        )
    };
    let resources = endpoint(Get, "/cluster/resources");
    match c {
        Custom::BackupRestore => vec![
            endpoint(Post, "/nodes/{node}/qemu"),
            endpoint(Post, "/nodes/{node}/lxc"),
            endpoint(Get, "/nodes/{node}/storage/{storage}/content"),
            endpoint(Get, "/cluster/nextid"),
            resources,
        ],
        Custom::FileRestoreList => vec![fr("list"), resources],
        _ => vec![fr("download"), fr("list"), resources],
    }
}

/// `qemu` or `lxc` from a backup's volume name: `vzdump-qemu-100-...`, `vzdump-lxc-...` (and
/// the old `vzdump-openvz-...`), or PBS's `backup/vm/100/...` and `backup/ct/100/...`.
pub fn kind_of(volname: &str) -> Option<&'static str> {
    let name = volname.rsplit('/').next().unwrap_or(volname);
    if name.starts_with("vzdump-qemu-") {
        return Some("qemu");
    }
    if name.starts_with("vzdump-lxc-") || name.starts_with("vzdump-openvz-") {
        return Some("lxc");
    }
    let parts: Vec<&str> = volname.split('/').collect();
    match parts.as_slice() {
        ["backup", "vm", ..] | ["vm", ..] => Some("qemu"),
        ["backup", "ct", ..] | ["ct", ..] => Some("lxc"),
        _ => None,
    }
}

fn label_kind(kind: &str) -> &'static str {
    if kind == "lxc" { "container" } else { "VM" }
}

/// `proxmox_backup_restore`.
pub async fn restore(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let cluster = call.cluster;
    let client = &cluster.client;
    let wait = input::take_wait(&mut args);
    let volid = text(&args, "volume").unwrap_or_default();
    let (storage, volname) = split_volid(&volid)?;
    let (storage, volname) = (storage.to_string(), volname.to_string());
    let node_arg = text(&args, "node");
    // VM or container: from the name, else from the storage's list (`subtype`).
    let kind = match kind_of(&volname) {
        Some(k) => k.to_string(),
        None => {
            let node = node_of(call, &storage, node_arg.clone(), true).await?;
            let mut form = Form::new();
            form.text("content", "backup");
            let list = client
                .execute(call.tool.endpoints[2], &[&node, &storage], form)
                .await
                .map_err(|e| explain(&e, client))?;
            let item = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|b| b["volid"] == volid.as_str())
                .ok_or_else(|| {
                    format!(
                        "no backup `{volid}` on storage {storage} (node {node}): list them with \
                         proxmox_backup_list. Nothing was sent."
                    )
                })?;
            match item["subtype"].as_str() {
                Some("qemu") => "qemu".into(),
                Some("lxc" | "openvz") => "lxc".into(),
                _ => {
                    return Err(format!(
                        "cannot tell whether {volid} is a VM or a container backup (its name \
                         does not say and PVE gives no subtype). Nothing was sent."
                    ));
                }
            }
        }
    };
    let force = input::flag(&args, "force");
    let vmid = input::uint(&args, "vmid");
    let existing = match vmid {
        Some(id) => cluster.guests.find(client, id).await?.map(|(at, g)| {
            let label = cluster.guests.label(id, &at);
            (at, label, g["status"].as_str().unwrap_or("").to_string())
        }),
        None => None,
    };
    let (vmid, node, overwrite) = match (vmid, existing) {
        (Some(id), Some((at, label, status))) => {
            if !force {
                return Err(format!(
                    "VMID {id} is taken by {label}: give `force: true` to restore over it (its \
                     disks and configuration are destroyed and replaced by the backup's), or \
                     leave `vmid` out to restore to the next free VMID. Nothing was sent."
                ));
            }
            if at.kind != kind {
                return Err(format!(
                    "{label} is a {} and {volid} is a {} backup: PVE cannot restore one over \
                     the other. Leave `vmid` out to restore to the next free VMID. Nothing was \
                     sent.",
                    label_kind(&at.kind),
                    label_kind(&kind)
                ));
            }
            if status == "running" {
                return Err(format!(
                    "{label} is running and PVE refuses to restore over a running guest: stop it \
                     first with proxmox_guest_stop (or proxmox_guest_shutdown). Nothing was sent."
                ));
            }
            if let Some(n) = &node_arg
                && *n != at.node
            {
                return Err(format!(
                    "{label} lives on {}, not {n}: a restore over it runs on its node; leave \
                     `node` out. Nothing was sent.",
                    at.node
                ));
            }
            (id, at.node, Some(label))
        }
        (Some(id), None) => (id, node_of(call, &storage, node_arg, false).await?, None),
        (None, _) => {
            let node = node_of(call, &storage, node_arg, false).await?;
            let next = client
                .execute(call.tool.endpoints[3], &[], Form::new())
                .await
                .map_err(|e| explain(&e, client))?;
            let id = next
                .as_u64()
                .or_else(|| next.as_str()?.parse().ok())
                .ok_or("PVE gave no next free VMID; give `vmid`. Nothing was sent.")?;
            (id, node, None)
        }
    };
    let mut a = Map::new();
    a.insert("node".into(), json!(node));
    a.insert("vmid".into(), json!(vmid));
    if kind == "lxc" {
        a.insert("ostemplate".into(), json!(volid));
        a.insert("restore".into(), json!(true));
    } else {
        a.insert("archive".into(), json!(volid));
    }
    for k in ["storage", "unique", "start"] {
        if let Some(v) = args.get(k) {
            a.insert(k.into(), v.clone());
        }
    }
    match &overwrite {
        Some(label) => {
            a.insert("force".into(), json!(true));
            call.target = Some(label.clone());
            call.question = Some(format!(
                "Restore {volid} over {label}: its current disks and configuration are \
                 destroyed and replaced by the backup's. This cannot be undone."
            ));
        }
        None => {
            call.target = Some(format!("new {} {vmid} on {node}", label_kind(&kind)));
        }
    }
    let ep = call.tool.endpoints[usize::from(kind == "lxc")];
    let mut out = send(call, ep, a, wait, "data").await?;
    out["vmid"] = json!(vmid);
    out["type"] = json!(kind);
    out["node"] = json!(node);
    Ok(out)
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Standard base64 (padding optional) back to bytes; `None` for anything else.
pub fn unbase64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    super::base64_lenient().decode(text).ok()
}

/// A path as the tools take it: `/`-rooted, without a trailing `/`.
fn clean(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// PVE's `filepath`: `/` for the root, else the path in base64.
fn filepath(path: &str) -> String {
    if path == "/" {
        "/".into()
    } else {
        base64(path.as_bytes())
    }
}

/// What PVE's entry type letter means.
fn kind_word(t: &str) -> &'static str {
    match t {
        "d" => "directory",
        "f" => "file",
        "l" => "symlink",
        "h" => "hardlink",
        "v" => "virtual",
        "b" => "block device",
        "c" => "character device",
        "p" => "fifo",
        "s" => "socket",
        _ => "other",
    }
}

/// The entries of `path` inside backup `volid`, with plain paths.
async fn entries(
    call: &Call<'_>,
    ep: &'static Endpoint,
    node: &str,
    storage: &str,
    volid: &str,
    path: &str,
) -> Result<Vec<Value>, String> {
    let mut a = Map::new();
    a.insert("node".into(), json!(node));
    a.insert("storage".into(), json!(storage));
    a.insert("volume".into(), json!(volid));
    a.insert("filepath".into(), json!(filepath(path)));
    let out = send(call, ep, a, 0, "entries").await?;
    Ok(out["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let raw = e["filepath"].as_str().unwrap_or("");
            let plain = unbase64(raw)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|| raw.to_string());
            let t = e["type"].as_str().unwrap_or("");
            let mut item =
                json!({"path": plain, "name": e["text"], "type": t, "kind": kind_word(t)});
            if let Some(size) = e["size"].as_u64() {
                item["size"] = json!(size);
            }
            if let Some(secs) = e["mtime"].as_u64() {
                item["modified"] = json!(crate::utc::seconds(secs));
            }
            if let Some(leaf) = e.get("leaf") {
                item["leaf"] = json!(leaf.as_bool().unwrap_or(leaf.as_u64() == Some(1)));
            }
            item
        })
        .collect())
}

/// `proxmox_file_restore_list`.
pub async fn list(call: &Call<'_>, args: &Map<String, Value>) -> Outcome {
    let volid = text(args, "volume").unwrap_or_default();
    let (storage, _) = split_volid(&volid)?;
    let node = node_of(call, storage, text(args, "node"), true).await?;
    let path = clean(&text(args, "path").unwrap_or_else(|| "/".into()));
    let list = entries(call, call.tool.endpoints[0], &node, storage, &volid, &path).await?;
    let mut out = super::bound::bounded("entries", list, input::limit(args, 200), None);
    out["path"] = json!(path);
    out["volume"] = json!(volid);
    Ok(out)
}

/// `proxmox_file_restore_read`: one file, at most [`READ_LIMIT`] bytes of it.
pub async fn read(call: &Call<'_>, args: &Map<String, Value>) -> Outcome {
    let client = &call.cluster.client;
    let volid = text(args, "volume").unwrap_or_default();
    let (storage, _) = split_volid(&volid)?;
    let path = clean(&text(args, "path").unwrap_or_default());
    let [download_ep, list_ep] = [call.tool.endpoints[0], call.tool.endpoints[1]];
    refuse_side_effect(call, download_ep)?;
    let directory = || {
        format!(
            "{path} is a directory (or an archive or partition) in {volid}: PVE sends a \
             directory as a zip archive, which this tool does not read. List it with \
             proxmox_file_restore_list and read its files one by one."
        )
    };
    if path == "/" {
        return Err(directory());
    }
    let node = node_of(call, storage, text(args, "node"), true).await?;
    // The parent's listing says whether the path is a file.
    let parent = match path.rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((p, _)) => p.to_string(),
    };
    let listed = entries(call, list_ep, &node, storage, &volid, &parent).await?;
    let entry = listed
        .iter()
        .find(|e| e["path"] == path.as_str())
        .ok_or_else(|| {
            format!(
                "no {path} in {volid}: list {parent} with proxmox_file_restore_list to see what \
                 is there."
            )
        })?;
    if matches!(entry["type"].as_str(), Some("d" | "v")) {
        return Err(directory());
    }
    let mut form = Form::new();
    form.text("filepath", &filepath(&path));
    form.text("volume", &volid);
    let dl = client
        .download(download_ep, &[&node, storage], form, READ_LIMIT as u64 + 1)
        .await
        .map_err(|e| explain(&e, client))?;
    let ctype = dl.content_type.clone().unwrap_or_default();
    if ctype.contains("zip") || ctype.contains("tar") || ctype.contains("zstd") {
        return Err(directory());
    }
    let size = entry["size"].as_u64().or(dl.length);
    let mut bytes = dl.bytes;
    let mut cut = dl.cut || bytes.len() > READ_LIMIT;
    bytes.truncate(READ_LIMIT);
    // Text when it is UTF-8 without NUL bytes (a character cut at the end is dropped).
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => Some(t.to_string()),
        Err(e) if e.error_len().is_none() && cut => {
            Some(String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned())
        }
        Err(_) => None,
    }
    .filter(|t| !t.contains('\0'));
    let mut out = json!({"path": path, "volume": volid});
    match text {
        Some(mut t) => {
            // Within the result's bound once escaped as JSON.
            while serde_json::to_string(&t).map_or(0, |s| s.len()) > TEXT_ROOM {
                let keep = t.chars().count() * 9 / 10;
                t = t.chars().take(keep).collect();
                cut = true;
            }
            out["bytes"] = json!(t.len());
            out["encoding"] = json!("utf-8");
            out["content"] = json!(t);
        }
        None => {
            if bytes.len() > BINARY_SHOWN {
                bytes.truncate(BINARY_SHOWN);
                cut = true;
            }
            out["bytes"] = json!(bytes.len());
            out["encoding"] = json!("base64");
            out["content"] = json!(base64(&bytes));
        }
    }
    out["cut"] = json!(cut);
    if let Some(s) = size {
        out["size"] = json!(s);
    }
    if cut {
        out["note"] = json!(format!(
            "[cut: only the first {} bytes are shown{}]",
            out["bytes"],
            size.map(|s| format!(" of {s}")).unwrap_or_default()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_both_ways() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("/etc/hostname", "L2V0Yy9ob3N0bmFtZQ=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
            assert_eq!(unbase64(coded).unwrap(), plain.as_bytes());
        }
        assert!(unbase64("not base64!").is_none());
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unbase64(&base64(&all)).unwrap(), all);
    }

    #[test]
    fn backup_kinds_and_paths() {
        assert_eq!(
            kind_of("backup/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst"),
            Some("qemu")
        );
        assert_eq!(
            kind_of("backup/vzdump-lxc-200-2025_01_01-00_00_00.tar.zst"),
            Some("lxc")
        );
        assert_eq!(kind_of("backup/vm/100/2025-01-01T00:00:00Z"), Some("qemu"));
        assert_eq!(kind_of("backup/ct/200/2025-01-01T00:00:00Z"), Some("lxc"));
        assert_eq!(kind_of("backup/other.tar"), None);
        assert_eq!(clean(""), "/");
        assert_eq!(clean("etc/"), "/etc");
        assert_eq!(filepath("/"), "/");
        assert_eq!(filepath("/etc"), "L2V0Yw==");
    }
}
