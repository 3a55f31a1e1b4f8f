//! The QEMU guest agent of the demo's VMs: PVE's `agent/*` methods with QEMU-GA-shaped answers
//! (`{"result": ...}` as PVE wraps them; `exec`, `exec-status` and `file-read` unwrapped), a few
//! simulated commands, and PVE's errors for a VM whose agent does not answer.

use proxmox_mcp::apidoc::HttpMethod;
use serde_json::{Value, json};

use super::api::{Answer, ApiError, Params, fail, not_simulated};
use super::cluster::{Cluster, Exec, Guest, Kind, Power, epoch};
use super::guests::{Target, find};

/// The agent commands of `GET .../agent/info`.
const SUPPORTED: &[&str] = &[
    "guest-ping",
    "guest-info",
    "guest-get-osinfo",
    "guest-get-host-name",
    "guest-get-time",
    "guest-get-timezone",
    "guest-get-users",
    "guest-get-vcpus",
    "guest-get-fsinfo",
    "guest-get-memory-blocks",
    "guest-get-memory-block-info",
    "guest-network-get-interfaces",
    "guest-exec",
    "guest-exec-status",
    "guest-file-open",
    "guest-file-read",
    "guest-file-write",
    "guest-file-close",
    "guest-fsfreeze-freeze",
    "guest-fsfreeze-status",
    "guest-fsfreeze-thaw",
    "guest-fstrim",
    "guest-shutdown",
    "guest-suspend-disk",
    "guest-suspend-hybrid",
    "guest-suspend-ram",
    "guest-set-user-password",
];

/// PVE's checks before any agent command: configured, VM running, agent answering.
fn available(g: &Guest, vmid: u64, command: &str) -> Result<(), ApiError> {
    let Some(agent) = g.get("agent") else {
        return Err(fail(500, "No QEMU guest agent configured"));
    };
    if g.power == Power::Stopped {
        return Err(fail(500, format!("VM {vmid} is not running")));
    }
    let enabled = agent
        .split(',')
        .any(|p| matches!(p, "1" | "enabled=1" | "enabled=on" | "on" | "yes"));
    if !enabled || !g.agent {
        return Err(fail(500, "QEMU guest agent is not running"));
    }
    if g.power == Power::Paused {
        return Err(fail(
            500,
            format!("VM {vmid} qmp command 'guest-{command}' failed - got timeout"),
        ));
    }
    Ok(())
}

fn result(v: Value) -> Answer {
    Ok(json!({ "result": v }))
}

/// The VM's address on `vmbr0`: 10.0.0.100 + its place.
fn address(vmid: u64) -> String {
    format!("10.0.0.{}", 100 + vmid % 100)
}

/// `/etc/os-release` of a Debian 13 guest.
const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nNAME=\"Debian GNU/Linux\"\n\
VERSION_ID=\"13\"\nVERSION=\"13 (trixie)\"\nVERSION_CODENAME=trixie\nID=debian\n\
HOME_URL=\"https://www.debian.org/\"\nSUPPORT_URL=\"https://www.debian.org/support\"\n\
BUG_REPORT_URL=\"https://bugs.debian.org/\"\n";

/// A file of the guest: written through the agent, or one of a Debian system's.
fn read_file(g: &Guest, vmid: u64, path: &str) -> Option<String> {
    if let Some(c) = g.files.get(path) {
        return Some(c.clone());
    }
    let name = g.name(vmid);
    Some(match path {
        "/etc/os-release" | "/usr/lib/os-release" => OS_RELEASE.to_string(),
        "/etc/hostname" => format!("{name}\n"),
        "/etc/hosts" => format!(
            "127.0.0.1\tlocalhost\n{}\t{name}.demo.lan {name}\n::1\tlocalhost ip6-localhost \
             ip6-loopback\n",
            address(vmid)
        ),
        "/etc/resolv.conf" => "search demo.lan\nnameserver 10.0.0.1\n".to_string(),
        "/etc/debian_version" => "13.1\n".to_string(),
        "/etc/timezone" => "Etc/UTC\n".to_string(),
        "/etc/machine-id" => format!("6c1f0e2a00004000800{vmid:013}\n"),
        "/proc/uptime" => {
            let up = g.since.elapsed().as_secs();
            format!("{up}.42 {}.17\n", up * 2)
        }
        "/proc/loadavg" => "0.08 0.12 0.10 1/142 2211\n".to_string(),
        _ => return None,
    })
}

/// The mounted filesystems: mount point, device, type, size in bytes, used bytes.
fn filesystems(g: &Guest) -> Vec<(String, String, String, u64, u64)> {
    let mut out = Vec::new();
    let mut letter = b'a';
    for (key, _, _, size) in g.disks() {
        if key.starts_with("efidisk") || key.starts_with("tpmstate") || key.starts_with("unused") {
            continue;
        }
        let dev = format!("sd{}", letter as char);
        let (mount, part) = if out.is_empty() {
            ("/".to_string(), format!("{dev}1"))
        } else {
            (format!("/mnt/data{}", out.len()), format!("{dev}1"))
        };
        out.push((mount, part, "ext4".into(), size, size / 100 * 37));
        letter += 1;
    }
    out
}

/// What a simulated command gives: exit code, stdout, stderr; `None` for a program that is not
/// in the guest.
fn run(g: &Guest, vmid: u64, argv: &[String]) -> Option<Exec> {
    let ok = |out: String| {
        Some(Exec {
            exitcode: 0,
            out,
            err: String::new(),
        })
    };
    let prog = argv.first()?.rsplit('/').next().unwrap_or_default();
    let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    let name = g.name(vmid);
    match (prog, args.as_slice()) {
        ("sh" | "bash", ["-c", line]) => {
            let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
            Some(run(g, vmid, &words).unwrap_or_else(|| Exec {
                exitcode: 127,
                out: String::new(),
                err: format!(
                    "{prog}: 1: {}: not found\n",
                    words.first().map(String::as_str).unwrap_or("")
                ),
            }))
        }
        ("uname", ["-a"]) => ok(format!(
            "Linux {name} 6.12.48+deb13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.12.48-1 \
             (2025-09-20) x86_64 GNU/Linux\n"
        )),
        ("uname", ["-r"]) => ok("6.12.48+deb13-amd64\n".into()),
        ("uname", []) => ok("Linux\n".into()),
        ("hostname", []) => ok(format!("{name}\n")),
        ("whoami", []) => ok("root\n".into()),
        ("id", []) => ok("uid=0(root) gid=0(root) groups=0(root)\n".into()),
        ("true", _) => ok(String::new()),
        ("false", _) => Some(Exec {
            exitcode: 1,
            out: String::new(),
            err: String::new(),
        }),
        ("echo", words) => ok(format!("{}\n", words.join(" "))),
        ("cat", files) if !files.is_empty() => {
            let mut out = String::new();
            let mut err = String::new();
            for f in files.iter() {
                match read_file(g, vmid, f) {
                    Some(text) => out.push_str(&text),
                    None => err.push_str(&format!("cat: {f}: No such file or directory\n")),
                }
            }
            Some(Exec {
                exitcode: i64::from(!err.is_empty()),
                out,
                err,
            })
        }
        ("df", ["-h"] | []) => {
            let human = args.first() == Some(&"-h");
            let mut out = if human {
                "Filesystem      Size  Used Avail Use% Mounted on\n".to_string()
            } else {
                "Filesystem     1K-blocks    Used Available Use% Mounted on\n".to_string()
            };
            out.push_str(if human {
                "udev            1.9G     0  1.9G   0% /dev\ntmpfs           392M  600K  391M   1% /run\n"
            } else {
                "udev             1985432       0   1985432   0% /dev\ntmpfs             401424     600    400824   1% /run\n"
            });
            for (mount, dev, _, size, used) in filesystems(g) {
                let pct = used * 100 / size.max(1);
                let line = if human {
                    let g = |b: u64| format!("{:.1}G", b as f64 / (1u64 << 30) as f64);
                    format!(
                        "/dev/{dev:<10} {:>5} {:>5} {:>5} {pct:>3}% {mount}\n",
                        g(size),
                        g(used),
                        g(size - used)
                    )
                } else {
                    format!(
                        "/dev/{dev:<10} {:>10} {:>7} {:>9} {pct:>3}% {mount}\n",
                        size >> 10,
                        used >> 10,
                        (size - used) >> 10
                    )
                };
                out.push_str(&line);
            }
            ok(out)
        }
        ("uptime", []) => {
            let up = g.since.elapsed().as_secs();
            ok(format!(
                " up {} min,  1 user,  load average: 0.08, 0.12, 0.10\n",
                up / 60
            ))
        }
        ("free", ["-m"] | ["-h"] | []) => {
            let total = g.maxmem() >> 20;
            let (used, _) = g.usage(vmid);
            let used = used >> 20;
            ok(format!(
                "               total        used        free      shared  buff/cache   available\n\
                 Mem:           {total:>5}       {used:>5}       {:>5}           1         210       {:>5}\n\
                 Swap:              0           0           0\n",
                total.saturating_sub(used + 210),
                total.saturating_sub(used)
            ))
        }
        ("ip", ["-br", "a" | "addr"] | ["-brief", "address"]) => ok(format!(
            "lo               UNKNOWN        127.0.0.1/8 ::1/128\neth0             UP             {}/24 fe80::be24:11ff:fe00:{:x}/64\n",
            address(vmid),
            vmid
        )),
        ("systemctl", ["is-active", _unit]) => ok("active\n".into()),
        ("ls", _) => ok("bin\nboot\ndev\netc\nhome\nlib\nlib64\nmnt\nopt\nproc\nroot\nrun\nsbin\nsrv\nsys\ntmp\nusr\nvar\n".into()),
        _ => None,
    }
}

/// The commands of `exec`: the repeated `command` parameter (one word each), or one line split
/// at spaces.
fn argv(params: &Params) -> Vec<String> {
    let parts: Vec<String> = params
        .0
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if parts.len() == 1 && parts[0].contains(' ') {
        return parts[0].split_whitespace().map(str::to_string).collect();
    }
    parts
}

/// `GET|POST /nodes/{node}/qemu/{vmid}/agent/{command}` (and `POST .../agent` with `command`).
pub(super) fn agent(
    c: &mut Cluster,
    t: Target,
    method: HttpMethod,
    command: &str,
    params: &Params,
) -> Answer {
    if t.kind != Kind::Qemu {
        return Err(not_simulated(method, "agent"));
    }
    let vmid = t.vmid;
    let owned;
    let command = if command.is_empty() {
        owned = params.get("command").unwrap_or_default().to_string();
        owned.as_str()
    } else {
        command
    };
    let g = find(c, t)?;
    available(g, vmid, command)?;
    let name = g.name(vmid);
    match command {
        "ping" => result(json!({})),
        "info" => result(json!({"version": "9.2.0", "supported_commands": SUPPORTED
            .iter()
            .map(|n| json!({"name": n, "enabled": true, "success-response": *n != "guest-shutdown"}))
            .collect::<Vec<_>>()})),
        "get-osinfo" => result(json!({
            "name": "Debian GNU/Linux", "id": "debian", "pretty-name": "Debian GNU/Linux 13 (trixie)",
            "version": "13 (trixie)", "version-id": "13", "kernel-release": "6.12.48+deb13-amd64",
            "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.12.48-1 (2025-09-20)",
            "machine": "x86_64"})),
        "get-host-name" => result(json!({"host-name": name})),
        "get-timezone" => result(json!({"zone": "UTC", "offset": 0})),
        "get-time" => result(json!(epoch() * 1_000_000_000)),
        "get-users" => result(json!([{"user": "root", "login-time": (epoch() - 3_700) as f64 + 0.25}])),
        "get-vcpus" => result(Value::Array(
            (0..g.cpus())
                .map(|n| json!({"logical-id": n, "online": true, "can-offline": n > 0}))
                .collect(),
        )),
        "get-memory-blocks" => result(Value::Array(
            (0..(g.maxmem() >> 27))
                .map(|n| json!({"phys-index": n, "online": true, "can-offline": n > 0}))
                .collect(),
        )),
        "get-memory-block-info" => result(json!({"size": 134_217_728})),
        "network-get-interfaces" => {
            let mac = g
                .get("net0")
                .and_then(|n| n.split(',').find_map(|p| p.split_once('=').map(|x| x.1)))
                .unwrap_or("BC:24:11:00:00:00")
                .to_ascii_lowercase();
            result(json!([
                {"name": "lo", "hardware-address": "00:00:00:00:00:00",
                 "ip-addresses": [
                    {"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8},
                    {"ip-address": "::1", "ip-address-type": "ipv6", "prefix": 128}],
                 "statistics": {"rx-bytes": 23_456, "rx-packets": 312, "rx-errs": 0,
                    "rx-dropped": 0, "tx-bytes": 23_456, "tx-packets": 312, "tx-errs": 0,
                    "tx-dropped": 0}},
                {"name": "eth0", "hardware-address": mac,
                 "ip-addresses": [
                    {"ip-address": address(vmid), "ip-address-type": "ipv4", "prefix": 24},
                    {"ip-address": format!("fe80::be24:11ff:fe00:{vmid:x}"),
                     "ip-address-type": "ipv6", "prefix": 64}],
                 "statistics": {"rx-bytes": 48_213_112 + vmid * 1000, "rx-packets": 61_220,
                    "rx-errs": 0, "rx-dropped": 12, "tx-bytes": 9_113_201 + vmid * 700,
                    "tx-packets": 20_411, "tx-errs": 0, "tx-dropped": 0}}
            ]))
        }
        "get-fsinfo" => result(Value::Array(
            filesystems(g)
                .into_iter()
                .enumerate()
                .map(|(i, (mount, dev, kind, size, used))| {
                    json!({"name": dev, "mountpoint": mount, "type": kind,
                        "total-bytes": size, "used-bytes": used,
                        "disk": [{"bus-type": "scsi", "bus": 0, "target": 0, "unit": i,
                            "serial": format!("drive-scsi{i}"), "dev": format!("/dev/{}", &dev[..3]),
                            "pci-controller": {"domain": 0, "bus": 9, "slot": 1, "function": 0}}]})
                })
                .collect(),
        )),
        "fsfreeze-status" => result(json!(if g.frozen { "frozen" } else { "thawed" })),
        "fsfreeze-freeze" | "fsfreeze-thaw" => {
            let n = filesystems(g).len();
            let freeze = command == "fsfreeze-freeze";
            if freeze && g.frozen {
                return Err(fail(
                    500,
                    format!(
                        "VM {vmid} qmp command 'guest-fsfreeze-freeze' failed - The command \
                         guest-fsfreeze-freeze has been disabled for this instance"
                    ),
                ));
            }
            let was = g.frozen;
            if let Some(g) = c.guests.get_mut(&vmid) {
                g.frozen = freeze;
            }
            result(json!(if freeze || was { n } else { 0 }))
        }
        "fstrim" => result(json!({"paths": filesystems(g)
            .into_iter()
            .map(|(m, _, _, size, used)| json!({"path": m, "trimmed": (size - used) / 3, "minimum": 0}))
            .collect::<Vec<_>>()})),
        "shutdown" | "suspend-ram" | "suspend-disk" | "suspend-hybrid" => {
            // The guest goes down (or sleeps) on its own; the agent answers nothing.
            if let Some(g) = c.guests.get_mut(&vmid) {
                g.power = if command == "suspend-ram" {
                    Power::Paused
                } else {
                    Power::Stopped
                };
                g.frozen = false;
            }
            result(Value::Null)
        }
        "set-user-password" => {
            let user = params.get("username").unwrap_or_default();
            if user != "root" && user != "debian" {
                return Err(fail(
                    500,
                    format!(
                        "VM {vmid} qmp command 'guest-set-user-password' failed - child process \
                         has failed to set user password: chpasswd: (user {user}) pam_chauthtok() \
                         failed, error: Authentication token manipulation error"
                    ),
                ));
            }
            result(json!({}))
        }
        "file-read" => {
            let path = params.get("file").unwrap_or_default();
            let text = read_file(g, vmid, path).ok_or_else(|| {
                fail(
                    500,
                    format!(
                        "VM {vmid} qmp command 'guest-file-open' failed - failed to open file \
                         '{path}' (mode: 'r'): No such file or directory"
                    ),
                )
            })?;
            let offset = params.num("offset").unwrap_or(0) as usize;
            let count = params.num("count").map(|n| n as usize);
            let bytes = text.as_bytes();
            let start = offset.min(bytes.len());
            let end = count.map_or(bytes.len(), |n| (start + n).min(bytes.len()));
            let mut out = json!({
                "content": String::from_utf8_lossy(&bytes[start..end]),
                "bytes-read": end - start,
            });
            if end < bytes.len() {
                out["truncated"] = 1.into();
            }
            Ok(out)
        }
        "file-write" => {
            let path = params.get("file").unwrap_or_default().to_string();
            let content = params.get("content").unwrap_or_default().to_string();
            if params.get("encode") == Some("0") {
                return Err(fail(
                    500,
                    "the demo cluster stores only text written with `encode` (the default)",
                ));
            }
            if let Some(g) = c.guests.get_mut(&vmid) {
                if g.files.len() >= 64 && !g.files.contains_key(&path) {
                    return Err(fail(
                        500,
                        format!(
                            "VM {vmid} qmp command 'guest-file-open' failed - failed to open \
                             file '{path}' (mode: 'w'): No space left on device"
                        ),
                    ));
                }
                g.files.insert(path, content.chars().take(64 * 1024).collect());
            }
            Ok(Value::Null)
        }
        "exec" => {
            let argv = argv(params);
            if argv.is_empty() && params.get("input-data").is_none() {
                return Err(fail(500, "command or input-data (or both) required"));
            }
            let Some(done) = run(g, vmid, &argv) else {
                let prog = argv.first().cloned().unwrap_or_default();
                return Err(fail(
                    500,
                    format!(
                        "Agent error: Guest agent command failed, error was 'Failed to execute \
                         child process “{prog}” (No such file or directory)'"
                    ),
                ));
            };
            let pid = c.exec_pid();
            c.execs.insert((vmid, pid), done);
            if c.execs.len() > 256
                && let Some(first) = c.execs.keys().next().copied()
            {
                c.execs.remove(&first);
            }
            Ok(json!({"pid": pid}))
        }
        "exec-status" => {
            let pid = params.num("pid").unwrap_or(0);
            let done = c.execs.get(&(vmid, pid)).ok_or_else(|| {
                fail(
                    500,
                    "Agent error: Invalid parameter 'pid'".to_string(),
                )
            })?;
            let mut out = json!({"exited": 1, "exitcode": done.exitcode});
            if !done.out.is_empty() {
                out["out-data"] = done.out.clone().into();
            }
            if !done.err.is_empty() {
                out["err-data"] = done.err.clone().into();
            }
            Ok(out)
        }
        _ => Err(not_simulated(
            method,
            &format!("/nodes/{}/qemu/{vmid}/agent/{command}", t.node),
        )),
    }
}
