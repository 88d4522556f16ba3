//! Model test for transactions: random transactions over several collections (inserts,
//! updates, deletes, moves between collections, statements, unique clashes), ended by commit,
//! rollback, an error or a panic, checked against an in-memory model inside (reads see the
//! transaction's writes) and after each end (all of it or none of it), with `check()` clean
//! throughout and after reopening.

use std::collections::BTreeMap;

use proptest::prelude::*;
use quarry::{Db, Error};
use serde_json::{Value as Json, json};

/// `d` does not exist until a transaction that writes to it commits.
const COLLECTIONS: &[&str] = &["a", "b", "c", "d"];

/// `k` is indexed in `a` and `c`; `u` is unique in `a` (missing is exempt).
fn document() -> impl Strategy<Value = Json> {
    (0i64..4, prop::option::of(0i64..3), 0i64..100).prop_map(|(k, u, v)| match u {
        Some(u) => json!({"k": k, "u": u, "v": v}),
        None => json!({"k": k, "v": v}),
    })
}

#[derive(Clone, Debug)]
enum Op {
    Insert(usize, Json),
    Update(usize, usize, Json),
    Delete(usize, usize),
    /// Moves a document (picked by position) from one collection to another.
    Move(usize, usize, usize),
    /// `update C set v = v + 1 where k = K`
    Bump(usize, i64),
    /// `delete from C where k = K`
    DeleteWhere(usize, i64),
}

#[derive(Clone, Copy, Debug)]
enum End {
    Commit,
    Rollback,
    Error,
    Panic,
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..COLLECTIONS.len();
    // Statements name collections that exist: `a`, `b`, `c`.
    prop_oneof![
        4 => (c.clone(), document()).prop_map(|(c, d)| Op::Insert(c, d)),
        2 => (c.clone(), any::<usize>(), document()).prop_map(|(c, i, d)| Op::Update(c, i, d)),
        2 => (c.clone(), any::<usize>()).prop_map(|(c, i)| Op::Delete(c, i)),
        2 => (c.clone(), c.clone(), any::<usize>()).prop_map(|(f, t, i)| Op::Move(f, t, i)),
        1 => (0..3usize, 0i64..4).prop_map(|(c, k)| Op::Bump(c, k)),
        1 => (0..3usize, 0i64..4).prop_map(|(c, k)| Op::DeleteWhere(c, k)),
    ]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        4 => Just(End::Commit),
        1 => Just(End::Rollback),
        1 => Just(End::Error),
        1 => Just(End::Panic),
    ]
}

/// Each collection's documents by id (without `_id`) and its next id.
#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    docs: BTreeMap<&'static str, BTreeMap<u64, Json>>,
    next: BTreeMap<&'static str, u64>,
}

impl Model {
    fn pick(&self, c: usize, i: usize) -> Option<u64> {
        let docs = self.docs.get(COLLECTIONS[c])?;
        docs.keys().nth(i % docs.len().max(1)).copied()
    }

    /// Whether `doc` may go into collection `c` beside the others (not `except`).
    fn fits(&self, c: usize, doc: &Json, except: Option<u64>) -> bool {
        if COLLECTIONS[c] != "a" || doc.get("u").is_none() {
            return true;
        }
        let docs = self.docs.get("a");
        !docs.is_some_and(|d| {
            d.iter()
                .any(|(id, other)| Some(*id) != except && other.get("u") == doc.get("u"))
        })
    }

    fn insert(&mut self, c: usize, doc: Json) -> u64 {
        let name = COLLECTIONS[c];
        let next = self.next.entry(name).or_insert(1);
        let id = *next;
        *next += 1;
        self.docs.entry(name).or_default().insert(id, doc);
        id
    }
}

fn with_id(id: u64, doc: &Json) -> Json {
    let mut out = serde_json::Map::new();
    out.insert("_id".into(), json!(id));
    out.extend(doc.as_object().unwrap().clone());
    Json::Object(out)
}

/// Runs `op` in the transaction and on the model; a write the store refuses (a unique
/// clash) must be one the model refuses too, and then changes neither.
fn apply(tx: &quarry::Transaction, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let clash = |r: Result<(), Error>, expected: bool| -> Result<(), TestCaseError> {
        match r {
            Ok(()) => prop_assert!(!expected, "the store took a clash: {op:?}"),
            Err(Error::UniqueViolation { .. }) => {
                prop_assert!(
                    expected,
                    "the store refused a write the model takes: {op:?}"
                )
            }
            Err(e) => return Err(TestCaseError::fail(format!("{op:?}: {e}"))),
        }
        Ok(())
    };
    let collection = |c: usize| tx.collection(COLLECTIONS[c]).unwrap();
    match op {
        Op::Insert(c, doc) => {
            let fits = model.fits(*c, doc, None);
            let result = collection(*c).insert(doc).map(|id| {
                if fits {
                    assert_eq!(id, model.insert(*c, doc.clone()));
                }
            });
            clash(result, !fits)?;
        }
        Op::Update(c, i, doc) => {
            let Some(id) = model.pick(*c, *i) else {
                return Ok(());
            };
            let fits = model.fits(*c, doc, Some(id));
            clash(collection(*c).update(id, doc), !fits)?;
            if fits {
                model
                    .docs
                    .get_mut(COLLECTIONS[*c])
                    .unwrap()
                    .insert(id, doc.clone());
            }
        }
        Op::Delete(c, i) => {
            let Some(id) = model.pick(*c, *i) else {
                return Ok(());
            };
            prop_assert!(collection(*c).delete(id).unwrap());
            model.docs.get_mut(COLLECTIONS[*c]).unwrap().remove(&id);
        }
        Op::Move(from, to, i) => {
            let Some(id) = model.pick(*from, *i) else {
                return Ok(());
            };
            let source = collection(*from);
            let doc: Json = source.get(id).unwrap().unwrap();
            let mut doc = doc.as_object().unwrap().clone();
            doc.remove("_id");
            let doc = Json::Object(doc);
            prop_assert_eq!(&doc, &model.docs[COLLECTIONS[*from]][&id]);
            source.delete(id).unwrap();
            model.docs.get_mut(COLLECTIONS[*from]).unwrap().remove(&id);
            let fits = model.fits(*to, &doc, None);
            let result = collection(*to).insert(&doc).map(|new| {
                if fits {
                    assert_eq!(new, model.insert(*to, doc.clone()));
                }
            });
            clash(result, !fits)?;
            if !fits {
                // Back where it came from (its value there is free again), as a program would.
                let back = collection(*from).insert(&doc).unwrap();
                prop_assert_eq!(back, model.insert(*from, doc));
            }
        }
        Op::Bump(c, k) => {
            let name = COLLECTIONS[*c];
            tx.execute(&format!("update {name} set v = v + 1 where k = {k}"))
                .unwrap();
            for doc in model.docs.entry(name).or_default().values_mut() {
                if doc["k"] == json!(k) {
                    doc["v"] = json!(doc["v"].as_i64().unwrap() + 1);
                }
            }
        }
        Op::DeleteWhere(c, k) => {
            let name = COLLECTIONS[*c];
            tx.execute(&format!("delete from {name} where k = {k}"))
                .unwrap();
            model
                .docs
                .entry(name)
                .or_default()
                .retain(|_, doc| doc["k"] != json!(k));
        }
    }
    Ok(())
}

/// What `db` (or a transaction's database) holds must be what `model` holds: every document,
/// and what an indexed query returns.
fn same(db: &Db, model: &Model, when: &str) -> Result<(), TestCaseError> {
    for name in COLLECTIONS {
        let expected = model.docs.get(name).cloned().unwrap_or_default();
        let Some(collection) = db.get_collection(name) else {
            prop_assert!(expected.is_empty(), "{when}: {name} is missing");
            continue;
        };
        prop_assert_eq!(
            collection.len().unwrap(),
            expected.len() as u64,
            "{}: len of {}",
            when,
            name
        );
        let stored: Vec<Json> = collection
            .iter()
            .map(|r| serde_json::to_value(r.unwrap().1).unwrap())
            .collect();
        let wanted: Vec<Json> = expected.iter().map(|(id, d)| with_id(*id, d)).collect();
        prop_assert_eq!(&stored, &wanted, "{}: documents of {}", when, name);
        // An empty range, and a range on the index, read through staged writes.
        let empty = db
            .execute(&format!("count from {name} where k > 2 and k < 1"))
            .unwrap();
        prop_assert_eq!(empty[0].to_string(), "0\n");
        let above = db
            .execute(&format!("count from {name} where k >= 2"))
            .unwrap();
        let wanted = expected
            .values()
            .filter(|d| d["k"].as_i64() >= Some(2))
            .count();
        prop_assert_eq!(
            above[0].to_string(),
            format!("{wanted}\n"),
            "{}: k >= 2 in {}",
            when,
            name
        );
        for k in 0..4 {
            let found: Vec<Json> = db
                .query_as(&format!("from {name} where k = {k} order by v desc"))
                .unwrap();
            let mut wanted: Vec<Json> = expected
                .iter()
                .filter(|(_, d)| d["k"] == json!(k))
                .map(|(id, d)| with_id(*id, d))
                .collect();
            // Ties in `_id` order, in the direction of the last key.
            wanted.sort_by_key(|d| std::cmp::Reverse((d["v"].as_i64(), d["_id"].as_u64())));
            prop_assert_eq!(found, wanted, "{}: {} where k = {}", when, name, k);
        }
    }
    Ok(())
}

fn run(transactions: Vec<(Vec<Op>, End)>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let db = Db::open(&path).unwrap();
    db.execute("create index on a (k); create unique index on a (u); create index on c (k)")
        .unwrap();
    db.collection("b").unwrap();
    let mut model = Model::default();
    for (i, (ops, ending)) in transactions.iter().enumerate() {
        let mut inside = model.clone();
        // The transaction's work: every op, each followed by a look at what it reads.
        let work = |tx: &quarry::Transaction, inside: &mut Model| -> Result<(), Error> {
            for op in ops {
                let checked = apply(tx, inside, op)
                    .and_then(|()| same(tx.db(), inside, &format!("inside, after {op:?}")));
                checked.map_err(|e| Error::Storage(format!("model: {e}")))?;
            }
            Ok(())
        };
        let outcome = match ending {
            End::Commit => db.transaction(|tx| work(tx, &mut inside)),
            End::Rollback => {
                let tx = db.begin().unwrap();
                let worked = work(&tx, &mut inside);
                tx.rollback().unwrap();
                worked
            }
            End::Error => match db.transaction(|tx| {
                work(tx, &mut inside)?;
                Err::<(), _>(Error::Query("the work failed".into()))
            }) {
                Err(Error::Query(_)) => Ok(()),
                other => other,
            },
            End::Panic => {
                let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    db.transaction(|tx| {
                        work(tx, &mut inside)?;
                        panic!("the work panicked")
                    })
                }));
                match panicked {
                    Err(_) => Ok(()),
                    Ok(result) => result.map(|_: ()| ()),
                }
            }
        };
        if let Err(e) = outcome {
            return Err(TestCaseError::fail(format!(
                "transaction {i} ({ending:?}): {e}"
            )));
        }
        if let End::Commit = ending {
            model = inside;
        }
        // Between transactions, a write of its own (one statement, atomic by itself).
        db.collection("b")
            .unwrap()
            .insert(&json!({"k": 9, "v": i}))
            .unwrap();
        model.insert(1, json!({"k": 9, "v": i}));
        same(&db, &model, &format!("after transaction {i} ({ending:?})"))?;
        let report = db.check().unwrap();
        prop_assert!(report.is_clean(), "{:?}", report.problems);
    }
    drop(db);
    let db = Db::open(&path).unwrap();
    same(&db, &model, "after reopening")?;
    prop_assert!(db.check().unwrap().is_clean());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn transactions_match_the_model(
        transactions in prop::collection::vec((prop::collection::vec(op(), 0..12), end()), 1..8)
    ) {
        run(transactions)?;
    }
}
