//! The `proxmox-mcp` binary against fakepve: settings from the environment, TLS modes, elevation.

mod common;

use common::FakePve;

/// Runs the binary with only these variables set; returns (success, stdout, stderr).
async fn run(args: &[&str], vars: &[(&str, String)]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .args(args)
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn base(pve: &FakePve) -> Vec<(&'static str, String)> {
    vec![
        ("PROXMOX_HOST", pve.host().to_string()),
        ("PROXMOX_PORT", pve.port().to_string()),
        ("PROXMOX_USER", "alice@pve".to_string()),
        ("PROXMOX_TOKEN_NAME", "ci".to_string()),
        ("PROXMOX_TOKEN_VALUE", pve.alice().token_secret.clone()),
    ]
}

#[tokio::test]
async fn verify_mode_trusts_the_ca_file_or_shows_the_fingerprint_to_pin() {
    let pve = FakePve::start().await;
    let mut vars = base(&pve);
    vars.push(("PROXMOX_SSL_MODE", "verify".to_string()));
    let (ok, _, err) = run(&["call", "GET", "/version"], &vars).await;
    assert!(!ok, "a certificate of an unknown CA was accepted");
    assert!(err.contains(pve.fingerprint()), "{err}");
    assert!(err.contains("PROXMOX_FINGERPRINT"), "{err}");
    vars.push((
        "PROXMOX_SSL_CA_CERT",
        pve.ca_pem_path().display().to_string(),
    ));
    let (ok, out, err) = run(&["call", "GET", "/version"], &vars).await;
    assert!(ok, "{err}");
    assert!(out.contains("\"version\""), "{out}");
    assert!(!err.contains(&pve.alice().token_secret));
}

#[tokio::test]
async fn writes_need_elevation_and_nothing_is_sent_without_it() {
    let pve = FakePve::start().await;
    let mut vars = base(&pve);
    vars.push(("PROXMOX_FINGERPRINT", pve.fingerprint().to_string()));
    pve.clear_requests().await;
    let args = ["call", "POST", "/nodes/pve1/qemu/101/status/start"];
    let (ok, _, err) = run(&args, &vars).await;
    assert!(!ok);
    assert!(err.contains("PROXMOX_ALLOW_ELEVATED"), "{err}");
    assert!(pve.requests().await.is_empty());
    vars.push(("PROXMOX_ALLOW_ELEVATED", "maybe".to_string()));
    let (ok, _, err) = run(&args, &vars).await;
    assert!(!ok && err.contains("neither true nor false"), "{err}");
    vars.pop();
    vars.push(("PROXMOX_ALLOW_ELEVATED", "true".to_string()));
    let (ok, out, err) = run(&[&args[..], &["--wait"]].concat(), &vars).await;
    assert!(ok, "{err}");
    assert!(out.contains("UPID:pve1:"), "{out}");
    assert!(err.contains(": OK"), "{err}");
    let vm = pve
        .control(serde_json::json!({"op": "get_vm", "vmid": 101}))
        .await;
    assert_eq!(vm["status"], "running");
}
