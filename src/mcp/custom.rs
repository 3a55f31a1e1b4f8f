//! Tools whose behaviour is more than one method call: the guest list, a guest's configuration,
//! tasks; the four generic tools that reach the whole API are in [`super::generic`].

use std::time::Duration;

use proxmox_mcp::Upid;
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::bound::{bounded, page};
use super::errors::explain;
use super::generic;
use super::guests::Guest;
use super::input::{MAX_LIMIT, fields, limit, take_wait, text, uint, vmid};
use super::redact::{redact, redact_for};
use super::send::{Call, Outcome, follow, send};
use super::server::{Cluster, State};
use super::table::Custom;
use super::tools::{BuiltTool, ep as endpoint};

/// Runs a custom tool.
pub async fn run(c: Custom, call: &Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let cluster = call.cluster;
    let tool = call.tool;
    match c {
        Custom::GuestList => guest_list(cluster, &args).await,
        Custom::StorageList => super::storage::list(call, &args).await,
        Custom::BackupList => super::backup::list(call, &args).await,
        Custom::StorageConfig => super::content::config(call, &args).await,
        Custom::StorageContent => super::content::content(call, &args).await,
        Custom::FileRestoreList => super::restore::list(call, &args).await,
        Custom::FileRestoreRead => super::restore::read(call, &args).await,
        Custom::AgentInfo => super::agent::info(call, args).await,
        Custom::GuestMetrics => super::metrics::run(call, args).await,
        Custom::AgentFileRead => super::agent::file_read(call, args).await,
        Custom::NodeLog => super::node::log(call, args).await,
        Custom::GuestConfig => guest_config(cluster, tool, &mut args).await,
        Custom::NodeTask => node_task(call, args).await,
        Custom::TaskLog => task_log(cluster, &args).await,
        Custom::TaskWait => {
            let wait = take_wait(&mut args);
            let upid: Upid = text(&args, "upid")
                .unwrap_or_default()
                .parse()
                .map_err(|e| explain(&e, &cluster.client))?;
            follow(call, &upid, wait).await
        }
        Custom::ApiSearch => generic::search(&args),
        Custom::ApiDescribe => generic::describe(&args),
        Custom::ApiGet => generic::get(call, args).await,
        Custom::ApiCall => generic::call(call, args).await,
        // Run by their own modules (they set what the call is about for the confirmation).
        Custom::ConfigUpdate
        | Custom::Backup
        | Custom::CreateVm
        | Custom::CreateLxc
        | Custom::AgentExec
        | Custom::LxcExec
        | Custom::AgentFileWrite
        | Custom::AgentCommand
        | Custom::Console
        | Custom::Bulk
        | Custom::DiskResize
        | Custom::DiskMove
        | Custom::DiskDetach
        | Custom::DiskAdd
        | Custom::NicAdd
        | Custom::NicRemove
        | Custom::ContentDelete
        | Custom::BackupPrune
        | Custom::DownloadUrl
        | Custom::Upload
        | Custom::BackupRestore => Err(format!("{} runs through its own module", tool.decl.name)),
        // Answered for all servers at once by [`servers`].
        Custom::Servers => Err("proxmox_servers takes no server".to_string()),
    }
}

/// Every configured server, asked for its version at the same time (10 s each at most).
pub async fn servers(state: &State) -> Value {
    let ep = endpoint(HttpMethod::Get, "/version");
    let mut asks = tokio::task::JoinSet::new();
    for (i, c) in state.clusters.iter().enumerate() {
        let client = c.client.clone();
        asks.spawn(async move {
            let answer = tokio::time::timeout(
                Duration::from_secs(10),
                client.execute(ep, &[], Form::new()),
            )
            .await;
            (i, answer.map(|a| a.map_err(|e| explain(&e, &client))))
        });
    }
    let mut list: Vec<Value> = state
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"name": c.name, "default": i == 0, "writes": c.allow_elevated && !c.read_only,
                   "reachable": false})
        })
        .collect();
    while let Some(Ok((i, answer))) = asks.join_next().await {
        let out = &mut list[i];
        match answer {
            Ok(Ok(v)) => {
                out["reachable"] = json!(true);
                out["version"] = v["version"].clone();
            }
            Ok(Err(e)) => out["error"] = json!(e),
            Err(_) => out["error"] = json!("no answer within 10 s"),
        }
    }
    json!({ "servers": list })
}

async fn guest_list(cluster: &Cluster, args: &Map<String, Value>) -> Outcome {
    let list = cluster
        .guests
        .fetch(&cluster.client)
        .await
        .map_err(|e| explain(&e, &cluster.client))?;
    let eq = |g: &Guest, k: &str| text(args, k).is_none_or(|want| g.text(k) == want);
    let name = text(args, "name").map(|n| n.to_lowercase());
    let tag = text(args, "tag");
    // References into the list: only the guests shown are parsed from PVE's text.
    let mut guests: Vec<&Guest> = list
        .iter()
        .filter(|g| eq(g, "node") && eq(g, "type") && eq(g, "status") && eq(g, "pool"))
        .filter(|g| {
            name.as_ref()
                .is_none_or(|n| g.name.to_lowercase().contains(n))
        })
        .filter(|g| {
            tag.as_ref()
                .is_none_or(|t| g.tags.split([';', ',', ' ']).any(|x| x == t))
        })
        .collect();
    // A node no guest is on may be a typo: an unknown node is an error, not an empty list.
    if let Some(node) = text(args, "node")
        && !list.iter().any(|g| *g.node == *node)
    {
        let client = &cluster.client;
        let nodes = client
            .execute(endpoint(HttpMethod::Get, "/nodes"), &[], Form::new())
            .await
            .map_err(|e| explain(&e, client))?;
        let names: Vec<&str> = nodes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["node"].as_str())
            .collect();
        if !names.contains(&node.as_str()) {
            return Err(format!(
                "no node `{node}` in the cluster; its nodes: {}",
                names.join(", ")
            ));
        }
    }
    guests.sort_by_key(|g| g.vmid);
    let total = guests.len();
    let limit = limit(args, 100);
    let shown = guests.into_iter().take(limit).map(Guest::value).collect();
    Ok(page("guests", shown, total, limit, fields(args).as_deref()))
}

async fn guest_config(
    cluster: &Cluster,
    tool: &BuiltTool,
    args: &mut Map<String, Value>,
) -> Outcome {
    let vmid = vmid(args)?;
    let at = cluster
        .guests
        .locate(
            &cluster.client,
            vmid,
            text(args, "node").as_deref(),
            text(args, "type").as_deref(),
        )
        .await?;
    let ep = tool.endpoints[usize::from(at.kind == "lxc")];
    let vmid = vmid.to_string();
    let data = cluster
        .client
        .execute(ep, &[&at.node, &vmid], Form::new())
        .await
        .map_err(|e| explain(&e, &cluster.client))?;
    let data = redact_for(ep, data);
    let mut config = Map::new();
    let mut pending = Map::new();
    for item in data.as_array().into_iter().flatten() {
        let Some(key) = item.get("key").and_then(Value::as_str) else {
            continue;
        };
        if let Some(v) = item.get("value") {
            config.insert(key.to_string(), v.clone());
        }
        if let Some(p) = item.get("pending") {
            pending.insert(key.to_string(), p.clone());
        } else if item
            .get("delete")
            .is_some_and(|d| d.as_u64().unwrap_or(0) > 0)
        {
            pending.insert(key.to_string(), json!("(to be deleted)"));
        }
    }
    let mut out = json!({"vmid": vmid.parse::<u64>().unwrap_or(0), "node": at.node, "type": at.kind,
                         "config": redact(Value::Object(config))});
    if !pending.is_empty() {
        out["pending"] = redact(Value::Object(pending));
    }
    Ok(out)
}

async fn node_task(call: &Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let (cluster, tool) = (call.cluster, call.tool);
    let client = &cluster.client;
    if let Some(upid) = args
        .remove("upid")
        .and_then(|v| v.as_str().map(str::to_string))
    {
        let node = upid
            .parse::<Upid>()
            .map_err(|e| explain(&e, client))?
            .node()
            .to_string();
        let data = client
            .execute(tool.endpoints[1], &[&node, &upid], Form::new())
            .await
            .map_err(|e| explain(&e, client))?;
        return Ok(match data {
            Value::Object(_) => json!({"task": redact_for(tool.endpoints[1], data)}),
            other => {
                return Err(format!(
                    "PVE answered the status of task {upid} with {} instead of an object; \
                     read its log with proxmox_task_log",
                    kind_of(&other)
                ));
            }
        });
    }
    if let Some(since) = args.remove("since") {
        let since = super::input::since_epoch(&since, crate::utc::now())?;
        args.insert("since".into(), json!(since));
    }
    let limit = limit(&args, 50);
    let only_failed = crate::mcp::input::flag(&args, "errors");
    let nodes: Vec<String> = match text(&args, "node") {
        Some(node) => vec![node],
        None => {
            let nodes_ep = endpoint(HttpMethod::Get, "/nodes");
            let nodes = client
                .execute(nodes_ep, &[], Form::new())
                .await
                .map_err(|e| explain(&e, client))?;
            let mut names: Vec<String> = nodes
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.get("node").and_then(Value::as_str).map(str::to_string))
                .collect();
            names.sort();
            names
        }
    };
    // Every node asked in turn (one request each); a node that does not answer is named, the
    // others' tasks still come back.
    let mut tasks: Vec<Value> = Vec::new();
    let mut unreachable = Map::new();
    for node in &nodes {
        let mut a = args.clone();
        a.insert("node".into(), json!(node));
        match send(call, tool.endpoints[0], a, 0, "tasks").await {
            Ok(mut out) => {
                if let Some(Value::Array(list)) = out.get_mut("tasks").map(Value::take) {
                    tasks.extend(list);
                }
            }
            Err(e) if nodes.len() > 1 => {
                unreachable.insert(node.clone(), json!(e));
            }
            Err(e) => return Err(e),
        }
    }
    if only_failed {
        // PVE filters already; kept here too, so a node that ignores `errors` cannot slip a
        // task that ended well into a list of failures.
        tasks.retain(|t| {
            t.get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| s != "OK")
        });
    }
    tasks.sort_by_key(|t| {
        std::cmp::Reverse(t.get("starttime").and_then(Value::as_u64).unwrap_or(0))
    });
    for t in &mut tasks {
        for (epoch, readable) in [("starttime", "started"), ("endtime", "ended")] {
            if let Some(secs) = t.get(epoch).and_then(Value::as_u64) {
                t[readable] = json!(crate::utc::seconds(secs));
            }
        }
    }
    let mut out = bounded("tasks", tasks, limit, None);
    if nodes.len() > 1 {
        out["nodes"] = json!(nodes);
    }
    if !unreachable.is_empty() {
        out["unreachable"] = Value::Object(unreachable);
    }
    Ok(out)
}

/// What kind of JSON value `v` is, in words.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

async fn task_log(cluster: &Cluster, args: &Map<String, Value>) -> Outcome {
    let client = &cluster.client;
    let upid = text(args, "upid").unwrap_or_default();
    let node = upid
        .parse::<Upid>()
        .map_err(|e| explain(&e, client))?
        .node()
        .to_string();
    let ep = endpoint(HttpMethod::Get, "/nodes/{node}/tasks/{upid}/log");
    let mut start = uint(args, "start").unwrap_or(0);
    let mut limit = uint(args, "limit").unwrap_or(50).min(MAX_LIMIT);
    if let Some(tail) = uint(args, "tail") {
        let mut probe = Form::new();
        probe.text("start", "0");
        probe.text("limit", "1");
        let (_, total) = client
            .execute_with_total(ep, &[&node, &upid], probe)
            .await
            .map_err(|e| explain(&e, client))?;
        start = total.unwrap_or(0).saturating_sub(tail);
        limit = tail;
    }
    let mut form = Form::new();
    form.text("start", &start.to_string());
    form.text("limit", &limit.to_string());
    let (data, total) = client
        .execute_with_total(ep, &[&node, &upid], form)
        .await
        .map_err(|e| explain(&e, client))?;
    // Only the lines PVE asked for, as text whatever PVE sent.
    let lines: Vec<Value> = data
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| match l.get("t")? {
            Value::String(s) => Some(Value::String(s.clone())),
            Value::Null => None,
            other => Some(Value::String(other.to_string())),
        })
        .take(limit as usize)
        .collect();
    let mut out = json!({"lines": lines});
    if let Some(t) = total {
        out["total"] = json!(t);
    }
    Ok(out)
}
