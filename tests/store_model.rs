//! Model test: random sequences of inserts, updates, deletes and index changes against an
//! in-memory model, checked after every step, with `check()` clean throughout and after reopen.

use std::collections::BTreeMap;

use proptest::prelude::*;
use quarry::{Db, Error, Value};
use serde_json::json;

/// Small value domains so that equal values (and unique clashes) happen often.
fn field_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(json!(null)),
        (0i64..4).prop_map(|i| json!(i)),
        (0i64..4).prop_map(|i| json!(i as f64)),
        prop::sample::select(vec!["x", "y"]).prop_map(|s| json!(s)),
        prop::collection::vec(0i64..4, 0..3).prop_map(|v| json!(v)),
    ]
}

fn document() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::option::of(field_value()),
        prop::option::of(field_value()),
        prop::option::of(0i64..3),
    )
        .prop_map(|(a, b, d)| {
            let mut doc = serde_json::Map::new();
            if let Some(a) = a {
                doc.insert("a".into(), a);
            }
            if let Some(b) = b {
                doc.insert("b".into(), b);
            }
            if let Some(d) = d {
                doc.insert("c".into(), json!({ "d": d }));
            }
            serde_json::Value::Object(doc)
        })
}

const INDEX_CHOICES: &[&[&str]] = &[&["a"], &["b"], &["a", "b"], &["c.d"], &["b", "c.d"]];

#[derive(Clone, Debug)]
enum Op {
    Insert(serde_json::Value),
    InsertMany(Vec<serde_json::Value>),
    Update(usize, serde_json::Value),
    Delete(usize),
    CreateIndex(usize, bool),
    DropIndex(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => document().prop_map(Op::Insert),
        1 => prop::collection::vec(document(), 0..4).prop_map(Op::InsertMany),
        3 => (any::<usize>(), document()).prop_map(|(i, d)| Op::Update(i, d)),
        2 => any::<usize>().prop_map(Op::Delete),
        1 => (0..INDEX_CHOICES.len(), any::<bool>()).prop_map(|(i, u)| Op::CreateIndex(i, u)),
        1 => any::<usize>().prop_map(Op::DropIndex),
    ]
}

/// The model's view of an index: paths and uniqueness.
#[derive(Clone, Debug)]
struct ModelIndex {
    name: String,
    paths: Vec<quarry::paths::Path>,
    unique: bool,
}

/// The values a path gives a document for indexing, computed independently of the store:
/// array elements, or the value, or null when missing.
fn keys_of(doc: &Value, path: &quarry::paths::Path) -> (Vec<Value>, bool) {
    let mut out = Vec::new();
    let mut multi = false;
    let reached = path.values(doc);
    for v in &reached {
        match v {
            Value::Array(items) if !items.is_empty() => {
                multi = true;
                out.extend(items.iter().cloned());
            }
            Value::Array(_) => {
                multi = true;
                out.push((*v).clone());
            }
            other => out.push((*other).clone()),
        }
    }
    if out.is_empty() {
        out.push(Value::Null);
    }
    (out, multi)
}

/// Is the set of documents acceptable for these indexes? (No compound index on two arrays,
/// no unique clash on non-null tuples.)
fn acceptable(docs: &BTreeMap<u64, Value>, indexes: &[ModelIndex]) -> bool {
    for index in indexes {
        let mut seen: BTreeMap<Vec<Value>, u64> = BTreeMap::new();
        for (id, doc) in docs {
            let per_path: Vec<(Vec<Value>, bool)> =
                index.paths.iter().map(|p| keys_of(doc, p)).collect();
            if index.paths.len() > 1 && per_path.iter().filter(|(_, m)| *m).count() > 1 {
                return false;
            }
            let mut tuples: Vec<Vec<Value>> = vec![vec![]];
            for (keys, _) in &per_path {
                tuples = tuples
                    .into_iter()
                    .flat_map(|t| {
                        keys.iter().map(move |k| {
                            let mut t = t.clone();
                            t.push(k.clone());
                            t
                        })
                    })
                    .collect();
            }
            if index.unique {
                for tuple in tuples {
                    if tuple.contains(&Value::Null) {
                        continue;
                    }
                    if let Some(other) = seen.insert(tuple, *id)
                        && other != *id
                    {
                        return false;
                    }
                }
            }
        }
    }
    true
}

fn with_id(id: u64, doc: &serde_json::Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("_id".into(), json!(id));
    if let serde_json::Value::Object(fields) = doc {
        map.extend(fields.clone());
    }
    Value::try_from(serde_json::Value::Object(map)).unwrap()
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.db");
    let db = Db::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    let mut model: BTreeMap<u64, Value> = BTreeMap::new();
    let mut indexes: Vec<ModelIndex> = Vec::new();
    let mut next_id = 1u64;
    for op in ops {
        match op {
            Op::Insert(doc) => {
                let mut after = model.clone();
                after.insert(next_id, with_id(next_id, &doc));
                let result = c.insert(&doc);
                if acceptable(&after, &indexes) {
                    prop_assert_eq!(result.unwrap(), next_id);
                    model = after;
                    next_id += 1;
                } else {
                    prop_assert!(result.is_err());
                }
            }
            Op::InsertMany(batch) => {
                let mut after = model.clone();
                for (i, doc) in batch.iter().enumerate() {
                    let id = next_id + i as u64;
                    after.insert(id, with_id(id, doc));
                }
                let result = c.insert_many(batch.clone());
                if acceptable(&after, &indexes) {
                    let ids = result.unwrap();
                    prop_assert_eq!(ids.len(), batch.len());
                    model = after;
                    next_id += batch.len() as u64;
                } else {
                    prop_assert!(result.is_err());
                }
            }
            Op::Update(pick, doc) => {
                let Some(&id) = model.keys().nth(pick % model.len().max(1)) else {
                    prop_assert!(matches!(
                        c.update(next_id + 5, &doc),
                        Err(Error::NotFound(_))
                    ));
                    continue;
                };
                let mut after = model.clone();
                after.insert(id, with_id(id, &doc));
                let result = c.update(id, &doc);
                if acceptable(&after, &indexes) {
                    result.unwrap();
                    model = after;
                } else {
                    prop_assert!(result.is_err());
                }
            }
            Op::Delete(pick) => {
                let Some(&id) = model.keys().nth(pick % model.len().max(1)) else {
                    prop_assert!(!c.delete(next_id).unwrap());
                    continue;
                };
                prop_assert!(c.delete(id).unwrap());
                model.remove(&id);
            }
            Op::CreateIndex(choice, unique) => {
                let paths = INDEX_CHOICES[choice];
                let parsed: Vec<quarry::paths::Path> =
                    paths.iter().map(|p| p.parse().unwrap()).collect();
                let existing = indexes.iter().find(|i| i.paths == parsed).cloned();
                let result = c.create_index_with(paths, unique);
                match existing {
                    Some(ex) if ex.unique == unique => prop_assert_eq!(result.unwrap(), ex.name),
                    Some(_) => prop_assert!(result.is_err()),
                    None => {
                        let candidate = ModelIndex {
                            name: String::new(),
                            paths: parsed,
                            unique,
                        };
                        let mut after = indexes.clone();
                        after.push(candidate);
                        if acceptable(&model, &after) {
                            let name = result.unwrap();
                            after.last_mut().unwrap().name = name;
                            indexes = after;
                        } else {
                            prop_assert!(result.is_err());
                        }
                    }
                }
            }
            Op::DropIndex(pick) => {
                if indexes.is_empty() {
                    prop_assert!(c.drop_index("nothing").is_err());
                    continue;
                }
                let index = indexes.remove(pick % indexes.len());
                c.drop_index(&index.name).unwrap();
            }
        }
        let stored: Vec<Value> = c.iter().map(|d| d.unwrap().1).collect();
        let expected: Vec<Value> = model.values().cloned().collect();
        prop_assert_eq!(stored, expected);
        prop_assert_eq!(c.len().unwrap(), model.len() as u64);
        let names: Vec<String> = c.indexes().unwrap().into_iter().map(|i| i.name).collect();
        let model_names: Vec<String> = indexes.iter().map(|i| i.name.clone()).collect();
        prop_assert_eq!(names, model_names);
        let report = db.check().unwrap();
        prop_assert!(report.is_clean(), "{:?}", report.problems);
    }
    db.flush().unwrap();
    drop(c);
    drop(db);
    let db = Db::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    let stored: Vec<Value> = c.iter().map(|d| d.unwrap().1).collect();
    prop_assert_eq!(stored, model.values().cloned().collect::<Vec<_>>());
    prop_assert!(db.check().unwrap().is_clean());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_the_model_after_every_step(ops in prop::collection::vec(op(), 1..40)) {
        run(ops)?;
    }
}
