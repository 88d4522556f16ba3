//! The `quarry` command end to end: subcommands, formats, exit codes and error messages.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn quarry_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("QUARRY_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let run = quarry_in(
        dir.path(),
        &[
            "exec",
            "--db",
            "news.db",
            r#"create index on t (org); insert into t [{org: "ICC", n: {k: 1}}, {org: "HRW", tags: ["a"]}]"#,
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.err);
    assert_eq!(
        run.out,
        "created index t_org on t (org)\ninserted 2 documents\n"
    );
    dir
}

#[test]
fn exec_prints_every_format() {
    let dir = setup();
    let q = |format: &str, statement: &str| {
        quarry_in(
            dir.path(),
            &["exec", "--db", "news.db", "--format", format, statement],
            None,
        )
    };
    assert_eq!(q("json", "count from t").out, "2\n");
    assert_eq!(
        q("json", "select org from t order by org").out,
        "[\n  {\n    \"org\": \"HRW\"\n  },\n  {\n    \"org\": \"ICC\"\n  }\n]\n"
    );
    assert_eq!(
        q("ndjson", "from t").out,
        "{\"_id\":1,\"org\":\"ICC\",\"n\":{\"k\":1}}\n{\"_id\":2,\"org\":\"HRW\",\"tags\":[\"a\"]}\n"
    );
    assert_eq!(
        q("csv", "from t").out,
        "_id,org,n,tags\n1,ICC,\"{\"\"k\"\":1}\",\n2,HRW,,\"[\"\"a\"\"]\"\n"
    );
    let table = q("table", "select org from t where org = 'ICC'").out;
    assert!(table.contains("│ ICC │"), "{table}");
    let bad = q("xml", "count");
    assert_eq!(bad.code, 2);
    assert!(bad.err.contains("unknown output mode `xml`"), "{}", bad.err);
}

#[test]
fn exec_binds_parameters() {
    let dir = setup();
    let run = quarry_in(
        dir.path(),
        &[
            "exec",
            "--db",
            "news.db",
            "--format",
            "ndjson",
            "--param",
            "org=ICC",
            "--param",
            "1=2",
            "select org from t where org = $org or _id = $1 order by org",
        ],
        None,
    );
    assert_eq!(
        run.out, "{\"org\":\"HRW\"}\n{\"org\":\"ICC\"}\n",
        "{}",
        run.err
    );
}

#[test]
fn a_syntax_error_shows_the_caret_on_stderr_and_exits_1() {
    let dir = setup();
    let run = quarry_in(
        dir.path(),
        &["exec", "--db", "news.db", "from t whre org = 1"],
        None,
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.out, "");
    assert_eq!(
        run.err,
        "error: unexpected `whre`: expected `where`, `group by`, `order by`, `limit`, `offset` or the end of the statement\n --> line 1, column 8\n  |\n1 | from t whre org = 1\n  |        ^\n  = hint: did you mean `where`?\n"
    );
}

#[test]
fn runtime_errors_exit_1_with_one_line() {
    let dir = setup();
    let run = quarry_in(
        dir.path(),
        &["exec", "--db", "news.db", "count from nope"],
        None,
    );
    assert_eq!(
        (run.code, run.err.as_str()),
        (1, "error: collection `nope` not found (collections: t)\n")
    );
}

#[test]
fn a_locked_database_is_a_one_line_error() {
    let dir = setup();
    let _held = quarry::Db::open(dir.path().join("news.db")).unwrap();
    let run = quarry_in(
        dir.path(),
        &["exec", "--db", "news.db", "count from t"],
        None,
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.err.lines().count(), 1, "{}", run.err);
    assert!(
        run.err
            .contains("is locked: another quarry process has it open"),
        "{}",
        run.err
    );
}

#[test]
fn statements_come_from_stdin_when_it_is_not_a_terminal() {
    let dir = setup();
    let run = quarry_in(
        dir.path(),
        &["--db", "news.db"],
        Some("count from t;\ncount from t where org = 'ICC'\n"),
    );
    assert_eq!((run.code, run.out.as_str()), (0, "2\n1\n"), "{}", run.err);
    // The default database is $QUARRY_DB, else ./quarry.db.
    let run = quarry_in(dir.path(), &[], Some("insert into x {a: 1}"));
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(dir.path().join("quarry.db").exists());
}

#[test]
fn check_reports_and_repairs() {
    let dir = setup();
    let run = quarry_in(dir.path(), &["check", "--db", "news.db"], None);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.out,
        "checked 1 collections, 2 documents, 2 index entries: no problems\n"
    );
    let run = quarry_in(dir.path(), &["check", "--repair", "--db", "news.db"], None);
    assert_eq!(run.code, 0, "{}", run.out);
}

#[test]
fn demo_without_a_terminal_prints_real_results_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let run = quarry_in(dir.path(), &["demo"], None);
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(run.out.contains("15 sample articles"), "{}", run.out);
    assert!(
        run.out
            .contains("articles> count where org is not null by org")
    );
    // The first chart leads with an organisation, not with the pages that name none.
    let chart = run.out.split("by org\n").nth(1).unwrap();
    let first_row = chart.lines().nth(3).unwrap();
    assert!(first_row.starts_with("│ ICC "), "{}", run.out);
    assert!(
        !chart.split("\n\n").next().unwrap().contains("null"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("Index scan articles_org_year"),
        "{}",
        run.out
    );
    assert!(
        run.out
            .contains("Coral nurseries double their survival rate"),
        "{}",
        run.out
    );
}

#[test]
fn every_subcommand_has_help_with_an_example_and_bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for sub in [
        "exec", "demo", "check", "run", "test", "import", "export", "compact",
    ] {
        let run = quarry_in(dir.path(), &[sub, "--help"], None);
        assert_eq!(run.code, 0, "{sub}");
        assert!(run.out.contains("Example"), "{sub}: {}", run.out);
        assert!(run.out.contains("--db"), "{sub}: {}", run.out);
    }
    let run = quarry_in(dir.path(), &["--version"], None);
    assert!(run.out.starts_with("quarry "), "{}", run.out);
    let run = quarry_in(dir.path(), &["frobnicate"], None);
    assert_eq!(run.code, 2);
    let run = quarry_in(dir.path(), &["exec"], None);
    assert_eq!(run.code, 2);
}

#[test]
fn import_and_export_through_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    let articles = data.join("articles");
    let run = quarry_in(
        dir.path(),
        &[
            "import",
            "--db",
            "n.db",
            "articles",
            articles.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(
        run.out
            .starts_with("imported 15 documents into articles in "),
        "{}",
        run.out
    );
    assert!(
        run.err.contains(
            "warning: undated-kayak-club-memo.txt: no dateline or header found; not found: date"
        ),
        "{}",
        run.err
    );
    // From stdin, NDJSON.
    let run = quarry_in(
        dir.path(),
        &["import", "--db", "n.db", "s", "-"],
        Some("{\"a\": 1}\n{\"a\": 2}\n"),
    );
    assert!(
        run.out.starts_with("imported 2 documents into s"),
        "{}{}",
        run.out,
        run.err
    );
    // A bad record: exit 1, FILE:LINE, nothing imported.
    std::fs::write(dir.path().join("bad.ndjson"), "{\"a\": 1}\nnot json\n").unwrap();
    let run = quarry_in(
        dir.path(),
        &["import", "--db", "n.db", "s", "bad.ndjson"],
        None,
    );
    assert_eq!(run.code, 1);
    assert!(run.err.contains("bad.ndjson:2: "), "{}", run.err);
    let run = quarry_in(dir.path(), &["exec", "--db", "n.db", "count from s"], None);
    assert_eq!(run.out, "2\n");
    // Export to a file and to stdout.
    let run = quarry_in(
        dir.path(),
        &[
            "export", "--db", "n.db", "s", "--format", "csv", "--where", "a > 1",
        ],
        None,
    );
    assert_eq!(run.out, "_id,a\n2,2\n");
    let run = quarry_in(
        dir.path(),
        &["export", "--db", "n.db", "articles", "-o", "a.ndjson"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.err);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.ndjson"))
            .unwrap()
            .lines()
            .count(),
        15
    );
}

/// `import --dry-run` reads and checks every record, writes nothing (no database is created),
/// shows for each article the fields found and the rule behind each, and still fails on a bad
/// record with its place.
#[test]
fn import_dry_run_checks_everything_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let articles = dir.path().join("in");
    std::fs::create_dir(&articles).unwrap();
    std::fs::write(
        articles.join("wire.txt"),
        "Dams open early\n\nBy Ana Reyes\n\nMADRID, 2 de junio de 2020 (Fundación Agua Limpia) – Los embalses abren.\n",
    )
    .unwrap();
    let run = quarry_in(
        dir.path(),
        &["import", "--db", "x.db", "a", "in", "--dry-run"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(
        !dir.path().join("x.db").exists(),
        "a dry run created the database"
    );
    for expected in [
        "wire.txt (dateline)",
        "  title     Dams open early  (the headline above the story)",
        "  date      2020-06-02  (the dateline)",
        "  org       FAL  (the dateline's parentheses)",
        "  location  MADRID  (the dateline)",
        "  author    Ana Reyes  (the byline `By`)",
        "  tags      null  (not found)",
        "dry run: 1 document read and checked for a (not against its unique indexes or --key); nothing was written",
    ] {
        assert!(
            run.out.contains(expected),
            "{expected:?} not in:\n{}",
            run.out
        );
    }
    std::fs::write(dir.path().join("bad.ndjson"), "{\"a\": 1}\n{\"a\": \n").unwrap();
    let run = quarry_in(
        dir.path(),
        &["import", "--db", "x.db", "b", "bad.ndjson", "--dry-run"],
        None,
    );
    assert_eq!(run.code, 1);
    assert!(run.err.contains("bad.ndjson:2"), "{}", run.err);
    assert!(!dir.path().join("x.db").exists());
    // On an existing database, a dry run leaves it as it was.
    quarry_in(
        dir.path(),
        &["exec", "--db", "y.db", "insert into b {a: 0}"],
        None,
    );
    std::fs::write(dir.path().join("good.ndjson"), "{\"a\": 1}\n{\"a\": 2}\n").unwrap();
    let run = quarry_in(
        dir.path(),
        &["import", "--db", "y.db", "b", "good.ndjson", "--dry-run"],
        None,
    );
    assert!(
        run.out
            .contains("dry run: 2 documents read and checked for b"),
        "{}",
        run.out
    );
    let count = quarry_in(dir.path(), &["exec", "--db", "y.db", "count from b"], None);
    assert_eq!(count.out.trim(), "1");
}

/// `quarry sql` prints the PostgreSQL translation of a statement (no database needed), and a
/// statement without an exact translation is an error that says so.
#[test]
fn sql_prints_the_postgresql_translation_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let run = quarry_in(
        dir.path(),
        &[
            "sql",
            "count from articles where org = 'ICC' and year >= 2020",
            "--schema",
            "news",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.err);
    assert_eq!(
        run.out,
        "select count(*) from \"news\".\"articles\" where (doc @? '$ ? (@.\"org\" == \"ICC\")' and doc @? '$ ? (exists(@.\"year\" ? (@.type() == \"number\" && @ >= 2020)))');\n"
    );
    let run = quarry_in(dir.path(), &["sql", "select lower(title) from a"], None);
    assert_eq!(run.code, 1);
    assert!(
        run.err.contains("`lower`") && run.err.contains("has no exact PostgreSQL translation"),
        "{}",
        run.err
    );
    // Parameters are named after the statement.
    let run = quarry_in(
        dir.path(),
        &["sql", "from a where org = $org order by _id limit $1"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(
        run.out
            .ends_with("\n-- parameters (jsonb values): $1 is $org, $2 is $1\n"),
        "{}",
        run.out
    );
    // `explain sql` is a statement: `quarry exec` and piped statements run it too, over the
    // current collection.
    let elsewhere = tempfile::tempdir().unwrap();
    let run = quarry_in(
        elsewhere.path(),
        &[
            "exec",
            "insert into a {x: 1}; use a; explain sql count where x = 1",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.err);
    assert!(
        run.out.ends_with(
            "select count(*) from \"public\".\"a\" where doc @? '$ ? (@.\"x\" == 1)';\n"
        ),
        "{}",
        run.out
    );
    let run = quarry_in(dir.path(), &["sql", "form a"], None);
    assert_eq!(run.code, 1);
    assert!(run.err.contains("^"), "{}", run.err);
    assert!(!dir.path().join("quarry.db").exists());
}

/// `--compress` creates a missing database compressed; an existing one keeps how it was made,
/// whatever the flag, and `compact` keeps it too.
#[test]
fn compress_makes_a_new_database_compressed_and_an_old_one_keeps_its_way() {
    let dir = tempfile::tempdir().unwrap();
    let compressed = |name: &str| {
        // sled's settings file: lines of text, then a checksum.
        let conf = std::fs::read(dir.path().join(name).join("conf")).unwrap();
        String::from_utf8_lossy(&conf).contains("use_compression: true")
    };
    for (name, flag) in [("packed.db", true), ("plain.db", false)] {
        let mut args = vec!["--db", name, "exec", "insert into t [{a: 1}, {a: 2}]"];
        if flag {
            args.insert(2, "--compress");
        }
        assert_eq!(quarry_in(dir.path(), &args, None).code, 0);
        assert_eq!(compressed(name), flag, "{name}");
        // The other way asked for later: the database stays as it was made, and opens.
        let mut again = vec!["--db", name, "exec", "count from t"];
        if !flag {
            again.insert(2, "--compress");
        }
        let run = quarry_in(dir.path(), &again, None);
        assert_eq!((run.code, run.out.trim()), (0, "2"), "{}", run.err);
        assert_eq!(compressed(name), flag, "{name}");
        assert_eq!(
            quarry_in(dir.path(), &["--db", name, "compact"], None).code,
            0
        );
        assert_eq!(compressed(name), flag, "{name} after compact");
    }
}
