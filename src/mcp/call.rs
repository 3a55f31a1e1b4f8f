//! The top of the call pipeline: pick the server, refuse what is refused whatever the arguments
//! (a GET sent to the write tool, writes on a read-only or unelevated server), check the
//! arguments, then hand the call to its action. The order, and why, is in `docs/design.md`.

use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::params::Form;
use proxmox_mcp::path;
use rmcp::RoleServer;
use rmcp::service::RequestContext;
use serde_json::{Map, Value};

use super::audit::Decision;
use super::confirm::Exchange;
use super::errors::explain;
use super::send::{Attempt, Call, Outcome, record, send};
use super::server::State;
use super::table::{Action, Custom};
use super::tools::{self, BuiltTool};
use super::{
    agent, backup, bulk, change, console, content, create, custom, disk, input, lxc, redact,
    restore, upload,
};
use crate::config::Source;

/// Runs one call of `tool`. `exchange` holds what a client on protocol 2026-07-28 answered to
/// an input-required result, and receives the next one to send.
pub async fn run(
    state: &State,
    tool: &BuiltTool,
    mut args: Map<String, Value>,
    ctx: &RequestContext<RoleServer>,
    exchange: &Exchange,
) -> Outcome {
    if let Action::Custom(Custom::Servers) = tool.decl.action {
        return Ok(custom::servers(state).await);
    }
    let cluster = state.pick(&mut args)?;
    // A GET sent to the write tool is pointed to the read tool, whatever the elevation.
    if let Action::Custom(Custom::ApiCall) = tool.decl.action
        && input::text(&args, "method").is_some_and(|m| m.trim().eq_ignore_ascii_case("GET"))
    {
        return Err(
            "GET is read-only: use proxmox_api_get with the same path (and `params`). Nothing \
             was sent."
                .to_string(),
        );
    }
    let dry_run = input::flag(&args, "dry_run");
    args.remove("dry_run");
    let call = Call {
        state,
        cluster,
        tool,
        ctx,
        dry_run,
        target: None,
        // Only writes go to the audit log: reads skip the copy.
        masked_args: if tool.write {
            redact::mask_args(&args)
        } else {
            Value::Null
        },
        exchange,
        confirmed: false,
        question: None,
    };
    // Writes are refused before anything else happens: PVE sees nothing. A dry run sends
    // nothing either, so it goes on without elevation (but not on a read-only server).
    if tool.write && cluster.read_only {
        let why = match cluster.sources.get("read_only") {
            Some(source) => format!("read_only is true ({source})"),
            None => "read_only is true".to_string(),
        };
        let text = format!(
            "{} changes things, and server `{}` is read-only: {why}. Nothing was sent.",
            tool.decl.name, cluster.name
        );
        record(
            &call,
            &attempt_of(tool, &args),
            Decision::RefusedReadOnly,
            Some(&text),
        )?;
        return Err(text);
    }
    if tool.write && !dry_run && !cluster.allow_elevated {
        let fix = match cluster.sources.get("allow_elevated") {
            // The file said no for this server: no variable or flag lifts that.
            Some(source @ Source::File { .. }) => format!(
                "{source} is false, and no variable or flag lifts a server's own setting: \
                 change it there and restart the server"
            ),
            Some(source) => format!(
                "{source} turns writes off: change it (or set allow_elevated for the server in \
                 the configuration file) and restart the server"
            ),
            None => "set PROXMOX_ALLOW_ELEVATED=true in the server's environment (or start it \
                     with --allow-elevated, or set allow_elevated for the server in the \
                     configuration file) and restart it"
                .to_string(),
        };
        let text = format!(
            "{} changes things, and this server does not allow writes: {fix}. Nothing was sent. \
             `dry_run: true` shows what the call would send without elevation.",
            tool.decl.name
        );
        record(
            &call,
            &attempt_of(tool, &args),
            Decision::RefusedElevation,
            Some(&text),
        )?;
        return Err(text);
    }
    if let Some(node) = &cluster.default_node
        && !args.contains_key("node")
        && tool.input["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|n| n == "node"))
    {
        args.insert("node".into(), Value::String(node.clone()));
    }
    input::check(tool, &mut args)?;
    match tool.decl.action {
        Action::Guest { wrap, vm_only, .. } => guest(call, args, wrap, vm_only).await,
        Action::Method { wrap, .. } => {
            let wait = input::take_wait(&mut args);
            // A node-level tool on a cluster of one node needs no `node`.
            if !args.contains_key("node") && tool.endpoints[0].path.starts_with("/nodes/{node}") {
                let node = super::node::node_or_only(&call, &args).await?;
                args.insert("node".into(), Value::String(node));
            }
            let ep = tool.endpoints[0];
            send(&call, ep, args, wait, wrap).await
        }
        Action::Custom(Custom::ConfigUpdate) => {
            let mut call = call;
            change::config_update(&mut call, args).await
        }
        Action::Custom(Custom::Backup) => {
            let mut call = call;
            backup::run(&mut call, args).await
        }
        Action::Custom(Custom::Bulk) => {
            let mut call = call;
            bulk::run(&mut call, args).await
        }
        Action::Custom(Custom::AgentExec) => {
            let mut call = call;
            agent::exec(&mut call, args).await
        }
        Action::Custom(Custom::LxcExec) => {
            let mut call = call;
            lxc::exec(&mut call, args).await
        }
        Action::Custom(Custom::AgentFileWrite) => {
            let mut call = call;
            agent::file_write(&mut call, args).await
        }
        Action::Custom(Custom::AgentCommand) => {
            let mut call = call;
            agent::command(&mut call, args).await
        }
        Action::Custom(Custom::Console) => {
            let mut call = call;
            console::open(&mut call, args).await
        }
        Action::Custom(c @ (Custom::CreateVm | Custom::CreateLxc)) => {
            let mut call = call;
            let kind = if c == Custom::CreateVm { "qemu" } else { "lxc" };
            create::create(&mut call, args, kind).await
        }
        Action::Custom(
            c @ (Custom::DiskResize
            | Custom::DiskMove
            | Custom::DiskDetach
            | Custom::DiskAdd
            | Custom::NicAdd
            | Custom::NicRemove),
        ) => {
            let mut call = call;
            match c {
                Custom::DiskResize => disk::resize(&mut call, args).await,
                Custom::DiskMove => disk::move_disk(&mut call, args).await,
                Custom::DiskDetach => disk::detach(&mut call, args).await,
                Custom::NicAdd => disk::nic_add(&mut call, args).await,
                Custom::NicRemove => disk::nic_remove(&mut call, args).await,
                _ => disk::add(&mut call, args).await,
            }
        }
        Action::Custom(
            c @ (Custom::ContentDelete
            | Custom::BackupPrune
            | Custom::DownloadUrl
            | Custom::Upload
            | Custom::BackupRestore),
        ) => {
            let mut call = call;
            match c {
                Custom::ContentDelete => content::delete(&mut call, args).await,
                Custom::BackupPrune => content::prune(&mut call, args).await,
                Custom::DownloadUrl => content::download_url(&mut call, args).await,
                Custom::Upload => upload::upload(&mut call, args).await,
                _ => restore::restore(&mut call, args).await,
            }
        }
        Action::Custom(c) => custom::run(c, &call, args).await,
    }
}

/// What the audit log says of a write refused before its method and values were known.
fn attempt_of<'a>(tool: &'a BuiltTool, args: &'a Map<String, Value>) -> Attempt<'a> {
    match (tool.decl.action, tool.endpoints.first()) {
        (Action::Custom(Custom::ApiCall), _) => Attempt {
            method: args.get("method").and_then(Value::as_str).unwrap_or(""),
            path: args.get("path").and_then(Value::as_str).unwrap_or(""),
        },
        // Not a PVE request: a command over SSH.
        (Action::Custom(Custom::LxcExec), _) => Attempt {
            method: "SSH pct exec",
            path: "/nodes/{node}/lxc/{vmid}",
        },
        (_, Some(ep)) => Attempt {
            method: ep.method.as_str(),
            path: ep.path,
        },
        _ => Attempt {
            method: "",
            path: "",
        },
    }
}

/// A guest tool: locate the guest, then send to the VM's or the container's method.
async fn guest(
    mut call: Call<'_>,
    mut args: Map<String, Value>,
    wrap: &str,
    vm_only: bool,
) -> Outcome {
    let cluster = call.cluster;
    let wait = input::take_wait(&mut args);
    let vmid = input::vmid(&mut args)?;
    let node = args
        .remove("node")
        .and_then(|v| v.as_str().map(str::to_string));
    // A node given is checked before anything is read with it.
    if let (Some(n), Some(var)) = (&node, call.tool.endpoints[0].path_vars.first()) {
        path::check_var(var, n).map_err(|e| explain(&e, &cluster.client))?;
    }
    // A VM-only method's own `type` parameter (cloud-init's) is not the guest's.
    let kind = if vm_only {
        None
    } else {
        args.remove("type")
            .and_then(|v| v.as_str().map(str::to_string))
    };
    let at = cluster
        .guests
        .locate(&cluster.client, vmid, node.as_deref(), kind.as_deref())
        .await?;
    if at.kind == "lxc" && vm_only {
        return Err(format!(
            "{vmid} is a container: {} works on VMs only ({}).",
            call.tool.decl.name, call.tool.endpoints[0].path
        ));
    }
    let ep = call.tool.endpoints[usize::from(at.kind == "lxc")];
    // A container's name is its `hostname`.
    if at.kind == "lxc"
        && let Some(name) = args.remove("name")
    {
        args.insert("hostname".into(), name);
    }
    // A new guest's VMID: the next free one unless given.
    if call.tool.input["properties"].get("newid").is_some() && !args.contains_key("newid") {
        let next = tools::ep(HttpMethod::Get, "/cluster/nextid");
        let id = cluster
            .client
            .execute(next, &[], Form::new())
            .await
            .map_err(|e| explain(&e, &cluster.client))?;
        args.insert("newid".into(), id);
    }
    call.target = Some(cluster.guests.label(vmid, &at));
    args.insert("node".into(), Value::String(at.node));
    send(&call, ep, args, wait, wrap).await
}
