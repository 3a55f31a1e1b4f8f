//! The QEMU guest agent of a VM: what the guest says about itself in one call, a command run
//! inside it and waited for (bounded), a file read or written, and the agent's actions:
//! filesystems frozen, thawed or trimmed, a shutdown or suspend, a user's password.

use std::time::{Duration, Instant};

use proxmox_mcp::apidoc::HttpMethod::{self, Get, Post};
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::guests::Location;
use super::input::{self, text};
use super::redact::redact_for;
use super::send::{Call, Exchanged, Outcome, exchange, send};
use super::tools::ep as endpoint;

/// The most bytes of a command's stdout or stderr a result keeps.
pub const MAX_OUTPUT: usize = 16 * 1024;
/// How long `proxmox_agent_exec` waits for a command at most, in seconds.
pub const MAX_EXEC_WAIT: u64 = 300;
/// The most bytes `proxmox_agent_file_read` reads at once.
pub const MAX_READ: u64 = 64 * 1024;
/// The most bytes of JSON text a file's content takes in a result (results are cut at
/// [`super::bound::MAX_RESULT`]).
const CONTENT_BUDGET: usize = 60 * 1024;

/// What the agent tools call: the VM's agent commands.
fn agent_ep(method: HttpMethod, command: &str) -> &'static Endpoint {
    endpoint(
        method,
        &format!("/nodes/{{node}}/qemu/{{vmid}}/agent/{command}"),
    )
}

/// Agent commands PVE routes as POST though they change nothing: `ping` answers, and
/// `fsfreeze-status` says whether the filesystems are frozen. PVE lets `VM.GuestAgent.Audit`,
/// its read privilege, call both, so `proxmox_agent_info` sends them as reads: no elevation, also
/// on a read-only server, and no audit line (a unit test pins both facts to the catalog).
const POST_READS: [&str; 2] = ["ping", "fsfreeze-status"];

/// The methods `proxmox_agent_info` calls: `ping` (does the agent answer), the [`INFO`] reads,
/// then `fsfreeze-status`.
pub fn info_endpoints() -> Vec<&'static Endpoint> {
    let mut eps = vec![agent_ep(Post, POST_READS[0])];
    eps.extend(INFO.iter().map(|(c, _)| agent_ep(Get, c)));
    eps.push(agent_ep(Post, POST_READS[1]));
    eps
}

/// The methods `proxmox_agent_exec` calls.
pub fn exec_endpoints() -> Vec<&'static Endpoint> {
    vec![agent_ep(Post, "exec"), agent_ep(Get, "exec-status")]
}

/// The method `proxmox_agent_file_read` calls.
pub fn file_read_endpoints() -> Vec<&'static Endpoint> {
    vec![agent_ep(Get, "file-read")]
}

/// The method `proxmox_agent_file_write` calls.
pub fn file_write_endpoints() -> Vec<&'static Endpoint> {
    vec![agent_ep(Post, "file-write")]
}

/// The methods of the agent's action tools, by tool name; the order is the order of their
/// `action` or `mode` values.
pub fn command_endpoints(tool: &str) -> Vec<&'static Endpoint> {
    let commands: &[&str] = match tool {
        "proxmox_agent_fsfreeze" => &["fsfreeze-freeze", "fsfreeze-thaw"],
        "proxmox_agent_fstrim" => &["fstrim"],
        "proxmox_agent_shutdown" => &["shutdown"],
        "proxmox_agent_suspend" => &["suspend-ram", "suspend-disk", "suspend-hybrid"],
        _ => &["set-user-password"],
    };
    commands.iter().map(|c| agent_ep(Post, c)).collect()
}

/// The values of `proxmox_agent_fsfreeze`'s `action` and `proxmox_agent_suspend`'s `mode`, in
/// the order of [`command_endpoints`].
pub const FSFREEZE_ACTIONS: [&str; 2] = ["freeze", "thaw"];
/// See [`FSFREEZE_ACTIONS`].
pub const SUSPEND_MODES: [&str; 3] = ["ram", "disk", "hybrid"];

/// The GET commands `proxmox_agent_info` asks, and the key each answer goes under.
const INFO: [(&str, &str); 10] = [
    ("get-osinfo", "os"),
    ("get-host-name", "hostname"),
    ("network-get-interfaces", "interfaces"),
    ("get-fsinfo", "filesystems"),
    ("get-users", "users"),
    ("get-timezone", "timezone"),
    ("get-time", "time"),
    ("get-vcpus", "vcpus"),
    ("get-memory-blocks", "memory_blocks"),
    ("get-memory-block-info", "memory_block_size"),
];

/// The VM of `vmid` (the agent is a VM's; a container is refused with what to use instead).
async fn vm(call: &Call<'_>, args: &mut Map<String, Value>) -> Result<(u64, Location), String> {
    let cluster = call.cluster;
    let vmid = input::vmid(args)?;
    let at = cluster
        .guests
        .locate(&cluster.client, vmid, text(args, "node").as_deref(), None)
        .await?;
    if at.kind == "lxc" {
        return Err(format!(
            "{vmid} is a container: the QEMU guest agent belongs to VMs. A container's state is \
             in proxmox_guest_status and proxmox_guest_config."
        ));
    }
    Ok((vmid, at))
}

/// The text for an agent that does not answer: how to get one running.
fn not_running(vmid: u64, error: &str) -> String {
    format!(
        "the QEMU guest agent of VM {vmid} does not answer ({error}). Install and start \
         qemu-guest-agent inside the guest, enable it for the VM with \
         proxmox_guest_config_update {{\"vmid\": {vmid}, \"set\": {{\"agent\": 1}}}}, then shut \
         the VM down and start it again (a reboot from inside is not enough)."
    )
}

/// An agent command's error: for an agent that does not answer (or is not configured), how to
/// get one running; for a stopped VM, how to start it; any other error as it is.
fn agent_error(vmid: u64, error: String) -> String {
    if error.contains(&format!("VM {vmid} is not running")) {
        return format!(
            "{error}: the guest agent answers only in a running VM; start it with \
             proxmox_guest_start"
        );
    }
    let e = error.to_ascii_lowercase();
    if e.contains("agent is not running")
        || e.contains("guest-ping")
        || e.contains("no qemu guest agent")
    {
        not_running(vmid, &error)
    } else {
        error
    }
}

/// PVE wraps an agent's answer as `{"result": ...}`.
fn unwrap(v: Value) -> Value {
    match v {
        Value::Object(mut m) if m.len() == 1 && m.contains_key("result") => {
            m.remove("result").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// `proxmox_agent_info`: OS, hostname, interfaces with addresses, filesystems, users, time
/// zone and time, vCPUs and memory blocks, and whether the filesystems are frozen.
pub async fn info(call: &Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let (vmid, at) = vm(call, &mut args).await?;
    let client = &call.cluster.client;
    let id = vmid.to_string();
    let eps = &call.tool.endpoints;
    let values = [at.node.as_str(), id.as_str()];
    let ask = |ep: &'static Endpoint| client.execute(ep, &values, Form::new());
    // The ping tells whether the agent runs at all.
    ask(eps[0])
        .await
        .map_err(|e| agent_error(vmid, explain(&e, client)))?;
    let mut out = json!({"vmid": vmid, "node": at.node});
    let mut unavailable = Map::new();
    let commands = INFO
        .iter()
        .map(|(c, k)| (*c, *k))
        .chain([(POST_READS[1], "fsfreeze")]);
    for ((command, key), ep) in commands.zip(&eps[1..]) {
        match ask(ep).await {
            Ok(v) => out[key] = shape(key, unwrap(v)),
            Err(e) => {
                unavailable.insert(command.to_string(), json!(explain(&e, client)));
            }
        }
    }
    if let Some(size) = out
        .as_object_mut()
        .and_then(|m| m.remove("memory_block_size"))
        && out["memory_blocks"].is_object()
    {
        out["memory_blocks"]["block_size_bytes"] = size;
    }
    if !unavailable.is_empty() {
        out["unavailable"] = Value::Object(unavailable);
    }
    Ok(super::redact::redact(out))
}

/// The parts of an agent answer a person asks for, in plain keys.
fn shape(key: &str, v: Value) -> Value {
    match key {
        "hostname" => v.get("host-name").cloned().unwrap_or(v),
        "os" => v
            .get("pretty-name")
            .or_else(|| v.get("name"))
            .cloned()
            .unwrap_or(v),
        "interfaces" => Value::Array(
            v.as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    let ips: Vec<String> = i["ip-addresses"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|a| {
                            Some(format!(
                                "{}/{}",
                                a["ip-address"].as_str()?,
                                a["prefix"].as_u64()?
                            ))
                        })
                        .collect();
                    json!({"name": i["name"], "mac": i["hardware-address"], "ips": ips})
                })
                .collect(),
        ),
        "filesystems" => Value::Array(
            v.as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    json!({"mountpoint": f["mountpoint"], "type": f["type"],
                           "used_bytes": f["used-bytes"], "total_bytes": f["total-bytes"]})
                })
                .collect(),
        ),
        // Nanoseconds since the epoch.
        "time" => match v.as_f64() {
            Some(ns) if ns >= 0.0 => json!(crate::utc::seconds((ns / 1e9) as u64)),
            _ => v,
        },
        "vcpus" | "memory_blocks" => match v.as_array() {
            Some(list) => {
                let online = list.iter().filter(|x| x["online"] == json!(true)).count();
                json!({"online": online, "total": list.len()})
            }
            None => v,
        },
        "memory_block_size" => v.get("size").cloned().unwrap_or(v),
        _ => v,
    }
}

/// `proxmox_agent_exec`: runs `command` (a list: the program, then its arguments) in the VM
/// through the agent, waits up to `timeout` seconds, returns exit code and output.
pub async fn exec(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let (vmid, at) = vm(call, &mut args).await?;
    call.target = Some(call.cluster.guests.label(vmid, &at));
    let timeout = input::uint(&args, "timeout")
        .unwrap_or(30)
        .min(MAX_EXEC_WAIT);
    args.remove("timeout");
    args.insert("node".into(), json!(at.node));
    let started = send(call, call.tool.endpoints[0], args, 0, "data")
        .await
        .map_err(|e| agent_error(vmid, e))?;
    if call.dry_run {
        return Ok(started);
    }
    let pid = started
        .get("pid")
        .and_then(|p| p.as_u64().or_else(|| p.as_str()?.parse().ok()))
        .or_else(|| started["data"]["pid"].as_u64())
        .ok_or_else(|| format!("the agent started the command but gave no pid: {started}"))?;
    let client = &call.cluster.client;
    let status_ep = call.tool.endpoints[1];
    let id = vmid.to_string();
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let mut form = Form::new();
        form.text("pid", &pid.to_string());
        let status = client
            .execute(status_ep, &[&at.node, &id], form)
            .await
            .map_err(|e| explain(&e, client))?;
        let status = unwrap(status);
        let exited = status["exited"] == json!(true) || status["exited"] == json!(1);
        if exited {
            let mut out = json!({"vmid": vmid, "pid": pid, "exitcode": status["exitcode"]});
            for (from, to) in [("out-data", "stdout"), ("err-data", "stderr")] {
                let text = status[from].as_str().unwrap_or("");
                out[to] = json!(bounded(text));
                if status[format!("{from}-truncated")] == json!(true) {
                    out[format!("{to}_truncated_by_agent")] = json!(true);
                }
            }
            if status["signal"].is_number() {
                out["signal"] = status["signal"].clone();
            }
            return Ok(out);
        }
        if Instant::now() >= deadline {
            return Ok(json!({"vmid": vmid, "pid": pid, "status": "running",
                "next": format!("the command still runs after {timeout} s; call proxmox_agent_exec again with a longer `timeout`, or read its state with proxmox_api_get /nodes/{}/qemu/{vmid}/agent/exec-status?pid={pid}", at.node)}));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = call.ctx.ct.cancelled() => {
                return Err(format!("stopped waiting because the client cancelled; the command (pid {pid}) goes on in VM {vmid}"));
            }
        }
    }
}

/// Output cut to [`MAX_OUTPUT`] bytes on a character boundary, with a marker.
fn bounded(text: &str) -> String {
    cut(text.as_bytes(), text.len())
}

/// The first bytes of an output of `total` bytes as text: whole when they are all of it, else at
/// most [`MAX_OUTPUT`] of them, without a character cut in two, and a marker saying how much is
/// not shown.
pub fn cut(head: &[u8], total: usize) -> String {
    cut_at(head, total, MAX_OUTPUT)
}

/// [`cut`] at `max` bytes.
pub fn cut_at(head: &[u8], total: usize, max: usize) -> String {
    let head = &head[..head.len().min(max)];
    if total <= head.len() {
        return String::from_utf8_lossy(head).into_owned();
    }
    let end = whole_chars(head);
    format!(
        "{}… [{} more bytes not shown: redirect the output to a file in the guest]",
        String::from_utf8_lossy(&head[..end]),
        total - end
    )
}

/// The length of `bytes` without a UTF-8 character cut off at its end.
fn whole_chars(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for back in 1..=n.min(4) {
        let b = bytes[n - back];
        if b & 0xC0 == 0x80 {
            continue;
        }
        let len = match b {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if len > back { n - back } else { n };
    }
    n
}

/// The VM's agent arguments of a call: its node and VMID.
fn agent_args(vmid: u64, at: &Location) -> Map<String, Value> {
    let mut a = Map::new();
    a.insert("node".into(), json!(at.node));
    a.insert("vmid".into(), json!(vmid));
    a
}

/// `proxmox_agent_file_read`: up to [`MAX_READ`] bytes of a file in the VM from `offset`. PVE
/// is asked for base64 (`decode=0`), so every byte arrives as it is in the file: text comes back
/// as text, anything else as base64 (`encoding`). What does not fit is marked, with the offset
/// to read on from.
pub async fn file_read(call: &Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let (vmid, at) = vm(call, &mut args).await?;
    let file = text(&args, "file").unwrap_or_default();
    let offset = input::uint(&args, "offset").unwrap_or(0);
    let count = input::uint(&args, "count")
        .unwrap_or(MAX_READ)
        .min(MAX_READ);
    let mut a = agent_args(vmid, &at);
    a.insert("file".into(), json!(file));
    if offset > 0 {
        a.insert("offset".into(), json!(offset));
    }
    a.insert("count".into(), json!(count));
    a.insert("decode".into(), json!(false));
    let ep = call.tool.endpoints[0];
    let data = match exchange(call, ep, a)
        .await
        .map_err(|e| agent_error(vmid, e))?
    {
        Exchanged::Answer(data) => redact_for(ep, data),
        Exchanged::DryRun(out) => return Ok(out),
    };
    let bytes = data["content"]
        .as_str()
        .and_then(base64_decode)
        .ok_or_else(|| {
            format!(
                "PVE answered the content of {file} in VM {vmid} in a form that is not base64 \
                 (it was asked for base64 with decode=0); read the file with proxmox_agent_exec \
                 [\"cat\", \"{file}\"] instead"
            )
        })?;
    let more = matches!(&data["truncated"], Value::Bool(true))
        || data["truncated"].as_u64() == Some(1)
        || data["truncated"].as_str() == Some("1");
    let (content, used, binary) = fit(&bytes, CONTENT_BUDGET);
    let mut out = json!({"vmid": vmid, "file": file, "content": content, "bytes": used});
    if binary {
        out["encoding"] = json!("base64");
    }
    if more || used < bytes.len() {
        out["truncated"] = json!(true);
        out["next_offset"] = json!(offset + used as u64);
    }
    Ok(out)
}

/// The start of `bytes` whose JSON text fits `budget` bytes: as text when it is UTF-8 (a
/// character cut at the end stays for the next read), else as base64. Returns the content, how
/// many bytes of `bytes` it holds, and whether it is base64.
fn fit(bytes: &[u8], budget: usize) -> (String, usize, bool) {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => Some(t),
        // Only a character cut by the read's end: the rest is text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    let Some(text) = text else {
        let n = bytes.len().min(budget / 4 * 3);
        return (base64_encode(&bytes[..n]), n, true);
    };
    let mut size = 2;
    let mut end = text.len();
    for (i, c) in text.char_indices() {
        size += match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        };
        if size > budget {
            end = i;
            break;
        }
    }
    (text[..end].to_string(), end, false)
}

/// The most bytes `proxmox_agent_file_write` takes: PVE's limit on `content` (`maxLength`),
/// which the content meets as base64.
pub fn max_write(ep: &Endpoint) -> usize {
    let limit = proxmox_mcp::args::parameters(ep)
        .get("content")
        .and_then(|s| s.max_length)
        .unwrap_or(61_440);
    usize::try_from(limit).unwrap_or(61_440) / 4 * 3
}

/// `proxmox_agent_file_write`: writes `content` (text, as UTF-8) to a file in the VM,
/// replacing it. The tool encodes the bytes as base64 once and tells PVE not to encode them
/// again (`encode=0`), so the file holds exactly the text given.
pub async fn file_write(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let (vmid, at) = vm(call, &mut args).await?;
    call.target = Some(call.cluster.guests.label(vmid, &at));
    let ep = call.tool.endpoints[0];
    let file = text(&args, "file").unwrap_or_default();
    let content = text(&args, "content").unwrap_or_default();
    let max = max_write(ep);
    if content.len() > max {
        return Err(format!(
            "`content` is {} bytes; the guest agent writes at most {max} bytes per file through \
             PVE. Write a smaller file. Nothing was sent.",
            content.len()
        ));
    }
    // The audit log keeps the size and a digest of the content, not the text: a file may hold
    // secrets.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, content.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    call.masked_args["content"] = json!(format!("({} bytes, sha256 {hex})", content.len()));
    let mut a = agent_args(vmid, &at);
    a.insert("file".into(), json!(file));
    a.insert("content".into(), json!(base64_encode(content.as_bytes())));
    a.insert("encode".into(), json!(false));
    match exchange(call, ep, a)
        .await
        .map_err(|e| agent_error(vmid, e))?
    {
        Exchanged::DryRun(out) => Ok(out),
        Exchanged::Answer(_) => Ok(json!({"vmid": vmid, "file": file, "bytes": content.len()})),
    }
}

/// The agent's actions: `proxmox_agent_fsfreeze`, `_fstrim`, `_shutdown`, `_suspend` and
/// `_set_password`.
pub async fn command(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let (vmid, at) = vm(call, &mut args).await?;
    call.target = Some(call.cluster.guests.label(vmid, &at));
    let tool = call.tool.decl.name;
    let pick = |values: &[&str], key: &str| {
        let given = text(&args, key).unwrap_or_default();
        values.iter().position(|v| *v == given).unwrap_or(0)
    };
    let i = match tool {
        "proxmox_agent_fsfreeze" => pick(&FSFREEZE_ACTIONS, "action"),
        "proxmox_agent_suspend" => pick(&SUSPEND_MODES, "mode"),
        _ => 0,
    };
    let ep = call.tool.endpoints[i];
    let username = args.get("username").cloned();
    let mut a = agent_args(vmid, &at);
    for k in ["username", "password", "crypted"] {
        if let Some(v) = args.remove(k) {
            a.insert(k.into(), v);
        }
    }
    let data = match exchange(call, ep, a)
        .await
        .map_err(|e| agent_error(vmid, e))?
    {
        Exchanged::Answer(data) => unwrap(redact_for(ep, data)),
        Exchanged::DryRun(out) => return Ok(out),
    };
    let command = ep.path.rsplit('/').next().unwrap_or("");
    Ok(match tool {
        "proxmox_agent_fsfreeze" => {
            json!({"vmid": vmid, "action": FSFREEZE_ACTIONS[i], "filesystems": data})
        }
        "proxmox_agent_fstrim" => {
            let mut paths: Vec<Value> = data["paths"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let mut out = json!({"path": p["path"], "trimmed_bytes": p["trimmed"]});
                    if let Some(e) = p.get("error") {
                        out["error"] = e.clone();
                    }
                    out
                })
                .collect();
            let total = paths.len();
            paths.truncate(100);
            json!({"vmid": vmid, "paths": paths, "total": total})
        }
        "proxmox_agent_set_password" => json!({"vmid": vmid, "username": username}),
        _ => json!({"vmid": vmid, "sent": command,
            "next": "the guest acts on its own; follow it with proxmox_guest_status"}),
    })
}

/// Standard base64 with padding.
fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Standard base64 (padding optional, whitespace ignored), also several encodings one after
/// the other as PVE joins the chunks of a long read; `None` when it is not base64.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let text: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    // Each encoding ends where its padding does.
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let end = match rest.find('=') {
            Some(i) => i + rest[i..].bytes().take_while(|b| *b == b'=').count(),
            None => rest.len(),
        };
        out.extend(super::base64_lenient().decode(&rest[..end]).ok()?);
        rest = &rest[end..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_unwrapped_and_shaped() {
        let v = unwrap(
            json!({"result": [{"name": "eth0", "hardware-address": "bc:24:11:00:00:01",
            "ip-addresses": [{"ip-address": "192.0.2.10", "ip-address-type": "ipv4", "prefix": 24}]}]}),
        );
        let s = shape("interfaces", v);
        assert_eq!(s[0]["ips"], json!(["192.0.2.10/24"]));
        assert_eq!(shape("hostname", json!({"host-name": "web"})), json!("web"));
        let long = "x".repeat(MAX_OUTPUT + 10);
        assert!(bounded(&long).ends_with("to a file in the guest]"));
        assert_eq!(bounded("ok"), "ok");
        // A character cut in two by the limit is left out of what is shown.
        let text = format!("{}é and more", "x".repeat(MAX_OUTPUT - 1));
        let shown = cut(&text.as_bytes()[..MAX_OUTPUT], text.len());
        assert!(shown.starts_with(&"x".repeat(MAX_OUTPUT - 1)), "{shown}");
        assert!(!shown.contains('\u{fffd}'), "{shown}");
        assert!(shown.ends_with(&format!(
            "[{} more bytes not shown: redirect the output to a file in the guest]",
            text.len() - (MAX_OUTPUT - 1)
        )));
    }

    #[test]
    fn hardware_and_time_are_summed_up() {
        let cpus = json!([{"logical-id": 0, "online": true}, {"logical-id": 1, "online": false}]);
        assert_eq!(shape("vcpus", cpus), json!({"online": 1, "total": 2}));
        assert_eq!(
            shape("memory_block_size", json!({"size": 134217728})),
            json!(134217728)
        );
        assert_eq!(
            shape("time", json!(1_764_590_400_123_456_789u64)),
            json!("2025-12-01T12:00:00Z")
        );
    }

    #[test]
    fn base64_round_trips_and_rejects_what_is_not() {
        for text in ["", "a", "ab", "abc", "abcd", "héllo\n\u{1F600}"] {
            let enc = base64_encode(text.as_bytes());
            assert_eq!(
                base64_decode(&enc).as_deref(),
                Some(text.as_bytes()),
                "{enc}"
            );
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        // Chunks joined one after the other, padding in between, line breaks.
        assert_eq!(base64_decode("aGk=aGk=\n").as_deref(), Some(&b"hihi"[..]));
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        for bad in ["a", "a===", "ab=c", "not base64!"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_fits_its_budget() {
        // Text: newlines take two bytes of JSON each.
        let (c, used, binary) = fit(b"ab\n\ncd", 7);
        assert_eq!((c.as_str(), used, binary), ("ab\n", 3, false));
        // A character cut by the read's end waits for the next read.
        let (c, used, _) = fit("é".repeat(3).as_bytes().split_last().unwrap().1, 100);
        assert_eq!((c.as_str(), used), ("éé", 4));
        // Not UTF-8: base64, in whole groups of three bytes.
        let (c, used, binary) = fit(&[0xff, 0, 1, 2, 3], 6);
        assert_eq!((c.as_str(), used, binary), ("/wAB", 3, true));
    }

    #[test]
    fn the_writes_limit_is_pves_as_base64() {
        assert_eq!(max_write(file_write_endpoints()[0]), 46_080);
    }

    #[test]
    fn the_posts_info_sends_only_read() {
        for command in POST_READS {
            let ep = agent_ep(Post, command);
            assert!(
                ep.permission.starts_with("VM.GuestAgent.Audit or"),
                "{command}: {}",
                ep.permission
            );
        }
        // Every other method of the tool is a GET.
        let eps = info_endpoints();
        assert_eq!(eps.len(), INFO.len() + 2);
        assert!(eps[1..=INFO.len()].iter().all(|e| e.method == Get));
    }
}
