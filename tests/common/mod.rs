//! Test harness: runs fakepve (a fake Proxmox VE 9 API, in Python) for integration tests.
//!
//! ```ignore
//! mod common;
//!
//! #[tokio::test]
//! async fn something() {
//!     let pve = common::FakePve::start().await;
//!     // https://{pve.host()}:{pve.port()}, trusting only pve.ca_pem_path()
//!     pve.control(serde_json::json!({"op": "revoke_tickets"})).await;
//! }
//! ```
//!
//! Every instance is its own process (`tests/fakepve/launch.py`) on its own loopback address
//! (127.0.0.x) with ports the system picks, so tests can run in parallel. It needs the venv made by
//! `.ci/setup-venv.sh`; the interpreter is `$FAKEPVE_PYTHON`, else `$FAKEPVE_VENV/bin/python`,
//! else `<repo>/.venv/bin/python`. The process stops when the `FakePve` is dropped, and also
//! by itself when the test process dies (its standard input closes).
//!
//! The control endpoint (`control`) takes `{"op": ...}` objects; see `CONTROL_OPS` in launch.py:
//! `fail`, `unfail`, `reset_faults`, `revoke_tickets`, `expire_tickets`, `ticket_ttl`, `set_vm`,
//! `set_ct`, `get_vm`, `get_ct`, `requests`, `clear_requests`, `tasks`, `set`, `call`, `grant`,
//! `add_token`, `add_user`, `script` (a scripted answer for one method and path), `unscript`,
//! `ping`.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long the launcher may take to write its ready file.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout of one control request.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(15);

static INSTANCES: AtomicU32 = AtomicU32::new(0);

/// A user that logs in with a password (root@pam).
#[derive(Clone, Debug)]
pub struct UserCreds {
    pub user: String,
    pub password: String,
}

/// A user with a password and an API token.
#[derive(Clone, Debug)]
pub struct TokenCreds {
    pub user: String,
    pub password: String,
    /// `user@realm!name`
    pub token_id: String,
    pub token_secret: String,
}

impl TokenCreds {
    /// The value of the `Authorization` header for this token: `PVEAPIToken=<id>=<secret>`.
    pub fn token_header(&self) -> String {
        format!("PVEAPIToken={}={}", self.token_id, self.token_secret)
    }
}

/// Options for [`FakePve::start_with`].
#[derive(Clone, Debug)]
pub struct StartOptions {
    /// Guests file (fakepve's `{"guests": [...]}` format); default `tests/fakepve/guests.json`.
    pub guests: Option<PathBuf>,
    /// Real seconds per PVE second; 0 (the default) finishes every task before the request returns.
    pub time_scale: f64,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            guests: None,
            time_scale: 0.0,
        }
    }
}

/// A running fakepve process.
pub struct FakePve {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    dir: PathBuf,
    log_path: PathBuf,
    ready: Value,
    host: String,
    port: u16,
    control_port: u16,
    base_url: String,
    ca_pem: PathBuf,
    cert_pem: PathBuf,
    fingerprint: String,
    node: String,
    root: UserCreds,
    alice: TokenCreds,
    bob: TokenCreds,
    control_client: reqwest::Client,
}

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python interpreter of the fakepve venv.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FAKEPVE_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = std::env::var_os("FAKEPVE_VENV")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join(".venv"));
    let candidate = venv.join("bin").join("python");
    if candidate.exists() {
        return candidate;
    }
    panic!(
        "fakepve test harness: no Python venv with fakepve at {} (and FAKEPVE_PYTHON is not set).\n\
         Run `.ci/setup-venv.sh` from the repository root to create it \
         (or set FAKEPVE_PYTHON to a Python that has fakepve[crypto]==0.5.0 installed).",
        venv.display()
    );
}

/// A loopback address for the next instance: 127.0.0.x with x in 2..=254, spread by process id and
/// a counter. Ports are picked by the system, so two instances on one address do not collide either.
fn next_host() -> (u32, String) {
    let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
    let x = 2 + (std::process::id().wrapping_mul(37).wrapping_add(n) % 253);
    (n, format!("127.0.0.{x}"))
}

/// Remove the temp dirs of earlier test processes that died without cleaning up (Linux: by /proc).
fn remove_stale_dirs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name
                .to_str()
                .and_then(|n| n.strip_prefix("proxmox-mcp-fakepve-"))
            else {
                continue;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
}

fn read_tail(path: &Path, max: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        let start = bytes.len().saturating_sub(max);
        text = String::from_utf8_lossy(&bytes[start..]).into_owned();
    }
    text
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("fakepve ready file: missing string field {key:?} in {v}"))
        .to_owned()
}

fn port_field(v: &Value, key: &str) -> u16 {
    v.get(key)
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("fakepve ready file: missing port field {key:?} in {v}"))
}

fn token_creds(v: &Value, key: &str) -> TokenCreds {
    let c = v
        .get(key)
        .unwrap_or_else(|| panic!("fakepve ready file: missing {key:?}"));
    TokenCreds {
        user: str_field(c, "user"),
        password: str_field(c, "password"),
        token_id: str_field(c, "token_id"),
        token_secret: str_field(c, "token_secret"),
    }
}

impl FakePve {
    /// Start a fakepve with the default guests (`tests/fakepve/guests.json`) and time_scale 0.
    pub async fn start() -> FakePve {
        Self::start_with(StartOptions::default()).await
    }

    /// Start a fakepve with these options. Panics (with the launcher's output) if it does not come up
    /// within 30 seconds.
    pub async fn start_with(opts: StartOptions) -> FakePve {
        let python = python();
        let repo = repo_dir();
        let launcher = repo.join("tests/fakepve/launch.py");
        let guests = opts
            .guests
            .clone()
            .unwrap_or_else(|| repo.join("tests/fakepve/guests.json"));
        remove_stale_dirs();
        let (n, host) = next_host();
        let dir =
            std::env::temp_dir().join(format!("proxmox-mcp-fakepve-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("fakepve harness: cannot create {}: {e}", dir.display()));
        let ready_path = dir.join("ready.json");
        let log_path = dir.join("launcher.log");
        let log = std::fs::File::create(&log_path).unwrap_or_else(|e| {
            panic!("fakepve harness: cannot create {}: {e}", log_path.display())
        });
        let log_out = log
            .try_clone()
            .expect("fakepve harness: cannot clone log file handle");

        let mut child = Command::new(&python)
            .arg(&launcher)
            .arg("--host")
            .arg(&host)
            .arg("--ready")
            .arg(&ready_path)
            .arg("--guests")
            .arg(&guests)
            .arg("--time-scale")
            .arg(opts.time_scale.to_string())
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log_out))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "fakepve harness: cannot run {} {}: {e}\n\
                     Run `.ci/setup-venv.sh` to create the venv, or set FAKEPVE_PYTHON.",
                    python.display(),
                    launcher.display()
                )
            });
        let stdin = child.stdin.take();

        let deadline = Instant::now() + START_TIMEOUT;
        let ready: Value = loop {
            if let Ok(text) = std::fs::read_to_string(&ready_path) {
                match serde_json::from_str(&text) {
                    Ok(v) => break v,
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!(
                            "fakepve harness: unreadable ready file {}: {e}\n{text}",
                            ready_path.display()
                        );
                    }
                }
            }
            match child.try_wait() {
                Ok(Some(status)) => panic!(
                    "fakepve harness: launcher exited ({status}) before it was ready.\n\
                     --- {} ---\n{}",
                    log_path.display(),
                    read_tail(&log_path, 16 * 1024)
                ),
                Ok(None) => {}
                Err(e) => panic!("fakepve harness: cannot wait for the launcher: {e}"),
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "fakepve harness: launcher not ready after {:?}.\n--- {} ---\n{}",
                    START_TIMEOUT,
                    log_path.display(),
                    read_tail(&log_path, 16 * 1024)
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };

        let control_client = reqwest::Client::builder()
            .no_proxy()
            .http1_only()
            .timeout(CONTROL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("fakepve harness: building the control HTTP client");

        let root = ready.get("root").expect("fakepve ready file: missing root");
        FakePve {
            host: str_field(&ready, "host"),
            port: port_field(&ready, "port"),
            control_port: port_field(&ready, "control_port"),
            base_url: str_field(&ready, "base_url"),
            ca_pem: PathBuf::from(str_field(&ready, "ca_pem")),
            cert_pem: PathBuf::from(str_field(&ready, "cert_pem")),
            fingerprint: str_field(&ready, "fingerprint_sha256"),
            node: str_field(&ready, "node"),
            root: UserCreds {
                user: str_field(root, "user"),
                password: str_field(root, "password"),
            },
            alice: token_creds(&ready, "alice"),
            bob: token_creds(&ready, "bob"),
            child: Some(child),
            stdin,
            dir,
            log_path,
            ready,
            control_client,
        }
    }

    /// The loopback address it listens on, e.g. `127.0.0.7`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The HTTPS port of the API.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://<host>:<port>` (no `/api2/json`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `https://<host>:<port>/api2/json<path>`; `path` starts with `/`.
    pub fn api_url(&self, path: &str) -> String {
        format!("{}/api2/json{}", self.base_url, path)
    }

    /// PEM file of the CA that signed the server certificate.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(&self.ca_pem).expect("fakepve harness: reading the CA PEM")
    }

    /// PEM file of the server (leaf) certificate.
    pub fn cert_pem_path(&self) -> &Path {
        &self.cert_pem
    }

    /// SHA-256 fingerprint of the server certificate as Proxmox shows it: `AB:CD:...` (uppercase).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The node the seeded guests live on (`pve1`).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// root@pam and its password (root may do anything).
    pub fn root(&self) -> &UserCreds {
        &self.root
    }

    /// alice@pve: a VM operator on `/` (VM.*, Sys.Audit, Datastore.Audit, ...), with token `alice@pve!ci`.
    pub fn alice(&self) -> &TokenCreds {
        &self.alice
    }

    /// bob@pve: read-only (VM.Audit on /vms, Sys.Audit on /nodes), with token `bob@pve!ro`.
    pub fn bob(&self) -> &TokenCreds {
        &self.bob
    }

    /// The whole ready file the launcher wrote.
    pub fn ready_info(&self) -> &Value {
        &self.ready
    }

    /// The launcher's log (its stderr and stdout) so far.
    pub fn launcher_log(&self) -> String {
        read_tail(&self.log_path, 1 << 20)
    }

    /// `http://<host>:<control port>/control`.
    pub fn control_url(&self) -> String {
        format!("http://{}:{}/control", self.host, self.control_port)
    }

    /// POST a control request; returns its status and JSON answer (`{"ok": true, "data": ...}` or
    /// `{"error": "..."}` with 400 for a bad request).
    pub async fn control_raw(&self, body: Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(&body).expect("serialising control request");
        let resp = self
            .control_client
            .post(self.control_url())
            .header("Content-Type", "application/json")
            .body(bytes)
            .send()
            .await
            .unwrap_or_else(|e| panic!("fakepve control {body}: request failed: {e}"));
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("fakepve control {body}: reading the answer failed: {e}"));
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "fakepve control {body}: answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    }

    /// POST a control request and return the `data` of its answer; panics unless it succeeded.
    pub async fn control(&self, body: Value) -> Value {
        let (status, value) = self.control_raw(body.clone()).await;
        if status != 200 {
            panic!("fakepve control {body}: HTTP {status}: {value}");
        }
        value.get("data").cloned().unwrap_or(Value::Null)
    }

    /// The requests fakepve has seen (oldest first): objects with `seq`, `method`, `path`, `raw_path`,
    /// `route` (the schema route fakepve resolved: `{"template", "params"}`, or null), `query_string`,
    /// `query` ([[k, v], ...]), `content_type`, `headers` (lower-case names; token secrets and cookie
    /// values as `***`), `auth` (`{"kind": "token"|"ticket"|null, "id"/"user", "valid"}`), `csrf_sent`,
    /// `csrf_valid`, `body` (passwords as `***`) and `status`.
    pub async fn requests(&self) -> Vec<Value> {
        match self.control(serde_json::json!({"op": "requests"})).await {
            Value::Array(items) => items,
            other => panic!("fakepve control requests: expected a list, got {other}"),
        }
    }

    /// Forget the recorded requests.
    pub async fn clear_requests(&self) {
        self.control(serde_json::json!({"op": "clear_requests"}))
            .await;
    }

    /// A reqwest client that trusts only this fake's CA (HTTP/1.1, short timeouts, no proxy).
    pub fn reqwest_client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(&self.ca_pem())
            .expect("fakepve harness: parsing the CA PEM");
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .http1_only()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("fakepve harness: building the HTTPS client")
    }

    /// Stop the launcher: close its stdin, wait a little for it to clean up, then kill it.
    fn shutdown(&mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
    }
}

/// A client builder for `pve`: its address, trusting only its CA, 20 s timeout.
pub fn builder(pve: &FakePve) -> proxmox_mcp::ClientBuilder {
    proxmox_mcp::Client::builder(pve.host())
        .port(pve.port())
        .tls(proxmox_mcp::TlsMode::CaFile(
            pve.ca_pem_path().to_path_buf(),
        ))
        .timeout(Duration::from_secs(20))
}

/// A client authenticating with alice's API token.
pub fn alice(pve: &FakePve) -> proxmox_mcp::Client {
    builder(pve)
        .token(&pve.alice().token_header())
        .unwrap()
        .build()
        .unwrap()
}

/// A client logging in as root@pam with its password (ticket auth).
pub fn root_ticket(pve: &FakePve) -> proxmox_mcp::Client {
    builder(pve)
        .password(&pve.root().user, &pve.root().password)
        .unwrap()
        .build()
        .unwrap()
}

impl Drop for FakePve {
    fn drop(&mut self) {
        self.shutdown();
        if std::thread::panicking() {
            eprintln!(
                "--- fakepve launcher log ({}), kept in {} ---\n{}",
                self.log_path.display(),
                self.dir.display(),
                read_tail(&self.log_path, 8 * 1024)
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
