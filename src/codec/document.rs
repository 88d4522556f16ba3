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

use bincode::de::read::{BorrowReader, Reader};
use bincode::de::{BorrowDecoder, Decoder};
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use crate::value::{MAX_DEPTH, Map, Value};

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const FLOAT: u8 = 4;
const STRING: u8 = 5;
const ARRAY: u8 = 6;
const OBJECT: u8 = 7;

/// A stored document that could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Writing failed.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// The bytes are not a valid document.
    #[error("corrupt document: {0}")]
    Decode(String),
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
/// use quarry::codec::document::{decode_document, encode_document};
/// let doc: quarry::Value = serde_json::json!({"a": 1, "b": [1.5, null]}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// assert_eq!(decode_document(&bytes, None).unwrap(), doc);
/// ```
pub fn encode_document(value: &Value, out: &mut Vec<u8>) -> Result<(), CodecError> {
    bincode::encode_into_std_write(Encoding(value), out, config())?;
    Ok(())
}

/// A decoded document, with `_id` first when asked for.
struct Decoded(Value);

/// The id to put first in a decoded top-level object.
struct IdContext(Option<u64>);

impl Decode<IdContext> for Decoded {
    fn decode<D: Decoder<Context = IdContext>>(decoder: &mut D) -> Result<Self, DecodeError> {
        let id = decoder.context().0;
        decode_value(decoder, 0, id).map(Decoded)
    }
}

fn corrupt(what: &str) -> DecodeError {
    DecodeError::OtherString(what.to_owned())
}

/// A length from the bytes, checked against what is left so no huge allocation follows.
fn length<D: Decoder>(d: &mut D) -> Result<usize, DecodeError> {
    let len = usize::decode(d)?;
    d.claim_container_read::<u8>(len)?;
    Ok(len)
}

fn decode_value<D: Decoder>(
    d: &mut D,
    depth: usize,
    id: Option<u64>,
) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH + 1 {
        return Err(corrupt("nesting too deep"));
    }
    let tag = u8::decode(d)?;
    Ok(match tag {
        NULL => Value::Null,
        FALSE => Value::Bool(false),
        TRUE => Value::Bool(true),
        INT => Value::Int(i64::decode(d)?),
        FLOAT => {
            let f = f64::decode(d)?;
            if !f.is_finite() {
                return Err(corrupt("non-finite float"));
            }
            Value::Float(f)
        }
        STRING => Value::String(String::decode(d)?),
        ARRAY => {
            let len = length(d)?;
            let mut items = Vec::with_capacity(len.min(1024));
            for _ in 0..len {
                items.push(decode_value(d, depth + 1, None)?);
            }
            Value::Array(items)
        }
        OBJECT => {
            let len = length(d)?;
            let mut fields = Map::with_capacity_and_hasher(
                len.min(1024) + usize::from(id.is_some()),
                Default::default(),
            );
            if let Some(id) = id {
                fields.insert(
                    "_id".to_owned(),
                    Value::Int(i64::try_from(id).unwrap_or(i64::MAX)),
                );
            }
            for _ in 0..len {
                let key = String::decode(d)?;
                let item = decode_value(d, depth + 1, None)?;
                fields.insert(key, item);
            }
            Value::Object(fields)
        }
        other => {
            return Err(DecodeError::OtherString(format!(
                "unknown value tag {other}"
            )));
        }
    })
}

/// Decodes a stored document. With `id`, a top-level object gets `_id: id` as its first field.
///
/// ```
/// use quarry::codec::document::{decode_document, encode_document};
/// let doc: quarry::Value = serde_json::json!({"a": 1}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// assert_eq!(decode_document(&bytes, Some(7)).unwrap().to_string(), r#"{"_id":7,"a":1}"#);
/// assert!(decode_document(&bytes[..2], None).is_err());
/// ```
pub fn decode_document(bytes: &[u8], id: Option<u64>) -> Result<Value, CodecError> {
    let config = config().with_limit::<{ 1 << 30 }>();
    let mut decoder = bincode::de::DecoderImpl::new(
        bincode::de::read::SliceReader::new(bytes),
        config,
        IdContext(id),
    );
    let Decoded(value) = Decoded::decode(&mut decoder)?;
    if decoder
        .reader()
        .peek_read(1)
        .is_some_and(|rest| !rest.is_empty())
    {
        return Err(CodecError::Decode(
            "trailing bytes after the document".into(),
        ));
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
/// use quarry::codec::document::{decode_fields, encode_document};
/// let doc: quarry::Value =
///     serde_json::json!({"org": "ICC", "body": "long text", "year": 2021}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// let some = decode_fields(&bytes, Some(4), &["year".to_owned()]).unwrap();
/// assert_eq!(some.to_string(), r#"{"_id":4,"year":2021}"#);
/// ```
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
/// use quarry::codec::document::{decode_document, decode_fields, decode_more_fields, encode_document};
/// let doc: quarry::Value = serde_json::json!({"a": 1, "b": "x", "c": [2]}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// let Ok(quarry::Value::Object(some)) = decode_fields(&bytes, None, &["c".to_owned()]) else {
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
    if bytes.first() != Some(&OBJECT) {
        return decode_document(bytes, id);
    }
    let config = config().with_limit::<{ 1 << 30 }>();
    let mut decoder =
        bincode::de::DecoderImpl::new(bincode::de::read::SliceReader::new(&bytes[1..]), config, ());
    let d = &mut decoder;
    let len = length(d)?;
    let capacity = wanted.map_or(len.min(1024), <[String]>::len) + usize::from(id.is_some());
    let mut fields = Map::with_capacity_and_hasher(capacity, Default::default());
    if let Some(id) = id {
        fields.insert(
            "_id".to_owned(),
            Value::Int(i64::try_from(id).unwrap_or(i64::MAX)),
        );
    }
    for _ in 0..len {
        let key = take(d)?;
        let known = std::str::from_utf8(key)
            .ok()
            .and_then(|name| decoded.swap_remove_entry(name));
        if let Some((name, item)) = known {
            skip_value(d, 1)?;
            fields.insert(name, item);
            continue;
        }
        match wanted {
            None => {
                let name = std::str::from_utf8(key)
                    .map_err(|_| CodecError::Decode("a field name is not UTF-8".into()))?;
                let item = decode_value(d, 1, None)?;
                fields.insert(name.to_owned(), item);
            }
            Some(wanted) => match wanted.iter().find(|w| w.as_bytes() == key) {
                Some(name) => {
                    let item = decode_value(d, 1, None)?;
                    fields.insert(name.clone(), item);
                }
                None => skip_value(d, 1)?,
            },
        }
    }
    if wanted.is_none() && d.reader().peek_read(1).is_some_and(|rest| !rest.is_empty()) {
        return Err(CodecError::Decode(
            "trailing bytes after the document".into(),
        ));
    }
    Ok(Value::Object(fields))
}

/// A length-prefixed run of bytes (a string's or a field name's), borrowed from the input.
fn take<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<&'de [u8], DecodeError> {
    let len = length(d)?;
    d.borrow_reader().take_bytes(len)
}

/// Steps over one encoded value without building it.
fn skip_value<'de, D: BorrowDecoder<'de>>(d: &mut D, depth: usize) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH + 1 {
        return Err(corrupt("nesting too deep"));
    }
    match u8::decode(d)? {
        NULL | FALSE | TRUE => {}
        INT => {
            i64::decode(d)?;
        }
        FLOAT => {
            f64::decode(d)?;
        }
        STRING => {
            take(d)?;
        }
        ARRAY => {
            for _ in 0..length(d)? {
                skip_value(d, depth + 1)?;
            }
        }
        OBJECT => {
            for _ in 0..length(d)? {
                take(d)?;
                skip_value(d, depth + 1)?;
            }
        }
        other => {
            return Err(DecodeError::OtherString(format!(
                "unknown value tag {other}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
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
                prop::collection::vec(("[a-z]{0,3}", inner), 0..4)
                    .prop_map(|f| Value::Object(f.into_iter().collect())),
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
                        .filter(|(k, _)| *k == "_id" || names.contains(k))
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
    fn trailing_bytes_are_refused() {
        let mut bytes = Vec::new();
        encode_document(&Value::Null, &mut bytes).unwrap();
        bytes.push(0);
        assert!(decode_document(&bytes, None).is_err());
    }
}
