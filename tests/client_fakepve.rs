//! The SDK against fakepve, a fake of the PVE 9 API with PVE's status codes, tasks and auth.
//! Each test starts its own fakepve on a loopback address (see `tests/common`).

mod common;

use std::time::Duration;

use common::{FakePve, alice, builder, root_ticket};
use proxmox_mcp::api::nodes::qemu;
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::enums::{Model, QemuOstype, RunStatus};
use proxmox_mcp::formats::QemuNet;
use proxmox_mcp::params::Form;
use proxmox_mcp::{Client, Error, TlsMode, WaitOptions};
use serde_json::{Value, json};

fn quick() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(20),
        ..WaitOptions::default()
    }
}

#[tokio::test]
async fn token_auth_lists_guests_with_typed_results() {
    let pve = FakePve::start().await;
    // Both token forms of the seeds.
    let short = pve
        .alice()
        .token_header()
        .trim_start_matches("PVEAPIToken=")
        .to_string();
    for client in [
        alice(&pve),
        builder(&pve).token(&short).unwrap().build().unwrap(),
    ] {
        let vms = qemu::get(&client, "pve1", &Default::default())
            .await
            .unwrap();
        let mut ids: Vec<u32> = vms.iter().map(|v| v.vmid).collect();
        ids.sort();
        assert!(ids.contains(&100) && ids.contains(&101), "{ids:?}");
        let web = vms.iter().find(|v| v.vmid == 100).unwrap();
        assert_eq!(web.name.as_deref(), Some("web"));
        assert_eq!(web.status, RunStatus::Running);
    }
    let version = proxmox_mcp::api::version::get(&alice(&pve)).await.unwrap();
    assert!(version.version.starts_with('9'), "{}", version.version);
    let log = pve.requests().await;
    assert!(log.iter().all(|r| r["auth"]["kind"] == "token"), "{log:?}");
}

#[tokio::test]
async fn ticket_auth_logs_in_and_sends_csrf_only_on_writes() {
    let pve = FakePve::start().await;
    let client = root_ticket(&pve);
    let res = proxmox_mcp::api::cluster::resources::get(&client, &Default::default())
        .await
        .unwrap();
    assert!(res.iter().any(|r| r.vmid == Some(101)), "{res:?}");
    let upid = qemu::status::start::post(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    assert!(client.wait_task(&upid, quick()).await.unwrap().success);

    let log = pve.requests().await;
    let logins: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"] == "/api2/json/access/ticket")
        .collect();
    assert_eq!(logins.len(), 1, "one login for the whole session: {log:?}");
    let start = log
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("/status/start"))
        .unwrap();
    assert_eq!(start["auth"]["kind"], "ticket");
    assert_eq!(start["csrf_sent"], true);
    assert_eq!(start["csrf_valid"], true);
    assert_eq!(start["status"], 200);
    let get = log
        .iter()
        .find(|r| r["path"] == "/api2/json/cluster/resources")
        .unwrap();
    assert_eq!(get["csrf_sent"], false);
}

#[tokio::test]
async fn a_write_without_csrf_is_refused_and_the_client_recovers_from_a_lost_ticket() {
    let pve = FakePve::start().await;
    // PVE (and the fake) refuse a ticket write that lacks the CSRF token.
    let raw = pve.reqwest_client();
    let login: Value = serde_json::from_slice(
        &raw.post(pve.api_url("/access/ticket"))
            .form(&[
                ("username", pve.root().user.as_str()),
                ("password", pve.root().password.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    let ticket = login["data"]["ticket"].as_str().unwrap();
    let resp = raw
        .post(pve.api_url("/nodes/pve1/qemu/101/status/start"))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    // The client: its ticket is revoked mid-session; the write still goes through after one
    // fresh login, with the CSRF token of the new ticket.
    let client = root_ticket(&pve);
    qemu::status::current::get(&client, "pve1", 101)
        .await
        .unwrap();
    pve.control(json!({"op": "revoke_tickets"})).await;
    pve.clear_requests().await;
    let upid = qemu::status::start::post(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        (upid.node(), upid.worker_type(), upid.worker_id()),
        ("pve1", "qmstart", "101"),
        "{upid}"
    );
    let log = pve.requests().await;
    let seen: Vec<(String, Value)> = log
        .iter()
        .map(|r| (r["path"].as_str().unwrap().to_string(), r["status"].clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "/api2/json/nodes/pve1/qemu/101/status/start".to_string(),
                json!(401)
            ),
            ("/api2/json/access/ticket".to_string(), json!(200)),
            (
                "/api2/json/nodes/pve1/qemu/101/status/start".to_string(),
                json!(200)
            ),
        ]
    );
}

#[tokio::test]
async fn tickets_are_renewed_before_they_expire() {
    let pve = FakePve::start().await;
    let client = builder(&pve)
        .password(&pve.root().user, &pve.root().password)
        .unwrap()
        .ticket_renewal(Duration::from_millis(300))
        .build()
        .unwrap();
    qemu::status::current::get(&client, "pve1", 100)
        .await
        .unwrap();
    qemu::status::current::get(&client, "pve1", 100)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    qemu::status::current::get(&client, "pve1", 100)
        .await
        .unwrap();
    let log = pve.requests().await;
    let logins = log
        .iter()
        .filter(|r| r["path"] == "/api2/json/access/ticket")
        .count();
    assert_eq!(
        logins, 2,
        "login, then one renewal after the renewal age: {log:?}"
    );
    assert!(
        log.iter().all(|r| r["status"] == 200),
        "no request failed: {log:?}"
    );
}

#[tokio::test]
async fn wrong_password_and_wrong_token_are_unauthorized_without_leaking_secrets() {
    let pve = FakePve::start().await;
    let c = builder(&pve)
        .password("root@pam", "wrong-password-123")
        .unwrap()
        .build()
        .unwrap();
    let e = qemu::get(&c, "pve1", &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("wrong-password-123"));
    let c = builder(&pve)
        .token("alice@pve!ci=not-the-secret-42")
        .unwrap()
        .build()
        .unwrap();
    let e = qemu::get(&c, "pve1", &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    assert!(!format!("{e} {e:?} {c:?}").contains("not-the-secret-42"));
}

#[tokio::test]
async fn starting_a_vm_returns_a_upid_and_the_task_completes() {
    let pve = FakePve::start().await;
    let client = alice(&pve);
    let before = qemu::status::current::get(&client, "pve1", 101)
        .await
        .unwrap();
    assert_eq!(before.status, RunStatus::Stopped);
    let upid = qemu::status::start::post(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    let outcome = client.wait_task(&upid, quick()).await.unwrap();
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.exit_status, "OK");
    assert_eq!(outcome.node, "pve1");
    // The task's own endpoints take the Upid as it came.
    let status = proxmox_mcp::api::nodes::tasks::status::get(&client, upid.node(), &upid)
        .await
        .unwrap();
    assert_eq!(status.upid, upid.as_str());
    assert_eq!(status.r#type, "qmstart");
    let after = qemu::status::current::get(&client, "pve1", 101)
        .await
        .unwrap();
    assert_eq!(after.status, RunStatus::Running);
}

#[tokio::test]
async fn a_failing_task_reports_its_exit_status_and_log_tail() {
    let pve = FakePve::start().await;
    pve.control(
        json!({"op": "set_vm", "vmid": 101, "start_error": "kvm: failed to open /dev/kvm"}),
    )
    .await;
    let client = alice(&pve);
    let upid = qemu::status::start::post(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    let outcome = client.wait_task(&upid, quick()).await.unwrap();
    assert!(!outcome.success, "{outcome:?}");
    assert!(outcome.exit_status.contains("/dev/kvm"), "{outcome:?}");
    assert!(
        outcome.log_tail.iter().any(|l| l.contains("TASK ERROR")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn waiting_for_a_slow_task_is_bounded() {
    let pve = FakePve::start_with(common::StartOptions {
        time_scale: 1.0,
        ..Default::default()
    })
    .await;
    pve.control(json!({"op": "set_vm", "vmid": 100, "shutdown_secs": 60}))
        .await;
    let client = alice(&pve);
    let upid = qemu::status::shutdown::post(&client, "pve1", 100, &Default::default())
        .await
        .unwrap();
    let opts = WaitOptions {
        timeout: Duration::from_millis(800),
        ..WaitOptions::default()
    };
    let started = std::time::Instant::now();
    let e = client.wait_task(&upid, opts).await.unwrap_err();
    assert!(matches!(e, Error::TaskTimeout { .. }), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_missing_vm_is_not_found() {
    let pve = FakePve::start().await;
    let e = qemu::status::current::get(&alice(&pve), "pve1", 999)
        .await
        .unwrap_err();
    match &e {
        Error::NotFound { message } => assert!(message.contains("does not exist"), "{message}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(e.status(), Some(500));
}

#[tokio::test]
async fn a_bad_parameter_is_a_bad_request_naming_the_field() {
    let pve = FakePve::start().await;
    let client = alice(&pve);
    // Typed parameters cannot carry a wrong type, so send one through the dynamic call.
    let mut form = Form::new();
    form.text("cores", "abc");
    let e = client
        .request(HttpMethod::Put, "/nodes/pve1/qemu/101/config", form)
        .await
        .unwrap_err();
    match &e {
        Error::BadRequest { errors, .. } => {
            assert!(errors["cores"].contains("integer"), "{errors:?}")
        }
        other => panic!("expected BadRequest, got {other:?}"),
    }
    // A value the schema does not list is refused before sending, in a property string
    // (`model=rtl9999`) as in a plain parameter (`ostype`), naming the field and what is allowed.
    pve.clear_requests().await;
    let mut params = qemu::config::PutParams::default();
    params.net.insert(
        0,
        QemuNet {
            bridge: Some("vmbr0".into()),
            ..QemuNet::new(Model::Unlisted("rtl9999".into()))
        },
    );
    let e = qemu::config::put(&client, "pve1", 101, &params)
        .await
        .unwrap_err();
    match &e {
        Error::InvalidParameter { name, reason } => {
            assert_eq!(name, "net0.model");
            assert!(
                reason.contains("rtl9999") && reason.contains("virtio"),
                "{reason}"
            );
        }
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
    let params = qemu::config::PutParams {
        ostype: Some("plan9".parse().unwrap()),
        ..Default::default()
    };
    let e = qemu::config::put(&client, "pve1", 101, &params)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidParameter { name, reason } if name == "ostype" && reason.contains("l26")),
        "{e:?}"
    );
    assert!(pve.requests().await.is_empty());
    // Answers still decode values a newer PVE may send.
    let model: Model = serde_json::from_value(json!("rtl9999")).unwrap();
    assert_eq!(model, Model::Unlisted("rtl9999".into()));
    assert!(!model.is_listed());
    // The schema's ranges are checked before anything is sent.
    pve.clear_requests().await;
    let params = qemu::config::PutParams {
        cores: Some(0),
        ..Default::default()
    };
    let e = qemu::config::put(&client, "pve1", 101, &params)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidParameter { name, .. } if name == "cores"),
        "{e:?}"
    );
    assert!(pve.requests().await.is_empty());
}

#[tokio::test]
async fn forbidden_names_the_required_privilege() {
    let pve = FakePve::start().await;
    let bob = builder(&pve)
        .token(&pve.bob().token_header())
        .unwrap()
        .build()
        .unwrap();
    qemu::status::current::get(&bob, "pve1", 101).await.unwrap();
    let e = qemu::status::start::post(&bob, "pve1", 101, &Default::default())
        .await
        .unwrap_err();
    match &e {
        Error::Forbidden { message, required } => {
            assert!(message.contains("VM.PowerMgmt"), "{message}");
            assert_eq!(required.as_deref(), Some("VM.PowerMgmt on /vms/{vmid}"));
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn token_refusing_methods_are_not_sent_with_a_token() {
    let pve = FakePve::start().await;
    let client = alice(&pve);
    let params = proxmox_mcp::api::access::password::PutParams::new(
        "a-new-password-1".into(), // password
        "alice@pve".into(),        // userid
    );
    let e = proxmox_mcp::api::access::password::put(&client, &params)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::TokenNotAllowed { method } if method == "PUT /access/password"),
        "{e:?}"
    );
    assert!(e.to_string().contains("password"), "{e}");
    assert!(pve.requests().await.is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn encoding_follows_pve_rules() {
    let pve = FakePve::start().await;
    let client = alice(&pve);
    // POST: form body, booleans as 1/0.
    let params = qemu::status::stop::PostParams {
        skiplock: Some(false),
        timeout: Some(5),
        ..Default::default()
    };
    let upid = qemu::status::stop::post(&client, "pve1", 100, &params)
        .await
        .unwrap();
    client.wait_task(&upid, quick()).await.unwrap();
    // DELETE: parameters in the query string.
    let del = qemu::DeleteVmidParams {
        purge: Some(true),
        ..Default::default()
    };
    let upid = qemu::delete_vmid(&client, "pve1", 101, &del).await.unwrap();
    client.wait_task(&upid, quick()).await.unwrap();
    // A hostile node name is refused before sending (tests/sdk_safety.rs has the rest).
    let e = qemu::get(&client, "pve1/../../access", &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e:?}");

    let log = pve.requests().await;
    let stop = log
        .iter()
        .find(|r| r["path"] == "/api2/json/nodes/pve1/qemu/100/status/stop")
        .unwrap();
    assert_eq!(stop["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(stop["body"], "skiplock=0&timeout=5");
    let delete = log.iter().find(|r| r["method"] == "DELETE").unwrap();
    assert_eq!(delete["query_string"], "purge=1");
    assert_eq!(delete["body"], "");
    assert!(
        !log.iter()
            .any(|r| r["raw_path"].as_str().unwrap().contains("access")),
        "{log:#?}"
    );
}

/// An internal tool's edit of a VM: read the config, change a NIC, the memory and a disk, write
/// it back with the digest read, read it again. No string is parsed or built by hand.
#[tokio::test]
async fn a_vm_config_is_read_changed_and_written_back_typed() {
    let pve = FakePve::start().await;
    let client = alice(&pve);
    let config = qemu::config::get(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    // guests.json: net0 `virtio=BC:24:11:10:01:01,bridge=vmbr0,tag=20`, memory `8192`,
    // scsi1 `local-lvm:vm-101-disk-1,iothread=1,size=200G`.
    let mut net0 = config.net[&0].clone();
    assert_eq!(net0.model, Model::Virtio);
    assert_eq!(net0.macaddr.as_deref(), Some("BC:24:11:10:01:01"));
    assert_eq!(
        (net0.bridge.as_deref(), net0.tag),
        (Some("vmbr0"), Some(20))
    );
    let mut memory = config.memory.clone().expect("memory");
    assert_eq!(memory.current, 8192);
    let mut scsi1 = config.scsi[&1].clone();
    assert_eq!(scsi1.file, "local-lvm:vm-101-disk-1");
    assert_eq!(scsi1.iothread, Some(true));
    assert_eq!(config.ostype, Some(QemuOstype::L26));
    assert!(
        config
            .extra
            .keys()
            .all(|k| !k.starts_with("net") && !k.starts_with("scsi"))
    );

    net0.tag = Some(30);
    net0.firewall = Some(true);
    memory.current = 12288;
    scsi1.backup = Some(false);
    let mut change = qemu::config::PutParams {
        memory: Some(memory),
        digest: Some(config.digest.clone()),
        ..Default::default()
    };
    change.net.insert(0, net0.clone());
    change.scsi.insert(1, scsi1.clone());
    qemu::config::put(&client, "pve1", 101, &change)
        .await
        .unwrap();

    let after = qemu::config::get(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    assert_eq!(after.net[&0], net0);
    assert_eq!(after.memory.as_ref().map(|m| m.current), Some(12288));
    assert_eq!(after.scsi[&1], scsi1);
    assert_eq!(after.scsi[&0], config.scsi[&0], "scsi0 was not touched");
    assert_ne!(after.digest, config.digest);
    // What PVE stored is PVE's own form of each value.
    let raw = client
        .request(HttpMethod::Get, "/nodes/pve1/qemu/101/config", Form::new())
        .await
        .unwrap();
    assert_eq!(
        raw["net0"],
        "virtio=BC:24:11:10:01:01,bridge=vmbr0,firewall=1,tag=30"
    );
    assert_eq!(raw["memory"], "12288");
    assert_eq!(
        raw["scsi1"],
        "local-lvm:vm-101-disk-1,backup=0,iothread=1,size=200G"
    );
}

#[tokio::test]
async fn tls_trusts_the_ca_or_the_pinned_fingerprint_and_nothing_else() {
    let pve = FakePve::start().await;
    let token = pve.alice().token_header();
    let with = |tls: TlsMode| {
        Client::builder(pve.host())
            .port(pve.port())
            .token(&token)
            .unwrap()
            .tls(tls)
            .build()
            .unwrap()
    };
    proxmox_mcp::api::version::get(&with(TlsMode::CaFile(pve.ca_pem_path().into())))
        .await
        .unwrap();
    proxmox_mcp::api::version::get(&with(TlsMode::Fingerprint(pve.fingerprint().into())))
        .await
        .unwrap();
    let lower = pve.fingerprint().replace(':', "").to_lowercase();
    proxmox_mcp::api::version::get(&with(TlsMode::Fingerprint(lower)))
        .await
        .unwrap();

    // What the server presents, read without trusting it: the value to pin.
    let presented = proxmox_mcp::client::presented_fingerprint(
        pve.host(),
        pve.port(),
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(presented, pve.fingerprint());
    let wrong = "00:".repeat(31) + "00";
    let e = proxmox_mcp::api::version::get(&with(TlsMode::Fingerprint(wrong)))
        .await
        .unwrap_err();
    match &e {
        Error::Tls { message } => {
            assert!(
                message.contains("but the pinned fingerprint is"),
                "{message}"
            )
        }
        other => panic!("expected Tls, got {other:?}"),
    }
    let e = proxmox_mcp::api::version::get(&with(TlsMode::Strict))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Tls { .. }),
        "the fake's CA is not a system root: {e:?}"
    );
    assert!(!format!("{e}").contains(pve.alice().token_secret.as_str()));
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let pve = FakePve::start().await;
    pve.control(json!({"op": "call", "method": "flaky_network", "kwargs": {"hang_rate": 1.0, "hang_secs": 2}})).await;
    let client = builder(&pve)
        .timeout(Duration::from_millis(500))
        .token(&pve.alice().token_header())
        .unwrap()
        .build()
        .unwrap();
    let e = proxmox_mcp::api::version::get(&client).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
}

#[tokio::test]
async fn nothing_listens_is_a_connect_error() {
    let client = Client::builder("127.0.0.1")
        .port(1)
        .token("root@pam!x=y")
        .unwrap()
        .build()
        .unwrap();
    let e = proxmox_mcp::api::version::get(&client).await.unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("cannot connect to 127.0.0.1:1: connection refused (nothing was sent"),
        "{e}"
    );
}

/// Messages of connection and TLS failures: one sentence, no wrapper text repeated.
fn assert_clean(text: &str) {
    for noise in [
        "error sending request",
        "client error (Connect)",
        "tcp connect error",
        "os error",
        "unexpected error",
        "\n",
    ] {
        assert!(!text.contains(noise), "`{noise}` in {text}");
    }
}

#[tokio::test]
async fn a_closed_port_is_named_in_the_connect_error() {
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder("127.0.0.1")
        .port(port)
        .token("root@pam!x=y")
        .unwrap()
        .build()
        .unwrap();
    let e = proxmox_mcp::api::version::get(&client).await.unwrap_err();
    match &e {
        Error::Connect { message } => assert_eq!(
            message,
            &format!("cannot connect to 127.0.0.1:{port}: connection refused")
        ),
        other => panic!("expected Connect, got {other:?}"),
    }
    assert_clean(&e.to_string());
    assert!(!e.to_string().contains("=y"), "{e}");
}

#[tokio::test]
async fn tls_failures_read_as_one_sentence_naming_the_address() {
    let pve = FakePve::start().await;
    let addr = format!("{}:{}", pve.host(), pve.port());
    let with = |tls: TlsMode| {
        Client::builder(pve.host())
            .port(pve.port())
            .token(&pve.alice().token_header())
            .unwrap()
            .tls(tls)
            .build()
            .unwrap()
    };
    let e = proxmox_mcp::api::version::get(&with(TlsMode::Strict))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("TLS handshake with {addr} failed: ")),
        "{text}"
    );
    assert!(text.contains("(trust PVE's CA"), "{text}");
    assert_clean(&text);
    let wrong = "00:".repeat(31) + "00";
    let e = proxmox_mcp::api::version::get(&with(TlsMode::Fingerprint(wrong.clone())))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert_eq!(
        text,
        format!(
            "TLS handshake with {addr} failed: the server presents the certificate {}, but the \
             pinned fingerprint is {wrong}",
            pve.fingerprint()
        )
    );
    // Verify mode keeps its hint: the fingerprint to pin.
    let e = proxmox_mcp::api::version::get(&with(TlsMode::Verify(None)))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "TLS handshake with {addr} failed: certificate not trusted"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("PROXMOX_FINGERPRINT={}", pve.fingerprint())),
        "{text}"
    );
    assert_clean(&text);
}

#[tokio::test]
async fn a_bad_request_with_two_field_errors_is_one_tidy_line() {
    let pve = FakePve::start().await;
    let client = alice(&pve);
    let mut form = Form::new();
    form.text("cores", "abc");
    form.text("memory", "xyz");
    let e = client
        .request(HttpMethod::Put, "/nodes/pve1/qemu/101/config", form)
        .await
        .unwrap_err();
    match &e {
        Error::BadRequest { errors, .. } => {
            assert!(errors.contains_key("cores") && errors.contains_key("memory"))
        }
        other => panic!("expected BadRequest, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.starts_with("invalid parameters: cores: "), "{text}");
    assert!(text.contains("; memory: "), "{text}");
    assert!(!text.contains('\n') && !text.contains(".;"), "{text:?}");
    assert!(!text.ends_with('.'), "{text}");
    assert!(!text.contains("Parameter verification failed"), "{text}");
}

#[tokio::test]
async fn wait_task_ok_turns_a_failed_task_into_task_failed_with_the_log_tail() {
    let pve = FakePve::start().await;
    let client = alice(&pve);
    // A task that succeeds is Ok.
    let upid = qemu::status::start::post(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    let outcome = client.wait_task_ok(&upid, quick()).await.unwrap();
    assert_eq!(outcome.exit_status, "OK");
    let upid = qemu::status::stop::post(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    client.wait_task_ok(&upid, quick()).await.unwrap();

    pve.control(
        json!({"op": "set_vm", "vmid": 101, "start_error": "kvm: failed to open /dev/kvm"}),
    )
    .await;
    let upid = qemu::status::start::post(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    let e = client.wait_task_ok(&upid, quick()).await.unwrap_err();
    match &e {
        Error::TaskFailed {
            upid: failed,
            exit_status,
            log_tail,
        } => {
            assert_eq!(failed, upid.as_str());
            assert!(exit_status.contains("/dev/kvm"), "{exit_status}");
            assert!(
                log_tail.iter().any(|l| l.contains("TASK ERROR")),
                "{log_tail:?}"
            );
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("/dev/kvm")
            && text.contains("last log lines: ")
            && text.contains(upid.as_str()),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn a_stale_digest_is_a_conflict() {
    let pve = FakePve::start().await;
    let client = alice(&pve);
    let read = qemu::config::get(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    let digest = read.digest;
    // A write with the digest just read goes through and changes the digest...
    let first = qemu::config::PutParams {
        cores: Some(2),
        digest: Some(digest.clone()),
        ..Default::default()
    };
    qemu::config::put(&client, "pve1", 101, &first)
        .await
        .unwrap();
    // ...so a second write with the old one is refused, and nothing changes.
    let second = qemu::config::PutParams {
        cores: Some(6),
        digest: Some(digest),
        ..Default::default()
    };
    let e = qemu::config::put(&client, "pve1", 101, &second)
        .await
        .unwrap_err();
    match &e {
        Error::Conflict { message } => {
            assert!(message.contains("by other user"), "{message}");
            assert!(!message.ends_with('\n'), "{message:?}");
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(e.status(), Some(500));
    let now = qemu::config::get(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    assert_eq!(now.cores, Some(2));
}

/// The formats the schema only names (`src/codegen/named_formats.json`) go to PVE as PVE's own
/// form and come back typed; a disk size goes as PVE prints it.
#[tokio::test]
async fn named_formats_and_disk_sizes_are_written_and_read_back_typed() {
    use proxmox_mcp::enums::{QemuRng0Source, QemuWatchdogAction};
    use proxmox_mcp::formats::{QemuBoot, QemuCpu, QemuIpconfig, QemuRng0, QemuWatchdog, Startup};
    let pve = FakePve::start().await;
    let client = alice(&pve);
    let config = qemu::config::get(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    let mut scsi1 = config.scsi[&1].clone();
    scsi1.size = Some("204800M".into());
    let mut change = qemu::config::PutParams {
        cpu: Some("x86-64-v2-AES,flags=+aes".parse::<QemuCpu>().unwrap()),
        boot: Some(QemuBoot {
            order: Some("scsi0;net0".into()),
            ..Default::default()
        }),
        startup: Some(Startup {
            order: Some(1),
            up: Some(30),
            ..Default::default()
        }),
        rng0: Some(QemuRng0::new(QemuRng0Source::DevUrandom)),
        watchdog: Some(QemuWatchdog {
            action: Some(QemuWatchdogAction::Reset),
            ..Default::default()
        }),
        digest: Some(config.digest.clone()),
        ..Default::default()
    };
    change.ipconfig.insert(
        0,
        "ip=10.0.0.5/24,gw=10.0.0.1"
            .parse::<QemuIpconfig>()
            .unwrap(),
    );
    change.scsi.insert(1, scsi1);
    qemu::config::put(&client, "pve1", 101, &change)
        .await
        .unwrap();

    let raw = client
        .request(HttpMethod::Get, "/nodes/pve1/qemu/101/config", Form::new())
        .await
        .unwrap();
    assert_eq!(raw["cpu"], "x86-64-v2-AES,flags=+aes");
    assert_eq!(raw["boot"], "order=scsi0;net0");
    assert_eq!(raw["startup"], "1,up=30");
    assert_eq!(raw["rng0"], "/dev/urandom");
    assert_eq!(raw["watchdog"], "action=reset");
    assert_eq!(raw["ipconfig0"], "gw=10.0.0.1,ip=10.0.0.5/24");
    assert_eq!(raw["scsi1"], "local-lvm:vm-101-disk-1,iothread=1,size=200G");

    let after = qemu::config::get(&client, "pve1", 101, &Default::default())
        .await
        .unwrap();
    assert_eq!(after.cpu, change.cpu);
    assert_eq!(after.boot, change.boot);
    assert_eq!(after.startup, change.startup);
    assert_eq!(after.rng0, change.rng0);
    assert_eq!(after.watchdog, change.watchdog);
    assert_eq!(after.ipconfig[&0], change.ipconfig[&0]);
    assert_eq!(after.scsi[&1].size.as_deref(), Some("200G"));
    for key in ["cpu", "boot", "startup", "rng0", "watchdog", "ipconfig0"] {
        assert!(!after.extra.contains_key(key), "{key} was not read typed");
    }
}

/// A file of `len` bytes (a repeating pattern) in a fresh directory of the test's own.
fn local_file(dir_name: &str, name: &str, len: usize) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pmcp-{dir_name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The upload method sends the file as multipart/form-data: the parameters as text parts, the
/// file last with its name, a Content-Length, the CSRF token of a ticket; PVE keeps the file.
#[tokio::test]
async fn a_file_is_uploaded_as_multipart_form_data() {
    use proxmox_mcp::api::nodes::storage;
    use proxmox_mcp::client::UploadFile;
    use proxmox_mcp::enums::{ChecksumAlgorithm, Content};
    let pve = FakePve::start().await;
    let client = root_ticket(&pve);
    let path = local_file("sdk-upload", "local-name.iso", 3 * 1024 * 1024 + 17);
    let file = UploadFile::open(&path).await.unwrap();
    assert_eq!(file.len(), 3 * 1024 * 1024 + 17);
    let sum = file.sha256().await.unwrap();
    let mut params = storage::upload::PostParams::new(Content::Iso, "debian-13.iso".into());
    params.checksum = Some(sum.clone());
    params.checksum_algorithm = Some(ChecksumAlgorithm::Sha256);
    let upid = storage::upload::post(&client, "pve1", "local", &params, &file)
        .await
        .unwrap();
    assert!(client.wait_task(&upid, quick()).await.unwrap().success);

    let log = pve.requests().await;
    let up = log
        .iter()
        .find(|r| r["path"] == "/api2/json/nodes/pve1/storage/local/upload")
        .unwrap();
    assert_eq!(up["status"], 200);
    assert_eq!(up["csrf_valid"], true);
    let ctype = up["content_type"].as_str().unwrap();
    assert!(ctype.starts_with("multipart/form-data"), "{ctype}");
    let length: u64 = up["headers"]["content-length"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        length > file.len() && length < file.len() + 1024,
        "{length}"
    );
    // The text parts come first (the log keeps the body's first 64 KiB), the file last.
    let body = up["body"].as_str().unwrap();
    let at = |needle: &str| {
        body.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in {}", &body[..600]))
    };
    let file_part = at("name=\"filename\"; filename=\"debian-13.iso\"");
    for part in [
        "name=\"content\"\r\n\r\niso\r\n".to_string(),
        format!("name=\"checksum\"\r\n\r\n{sum}\r\n"),
        "name=\"checksum-algorithm\"\r\n\r\nsha256\r\n".to_string(),
    ] {
        assert!(at(&part) < file_part, "{part} after the file");
    }
    assert!(!body.contains("local-name"), "the local name stays local");

    // PVE keeps it under the name given, with every byte.
    let content = client
        .execute(
            proxmox_mcp::catalog::find(HttpMethod::Get, "/nodes/{node}/storage/{storage}/content")
                .unwrap(),
            &["pve1", "local"],
            Form::new(),
        )
        .await
        .unwrap();
    let iso = content
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["volid"] == "local:iso/debian-13.iso")
        .unwrap_or_else(|| panic!("{content}"));
    assert_eq!(iso["size"], json!(file.len()));
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// A file that changed after it was opened is refused before anything is sent; a file-restore
/// download is read as bytes, up to the limit given.
#[tokio::test]
async fn a_changed_file_is_not_sent_and_a_download_is_read_as_bytes() {
    use proxmox_mcp::api::nodes::storage;
    use proxmox_mcp::client::UploadFile;
    use proxmox_mcp::enums::Content;
    let pve = FakePve::start().await;
    let client = root_ticket(&pve);
    let path = local_file("sdk-upload-changed", "a.iso", 1000);
    let file = UploadFile::open(&path).await.unwrap();
    std::fs::write(&path, b"shorter").unwrap();
    let params = storage::upload::PostParams::new(Content::Iso, "a.iso".into());
    let e = storage::upload::post(&client, "pve1", "local", &params, &file)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::LocalFile { .. }), "{e:?}");
    assert!(e.to_string().contains("changed from 1000 to 7"), "{e}");
    assert!(
        !pve.requests()
            .await
            .iter()
            .any(|r| r["path"].as_str().unwrap().ends_with("/upload")),
        "nothing sent"
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());

    pve.control(json!({"op": "script", "method": "GET",
        "path": "/nodes/pve1/storage/pbs/file-restore/download",
        "body": "hello from the backup\n", "content_type": "application/octet-stream"}))
        .await;
    let params = storage::file_restore::download::GetParams {
        filepath: "L2V0Yy9ob3N0bmFtZQ==".into(),
        tar: None,
        volume: "pbs:backup/vm/100/2025-01-01T00:00:00Z".into(),
    };
    let whole = storage::file_restore::download::get(&client, "pve1", "pbs", &params, 1024)
        .await
        .unwrap();
    assert_eq!(whole.bytes, b"hello from the backup\n");
    assert!(!whole.cut);
    assert_eq!(
        whole.content_type.as_deref(),
        Some("application/octet-stream")
    );
    let cut = storage::file_restore::download::get(&client, "pve1", "pbs", &params, 5)
        .await
        .unwrap();
    assert_eq!(cut.bytes, b"hello");
    assert!(cut.cut);
    let log = pve.requests().await;
    let get = log
        .iter()
        .rfind(|r| r["path"] == "/api2/json/nodes/pve1/storage/pbs/file-restore/download")
        .unwrap();
    assert_eq!(
        get["query"],
        json!([
            ["filepath", "L2V0Yy9ob3N0bmFtZQ=="],
            ["volume", "pbs:backup/vm/100/2025-01-01T00:00:00Z"]
        ])
    );
}
