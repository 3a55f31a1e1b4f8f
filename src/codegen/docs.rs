//! Doc comments from PVE's descriptions.
//!
//! PVE's descriptions are plain text with the odd code span (`` `ostype` ``), while rustdoc reads
//! doc comments as Markdown with inline HTML: `<N>` would be an HTML tag and vanish, `[x]` a link,
//! `&lt;` an entity, a bare URL a lint warning. Text from the schema therefore goes through
//! [`text`] (and literal values through [`code`]) before it is joined with the generator's own
//! Markdown and written out by [`attrs`].

use proc_macro2::TokenStream;
use quote::quote;

/// `#[doc = "..."]` attributes for `markdown` (already escaped where it holds PVE's text):
/// leading indentation, which rustdoc would read as a code block, is dropped, and a code fence
/// in PVE's text is defused.
pub fn attrs(markdown: &str) -> TokenStream {
    let markdown = markdown.trim();
    if markdown.is_empty() {
        return quote!();
    }
    let lines = markdown.lines().map(|line| {
        let line = line.trim_start();
        let line = if line.starts_with("```") {
            line.replacen("```", "'''", 1)
        } else {
            line.to_string()
        };
        let line = format!(" {line}");
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// PVE's plain text as Markdown that renders as the same text: `\ < > [ ] &` are escaped outside
/// code spans, bare URLs become autolinks, and a `#` that starts a line is not a heading.
pub fn text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    let mut line_start = true;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let n = run_len(&chars, i, '`');
            match closing_run(&chars, i + n, n) {
                Some(end) => {
                    out.extend(&chars[i..end + n]);
                    i = end + n;
                }
                None => {
                    for _ in 0..n {
                        out.push_str("\\`");
                    }
                    i += n;
                }
            }
            line_start = false;
            continue;
        }
        if let Some(len) = url_len(&chars, i) {
            out.push('<');
            out.extend(&chars[i..i + len]);
            out.push('>');
            i += len;
            line_start = false;
            continue;
        }
        match c {
            '\\' | '<' | '>' | '[' | ']' | '&' => out.push('\\'),
            '#' if line_start => out.push('\\'),
            _ => {}
        }
        out.push(c);
        if c == '\n' {
            line_start = true;
        } else if !c.is_whitespace() {
            line_start = false;
        }
        i += 1;
    }
    out
}

/// `s` as an inline code span, with a fence no backtick inside it can close.
pub fn code(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 || s.starts_with(' ') || s.ends_with(' ') || s.is_empty() {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

fn run_len(chars: &[char], from: usize, c: char) -> usize {
    chars[from..].iter().take_while(|x| **x == c).count()
}

/// Where the next run of exactly `n` backticks starts, at or after `from`.
fn closing_run(chars: &[char], from: usize, n: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == '`' {
            let m = run_len(chars, i, '`');
            if m == n {
                return Some(i);
            }
            i += m;
        } else {
            i += 1;
        }
    }
    None
}

/// The length of an `http://` or `https://` URL starting at `i` (at a word start), without
/// trailing punctuation and without an AsciiDoc link text (`URL[text]`).
fn url_len(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '<') {
        return None;
    }
    let rest: String = chars[i..chars.len().min(i + 8)].iter().collect();
    let scheme = if rest.starts_with("https://") {
        8
    } else if rest.starts_with("http://") {
        7
    } else {
        return None;
    };
    let mut len = chars[i..]
        .iter()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '[' | ']' | '<' | '>' | '`' | '"'))
        .count();
    while len > scheme && matches!(chars[i + len - 1], '.' | ',' | ';' | ':' | ')' | '\'') {
        len -= 1;
    }
    (len > scheme).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_brackets_and_urls_are_escaped() {
        assert_eq!(text("net<N> [x] & y"), "net\\<N\\> \\[x\\] \\& y");
        assert_eq!(text("use `a<b>` here"), "use `a<b>` here");
        assert_eq!(text("odd ` tick <x>"), "odd \\` tick \\<x\\>");
        assert_eq!(
            text("see https://example.com/a[Docs]."),
            "see <https://example.com/a>\\[Docs\\]."
        );
        assert_eq!(text("(https://x.org)."), "(<https://x.org>).");
        assert_eq!(text("#1 a\n  # b"), "\\#1 a\n  \\# b");
        assert_eq!(text("a\\b"), "a\\\\b");
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("x"), "`x`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
