//! `proxmox-mcp tools`: the tools with their cost in `tools/list`, their JSON, or docs/TOOLS.md.

use std::fmt::Write;

use crate::mcp::table::{TOOLS, Toolset};
use crate::mcp::tools::{BuiltTool, Selection};

/// Which tools to serve or show: `--toolsets`, `--tools`, `--exclude-tools`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ToolArgs {
    /// Toolsets, comma-separated: guests, snapshots, backups, storage, nodes, tasks, api (the
    /// default), disks, agent, console, content, restore, provisioning, metrics, system, bulk, or
    /// all.
    #[arg(long, value_delimiter = ',', env = "PROXMOX_MCP_TOOLSETS")]
    pub toolsets: Vec<String>,
    /// Single tools to serve besides the toolsets, comma-separated (such as
    /// proxmox_guest_snapshot_list).
    #[arg(
        long,
        value_delimiter = ',',
        env = "PROXMOX_MCP_TOOLS",
        value_name = "TOOLS"
    )]
    pub tools: Vec<String>,
    /// Tools to leave out, comma-separated, even when their toolset is served.
    #[arg(
        long,
        value_delimiter = ',',
        env = "PROXMOX_MCP_EXCLUDE_TOOLS",
        value_name = "TOOLS"
    )]
    pub exclude_tools: Vec<String>,
}

impl ToolArgs {
    /// The selection these flags (or variables) make; an unknown name is an error that lists
    /// the known ones.
    pub fn selection(&self) -> Result<Selection, String> {
        let toolsets = parse_toolsets(&self.toolsets)?;
        Ok(Selection {
            toolsets,
            add: tool_names(&self.tools, "--tools")?,
            exclude: tool_names(&self.exclude_tools, "--exclude-tools")?,
        })
    }
}

fn tool_names(names: &[String], flag: &str) -> Result<Vec<&'static str>, String> {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            TOOLS
                .iter()
                .find(|d| d.name == n)
                .map(|d| d.name)
                .ok_or_else(|| {
                    let known: Vec<&str> = TOOLS.iter().map(|d| d.name).collect();
                    format!(
                        "{flag}: unknown tool `{n}`; the tools are {}",
                        known.join(", ")
                    )
                })
        })
        .collect()
}

/// `--toolsets` values as toolsets; none given means the default ones, `all` every one.
pub fn parse_toolsets(names: &[String]) -> Result<Vec<Toolset>, String> {
    let names: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(Toolset::DEFAULT.to_vec());
    }
    if names.contains(&"all") {
        return Ok(Toolset::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            Toolset::parse(n).ok_or_else(|| {
                let known: Vec<&str> = Toolset::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "unknown toolset `{n}`; the toolsets are {}, all",
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// About how many tokens `bytes` of JSON take in a model's context (4 bytes a token).
pub fn tokens(bytes: usize) -> usize {
    bytes.div_ceil(4)
}

/// The `tools/list` result these tools make, as the server sends it.
pub fn json(tools: &[BuiltTool]) -> String {
    let list: Vec<&rmcp::model::Tool> = tools.iter().map(|t| &t.tool).collect();
    serde_json::to_string_pretty(&serde_json::json!({ "tools": list })).unwrap_or_default()
}

/// Bytes of the compact `tools/list` JSON.
pub fn list_bytes(tools: &[BuiltTool]) -> usize {
    let list: Vec<&rmcp::model::Tool> = tools.iter().map(|t| &t.tool).collect();
    serde_json::to_string(&serde_json::json!({ "tools": list }))
        .map(|s| s.len())
        .unwrap_or(0)
}

fn kind(t: &BuiltTool) -> &'static str {
    if t.write { "write" } else { "read" }
}

/// One line per tool with its bytes, then the total per toolset.
pub fn table(tools: &[BuiltTool]) -> String {
    let mut out = String::new();
    // Columns as wide as their longest entry.
    let name_w = tools
        .iter()
        .map(|t| t.decl.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let set_w = Toolset::ALL
        .iter()
        .map(|s| s.name().len())
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{:<name_w$} {:<set_w$} {:<5} {:>6}",
        "tool", "toolset", "kind", "bytes"
    );
    for t in tools {
        let _ = writeln!(
            out,
            "{:<name_w$} {:<set_w$} {:<5} {:>6}",
            t.decl.name,
            t.decl.toolset.name(),
            kind(t),
            t.bytes()
        );
    }
    out.push('\n');
    for set in Toolset::ALL {
        let of: Vec<&BuiltTool> = tools.iter().filter(|t| t.decl.toolset == set).collect();
        if !of.is_empty() {
            let bytes: usize = of.iter().map(|t| t.bytes()).sum();
            let _ = writeln!(
                out,
                "toolset {:<set_w$} {:>2} tools {:>6} bytes  ~{:>5} tokens",
                set.name(),
                of.len(),
                bytes,
                tokens(bytes)
            );
        }
    }
    let total = list_bytes(tools);
    let _ = writeln!(
        out,
        "{:<w$} {:>2} tools {:>6} bytes  ~{:>5} tokens",
        "tools/list",
        tools.len(),
        total,
        tokens(total),
        w = set_w + 8
    );
    out
}

/// docs/TOOLS.md, generated from the tool table: every tool, and the size of each toolset and
/// of the default `tools/list`.
pub fn markdown() -> String {
    let tools = crate::mcp::tools::select(&Selection::of(&Toolset::ALL), false, &[]);
    let default = crate::mcp::tools::select(&Selection::default(), false, &[]);
    let mut out = String::from(
        "# Tools\n\nGenerated by `proxmox-mcp tools --markdown` from the tool table \
         (`src/mcp/table.rs`) and the catalog; a test fails when this file is stale.\n\n\
         Every tool sets all four annotations. Tools marked *write* are refused unless the server \
         runs with `PROXMOX_ALLOW_ELEVATED=true` (or `--allow-elevated`), and `--read-only` \
         leaves them out. Every write tool takes `dry_run` (check everything, show the request, \
         send nothing; no elevation needed). Tools with the *destructive* hint ask the person to \
         confirm through the MCP client first (the server's `confirm` policy; README, \
         \"Safety\").\n",
    );
    let bytes = list_bytes(&default);
    let _ = writeln!(
        out,
        "\nDefault `tools/list` (`--toolsets` not given): {} tools, {} bytes, about {} tokens. \
         `--toolsets`, `--tools` and `--exclude-tools` (or `PROXMOX_MCP_TOOLSETS`, \
         `PROXMOX_MCP_TOOLS`, `PROXMOX_MCP_EXCLUDE_TOOLS`) choose others.\n",
        default.len(),
        bytes,
        tokens(bytes)
    );
    let _ = writeln!(
        out,
        "| toolset | default | tools | bytes | tokens |\n|---|---|---|---|---|"
    );
    for set in Toolset::ALL {
        let of: Vec<&BuiltTool> = tools.iter().filter(|t| t.decl.toolset == set).collect();
        let b: usize = of.iter().map(|t| t.bytes()).sum();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {b} | {} |",
            set.name(),
            if Toolset::DEFAULT.contains(&set) {
                "yes"
            } else {
                "no"
            },
            of.len(),
            tokens(b)
        );
    }
    let all = list_bytes(&tools);
    let _ = writeln!(out, "| all | | {} | {all} | {} |", tools.len(), tokens(all));
    for set in Toolset::ALL {
        let of: Vec<&BuiltTool> = tools.iter().filter(|t| t.decl.toolset == set).collect();
        if of.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## Toolset `{}`\n", set.name());
        for t in of {
            let a = t.tool.annotations.clone().unwrap_or_default();
            let flag =
                |b: Option<bool>, s: &'static str| if b == Some(true) { Some(s) } else { None };
            let hints: Vec<&str> = [
                flag(a.read_only_hint, "read-only"),
                flag(a.destructive_hint, "destructive"),
                flag(a.idempotent_hint, "idempotent"),
                flag(a.open_world_hint, "open-world"),
            ]
            .into_iter()
            .flatten()
            .collect();
            let _ = writeln!(out, "### `{}` ({})\n", t.decl.name, kind(t));
            let _ = writeln!(out, "{}\n", t.tool.description.as_deref().unwrap_or(""));
            let methods: Vec<String> = t
                .endpoints
                .iter()
                .map(|e| format!("`{} {}`", e.method, e.path))
                .collect();
            if !methods.is_empty() {
                let _ = writeln!(out, "- Calls: {}", methods.join(", "));
            }
            let _ = writeln!(out, "- Hints: {}", hints.join(", "));
            let _ = writeln!(out, "- Size in tools/list: {} bytes", t.bytes());
            let props = t.input["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let required: Vec<&str> = t.input["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .collect();
            if !props.is_empty() {
                let _ = writeln!(
                    out,
                    "\n| parameter | type | required | description |\n|---|---|---|---|"
                );
                for (name, p) in &props {
                    let mut ty = p["type"].as_str().unwrap_or("").to_string();
                    if let Some(e) = p["enum"].as_array() {
                        let v: Vec<&str> = e.iter().filter_map(|v| v.as_str()).collect();
                        ty = v.join(" \\| ");
                    }
                    match (p["minimum"].as_i64(), p["maximum"].as_i64()) {
                        (Some(a), Some(b)) => ty.push_str(&format!(" {a}..{b}")),
                        (Some(a), None) => ty.push_str(&format!(" ≥ {a}")),
                        _ => {}
                    }
                    let mut desc = p["description"].as_str().unwrap_or("").replace('|', "\\|");
                    if desc.is_empty()
                        && t.endpoints.len() >= 2
                        && (name == "node" || name == "type")
                    {
                        desc = "looked up from vmid when absent".into();
                    }
                    let req = if required.contains(&name.as_str()) {
                        "yes"
                    } else {
                        ""
                    };
                    let _ = writeln!(out, "| `{name}` | {ty} | {req} | {desc} |");
                }
            }
            out.push('\n');
        }
    }
    out
}
