//! Which methods start a task (return a UPID).
//!
//! The schema does not mark them: of the writes that return a bare string, only about twenty say
//! "UPID" or "task ID". The rule here is that a non-GET method returning a string starts a task,
//! except for the writes listed in [`NOT_TASKS`], whose string is something else.

use crate::apidoc::{HttpMethod, MethodDef, SchemaType};

/// Writes that return a string which is not a UPID, with what it is.
pub const NOT_TASKS: &[(&str, &str, &str)] = &[
    ("POST", "/access/openid/auth-url", "a redirection URL"),
    ("POST", "/cluster/sdn/lock", "the lock token"),
    (
        "POST",
        "/nodes/{node}/qemu/{vmid}/monitor",
        "the monitor command's output",
    ),
    (
        "POST",
        "/nodes/{node}/replication/{id}/schedule_now",
        "the job id",
    ),
    (
        "POST",
        "/nodes/{node}/storage/{storage}/content",
        "the new volume's id",
    ),
    (
        "POST",
        "/nodes/{node}/wakeonlan",
        "the MAC address the packet went to",
    ),
];

/// True when the method starts a worker task and returns its UPID.
pub fn returns_task(m: &MethodDef) -> bool {
    if m.method == HttpMethod::Get || m.returns.ty != Some(SchemaType::String) {
        return false;
    }
    !NOT_TASKS
        .iter()
        .any(|(method, path, _)| *method == m.method.as_str() && *path == m.path)
}
