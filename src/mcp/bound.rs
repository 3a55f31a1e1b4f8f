//! Every result and error text is bounded: a model's context is not the place for a 20 MB
//! answer. Long strings are cut, then the longest lists are shortened, and a marker says what
//! was left out and how to get it.

use serde_json::{Value, json};

use super::redact::redact;

/// The largest result, in bytes of JSON.
pub const MAX_RESULT: usize = 64 * 1024;
/// The longest string kept inside a result, in characters.
pub const MAX_STRING: usize = 4096;
/// The largest error text, in bytes.
pub const MAX_ERROR: usize = 8 * 1024;

/// The key of the marker added to a result that was cut.
pub const MARKER: &str = "result_cut";

/// `value` cut to [`MAX_RESULT`] bytes of JSON, with a [`MARKER`] saying what was left out.
pub fn result(value: Value) -> Value {
    result_within(value, MAX_RESULT)
}

/// [`result`], with its compact JSON text: a result that fits (nearly all) is serialised once,
/// for the size check and the text content alike.
pub fn result_text(value: Value) -> (Value, String) {
    let text = serde_json::to_string(&value).unwrap_or_default();
    if text.len() <= MAX_RESULT {
        return (value, text);
    }
    let value = result(value);
    let text = serde_json::to_string(&value).unwrap_or_default();
    (value, text)
}

fn size(v: &Value) -> usize {
    serde_json::to_string(v).map(|s| s.len()).unwrap_or(0)
}

fn result_within(mut value: Value, max: usize) -> Value {
    if size(&value) <= max {
        return value;
    }
    let mut cut = Cut::default();
    cut_strings(&mut value, &mut cut);
    // Halve the largest list until the whole fits (or no list is left to shorten).
    for _ in 0..64 {
        if size(&value) <= max {
            break;
        }
        let Some(list) = largest_list(&mut value) else {
            break;
        };
        let keep = list.len() / 2;
        cut.items += list.len() - keep;
        list.truncate(keep);
    }
    let mut note = String::from("the result was cut to fit 64 KiB");
    if cut.items > 0 {
        note.push_str(&format!(", {} list items left out", cut.items));
    }
    if cut.strings > 0 {
        note.push_str(&format!(", {} long texts shortened", cut.strings));
    }
    note.push_str(
        ": ask for less (`limit`, `fields`, filters, `start` for task logs), or read one part \
         with proxmox_api_get",
    );
    if size(&value) > max {
        // An object too large even without lists and long texts: only the marker is left.
        return json!({ MARKER: format!("{note}; this answer has too many fields to show") });
    }
    if let Value::Object(map) = &mut value {
        map.insert(MARKER.into(), Value::String(note));
    }
    value
}

#[derive(Default)]
struct Cut {
    items: usize,
    strings: usize,
}

fn cut_strings(v: &mut Value, cut: &mut Cut) {
    match v {
        Value::String(s) if s.chars().count() > MAX_STRING => {
            let more = s.chars().count() - MAX_STRING;
            let kept: String = s.chars().take(MAX_STRING).collect();
            *s = format!("{kept}… [{more} more characters not shown]");
            cut.strings += 1;
        }
        Value::Array(items) => items.iter_mut().for_each(|i| cut_strings(i, cut)),
        Value::Object(map) => map.values_mut().for_each(|i| cut_strings(i, cut)),
        _ => {}
    }
}

/// The list with the most bytes anywhere in `v` (with at least one item).
fn largest_list(v: &mut Value) -> Option<&mut Vec<Value>> {
    fn find(v: &Value, path: &mut Vec<usize>, best: &mut (usize, Vec<usize>)) {
        match v {
            Value::Array(items) => {
                let s = size(v);
                if !items.is_empty() && s > best.0 {
                    *best = (s, path.clone());
                }
                for (i, item) in items.iter().enumerate() {
                    path.push(i);
                    find(item, path, best);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (i, item) in map.values().enumerate() {
                    path.push(i);
                    find(item, path, best);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut best = (0, Vec::new());
    find(v, &mut Vec::new(), &mut best);
    if best.0 == 0 {
        return None;
    }
    let mut at = v;
    for i in best.1 {
        at = match at {
            Value::Array(items) => &mut items[i],
            Value::Object(map) => map.values_mut().nth(i)?,
            _ => return None,
        };
    }
    at.as_array_mut()
}

/// An error text cut to [`MAX_ERROR`] bytes, with a marker.
pub fn text(t: String) -> String {
    if t.len() <= MAX_ERROR {
        return t;
    }
    let mut end = MAX_ERROR;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes not shown]", &t[..end], t.len() - end)
}

/// `item` with only `fields` kept, when it is an object and `fields` are given.
pub fn project(item: Value, fields: Option<&[String]>) -> Value {
    match (item, fields) {
        (Value::Object(map), Some(fields)) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f == k))
                .collect(),
        ),
        (other, _) => other,
    }
}

/// A list cut to `limit` items with the total and a `truncated` marker.
pub fn bounded(key: &str, items: Vec<Value>, limit: usize, fields: Option<&[String]>) -> Value {
    let total = items.len();
    let kept: Vec<Value> = items.into_iter().take(limit).collect();
    page(key, kept, total, limit, fields)
}

/// The first `limit` of `total` items (`kept`, already cut to at most `limit`), redacted and
/// projected to `fields`, with the total and a `truncated` marker.
pub fn page(
    key: &str,
    kept: Vec<Value>,
    total: usize,
    limit: usize,
    fields: Option<&[String]>,
) -> Value {
    let kept: Vec<Value> = kept
        .into_iter()
        .map(|i| project(redact(i), fields))
        .collect();
    // Moved in, not through `json!` (which would serialise the list into a copy).
    let mut out = Value::Object(
        [
            (key.to_string(), Value::Array(kept)),
            ("total".to_string(), Value::from(total)),
        ]
        .into_iter()
        .collect(),
    );
    if total > limit {
        out["truncated"] = json!(true);
        out["next"] = json!(format!(
            "{} more not shown: narrow the filters or raise `limit`",
            total - limit
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_results_are_untouched() {
        let v = json!({"a": [1, 2, 3], "b": "x"});
        assert_eq!(result(v.clone()), v);
    }

    #[test]
    fn a_huge_field_and_a_huge_list_are_cut_with_a_marker() {
        let v = json!({"cpu": 0.5, "blob": "x".repeat(20 << 20)});
        let out = result(v);
        assert!(size(&out) <= MAX_RESULT, "{}", size(&out));
        assert_eq!(out["cpu"], 0.5);
        assert!(
            out[MARKER]
                .as_str()
                .unwrap()
                .contains("1 long texts shortened")
        );
        let items: Vec<Value> = (0..100_000)
            .map(|i| json!({"upid": format!("UPID:{i}")}))
            .collect();
        let out = result(json!({"tasks": items, "total": 100_000}));
        assert!(size(&out) <= MAX_RESULT);
        let kept = out["tasks"].as_array().unwrap().len();
        assert!(kept > 100 && kept < 100_000, "{kept}");
        assert_eq!(out["total"], 100_000);
        assert!(
            out[MARKER]
                .as_str()
                .unwrap()
                .contains("list items left out"),
            "{}",
            out[MARKER]
        );
    }

    #[test]
    fn error_texts_are_cut_on_a_character_boundary() {
        let t = text("é".repeat(MAX_ERROR));
        assert!(t.len() < MAX_ERROR + 64);
        assert!(
            t.ends_with("more bytes not shown]"),
            "{}",
            &t[t.len() - 40..]
        );
        assert_eq!(text("short".into()), "short");
    }
}
