//! The sending half of the pipeline, shared by every tool that calls PVE: the method's own
//! argument checks, token rules, the permission pre-flight, then a dry run, the person's
//! confirmation, the audit log, sending, and following the task. It sits below both the tool
//! dispatch (`call`) and the multi-call tools (`custom`), and calls neither.

use std::time::Duration;

use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use proxmox_mcp::{Upid, WaitOptions, args, path};
use rmcp::RoleServer;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use serde_json::{Map, Value, json};

use super::audit::{self, Decision};
use super::errors::explain;
use super::server::{Cluster, State};
use super::tools::BuiltTool;
use super::{confirm, preflight, redact, schema};

/// A tool's result: structured content, or the text of an `isError` result.
pub type Outcome = Result<Value, String>;

/// One tool call on its way to PVE: where it goes and how it was asked.
pub struct Call<'a> {
    /// What every call shares (the audit log among it).
    pub state: &'a State,
    /// The server the call goes to.
    pub cluster: &'a Cluster,
    /// The tool called.
    pub tool: &'a BuiltTool,
    /// The MCP request (progress, cancellation, the client's capabilities).
    pub ctx: &'a RequestContext<RoleServer>,
    /// Check everything, send nothing (`dry_run`).
    pub dry_run: bool,
    /// What the call is about in words, for the person asked to confirm it (`VM 100 "web" on
    /// pve1`); set by the tool when it knows more than the path says.
    pub target: Option<String>,
    /// The arguments as the model gave them, secrets masked, for the audit log.
    pub masked_args: Value,
    /// The input-required exchange of this call (protocol 2026-07-28).
    pub exchange: &'a confirm::Exchange,
    /// The person already confirmed what this call does (a bulk action asks once for all).
    pub confirmed: bool,
    /// What the person is asked to confirm, set by a tool that knows what will be lost (a
    /// volume and its size, the backups a prune removes); a call with a question is confirmed
    /// even when its method is not destructive by [`confirm::destructive`] (a restore over an
    /// existing guest).
    pub question: Option<String>,
}

/// What a request carries besides its parameters.
#[derive(Clone, Copy)]
pub enum Body<'a> {
    /// Only the parameters.
    Form,
    /// A local file, sent as the multipart part named `field` (an upload).
    File {
        /// The parameter that is the file's part (its value names the file on the server).
        field: &'static str,
        /// The file, opened and checked.
        file: &'a proxmox_mcp::client::UploadFile,
    },
}

/// Checks the arguments against `ep`'s parameters, applies the token rule and, for writes, the
/// permission pre-flight; then a dry run answers with the request it would send, a destructive
/// write asks for the person's confirmation, and a write is written to the audit log before it
/// is sent. A task the method starts is followed for `wait` seconds.
pub async fn send(
    call: &Call<'_>,
    ep: &'static Endpoint,
    args: Map<String, Value>,
    wait: u64,
    wrap: &str,
) -> Outcome {
    send_with(call, ep, args, wait, wrap, Body::Form).await
}

/// [`send`], with a file when `body` has one (the upload method).
pub async fn send_with(
    call: &Call<'_>,
    ep: &'static Endpoint,
    args: Map<String, Value>,
    wait: u64,
    wrap: &str,
    body: Body<'_>,
) -> Outcome {
    let data = match exchange_with(call, ep, args, body).await? {
        Exchanged::DryRun(out) => return Ok(out),
        Exchanged::Answer(data) => data,
    };
    if ep.returns_task
        && let Some(upid) = data.as_str().and_then(|s| s.parse::<Upid>().ok())
    {
        return follow(call, &upid, wait).await;
    }
    Ok(shape(ep, data, &call.tool.output, wrap))
}

/// Refuses a GET with effects beyond reading ([`Endpoint::side_effect`]) on a read-only server.
pub fn refuse_side_effect(call: &Call<'_>, ep: &Endpoint) -> Result<(), String> {
    let cluster = call.cluster;
    if !ep.is_write()
        && cluster.read_only
        && let Some(why) = ep.side_effect()
    {
        return Err(format!(
            "{} {} only reads, but {why}; server `{}` is read-only, which refuses such reads \
             too. Nothing was sent.",
            ep.method, ep.path, cluster.name
        ));
    }
    Ok(())
}

/// What [`exchange`] gives back.
pub enum Exchanged {
    /// PVE's answer as it came, secrets included: for a tool that hands a secret to the person
    /// some other way (a console ticket written to a private file). Never shown or logged as
    /// it is; [`shape`] or [`redact::redact_for`] makes the copy a result may hold.
    Answer(Value),
    /// A dry run's result: nothing was sent.
    DryRun(Value),
}

/// [`send`] up to PVE's answer: every check, the dry run, the confirmation and the audit log
/// (which keeps the answer with the method's secrets replaced), without shaping the answer or
/// following a task.
pub async fn exchange(
    call: &Call<'_>,
    ep: &'static Endpoint,
    args: Map<String, Value>,
) -> Result<Exchanged, String> {
    exchange_with(call, ep, args, Body::Form).await
}

/// [`exchange`], with a file when `body` has one.
async fn exchange_with(
    call: &Call<'_>,
    ep: &'static Endpoint,
    args: Map<String, Value>,
    body: Body<'_>,
) -> Result<Exchanged, String> {
    let cluster = call.cluster;
    let client = &cluster.client;
    let prepared = args::prepare(ep, &args).map_err(|e| explain(&e, client))?;
    let values: Vec<&str> = prepared.path_values.iter().map(String::as_str).collect();
    let concrete = path::build(ep, &values).map_err(|e| explain(&e, client))?;
    if !ep.allowtoken && client.uses_token() {
        return Err(explain(
            &proxmox_mcp::Error::TokenNotAllowed {
                method: format!("{} {}", ep.method, ep.path),
            },
            client,
        ));
    }
    refuse_side_effect(call, ep)?;
    let attempt = Attempt {
        method: ep.method.as_str(),
        path: &concrete,
    };
    if ep.is_write() {
        // The pre-flight sees the canonical path values (`/vms/100`, never `/vms/0100`).
        let mut vars = args.clone();
        for (var, value) in ep.path_vars.iter().zip(&prepared.path_values) {
            vars.insert(var.name.to_string(), Value::String(value.clone()));
        }
        if let Err(e) = preflight::check(&cluster.perms, client, ep, &vars, &prepared.form).await {
            record(call, &attempt, Decision::RefusedPreflight, Some(&e))?;
            return Err(e);
        }
        if call.dry_run {
            let out = dry_run(call, ep, &concrete, &prepared.form).await;
            record(call, &attempt, Decision::DryRun, None)?;
            return Ok(Exchanged::DryRun(out));
        }
        if let Err((decision, e)) = confirm::ask(call, ep, &concrete, &prepared.form).await {
            record(call, &attempt, decision, Some(&e))?;
            return Err(e);
        }
        // The line is written (and synced) before the request leaves: a write the log cannot
        // hold is not sent.
        record(call, &attempt, Decision::Sent, None)?;
    }
    let result = match body {
        Body::Form => client.execute(ep, &values, prepared.form).await,
        Body::File { field, file } => client.upload(ep, &values, prepared.form, field, file).await,
    };
    if ep.is_write() {
        cluster.guests.clear();
        if ep.path.starts_with("/access") {
            cluster.perms.clear();
        }
    }
    let data = match result {
        Ok(data) => data,
        Err(e) => {
            let mut text = explain(&e, client);
            if matches!(e, proxmox_mcp::Error::NotFound { .. }) && ep.path.contains("{vmid}") {
                text.push_str(". List guests with proxmox_guest_list.");
            }
            if ep.is_write() {
                answered(call, &attempt, &text);
            }
            return Err(text);
        }
    };
    if ep.is_write() {
        let summary = redact::redact_for(ep, data.clone()).to_string();
        answered(call, &attempt, &summary);
    }
    Ok(Exchanged::Answer(data))
}

/// A write on its way: the method and the concrete path.
pub struct Attempt<'a> {
    /// GET, POST, PUT or DELETE.
    pub method: &'a str,
    /// The concrete path (`/nodes/pve1/qemu/100/status/stop`), or the template when the call
    /// was refused before its values were known.
    pub path: &'a str,
}

/// Writes one line to the audit log (when there is one). An error means the write must not be
/// sent: the log could not hold it.
pub fn record(
    call: &Call<'_>,
    attempt: &Attempt<'_>,
    decision: Decision,
    answer: Option<&str>,
) -> Result<(), String> {
    audit::write(
        call.state.audit.as_ref(),
        &call.cluster.name,
        call.tool.decl.name,
        attempt,
        &call.masked_args,
        decision,
        answer,
        None,
    )
}

/// A write that is not a PVE request (a command run in a container over SSH) through the same
/// gates as [`send`] (elevation and read-only were checked before the call got here): the
/// permission pre-flight of `ep`, the method whose privileges the action takes; then a dry run
/// answers `preview` with what was checked, the person is asked `question` (`what` binds an
/// answer to exactly this action), and the attempt is written to the audit log before it
/// happens. `Ok(Some(_))` is a dry run's answer; `Ok(None)`: go ahead, then log the outcome with
/// [`done`].
pub async fn gate(
    call: &Call<'_>,
    attempt: &Attempt<'_>,
    ep: &Endpoint,
    vars: &Map<String, Value>,
    question: &str,
    what: &str,
    mut preview: Value,
) -> Result<Option<Value>, String> {
    let cluster = call.cluster;
    if let Err(e) = preflight::check(&cluster.perms, &cluster.client, ep, vars, &Form::new()).await
    {
        record(call, attempt, Decision::RefusedPreflight, Some(&e))?;
        return Err(e);
    }
    let asks = cluster.confirm != crate::config::Confirm::Off;
    if call.dry_run {
        preview["dry_run"] = json!(true);
        preview["checked"] = json!("arguments and permissions; nothing was run");
        if let Some(t) = &call.target {
            preview["target"] = json!(t);
        }
        if asks {
            preview["confirmation"] = json!(confirm::policy_note(cluster));
        }
        if !cluster.allow_elevated {
            preview["elevation"] = json!(
                "this server does not allow writes (PROXMOX_ALLOW_ELEVATED): the real call would be refused"
            );
        }
        record(call, attempt, Decision::DryRun, None)?;
        return Ok(Some(preview));
    }
    if asks
        && let Err((decision, e)) =
            confirm::ask_about(call, question, confirm::fingerprint_of(call, what)).await
    {
        record(call, attempt, decision, Some(&e))?;
        return Err(e);
    }
    record(call, attempt, Decision::Sent, None)?;
    Ok(None)
}

/// Logs the outcome of an action [`gate`] let through.
pub fn done(call: &Call<'_>, attempt: &Attempt<'_>, outcome: &str) {
    answered(call, attempt, outcome);
}

/// Logs PVE's answer to a write that was sent; the write has happened, so a failure to log it
/// is only reported in the server's log.
fn answered(call: &Call<'_>, attempt: &Attempt<'_>, answer: &str) {
    if let Err(e) = audit::write(
        call.state.audit.as_ref(),
        &call.cluster.name,
        call.tool.decl.name,
        attempt,
        &call.masked_args,
        Decision::Answered,
        Some(answer),
        None,
    ) {
        tracing::error!("{e}");
    }
}

/// The form as shown in a dry run: values of secret parameters masked.
pub fn masked_form(ep: &Endpoint, form: &Form) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in form.pairs() {
        let shown = if redact::is_secret_param(ep, k) {
            Value::String(redact::REDACTED.to_string())
        } else {
            Value::String(v.clone())
        };
        // A list goes out as the same key repeated: shown as a list.
        match out.get_mut(k) {
            Some(Value::Array(list)) => list.push(shown),
            Some(first) => *first = Value::Array(vec![first.take(), shown]),
            None => {
                out.insert(k.clone(), shown);
            }
        }
    }
    out
}

/// What a dry run answers: the exact request, and for a configuration change the values it
/// would replace (read now, so as fresh as the change would be).
async fn dry_run(call: &Call<'_>, ep: &'static Endpoint, concrete: &str, form: &Form) -> Value {
    let form_shown = masked_form(ep, form);
    let mut out = json!({
        "dry_run": true,
        "request": {"method": ep.method.as_str(), "path": concrete, "form": form_shown},
        "checked": "arguments, token rules and permissions; nothing was sent",
    });
    if let Some(t) = &call.target {
        out["target"] = json!(t);
    }
    if confirm::wanted(call, ep, form) {
        out["confirmation"] = json!(confirm::policy_note(call.cluster));
    }
    if !call.cluster.allow_elevated {
        out["elevation"] = json!(
            "this server does not allow writes (PROXMOX_ALLOW_ELEVATED): the real call would be refused"
        );
    }
    if ep.path.ends_with("/config")
        && let Some(current) = current_values(call, ep, concrete, form).await
    {
        out["would_replace"] = current;
    }
    out
}

/// What the GET at `template` answers for the concrete path `concrete` now, secrets replaced;
/// `None` when there is no such method or it fails (the caller goes on without it).
pub async fn read_now(call: &Call<'_>, template: &str, concrete: &str) -> Option<Value> {
    let read = proxmox_mcp::catalog::find(proxmox_mcp::apidoc::HttpMethod::Get, template)?;
    let (_, values) = path::resolve(read.method, concrete).ok()?;
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let data = call
        .cluster
        .client
        .execute(read, &values, Form::new())
        .await
        .ok()?;
    Some(redact::redact_for(read, data))
}

/// The current values of the keys a configuration change sets or deletes.
async fn current_values(
    call: &Call<'_>,
    ep: &'static Endpoint,
    concrete: &str,
    form: &Form,
) -> Option<Value> {
    let config = read_now(call, ep.path, concrete).await?;
    let mut keys: Vec<String> = Vec::new();
    for (k, v) in form.pairs() {
        if k == "delete" {
            keys.extend(
                v.split([',', ';', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        } else if !matches!(k.as_str(), "digest" | "skiplock" | "revert") {
            keys.push(k.clone());
        }
    }
    let mut out = Map::new();
    for k in keys {
        out.insert(k.clone(), config.get(&k).cloned().unwrap_or(Value::Null));
    }
    Some(Value::Object(out))
}

/// Structured content for `data`: an object as it is (fitted to the output schema), anything else
/// wrapped under `wrap`; secrets the catalog knows for `ep`, and secret-named keys, replaced.
pub fn shape(ep: &Endpoint, data: Value, output: &Value, wrap: &str) -> Value {
    let mut data = match redact::redact_for(ep, data) {
        Value::Object(m) => Value::Object(m),
        other => json!({ wrap: other }),
    };
    if !schema::conform(&mut data, output) {
        tracing::debug!("an answer does not fit its output schema");
    }
    data
}

/// One poll of a running task, as the progress notifications tell it.
struct Report {
    secs: u64,
    line: Option<String>,
    percent: Option<f64>,
}

/// The progress values sent so far: they must increase. A percentage from the task log is the
/// progress, out of a total of 100; without one (or when a new phase starts lower), the value
/// creeps up by a ten-thousandth per poll, so an hour of polls stays under 0.4.
#[derive(Default)]
struct Progress {
    last: f64,
    total: Option<f64>,
}

impl Progress {
    fn next(&mut self, token: &ProgressToken, r: &Report) -> Option<ProgressNotificationParam> {
        let value = match r.percent {
            Some(p) if p > self.last => {
                self.total = Some(100.0);
                p
            }
            _ => self.last + 0.0001,
        };
        if value <= self.last || self.total.is_some_and(|t| value > t) {
            return None;
        }
        self.last = value;
        let secs = r.secs;
        let message = match &r.line {
            Some(line) => {
                let line: String = line.chars().take(200).collect();
                format!("task running ({secs} s): {line}")
            }
            None => format!("task running ({secs} s)"),
        };
        let mut param = ProgressNotificationParam::new(token.clone(), value).with_message(message);
        if let Some(total) = self.total {
            param = param.with_total(total);
        }
        Some(param)
    }
}

/// Waits up to `wait` seconds for task `upid`, sending progress notifications when the client
/// asked for them; stops waiting (not the task) when the client cancels. The end of a task a
/// write started goes to the audit log.
pub async fn follow(call: &Call<'_>, upid: &Upid, wait: u64) -> Outcome {
    let ctx = call.ctx;
    let running = || {
        json!({"upid": upid.as_str(), "status": "running",
               "next": "the task goes on in PVE; follow it with proxmox_task_wait or proxmox_node_task"})
    };
    if wait == 0 {
        return Ok(running());
    }
    let token = ctx.meta.get_progress_token();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Report>();
    let opts = WaitOptions {
        timeout: Duration::from_secs(wait),
        max_poll: Duration::from_secs(1),
        log_lines: 20,
        // The log's latest line and percentage go into the progress notifications.
        follow_log: token.is_some(),
    };
    let mut progress = Progress::default();
    let waiting = call
        .cluster
        .client
        .wait_task_observed(upid, opts, move |poll| {
            let _ = tx.send(Report {
                secs: poll.elapsed.as_secs(),
                line: poll.last_line.clone(),
                percent: poll.percent,
            });
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
            Some(report) = rx.recv() => {
                if let Some(token) = &token
                    && let Some(param) = progress.next(token, &report)
                {
                    let _ = ctx.peer.notify_progress(param).await;
                }
            }
            _ = ctx.ct.cancelled() => {
                return Err(format!(
                    "stopped waiting because the client cancelled; the task goes on in PVE: {upid}"
                ));
            }
        }
    };
    if call.tool.write
        && let Ok(o) = &outcome
    {
        let task = json!({"upid": o.upid.as_str(), "ok": o.success, "exitstatus": o.exit_status});
        if let Err(e) = audit::write(
            call.state.audit.as_ref(),
            &call.cluster.name,
            call.tool.decl.name,
            &Attempt {
                method: "",
                path: "",
            },
            &Value::Null,
            Decision::TaskEnded,
            None,
            Some(task),
        ) {
            tracing::error!("{e}");
        }
    }
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
        Err(e) => Err(explain(&e, &call.cluster.client)),
    }
}
