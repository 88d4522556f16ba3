//! Crash safety: a child process writes in a loop (inserts, updates, deletes, all-or-nothing
//! bulk loads) while the parent kills it with SIGKILL at random moments. After every kill the
//! database opens, `check` finds no problem, every write acknowledged after a flush is there,
//! and every bulk load is either entirely present or entirely absent.
//!
//! `QUARRY_CRASH_KILLS` sets the number of kills (default 50; thousands for a long run).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use quarry::{Db, Value};
use serde_json::json;

/// More than one import batch (1,000 documents), so kills land between a load's batches, while
/// it holds back its per-value counts.
const LOAD_SIZE: u64 = 1200;

/// A small deterministic generator (no dependency needed for this).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The child: writes until killed, appending to the ack file what is durable after each flush:
/// `keep ID` (a document never changed again) and `load TAG` (a committed bulk load).
#[test]
#[ignore = "run by crash_kills_never_lose_acknowledged_writes as a child process"]
fn crash_child() {
    let Ok(dir) = std::env::var("QUARRY_CRASH_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    let db = Db::open(dir.join("db")).unwrap();
    let c = db.collection("c").unwrap();
    c.create_index(&["k"]).unwrap();
    c.create_index(&["tags"]).unwrap();
    c.create_unique_index(&["u"]).unwrap();
    c.create_text_index(&["body", "tags"], quarry::text::Language::English)
        .unwrap();
    let mut ack = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join("ack"))
        .unwrap();
    let seed = std::process::id() as u64 * 2654435761 + 1;
    let mut rng = Rng(seed);
    let mut pending: Vec<String> = Vec::new();
    let mut mutable: Vec<u64> = Vec::new();
    for i in 0u64.. {
        match rng.below(10) {
            0..=3 => {
                let id = c.insert(&json!({"k": i % 7, "u": format!("keep-{seed}-{i}"), "tags": [i % 3, i % 5], "kind": "keep", "body": format!("coral reef {} of {}", i % 13, i % 5)})).unwrap();
                pending.push(format!("keep {id}"));
            }
            4..=5 => {
                let id = c
                    .insert(&json!({"k": i % 7, "u": format!("m-{seed}-{i}"), "kind": "mutable", "body": format!("lagoon {}", i % 9)}))
                    .unwrap();
                mutable.push(id);
            }
            6 if !mutable.is_empty() => {
                let id = mutable[rng.below(mutable.len() as u64) as usize];
                c.update(id, &json!({"k": rng.below(7), "u": format!("m2-{seed}-{i}"), "tags": [i], "kind": "mutable", "body": format!("reefs bleach {}", i % 4)})).unwrap();
            }
            7 if !mutable.is_empty() => {
                let id = mutable.swap_remove(rng.below(mutable.len() as u64) as usize);
                c.delete(id).unwrap();
            }
            8 => {
                let tag = format!("load-{seed}-{i}");
                let mut load = c.bulk_load().unwrap();
                for j in 0..LOAD_SIZE {
                    load.insert(
                        Value::try_from(json!({"k": j % 7, "load": tag, "tags": [j % 4]})).unwrap(),
                    )
                    .unwrap();
                }
                load.commit().unwrap();
                pending.push(format!("load {tag}"));
            }
            _ => {
                db.flush().unwrap();
                // One write per batch of acknowledgements; a line counts once it is whole.
                let lines: String = pending.drain(..).map(|l| l + "\n").collect();
                ack.write_all(lines.as_bytes()).unwrap();
                ack.flush().unwrap();
            }
        }
    }
}

/// Runs the ignored test `name` of this file as a child process working in `dir` (given by
/// the environment variable `var`), its output discarded.
fn spawn_child(name: &str, var: &str, dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(var, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A kill can cut an acknowledgement line short: it was never acknowledged, so it goes (and the
/// next child appends after whole lines only).
fn drop_partial_ack(dir: &Path) {
    let path = dir.join("ack");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    if !text.is_empty() && !text.ends_with('\n') {
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        std::fs::write(&path, &text[..whole]).unwrap();
    }
}

fn verify(dir: &Path) {
    let db = Db::open(dir.join("db")).unwrap_or_else(|e| panic!("cannot open after a kill: {e:?}"));
    let report = db.check().unwrap();
    assert!(report.is_clean(), "after a kill: {:?}", report.problems);
    let Some(c) = db.get_collection("c") else {
        return; // killed before the collection was created
    };
    let docs: BTreeMap<u64, Value> = c.iter().map(|d| d.unwrap()).collect();
    let ack = std::fs::read_to_string(dir.join("ack")).unwrap_or_default();
    let mut loads: BTreeMap<String, u64> = BTreeMap::new();
    for doc in docs.values() {
        if let Some(tag) = doc.get("load").and_then(Value::as_str) {
            *loads.entry(tag.to_owned()).or_default() += 1;
        }
    }
    for (tag, n) in &loads {
        assert_eq!(*n, LOAD_SIZE, "bulk load {tag} is partly there");
    }
    let mut acked_loads = BTreeSet::new();
    for line in ack.lines() {
        match line.split_once(' ') {
            Some(("keep", id)) => {
                let id: u64 = id.parse().unwrap();
                let doc = docs
                    .get(&id)
                    .unwrap_or_else(|| panic!("acknowledged document {id} is gone"));
                assert_eq!(doc.get("kind").and_then(Value::as_str), Some("keep"));
            }
            Some(("load", tag)) => {
                acked_loads.insert(tag.to_owned());
            }
            _ => {}
        }
    }
    for tag in acked_loads {
        assert!(
            loads.contains_key(&tag),
            "acknowledged bulk load {tag} is gone"
        );
    }
}

#[test]
fn crash_kills_never_lose_acknowledged_writes() {
    let kills: u64 = std::env::var("QUARRY_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let mut dir = tempfile::tempdir().unwrap();
    for round in 0..kills {
        // A fresh database every ten kills keeps each check quick.
        if round % 10 == 0 {
            dir = tempfile::tempdir().unwrap();
        }
        let mut child = spawn_child("crash_child", "QUARRY_CRASH_DIR", dir.path());
        std::thread::sleep(Duration::from_millis(30 + rng.below(250)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        drop_partial_ack(dir.path());
        verify(dir.path());
        if round % 10 == 9 {
            eprintln!("{} kills survived", round + 1);
        }
    }
}

/// The child of the compaction crash test: fills a store once, then compacts it over and over
/// until killed.
#[test]
#[ignore = "run by a_kill_during_compaction_leaves_one_whole_store as a child process"]
fn compact_child() {
    let Ok(dir) = std::env::var("QUARRY_COMPACT_DIR") else {
        return;
    };
    let path = Path::new(&dir).join("db");
    if !path.exists() {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["k"]).unwrap();
        c.insert_many((0..3000).map(|i| json!({"k": i % 7, "text": "x".repeat(200)})))
            .unwrap();
        db.execute("delete from c where k = 0").unwrap();
        db.flush().unwrap();
        std::fs::write(Path::new(&dir).join("filled"), b"").unwrap();
    }
    loop {
        Db::compact(&path).unwrap();
    }
}

/// SIGKILL at random moments while a store is compacted again and again: after every kill the
/// store opens whole (the old one or the new one), with the same documents and a clean check.
#[test]
fn a_kill_during_compaction_leaves_one_whole_store() {
    let mut rng = Rng(0x2545F4914F6CDD1D);
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..12 {
        let mut child = spawn_child("compact_child", "QUARRY_COMPACT_DIR", dir.path());
        while !dir.path().join("filled").exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(20 + rng.below(400)));
        child.kill().unwrap();
        child.wait().unwrap();
        let db = Db::open(dir.path().join("db")).unwrap();
        let c = db.get_collection("c").expect("the collection is there");
        assert_eq!(c.len().unwrap(), 3000 - 429);
        let report = db.check().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    }
}

/// The child of the text index build crash test: fills a store once, then builds its text
/// index and drops it again, over and over, until killed.
#[test]
#[ignore = "run by a_kill_while_a_text_index_is_built_leaves_it_whole_or_gone as a child process"]
fn text_build_child() {
    let Ok(dir) = std::env::var("QUARRY_TEXT_BUILD_DIR") else {
        return;
    };
    let path = Path::new(&dir).join("db");
    let db = Db::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    if !Path::new(&dir).join("filled").exists() {
        let words = [
            "coral", "reef", "tide", "kelp", "shoal", "atoll", "lagoon", "surf",
        ];
        c.insert_many((0..1500usize).map(|i| {
            let body: Vec<&str> = (0..40)
                .map(|k| words[(i * 7 + k * k) % words.len()])
                .collect();
            json!({"body": body.join(" "), "tags": [words[i % 8], format!("t{i}")]})
        }))
        .unwrap();
        db.flush().unwrap();
        std::fs::write(Path::new(&dir).join("filled"), b"").unwrap();
    }
    std::fs::write(Path::new(&dir).join("opened"), b"").unwrap();
    loop {
        let name = c
            .create_text_index(&["body", "tags"], quarry::text::Language::English)
            .unwrap();
        db.flush().unwrap();
        // A while with the index whole, for some kills to find it so.
        std::thread::sleep(Duration::from_millis(1000));
        c.drop_index(&name).unwrap();
    }
}

/// SIGKILL at random moments while a text index is built (its blocks written outside batches)
/// and dropped: after every kill the store opens with the index either whole and agreeing with
/// the documents, or gone, and a clean check.
#[test]
fn a_kill_while_a_text_index_is_built_leaves_it_whole_or_gone() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let dir = tempfile::tempdir().unwrap();
    let mut whole = 0;
    for _ in 0..12 {
        let _ = std::fs::remove_file(dir.path().join("opened"));
        let mut child = spawn_child("text_build_child", "QUARRY_TEXT_BUILD_DIR", dir.path());
        while !dir.path().join("opened").exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(rng.below(2500)));
        child.kill().unwrap();
        child.wait().unwrap();
        let db = Db::open(dir.path().join("db")).unwrap();
        let c = db.get_collection("c").expect("the collection is there");
        assert_eq!(c.len().unwrap(), 1500);
        let report = db.check().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        if !c.indexes().unwrap().is_empty() {
            whole += 1;
            let n = db.query("from c where search 'reefs'").unwrap().count();
            assert!(n > 0);
        }
    }
    eprintln!("{whole} of 12 kills left a whole text index");
}

/// How many documents the transaction crash test moves between its two collections.
const MOVED: u64 = 300;

/// The child of the transaction crash test: fills `left` once, then moves documents between
/// `left` and `right` in transactions (one to five at a time, by an indexed query), some of
/// which also create a collection holding one marker document, until killed.
#[test]
#[ignore = "run by a_kill_during_transactions_leaves_each_document_in_one_place as a child process"]
fn transaction_child() {
    let Ok(dir) = std::env::var("QUARRY_TX_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    let db = Db::open(dir.join("db")).unwrap();
    if !dir.join("filled").exists() {
        db.execute("create index on left (n); create index on right (n)")
            .unwrap();
        let left = db.collection("left").unwrap();
        if left.is_empty().unwrap() {
            left.insert_many((0..MOVED).map(|n| json!({"n": n, "text": "x".repeat(100)})))
                .unwrap();
        }
        db.flush().unwrap();
        std::fs::write(dir.join("filled"), b"").unwrap();
    }
    let mut rng = Rng(std::process::id() as u64 * 2654435761 + 7);
    loop {
        let moves = 1 + rng.below(5);
        let picks: Vec<u64> = (0..moves).map(|_| rng.below(MOVED)).collect();
        let marker = (rng.below(6) == 0).then(|| format!("marker_{}", rng.next() % 1_000_000));
        db.transaction(|tx| {
            if let Some(name) = &marker {
                tx.collection(name)?.insert(&json!({"marker": true}))?;
            }
            for n in &picks {
                let (from, to) = if tx.execute(&format!("count from left where n = {n}"))?[0]
                    .to_string()
                    == "1\n"
                {
                    ("left", "right")
                } else {
                    ("right", "left")
                };
                let found: Vec<serde_json::Value> =
                    tx.query_as(&format!("from {from} where n = {n}"))?;
                let id = found[0]["_id"].as_u64().unwrap();
                tx.collection(from)?.delete(id)?;
                tx.collection(to)?.insert(&found[0])?;
            }
            Ok(())
        })
        .unwrap();
    }
}

/// SIGKILL at random moments while transactions move documents between two collections:
/// after every kill the store opens with a clean check, and every document is in exactly one
/// of the two.
#[test]
fn a_kill_during_transactions_leaves_each_document_in_one_place() {
    let mut rng = Rng(0xD1B54A32D192ED03);
    let mut dir = tempfile::tempdir().unwrap();
    let mut moved = 0;
    for round in 0..20 {
        if round % 10 == 0 {
            dir = tempfile::tempdir().unwrap();
        }
        let mut child = spawn_child("transaction_child", "QUARRY_TX_DIR", dir.path());
        while !dir.path().join("filled").exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(20 + rng.below(300)));
        child.kill().unwrap();
        child.wait().unwrap();
        let db = Db::open(dir.path().join("db")).unwrap();
        let report = db.check().unwrap();
        assert!(report.is_clean(), "after a kill: {:?}", report.problems);
        for name in db.collections() {
            if name.starts_with("marker_") {
                let c = db.get_collection(&name).unwrap();
                assert_eq!(
                    c.len().unwrap(),
                    1,
                    "{name} was created without its document"
                );
            }
        }
        let mut seen = BTreeMap::new();
        for name in ["left", "right"] {
            let Some(c) = db.get_collection(name) else {
                continue;
            };
            for doc in c.iter() {
                let n = doc.unwrap().1.get("n").and_then(Value::as_i64).unwrap();
                if let Some(other) = seen.insert(n, name) {
                    panic!("document {n} is in both {other} and {name}");
                }
            }
        }
        assert_eq!(
            seen.len() as u64,
            MOVED,
            "a document is in neither collection"
        );
        moved += seen.values().filter(|c| **c == "right").count();
    }
    assert!(
        moved > 0,
        "no transaction committed before a kill: the test proved nothing"
    );
}
