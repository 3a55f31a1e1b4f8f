//! The MCP layer's side of the audit log: one line per write attempt and what became of it.
//! Without `--audit-log` nothing is written.

use serde_json::Value;

use super::send::Attempt;

/// What became of a write attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Refused: the server does not allow writes.
    RefusedElevation,
    /// Refused: the server is read-only.
    RefusedReadOnly,
    /// Refused: the confirmation policy refuses unconfirmed destructive calls.
    RefusedPolicy,
    /// Refused: the person declined or cancelled.
    RefusedConfirmation,
    /// Not sent yet: the client was asked for the person's confirmation (protocol 2026-07-28)
    /// and will send the call again with the answer.
    AskedInput,
    /// Refused: the permission pre-flight found a privilege missing.
    RefusedPreflight,
    /// A dry run: checked, nothing sent.
    DryRun,
    /// About to be sent (written before the request leaves).
    Sent,
    /// PVE's answer to a write that was sent.
    Answered,
    /// The task a write started has ended.
    TaskEnded,
}

/// The audit log, when one is configured.
pub type Log = ();

/// Writes one line (placeholder until the log is wired).
#[allow(clippy::too_many_arguments)]
pub fn write(
    _log: Option<&Log>,
    _server: &str,
    _tool: &str,
    _attempt: &Attempt<'_>,
    _args: &Value,
    _decision: Decision,
    _answer: Option<&str>,
    _task: Option<Value>,
) -> Result<(), String> {
    Ok(())
}
