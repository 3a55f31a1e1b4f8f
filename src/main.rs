//! `proxmox-mcp`: command-line entry point.
//!
//! For now it lists the endpoint catalog and calls any PVE method with the SDK's client; the MCP
//! server will live here too. This binary is its own compilation unit, so editing it does not
//! recompile the generated SDK.

use std::process::ExitCode;
use std::time::Duration;

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::{self, ENDPOINTS};
use proxmox_mcp::params::Form;
use proxmox_mcp::{Client, Error, TlsMode, WaitOptions};

const USAGE: &str = "\
usage:
  proxmox-mcp endpoints [FILTER]             list the API methods (path, Rust function, permission)
  proxmox-mcp call METHOD PATH [KEY=VALUE]... [--wait]
                                             call a method, e.g. `call GET /nodes/pve1/qemu`;
                                             --wait waits for a returned task (UPID)

environment for `call`:
  PROXMOX_HOST            host name or address (required)
  PROXMOX_PORT            port (default 8006)
  PROXMOX_TOKEN           API token: PVEAPIToken=USER@REALM!ID=SECRET or USER@REALM!ID=SECRET
  PROXMOX_USER            USER@REALM, with PROXMOX_TOKEN_NAME + PROXMOX_TOKEN_VALUE, or PROXMOX_PASSWORD
  PROXMOX_SSL_MODE        strict (default) | insecure
  PROXMOX_CA_FILE         trust only this CA (PEM), e.g. PVE's pve-root-ca.pem
  PROXMOX_FINGERPRINT     pin the server certificate's SHA-256 fingerprint (AB:CD:...)
  PROXMOX_TIMEOUT         request timeout in seconds (default 30)";

/// Logs go to stderr (stdout is for results, and for the MCP protocol), filtered by `RUST_LOG`
/// (default: warnings and errors).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The longest request timeout accepted from `PROXMOX_TIMEOUT` (a day).
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// Seconds from `PROXMOX_TIMEOUT`: a positive, finite number up to a day.
fn parse_timeout(text: &str) -> Result<Duration, Error> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= MAX_TIMEOUT_SECS)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| Error::Config {
            message: format!(
                "PROXMOX_TIMEOUT `{text}` is not a number of seconds between 0 and {MAX_TIMEOUT_SECS}"
            ),
        })
}

fn main() -> ExitCode {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("endpoints") => {
            list_endpoints(args.get(1).map(String::as_str));
            Ok(())
        }
        Some("call") => run_call(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing command\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn list_endpoints(filter: Option<&str>) {
    for e in ENDPOINTS.iter() {
        let line = format!("{:<6} {:<60} {}", e.method.as_str(), e.path, e.rust_fn);
        if filter.is_some_and(|f| !line.contains(f)) {
            continue;
        }
        let mut flags = Vec::new();
        if e.returns_task {
            flags.push("task");
        }
        if !e.allowtoken {
            flags.push("no-token");
        }
        if e.protected {
            flags.push("protected");
        }
        println!("{line}  [{}] {}", flags.join(","), e.permission);
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn client_from_env() -> Result<Client, Error> {
    let host = env("PROXMOX_HOST").ok_or_else(|| Error::Config {
        message: "PROXMOX_HOST is not set".to_string(),
    })?;
    let mut b = Client::builder(&host);
    if let Some(port) = env("PROXMOX_PORT") {
        b = b.port(port.parse().map_err(|_| Error::Config {
            message: format!("PROXMOX_PORT `{port}` is not a port number"),
        })?);
    }
    if let Some(t) = env("PROXMOX_TIMEOUT") {
        b = b.timeout(parse_timeout(&t)?);
    }
    b = if let Some(token) = env("PROXMOX_TOKEN") {
        b.token(&token)?
    } else if let (Some(user), Some(name), Some(value)) = (
        env("PROXMOX_USER"),
        env("PROXMOX_TOKEN_NAME"),
        env("PROXMOX_TOKEN_VALUE"),
    ) {
        b.auth(proxmox_mcp::Auth::Token(proxmox_mcp::ApiToken::new(
            &user, &name, &value,
        )?))
    } else if let (Some(user), Some(pw)) = (env("PROXMOX_USER"), env("PROXMOX_PASSWORD")) {
        b.password(&user, &pw)?
    } else {
        return Err(Error::Config {
            message: "no credentials: set PROXMOX_TOKEN, or PROXMOX_USER with PROXMOX_TOKEN_NAME \
                      and PROXMOX_TOKEN_VALUE, or PROXMOX_USER with PROXMOX_PASSWORD"
                .to_string(),
        });
    };
    let tls = if let Some(fp) = env("PROXMOX_FINGERPRINT") {
        TlsMode::Fingerprint(fp)
    } else if let Some(ca) = env("PROXMOX_CA_FILE") {
        TlsMode::CaFile(ca.into())
    } else {
        match env("PROXMOX_SSL_MODE").as_deref() {
            None | Some("strict") => TlsMode::Strict,
            Some("insecure") => TlsMode::Insecure,
            Some(other) => {
                return Err(Error::Config {
                    message: format!(
                        "PROXMOX_SSL_MODE `{other}` is not strict or insecure; for a self-signed \
                         certificate set PROXMOX_FINGERPRINT or PROXMOX_CA_FILE"
                    ),
                });
            }
        }
    };
    b.tls(tls).build()
}

fn run_call(args: &[String]) -> Result<(), String> {
    let (Some(method), Some(path)) = (args.first(), args.get(1)) else {
        return Err(format!("call needs METHOD and PATH\n{USAGE}"));
    };
    let method = HttpMethod::parse(method)
        .ok_or_else(|| format!("`{method}` is not GET, POST, PUT or DELETE"))?;
    let mut form = Form::new();
    let mut wait = false;
    for a in &args[2..] {
        if a == "--wait" {
            wait = true;
            continue;
        }
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| format!("`{a}` is not KEY=VALUE"))?;
        form.text(k, v);
    }
    let client = client_from_env().map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async {
        let data = client
            .request(method, path, form)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "{}",
            serde_json::to_string_pretty(&data).unwrap_or_default()
        );
        let is_task = catalog::find(method, path).is_some_and(|e| e.returns_task);
        if let (true, true, Some(upid)) = (wait, is_task, data.as_str()) {
            let outcome = client
                .wait_task(upid, WaitOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("task {}: {}", outcome.upid, outcome.exit_status);
            for line in &outcome.log_tail {
                eprintln!("  {line}");
            }
            if !outcome.success {
                return Err("the task failed".to_string());
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_checked_not_panicking() {
        assert_eq!(parse_timeout("2.5").unwrap(), Duration::from_millis(2500));
        for bad in ["inf", "1e20", "NaN", "-1", "0", "soon"] {
            let e = parse_timeout(bad).unwrap_err().to_string();
            assert!(e.contains("PROXMOX_TIMEOUT"), "{bad}: {e}");
        }
    }
}
