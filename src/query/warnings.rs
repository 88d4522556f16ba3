//! Warnings beside an empty answer: likely mistakes that are still valid queries. A condition on
//! a field no document has (`yaer` for `year`), or a comparison with a value of a type the field
//! never holds (`year >= "2020"` where years are numbers), answers nothing without being wrong;
//! the warning says why, and names the field probably meant.
//!
//! Invariant: a warning never changes an answer. What it says comes from the first
//! [`SAMPLE`] documents, and says so when the collection holds more.

use crate::error::Result;
use crate::path::{Path, Segment};
use crate::query::eval::Predicate;
use crate::query::fields;
use crate::store::Collection;
use crate::value::Value;

/// How many documents the warnings look at.
pub(crate) const SAMPLE: usize = 1000;

/// What an empty answer to `predicate` on `collection` may be owed to.
pub(crate) fn for_empty_answer(
    collection: &Collection,
    predicate: &Predicate,
) -> Result<Vec<String>> {
    let mut conditions = Vec::new();
    conditions_of(predicate, &mut conditions);
    warn(collection, conditions)
}

/// Fields that `paths` name and no sampled document has: what a column of nulls, or a sum
/// of nothing, may be owed to (`select nmae`, `sum(aera)`).
///
/// ```
/// let db = quarry::Db::temporary()?;
/// let mut session = quarry::query::Session::new(db);
/// session.execute(r#"insert into t [{area: 2}, {area: 3}]; select sum(aera) as total from t"#)?;
/// assert_eq!(session.warnings(), ["no document in t has field `aera`; did you mean `area`?"]);
/// # Ok::<(), quarry::Error>(())
/// ```
pub(crate) fn for_unknown_fields<'p>(
    collection: &Collection,
    paths: impl IntoIterator<Item = &'p Path>,
) -> Result<Vec<String>> {
    warn(
        collection,
        paths.into_iter().map(|p| (p, Vec::new())).collect(),
    )
}

/// The warnings for paths tested (against values of the types given).
fn warn(collection: &Collection, conditions: Vec<(&Path, Vec<&Value>)>) -> Result<Vec<String>> {
    if conditions.iter().all(|(path, _)| path.is_id()) {
        return Ok(Vec::new());
    }
    let (paths, seen) = fields::sample(collection, SAMPLE)?;
    let every = seen as u64 >= collection.len()?;
    let name = collection.name();
    let mut warnings: Vec<String> = Vec::new();
    for (path, values) in conditions {
        if path.is_id() || path.segments().is_empty() {
            continue;
        }
        let key = field_key(path);
        let warning = match paths.get(&key) {
            None => {
                let near = paths
                    .keys()
                    .filter(|k| k.as_str() != "_id")
                    .map(|k| (strsim::damerau_levenshtein(k, &key), k))
                    .filter(|(d, _)| *d <= likely_typo(&key))
                    .min();
                let scope = match every {
                    true => format!("no document in {name}"),
                    false => format!("none of the first {seen} documents of {name}"),
                };
                Some(format!(
                    "{scope} has field `{key}`{}",
                    near.map(|(_, k)| format!("; did you mean `{k}`?"))
                        .unwrap_or_default()
                ))
            }
            // Conditions on arrays test their elements, whose types are not recorded.
            Some((types, _)) if types.contains("array") => None,
            Some((types, _)) => values
                .iter()
                .find(|v| !matches!(v, Value::Null) && !types.contains(v.type_name()))
                .map(|value| {
                    let held: Vec<&str> = types.iter().map(|t| plural(t)).collect();
                    format!(
                        "`{key}` holds {} in {}; `{value}` is {}",
                        held.join(" or "),
                        if every {
                            "every document".to_owned()
                        } else {
                            format!("the first {seen} documents")
                        },
                        with_article(value.type_name())
                    )
                }),
        };
        if let Some(warning) = warning
            && !warnings.contains(&warning)
        {
            warnings.push(warning);
        }
    }
    Ok(warnings)
}

/// The paths a predicate tests and the values it compares them with. `exists` and `is null`
/// ask about presence on purpose: they are left out.
fn conditions_of<'p>(predicate: &'p Predicate, out: &mut Vec<(&'p Path, Vec<&'p Value>)>) {
    match predicate {
        Predicate::Or(items) | Predicate::And(items) => {
            items.iter().for_each(|p| conditions_of(p, out));
        }
        Predicate::Not(inner) => conditions_of(inner, out),
        Predicate::Compare(path, _, value) => out.push((path, vec![value])),
        Predicate::In(path, values) => out.push((path, values.iter().collect())),
        Predicate::Between(path, low, high) => out.push((path, vec![low, high])),
        Predicate::Contains(path, _)
        | Predicate::StartsWith(path, _)
        | Predicate::Matches(path, _) => out.push((path, Vec::new())),
        // The condition inside speaks of elements: only the array's own path is checked.
        Predicate::Has(path, _) => out.push((path, Vec::new())),
        // A computed condition: the paths it reads are checked, not the types of its values.
        Predicate::Test(test) => {
            out.extend(test.subject.paths().into_iter().map(|p| (p, Vec::new())));
        }
        // A search reads its index's fields, whatever they hold.
        Predicate::Exists(_) | Predicate::IsNull(_) | Predicate::Search(_) => {}
    }
}

/// A path as `show fields` lists it: its field names, positions left out.
fn field_key(path: &Path) -> String {
    let fields: Vec<&str> = path
        .segments()
        .iter()
        .filter_map(|s| match s {
            Segment::Field(name) => Some(name.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    Path::new(fields.iter().map(|f| Segment::Field((*f).into())).collect()).to_string()
}

/// How many edits away a name may be for one to suggest it: none for names too short to tell a
/// typo from another name, one for short names, two for longer ones.
pub(crate) fn likely_typo(name: &str) -> usize {
    match name.chars().count() {
        0..3 => 0,
        3..=5 => 1,
        _ => 2,
    }
}

fn plural(type_name: &str) -> &'static str {
    match type_name {
        "null" => "nulls",
        "bool" => "booleans",
        "number" => "numbers",
        "string" => "strings",
        "array" => "arrays",
        _ => "objects",
    }
}

fn with_article(type_name: &str) -> String {
    match type_name {
        "array" | "object" => format!("an {type_name}"),
        "bool" => "a boolean".to_owned(),
        other => format!("a {other}"),
    }
}
