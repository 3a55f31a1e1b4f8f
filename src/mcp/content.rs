//! A storage's content as an assistant works with it: the storage definitions, the volumes on a
//! storage (newest first, sizes in bytes, times in UTC), deleting one volume (named with its size
//! in the confirmation; a disk a guest still uses is refused), pruning backups by a retention
//! built from typed `keep_*` arguments (the preview read first: the confirmation and `dry_run`
//! list what goes), having PVE download a file from a URL, and uploading a local file
//! ([`super::upload`]). The node is the storage's own when not given.

use proxmox_mcp::apidoc::HttpMethod::{self, Delete, Get, Post};
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::input::{self, text};
use super::redact::redact_for;
use super::send::{Call, Outcome, send};
use super::table::Custom;
use super::tools::ep as endpoint;

/// PVE's content types (`pve-storage-content`: the schema names the format, not its values).
pub const CONTENT_TYPES: [&str; 7] = [
    "iso", "vztmpl", "backup", "images", "rootdir", "import", "snippets",
];

/// The counting keys of a `prune-backups` retention, in the order they are written.
pub const KEEP: [&str; 6] = [
    "keep-last",
    "keep-hourly",
    "keep-daily",
    "keep-weekly",
    "keep-monthly",
    "keep-yearly",
];

const CONTENT: &str = "/nodes/{node}/storage/{storage}/content";

/// The methods each tool of this module calls (the first one describes the tool).
pub fn endpoints(c: Custom) -> Vec<&'static Endpoint> {
    let resources = endpoint(Get, "/cluster/resources");
    let at =
        |m: HttpMethod, p: &str| endpoint(m, &format!("/nodes/{{node}}/storage/{{storage}}/{p}"));
    match c {
        Custom::StorageConfig => vec![
            endpoint(Get, "/storage"),
            endpoint(Get, "/storage/{storage}"),
        ],
        Custom::StorageContent => vec![endpoint(Get, CONTENT), resources],
        Custom::ContentDelete => vec![
            at(Delete, "content/{volume}"),
            endpoint(Get, CONTENT),
            resources,
        ],
        Custom::BackupPrune => vec![
            at(Delete, "prunebackups"),
            at(Get, "prunebackups"),
            resources,
        ],
        Custom::DownloadUrl => vec![at(Post, "download-url"), resources],
        _ => vec![at(Post, "upload"), resources],
    }
}

/// A size in words: `3.9 GiB`, `512 B`.
pub fn readable(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut n = bytes as f64 / 1024.0;
    let mut unit = 0;
    while n >= 1024.0 && unit < UNITS.len() - 1 {
        n /= 1024.0;
        unit += 1;
    }
    format!("{n:.1} {}", UNITS[unit])
}

/// A number PVE may send as text.
fn num(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// True for PVE's 1/"1"/true.
fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false) || num(v) == Some(1)
}

/// `STORAGE:NAME` of a volume ID, or an error naming the form.
pub fn split_volid(volid: &str) -> Result<(&str, &str), String> {
    match volid.split_once(':') {
        Some((s, n)) if !s.is_empty() && !n.is_empty() => Ok((s, n)),
        _ => Err(format!(
            "`{}` is not a volume ID: give STORAGE:NAME, such as local:iso/debian.iso or \
             local:backup/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst (proxmox_storage_content \
             lists them). Nothing was sent.",
            volid.chars().take(120).collect::<String>()
        )),
    }
}

/// The node to reach `storage` on: `node` when given, else the default node when the storage is
/// there, else the storage's only node, else (a shared storage, when `any_shared`) the first
/// node that has it available.
pub async fn node_of(
    call: &Call<'_>,
    storage: &str,
    node: Option<String>,
    any_shared: bool,
) -> Result<String, String> {
    if let Some(n) = node {
        return Ok(n);
    }
    let client = &call.cluster.client;
    let mut form = Form::new();
    form.text("type", "storage");
    let data = client
        .execute(endpoint(Get, "/cluster/resources"), &[], form)
        .await
        .map_err(|e| explain(&e, client))?;
    let mut places: Vec<(String, bool, bool)> = data
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["storage"] == storage)
        .filter_map(|s| {
            let node = s["node"].as_str()?.to_string();
            Some((node, truthy(&s["shared"]), s["status"] == "available"))
        })
        .collect();
    places.sort();
    if places.is_empty() {
        return Err(format!(
            "no storage `{storage}` in the cluster: list the storages with proxmox_storage_list. \
             Nothing was sent."
        ));
    }
    if let Some(d) = &call.cluster.default_node
        && places.iter().any(|(n, _, _)| n == d)
    {
        return Ok(d.clone());
    }
    if let [(one, _, _)] = places.as_slice() {
        return Ok(one.clone());
    }
    let names: Vec<&str> = places.iter().map(|(n, _, _)| n.as_str()).collect();
    let shared = places.iter().any(|(_, s, _)| *s);
    if shared && any_shared {
        let up = places.iter().find(|(_, _, a)| *a).unwrap_or(&places[0]);
        return Ok(up.0.clone());
    }
    Err(format!(
        "storage `{storage}` is on several nodes ({}){}: give `node`. Nothing was sent.",
        names.join(", "),
        if shared { "" } else { " and not shared" }
    ))
}

/// `proxmox_storage_config`: one storage's definition, or every storage's (what the caller may
/// see).
pub async fn config(call: &Call<'_>, args: &Map<String, Value>) -> Outcome {
    let client = &call.cluster.client;
    let [list_ep, one_ep] = [call.tool.endpoints[0], call.tool.endpoints[1]];
    if let Some(storage) = text(args, "storage") {
        let data = client
            .execute(one_ep, &[&storage], Form::new())
            .await
            .map_err(|e| {
                let mut t = explain(&e, client);
                if matches!(e, proxmox_mcp::Error::Forbidden { .. }) {
                    t.push_str(
                        " proxmox_storage_config without `storage` lists the storages you may \
                         see, with less privilege.",
                    );
                }
                t
            })?;
        let mut one = described(&redact_for(one_ep, data), true);
        one["storage"] = json!(storage);
        return Ok(json!({ "storage": one }));
    }
    let mut form = Form::new();
    if let Some(t) = text(args, "type") {
        form.text("type", &t);
    }
    let data = client
        .execute(list_ep, &[], form)
        .await
        .map_err(|e| explain(&e, client))?;
    let mut list: Vec<Value> = data
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| described(&redact_for(list_ep, s.clone()), false))
        .collect();
    list.sort_by(|a, b| a["storage"].as_str().cmp(&b["storage"].as_str()));
    let total = list.len();
    Ok(json!({ "storages": list, "total": total }))
}

/// A storage definition with lists as lists and flags as booleans; `all` keeps every key,
/// otherwise the ones that say what the storage is and where.
fn described(s: &Value, all: bool) -> Value {
    let list = |v: &Value| -> Vec<String> {
        v.as_str()
            .unwrap_or("")
            .split([',', ' ', ';'])
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut out = Map::new();
    for (k, v) in s.as_object().into_iter().flatten() {
        let keep = all
            || matches!(
                k.as_str(),
                "storage"
                    | "type"
                    | "path"
                    | "server"
                    | "export"
                    | "pool"
                    | "vgname"
                    | "thinpool"
                    | "datastore"
                    | "prune-backups"
            );
        match k.as_str() {
            "content" | "nodes" => {
                out.insert(k.clone(), json!(list(v)));
            }
            "shared" => {
                out.insert(k.clone(), json!(truthy(v)));
            }
            "disable" => {
                out.insert("disabled".into(), json!(truthy(v)));
            }
            "digest" => {}
            _ if keep => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    out.entry("shared").or_insert(json!(false));
    Value::Object(out)
}

/// One volume as the tools show it: sizes in bytes, the creation time in UTC.
fn volume_item(v: &Value) -> Value {
    let mut item = Map::new();
    for k in [
        "volid",
        "content",
        "format",
        "vmid",
        "subtype",
        "notes",
        "parent",
        "encrypted",
    ] {
        if let Some(x) = v.get(k).filter(|x| !x.is_null()) {
            item.insert(k.into(), x.clone());
        }
    }
    if let Some(size) = v.get("size").and_then(num) {
        item.insert("size".into(), json!(size));
    } else if let Some(size) = v.get("approximate-size").and_then(num) {
        item.insert("size".into(), json!(size));
        item.insert("size_approximate".into(), json!(true));
    }
    if let Some(used) = v.get("used").and_then(num).filter(|u| *u > 0) {
        item.insert("used".into(), json!(used));
    }
    if let Some(p) = v.get("protected") {
        item.insert("protected".into(), json!(truthy(p)));
    }
    if let Some(state) = v.pointer("/verification/state") {
        item.insert("verification".into(), state.clone());
    }
    if let Some(secs) = v.get("ctime").and_then(num) {
        item.insert("ctime".into(), json!(secs));
        item.insert("created".into(), json!(crate::utc::seconds(secs)));
    }
    Value::Object(item)
}

/// The volumes of `storage` on `node` (of one content type when given), as PVE lists them.
async fn volumes(
    call: &Call<'_>,
    ep: &'static Endpoint,
    node: &str,
    storage: &str,
    content: Option<&str>,
    vmid: Option<u64>,
) -> Result<Vec<Value>, String> {
    let client = &call.cluster.client;
    let mut form = Form::new();
    if let Some(c) = content {
        form.text("content", c);
    }
    if let Some(id) = vmid {
        form.text("vmid", &id.to_string());
    }
    let data = client
        .execute(ep, &[node, storage], form)
        .await
        .map_err(|e| explain(&e, client))?;
    Ok(data.as_array().cloned().unwrap_or_default())
}

/// `proxmox_storage_content`: a storage's volumes, newest first, bounded.
pub async fn content(call: &Call<'_>, args: &Map<String, Value>) -> Outcome {
    let storage = text(args, "storage").unwrap_or_default();
    let node = node_of(call, &storage, text(args, "node"), true).await?;
    let kind = text(args, "content");
    let vmid = input::uint(args, "vmid");
    let ep = call.tool.endpoints[0];
    let mut list: Vec<Value> = volumes(call, ep, &node, &storage, kind.as_deref(), vmid)
        .await?
        .iter()
        .map(volume_item)
        .collect();
    list.sort_by(|a, b| {
        (b["ctime"].as_u64(), a["volid"].as_str()).cmp(&(a["ctime"].as_u64(), b["volid"].as_str()))
    });
    let mut out = super::bound::bounded("volumes", list, input::limit(args, 100), None);
    out["storage"] = json!(storage);
    out["node"] = json!(node);
    Ok(out)
}

/// What a volume is, in words, for the confirmation.
fn what(item: &Value) -> String {
    // A backup's owner is in its name when PVE does not say (`vzdump-qemu-100-...`).
    let from_name = || {
        let volid = item["volid"].as_str()?;
        let name = volid.rsplit('/').next()?;
        let rest = name
            .strip_prefix("vzdump-qemu-")
            .or_else(|| name.strip_prefix("vzdump-lxc-"))?;
        rest.split('-').next()?.parse::<u64>().ok()
    };
    let owner = item["vmid"].as_u64().or_else(from_name);
    match (item["content"].as_str().unwrap_or(""), owner) {
        ("backup", Some(id)) => {
            let when = item["created"]
                .as_str()
                .map(|t| format!(" from {t}"))
                .unwrap_or_default();
            format!("backup of guest {id}{when}")
        }
        ("backup", None) => "backup".into(),
        ("iso", _) => "ISO image".into(),
        ("vztmpl", _) => "container template".into(),
        ("images" | "rootdir", Some(id)) => format!("disk of guest {id}"),
        ("import", _) => "import file".into(),
        ("snippets", _) => "snippet".into(),
        (other, _) => other.to_string(),
    }
}

/// The guest `vmid` (from `/cluster/resources`), when it exists: `(node, type, label)`.
async fn guest(call: &Call<'_>, vmid: u64) -> Result<Option<(String, String, String)>, String> {
    let guests = &call.cluster.guests;
    Ok(guests
        .find(&call.cluster.client, vmid)
        .await?
        .map(|(at, _)| {
            let label = guests.label(vmid, &at);
            (at.node, at.kind, label)
        }))
}

/// The keys of guest `vmid`'s configuration that hold `volid`.
async fn holders(call: &Call<'_>, node: &str, kind: &str, vmid: u64, volid: &str) -> Vec<String> {
    let config = super::send::read_now(
        call,
        &format!("/nodes/{{node}}/{kind}/{{vmid}}/config"),
        &format!("/nodes/{node}/{kind}/{vmid}/config"),
    )
    .await
    .unwrap_or(Value::Null);
    let mut keys: Vec<String> = config
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| {
            v.as_str().is_some_and(|s| {
                s.split(',').any(|part| {
                    part.strip_prefix("file=")
                        .or_else(|| part.strip_prefix("volume="))
                        .unwrap_or(part)
                        == volid
                })
            })
        })
        .map(|(k, _)| k.clone())
        .collect();
    keys.sort();
    keys
}

/// `proxmox_storage_content_delete`: one volume, named with its size for the person.
pub async fn delete(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let wait = input::take_wait(&mut args);
    let volid = text(&args, "volume").unwrap_or_default();
    let (storage, _) = split_volid(&volid)?;
    let storage = storage.to_string();
    let node = node_of(call, &storage, text(&args, "node"), true).await?;
    let list = volumes(call, call.tool.endpoints[1], &node, &storage, None, None).await?;
    let item = list
        .iter()
        .find(|v| v["volid"] == volid.as_str())
        .map(volume_item)
        .ok_or_else(|| {
            format!(
                "no volume `{volid}` on storage {storage} (node {node}): list them with \
                 proxmox_storage_content. Nothing was sent."
            )
        })?;
    let mut unused = Vec::new();
    if matches!(item["content"].as_str(), Some("images" | "rootdir"))
        && let Some(owner) = item["vmid"].as_u64()
        && let Some((gnode, kind, label)) = guest(call, owner).await?
    {
        let keys = holders(call, &gnode, &kind, owner, &volid).await;
        let (spare, used): (Vec<String>, Vec<String>) =
            keys.into_iter().partition(|k| k.starts_with("unused"));
        if !used.is_empty() {
            return Err(format!(
                "{volid} is in use by {label} as {}: detach it first with \
                 proxmox_guest_disk_detach (toolset disks), which keeps it as unusedN, or delete \
                 it there with `destroy: true`. Nothing was sent.",
                used.join(", ")
            ));
        }
        unused = spare
            .into_iter()
            .map(|k| format!("{k} of {label}"))
            .collect();
    }
    let size = item["size"]
        .as_u64()
        .map(|b| format!("{}, {b} bytes", readable(b)))
        .unwrap_or_else(|| "size unknown".into());
    let mut question = format!(
        "Delete {volid} ({}, {size}) from storage {storage} on {node}: its data is lost for \
         good. This cannot be undone.",
        what(&item)
    );
    if !unused.is_empty() {
        question.push_str(&format!(" It is listed as {}.", unused.join(", ")));
    }
    call.question = Some(question);
    call.target = Some(format!("volume {volid} on {node}"));
    let mut a = Map::new();
    a.insert("node".into(), json!(node));
    a.insert("storage".into(), json!(storage));
    a.insert("volume".into(), json!(volid));
    let mut out = send(call, call.tool.endpoints[0], a, wait, "data").await?;
    out["volume"] = json!(volid);
    if let Some(b) = item["size"].as_u64() {
        out["bytes"] = json!(b);
    }
    Ok(out)
}

/// The `prune-backups` retention the typed arguments give, or `None` (the storage's own).
pub fn retention(args: &Map<String, Value>) -> Result<Option<String>, String> {
    let mut parts: Vec<String> = Vec::new();
    for k in KEEP {
        if let Some(n) = input::uint(args, &k.replace('-', "_")) {
            parts.push(format!("{k}={n}"));
        }
    }
    if args.contains_key("keep_all") {
        let all = input::flag(args, "keep_all");
        if all && !parts.is_empty() {
            return Err(
                "`keep_all: true` keeps every backup and conflicts with the keep_* counts: give \
                 one or the other. Nothing was sent."
                    .into(),
            );
        }
        parts.insert(0, format!("keep-all={}", u8::from(all)));
    }
    Ok((!parts.is_empty()).then(|| parts.join(",")))
}

/// `proxmox_backup_prune`: the preview first (what would go), then the prune.
pub async fn prune(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let wait = input::take_wait(&mut args);
    let storage = text(&args, "storage").unwrap_or_default();
    let prune = retention(&args)?;
    let node = node_of(call, &storage, text(&args, "node"), true).await?;
    let mut a = Map::new();
    a.insert("node".into(), json!(node));
    a.insert("storage".into(), json!(storage));
    if let Some(p) = &prune {
        a.insert("prune-backups".into(), json!(p));
    }
    for k in ["vmid", "type"] {
        if let Some(v) = args.get(k) {
            a.insert(k.into(), v.clone());
        }
    }
    // The preview: what this retention keeps and removes now.
    let [prune_ep, preview_ep] = [call.tool.endpoints[0], call.tool.endpoints[1]];
    let client = &call.cluster.client;
    let prepared = proxmox_mcp::args::prepare(preview_ep, &a).map_err(|e| explain(&e, client))?;
    let values: Vec<&str> = prepared.path_values.iter().map(String::as_str).collect();
    let preview = client
        .execute(preview_ep, &values, prepared.form)
        .await
        .map_err(|e| explain(&e, client))?;
    let mut marked: Vec<&Value> = preview.as_array().into_iter().flatten().collect();
    marked.sort_by_key(|b| b["ctime"].as_u64().unwrap_or(0));
    let removed: Vec<String> = marked
        .iter()
        .filter(|b| b["mark"] == "remove")
        .filter_map(|b| b["volid"].as_str().map(str::to_string))
        .collect();
    let kept = marked.len() - removed.len();
    let rule = prune
        .clone()
        .unwrap_or_else(|| "the storage's own (prune-backups in proxmox_storage_config)".into());
    let shown = |list: &[String]| -> Value { json!(list.iter().take(200).collect::<Vec<_>>()) };
    if call.dry_run {
        let mut out = send(call, prune_ep, a, wait, "data").await?;
        out["would_remove"] = shown(&removed);
        out["would_keep"] = json!(kept);
        out["retention"] = json!(rule);
        if removed.len() > 200 {
            out["more"] = json!(format!("{} more would be removed", removed.len() - 200));
        }
        return Ok(out);
    }
    if removed.is_empty() {
        return Ok(json!({"removed": [], "kept": kept, "retention": rule,
            "note": "this retention removes no backup now; nothing was sent"}));
    }
    let mut names: Vec<String> = removed
        .iter()
        .take(10)
        .map(|v| v.rsplit('/').next().unwrap_or(v).to_string())
        .collect();
    if removed.len() > 10 {
        names.push(format!("and {} more", removed.len() - 10));
    }
    call.question = Some(format!(
        "Prune backups on storage {storage} ({node}): delete {} backup(s) for good ({}); {kept} \
         stay. Retention: {rule}. This cannot be undone.",
        removed.len(),
        names.join(", ")
    ));
    call.target = Some(format!("backups on storage {storage} ({node})"));
    let mut out = send(call, prune_ep, a, wait, "data").await?;
    out["removed"] = shown(&removed);
    out["kept"] = json!(kept);
    out["retention"] = json!(rule);
    Ok(out)
}

/// The content type a file name's extension says (PVE's rules for uploads and downloads).
pub fn content_of(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    if n.ends_with(".iso") || n.ends_with(".img") {
        Some("iso")
    } else if [".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2"]
        .iter()
        .any(|e| n.ends_with(e))
    {
        Some("vztmpl")
    } else if [".ova", ".qcow2", ".raw", ".vmdk"]
        .iter()
        .any(|e| name.ends_with(e))
    {
        Some("import")
    } else {
        None
    }
}

/// PVE's rules for the name of a file of `content`, in words.
pub fn rule(content: &str) -> &'static str {
    match content {
        "iso" => "an ISO image ends in .iso or .img",
        "vztmpl" => "a container template ends in .tar.gz, .tar.xz, .tar.zst or .tar.bz2",
        _ => {
            "an import file ends in .ova (or .qcow2, .raw, .vmdk) and has only letters, digits \
             and - . + = _ in its name"
        }
    }
}

/// `name` fits `content` (as PVE checks it), or an error with the rule.
pub fn check_name(content: &str, name: &str, what: &str) -> Result<(), String> {
    let safe = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-.+=_".contains(c));
    let fits = content_of(name) == Some(content) && (content != "import" || safe);
    if fits && !name.contains('/') {
        return Ok(());
    }
    Err(format!(
        "{what} `{}` does not fit content `{content}`: {}. Give a matching name or `content`. \
         Nothing was sent.",
        name.chars().take(120).collect::<String>(),
        rule(content)
    ))
}

/// The content type: given, or from the name's extension.
pub fn content_for(args: &Map<String, Value>, name: &str) -> Result<String, String> {
    match text(args, "content") {
        Some(c) => Ok(c),
        None => content_of(name).map(str::to_string).ok_or_else(|| {
            format!(
                "cannot tell the content type of `{}` from its extension: give `content` (iso: \
                 .iso or .img; vztmpl: .tar.gz, .tar.xz, .tar.zst or .tar.bz2; import: .ova). \
                 Nothing was sent.",
                name.chars().take(120).collect::<String>()
            )
        }),
    }
}

/// The file name at the end of a URL's path (`https://x/a/debian.iso?x=1` gives `debian.iso`),
/// percent-decoded.
pub fn url_file_name(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split(['?', '#']).next()?;
    let (_, path) = path.split_once('/')?;
    let last = path.rsplit('/').next()?;
    let name = percent_encoding::percent_decode_str(last)
        .decode_utf8()
        .ok()?
        .trim()
        .to_string();
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// `proxmox_storage_download_url`: PVE fetches the URL into the storage.
pub async fn download_url(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let wait = input::take_wait(&mut args);
    let url = text(&args, "url").unwrap_or_default();
    let filename = match text(&args, "filename") {
        Some(f) => f,
        None => url_file_name(&url).ok_or_else(|| {
            "the URL's path ends without a file name: give `filename` (such as \
             debian-13.iso). Nothing was sent."
                .to_string()
        })?,
    };
    let content = content_for(&args, &filename)?;
    check_name(&content, &filename, "filename")?;
    if args.contains_key("checksum") != args.contains_key("checksum-algorithm") {
        return Err(
            "give `checksum` and `checksum-algorithm` together (PVE verifies the file with \
             both). Nothing was sent."
                .into(),
        );
    }
    let storage = text(&args, "storage").unwrap_or_default();
    let node = node_of(call, &storage, text(&args, "node"), true).await?;
    args.insert("node".into(), json!(node));
    args.insert("filename".into(), json!(filename));
    args.insert("content".into(), json!(content));
    call.target = Some(format!("{filename} to storage {storage} on {node}"));
    let mut out = send(call, call.tool.endpoints[0], args, wait, "data").await?;
    out["volid"] = json!(format!("{storage}:{content}/{filename}"));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_content_types() {
        assert_eq!(content_of("debian-13.0.0-amd64-netinst.iso"), Some("iso"));
        assert_eq!(content_of("DISK.IMG"), Some("iso"));
        assert_eq!(content_of("debian-12-standard.tar.zst"), Some("vztmpl"));
        assert_eq!(content_of("appliance.ova"), Some("import"));
        assert_eq!(content_of("notes.txt"), None);
        assert!(check_name("iso", "a.iso", "filename").is_ok());
        let e = check_name("vztmpl", "a.iso", "filename").unwrap_err();
        assert!(e.contains(".tar.zst"), "{e}");
        assert!(check_name("import", "my vm.ova", "filename").is_err());
        assert!(check_name("iso", "../a.iso", "filename").is_err());
        assert_eq!(
            url_file_name("https://cdimage.debian.org/x/debian-13%2B1.iso?mirror=1#a").as_deref(),
            Some("debian-13+1.iso")
        );
        assert_eq!(url_file_name("https://example.com/"), None);
        assert_eq!(url_file_name("https://example.com"), None);
        assert_eq!(readable(512), "512 B");
        assert_eq!(readable(3 << 30), "3.0 GiB");
    }

    #[test]
    fn a_retention_from_typed_arguments() {
        let args = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(
            retention(&args(json!({"keep_daily": 7, "keep_last": 3}))).unwrap(),
            Some("keep-last=3,keep-daily=7".into())
        );
        assert_eq!(retention(&args(json!({}))).unwrap(), None);
        assert_eq!(
            retention(&args(json!({"keep_all": true}))).unwrap(),
            Some("keep-all=1".into())
        );
        assert!(retention(&args(json!({"keep_all": true, "keep_last": 1}))).is_err());
    }

    #[test]
    fn storage_definitions_read_as_lists_and_flags() {
        let d = described(
            &json!({"storage": "nfs1", "type": "nfs", "content": "iso,backup", "shared": 1,
                    "nodes": "pve1,pve2", "disable": 0, "digest": "x", "options": "vers=4"}),
            false,
        );
        assert_eq!(d["content"], json!(["iso", "backup"]));
        assert_eq!(d["nodes"], json!(["pve1", "pve2"]));
        assert_eq!(d["shared"], true);
        assert_eq!(d["disabled"], false);
        assert!(d.get("digest").is_none() && d.get("options").is_none());
    }
}
