//! A typed Proxmox VE SDK generated from PVE's own API schema.
//!
//! * [`api`]: one async function per method of the schema, in modules that follow the API tree
//!   (`api::nodes::qemu::status::start::post`), with a parameters struct and a return type each.
//! * [`formats`]: typed property strings (`net0=virtio,bridge=vmbr0`).
//! * [`enums`]: the schema's enumerated strings, one type each, shared across methods.
//! * [`catalog`]: every method with its permissions, token rules and task behaviour.
//! * [`Client`]: authentication (API token or ticket), TLS (strict, CA file, pinned fingerprint),
//!   PVE's encoding rules, typed [`Error`]s, and [`Client::wait_task`] for a [`Upid`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), proxmox_mcp::Error> {
//! use proxmox_mcp::{api, Client, TlsMode, WaitOptions};
//! let client = Client::builder("pve.example.com")
//!     .token("root@pam!mcp=00000000-0000-0000-0000-000000000000")?
//!     .tls(TlsMode::Fingerprint("AB:CD:...".into()))
//!     .build()?;
//! for vm in api::nodes::qemu::get(&client, "pve1", &Default::default()).await? {
//!     println!("{} {:?} {}", vm.vmid, vm.name, vm.status);
//! }
//! let upid = api::nodes::qemu::status::start::post(&client, "pve1", 100, &Default::default()).await?;
//! client.wait_task_ok(&upid, WaitOptions::default()).await?;
//! # Ok(()) }
//! ```
//!
//! The README's longer example (a typed read-modify-write of a VM config) is `tests/readme.rs`,
//! which runs against fakepve.

pub mod apidoc;
pub mod args;
pub mod catalog;
pub mod client;
mod error;
pub mod lenient;
#[macro_use]
mod macros;
pub mod params;
pub mod path;
pub mod propstring;
pub mod redact;
mod secret;
mod upid;
pub mod validate;

pub use client::{
    ApiToken, Auth, Client, ClientBuilder, TaskOutcome, TaskPoll, TlsMode, WaitOptions,
};
pub use error::Error;
pub use upid::Upid;

/// The PVE release the SDK was generated from (`apidoc/VERSION`), such as `9.2`.
pub const SCHEMA_VERSION: &str = env!("PROXMOX_MCP_SCHEMA_VERSION");
pub use secret::Secret;

/// Property-string types, generated from the schema's inline `format`s.
#[allow(clippy::all, missing_docs)]
pub mod formats {
    include!(concat!(env!("OUT_DIR"), "/formats.rs"));
}

/// Enumerated strings, generated from the schema's `enum`s: one type per key and set of values,
/// shared by every method that uses it.
#[allow(clippy::all, missing_docs)]
pub mod enums {
    include!(concat!(env!("OUT_DIR"), "/enums.rs"));
}

/// One module per API path, one function per method, generated from the schema.
#[allow(clippy::all, missing_docs)]
pub mod api {
    include!(concat!(env!("OUT_DIR"), "/api.rs"));
}
