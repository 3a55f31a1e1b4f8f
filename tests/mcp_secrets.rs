//! Secrets in PVE's answers never reach a tool result: fakepve serves scripted answers shaped as
//! the schema declares them (the security review's C1 payloads), with canary values, and the
//! generic tools' results must show none of the canaries while keeping the other fields.

mod common;
#[path = "common/mcp.rs"]
mod mcp;

use common::FakePve;
use mcp::{Mcp, text};
use serde_json::{Value, json};

/// Calls `tool`, which must succeed, and returns its text and structured content as one string
/// to search.
async fn result(server: &Mcp, tool: &str, args: Value) -> String {
    let r = server.call(tool, args.clone()).await;
    assert_ne!(r.is_error, Some(true), "{tool} {args} failed: {}", text(&r));
    format!(
        "{}\n{}",
        text(&r),
        r.structured_content.clone().unwrap_or(Value::Null)
    )
}

fn assert_hidden(out: &str, canaries: &[&str], kept: &[&str]) {
    for c in canaries {
        assert!(!out.contains(c), "canary {c} in the result: {out}");
    }
    for k in kept {
        assert!(out.contains(k), "{k} missing from the result: {out}");
    }
    assert!(out.contains("(secret, not shown)"), "{out}");
}

#[tokio::test]
async fn secret_fields_of_answers_are_replaced() {
    let pve = FakePve::start().await;
    let scripts = [
        (
            "GET",
            "/nodes/pve1/subscription",
            json!({"key": "pve2c-SUBKEY-CANARY", "level": "c", "status": "active",
                   "productname": "Proxmox VE Community"}),
        ),
        (
            "GET",
            "/cluster/acme/plugins/cf",
            // base64 of CF_Token=ACME-DNS-CANARY
            json!({"api": "cf", "data": "Q0ZfVG9rZW49QUNNRS1ETlMtQ0FOQVJZ", "plugin": "cf",
                   "type": "dns", "digest": "d1"}),
        ),
        (
            "GET",
            "/cluster/sdn/dns/pdns",
            json!({"dns": "pdns", "key": "PDNS-KEY-CANARY", "type": "powerdns",
                   "url": "http://pdns.example:8081"}),
        ),
        (
            "GET",
            "/cluster/notifications/endpoints/webhook/hook1",
            json!({"name": "hook1", "method": "post", "url": "https://hooks.example/x",
                   "secret": ["name=apikey,value=V0VCSE9PSy1DQU5BUlk="],
                   "header": ["name=Authorization,value=QmVhcmVyIEhFQURFUi1DQU5BUlk=",
                              "name=X-Source,value=cHZl"],
                   "comment": "alerts"}),
        ),
        (
            "POST",
            "/storage",
            json!({"config": {"encryption-key":
                              "{\"kdf\":null,\"key\":\"ENCKEY-CANARY-9f8e7d\"}"},
                   "storage": "pbs1", "type": "pbs"}),
        ),
        (
            "POST",
            "/cluster/config/nodes/pve3",
            json!({"corosync_authkey": "COROSYNC-AUTHKEY-CANARY",
                   "corosync_conf": "totem { cluster_name: lab }",
                   "warnings": ["joined"]}),
        ),
    ];
    for (method, path, data) in scripts {
        pve.control(json!({"op": "script", "method": method, "path": path, "json": data}))
            .await;
    }
    // The pre-flight asks PVE for the token's privileges before a write.
    for (path, privs) in [
        ("/storage", json!(["Datastore.Allocate"])),
        ("/", json!(["Sys.Modify"])),
    ] {
        pve.control(json!({"op": "grant", "id": "alice@pve!ci", "path": path, "privs": privs}))
            .await;
    }
    let server = Mcp::alice(&pve, &[("PROXMOX_ALLOW_ELEVATED", "true")], &[]).await;
    let get = |path: &str| json!({"path": path});

    let out = result(&server, "proxmox_api_get", get("/nodes/pve1/subscription")).await;
    assert_hidden(
        &out,
        &["SUBKEY-CANARY"],
        &["Proxmox VE Community", "active"],
    );

    let out = result(&server, "proxmox_api_get", get("/cluster/acme/plugins/cf")).await;
    assert_hidden(
        &out,
        &["Q0ZfVG9rZW49QUNNRS1ETlMtQ0FOQVJZ", "ACME-DNS-CANARY"],
        &["\"api\":\"cf\""],
    );

    let out = result(&server, "proxmox_api_get", get("/cluster/sdn/dns/pdns")).await;
    assert_hidden(&out, &["PDNS-KEY-CANARY"], &["http://pdns.example:8081"]);

    let out = result(
        &server,
        "proxmox_api_get",
        get("/cluster/notifications/endpoints/webhook/hook1"),
    )
    .await;
    assert_hidden(
        &out,
        &[
            "V0VCSE9PSy1DQU5BUlk=",
            "QmVhcmVyIEhFQURFUi1DQU5BUlk=",
            "cHZl",
        ],
        &[
            "name=Authorization",
            "name=X-Source",
            "https://hooks.example/x",
        ],
    );

    let out = result(
        &server,
        "proxmox_api_call",
        json!({"method": "POST", "path": "/storage",
               "params": {"storage": "pbs1", "type": "pbs", "server": "10.0.0.9",
                          "datastore": "store1", "username": "backup@pbs",
                          "encryption-key": "autogen"}}),
    )
    .await;
    assert_hidden(&out, &["ENCKEY-CANARY"], &["pbs1"]);

    let out = result(
        &server,
        "proxmox_api_call",
        json!({"method": "POST", "path": "/cluster/config/nodes/pve3"}),
    )
    .await;
    assert_hidden(
        &out,
        &["COROSYNC-AUTHKEY-CANARY"],
        &["cluster_name: lab", "joined"],
    );

    // Each answer came from the scripted PVE (so the calls were really made).
    let log = pve.requests().await;
    for p in [
        "/api2/json/nodes/pve1/subscription",
        "/api2/json/cluster/acme/plugins/cf",
        "/api2/json/cluster/sdn/dns/pdns",
        "/api2/json/cluster/notifications/endpoints/webhook/hook1",
        "/api2/json/storage",
        "/api2/json/cluster/config/nodes/pve3",
    ] {
        assert!(log.iter().any(|r| r["path"] == p), "{p} not requested");
    }
}
