//! The QEMU guest agent of a VM: what the guest says about itself in one call, and a command
//! run inside it that is waited for (bounded) with its exit code and output.

use std::time::{Duration, Instant};

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::errors::explain;
use super::guests::Location;
use super::input::{self, text};
use super::send::{Call, Outcome, send};
use super::tools::ep as endpoint;

/// The most bytes of a command's stdout or stderr a result keeps.
pub const MAX_OUTPUT: usize = 16 * 1024;
/// How long `proxmox_agent_exec` waits for a command at most, in seconds.
pub const MAX_EXEC_WAIT: u64 = 300;

/// What the agent tools read: the VM's agent commands.
fn agent_ep(method: HttpMethod, command: &str) -> &'static Endpoint {
    endpoint(
        method,
        &format!("/nodes/{{node}}/qemu/{{vmid}}/agent/{command}"),
    )
}

/// The methods `proxmox_agent_info` calls.
pub fn info_endpoints() -> Vec<&'static Endpoint> {
    INFO.iter()
        .map(|(c, _)| agent_ep(HttpMethod::Get, c))
        .collect()
}

/// The methods `proxmox_agent_exec` calls.
pub fn exec_endpoints() -> Vec<&'static Endpoint> {
    vec![
        agent_ep(HttpMethod::Post, "exec"),
        agent_ep(HttpMethod::Get, "exec-status"),
    ]
}

/// The agent commands `proxmox_agent_info` asks, and the key each answer goes under.
const INFO: [(&str, &str); 6] = [
    ("get-osinfo", "os"),
    ("get-host-name", "hostname"),
    ("network-get-interfaces", "interfaces"),
    ("get-fsinfo", "filesystems"),
    ("get-users", "users"),
    ("get-timezone", "timezone"),
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

/// PVE wraps an agent's answer as `{"result": ...}`.
fn unwrap(v: Value) -> Value {
    match v {
        Value::Object(mut m) if m.len() == 1 && m.contains_key("result") => {
            m.remove("result").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// `proxmox_agent_info`: OS, hostname, interfaces with addresses, filesystems, users, time zone.
pub async fn info(call: &Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let (vmid, at) = vm(call, &mut args).await?;
    let client = &call.cluster.client;
    let id = vmid.to_string();
    let mut out = json!({"vmid": vmid, "node": at.node});
    let mut unavailable = Map::new();
    for (i, (command, key)) in INFO.iter().enumerate() {
        let ep = call.tool.endpoints[i];
        match client.execute(ep, &[&at.node, &id], Form::new()).await {
            Ok(v) => out[*key] = shape(key, unwrap(v)),
            // The first command tells whether the agent runs at all.
            Err(e) if i == 0 => return Err(not_running(vmid, &explain(&e, client))),
            Err(e) => {
                unavailable.insert((*command).to_string(), json!(explain(&e, client)));
            }
        }
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
        .map_err(|e| {
            if e.contains("not running") || e.contains("guest-ping") {
                not_running(vmid, &e)
            } else {
                e
            }
        })?;
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
}
