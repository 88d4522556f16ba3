//! How quarry configures sled: the page cache, and zstd compression of what sled writes.
//!
//! Invariant: a store keeps the compression it was created with. sled refuses to open a store
//! with another setting than the one its `conf` file records, and rewrites that file with the
//! setting it is given when the file is lost, after which it cannot read a log written the
//! other way. So the setting is recorded twice: in sled's `conf`, and in quarry's marker file
//! (a line `compressed`; a marker without it is an uncompressed store, as every store made
//! before compression was). An existing store is opened with what `conf` says, else what the
//! marker says; only a new store takes [`Options::compression`], and `quarry compact` writes
//! its copy with the setting of the store it copies.

use std::path::Path;

use crate::store::{Options, layout};

/// zstd's level for sled's writes, when a store is compressed: the fastest. Higher levels
/// made a text index build slower for little less disk (bench/FINDINGS.md).
const COMPRESSION_LEVEL: i32 = 1;

/// The sled configuration of the store at `path` (a new one or an existing one).
pub(crate) fn for_store(path: &Path, options: &Options) -> sled::Config {
    let compression = recorded_compression(path).unwrap_or(options.compression);
    sled::Config::new()
        .path(path)
        .cache_capacity(options.cache_capacity)
        .use_compression(compression)
        .compression_factor(COMPRESSION_LEVEL)
}

/// The sled configuration of `copy`, a new store that is to hold what the store at `source`
/// holds, compressed as that one is.
pub(crate) fn for_copy(source: &Path, copy: &Path) -> sled::Config {
    let options = Options {
        compression: recorded_compression(source).unwrap_or(false),
        ..Options::default()
    };
    for_store(copy, &options)
}

/// The sled configuration of a temporary store, deleted when it closes.
pub(crate) fn temporary(options: &Options) -> sled::Config {
    sled::Config::new()
        .temporary(true)
        .cache_capacity(options.cache_capacity)
        .use_compression(options.compression)
        .compression_factor(COMPRESSION_LEVEL)
}

/// The line of quarry's marker file that says the store is compressed.
pub(crate) const COMPRESSED_LINE: &str = "compressed";

/// Whether the store at `path` was created compressed: as its sled `conf` file records it
/// (`use_compression: true`), else as quarry's marker does; `None` for a new store.
pub(crate) fn recorded_compression(path: &Path) -> Option<bool> {
    let in_conf = std::fs::read(path.join("conf")).ok().and_then(|conf| {
        String::from_utf8_lossy(&conf)
            .lines()
            .find_map(|line| line.strip_prefix("use_compression: "))
            .and_then(|value| value.trim().parse().ok())
    });
    in_conf.or_else(|| {
        let marker = std::fs::read_to_string(path.join(layout::MARKER_FILE)).ok()?;
        Some(marker.lines().any(|line| line == COMPRESSED_LINE))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store at `path` made with `compression`, holding two documents.
    fn made(path: &Path, compression: bool) {
        let options = Options {
            compression,
            ..Options::default()
        };
        let db = crate::Db::open_with(path, options).unwrap();
        db.execute("insert into t [{x: 1}, {x: 2}]").unwrap();
    }

    fn count(db: &crate::Db) -> String {
        db.execute("count from t").unwrap()[0].to_string()
    }

    #[test]
    fn a_store_keeps_the_compression_it_was_created_with() {
        let dir = tempfile::tempdir().unwrap();
        for (name, compression) in [("plain.db", false), ("packed.db", true)] {
            let path = dir.path().join(name);
            made(&path, compression);
            assert_eq!(recorded_compression(&path), Some(compression));
            // Opened again with the other setting asked for: it keeps its own, and opens.
            let other = Options {
                compression: !compression,
                ..Options::default()
            };
            assert_eq!(count(&crate::Db::open_with(&path, other).unwrap()), "2\n");
            assert_eq!(recorded_compression(&path), Some(compression));
        }
        assert_eq!(recorded_compression(&dir.path().join("none.db")), None);
    }

    #[test]
    fn a_store_whose_sled_settings_file_is_lost_opens_as_it_was_made() {
        let dir = tempfile::tempdir().unwrap();
        for (name, compression) in [("plain.db", false), ("packed.db", true)] {
            let path = dir.path().join(name);
            made(&path, compression);
            std::fs::remove_file(path.join("conf")).unwrap();
            // Asked the other way: the marker still tells how the log was written.
            let other = Options {
                compression: !compression,
                ..Options::default()
            };
            assert_eq!(count(&crate::Db::open_with(&path, other).unwrap()), "2\n");
            assert_eq!(recorded_compression(&path), Some(compression));
        }
    }

    #[test]
    fn compacting_a_store_keeps_its_compression() {
        let dir = tempfile::tempdir().unwrap();
        for (name, compression) in [("plain.db", false), ("packed.db", true)] {
            let path = dir.path().join(name);
            made(&path, compression);
            crate::Db::compact(&path).unwrap();
            assert_eq!(recorded_compression(&path), Some(compression));
            assert_eq!(count(&crate::Db::open(&path).unwrap()), "2\n");
        }
    }
}
