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

/// `Display` for property strings: as [`to_string_checked`], but without failing.
pub fn display<P: PropertyString>(value: &P, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut form = Form::new();
    // Constraint errors surface in `to_string_checked`; Display shows what is there.
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
