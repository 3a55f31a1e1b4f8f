//! Builds each tool of the table from the catalog: input and output schemas, annotations, the
//! description with the privilege it needs, and what the call pipeline needs to know.

use std::sync::Arc;

use proxmox_mcp::apidoc::{HttpMethod, Schema};
use proxmox_mcp::args;
use proxmox_mcp::catalog::{self, Endpoint};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use super::confirm::destructive;
use super::schema;
use super::table::{Action, Custom, TOOLS, ToolDecl, Toolset};

/// Longest wait for a task a tool accepts, in seconds.
pub const MAX_WAIT: u64 = 3600;
/// How long a tool waits for the task it started when `wait` is not given, in seconds.
pub const DEFAULT_WAIT: u64 = 60;

/// A tool ready to list and call.
#[derive(Debug, Clone)]
pub struct BuiltTool {
    /// Its declaration.
    pub decl: &'static ToolDecl,
    /// The MCP tool, as listed.
    pub tool: Tool,
    /// The input schema (also inside `tool`).
    pub input: Value,
    /// The output schema (also inside `tool`).
    pub output: Value,
    /// True when the tool changes something (it needs elevation).
    pub write: bool,
    /// The methods it calls: VM then container for guest tools.
    pub endpoints: Vec<&'static Endpoint>,
}

impl BuiltTool {
    /// The size of this tool in `tools/list`, in bytes of JSON.
    pub fn bytes(&self) -> usize {
        serde_json::to_string(&self.tool)
            .map(|s| s.len())
            .unwrap_or(0)
    }
}

/// The catalog's method at a template the tools name; the unit tests build every tool, so a
/// template the schema lacks fails there.
pub fn ep(method: HttpMethod, path: &str) -> &'static Endpoint {
    catalog::find(method, path)
        .unwrap_or_else(|| panic!("the tools name {method} {path}, which the schema lacks"))
}

/// The catalog's methods of a guest tool: the VM's, then the container's.
pub fn guest_endpoints(method: HttpMethod, suffix: &str) -> [&'static Endpoint; 2] {
    [
        ep(method, &format!("/nodes/{{node}}/qemu/{{vmid}}{suffix}")),
        ep(method, &format!("/nodes/{{node}}/lxc/{{vmid}}{suffix}")),
    ]
}

/// The output schema of a tool that starts a task.
pub fn task_output() -> Value {
    json!({"type": "object", "properties": {
        "upid": {"type": "string"},
        "status": {"enum": ["OK", "running"]}
    }})
}

/// `wait`: explained once in the server's instructions, not on every tool.
fn wait_param() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": MAX_WAIT, "default": DEFAULT_WAIT})
}

/// Properties of `ep`'s parameters named in `names`.
fn exposed(ep: &Endpoint, names: &[&str], props: &mut Map<String, Value>, req: &mut Vec<String>) {
    let params = args::parameters(ep);
    for name in names {
        if let Some(s) = params.get(*name) {
            props.insert(name.to_string(), schema::param(s));
            if !s.optional {
                req.push(name.to_string());
            }
        }
    }
}

fn guest_id_props(e: &Endpoint, props: &mut Map<String, Value>) {
    let params = args::parameters(e);
    let mut vmid = params
        .get("vmid")
        .map(schema::param)
        .unwrap_or(json!({"type": "integer"}));
    if let Some(m) = vmid.as_object_mut() {
        m.remove("description");
    }
    props.insert("vmid".into(), vmid);
    let mut node = params
        .get("node")
        .map(schema::param)
        .unwrap_or(json!({"type": "string"}));
    if let Some(m) = node.as_object_mut() {
        m.remove("description");
    }
    props.insert("node".into(), node);
    props.insert("type".into(), json!({"enum": ["qemu", "lxc"]}));
}

fn string(desc: &str) -> Value {
    json!({"type": "string", "description": desc})
}

fn string_obj(desc: &str) -> Value {
    json!({"type": "object", "description": desc})
}

fn upid_param() -> Value {
    string("UPID")
}

fn describe(
    decl: &ToolDecl,
    e: Option<&Endpoint>,
    task: bool,
    extra: &str,
    needs: Option<&str>,
) -> String {
    let mut d = decl.summary.to_string();
    if task {
        d.push_str(" Waits for its task.");
    }
    if !extra.is_empty() {
        d.push(' ');
        d.push_str(extra);
    }
    if let Some(e) = e {
        let permission = needs.unwrap_or(e.permission);
        if permission != "any authenticated user" {
            d.push_str(&format!(" Needs {permission}."));
        }
        if !e.allowtoken {
            d.push_str(" Refuses API tokens.");
        }
    }
    d
}

fn obj(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => Arc::new(JsonObject::new()),
    }
}

/// Builds one tool.
pub fn build(decl: &'static ToolDecl) -> BuiltTool {
    let mut props = Map::new();
    let mut req: Vec<String> = Vec::new();
    let parts = match decl.action {
        Action::Guest {
            method,
            suffix,
            expose,
            wrap,
            vm_only,
        } => {
            let eps: Vec<&'static Endpoint> = if vm_only {
                vec![ep(
                    method,
                    &format!("/nodes/{{node}}/qemu/{{vmid}}{suffix}"),
                )]
            } else {
                guest_endpoints(method, suffix).to_vec()
            };
            guest_id_props(eps[0], &mut props);
            if vm_only {
                props.remove("type");
            }
            req.push("vmid".into());
            // Path variables after the VMID (`{snapname}`) are arguments like the others.
            let more: Vec<&str> = eps[0]
                .path_vars
                .iter()
                .map(|v| v.name)
                .filter(|n| !matches!(*n, "node" | "vmid"))
                .collect();
            exposed(eps[0], &more, &mut props, &mut req);
            exposed(eps[0], expose, &mut props, &mut req);
            // A new guest's VMID is the next free one unless given (`call::guest`).
            if let Some(newid) = props.get_mut("newid") {
                req.retain(|r| r != "newid");
                newid["description"] = json!("Next free one when absent");
            }
            Parts::of(eps, wrap)
        }
        Action::Method {
            method,
            path,
            expose,
            wrap,
        } => {
            let e = ep(method, path);
            let vars: Vec<&str> = e.path_vars.iter().map(|v| v.name).collect();
            exposed(e, &vars, &mut props, &mut req);
            exposed(e, expose, &mut props, &mut req);
            // The node of a cluster of one node is found (`call::run`).
            if let Some(node) = props.get_mut("node") {
                req.retain(|r| r != "node");
                node["description"] = json!("The only node when absent");
            }
            Parts::of(vec![e], if wrap.is_empty() { "data" } else { wrap })
        }
        Action::Custom(c) => custom(c, decl.name, &mut props, &mut req),
    };
    let Parts {
        endpoints,
        output,
        write,
        task,
        extra,
        open_world,
        destructive: destr,
        idempotent: idem,
        needs,
    } = parts;
    if task {
        props.insert("wait".into(), wait_param());
    }
    if write {
        // Explained once in the server's instructions.
        props.insert("dry_run".into(), json!({"type": "boolean"}));
    }
    let input = schema::object(props, req);
    let first = endpoints.first().copied();
    let description = describe(decl, first, task, extra, needs);
    let annotations = ToolAnnotations::new()
        .read_only(!write)
        .destructive(destr.unwrap_or_else(|| write && first.is_some_and(destructive)))
        .idempotent(idem.unwrap_or_else(|| {
            first.is_none_or(|e| {
                matches!(
                    e.method,
                    HttpMethod::Get | HttpMethod::Put | HttpMethod::Delete
                )
            })
        }))
        .open_world(open_world);
    let tool = Tool::new(decl.name, description, obj(input.clone()))
        .with_raw_output_schema(obj(output.clone()))
        .with_annotations(annotations);
    BuiltTool {
        decl,
        tool,
        input,
        output,
        write,
        endpoints,
    }
}

/// The return schema of a method.
pub fn returns(e: &Endpoint) -> Schema {
    serde_json::from_str::<Value>(e.returns)
        .ok()
        .and_then(|v| proxmox_mcp::apidoc::parse_schema(&v, e.path).ok())
        .unwrap_or_default()
}

/// What a tool is made of besides its input schema.
struct Parts {
    endpoints: Vec<&'static Endpoint>,
    output: Value,
    write: bool,
    task: bool,
    /// Said after the summary.
    extra: &'static str,
    open_world: bool,
    /// When not derived from the first endpoint.
    destructive: Option<bool>,
    /// When not derived from the first endpoint.
    idempotent: Option<bool>,
    /// The privilege the tool's own keys need, when the first endpoint's rule says more (a
    /// configuration change needs the privilege of each key it sets).
    needs: Option<&'static str>,
}

impl Parts {
    /// A tool that calls these methods (the first one describes it).
    fn of(endpoints: Vec<&'static Endpoint>, wrap: &str) -> Parts {
        let e = endpoints[0];
        Parts {
            output: if e.returns_task {
                task_output()
            } else {
                schema::output(&returns(e), wrap)
            },
            write: e.is_write(),
            task: e.returns_task,
            endpoints,
            extra: "",
            open_world: true,
            destructive: None,
            idempotent: None,
            needs: None,
        }
    }

    /// A read of these methods with a hand-made output schema.
    fn read(endpoints: Vec<&'static Endpoint>, output: Value, extra: &'static str) -> Parts {
        Parts {
            endpoints,
            output,
            write: false,
            task: false,
            extra,
            open_world: true,
            destructive: None,
            idempotent: None,
            needs: None,
        }
    }

    /// A tool that only reads the catalog.
    fn local(output: Value, extra: &'static str) -> Parts {
        Parts {
            open_world: false,
            destructive: Some(false),
            idempotent: Some(true),
            ..Parts::read(Vec::new(), output, extra)
        }
    }
}

fn custom(
    c: Custom,
    name: &'static str,
    props: &mut Map<String, Value>,
    req: &mut Vec<String>,
) -> Parts {
    use HttpMethod::Get;
    let get = |p| vec![ep(Get, p)];
    match c {
        Custom::GuestList => {
            for k in ["node", "pool", "tag"] {
                props.insert(k.into(), json!({"type": "string"}));
            }
            props.insert(
                "status".into(),
                json!({"enum": ["running", "stopped", "paused"]}),
            );
            props.insert("name".into(), string("Part of the name"));
            props.insert("type".into(), json!({"enum": ["qemu", "lxc"]}));
            props.insert(
                "fields".into(),
                json!({"type": "array", "items": {"type": "string"}, "description": "Fields to keep (vmid, name, status, ...)"}),
            );
            props.insert("limit".into(), limit_param(100));
            let out = json!({"type": "object", "properties": {
                "guests": {"type": "array"}, "total": {"type": "integer"}
            }, "required": ["guests", "total"]});
            Parts::read(get("/cluster/resources"), out, "")
        }
        Custom::GuestConfig => {
            let e = ep(Get, "/nodes/{node}/qemu/{vmid}/pending");
            guest_id_props(e, props);
            req.push("vmid".into());
            let out = json!({"type": "object", "properties": {
                "config": {"type": "object"}, "pending": {"type": "object"}
            }, "required": ["config"]});
            Parts::read(
                vec![e, ep(Get, "/nodes/{node}/lxc/{vmid}/pending")],
                out,
                "`pending` applies at the next restart.",
            )
        }
        Custom::ConfigUpdate => {
            let e = ep(HttpMethod::Put, "/nodes/{node}/qemu/{vmid}/config");
            guest_id_props(e, props);
            req.push("vmid".into());
            props.insert(
                "set".into(),
                json!({"type": "object", "description": "Such as {\"memory\": 4096, \"net0\": {...}}"}),
            );
            let list =
                |d: &str| json!({"type": "array", "items": {"type": "string"}, "description": d});
            props.insert("delete".into(), list("Keys to remove"));
            props.insert("tags_add".into(), list("Tags to add"));
            props.insert("tags_remove".into(), list("Tags to remove"));
            let out = json!({"type": "object", "properties": {
                "changes": {"type": "object", "description": "key: {old, new, pending (until a restart)}"}
            }});
            Parts {
                write: true,
                destructive: Some(false),
                idempotent: Some(false),
                ..Parts::read(
                    super::change::endpoints(),
                    out,
                    "A concurrent change is refused (digest); says what waits for a restart.",
                )
            }
        }
        Custom::CreateVm | Custom::CreateLxc => {
            let kind = if c == Custom::CreateVm { "qemu" } else { "lxc" };
            let e = ep(HttpMethod::Post, &format!("/nodes/{{node}}/{kind}"));
            props.insert("node".into(), string("Most free memory when absent"));
            props.insert("vmid".into(), json!({"type": "integer", "minimum": 100, "description": "Next free one when absent"}));
            props.insert("name".into(), json!({"type": "string"}));
            props.insert("cores".into(), json!({"type": "integer", "minimum": 1}));
            props.insert("start".into(), json!({"type": "boolean"}));
            if let Some(values) = args::parameters(e)
                .get("ostype")
                .and_then(|s| s.enum_values.clone())
            {
                props.insert("ostype".into(), json!({"enum": values}));
            }
            props.insert(
                "memory".into(),
                json!({"type": "integer", "minimum": 16, "description": "MiB"}),
            );
            let disk = if kind == "qemu" {
                "[{storage, size_gb}] (scsi0...) or PVE text"
            } else {
                "[{storage, size_gb}]: rootfs, mp0..."
            };
            props.insert(
                "disks".into(),
                json!({"type": "array", "description": disk}),
            );
            let nic = if kind == "qemu" {
                "[{bridge, model, tag, firewall}] (net0...)"
            } else {
                "[{bridge, ip: dhcp or CIDR, gw, tag}]"
            };
            props.insert("nics".into(), json!({"type": "array", "description": nic}));
            if kind == "qemu" {
                props.insert("iso".into(), string("Such as local:iso/debian.iso"));
            } else {
                props.insert(
                    "ostemplate".into(),
                    string("Such as local:vztmpl/debian-12.tar.zst"),
                );
                req.push("ostemplate".into());
                props.insert("password".into(), json!({"type": "string", "minLength": 5}));
                props.insert("ssh_public_keys".into(), json!({"type": "string"}));
            }
            props.insert(
                "extra".into(),
                string_obj("More PVE parameters (proxmox_api_describe)"),
            );
            Parts {
                write: true,
                destructive: Some(false),
                idempotent: Some(false),
                ..Parts::of(super::create::endpoints(kind), "data")
            }
        }
        Custom::Bulk => {
            let e = super::bulk::endpoints(name);
            for k in ["node", "tag", "pool"] {
                props.insert(k.into(), json!({"type": "string"}));
            }
            props.insert("name".into(), string("Part of the name"));
            props.insert("type".into(), json!({"enum": ["qemu", "lxc"]}));
            props.insert(
                "vmids".into(),
                json!({"type": "array", "items": {"type": "integer"}}),
            );
            props.insert(
                "concurrency".into(),
                json!({"type": "integer", "minimum": 1, "maximum": super::bulk::MAX_CONCURRENCY, "default": 4}),
            );
            if name == "proxmox_bulk_migrate" {
                exposed(e[0], &["target", "online"], props, req);
            }
            let out = json!({"type": "object", "properties": {
                "guests": {"type": "array", "description": "one line per guest with its result"},
                "matched": {"type": "integer"}, "acted_on": {"type": "integer"}
            }, "required": ["guests"]});
            Parts {
                write: true,
                task: true,
                destructive: Some(super::confirm::destructive(e[0])),
                idempotent: Some(false),
                ..Parts::read(
                    e,
                    out,
                    "Give at least one selector; dry_run lists who would be touched.",
                )
            }
        }
        Custom::NodeLog => {
            props.insert("node".into(), string("The only node when absent"));
            props.insert("source".into(), json!({"enum": ["syslog", "journal"]}));
            props.insert("service".into(), string("Such as pveproxy"));
            props.insert(
                "since".into(),
                string("Such as 24h, 7d, 90m, or a Unix epoch"),
            );
            props.insert(
                "lines".into(),
                json!({"type": "integer", "minimum": 1, "maximum": super::input::MAX_LIMIT, "default": 100}),
            );
            let out = json!({"type": "object", "properties": {
                "lines": {"type": "array", "items": {"type": "string"}}
            }, "required": ["lines"]});
            Parts::read(super::node::log_endpoints(), out, "")
        }
        Custom::GuestMetrics => {
            let eps = super::metrics::endpoints();
            guest_id_props(eps[0], props);
            req.push("vmid".into());
            let params = args::parameters(eps[0]);
            for (k, default) in [("timeframe", "hour"), ("cf", "AVERAGE")] {
                if let Some(mut p) = params.get(k).map(schema::param) {
                    p["default"] = json!(default);
                    if let Some(m) = p.as_object_mut() {
                        m.remove("description");
                    }
                    props.insert(k.into(), p);
                }
            }
            let out = json!({"type": "object", "properties": {
                "points": {"type": "integer"},
                "from": {"type": "string"}, "to": {"type": "string"},
                "measures": {"type": "object", "description": super::metrics::UNITS}
            }, "required": ["points", "measures"]});
            Parts::read(eps, out, "")
        }
        Custom::AgentInfo => {
            agent_vm(props, req);
            let out = json!({"type": "object", "properties": {
                "os": {}, "hostname": {}, "interfaces": {"type": "array"},
                "filesystems": {"type": "array", "description": "sizes in bytes"},
                "time": {"type": "string", "description": "UTC"}
            }});
            Parts {
                // Its `ping` and `fsfreeze-status` are POSTs that only read (agent::POST_READS).
                idempotent: Some(true),
                ..Parts::read(super::agent::info_endpoints(), out, "")
            }
        }
        Custom::AgentFileRead | Custom::AgentFileWrite | Custom::AgentCommand => {
            agent_tool(c, name, props, req)
        }
        Custom::Console => {
            let eps = super::console::endpoints();
            guest_id_props(eps[0], props);
            props.insert("kind".into(), json!({"enum": super::console::KINDS}));
            req.extend(["vmid".into(), "kind".into()]);
            let out = json!({"type": "object", "properties": {
                "web_console": {"type": "string"}, "file": {"type": "string"},
                "websocket": {"type": "string"}
            }});
            Parts {
                write: true,
                destructive: Some(false),
                idempotent: Some(false),
                ..Parts::read(eps, out, "")
            }
        }
        Custom::AgentExec => {
            agent_vm(props, req);
            props.insert(
                "command".into(),
                json!({"type": "array", "items": {"type": "string"}, "description": "The program and its arguments, such as [\"df\", \"-h\"]"}),
            );
            props.insert(
                "timeout".into(),
                json!({"type": "integer", "minimum": 1, "maximum": super::agent::MAX_EXEC_WAIT, "default": 30, "description": "Seconds to wait"}),
            );
            req.push("command".into());
            let out = json!({"type": "object", "properties": {
                "exitcode": {"type": "integer"}, "stdout": {"type": "string"}, "stderr": {"type": "string"}
            }});
            Parts {
                write: true,
                destructive: Some(true),
                idempotent: Some(false),
                ..Parts::read(
                    super::agent::exec_endpoints(),
                    out,
                    "Output is cut at 16 KiB.",
                )
            }
        }
        Custom::LxcExec => {
            props.insert("vmid".into(), json!({"type": "integer", "minimum": 100}));
            props.insert(
                "command".into(),
                json!({"type": "array", "items": {"type": "string"}, "description": "The program and its arguments, such as [\"df\", \"-h\"]"}),
            );
            props.insert(
                "timeout".into(),
                json!({"type": "integer", "minimum": 1, "maximum": super::lxc::MAX_TIMEOUT, "default": super::lxc::DEFAULT_TIMEOUT, "description": "Seconds to wait"}),
            );
            req.extend(["vmid".into(), "command".into()]);
            let out = json!({"type": "object", "properties": {
                "exitcode": {"type": ["integer", "null"]}, "stdout": {"type": "string"}, "stderr": {"type": "string"}
            }});
            Parts {
                write: true,
                destructive: Some(true),
                idempotent: Some(false),
                needs: Some(super::lxc::console().permission),
                ..Parts::read(super::lxc::endpoints(), out, "Output is cut at 16 KiB.")
            }
        }
        Custom::DiskResize
        | Custom::DiskMove
        | Custom::DiskDetach
        | Custom::DiskAdd
        | Custom::NicAdd
        | Custom::NicRemove => disk_tool(c, props, req),
        Custom::StorageConfig
        | Custom::StorageContent
        | Custom::ContentDelete
        | Custom::BackupPrune
        | Custom::DownloadUrl
        | Custom::Upload => content_tool(c, props, req),
        Custom::BackupRestore | Custom::FileRestoreList | Custom::FileRestoreRead => {
            restore_tool(c, props, req)
        }
        Custom::Backup => {
            let e = ep(HttpMethod::Post, "/nodes/{node}/vzdump");
            let vmid = ep(HttpMethod::Get, "/nodes/{node}/qemu/{vmid}/config");
            guest_id_props(vmid, props);
            props.remove("node");
            props.remove("type");
            req.push("vmid".into());
            exposed(
                e,
                &["storage", "mode", "compress", "notes-template", "protected"],
                props,
                req,
            );
            Parts {
                write: true,
                destructive: Some(false),
                idempotent: Some(false),
                ..Parts::of(super::backup::run_endpoints(), "data")
            }
        }
        Custom::BackupList => {
            props.insert("vmid".into(), json!({"type": "integer", "minimum": 100}));
            props.insert("storage".into(), json!({"type": "string"}));
            props.insert("limit".into(), limit_param(100));
            let out = json!({"type": "object", "properties": {
                "backups": {"type": "array", "items": {"type": "object", "properties": {
                    "volid": {"type": "string"}, "size": {"type": "integer", "description": "bytes"},
                    "ctime": {"type": "integer"}, "created": {"type": "string", "description": "UTC"}
                }}},
                "total": {"type": "integer"}
            }, "required": ["backups"]});
            Parts::read(super::backup::list_endpoints(), out, "")
        }
        Custom::StorageList => {
            props.insert("node".into(), json!({"type": "string"}));
            props.insert(
                "content".into(),
                json!({"enum": ["images", "rootdir", "iso", "vztmpl", "backup", "snippets", "import"],
                       "description": "Only storages that hold this content"}),
            );
            let out = json!({"type": "object", "properties": {
                "storages": {"type": "array", "items": {"type": "object", "properties": {
                    "storage": {"type": "string"}, "node": {"type": "string"},
                    "used_bytes": {"type": "integer"}, "total_bytes": {"type": "integer"},
                    "used_fraction": {"type": "number", "description": "0 to 1"}
                }}},
                "total": {"type": "integer"}
            }, "required": ["storages"]});
            Parts::read(get("/cluster/resources"), out, "")
        }
        Custom::NodeTask => {
            let list = ep(Get, "/nodes/{node}/tasks");
            props.insert("node".into(), string("Every node when absent"));
            props.insert("upid".into(), upid_param());
            exposed(list, &["vmid", "errors", "typefilter", "limit"], props, req);
            props.insert(
                "since".into(),
                string("Such as 24h, 7d, 90m, or a Unix epoch"),
            );
            cap_limit(props);
            let out = json!({"type": "object", "properties": {
                "tasks": {"type": "array", "description": "newest first; started/ended in UTC"},
                "task": {"type": "object"}, "total": {"type": "integer"}
            }});
            Parts::read(
                vec![list, ep(Get, "/nodes/{node}/tasks/{upid}/status")],
                out,
                "",
            )
        }
        Custom::TaskLog => {
            let e = ep(Get, "/nodes/{node}/tasks/{upid}/log");
            props.insert("upid".into(), upid_param());
            req.push("upid".into());
            exposed(e, &["start", "limit"], props, req);
            cap_limit(props);
            props.insert("tail".into(), json!({"type": "integer", "minimum": 1, "maximum": 5000, "description": "The last N lines"}));
            let out = json!({"type": "object", "properties": {
                "lines": {"type": "array", "items": {"type": "string"}},
                "total": {"type": "integer"}
            }, "required": ["lines"]});
            Parts::read(vec![e], out, "")
        }
        Custom::TaskWait => {
            props.insert("upid".into(), upid_param());
            req.push("upid".into());
            props.insert("wait".into(), wait_param());
            Parts::read(get("/nodes/{node}/tasks/{upid}/status"), task_output(), "")
        }
        Custom::ApiSearch => {
            props.insert("query".into(), string("Such as `qemu snapshot`"));
            req.push("query".into());
            props.insert("limit".into(), limit_param(20));
            let out = json!({"type": "object", "properties": {
                "methods": {"type": "array", "items": {"type": "object"}}, "total": {"type": "integer"}
            }, "required": ["methods"]});
            Parts::local(
                out,
                "Then use proxmox_api_describe, proxmox_api_get or proxmox_api_call.",
            )
        }
        Custom::ApiDescribe => {
            props.insert(
                "method".into(),
                json!({"type": "string", "enum": ["GET", "POST", "PUT", "DELETE"]}),
            );
            props.insert("path".into(), string("Such as /nodes/{node}/qemu"));
            props.insert("detail".into(), json!({"enum": ["compact", "full"]}));
            req.extend(["method".into(), "path".into()]);
            let out = json!({"type": "object", "properties": {
                "method": {"type": "string"}, "path": {"type": "string"}, "parameters": {"type": "object"}, "returns": {}
            }, "required": ["method", "path"]});
            Parts::local(out, "")
        }
        Custom::ApiGet => {
            props.insert("path".into(), string("Such as /nodes/pve1/qemu/100/config"));
            props.insert("params".into(), params_param());
            props.insert(
                "fields".into(),
                json!({"type": "array", "items": {"type": "string"}, "description": "Fields to keep"}),
            );
            props.insert("limit".into(), limit_param(100));
            req.push("path".into());
            let out =
                json!({"type": "object", "properties": {"data": {}, "total": {"type": "integer"}}});
            Parts {
                destructive: Some(false),
                idempotent: Some(true),
                ..Parts::read(Vec::new(), out, "")
            }
        }
        Custom::Servers => {
            let out = json!({"type": "object", "properties": {
                "servers": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "default": {"type": "boolean"},
                    "reachable": {"type": "boolean"}, "version": {"type": "string"},
                    "writes": {"type": "boolean"}, "error": {"type": "string"}
                }, "required": ["name", "reachable"]}}
            }, "required": ["servers"]});
            Parts::read(vec![ep(Get, "/version")], out, "")
        }
        Custom::ApiCall => {
            props.insert(
                "method".into(),
                json!({"type": "string", "enum": ["POST", "PUT", "DELETE"]}),
            );
            props.insert(
                "path".into(),
                string("Such as /nodes/pve1/qemu/100/snapshot"),
            );
            props.insert("params".into(), params_param());
            props.insert("wait".into(), wait_param());
            req.extend(["method".into(), "path".into()]);
            let out = json!({"type": "object", "properties": {
                "data": {}, "upid": {"type": "string"}, "status": {"type": "string"}
            }});
            Parts {
                write: true,
                destructive: Some(true),
                idempotent: Some(false),
                ..Parts::read(Vec::new(), out, "Waits for a task it starts.")
            }
        }
    }
}

/// The VM of an agent tool: its VMID, and its node (looked up when absent).
fn agent_vm(props: &mut Map<String, Value>, req: &mut Vec<String>) {
    props.insert("vmid".into(), json!({"type": "integer", "minimum": 100}));
    props.insert("node".into(), json!({"type": "string"}));
    req.push("vmid".into());
}

/// The agent's file tools and actions.
fn agent_tool(
    c: Custom,
    name: &str,
    props: &mut Map<String, Value>,
    req: &mut Vec<String>,
) -> Parts {
    use super::agent;
    agent_vm(props, req);
    let obj = |p: Value| json!({"type": "object", "properties": p});
    if c == Custom::AgentFileRead {
        let eps = agent::file_read_endpoints();
        exposed(eps[0], &["file", "offset"], props, req);
        let out = obj(json!({
            "content": {"type": "string"}, "bytes": {"type": "integer"},
            "encoding": {"enum": ["base64"]}, "truncated": {"type": "boolean"},
            "next_offset": {"type": "integer"}
        }));
        return Parts::read(eps, out, "");
    }
    let (eps, out, idempotent) = if c == Custom::AgentFileWrite {
        let eps = agent::file_write_endpoints();
        exposed(eps[0], &["file"], props, req);
        let max = agent::max_write(eps[0]);
        props.insert(
            "content".into(),
            json!({"type": "string", "description": format!("UTF-8, at most {max} bytes")}),
        );
        req.push("content".into());
        let out = obj(json!({"file": {"type": "string"}, "bytes": {"type": "integer"}}));
        (eps, out, true)
    } else {
        let eps = agent::command_endpoints(name);
        let out = match name {
            "proxmox_agent_fsfreeze" => {
                props.insert("action".into(), json!({"enum": agent::FSFREEZE_ACTIONS}));
                req.push("action".into());
                obj(json!({"filesystems": {"type": "integer"}}))
            }
            "proxmox_agent_suspend" => {
                props.insert("mode".into(), json!({"enum": agent::SUSPEND_MODES}));
                req.push("mode".into());
                json!({"type": "object"})
            }
            "proxmox_agent_fstrim" => obj(json!({"paths": {"type": "array"}})),
            "proxmox_agent_set_password" => {
                exposed(eps[0], &["username", "password", "crypted"], props, req);
                props.insert(
                    "crypted".into(),
                    json!({"type": "boolean", "description": "`password` is already crypt()ed"}),
                );
                json!({"type": "object"})
            }
            _ => json!({"type": "object"}),
        };
        let idempotent = name == "proxmox_agent_set_password";
        (eps, out, idempotent)
    };
    Parts {
        write: true,
        idempotent: Some(idempotent),
        ..Parts::read(eps, out, "")
    }
}

/// The disk tools: a guest by VMID, the disk by its key.
fn disk_tool(c: Custom, props: &mut Map<String, Value>, req: &mut Vec<String>) -> Parts {
    use super::disk;
    let eps = match c {
        Custom::DiskResize => disk::resize_endpoints(),
        Custom::DiskMove => disk::move_endpoints(),
        Custom::DiskDetach => disk::detach_endpoints(),
        // A disk or a NIC: a configuration change.
        _ => disk::add_endpoints(),
    };
    guest_id_props(eps[0], props);
    req.push("vmid".into());
    let key = |d: &str| json!({"type": "string", "description": d});
    let (extra, output, destructive) = match c {
        Custom::DiskResize => {
            props.insert("disk".into(), key("Such as scsi0, rootfs or mp0"));
            props.insert(
                "size".into(),
                key("+10G grows by 10 GiB, 50G grows to 50 GiB (K, M, G, T)"),
            );
            props.insert(
                "grow_gb".into(),
                json!({"type": "integer", "minimum": 1, "description": "GiB to add (instead of size)"}),
            );
            req.push("disk".into());
            ("A shrink is refused before sending.", task_output(), false)
        }
        Custom::DiskMove => {
            props.insert("disk".into(), key("Such as scsi0, rootfs or mp0"));
            props.insert("storage".into(), key("Target storage"));
            props.insert(
                "delete".into(),
                json!({"type": "boolean", "description": "Delete the source (else kept as unusedN)"}),
            );
            req.extend(["disk".into(), "storage".into()]);
            ("", task_output(), false)
        }
        Custom::DiskDetach => {
            props.insert("disk".into(), key("Such as scsi1, mp0 or unused0"));
            props.insert(
                "destroy".into(),
                json!({"type": "boolean", "description": "Delete the volume and its data"}),
            );
            req.push("disk".into());
            let out = json!({"type": "object", "properties": {
                "unused": {"type": "string", "description": "where the volume is kept"},
                "disks": {"type": "array", "items": {"type": "string"}}
            }});
            ("", out, true)
        }
        Custom::NicAdd => {
            props.insert(
                "nic".into(),
                json!({"type": ["object", "string"], "description": "VM: {bridge, model, tag, firewall, macaddr}; container: {bridge, ip: dhcp or CIDR, gw, tag, name}"}),
            );
            props.insert(
                "slot".into(),
                key("Such as net1; the next free one when absent"),
            );
            req.push("nic".into());
            let out = json!({"type": "object", "properties": {
                "nic": {"type": "string"}, "value": {"type": "string"}
            }});
            ("The digest read just before is sent.", out, false)
        }
        Custom::NicRemove => {
            props.insert("nic".into(), key("Such as net1"));
            req.push("nic".into());
            let out = json!({"type": "object", "properties": {
                "nics": {"type": "array", "items": {"type": "string"}}
            }});
            ("", out, true)
        }
        _ => {
            props.insert("storage".into(), key("Such as local-lvm"));
            props.insert("size_gb".into(), json!({"type": "integer", "minimum": 1}));
            props.insert(
                "slot".into(),
                key("Such as scsi2 or mp1; the next free one when absent"),
            );
            props.insert(
                "path".into(),
                key("A container's mount point inside it, such as /srv/data"),
            );
            props.insert(
                "options".into(),
                string_obj("Keys of the disk format, such as {\"ssd\": true, \"iothread\": true}"),
            );
            req.extend(["storage".into(), "size_gb".into()]);
            let out = json!({"type": "object", "properties": {
                "disk": {"type": "string"}, "value": {"type": "string"}
            }});
            ("The digest read just before is sent.", out, false)
        }
    };
    let task = matches!(c, Custom::DiskResize | Custom::DiskMove);
    let needs = match c {
        Custom::NicAdd | Custom::NicRemove => "VM.Config.Network on /vms/{vmid}",
        Custom::DiskAdd => {
            "VM.Config.Disk on /vms/{vmid} and Datastore.AllocateSpace on /storage/{storage}"
        }
        _ => "VM.Config.Disk on /vms/{vmid}",
    };
    Parts {
        write: true,
        task,
        needs: Some(needs),
        destructive: Some(destructive),
        idempotent: Some(false),
        ..Parts::read(eps, output, extra)
    }
}

/// `node` of a storage tool: found from the storage when absent.
fn storage_node(props: &mut Map<String, Value>) {
    props.insert("node".into(), string("Found from the storage when absent"));
}

/// The tools of the `content` toolset: a storage's definitions and volumes.
fn content_tool(c: Custom, props: &mut Map<String, Value>, req: &mut Vec<String>) -> Parts {
    use super::content;
    let eps = content::endpoints(c);
    let volume = |d: &str| json!({"type": "string", "description": d});
    match c {
        Custom::StorageConfig => {
            props.insert(
                "storage".into(),
                string("One storage; every one when absent"),
            );
            exposed(eps[0], &["type"], props, req);
            let out = json!({"type": "object", "properties": {
                "storages": {"type": "array", "items": {"type": "object", "properties": {
                    "storage": {"type": "string"}, "type": {"type": "string"},
                    "content": {"type": "array", "items": {"type": "string"}},
                    "shared": {"type": "boolean"}, "nodes": {"type": "array", "items": {"type": "string"}}
                }}},
                "storage": {"type": "object"}, "total": {"type": "integer"}
            }});
            Parts::read(eps, out, "")
        }
        Custom::StorageContent => {
            props.insert("storage".into(), string("Such as local"));
            req.push("storage".into());
            storage_node(props);
            props.insert(
                "content".into(),
                json!({"enum": content::CONTENT_TYPES, "description": "Only volumes of this content type"}),
            );
            exposed(eps[0], &["vmid"], props, req);
            props.insert("limit".into(), limit_param(100));
            let out = json!({"type": "object", "properties": {
                "volumes": {"type": "array", "items": {"type": "object", "properties": {
                    "volid": {"type": "string"}, "content": {"type": "string"},
                    "size": {"type": "integer", "description": "bytes"},
                    "created": {"type": "string", "description": "UTC"}
                }}},
                "total": {"type": "integer"}, "storage": {"type": "string"}, "node": {"type": "string"}
            }, "required": ["volumes", "total"]});
            Parts::read(eps, out, "")
        }
        Custom::ContentDelete => {
            props.insert(
                "volume".into(),
                volume("Volume ID, such as local:iso/debian.iso (proxmox_storage_content)"),
            );
            req.push("volume".into());
            storage_node(props);
            Parts {
                write: true,
                task: true,
                destructive: Some(true),
                idempotent: Some(false),
                needs: Some(
                    "Datastore.Allocate on /storage/{storage} (a backup: Datastore.AllocateSpace \
                     there and VM.Backup on /vms/{vmid})",
                ),
                ..Parts::read(eps, task_output(), "A disk a guest still uses is refused.")
            }
        }
        Custom::BackupPrune => {
            props.insert("storage".into(), string("Such as local"));
            req.push("storage".into());
            storage_node(props);
            exposed(eps[0], &["vmid", "type"], props, req);
            for k in content::KEEP {
                props.insert(
                    k.replace('-', "_"),
                    json!({"type": "integer", "minimum": 0}),
                );
            }
            props.insert("keep_all".into(), json!({"type": "boolean"}));
            let out = json!({"type": "object", "properties": {
                "upid": {"type": "string"}, "status": {"type": "string"},
                "removed": {"type": "array", "items": {"type": "string"}},
                "kept": {"type": "integer"}
            }});
            Parts {
                write: true,
                task: true,
                destructive: Some(true),
                idempotent: Some(false),
                needs: Some(
                    "Datastore.Allocate on /storage/{storage}, or Datastore.AllocateSpace there \
                     and VM.Backup on each guest's /vms/{vmid}",
                ),
                ..Parts::read(
                    eps,
                    out,
                    "Without keep_* the storage's own retention applies; dry_run lists what would \
                     go.",
                )
            }
        }
        Custom::DownloadUrl => {
            exposed(
                eps[0],
                &[
                    "url",
                    "content",
                    "filename",
                    "checksum",
                    "checksum-algorithm",
                    "verify-certificates",
                ],
                props,
                req,
            );
            props.insert("storage".into(), string("Such as local"));
            storage_node(props);
            req.retain(|r| r != "filename" && r != "content");
            req.push("storage".into());
            if let Some(f) = props.get_mut("filename") {
                f["description"] = json!("The URL's last segment when absent");
            }
            if let Some(f) = props.get_mut("content") {
                f["description"] = json!("From the file's extension when absent");
            }
            Parts {
                write: true,
                destructive: Some(false),
                idempotent: Some(false),
                ..Parts::of(eps, "data")
            }
        }
        _ => {
            props.insert(
                "path".into(),
                string("The file, inside the server's upload directory (relative or absolute)"),
            );
            props.insert("storage".into(), string("Such as local"));
            req.extend(["path".into(), "storage".into()]);
            storage_node(props);
            exposed(eps[0], &["content", "filename"], props, req);
            req.retain(|r| r != "filename" && r != "content");
            if let Some(f) = props.get_mut("filename") {
                f["description"] = json!("The local file's name when absent");
            }
            if let Some(f) = props.get_mut("content") {
                f["description"] = json!("From the file's extension when absent");
            }
            Parts {
                write: true,
                destructive: Some(false),
                idempotent: Some(false),
                ..Parts::of(eps, "data")
            }
        }
    }
}

/// The tools of the `restore` toolset: a backup back to a guest, files out of a backup.
fn restore_tool(c: Custom, props: &mut Map<String, Value>, req: &mut Vec<String>) -> Parts {
    use super::restore;
    let eps = restore::endpoints(c);
    let volume = if c == Custom::BackupRestore {
        "Backup volume ID, such as local:backup/vzdump-qemu-100-....vma.zst"
    } else {
        "PBS backup volume ID, such as pbs:backup/vm/100/2025-01-01T00:00:00Z"
    };
    props.insert("volume".into(), string(volume));
    req.push("volume".into());
    match c {
        Custom::BackupRestore => {
            props.insert(
                "vmid".into(),
                json!({"type": "integer", "minimum": 100, "description": "Next free one when absent"}),
            );
            props.insert(
                "force".into(),
                json!({"type": "boolean", "description": "Overwrite the existing guest of `vmid`: its disks and configuration are lost"}),
            );
            props.insert(
                "node".into(),
                string("The guest's node; for a new one, the backup storage's node"),
            );
            exposed(eps[0], &["storage", "unique", "start"], props, req);
            props.insert(
                "storage".into(),
                string("Storage for the restored disks; the backup's own when absent"),
            );
            let out = json!({"type": "object", "properties": {
                "upid": {"type": "string"}, "status": {"enum": ["OK", "running"]},
                "vmid": {"type": "integer"}, "type": {"enum": ["qemu", "lxc"]}, "node": {"type": "string"}
            }});
            Parts {
                write: true,
                task: true,
                destructive: Some(true),
                idempotent: Some(false),
                needs: Some(
                    "VM.Allocate on /vms/{vmid} (over an existing guest: VM.Backup there), \
                     Datastore.AllocateSpace on the target storage",
                ),
                ..Parts::read(
                    eps,
                    out,
                    "Over an existing guest the person is asked first.",
                )
            }
        }
        Custom::FileRestoreList => {
            props.insert(
                "path".into(),
                string("Such as /drive-scsi0.img.fidx/part/1/etc; / when absent"),
            );
            storage_node(props);
            props.insert("limit".into(), limit_param(200));
            let out = json!({"type": "object", "properties": {
                "entries": {"type": "array", "items": {"type": "object", "properties": {
                    "path": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
                    "size": {"type": "integer"}, "modified": {"type": "string"}
                }}},
                "total": {"type": "integer"}, "path": {"type": "string"}
            }, "required": ["entries"]});
            Parts::read(eps, out, "")
        }
        _ => {
            props.insert(
                "path".into(),
                string("A file, such as /root.pxar.didx/etc/hostname (proxmox_file_restore_list)"),
            );
            req.push("path".into());
            storage_node(props);
            let out = json!({"type": "object", "properties": {
                "path": {"type": "string"}, "encoding": {"enum": ["utf-8", "base64"]},
                "content": {"type": "string"}, "bytes": {"type": "integer"}, "cut": {"type": "boolean"}
            }, "required": ["content"]});
            Parts::read(eps, out, "")
        }
    }
}

/// A `limit` taken from the catalog gets the maximum the server allows.
fn cap_limit(props: &mut Map<String, Value>) {
    if let Some(limit) = props.get_mut("limit").and_then(Value::as_object_mut) {
        limit.insert("maximum".into(), json!(super::input::MAX_LIMIT));
    }
}

fn limit_param(default: u64) -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": super::input::MAX_LIMIT, "default": default})
}

fn params_param() -> Value {
    json!({"type": "object", "description": "See proxmox_api_describe"})
}

/// Every tool of the table (the unit tests check them all; the server builds only those it
/// serves, [`select`]).
#[cfg(test)]
pub fn all() -> Vec<BuiltTool> {
    TOOLS.iter().map(build).collect()
}

/// Which tools are served: whole toolsets, plus single tools, minus excluded ones
/// (`--toolsets`, `--tools`, `--exclude-tools`). `--read-only` still drops every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Toolsets served whole.
    pub toolsets: Vec<Toolset>,
    /// Tools served besides those toolsets.
    pub add: Vec<&'static str>,
    /// Tools left out even when their toolset is served.
    pub exclude: Vec<&'static str>,
}

impl Default for Selection {
    /// The default toolsets.
    fn default() -> Self {
        Selection::of(&Toolset::DEFAULT)
    }
}

impl Selection {
    /// These toolsets, whole.
    pub fn of(toolsets: &[Toolset]) -> Selection {
        Selection {
            toolsets: toolsets.to_vec(),
            add: Vec::new(),
            exclude: Vec::new(),
        }
    }

    /// True when the declaration is selected (before `--read-only` and the server count).
    pub fn wants(&self, decl: &ToolDecl) -> bool {
        (self.toolsets.contains(&decl.toolset) || self.add.contains(&decl.name))
            && !self.exclude.contains(&decl.name)
    }

    /// Why a tool of the table is not served, in words, or `None` when it is selected.
    pub fn why_not(&self, decl: &ToolDecl) -> Option<String> {
        if self.exclude.contains(&decl.name) {
            Some("it is left out by --exclude-tools (PROXMOX_MCP_EXCLUDE_TOOLS)".to_string())
        } else if !self.wants(decl) {
            Some(format!(
                "its toolset `{}` is not served (--toolsets, PROXMOX_MCP_TOOLSETS; or add the \
                 tool alone with --tools)",
                decl.toolset.name()
            ))
        } else {
            None
        }
    }
}

/// The selected tools, without writes when `read_only`; `proxmox_servers` and a `server`
/// argument on every tool only when more than one server is configured (`servers` lists them,
/// the default first).
pub fn select(selection: &Selection, read_only: bool, servers: &[&str]) -> Vec<BuiltTool> {
    let several = servers.len() > 1;
    // Only the tools served are built (each reads its methods' schemas from the catalog).
    TOOLS
        .iter()
        .filter(|decl| match decl.action {
            Action::Custom(Custom::Servers) => several,
            _ => selection.wants(decl),
        })
        .map(build)
        .filter(|t| !(read_only && t.write))
        .map(|t| if several { with_server(t, servers) } else { t })
        .collect()
}

/// `tool` with an optional `server` argument naming one of `servers`; the server's instructions
/// and `proxmox_servers` say which is the default.
fn with_server(mut tool: BuiltTool, servers: &[&str]) -> BuiltTool {
    if matches!(tool.decl.action, Action::Custom(Custom::Servers)) {
        return tool;
    }
    if let Some(props) = tool.input["properties"].as_object_mut() {
        props.insert("server".into(), json!({"enum": servers}));
    }
    tool.tool.input_schema = obj(tool.input.clone());
    tool
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's methods in the guest areas each have a curated tool that calls that method
    /// (or, where the row says so, a better one).
    #[test]
    fn every_seed_method_of_the_guest_areas_has_a_curated_tool() {
        let tools = all();
        let rows = include_str!("seed002_coverage.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
        let mut checked = 0;
        for row in rows {
            let cols: Vec<&str> = row.split('\t').collect();
            let [method, path, name, instead] = cols[..] else {
                panic!("a row of seed002_coverage.tsv is not 4 columns: {row:?}");
            };
            let tool = tools
                .iter()
                .find(|t| t.decl.name == name)
                .unwrap_or_else(|| panic!("{method} {path}: no tool {name}"));
            assert!(
                !matches!(tool.decl.toolset, Toolset::Api),
                "{name} is a generic tool"
            );
            let calls = tool
                .endpoints
                .iter()
                .any(|e| e.method.as_str() == method && e.path == path);
            assert!(
                calls || !instead.is_empty(),
                "{name} does not call {method} {path}: {:?}",
                tool.endpoints
                    .iter()
                    .map(|e| format!("{} {}", e.method, e.path))
                    .collect::<Vec<_>>()
            );
            checked += 1;
        }
        assert!(checked >= 100, "{checked} rows");
    }

    #[test]
    fn every_declaration_builds_from_the_catalog() {
        let tools = all();
        assert_eq!(tools.len(), TOOLS.len());
        let mut names: Vec<&str> = tools.iter().map(|t| t.decl.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), tools.len(), "duplicate tool names");
        for t in &tools {
            assert!(t.decl.name.starts_with("proxmox_"), "{}", t.decl.name);
            let a = t.tool.annotations.as_ref().unwrap();
            assert_eq!(a.read_only_hint, Some(!t.write), "{}", t.decl.name);
            // A tool that starts a task takes `wait`.
            if t.endpoints.first().is_some_and(|e| e.returns_task) {
                assert!(
                    t.input["properties"].get("wait").is_some(),
                    "{}",
                    t.decl.name
                );
            }
        }
        let by = |n: &str| tools.iter().find(|t| t.decl.name == n).unwrap();
        let stop = by("proxmox_guest_stop");
        assert_eq!(
            stop.tool.annotations.as_ref().unwrap().destructive_hint,
            Some(true)
        );
        assert!(
            stop.tool
                .description
                .as_deref()
                .unwrap()
                .contains("VM.PowerMgmt on /vms/{vmid}")
        );
        let start = by("proxmox_guest_start");
        assert_eq!(
            start.tool.annotations.as_ref().unwrap().destructive_hint,
            Some(false)
        );
        // Ranges come from the catalog.
        assert_eq!(start.input["properties"]["vmid"]["minimum"], 100);
        let shutdown = by("proxmox_guest_shutdown");
        assert_eq!(shutdown.input["properties"]["forceStop"]["type"], "boolean");
    }

    #[test]
    fn read_only_drops_every_write() {
        let tools = select(&Selection::of(&Toolset::ALL), true, &[]);
        assert!(tools.iter().all(|t| !t.write));
        assert!(!tools.iter().any(|t| t.decl.name == "proxmox_api_call"));
        assert!(tools.iter().any(|t| t.decl.name == "proxmox_api_get"));
    }

    #[test]
    fn several_servers_add_a_server_argument_and_proxmox_servers() {
        let size = |tools: &[BuiltTool]| tools.iter().map(BuiltTool::bytes).sum::<usize>();
        let one = select(&Selection::of(&Toolset::ALL), false, &["pve"]);
        assert!(!one.iter().any(|t| t.decl.name == "proxmox_servers"));
        assert!(
            one.iter()
                .all(|t| t.input["properties"].get("server").is_none())
        );
        let two = select(&Selection::of(&Toolset::ALL), false, &["prod", "lab"]);
        assert_eq!(two.len(), one.len() + 1);
        for t in &two {
            let arg = &t.input["properties"]["server"];
            if t.decl.name == "proxmox_servers" {
                assert!(arg.is_null());
            } else {
                assert_eq!(arg["enum"], json!(["prod", "lab"]), "{}", t.decl.name);
                // Listed as built: the schema in tools/list carries it too.
                assert!(t.tool.input_schema.get("properties").unwrap()["server"].is_object());
            }
        }
        // What several servers cost in tools/list (docs/PERFORMANCE.md): about 40 bytes a tool
        // for two servers, and proxmox_servers (1,242 bytes with 19 tools).
        let extra = size(&two) - size(&one);
        assert!(
            extra < 45 * one.len() + 600,
            "{extra} bytes for {} tools",
            one.len()
        );
    }
}
