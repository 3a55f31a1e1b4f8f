//! The MCP layer's side of the audit log (`crate::audit`): one line per write attempt and what
//! became of it. Without `--audit-log` nothing is written.

use serde_json::Value;

use crate::audit::Entry;
pub use crate::audit::{AuditLog as Log, Decision};

use super::send::Attempt;

/// Writes one line when there is a log. An error means the log could not hold the line.
#[allow(clippy::too_many_arguments)]
pub fn write(
    log: Option<&Log>,
    server: &str,
    tool: &str,
    attempt: &Attempt<'_>,
    args: &Value,
    decision: Decision,
    answer: Option<&str>,
    task: Option<Value>,
) -> Result<(), String> {
    let Some(log) = log else {
        return Ok(());
    };
    log.record(Entry {
        server: server.to_string(),
        tool: tool.to_string(),
        method: attempt.method.to_string(),
        path: attempt.path.to_string(),
        args: args.clone(),
        decision,
        answer: answer.map(str::to_string),
        task,
    })
    .map_err(|e| {
        format!(
            "the audit log cannot be written ({e}), so the write was refused. Nothing was sent."
        )
    })
}
