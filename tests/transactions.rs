//! Transactions, as the README's Durability section states them: several writes across
//! collections become visible together at commit or not at all; reads inside see the
//! transaction's own writes; writers outside wait; readers outside see the state before until
//! the commit; what cannot be held in a transaction is refused with a clear error.

use quarry::{Db, Error, Options};
use serde_json::{Value as Json, json};

fn db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("t.db")).unwrap();
    (dir, db)
}

fn count(db: &Db, collection: &str) -> u64 {
    db.get_collection(collection)
        .map_or(0, |c| c.len().unwrap())
}

#[test]
fn a_commit_shows_every_write_at_once_and_lasts() {
    let (dir, db) = db();
    let inbox = db.collection("inbox").unwrap();
    inbox.create_index(&["subject"]).unwrap();
    let id = inbox.insert(&json!({"subject": "hello"})).unwrap();
    db.transaction(|tx| {
        let inbox = tx.collection("inbox")?;
        let archive = tx.collection("archive")?;
        let doc: Json = inbox.get(id)?.unwrap();
        assert!(inbox.delete(id)?);
        archive.insert(&doc)?;
        // Inside, the transaction's own writes are what it reads.
        assert_eq!((inbox.len()?, archive.len()?), (0, 1));
        assert_eq!(
            tx.execute("count from inbox where subject = 'hello'")?[0].to_string(),
            "0\n"
        );
        // Outside, nothing has happened yet.
        assert_eq!(count(&db, "inbox"), 1);
        assert!(db.get_collection("archive").is_none());
        Ok(())
    })
    .unwrap();
    assert_eq!((count(&db, "inbox"), count(&db, "archive")), (0, 1));
    assert!(db.check().unwrap().is_clean());
    drop((inbox, db));
    let db = Db::open(dir.path().join("t.db")).unwrap();
    assert_eq!((count(&db, "inbox"), count(&db, "archive")), (0, 1));
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn an_error_or_a_panic_leaves_the_store_as_it_was() {
    let (_dir, db) = db();
    db.execute("create unique index on people (name); insert into people {name: 'ada'}")
        .unwrap();
    let failed = db.transaction(|tx| {
        tx.execute("insert into people {name: 'bob'}; insert into log {event: 'bob'}")?;
        tx.execute("update people set name = 'eve' where name = 'ada'")?;
        Err::<(), _>(Error::Query("no".into()))
    });
    assert!(matches!(failed, Err(Error::Query(_))));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        db.transaction(|tx| {
            tx.collection("people")?.insert(&json!({"name": "carl"}))?;
            panic!("boom");
            #[allow(unreachable_code)]
            Ok(())
        })
    }));
    assert!(panicked.is_err());
    let names: Vec<Json> = db.query_as("select name from people").unwrap();
    assert_eq!(names, [json!({"name": "ada"})]);
    assert!(
        db.get_collection("log").is_none(),
        "a collection it created stays uncreated"
    );
    assert_eq!(db.collections(), ["people"]);
    assert!(db.check().unwrap().is_clean());
    // The store is free for the next writer.
    db.collection("people")
        .unwrap()
        .insert(&json!({"name": "dan"}))
        .unwrap();
}

#[test]
fn a_failing_statement_inside_keeps_the_rest_of_the_transaction() {
    let (_dir, db) = db();
    db.execute("create unique index on t (k); insert into t {k: 1}")
        .unwrap();
    db.transaction(|tx| {
        tx.execute("insert into t {k: 2}")?;
        let clash = tx.execute("insert into t [{k: 3}, {k: 1}]").unwrap_err();
        assert!(matches!(clash, Error::UniqueViolation { .. }), "{clash}");
        assert_eq!(tx.collection("t")?.len()?, 2);
        Ok(())
    })
    .unwrap();
    let ks: Vec<Json> = db.query_as("select k from t order by k").unwrap();
    assert_eq!(ks, [json!({"k": 1}), json!({"k": 2})]);
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn queries_inside_read_the_transactions_index_entries() {
    let (_dir, db) = db();
    db.execute(
        "create index on a (org, year); create index on a (tags);
         insert into a [{org: 'ICC', year: 2020, tags: ['x']}, {org: 'HRW', year: 2021}]",
    )
    .unwrap();
    let others: Vec<Json> = (0..200)
        .map(|i| json!({"org": format!("org{i}"), "year": 1900}))
        .collect();
    db.collection("a").unwrap().insert_many(others).unwrap();
    db.transaction(|tx| {
        tx.execute(
            "insert into a {org: 'ICC', year: 2022, tags: ['x', 'y']};
             update a set org = 'ICC' where org = 'HRW';
             delete from a where year = 2020",
        )?;
        let years: Vec<Json> = tx
            .query_as("select year from a where org = 'ICC' and year >= 2021 order by year desc")?;
        assert_eq!(years, [json!({"year": 2022}), json!({"year": 2021})]);
        assert_eq!(
            tx.execute("count from a where tags = 'x'")?[0].to_string(),
            "1\n"
        );
        let groups: Vec<Json> =
            tx.query_as("select org, count() as n from a where year > 2000 group by org")?;
        assert_eq!(groups, [json!({"org": "ICC", "n": 2})]);
        let top: Vec<Json> =
            tx.query_as("select org, count() as n from a group by org order by n desc limit 1")?;
        assert_eq!(top, [json!({"org": "ICC", "n": 2})]);
        let plan = tx.execute("explain count from a where org = 'ICC'")?[0].to_string();
        assert!(plan.contains("a_org_year"), "{plan}");
        Ok(())
    })
    .unwrap();
    let groups: Vec<Json> = db
        .query_as("select org, count() as n from a where year > 2000 group by org")
        .unwrap();
    assert_eq!(groups, [json!({"org": "ICC", "n": 2})]);
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn what_a_transaction_cannot_hold_is_refused() {
    let (_dir, db) = db();
    db.execute("insert into t {a: 1}; create index on t (a)")
        .unwrap();
    let tx = db.begin().unwrap();
    for statement in [
        "create index on t (b)",
        "drop index t_a",
        "drop collection t",
        "import 'x.csv' into t",
    ] {
        let err = tx.execute(statement).unwrap_err();
        assert!(
            err.to_string().contains("cannot run inside a transaction"),
            "{statement}: {err}"
        );
    }
    let nested = tx.execute("begin").unwrap_err();
    assert!(nested.to_string().contains("already open"), "{nested}");
    assert!(db.begin().unwrap_err().to_string().contains("already open"));
    // A write on this thread that goes around the transaction would wait for it forever.
    let around = db
        .collection("t")
        .unwrap()
        .insert(&json!({"a": 2}))
        .unwrap_err();
    assert!(
        around.to_string().contains("write through the transaction"),
        "{around}"
    );
    let handle = tx.collection("t").unwrap();
    tx.commit().unwrap();
    let stale = handle.insert(&json!({"a": 3})).unwrap_err();
    assert!(
        stale.to_string().contains("transaction that has ended"),
        "{stale}"
    );
    assert!(handle.len().is_err());
    assert_eq!(count(&db, "t"), 1);
}

#[test]
fn a_transaction_past_its_size_limit_fails_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        transaction_limit: 1 << 20,
        ..Default::default()
    };
    let db = Db::open_with(dir.path().join("t.db"), options).unwrap();
    let big = "x".repeat(100_000);
    let result = db.transaction(|tx| {
        let t = tx.collection("t")?;
        for _ in 0..5 {
            t.insert(&json!({ "text": big }))?;
        }
        let err = t
            .insert_many((0..10).map(|_| json!({ "text": big })))
            .unwrap_err();
        assert!(matches!(err, Error::Transaction(_)), "{err}");
        assert!(err.to_string().contains("too large"), "{err}");
        // The statement that went past the limit left nothing; the rest is intact.
        assert_eq!(t.len()?, 5);
        Err::<(), _>(err)
    });
    assert!(result.is_err());
    assert!(db.get_collection("t").is_none());
}

#[test]
fn writers_outside_wait_and_readers_outside_see_the_state_before() {
    let (_dir, db) = db();
    db.execute("insert into t {n: 1}").unwrap();
    let tx = db.begin().unwrap();
    tx.execute("insert into t {n: 2}").unwrap();
    let (started, waited) = std::sync::mpsc::channel();
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            started.send(()).unwrap();
            db.execute("insert into t {n: 3}").unwrap();
        })
    };
    waited.recv().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        !writer.is_finished(),
        "a writer went ahead of an open transaction"
    );
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || db.execute("count from t").unwrap()[0].to_string())
    };
    assert_eq!(reader.join().unwrap(), "1\n");
    tx.commit().unwrap();
    writer.join().unwrap();
    let ns: Vec<Json> = db.query_as("select n from t order by _id").unwrap();
    assert_eq!(ns, [json!({"n": 1}), json!({"n": 2}), json!({"n": 3})]);
}

#[test]
fn statements_begin_commit_and_roll_back() {
    let (_dir, db) = db();
    let mut session = quarry::query::Session::new(db.clone());
    session
        .execute("begin; insert into a {x: 1}; insert into b {x: 2}")
        .unwrap();
    assert!(session.in_transaction());
    assert!(db.get_collection("a").is_none());
    let out = session.execute("commit").unwrap();
    assert_eq!(out[0].to_string(), "committed\n");
    assert_eq!((count(&db, "a"), count(&db, "b")), (1, 1));
    session
        .execute("begin; delete from a all; rollback")
        .unwrap();
    assert_eq!(count(&db, "a"), 1);
    for (statement, expected) in [
        ("commit", "`commit` with no transaction open"),
        ("rollback", "`rollback` with no transaction open"),
        (
            "explain begin",
            "`explain` shows how a statement reads or writes",
        ),
    ] {
        let err = session.execute(statement).unwrap_err();
        assert!(err.to_string().contains(expected), "{statement}: {err}");
    }
    session.execute("begin").unwrap();
    let nested = session.execute("begin").unwrap_err();
    assert!(nested.to_string().contains("already open"), "{nested}");
    assert!(
        session.in_transaction(),
        "a failed begin leaves the open transaction open"
    );
    session.execute("insert into a {x: 3}").unwrap();
    drop(session);
    assert_eq!(
        count(&db, "a"),
        1,
        "a session dropped with a transaction open rolls it back"
    );
}

/// Movers shift documents between two collections in transactions while readers count both
/// in transactions of their own: every count sees the same total, never a document in both
/// or in neither.
#[test]
fn readers_in_transactions_never_see_half_a_move() {
    const TOTAL: u64 = 200;
    let (_dir, db) = db();
    db.execute("create index on left (n); create index on right (n)")
        .unwrap();
    db.collection("left")
        .unwrap()
        .insert_many((0..TOTAL).map(|n| json!({ "n": n })))
        .unwrap();
    db.collection("right").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let movers: Vec<_> = (0..2u64)
        .map(|m| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..150u64 {
                    let n = (i * 7 + m * 13) % TOTAL;
                    db.transaction(|tx| {
                        let (from, to) = match tx
                            .query_as::<Json>(&format!("from left where n = {n}"))?
                            .len()
                        {
                            1 => ("left", "right"),
                            _ => ("right", "left"),
                        };
                        let doc: Vec<Json> = tx.query_as(&format!("from {from} where n = {n}"))?;
                        tx.collection(from)?
                            .delete(doc[0]["_id"].as_u64().unwrap())?;
                        tx.collection(to)?.insert(&doc[0])?;
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> =
        (0..2)
            .map(|r| {
                let db = db.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
                        let total = db
                            .transaction(|tx| {
                                if r == 0 {
                                    Ok(tx.collection("left")?.len()?
                                        + tx.collection("right")?.len()?)
                                } else {
                                    let count = |c: &str| -> quarry::Result<u64> {
                                        Ok(tx.execute(&format!("count from {c} where n >= 0"))?[0]
                                            .to_string()
                                            .trim()
                                            .parse()
                                            .unwrap())
                                    };
                                    Ok(count("left")? + count("right")?)
                                }
                            })
                            .unwrap();
                        assert_eq!(total, TOTAL, "a reader saw part of a move");
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
    for mover in movers {
        mover.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    assert_eq!(count(&db, "left") + count(&db, "right"), TOTAL);
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn an_empty_or_inverted_range_reads_nothing_inside_as_outside() {
    let (_dir, db) = db();
    db.execute("create index on t (k); create index on t (a, b); insert into t {k: 1, a: 1, b: 1}")
        .unwrap();
    let queries = [
        "count from t where k > 5 and k < 3",
        "count from t where k > 3 and k < 3",
        "count from t where k >= 3 and k <= 2",
        "count from t where a = 1 and b > 9 and b < 2",
        "count from t where k > 0",
    ];
    let outside: Vec<String> = queries
        .iter()
        .map(|q| db.execute(q).unwrap()[0].to_string())
        .collect();
    db.transaction(|tx| {
        tx.execute("insert into t {k: 3, a: 1, b: 3}")?;
        for (query, before) in queries.iter().zip(&outside) {
            let inside = tx.execute(query)?[0].to_string();
            let expected = if query.ends_with("k > 0") {
                "2\n"
            } else {
                before.as_str()
            };
            assert_eq!(inside, expected, "{query}");
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn rewriting_the_same_document_counts_once_against_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        transaction_limit: 64 << 10,
        ..Default::default()
    };
    let db = Db::open_with(dir.path().join("t.db"), options).unwrap();
    let id = db
        .collection("t")
        .unwrap()
        .insert(&json!({"n": 0}))
        .unwrap();
    db.transaction(|tx| {
        let t = tx.collection("t")?;
        for n in 0..2000 {
            t.update(id, &json!({ "n": n, "text": "x".repeat(1000) }))?;
        }
        Ok(())
    })
    .unwrap();
    let err = db
        .transaction(|tx| {
            tx.collection("t")?
                .insert_many((0..100).map(|_| json!({ "text": "x".repeat(1000) })))
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("over the limit of 64.0 KiB"),
        "{err}"
    );
}

#[test]
fn handles_and_rows_of_an_ended_transaction_say_so() {
    let (_dir, db) = db();
    db.execute("insert into t {a: 1}").unwrap();
    let tx = db.begin().unwrap();
    tx.execute("insert into t {a: 2}").unwrap();
    let inside = tx.db().clone();
    let rows = tx.query("from t").unwrap();
    let handle = tx.collection("t").unwrap();
    let commit = tx.execute("commit").unwrap_err();
    assert!(
        commit
            .to_string()
            .contains("cannot end a transaction opened from Rust"),
        "{commit}"
    );
    tx.rollback().unwrap();
    let ended = |e: quarry::Error| {
        assert!(e.to_string().contains("has ended"), "{e}");
    };
    ended(inside.execute("count from t").unwrap_err());
    ended(inside.begin().unwrap_err());
    ended(handle.len().unwrap_err());
    assert!(handle.iter().any(|d| d.is_err()));
    let read: Vec<_> = rows.collect();
    assert!(
        read.iter().any(Result::is_err),
        "rows of a rolled-back transaction were read: {read:?}"
    );
    assert_eq!(count(&db, "t"), 1);
}

#[test]
fn a_thread_with_an_open_bulk_load_cannot_begin_a_transaction() {
    let (_dir, db) = db();
    let t = db.collection("t").unwrap();
    let load = t.bulk_load().unwrap();
    let err = db.begin().unwrap_err();
    assert!(
        err.to_string()
            .contains("finish it before beginning a transaction"),
        "{err}"
    );
    load.rollback().unwrap();
    db.begin().unwrap().commit().unwrap();
}

#[test]
fn dropping_a_collection_waits_for_a_transaction_without_holding_the_catalog() {
    let (_dir, db) = db();
    db.execute("insert into x {a: 1}; insert into y {a: 1}")
        .unwrap();
    let tx = db.begin().unwrap();
    let dropper = {
        let db = db.clone();
        std::thread::spawn(move || db.drop_collection("x").unwrap())
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    // On the transaction's own thread, a drop around it is refused at once (no deadlock).
    let err = db.drop_collection("y").unwrap_err();
    assert!(
        err.to_string().contains("write through the transaction"),
        "{err}"
    );
    tx.commit().unwrap();
    assert!(dropper.join().unwrap());
    assert_eq!(db.collections(), ["y"]);
}

#[test]
fn a_script_read_inside_an_open_transaction_leaves_it_open() {
    let (dir, db) = db();
    let script = dir.path().join("more.qry");
    std::fs::write(&script, "insert into t {a: 2}\n").unwrap();
    let mut session = quarry::query::Session::new(db.clone());
    session.execute("begin; insert into t {a: 1}").unwrap();
    let mut runner = quarry::script::Runner::checking(&mut session);
    runner.run_file(&script).unwrap();
    assert!(session.in_transaction());
    session.execute("commit").unwrap();
    assert_eq!(count(&db, "t"), 2);
}

/// While transactions move documents between two collections, each as a pair (the document
/// and its shadow, both indexed), a reader outside any transaction counts each collection (from
/// its index keys or by reading its documents, as the planner picks while the sizes change) and
/// groups it: it always sees whole pairs, so a commit lands whole in each collection.
#[test]
fn readers_outside_count_whole_commits() {
    const TOTAL: i64 = 100;
    let (_dir, db) = db();
    db.execute("create index on left (n); create index on right (n)")
        .unwrap();
    db.collection("left")
        .unwrap()
        .insert_many(
            (0..TOTAL).flat_map(|n| [json!({ "n": n }), json!({ "n": n, "shadow": true })]),
        )
        .unwrap();
    db.collection("right").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let db = db.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
                for side in ["left", "right"] {
                    let out = db
                        .execute(&format!("count from {side} where n >= 0"))
                        .unwrap();
                    let n: u64 = out[0].to_string().trim().parse().unwrap();
                    assert_eq!(
                        n % 2,
                        0,
                        "{side}: a reader saw part of a commit ({n} entries)"
                    );
                    // Groups read from the documents: each pair whole in its group.
                    let groups: Vec<Json> = db
                        .query_as(&format!(
                            "select n, count() as c, count(shadow) as s from {side} group by n"
                        ))
                        .unwrap();
                    for group in &groups {
                        assert_eq!(
                            (&group["c"], &group["s"]),
                            (&json!(2), &json!(1)),
                            "{side}: a group saw part of a commit: {group}"
                        );
                    }
                }
                reads += 1;
            }
            reads
        })
    };
    for i in 0..150i64 {
        let n = (i * 37) % TOTAL;
        db.transaction(|tx| {
            let found: Vec<Json> = tx.query_as(&format!("from left where n = {n}"))?;
            let (from, to) = if found.is_empty() {
                ("right", "left")
            } else {
                ("left", "right")
            };
            let pair: Vec<Json> = tx.query_as(&format!("from {from} where n = {n}"))?;
            assert_eq!(pair.len(), 2);
            for doc in &pair {
                tx.collection(from)?.delete(doc["_id"].as_u64().unwrap())?;
                tx.collection(to)?.insert(doc)?;
            }
            Ok(())
        })
        .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(count(&db, "left") + count(&db, "right"), 2 * TOTAL as u64);
}
