//! The permission pre-flight of writes: PVE is asked what the caller holds on the concrete ACL
//! paths (`GET /access/permissions?path=...`, cached briefly) and the method's `permissions.check`
//! expression is evaluated before anything is sent. Expressions it cannot evaluate (`userid-param`,
//! `perm-modify`, variables without a value) are left to PVE.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proxmox_mcp::Client;
use proxmox_mcp::apidoc::HttpMethod;
use proxmox_mcp::catalog::{self, Endpoint};
use proxmox_mcp::params::Form;
use serde_json::{Map, Value};

/// How long PVE's answer about one ACL path is reused.
const TTL: Duration = Duration::from_secs(10);

/// Privileges held on one ACL path.
type Privileges = Arc<BTreeSet<String>>;
/// When PVE said it, and what.
type Entries = HashMap<String, (Instant, Privileges)>;

/// Privileges per ACL path, as PVE last said.
#[derive(Default)]
pub struct Cache {
    entries: Mutex<Entries>,
}

/// The result of evaluating a check.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Met.
    Yes,
    /// Not met: what is missing (for `or`, every alternative).
    No(Vec<Missing>),
    /// Not decidable here; left to PVE.
    Unknown,
}

/// Privileges a check wants on one path and the caller lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// The ACL path, as shown.
    pub path: String,
    /// The privileges lacking (for `any`: all of those named, one of which would do).
    pub privs: Vec<String>,
    /// One of `privs` would do.
    pub any: bool,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.any {
            write!(f, "any of {} on {}", self.privs.join(", "), self.path)
        } else {
            write!(f, "{} on {}", self.privs.join(", "), self.path)
        }
    }
}

/// What is missing, in words: `VM.PowerMgmt on /vms/101, or Sys.Modify on /`.
pub fn describe(missing: &[Missing]) -> String {
    missing
        .iter()
        .map(Missing::to_string)
        .collect::<Vec<_>>()
        .join(", or ")
}

/// The privileges named in one path's entry of `GET /access/permissions`. PVE maps each privilege
/// held to its *propagate* flag, so a privilege is held whenever its key is present, whatever the
/// value: 0 is common (pool-derived privileges, ACLs without propagation, the intersection of a
/// privilege-separated token with its user), and PVE's own `check` only tests definedness (so only
/// a JSON `null` counts as absent).
pub fn held(privs: &Value) -> BTreeSet<String> {
    privs
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

impl Cache {
    /// The privileges the caller holds on `path` (`None` when PVE could not say).
    async fn privileges(&self, client: &Client, path: &str) -> Option<Arc<BTreeSet<String>>> {
        if let Some((at, set)) = self.lock().get(path)
            && at.elapsed() < TTL
        {
            return Some(set.clone());
        }
        let ep = catalog::find(HttpMethod::Get, "/access/permissions")?;
        let mut form = Form::new();
        form.text("path", path);
        let data = match client.execute(ep, &[], form).await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(error = %e, path, "permission pre-flight: cannot read permissions");
                return None;
            }
        };
        // `{path: {privilege: propagate}}` for the path and the entries that apply to it.
        let mut set = BTreeSet::new();
        for privs in data.as_object()?.values() {
            set.extend(held(privs));
        }
        let set = Arc::new(set);
        self.lock()
            .insert(path.to_string(), (Instant::now(), set.clone()));
        Some(set)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets everything (after a write that may change permissions).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Checks that the caller may call `ep` with these values (path variables and parameters);
/// `Err` says who lacks what, before anything is sent.
pub async fn check(
    cache: &Cache,
    client: &Client,
    ep: &Endpoint,
    vars: &Map<String, Value>,
) -> Result<(), String> {
    let Some(check) = serde_json::from_str::<Value>(ep.permissions)
        .ok()
        .and_then(|p| p.get("check").cloned())
    else {
        return Ok(());
    };
    let mut paths = Vec::new();
    collect_paths(&check, vars, &mut paths);
    let mut held = HashMap::new();
    for p in paths {
        if let Some(set) = cache.privileges(client, &p).await {
            held.insert(p, set);
        }
    }
    let lookup = |template: &str| {
        let path = fill(template, vars)?;
        let set = held.get(&path)?.clone();
        Some((path, set))
    };
    match evaluate(&check, &lookup) {
        Verdict::No(missing_list) => {
            let missing = describe(&missing_list);
            let who = if client.uses_token() {
                "the token"
            } else {
                "the user"
            };
            let principal = client.principal();
            let remedy = missing_list
                .iter()
                .map(|m| super::errors::grant(&m.privs, m.any, &m.path))
                .collect::<Vec<_>>()
                .join(", or ");
            Err(format!(
                "refused before sending: {who} {principal} lacks {missing} (PVE would answer 403). \
                 An administrator can {remedy} (Datacenter → Permissions in the web interface). \
                 Nothing was sent."
            ))
        }
        Verdict::Yes | Verdict::Unknown => Ok(()),
    }
}

/// `/vms/{vmid}` with the values of `vars` filled in; `None` when one is missing.
fn fill(template: &str, vars: &Map<String, Value>) -> Option<String> {
    fill_with(template, &|name| match vars.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// `/vms/{vmid}` with the values `value` gives filled in; `None` when one is missing.
pub fn fill_with(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}')? + start;
        out.push_str(&rest[..start]);
        out.push_str(&value(&rest[start + 1..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn collect_paths(check: &Value, vars: &Map<String, Value>, out: &mut Vec<String>) {
    let Some(list) = check.as_array() else { return };
    match list.first().and_then(Value::as_str) {
        Some("perm") => {
            if let Some(p) = list
                .get(1)
                .and_then(Value::as_str)
                .and_then(|t| fill(t, vars))
                && !out.contains(&p)
            {
                out.push(p);
            }
        }
        Some("and" | "or") => list[1..].iter().for_each(|c| collect_paths(c, vars, out)),
        _ => {}
    }
}

/// The privileges held for a path template of a check, with the path as shown in messages
/// (`None`: unknown).
pub type Lookup<'a> = dyn Fn(&str) -> Option<(String, Privileges)> + 'a;

/// Evaluates a `permissions.check` expression: `perm` (with `any`), `and` and `or`; anything else
/// is [`Verdict::Unknown`] and left to PVE.
pub fn evaluate(check: &Value, held: &Lookup) -> Verdict {
    let Some(list) = check.as_array() else {
        return Verdict::Unknown;
    };
    match list.first().and_then(Value::as_str) {
        Some("perm") => {
            let Some(template) = list.get(1).and_then(Value::as_str) else {
                return Verdict::Unknown;
            };
            let Some(privs) = list.get(2).and_then(Value::as_array) else {
                return Verdict::Unknown;
            };
            let privs: Vec<&str> = privs.iter().filter_map(Value::as_str).collect();
            let opts = &list[3.min(list.len())..];
            let mut any = false;
            for pair in opts.chunks(2) {
                match (pair[0].as_str(), pair.get(1)) {
                    (Some("any"), Some(v)) => {
                        any = v.as_u64() == Some(1) || v.as_bool() == Some(true)
                    }
                    // require_param and other options: PVE's business.
                    _ => return Verdict::Unknown,
                }
            }
            let Some((path, set)) = held(template) else {
                return Verdict::Unknown;
            };
            let missing: Vec<&str> = privs
                .iter()
                .copied()
                .filter(|p| !set.contains(*p))
                .collect();
            let met = if any {
                missing.len() < privs.len()
            } else {
                missing.is_empty()
            };
            if met || privs.is_empty() {
                Verdict::Yes
            } else {
                let privs = if any { privs } else { missing };
                Verdict::No(vec![Missing {
                    path,
                    privs: privs.iter().map(|p| p.to_string()).collect(),
                    any,
                }])
            }
        }
        Some("and") => {
            let mut unknown = false;
            for c in &list[1..] {
                match evaluate(c, held) {
                    Verdict::No(m) => return Verdict::No(m),
                    Verdict::Unknown => unknown = true,
                    Verdict::Yes => {}
                }
            }
            if unknown {
                Verdict::Unknown
            } else {
                Verdict::Yes
            }
        }
        Some("or") => {
            let mut misses = Vec::new();
            for c in &list[1..] {
                match evaluate(c, held) {
                    Verdict::Yes => return Verdict::Yes,
                    Verdict::Unknown => return Verdict::Unknown,
                    Verdict::No(m) => misses.extend(m),
                }
            }
            Verdict::No(misses)
        }
        _ => Verdict::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn held(entries: &[(&str, &[&str])]) -> HashMap<String, Arc<BTreeSet<String>>> {
        entries
            .iter()
            .map(|(p, privs)| {
                (
                    p.to_string(),
                    Arc::new(privs.iter().map(|s| s.to_string()).collect()),
                )
            })
            .collect()
    }

    /// [`evaluate`] as the pre-flight uses it: templates filled from `vars`, looked up in `held`.
    fn eval(
        check: &Value,
        vars: &Map<String, Value>,
        held: &HashMap<String, Arc<BTreeSet<String>>>,
    ) -> Verdict {
        evaluate(check, &|t: &str| {
            let path = fill(t, vars)?;
            Some((path.clone(), held.get(&path)?.clone()))
        })
    }

    #[test]
    fn a_present_privilege_is_held_whatever_its_propagate_flag() {
        let entry = json!({"VM.PowerMgmt": 0, "VM.Audit": 1, "VM.Console": "0",
                           "VM.Monitor": true, "VM.Backup": false, "VM.Snapshot": null});
        let set = super::held(&entry);
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            [
                "VM.Audit",
                "VM.Backup",
                "VM.Console",
                "VM.Monitor",
                "VM.PowerMgmt"
            ]
        );
        assert!(super::held(&json!(1)).is_empty());
    }

    #[test]
    fn evaluates_perm_and_or_any() {
        let vars = json!({"vmid": 100, "storage": "local"})
            .as_object()
            .unwrap()
            .clone();
        let h = held(&[
            ("/vms/100", &["VM.Audit"]),
            ("/storage/local", &["Datastore.Audit"]),
        ]);
        let perm = json!(["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]);
        assert_eq!(
            eval(&perm, &vars, &h),
            Verdict::No(vec![Missing {
                path: "/vms/100".into(),
                privs: vec!["VM.PowerMgmt".into()],
                any: false
            }])
        );
        let any = json!([
            "perm",
            "/vms/{vmid}",
            ["VM.PowerMgmt", "VM.Audit"],
            "any",
            1
        ]);
        assert_eq!(eval(&any, &vars, &h), Verdict::Yes);
        let or = json!([
            "or",
            ["perm", "/vms/{vmid}", ["VM.Audit"]],
            ["perm", "/", ["Sys.Audit"]]
        ]);
        assert_eq!(eval(&or, &vars, &h), Verdict::Yes);
        let and = json!([
            "and",
            ["perm", "/vms/{vmid}", ["VM.Audit"]],
            ["perm", "/storage/{storage}", ["Datastore.AllocateSpace"]]
        ]);
        assert_eq!(
            eval(&and, &vars, &h),
            Verdict::No(vec![Missing {
                path: "/storage/local".into(),
                privs: vec!["Datastore.AllocateSpace".into()],
                any: false
            }])
        );
        // A variable without a value, an option it does not know, a check it does not know.
        assert_eq!(
            eval(
                &json!(["perm", "/pool/{poolid}", ["Pool.Allocate"]]),
                &vars,
                &h
            ),
            Verdict::Unknown
        );
        assert_eq!(
            eval(
                &json!([
                    "perm",
                    "/vms/{vmid}",
                    ["VM.Config.Disk"],
                    "require_param",
                    "x"
                ]),
                &vars,
                &h
            ),
            Verdict::Unknown
        );
        assert_eq!(
            eval(&json!(["userid-param", "self"]), &vars, &h),
            Verdict::Unknown
        );
    }
}
