//! The committed snapshot in `generated/` matches what `build.rs` generates from `apidoc/`, and
//! the catalog covers exactly the methods of the vendored schema.
//!
//! After changing the schema or the generator, refresh the snapshot with
//! `UPDATE_GENERATED=1 cargo test --test generated`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use proxmox_mcp::apidoc::ApiSchema;
use proxmox_mcp::catalog::ENDPOINTS;
use proxmox_mcp::propstring::{PropError, PropertyString, to_string_checked};

mod reachable {
    include!(concat!(env!("OUT_DIR"), "/reachable.rs"));
}

mod canary {
    include!(concat!(env!("OUT_DIR"), "/canary.rs"));
}

mod propstring_cases {
    include!(concat!(env!("OUT_DIR"), "/propstring_cases.rs"));
}

/// Parses a property string as `P` and prints it back, with `Display` and as a request sends it.
type RoundTrip = fn(&str) -> (Result<String, String>, Result<String, String>);

fn round_trip<P>(s: &str) -> (Result<String, String>, Result<String, String>)
where
    P: PropertyString + std::str::FromStr<Err = PropError> + std::fmt::Display,
{
    match s.parse::<P>() {
        Ok(v) => (
            Ok(v.to_string()),
            to_string_checked(&v).map_err(|e| e.to_string()),
        ),
        Err(e) => (Err(e.to_string()), Err(String::new())),
    }
}

/// One generated struct filled with canaries: its type, its canary fields as
/// (name, canary, secret), and its `Debug` output.
pub struct Case {
    ty: &'static str,
    fields: Vec<(&'static str, &'static str, bool)>,
    debug: String,
}

/// A return type read from JSON whose string fields (name, canary, secret, array) hold canaries;
/// `fill` is the JSON of its other required fields.
fn response<T: serde::de::DeserializeOwned + std::fmt::Debug>(
    ty: &'static str,
    fields: &[(&'static str, &'static str, bool, bool)],
    fill: &str,
) -> Case {
    let mut obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(fill).unwrap();
    obj.extend(fields.iter().map(|(name, canary, _, array)| {
        let v = serde_json::Value::String(canary.to_string());
        let v = if *array {
            serde_json::Value::Array(vec![v])
        } else {
            v
        };
        (name.to_string(), v)
    }));
    let value: T = serde_json::from_value(serde_json::Value::Object(obj))
        .unwrap_or_else(|e| panic!("{ty}: canary JSON does not decode: {e}"));
    Case {
        ty,
        fields: fields.iter().map(|(n, c, s, _)| (*n, *c, *s)).collect(),
        debug: format!("{value:?}"),
    }
}

/// A parameters struct built with canaries in its string fields.
fn params(ty: &'static str, fields: &[(&'static str, &'static str, bool)], debug: String) -> Case {
    Case {
        ty,
        fields: fields.to_vec(),
        debug,
    }
}

fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs" || x == "json") {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

#[test]
fn generated_snapshot_is_fresh() {
    let out = Path::new(env!("OUT_DIR"));
    let snap = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    let produced = files_under(out);
    assert!(
        produced.contains(Path::new("endpoints.json")),
        "build.rs wrote no endpoints.json"
    );
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        let _ = std::fs::remove_dir_all(&snap);
        for f in &produced {
            let to = snap.join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(out.join(f), &to).unwrap();
        }
        eprintln!("generated/ refreshed: {} files", produced.len());
        return;
    }
    let committed = files_under(&snap);
    let mut problems = Vec::new();
    for f in produced.symmetric_difference(&committed) {
        let side = if produced.contains(f) {
            "missing from generated/"
        } else {
            "no longer generated"
        };
        problems.push(format!("{}: {side}", f.display()));
    }
    for f in produced.intersection(&committed) {
        if std::fs::read(out.join(f)).unwrap() != std::fs::read(snap.join(f)).unwrap() {
            problems.push(format!(
                "{}: differs from what build.rs generates",
                f.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "generated/ is stale:\n  {}\nRefresh it with `UPDATE_GENERATED=1 cargo test --test generated` and review the diff.",
        problems.join("\n  ")
    );
}

fn vendored_schema() -> ApiSchema {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("apidoc");
    let file = ["apidoc.js", "apidoc.json"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
        .unwrap();
    ApiSchema::parse(&std::fs::read_to_string(file).unwrap()).unwrap()
}

#[test]
fn catalog_and_endpoints_json_list_exactly_the_schema_methods() {
    let schema = vendored_schema();
    let want: Vec<(String, String)> = schema
        .methods
        .iter()
        .map(|m| (m.path.clone(), m.method.to_string()))
        .collect();
    let catalog: Vec<(String, String)> = ENDPOINTS
        .iter()
        .map(|e| (e.path.to_string(), e.method.to_string()))
        .collect();
    assert_eq!(catalog, want);
    assert!(want.len() > 600, "only {} methods", want.len());

    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("generated/endpoints.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let listed: Vec<(String, String)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["method"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(listed, want);
    for e in json.as_array().unwrap() {
        for key in [
            "path",
            "method",
            "name",
            "rust_fn",
            "permissions",
            "allowtoken",
            "protected",
            "returns_task",
        ] {
            assert!(
                e.get(key).is_some(),
                "endpoints.json entry lacks `{key}`: {e}"
            );
        }
    }
}

#[test]
fn every_catalog_entry_names_a_public_function() {
    reachable::touch_every_function();
    let names: Vec<&str> = ENDPOINTS.iter().map(|e| e.rust_fn).collect();
    assert_eq!(names, reachable::RUST_FNS);
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "two methods share a Rust function"
    );
}

/// Every generated parameters and return struct, with a distinct canary in each string field:
/// `Debug` shows the canary of every ordinary field (so the canary really is in there) and never
/// that of a secret one.
#[test]
fn debug_of_every_generated_struct_hides_its_secrets() {
    let cases = canary::cases();
    assert!(cases.len() >= 600, "only {} structs walked", cases.len());
    let mut secrets = BTreeSet::new();
    for case in &cases {
        for (name, canary, secret) in &case.fields {
            let shown = case.debug.contains(canary);
            if *secret {
                assert!(
                    !shown,
                    "{}: secret field `{name}` shows in Debug: {}",
                    case.ty, case.debug
                );
                secrets.insert(format!("{}.{name}", case.ty));
            } else {
                assert!(
                    shown,
                    "{}: field `{name}` lacks its canary in Debug: {}",
                    case.ty, case.debug
                );
            }
        }
    }
    // The secrets a review found printed, by name and by format. (A swapped-in schema of
    // another release may lack a few of these methods.)
    let want = [
        "api::access::ticket::PostResponse.ticket",
        "api::access::ticket::PostResponse.CSRFPreventionToken",
        "api::access::ticket::PostParams.password",
        "api::access::users::token::PostTokenidResponse.value",
        "api::access::users::token::PutTokenidResponse.value",
        "api::nodes::certificates::custom::PostParams.key",
        "api::nodes::qemu::vncproxy::PostResponse.ticket",
        "api::nodes::qemu::vncproxy::PostResponse.password",
        "api::nodes::lxc::spiceproxy::PostResponse.password",
        "api::nodes::qemu::spiceproxy::PostResponse.host",
        "api::access::vncticket::PostParams.vncticket",
        "api::access::tfa::PostUseridParams.totp",
        "api::access::tfa::PostUseridParams.value",
        "api::cluster::sdn::dns::PostParams.key",
        "api::cluster::sdn::dns::PutDnsParams.key",
        "api::cluster::notifications::endpoints::webhook::PostParams.secret",
        "api::storage::PostParams.keyring",
        "api::nodes::qemu::PostParams.cipassword",
        "api::nodes::qemu::config::GetResponse.cipassword",
    ];
    let mut present = 0;
    for w in want {
        let (ty, field) = w.rsplit_once('.').unwrap();
        let known = cases
            .iter()
            .any(|c| c.ty == ty && c.fields.iter().any(|(n, _, _)| *n == field));
        if !known {
            continue;
        }
        present += 1;
        assert!(secrets.contains(w), "{w} is not treated as a secret");
    }
    assert!(
        present + 3 >= want.len(),
        "only {present} of the known secrets found"
    );
}

/// Only structs whose fields may all be left out derive `Default` (parameters, property strings
/// and returns alike): a default with a required field would send an empty value only PVE
/// rejects. Checked on the snapshot's text, which `generated_snapshot_is_fresh` keeps current.
#[test]
fn only_structs_without_required_fields_derive_default() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    let mut checked = 0;
    let mut without = 0;
    for file in files_under(&root) {
        if file.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(root.join(&file)).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.starts_with("#[derive(") {
                continue;
            }
            let Some(start) = lines[i..].iter().position(|l| l.starts_with("pub struct ")) else {
                continue;
            };
            let name = lines[i + start].to_string();
            if !line.contains("Default") {
                without += 1;
                continue;
            }
            checked += 1;
            for (j, field) in lines[i + start + 1..].iter().enumerate() {
                if *field == "}" {
                    break;
                }
                let Some((decl, ty)) = field.split_once(": ") else {
                    continue;
                };
                if !decl.starts_with("pub ") || decl.contains('(') {
                    continue;
                }
                let ty = if ty.is_empty() {
                    lines[i + start + 2 + j]
                } else {
                    ty
                };
                let optional = ty.starts_with("::std::option::Option<")
                    || ty.starts_with("::std::collections::BTreeMap<")
                    || decl == "pub extra"
                    || ty.starts_with("::serde_json::Map<");
                assert!(
                    optional,
                    "{}: `{name}` derives Default but `{field}` is required",
                    file.display()
                );
            }
        }
    }
    assert!(
        checked > 100 && without > 50,
        "{checked} checked, {without} without Default"
    );
}

/// Every generated property-string format reads a string in PVE's canonical form (the default
/// key's value bare, key aliases folded, required keys then the rest, each sorted) and prints it
/// back unchanged, with `Display` and as a request sends it.
#[test]
fn every_property_string_format_round_trips_pves_form() {
    let cases = propstring_cases::cases();
    let formats: BTreeSet<&str> = cases.iter().map(|(ty, _, _, _)| *ty).collect();
    assert!(formats.len() > 40, "{} formats", formats.len());
    let valid = cases.iter().filter(|c| c.2).count();
    assert!(
        valid * 10 >= cases.len() * 9,
        "{valid} of {} cases are valid",
        cases.len()
    );
    let mut failures = Vec::new();
    for (ty, case, valid, round_trip) in cases {
        match round_trip(case) {
            // A case with a value only printing can be checked for (an `x` where a pattern
            // wants more) must fail the request-side checks, naming the key.
            (Ok(shown), Err(e)) if !valid && shown == case && e.contains("pattern") => {}
            (Ok(shown), Ok(sent)) if valid && shown == case && sent == case => {}
            other => failures.push(format!("{ty}: {case} -> {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A guest config read through the SDK has the formats PVE's schema only names
/// (`src/codegen/named_formats.json`) typed, as PVE wrote them; a value the SDK cannot read stays
/// in `extra` as it came, and the rest of the config still decodes.
#[test]
fn qemu_config_reads_named_formats_typed_with_the_lenient_fallback() {
    use proxmox_mcp::api::nodes::qemu::config::GetResponse;
    let json = serde_json::json!({
        "digest": "0123456789abcdef",
        "cpu": "x86-64-v2-AES,flags=+aes",
        "boot": "order=scsi0;ide2;net0",
        "smbios1": "uuid=6b9a5c1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d",
        "hostpci0": "0000:01:00.0,pcie=1,x-vga=1",
        "ipconfig0": "ip=dhcp,ip6=auto",
        "ipconfig1": "ip=10.0.0.5/24,gw=10.0.0.1",
        "startup": "order=first",
        "rng0": "source=/dev/urandom",
        "watchdog": "model=i6300esb,action=reset",
        "cicustom": "user=local:snippets/u.yaml",
        "scsi0": "local-lvm:vm-100-disk-0,size=4096M",
    });
    let config: GetResponse = serde_json::from_value(json).unwrap();
    let cpu = config.cpu.as_ref().unwrap();
    assert_eq!(cpu.cputype.as_deref(), Some("x86-64-v2-AES"));
    assert_eq!(
        config.boot.as_ref().unwrap().to_string(),
        "order=scsi0;ide2;net0"
    );
    assert!(config.smbios1.as_ref().unwrap().uuid.is_some());
    assert_eq!(config.hostpci[&0].pcie, Some(true));
    assert_eq!(config.ipconfig[&1].gw.as_deref(), Some("10.0.0.1"));
    assert_eq!(config.rng0.as_ref().unwrap().to_string(), "/dev/urandom");
    assert_eq!(
        config.watchdog.as_ref().unwrap().to_string(),
        "i6300esb,action=reset"
    );
    assert_eq!(
        config.cicustom.as_ref().unwrap().user.as_deref(),
        Some("local:snippets/u.yaml")
    );
    // `order` is a number: this one is kept as it came, not lost.
    assert!(config.startup.is_none());
    assert_eq!(config.extra["startup"], "order=first");
    // Sizes print as PVE prints them.
    assert_eq!(
        config.scsi[&0].to_string(),
        "local-lvm:vm-100-disk-0,size=4G"
    );
}
