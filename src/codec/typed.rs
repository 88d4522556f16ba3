//! Typed documents read straight from their stored bytes: a serde `Deserializer` over the
//! encoding of [`super::document`].
//!
//! `Collection::get::<T>`, `Rows::deserialize::<T>` and `Db::query_as::<T>` build a `T`
//! without building a [`Value`](crate::Value) first, and step over the stored fields `T` does
//! not have without decoding them. What a stored value becomes is what its JSON form would
//! become through `serde_json`: objects are maps or structs (their keys also parse as numbers
//! or booleans for keys of such types), an enum is a string (unit variant) or an object of one
//! field, `null` is `None`, and integers fit any integer or float type they are within.

use serde::de::value::{StrDeserializer, U64Deserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::document::{
    ARRAY, CodecError, Cursor, FALSE, FLOAT, INT, NULL, OBJECT, STRING, TRUE, corrupt,
};
use crate::value::{FieldName, MAX_DEPTH};

impl de::Error for CodecError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        CodecError::Convert(msg.to_string())
    }
}

/// Reads a `T` from a stored document. With `id`, a top-level object has `_id: id` as its first
/// field, as every document read from a collection does.
///
/// ```
/// use quarry::internals::codec::{document::encode_document, typed::from_stored};
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Article<'a> { _id: u64, org: &'a str, tags: Vec<String> }
/// let doc: quarry::Value =
///     serde_json::json!({"org": "ICC", "body": "skipped", "tags": ["a"]}).try_into().unwrap();
/// let mut bytes = Vec::new();
/// encode_document(&doc, &mut bytes).unwrap();
/// let article: Article = from_stored(&bytes, Some(7)).unwrap();
/// assert_eq!(article, Article { _id: 7, org: "ICC", tags: vec!["a".into()] });
/// assert!(from_stored::<Vec<i64>>(&bytes, None).is_err());
/// ```
pub fn from_stored<'de, T: de::Deserialize<'de>>(
    bytes: &'de [u8],
    id: Option<u64>,
) -> Result<T, CodecError> {
    let mut reader = Reader {
        cursor: Cursor { bytes },
        depth: 0,
        id,
    };
    let value = T::deserialize(&mut reader)?;
    if !reader.cursor.bytes.is_empty() {
        return Err(corrupt("trailing bytes after the document"));
    }
    Ok(value)
}

/// The deserializer: a cursor over the bytes, how deeply it is nested, and the `_id` the
/// top-level object has yet to hand out.
struct Reader<'de> {
    cursor: Cursor<'de>,
    depth: usize,
    id: Option<u64>,
}

impl<'de> Reader<'de> {
    /// The next value's tag, not consumed.
    fn peek(&self) -> Result<u8, CodecError> {
        self.cursor
            .bytes
            .first()
            .copied()
            .ok_or_else(|| corrupt("unexpected end of document"))
    }

    /// Enters an array or object: refuses nesting deeper than a document may have.
    fn enter(&mut self) -> Result<(), CodecError> {
        if self.depth > MAX_DEPTH {
            return Err(corrupt("nesting too deep"));
        }
        self.depth += 1;
        Ok(())
    }

    fn seq<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, CodecError> {
        let left = self.cursor.len()?;
        self.enter()?;
        let mut items = Items { reader: self, left };
        let value = visitor.visit_seq(&mut items)?;
        let left = items.left;
        self.depth -= 1;
        if left > 0 {
            return Err(de::Error::invalid_length(left, &"fewer items in the array"));
        }
        Ok(value)
    }

    fn map<V: Visitor<'de>>(
        &mut self,
        visitor: V,
        id: Option<u64>,
    ) -> Result<V::Value, CodecError> {
        let left = self.cursor.len()?;
        self.enter()?;
        let mut fields = Fields {
            reader: self,
            left,
            id,
            id_named: false,
        };
        let value = visitor.visit_map(&mut fields)?;
        let left = fields.left;
        self.depth -= 1;
        if left > 0 {
            return Err(de::Error::invalid_length(
                left,
                &"fewer fields in the object",
            ));
        }
        Ok(value)
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        // Only the first value read, the top-level one, can carry the `_id`.
        let id = self.id.take();
        match self.cursor.u8()? {
            NULL => visitor.visit_unit(),
            FALSE => visitor.visit_bool(false),
            TRUE => visitor.visit_bool(true),
            INT => match self.cursor.int()? {
                n if n >= 0 => visitor.visit_u64(n.unsigned_abs()),
                n => visitor.visit_i64(n),
            },
            FLOAT => visitor.visit_f64(self.cursor.float()?),
            STRING => visitor.visit_borrowed_str(self.cursor.str()?),
            ARRAY => self.seq(visitor),
            OBJECT => self.map(visitor, id),
            other => Err(corrupt(format!("unknown value tag {other}"))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        if self.peek()? == NULL {
            self.cursor.u8()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        self.id = None;
        match self.cursor.u8()? {
            STRING => {
                let name: StrDeserializer<'_, CodecError> = self.cursor.str()?.into_deserializer();
                visitor.visit_enum(name)
            }
            OBJECT => {
                if self.cursor.len()? != 1 {
                    return Err(de::Error::invalid_value(
                        de::Unexpected::Map,
                        &"an object of one field, the variant",
                    ));
                }
                self.enter()?;
                let value = visitor.visit_enum(Variant { reader: self })?;
                self.depth -= 1;
                Ok(value)
            }
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other("a value that is not a string or an object"),
                &"an enum variant: a string or an object of one field",
            )),
        }
    }

    /// Steps over the value without building it: fields a type does not have cost a walk.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        self.id = None;
        self.cursor.skip(self.depth)?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// The items of an array.
struct Items<'a, 'de> {
    reader: &'a mut Reader<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for &mut Items<'_, 'de> {
    type Error = CodecError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, CodecError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The fields of an object, `_id` first when the object is the document itself.
struct Fields<'a, 'de> {
    reader: &'a mut Reader<'de>,
    left: usize,
    id: Option<u64>,
    id_named: bool,
}

impl<'de> de::MapAccess<'de> for &mut Fields<'_, 'de> {
    type Error = CodecError;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, CodecError> {
        if self.id.is_some() && !self.id_named {
            self.id_named = true;
            return seed
                .deserialize(FieldName::<CodecError>::new("_id"))
                .map(Some);
        }
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(FieldName::<CodecError>::new(self.reader.cursor.str()?))
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, CodecError> {
        match self.id.take() {
            // `_id` is a whole number as every document shows it (an `i64`).
            Some(id) => {
                let id: U64Deserializer<CodecError> =
                    id.min(i64::MAX.unsigned_abs()).into_deserializer();
                seed.deserialize(id)
            }
            None => seed.deserialize(&mut *self.reader),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left + usize::from(self.id.is_some()))
    }
}

/// An enum stored as an object of one field: the field's name is the variant, its value the
/// variant's content.
struct Variant<'a, 'de> {
    reader: &'a mut Reader<'de>,
}

impl<'de> de::EnumAccess<'de> for Variant<'_, 'de> {
    type Error = CodecError;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self), CodecError> {
        let name: StrDeserializer<'_, CodecError> = self.reader.cursor.str()?.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = CodecError;

    fn unit_variant(self) -> Result<(), CodecError> {
        de::Deserialize::deserialize(&mut *self.reader)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, CodecError> {
        seed.deserialize(&mut *self.reader)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        de::Deserializer::deserialize_any(&mut *self.reader, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        de::Deserializer::deserialize_any(&mut *self.reader, visitor)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::codec::document::{encode_document, tests::value};
    use crate::value::{Value, to_value};

    fn stored(value: &Value) -> Vec<u8> {
        let mut bytes = Vec::new();
        encode_document(value, &mut bytes).unwrap();
        bytes
    }

    /// What the value's JSON form becomes through serde_json: the behaviour typed reads keep.
    fn through_json<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, String> {
        serde_json::from_value(value.to_json()).map_err(|e| e.to_string())
    }

    /// Every shape of enum variant.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Kind {
        Plain,
        Tagged(i32),
        Pair(i32, i32),
        Named { a: bool },
    }

    /// A typed document using most of what serde can express.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) struct Doc {
        name: String,
        score: Option<f64>,
        kinds: Vec<Kind>,
        extra: BTreeMap<u32, String>,
        flags: BTreeMap<bool, u8>,
        big: u64,
        #[serde(default)]
        missing: Option<String>,
    }

    pub(crate) fn doc() -> Doc {
        Doc {
            name: "n".into(),
            score: None,
            kinds: vec![
                Kind::Plain,
                Kind::Tagged(3),
                Kind::Pair(1, 2),
                Kind::Named { a: true },
            ],
            extra: [(7, "seven".to_owned())].into(),
            flags: [(true, 1)].into(),
            big: 5,
            missing: None,
        }
    }

    #[test]
    fn typed_documents_read_back_as_they_were_written() {
        let value = to_value(&doc()).unwrap();
        assert_eq!(from_stored::<Doc>(&stored(&value), None).unwrap(), doc());
        assert_eq!(through_json::<Doc>(&value).unwrap(), doc());
    }

    #[test]
    fn the_document_id_comes_first_and_unknown_fields_are_stepped_over() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Slim {
            _id: u64,
            big: u64,
        }
        let value = to_value(&doc()).unwrap();
        let slim: Slim = from_stored(&stored(&value), Some(12)).unwrap();
        assert_eq!(slim, Slim { _id: 12, big: 5 });
        let as_map: serde_json::Map<String, serde_json::Value> =
            from_stored(&stored(&value), Some(12)).unwrap();
        assert_eq!(as_map.get("_id"), Some(&serde_json::json!(12)));
    }

    #[test]
    fn strings_can_be_borrowed_from_the_stored_bytes() {
        #[derive(Deserialize)]
        struct Borrowed<'a> {
            name: &'a str,
        }
        let bytes = stored(&to_value(&doc()).unwrap());
        let borrowed: Borrowed = from_stored(&bytes, None).unwrap();
        assert_eq!(borrowed.name, "n");
    }

    #[test]
    fn a_document_that_does_not_fit_the_type_is_a_conversion_error() {
        let value = Value::try_from(serde_json::json!({"name": 3, "big": -1})).unwrap();
        let bytes = stored(&value);
        for err in [
            from_stored::<Doc>(&bytes, None).unwrap_err(),
            from_stored::<Vec<u8>>(&bytes, None).unwrap_err(),
            from_stored::<BTreeMap<u32, i64>>(&bytes, None).unwrap_err(),
        ] {
            assert!(matches!(err, CodecError::Convert(_)), "{err}");
        }
        let negative = stored(&Value::Int(-1));
        assert!(from_stored::<u64>(&negative, None).is_err());
        assert!(through_json::<u64>(&Value::Int(-1)).is_err());
        let array = stored(&Value::Array(vec![
            Value::Int(1),
            Value::Int(2),
            Value::Int(3),
        ]));
        assert!(from_stored::<(i64, i64)>(&array, None).is_err());
        assert!(matches!(
            from_stored::<Kind>(&stored(&Value::Int(1)), None),
            Err(CodecError::Convert(_))
        ));
    }

    #[test]
    fn damaged_bytes_are_a_decode_error() {
        let bytes = stored(&to_value(&doc()).unwrap());
        let err = from_stored::<Doc>(&bytes[..bytes.len() - 1], None).unwrap_err();
        assert!(matches!(err, CodecError::Decode(_)), "{err}");
        let mut trailing = stored(&Value::Null);
        trailing.push(0);
        assert!(matches!(
            from_stored::<Option<i64>>(&trailing, None),
            Err(CodecError::Decode(_))
        ));
    }

    #[test]
    fn nesting_deeper_than_a_document_may_is_refused_without_overflowing_the_stack() {
        // An array tag and a length of one, a million times over: far deeper than MAX_DEPTH.
        let bytes: Vec<u8> = std::iter::repeat_n([ARRAY, 1], 1_000_000)
            .flatten()
            .collect();
        assert!(from_stored::<serde_json::Value>(&bytes, None).is_err());
        assert!(from_stored::<serde::de::IgnoredAny>(&bytes, None).is_err());
    }

    proptest! {
        #[test]
        fn any_document_reads_as_its_json_form_does(v in value(), id in prop::option::of(0u64..1000)) {
            let bytes = stored(&v);
            let mut expected = v.to_json();
            if let (Some(id), serde_json::Value::Object(fields)) = (id, &mut expected) {
                fields.insert("_id".into(), id.into());
            }
            let read: serde_json::Value = from_stored(&bytes, id).unwrap();
            prop_assert_eq!(read, expected);
            let back: Value = from_stored(&bytes, None).unwrap();
            prop_assert_eq!(back.to_string(), v.to_string());
        }

        #[test]
        fn typed_reads_agree_with_serde_json_on_any_document(v in value()) {
            let bytes = stored(&v);
            prop_assert_eq!(
                from_stored::<Doc>(&bytes, None).ok(),
                through_json::<Doc>(&v).ok()
            );
            prop_assert_eq!(
                from_stored::<Vec<Option<i32>>>(&bytes, None).ok(),
                through_json::<Vec<Option<i32>>>(&v).ok()
            );
            prop_assert_eq!(
                from_stored::<BTreeMap<String, Kind>>(&bytes, None).ok(),
                through_json::<BTreeMap<String, Kind>>(&v).ok()
            );
        }

        #[test]
        fn garbage_never_panics(noise in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = from_stored::<serde_json::Value>(&noise, Some(1));
            let _ = from_stored::<Doc>(&noise, Some(1));
            let _ = from_stored::<serde::de::IgnoredAny>(&noise, None);
        }
    }
}
