//! A node's guests at once: `startall`, `stopall` and `migrateall`, each one task of the node
//! (PVE's `startall`, `stopall`, `migrateall`) whose log says what happened to each guest.

use super::api::{Answer, Params, bad_params, fail, privileges};
use super::cluster::{Cluster, Effect, Kind, NODES, Power, shared};

/// The node's guests that `vms` lists (all when absent), in startup order (by `startup=order=`,
/// then VMID); `Err` names a listed guest the token may not act on.
fn selected(
    c: &Cluster,
    node: &str,
    params: &Params,
    privilege: &str,
) -> Result<Vec<u64>, super::api::ApiError> {
    let listed: Option<Vec<u64>> = params.get("vms").map(|v| {
        v.split([',', ';', ' '])
            .filter_map(|x| x.trim().parse().ok())
            .collect()
    });
    if let Some(list) = &listed {
        for id in list {
            let path = format!("/vms/{id}");
            if !privileges(&path).contains(privilege) {
                return Err(fail(
                    403,
                    format!("Permission check failed ({path}, {privilege})"),
                ));
            }
        }
    }
    let order = |id: &u64| {
        c.guests
            .get(id)
            .and_then(|g| g.get("startup"))
            .and_then(|s| {
                s.split(',')
                    .find_map(|p| p.strip_prefix("order="))
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .unwrap_or(u64::MAX)
    };
    let mut ids: Vec<u64> = c
        .guests
        .iter()
        .filter(|(id, g)| {
            g.node == node
                && !g.template()
                && listed.as_ref().is_none_or(|l| l.contains(id))
                && privileges(&format!("/vms/{id}")).contains(privilege)
        })
        .map(|(id, _)| *id)
        .collect();
    ids.sort_by_key(|id| (order(id), *id));
    Ok(ids)
}

/// `POST /nodes/{node}/startall`: starts the guests marked `onboot` (all listed ones with
/// `force`), in startup order; the broken VM fails as it does alone.
pub(super) fn startall(c: &mut Cluster, node: &str, params: &Params) -> Answer {
    let ids = selected(c, node, params, "VM.PowerMgmt")?;
    let force = params.flag("force");
    let mut log = Vec::new();
    let mut start = Vec::new();
    for id in ids {
        let Some(g) = c.guests.get(&id) else { continue };
        let w = g.kind.word();
        if g.power != Power::Stopped {
            continue;
        }
        if !force && g.get("onboot") != Some("1") {
            continue;
        }
        if g.lock.is_some() {
            log.push(format!("Starting {w} {id} failed: {w} is locked"));
            continue;
        }
        log.push(format!("Starting {w} {id}"));
        if g.broken {
            log.push(format!(
                "Starting {w} {id} failed: start failed: QEMU exited with code 1"
            ));
            continue;
        }
        start.push(id);
    }
    if log.is_empty() {
        log.push("no guest to start (none stopped and marked onboot)".into());
    }
    let effect: Effect = Box::new(move |c| {
        for id in start {
            if let Some(g) = c.guests.get_mut(&id).filter(|g| g.power == Power::Stopped) {
                super::config::apply_pending(g);
                g.power = Power::Running;
                g.since = std::time::Instant::now();
            }
        }
    });
    Ok(c.spawn(node, "startall", "", None, log, None, effect)
        .into())
}

/// `POST /nodes/{node}/stopall`: stops the running guests, in reverse startup order.
pub(super) fn stopall(c: &mut Cluster, node: &str, params: &Params) -> Answer {
    let mut ids = selected(c, node, params, "VM.PowerMgmt")?;
    ids.reverse();
    let timeout = params.num("timeout").unwrap_or(180);
    let mut log = Vec::new();
    let mut stop = Vec::new();
    for id in ids {
        let Some(g) = c.guests.get(&id) else { continue };
        if g.power == Power::Stopped {
            continue;
        }
        log.push(format!(
            "Stopping {} {id} (timeout = {timeout} seconds)",
            g.kind.word()
        ));
        stop.push(id);
    }
    if log.is_empty() {
        log.push("no guest runs on this node".into());
    }
    let effect: Effect = Box::new(move |c| {
        for id in stop {
            if let Some(g) = c.guests.get_mut(&id) {
                g.power = Power::Stopped;
                g.frozen = false;
            }
        }
    });
    Ok(c.spawn(node, "stopall", "", None, log, None, effect).into())
}

/// `POST /nodes/{node}/migrateall`: each guest moves to `target` (running VMs live, with their
/// local disks only when `with-local-disks`; running containers restart).
pub(super) fn migrateall(c: &mut Cluster, node: &str, params: &Params) -> Answer {
    let target = params.get("target").unwrap_or_default().to_string();
    if target == node {
        let mut errors = serde_json::Map::new();
        errors.insert("target".into(), "target is local node.".into());
        return Err(bad_params(errors));
    }
    if !NODES.iter().any(|n| n.0 == target) {
        return Err(fail(500, format!("no such cluster node '{target}'")));
    }
    let ids = selected(c, node, params, "VM.Migrate")?;
    let local_ok = params.flag("with-local-disks");
    let mut log = Vec::new();
    let mut moved = Vec::new();
    let mut skipped = false;
    for id in ids {
        let Some(g) = c.guests.get(&id) else { continue };
        let running = g.power != Power::Stopped;
        match g.kind {
            Kind::Lxc => {
                log.push(format!("Migrating CT {id}"));
            }
            Kind::Qemu => {
                let local: Vec<String> = g
                    .disks()
                    .into_iter()
                    .filter(|d| !shared(&d.1))
                    .map(|d| format!("{}:{}", d.1, d.2))
                    .collect();
                if running && !local_ok && !local.is_empty() {
                    log.push(format!(
                        "Check VM {id}: skip VM {id} - precondition check failed:"
                    ));
                    log.push(format!("  Has local disks: {}", local.join(", ")));
                    skipped = true;
                    continue;
                }
                log.push(format!("Check VM {id}: precondition check passed"));
                log.push(format!("Migrating VM {id}"));
            }
        }
        if g.lock.is_some() {
            log.push(format!("Migrating {} {id} failed: locked", g.kind.word()));
            skipped = true;
            continue;
        }
        moved.push(id);
    }
    if skipped {
        log.push("some guests could not be migrated".into());
    }
    if log.is_empty() {
        log.push("no guest to migrate".into());
    }
    let effect: Effect = Box::new(move |c| {
        for id in moved {
            if let Some(g) = c.guests.get_mut(&id) {
                g.node = target.clone();
            }
        }
    });
    // PVE's migrateall logs a guest it skips and goes on; the task itself ends well.
    Ok(c.spawn(node, "migrateall", "", None, log, None, effect)
        .into())
}
