//! A guest's disks and its conversion to a template: template, feature, resize, move and unlink,
//! with PVE's checks and texts (qemu-server's and pve-container's), as tasks where PVE makes them.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::api::{Answer, ApiError, Params, bad_params, fail};
use super::cluster::{
    Cluster, Effect, Guest, Kind, NODES, Power, STORAGES, content_of, is_disk_key, parse_size,
    shared,
};
use super::config::{Change, apply, digest, new_volume};
use super::guests::{Target, find, unlocked};
use super::status::known_storage;

/// The value of disk `key`, unless it is a CD drive or has no volume.
fn volume_of(value: &str) -> Option<(String, String)> {
    if value.contains("media=cdrom") || value.starts_with("none") {
        return None;
    }
    let volid = value.split(',').next()?;
    let (st, name) = volid.split_once(':')?;
    Some((st.to_string(), name.to_string()))
}

/// The last path element of a volume name: `base-103-disk-0/vm-105-disk-0` is `vm-105-disk-0`.
fn leaf(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// `base-…` for a template's volume: `vm-104-disk-0` becomes `base-104-disk-0`.
fn base_name(name: &str) -> String {
    match name.rsplit_once('/') {
        Some((dir, last)) => format!("{dir}/{}", last.replacen("vm-", "base-", 1)),
        None => name.replacen("vm-", "base-", 1),
    }
}

/// `POST .../template`: stopped, without snapshots; the disks become base volumes. A VM's is a
/// `qmtemplate` task; a container's runs as `vztemplate` and the call answers null, as in PVE.
pub(super) fn template(c: &mut Cluster, t: Target, params: &Params) -> Answer {
    let g = unlocked(c, t)?;
    let (w, vmid) = (t.kind.word(), t.vmid);
    let disk = params.get("disk").map(str::to_string);
    if !g.snapshots.is_empty() {
        return Err(fail(
            500,
            format!("unable to create template, because {w} contains snapshots"),
        ));
    }
    if g.template() && (disk.is_none() || t.kind == Kind::Lxc) {
        return Err(fail(500, "you can't convert a template to a template"));
    }
    if g.power != Power::Stopped {
        let what = match t.kind {
            Kind::Qemu => "you can't convert a VM to template if VM is running",
            Kind::Lxc => "you can't convert a CT to template if the CT is running",
        };
        return Err(fail(500, what));
    }
    let mut log = Vec::new();
    let mut renames = Vec::new();
    for (key, st, name, _) in g.disks() {
        if key.starts_with("unused") || disk.as_ref().is_some_and(|d| *d != key) {
            continue;
        }
        if leaf(&name).starts_with("base-") {
            continue;
        }
        let new = base_name(&name);
        if shared(&st) {
            log.push(format!("renaming '{st}:{name}' to '{st}:{new}'"));
        } else {
            log.push(format!(
                "  Renamed \"{}\" to \"{}\" in volume group \"pve\"",
                leaf(&name),
                leaf(&new)
            ));
            log.push(format!("  Logical volume pve/{} changed.", leaf(&new)));
        }
        renames.push((key, format!("{st}:{name}"), format!("{st}:{new}")));
    }
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid) {
            g.config.insert("template".into(), "1".into());
            for (key, from, to) in renames {
                if let Some(v) = g.config.get_mut(&key) {
                    *v = v.replacen(&from, &to, 1);
                }
            }
        }
    });
    let (kind, hold) = match t.kind {
        Kind::Qemu => ("qmtemplate", "template"),
        Kind::Lxc => ("vztemplate", "template"),
    };
    let upid = c.spawn(
        t.node,
        kind,
        &vmid.to_string(),
        Some((vmid, hold)),
        log,
        None,
        effect,
    );
    Ok(match t.kind {
        Kind::Qemu => upid.into(),
        Kind::Lxc => Value::Null,
    })
}

/// What a storage can do with a volume in a state (`current`, `base`, `snap`), as PVE's plugins
/// answer `volume_has_feature`.
fn storage_has(storage: &str, name: &str, feature: &str, state: &str) -> bool {
    let plugin = STORAGES.iter().find(|s| s.0 == storage).map_or("", |s| s.1);
    let qcow2 = name.ends_with(".qcow2");
    match (plugin, feature) {
        ("lvmthin", "snapshot") => state == "current",
        ("lvmthin", "clone") => state != "current",
        ("lvmthin", "copy") => true,
        (_, "snapshot") => qcow2 && state != "base",
        (_, "clone") => qcow2 || state == "base",
        (_, "copy") => true,
        _ => false,
    }
}

/// `GET .../feature?feature=snapshot|clone|copy`: whether every disk allows it, and (for a VM)
/// the nodes where its storages are.
pub(super) fn feature(c: &Cluster, t: Target, params: &Params) -> Answer {
    let g = find(c, t)?;
    let feature = params.get("feature").unwrap_or_default();
    let snapname = params.get("snapname");
    let config: &BTreeMap<String, String> = match snapname {
        Some(name) => {
            &g.snapshots
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| fail(500, format!("snapshot '{name}' does not exist")))?
                .config
        }
        None => &g.config,
    };
    let volumes: Vec<(String, String)> = config
        .iter()
        .filter(|(k, _)| is_disk_key(k) && !k.starts_with("unused"))
        .filter_map(|(_, v)| volume_of(v))
        .collect();
    let has = volumes.iter().all(|(st, name)| {
        let state = if snapname.is_some() {
            "snap"
        } else if leaf(name).starts_with("base-") {
            "base"
        } else {
            "current"
        };
        storage_has(st, name, feature, state)
    });
    match t.kind {
        Kind::Lxc => Ok(json!({"hasFeature": has})),
        Kind::Qemu => {
            let nodes: Vec<&str> = if volumes.iter().all(|(st, _)| shared(st)) {
                NODES.iter().map(|n| n.0).collect()
            } else {
                vec![t.node]
            };
            Ok(json!({"hasFeature": has, "nodes": nodes}))
        }
    }
}

/// Bytes as PVE prints a disk's `size=`: the largest unit that divides it.
pub(super) fn size_text(b: u64) -> String {
    for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
        if b >= 1 << shift && b.is_multiple_of(1 << shift) {
            return format!("{}{unit}", b >> shift);
        }
    }
    b.to_string()
}

/// `+10G` or `42G` (PVE's size text, decimals allowed) over `now` bytes.
fn new_size(text: &str, now: u64) -> Option<u64> {
    let (grow, num) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let unit_at = num.find(|ch: char| !(ch.is_ascii_digit() || ch == '.'));
    let (digits, unit) = num.split_at(unit_at.unwrap_or(num.len()));
    let n: f64 = digits.parse().ok()?;
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    let bytes = (n * (1u64 << shift) as f64) as u64;
    Some(if grow { now + bytes } else { bytes })
}

/// The disk `key` of a guest's config: its value, or PVE's "does not exist".
fn disk_value(g: &Guest, key: &str, what: &str) -> Result<String, ApiError> {
    g.config
        .get(key)
        .filter(|_| is_disk_key(key))
        .cloned()
        .ok_or_else(|| fail(500, format!("{what} '{key}' does not exist")))
}

/// `PUT .../resize`: a `resize` task. A VM's checks run in the task (its error then), a
/// container's before it, as PVE does.
pub(super) fn resize(c: &mut Cluster, t: Target, params: &Params) -> Answer {
    let g = unlocked(c, t)?;
    let vmid = t.vmid;
    let key = params.get("disk").unwrap_or_default().to_string();
    let size = params.get("size").unwrap_or_default().to_string();
    let mut error = None;
    let mut log = Vec::new();
    let mut after = None;
    let checked: Result<(String, u64, u64), String> = (|| {
        if params.get("digest").is_some_and(|d| d != digest(g)) {
            return Err("checksum mismatch (file change by other user?)".to_string());
        }
        let value = g
            .config
            .get(&key)
            .filter(|_| is_disk_key(&key))
            .cloned()
            .ok_or_else(|| format!("disk '{key}' does not exist"))?;
        if value.contains("media=cdrom") {
            return Err("you can't resize a cdrom".into());
        }
        let now = value
            .split(',')
            .find_map(|p| p.strip_prefix("size="))
            .map(parse_size)
            .unwrap_or(0);
        let wanted = new_size(&size, now).ok_or_else(|| "invalid size string".to_string())?;
        Ok((value, now, wanted))
    })();
    match (checked, t.kind) {
        (Err(e), Kind::Lxc) => return Err(fail(500, e)),
        (Err(e), Kind::Qemu) => error = Some(e),
        (Ok((_, now, wanted)), Kind::Lxc) if wanted < now => {
            return Err(fail(500, "unable to shrink disk size"));
        }
        (Ok((_, now, wanted)), Kind::Lxc) if wanted == now => {
            return Err(fail(500, "disk is already at specified size"));
        }
        (Ok((_, now, wanted)), Kind::Qemu) if wanted < now => {
            error = Some("shrinking disks is not supported".into());
        }
        (Ok((value, now, wanted)), _) => {
            if wanted != now {
                let vol = value.split(',').next().unwrap_or("").to_string();
                log.push(format!(
                    "  Size of logical volume pve/{} changed from {} to {}.",
                    leaf(&vol),
                    size_text(now),
                    size_text(wanted)
                ));
                if t.kind == Kind::Lxc {
                    log.push("resize2fs 1.47.2 (1-Jan-2025)".into());
                }
                after = Some(set_size(&value, wanted));
            }
        }
    }
    let effect: Effect = Box::new(move |c| {
        if let (Some(g), Some(v)) = (c.guests.get_mut(&vmid), after) {
            g.config.insert(key, v);
        }
    });
    Ok(c.spawn(
        t.node,
        "resize",
        &vmid.to_string(),
        Some((vmid, "resize")),
        log,
        error,
        effect,
    )
    .into())
}

/// A disk value with `size=` set to `bytes`.
fn set_size(value: &str, bytes: u64) -> String {
    let mut parts: Vec<String> = value
        .split(',')
        .filter(|p| !p.starts_with("size="))
        .map(str::to_string)
        .collect();
    parts.push(format!("size={}", size_text(bytes)));
    parts.join(",")
}

/// `POST .../move_disk` (VM, `qmmove`) and `.../move_volume` (container, `move_volume`): the
/// volume moves to `storage`; the old one stays as `unusedN` unless `delete`.
pub(super) fn move_disk(c: &mut Cluster, t: Target, params: &Params) -> Answer {
    let g = unlocked(c, t)?;
    let vmid = t.vmid;
    let lxc = t.kind == Kind::Lxc;
    let key = params
        .get(if lxc { "volume" } else { "disk" })
        .unwrap_or_default()
        .to_string();
    let storage = params.get("storage").map(str::to_string);
    let target_vmid = params.get("target-vmid");
    let storage = match (storage, target_vmid) {
        (Some(_), Some(_)) => {
            return Err(fail(500, "either set storage or target-vmid, but not both"));
        }
        (None, Some(_)) => {
            return Err(fail(
                501,
                "moving a disk to another guest (target-vmid) is not simulated by the demo \
                 cluster; give `storage` to move it to another storage",
            ));
        }
        (None, None) => {
            return Err(fail(500, "either set 'storage' or 'target-vmid'"));
        }
        (Some(s), None) => s,
    };
    if lxc && g.power != Power::Stopped {
        return Err(fail(500, "cannot move volumes of a running container"));
    }
    if lxc && key.starts_with("unused") {
        return Err(fail(
            500,
            format!(
                "cannot move volume '{key}', only configured volumes can be moved to another \
                 storage"
            ),
        ));
    }
    if params.get("digest").is_some_and(|d| d != digest(g)) {
        return Err(fail(
            500,
            "detected modified configuration - file changed by other user? Try again.",
        ));
    }
    let value = disk_value(g, &key, if lxc { "volume" } else { "disk" })?;
    if !lxc && value.contains("media=cdrom") {
        return Err(fail(500, "you can't move a cdrom"));
    }
    let Some((old_st, old_name)) = volume_of(&value) else {
        return Err(fail(500, format!("disk '{key}' has no associated volume")));
    };
    known_storage(&storage)?;
    if old_st == storage {
        return Err(fail(
            500,
            "you can't move to the same storage with same format",
        ));
    }
    let (wants, what) = if lxc {
        ("rootdir", "container directories")
    } else {
        ("images", "vm images")
    };
    if !content_of(&storage).split(',').any(|ct| ct == wants) {
        let mut errors = Map::new();
        errors.insert(
            "storage".into(),
            format!("storage '{storage}' does not support {what}").into(),
        );
        return Err(bad_params(errors));
    }
    let old_volid = format!("{old_st}:{old_name}");
    let in_snapshots = g.snapshots.iter().any(|s| {
        s.config
            .values()
            .any(|v| v.split(',').next() == Some(&old_volid))
    });
    let delete = params.flag("delete");
    if in_snapshots && delete {
        let what = if lxc { "volume" } else { "disk" };
        return Err(fail(
            500,
            format!("you can't move a {what} with snapshots and delete the source"),
        ));
    }
    let new_name = new_volume(Some(c), &g.config, &storage, vmid, t.kind);
    let new_volid = format!("{storage}:{new_name}");
    let new_value = value.replacen(&old_volid, &new_volid, 1);
    let size = value
        .split(',')
        .find_map(|p| p.strip_prefix("size="))
        .unwrap_or("0")
        .to_string();
    let mut log = vec![format!(
        "copying volume '{old_volid}' from current storage '{old_st}' to target storage \
         '{storage}'"
    )];
    if in_snapshots {
        log.push("moving disk with snapshots, snapshots will not be moved!".into());
    }
    if shared(&storage) {
        log.push(format!(
            "Formatting '/mnt/pve/{storage}/images/{new_name}', fmt=qcow2 size={}",
            parse_size(&size)
        ));
    } else {
        log.push(format!("  Logical volume \"{new_name}\" created."));
    }
    if g.power != Power::Stopped {
        log.push(format!("drive mirror is starting for drive-{key}"));
        log.push(format!(
            "drive-{key}: transferred {size} of {size} (100.00%) in 2s, ready"
        ));
        log.push("all 'mirror' jobs are ready".into());
    } else {
        log.push(format!("transferred {size} of {size} (100.00%)"));
    }
    if delete {
        log.push(format!("removing volume '{old_volid}'"));
    } else {
        log.push(format!(
            "adding source volume '{old_volid}' as unused to config"
        ));
    }
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid) {
            g.config.insert(key, new_value);
            if !delete {
                let n = (0..)
                    .find(|n| !g.config.contains_key(&format!("unused{n}")))
                    .unwrap_or(0);
                g.config.insert(format!("unused{n}"), old_volid);
            }
        }
    });
    let (kind, lock) = if lxc {
        ("move_volume", "disk")
    } else {
        ("qmmove", "move-disk")
    };
    Ok(c.spawn(
        t.node,
        kind,
        &vmid.to_string(),
        Some((vmid, lock)),
        log,
        None,
        effect,
    )
    .into())
}

/// `PUT /nodes/{node}/qemu/{vmid}/unlink`: the listed disks are removed from the config; their
/// volumes stay as `unusedN` unless `force` (an `unusedN` is always destroyed).
pub(super) fn unlink(c: &mut Cluster, t: Target, params: &Params) -> Answer {
    let g = unlocked(c, t)?;
    let keys: Vec<String> = params
        .get("idlist")
        .unwrap_or_default()
        .split([',', ';', ' '])
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(k) = keys.iter().find(|k| !g.config.contains_key(k.as_str())) {
        tracing::debug!(
            key = k,
            "demo cluster: unlink of a missing key is a no-op in PVE"
        );
    }
    let ch = Change {
        delete: keys,
        force: params.flag("force"),
        ..Change::default()
    };
    if let Some(g) = c.guests.get_mut(&t.vmid) {
        apply(g, ch);
    }
    Ok(Value::Null)
}
