//! Many readers and a writer on one `Db`: readers never see a document twice, never see one
//! that does not match their condition, and counts taken from index keys always see whole
//! batches; `count by` during a bulk load sees what the load has written. A second process (here: a second open) is refused with the locked error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use quarry::query::Output;
use quarry::{Db, Value};
use serde_json::json;

/// Per group: more than the planner counts when estimating (2,000), so scans read on past
/// the entries the planner read.
const DOCS: u64 = 2500;

/// A document of the test, as a typed reader sees it.
#[derive(Debug, serde::Deserialize)]
struct Row {
    _id: u64,
    g: i64,
    n: i64,
    twice: i64,
}

#[test]
fn readers_see_whole_writes_while_a_writer_moves_documents() {
    let db = Db::temporary().unwrap();
    db.execute("create index on t (g); create index on t (g, n)")
        .unwrap();
    let docs: Vec<serde_json::Value> = (0..DOCS)
        .map(|n| json!({"g": 1, "n": n, "twice": n * 2}))
        .collect();
    db.collection("t").unwrap().insert_many(docs).unwrap();
    // Many documents outside both groups, so the planner reads the groups through the index.
    let others: Vec<serde_json::Value> = (0..10 * DOCS)
        .map(|n| json!({"g": 0, "n": n, "twice": n * 2}))
        .collect();
    db.collection("t").unwrap().insert_many(others).unwrap();
    let plan = db
        .execute("explain count from t where g in [1, 2]")
        .unwrap()[0]
        .to_string();
    assert!(plan.contains("Count index keys"), "{plan}");
    let stop = Arc::new(AtomicBool::new(false));

    let writer = {
        let db = db.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (from, to) = if round.is_multiple_of(2) {
                    (1, 2)
                } else {
                    (2, 1)
                };
                // Moves every document from one group to the other in one statement: one
                // batch of 2 * DOCS index changes that readers must see whole or not at all.
                db.execute(&format!("update t set g = {to} where g = {from}"))
                    .unwrap();
                round += 1;
            }
            round
        })
    };

    let readers: Vec<_> = (0..3)
        .map(|r| {
            let db = db.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Key-only count over both groups: every document exactly once.
                    match db
                        .execute("count from t where g in [1, 2]")
                        .unwrap()
                        .remove(0)
                    {
                        Output::Count(n) => assert_eq!(n, DOCS, "a count saw half a batch"),
                        other => panic!("{other:?}"),
                    }
                    // Rows through an index: no duplicates, each matching, each whole. (2,500
                    // of them: a second thread reads them ahead, see `Options::read_ahead`.)
                    let g = 1 + (checks + r) % 2;
                    let rows: Vec<Value> = db
                        .query(&format!("from t where g = {g}"))
                        .unwrap()
                        .map(Result::unwrap)
                        .collect();
                    let mut ids: Vec<i64> = rows
                        .iter()
                        .map(|d| d.get("_id").and_then(Value::as_i64).unwrap())
                        .collect();
                    for row in &rows {
                        assert_eq!(
                            row.get("g").and_then(Value::as_i64),
                            Some(g as i64),
                            "{row}"
                        );
                        let n = row.get("n").and_then(Value::as_i64).unwrap();
                        assert_eq!(
                            row.get("twice").and_then(Value::as_i64),
                            Some(n * 2),
                            "{row}"
                        );
                    }
                    let before = ids.len();
                    ids.sort_unstable();
                    ids.dedup();
                    assert_eq!(ids.len(), before, "a document was returned twice");
                    // Typed rows, read straight from the stored bytes: the same guarantees.
                    let typed: Vec<Row> = db.query_as(&format!("from t where g = {g}")).unwrap();
                    for row in &typed {
                        assert_eq!((row.g, row.twice), (g as i64, row.n * 2), "{row:?}");
                    }
                    let mut typed_ids: Vec<u64> = typed.iter().map(|row| row._id).collect();
                    typed_ids.sort_unstable();
                    typed_ids.dedup();
                    assert_eq!(typed_ids.len(), typed.len(), "a typed row came twice");
                    checks += 1;
                }
                checks
            })
        })
        .collect();

    std::thread::sleep(std::time::Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let rounds = writer.join().unwrap();
    let checks: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(rounds > 0 && checks > 0);
    assert!(db.check().unwrap().is_clean());
}

/// The per-value counts of `t`'s index on `n`, by value.
fn counts_by_n(db: &Db) -> Vec<(i64, u64)> {
    match db.execute("count from t by n").unwrap().remove(0) {
        Output::Groups(groups) => {
            let mut counts: Vec<(i64, u64)> = groups
                .iter()
                .map(|g| {
                    let n = g.get("n").and_then(Value::as_i64).unwrap();
                    let count = g.get("count").and_then(Value::as_i64).unwrap();
                    (n, count as u64)
                })
                .collect();
            counts.sort_unstable();
            counts
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn count_by_during_a_load_sees_what_the_load_has_written_and_the_counts_agree_after_it() {
    const LOADED: i64 = 5500;
    let db = Db::temporary().unwrap();
    db.execute("create index on t (n)").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                let t = db.collection("t").unwrap();
                let mut seen_during = 0;
                while !stop.load(Ordering::Relaxed) {
                    // The document count is published after each batch lands, so it never
                    // runs ahead of the entries a later `count by` counts.
                    let before = t.len().unwrap();
                    let counts = counts_by_n(&db);
                    let total: u64 = counts.iter().map(|(_, c)| c).sum();
                    assert!(before <= total, "{before} documents, counts {counts:?}");
                    // The load writes n = 0, 1, 2, 3, 4, 0, ... in order: whatever part of it
                    // is in, the counts are those of a prefix of that sequence.
                    for (i, (n, count)) in counts.iter().enumerate() {
                        assert_eq!(*n, i as i64, "{counts:?}");
                        let expected = (total + 4 - i as u64) / 5;
                        assert_eq!(*count, expected, "{counts:?}");
                    }
                    seen_during += usize::from(total > 0 && total < LOADED as u64);
                }
                seen_during
            })
        })
        .collect();
    let t = db.collection("t").unwrap();
    let mut load = t.bulk_load().unwrap();
    for i in 0..LOADED {
        load.insert(Value::try_from(json!({ "n": i % 5 })).unwrap())
            .unwrap();
        if i % 500 == 0 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    load.commit().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    let seen_during: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(seen_during > 0, "no reader ran while the load was half in");
    assert_eq!(
        counts_by_n(&db),
        (0..5).map(|n| (n, 1100)).collect::<Vec<_>>()
    );
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[test]
fn a_second_opener_is_told_the_database_is_locked_and_can_retry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let first = Db::open(&path).unwrap();
    let quick = quarry::Options {
        lock_wait: std::time::Duration::from_millis(50),
        ..Default::default()
    };
    let err = Db::open_with(&path, quick.clone()).unwrap_err();
    assert!(matches!(err, quarry::Error::Locked { .. }), "{err:?}");
    drop(first);
    // Once the holder is gone, a retry succeeds (the default wait covers sled's release).
    Db::open(&path).unwrap();
}
