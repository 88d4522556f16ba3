//! Order-preserving key encoding: the bytes of encoded values sort exactly as the values do
//! under [`Value`]'s total order, so a sled range scan walks index entries in value order.
//!
//! ```text
//! null    01
//! bool    02 00|01
//! number  03 <f64, sortable: 8 bytes> <exact i64 correction: 2 bytes>
//! string  04 <UTF-8, 00 escaped as 00 FF> 00 00
//! array   05 <element>... 00
//! object  06 (01 <key as string body> <value>)... 00
//! ```
//!
//! Numbers: the value rounded to f64, with the sign bit flipped for non-negative values and all
//! bits flipped for negative ones (so the bytes sort numerically; -0.0 is written as 0.0), then
//! the exact difference between an integer and that f64 (it fits an i16: f64 spacing below
//! 2^63 is at most 2048), sign-flipped. So `1` and `1.0` give the same bytes, and integers near
//! 2^53..2^63 that f64 cannot hold still sort exactly. A string's terminator sorts below any
//! byte of a longer string, so a prefix sorts first and a compound key's next field never bleeds
//! into the previous one. An index key is the values' encodings then the document id, so equal
//! values stay distinct and in id order:
//!
//! ```text
//! id      <n> <id, big-endian, its n significant bytes (1..=8)> <n>
//! ```
//!
//! The leading length makes a shorter id sort first, as a smaller number; the trailing copy
//! lets the id be read from the end of a key without decoding the values before it. An id
//! below 2^24 (16 million) takes at most 5 bytes instead of 8, so with its 2-byte prefix a key
//! on a short string such as a date fits the 22 bytes sled keeps inline without allocating.

use crate::value::{MAX_DEPTH, Map, Value};

/// The tag byte each type starts with (0x00 terminates arrays, objects and strings).
pub mod tag {
    /// `null`.
    pub const NULL: u8 = 0x01;
    /// `true` / `false` (followed by 0x01 / 0x00).
    pub const BOOL: u8 = 0x02;
    /// Any number.
    pub const NUMBER: u8 = 0x03;
    /// A string.
    pub const STRING: u8 = 0x04;
    /// An array.
    pub const ARRAY: u8 = 0x05;
    /// An object.
    pub const OBJECT: u8 = 0x06;
}

/// An index key that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt index key: {0}")]
pub struct KeyError(String);

fn err(what: &str) -> KeyError {
    KeyError(what.to_owned())
}

/// Appends the encoding of `value` to `out`.
///
/// ```
/// use quarry::{internals::keycode::encode_value, Value};
/// let enc = |v: Value| { let mut out = Vec::new(); encode_value(&v, &mut out); out };
/// assert_eq!(enc(Value::Int(1)), enc(Value::Float(1.0)));
/// assert!(enc(Value::Int(2)) < enc(Value::Float(2.5)));
/// assert!(enc(Value::from("ab")) < enc(Value::from("abc")));
/// ```
pub fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(tag::NULL),
        Value::Bool(b) => out.extend_from_slice(&[tag::BOOL, u8::from(*b)]),
        Value::Int(i) => {
            let rounded = *i as f64;
            let correction = (*i as i128 - rounded as i128) as i16;
            encode_number(rounded, correction, out);
        }
        Value::Float(f) => encode_number(*f, 0, out),
        Value::String(s) => {
            out.push(tag::STRING);
            escape_into(s.as_bytes(), out);
            out.extend_from_slice(&[0x00, 0x00]);
        }
        Value::Array(items) => {
            out.push(tag::ARRAY);
            for item in items {
                encode_value(item, out);
            }
            out.push(0x00);
        }
        Value::Object(fields) => {
            out.push(tag::OBJECT);
            for (key, item) in fields {
                out.push(0x01);
                escape_into(key.as_bytes(), out);
                out.extend_from_slice(&[0x00, 0x00]);
                encode_value(item, out);
            }
            out.push(0x00);
        }
    }
}

fn encode_number(f: f64, correction: i16, out: &mut Vec<u8>) {
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits();
    let sortable = if bits >> 63 == 1 {
        !bits
    } else {
        bits ^ (1 << 63)
    };
    out.push(tag::NUMBER);
    out.extend_from_slice(&sortable.to_be_bytes());
    out.extend_from_slice(&((correction as u16) ^ 0x8000).to_be_bytes());
}

fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        if b == 0x00 {
            out.extend_from_slice(&[0x00, 0xFF]);
        } else {
            out.push(b);
        }
    }
}

/// A compound index key: each value's encoding, then `id` (see the module notes).
///
/// ```
/// use quarry::{internals::keycode::{encode_key, key_id}, Value};
/// let a = encode_key(&[Value::from("ICC"), Value::Int(2020)], 7);
/// let b = encode_key(&[Value::from("ICC"), Value::Int(2021)], 3);
/// assert!(a < b);
/// assert_eq!(key_id(&a), Some(7));
/// ```
pub fn encode_key(values: &[Value], id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 * values.len() + 8);
    append_key(values, id, &mut key);
    key
}

/// Appends what [`encode_key`] returns to `out`, and returns the length `out` had once the
/// first value was appended (where a key's leading value ends, for grouping by it).
///
/// ```
/// use quarry::{internals::keycode::{append_key, encode_key}, Value};
/// let mut key = b"prefix".to_vec();
/// let first_end = append_key(&[Value::Int(1), Value::from("x")], 9, &mut key);
/// assert_eq!(&key[6..], encode_key(&[Value::Int(1), Value::from("x")], 9).as_slice());
/// assert_eq!(&key[6..first_end], encode_key(&[Value::Int(1)], 0).strip_suffix(&[1, 0, 1]).unwrap());
/// ```
pub fn append_key<'v>(
    values: impl IntoIterator<Item = &'v Value>,
    id: u64,
    out: &mut Vec<u8>,
) -> usize {
    let mut first_end = out.len();
    for (i, value) in values.into_iter().enumerate() {
        encode_value(value, out);
        if i == 0 {
            first_end = out.len();
        }
    }
    append_id(id, out);
    first_end
}

/// Appends the encoding of a document id: its length, its significant big-endian bytes, its
/// length again (the end of every index key).
///
/// ```
/// let mut key = Vec::new();
/// quarry::internals::codec::keycode::append_id(0x1234, &mut key);
/// assert_eq!(key, [2, 0x12, 0x34, 2]);
/// ```
pub fn append_id(id: u64, out: &mut Vec<u8>) {
    let bytes = id.to_be_bytes();
    let len = (8 - id.leading_zeros() as usize / 8).max(1);
    out.push(len as u8);
    out.extend_from_slice(&bytes[8 - len..]);
    out.push(len as u8);
}

/// Splits an index key into its values' encodings and the document id at its end (`None`
/// when the end is not an id).
///
/// ```
/// use quarry::{internals::keycode::{encode_key, encode_value, split_id}, Value};
/// let key = encode_key(&[Value::from("x")], 300);
/// let mut x = Vec::new();
/// encode_value(&Value::from("x"), &mut x);
/// assert_eq!(split_id(&key), Some((&x[..], 300)));
/// assert_eq!(split_id(&[7]), None);
/// ```
pub fn split_id(key: &[u8]) -> Option<(&[u8], u64)> {
    let (&len, rest) = key.split_last()?;
    let n = usize::from(len);
    if !(1..=8).contains(&n) {
        return None;
    }
    let (rest, significant) = rest.split_at_checked(rest.len().checked_sub(n)?)?;
    let (&leading, values) = rest.split_last()?;
    if leading != len {
        return None;
    }
    let mut bytes = [0u8; 8];
    bytes[8 - n..].copy_from_slice(significant);
    Some((values, u64::from_be_bytes(bytes)))
}

/// The document id at the end of an index key (`None` when the end is not an id).
///
/// ```
/// use quarry::{internals::keycode::{encode_key, key_id}, Value};
/// assert_eq!(key_id(&encode_key(&[Value::Int(5)], 9)), Some(9));
/// assert_eq!(key_id(&[1, 9, 1]), Some(9));
/// assert_eq!(key_id(&[0, 0, 9]), None);
/// ```
pub fn key_id(key: &[u8]) -> Option<u64> {
    split_id(key).map(|(_, id)| id)
}

/// Decodes one value from the front of `bytes`, returning it and the rest. Numbers decode
/// canonically: an integral value within the i64 range as an integer, otherwise a float.
///
/// ```
/// use quarry::{internals::keycode::{decode_value, encode_value}, Value};
/// let mut bytes = Vec::new();
/// encode_value(&Value::from("x"), &mut bytes);
/// bytes.push(42);
/// assert_eq!(decode_value(&bytes).unwrap(), (Value::from("x"), &[42u8][..]));
/// ```
pub fn decode_value(bytes: &[u8]) -> Result<(Value, &[u8]), KeyError> {
    decode_at(bytes, 0)
}

fn decode_at(bytes: &[u8], depth: usize) -> Result<(Value, &[u8]), KeyError> {
    if depth > MAX_DEPTH + 1 {
        return Err(err("nesting too deep"));
    }
    let (&first, rest) = bytes.split_first().ok_or_else(|| err("unexpected end"))?;
    match first {
        tag::NULL => Ok((Value::Null, rest)),
        tag::BOOL => match rest.split_first() {
            Some((0, rest)) => Ok((Value::Bool(false), rest)),
            Some((1, rest)) => Ok((Value::Bool(true), rest)),
            _ => Err(err("bad boolean")),
        },
        tag::NUMBER => {
            let (number, rest) = rest
                .split_at_checked(10)
                .ok_or_else(|| err("short number"))?;
            let sortable = u64::from_be_bytes(number[..8].try_into().map_err(|_| err("number"))?);
            let correction =
                (u16::from_be_bytes(number[8..].try_into().map_err(|_| err("number"))?) ^ 0x8000)
                    as i16;
            let bits = if sortable >> 63 == 1 {
                sortable ^ (1 << 63)
            } else {
                !sortable
            };
            let f = f64::from_bits(bits);
            if !f.is_finite() {
                return Err(err("non-finite number"));
            }
            Ok((number_value(f, correction)?, rest))
        }
        tag::STRING => {
            let (text, rest) = unescape(rest)?;
            Ok((Value::String(text), rest))
        }
        tag::ARRAY => {
            let mut items = Vec::new();
            let mut rest = rest;
            loop {
                match rest.first() {
                    Some(0x00) => return Ok((Value::Array(items), &rest[1..])),
                    Some(_) => {
                        let (item, after) = decode_at(rest, depth + 1)?;
                        items.push(item);
                        rest = after;
                    }
                    None => return Err(err("unterminated array")),
                }
            }
        }
        tag::OBJECT => {
            let mut fields = Map::default();
            let mut rest = rest;
            loop {
                match rest.split_first() {
                    Some((0x00, after)) => return Ok((Value::Object(fields), after)),
                    Some((0x01, after)) => {
                        let (key, after) = unescape(after)?;
                        let (item, after) = decode_at(after, depth + 1)?;
                        fields.insert(key.into(), item);
                        rest = after;
                    }
                    _ => return Err(err("bad object entry")),
                }
            }
        }
        other => Err(KeyError(format!("unknown type tag {other:#04x}"))),
    }
}

fn number_value(f: f64, correction: i16) -> Result<Value, KeyError> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if correction != 0 {
        // Only integers carry a correction, and their rounding lies within ±2^63.
        if !(-TWO_63..=TWO_63).contains(&f) {
            return Err(err("integer out of range"));
        }
        let exact = (f as i128)
            .checked_add(i128::from(correction))
            .ok_or_else(|| err("integer out of range"))?;
        return i64::try_from(exact)
            .map(Value::Int)
            .map_err(|_| err("integer out of range"));
    }
    if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) {
        Ok(Value::Int(f as i64))
    } else {
        Ok(Value::Float(f))
    }
}

/// Reads an escaped string body up to its `00 00` terminator.
fn unescape(bytes: &[u8]) -> Result<(String, &[u8]), KeyError> {
    let mut text = Vec::new();
    let mut i = 0;
    loop {
        match (bytes.get(i), bytes.get(i + 1)) {
            (Some(0x00), Some(0x00)) => break,
            (Some(0x00), Some(0xFF)) => {
                text.push(0x00);
                i += 2;
            }
            (Some(0x00), _) => return Err(err("bad string escape")),
            (Some(&b), _) => {
                text.push(b);
                i += 1;
            }
            (None, _) => return Err(err("unterminated string")),
        }
    }
    let text = String::from_utf8(text).map_err(|_| err("string is not UTF-8"))?;
    Ok((text, &bytes[i + 2..]))
}

/// Decodes the `n` leading values of an index key and its trailing id.
///
/// ```
/// use quarry::{internals::keycode::{decode_key, encode_key}, Value};
/// let key = encode_key(&[Value::from("ICC"), Value::Int(2021)], 5);
/// assert_eq!(decode_key(&key, 2).unwrap(), (vec![Value::from("ICC"), Value::Int(2021)], 5));
/// ```
pub fn decode_key(key: &[u8], n: usize) -> Result<(Vec<Value>, u64), KeyError> {
    let mut values = Vec::with_capacity(n);
    let mut rest = key;
    for _ in 0..n {
        let (value, after) = decode_value(rest)?;
        values.push(value);
        rest = after;
    }
    match split_id(rest) {
        Some(([], id)) => Ok((values, id)),
        _ => Err(err("bad id")),
    }
}

/// The encoding of a string without its terminator: every string starting with `prefix`
/// encodes to bytes starting with this (for `starts with` range scans).
///
/// ```
/// use quarry::{internals::keycode::{encode_value, string_prefix}, Value};
/// let mut full = Vec::new();
/// encode_value(&Value::from("abc"), &mut full);
/// assert!(full.starts_with(&string_prefix("ab")));
/// ```
pub fn string_prefix(prefix: &str) -> Vec<u8> {
    let mut out = vec![tag::STRING];
    escape_into(prefix.as_bytes(), &mut out);
    out
}

/// The smallest byte string greater than every key starting with `prefix`: the exclusive
/// upper bound of a prefix scan (`None` when there is none: empty or all 0xFF).
///
/// ```
/// use quarry::internals::codec::keycode::prefix_end;
/// assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
/// assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
/// assert_eq!(prefix_end(&[0xFF]), None);
/// ```
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(v, &mut out);
        out
    }

    fn number() -> impl Strategy<Value = Value> {
        let near =
            |base: i64| (-3000i64..3000).prop_map(move |d| Value::Int(base.saturating_add(d)));
        prop_oneof![
            any::<i64>().prop_map(Value::Int),
            (-1000i64..1000).prop_map(Value::Int),
            near(1 << 53),
            near(-(1 << 53)),
            near(i64::MAX),
            near(i64::MIN),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::Float),
            (-1000i64..1000).prop_map(|i| Value::Float(i as f64 / 4.0)),
            prop::sample::select(vec![
                0.0,
                -0.0,
                9_007_199_254_740_992.0,
                -9_007_199_254_740_992.0,
                9_223_372_036_854_775_808.0,
                -9_223_372_036_854_775_808.0,
                1e300,
                -1e300,
                f64::MIN_POSITIVE,
            ])
            .prop_map(Value::Float),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ab\\x00\\xff]{0,4}",
            prop::sample::select(vec!["", "a", "a\0", "a\0\0", "ab", "b", "\u{ff}", "é"])
                .prop_map(String::from),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            number(),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..3).prop_map(|fields| {
                    Value::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn byte_order_is_value_order(a in value(), b in value()) {
            prop_assert_eq!(enc(&a).cmp(&enc(&b)), a.cmp(&b), "{} vs {}", a, b);
        }

        #[test]
        fn number_byte_order_is_numeric_order(a in number(), b in number()) {
            prop_assert_eq!(enc(&a).cmp(&enc(&b)), a.cmp(&b), "{} vs {}", a, b);
        }

        #[test]
        fn values_round_trip(v in value()) {
            let bytes = enc(&v);
            let (back, rest) = decode_value(&bytes).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(back, v);
        }

        #[test]
        fn compound_keys_sort_as_tuples_then_ids(a in prop::collection::vec(value(), 2), b in prop::collection::vec(value(), 2), ia in any::<u64>(), ib in any::<u64>()) {
            let ka = encode_key(&a, ia);
            let kb = encode_key(&b, ib);
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b).then(ia.cmp(&ib)));
            prop_assert_eq!(decode_key(&ka, 2).unwrap(), (a, ia));
        }

        #[test]
        fn prefix_scans_hold_exactly_the_strings_with_the_prefix(p in text(), s in text()) {
            let start = string_prefix(&p);
            let end = prefix_end(&start).unwrap();
            let key = enc(&Value::String(s.clone()));
            let inside = key >= start && key < end;
            prop_assert_eq!(inside, s.starts_with(&p));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            let _ = decode_value(&bytes);
            let _ = decode_key(&bytes, 2);
            let _ = split_id(&bytes);
        }
    }

    #[test]
    fn integers_and_equal_floats_share_bytes() {
        assert_eq!(enc(&Value::Int(1)), enc(&Value::Float(1.0)));
        assert_eq!(enc(&Value::Int(0)), enc(&Value::Float(-0.0)));
        let big = (1i64 << 53) + 1;
        assert_ne!(enc(&Value::Int(big)), enc(&Value::Float(big as f64)));
        assert_eq!(
            decode_value(&enc(&Value::Float(1.0))).unwrap().0,
            Value::Int(1)
        );
        assert_eq!(
            decode_value(&enc(&Value::Int(i64::MAX))).unwrap().0,
            Value::Int(i64::MAX)
        );
    }

    #[test]
    fn ids_take_their_significant_bytes_and_sort_numerically() {
        let id = |id: u64| encode_key(&[], id);
        assert_eq!(id(0), [1, 0, 1]);
        assert_eq!(id(255), [1, 255, 1]);
        assert_eq!(id(256), [2, 1, 0, 2]);
        assert_eq!(id(u64::MAX).len(), 10);
        let ids = [
            0,
            1,
            255,
            256,
            65_535,
            65_536,
            1 << 40,
            u64::MAX - 1,
            u64::MAX,
        ];
        for pair in ids.windows(2) {
            assert!(id(pair[0]) < id(pair[1]), "{pair:?}");
        }
        for n in ids {
            assert_eq!(key_id(&id(n)), Some(n));
        }
        // A date key with an id below 2^24 fits the 22 bytes sled keeps inline with a 2-byte
        // prefix.
        assert_eq!(
            encode_key(&[Value::from("2024-05-01")], (1 << 24) - 1).len(),
            13 + 5
        );
    }

    #[test]
    fn a_string_field_never_bleeds_into_the_next() {
        let k1 = encode_key(&[Value::from("a"), Value::from("b")], 1);
        let k2 = encode_key(&[Value::from("ab"), Value::from("")], 1);
        assert!(k1 < k2);
    }
}
