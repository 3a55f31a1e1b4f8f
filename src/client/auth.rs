//! Credentials: API tokens in every form the seeds accept, and ticket (password) login state.

use std::fmt;
use std::time::Instant;

use crate::{Error, Secret};

/// A PVE API token: `USER@REALM!TOKENID` and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    user: String,
    token_id: String,
    secret: Secret,
}

impl ApiToken {
    /// A token from its parts: user (`root@pam`), token name (`homelab`) and secret.
    pub fn new(user: &str, token_id: &str, secret: &str) -> Result<Self, Error> {
        let user = user.trim();
        let token_id = token_id.trim();
        let secret = secret.trim();
        if !user.contains('@') || user.starts_with('@') || user.ends_with('@') {
            return Err(config(format!(
                "token user `{user}` must be USER@REALM, such as root@pam"
            )));
        }
        if token_id.is_empty() || token_id.contains(['!', '=', ' ']) {
            return Err(config(
                "the token name must be non-empty without `!`, `=` or spaces".to_string(),
            ));
        }
        if secret.is_empty() {
            return Err(config("the token secret is empty".to_string()));
        }
        Ok(ApiToken {
            user: user.to_string(),
            token_id: token_id.to_string(),
            secret: Secret::new(secret),
        })
    }

    /// Parses `PVEAPIToken=USER@REALM!TOKENID=SECRET` or `USER@REALM!TOKENID=SECRET`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let s = s.strip_prefix("Authorization:").map(str::trim).unwrap_or(s);
        let body = s.strip_prefix("PVEAPIToken=").unwrap_or(s);
        let Some((id, secret)) = body.split_once('=') else {
            return Err(config(
                "an API token must look like USER@REALM!TOKENID=SECRET \
                 (optionally prefixed with PVEAPIToken=)"
                    .to_string(),
            ));
        };
        let Some((user, token_id)) = id.split_once('!') else {
            return Err(config(format!(
                "the token id `{id}` lacks `!TOKENID`: the form is USER@REALM!TOKENID=SECRET"
            )));
        };
        ApiToken::new(user, token_id, secret)
    }

    /// `USER@REALM!TOKENID`.
    pub fn full_id(&self) -> String {
        format!("{}!{}", self.user, self.token_id)
    }

    /// The `Authorization` header value.
    pub(crate) fn header(&self) -> String {
        format!("PVEAPIToken={}={}", self.full_id(), self.secret.expose())
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.full_id())
            .field("secret", &self.secret)
            .finish()
    }
}

fn config(message: String) -> Error {
    Error::Config { message }
}

/// How the client authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// An API token (preferred: no login, no CSRF token, no expiry to manage).
    Token(ApiToken),
    /// User and password: the client logs in for a ticket, sends the CSRF token on writes,
    /// renews the ticket before it expires and once more when PVE answers 401.
    Password {
        /// `USER@REALM`, such as `root@pam`.
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Auth {
    /// User and password authentication; `username` must include the realm.
    pub fn password(username: &str, password: &str) -> Result<Self, Error> {
        if !username.contains('@') {
            return Err(config(format!(
                "user `{username}` must include the realm, such as {username}@pam"
            )));
        }
        Ok(Auth::Password {
            username: username.to_string(),
            password: Secret::new(password),
        })
    }
}

/// A ticket from `POST /access/ticket`.
#[derive(Clone)]
pub(crate) struct Ticket {
    pub cookie: Secret,
    pub csrf: Secret,
    pub obtained: Instant,
    /// Which login of this client obtained it (1, 2, ...).
    pub generation: u64,
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("obtained", &self.obtained)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_forms() {
        for s in [
            "PVEAPIToken=root@pam!homelab=0f1e-secret",
            "root@pam!homelab=0f1e-secret",
            " Authorization: PVEAPIToken=root@pam!homelab=0f1e-secret ",
        ] {
            let t = ApiToken::parse(s).unwrap();
            assert_eq!(t.full_id(), "root@pam!homelab");
            assert_eq!(t.header(), "PVEAPIToken=root@pam!homelab=0f1e-secret");
        }
        let t = ApiToken::new("root@pam", "homelab", "0f1e-secret").unwrap();
        assert_eq!(t.header(), "PVEAPIToken=root@pam!homelab=0f1e-secret");
    }

    #[test]
    fn bad_tokens_say_what_is_wrong_without_the_secret() {
        let e = ApiToken::parse("root@pam=topsecret")
            .unwrap_err()
            .to_string();
        assert!(e.contains("!TOKENID"), "{e}");
        assert!(!e.contains("topsecret"), "{e}");
        let e = ApiToken::parse("justsomething").unwrap_err().to_string();
        assert!(e.contains("USER@REALM!TOKENID=SECRET"), "{e}");
        assert!(ApiToken::parse("root!id=x").is_err());
        assert!(ApiToken::parse("root@pam!id=").is_err());
    }

    #[test]
    fn debug_hides_secrets() {
        let t = ApiToken::parse("root@pam!ci=topsecret").unwrap();
        let d = format!("{t:?}");
        assert!(d.contains("root@pam!ci") && !d.contains("topsecret"), "{d}");
        let a = Auth::password("root@pam", "hunter2").unwrap();
        assert!(!format!("{a:?}").contains("hunter2"));
        assert!(Auth::password("root", "x").is_err());
    }
}
