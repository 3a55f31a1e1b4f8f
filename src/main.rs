//! `proxmox-mcp`: the command line.
//!
//! `serve` runs the MCP server on stdio; `tools` shows its tools and what they cost; `endpoints`
//! lists the API methods of the vendored schema; `call` calls any of them with the SDK's client.
//! This binary is its own compilation unit, so editing it (or a tool) does not recompile the
//! generated SDK.

mod config;
mod mcp;
mod tools_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use proxmox_mcp::WaitOptions;
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::{self, ENDPOINTS};
use proxmox_mcp::params::Form;

use config::Settings;

/// A typed Proxmox VE SDK and an MCP server built on it.
#[derive(Parser)]
#[command(version, about, after_help = config::ENV_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        /// Toolsets to serve, comma-separated: guests, nodes, tasks, api (default: all).
        #[arg(long, value_delimiter = ',')]
        toolsets: Vec<String>,
        #[command(flatten)]
        http: mcp::http::HttpArgs,
    },
    /// Show the MCP tools with their size in tools/list, and the total per toolset.
    Tools {
        /// Toolsets to show (default: all).
        #[arg(long, value_delimiter = ',')]
        toolsets: Vec<String>,
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
    },
}

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

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            allow_elevated,
            read_only,
            toolsets,
            http,
        } => run_serve(allow_elevated, read_only, &toolsets, &http),
        Command::Tools {
            toolsets,
            read_only,
            json,
            markdown,
        } => tools_cmd::parse_toolsets(&toolsets).map(|sets| {
            let tools = mcp::tools::select(&sets, read_only);
            if json {
                println!("{}", tools_cmd::json(&tools));
            } else if markdown {
                print!("{}", tools_cmd::markdown(&tools));
            } else {
                print!("{}", tools_cmd::table(&tools));
            }
        }),
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
        } => run_call(&method, &path, &params, wait, allow_elevated),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_serve(
    allow_elevated: bool,
    read_only: bool,
    toolsets: &[String],
    http: &mcp::http::HttpArgs,
) -> Result<(), String> {
    let toolsets = tools_cmd::parse_toolsets(toolsets)?;
    let http = http.options()?;
    let settings = Settings::from_env(allow_elevated)?;
    let client = settings.client()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    tracing::info!(
        host = settings.host,
        elevated = settings.allow_elevated,
        read_only,
        transport = if http.is_some() { "http" } else { "stdio" },
        "serving MCP"
    );
    let server = mcp::server::Server::new(client, settings.allow_elevated, read_only, &toolsets);
    if let Some(opts) = http {
        return rt.block_on(mcp::http::serve_http(server, opts));
    }
    rt.block_on(mcp::server::serve_stdio(server))
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
    allow_elevated: bool,
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
    let settings = Settings::from_env(allow_elevated)?;
    // Writes need elevation, checked before anything is sent.
    if method != HttpMethod::Get && !settings.allow_elevated {
        return Err(format!(
            "{method} changes something and is refused: set PROXMOX_ALLOW_ELEVATED=true or pass \
             --allow-elevated to allow writes"
        ));
    }
    let client = settings.client()?;
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
