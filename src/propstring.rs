//! Property strings: PVE's `key=value,key=value` values (`net0=virtio,bridge=vmbr0,firewall=1`).
//!
//! The generator turns each inline `format` of the schema into a struct implementing
//! [`PropertyString`]; this module holds the parsing and printing they share: the default key
//! (`virtio` alone means `model=virtio` where `model` is the default key), key aliases
//! (`virtio=AA:BB:...` means `model=virtio,macaddr=AA:BB:...`), and PVE's boolean spellings.
//!
//! Printing follows PVE's `print_property_string`, so that a string PVE wrote reads back and
//! prints as the same text: the default key's value first without its name, then the required
//! keys, then the rest, each group sorted by name, with key aliases folded back
//! (`virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1`).

use std::fmt;
use std::str::FromStr;

use crate::params::Form;

/// An alias key of a property-string format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alias {
    /// The key as written (`virtio`).
    pub key: &'static str,
    /// The real key its value belongs to (`macaddr`).
    pub alias: &'static str,
    /// When set, the key's own name is the value of this real key (`model=virtio`).
    pub key_alias: Option<&'static str>,
}

/// A generated property-string struct.
pub trait PropertyString: Sized {
    /// The key that may be written without `key=`.
    const DEFAULT_KEY: Option<&'static str>;
    /// Alias keys.
    const ALIASES: &'static [Alias];
    /// The keys that are not optional, which PVE prints right after the default key.
    const REQUIRED_KEYS: &'static [&'static str];
    /// Builds the struct from `key`/`value` pairs with aliases resolved.
    fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, PropError>;
    /// Writes the set keys, checking the schema's constraints.
    fn write_pairs(&self, form: &mut Form) -> Result<(), crate::Error>;
}

/// Why a property string could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropError(pub String);

impl PropError {
    /// A required key is missing.
    pub fn missing(key: &str) -> Self {
        PropError(format!("required key `{key}` is missing"))
    }
}

impl fmt::Display for PropError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PropError {}

/// Splits `s` into pairs, resolving the default key and aliases of `P`.
pub fn split<P: PropertyString>(s: &str) -> Result<Vec<(String, String)>, PropError> {
    split_with(s, P::DEFAULT_KEY, |key| {
        P::ALIASES
            .iter()
            .find(|a| a.key == key)
            .map(|a| (a.alias.to_string(), a.key_alias.map(str::to_string)))
    })
}

/// Splits `s` into pairs: a part without `key=` belongs to `default_key`, and `alias` resolves an
/// alias key to the real key its value belongs to and, for a key alias (`virtio=MAC`), the key
/// whose value the alias key's own name is. For formats known at run time only (`args`).
pub fn split_with(
    s: &str,
    default_key: Option<&str>,
    alias: impl Fn(&str) -> Option<(String, Option<String>)>,
) -> Result<Vec<(String, String)>, PropError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match part.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => match default_key {
                Some(k) => (k, part),
                None => {
                    return Err(PropError(format!(
                        "`{part}` has no `key=` and this format has no default key"
                    )));
                }
            },
        };
        match alias(key) {
            Some((real, keyed)) => {
                if let Some(keyed) = keyed {
                    out.push((keyed, key.to_string()));
                }
                out.push((real, value.to_string()));
            }
            None => out.push((key.to_string(), value.to_string())),
        }
    }
    Ok(out)
}

/// Parses a property string into `P`.
pub fn parse<P: PropertyString>(s: &str) -> Result<P, PropError> {
    P::from_pairs(split::<P>(s)?)
}

/// A typed value of key `key`.
pub fn parse_value<T: FromStr>(key: &str, value: &str) -> Result<T, PropError> {
    value
        .parse()
        .map_err(|_| PropError(format!("key `{key}`: `{value}` is not a valid value")))
}

/// A boolean in any of PVE's spellings (`1`, `on`, `yes`, `true`, and their opposites).
pub fn parse_bool(key: &str, value: &str) -> Result<bool, PropError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Ok(true),
        "0" | "off" | "no" | "false" => Ok(false),
        _ => Err(PropError(format!(
            "key `{key}`: `{value}` is not a boolean (use 1 or 0)"
        ))),
    }
}

/// A disk size (`format: disk-size`, a disk's `size=`) as PVE prints it: qemu-server's
/// `parse_drive` (`PVE::QemuServer::Drive`, 9.2.6) reads it with `parse_size`, and
/// `print_property_string` prints every `disk-size` key with `format_size` (both pve-common's
/// `PVE::JSONSchema`, 9.2.1). The size is read as a number with an optional
/// unit (`K`, `M`, `G`, `T`, or `KiB` ... `TiB`; powers of 1024, a fraction allowed), and
/// printed in the largest unit that divides it exactly: `4096M` is `4G`, `1536M` stays `1536M`,
/// `0.5G` is `512M`, `1000` (bytes) stays `1000`. As in PVE, zero prints as `0T`. `None` when
/// the text is not a size PVE reads (it is then sent as given, for PVE to judge).
pub fn canonical_size(value: &str) -> Option<String> {
    parse_size(value).map(format_size)
}

/// A disk size in bytes, read as PVE's `parse_size` reads it (see [`canonical_size`]).
pub fn parse_size(value: &str) -> Option<u128> {
    let (number, unit) = match value.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => value.split_at(i),
        None => (value, ""),
    };
    let factor: u128 = match unit {
        "" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        _ => return None,
    };
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (i, Some(f)),
        Some(_) => return None,
        None => (number, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || int.len() > 20 {
        return None;
    }
    let whole: u128 = int.parse().ok()?;
    let mut bytes = whole.checked_mul(factor)?;
    if let Some(frac) = frac {
        // Perl multiplies the decimal number and truncates: the same, exactly, for the
        // fractions people write (`1.5G`).
        let digits = &frac[..frac.len().min(18)];
        let scale = 10u128.pow(digits.len() as u32);
        let part: u128 = digits.parse().ok()?;
        bytes = bytes.checked_add(part.checked_mul(factor)? / scale)?;
    }
    Some(bytes)
}

/// Bytes as PVE's `format_size` prints a disk size: the largest unit that divides them.
pub fn format_size(bytes: u128) -> String {
    let mut n = bytes;
    for unit in ["", "K", "M", "G"] {
        if !n.is_multiple_of(1024) {
            return format!("{n}{unit}");
        }
        n /= 1024;
    }
    format!("{n}T")
}

/// The written pairs as PVE's `print_property_string` puts them: the default key first and
/// without its name (`2048` for `current=2048`), then the required keys, then the others, each
/// group sorted by name (keys this schema does not know included); a key alias is folded back
/// (`model=virtio` and `macaddr=MAC` are `virtio=MAC`, where `model` is printed). A value of the
/// default key holding `=` keeps its name, since it would not read back otherwise.
fn canonical<P: PropertyString>(pairs: &[(String, String)]) -> Vec<String> {
    let rank = |k: &str| {
        if P::DEFAULT_KEY == Some(k) {
            0
        } else if P::REQUIRED_KEYS.contains(&k) {
            1
        } else {
            2
        }
    };
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    // Stable: several values of one key keep their order.
    order.sort_by(|&a, &b| {
        let (ka, kb) = (pairs[a].0.as_str(), pairs[b].0.as_str());
        (rank(ka), ka).cmp(&(rank(kb), kb))
    });
    let mut done = vec![false; pairs.len()];
    let mut out = Vec::with_capacity(pairs.len());
    for i in order {
        if done[i] {
            continue;
        }
        done[i] = true;
        let (k, v) = (&pairs[i].0, &pairs[i].1);
        let folded = P::ALIASES
            .iter()
            .find(|a| a.key_alias == Some(k.as_str()) && a.key == v)
            .and_then(|a| pairs.iter().position(|(k2, _)| k2 == a.alias))
            .filter(|&j| !done[j]);
        if let Some(j) = folded {
            done[j] = true;
            out.push(format!("{v}={}", pairs[j].1));
        } else if P::DEFAULT_KEY == Some(k.as_str()) && !v.contains('=') {
            out.push(v.clone());
        } else {
            out.push(format!("{k}={v}"));
        }
    }
    out
}

/// Prints `value` in PVE's canonical form (the default key bare, key aliases folded, keys in PVE's order),
/// checking its constraints: what requests send.
pub fn to_string_checked<P: PropertyString>(value: &P) -> Result<String, PropError> {
    let mut form = Form::new();
    value
        .write_pairs(&mut form)
        .map_err(|e| PropError(e.to_string()))?;
    for (k, v) in form.pairs() {
        if v.contains(',') || k.contains(',') || k.contains('=') {
            return Err(PropError(format!(
                "key `{k}`: a value in a property string cannot contain `,`"
            )));
        }
        if v.chars().any(char::is_control) {
            return Err(PropError(format!(
                "key `{k}`: a value in a property string cannot contain control characters"
            )));
        }
    }
    Ok(canonical::<P>(form.pairs()).join(","))
}

/// `Display` for property strings: PVE's canonical form of every set key, without the schema's
/// checks (those are [`to_string_checked`]'s, which requests use).
pub fn display<P: PropertyString>(value: &P, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut form = Form::unchecked();
    // An unchecked form records everything, so writing cannot stop part-way.
    let _ = value.write_pairs(&mut form);
    f.write_str(&canonical::<P>(form.pairs()).join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::{Model, Viommu};
    use crate::formats::{
        LxcMp, LxcNet, LxcRootfs, QemuAgent, QemuAmdSev, QemuBoot, QemuCicustom, QemuCpu,
        QemuHostpci, QemuIntelTdx, QemuIpconfig, QemuMachine, QemuMemory, QemuNet, QemuRng0,
        QemuScsi, QemuSmbios1, QemuWatchdog, Startup,
    };

    #[test]
    fn key_alias_form_sets_model_and_mac() {
        let net: QemuNet = "virtio=BC:24:11:10:01:00,bridge=vmbr0,firewall=1"
            .parse()
            .unwrap();
        assert_eq!(net.model, Model::Virtio);
        assert_eq!(net.macaddr.as_deref(), Some("BC:24:11:10:01:00"));
        assert_eq!(net.bridge.as_deref(), Some("vmbr0"));
        assert_eq!(net.firewall, Some(true));
        assert!(net.extra.is_empty());
    }

    #[test]
    fn default_key_and_round_trip() {
        let net: QemuNet = "e1000,bridge=vmbr1,tag=20,link_down=0".parse().unwrap();
        assert_eq!(net.model, Model::E1000);
        assert_eq!(net.link_down, Some(false));
        let text = net.to_string();
        assert_eq!(text, "e1000,bridge=vmbr1,link_down=0,tag=20");
        assert_eq!(text.parse::<QemuNet>().unwrap(), net);
        let machine: QemuMachine = "q35,viommu=virtio".parse().unwrap();
        assert_eq!(machine.r#type.as_deref(), Some("q35"));
        assert_eq!(machine.viommu, Some(Viommu::Virtio));
    }

    #[test]
    fn unknown_keys_and_values_are_kept() {
        let net: QemuNet = "model=virtio,future-key=7,bridge=vmbr0".parse().unwrap();
        assert_eq!(net.extra, vec![("future-key".to_string(), "7".to_string())]);
        assert!(net.to_string().ends_with("future-key=7"));
        let net: QemuNet = "model=newnic9000".parse().unwrap();
        assert_eq!(net.model, Model::Unlisted("newnic9000".into()));
    }

    #[test]
    fn bad_input_says_which_key() {
        let e = "virtio,firewall=maybe"
            .parse::<QemuNet>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("firewall") && e.contains("boolean"), "{e}");
        let e = "virtio,tag=ten".parse::<QemuNet>().unwrap_err().to_string();
        assert!(e.contains("tag"), "{e}");
        let e = "bridge=vmbr0".parse::<QemuNet>().unwrap_err().to_string();
        assert!(e.contains("`model` is missing"), "{e}");
        let e = "local-lvm:vm-200-disk-1,backup=1"
            .parse::<LxcMp>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("`mp` is missing"), "{e}");
    }

    /// Strings as PVE writes them into guest configs read back and print as the same text.
    #[test]
    fn real_pve_strings_print_as_pve_wrote_them() {
        fn same<P: PropertyString + FromStr<Err = PropError> + fmt::Display>(s: &str) {
            let v: P = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(v.to_string(), s);
            assert_eq!(to_string_checked(&v).unwrap(), s);
        }
        same::<QemuNet>("virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1");
        same::<QemuNet>("e1000=BC:24:11:5E:2A:07,bridge=vmbr1,link_down=1,tag=20");
        same::<QemuScsi>("local-lvm:vm-100-disk-0,iothread=1,size=32G");
        same::<QemuScsi>("local:iso/debian-13.iso,media=cdrom");
        same::<QemuMemory>("2048");
        same::<QemuAgent>("1,fstrim_cloned_disks=1");
        same::<LxcNet>(
            "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:3E:5A:1F,ip=dhcp,ip6=auto,type=veth",
        );
        same::<LxcRootfs>("local-lvm:vm-200-disk-0,size=8G");
        same::<LxcMp>("local-lvm:vm-200-disk-1,mp=/mnt/data,backup=1,size=8G");
        // The SDK's own values print the same way: the default key's value without its name.
        assert_eq!(QemuMemory::new(2048).to_string(), "2048");
        let mut net = QemuNet::new(Model::Virtio);
        net.macaddr = Some("BC:24:11:00:00:01".into());
        net.firewall = Some(true);
        net.bridge = Some("vmbr0".into());
        assert_eq!(
            net.to_string(),
            "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1"
        );
    }

    /// The formats the schema only names (`named_formats.json`), with strings from real guest
    /// configs: those PVE's printing would write as they are read back as the same text; the
    /// others (written by hand or by the web interface with the default key named, or keys in
    /// another order) print in PVE's canonical form, which reads back as the same value.
    #[test]
    fn named_formats_read_real_strings_and_print_canonically() {
        fn same<P: PropertyString + FromStr<Err = PropError> + fmt::Display>(s: &str) -> P {
            canon(s, s)
        }
        fn canon<P: PropertyString + FromStr<Err = PropError> + fmt::Display>(
            s: &str,
            printed: &str,
        ) -> P {
            let v: P = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(v.to_string(), printed, "{s}");
            assert_eq!(to_string_checked(&v).unwrap(), printed, "{s}");
            let again: P = printed.parse().unwrap();
            assert_eq!(again.to_string(), printed);
            v
        }
        let cpu: QemuCpu = same("x86-64-v2-AES,flags=+aes");
        assert_eq!(cpu.cputype.as_deref(), Some("x86-64-v2-AES"));
        assert_eq!(cpu.flags.as_deref(), Some("+aes"));
        assert!(cpu.extra.is_empty());
        let cpu: QemuCpu = canon(
            "host,hidden=1,flags=+pcid;-md-clear",
            "host,flags=+pcid;-md-clear,hidden=1",
        );
        assert_eq!(cpu.hidden, Some(true));
        same::<QemuCpu>("kvm64");
        let boot: QemuBoot = same("order=scsi0;ide2;net0");
        assert_eq!(boot.order.as_deref(), Some("scsi0;ide2;net0"));
        let boot: QemuBoot = same("cdn");
        assert_eq!(boot.legacy.as_deref(), Some("cdn"));
        let smbios: QemuSmbios1 = same("uuid=6b9a5c1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d");
        assert!(smbios.uuid.is_some());
        same::<QemuSmbios1>(
            "base64=1,manufacturer=UHJveG1veA==,uuid=6b9a5c1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d",
        );
        let pci: QemuHostpci = same("0000:01:00.0,pcie=1,x-vga=1");
        assert_eq!(pci.host.as_deref(), Some("0000:01:00.0"));
        assert_eq!((pci.pcie, pci.x_vga), (Some(true), Some(true)));
        same::<QemuHostpci>("mapping=gpu0,pcie=1");
        same::<QemuHostpci>("0000:02:00.0;0000:02:00.1,rombar=0");
        let ip: QemuIpconfig = same("ip=dhcp,ip6=auto");
        assert_eq!(ip.ip6.as_deref(), Some("auto"));
        let ip: QemuIpconfig = canon("ip=10.0.0.5/24,gw=10.0.0.1", "gw=10.0.0.1,ip=10.0.0.5/24");
        assert_eq!(ip.gw.as_deref(), Some("10.0.0.1"));
        // `startup` has `[order=]N`: the order is the default key.
        let st: Startup = canon("order=1,up=30", "1,up=30");
        assert_eq!((st.order, st.up, st.down), (Some(1), Some(30), None));
        same::<Startup>("2,down=60,up=30");
        let rng: QemuRng0 = canon("source=/dev/urandom", "/dev/urandom");
        assert_eq!(rng.source.as_str(), "/dev/urandom");
        same::<QemuRng0>("/dev/hwrng,max_bytes=2048,period=500");
        let wd: QemuWatchdog = canon("model=i6300esb,action=reset", "i6300esb,action=reset");
        assert_eq!(wd.action.as_ref().map(|a| a.as_str()), Some("reset"));
        let ci: QemuCicustom = same("user=local:snippets/u.yaml");
        assert_eq!(ci.user.as_deref(), Some("local:snippets/u.yaml"));
        same::<QemuCicustom>("network=local:snippets/n.yaml,user=local:snippets/u.yaml");
        let sev: QemuAmdSev = canon("type=snp,allow-smt=1", "snp,allow-smt=1");
        assert_eq!(sev.r#type.as_str(), "snp");
        same::<QemuAmdSev>("std,no-debug=1");
        let tdx: QemuIntelTdx = same("tdx,attestation=1");
        assert!(tdx.attestation);
        // Values PVE refuses are refused before sending: a PCI ID, a listed value, a range.
        let pci = QemuHostpci {
            host: Some("01:00.0/x".into()),
            ..QemuHostpci::default()
        };
        let e = to_string_checked(&pci).unwrap_err().to_string();
        assert!(e.contains("host"), "{e}");
        let e = "/dev/zero"
            .parse::<QemuRng0>()
            .map(|r| to_string_checked(&r));
        assert!(matches!(e, Ok(Err(_))), "{e:?}");
        let cpu = QemuCpu {
            flags: Some("aes".into()),
            ..QemuCpu::default()
        };
        assert!(
            to_string_checked(&cpu)
                .unwrap_err()
                .to_string()
                .contains("flags")
        );
        let st = Startup {
            order: Some(-1),
            ..Startup::default()
        };
        assert!(to_string_checked(&st).is_err());
        assert!("up=soon".parse::<Startup>().is_err());
        // A required key (`source` of rng0) is a constructor argument.
        assert_eq!(
            QemuRng0::new("/dev/urandom".parse().unwrap()).to_string(),
            "/dev/urandom"
        );
    }

    #[test]
    fn disk_sizes_print_as_pve_prints_them() {
        for (given, printed) in [
            ("4096M", "4G"),
            ("1536M", "1536M"),
            ("32G", "32G"),
            ("1024G", "1T"),
            ("0.5G", "512M"),
            ("1.5G", "1536M"),
            ("4GiB", "4G"),
            ("1048576", "1M"),
            ("1000", "1000"),
            ("2048K", "2M"),
            ("0", "0T"),
        ] {
            assert_eq!(canonical_size(given).as_deref(), Some(printed), "{given}");
        }
        for bad in ["", "G", "4X", "4g", "-4G", "1.G", ".5G", "4 G"] {
            assert_eq!(canonical_size(bad), None, "{bad}");
        }
        // Where sizes are printed: a disk's `size=` (Display and what requests send).
        let disk: QemuScsi = "local-lvm:vm-100-disk-0,iothread=1,size=4096M"
            .parse()
            .unwrap();
        assert_eq!(
            disk.to_string(),
            "local-lvm:vm-100-disk-0,iothread=1,size=4G"
        );
        assert_eq!(
            to_string_checked(&disk).unwrap(),
            "local-lvm:vm-100-disk-0,iothread=1,size=4G"
        );
        let rootfs: LxcRootfs = "local-lvm:vm-200-disk-0,size=1536M".parse().unwrap();
        assert_eq!(rootfs.to_string(), "local-lvm:vm-200-disk-0,size=1536M");
        // Not a size PVE reads: sent as given, for PVE to judge.
        let odd: QemuScsi = "local:iso/x.iso,size=big".parse().unwrap();
        assert_eq!(odd.to_string(), "local:iso/x.iso,size=big");
    }

    #[test]
    fn writing_checks_ranges_and_commas() {
        let mut net = QemuNet::new(Model::Virtio);
        net.mtu = Some(70000);
        let e = to_string_checked(&net).unwrap_err().to_string();
        assert!(e.contains("mtu") && e.contains("maximum"), "{e}");
        // Display still shows every key, the bad one included.
        assert_eq!(net.to_string(), "virtio,mtu=70000");
        net.mtu = None;
        net.bridge = Some("vmbr0,firewall=0".into());
        assert!(to_string_checked(&net).is_err());
    }
}
