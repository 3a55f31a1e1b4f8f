//! `proxmox_lxc_exec`: a command run in a container. PVE has no API method for it, so the
//! command goes over SSH to the container's node as `pct exec VMID -- ARGS...` (opt-in: the
//! server's `ssh_*` settings). The node's host key is pinned, never trusted on first use; the
//! call needs elevation and the person's confirmation, and is audited, like any write. There is
//! no list of forbidden commands: a blocklist is easy to get round and gives a false sense of
//! safety; the confirmation shows the exact command, and PVE's VM.Console on the container (the
//! privilege its console takes) is required of the API credentials.

use std::time::Duration;

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::Endpoint;
use proxmox_mcp::params::Form;
use serde_json::{Map, Value, json};

use super::agent::{MAX_OUTPUT, cut, cut_at};
use super::errors::explain;
use super::input::{self, uint};
use super::send::{Attempt, Call, Outcome, done, gate};
use super::server::Cluster;
use super::ssh::{self, Failure, Node};
use super::tools::ep;

/// How long a command may run at most, in seconds.
pub const MAX_TIMEOUT: u64 = 300;
/// How long a command may run when `timeout` is not given, in seconds.
pub const DEFAULT_TIMEOUT: u64 = 30;
/// The most arguments a command takes.
const MAX_ARGS: usize = 1024;
/// The most bytes the arguments take together (quoted, the line stays far below the 128 KiB
/// Linux allows one argument of the node's shell).
const MAX_COMMAND: usize = 16 * 1024;
/// How much of each output a timeout's error shows.
const TIMEOUT_OUTPUT: usize = 2 * 1024;

/// The methods `proxmox_lxc_exec` calls: the container's current status.
pub fn endpoints() -> Vec<&'static Endpoint> {
    vec![ep(
        HttpMethod::Get,
        "/nodes/{node}/lxc/{vmid}/status/current",
    )]
}

/// The method whose privileges running a command takes: the container's console.
pub fn console() -> &'static Endpoint {
    ep(HttpMethod::Post, "/nodes/{node}/lxc/{vmid}/termproxy")
}

/// The error when the server has no SSH settings.
fn not_set_up(cluster: &Cluster) -> String {
    format!(
        "LXC exec over SSH is not set up for server `{}`. PVE has no API method to run a \
         command in a container, so proxmox_lxc_exec runs `pct exec` on the container's node \
         over SSH, and only when an operator sets it up: ssh_key (the private key file) and \
         ssh_host_key (the node's public host key, pinned) for the server in the configuration \
         file, or PROXMOX_SSH_KEY and PROXMOX_SSH_HOST_KEY for the default server (optional: \
         ssh_user, ssh_port, ssh_host, ssh_pct / PROXMOX_SSH_USER, PROXMOX_SSH_PORT, \
         PROXMOX_SSH_HOST, PROXMOX_SSH_PCT), then restarts the MCP server; see the README's \
         \"LXC exec over SSH\". Nothing was run. Without it, proxmox_guest_config and \
         proxmox_guest_status show a container's state.",
        cluster.name
    )
}

/// `command`: the program and its arguments, each a string; nothing a person could misread in
/// the confirmation (control characters other than tab and new line, direction overrides).
fn command(args: &Map<String, Value>) -> Result<Vec<String>, String> {
    let list = match args.get("command") {
        Some(Value::Array(list)) => list,
        Some(Value::String(_)) => {
            return Err(
                "`command` is a list: the program, then each argument, such as [\"df\", \"-h\"]; \
                 for a shell line use [\"sh\", \"-c\", \"LINE\"]. Nothing was run."
                    .to_string(),
            );
        }
        _ => return Err("`command` is required: a list such as [\"df\", \"-h\"]".to_string()),
    };
    if list.is_empty() || list.len() > MAX_ARGS {
        return Err(format!(
            "`command` takes the program and up to {} arguments; got {} items. Nothing was run.",
            MAX_ARGS - 1,
            list.len()
        ));
    }
    let mut argv = Vec::with_capacity(list.len());
    let mut bytes = 0;
    for (i, a) in list.iter().enumerate() {
        let a = match a {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(format!(
                    "`command[{i}]` is not a string: give every argument as text. Nothing was run."
                ));
            }
        };
        if let Some(c) = a.chars().find(|&c| misleading(c)) {
            return Err(format!(
                "`command[{i}]` holds the control character U+{:04X}, which is refused (tab and \
                 new line are allowed). Nothing was run.",
                c as u32
            ));
        }
        bytes += a.len();
        argv.push(a);
    }
    if argv[0].is_empty() {
        return Err("`command[0]`, the program, is empty. Nothing was run.".to_string());
    }
    if bytes > MAX_COMMAND {
        return Err(format!(
            "`command` is {bytes} bytes, more than {MAX_COMMAND}: put a long script in a file in \
             the container and run that. Nothing was run."
        ));
    }
    Ok(argv)
}

/// A character that could hide or disguise part of a command shown to the person.
fn misleading(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` as one word of a POSIX shell line: in single quotes, each `'` written `'\''`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The line the node's shell runs: `PCT exec VMID -- ARGS...`, every argument quoted. `pct` may
/// be several words (`sudo -n /usr/sbin/pct`).
fn remote_line(pct: &str, vmid: u64, argv: &[String]) -> String {
    let mut words: Vec<String> = pct.split_whitespace().map(quote).collect();
    words.extend(["exec".to_string(), vmid.to_string(), "--".to_string()]);
    words.extend(argv.iter().map(|a| quote(a)));
    words.join(" ")
}

/// `proxmox_lxc_exec`: runs `command` in container `vmid` with `pct exec` on its node over SSH,
/// waits up to `timeout` seconds, returns the exit code and the output (each cut at 16 KiB).
pub async fn exec(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let cluster = call.cluster;
    let Some(settings) = cluster.ssh.as_ref() else {
        return Err(not_set_up(cluster));
    };
    let vmid = input::vmid(&mut args)?;
    let argv = command(&args)?;
    let timeout = uint(&args, "timeout")
        .unwrap_or(DEFAULT_TIMEOUT)
        .clamp(1, MAX_TIMEOUT);
    let client = &cluster.client;
    let at = cluster.guests.locate(client, vmid, None, None).await?;
    if at.kind != "lxc" {
        return Err(format!(
            "{vmid} is a VM, and pct exec runs commands in containers: use proxmox_agent_exec \
             (the QEMU guest agent) for a VM. Nothing was run."
        ));
    }
    let id = vmid.to_string();
    let status = client
        .execute(call.tool.endpoints[0], &[&at.node, &id], Form::new())
        .await
        .map_err(|e| explain(&e, client))?;
    let state = status["status"].as_str().unwrap_or("unknown");
    if state != "running" {
        return Err(format!(
            "container {vmid} is {state}, and a command runs only in a running container: start \
             it with proxmox_guest_start, then call proxmox_lxc_exec again. Nothing was run."
        ));
    }
    let host = settings.host.for_node(&at.node)?;
    let remote = remote_line(&settings.pct, vmid, &argv);
    let target = cluster.guests.label(vmid, &at);
    call.target = Some(target.clone());
    let path = format!("/nodes/{}/lxc/{vmid}", at.node);
    let attempt = Attempt {
        method: "SSH pct exec",
        path: &path,
    };
    let login = format!("{}@{host}:{}", settings.user, settings.port);
    let shown = serde_json::to_string(&argv).unwrap_or_default();
    let question = format!(
        "Run a command inside {target} as {} over SSH (pct exec on node {}): it can change \
         anything there. Command: {shown}.",
        settings.user, at.node
    );
    let mut vars = Map::new();
    vars.insert("node".into(), json!(at.node));
    vars.insert("vmid".into(), json!(id));
    let preview = json!({"would_run": {"ssh": login, "node": at.node, "line": remote,
                                       "timeout": timeout}});
    let what = format!("SSH\n{login}\n{remote}");
    if let Some(dry) = gate(call, &attempt, console(), &vars, &question, &what, preview).await? {
        return Ok(dry);
    }
    let node = Node {
        name: &at.node,
        host: &host,
    };
    let ran = ssh::run(
        settings,
        &node,
        &remote,
        Duration::from_secs(timeout),
        MAX_OUTPUT,
        call.ctx.ct.cancelled(),
    )
    .await;
    match ran {
        Ok(r) => {
            done(call, &attempt, &json!({"exitcode": r.code}).to_string());
            let mut out = json!({
                "vmid": vmid,
                "node": at.node,
                "exitcode": r.code,
                "stdout": cut(&r.stdout.head, r.stdout.total),
                "stderr": cut(&r.stderr.head, r.stderr.total),
            });
            if r.code.is_none() {
                out["note"] = json!("ssh ended without an exit code (killed by a signal)");
            }
            let stderr = String::from_utf8_lossy(&r.stderr.head);
            if r.code == Some(127) && stderr.contains("pct") && stderr.contains("not found") {
                out["note"] = json!(format!(
                    "`{}` was not found on node {}: an operator sets ssh_pct to its path",
                    settings.pct, at.node
                ));
            }
            Ok(out)
        }
        Err(failure) => {
            let text = match failure {
                Failure::Ssh(text) => text,
                Failure::Cancelled => format!(
                    "the client cancelled the call: the SSH connection was closed; the command \
                     may still run in {target}."
                ),
                Failure::TimedOut { stdout, stderr } => {
                    let part = |c: &ssh::Captured| cut_at(&c.head, c.total, TIMEOUT_OUTPUT);
                    format!(
                        "the command did not end within {timeout} s, so its SSH connection was \
                         killed; pct exec may leave it running in {target}. Give a longer \
                         `timeout` (at most {MAX_TIMEOUT}), or start it in the background \
                         ([\"sh\", \"-c\", \"nohup COMMAND >/tmp/out 2>&1 &\"]) and read the \
                         file later. Output until then: stdout {:?}, stderr {:?}",
                        part(&stdout),
                        part(&stderr)
                    )
                }
            };
            done(call, &attempt, &text);
            Err(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_argument_is_quoted_for_the_nodes_shell() {
        let argv: Vec<String> = ["printf", "%s|", "a b", "it's", "$HOME", "$(id)", "`id`", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            remote_line("pct", 200, &argv),
            r#"'pct' exec 200 -- 'printf' '%s|' 'a b' 'it'\''s' '$HOME' '$(id)' '`id`' ''"#
        );
        assert_eq!(
            remote_line("sudo -n /usr/sbin/pct", 200, &argv[..1]),
            "'sudo' '-n' '/usr/sbin/pct' exec 200 -- 'printf'"
        );
    }

    #[test]
    fn commands_are_lists_without_misleading_characters() {
        let args = |v: Value| json!({ "command": v }).as_object().unwrap().clone();
        assert_eq!(
            command(&args(json!(["sh", "-c", "a\n\tb"]))).unwrap(),
            ["sh", "-c", "a\n\tb"]
        );
        for bad in [
            json!("df -h"),
            json!([]),
            json!([""]),
            json!(["echo", "a\u{0}b"]),
            json!(["echo", "a\rb"]),
            json!(["echo", "\u{1b}[2K"]),
            json!(["echo", "a\u{202e}b"]),
            json!(["echo", {"x": 1}]),
            json!(["x".repeat(MAX_COMMAND + 1)]),
        ] {
            assert!(command(&args(bad.clone())).is_err(), "{bad}");
        }
    }
}
