//! Methods that copy or move guests: clone, migrate and backup (vzdump), each a task whose effect
//! applies when it finishes, with PVE's refusals.

use serde_json::{Map, json};

use super::api::{Answer, ApiError, Params, bad_params, fail, permitted};
use super::cluster::{
    Cluster, Effect, File, Guest, Kind, NODES, Power, STORAGES, epoch, mac, shared,
};
use super::guests::{Target, unlocked};
use super::status::known_storage;

/// PVE's message for a node that is not in the cluster.
fn no_such_node(node: &str) -> ApiError {
    fail(500, format!("no such cluster node '{node}'"))
}

/// `local-lvm:vm-100-disk-0,iothread=1,size=32G` as guest `newid`'s disk: a full copy on
/// `storage` (or the same storage), or a linked clone of a template's base volume. Returns the
/// new value and the task's log lines.
fn cloned_disk(
    key: &str,
    value: &str,
    newid: u64,
    full: bool,
    storage: Option<&str>,
) -> (String, Vec<String>) {
    let Some((st, rest)) = value.split_once(':') else {
        return (value.to_string(), Vec::new());
    };
    let (volume, opts) = rest.split_once(',').unwrap_or((rest, ""));
    let n = volume
        .rsplit_once("-disk-")
        .and_then(|(_, n)| n.split('.').next())
        .unwrap_or("0")
        .to_string();
    let own = format!("vm-{newid}-disk-{n}");
    let opts = if opts.is_empty() {
        String::new()
    } else {
        format!(",{opts}")
    };
    if full {
        let to = storage.unwrap_or(st);
        let ext = if key == "rootfs" || key.starts_with("mp") {
            "raw"
        } else {
            "qcow2"
        };
        let own = if shared(to) {
            format!("{newid}/{own}.{ext}")
        } else {
            own
        };
        let size = value
            .split(',')
            .find_map(|p| p.strip_prefix("size="))
            .unwrap_or("0");
        let log = vec![
            format!("create full clone of drive {key} ({st}:{volume})"),
            format!("  Logical volume \"{own}\" created."),
            format!("transferred {size} of {size} (100.00%)"),
        ];
        (format!("{to}:{own}{opts}"), log)
    } else {
        let base = volume.split('/').next().unwrap_or(volume);
        let log = vec![
            format!("create linked clone of drive {key} ({st}:{volume})"),
            format!("  Logical volume \"{own}\" created."),
        ];
        (format!("{st}:{base}/{own}{opts}"), log)
    }
}

/// A new MAC address for `net*` values, a new UUID in `smbios1`, a new `vmgenid`.
pub(super) fn fresh_identity(key: &str, value: &str, newid: u64) -> Option<String> {
    if key.starts_with("net") {
        let parts: Vec<String> = value
            .split(',')
            .map(|p| match p.split_once('=') {
                Some((k, v)) if v.len() == 17 && v.matches(':').count() == 5 => {
                    format!("{k}={}", mac(newid))
                }
                _ => p.to_string(),
            })
            .collect();
        return Some(parts.join(","));
    }
    match key {
        "smbios1" => Some(format!("uuid=6c1f0e2a-0000-4000-8000-{newid:012}")),
        "vmgenid" => Some(format!("3f8e5b7c-0000-4000-9000-{newid:012}")),
        _ => None,
    }
}

/// `POST /nodes/{node}/{qemu|lxc}/{vmid}/clone`: guest `newid` appears at once, locked `clone`,
/// and is ready when the task (holding the source) ends.
pub(super) fn clone(c: &mut Cluster, t: Target, params: &Params) -> Answer {
    let src = unlocked(c, t)?.clone();
    let (w, vmid) = (t.kind.word(), t.vmid);
    let newid = params.num("newid").unwrap_or(0);
    if let Err(m) = permitted(&json!(["perm", "/vms/{vmid}", ["VM.Allocate"]]), &|n| {
        (n == "vmid").then(|| newid.to_string())
    }) {
        return Err(fail(403, format!("Permission check failed ({m})")));
    }
    if let Some(g) = c.guests.get(&newid) {
        return Err(fail(
            500,
            format!(
                "{} {newid} already exists on node '{}'",
                g.kind.word(),
                g.node
            ),
        ));
    }
    let target = params.get("target").filter(|n| *n != t.node);
    if let Some(target) = target {
        if !NODES.iter().any(|n| n.0 == target) {
            return Err(no_such_node(target));
        }
        // Only a guest on shared storage (`nas`) may be cloned to another node, onto shared
        // storage.
        if src.disks().iter().any(|d| !shared(&d.1)) {
            return Err(fail(
                500,
                format!("can't clone {w} to node '{target}' ({w} uses local storage)"),
            ));
        }
        if let Some(s) = params.get("storage").filter(|s| !shared(s)) {
            return Err(fail(
                500,
                format!("can't clone to non-shared storage '{s}'"),
            ));
        }
    }
    let template = src.template();
    let full = params
        .get("full")
        .map_or(!template, |_| params.flag("full"));
    let storage = params.get("storage");
    if let Some(s) = storage {
        if !full {
            return Err(fail(
                500,
                "parameter 'storage' not allowed for linked clones",
            ));
        }
        known_storage(s)?;
        let content = STORAGES.iter().find(|x| x.0 == s).map_or("", |x| x.2);
        let (wants, what) = match t.kind {
            Kind::Qemu => ("images", "vm images"),
            Kind::Lxc => ("rootdir", "container directories"),
        };
        if !content.split(',').any(|ct| ct == wants) {
            return Err(fail(500, format!("storage '{s}' does not support {what}")));
        }
    }
    if t.kind == Kind::Lxc
        && full
        && src.power != Power::Stopped
        && params.get("snapname").is_none()
    {
        return Err(fail(
            500,
            "Cannot do full clones on a running container without snapshots",
        ));
    }
    let mut config = match params.get("snapname") {
        Some(name) => src
            .snapshots
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.config.clone())
            .ok_or_else(|| fail(500, format!("snapshot '{name}' does not exist")))?,
        None => src.config.clone(),
    };
    config.remove("template");
    config.retain(|k, _| !k.starts_with("unused"));
    let mut log = vec![format!(
        "create {} clone of {w} {vmid} as {newid}",
        if full { "full" } else { "linked" }
    )];
    for (key, _, _, _) in src.disks() {
        let Some(value) = config.get(&key).cloned() else {
            continue;
        };
        if !full && !template {
            return Err(fail(
                500,
                format!("Linked clone feature is not supported for drive '{key}'"),
            ));
        }
        let (new, lines) = cloned_disk(&key, &value, newid, full, storage);
        config.insert(key, new);
        log.extend(lines);
    }
    for (k, v) in config.clone() {
        if let Some(new) = fresh_identity(&k, &v, newid) {
            config.insert(k, new);
        }
    }
    match t.kind {
        Kind::Qemu => {
            let name = params
                .get("name")
                .map(str::to_string)
                .unwrap_or_else(|| format!("Copy-of-VM-{}", src.name(vmid)));
            config.insert("name".into(), name);
        }
        Kind::Lxc => {
            if let Some(h) = params.get("hostname") {
                config.insert("hostname".into(), h.to_string());
            }
        }
    }
    if let Some(d) = params.get("description") {
        config.insert("description".into(), d.to_string());
    }
    // The clone gets a cloud-init drive of its own.
    for v in config.values_mut() {
        if v.contains("cloudinit,media=cdrom") {
            *v = v.replace(
                &format!("vm-{vmid}-cloudinit"),
                &format!("vm-{newid}-cloudinit"),
            );
        }
    }
    let mut copy = Guest::new(t.kind, target.unwrap_or(t.node), Power::Stopped, config);
    copy.lock = Some("clone".into());
    copy.pool = params.get("pool").map(str::to_string);
    copy.agent = src.agent;
    c.guests.insert(newid, copy);
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&newid) {
            g.lock = None;
        }
    });
    let kind = format!("{}clone", t.kind.task_prefix());
    Ok(c.spawn(
        t.node,
        &kind,
        &vmid.to_string(),
        Some((vmid, "clone-source")),
        log,
        None,
        effect,
    )
    .into())
}

/// `POST .../migrate`: the guest moves to `target` when the task ends.
pub(super) fn migrate(c: &mut Cluster, t: Target, params: &Params) -> Answer {
    let target = params.get("target").unwrap_or_default().to_string();
    if target == t.node {
        let mut errors = Map::new();
        errors.insert("target".into(), "target is local node.".into());
        return Err(bad_params(errors));
    }
    let Some(&(_, _, _, ip)) = NODES.iter().find(|n| n.0 == target) else {
        return Err(no_such_node(&target));
    };
    let g = unlocked(c, t)?;
    let (w, vmid) = (t.kind.word(), t.vmid);
    let running = g.power != Power::Stopped;
    let (online, restart) = (params.flag("online"), params.flag("restart"));
    match t.kind {
        Kind::Qemu if running && !online => {
            return Err(fail(500, "can't migrate running VM without --online"));
        }
        Kind::Lxc if running && !online && !restart => {
            return Err(fail(
                500,
                "can't migrate running container without --online or --restart",
            ));
        }
        _ => {}
    }
    let mut log = vec![format!(
        "starting migration of {w} {vmid} to node '{target}' ({ip})"
    )];
    let mut error = None;
    let mut abort = |log: &mut Vec<String>, why: &str| {
        log.push(format!(
            "ERROR: migration aborted (duration 00:00:01): {why}"
        ));
        error = Some("migration aborted".to_string());
    };
    let disks: Vec<_> = g.disks().into_iter().filter(|d| !shared(&d.1)).collect();
    if t.kind == Kind::Lxc && running && online && !restart {
        abort(&mut log, "lxc live migration is currently not implemented");
    } else if t.kind == Kind::Qemu
        && running
        && !disks.is_empty()
        && !params.flag("with-local-disks")
    {
        abort(
            &mut log,
            "Problem found while scanning volumes - can't live migrate attached local disks \
             without with-local-disks option",
        );
    } else {
        for (key, st, vol, _) in &disks {
            log.push(format!("found local disk '{st}:{vol}' (attached as {key})"));
        }
        if running && t.kind == Kind::Lxc {
            log.push(format!("shutdown CT {vmid}"));
        }
        log.push("copying local disk images".into());
        if running && t.kind == Kind::Lxc {
            log.push(format!("start container on target node '{target}'"));
        } else if running {
            log.push("starting online/live migration".into());
            log.push("migration status: completed".into());
        }
        log.push("migration finished successfully (duration 00:00:02)".into());
    }
    let to = target.clone();
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid) {
            g.node = to;
        }
    });
    let kind = match t.kind {
        Kind::Qemu => "qmigrate",
        Kind::Lxc => "vzmigrate",
    };
    Ok(c.spawn(
        t.node,
        kind,
        &vmid.to_string(),
        Some((vmid, "migrate")),
        log,
        error,
        effect,
    )
    .into())
}

/// `YYYY_MM_DD-HH_MM_SS` in UTC, as vzdump names its archives.
fn archive_time(secs: u64) -> String {
    let t = crate::utc::seconds(secs);
    format!(
        "{}_{}_{}-{}_{}_{}",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        &t[11..13],
        &t[14..16],
        &t[17..19]
    )
}

/// `POST /nodes/{node}/vzdump`: one task backing up the listed guests of this node; each archive
/// appears in the storage's content when the task ends.
pub(super) fn vzdump(c: &mut Cluster, node: &str, params: &Params) -> Answer {
    let storage = params.get("storage").unwrap_or("local").to_string();
    known_storage(&storage)?;
    let content = STORAGES.iter().find(|s| s.0 == storage).map_or("", |s| s.2);
    if !content.split(',').any(|ct| ct == "backup") {
        return Err(fail(
            500,
            format!("can't use storage '{storage}' for backups - wrong content type"),
        ));
    }
    let mut vmids: Vec<u64> = if params.flag("all") {
        c.guests
            .iter()
            .filter(|(_, g)| g.node == node && !g.template())
            .map(|(id, _)| *id)
            .collect()
    } else {
        params
            .get("vmid")
            .unwrap_or_default()
            .split([',', ';', ' '])
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    };
    vmids.sort_unstable();
    vmids.dedup();
    // PVE backs up the guests on this node; asked only for guests elsewhere, it does nothing.
    vmids.retain(|id| c.guests.get(id).is_none_or(|g| g.node == node));
    if vmids.is_empty() {
        return Ok("OK".into());
    }
    let mode = params.get("mode").unwrap_or("snapshot").to_string();
    let compress = params.get("compress").unwrap_or("zstd");
    let ext = match compress {
        "0" => "",
        "gzip" => ".gz",
        "lzo" => ".lzo",
        _ => ".zst",
    };
    let comp_opt = if compress == "0" {
        String::new()
    } else {
        format!(" --compress {compress}")
    };
    let start = epoch();
    let mut log = vec![format!(
        "INFO: starting new backup job: vzdump {} --storage {storage} --mode {mode}{comp_opt} \
         --node {node}",
        vmids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    )];
    let mut made: Vec<File> = Vec::new();
    let mut failed = false;
    for &vmid in &vmids {
        let Some(g) = c.guests.get(&vmid) else {
            log.push(format!(
                "ERROR: Backup of VM {vmid} failed - unable to find configuration file for VM \
                 {vmid} on node '{node}'"
            ));
            failed = true;
            continue;
        };
        let t = Target {
            node,
            kind: g.kind,
            vmid,
        };
        if let Err(e) = unlocked(c, t) {
            log.push(format!(
                "ERROR: Backup of VM {vmid} failed - {}",
                e.message()
            ));
            failed = true;
            continue;
        }
        let (kind, format) = match g.kind {
            Kind::Qemu => ("qemu", format!("vma{ext}")),
            Kind::Lxc => ("lxc", format!("tar{ext}")),
        };
        let disk: u64 = g.disks().iter().map(|d| d.3).sum();
        let size = match g.kind {
            Kind::Qemu => disk / 14,
            Kind::Lxc => disk / 26,
        };
        let name = format!(
            "backup/vzdump-{kind}-{vmid}-{}.{format}",
            archive_time(start)
        );
        log.extend([
            format!("INFO: Starting Backup of VM {vmid} ({kind})"),
            format!("INFO: Backup started at {}", crate::utc::seconds(start)),
            format!(
                "INFO: status = {}",
                if g.power == Power::Stopped {
                    "stopped"
                } else {
                    "running"
                }
            ),
            format!("INFO: backup mode: {mode}"),
            format!(
                "INFO: creating vzdump archive '/var/lib/vz/dump/{}'",
                &name["backup/".len()..]
            ),
            format!("INFO: archive file size: {}MB", size >> 20),
            format!("INFO: Finished Backup of VM {vmid} (00:00:02)"),
        ]);
        made.push(File {
            node: node.to_string(),
            storage: storage.clone(),
            name,
            content: "backup".into(),
            format,
            size,
            vmid,
            ctime: start,
            guest: Some((g.kind, g.config.clone())),
            protected: false,
            notes: params.get("notes-template").map(|n| {
                n.replace("{{guestname}}", &g.name(vmid))
                    .replace("{{vmid}}", &vmid.to_string())
                    .replace("{{node}}", node)
            }),
        });
    }
    let error = if failed {
        log.push("INFO: Backup job finished with errors".into());
        Some("job errors".to_string())
    } else {
        log.push("INFO: Backup job finished successfully".into());
        None
    };
    // The archives appear when the job ends well.
    let effect: Effect = Box::new(move |c| c.files.extend(made));
    let id = if vmids.len() == 1 {
        vmids[0].to_string()
    } else {
        String::new()
    };
    let hold = (vmids.len() == 1 && !failed).then(|| (vmids[0], "backup"));
    Ok(c.spawn(node, "vzdump", &id, hold, log, error, effect)
        .into())
}
