//! Paths into documents (`author.name`, `tags[0]`, `` `first name` ``) and how they reach values.
//!
//! One definition of "the values a path reaches in a document" serves both index maintenance
//! and query evaluation, so an index can never disagree with the predicate it stands in for.
//!
//! Reaching through arrays follows the usual document-store rule: a field step applied to an
//! array steps into each object element (`authors.name` reaches every author's name), and an
//! index step (`tags[0]`) picks one element.

use std::fmt;
use std::str::FromStr;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, digit1};
use nom::combinator::{all_consuming, map, map_opt, recognize};
use nom::error::ParseError;
use nom::multi::many0;
use nom::sequence::{delimited, pair, preceded};
use nom::{IResult, Parser};

use crate::lexicon::{is_ident_char, is_ident_start, is_identifier, is_reserved};
use crate::value::Value;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// An object field by name.
    Field(String),
    /// An array element by position, from 0.
    Index(usize),
}

/// A path from a document's root to the values inside it.
///
/// ```
/// use quarry::paths::Path;
/// let doc: quarry::Value = serde_json::json!({"author": {"name": "Ada"}}).try_into().unwrap();
/// let path: Path = "author.name".parse().unwrap();
/// assert_eq!(path.values(&doc), vec![&quarry::Value::from("Ada")]);
/// assert_eq!(path.to_string(), "author.name");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path {
    segments: Vec<Segment>,
}

/// A path that could not be read, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid path {text:?}: expected a field name, `quoted name` or [position] at column {column}"
)]
pub struct PathError {
    /// The text given.
    pub text: String,
    /// 1-based column where reading stopped.
    pub column: usize,
}

/// A value that cannot be set at a path: an element beyond the end of an array, or a field of
/// something that is not an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetError(pub String);

impl Path {
    /// A path from its segments; the first must be a field.
    ///
    /// ```
    /// use quarry::paths::{Path, Segment};
    /// let p = Path::new(vec![Segment::Field("tags".into()), Segment::Index(0)]);
    /// assert_eq!(p.to_string(), "tags[0]");
    /// ```
    pub fn new(segments: Vec<Segment>) -> Path {
        Path { segments }
    }

    /// A one-field path.
    ///
    /// ```
    /// assert_eq!(quarry::paths::Path::field("year").to_string(), "year");
    /// ```
    pub fn field(name: impl Into<String>) -> Path {
        Path {
            segments: vec![Segment::Field(name.into())],
        }
    }

    /// The steps of this path.
    ///
    /// ```
    /// assert_eq!(quarry::paths::Path::field("a").segments().len(), 1);
    /// ```
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The top-level field the path starts in, if it starts with a field name.
    ///
    /// ```
    /// let path: quarry::paths::Path = "author.name".parse().unwrap();
    /// assert_eq!(path.head(), Some("author"));
    /// ```
    pub fn head(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Field(name)) => Some(name),
            _ => None,
        }
    }

    /// The top-level fields `paths` start in, each once, in order: what a partial decode of a
    /// document must read for them. `None` when one of them does not start with a field name.
    ///
    /// ```
    /// use quarry::paths::Path;
    /// let paths: Vec<Path> = ["a.b", "c", "a"].iter().map(|p| p.parse().unwrap()).collect();
    /// assert_eq!(Path::heads(&paths), Some(vec!["a".to_owned(), "c".to_owned()]));
    /// ```
    pub fn heads<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Option<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        for path in paths {
            let name = path.head()?;
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        Some(names)
    }

    /// True for the document id path `_id`.
    ///
    /// ```
    /// assert!(quarry::paths::Path::field("_id").is_id());
    /// ```
    pub fn is_id(&self) -> bool {
        matches!(self.segments.as_slice(), [Segment::Field(f)] if f == "_id")
    }

    /// Every value this path reaches in `doc`, in document order; empty when it reaches none
    /// (a missing field). Arrays reached are returned whole, not expanded.
    ///
    /// ```
    /// use quarry::{paths::Path, Value};
    /// let doc: Value = serde_json::json!({"a": [{"b": 1}, {"b": 2}, {"c": 3}]}).try_into().unwrap();
    /// let b: Path = "a.b".parse().unwrap();
    /// assert_eq!(b.values(&doc), vec![&Value::Int(1), &Value::Int(2)]);
    /// ```
    pub fn values<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        let mut reached = Vec::new();
        self.any_value(doc, |value| {
            reached.push(value);
            false
        });
        reached
    }

    /// Whether `f` holds for one of the values the path reaches, visited in document order and
    /// without collecting them: the one definition of what a path reaches ([`Path::values`]
    /// collects it), and the hot path of every filter.
    ///
    /// ```
    /// use quarry::{paths::Path, Value};
    /// let doc: Value = serde_json::json!({"a": [{"b": 1}, {"b": 2}]}).try_into().unwrap();
    /// let b: Path = "a.b".parse().unwrap();
    /// assert!(b.any_value(&doc, |v| *v == Value::Int(2)));
    /// assert!(!b.any_value(&doc, |v| *v == Value::Int(3)));
    /// ```
    pub fn any_value<'a>(&self, doc: &'a Value, mut f: impl FnMut(&'a Value) -> bool) -> bool {
        fn walk<'a>(
            segments: &[Segment],
            value: &'a Value,
            f: &mut impl FnMut(&'a Value) -> bool,
        ) -> bool {
            match segments.split_first() {
                None => f(value),
                Some((Segment::Field(name), rest)) => match value {
                    Value::Object(map) => map.get(name.as_str()).is_some_and(|v| walk(rest, v, f)),
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|item| item.get(name))
                        .any(|v| walk(rest, v, f)),
                    _ => false,
                },
                Some((Segment::Index(i), rest)) => match value {
                    Value::Array(items) => items.get(*i).is_some_and(|v| walk(rest, v, f)),
                    _ => false,
                },
            }
        }
        walk(&self.segments, doc, &mut f)
    }

    /// Whether `f` holds for one of the path's comparison candidates ([`Path::candidates`]),
    /// found without collecting them.
    ///
    /// ```
    /// use quarry::{paths::Path, Value};
    /// let doc: Value = serde_json::json!({"tags": ["x", "y"]}).try_into().unwrap();
    /// assert!(Path::field("tags").any_candidate(&doc, |v| v.as_str() == Some("y")));
    /// assert!(Path::field("nope").any_candidate(&doc, |v| *v == Value::Null));
    /// ```
    pub fn any_candidate(&self, doc: &Value, mut f: impl FnMut(&Value) -> bool) -> bool {
        let mut reached = false;
        let hit = self.any_value(doc, |value| {
            reached = true;
            f(value) || matches!(value, Value::Array(items) if items.iter().any(&mut f))
        });
        // `any_value` stops at the first hit, so without one every value was visited.
        hit || (!reached && f(&NULL))
    }

    /// The first value the path reaches, or `None` when it reaches none: the value `order by`
    /// and `select` use.
    ///
    /// ```
    /// use quarry::{paths::Path, Value};
    /// let doc: Value = serde_json::json!({"tags": ["x", "y"]}).try_into().unwrap();
    /// assert_eq!(Path::field("tags").first(&doc).unwrap().to_string(), r#"["x","y"]"#);
    /// ```
    pub fn first<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.values(doc).into_iter().next()
    }

    /// What `select` shows for this path: the value it reaches; where it crosses an array, the
    /// values reached through each element, as an array (MongoDB's rule), elements that reach
    /// nothing left out. `None` when it reaches nothing.
    ///
    /// ```
    /// use quarry::{paths::Path, Value};
    /// let doc: Value = serde_json::json!({"items": [{"sku": "X"}, {"qty": 1}, {"sku": "Y"}]})
    ///     .try_into()
    ///     .unwrap();
    /// let sku: Path = "items.sku".parse().unwrap();
    /// assert_eq!(sku.project(&doc).unwrap().to_string(), r#"["X","Y"]"#);
    /// let first: Path = "items[0].sku".parse().unwrap();
    /// assert_eq!(first.project(&doc).unwrap().to_string(), r#""X""#);
    /// assert_eq!("nope".parse::<Path>().unwrap().project(&doc), None);
    /// ```
    pub fn project(&self, doc: &Value) -> Option<Value> {
        fn walk(segments: &[Segment], value: &Value) -> Option<Value> {
            match segments.split_first() {
                None => Some(value.clone()),
                Some((Segment::Field(name), rest)) => match value {
                    Value::Object(map) => walk(rest, map.get(name.as_str())?),
                    Value::Array(items) => Some(Value::Array(
                        items
                            .iter()
                            .filter_map(|item| walk(rest, item.get(name)?))
                            .collect(),
                    )),
                    _ => None,
                },
                Some((Segment::Index(i), rest)) => match value {
                    Value::Array(items) => walk(rest, items.get(*i)?),
                    _ => None,
                },
            }
        }
        walk(&self.segments, doc)
    }

    /// The values a comparison on this path is tried against: each value reached, and each
    /// element of each array reached. A missing field gives `[null]`.
    ///
    /// ```
    /// use quarry::{paths::Path, Value};
    /// let doc: Value = serde_json::json!({"tags": ["x", "y"]}).try_into().unwrap();
    /// assert_eq!(Path::field("tags").candidates(&doc).len(), 3); // the array, "x", "y"
    /// assert_eq!(Path::field("nope").candidates(&doc), vec![&Value::Null]);
    /// ```
    pub fn candidates<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        let reached = self.values(doc);
        if reached.is_empty() {
            return vec![&NULL];
        }
        let mut out = Vec::with_capacity(reached.len());
        for value in reached {
            out.push(value);
            if let Value::Array(items) = value {
                out.extend(items.iter());
            }
        }
        out
    }

    /// The index keys this path gives `doc`: each element of each array reached (an empty
    /// array keys as itself), each other value reached, or `null` when it reaches nothing.
    /// Sorted and without duplicates. The flag says whether the path was multi-valued here.
    ///
    /// ```
    /// use quarry::{paths::Path, Value};
    /// let doc: Value = serde_json::json!({"tags": ["y", "x", "y"]}).try_into().unwrap();
    /// let (keys, multi) = Path::field("tags").index_keys(&doc);
    /// assert_eq!(keys, vec![Value::from("x"), Value::from("y")]);
    /// assert!(multi);
    /// ```
    pub fn index_keys(&self, doc: &Value) -> (Vec<Value>, bool) {
        let (keys, multi) = self.index_key_refs(doc);
        (keys.into_iter().cloned().collect(), multi)
    }

    /// [`Path::index_keys`] without copying the values out of `doc`.
    pub(crate) fn index_key_refs<'a>(&self, doc: &'a Value) -> (Vec<&'a Value>, bool) {
        static NULL: Value = Value::Null;
        let reached = self.values(doc);
        let mut multi = reached.len() > 1;
        let mut keys = Vec::with_capacity(reached.len());
        for value in reached {
            match value {
                Value::Array(items) if !items.is_empty() => {
                    multi = true;
                    keys.extend(items.iter());
                }
                Value::Array(_) => {
                    multi = true;
                    keys.push(value);
                }
                other => keys.push(other),
            }
        }
        if keys.is_empty() {
            keys.push(&NULL);
        }
        keys.sort();
        keys.dedup();
        (keys, multi)
    }

    /// Sets the value at this path in `doc`, creating missing objects on the way (for
    /// `update ... set`). Fails when the path runs into a value that is not an object, or an
    /// array position beyond the end (one past the end appends).
    ///
    /// ```
    /// use quarry::{paths::Path, Value};
    /// let mut doc: Value = serde_json::json!({"a": {"b": 1}, "t": [1]}).try_into().unwrap();
    /// "a.c.d".parse::<Path>().unwrap().set(&mut doc, Value::Int(2)).unwrap();
    /// "t[1]".parse::<Path>().unwrap().set(&mut doc, Value::Int(9)).unwrap();
    /// assert_eq!(doc.to_string(), r#"{"a":{"b":1,"c":{"d":2}},"t":[1,9]}"#);
    /// assert!("a.b.x".parse::<Path>().unwrap().set(&mut doc, Value::Null).is_err());
    /// ```
    pub fn set(&self, doc: &mut Value, value: Value) -> Result<(), SetError> {
        let mut current = doc;
        let last = self.segments.len().saturating_sub(1);
        for (i, segment) in self.segments.iter().enumerate() {
            let reached = self.prefix_text(i);
            current = match (segment, current) {
                (Segment::Field(name), Value::Object(map)) => {
                    if i == last {
                        map.insert(name.as_str().into(), value);
                        return Ok(());
                    }
                    map.entry(name.as_str().into())
                        .or_insert_with(|| Value::Object(crate::value::Map::default()))
                }
                (Segment::Index(n), Value::Array(items)) => {
                    if i == last && *n == items.len() {
                        items.push(value);
                        return Ok(());
                    }
                    let len = items.len();
                    let item = items.get_mut(*n).ok_or_else(|| {
                        SetError(format!(
                            "cannot set `{self}`: `{reached}` has {len} elements"
                        ))
                    })?;
                    if i == last {
                        *item = value;
                        return Ok(());
                    }
                    item
                }
                (_, other) => {
                    return Err(SetError(format!(
                        "cannot set `{self}`: `{reached}` is {} {}, not {}",
                        if other.type_name().starts_with(['a', 'o']) {
                            "an"
                        } else {
                            "a"
                        },
                        other.type_name(),
                        if matches!(segment, Segment::Index(_)) {
                            "an array"
                        } else {
                            "an object"
                        }
                    )));
                }
            };
        }
        Ok(())
    }

    /// Removes the value at this path from `doc` (for `update ... unset`); nothing happens
    /// when there is none. An array position removes that element.
    ///
    /// ```
    /// use quarry::{paths::Path, Value};
    /// let mut doc: Value = serde_json::json!({"a": {"b": 1, "c": 2}, "t": [1, 2]}).try_into().unwrap();
    /// "a.b".parse::<Path>().unwrap().remove(&mut doc);
    /// "t[0]".parse::<Path>().unwrap().remove(&mut doc);
    /// "nope.x".parse::<Path>().unwrap().remove(&mut doc);
    /// assert_eq!(doc.to_string(), r#"{"a":{"c":2},"t":[2]}"#);
    /// ```
    pub fn remove(&self, doc: &mut Value) {
        let Some((last, parents)) = self.segments.split_last() else {
            return;
        };
        let mut current = doc;
        for segment in parents {
            let next = match (segment, current) {
                (Segment::Field(name), Value::Object(map)) => map.get_mut(name.as_str()),
                (Segment::Index(n), Value::Array(items)) => items.get_mut(*n),
                _ => None,
            };
            match next {
                Some(next) => current = next,
                None => return,
            }
        }
        match (last, current) {
            (Segment::Field(name), Value::Object(map)) => {
                map.shift_remove(name.as_str());
            }
            (Segment::Index(n), Value::Array(items)) if *n < items.len() => {
                items.remove(*n);
            }
            _ => {}
        }
    }

    /// The text of the first `n` segments (for messages).
    fn prefix_text(&self, n: usize) -> String {
        if n == 0 {
            return "the document".to_owned();
        }
        Path::new(self.segments[..n].to_vec()).to_string()
    }
}

static NULL: Value = Value::Null;

/// `ident = (letter | "_") { letter | digit | "_" }`
fn ident<'a, E: ParseError<&'a str>>(input: &'a str) -> IResult<&'a str, String, E> {
    map(
        recognize(pair(take_while1(is_ident_start), take_while(is_ident_char))),
        str::to_owned,
    )
    .parse(input)
}

/// ``quoted = "`" { any char but "`" | "``" } "`"``
pub(crate) fn quoted<'a, E: ParseError<&'a str>>(input: &'a str) -> IResult<&'a str, String, E> {
    let (rest, body) = delimited(
        char('`'),
        recognize(many0(alt((take_while1(|c| c != '`'), tag("``"))))),
        char('`'),
    )
    .parse(input)?;
    Ok((rest, body.replace("``", "`")))
}

fn field_name<'a, E: ParseError<&'a str>>(input: &'a str) -> IResult<&'a str, String, E> {
    alt((ident, quoted)).parse(input)
}

/// Parses a path at the start of `input` (grammar rule `path` in `grammar/quarry.ebnf`):
///
/// ```text
/// path    = field { "." field | "[" digits "]" } ;
/// field   = ident | quoted ;
/// ```
///
/// Generic over the nom error type so the query parser can embed it.
pub fn parse_path<'a, E: ParseError<&'a str>>(input: &'a str) -> IResult<&'a str, Path, E> {
    let index = map_opt(delimited(char('['), digit1, char(']')), |d: &str| {
        d.parse::<usize>().ok().map(Segment::Index)
    });
    let (rest, (head, tail)) = pair(
        field_name,
        many0(alt((
            map(preceded(char('.'), field_name), Segment::Field),
            index,
        ))),
    )
    .parse(input)?;
    let mut segments = vec![Segment::Field(head)];
    segments.extend(tail);
    Ok((rest, Path { segments }))
}

impl FromStr for Path {
    type Err = PathError;

    fn from_str(text: &str) -> Result<Path, PathError> {
        let trimmed = text.trim();
        all_consuming(parse_path::<nom::error::Error<&str>>)
            .parse(trimmed)
            .map(|(_, path)| path)
            .map_err(|e| {
                let column = match e {
                    nom::Err::Error(e) | nom::Err::Failure(e) => trimmed.len() - e.input.len() + 1,
                    nom::Err::Incomplete(_) => trimmed.len() + 1,
                };
                PathError {
                    text: text.to_owned(),
                    column,
                }
            })
    }
}

impl serde::Serialize for Path {
    /// A path is stored as its text.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Path {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Path {
    /// The path as written in the language, quoting names that need it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Field(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let plain = !(i == 0 && is_reserved(name)) && is_identifier(name);
                    if plain {
                        f.write_str(name)?;
                    } else {
                        write!(f, "`{}`", name.replace('`', "``"))?;
                    }
                }
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(json: serde_json::Value) -> Value {
        Value::try_from(json).unwrap()
    }

    /// Small documents over the field names `a` and `b`, nesting arrays and objects.
    fn small_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            (0i64..3).prop_map(Value::Int),
            Just(Value::from("a")),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop_oneof![Just("a"), Just("b")], inner), 0..3).prop_map(
                    |fields| Value::Object(
                        fields.into_iter().map(|(k, v)| (k.into(), v)).collect()
                    )
                ),
            ]
        })
    }

    /// What a path reaches, computed another way (a level of the document at a time): the
    /// reference the depth-first walk is held to.
    fn reached_level_by_level<'a>(path: &Path, doc: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![doc];
        for segment in path.segments() {
            let mut next = Vec::new();
            for value in current {
                match (segment, value) {
                    (Segment::Field(name), Value::Object(map)) => {
                        next.extend(map.get(name.as_str()))
                    }
                    (Segment::Field(name), Value::Array(items)) => {
                        next.extend(items.iter().filter_map(|item| item.get(name)))
                    }
                    (Segment::Index(i), Value::Array(items)) => next.extend(items.get(*i)),
                    _ => {}
                }
            }
            current = next;
        }
        current
    }

    fn small_path() -> impl Strategy<Value = Path> {
        prop::collection::vec(
            prop_oneof![
                Just(Segment::Field("a".into())),
                Just(Segment::Field("b".into())),
                (0usize..2).prop_map(Segment::Index),
            ],
            0..4,
        )
        .prop_map(|mut rest| {
            rest.insert(0, Segment::Field("a".into()));
            Path::new(rest)
        })
    }

    proptest! {
        #[test]
        fn walking_a_path_finds_what_a_level_by_level_reading_finds(
            doc in small_value(),
            path in small_path(),
            target in small_value(),
        ) {
            let values = path.values(&doc);
            prop_assert_eq!(&values, &reached_level_by_level(&path, &doc));
            prop_assert_eq!(path.any_value(&doc, |v| *v == target), values.contains(&&target));
            prop_assert_eq!(path.any_value(&doc, |_| true), !values.is_empty());
            let candidates = path.candidates(&doc);
            prop_assert_eq!(
                path.any_candidate(&doc, |v| *v == target),
                candidates.contains(&&target)
            );
        }
    }

    #[test]
    fn parses_and_prints_every_form() {
        for text in [
            "a",
            "author.name",
            "tags[0]",
            "a.b[2].c",
            "`first name`",
            "`a``b`.x",
            "_id",
        ] {
            let path: Path = text.parse().unwrap();
            assert_eq!(path.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_paths_with_column() {
        let err = "a..b".parse::<Path>().unwrap_err();
        assert_eq!(err.column, 2);
        assert!("".parse::<Path>().is_err());
        assert!("1abc".parse::<Path>().is_err());
        assert!("a[x]".parse::<Path>().is_err());
    }

    #[test]
    fn missing_field_is_a_null_candidate_and_null_key() {
        let d = doc(serde_json::json!({"a": 1}));
        let p = Path::field("b");
        assert!(p.values(&d).is_empty());
        assert_eq!(p.candidates(&d), vec![&Value::Null]);
        assert_eq!(p.index_keys(&d), (vec![Value::Null], false));
    }

    #[test]
    fn index_steps_pick_one_element() {
        let d = doc(serde_json::json!({"tags": ["x", "y"]}));
        let p: Path = "tags[1]".parse().unwrap();
        assert_eq!(p.values(&d), vec![&Value::from("y")]);
        let p: Path = "tags[5]".parse().unwrap();
        assert!(p.values(&d).is_empty());
    }

    #[test]
    fn empty_array_keys_as_itself() {
        let d = doc(serde_json::json!({"tags": []}));
        assert_eq!(
            Path::field("tags").index_keys(&d),
            (vec![Value::Array(vec![])], true)
        );
    }
}
