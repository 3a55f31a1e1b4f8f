//! The real `proxmox-mcp serve` as a child process, driven by rmcp's client over stdio, against a
//! fakepve.

#![allow(dead_code)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, FormElicitationCapability, ProgressNotificationParam,
    Tool,
};
use rmcp::service::{NotificationContext, RequestContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::common::FakePve;

/// How the test client answers when the server asks the person to confirm (MCP elicitation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Accept with `confirm: true` (the default of [`Mcp::start`]).
    Accept,
    /// Decline.
    Decline,
    /// The client does not declare elicitation at all.
    CannotAsk,
}

/// Collects progress notifications and answers confirmation requests.
#[derive(Clone)]
pub struct Handler {
    progress: mpsc::UnboundedSender<ProgressNotificationParam>,
    answer: Answer,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Handler {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.progress.send(params);
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request {
            self.asked.lock().unwrap().push(message.clone());
        }
        Ok(match self.answer {
            Answer::Accept => ElicitResult::new(ElicitationAction::Accept)
                .with_content(serde_json::json!({"confirm": true})),
            _ => ElicitResult::new(ElicitationAction::Decline),
        })
    }

    fn get_info(&self) -> ClientConfig {
        let mut info = ClientConfig::default();
        if self.answer != Answer::CannotAsk {
            let mut e = ElicitationCapability::default();
            e.form = Some(FormElicitationCapability::default());
            info.capabilities.elicitation = Some(e);
        }
        info
    }
}

/// A running server and the client connected to it.
pub struct Mcp {
    /// The client.
    pub client: RunningService<RoleClient, Handler>,
    /// Progress notifications received.
    pub progress: mpsc::UnboundedReceiver<ProgressNotificationParam>,
    /// The server's process id.
    pub pid: u32,
    stderr: Arc<Mutex<String>>,
    asked: Arc<Mutex<Vec<String>>>,
}

/// The variables that point the binary at `pve` with alice's token and its pinned certificate.
pub fn env(pve: &FakePve) -> Vec<(String, String)> {
    [
        ("PROXMOX_HOST", pve.host().to_string()),
        ("PROXMOX_PORT", pve.port().to_string()),
        ("PROXMOX_USER", "alice@pve".to_string()),
        ("PROXMOX_TOKEN_NAME", "ci".to_string()),
        ("PROXMOX_TOKEN_VALUE", pve.alice().token_secret.clone()),
        ("PROXMOX_FINGERPRINT", pve.fingerprint().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// [`env`] with bob's token (`bob@pve!ro`, which may only look until granted more).
pub fn bob_env(pve: &FakePve) -> Vec<(String, String)> {
    let mut vars = env(pve);
    for (k, v) in vars.iter_mut() {
        match k.as_str() {
            "PROXMOX_USER" => *v = "bob@pve".into(),
            "PROXMOX_TOKEN_NAME" => *v = "ro".into(),
            "PROXMOX_TOKEN_VALUE" => *v = pve.bob().token_secret.clone(),
            _ => {}
        }
    }
    vars
}

impl Mcp {
    /// Starts `proxmox-mcp serve ARGS` with exactly these variables; the client confirms what
    /// the server asks.
    pub async fn start(vars: &[(String, String)], args: &[&str]) -> Mcp {
        Mcp::start_answering(vars, args, Answer::Accept).await
    }

    /// The questions the server asked the person so far.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }

    /// Starts `proxmox-mcp serve ARGS` with these variables; the client answers confirmation
    /// requests with `answer`.
    pub async fn start_answering(vars: &[(String, String)], args: &[&str], answer: Answer) -> Mcp {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"));
        cmd.arg("serve")
            .args(args)
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (transport, stderr) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn proxmox-mcp serve");
        let pid = transport.id().expect("the child's pid");
        let buf = Arc::new(Mutex::new(String::new()));
        if let Some(mut stderr) = stderr {
            let buf = buf.clone();
            tokio::spawn(async move {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    buf.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            });
        }
        let (tx, progress) = mpsc::unbounded_channel();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let client = Handler {
            progress: tx,
            answer,
            asked: asked.clone(),
        }
        .serve(transport)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "MCP initialize failed: {e}; stderr: {}",
                buf.lock().unwrap()
            )
        });
        Mcp {
            client,
            progress,
            pid,
            stderr: buf,
            asked,
        }
    }

    /// Starts a server for `pve` as alice, with extra variables.
    pub async fn alice(pve: &FakePve, extra: &[(&str, &str)], args: &[&str]) -> Mcp {
        let mut vars = env(pve);
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Mcp::start(&vars, args).await
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// tools/list.
    pub async fn tools(&self) -> Vec<Tool> {
        self.client.list_all_tools().await.expect("tools/list")
    }

    /// Calls a tool; a protocol error panics.
    pub async fn call(&self, name: &str, args: Value) -> CallToolResult {
        let args: Map<String, Value> = args.as_object().cloned().unwrap_or_default();
        self.client
            .call_tool(CallToolRequestParams::new(name.to_string()).with_arguments(args))
            .await
            .unwrap_or_else(|e| panic!("{name}: protocol error {e}; stderr: {}", self.stderr()))
    }

    /// Calls a tool that must succeed; returns its structured content.
    pub async fn ok(&self, name: &str, args: Value) -> Value {
        let r = self.call(name, args).await;
        assert_ne!(r.is_error, Some(true), "{name} failed: {}", text(&r));
        let s = r.structured_content.clone().expect("structured content");
        assert!(s.is_object(), "{s}");
        let tools = self.tools().await;
        let tool = tools.iter().find(|t| t.name == name).expect("listed");
        let schema = Value::Object(tool.output_schema.as_deref().cloned().unwrap_or_default());
        if let Err(e) = conforms(&s, &schema) {
            panic!("{name}: the result does not fit its outputSchema: {e}\n{s}\n{schema}");
        }
        assert_eq!(
            serde_json::from_str::<Value>(&text(&r)).ok().as_ref(),
            Some(&s),
            "the text is not the structured content"
        );
        s
    }

    /// Calls a tool that must fail; returns its text.
    pub async fn err(&self, name: &str, args: Value) -> String {
        let r = self.call(name, args).await;
        assert_eq!(r.is_error, Some(true), "{name} did not fail: {}", text(&r));
        text(&r)
    }
}

/// The text content of a result.
pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks the parts of JSON Schema the server's output schemas use: `type` (one or a list),
/// `enum`, `required`, `properties` and array `items`, recursively.
pub fn conforms(v: &Value, schema: &Value) -> Result<(), String> {
    let fits = |t: &str| match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => true,
    };
    match schema.get("type") {
        Some(Value::String(t)) if !fits(t) => return Err(format!("{v} is not {t}")),
        Some(Value::Array(ts)) if !ts.iter().any(|t| fits(t.as_str().unwrap_or(""))) => {
            return Err(format!("{v} is none of {ts:?}"));
        }
        _ => {}
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.contains(v)
    {
        return Err(format!("{v} is not one of {values:?}"));
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap_or("");
            if !obj.contains_key(r) {
                return Err(format!("`{r}` is missing"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, sub) in props {
                if let Some(x) = obj.get(k) {
                    conforms(x, sub).map_err(|e| format!("{k}: {e}"))?;
                }
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), v.as_array()) {
        for (i, x) in list.iter().enumerate() {
            conforms(x, items).map_err(|e| format!("[{i}]: {e}"))?;
        }
    }
    Ok(())
}
