//! A node's logs as an assistant reads them: the last lines of the syslog or the journal,
//! bounded, optionally of one service and since a time.

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::input::{self, text};
use super::send::{Call, Outcome};
use super::tools::ep as endpoint;

/// The methods `proxmox_node_log` reads.
pub fn log_endpoints() -> Vec<&'static Endpoint> {
    vec![
        endpoint(HttpMethod::Get, "/nodes/{node}/syslog"),
        endpoint(HttpMethod::Get, "/nodes/{node}/journal"),
    ]
}

/// The node a call names, else the cluster's only node.
pub async fn node_or_only(call: &Call<'_>, args: &Map<String, Value>) -> Result<String, String> {
    if let Some(n) = text(args, "node").or_else(|| call.cluster.default_node.clone()) {
        return Ok(n);
    }
    let client = &call.cluster.client;
    let nodes = client
        .execute(endpoint(HttpMethod::Get, "/nodes"), &[], Form::new())
        .await
        .map_err(|e| explain(&e, client))?;
    let names: Vec<String> = nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["node"].as_str().map(str::to_string))
        .collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "the cluster has several nodes ({}): give `node`",
            names.join(", ")
        )),
    }
}

/// `proxmox_node_log`: the last `lines` lines of a node's syslog (default) or journal.
pub async fn log(call: &Call<'_>, args: Map<String, Value>) -> Outcome {
    let node = node_or_only(call, &args).await?;
    let client = &call.cluster.client;
    let lines = input::uint(&args, "lines")
        .unwrap_or(100)
        .clamp(1, input::MAX_LIMIT);
    let since = match args.get("since") {
        Some(v) => Some(input::since_epoch(v, crate::utc::now())?),
        None => None,
    };
    let service = text(&args, "service");
    let journal = text(&args, "source").as_deref() == Some("journal");
    let (syslog_ep, journal_ep) = (call.tool.endpoints[0], call.tool.endpoints[1]);
    let texts: Vec<Value> = if journal {
        let mut form = Form::new();
        form.text("lastentries", &lines.to_string());
        if let Some(s) = since {
            form.text("since", &s.to_string());
        }
        if let Some(s) = &service {
            form.text("unit", s);
        }
        let data = client
            .execute(journal_ep, &[&node], form)
            .await
            .map_err(|e| explain(&e, client))?;
        data.as_array().cloned().unwrap_or_default()
    } else {
        let base = |form: &mut Form| {
            if let Some(s) = since {
                // syslog takes a date and time, not an epoch.
                let t = crate::utc::seconds(s).replace('T', " ").replace('Z', "");
                form.text("since", &t);
            }
            if let Some(s) = &service {
                form.text("service", s);
            }
        };
        // The total first, then the last `lines` of it.
        let mut probe = Form::new();
        base(&mut probe);
        probe.text("start", "0");
        probe.text("limit", "1");
        let (_, total) = client
            .execute_with_total(syslog_ep, &[&node], probe)
            .await
            .map_err(|e| explain(&e, client))?;
        let mut form = Form::new();
        base(&mut form);
        form.text(
            "start",
            &total.unwrap_or(0).saturating_sub(lines).to_string(),
        );
        form.text("limit", &lines.to_string());
        let data = client
            .execute(syslog_ep, &[&node], form)
            .await
            .map_err(|e| explain(&e, client))?;
        data.as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.get("t").cloned())
            .collect()
    };
    let lines: Vec<Value> = texts
        .into_iter()
        .map(|l| match l {
            Value::String(s) => Value::String(s),
            other => Value::String(other.to_string()),
        })
        .take(lines as usize)
        .collect();
    Ok(json!({"node": node, "source": if journal { "journal" } else { "syslog" }, "lines": lines}))
}
