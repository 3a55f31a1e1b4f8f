//! Storage content: listing, one volume's details, deletion, pruning backups, and downloads from
//! a URL (simulated: nothing is fetched, the file appears with a plausible size).

use serde_json::{Map, Value, json};

use super::api::{Answer, ApiError, Params, bad_params, fail, require};
use super::cluster::{Cluster, Effect, File, STORAGES, Volume, content_of, epoch};
use super::status::known_storage;

/// `GET .../content`: files and guest volumes, filtered by `content` and `vmid`.
pub(super) fn list(c: &Cluster, node: &str, storage: &str, params: &Params) -> Answer {
    known_storage(storage)?;
    let want_vmid = params.num("vmid");
    Ok(c.volumes(node, storage)
        .into_iter()
        .filter(|v| params.get("content").is_none_or(|ct| ct == v.content))
        .filter(|v| want_vmid.is_none_or(|id| id == v.vmid))
        .map(|v| entry(&v))
        .collect())
}

fn entry(v: &Volume) -> Value {
    let mut e = json!({"volid": v.volid, "content": v.content, "format": v.format,
        "size": v.size, "ctime": v.ctime});
    if v.vmid != 0 {
        e["vmid"] = v.vmid.into();
    }
    if v.content == "backup" {
        e["protected"] = u8::from(v.protected).into();
        if let Some(n) = &v.notes {
            e["notes"] = n.clone().into();
        }
    } else if v.content == "images" || v.content == "rootdir" {
        e["used"] = (v.size / 10 * 4).into();
    }
    e
}

/// The volume ID of `volume` on `storage`: `local:iso/x.iso` as given, or `iso/x.iso` completed.
fn volid(storage: &str, volume: &str) -> String {
    if volume.contains(':') {
        volume.to_string()
    } else {
        format!("{storage}:{volume}")
    }
}

/// The volume, or PVE's error for one that does not exist.
fn find(c: &Cluster, node: &str, storage: &str, volume: &str) -> Result<Volume, ApiError> {
    let id = volid(storage, volume);
    let (st, _) = id.split_once(':').unwrap_or((storage, ""));
    known_storage(st)?;
    c.volumes(node, st)
        .into_iter()
        .find(|v| v.volid == id)
        .ok_or_else(|| fail(500, format!("volume '{id}' does not exist")))
}

/// `GET .../content/{volume}`: path, size, format, and notes and protection of backups.
pub(super) fn info(c: &Cluster, node: &str, storage: &str, volume: &str) -> Answer {
    let v = find(c, node, storage, volume)?;
    let (st, name) = v.volid.split_once(':').unwrap_or(("", ""));
    let path = match st {
        "local" => match name.split_once('/') {
            Some(("iso", f)) => format!("/var/lib/vz/template/iso/{f}"),
            Some(("vztmpl", f)) => format!("/var/lib/vz/template/cache/{f}"),
            Some(("backup", f)) => format!("/var/lib/vz/dump/{f}"),
            _ => format!("/var/lib/vz/{name}"),
        },
        "nas" => match name.split_once('/') {
            Some(("backup", f)) => format!("/mnt/pve/nas/dump/{f}"),
            _ => format!("/mnt/pve/nas/images/{name}"),
        },
        _ => format!("/dev/pve/{name}"),
    };
    let mut out = json!({"path": path, "size": v.size, "used": v.size, "format": v.format});
    if v.content == "backup" {
        out["protected"] = u8::from(v.protected).into();
        if let Some(n) = v.notes {
            out["notes"] = n.into();
        }
    }
    Ok(out)
}

/// `DELETE .../content/{volume}`: an `imgdel` task (PVE's), or `null` with `delay` when it is done
/// within that time (the demo's deletions are). A guest's attached disk cannot be removed.
pub(super) fn delete(
    c: &mut Cluster,
    node: &str,
    storage: &str,
    volume: &str,
    params: &Params,
) -> Answer {
    let v = find(c, node, storage, volume)?;
    let (st, name) = v.volid.split_once(':').unwrap_or(("", ""));
    let (st, name) = (st.to_string(), name.to_string());
    if v.content == "backup" && v.vmid != 0 {
        require(&format!("/storage/{st}"), "Datastore.AllocateSpace")?;
        require(&format!("/vms/{}", v.vmid), "VM.Backup")?;
    } else {
        require(&format!("/storage/{st}"), "Datastore.Allocate")?;
    }
    if v.content == "backup" && v.protected {
        return Err(fail(
            500,
            format!("cannot remove protected volume '{}'", v.volid),
        ));
    }
    // A disk still attached to its guest (not as unusedN).
    let attached = c.guests.get(&v.vmid).and_then(|g| {
        g.config
            .iter()
            .find(|(k, val)| {
                !k.starts_with("unused")
                    && val.split(',').next() == Some(v.volid.as_str())
                    && super::cluster::is_disk_key(k)
            })
            .map(|(k, _)| k.clone())
    });
    let mut log = Vec::new();
    let mut error = None;
    if let Some(key) = &attached {
        let lv = name.split('/').next_back().unwrap_or(&name);
        error = Some(format!(
            "lvremove 'pve/{lv}' error:   Logical volume pve/{lv} in use."
        ));
        tracing::debug!(key, "demo cluster: attached volume");
    } else {
        log.push(format!("Removed volume '{}'", v.volid));
    }
    let owner = v.vmid;
    let volid_owned = v.volid.clone();
    let node_owned = node.to_string();
    let effect: Effect = Box::new(move |c| {
        remove_volume(c, &node_owned, &volid_owned, owner);
    });
    let id = if owner != 0 {
        format!("{owner}@{st}")
    } else {
        st.clone()
    };
    if params.num("delay").is_some_and(|d| d > 0) {
        // Done within the delay: PVE answers null (or the task's error).
        if let Some(e) = error {
            return Err(fail(500, e));
        }
        remove_volume(c, node, &v.volid, owner);
        return Ok(Value::Null);
    }
    Ok(c.spawn(node, "imgdel", &id, None, log, error, effect)
        .into())
}

/// Forgets a file, or drops an unused disk from its guest's config.
fn remove_volume(c: &mut Cluster, node: &str, volid: &str, owner: u64) {
    c.files
        .retain(|f| !(f.volid() == volid && f.on(node, &f.storage.clone())));
    if let Some(g) = c.guests.get_mut(&owner) {
        g.config
            .retain(|k, v| !(k.starts_with("unused") && v.split(',').next() == Some(volid)));
    }
}

/// A prune option string (`keep-last=3,keep-daily=7`) read: (name, count).
fn prune_options(text: &str) -> Result<Vec<(String, u64)>, ApiError> {
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let n = v.trim().parse::<u64>().ok();
        let known = matches!(
            k.trim(),
            "keep-all"
                | "keep-last"
                | "keep-hourly"
                | "keep-daily"
                | "keep-weekly"
                | "keep-monthly"
                | "keep-yearly"
        );
        let Some(n) = n.filter(|_| known) else {
            let mut errors = Map::new();
            errors.insert(
                "prune-backups".into(),
                format!("invalid format - unknown or invalid option '{part}'").into(),
            );
            return Err(bad_params(errors));
        };
        out.push((k.trim().to_string(), n));
    }
    Ok(out)
}

/// The period a backup time falls in, for a `keep-*` option.
fn period(option: &str, t: u64) -> u64 {
    match option {
        "keep-hourly" => t / 3600,
        "keep-daily" => t / 86_400,
        "keep-weekly" => (t / 86_400 + 3) / 7,
        "keep-monthly" => t / (86_400 * 30),
        "keep-yearly" => t / (86_400 * 365),
        _ => t,
    }
}

/// The backups of `storage` (of `vmid`, of `type`) with PVE's prune mark for `prune-backups`
/// (the storage's default is `keep-all=1`).
fn marked(c: &Cluster, node: &str, storage: &str, params: &Params) -> Result<Vec<Value>, ApiError> {
    known_storage(storage)?;
    if !content_of(storage).split(',').any(|ct| ct == "backup") {
        return Err(fail(
            500,
            format!("storage '{storage}' does not support backups"),
        ));
    }
    let options = prune_options(params.get("prune-backups").unwrap_or("keep-all=1"))?;
    let keep_all = options.is_empty() || options.iter().any(|(k, n)| k == "keep-all" && *n > 0);
    let mut backups: Vec<&File> = c
        .files
        .iter()
        .filter(|f| f.on(node, storage) && f.content == "backup")
        .filter(|f| params.num("vmid").is_none_or(|id| id == f.vmid))
        .filter(|f| {
            params
                .get("type")
                .is_none_or(|t| f.name.contains(&format!("-{t}-")))
        })
        .collect();
    backups.sort_by_key(|b| std::cmp::Reverse(b.ctime));
    let mut out = Vec::new();
    let mut groups: std::collections::BTreeMap<u64, Vec<&File>> = Default::default();
    for b in &backups {
        groups.entry(b.vmid).or_default().push(b);
    }
    for (_, list) in groups {
        let mut keep = vec![keep_all; list.len()];
        for (option, count) in options.iter().filter(|(k, _)| k != "keep-all") {
            let mut seen = std::collections::BTreeSet::new();
            for (i, b) in list.iter().enumerate() {
                if seen.len() as u64 >= *count {
                    break;
                }
                let p = if option == "keep-last" {
                    i as u64
                } else {
                    period(option, b.ctime)
                };
                if keep[i] && option != "keep-last" {
                    seen.insert(p);
                    continue;
                }
                if seen.insert(p) {
                    keep[i] = true;
                }
            }
        }
        for (b, k) in list.iter().zip(keep) {
            let kind = if b.name.contains("-qemu-") {
                "qemu"
            } else {
                "lxc"
            };
            let mark = if b.protected {
                "protected"
            } else if k {
                "keep"
            } else {
                "remove"
            };
            out.push(json!({"volid": b.volid(), "ctime": b.ctime, "vmid": b.vmid,
                "type": kind, "mark": mark}));
        }
    }
    Ok(out)
}

/// `GET .../prunebackups`: what a prune would keep and remove (a dry run).
pub(super) fn prune_list(c: &Cluster, node: &str, storage: &str, params: &Params) -> Answer {
    Ok(Value::Array(marked(c, node, storage, params)?))
}

/// `DELETE .../prunebackups`: a `prunebackups` task removing the backups marked `remove`.
pub(super) fn prune(c: &mut Cluster, node: &str, storage: &str, params: &Params) -> Answer {
    let vmid = params.num("vmid");
    match vmid {
        Some(id) => {
            require(&format!("/storage/{storage}"), "Datastore.AllocateSpace")?;
            require(&format!("/vms/{id}"), "VM.Backup")?;
        }
        None => require(&format!("/storage/{storage}"), "Datastore.Allocate")?,
    }
    let list = marked(c, node, storage, params)?;
    let gone: Vec<String> = list
        .iter()
        .filter(|b| b["mark"] == "remove")
        .filter_map(|b| b["volid"].as_str().map(str::to_string))
        .collect();
    let mut log: Vec<String> = list
        .iter()
        .map(|b| {
            format!(
                "{}: {}",
                b["volid"].as_str().unwrap_or_default(),
                b["mark"].as_str().unwrap_or_default()
            )
        })
        .collect();
    log.extend(gone.iter().map(|v| format!("Removed volume '{v}'")));
    let node_owned = node.to_string();
    let effect: Effect = Box::new(move |c| {
        for v in &gone {
            remove_volume(c, &node_owned, v, 0);
        }
    });
    let id = match vmid {
        Some(v) => format!("{storage}{v}"),
        None => storage.to_string(),
    };
    Ok(c.spawn(node, "prunebackups", &id, None, log, None, effect)
        .into())
}

/// `POST .../download-url`: a `download` task after which the file is in the storage's content.
/// Nothing is fetched: the demo cluster never contacts the URL.
pub(super) fn download(c: &mut Cluster, node: &str, storage: &str, params: &Params) -> Answer {
    known_storage(storage)?;
    let plugin = STORAGES.iter().find(|s| s.0 == storage).map_or("", |s| s.1);
    if plugin == "lvmthin" {
        return Err(fail(
            500,
            format!("can't upload to storage type '{plugin}', not a file based storage!"),
        ));
    }
    let content = params.get("content").unwrap_or_default().to_string();
    let url = params.get("url").unwrap_or_default().to_string();
    let filename = params.get("filename").unwrap_or_default().to_string();
    if !content_of(storage).split(',').any(|ct| ct == content) {
        return Err(fail(
            500,
            format!("storage '{storage}' is not configured for content-type '{content}'"),
        ));
    }
    let wrong = |m: &str| {
        let mut errors = Map::new();
        errors.insert("filename".into(), m.into());
        bad_params(errors)
    };
    let lower = filename.to_ascii_lowercase();
    let (dir, size, format) = match content.as_str() {
        "iso" => {
            if !(lower.ends_with(".iso") || lower.ends_with(".img")) {
                return Err(wrong("wrong file extension"));
            }
            ("iso", 712u64 << 20, "iso")
        }
        "vztmpl" => {
            let ext = [".tar.gz", ".tar.xz", ".tar.zst", ".tgz"]
                .into_iter()
                .find(|e| lower.ends_with(e));
            let Some(ext) = ext else {
                return Err(wrong("wrong file extension"));
            };
            let format = match ext {
                ".tar.xz" => "txz",
                ".tar.zst" => "tzst",
                _ => "tgz",
            };
            ("vztmpl", 126u64 << 20, format)
        }
        other => {
            let mut errors = Map::new();
            errors.insert(
                "content".into(),
                format!("upload content-type '{other}' is not allowed").into(),
            );
            return Err(bad_params(errors));
        }
    };
    if filename.contains('/') || filename.starts_with('.') {
        return Err(wrong("invalid filename or wrong extension"));
    }
    let name = format!("{dir}/{filename}");
    let local_dir = if dir == "iso" { "iso" } else { "cache" };
    let root = if storage == "local" {
        "/var/lib/vz".to_string()
    } else {
        format!("/mnt/pve/{storage}")
    };
    let dest = format!("{root}/template/{local_dir}/{filename}");
    let mut log = vec![format!("downloading {url} to {dest}")];
    let mut error = None;
    if c.files
        .iter()
        .any(|f| f.on(node, storage) && f.name == name)
    {
        error = Some(format!("refusing to override existing file '{dest}'"));
    } else {
        log.extend([
            "(the demo cluster fetches nothing: the file is simulated)".to_string(),
            format!("{} MiB downloaded", size >> 20),
            format!("download of '{url}' to '{dest}' finished"),
        ]);
    }
    let file = File {
        node: node.to_string(),
        storage: storage.to_string(),
        name,
        content: content.clone(),
        format: format.to_string(),
        size,
        vmid: 0,
        ctime: epoch(),
        guest: None,
        protected: false,
        notes: None,
    };
    let effect: Effect = Box::new(move |c| c.files.push(file));
    let id: String = filename
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || "_.-".contains(ch) {
                ch.to_string()
            } else {
                format!("\\x{:02x}", ch as u32 & 0xff)
            }
        })
        .collect();
    Ok(c.spawn(node, "download", &id, None, log, error, effect)
        .into())
}
