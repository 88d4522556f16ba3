//! The command line does not surprise: reads create nothing, a path that is no database says
//! so, a closed pipe ends a command quietly, a long statement's error shows a window of it,
//! and `quarry test` does not count a file without checks as a passing test.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn quarry_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("QUARRY_DB")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `quarry exec --db x.db ARGS...` in `dir`.
fn exec_x(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["exec", "--db", "x.db"];
    all.extend_from_slice(args);
    quarry_in(dir, &all)
}

#[test]
fn a_read_on_a_missing_database_creates_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = quarry_in(
        dir.path(),
        &["exec", "--db", "missing/sub/x.db", "count from a"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.err.contains("no database at missing/sub/x.db"),
        "{}",
        run.err
    );
    assert!(!dir.path().join("missing").exists());
    for args in [
        &["check", "--db", "missing/x.db"][..],
        &["export", "--db", "missing/x.db", "a"][..],
    ] {
        let run = quarry_in(dir.path(), args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(run.err.contains("no database at"), "{args:?}: {}", run.err);
    }
    assert!(!dir.path().join("missing").exists());
    // A statement that does not parse is reported as such, still without creating anything.
    let run = quarry_in(
        dir.path(),
        &["exec", "--db", "missing/x.db", "count fron a"],
    );
    assert!(run.err.contains("error:"), "{}", run.err);
    assert!(!dir.path().join("missing").exists());
    // A write creates the database.
    let run = quarry_in(
        dir.path(),
        &["exec", "--db", "made.db", "insert into a {x: 1}"],
    );
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(dir.path().join("made.db").is_dir());
}

#[test]
fn a_path_that_is_not_a_database_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("garbage.db"), b"not a database at all").unwrap();
    std::fs::create_dir(dir.path().join("folder.db")).unwrap();
    std::fs::write(dir.path().join("folder.db/db"), vec![0x5a; 4096]).unwrap();
    std::fs::write(dir.path().join("folder.db/notes.txt"), b"mine").unwrap();
    for name in ["garbage.db", "folder.db"] {
        let run = quarry_in(dir.path(), &["exec", "--db", name, "count from a"]);
        assert_eq!(run.code, 1);
        assert!(
            run.err.contains(&format!(
                "{name} is not a quarry database, or it is damaged"
            )),
            "{}",
            run.err
        );
    }
    // Nothing was written over the files that were there.
    assert_eq!(
        std::fs::read(dir.path().join("folder.db/db")).unwrap(),
        vec![0x5a; 4096]
    );
    assert!(!dir.path().join("folder.db/conf").exists());
}

#[test]
fn a_closed_pipe_ends_a_command_quietly_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("rows.ndjson");
    let mut file = std::fs::File::create(&data).unwrap();
    for i in 0..20_000 {
        writeln!(
            file,
            r#"{{"n": {i}, "text": "row number {i} with some text"}}"#
        )
        .unwrap();
    }
    drop(file);
    let run = quarry_in(dir.path(), &["import", "--db", "x.db", "t", "rows.ndjson"]);
    assert_eq!(run.code, 0, "{}", run.err);
    for args in [
        &[
            "exec",
            "--db",
            "x.db",
            "--format",
            "ndjson",
            "select n, text from t",
        ][..],
        &["export", "--db", "x.db", "t"][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line, as `head -1` would, and close the pipe.
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.contains("\"n\""), "{first}");
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn an_error_in_a_long_statement_shows_a_window_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let statement = format!("count from t where a = \"{}\" and and", "x".repeat(500_000));
    let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["--db", "x.db"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(statement.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(run.err.len() < 2_000, "{} bytes of error", run.err.len());
    assert!(run.err.contains("…"), "{}", run.err);
}

#[test]
fn test_lists_files_without_checks_instead_of_passing_them() {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("queries");
    std::fs::create_dir(&scripts).unwrap();
    std::fs::write(scripts.join("setup.qry"), "insert into t {a: 1}\n").unwrap();
    std::fs::write(
        scripts.join("count.qry"),
        ".read setup.qry\ncount from t\n----\n1\n",
    )
    .unwrap();
    let run = quarry_in(dir.path(), &["test", "queries"]);
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
    assert!(run.out.contains("no checks: "), "{}", run.out);
    assert!(run.out.contains("setup.qry"), "{}", run.out);
    assert!(run.out.ends_with("1 passed, 0 failed\n"), "{}", run.out);
}

#[test]
fn reading_a_missing_script_names_the_file_not_line_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.qry"), ".read nowhere.qry\n").unwrap();
    let run = quarry_in(dir.path(), &["run", "--db", "x.db", "main.qry"]);
    assert_eq!(run.code, 1);
    assert!(!run.err.contains(":0"), "{}", run.err);
    assert!(run.err.contains("nowhere.qry"), "{}", run.err);
    assert!(run.err.contains("main.qry:1"), "{}", run.err);
}

#[test]
fn an_empty_answer_in_a_table_says_so_and_machine_formats_print_only_data() {
    let dir = tempfile::tempdir().unwrap();
    let run = exec_x(dir.path(), &["insert into t {a: 1}"]);
    assert_eq!(run.code, 0, "{}", run.err);
    assert_eq!(exec_x(dir.path(), &["from t where a = 2"]).out, "0 rows\n");
    let json = exec_x(dir.path(), &["--format", "json", "from t where a = 2"]);
    assert_eq!(json.out, "[]\n");
    let csv = exec_x(dir.path(), &["--format", "csv", "from t where a = 2"]);
    assert_eq!(csv.out, "");
}

#[test]
fn warnings_go_to_stderr_beside_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let run = exec_x(
        dir.path(),
        &["insert into articles {org: 'ICC', year: 2021}"],
    );
    assert_eq!(run.err, "warning: created collection `articles`\n");
    let question = "count from articles where org = 'ICC' and yaer >= 2020";
    let run = exec_x(dir.path(), &["--format", "json", question]);
    assert_eq!((run.code, run.out.as_str()), (0, "0\n"));
    assert_eq!(
        run.err,
        "warning: no document in articles has field `yaer`; did you mean `year`?\n"
    );
}

#[test]
fn ctrl_c_stops_an_import_cleanly_and_rolls_it_back_there_and_then() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("big.ndjson");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&data).unwrap());
    for i in 0..400_000 {
        writeln!(
            file,
            r#"{{"n": {i}, "text": "a line of text for row {i}"}}"#
        )
        .unwrap();
    }
    drop(file);
    let run = quarry_in(
        dir.path(),
        &["exec", "--db", "x.db", "insert into t {n: -1}"],
    );
    assert_eq!(run.code, 0, "{}", run.err);
    let child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["import", "--db", "x.db", "t", "big.ndjson"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    // SAFETY: sends SIGINT to the child this test started and still owns.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("interrupted: nothing imported"),
        "status {:?}: {err}",
        out.status
    );
    assert_eq!(out.status.code(), Some(1));
    let run = quarry_in(dir.path(), &["exec", "--db", "x.db", "count from t"]);
    assert_eq!((run.code, run.out.as_str()), (0, "1\n"), "{}", run.err);
    let run = quarry_in(dir.path(), &["check", "--db", "x.db"]);
    assert_eq!(run.code, 0, "{}{}", run.out, run.err);
}

#[test]
fn compact_reports_the_sizes_and_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let run = quarry_in(dir.path(), &["compact", "--db", "missing.db"]);
    assert_eq!(run.code, 1);
    assert!(run.err.contains("no database at missing.db"), "{}", run.err);
    assert!(!dir.path().join("missing.db").exists());
    let run = exec_x(
        dir.path(),
        &["insert into t {a: 1}; update t set a = 2 where a = 1"],
    );
    assert_eq!(run.code, 0, "{}", run.err);
    let run = quarry_in(dir.path(), &["compact", "--db", "x.db"]);
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(run.out.starts_with("compacted: "), "{}", run.out);
    assert!(run.out.contains(" MB -> "), "{}", run.out);
    assert_eq!(exec_x(dir.path(), &["count from t where a = 2"]).out, "1\n");
}
