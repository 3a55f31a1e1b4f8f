//! Doc comments from PVE's descriptions.

use proc_macro2::TokenStream;
use quote::quote;

/// `#[doc = "..."]` attributes for `text`, made safe for rustdoc: PVE's descriptions are plain
/// text, so leading indentation (which rustdoc would read as a code block) is dropped and square
/// brackets (which it would read as links) are escaped.
pub fn attrs(text: &str) -> TokenStream {
    let text = text.trim();
    if text.is_empty() {
        return quote!();
    }
    let lines = text.lines().map(|line| {
        let line = escape_brackets(line.trim_start());
        let line = if line.starts_with("```") {
            line.replacen("```", "'''", 1)
        } else {
            line
        };
        let line = format!(" {line}");
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// Escapes `[` and `]` outside code spans, where rustdoc would read them as links.
fn escape_brackets(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        match c {
            '`' => in_code = !in_code,
            '[' | ']' if !in_code => out.push('\\'),
            _ => {}
        }
        out.push(c);
    }
    out
}
