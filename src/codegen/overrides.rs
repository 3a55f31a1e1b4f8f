//! What the schema does not say about routes, kept here as explicit, tested lists.

/// Path variables whose route takes the rest of the path, `/` included: PVE registers their
/// handlers with `fragmentDelimiter => ''` (volume IDs and CIDRs contain `/`; nested pool IDs
/// are `parent/child`). Matched by variable name on paths that end with it.
pub const REST_VARS: &[(&str, &str)] = &[
    ("/nodes/{node}/storage/{storage}/content/{volume}", "volume"),
    ("/ipset/{name}/{cidr}", "cidr"),
    ("/pools/{poolid}", "poolid"),
];

/// Methods the SDK cannot send yet, with the reason; they are refused before anything is sent.
pub const UNSUPPORTED: &[(&str, &str, &str)] = &[(
    "POST",
    "/nodes/{node}/storage/{storage}/upload",
    "it needs a multipart/form-data file upload, which the SDK does not do yet; \
     use POST /nodes/{node}/storage/{storage}/download-url to have PVE fetch the file instead",
)];

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
