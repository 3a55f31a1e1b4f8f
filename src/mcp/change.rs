//! Changing a guest's configuration in one call: the configuration (and its `digest`) is read
//! just before, the change is sent with that digest so a concurrent change is refused rather
//! than overwritten, tags are added and removed without rewriting the list, and the result says
//! for each key what it was, what it is now and whether it waits for a restart.

use proxmox_mcp::apidoc::HttpMethod;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::input::{self, text};
use super::send::{Call, Outcome, read_now, send};
use super::tools::ep as endpoint;

/// Separators PVE accepts between tags; it writes `;`.
const TAG_SEPARATORS: [char; 3] = [';', ',', ' '];

/// `proxmox_guest_config_update`.
pub async fn config_update(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let cluster = call.cluster;
    let vmid = input::vmid(&mut args)?;
    let node = text(&args, "node");
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
            text(&args, "type").as_deref(),
        )
        .await?;
    let kind = at.kind.clone();
    call.target = Some(cluster.guests.label(vmid, &at));
    let base = format!("/nodes/{}/{kind}/{vmid}", at.node);
    let template = format!("/nodes/{{node}}/{kind}/{{vmid}}/config");
    // The configuration as it is now, with the digest the change is sent with.
    let before = read_now(call, &template, &format!("{base}/config"))
        .await
        .ok_or_else(|| {
            format!(
                "cannot read the configuration of guest {vmid}; check it with \
                 proxmox_guest_config"
            )
        })?;
    let mut params = match args.remove("set") {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("`set` must be an object of keys and values".to_string()),
    };
    for reserved in ["digest", "delete", "node", "vmid"] {
        if params.contains_key(reserved) {
            return Err(format!(
                "`{reserved}` cannot be set through `set`: use the tool's own arguments \
                 (`delete` lists keys to remove; the digest is read and sent by the tool)"
            ));
        }
    }
    let mut deleted: Vec<String> = list(args.get("delete"));
    let add = list(args.get("tags_add"));
    let remove = list(args.get("tags_remove"));
    if !add.is_empty() || !remove.is_empty() {
        if params.contains_key("tags") {
            return Err(
                "give the tags either whole in `set.tags` or as `tags_add`/`tags_remove`, not both"
                    .into(),
            );
        }
        let mut tags: Vec<String> = before
            .get("tags")
            .and_then(Value::as_str)
            .unwrap_or("")
            .split(TAG_SEPARATORS)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        for t in &add {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        tags.retain(|t| !remove.contains(t));
        if tags.is_empty() {
            deleted.push("tags".into());
        } else {
            params.insert("tags".into(), Value::String(tags.join(";")));
        }
    }
    if params.is_empty() && deleted.is_empty() {
        return Err(
            "nothing to change: give `set`, `delete`, `tags_add` or `tags_remove`".to_string(),
        );
    }
    let changed: Vec<String> = params.keys().cloned().chain(deleted.clone()).collect();
    if !deleted.is_empty() {
        params.insert("delete".into(), Value::String(deleted.join(",")));
    }
    if let Some(digest) = before.get("digest").and_then(Value::as_str) {
        params.insert("digest".into(), Value::String(digest.to_string()));
    }
    params.insert("node".into(), Value::String(at.node.clone()));
    params.insert("vmid".into(), json!(vmid));
    let ep = call.tool.endpoints[usize::from(kind == "lxc")];
    let sent = send(call, ep, params, 0, "data").await?;
    if call.dry_run {
        return Ok(sent);
    }
    // What the guest runs with now, and what waits for its next start.
    let pending_template = format!("/nodes/{{node}}/{kind}/{{vmid}}/pending");
    let pending = read_now(call, &pending_template, &format!("{base}/pending"))
        .await
        .unwrap_or(Value::Null);
    let mut changes = Map::new();
    let mut waiting = false;
    for key in changed {
        let item = pending
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i.get("key").and_then(Value::as_str) == Some(key.as_str()));
        let is_pending = item.is_some_and(|i| {
            i.get("pending").is_some() || i.get("delete").and_then(Value::as_u64).unwrap_or(0) > 0
        });
        waiting |= is_pending;
        let now = match item {
            Some(i) if i.get("pending").is_some() => i["pending"].clone(),
            Some(i) if i.get("delete").and_then(Value::as_u64).unwrap_or(0) > 0 => Value::Null,
            Some(i) => i.get("value").cloned().unwrap_or(Value::Null),
            None => Value::Null,
        };
        changes.insert(
            key.clone(),
            json!({"old": before.get(&key).cloned().unwrap_or(Value::Null), "new": now,
                   "pending": is_pending}),
        );
    }
    let mut out = json!({"vmid": vmid, "node": at.node, "type": kind,
                         "changes": super::redact::redact_for(ep, Value::Object(changes))});
    if waiting {
        out["next"] = json!(
            "some changes apply at the guest's next start: restart it (proxmox_guest_reboot, or shut down and start) to apply them"
        );
    }
    Ok(out)
}

/// A list argument (a JSON list, or one string with commas).
fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// The methods the tool calls: the VM's and the container's `PUT .../config`.
pub fn endpoints() -> Vec<&'static proxmox_mcp::catalog::Endpoint> {
    vec![
        endpoint(HttpMethod::Put, "/nodes/{node}/qemu/{vmid}/config"),
        endpoint(HttpMethod::Put, "/nodes/{node}/lxc/{vmid}/config"),
    ]
}
