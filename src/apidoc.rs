//! The PVE api-viewer schema: its data model and a tolerant, strict-where-it-matters parser.
//!
//! PVE's api-viewer ships the whole REST API as `apidoc.js`, which assigns a JSON array to
//! `apiSchema`. Each node of that tree has a `path`, optional `children`, and an `info` object with
//! one entry per HTTP method. This module reads either the bare JSON array or the JavaScript file
//! exactly as a PVE host serves it, and flattens the tree into a list of [`MethodDef`]s in tree order.
//!
//! The parser tolerates the defects real schemas have (properties without `type`, arrays without
//! `items`, numbers and booleans written as strings) and rejects what would silently generate wrong
//! code (a truncated file, an unknown `type`, a duplicate path or method), naming the path and field.
//!
//! `build.rs` compiles this same file (via `#[path]`), so the generator and the library agree on one
//! model; the library also exposes it for maintainer tooling.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// An HTTP method of the PVE API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpMethod {
    /// Read.
    Get,
    /// Create or act.
    Post,
    /// Update.
    Put,
    /// Remove; parameters travel in the query string.
    Delete,
}

impl HttpMethod {
    /// All methods, in the order the api-viewer lists them.
    pub const ALL: [HttpMethod; 4] = [Self::Get, Self::Post, Self::Put, Self::Delete];

    /// The upper-case wire name (`GET`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    /// Parses an upper- or lower-case method name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON-schema-like `type` of a PVE schema node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaType {
    /// `string`
    String,
    /// `integer`
    Integer,
    /// `number`
    Number,
    /// `boolean` (travels as `0`/`1`)
    Boolean,
    /// `array`
    Array,
    /// `object`
    Object,
    /// `null`: no data.
    Null,
    /// `any`
    Any,
}

impl SchemaType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "array" => Self::Array,
            "object" => Self::Object,
            "null" => Self::Null,
            "any" => Self::Any,
            _ => return None,
        })
    }
}

/// The `format` of a string: a named format (`pve-node`) or an inline property-string format
/// (`net[n]`: `model=virtio,bridge=vmbr0`), whose keys are schemas themselves.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    /// A format known by name to PVE, such as `pve-vmid` or `pve-node` (the generator gives the
    /// property-string ones it defines, `src/codegen/named_formats.json`, their keys).
    Named(String),
    /// A property string with these keys.
    PropertyString(BTreeMap<String, Schema>),
}

/// One node of the schema: a parameter, a return value, or a property-string key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    /// The type; `None` when the schema leaves it out (it happens).
    pub ty: Option<SchemaType>,
    /// One-line description.
    pub description: Option<String>,
    /// Longer description, when PVE has one.
    pub verbose_description: Option<String>,
    /// PVE's short rendering of the accepted syntax.
    pub typetext: Option<String>,
    /// `optional: 1`.
    pub optional: bool,
    /// The default value, as PVE writes it.
    pub default: Option<Value>,
    /// Allowed values of an enumerated string.
    pub enum_values: Option<Vec<String>>,
    /// Named or inline format.
    pub format: Option<Format>,
    /// A Perl regular expression the whole value must match (kept as documentation).
    pub pattern: Option<String>,
    /// Minimum string length.
    pub min_length: Option<u64>,
    /// Maximum string length.
    pub max_length: Option<u64>,
    /// Numeric minimum.
    pub minimum: Option<f64>,
    /// Numeric maximum.
    pub maximum: Option<f64>,
    /// Items of an array.
    pub items: Option<Box<Schema>>,
    /// Properties of an object, by name (`net[n]` names an indexed family `net0`, `net1`, ...).
    pub properties: Option<BTreeMap<String, Schema>>,
    /// `additionalProperties` of an object: `Some(false)` when PVE forbids other keys.
    pub additional_properties: Option<bool>,
    /// In a property-string format: this key may be written without `key=`.
    pub default_key: bool,
    /// In a property-string format: this key is another name for `alias`.
    pub alias: Option<String>,
    /// In a property-string format: writing `thiskey=V` means `keyAlias=thiskey,alias=V`.
    pub key_alias: Option<String>,
    /// The node exactly as the schema has it.
    pub raw: Value,
}

/// Parameter names PVE gives its free-text fields (notes shown in the web interface, stored
/// with escaping or as comments), where a newline is part of the value.
pub const FREE_TEXT_NAMES: &[&str] = &[
    "description",
    "comment",
    "comments",
    "notes",
    "consent-text",
];

/// Words in a parameter's description that mark multi-line content: a file's content
/// (`/etc/hosts`, a guest-agent file write), a keyring, standard input, one item per line.
const MULTI_LINE_WORDS: &[&str] = &["content", "per line", "as stdin"];

/// True when string parameter `name` takes free text in which PVE accepts newlines: PEM blocks
/// (`format: pem-string`, `pem-certificate-chain`), or a string without format or pattern that
/// is named as a free-text field ([`FREE_TEXT_NAMES`]) or whose description says it is
/// multi-line content (a file's content, one item per line, standard input); never when the
/// description asks for a single line (`notes-template`). Everywhere else a newline, or any
/// control character but a tab, is refused before sending: PVE stores most values in
/// line-based files and refuses them itself ("properties must not contain newlines"), or worse,
/// does not.
pub fn is_free_text(name: &str, s: &Schema) -> bool {
    if !matches!(s.ty, None | Some(SchemaType::String)) || s.enum_values.is_some() {
        return false;
    }
    let desc = format!(
        "{} {}",
        s.description.as_deref().unwrap_or(""),
        s.verbose_description.as_deref().unwrap_or("")
    )
    .to_ascii_lowercase();
    if desc.contains("single line") {
        return false;
    }
    match &s.format {
        Some(Format::Named(f)) if f.starts_with("pem-") => return true,
        Some(_) => return false,
        None => {}
    }
    s.pattern.is_none()
        && (FREE_TEXT_NAMES.contains(&name) || MULTI_LINE_WORDS.iter().any(|w| desc.contains(w)))
}

/// One method of one path, with the metadata PVE keeps beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodDef {
    /// Path template, such as `/nodes/{node}/qemu/{vmid}/status/start`.
    pub path: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// PVE's internal name (`vm_start`), when the schema has one.
    pub name: Option<String>,
    /// What the method does.
    pub description: Option<String>,
    /// The parameters object (path parameters included).
    pub parameters: Schema,
    /// The `data` the method returns.
    pub returns: Schema,
    /// PVE's permission description, as JSON.
    pub permissions: Option<Value>,
    /// `false` when the method refuses API tokens (`allowtoken: 0`).
    pub allowtoken: bool,
    /// `true` when the method runs through the privileged daemon (`protected: 1`).
    pub protected: bool,
    /// The parameter naming the node the call is proxied to, when present.
    pub proxyto: Option<String>,
}

impl MethodDef {
    /// Names of the `{...}` variables of the path, in order.
    pub fn path_params(&self) -> Vec<&str> {
        path_params(&self.path)
    }
}

/// The variables (`{node}`) of a path template, in order.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// A parsed schema: every method, in tree order.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiSchema {
    /// All methods of all paths.
    pub methods: Vec<MethodDef>,
}

/// Why a schema could not be read. The message names the place (path, method, field) at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SchemaError {}

fn err<T>(msg: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError(msg.into()))
}

impl ApiSchema {
    /// Reads the bare JSON array, or an `apidoc.js` that assigns it to `apiSchema`.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let value = extract_json(text)?;
        Self::from_value(&value)
    }

    /// Builds the model from the JSON array of tree nodes.
    pub fn from_value(value: &Value) -> Result<Self, SchemaError> {
        let Some(roots) = value.as_array() else {
            return err(
                "apidoc: the schema must be a JSON array of tree nodes (apiSchema = [...])",
            );
        };
        let mut methods = Vec::new();
        let mut seen = BTreeMap::new();
        for (i, node) in roots.iter().enumerate() {
            walk(node, &format!("apiSchema[{i}]"), &mut methods, &mut seen)?;
        }
        if methods.is_empty() {
            return err("apidoc: the schema has no methods");
        }
        Ok(Self { methods })
    }
}

/// Finds the JSON array in `text`: the whole text, or what follows `apiSchema =` in `apidoc.js`.
fn extract_json(text: &str) -> Result<Value, SchemaError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let (start, what) = if trimmed.starts_with('[') {
        (text.len() - trimmed.len(), "JSON schema")
    } else if let Some(pos) = text.find("apiSchema") {
        let rest = &text[pos + "apiSchema".len()..];
        let Some(eq) = rest.find('=') else {
            return err("apidoc.js: `apiSchema` is not followed by `=`");
        };
        let after = &rest[eq + 1..];
        let skip = after.len() - after.trim_start().len();
        (
            pos + "apiSchema".len() + eq + 1 + skip,
            "apidoc.js `apiSchema` array",
        )
    } else {
        return err(
            "apidoc: neither a JSON array nor an apidoc.js assigning `apiSchema`; \
             put PVE's /pve-docs/api-viewer/apidoc.js (or the bare JSON array) in apidoc/",
        );
    };
    let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    match stream.next() {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => {
            let line = text[..start].lines().count().max(1) + e.line() - 1;
            err(format!(
                "apidoc: the {what} is not valid JSON at line {line}, column {}: {e} \
                 (is the file truncated?)",
                e.column()
            ))
        }
        None => err(format!(
            "apidoc: the {what} is empty (is the file truncated?)"
        )),
    }
}

fn walk(
    node: &Value,
    at: &str,
    out: &mut Vec<MethodDef>,
    seen: &mut BTreeMap<String, String>,
) -> Result<(), SchemaError> {
    let Some(obj) = node.as_object() else {
        return err(format!("apidoc: {at}: a tree node must be an object"));
    };
    let Some(path) = obj.get("path").and_then(Value::as_str) else {
        return err(format!(
            "apidoc: {at}: field `path` is missing or not a string"
        ));
    };
    if !path.starts_with('/') {
        return err(format!("apidoc: {path}: field `path` must start with `/`"));
    }
    if let Some(first) = seen.insert(path.to_string(), at.to_string()) {
        return err(format!(
            "apidoc: {path}: duplicate path (first seen at {first}, again at {at})"
        ));
    }
    if let Some(info) = obj.get("info") {
        let Some(info) = info.as_object() else {
            return err(format!("apidoc: {path}: field `info` must be an object"));
        };
        for (key, def) in info {
            let Some(method) = HttpMethod::parse(key) else {
                return err(format!("apidoc: {path}: unknown method `{key}` in `info`"));
            };
            if key != method.as_str() {
                return err(format!("apidoc: {path}: method `{key}` must be upper case"));
            }
            out.push(parse_method(path, method, def)?);
        }
    }
    if let Some(children) = obj.get("children") {
        let Some(children) = children.as_array() else {
            return err(format!("apidoc: {path}: field `children` must be an array"));
        };
        for (i, child) in children.iter().enumerate() {
            walk(child, &format!("{path} children[{i}]"), out, seen)?;
        }
    }
    Ok(())
}

fn parse_method(path: &str, method: HttpMethod, def: &Value) -> Result<MethodDef, SchemaError> {
    let at = format!("{path} {method}");
    let Some(obj) = def.as_object() else {
        return err(format!("apidoc: {at}: method info must be an object"));
    };
    let string = |key: &str| -> Result<Option<String>, SchemaError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => err(format!("apidoc: {at}: field `{key}` must be a string")),
        }
    };
    let parameters = match obj.get("parameters") {
        None | Some(Value::Null) => Schema {
            ty: Some(SchemaType::Object),
            properties: Some(BTreeMap::new()),
            raw: serde_json::json!({"type": "object", "properties": {}}),
            ..Schema::default()
        },
        Some(v) => parse_schema(v, &format!("{at}: parameters"))?,
    };
    if parameters.ty.is_some_and(|t| t != SchemaType::Object) {
        return err(format!(
            "apidoc: {at}: field `parameters` must be an object schema"
        ));
    }
    let returns = match obj.get("returns") {
        None | Some(Value::Null) => Schema::default(),
        Some(v) => parse_schema(v, &format!("{at}: returns"))?,
    };
    Ok(MethodDef {
        path: path.to_string(),
        method,
        name: string("name")?,
        description: string("description")?,
        parameters,
        returns,
        permissions: obj.get("permissions").filter(|v| !v.is_null()).cloned(),
        allowtoken: flag(obj.get("allowtoken"), true, &format!("{at}: allowtoken"))?,
        protected: flag(obj.get("protected"), false, &format!("{at}: protected"))?,
        proxyto: string("proxyto")?,
    })
}

/// A 0/1 flag that PVE may write as a number, a string or a boolean.
fn flag(v: Option<&Value>, default: bool, at: &str) -> Result<bool, SchemaError> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) => Ok(n.as_f64().is_some_and(|n| n != 0.0)),
        Some(Value::String(s)) => match s.as_str() {
            "1" | "true" => Ok(true),
            "0" | "false" | "" => Ok(false),
            _ => err(format!("apidoc: {at}: `{s}` is not a 0/1 flag")),
        },
        Some(_) => err(format!("apidoc: {at}: must be 0 or 1")),
    }
}

fn number(v: Option<&Value>, at: &str) -> Result<Option<f64>, SchemaError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => err(format!("apidoc: {at}: `{s}` is not a number")),
        },
        Some(_) => err(format!("apidoc: {at}: must be a number")),
    }
}

/// Parses one schema node; `at` names it for error messages.
pub fn parse_schema(v: &Value, at: &str) -> Result<Schema, SchemaError> {
    let Some(obj) = v.as_object() else {
        return err(format!("apidoc: {at}: a schema must be an object"));
    };
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
    let mut ty = match obj.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match SchemaType::parse(s) {
            Some(t) => Some(t),
            None => return err(format!("apidoc: {at}.type: unknown type `{s}`")),
        },
        // A list of types (rare): take the first one we know.
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .find_map(SchemaType::parse),
        Some(_) => return err(format!("apidoc: {at}.type: must be a string")),
    };
    let properties = match obj.get("properties") {
        None | Some(Value::Null) => None,
        Some(Value::Object(props)) => {
            let mut out = BTreeMap::new();
            for (name, p) in props {
                out.insert(
                    name.clone(),
                    parse_schema(p, &format!("{at}.properties.{name}"))?,
                );
            }
            Some(out)
        }
        Some(_) => return err(format!("apidoc: {at}.properties: must be an object")),
    };
    let items = match obj.get("items") {
        None | Some(Value::Null) => None,
        Some(v) => Some(Box::new(parse_schema(v, &format!("{at}.items"))?)),
    };
    if ty.is_none() {
        if properties.is_some() {
            ty = Some(SchemaType::Object);
        } else if items.is_some() {
            ty = Some(SchemaType::Array);
        }
    }
    let format = match obj.get("format") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Format::Named(s.clone())),
        Some(Value::Object(keys)) => {
            let mut out = BTreeMap::new();
            for (name, k) in keys {
                out.insert(
                    name.clone(),
                    parse_schema(k, &format!("{at}.format.{name}"))?,
                );
            }
            Some(Format::PropertyString(out))
        }
        Some(_) => {
            return err(format!(
                "apidoc: {at}.format: must be a string or an object"
            ));
        }
    };
    let enum_values = match obj.get("enum") {
        None | Some(Value::Null) => None,
        Some(Value::Array(vals)) => Some(
            vals.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        Some(_) => return err(format!("apidoc: {at}.enum: must be an array")),
    };
    let additional_properties = match obj.get("additionalProperties") {
        None | Some(Value::Null) => None,
        Some(Value::Object(_)) => Some(true),
        other => Some(flag(other, true, &format!("{at}.additionalProperties"))?),
    };
    let length = |key: &str| -> Result<Option<u64>, SchemaError> {
        Ok(number(obj.get(key), &format!("{at}.{key}"))?.map(|n| n.max(0.0) as u64))
    };
    Ok(Schema {
        ty,
        description: text("description"),
        verbose_description: text("verbose_description"),
        typetext: text("typetext"),
        optional: flag(obj.get("optional"), false, &format!("{at}.optional"))?,
        default: obj.get("default").cloned(),
        enum_values,
        format,
        pattern: text("pattern"),
        min_length: length("minLength")?,
        max_length: length("maxLength")?,
        minimum: number(obj.get("minimum"), &format!("{at}.minimum"))?,
        maximum: number(obj.get("maximum"), &format!("{at}.maximum"))?,
        items,
        properties,
        additional_properties,
        default_key: flag(obj.get("default_key"), false, &format!("{at}.default_key"))?,
        alias: text("alias"),
        key_alias: text("keyAlias"),
        raw: v.clone(),
    })
}

/// Renders PVE's `permissions` object as one line a person can read, such as
/// `VM.PowerMgmt on /vms/{vmid}` or `any authenticated user`.
pub fn describe_permissions(perms: Option<&Value>) -> String {
    let Some(perms) = perms else {
        return "not stated in the schema".to_string();
    };
    let mut parts = Vec::new();
    if let Some(check) = perms.get("check") {
        parts.push(describe_check(check));
    }
    if let Some(user) = perms.get("user").and_then(Value::as_str) {
        parts.push(match user {
            "all" => "any authenticated user".to_string(),
            "world" => "anyone, even unauthenticated".to_string(),
            other => format!("user: {other}"),
        });
    }
    if let Some(desc) = perms.get("description").and_then(Value::as_str) {
        parts.push(desc.trim().to_string());
    }
    if parts.is_empty() {
        "not stated in the schema".to_string()
    } else {
        parts.join("; ")
    }
}

fn describe_check(check: &Value) -> String {
    let Some(list) = check.as_array() else {
        return check.to_string();
    };
    let op = list.first().and_then(Value::as_str).unwrap_or("");
    match op {
        "perm" => {
            let path = list.get(1).and_then(Value::as_str).unwrap_or("?");
            let privs: Vec<&str> = list
                .get(2)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let any = list
                .iter()
                .skip(3)
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w[0].as_str() == Some("any") && w[1].as_i64().unwrap_or(0) != 0);
            let joiner = if any { " or " } else { " and " };
            format!("{} on {path}", privs.join(joiner))
        }
        "or" | "and" => {
            let inner: Vec<String> = list[1..].iter().map(describe_check).collect();
            format!("({})", inner.join(&format!(" {op} ")))
        }
        "userid-group" | "userid-param" | "perm-modify" => {
            let rest: Vec<String> = list[1..]
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            format!("{op} {}", rest.join(" "))
        }
        _ => check.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"[{"path":"/nodes","text":"nodes","leaf":0,
        "info":{"GET":{"name":"index","description":"Cluster node index.","allowtoken":1,
            "parameters":{"additionalProperties":0},
            "permissions":{"user":"all"},
            "returns":{"type":"array","items":{"type":"object","properties":{"node":{"type":"string"}}}}}},
        "children":[{"path":"/nodes/{node}/execute","text":"execute","leaf":1,
            "info":{"POST":{"name":"execute","allowtoken":"0","protected":"1",
                "parameters":{"properties":{"node":{"type":"string","format":"pve-node"},
                    "commands":{"type":"string","minimum":"0","optional":"1"}}},
                "returns":{"type":"array"}}}}]}]"#;

    #[test]
    fn parses_json_array_and_tolerates_string_numbers() {
        let s = ApiSchema::parse(TINY).unwrap();
        assert_eq!(s.methods.len(), 2);
        let exec = &s.methods[1];
        assert_eq!(exec.path, "/nodes/{node}/execute");
        assert_eq!(exec.method, HttpMethod::Post);
        assert!(!exec.allowtoken);
        assert!(exec.protected);
        let cmd = &exec.parameters.properties.as_ref().unwrap()["commands"];
        assert!(cmd.optional);
        assert_eq!(cmd.minimum, Some(0.0));
        assert_eq!(exec.returns.ty, Some(SchemaType::Array));
        assert!(exec.returns.items.is_none());
        assert_eq!(exec.path_params(), vec!["node"]);
        assert_eq!(s.methods[0].name.as_deref(), Some("index"));
    }

    #[test]
    fn parses_raw_apidoc_js_with_trailing_viewer_code() {
        let js = format!(
            "// generated\nconst apiSchema = {TINY};\n\nlet method2cmd = {{ GET: 'get' }};\n\
             Ext.onReady(function() {{ var x = [1, 2]; }});\n"
        );
        let s = ApiSchema::parse(&js).unwrap();
        assert_eq!(s.methods.len(), 2);
        assert_eq!(s.methods[0].path, "/nodes");
    }

    #[test]
    fn truncated_file_is_an_error_naming_the_line() {
        let js = format!("const apiSchema = {}", &TINY[..TINY.len() / 2]);
        let e = ApiSchema::parse(&js).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        assert!(e.contains("line"), "{e}");
    }

    #[test]
    fn unknown_type_names_path_and_field() {
        let bad = TINY.replace(r#""format":"pve-node""#, r#""type":"strnig""#);
        let bad = bad.replace(r#""node":{"type":"string","#, r#""node":{"#);
        let e = ApiSchema::parse(&bad).unwrap_err().to_string();
        assert!(e.contains("/nodes/{node}/execute POST"), "{e}");
        assert!(e.contains("parameters.properties.node.type"), "{e}");
        assert!(e.contains("strnig"), "{e}");
    }

    #[test]
    fn duplicate_path_is_an_error() {
        let dup = format!("[{0},{0}]", &TINY[1..TINY.len() - 1]);
        let e = ApiSchema::parse(&dup).unwrap_err().to_string();
        assert!(e.contains("duplicate path"), "{e}");
        assert!(e.contains("/nodes"), "{e}");
    }

    #[test]
    fn not_a_schema_is_an_error() {
        assert!(ApiSchema::parse("hello").is_err());
        assert!(ApiSchema::parse("[]").is_err());
        assert!(ApiSchema::parse("const apiSchema = ;").is_err());
    }

    #[test]
    fn permissions_render_readably() {
        let p: Value = serde_json::json!({"check": ["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]});
        assert_eq!(
            describe_permissions(Some(&p)),
            "VM.PowerMgmt on /vms/{vmid}"
        );
        let p: Value =
            serde_json::json!({"check": ["perm", "/", ["Sys.Audit", "Datastore.Audit"], "any", 1]});
        assert_eq!(
            describe_permissions(Some(&p)),
            "Sys.Audit or Datastore.Audit on /"
        );
        let p: Value = serde_json::json!({"user": "all"});
        assert_eq!(describe_permissions(Some(&p)), "any authenticated user");
    }
}
