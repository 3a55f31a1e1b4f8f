//! Lenient decoding of PVE's answers.
//!
//! PVE's Perl backend is loosely typed: a boolean may arrive as `1`, `"1"`, `true` or `"true"`, a
//! number as a string. Generated return types read their fields through these helpers, so a
//! field PVE writes in an unexpected form still decodes, and unknown fields are ignored.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use crate::Error;

/// A boolean from any of PVE's spellings.
pub fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|n| n != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An integer from a number (also `3.0`) or a numeric string.
pub fn i64_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok()))
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A number from a number or a numeric string.
pub fn f64_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string from a string, number or boolean.
pub fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

fn mismatch<E: serde::de::Error>(what: &str, v: &Value) -> E {
    E::custom(format!("expected {what}, found {v}"))
}

/// Deserializes a string leniently (numbers and booleans become their text).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    string_of(&v).ok_or_else(|| mismatch("a string", &v))
}

macro_rules! optional {
    ($name:ident, $ty:ty, $of:ident, $what:literal) => {
        #[doc = concat!("An optional ", $what, ", read leniently; `null` is `None`.")]
        pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
            let v = Value::deserialize(d)?;
            if v.is_null() {
                return Ok(None);
            }
            $of(&v).map(Some).ok_or_else(|| mismatch($what, &v))
        }
    };
}

optional!(opt_bool, bool, bool_of, "a boolean");
optional!(opt_i64, i64, i64_of, "an integer");
optional!(opt_u32, u32, u32_of, "a VMID");
optional!(opt_f64, f64, f64_of, "a number");
optional!(opt_string, String, string_of, "a string");

macro_rules! required {
    ($name:ident, $ty:ty, $of:ident, $what:literal) => {
        #[doc = concat!("A field PVE always sends, ", $what, " read leniently.")]
        pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            let v = Value::deserialize(d)?;
            $of(&v).ok_or_else(|| mismatch($what, &v))
        }
    };
}

required!(req_bool, bool, bool_of, "a boolean");
required!(req_i64, i64, i64_of, "an integer");
required!(req_u32, u32, u32_of, "a VMID");
required!(req_f64, f64, f64_of, "a number");

/// A VMID (or another small non-negative integer) from a number or a numeric string.
pub fn u32_of(v: &Value) -> Option<u32> {
    i64_of(v).and_then(|n| u32::try_from(n).ok())
}

/// A property-string field of an answer, typed. A value this SDK cannot read (a newer PVE's
/// syntax, a hand-edited config) is not lost: it goes to `extra` under its key, as text.
pub fn prop<T: std::str::FromStr>(
    text: Option<String>,
    key: &str,
    extra: &mut serde_json::Map<String, Value>,
) -> Option<T> {
    let text = text?;
    match text.parse() {
        Ok(v) => Some(v),
        Err(_) => {
            extra.insert(key.to_string(), Value::String(text));
            None
        }
    }
}

/// The indexed keys `stem0`, `stem1`, ... of an answer (`net0`, `scsi1`), taken out of `extra`
/// and typed, keyed by their index. Values that do not parse stay in `extra`.
pub fn indexed<T: std::str::FromStr>(
    extra: &mut serde_json::Map<String, Value>,
    stem: &str,
) -> std::collections::BTreeMap<u32, T> {
    let mut out = std::collections::BTreeMap::new();
    let keys: Vec<(String, u32)> = extra
        .keys()
        .filter_map(|k| {
            let digits = k.strip_prefix(stem)?;
            let valid = !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'));
            valid
                .then(|| digits.parse().ok())
                .flatten()
                .map(|i| (k.clone(), i))
        })
        .collect();
    for (key, i) in keys {
        let parsed = extra
            .get(&key)
            .and_then(string_of)
            .and_then(|text| text.parse().ok());
        if let Some(v) = parsed {
            extra.remove(&key);
            out.insert(i, v);
        }
    }
    out
}

/// An optional secret, read leniently; `null` is `None`.
pub fn opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<crate::Secret>, D::Error> {
    opt_string(d).map(|s| s.map(crate::Secret::new))
}

/// `data` of a method whose return the schema marks optional: `null` is `None`, anything else
/// goes through `decode`.
pub fn optional<T>(
    data: Value,
    decode: impl FnOnce(Value) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    if data.is_null() {
        Ok(None)
    } else {
        decode(data).map(Some)
    }
}

fn decode_error(what: &str, v: &Value) -> Error {
    let mut shown = v.to_string();
    if shown.len() > 200 {
        shown.truncate(200);
        shown.push_str("...");
    }
    Error::Decode {
        message: format!("expected {what} in `data`, found {shown}"),
    }
}

/// `data` of a method that returns nothing.
pub fn data_unit(_data: Value) -> Result<(), Error> {
    Ok(())
}

/// `data` as a boolean.
pub fn data_bool(data: Value) -> Result<bool, Error> {
    bool_of(&data).ok_or_else(|| decode_error("a boolean", &data))
}

/// `data` as an integer.
pub fn data_i64(data: Value) -> Result<i64, Error> {
    i64_of(&data).ok_or_else(|| decode_error("an integer", &data))
}

/// `data` as a VMID.
pub fn data_u32(data: Value) -> Result<u32, Error> {
    u32_of(&data).ok_or_else(|| decode_error("a VMID", &data))
}

/// `data` as a number.
pub fn data_f64(data: Value) -> Result<f64, Error> {
    f64_of(&data).ok_or_else(|| decode_error("a number", &data))
}

/// `data` as a string.
pub fn data_string(data: Value) -> Result<String, Error> {
    string_of(&data).ok_or_else(|| decode_error("a string", &data))
}

/// `data` as a task id: what a method that starts a task returns.
pub fn data_upid(data: Value) -> Result<crate::Upid, Error> {
    data.as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| decode_error("a task id (UPID)", &data))
}

/// `data` as a generated return type. A `null` list reads as empty.
pub fn data<T: DeserializeOwned>(data: Value) -> Result<T, Error> {
    // PVE sends `null` for an empty list now and then; read it as one where a list is expected.
    let data = match data {
        Value::Null => match serde_json::from_value(Value::Null) {
            Ok(v) => return Ok(v),
            Err(_) => Value::Array(Vec::new()),
        },
        other => other,
    };
    serde_json::from_value(data).map_err(|e| Error::Decode {
        message: format!("unexpected shape of `data`: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_pve_booleans_and_numbers() {
        for v in [json!(1), json!("1"), json!(true), json!("true")] {
            assert_eq!(bool_of(&v), Some(true), "{v}");
        }
        for v in [json!(0), json!("0"), json!(false)] {
            assert_eq!(bool_of(&v), Some(false), "{v}");
        }
        assert_eq!(bool_of(&json!("maybe")), None);
        assert_eq!(i64_of(&json!("42")), Some(42));
        assert_eq!(i64_of(&json!(42.0)), Some(42));
        assert_eq!(f64_of(&json!("0.5")), Some(0.5));
        assert_eq!(string_of(&json!(100)), Some("100".into()));
    }

    #[test]
    fn top_level_data() {
        assert!(data_bool(json!("1")).unwrap());
        assert!(data_i64(json!({"a": 1})).is_err());
        let v: Vec<String> = data(Value::Null).unwrap();
        assert!(v.is_empty());
        assert_eq!(optional(Value::Null, data_string).unwrap(), None);
        assert_eq!(
            optional(json!("x"), data_string).unwrap(),
            Some("x".to_string())
        );
        assert!(optional(json!({}), data_string).is_err());
        let upid = "UPID:pve1:0000C530:0001B4E8:6745F0A1:qmstart:100:root@pam:";
        assert_eq!(data_upid(json!(upid)).unwrap().node(), "pve1");
        let e = data_upid(json!("OK")).unwrap_err().to_string();
        assert!(e.contains("expected a task id (UPID)"), "{e}");
    }

    #[test]
    fn indexed_keys_and_property_strings_are_typed_and_what_does_not_parse_is_kept() {
        let mut extra = json!({
            "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0",
            "net10": "e1000=BC:24:11:00:00:02,bridge=vmbr1",
            "net01": "not an index",
            "net1": "bridge=vmbr0",
            "network": "not indexed",
            "memory": "2048",
        })
        .as_object()
        .unwrap()
        .clone();
        let nets: std::collections::BTreeMap<u32, crate::formats::QemuNet> =
            indexed(&mut extra, "net");
        assert_eq!(nets.keys().copied().collect::<Vec<_>>(), [0, 10]);
        assert_eq!(nets[&10].bridge.as_deref(), Some("vmbr1"));
        // `net1` does not parse (no model): kept as it came, like the keys that are not indexed.
        for kept in ["net01", "net1", "network", "memory"] {
            assert!(extra.contains_key(kept), "{kept}");
        }
        assert!(!extra.contains_key("net0"));
        let memory: Option<crate::formats::QemuMemory> =
            prop(Some("4096".into()), "memory", &mut extra);
        assert_eq!(memory.unwrap().current, 4096);
        let bad: Option<crate::formats::QemuMemory> =
            prop(Some("lots".into()), "memory", &mut extra);
        assert!(bad.is_none());
        assert_eq!(extra["memory"], "lots");
    }
}
