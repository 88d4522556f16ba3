//! The document value model and its one total order.
//!
//! Every document, index key, literal and query result is a [`Value`]. The order defined here is
//! the order used everywhere: sorting, range scans and index keys (the key encoding in
//! [`crate::codec::keycode`] is proven to agree with it):
//!
//! ```text
//! null < false < true < numbers < strings < arrays < objects
//! ```
//!
//! Integers and floats are one numeric type for comparison (`1 == 1.0`, `2 < 2.5`), compared
//! exactly for every `i64`. Strings compare by bytes (code points), arrays and objects
//! element by element, a shorter prefix first; objects compare their fields in stored order.

use std::cmp::Ordering;
use std::fmt;

use indexmap::IndexMap;

mod serde_bridge;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
pub(crate) use serde_bridge::FieldName;
pub use serde_bridge::{from_value, to_value};

/// The fields of an object, in the order they were inserted.
///
/// Keys are [`Key`]s and hashed with foldhash rather than SipHash: decoding a document builds
/// one of these per object, and with short field names the allocations and the hasher were
/// the larger part of a read.
///
/// ```
/// let mut fields = quarry::Map::default();
/// fields.insert("org".into(), quarry::Value::from("ICC"));
/// assert_eq!(fields.get("org").and_then(quarry::Value::as_str), Some("ICC"));
/// ```
pub type Map = IndexMap<Key, Value, foldhash::fast::RandomState>;

/// A field name: a string kept inline, without an allocation, up to 24 bytes (longer ones are
/// allocated), so that decoding a document does not allocate for each field name.
///
/// ```
/// let key: quarry::Key = "author".into();
/// assert_eq!(key.as_str(), "author");
/// ```
pub type Key = compact_str::CompactString;

/// A JSON-like value: what documents are made of.
///
/// Floats are always finite: NaN and infinities are refused where values come in
/// ([`Value::float`], deserialisation, [`crate::to_value`], and document validation on write).
///
/// ```
/// use quarry::Value;
/// let v: Value = serde_json::json!({"org": "ICC", "year": 2021}).try_into().unwrap();
/// assert_eq!(v.to_string(), r#"{"org":"ICC","year":2021}"#);
/// assert_eq!(Value::Int(1), Value::Float(1.0));
/// assert!(Value::Null < Value::Bool(false) && Value::Int(7) < Value::from("a"));
/// ```
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// JSON `null`; also what a missing field reads as in queries.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A finite floating-point number.
    Float(f64),
    /// A UTF-8 string.
    String(String),
    /// An ordered list.
    Array(Vec<Value>),
    /// Named fields in insertion order.
    Object(Map),
}

/// A value that cannot be stored: a NaN or infinite float, or nesting that is too deep.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

/// How deeply arrays and objects may nest inside a stored document.
pub const MAX_DEPTH: usize = 128;

impl Value {
    /// A float value, refusing NaN and infinities (JSON has neither).
    ///
    /// ```
    /// assert!(quarry::Value::float(2.5).is_ok());
    /// assert!(quarry::Value::float(f64::NAN).is_err());
    /// ```
    pub fn float(f: f64) -> Result<Value, ValueError> {
        if f.is_finite() {
            Ok(Value::Float(f))
        } else {
            Err(ValueError(format!(
                "{f} is not a valid number: NaN and infinities cannot be stored"
            )))
        }
    }

    /// Checks that every float is finite and nesting stays within [`MAX_DEPTH`].
    ///
    /// ```
    /// use quarry::Value;
    /// assert!(Value::Array(vec![Value::Float(f64::INFINITY)]).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), ValueError> {
        self.validate_at(0)
    }

    fn validate_at(&self, depth: usize) -> Result<(), ValueError> {
        if depth > MAX_DEPTH {
            return Err(ValueError(format!(
                "value nests deeper than {MAX_DEPTH} levels"
            )));
        }
        match self {
            Value::Float(f) => Value::float(*f).map(|_| ()),
            Value::Array(items) => items.iter().try_for_each(|v| v.validate_at(depth + 1)),
            Value::Object(map) => map.values().try_for_each(|v| v.validate_at(depth + 1)),
            _ => Ok(()),
        }
    }

    /// The name of this value's type, as shown in `show fields` and error messages.
    ///
    /// ```
    /// assert_eq!(quarry::Value::Float(1.5).type_name(), "number");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// The position of this value's type in the total order (0 = null … 5 = object).
    ///
    /// ```
    /// assert!(quarry::Value::Null.type_rank() < quarry::Value::Bool(true).type_rank());
    /// ```
    pub fn type_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::Float(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }

    /// The string inside, if this is a string.
    ///
    /// ```
    /// assert_eq!(quarry::Value::from("x").as_str(), Some("x"));
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside, if this is an integer or a float with an exact integer value.
    ///
    /// ```
    /// assert_eq!(quarry::Value::Float(3.0).as_i64(), Some(3));
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::Float(f) if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) => {
                Some(f as i64)
            }
            _ => None,
        }
    }

    /// The fields, if this is an object.
    ///
    /// ```
    /// let v = quarry::Value::Object(Default::default());
    /// assert!(v.as_object().unwrap().is_empty());
    /// ```
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The field `name` of an object; `None` for a missing field or a non-object.
    ///
    /// ```
    /// let v: quarry::Value = serde_json::json!({"a": 1}).try_into().unwrap();
    /// assert_eq!(v.get("a"), Some(&quarry::Value::Int(1)));
    /// ```
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(name))
    }

    /// Converts into a `serde_json::Value` (lossless: floats are finite).
    ///
    /// ```
    /// let v = quarry::Value::Int(3);
    /// assert_eq!(v.to_json(), serde_json::json!(3));
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => items.iter().map(Value::to_json).collect(),
            Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Compares an integer with a finite float exactly, without rounding the integer through f64.
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    // Now f's integer part fits in an i64 exactly.
    let whole = f.trunc();
    match i.cmp(&(whole as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - whole)).unwrap_or(Ordering::Equal),
        other => other,
    }
}

fn cmp_floats(a: f64, b: f64) -> Ordering {
    // Finite floats compare totally with partial_cmp (and -0.0 == 0.0); NaN cannot be stored,
    // but fall back to total_cmp so the order stays total whatever the caller built.
    a.partial_cmp(&b).unwrap_or_else(|| a.total_cmp(&b))
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => cmp_floats(*a, *b),
            (Int(a), Float(b)) => cmp_int_float(*a, *b),
            (Float(a), Int(b)) => cmp_int_float(*b, *a).reverse(),
            (String(a), String(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Array(a), Array(b)) => a.iter().cmp(b.iter()),
            (Object(a), Object(b)) => a.iter().cmp(b.iter()),
            _ => self.type_rank().cmp(&other.type_rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl std::hash::Hash for Value {
    /// Agrees with `==`: `1` and `1.0` hash alike, as do `0.0` and `-0.0`.
    ///
    /// ```
    /// use std::hash::BuildHasher;
    /// let state = std::collections::hash_map::RandomState::new();
    /// assert_eq!(state.hash_one(quarry::Value::Int(1)), state.hash_one(quarry::Value::Float(1.0)));
    /// ```
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.type_rank().hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(_) | Value::Float(_) => match (self.as_i64(), self) {
                (Some(i), _) => i.hash(state),
                (None, Value::Float(f)) => f.to_bits().hash(state),
                (None, _) => {}
            },
            Value::String(s) => s.hash(state),
            Value::Array(items) => items.hash(state),
            Value::Object(map) => {
                map.len().hash(state);
                for (key, value) in map {
                    key.hash(state);
                    value.hash(state);
                }
            }
        }
    }
}

impl fmt::Display for Value {
    /// Compact JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::Object(map)
    }
}

impl TryFrom<serde_json::Value> for Value {
    type Error = ValueError;

    /// Converts JSON; an integer beyond the i64 range becomes a float.
    fn try_from(json: serde_json::Value) -> Result<Self, ValueError> {
        Ok(match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::float(n.as_f64().unwrap_or(f64::NAN))?,
            },
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(Value::try_from)
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| Ok((k.into(), Value::try_from(v)?)))
                    .collect::<Result<_, ValueError>>()?,
            ),
        })
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> Self {
        v.to_json()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) => serializer.serialize_f64(*f),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut m = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Value::float(f).map_err(E::custom)
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::with_capacity_and_hasher(
            access.size_hint().unwrap_or(0).min(4096),
            Default::default(),
        );
        while let Some((k, v)) = access.next_entry::<Key, Value>()? {
            map.insert(k, v);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_order_is_null_bool_number_string_array_object() {
        let ordered = [
            Value::Null,
            Value::Bool(false),
            Value::Bool(true),
            Value::Int(-5),
            Value::Float(2.5),
            Value::from(""),
            Value::Array(vec![]),
            Value::Object(Map::default()),
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn integers_and_floats_compare_exactly() {
        assert_eq!(Value::Int(1), Value::Float(1.0));
        assert!(Value::Int(2) < Value::Float(2.5));
        assert!(Value::Float(-0.5) < Value::Int(0));
        assert_eq!(Value::Float(-0.0), Value::Int(0));
        // 2^53 + 1 is not a float; the float 2^53 is smaller.
        let big = (1i64 << 53) + 1;
        assert!(Value::Float((1i64 << 53) as f64) < Value::Int(big));
        assert!(Value::Int(i64::MAX) < Value::Float(9_223_372_036_854_775_808.0));
        assert!(Value::Int(i64::MIN) == Value::Float(-9_223_372_036_854_775_808.0));
        assert!(Value::Int(i64::MIN) > Value::Float(-1e19));
    }

    #[test]
    fn shorter_prefix_sorts_first() {
        assert!(Value::from("ab") < Value::from("abc"));
        assert!(Value::Array(vec![Value::Int(1)]) < Value::Array(vec![Value::Int(1), Value::Null]));
    }

    #[test]
    fn json_round_trip_keeps_field_order() {
        let json = serde_json::json!({"z": 1, "a": [true, null, 2.5], "m": {"y": "s"}});
        let v = Value::try_from(json.clone()).unwrap();
        assert_eq!(
            v.to_string(),
            r#"{"z":1,"a":[true,null,2.5],"m":{"y":"s"}}"#
        );
        assert_eq!(v.to_json(), json);
        let back: Value = serde_json::from_str(&v.to_string()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn non_finite_floats_are_refused() {
        assert!(Value::float(f64::NAN).is_err());
        assert!(Value::float(f64::NEG_INFINITY).is_err());
        let nested = Value::Array(vec![Value::Float(f64::NAN)]);
        assert!(nested.validate().is_err());
    }
}
