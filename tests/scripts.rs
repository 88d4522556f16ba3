//! The language's golden tests: each `.qry` script directly in `tests/scripts/` is one test,
//! `scripts::NAME`, run on a fresh database; it must print exactly its expected blocks, and a
//! script with none fails as having no checks. `tests/scripts/fixtures/` holds files the
//! scripts `.read`, not tests. `cargo test --test scripts NAME` runs the matching scripts;
//! `QUARRY_UPDATE=1 cargo test --test scripts [NAME]` rewrites their expected blocks.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use quarry::script::{test_file, update_file, update_requested};

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts");
    let trials = match scripts(&dir) {
        Ok(files) if !files.is_empty() => files.into_iter().map(trial).collect(),
        Ok(_) => vec![failing(
            "scripts",
            format!("no .qry scripts in {}", dir.display()),
        )],
        Err(err) => vec![failing(
            "scripts",
            format!("cannot list {}: {err}", dir.display()),
        )],
    };
    libtest_mimic::run(&args, trials).exit();
}

/// The `.qry` files directly in `dir` (not in its subfolders, such as `fixtures/`), sorted.
fn scripts(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "qry") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn trial(file: PathBuf) -> Trial {
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    Trial::test(format!("scripts::{stem}"), move || check(&file))
}

fn failing(name: &str, message: String) -> Trial {
    Trial::test(name, move || Err(message.into()))
}

/// Runs one script and compares (or, with `QUARRY_UPDATE=1`, rewrites) its expected blocks.
fn check(file: &Path) -> Result<(), Failed> {
    let report = test_file(file, None)?;
    // Checks made in files it `.read`s are not its own.
    let own = report.checks.iter().filter(|c| c.file == file).count();
    if own == 0 {
        return Err(format!(
            "{}: no checks: the script has no expected block (`----`), so it tests nothing",
            file.display()
        )
        .into());
    }
    let failures = report.failures();
    if update_requested() {
        return Ok(update_file(file, &failures)?);
    }
    if failures.is_empty() {
        return Ok(());
    }
    let diffs: Vec<String> = failures.iter().map(|c| c.diff()).collect();
    Err(format!("{}\n{}", diffs.join("\n"), report.summary()).into())
}
