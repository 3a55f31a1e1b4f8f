//! The generator's own unit tests (`src/codegen/*`, `src/apidoc.rs`): `build.rs` compiles those
//! modules without `cfg(test)`, so they run here, and `generate` runs once on the vendored schema.

#![allow(dead_code)]

#[path = "../src/apidoc.rs"]
mod apidoc;
#[path = "../src/codegen/mod.rs"]
mod codegen;

#[test]
fn the_vendored_schema_generates_every_file_with_shared_enums() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("apidoc/apidoc.json")).unwrap();
    let schema = apidoc::ApiSchema::parse(&text).unwrap();
    let out = codegen::generate(&schema, "apidoc/apidoc.json").unwrap();
    let file = |name: &str| {
        &out.files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .1
    };
    // One enum per key and set of values: `ostype` has two sets (qemu's and lxc's).
    let enums = file("enums.rs");
    assert_eq!(enums.matches("pub enum QemuOstype ").count(), 1);
    assert_eq!(enums.matches("pub enum LxcOstype ").count(), 1);
    assert!(!enums.contains("pub enum Default "), "a prelude name");
    // Each enum says which methods use it.
    let ostype = enums.split("pub enum QemuOstype ").next().unwrap();
    let doc = ostype.rsplit("crate::pve_enum!").next().unwrap();
    assert!(doc.contains("Used by `POST /nodes/{node}/qemu`"), "{doc}");
    let nodes = file("api/nodes.rs");
    assert!(!nodes.contains("pub enum "), "enums live in enums.rs only");
    assert!(nodes.matches("crate::enums::QemuOstype").count() >= 3);
}
