//! The MCP server: a table of tools projected from the SDK's catalog, one call pipeline, rmcp over
//! stdio. It lives in the binary's compilation unit, so editing a tool does not rebuild the SDK.
//!
//! * [`table`]: the tool declarations.
//! * [`tools`]: each declaration built from the catalog (schemas, annotations, descriptions).
//! * [`schema`]: PVE schema nodes as JSON Schema.
//! * [`call`]: the pipeline (elevation, arguments, token rules, pre-flight, send, tasks).
//! * [`custom`]: tools that are more than one method call, and the generic API tools.
//! * [`preflight`], [`guests`], [`errors`], [`redact`]: what the pipeline leans on.
//! * [`server`]: the rmcp handler.
//! * [`http`]: the Streamable HTTP transport (bearer token, Host/Origin checks, limits).

pub mod call;
pub mod custom;
pub mod errors;
pub mod guests;
pub mod http;
pub mod preflight;
pub mod redact;
pub mod schema;
pub mod server;
pub mod table;
pub mod tools;
