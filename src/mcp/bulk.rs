//! Bulk actions: start, shut down, stop or migrate the guests a selector matches (node, tag,
//! pool, name, type, VMIDs), a few at a time, one result line per guest. A dry run lists who
//! would be touched; a destructive action asks the person once for the whole list.

use std::time::{Duration, Instant};

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::input::{self, text};
use super::send::{Attempt, Call, Outcome, follow, record, send};
use super::tools::ep as endpoint;
use super::{confirm, guests::Location};

/// The most guests acted on at the same time.
pub const MAX_CONCURRENCY: u64 = 8;

/// What a bulk tool does to each guest: the path after `{vmid}`.
pub fn suffix(tool: &str) -> &'static str {
    match tool {
        "proxmox_bulk_start" => "/status/start",
        "proxmox_bulk_shutdown" => "/status/shutdown",
        "proxmox_bulk_stop" => "/status/stop",
        _ => "/migrate",
    }
}

/// The VM's and the container's method of a bulk tool.
pub fn endpoints(tool: &str) -> Vec<&'static Endpoint> {
    let s = suffix(tool);
    vec![
        endpoint(
            HttpMethod::Post,
            &format!("/nodes/{{node}}/qemu/{{vmid}}{s}"),
        ),
        endpoint(
            HttpMethod::Post,
            &format!("/nodes/{{node}}/lxc/{{vmid}}{s}"),
        ),
    ]
}

/// One guest the selector matched.
struct Target {
    vmid: u64,
    name: String,
    at: Location,
    status: String,
}

/// The guests `args` select, by VMID.
async fn select(call: &Call<'_>, args: &Map<String, Value>) -> Result<Vec<Target>, String> {
    let cluster = call.cluster;
    let list = cluster
        .guests
        .fetch(&cluster.client)
        .await
        .map_err(|e| explain(&e, &cluster.client))?;
    let want = |k: &str| text(args, k);
    let vmids: Vec<u64> = match args.get("vmids") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
            .collect(),
        _ => Vec::new(),
    };
    let name = want("name").map(|n| n.to_lowercase());
    let mut out: Vec<Target> = list
        .iter()
        .filter(|g| !g.template && g.vmid != 0)
        .filter(|g| {
            ["node", "type", "pool"]
                .iter()
                .all(|k| want(k).is_none_or(|w| g.text(k) == w))
        })
        .filter(|g| want("tag").is_none_or(|t| g.tags.split([';', ',', ' ']).any(|x| x == t)))
        .filter(|g| {
            name.as_ref()
                .is_none_or(|n| g.name.to_lowercase().contains(n))
        })
        .filter(|g| vmids.is_empty() || vmids.contains(&g.vmid))
        .map(|g| Target {
            vmid: g.vmid,
            name: g.name.to_string(),
            at: Location {
                node: g.node.to_string(),
                kind: g.kind.to_string(),
            },
            status: g.status.to_string(),
        })
        .collect();
    out.sort_by_key(|t| t.vmid);
    Ok(out)
}

/// `proxmox_bulk_start`, `_shutdown`, `_stop`, `_migrate`.
pub async fn run(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let tool = call.tool.decl.name;
    let selector = ["node", "tag", "pool", "name", "type", "vmids"];
    if !selector.iter().any(|k| args.contains_key(*k)) {
        return Err(format!(
            "{tool} needs a selector: give at least one of {}; nothing was sent",
            selector.join(", ")
        ));
    }
    let wait = input::take_wait(&mut args);
    let concurrency = input::uint(&args, "concurrency")
        .unwrap_or(4)
        .clamp(1, MAX_CONCURRENCY) as usize;
    let targets = select(call, &args).await?;
    // Guests already in the state asked for are left alone.
    let skip = |t: &Target| match tool {
        "proxmox_bulk_start" => t.status == "running",
        "proxmox_bulk_shutdown" | "proxmox_bulk_stop" => t.status == "stopped",
        _ => text(&args, "target").is_some_and(|n| n == t.at.node),
    };
    let label = |t: &Target| {
        let what = if t.at.kind == "lxc" {
            "container"
        } else {
            "VM"
        };
        format!("{what} {} \"{}\" on {}", t.vmid, t.name, t.at.node)
    };
    let (todo, left): (Vec<&Target>, Vec<&Target>) = targets.iter().partition(|t| !skip(t));
    let mut lines: Vec<Value> = left
        .iter()
        .map(|t| json!({"vmid": t.vmid, "name": t.name, "node": t.at.node, "result": "skipped: already so"}))
        .collect();
    if call.dry_run || todo.is_empty() {
        lines.extend(todo.iter().map(|t| {
            json!({"vmid": t.vmid, "name": t.name, "node": t.at.node, "status": t.status,
                   "result": "would be acted on"})
        }));
        lines.sort_by_key(|l| l["vmid"].as_u64());
        let mut out = json!({"guests": lines, "matched": targets.len(), "acted_on": 0});
        if call.dry_run {
            out["dry_run"] = json!(true);
        }
        return Ok(out);
    }
    // A destructive action is asked once, for the whole list.
    let ep = call.tool.endpoints[0];
    if confirm::needed(call.cluster, ep, &proxmox_mcp::params::Form::new()) {
        let names: Vec<String> = todo.iter().map(|t| label(t)).collect();
        let what = match tool {
            "proxmox_bulk_stop" => "Stop at once, like pulling the plug (unsaved work is lost)",
            _ => "Shut down (their services stop until they are started again)",
        };
        let question = format!("{what}: {} guests: {}.", todo.len(), names.join(", "));
        let ids: Vec<String> = todo.iter().map(|t| t.vmid.to_string()).collect();
        let print = confirm::fingerprint_of(call, &format!("{tool}\n{}", ids.join(",")));
        if let Err((decision, e)) = confirm::ask_about(call, &question, print).await {
            let attempt = Attempt {
                method: ep.method.as_str(),
                path: ep.path,
            };
            record(call, &attempt, decision, Some(&e))?;
            return Err(e);
        }
        call.confirmed = true;
    }
    let deadline = Instant::now() + Duration::from_secs(wait);
    for batch in todo.chunks(concurrency) {
        // Each guest of the batch is sent its request (PVE starts a task each), then the
        // batch's tasks are followed to their end before the next batch goes.
        let mut started: Vec<(&Target, Result<Value, String>)> = Vec::new();
        for t in batch {
            let mut a = Map::new();
            a.insert("vmid".into(), json!(t.vmid));
            a.insert("node".into(), json!(t.at.node));
            if let Some(target) = args.get("target") {
                a.insert("target".into(), target.clone());
            }
            if let Some(online) = args.get("online") {
                a.insert("online".into(), online.clone());
            }
            let ep = call.tool.endpoints[usize::from(t.at.kind == "lxc")];
            started.push((t, send(call, ep, a, 0, "data").await));
        }
        for (t, r) in started {
            let result = match r {
                Ok(v) => match v["upid"].as_str().and_then(|u| u.parse().ok()) {
                    Some(upid) => {
                        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
                        match follow(call, &upid, left).await {
                            Ok(done) => json!(done["status"]),
                            Err(e) => json!(format!("failed: {e}")),
                        }
                    }
                    None => json!("sent"),
                },
                Err(e) => json!(format!("refused or failed: {e}")),
            };
            lines
                .push(json!({"vmid": t.vmid, "name": t.name, "node": t.at.node, "result": result}));
        }
    }
    lines.sort_by_key(|l| l["vmid"].as_u64());
    let ok = lines.iter().filter(|l| l["result"] == "OK").count();
    Ok(json!({"guests": lines, "matched": targets.len(), "acted_on": todo.len(), "ok": ok}))
}
