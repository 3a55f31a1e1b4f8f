//! The SDK's safety rails against fakepve: path values that cannot change the route (asserted on
//! the route the fake resolved, from its request log), optional returns, bounded answers, error
//! mapping that does not overclaim, lost connections, concurrent re-logins, two-factor logins,
//! task waits that survive passing errors, and methods the SDK cannot send yet.

mod common;

use std::time::Duration;

use common::{FakePve, alice, builder, root_ticket};
use proxmox_mcp::api::{cluster, nodes, pools};
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::params::Form;
use proxmox_mcp::{Error, WaitOptions};
use serde_json::{Value, json};

/// The requests fakepve saw since the last call, and forgets them.
async fn take_requests(pve: &FakePve) -> Vec<Value> {
    match pve.control(json!({"op": "requests", "clear": true})).await {
        Value::Array(items) => items,
        other => panic!("requests: {other}"),
    }
}

/// Asserts that what reached the fake (if anything) was routed to `template` with `params`.
fn assert_routed(log: &[Value], template: &str, params: &[(&str, &str)], what: &str) {
    assert!(log.len() <= 1, "{what}: more than one request: {log:#?}");
    for r in log {
        let route = &r["route"];
        assert_eq!(
            route["template"].as_str(),
            Some(template),
            "{what}: fakepve routed {} {} elsewhere: {route}",
            r["method"],
            r["raw_path"]
        );
        for (k, v) in params {
            assert_eq!(
                route["params"][*k].as_str(),
                Some(*v),
                "{what}: `{k}` arrived as {} (raw path {})",
                route["params"][*k],
                r["raw_path"]
            );
        }
    }
}

#[tokio::test]
async fn dot_segments_and_slashes_never_reach_another_route() {
    let pve = FakePve::start().await;
    let c = alice(&pve);
    for bad in [
        "..",
        ".",
        "",
        "%2e%2e",
        "%2E%2E",
        "a/0",
        "a%2F0",
        "%252e%252e",
    ] {
        let e = nodes::lxc::snapshot::delete_snapname(&c, "pve1", 200, bad, &Default::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameter { name, .. } if name == "snapname"),
            "{bad:?}: {e:?}"
        );
        let e = nodes::qemu::snapshot::delete_snapname(&c, "pve1", 100, bad, &Default::default())
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { .. }),
            "{bad:?}: {e:?}"
        );
        let e = cluster::firewall::groups::delete_group(&c, bad)
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { .. }),
            "{bad:?}: {e:?}"
        );
    }
    // The same through the generic path, as the CLI and generic tools send it.
    for path in [
        "/nodes/pve1/lxc/200/snapshot/%2E%2E",
        "/nodes/pve1/lxc/200/snapshot/%2e%2e",
        "/nodes/pve1/lxc/200/snapshot/..",
        "/nodes/pve1/lxc/200/snapshot/.",
        "/nodes/pve1/lxc/200/snapshot/",
        "/nodes/pve1/lxc/200/snapshot//",
        "/cluster/firewall/groups/web%2F0",
        "/nodes/pve1/lxc/%32%30%30/../../qemu/100",
    ] {
        let mut form = Form::new();
        form.text("force", "1");
        let e = c.request(HttpMethod::Delete, path, form).await.unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { .. }), "{path}: {e:?}");
    }
    let log = take_requests(&pve).await;
    assert!(log.is_empty(), "requests reached fakepve: {log:#?}");

    // A good value reaches exactly its route.
    nodes::lxc::snapshot::delete_snapname(&c, "pve1", 200, "no-such-snap", &Default::default())
        .await
        .ok();
    let log = take_requests(&pve).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_routed(
        &log,
        "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}",
        &[
            ("node", "pve1"),
            ("vmid", "200"),
            ("snapname", "no-such-snap"),
        ],
        "good snapname",
    );
    // A volume ID keeps its slash, as PVE's route expects.
    c.request(
        HttpMethod::Get,
        "/nodes/pve1/storage/local/content/local:iso/debian-12.iso",
        Form::new(),
    )
    .await
    .ok();
    let log = take_requests(&pve).await;
    assert_routed(
        &log,
        "/nodes/{node}/storage/{storage}/content/{volume}",
        &[("volume", "local:iso/debian-12.iso")],
        "volume",
    );
}

/// A small deterministic generator of hostile strings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn value(&mut self) -> String {
        const PARTS: &[&str] = &[
            "..",
            ".",
            "/",
            "%2e",
            "%2E",
            "%2F",
            "%2f",
            "%25",
            "%",
            "a",
            "snap",
            "-",
            "_",
            "?",
            "#",
            " ",
            "\\",
            "é",
            "\u{0}",
            "\n",
            ";",
            ":",
            "@",
            "+",
            "&",
            "=",
            "%00",
            "~",
            "0",
            "local:iso",
            "web",
        ];
        let n = self.next() % 6;
        (0..n)
            .map(|_| PARTS[(self.next() % PARTS.len() as u64) as usize])
            .collect()
    }
}

#[tokio::test]
async fn arbitrary_path_values_reach_their_own_route_or_nothing() {
    let pve = FakePve::start().await;
    let c = alice(&pve);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    take_requests(&pve).await;
    let mut sent = 0;
    for round in 0..120 {
        let v = rng.value();
        let what = format!("round {round}: {v:?}");

        let r =
            nodes::lxc::snapshot::delete_snapname(&c, "pve1", 200, &v, &Default::default()).await;
        let log = take_requests(&pve).await;
        sent += log.len();
        if r.as_ref()
            .is_err_and(|e| matches!(e, Error::InvalidParameter { .. }))
        {
            assert!(log.is_empty(), "{what}: refused but sent: {log:#?}");
        }
        assert_routed(
            &log,
            "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}",
            &[("snapname", &v)],
            &what,
        );

        cluster::firewall::groups::delete_group(&c, &v).await.ok();
        let log = take_requests(&pve).await;
        sent += log.len();
        assert_routed(
            &log,
            "/cluster/firewall/groups/{group}",
            &[("group", &v)],
            &what,
        );

        nodes::qemu::status::current::get(&c, &v, 100).await.ok();
        let log = take_requests(&pve).await;
        sent += log.len();
        assert_routed(
            &log,
            "/nodes/{node}/qemu/{vmid}/status/current",
            &[("node", &v)],
            &what,
        );

        nodes::storage::content::get_volume(&c, "pve1", "local", &v)
            .await
            .ok();
        let log = take_requests(&pve).await;
        sent += log.len();
        assert_routed(
            &log,
            "/nodes/{node}/storage/{storage}/content/{volume}",
            &[("volume", &v)],
            &what,
        );

        pools::get_poolid(&c, &v, &Default::default()).await.ok();
        let log = take_requests(&pve).await;
        sent += log.len();
        assert_routed(&log, "/pools/{poolid}", &[("poolid", &v)], &what);

        // The generic path: the value written into the path as it is. Whatever the client sends
        // must be routed where the catalog resolved it.
        let path = format!("/nodes/pve1/lxc/200/snapshot/{v}");
        let resolved = proxmox_mcp::path::resolve(HttpMethod::Delete, &path);
        c.request(HttpMethod::Delete, &path, Form::new()).await.ok();
        let log = take_requests(&pve).await;
        sent += log.len();
        if let Ok((ep, values)) = &resolved {
            let names: Vec<&str> = ep.path_vars.iter().map(|p| p.name).collect();
            let params: Vec<(&str, &str)> = names
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            assert_routed(&log, ep.path, &params, &what);
        } else {
            assert!(
                log.is_empty(),
                "{what}: unresolvable path was sent: {log:#?}"
            );
        }
    }
    // The generator is not so hostile that nothing is ever sent.
    assert!(sent > 50, "only {sent} requests were sent");
}

#[tokio::test]
async fn optional_returns_accept_null() {
    let pve = FakePve::start().await;
    let params = nodes::storage::content::DeleteVolumeParams { delay: Some(5) };
    let r = nodes::storage::content::delete_volume(
        &root_ticket(&pve),
        "pve1",
        "local",
        "local:iso/debian-12.iso",
        &params,
    )
    .await
    .unwrap();
    assert_eq!(r, None);
}

#[tokio::test]
async fn answers_are_bounded() {
    let pve = FakePve::start().await;
    let small = builder(&pve)
        .token(&pve.alice().token_header())
        .unwrap()
        .max_response_bytes(200)
        .build()
        .unwrap();
    let e = cluster::resources::get(&small, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(e, Error::ResponseTooLarge { limit: 200 });
    assert!(e.to_string().contains("200 bytes"), "{e}");
    // The default limit reads it.
    cluster::resources::get(&alice(&pve), &Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_missing_storage_during_a_create_is_not_a_missing_vm() {
    let pve = FakePve::start().await;
    pve.control(
        json!({"op": "fail", "method": "POST", "suffix": "/nodes/{node}/qemu",
        "status": 500, "message": "storage 'nfs9' does not exist"}),
    )
    .await;
    let mut form = Form::new();
    form.text("vmid", "900");
    form.text("scsi0", "nfs9:8");
    let e = alice(&pve)
        .request(HttpMethod::Post, "/nodes/pve1/qemu", form)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Server { status: 500, .. }), "{e:?}");
    assert!(
        e.to_string().contains("storage 'nfs9' does not exist"),
        "{e}"
    );
    // While a missing guest still is one.
    let e = nodes::qemu::status::current::get(&alice(&pve), "pve1", 999)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn a_reason_phrase_with_non_ascii_bytes_still_reads() {
    let pve = FakePve::start().await;
    pve.control(
        json!({"op": "fail", "method": "GET", "suffix": "/version", "status": 500,
        "message": "Größe ungültig"}),
    )
    .await;
    let e = proxmox_mcp::api::version::get(&alice(&pve))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("Größe ungültig"), "{text}");
    assert!(!text.ends_with("Internal Server Error"), "{text}");
}

#[tokio::test]
async fn a_connection_lost_after_sending_is_not_a_connect_error() {
    let pve = FakePve::start().await;
    pve.control(json!({"op": "call", "method": "flaky_network", "kwargs": {"drop_rate": 1.0}}))
        .await;
    let e = nodes::qemu::status::start::post(&alice(&pve), "pve1", 101, &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ConnectionLost { .. }), "{e:?}");
    assert!(
        e.to_string().contains("may or may not have taken effect"),
        "{e}"
    );
    // A closed port is a connect error: nothing was sent.
    let closed = std::net::TcpListener::bind((pve.host(), 0)).unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let e = builder(&pve)
        .port(port)
        .token(&pve.alice().token_header())
        .unwrap()
        .build()
        .unwrap()
        .request(HttpMethod::Get, "/version", Form::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
}

#[tokio::test]
async fn concurrent_callers_after_a_revoked_ticket_log_in_once() {
    let pve = FakePve::start().await;
    let c = root_ticket(&pve);
    proxmox_mcp::api::version::get(&c).await.unwrap();
    pve.control(json!({"op": "revoke_tickets"})).await;
    take_requests(&pve).await;
    let calls = (0..6).map(|_| {
        let c = c.clone();
        tokio::spawn(async move { proxmox_mcp::api::version::get(&c).await })
    });
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let logins = take_requests(&pve)
        .await
        .iter()
        .filter(|r| r["raw_path"] == "/api2/json/access/ticket")
        .count();
    assert_eq!(logins, 1, "each caller should not log in anew");
}

#[tokio::test]
async fn a_login_that_needs_two_factors_says_so() {
    let pve = FakePve::start().await;
    pve.control(json!({"op": "set", "tfa": true})).await;
    let e = proxmox_mcp::api::version::get(&root_ticket(&pve))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        Error::TwoFactorRequired {
            user: "root@pam".into()
        }
    );
    let text = e.to_string();
    assert!(
        text.contains("two-factor") && text.contains("API token"),
        "{text}"
    );
}

#[tokio::test]
async fn task_waits_poll_gently_survive_passing_errors_and_keep_the_upid() {
    let pve = FakePve::start_with(common::StartOptions {
        time_scale: 1.0,
        guests: None,
    })
    .await;
    pve.control(json!({"op": "set_vm", "vmid": 100, "shutdown_secs": 60}))
        .await;
    let c = alice(&pve);
    let upid = nodes::qemu::status::shutdown::post(&c, "pve1", 100, &Default::default())
        .await
        .unwrap();
    take_requests(&pve).await;
    // A zero max_poll still pauses between polls.
    let opts = WaitOptions {
        timeout: Duration::from_millis(600),
        max_poll: Duration::ZERO,
        ..WaitOptions::default()
    };
    let e = c.wait_task(&upid, opts).await.unwrap_err();
    assert!(matches!(e, Error::TaskTimeout { .. }), "{e:?}");
    let polls = take_requests(&pve).await.len();
    assert!((2..=20).contains(&polls), "{polls} status polls in 600 ms");

    // Passing errors are retried; a task that then finishes is reported.
    let started = nodes::qemu::status::start::post(&c, "pve1", 101, &Default::default())
        .await
        .unwrap();
    pve.control(json!({"op": "fail", "method": "GET",
        "suffix": "/nodes/{node}/tasks/{upid}/status", "status": 503,
        "message": "service busy", "times": 2}))
        .await;
    let opts = WaitOptions {
        timeout: Duration::from_secs(30),
        ..WaitOptions::default()
    };
    let done = c.wait_task(&started, opts).await.unwrap();
    assert!(done.success, "{done:?}");

    // Other errors end the wait, with the UPID kept.
    pve.control(json!({"op": "fail", "method": "GET",
        "suffix": "/nodes/{node}/tasks/{upid}/status", "status": 403,
        "message": "Permission check failed"}))
        .await;
    let e = c
        .wait_task(&upid, WaitOptions::default())
        .await
        .unwrap_err();
    match &e {
        Error::TaskWaitFailed { upid: u, error } => {
            assert_eq!(u, upid.as_str());
            assert!(matches!(**error, Error::Forbidden { .. }), "{error:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains(upid.as_str()), "{e}");
}

#[tokio::test]
async fn the_upload_method_is_refused_as_a_plain_request() {
    let pve = FakePve::start().await;
    let c = alice(&pve);
    // A form without the file: the method takes one, which only the generated function sends.
    let e = c
        .request(
            HttpMethod::Post,
            "/nodes/pve1/storage/local/upload",
            Form::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("upload::post") && text.contains("download-url"),
        "{text}"
    );
    assert!(take_requests(&pve).await.is_empty());
}

/// The binary installs a log subscriber, so the insecure-mode warning reaches stderr.
#[tokio::test]
async fn the_insecure_warning_is_printed() {
    let pve = FakePve::start().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .args(["call", "GET", "/version"])
        .env_clear()
        .env("PROXMOX_HOST", pve.host())
        .env("PROXMOX_PORT", pve.port().to_string())
        .env("PROXMOX_TOKEN", pve.alice().token_header())
        .env("PROXMOX_SSL_MODE", "insecure")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("TLS verification is OFF"), "{stderr}");
    assert!(!stderr.contains(&pve.alice().token_secret), "{stderr}");
}
