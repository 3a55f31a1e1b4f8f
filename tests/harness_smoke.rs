//! The fakepve test harness works: TLS verified against its CA, tokens, permissions, control endpoint.

mod common;

use common::FakePve;
use serde_json::{Value, json};

async fn get_json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("reading body");
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, value)
}

#[tokio::test]
async fn version_with_api_token_over_verified_tls() {
    let pve = FakePve::start().await;
    let ca = reqwest::Certificate::from_pem(&pve.ca_pem()).expect("CA PEM");
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .tls_info(true)
        .http1_only()
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client");

    let resp = client
        .get(pve.api_url("/version"))
        .header("Authorization", pve.alice().token_header())
        .send()
        .await
        .expect("GET /version");

    // The certificate served is the one whose fingerprint the ready file names.
    let der = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("peer certificate")
        .to_vec();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
    let fp = digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    assert_eq!(fp, pve.fingerprint());

    let (status, body) = get_json(resp).await;
    assert_eq!(status, 200, "{body}");
    let version = body["data"]["version"].as_str().expect("data.version");
    assert!(version.starts_with("9."), "{version}");

    // A client that does not trust the fake's CA refuses it.
    let other = reqwest::Client::builder()
        .tls_certs_only(Vec::<reqwest::Certificate>::new())
        .http1_only()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client");
    assert!(other.get(pve.api_url("/version")).send().await.is_err());

    // The request log shows what went over the wire.
    let reqs = pve.requests().await;
    let last = reqs.last().expect("a recorded request");
    assert_eq!(last["method"], "GET");
    assert_eq!(last["path"], "/api2/json/version");
    assert_eq!(last["status"], 200);
    assert_eq!(last["auth"]["kind"], "token");
    assert_eq!(last["auth"]["id"], "alice@pve!ci");
    assert_eq!(last["auth"]["valid"], true);
    assert_eq!(
        last["headers"]["authorization"],
        "PVEAPIToken=alice@pve!ci=***"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_token_is_refused_and_control_works() {
    let pve = FakePve::start().await;
    let client = pve.reqwest_client();
    let start = format!("/nodes/{}/qemu/101/status/start", pve.node());

    let (status, body) = get_json(
        client
            .post(pve.api_url(&start))
            .header("Authorization", pve.bob().token_header())
            .send()
            .await
            .expect("POST start as bob"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "Permission check failed (/vms/101, VM.PowerMgmt)\n"
    );

    // Bob may still look.
    let (status, body) = get_json(
        client
            .get(pve.api_url(&format!("/nodes/{}/qemu/101/status/current", pve.node())))
            .header("Authorization", pve.bob().token_header())
            .send()
            .await
            .expect("GET status as bob"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "stopped");

    // An injected failure, then alice's start goes through once it is reset.
    pve.control(
        json!({"op": "fail", "method": "POST", "suffix": start, "status": 500, "message": "boom"}),
    )
    .await;
    let post_start = || {
        client
            .post(pve.api_url(&start))
            .header("Authorization", pve.alice().token_header())
            .send()
    };
    let (status, body) = get_json(post_start().await.expect("POST start")).await;
    assert_eq!((status, body["message"].as_str()), (500, Some("boom\n")));
    pve.control(json!({"op": "reset_faults"})).await;
    let (status, body) = get_json(post_start().await.expect("POST start")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]
            .as_str()
            .unwrap_or("")
            .starts_with("UPID:pve1:"),
        "{body}"
    );
    let vm = pve.control(json!({"op": "get_vm", "vmid": 101})).await;
    assert_eq!(vm["status"], "running");

    let (status, answer) = pve.control_raw(json!({"op": "no-such-op"})).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or("")
            .contains("unknown op"),
        "{answer}"
    );
}
