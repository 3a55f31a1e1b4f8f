//! A console of a VM or container: VNC, a terminal or SPICE. PVE answers with a ticket (for
//! SPICE a password and a signed proxy address) that opens the console for a short while. Those
//! go to a new private file on the machine the server runs on, never into a result, an error, a
//! log or the audit log; the result says where the file is, gives the web UI's console address
//! (which works with the browser's own PVE login) and what a program does with the file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proxmox_mcp::apidoc::HttpMethod::Post;
use proxmox_mcp::catalog::Endpoint;
use serde_json::{Map, Value, json};

use super::input::{self, text};
use super::send::{Call, Exchanged, Outcome, exchange};
use super::tools::guest_endpoints;

/// The values of `kind`, in the order of [`endpoints`] (a VM's method, then a container's).
pub const KINDS: [&str; 3] = ["vnc", "terminal", "spice"];

/// The methods `proxmox_guest_console` calls: per kind, the VM's then the container's.
pub fn endpoints() -> Vec<&'static Endpoint> {
    ["/vncproxy", "/termproxy", "/spiceproxy"]
        .iter()
        .flat_map(|s| guest_endpoints(Post, s))
        .collect()
}

/// Files of earlier consoles older than this are removed when a new one is written: their
/// tickets expired long before.
const KEEP: Duration = Duration::from_secs(600);

/// The directory console files go to when no `console_dir` is set: `$XDG_RUNTIME_DIR/
/// proxmox-mcp` (a per-user directory only its user can enter), else `proxmox-mcp-$USER` in
/// the system's temporary directory (made private when missing; refused when another user made
/// it first).
pub fn default_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(run) = env("XDG_RUNTIME_DIR") {
        return PathBuf::from(run).join("proxmox-mcp");
    }
    let name = match env("USER") {
        Some(u)
            if u.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
        {
            format!("proxmox-mcp-{u}")
        }
        _ => "proxmox-mcp".to_string(),
    };
    std::env::temp_dir().join(name)
}

/// `proxmox_guest_console`: asks PVE for a console proxy of `kind` and writes what opens it to
/// a private file.
pub async fn open(call: &mut Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let cluster = call.cluster;
    let client = &cluster.client;
    let vmid = input::vmid(&mut args)?;
    let kind = text(&args, "kind").unwrap_or_default();
    let k = KINDS.iter().position(|x| *x == kind).unwrap_or(0);
    let at = cluster
        .guests
        .locate(
            client,
            vmid,
            text(&args, "node").as_deref(),
            text(&args, "type").as_deref(),
        )
        .await?;
    let lxc = at.kind == "lxc";
    let ep = call.tool.endpoints[2 * k + usize::from(lxc)];
    call.target = Some(cluster.guests.label(vmid, &at));
    // Read before the write clears the list of guests.
    let name = cluster.guests.name(vmid);
    let (host, port) = host_and_port(client.base_url());
    let mut a = Map::new();
    a.insert("node".into(), json!(at.node));
    a.insert("vmid".into(), json!(vmid));
    match KINDS[k] {
        // A ticket for the websocket (vncwebsocket), not for a plain VNC port.
        "vnc" => {
            a.insert("websocket".into(), json!(true));
        }
        // The SPICE proxy a client connects to: the host this server reaches PVE at, as the
        // web UI gives the host the browser reached (PVE's default is the node's own name).
        "spice" => {
            a.insert("proxy".into(), json!(host.trim_matches(['[', ']'])));
        }
        _ => {}
    }
    // The file is made first: a directory that is not private refuses the call before PVE
    // issues any ticket.
    let file = if call.dry_run {
        None
    } else {
        let ext = if KINDS[k] == "spice" { "vv" } else { "json" };
        Some(Private::create(
            &call.state.console_dir,
            &format!("{}-{vmid}", KINDS[k]),
            ext,
        )?)
    };
    let data = match exchange(call, ep, a).await {
        Ok(Exchanged::Answer(data)) => data,
        Ok(Exchanged::DryRun(out)) => return Ok(out),
        Err(e) => {
            if let Some(f) = file {
                f.discard();
            }
            return Err(e);
        }
    };
    let Some(file) = file else {
        return Err("a console without its file: nothing was written".to_string());
    };
    let console = if lxc { "lxc" } else { "kvm" };
    let viewer = if KINDS[k] == "terminal" {
        "xtermjs"
    } else {
        "novnc"
    };
    let mut web = format!(
        "https://{host}:{port}/?console={console}&{viewer}=1&vmid={vmid}&node={}",
        enc(&at.node)
    );
    if let Some(name) = name {
        web.push_str(&format!("&vmname={}", enc(&name)));
    }
    let mut out = json!({"vmid": vmid, "node": at.node, "type": at.kind, "kind": KINDS[k],
                         "web_console": web});
    let written = if KINDS[k] == "spice" {
        match virt_viewer(&data) {
            Ok(text) => file.write(text.as_bytes()),
            Err(e) => {
                file.discard();
                return Err(e);
            }
        }
    } else {
        let (Some(ticket), Some(ws_port)) = (
            data["ticket"].as_str(),
            data["port"]
                .as_u64()
                .or_else(|| data["port"].as_str()?.parse().ok()),
        ) else {
            file.discard();
            return Err(format!(
                "PVE answered {} {} without a ticket and port; try again, or use the web \
                 console: {web}",
                ep.method,
                ep.path.replace("{node}", &at.node)
            ));
        };
        let socket = format!(
            "wss://{host}:{port}/api2/json/nodes/{}/{}/{vmid}/vncwebsocket?port={ws_port}&vncticket=",
            enc(&at.node),
            at.kind
        );
        let user = data["user"].as_str().unwrap_or("");
        let mut secret = json!({"vmid": vmid, "node": at.node, "type": at.kind, "kind": KINDS[k],
                                "port": ws_port, "ticket": ticket, "user": user,
                                "websocket": format!("{socket}{}", enc(ticket)),
                                "issued": crate::utc::seconds(crate::utc::now())});
        if KINDS[k] == "vnc" {
            // The VNC password: PVE's own when it sends one, else the ticket.
            secret["vnc_password"] = data
                .get("password")
                .filter(|p| p.is_string())
                .cloned()
                .unwrap_or(json!(ticket));
        } else {
            // termproxy's protocol: the first message names the user and the ticket.
            secret["first_message"] = json!(format!("{user}:{ticket}\n"));
        }
        out["websocket"] = json!(format!("{socket}(the ticket in the file)"));
        file.write(secret.to_string().as_bytes())
    };
    let path = written.map_err(|e| {
        format!(
            "PVE opened the console, but its file could not be written ({e}); nothing secret \
             was shown. Check console_dir (PROXMOX_MCP_CONSOLE_DIR), then call \
             proxmox_guest_console again, or use the web console: {web}"
        )
    })?;
    out["file"] = json!(path.display().to_string());
    out["note"] = json!(match KINDS[k] {
        "spice" => {
            "Open the file with `remote-viewer FILE` on this machine within about 30 s; it \
             deletes the file once read. The web console needs only a browser logged in to PVE."
        }
        _ if !lxc && KINDS[k] == "terminal" => {
            "The file (on this machine) holds the ticket: it opens one websocket within about \
             40 s, with this server's own API login. A VM's terminal is its serial port \
             (serial0). The web console needs only a browser logged in to PVE."
        }
        _ => {
            "The file (on this machine) holds the ticket: it opens one websocket within about \
             40 s, with this server's own API login. The web console needs only a browser \
             logged in to PVE."
        }
    });
    Ok(out)
}

/// Text for a URL: everything but letters and digits percent-encoded.
fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// The host (IPv6 in brackets) and port of `https://HOST:PORT/api2/json`.
fn host_and_port(base: &str) -> (String, String) {
    let authority = base
        .strip_prefix("https://")
        .unwrap_or(base)
        .split('/')
        .next()
        .unwrap_or("");
    match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h.to_string(), p.to_string()),
        _ => (authority.to_string(), "8006".to_string()),
    }
}

/// PVE's SPICE answer as a virt-viewer file (`remote-viewer FILE`), as the web UI writes it:
/// `[virt-viewer]` and one `key=value` line per field. A line break or NUL in a field would
/// start another line: refused (the error names the field, never its value).
fn virt_viewer(data: &Value) -> Result<String, String> {
    let Some(fields) = data.as_object() else {
        return Err("PVE's SPICE answer is not an object; nothing was written".to_string());
    };
    let mut out = String::from("[virt-viewer]\n");
    for (k, v) in fields {
        let v = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => u8::from(*b).to_string(),
            Value::Null => continue,
            other => other.to_string(),
        };
        let bad = |s: &str| s.contains(['\n', '\r', '\0']);
        if bad(k) || bad(&v) || k.contains('=') || k.starts_with('[') {
            return Err(format!(
                "PVE's SPICE answer has a field (`{}`) that cannot be a line of a virt-viewer \
                 file; nothing was written. Use the web console (kind vnc) instead.",
                k.escape_debug()
            ));
        }
        out.push_str(&format!("{k}={v}\n"));
    }
    Ok(out)
}

/// A new file only this user can read, in a directory only this user can enter.
struct Private {
    file: std::fs::File,
    path: PathBuf,
}

impl Private {
    /// Creates `DIR/STEM-RANDOM.EXT` (mode 0600), making `dir` (mode 0700) when it is missing.
    /// Refuses a directory another user owns or may enter, and removes files of earlier consoles
    /// older than [`KEEP`].
    fn create(dir: &Path, stem: &str, ext: &str) -> Result<Private, String> {
        let fail = |e: std::io::Error| {
            format!(
                "the console directory {} cannot be used ({e}); set console_dir in the \
                 configuration file or PROXMOX_MCP_CONSOLE_DIR to a directory only this user \
                 can enter. Nothing was sent.",
                dir.display()
            )
        };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(fail)?;
        let mut nonce = [0u8; 6];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| fail(std::io::Error::other("no randomness for a file name")))?;
        let suffix: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("{stem}-{suffix}.{ext}"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(fail)?;
        let private = Private { file, path };
        if let Err(why) = private.check(dir) {
            private.discard();
            return Err(format!(
                "the console directory {} is not private: {why}. Set console_dir in the \
                 configuration file or PROXMOX_MCP_CONSOLE_DIR to a directory only this user \
                 can enter (mode 700). Nothing was sent.",
                dir.display()
            ));
        }
        sweep(dir);
        Ok(private)
    }

    /// The directory (and the link to it, if it is one) belongs to the user who owns the new
    /// file, and nobody else may enter it.
    #[cfg(unix)]
    fn check(&self, dir: &Path) -> Result<(), String> {
        use std::os::unix::fs::MetadataExt;
        let me = self.file.metadata().map_err(|e| e.to_string())?.uid();
        let link = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
        let target = std::fs::metadata(dir).map_err(|e| e.to_string())?;
        if link.uid() != me || target.uid() != me {
            return Err("another user owns it".to_string());
        }
        if target.mode() & 0o077 != 0 {
            return Err(format!(
                "other users may enter it (mode {:o})",
                target.mode() & 0o777
            ));
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check(&self, _dir: &Path) -> Result<(), String> {
        Ok(())
    }

    /// Writes `bytes` and returns the file's path.
    fn write(mut self, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let written = self.file.write_all(bytes).and_then(|_| self.file.flush());
        match written {
            Ok(()) => Ok(self.path),
            Err(e) => {
                let _ = std::fs::remove_file(&self.path);
                Err(e)
            }
        }
    }

    /// Removes the file (the call failed).
    fn discard(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes console files of `dir` older than [`KEEP`].
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = KINDS.iter().any(|k| name.starts_with(&format!("{k}-")))
            && (name.ends_with(".json") || name.ends_with(".vv"));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > KEEP);
        if ours && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spice_answers_become_virt_viewer_files() {
        let data = json!({"type": "spice", "host": "pvespiceproxy:1:100:pve1::abc",
                          "tls-port": 61000, "password": "pw", "delete-this-file": 1,
                          "ca": "-----BEGIN CERTIFICATE-----\\nMII\\n-----END CERTIFICATE-----\\n"});
        let vv = virt_viewer(&data).unwrap();
        assert!(vv.starts_with("[virt-viewer]\n"), "{vv}");
        assert!(vv.contains("\ntls-port=61000\n") && vv.contains("\npassword=pw\n"));
        // PVE escapes the certificate's line breaks: one line.
        assert_eq!(vv.lines().filter(|l| l.starts_with("ca=")).count(), 1);
        let e = virt_viewer(&json!({"password": "pw\nhost=evil"})).unwrap_err();
        assert!(e.contains("`password`") && !e.contains("evil"), "{e}");
    }

    #[test]
    fn the_default_directory_is_per_user() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            default_dir(&env(&[
                ("XDG_RUNTIME_DIR", "/run/user/1000"),
                ("USER", "ann")
            ])),
            PathBuf::from("/run/user/1000/proxmox-mcp")
        );
        let tmp = std::env::temp_dir();
        assert_eq!(
            default_dir(&env(&[("USER", "ann")])),
            tmp.join("proxmox-mcp-ann")
        );
        assert_eq!(
            default_dir(&env(&[("USER", "../x")])),
            tmp.join("proxmox-mcp")
        );
    }

    #[test]
    fn hosts_and_ports_of_base_urls() {
        let hp = |b: &str| host_and_port(b);
        assert_eq!(
            hp("https://pve.example:8006/api2/json"),
            ("pve.example".into(), "8006".into())
        );
        assert_eq!(
            hp("https://[::1]:443/api2/json"),
            ("[::1]".into(), "443".into())
        );
    }

    #[cfg(unix)]
    #[test]
    fn console_files_are_private_and_their_directory_must_be() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("pmcp-console-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("made");
        let f = Private::create(&dir, "vnc-100", "json").unwrap();
        let path = f.write(b"{}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = Private::create(&dir, "vnc-100", "json").err().unwrap();
        assert!(e.contains("not private") && e.contains("755"), "{e}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "the refused call leaves no file"
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
