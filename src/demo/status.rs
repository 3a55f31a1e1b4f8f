//! Cluster-wide and node-level reads: resources, cluster and node status, storage, task lists.

use serde_json::{Map, Value, json};

use super::api::{Answer, ApiError, Params, bad_params, fail, privileges};
use super::cluster::{Cluster, NODES, STORAGES, shared};
use super::guests::summary;

/// `GET /cluster/resources`, optionally of one `type` (`vm`, `node`, `storage`, `pool`).
pub(super) fn resources(c: &Cluster, kind: Option<&str>) -> Value {
    let mut out = Vec::new();
    if kind.is_none_or(|k| k == "node") {
        out.extend(NODES.iter().map(|n| node_entry(c, n.0, true)));
    }
    if kind.is_none_or(|k| k == "vm") {
        for (vmid, g) in &c.guests {
            if !privileges(&format!("/vms/{vmid}")).contains("VM.Audit") {
                continue;
            }
            let mut v = summary(*vmid, g, false);
            let kind = g.kind.as_str();
            v["id"] = format!("{kind}/{vmid}").into();
            v["type"] = kind.into();
            v["node"] = g.node.clone().into();
            v["maxcpu"] = v["cpus"].take();
            v["template"] = u8::from(g.template()).into();
            if let Some(p) = &g.pool {
                v["pool"] = p.clone().into();
            }
            if let Some(o) = v.as_object_mut() {
                o.remove("cpus");
                o.remove("pid");
            }
            out.push(v);
        }
    }
    if kind.is_none_or(|k| k == "storage") {
        for (node, ..) in NODES {
            for (id, plugin, content, _) in STORAGES {
                let s = node_storage(c, node, id);
                out.push(json!({
                    "id": format!("storage/{node}/{id}"), "type": "storage", "storage": id,
                    "node": node, "status": "available", "plugintype": plugin,
                    "content": content, "shared": u8::from(shared(id)), "disk": s["used"],
                    "maxdisk": s["total"],
                }));
            }
        }
    }
    if kind.is_none_or(|k| k == "pool") {
        out.push(json!({"id": "/pool/prod", "type": "pool", "pool": "prod"}));
    }
    Value::Array(out)
}

/// `GET /cluster/status`: the cluster and its nodes.
pub(super) fn cluster_status() -> Value {
    let mut out = vec![
        json!({"type": "cluster", "id": "cluster", "name": "demo", "nodes": NODES.len(),
        "quorate": 1, "version": 4}),
    ];
    for (i, (name, _, _, ip)) in NODES.iter().enumerate() {
        out.push(
            json!({"type": "node", "id": format!("node/{name}"), "name": name,
            "nodeid": i + 1, "ip": ip, "local": u8::from(i == 0), "online": 1, "level": ""}),
        );
    }
    Value::Array(out)
}

/// A node's load: CPU fraction, memory used in bytes.
pub(super) fn node_load(c: &Cluster, node: &str, cpus: u64) -> (f64, u64) {
    let mut cpu = 0.012;
    let mut mem = 2_300u64 << 20;
    for (vmid, g) in c.guests.iter().filter(|(_, g)| g.node == node) {
        let (m, load) = g.usage(*vmid);
        cpu += load * g.cpus() as f64 / cpus as f64;
        mem += m;
    }
    (cpu, mem)
}

/// A node's CPUs and GiB of memory.
fn node_size(node: &str) -> (u64, u64) {
    NODES
        .iter()
        .find(|n| n.0 == node)
        .map(|n| (n.1, n.2))
        .unwrap_or((1, 1))
}

/// A node as `/nodes` and `/cluster/resources` list it.
pub(super) fn node_entry(c: &Cluster, node: &str, resource: bool) -> Value {
    let (cpus, gib) = node_size(node);
    let (cpu, mem) = node_load(c, node, cpus);
    let mut v = json!({
        "node": node, "status": "online", "cpu": cpu, "maxcpu": cpus, "mem": mem,
        "maxmem": gib << 30, "disk": 9_663_676_416u64, "maxdisk": 100_861_726_720u64,
        "uptime": c.boot.elapsed().as_secs(), "level": "", "id": format!("node/{node}"),
        "type": "node",
    });
    if resource {
        v["cgroup-mode"] = 2.into();
    }
    v
}

/// `GET /nodes/{node}/status`.
pub(super) fn node_status(c: &Cluster, node: &str) -> Value {
    let (cpus, gib) = node_size(node);
    let (cpu, mem) = node_load(c, node, cpus);
    let total = gib << 30;
    json!({
        "cpu": cpu, "wait": 0.0004, "uptime": c.boot.elapsed().as_secs(),
        "loadavg": ["0.42", "0.37", "0.31"], "idle": 0,
        "cpuinfo": {"cpus": cpus, "cores": cpus / 2, "sockets": 1, "hvm": "1", "user_hz": 100,
            "model": "AMD EPYC 4344P 8-Core Processor", "mhz": "3800.000"},
        "memory": {"total": total, "used": mem, "free": total.saturating_sub(mem),
            "available": total.saturating_sub(mem)},
        "swap": {"total": 8_589_930_496u64, "used": 0, "free": 8_589_930_496u64},
        "rootfs": {"total": 100_861_726_720u64, "used": 9_663_676_416u64,
            "free": 91_198_050_304u64, "avail": 85_998_050_304u64},
        "ksm": {"shared": 0},
        "kversion": "Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 x86_64",
        "pveversion": "pve-manager/9.2.0/5f4e9c2a",
        "current-kernel": {"sysname": "Linux", "release": "6.17.2-1-pve", "machine": "x86_64",
            "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1"},
        "boot-info": {"mode": "efi", "secureboot": 0},
    })
}

/// `Ok` for a storage of the demo, PVE's error otherwise.
pub(super) fn known_storage(id: &str) -> Result<(), ApiError> {
    if STORAGES.iter().any(|s| s.0 == id) {
        Ok(())
    } else {
        Err(fail(500, format!("storage '{id}' does not exist")))
    }
}

/// A storage as `/storage` lists it.
pub(super) fn storage_config(id: &str) -> Value {
    let (_, plugin, content, _) = STORAGES
        .iter()
        .find(|s| s.0 == id)
        .copied()
        .unwrap_or(STORAGES[0]);
    let digest = "0c1b2a39f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9";
    let mut v = json!({"storage": id, "type": plugin, "content": content, "digest": digest});
    match plugin {
        "dir" => v["path"] = "/var/lib/vz".into(),
        "nfs" => {
            v["path"] = format!("/mnt/pve/{id}").into();
            v["server"] = "10.0.0.5".into();
            v["export"] = "/srv/pve".into();
            v["options"] = "vers=4.2".into();
            v["prune-backups"] = "keep-all=1".into();
        }
        _ => {
            v["thinpool"] = "data".into();
            v["vgname"] = "pve".into();
        }
    }
    v
}

/// A storage of a node with its usage, as `/nodes/{node}/storage` lists it.
pub(super) fn node_storage(c: &Cluster, node: &str, id: &str) -> Value {
    let (_, plugin, content, gib) = STORAGES
        .iter()
        .find(|s| s.0 == id)
        .copied()
        .unwrap_or(STORAGES[0]);
    let total = gib << 30;
    let mut used: u64 = c.volumes(node, id).iter().map(|v| v.size).sum();
    if plugin == "lvmthin" {
        used = used / 10 * 4;
    }
    let used = used.min(total);
    json!({"storage": id, "type": plugin, "content": content, "active": 1, "enabled": 1,
        "shared": u8::from(shared(id)), "total": total, "used": used, "avail": total - used,
        "used_fraction": used as f64 / total as f64})
}

/// `GET /cluster/nextid`: the lowest free VMID, or whether `vmid` is free.
pub(super) fn next_id(c: &Cluster, params: &Params) -> Answer {
    if let Some(id) = params.num("vmid") {
        if c.guests.contains_key(&id) {
            let mut errors = Map::new();
            errors.insert("vmid".into(), format!("VM {id} already exists").into());
            return Err(bad_params(errors));
        }
        return Ok(id.to_string().into());
    }
    let free = (100u64..)
        .find(|id| !c.guests.contains_key(id))
        .unwrap_or(100);
    Ok(free.to_string().into())
}

/// The task with this UPID.
pub(super) fn task<'c>(c: &'c Cluster, upid: &str) -> Result<&'c super::cluster::Task, ApiError> {
    if upid.parse::<proxmox_mcp::Upid>().is_err() {
        return Err(fail(400, format!("unable to parse worker upid '{upid}'")));
    }
    c.tasks
        .iter()
        .find(|t| t.upid == upid)
        .ok_or_else(|| fail(500, "no such task"))
}

/// `GET /nodes/{node}/tasks`, newest first, with PVE's filters.
pub(super) fn list_tasks(
    c: &Cluster,
    node: &str,
    params: &Params,
    total: &mut Option<u64>,
) -> Value {
    let vmid = params.get("vmid");
    let active = params.get("source") == Some("active");
    let list: Vec<Value> = c
        .tasks
        .iter()
        .rev()
        .filter(|t| t.node == node && vmid.is_none_or(|v| v == t.id))
        .filter(|t| params.num("since").is_none_or(|s| t.starttime >= s))
        .filter(|t| params.num("until").is_none_or(|u| t.starttime <= u))
        .filter(|t| params.get("typefilter").is_none_or(|f| f == t.kind))
        .filter(|t| active == t.endtime.is_none() || params.get("source") == Some("all"))
        .filter(|t| !params.flag("errors") || t.error.is_some())
        .map(|t| {
            let mut v = t.status();
            if let Some(o) = v.as_object_mut() {
                o.remove("status");
                if let Some(s) = o.remove("exitstatus") {
                    o.insert("status".into(), s);
                }
            }
            v
        })
        .collect();
    *total = Some(list.len() as u64);
    let start = params.num("start").unwrap_or(0) as usize;
    let limit = params.num("limit").unwrap_or(50) as usize;
    list.into_iter().skip(start).take(limit).collect()
}
