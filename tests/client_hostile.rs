//! The SDK against a PVE that answers in hostile or unusual ways (fakepve's scripted answers):
//! redirects are never followed, a huge 400 answer gives a bounded error, and integer path
//! values go out in canonical form.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{FakePve, alice};
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::params::Form;
use proxmox_mcp::{Error, path};
use serde_json::{Value, json};

/// A plain TCP listener on loopback that counts the connections it gets.
async fn bystander() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (format!("http://{addr}"), hits)
}

async fn log_paths(pve: &FakePve) -> Vec<(String, String)> {
    pve.requests()
        .await
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap_or_default().to_string(),
                r["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let pve = FakePve::start().await;
    let (elsewhere, hits) = bystander().await;
    let target = format!("{elsewhere}/latest/meta-data/iam");
    pve.control(
        json!({"op": "script", "method": "GET", "path": "/nodes/pve1/status",
                       "status": 302, "headers": {"Location": target}, "body": ""}),
    )
    .await;
    let post_target = format!("{elsewhere}/internal-admin/reboot");
    pve.control(json!({"op": "script", "method": "POST",
                       "path": "/nodes/pve1/qemu/100/status/start",
                       "status": 307, "headers": {"Location": post_target}, "body": ""}))
        .await;
    let client = alice(&pve);

    let e = client
        .request(HttpMethod::Get, "/nodes/pve1/status", Form::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Redirect { status: 302, location: Some(l) } if *l == target),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("302 Found")
            && text.contains(&target)
            && text.contains("does not follow redirects"),
        "{text}"
    );
    assert_eq!(e.status(), Some(302));

    let mut form = Form::new();
    form.text("timeout", "5");
    let e = client
        .request(HttpMethod::Post, "/nodes/pve1/qemu/100/status/start", form)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Redirect { status: 307, location: Some(l) } if *l == post_target),
        "{e:?}"
    );
    assert!(e.to_string().contains("307 Temporary Redirect"), "{e}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "a redirect was followed");
    let log = log_paths(&pve).await;
    let sent: Vec<&(String, String)> = log
        .iter()
        .filter(|(_, p)| p.ends_with("/nodes/pve1/status") || p.ends_with("/status/start"))
        .collect();
    assert_eq!(sent.len(), 2, "{log:?}");
}

#[tokio::test]
async fn a_huge_bad_request_answer_gives_a_bounded_error() {
    let pve = FakePve::start().await;
    let mut errors = serde_json::Map::new();
    errors.insert("cores".into(), json!("M".repeat(3 << 20)));
    for i in 0..30 {
        errors.insert(format!("field{i:02}"), json!(format!("bad value {i}")));
    }
    let body = json!({"data": null, "message": "parameter verification failed.",
                      "errors": errors})
    .to_string();
    pve.control(json!({"op": "script", "method": "POST",
                       "path": "/nodes/pve1/qemu/100/status/start",
                       "status": 400, "reason": "Parameter verification failed.",
                       "body": body}))
        .await;
    let e = alice(&pve)
        .request(
            HttpMethod::Post,
            "/nodes/pve1/qemu/100/status/start",
            Form::new(),
        )
        .await
        .unwrap_err();
    let Error::BadRequest { errors, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(errors.len(), 21, "{:?}", errors.keys());
    assert!(errors["cores"].len() <= 510, "{}", errors["cores"].len());
    let text = e.to_string();
    assert!(text.len() < 12_000, "{} bytes", text.len());
    assert!(text.contains("11 more fields not shown"), "{text}");
    assert!(text.contains("field00: bad value 0"), "{text}");
}

#[tokio::test]
async fn integer_path_values_are_sent_canonical() {
    // resolve gives the canonical value back.
    let (ep, values) =
        path::resolve(HttpMethod::Get, "/nodes/pve1/qemu/0100/status/current").unwrap();
    assert_eq!(ep.path, "/nodes/{node}/qemu/{vmid}/status/current");
    assert_eq!(values, ["pve1", "100"]);
    let (_, values) =
        path::resolve(HttpMethod::Get, "/nodes/pve1/qemu/%2B100/status/current").unwrap();
    assert_eq!(values, ["pve1", "100"]);

    let pve = FakePve::start().await;
    let client = alice(&pve);
    for p in [
        "/nodes/pve1/qemu/0100/status/current",
        "/nodes/pve1/qemu/%2B100/status/current",
    ] {
        let v: Value = client
            .request(HttpMethod::Get, p, Form::new())
            .await
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(v["vmid"], 100, "{v}");
    }
    // Through execute as well (what generated functions and the MCP tools use).
    let ep =
        proxmox_mcp::catalog::find(HttpMethod::Get, "/nodes/{node}/qemu/{vmid}/status/current")
            .unwrap();
    client
        .execute(ep, &["pve1", "00100"], Form::new())
        .await
        .unwrap();
    for bad in [" 100", "100 ", "1e2", "0x64", "10 0", ""] {
        let e = client
            .execute(ep, &["pve1", bad], Form::new())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameter { name, .. } if name == "vmid"),
            "{bad:?}: {e:?}"
        );
    }
    let log = log_paths(&pve).await;
    let sent: Vec<&str> = log.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(
        sent, ["/api2/json/nodes/pve1/qemu/100/status/current"; 3],
        "{log:?}"
    );
}
