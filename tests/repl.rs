//! The shell through a pseudo-terminal, typed like a person (who waits for the prompt before
//! typing): a multi-line statement with its `...>` continuation, Tab completing a field path,
//! Ctrl-C clearing the line, dot-commands, history after a restart, a transaction in the
//! prompt, and Ctrl-D to leave.

use std::process::Command;
use std::time::Duration;

use expectrl::session::OsSession;
use expectrl::{ControlCode, Eof, Expect, Session};

const PROMPT: &str = "news.db> ";

fn shell(dir: &std::path::Path) -> OsSession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quarry"));
    command.args(["--db", "news.db"]);
    spawn(command, dir)
}

/// Runs `command` in `dir` on a pseudo-terminal, as the shell's tests need it.
fn spawn(mut command: Command, dir: &std::path::Path) -> OsSession {
    if !command.get_envs().any(|(name, _)| name == "NO_COLOR") {
        command.env("NO_COLOR", "1");
    }
    command
        .current_dir(dir)
        .env("TERM", "xterm")
        .env("QUARRY_HISTORY", dir.join("history.txt"));
    let mut session = Session::spawn(command).unwrap();
    // Shared CI machines are slow: be patient.
    session.set_expect_timeout(Some(Duration::from_secs(30)));
    session
}

/// Waits for the prompt, then types a line and presses Enter.
fn type_line(q: &mut OsSession, line: &str) {
    q.expect(PROMPT).unwrap();
    q.send_line(line).unwrap();
}

#[test]
fn a_person_uses_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let mut q = shell(dir.path());
    type_line(
        &mut q,
        r#"insert into articles [{org: "ICC", author: {name: "Ada"}}, {org: "HRW"}]"#,
    );
    q.expect("inserted 2 documents").unwrap();

    // A statement that is not finished continues on a `...>` line.
    type_line(&mut q, "select org from articles where");
    q.expect("...> ").unwrap();
    q.send_line(r#"org = "ICC""#).unwrap();
    q.expect("1 row").unwrap();

    // Tab completes a field path from the collection's documents.
    q.expect(PROMPT).unwrap();
    q.send("select auth").unwrap();
    q.send(ControlCode::HorizontalTabulation).unwrap();
    q.send(".na").unwrap();
    q.send(ControlCode::HorizontalTabulation).unwrap();
    q.send_line(" from articles where exists author").unwrap();
    q.expect("author.name").unwrap();
    q.expect("Ada").unwrap();

    // Ctrl-C clears the line being typed and the shell goes on.
    q.expect(PROMPT).unwrap();
    q.send("count where this is not finished").unwrap();
    q.send(ControlCode::EndOfText).unwrap();
    type_line(&mut q, "count");
    q.expect("2\r\n(").unwrap();

    // A question over two lines, and a function name completed by Tab.
    type_line(&mut q, ".mode ndjson");
    type_line(&mut q, "select org, count() as n from articles group by");
    q.expect("...> ").unwrap();
    q.send_line("org order by n desc, org").unwrap();
    q.expect(r#"{"org":"HRW","n":1}"#).unwrap();
    q.expect(PROMPT).unwrap();
    q.send("select coal").unwrap();
    q.send(ControlCode::HorizontalTabulation).unwrap();
    q.send_line(r#"author.name, "?") as who from articles where org = "HRW""#)
        .unwrap();
    q.expect(r#"{"who":"?"}"#).unwrap();
    type_line(&mut q, ".help functions");
    q.expect("coalesce(a, b, ...)").unwrap();

    // Dot-commands.
    type_line(&mut q, ".mode ndjson");
    type_line(&mut q, "select org from articles order by org");
    q.expect(r#"{"org":"HRW"}"#).unwrap();
    type_line(&mut q, ".nope");
    q.expect("unknown command `.nope`").unwrap();

    // Ctrl-D leaves.
    q.expect(PROMPT).unwrap();
    q.send(ControlCode::EndOfTransmission).unwrap();
    q.expect(Eof).unwrap();

    // History survives a restart: Up twice brings back the last query.
    let mut q = shell(dir.path());
    q.expect(PROMPT).unwrap();
    q.send("\x1b[A").unwrap();
    q.send("\x1b[A").unwrap();
    q.send("\r").unwrap();
    q.expect("2 rows").unwrap();
    type_line(&mut q, ".quit");
    q.expect(Eof).unwrap();
}

#[test]
fn a_pasted_statement_arrives_whole_and_params_bind_in_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let mut q = shell(dir.path());
    type_line(
        &mut q,
        "insert into notes [{k: 1, t: 'one'}, {k: 2, t: 'two'}]",
    );
    q.expect("inserted 2 documents").unwrap();

    // Tab completes what fits the place: after a comparison, a value the field holds.
    q.expect(PROMPT).unwrap();
    q.send("count from notes where t = \"tw").unwrap();
    q.send(ControlCode::HorizontalTabulation).unwrap();
    q.send("\r").unwrap();
    q.expect("1\r\n").unwrap();

    // Three lines in one write, as a paste arrives: none of them is lost.
    q.expect(PROMPT).unwrap();
    q.send("select t from notes\nwhere k =\n2\n").unwrap();
    q.expect("two").unwrap();
    q.expect("1 row").unwrap();

    // `.param` binds `$name` for the statements that follow.
    type_line(&mut q, ".param set k 1");
    type_line(&mut q, ".param set label \"one\"");
    type_line(&mut q, ".param list");
    q.expect("$k = 1").unwrap();
    q.expect("$label = \"one\"").unwrap();
    type_line(&mut q, "select t from notes where k = $k and t = $label");
    q.expect("one").unwrap();
    q.expect("1 row").unwrap();
    type_line(&mut q, ".param unset k");
    type_line(&mut q, "count from notes where k = $k");
    q.expect("error: ").unwrap();
    type_line(&mut q, ".param clear");
    type_line(&mut q, ".param list");
    q.expect("no parameters").unwrap();
    type_line(&mut q, ".quit");
    q.expect(Eof).unwrap();
}

#[test]
fn ctrl_c_stops_a_long_result_while_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("rows.ndjson");
    let rows: String = (0..50_000)
        .map(|i| format!("{{\"n\": {i}, \"text\": \"row {i}\"}}\n"))
        .collect();
    std::fs::write(&data, rows).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["import", "--db", "news.db", "t", "rows.ndjson"])
        .current_dir(dir.path())
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    let mut q = shell(dir.path());
    type_line(&mut q, ".mode line");
    type_line(&mut q, "select n, text from t");
    q.expect("n = 100").unwrap();
    q.send(ControlCode::EndOfText).unwrap();
    let printed = q.expect("interrupted").unwrap();
    let before = String::from_utf8_lossy(printed.before()).into_owned();
    assert!(!before.contains("50000 rows"), "the whole result came out");
    type_line(&mut q, "count from t");
    q.expect("50000").unwrap();
    type_line(&mut q, ".quit");
    q.expect(Eof).unwrap();
}

#[test]
fn in_machine_formats_the_rows_footer_goes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let err_file = dir.path().join("err.txt");
    let mut command = Command::new("sh");
    command.args([
        "-c",
        &format!(
            "exec '{}' --db news.db 2>'{}'",
            env!("CARGO_BIN_EXE_quarry"),
            err_file.display()
        ),
    ]);
    let mut q = spawn(command, dir.path());
    type_line(&mut q, "insert into t {a: 1}");
    q.expect("inserted 1 document").unwrap();
    type_line(&mut q, ".timer off");
    type_line(&mut q, ".mode json");
    type_line(&mut q, "from t");
    let json = q.expect("]").unwrap();
    assert!(String::from_utf8_lossy(json.before()).contains("\"a\": 1"));
    let after = q.expect(PROMPT).unwrap();
    let after = String::from_utf8_lossy(after.before()).into_owned();
    assert!(!after.contains("row"), "the footer reached stdout: {after}");
    q.send_line(".mode line").unwrap();
    type_line(&mut q, "from t");
    q.expect("1 row").unwrap();
    type_line(&mut q, ".quit");
    q.expect(Eof).unwrap();
    let err = std::fs::read_to_string(&err_file).unwrap();
    assert_eq!(err.matches("1 row").count(), 1, "{err}");
}

/// On a colour terminal, `snippet()` marks the matching words in bold in tables and lines,
/// and with `[ ]` in machine formats.
#[test]
fn snippets_are_bold_on_a_colour_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_quarry"));
    command.args(["--db", "news.db"]).env("NO_COLOR", "");
    let mut q = spawn(command, dir.path());
    type_line(
        &mut q,
        "create text index on notes (body); insert into notes {body: 'Coral reefs bleach.'}",
    );
    q.expect("inserted 1 document").unwrap();
    type_line(
        &mut q,
        "select snippet(body) as s from notes where search 'reef'",
    );
    q.expect("Coral \x1b[1mreefs\x1b[22m bleach.").unwrap();
    q.expect("1 row").unwrap();
    type_line(&mut q, ".mode json");
    type_line(
        &mut q,
        "select snippet(body) as s from notes where search 'reef'",
    );
    q.expect("Coral [reefs] bleach.").unwrap();
    type_line(&mut q, ".quit");
    q.expect(Eof).unwrap();
}

/// `begin` puts a `*` in the prompt until `commit` or `rollback`; leaving the shell with a
/// transaction open rolls it back and says so, and its writes are not there next time.
#[test]
fn the_prompt_shows_an_open_transaction_and_leaving_rolls_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut q = shell(dir.path());
    type_line(&mut q, "insert into t {a: 1}");
    q.expect("inserted 1 document").unwrap();
    type_line(&mut q, "begin");
    q.expect("began a transaction").unwrap();
    q.expect("news.db*> ").unwrap();
    q.send_line("update t set a = 2 where a = 1").unwrap();
    q.expect("updated 1 document").unwrap();
    q.expect("news.db*> ").unwrap();
    q.send_line("commit").unwrap();
    q.expect("committed").unwrap();
    type_line(&mut q, "begin; insert into t {a: 3}");
    q.expect("inserted 1 document").unwrap();
    q.expect("news.db*> ").unwrap();
    q.send(ControlCode::EndOfTransmission).unwrap();
    q.expect("rolled back the open transaction").unwrap();
    q.expect(Eof).unwrap();
    let mut q = shell(dir.path());
    type_line(&mut q, ".mode json");
    type_line(&mut q, "select a from t");
    q.expect(r#""a": 2"#).unwrap();
    type_line(&mut q, "count from t");
    q.expect("1\r\n").unwrap();
    type_line(&mut q, ".quit");
    q.expect(Eof).unwrap();
}

/// `explain sql` in the shell prints the PostgreSQL translation, for the current collection
/// when the statement names none.
#[test]
fn explain_sql_prints_the_postgresql_translation() {
    let dir = tempfile::tempdir().unwrap();
    let mut q = shell(dir.path());
    type_line(&mut q, "insert into t {a: 1}");
    q.expect("inserted 1 document").unwrap();
    type_line(&mut q, "use t");
    q.expect("using t").unwrap();
    q.expect("news.db:t> ").unwrap();
    q.send_line("explain sql where a > 1 order by a desc limit 2")
        .unwrap();
    q.expect(r#"select id, doc from "public"."t" where doc @? '$ ? (exists(@."a" ? (@.type() == "number" && @ > 1)))' order by quarry.key(jsonb_path_query_first(doc, 'lax $."a"')) desc, id desc limit 2;"#).unwrap();
    q.expect("news.db:t> ").unwrap();
    q.send_line(".quit").unwrap();
    q.expect(Eof).unwrap();
}

/// Creating an index over stored documents draws a bar on the terminal while it fills, then
/// clears it and says what it created.
#[test]
fn creating_an_index_draws_a_bar_while_it_fills() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = quarry::Db::open(dir.path().join("news.db")).unwrap();
        let notes = db.collection("notes").unwrap();
        notes
            .insert_many((0..20_000).map(|i| serde_json::json!({"body": format!("reef {i}")})))
            .unwrap();
    }
    let mut q = shell(dir.path());
    type_line(&mut q, "create text index on notes (body)");
    q.expect("building notes_text").unwrap();
    q.expect("/20,000 documents").unwrap();
    q.expect("created text index notes_text on notes (body)")
        .unwrap();
    type_line(&mut q, ".quit");
    q.expect(Eof).unwrap();
}
