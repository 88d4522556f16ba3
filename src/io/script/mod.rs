//! Saved query scripts (`.qry`) and golden tests.
//!
//! A script holds statements as typed in the shell, `--` comments, dot-commands (`.mode json`,
//! `.param set name value`, `.read other.qry`) and, after a statement, optionally a line
//! `----` followed by the output it must print, up to a blank line. `quarry run` runs
//! scripts; `quarry test` and [`assert_scripts`] check their outputs, each file on a fresh
//! database; `QUARRY_UPDATE=1` (or `--update`) rewrites the expected blocks.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("counts.qry");
//! std::fs::write(&file, "insert into t [{a: 1}, {a: 2}]\n----\ninserted 2 documents\nwarning: created collection `t`\n\ncount where a > 1\n----\n1\n")?;
//! let report = quarry::script::test_file(&file, None)?;
//! assert_eq!(report.summary(), "2 passed, 0 failed");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod param;
pub mod parse;
pub mod run;

use std::path::{Path, PathBuf};

pub use param::{ParamCommand, apply_param, parse_param};
pub use run::{Check, Report, Runner};

use crate::error::{Error, Result};
use crate::io::render::DrawTable;
use crate::query::Session;
use crate::store::Db;

/// The `.qry` files at `path`: the file itself, or every one below a folder, sorted.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("more"))?;
/// std::fs::write(dir.path().join("b.qry"), "count from t\n")?;
/// std::fs::write(dir.path().join("more/a.qry"), "count from t\n")?;
/// std::fs::write(dir.path().join("notes.txt"), "not a script")?;
/// assert_eq!(quarry::script::script_files(dir.path())?.len(), 2);
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn script_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut folders = vec![path.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?.path();
            if entry.is_dir() {
                folders.push(entry);
            } else if entry.extension().is_some_and(|e| e == "qry") {
                files.push(entry);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Runs a script against `db` and checks its expected blocks; statements after a failing
/// one still run (their errors are their output).
///
/// ```
/// let db = quarry::Db::temporary()?;
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("s.qry");
/// std::fs::write(&file, "insert into t {a: 1}\ncount from t\n----\n1\n")?;
/// let report = quarry::script::run_file(&db, &file)?;
/// assert_eq!(report.summary(), "1 passed, 0 failed");
/// assert_eq!(db.collection("t")?.len()?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_file(db: &Db, file: &Path, draw: Option<DrawTable>) -> Result<Report> {
    let mut session = Session::new(db.clone());
    session.set_importer(Some(crate::io::import::statement));
    session.set_translator(Some(crate::io::sql::explain));
    let mut runner = Runner::checking(&mut session).with_tables(draw);
    if let Err(stopped) = runner.run_file(file) {
        return Err(Error::Query(format!(
            "{}: {}",
            stopped.place, stopped.message
        )));
    }
    Ok(runner.into_report())
}

/// Runs one script on a fresh temporary database (or on a copy of `template`, a database
/// folder) and checks its expected blocks.
pub fn test_file(file: &Path, template: Option<&Path>, draw: Option<DrawTable>) -> Result<Report> {
    let copy = tempfile::tempdir()?;
    let db = match template {
        Some(source) => {
            copy_dir(source, copy.path())?;
            Db::open(copy.path())?
        }
        None => Db::temporary()?,
    };
    run_file(&db, file, draw)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?.path();
        let target = to.join(entry.file_name().unwrap_or_default());
        if entry.is_dir() {
            copy_dir(&entry, &target)?;
        } else {
            std::fs::copy(&entry, &target)?;
        }
    }
    Ok(())
}

/// Whether expected blocks should be rewritten (`QUARRY_UPDATE=1`).
///
/// ```
/// let asked = std::env::var("QUARRY_UPDATE").as_deref() == Ok("1");
/// assert_eq!(quarry::script::update_requested(), asked);
/// ```
pub fn update_requested() -> bool {
    std::env::var("QUARRY_UPDATE").is_ok_and(|v| v == "1")
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
pub fn assert_scripts(dir: impl AsRef<Path>, draw: Option<DrawTable>) {
    let dir = dir.as_ref();
    let files = match script_files(dir) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => panic!("no .qry scripts below {}", dir.display()),
        Err(err) => panic!("cannot list {}: {err}", dir.display()),
    };
    let mut failures = Vec::new();
    let mut report = Report::default();
    for file in &files {
        match test_file(file, None, draw) {
            Ok(one) => {
                if update_requested() {
                    let failed = one.failures();
                    if let Err(err) = run::update_file(file, &failed) {
                        failures.push(format!("{}: cannot update: {err}", file.display()));
                    }
                }
                report.checks.extend(one.checks);
            }
            Err(err) => failures.push(err.to_string()),
        }
    }
    if !update_requested() {
        failures.extend(report.failures().iter().map(|c| c.diff()));
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        report.summary()
    );
}
