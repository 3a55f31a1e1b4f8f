//! Storage as an assistant asks about it: every storage of every node with its usage, in one
//! request (`/cluster/resources?type=storage`), sizes in bytes with the fraction used.

use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::input::text;
use super::send::{Call, Outcome};

/// `proxmox_storage_list`.
pub async fn list(call: &Call<'_>, args: &Map<String, Value>) -> Outcome {
    let client = &call.cluster.client;
    let ep = call.tool.endpoints[0];
    let mut form = Form::new();
    form.text("type", "storage");
    let data = client
        .execute(ep, &[], form)
        .await
        .map_err(|e| explain(&e, client))?;
    let node = text(args, "node");
    let content = text(args, "content");
    let mut storages: Vec<Value> = data
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s.get("type").and_then(Value::as_str) == Some("storage"))
        .filter(|s| node.as_deref().is_none_or(|n| s["node"] == n))
        .filter(|s| {
            content.as_deref().is_none_or(|c| {
                s["content"]
                    .as_str()
                    .is_some_and(|have| have.split(',').any(|h| h == c))
            })
        })
        .map(entry)
        .collect();
    storages.sort_by(|a, b| {
        (a["storage"].as_str(), a["node"].as_str())
            .cmp(&(b["storage"].as_str(), b["node"].as_str()))
    });
    let total = storages.len();
    Ok(json!({"storages": storages, "total": total}))
}

/// One storage on one node, with its usage.
fn entry(s: &Value) -> Value {
    let num = |k: &str| {
        s.get(k)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
    };
    let mut out = json!({
        "storage": s.get("storage").cloned().unwrap_or(Value::Null),
        "node": s.get("node").cloned().unwrap_or(Value::Null),
        "type": s.get("plugintype").cloned().unwrap_or(Value::Null),
        "content": s.get("content").cloned().unwrap_or(Value::Null),
        "status": s.get("status").cloned().unwrap_or(Value::Null),
        "shared": s.get("shared").map(|v| v.as_u64() == Some(1) || v == &json!(true)).unwrap_or(false),
    });
    if let (Some(used), Some(size)) = (num("disk"), num("maxdisk")) {
        out["used_bytes"] = json!(used);
        out["total_bytes"] = json!(size);
        out["free_bytes"] = json!(size.saturating_sub(used));
        if size > 0 {
            out["used_fraction"] = json!((used as f64 / size as f64 * 1000.0).round() / 1000.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::entry;
    use serde_json::json;

    #[test]
    fn usage_in_bytes_and_a_fraction() {
        let e = entry(
            &json!({"type": "storage", "storage": "local-lvm", "node": "pve1",
                              "plugintype": "lvmthin", "content": "images,rootdir",
                              "disk": "250", "maxdisk": 1000, "shared": 0, "status": "available"}),
        );
        assert_eq!(e["used_bytes"], 250);
        assert_eq!(e["free_bytes"], 750);
        assert_eq!(e["used_fraction"], 0.25);
        assert_eq!(e["shared"], false);
        assert_eq!(e["type"], "lvmthin");
        let unknown = entry(&json!({"storage": "nfs", "status": "unknown"}));
        assert!(unknown.get("used_bytes").is_none());
    }
}
