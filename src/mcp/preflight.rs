//! The permission pre-flight of writes: PVE is asked what the caller holds on the concrete ACL
//! paths (`GET /access/permissions?path=...`, cached briefly) and the method's `permissions.check`
//! expression is evaluated before anything is sent. Expressions it cannot evaluate (`userid-param`,
//! `perm-modify`, variables without a value) are left to PVE.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proxmox_mcp::Client;
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::{self, Endpoint};
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

/// How long PVE's answer about one ACL path is reused.
const TTL: Duration = Duration::from_secs(10);

/// Privileges held on one ACL path.
type Privileges = Arc<BTreeSet<String>>;
/// When PVE said it, and what.
type Entries = HashMap<String, (Instant, Privileges)>;

/// Privileges per ACL path, as PVE last said.
#[derive(Default)]
pub struct Cache {
    entries: Mutex<Entries>,
}

/// The result of evaluating a check.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Met.
    Yes,
    /// Not met: what is missing (for `or`, every alternative).
    No(Vec<Missing>),
    /// Not decidable here; left to PVE.
    Unknown,
}

/// Privileges a check wants on one path and the caller lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// The ACL path, as shown.
    pub path: String,
    /// The privileges lacking (for `any`: all of those named, one of which would do).
    pub privs: Vec<String>,
    /// One of `privs` would do.
    pub any: bool,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.any {
            write!(f, "any of {} on {}", self.privs.join(", "), self.path)
        } else {
            write!(f, "{} on {}", self.privs.join(", "), self.path)
        }
    }
}

/// What is missing, in words: `VM.PowerMgmt on /vms/101, or Sys.Modify on /`.
pub fn describe(missing: &[Missing]) -> String {
    missing
        .iter()
        .map(Missing::to_string)
        .collect::<Vec<_>>()
        .join(", or ")
}

/// The privileges named in one path's entry of `GET /access/permissions`. PVE maps each privilege
/// held to its *propagate* flag, so a privilege is held whenever its key is present, whatever the
/// value: 0 is common (pool-derived privileges, ACLs without propagation, the intersection of a
/// privilege-separated token with its user), and PVE's own `check` only tests definedness (so only
/// a JSON `null` counts as absent).
pub fn held(privs: &Value) -> BTreeSet<String> {
    privs
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

impl Cache {
    /// The privileges the caller holds on `path` (`None` when PVE could not say).
    async fn privileges(&self, client: &Client, path: &str) -> Option<Arc<BTreeSet<String>>> {
        if let Some((at, set)) = self.lock().get(path)
            && at.elapsed() < TTL
        {
            return Some(set.clone());
        }
        let ep = catalog::find(HttpMethod::Get, "/access/permissions")?;
        let mut form = Form::new();
        form.text("path", path);
        let data = match client.execute(ep, &[], form).await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(error = %e, path, "permission pre-flight: cannot read permissions");
                return None;
            }
        };
        // `{path: {privilege: propagate}}` for the path and the entries that apply to it.
        let mut set = BTreeSet::new();
        for privs in data.as_object()?.values() {
            set.extend(held(privs));
        }
        let set = Arc::new(set);
        self.lock()
            .insert(path.to_string(), (Instant::now(), set.clone()));
        Some(set)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets everything (after a write that may change permissions).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Checks that the caller may call `ep` with these values (path variables and parameters);
/// `Err` says who lacks what, before anything is sent.
pub async fn check(
    cache: &Cache,
    client: &Client,
    ep: &Endpoint,
    vars: &Map<String, Value>,
    form: &Form,
) -> Result<(), String> {
    let schema_check = serde_json::from_str::<Value>(ep.permissions)
        .ok()
        .and_then(|p| p.get("check").cloned());
    let extra = in_code(ep, vars, form);
    let check = match (schema_check, extra.is_empty()) {
        (None, true) => return Ok(()),
        (Some(c), true) => c,
        (base, false) => {
            let mut all = vec![Value::from("and")];
            all.extend(base);
            all.extend(extra);
            Value::Array(all)
        }
    };
    let mut paths = Vec::new();
    collect_paths(&check, vars, &mut paths);
    let mut held = HashMap::new();
    for p in paths {
        if let Some(set) = cache.privileges(client, &p).await {
            held.insert(p, set);
        }
    }
    let lookup = |template: &str| {
        let path = fill(template, vars)?;
        let set = held.get(&path)?.clone();
        Some((path, set))
    };
    match evaluate(&check, &lookup) {
        Verdict::No(missing_list) => {
            let missing = describe(&missing_list);
            let who = if client.uses_token() {
                "the token"
            } else {
                "the user"
            };
            let principal = client.principal();
            let remedy = missing_list
                .iter()
                .map(|m| super::errors::grant(&m.privs, m.any, &m.path))
                .collect::<Vec<_>>()
                .join(", or ");
            Err(format!(
                "refused before sending: {who} {principal} lacks {missing} (PVE would answer 403). \
                 An administrator can {remedy} (Datacenter → Permissions in the web interface). \
                 Nothing was sent."
            ))
        }
        Verdict::Yes | Verdict::Unknown => Ok(()),
    }
}

/// A check PVE makes in its code rather than in the schema's `permissions` (which says
/// `user: all` for creating guests, vzdump and the node-wide actions, or names only the guest for
/// a configuration change). PVE's method descriptions and sources say what each needs.
#[derive(Debug, Clone, Copy)]
enum InCode {
    /// `VM.Allocate` on `/vms/{vmid}`, or on `/pool/{pool}` when a pool is given (not for a
    /// restore, which PVE checks otherwise).
    Allocate,
    /// `Datastore.AllocateSpace` on the storage of each new disk (`local-lvm:32`, a mount point
    /// `local-lvm:8`).
    NewDisks,
    /// `SDN.Use` on each bridge a NIC uses (`/sdn/zones/localnetwork/vmbr0`, `/…/vmbr0/10` with a
    /// VLAN tag). Only `vmbr*` bridges: an SDN VNet's zone is not known here, so PVE checks it.
    Bridges,
    /// The privilege on `/vms/ID` for each VMID the parameter lists.
    EachVmid(&'static str, &'static str),
    /// The privilege on `/storage/ID` for the storage the parameter names.
    Storage(&'static str, &'static str),
    /// The `VM.Config.*` privilege of each key set or deleted (PVE's
    /// `check_vm_modify_config_perm`), on the guest or, at creation, on its pool. Only keys whose
    /// privilege is certain; the rest (drives at creation, hardware passthrough, root-only keys)
    /// are PVE's to check.
    ConfigKeys {
        /// A creation: drives are checked by PVE through their storage.
        create: bool,
    },
}

use InCode::{Allocate, Bridges, ConfigKeys, EachVmid, NewDisks, Storage};

/// The privilege PVE checks for a configuration key, where it is certain.
fn key_privilege(key: &str, value: Option<&str>, create: bool) -> Option<Vec<&'static str>> {
    let name = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let numbered = name.len() < key.len();
    let one = |p: &'static str| Some(vec![p]);
    match name {
        "cores" | "sockets" | "vcpus" | "cpu" | "cpulimit" | "cpuunits" | "affinity" => {
            one("VM.Config.CPU")
        }
        "numa" => one("VM.Config.CPU"),
        "memory" | "balloon" | "shares" | "swap" => one("VM.Config.Memory"),
        "net" if numbered => one("VM.Config.Network"),
        "name" | "hostname" | "description" | "onboot" | "protection" => one("VM.Config.Options"),
        "ciuser" | "cipassword" | "citype" | "cicustom" | "ciupgrade" | "nameserver"
        | "searchdomain" | "sshkeys" => Some(vec!["VM.Config.Cloudinit", "VM.Config.Network"]),
        "ipconfig" if numbered => Some(vec!["VM.Config.Cloudinit", "VM.Config.Network"]),
        "scsi" | "virtio" | "sata" | "ide" | "mp" if numbered && !create => {
            if value.is_some_and(|v| v.contains("media=cdrom")) {
                one("VM.Config.CDROM")
            } else {
                one("VM.Config.Disk")
            }
        }
        "efidisk" | "tpmstate" if numbered && !create => one("VM.Config.Disk"),
        "rootfs" if !create => one("VM.Config.Disk"),
        _ => None,
    }
}

/// Where PVE checks more than the schema says: (method, path, checks).
const IN_CODE: &[(HttpMethod, &str, &[InCode])] = &[
    (
        HttpMethod::Post,
        "/nodes/{node}/qemu",
        &[Allocate, ConfigKeys { create: true }, NewDisks, Bridges],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/lxc",
        &[Allocate, ConfigKeys { create: true }, NewDisks, Bridges],
    ),
    (
        HttpMethod::Put,
        "/nodes/{node}/qemu/{vmid}/config",
        &[ConfigKeys { create: false }, NewDisks, Bridges],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/qemu/{vmid}/config",
        &[ConfigKeys { create: false }, NewDisks, Bridges],
    ),
    (
        HttpMethod::Put,
        "/nodes/{node}/lxc/{vmid}/config",
        &[ConfigKeys { create: false }, NewDisks, Bridges],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/qemu/{vmid}/clone",
        &[Storage("storage", "Datastore.AllocateSpace")],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/lxc/{vmid}/clone",
        &[Storage("storage", "Datastore.AllocateSpace")],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/qemu/{vmid}/move_disk",
        &[Storage("storage", "Datastore.AllocateSpace")],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/lxc/{vmid}/move_volume",
        &[Storage("storage", "Datastore.AllocateSpace")],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/vzdump",
        &[
            EachVmid("vmid", "VM.Backup"),
            Storage("storage", "Datastore.AllocateSpace"),
        ],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/startall",
        &[EachVmid("vms", "VM.PowerMgmt")],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/stopall",
        &[EachVmid("vms", "VM.PowerMgmt")],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/migrateall",
        &[EachVmid("vms", "VM.Migrate")],
    ),
];

/// The checks of [`IN_CODE`] for a call of `ep` with `form`, as `perm` expressions on concrete
/// paths.
fn in_code(ep: &Endpoint, vars: &Map<String, Value>, form: &Form) -> Vec<Value> {
    let Some((_, _, rules)) = IN_CODE
        .iter()
        .find(|(m, p, _)| *m == ep.method && *p == ep.path)
    else {
        return Vec::new();
    };
    let value = |k: &str| {
        form.pairs()
            .iter()
            .find(|(key, _)| key.as_str() == k)
            .map(|(_, v)| v.clone())
            .or_else(|| match vars.get(k)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    };
    let perm = |path: String, privilege: &str| json!(["perm", path, [privilege]]);
    let mut out = Vec::new();
    for rule in *rules {
        match *rule {
            Allocate => {
                let restore =
                    value("archive").is_some() || value("restore").as_deref() == Some("1");
                if let (Some(vmid), false) = (value("vmid"), restore) {
                    let vm = perm(format!("/vms/{vmid}"), "VM.Allocate");
                    out.push(match value("pool") {
                        Some(pool) => {
                            json!(["or", vm, perm(format!("/pool/{pool}"), "VM.Allocate")])
                        }
                        None => vm,
                    });
                }
            }
            ConfigKeys { create } => {
                // At creation, on the new VMID or its pool (not for a restore: PVE's own rules).
                let restore =
                    value("archive").is_some() || value("restore").as_deref() == Some("1");
                let (Some(vmid), false) = (value("vmid"), restore) else {
                    continue;
                };
                let deleted: Vec<String> = value("delete")
                    .map(|d| d.split([',', ';', ' ']).map(str::to_string).collect())
                    .unwrap_or_default();
                let keys = form
                    .pairs()
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.as_str())))
                    .chain(deleted.iter().map(|k| (k.clone(), None)));
                for (key, v) in keys {
                    let Some(privs) = key_privilege(&key, v, create) else {
                        continue;
                    };
                    let mut vm = json!(["perm", format!("/vms/{vmid}"), privs]);
                    if privs.len() > 1
                        && let Some(a) = vm.as_array_mut()
                    {
                        a.extend([json!("any"), json!(1)]);
                    }
                    out.push(match (create, value("pool")) {
                        (true, Some(pool)) => {
                            let mut p = vm.clone();
                            p[1] = json!(format!("/pool/{pool}"));
                            json!(["or", vm, p])
                        }
                        _ => vm,
                    });
                }
            }
            NewDisks => {
                for (key, v) in form.pairs() {
                    if let Some(storage) = new_disk_storage(key, v) {
                        out.push(perm(
                            format!("/storage/{storage}"),
                            "Datastore.AllocateSpace",
                        ));
                    }
                }
            }
            Bridges => {
                for (key, v) in form.pairs() {
                    if let Some(path) = bridge_path(key, v) {
                        out.push(perm(path, "SDN.Use"));
                    }
                }
            }
            EachVmid(param, privilege) => {
                for id in value(param).iter().flat_map(|l| {
                    l.split([',', ';', ' '])
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                }) {
                    if id.chars().all(|c| c.is_ascii_digit()) {
                        out.push(perm(format!("/vms/{id}"), privilege));
                    }
                }
            }
            Storage(param, privilege) => {
                if let Some(s) = value(param) {
                    out.push(perm(format!("/storage/{s}"), privilege));
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|c| seen.insert(c.to_string()));
    out
}

/// The storage a disk key's value allocates on (`scsi0=local-lvm:32,ssd=1`, `rootfs=local:8`,
/// `mp0=volume=local-lvm:4,mp=/data`); `None` for existing volumes, CD-ROMs and passthrough.
fn new_disk_storage(key: &str, value: &str) -> Option<String> {
    let name = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let disk = matches!(
        name,
        "scsi" | "virtio" | "sata" | "ide" | "efidisk" | "tpmstate" | "rootfs" | "mp"
    );
    if !disk || name.len() == key.len() && name != "rootfs" {
        return None;
    }
    let volume = value
        .split(',')
        .map(|part| {
            part.strip_prefix("file=")
                .or_else(|| part.strip_prefix("volume="))
                .unwrap_or(part)
        })
        .find(|part| !part.contains('=') || part.contains(':'))?;
    let (storage, size) = volume.split_once(':')?;
    let is_size = !size.is_empty() && size.chars().all(|c| c.is_ascii_digit() || c == '.');
    (is_size && !storage.is_empty()).then(|| storage.to_string())
}

/// The SDN path of the bridge a `netN` value uses: `/sdn/zones/localnetwork/vmbr0`, with `/TAG`
/// when a VLAN tag is set.
fn bridge_path(key: &str, value: &str) -> Option<String> {
    let n = key.strip_prefix("net")?;
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let get = |k: &str| {
        value
            .split(',')
            .find_map(|p| p.strip_prefix(k)?.strip_prefix('='))
    };
    let bridge = get("bridge").filter(|b| b.starts_with("vmbr"))?;
    Some(match get("tag") {
        Some(tag) => format!("/sdn/zones/localnetwork/{bridge}/{tag}"),
        None => format!("/sdn/zones/localnetwork/{bridge}"),
    })
}

/// `/vms/{vmid}` with the values of `vars` filled in; `None` when one is missing.
fn fill(template: &str, vars: &Map<String, Value>) -> Option<String> {
    fill_with(template, &|name| match vars.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// `/vms/{vmid}` with the values `value` gives filled in; `None` when one is missing.
pub fn fill_with(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}')? + start;
        out.push_str(&rest[..start]);
        out.push_str(&value(&rest[start + 1..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn collect_paths(check: &Value, vars: &Map<String, Value>, out: &mut Vec<String>) {
    let Some(list) = check.as_array() else { return };
    match list.first().and_then(Value::as_str) {
        Some("perm") => {
            if let Some(p) = list
                .get(1)
                .and_then(Value::as_str)
                .and_then(|t| fill(t, vars))
                && !out.contains(&p)
            {
                out.push(p);
            }
        }
        Some("and" | "or") => list[1..].iter().for_each(|c| collect_paths(c, vars, out)),
        _ => {}
    }
}

/// The privileges held for a path template of a check, with the path as shown in messages
/// (`None`: unknown).
pub type Lookup<'a> = dyn Fn(&str) -> Option<(String, Privileges)> + 'a;

/// Evaluates a `permissions.check` expression: `perm` (with `any`), `and` and `or`; anything else
/// is [`Verdict::Unknown`] and left to PVE.
pub fn evaluate(check: &Value, held: &Lookup) -> Verdict {
    let Some(list) = check.as_array() else {
        return Verdict::Unknown;
    };
    match list.first().and_then(Value::as_str) {
        Some("perm") => {
            let Some(template) = list.get(1).and_then(Value::as_str) else {
                return Verdict::Unknown;
            };
            let Some(privs) = list.get(2).and_then(Value::as_array) else {
                return Verdict::Unknown;
            };
            let privs: Vec<&str> = privs.iter().filter_map(Value::as_str).collect();
            let opts = &list[3.min(list.len())..];
            let mut any = false;
            for pair in opts.chunks(2) {
                match (pair[0].as_str(), pair.get(1)) {
                    (Some("any"), Some(v)) => {
                        any = v.as_u64() == Some(1) || v.as_bool() == Some(true)
                    }
                    // require_param and other options: PVE's business.
                    _ => return Verdict::Unknown,
                }
            }
            let Some((path, set)) = held(template) else {
                return Verdict::Unknown;
            };
            let missing: Vec<&str> = privs
                .iter()
                .copied()
                .filter(|p| !set.contains(*p))
                .collect();
            let met = if any {
                missing.len() < privs.len()
            } else {
                missing.is_empty()
            };
            if met || privs.is_empty() {
                Verdict::Yes
            } else {
                let privs = if any { privs } else { missing };
                Verdict::No(vec![Missing {
                    path,
                    privs: privs.iter().map(|p| p.to_string()).collect(),
                    any,
                }])
            }
        }
        Some("and") => {
            let mut unknown = false;
            for c in &list[1..] {
                match evaluate(c, held) {
                    Verdict::No(m) => return Verdict::No(m),
                    Verdict::Unknown => unknown = true,
                    Verdict::Yes => {}
                }
            }
            if unknown {
                Verdict::Unknown
            } else {
                Verdict::Yes
            }
        }
        Some("or") => {
            let mut misses = Vec::new();
            for c in &list[1..] {
                match evaluate(c, held) {
                    Verdict::Yes => return Verdict::Yes,
                    Verdict::Unknown => return Verdict::Unknown,
                    Verdict::No(m) => misses.extend(m),
                }
            }
            Verdict::No(misses)
        }
        _ => Verdict::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(pairs: &[(&str, &str)]) -> Form {
        let mut f = Form::new();
        for (k, v) in pairs {
            f.text(k, v);
        }
        f
    }

    fn ep(method: HttpMethod, path: &str) -> &'static Endpoint {
        catalog::find(method, path).unwrap()
    }

    #[test]
    fn checks_pve_makes_in_code_from_the_request() {
        let create = ep(HttpMethod::Post, "/nodes/{node}/qemu");
        let f = form(&[
            ("vmid", "120"),
            ("scsi0", "local-lvm:32,ssd=1"),
            ("scsi1", "local-lvm:vm-120-disk-1,size=8G"),
            ("virtio0", "fast:8"),
            ("ide2", "local:iso/debian.iso,media=cdrom"),
            ("net0", "virtio,bridge=vmbr0,tag=10"),
            ("net1", "virtio,bridge=vnet7"),
        ]);
        assert_eq!(
            in_code(create, &Map::new(), &f),
            vec![
                json!(["perm", "/vms/120", ["VM.Allocate"]]),
                json!(["perm", "/vms/120", ["VM.Config.Network"]]),
                json!(["perm", "/storage/local-lvm", ["Datastore.AllocateSpace"]]),
                json!(["perm", "/storage/fast", ["Datastore.AllocateSpace"]]),
                json!(["perm", "/sdn/zones/localnetwork/vmbr0/10", ["SDN.Use"]]),
            ]
        );
        // A pool: VM.Allocate on the VM or on the pool; a restore is PVE's to check.
        let pooled = in_code(
            create,
            &Map::new(),
            &form(&[("vmid", "120"), ("pool", "dev")]),
        );
        assert_eq!(
            pooled,
            vec![json!([
                "or",
                ["perm", "/vms/120", ["VM.Allocate"]],
                ["perm", "/pool/dev", ["VM.Allocate"]]
            ])]
        );
        let restore = form(&[("vmid", "120"), ("archive", "local:backup/x.vma.zst")]);
        assert!(in_code(create, &Map::new(), &restore).is_empty());
        // A change: each key's privilege, deleted keys too, a CD-ROM's own privilege.
        let config = ep(HttpMethod::Put, "/nodes/{node}/qemu/{vmid}/config");
        let mut vm = Map::new();
        vm.insert("vmid".into(), json!("100"));
        let f = form(&[
            ("memory", "4096"),
            ("cores", "4"),
            ("sockets", "1"),
            ("ide2", "local:iso/x.iso,media=cdrom"),
            ("ipconfig0", "ip=dhcp"),
            ("args", "-no-reboot"),
            ("delete", "net1,description"),
        ]);
        assert_eq!(
            in_code(config, &vm, &f),
            vec![
                json!(["perm", "/vms/100", ["VM.Config.Memory"]]),
                json!(["perm", "/vms/100", ["VM.Config.CPU"]]),
                json!(["perm", "/vms/100", ["VM.Config.CDROM"]]),
                json!([
                    "perm",
                    "/vms/100",
                    ["VM.Config.Cloudinit", "VM.Config.Network"],
                    "any",
                    1
                ]),
                json!(["perm", "/vms/100", ["VM.Config.Network"]]),
                json!(["perm", "/vms/100", ["VM.Config.Options"]]),
            ]
        );
        // A container's mount point in PVE's `volume=` form.
        let lxc = ep(HttpMethod::Put, "/nodes/{node}/lxc/{vmid}/config");
        let mut vmid = Map::new();
        vmid.insert("vmid".into(), json!("200"));
        assert_eq!(
            in_code(lxc, &vmid, &form(&[("mp0", "volume=tank:4,mp=/data")])),
            vec![
                json!(["perm", "/vms/200", ["VM.Config.Disk"]]),
                json!(["perm", "/storage/tank", ["Datastore.AllocateSpace"]])
            ]
        );
        let vzdump = ep(HttpMethod::Post, "/nodes/{node}/vzdump");
        assert_eq!(
            in_code(
                vzdump,
                &Map::new(),
                &form(&[("vmid", "100,101"), ("storage", "backup")])
            ),
            vec![
                json!(["perm", "/vms/100", ["VM.Backup"]]),
                json!(["perm", "/vms/101", ["VM.Backup"]]),
                json!(["perm", "/storage/backup", ["Datastore.AllocateSpace"]]),
            ]
        );
        let migrateall = ep(HttpMethod::Post, "/nodes/{node}/migrateall");
        assert_eq!(
            in_code(
                migrateall,
                &Map::new(),
                &form(&[("target", "pve2"), ("vms", "100")])
            ),
            vec![json!(["perm", "/vms/100", ["VM.Migrate"]])]
        );
        // Methods outside the table: nothing more.
        let start = ep(HttpMethod::Post, "/nodes/{node}/qemu/{vmid}/status/start");
        assert!(in_code(start, &Map::new(), &form(&[("scsi0", "local-lvm:32")])).is_empty());
    }

    fn held(entries: &[(&str, &[&str])]) -> HashMap<String, Arc<BTreeSet<String>>> {
        entries
            .iter()
            .map(|(p, privs)| {
                (
                    p.to_string(),
                    Arc::new(privs.iter().map(|s| s.to_string()).collect()),
                )
            })
            .collect()
    }

    /// [`evaluate`] as the pre-flight uses it: templates filled from `vars`, looked up in `held`.
    fn eval(
        check: &Value,
        vars: &Map<String, Value>,
        held: &HashMap<String, Arc<BTreeSet<String>>>,
    ) -> Verdict {
        evaluate(check, &|t: &str| {
            let path = fill(t, vars)?;
            Some((path.clone(), held.get(&path)?.clone()))
        })
    }

    #[test]
    fn a_present_privilege_is_held_whatever_its_propagate_flag() {
        let entry = json!({"VM.PowerMgmt": 0, "VM.Audit": 1, "VM.Console": "0",
                           "VM.Monitor": true, "VM.Backup": false, "VM.Snapshot": null});
        let set = super::held(&entry);
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            [
                "VM.Audit",
                "VM.Backup",
                "VM.Console",
                "VM.Monitor",
                "VM.PowerMgmt"
            ]
        );
        assert!(super::held(&json!(1)).is_empty());
    }

    #[test]
    fn evaluates_perm_and_or_any() {
        let vars = json!({"vmid": 100, "storage": "local"})
            .as_object()
            .unwrap()
            .clone();
        let h = held(&[
            ("/vms/100", &["VM.Audit"]),
            ("/storage/local", &["Datastore.Audit"]),
        ]);
        let perm = json!(["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]);
        assert_eq!(
            eval(&perm, &vars, &h),
            Verdict::No(vec![Missing {
                path: "/vms/100".into(),
                privs: vec!["VM.PowerMgmt".into()],
                any: false
            }])
        );
        let any = json!([
            "perm",
            "/vms/{vmid}",
            ["VM.PowerMgmt", "VM.Audit"],
            "any",
            1
        ]);
        assert_eq!(eval(&any, &vars, &h), Verdict::Yes);
        let or = json!([
            "or",
            ["perm", "/vms/{vmid}", ["VM.Audit"]],
            ["perm", "/", ["Sys.Audit"]]
        ]);
        assert_eq!(eval(&or, &vars, &h), Verdict::Yes);
        let and = json!([
            "and",
            ["perm", "/vms/{vmid}", ["VM.Audit"]],
            ["perm", "/storage/{storage}", ["Datastore.AllocateSpace"]]
        ]);
        assert_eq!(
            eval(&and, &vars, &h),
            Verdict::No(vec![Missing {
                path: "/storage/local".into(),
                privs: vec!["Datastore.AllocateSpace".into()],
                any: false
            }])
        );
        // A variable without a value, an option it does not know, a check it does not know.
        assert_eq!(
            eval(
                &json!(["perm", "/pool/{poolid}", ["Pool.Allocate"]]),
                &vars,
                &h
            ),
            Verdict::Unknown
        );
        assert_eq!(
            eval(
                &json!([
                    "perm",
                    "/vms/{vmid}",
                    ["VM.Config.Disk"],
                    "require_param",
                    "x"
                ]),
                &vars,
                &h
            ),
            Verdict::Unknown
        );
        assert_eq!(
            eval(&json!(["userid-param", "self"]), &vars, &h),
            Verdict::Unknown
        );
    }
}
