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

pub fn search(args: &Map<String, Value>) -> Outcome {
    let query = text(args, "query").unwrap_or_default().to_lowercase();
    let length = query.chars().count();
    if length > MAX_QUERY {
        return Err(format!(
            "the query is {length} characters long; give at most {MAX_QUERY}: a few words such \
             as `qemu snapshot`"
        ));
    }
    let words: Vec<&str> = query.split_whitespace().take(20).collect();
    let mut hits: Vec<(usize, &Endpoint)> = ENDPOINTS
        .iter()
        .filter_map(|e| {
            let path = e.path.to_lowercase();
            let name = e.name.to_lowercase();
            let desc = e.description.to_lowercase();
            let method = e.method.as_str().to_lowercase();
            let mut score = 0;
            for w in &words {
                let s = 3 * usize::from(path.contains(w))
                    + 2 * usize::from(name.contains(w))
                    + usize::from(desc.contains(w))
                    + 2 * usize::from(method == *w);
                if s == 0 {
                    return None;
                }
                score += s;
            }
            Some((score, e))
        })
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.path.len().cmp(&b.1.path.len())));
    let items: Vec<Value> = hits
        .iter()
        .map(|(_, e)| {
            let mut m = json!({"method": e.method.as_str(), "path": e.path, "summary": summary(e),
                               "needs": e.permission});
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
