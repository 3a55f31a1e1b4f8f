//! `proxmox_lxc_exec` against a real OpenSSH server on loopback: each test starts its own
//! `/usr/sbin/sshd` (installed by `.ci/setup-sshd.sh`) with its own host key, client key and a
//! fake `pct` that runs `pct exec VMID -- ARGS...` as ARGS, so quoting, exit codes, output
//! limits, timeouts and the pinned host key are all real. fakepve supplies the containers.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::FakePve;
use mcp::{Answer, Mcp};
use serde_json::{Value, json};

const SSHD: &str = "/usr/sbin/sshd";
static N: AtomicU32 = AtomicU32::new(0);

/// A running sshd with its keys and the fake pct, in a directory of its own.
struct Sshd {
    child: Child,
    dir: PathBuf,
    host: String,
    port: u16,
    user: String,
    /// The server's public host key line.
    host_key: String,
    /// Another host key, not the server's.
    other_host_key: String,
    /// The client key whose public half is authorized.
    client_key: PathBuf,
    /// A client key that is not authorized.
    stranger_key: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn keygen(path: &Path) -> String {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs (OpenSSH is installed by .ci/setup-sshd.sh)");
    assert!(st.success());
    std::fs::read_to_string(path.with_extension("pub")).unwrap()
}

impl Sshd {
    fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: the LXC exec tests need a real OpenSSH server on loopback. Run \
             `.ci/setup-sshd.sh` (it installs openssh-server) and test again."
        );
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("proxmox-mcp-sshd-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let host_key = keygen(&dir.join("host_key"));
        let other_host_key = keygen(&dir.join("other_host_key"));
        let client_pub = keygen(&dir.join("client_key"));
        keygen(&dir.join("stranger_key"));
        std::fs::write(dir.join("authorized_keys"), client_pub).unwrap();
        // The fake pct: `pct exec VMID -- ARGS...` runs ARGS, after noting that it ran.
        let pct = dir.join("pct");
        std::fs::write(
            &pct,
            format!(
                "#!/bin/sh\n\
                 if [ \"$1\" != exec ] || [ \"$3\" != -- ]; then\n\
                 \x20 echo \"fake pct: usage: pct exec VMID -- ARGS...\" >&2; exit 2\n\
                 fi\n\
                 echo \"$2\" >> '{}'\n\
                 shift 3\n\
                 exec \"$@\"\n",
                dir.join("ran").display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pct, std::fs::Permissions::from_mode(0o755)).unwrap();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let host = format!("127.0.0.{}", 2 + (std::process::id() + n * 7) % 250);
        let port = std::net::TcpListener::bind((host.as_str(), 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress {host}:{port}\n\
                 HostKey {d}/host_key\n\
                 AuthorizedKeysFile {d}/authorized_keys\n\
                 PidFile {d}/sshd.pid\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n\
                 LogLevel ERROR\n",
                d = dir.display()
            ),
        )
        .unwrap();
        // sshd running as root wants its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        let mut child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((host.as_str(), port)).is_err() {
            if let Ok(Some(st)) = child.try_wait() {
                panic!(
                    "sshd exited ({st}): {}",
                    std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "sshd does not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sshd {
            child,
            host,
            port,
            user,
            host_key,
            other_host_key,
            client_key: dir.join("client_key"),
            stranger_key: dir.join("stranger_key"),
            dir,
        }
    }

    /// The variables that point the MCP server at this sshd for node pve1.
    fn vars(&self) -> Vec<(String, String)> {
        [
            ("PROXMOX_SSH_KEY", self.client_key.display().to_string()),
            ("PROXMOX_SSH_HOST_KEY", self.host_key.clone()),
            ("PROXMOX_SSH_USER", self.user.clone()),
            ("PROXMOX_SSH_PORT", self.port.to_string()),
            ("PROXMOX_SSH_HOST", format!("pve1={}", self.host)),
            (
                "PROXMOX_SSH_PCT",
                self.dir.join("pct").display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The VMIDs the fake pct was run for, in order.
    fn ran(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("ran"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The lines of the client's private key file that hold the key itself.
    fn secret_lines(&self, key: &Path) -> Vec<String> {
        std::fs::read_to_string(key)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::to_string)
            .collect()
    }
}

/// A server for `pve` as alice, pointed at `sshd`, with these variables replaced or added.
async fn server(
    pve: &FakePve,
    sshd: &Sshd,
    over: &[(&str, &str)],
    args: &[&str],
    answer: Answer,
) -> Mcp {
    let mut vars = mcp::env(pve);
    vars.extend(sshd.vars());
    for (k, v) in over {
        vars.retain(|(name, _)| name != k);
        if !v.is_empty() {
            vars.push((k.to_string(), v.to_string()));
        }
    }
    let mut all = vec!["--toolsets", "agent"];
    all.extend_from_slice(args);
    Mcp::start_answering(&vars, &all, answer).await
}

const ELEVATED: (&str, &str) = ("PROXMOX_ALLOW_ELEVATED", "true");

#[tokio::test]
async fn a_command_runs_in_a_container_with_its_exit_code_and_output() {
    let started = Instant::now();
    let (pve, sshd) = (FakePve::start().await, Sshd::start());
    let audit = sshd.dir.join("audit.jsonl");
    let audit_arg = audit.display().to_string();
    let s = server(
        &pve,
        &sshd,
        &[ELEVATED],
        &["--audit-log", &audit_arg],
        Answer::Accept,
    )
    .await;
    let mut texts = Vec::new();

    // Exit code, stdout and stderr of a real command, kept apart.
    let r = s
        .ok(
            "proxmox_lxc_exec",
            json!({"vmid": 200, "command": ["sh", "-c", "echo out; echo err >&2; exit 3"]}),
        )
        .await;
    assert_eq!(r["exitcode"], 3, "{r}");
    assert_eq!(r["stdout"], "out\n", "{r}");
    assert_eq!(r["stderr"], "err\n", "{r}");
    assert_eq!(r["node"], "pve1", "{r}");
    assert_eq!(sshd.ran(), ["200"]);
    texts.push(r.to_string());
    // The person was asked, with the exact command.
    let asked = s.asked();
    assert!(
        asked
            .iter()
            .any(|q| q.contains("container 200 \"dns\" on pve1")
                && q.contains(r#"["sh","-c","echo out; echo err >&2; exit 3"]"#)),
        "{asked:?}"
    );

    // Every argument arrives as it was given: spaces, quotes, `$HOME`, `$(...)`, a new line.
    let words = [
        "a b",
        "it's",
        "\"q\"",
        "$HOME",
        "$(touch /tmp/x)",
        "`id`",
        "back\\slash",
        "two\nlines",
        "",
        "*",
    ];
    let mut command = vec!["printf", "[%s]"];
    command.extend(words);
    let r = s
        .ok("proxmox_lxc_exec", json!({"vmid": 200, "command": command}))
        .await;
    let expected: String = words.iter().map(|w| format!("[{w}]")).collect();
    assert_eq!(r["stdout"], expected, "{r}");
    assert_eq!(r["exitcode"], 0, "{r}");

    // 255 from the command is the command's, not an ssh failure.
    let r = s
        .ok(
            "proxmox_lxc_exec",
            json!({"vmid": 200, "command": ["sh", "-c", "exit 255"]}),
        )
        .await;
    assert_eq!(r["exitcode"], 255, "{r}");

    // Output beyond 16 KiB is cut, with a marker saying how much is not shown.
    let r = s
        .ok(
            "proxmox_lxc_exec",
            json!({"vmid": 200, "command": ["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"]}),
        )
        .await;
    let out = r["stdout"].as_str().unwrap();
    assert!(out.starts_with(&"x".repeat(16 * 1024)), "{}", out.len());
    assert!(
        out.ends_with(&format!(
            "… [{} more bytes not shown: redirect the output to a file in the guest]",
            100_000 - 16 * 1024
        )),
        "{}",
        &out[16 * 1024..]
    );

    // A command that does not end in time has its connection killed, and says so.
    let t0 = Instant::now();
    let e = s
        .err(
            "proxmox_lxc_exec",
            json!({"vmid": 200, "command": ["sh", "-c", "echo started; exec sleep 4"], "timeout": 1}),
        )
        .await;
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    assert!(
        e.contains("did not end within 1 s") && e.contains("started"),
        "{e}"
    );
    texts.push(e);

    // A dry run runs nothing and shows the line the node would run.
    let before = sshd.ran().len();
    let r = s
        .ok(
            "proxmox_lxc_exec",
            json!({"vmid": 200, "command": ["rm", "-rf", "/srv/it's"], "dry_run": true}),
        )
        .await;
    assert_eq!(r["dry_run"], true, "{r}");
    let line = r["would_run"]["line"].as_str().unwrap();
    assert!(
        line.ends_with(r#"' exec 200 -- 'rm' '-rf' '/srv/it'\''s'"#),
        "{line}"
    );
    assert_eq!(
        r["would_run"]["ssh"],
        format!("{}@{}:{}", sshd.user, sshd.host, sshd.port)
    );
    // A VM, a stopped container, a control character: refused before SSH.
    let e = s
        .err(
            "proxmox_lxc_exec",
            json!({"vmid": 100, "command": ["true"]}),
        )
        .await;
    assert!(
        e.contains("is a VM") && e.contains("proxmox_agent_exec"),
        "{e}"
    );
    let e = s
        .err(
            "proxmox_lxc_exec",
            json!({"vmid": 201, "command": ["true"]}),
        )
        .await;
    assert!(
        e.contains("container 201 is stopped") && e.contains("proxmox_guest_start"),
        "{e}"
    );
    let e = s
        .err(
            "proxmox_lxc_exec",
            json!({"vmid": 200, "command": ["echo", "a\u{1b}[2Kb"]}),
        )
        .await;
    assert!(e.contains("U+001B"), "{e}");
    let e = s
        .err("proxmox_lxc_exec", json!({"vmid": 200, "command": "df -h"}))
        .await;
    assert!(e.contains("is a list"), "{e}");
    assert_eq!(sshd.ran().len(), before, "something ran");

    // The audit log has every attempt with its command; the key is in no text.
    let log = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first = &lines[0];
    assert_eq!(first["tool"], "proxmox_lxc_exec", "{first}");
    assert_eq!(first["decision"], "sent", "{first}");
    assert_eq!(first["method"], "SSH pct exec", "{first}");
    assert_eq!(first["path"], "/nodes/pve1/lxc/200", "{first}");
    assert_eq!(
        first["args"]["command"],
        json!(["sh", "-c", "echo out; echo err >&2; exit 3"])
    );
    assert_eq!(lines[1]["decision"], "answered", "{}", lines[1]);
    assert!(
        lines[1]["answer"].as_str().unwrap().contains("3"),
        "{}",
        lines[1]
    );
    assert!(
        lines.iter().any(|l| l["decision"] == "dry-run"),
        "{lines:#?}"
    );
    texts.push(log);
    texts.push(s.stderr());
    for secret in sshd.secret_lines(&sshd.client_key) {
        for t in &texts {
            assert!(!t.contains(&secret), "the key leaked: {t}");
        }
    }
    eprintln!("a command runs ...: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_host_key_other_than_the_pinned_one_or_an_unknown_key_runs_nothing() {
    let started = Instant::now();
    let (pve, sshd) = (FakePve::start().await, Sshd::start());
    // The node presents its own key; another one is pinned.
    let s = server(
        &pve,
        &sshd,
        &[ELEVATED, ("PROXMOX_SSH_HOST_KEY", &sshd.other_host_key)],
        &[],
        Answer::Accept,
    )
    .await;
    let e = s
        .err(
            "proxmox_lxc_exec",
            json!({"vmid": 200, "command": ["true"]}),
        )
        .await;
    let offered = String::from_utf8(
        Command::new("ssh-keygen")
            .arg("-lf")
            .arg(sshd.dir.join("host_key.pub"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let offered = offered.split_whitespace().nth(1).unwrap().to_string();
    assert!(
        e.contains("does not match the pinned ssh_host_key")
            && e.contains(&format!("it offered {offered}"))
            && e.contains(&format!("ssh-keyscan -p {} {}", sshd.port, sshd.host))
            && e.contains("Nothing was run"),
        "{e}"
    );
    assert!(sshd.ran().is_empty(), "the command ran");
    // A key the node does not know.
    let stranger = sshd.stranger_key.display().to_string();
    let s = server(
        &pve,
        &sshd,
        &[ELEVATED, ("PROXMOX_SSH_KEY", &stranger)],
        &[],
        Answer::Accept,
    )
    .await;
    let e = s
        .err(
            "proxmox_lxc_exec",
            json!({"vmid": 200, "command": ["true"]}),
        )
        .await;
    assert!(
        e.contains("refused the SSH key") && e.contains("authorized_keys"),
        "{e}"
    );
    for secret in sshd.secret_lines(&sshd.stranger_key) {
        assert!(!e.contains(&secret), "the key leaked: {e}");
    }
    assert!(sshd.ran().is_empty(), "the command ran");
    eprintln!("host key ...: {:?}", started.elapsed());
}

#[tokio::test]
async fn unelevated_declined_or_not_set_up_runs_nothing() {
    let started = Instant::now();
    let (pve, sshd) = (FakePve::start().await, Sshd::start());
    let run = json!({"vmid": 200, "command": ["touch", "/tmp/never"]});
    // Not in the default tools.
    let default = Mcp::alice(&pve, &[], &[]).await;
    assert!(
        !default
            .tools()
            .await
            .iter()
            .any(|t| t.name == "proxmox_lxc_exec")
    );
    drop(default);
    // Without elevation: refused before anything.
    let s = server(&pve, &sshd, &[], &[], Answer::Accept).await;
    let tool = s
        .tools()
        .await
        .into_iter()
        .find(|t| t.name == "proxmox_lxc_exec")
        .expect("listed in the agent toolset");
    let hints = tool.annotations.unwrap();
    assert_eq!(hints.read_only_hint, Some(false));
    assert_eq!(hints.destructive_hint, Some(true));
    assert!(
        tool.description
            .as_deref()
            .unwrap()
            .contains("VM.Console on /vms/{vmid}"),
        "{:?}",
        tool.description
    );
    let e = s.err("proxmox_lxc_exec", run.clone()).await;
    assert!(
        e.contains("does not allow writes") && e.contains("PROXMOX_ALLOW_ELEVATED"),
        "{e}"
    );
    // The person says no.
    let s = server(&pve, &sshd, &[ELEVATED], &[], Answer::Decline).await;
    let e = s.err("proxmox_lxc_exec", run.clone()).await;
    assert!(e.contains("did not confirm"), "{e}");
    // Credentials without VM.Console on the container (what its console takes) are refused.
    let s = server(&pve, &sshd, &[ELEVATED], &[], Answer::Accept).await;
    pve.control(
        json!({"op": "script", "method": "GET", "path": "/access/permissions",
               "json": {"/vms/200": {"VM.Audit": 1}}, "times": 1}),
    )
    .await;
    let e = s.err("proxmox_lxc_exec", run.clone()).await;
    assert!(e.contains("VM.Console"), "{e}");
    // A server that is read-only does not even list it.
    let s = server(
        &pve,
        &sshd,
        &[("PROXMOX_READ_ONLY", "true")],
        &[],
        Answer::Accept,
    )
    .await;
    assert!(!s.tools().await.iter().any(|t| t.name == "proxmox_lxc_exec"));
    assert!(sshd.ran().is_empty(), "the command ran");
    // Not set up: the error names the settings and the README section.
    let mut vars = mcp::env(&pve);
    vars.push((ELEVATED.0.into(), ELEVATED.1.into()));
    let s = Mcp::start(&vars, &["--toolsets", "agent"]).await;
    let e = s.err("proxmox_lxc_exec", run.clone()).await;
    for name in [
        "ssh_key",
        "ssh_host_key",
        "PROXMOX_SSH_KEY",
        "PROXMOX_SSH_HOST_KEY",
        "LXC exec over SSH",
    ] {
        assert!(e.contains(name), "{name}: {e}");
    }
    eprintln!("unelevated ...: {:?}", started.elapsed());
}
