//! The safety pipeline of the real server against fakepve: dry runs, the person's confirmation of
//! destructive calls, bounded results and errors, results that keep to their output schema, and
//! the review's minor findings (numbers as text, malformed `params`, long search queries).

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use std::time::{Duration, Instant};

use common::FakePve;
use mcp::{Answer, Mcp, text};
use serde_json::{Value, json};

/// The requests fakepve saw that are not reads.
async fn writes(pve: &FakePve) -> Vec<Value> {
    pve.requests()
        .await
        .into_iter()
        .filter(|r| r["method"] != "GET")
        .collect()
}

#[tokio::test]
async fn a_dry_run_checks_everything_sends_nothing_and_needs_no_elevation() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[], &[]).await;
    pve.clear_requests().await;
    let r = s
        .ok(
            "proxmox_guest_stop",
            json!({"vmid": "0100", "dry_run": true}),
        )
        .await;
    assert_eq!(r["dry_run"], true, "{r}");
    assert_eq!(r["request"]["method"], "POST");
    assert_eq!(r["request"]["path"], "/nodes/pve1/qemu/100/status/stop");
    assert!(r["target"].as_str().unwrap().contains("\"web\""), "{r}");
    assert!(
        r["elevation"]
            .as_str()
            .unwrap()
            .contains("PROXMOX_ALLOW_ELEVATED")
    );
    assert!(r["confirmation"].as_str().unwrap().contains("asked"), "{r}");
    assert!(writes(&pve).await.is_empty(), "a dry run sent a write");
    // The same call for real is refused without elevation, and says dry_run exists.
    let e = s.err("proxmox_guest_stop", json!({"vmid": 100})).await;
    assert!(
        e.contains("PROXMOX_ALLOW_ELEVATED") && e.contains("dry_run"),
        "{e}"
    );

    // A configuration change shows the values it would replace, read now; secrets masked.
    let r = s
        .ok(
            "proxmox_api_call",
            json!({"method": "PUT", "path": "/nodes/pve1/qemu/101/config", "dry_run": true,
                   "params": {"memory": 4096, "cipassword": "Dry-Run-Canary", "delete": "tags"}}),
        )
        .await;
    let form = &r["request"]["form"];
    assert_eq!(form["memory"], "4096", "{r}");
    assert_eq!(form["cipassword"], "(secret, not shown)");
    assert!(!r.to_string().contains("Dry-Run-Canary"));
    let old = &r["would_replace"];
    assert!(old.get("memory").is_some_and(|m| !m.is_null()), "{r}");
    assert!(old.as_object().unwrap().contains_key("tags"), "{r}");
    assert!(writes(&pve).await.is_empty());
    // Invalid arguments fail a dry run as they would the call.
    let e = s
        .err(
            "proxmox_api_call",
            json!({"method": "PUT", "path": "/nodes/pve1/qemu/101/config", "dry_run": true,
                   "params": {"cores": 0}}),
        )
        .await;
    assert!(e.contains("cores"), "{e}");
}

#[tokio::test]
async fn destructive_calls_need_the_persons_confirmation() {
    let pve = FakePve::start().await;
    let elevated = [("PROXMOX_ALLOW_ELEVATED", "true")];
    // Declined: nothing is sent, and the person saw what would be lost.
    let mut vars = mcp::env(&pve);
    vars.push(("PROXMOX_ALLOW_ELEVATED".into(), "true".into()));
    let no = Mcp::start_answering(&vars, &[], Answer::Decline).await;
    pve.clear_requests().await;
    let e = no
        .err("proxmox_guest_stop", json!({"vmid": 100, "wait": 0}))
        .await;
    assert!(
        e.contains("did not confirm") && e.contains("Nothing was sent"),
        "{e}"
    );
    let asked = no.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].contains("VM 100 \"web\" on pve1") && asked[0].contains("Stop"),
        "{asked:?}"
    );
    assert!(writes(&pve).await.is_empty(), "a declined stop was sent");
    // Deleting a guest names its disks.
    let e = no.err("proxmox_guest_delete", json!({"vmid": 102})).await;
    assert!(e.contains("did not confirm"), "{e}");
    let question = no.asked().pop().unwrap();
    assert!(
        question.contains("Destroy VM 102 \"build\" on pve1") && question.contains("Disks: "),
        "{question}"
    );
    assert!(writes(&pve).await.is_empty(), "a declined delete was sent");
    // A start is not destructive: nobody is asked.
    no.ok("proxmox_guest_start", json!({"vmid": 101, "wait": 0}))
        .await;
    assert_eq!(no.asked().len(), 2);

    // A client that cannot ask: the default policy refuses and names the setting.
    let mute = Mcp::start_answering(&vars, &[], Answer::CannotAsk).await;
    pve.clear_requests().await;
    let e = mute
        .err(
            "proxmox_api_call",
            json!({"method": "DELETE", "path": "/nodes/pve1/qemu/102/snapshot/before"}),
        )
        .await;
    assert!(e.contains("confirm") && e.contains("ask-or-allow"), "{e}");
    assert!(writes(&pve).await.is_empty());

    // The operator's policy for clients that cannot ask: ask-or-allow sends, and off never asks.
    let lenient =
        Mcp::start_answering(&vars, &["--confirm", "ask-or-allow"], Answer::CannotAsk).await;
    pve.clear_requests().await;
    lenient
        .ok("proxmox_guest_stop", json!({"vmid": 200, "wait": 0}))
        .await;
    assert_eq!(writes(&pve).await.len(), 1);
    let off = Mcp::start_answering(&vars, &["--confirm", "off"], Answer::Decline).await;
    off.ok("proxmox_guest_stop", json!({"vmid": 100, "wait": 0}))
        .await;
    assert!(off.asked().is_empty(), "confirm off still asked");

    // Accepted: sent.
    let yes = Mcp::alice(&pve, &elevated, &[]).await;
    pve.clear_requests().await;
    let r = yes
        .ok("proxmox_guest_stop", json!({"vmid": 100, "wait": 30}))
        .await;
    assert_eq!(r["status"], "OK", "{r}");
    assert_eq!(yes.asked().len(), 1);
    let sent = writes(&pve).await;
    assert!(
        sent.iter()
            .any(|w| w["path"] == "/api2/json/nodes/pve1/qemu/100/status/stop"),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_get_sent_to_the_write_tool_points_to_the_read_tool_unelevated() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[], &[]).await;
    let e = s
        .err(
            "proxmox_api_call",
            json!({"method": "GET", "path": "/nodes/pve1/status"}),
        )
        .await;
    assert!(e.contains("proxmox_api_get"), "{e}");
    assert!(!e.contains("PROXMOX_ALLOW_ELEVATED"), "{e}");
}

#[tokio::test]
async fn results_and_errors_are_bounded() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[], &[]).await;
    let big = "x".repeat(20 << 20);
    pve.control(
        json!({"op": "script", "method": "GET", "path": "/nodes/pve1/status",
                       "json": {"cpu": 0.25, "blob": big}}),
    )
    .await;
    let r = s.call("proxmox_node_status", json!({"node": "pve1"})).await;
    let t = text(&r);
    assert!(t.len() <= 64 * 1024, "{} bytes", t.len());
    let v: Value = serde_json::from_str(&t).unwrap();
    assert_eq!(v["cpu"], 0.25);
    assert!(
        v["result_cut"].as_str().unwrap().contains("shortened"),
        "{v}"
    );
    // A list of 100,000 tasks asked for by a fake that ignores `limit`.
    let tasks: Vec<Value> = (0..100_000)
        .map(|i| json!({"upid": format!("UPID:pve1:00000001:00000002:{i:08X}:qmstart:100:root@pam:"), "type": "qmstart", "starttime": i, "user": "root@pam", "node": "pve1", "id": "100", "pid": 1, "pstart": 2}))
        .collect();
    pve.control(
        json!({"op": "script", "method": "GET", "path": "/nodes/pve1/tasks", "json": tasks}),
    )
    .await;
    let r = s
        .ok("proxmox_node_task", json!({"node": "pve1", "limit": 1000}))
        .await;
    assert!(r.to_string().len() <= 64 * 1024);
    assert!(
        r["result_cut"]
            .as_str()
            .unwrap()
            .contains("list items left out"),
        "{r}"
    );
    // `limit` has a maximum, checked before anything is sent.
    let e = s
        .err(
            "proxmox_node_task",
            json!({"node": "pve1", "limit": 100000}),
        )
        .await;
    assert!(e.contains("limit") && e.contains("1000"), "{e}");
    // An error with a 3 MB per-field message.
    pve.control(json!({"op": "script", "method": "GET", "path": "/nodes/pve1/status",
                       "status": 400, "reason": "Parameter verification failed.",
                       "json": null, "body": format!("{{\"data\":null,\"errors\":{{\"node\":\"{}\"}}}}", "y".repeat(3 << 20))}))
        .await;
    let e = s.err("proxmox_node_status", json!({"node": "pve1"})).await;
    assert!(e.len() <= 9 * 1024, "{} bytes", e.len());
}

#[tokio::test]
async fn odd_answers_never_break_the_output_schema() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    // A start answered with an object instead of a UPID: an error that shows it, not a result
    // that breaks `status`'s enum.
    pve.control(
        json!({"op": "script", "method": "POST", "path": "/nodes/pve1/qemu/101/status/start",
                       "json": {"status": "stopped"}}),
    )
    .await;
    let r = s
        .call("proxmox_guest_start", json!({"vmid": 101, "wait": 0}))
        .await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    let t = text(&r);
    assert!(t.contains("shape") && t.contains("stopped"), "{t}");
    // A task status that is not an object.
    let upid = "UPID:pve1:00001234:00005678:65000000:qmstart:101:alice@pve!ci:";
    pve.control(json!({"op": "script", "method": "GET",
                       "path": format!("/nodes/pve1/tasks/{upid}/status"), "json": "weird"}))
        .await;
    let e = s.err("proxmox_node_task", json!({"upid": upid})).await;
    assert!(e.contains("instead of an object"), "{e}");
    // Log lines with a number for `t` become text.
    pve.control(json!({"op": "script", "method": "GET",
                       "path": format!("/nodes/pve1/tasks/{upid}/log"),
                       "json": [{"n": 1, "t": 42}, {"n": 2, "t": "TASK OK"}]}))
        .await;
    let r = s.ok("proxmox_task_log", json!({"upid": upid})).await;
    assert_eq!(r["lines"], json!(["42", "TASK OK"]), "{r}");
    // A node list that is a string.
    pve.control(json!({"op": "script", "method": "GET", "path": "/nodes", "json": "nodes!"}))
        .await;
    let e = s.err("proxmox_node_list", json!({})).await;
    assert!(e.contains("`nodes`"), "{e}");
}

#[tokio::test]
async fn numbers_as_text_are_used_and_malformed_params_are_not_echoed() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    // A task with a log to read.
    let started = s
        .ok("proxmox_guest_start", json!({"vmid": 101, "wait": 30}))
        .await;
    let upid = started["upid"].as_str().unwrap().to_string();
    let query = |reqs: &[Value]| -> Vec<String> {
        reqs.iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/log")))
            .map(|r| r["query_string"].as_str().unwrap_or("").to_string())
            .collect()
    };
    for args in [
        json!({"upid": upid, "start": "1", "limit": "2"}),
        json!({"upid": upid, "start": 1, "limit": 2}),
    ] {
        pve.clear_requests().await;
        s.ok("proxmox_task_log", args).await;
        let q = query(&pve.requests().await);
        assert!(
            q.iter()
                .any(|q| q.contains("start=1") && q.contains("limit=2")),
            "{q:?}"
        );
    }
    pve.clear_requests().await;
    s.ok("proxmox_task_log", json!({"upid": upid, "tail": "1"}))
        .await;
    let q = query(&pve.requests().await);
    assert!(q.last().unwrap().contains("limit=1"), "{q:?}");

    let e = s
        .err(
            "proxmox_api_call",
            json!({"method": "POST", "path": "/access/users",
                   "params": r#"{"userid":"carol@pve","password":"Secret-Canary-1",}"#}),
        )
        .await;
    assert!(!e.contains("Secret-Canary-1"), "{e}");
    assert!(e.contains("params"), "{e}");
}

#[tokio::test]
async fn a_long_search_query_is_refused_at_once() {
    let pve = FakePve::start().await;
    let s = Mcp::alice(&pve, &[], &[]).await;
    let t0 = Instant::now();
    let e = s
        .err(
            "proxmox_api_search",
            json!({"query": "snapshot ".repeat(300_000)}),
        )
        .await;
    assert!(e.contains("at most 200"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    let r = s
        .ok("proxmox_api_search", json!({"query": "qemu snapshot"}))
        .await;
    assert!(r["total"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn at_trace_no_log_line_carries_a_secret_argument_or_an_unredacted_answer() {
    let pve = FakePve::start().await;
    // Secrets PVE sends in answers, where the schema says they are.
    pve.control(
        json!({"op": "script", "method": "GET", "path": "/nodes/pve1/subscription",
                       "json": {"key": "pve2c-SUBKEY-CANARY", "level": "c", "status": "active"}}),
    )
    .await;
    pve.control(json!({"op": "script", "method": "GET", "path": "/cluster/acme/plugins/cf",
                       "json": {"api": "cf", "data": "Q0ZfVG9rZW49QUNNRS1ETlMtQ0FOQVJZ", "plugin": "cf", "type": "dns"}}))
        .await;
    for level in ["warn", "info", "debug", "trace"] {
        let s = Mcp::alice(
            &pve,
            &[("PROXMOX_ALLOW_ELEVATED", "true"), ("RUST_LOG", level)],
            &["--toolsets", "all"],
        )
        .await;
        let mut seen = Vec::new();
        for (tool, args) in [
            (
                "proxmox_api_call",
                json!({"method": "POST", "path": "/access/users",
                       "params": {"userid": "carol@pve", "password": "Hunter2-Canary"}}),
            ),
            (
                "proxmox_api_call",
                json!({"method": "PUT", "path": "/nodes/pve1/qemu/101/config",
                       "params": {"cipassword": "CiPw-Canary"}, "dry_run": true}),
            ),
            (
                "proxmox_api_get",
                json!({"path": "/nodes/pve1/subscription"}),
            ),
            (
                "proxmox_api_get",
                json!({"path": "/cluster/acme/plugins/cf"}),
            ),
        ] {
            let r = s.call(tool, args).await;
            seen.push(text(&r));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let err = s.stderr();
        if level == "debug" || level == "trace" {
            assert!(err.contains("DEBUG"), "{level} logging is off: {err}");
            assert!(
                err.contains("proxmox_api_call"),
                "the server's own call lines are missing"
            );
        }
        seen.push(err);
        let all = seen.join("\n");
        for canary in [
            "Update-Canary-3",
            "Create-Canary-4",
            "Hunter2-Canary",
            "Array-Canary",
            "Json-Canary",
            "CiPw-Canary",
            "SUBKEY-CANARY",
            "Q0ZfVG9rZW49QUNNRS1ETlMtQ0FOQVJZ",
        ] {
            assert!(
                !all.contains(canary),
                "{canary} reached a result or the {level} log"
            );
        }
    }
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("proxmox-mcp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `proxmox-mcp audit verify PATH`: (exit code 0, stdout and stderr).
fn verify(path: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .args(["audit", "verify"])
        .arg(path)
        .env_clear()
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn the_audit_log_holds_every_write_attempt_and_detects_tampering() {
    let pve = FakePve::start().await;
    let dir = scratch("audit");
    let log = dir.join("audit.jsonl");
    let log_arg = log.to_str().unwrap().to_string();
    // Unelevated: the refusal is a line.
    let s = Mcp::alice(&pve, &[("PROXMOX_MCP_AUDIT_LOG", &log_arg)], &[]).await;
    s.err("proxmox_guest_start", json!({"vmid": 101})).await;
    drop(s);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Elevated, same log (the chain goes on): a dry run, a declined stop, a write the token may
    // not do, and a start that is sent, answered and followed to its end.
    let mut vars = mcp::env(&pve);
    vars.push(("PROXMOX_ALLOW_ELEVATED".into(), "true".into()));
    let s = Mcp::start_answering(&vars, &["--audit-log", &log_arg], Answer::Decline).await;
    s.ok("proxmox_guest_stop", json!({"vmid": 100, "dry_run": true}))
        .await;
    s.err("proxmox_guest_stop", json!({"vmid": 100})).await;
    pve.control(
        json!({"op": "script", "method": "GET", "path": "/access/permissions",
                       "json": {"/vms/102": {"VM.Audit": 1}}, "times": 1}),
    )
    .await;
    let e = s
        .err("proxmox_guest_start", json!({"vmid": 102, "wait": 0}))
        .await;
    assert!(e.contains("VM.PowerMgmt"), "{e}");
    s.ok(
        "proxmox_api_call",
        json!({"method": "PUT", "path": "/nodes/pve1/qemu/101/config",
               "params": {"cipassword": "Audit-Canary-1"}}),
    )
    .await;
    s.ok("proxmox_guest_start", json!({"vmid": 101, "wait": 30}))
        .await;
    let got = lines(&log);
    let decisions: Vec<&str> = got
        .iter()
        .map(|l| l["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        [
            "refused-elevation",
            "dry-run",
            "refused-confirmation",
            "refused-preflight",
            "sent",
            "answered",
            "sent",
            "answered",
            "task-ended",
        ],
        "{got:#?}"
    );
    let stop = &got[1];
    assert_eq!(stop["tool"], "proxmox_guest_stop");
    assert_eq!(stop["method"], "POST");
    assert_eq!(stop["path"], "/nodes/pve1/qemu/100/status/stop");
    assert_eq!(
        got[4]["args"]["params"]["cipassword"],
        "(secret, not shown)"
    );
    assert!(
        !std::fs::read_to_string(&log)
            .unwrap()
            .contains("Audit-Canary-1")
    );
    assert_eq!(got[8]["task"]["ok"], true, "{}", got[8]);
    for (i, l) in got.iter().enumerate() {
        assert_eq!(l["seq"], (i + 1) as u64);
        assert_eq!(l["server"], "default");
    }
    let (ok, out) = verify(&log);
    assert!(ok && out.contains("9 lines, chain intact"), "{out}");

    // One byte flipped, or one line deleted: verify names the line.
    let text = std::fs::read_to_string(&log).unwrap();
    let flipped = dir.join("flipped.jsonl");
    std::fs::write(&flipped, text.replacen("qemu/100", "qemu/101", 1)).unwrap();
    let (ok, out) = verify(&flipped);
    assert!(!ok && out.contains("line 2"), "{out}");
    let cut = dir.join("cut.jsonl");
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&cut, kept.join("\n") + "\n").unwrap();
    let (ok, out) = verify(&cut);
    assert!(!ok && out.contains("line 4"), "{out}");

    // A log that cannot be written refuses the write: nothing is sent.
    std::fs::remove_file(&log).unwrap();
    pve.clear_requests().await;
    let e = s
        .err("proxmox_guest_start", json!({"vmid": 102, "wait": 0}))
        .await;
    assert!(
        e.contains("audit log") && e.contains("Nothing was sent"),
        "{e}"
    );
    assert!(
        writes(&pve).await.is_empty(),
        "a write went out without its audit line"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn read_only_also_refuses_gets_that_make_pve_contact_other_servers() {
    let pve = FakePve::start().await;
    let ro = Mcp::alice(&pve, &[], &["--read-only"]).await;
    pve.clear_requests().await;
    for path in [
        "/nodes/pve1/query-url-metadata?url=http://10.0.0.1:8080/admin",
        "/cluster/acme/tos?directory=http://169.254.169.254/latest/meta-data/",
    ] {
        let (path, query) = path.split_once('?').unwrap();
        let (k, v) = query.split_once('=').unwrap();
        let e = ro
            .err("proxmox_api_get", json!({"path": path, "params": {k: v}}))
            .await;
        assert!(
            e.contains("read-only") && e.contains("Nothing was sent"),
            "{e}"
        );
    }
    let e = ro
        .err(
            "proxmox_api_get",
            json!({"path": "/nodes/pve1/scan/pbs",
                   "params": {"server": "10.0.0.9", "username": "u@pbs", "password": "ScanPw-Canary"}}),
        )
        .await;
    assert!(!e.contains("ScanPw-Canary"), "{e}");
    let sent: Vec<Value> = pve
        .requests()
        .await
        .into_iter()
        .filter(|r| {
            let p = r["path"].as_str().unwrap_or("");
            p.contains("query-url-metadata") || p.contains("acme/tos") || p.contains("scan/pbs")
        })
        .collect();
    assert!(sent.is_empty(), "{sent:?}");
    // Plain reads still work, and without --read-only such a GET is sent as any other.
    ro.ok("proxmox_node_list", json!({})).await;
    let rw = Mcp::alice(&pve, &[], &[]).await;
    rw.call(
        "proxmox_api_get",
        json!({"path": "/nodes/pve1/query-url-metadata", "params": {"url": "http://127.0.0.1:9/x"}}),
    )
    .await;
    assert!(
        pve.requests().await.iter().any(|r| r["path"]
            .as_str()
            .unwrap_or("")
            .contains("query-url-metadata")),
        "without --read-only the GET was not sent"
    );
}

/// The pre-flight also covers what PVE checks in its code rather than in the schema (creating a
/// guest says only `user: all`): VM.Allocate on the new VMID, Datastore.AllocateSpace on each new
/// disk's storage, SDN.Use on each bridge, VM.Backup for vzdump. Each refusal names the concrete
/// path and a role, and nothing is sent; granted, the call goes through.
#[tokio::test]
async fn preflight_covers_checks_pve_keeps_in_its_code() {
    let pve = FakePve::start().await;
    let mut vars = mcp::bob_env(&pve);
    vars.push(("PROXMOX_ALLOW_ELEVATED".into(), "true".into()));
    let grant = |path: &str, privs: &[&str]| json!({"op": "grant", "id": "bob@pve!ro", "path": path, "privs": privs});
    let create = json!({"node": "pve1", "vmid": 150, "name": "new", "memory": 1024,
                        "disks": [{"storage": "local-lvm", "size_gb": 8}],
                        "nics": [{"bridge": "vmbr0", "tag": 20}]});
    // Each missing privilege in turn; a fresh server each time (the pre-flight caches briefly).
    for (lacks, role, then_grant) in [
        (
            "VM.Allocate on /vms/150",
            "PVEVMAdmin",
            (
                "/vms",
                vec!["VM.Allocate", "VM.Config.Memory", "VM.Config.Options"],
            ),
        ),
        (
            "VM.Config.Network on /vms/150",
            "PVEVMAdmin",
            (
                "/vms",
                vec!["VM.Config.Network", "VM.Config.CPU", "VM.Config.Disk"],
            ),
        ),
        (
            "Datastore.AllocateSpace on /storage/local-lvm",
            "PVEDatastoreUser",
            ("/storage/local-lvm", vec!["Datastore.AllocateSpace"]),
        ),
        (
            "SDN.Use on /sdn/zones/localnetwork/vmbr0/20",
            "PVESDNUser",
            ("/sdn/zones/localnetwork/vmbr0", vec!["SDN.Use"]),
        ),
    ] {
        let s = Mcp::start(&vars, &[]).await;
        pve.clear_requests().await;
        let msg = s.err("proxmox_create_vm", create.clone()).await;
        assert!(
            msg.contains(&format!("lacks {lacks}")) && msg.contains(&format!("grant {role}")),
            "{msg}"
        );
        assert!(writes(&pve).await.is_empty(), "{:?}", writes(&pve).await);
        pve.control(grant(then_grant.0, &then_grant.1)).await;
    }
    let s = Mcp::start(&vars, &[]).await;
    let r = s.ok("proxmox_create_vm", create.clone()).await;
    assert_eq!(r["status"], "OK", "{r}");
    assert!(
        writes(&pve)
            .await
            .iter()
            .any(|w| w["path"] == "/api2/json/nodes/pve1/qemu"),
        "{:?}",
        writes(&pve).await
    );
    // vzdump: VM.Backup on the guest, Datastore.AllocateSpace on the backup storage.
    pve.clear_requests().await;
    let msg = s
        .err(
            "proxmox_guest_backup",
            json!({"vmid": 100, "storage": "local"}),
        )
        .await;
    assert!(msg.contains("lacks VM.Backup on /vms/100"), "{msg}");
    assert!(writes(&pve).await.is_empty());
}
