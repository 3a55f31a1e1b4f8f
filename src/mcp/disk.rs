//! A guest's disks and mount points, each change one call by VMID alone: grow (never shrink), move
//! to another storage, detach (or delete for good), add. The configuration and its `digest` are
//! read just before, so a disk that does not exist is named with the guest's disks, a shrink is
//! refused before anything is sent, and a concurrent change is refused by PVE.

use proxmox_mcp::apidoc::HttpMethod::{self, Post, Put};
use proxmox_mcp::catalog::Endpoint;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::guests::Location;
use super::input::{self, text};
use super::send::{Call, Outcome, read_now, send};
use super::tools::ep as endpoint;

/// The methods of `proxmox_guest_disk_resize`: the VM's, then the container's.
pub fn resize_endpoints() -> Vec<&'static Endpoint> {
    both(Put, "resize", "resize")
}

/// The methods of `proxmox_guest_disk_move`.
pub fn move_endpoints() -> Vec<&'static Endpoint> {
    both(Post, "move_disk", "move_volume")
}

/// The methods of `proxmox_guest_disk_detach`: the configuration changes, and the VM's `unlink`.
pub fn detach_endpoints() -> Vec<&'static Endpoint> {
    let mut eps = both(Put, "config", "config");
    eps.push(endpoint(Put, "/nodes/{node}/qemu/{vmid}/unlink"));
    eps
}

/// The methods of `proxmox_guest_disk_add`.
pub fn add_endpoints() -> Vec<&'static Endpoint> {
    both(Put, "config", "config")
}

fn both(method: HttpMethod, qemu: &str, lxc: &str) -> Vec<&'static Endpoint> {
    vec![
        endpoint(method, &format!("/nodes/{{node}}/qemu/{{vmid}}/{qemu}")),
        endpoint(method, &format!("/nodes/{{node}}/lxc/{{vmid}}/{lxc}")),
    ]
}

/// A located guest with its configuration as read now.
struct Guest {
    vmid: u64,
    at: Location,
    config: Value,
}

impl Guest {
    fn lxc(&self) -> bool {
        self.at.kind == "lxc"
    }

    /// The method of this guest's kind among a tool's VM/container pair.
    fn ep(&self, eps: &[&'static Endpoint]) -> &'static Endpoint {
        eps[usize::from(self.lxc())]
    }

    /// The arguments every method takes: node, VMID and the digest read just before.
    fn params(&self) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("node".into(), json!(self.at.node));
        p.insert("vmid".into(), json!(self.vmid));
        if let Some(d) = self.config.get("digest").and_then(Value::as_str) {
            p.insert("digest".into(), json!(d));
        }
        p
    }

    /// The guest's disks (VM) or mount points (container), `key (value)`, in key order.
    fn disks(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .config
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| {
                is_disk_key(k, self.lxc()) && !v.as_str().is_some_and(|s| s.contains("media=cdrom"))
            })
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        out.sort();
        out
    }

    /// The guest's disks in words, for errors.
    fn listed(&self) -> String {
        let disks = self.disks();
        if disks.is_empty() {
            return "it has none".to_string();
        }
        let list: Vec<String> = disks.iter().map(|(k, v)| format!("{k} ({v})")).collect();
        format!("its disks: {}", list.join(", "))
    }

    /// The value of disk `key`, or an error naming the guest's disks.
    fn disk(&self, key: &str) -> Result<String, String> {
        self.disks()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .ok_or_else(|| {
                format!(
                    "{} has no disk `{key}`; {} (proxmox_guest_config shows the whole \
                     configuration)",
                    self.label(),
                    self.listed()
                )
            })
    }

    fn label(&self) -> String {
        let what = if self.lxc() { "container" } else { "VM" };
        format!("{what} {}", self.vmid)
    }
}

/// True for a configuration key that holds a disk: `scsi0`, `virtio1`, `unused0`, ... for VMs;
/// `rootfs`, `mp0`, `unused0` for containers.
fn is_disk_key(key: &str, lxc: bool) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let numbered = base.len() < key.len();
    if lxc {
        key == "rootfs" || (numbered && matches!(base, "mp" | "unused"))
    } else {
        numbered
            && matches!(
                base,
                "ide" | "sata" | "scsi" | "virtio" | "efidisk" | "tpmstate" | "unused"
            )
    }
}

/// Locates the guest of `vmid` and reads its configuration (with the digest) now.
async fn open(call: &mut Call<'_>, args: &mut Map<String, Value>) -> Result<Guest, String> {
    let cluster = call.cluster;
    let vmid = input::vmid(args)?;
    let node = text(args, "node");
    if let Some(n) = &node
        && let Some(var) = call.tool.endpoints[0].path_vars.first()
    {
        proxmox_mcp::path::check_var(var, n).map_err(|e| explain(&e, &cluster.client))?;
    }
    let at = cluster
        .guests
        .locate(
            &cluster.client,
            vmid,
            node.as_deref(),
            text(args, "type").as_deref(),
        )
        .await?;
    call.target = Some(cluster.guests.label(vmid, &at));
    let config = read_config(call, vmid, &at).await.ok_or_else(|| {
        format!("cannot read the configuration of guest {vmid}; check it with proxmox_guest_config")
    })?;
    Ok(Guest { vmid, at, config })
}

async fn read_config(call: &Call<'_>, vmid: u64, at: &Location) -> Option<Value> {
    let kind = &at.kind;
    read_now(
        call,
        &format!("/nodes/{{node}}/{kind}/{{vmid}}/config"),
        &format!("/nodes/{}/{kind}/{vmid}/config", at.node),
    )
    .await
}

/// The `size=` of a disk's value, in bytes.
fn current_size(value: &str) -> Option<u64> {
    value
        .split(',')
        .find_map(|part| part.strip_prefix("size="))
        .and_then(bytes)
}

/// PVE's size text (`32G`, `4096M`, `1.5T`, `1024` bytes) in bytes, as PVE reads it.
fn bytes(text: &str) -> Option<u64> {
    proxmox_mcp::propstring::parse_size(text.trim()).and_then(|b| u64::try_from(b).ok())
}

/// Bytes as PVE prints a disk size: the largest unit that divides it (`4096M` is `4G`).
fn print_size(b: u64) -> String {
    proxmox_mcp::propstring::format_size(u128::from(b))
}

/// `proxmox_guest_disk_resize`: grow a disk to `size` (`50G`) or by `size` (`+10G`) or by
/// `grow_gb` GiB; a shrink is refused before anything is sent.
pub async fn resize(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let wait = input::take_wait(&mut args);
    let size = match (text(&args, "size"), args.get("grow_gb")) {
        (Some(_), Some(_)) => {
            return Err(
                "give either `size` (PVE's text, such as +10G or 50G) or `grow_gb`, \
                        not both"
                    .into(),
            );
        }
        (None, None) => {
            return Err(
                "give `size` (such as +10G to grow by 10 GiB, or 50G for a size of \
                        50 GiB) or `grow_gb` (GiB to add)"
                    .into(),
            );
        }
        (Some(s), None) => s.trim().to_string(),
        (None, Some(_)) => match input::uint(&args, "grow_gb") {
            Some(n) if n > 0 => format!("+{n}G"),
            _ => return Err("`grow_gb` must be a whole number of GiB, 1 or more".into()),
        },
    };
    if size.starts_with('-') {
        return Err(format!(
            "PVE cannot shrink a disk (`{size}`): give a larger size, or move the data to a new, \
             smaller disk (proxmox_guest_disk_add) inside the guest"
        ));
    }
    let grow = size.starts_with('+');
    let wanted = bytes(size.trim_start_matches('+')).ok_or_else(|| {
        format!(
            "`size` `{size}` is not a size: give +10G (grow by 10 GiB), 50G (grow to 50 GiB), \
             with K, M, G or T, or `grow_gb`"
        )
    })?;
    let disk = text(&args, "disk").ok_or("give `disk`, such as scsi0 or rootfs")?;
    let g = open(call, &mut args).await?;
    let value = g.disk(&disk)?;
    let now = current_size(&value);
    if grow && wanted == 0 {
        return Err(format!("`size` `{size}` adds nothing: give more than 0"));
    }
    if !grow && let Some(now) = now {
        if wanted < now {
            return Err(format!(
                "{disk} of {} is {} now and PVE cannot shrink a disk: give a size above {} \
                 (such as +10G to grow by 10 GiB), or `grow_gb`. Nothing was sent.",
                g.label(),
                print_size(now),
                print_size(now)
            ));
        }
        if wanted == now {
            return Err(format!(
                "{disk} of {} is already {}: give a larger size. Nothing was sent.",
                g.label(),
                print_size(now)
            ));
        }
    }
    let mut p = g.params();
    p.insert("disk".into(), json!(disk));
    p.insert("size".into(), json!(size));
    let ep = g.ep(&call.tool.endpoints);
    let mut out = send(call, ep, p, wait, "data").await?;
    if !call.dry_run
        && let Some(m) = out.as_object_mut()
    {
        m.insert("disk".into(), json!(disk));
        if let Some(now) = now {
            m.insert("size_before".into(), json!(print_size(now)));
            let after = if grow { now + wanted } else { wanted };
            m.insert("size_after".into(), json!(print_size(after)));
        }
    }
    Ok(out)
}

/// `proxmox_guest_disk_move`: a VM's disk (`move_disk`) or a container's volume (`move_volume`)
/// to another storage; the source is kept as `unusedN` unless `delete`.
pub async fn move_disk(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let wait = input::take_wait(&mut args);
    let disk = text(&args, "disk").ok_or("give `disk`, such as scsi0 or mp0")?;
    let storage = text(&args, "storage").ok_or("give the target `storage`")?;
    let g = open(call, &mut args).await?;
    let value = g.disk(&disk)?;
    if value.split([':', ',']).next() == Some(storage.as_str()) {
        return Err(format!(
            "{disk} of {} is on `{storage}` already ({value}). Nothing was sent.",
            g.label()
        ));
    }
    let mut p = g.params();
    p.insert(if g.lxc() { "volume" } else { "disk" }.into(), json!(disk));
    p.insert("storage".into(), json!(storage));
    if let Some(d) = args.get("delete") {
        p.insert("delete".into(), d.clone());
    }
    let ep = g.ep(&call.tool.endpoints);
    let mut out = send(call, ep, p, wait, "data").await?;
    if !call.dry_run
        && let Some(m) = out.as_object_mut()
    {
        m.insert("disk".into(), json!(disk));
        if let Some(after) = read_config(call, g.vmid, &g.at).await
            && let Some(v) = after.get(&disk)
        {
            m.insert("value".into(), v.clone());
        }
    }
    Ok(out)
}

/// `proxmox_guest_disk_detach`: a disk becomes `unusedN` (its data kept); with `destroy`, or for
/// a disk already unused, its volume is deleted for good (the person confirms).
pub async fn detach(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let disk = text(&args, "disk").ok_or("give `disk`, such as scsi1, mp0 or unused0")?;
    let destroy = input::flag(&args, "destroy");
    let g = open(call, &mut args).await?;
    g.disk(&disk)?;
    let unused = disk.starts_with("unused");
    if disk == "rootfs" {
        return Err(format!(
            "the rootfs of {} cannot be detached; proxmox_guest_delete destroys the container",
            g.label()
        ));
    }
    if unused && !destroy {
        return Err(format!(
            "{disk} of {} is detached already; give `destroy: true` to delete its volume and \
             data for good. Nothing was sent.",
            g.label()
        ));
    }
    if g.lxc() && destroy && !unused {
        return Err(format!(
            "a container's mount point is deleted in two steps: detach {disk} (without \
             `destroy`; it becomes unusedN), then detach that unusedN with `destroy: true`. \
             Nothing was sent. {}",
            g.listed()
        ));
    }
    let before = g.disks();
    let mut p = g.params();
    let ep = if destroy && !g.lxc() {
        // `unlink` with force deletes the volume; it takes no digest.
        p.remove("digest");
        p.insert("idlist".into(), json!(disk));
        p.insert("force".into(), json!(true));
        call.tool.endpoints[2]
    } else {
        p.insert("delete".into(), json!(disk));
        g.ep(&call.tool.endpoints)
    };
    let sent = send(call, ep, p, 0, "data").await?;
    if call.dry_run {
        return Ok(sent);
    }
    let after = read_config(call, g.vmid, &g.at)
        .await
        .unwrap_or(Value::Null);
    let now = Guest { config: after, ..g };
    // Where the volume went: the unusedN that appeared, unless it was deleted.
    let became = now
        .disks()
        .into_iter()
        .find(|(k, _)| k.starts_with("unused") && !before.iter().any(|(b, _)| b == k))
        .map(|(k, _)| k);
    let mut out = json!({"vmid": now.vmid, "node": now.at.node, "type": now.at.kind,
                         "disk": disk, "destroyed": destroy,
                         "disks": now.disks().into_iter().map(|(k, _)| k).collect::<Vec<_>>()});
    if let Some(k) = became {
        out["unused"] = json!(k);
        out["next"] = json!(format!(
            "the volume is kept as {k}: attach it again with proxmox_guest_config_update, or \
             delete it for good with proxmox_guest_disk_detach {{\"disk\": \"{k}\", \"destroy\": true}}"
        ));
    } else if now.disks().iter().any(|(k, _)| *k == disk) {
        out["next"] = json!(
            "the change waits for the guest's next start (proxmox_guest_config shows it as pending)"
        );
    }
    Ok(out)
}

/// `proxmox_guest_disk_add`: a new disk of `size_gb` GiB on `storage` at the next free `scsiN`
/// (VM) or `mpN` at `path` (container), unless `slot` names it.
pub async fn add(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let g = open(call, &mut args).await?;
    let lxc = g.lxc();
    let taken = |k: &str| g.config.get(k).is_some();
    let slot = match text(&args, "slot") {
        Some(s) => {
            let base = s.trim_end_matches(|c: char| c.is_ascii_digit());
            let ok = base.len() < s.len()
                && if lxc {
                    base == "mp"
                } else {
                    matches!(base, "scsi" | "virtio" | "sata" | "ide")
                };
            if !ok {
                let want = if lxc {
                    "mp0..mp255"
                } else {
                    "scsiN, virtioN, sataN or ideN"
                };
                return Err(format!("`slot` `{s}` is not a disk slot: give {want}"));
            }
            if taken(&s) {
                return Err(format!(
                    "{s} of {} is taken; {}. Leave `slot` out for the next free one.",
                    g.label(),
                    g.listed()
                ));
            }
            s
        }
        None => {
            let (base, max) = if lxc { ("mp", 256) } else { ("scsi", 31) };
            (0..max)
                .map(|n| format!("{base}{n}"))
                .find(|k| !taken(k))
                .ok_or_else(|| format!("{} has no free {base}N slot", g.label()))?
        }
    };
    let mut spec = match args.remove("options") {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("`options` must be an object such as {\"ssd\": true}".into()),
    };
    for k in ["storage", "size_gb"] {
        if let Some(v) = args.get(k) {
            spec.insert(k.into(), v.clone());
        }
    }
    if lxc {
        let path = text(&args, "path").ok_or(
            "a container's mount point needs `path`, where it appears inside the container \
             (such as /srv/data)",
        )?;
        spec.insert("mp".into(), json!(path));
    } else if args.contains_key("path") {
        return Err("`path` is for a container's mount point; a VM's disk has none".into());
    }
    let digits: usize = slot
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .unwrap_or(0);
    // `create::disk` names a container's disk i as mp(i-1).
    let value = super::create::disk(&Value::Object(spec), &g.at.kind, digits + usize::from(lxc))?;
    let mut p = g.params();
    p.insert(slot.clone(), value);
    added(call, &g, p, ("disk", &slot)).await
}

/// The guest's NICs, `netN (value)`, in index order.
fn nics(config: &Value) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = config
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("net")?.parse().ok()?;
            Some((n, v.as_str().unwrap_or("").to_string()))
        })
        .collect();
    out.sort();
    out
}

fn nics_listed(config: &Value) -> String {
    let list: Vec<String> = nics(config)
        .iter()
        .map(|(n, v)| format!("net{n} ({v})"))
        .collect();
    if list.is_empty() {
        "it has none".into()
    } else {
        format!("its NICs: {}", list.join(", "))
    }
}

/// `proxmox_guest_nic_add`: a NIC at the next free `netN` unless `slot` names it; an object of
/// the format's keys (a VM's `model` defaults to virtio, a container's `name` to ethN) or PVE's
/// text.
pub async fn nic_add(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let g = open(call, &mut args).await?;
    let n = match text(&args, "slot") {
        Some(s) => {
            let n: u32 = s
                .strip_prefix("net")
                .and_then(|d| d.parse().ok())
                .filter(|n| *n < 32)
                .ok_or_else(|| format!("`slot` `{s}` is not a NIC: give net0..net31"))?;
            if g.config.get(&s).is_some() {
                return Err(format!(
                    "{s} of {} is taken; {}. Leave `slot` out for the next free one.",
                    g.label(),
                    nics_listed(&g.config)
                ));
            }
            n
        }
        None => (0..32)
            .find(|n| g.config.get(format!("net{n}")).is_none())
            .ok_or_else(|| format!("{} has no free netN (net0..net31 are taken)", g.label()))?,
    };
    let mut nic = match args.remove("nic") {
        Some(v @ (Value::Object(_) | Value::String(_))) => v,
        _ => {
            return Err(
                "give `nic`: an object such as {\"bridge\": \"vmbr0\"} (a container \
                        also {\"ip\": \"dhcp\"}), or PVE's text"
                    .into(),
            );
        }
    };
    if let Value::Object(m) = &mut nic {
        if g.lxc() {
            m.entry("name".to_string())
                .or_insert(json!(format!("eth{n}")));
        } else {
            m.entry("model".to_string()).or_insert(json!("virtio"));
        }
    }
    let key = format!("net{n}");
    let mut p = g.params();
    p.insert(key.clone(), nic);
    added(call, &g, p, ("NIC", &key)).await
}

/// Sends a configuration change that adds `key`, then says what the guest holds now under it,
/// or that it waits for the guest's next start. `what` is `("disk", "scsi1")` or `("NIC", ...)`.
async fn added(
    call: &Call<'_>,
    g: &Guest,
    params: Map<String, Value>,
    (what, key): (&str, &str),
) -> Outcome {
    let sent = send(call, g.ep(&call.tool.endpoints), params, 0, "data").await?;
    if call.dry_run {
        return Ok(sent);
    }
    let after = read_config(call, g.vmid, &g.at)
        .await
        .unwrap_or(Value::Null);
    let field = what.to_ascii_lowercase();
    let mut out = json!({"vmid": g.vmid, "node": g.at.node, "type": g.at.kind, field: key});
    match after.get(key) {
        Some(v) => out["value"] = v.clone(),
        None => {
            out["next"] = json!(format!(
                "the {what} is added at the guest's next start (proxmox_guest_config shows it as pending)"
            ));
        }
    }
    Ok(out)
}

/// `proxmox_guest_nic_remove`: `netN` deleted from the configuration, with the digest.
pub async fn nic_remove(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let key = text(&args, "nic").ok_or("give `nic`, such as net1")?;
    let g = open(call, &mut args).await?;
    if g.config.get(&key).is_none() || !key.starts_with("net") {
        return Err(format!(
            "{} has no NIC `{key}`; {}",
            g.label(),
            nics_listed(&g.config)
        ));
    }
    let mut p = g.params();
    p.insert("delete".into(), json!(key));
    let ep = g.ep(&call.tool.endpoints);
    let sent = send(call, ep, p, 0, "data").await?;
    if call.dry_run {
        return Ok(sent);
    }
    let after = read_config(call, g.vmid, &g.at)
        .await
        .unwrap_or(Value::Null);
    let mut out = json!({"vmid": g.vmid, "node": g.at.node, "type": g.at.kind, "nic": key,
                         "nics": nics(&after).iter().map(|(n, _)| format!("net{n}")).collect::<Vec<_>>()});
    if after.get(&key).is_some() {
        out["next"] = json!(
            "the removal waits for the guest's next start (proxmox_guest_config shows it as pending)"
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_pve_writes_them() {
        assert_eq!(bytes("32G"), Some(32 << 30));
        assert_eq!(bytes("4096M"), Some(4 << 30));
        assert_eq!(bytes("1.5T"), Some(3 << 39));
        assert_eq!(bytes("1024"), Some(1024));
        assert_eq!(bytes("x"), None);
        assert_eq!(bytes("G"), None);
        assert_eq!(print_size(4096 << 20), "4G");
        assert_eq!(print_size(1536 << 20), "1536M");
        assert_eq!(
            current_size("local-lvm:vm-100-disk-0,iothread=1,size=32G"),
            Some(32 << 30)
        );
        assert!(is_disk_key("scsi0", false) && is_disk_key("unused3", false));
        assert!(!is_disk_key("net0", false) && !is_disk_key("scsi", false));
        assert!(is_disk_key("rootfs", true) && is_disk_key("mp2", true));
        assert!(!is_disk_key("scsi0", true));
    }
}
