//! The four generic tools that reach the whole API: `proxmox_api_search` and
//! `proxmox_api_describe` read the catalog; `proxmox_api_get` and `proxmox_api_call` send one
//! method through [`send`] like every curated tool. Layered below `custom` (which dispatches
//! here) and above `send`, `input`, `schema` and `redact`; never calls `call`.

use proxmox_mcp::apidoc::{Format, HttpMethod, Schema, SchemaType};
use proxmox_mcp::catalog::{self, ENDPOINTS, Endpoint};
use proxmox_mcp::{args, path};
use serde_json::{Map, Value, json};

use super::bound::{bounded, project};
use super::input::{fields, limit, take_wait, text};
use super::schema::{self, first_sentence};
use super::send::{Call, Outcome, send};
use super::tools::returns;

fn summary(e: &Endpoint) -> String {
    first_sentence(e.description, 100)
}

/// The longest `proxmox_api_search` query, in characters: a few words find a method, and the
/// scoring (words × 680 methods) stays in microseconds on the shared runtime.
pub const MAX_QUERY: usize = 200;

/// Words a person uses for what PVE names otherwise: each query word also matches these terms.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("container", &["lxc"]),
    ("ct", &["lxc"]),
    ("vm", &["qemu"]),
    ("machine", &["qemu"]),
    ("guest", &["qemu", "lxc"]),
    ("usage", &["status", "resources"]),
    ("template", &["vztmpl", "aplinfo"]),
    ("appliance", &["aplinfo"]),
    ("disk", &["drive", "resize", "disks"]),
    ("volume", &["content", "disk"]),
    ("backup", &["vzdump"]),
    ("log", &["syslog", "journal"]),
    ("task", &["tasks"]),
    ("failed", &["errors", "status"]),
    ("error", &["errors", "status"]),
    ("node", &["nodes"]),
    ("host", &["nodes"]),
    ("ip", &["network-get-interfaces", "interfaces"]),
    ("address", &["network-get-interfaces", "interfaces"]),
    ("nic", &["net", "network"]),
    ("cpu", &["status", "rrddata"]),
    ("memory", &["status", "rrddata"]),
];

/// Several words that mean one (replaced before the words are split).
const PHRASES: &[(&str, &str)] = &[
    ("virtual machine", "vm"),
    ("ip address", "ip"),
    ("guest agent", "agent"),
];

/// Words that say which HTTP method is meant; they match that method (and the text).
const VERBS: &[(&str, HttpMethod)] = &[
    ("list", HttpMethod::Get),
    ("show", HttpMethod::Get),
    ("get", HttpMethod::Get),
    ("read", HttpMethod::Get),
    ("create", HttpMethod::Post),
    ("add", HttpMethod::Post),
    ("new", HttpMethod::Post),
    ("delete", HttpMethod::Delete),
    ("remove", HttpMethod::Delete),
    ("destroy", HttpMethod::Delete),
    ("update", HttpMethod::Put),
    ("change", HttpMethod::Put),
    ("set", HttpMethod::Put),
    ("modify", HttpMethod::Put),
];

/// Words that carry no meaning for the search.
const STOP: &[&str] = &[
    "a", "an", "the", "of", "for", "to", "in", "on", "at", "my", "all", "how", "what", "which",
    "is", "are", "with", "and", "or", "do", "i", "me", "by", "from", "its", "their", "every",
];

/// Methods PVE's own words do not describe the way people ask for them: more words they match,
/// and parameters a query word suggests (`(word, parameter, value)`).
type Hint = (&'static str, &'static str, &'static str);
const KEYWORDS: &[(HttpMethod, &str, &str, &[Hint])] = &[
    (
        HttpMethod::Get,
        "/nodes/{node}/storage",
        "usage space free used capacity",
        &[],
    ),
    (
        HttpMethod::Get,
        "/cluster/resources",
        "usage storage guests qemu lxc nodes cluster-wide",
        &[
            ("storage", "type", "storage"),
            ("vm", "type", "vm"),
            ("qemu", "type", "vm"),
            ("container", "type", "vm"),
            ("lxc", "type", "vm"),
            ("guest", "type", "vm"),
            ("node", "type", "node"),
        ],
    ),
    (
        HttpMethod::Get,
        "/nodes/{node}/storage/{storage}/content",
        "template vztmpl iso image backup volume files",
        &[
            ("template", "content", "vztmpl"),
            ("iso", "content", "iso"),
            ("backup", "content", "backup"),
            ("image", "content", "images"),
        ],
    ),
    (
        HttpMethod::Get,
        "/nodes/{node}/tasks",
        "failed errors",
        &[("failed", "errors", "1"), ("error", "errors", "1")],
    ),
    (
        HttpMethod::Post,
        "/nodes/{node}/vzdump",
        "backup qemu lxc guest now",
        &[],
    ),
    (
        HttpMethod::Get,
        "/nodes/{node}/aplinfo",
        "template appliance download",
        &[],
    ),
];

/// A query word with the terms it matches.
struct Word {
    word: String,
    terms: Vec<String>,
    verb: Option<HttpMethod>,
    /// Said right after "on", "node" or "host": it may name a node.
    names_node: bool,
}

/// The word without a plural `s` (`templates` is `template`, `status` stays).
fn singular(w: &str) -> &str {
    match w.strip_suffix('s') {
        Some(s) if s.len() >= 2 && !s.ends_with('s') && !s.ends_with('u') => s,
        _ => w,
    }
}

fn words(query: &str) -> Vec<Word> {
    let mut q = query.to_lowercase();
    for (phrase, word) in PHRASES {
        q = q.replace(phrase, word);
    }
    let raw: Vec<&str> = q
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    raw.iter()
        .enumerate()
        .filter(|(_, w)| !STOP.contains(w))
        .take(20)
        .map(|(i, &w)| {
            let names_node = i > 0 && matches!(raw[i - 1], "on" | "node" | "host" | "at");
            let base = singular(w);
            let mut terms = vec![w.to_string()];
            if base != w {
                terms.push(base.to_string());
            }
            for (word, more) in SYNONYMS {
                if *word == base {
                    terms.extend(more.iter().map(|t| t.to_string()));
                }
            }
            let verb = VERBS.iter().find(|(v, _)| *v == w).map(|(_, m)| *m);
            Word {
                word: w.to_string(),
                terms,
                verb,
                names_node,
            }
        })
        .collect()
}

/// How well `term` matches `e`: 3 in its path (or the extra keywords), 2 in its name, 1 in its
/// description, 0 not at all.
fn weight(e: &Endpoint, keywords: &str, term: &str) -> usize {
    let fits = |part: &str| {
        if term.len() >= 4 {
            part.contains(term)
        } else {
            part == term
        }
    };
    let path = e.path.to_lowercase();
    if path.split('/').filter(|s| !s.starts_with('{')).any(&fits)
        || keywords.split(' ').any(|k| k == term)
    {
        return 3;
    }
    if e.name.to_lowercase().split(['_', '-']).any(fits) {
        return 2;
    }
    let desc = e.description.to_lowercase();
    let mut in_desc = desc
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty());
    if in_desc.any(|w| w == term || singular(w) == term) {
        return 1;
    }
    0
}

fn keywords_of(
    e: &Endpoint,
) -> Option<&'static (HttpMethod, &'static str, &'static str, &'static [Hint])> {
    KEYWORDS
        .iter()
        .find(|(m, p, _, _)| *m == e.method && *p == e.path)
}

/// Ranks the catalog for `query`: by how many words match (a word matches through its terms),
/// then by where they match; methods matching no word are left out.
fn rank(words: &[Word]) -> Vec<(usize, usize, &'static Endpoint)> {
    let mut hits: Vec<(usize, usize, &Endpoint)> = ENDPOINTS
        .iter()
        .filter_map(|e| {
            let keywords = keywords_of(e).map(|k| k.2).unwrap_or("");
            let (mut count, mut total) = (0, 0);
            for w in words {
                let mut best = w
                    .terms
                    .iter()
                    .map(|t| weight(e, keywords, t))
                    .max()
                    .unwrap_or(0);
                if w.verb == Some(e.method) {
                    best = best.max(2);
                }
                if best > 0 {
                    count += 1;
                    total += best;
                }
            }
            (count > 0).then_some((count, total, e))
        })
        .collect();
    hits.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(a.2.path.len().cmp(&b.2.path.len()))
            .then((a.2.method as usize).cmp(&(b.2.method as usize)))
    });
    hits
}

/// The path variables the words fill without doubt: a VMID (the only number of 3 or more digits)
/// and a node (the only word that matches nothing in the catalog and could name a node).
fn filled(words: &[Word], hits: &[(usize, usize, &Endpoint)]) -> Map<String, Value> {
    let mut out = Map::new();
    let numbers: Vec<&Word> = words
        .iter()
        .filter(|w| w.word.len() >= 3 && w.word.chars().all(|c| c.is_ascii_digit()))
        .collect();
    if let [one] = numbers.as_slice() {
        out.insert("vmid".into(), json!(one.word));
    }
    let unknown: Vec<&Word> = words
        .iter()
        .filter(|w| {
            // A node's name has a digit (`pve1`) or follows "on"/"node" ("on alpha").
            (w.names_node || w.word.chars().any(|c| c.is_ascii_digit()))
                && !w.word.chars().all(|c| c.is_ascii_digit())
                && w.verb.is_none()
                && w.word
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
                && !w.word.contains('_')
                && !SYNONYMS.iter().any(|(s, _)| *s == singular(&w.word))
                && !ENDPOINTS.iter().any(|e| {
                    let k = keywords_of(e).map(|k| k.2).unwrap_or("");
                    w.terms.iter().any(|t| weight(e, k, t) > 0)
                })
        })
        .collect();
    if let [one] = unknown.as_slice()
        && !hits.is_empty()
    {
        out.insert("node".into(), json!(one.word));
    }
    out
}

/// `proxmox_api_search`: the catalog ranked for the query, with filled-in examples.
pub fn search(args: &Map<String, Value>) -> Outcome {
    let query = text(args, "query").unwrap_or_default();
    let length = query.chars().count();
    if length > MAX_QUERY {
        return Err(format!(
            "the query is {length} characters long; give at most {MAX_QUERY}: a few words such \
             as `qemu snapshot`"
        ));
    }
    let words = words(&query);
    let hits = rank(&words);
    let vars = filled(&words, &hits);
    let items: Vec<Value> = hits
        .iter()
        .map(|(_, _, e)| {
            let mut m = json!({"method": e.method.as_str(), "path": e.path, "summary": summary(e),
                               "needs": e.permission});
            let mut example = e.path.to_string();
            for var in e.path_vars {
                if let Some(Value::String(v)) = vars.get(var.name) {
                    example = example.replace(&format!("{{{}}}", var.name), v);
                }
            }
            if example != e.path {
                m["example"] = json!(example);
            }
            let mut params = Map::new();
            if let Some(Value::String(id)) = vars.get("vmid")
                && !e.path_vars.iter().any(|v| v.name == "vmid")
                && args::parameters(e).contains_key("vmid")
            {
                params.insert("vmid".into(), json!(id));
            }
            if let Some((_, _, _, hints)) = keywords_of(e) {
                for (word, param, value) in hints.iter() {
                    if words.iter().any(|w| w.terms.iter().any(|t| t == word)) {
                        params.entry(param.to_string()).or_insert(json!(value));
                    }
                }
            }
            if !params.is_empty() {
                m["params"] = Value::Object(params);
            }
            if e.returns_task {
                m["task"] = json!(true);
            }
            if !e.allowtoken {
                m["tokens"] = json!(false);
            }
            m
        })
        .collect();
    Ok(bounded("methods", items, limit(args, 20), None))
}

fn find(method: &str, path: &str) -> Result<&'static Endpoint, String> {
    let m = HttpMethod::parse(method)
        .ok_or_else(|| format!("`{method}` is not GET, POST, PUT or DELETE"))?;
    catalog::find(m, path).ok_or_else(|| {
        let others: Vec<&str> = ENDPOINTS
            .iter()
            .filter(|e| e.path == path || path::resolve(e.method, path).is_ok())
            .map(|e| e.method.as_str())
            .collect();
        if others.is_empty() {
            format!("no API method at {path}; find one with proxmox_api_search")
        } else {
            format!("{path} has no {m} method; it has {}", others.join(", "))
        }
    })
}

/// The size `proxmox_api_describe` keeps a compact answer under when it can, in bytes of JSON:
/// descriptions are shortened (at word boundaries), then the plainest parameters grouped, then
/// fewer keys named, until it fits.
const COMPACT_BYTES: usize = 3200;

/// Property-string keys named in a compact answer, at most.
const COMPACT_KEYS: usize = 4;

/// The highest index of PVE's indexed parameters whose description does not say it (`net[n]` is
/// `net0`..`net31`), from qemu-server's and pve-container's limits.
const INDEX_MAX: &[(&str, u32)] = &[
    ("net", 31),
    ("ipconfig", 31),
    ("mp", 255),
    ("unused", 255),
    ("dev", 255),
    ("hostpci", 15),
    ("numa", 7),
    ("virtiofs", 9),
    ("link", 7),
    ("acmedomain", 5),
];

/// Keys a person sets most, named first in a compact list of a property string's keys.
const KEY_ORDER: &[&str] = &[
    "model", "file", "volume", "current", "bridge", "size", "storage", "name", "ip", "gw", "tag",
    "firewall", "mp", "type", "cache", "discard", "ssd", "iothread", "backup",
];

/// Values of PVE's enumerations people choose most, shown first in a compact answer.
const COMMON_VALUES: &[&str] = &[
    "virtio",
    "e1000",
    "l26",
    "win11",
    "virtio-scsi-single",
    "host",
    "ovmf",
    "seabios",
    "q35",
    "none",
    "writeback",
    "on",
    "raw",
    "qcow2",
    "std",
    "qxl",
];

/// `net[n]` as "net0..net31" (the bound from the description's "n is 0 to N" or [`INDEX_MAX`]).
fn indexed(name: &str, description: &str) -> Option<String> {
    let stem = name.strip_suffix("[n]")?;
    let said = description.find("n is 0 to ").and_then(|i| {
        let rest = &description[i + 10..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse::<u32>().ok()
    });
    let max = said.or_else(|| INDEX_MAX.iter().find(|(s, _)| *s == stem).map(|(_, m)| *m));
    Some(match max {
        Some(max) => format!("{stem}0..{stem}{max}"),
        None => format!("{stem}0, {stem}1, …"),
    })
}

/// A schema's type in a few characters: `integer 1-4094`, `enum: a, b, …`, `boolean`.
fn type_text(s: &Schema, enum_max: usize) -> String {
    if let Some(values) = &s.enum_values {
        let mut sorted: Vec<&str> = values.iter().map(String::as_str).collect();
        sorted.sort_by_key(|v| {
            COMMON_VALUES
                .iter()
                .position(|c| c == v)
                .unwrap_or(usize::MAX)
        });
        let mut shown: Vec<&str> = Vec::new();
        let mut chars = 0;
        for v in sorted.iter().take(enum_max) {
            chars += v.chars().count();
            if !shown.is_empty() && chars > 16 {
                break;
            }
            shown.push(v);
        }
        if values.len() > shown.len() {
            shown.push("…");
        }
        return format!("enum: {}", shown.join(", "));
    }
    let num = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 1e15 {
            format!("{}", f as i64)
        } else {
            format!("{f}")
        }
    };
    let range = match (s.minimum, s.maximum) {
        (Some(a), Some(b)) => format!(" {}-{}", num(a), num(b)),
        (Some(a), None) => format!(" ≥{}", num(a)),
        (None, Some(b)) => format!(" ≤{}", num(b)),
        (None, None) => String::new(),
    };
    match s.ty {
        Some(SchemaType::Integer) => format!("integer{range}"),
        Some(SchemaType::Number) => format!("number{range}"),
        Some(SchemaType::Boolean) => "boolean".into(),
        Some(SchemaType::Array) => "array".into(),
        Some(SchemaType::Object) => "object".into(),
        _ => "string".into(),
    }
}

/// The keys of a property-string format, most used first, without the aliases (`virtio=MAC`).
fn keys(format: &std::collections::BTreeMap<String, Schema>) -> Vec<(&String, &Schema)> {
    let mut keys: Vec<(&String, &Schema)> = format
        .iter()
        .filter(|(_, k)| k.alias.is_none() && k.key_alias.is_none())
        .collect();
    let rank = |k: &str| {
        KEY_ORDER
            .iter()
            .position(|o| *o == k)
            .unwrap_or(KEY_ORDER.len())
    };
    keys.sort_by_key(|(name, k)| (!k.default_key, rank(name), (*name).clone()));
    keys
}

/// "model (enum: e1000, virtio, …), bridge (string), …": a property string's keys in a line.
fn keys_line(format: &std::collections::BTreeMap<String, Schema>, max: usize) -> String {
    let all = keys(format);
    let mut parts: Vec<String> = all
        .iter()
        .take(max)
        .map(|(name, k)| match type_text(k, 2).as_str() {
            "string" => name.to_string(),
            ty => format!("{name} ({ty})"),
        })
        .collect();
    if all.len() > max {
        parts.push(format!("+{} more", all.len() - max));
    }
    parts.join(", ")
}

fn default_text(s: &Schema) -> Option<String> {
    match s.default.as_ref()? {
        Value::String(v) if v.chars().count() <= 20 => Some(v.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(u8::from(*b).to_string()),
        _ => None,
    }
}

/// One parameter in a line: its type (keys of a property string; "keys as X" when an earlier
/// parameter in `seen` has the same ones), default and description clipped to `desc` characters.
fn compact_param(
    name: &str,
    s: &Schema,
    (desc, max_keys): (usize, usize),
    seen: &mut Vec<(String, Vec<String>)>,
) -> String {
    // NICs, disks and mount points keep their keys longest.
    let max_keys = if matches!(name, "net[n]" | "scsi[n]" | "mp[n]" | "rootfs") {
        COMPACT_KEYS
    } else {
        max_keys
    };
    let mut line = String::new();
    if let Some(family) = indexed(name, s.description.as_deref().unwrap_or("")) {
        line.push_str(&family);
        line.push_str(": ");
    }
    match &s.format {
        Some(Format::PropertyString(format)) => {
            let names: Vec<String> = keys(format).iter().map(|(k, _)| (*k).clone()).collect();
            // Disks of each bus share most keys: named once.
            let same = seen.iter().find(|(_, other)| {
                let common = names.iter().filter(|n| other.contains(n)).count();
                names.len() > 2 * COMPACT_KEYS && common * 10 >= names.len() * 8
            });
            match same {
                Some((other, _)) => line.push_str(&format!("keys as {other}")),
                None => {
                    line.push_str("keys ");
                    line.push_str(&keys_line(format, max_keys));
                    seen.push((name.to_string(), names));
                }
            }
        }
        _ => line.push_str(&type_text(s, 2)),
    }
    if let Some(d) = default_text(s) {
        line.push_str(&format!(", default {d}"));
    }
    let d = first_sentence(s.description.as_deref().unwrap_or(""), desc);
    if !d.is_empty() {
        line.push_str(if line.ends_with('…') { " " } else { ". " });
        line.push_str(&d);
    }
    line
}

/// One parameter in full: its schema, every description, and each key of a property string.
fn full_param(name: &str, s: &Schema) -> Value {
    let mut p = schema::param(s);
    let text = s
        .verbose_description
        .as_deref()
        .or(s.description.as_deref())
        .unwrap_or("")
        .trim();
    if !text.is_empty() {
        p["description"] = json!(text);
    }
    if let Some(family) = indexed(name, s.description.as_deref().unwrap_or("")) {
        p["names"] = json!(family);
    }
    if let Some(t) = &s.typetext {
        p["syntax"] = json!(t);
    }
    if !s.optional {
        p["required"] = json!(true);
    }
    if let Some(Format::PropertyString(format)) = &s.format {
        let mut out = Map::new();
        for (k, ks) in keys(format) {
            let mut kp = schema::param(ks);
            if let Some(d) = ks
                .verbose_description
                .as_deref()
                .or(ks.description.as_deref())
            {
                kp["description"] = json!(d.trim());
            }
            if ks.default_key {
                kp["default_key"] = json!(true);
            }
            out.insert(k.clone(), kp);
        }
        p["keys"] = Value::Object(out);
    }
    if let Some(Format::Named(f)) = &s.format {
        p["format"] = json!(f);
    }
    p
}

/// The plainest parameters of a compact answer too large still (booleans, strings without
/// rules) named in one line each instead of one entry each.
fn grouped(lines: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let (mut flags, mut strings) = (Vec::new(), Vec::new());
    for (name, line) in lines {
        match line.as_str().unwrap_or("") {
            "boolean" | "boolean, default 0" => flags.push(name),
            "boolean, default 1" => flags.push(format!("{name}*")),
            "string" => strings.push(name),
            _ => {
                out.insert(name, line);
            }
        }
    }
    if !flags.is_empty() {
        out.insert(
            "(booleans)".into(),
            json!(format!("{} (* on by default)", flags.join(", "))),
        );
    }
    if !strings.is_empty() {
        out.insert("(strings)".into(), json!(strings.join(", ")));
    }
    out
}

/// `proxmox_api_describe`: one method's parameters, privilege and return; compact (one line a
/// parameter, near 3 KB) unless `detail` is `full`.
pub fn describe(args: &Map<String, Value>) -> Outcome {
    let e = find(
        &text(args, "method").unwrap_or_default(),
        &text(args, "path").unwrap_or_default(),
    )?;
    let full = match text(args, "detail").as_deref() {
        None | Some("compact") => false,
        Some("full") => true,
        Some(other) => return Err(format!("`detail` is `compact` or `full`, not `{other}`")),
    };
    let params = args::parameters(e);
    let path_names: Vec<&str> = e.path_vars.iter().map(|v| v.name).collect();
    let required: Vec<&str> = params
        .iter()
        .filter(|(n, s)| !s.optional && !path_names.contains(&n.as_str()))
        .map(|(n, _)| n.as_str())
        .collect();
    let mut out = json!({"method": e.method.as_str(), "path": e.path, "summary": summary(e),
        "needs": e.permission});
    // A task's return is its UPID, which `task` says.
    if full || !e.returns_task {
        out["returns"] = schema::output(&returns(e), "data");
    }
    if !required.is_empty() {
        out["required"] = json!(required);
    }
    if !full && !params.is_empty() {
        out["detail"] = json!(
            "compact; keys: key=value,... or an object, strings unless typed; \"full\": all texts"
        );
    }
    out["parameters"] = Value::Object(if full {
        params
            .iter()
            .map(|(name, s)| (name.clone(), full_param(name, s)))
            .collect()
    } else {
        let lines = |(desc, keys, group): (usize, usize, bool)| -> Map<String, Value> {
            let mut seen = Vec::new();
            // The most used family of disks names the keys the others share.
            let mut order: Vec<(&String, &Schema)> = params
                .iter()
                .filter(|(n, _)| !path_names.contains(&n.as_str()))
                .collect();
            order.sort_by_key(|(n, _)| n.as_str() != "scsi[n]");
            let m = order
                .into_iter()
                .map(|(name, s)| {
                    let line = compact_param(name, s, (desc, keys), &mut seen);
                    (name.clone(), json!(line))
                })
                .collect();
            if group { grouped(m) } else { m }
        };
        let size = |v: &Value| serde_json::to_string(v).map_or(0, |s| s.len());
        let room = COMPACT_BYTES.saturating_sub(size(&out) + "\"parameters\":,".len());
        let levels = [
            (80, COMPACT_KEYS, false),
            (60, COMPACT_KEYS, false),
            (45, COMPACT_KEYS, false),
            (30, COMPACT_KEYS, false),
            (20, COMPACT_KEYS, false),
            (0, COMPACT_KEYS, false),
            (0, COMPACT_KEYS, true),
            (0, 3, true),
            (0, 2, true),
        ];
        levels
            .into_iter()
            .map(lines)
            .find(|m| size(&Value::Object(m.clone())) <= room)
            .unwrap_or_else(|| lines((0, 1, true)))
    });
    if e.returns_task {
        out["task"] = json!("returns a UPID; proxmox_api_call waits for it");
    }
    if !e.allowtoken {
        out["tokens"] = json!("refuses API tokens");
    }
    if let Some(why) = e.unsupported {
        out["unsupported"] = json!(why);
    }
    Ok(out)
}

/// Path variables and parameters of a generic call as one argument map for [`send`].
fn generic_args(
    method: HttpMethod,
    path: &str,
    args: &Map<String, Value>,
) -> Result<(&'static Endpoint, Map<String, Value>), String> {
    if path.contains('{') {
        return Err(format!(
            "`{path}` is a template: fill in its {{variables}} (such as /nodes/pve1/qemu/100/config)"
        ));
    }
    let (ep, values) = path::resolve(method, path)
        .map_err(|e| format!("{e}. Find methods with proxmox_api_search."))?;
    let mut map = match args.get("params") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            // The text is not echoed: it may hold a password.
            _ => return Err("`params` must be an object (or its JSON text); the text given is not a JSON object".into()),
        },
        Some(_) => return Err("`params` must be an object (or its JSON text)".into()),
    };
    for (var, value) in ep.path_vars.iter().zip(values) {
        if map.contains_key(var.name) {
            return Err(format!(
                "`{}` is part of the path; leave it out of `params`",
                var.name
            ));
        }
        map.insert(var.name.to_string(), Value::String(value));
    }
    Ok((ep, map))
}

/// `proxmox_api_get`: any GET, with `fields` and `limit` applied to its answer.
pub async fn get(call: &Call<'_>, args: Map<String, Value>) -> Outcome {
    let path = text(&args, "path").unwrap_or_default();
    let (ep, map) = generic_args(HttpMethod::Get, &path, &args).map_err(|e| {
        if catalog::find(HttpMethod::Post, &path).is_some() && !path.contains('{') {
            format!("{e} (proxmox_api_call sends POST, PUT and DELETE)")
        } else {
            e
        }
    })?;
    // A method that answers with a file, not JSON, has its own tool.
    if ep.path == "/nodes/{node}/storage/{storage}/file-restore/download" {
        return Err(format!(
            "{} answers with a file, not JSON, so proxmox_api_get cannot read it. Nothing was \
             sent. Read a file out of a backup with proxmox_file_restore_read (toolset restore).",
            ep.path
        ));
    }
    let out = send(call, ep, map, 0, "data").await?;
    let fields = fields(&args);
    let limit = limit(&args, 100);
    Ok(match out {
        Value::Object(mut m) if m.len() == 1 && m.get("data").is_some_and(Value::is_array) => {
            let items = match m.remove("data") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            bounded("data", items, limit, fields.as_deref())
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("data") => Value::Object(m),
        other => json!({"data": project(other, fields.as_deref())}),
    })
}

/// `proxmox_api_call`: any POST, PUT or DELETE, through the whole pipeline of [`send`].
pub async fn call(call: &Call<'_>, mut args: Map<String, Value>) -> Outcome {
    let wait = take_wait(&mut args);
    let method = text(&args, "method").unwrap_or_default();
    let m = match HttpMethod::parse(&method) {
        Some(HttpMethod::Get) => {
            return Err("GET is read-only: use proxmox_api_get".into());
        }
        Some(m) => m,
        None => return Err(format!("`{method}` is not POST, PUT or DELETE")),
    };
    let path = text(&args, "path").unwrap_or_default();
    let (ep, map) = generic_args(m, &path, &args)?;
    let out = send(call, ep, map, wait, "data").await?;
    Ok(match out {
        Value::Object(m)
            if m.contains_key("upid") || m.contains_key("data") || m.contains_key("dry_run") =>
        {
            Value::Object(m)
        }
        other => json!({"data": other}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn found(query: &str) -> Vec<(String, String, Value)> {
        let out = search(&args(json!({"query": query, "limit": 50}))).unwrap();
        out["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["method"].as_str().unwrap().to_string(),
                    m["path"].as_str().unwrap().to_string(),
                    m.clone(),
                )
            })
            .collect()
    }

    fn top5(query: &str, method: &str, path: &str) -> Value {
        let hits = found(query);
        let top: Vec<String> = hits
            .iter()
            .take(5)
            .map(|h| format!("{} {}", h.0, h.1))
            .collect();
        hits.iter()
            .take(5)
            .find(|h| h.0 == method && h.1 == path)
            .map(|h| h.2.clone())
            .unwrap_or_else(|| panic!("{query:?}: {method} {path} not in the top 5: {top:#?}"))
    }

    #[test]
    fn everyday_queries_find_their_method_in_the_top_5() {
        top5("storage usage", "GET", "/nodes/{node}/storage");
        let r = top5("storage usage", "GET", "/cluster/resources");
        assert_eq!(r["params"], json!({"type": "storage"}), "{r}");
        top5("resize disk", "PUT", "/nodes/{node}/qemu/{vmid}/resize");
        let c = top5(
            "list templates",
            "GET",
            "/nodes/{node}/storage/{storage}/content",
        );
        assert_eq!(c["params"], json!({"content": "vztmpl"}), "{c}");
        top5("list templates", "GET", "/nodes/{node}/aplinfo");
        top5(
            "container snapshot",
            "GET",
            "/nodes/{node}/lxc/{vmid}/snapshot",
        );
        top5(
            "container snapshot",
            "POST",
            "/nodes/{node}/lxc/{vmid}/snapshot",
        );
        top5(
            "vm ip address",
            "GET",
            "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
        );
        top5(
            "virtual machine snapshot",
            "POST",
            "/nodes/{node}/qemu/{vmid}/snapshot",
        );
    }

    #[test]
    fn every_lxc_snapshot_method_ranks_above_the_qemu_ones() {
        let hits = found("container snapshot");
        let lxc: Vec<usize> = hits
            .iter()
            .enumerate()
            .filter(|(_, h)| h.1.starts_with("/nodes/{node}/lxc/{vmid}/snapshot"))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(lxc.len(), 7, "{lxc:?}");
        let first_qemu = hits
            .iter()
            .position(|h| h.1.starts_with("/nodes/{node}/qemu/{vmid}/snapshot"))
            .expect("qemu snapshots still match one word");
        assert!(
            lxc.iter().all(|i| *i < first_qemu),
            "{lxc:?} vs {first_qemu}"
        );
    }

    #[test]
    fn more_matching_words_rank_higher_and_none_is_required_of_all() {
        // Three of three words beat two of three; a method matching two is still listed.
        let hits = found("qemu snapshot rollback");
        assert_eq!(
            hits[0].1,
            "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback"
        );
        assert!(
            hits.iter()
                .any(|h| h.1 == "/nodes/{node}/qemu/{vmid}/snapshot")
        );
        assert!(
            hits.iter()
                .any(|h| h.1 == "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback")
        );
        // Nothing matches nothing.
        assert!(found("xyzzy").is_empty());
    }

    #[test]
    fn path_variables_are_filled_from_the_words_when_unambiguous() {
        let hits = found("container 101 snapshot");
        let h = hits
            .iter()
            .find(|h| h.0 == "GET" && h.1 == "/nodes/{node}/lxc/{vmid}/snapshot")
            .unwrap();
        assert_eq!(h.2["example"], "/nodes/{node}/lxc/101/snapshot", "{}", h.2);
        let hits = found("container 101 snapshot on pve1");
        let h = hits
            .iter()
            .find(|h| h.0 == "GET" && h.1 == "/nodes/{node}/lxc/{vmid}/snapshot")
            .unwrap();
        assert_eq!(h.2["example"], "/nodes/pve1/lxc/101/snapshot", "{}", h.2);
        // A word the catalog does not know is a node only when it looks like one.
        let hits = found("failed tasks");
        assert!(
            hits.iter().all(|h| h.2.get("example").is_none()),
            "{:?}",
            hits[0]
        );
        let tasks = top5("failed tasks", "GET", "/nodes/{node}/tasks");
        assert_eq!(tasks["params"], json!({"errors": "1"}), "{tasks}");
        let hits = found("snapshot on alpha");
        assert!(
            hits.iter()
                .any(|h| h.2["example"] == "/nodes/alpha/qemu/{vmid}/snapshot")
        );
        // A VMID that is a parameter rather than part of the path is suggested as one.
        let backup = top5("backup vm 100", "POST", "/nodes/{node}/vzdump");
        assert_eq!(backup["params"], json!({"vmid": "100"}), "{backup}");
        // Two numbers: which is the VMID is not known, so nothing is filled.
        let hits = found("container 101 102 snapshot");
        assert!(hits.iter().all(|h| h.2.get("example").is_none()));
        // The query limit stays.
        let long = "snapshot ".repeat(30);
        assert!(
            search(&args(json!({"query": long})))
                .unwrap_err()
                .contains("at most 200")
        );
    }

    fn described(method: &str, path: &str, detail: Option<&str>) -> Value {
        let mut a = json!({"method": method, "path": path});
        if let Some(d) = detail {
            a["detail"] = json!(d);
        }
        describe(&args(a)).unwrap()
    }

    #[test]
    fn describe_is_compact_by_default() {
        for (m, p) in [
            ("POST", "/nodes/{node}/qemu"),
            ("PUT", "/nodes/{node}/qemu/{vmid}/config"),
            ("POST", "/nodes/{node}/lxc"),
        ] {
            let d = described(m, p, None);
            let bytes = serde_json::to_string(&d).unwrap().len();
            eprintln!("describe {m} {p}: {bytes} bytes");
            assert!(bytes <= 3300, "{m} {p}: {bytes} bytes: {d:#}");
            // Every parameter is there: an entry of its own, or named in a group's line.
            let listed = d["parameters"].to_string();
            let e = find(m, p).unwrap();
            for name in args::parameters(e).keys() {
                let by_name = d["parameters"].get(name).is_some()
                    || listed.contains(&format!(" {name},"))
                    || listed.contains(&format!("\"{name},"))
                    || listed.contains(&format!(" {name}*"))
                    || listed.contains(&format!("\"{name}*"))
                    || listed.contains(&format!(" {name}\""))
                    || listed.contains(&format!(" {name} ("));
                assert!(
                    by_name || e.path_vars.iter().any(|v| v.name == name),
                    "{m} {p}: {name}"
                );
            }
        }
        let d = described("POST", "/nodes/{node}/qemu", None);
        assert_eq!(d["required"], json!(["vmid"]), "{d:#}");
        let net = d["parameters"]["net[n]"].as_str().unwrap();
        assert!(net.starts_with("net0..net31: "), "{net}");
        for key in [
            "model (enum: ",
            "bridge, ",
            "tag (integer 1-4094)",
            "firewall (boolean)",
        ] {
            assert!(net.contains(key), "{key} in {net}");
        }
        let scsi = d["parameters"]["scsi[n]"].as_str().unwrap();
        assert!(scsi.starts_with("scsi0..scsi30: "), "{scsi}");
        assert!(scsi.contains("keys file, size, cache (enum: "), "{scsi}");
        let memory = d["parameters"]["memory"].as_str().unwrap();
        assert!(memory.contains("current (integer"), "{memory}");
        // A smaller method has room for descriptions; they are cut at word boundaries.
        let mut cut = 0;
        for (m, p) in [
            ("POST", "/nodes/{node}/qemu/{vmid}/clone"),
            ("POST", "/nodes/{node}/qemu/{vmid}/migrate"),
            ("POST", "/access/users/{userid}/token/{tokenid}"),
            ("POST", "/cluster/ha/resources"),
        ] {
            let d = described(m, p, None);
            for (name, line) in d["parameters"].as_object().unwrap() {
                let line = line.as_str().unwrap();
                let Some((_, text)) = line.split_once(". ") else {
                    continue;
                };
                let schema = args::parameters(ep(&d))
                    .get(name.as_str())
                    .cloned()
                    .unwrap();
                let whole = schema.description.unwrap_or_default();
                if let Some(kept) = text.strip_suffix('…') {
                    cut += 1;
                    let next = whole[whole.find(kept).unwrap() + kept.len()..]
                        .chars()
                        .next();
                    assert!(
                        next.is_some_and(|c| !c.is_alphanumeric()),
                        "{name}: {line:?} cuts a word of {whole:?}"
                    );
                } else {
                    assert!(whole.starts_with(text), "{name}: {line:?}");
                }
            }
        }
        assert!(cut > 0);
    }

    fn ep(d: &Value) -> &'static Endpoint {
        find(d["method"].as_str().unwrap(), d["path"].as_str().unwrap()).unwrap()
    }

    #[test]
    fn describe_in_full_has_every_description_and_key() {
        let d = described("POST", "/nodes/{node}/qemu", Some("full"));
        // All of it still fits a result (64 KiB) uncut.
        let bytes = serde_json::to_string(&d).unwrap().len();
        assert!(bytes < super::super::bound::MAX_RESULT, "{bytes} bytes");
        let net = &d["parameters"]["net[n]"];
        assert_eq!(net["names"], "net0..net31", "{net:#}");
        assert_eq!(net["keys"]["tag"]["maximum"], 4094, "{net:#}");
        assert!(
            net["keys"]["bridge"]["description"].as_str().unwrap().len() > 20,
            "{net:#}"
        );
        let scsi = &d["parameters"]["scsi[n]"];
        assert!(
            scsi["description"]
                .as_str()
                .unwrap()
                .contains("import-from"),
            "{scsi:#}"
        );
        assert!(scsi["keys"].as_object().unwrap().len() > 30);
        assert!(
            describe(&args(
                json!({"method": "GET", "path": "/version", "detail": "most"})
            ))
            .unwrap_err()
            .contains("compact")
        );
    }

    #[test]
    fn format_errors_name_the_rule_not_the_format_id() {
        let ep = find("POST", "/nodes/{node}/qemu/{vmid}/snapshot").unwrap();
        let (_, map) = generic_args(
            HttpMethod::Post,
            "/nodes/pve1/qemu/100/snapshot",
            &args(json!({"params": {"snapname": "1st"}})),
        )
        .unwrap();
        let e = args::prepare(ep, &map).unwrap_err().to_string();
        assert!(
            e.contains("letters, digits, `-` and `_`, starting with a letter"),
            "{e}"
        );
        assert!(!e.contains("pve-configid"), "{e}");
        let e = args::prepare(ep, &args(json!({"node": "pve1", "vmid": 100})))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("pve-configid"), "{e}");
        assert_eq!(
            proxmox_mcp::validate::format_rule("pve-node"),
            Some("letters, digits and `-`, starting and ending with a letter or digit")
        );
    }

    #[test]
    fn layering_is_one_way() {
        // The generic tools live here, not in `custom`, and never reach up to `call`.
        let own = include_str!("generic.rs");
        let custom = include_str!("custom.rs");
        let up = ["super", "::call"].concat();
        assert!(!own.contains(&format!("{up}::")) && !own.contains(&format!("{up};")));
        assert!(!custom.contains(&["fn api_", "search("].concat()));
        assert!(!custom.contains(&["fn api_", "describe("].concat()));
        assert!(!custom.contains(&["fn generic_", "args("].concat()));
        let (ep, map) = generic_args(
            HttpMethod::Get,
            "/nodes/pve1/qemu/100/config",
            &args(json!({})),
        )
        .unwrap();
        assert_eq!(ep.path, "/nodes/{node}/qemu/{vmid}/config");
        assert_eq!(map["vmid"], "100");
    }
}
