//! The settings of `proxmox_lxc_exec`, which runs `pct exec` over SSH on a container's node (PVE
//! has no API method to run a command in a container): the client key, the node's pinned host
//! key (never trusted on first use), the user, port and address, and where `pct` is.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Raw;

/// The settings, by their name in the file (`PROXMOX_` and the name in capitals for the default
/// server in the environment).
const KEYS: [&str; 6] = [
    "ssh_key",
    "ssh_host_key",
    "ssh_user",
    "ssh_port",
    "ssh_host",
    "ssh_pct",
];

/// How to reach a node over SSH to run `pct exec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ssh {
    /// The private key file (`-i`); its contents are never read here.
    pub key: PathBuf,
    /// The node's public host keys: the only ones accepted.
    pub host_keys: Vec<HostKey>,
    /// The user logged in as (`root` by default: `pct` needs it).
    pub user: String,
    /// The port (22 by default).
    pub port: u16,
    /// The address of each node.
    pub host: SshHost,
    /// `pct` on the node (`pct` by default).
    pub pct: String,
}

/// Where a node is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshHost {
    /// One address for every node, `{node}` replaced by the node's name (default `{node}`).
    Template(String),
    /// An address per node; a node not listed has none.
    PerNode(BTreeMap<String, String>),
}

impl SshHost {
    /// The address of `node`.
    pub fn for_node(&self, node: &str) -> Result<String, String> {
        let host = match self {
            SshHost::Template(t) => t.replace("{node}", node),
            SshHost::PerNode(map) => map.get(node).cloned().ok_or_else(|| {
                let known: Vec<&str> = map.keys().map(String::as_str).collect();
                format!(
                    "ssh_host gives no address for node `{node}` (it lists {}): add \
                     `{node}=ADDRESS` to it and restart the server",
                    known.join(", ")
                )
            })?,
        };
        check_host(&host).map_err(|e| format!("the SSH address of node `{node}`: {e}"))?;
        Ok(host)
    }

    /// As written in settings.
    pub fn shown(&self) -> String {
        match self {
            SshHost::Template(t) => t.clone(),
            SshHost::PerNode(map) => map
                .iter()
                .map(|(n, h)| format!("{n}={h}"))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// A pinned public host key: `ssh-ed25519 AAAA...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    /// The key type (`ssh-ed25519`).
    pub kind: String,
    /// The key, base64 as in `known_hosts`.
    pub base64: String,
    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

/// Key types OpenSSH offers as host keys.
const KEY_TYPES: [&str; 8] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
];

/// Reads pinned host keys: one or more `TYPE BASE64` pairs separated by new lines, commas or
/// semicolons. Anything else on a line (a comment, the host names of a `known_hosts` or
/// `ssh-keyscan` line) is ignored, so those lines can be pasted as they are.
pub fn parse_host_keys(label: &str, text: &str) -> Result<Vec<HostKey>, String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let mut keys = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let kind = words[i];
        i += 1;
        if !KEY_TYPES.contains(&kind) {
            continue;
        }
        let Some(b64) = words.get(i) else {
            return Err(format!("{label}: `{kind}` is not followed by the key"));
        };
        i += 1;
        let blob = decode_base64(b64)
            .ok_or_else(|| format!("{label}: the `{kind}` key is not valid base64"))?;
        // The key's own first field names its type.
        let inner = blob
            .get(..4)
            .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
            .and_then(|n| blob.get(4..4 + n));
        if inner != Some(kind.as_bytes()) {
            return Err(format!(
                "{label}: the key after `{kind}` is not an {kind} key; paste the line of the \
                 node's /etc/ssh/ssh_host_{}_key.pub (or of `ssh-keyscan`) as it is",
                kind.trim_start_matches("ssh-")
                    .split('-')
                    .next()
                    .unwrap_or(kind)
            ));
        }
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &blob);
        let key = HostKey {
            kind: kind.to_string(),
            base64: (*b64).to_string(),
            fingerprint: format!("SHA256:{}", encode_base64(digest.as_ref())),
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err(format!(
            "{label} holds no public host key: give the node's key as `ssh-ed25519 AAAA...` (the \
             contents of /etc/ssh/ssh_host_ed25519_key.pub on the node; a fingerprint is not \
             enough)"
        ));
    }
    Ok(keys)
}

/// Standard base64 with its padding (`=`) optional; `None` for anything else.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&base64::alphabet::STANDARD, config)
        .decode(text)
        .ok()
}

/// Standard base64 without padding, as OpenSSH prints fingerprints.
fn encode_base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(data)
}

/// A host name or address SSH is given: no spaces or control characters, no leading `-` (which
/// ssh would read as an option).
fn check_host(host: &str) -> Result<(), String> {
    let ok = !host.is_empty()
        && !host.starts_with('-')
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_' | '%'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{host}` is not a host name or address (letters, digits, `.`, `-`, `:`)"
        ))
    }
}

/// The SSH settings of one server, or `None` when none is set. Setting any of them asks for the
/// feature, so then `ssh_key` and `ssh_host_key` are required.
pub(super) fn resolve(
    raw: &Raw,
    label: &dyn Fn(&str) -> String,
    home: Option<&str>,
) -> Result<Option<Ssh>, String> {
    let set: Vec<String> = KEYS
        .iter()
        .filter(|k| raw.text(k).is_some())
        .map(|k| label(k))
        .collect();
    if set.is_empty() {
        return Ok(None);
    }
    let required = |key: &str, what: &str| {
        raw.text(key).ok_or_else(|| {
            format!(
                "{} set, so LXC exec over SSH is wanted, but {key} is not: {what} (PROXMOX_{} \
                 for the default server); see the README's \"LXC exec over SSH\"",
                set.join(", "),
                key.to_ascii_uppercase()
            )
        })
    };
    let key = required(
        "ssh_key",
        "give the path of the private key that logs in to the nodes",
    )?;
    let host_keys = required(
        "ssh_host_key",
        "pin each node's public host key (`ssh-ed25519 AAAA...`, from /etc/ssh/ssh_host_ed25519_key.pub \
         on the node); keys are never trusted on first use",
    )?;
    let key = match (key.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(key),
    };
    let host_keys = parse_host_keys(&label("ssh_host_key"), host_keys)?;
    let user = raw.text("ssh_user").unwrap_or("root").to_string();
    if user.starts_with('-')
        || user.len() > 64
        || !user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(format!(
            "{} `{user}` is not a user name (letters, digits, `.`, `_`, `-`)",
            label("ssh_user")
        ));
    }
    let port =
        match raw.text("ssh_port") {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                format!("{} `{p}` is not a port number (1-65535)", label("ssh_port"))
            })?,
            None => 22,
        };
    let host = match raw.text("ssh_host") {
        None => SshHost::Template("{node}".into()),
        Some(text) if text.contains('=') => {
            let mut map = BTreeMap::new();
            for pair in text.split([',', ';', ' ', '\n']).filter(|p| !p.is_empty()) {
                let (node, addr) = pair
                    .split_once('=')
                    .map(|(n, a)| (n.trim(), a.trim()))
                    .filter(|(n, a)| !n.is_empty() && !a.is_empty())
                    .ok_or_else(|| {
                        format!(
                            "{}: `{pair}` is not NODE=ADDRESS (such as pve1=10.0.0.1,pve2=10.0.0.2)",
                            label("ssh_host")
                        )
                    })?;
                check_host(addr).map_err(|e| format!("{}: {e}", label("ssh_host")))?;
                map.insert(node.to_string(), addr.to_string());
            }
            SshHost::PerNode(map)
        }
        Some(text) => {
            check_host(&text.replace("{node}", "node"))
                .map_err(|e| format!("{}: {e}", label("ssh_host")))?;
            SshHost::Template(text.to_string())
        }
    };
    let pct = raw.text("ssh_pct").unwrap_or("pct").to_string();
    if pct.chars().any(char::is_control) || pct.starts_with('-') {
        return Err(format!("{} `{pct}` is not a path", label("ssh_pct")));
    }
    Ok(Some(Ssh {
        key,
        host_keys,
        user,
        port,
        host,
        pct,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real ed25519 host key (public).
    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKqjb2NnQh8dx+eu0wYsgxEOVMCaiIDKY++EVCVIYMXm";

    #[test]
    fn host_keys_are_read_from_pasted_lines() {
        let keys = parse_host_keys("k", KEY).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kind, "ssh-ed25519");
        // As `ssh-keygen -l` prints it.
        assert_eq!(
            keys[0].fingerprint,
            "SHA256:e2ZyhEoXXBfoCT+QVfSr+Akfm2zptiC83Tlt8ubh/Ms"
        );
        // A known_hosts / ssh-keyscan line, with a comment, twice: one key.
        let line = format!("[10.0.0.1]:22 {KEY} root@pve1\n{KEY}");
        assert_eq!(parse_host_keys("k", &line).unwrap(), keys);
        // A fingerprint is not a key; a broken key is refused.
        assert!(
            parse_host_keys("k", &keys[0].fingerprint)
                .unwrap_err()
                .contains("no public host key")
        );
        assert!(
            parse_host_keys("k", "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ")
                .unwrap_err()
                .contains("not an ssh-ed25519 key")
        );
        assert!(parse_host_keys("k", "ssh-ed25519 !!!").is_err());
        assert!(parse_host_keys("k", "ssh-ed25519").is_err());
    }

    #[test]
    fn base64_round_trips() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let e = encode_base64(data);
            assert_eq!(decode_base64(&e).unwrap(), data, "{e}");
        }
        assert_eq!(encode_base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode_base64(b"fo"), "Zm8");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert!(decode_base64("Z").is_none());
    }

    #[test]
    fn hosts_per_node_or_by_template() {
        let t = SshHost::Template("{node}.lan".into());
        assert_eq!(t.for_node("pve1").unwrap(), "pve1.lan");
        let map = SshHost::PerNode([("pve1".to_string(), "10.0.0.1".to_string())].into());
        assert_eq!(map.for_node("pve1").unwrap(), "10.0.0.1");
        assert!(map.for_node("pve2").unwrap_err().contains("pve2=ADDRESS"));
        assert!(
            SshHost::Template("-oProxyCommand=x".into())
                .for_node("a")
                .is_err()
        );
    }
}
