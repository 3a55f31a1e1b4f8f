//! Settings of the binary: flags first, then environment variables (the names the ProxmoxMCP
//! family of servers uses), then the configuration file (the family's `servers` JSON format, or
//! the same in TOML). Every command that talks to PVE reads them the same way; `doctor` shows
//! where each one came from.

mod file;
mod ssh;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use proxmox_mcp::{ApiToken, Auth, Client, TlsMode};
pub use ssh::Ssh;
/// The variables read, with what each does; `--help` prints this.
pub const ENV_HELP: &str = "\
Settings come from flags, then environment variables, then the configuration file (--config or
PROXMOX_MCP_CONFIG: the {\"servers\": {NAME: {...}}} JSON format of the ProxmoxMCP family of
servers, or the same in TOML). The PROXMOX_* server variables describe the default server and
override its file entry. The safety settings for every server (PROXMOX_READ_ONLY,
PROXMOX_ALLOW_ELEVATED, PROXMOX_CONFIRM and their flags) only tighten a server's own: a file's
read_only = true, allow_elevated = false or stricter confirm stands, and start-up warns about the
global setting it ignored.

environment:
  PROXMOX_MCP_CONFIG      configuration file (JSON, or TOML when it ends in .toml)
  PROXMOX_HOST            host name or address of a PVE node (required without a file)
  PROXMOX_PORT            port (default 8006)
  PROXMOX_TOKEN           API token: PVEAPIToken=USER@REALM!ID=SECRET or USER@REALM!ID=SECRET
  PROXMOX_USER            user (root, or root@pam) for PROXMOX_TOKEN_NAME/_VALUE or PROXMOX_PASSWORD
  PROXMOX_REALM           realm of PROXMOX_USER when it has none (default pam)
  PROXMOX_TOKEN_NAME      token id (mcp, or USER@REALM!mcp), with PROXMOX_TOKEN_VALUE (its secret)
  PROXMOX_PASSWORD        password of PROXMOX_USER (ticket login), when no token is set
  PROXMOX_SSL_MODE        strict (default: system roots) | verify (system roots plus
                          PROXMOX_SSL_CA_CERT) | insecure (no verification: do not)
  PROXMOX_SSL_CA_CERT     CA certificate (PEM), e.g. PVE's /etc/pve/pve-root-ca.pem; with strict,
                          the only trusted CA; with verify, trusted beside the system roots
                          (PROXMOX_CA_FILE is the same)
  PROXMOX_VERIFY_SSL      false is the same as PROXMOX_SSL_MODE=insecure (the file's verify_ssl)
  PROXMOX_FINGERPRINT     pin the certificate's SHA-256 fingerprint (AB:CD:...), as Proxmox's
                          tools do; wins over the other TLS settings; `doctor` prints it
  PROXMOX_TIMEOUT         request timeout in seconds (default 30, at most 86400)
  PROXMOX_DEFAULT_NODE    node used when a tool needs one and none is given
  PROXMOX_ALLOW_ELEVATED  true allows writes (POST/PUT/DELETE) on every server whose file entry
                          does not say allow_elevated = false; false (default) refuses them
  PROXMOX_READ_ONLY       true hides and refuses writes on every server, whatever else is set;
                          false never lifts a file's read_only = true
  PROXMOX_CONFIRM         how the person confirms destructive calls (or --confirm): ask (default;
                          refuse when the client cannot ask) | ask-or-allow (allow when it
                          cannot) | off (never ask); never looser than a server's own `confirm`
  PROXMOX_MCP_AUDIT_LOG   file that an audit record of every write is appended to (or
                          --audit-log PATH; over `audit_log` in the file)
  PROXMOX_SSH_KEY         proxmox_lxc_exec (runs `pct exec` over SSH): the private key file
  PROXMOX_SSH_HOST_KEY    the node's public host key (ssh-ed25519 AAAA...; several: one a line),
                          pinned: no other key is accepted
  PROXMOX_SSH_USER        user SSH logs in as (default root)
  PROXMOX_SSH_PORT        SSH port (default 22)
  PROXMOX_SSH_HOST        the node's address: one for all (default {node}, the node's name), or
                          NODE=ADDRESS,... per node
  PROXMOX_SSH_PCT         pct on the node (default pct)
  PROXMOX_MCP_CONSOLE_DIR directory proxmox_guest_console writes console tickets to, as files
                          only this user can read (over `console_dir` in the file; default
                          $XDG_RUNTIME_DIR/proxmox-mcp, else proxmox-mcp-$USER in the temp
                          directory)
  PROXMOX_MCP_UPLOAD_DIR  directory whose files proxmox_storage_upload may send to PVE (over
                          `upload_dir` in the file); unset, the tool sends nothing
  PROXMOX_DEMO            true is the same as --demo: a simulated cluster, no settings needed
  PROXMOX_MCP_HTTP_TOKEN  serve --http: the bearer token clients must send (required, at least 16
                          characters; or PROXMOX_MCP_HTTP_TOKEN_FILE / --http-token-file PATH)
  PROXMOX_MCP_HTTP_TOKEN_FILE       serve --http: file holding the bearer token
  PROXMOX_MCP_HTTP_ALLOWED_ORIGINS  serve --http: browser origins allowed besides
                          http://localhost, http://127.0.0.1 and http://[::1] (comma-separated)
  PROXMOX_MCP_HTTP_ALLOWED_HOSTS    serve --http: Host names allowed besides loopback names and
                          the bind address (comma-separated)
  PROXMOX_MCP_HTTP_MAX_SESSIONS     serve --http: live sessions at most (default 64), all clients
                          together; beyond it a new session is refused with 503
  RUST_LOG                log filter for stderr (default warn)";

/// Where a setting came from, as `doctor` and error messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// An environment variable the file names (`token_env_var`, `password_env_var`).
    EnvNamedByFile {
        /// The variable.
        var: String,
        /// The file key that names it, such as `servers.pve.token_env_var`.
        key: String,
    },
    /// A key of the configuration file.
    File {
        /// The key, such as `servers.pve.port`.
        key: String,
        /// The file.
        path: String,
    },
    /// The demo cluster (`--demo`).
    Demo,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => f.write_str(flag),
            Source::Env(var) => f.write_str(var),
            Source::EnvNamedByFile { var, key } => write!(f, "{var} (named by {key})"),
            Source::File { key, path } => write!(f, "{key} in {path}"),
            Source::Demo => f.write_str("--demo"),
        }
    }
}

/// How to reach and authenticate to one PVE server, and what the MCP server may do there.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Credentials.
    pub auth: Auth,
    /// Certificate checking.
    pub tls: TlsMode,
    /// Request timeout.
    pub timeout: Duration,
    /// Writes allowed.
    pub allow_elevated: bool,
    /// Writes hidden and refused, whatever else is set.
    pub read_only: bool,
    /// The node a tool uses when it needs one and none is given.
    pub default_node: Option<String>,
    /// How the person confirms destructive calls on this server.
    pub confirm: Confirm,
    /// `proxmox_lxc_exec` over SSH, when set up.
    pub ssh: Option<Ssh>,
}

/// How destructive calls are confirmed by the person at the MCP client, per server. Ordered from
/// the loosest to the strictest, so that a setting for every server can only move a server up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Confirm {
    /// Never ask (`off`).
    Off,
    /// Ask the person; allow when the client cannot ask (`ask-or-allow`).
    AskOrAllow,
    /// Ask the person; refuse when the client cannot ask (`ask`, the default).
    #[default]
    Ask,
}

impl Confirm {
    /// The values, as written in settings.
    pub const VALUES: &'static str = "ask, ask-or-allow or off";

    /// Reads a value; `name` says where it came from.
    pub fn parse(name: &str, text: &str) -> Result<Confirm, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ask" => Ok(Confirm::Ask),
            "ask-or-allow" => Ok(Confirm::AskOrAllow),
            "off" => Ok(Confirm::Off),
            _ => Err(format!(
                "{name} `{text}` is not {}: ask (ask the person, refuse when the client cannot \
                 ask), ask-or-allow (ask, allow when it cannot) or off (never ask)",
                Confirm::VALUES
            )),
        }
    }
}

impl std::str::FromStr for Confirm {
    type Err = String;

    fn from_str(text: &str) -> Result<Confirm, String> {
        Confirm::parse("confirm", text)
    }
}

impl fmt::Display for Confirm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Confirm::Off => "off",
            Confirm::AskOrAllow => "ask-or-allow",
            Confirm::Ask => "ask",
        })
    }
}

impl Settings {
    /// An SDK client for these settings.
    pub fn client(&self) -> Result<Client, String> {
        Client::builder(&self.host)
            .port(self.port)
            .auth(self.auth.clone())
            .tls(self.tls.clone())
            .timeout(self.timeout)
            .build()
            .map_err(|e| e.to_string())
    }

    /// True when writes may be sent.
    pub fn writes_allowed(&self) -> bool {
        self.allow_elevated && !self.read_only
    }
}

/// One configured PVE server (a cluster, or a single node).
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Its name: the file's key, `default` without a file, `demo` with `--demo`.
    pub name: String,
    /// Its settings.
    pub settings: Settings,
    /// Where each setting came from, by setting name (`host`, `port`, `token`, ...). For
    /// `read_only`, `allow_elevated` and `confirm` it is the source that decided the value (absent:
    /// the default).
    pub sources: BTreeMap<&'static str, Source>,
}

/// Everything configured.
#[derive(Debug, Clone)]
pub struct Config {
    /// The servers, in the file's order.
    pub clusters: Vec<Cluster>,
    /// Index of the server used when a call names none.
    pub default: usize,
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// Things to warn about at start-up (weakened TLS, a setting for every server that was
    /// ignored because it would loosen a server's own).
    pub warnings: Vec<String>,
    /// The file the audit log of writes goes to, and where that was set (`--audit-log`,
    /// `PROXMOX_MCP_AUDIT_LOG`, `audit_log` in the file). Only read here; opened elsewhere.
    pub audit_log: Option<(PathBuf, Source)>,
    /// The directory console tickets are written to, and where that was set
    /// (`PROXMOX_MCP_CONSOLE_DIR`, `console_dir` in the file); absent: the default.
    pub console_dir: Option<(PathBuf, Source)>,
    /// The directory `proxmox_storage_upload` may read files from, and where that was set
    /// (`PROXMOX_MCP_UPLOAD_DIR`, `upload_dir` in the file); none: the tool reads nothing.
    pub upload_dir: Option<(PathBuf, Source)>,
}

/// What the command line says about the configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--server`: the default server (for `doctor`: the one to check).
    pub server: Option<String>,
    /// `--allow-elevated`.
    pub allow_elevated: bool,
    /// `--read-only`.
    pub read_only: bool,
    /// `--confirm VALUE`, as given (read with the other settings).
    pub confirm: Option<String>,
    /// `--audit-log PATH`.
    pub audit_log: Option<PathBuf>,
}

/// Environment variables that describe the default server: (variable, setting).
const SERVER_VARS: &[(&str, &str)] = &[
    ("PROXMOX_HOST", "host"),
    ("PROXMOX_PORT", "port"),
    ("PROXMOX_USER", "user"),
    ("PROXMOX_REALM", "realm"),
    ("PROXMOX_TOKEN", "token"),
    ("PROXMOX_TOKEN_NAME", "token_name"),
    ("PROXMOX_TOKEN_VALUE", "token_value"),
    ("PROXMOX_PASSWORD", "password"),
    ("PROXMOX_SSL_MODE", "ssl_mode"),
    ("PROXMOX_VERIFY_SSL", "verify_ssl"),
    ("PROXMOX_SSL_CA_CERT", "ca_file"),
    ("PROXMOX_CA_FILE", "ca_file"),
    ("PROXMOX_FINGERPRINT", "fingerprint"),
    ("PROXMOX_TIMEOUT", "timeout"),
    ("PROXMOX_DEFAULT_NODE", "default_node"),
    ("PROXMOX_SSH_KEY", "ssh_key"),
    ("PROXMOX_SSH_HOST_KEY", "ssh_host_key"),
    ("PROXMOX_SSH_USER", "ssh_user"),
    ("PROXMOX_SSH_PORT", "ssh_port"),
    ("PROXMOX_SSH_HOST", "ssh_host"),
    ("PROXMOX_SSH_PCT", "ssh_pct"),
];

/// Settings that come as a group: a source that gives one of them replaces the others' values
/// from weaker sources, so a token in the environment is not mixed with a password in the file.
const CREDENTIALS: &[&str] = &["token", "token_name", "token_value", "password"];
const TLS: &[&str] = &["ssl_mode", "verify_ssl", "ca_file", "fingerprint"];

/// One server's settings as text, with their sources, before they are read.
#[derive(Debug, Default, Clone)]
struct Raw(BTreeMap<&'static str, (String, Source)>);

impl Raw {
    fn get(&self, key: &str) -> Option<&(String, Source)> {
        self.0.get(key)
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|(v, _)| v.as_str())
    }

    /// Lays `over` on top: its values win, and a group it touches is replaced as a whole.
    fn overlay(&mut self, over: Raw) {
        for group in [CREDENTIALS, TLS] {
            if group.iter().any(|k| over.0.contains_key(k)) {
                self.0.retain(|k, _| !group.contains(k));
            }
        }
        self.0.extend(over.0);
    }
}

/// The longest request timeout accepted (a day).
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// Seconds: a positive, finite number up to a day. `name` says where the value came from.
pub fn parse_timeout(name: &str, text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= MAX_TIMEOUT_SECS)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            format!(
                "{name} `{text}` is not a number of seconds between 0 and {MAX_TIMEOUT_SECS}: \
                 give the request timeout in seconds, such as 30"
            )
        })
}

/// A boolean setting: `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`; anything else is an error
/// rather than a silent "false".
pub fn parse_bool(name: &str, text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "{name} `{text}` is neither true nor false (use true or false)"
        )),
    }
}

/// Reads an environment variable: trimmed, `None` when unset or empty.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Config {
    /// Reads the configuration from the process environment and the file it names.
    pub fn from_env(opts: &Options) -> Result<Config, String> {
        Config::load(opts, &env_var)
    }

    /// Reads the configuration; `env` returns a variable's value (`None` when unset or empty).
    pub fn load(opts: &Options, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
        let mut warnings = Vec::new();
        let path = opts
            .config
            .clone()
            .or_else(|| env("PROXMOX_MCP_CONFIG").map(PathBuf::from));
        // The servers as the file describes them (or one unnamed server without a file).
        let mut raws: Vec<(String, Raw)> = Vec::new();
        let mut default_name = None;
        let mut secret_in_file = false;
        let mut file_path = None;
        let mut file_audit_log = None;
        let mut file_console_dir = None;
        let mut file_upload_dir = None;
        if let Some(path) = &path {
            let loaded = file::load(path)?;
            let shown = loaded.path.display().to_string();
            for (name, entry) in &loaded.config.servers.0 {
                let (raw, inline_secret) = file_raw(name, entry, &shown, env)?;
                secret_in_file |= inline_secret;
                raws.push((name.clone(), raw));
            }
            if let Some(d) = &loaded.config.default {
                default_name = Some((d.clone(), format!("`default` in {shown}")));
            }
            if secret_in_file && let Some(m) = loaded.mode.filter(|m| exposed(*m)) {
                return Err(format!(
                    "{shown} holds a token or password and other users can read it (mode {m:o}): \
                     run `chmod 600 {shown}`, or move the secret into an environment variable \
                     named by token_env_var / password_env_var; not starting until then"
                ));
            }
            if let Some(a) = loaded.config.audit_log.as_deref().map(str::trim)
                && !a.is_empty()
            {
                file_audit_log = Some((
                    PathBuf::from(a),
                    Source::File {
                        key: "audit_log".into(),
                        path: shown.clone(),
                    },
                ));
            }
            if let Some(d) = loaded.config.console_dir.as_deref().map(str::trim)
                && !d.is_empty()
            {
                file_console_dir = Some((
                    PathBuf::from(d),
                    Source::File {
                        key: "console_dir".into(),
                        path: shown.clone(),
                    },
                ));
            }
            if let Some(d) = loaded.config.upload_dir.as_deref().map(str::trim)
                && !d.is_empty()
            {
                file_upload_dir = Some((
                    PathBuf::from(d),
                    Source::File {
                        key: "upload_dir".into(),
                        path: shown.clone(),
                    },
                ));
            }
            file_path = Some(loaded.path);
        } else {
            raws.push(("default".to_string(), Raw::default()));
        }
        if let Some(s) = &opts.server {
            default_name = Some((s.clone(), "--server".to_string()));
        }
        let default = match default_name {
            Some((name, from)) => raws.iter().position(|(n, _)| *n == name).ok_or_else(|| {
                format!(
                    "{from} names server `{name}`, which is not configured; configured: {}",
                    names(&raws)
                )
            })?,
            None => 0,
        };
        // The environment describes the default server (as in the ProxmoxMCP family: PROXMOX_HOST and
        // PROXMOX_USER override the file).
        let mut from_env = Raw::default();
        for (var, key) in SERVER_VARS {
            if let Some(v) = env(var)
                && from_env.get(key).is_none()
            {
                from_env.0.insert(key, (v, Source::Env(var)));
            }
        }
        raws[default].1.overlay(from_env);
        // Policies apply to every server, but only to tighten what its file entry says.
        let globals = Globals::read(opts, env)?;
        let mut clusters = Vec::new();
        for (name, mut raw) in raws {
            globals.tighten(&name, &mut raw, &mut warnings)?;
            let settings = resolve(&name, &raw, path.is_some(), env("HOME").as_deref())?;
            let config_flag = file_path
                .as_ref()
                .map(|p: &PathBuf| format!(" --config {}", p.display()))
                .unwrap_or_default();
            if settings.tls == TlsMode::Insecure {
                let from = TLS
                    .iter()
                    .find_map(|k| raw.get(k).map(|(_, s)| s.to_string()))
                    .unwrap_or_default();
                warnings.push(format!(
                    "server `{name}`: CERTIFICATE CHECKS ARE OFF ({from}). Anyone between here and \
                     {}:{} can read the credentials and change answers. Pin the certificate \
                     instead: `proxmox-mcp doctor{config_flag} --server {name}` prints its \
                     fingerprint for PROXMOX_FINGERPRINT (or \"fingerprint\" in the file)",
                    settings.host, settings.port
                ));
            }
            let sources = raw.0.into_iter().map(|(k, (_, s))| (k, s)).collect();
            clusters.push(Cluster {
                name,
                settings,
                sources,
            });
        }
        Ok(Config {
            clusters,
            default,
            file: file_path,
            warnings,
            audit_log: audit_log(opts, env).or(file_audit_log),
            console_dir: console_dir(env).or(file_console_dir),
            upload_dir: upload_dir(env).or(file_upload_dir),
        })
    }

    /// Refuses `--demo` beside the settings of a real cluster, so that nobody takes the
    /// simulation for their cluster.
    pub fn check_demo(opts: &Options, env: &dyn Fn(&str) -> Option<String>) -> Result<(), String> {
        for var in ["PROXMOX_MCP_CONFIG", "PROXMOX_HOST"] {
            if env(var).is_some() {
                return Err(format!(
                    "--demo serves a simulated cluster and does not combine with {var}: unset \
                     {var} for the demo, or drop --demo to use your cluster"
                ));
            }
        }
        if opts.config.is_some() {
            return Err(
                "--demo serves a simulated cluster and does not combine with --config: \
                 drop one of them"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// The configuration of the demo cluster (`--demo`) listening on 127.0.0.1:`port`.
    /// `PROXMOX_ALLOW_ELEVATED`/`PROXMOX_READ_ONLY` and the flags apply as to any server.
    pub fn demo(
        opts: &Options,
        env: &dyn Fn(&str) -> Option<String>,
        port: u16,
        fingerprint: &str,
        token: &str,
    ) -> Result<Config, String> {
        Config::check_demo(opts, env)?;
        let mut raw = Raw::default();
        for (key, value) in [
            ("host", "127.0.0.1".to_string()),
            ("port", port.to_string()),
            ("token", token.to_string()),
            ("fingerprint", fingerprint.to_string()),
        ] {
            raw.0.insert(key, (value, Source::Demo));
        }
        let mut warnings = Vec::new();
        Globals::read(opts, env)?.tighten("demo", &mut raw, &mut warnings)?;
        let settings = resolve("demo", &raw, false, None)?;
        let sources = raw.0.into_iter().map(|(k, (_, s))| (k, s)).collect();
        Ok(Config {
            clusters: vec![Cluster {
                name: "demo".into(),
                settings,
                sources,
            }],
            default: 0,
            file: None,
            warnings,
            audit_log: audit_log(opts, env),
            console_dir: console_dir(env),
            upload_dir: upload_dir(env),
        })
    }

    /// The server used when a call names none.
    pub fn default_cluster(&self) -> &Cluster {
        &self.clusters[self.default]
    }

    /// The server called `name`, or an error listing the configured ones.
    #[cfg(test)]
    pub fn cluster(&self, name: &str) -> Result<&Cluster, String> {
        self.clusters
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.clusters.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "server `{name}` is not configured; configured: {}",
                    names.join(", ")
                )
            })
    }
}

/// Whether a file's mode lets users other than its owner at it (any group or other bit).
pub fn exposed(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// `PROXMOX_MCP_UPLOAD_DIR` (the file's `upload_dir` comes after it).
fn upload_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<(PathBuf, Source)> {
    env("PROXMOX_MCP_UPLOAD_DIR").map(|v| (PathBuf::from(v), Source::Env("PROXMOX_MCP_UPLOAD_DIR")))
}

/// `--audit-log`, else `PROXMOX_MCP_AUDIT_LOG` (the file's `audit_log` comes after both).
fn audit_log(opts: &Options, env: &dyn Fn(&str) -> Option<String>) -> Option<(PathBuf, Source)> {
    opts.audit_log
        .clone()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| (p, Source::Flag("--audit-log")))
        .or_else(|| {
            env("PROXMOX_MCP_AUDIT_LOG")
                .map(|v| (PathBuf::from(v), Source::Env("PROXMOX_MCP_AUDIT_LOG")))
        })
}

/// `PROXMOX_MCP_CONSOLE_DIR` (the file's `console_dir` comes after it).
fn console_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<(PathBuf, Source)> {
    env("PROXMOX_MCP_CONSOLE_DIR")
        .map(|v| (PathBuf::from(v), Source::Env("PROXMOX_MCP_CONSOLE_DIR")))
}

/// The safety settings that apply to every server (a flag over its variable). They only tighten
/// what a server's file entry says: `read_only` is true when any layer says so, `allow_elevated`
/// applies only where the entry does not say `false`, and `confirm` never goes below the entry's.
#[derive(Debug, Default)]
struct Globals {
    read_only: Option<(bool, Source)>,
    allow_elevated: Option<(bool, Source)>,
    confirm: Option<(Confirm, Source)>,
}

impl Globals {
    /// `--read-only`/`--allow-elevated`/`--confirm` over `PROXMOX_READ_ONLY`/
    /// `PROXMOX_ALLOW_ELEVATED`/`PROXMOX_CONFIRM`.
    fn read(opts: &Options, env: &dyn Fn(&str) -> Option<String>) -> Result<Globals, String> {
        let boolean = |set: bool, flag: &'static str, var: &'static str| {
            if set {
                return Ok(Some((true, Source::Flag(flag))));
            }
            env(var)
                .map(|v| parse_bool(var, &v).map(|b| (b, Source::Env(var))))
                .transpose()
        };
        let confirm = match opts.confirm.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => {
                Some((Confirm::parse("--confirm", v)?, Source::Flag("--confirm")))
            }
            _ => env("PROXMOX_CONFIRM")
                .map(|v| {
                    Confirm::parse("PROXMOX_CONFIRM", &v)
                        .map(|c| (c, Source::Env("PROXMOX_CONFIRM")))
                })
                .transpose()?,
        };
        Ok(Globals {
            read_only: boolean(opts.read_only, "--read-only", "PROXMOX_READ_ONLY")?,
            allow_elevated: boolean(
                opts.allow_elevated,
                "--allow-elevated",
                "PROXMOX_ALLOW_ELEVATED",
            )?,
            confirm,
        })
    }

    /// Lays these settings over one server's own (`raw`, from its file entry), leaving in `raw`
    /// each effective value with the source that decided it; a global setting that would loosen
    /// the entry is ignored with a warning.
    fn tighten(&self, name: &str, raw: &mut Raw, warnings: &mut Vec<String>) -> Result<(), String> {
        let own_bool = |key: &str| {
            raw.get(key)
                .map(|(v, src)| parse_bool(&src.to_string(), v).map(|b| (b, src.clone())))
                .transpose()
        };
        let own_ro = own_bool("read_only")?;
        let own_ae = own_bool("allow_elevated")?;
        if let (Some((true, a)), Some((true, r))) = (&own_ae, &own_ro) {
            return Err(format!(
                "{a} and {r} are both true: a server cannot allow writes and be read-only; \
                 remove one"
            ));
        }
        // A global setting that would loosen the entry: ignored, with a warning that names both.
        let ignored = |warnings: &mut Vec<String>,
                       key: &str,
                       global: &Source,
                       value: &str,
                       own: &Source,
                       own_value: &str| {
            let said = match global {
                Source::Flag(f) if value == "true" => f.to_string(),
                Source::Flag(f) => format!("{f} {value}"),
                other => format!("{other}={value}"),
            };
            warnings.push(format!(
                "server `{name}`: {said} is ignored for `{key}`: {own} is {own_value}, and a \
                 setting for every server only tightens a server's own; change {own} to loosen it"
            ));
        };
        // read_only: true when any layer says so; the strongest source saying true decides.
        let ro = match (&self.read_only, &own_ro) {
            (Some((true, g)), _) => Some((true, g.clone())),
            (Some((false, g)), Some((true, own))) => {
                ignored(warnings, "read_only", g, "false", own, "true");
                Some((true, own.clone()))
            }
            (Some((false, g)), _) => Some((false, g.clone())),
            (None, own) => own.clone(),
        };
        // allow_elevated: the entry's `false` stands; otherwise the global value, else the entry's.
        let ae = match (&self.allow_elevated, &own_ae) {
            (Some((true, g)), Some((false, own))) => {
                ignored(warnings, "allow_elevated", g, "true", own, "false");
                Some((false, own.clone()))
            }
            (_, Some((false, own))) => Some((false, own.clone())),
            (Some(g), _) => Some(g.clone()),
            (None, own) => own.clone(),
        };
        // confirm: never below the entry's.
        let own_confirm = raw
            .get("confirm")
            .map(|(v, src)| Confirm::parse(&src.to_string(), v).map(|c| (c, src.clone())))
            .transpose()?;
        let confirm = match (&self.confirm, own_confirm) {
            (Some((g, gsrc)), Some((own, osrc))) if *g < own => {
                let (g, own_text) = (g.to_string(), own.to_string());
                ignored(warnings, "confirm", gsrc, &g, &osrc, &own_text);
                Some((own, osrc))
            }
            (Some(g), _) => Some(g.clone()),
            (None, own) => own,
        };
        for (key, value) in [
            ("read_only", ro.map(|(b, s)| (b.to_string(), s))),
            ("allow_elevated", ae.map(|(b, s)| (b.to_string(), s))),
            ("confirm", confirm.map(|(c, s)| (c.to_string(), s))),
        ] {
            match value {
                Some(v) => {
                    raw.0.insert(key, v);
                }
                None => {
                    raw.0.remove(key);
                }
            }
        }
        Ok(())
    }
}

fn names(raws: &[(String, Raw)]) -> String {
    raws.iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One server of the file as raw settings; also says whether it holds a secret itself.
fn file_raw(
    name: &str,
    e: &file::ServerEntry,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Raw, bool), String> {
    let mut raw = Raw::default();
    let src = |field: &str| Source::File {
        key: format!("servers.{name}.{field}"),
        path: path.to_string(),
    };
    let fields: [(&'static str, &str, &Option<file::Scalar>); 19] = [
        ("host", "host", &e.host),
        ("user", "username", &e.username),
        ("realm", "realm", &e.realm),
        ("port", "port", &e.port),
        ("verify_ssl", "verify_ssl", &e.verify_ssl),
        ("timeout", "timeout", &e.timeout),
        ("token", "token", &e.token),
        ("password", "password", &e.password),
        ("fingerprint", "fingerprint", &e.fingerprint),
        ("ca_file", "ca_file", &e.ca_file),
        ("ssl_mode", "ssl_mode", &e.ssl_mode),
        ("allow_elevated", "allow_elevated", &e.allow_elevated),
        ("read_only", "read_only", &e.read_only),
        ("default_node", "default_node", &e.default_node),
        ("confirm", "confirm", &e.confirm),
        ("ssh_key", "ssh_key", &e.ssh_key),
        ("ssh_user", "ssh_user", &e.ssh_user),
        ("ssh_port", "ssh_port", &e.ssh_port),
        ("ssh_pct", "ssh_pct", &e.ssh_pct),
    ];
    let lists = [
        (
            "ssh_host_key",
            e.ssh_host_key.as_ref().map(|v| v.to_string()),
        ),
        ("ssh_host", e.ssh_host.as_ref().map(|v| v.to_string())),
    ];
    let values = fields
        .into_iter()
        .map(|(key, field, v)| (key, field, v.as_ref().map(|v| v.to_string())))
        .chain(lists.into_iter().map(|(key, v)| (key, key, v)));
    for (key, field, value) in values {
        if let Some(v) = value {
            let text = v.trim().to_string();
            if !text.is_empty() {
                raw.0.insert(key, (text, src(field)));
            }
        }
    }
    let inline_secret = raw.get("token").is_some() || raw.get("password").is_some();
    // Secrets named by the file come from the environment and win over ones written inline.
    for (key, field, var) in [
        ("token", "token_env_var", &e.token_env_var),
        ("password", "password_env_var", &e.password_env_var),
    ] {
        if let Some(var) = var
            && let Some(value) = env(var)
        {
            raw.0.insert(
                key,
                (
                    value,
                    Source::EnvNamedByFile {
                        var: var.clone(),
                        key: format!("servers.{name}.{field}"),
                    },
                ),
            );
        }
    }
    Ok((raw, inline_secret))
}

/// Reads one server's raw settings.
fn resolve(name: &str, raw: &Raw, from_file: bool, home: Option<&str>) -> Result<Settings, String> {
    let label = |key: &str| {
        raw.get(key)
            .map(|(_, s)| s.to_string())
            .unwrap_or_else(|| key.to_string())
    };
    let host = raw.text("host").map(str::to_string).ok_or_else(|| {
        if from_file {
            format!(
                "server `{name}` has no host: set \"host\" in the file (or PROXMOX_HOST for the \
                 default server)"
            )
        } else {
            "PROXMOX_HOST is not set: set it to the host name or address of a PVE node, or give a \
             configuration file with --config (or PROXMOX_MCP_CONFIG); `proxmox-mcp serve --demo` \
             runs a simulated cluster without any settings"
                .to_string()
        }
    })?;
    let port = match raw.text("port") {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("{} `{p}` is not a port number (1-65535)", label("port")))?,
        None => proxmox_mcp::client::DEFAULT_PORT,
    };
    let timeout = match raw.text("timeout") {
        Some(t) => parse_timeout(&label("timeout"), t)?,
        None => proxmox_mcp::client::DEFAULT_TIMEOUT,
    };
    let flag = |key: &str| {
        raw.text(key)
            .map(|v| parse_bool(&label(key), v))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let allow_elevated = flag("allow_elevated")?;
    let read_only = flag("read_only")?;
    let confirm = raw
        .text("confirm")
        .map(|v| Confirm::parse(&label("confirm"), v))
        .transpose()?
        .unwrap_or_default();
    Ok(Settings {
        host,
        port,
        auth: auth(name, raw, &label)?,
        tls: tls(raw, &label)?,
        timeout,
        allow_elevated,
        read_only,
        default_node: raw.text("default_node").map(str::to_string),
        confirm,
        ssh: ssh::resolve(raw, &label, home)?,
    })
}

/// `USER@REALM` from the user and realm settings.
fn user(raw: &Raw) -> Option<String> {
    let user = raw.text("user")?;
    Some(if user.contains('@') {
        user.to_string()
    } else {
        format!("{user}@{}", raw.text("realm").unwrap_or("pam"))
    })
}

/// Other ProxmoxMCP servers' diagnostic test credentials (`test-...-diagnostic`) switch on a mock
/// mode; here they are an error that points to `--demo`, so no credential ever changes what is served.
fn refuse_diagnostic(label: &str, value: &str) -> Result<(), String> {
    let v = value.to_ascii_lowercase();
    if v.contains("test-") && v.contains("diagnostic") {
        return Err(format!(
            "{label} holds a diagnostic test credential (`test-...-diagnostic`); proxmox-mcp has \
             no mode switched on by credentials. For a simulated cluster run `proxmox-mcp serve \
             --demo`; for a real one set a real API token"
        ));
    }
    Ok(())
}

fn auth(name: &str, raw: &Raw, label: &dyn Fn(&str) -> String) -> Result<Auth, String> {
    for key in CREDENTIALS {
        if let Some((v, _)) = raw.get(key) {
            refuse_diagnostic(&label(key), v)?;
        }
    }
    let e = |key: &str| {
        let from = label(key);
        move |e: proxmox_mcp::Error| format!("{from}: {e}")
    };
    if let Some(token) = raw.text("token") {
        return match ApiToken::parse(token) {
            Ok(t) => Ok(Auth::Token(t)),
            // `TOKENID=SECRET` alone belongs to the configured user.
            Err(err) => match (token.split_once('='), user(raw)) {
                (Some((id, secret)), Some(u)) if !id.contains(['@', '!']) => {
                    ApiToken::new(&u, id, secret)
                        .map(Auth::Token)
                        .map_err(e("token"))
                }
                _ => Err(e("token")(err)),
            },
        };
    }
    if let Some(tname) = raw.text("token_name") {
        let value = raw.text("token_value").ok_or_else(|| {
            format!(
                "{} is set but PROXMOX_TOKEN_VALUE (the token's secret) is not",
                label("token_name")
            )
        })?;
        let token = match tname.split_once('!') {
            Some((u, id)) => ApiToken::new(u, id, value),
            None => {
                let u = user(raw).ok_or_else(|| {
                    format!(
                        "{} needs PROXMOX_USER (the token's owner, such as root@pam), or give it \
                         as USER@REALM!TOKENID",
                        label("token_name")
                    )
                })?;
                ApiToken::new(&u, tname, value)
            }
        };
        return token.map(Auth::Token).map_err(e("token_name"));
    }
    if let Some(pw) = raw.text("password") {
        let u = user(raw).ok_or_else(|| {
            format!(
                "{} is set but no user is: set PROXMOX_USER (or \"username\" in the file)",
                label("password")
            )
        })?;
        return Auth::password(&u, pw).map_err(e("password"));
    }
    Err(format!(
        "no credentials for server `{name}`: set PROXMOX_TOKEN (USER@REALM!TOKENID=SECRET), or \
         PROXMOX_USER with PROXMOX_TOKEN_NAME and PROXMOX_TOKEN_VALUE, or PROXMOX_USER with \
         PROXMOX_PASSWORD; in the file, name the variable with \"token_env_var\" (or \
         \"password_env_var\")"
    ))
}

fn tls(raw: &Raw, label: &dyn Fn(&str) -> String) -> Result<TlsMode, String> {
    if let Some(fp) = raw.text("fingerprint") {
        proxmox_mcp::client::parse_fingerprint(fp)
            .map_err(|e| format!("{}: {e}", label("fingerprint")))?;
        return Ok(TlsMode::Fingerprint(fp.to_string()));
    }
    let ca = raw.text("ca_file").map(PathBuf::from);
    let verify_ssl = raw
        .text("verify_ssl")
        .map(|v| parse_bool(&label("verify_ssl"), v))
        .transpose()?;
    let mode = raw.text("ssl_mode").map(|m| m.to_ascii_lowercase());
    let mode = match (mode.as_deref(), verify_ssl) {
        (Some("insecure"), Some(true)) | (Some("strict" | "verify"), Some(false)) => {
            return Err(format!(
                "{}={} contradicts {}={}: set one of them",
                label("ssl_mode"),
                mode.unwrap_or_default(),
                label("verify_ssl"),
                verify_ssl.unwrap_or_default()
            ));
        }
        (Some(m), _) => m.to_string(),
        (None, Some(false)) => "insecure".to_string(),
        (None, _) => "strict".to_string(),
    };
    match (mode.as_str(), ca) {
        ("strict", None) => Ok(TlsMode::Strict),
        ("strict", Some(ca)) => Ok(TlsMode::CaFile(ca)),
        ("verify", ca) => Ok(TlsMode::Verify(ca)),
        ("insecure", _) => Ok(TlsMode::Insecure),
        (other, _) => Err(format!(
            "{} `{other}` is not strict, verify or insecure; for PVE's self-signed certificate \
             set PROXMOX_FINGERPRINT (or PROXMOX_SSL_CA_CERT to pve-root-ca.pem)",
            label("ssl_mode")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration for these variables and options.
    fn config(vars: &[(&str, &str)], opts: &Options) -> Result<Config, String> {
        let owned: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = move |name: &str| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        Config::load(opts, &get)
    }

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, String> {
        config(vars, &Options::default()).map(|c| c.default_cluster().settings.clone())
    }

    const HOST: (&str, &str) = ("PROXMOX_HOST", "pve.example.com");
    const TOKEN: (&str, &str) = ("PROXMOX_TOKEN", "root@pam!mcp=s3cr3t-value");

    #[test]
    fn credentials_in_every_family_form() {
        for vars in [
            vec![HOST, TOKEN],
            vec![
                HOST,
                ("PROXMOX_TOKEN", "PVEAPIToken=root@pam!mcp=s3cr3t-value"),
            ],
            vec![
                HOST,
                ("PROXMOX_USER", "root"),
                ("PROXMOX_REALM", "pam"),
                ("PROXMOX_TOKEN_NAME", "mcp"),
                ("PROXMOX_TOKEN_VALUE", "s3cr3t-value"),
            ],
            vec![
                HOST,
                ("PROXMOX_TOKEN_NAME", "root@pam!mcp"),
                ("PROXMOX_TOKEN_VALUE", "s3cr3t-value"),
            ],
        ] {
            let s = settings(&vars).unwrap();
            match &s.auth {
                Auth::Token(t) => assert_eq!(t.full_id(), "root@pam!mcp"),
                other => panic!("{other:?}"),
            }
            assert!(!format!("{s:?}").contains("s3cr3t"));
        }
        let s = settings(&[
            HOST,
            ("PROXMOX_USER", "alice"),
            ("PROXMOX_REALM", "pve"),
            ("PROXMOX_PASSWORD", "pw"),
        ])
        .unwrap();
        assert!(matches!(&s.auth, Auth::Password { username, .. } if username == "alice@pve"));
        let e = settings(&[HOST]).unwrap_err();
        assert!(e.contains("no credentials"), "{e}");
        let e = settings(&[TOKEN]).unwrap_err();
        assert!(e.contains("PROXMOX_HOST"), "{e}");
        let e = settings(&[HOST, ("PROXMOX_TOKEN_NAME", "mcp")]).unwrap_err();
        assert!(e.contains("PROXMOX_TOKEN_VALUE"), "{e}");
    }

    #[test]
    fn tls_modes() {
        let tls = |extra: &[(&str, &str)]| {
            let mut v = vec![HOST, TOKEN];
            v.extend_from_slice(extra);
            settings(&v).map(|s| s.tls)
        };
        assert_eq!(tls(&[]).unwrap(), TlsMode::Strict);
        assert_eq!(
            tls(&[("PROXMOX_SSL_CA_CERT", "/ca.pem")]).unwrap(),
            TlsMode::CaFile("/ca.pem".into())
        );
        assert_eq!(
            tls(&[
                ("PROXMOX_SSL_MODE", "verify"),
                ("PROXMOX_SSL_CA_CERT", "/ca.pem")
            ])
            .unwrap(),
            TlsMode::Verify(Some("/ca.pem".into()))
        );
        assert_eq!(
            tls(&[("PROXMOX_SSL_MODE", "verify")]).unwrap(),
            TlsMode::Verify(None)
        );
        assert_eq!(
            tls(&[("PROXMOX_VERIFY_SSL", "false")]).unwrap(),
            TlsMode::Insecure
        );
        let fp = "AB:".repeat(31) + "AB";
        assert_eq!(
            tls(&[
                ("PROXMOX_FINGERPRINT", &fp),
                ("PROXMOX_SSL_MODE", "insecure")
            ])
            .unwrap(),
            TlsMode::Fingerprint(fp.clone())
        );
        let e = tls(&[
            ("PROXMOX_SSL_MODE", "strict"),
            ("PROXMOX_VERIFY_SSL", "false"),
        ])
        .unwrap_err();
        assert!(e.contains("contradicts"), "{e}");
        let e = tls(&[("PROXMOX_SSL_MODE", "loose")]).unwrap_err();
        assert!(e.contains("strict, verify or insecure"), "{e}");
        assert!(tls(&[("PROXMOX_FINGERPRINT", "AB:CD")]).is_err());
    }

    #[test]
    fn elevation_and_numbers() {
        let s = |extra: &[(&str, &str)]| {
            let mut v = vec![HOST, TOKEN];
            v.extend_from_slice(extra);
            settings(&v)
        };
        assert!(!s(&[]).unwrap().allow_elevated);
        assert!(
            s(&[("PROXMOX_ALLOW_ELEVATED", "true")])
                .unwrap()
                .allow_elevated
        );
        assert!(
            !s(&[("PROXMOX_ALLOW_ELEVATED", "0")])
                .unwrap()
                .allow_elevated
        );
        let e = s(&[("PROXMOX_ALLOW_ELEVATED", "yes please")]).unwrap_err();
        assert!(e.contains("PROXMOX_ALLOW_ELEVATED"), "{e}");
        let e = s(&[("PROXMOX_PORT", "99999")]).unwrap_err();
        assert!(e.contains("PROXMOX_PORT"), "{e}");
        assert_eq!(
            parse_timeout("PROXMOX_TIMEOUT", "2.5").unwrap(),
            Duration::from_millis(2500)
        );
        for bad in ["inf", "1e20", "NaN", "-1", "0", "soon"] {
            let e = parse_timeout("PROXMOX_TIMEOUT", bad).unwrap_err();
            assert!(e.contains("PROXMOX_TIMEOUT"), "{bad}: {e}");
        }
    }

    /// The ProxmoxMCP family's example configuration file, verbatim.
    const FAMILY_EXAMPLE: &str = r#"{
  "servers": {
    "proxmox-primary": {
      "host": "your-proxmox-server",
      "username": "root",
      "realm": "pam",
      "token_env_var": "PROXMOX_TOKEN",
      "password_env_var": "PROXMOX_PASSWORD",
      "port": 8006,
      "verify_ssl": false,
      "timeout": 30
    }
  }
}"#;

    /// Writes `text` to a file named `name` in a fresh directory, with `mode`.
    fn file(name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "proxmox-mcp-config-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn with_file(path: &std::path::Path) -> Options {
        Options {
            config: Some(path.to_path_buf()),
            ..Options::default()
        }
    }

    const HOST_KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKqjb2NnQh8dx+eu0wYsgxEOVMCaiIDKY++EVCVIYMXm";

    #[test]
    fn lxc_exec_over_ssh_is_off_unless_key_and_host_key_are_set() {
        assert_eq!(settings(&[HOST, TOKEN]).unwrap().ssh, None);
        let ssh = settings(&[
            HOST,
            TOKEN,
            ("HOME", "/home/op"),
            ("PROXMOX_SSH_KEY", "~/.ssh/pve"),
            ("PROXMOX_SSH_HOST_KEY", HOST_KEY),
        ])
        .unwrap()
        .ssh
        .unwrap();
        assert_eq!(ssh.key, PathBuf::from("/home/op/.ssh/pve"));
        assert_eq!((ssh.user.as_str(), ssh.port), ("root", 22));
        assert_eq!(ssh.host.for_node("pve1").unwrap(), "pve1");
        assert_eq!(ssh.pct, "pct");
        // One setting asks for the feature: the two it cannot go without are named.
        let e = settings(&[HOST, TOKEN, ("PROXMOX_SSH_KEY", "/k")]).unwrap_err();
        assert!(
            e.contains("PROXMOX_SSH_KEY set") && e.contains("PROXMOX_SSH_HOST_KEY"),
            "{e}"
        );
        let e = settings(&[HOST, TOKEN, ("PROXMOX_SSH_HOST_KEY", HOST_KEY)]).unwrap_err();
        assert!(e.contains("ssh_key is not"), "{e}");
        let e = settings(&[
            HOST,
            TOKEN,
            ("PROXMOX_SSH_KEY", "/k"),
            ("PROXMOX_SSH_HOST_KEY", HOST_KEY),
            ("PROXMOX_SSH_PORT", "0"),
        ])
        .unwrap_err();
        assert!(e.contains("PROXMOX_SSH_PORT `0`"), "{e}");
        // In a file: host keys as a list, addresses as a map.
        let path = file(
            "servers.toml",
            &format!(
                "[servers.pve]\nhost = \"pve1\"\ntoken_env_var = \"T\"\nssh_key = \"/k\"\n\
                 ssh_host_key = [\"{HOST_KEY}\"]\nssh_user = \"mcp\"\nssh_port = 2222\n\
                 ssh_pct = \"sudo -n /usr/sbin/pct\"\n\
                 ssh_host = {{ pve1 = \"10.0.0.1\", pve2 = \"10.0.0.2\" }}\n"
            ),
            0o600,
        );
        let c = config(&[("T", "root@pam!mcp=s")], &with_file(&path)).unwrap();
        let cl = c.default_cluster();
        let ssh = cl.settings.ssh.clone().unwrap();
        assert_eq!((ssh.user.as_str(), ssh.port), ("mcp", 2222));
        assert_eq!(ssh.host.for_node("pve2").unwrap(), "10.0.0.2");
        assert!(ssh.host.for_node("pve3").is_err());
        assert_eq!(ssh.host_keys.len(), 1);
        assert_eq!(ssh.pct, "sudo -n /usr/sbin/pct");
        assert!(
            cl.sources["ssh_host_key"]
                .to_string()
                .starts_with("servers.pve.ssh_host_key in ")
        );
    }

    #[test]
    fn family_example_file_as_is() {
        let path = file("servers.json", FAMILY_EXAMPLE, 0o600);
        let c = config(&[TOKEN], &with_file(&path)).unwrap();
        assert_eq!(c.clusters.len(), 1);
        let cl = c.default_cluster();
        assert_eq!(cl.name, "proxmox-primary");
        let s = &cl.settings;
        assert_eq!((s.host.as_str(), s.port), ("your-proxmox-server", 8006));
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.tls, TlsMode::Insecure);
        assert!(matches!(&s.auth, Auth::Token(t) if t.full_id() == "root@pam!mcp"));
        // verify_ssl: false works, loudly, with the way out.
        let w = c.warnings.join("\n");
        assert!(w.contains("CERTIFICATE CHECKS ARE OFF"), "{w}");
        assert!(w.contains("verify_ssl in"), "{w}");
        assert!(
            w.contains(&format!(
                "doctor --config {} --server proxmox-primary",
                path.display()
            )),
            "{w}"
        );
        assert_eq!(cl.sources["token"], Source::Env("PROXMOX_TOKEN"));
        assert!(
            cl.sources["host"]
                .to_string()
                .starts_with("servers.proxmox-primary.host in ")
        );
        // The password named by the file is the fallback when no token is set.
        let c = config(&[("PROXMOX_PASSWORD", "pw")], &with_file(&path)).unwrap();
        assert!(matches!(&c.default_cluster().settings.auth,
            Auth::Password { username, .. } if username == "root@pam"));
        // A bare TOKENID=SECRET in the named variable belongs to username@realm.
        let c = config(&[("PROXMOX_TOKEN", "mcp=s3cr3t")], &with_file(&path)).unwrap();
        assert!(matches!(&c.default_cluster().settings.auth,
            Auth::Token(t) if t.full_id() == "root@pam!mcp"));
        // Through PROXMOX_MCP_CONFIG too.
        let p = path.display().to_string();
        let c = config(&[TOKEN, ("PROXMOX_MCP_CONFIG", &p)], &Options::default()).unwrap();
        assert_eq!(c.default_cluster().name, "proxmox-primary");
    }

    #[test]
    fn toml_and_several_servers() {
        let path = file(
            "servers.toml",
            r#"
default = "lab"

[servers.prod]
host = "pve-prod.example.com"
username = "root"
token_env_var = "PROD_TOKEN"
fingerprint = "AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB"
read_only = true

[servers.lab]
host = "pve-lab.example.com"
port = 8443
token = "root@pam!lab=inline-secret"
allow_elevated = true
default_node = "lab1"
timeout = 2.5
"#,
            0o600,
        );
        let c = config(&[("PROD_TOKEN", "root@pam!prod=p")], &with_file(&path)).unwrap();
        let names: Vec<&str> = c.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["prod", "lab"], "the file's order");
        assert_eq!(c.default_cluster().name, "lab");
        let lab = &c.cluster("lab").unwrap().settings;
        assert_eq!((lab.port, lab.timeout), (8443, Duration::from_millis(2500)));
        assert!(lab.writes_allowed());
        assert_eq!(lab.default_node.as_deref(), Some("lab1"));
        let prod = &c.cluster("prod").unwrap().settings;
        assert!(prod.read_only && !prod.writes_allowed());
        assert!(matches!(prod.tls, TlsMode::Fingerprint(_)));
        assert_eq!(
            c.cluster("prod").unwrap().sources["token"].to_string(),
            "PROD_TOKEN (named by servers.prod.token_env_var)"
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let e = c.cluster("staging").unwrap_err();
        assert_eq!(
            e,
            "server `staging` is not configured; configured: prod, lab"
        );
        // --server picks the default; an unknown one lists the configured servers.
        let opts = Options {
            server: Some("prod".into()),
            ..with_file(&path)
        };
        let c = config(&[("PROD_TOKEN", "root@pam!prod=p")], &opts).unwrap();
        assert_eq!(c.default_cluster().name, "prod");
        let opts = Options {
            server: Some("nope".into()),
            ..with_file(&path)
        };
        assert_eq!(
            config(&[], &opts).unwrap_err(),
            "--server names server `nope`, which is not configured; configured: prod, lab"
        );
        // A server whose named variable is unset has no credentials.
        let e = config(&[], &with_file(&path)).unwrap_err();
        assert!(e.starts_with("no credentials for server `prod`"), "{e}");
    }

    #[test]
    fn precedence_flag_over_environment_over_file() {
        let path = file("servers.json", FAMILY_EXAMPLE, 0o600);
        let opts = with_file(&path);
        // As in the ProxmoxMCP family: PROXMOX_HOST and PROXMOX_USER override the file.
        let c = config(
            &[
                ("PROXMOX_HOST", "other-host"),
                ("PROXMOX_USER", "alice@pve"),
                ("PROXMOX_PASSWORD", "pw"),
                ("PROXMOX_PORT", "9006"),
            ],
            &opts,
        )
        .unwrap();
        let cl = c.default_cluster();
        assert_eq!(
            (cl.settings.host.as_str(), cl.settings.port),
            ("other-host", 9006)
        );
        assert!(matches!(&cl.settings.auth,
            Auth::Password { username, .. } if username == "alice@pve"));
        assert_eq!(cl.sources["host"], Source::Env("PROXMOX_HOST"));
        // TLS settings come as a group: the environment's pin replaces verify_ssl: false.
        let fp = "AB:".repeat(31) + "AB";
        let c = config(&[TOKEN, ("PROXMOX_FINGERPRINT", &fp)], &opts).unwrap();
        assert!(matches!(
            c.default_cluster().settings.tls,
            TlsMode::Fingerprint(_)
        ));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // Elevation: flag over environment over file.
        let elevated = |vars: &[(&str, &str)], flag: bool, text: &str| {
            let p = file("e.json", text, 0o600);
            let mut v = vec![TOKEN];
            v.extend_from_slice(vars);
            let o = Options {
                allow_elevated: flag,
                ..with_file(&p)
            };
            config(&v, &o).map(|c| c.default_cluster().settings.allow_elevated)
        };
        let yes = r#"{"servers": {"a": {"host": "h", "allow_elevated": true}}}"#;
        let no = r#"{"servers": {"a": {"host": "h", "allow_elevated": false}}}"#;
        let unset = r#"{"servers": {"a": {"host": "h"}}}"#;
        assert!(elevated(&[], false, yes).unwrap());
        // A global setting tightens a file's `true`...
        assert!(!elevated(&[("PROXMOX_ALLOW_ELEVATED", "false")], false, yes).unwrap());
        // ... but never lifts its `false` (review M3; this used to allow writes).
        assert!(!elevated(&[("PROXMOX_ALLOW_ELEVATED", "true")], false, no).unwrap());
        assert!(!elevated(&[("PROXMOX_ALLOW_ELEVATED", "false")], true, no).unwrap());
        // Where the file says nothing, the flag wins over the variable.
        assert!(elevated(&[("PROXMOX_ALLOW_ELEVATED", "false")], true, unset).unwrap());
        assert!(!elevated(&[("PROXMOX_ALLOW_ELEVATED", "false")], false, unset).unwrap());
        // --read-only wins over everything.
        let o = Options {
            read_only: true,
            allow_elevated: true,
            ..with_file(&file("e.json", yes, 0o600))
        };
        assert!(
            !config(&[TOKEN], &o)
                .unwrap()
                .default_cluster()
                .settings
                .writes_allowed()
        );
    }

    #[test]
    fn bad_files_and_values_say_what_to_fix() {
        let bad = |text: &str| {
            let p = file("bad.json", text, 0o600);
            let e = config(&[TOKEN], &with_file(&p)).unwrap_err();
            (e, p.display().to_string())
        };
        let (e, p) = bad(r#"{"servers": {"a": {"host": "h", "port": "eighty"}}}"#);
        assert_eq!(
            e,
            format!("servers.a.port in {p} `eighty` is not a port number (1-65535)")
        );
        let (e, p) = bad(r#"{"servers": {"a": {"host": "h", "verify_ssl": "maybe"}}}"#);
        assert_eq!(
            e,
            format!(
                "servers.a.verify_ssl in {p} `maybe` is neither true nor false (use true or false)"
            )
        );
        let (e, p) = bad(r#"{"servers": {"a": {"host": "h", "timeout": -1}}}"#);
        assert!(
            e.starts_with(&format!(
                "servers.a.timeout in {p} `-1` is not a number of seconds"
            )),
            "{e}"
        );
        let (e, _) = bad(r#"{"servers": {"a": {"host": "h", "verfiy_ssl": false}}}"#);
        assert!(e.contains("unknown field `verfiy_ssl`"), "{e}");
        let (e, p) = bad(r#"{"servers": {}}"#);
        assert!(e.starts_with(&format!("{p} lists no servers")), "{e}");
        let (e, _) = bad(r#"{"servers": {"a": {"port": 8006}}}"#);
        assert!(e.starts_with("server `a` has no host"), "{e}");
        let (e, p) =
            bad(r#"{"servers": {"a": {"host": "h", "allow_elevated": true, "read_only": true}}}"#);
        assert_eq!(
            e,
            format!(
                "servers.a.allow_elevated in {p} and servers.a.read_only in {p} are both true: a server cannot allow writes and be read-only; remove one"
            )
        );
        let (e, p) = bad(r#"{"servers": {"a": {"host": "h"}}, "default": "b"}"#);
        assert_eq!(
            e,
            format!("`default` in {p} names server `b`, which is not configured; configured: a")
        );
        let (e, p) = bad("{not json");
        assert!(
            e.starts_with(&format!("{p} is not a valid configuration")),
            "{e}"
        );
        let e = config(
            &[TOKEN],
            &with_file(std::path::Path::new("/nonexistent/x.json")),
        )
        .unwrap_err();
        assert!(
            e.starts_with("cannot read the configuration file /nonexistent/x.json"),
            "{e}"
        );
    }

    #[test]
    fn secrets_in_the_file_and_diagnostic_credentials() {
        let text = r#"{"servers": {"a": {"host": "h", "token": "root@pam!x=in-file-secret"}}}"#;
        // Readable by others: start-up is refused (review m4; this used to be a warning).
        for mode in [0o644, 0o640, 0o604] {
            let open = file("open.json", text, mode);
            let e = config(&[], &with_file(&open)).unwrap_err();
            let shown = open.display().to_string();
            assert!(
                e.starts_with(&shown)
                    && e.contains(&format!("mode {mode:o}"))
                    && e.contains(&format!("chmod 600 {shown}")),
                "{e}"
            );
            assert!(!e.contains("in-file-secret"), "{e}");
        }
        // The same file without the secret inline starts.
        let named = r#"{"servers": {"a": {"host": "h", "token_env_var": "T"}}}"#;
        let open = file("named.json", named, 0o644);
        assert!(config(&[("T", "root@pam!x=y")], &with_file(&open)).is_ok());
        let closed = file("closed.json", text, 0o600);
        assert!(
            config(&[], &with_file(&closed))
                .unwrap()
                .warnings
                .is_empty()
        );
        // The family's diagnostic credentials switch nothing on: they are an error pointing to --demo.
        for vars in [
            vec![HOST, ("PROXMOX_TOKEN", "test-token-diagnostic")],
            vec![
                HOST,
                ("PROXMOX_USER", "root"),
                ("PROXMOX_PASSWORD", "test-password-diagnostic"),
            ],
        ] {
            let e = settings(&vars).unwrap_err();
            assert!(e.contains("--demo") && e.contains("diagnostic"), "{e}");
            assert!(
                !e.contains("test-token") && !e.contains("test-password"),
                "{e}"
            );
        }
    }

    /// The README's two servers: `prod` read-only, `lab` allowing writes.
    const TWO_SERVERS: &str = r#"
default = "lab"

[servers.prod]
host = "pve-prod.example.com"
token = "root@pam!prod=p"
read_only = true

[servers.lab]
host = "pve-lab.example.com"
token = "root@pam!lab=l"
allow_elevated = true
"#;

    /// Review M3's table: no global setting makes the file's read-only `prod` writable; the
    /// ones that try are named in a warning.
    #[test]
    fn global_settings_never_lift_a_files_read_only() {
        let path = file("servers.toml", TWO_SERVERS, 0o600);
        let shown = path.display().to_string();
        let run = |vars: &[(&str, &str)], allow_elevated: bool| {
            let opts = Options {
                allow_elevated,
                ..with_file(&path)
            };
            config(vars, &opts).unwrap()
        };
        /// Variables, `--allow-elevated`, and the global setting the warning names.
        type Row<'a> = (&'a [(&'a str, &'a str)], bool, Option<&'a str>);
        let rows: [Row; 4] = [
            (&[], false, None),
            (&[], true, None),
            (
                &[("PROXMOX_READ_ONLY", "false")],
                true,
                Some("PROXMOX_READ_ONLY=false"),
            ),
            (
                &[
                    ("PROXMOX_READ_ONLY", "false"),
                    ("PROXMOX_ALLOW_ELEVATED", "true"),
                ],
                false,
                Some("PROXMOX_READ_ONLY=false"),
            ),
        ];
        for (vars, flag, warned) in rows {
            let c = run(vars, flag);
            let prod = c.cluster("prod").unwrap();
            assert!(prod.settings.read_only, "{vars:?} {flag}");
            assert!(!prod.settings.writes_allowed(), "{vars:?} {flag}");
            assert_eq!(
                prod.sources["read_only"].to_string(),
                format!("servers.prod.read_only in {shown}")
            );
            assert!(c.cluster("lab").unwrap().settings.writes_allowed());
            let w = c.warnings.join("\n");
            match warned {
                None => assert!(c.warnings.is_empty(), "{w}"),
                Some(global) => {
                    assert_eq!(c.warnings.len(), 1, "{w}");
                    assert!(
                        w.contains("server `prod`")
                            && w.contains(&format!("{global} is ignored for `read_only`"))
                            && w.contains(&format!("servers.prod.read_only in {shown} is true")),
                        "{w}"
                    );
                }
            }
        }
        // A global read-only still tightens every server, and is named as the source.
        let c = config(&[("PROXMOX_READ_ONLY", "true")], &with_file(&path)).unwrap();
        let lab = c.cluster("lab").unwrap();
        assert!(!lab.settings.writes_allowed());
        assert_eq!(lab.sources["read_only"], Source::Env("PROXMOX_READ_ONLY"));
    }

    #[test]
    fn a_files_allow_elevated_false_stands_against_global_settings() {
        let path = file(
            "servers.json",
            r#"{"servers": {"a": {"host": "h", "token": "root@pam!a=x", "allow_elevated": false},
                            "b": {"host": "h", "token": "root@pam!b=x"}}}"#,
            0o600,
        );
        let shown = path.display().to_string();
        for (vars, flag, said) in [
            (&[][..], true, "--allow-elevated"),
            (
                &[("PROXMOX_ALLOW_ELEVATED", "true")][..],
                false,
                "PROXMOX_ALLOW_ELEVATED=true",
            ),
        ] {
            let opts = Options {
                allow_elevated: flag,
                ..with_file(&path)
            };
            let c = config(vars, &opts).unwrap();
            let a = c.cluster("a").unwrap();
            assert!(!a.settings.writes_allowed());
            assert_eq!(
                a.sources["allow_elevated"].to_string(),
                format!("servers.a.allow_elevated in {shown}")
            );
            // The server that says nothing follows the global setting.
            assert!(c.cluster("b").unwrap().settings.writes_allowed());
            let w = c.warnings.join("\n");
            assert!(
                w.contains("server `a`")
                    && w.contains(&format!("{said} is ignored for `allow_elevated`"))
                    && w.contains(&format!("servers.a.allow_elevated in {shown} is false")),
                "{w}"
            );
            assert!(!w.contains("server `b`"), "{w}");
        }
    }

    #[test]
    fn confirm_is_read_from_every_layer_and_only_tightens() {
        assert_eq!(Confirm::default(), Confirm::Ask);
        assert!(Confirm::Off < Confirm::AskOrAllow && Confirm::AskOrAllow < Confirm::Ask);
        for c in [Confirm::Off, Confirm::AskOrAllow, Confirm::Ask] {
            assert_eq!(Confirm::parse("x", &c.to_string()).unwrap(), c);
        }
        assert_eq!(
            Confirm::parse("x", " ASK-or-Allow ").unwrap(),
            Confirm::AskOrAllow
        );
        // Without a file: the default, the variable, the flag over the variable.
        let base = [HOST, TOKEN];
        let one = |vars: &[(&str, &str)], flag: Option<&str>| {
            let mut v = base.to_vec();
            v.extend_from_slice(vars);
            let opts = Options {
                confirm: flag.map(String::from),
                ..Options::default()
            };
            config(&v, &opts).map(|c| {
                let d = c.default_cluster();
                (
                    d.settings.confirm,
                    d.sources.get("confirm").map(Source::to_string),
                )
            })
        };
        assert_eq!(one(&[], None).unwrap(), (Confirm::Ask, None));
        assert_eq!(
            one(&[("PROXMOX_CONFIRM", "off")], None).unwrap(),
            (Confirm::Off, Some("PROXMOX_CONFIRM".into()))
        );
        assert_eq!(
            one(&[("PROXMOX_CONFIRM", "off")], Some("ask-or-allow")).unwrap(),
            (Confirm::AskOrAllow, Some("--confirm".into()))
        );
        let e = one(&[("PROXMOX_CONFIRM", "sometimes")], None).unwrap_err();
        assert!(
            e.starts_with("PROXMOX_CONFIRM `sometimes` is not ask, ask-or-allow or off"),
            "{e}"
        );
        let e = one(&[], Some("never")).unwrap_err();
        assert!(e.starts_with("--confirm `never`"), "{e}");
        // In the file (TOML and JSON): a global setting may only make a server stricter.
        let toml = file(
            "c.toml",
            "[servers.prod]\nhost = \"p\"\ntoken = \"root@pam!p=x\"\nconfirm = \"ask\"\n\
             [servers.lab]\nhost = \"l\"\ntoken = \"root@pam!l=x\"\nconfirm = \"off\"\n\
             [servers.dev]\nhost = \"d\"\ntoken = \"root@pam!d=x\"\n",
            0o600,
        );
        let shown = toml.display().to_string();
        let c = config(&[], &with_file(&toml)).unwrap();
        let get = |c: &Config, n: &str| c.cluster(n).unwrap().settings.confirm;
        assert_eq!(
            (get(&c, "prod"), get(&c, "lab"), get(&c, "dev")),
            (Confirm::Ask, Confirm::Off, Confirm::Ask)
        );
        assert_eq!(
            c.cluster("lab").unwrap().sources["confirm"].to_string(),
            format!("servers.lab.confirm in {shown}")
        );
        let c = config(&[("PROXMOX_CONFIRM", "off")], &with_file(&toml)).unwrap();
        assert_eq!(
            (get(&c, "prod"), get(&c, "lab"), get(&c, "dev")),
            (Confirm::Ask, Confirm::Off, Confirm::Off)
        );
        let w = c.warnings.join("\n");
        assert_eq!(c.warnings.len(), 1, "{w}");
        assert!(
            w.contains("server `prod`: PROXMOX_CONFIRM=off is ignored for `confirm`")
                && w.contains(&format!("servers.prod.confirm in {shown} is ask")),
            "{w}"
        );
        let opts = Options {
            confirm: Some("ask-or-allow".into()),
            ..with_file(&toml)
        };
        let c = config(&[], &opts).unwrap();
        assert_eq!(
            (get(&c, "prod"), get(&c, "lab"), get(&c, "dev")),
            (Confirm::Ask, Confirm::AskOrAllow, Confirm::AskOrAllow)
        );
        assert!(
            c.warnings
                .join("\n")
                .contains("server `prod`: --confirm ask-or-allow is ignored for `confirm`"),
            "{:?}",
            c.warnings
        );
        let json = file(
            "c.json",
            r#"{"servers": {"a": {"host": "h", "token": "root@pam!a=x", "confirm": "ask-or-allow"}}}"#,
            0o600,
        );
        let c = config(&[], &with_file(&json)).unwrap();
        assert_eq!(c.default_cluster().settings.confirm, Confirm::AskOrAllow);
        let bad = file(
            "bad.json",
            r#"{"servers": {"a": {"host": "h", "token": "root@pam!a=x", "confirm": "yes"}}}"#,
            0o600,
        );
        let e = config(&[], &with_file(&bad)).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "servers.a.confirm in {} `yes` is not ask, ask-or-allow or off",
                bad.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn the_console_dir_comes_from_the_variable_or_the_file() {
        let path = file(
            "c.json",
            r#"{"console_dir": "/srv/consoles", "servers": {"a": {"host": "h", "token": "root@pam!a=x"}}}"#,
            0o600,
        );
        let dir = |vars: &[(&str, &str)], opts: Options| {
            config(vars, &opts)
                .unwrap()
                .console_dir
                .map(|(p, s)| (p.display().to_string(), s.to_string()))
        };
        assert_eq!(
            dir(&[], with_file(&path)),
            Some((
                "/srv/consoles".into(),
                format!("console_dir in {}", path.display())
            ))
        );
        let var = [("PROXMOX_MCP_CONSOLE_DIR", "/run/c")];
        assert_eq!(
            dir(&var, with_file(&path)),
            Some(("/run/c".into(), "PROXMOX_MCP_CONSOLE_DIR".into()))
        );
        assert_eq!(dir(&[HOST, TOKEN], Options::default()), None);
    }

    #[test]
    fn the_upload_directory_comes_from_the_variable_or_the_file() {
        let path = file(
            "u.json",
            r#"{"upload_dir": "/srv/isos", "servers": {"a": {"host": "h", "token": "root@pam!a=x"}}}"#,
            0o600,
        );
        let shown = path.display().to_string();
        let dir = |vars: &[(&str, &str)], opts: Options| {
            config(vars, &opts)
                .unwrap()
                .upload_dir
                .map(|(p, s)| (p.display().to_string(), s.to_string()))
        };
        assert_eq!(
            dir(&[], with_file(&path)),
            Some(("/srv/isos".into(), format!("upload_dir in {shown}")))
        );
        let var = [("PROXMOX_MCP_UPLOAD_DIR", "/srv/env")];
        assert_eq!(
            dir(&var, with_file(&path)),
            Some(("/srv/env".into(), "PROXMOX_MCP_UPLOAD_DIR".into()))
        );
        assert_eq!(dir(&[HOST, TOKEN], Options::default()), None);
    }

    #[test]
    fn the_audit_log_comes_from_the_flag_the_variable_or_the_file() {
        let path = file(
            "a.json",
            r#"{"audit_log": "/var/log/pmcp-file.log", "servers": {"a": {"host": "h", "token": "root@pam!a=x"}}}"#,
            0o600,
        );
        let shown = path.display().to_string();
        let log = |vars: &[(&str, &str)], flag: Option<&str>, opts: Options| {
            let opts = Options {
                audit_log: flag.map(PathBuf::from),
                ..opts
            };
            config(vars, &opts)
                .unwrap()
                .audit_log
                .map(|(p, s)| (p.display().to_string(), s.to_string()))
        };
        assert_eq!(
            log(&[], None, with_file(&path)),
            Some((
                "/var/log/pmcp-file.log".into(),
                format!("audit_log in {shown}")
            ))
        );
        let var = [("PROXMOX_MCP_AUDIT_LOG", "/var/log/pmcp-env.log")];
        assert_eq!(
            log(&var, None, with_file(&path)),
            Some((
                "/var/log/pmcp-env.log".into(),
                "PROXMOX_MCP_AUDIT_LOG".into()
            ))
        );
        assert_eq!(
            log(&var, Some("/tmp/flag.log"), with_file(&path)),
            Some(("/tmp/flag.log".into(), "--audit-log".into()))
        );
        // Without a file, and without any setting.
        let mut v = vec![HOST, TOKEN];
        assert_eq!(log(&v, None, Options::default()), None);
        v.extend_from_slice(&var);
        assert_eq!(
            log(&v, None, Options::default()).map(|(p, _)| p),
            Some("/var/log/pmcp-env.log".into())
        );
    }

    #[test]
    fn demo_needs_nothing_and_mixes_with_nothing() {
        let fp = "AB:".repeat(31) + "AB";
        let get = |_: &str| None;
        let c = Config::demo(&Options::default(), &get, 1234, &fp, "demo@pve!mcp=x").unwrap();
        let s = &c.default_cluster().settings;
        assert_eq!(
            (s.host.as_str(), s.port, s.allow_elevated),
            ("127.0.0.1", 1234, false)
        );
        let get = |n: &str| (n == "PROXMOX_HOST").then(|| "pve".to_string());
        let e = Config::demo(&Options::default(), &get, 1, &fp, "demo@pve!mcp=x").unwrap_err();
        assert!(e.contains("PROXMOX_HOST"), "{e}");
    }
}
