//! `proxmox-mcp`: the command line.
//!
//! `serve` runs the MCP server on stdio; `tools` shows its tools and what they cost; `endpoints`
//! lists the API methods of the vendored schema; `call` calls any of them with the SDK's client;
//! `audit verify` checks an audit log's chain.
//! This binary is its own compilation unit, so editing it (or a tool) does not recompile the
//! generated SDK.

mod audit;
mod config;
mod demo;
mod doctor;
mod mcp;
mod tools_cmd;
mod utc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use proxmox_mcp::WaitOptions;
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::{self, ENDPOINTS};
use proxmox_mcp::params::Form;

use config::{Config, Options};

/// The version line: the crate's version and the PVE release of the schema it was generated from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (PVE API schema ",
    env!("PROXMOX_MCP_SCHEMA_VERSION"),
    ")"
);

/// A typed Proxmox VE SDK and an MCP server built on it.
#[derive(Parser)]
#[command(version = VERSION, about, after_help = config::ENV_HELP)]
struct Cli {
    /// Configuration file: the `servers` JSON format of the ProxmoxMCP family of servers, or the
    /// same in TOML (default: PROXMOX_MCP_CONFIG, else the PROXMOX_* variables alone).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log lines on stderr as text or as JSON objects (filter with RUST_LOG).
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the MCP server on stdin/stdout, or over HTTP with --http (logs go to stderr).
    #[command(after_help = config::ENV_HELP)]
    Serve {
        /// Allow writes (POST, PUT, DELETE); the same as PROXMOX_ALLOW_ELEVATED=true.
        #[arg(long)]
        allow_elevated: bool,
        /// Leave every tool that changes something out of tools/list, whatever else is set.
        #[arg(long)]
        read_only: bool,
        #[command(flatten)]
        tools: tools_cmd::ToolArgs,
        /// The server tools use when a call names none (default: the file's `default`, else
        /// its first server).
        #[arg(long, value_name = "NAME")]
        server: Option<String>,
        /// How the person confirms destructive calls on every server: ask (refuse when the
        /// client cannot ask), ask-or-allow, or off; only ever stricter than a server's own
        /// `confirm` in the file (the same as PROXMOX_CONFIRM).
        #[arg(long, value_name = "VALUE")]
        confirm: Option<String>,
        /// Append an audit record of every write to this file (the same as
        /// PROXMOX_MCP_AUDIT_LOG; over `audit_log` in the file).
        #[arg(long, value_name = "PATH")]
        audit_log: Option<PathBuf>,
        /// Serve a simulated two-node cluster from inside this process: no Proxmox and no
        /// settings needed (the same as PROXMOX_DEMO=true). Writes still need --allow-elevated.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        http: mcp::http::HttpArgs,
    },
    /// Check the way to a server step by step: configuration, DNS, TCP, TLS (prints the
    /// certificate's fingerprint), authentication, PVE version, privileges. Exits non-zero when a
    /// step fails.
    #[command(after_help = config::ENV_HELP)]
    Doctor {
        /// The configured server to check (default: the default server).
        #[arg(long, value_name = "NAME")]
        server: Option<String>,
    },
    /// Show the MCP tools with their size in tools/list, and the total per toolset.
    Tools {
        #[command(flatten)]
        tools: tools_cmd::ToolArgs,
        /// Leave out the tools that change something, as `serve --read-only` does.
        #[arg(long)]
        read_only: bool,
        /// Print the tools/list JSON instead.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print docs/TOOLS.md instead.
        #[arg(long)]
        markdown: bool,
    },
    /// List the API methods of the vendored schema: path, Rust function, flags, permission.
    Endpoints {
        /// Show only lines containing this text (such as qemu/{vmid}/status).
        filter: Option<String>,
    },
    /// Call one API method, such as `call GET /nodes/pve1/qemu`; prints the answer's data.
    #[command(after_help = config::ENV_HELP)]
    Call {
        /// GET, POST, PUT or DELETE.
        method: String,
        /// The concrete path, such as /nodes/pve1/qemu/100/status/start.
        path: String,
        /// Parameters as KEY=VALUE.
        params: Vec<String>,
        /// Wait for the task a write starts (UPID) and print how it ended.
        #[arg(long)]
        wait: bool,
        /// Allow writes (POST, PUT, DELETE); the same as PROXMOX_ALLOW_ELEVATED=true.
        #[arg(long)]
        allow_elevated: bool,
        /// The configured server to call (default: the default server).
        #[arg(long, value_name = "NAME")]
        server: Option<String>,
    },
    /// Work with the audit log of write attempts.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check an audit log's hash chain: prints `ok: N lines, chain intact`, or names the first
    /// bad line and why and exits 1.
    Verify {
        /// The audit log file.
        path: PathBuf,
    },
}

/// Logs go to stderr (stdout is for results, and for the MCP protocol), filtered by `RUST_LOG`
/// (default: warnings and errors).
///
/// rmcp logs every request's arguments and every result in full at DEBUG (`rmcp::service`),
/// which would put passwords given to tools and answers before redaction in the log. Its events
/// below INFO are dropped whatever `RUST_LOG` says; the server logs each call itself, without
/// argument values (`mcp::server`).
fn init_logging(format: LogFormat) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let quiet_rmcp = tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.target().starts_with("rmcp") && *meta.level() > tracing::Level::INFO)
    });
    // Colour only on a terminal: Claude Desktop and others write stderr to a file.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.finish().with(quiet_rmcp).init(),
        LogFormat::Json => logs.json().finish().with(quiet_rmcp).init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let config = cli.config;
    let result = match cli.command {
        Command::Serve {
            allow_elevated,
            read_only,
            tools,
            server,
            confirm,
            audit_log,
            demo,
            http,
        } => {
            let opts = Options {
                config,
                server,
                allow_elevated,
                read_only,
                confirm,
                audit_log,
            };
            run_serve(&opts, &tools, demo, &http)
        }
        Command::Tools {
            tools,
            read_only,
            json,
            markdown,
        } => tools.selection().map(|selection| {
            let tools = mcp::tools::select(&selection, read_only, &[]);
            if json {
                println!("{}", tools_cmd::json(&tools));
            } else if markdown {
                print!("{}", tools_cmd::markdown());
            } else {
                print!("{}", tools_cmd::table(&tools));
            }
        }),
        Command::Doctor { server } => {
            let opts = Options {
                config,
                server,
                ..Options::default()
            };
            // The report is on stdout; a failed step is its own message.
            return if doctor::run(Config::from_env(&opts)) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Command::Endpoints { filter } => {
            list_endpoints(filter.as_deref());
            Ok(())
        }
        Command::Call {
            method,
            path,
            params,
            wait,
            allow_elevated,
            server,
        } => {
            let opts = Options {
                config,
                server,
                allow_elevated,
                ..Options::default()
            };
            run_call(&method, &path, &params, wait, &opts)
        }
        Command::Audit {
            action: AuditAction::Verify { path },
        } => match audit::verify(&path) {
            Ok(report) => {
                return match report.first_bad {
                    None => {
                        println!("ok: {} lines, chain intact", report.lines);
                        if report.lines > 0 {
                            println!("last line's SHA-256: {}", report.last_hash);
                        }
                        ExitCode::SUCCESS
                    }
                    Some((line, why)) => {
                        println!("line {line}: {why}");
                        ExitCode::FAILURE
                    }
                };
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A runtime for one command: one thread is plenty for an MCP server on stdio.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// The configuration, with its warnings logged.
fn load_config(opts: &Options) -> Result<Config, String> {
    let config = Config::from_env(opts)?;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    Ok(config)
}

fn run_serve(
    opts: &Options,
    tools: &tools_cmd::ToolArgs,
    demo: bool,
    http: &mcp::http::HttpArgs,
) -> Result<(), String> {
    let selection = tools.selection()?;
    // The HTTP settings are checked first: a missing bearer token stops start-up at once.
    let http = http.options()?;
    let demo = demo
        || config::env_var("PROXMOX_DEMO")
            .map(|v| config::parse_bool("PROXMOX_DEMO", &v))
            .transpose()?
            .unwrap_or(false);
    // Without --demo the configuration is read before anything starts.
    let config = if demo { None } else { Some(load_config(opts)?) };
    let rt = runtime()?;
    rt.block_on(async {
        let config = match config {
            Some(c) => c,
            None => start_demo(opts).await?,
        };
        let server = mcp::server::Server::new(&config, &selection)?;
        let d = config.default_cluster();
        tracing::info!(
            servers = config.clusters.len(),
            default = d.name,
            host = d.settings.host,
            elevated = d.settings.allow_elevated,
            read_only = d.settings.read_only,
            confirm = %d.settings.confirm,
            audit_log = config.audit_log.as_ref().map(|(p, _)| p.display().to_string()),
            transport = if http.is_some() { "http" } else { "stdio" },
            "serving MCP"
        );
        match http {
            Some(opts) => mcp::http::serve_http(server, opts).await,
            None => mcp::server::serve_stdio(server).await,
        }
    })
}

/// Starts the demo cluster on loopback and returns the configuration that points at it.
async fn start_demo(opts: &Options) -> Result<Config, String> {
    // Checked before the demo starts, so a mix-up stops at once.
    Config::check_demo(opts, &config::env_var)?;
    let cluster = demo::start().await?;
    let config = Config::demo(
        opts,
        &config::env_var,
        cluster.port,
        &cluster.fingerprint,
        &cluster.token,
    )?;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let writes = if config.default_cluster().settings.writes_allowed() {
        "writes allowed"
    } else {
        "writes refused until --allow-elevated"
    };
    eprintln!(
        "\n  ***  DEMO MODE: a SIMULATED Proxmox VE cluster (2 nodes, 7 guests) inside this process  ***\n  \
         ***  nothing here is real; no Proxmox host is contacted; {writes}  ***\n"
    );
    tracing::warn!(
        port = cluster.port,
        "demo mode: serving a simulated cluster"
    );
    Ok(config)
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

fn run_call(
    method: &str,
    path: &str,
    params: &[String],
    wait: bool,
    opts: &Options,
) -> Result<(), String> {
    let method = HttpMethod::parse(method)
        .ok_or_else(|| format!("`{method}` is not GET, POST, PUT or DELETE"))?;
    let mut form = Form::new();
    for a in params {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| format!("`{a}` is not KEY=VALUE"))?;
        form.text(k, v);
    }
    let config = load_config(opts)?;
    let cluster = config.default_cluster();
    let settings = &cluster.settings;
    // Writes need elevation, checked before anything is sent. A file's own `read_only = true` or
    // `allow_elevated = false` is not lifted by the flag or the variable, so name what decided.
    if method != HttpMethod::Get && !settings.writes_allowed() {
        let decided = |key: &str| cluster.sources.get(key);
        return Err(match (settings.read_only, decided("allow_elevated")) {
            (true, _) => format!(
                "{method} changes something and is refused: server `{}` is read-only ({})",
                cluster.name,
                decided("read_only")
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            ),
            (false, Some(from @ config::Source::File { .. })) => format!(
                "{method} changes something and is refused: {from} is false, and neither \
                 --allow-elevated nor PROXMOX_ALLOW_ELEVATED lifts that; change it in the file"
            ),
            _ => format!(
                "{method} changes something and is refused: set PROXMOX_ALLOW_ELEVATED=true or \
                 pass --allow-elevated to allow writes"
            ),
        });
    }
    let client = settings.client()?;
    let rt = runtime()?;
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
        let upid = data
            .as_str()
            .and_then(|s| s.parse::<proxmox_mcp::Upid>().ok());
        if let (true, true, Some(upid)) = (wait, is_task, upid) {
            let outcome = client
                .wait_task(&upid, WaitOptions::default())
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
