//! The MCP server: a table of tools projected from the SDK's catalog, one call pipeline, rmcp over
//! stdio. It lives in the binary's compilation unit, so editing a tool does not rebuild the SDK.
//!
//! * [`table`]: the tool declarations.
//! * [`tools`]: each declaration built from the catalog (schemas, annotations, descriptions).
//! * [`schema`]: PVE schema nodes as JSON Schema.
//! * [`call`]: the top of the pipeline (server, refusals that need no arguments, argument
//!   checks, dispatch).
//! * [`custom`]: tools that are more than one method call; it dispatches the generic API tools.
//! * [`generic`]: the generic API tools (search, describe, get, call) that reach every method.
//! * [`change`]: a guest's configuration changed with the digest read just before;
//!   [`create`]: a VM or a container created in one call.
//! * [`storage`]: storage usage; [`backup`]: backups run and listed; [`agent`]: a VM's guest
//!   agent; [`console`]: console tickets written to private files; [`node`]: a node's logs;
//!   [`bulk`]: one action on many guests; [`lxc`]: a command run in a container over SSH
//!   ([`ssh`]); [`content`]: a storage's definitions and volumes (delete, prune, download from
//!   a URL), [`upload`]: a local file sent to a storage; [`restore`]: backups restored, files
//!   read out of a backup.
//! * [`send`]: the sending half they all use (method checks, token rules, pre-flight, dry
//!   run, confirmation, audit, send, tasks).
//! * [`input`], [`preflight`], [`confirm`], [`audit`], [`guests`], [`errors`], [`redact`],
//!   [`bound`]: what the pipeline leans on.
//! * [`server`]: the rmcp handler.
//! * [`http`]: the Streamable HTTP transport (bearer token, Host/Origin checks, limits).

pub mod agent;
pub mod audit;
pub mod backup;
pub mod bound;
pub mod bulk;
pub mod call;
pub mod change;
pub mod confirm;
pub mod console;
pub mod content;
pub mod create;
pub mod custom;
pub mod disk;
pub mod errors;
pub mod generic;
pub mod guests;
pub mod http;
pub mod input;
pub mod lxc;
pub mod metrics;
pub mod node;
pub mod preflight;
pub mod redact;
pub mod restore;
pub mod schema;
pub mod send;
pub mod server;
pub mod ssh;
pub mod storage;
pub mod table;
pub mod tools;
pub mod upload;

/// Standard base64 whose padding may be there or not (PVE, QEMU's agent and OpenSSH differ).
pub fn base64_lenient() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
}
