//! Property strings: PVE's `key=value,key=value` values (`net0=virtio,bridge=vmbr0,firewall=1`).
//!
//! The generator turns each inline `format` of the schema into a struct implementing
//! [`PropertyString`]; this module holds the parsing and printing they share: the default key
//! (`virtio` alone means `model=virtio` where `model` is the default key), key aliases
//! (`virtio=AA:BB:...` means `model=virtio,macaddr=AA:BB:...`), and PVE's boolean spellings.

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
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match part.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => match P::DEFAULT_KEY {
                Some(k) => (k, part),
                None => {
                    return Err(PropError(format!(
                        "`{part}` has no `key=` and this format has no default key"
                    )));
                }
            },
        };
        match P::ALIASES.iter().find(|a| a.key == key) {
            Some(a) => {
                if let Some(real) = a.key_alias {
                    out.push((real.to_string(), key.to_string()));
                }
                out.push((a.alias.to_string(), value.to_string()));
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

/// Prints `value`, checking its constraints; every key is written as `key=value`.
pub fn to_string_checked<P: PropertyString>(value: &P) -> Result<String, PropError> {
    let mut form = Form::new();
    value
        .write_pairs(&mut form)
        .map_err(|e| PropError(e.to_string()))?;
    let mut out = String::new();
    for (k, v) in form.pairs() {
        if v.contains(',') || k.contains(',') || k.contains('=') {
            return Err(PropError(format!(
                "key `{k}`: a value in a property string cannot contain `,`"
            )));
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    Ok(out)
}

/// `Display` for property strings: every set key as it is, without the schema's checks (those are
/// [`to_string_checked`]'s, which requests use).
pub fn display<P: PropertyString>(value: &P, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut form = Form::unchecked();
    // An unchecked form records everything, so writing cannot stop part-way.
    let _ = value.write_pairs(&mut form);
    let mut first = true;
    for (k, v) in form.pairs() {
        if !first {
            f.write_str(",")?;
        }
        first = false;
        write!(f, "{k}={v}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{LxcMp, QemuMachine, QemuMachineViommu, QemuNet, QemuNetModel};

    #[test]
    fn key_alias_form_sets_model_and_mac() {
        let net: QemuNet = "virtio=BC:24:11:10:01:00,bridge=vmbr0,firewall=1"
            .parse()
            .unwrap();
        assert_eq!(net.model, QemuNetModel::Virtio);
        assert_eq!(net.macaddr.as_deref(), Some("BC:24:11:10:01:00"));
        assert_eq!(net.bridge.as_deref(), Some("vmbr0"));
        assert_eq!(net.firewall, Some(true));
        assert!(net.extra.is_empty());
    }

    #[test]
    fn default_key_and_round_trip() {
        let net: QemuNet = "e1000,bridge=vmbr1,tag=20,link_down=0".parse().unwrap();
        assert_eq!(net.model, QemuNetModel::E1000);
        assert_eq!(net.link_down, Some(false));
        let text = net.to_string();
        assert_eq!(text, "bridge=vmbr1,link_down=0,model=e1000,tag=20");
        assert_eq!(text.parse::<QemuNet>().unwrap(), net);
        let machine: QemuMachine = "q35,viommu=virtio".parse().unwrap();
        assert_eq!(machine.r#type.as_deref(), Some("q35"));
        assert_eq!(machine.viommu, Some(QemuMachineViommu::Virtio));
    }

    #[test]
    fn unknown_keys_and_values_are_kept() {
        let net: QemuNet = "model=virtio,future-key=7,bridge=vmbr0".parse().unwrap();
        assert_eq!(net.extra, vec![("future-key".to_string(), "7".to_string())]);
        assert!(net.to_string().ends_with("future-key=7"));
        let net: QemuNet = "model=newnic9000".parse().unwrap();
        assert_eq!(net.model, QemuNetModel::Unlisted("newnic9000".into()));
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

    #[test]
    fn writing_checks_ranges_and_commas() {
        let mut net = QemuNet::new(QemuNetModel::Virtio);
        net.mtu = Some(70000);
        let e = to_string_checked(&net).unwrap_err().to_string();
        assert!(e.contains("mtu") && e.contains("maximum"), "{e}");
        // Display still shows every key, the bad one included.
        assert_eq!(net.to_string(), "model=virtio,mtu=70000");
        net.mtu = None;
        net.bridge = Some("vmbr0,firewall=0".into());
        assert!(to_string_checked(&net).is_err());
    }
}
