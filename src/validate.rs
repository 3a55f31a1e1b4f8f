//! Checks of string values against what the schema states: length, listed values, PVE's named
//! formats and (Perl) patterns. Used for path variables before anything is sent.

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

fn invalid(name: &str, reason: String) -> Error {
    Error::InvalidParameter {
        name: name.to_string(),
        reason,
    }
}

/// Checks `value` of parameter `name` against `rule` (the `rest` flag is the caller's business).
pub fn check_string(name: &str, value: &str, rule: &StrRule) -> Result<(), Error> {
    let len = value.chars().count() as u64;
    if let Some(min) = rule.min_length.filter(|m| len < *m) {
        return Err(invalid(
            name,
            format!("must be at least {min} characters long, got {len}"),
        ));
    }
    if let Some(max) = rule.max_length.filter(|m| len > *m) {
        return Err(invalid(
            name,
            format!("must be at most {max} characters long, got {len}"),
        ));
    }
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
        return Err(invalid(
            name,
            format!("`{}` is not a valid {format}", shown(value)),
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
/// become `(?:...)` and `(?i:...)`, atomic groups plain groups.
pub fn anchored(pattern: &str) -> String {
    let p = pattern
        .replace("(?^:", "(?:")
        .replace("(?^i:", "(?i:")
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
