//! The checks of values against what the schema states, before anything is sent: ranges, lengths,
//! listed values, PVE's named formats and (Perl) patterns.
//!
//! One implementation for every way in: the generated parameter structs (through
//! [`crate::params::Form`]), JSON arguments ([`crate::args::prepare`], which the MCP tools use)
//! and path variables. A fix here fixes all three, and they word their errors alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex_lite::Regex;

use crate::Error;
use crate::catalog::StrRule;

/// PVE's named formats this SDK checks, as whole-value regular expressions (PVE's own, from
/// `PVE::JSONSchema`). Other named formats are left to PVE.
const NAMED_FORMATS: &[(&str, &str)] = &[
    ("pve-node", r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$"),
    ("pve-configid", r"^[a-zA-Z][a-zA-Z0-9_-]+$"),
    ("pve-storage-id", r"^[a-zA-Z][a-zA-Z0-9._-]*[a-zA-Z0-9]$"),
    (
        "pve-userid",
        r"^[^\s:/]+@[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]$",
    ),
    ("pve-realm", r"^[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]$"),
];

/// PVE's common named formats in words: what an error says instead of the format's id (a model
/// or a person can act on "letters, digits, `-` and `_`", not on `pve-configid`).
const FORMAT_RULES: &[(&str, &str)] = &[
    (
        "pve-configid",
        "letters, digits, `-` and `_`, starting with a letter (2 characters at least)",
    ),
    (
        "pve-node",
        "letters, digits and `-`, starting and ending with a letter or digit",
    ),
    ("pve-vmid", "an integer from 100 to 999999999"),
    (
        "pve-storage-id",
        "letters, digits, `.`, `-` and `_`, starting with a letter and ending with a letter or digit",
    ),
    (
        "pve-volume-id",
        "a volume `STORAGE:NAME`, such as `local-lvm:vm-100-disk-0` or `local:iso/debian.iso`",
    ),
    (
        "pve-tag",
        "letters, digits, `_`, `-`, `+` and `.`, starting with a letter, digit or `_`",
    ),
    (
        "pve-poolid",
        "letters, digits, `-` and `_` (nested pools: up to 3 such names joined by `/`)",
    ),
    (
        "dns-name",
        "a DNS name: letters, digits and `-` in labels joined by `.`",
    ),
    ("ip", "an IPv4 or IPv6 address"),
    (
        "mac-addr",
        "a unicast MAC address such as `BC:24:11:2A:3B:4C`",
    ),
    ("pve-userid", "`USER@REALM`, such as `alice@pve`"),
    ("pve-tokenid", "`USER@REALM!TOKEN`, such as `alice@pve!mcp`"),
    (
        "pve-realm",
        "letters, digits, `.`, `-` and `_`, starting with a letter and ending with a letter or digit",
    ),
];

/// The rule of PVE's named format `format` in words, for the common ones.
pub fn format_rule(format: &str) -> Option<&'static str> {
    FORMAT_RULES
        .iter()
        .find(|(f, _)| *f == format)
        .map(|(_, rule)| *rule)
}

fn invalid(name: &str, reason: String) -> Error {
    Error::InvalidParameter {
        name: name.to_string(),
        reason,
    }
}

/// What the schema says a string parameter must satisfy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Text<'a> {
    /// Minimum length in characters.
    pub min_length: Option<u64>,
    /// Maximum length in characters.
    pub max_length: Option<u64>,
    /// PVE's named format (`pve-node`, `pve-configid`, ...); those this SDK knows are checked.
    pub format: Option<&'a str>,
    /// PVE's (Perl) pattern the whole value must match, when this engine can compile it.
    pub pattern: Option<&'a str>,
}

/// Checks string `value` of parameter `name`: no control characters but tabs (no newlines),
/// then length, format and pattern.
pub fn check_text(name: &str, value: &str, rule: &Text) -> Result<(), Error> {
    check_controls(name, value, false)?;
    check_length(name, value, rule.min_length, rule.max_length)?;
    check_format_and_pattern(name, value, rule.format, rule.pattern)
}

/// Like [`check_text`] for a free-text parameter ([`crate::apidoc::is_free_text`]:
/// `description`, `comment`, a file's content, a PEM block), where newlines are part of the
/// value.
pub fn check_free_text(name: &str, value: &str, rule: &Text) -> Result<(), Error> {
    check_controls(name, value, true)?;
    check_length(name, value, rule.min_length, rule.max_length)?;
    check_format_and_pattern(name, value, rule.format, rule.pattern)
}

/// Refuses control characters in `value`: all but tabs, and also line breaks (`\n`, `\r`)
/// unless `lines` (free text, key material). The message names the character, never the value
/// (it may be a secret).
pub fn check_controls(name: &str, value: &str, lines: bool) -> Result<(), Error> {
    let bad = value
        .chars()
        .find(|c| c.is_control() && *c != '\t' && !(lines && matches!(c, '\n' | '\r')));
    match bad {
        None => Ok(()),
        Some(c @ ('\n' | '\r')) => Err(invalid(
            name,
            format!(
                "contains a line break (U+{:04X}); PVE takes them only in free-text parameters \
                 (description, comment, notes, file contents), and this one is not",
                c as u32
            ),
        )),
        Some(c) => Err(invalid(
            name,
            format!(
                "contains the control character U+{:04X}, which PVE's configuration files cannot \
                 hold",
                c as u32
            ),
        )),
    }
}

/// Checks one value written into a property string (`bridge` of `net1`, named `net1.bridge`):
/// no `,` (it would start another key: PVE's property strings have no escaping for it) and no
/// control characters at all (tabs included). The message never shows the value.
pub fn check_prop_value(name: &str, value: &str) -> Result<(), Error> {
    if value.contains(',') {
        return Err(invalid(
            name,
            "contains `,`, which would start another key of the property string (PVE has no \
             escaping for it); give one value per key"
                .to_string(),
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(invalid(
            name,
            format!(
                "contains the control character U+{:04X}; a property string is one line of a \
                 configuration file",
                c as u32
            ),
        ));
    }
    Ok(())
}

/// Checks the length of `value` (in characters), naming the lengths only, never the value: this
/// is the one check secrets get.
pub fn check_length(
    name: &str,
    value: &str,
    min: Option<u64>,
    max: Option<u64>,
) -> Result<(), Error> {
    let len = value.chars().count() as u64;
    if let Some(min) = min.filter(|m| len < *m) {
        return Err(invalid(
            name,
            format!("must be at least {min} characters long, got {len}"),
        ));
    }
    if let Some(max) = max.filter(|m| len > *m) {
        return Err(invalid(
            name,
            format!("must be at most {max} characters long, got {len}"),
        ));
    }
    Ok(())
}

/// Checks that `value` is one of the values the schema lists (`allowed`).
pub fn check_choice(name: &str, value: &str, allowed: &[&str]) -> Result<(), Error> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(invalid(
        name,
        format!(
            "`{}` is not one of the values this SDK's schema lists: {}",
            shown(value),
            allowed.join(", ")
        ),
    ))
}

/// Checks that `value` lies within the schema's range.
pub fn check_range(
    name: &str,
    value: f64,
    min: Option<f64>,
    max: Option<f64>,
) -> Result<(), Error> {
    if !value.is_finite() {
        return Err(invalid(name, format!("{value} is not a finite number")));
    }
    if let Some(min) = min.filter(|m| value < *m) {
        return Err(invalid(name, format!("{value} is below the minimum {min}")));
    }
    if let Some(max) = max.filter(|m| value > *m) {
        return Err(invalid(name, format!("{value} is above the maximum {max}")));
    }
    Ok(())
}

/// Checks that integer `value` lies within the schema's range.
pub fn check_int(name: &str, value: i64, min: Option<i64>, max: Option<i64>) -> Result<(), Error> {
    check_range(
        name,
        value as f64,
        min.map(|m| m as f64),
        max.map(|m| m as f64),
    )
}

/// Checks `value` of path variable `name` against `rule` (the `rest` flag is the caller's
/// business).
pub fn check_string(name: &str, value: &str, rule: &StrRule) -> Result<(), Error> {
    check_length(name, value, rule.min_length, rule.max_length)?;
    if !rule.values.is_empty() && !rule.values.contains(&value) {
        return Err(invalid(
            name,
            format!(
                "`{}` is not one of {}",
                shown(value),
                rule.values.join(", ")
            ),
        ));
    }
    check_format_and_pattern(name, value, rule.format, rule.pattern)
}

/// Checks `value` against PVE's named `format` (those this SDK knows) and its `pattern`.
pub fn check_format_and_pattern(
    name: &str,
    value: &str,
    format: Option<&str>,
    pattern: Option<&str>,
) -> Result<(), Error> {
    if let Some(format) = format
        && let Some((_, re)) = NAMED_FORMATS.iter().find(|(f, _)| *f == format)
        && let Some(re) = compiled(re)
        && !re.is_match(value)
    {
        let rule = format_rule(format).unwrap_or("the format PVE requires");
        return Err(invalid(
            name,
            format!("`{}` is not valid here; expected {rule}", shown(value)),
        ));
    }
    if let Some(pattern) = pattern
        && let Some(re) = compiled(&anchored(pattern))
        && !re.is_match(value)
    {
        return Err(invalid(
            name,
            format!(
                "`{}` does not match the pattern PVE requires: {pattern}",
                shown(value)
            ),
        ));
    }
    Ok(())
}

/// A value as shown in an error: clipped, control characters escaped.
pub(crate) fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(80)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().count() > 80 {
        out.push_str("...");
    }
    out
}

/// PVE's pattern as a whole-value regex in `regex_lite` syntax: Perl's `(?^:...)` and `(?^i:...)`
/// become `(?:...)` and `(?i:...)` (with or without Perl's `u` flag: `regex_lite` matches
/// Unicode scalar values anyway), atomic groups plain groups.
pub fn anchored(pattern: &str) -> String {
    let p = pattern
        .replace("(?^:", "(?:")
        .replace("(?^u:", "(?:")
        .replace("(?^i:", "(?i:")
        .replace("(?^ui:", "(?i:")
        .replace("(?^iu:", "(?i:")
        .replace("(?>", "(?:");
    format!("^(?:{p})$")
}

/// True when PVE's `pattern` can be checked here (it compiles as a `regex_lite` regex).
pub fn pattern_is_checked(pattern: &str) -> bool {
    compiled(&anchored(pattern)).is_some()
}

/// A compiled regex, cached; `None` for one this engine cannot compile (then PVE checks it).
fn compiled(re: &str) -> Option<Arc<Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(re.to_string())
        .or_insert_with(|| Regex::new(re).ok().map(Arc::new))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> StrRule {
        StrRule::default()
    }

    #[test]
    fn lengths_values_formats_patterns() {
        let r = StrRule {
            max_length: Some(3),
            ..rule()
        };
        assert!(check_string("x", "abc", &r).is_ok());
        let e = check_string("x", "abcd", &r).unwrap_err().to_string();
        assert!(e.contains("at most 3"), "{e}");
        let r = StrRule {
            values: &["start", "stop"],
            ..rule()
        };
        assert!(check_string("cmd", "stop", &r).is_ok());
        let e = check_string("cmd", "halt", &r).unwrap_err().to_string();
        assert!(e.contains("not one of start, stop"), "{e}");
        let node = StrRule {
            format: Some("pve-node"),
            ..rule()
        };
        assert!(check_string("node", "pve1", &node).is_ok());
        assert!(check_string("node", "pve 1", &node).is_err());
        assert!(check_string("node", "-pve", &node).is_err());
        // A format this SDK does not know is left to PVE.
        let other = StrRule {
            format: Some("pve-something-new"),
            ..rule()
        };
        assert!(check_string("x", "any thing", &other).is_ok());
        let group = StrRule {
            pattern: Some(r"[A-Za-z][A-Za-z0-9\-\_]+"),
            ..rule()
        };
        assert!(check_string("group", "web", &group).is_ok());
        let e = check_string("group", "web/0", &group)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not match the pattern"), "{e}");
        // Perl's (?^:...) form.
        let token = StrRule {
            pattern: Some(r"(?^:[A-Za-z][A-Za-z0-9\.\-_]+)"),
            ..rule()
        };
        assert!(check_string("tokenid", "ci.bot", &token).is_ok());
        assert!(check_string("tokenid", "1ci", &token).is_err());
    }

    #[test]
    fn errors_show_control_characters_escaped() {
        let r = StrRule {
            values: &["a"],
            ..rule()
        };
        let e = check_string("x", "b\n\u{0}", &r).unwrap_err().to_string();
        assert!(e.contains("b\\n\\0"), "{e}");
    }
}
