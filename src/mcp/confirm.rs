//! Confirmation of destructive calls by the person, not the model: the client is asked to show
//! what will be lost and to return the person's answer (MCP elicitation, form mode; on protocol
//! 2026-07-28 an input-required result the client answers by sending the call again). When the
//! client cannot ask, the server's `confirm` policy decides.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use rmcp::RoleServer;
use rmcp::model::{
    BooleanSchema, ElicitRequest, ElicitRequestParams, ElicitationSchema, InputRequest,
    InputRequests, InputRequiredResult, PrimitiveSchemaDefinition, ProtocolVersion,
};
use rmcp::service::RequestContext;
use serde_json::Value;

use super::audit::Decision;
use super::send::{Call, masked_form, read_now};
use super::server::Cluster;
use crate::config::Confirm as Policy;

/// True for methods that destroy or interrupt: deletes, stops, resets, rollbacks, restores
/// over an existing guest, disk wipes, commands run inside a guest (which can do anything), and
/// through a VM's guest agent: a file written over, filesystems frozen, a suspend, a password
/// replaced.
pub fn destructive(e: &Endpoint) -> bool {
    let last = e.path.rsplit('/').next().unwrap_or("");
    e.method == HttpMethod::Delete
        || matches!(
            last,
            "stop"
                | "reset"
                | "rollback"
                | "destroy"
                | "wipedisk"
                | "restore"
                | "shutdown"
                | "exec"
                | "unlink"
                | "stopall"
                | "template"
                | "file-write"
                | "fsfreeze-freeze"
                | "suspend-ram"
                | "suspend-disk"
                | "suspend-hybrid"
                | "set-user-password"
        )
}

/// The value of `key` in `form` (the first, when repeated).
fn form_value<'a>(form: &'a Form, key: &str) -> &'a str {
    form.pairs()
        .iter()
        .find(|(k, _)| k.as_str() == key)
        .map_or("", |(_, v)| v.as_str())
}

/// The `unusedN` keys a configuration change deletes: PVE deletes their volumes for good.
fn unused_deleted(ep: &Endpoint, form: &Form) -> Vec<String> {
    if !ep.path.ends_with("/config") || ep.method == HttpMethod::Get {
        return Vec::new();
    }
    form.pairs()
        .iter()
        .filter(|(k, _)| k.as_str() == "delete")
        .flat_map(|(_, v)| {
            v.split([',', ';', ' '])
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|k| {
            k.strip_prefix("unused")
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .collect()
}

/// True when a call of `ep` with `form` needs the person's confirmation on `cluster`: a
/// destructive method, or a configuration change that deletes an unused disk's volume.
pub fn needed(cluster: &Cluster, ep: &Endpoint, form: &Form) -> bool {
    cluster.confirm != Policy::Off && (destructive(ep) || !unused_deleted(ep, form).is_empty())
}

/// True when this call needs the person's confirmation: [`needed`], or a question the tool set
/// ([`Call::question`]) on a server whose policy is not `off`.
pub fn wanted(call: &Call<'_>, ep: &Endpoint, form: &Form) -> bool {
    needed(call.cluster, ep, form)
        || (call.question.is_some() && call.cluster.confirm != Policy::Off)
}

/// What a dry run says about confirmation on this server.
pub fn policy_note(cluster: &Cluster) -> &'static str {
    match cluster.confirm {
        Policy::Ask => {
            "the person would be asked to confirm (refused when the client cannot ask: confirm = \"ask\")"
        }
        Policy::AskOrAllow => {
            "the person would be asked to confirm (sent unasked when the client cannot ask: confirm = \"ask-or-allow\")"
        }
        Policy::Off => "no confirmation (confirm = \"off\")",
    }
}

/// The sentence the person reads: what the call does and what will be lost.
pub fn question(call: &Call<'_>, ep: &Endpoint, concrete: &str, form: &Form) -> String {
    let target = call
        .target
        .clone()
        .unwrap_or_else(|| format!("{} {concrete}", ep.method.as_str()));
    let last = ep.path.rsplit('/').next().unwrap_or("");
    let what = match (ep.method, last) {
        _ if call.question.is_some() => call.question.clone().unwrap_or_default(),
        (HttpMethod::Delete, "{vmid}") => {
            format!("Destroy {target} and all its disks. This cannot be undone.")
        }
        (HttpMethod::Delete, "{snapname}") => {
            format!("Delete the snapshot `{}` ({target}).", segment(concrete, 0))
        }
        (_, "rollback") => format!(
            "Roll back to the snapshot `{}` ({target}): everything changed since it was taken is lost.",
            segment(concrete, 1)
        ),
        (_, "stop") => {
            format!("Stop {target} at once, like pulling the plug: unsaved work in it is lost.")
        }
        (_, "reset") => format!("Reset {target}: unsaved work in it is lost."),
        (_, "shutdown") => {
            format!("Shut {target} down: its services stop until it is started again.")
        }
        (_, "exec") => format!("Run a command inside {target}: it can change anything there."),
        (_, "stopall") => format!(
            "Stop every guest on node {}: their services stop until they are started again.",
            segment(concrete, 1)
        ),
        (_, "template") => format!(
            "Turn {target} into a template: it can no longer be started, only cloned. This cannot be undone through the API."
        ),
        (_, "unlink") => format!(
            "Delete the disk {} of {target} for good: its volume and data are lost.",
            form_value(form, "idlist")
        ),
        (_, "file-write") => {
            let content = form_value(form, "content");
            // Sent base64-encoded (`encode=0`) or as text PVE encodes.
            let bytes = if form_value(form, "encode") == "0" {
                content.trim_end_matches('=').len() * 3 / 4
            } else {
                content.len()
            };
            // The content is the file: its size is said, the text is not repeated.
            return format!(
                "Write the file `{}` in {target} ({bytes} bytes): a file already there is replaced.",
                form_value(form, "file")
            );
        }
        (_, "fsfreeze-freeze") => format!(
            "Freeze the filesystems of {target}: writes inside it wait until they are thawed \
             (proxmox_agent_fsfreeze, action thaw)."
        ),
        (_, "suspend-ram") => {
            format!("Suspend {target} to RAM: it stops answering until it is woken up.")
        }
        (_, "suspend-disk") => format!(
            "Suspend {target} to disk: it saves its memory and powers off until it is started again."
        ),
        (_, "suspend-hybrid") => format!(
            "Suspend {target} (hybrid): it saves its memory to disk and sleeps until it is woken up."
        ),
        (_, "set-user-password") => format!(
            "Set the password of user `{}` in {target}: the old password stops working.",
            form_value(form, "username")
        ),
        (_, "config") if !unused_deleted(ep, form).is_empty() => format!(
            "Delete the unused disk {} of {target} for good: its volume and data are lost.",
            unused_deleted(ep, form).join(", ")
        ),
        _ => format!(
            "{} {concrete}: this destroys or interrupts something.",
            ep.method.as_str()
        ),
    };
    let form = masked_form(ep, form);
    if form.is_empty() {
        what
    } else {
        format!("{what} Parameters: {}.", Value::Object(form))
    }
}

/// For the deletion of a guest: its disks as `scsi0 (local-lvm:vm-100-disk-0, 32G)`, read from
/// its configuration now. `None` when it is not such a call or the configuration cannot be read.
async fn disks_lost(call: &Call<'_>, ep: &Endpoint, concrete: &str) -> Option<String> {
    if ep.method != HttpMethod::Delete || !ep.path.ends_with("/{vmid}") {
        return None;
    }
    let config = read_now(
        call,
        &format!("{}/config", ep.path),
        &format!("{concrete}/config"),
    )
    .await?;
    let disk_key = |k: &str| {
        let name = k.trim_end_matches(|c: char| c.is_ascii_digit());
        matches!(
            name,
            "scsi"
                | "virtio"
                | "sata"
                | "ide"
                | "efidisk"
                | "tpmstate"
                | "rootfs"
                | "mp"
                | "unused"
        )
    };
    let mut disks: Vec<String> = config
        .as_object()?
        .iter()
        .filter(|(k, _)| disk_key(k))
        .filter_map(|(k, v)| {
            let v = v.as_str()?;
            // CD-ROM drives and empty drives lose nothing.
            if v.contains("media=cdrom") || v.starts_with("none") {
                return None;
            }
            let volume = v.split(',').next().unwrap_or(v);
            let size = v
                .split(',')
                .find_map(|p| p.strip_prefix("size="))
                .map(|s| format!(", {s}"))
                .unwrap_or_default();
            Some(format!("{k} ({volume}{size})"))
        })
        .collect();
    disks.sort();
    (!disks.is_empty()).then(|| disks.join(", "))
}

/// The `n`-th path segment from the end (0 is the last), percent-decoded for display.
fn segment(path: &str, n: usize) -> String {
    let s = path.rsplit('/').nth(n).unwrap_or("");
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// How long the person has to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a question sent in an input-required result stays answerable.
const QUESTION_TTL: Duration = Duration::from_secs(600);
/// The key of the question in an input-required result.
const KEY: &str = "confirm";

/// A client on protocol 2026-07-28 is asked by returning an input-required result and answers by
/// sending the same call again with `inputResponses` and the `requestState` it was given. This
/// is that exchange for one call: what the client sent, and the question to send back.
#[derive(Default)]
pub struct Exchange {
    /// `inputResponses` of the call, when it answers a question.
    pub responses: Option<BTreeMap<String, Value>>,
    /// `requestState` of the call, as the client echoes it.
    pub state: Option<String>,
    /// Set when the call must be answered with this input-required result.
    pub ask: Mutex<Option<InputRequiredResult>>,
}

/// Questions sent in input-required results and not answered yet: the request state (a random
/// nonce) → what exactly was asked about and when. An answer counts only for the very request it
/// was asked about, once, within [`QUESTION_TTL`]: a client cannot confirm ahead of time, reuse
/// a confirmation or change the arguments after the person said yes.
#[derive(Default)]
pub struct Questions {
    open: Mutex<HashMap<String, ([u8; 32], Instant)>>,
}

impl Questions {
    fn put(&self, what: [u8; 32]) -> String {
        let mut nonce = [0u8; 16];
        // The system's randomness; if it ever failed, the nonce is still unique per process.
        if aws_lc_rs::rand::fill(&mut nonce).is_err() {
            nonce[..8].copy_from_slice(&(Instant::now().elapsed().as_nanos() as u64).to_le_bytes());
        }
        let state: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|_, (_, at)| at.elapsed() < QUESTION_TTL);
        // A bound on questions nobody answers.
        if open.len() >= 1024 {
            open.clear();
        }
        open.insert(state.clone(), (what, Instant::now()));
        state
    }

    /// True when `state` names an open question about exactly `what` (it is closed either way).
    fn take(&self, state: &str, what: &[u8; 32]) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        match open.remove(state) {
            Some((w, at)) => &w == what && at.elapsed() < QUESTION_TTL,
            None => false,
        }
    }
}

/// What a confirmation is about: server, tool, method, concrete path and the exact form.
fn fingerprint(call: &Call<'_>, ep: &Endpoint, concrete: &str, form: &Form) -> [u8; 32] {
    let mut text = format!("{}\n{}", ep.method.as_str(), concrete);
    for (k, v) in form.pairs() {
        text.push_str(&format!("\n{k}={v}"));
    }
    fingerprint_of(call, &text)
}

/// A fingerprint of `text` asked about by this call's server and tool.
pub fn fingerprint_of(call: &Call<'_>, text: &str) -> [u8; 32] {
    let text = format!("{}\n{}\n{text}", call.cluster.name, call.tool.decl.name);
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Asks the person to confirm a destructive call when the policy wants it. `Err` carries the
/// audit decision and the text of the refusal; an input-required result to send instead is left
/// in the call's [`Exchange`] (with [`Decision::AskedInput`]).
pub async fn ask(
    call: &Call<'_>,
    ep: &Endpoint,
    concrete: &str,
    form: &Form,
) -> Result<(), (Decision, String)> {
    if call.confirmed || !wanted(call, ep, form) {
        return Ok(());
    }
    let mut question = question(call, ep, concrete, form);
    if let Some(disks) = disks_lost(call, ep, concrete).await {
        question.push_str(&format!(" Disks: {disks}."));
    }
    ask_about(call, &question, fingerprint(call, ep, concrete, form)).await
}

/// Asks the person `question`, whatever the call (a bulk action asks once for all its guests).
/// `what` binds a 2026-07-28 answer to exactly this request.
pub async fn ask_about(
    call: &Call<'_>,
    question: &str,
    what: [u8; 32],
) -> Result<(), (Decision, String)> {
    let asked = if !can_ask(call.ctx) {
        Asked::Cannot(
            "this client cannot ask the person (it did not declare MCP elicitation)".into(),
        )
    } else if modern(call.ctx) {
        match (&call.exchange.responses, &call.exchange.state) {
            (Some(responses), Some(state)) if call.state.questions.take(state, &what) => {
                answer(responses.get(KEY))
            }
            _ => {
                let state = call.state.questions.put(what);
                let mut requests = InputRequests::new();
                requests.insert(
                    KEY.to_string(),
                    InputRequest::Elicitation(ElicitRequest::new(params(question))),
                );
                *call.exchange.ask.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(InputRequiredResult::new(Some(requests), Some(state)));
                return Err((Decision::AskedInput, question.to_string()));
            }
        }
    } else {
        let request = call
            .ctx
            .peer
            .create_elicitation_with_timeout(params(question), Some(ANSWER_TIMEOUT));
        tokio::select! {
            r = request => match r {
                Ok(r) => answer(serde_json::to_value(&r).ok().as_ref()),
                Err(rmcp::service::ServiceError::Timeout { .. }) => Asked::No("no answer within 5 minutes"),
                Err(e) => Asked::Cannot(format!("asking the person failed ({e})")),
            },
            _ = call.ctx.ct.cancelled() => Asked::No("the client cancelled the call"),
        }
    };
    match asked {
        Asked::Yes => Ok(()),
        Asked::No(why) => Err((
            Decision::RefusedConfirmation,
            format!("The person did not confirm ({why}): {question} Nothing was sent."),
        )),
        Asked::Cannot(why) => match call.cluster.confirm {
            Policy::AskOrAllow | Policy::Off => Ok(()),
            Policy::Ask => Err((
                Decision::RefusedPolicy,
                format!(
                    "{} needs the person's confirmation, and {why}. Nothing was sent. Use a \
                     client that supports MCP elicitation (Claude Code, VS Code, Cursor), or an \
                     operator can set `confirm = \"ask-or-allow\"` (or \"off\") for server `{}` \
                     in the configuration file (PROXMOX_CONFIRM for the default server).",
                    call.tool.decl.name, call.cluster.name
                ),
            )),
        },
    }
}

/// The form the person fills in: the question and one required yes/no.
fn params(question: &str) -> ElicitRequestParams {
    let mut properties = BTreeMap::new();
    properties.insert(
        KEY.to_string(),
        PrimitiveSchemaDefinition::Boolean(
            BooleanSchema::new()
                .title("Confirm")
                .description("Yes, do it"),
        ),
    );
    let schema = ElicitationSchema::new(properties).with_required(vec![KEY.to_string()]);
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: question.to_string(),
        requested_schema: schema,
    }
}

/// An elicitation answer (`{"action": "accept", "content": {"confirm": true}}`) read strictly:
/// only an accepted form with `confirm` true is a yes.
fn answer(r: Option<&Value>) -> Asked {
    let Some(r) = r else {
        return Asked::No("no answer");
    };
    match r.get("action").and_then(Value::as_str) {
        Some("accept") if r["content"][KEY] == Value::Bool(true) => Asked::Yes,
        Some("accept") => Asked::No("the box was left unticked"),
        Some("decline") => Asked::No("declined"),
        Some("cancel") => Asked::No("cancelled"),
        _ => Asked::No("an answer the server does not understand"),
    }
}

/// The client speaks protocol 2026-07-28 or later (no server-initiated requests).
fn modern(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}

/// The client declared form elicitation (an empty `elicitation: {}` means form).
fn can_ask(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// What asking gave.
enum Asked {
    Yes,
    No(&'static str),
    Cannot(String),
}
