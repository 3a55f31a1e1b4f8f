//! Restores: `POST /nodes/{node}/qemu` with `archive` and `POST /nodes/{node}/lxc` with
//! `ostemplate` and `restore=1` create the guest from a backup as a task, with PVE's refusals.

use std::collections::BTreeMap;

use serde_json::json;

use super::api::{Answer, Params, fail, permitted};
use super::cluster::{Cluster, Effect, Guest, Kind, Power, content_of, is_disk_key, mac};
use super::config::new_volume;
use super::moves::fresh_identity;

/// A configuration for a backup whose guest the demo does not know any more.
fn plausible(kind: Kind, vmid: u64) -> BTreeMap<String, String> {
    let pairs: Vec<(&str, String)> = match kind {
        Kind::Qemu => vec![
            ("name", format!("restored-{vmid}")),
            ("memory", "2048".into()),
            ("cores", "2".into()),
            ("sockets", "1".into()),
            ("ostype", "l26".into()),
            ("scsihw", "virtio-scsi-single".into()),
            (
                "scsi0",
                format!("local-lvm:vm-{vmid}-disk-0,iothread=1,size=32G"),
            ),
            ("net0", format!("virtio={},bridge=vmbr0", mac(vmid))),
        ],
        Kind::Lxc => vec![
            ("hostname", format!("ct{vmid}")),
            ("memory", "512".into()),
            ("swap", "512".into()),
            ("cores", "1".into()),
            ("ostype", "debian".into()),
            ("arch", "amd64".into()),
            ("unprivileged", "1".into()),
            ("rootfs", format!("local-lvm:vm-{vmid}-disk-0,size=8G")),
            (
                "net0",
                format!(
                    "name=eth0,bridge=vmbr0,hwaddr={},ip=dhcp,type=veth",
                    mac(vmid)
                ),
            ),
        ],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Creates guest `vmid` on `node` from the backup the parameters name.
pub(super) fn restore(c: &mut Cluster, node: &str, kind: Kind, params: &Params) -> Answer {
    let vmid = params.num("vmid").unwrap_or(0);
    let w = kind.word();
    let archive = match kind {
        Kind::Qemu => params.get("archive"),
        Kind::Lxc => params.get("ostemplate"),
    }
    .unwrap_or_default()
    .to_string();
    let force = params.flag("force");
    if let Err(m) = permitted(&json!(["perm", "/vms/{vmid}", ["VM.Allocate"]]), &|n| {
        (n == "vmid").then(|| vmid.to_string())
    }) {
        return Err(fail(403, format!("Permission check failed ({m})")));
    }
    let emsg = format!("unable to restore {w} {vmid} -");
    // PVE's checks of an existing VMID, VM and container each in their own words.
    if let Some(old) = c.guests.get(&vmid) {
        let here = old.node == node && old.kind == kind;
        let exists = format!(
            "{} {vmid} already exists on node '{}'",
            old.kind.word(),
            old.node
        );
        match kind {
            Kind::Qemu if !force => return Err(fail(500, format!("{emsg} {exists}"))),
            Kind::Qemu if !here => {
                return Err(fail(500, format!("{emsg} {}", kind.missing(node, vmid))));
            }
            Kind::Lxc if !(here && force) => return Err(fail(500, exists)),
            _ => {}
        }
        if old.lock.is_some() {
            return Err(fail(
                500,
                format!(
                    "{emsg} {w} {vmid} is locked ({})",
                    old.lock.clone().unwrap_or_default()
                ),
            ));
        }
        if old.get("protection") == Some("1") {
            return Err(fail(500, format!("{emsg} protection mode enabled")));
        }
        if old.power != Power::Stopped {
            return Err(fail(
                500,
                match kind {
                    Kind::Qemu => format!("{emsg} vm is running"),
                    Kind::Lxc => "can't overwrite running container".to_string(),
                },
            ));
        }
    }
    let Some(file) = c
        .files
        .iter()
        .find(|f| f.volid() == archive && f.on(node, &f.storage))
        .cloned()
    else {
        return Err(fail(500, format!("volume '{archive}' does not exist")));
    };
    let of_kind = match kind {
        Kind::Qemu => "-qemu-",
        Kind::Lxc => "-lxc-",
    };
    if file.content != "backup" || !file.name.contains(of_kind) {
        let what = match kind {
            Kind::Qemu => "a VM backup (vzdump-qemu-…)",
            Kind::Lxc => "a container backup (vzdump-lxc-…)",
        };
        return Err(fail(500, format!("{emsg} '{archive}' is not {what}")));
    }
    // The backup's configuration, else its guest's as it is now, else a plausible one.
    let source = file
        .guest
        .clone()
        .filter(|(k, _)| *k == kind)
        .map(|(_, config)| config)
        .or_else(|| {
            c.guests
                .get(&file.vmid)
                .filter(|g| g.kind == kind)
                .map(|g| g.config.clone())
        })
        .unwrap_or_else(|| plausible(kind, file.vmid));
    let agent = c.guests.get(&file.vmid).is_some_and(|g| g.agent);
    let storage = params.get("storage").map(str::to_string);
    let wants = match kind {
        Kind::Qemu => "images",
        Kind::Lxc => "rootdir",
    };
    if let Some(s) = &storage {
        super::status::known_storage(s)?;
        if !content_of(s).split(',').any(|ct| ct == wants) {
            return Err(fail(500, format!("storage '{s}' does not support {wants}")));
        }
    }
    let unique = params.flag("unique");
    let mut config = BTreeMap::new();
    let dump_dir = if file.storage == "local" {
        "/var/lib/vz/dump".to_string()
    } else {
        format!("/mnt/pve/{}/dump", file.storage)
    };
    let path = format!("{dump_dir}/{}", file.name.trim_start_matches("backup/"));
    let mut log = match kind {
        Kind::Qemu => vec![
            format!(
                "restore vma archive: zstd -q -d -c {path} | vma extract -v -r \
                 /var/tmp/vzdumptmp{vmid}.fifo - /var/tmp/vzdumptmp{vmid}"
            ),
            "CFG: size: 612 name: qemu-server.conf".to_string(),
        ],
        Kind::Lxc => vec![format!(
            "recovering backed-up configuration from '{archive}'"
        )],
    };
    // A forced restore replaces the guest and its disks.
    c.guests.remove(&vmid);
    let mut created = Vec::new();
    for (k, v) in &source {
        if k.starts_with("unused") {
            continue;
        }
        let mut value = v.clone();
        if is_disk_key(k) && !v.contains("media=cdrom") {
            if let Some((st, rest)) = v.split_once(':') {
                let target = storage.clone().unwrap_or_else(|| {
                    if content_of(st).split(',').any(|ct| ct == wants) {
                        st.to_string()
                    } else {
                        "local-lvm".to_string()
                    }
                });
                let opts = rest.split_once(',').map(|(_, o)| o).unwrap_or("");
                let name = new_volume(Some(c), &config, &target, vmid, kind);
                value = if opts.is_empty() {
                    format!("{target}:{name}")
                } else {
                    format!("{target}:{name},{opts}")
                };
                created.push(format!("{target}:{name}"));
                log.push(format!("  Logical volume \"{name}\" created."));
                log.push(format!("new volume ID is '{target}:{name}'"));
            }
        } else if v.contains("cloudinit,media=cdrom") {
            value = v.replace(
                &format!("vm-{}-cloudinit", file.vmid),
                &format!("vm-{vmid}-cloudinit"),
            );
        }
        if unique && let Some(fresh) = fresh_identity(k, &value, vmid) {
            value = fresh;
        }
        config.insert(k.clone(), value);
    }
    match kind {
        Kind::Qemu => log.extend([
            format!(
                "progress 100% (read {} bytes, duration 2 sec)",
                file.size * 14
            ),
            "rescan volumes...".to_string(),
        ]),
        Kind::Lxc => log.extend([
            format!("restoring '{archive}' now.."),
            format!("extracting archive '{path}'"),
            format!("Total bytes read: {}", file.size * 26),
            "merging backed-up and given configuration..".to_string(),
        ]),
    }
    let mut g = Guest::new(kind, node, Power::Stopped, config);
    g.pool = params.get("pool").map(str::to_string);
    g.agent = agent;
    c.guests.insert(vmid, g);
    let start = params.flag("start");
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid).filter(|_| start) {
            g.power = Power::Running;
            g.since = std::time::Instant::now();
        }
    });
    let task = match kind {
        Kind::Qemu => "qmrestore",
        Kind::Lxc => "vzrestore",
    };
    Ok(c.spawn(
        node,
        task,
        &vmid.to_string(),
        Some((vmid, "create")),
        log,
        None,
        effect,
    )
    .into())
}
