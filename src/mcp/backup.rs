//! Backups as an assistant asks for them: back a guest up now by its VMID (vzdump on its node),
//! and list backups across every storage that holds them, PBS storages included.

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::input::{self, text};
use super::send::{Call, Outcome, send};
use super::tools::ep as endpoint;

/// The methods `proxmox_guest_backup` calls.
pub fn run_endpoints() -> Vec<&'static Endpoint> {
    vec![endpoint(HttpMethod::Post, "/nodes/{node}/vzdump")]
}

/// The methods `proxmox_backup_list` calls.
pub fn list_endpoints() -> Vec<&'static Endpoint> {
    vec![
        endpoint(HttpMethod::Get, "/nodes/{node}/storage/{storage}/content"),
        endpoint(HttpMethod::Get, "/cluster/resources"),
    ]
}

/// `proxmox_guest_backup`: vzdump of one guest on its node, followed to the end.
pub async fn run(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let cluster = call.cluster;
    let wait = input::take_wait(&mut args);
    let vmid = input::vmid(&mut args)?;
    let at = cluster
        .guests
        .locate(&cluster.client, vmid, None, None)
        .await?;
    call.target = Some(cluster.guests.label(vmid, &at));
    // vzdump's `vmid` is a list in a string.
    args.insert("vmid".into(), Value::String(vmid.to_string()));
    args.insert("node".into(), Value::String(at.node));
    send(call, call.tool.endpoints[0], args, wait, "data").await
}

/// `proxmox_backup_list`: the backups on every storage whose content includes `backup`, each
/// shared storage asked once, newest first.
pub async fn list(call: &Call<'_>, args: &Map<String, Value>) -> Outcome {
    let client = &call.cluster.client;
    let [content_ep, resources_ep] = [call.tool.endpoints[0], call.tool.endpoints[1]];
    let mut form = Form::new();
    form.text("type", "storage");
    let resources = client
        .execute(resources_ep, &[], form)
        .await
        .map_err(|e| explain(&e, client))?;
    let only = text(args, "storage");
    let mut seen_shared: Vec<String> = Vec::new();
    let mut places: Vec<(String, String)> = Vec::new();
    for s in resources.as_array().into_iter().flatten() {
        let (Some(storage), Some(node)) = (s["storage"].as_str(), s["node"].as_str()) else {
            continue;
        };
        let holds_backups = s["content"]
            .as_str()
            .is_some_and(|c| c.split(',').any(|c| c == "backup"));
        if !holds_backups
            || s["status"] != "available"
            || only.as_deref().is_some_and(|o| o != storage)
        {
            continue;
        }
        if s["shared"] == json!(1) || s["shared"] == json!(true) {
            if seen_shared.iter().any(|x| x == storage) {
                continue;
            }
            seen_shared.push(storage.to_string());
        }
        places.push((node.to_string(), storage.to_string()));
    }
    places.sort();
    let vmid = input::uint(args, "vmid");
    let mut backups: Vec<Value> = Vec::new();
    let mut unreadable = Map::new();
    for (node, storage) in &places {
        let mut form = Form::new();
        form.text("content", "backup");
        if let Some(id) = vmid {
            form.text("vmid", &id.to_string());
        }
        match client.execute(content_ep, &[node, storage], form).await {
            Ok(data) => {
                for b in data.as_array().into_iter().flatten() {
                    if vmid.is_some_and(|id| b["vmid"].as_u64() != Some(id)) {
                        continue;
                    }
                    let mut item = json!({"storage": storage, "node": node});
                    for k in [
                        "volid",
                        "vmid",
                        "size",
                        "ctime",
                        "format",
                        "notes",
                        "protected",
                        "subtype",
                    ] {
                        if let Some(v) = b.get(k) {
                            item[k] = v.clone();
                        }
                    }
                    if let Some(secs) = b["ctime"].as_u64() {
                        item["created"] = json!(crate::utc::seconds(secs));
                    }
                    backups.push(item);
                }
            }
            Err(e) => {
                unreadable.insert(format!("{storage} on {node}"), json!(explain(&e, client)));
            }
        }
    }
    backups.sort_by_key(|b| std::cmp::Reverse(b["ctime"].as_u64().unwrap_or(0)));
    let limit = input::uint(args, "limit")
        .unwrap_or(100)
        .min(super::input::MAX_LIMIT) as usize;
    let total = backups.len();
    backups.truncate(limit);
    let mut out = json!({"backups": backups, "total": total,
                         "storages": places.iter().map(|(n, s)| format!("{s} on {n}")).collect::<Vec<_>>()});
    if total > limit {
        out["next"] = json!(format!(
            "{} more not shown: give `vmid` or `storage`, or raise `limit`",
            total - limit
        ));
    }
    if !unreadable.is_empty() {
        out["unreadable"] = Value::Object(unreadable);
    }
    Ok(out)
}
