//! The rmcp server handler: lists the tools of the table and runs calls through the pipeline.

use std::sync::Arc;

use proxmox_mcp::Client;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use super::table::{TOOLS, Toolset};
use super::tools::{self, BuiltTool};
use super::{call, guests, preflight};

/// What every call shares: the client, the settings that gate writes, the caches.
pub struct State {
    /// The SDK client.
    pub client: Client,
    /// Writes allowed.
    pub allow_elevated: bool,
    /// Write tools hidden.
    pub read_only: bool,
    /// The tools served.
    pub tools: Vec<BuiltTool>,
    /// The cluster's guests, to locate a VMID.
    pub guests: guests::Cache,
    /// Privileges per ACL path, for the pre-flight.
    pub perms: preflight::Cache,
}

/// The MCP server.
#[derive(Clone)]
pub struct Server {
    state: Arc<State>,
    listed: Arc<Vec<Tool>>,
}

impl Server {
    /// A server for these settings and toolsets.
    pub fn new(
        client: Client,
        allow_elevated: bool,
        read_only: bool,
        toolsets: &[Toolset],
    ) -> Self {
        let tools = tools::select(toolsets, read_only);
        let listed = Arc::new(tools.iter().map(|t| t.tool.clone()).collect());
        Server {
            state: Arc::new(State {
                client,
                allow_elevated,
                read_only,
                tools,
                guests: Default::default(),
                perms: Default::default(),
            }),
            listed,
        }
    }
}

const INSTRUCTIONS: &str = "Proxmox VE. Guest tools take a vmid; node and type are looked up \
when absent. Reach any API method with proxmox_api_search, proxmox_api_describe, proxmox_api_get and proxmox_api_call. Writes \
need PROXMOX_ALLOW_ELEVATED=true on the server.";

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
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
                let why = if state.read_only {
                    "the server runs read-only (--read-only)".to_string()
                } else {
                    format!(
                        "its toolset `{}` is not enabled (--toolsets)",
                        decl.toolset.name()
                    )
                };
                return Ok(error(format!("{name} is not available: {why}.")).into());
            }
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{name}`; tools/list shows the tools"),
                None,
            ));
        };
        let args = request.arguments.unwrap_or_default();
        tracing::debug!(tool = name, "call");
        let result = match call::run(state, tool, args, &context).await {
            Ok(value) => {
                let text = serde_json::to_string(&value).unwrap_or_default();
                let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
                r.structured_content = Some(value);
                r
            }
            Err(text) => error(text),
        };
        Ok(result.into())
    }
}

fn error(text: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// Serves MCP on stdin/stdout until the client closes it.
pub async fn serve_stdio(server: Server) -> Result<(), String> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP initialisation failed: {e}"))?;
    let reason = running
        .waiting()
        .await
        .map_err(|e| format!("the MCP server stopped: {e}"))?;
    tracing::info!(?reason, "MCP session ended");
    Ok(())
}
