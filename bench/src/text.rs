//! Full-text search (issue 24): quarry's text index beside SQLite's FTS5, on the same seeded
//! documents ([`data::text_articles`]), in one run. Each engine runs in its own child process, as
//! in the main mode; the parent checks that both find the same documents for every search,
//! compares their top-10 orders, prints a table with the ratios quarry/SQLite and the issue's
//! targets, and writes it as the section [`SECTION`] of the results file (other sections are
//! left as they are); with `QUARRY_BENCH_COMPRESS=1`, quarry's stores are created compressed and
//! the section is [`COMPRESSED_SECTION`].
//!
//! ```text
//! cargo run --release -p quarry-bench -- text [--n 100000] [--runs 5] [--repeat 3] [--out bench/RESULTS.md]
//! target/release/quarry-bench text --engine quarry --n 100000 --runs 20   # one engine (for perf)
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::data::{self, TextArticle};
use crate::engines::{dir_size, quarry_open};

/// The heading of the section this mode writes into the results file.
pub const SECTION: &str = "## Full-text search (issue 24)";
/// The heading of the section a run with quarry's stores compressed writes
/// (`QUARRY_BENCH_COMPRESS=1`).
pub const COMPRESSED_SECTION: &str = "## Full-text search, quarry's store compressed (issue 24)";

/// The heading of the section this run writes.
fn heading() -> &'static str {
    if crate::engines::compressed() {
        COMPRESSED_SECTION
    } else {
        SECTION
    }
}

/// One search, as each engine writes it.
struct Search {
    key: &'static str,
    /// quarry's condition.
    quarry: &'static str,
    /// FTS5's MATCH expression.
    fts: &'static str,
    /// Also `org = "ICC"`, on an ordinary index.
    org: bool,
    /// Timed as the best 10 by score; otherwise as a count.
    top: bool,
}

const SEARCHES: &[Search] = &[
    Search {
        key: "two_words",
        quarry: r#"search "coral reef""#,
        fts: "coral reef",
        org: false,
        top: true,
    },
    Search {
        key: "phrase",
        quarry: r#"search '"coral reef"'"#,
        fts: r#""coral reef""#,
        org: false,
        top: true,
    },
    Search {
        key: "with_org",
        quarry: r#"search "coral reef" and org = "ICC""#,
        fts: "coral reef",
        org: true,
        top: true,
    },
    Search {
        key: "count",
        quarry: r#"search "reef""#,
        fts: "reef",
        org: false,
        top: false,
    },
];

/// The figures, in the order shown: key, label, the issue's target for quarry/SQLite.
const MEASURES: &[(&str, &str, Option<f64>)] = &[
    (
        "two_words",
        "`coral reef` (both words), top 10 by score (ms)",
        Some(1.0),
    ),
    (
        "phrase",
        "`\"coral reef\"` (phrase), top 10 by score (ms)",
        Some(1.0),
    ),
    (
        "with_org",
        "`coral reef` and org = ICC, top 10 by score (ms)",
        Some(1.0),
    ),
    ("count", "count of `reef` (ms)", None),
    (
        "two_words_reopened",
        "`coral reef`, top 10, after reopening the store (ms)",
        Some(1.0),
    ),
    (
        "phrase_reopened",
        "`\"coral reef\"`, top 10, after reopening (ms)",
        Some(1.0),
    ),
    (
        "with_org_reopened",
        "`coral reef` and org = ICC, top 10, after reopening (ms)",
        Some(1.0),
    ),
    (
        "count_reopened",
        "count of `reef`, after reopening (ms)",
        None,
    ),
    ("build", "index build, to a committed index (ms)", Some(1.5)),
    ("build_flush", "of which quarry's flush (ms)", None),
    ("size", "what the index adds on disk (MB)", Some(1.5)),
    ("store", "store before the index (MB)", None),
    ("load", "load of the documents, org index (ms)", None),
    ("reopen", "opening the store again (ms)", None),
    ("memory", "peak memory of the process (MB)", None),
];

const ENGINES: &[&str] = &["quarry", "sqlite"];

/// What each engine does; ids are the documents' positions in the load, from 1.
trait TextEngine {
    /// Stores the documents with an ordinary index on `org`.
    fn load(&mut self, docs: &[TextArticle]);
    /// Builds the text index over (title, body) and makes it durable as the engine commits;
    /// the milliseconds of a flush that follows the build statement, if the engine needs one.
    fn build(&mut self) -> Option<f64>;
    /// Bytes the store takes (see each engine for how it is measured).
    fn size(&mut self) -> u64;
    /// The best 10 documents by score, best first.
    fn top(&self, search: &Search) -> Vec<u64>;
    /// Every matching document with its score (higher is better).
    fn all(&self, search: &Search) -> Vec<(u64, f64)>;
    /// How many documents match.
    fn count(&self, search: &Search) -> u64;
    /// How the engine plans the searches, for the report.
    fn plans(&self) -> String;
    /// Closes the store and opens it again; the milliseconds the opening took.
    fn reopen(&mut self) -> f64;
}

// ---------------------------------------------------------------------------------------------
/// quarry through its public API, with its queries prepared once.
struct Quarry {
    path: PathBuf,
    db: Option<quarry::Db>,
    prepared: RefCell<HashMap<String, quarry::query::Prepared>>,
}

#[derive(Deserialize)]
struct Hit {
    _id: u64,
}

#[derive(Deserialize)]
struct Scored {
    _id: u64,
    score: f64,
}

impl Quarry {
    fn new(dir: &Path) -> Quarry {
        let path = dir.join("quarry.db");
        Quarry {
            db: Some(quarry_open(&path)),
            path,
            prepared: RefCell::default(),
        }
    }
    fn db(&self) -> &quarry::Db {
        self.db.as_ref().expect("open")
    }
    fn with<R>(&self, query: String, run: impl FnOnce(&quarry::query::Prepared) -> R) -> R {
        let mut prepared = self.prepared.borrow_mut();
        let statement = prepared
            .entry(query)
            .or_insert_with_key(|q| self.db().prepare(q).expect("prepare"));
        run(statement)
    }
}

impl TextEngine for Quarry {
    fn load(&mut self, docs: &[TextArticle]) {
        let articles = self.db().collection("articles").expect("collection");
        articles.create_index(&["org"]).expect("index");
        let mut load = articles.bulk_load().expect("load");
        for doc in docs {
            load.insert(quarry::to_value(doc).expect("value"))
                .expect("insert");
        }
        load.commit().expect("commit");
        self.db().flush().expect("flush");
    }
    fn build(&mut self) -> Option<f64> {
        self.db()
            .execute("create text index on articles (title, body) language none")
            .expect("create text index");
        let started = Instant::now();
        self.db().flush().expect("flush");
        Some(started.elapsed().as_secs_f64() * 1e3)
    }
    /// The store's directory after a flush.
    fn size(&mut self) -> u64 {
        self.db().flush().expect("flush");
        dir_size(&self.path)
    }
    fn top(&self, search: &Search) -> Vec<u64> {
        let query = format!(
            "select _id from articles where {} order by score() desc limit 10",
            search.quarry
        );
        self.with(query, |p| {
            p.query_as::<Hit>()
                .expect("query")
                .map(|h| h.expect("row")._id)
                .collect()
        })
    }
    fn all(&self, search: &Search) -> Vec<(u64, f64)> {
        let query = format!(
            "select _id, score() as score from articles where {}",
            search.quarry
        );
        self.with(query, |p| {
            p.query_as::<Scored>()
                .expect("query")
                .map(|s| s.expect("row"))
                .map(|s| (s._id, s.score))
                .collect()
        })
    }
    fn count(&self, search: &Search) -> u64 {
        let query = format!("count from articles where {}", search.quarry);
        self.with(query, |p| match p.execute().expect("count") {
            quarry::query::Output::Count(n) => n,
            other => panic!("{other:?}"),
        })
    }
    fn plans(&self) -> String {
        SEARCHES
            .iter()
            .map(|s| {
                let query = if s.top {
                    format!(
                        "explain select _id from articles where {} order by score() desc limit 10",
                        s.quarry
                    )
                } else {
                    format!("explain count from articles where {}", s.quarry)
                };
                let plan = self.db().execute(&query).expect("explain").remove(0);
                format!("{}:\n{}", s.key, plan.to_string().trim_end())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
    fn reopen(&mut self) -> f64 {
        // The prepared statements hold the database too: the store closes when they go.
        self.prepared.borrow_mut().clear();
        if let Some(db) = self.db.take() {
            db.flush().expect("flush");
        }
        std::thread::sleep(Duration::from_millis(1500));
        let started = Instant::now();
        self.db = Some(quarry_open(&self.path));
        started.elapsed().as_secs_f64() * 1e3
    }
}

// ---------------------------------------------------------------------------------------------
/// SQLite with an external-content FTS5 table over `articles` (WAL, synchronous=NORMAL, as in
/// the main mode).
struct Sqlite {
    path: PathBuf,
    conn: rusqlite::Connection,
}

fn sqlite_open(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open sqlite");
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        .expect("pragmas");
    conn
}

impl Sqlite {
    fn new(dir: &Path) -> Sqlite {
        let path = dir.join("sqlite.db");
        Sqlite {
            conn: sqlite_open(&path),
            path,
        }
    }
    /// The FROM and WHERE of a search, with the MATCH expression as `?1`.
    fn from_where(search: &Search) -> &'static str {
        if search.org {
            "FROM fts JOIN articles ON articles.id = fts.rowid \
             WHERE fts MATCH ?1 AND articles.org = 'ICC'"
        } else {
            "FROM fts WHERE fts MATCH ?1"
        }
    }
    fn pragma(&self, name: &str) -> u64 {
        self.conn
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, i64>(0))
            .expect("pragma") as u64
    }
}

impl TextEngine for Sqlite {
    fn load(&mut self, docs: &[TextArticle]) {
        self.conn
            .execute_batch(
                "CREATE TABLE articles (id INTEGER PRIMARY KEY, org TEXT, title TEXT, body TEXT);
                 CREATE INDEX articles_org ON articles (org);",
            )
            .expect("schema");
        let tx = self.conn.transaction().expect("tx");
        {
            let mut insert = tx
                .prepare("INSERT INTO articles (id, org, title, body) VALUES (?1, ?2, ?3, ?4)")
                .expect("prepare");
            for (i, doc) in docs.iter().enumerate() {
                insert
                    .execute(rusqlite::params![
                        i as i64 + 1,
                        doc.org,
                        doc.title,
                        doc.body
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    fn build(&mut self) -> Option<f64> {
        self.conn
            .execute_batch(
                "CREATE VIRTUAL TABLE fts USING fts5(title, body, content='articles', \
                 content_rowid='id', tokenize='unicode61 remove_diacritics 2');
                 INSERT INTO fts (rowid, title, body) SELECT id, title, body FROM articles;",
            )
            .expect("fts5 (is it compiled in?)");
        None
    }
    /// `page_count × page_size` after a WAL checkpoint (no VACUUM, no FTS5 'optimize').
    fn size(&mut self) -> u64 {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("checkpoint");
        self.pragma("page_count") * self.pragma("page_size")
    }
    fn top(&self, search: &Search) -> Vec<u64> {
        let sql = format!(
            "SELECT fts.rowid {} ORDER BY bm25(fts) LIMIT 10",
            Sqlite::from_where(search)
        );
        let mut statement = self.conn.prepare_cached(&sql).expect("prepare");
        statement
            .query_map([search.fts], |row| row.get::<_, i64>(0))
            .expect("query")
            .map(|id| id.expect("row") as u64)
            .collect()
    }
    fn all(&self, search: &Search) -> Vec<(u64, f64)> {
        // FTS5's bm25() is the score negated (lower is better).
        let sql = format!(
            "SELECT fts.rowid, -bm25(fts) {}",
            Sqlite::from_where(search)
        );
        let mut statement = self.conn.prepare_cached(&sql).expect("prepare");
        statement
            .query_map([search.fts], |row| {
                Ok((row.get::<_, i64>(0)? as u64, row.get::<_, f64>(1)?))
            })
            .expect("query")
            .map(|row| row.expect("row"))
            .collect()
    }
    fn count(&self, search: &Search) -> u64 {
        let sql = format!("SELECT count(*) {}", Sqlite::from_where(search));
        let mut statement = self.conn.prepare_cached(&sql).expect("prepare");
        statement
            .query_row([search.fts], |row| row.get::<_, i64>(0))
            .expect("count") as u64
    }
    fn plans(&self) -> String {
        SEARCHES
            .iter()
            .map(|s| {
                let sql = if s.top {
                    format!(
                        "EXPLAIN QUERY PLAN SELECT fts.rowid {} ORDER BY bm25(fts) LIMIT 10",
                        Sqlite::from_where(s)
                    )
                } else {
                    format!(
                        "EXPLAIN QUERY PLAN SELECT count(*) {}",
                        Sqlite::from_where(s)
                    )
                };
                let mut statement = self.conn.prepare(&sql).expect("prepare");
                let steps: Vec<String> = statement
                    .query_map([s.fts], |row| row.get::<_, String>(3))
                    .expect("plan")
                    .map(|step| step.expect("step"))
                    .collect();
                format!("{}: {}", s.key, steps.join("; "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
    fn reopen(&mut self) -> f64 {
        // Closing the last connection checkpoints the WAL into the database file.
        let closed = std::mem::replace(
            &mut self.conn,
            rusqlite::Connection::open_in_memory().expect("memory"),
        );
        closed.close().map_err(|(_, e)| e).expect("close");
        std::thread::sleep(Duration::from_millis(1500));
        let started = Instant::now();
        self.conn = sqlite_open(&self.path);
        started.elapsed().as_secs_f64() * 1e3
    }
}

// ---------------------------------------------------------------------------------------------
/// Loads, builds and searches on one engine and prints its figures and answers as one JSON
/// line.
fn run_engine(name: &str, n: usize, runs: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs = data::text_articles(n);
    let mut engine: Box<dyn TextEngine> = match name {
        "quarry" => Box::new(Quarry::new(dir.path())),
        "sqlite" => Box::new(Sqlite::new(dir.path())),
        other => panic!("unknown engine `{other}`"),
    };
    let mut figures: BTreeMap<String, f64> = BTreeMap::new();
    let started = Instant::now();
    engine.load(&docs);
    figures.insert("load".into(), started.elapsed().as_secs_f64() * 1e3);
    drop(docs);
    // Let the background work a write leaves (sled's flushing and segment clean-up) finish
    // before the next measure, the same for both engines.
    std::thread::sleep(Duration::from_secs(2));
    let before = engine.size();
    figures.insert("store".into(), before as f64 / 1e6);
    let started = Instant::now();
    let flush = engine.build();
    figures.insert("build".into(), started.elapsed().as_secs_f64() * 1e3);
    if let Some(ms) = flush {
        figures.insert("build_flush".into(), ms);
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = engine.size();
    figures.insert("size".into(), (after as f64 - before as f64) / 1e6);
    let answers = searches(engine.as_mut(), runs, "", &mut figures);
    figures.insert("reopen".into(), engine.reopen());
    let again = searches(engine.as_mut(), runs, "_reopened", &mut figures);
    figures.insert("memory".into(), crate::peak_mb());
    let json = serde_json::json!({
        "engine": name,
        "figures": figures,
        "answers": answers,
        "same_after_reopening": answers == again,
        "plans": engine.plans(),
    });
    println!("{json}");
}

/// Times every search (figures under its key followed by `suffix`); what each found.
fn searches(
    engine: &mut dyn TextEngine,
    runs: usize,
    suffix: &str,
    figures: &mut BTreeMap<String, f64>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut answers = serde_json::Map::new();
    for search in SEARCHES {
        let (ms, _) = if search.top {
            crate::sample_ms(runs, || engine.top(search).len())
        } else {
            crate::sample_ms(runs, || engine.count(search) as usize)
        };
        figures.insert(format!("{}{suffix}", search.key), ms);
        let mut all = engine.all(search);
        all.sort_by_key(|(id, _)| *id);
        let answer = serde_json::json!({
            "all": all,
            "top": if search.top { engine.top(search) } else { Vec::new() },
            "count": engine.count(search),
        });
        answers.insert(search.key.to_owned(), answer);
    }
    answers
}

/// Runs one engine in a child process; its figures and answers.
fn run_child(engine: &str, n: usize, runs: usize) -> serde_json::Value {
    crate::child_json(&["text"], engine, n, runs)
}

/// Scores closer than this (relative) are taken as equal: a tie.
const TIE: f64 = 1e-9;

fn same_score(a: f64, b: f64) -> bool {
    (a - b).abs() <= TIE * a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
}

/// An engine's answer to one search: every match with its score, and its top 10.
struct Answer {
    all: BTreeMap<u64, f64>,
    top: Vec<u64>,
    count: u64,
}

fn answer(value: &serde_json::Value) -> Answer {
    let all = value["all"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|row| Some((row[0].as_u64()?, row[1].as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let top = value["top"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|id| id.as_u64()).collect())
        .unwrap_or_default();
    Answer {
        all,
        top,
        count: value["count"].as_u64().unwrap_or(u64::MAX),
    }
}

/// A few ids of a list, for a report line.
fn some_ids<'a>(ids: impl Iterator<Item = &'a u64>) -> String {
    let ids: Vec<String> = ids.map(u64::to_string).collect();
    let shown = ids.len().min(10);
    let more = if ids.len() > shown { ", …" } else { "" };
    format!("{}{more}", ids[..shown].join(", "))
}

/// Compares the two engines' answers to every search: whether they found the same
/// documents, and a line per search saying what agreed.
fn compare(quarry: &serde_json::Value, sqlite: &serde_json::Value) -> (bool, Vec<String>) {
    let mut agree = true;
    let mut lines = Vec::new();
    for search in SEARCHES {
        let (q, s) = (answer(&quarry[search.key]), answer(&sqlite[search.key]));
        let key = search.key;
        let only_q: Vec<&u64> = q.all.keys().filter(|id| !s.all.contains_key(id)).collect();
        let only_s: Vec<&u64> = s.all.keys().filter(|id| !q.all.contains_key(id)).collect();
        if !only_q.is_empty() || !only_s.is_empty() {
            agree = false;
            lines.push(format!(
                "{key}: the engines found different documents: quarry {}, SQLite {}; only quarry: [{}]; only SQLite: [{}]",
                q.all.len(),
                s.all.len(),
                some_ids(only_q.into_iter()),
                some_ids(only_s.into_iter())
            ));
            continue;
        }
        if q.count != s.count || q.count != q.all.len() as u64 {
            agree = false;
            lines.push(format!(
                "{key}: counts differ: quarry {}, SQLite {}, documents found {}",
                q.count,
                s.count,
                q.all.len()
            ));
            continue;
        }
        let worst = q
            .all
            .iter()
            .map(|(id, score)| {
                let other = s.all[id];
                (score - other).abs() / other.abs().max(f64::MIN_POSITIVE)
            })
            .fold(0.0, f64::max);
        let mut line = format!(
            "{key}: both find the same {} documents; scores differ by at most {worst:.1e} (relative)",
            q.all.len()
        );
        if search.top {
            line.push_str(&top_agreement(&q, &s));
        }
        lines.push(line);
    }
    (agree, lines)
}

/// Whether the top-10 orders agree, judged by SQLite's scores: a position whose document's
/// score no other matching document shares must hold the same document in both; within a
/// tie, any document of the tie will do.
fn top_agreement(q: &Answer, s: &Answer) -> String {
    let tied = |score: f64| s.all.values().filter(|v| same_score(**v, score)).count() > 1;
    let (mut in_ties, mut tie_order_differs, mut differ) = (0, 0, Vec::new());
    for i in 0..q.top.len().max(s.top.len()) {
        let (qid, sid) = (q.top.get(i), s.top.get(i));
        let (Some(qid), Some(sid)) = (qid, sid) else {
            differ.push(i + 1);
            continue;
        };
        let score = s.all[sid];
        if tied(score) {
            in_ties += 1;
            if qid != sid {
                if s.all.get(qid).is_some_and(|v| same_score(*v, score)) {
                    tie_order_differs += 1;
                } else {
                    differ.push(i + 1);
                }
            }
        } else if qid != sid {
            differ.push(i + 1);
        }
    }
    let ties = match (in_ties, tie_order_differs) {
        (0, _) => "no position is in a tie".to_owned(),
        (n, 0) => format!("{n} position(s) in ties, same order there too"),
        (n, d) => format!("{n} position(s) in ties, {d} ordered differently within their tie"),
    };
    if differ.is_empty() {
        format!("; top 10 agree where scores are not tied ({ties})")
    } else {
        format!(
            "; top 10 DIFFER at untied position(s) {differ:?} (quarry {:?}, SQLite {:?}; {ties})",
            q.top, s.top
        )
    }
}

/// The options this mode reads, each followed by a value.
const OPTIONS: &[&str] = &["--n", "--runs", "--repeat", "--engine", "--out"];

const USAGE: &str = "usage: quarry-bench text [--n DOCS] [--runs SAMPLES] [--repeat PROCESSES] \
[--out FILE.md] | text --engine quarry|sqlite [--n DOCS] [--runs SAMPLES]";

fn check_args() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let mut rest = args.iter();
    while let Some(option) = rest.next() {
        if option == "--help" || option == "-h" {
            return Err(String::new());
        }
        if !OPTIONS.contains(&option.as_str()) {
            return Err(format!("unknown option `{option}`"));
        }
        let Some(value) = rest.next() else {
            return Err(format!("`{option}` needs a value"));
        };
        if option == "--engine" && !ENGINES.contains(&value.as_str()) {
            return Err(format!("unknown engine `{value}`"));
        }
    }
    Ok(())
}

/// `quarry-bench text ...`.
pub fn main() {
    if let Err(problem) = check_args() {
        if !problem.is_empty() {
            eprintln!("quarry-bench text: {problem}");
        }
        eprintln!("{USAGE}");
        std::process::exit(if problem.is_empty() { 0 } else { 2 });
    }
    let n: usize = crate::arg("--n")
        .or_else(|| std::env::var("QUARRY_BENCH_N").ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = crate::arg("--runs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let repeat: usize = crate::arg("--repeat")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    if let Some(engine) = crate::arg("--engine") {
        run_engine(&engine, n, runs);
        return;
    }
    let out = crate::arg("--out").unwrap_or_else(|| "bench/RESULTS.md".to_owned());
    let machine = crate::machine();
    let load_before = load_average();
    let mut results: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
    for round in 1..=repeat {
        for engine in ENGINES {
            eprintln!("text: running {engine} on {n} documents ({round} of {repeat})…");
            results
                .entry(engine)
                .or_default()
                .push(run_child(engine, n, runs));
        }
    }
    let load_after = load_average();
    let figure = |engine: &str, key: &str| {
        let samples: Vec<f64> = results[engine]
            .iter()
            .filter_map(|r| r["figures"][key].as_f64())
            .collect();
        if samples.is_empty() {
            f64::NAN
        } else {
            crate::median(samples)
        }
    };
    let mut lines = Vec::new();
    let mut agree = true;
    for engine in ENGINES {
        if !results[engine]
            .windows(2)
            .all(|w| w[0]["answers"] == w[1]["answers"])
        {
            agree = false;
            lines.push(format!(
                "{engine} answered differently from one process to the next"
            ));
        }
        if results[engine]
            .iter()
            .any(|r| r["same_after_reopening"] != serde_json::Value::Bool(true))
        {
            agree = false;
            lines.push(format!(
                "{engine} answered differently after reopening its store"
            ));
        }
    }
    let (same, compared) = compare(
        &results["quarry"][0]["answers"],
        &results["sqlite"][0]["answers"],
    );
    agree &= same;
    lines.extend(compared);

    let mut table = comfy_table::Table::new();
    table.set_header([
        "measure",
        "quarry",
        "SQLite",
        "quarry/SQLite",
        "target",
        "met",
    ]);
    let mut rows = String::from(
        "| measure | quarry | SQLite | quarry/SQLite | target | met |\n|---|---|---|---|---|---|\n",
    );
    for (key, label, target) in MEASURES {
        let (q, s) = (figure("quarry", key), figure("sqlite", key));
        let shown = |v: f64| {
            if v.is_nan() {
                "—".to_owned()
            } else {
                crate::number(v)
            }
        };
        let ratio = q / s;
        let (target, met) = match target {
            Some(t) => (
                format!("≤ {t:.1}x"),
                if ratio <= *t { "yes" } else { "no" }.to_owned(),
            ),
            None => (String::new(), String::new()),
        };
        let cells = [
            label.to_string(),
            shown(q),
            shown(s),
            shown(ratio),
            target,
            met,
        ];
        rows.push_str(&format!("| {} |\n", cells.join(" | ")));
        table.add_row(cells);
    }
    println!("{table}");
    let verdict = if agree {
        "answers agree".to_owned()
    } else {
        "ANSWERS DIFFER".to_owned()
    };
    println!("{verdict}");
    for line in &lines {
        println!("  {line}");
    }
    let plans = |engine: &str| {
        results[engine][0]["plans"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    println!(
        "quarry's plans:\n{}\nSQLite's plans:\n{}",
        plans("quarry"),
        plans("sqlite")
    );

    let heading = heading();
    let (env, store) = match crate::engines::compressed() {
        true => (
            "QUARRY_BENCH_COMPRESS=1 ",
            " quarry's store is created compressed (`Options::compression`, zstd level 1).",
        ),
        false => ("", ""),
    };
    let mut section = format!(
        "{heading}\n\n\
         Written by `{env}cargo run --release -p quarry-bench -- text --n {n} --runs {runs} --repeat {repeat}`.{store} \
         {n} documents of a title (4-8 words) and a body (130-170 words) drawn from a Zipf-like \
         vocabulary of {vocabulary} made-up words, with `coral` and `reef` put in on purpose: per \
         thousand documents, the phrase \"coral reef\" 1-3 times in the body in {pb}, `coral` alone \
         in the body in {cb}, `reef` alone in the body in {rb}, \"Coral Reef\" in the title in {pt} \
         and `reef` in the title in {rt}; `org` takes {orgs} values (ICC in about 30%), with an \
         ordinary index on it in both engines. On {machine}; the machine is shared, and its \
         1-minute load average was {load_before} when the run began and {load_after} when it \
         ended. Each engine ran in {repeat} fresh \
         processes, interleaved; a figure is the median over them of the median of {runs} samples, \
         where a sample repeats a search until 5 ms have passed and counts the time per call (the \
         load, the build and the reopening are timed once per process); the searches are timed \
         right after the build, then again after the engine closed its store and opened it \
         again. quarry: `create text index on articles \
         (title, body) language none`, then `Db::flush`; the size it adds is the store's \
         directory after a flush, after the build minus before. SQLite: \
         `CREATE VIRTUAL TABLE fts USING fts5(title, body, content='articles', content_rowid='id', \
         tokenize='unicode61 remove_diacritics 2')` and `INSERT INTO fts (rowid, title, body) SELECT \
         id, title, body FROM articles` (WAL, synchronous=NORMAL: committed to the WAL, not synced); \
         the size it adds is `page_count × page_size` after a WAL checkpoint, after minus before \
         (no VACUUM, no FTS5 'optimize'). SQLite's searches order by `bm25(fts)` and join \
         `articles` for the org. Ratios are quarry's cost relative to SQLite's (below 1.0: quarry \
         is faster or smaller).\n\n{rows}\n\
         Answers ({verdict}), every matching document compared, and the top 10 by SQLite's scores:\n\n",
        vocabulary = data::VOCABULARY,
        pb = data::PHRASE_IN_BODY,
        cb = data::CORAL_IN_BODY,
        rb = data::REEF_IN_BODY,
        pt = data::PHRASE_IN_TITLE,
        rt = data::REEF_IN_TITLE,
        orgs = data::TEXT_ORGS.len(),
    );
    for line in &lines {
        section.push_str(&format!("- {line}\n"));
    }
    section.push_str(&format!(
        "\nPlans:\n\n```text\nquarry\n{}\nSQLite\n{}\n```\n",
        plans("quarry"),
        plans("sqlite")
    ));
    let existing = std::fs::read_to_string(&out).unwrap_or_default();
    if let Err(err) = std::fs::write(&out, with_section(&existing, &section)) {
        eprintln!("cannot write {out}: {err}");
    } else {
        eprintln!("wrote the section {heading} of {out}");
    }
    if !agree {
        std::process::exit(1);
    }
}

/// The 1-minute load average (`/proc/loadavg`), as written there.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Where the section under `heading` starts in `text`, and where it ends (the next `## `
/// heading or the end).
fn section_span(text: &str, heading: &str) -> Option<(usize, usize)> {
    let start = text.find(heading)?;
    let after = start + heading.len();
    let end = text[after..]
        .find("\n## ")
        .map_or(text.len(), |at| after + at + 1);
    Some((start, end))
}

/// `existing` with this run's full-text section replaced by `section`, or with `section`
/// appended.
fn with_section(existing: &str, section: &str) -> String {
    match section_span(existing, heading()) {
        Some((start, end)) => format!("{}{section}{}", &existing[..start], &existing[end..]),
        None if existing.is_empty() => section.to_owned(),
        None => format!("{}\n\n{section}", existing.trim_end()),
    }
}

/// Keeps the full-text sections of the file at `out`, those it has, at the end of `markdown`:
/// the main mode rewrites the results file without running the full-text searches.
pub fn keep_section(out: &str, markdown: &mut String) {
    let existing = std::fs::read_to_string(out).unwrap_or_default();
    for heading in [SECTION, COMPRESSED_SECTION] {
        if let Some((start, end)) = section_span(&existing, heading) {
            markdown.push_str(&format!("\n{}\n", existing[start..end].trim_end()));
        }
    }
}
