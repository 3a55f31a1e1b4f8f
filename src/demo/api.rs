//! The PVE API as the demo cluster answers it: authentication, parameter checks against the
//! schema, permission checks from the catalog, and one handler per simulated method.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use proxmox_mcp::Secret;
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use serde_json::{Map, Value, json};

use super::cluster::{
    Cluster, Effect, Guest, Kind, NODES, Power, STORAGES, Snapshot, TOKEN_ID, epoch, is_disk_key,
};

/// What the demo token holds, by ACL path (propagating to the paths below).
const ACL: &[(&str, &[&str])] = &[
    ("/", &["Sys.Audit"]),
    ("/nodes", &["Sys.Audit", "Sys.Syslog"]),
    (
        "/vms",
        &[
            "VM.Allocate",
            "VM.Audit",
            "VM.Backup",
            "VM.Clone",
            "VM.Config.CDROM",
            "VM.Config.CPU",
            "VM.Config.Cloudinit",
            "VM.Config.Disk",
            "VM.Config.HWType",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.Options",
            "VM.Console",
            "VM.Migrate",
            "VM.PowerMgmt",
            "VM.Snapshot",
            "VM.Snapshot.Rollback",
        ],
    ),
    (
        "/storage",
        &[
            "Datastore.AllocateSpace",
            "Datastore.AllocateTemplate",
            "Datastore.Audit",
        ],
    ),
];

/// Parameters that steer a config write rather than being config keys.
const NOT_CONFIG: &[&str] = &[
    "node",
    "vmid",
    "digest",
    "delete",
    "revert",
    "skiplock",
    "force",
    "background_delay",
    "start",
    "storage",
    "password",
    "ssh-public-keys",
    "ostemplate",
    "pool",
    "unique",
    "restore",
    "archive",
    "ignore-unpack-errors",
    "bwlimit",
    "live-restore",
];

/// Config keys PVE answers as integers.
const INT_KEYS: &[&str] = &[
    "cores",
    "sockets",
    "vcpus",
    "onboot",
    "template",
    "swap",
    "cpuunits",
    "balloon",
    "unprivileged",
    "protection",
    "acpi",
    "kvm",
    "numa",
    "tablet",
];

/// The spellings of a boolean PVE accepts.
const BOOLS: &[&str] = &["0", "1", "true", "false", "yes", "no", "on", "off"];

/// The demo's state and its token's secret.
pub struct Shared {
    secret: Secret,
    cluster: Mutex<Cluster>,
}

impl Shared {
    /// A fresh cluster, accepting `TOKEN_ID` with `secret`.
    pub fn new(secret: &str) -> Self {
        Shared {
            secret: Secret::new(secret),
            cluster: Mutex::new(Cluster::new()),
        }
    }
}

/// An answer: status, PVE's message (reason phrase) and the JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub message: Option<String>,
    pub body: Value,
}

/// A failed call: status, message and, for 400, the message per parameter.
#[derive(Debug)]
pub struct ApiError {
    status: u16,
    message: String,
    errors: Map<String, Value>,
}

fn fail(status: u16, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        message: message.into(),
        errors: Map::new(),
    }
}

fn bad_params(errors: Map<String, Value>) -> ApiError {
    ApiError {
        status: 400,
        message: "Parameter verification failed.".into(),
        errors,
    }
}

type Answer = Result<Value, ApiError>;

/// Decoded request parameters (query string and form body together).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text; `Err` when it does not decode.
    pub fn parse(texts: &[&str]) -> Result<Params, String> {
        let mut out = Vec::new();
        for pair in texts
            .iter()
            .flat_map(|t| t.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| format!("parameter `{k}` is not UTF-8 after decoding"))
            };
            out.push((dec(k)?, dec(v)?));
        }
        Ok(Params(out))
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("1" | "true" | "yes" | "on"))
    }
    fn num(&self, k: &str) -> Option<u64> {
        self.get(k).and_then(|v| v.parse().ok())
    }
}

/// Answers one request. `auth` is the `Authorization` header, `path` the URL path.
/// `params` is `Err` when the query string or body did not decode.
pub fn handle(
    shared: &Shared,
    method: &str,
    path: &str,
    auth: Option<&str>,
    params: Result<Params, String>,
) -> Reply {
    if !authorized(&shared.secret, auth) {
        return reply(Err(fail(401, "authentication failure")), None);
    }
    let params = match params {
        Ok(p) => p,
        Err(m) => return reply(Err(fail(400, m)), None),
    };
    let sub = path
        .strip_prefix("/api2/json")
        .filter(|p| p.starts_with('/'));
    let (Some(m), Some(sub)) = (HttpMethod::parse(method), sub) else {
        return reply(Err(not_implemented(method, path)), None);
    };
    let mut cluster = shared.cluster.lock().unwrap_or_else(|e| e.into_inner());
    cluster.tick();
    let mut total = None;
    let result = dispatch(&mut cluster, m, sub, &params, &mut total);
    if let Err(e) = &result {
        tracing::debug!(method, path, status = e.status, message = %e.message, "demo cluster: error");
    }
    reply(result, total)
}

fn reply(result: Answer, total: Option<u64>) -> Reply {
    match result {
        Ok(data) => {
            let mut body = json!({ "data": data });
            if let Some(t) = total {
                body["total"] = t.into();
            }
            Reply {
                status: 200,
                message: None,
                body,
            }
        }
        Err(e) => {
            let mut body = json!({ "data": null, "message": format!("{}\n", e.message) });
            if !e.errors.is_empty() {
                body["errors"] = Value::Object(e.errors);
            }
            Reply {
                status: e.status,
                message: Some(e.message),
                body,
            }
        }
    }
}

/// True when `auth` is `PVEAPIToken=<the demo token>`; the secret is compared in constant time.
fn authorized(secret: &Secret, auth: Option<&str>) -> bool {
    let Some((id, given)) = auth
        .and_then(|a| a.trim().strip_prefix("PVEAPIToken="))
        .and_then(|t| t.split_once('='))
    else {
        return false;
    };
    let want = secret.expose().as_bytes();
    let diff = given
        .as_bytes()
        .iter()
        .zip(want)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    id == TOKEN_ID && given.len() == want.len() && diff == 0
}

fn not_implemented(method: &str, path: &str) -> ApiError {
    let shown: String = path.chars().take(200).collect();
    fail(501, format!("Method '{method} {shown}' not implemented"))
}

/// Privileges held on `path`: everything granted on it or on a path above it.
fn privileges(path: &str) -> BTreeSet<&'static str> {
    ACL.iter()
        .filter(|(p, _)| *p == "/" || path == *p || path.starts_with(&format!("{p}/")))
        .flat_map(|(_, privs)| privs.iter().copied())
        .collect()
}

/// Evaluates a catalog `check` expression; `Err` names the path and privilege PVE would report.
fn permitted(check: &Value, var: &dyn Fn(&str) -> Option<String>) -> Result<(), String> {
    let Some(list) = check.as_array() else {
        return Ok(());
    };
    let arg = |i: usize| list.get(i).and_then(Value::as_str);
    match arg(0) {
        Some("perm") => {
            let mut path = String::new();
            for seg in arg(1).unwrap_or("/").split('/').filter(|s| !s.is_empty()) {
                let value = match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => match var(name) {
                        Some(v) => v,
                        None => return Ok(()),
                    },
                    None => seg.to_string(),
                };
                path = format!("{path}/{value}");
            }
            if path.is_empty() {
                path.push('/');
            }
            let privs: Vec<&str> = list
                .get(2)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut any = false;
            for opt in list[3.min(list.len())..].chunks(2) {
                match (opt[0].as_str(), opt.get(1)) {
                    (Some("any"), Some(v)) => any = v.as_u64() == Some(1),
                    (Some("require_param"), Some(Value::String(p))) if var(p).is_none() => {
                        return Ok(());
                    }
                    _ => {}
                }
            }
            let held = privileges(&path);
            let missing: Vec<&str> = privs
                .iter()
                .copied()
                .filter(|p| !held.contains(p))
                .collect();
            match (any, missing.is_empty()) {
                (_, true) => Ok(()),
                (true, _) if missing.len() < privs.len() => Ok(()),
                (true, _) => Err(format!("{path}, {}", privs.join("|"))),
                (false, _) => Err(format!("{path}, {}", missing[0])),
            }
        }
        Some("and") => list[1..].iter().try_for_each(|c| permitted(c, var)),
        Some("or") => {
            let mut last = Ok(());
            for c in &list[1..] {
                last = permitted(c, var);
                if last.is_ok() {
                    break;
                }
            }
            last
        }
        _ => Ok(()),
    }
}

/// Checks parameters against the method's schema as PVE does: unknown names, missing required
/// ones, integers and booleans that are not.
fn check_params(ep: &Endpoint, vars: &[(&str, &str)], params: &Params) -> Result<(), ApiError> {
    let schema: Value = serde_json::from_str(ep.parameters).unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    let mut errors = Map::new();
    let open = schema.get("additionalProperties").and_then(Value::as_u64) == Some(1);
    for (k, v) in &params.0 {
        let base = k.trim_end_matches(|c: char| c.is_ascii_digit());
        let prop = props.get(k).or_else(|| {
            (base != k)
                .then(|| props.get(&format!("{base}[n]")))
                .flatten()
        });
        let Some(prop) = prop else {
            if !open {
                errors.insert(
                    k.clone(),
                    "property is not defined in schema and the schema does not allow \
                     additional properties"
                        .into(),
                );
            }
            continue;
        };
        let bad = |t: &str| format!("type check ('{t}') failed - got '{v}'");
        match prop.get("type").and_then(Value::as_str) {
            Some("integer") => match v.parse::<i64>() {
                Err(_) => {
                    errors.insert(k.clone(), bad("integer").into());
                }
                Ok(n) => {
                    let min = prop.get("minimum").and_then(Value::as_i64);
                    let max = prop.get("maximum").and_then(Value::as_i64);
                    if let Some(m) = min.filter(|m| n < *m) {
                        errors.insert(
                            k.clone(),
                            format!("value must have a minimum value of {m}").into(),
                        );
                    } else if let Some(m) = max.filter(|m| n > *m) {
                        errors.insert(
                            k.clone(),
                            format!("value must have a maximum value of {m}").into(),
                        );
                    }
                }
            },
            Some("boolean") if !BOOLS.contains(&v.as_str()) => {
                errors.insert(k.clone(), bad("boolean").into());
            }
            _ => {}
        }
    }
    for (name, prop) in props {
        let optional = prop.get("optional").and_then(Value::as_u64) == Some(1);
        let is_var = vars.iter().any(|(n, _)| n == name);
        if !optional && !is_var && !name.contains("[n]") && params.get(name).is_none() {
            errors.insert(
                name.clone(),
                "property is missing and it is not optional".into(),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(bad_params(errors))
    }
}

fn dispatch(
    c: &mut Cluster,
    method: HttpMethod,
    path: &str,
    params: &Params,
    total: &mut Option<u64>,
) -> Answer {
    let Ok((ep, values)) = proxmox_mcp::path::resolve(method, path) else {
        return Err(not_implemented(method.as_str(), path));
    };
    let vars: Vec<(&str, &str)> = ep
        .path_vars
        .iter()
        .map(|v| v.name)
        .zip(values.iter().map(String::as_str))
        .collect();
    let mut errors = Map::new();
    for (var, value) in ep.path_vars.iter().zip(&values) {
        if let Err(proxmox_mcp::Error::InvalidParameter { reason, .. }) =
            proxmox_mcp::path::check_var(var, value)
        {
            errors.insert(var.name.to_string(), reason.into());
        }
    }
    if !errors.is_empty() {
        return Err(bad_params(errors));
    }
    let var = |name: &str| -> Option<String> {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .or_else(|| params.get(name).map(str::to_string))
    };
    let node = var("node").unwrap_or_default();
    if vars.iter().any(|(n, _)| *n == "node") && !NODES.iter().any(|n| n.0 == node) {
        return Err(fail(
            500,
            format!(
                "hostname lookup '{node}' failed - failed to get address info for: {node}: \
                 Name or service not known"
            ),
        ));
    }
    check_params(ep, &vars, params)?;
    let perms: Value = serde_json::from_str(ep.permissions).unwrap_or_default();
    if let Some(check) = perms.get("check") {
        permitted(check, &var).map_err(|m| fail(403, format!("Permission check failed ({m})")))?;
    }
    let vmid = var("vmid").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let guest_route = ["qemu", "lxc"].into_iter().find_map(|k| {
        let kind = if k == "qemu" { Kind::Qemu } else { Kind::Lxc };
        let prefix = format!("/nodes/{{node}}/{k}");
        let rest = ep.path.strip_prefix(&prefix)?;
        Some((kind, rest))
    });
    use HttpMethod::{Delete, Get, Post, Put};
    if let Some((kind, rest)) = guest_route {
        let g = || Target {
            node: &node,
            kind,
            vmid,
        };
        let snap = var("snapname").unwrap_or_default();
        return match (method, rest) {
            (Get, "") => Ok(list_guests(c, &node, kind)),
            (Post, "") => create(c, &node, kind, params),
            (Get, "/{vmid}/status/current") => guest_summary(c, g(), true),
            (Post, s) if s.starts_with("/{vmid}/status/") => {
                power(c, g(), &s["/{vmid}/status/".len()..], params)
            }
            (Get, "/{vmid}/config") => get_config(c, g(), params),
            (Put, "/{vmid}/config") => set_config(c, g(), params, false),
            (Post, "/{vmid}/config") => set_config(c, g(), params, true),
            (Get, "/{vmid}/pending") => pending(c, g()),
            (Get, "/{vmid}/snapshot") => list_snapshots(c, g()),
            (Post, "/{vmid}/snapshot") => snapshot(c, g(), params),
            (Delete, "/{vmid}/snapshot/{snapname}") => delete_snapshot(c, g(), &snap),
            (Post, "/{vmid}/snapshot/{snapname}/rollback") => rollback(c, g(), &snap, params),
            (Delete, "/{vmid}") => destroy(c, g()),
            _ => Err(not_simulated(method, path)),
        };
    }
    let storage = var("storage").unwrap_or_default();
    match (method, ep.path) {
        (Get, "/version") => {
            Ok(json!({"version": "9.2.0", "release": "9.2", "repoid": "5f4e9c2a"}))
        }
        (Get, "/cluster/status") => Ok(cluster_status()),
        (Get, "/cluster/resources") => Ok(resources(c, params.get("type"))),
        (Get, "/cluster/nextid") => next_id(c, params),
        (Get, "/nodes") => Ok(Value::Array(
            NODES.iter().map(|n| node_entry(c, n.0, false)).collect(),
        )),
        (Get, "/nodes/{node}/status") => Ok(node_status(c, &node)),
        (Get, "/nodes/{node}/tasks") => Ok(list_tasks(c, &node, params, total)),
        (Get, "/nodes/{node}/tasks/{upid}/status") => {
            task(c, &var("upid").unwrap_or_default()).map(|t| t.status())
        }
        (Get, "/nodes/{node}/tasks/{upid}/log") => {
            let lines = task(c, &var("upid").unwrap_or_default())?.lines();
            *total = Some(lines.len() as u64);
            let start = params.num("start").unwrap_or(0) as usize;
            let limit = params.num("limit").unwrap_or(50) as usize;
            Ok(lines
                .into_iter()
                .enumerate()
                .skip(start)
                .take(limit)
                .map(|(i, t)| json!({"n": i + 1, "t": t}))
                .collect())
        }
        (Get, "/storage") => Ok(STORAGES.iter().map(|s| storage_config(s.0)).collect()),
        (Get, "/storage/{storage}") => known_storage(&storage).map(|_| storage_config(&storage)),
        (Get, "/nodes/{node}/storage") => Ok(STORAGES
            .iter()
            .filter(|s| params.get("content").is_none_or(|ct| s.2.contains(ct)))
            .filter(|s| params.get("storage").is_none_or(|id| id == s.0))
            .map(|s| node_storage(c, &node, s.0))
            .collect()),
        (Get, "/nodes/{node}/storage/{storage}/content") => {
            known_storage(&storage)?;
            let want_vmid = params.num("vmid");
            Ok(c.volumes(&node, &storage)
                .into_iter()
                .filter(|v| params.get("content").is_none_or(|ct| ct == v.1))
                .filter(|v| want_vmid.is_none_or(|id| id == v.4))
                .map(|(volid, content, format, size, vmid)| {
                    let mut e = json!({"volid": volid, "content": content, "format": format,
                        "size": size, "ctime": 1_795_140_000u64});
                    if vmid != 0 {
                        e["vmid"] = vmid.into();
                    }
                    e
                })
                .collect())
        }
        (Get, "/access/permissions") => Ok(permissions(params.get("path"))),
        _ => Err(not_simulated(method, path)),
    }
}

fn not_simulated(method: HttpMethod, path: &str) -> ApiError {
    fail(
        501,
        format!(
            "Method '{} {path}' is not simulated by the demo cluster (PVE has it; the demo \
             covers guests, snapshots, tasks, storage and cluster status)",
            method.as_str()
        ),
    )
}

/// `{path: {privilege: 1}}` for every ACL path, or for `path` and the ACL paths above it.
fn permissions(path: Option<&str>) -> Value {
    let entry = |p: &str| -> Value {
        privileges(p)
            .into_iter()
            .map(|x| (x.to_string(), json!(1)))
            .collect()
    };
    let mut out = Map::new();
    for (p, _) in ACL {
        let applies = path.is_none_or(|q| *p == "/" || q == *p || q.starts_with(&format!("{p}/")));
        if applies {
            out.insert(p.to_string(), entry(p));
        }
    }
    if let Some(q) = path {
        out.insert(q.to_string(), entry(q));
    }
    Value::Object(out)
}

/// The guest a request addresses.
#[derive(Clone, Copy)]
struct Target<'a> {
    node: &'a str,
    kind: Kind,
    vmid: u64,
}

fn find<'c>(c: &'c Cluster, t: Target) -> Result<&'c Guest, ApiError> {
    c.guests
        .get(&t.vmid)
        .filter(|g| g.node == t.node && g.kind == t.kind)
        .ok_or_else(|| fail(500, t.kind.missing(t.node, t.vmid)))
}

/// The guest, unless a task holds it.
fn unlocked<'c>(c: &'c Cluster, t: Target) -> Result<&'c Guest, ApiError> {
    let g = find(c, t)?;
    match g.lock.as_deref() {
        None => Ok(g),
        Some(l @ ("start" | "stop" | "shutdown" | "reboot" | "suspend" | "resume")) => {
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
fn summary(vmid: u64, g: &Guest, full: bool) -> Value {
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
    for (k, val) in [("tags", g.get("tags")), ("lock", g.lock.as_deref())] {
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

fn list_guests(c: &Cluster, node: &str, kind: Kind) -> Value {
    c.guests
        .iter()
        .filter(|(_, g)| g.node == node && g.kind == kind)
        .filter(|(id, _)| privileges(&format!("/vms/{id}")).contains("VM.Audit"))
        .map(|(id, g)| summary(*id, g, false))
        .collect()
}

fn guest_summary(c: &Cluster, t: Target, full: bool) -> Answer {
    find(c, t).map(|g| summary(t.vmid, g, full))
}

fn resources(c: &Cluster, kind: Option<&str>) -> Value {
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
                    "content": content, "shared": 0, "disk": s["used"], "maxdisk": s["total"],
                }));
            }
        }
    }
    if kind.is_none_or(|k| k == "pool") {
        out.push(json!({"id": "/pool/prod", "type": "pool", "pool": "prod"}));
    }
    Value::Array(out)
}

fn cluster_status() -> Value {
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
fn node_load(c: &Cluster, node: &str, cpus: u64) -> (f64, u64) {
    let mut cpu = 0.012;
    let mut mem = 2_300u64 << 20;
    for (vmid, g) in c.guests.iter().filter(|(_, g)| g.node == node) {
        let (m, load) = g.usage(*vmid);
        cpu += load * g.cpus() as f64 / cpus as f64;
        mem += m;
    }
    (cpu, mem)
}

fn node_entry(c: &Cluster, node: &str, resource: bool) -> Value {
    let (cpus, gib) = NODES
        .iter()
        .find(|n| n.0 == node)
        .map(|n| (n.1, n.2))
        .unwrap_or((1, 1));
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

fn node_status(c: &Cluster, node: &str) -> Value {
    let (cpus, gib) = NODES
        .iter()
        .find(|n| n.0 == node)
        .map(|n| (n.1, n.2))
        .unwrap_or((1, 1));
    let (cpu, mem) = node_load(c, node, cpus);
    let total = gib << 30;
    json!({
        "cpu": cpu, "wait": 0.0004, "uptime": c.boot.elapsed().as_secs(),
        "loadavg": ["0.42", "0.37", "0.31"], "idle": 0,
        "cpuinfo": {"cpus": cpus, "cores": cpus / 2, "sockets": 1, "model": "AMD EPYC 4344P 8-Core Processor", "mhz": "3800.000", "hvm": "1", "user_hz": 100, "flags": "fpu vme de pse"},
        "memory": {"total": total, "used": mem, "free": total.saturating_sub(mem), "available": total.saturating_sub(mem)},
        "swap": {"total": 8_589_930_496u64, "used": 0, "free": 8_589_930_496u64},
        "rootfs": {"total": 100_861_726_720u64, "used": 9_663_676_416u64, "free": 91_198_050_304u64, "avail": 85_998_050_304u64},
        "ksm": {"shared": 0},
        "kversion": "Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 x86_64",
        "pveversion": "pve-manager/9.2.0/5f4e9c2a",
        "current-kernel": {"sysname": "Linux", "release": "6.17.2-1-pve", "machine": "x86_64", "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1"},
        "boot-info": {"mode": "efi", "secureboot": 0},
    })
}

fn known_storage(id: &str) -> Result<(), ApiError> {
    if STORAGES.iter().any(|s| s.0 == id) {
        Ok(())
    } else {
        Err(fail(500, format!("storage '{id}' does not exist")))
    }
}

fn storage_config(id: &str) -> Value {
    let (_, plugin, content, _) = STORAGES
        .iter()
        .find(|s| s.0 == id)
        .copied()
        .unwrap_or(STORAGES[0]);
    let mut v = json!({"storage": id, "type": plugin, "content": content, "digest": "0c1b2a39f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9"});
    if plugin == "dir" {
        v["path"] = "/var/lib/vz".into();
    } else {
        v["thinpool"] = "data".into();
        v["vgname"] = "pve".into();
    }
    v
}

fn node_storage(c: &Cluster, node: &str, id: &str) -> Value {
    let (_, plugin, content, gib) = STORAGES
        .iter()
        .find(|s| s.0 == id)
        .copied()
        .unwrap_or(STORAGES[0]);
    let total = gib << 30;
    let mut used: u64 = c.volumes(node, id).iter().map(|v| v.3).sum();
    if plugin == "lvmthin" {
        used = used / 10 * 4;
    }
    let used = used.min(total);
    json!({"storage": id, "type": plugin, "content": content, "active": 1, "enabled": 1,
        "shared": 0, "total": total, "used": used, "avail": total - used,
        "used_fraction": used as f64 / total as f64})
}

fn next_id(c: &Cluster, params: &Params) -> Answer {
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

fn task<'c>(c: &'c Cluster, upid: &str) -> Result<&'c super::cluster::Task, ApiError> {
    if proxmox_mcp::client::upid_node(upid).is_err() {
        return Err(fail(400, format!("unable to parse worker upid '{upid}'")));
    }
    c.tasks
        .iter()
        .find(|t| t.upid == upid)
        .ok_or_else(|| fail(500, "no such task"))
}

fn list_tasks(c: &Cluster, node: &str, params: &Params, total: &mut Option<u64>) -> Value {
    let vmid = params.get("vmid");
    let active = params.get("source") == Some("active");
    let list: Vec<Value> = c
        .tasks
        .iter()
        .rev()
        .filter(|t| t.node == node && vmid.is_none_or(|v| v == t.id))
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

/// A hex digest of a config, as PVE sends it to detect concurrent changes.
fn digest(config: &BTreeMap<String, String>) -> String {
    let text: String = config.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        text.as_bytes(),
    );
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn config_json(kind: Kind, config: &BTreeMap<String, String>) -> Map<String, Value> {
    config
        .iter()
        .map(|(k, v)| {
            let int = INT_KEYS.contains(&k.as_str()) || (kind == Kind::Lxc && k == "memory");
            let value = match v.parse::<i64>() {
                Ok(n) if int => n.into(),
                _ => v.clone().into(),
            };
            (k.clone(), value)
        })
        .collect()
}

fn get_config(c: &Cluster, t: Target, params: &Params) -> Answer {
    let g = find(c, t)?;
    let config = match params.get("snapshot") {
        Some(name) => {
            &g.snapshots
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| fail(500, format!("snapshot '{name}' does not exist")))?
                .config
        }
        None => &g.config,
    };
    let mut out = config_json(t.kind, config);
    out.insert("digest".into(), digest(config).into());
    if let Some(p) = &g.parent {
        out.insert("parent".into(), p.clone().into());
    }
    if let Some(l) = &g.lock {
        out.insert("lock".into(), l.clone().into());
    }
    Ok(Value::Object(out))
}

fn pending(c: &Cluster, t: Target) -> Answer {
    let g = find(c, t)?;
    Ok(config_json(t.kind, &g.config)
        .into_iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect())
}

/// `local-lvm:32` (allocate 32 GiB) becomes `local-lvm:vm-105-disk-N,size=32G`; other values stay.
fn allocate(
    config: &BTreeMap<String, String>,
    vmid: u64,
    key: &str,
    value: &str,
) -> Result<String, ApiError> {
    let Some((storage, rest)) = value.split_once(':') else {
        return Ok(value.to_string());
    };
    let (size, opts) = rest.split_once(',').unwrap_or((rest, ""));
    if !is_disk_key(key) || size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(value.to_string());
    }
    known_storage(storage)?;
    let taken: Vec<String> = config
        .values()
        .filter_map(|v| v.split([':', ',']).nth(1).map(str::to_string))
        .collect();
    let n = (0..)
        .find(|n| !taken.contains(&format!("vm-{vmid}-disk-{n}")))
        .unwrap_or(0);
    let opts = if opts.is_empty() {
        String::new()
    } else {
        format!(",{opts}")
    };
    Ok(format!("{storage}:vm-{vmid}-disk-{n}{opts},size={size}G"))
}

/// The config after applying `params` (`delete=` removes keys).
fn updated(g: &Guest, vmid: u64, params: &Params) -> Result<BTreeMap<String, String>, ApiError> {
    if let Some(d) = params.get("digest").filter(|d| *d != digest(&g.config)) {
        tracing::debug!(digest = d, "demo cluster: digest mismatch");
        return Err(fail(
            500,
            "detected modified configuration - file changed by other user? Try again.",
        ));
    }
    let mut config = g.config.clone();
    for key in params
        .get("delete")
        .unwrap_or("")
        .split([',', ';', ' '])
        .filter(|k| !k.is_empty())
    {
        config.remove(key);
    }
    for (k, v) in &params.0 {
        if !NOT_CONFIG.contains(&k.as_str()) {
            let value = allocate(&config, vmid, k, v)?;
            config.insert(k.clone(), value);
        }
    }
    Ok(config)
}

fn set_config(c: &mut Cluster, t: Target, params: &Params, as_task: bool) -> Answer {
    let config = updated(unlocked(c, t)?, t.vmid, params)?;
    let vmid = t.vmid;
    if !as_task {
        if let Some(g) = c.guests.get_mut(&vmid) {
            g.config = config;
        }
        return Ok(Value::Null);
    }
    let log = vec![format!(
        "update VM {vmid}: {}",
        params
            .0
            .iter()
            .map(|(k, _)| format!("-{k}"))
            .collect::<Vec<_>>()
            .join(" ")
    )];
    let effect: Effect = Box::new(move |c| {
        if let Some(g) = c.guests.get_mut(&vmid) {
            g.config = config;
        }
    });
    Ok(c.spawn(
        t.node,
        "qmconfig",
        &vmid.to_string(),
        Some((vmid, "config")),
        log,
        None,
        effect,
    )
    .into())
}

fn power(c: &mut Cluster, t: Target, action: &str, params: &Params) -> Answer {
    const ACTIONS: [&str; 6] = ["start", "stop", "shutdown", "reboot", "suspend", "resume"];
    let Some(action) = ACTIONS.into_iter().find(|a| *a == action) else {
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
        log.push(format!("kvm: -drive file=/dev/pve/vm-{vmid}-disk-0,if=none,id=drive-scsi0,format=raw: Could not open '/dev/pve/vm-{vmid}-disk-0': No such file or directory"));
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
                g.since = std::time::Instant::now();
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

fn list_snapshots(c: &Cluster, t: Target) -> Answer {
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

fn snapshot(c: &mut Cluster, t: Target, params: &Params) -> Answer {
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

fn delete_snapshot(c: &mut Cluster, t: Target, name: &str) -> Answer {
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

fn rollback(c: &mut Cluster, t: Target, name: &str, params: &Params) -> Answer {
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

fn destroy(c: &mut Cluster, t: Target) -> Answer {
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

fn create(c: &mut Cluster, node: &str, kind: Kind, params: &Params) -> Answer {
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
    let mut g = Guest {
        kind,
        node: node.to_string(),
        power: Power::Stopped,
        since: std::time::Instant::now(),
        config: BTreeMap::new(),
        snapshots: Vec::new(),
        parent: None,
        lock: None,
        broken: false,
        pool: params.get("pool").map(str::to_string),
    };
    if kind == Kind::Lxc {
        let storage = params.get("storage").unwrap_or("local-lvm");
        g.config.insert("rootfs".into(), format!("{storage}:8"));
        g.config.insert("hostname".into(), format!("CT{vmid}"));
        g.config.insert("ostype".into(), "debian".into());
        g.config.insert("arch".into(), "amd64".into());
    }
    let rootfs = g.config.remove("rootfs");
    let mut config = updated(&g, vmid, params)?;
    if let (Some(r), false) = (rootfs, config.contains_key("rootfs")) {
        let value = allocate(&config, vmid, "rootfs", &r)?;
        config.insert("rootfs".into(), value);
    }
    g.config = config;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_checks_like_pve() {
        let var = |n: &str| {
            (n == "vmid" || n == "node")
                .then(|| if n == "vmid" { "100" } else { "pve1" }.to_string())
        };
        assert_eq!(
            permitted(&json!(["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]), &var),
            Ok(())
        );
        assert_eq!(
            permitted(&json!(["perm", "/nodes/{node}", ["Sys.Modify"]]), &var),
            Err("/nodes/pve1, Sys.Modify".to_string())
        );
        let any = json!([
            "perm",
            "/storage/{storage}",
            ["Datastore.Allocate", "Datastore.Audit"],
            "any",
            1
        ]);
        assert_eq!(
            permitted(&any, &|n| (n == "storage").then(|| "local".into())),
            Ok(())
        );
        let or = json!([
            "or",
            ["perm", "/", ["Sys.Modify"]],
            ["perm", "/vms/{vmid}", ["VM.Audit"]]
        ]);
        assert_eq!(permitted(&or, &var), Ok(()));
        assert!(
            permitted(
                &json!([
                    "and",
                    ["perm", "/", ["Sys.Audit"]],
                    ["perm", "/", ["Sys.PowerMgmt"]]
                ]),
                &var
            )
            .is_err()
        );
    }

    #[test]
    fn parses_forms_and_refuses_bad_encoding() {
        let p = Params::parse(&["a=1&b=x%20y+z", "c=%E2%9C%93&d"]).unwrap();
        assert_eq!(p.get("b"), Some("x y z"));
        assert_eq!(p.get("c"), Some("✓"));
        assert_eq!(p.get("d"), Some(""));
        assert!(Params::parse(&["a=%FF%FE"]).is_err());
    }

    #[test]
    fn answers_without_panicking_on_odd_requests() {
        let s = Shared::new("s3cret");
        let auth = Some("PVEAPIToken=demo@pve!mcp=s3cret");
        for (m, p) in [
            (
                "GET",
                "/api2/json/nodes/pve1/qemu/99999999999999999999/status/current",
            ),
            ("GET", "/api2/json/nodes/pve9/qemu"),
            ("GET", "/api2/json/nodes/pve1/tasks/garbage/status"),
            ("BREW", "/api2/json/version"),
            ("GET", "/"),
            ("POST", "/api2/json/nodes/pve1/qemu/100/status/dance"),
        ] {
            let r = handle(&s, m, p, auth, Ok(Params::default()));
            assert!(r.status >= 400, "{m} {p}: {r:?}");
        }
        let r = handle(
            &s,
            "GET",
            "/api2/json/version",
            Some("PVEAPIToken=demo@pve!mcp=s3cres"),
            Ok(Params::default()),
        );
        assert_eq!(r.status, 401);
        let r = handle(&s, "GET", "/api2/json/version", auth, Ok(Params::default()));
        assert_eq!(r.body["data"]["release"], "9.2");
    }
}
