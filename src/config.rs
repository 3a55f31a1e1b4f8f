//! Settings of the binary from the environment variables of both seeds, read the same way by
//! every command that talks to PVE.

use std::path::PathBuf;
use std::time::Duration;

use proxmox_mcp::{ApiToken, Auth, Client, TlsMode};

/// The variables read, with what each does; `--help` prints this.
pub const ENV_HELP: &str = "\
environment:
  PROXMOX_HOST            host name or address of a PVE node (required)
  PROXMOX_PORT            port (default 8006)
  PROXMOX_TOKEN           API token: PVEAPIToken=USER@REALM!ID=SECRET or USER@REALM!ID=SECRET
  PROXMOX_USER            user (root, or root@pam) for PROXMOX_TOKEN_NAME/_VALUE or PROXMOX_PASSWORD
  PROXMOX_REALM           realm of PROXMOX_USER when it has none (default pam)
  PROXMOX_TOKEN_NAME      token id (mcp, or USER@REALM!mcp), with PROXMOX_TOKEN_VALUE (its secret)
  PROXMOX_PASSWORD        password of PROXMOX_USER (ticket login), when no token is set
  PROXMOX_SSL_MODE        strict (default: system roots) | verify (system roots plus
                          PROXMOX_SSL_CA_CERT) | insecure (no verification: do not)
  PROXMOX_SSL_CA_CERT     CA certificate (PEM), e.g. PVE's /etc/pve/pve-root-ca.pem; with strict,
                          the only trusted CA; with verify, trusted beside the system roots
  PROXMOX_VERIFY_SSL      false is the same as PROXMOX_SSL_MODE=insecure (seed 000's verify_ssl)
  PROXMOX_FINGERPRINT     pin the certificate's SHA-256 fingerprint (AB:CD:...), as Proxmox's
                          tools do; wins over the other TLS settings
  PROXMOX_TIMEOUT         request timeout in seconds (default 30, at most 86400)
  PROXMOX_ALLOW_ELEVATED  true allows writes (POST/PUT/DELETE); false (default) refuses them
  PROXMOX_MCP_HTTP_TOKEN  serve --http: the bearer token clients must send (required, at least 16
                          characters; or PROXMOX_MCP_HTTP_TOKEN_FILE / --http-token-file PATH)
  PROXMOX_MCP_HTTP_TOKEN_FILE       serve --http: file holding the bearer token
  PROXMOX_MCP_HTTP_ALLOWED_ORIGINS  serve --http: browser origins allowed besides
                          http://localhost, http://127.0.0.1 and http://[::1] (comma-separated)
  PROXMOX_MCP_HTTP_ALLOWED_HOSTS    serve --http: Host names allowed besides loopback names and
                          the bind address (comma-separated)
  RUST_LOG                log filter for stderr (default warn)";

/// How to reach and authenticate to one PVE server, and what the server may do there.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Credentials.
    pub auth: Auth,
    /// Certificate checking.
    pub tls: TlsMode,
    /// Request timeout.
    pub timeout: Duration,
    /// Writes allowed.
    pub allow_elevated: bool,
}

/// The longest request timeout accepted (a day).
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// Seconds from `PROXMOX_TIMEOUT`: a positive, finite number up to a day.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= MAX_TIMEOUT_SECS)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            format!(
                "PROXMOX_TIMEOUT `{text}` is not a number of seconds between 0 and {MAX_TIMEOUT_SECS}"
            )
        })
}

/// A boolean setting: `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`; anything else is an error
/// rather than a silent "false".
pub fn parse_bool(name: &str, text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "{name} `{text}` is neither true nor false (use true or false)"
        )),
    }
}

impl Settings {
    /// Reads the settings; `get` returns a variable's value (trimmed, `None` when unset or
    /// empty). `allow_elevated_flag` is `--allow-elevated`.
    pub fn from_vars(
        get: &dyn Fn(&str) -> Option<String>,
        allow_elevated_flag: bool,
    ) -> Result<Settings, String> {
        let host = get("PROXMOX_HOST")
            .ok_or("PROXMOX_HOST is not set: set it to the host name or address of a PVE node")?;
        let port = match get("PROXMOX_PORT") {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("PROXMOX_PORT `{p}` is not a port number"))?,
            None => proxmox_mcp::client::DEFAULT_PORT,
        };
        let timeout = match get("PROXMOX_TIMEOUT") {
            Some(t) => parse_timeout(&t)?,
            None => proxmox_mcp::client::DEFAULT_TIMEOUT,
        };
        let allow_elevated = allow_elevated_flag
            || match get("PROXMOX_ALLOW_ELEVATED") {
                Some(v) => parse_bool("PROXMOX_ALLOW_ELEVATED", &v)?,
                None => false,
            };
        Ok(Settings {
            host,
            port,
            auth: auth(get)?,
            tls: tls(get)?,
            timeout,
            allow_elevated,
        })
    }

    /// From the process environment.
    pub fn from_env(allow_elevated_flag: bool) -> Result<Settings, String> {
        let get = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Settings::from_vars(&get, allow_elevated_flag)
    }

    /// An SDK client for these settings.
    pub fn client(&self) -> Result<Client, String> {
        Client::builder(&self.host)
            .port(self.port)
            .auth(self.auth.clone())
            .tls(self.tls.clone())
            .timeout(self.timeout)
            .build()
            .map_err(|e| e.to_string())
    }
}

/// `USER@REALM` from `PROXMOX_USER` and `PROXMOX_REALM`.
fn user(get: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let user = get("PROXMOX_USER")?;
    Some(if user.contains('@') {
        user
    } else {
        format!(
            "{user}@{}",
            get("PROXMOX_REALM").unwrap_or_else(|| "pam".into())
        )
    })
}

fn auth(get: &dyn Fn(&str) -> Option<String>) -> Result<Auth, String> {
    let e = |e: proxmox_mcp::Error| e.to_string();
    if let Some(token) = get("PROXMOX_TOKEN") {
        return ApiToken::parse(&token).map(Auth::Token).map_err(e);
    }
    if let Some(name) = get("PROXMOX_TOKEN_NAME") {
        let value = get("PROXMOX_TOKEN_VALUE").ok_or(
            "PROXMOX_TOKEN_NAME is set but PROXMOX_TOKEN_VALUE (the token's secret) is not",
        )?;
        let token = match name.split_once('!') {
            Some((u, id)) => ApiToken::new(u, id, &value),
            None => {
                let u = user(get).ok_or(
                    "PROXMOX_TOKEN_NAME needs PROXMOX_USER (the token's owner, such as root@pam), \
                     or give it as USER@REALM!TOKENID",
                )?;
                ApiToken::new(&u, &name, &value)
            }
        };
        return token.map(Auth::Token).map_err(e);
    }
    if let Some(pw) = get("PROXMOX_PASSWORD") {
        let u = user(get).ok_or("PROXMOX_PASSWORD is set but PROXMOX_USER is not")?;
        return Auth::password(&u, &pw).map_err(e);
    }
    Err(
        "no credentials: set PROXMOX_TOKEN (USER@REALM!TOKENID=SECRET), or PROXMOX_USER with \
         PROXMOX_TOKEN_NAME and PROXMOX_TOKEN_VALUE, or PROXMOX_USER with PROXMOX_PASSWORD"
            .to_string(),
    )
}

fn tls(get: &dyn Fn(&str) -> Option<String>) -> Result<TlsMode, String> {
    if let Some(fp) = get("PROXMOX_FINGERPRINT") {
        proxmox_mcp::client::parse_fingerprint(&fp).map_err(|e| e.to_string())?;
        return Ok(TlsMode::Fingerprint(fp));
    }
    let ca = get("PROXMOX_SSL_CA_CERT")
        .or_else(|| get("PROXMOX_CA_FILE"))
        .map(PathBuf::from);
    let verify_ssl = get("PROXMOX_VERIFY_SSL")
        .map(|v| parse_bool("PROXMOX_VERIFY_SSL", &v))
        .transpose()?;
    let mode = get("PROXMOX_SSL_MODE").map(|m| m.to_ascii_lowercase());
    let mode = match (mode.as_deref(), verify_ssl) {
        (Some("insecure"), Some(true)) | (Some("strict" | "verify"), Some(false)) => {
            return Err(format!(
                "PROXMOX_SSL_MODE={} contradicts PROXMOX_VERIFY_SSL={}: set one of them",
                mode.unwrap_or_default(),
                verify_ssl.unwrap_or_default()
            ));
        }
        (Some(m), _) => m.to_string(),
        (None, Some(false)) => "insecure".to_string(),
        (None, _) => "strict".to_string(),
    };
    match (mode.as_str(), ca) {
        ("strict", None) => Ok(TlsMode::Strict),
        ("strict", Some(ca)) => Ok(TlsMode::CaFile(ca)),
        ("verify", ca) => Ok(TlsMode::Verify(ca)),
        ("insecure", _) => Ok(TlsMode::Insecure),
        (other, _) => Err(format!(
            "PROXMOX_SSL_MODE `{other}` is not strict, verify or insecure; for PVE's self-signed \
             certificate set PROXMOX_FINGERPRINT (or PROXMOX_SSL_CA_CERT to pve-root-ca.pem)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, String> {
        let owned: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = move |name: &str| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        Settings::from_vars(&get, false)
    }

    const HOST: (&str, &str) = ("PROXMOX_HOST", "pve.example.com");
    const TOKEN: (&str, &str) = ("PROXMOX_TOKEN", "root@pam!mcp=s3cr3t-value");

    #[test]
    fn credentials_in_every_seed_form() {
        for vars in [
            vec![HOST, TOKEN],
            vec![
                HOST,
                ("PROXMOX_TOKEN", "PVEAPIToken=root@pam!mcp=s3cr3t-value"),
            ],
            vec![
                HOST,
                ("PROXMOX_USER", "root"),
                ("PROXMOX_REALM", "pam"),
                ("PROXMOX_TOKEN_NAME", "mcp"),
                ("PROXMOX_TOKEN_VALUE", "s3cr3t-value"),
            ],
            vec![
                HOST,
                ("PROXMOX_TOKEN_NAME", "root@pam!mcp"),
                ("PROXMOX_TOKEN_VALUE", "s3cr3t-value"),
            ],
        ] {
            let s = settings(&vars).unwrap();
            match &s.auth {
                Auth::Token(t) => assert_eq!(t.full_id(), "root@pam!mcp"),
                other => panic!("{other:?}"),
            }
            assert!(!format!("{s:?}").contains("s3cr3t"));
        }
        let s = settings(&[
            HOST,
            ("PROXMOX_USER", "alice"),
            ("PROXMOX_REALM", "pve"),
            ("PROXMOX_PASSWORD", "pw"),
        ])
        .unwrap();
        assert!(matches!(&s.auth, Auth::Password { username, .. } if username == "alice@pve"));
        let e = settings(&[HOST]).unwrap_err();
        assert!(e.contains("no credentials"), "{e}");
        let e = settings(&[TOKEN]).unwrap_err();
        assert!(e.contains("PROXMOX_HOST"), "{e}");
        let e = settings(&[HOST, ("PROXMOX_TOKEN_NAME", "mcp")]).unwrap_err();
        assert!(e.contains("PROXMOX_TOKEN_VALUE"), "{e}");
    }

    #[test]
    fn tls_modes() {
        let tls = |extra: &[(&str, &str)]| {
            let mut v = vec![HOST, TOKEN];
            v.extend_from_slice(extra);
            settings(&v).map(|s| s.tls)
        };
        assert_eq!(tls(&[]).unwrap(), TlsMode::Strict);
        assert_eq!(
            tls(&[("PROXMOX_SSL_CA_CERT", "/ca.pem")]).unwrap(),
            TlsMode::CaFile("/ca.pem".into())
        );
        assert_eq!(
            tls(&[
                ("PROXMOX_SSL_MODE", "verify"),
                ("PROXMOX_SSL_CA_CERT", "/ca.pem")
            ])
            .unwrap(),
            TlsMode::Verify(Some("/ca.pem".into()))
        );
        assert_eq!(
            tls(&[("PROXMOX_SSL_MODE", "verify")]).unwrap(),
            TlsMode::Verify(None)
        );
        assert_eq!(
            tls(&[("PROXMOX_VERIFY_SSL", "false")]).unwrap(),
            TlsMode::Insecure
        );
        let fp = "AB:".repeat(31) + "AB";
        assert_eq!(
            tls(&[
                ("PROXMOX_FINGERPRINT", &fp),
                ("PROXMOX_SSL_MODE", "insecure")
            ])
            .unwrap(),
            TlsMode::Fingerprint(fp.clone())
        );
        let e = tls(&[
            ("PROXMOX_SSL_MODE", "strict"),
            ("PROXMOX_VERIFY_SSL", "false"),
        ])
        .unwrap_err();
        assert!(e.contains("contradicts"), "{e}");
        let e = tls(&[("PROXMOX_SSL_MODE", "loose")]).unwrap_err();
        assert!(e.contains("strict, verify or insecure"), "{e}");
        assert!(tls(&[("PROXMOX_FINGERPRINT", "AB:CD")]).is_err());
    }

    #[test]
    fn elevation_and_numbers() {
        let s = |extra: &[(&str, &str)]| {
            let mut v = vec![HOST, TOKEN];
            v.extend_from_slice(extra);
            settings(&v)
        };
        assert!(!s(&[]).unwrap().allow_elevated);
        assert!(
            s(&[("PROXMOX_ALLOW_ELEVATED", "true")])
                .unwrap()
                .allow_elevated
        );
        assert!(
            !s(&[("PROXMOX_ALLOW_ELEVATED", "0")])
                .unwrap()
                .allow_elevated
        );
        let e = s(&[("PROXMOX_ALLOW_ELEVATED", "yes please")]).unwrap_err();
        assert!(e.contains("PROXMOX_ALLOW_ELEVATED"), "{e}");
        let e = s(&[("PROXMOX_PORT", "99999")]).unwrap_err();
        assert!(e.contains("PROXMOX_PORT"), "{e}");
        assert_eq!(parse_timeout("2.5").unwrap(), Duration::from_millis(2500));
        for bad in ["inf", "1e20", "NaN", "-1", "0", "soon"] {
            let e = parse_timeout(bad).unwrap_err();
            assert!(e.contains("PROXMOX_TIMEOUT"), "{bad}: {e}");
        }
    }
}
