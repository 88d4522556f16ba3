//! `quarry run` and `quarry test` through the binary: passing and failing scripts, the diff
//! and exit code, `--update`, expected errors, relative paths and `.read`.

use std::path::Path;
use std::process::Command;

fn quarry(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const PASSING: &str = "-- setup lives in another file\n.read data/setup.qry\n\ncount from t\n----\n2\n\nselect a from t where a > 1\n----\n┌───┐\n│ a │\n╞═══╡\n│ 2 │\n└───┘\n\nfrom nowhere\n----\nerror: collection `nowhere` not found (collections: t)\n";

#[test]
fn a_passing_script_passes_with_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "data/setup.qry",
        "insert into t [{a: 1}, {a: 2}]\n",
    );
    write(dir.path(), "ok.qry", PASSING);
    let (code, out, err) = quarry(&["test", "ok.qry"], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("3 passed, 0 failed\n"), "{out}");
}

#[test]
fn a_failing_script_shows_a_diff_with_file_and_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "data/setup.qry",
        "insert into t [{a: 1}, {a: 2}]\n",
    );
    write(
        dir.path(),
        "bad.qry",
        &PASSING.replace("----\n2\n", "----\n3\n"),
    );
    let (code, out, _) = quarry(&["test", "."], dir.path());
    assert_eq!(code, 1);
    assert!(
        out.contains("bad.qry:4: output differs for:\n  count from t\n"),
        "{out}"
    );
    assert!(out.contains("- 3\n+ 2\n"), "{out}");
    assert!(out.ends_with("2 passed, 1 failed\n"), "{out}");
}

#[test]
fn update_rewrites_expected_blocks_keeping_comments_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "data/setup.qry",
        "insert into t [{a: 1}, {a: 2}]\n",
    );
    let stale = PASSING.replace("----\n2\n", "----\nold\nlines\n");
    write(dir.path(), "u.qry", &stale);
    let (code, _, _) = quarry(&["test", "--update", "u.qry"], dir.path());
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("u.qry")).unwrap(),
        PASSING
    );
    // The environment variable does the same.
    write(dir.path(), "u.qry", &stale);
    let out = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["test", "u.qry"])
        .current_dir(dir.path())
        .env("QUARRY_UPDATE", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("u.qry")).unwrap(),
        PASSING
    );
}

#[test]
fn run_prints_outputs_and_stops_at_the_first_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.qry",
        "insert into t {a: 1}\n.mode ndjson\nfrom t\nfrom t whre a = 1\ncount from t\n",
    );
    let (code, out, err) = quarry(&["run", "--db", "x.db", "s.qry"], dir.path());
    assert_eq!(code, 1);
    assert_eq!(out, "inserted 1 document\n{\"_id\":1,\"a\":1}\n");
    // The warning that the insert created `t` comes first, on stderr as in the shell.
    assert!(
        err.starts_with("warning: created collection `t`\ns.qry:4: error: unexpected `whre`"),
        "{err}"
    );
    assert!(err.contains("--> s.qry:4:8"), "{err}");
    // What ran before the error stays in the database.
    let (code, out, _) = quarry(&["exec", "--db", "x.db", "count from t"], dir.path());
    assert_eq!((code, out.as_str()), (0, "1\n"));
}

#[test]
fn test_runs_each_file_on_a_fresh_database_or_a_copy_of_db() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.qry",
        "insert into t {a: 1}\n----\ninserted 1 document\nwarning: created collection `t`\n\ncount from t\n----\n1\n",
    );
    write(
        dir.path(),
        "b.qry",
        "insert into t {a: 1}\n----\ninserted 1 document\nwarning: created collection `t`\n\ncount from t\n----\n1\n",
    );
    let (code, out, _) = quarry(&["test", "a.qry", "b.qry"], dir.path());
    assert_eq!(code, 0, "{out}");
    // With --db, each file starts from a copy: the original is untouched.
    let (code, _, _) = quarry(
        &["exec", "--db", "base.db", "insert into t [{a: 5}, {a: 6}]"],
        dir.path(),
    );
    assert_eq!(code, 0);
    write(
        dir.path(),
        "c.qry",
        "count from t\n----\n2\n\ndelete from t all\n----\ndeleted 2 documents\n",
    );
    let (code, out, _) = quarry(&["test", "--db", "base.db", "c.qry"], dir.path());
    assert_eq!(code, 0, "{out}");
    let (_, out, _) = quarry(&["exec", "--db", "base.db", "count from t"], dir.path());
    assert_eq!(out, "2\n");
}

#[test]
fn assert_scripts_is_a_one_line_test_for_users_crates() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "data/setup.qry",
        "insert into t [{a: 1}, {a: 2}]\n",
    );
    write(dir.path(), "ok.qry", PASSING);
    quarry::script::assert_scripts(dir.path());
    write(
        dir.path(),
        "ok.qry",
        &PASSING.replace("----\n2\n", "----\n9\n"),
    );
    let failed = std::panic::catch_unwind(|| quarry::script::assert_scripts(dir.path()));
    let message = *failed.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("- 9\n+ 2"), "{message}");
}
