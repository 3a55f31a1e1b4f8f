//! `proxmox-mcp doctor` against fakepve: a healthy setup, and one failure per step, each named
//! with its own cause and a non-zero exit.

mod common;

use common::FakePve;

/// Runs `doctor` with exactly these variables: (success, stdout + stderr).
fn doctor(vars: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
        .arg("doctor")
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A line of the report that starts with `[mark] step`.
fn line<'a>(text: &'a str, mark: &str, step: &str) -> &'a str {
    let head = format!("[{mark}] {step}");
    text.lines()
        .find(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no `{head}` line in:\n{text}"))
}

#[tokio::test]
async fn doctor_passes_and_names_each_failure() {
    let pve = FakePve::start().await;
    let port = pve.port().to_string();
    let secret = pve.alice().token_secret.clone();
    let token = format!("{}={secret}", pve.alice().token_id);
    let base = [
        ("PROXMOX_HOST", pve.host()),
        ("PROXMOX_PORT", port.as_str()),
        ("PROXMOX_TOKEN", token.as_str()),
        ("PROXMOX_FINGERPRINT", pve.fingerprint()),
    ];
    let with = |over: &[(&'static str, &str)]| -> Vec<(&str, String)> {
        base.iter()
            .map(|(k, v)| {
                let v = over
                    .iter()
                    .find(|(o, _)| o == k)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_else(|| v.to_string());
                (*k, v)
            })
            .collect()
    };
    let run = |vars: Vec<(&str, String)>| {
        let v: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        doctor(&v, &[])
    };

    // Healthy: every step passes; the sources are named; no secret is printed.
    let (ok, text) = run(with(&[]));
    assert!(ok, "{text}");
    let config = line(&text, " ok ", "configuration");
    assert!(
        config.contains("(PROXMOX_HOST)") && config.contains("API token alice@pve!ci"),
        "{config}"
    );
    assert!(line(&text, " ok ", "dns").contains(pve.host()));
    line(&text, " ok ", "tcp");
    assert!(
        line(&text, " ok ", "tls").contains(pve.fingerprint()),
        "{text}"
    );
    assert!(line(&text, " ok ", "auth").contains("alice@pve!ci"));
    let version = text
        .lines()
        .find(|l| l.contains("] version"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(version.contains("PVE 9."), "{version}");
    assert!(text.contains("] privileges"), "{text}");
    assert!(!text.contains(&secret), "the token secret was printed");

    // bob's read-only token: the privileges step names the tools PVE would refuse.
    let bob = format!("{}={}", pve.bob().token_id, pve.bob().token_secret);
    let (ok, text) = run(with(&[("PROXMOX_TOKEN", &bob)]));
    assert!(
        ok,
        "a missing privilege is a warning, not a failure: {text}"
    );
    let warn = line(&text, "warn", "privileges");
    assert!(
        warn.contains("bob@pve!ro lacks privileges")
            && warn.contains("proxmox_guest_start (guests: lacks VM.PowerMgmt on /vms/...)"),
        "{warn}"
    );
    assert!(!warn.contains("proxmox_guest_status"), "{warn}");
    assert!(text.contains("--tokens 'bob@pve!ro'"), "{text}");

    // A password login: the ticket is obtained, the password never printed.
    let (ok, text) = run(vec![
        ("PROXMOX_HOST", pve.host().to_string()),
        ("PROXMOX_PORT", port.clone()),
        ("PROXMOX_USER", pve.root().user.clone()),
        ("PROXMOX_PASSWORD", pve.root().password.clone()),
        ("PROXMOX_FINGERPRINT", pve.fingerprint().to_string()),
    ]);
    assert!(ok, "{text}");
    assert!(
        line(&text, " ok ", "auth").contains("a password (ticket obtained)"),
        "{text}"
    );
    assert!(
        !text.contains(&pve.root().password),
        "the password was printed"
    );

    // A wrong token: the auth step, 401, and where to look.
    let wrong = format!(
        "{}=00000000-0000-0000-0000-000000000000",
        pve.alice().token_id
    );
    let (ok, text) = run(with(&[("PROXMOX_TOKEN", &wrong)]));
    assert!(!ok);
    let fail = line(&text, "FAIL", "auth");
    assert!(
        fail.contains("refused the API token alice@pve!ci (401)"),
        "{text}"
    );
    assert!(text.contains("pveum user token list"), "{text}");
    line(&text, "skip", "version");

    // A wrong pin: the TLS step shows both fingerprints.
    let pin = "AB:".repeat(31) + "AB";
    let (ok, text) = run(with(&[("PROXMOX_FINGERPRINT", &pin)]));
    assert!(!ok);
    let fail = line(&text, "FAIL", "tls");
    assert!(
        fail.contains(&format!("presents {}", pve.fingerprint())) && fail.contains(&pin),
        "{text}"
    );
    line(&text, "skip", "auth");

    // verify_ssl=false (the ProxmoxMCP family's example file) works with a warning that shows how to pin.
    let (ok, text) = run(vec![
        ("PROXMOX_HOST", pve.host().to_string()),
        ("PROXMOX_PORT", port.clone()),
        ("PROXMOX_TOKEN", token.clone()),
        ("PROXMOX_VERIFY_SSL", "false".into()),
    ]);
    assert!(ok, "{text}");
    assert!(
        line(&text, "warn", "tls").contains("certificate checks are OFF"),
        "{text}"
    );
    assert!(
        text.contains(&format!("PROXMOX_FINGERPRINT={}", pve.fingerprint())),
        "{text}"
    );

    // Strict (the default) against PVE's own CA: the TLS step fails and offers the pin.
    let strict = vec![
        ("PROXMOX_HOST", pve.host().to_string()),
        ("PROXMOX_PORT", port.clone()),
        ("PROXMOX_TOKEN", token.clone()),
    ];
    let (ok, text) = run(strict.clone());
    assert!(!ok);
    line(&text, "FAIL", "tls");
    assert!(
        text.contains(&format!("PROXMOX_FINGERPRINT={}", pve.fingerprint())),
        "{text}"
    );
    line(&text, "skip", "auth");
    // ... and passes once that CA is trusted.
    let mut with_ca = strict;
    with_ca.push((
        "PROXMOX_SSL_CA_CERT",
        pve.ca_pem_path().display().to_string(),
    ));
    let (ok, text) = run(with_ca);
    assert!(ok, "{text}");
    assert!(
        line(&text, " ok ", "tls").contains("trusted by the configured CA"),
        "{text}"
    );

    // A closed port: the TCP step names the port actually used.
    let closed = std::net::TcpListener::bind((pve.host(), 0)).unwrap();
    let closed_port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let (ok, text) = run(with(&[("PROXMOX_PORT", &closed_port)]));
    assert!(!ok);
    let fail = line(&text, "FAIL", "tcp");
    assert!(
        fail.contains(&format!(":{closed_port}: connection refused")),
        "{text}"
    );
    assert!(!fail.contains("os error"), "{fail}");
    assert!(
        text.contains(&format!("nothing listens on port {closed_port}")),
        "{text}"
    );
    line(&text, "skip", "tls");

    // An unknown server: the configuration step lists the configured ones.
    let v: Vec<(&str, &str)> = base.to_vec();
    let (ok, text) = doctor(&v, &["--server", "lab"]);
    assert!(!ok);
    assert!(
        line(&text, "FAIL", "configuration").contains("configured: default"),
        "{text}"
    );
    line(&text, "skip", "dns");

    // Missing settings: the configuration step, and the way out.
    let (ok, text) = doctor(&[], &[]);
    assert!(!ok);
    assert!(
        line(&text, "FAIL", "configuration").contains("PROXMOX_HOST is not set"),
        "{text}"
    );
}

/// PVE answers `/access/permissions` with each privilege's propagate flag; privileges at 0 (pool
/// grants, non-propagating ACLs) are held, and doctor says so.
#[tokio::test]
async fn doctor_counts_privileges_at_propagate_0_as_held() {
    let pve = FakePve::start().await;
    // alice's real privileges, each with PVE's flag 0 instead of fakepve's 1.
    let perms = common::alice(&pve)
        .request(
            proxmox_mcp::apidoc::HttpMethod::Get,
            "/access/permissions",
            proxmox_mcp::params::Form::new(),
        )
        .await
        .unwrap();
    let zeroed: serde_json::Map<String, serde_json::Value> = perms
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, privs)| {
            let privs = privs
                .as_object()
                .unwrap()
                .keys()
                .map(|k| (k.clone(), serde_json::json!(0)))
                .collect::<serde_json::Map<_, _>>();
            (path.clone(), serde_json::Value::Object(privs))
        })
        .collect();
    assert!(!zeroed.is_empty());
    pve.control(serde_json::json!({"op": "script", "method": "GET",
        "path": "/access/permissions", "json": zeroed}))
        .await;
    let port = pve.port().to_string();
    let token = format!("{}={}", pve.alice().token_id, pve.alice().token_secret);
    let (ok, text) = doctor(
        &[
            ("PROXMOX_HOST", pve.host()),
            ("PROXMOX_PORT", &port),
            ("PROXMOX_TOKEN", &token),
            ("PROXMOX_FINGERPRINT", pve.fingerprint()),
        ],
        &[],
    );
    assert!(ok, "{text}");
    assert!(
        line(&text, " ok ", "privileges").contains("alice@pve!ci holds what all"),
        "{text}"
    );
}

/// doctor prints each server's effective policy with the setting that decided it, and the
/// warning about a global setting that a file's stricter one overrides (review M3).
#[test]
fn doctor_shows_each_servers_policy_and_its_source() {
    let dir =
        std::env::temp_dir().join(format!("proxmox-mcp-doctor-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("servers.toml");
    std::fs::write(
        &path,
        "default = \"lab\"\n[servers.prod]\nhost = \"127.0.0.1\"\nport = 1\ntoken_env_var = \"T\"\n\
         read_only = true\nconfirm = \"ask\"\n[servers.lab]\nhost = \"127.0.0.1\"\nport = 1\n\
         token_env_var = \"T\"\nallow_elevated = true\nconfirm = \"off\"\n",
    )
    .unwrap();
    let p = path.display().to_string();
    let (ok, text) = doctor(
        &[
            ("PROXMOX_MCP_CONFIG", &p),
            ("T", "u@pam!x=y"),
            ("PROXMOX_READ_ONLY", "false"),
            ("PROXMOX_CONFIRM", "ask-or-allow"),
        ],
        &[],
    );
    assert!(!ok, "nothing listens on port 1: {text}");
    assert!(
        text.contains(&format!(
            "[ ok ] policy         server `prod`: read-only (servers.prod.read_only in {p}); \
             destructive calls: confirm ask (servers.prod.confirm in {p})"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "[ ok ] policy         server `lab`: writes allowed (servers.lab.allow_elevated in "
        ) && text.contains("destructive calls: confirm ask-or-allow (PROXMOX_CONFIRM)"),
        "{text}"
    );
    assert!(
        text.contains("server `prod`: PROXMOX_READ_ONLY=false is ignored for `read_only`"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
