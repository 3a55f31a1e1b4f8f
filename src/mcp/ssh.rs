//! One command run on a node over SSH with the system's OpenSSH client, for `proxmox_lxc_exec`.
//!
//! Nothing of the user's SSH setup takes part: no configuration file (`-F /dev/null`), no agent,
//! no known hosts but a private file holding only the pinned host keys, checked strictly (a key
//! is never trusted on first use). ssh's own messages go to a log file of their own (`-E`), so
//! they are told apart from the command's stderr, and `Authenticated to` in it tells whether the
//! command ran at all: an exit code 255 without it is ssh failing, with it the command's own.
//! Output is read bounded; a command that does not end in time has its connection killed.

use std::future::Future;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::config::Ssh;

/// The name the pinned keys are filed under in the private known-hosts file (`HostKeyAlias`),
/// whatever address and port the node is reached at.
const ALIAS: &str = "proxmox-mcp-pinned-node";
/// How much of ssh's own log is read.
const MAX_LOG: usize = 16 * 1024;

/// Bytes read from a pipe: the first ones, and how many there were in all.
#[derive(Debug, Default)]
pub struct Captured {
    /// At most the limit given to [`run`].
    pub head: Vec<u8>,
    /// Every byte read, kept or not.
    pub total: usize,
}

/// A command that ran (ssh authenticated and the command ended).
#[derive(Debug)]
pub struct Ran {
    /// Its exit code (`None`: ssh was ended by a signal).
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: Captured,
    /// Its standard error.
    pub stderr: Captured,
}

/// Why there is no exit code.
#[derive(Debug)]
pub enum Failure {
    /// ssh itself failed (connection, authentication, host key, the key file): the text says
    /// which and what to do; the command did not run, unless the text says the connection
    /// dropped while it ran.
    Ssh(String),
    /// The command did not end in time; ssh was killed.
    TimedOut {
        /// What it wrote to stdout until then.
        stdout: Captured,
        /// What it wrote to stderr until then.
        stderr: Captured,
    },
    /// The client cancelled the call; ssh was killed.
    Cancelled,
}

/// Where a command goes: a node and its address.
pub struct Node<'a> {
    /// The node's name in PVE.
    pub name: &'a str,
    /// Its address for SSH.
    pub host: &'a str,
}

/// Runs `remote` (one line for the node's shell) on `node`, keeping `max` bytes of each output,
/// for at most `timeout`, or until `cancelled` completes.
pub async fn run(
    ssh: &Ssh,
    node: &Node<'_>,
    remote: &str,
    timeout: Duration,
    max: usize,
    cancelled: impl Future<Output = ()>,
) -> Result<Ran, Failure> {
    check_key(&ssh.key).map_err(|e| Failure::Ssh(format!("{e}. Nothing was run.")))?;
    let dir = Scratch::new().map_err(|e| {
        Failure::Ssh(format!(
            "cannot write the pinned host keys to a private file in {} ({e}); nothing was run",
            std::env::temp_dir().display()
        ))
    })?;
    let known_hosts = dir.path.join("known_hosts");
    let log = dir.path.join("ssh.log");
    let mut lines = String::new();
    for k in &ssh.host_keys {
        lines.push_str(&format!("{ALIAS} {} {}\n", k.kind, k.base64));
    }
    write_private(&known_hosts, &lines).map_err(|e| {
        Failure::Ssh(format!(
            "cannot write the pinned host keys to {} ({e}); nothing was run",
            known_hosts.display()
        ))
    })?;
    let mut cmd = tokio::process::Command::new(program());
    for option in [
        "BatchMode=yes".to_string(),
        "StrictHostKeyChecking=yes".into(),
        format!("UserKnownHostsFile={}", known_hosts.display()),
        "GlobalKnownHostsFile=/dev/null".into(),
        format!("HostKeyAlias={ALIAS}"),
        "CheckHostIP=no".into(),
        "UpdateHostKeys=no".into(),
        "IdentitiesOnly=yes".into(),
        "IdentityAgent=none".into(),
        "PreferredAuthentications=publickey".into(),
        "PasswordAuthentication=no".into(),
        "KbdInteractiveAuthentication=no".into(),
        "ForwardAgent=no".into(),
        "ForwardX11=no".into(),
        "ClearAllForwardings=yes".into(),
        "PermitLocalCommand=no".into(),
        "ControlMaster=no".into(),
        "ControlPath=none".into(),
        "RequestTTY=no".into(),
        "ConnectTimeout=10".into(),
        "ServerAliveInterval=15".into(),
        "ServerAliveCountMax=3".into(),
        // `Authenticated to` is logged at VERBOSE.
        "LogLevel=VERBOSE".into(),
    ] {
        cmd.arg("-o").arg(option);
    }
    cmd.arg("-F")
        .arg("/dev/null")
        .arg("-E")
        .arg(&log)
        .arg("-i")
        .arg(&ssh.key)
        .arg("-p")
        .arg(ssh.port.to_string())
        .arg("-l")
        .arg(&ssh.user)
        .arg("-T")
        .arg(node.host)
        .arg(remote)
        // The server's environment holds its secrets (PROXMOX_TOKEN...): ssh gets none of it.
        .env_clear()
        .envs(
            ["PATH", "HOME", "USER", "LOGNAME", "LANG"]
                .iter()
                .filter_map(|k| std::env::var_os(k).map(|v| (k, v))),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Failure::Ssh(format!(
            "cannot start the OpenSSH client `{}` ({e}): install it on the machine the MCP \
             server runs on (Debian: openssh-client); nothing was run",
            program().display()
        ))
    })?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (mut out, mut err) = (Captured::default(), Captured::default());
    let ended = {
        let work = async {
            let (_, _, status) = tokio::join!(
                drain(stdout, &mut out, max),
                drain(stderr, &mut err, max),
                child.wait()
            );
            status
        };
        tokio::select! {
            r = tokio::time::timeout(timeout, work) => r.ok(),
            () = cancelled => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(Failure::Cancelled);
            }
        }
    };
    let status = match ended {
        Some(Ok(status)) => status,
        Some(Err(e)) => return Err(Failure::Ssh(format!("waiting for ssh failed: {e}"))),
        None => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(Failure::TimedOut {
                stdout: out,
                stderr: err,
            });
        }
    };
    let log = read_head(&log, MAX_LOG);
    let code = status.code();
    if log.contains("Authenticated to") {
        // After the login, 255 is the command's own unless ssh says the connection broke.
        if code == Some(255) && dropped(&log) {
            return Err(Failure::Ssh(format!(
                "the SSH connection to node {} ({}) broke while the command ran ({}); it may \
                 have run in part. Check the container's state before running it again.",
                node.name,
                node.host,
                last_lines(&log)
            )));
        }
        return Ok(Ran {
            code,
            stdout: out,
            stderr: err,
        });
    }
    Err(Failure::Ssh(explain(ssh, node, &log, &err)))
}

/// The OpenSSH client: `ssh` on the PATH, else /usr/bin/ssh.
fn program() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("ssh"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from("/usr/bin/ssh"))
}

/// The key file can be used: it exists, is a file, and only its owner can read it (ssh ignores
/// it otherwise). Its contents are not read.
pub fn check_key(key: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(key).map_err(|e| {
        format!(
            "the SSH key {} (ssh_key) cannot be read ({e}): give the path of the private key \
             that logs in to the nodes",
            key.display()
        )
    })?;
    if !meta.is_file() {
        return Err(format!(
            "the SSH key {} (ssh_key) is not a file",
            key.display()
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "the SSH key {} (ssh_key) can be read by other users (mode {mode:o}), and ssh \
             refuses such a key: run `chmod 600 {}`",
            key.display(),
            key.display()
        ));
    }
    std::fs::File::open(key).map_err(|e| {
        format!(
            "the SSH key {} (ssh_key) cannot be opened by the MCP server's user ({e})",
            key.display()
        )
    })?;
    Ok(())
}

/// What went wrong before the command could run, and what to do.
fn explain(ssh: &Ssh, node: &Node<'_>, log: &str, stderr: &Captured) -> String {
    let at = format!("node {} ({}:{})", node.name, node.host, ssh.port);
    let pinned: Vec<String> = ssh
        .host_keys
        .iter()
        .map(|k| format!("{} {}", k.kind, k.fingerprint))
        .collect();
    if log.contains("Host key verification failed")
        || log.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || log.contains("host key is known")
    {
        let offered = offered_fingerprint(log)
            .map(|f| format!("it offered {f}, "))
            .unwrap_or_default();
        return format!(
            "the SSH host key of {at} does not match the pinned ssh_host_key ({offered}pinned: \
             {}). Nothing was run. Someone may be intercepting the connection, or the node's \
             key changed (a reinstall). Compare out of band: read the node's key on its console \
             (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) and what the network shows \
             (`ssh-keyscan -p {} {}`, then `ssh-keygen -lf` on it); only when the fingerprints \
             match, set ssh_host_key to the node's key and restart the MCP server.",
            pinned.join(", "),
            ssh.port,
            node.host
        );
    }
    if log.contains("Permission denied") {
        return format!(
            "{at} refused the SSH key {} for user {} (Permission denied). Nothing was run. Add \
             its public key to ~{}/.ssh/authorized_keys on the node, check ssh_user, and use a \
             key without a passphrase (the MCP server cannot type one).",
            ssh.key.display(),
            ssh.user,
            ssh.user
        );
    }
    if log.contains("Connection refused") {
        return format!(
            "{at} refused the SSH connection: no SSH server listens on port {}. Nothing was \
             run. Check ssh_host and ssh_port, and that sshd runs on the node.",
            ssh.port
        );
    }
    if log.contains("Could not resolve hostname") {
        return format!(
            "cannot resolve {} (the SSH address of node {}). Nothing was run. Set ssh_host to \
             the node's address (NODE=ADDRESS per node, or one address for all).",
            node.host, node.name
        );
    }
    if log.contains("timed out") || log.contains("No route to host") {
        return format!(
            "{at} does not answer on SSH ({}). Nothing was run. Check ssh_host, ssh_port and \
             the firewall between here and the node.",
            last_lines(log)
        );
    }
    if log.contains("Load key") || log.contains("invalid format") {
        return format!(
            "ssh cannot use the key {} (ssh_key): {}. Nothing was run. Give an OpenSSH private \
             key without a passphrase, readable only by the MCP server's user.",
            ssh.key.display(),
            last_lines(log)
        );
    }
    let said = if log.trim().is_empty() {
        String::from_utf8_lossy(&stderr.head[..stderr.head.len().min(500)]).into_owned()
    } else {
        last_lines(log)
    };
    format!(
        "ssh to {at} failed before the command ran: {}. Nothing was run.",
        said.trim()
    )
}

/// `The fingerprint for the ED25519 key sent by the remote host is\nSHA256:...`.
fn offered_fingerprint(log: &str) -> Option<String> {
    let after = log.split("sent by the remote host is").nth(1)?;
    let word = after.split_whitespace().next()?;
    Some(word.trim_end_matches('.').to_string())
}

/// ssh saying the connection broke after the login.
fn dropped(log: &str) -> bool {
    [
        "closed by remote host",
        "Broken pipe",
        "Timeout, server",
        "Connection reset",
        "client_loop: send disconnect",
    ]
    .iter()
    .any(|m| log.contains(m))
}

/// The last few lines ssh logged that say something, in one line, bounded.
fn last_lines(log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("Authenticated to")
                && !l.starts_with("Transferred:")
                && !l.starts_with("Bytes per second")
                && !l.starts_with('@')
        })
        .collect();
    let text = lines[lines.len().saturating_sub(3)..].join(" ");
    let mut end = text.len().min(500);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Reads a pipe to its end, keeping the first `max` bytes and counting the rest.
async fn drain<R: AsyncRead + Unpin>(pipe: Option<R>, into: &mut Captured, max: usize) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let mut buf = [0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                into.total += n;
                let room = max.saturating_sub(into.head.len()).min(n);
                into.head.extend_from_slice(&buf[..room]);
            }
        }
    }
}

/// The first `max` bytes of a file, as text (empty when it cannot be read).
fn read_head(path: &Path, max: usize) -> String {
    use std::io::Read as _;
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(max as u64).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Writes `text` to a new file only its owner can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// A private directory for one run (the pinned keys, ssh's log), removed afterwards.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let mut nonce = [0u8; 8];
        let _ = aws_lc_rs::rand::fill(&mut nonce);
        let name: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let path =
            std::env::temp_dir().join(format!("proxmox-mcp-ssh-{}-{name}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_logs_are_read() {
        let log = "@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                   The fingerprint for the ED25519 key sent by the remote host is\n\
                   SHA256:e2ZyhEoXXBfoCT+QVfSr+Akfm2zptiC83Tlt8ubh/Ms.\n\
                   Host key verification failed.\n";
        assert_eq!(
            offered_fingerprint(log).as_deref(),
            Some("SHA256:e2ZyhEoXXBfoCT+QVfSr+Akfm2zptiC83Tlt8ubh/Ms")
        );
        assert_eq!(
            last_lines("Authenticated to x\nssh: connect to host a port 22: Connection refused\n"),
            "ssh: connect to host a port 22: Connection refused"
        );
        assert!(dropped("Connection to 10.0.0.1 closed by remote host."));
        assert!(!dropped("Transferred: sent 1, received 2 bytes"));
    }
}
