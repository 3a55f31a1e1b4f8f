//! Rust types from schema nodes: parameter structs, enums, property-string structs, return types.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::docs;
use super::naming::{camel, ident, snake, unique};
use super::secrets::is_secret;
use crate::apidoc::{Format, Schema, SchemaType};

/// The Rust side of one parameter or property-string value.
#[derive(Debug, Clone)]
pub enum Kind {
    Bool,
    Int {
        min: Option<i64>,
        max: Option<i64>,
    },
    /// A VMID (`format: pve-vmid`): `u32` wherever it appears.
    Vmid {
        min: Option<i64>,
        max: Option<i64>,
    },
    Num {
        min: Option<f64>,
        max: Option<f64>,
    },
    Str {
        min: Option<u64>,
        max: Option<u64>,
        /// PVE's named format (`pve-node`).
        format: Option<String>,
        /// PVE's pattern.
        pattern: Option<String>,
        /// Free text, where line breaks pass (`crate::apidoc::is_free_text`).
        free_text: bool,
    },
    Secret {
        min: Option<u64>,
        max: Option<u64>,
    },
    /// A generated enum, by path from the current module.
    Enum(TokenStream),
    /// A generated property-string struct in `crate::formats`.
    Prop(TokenStream),
    Vec(Box<Kind>),
}

impl Kind {
    pub fn ty(&self) -> TokenStream {
        match self {
            Kind::Bool => quote!(bool),
            Kind::Int { .. } => quote!(i64),
            Kind::Vmid { .. } => quote!(u32),
            Kind::Num { .. } => quote!(f64),
            Kind::Str { .. } => quote!(::std::string::String),
            Kind::Secret { .. } => quote!(crate::Secret),
            Kind::Enum(p) | Kind::Prop(p) => p.clone(),
            Kind::Vec(inner) => {
                let t = inner.ty();
                quote!(::std::vec::Vec<#t>)
            }
        }
    }

    /// Code that writes `v` (a reference to this kind) under `key` (a `&str` expression) into `form`.
    pub fn writer(&self, key: &TokenStream, v: &TokenStream) -> TokenStream {
        match self {
            Kind::Bool => quote!(form.bool(#key, *#v);),
            Kind::Int { min, max } => {
                let (min, max) = (opt_i64(*min), opt_i64(*max));
                quote!(form.int(#key, *#v, #min, #max)?;)
            }
            Kind::Vmid { min, max } => {
                let (min, max) = (opt_i64(*min), opt_i64(*max));
                quote!(form.int(#key, i64::from(*#v), #min, #max)?;)
            }
            Kind::Num { min, max } => {
                let (min, max) = (opt_f64(*min), opt_f64(*max));
                quote!(form.num(#key, *#v, #min, #max)?;)
            }
            Kind::Str {
                min,
                max,
                format,
                pattern,
                free_text,
            } => {
                let (min, max) = (opt_u64(*min), opt_u64(*max));
                let (format, pattern) = (opt_str(format.as_deref()), opt_str(pattern.as_deref()));
                let method = if *free_text {
                    format_ident!("free_text")
                } else {
                    format_ident!("str")
                };
                quote!(form.#method(#key, #v, &crate::validate::Text {
                    min_length: #min,
                    max_length: #max,
                    format: #format,
                    pattern: #pattern,
                })?;)
            }
            Kind::Secret { min, max } => {
                let (min, max) = (opt_u64(*min), opt_u64(*max));
                quote!(form.secret(#key, #v.expose(), #min, #max)?;)
            }
            Kind::Enum(p) => quote!(form.choice(#key, #v.as_str(), #p::VALUES)?;),
            Kind::Prop(_) => quote!(form.prop(#key, #v)?;),
            Kind::Vec(inner) => {
                let item = inner.writer(key, &quote!(item));
                quote!(for item in #v.iter() { #item })
            }
        }
    }
}

/// `Some(5i64)` or `None`, as tokens.
pub fn opt_i64(v: Option<i64>) -> TokenStream {
    match v {
        Some(v) => {
            let l = Literal::i64_suffixed(v);
            quote!(::std::option::Option::Some(#l))
        }
        None => quote!(::std::option::Option::None),
    }
}

fn opt_f64(v: Option<f64>) -> TokenStream {
    match v {
        Some(v) => {
            let l = Literal::f64_suffixed(v);
            quote!(::std::option::Option::Some(#l))
        }
        None => quote!(::std::option::Option::None),
    }
}

/// `Some(5u64)` or `None`, as tokens.
pub fn opt_u64(v: Option<u64>) -> TokenStream {
    match v {
        Some(v) => {
            let l = Literal::u64_suffixed(v);
            quote!(::std::option::Option::Some(#l))
        }
        None => quote!(::std::option::Option::None),
    }
}

/// `Some("text")` or `None`, as tokens.
pub fn opt_str(v: Option<&str>) -> TokenStream {
    match v {
        Some(v) => quote!(::std::option::Option::Some(#v)),
        None => quote!(::std::option::Option::None),
    }
}

/// An integer that is a VMID: `format: pve-vmid` (PVE's own marker), or the bounds PVE gives
/// VMIDs (100 to 999999999).
pub fn is_vmid(s: &Schema) -> bool {
    s.ty == Some(SchemaType::Integer)
        && (matches!(&s.format, Some(Format::Named(f)) if f == "pve-vmid")
            || (s.minimum == Some(100.0) && s.maximum == Some(999_999_999.0)))
}

/// A schema bound that is a whole number, as an integer.
pub fn int_bound(v: Option<f64>) -> Option<i64> {
    v.filter(|v| v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e18)
        .map(|v| v as i64)
}

/// Names and items being generated into one module.
pub struct Scope {
    pub used: BTreeSet<String>,
    pub items: Vec<TokenStream>,
    /// The generated structs, for the canary test of their `Debug` output.
    pub canaries: Vec<Canary>,
    /// How the module refers to `crate::formats` items.
    formats_prefix: TokenStream,
    /// The enums of the whole API, shared by every module.
    pub enums: Rc<RefCell<Enums>>,
}

impl Scope {
    pub fn new(in_formats: bool, enums: Rc<RefCell<Enums>>) -> Self {
        Scope {
            used: BTreeSet::new(),
            items: Vec::new(),
            canaries: Vec::new(),
            formats_prefix: if in_formats {
                quote!()
            } else {
                quote!(crate::formats::)
            },
            enums,
        }
    }

    /// The shared enum for `values` of the key `key`, as a path.
    fn enum_type(
        &self,
        key: &str,
        values: &[String],
        contexts: &[String],
        s: &Schema,
    ) -> TokenStream {
        let name = self.enums.borrow_mut().name_for(key, values, contexts, s);
        let id = format_ident!("{}", name);
        quote!(crate::enums::#id)
    }
}

/// The enumerated strings of the whole API, one Rust enum per key and set of values: the
/// `ostype` of a VM's creation and of its config are one type, `crate::enums::QemuOstype`.
pub struct Enums {
    /// (key, sorted values) → the index of its enum in `defs`.
    by_schema: BTreeMap<(String, Vec<String>), usize>,
    /// How many distinct sets of values each key has across the API.
    sets_per_key: BTreeMap<String, usize>,
    used: BTreeSet<String>,
    defs: Vec<EnumDef>,
    /// The method being generated (`PUT /nodes/{node}/qemu/{vmid}/config`), for the docs.
    pub method: String,
    /// The sets of values of the schema's own keys ([`Enums::keep_plain_names_of`]).
    own_sets: BTreeSet<(String, Vec<String>)>,
}

/// One shared enum: its name, its documentation, the values and the methods using it.
struct EnumDef {
    name: String,
    doc: String,
    values: Vec<String>,
    uses: Vec<String>,
}

impl Enums {
    /// Counts, for every key of `schema`, its distinct sets of values: a key with one set names
    /// its enum plainly (`Ostype`), a key with several gets the context in the name.
    pub fn new(schema: &crate::apidoc::ApiSchema) -> Self {
        let mut sets_per_key = BTreeMap::new();
        for (key, _) in Self::sets(schema) {
            *sets_per_key.entry(key).or_insert(0) += 1;
        }
        Enums {
            by_schema: BTreeMap::new(),
            sets_per_key,
            own_sets: BTreeSet::new(),
            used: BTreeSet::new(),
            defs: Vec::new(),
            method: String::new(),
        }
    }

    /// Keeps the plain names of `schema`'s own enums (the schema as PVE printed it, before
    /// `named_formats` added keys): a key with one set of values there (`model` of a NIC) keeps
    /// `Model` though a named format (the watchdog's `model`) brings another set.
    pub fn keep_plain_names_of(&mut self, schema: &crate::apidoc::ApiSchema) {
        self.own_sets = Self::sets(schema);
    }

    /// Every key of `schema` with each of its distinct sorted sets of values.
    fn sets(schema: &crate::apidoc::ApiSchema) -> BTreeSet<(String, Vec<String>)> {
        fn walk(v: &serde_json::Value, key: &str, sets: &mut BTreeSet<(String, Vec<String>)>) {
            let Some(obj) = v.as_object() else { return };
            if let Some(values) = obj.get("enum").and_then(|e| e.as_array()) {
                let mut values: Vec<String> = values
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect();
                values.sort();
                sets.insert((key.to_string(), values));
            }
            for field in ["properties", "format"] {
                if let Some(props) = obj.get(field).and_then(|p| p.as_object()) {
                    for (k, v) in props {
                        walk(v, k.trim_end_matches("[n]"), sets);
                    }
                }
            }
            if let Some(items) = obj.get("items") {
                walk(items, key, sets);
            }
        }
        let mut sets = BTreeSet::new();
        for m in &schema.methods {
            walk(&m.parameters.raw, "", &mut sets);
            walk(&m.returns.raw, "", &mut sets);
        }
        sets
    }

    /// The enums, each documented with the methods that use it.
    pub fn items(&self) -> Vec<TokenStream> {
        self.defs
            .iter()
            .map(|d| {
                let mut doc = d.doc.clone();
                let shown: Vec<String> = d.uses.iter().take(4).map(|u| docs::code(u)).collect();
                if !shown.is_empty() {
                    doc.push_str(&format!("\n\nUsed by {}", shown.join(", ")));
                    match d.uses.len().saturating_sub(shown.len()) {
                        0 => doc.push('.'),
                        n => doc.push_str(&format!(" and {n} more.")),
                    }
                }
                enum_item(&d.name, &d.values, &doc)
            })
            .collect()
    }

    /// The name of the enum for `values` of `key`, generating it on first use. `contexts` are
    /// qualified candidates (`QemuOstype`, `NodesQemuOstype`), best first.
    fn name_for(
        &mut self,
        key: &str,
        values: &[String],
        contexts: &[String],
        s: &Schema,
    ) -> String {
        let mut sorted = values.to_vec();
        sorted.sort();
        let schema_key = (key.to_string(), sorted);
        if let Some(&i) = self.by_schema.get(&schema_key) {
            let def = &mut self.defs[i];
            if !self.method.is_empty() && !def.uses.contains(&self.method) {
                def.uses.push(self.method.clone());
            }
            return def.name.clone();
        }
        // Names from the prelude would shadow it for anyone who glob-imports `enums`.
        const PRELUDE: &[&str] = &["Default", "Option", "Result", "Some", "None", "Ok", "Err"];
        let own = |k: &str| self.own_sets.iter().filter(|(ok, _)| ok == k).count();
        let plain = (!key.is_empty()
            && (self.sets_per_key.get(key).copied().unwrap_or(0) <= 1
                || (own(key) == 1 && self.own_sets.contains(&schema_key))))
        .then(|| camel(key))
        .filter(|n| !PRELUDE.contains(&n.as_str()));
        let plain = super::overrides::enum_name(key, &schema_key.1)
            .map(str::to_string)
            .or(plain);
        let name = plain
            .iter()
            .chain(contexts)
            .find(|n| !self.used.contains(*n))
            .cloned()
            .or_else(|| contexts.last().cloned())
            .unwrap_or_else(|| camel(key));
        let name = unique(&mut self.used, name);
        self.by_schema.insert(schema_key, self.defs.len());
        let doc = if key.is_empty() {
            docs::text(s.description.as_deref().unwrap_or_default())
        } else {
            format!("The values of `{key}`.")
        };
        self.defs.push(EnumDef {
            name: name.clone(),
            doc,
            values: values.to_vec(),
            uses: (!self.method.is_empty())
                .then(|| self.method.clone())
                .into_iter()
                .collect(),
        });
        name
    }
}

/// The property-string structs of the whole API, deduplicated by their schema.
pub struct Formats {
    by_schema: BTreeMap<String, String>,
    /// Chosen struct names by format object (as JSON), tried before the path's hints: a named
    /// format shared by qemu and lxc (`pve-startup-order`) is neither's.
    pub names: BTreeMap<String, String>,
    /// Where the keys of a format come from, by format object (as JSON), for its struct's
    /// documentation (the named formats).
    pub sources: BTreeMap<String, String>,
    /// Every struct's format object, for answers that lack some optional keys.
    shapes: Vec<(String, serde_json::Map<String, serde_json::Value>)>,
    pub scope: Scope,
    /// Round-trip cases per struct: strings as PVE's `print_property_string` would write them,
    /// and whether every value in them is one PVE accepts (so a request may send it).
    pub cases: Vec<(String, Vec<(String, bool)>)>,
}

impl Formats {
    pub fn new(enums: Rc<RefCell<Enums>>) -> Self {
        Formats {
            by_schema: BTreeMap::new(),
            names: BTreeMap::new(),
            sources: BTreeMap::new(),
            shapes: Vec::new(),
            scope: Scope::new(true, enums),
            cases: Vec::new(),
        }
    }

    /// The struct for this property-string format; `hints` are candidate names, best first.
    /// For an `answer`, a struct with more (optional) keys will do.
    fn struct_for(
        &mut self,
        keys: &BTreeMap<String, Schema>,
        raw: &serde_json::Value,
        typetext: Option<&str>,
        hints: &[String],
        answer: bool,
    ) -> String {
        let format = raw.get("format").unwrap_or(raw);
        let canon = serde_json::to_string(format).unwrap_or_default();
        if let Some(name) = self.by_schema.get(&canon) {
            return name.clone();
        }
        // An answer's format often lacks a parameter's write-only keys (`import-from` of a
        // disk): reading it as the parameter's type lets a config go back as it was read.
        if answer
            && let Some(keys) = format.as_object()
            && let Some((name, _)) = self.shapes.iter().find(|(_, wider)| {
                keys.iter().all(|(k, v)| wider.get(k) == Some(v))
                    && wider.iter().all(|(k, v)| {
                        keys.contains_key(k)
                            || v.get("optional").is_some_and(|o| o == 1 || o == true)
                    })
            })
        {
            return name.clone();
        }
        let chosen = self.names.get(&canon).cloned();
        let name = chosen
            .iter()
            .chain(hints)
            .find(|h| !self.scope.used.contains(*h))
            .cloned()
            .unwrap_or_else(|| {
                hints
                    .last()
                    .cloned()
                    .unwrap_or_else(|| "Format".to_string())
            });
        let name = unique(&mut self.scope.used, name);
        let source = self.sources.get(&canon).cloned();
        self.by_schema.insert(canon, name.clone());
        if let Some(keys) = format.as_object() {
            self.shapes.push((name.clone(), keys.clone()));
        }
        let source = source.as_deref();
        let (item, cases) = property_string_struct(&mut self.scope, &name, keys, typetext, source);
        self.scope.items.push(item);
        self.cases.push((name.clone(), cases));
        name
    }
}

/// Documentation for one schema node, with its constraints.
fn schema_doc(s: &Schema) -> String {
    let mut out = docs::text(s.description.as_deref().unwrap_or_default());
    if let Some(v) = &s.verbose_description {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&docs::text(v));
    }
    let mut facts = Vec::new();
    if let (Some(min), Some(max)) = (s.minimum, s.maximum) {
        facts.push(format!("Range: {min} to {max}."));
    } else if let Some(min) = s.minimum {
        facts.push(format!("Minimum: {min}."));
    } else if let Some(max) = s.maximum {
        facts.push(format!("Maximum: {max}."));
    }
    if let Some(n) = s.min_length {
        facts.push(format!("Minimum length: {n}."));
    }
    if let Some(n) = s.max_length {
        facts.push(format!("Maximum length: {n}."));
    }
    if let Some(p) = &s.pattern {
        facts.push(format!("Pattern (Perl, whole value): {}.", docs::code(p)));
    }
    if let Some(Format::Named(f)) = &s.format {
        facts.push(format!("Format: {}.", docs::code(f)));
    }
    if let Some(d) = &s.default {
        let d = match d {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        facts.push(format!("Default: {}.", docs::code(&d)));
    }
    if let Some(t) = s
        .typetext
        .as_ref()
        .filter(|t| t.contains('=') || t.contains('|'))
    {
        facts.push(format!("Syntax: {}.", docs::code(t)));
    }
    if !facts.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&facts.join(" "));
    }
    out
}

/// The [`Kind`] of the parameter or property-string key `key`, generating enums and
/// property-string structs on the way. `hints` are candidate names for generated types, best
/// first.
pub fn kind_of(
    s: &Schema,
    secret: bool,
    key: &str,
    hints: &[String],
    scope: &mut Scope,
    formats: Option<&mut Formats>,
) -> Kind {
    match s.ty {
        Some(SchemaType::Boolean) => Kind::Bool,
        Some(SchemaType::Integer) if is_vmid(s) => Kind::Vmid {
            min: int_bound(s.minimum),
            max: int_bound(s.maximum),
        },
        Some(SchemaType::Integer) => Kind::Int {
            min: int_bound(s.minimum),
            max: int_bound(s.maximum),
        },
        Some(SchemaType::Number) => Kind::Num {
            min: s.minimum,
            max: s.maximum,
        },
        Some(SchemaType::Array) => {
            let inner = match &s.items {
                Some(items) => kind_of(items, secret, key, hints, scope, formats),
                None => Kind::Str {
                    min: None,
                    max: None,
                    format: None,
                    pattern: None,
                    free_text: false,
                },
            };
            Kind::Vec(Box::new(inner))
        }
        _ => {
            if let Some(values) = &s.enum_values {
                return Kind::Enum(scope.enum_type(key, values, hints, s));
            }
            if let (Some(Format::PropertyString(keys)), Some(formats)) = (&s.format, formats) {
                let name = formats.struct_for(keys, &s.raw, s.typetext.as_deref(), hints, false);
                let id = format_ident!("{}", name);
                let prefix = &scope.formats_prefix;
                return Kind::Prop(quote!(#prefix #id));
            }
            let (min, max) = (s.min_length, s.max_length);
            if secret {
                Kind::Secret { min, max }
            } else {
                Kind::Str {
                    min,
                    max,
                    // `validate` checks the formats it knows and the patterns it can compile.
                    format: match &s.format {
                        Some(Format::Named(f)) => Some(f.clone()),
                        _ => None,
                    },
                    pattern: s.pattern.clone(),
                    free_text: crate::apidoc::is_free_text(key, s),
                }
            }
        }
    }
}

/// `pve_enum!` invocation for an enumerated string.
pub fn enum_item(name: &str, values: &[String], doc: &str) -> TokenStream {
    let id = format_ident!("{}", name);
    // `Unlisted` is the catch-all variant of `pve_enum!`; a value named so would get a suffix.
    let mut used = BTreeSet::from(["Unlisted".to_string()]);
    let variants = values.iter().map(|v| {
        let vname = unique(&mut used, camel(v));
        let vid = format_ident!("{}", vname);
        let vdoc = docs::code(v);
        quote!(#[doc = #vdoc] #vid = #v,)
    });
    let doc = docs::attrs(doc);
    quote! {
        crate::pve_enum! {
            #doc
            pub enum #id { #(#variants)* }
        }
    }
}

/// One field of a generated parameter or property-string struct.
pub struct Field {
    pub raw: String,
    pub ident: proc_macro2::Ident,
    pub kind: Kind,
    pub required: bool,
    /// `net[n]`: a family of keys `net0`, `net1`, ...
    pub indexed: bool,
    pub doc: String,
}

impl Field {
    pub fn decl(&self) -> TokenStream {
        let id = &self.ident;
        let t = self.kind.ty();
        let doc = docs::attrs(&self.doc);
        let ty = if self.indexed {
            quote!(::std::collections::BTreeMap<u32, #t>)
        } else if self.required {
            t
        } else {
            quote!(::std::option::Option<#t>)
        };
        quote!(#doc pub #id: #ty,)
    }

    /// Code writing this field of `self` into `form`.
    pub fn write(&self) -> TokenStream {
        let id = &self.ident;
        if self.indexed {
            let stem = self.raw.trim_end_matches("[n]");
            let w = self.kind.writer(&quote!(&key), &quote!(v));
            quote! {
                for (i, v) in self.#id.iter() {
                    let key = ::std::format!("{}{}", #stem, i);
                    #w
                }
            }
        } else {
            let raw = &self.raw;
            let w = self.kind.writer(&quote!(#raw), &quote!(v));
            if self.required {
                quote!({ let v = &self.#id; #w })
            } else {
                quote!(if let ::std::option::Option::Some(v) = &self.#id { #w })
            }
        }
    }
}

/// Builds the fields of a parameters object (path variables excluded).
pub fn fields(
    path: &str,
    props: &BTreeMap<String, Schema>,
    skip: &[&str],
    stems: &[String],
    scope: &mut Scope,
    mut formats: Option<&mut Formats>,
) -> Vec<Field> {
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for (raw, s) in props {
        if skip.contains(&raw.as_str()) {
            continue;
        }
        let indexed = raw.ends_with("[n]");
        let base = raw.trim_end_matches("[n]");
        let fname = unique(&mut names, snake(base));
        let hints: Vec<String> = stems
            .iter()
            .map(|st| format!("{st}{}", camel(base)))
            .collect();
        let kind = kind_of(
            s,
            is_secret(path, raw, s),
            base,
            &hints,
            scope,
            formats.as_deref_mut(),
        );
        let mut doc = schema_doc(s);
        if indexed {
            doc = format!("`{base}0`, `{base}1`, ...: keyed by the index.\n\n{doc}");
        }
        out.push(Field {
            raw: raw.clone(),
            ident: ident(&fname),
            kind,
            required: !s.optional && !indexed,
            indexed,
            doc,
        });
    }
    out
}

/// A parameters struct with its `new` constructor and its `Params` impl.
pub fn params_struct(name: &str, doc: &str, fields: &[Field]) -> TokenStream {
    let id = format_ident!("{}", name);
    let decls = fields.iter().map(Field::decl);
    let writes = fields.iter().map(Field::write);
    // `Default` only when every field may be left out: a default with an empty required field
    // would be a request only PVE rejects.
    let derive_default = fields.iter().all(|f| !f.required);
    let default = if derive_default {
        quote!(Default,)
    } else {
        quote!()
    };
    let required: Vec<&Field> = fields.iter().filter(|f| f.required).collect();
    let args = required.iter().map(|f| {
        let id = &f.ident;
        let t = f.kind.ty();
        quote!(#id: #t)
    });
    let inits = fields.iter().map(|f| {
        let id = &f.ident;
        if f.required {
            quote!(#id)
        } else {
            quote!(#id: ::std::default::Default::default())
        }
    });
    let doc = docs::attrs(doc);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, #default)]
        pub struct #id { #(#decls)* }

        impl #id {
            /// The required parameters; every optional one unset.
            #[allow(clippy::too_many_arguments)]
            pub fn new(#(#args),*) -> Self {
                Self { #(#inits),* }
            }
        }

        impl crate::params::Params for #id {
            fn write(&self, form: &mut crate::params::Form) -> ::std::result::Result<(), crate::Error> {
                #(#writes)*
                ::std::result::Result::Ok(())
            }
        }
    }
}

/// A property-string struct with parse and format, and its round-trip test cases.
fn property_string_struct(
    scope: &mut Scope,
    name: &str,
    keys: &BTreeMap<String, Schema>,
    typetext: Option<&str>,
    source: Option<&str>,
) -> (TokenStream, Vec<(String, bool)>) {
    let id = format_ident!("{}", name);
    // Real keys (not aliases).
    let real: BTreeMap<String, Schema> = keys
        .iter()
        .filter(|(_, s)| s.alias.is_none() && s.key_alias.is_none())
        .map(|(k, s)| (k.clone(), s.clone()))
        .collect();
    let flds = fields("", &real, &[], &[name.to_string()], scope, None);

    let default_key = keys
        .iter()
        .find(|(_, s)| s.default_key)
        .map(|(k, _)| k.clone());
    let default_key = match default_key {
        Some(k) => quote!(::std::option::Option::Some(#k)),
        None => quote!(::std::option::Option::None),
    };
    let aliases = keys
        .iter()
        .filter(|(_, s)| s.alias.is_some() || s.key_alias.is_some())
        .map(|(k, s)| {
            let alias = s.alias.clone().unwrap_or_default();
            let key_alias = match &s.key_alias {
                Some(ka) => quote!(::std::option::Option::Some(#ka)),
                None => quote!(::std::option::Option::None),
            };
            quote!(crate::propstring::Alias { key: #k, alias: #alias, key_alias: #key_alias },)
        });
    let required_keys = flds.iter().filter(|f| f.required).map(|f| &f.raw);
    let cases = round_trip_cases(keys, &real, &flds);
    let decls = flds.iter().map(Field::decl);
    let writes = flds.iter().map(Field::write);
    let local = |f: &Field| format_ident!("f_{}", f.ident.to_string().trim_start_matches("r#"));
    let locals = flds.iter().map(|f| {
        let l = local(f);
        let t = f.kind.ty();
        quote!(let mut #l: ::std::option::Option<#t> = ::std::option::Option::None;)
    });
    let parses = flds.iter().map(|f| {
        let l = local(f);
        let raw = &f.raw;
        let t = f.kind.ty();
        let parse = match &f.kind {
            Kind::Bool => quote!(crate::propstring::parse_bool(#raw, &value)?),
            Kind::Vec(inner) => {
                let it = inner.ty();
                quote!(::std::vec![crate::propstring::parse_value::<#it>(#raw, &value)?])
            }
            _ => quote!(crate::propstring::parse_value::<#t>(#raw, &value)?),
        };
        quote!(#raw => { #l = ::std::option::Option::Some(#parse); })
    });
    let inits = flds.iter().map(|f| {
        let fid = &f.ident;
        let l = local(f);
        let raw = &f.raw;
        if f.required {
            quote!(#fid: #l.ok_or_else(|| crate::propstring::PropError::missing(#raw))?)
        } else {
            quote!(#fid: #l)
        }
    });
    let new_args = flds.iter().filter(|f| f.required).map(|f| {
        let fid = &f.ident;
        let t = f.kind.ty();
        quote!(#fid: #t)
    });
    let new_inits = flds.iter().map(|f| {
        let fid = &f.ident;
        if f.required {
            quote!(#fid)
        } else {
            quote!(#fid: ::std::default::Default::default())
        }
    });
    // As for parameters: `Default` only when no key is required.
    let derive_default = flds.iter().all(|f| !f.required);
    let default = if derive_default {
        quote!(Default,)
    } else {
        quote!()
    };
    let mut doc = format!("Property string `{name}`.");
    if let Some(t) = typetext {
        doc.push_str(&format!("\n\nSyntax: {}.", docs::code(t)));
    }
    if let Some(source) = source {
        doc.push_str(&format!("\n\n{source}"));
    }
    doc.push_str("\n\nParse with `str::parse`, print with `to_string`; keys this schema does not know are kept in `extra`.");
    let doc = docs::attrs(&doc);
    let item = quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, #default)]
        pub struct #id {
            #(#decls)*
            /// Keys this schema version does not know, in the order they came.
            pub extra: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
        }

        impl #id {
            /// The required keys; every optional one unset.
            #[allow(clippy::too_many_arguments)]
            pub fn new(#(#new_args),*) -> Self {
                Self { #(#new_inits,)* extra: ::std::vec::Vec::new() }
            }
        }

        impl crate::propstring::PropertyString for #id {
            const DEFAULT_KEY: ::std::option::Option<&'static str> = #default_key;
            const ALIASES: &'static [crate::propstring::Alias] = &[#(#aliases)*];
            const REQUIRED_KEYS: &'static [&'static str] = &[#(#required_keys),*];

            fn from_pairs(pairs: ::std::vec::Vec<(::std::string::String, ::std::string::String)>) -> ::std::result::Result<Self, crate::propstring::PropError> {
                #(#locals)*
                let mut extra = ::std::vec::Vec::new();
                for (key, value) in pairs {
                    match key.as_str() {
                        #(#parses)*
                        _ => extra.push((key, value)),
                    }
                }
                ::std::result::Result::Ok(Self { #(#inits,)* extra })
            }

            fn write_pairs(&self, form: &mut crate::params::Form) -> ::std::result::Result<(), crate::Error> {
                #(#writes)*
                for (k, v) in &self.extra {
                    form.text(k, v);
                }
                ::std::result::Result::Ok(())
            }
        }

        impl ::std::str::FromStr for #id {
            type Err = crate::propstring::PropError;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                crate::propstring::parse(s)
            }
        }

        impl ::std::fmt::Display for #id {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                crate::propstring::display(self, f)
            }
        }
    };
    (item, cases)
}

/// A valid sample value for a key (the schema's bounds and lengths respected).
fn sample(kind: &Kind, s: &Schema) -> String {
    match kind {
        Kind::Bool => "1".to_string(),
        Kind::Int { min, max } | Kind::Vmid { min, max } => {
            let v = min.map_or(1, |m| m.max(1));
            max.map_or(v, |m| v.min(m)).to_string()
        }
        Kind::Num { min, max } => {
            let v = min.map_or(1.0, |m| m.max(1.0));
            max.map_or(v, |m| v.min(m)).to_string()
        }
        Kind::Enum(_) => s
            .enum_values
            .as_ref()
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default(),
        Kind::Vec(inner) => sample(inner, s.items.as_deref().unwrap_or(s)),
        Kind::Str {
            pattern: Some(p), ..
        } if pattern_sample(p).is_some() => pattern_sample(p).unwrap_or_default().to_string(),
        Kind::Str {
            format: Some(f), ..
        } if format_sample(f).is_some() => format_sample(f).unwrap_or_default().to_string(),
        Kind::Str {
            format: Some(f), ..
        } if matches!(f.as_str(), "pve-userid" | "pve-realm") => "x@pam"
            .trim_start_matches(if f == "pve-realm" { "x@" } else { "" })
            .to_string(),
        Kind::Str {
            min, max, format, ..
        } => {
            // PVE's ids need two characters (`pve-configid`, `pve-storage-id`).
            let least = if format.is_some() { 2 } else { 1 };
            let n = min.unwrap_or(least).max(least);
            "x".repeat(max.map_or(n, |m| n.min(m)) as usize)
        }
        Kind::Secret { min, max } => {
            let n = min.unwrap_or(1).max(1);
            "x".repeat(max.map_or(n, |m| n.min(m)) as usize)
        }
        Kind::Prop(_) => "x".to_string(),
    }
}

/// A value of a named format that a run of `x` would not be (the keys of property strings that
/// PVE checks by format only: addresses, sizes, volumes).
fn format_sample(format: &str) -> Option<&'static str> {
    const SAMPLES: &[(&str, &str)] = &[
        ("disk-size", "4G"),
        ("pve-ipv4-config", "10.0.0.5/24"),
        ("pve-ipv6-config", "auto"),
        ("ipv4", "10.0.0.1"),
        ("ipv6", "fd00::1"),
        ("pve-volume-id", "local:snippets/user.yaml"),
        ("pve-qm-bootdev-list", "scsi0;net0"),
        ("pve-phys-bits", "host"),
    ];
    SAMPLES.iter().find(|(f, _)| *f == format).map(|(_, v)| *v)
}

/// A value matching one of the patterns the schema's property strings use. A pattern not listed
/// here makes its round-trip case a printing check only (see [`sample_is_valid`]).
fn pattern_sample(pattern: &str) -> Option<&'static str> {
    const SAMPLES: &[(&str, &str)] = &[
        ("[1-9][0-9]*\\/(second|minute|hour|day)", "1/second"),
        ("(?^:^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$)", "8086:1234"),
        (
            "(?:[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(?:.[a-f0-9])?;)*[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(?:.[a-f0-9])?",
            "0000:00:1f.0",
        ),
        ("(?^:^(\\d+)\\-(\\d+(\\.\\d+)*)$)", "1-2"),
        (
            "(?:(?^i:[a-z0-9_][a-z0-9_\\-\\+\\.]*):[0-9a-fA-F]{6}(?::[0-9a-fA-F]{6})?)(?:;(?:(?^i:[a-z0-9_][a-z0-9_\\-\\+\\.]*):[0-9a-fA-F]{6}(?::[0-9a-fA-F]{6})?))*",
            "tag:ff0000",
        ),
        ("0[0-7]{3}", "0755"),
        (
            "(?^:^(?:passthrough|[ug]:[0-9]+:[0-9]+:[1-9][0-9]*(?:;[ug]:[0-9]+:[0-9]+:[1-9][0-9]*)*)$)",
            "passthrough",
        ),
        (
            "(?^:(?^:(discard|lazytime|noatime|nodev|noexec|nosuid))(;(?^:(discard|lazytime|noatime|nodev|noexec|nosuid)))*)",
            "noatime",
        ),
        ("(?^:\\d+(?:;\\d+)*)", "1"),
        ("(?^:^(0x)[0-9a-fA-F]{16})", "0x0123456789abcdef"),
        (
            "(pc|pc(-i440fx)?-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|q35|pc-q35-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|virt(?:-\\d+(\\.\\d+)+)?(\\+pve\\d+)?)",
            "q35",
        ),
        ("(?^:\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*)", "1"),
        ("\\d+(\\.\\d+)+", "8.1"),
        // The named formats of `named_formats.json`.
        ("[acdn]{1,4}", "cdn"),
        (
            "(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?(;(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?)*",
            "0000:01:00.0",
        ),
        ("^0x[0-9a-fA-F]{4}$", "0x10de"),
        (
            "[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}",
            "6b9a5c1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d",
        ),
        (
            "(?^u:(?^u:([+-])([a-zA-Z0-9\\-_\\.]+))(;(?^u:([+-])([a-zA-Z0-9\\-_\\.]+)))*)",
            "+aes",
        ),
        (
            "(?^:(?:(?:(?^:(0x)?([0-9A-Fa-f]{4}):(0x)?([0-9A-Fa-f]{4})))|(?:(?^:(\\d+)\\-(\\d+(\\.\\d+)*)))|[Ss][Pp][Ii][Cc][Ee]))",
            "8086:1234",
        ),
    ];
    SAMPLES.iter().find(|(p, _)| *p == pattern).map(|(_, v)| *v)
}

/// Whether [`sample`] gives a value PVE would accept for this key: an `x` satisfies no pattern
/// in general, so a pattern without a listed sample only tests printing.
fn sample_is_valid(kind: &Kind) -> bool {
    const X_MATCHES: &[&str] = &[
        "[-_.\\w\\d]+",
        "[a-zA-Z0-9\\-]+",
        "(?^:[a-zA-Z0-9_; ]+)",
        "(?^i:[a-z0-9_][a-z0-9_\\-\\+\\.]*)(?:;(?^i:[a-z0-9_][a-z0-9_\\-\\+\\.]*))*",
        "[A-Za-z0-9\\-_\\s]{,16}",
        "[A-Za-z0-9\\-_\\s]{,8}",
        "[^,;]+",
        "[^/\\.:]+",
        "[A-Za-z0-9+\\/]+={0,2}",
        "(?^u:[a-zA-Z0-9]{1,12})",
    ];
    match kind {
        Kind::Str {
            pattern: Some(p), ..
        } => pattern_sample(p).is_some() || X_MATCHES.contains(&p.as_str()),
        Kind::Vec(inner) => sample_is_valid(inner),
        _ => true,
    }
}

/// Property strings as PVE's `print_property_string` writes them, built here independently of
/// `crate::propstring` so the runtime's printing is tested against the rule, not against itself:
/// one with the required keys only, one with every key.
fn round_trip_cases(
    keys: &BTreeMap<String, Schema>,
    real: &BTreeMap<String, Schema>,
    flds: &[Field],
) -> Vec<(String, bool)> {
    let default_key = keys.iter().find(|(_, s)| s.default_key).map(|(k, _)| k);
    let mut out: Vec<(String, bool)> = Vec::new();
    for every in [false, true] {
        let mut values: BTreeMap<&str, String> = BTreeMap::new();
        let mut valid = true;
        for f in flds.iter().filter(|f| every || f.required) {
            values.insert(&f.raw, sample(&f.kind, &real[&f.raw]));
            valid &= sample_is_valid(&f.kind);
        }
        // With a key alias (`virtio=MAC`), the keyed value must be one of the alias keys.
        for (k, s) in keys {
            if let (Some(target), Some(keyed)) = (&s.alias, &s.key_alias)
                && values.contains_key(keyed.as_str())
                && values.contains_key(target.as_str())
            {
                values.insert(keyed.as_str(), k.clone());
            }
        }
        let mut order: Vec<&str> = Vec::new();
        order.extend(
            default_key
                .map(String::as_str)
                .filter(|k| values.contains_key(k)),
        );
        for required in [true, false] {
            for f in flds {
                let k = f.raw.as_str();
                if f.required == required && values.contains_key(k) && !order.contains(&k) {
                    order.push(k);
                }
            }
        }
        let mut parts = Vec::new();
        let mut done = BTreeSet::new();
        for k in order {
            if !done.insert(k) {
                continue;
            }
            let v = &values[k];
            let alias = keys
                .iter()
                .find(|(ak, s)| ak.as_str() == v.as_str() && s.key_alias.as_deref() == Some(k));
            if let Some(target) = alias.and_then(|(_, s)| s.alias.as_deref())
                && let Some(tv) = values.get(target)
            {
                done.insert(target);
                parts.push(format!("{v}={tv}"));
                continue;
            }
            if Some(k) == default_key.map(String::as_str) {
                parts.push(v.clone());
            } else {
                parts.push(format!("{k}={v}"));
            }
        }
        let case = parts.join(",");
        if !out.iter().any(|(c, _)| *c == case) {
            out.push((case, valid));
        }
    }
    out
}

/// The Rust type for a returned value, generating structs and enums as needed.
/// `name` is the type name to use if this node needs a struct; `key` is the property the value
/// sits under (empty at the top) and `stems` the path's context stems, for naming enums.
pub fn response_type(
    path: &str,
    s: &Schema,
    name: &str,
    key: &str,
    stems: &[String],
    scope: &mut Scope,
    formats: &mut Formats,
) -> TokenStream {
    match s.ty {
        Some(SchemaType::Null) => quote!(()),
        Some(SchemaType::Boolean) => quote!(bool),
        Some(SchemaType::Integer) if is_vmid(s) || key == "vmid" => quote!(u32),
        Some(SchemaType::Integer) => quote!(i64),
        Some(SchemaType::Number) => quote!(f64),
        Some(SchemaType::String) => match &s.enum_values {
            Some(values) => {
                // `ResourcesType`, then `ResourcesItemType` (the place in the answer), then the
                // answer's type name.
                let place = name.split_once("Response").map_or(name, |(_, p)| p);
                let mut hints: Vec<String> = stems
                    .iter()
                    .map(|st| format!("{st}{}", camel(key)))
                    .collect();
                hints.extend(stems.iter().map(|st| format!("{st}{place}")));
                hints.push(name.to_string());
                scope.enum_type(key, values, &hints, s)
            }
            None => quote!(::std::string::String),
        },
        Some(SchemaType::Array) => {
            let inner = match &s.items {
                Some(items) => response_type(
                    path,
                    items,
                    &format!("{name}Item"),
                    key,
                    stems,
                    scope,
                    formats,
                ),
                None => quote!(::serde_json::Value),
            };
            quote!(::std::vec::Vec<#inner>)
        }
        Some(SchemaType::Object) => match &s.properties {
            Some(props) if !props.is_empty() => {
                let n = unique(&mut scope.used, name.to_string());
                let item = response_struct(path, &n, s, props, stems, scope, formats);
                scope.items.push(item);
                let id = format_ident!("{}", n);
                quote!(#id)
            }
            _ => quote!(::serde_json::Value),
        },
        Some(SchemaType::Any) | None => quote!(::serde_json::Value),
    }
}

/// How a field of a return struct is read.
enum Read {
    /// Straight from its key, with `deserialize_with` when set; `required`: PVE always sends it.
    Plain {
        with: Option<&'static str>,
        required: bool,
    },
    /// A property string, typed: read as text, parsed afterwards (`lenient::prop`).
    Prop,
    /// The keys `stem0`, `stem1`, ...: collected from the other keys (`lenient::indexed`).
    Indexed(String),
}

fn response_struct(
    path: &str,
    name: &str,
    s: &Schema,
    props: &BTreeMap<String, Schema>,
    stems: &[String],
    scope: &mut Scope,
    formats: &mut Formats,
) -> TokenStream {
    let id = format_ident!("{}", name);
    let mut names = BTreeSet::new();
    let mut strings = Vec::new();
    let mut fill = serde_json::Map::new();
    // (raw key, field ident, type, how it is read, doc)
    let mut fields = Vec::new();
    for (raw, p) in props {
        let secret = is_secret(path, raw, p);
        let base = raw.trim_end_matches("[n]");
        let fname = unique(&mut names, snake(base));
        let fid = ident(&fname);
        let prop_hints: Vec<String> = stems
            .iter()
            .map(|st| format!("{st}{}", camel(base)))
            .collect();
        let prop_type = match (&p.format, secret, p.ty) {
            (Some(Format::PropertyString(keys)), false, Some(SchemaType::String) | None) => {
                let n = formats.struct_for(keys, &p.raw, p.typetext.as_deref(), &prop_hints, true);
                let pid = format_ident!("{}", n);
                Some(quote!(crate::formats::#pid))
            }
            _ => None,
        };
        let doc = schema_doc(p);
        if raw.ends_with("[n]") {
            let t = match prop_type {
                Some(t) => t,
                None if secret => continue,
                None if p.ty == Some(SchemaType::String) || p.ty.is_none() => {
                    quote!(::std::string::String)
                }
                // Indexed numbers and the like stay in `extra`.
                None => continue,
            };
            let doc = format!("`{base}0`, `{base}1`, ...: keyed by the index.\n\n{doc}");
            fields.push((raw.clone(), fid, t, Read::Indexed(base.to_string()), doc));
            continue;
        }
        if let Some(t) = prop_type {
            fields.push((raw.clone(), fid, t, Read::Prop, doc));
            continue;
        }
        let t = if secret && p.ty == Some(SchemaType::Array) {
            quote!(::std::vec::Vec<crate::Secret>)
        } else if secret {
            quote!(crate::Secret)
        } else {
            response_type(
                path,
                p,
                &format!("{name}{}", camel(raw)),
                raw,
                stems,
                scope,
                formats,
            )
        };
        let ts = t.to_string();
        let stringish = p.ty == Some(SchemaType::String) || p.ty.is_none() && secret;
        if stringish && (secret || ts == ":: std :: string :: String" || p.enum_values.is_some()) {
            strings.push((raw.clone(), secret, false));
        } else if p.ty == Some(SchemaType::Array)
            && p.items
                .as_ref()
                .is_some_and(|i| i.ty == Some(SchemaType::String) && i.enum_values.is_none())
        {
            strings.push((raw.clone(), secret, true));
        }
        // The schema's non-optional fields are plain values, secrets excepted (a `Secret` is
        // always optional, so a redacted answer still decodes).
        let required = !p.optional
            && !secret
            && !matches!(p.ty, Some(SchemaType::Any) | Some(SchemaType::Null) | None);
        if required && !stringish {
            fill.insert(raw.clone(), sample_json(p));
        }
        let with = match (ts.as_str(), required) {
            ("bool", false) => Some("crate::lenient::opt_bool"),
            ("bool", true) => Some("crate::lenient::req_bool"),
            ("i64", false) => Some("crate::lenient::opt_i64"),
            ("i64", true) => Some("crate::lenient::req_i64"),
            ("u32", false) => Some("crate::lenient::opt_u32"),
            ("u32", true) => Some("crate::lenient::req_u32"),
            ("f64", false) => Some("crate::lenient::opt_f64"),
            ("f64", true) => Some("crate::lenient::req_f64"),
            (":: std :: string :: String", false) => Some("crate::lenient::opt_string"),
            (":: std :: string :: String", true) => Some("crate::lenient::string"),
            ("crate :: Secret", _) => Some("crate::lenient::opt_secret"),
            _ => None,
        };
        fields.push((raw.clone(), fid, t, Read::Plain { with, required }, doc));
    }
    let typed = fields
        .iter()
        .any(|f| matches!(f.3, Read::Prop | Read::Indexed(_)));
    let has_indexed = props.keys().any(|k| k.ends_with("[n]"));
    let open = typed || has_indexed || s.additional_properties != Some(false);
    let extra = open.then(|| ident(&unique(&mut names, "extra".to_string())));

    // The field as the struct declares it, and as the raw struct reads it.
    let decl =
        |(raw, fid, t, read, doc): &(String, proc_macro2::Ident, TokenStream, Read, String),
         in_raw: bool| {
            let rename = if fid.to_string().trim_start_matches("r#") != raw {
                quote!(rename = #raw,)
            } else {
                quote!()
            };
            let doc = docs::attrs(doc);
            match read {
                Read::Plain { with, required } => {
                    let with = with.map(|w| quote!(deserialize_with = #w,));
                    let (default, ty) = if *required {
                        (quote!(), t.clone())
                    } else {
                        (quote!(default,), quote!(::std::option::Option<#t>))
                    };
                    let attrs = if in_raw || !typed {
                        quote!(#[serde(#default #rename #with)])
                    } else {
                        quote!()
                    };
                    Some(quote!(#doc #attrs pub #fid: #ty,))
                }
                Read::Prop if in_raw => Some(quote! {
                    #[serde(default, #rename deserialize_with = "crate::lenient::opt_string")]
                    #fid: ::std::option::Option<::std::string::String>,
                }),
                Read::Prop => Some(quote!(#doc pub #fid: ::std::option::Option<#t>,)),
                Read::Indexed(_) if in_raw => None,
                Read::Indexed(_) => {
                    Some(quote!(#doc pub #fid: ::std::collections::BTreeMap<u32, #t>,))
                }
            }
        };
    let mut decls: Vec<TokenStream> = fields.iter().filter_map(|f| decl(f, false)).collect();
    let extra_doc = if has_indexed {
        " Keys this schema does not list, and values this SDK could not read (as they came)."
    } else {
        " Keys this schema does not list."
    };
    let extra_decl = extra.as_ref().map(|e| {
        quote! {
            #[doc = #extra_doc]
            #[serde(flatten)]
            pub #e: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
        }
    });
    decls.extend(extra_decl.clone());
    let doc = docs::attrs(
        &s.description
            .as_deref()
            .map(docs::text)
            .unwrap_or_else(|| format!("`{name}` returned by PVE.")),
    );
    scope.canaries.push(Canary {
        type_name: name.to_string(),
        body: CanaryBody::Response {
            strings,
            fill: serde_json::Value::Object(fill).to_string(),
        },
    });
    // `Default` only when every field may be absent.
    let default = fields
        .iter()
        .all(|f| !matches!(f.3, Read::Plain { required: true, .. }))
        .then(|| quote!(Default,));
    if !typed {
        return quote! {
            #doc
            #[derive(Debug, Clone, PartialEq, #default ::serde::Deserialize)]
            pub struct #id { #(#decls)* }
        };
    }
    // Typed property strings and indexed keys: read the answer into a raw struct, then type it.
    let raw_name = unique(&mut scope.used, format!("{name}Raw"));
    let raw_id = format_ident!("{}", raw_name);
    let raw_decls = fields.iter().filter_map(|f| decl(f, true));
    let e = extra.expect("typed structs keep extra");
    let moves = fields.iter().map(|(raw, fid, _, read, _)| match read {
        Read::Plain { .. } => quote!(#fid: r.#fid,),
        Read::Prop => quote!(#fid: crate::lenient::prop(r.#fid, #raw, &mut r.#e),),
        Read::Indexed(stem) => quote!(#fid: crate::lenient::indexed(&mut r.#e, #stem),),
    });
    let raw_str = raw_name.as_str();
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, #default ::serde::Deserialize)]
        #[serde(from = #raw_str)]
        pub struct #id { #(#decls)* }

        #[derive(::serde::Deserialize)]
        struct #raw_id { #(#raw_decls)* #extra_decl }

        impl ::std::convert::From<#raw_id> for #id {
            fn from(mut r: #raw_id) -> Self {
                Self { #(#moves)* #e: r.#e }
            }
        }
    }
}

/// A JSON value this schema accepts, for the canary test: required properties filled in.
fn sample_json(s: &Schema) -> serde_json::Value {
    use serde_json::Value;
    match s.ty {
        Some(SchemaType::Boolean) => Value::Bool(false),
        Some(SchemaType::Integer) => {
            let v = int_bound(s.minimum).unwrap_or(100).max(100);
            Value::from(int_bound(s.maximum).map_or(v, |m| v.min(m)))
        }
        Some(SchemaType::Number) => Value::from(0.0),
        Some(SchemaType::Array) => Value::Array(Vec::new()),
        Some(SchemaType::Object) => Value::Object(
            s.properties
                .iter()
                .flatten()
                .filter(|(k, p)| !p.optional && !k.ends_with("[n]"))
                .map(|(k, p)| (k.clone(), sample_json(p)))
                .collect(),
        ),
        Some(SchemaType::String) | Some(SchemaType::Any) | Some(SchemaType::Null) | None => {
            match &s.enum_values {
                Some(v) => Value::String(v.first().cloned().unwrap_or_default()),
                None => Value::String("x".to_string()),
            }
        }
    }
}

/// A generated struct, for the test that fills it with canary strings and reads its `Debug`.
pub struct Canary {
    /// The type's name in its module.
    pub type_name: String,
    /// How the test builds a value.
    pub body: CanaryBody,
}

/// How the canary test builds a value of a generated struct.
pub enum CanaryBody {
    /// A return type, read from JSON: its string fields as (name, secret, is an array), and
    /// the JSON of its other required fields.
    Response {
        strings: Vec<(String, bool, bool)>,
        fill: String,
    },
    /// A parameters struct, built as a struct literal: the field initialisers, and the fields
    /// that hold a canary as (name, canary, secret).
    Params {
        inits: Vec<TokenStream>,
        fields: Vec<(String, String, bool)>,
    },
}

/// The canary entry of a parameters struct; `None` when a required field cannot be filled
/// generically (a property string).
pub fn params_canary(name: &str, fields: &[Field]) -> Option<Canary> {
    let mut inits = Vec::new();
    let mut marked = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let id = &f.ident;
        let canary = format!("CANARY_{i}_END");
        let stringy = |k: &Kind| matches!(k, Kind::Str { .. } | Kind::Secret { .. });
        let secret = |k: &Kind| match k {
            Kind::Secret { .. } => true,
            Kind::Vec(inner) => matches!(**inner, Kind::Secret { .. }),
            _ => false,
        };
        let value = match &f.kind {
            k if stringy(k) => Some(quote!(#canary.into())),
            Kind::Enum(_) => Some(quote!(#canary.parse().unwrap())),
            Kind::Vec(inner) if stringy(inner) => Some(quote!(::std::vec![#canary.into()])),
            _ => None,
        };
        let init = if f.indexed {
            match &value {
                Some(v) if !matches!(f.kind, Kind::Vec(_)) => {
                    quote!(#id: ::std::iter::once((0u32, #v)).collect())
                }
                _ => quote!(#id: ::std::default::Default::default()),
            }
        } else if let Some(v) = &value {
            if f.required {
                quote!(#id: #v)
            } else {
                quote!(#id: ::std::option::Option::Some(#v))
            }
        } else if !f.required {
            quote!(#id: ::std::option::Option::None)
        } else {
            match &f.kind {
                Kind::Bool => quote!(#id: false),
                Kind::Int { .. } => quote!(#id: 0),
                Kind::Vmid { .. } => quote!(#id: 100),
                Kind::Num { .. } => quote!(#id: 0.0),
                Kind::Vec(_) => quote!(#id: ::std::vec::Vec::new()),
                _ => return None,
            }
        };
        if value.is_some() && !(f.indexed && matches!(f.kind, Kind::Vec(_))) {
            marked.push((f.raw.clone(), canary, secret(&f.kind)));
        }
        inits.push(init);
    }
    Some(Canary {
        type_name: name.to_string(),
        body: CanaryBody::Params {
            inits,
            fields: marked,
        },
    })
}
