//! quarry: an embedded document store with secondary indexes and a small query language.
//!
//! Documents are JSON-like [`Value`]s stored in [sled](https://docs.rs/sled) trees, encoded with
//! bincode, with secondary indexes (single, compound, multikey, unique) kept atomically in step
//! with them.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Article { org: String, year: i64, title: String }
//!
//! fn main() -> Result<(), quarry::Error> {
//!     let dir = tempfile::tempdir()?;
//!     let db = quarry::Db::open(dir.path().join("news.db"))?;     // creates it when missing
//!     let articles = db.collection("articles")?;                   // creates it when missing
//!     let id: u64 = articles.insert(&Article { org: "ICC".into(), year: 2021, title: "Letter".into() })?;
//!     articles.create_index(&["org", "year"])?;
//!     articles.create_unique_index(&["title"])?;
//!     let back: Option<Article> = articles.get(id)?;
//!     assert_eq!(back.unwrap().year, 2021);
//!     let ids = articles.insert_many(vec![
//!         serde_json::json!({"org": "HRW", "year": 2022, "title": "Report"}),
//!     ])?;                                                          // one batch, all or nothing
//!     assert_eq!(ids.len(), 1);
//!     articles.update(id, &serde_json::json!({"org": "ICC", "year": 2020, "title": "Letter"}))?;
//!     articles.delete(ids[0])?;
//!     let count: u64 = articles.len()?;
//!     assert_eq!(count, 1);
//!     db.flush()?;                                                   // durable on disk
//!     let report = db.check()?;                                      // Result<CheckReport>
//!     assert!(report.is_clean());
//!     Ok(())
//! }
//! ```
//!
//! Several writes, across collections, commit together or not at all:
//!
//! ```
//! let db = quarry::Db::temporary()?;
//! db.execute("insert into accounts [{owner: 'ada', balance: 50}, {owner: 'bob', balance: 0}]")?;
//! db.transaction(|tx| {
//!     tx.execute("update accounts set balance = balance - 20 where owner = 'ada'")?;
//!     tx.execute("update accounts set balance = balance + 20 where owner = 'bob'")?;
//!     tx.collection("log")?.insert(&serde_json::json!({"moved": 20}))?;
//!     Ok(())
//! })?;
//! # Ok::<(), quarry::Error>(())
//! ```
//!
//! Queries, from Rust:
//!
//! ```
//! let db = quarry::Db::temporary()?;
//! db.execute(r#"create index on articles (org, year);
//!               insert into articles [{org: "ICC", year: 2021}, {org: "HRW", year: 2019}]"#)?;
//! let recent: Vec<serde_json::Value> = db.query_as(r#"where org = "ICC" and year >= 2020"#)?;
//! assert_eq!(recent.len(), 1);
//! # Ok::<(), quarry::Error>(())
//! ```
//!
//! A query run often is prepared once, and its rows can be read straight into serde types:
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Recent { _id: u64, year: i64 }
//! let db = quarry::Db::temporary()?;
//! db.execute("insert into articles [{org: 'ICC', year: 2021}, {org: 'ICC', year: 2023}]")?;
//! let latest = db.prepare("from articles where org = $org order by year desc limit 1")?;
//! let params = quarry::Params::new().with("org", "ICC");
//! let rows: Vec<Recent> = latest.query_as_with(&params)?.collect::<Result<_, _>>()?;
//! assert_eq!((rows[0]._id, rows[0].year), (2, 2023));
//! # Ok::<(), quarry::Error>(())
//! ```
//!
//! # The life of a query
//!
//! `from articles where org = "ICC" and year >= 2020 order by year desc limit 3`:
//!
//! 1. **Parse** (`query::parser`, nom): text becomes a [`query::Statement`]; a mistake is a
//!    [`query::ParseError`] with its line, column, what was expected and, where it fits, a hint.
//! 2. **Bind** (`query::eval`): parameters take their values, regexes compile, and the filter
//!    becomes a predicate that decides any document by itself.
//! 3. **Plan** (`query::plan`): the predicate's conjuncts are matched against the collection's
//!    indexes. An `(org, year)` index gives bounds *in values*: `org` equal to `"ICC"`, then
//!    `year >= 2020`. The planner asks the store to estimate each candidate and picks the
//!    cheapest; one whose order follows `order by` makes the sort unnecessary. The plan is data
//!    (a source and steps: filter, read ahead, sort, offset, limit, project), and `explain`
//!    prints it.
//! 4. **Scan** (`store::scan`): only the store knows the key format. It turns the bounds into
//!    byte ranges of sled's one tree per collection (entry prefix, order-preserving key
//!    encoding of the values, then the document id), walks them with sled's range iterator
//!    and hands back document ids.
//! 5. **Execute** (`query::exec`): ids become stored documents (sled point reads); the whole
//!    predicate runs again on each as a residual filter, so the answer never depends on the
//!    plan; the pipeline stops after the limit. Rows are decoded only as far as the steps need.
//!
//! # Features
//!
//! `cli` (on by default) adds the `quarry` command: the shell, the demo, the command line,
//! tables for terminals and import progress bars. Without it
//! (`default-features = false`), quarry is the engine alone, without clap, rustyline,
//! comfy-table, indicatif, ctrlc or dirs.

mod codec;
mod error;
mod io;
mod lexicon;
mod path;
pub mod query;
mod store;
pub mod text;
mod value;

#[cfg(feature = "cli")]
mod app;

pub use error::{Error, Result};
pub use query::{Params, Prepared, Rows, TypedRows};
pub use store::{
    BuildProgress, BulkLoad, CheckReport, Collection, Compacted, Db, Documents, IndexDef,
    IndexKind, MAX_ENTRIES_PER_DOCUMENT, MAX_INDEX_PATHS, Options, Problem, Transaction,
};
pub use value::{Key, Map, Value, ValueError, from_value, to_value};

/// Paths into documents: `author.name`, `tags[0]`, `` `odd key`.x ``.
pub mod paths {
    pub use crate::path::{Path, PathError, Segment};
}

/// Reading files into collections, all or nothing: NDJSON, JSON, CSV and news articles.
pub mod import {
    pub use crate::io::import::{
        Format, ImportOptions, Imported, Progress, import_files, statement,
    };
    /// Reading news articles and press releases (the `article` format).
    pub mod article {
        pub use crate::io::import::article::{
            Article, ArticleError, Extracted, Language, Layout, parse_article,
        };
    }
}

/// Writing collections (or a query's rows) as NDJSON, JSON or CSV.
pub mod export {
    pub use crate::io::export::{ExportFormat, export, export_to};
    pub use crate::io::sql::PgTarget;
}

/// quarry statements as PostgreSQL, over a table `--format postgres` exported.
pub mod sql {
    pub use crate::io::sql::{HELPERS, Translation, explain, translate};
}

/// A statement's output as text: the modes of the shell's `.mode` and `--format`.
pub mod render {
    pub use crate::io::render::{DrawTable, Mode, Style, render, row_count};
}

/// Saved `.qry` scripts: statements with the output they must print, run as golden tests.
pub mod script {
    use std::path::Path;

    pub use crate::io::script::{
        Check, ParamCommand, Report, Runner, apply_param, parse_param, script_files,
        update_requested,
    };

    /// How tables are drawn in scripts: as the shell draws them with the `cli` feature, else as
    /// line mode.
    const TABLES: Option<crate::io::render::DrawTable> = {
        #[cfg(feature = "cli")]
        {
            Some(crate::app::table::draw)
        }
        #[cfg(not(feature = "cli"))]
        {
            None
        }
    };

    /// Runs the script `file` on `db`, checking its expected blocks; fails at the first
    /// statement that errs without an expected error.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let file = dir.path().join("t.qry");
    /// std::fs::write(&file, "insert into t {a: 1}\ncount from t\n----\n1\n")?;
    /// let db = quarry::Db::temporary()?;
    /// let report = quarry::script::run_file(&db, &file)?;
    /// assert!(report.failures().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_file(db: &crate::store::Db, file: &Path) -> crate::Result<Report> {
        crate::io::script::run_file(db, file, TABLES)
    }

    /// Runs one script on a fresh temporary database (or on a copy of `template`, a database
    /// folder) and checks its expected blocks.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let file = dir.path().join("t.qry");
    /// std::fs::write(&file, "insert into t [{a: 1}, {a: 2}]\ncount from t\n----\n2\n")?;
    /// let report = quarry::script::test_file(&file, None)?;
    /// assert_eq!((report.passed(), report.failures().len()), (1, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn test_file(file: &Path, template: Option<&Path>) -> crate::Result<Report> {
        crate::io::script::test_file(file, template, TABLES)
    }

    /// Checks every `.qry` script below `dir` (each on a fresh database) and panics with the
    /// diffs when any output differs; with `QUARRY_UPDATE=1` rewrites the expected blocks
    /// instead. For a crate's own tests:
    ///
    /// ```no_run
    /// #[test]
    /// fn queries_give_the_expected_answers() {
    ///     quarry::script::assert_scripts("tests/queries");
    /// }
    /// ```
    pub fn assert_scripts(dir: impl AsRef<Path>) {
        crate::io::script::assert_scripts(dir, TABLES)
    }

    /// Rewrites the expected blocks of `file` that `failed` (what `QUARRY_UPDATE=1` does).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let file = dir.path().join("t.qry");
    /// std::fs::write(&file, "insert into t {a: 1}\ncount from t\n----\n7\n")?;
    /// let report = quarry::script::test_file(&file, None)?;
    /// quarry::script::update_file(&file, &report.failures())?;
    /// assert!(std::fs::read_to_string(&file)?.ends_with("----\n1\n"));
    /// assert_eq!(quarry::script::test_file(&file, None)?.summary(), "1 passed, 0 failed");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn update_file(file: &Path, failed: &[&Check]) -> crate::Result<()> {
        crate::io::script::run::update_file(file, failed)
    }
}

/// The `quarry` command's entry point (`cli` feature): parses the arguments, runs, and
/// returns the exit status.
///
/// ```no_run
/// // The whole of the `quarry` binary's `main`:
/// std::process::exit(quarry::main());
/// ```
#[cfg(feature = "cli")]
pub fn main() -> i32 {
    app::cli::main()
}

/// What the project's own tests, fuzz targets and bench reach below the public API: the key
/// format, the syntax tree, the script parser. Not part of the API; it changes without notice.
#[doc(hidden)]
pub mod internals {
    /// The byte encodings.
    pub mod codec {
        pub use crate::codec::{
            decode_record, document, encode_record, ids, keycode, pages, postings, typed,
        };
    }
    pub use crate::codec::keycode;
    pub use crate::io::import::read;
    pub use crate::io::script::parse as script_parse;
    pub use crate::query::{ast, eval, fields};
    pub use crate::store::layout;
}

/// The examples in README.md, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
