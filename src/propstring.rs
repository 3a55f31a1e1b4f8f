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
        LxcMp, LxcNet, LxcRootfs, QemuAgent, QemuMachine, QemuMemory, QemuNet, QemuScsi,
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
