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

#[tokio::test]
async fn tools_prints_each_tool_with_its_cost_and_docs_tools_md_is_fresh() {
    let (ok, out, err) = run(&["tools"], &[]).await;
    assert!(ok, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("proxmox_guest_start"))
        .unwrap_or_else(|| panic!("{out}"));
    let bytes: usize = line.split_whitespace().last().unwrap().parse().unwrap();
    assert!(bytes > 200, "{line}");
    assert!(out.contains("toolset guests"), "{out}");
    let total: usize = out
        .lines()
        .find(|l| l.starts_with("tools/list"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(total <= 24 * 1024, "{total}");
    // Toolsets, single tools and exclusions, from flags or variables.
    let (ok, some, err) = run(
        &[
            "tools",
            "--toolsets",
            "guests,api",
            "--tools",
            "proxmox_guest_snapshot_list",
            "--exclude-tools",
            "proxmox_guest_pause",
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        some.contains("proxmox_guest_snapshot_list")
            && !some.contains("proxmox_guest_snapshot_create")
    );
    assert!(!some.contains("proxmox_guest_pause") && some.contains("proxmox_api_get"));
    assert!(!some.contains("toolset nodes"), "{some}");
    let (ok, env, _) = run(
        &["tools"],
        &[("PROXMOX_MCP_EXCLUDE_TOOLS", "proxmox_api_call".to_string())],
    )
    .await;
    assert!(ok && !env.contains("proxmox_api_call") && env.contains("proxmox_api_get"));
    let (ok, _, err) = run(&["tools", "--exclude-tools", "proxmox_no_such"], &[]).await;
    assert!(
        !ok && err.contains("unknown tool `proxmox_no_such`"),
        "{err}"
    );
    let (ok, ro, _) = run(&["tools", "--read-only"], &[]).await;
    assert!(ok && !ro.contains("proxmox_guest_start") && ro.contains("proxmox_guest_list"));
    let (ok, _, err) = run(&["tools", "--toolsets", "guests,vms"], &[]).await;
    assert!(!ok && err.contains("unknown toolset `vms`"), "{err}");
    // docs/TOOLS.md is generated from the table.
    let (ok, md, err) = run(&["tools", "--markdown"], &[]).await;
    assert!(ok, "{err}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/TOOLS.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &md).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == md,
        "docs/TOOLS.md is stale: run UPDATE_SNAPSHOTS=1 cargo test --test cli"
    );
}

#[tokio::test]
async fn version_names_the_schema_release() {
    let (ok, out, _) = run(&["--version"], &[]).await;
    assert!(ok);
    let schema = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("apidoc/VERSION"),
    )
    .unwrap();
    assert_eq!(
        out.trim(),
        format!(
            "proxmox-mcp {} (PVE API schema {})",
            env!("CARGO_PKG_VERSION"),
            schema.trim()
        )
    );
}

#[tokio::test]
async fn json_logs_are_json_and_hold_no_secret() {
    let pve = FakePve::start().await;
    let mut vars = base(&pve);
    vars.push(("PROXMOX_FINGERPRINT", pve.fingerprint().to_string()));
    vars.push(("RUST_LOG", "trace".to_string()));
    let (ok, out, err) = run(&["--log-format", "json", "call", "GET", "/nodes"], &vars).await;
    assert!(ok, "{err}");
    assert!(out.contains(pve.node()), "{out}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 3, "too few log lines at trace: {err}");
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
    }
    assert!(
        !err.contains(&pve.alice().token_secret),
        "a secret reached the logs"
    );
}

/// Every variable `serve --help` names is in the README's configuration reference and, except
/// the HTTP transport's, in server.json (which describes the stdio package).
#[tokio::test]
async fn every_variable_is_documented_and_in_server_json() {
    let (ok, help, _) = run(&["serve", "--help"], &[]).await;
    assert!(ok);
    let mut vars: Vec<&str> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("PROXMOX_") && w.len() > "PROXMOX_".len())
        .collect();
    vars.sort();
    vars.dedup();
    assert!(vars.len() >= 20, "{vars:?}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let server: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("server.json")).unwrap()).unwrap();
    let listed: Vec<&str> = server["packages"][0]["environmentVariables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for v in vars {
        assert!(
            readme.contains(&format!("`{v}`")),
            "README.md does not document {v}"
        );
        if !v.starts_with("PROXMOX_MCP_HTTP_") {
            assert!(listed.contains(&v), "server.json does not list {v}");
        }
    }
}

fn hex(s: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `body` (a JSON object) with its `hash` member added last.
fn with_hash(body: &str) -> String {
    format!(
        "{},\"hash\":\"{}\"}}",
        body.strip_suffix('}').unwrap(),
        hex(body)
    )
}

/// An audit log of `n` lines, chained as README.md's "Audit log" describes: `prev` is the hex
/// SHA-256 of the previous line, `hash` that of the line without its `hash` member.
fn audit_log(n: u64) -> String {
    let mut prev = "0".repeat(64);
    let mut log = String::new();
    for seq in 1..=n {
        let body = serde_json::json!({
            "seq": seq, "time": "2026-12-04T14:30:07.000Z", "server": "pve",
            "tool": "proxmox_guest_start", "method": "POST",
            "path": "/nodes/pve1/qemu/101/status/start", "args": {"vmid": 101},
            "decision": "sent", "answer": "UPID:pve1:1", "task": null, "prev": prev,
        })
        .to_string();
        let line = with_hash(&body);
        prev = hex(&line);
        log.push_str(&line);
        log.push('\n');
    }
    log
}

#[tokio::test]
async fn audit_verify_passes_a_good_log_and_names_the_first_bad_line() {
    let dir = std::env::temp_dir().join(format!("proxmox-mcp-cli-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.jsonl");
    let arg = path.to_str().unwrap();
    let good = audit_log(7);
    std::fs::write(&path, &good).unwrap();
    let (ok, out, err) = run(&["audit", "verify", arg], &[]).await;
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("ok: 7 lines, chain intact\n"), "{out}");

    // Line 6 edited, its own hash left as it was, then recomputed.
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    lines[5] = lines[5].replace("\"vmid\":101", "\"vmid\":102");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (ok, out, _) = run(&["audit", "verify", arg], &[]).await;
    assert!(!ok);
    assert_eq!(
        out.trim(),
        "line 6: hash does not match the line (edited line)"
    );
    let at = lines[5].rfind(",\"hash\":").unwrap();
    lines[5] = with_hash(&format!("{}}}", &lines[5][..at]));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (ok, out, _) = run(&["audit", "verify", arg], &[]).await;
    assert!(!ok);
    assert_eq!(
        out.trim(),
        "line 7: prev does not match the hash of line 6 (edited or deleted line)"
    );

    // Line 5 deleted.
    let mut lines: Vec<&str> = good.lines().collect();
    lines.remove(4);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (ok, out, _) = run(&["audit", "verify", arg], &[]).await;
    assert!(!ok);
    assert_eq!(out.trim(), "line 5: seq jumps from 4 to 6");

    // Line 3 not JSON.
    let mut lines: Vec<&str> = good.lines().collect();
    lines[2] = "garbage";
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (ok, out, _) = run(&["audit", "verify", arg], &[]).await;
    assert!(!ok);
    assert_eq!(out.trim(), "line 3: not JSON");

    // No such file: an error, exit 1.
    let missing = dir.join("missing.jsonl");
    let (ok, _, err) = run(&["audit", "verify", missing.to_str().unwrap()], &[]).await;
    assert!(!ok && err.contains("cannot read the audit log"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `call --allow-elevated` does not lift a file's `allow_elevated = false` or `read_only = true`
/// (review M3): refused before sending, naming the file's key, with a start-up warning.
#[tokio::test]
async fn call_does_not_lift_a_files_restriction() {
    let pve = FakePve::start().await;
    let dir = std::env::temp_dir().join(format!("proxmox-mcp-cli-m3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("servers.toml");
    let entry = |name: &str, extra: &str| {
        format!(
            "[servers.{name}]\nhost = \"{}\"\nport = {}\ntoken_env_var = \"T\"\n\
             fingerprint = \"{}\"\n{extra}\n",
            pve.host(),
            pve.port(),
            pve.fingerprint()
        )
    };
    std::fs::write(
        &path,
        entry("off", "allow_elevated = false") + &entry("ro", "read_only = true"),
    )
    .unwrap();
    let p = path.display().to_string();
    let vars = vec![
        ("PROXMOX_MCP_CONFIG", p.clone()),
        (
            "T",
            format!("{}={}", pve.alice().token_id, pve.alice().token_secret),
        ),
        ("PROXMOX_ALLOW_ELEVATED", "true".to_string()),
        ("PROXMOX_READ_ONLY", "false".to_string()),
    ];
    pve.clear_requests().await;
    let start = ["call", "POST", "/nodes/pve1/qemu/101/status/start"];
    let (ok, _, err) = run(
        &[&start[..], &["--allow-elevated", "--server", "off"]].concat(),
        &vars,
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains(&format!("servers.off.allow_elevated in {p} is false"))
            && err.contains("server `off`: --allow-elevated is ignored for `allow_elevated`"),
        "{err}"
    );
    let (ok, _, err) = run(&[&start[..], &["--server", "ro"]].concat(), &vars).await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "server `ro` is read-only (servers.ro.read_only in {p})"
        )) && err.contains("PROXMOX_READ_ONLY=false is ignored for `read_only`"),
        "{err}"
    );
    assert!(pve.requests().await.is_empty(), "something was sent");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Logs on stderr carry no colour codes when stderr is not a terminal (a pipe here; a file for
/// GUI clients), whatever the level (issue 21).
#[tokio::test]
async fn logs_to_a_pipe_have_no_colour_codes() {
    // The demo logs at info and warn as it starts; stdin is closed, so it stops at once.
    let (_, _, err) = run(&["serve", "--demo"], &[("RUST_LOG", "info".to_string())]).await;
    assert!(
        err.lines().any(|l| l.contains(" INFO ")) && err.lines().any(|l| l.contains(" WARN ")),
        "no log lines at info and warn: {err}"
    );
    assert!(!err.contains("\x1b["), "an ANSI escape on a pipe: {err:?}");
}

/// The README as a newcomer uses it: every JSON snippet parses, and every subcommand it names
/// exists (`proxmox-mcp WORD --help` succeeds).
#[tokio::test]
async fn the_readmes_json_snippets_parse_and_its_commands_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut blocks = 0;
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + "```json\n".len()..];
        let end = body.find("\n```").expect("an unclosed ```json block");
        let text = &body[..end];
        serde_json::from_str::<serde_json::Value>(text)
            .unwrap_or_else(|e| panic!("a ```json block of README.md does not parse: {e}\n{text}"));
        blocks += 1;
        rest = &body[end..];
    }
    assert!(blocks >= 6, "only {blocks} JSON blocks found");

    let mut commands: Vec<String> = Vec::new();
    for (i, _) in readme.match_indices("proxmox-mcp ") {
        let after = &readme[i + "proxmox-mcp ".len()..];
        let word: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if word.is_empty() || word.starts_with('-') || after[word.len()..].starts_with('.') {
            continue;
        }
        // `audit` has subcommands of its own: the README names `audit verify`.
        let word = if word == "audit" {
            "audit verify".to_string()
        } else {
            word
        };
        if !commands.contains(&word) {
            commands.push(word);
        }
    }
    for expected in [
        "serve",
        "doctor",
        "tools",
        "endpoints",
        "call",
        "audit verify",
        "help",
    ] {
        assert!(
            commands.iter().any(|c| c == expected),
            "README.md never names `proxmox-mcp {expected}`: {commands:?}"
        );
    }
    for command in &commands {
        let mut args: Vec<&str> = command.split(' ').collect();
        // `help` takes a command, not --help.
        args.push(if command == "help" { "serve" } else { "--help" });
        let (ok, out, err) = run(&args, &[]).await;
        assert!(
            ok && out.contains("Usage:"),
            "README.md names `proxmox-mcp {command}`, but `{}` fails: {err}",
            args.join(" ")
        );
    }
}

/// "seed 000" was an internal name; the README, `--help` and server.json call the file format
/// what it is (issue 21).
#[tokio::test]
async fn no_internal_names_in_what_users_read() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (ok, help, _) = run(&["serve", "--help"], &[]).await;
    assert!(ok);
    assert!(
        help.contains("JSON format of the ProxmoxMCP family of"),
        "{help}"
    );
    for (name, text) in [
        (
            "README.md",
            std::fs::read_to_string(root.join("README.md")).unwrap(),
        ),
        (
            "server.json",
            std::fs::read_to_string(root.join("server.json")).unwrap(),
        ),
        ("serve --help", help),
    ] {
        assert!(
            !text.to_lowercase().contains("seed 000"),
            "{name} says \"seed 000\""
        );
    }
}
