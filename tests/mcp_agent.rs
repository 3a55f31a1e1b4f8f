//! The guest agent tools beyond info and exec (files, filesystems, power, passwords) and the
//! console tool, against fakepve: the exact requests they send, what their results say, and
//! that no password or console ticket reaches a result, the server's log or the audit log.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::FakePve;
use mcp::{Mcp, text};
use serde_json::{Value, json};

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pmcp-agent-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The pairs of a form body, percent-decoded.
fn form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

/// The requests fakepve got with this method and path (under /api2/json).
async fn sent(pve: &FakePve, method: &str, path: &str) -> Vec<Value> {
    let path = format!("/api2/json{path}");
    pve.requests()
        .await
        .into_iter()
        .filter(|q| q["method"] == method && q["path"] == path.as_str())
        .collect()
}

/// The POSTs, PUTs and DELETEs fakepve got.
async fn writes(pve: &FakePve) -> Vec<String> {
    pve.requests()
        .await
        .into_iter()
        .filter(|q| q["method"] != "GET")
        .map(|q| {
            format!(
                "{} {}",
                q["method"].as_str().unwrap(),
                q["path"].as_str().unwrap()
            )
        })
        .collect()
}

fn audit(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `proxmox_agent_info` covers time, vCPUs, memory blocks and the fsfreeze state; its two POSTs
/// (`ping`, `fsfreeze-status`) only read, so it works on a read-only server and writes no audit
/// line.
#[tokio::test]
async fn agent_info_reads_hardware_time_and_fsfreeze_also_on_a_read_only_server() {
    let pve = FakePve::start().await;
    let dir = scratch("info");
    let log = dir.join("audit.jsonl");
    let s = Mcp::alice(
        &pve,
        &[
            ("PROXMOX_READ_ONLY", "true"),
            ("PROXMOX_MCP_AUDIT_LOG", log.to_str().unwrap()),
        ],
        &["--toolsets", "agent"],
    )
    .await;
    let names: Vec<String> = s.tools().await.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(
        names,
        ["proxmox_agent_info", "proxmox_agent_file_read"],
        "read-only lists the agent's reads only"
    );
    let r = s.ok("proxmox_agent_info", json!({"vmid": 100})).await;
    assert_eq!(r["vcpus"], json!({"online": 2, "total": 2}), "{r}");
    assert_eq!(
        r["memory_blocks"],
        json!({"online": 1, "total": 1, "block_size_bytes": 134217728}),
        "{r}"
    );
    assert_eq!(r["fsfreeze"], "thawed", "{r}");
    let time = r["time"].as_str().unwrap();
    assert!(time.len() == 20 && time.ends_with('Z'), "{r}");
    assert!(r.get("unavailable").is_none(), "{r}");
    assert_eq!(
        writes(&pve).await,
        [
            "POST /api2/json/nodes/pve1/qemu/100/agent/ping",
            "POST /api2/json/nodes/pve1/qemu/100/agent/fsfreeze-status"
        ]
    );
    for c in [
        "get-time",
        "get-vcpus",
        "get-memory-blocks",
        "get-memory-block-info",
    ] {
        let path = format!("/nodes/pve1/qemu/100/agent/{c}");
        assert_eq!(sent(&pve, "GET", &path).await.len(), 1, "{c}");
    }
    // An agent that does not answer: the ping says so, and nothing else is asked.
    pve.clear_requests().await;
    let e = s.err("proxmox_agent_info", json!({"vmid": 101})).await;
    assert!(e.contains("qemu-guest-agent"), "{e}");
    assert_eq!(pve.requests().await.len(), 1, "only the ping");
    let e = s
        .err(
            "proxmox_agent_file_read",
            json!({"vmid": 200, "file": "/etc/hostname"}),
        )
        .await;
    assert!(e.contains("container"), "{e}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !audit(&log).contains("proxmox_agent_info"),
        "{}",
        audit(&log)
    );
}

/// Files: read back as PVE's base64 decoded by the tool (text as text, bytes as base64, the
/// rest marked with the offset to read on from); written as base64 exactly once (`encode=0`),
/// after the person confirmed, with the content's size and digest in the audit log.
#[tokio::test]
async fn agent_files_are_read_and_written_byte_for_byte() {
    let pve = FakePve::start().await;
    // fakepve answers a file's text as stored, whatever `decode` says; PVE, asked with
    // decode=0 as the tool asks, answers base64: so the guest holds what PVE would send.
    pve.control(json!({"op": "set_vm", "vmid": 100, "agent": {"files": {
        "/etc/motd": "aMOpbGxvCndvcmxkCg==",
        "/bin/blob": "AP8B",
        "/etc/broken": "not base64!"
    }}}))
    .await;
    let dir = scratch("files");
    let log = dir.join("audit.jsonl");
    let s = Mcp::alice(
        &pve,
        &[
            ("PROXMOX_ALLOW_ELEVATED", "true"),
            ("PROXMOX_MCP_AUDIT_LOG", log.to_str().unwrap()),
        ],
        &["--toolsets", "agent"],
    )
    .await;
    let r = s
        .ok(
            "proxmox_agent_file_read",
            json!({"vmid": 100, "file": "/etc/motd"}),
        )
        .await;
    assert_eq!(r["content"], "héllo\nworld\n", "{r}");
    assert_eq!(r["bytes"], 13, "{r}");
    assert!(
        r.get("encoding").is_none() && r.get("truncated").is_none(),
        "{r}"
    );
    let q = &sent(&pve, "GET", "/nodes/pve1/qemu/100/agent/file-read").await[0];
    let query: Vec<(String, String)> = serde_json::from_value(q["query"].clone()).unwrap();
    for want in [("file", "/etc/motd"), ("decode", "0"), ("count", "65536")] {
        assert!(query.contains(&(want.0.into(), want.1.into())), "{query:?}");
    }
    let r = s
        .ok(
            "proxmox_agent_file_read",
            json!({"vmid": 100, "file": "/bin/blob"}),
        )
        .await;
    assert_eq!(
        (&r["content"], &r["encoding"]),
        (&json!("AP8B"), &json!("base64")),
        "{r}"
    );
    let e = s
        .err(
            "proxmox_agent_file_read",
            json!({"vmid": 100, "file": "/etc/broken"}),
        )
        .await;
    assert!(
        e.contains("not base64") && e.contains("proxmox_agent_exec"),
        "{e}"
    );
    // A read that did not reach the end says where to go on.
    pve.control(json!({"op": "script", "method": "GET",
                       "path": "/nodes/pve1/qemu/100/agent/file-read",
                       "json": {"content": "YWJj", "bytes-read": 3, "truncated": 1}, "times": 1}))
        .await;
    let r = s
        .ok(
            "proxmox_agent_file_read",
            json!({"vmid": 100, "file": "/var/log/big", "offset": 10}),
        )
        .await;
    assert_eq!(
        (&r["content"], &r["truncated"], &r["next_offset"]),
        (&json!("abc"), &json!(true), &json!(13)),
        "{r}"
    );

    // Writing: the text once encoded, encode=0.
    pve.clear_requests().await;
    let text_written = "line1\nline2 ü\nFile-Canary-77\n";
    let r = s
        .ok(
            "proxmox_agent_file_write",
            json!({"vmid": 100, "file": "/etc/app.conf", "content": text_written}),
        )
        .await;
    assert_eq!(r["bytes"], text_written.len(), "{r}");
    let q = sent(&pve, "POST", "/nodes/pve1/qemu/100/agent/file-write").await;
    assert_eq!(q.len(), 1);
    let f = form(q[0]["body"].as_str().unwrap());
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("file"), Some("/etc/app.conf"));
    assert_eq!(get("encode"), Some("0"));
    assert_eq!(
        get("content"),
        Some("bGluZTEKbGluZTIgw7wKRmlsZS1DYW5hcnktNzcK"),
        "{f:?}"
    );
    let asked = s.asked();
    assert!(
        asked.iter().any(
            |q| q.contains("Write the file `/etc/app.conf` in VM 100 \"web\"")
                && q.contains(&format!("({} bytes)", text_written.len()))
                && !q.contains("bGluZTEK")
        ),
        "{asked:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a = audit(&log);
    assert!(
        a.contains("proxmox_agent_file_write") && a.contains("sha256"),
        "{a}"
    );
    assert!(
        !a.contains("File-Canary-77"),
        "the file's text is in the audit log: {a}"
    );

    // Too big for PVE, or a container: nothing is sent.
    pve.clear_requests().await;
    let e = s
        .err(
            "proxmox_agent_file_write",
            json!({"vmid": 100, "file": "/tmp/x", "content": "x".repeat(46_081)}),
        )
        .await;
    assert!(e.contains("46080") && e.contains("Nothing was sent"), "{e}");
    let e = s
        .err(
            "proxmox_agent_file_write",
            json!({"vmid": 200, "file": "/tmp/x", "content": "x"}),
        )
        .await;
    assert!(e.contains("container"), "{e}");
    assert!(writes(&pve).await.is_empty(), "{:?}", writes(&pve).await);
}

/// Freeze, thaw, trim, shutdown and suspend each send exactly their agent command; the
/// destructive ones are asked of the person first; a dry run sends nothing; an agent that does
/// not answer is explained.
#[tokio::test]
async fn agent_actions_send_exactly_their_command() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(
        &pve,
        &[("PROXMOX_ALLOW_ELEVATED", "true")],
        &["--toolsets", "agent"],
    )
    .await;
    let vm = |extra: Value| {
        let mut a = json!({"vmid": 100});
        a.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        a
    };
    let r = s
        .ok("proxmox_agent_fsfreeze", vm(json!({"action": "freeze"})))
        .await;
    assert_eq!(r["filesystems"], 1, "{r}");
    let info = s.ok("proxmox_agent_info", json!({"vmid": 100})).await;
    assert_eq!(info["fsfreeze"], "frozen", "{info}");
    s.ok("proxmox_agent_fsfreeze", vm(json!({"action": "thaw"})))
        .await;
    let r = s.ok("proxmox_agent_fstrim", vm(json!({}))).await;
    assert_eq!(
        r["paths"],
        json!([{"path": "/", "trimmed_bytes": 0}]),
        "{r}"
    );
    s.ok("proxmox_agent_shutdown", vm(json!({}))).await;
    s.ok("proxmox_agent_suspend", vm(json!({"mode": "disk"})))
        .await;
    let agent = |c: &str| format!("POST /api2/json/nodes/pve1/qemu/100/agent/{c}");
    let posts: Vec<String> = writes(&pve)
        .await
        .into_iter()
        .filter(|w| !w.ends_with("/ping") && !w.ends_with("/fsfreeze-status"))
        .collect();
    assert_eq!(
        posts,
        [
            agent("fsfreeze-freeze"),
            agent("fsfreeze-thaw"),
            agent("fstrim"),
            agent("shutdown"),
            agent("suspend-disk")
        ]
    );
    let asked = s.asked();
    for q in [
        "Freeze the filesystems of VM 100 \"web\" on pve1",
        "Shut VM 100 \"web\" on pve1 down",
        "Suspend VM 100 \"web\" on pve1 to disk",
    ] {
        assert!(asked.iter().any(|a| a.starts_with(q)), "{q}: {asked:?}");
    }
    // Thawing and trimming interrupt nothing: not asked.
    assert_eq!(asked.len(), 3, "{asked:?}");

    pve.clear_requests().await;
    let r = s
        .ok(
            "proxmox_agent_suspend",
            vm(json!({"mode": "ram", "dry_run": true})),
        )
        .await;
    assert_eq!(r["dry_run"], true, "{r}");
    assert_eq!(
        r["request"]["path"], "/nodes/pve1/qemu/100/agent/suspend-ram",
        "{r}"
    );
    assert!(writes(&pve).await.is_empty());
    let e = s.err("proxmox_agent_fstrim", json!({"vmid": 101})).await;
    assert!(e.contains("qemu-guest-agent"), "{e}");
    let e = s.err("proxmox_agent_shutdown", json!({"vmid": 200})).await;
    assert!(e.contains("container"), "{e}");
}

/// A password set through the agent is sent, and never shown: not in the result, the question
/// asked, a dry run, an error, the server's log at debug level or the audit log.
#[tokio::test]
async fn a_password_set_through_the_agent_is_never_shown() {
    let pve = FakePve::start().await;
    let dir = scratch("password");
    let log = dir.join("audit.jsonl");
    let s = Mcp::alice(
        &pve,
        &[
            ("PROXMOX_ALLOW_ELEVATED", "true"),
            ("PROXMOX_MCP_AUDIT_LOG", log.to_str().unwrap()),
            ("RUST_LOG", "debug"),
        ],
        &["--toolsets", "agent"],
    )
    .await;
    let canary = "Canary-Pw-5150";
    let mut seen = Vec::new();
    let r = s
        .call(
            "proxmox_agent_set_password",
            json!({"vmid": 100, "username": "bob", "password": canary}),
        )
        .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    seen.push(format!("{}{:?}", text(&r), r.structured_content));
    let q = sent(&pve, "POST", "/nodes/pve1/qemu/100/agent/set-user-password").await;
    assert_eq!(q.len(), 1);
    // fakepve's log masks the value itself; the password was sent, with the user.
    let f = form(q[0]["body"].as_str().unwrap());
    assert!(f.contains(&("username".into(), "bob".into())), "{f:?}");
    assert!(f.iter().any(|(k, _)| k == "password"), "{f:?}");
    assert!(
        s.asked()
            .iter()
            .any(|a| a.starts_with("Set the password of user `bob` in VM 100")),
        "{:?}",
        s.asked()
    );
    seen.extend(s.asked());
    let r = s
        .call(
            "proxmox_agent_set_password",
            json!({"vmid": 100, "username": "bob", "password": canary, "dry_run": true}),
        )
        .await;
    seen.push(text(&r));
    // Too short: refused before sending, without the value.
    let e = s
        .err(
            "proxmox_agent_set_password",
            json!({"vmid": 100, "username": "bob", "password": "Cnry"}),
        )
        .await;
    assert!(e.contains("password"), "{e}");
    assert!(!e.contains("Cnry"), "{e}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    seen.push(s.stderr());
    let a = audit(&log);
    assert!(a.contains("proxmox_agent_set_password"), "{a}");
    seen.push(a);
    for (i, t) in seen.iter().enumerate() {
        assert!(!t.contains(canary), "the password is in #{i}: {t}");
    }
}

/// Reads a console file the result names: it exists, only its owner may read it.
fn console_file(r: &Value) -> (PathBuf, String) {
    use std::os::unix::fs::PermissionsExt;
    let path = PathBuf::from(r["file"].as_str().unwrap_or_else(|| panic!("{r}")));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", path.display());
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

fn path_of(r: &Value) -> PathBuf {
    PathBuf::from(r["file"].as_str().unwrap())
}

/// Connects to the websocket a terminal's console file names, as alice's token, sends its first
/// message and returns the terminal's first answer (`OK` when the ticket was taken).
fn open_terminal(pve: &FakePve, file: &Path) -> String {
    const CLIENT: &str = r#"
import asyncio, json, ssl, sys, aiohttp
f = json.load(open(sys.argv[1]))
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    ctx.check_hostname = False
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(f['websocket'], ssl=ctx, protocols=('binary',),
                                headers={'Authorization': sys.argv[3]}) as ws:
            await ws.send_str(f['first_message'])
            msg = await ws.receive(timeout=10)
            print(msg.data.decode() if isinstance(msg.data, bytes) else msg.data)
asyncio.run(main())
"#;
    let out = std::process::Command::new(common::python())
        .arg("-c")
        .arg(CLIENT)
        .arg(file)
        .arg(pve.ca_pem_path())
        .arg(pve.alice().token_header())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Each kind of console for a VM and a container: the ticket (and SPICE's password and signed
/// proxy address) goes to a new file only this user can read, in a directory only this user can
/// enter; the result, the server's log and the audit log never hold it.
#[tokio::test]
async fn console_tickets_go_to_private_files_only() {
    use std::os::unix::fs::PermissionsExt;
    let pve = FakePve::start().await;
    let dir = scratch("console");
    let consoles = dir.join("consoles");
    let log = dir.join("audit.jsonl");
    let s = Mcp::alice(
        &pve,
        &[
            ("PROXMOX_ALLOW_ELEVATED", "true"),
            ("PROXMOX_MCP_AUDIT_LOG", log.to_str().unwrap()),
            ("PROXMOX_MCP_CONSOLE_DIR", consoles.to_str().unwrap()),
            ("RUST_LOG", "debug"),
        ],
        &["--toolsets", "console"],
    )
    .await;
    let mut secrets: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let base = format!("https://{}:{}", pve.host(), pve.port());

    // VNC of a VM (fakepve issues a real ticket for its websocket).
    let r = s
        .ok("proxmox_guest_console", json!({"vmid": 100, "kind": "vnc"}))
        .await;
    seen.push(r.to_string());
    let mode = std::fs::metadata(&consoles).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert_eq!(
        r["web_console"],
        format!("{base}/?console=kvm&novnc=1&vmid=100&node=pve1&vmname=web"),
        "{r}"
    );
    let (_, file) = console_file(&r);
    let v: Value = serde_json::from_str(&file).unwrap();
    let ticket = v["ticket"].as_str().unwrap().to_string();
    assert!(ticket.starts_with("PVEVNC:"), "{v}");
    assert_eq!(v["vnc_password"], ticket.as_str());
    assert_eq!(v["port"], 5900);
    let ws = format!(
        "wss://{}:{}/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=",
        pve.host(),
        pve.port()
    );
    assert!(v["websocket"].as_str().unwrap().starts_with(&ws), "{v}");
    assert!(r["websocket"].as_str().unwrap().starts_with(&ws), "{r}");
    secrets.push(ticket);
    let q = sent(&pve, "POST", "/nodes/pve1/qemu/100/vncproxy").await;
    assert_eq!(
        form(q[0]["body"].as_str().unwrap()),
        [("websocket".into(), "1".into())]
    );

    // A VM's terminal (termproxy, also fakepve's own).
    let r = s
        .ok(
            "proxmox_guest_console",
            json!({"vmid": 100, "kind": "terminal"}),
        )
        .await;
    seen.push(r.to_string());
    assert!(
        r["web_console"]
            .as_str()
            .unwrap()
            .contains("?console=kvm&xtermjs=1&vmid=100"),
        "{r}"
    );
    assert!(r["note"].as_str().unwrap().contains("serial0"), "{r}");
    let (_, file) = console_file(&r);
    let v: Value = serde_json::from_str(&file).unwrap();
    let ticket = v["ticket"].as_str().unwrap().to_string();
    assert_eq!(v["first_message"], format!("alice@pve!ci:{ticket}\n"));
    secrets.push(ticket);
    // The file is what a program needs: its websocket, with the server's API login and the
    // first message, opens the terminal.
    assert_eq!(open_terminal(&pve, &path_of(&r)), "OK");

    // A container's VNC and SPICE, and a VM's SPICE: scripted answers with canaries.
    pve.control(
        json!({"op": "script", "method": "POST", "path": "/nodes/pve1/lxc/200/vncproxy",
                       "json": {"ticket": "PVEVNC:Lxc-Vnc-Canary", "port": 5902,
                                "user": "alice@pve!ci", "upid": "UPID:pve1:x", "cert": "PEM"}}),
    )
    .await;
    let spice = |host: &str, pw: &str| {
        json!({"type": "spice", "host": format!("pvespiceproxy:6a:100:pve1::{host}"),
               "password": pw, "proxy": "http://pve1:3128", "tls-port": 61000,
               "ca": "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n",
               "host-subject": "OU=PVE Cluster Node,CN=pve1", "delete-this-file": 1,
               "title": "VM 100 - web", "secure-attention": "Ctrl+Alt+Ins"})
    };
    pve.control(json!({"op": "script", "method": "POST",
                       "path": "/nodes/pve1/qemu/100/spiceproxy",
                       "json": spice("Spice-Host-Canary", "Spice-Pw-Canary")}))
        .await;
    pve.control(json!({"op": "script", "method": "POST",
                       "path": "/nodes/pve1/lxc/200/spiceproxy",
                       "json": spice("Ct-Host-Canary", "Ct-Pw-Canary")}))
        .await;
    secrets.extend(
        [
            "Lxc-Vnc-Canary",
            "Spice-Host-Canary",
            "Spice-Pw-Canary",
            "Ct-Host-Canary",
            "Ct-Pw-Canary",
        ]
        .map(String::from),
    );
    let r = s
        .ok("proxmox_guest_console", json!({"vmid": 200, "kind": "vnc"}))
        .await;
    seen.push(r.to_string());
    assert!(
        r["web_console"]
            .as_str()
            .unwrap()
            .contains("?console=lxc&novnc=1&vmid=200"),
        "{r}"
    );
    let (_, file) = console_file(&r);
    assert!(file.contains("PVEVNC:Lxc-Vnc-Canary"), "{file}");
    for (vmid, pw) in [(100, "Spice-Pw-Canary"), (200, "Ct-Pw-Canary")] {
        let r = s
            .ok(
                "proxmox_guest_console",
                json!({"vmid": vmid, "kind": "spice"}),
            )
            .await;
        seen.push(r.to_string());
        assert!(r["note"].as_str().unwrap().contains("remote-viewer"), "{r}");
        let (path, vv) = console_file(&r);
        assert_eq!(path.extension().unwrap(), "vv");
        assert!(
            vv.starts_with("[virt-viewer]\n") && vv.contains("\ntype=spice\n"),
            "{vv}"
        );
        assert!(vv.contains(&format!("\npassword={pw}\n")), "{vv}");
        assert!(vv.contains("\ntls-port=61000\n") && vv.contains("\ndelete-this-file=1\n"));
        let kind = if vmid == 100 { "qemu" } else { "lxc" };
        let q = sent(
            &pve,
            "POST",
            &format!("/nodes/pve1/{kind}/{vmid}/spiceproxy"),
        )
        .await;
        // The SPICE proxy is the host this server reaches PVE at.
        assert_eq!(
            form(q[0]["body"].as_str().unwrap()),
            [("proxy".into(), pve.host().to_string())]
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    seen.push(s.stderr());
    let a = audit(&log);
    assert_eq!(a.matches("proxmox_guest_console").count(), 10, "{a}");
    seen.push(a);
    for secret in &secrets {
        for (i, t) in seen.iter().enumerate() {
            assert!(!t.contains(secret.as_str()), "{secret} in #{i}: {t}");
        }
    }

    // Unelevated: refused before anything is sent or written; a dry run writes no file either.
    let before = std::fs::read_dir(&consoles).unwrap().count();
    pve.clear_requests().await;
    let s = Mcp::alice(
        &pve,
        &[("PROXMOX_MCP_CONSOLE_DIR", consoles.to_str().unwrap())],
        &["--toolsets", "console"],
    )
    .await;
    let e = s
        .err("proxmox_guest_console", json!({"vmid": 100, "kind": "vnc"}))
        .await;
    assert!(e.contains("PROXMOX_ALLOW_ELEVATED"), "{e}");
    let r = s
        .ok(
            "proxmox_guest_console",
            json!({"vmid": 200, "kind": "spice", "dry_run": true}),
        )
        .await;
    assert_eq!(
        r["request"]["path"], "/nodes/pve1/lxc/200/spiceproxy",
        "{r}"
    );
    assert!(writes(&pve).await.is_empty());
    assert_eq!(std::fs::read_dir(&consoles).unwrap().count(), before);

    // A directory others may enter: refused before PVE issues a ticket.
    let open = dir.join("open");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Mcp::alice(
        &pve,
        &[
            ("PROXMOX_ALLOW_ELEVATED", "true"),
            ("PROXMOX_MCP_CONSOLE_DIR", open.to_str().unwrap()),
        ],
        &["--toolsets", "console"],
    )
    .await;
    let e = s
        .err(
            "proxmox_guest_console",
            json!({"vmid": 100, "kind": "terminal"}),
        )
        .await;
    assert!(
        e.contains("not private") && e.contains("PROXMOX_MCP_CONSOLE_DIR"),
        "{e}"
    );
    assert!(writes(&pve).await.is_empty());
    assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
