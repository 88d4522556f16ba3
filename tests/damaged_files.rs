//! Damaged database files: truncated, zeroed and random-garbage files each give a clear error
//! (or open with whatever `check` then reports), never a panic.

use std::path::Path;

use quarry::{Db, Error};
use serde_json::json;

fn make_db(path: &Path) {
    let db = Db::open(path).unwrap();
    let c = db.collection("c").unwrap();
    c.create_index(&["k"]).unwrap();
    c.insert_many((0..2000).map(|i| json!({"k": i, "text": "x".repeat(100)})))
        .unwrap();
    db.flush().unwrap();
}

/// Opens, checks and queries a damaged database: any outcome but a panic is acceptable.
fn survive(path: &Path) -> String {
    let outcome = std::panic::catch_unwind(|| match Db::open(path) {
        Err(err) => format!("open failed: {err}"),
        Ok(db) => match db.check() {
            Err(err) => format!("check failed: {err}"),
            Ok(report) => {
                let count = db
                    .execute("count from c")
                    .map(|o| o[0].to_string().trim().to_owned());
                // Rows read lazily, after the statement returned, as values and as a type.
                let read = db
                    .query("from c")
                    .map(|rows| rows.filter(Result::is_ok).count());
                let typed = db.query("from c").map(|rows| {
                    rows.deserialize::<serde_json::Value>()
                        .filter(Result::is_ok)
                        .count()
                });
                format!(
                    "opened, {} problems, count {count:?}, read {read:?} and {typed:?}, {} \
                     warnings",
                    report.problems.len(),
                    db.warnings().len()
                )
            }
        },
    });
    outcome.unwrap_or_else(|_| panic!("a damaged database made quarry panic: {}", path.display()))
}

fn data_files(path: &Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![path.join("db")];
    if let Ok(entries) = std::fs::read_dir(path.join("blobs")) {
        files.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
    }
    files.retain(|f| f.is_file());
    files
}

#[test]
fn truncated_zeroed_and_garbage_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 5] = [
        ("truncated to half", |b| b.truncate(b.len() / 2)),
        ("truncated to 10 bytes", |b| b.truncate(10)),
        ("zeroed", |b| b.iter_mut().for_each(|x| *x = 0)),
        ("zeroed in the middle", |b| {
            let n = b.len();
            b[n / 3..2 * n / 3].iter_mut().for_each(|x| *x = 0)
        }),
        ("random garbage", |b| {
            let mut s = 0x2545F4914F6CDD1Du64;
            for x in b.iter_mut() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                *x = s as u8;
            }
        }),
    ];
    for (what, damage) in damages {
        let path = dir.path().join(what.replace(' ', "_"));
        make_db(&path);
        for file in data_files(&path) {
            let mut bytes = std::fs::read(&file).unwrap();
            damage(&mut bytes);
            std::fs::write(&file, bytes).unwrap();
        }
        let outcome = survive(&path);
        // Either the damage is reported, or what opened is whole.
        assert!(
            outcome.starts_with("open failed: corrupt data")
                || !outcome.contains(", 0 problems")
                || outcome.contains("count Ok(\"2000\")"),
            "{what}: {outcome}"
        );
        eprintln!("{what}: {outcome}");
    }
}

/// A store whose log spans many segments, cut short or zeroed in places, with or without
/// sled's snapshot files: sled 0.34 panics inside its recovery on some of these. Opening never
/// panics (here, nor in `quarry exec` or `check`): it fails saying the store is damaged and
/// what to do, and can be tried again in the same process; or it opens, and `check` runs.
#[test]
fn a_damaged_store_of_many_segments_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.db");
    // Loaded as `quarry import` loads (journaled batches), whose logs sled has panicked on.
    let records = dir.path().join("c.ndjson");
    // Text that does not compress, so the store's log spans many segments.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = |len: usize| -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ALPHABET[(seed % 64) as usize] as char
            })
            .collect()
    };
    let lines: Vec<String> = (0..4000)
        .map(|i| json!({"k": i, "text": noise(3000)}).to_string())
        .collect();
    std::fs::write(&records, lines.join("\n")).unwrap();
    let import = std::process::Command::new(env!("CARGO_BIN_EXE_quarry"))
        .arg("import")
        .arg("--db")
        .arg(&whole)
        .arg("c")
        .arg(&records)
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");
    let log = std::fs::read(whole.join("db")).unwrap();
    assert!(
        log.len() > 8 << 20,
        "a log of many segments: {} bytes",
        log.len()
    );
    let mut damages: Vec<(String, Vec<u8>)> = Vec::new();
    for percent in [95, 90, 80, 50, 10] {
        damages.push((
            format!("cut to {percent}%"),
            log[..log.len() * percent / 100].to_vec(),
        ));
    }
    for mib in [1, 3, 6, 9, 15] {
        let mut bytes = log.clone();
        let start = (mib << 20).min(bytes.len());
        let end = (start + (1 << 20)).min(bytes.len());
        bytes[start..end].iter_mut().for_each(|b| *b = 0);
        damages.push((format!("1 MiB zeroed at {mib} MiB"), bytes));
    }
    let mut refused = 0;
    for (case, (what, bytes)) in damages.iter().enumerate() {
        for snapshots in [true, false] {
            // A folder of its own for each case: sled's background threads of the last case's
            // store may still be writing into its folder shortly after it closed. Folders two
            // cases old are done with.
            let folder = |case: usize| dir.path().join(format!("damaged-{case}-{snapshots}.db"));
            if let Some(old) = case.checked_sub(2) {
                let _ = std::fs::remove_dir_all(folder(old));
            }
            let path = folder(case);
            std::fs::create_dir(&path).unwrap();
            for entry in std::fs::read_dir(&whole).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if entry.path().is_file() && (snapshots || !name.starts_with("snap.")) {
                    std::fs::copy(entry.path(), path.join(&*name)).unwrap();
                }
            }
            std::fs::write(path.join("db"), bytes).unwrap();
            let outcome = survive(&path);
            if let Some(err) = outcome.strip_prefix("open failed: ") {
                refused += 1;
                assert!(err.contains("damaged"), "{what}: {err}");
                // Nothing was left locked: the same error again, not "locked".
                let again = Db::open(&path).map(|_| ()).unwrap_err().to_string();
                assert_eq!(again, err, "{what}");
            } else {
                // What opens is whole, or says what it lost: never an earlier state in silence.
                assert!(
                    outcome.contains("count Ok(\"4000\")") || !outcome.contains(", 0 problems"),
                    "{what}: {outcome}"
                );
            }
            eprintln!("{what}, snapshot files {snapshots}: {outcome}");
        }
    }
    assert!(refused > 0, "no damage was refused");
}

/// A store whose log comes back older than its last flush (part of it lost) opens with a
/// warning naming each collection and how many of its writes are missing, `check` reports it,
/// `quarry exec` says it on stderr, at every open until `repair` accepts the store as it is.
#[test]
fn a_store_that_comes_back_older_than_its_last_flush_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("news.db");
    let older = dir.path().join("older.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        for i in 0..5 {
            c.insert(&json!({ "i": i })).unwrap();
        }
        db.flush().unwrap();
    }
    std::fs::create_dir(&older).unwrap();
    for entry in std::fs::read_dir(&path).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), older.join(entry.file_name())).unwrap();
        }
    }
    {
        let db = Db::open(&path).unwrap();
        assert!(db.warnings().is_empty(), "{:?}", db.warnings());
        let c = db.collection("c").unwrap();
        for i in 5..8 {
            c.insert(&json!({ "i": i })).unwrap();
        }
        db.execute("update c set seen = true where i = 1").unwrap();
        db.flush().unwrap();
    }
    // The log (and sled's snapshots) go back to what they were; the seal stays.
    let log_files = |dir: &Path| -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n == "db" || n.to_string_lossy().starts_with("snap."))
            .collect()
    };
    for name in log_files(&path) {
        std::fs::remove_file(path.join(&name)).unwrap();
    }
    for name in log_files(&older) {
        std::fs::copy(older.join(&name), path.join(&name)).unwrap();
    }
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["exec", "--db"])
        .arg(&path)
        .arg("count from c")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert_eq!(String::from_utf8_lossy(&cli.stdout).trim(), "5", "{stderr}");
    assert!(
        stderr.contains("warning: collection `c`: 4 of its writes are missing"),
        "{stderr}"
    );
    // Flushes (that `exec` made) and new writes do not make it go away...
    let db = Db::open(&path).unwrap();
    assert_eq!(db.warnings().len(), 1, "{:?}", db.warnings());
    for i in 0..6 {
        db.collection("c")
            .unwrap()
            .insert(&json!({ "i": i }))
            .unwrap();
    }
    db.flush().unwrap();
    let report = db.check().unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0]
            .message
            .contains("4 of its writes are missing")
    );
    drop(db);
    // ... nor does compacting the store...
    Db::compact(&path).unwrap();
    let db = Db::open(&path).unwrap();
    assert_eq!(db.warnings().len(), 1, "{:?}", db.warnings());
    // ... `repair` accepts the store as it is.
    assert!(db.repair().unwrap().is_clean());
    drop(db);
    let db = Db::open(&path).unwrap();
    assert!(db.warnings().is_empty(), "{:?}", db.warnings());
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn a_missing_database_directory_is_created_and_a_file_in_the_way_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"hello").unwrap();
    let err = Db::open(&blocker).unwrap_err();
    assert!(
        matches!(err, Error::Io(_) | Error::Corrupt(_) | Error::Storage(_)),
        "{err:?}"
    );
}

#[test]
fn a_store_whose_catalog_was_lost_is_reported_not_opened_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lost.db");
    make_db(&path);
    for file in data_files(&path) {
        std::fs::write(&file, vec![0u8; 64]).unwrap();
    }
    let err = Db::open(&path).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("the catalog is missing"), "{err}");
}
