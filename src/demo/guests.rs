//! The guests' methods: status, power actions, config, snapshots, create and destroy. Writes
//! that PVE runs as tasks start one here; their effect applies when it finishes.

use std::collections::BTreeMap;

use proxmox_mcp::apidoc::HttpMethod;
use serde_json::{Map, Value, json};

use super::api::{
    Answer, ApiError, Params, bad_params, fail, not_simulated, permitted, privileges,
};
use super::cluster::{Cluster, Effect, Guest, Kind, Power, Snapshot, epoch};
use super::config::{allocate, apply, apply_pending, change};

/// Power actions: PVE holds the guest's lock file while they run, without a config `lock`.
const POWER_ACTIONS: [&str; 6] = ["start", "stop", "shutdown", "reboot", "suspend", "resume"];

/// What holds only the guest's lock file, without a config `lock`: power actions, the source
/// of a clone, and conversion, resize and disk moves of a VM.
const FILE_LOCKS: [&str; 10] = [
    "start",
    "stop",
    "shutdown",
    "reboot",
    "suspend",
    "resume",
    "clone-source",
    "template",
    "resize",
    "move-disk",
];

/// The `lock` PVE shows in the config while a task holds the guest (`snapshot`, `create`...).
pub(super) fn config_lock(g: &Guest) -> Option<&str> {
    g.lock.as_deref().filter(|l| !FILE_LOCKS.contains(l))
}

/// The guest a request addresses.
#[derive(Clone, Copy)]
pub(super) struct Target<'a> {
    pub node: &'a str,
    pub kind: Kind,
    pub vmid: u64,
}

pub(super) fn find<'c>(c: &'c Cluster, t: Target) -> Result<&'c Guest, ApiError> {
    c.guests
        .get(&t.vmid)
        .filter(|g| g.node == t.node && g.kind == t.kind)
        .ok_or_else(|| fail(500, t.kind.missing(t.node, t.vmid)))
}

/// The guest, unless a task holds it.
pub(super) fn unlocked<'c>(c: &'c Cluster, t: Target) -> Result<&'c Guest, ApiError> {
    let g = find(c, t)?;
    match g.lock.as_deref() {
        None => Ok(g),
        Some(l) if FILE_LOCKS.contains(&l) => {
            let file = match t.kind {
                Kind::Qemu => format!("/var/lock/qemu-server/lock-{}.conf", t.vmid),
                Kind::Lxc => format!("/run/lock/lxc/pve-config-{}.lock", t.vmid),
            };
            tracing::debug!(lock = l, "demo cluster: guest busy");
            Err(fail(500, format!("can't lock file '{file}' - got timeout")))
        }
        Some(l) => Err(fail(
            500,
            format!("{} {} is locked ({l})", t.kind.word(), t.vmid),
        )),
    }
}

/// A guest as lists and `status/current` show it.
pub(super) fn summary(vmid: u64, g: &Guest, full: bool) -> Value {
    let (mem, cpu) = g.usage(vmid);
    let running = g.power != Power::Stopped;
    let maxdisk: u64 = g
        .disks()
        .iter()
        .filter(|d| d.0 != "unused0")
        .map(|d| d.3)
        .max()
        .unwrap_or(0);
    let mut v = json!({
        "vmid": vmid, "name": g.name(vmid),
        "status": if running { "running" } else { "stopped" },
        "maxmem": g.maxmem(), "mem": mem, "cpus": g.cpus(), "cpu": cpu,
        "maxdisk": maxdisk, "disk": if g.kind == Kind::Lxc { maxdisk / 5 } else { 0 },
        "uptime": if running { g.since.elapsed().as_secs() } else { 0 },
        "netin": if running { 48_213_112 + vmid * 1000 } else { 0 },
        "netout": if running { 9_113_201 + vmid * 700 } else { 0 },
        "diskread": 0, "diskwrite": 0,
    });
    if g.kind == Kind::Lxc {
        v["type"] = "lxc".into();
    } else if running {
        v["pid"] = (2000 + vmid * 13).into();
    }
    for (k, val) in [("tags", g.get("tags")), ("lock", config_lock(g))] {
        if let Some(val) = val {
            v[k] = val.into();
        }
    }
    if g.template() {
        v["template"] = 1.into();
    }
    if full {
        v["ha"] = json!({"managed": 0});
        if g.kind == Kind::Qemu {
            v["qmpstatus"] = match g.power {
                Power::Running => "running",
                Power::Paused => "paused",
                Power::Stopped => "stopped",
            }
            .into();
            if running {
                v["running-qemu"] = "10.1.2".into();
                v["running-machine"] = "pc-i440fx-10.1+pve0".into();
            }
        }
    }
    v
}

/// `GET /nodes/{node}/qemu` and `/lxc`: the guests of one node the token may audit.
pub(super) fn list_guests(c: &Cluster, node: &str, kind: Kind) -> Value {
    c.guests
        .iter()
        .filter(|(_, g)| g.node == node && g.kind == kind)
        .filter(|(id, _)| privileges(&format!("/vms/{id}")).contains("VM.Audit"))
        .map(|(id, g)| summary(*id, g, false))
        .collect()
}

/// `GET .../status/current`.
pub(super) fn guest_summary(c: &Cluster, t: Target, full: bool) -> Answer {
    find(c, t).map(|g| summary(t.vmid, g, full))
}

/// `POST .../status/{action}`: a task that changes the power state when it finishes.
pub(super) fn power(c: &mut Cluster, t: Target, action: &str, params: &Params) -> Answer {
    let Some(action) = POWER_ACTIONS.into_iter().find(|a| *a == action) else {
        let path = format!(
            "/nodes/{}/{}/{}/status/{action}",
            t.node,
            t.kind.as_str(),
            t.vmid
        );
        return Err(not_simulated(HttpMethod::Post, &path));
    };
    let g = unlocked(c, t)?;
    let (w, vmid) = (t.kind.word(), t.vmid);
    let not_running = || Err(fail(500, format!("{w} {vmid} not running")));
    let to = match (action, g.power) {
        ("start", _) if g.template() => {
            return Err(fail(500, "you can't start a vm if it's a template"));
        }
        ("start", Power::Stopped) => Power::Running,
        ("start", _) => return Err(fail(500, format!("{w} {vmid} already running"))),
        (_, Power::Stopped) => return not_running(),
        ("stop" | "shutdown", _) => Power::Stopped,
        ("reboot", Power::Running) | ("resume", Power::Paused) => Power::Running,
        ("suspend", Power::Running) => Power::Paused,
        ("reboot" | "suspend", _) => return Err(fail(500, format!("{w} {vmid} is paused"))),
        _ => return Err(fail(500, format!("{w} {vmid} is not paused"))),
    };
    let name = g.name(vmid);
    let (mut log, mut error) = (
        vec![format!("{action} {w} {vmid} ({name}) on node '{}'", t.node)],
        None,
    );
    if action == "start" && g.broken {
        let disk = format!("/dev/pve/vm-{vmid}-disk-0");
        log.push(format!(
            "kvm: -drive file={disk},if=none,id=drive-scsi0,format=raw: Could not open \
             '{disk}': No such file or directory"
        ));
        log.push("start failed: QEMU exited with code 1".into());
        error = Some("start failed: QEMU exited with code 1".to_string());
    }
    if params.flag("skiplock") {
        log.push("skiplock is ignored by the demo cluster".into());
    }
    let kind = format!("{}{action}", t.kind.task_prefix());
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid) {
            if g.power == Power::Stopped || action == "reboot" {
                // A (re)start applies what waited and regenerates the cloud-init drive.
                g.since = std::time::Instant::now();
                apply_pending(g);
                g.cloudinit = super::cluster::cloudinit_values(&g.config);
            }
            if to != Power::Running {
                g.frozen = false;
            }
            g.power = to;
        }
    });
    Ok(c.spawn(
        t.node,
        &kind,
        &vmid.to_string(),
        Some((vmid, action)),
        log,
        error,
        effect,
    )
    .into())
}

/// `GET .../snapshot`: the snapshots and the `current` entry.
pub(super) fn list_snapshots(c: &Cluster, t: Target) -> Answer {
    let g = find(c, t)?;
    let mut out: Vec<Value> = g
        .snapshots
        .iter()
        .map(|s| {
            let mut v =
                json!({"name": s.name, "description": s.description, "snaptime": s.snaptime});
            if t.kind == Kind::Qemu {
                v["vmstate"] = 0.into();
            }
            if let Some(p) = &s.parent {
                v["parent"] = p.clone().into();
            }
            v
        })
        .collect();
    let mut current = json!({"name": "current", "description": "You are here!"});
    if t.kind == Kind::Qemu {
        current["running"] = u8::from(g.power != Power::Stopped).into();
    }
    if let Some(p) = &g.parent {
        current["parent"] = p.clone().into();
    }
    out.push(current);
    Ok(Value::Array(out))
}

/// `POST .../snapshot`: a task that records the current config under `snapname`.
pub(super) fn snapshot(c: &mut Cluster, t: Target, params: &Params) -> Answer {
    let g = unlocked(c, t)?;
    let name = params.get("snapname").unwrap_or_default().to_string();
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() >= 2
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid || name == "current" || name == "vzdump" {
        let mut errors = Map::new();
        errors.insert(
            "snapname".into(),
            format!("invalid format - invalid configuration ID '{name}'").into(),
        );
        return Err(bad_params(errors));
    }
    if g.snapshots.iter().any(|s| s.name == name) {
        return Err(fail(500, format!("snapshot name '{name}' already used")));
    }
    let log = g
        .disks()
        .iter()
        .filter(|d| !d.0.starts_with("unused"))
        .flat_map(|(key, st, vol, _)| {
            [
                format!("snapshotting '{key}' ({st}:{vol})"),
                format!("  Logical volume \"snap_{vol}_{name}\" created."),
            ]
        })
        .collect();
    let description = params.get("description").unwrap_or("").to_string();
    let vmid = t.vmid;
    let task_kind = format!("{}snapshot", t.kind.task_prefix());
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid) {
            g.snapshots.push(Snapshot {
                name: name.clone(),
                description,
                snaptime: epoch(),
                parent: g.parent.clone(),
                config: g.config.clone(),
            });
            g.parent = Some(name);
        }
    });
    Ok(c.spawn(
        t.node,
        &task_kind,
        &vmid.to_string(),
        Some((vmid, "snapshot")),
        log,
        None,
        effect,
    )
    .into())
}

fn existing_snapshot(g: &Guest, name: &str) -> Result<(), ApiError> {
    if g.snapshots.iter().any(|s| s.name == name) {
        Ok(())
    } else {
        Err(fail(500, format!("snapshot '{name}' does not exist")))
    }
}

/// `DELETE .../snapshot/{snapname}` as a task.
pub(super) fn delete_snapshot(c: &mut Cluster, t: Target, name: &str) -> Answer {
    existing_snapshot(unlocked(c, t)?, name)?;
    let (vmid, owned) = (t.vmid, name.to_string());
    let log = vec![format!(
        "delete snapshot '{name}' of {} {vmid}",
        t.kind.word()
    )];
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid) {
            let gone = g
                .snapshots
                .iter()
                .position(|s| s.name == owned)
                .map(|i| g.snapshots.remove(i));
            let up = gone.and_then(|s| s.parent);
            for s in g
                .snapshots
                .iter_mut()
                .filter(|s| s.parent.as_deref() == Some(&owned))
            {
                s.parent = up.clone();
            }
            if g.parent.as_deref() == Some(&owned) {
                g.parent = up;
            }
        }
    });
    let kind = format!("{}delsnapshot", t.kind.task_prefix());
    Ok(c.spawn(
        t.node,
        &kind,
        &vmid.to_string(),
        Some((vmid, "snapshot-delete")),
        log,
        None,
        effect,
    )
    .into())
}

/// `POST .../snapshot/{snapname}/rollback` as a task: the config returns, the guest stops (or
/// starts with `start=1`).
pub(super) fn rollback(c: &mut Cluster, t: Target, name: &str, params: &Params) -> Answer {
    existing_snapshot(unlocked(c, t)?, name)?;
    let (vmid, owned, start) = (t.vmid, name.to_string(), params.flag("start"));
    let log = vec![format!(
        "rollback {} {vmid} to snapshot '{name}'",
        t.kind.word()
    )];
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid)
            && let Some(s) = g.snapshots.iter().find(|s| s.name == owned)
        {
            g.config = s.config.clone();
            g.pending.clear();
            g.pending_delete.clear();
            g.parent = Some(owned);
            g.power = if start {
                Power::Running
            } else {
                Power::Stopped
            };
            g.since = std::time::Instant::now();
        }
    });
    let kind = format!("{}rollback", t.kind.task_prefix());
    Ok(c.spawn(
        t.node,
        &kind,
        &vmid.to_string(),
        Some((vmid, "rollback")),
        log,
        None,
        effect,
    )
    .into())
}

/// `DELETE /nodes/{node}/{kind}/{vmid}` as a task; the guest must be stopped.
pub(super) fn destroy(c: &mut Cluster, t: Target) -> Answer {
    let g = unlocked(c, t)?;
    let (w, vmid) = (t.kind.word(), t.vmid);
    if g.power != Power::Stopped {
        return Err(fail(500, format!("{w} {vmid} is running - destroy failed")));
    }
    if g.get("protection") == Some("1") {
        return Err(fail(
            500,
            format!("can't remove {w} {vmid} - protection mode enabled"),
        ));
    }
    let log = g
        .disks()
        .iter()
        .map(|(_, _, vol, _)| format!("  Logical volume \"{vol}\" successfully removed."))
        .collect();
    let effect: Effect = Box::new(move |c| {
        c.guests.remove(&vmid);
    });
    let kind = format!("{}destroy", t.kind.task_prefix());
    Ok(c.spawn(
        t.node,
        &kind,
        &vmid.to_string(),
        Some((vmid, "destroyed")),
        log,
        None,
        effect,
    )
    .into())
}

/// `POST /nodes/{node}/qemu` and `/lxc`: the guest appears at once, locked, and is ready when the
/// task ends.
pub(super) fn create(c: &mut Cluster, node: &str, kind: Kind, params: &Params) -> Answer {
    let restoring = match kind {
        Kind::Qemu => params.get("archive").is_some(),
        Kind::Lxc => params.flag("restore"),
    };
    if restoring {
        return super::restore::restore(c, node, kind, params);
    }
    let vmid = params.num("vmid").unwrap_or(0);
    let w = kind.word();
    if let Err(m) = permitted(&json!(["perm", "/vms/{vmid}", ["VM.Allocate"]]), &|n| {
        (n == "vmid").then(|| vmid.to_string())
    }) {
        return Err(fail(403, format!("Permission check failed ({m})")));
    }
    if let Some(g) = c.guests.get(&vmid) {
        return Err(fail(
            500,
            format!(
                "unable to create {w} {vmid} - {} {vmid} already exists on node '{}'",
                g.kind.word(),
                g.node
            ),
        ));
    }
    let mut g = Guest::new(kind, node, Power::Stopped, BTreeMap::new());
    g.pool = params.get("pool").map(str::to_string);
    if kind == Kind::Lxc {
        let storage = params.get("storage").unwrap_or("local-lvm");
        g.config.insert("rootfs".into(), format!("{storage}:8"));
        g.config.insert("hostname".into(), format!("CT{vmid}"));
        g.config.insert("ostype".into(), "debian".into());
        g.config.insert("arch".into(), "amd64".into());
    }
    let rootfs = g.config.remove("rootfs");
    let ch = change(&g, vmid, params)?;
    apply(&mut g, ch);
    if let (Some(r), false) = (rootfs, g.config.contains_key("rootfs")) {
        let value = allocate(&g.config, vmid, kind, "rootfs", &r)?;
        g.config.insert("rootfs".into(), value);
    }
    g.cloudinit = super::cluster::cloudinit_values(&g.config);
    let mut log: Vec<String> = g
        .disks()
        .iter()
        .map(|(_, _, vol, _)| format!("  Logical volume \"{vol}\" created."))
        .collect();
    if let Some(t) = params.get("ostemplate") {
        log.push(format!("extracting archive '{t}'"));
        log.push("Total bytes read: 536494080 (512MiB, 138MiB/s)".into());
    }
    let start = params.flag("start");
    c.guests.insert(vmid, g);
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid).filter(|_| start) {
            g.power = Power::Running;
            g.since = std::time::Instant::now();
        }
    });
    let task_kind = format!("{}create", kind.task_prefix());
    Ok(c.spawn(
        node,
        &task_kind,
        &vmid.to_string(),
        Some((vmid, "create")),
        log,
        None,
        effect,
    )
    .into())
}
