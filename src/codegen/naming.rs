//! Rust names for schema things: modules from paths, functions from methods, types from context.

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span};

use crate::apidoc::MethodDef;

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// `force-cpu` → `force_cpu`, `forceStop` → `force_stop`, `pci-id-or-mapping` → `pci_id_or_mapping`.
pub fn snake(raw: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in raw.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() {
        "value".to_string()
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{out}")
    } else {
        out
    }
}

/// `migration_type` → `MigrationType`, `e1000-82540em` → `E100082540em`, `4.2` → `V4_2`.
pub fn camel(raw: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    let mut prev_digit = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_digit() && prev_digit && upper && !out.is_empty() {
                out.push('_');
            }
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
            prev_digit = c.is_ascii_digit();
        } else {
            upper = true;
        }
    }
    if out.is_empty() {
        "Empty".to_string()
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{out}")
    } else {
        out
    }
}

/// An identifier, raw (`r#type`) when it is a keyword.
pub fn ident(name: &str) -> Ident {
    if matches!(name, "self" | "Self" | "super" | "crate") {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// A name not yet in `used`, made unique with a numeric suffix if needed; records it.
pub fn unique(used: &mut BTreeSet<String>, base: String) -> String {
    if used.insert(base.clone()) {
        return base;
    }
    (2..)
        .map(|i| format!("{base}{i}"))
        .find(|n| used.insert(n.clone()))
        .expect("an unused name")
}

/// Where a method lands in the Rust API: module path and function name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnName {
    /// Modules below `api`, from the literal path segments: `["nodes", "qemu", "status", "start"]`.
    pub module: Vec<String>,
    /// The function: the HTTP verb, plus the trailing path variables (`get_vmid`).
    pub function: String,
}

impl FnName {
    /// `api::nodes::qemu::status::start::post`
    pub fn rust_path(&self) -> String {
        let mut parts = vec!["api".to_string()];
        parts.extend(self.module.iter().map(|m| ident(m).to_string()));
        parts.push(self.function.clone());
        parts.join("::")
    }
}

/// Names every method. The module follows the literal path segments; the function is the verb,
/// suffixed with the path variables that come after the last literal segment, so that
/// `GET /nodes/{node}/qemu` is `nodes::qemu::get` and `GET /nodes/{node}/qemu/{vmid}` is
/// `nodes::qemu::get_vmid`. Should two methods still meet, both take all their variables.
pub fn plan(methods: &[MethodDef]) -> Result<Vec<FnName>, String> {
    let first: Vec<FnName> = methods.iter().map(|m| name_for(m, false)).collect();
    let mut out = Vec::with_capacity(first.len());
    for (i, name) in first.iter().enumerate() {
        let clash = first
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && other == name);
        out.push(if clash {
            name_for(&methods[i], true)
        } else {
            name.clone()
        });
    }
    let mut seen = BTreeSet::new();
    for (name, m) in out.iter().zip(methods) {
        if !seen.insert((name.module.clone(), name.function.clone())) {
            return Err(format!(
                "generator: {} {} gets the same Rust name `{}` as another method; \
                 extend codegen::naming::plan",
                m.method,
                m.path,
                name.rust_path()
            ));
        }
    }
    Ok(out)
}

fn name_for(m: &MethodDef, all_vars: bool) -> FnName {
    let segs: Vec<&str> = m.path.trim_matches('/').split('/').collect();
    let is_var = |s: &str| s.starts_with('{');
    let module: Vec<String> = segs
        .iter()
        .filter(|s| !is_var(s))
        .map(|s| snake(s))
        .collect();
    let last_literal = segs.iter().rposition(|s| !is_var(s)).unwrap_or(0);
    let vars: Vec<String> = segs
        .iter()
        .enumerate()
        .filter(|(i, s)| is_var(s) && (all_vars || *i > last_literal))
        .map(|(_, s)| snake(s.trim_matches(|c| c == '{' || c == '}')))
        .collect();
    let mut function = m.method.as_str().to_ascii_lowercase();
    if !vars.is_empty() {
        function = format!("{function}_{}", vars.join("_"));
    }
    FnName { module, function }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake("force-cpu"), "force_cpu");
        assert_eq!(snake("forceStop"), "force_stop");
        assert_eq!(snake("pci-id-or-mapping"), "pci_id_or_mapping");
        assert_eq!(camel("migration_type"), "MigrationType");
        assert_eq!(camel("4.2"), "V4_2");
        assert_eq!(camel(""), "Empty");
        assert_eq!(ident("type").to_string(), "r#type");
    }
}
