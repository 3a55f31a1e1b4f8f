//! The call pipeline every tool goes through: elevation, argument checks, locating the guest,
//! the catalog's checks and token rules, the permission pre-flight, sending, following the task,
//! and errors as text an assistant can act on.

use std::time::Duration;

use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::{Upid, WaitOptions, args};
use rmcp::RoleServer;
use rmcp::model::ProgressNotificationParam;
use rmcp::service::RequestContext;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::server::{Cluster, State};
use super::table::{Action, Custom};
use super::tools::{BuiltTool, DEFAULT_WAIT, MAX_WAIT};
use super::{custom, preflight, schema};

/// A tool's result: structured content, or the text of an `isError` result.
pub type Outcome = Result<Value, String>;

/// Runs one call of `tool`.
pub async fn run(
    state: &State,
    tool: &BuiltTool,
    mut args: Map<String, Value>,
    ctx: &RequestContext<RoleServer>,
) -> Outcome {
    if let Action::Custom(Custom::Servers) = tool.decl.action {
        return Ok(custom::servers(state).await);
    }
    let cluster = state.pick(&mut args)?;
    // Writes are refused before anything else happens: PVE sees nothing.
    if tool.write && cluster.read_only {
        return Err(format!(
            "{} changes things, and server `{}` is read-only (read_only in its configuration, \
             PROXMOX_READ_ONLY or --read-only). Nothing was sent.",
            tool.decl.name, cluster.name
        ));
    }
    if tool.write && !cluster.allow_elevated {
        return Err(format!(
            "{} changes things, and this server does not allow writes. Set \
             PROXMOX_ALLOW_ELEVATED=true in the server's environment (or start it with \
             --allow-elevated, or set allow_elevated for the server in the configuration file) \
             and restart it. Nothing was sent.",
            tool.decl.name
        ));
    }
    if let Some(node) = &cluster.default_node
        && !args.contains_key("node")
        && tool.input["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|n| n == "node"))
    {
        args.insert("node".into(), Value::String(node.clone()));
    }
    check_args(tool, &mut args)?;
    match tool.decl.action {
        Action::Guest { .. } => guest(cluster, tool, args, ctx).await,
        Action::Method { wrap, .. } => {
            let wait = take_wait(&mut args);
            let ep = tool.endpoints[0];
            send(cluster, tool, ep, args, wait, wrap, ctx).await
        }
        Action::Custom(c) => custom::run(c, cluster, tool, args, ctx).await,
    }
}

/// Checks the arguments against the tool's input schema: names, types, listed values, ranges.
/// Objects and lists given as JSON text are read as such.
fn check_args(tool: &BuiltTool, args: &mut Map<String, Value>) -> Result<(), String> {
    let empty = Map::new();
    let props = tool.input["properties"].as_object().unwrap_or(&empty);
    args.retain(|_, v| !v.is_null());
    for (name, value) in args.iter_mut() {
        let Some(p) = props.get(name) else {
            let names: Vec<&str> = props.keys().map(String::as_str).collect();
            return Err(format!(
                "unknown argument `{name}`: {} takes {}",
                tool.decl.name,
                names.join(", ")
            ));
        };
        let ty = p["type"].as_str().unwrap_or("string");
        if let (Value::String(s), "object" | "array") = (&*value, ty)
            && let Ok(parsed) = serde_json::from_str::<Value>(s)
            && (parsed.is_object() || parsed.is_array())
        {
            *value = parsed;
        }
        let fits = match ty {
            "integer" => {
                value.is_i64()
                    || value.is_u64()
                    || value.as_str().is_some_and(|s| s.parse::<i64>().is_ok())
            }
            "number" => {
                value.is_number() || value.as_str().is_some_and(|s| s.parse::<f64>().is_ok())
            }
            "boolean" => {
                value.is_boolean()
                    || matches!(value.as_u64(), Some(0 | 1))
                    || matches!(value.as_str(), Some("0" | "1" | "true" | "false"))
            }
            "array" => value.is_array() || value.is_string(),
            "object" => value.is_object(),
            // Strings: numbers and booleans are written as text; objects are property strings.
            _ => !value.is_array(),
        };
        let expects = || {
            let mut e = match ty {
                "integer" => "an integer".to_string(),
                "number" => "a number".into(),
                "boolean" => "true or false".into(),
                "array" => "a list".into(),
                "object" => "an object".into(),
                _ => "a string".into(),
            };
            if let Some(values) = p["enum"].as_array() {
                let v: Vec<String> = values
                    .iter()
                    .map(|v| v.as_str().unwrap_or("").to_string())
                    .collect();
                e = format!("one of {}", v.join(", "));
            }
            if let (Some(a), Some(b)) = (p["minimum"].as_f64(), p["maximum"].as_f64()) {
                e.push_str(&format!(" from {a} to {b}"));
            } else if let Some(a) = p["minimum"].as_f64() {
                e.push_str(&format!(" of at least {a}"));
            }
            e
        };
        let shown = if args::is_secret_name(name) {
            "the value given".to_string()
        } else {
            let t = value.to_string();
            if t.chars().count() > 60 {
                format!("{}...", t.chars().take(60).collect::<String>())
            } else {
                t
            }
        };
        if !fits {
            return Err(format!(
                "invalid argument `{name}`: expects {}, got {shown}. Nothing was sent.",
                expects()
            ));
        }
        if let Some(values) = p["enum"].as_array()
            && value
                .as_str()
                .is_none_or(|s| !values.iter().any(|v| v.as_str() == Some(s)))
        {
            let hint = if name == "method" && value.as_str() == Some("GET") {
                " GET is read-only: use proxmox_api_get."
            } else {
                ""
            };
            return Err(format!(
                "invalid argument `{name}`: expects {}, got {shown}. Nothing was sent.{hint}",
                expects()
            ));
        }
        let n = value
            .as_f64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()));
        if let Some(n) = n
            && (ty == "integer" || ty == "number")
            && (p["minimum"].as_f64().is_some_and(|m| n < m)
                || p["maximum"].as_f64().is_some_and(|m| n > m))
        {
            return Err(format!(
                "invalid argument `{name}`: expects {}, got {shown}. Nothing was sent.",
                expects()
            ));
        }
    }
    for r in tool.input["required"].as_array().into_iter().flatten() {
        if let Some(r) = r.as_str()
            && !args.contains_key(r)
        {
            return Err(format!(
                "missing argument `{r}` ({} needs it). Nothing was sent.",
                tool.decl.name
            ));
        }
    }
    Ok(())
}

/// Removes `wait` from the arguments: seconds to wait for a task (checked by [`check_args`]).
pub fn take_wait(args: &mut Map<String, Value>) -> u64 {
    args.remove("wait")
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(DEFAULT_WAIT)
        .min(MAX_WAIT)
}

/// A string argument.
pub fn text(args: &Map<String, Value>, name: &str) -> Option<String> {
    match args.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A guest tool: locate the guest, then send to the VM's or the container's method.
async fn guest(
    cluster: &Cluster,
    tool: &BuiltTool,
    mut args: Map<String, Value>,
    ctx: &RequestContext<RoleServer>,
) -> Outcome {
    let wait = take_wait(&mut args);
    let vmid = vmid(&args)?;
    let node = args
        .remove("node")
        .and_then(|v| v.as_str().map(str::to_string));
    let kind = args
        .remove("type")
        .and_then(|v| v.as_str().map(str::to_string));
    let at = cluster
        .guests
        .locate(&cluster.client, vmid, node.as_deref(), kind.as_deref())
        .await?;
    let ep = tool.endpoints[usize::from(at.kind == "lxc")];
    args.insert("node".into(), Value::String(at.node));
    send(cluster, tool, ep, args, wait, "data", ctx).await
}

/// The `vmid` argument as a number.
pub fn vmid(args: &Map<String, Value>) -> Result<u64, String> {
    let v = args.get("vmid").ok_or("missing argument `vmid`")?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| format!("invalid argument `vmid`: expects an integer, got {v}"))
}

/// Checks the arguments against `ep`'s parameters, applies the token rule and the permission
/// pre-flight (writes), sends, and follows a task the method starts.
pub async fn send(
    cluster: &Cluster,
    tool: &BuiltTool,
    ep: &'static Endpoint,
    args: Map<String, Value>,
    wait: u64,
    wrap: &str,
    ctx: &RequestContext<RoleServer>,
) -> Outcome {
    let client = &cluster.client;
    let prepared = args::prepare(ep, &args).map_err(|e| explain(&e, client))?;
    if !ep.allowtoken && client.uses_token() {
        return Err(explain(
            &proxmox_mcp::Error::TokenNotAllowed {
                method: format!("{} {}", ep.method, ep.path),
            },
            client,
        ));
    }
    if ep.is_write() {
        preflight::check(&cluster.perms, client, ep, &args).await?;
    }
    let values: Vec<&str> = prepared.path_values.iter().map(String::as_str).collect();
    let result = client.execute(ep, &values, prepared.form).await;
    if ep.is_write() {
        cluster.guests.clear();
        if ep.path.starts_with("/access") {
            cluster.perms.clear();
        }
    }
    let data = result.map_err(|e| {
        let mut text = explain(&e, client);
        if matches!(e, proxmox_mcp::Error::NotFound { .. }) && ep.path.contains("{vmid}") {
            text.push_str(". List guests with proxmox_guest_list.");
        }
        text
    })?;
    if ep.returns_task
        && let Some(upid) = data.as_str().and_then(|s| s.parse::<Upid>().ok())
    {
        return follow(cluster, &upid, wait, ctx).await;
    }
    Ok(shape(ep, data, &tool.output, wrap))
}

/// Structured content for `data`, the answer of `ep`, with its secrets replaced: an object as it
/// is (fitted to the output schema), anything else wrapped under `wrap`.
pub fn shape(ep: &Endpoint, data: Value, output: &Value, wrap: &str) -> Value {
    let data = super::redact::redact_for(ep, data);
    match data {
        Value::Object(_) => {
            let mut data = data;
            if !schema::conform(&mut data, output) {
                tracing::debug!("an answer does not fit its output schema");
            }
            data
        }
        other => json!({ wrap: other }),
    }
}

/// Waits up to `wait` seconds for task `upid`, sending progress notifications when the client
/// asked for them; stops waiting (not the task) when the client cancels.
pub async fn follow(
    cluster: &Cluster,
    upid: &Upid,
    wait: u64,
    ctx: &RequestContext<RoleServer>,
) -> Outcome {
    let running = || {
        json!({"upid": upid.as_str(), "status": "running",
               "next": "the task goes on in PVE; follow it with proxmox_task_wait or proxmox_node_task"})
    };
    if wait == 0 {
        return Ok(running());
    }
    let token = ctx.meta.get_progress_token();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, u64)>();
    let opts = WaitOptions {
        timeout: Duration::from_secs(wait),
        max_poll: Duration::from_secs(1),
        log_lines: 20,
    };
    let waiting = cluster.client.wait_task_observed(upid, opts, move |poll| {
        let _ = tx.send((poll.polls, poll.elapsed.as_secs()));
    });
    tokio::pin!(waiting);
    if let Some(token) = &token {
        let _ = ctx
            .peer
            .notify_progress(
                ProgressNotificationParam::new(token.clone(), 0.0)
                    .with_message(format!("task started: {upid}")),
            )
            .await;
    }
    let outcome = loop {
        tokio::select! {
            r = &mut waiting => break r,
            Some((polls, secs)) = rx.recv() => {
                if let Some(token) = &token {
                    let _ = ctx.peer.notify_progress(
                        ProgressNotificationParam::new(token.clone(), polls as f64)
                            .with_message(format!("task running ({secs} s)")),
                    ).await;
                }
            }
            _ = ctx.ct.cancelled() => {
                return Err(format!(
                    "stopped waiting because the client cancelled; the task goes on in PVE: {upid}"
                ));
            }
        }
    };
    match outcome {
        Ok(o) if o.success => {
            Ok(json!({"upid": o.upid.as_str(), "status": "OK", "exitstatus": o.exit_status}))
        }
        Ok(o) => {
            let mut text = format!("task {} failed: {}", o.upid, o.exit_status);
            if !o.log_tail.is_empty() {
                text.push_str("\nlast lines of its log:\n");
                text.push_str(&o.log_tail.join("\n"));
            }
            if o.exit_status.contains("locked") {
                text.push('\n');
                text.push_str(super::errors::LOCKED);
            }
            Err(text)
        }
        Err(proxmox_mcp::Error::TaskTimeout { .. }) => Ok(running()),
        Err(e) => Err(explain(&e, &cluster.client)),
    }
}
