//! The rmcp server handler: lists the tools of the table and runs calls through the pipeline.

use std::sync::Arc;

use proxmox_mcp::Client;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use crate::config::{self, Config, Settings};

use super::table::{Action, Custom, TOOLS};
use super::tools::{self, BuiltTool, Selection};
use super::{audit, bound, call, confirm, guests, preflight, schema};

/// One PVE server the tools reach, with its client, what it allows and its caches.
pub struct Cluster {
    /// Its configured name.
    pub name: String,
    /// The SDK client.
    pub client: Client,
    /// Writes allowed (`allow_elevated`).
    pub allow_elevated: bool,
    /// Writes refused whatever else is set (`read_only`).
    pub read_only: bool,
    /// The node used when a tool needs one and none is given.
    pub default_node: Option<String>,
    /// How destructive calls are confirmed.
    pub confirm: config::Confirm,
    /// Where `read_only`, `allow_elevated` and `confirm` came from (absent: the default), for
    /// refusals that name the setting to change.
    pub sources: std::collections::BTreeMap<&'static str, config::Source>,
    /// The cluster's guests, to locate a VMID.
    pub guests: guests::Cache,
    /// Privileges per ACL path, for the pre-flight.
    pub perms: preflight::Cache,
    /// How `proxmox_lxc_exec` reaches the nodes over SSH, when it is set up.
    pub ssh: Option<config::Ssh>,
}

impl Cluster {
    /// A cluster reached with `client`.
    pub fn new(name: &str, client: Client, settings: &Settings) -> Cluster {
        Cluster {
            confirm: settings.confirm,
            sources: Default::default(),
            name: name.to_string(),
            client,
            allow_elevated: settings.allow_elevated,
            read_only: settings.read_only,
            default_node: settings.default_node.clone(),
            guests: Default::default(),
            perms: Default::default(),
            ssh: settings.ssh.clone(),
        }
    }
}

/// What every call shares: the servers, the tools, whether writes are hidden.
pub struct State {
    /// The configured servers, the default first.
    pub clusters: Vec<Cluster>,
    /// Write tools hidden (every server is read-only).
    pub read_only: bool,
    /// The tools served.
    pub tools: Vec<BuiltTool>,
    /// The audit log of write attempts, when one is configured.
    pub audit: Option<audit::Log>,
    /// Confirmations asked in input-required results and not answered yet.
    pub questions: confirm::Questions,
    /// The tools chosen to be served.
    pub selection: Selection,
    /// Where console tickets are written (`console_dir`).
    pub console_dir: std::path::PathBuf,
    /// The directory `proxmox_storage_upload` may read files from, and where it was set.
    pub upload_dir: Option<(std::path::PathBuf, config::Source)>,
}

impl State {
    /// The server a call names in its `server` argument (taken out of `args`), or the default.
    pub fn pick(
        &self,
        args: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<&Cluster, String> {
        let Some(name) = args.remove("server").filter(|v| !v.is_null()) else {
            return Ok(&self.clusters[0]);
        };
        let name = name.as_str().unwrap_or_default();
        self.clusters
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.clusters.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "unknown server `{name}`: the configured servers are {}. Nothing was sent.",
                    names.join(", ")
                )
            })
    }
}

/// The MCP server.
#[derive(Clone)]
pub struct Server {
    state: Arc<State>,
    listed: Arc<Vec<Tool>>,
    instructions: Arc<String>,
}

impl Server {
    /// A server for the configured clusters (`config.default` first) and these tools.
    pub fn new(config: &Config, selection: &Selection) -> Result<Self, String> {
        let mut order: Vec<&config::Cluster> = vec![config.default_cluster()];
        order.extend(
            config
                .clusters
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != config.default)
                .map(|(_, c)| c),
        );
        let mut clusters = Vec::new();
        for c in order {
            let client = c
                .settings
                .client()
                .map_err(|e| format!("server `{}`: {e}", c.name))?;
            let mut cluster = Cluster::new(&c.name, client, &c.settings);
            cluster.sources = c.sources.clone();
            clusters.push(cluster);
        }
        let read_only = clusters.iter().all(|c| c.read_only);
        // The audit log is opened before anything is served: a log that cannot be written
        // stops start-up rather than refusing every write later.
        let audit = match &config.audit_log {
            Some((path, source)) => {
                Some(audit::Log::open(path).map_err(|e| format!("the audit log ({source}): {e}"))?)
            }
            None => None,
        };
        let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
        let tools = tools::select(selection, read_only, &names);
        let listed = Arc::new(tools.iter().map(|t| t.tool.clone()).collect());
        let mut instructions = INSTRUCTIONS.to_string();
        if names.len() > 1 {
            instructions.push_str(&format!(
                " Servers: {} (the default when a call gives no `server`), {}.",
                names[0],
                names[1..].join(", ")
            ));
        }
        // Whether writes are on, per server, so a model does not try what will be refused.
        let writes = |c: &Cluster| {
            if c.read_only {
                "read-only"
            } else if c.allow_elevated {
                "writes allowed"
            } else {
                "writes refused (not elevated; dry_run works)"
            }
        };
        if clusters.len() == 1 {
            instructions.push_str(&format!(" This server: {}.", writes(&clusters[0])));
        } else {
            let each: Vec<String> = clusters
                .iter()
                .map(|c| format!("{}: {}", c.name, writes(c)))
                .collect();
            instructions.push_str(&format!(" {}.", each.join("; ")));
        }
        Ok(Server {
            instructions: Arc::new(instructions),
            state: Arc::new(State {
                clusters,
                read_only,
                tools,
                audit,
                questions: Default::default(),
                selection: selection.clone(),
                console_dir: match &config.console_dir {
                    Some((dir, _)) => dir.clone(),
                    None => super::console::default_dir(&config::env_var),
                },
                upload_dir: config.upload_dir.clone(),
            }),
            listed,
        })
    }
}

const INSTRUCTIONS: &str = "Proxmox VE. Guest tools take a vmid; node and type are looked up \
when absent. Reach any API method with proxmox_api_search, proxmox_api_describe, proxmox_api_get \
and proxmox_api_call. Writes need PROXMOX_ALLOW_ELEVATED=true on the server. Every write tool \
takes dry_run: true to check everything and show the exact request without sending it (no \
elevation needed). Tools that start a task wait for it `wait` seconds (default 60, 0 to return \
at once) and report progress. Destructive tools ask the person to confirm through the client.";

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(self.instructions.as_str())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            self.listed.as_ref().clone(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.listed.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.as_ref();
        let state = &self.state;
        let Some(tool) = state.tools.iter().find(|t| t.decl.name == name) else {
            // A tool of the table that is switched off is the user's choice, not a protocol error.
            if let Some(decl) = TOOLS.iter().find(|d| d.name == name) {
                let why = if matches!(decl.action, Action::Custom(Custom::Servers)) {
                    "only one server is configured".to_string()
                } else if let Some(why) = state.selection.why_not(decl) {
                    why
                } else if state.read_only {
                    "every configured server is read-only (--read-only, PROXMOX_READ_ONLY or \
                     read_only in the configuration file)"
                        .to_string()
                } else {
                    "it is not served".to_string()
                };
                return Ok(error(format!("{name} is not available: {why}.")).into());
            }
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{name}`; tools/list shows the tools"),
                None,
            ));
        };
        let args = request.arguments.unwrap_or_default();
        let exchange = confirm::Exchange {
            responses: request.input_responses,
            state: request.request_state,
            ask: Default::default(),
        };
        // The server's own record of a call: argument names, never their values (rmcp's own
        // request and response logging is switched off in main.rs).
        let names: Vec<&str> = args.keys().map(String::as_str).collect();
        tracing::debug!(tool = name, arguments = ?names, "call");
        let outcome = call::run(state, tool, args, &context, &exchange).await;
        if let Some(ask) = exchange.ask.into_inner().unwrap_or_else(|e| e.into_inner()) {
            tracing::debug!(tool = name, "asking the person to confirm");
            return Ok(ask.into());
        }
        let result = match outcome {
            Ok(value) => {
                let (value, text) = bound::result_text(value);
                if let Err(why) = schema::fits(&value, &tool.output) {
                    // A result that breaks its declared schema would be rejected by the
                    // client: say what PVE sent instead.
                    tracing::debug!(tool = name, why, "a result does not fit its output schema");
                    error(bound::text(format!(
                        "PVE answered in a shape this tool does not expect ({why}). The answer \
                         was: {}",
                        value
                    )))
                } else {
                    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
                    r.structured_content = Some(value);
                    r
                }
            }
            Err(text) => error(bound::text(text)),
        };
        tracing::debug!(
            tool = name,
            is_error = result.is_error.unwrap_or(false),
            "call ended"
        );
        Ok(result.into())
    }
}

fn error(text: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// Serves MCP on stdin/stdout until the client closes it.
pub async fn serve_stdio(server: Server) -> Result<(), String> {
    let running = server
        .serve(stdio())
        .await
        .map_err(|e| format!("MCP initialisation failed: {e}"))?;
    let reason = running
        .waiting()
        .await
        .map_err(|e| format!("the MCP server stopped: {e}"))?;
    tracing::info!(?reason, "MCP session ended");
    Ok(())
}

/// A reader and a writer of MCP messages.
type Stdio = (
    Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
);

/// Standard input and output as the transport. When both are pipes (as a client that starts the
/// server connects them) they are read and written without blocking on the runtime's own thread;
/// otherwise (a terminal, a file) through tokio's stdin and stdout, which hand every read and
/// write to a helper thread (a wake-up and two context switches per message).
fn stdio() -> Stdio {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::FileTypeExt;
        use tokio::net::unix::pipe;
        let dup = |fd: std::os::fd::BorrowedFd<'_>| {
            let file = std::fs::File::from(fd.try_clone_to_owned().ok()?);
            let fifo = file.metadata().ok()?.file_type().is_fifo();
            fifo.then_some(file)
        };
        // Both or neither: a pipe made non-blocking cannot go back to a helper thread.
        if let (Some(r), Some(w)) = (
            dup(std::io::stdin().as_fd()),
            dup(std::io::stdout().as_fd()),
        ) {
            match (pipe::Receiver::from_file(r), pipe::Sender::from_file(w)) {
                (Ok(r), Ok(w)) => return (Box::new(r), Box::new(w)),
                (r, w) => tracing::warn!(
                    stdin = ?r.err(),
                    stdout = ?w.err(),
                    "standard input and output are pipes but cannot be polled"
                ),
            }
        }
    }
    (Box::new(tokio::io::stdin()), Box::new(tokio::io::stdout()))
}
