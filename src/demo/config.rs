//! Guest configuration: reads (with PVE's digest), writes, and the pending changes PVE keeps for
//! a running guest until its next start (what it cannot hot-plug).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::api::{Answer, ApiError, Params, fail};
use super::cluster::{Cluster, Effect, Guest, Kind, Power, content_of, is_disk_key};
use super::guests::{Target, config_lock, find, unlocked};
use super::status::known_storage;

/// Parameters that steer a config write rather than being config keys.
pub(super) const NOT_CONFIG: &[&str] = &[
    "node",
    "vmid",
    "digest",
    "delete",
    "revert",
    "skiplock",
    "force",
    "background_delay",
    "start",
    "storage",
    "password",
    "ssh-public-keys",
    "ostemplate",
    "pool",
    "unique",
    "restore",
    "archive",
    "ignore-unpack-errors",
    "bwlimit",
    "live-restore",
];

/// Config keys PVE answers as integers.
const INT_KEYS: &[&str] = &[
    "cores",
    "sockets",
    "vcpus",
    "onboot",
    "template",
    "swap",
    "cpuunits",
    "balloon",
    "unprivileged",
    "protection",
    "acpi",
    "kvm",
    "numa",
    "tablet",
];

/// A hex digest of a config and its pending changes, as PVE sends it to detect concurrent
/// changes.
pub(super) fn digest_of(config: &BTreeMap<String, String>, g: Option<&Guest>) -> String {
    let mut text: String = config.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    if let Some(g) = g.filter(|g| !g.pending.is_empty() || !g.pending_delete.is_empty()) {
        text.push_str("\n[PENDING]\n");
        text.extend(g.pending.iter().map(|(k, v)| format!("{k}: {v}\n")));
        let deleted: Vec<&str> = g.pending_delete.iter().map(String::as_str).collect();
        text.push_str(&format!("delete: {}\n", deleted.join(",")));
    }
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        text.as_bytes(),
    );
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of a guest's config as `GET .../config` sends it.
pub(super) fn digest(g: &Guest) -> String {
    digest_of(&g.config, Some(g))
}

/// One config value as PVE answers it (integers for integer keys).
fn value_json(kind: Kind, k: &str, v: &str) -> Value {
    let int = INT_KEYS.contains(&k) || (kind == Kind::Lxc && k == "memory");
    match v.parse::<i64>() {
        Ok(n) if int => n.into(),
        _ => v.into(),
    }
}

fn config_json(kind: Kind, config: &BTreeMap<String, String>) -> Map<String, Value> {
    config
        .iter()
        .map(|(k, v)| (k.clone(), value_json(kind, k, v)))
        .collect()
}

/// The config with its pending changes applied: what `GET .../config` answers unless `current`.
pub(super) fn with_pending(g: &Guest) -> BTreeMap<String, String> {
    let mut config = g.config.clone();
    config.extend(g.pending.clone());
    config.retain(|k, _| !g.pending_delete.contains(k));
    config
}

/// `GET .../config`, with `digest` (or a snapshot's config with `snapshot=`); pending values
/// count unless `current=1`, as in PVE.
pub(super) fn get_config(c: &Cluster, t: Target, params: &Params) -> Answer {
    let g = find(c, t)?;
    let (config, digest) = match params.get("snapshot") {
        Some(name) => {
            let snap = g
                .snapshots
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| fail(500, format!("snapshot '{name}' does not exist")))?;
            (snap.config.clone(), digest_of(&snap.config, None))
        }
        None if params.flag("current") => (g.config.clone(), digest(g)),
        None => (with_pending(g), digest(g)),
    };
    let mut out = config_json(t.kind, &config);
    out.insert("digest".into(), digest.into());
    if let Some(p) = &g.parent {
        out.insert("parent".into(), p.clone().into());
    }
    if let Some(l) = config_lock(g) {
        out.insert("lock".into(), l.into());
    }
    Ok(Value::Object(out))
}

/// `GET .../pending`: each key with its current `value`, its `pending` value, or `delete: 1`.
pub(super) fn pending(c: &Cluster, t: Target) -> Answer {
    let g = find(c, t)?;
    let mut keys: Vec<&String> = g
        .config
        .keys()
        .chain(g.pending.keys())
        .chain(g.pending_delete.iter())
        .collect();
    keys.sort();
    keys.dedup();
    Ok(keys
        .into_iter()
        .map(|k| {
            let mut item = json!({"key": k});
            if let Some(v) = g.config.get(k) {
                item["value"] = value_json(t.kind, k, v);
            }
            if let Some(v) = g.pending.get(k) {
                item["pending"] = value_json(t.kind, k, v);
            }
            if g.pending_delete.contains(k) {
                item["delete"] = 1.into();
            }
            item
        })
        .collect())
}

/// The name of guest `vmid`'s next disk on `storage`: `vm-105-disk-N` on LVM, or
/// `105/vm-105-disk-N.qcow2` (VM) and `105/vm-105-disk-N.raw` (container) on NFS.
pub(super) fn new_volume(
    c: Option<&Cluster>,
    config: &BTreeMap<String, String>,
    storage: &str,
    vmid: u64,
    kind: Kind,
) -> String {
    // Names are per storage: `vm-105-disk-1` on `local-lvm`, `105/vm-105-disk-1.qcow2` on `nas`.
    let taken = |v: &str, name: &str| {
        v.split(',').next().is_some_and(|volid| {
            volid
                .strip_prefix(storage)
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|n| {
                    let last = n.rsplit('/').next().unwrap_or(n);
                    last.split('.').next() == Some(name)
                })
        })
    };
    let used = |name: &str| {
        let in_config = config.values().any(|v| taken(v, name));
        let elsewhere = c.is_some_and(|c| {
            c.guests.values().any(|g| {
                g.config
                    .values()
                    .chain(g.pending.values())
                    .any(|v| taken(v, name))
            })
        });
        in_config || elsewhere
    };
    let n = (0..)
        .find(|n| !used(&format!("vm-{vmid}-disk-{n}")))
        .unwrap_or(0);
    if content_of(storage).contains("backup") {
        let ext = if kind == Kind::Qemu { "qcow2" } else { "raw" };
        format!("{vmid}/vm-{vmid}-disk-{n}.{ext}")
    } else {
        format!("vm-{vmid}-disk-{n}")
    }
}

/// `local-lvm:32` (allocate 32 GiB) becomes `local-lvm:vm-105-disk-N,size=32G`; other values stay.
pub(super) fn allocate(
    config: &BTreeMap<String, String>,
    vmid: u64,
    kind: Kind,
    key: &str,
    value: &str,
) -> Result<String, ApiError> {
    let Some((storage, rest)) = value.split_once(':') else {
        return Ok(value.to_string());
    };
    let (size, opts) = rest.split_once(',').unwrap_or((rest, ""));
    if !is_disk_key(key) || size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(value.to_string());
    }
    known_storage(storage)?;
    let want = if kind == Kind::Qemu {
        "images"
    } else {
        "rootdir"
    };
    if !content_of(storage).split(',').any(|c| c == want) {
        let what = if kind == Kind::Qemu {
            "vm images"
        } else {
            "container directories"
        };
        let mut errors = Map::new();
        errors.insert(
            key.to_string(),
            format!("storage '{storage}' does not support {what}").into(),
        );
        return Err(super::api::bad_params(errors));
    }
    let volume = new_volume(None, config, storage, vmid, kind);
    let opts = if opts.is_empty() {
        String::new()
    } else {
        format!(",{opts}")
    };
    Ok(format!("{storage}:{volume}{opts},size={size}G"))
}

/// What one config write asks: keys set (new disks allocated), keys deleted, pending changes
/// reverted, and whether deleted disks are destroyed (`force`).
#[derive(Debug, Default)]
pub(super) struct Change {
    pub set: Vec<(String, String)>,
    pub delete: Vec<String>,
    pub revert: Vec<String>,
    pub force: bool,
}

fn list(params: &Params, key: &str) -> Vec<String> {
    params
        .get(key)
        .unwrap_or("")
        .split([',', ';', ' '])
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// The change `params` asks of `g` (refused on a stale `digest`, as PVE does).
pub(super) fn change(g: &Guest, vmid: u64, params: &Params) -> Result<Change, ApiError> {
    if let Some(d) = params.get("digest").filter(|d| *d != digest(g)) {
        tracing::debug!(digest = d, "demo cluster: digest mismatch");
        return Err(fail(
            500,
            "detected modified configuration - file changed by other user? Try again.",
        ));
    }
    let mut ch = Change {
        delete: list(params, "delete"),
        revert: list(params, "revert"),
        force: params.flag("force"),
        ..Change::default()
    };
    let mut config = with_pending(g);
    for (k, v) in &params.0 {
        if !NOT_CONFIG.contains(&k.as_str()) {
            let value = allocate(&config, vmid, g.kind, k, v)?;
            config.insert(k.clone(), value.clone());
            ch.set.push((k.clone(), value));
        }
    }
    Ok(ch)
}

/// True for what PVE applies to a running guest at once; the rest waits for its next start.
fn hot(kind: Kind, key: &str, value: Option<&str>) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let numbered = base.len() < key.len();
    let always = matches!(
        key,
        "description"
            | "hookscript"
            | "lock"
            | "name"
            | "onboot"
            | "protection"
            | "startup"
            | "tags"
            | "hostname"
    );
    if always || super::cluster::is_cloudinit_key(key) {
        return true;
    }
    match kind {
        // PVE's default `hotplug` is network,disk,usb: NICs, SCSI and VirtIO disks, USB; a CD
        // change and the balloon target also apply at once.
        Kind::Qemu => {
            (numbered && matches!(base, "net" | "scsi" | "virtio" | "usb" | "unused"))
                || key == "balloon"
                || (numbered
                    && matches!(base, "ide" | "sata")
                    && value.is_some_and(|v| v.contains("media=cdrom")))
        }
        // Containers take resources, NICs and new mount points while running.
        Kind::Lxc => {
            matches!(
                key,
                "memory"
                    | "swap"
                    | "cores"
                    | "cpulimit"
                    | "cpuunits"
                    | "nameserver"
                    | "searchdomain"
            ) || (numbered && matches!(base, "net" | "mp" | "unused"))
        }
    }
}

/// The next free `unusedN` of a config.
fn next_unused(config: &BTreeMap<String, String>) -> String {
    let n = (0..)
        .find(|n| !config.contains_key(&format!("unused{n}")))
        .unwrap_or(0);
    format!("unused{n}")
}

/// Removes `key` now: a disk's volume is kept as `unusedN` (unless `force`, or it was unused
/// already: then it is gone); returns the volume deleted, if any.
pub(super) fn remove_key(
    config: &mut BTreeMap<String, String>,
    key: &str,
    force: bool,
) -> Option<String> {
    let value = config.remove(key)?;
    if !is_disk_key(key) || value.contains("media=cdrom") || value.starts_with("none") {
        return None;
    }
    let volid = value.split(',').next().unwrap_or("").to_string();
    if key.starts_with("unused") || force {
        return Some(volid);
    }
    let slot = next_unused(config);
    config.insert(slot, volid);
    None
}

/// Applies `ch` to `g`: at once when stopped; when running, what it cannot hot-plug waits as a
/// pending change. Returns the volumes deleted for good.
pub(super) fn apply(g: &mut Guest, ch: Change) -> Vec<String> {
    let running = g.power != Power::Stopped;
    for k in &ch.revert {
        g.pending.remove(k);
        g.pending_delete.remove(k);
    }
    let mut gone = Vec::new();
    for k in &ch.delete {
        g.pending.remove(k);
        let value = g.config.get(k).map(String::as_str);
        if running && !hot(g.kind, k, value) {
            if g.config.contains_key(k) {
                g.pending_delete.insert(k.clone());
            }
        } else {
            gone.extend(remove_key(&mut g.config, k, ch.force));
            g.pending_delete.remove(k);
        }
    }
    for (k, v) in ch.set {
        g.pending_delete.remove(&k);
        if running && !hot(g.kind, &k, Some(&v)) {
            if g.config.get(&k) == Some(&v) {
                g.pending.remove(&k);
            } else {
                g.pending.insert(k, v);
            }
        } else {
            g.pending.remove(&k);
            g.config.insert(k, v);
        }
    }
    if !running {
        gone.extend(apply_pending(g));
    }
    gone
}

/// Applies every pending change (at a start, or at a write while stopped).
pub(super) fn apply_pending(g: &mut Guest) -> Vec<String> {
    let mut gone = Vec::new();
    for k in std::mem::take(&mut g.pending_delete) {
        gone.extend(remove_key(&mut g.config, &k, false));
    }
    let pending = std::mem::take(&mut g.pending);
    g.config.extend(pending);
    gone
}

/// `PUT .../config` (applied at once) or `POST .../config` (a task that applies it).
pub(super) fn set_config(c: &mut Cluster, t: Target, params: &Params, as_task: bool) -> Answer {
    let g = unlocked(c, t)?;
    let ch = change(g, t.vmid, params)?;
    let vmid = t.vmid;
    if !as_task {
        if let Some(g) = c.guests.get_mut(&vmid) {
            apply(g, ch);
        }
        return Ok(Value::Null);
    }
    let log = vec![format!(
        "update VM {vmid}: {}",
        params
            .0
            .iter()
            .map(|(k, _)| format!("-{k}"))
            .collect::<Vec<_>>()
            .join(" ")
    )];
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid) {
            apply(g, ch);
        }
    });
    Ok(c.spawn(
        t.node,
        "qmconfig",
        &vmid.to_string(),
        Some((vmid, "config")),
        log,
        None,
        effect,
    )
    .into())
}
