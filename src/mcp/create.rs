//! Creating a VM or a container in one call: the common settings as typed arguments, disks as
//! `{storage, size_gb}` (written in PVE's `STORAGE:SIZE` form) or PVE's own text, NICs as
//! objects with the format's keys, the next free VMID when none is given, everything else
//! passed through in `extra`. The arguments are checked with the SDK's formats before anything
//! is sent, and the normalised strings are part of the result.

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::input::{self, text};
use super::send::{Call, Outcome, send};
use super::tools::ep as endpoint;

/// The methods the create tools call: `POST /nodes/{node}/qemu`, or `.../lxc`.
pub fn endpoints(kind: &str) -> Vec<&'static Endpoint> {
    vec![endpoint(
        HttpMethod::Post,
        &format!("/nodes/{{node}}/{kind}"),
    )]
}

/// `proxmox_create_vm` (`kind` qemu) and `proxmox_create_lxc` (`kind` lxc).
pub async fn create(call: &mut Call<'_>, mut args: Map<String, Value>, kind: &str) -> Outcome {
    let cluster = call.cluster;
    let client = &cluster.client;
    let wait = input::take_wait(&mut args);
    let mut params = match args.remove("extra") {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("`extra` must be an object of PVE parameters".into()),
    };
    // The node: given, else the online node with the most free memory.
    let node = match text(&args, "node") {
        Some(n) => n,
        None => {
            let nodes = client
                .execute(endpoint(HttpMethod::Get, "/nodes"), &[], Form::new())
                .await
                .map_err(|e| explain(&e, client))?;
            let free = |n: &Value| {
                let num = |k: &str| n[k].as_u64().or_else(|| n[k].as_str()?.parse().ok());
                num("maxmem")
                    .unwrap_or(0)
                    .saturating_sub(num("mem").unwrap_or(0))
            };
            nodes
                .as_array()
                .into_iter()
                .flatten()
                .filter(|n| n["status"] == "online")
                .max_by_key(|n| {
                    (
                        free(n),
                        std::cmp::Reverse(n["node"].as_str().unwrap_or("").to_string()),
                    )
                })
                .and_then(|n| n["node"].as_str().map(str::to_string))
                .ok_or("no node is online to create the guest on; check proxmox_node_list")?
        }
    };
    let vmid = match input::uint(&args, "vmid") {
        Some(id) => id,
        None => {
            let next = client
                .execute(
                    endpoint(HttpMethod::Get, "/cluster/nextid"),
                    &[],
                    Form::new(),
                )
                .await
                .map_err(|e| explain(&e, client))?;
            next.as_u64()
                .or_else(|| next.as_str()?.parse().ok())
                .ok_or("PVE gave no next free VMID; give `vmid`")?
        }
    };
    // Typed arguments become PVE's parameters.
    for (arg, param) in [
        ("name", if kind == "lxc" { "hostname" } else { "name" }),
        ("cores", "cores"),
        ("memory", "memory"),
        ("ostype", "ostype"),
        ("start", "start"),
        ("ostemplate", "ostemplate"),
        ("password", "password"),
        ("ssh_public_keys", "ssh-public-keys"),
    ] {
        if let Some(v) = args.remove(arg) {
            params.insert(param.to_string(), v);
        }
    }
    if kind == "qemu"
        && let Some(iso) = args.remove("iso")
    {
        let iso = iso.as_str().unwrap_or_default().to_string();
        params.insert("ide2".into(), json!(format!("{iso},media=cdrom")));
    }
    let disk_key = if kind == "lxc" { "rootfs" } else { "scsi" };
    for (i, d) in list(args.remove("disks")).into_iter().enumerate() {
        let key = if kind == "lxc" {
            if i == 0 {
                "rootfs".to_string()
            } else {
                format!("mp{}", i - 1)
            }
        } else {
            format!("{disk_key}{i}")
        };
        params.insert(key, disk(&d, kind, i)?);
    }
    if kind == "qemu" && params.keys().any(|k| k.starts_with("scsi")) {
        params
            .entry("scsihw".to_string())
            .or_insert(json!("virtio-scsi-single"));
    }
    for (i, n) in list(args.remove("nics")).into_iter().enumerate() {
        let mut n = n;
        if kind == "lxc"
            && let Value::Object(m) = &mut n
        {
            m.entry("name".to_string())
                .or_insert(json!(format!("eth{i}")));
        }
        if kind == "qemu"
            && let Value::Object(m) = &mut n
        {
            m.entry("model".to_string()).or_insert(json!("virtio"));
        }
        params.insert(format!("net{i}"), n);
    }
    params.insert("node".into(), json!(node));
    params.insert("vmid".into(), json!(vmid));
    let ep = call.tool.endpoints[0];
    // The strings PVE will get, as the SDK prints them (checked here, before anything is sent).
    let prepared = proxmox_mcp::args::prepare(ep, &params).map_err(|e| explain(&e, client))?;
    let sent: Map<String, Value> = super::send::masked_form(ep, &prepared.form)
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("scsi")
                || k.starts_with("net")
                || k.starts_with("mp")
                || matches!(
                    k.as_str(),
                    "rootfs" | "ide2" | "memory" | "cores" | "ostype" | "name" | "hostname"
                )
        })
        .collect();
    let what = if kind == "lxc" { "container" } else { "VM" };
    call.target = Some(format!("new {what} {vmid} on {node}"));
    let mut out = send(call, ep, params, wait, "data").await?;
    if let Value::Object(m) = &mut out {
        m.insert("vmid".into(), json!(vmid));
        m.insert("node".into(), json!(node));
        m.insert("config".into(), Value::Object(sent));
    }
    Ok(out)
}

/// A list argument: a JSON list, or one item.
fn list(v: Option<Value>) -> Vec<Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(one) => vec![one],
    }
}

/// A disk as PVE's text: `{storage, size_gb}` becomes `STORAGE:SIZE` (PVE allocates SIZE GiB),
/// plus the other keys of the format as given; a string is PVE's own form, used as it is.
pub(super) fn disk(d: &Value, kind: &str, i: usize) -> Result<Value, String> {
    let name = if kind == "lxc" {
        if i == 0 {
            "rootfs".to_string()
        } else {
            format!("mp{}", i - 1)
        }
    } else {
        format!("scsi{i}")
    };
    match d {
        Value::String(s) => Ok(json!(s)),
        Value::Object(m) => {
            let storage = m.get("storage").and_then(Value::as_str).ok_or_else(|| {
                format!("disk {i} ({name}): give `storage` (such as local-lvm) and `size_gb`")
            })?;
            let size = m
                .get("size_gb")
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    format!("disk {i} ({name}): `size_gb` must be a whole number of GiB, 1 or more")
                })?;
            let mut out = Map::new();
            let main = if kind == "lxc" { "volume" } else { "file" };
            out.insert(main.into(), json!(format!("{storage}:{size}")));
            for (k, v) in m {
                if !matches!(k.as_str(), "storage" | "size_gb") {
                    out.insert(k.clone(), v.clone());
                }
            }
            Ok(Value::Object(out))
        }
        _ => Err(format!(
            "disk {i} ({name}): give {{\"storage\": \"local-lvm\", \"size_gb\": 32}} or PVE's text"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::disk;
    use serde_json::json;

    #[test]
    fn disks_in_pves_storage_size_form() {
        let d = disk(
            &json!({"storage": "local-lvm", "size_gb": 32, "ssd": true}),
            "qemu",
            0,
        )
        .unwrap();
        assert_eq!(d, json!({"file": "local-lvm:32", "ssd": true}));
        let r = disk(&json!({"storage": "local-lvm", "size_gb": "8"}), "lxc", 0).unwrap();
        assert_eq!(r, json!({"volume": "local-lvm:8"}));
        assert_eq!(
            disk(&json!("local-lvm:16,iothread=1"), "qemu", 1).unwrap(),
            json!("local-lvm:16,iothread=1")
        );
        let e = disk(&json!({"storage": "local-lvm"}), "qemu", 0).unwrap_err();
        assert!(e.contains("size_gb"), "{e}");
        let e = disk(&json!({"size_gb": 0, "storage": "x"}), "lxc", 1).unwrap_err();
        assert!(e.contains("mp0"), "{e}");
    }
}
