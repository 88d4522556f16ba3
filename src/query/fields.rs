//! `show fields`: every path in a collection's documents, with its types and how many
//! documents have it.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::error::Result;
use crate::store::Collection;
use crate::value::{Map, Value};

/// One row per path: `{path, types, documents}`, sorted by path. Fields of objects inside
/// arrays are listed under the array's path (`authors.name`), as queries reach them. An object
/// used as a map, whose keys vary from document to document (currency codes, language codes),
/// is one row `currencies.*` with the count of its distinct `keys` (see [`is_map_like`]).
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
    let raw = summarise(collection, usize::MAX)?;
    let maps = map_like(&raw);
    let paths = if maps.is_empty() {
        raw
    } else {
        scan(collection, usize::MAX, &maps)?.0
    };
    Ok(paths
        .into_iter()
        .map(|(path, (types, documents))| {
            let mut row = Map::default();
            let keys = path
                .strip_suffix(".*")
                .and_then(|map| maps.get(map))
                .copied();
            row.insert("path".into(), Value::String(path));
            row.insert(
                "types".into(),
                Value::String(types.into_iter().collect::<Vec<_>>().join(", ")),
            );
            row.insert(
                "documents".into(),
                Value::Int(i64::try_from(documents).unwrap_or(i64::MAX)),
            );
            if let Some(keys) = keys {
                row.insert(
                    "keys".into(),
                    Value::Int(i64::try_from(keys).unwrap_or(i64::MAX)),
                );
            }
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

/// Up to four top-level fields that hold strings in the first hundred documents, the most
/// common first: what an error suggests a text index on.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// db.execute("insert into t [{title: 'a', body: 'b', n: 1}, {body: 'c'}]")?;
/// let fields = quarry::internals::fields::string_fields(&db.collection("t")?)?;
/// assert_eq!(fields, ["body", "title"]);
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn string_fields(collection: &Collection) -> Result<Vec<String>> {
    let mut found: Vec<(u64, String)> = summarise(collection, 100)?
        .into_iter()
        .filter(|(path, (types, _))| {
            !path.contains(['.', '[']) && path != "_id" && types.contains("string")
        })
        .map(|(path, (_, documents))| (documents, path))
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(found.into_iter().take(4).map(|(_, path)| path).collect())
}

/// Each path of a collection's documents: the types it holds and how many documents have it.
pub(crate) type Paths = BTreeMap<String, (BTreeSet<&'static str>, u64)>;

/// Up to `per_path` distinct values of each field path of the first `sample` documents (the
/// elements of arrays of scalars too), in value order: what completion offers after a
/// comparison.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// db.execute("insert into t [{org: 'ICC', tags: ['a', 'b']}, {org: 'HRW', n: {x: 1}}]")?;
/// let values = quarry::internals::fields::field_values(&db.collection("t")?, 100, 10)?;
/// assert_eq!(values["org"], [quarry::Value::from("HRW"), quarry::Value::from("ICC")]);
/// assert_eq!(values["tags"].len(), 2);
/// assert_eq!(values["n.x"], [quarry::Value::Int(1)]);
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn field_values(
    collection: &Collection,
    sample: usize,
    per_path: usize,
) -> Result<BTreeMap<String, Vec<Value>>> {
    fn walk(
        fields: &Map,
        prefix: &str,
        per_path: usize,
        out: &mut BTreeMap<String, BTreeSet<Value>>,
    ) {
        for (name, value) in fields {
            let path = if prefix.is_empty() {
                quoted(name)
            } else {
                format!("{prefix}.{}", quoted(name))
            };
            let items = match value {
                Value::Array(items) => items.as_slice(),
                other => std::slice::from_ref(other),
            };
            for item in items {
                match item {
                    Value::Object(inner) => walk(inner, &path, per_path, out),
                    Value::Array(_) | Value::Null => {}
                    scalar => {
                        let values = out.entry(path.clone()).or_default();
                        if values.len() < per_path {
                            values.insert(scalar.clone());
                        }
                    }
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    for item in collection.iter().take(sample) {
        if let (_, Value::Object(fields)) = item? {
            walk(&fields, "", per_path, &mut out);
        }
    }
    Ok(out
        .into_iter()
        .map(|(path, values)| (path, values.into_iter().collect()))
        .collect())
}

/// Whether an object is used as a map rather than as a record: it has many distinct keys
/// (more than 10) and a document holds only a few of them (a third or less on average). A map's
/// keys are data (currency codes, language codes), so `show fields` and CSV export treat it as
/// one field (`currencies.*`; one JSON column) instead of a field per key.
///
/// ```
/// use quarry::internals::fields::is_map_like;
/// assert!(is_map_like(150, 220, 200)); // 150 currency codes, about one per country
/// assert!(!is_map_like(25, 5000, 200)); // every country has the same 25 keys
/// assert!(!is_map_like(4, 4, 4));
/// ```
pub fn is_map_like(distinct_keys: usize, key_occurrences: u64, documents: u64) -> bool {
    distinct_keys > 10 && key_occurrences.saturating_mul(3) <= distinct_keys as u64 * documents
}

/// The object paths of `paths` that are maps ([`is_map_like`]), with their distinct keys.
fn map_like(paths: &Paths) -> BTreeMap<String, usize> {
    paths
        .iter()
        .filter(|(_, (types, _))| types.contains("object"))
        .filter_map(|(path, (_, documents))| {
            let prefix = format!("{path}.");
            let children: Vec<u64> = paths
                .range(prefix.clone()..)
                .take_while(|(child, _)| child.starts_with(&prefix))
                .filter(|(child, _)| !child[prefix.len()..].contains('.'))
                .map(|(_, (_, n))| *n)
                .collect();
            let occurrences = children.iter().sum();
            is_map_like(children.len(), occurrences, *documents)
                .then(|| (path.clone(), children.len()))
        })
        .collect()
}

/// Every path of the first `limit` documents: its types and how many documents have it.
fn summarise(collection: &Collection, limit: usize) -> Result<Paths> {
    Ok(sample(collection, limit)?.0)
}

/// [`summarise`], with how many documents were read.
pub(crate) fn sample(collection: &Collection, limit: usize) -> Result<(Paths, usize)> {
    scan(collection, limit, &BTreeMap::new())
}

/// Every path of the first `limit` documents, the keys of `maps` written as `*`, and how many
/// documents were read.
fn scan(
    collection: &Collection,
    limit: usize,
    maps: &BTreeMap<String, usize>,
) -> Result<(Paths, usize)> {
    let mut paths = Paths::new();
    let mut read = 0;
    for item in collection.iter().take(limit) {
        let (_, doc) = item?;
        read += 1;
        let mut seen = HashSet::new();
        if let Value::Object(fields) = &doc {
            walk(fields, "", &mut paths, &mut seen, maps);
        }
    }
    Ok((paths, read))
}

/// Records the paths of `fields` (below `prefix`), writing the keys of `maps` as `*`.
fn walk(
    fields: &Map,
    prefix: &str,
    paths: &mut Paths,
    seen: &mut HashSet<String>,
    maps: &BTreeMap<String, usize>,
) {
    for (name, value) in fields {
        let segment = if maps.contains_key(prefix) {
            "*".to_owned()
        } else {
            quoted(name)
        };
        let path = if prefix.is_empty() {
            segment
        } else {
            format!("{prefix}.{segment}")
        };
        let entry = paths.entry(path.clone()).or_default();
        entry.0.insert(value.type_name());
        if seen.insert(path.clone()) {
            entry.1 += 1;
        }
        match value {
            Value::Object(inner) => walk(inner, &path, paths, seen, maps),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        walk(inner, &path, paths, seen, maps);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A field name as a path segment (backticks when it is not a plain identifier).
fn quoted(name: &str) -> String {
    crate::path::Path::field(name).to_string()
}
