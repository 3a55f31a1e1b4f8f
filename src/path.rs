//! Request paths. Every request goes through here: a catalog template plus the values of its
//! `{variables}` become a concrete path, and no value can leave its segment.
//!
//! pveproxy percent-decodes the whole path before splitting it on `/`, and the URL parser on our
//! side removes `.` and `..` segments (`%2E%2E` included) before sending. So a value must not be
//! empty, `.` or `..`, and must not contain `/` in any encoding, except in the variables whose
//! route takes the rest of the path (volume IDs, CIDRs, nested pools), where `/` separates
//! components that obey the same rules. Each value is also checked against its schema type,
//! length, named format and pattern.
//!
//! [`resolve`] is the reverse, for callers that hold a concrete path (`Client::request`, the CLI,
//! generic tools): it must match a catalog template, and its values are then checked the same way.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use crate::Error;
use crate::apidoc::HttpMethod;
use crate::catalog::{ENDPOINTS, Endpoint, PathVar, VarKind};
use crate::validate::{check_string, shown};

/// Escaped in a path value: everything but `A-Z a-z 0-9 - . _ ~ : @`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'!')
    .add(b'"')
    .add(b'#')
    .add(b'$')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b',')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The same, but `/` stays as it is (variables that take the rest of the path).
const REST: &AsciiSet = &SEGMENT.remove(b'/');

fn invalid(name: &str, reason: String) -> Error {
    Error::InvalidParameter {
        name: name.to_string(),
        reason,
    }
}

/// `value` percent-decoded until nothing changes (a few rounds at most), as any later decoder
/// could see it.
fn fully_decoded(value: &str) -> String {
    let mut cur = value.to_string();
    for _ in 0..4 {
        let next = percent_decode_str(&cur).decode_utf8_lossy().into_owned();
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// An integer path value: an optional sign and decimal digits, nothing else (no spaces).
fn parse_int(name: &str, value: &str) -> Result<i64, Error> {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            name,
            format!("`{}` is not an integer", shown(value)),
        ));
    }
    value
        .parse()
        .map_err(|_| invalid(name, format!("`{}` is out of range", shown(value))))
}

/// `value` of `var` as it is sent: an integer in canonical decimal form (`+100` and `0100` are
/// `100`), anything else as it is. The value is checked first ([`check_var`]), so a value that
/// is not an integer where one is due is an error.
pub fn canonical_value(var: &PathVar, value: &str) -> Result<String, Error> {
    check_var(var, value)?;
    Ok(match var.kind {
        VarKind::Int { .. } => parse_int(var.name, value)?.to_string(),
        VarKind::Str(_) => value.to_string(),
    })
}

/// Checks one value of a path variable: that it stays in its segment, then the schema's rules.
pub fn check_var(var: &PathVar, value: &str) -> Result<(), Error> {
    let name = var.name;
    if value.is_empty() {
        return Err(invalid(
            name,
            "must not be empty (it is a segment of the URL path)".to_string(),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(
            name,
            format!("`{}` contains control characters", shown(value)),
        ));
    }
    match var.kind {
        VarKind::Int { min, max } => {
            let n = parse_int(name, value)?;
            if let Some(min) = min.filter(|m| n < *m) {
                return Err(invalid(name, format!("{n} is below the minimum {min}")));
            }
            if let Some(max) = max.filter(|m| n > *m) {
                return Err(invalid(name, format!("{n} is above the maximum {max}")));
            }
            Ok(())
        }
        VarKind::Str(rule) => {
            for form in [value.to_string(), fully_decoded(value)] {
                if !rule.rest && form.contains('/') {
                    return Err(invalid(
                        name,
                        format!(
                            "`{}` contains `/` (also as %2F): a path value must stay in its segment",
                            shown(value)
                        ),
                    ));
                }
                if let Some(bad) = form
                    .split('/')
                    .find(|c| c.is_empty() || *c == "." || *c == "..")
                {
                    let what = if bad.is_empty() {
                        "an empty component (a leading, trailing or double `/`)".to_string()
                    } else {
                        format!("`{bad}` as a path component (also as %2E)")
                    };
                    return Err(invalid(
                        name,
                        format!(
                            "`{}` contains {what}, which would change the route",
                            shown(value)
                        ),
                    ));
                }
            }
            check_string(name, value, &rule)
        }
    }
}

/// The concrete path of `endpoint` with these values of its variables, in order; each value is
/// checked ([`check_var`]) and percent-encoded.
pub fn build(endpoint: &Endpoint, values: &[&str]) -> Result<String, Error> {
    if values.len() != endpoint.path_vars.len() {
        return Err(invalid(
            "path",
            format!(
                "{} needs {} path values, got {}",
                endpoint.path,
                endpoint.path_vars.len(),
                values.len()
            ),
        ));
    }
    let mut out = String::with_capacity(endpoint.path.len() + 16);
    let mut vars = endpoint.path_vars.iter().zip(values);
    for seg in endpoint.path.trim_start_matches('/').split('/') {
        out.push('/');
        if seg.starts_with('{') {
            let (var, value) = vars.next().ok_or_else(|| {
                invalid(
                    "path",
                    format!("{}: more variables than the catalog lists", endpoint.path),
                )
            })?;
            let value = canonical_value(var, value)?;
            let set = match var.kind {
                VarKind::Str(r) if r.rest => REST,
                _ => SEGMENT,
            };
            out.extend(utf8_percent_encode(&value, set));
        } else {
            out.push_str(seg);
        }
    }
    Ok(out)
}

/// The catalog method a concrete path (`/nodes/pve1/qemu/100/status/start`, percent-encoded
/// where needed) names, with the decoded values of its variables, integers in canonical form
/// (`0100` and `+100` are `100`). The values are not checked yet: [`build`] does that.
pub fn resolve(method: HttpMethod, path: &str) -> Result<(&'static Endpoint, Vec<String>), Error> {
    let bad = |why: String| invalid("path", format!("`{}` {why}", shown(path)));
    if !path.starts_with('/') {
        return Err(bad("must start with `/` (such as /nodes/pve1/qemu)".into()));
    }
    if path.contains(['?', '#', '\\']) || path.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad(
            "must not contain `?`, `#`, `\\`, spaces or control characters: pass parameters \
             separately, and percent-encode what a value needs"
                .into(),
        ));
    }
    let trimmed = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut segs = Vec::new();
    for raw in trimmed[1..].split('/') {
        if raw.is_empty() {
            return Err(bad("has an empty segment (`//`)".into()));
        }
        let seg = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| bad("decodes to bytes that are not UTF-8".into()))?;
        segs.push(seg.into_owned());
    }
    let mut best: Option<(&'static Endpoint, Vec<String>, usize)> = None;
    for ep in ENDPOINTS.iter().filter(|e| e.method == method) {
        if let Some((values, literals)) = match_template(ep, &segs)
            && best.as_ref().is_none_or(|(_, _, l)| literals > *l)
        {
            best = Some((ep, values, literals));
        }
    }
    if let Some((ep, mut values, _)) = best {
        // Integers in canonical form (`0100` is `100`), so that callers see the value that is
        // sent; one that does not parse stays as it is, for `build` to refuse with its reason.
        for (var, value) in ep.path_vars.iter().zip(values.iter_mut()) {
            if matches!(var.kind, VarKind::Int { .. })
                && let Ok(n) = parse_int(var.name, value)
            {
                *value = n.to_string();
            }
        }
        return Ok((ep, values));
    }
    let others: Vec<&str> = HttpMethod::ALL
        .into_iter()
        .filter(|m| *m != method)
        .filter(|m| {
            ENDPOINTS
                .iter()
                .any(|e| e.method == *m && match_template(e, &segs).is_some())
        })
        .map(HttpMethod::as_str)
        .collect();
    Err(bad(if others.is_empty() {
        format!(
            "matches no {method} method of the PVE API schema (search them with `proxmox-mcp endpoints`)"
        )
    } else {
        format!(
            "has no {method} method in the PVE API schema; it has {}",
            others.join(", ")
        )
    }))
}

/// The values of `ep`'s variables when `segs` (decoded) fit its template, and how many literal
/// segments matched.
fn match_template(ep: &Endpoint, segs: &[String]) -> Option<(Vec<String>, usize)> {
    let tmpl: Vec<&str> = ep.path.trim_start_matches('/').split('/').collect();
    let mut values = Vec::new();
    let mut literals = 0;
    let mut vars = ep.path_vars.iter();
    let mut i = 0;
    for (ti, t) in tmpl.iter().enumerate() {
        if t.starts_with('{') {
            let var = vars.next()?;
            let rest = matches!(var.kind, VarKind::Str(r) if r.rest);
            if rest && ti == tmpl.len() - 1 {
                if i >= segs.len() {
                    return None;
                }
                values.push(segs[i..].join("/"));
                return Some((values, literals));
            }
            values.push(segs.get(i)?.clone());
        } else {
            if segs.get(i)? != t {
                return None;
            }
            literals += 1;
        }
        i += 1;
    }
    (i == segs.len()).then_some((values, literals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find;

    fn ep(method: HttpMethod, template: &str) -> &'static Endpoint {
        find(method, template).unwrap()
    }

    #[test]
    fn values_stay_in_their_segment() {
        let snap = ep(
            HttpMethod::Delete,
            "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}",
        );
        assert_eq!(
            build(snap, &["pve1", "200", "before-upgrade"]).unwrap(),
            "/nodes/pve1/lxc/200/snapshot/before-upgrade"
        );
        for bad in [
            "..",
            ".",
            "",
            "%2e%2e",
            "%2E%2E",
            "%252e%252e",
            "a/0",
            "a%2F0",
            "x\n",
        ] {
            let e = build(snap, &["pve1", "200", bad]).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidParameter { name, .. } if name == "snapname"),
                "{bad:?}: {e}"
            );
        }
        let e = build(snap, &["pve1", "99", "s"]).unwrap_err().to_string();
        assert!(e.contains("vmid") && e.contains("minimum 100"), "{e}");
        let e = build(snap, &["pve1", "1e3", "s"]).unwrap_err().to_string();
        assert!(e.contains("not an integer"), "{e}");
        let group = ep(HttpMethod::Delete, "/cluster/firewall/groups/{group}");
        assert!(build(group, &["web/0"]).is_err());
    }

    #[test]
    fn rest_of_path_values_keep_their_slashes_only() {
        let vol = ep(
            HttpMethod::Delete,
            "/nodes/{node}/storage/{storage}/content/{volume}",
        );
        assert_eq!(
            build(vol, &["pve1", "local", "local:iso/debian 13.iso"]).unwrap(),
            "/nodes/pve1/storage/local/content/local:iso/debian%2013.iso"
        );
        for bad in [
            "local:iso/../x",
            "local:iso/%2E%2E/x",
            "/x",
            "x/",
            "a//b",
            "..",
        ] {
            assert!(build(vol, &["pve1", "local", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn rest_of_path_variables_are_marked_and_last() {
        let rest: Vec<(&str, &str)> = ENDPOINTS
            .iter()
            .flat_map(|e| {
                e.path_vars
                    .iter()
                    .filter(|v| matches!(v.kind, VarKind::Str(r) if r.rest))
                    .map(move |v| (e.path, v.name))
            })
            .collect();
        for (path, var) in &rest {
            assert!(
                path.ends_with(&format!("{{{var}}}")),
                "{path}: {var} is not last"
            );
        }
        for var in ["volume", "cidr", "poolid"] {
            assert!(rest.iter().any(|(_, v)| *v == var), "{var}: {rest:?}");
        }
        assert!(
            rest.iter()
                .all(|(_, v)| ["volume", "cidr", "poolid"].contains(v))
        );
    }

    #[test]
    fn concrete_paths_resolve_to_templates() {
        let (e, v) = resolve(HttpMethod::Post, "/nodes/pve1/qemu/100/status/start").unwrap();
        assert_eq!(e.path, "/nodes/{node}/qemu/{vmid}/status/start");
        assert_eq!(v, ["pve1", "100"]);
        // Literal beats variable.
        let (e, _) = resolve(HttpMethod::Get, "/cluster/ha/status/current").unwrap();
        assert_eq!(e.path, "/cluster/ha/status/current");
        // The value of a %2F-encoded segment is one value, and build refuses it.
        let (e, v) = resolve(HttpMethod::Delete, "/cluster/firewall/groups/web%2F0").unwrap();
        assert_eq!(e.path, "/cluster/firewall/groups/{group}");
        assert!(build(e, &[v[0].as_str()]).is_err());
        // A raw / is two segments: the route the caller wrote.
        let (e, _) = resolve(HttpMethod::Delete, "/cluster/firewall/groups/web/0").unwrap();
        assert_eq!(e.path, "/cluster/firewall/groups/{group}/{pos}");
        let (e, v) = resolve(
            HttpMethod::Get,
            "/nodes/pve1/storage/local/content/local:iso/x.iso",
        )
        .unwrap();
        assert_eq!(e.path, "/nodes/{node}/storage/{storage}/content/{volume}");
        assert_eq!(v[2], "local:iso/x.iso");
        for bad in [
            "nodes",
            "/nodes//qemu",
            "/nodes/pve1/qemu?x=1",
            "/no/such/thing",
        ] {
            assert!(resolve(HttpMethod::Get, bad).is_err(), "{bad}");
        }
        let e = resolve(HttpMethod::Put, "/nodes/pve1/qemu/100/status/start")
            .unwrap_err()
            .to_string();
        assert!(e.contains("it has POST"), "{e}");
    }
}
