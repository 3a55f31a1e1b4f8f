//! Encoding of request parameters the way PVE wants them.
//!
//! Every parameter travels as text: booleans as `0`/`1`, arrays as repeated keys, property strings
//! as `key=value,...`. [`Form`] collects the pairs and checks the cheap constraints the schema
//! states (ranges, lengths) before anything is sent; the client puts the pairs in a
//! form-urlencoded body (POST/PUT) or in the query string (GET/DELETE).

use crate::Error;
use crate::propstring::PropertyString;
use crate::validate::{self, Text};

/// A generated parameters struct.
pub trait Params {
    /// Writes every set parameter into `form`, checking the schema's constraints.
    fn write(&self, form: &mut Form) -> Result<(), Error>;
}

/// Encoded parameters, in the order they were written.
#[derive(Clone, Default, PartialEq)]
pub struct Form {
    pairs: Vec<(String, String)>,
    /// Record values as given, skipping the schema's checks (for showing a value, not sending it).
    unchecked: bool,
}

impl std::fmt::Debug for Form {
    /// Shows the names only: values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Form {
    /// No parameters.
    pub fn new() -> Self {
        Form::default()
    }

    /// A form that records values as given, without the schema's checks: for displaying a value
    /// (`Display` of property strings), never for a request.
    pub fn unchecked() -> Self {
        Form {
            pairs: Vec::new(),
            unchecked: true,
        }
    }

    /// The pairs, for the request.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// A value that needs no checking.
    pub fn text(&mut self, name: &str, value: &str) {
        self.pairs.push((name.to_string(), value.to_string()));
    }

    /// A boolean, as `1` or `0`.
    pub fn bool(&mut self, name: &str, value: bool) {
        self.text(name, if value { "1" } else { "0" });
    }

    /// An integer within the schema's range.
    pub fn int(
        &mut self,
        name: &str,
        value: i64,
        min: Option<i64>,
        max: Option<i64>,
    ) -> Result<(), Error> {
        if !self.unchecked {
            validate::check_int(name, value, min, max)?;
        }
        self.text(name, &value.to_string());
        Ok(())
    }

    /// A number within the schema's range.
    pub fn num(
        &mut self,
        name: &str,
        value: f64,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<(), Error> {
        if !self.unchecked {
            validate::check_range(name, value, min, max)?;
        }
        self.text(name, &value.to_string());
        Ok(())
    }

    /// A string satisfying the schema's `rule` (length, named format, pattern).
    pub fn str(&mut self, name: &str, value: &str, rule: &Text) -> Result<(), Error> {
        // A disk size is sent as PVE prints it (`4096M` is `4G`).
        let size = (rule.format == Some("disk-size"))
            .then(|| crate::propstring::canonical_size(value))
            .flatten();
        let value = size.as_deref().unwrap_or(value);
        if !self.unchecked {
            validate::check_text(name, value, rule)?;
        }
        self.text(name, value);
        Ok(())
    }

    /// A free-text string (`description`, `comment`, a file's content, a PEM block: see
    /// [`crate::apidoc::is_free_text`]) satisfying the schema's `rule`; unlike [`Form::str`], it
    /// may hold line breaks.
    pub fn free_text(&mut self, name: &str, value: &str, rule: &Text) -> Result<(), Error> {
        if !self.unchecked {
            validate::check_free_text(name, value, rule)?;
        }
        self.text(name, value);
        Ok(())
    }

    /// A secret within the schema's length limits: only its length and control characters
    /// (line breaks and tabs pass: key material spans lines) are checked, and no error shows it.
    pub fn secret(
        &mut self,
        name: &str,
        value: &str,
        min: Option<u64>,
        max: Option<u64>,
    ) -> Result<(), Error> {
        if !self.unchecked {
            validate::check_controls(name, value, true)?;
            validate::check_length(name, value, min, max)?;
        }
        self.text(name, value);
        Ok(())
    }

    /// One of the values the schema lists (`allowed`); any other value (an enum's `Unlisted`) is
    /// refused, naming the parameter and the allowed values.
    pub fn choice(&mut self, name: &str, value: &str, allowed: &[&str]) -> Result<(), Error> {
        if !self.unchecked {
            validate::check_choice(name, value, allowed)?;
        }
        self.text(name, value);
        Ok(())
    }

    /// A property string (`model=virtio,bridge=vmbr0`).
    pub fn prop<P: PropertyString>(&mut self, name: &str, value: &P) -> Result<(), Error> {
        // A key's value is checked as its own parameter, `net0.tag`, as `args` checks it, and
        // must stay inside its key (no `,`, no control characters).
        if !self.unchecked {
            let mut keys = Form::new();
            value.write_pairs(&mut keys).map_err(|e| match e {
                Error::InvalidParameter { name: key, reason } => Error::InvalidParameter {
                    name: format!("{name}.{key}"),
                    reason,
                },
                other => other,
            })?;
            for (key, v) in keys.pairs() {
                validate::check_prop_value(&format!("{name}.{key}"), v)?;
            }
        }
        let text =
            crate::propstring::to_string_checked(value).map_err(|e| Error::InvalidParameter {
                name: name.to_string(),
                reason: e.to_string(),
            })?;
        self.text(name, &text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_are_checked() {
        let mut f = Form::new();
        f.bool("skiplock", true);
        f.int("timeout", 30, Some(0), None).unwrap();
        assert_eq!(
            f.pairs(),
            &[
                ("skiplock".into(), "1".into()),
                ("timeout".into(), "30".into())
            ]
        );
        let e = f.int("vmid", 5, Some(100), Some(999_999_999)).unwrap_err();
        assert!(e.to_string().contains("vmid"), "{e}");
        assert!(e.to_string().contains("below the minimum 100"), "{e}");
        let short = Text {
            max_length: Some(3),
            ..Text::default()
        };
        assert!(f.str("name", "abcdef", &short).is_err());
        let node = Text {
            format: Some("pve-node"),
            ..Text::default()
        };
        let e = f.str("target", "-bad-", &node).unwrap_err().to_string();
        assert!(
            e.contains("letters, digits and `-`, starting and ending"),
            "{e}"
        );
        let e = f
            .secret("password", "hunter2", Some(8), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 8") && !e.contains("hunter2"), "{e}");
        assert!(f.num("x", f64::NAN, None, None).is_err());
        f.choice("ostype", "l26", &["l26", "win11"]).unwrap();
        let e = f.choice("ostype", "plan9", &["l26", "win11"]).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameter { name, .. } if name == "ostype"),
            "{e:?}"
        );
        assert!(e.to_string().contains("l26, win11"), "{e}");
        let mut shown = Form::unchecked();
        shown.choice("ostype", "plan9", &["l26"]).unwrap();
        assert_eq!(shown.pairs(), &[("ostype".into(), "plan9".into())]);
    }

    #[test]
    fn debug_shows_names_only() {
        let mut f = Form::new();
        f.text("password", "hunter2");
        assert_eq!(format!("{f:?}"), "[\"password\"]");
    }
}
