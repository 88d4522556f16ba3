//! Reading sled's files without letting their damage panic: sled 0.34 panics inside its
//! recovery on some damaged logs (a log of several segments cut short, snapshot files lost),
//! and on reads of some damaged trees that did open (a node whose keys pass its bounds).
//!
//! Invariant: opening a store never panics, and neither do `check`, `repair`, imports,
//! exports and a session's statements on one (their reading-ahead threads included). A panic inside sled while doing them becomes an error that says the
//! store is damaged and what can be done, and its message is not printed; after one, the
//! database refuses writes, which could only spread the damage. A panic that does not come
//! from sled (a bug of quarry's) is printed and goes on as before. The panic hook is wrapped
//! once, and a panic of any other thread, or of this one at any other time, still reaches the
//! hook that was in place.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use crate::error::{Error, Result};

std::thread_local! {
    /// Whether this thread is inside [`quietly`], and whether a panic from anywhere counts.
    static QUIET: Cell<Quiet> = const { Cell::new(Quiet::No) };
    /// Whether the panic caught last on this thread was one [`QUIET`] silenced.
    static SILENCED: Cell<bool> = const { Cell::new(false) };
}

#[derive(Clone, Copy, PartialEq)]
enum Quiet {
    No,
    /// Only panics raised in sled's own source are silenced.
    SledOnly,
    /// Every panic is silenced: nothing but sled runs.
    All,
}

/// `config.open()`, with a panic inside it reported as damage of the store at `path`.
pub(crate) fn open(config: &sled::Config, path: &Path) -> Result<sled::Db> {
    match quietly(Quiet::All, || config.open()) {
        Ok(opened) => opened.map_err(|e| Error::opening(e, path)),
        Err(detail) => Err(Error::Corrupt(format!(
            "{} is damaged: its log cannot be read back (sled: {detail}); nothing in it can \
             be read, so restore it from a copy",
            path.display()
        ))),
    }
}

/// Runs `f`, which reads (or writes) the store at `path`; a panic inside sled comes back as
/// the outer error, which says the store is damaged. A panic from elsewhere goes on.
pub(crate) fn contain<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T> {
    quietly(Quiet::SledOnly, f).map_err(|detail| {
        Error::Corrupt(format!(
            "{} is damaged: sled failed reading it ({detail}); restore it from a copy",
            path.display()
        ))
    })
}

/// Runs `f`, catching a panic on this thread that `quiet` covers without printing it, and
/// returning its message; any other panic is printed and resumed.
fn quietly<T>(quiet: Quiet, f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static WRAP: Once = Once::new();
    WRAP.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let silence = match QUIET.with(Cell::get) {
                Quiet::No => false,
                Quiet::All => true,
                Quiet::SledOnly => info.location().is_some_and(|l| in_sled(l.file())),
            };
            SILENCED.with(|s| s.set(silence));
            if !silence {
                previous(info);
            }
        }));
    });
    let outer = QUIET.with(|q| q.replace(quiet));
    SILENCED.with(|s| s.set(false));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(outer));
    match result {
        Ok(value) => Ok(value),
        // Under `All` every panic is sled's, even if the hook was replaced since and did not
        // say so.
        Err(payload) if quiet == Quiet::All || SILENCED.with(Cell::get) => Err(payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "an unreadable log".to_owned())),
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// Whether a panic's source file is sled's (`…/sled-0.34.7/src/node.rs`).
fn in_sled(file: &str) -> bool {
    file.split(['/', '\\'])
        .any(|part| part.starts_with("sled-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sleds_own_panics_count_as_damage() {
        assert!(in_sled(
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/sled-0.34.7/src/node.rs"
        ));
        assert!(in_sled(r"C:\cargo\registry\src\x\sled-0.34.7\src\tree.rs"));
        assert!(!in_sled("src/store/check.rs"));
        assert!(!in_sled("/rustc/abc/library/core/src/slice/index.rs"));
    }

    /// A real panic raised in sled's source (a slice past the end of a value).
    fn sled_panics() -> crate::Result<()> {
        sled::IVec::from(&[1u8, 2, 3][..]).subslice(2, 5);
        Ok(())
    }

    #[test]
    fn a_panic_inside_sled_is_damage_and_stops_writes() {
        let db = crate::Db::temporary().unwrap();
        let notes = db.collection("notes").unwrap();
        notes.insert(&serde_json::json!({"n": 1})).unwrap();
        let err = db.contain_damage(sled_panics).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt(m) if m.contains("is damaged: sled failed reading it")),
            "{err}"
        );
        let refused = notes.insert(&serde_json::json!({"n": 2})).unwrap_err();
        assert!(
            refused.to_string().contains("writes are refused"),
            "{refused}"
        );
        assert!(db.begin().is_err());
        // Reads go on.
        assert_eq!(notes.len().unwrap(), 1);
    }

    #[test]
    fn a_transaction_open_when_sled_fails_ends_without_landing() {
        let db = crate::Db::temporary().unwrap();
        db.collection("notes").unwrap();
        let tx = db.begin().unwrap();
        let notes = tx.db().collection("notes").unwrap();
        notes.insert(&serde_json::json!({"n": 1})).unwrap();
        assert!(db.contain_damage(sled_panics).is_err());
        let refused = tx.commit().unwrap_err();
        assert!(
            refused.to_string().contains("writes are refused"),
            "{refused}"
        );
        assert!(
            !refused.to_string().contains("corrupt data: corrupt data"),
            "{refused}"
        );
        // Its handles ended with it, as after a rollback.
        assert!(notes.insert(&serde_json::json!({"n": 2})).is_err());
        assert_eq!(db.collection("notes").unwrap().len().unwrap(), 0);
    }

    #[test]
    fn a_bulk_load_that_sled_fails_in_is_rolled_back_by_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        {
            let db = crate::Db::open(&path).unwrap();
            let c = db.collection("c").unwrap();
            c.insert(&serde_json::json!({"n": 0})).unwrap();
            let failed = db.contain_damage(|| {
                let mut load = c.bulk_load()?;
                for n in 1..2500 {
                    load.insert(crate::to_value(&serde_json::json!({ "n": n }))?)?;
                }
                // The load is dropped while this unwinds, its batches written and journaled.
                sled_panics()
            });
            assert!(failed.is_err());
        }
        let db = crate::Db::open(&path).unwrap();
        assert_eq!(db.collection("c").unwrap().len().unwrap(), 1);
        assert!(db.check().unwrap().is_clean());
    }

    #[test]
    fn a_batch_that_sled_fails_in_leaves_the_batch_counter_even() {
        let db = crate::Db::temporary().unwrap();
        let notes = db.collection("notes").unwrap();
        let before = notes.state.batches();
        assert_eq!(before % 2, 0);
        let failed = contain(Path::new("x.db"), || {
            notes.state.while_applying(sled_panics)
        });
        assert!(failed.is_err());
        // Readers that compare two loads of the counter see the batch ended, not under way.
        assert_eq!(notes.state.batches(), before + 2);
    }

    #[test]
    fn a_panic_of_quarrys_own_after_sleds_is_not_taken_for_damage() {
        assert!(contain(Path::new("x.db"), sled_panics).is_err());
        let own = panic::catch_unwind(|| contain(Path::new("x.db"), || panic!("a bug")));
        assert!(own.is_err(), "the earlier silenced panic is not this one");
    }

    #[test]
    fn a_panic_of_quarrys_own_goes_on() {
        assert_eq!(contain(Path::new("x.db"), || 1).unwrap(), 1);
        let own = panic::catch_unwind(|| contain(Path::new("x.db"), || panic!("a bug")));
        assert!(own.is_err(), "a panic outside sled is not damage");
    }
}
