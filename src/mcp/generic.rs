//! The four generic tools that reach the whole API: `proxmox_api_search` and
//! `proxmox_api_describe` read the catalog; `proxmox_api_get` and `proxmox_api_call` send one
//! method through [`send`] like every curated tool. Layered below `custom` (which dispatches
//! here) and above `send`, `input`, `schema` and `redact`; never calls `call`.

use proxmox_mcp::apidoc::HttpMethod;
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
    q.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| !w.is_empty() && !STOP.contains(w))
        .take(20)
        .map(|w| {
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
            !w.word.chars().all(|c| c.is_ascii_digit())
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
            if let Some((_, _, _, hints)) = keywords_of(e) {
                let mut params = Map::new();
                for (word, param, value) in hints.iter() {
                    if words.iter().any(|w| w.terms.iter().any(|t| t == word)) {
                        params.entry(param.to_string()).or_insert(json!(value));
                    }
                }
                if !params.is_empty() {
                    m["params"] = Value::Object(params);
                }
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

/// `proxmox_api_describe`: one method's parameters, privilege and return.
pub fn describe(args: &Map<String, Value>) -> Outcome {
    let e = find(
        &text(args, "method").unwrap_or_default(),
        &text(args, "path").unwrap_or_default(),
    )?;
    let params = args::parameters(e);
    let mut out_params = Map::new();
    for (name, s) in params.iter() {
        let mut p = schema::param(s);
        if !s.optional {
            p["required"] = json!(true);
        }
        out_params.insert(name.clone(), p);
    }
    let returns = returns(e);
    let mut out = json!({"method": e.method.as_str(), "path": e.path, "summary": summary(e),
        "needs": e.permission, "parameters": out_params,
        "returns": schema::output(&returns, "data")});
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
