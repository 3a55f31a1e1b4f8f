//! What the schema does not say about routes, kept here as explicit, tested lists.

/// Path variables whose route takes the rest of the path, `/` included: PVE registers their
/// handlers with `fragmentDelimiter => ''` (volume IDs and CIDRs contain `/`; nested pool IDs
/// are `parent/child`). Matched by variable name on paths that end with it.
pub const REST_VARS: &[(&str, &str)] = &[
    ("/nodes/{node}/storage/{storage}/content/{volume}", "volume"),
    ("/ipset/{name}/{cidr}", "cidr"),
    ("/pools/{poolid}", "poolid"),
];

/// Methods `Client::execute` cannot send, with the reason; they are refused before sending. Their
/// generated functions send them otherwise (see [`FILE_UPLOADS`]).
pub const UNSUPPORTED: &[(&str, &str, &str)] = &[(
    "POST",
    "/nodes/{node}/storage/{storage}/upload",
    "it carries a file as multipart/form-data: send it with \
     api::nodes::storage::upload::post and an UploadFile (Client::upload), or have PVE fetch the \
     file with POST /nodes/{node}/storage/{storage}/download-url",
)];

/// Methods that take a file, sent as `multipart/form-data` by `Client::upload`: method, path, and
/// the parameter that is the file's part (its value, the file's name on the server, becomes the
/// part's file name, as PVE's web interface sends it).
pub const FILE_UPLOADS: &[(&str, &str, &str)] =
    &[("POST", "/nodes/{node}/storage/{storage}/upload", "filename")];

/// The part name of a method that takes a file, if it takes one.
pub fn file_upload(method: &str, path: &str) -> Option<&'static str> {
    FILE_UPLOADS
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, field)| *field)
}

/// GETs whose answer is a file rather than JSON (PVE streams it: `download => 1`); their
/// generated functions return a `Download` read by `Client::download`.
pub const DOWNLOADS: &[(&str, &str)] = &[(
    "GET",
    "/nodes/{node}/storage/{storage}/file-restore/download",
)];

/// True when `method path` answers with a file.
pub fn is_download(method: &str, path: &str) -> bool {
    DOWNLOADS.iter().any(|(m, p)| *m == method && *p == path)
}

/// True when `var` of `path` takes the rest of the path.
pub fn is_rest_var(path: &str, var: &str) -> bool {
    REST_VARS
        .iter()
        .any(|(suffix, v)| *v == var && path.ends_with(suffix))
}

/// Why `method path` cannot be sent by the SDK yet, if it cannot.
pub fn unsupported(method: &str, path: &str) -> Option<&'static str> {
    UNSUPPORTED
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, why)| *why)
}

/// Enums whose automatic name would mislead, by key and sorted values: `status` with `running`
/// and `stopped` is shared by VMs, containers and tasks, so the first user's context
/// (`LxcStatus`) would be wrong for the others.
pub const ENUM_NAMES: &[(&str, &[&str], &str)] =
    &[("status", &["running", "stopped"], "RunStatus")];

/// The chosen name of the enum of `key` with these (sorted) values, if it has one.
pub fn enum_name(key: &str, sorted_values: &[String]) -> Option<&'static str> {
    ENUM_NAMES
        .iter()
        .find(|(k, values, _)| *k == key && values.iter().eq(sorted_values.iter()))
        .map(|(_, _, name)| *name)
}
