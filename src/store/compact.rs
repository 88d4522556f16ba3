//! Compaction: rewriting a store into a fresh one beside it and swapping the two, so that the
//! space sled's log still holds for overwritten and deleted data goes back to the disk.
//!
//! Invariant: at every moment one complete store is at `PATH`, or is put back there by the
//! next open ([`finish_compaction`]). Before the swap, `PATH` is the old store and a
//! `PATH.compacting` folder, complete or not, is deleted. The new store is marked complete
//! only after it was flushed. Between the two renames of the swap, the old store is at
//! `PATH.compacted-old` and the complete new one at `PATH.compacting`: the swap is finished.
//! After the swap, `PATH` is the new store and `PATH.compacted-old` is deleted.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::{Db, layout, sled_config};

/// The file that marks a copy complete: flushed, and with every tree copied.
const COMPLETE: &str = "quarry.compacted";

/// Keys written per batch while copying.
const BATCH: usize = 1000;

/// What compaction did: the store's size on disk before and after, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compacted {
    /// Bytes before.
    pub before: u64,
    /// Bytes after.
    pub after: u64,
}

impl std::fmt::Display for Compacted {
    /// `compacted: 72.1 MB -> 0.3 MB`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |bytes: u64| bytes as f64 / 1e6;
        write!(
            f,
            "compacted: {:.1} MB -> {:.1} MB",
            mb(self.before),
            mb(self.after)
        )
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

/// Bytes of the files below `path`.
fn size_of(path: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            size_of(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// Makes a rename durable: the folder that holds it is synced.
fn sync_parent(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()?;
    Ok(())
}

/// Finishes or undoes a compaction a crash interrupted at `path` (see the module's invariant).
pub(crate) fn finish_compaction(path: &Path) -> Result<()> {
    let fresh = sibling(path, "compacting");
    let old = sibling(path, "compacted-old");
    match (path.exists(), fresh.exists(), old.exists()) {
        // Before the swap: the old store is whole where it was.
        (true, true, _) => std::fs::remove_dir_all(&fresh)?,
        // Between the renames: the new store if it is complete, else the old one.
        (false, true, true) if fresh.join(COMPLETE).exists() => {
            std::fs::rename(&fresh, path)?;
            sync_parent(path)?;
            std::fs::remove_dir_all(&old)?;
        }
        (false, _, true) => {
            std::fs::rename(&old, path)?;
            sync_parent(path)?;
            if fresh.exists() {
                std::fs::remove_dir_all(&fresh)?;
            }
        }
        // After the swap.
        (true, false, true) => std::fs::remove_dir_all(&old)?,
        _ => {}
    }
    if path.join(COMPLETE).exists() {
        std::fs::remove_file(path.join(COMPLETE))?;
    }
    Ok(())
}

impl Db {
    /// Rewrites the store at `path` into a fresh one and swaps them, giving back the space that
    /// overwritten and deleted data still takes; the sizes before and after. Fails with
    /// [`Error::Locked`] while another handle holds the store, and survives a kill at any
    /// moment: the next open finds the old store or the new one, whole.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("x.db");
    /// {
    ///     let db = quarry::Db::open(&path)?;
    ///     let t = db.collection("t")?;
    ///     t.insert_many((0..500).map(|i| serde_json::json!({"n": i, "text": "x".repeat(500)})))?;
    ///     db.execute("delete from t where n >= 10")?;
    ///     db.flush()?;
    /// }
    /// let done = quarry::Db::compact(&path)?;
    /// assert!(done.after < done.before, "{done}");
    /// assert_eq!(quarry::Db::open(&path)?.collection("t")?.len()?, 10);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn compact(path: impl AsRef<Path>) -> Result<Compacted> {
        let path = path.as_ref();
        finish_compaction(path)?;
        if !path.exists() {
            return Err(Error::NotFound(format!(
                "no database at {}",
                path.display()
            )));
        }
        let fresh = sibling(path, "compacting");
        let before = size_of(path)?;
        {
            let source = Db::open(path)?;
            source.flush()?;
            let target = sled_config::for_copy(path, &fresh)
                .open()
                .map_err(|e| Error::opening(e, &fresh))?;
            copy(&source.inner.sled, &target)?;
            target.flush()?;
            drop(target);
            std::fs::copy(
                path.join(layout::MARKER_FILE),
                fresh.join(layout::MARKER_FILE),
            )?;
            // sled does not sync its settings file; the copy's marker and settings are durable
            // before the copy is declared complete.
            for file in [layout::MARKER_FILE, "conf"] {
                std::fs::File::open(fresh.join(file))?.sync_all()?;
            }
            // The copy holds what the flush above sealed, generations included.
            if path.join(layout::SEAL_FILE).exists() {
                std::fs::copy(path.join(layout::SEAL_FILE), fresh.join(layout::SEAL_FILE))?;
            }
            std::fs::File::create(fresh.join(COMPLETE))?.sync_all()?;
            sync_parent(&fresh)?;
        }
        let old = sibling(path, "compacted-old");
        std::fs::rename(path, &old)?;
        sync_parent(path)?;
        std::fs::rename(&fresh, path)?;
        sync_parent(path)?;
        std::fs::remove_dir_all(&old)?;
        std::fs::remove_file(path.join(COMPLETE))?;
        Ok(Compacted {
            before,
            after: size_of(path)?,
        })
    }
}

/// Copies every tree of `from` into `to`, in batches.
fn copy(from: &sled::Db, to: &sled::Db) -> Result<()> {
    for name in from.tree_names() {
        let source = from.open_tree(&name)?;
        let target = to.open_tree(&name)?;
        let mut batch = sled::Batch::default();
        let mut pending = 0;
        for item in source.iter() {
            let (key, value) = item?;
            batch.insert(key, value);
            pending += 1;
            if pending == BATCH {
                target.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        target.apply_batch(batch)?;
    }
    Ok(())
}
