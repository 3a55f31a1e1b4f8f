//! `proxmox-mcp doctor`: the connectivity checks of the ProxmoxMCP family as one command. Each step prints its
//! result and, when it fails, the cause and the fix; a failed step skips the ones that need it.
//! Nothing printed is a secret: tokens show their id, passwords nothing.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::params::Form;
use proxmox_mcp::{Auth, Client, Error, TlsMode};
use serde_json::Value;

use crate::config::{Cluster, Config, Source};
use crate::mcp::preflight::{self, Verdict, evaluate};
use crate::mcp::tools;

/// How long the network steps wait.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// One step's outcome.
enum Outcome {
    Ok(String),
    Warn(String, String),
    Fail { cause: String, fix: String },
}

/// The report being printed, and whether a step failed.
struct Report {
    failed: bool,
}

impl Report {
    fn step(&mut self, name: &str, outcome: Outcome) -> bool {
        match outcome {
            Outcome::Ok(text) => println!("[ ok ] {name:<14} {text}"),
            Outcome::Warn(text, fix) => {
                println!("[warn] {name:<14} {text}");
                println!("       {:<14} fix: {fix}", "");
            }
            Outcome::Fail { cause, fix } => {
                self.failed = true;
                println!("[FAIL] {name:<14} {cause}");
                println!("       {:<14} fix: {fix}", "");
                return false;
            }
        }
        true
    }

    fn skip(&self, names: &[&str]) {
        for name in names {
            println!("[skip] {name:<14} needs the step that failed");
        }
    }
}

/// Runs the checks on the default server of `config` (`--server` makes the one to check the
/// default, so the `PROXMOX_*` variables apply to it as they would for `serve --server`).
/// Returns whether every step passed.
pub fn run(config: Result<Config, String>) -> bool {
    let mut r = Report { failed: false };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            r.step(
                "configuration",
                Outcome::Fail {
                    cause: e,
                    fix: "see `proxmox-mcp serve --help` and the README's configuration reference"
                        .into(),
                },
            );
            r.skip(&["dns", "tcp", "tls", "auth", "version", "privileges"]);
            return false;
        }
    };
    let cluster = config.default_cluster();
    println!(
        "proxmox-mcp doctor: server `{}` ({} of {} configured){}",
        cluster.name,
        config
            .clusters
            .iter()
            .position(|c| c.name == cluster.name)
            .unwrap_or(0)
            + 1,
        config.clusters.len(),
        config
            .file
            .as_ref()
            .map(|f| format!(", file {}", f.display()))
            .unwrap_or_default()
    );
    r.step("configuration", Outcome::Ok(describe(cluster)));
    for c in &config.clusters {
        r.step("policy", Outcome::Ok(policy(c)));
    }
    for c in &config.clusters {
        if let Some(ssh) = &c.settings.ssh {
            r.step("lxc exec", lxc_exec(c, ssh));
        }
    }
    if let Some((path, from)) = &config.audit_log {
        r.step(
            "audit log",
            Outcome::Ok(format!(
                "writes are recorded in {} ({from})",
                path.display()
            )),
        );
    }
    for w in &config.warnings {
        println!("[warn] {:<14} {w}", "configuration");
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return false;
        }
    };
    rt.block_on(network(&mut r, cluster));
    !r.failed
}

/// Where setting `key` of `c` came from, or `default`.
fn source_of(c: &Cluster, key: &str) -> String {
    c.sources
        .get(key)
        .map(Source::to_string)
        .unwrap_or_else(|| "default".into())
}

/// Each setting with where it came from; secrets never.
fn describe(c: &Cluster) -> String {
    let s = &c.settings;
    let from = |key: &str| source_of(c, key);
    let mut out = format!(
        "host {} ({}), port {} ({})",
        s.host,
        from("host"),
        s.port,
        from("port")
    );
    let cred_source = ["token", "token_name", "password"]
        .iter()
        .find(|k| c.sources.contains_key(**k))
        .map(|k| from(k))
        .unwrap_or_default();
    match &s.auth {
        Auth::Token(t) => {
            let _ = write!(out, ", API token {} ({cred_source})", t.full_id());
        }
        Auth::Password { username, .. } => {
            let _ = write!(out, ", password login as {username} ({cred_source})");
        }
    }
    let tls_from = ["fingerprint", "ca_file", "ssl_mode", "verify_ssl"]
        .iter()
        .find(|k| c.sources.contains_key(**k))
        .map(|k| from(k))
        .unwrap_or_else(|| "default".into());
    let tls = match &s.tls {
        TlsMode::Strict => "system roots".to_string(),
        TlsMode::CaFile(p) => format!("CA file {}", p.display()),
        TlsMode::Verify(p) => format!(
            "system roots{}",
            p.as_ref()
                .map(|p| format!(" plus {}", p.display()))
                .unwrap_or_default()
        ),
        TlsMode::Fingerprint(fp) => format!("pinned {fp}"),
        TlsMode::Insecure => "NO VERIFICATION".to_string(),
    };
    let _ = write!(
        out,
        ", TLS {tls} ({tls_from}), timeout {} s ({}), writes {} ({})",
        s.timeout.as_secs_f64(),
        from("timeout"),
        if s.writes_allowed() {
            "allowed"
        } else if s.read_only {
            "off: read-only"
        } else {
            "off"
        },
        from(if s.read_only {
            "read_only"
        } else {
            "allow_elevated"
        })
    );
    out
}

/// A server's effective safety policy, each part with the source that decided it.
fn policy(c: &Cluster) -> String {
    let s = &c.settings;
    let from = |key: &str| source_of(c, key);
    let writes = if s.read_only {
        format!("read-only ({})", from("read_only"))
    } else if s.writes_allowed() {
        format!("writes allowed ({})", from("allow_elevated"))
    } else {
        format!("writes refused ({})", from("allow_elevated"))
    };
    format!(
        "server `{}`: {writes}; destructive calls: confirm {} ({})",
        c.name,
        s.confirm,
        from("confirm")
    )
}

/// `proxmox_lxc_exec` over SSH, when set up: how the nodes are reached and whether the key
/// file can be used (no connection is made).
fn lxc_exec(c: &Cluster, ssh: &crate::config::Ssh) -> Outcome {
    let pinned: Vec<&str> = ssh
        .host_keys
        .iter()
        .map(|k| k.fingerprint.as_str())
        .collect();
    let text = format!(
        "server `{}`: proxmox_lxc_exec runs `{} exec` as {} on port {} of the nodes at {}{} \
         with key {} ({}); host keys pinned: {}",
        c.name,
        ssh.pct,
        ssh.user,
        ssh.port,
        ssh.host.shown(),
        if ssh.host.shown().contains("{node}") {
            " ({node}: the node's name)"
        } else {
            ""
        },
        ssh.key.display(),
        source_of(c, "ssh_key"),
        pinned.join(", ")
    );
    match crate::mcp::ssh::check_key(&ssh.key) {
        Ok(()) => Outcome::Ok(text),
        Err(e) => Outcome::Warn(
            format!("{text}; but {e}"),
            "fix the key file, or drop the ssh_* settings to turn proxmox_lxc_exec off".into(),
        ),
    }
}

async fn network(r: &mut Report, cluster: &Cluster) {
    let s = &cluster.settings;
    let target = format!("{}:{}", s.host, s.port);
    // DNS.
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(STEP_TIMEOUT, tokio::net::lookup_host(&target)).await {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => {
                r.step(
                    "dns",
                    Outcome::Fail {
                        cause: format!("cannot resolve {}: {e}", s.host),
                        fix: "check the host name (PROXMOX_HOST or \"host\"), or use the node's \
                              IP address"
                            .into(),
                    },
                );
                r.skip(&["tcp", "tls", "auth", "version", "privileges"]);
                return;
            }
            Err(_) => {
                r.step(
                    "dns",
                    Outcome::Fail {
                        cause: format!("no DNS answer for {} in 5 s", s.host),
                        fix: "check the resolver, or use the node's IP address".into(),
                    },
                );
                r.skip(&["tcp", "tls", "auth", "version", "privileges"]);
                return;
            }
        };
    let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    r.step(
        "dns",
        Outcome::Ok(format!("{} -> {}", s.host, shown.join(", "))),
    );
    // TCP.
    let Some(addr) = addrs.first().copied() else {
        return;
    };
    let tcp = match tokio::time::timeout(STEP_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            let fix = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                format!(
                    "nothing listens on port {} of {}: check the port (PVE's is 8006; \
                     PROXMOX_PORT or \"port\") and that pveproxy runs (systemctl status pveproxy)",
                    s.port,
                    addr.ip()
                )
            } else {
                "check the network path and firewalls between here and the node".to_string()
            };
            r.step(
                "tcp",
                Outcome::Fail {
                    cause: format!("cannot connect to {addr}: {}", os_text(&e)),
                    fix,
                },
            );
            r.skip(&["tls", "auth", "version", "privileges"]);
            return;
        }
        Err(_) => {
            r.step(
                "tcp",
                Outcome::Fail {
                    cause: format!("no answer from {addr} in 5 s"),
                    fix: format!(
                        "a firewall drops the connection, or the host is down: check that port {} \
                         is open to this machine",
                        s.port
                    ),
                },
            );
            r.skip(&["tls", "auth", "version", "privileges"]);
            return;
        }
    };
    r.step("tcp", Outcome::Ok(format!("connected to {addr}")));
    // TLS: what the server presents, compared with what is configured.
    drop(tcp);
    let presented = match proxmox_mcp::client::presented_fingerprint(&s.host, s.port, STEP_TIMEOUT)
        .await
    {
        Ok(fp) => fp,
        Err(e) => {
            r.step(
                "tls",
                Outcome::Fail {
                    cause: e.to_string(),
                    fix: "check that the port serves HTTPS (PVE's API is https://HOST:8006)".into(),
                },
            );
            r.skip(&["auth", "version", "privileges"]);
            return;
        }
    };
    let tls_ok = match &s.tls {
        TlsMode::Fingerprint(pinned) => {
            let want = proxmox_mcp::client::parse_fingerprint(pinned).ok();
            let got = proxmox_mcp::client::parse_fingerprint(&presented).ok();
            if want == got {
                r.step(
                    "tls",
                    Outcome::Ok(format!("the certificate matches the pin {presented}")),
                )
            } else {
                r.step(
                    "tls",
                    Outcome::Fail {
                        cause: format!(
                            "the server presents {presented}, but the pinned fingerprint is \
                             {pinned}"
                        ),
                        fix: format!(
                            "if the certificate was renewed, check it on the node (pvenode cert \
                             info) and set PROXMOX_FINGERPRINT={presented}; otherwise something \
                             else answers at {addr}"
                        ),
                    },
                )
            }
        }
        TlsMode::Insecure => r.step(
            "tls",
            Outcome::Warn(
                format!("certificate checks are OFF; the server presents SHA-256 {presented}"),
                format!(
                    "pin it instead of turning checks off: PROXMOX_FINGERPRINT={presented} (or \
                     \"fingerprint\": \"{presented}\" in the file, without verify_ssl: false)"
                ),
            ),
        ),
        // Checked against the CA by the first request below, which reports this step.
        _ => true,
    };
    let ca_checked = !matches!(s.tls, TlsMode::Fingerprint(_) | TlsMode::Insecure);
    if !tls_ok {
        r.skip(&["auth", "version", "privileges"]);
        return;
    }
    // Authentication: the SDK's own client, as the server uses it.
    let client = match cluster.settings.client() {
        Ok(c) => c,
        Err(e) => {
            r.step(
                "auth",
                Outcome::Fail {
                    cause: e,
                    fix: "fix the setting named above".into(),
                },
            );
            return;
        }
    };
    let get = |path: &'static str| {
        let client = client.clone();
        async move { client.request(HttpMethod::Get, path, Form::new()).await }
    };
    let first = get("/version").await;
    if ca_checked {
        if let Err(e @ Error::Tls { .. }) = &first {
            let (_, cause, fix) = auth_failure(e, &client, &presented);
            r.step("tls", Outcome::Fail { cause, fix });
            r.skip(&["auth", "version", "privileges"]);
            return;
        }
        r.step(
            "tls",
            Outcome::Ok(format!(
                "the certificate (SHA-256 {presented}) is trusted by the configured CA; to pin \
                 it instead: PROXMOX_FINGERPRINT={presented}"
            )),
        );
    }
    let version = match first {
        Ok(v) => v,
        Err(e) => {
            let (name, cause, fix) = auth_failure(&e, &client, &presented);
            r.step(name, Outcome::Fail { cause, fix });
            r.skip(&["version", "privileges"]);
            return;
        }
    };
    let how = if client.uses_token() {
        "an API token"
    } else {
        "a password (ticket obtained)"
    };
    r.step(
        "auth",
        Outcome::Ok(format!(
            "authenticated as {} with {how}",
            client.principal()
        )),
    );
    // Version against the schema.
    let pve = version["version"].as_str().unwrap_or("unknown").to_string();
    r.step(
        "version",
        compare_versions(&pve, proxmox_mcp::SCHEMA_VERSION),
    );
    // Privileges against what the tools need.
    match get("/access/permissions").await {
        Ok(perms) => {
            let outcome = privileges(&perms, &client, cluster);
            r.step("privileges", outcome);
        }
        Err(e) => {
            r.step(
                "privileges",
                Outcome::Warn(
                    format!("cannot read /access/permissions: {e}"),
                    "the pre-flight of writes will leave permission checks to PVE".into(),
                ),
            );
        }
    }
}

/// An OS error as part of a sentence: `connection refused`, without `(os error 111)`.
fn os_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The step, cause and fix of a failed first request.
fn auth_failure(e: &Error, client: &Client, presented: &str) -> (&'static str, String, String) {
    match e {
        Error::Unauthorized { .. } if client.uses_token() => (
            "auth",
            format!(
                "PVE refused the API token {} (401): {e}",
                client.principal()
            ),
            "check the token id and secret (PROXMOX_TOKEN=USER@REALM!TOKENID=SECRET); `pveum user \
             token list USER` on the node shows whether it exists and has not expired"
                .into(),
        ),
        Error::Unauthorized { .. } => (
            "auth",
            format!("PVE refused the login of {} (401): {e}", client.principal()),
            "check the user, its realm (root@pam, not root@pve) and the password; or use an API \
             token"
                .into(),
        ),
        Error::TwoFactorRequired { .. } => (
            "auth",
            e.to_string(),
            "a password login cannot complete two-factor authentication: create an API token \
             (pveum user token add USER mcp) and set PROXMOX_TOKEN"
                .into(),
        ),
        Error::Tls { .. } => (
            "tls",
            e.to_string(),
            format!(
                "trust PVE's CA (PROXMOX_SSL_CA_CERT=/etc/pve/pve-root-ca.pem copied from the \
                 node) or pin this certificate: PROXMOX_FINGERPRINT={presented}"
            ),
        ),
        Error::Timeout { .. } => (
            "auth",
            e.to_string(),
            "PVE did not answer in time: check its load, or raise PROXMOX_TIMEOUT".into(),
        ),
        _ => (
            "auth",
            e.to_string(),
            "see docs/troubleshooting.md for this error".into(),
        ),
    }
}

/// The node's release against the schema's: same major and minor is best; otherwise a warning
/// that says which methods may be missing on either side.
fn compare_versions(pve: &str, schema: &str) -> Outcome {
    let major_minor = |v: &str| -> Option<(u32, u32)> {
        let mut parts = v.split(['.', '-']);
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    match (major_minor(pve), major_minor(schema)) {
        (Some(p), Some(s)) if p == s => Outcome::Ok(format!(
            "PVE {pve}; the SDK was generated from the {schema} schema"
        )),
        (Some(p), Some(s)) if p < s => Outcome::Warn(
            format!("PVE {pve} is older than the {schema} schema the SDK was generated from"),
            "methods added after your release answer 501 (not implemented); upgrade PVE or \
             ignore them"
                .into(),
        ),
        (Some(_), Some(_)) => Outcome::Warn(
            format!("PVE {pve} is newer than the {schema} schema the SDK was generated from"),
            "methods new in your release are not in the catalog: regenerate the SDK from your \
             node's apidoc.js (docs/regenerating.md)"
                .into(),
        ),
        _ => Outcome::Warn(
            format!("PVE answered version `{pve}`, which is not a release number"),
            "check that the host is a Proxmox VE node".into(),
        ),
    }
}

/// The fixed part of an ACL path template (`/vms` of `/vms/{vmid}`), and the path as shown
/// (`/vms/...`).
fn fixed_part(template: &str) -> (String, String) {
    let fixed = template
        .split('{')
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    let fixed = if fixed.is_empty() { "/" } else { fixed }.to_string();
    let shown = if template.contains('{') {
        format!("{fixed}/...")
    } else {
        fixed.clone()
    };
    (fixed, shown)
}

/// `path` is `fixed` or above it: what is granted there holds on every path the template
/// stands for.
fn covers(path: &str, fixed: &str) -> bool {
    path == "/" || fixed == path || fixed.starts_with(&format!("{path}/"))
}

/// `path` is below `fixed` (some guest, node or storage): what is granted there holds on that
/// path only.
fn below(path: &str, fixed: &str) -> bool {
    !covers(path, fixed) && (fixed == "/" || path.starts_with(&format!("{fixed}/")))
}

/// How far the privileges held reach for one tool's check.
#[derive(Debug, PartialEq)]
enum Reach {
    /// On every path the tool may address.
    Everywhere,
    /// Only on these specific paths (`/vms/100`), not on the tool's general path.
    Only(Vec<String>),
    /// Nowhere: what is missing on the general path.
    Nowhere(String),
}

/// The privileges held on or above a template's fixed path, plus those held on `extra` when it
/// is below it.
fn lookup<'a>(
    held: &'a [(String, BTreeSet<String>)],
    extra: Option<&'a str>,
) -> impl Fn(&str) -> Option<(String, Arc<BTreeSet<String>>)> + 'a {
    move |template: &str| {
        let (fixed, shown) = fixed_part(template);
        let mut union = BTreeSet::new();
        for (path, set) in held {
            if covers(path, &fixed) || extra.is_some_and(|e| e == path && below(path, &fixed)) {
                union.extend(set.iter().cloned());
            }
        }
        Some((shown, Arc::new(union)))
    }
}

/// Evaluates `check` with what is held on or above its paths, then, if that is not enough, with
/// each specific path below them in turn.
fn reach(check: &Value, held: &[(String, BTreeSet<String>)]) -> Reach {
    let missing = match evaluate(check, &lookup(held, None)) {
        Verdict::Yes | Verdict::Unknown => return Reach::Everywhere,
        Verdict::No(missing) => missing,
    };
    let only: Vec<String> = held
        .iter()
        .map(|(path, _)| path)
        .filter(|path| evaluate(check, &lookup(held, Some(path.as_str()))) == Verdict::Yes)
        .cloned()
        .collect();
    if only.is_empty() {
        Reach::Nowhere(preflight::describe(&missing))
    } else {
        Reach::Only(only)
    }
}

/// Which tools the credentials' privileges allow, per toolset: a privilege counts for a tool when
/// it is held on the path's fixed part or above it; one held only below it (on some guest, node
/// or storage) is named with those paths ("on /vms/100 only").
fn privileges(perms: &Value, client: &Client, cluster: &Cluster) -> Outcome {
    let held: Vec<(String, BTreeSet<String>)> = perms
        .as_object()
        .map(|m| {
            m.iter()
                // A present key is held; its value is only PVE's propagate flag.
                .map(|(p, privs)| (p.clone(), preflight::held(privs)))
                .collect()
        })
        .unwrap_or_default();
    // Tools grouped by what they lack, or by the paths they reach, in the tools' order.
    let mut refused: Vec<(String, Vec<&str>)> = Vec::new();
    let mut partly: Vec<(String, Vec<&str>)> = Vec::new();
    let add = |groups: &mut Vec<(String, Vec<&str>)>, key: String, tool: &'static str| match groups
        .iter_mut()
        .find(|(k, _)| *k == key)
    {
        Some((_, tools)) => tools.push(tool),
        None => groups.push((key, vec![tool])),
    };
    let mut counted = 0;
    for tool in tools::select(&tools::Selection::default(), false, &[]) {
        let Some(ep) = tool.endpoints.first() else {
            continue;
        };
        let Some(check) = serde_json::from_str::<Value>(ep.permissions)
            .ok()
            .and_then(|p| p.get("check").cloned())
        else {
            continue;
        };
        counted += 1;
        match reach(&check, &held) {
            Reach::Everywhere => {}
            Reach::Only(paths) => add(&mut partly, paths.join(", "), tool.decl.name),
            Reach::Nowhere(missing) => add(&mut refused, missing, tool.decl.name),
        }
    }
    let count = |groups: &[(String, Vec<&str>)]| groups.iter().map(|(_, t)| t.len()).sum::<usize>();
    let writes = if cluster.settings.writes_allowed() {
        String::new()
    } else {
        " Writes are off for this server, so write tools refuse whatever the privileges \
         (PROXMOX_ALLOW_ELEVATED=true allows them)."
            .to_string()
    };
    let principal = client.principal();
    if refused.is_empty() && partly.is_empty() {
        return Outcome::Ok(format!(
            "{principal} holds what all {counted} tools with a permission check need.{writes}"
        ));
    }
    let mut text = String::new();
    if !refused.is_empty() {
        let groups: Vec<String> = refused
            .iter()
            .map(|(missing, tools)| format!("{missing} for {}", tools.join(", ")))
            .collect();
        let _ = write!(
            text,
            "{principal} lacks privileges for {} of {counted} tools: {}.",
            count(&refused),
            groups.join("; ")
        );
    }
    if !partly.is_empty() {
        let groups: Vec<String> = partly
            .iter()
            .map(|(paths, tools)| format!("{} on {paths} only", tools.join(", ")))
            .collect();
        let _ = write!(
            text,
            "{}{principal} holds what {} of {counted} tools need only on some paths: {}.",
            if text.is_empty() { "" } else { " " },
            count(&partly),
            groups.join("; ")
        );
    }
    text.push_str(&writes);
    Outcome::Warn(
        text,
        format!(
            "grant a role that holds them on the path the tools need, e.g. pveum acl modify /vms \
             --{} '{principal}' --roles PVEVMUser (README: \"Privileges for each kind of work\"); \
             a privilege-separated token needs the grant itself as well as its user",
            if client.uses_token() {
                "tokens"
            } else {
                "users"
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert!(matches!(compare_versions("9.2.1", "9.2"), Outcome::Ok(_)));
        let Outcome::Warn(t, fix) = compare_versions("9.1.2", "9.2") else {
            panic!()
        };
        assert!(t.contains("older") && fix.contains("501"), "{t} {fix}");
        let Outcome::Warn(t, fix) = compare_versions("10.0.1", "9.2") else {
            panic!()
        };
        assert!(
            t.contains("newer") && fix.contains("regenerating"),
            "{t} {fix}"
        );
        assert!(matches!(compare_versions("beta", "9.2"), Outcome::Warn(..)));
    }

    fn held(entries: &[(&str, &[&str])]) -> Vec<(String, BTreeSet<String>)> {
        entries
            .iter()
            .map(|(p, privs)| (p.to_string(), privs.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    /// A privilege held on `/vms/100` only covers the power tools on that guest only, and doctor
    /// says so instead of claiming them (issue 21).
    #[test]
    fn a_privilege_on_one_guest_reaches_that_guest_only() {
        let check = serde_json::json!(["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]);
        let on_100 = held(&[("/vms/100", &["VM.PowerMgmt"]), ("/", &["VM.Audit"])]);
        assert_eq!(reach(&check, &on_100), Reach::Only(vec!["/vms/100".into()]));
        for general in ["/", "/vms"] {
            let h = held(&[(general, &["VM.PowerMgmt"])]);
            assert_eq!(reach(&check, &h), Reach::Everywhere, "{general}");
        }
        let elsewhere = held(&[("/vms/100", &["VM.Audit"]), ("/storage", &["VM.PowerMgmt"])]);
        assert_eq!(
            reach(&check, &elsewhere),
            Reach::Nowhere("VM.PowerMgmt on /vms/...".into())
        );
        // A check on a fixed path is met only there or above, never by a path below it.
        let fixed = serde_json::json!(["perm", "/nodes", ["Sys.Audit"]]);
        let node = held(&[("/nodes/pve1", &["Sys.Audit"])]);
        assert_eq!(
            reach(&fixed, &node),
            Reach::Only(vec!["/nodes/pve1".into()])
        );
    }
}
