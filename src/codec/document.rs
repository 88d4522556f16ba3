//! The bincode document codec: how a document is stored.
//!
//! A value is a tag byte then its payload, with bincode's standard configuration (varint
//! lengths and integers):
//!
//! ```text
//! null 0 | false 1 | true 2 | int 3 <i64> | float 4 <f64> | string 5 <str>
//! array 6 <len> <value>... | object 7 <len> (<str> <value>)...
//! ```
//!
//! Unlike JSON this keeps integers and floats apart (`1` stays `1`, `1.0` stays `1.0`) and
//! object fields in their order. Decoding untrusted bytes never panics and never allocates
//! from a length it has not checked against the bytes left.
//!
//! Documents are written with bincode and read back by a small cursor of this module that
//! knows the same encoding: reading is on the path of every query, and walking the bytes
//! directly is several times cheaper than bincode's generic decoder per field (and lets a
//! query step over the fields it does not need).

use bincode::Encode;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};

use crate::value::{Key, MAX_DEPTH, Map, Value};

pub(super) const NULL: u8 = 0;
pub(super) const FALSE: u8 = 1;
pub(super) const TRUE: u8 = 2;
pub(super) const INT: u8 = 3;
pub(super) const FLOAT: u8 = 4;
pub(super) const STRING: u8 = 5;
pub(super) const ARRAY: u8 = 6;
pub(super) const OBJECT: u8 = 7;

/// A stored document that could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Writing failed.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// The bytes are not a valid document.
    #[error("corrupt document: {0}")]
    Decode(String),
    /// A sound document that does not fit the type asked for (see [`super::typed`]).
    #[error("{0}")]
    Convert(String),
}

impl CodecError {
    /// What is wrong, without the "corrupt document" a document's error says first: for a
    /// message about another stored value.
    pub fn into_reason(self) -> String {
        match self {
            CodecError::Decode(why) => why,
            other => other.to_string(),
        }
    }
}

impl From<DecodeError> for CodecError {
    fn from(err: DecodeError) -> Self {
        CodecError::Decode(err.to_string())
    }
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Borrows a value for encoding.
struct Encoding<'a>(&'a Value);

impl Encode for Encoding<'_> {
    fn encode<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        encode_value(self.0, encoder)
    }
}

fn encode_value<E: Encoder>(value: &Value, e: &mut E) -> Result<(), EncodeError> {
    match value {
        Value::Null => NULL.encode(e),
        Value::Bool(false) => FALSE.encode(e),
        Value::Bool(true) => TRUE.encode(e),
        Value::Int(i) => {
            INT.encode(e)?;
            i.encode(e)
        }
        Value::Float(f) => {
            FLOAT.encode(e)?;
            f.encode(e)
        }
        Value::String(s) => {
            STRING.encode(e)?;
            s.encode(e)
        }
        Value::Array(items) => {
            ARRAY.encode(e)?;
            items.len().encode(e)?;
            items.iter().try_for_each(|item| encode_value(item, e))
        }
        Value::Object(fields) => {
            OBJECT.encode(e)?;
            fields.len().encode(e)?;
            fields.iter().try_for_each(|(key, item)| {
                key.encode(e)?;
                encode_value(item, e)
            })
        }
    }
}

/// Appends the encoding of a document to `out`.
///
/// ```
/// use quarry::internals::codec::document::{decode_document, encode_document};
/// let doc: quarry::Value = serde_json::json!({"a": 1, "b": [1.5, null]}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// assert_eq!(decode_document(&bytes, None).unwrap(), doc);
/// ```
pub fn encode_document(value: &Value, out: &mut Vec<u8>) -> Result<(), CodecError> {
    bincode::encode_into_std_write(Encoding(value), out, config())?;
    Ok(())
}

/// The longest string [`utf8`] checks for ASCII before validating it as UTF-8.
const SHORT_STRING: usize = 32;

/// Stored bytes as a string, if they are UTF-8: a long run checked with SIMD (checking UTF-8
/// was the largest single cost of reading a document with a long text field), a short one by
/// checking that it is ASCII first. Field names, codes and dates nearly always are, and for a
/// few bytes the ASCII check is several times cheaper than the full one (`bench/FINDINGS.md`).
fn utf8(raw: &[u8]) -> Option<&str> {
    if raw.len() <= SHORT_STRING && raw.is_ascii() {
        // SAFETY: every byte is below 0x80, and a run of ASCII bytes is valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(raw) });
    }
    simdutf8::basic::from_utf8(raw).ok()
}

/// A cursor over stored bytes that reads bincode's standard encoding (little-endian, varint
/// integers: a byte up to 250 is the value, 251/252/253 announce a u16/u32/u64; signed
/// integers zigzag-encoded) directly. Reading documents is the hot path of every query, and
/// bincode's generic decoder costs several calls and checks per field; `encode_document`
/// writes with bincode itself and the property tests below hold the two to each other.
pub(super) struct Cursor<'a> {
    pub(super) bytes: &'a [u8],
}

pub(super) fn corrupt(what: impl Into<String>) -> CodecError {
    CodecError::Decode(what.into())
}

impl<'a> Cursor<'a> {
    pub(super) fn u8(&mut self) -> Result<u8, CodecError> {
        let (&byte, rest) = self
            .bytes
            .split_first()
            .ok_or_else(|| corrupt("unexpected end of document"))?;
        self.bytes = rest;
        Ok(byte)
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if n > self.bytes.len() {
            return Err(corrupt("unexpected end of document"));
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| corrupt("unexpected end of document"))
    }

    pub(super) fn varint(&mut self) -> Result<u64, CodecError> {
        Ok(match self.u8()? {
            byte @ 0..=250 => u64::from(byte),
            251 => u64::from(u16::from_le_bytes(self.array()?)),
            252 => u64::from(u32::from_le_bytes(self.array()?)),
            253 => u64::from_le_bytes(self.array()?),
            other => return Err(corrupt(format!("invalid integer prefix {other}"))),
        })
    }

    pub(super) fn int(&mut self) -> Result<i64, CodecError> {
        let n = self.varint()?;
        // Zigzag: even numbers are the non-negative values, odd ones the negative.
        Ok(if n % 2 == 0 {
            (n / 2) as i64
        } else {
            !(n / 2) as i64
        })
    }

    pub(super) fn float(&mut self) -> Result<f64, CodecError> {
        let f = f64::from_le_bytes(self.array()?);
        if f.is_finite() {
            Ok(f)
        } else {
            Err(corrupt("non-finite float"))
        }
    }

    /// A count of items or bytes. Every item takes at least a byte, so a count larger than
    /// what is left is corrupt: nothing is ever allocated from an unchecked length.
    pub(super) fn len(&mut self) -> Result<usize, CodecError> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.bytes.len())
            .ok_or_else(|| corrupt(format!("length {n} is longer than the document")))
    }

    /// A length-prefixed run of bytes (a string's or a field name's), borrowed.
    pub(super) fn raw_str(&mut self) -> Result<&'a [u8], CodecError> {
        let n = self.len()?;
        self.take(n)
    }

    /// A string, validated (see [`utf8`]).
    pub(super) fn str(&mut self) -> Result<&'a str, CodecError> {
        utf8(self.raw_str()?).ok_or_else(|| corrupt("a string is not UTF-8"))
    }

    fn value(&mut self, depth: usize) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH + 1 {
            return Err(corrupt("nesting too deep"));
        }
        Ok(match self.u8()? {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            INT => Value::Int(self.int()?),
            FLOAT => Value::Float(self.float()?),
            STRING => Value::String(self.str()?.to_owned()),
            ARRAY => {
                let len = self.len()?;
                let mut items = Vec::with_capacity(len.min(1024));
                for _ in 0..len {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            OBJECT => {
                let len = self.len()?;
                let mut fields = Map::with_capacity_and_hasher(len.min(1024), Default::default());
                for _ in 0..len {
                    let key = Key::from(self.str()?);
                    let item = self.value(depth + 1)?;
                    fields.insert(key, item);
                }
                Value::Object(fields)
            }
            other => return Err(corrupt(format!("unknown value tag {other}"))),
        })
    }

    /// Steps over one value without building it.
    pub(super) fn skip(&mut self, depth: usize) -> Result<(), CodecError> {
        if depth > MAX_DEPTH + 1 {
            return Err(corrupt("nesting too deep"));
        }
        match self.u8()? {
            NULL | FALSE | TRUE => {}
            INT => {
                self.varint()?;
            }
            FLOAT => {
                self.take(8)?;
            }
            STRING => {
                self.raw_str()?;
            }
            ARRAY => {
                for _ in 0..self.len()? {
                    self.skip(depth + 1)?;
                }
            }
            OBJECT => {
                for _ in 0..self.len()? {
                    self.raw_str()?;
                    self.skip(depth + 1)?;
                }
            }
            other => return Err(corrupt(format!("unknown value tag {other}"))),
        }
        Ok(())
    }
}

/// `_id: id` as a field value.
fn id_value(id: u64) -> Value {
    Value::Int(i64::try_from(id).unwrap_or(i64::MAX))
}

/// Decodes a stored document. With `id`, a top-level object gets `_id: id` as its first field.
///
/// ```
/// use quarry::internals::codec::document::{decode_document, encode_document};
/// let doc: quarry::Value = serde_json::json!({"a": 1}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// assert_eq!(decode_document(&bytes, Some(7)).unwrap().to_string(), r#"{"_id":7,"a":1}"#);
/// assert!(decode_document(&bytes[..2], None).is_err());
/// ```
pub fn decode_document(bytes: &[u8], id: Option<u64>) -> Result<Value, CodecError> {
    if bytes.first() == Some(&OBJECT) {
        return decode_more_fields(bytes, id, None, Map::default());
    }
    let mut cursor = Cursor { bytes };
    let value = cursor.value(0)?;
    if !cursor.bytes.is_empty() {
        return Err(corrupt("trailing bytes after the document"));
    }
    Ok(value)
}

/// Decodes only the top-level fields of a stored document named in `wanted` (and `_id: id`
/// first, when `id` is given); the other fields are stepped over without being decoded. A
/// query that tests, sorts or selects a few fields reads documents this way, so a document it
/// does not return costs a walk over its bytes rather than a whole decode.
///
/// A stored value that is not an object is decoded whole.
///
/// ```
/// use quarry::internals::codec::document::{decode_more_fields, encode_document};
/// let doc: quarry::Value =
///     serde_json::json!({"org": "ICC", "body": "long text", "year": 2021}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// let some = decode_more_fields(&bytes, Some(4), Some(&["year".to_owned()]), Default::default());
/// assert_eq!(some.unwrap().to_string(), r#"{"_id":4,"year":2021}"#);
/// ```
#[cfg(test)]
pub fn decode_fields(
    bytes: &[u8],
    id: Option<u64>,
    wanted: &[String],
) -> Result<Value, CodecError> {
    decode_more_fields(bytes, id, Some(wanted), Map::default())
}

/// Like [`decode_fields`] (all fields when `wanted` is `None`), reusing the fields in
/// `decoded`, which were decoded from these same bytes before: they are moved into the
/// result, in their stored places, instead of being decoded again. With `wanted` `None` the
/// result is exactly [`decode_document`]'s.
///
/// ```
/// use quarry::internals::codec::document::{decode_document, decode_more_fields, encode_document};
/// let doc: quarry::Value = serde_json::json!({"a": 1, "b": "x", "c": [2]}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// let Ok(quarry::Value::Object(some)) = decode_more_fields(&bytes, None, Some(&["c".to_owned()]), Default::default()) else {
///     panic!()
/// };
/// let whole = decode_more_fields(&bytes, Some(1), None, some).unwrap();
/// assert_eq!(whole.to_string(), decode_document(&bytes, Some(1)).unwrap().to_string());
/// ```
pub fn decode_more_fields(
    bytes: &[u8],
    id: Option<u64>,
    wanted: Option<&[String]>,
    mut decoded: Map,
) -> Result<Value, CodecError> {
    let Some((&OBJECT, rest)) = bytes.split_first() else {
        return decode_document(bytes, id);
    };
    let mut cursor = Cursor { bytes: rest };
    let len = cursor.len()?;
    let capacity = wanted.map_or(len.min(1024), <[String]>::len) + usize::from(id.is_some());
    let mut fields = Map::with_capacity_and_hasher(capacity, Default::default());
    if let Some(id) = id {
        fields.insert("_id".into(), id_value(id));
    }
    for _ in 0..len {
        let key = cursor.raw_str()?;
        if !decoded.is_empty()
            && let Some((name, item)) = utf8(key).and_then(|name| decoded.swap_remove_entry(name))
        {
            cursor.skip(1)?;
            fields.insert(name, item);
            continue;
        }
        let name = match wanted {
            None => utf8(key)
                .ok_or_else(|| corrupt("a field name is not UTF-8"))?
                .into(),
            Some(wanted) => match wanted.iter().find(|w| w.as_bytes() == key) {
                Some(name) => name.as_str().into(),
                None => {
                    cursor.skip(1)?;
                    continue;
                }
            },
        };
        let item = cursor.value(1)?;
        fields.insert(name, item);
    }
    if wanted.is_none() && !cursor.bytes.is_empty() {
        return Err(corrupt("trailing bytes after the document"));
    }
    Ok(Value::Object(fields))
}

/// A cursor at the value of a stored document's top-level field `name`, if it has one.
fn field_cursor<'a>(bytes: &'a [u8], name: &str) -> Option<Cursor<'a>> {
    let (&OBJECT, rest) = bytes.split_first()? else {
        return None;
    };
    let mut cursor = Cursor { bytes: rest };
    for _ in 0..cursor.len().ok()? {
        if cursor.raw_str().ok()? == name.as_bytes() {
            return Some(cursor);
        }
        cursor.skip(1).ok()?;
    }
    None
}

/// The string a stored document holds in its top-level field `name`, read in place: `None` when
/// the field is missing, holds another kind of value, or the bytes cannot be read (a full
/// decode then says why).
///
/// ```
/// use quarry::internals::codec::document::{encode_document, stored_str};
/// let doc: quarry::Value = serde_json::json!({"n": 1, "body": "text"}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// assert_eq!(stored_str(&bytes, "body"), Some("text"));
/// assert_eq!(stored_str(&bytes, "n"), None);
/// assert_eq!(stored_str(&bytes, "missing"), None);
/// ```
pub fn stored_str<'a>(bytes: &'a [u8], name: &str) -> Option<&'a str> {
    let mut cursor = field_cursor(bytes, name)?;
    match cursor.u8().ok()? {
        STRING => cursor.str().ok(),
        _ => None,
    }
}

/// The value a stored document holds in its top-level field `name` when it is a scalar (null,
/// boolean, number or string), decoded alone: `None` when the field is missing, holds an array
/// or an object, or the bytes cannot be read.
///
/// ```
/// use quarry::internals::codec::document::{encode_document, stored_scalar};
/// let doc: quarry::Value = serde_json::json!({"n": 1, "tags": ["a"]}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// assert_eq!(stored_scalar(&bytes, "n"), Some(quarry::Value::Int(1)));
/// assert_eq!(stored_scalar(&bytes, "tags"), None);
/// ```
pub fn stored_scalar(bytes: &[u8], name: &str) -> Option<Value> {
    let mut cursor = field_cursor(bytes, name)?;
    match cursor.bytes.first()? {
        &ARRAY | &OBJECT => None,
        _ => cursor.value(1).ok(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Random documents: every kind of value, nested a few levels.
    pub(in crate::codec) fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::Float),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-z]{0,3}", inner), 0..4).prop_map(|f| Value::Object(
                    f.into_iter().map(|(k, v)| (k.into(), v)).collect()
                )),
            ]
        })
    }

    fn same(a: &Value, b: &Value) -> bool {
        // Stricter than `==`: integers stay integers and floats stay floats.
        a.to_string() == b.to_string() && a == b
    }

    proptest! {
        #[test]
        fn documents_round_trip_exactly(v in value()) {
            let mut bytes = Vec::new();
            encode_document(&v, &mut bytes).unwrap();
            let back = decode_document(&bytes, None).unwrap();
            prop_assert!(same(&back, &v), "{} != {}", back, v);
        }

        #[test]
        fn decoding_some_fields_equals_picking_them_from_the_whole(v in value(), names in prop::collection::vec("[a-z]{0,3}", 0..3)) {
            let mut bytes = Vec::new();
            encode_document(&v, &mut bytes).unwrap();
            let some = decode_fields(&bytes, Some(9), &names).unwrap();
            let whole = decode_document(&bytes, Some(9)).unwrap();
            // Completing a partial decode gives exactly the whole document.
            let reused = match decode_fields(&bytes, None, &names).unwrap() {
                Value::Object(fields) => fields,
                _ => Map::default(),
            };
            let completed = decode_more_fields(&bytes, Some(9), None, reused).unwrap();
            prop_assert!(same(&completed, &whole), "{} != {}", completed, whole);
            match &whole {
                Value::Object(all) => {
                    let expected: Map = all
                        .iter()
                        .filter(|(k, _)| *k == "_id" || names.iter().any(|n| n == k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    prop_assert!(same(&some, &Value::Object(expected)));
                }
                other => prop_assert!(same(&some, other)),
            }
        }

        #[test]
        fn garbage_and_truncations_never_panic(v in value(), cut in any::<prop::sample::Index>(), noise in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = Vec::new();
            encode_document(&v, &mut bytes).unwrap();
            let cut = cut.index(bytes.len().max(1));
            let _ = decode_document(&bytes[..cut.min(bytes.len())], Some(1));
            let _ = decode_document(&noise, Some(1));
            let names = ["a".to_owned()];
            let _ = decode_fields(&bytes[..cut.min(bytes.len())], Some(1), &names);
            let _ = decode_fields(&noise, Some(1), &names);
        }
    }

    #[test]
    fn integers_and_floats_stay_apart_and_id_comes_first() {
        let doc = Value::try_from(serde_json::json!({"i": 1, "f": 1.0})).unwrap();
        let mut bytes = Vec::new();
        encode_document(&doc, &mut bytes).unwrap();
        let back = decode_document(&bytes, Some(3)).unwrap();
        assert_eq!(back.to_string(), r#"{"_id":3,"i":1,"f":1.0}"#);
    }

    #[test]
    fn a_huge_claimed_length_is_refused_without_allocating() {
        // ARRAY tag, then a varint length of u64::MAX.
        let bytes = [ARRAY, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(decode_document(&bytes, None).is_err());
    }

    #[test]
    fn every_width_of_bincode_varint_reads_back() {
        let edges = [
            0,
            1,
            -1,
            125,
            -126,
            126,
            250,
            251,
            32767,
            -32768,
            65535,
            65536,
            i64::from(u32::MAX),
            i64::from(u32::MAX) + 1,
            i64::MAX,
            i64::MIN,
        ];
        for n in edges {
            let text = "x".repeat(usize::try_from(n.unsigned_abs() % 70_000).unwrap());
            let doc = Value::Array(vec![Value::Int(n), Value::String(text)]);
            let mut bytes = Vec::new();
            encode_document(&doc, &mut bytes).unwrap();
            assert!(same(&decode_document(&bytes, None).unwrap(), &doc), "{n}");
        }
    }

    #[test]
    fn short_and_long_strings_are_checked_as_utf8_alike() {
        let stored = |bytes: &[u8]| [&[STRING, bytes.len() as u8][..], bytes].concat();
        let ascii = "a".repeat(SHORT_STRING);
        for text in [
            "",
            "café",
            "日付",
            &ascii,
            &format!("{ascii}b"),
            &format!("{ascii}é"),
        ] {
            let back = decode_document(&stored(text.as_bytes()), None).unwrap();
            assert_eq!(back, Value::from(text));
        }
        let long_bad = [&[b'a'; 40][..], &[0xFF]].concat();
        for bad in [&[0x80][..], &[b'a', 0xC3], &[0xED, 0xA0, 0x80], &long_bad] {
            let err = decode_document(&stored(bad), None).unwrap_err();
            assert!(err.to_string().contains("not UTF-8"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = Vec::new();
        encode_document(&Value::Null, &mut bytes).unwrap();
        bytes.push(0);
        assert!(decode_document(&bytes, None).is_err());
    }
}
