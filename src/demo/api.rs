//! The PVE API as the demo cluster answers it: authentication, parameter checks against the
//! schema, permission checks from the catalog, and one handler per simulated method.

use std::collections::BTreeSet;
use std::sync::Mutex;

use proxmox_mcp::Secret;
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use serde_json::{Map, Value, json};

use super::cluster::{Cluster, Kind, NODES, STORAGES, TOKEN_ID};
use super::config::{get_config, pending, set_config};
use super::guests::{
    Target, create, delete_snapshot, destroy, guest_summary, list_guests, list_snapshots, power,
    rollback, snapshot,
};
use super::moves::{clone, migrate, vzdump};
use super::status::{
    cluster_status, known_storage, list_tasks, next_id, node_entry, node_status, node_storage,
    resources, storage_config, task,
};
use super::{agent, content, disks, extras, nodes};
use crate::mcp::preflight::{self, Verdict};

/// What the demo token holds, by ACL path (propagating to the paths below). As in PVE, the entry
/// of the most specific path wins: on the template (`/vms/103`) the token may only look and clone.
const ACL: &[(&str, &[&str])] = &[
    ("/", &["Sys.Audit"]),
    ("/nodes", &["Sys.AccessNetwork", "Sys.Audit", "Sys.Syslog"]),
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
            "VM.GuestAgent.Audit",
            "VM.GuestAgent.FileRead",
            "VM.GuestAgent.FileSystemMgmt",
            "VM.GuestAgent.FileWrite",
            "VM.GuestAgent.Unrestricted",
            "VM.Migrate",
            "VM.PowerMgmt",
            "VM.Snapshot",
            "VM.Snapshot.Rollback",
        ],
    ),
    // PVETemplateUser on the template: it can be cloned, not changed or started.
    ("/vms/103", &["VM.Audit", "VM.Clone"]),
    (
        "/storage",
        &[
            "Datastore.Allocate",
            "Datastore.AllocateSpace",
            "Datastore.AllocateTemplate",
            "Datastore.Audit",
        ],
    ),
    ("/sdn/zones/localnetwork", &["SDN.Audit", "SDN.Use"]),
];

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

impl ApiError {
    /// PVE's message.
    pub(super) fn message(&self) -> &str {
        &self.message
    }
}

/// A failure with this status and message.
pub(super) fn fail(status: u16, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        message: message.into(),
        errors: Map::new(),
    }
}

/// A 400 with a message per parameter, as PVE answers a failed parameter check.
pub(super) fn bad_params(errors: Map<String, Value>) -> ApiError {
    ApiError {
        status: 400,
        message: "Parameter verification failed.".into(),
        errors,
    }
}

/// What a handler returns: the `data` of the answer, or the error.
pub(super) type Answer = Result<Value, ApiError>;

/// Decoded request parameters (query string and form body together).
#[derive(Debug, Default)]
pub struct Params(pub(super) Vec<(String, String)>);

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
    pub(super) fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    pub(super) fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("1" | "true" | "yes" | "on"))
    }
    pub(super) fn num(&self, k: &str) -> Option<u64> {
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
    if method == "POST" && is_upload(path) {
        return reply(
            Err(fail(
                501,
                "uploads are not simulated by the demo cluster: it keeps no file contents, so an \
                 upload needs a real PVE. The demo simulates POST \
                 /nodes/{node}/storage/{storage}/download-url instead (the file then appears in the \
                 storage's content).",
            )),
            None,
        );
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
        let (status, message) = (e.status, &e.message);
        tracing::debug!(method, path, status, message, "demo cluster: error answer");
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

/// True for `/api2/json/nodes/{node}/storage/{storage}/upload`, whose multipart body the demo does
/// not read.
fn is_upload(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "api2", "json", "nodes", _, "storage", _, "upload"]
    )
}

fn not_implemented(method: &str, path: &str) -> ApiError {
    let shown: String = path.chars().take(200).collect();
    fail(501, format!("Method '{method} {shown}' not implemented"))
}

/// Privileges held on `path`: those of the most specific ACL path at or above it (PVE's rule:
/// an entry on a deeper path replaces what propagates from above).
pub(super) fn privileges(path: &str) -> BTreeSet<&'static str> {
    ACL.iter()
        .filter(|(p, _)| *p == "/" || path == *p || path.starts_with(&format!("{p}/")))
        .max_by_key(|(p, _)| p.len())
        .into_iter()
        .flat_map(|(_, privs)| privs.iter().copied())
        .collect()
}

/// Evaluates a catalog `check` expression with the pre-flight's evaluator over the demo token's
/// grants; `Err` names the path and privilege as PVE's 403 does. What the evaluator cannot
/// decide is allowed, as it is by the MCP server.
pub(super) fn permitted(check: &Value, var: &dyn Fn(&str) -> Option<String>) -> Result<(), String> {
    let lookup = |template: &str| {
        let path = preflight::fill_with(template, var)?;
        let held = privileges(&path).into_iter().map(str::to_string).collect();
        Some((path, std::sync::Arc::new(held)))
    };
    match preflight::evaluate(check, &lookup) {
        Verdict::No(missing) => {
            let first = missing.first().map(|m| {
                let privs = if m.any {
                    m.privs.join("|")
                } else {
                    m.privs.first().cloned().unwrap_or_default()
                };
                format!("{}, {privs}", m.path)
            });
            Err(first.unwrap_or_default())
        }
        Verdict::Yes | Verdict::Unknown => Ok(()),
    }
}

/// Checks parameters against the method's schema with the checks the SDK and the MCP tools run
/// before sending (`proxmox_mcp::args`), answering as PVE does: 400 with the field's error.
fn check_params(ep: &Endpoint, vars: &[(&str, &str)], params: &Params) -> Result<(), ApiError> {
    let mut args = Map::new();
    for (name, value) in vars {
        args.insert(name.to_string(), Value::String(value.to_string()));
    }
    for (name, value) in &params.0 {
        let value = Value::String(value.clone());
        // A repeated key is a list, as PVE reads a form.
        match args.get_mut(name) {
            Some(Value::Array(list)) => list.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                args.insert(name.clone(), value);
            }
        }
    }
    proxmox_mcp::args::prepare(ep, &args)
        .map(|_| ())
        .map_err(|e| {
            let (name, reason) = match e {
                proxmox_mcp::Error::InvalidParameter { name, reason } => (name, reason),
                other => (String::new(), other.to_string()),
            };
            let mut errors = Map::new();
            errors.insert(name, Value::String(reason));
            bad_params(errors)
        })
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
            (Post, "/{vmid}/clone") => clone(c, g(), params),
            (Post, "/{vmid}/migrate") => migrate(c, g(), params),
            (Post, "/{vmid}/template") => disks::template(c, g(), params),
            (Get, "/{vmid}/feature") => disks::feature(c, g(), params),
            (Put, "/{vmid}/resize") => disks::resize(c, g(), params),
            (Post, "/{vmid}/move_disk" | "/{vmid}/move_volume") => disks::move_disk(c, g(), params),
            (Put, "/{vmid}/unlink") => disks::unlink(c, g(), params),
            (Get, "/{vmid}/rrddata") => extras::rrddata(c, g(), params),
            (Get, "/{vmid}/cloudinit") => extras::cloudinit(c, g()),
            (Get, "/{vmid}/cloudinit/dump") => extras::cloudinit_dump(c, g(), params),
            (Put, "/{vmid}/cloudinit") => extras::cloudinit_regenerate(c, g()),
            (Post, "/{vmid}/vncproxy" | "/{vmid}/termproxy" | "/{vmid}/spiceproxy") => {
                extras::console(c, g(), &rest["/{vmid}/".len()..], params)
            }
            (m, s) if s.starts_with("/{vmid}/agent") => agent::agent(
                c,
                g(),
                m,
                s["/{vmid}/agent".len()..].trim_start_matches('/'),
                params,
            ),
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
        (Post, "/nodes/{node}/vzdump") => vzdump(c, &node, params),
        (Post, "/nodes/{node}/startall") => nodes::startall(c, &node, params),
        (Post, "/nodes/{node}/stopall") => nodes::stopall(c, &node, params),
        (Post, "/nodes/{node}/migrateall") => nodes::migrateall(c, &node, params),
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
            content::list(c, &node, &storage, params)
        }
        (Get, "/nodes/{node}/storage/{storage}/content/{volume}") => {
            content::info(c, &node, &storage, &var("volume").unwrap_or_default())
        }
        (Delete, "/nodes/{node}/storage/{storage}/content/{volume}") => content::delete(
            c,
            &node,
            &storage,
            &var("volume").unwrap_or_default(),
            params,
        ),
        (Get, "/nodes/{node}/storage/{storage}/prunebackups") => {
            content::prune_list(c, &node, &storage, params)
        }
        (Delete, "/nodes/{node}/storage/{storage}/prunebackups") => {
            content::prune(c, &node, &storage, params)
        }
        (Post, "/nodes/{node}/storage/{storage}/download-url") => {
            content::download(c, &node, &storage, params)
        }
        (Get, "/access/permissions") => Ok(permissions(params.get("path"))),
        _ => Err(not_simulated(method, path)),
    }
}

/// 501 for a method of the schema that the demo does not simulate.
pub(super) fn not_simulated(method: HttpMethod, path: &str) -> ApiError {
    fail(
        501,
        format!(
            "Method '{} {path}' is not simulated by the demo cluster (PVE has it; the demo \
             covers guests, snapshots, clones, migration, backups and restores, templates, disks, \
             the guest agent, cloud-init, metrics, consoles, tasks, storage content and cluster \
             status)",
            method.as_str()
        ),
    )
}

/// `{path: {privilege: 1}}` for every ACL path, or only for `path` (as PVE answers it).
fn permissions(path: Option<&str>) -> Value {
    let entry = |p: &str| -> Value {
        privileges(p)
            .into_iter()
            .map(|x| (x.to_string(), json!(1)))
            .collect()
    };
    let mut out = Map::new();
    match path {
        Some(q) => {
            out.insert(q.to_string(), entry(q));
        }
        None => {
            for (p, _) in ACL {
                out.insert(p.to_string(), entry(p));
            }
        }
    }
    Value::Object(out)
}

/// `Err` with PVE's 403 unless the token holds `privilege` on `path`.
pub(super) fn require(path: &str, privilege: &str) -> Result<(), ApiError> {
    if privileges(path).contains(privilege) {
        Ok(())
    } else {
        Err(fail(
            403,
            format!("Permission check failed ({path}, {privilege})"),
        ))
    }
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
