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
            && warn.contains("VM.PowerMgmt on /vms/... for proxmox_guest_start, "),
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

/// The privileges of PVE's built-in roles that the README's recipes rely on (each role holds
/// more). fakepve takes privileges, not roles (it knows only `Administrator`, `NoAccess` and
/// `PVEAuditor`), so the recipes' roles are expanded here. Source: the `$privgroups` table of
/// `PVE::AccessControl` (pve-access-control, as shipped with PVE 9.x), from which PVE builds
/// `PVE<Group>Admin` (admin + user + audit privileges), `PVE<Group>User` (user + audit) and
/// `PVEAuditor` (every audit privilege); the role names are those of the PVE 9 admin guide
/// ("User Management", "Roles").
fn role(name: &str) -> &'static [&'static str] {
    const VM_USER: &[&str] = &[
        "VM.Audit",
        "VM.Backup",
        "VM.Config.CDROM",
        "VM.Config.Cloudinit",
        "VM.Console",
        "VM.PowerMgmt",
    ];
    const VM_ADMIN: &[&str] = &[
        "VM.Audit",
        "VM.Backup",
        "VM.Config.CDROM",
        "VM.Config.Cloudinit",
        "VM.Console",
        "VM.PowerMgmt",
        "VM.Allocate",
        "VM.Clone",
        "VM.Config.CPU",
        "VM.Config.Disk",
        "VM.Config.HWType",
        "VM.Config.Memory",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Migrate",
        "VM.Snapshot",
        "VM.Snapshot.Rollback",
    ];
    match name {
        "PVEAuditor" => &[
            "Datastore.Audit",
            "Mapping.Audit",
            "Pool.Audit",
            "SDN.Audit",
            "Sys.Audit",
            "VM.Audit",
            "VM.GuestAgent.Audit",
        ],
        "PVEVMUser" => VM_USER,
        "PVEVMAdmin" => VM_ADMIN,
        "PVEDatastoreUser" => &["Datastore.AllocateSpace", "Datastore.Audit"],
        "PVESDNUser" => &["SDN.Audit", "SDN.Use"],
        other => panic!("no privileges listed for role {other}"),
    }
}

/// A user with a privilege-separated token, on fakepve: `NAME@pve` and `NAME@pve!mcp`.
async fn add_principal(pve: &FakePve, name: &str) -> (String, String) {
    let user = format!("{name}@pve");
    let token_id = format!("{user}!mcp");
    let secret = format!("{name}-0000-4000-8000-000000000000");
    pve.control(serde_json::json!({"op": "add_user", "user": user, "password": "pw-unused"}))
        .await;
    pve.control(serde_json::json!({"op": "add_token", "token_id": token_id, "secret": secret}))
        .await;
    (user, format!("{token_id}={secret}"))
}

/// `pveum acl modify PATH --users USER --roles ROLE` and the same `--tokens 'USER!mcp'`, as the
/// README's recipes say: fakepve gets the role's privileges for both.
async fn grant(pve: &FakePve, user: &str, path: &str, role_name: &str) {
    for id in [user.to_string(), format!("{user}!mcp")] {
        pve.control(serde_json::json!({"op": "grant", "id": id, "path": path,
            "privs": role(role_name)}))
            .await;
    }
}

/// The lines between `<!-- NAME:start -->` and `<!-- NAME:end -->` in README.md, inside its
/// fenced block.
fn readme_block(name: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let from = readme
        .find(&start)
        .unwrap_or_else(|| panic!("README.md has no {start}"));
    let to = readme[from..]
        .find(&end)
        .unwrap_or_else(|| panic!("README.md has no {end}"))
        + from;
    readme[from + start.len()..to]
        .lines()
        .filter(|l| !l.starts_with("```") && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// The README's doctor sample is what doctor prints for its step-1 recipe (`PVEAuditor` on `/`
/// for the user and its token) on a PVE 9.2 node: every line the same, except that the address,
/// port and fingerprint are fakepve's (the lines naming them are compared with those replaced,
/// or by their step only).
#[tokio::test]
async fn the_readme_doctor_sample_is_what_its_recipe_prints() {
    let pve = FakePve::start().await;
    let (user, token) = add_principal(&pve, "mcp").await;
    grant(&pve, &user, "/", "PVEAuditor").await;
    // The sample shows a PVE 9.2 node (fakepve says 9.0.10 unless told).
    pve.control(serde_json::json!({"op": "set", "version": "9.2.1", "release_version": "9.2"}))
        .await;
    let port = pve.port().to_string();
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
    let shown = |l: &str| {
        l.replace(
            &format!("port {port} (PROXMOX_PORT)"),
            "port 8006 (default)",
        )
        .replace(pve.fingerprint(), "AB:CD:...:EF")
        .replace(pve.host(), "pve1.example.com")
    };
    let actual: Vec<String> = text.lines().map(shown).collect();
    let sample = readme_block("doctor-sample");
    let by_step_only = ["[ ok ] dns ", "[ ok ] tcp "];
    assert_eq!(
        sample.len(),
        actual.len(),
        "README sample:\n{}\n\ndoctor printed (normalised):\n{}",
        sample.join("\n"),
        actual.join("\n")
    );
    for (want, got) in sample.iter().zip(&actual) {
        if let Some(step) = by_step_only.iter().find(|s| want.starts_with(*s)) {
            assert!(got.starts_with(step), "{got} (README: {want})");
        } else {
            assert_eq!(
                want,
                got,
                "README sample:\n{}\n\ndoctor printed (normalised):\n{}",
                sample.join("\n"),
                actual.join("\n")
            );
        }
    }
}

/// With `VM.PowerMgmt` on `/vms/100` only, doctor says the power tools reach that guest only
/// instead of reporting them covered (issue 21).
#[tokio::test]
async fn doctor_names_privileges_held_on_one_guest_only() {
    let pve = FakePve::start().await;
    let (user, token) = add_principal(&pve, "one").await;
    grant(&pve, &user, "/", "PVEAuditor").await;
    grant(&pve, &user, "/vms/100", "PVEVMUser").await;
    let port = pve.port().to_string();
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
    let warn = line(&text, "warn", "privileges");
    assert!(
        warn.contains(
            "holds what 7 of 18 tools need only on some paths: proxmox_guest_config_update, \
             proxmox_guest_start, proxmox_guest_shutdown, proxmox_guest_stop, \
             proxmox_guest_reboot, proxmox_guest_pause, proxmox_guest_resume on /vms/100 only."
        ),
        "{warn}"
    );
    // VM.Allocate (delete) is in no grant: that one is lacking, not partial.
    assert!(
        warn.contains(
            "lacks privileges for 6 of 18 tools: VM.Allocate on /vms/... for proxmox_guest_delete;"
        ),
        "{warn}"
    );
    assert!(!warn.contains("holds what all"), "{warn}");
}

/// A kind of work: its name, its grants (path, role) and its calls.
type Recipe = (&'static str, Vec<(&'static str, &'static str)>, Vec<Op>);

/// One API call of a recipe.
struct Op {
    method: proxmox_mcp::apidoc::HttpMethod,
    path: &'static str,
    params: &'static [(&'static str, &'static str)],
    /// fakepve refuses it without the recipe's grants; false where fakepve does not model the
    /// check PVE makes (said at the recipe).
    refused_before: bool,
}

/// The README's recipes, one per kind of work, against fakepve's ACL evaluation: with only the
/// step-1 grant (`PVEAuditor` on `/`) each call of the kind is refused with 403, with the
/// recipe's grants added (to the user and its token, as the README says) it succeeds.
///
/// What fakepve cannot show: a privilege-separated token holds the *intersection* of its own and
/// its user's privileges on PVE, but the *union* on fakepve, so a recipe granted to only one of
/// the two would pass here and fail on PVE (the README says to grant both). fakepve does not check
/// `SDN.Use` on a VM's bridge (PVE does since 8.0; the create recipe grants it), nor the
/// privileges of `vzdump` (PVE wants `VM.Backup` on the guest and `Datastore.AllocateSpace` on the
/// storage; the schema says only "any authenticated user"), so the backup recipe is only shown
/// to be enough, not to be needed.
#[tokio::test]
async fn the_readme_recipes_grant_what_each_kind_of_work_needs() {
    use proxmox_mcp::apidoc::HttpMethod::{Delete, Post, Put};
    let pve = FakePve::start().await;
    // A second node to migrate to.
    pve.control(serde_json::json!({"op": "call", "method": "add_node", "args": ["pve2"]}))
        .await;
    let op = |method, path, params, refused_before| Op {
        method,
        path,
        params,
        refused_before,
    };
    let recipes: Vec<Recipe> = vec![
        (
            "power",
            vec![("/vms", "PVEVMUser")],
            vec![
                op(Post, "/nodes/pve1/qemu/101/status/start", &[], true),
                op(Post, "/nodes/pve1/qemu/101/status/stop", &[], true),
            ],
        ),
        (
            "snapshots",
            vec![("/vms", "PVEVMAdmin")],
            vec![
                op(
                    Post,
                    "/nodes/pve1/qemu/100/snapshot",
                    &[("snapname", "mcp1")],
                    true,
                ),
                op(
                    Post,
                    "/nodes/pve1/qemu/100/snapshot/mcp1/rollback",
                    &[],
                    true,
                ),
                op(Delete, "/nodes/pve1/qemu/100/snapshot/mcp1", &[], true),
            ],
        ),
        (
            "config",
            vec![
                ("/vms", "PVEVMAdmin"),
                ("/storage/local-lvm", "PVEDatastoreUser"),
            ],
            vec![
                op(
                    Put,
                    "/nodes/pve1/qemu/102/config",
                    &[("memory", "2048")],
                    true,
                ),
                op(
                    Put,
                    "/nodes/pve1/qemu/102/config",
                    &[("scsi1", "local-lvm:1")],
                    true,
                ),
            ],
        ),
        (
            "create",
            vec![
                ("/vms", "PVEVMAdmin"),
                ("/storage/local-lvm", "PVEDatastoreUser"),
                ("/sdn/zones/localnetwork", "PVESDNUser"),
            ],
            vec![
                op(
                    Post,
                    "/nodes/pve1/qemu",
                    &[
                        ("vmid", "150"),
                        ("scsi0", "local-lvm:1"),
                        ("net0", "virtio,bridge=vmbr0"),
                    ],
                    true,
                ),
                op(Delete, "/nodes/pve1/qemu/150", &[], true),
            ],
        ),
        (
            "backup",
            vec![
                ("/vms", "PVEVMUser"),
                ("/storage/local", "PVEDatastoreUser"),
            ],
            vec![op(
                Post,
                "/nodes/pve1/vzdump",
                &[("vmid", "101"), ("storage", "local")],
                false,
            )],
        ),
        (
            "clone-migrate",
            vec![
                ("/vms", "PVEVMAdmin"),
                ("/storage/local-lvm", "PVEDatastoreUser"),
            ],
            vec![
                op(
                    Post,
                    "/nodes/pve1/qemu/9000/clone",
                    &[("newid", "151"), ("full", "1"), ("storage", "local-lvm")],
                    true,
                ),
                op(
                    Post,
                    "/nodes/pve1/qemu/101/migrate",
                    &[("target", "pve2")],
                    true,
                ),
            ],
        ),
    ];
    for (kind, grants, ops) in recipes {
        let (user, token) = add_principal(&pve, kind).await;
        grant(&pve, &user, "/", "PVEAuditor").await;
        let client = common::builder(&pve)
            .token(&token)
            .unwrap()
            .build()
            .unwrap();
        let call = |o: &Op| {
            let mut form = proxmox_mcp::params::Form::new();
            for (k, v) in o.params {
                form.text(k, v);
            }
            let client = client.clone();
            let (method, path) = (o.method, o.path);
            async move { client.request(method, path, form).await }
        };
        for o in ops.iter().filter(|o| o.refused_before) {
            let r = call(o).await;
            assert!(
                matches!(r, Err(proxmox_mcp::Error::Forbidden { .. })),
                "{kind}: {} {} with PVEAuditor only: {r:?}",
                o.method.as_str(),
                o.path
            );
        }
        for (path, role_name) in &grants {
            grant(&pve, &user, path, role_name).await;
        }
        for o in &ops {
            let r = call(o).await;
            let what = format!("{kind}: {} {} with {grants:?}", o.method.as_str(), o.path);
            let data = r.unwrap_or_else(|e| panic!("{what}: {e}"));
            // A task must also end well: PVE checks some privileges in the worker.
            if let Some(upid) = data
                .as_str()
                .and_then(|s| s.parse::<proxmox_mcp::Upid>().ok())
            {
                client
                    .wait_task_ok(&upid, proxmox_mcp::WaitOptions::default())
                    .await
                    .unwrap_or_else(|e| panic!("{what}: the task failed: {e}"));
            }
        }
    }
}
