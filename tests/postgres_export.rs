//! `quarry export --format postgres` against a real PostgreSQL server that the test starts
//! itself (initdb into a folder of its own, a Unix socket, no TCP port; as the `postgres` user
//! when the test runs as root): random documents (nested objects, arrays, mixed types,
//! unicode, backslashes, tabs and newlines in strings, large and fractional numbers) load with
//! `psql -f` and come back the same, with the same ids, and the id sequence continues from
//! quarry's next id.
//!
//! Without PostgreSQL the test fails and says how to install it (`.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as Json, json};

/// A PostgreSQL server of the test's own, stopped and removed on drop.
struct Server {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// The user the server runs as when the test runs as root.
    user: Option<&'static str>,
}

impl Server {
    fn start() -> Server {
        let bin = find_bin().unwrap_or_else(|| {
            panic!(
                "PostgreSQL is not installed: install it (Debian/Ubuntu: `apt-get install \
                 postgresql`; Fedora: `dnf install postgresql-server`; macOS: `brew install \
                 postgresql`) or run `.ci/run`, which installs it"
            )
        });
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout == b"0\n");
        let user = root.then_some("postgres");
        let dir = PathBuf::from(format!(
            "/tmp/quarry-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(user) = user {
            run(Command::new("chown").args([user, dir.to_str().unwrap()]));
        }
        let port = 20_000 + (std::process::id() % 20_000) as u16;
        let server = Server {
            dir,
            bin,
            port,
            user,
        };
        let data = server.dir.join("data");
        server.as_server_user(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-locale",
                "-E",
                "UTF8",
            ],
        );
        let options = format!(
            "-k {} -c listen_addresses='' -p {} -c fsync=off",
            server.dir.display(),
            server.port
        );
        server.as_server_user(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                server.dir.join("log").to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        server
    }

    /// Runs one of PostgreSQL's programs as the server's user.
    fn as_server_user(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command.args(args).current_dir(&self.dir);
        run(&mut command);
    }

    /// `psql` on the server with `args` (stops at the first error), its output.
    fn psql(&self, args: &[&str]) -> String {
        run(&mut self.psql_command(args))
    }

    /// `psql` on the server with `args`, ready to run.
    fn psql_command(&self, args: &[&str]) -> Command {
        let psql = self.bin.join("psql");
        let psql = if psql.exists() {
            psql
        } else {
            PathBuf::from("psql")
        };
        let mut command = Command::new(psql);
        command
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .arg("-h")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string()])
            .args(args);
        command
    }

    /// Exports `collection` (the documents matching `filter`) to `target` with
    /// `--format postgres` and loads the script; how many documents, and the script.
    fn load(
        &self,
        db: &quarry::Db,
        collection: &str,
        filter: Option<&str>,
        target: &quarry::export::PgTarget,
    ) -> (u64, String) {
        let mut script = Vec::new();
        let count = quarry::export::export_to(
            db,
            collection,
            quarry::export::ExportFormat::Postgres,
            filter,
            target,
            &mut script,
        )
        .unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &script).unwrap();
        self.psql(&["-f", file.path().to_str().unwrap()]);
        (count, String::from_utf8(script).unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = std::panic::catch_unwind(|| {
            self.as_server_user(
                "pg_ctl",
                &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
            );
        });
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The folder of `initdb` and `pg_ctl`: on the `PATH`, or where Debian puts them.
fn find_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"));
    on_path
        .chain(debian)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
        .map(|dir| {
            std::fs::canonicalize(dir.join("initdb"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or(dir)
        })
}

fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A small deterministic generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

const TEXTS: &[&str] = &[
    "plain",
    "",
    "tab\there",
    "new\nline",
    "back\\slash",
    "quote\"d",
    "d'apostrophe",
    "é ü ß",
    "中文",
    "🦀 crab",
    "\\N",
    "\\.",
    "carriage\rreturn",
    "percent % and _",
    "{\"not\": \"json\"}",
];

fn value(rng: &mut Rng, depth: u32) -> Json {
    match rng.below(if depth > 2 { 6 } else { 8 }) {
        0 => Json::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.below(1000) as i64 - 500),
        3 => json!([i64::MAX, i64::MIN, 9_007_199_254_740_993i64, 0][rng.below(4) as usize]),
        4 => json!([0.5, -2.25, 1e300, 1.0, 6.02214076e23][rng.below(5) as usize]),
        5 => json!(TEXTS[rng.below(TEXTS.len() as u64) as usize]),
        6 => Json::Array((0..rng.below(4)).map(|_| value(rng, depth + 1)).collect()),
        _ => {
            let mut object = serde_json::Map::new();
            for i in 0..rng.below(4) {
                let key = format!("{}{i}", TEXTS[rng.below(TEXTS.len() as u64) as usize]);
                object.insert(key, value(rng, depth + 1));
            }
            Json::Object(object)
        }
    }
}

#[test]
fn an_export_loads_into_postgresql_with_the_same_documents_and_ids() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let db = quarry::Db::open(dir.path().join("q.db")).unwrap();
    let items = db.collection("items").unwrap();
    let mut rng = Rng(0x5EED_CAFE);
    let mut expected = Vec::new();
    for _ in 0..400 {
        let mut doc = serde_json::Map::new();
        for i in 0..1 + rng.below(5) {
            doc.insert(format!("f{i}"), value(&mut rng, 0));
        }
        let doc = Json::Object(doc);
        let id = items.insert(&doc).unwrap();
        expected.push((id, doc));
    }
    // Deleted documents leave gaps; the sequence still continues from the next id.
    for (id, _) in expected.iter().step_by(7) {
        items.delete(*id).unwrap();
    }
    expected.retain(|(id, _)| !(id - 1).is_multiple_of(7));
    let target = quarry::export::PgTarget {
        schema: Some("news".into()),
        table: Some("my items".into()),
    };
    let (count, _) = server.load(&db, "items", None, &target);
    assert_eq!(count, expected.len() as u64);
    let rows = server.psql(&[
        "-c",
        r#"select id, doc::text from news."my items" order by id"#,
    ]);
    let loaded: Vec<(u64, Json)> = rows
        .lines()
        .map(|line| {
            let (id, doc) = line.split_once('|').unwrap();
            (id.parse().unwrap(), serde_json::from_str(doc).unwrap())
        })
        .collect();
    assert_eq!(loaded.len(), expected.len());
    for ((id, doc), (pg_id, pg_doc)) in expected.iter().zip(&loaded) {
        assert_eq!(id, pg_id);
        assert_eq!(doc, pg_doc, "document {id}");
    }
    // An insert through both gets the same id.
    let next = items.insert(&json!({"new": true})).unwrap();
    let pg_next = server.psql(&[
        "-c",
        r#"insert into news."my items" (doc) values ('{"new": true}') returning id"#,
    ]);
    assert_eq!(pg_next.trim(), next.to_string());
    // An integral float from 2^53 up keeps its exact value (jsonb reads decimals exactly).
    let big = items
        .insert(&json!({"f": 1.0000000000000001e18, "g": 1e300}))
        .unwrap();
    let exact = quarry::export::PgTarget {
        schema: Some("exact".into()),
        table: None,
    };
    server.load(&db, "items", Some(&format!("_id = {big}")), &exact);
    let f = server.psql(&["-c", "select doc->>'f', length(doc->>'g') from exact.items"]);
    assert_eq!(f.trim(), "1000000000000000128|301");
}

#[test]
fn a_string_holding_nul_is_refused_with_its_document() {
    let db = quarry::Db::temporary().unwrap();
    db.collection("t")
        .unwrap()
        .insert(&json!({"a": "x\u{0}y"}))
        .unwrap();
    let err = quarry::export::export(
        &db,
        "t",
        quarry::export::ExportFormat::Postgres,
        None,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("document 1") && err.to_string().contains("NUL"),
        "{err}"
    );
}

const PATHS: &[&str] = &["k", "s", "o.p", "arr.p", "z"];
const LITERALS: &[&str] = &[
    "null", "true", "false", "0", "1", "2", "3", "1.0", "1.5", "-2", "'a'", "'b'", "'é'", "''",
];

/// A document of the differential test: few values, so equal ones and every type meet often.
fn small_doc(rng: &mut Rng) -> Json {
    let scalar = |rng: &mut Rng| -> Json {
        match rng.below(9) {
            0 => Json::Null,
            1 => json!(rng.below(2) == 0),
            2 | 3 => json!(rng.below(4) as i64),
            4 => json!([1.0, 1.5, -2.0][rng.below(3) as usize]),
            5 => json!(["a", "b", "é", "", "ab"][rng.below(5) as usize]),
            6 => json!(9_007_199_254_740_993i64),
            _ => json!(rng.below(4) as i64),
        }
    };
    let mut doc = serde_json::Map::new();
    if rng.below(6) > 0 {
        let k = match rng.below(5) {
            0 => Json::Array((0..rng.below(4)).map(|_| scalar(rng)).collect()),
            _ => scalar(rng),
        };
        doc.insert("k".into(), k);
    }
    if rng.below(4) > 0 {
        doc.insert(
            "s".into(),
            json!(["a", "b", "ab", "é", "B", "", "a\\b"][rng.below(7) as usize]),
        );
    }
    if rng.below(3) == 0 {
        doc.insert("o".into(), json!({"p": scalar(rng)}));
    }
    if rng.below(3) == 0 {
        let items: Vec<Json> = (0..rng.below(3))
            .map(|_| json!({"p": scalar(rng)}))
            .collect();
        doc.insert("arr".into(), Json::Array(items));
    }
    Json::Object(doc)
}

fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
    from[rng.below(from.len() as u64) as usize]
}

/// A random condition over the forms the translation covers, as quarry text.
fn random_condition(rng: &mut Rng, depth: u32) -> String {
    if depth < 2 && rng.below(3) == 0 {
        let a = random_condition(rng, depth + 1);
        let b = random_condition(rng, depth + 1);
        return match rng.below(3) {
            0 => format!("({a} and {b})"),
            1 => format!("({a} or {b})"),
            _ => format!("not ({a})"),
        };
    }
    let p = pick(rng, PATHS);
    match rng.below(8) {
        0 | 1 => format!(
            "{p} {} {}",
            pick(rng, &["=", "!=", "<", "<=", ">", ">="]),
            pick(rng, LITERALS)
        ),
        2 => format!("{} {} {p}", pick(rng, LITERALS), pick(rng, &["<", ">="])),
        3 => {
            let values: Vec<&str> = (0..rng.below(3)).map(|_| pick(rng, LITERALS)).collect();
            let not = if rng.below(2) == 0 { "not " } else { "" };
            format!("{p} {not}in [{}]", values.join(", "))
        }
        4 => format!(
            "{p} between {} and {}",
            pick(rng, LITERALS),
            pick(rng, LITERALS)
        ),
        5 => format!(
            "{p} starts with {}",
            pick(rng, &["'a'", "''", "'é'", "'B'"])
        ),
        6 => format!("exists {p}"),
        _ => format!("{p} is {}null", if rng.below(2) == 0 { "not " } else { "" }),
    }
}

/// Random statements run by quarry and, translated, by PostgreSQL on the same documents: the
/// same ids in the same order, the same counts.
#[test]
fn translated_statements_answer_as_quarry_does() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let db = quarry::Db::open(dir.path().join("q.db")).unwrap();
    let mut rng = Rng(0xD1FF_5EED);
    let docs: Vec<Json> = (0..300).map(|_| small_doc(&mut rng)).collect();
    db.collection("items").unwrap().insert_many(&docs).unwrap();
    server.load(&db, "items", None, &quarry::export::PgTarget::default());

    let target = quarry::export::PgTarget::default();
    let mut statements = Vec::new();
    for i in 0..300 {
        let condition = random_condition(&mut rng, 0);
        statements.push(format!("from items where {condition}"));
        if i % 3 == 0 {
            statements.push(format!("count from items where {condition}"));
        }
    }
    for _ in 0..60 {
        let keys: Vec<String> = (0..1 + rng.below(2))
            .map(|_| {
                format!(
                    "{}{}",
                    pick(&mut rng, PATHS),
                    pick(&mut rng, &["", " desc"])
                )
            })
            .collect();
        statements.push(format!(
            "from items order by {} limit {} offset {}",
            keys.join(", "),
            1 + rng.below(40),
            rng.below(5)
        ));
    }
    let mut sql = String::new();
    let mut expected = Vec::new();
    for statement in &statements {
        let translated = quarry::sql::translate(statement, &target)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        let answer = match statement.starts_with("count") {
            true => {
                sql.push_str(&format!("{translated};\n"));
                db.execute(statement).unwrap()[0]
                    .to_string()
                    .trim()
                    .to_owned()
            }
            false => {
                let ids = translated.replacen("select id, doc", "select id", 1);
                sql.push_str(&format!("select array_to_string(array({ids}), ',');\n"));
                let rows: Vec<Json> = db.query_as(statement).unwrap();
                rows.iter()
                    .map(|r| r["_id"].to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
        };
        expected.push(answer);
    }
    let queries = dir.path().join("queries.sql");
    std::fs::write(&queries, sql).unwrap();
    let answers = server.psql(&["-f", queries.to_str().unwrap()]);
    let answers: Vec<&str> = answers.lines().collect();
    assert_eq!(answers.len(), statements.len());
    // Not a test of empty answers: most statements find something, and not everything.
    let found = expected
        .iter()
        .filter(|a| !a.is_empty() && *a != "0")
        .count();
    assert!(
        found > statements.len() / 2,
        "only {found} answers are not empty"
    );
    let everything = expected
        .iter()
        .filter(|a| a.split(',').count() == docs.len())
        .count();
    assert!(
        everything < statements.len() / 4,
        "{everything} answers hold every document"
    );
    let mut mismatches = Vec::new();
    for ((statement, quarry), postgres) in statements.iter().zip(&expected).zip(&answers) {
        if quarry != postgres {
            mismatches.push(format!(
                "{statement}\n  quarry:     {quarry}\n  PostgreSQL: {postgres}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} statements answer differently:\n{}",
        mismatches.len(),
        statements.len(),
        mismatches.join("\n")
    );
}

const ORGS: [&str; 4] = ["ICC", "HRW", "MWA", "COL"];

/// The export creates a PostgreSQL index for each quarry index, and the translated statements
/// use them: the GIN index for conditions, a btree on the sort key for `order by ... limit`;
/// a unique index refuses a repeated value but not null or missing ones.
#[test]
fn translated_statements_use_the_indexes_the_export_creates() {
    let server = Server::start();
    let db = quarry::Db::temporary().unwrap();
    db.execute(
        "create index on items (org, year); create index on items (date);
         create unique index on items (code); create index on items (tags)",
    )
    .unwrap();
    let docs: Vec<Json> = (0..3000)
        .map(|i| {
            json!({
                "org": ORGS[i % 4],
                "year": 2015 + (i % 9),
                "date": format!("20{:02}-01-{:02}", 15 + i % 9, 1 + i % 28),
                "code": (i % 10 != 0).then(|| format!("c{i}")),
                "tags": [format!("t{}", i % 7)],
            })
        })
        .collect();
    db.collection("items").unwrap().insert_many(&docs).unwrap();
    let target = quarry::export::PgTarget::default();
    let (_, text) = server.load(&db, "items", None, &target);
    assert!(
        text.contains("using gin (doc jsonb_path_ops)"),
        "{text:.2000}"
    );
    let explain = |statement: &str| {
        let sql = quarry::sql::translate(statement, &target).unwrap();
        server.psql(&[
            "-c",
            &format!("set enable_seqscan = off; explain (costs off) {sql}"),
        ])
    };
    let plan = explain("count from items where org = 'ICC' and tags = 't3'");
    assert!(plan.contains("Bitmap Index Scan on items_doc"), "{plan}");
    let plan = explain("from items order by date desc limit 10");
    assert!(
        plan.contains("Index Scan Backward using items_date"),
        "{plan}"
    );
    let plan = explain("from items order by org, year limit 5");
    assert!(plan.contains("Index Scan using items_org_year"), "{plan}");
    // The unique index: a repeated code is refused, documents without one are not.
    let duplicate = server
        .psql_command(&[
            "-c",
            r#"insert into public.items (doc) values ('{"code": "c1"}')"#,
        ])
        .output()
        .unwrap();
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("duplicate key"));
    server.psql(&[
        "-c",
        r#"insert into public.items (doc) values ('{}'), ('{"code": null}'), ('{}')"#,
    ]);
}
