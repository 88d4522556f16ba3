//! `show fields`: every path in a collection's documents, with its types and how many
//! documents have it.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::error::Result;
use crate::store::Collection;
use crate::value::{Map, Value};

/// One row per path: `{path, types, documents}`, sorted by path. Fields of objects inside
/// arrays are listed under the array's path (`authors.name`), as queries reach them.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// db.execute("insert into t [{a: 1, b: {c: 'x'}}, {a: 'two'}]")?;
/// let out = db.execute("show fields of t")?;
/// let text = out[0].to_string();
/// assert!(text.contains(r#"{"path":"a","types":"number, string","documents":2}"#), "{text}");
/// assert!(text.contains(r#"{"path":"b.c","types":"string","documents":1}"#), "{text}");
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn field_summary(collection: &Collection) -> Result<Vec<Value>> {
    let paths = summarise(collection, usize::MAX)?;
    Ok(paths
        .into_iter()
        .map(|(path, (types, documents))| {
            let mut row = Map::default();
            row.insert("path".into(), Value::String(path));
            row.insert(
                "types".into(),
                Value::String(types.into_iter().collect::<Vec<_>>().join(", ")),
            );
            row.insert(
                "documents".into(),
                Value::Int(i64::try_from(documents).unwrap_or(i64::MAX)),
            );
            Value::Object(row)
        })
        .collect())
}

/// The field paths of the first `sample` documents, sorted (for completion in the shell).
///
/// ```
/// let db = quarry::Db::temporary()?;
/// db.execute("insert into t {author: {name: 'Ada'}}")?;
/// let paths = quarry::internals::fields::field_paths(&db.collection("t")?, 100)?;
/// assert_eq!(paths, ["_id", "author", "author.name"]);
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn field_paths(collection: &Collection, sample: usize) -> Result<Vec<String>> {
    Ok(summarise(collection, sample)?.into_keys().collect())
}

/// Each path of a collection's documents: the types it holds and how many documents have it.
pub(crate) type Paths = BTreeMap<String, (BTreeSet<&'static str>, u64)>;

/// Every path of the first `limit` documents: its types and how many documents have it.
fn summarise(collection: &Collection, limit: usize) -> Result<Paths> {
    Ok(sample(collection, limit)?.0)
}

/// [`summarise`], with how many documents were read.
pub(crate) fn sample(collection: &Collection, limit: usize) -> Result<(Paths, usize)> {
    let mut paths = Paths::new();
    let mut read = 0;
    for item in collection.iter().take(limit) {
        let (_, doc) = item?;
        read += 1;
        let mut seen = HashSet::new();
        if let Value::Object(fields) = &doc {
            walk(fields, "", &mut paths, &mut seen);
        }
    }
    Ok((paths, read))
}

fn walk(
    fields: &Map,
    prefix: &str,
    paths: &mut BTreeMap<String, (BTreeSet<&'static str>, u64)>,
    seen: &mut HashSet<String>,
) {
    for (name, value) in fields {
        let path = if prefix.is_empty() {
            quoted(name)
        } else {
            format!("{prefix}.{}", quoted(name))
        };
        record(&path, value, paths, seen);
    }
}

fn record(
    path: &str,
    value: &Value,
    paths: &mut BTreeMap<String, (BTreeSet<&'static str>, u64)>,
    seen: &mut HashSet<String>,
) {
    let entry = paths.entry(path.to_owned()).or_default();
    entry.0.insert(value.type_name());
    if seen.insert(path.to_owned()) {
        entry.1 += 1;
    }
    match value {
        Value::Object(inner) => walk(inner, path, paths, seen),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(inner) = item {
                    walk(inner, path, paths, seen);
                }
            }
        }
        _ => {}
    }
}

/// A field name as a path segment (backticks when it is not a plain identifier).
fn quoted(name: &str) -> String {
    crate::path::Path::field(name).to_string()
}
