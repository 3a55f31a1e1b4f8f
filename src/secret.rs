//! A string that never shows itself in `Debug` output.

use std::fmt;

/// A secret value (password, token secret, ticket). `Debug` prints `Secret(***)`; there is no
/// `Display`. Read it with [`Secret::expose`] only where it goes on the wire.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    /// Reads a string leniently (PVE may send numbers as such).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::lenient::string(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_hides_the_value() {
        let s = super::Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn generated_parameters_hide_passwords() {
        let params = crate::api::access::password::PutParams {
            confirmation_password: Some("old-pw-42".into()),
            ..crate::api::access::password::PutParams::new("new-pw-42".into(), "alice@pve".into())
        };
        let shown = format!("{params:?}");
        assert!(shown.contains("alice@pve"), "{shown}");
        assert!(
            !shown.contains("new-pw-42") && !shown.contains("old-pw-42"),
            "{shown}"
        );
    }
}
