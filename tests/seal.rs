//! The seal beside a store (`quarry.seal`), which lets an open notice a store that came back
//! older than a flush acknowledged: it never raises a false alarm in normal use (flushes and
//! transactions from many threads, flushes racing a drop, a drop whose seal cannot be
//! rewritten), and a loss it found stays the same loss at every open until `repair`.

use std::path::{Path, PathBuf};

use quarry::Db;
use serde_json::json;

/// A store holding one document in collection `c`, flushed (its folder, and the store's path).
fn one_document() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let db = Db::open(&path).unwrap();
    db.collection("c")
        .unwrap()
        .insert(&json!({"a": 1}))
        .unwrap();
    db.flush().unwrap();
    (dir, path)
}

fn seal(path: &Path) -> String {
    std::fs::read_to_string(path.join("quarry.seal")).unwrap_or_default()
}

/// Flushes and transactions from four threads at once all succeed, and the store reopens
/// without a warning.
#[test]
fn concurrent_flushes_and_commits_succeed_and_leave_no_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let db = Db::open(&path).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let db = db.clone();
            s.spawn(move || {
                let c = db.collection(&format!("c{t}")).unwrap();
                for i in 0..100 {
                    c.insert(&json!({ "i": i })).unwrap();
                    db.flush().unwrap();
                    db.transaction(|tx| {
                        tx.collection("shared")?
                            .insert(&json!({ "t": t, "i": i }))?;
                        Ok(())
                    })
                    .unwrap();
                }
            });
        }
    });
    assert_eq!(db.collection("shared").unwrap().len().unwrap(), 400);
    drop(db);
    let db = Db::open(&path).unwrap();
    assert!(db.warnings().is_empty(), "{:?}", db.warnings());
    assert!(db.check().unwrap().is_clean());
}

/// A flush racing `drop_collection` never leaves the dropped collection in the seal.
#[test]
fn a_flush_racing_a_drop_never_seals_the_dropped_collection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let db = Db::open(&path).unwrap();
    db.collection("keep")
        .unwrap()
        .insert(&json!({"a": 1}))
        .unwrap();
    for round in 0..60 {
        db.collection("x")
            .unwrap()
            .insert(&json!({"a": 1}))
            .unwrap();
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                barrier.wait();
                db.flush().unwrap();
            });
            barrier.wait();
            std::thread::sleep(std::time::Duration::from_micros(200 * (round % 10)));
            assert!(db.drop_collection("x").unwrap());
        });
        assert!(
            !seal(&path).lines().any(|l| l.ends_with(" x")),
            "round {round}: {}",
            seal(&path)
        );
    }
    drop(db);
    let db = Db::open(&path).unwrap();
    assert!(db.warnings().is_empty(), "{:?}", db.warnings());
}

/// When the seal cannot be rewritten, `drop_collection` fails before it drops anything: the
/// seal never names a collection that is gone.
#[test]
fn a_drop_whose_seal_cannot_be_rewritten_drops_nothing() {
    let (_dir, path) = one_document();
    {
        let db = Db::open(&path).unwrap();
        // The seal is written beside, then renamed: a folder in the way makes that fail.
        std::fs::create_dir(path.join("quarry.seal.new")).unwrap();
        assert!(db.drop_collection("c").is_err());
        std::fs::remove_dir(path.join("quarry.seal.new")).unwrap();
        assert_eq!(db.collections(), ["c"]);
    }
    let db = Db::open(&path).unwrap();
    assert!(db.warnings().is_empty(), "{:?}", db.warnings());
    assert_eq!(db.collection("c").unwrap().len().unwrap(), 1);
}

/// A collection the seal names but the store lost is one loss, the same at every open (and
/// flush) until `repair` accepts it.
#[test]
fn a_lost_collection_stays_one_loss_until_repair() {
    let (_dir, path) = one_document();
    let mut text = seal(&path);
    text.push_str("99 5 0 ghost\n");
    std::fs::write(path.join("quarry.seal"), text).unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let db = Db::open(&path).unwrap();
        seen.push(db.warnings());
        db.flush().unwrap();
    }
    assert_eq!(seen[0].len(), 1, "{seen:?}");
    assert!(seen[0][0].contains("collection `ghost`"), "{seen:?}");
    assert!(
        seen[0][0].contains("5 of its writes are missing"),
        "{seen:?}"
    );
    assert!(seen.iter().all(|w| *w == seen[0]), "{seen:?}");
    let db = Db::open(&path).unwrap();
    assert!(db.repair().unwrap().is_clean());
    drop(db);
    assert!(Db::open(&path).unwrap().warnings().is_empty());
}

/// A seal that cannot be read (a torn write) is said, not refused: the store opens, the
/// warning and `check` say whether it came back whole cannot be told, and `repair` (or any
/// flush) writes a new seal.
#[test]
fn an_unreadable_seal_is_said_and_replaced() {
    let (_dir, path) = one_document();
    std::fs::write(path.join("quarry.seal"), "quarry seal 1\n1 x").unwrap();
    let db = Db::open(&path).unwrap();
    assert_eq!(db.warnings().len(), 1, "{:?}", db.warnings());
    assert!(
        db.warnings()[0].contains("cannot be told"),
        "{:?}",
        db.warnings()
    );
    assert!(!db.check().unwrap().is_clean());
    assert!(db.repair().unwrap().is_clean());
    drop(db);
    assert!(Db::open(&path).unwrap().warnings().is_empty());
}
