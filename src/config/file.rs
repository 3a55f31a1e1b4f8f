//! The configuration file: the `servers` JSON format of the ProxmoxMCP family of servers as it is,
//! or the same structure in TOML.
//!
//! ```json
//! {"servers": {"proxmox-primary": {"host": "pve1", "username": "root", "realm": "pam",
//!   "token_env_var": "PROXMOX_TOKEN", "port": 8006, "verify_ssl": false, "timeout": 30}}}
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A scalar as written in the file; each becomes text and is read by the same parsers as the
/// environment's values, so a bad value gets the same message whatever its source.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Scalar {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text.
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(n) => write!(f, "{n}"),
            Scalar::Float(n) => write!(f, "{n}"),
            Scalar::Text(s) => f.write_str(s),
        }
    }
}

/// One server of the file. The family's keys first, then this server's additions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    /// Host name or address.
    pub host: Option<Scalar>,
    /// User, with or without `@realm`.
    pub username: Option<Scalar>,
    /// Realm of `username` when it has none.
    pub realm: Option<Scalar>,
    /// Name of the environment variable holding the API token.
    pub token_env_var: Option<String>,
    /// Name of the environment variable holding the password.
    pub password_env_var: Option<String>,
    /// Port.
    pub port: Option<Scalar>,
    /// `false` turns certificate checks off (prefer `fingerprint`).
    pub verify_ssl: Option<Scalar>,
    /// Request timeout in seconds.
    pub timeout: Option<Scalar>,
    /// The API token itself (prefer `token_env_var`).
    pub token: Option<Scalar>,
    /// The password itself (prefer `password_env_var`).
    pub password: Option<Scalar>,
    /// Pinned SHA-256 certificate fingerprint.
    pub fingerprint: Option<Scalar>,
    /// CA certificate file (PEM).
    pub ca_file: Option<Scalar>,
    /// `strict`, `verify` or `insecure`.
    pub ssl_mode: Option<Scalar>,
    /// Allow writes on this server.
    pub allow_elevated: Option<Scalar>,
    /// Hide and refuse writes on this server.
    pub read_only: Option<Scalar>,
    /// The node used when a tool needs one and none is given.
    pub default_node: Option<Scalar>,
    /// How destructive calls are confirmed: `ask`, `ask-or-allow` or `off`.
    pub confirm: Option<Scalar>,
    /// `proxmox_lxc_exec`: the private key SSH logs in to the nodes with.
    pub ssh_key: Option<Scalar>,
    /// `proxmox_lxc_exec`: the nodes' pinned public host keys (one, or a list).
    pub ssh_host_key: Option<OneOrMany>,
    /// `proxmox_lxc_exec`: the user SSH logs in as (default `root`).
    pub ssh_user: Option<Scalar>,
    /// `proxmox_lxc_exec`: the SSH port (default 22).
    pub ssh_port: Option<Scalar>,
    /// `proxmox_lxc_exec`: the nodes' addresses: one for all (`{node}` is the node's name), or
    /// a map of node name to address.
    pub ssh_host: Option<OneOrMap>,
    /// `proxmox_lxc_exec`: `pct` on the nodes (default `pct`).
    pub ssh_pct: Option<Scalar>,
}

/// A value, or a list of them (written one a line).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(Scalar),
    /// A list.
    Many(Vec<String>),
}

impl fmt::Display for OneOrMany {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OneOrMany::One(s) => write!(f, "{s}"),
            OneOrMany::Many(list) => f.write_str(&list.join("\n")),
        }
    }
}

/// A value, or a map of names to values (written `NAME=VALUE,...`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMap {
    /// One value.
    One(Scalar),
    /// A map.
    Map(std::collections::BTreeMap<String, String>),
}

impl fmt::Display for OneOrMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OneOrMap::One(s) => write!(f, "{s}"),
            OneOrMap::Map(map) => {
                let pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
                f.write_str(&pairs.join(","))
            }
        }
    }
}

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The servers, in the file's order.
    pub servers: Servers,
    /// The server used when a call names none (default: the first).
    pub default: Option<String>,
    /// The file the audit log of writes goes to.
    pub audit_log: Option<String>,
    /// The directory console tickets are written to.
    pub console_dir: Option<String>,
    /// The directory `proxmox_storage_upload` may read files from.
    pub upload_dir: Option<String>,
}

/// The `servers` map, keeping the order of the file.
#[derive(Debug, Default)]
pub struct Servers(pub Vec<(String, ServerEntry)>);

impl<'de> Deserialize<'de> for Servers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Servers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of server names to server settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Servers, A::Error> {
                let mut out: Vec<(String, ServerEntry)> = Vec::new();
                while let Some((name, entry)) = map.next_entry::<String, ServerEntry>()? {
                    if out.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom(format!("server `{name}` appears twice")));
                    }
                    out.push((name, entry));
                }
                Ok(Servers(out))
            }
        }
        d.deserialize_map(Ordered)
    }
}

/// A file read and parsed.
#[derive(Debug)]
pub struct Loaded {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its contents.
    pub config: FileConfig,
    /// Unix permission bits, when known.
    pub mode: Option<u32>,
}

/// Reads `path`: TOML when it ends in `.toml`, JSON otherwise.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the configuration file {shown}: {e}; check the path given by --config or \
             PROXMOX_MCP_CONFIG"
        )
    })?;
    let toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let config: FileConfig = if toml {
        toml::from_str(&text).map_err(|e| {
            let e = e.to_string().replace('\n', " ");
            format!("{shown} is not a valid configuration: {}", e.trim())
        })?
    } else {
        serde_json::from_str(&text)
            .map_err(|e| format!("{shown} is not a valid configuration: {e}"))?
    };
    if config.servers.0.is_empty() {
        return Err(format!(
            "{shown} lists no servers: add one under \"servers\" (see the README's configuration \
             reference)"
        ));
    }
    Ok(Loaded {
        path: path.to_path_buf(),
        config,
        mode: mode(path),
    })
}

#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_path: &Path) -> Option<u32> {
    None
}
