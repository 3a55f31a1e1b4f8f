//! Reads and small writes around a guest: its usage over time (`rrddata`), its cloud-init drive,
//! and console tickets (obviously fake: the demo serves no console).

use serde_json::{Value, json};

use super::api::{Answer, Params, fail};
use super::cluster::{
    Cluster, Effect, Kind, NODES, Power, TOKEN_ID, cloudinit_values, epoch, is_cloudinit_key,
};
use super::config::with_pending;
use super::guests::{Target, find, unlocked};

/// Seconds between two points and the points per timeframe, as PVE's RRD archives keep them.
fn resolution(timeframe: &str) -> u64 {
    match timeframe {
        "day" => 1_800,
        "week" => 10_800,
        "month" => 43_200,
        "year" => 604_800,
        _ => 60,
    }
}

/// `GET .../rrddata`: 70 points ending now. A running guest's numbers wave around what its
/// status says now (the last point is exactly that); a stopped guest's are zero.
pub(super) fn rrddata(c: &Cluster, t: Target, params: &Params) -> Answer {
    let g = find(c, t)?;
    let step = resolution(params.get("timeframe").unwrap_or("hour"));
    let max = params.get("cf") == Some("MAX");
    let (mem, cpu) = g.usage(t.vmid);
    let running = g.power != Power::Stopped;
    let maxdisk: u64 = g.disks().iter().map(|d| d.3).max().unwrap_or(0);
    let end = epoch() / step * step;
    let up = g.since.elapsed().as_secs();
    let points = (0..70u64)
        .map(|i| {
            let time = end - (69 - i) * step;
            let age = (69 - i) * step;
            // Running then: since its start, or all along for an older guest.
            let was_running = running && (age <= up || up > 3_600);
            let mut p = json!({"time": time, "maxcpu": g.cpus(), "maxmem": g.maxmem(),
                "maxdisk": maxdisk});
            if !was_running {
                for k in [
                    "cpu",
                    "mem",
                    "disk",
                    "diskread",
                    "diskwrite",
                    "netin",
                    "netout",
                ] {
                    p[k] = 0.into();
                }
                return p;
            }
            // A deterministic wave (period of 12 points) that ends at phase 0.
            let phase = ((69 - i) % 12) as f64 / 12.0 * std::f64::consts::TAU;
            let wave = phase.sin() * 0.3 + if max { 0.25 } else { 0.0 };
            let f = 1.0 + wave;
            let last = i == 69;
            let pick = |now: f64| if last && !max { now } else { now * f };
            let net = 2_000.0 + (t.vmid % 7) as f64 * 450.0;
            p["cpu"] = json!(pick(cpu));
            p["mem"] = json!(pick(mem as f64).round());
            p["disk"] = json!(if t.kind == Kind::Lxc {
                (maxdisk / 5) as f64
            } else {
                0.0
            });
            p["diskread"] = json!(pick(14_000.0).round());
            p["diskwrite"] = json!(pick(52_000.0).round());
            p["netin"] = json!(pick(net).round());
            p["netout"] = json!(pick(net / 3.0).round());
            p
        })
        .collect();
    Ok(Value::Array(points))
}

/// `GET /nodes/{node}/qemu/{vmid}/cloudinit`: each cloud-init key with the value its drive was
/// generated with and, when it changed since, the `pending` one; `delete: 1` for a removed key.
pub(super) fn cloudinit(c: &Cluster, t: Target) -> Answer {
    let g = find(c, t)?;
    let now = cloudinit_values(&with_pending(g));
    let hide = |k: &str, v: &str| {
        if k == "cipassword" {
            "**********".to_string()
        } else {
            v.to_string()
        }
    };
    let mut out = Vec::new();
    for (k, v) in &now {
        match g.cloudinit.get(k) {
            None => out.push(json!({"key": k, "pending": hide(k, v)})),
            Some(used) if used != v => {
                out.push(json!({"key": k, "value": hide(k, used), "pending": hide(k, v)}));
            }
            Some(_) => out.push(json!({"key": k, "value": hide(k, v)})),
        }
    }
    for k in g.cloudinit.keys().filter(|k| !now.contains_key(*k)) {
        out.push(json!({"key": k, "delete": 1}));
    }
    Ok(Value::Array(out))
}

/// An `ipconfigN` value as cloud-init network config lines.
fn subnet(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in value.split(',') {
        match part.split_once('=') {
            Some(("ip", "dhcp")) => out.push("      - type: dhcp4".to_string()),
            Some(("ip6", "dhcp" | "auto")) => out.push("      - type: dhcp6".to_string()),
            Some(("ip", cidr)) => {
                out.push("      - type: static".to_string());
                out.push(format!("        address: '{cidr}'"));
            }
            Some(("gw", gw)) => out.push(format!("        gateway: '{gw}'")),
            _ => {}
        }
    }
    out
}

/// `GET .../cloudinit/dump?type=user|network|meta`: the YAML the drive gets.
pub(super) fn cloudinit_dump(c: &Cluster, t: Target, params: &Params) -> Answer {
    let g = find(c, t)?;
    let config = with_pending(g);
    let name = g.name(t.vmid);
    let text = match params.get("type").unwrap_or("user") {
        "network" => {
            let mut lines = vec!["version: 1".to_string(), "config:".to_string()];
            for (k, v) in config.iter().filter(|(k, _)| k.starts_with("net")) {
                let n = &k[3..];
                let mac = v
                    .split(',')
                    .find_map(|p| p.split_once('=').map(|x| x.1))
                    .filter(|m| m.len() == 17)
                    .unwrap_or("bc:24:11:00:00:00")
                    .to_ascii_lowercase();
                lines.push("    - type: physical".to_string());
                lines.push(format!("      name: eth{n}"));
                lines.push(format!("      mac_address: '{mac}'"));
                if let Some(ip) = config.get(&format!("ipconfig{n}")) {
                    lines.push("      subnets:".to_string());
                    lines.extend(subnet(ip));
                }
            }
            let dns = config
                .get("nameserver")
                .cloned()
                .unwrap_or("10.0.0.1".into());
            lines.push("    - type: nameserver".to_string());
            lines.push("      address:".to_string());
            lines.extend(dns.split_whitespace().map(|a| format!("      - '{a}'")));
            if let Some(search) = config.get("searchdomain") {
                lines.push("      search:".to_string());
                lines.extend(search.split_whitespace().map(|a| format!("      - '{a}'")));
            }
            lines.join("\n") + "\n"
        }
        "meta" => format!(
            "instance-id: {}\n",
            &super::config::digest_of(&cloudinit_values(&config), None)[..40]
        ),
        _ => {
            let mut lines = vec![
                "#cloud-config".to_string(),
                format!("hostname: {name}"),
                "manage_etc_hosts: true".to_string(),
                format!("fqdn: {name}"),
            ];
            if let Some(u) = config.get("ciuser") {
                lines.push(format!("user: {u}"));
            }
            if config.contains_key("cipassword") {
                lines.push("password: $5$demo$0123456789abcdefghijklmnopqrstuvwxyzABCD".into());
            }
            if let Some(keys) = config.get("sshkeys") {
                let decoded = percent_encoding::percent_decode_str(keys)
                    .decode_utf8_lossy()
                    .into_owned();
                lines.push("ssh_authorized_keys:".to_string());
                lines.extend(
                    decoded
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|k| format!("  - {k}")),
                );
            }
            lines.extend([
                "chpasswd:".to_string(),
                "  expire: False".to_string(),
                "users:".to_string(),
                "  - default".to_string(),
                format!(
                    "package_upgrade: {}",
                    if config.get("ciupgrade").map(String::as_str) == Some("0") {
                        "false"
                    } else {
                        "true"
                    }
                ),
            ]);
            lines.join("\n") + "\n"
        }
    };
    Ok(text.into())
}

/// `PUT .../cloudinit`: the drive is generated again from the current values.
pub(super) fn cloudinit_regenerate(c: &mut Cluster, t: Target) -> Answer {
    unlocked(c, t)?;
    if let Some(g) = c.guests.get_mut(&t.vmid) {
        let now = with_pending(g);
        g.cloudinit = cloudinit_values(&now);
        // PVE writes the cloud-init values into the config as it regenerates.
        let pending: Vec<(String, String)> = g
            .pending
            .iter()
            .filter(|(k, _)| is_cloudinit_key(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in pending {
            g.pending.remove(&k);
            g.config.insert(k, v);
        }
    }
    Ok(Value::Null)
}

/// A fake ticket: obviously not one PVE issues.
fn ticket(kind: &str, vmid: u64) -> String {
    format!("PVE{kind}:DEMO{vmid:08X}::DEMO-TICKET-NOT-VALID-ANYWHERE")
}

/// `POST .../vncproxy`, `.../termproxy` and `.../spiceproxy`: PVE-shaped answers with fake
/// tickets (and, for VNC and terminal, a proxy task); the demo serves no console.
pub(super) fn console(c: &mut Cluster, t: Target, which: &str, params: &Params) -> Answer {
    let g = find(c, t)?;
    let vmid = t.vmid;
    if g.power == Power::Stopped {
        return Err(fail(500, format!("{} {vmid} not running", t.kind.word())));
    }
    let name = g.name(vmid);
    let ip = NODES.iter().find(|n| n.0 == t.node).map_or("", |n| n.3);
    let port = 5900 + vmid % 100;
    match which {
        "spiceproxy" => {
            if t.kind == Kind::Qemu && !g.get("vga").is_some_and(|v| v.starts_with("qxl")) {
                return Err(fail(500, "no spice port"));
            }
            let proxy = params
                .get("proxy")
                .map(|p| format!("http://{p}:3128"))
                .unwrap_or_else(|| format!("http://{ip}:3128"));
            Ok(json!({
                "type": "spice", "password": "demo-not-a-real-spice-password",
                "host": format!("pvespiceproxy:DEMO{vmid:08X}:{vmid}:{}::demo", t.node),
                "proxy": proxy, "tls-port": 61_000 + vmid % 100,
                "host-subject": format!("OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN={}.demo.lan", t.node),
                "ca": "-----BEGIN CERTIFICATE-----\\nDEMO-CA-NOT-A-CERTIFICATE\\n-----END CERTIFICATE-----\\n",
                "title": format!("{} {vmid} ('{name}')", t.kind.word()),
                "delete-this-file": 1, "secure-attention": "Ctrl+Alt+Ins",
                "release-cursor": "Ctrl+Alt+R", "toggle-fullscreen": "Shift+F11",
            }))
        }
        _ => {
            let kind = "vncproxy";
            let log = vec![format!(
                "demo cluster: a {which} for {} {vmid} was requested; no console is served",
                t.kind.word()
            )];
            let effect: Effect = Box::new(|_| {});
            let upid = c.spawn(t.node, kind, &vmid.to_string(), None, log, None, effect);
            let mut out = json!({"port": port, "ticket": ticket(if which == "vncproxy" { "VNC" } else { "TERM" }, vmid),
                "upid": upid, "user": TOKEN_ID});
            if which == "vncproxy" {
                out["cert"] = "-----BEGIN CERTIFICATE-----\nDEMO-NOT-A-CERTIFICATE\n-----END CERTIFICATE-----\n".into();
                if params.flag("generate-password") {
                    out["password"] = "demo0000".into();
                }
            }
            Ok(out)
        }
    }
}
