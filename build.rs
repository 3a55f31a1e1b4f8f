//! Generates the typed SDK from the vendored PVE schema in `apidoc/`.
//!
//! Reads `apidoc/apidoc.js` (the file a PVE host serves at `/pve-docs/api-viewer/apidoc.js`) or
//! `apidoc/apidoc.json` (the bare `apiSchema` array), or the file named by `PROXMOX_MCP_APIDOC`,
//! and writes the generated Rust and `endpoints.json` to `OUT_DIR`. The generator itself lives in
//! `src/codegen/`; the schema model and parser in `src/apidoc.rs`, shared with the library.

#![allow(dead_code)]

#[path = "src/apidoc.rs"]
mod apidoc;
#[path = "src/codegen/mod.rs"]
mod codegen;

use std::path::{Path, PathBuf};

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1);
}

fn schema_file(dir: &Path) -> PathBuf {
    println!("cargo::rerun-if-env-changed=PROXMOX_MCP_APIDOC");
    if let Ok(p) = std::env::var("PROXMOX_MCP_APIDOC") {
        return PathBuf::from(p);
    }
    let js = dir.join("apidoc.js");
    let json = dir.join("apidoc.json");
    match (js.exists(), json.exists()) {
        (true, true) => {
            fail("apidoc/ holds both apidoc.js and apidoc.json: keep exactly one schema file there")
        }
        (true, false) => js,
        (false, true) => json,
        (false, false) => fail(
            "apidoc/ holds no schema: put PVE's api-viewer apidoc.js (or the apidoc.json array) there",
        ),
    }
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo::rerun-if-changed=apidoc");
    println!("cargo::rerun-if-changed=src/apidoc.rs");
    println!("cargo::rerun-if-changed=src/codegen");
    let file = schema_file(&root.join("apidoc"));
    // The PVE release the schema comes from, written by the maintainer who vendored it.
    let version = std::fs::read_to_string(root.join("apidoc/VERSION"))
        .ok()
        .and_then(|v| v.lines().next().map(|l| l.trim().to_string()))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            fail("apidoc/VERSION is missing: write the PVE release of the schema in it (such as 9.2)")
        });
    println!("cargo::rustc-env=PROXMOX_MCP_SCHEMA_VERSION={version}");
    println!("cargo::rerun-if-changed={}", file.display());
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", file.display())));
    let schema = apidoc::ApiSchema::parse(&text)
        .unwrap_or_else(|e| fail(&format!("{} ({})", e, file.display())));
    let source = file
        .strip_prefix(&root)
        .unwrap_or(&file)
        .display()
        .to_string();
    let output = codegen::generate(&schema, &source).unwrap_or_else(|e| fail(&e));
    for (name, contents) in output.files {
        let path = out.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", parent.display())));
        }
        // Rewrite only what changed, so an unchanged schema does not recompile the SDK.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(contents.as_str()) {
            std::fs::write(&path, contents)
                .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", path.display())));
        }
    }
}
