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
    // An integral float from 2^53 up keeps its exact value (jsonb reads decimals exactly),
    // with the decimal point that marks every float.
    let big = items
        .insert(&json!({"f": 1.0000000000000001e18, "g": 1e300}))
        .unwrap();
    let exact = quarry::export::PgTarget {
        schema: Some("exact".into()),
        table: None,
    };
    server.load(&db, "items", Some(&format!("_id = {big}")), &exact);
    let f = server.psql(&["-c", "select doc->>'f', length(doc->>'g') from exact.items"]);
    assert_eq!(f.trim(), "1000000000000000128.0|303");
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

const PATHS: &[&str] = &["k", "s", "o.p", "arr.p", "z", "k[0]", "arr[1].p", "_id"];
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
            json!(["a", "b", "ab", "é", "B", "", "a\\b", "Ab\nc"][rng.below(8) as usize]),
        );
    }
    if rng.below(3) == 0 {
        doc.insert("o".into(), json!({"p": scalar(rng)}));
    }
    if rng.below(2) == 0 {
        let d = [
            "2024-01-31",
            "2020-02-29T10:00:00Z",
            "2021-03-04 23:59",
            "1999-12-31",
            "2021-02-30",
            "2021-03-04T25:00",
            "soon",
            "0000-03-01",
            "0000-01-01",
            "9999-12-31",
        ];
        doc.insert("d".into(), json!(d[rng.below(d.len() as u64) as usize]));
    }
    if rng.below(3) > 0 {
        let n = [
            json!(0.1),
            json!(2.5),
            json!(-2.5),
            json!(-7),
            json!(7),
            json!(1e300),
            json!(i64::MAX),
            json!(0),
            json!(1234.5678),
            json!(" pad "),
            json!(5e-324),
        ];
        doc.insert("n".into(), n[rng.below(n.len() as u64) as usize].clone());
    }
    if rng.below(3) == 0 {
        let items: Vec<Json> = (0..rng.below(3))
            .map(|_| match rng.below(7) {
                0 => scalar(rng),
                1 => [json!([scalar(rng)]), json!([])][rng.below(2) as usize].clone(),
                _ => json!({"p": scalar(rng)}),
            })
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
    match rng.below(14) {
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
        7 => format!(
            "{p} contains {}",
            pick(rng, &["1", "'a'", "''", "'b'", "null", "1.5", "[]"])
        ),
        8 if depth < 2 => {
            let inner = match rng.below(4) {
                0 => format!("_ {} {}", pick(rng, &["=", "<", ">="]), pick(rng, LITERALS)),
                1 => pick(
                    rng,
                    &[
                        "_ is null",
                        "not exists _",
                        "p is null",
                        "_ matches '1'",
                        "_[0] = 1",
                        "_ contains 1",
                        "len(_) = 1",
                    ],
                )
                .to_owned(),
                2 => random_condition(rng, 2).replace("arr.p", "p"),
                _ => format!(
                    "p {} {} and not p = {}",
                    pick(rng, &[">=", "<="]),
                    pick(rng, LITERALS),
                    pick(rng, LITERALS)
                ),
            };
            format!("{} has ({inner})", pick(rng, &["arr", "k", "o"]))
        }
        10 => format!(
            "{} {} {}",
            pick(rng, EXPRESSIONS),
            pick(rng, &["=", "!=", "<", ">="]),
            pick(rng, LITERALS)
        ),
        11 => format!(
            "{} {}",
            pick(rng, EXPRESSIONS),
            pick(
                rng,
                &[
                    "is null",
                    "is not null",
                    "starts with '2'",
                    "in [1, 2, 'a']"
                ]
            )
        ),
        9 => format!(
            "s matches {}",
            pick(
                rng,
                &[
                    "'^a'",
                    "'b$'",
                    "'é'",
                    "'^$'",
                    "'a|B'",
                    r"'\\\\'",
                    "'b.c'",
                    "'^[a-c]+$'",
                    "'(?i)^ab'",
                    "'(?s)b.c'",
                    r"r'(?-u:\bab\b)'",
                    "'(?m)^c'",
                    r"r'\w{2}'",
                    "'[^a]'",
                ]
            )
        ),
        _ => format!("{p} is {}null", if rng.below(2) == 0 { "not " } else { "" }),
    }
}

const EXPRESSIONS: &[&str] = &[
    "k + 1",
    "k - 1.5",
    "k * 2",
    "k / 2",
    "n * n",
    "n / 3",
    "n + 0.2",
    "-n",
    "_id % 3",
    "len(s)",
    "len(k)",
    "len(arr)",
    "abs(n)",
    "round(n)",
    "round(n, 1)",
    "round(n, -1)",
    "floor(n)",
    "ceil(n)",
    "coalesce(k, s, 0)",
    "type(k)",
    "substr(s, 2)",
    "substr(s, 0, 2)",
    "trim(n)",
    "year(d)",
    "month(d)",
    "day(d)",
    "date(d)",
    "d + 1 month",
    "d - 10 days",
    "d + 1 year",
    "d + 2 weeks",
    "s || '!'",
    "s || _id",
    "today() - 1 day",
    "arr.p",
    "o",
];

/// A condition with a parameter, and the JSON bound to it.
fn parameter_condition(rng: &mut Rng) -> (String, Json) {
    let values = [
        json!(null),
        json!(true),
        json!(1),
        json!(1.5),
        json!(-2),
        json!("a"),
        json!("é"),
        json!(""),
    ];
    let value = values[rng.below(values.len() as u64) as usize].clone();
    let p = pick(rng, PATHS);
    let condition = match rng.below(6) {
        0 | 1 => format!("{p} {} $v", pick(rng, &["=", "!=", "<", "<=", ">", ">="])),
        2 => format!("{p} {}in [$v, 2]", pick(rng, &["", "not "])),
        3 => format!("{p} between $v and {}", pick(rng, LITERALS)),
        4 => format!("{p} contains $v"),
        _ => format!("$v < {p}"),
    };
    (condition, value)
}

/// What quarry and PostgreSQL answer is compared as.
enum Probe {
    /// The ids of the rows, in order.
    Ids,
    /// A number.
    Count,
    /// Rows (of `select` or `count by`), as JSON.
    Rows,
}

/// A statement of the differential test: the quarry text, its parameter's value, and how its
/// answers are compared.
struct Case {
    statement: String,
    param: Option<Json>,
    probe: Probe,
}

/// A JSON value with its numbers written as their exact value (1.0 as 1) and its fields in
/// order of name, so that two engines' spellings of one value compare equal.
fn normal(value: &Json) -> Json {
    match value {
        Json::Number(n) => Json::String(match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(x)) if x.fract() == 0.0 && x.abs() < 9.2e18 => (x as i64).to_string(),
            (None, Some(x)) => x.to_string(),
            (None, None) => n.to_string(),
        }),
        Json::Array(items) => Json::Array(items.iter().map(normal).collect()),
        // Fields sorted: jsonb keeps its own order.
        Json::Object(fields) => {
            let sorted: std::collections::BTreeMap<&String, Json> =
                fields.iter().map(|(k, v)| (k, normal(v))).collect();
            Json::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        other => other.clone(),
    }
}

/// Random statements run by quarry and, translated, by PostgreSQL on the same documents: the
/// same ids in the same order, the same counts, the same rows and groups.
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
    let mut cases = Vec::new();
    let case = |statement: String, param: Option<Json>, probe: Probe| Case {
        statement,
        param,
        probe,
    };
    for i in 0..300 {
        let condition = random_condition(&mut rng, 0);
        cases.push(case(
            format!("from items where {condition}"),
            None,
            Probe::Ids,
        ));
        if i % 3 == 0 {
            cases.push(case(
                format!("count from items where {condition}"),
                None,
                Probe::Count,
            ));
        }
    }
    for _ in 0..80 {
        let (condition, value) = parameter_condition(&mut rng);
        cases.push(case(
            format!("from items where {condition}"),
            Some(value),
            Probe::Ids,
        ));
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
        cases.push(case(
            format!(
                "from items order by {} limit {} offset {}",
                keys.join(", "),
                1 + rng.below(40),
                rng.below(5)
            ),
            None,
            Probe::Ids,
        ));
    }
    for _ in 0..10 {
        cases.push(case(
            "from items order by k desc, _id limit $v offset 2".to_owned(),
            Some(json!(rng.below(30))),
            Probe::Ids,
        ));
    }
    for by in ["k", "s", "o.p", "arr.p", "arr", "k[0]", "o"] {
        let condition = random_condition(&mut rng, 1);
        cases.push(case(format!("count from items by {by}"), None, Probe::Rows));
        cases.push(case(
            format!("count from items where {condition} by {by}"),
            None,
            Probe::Rows,
        ));
    }
    for _ in 0..20 {
        let condition = random_condition(&mut rng, 1);
        cases.push(case(
            format!(
                "select k, o.p, arr.p as x, arr[0], _id from items where {condition} \
                 order by {} limit 20",
                pick(&mut rng, &["s", "k desc", "arr.p", "_id desc"])
            ),
            None,
            Probe::Rows,
        ));
    }
    for _ in 0..40 {
        let condition = random_condition(&mut rng, 1);
        cases.push(case(
            format!(
                "select {} as a, {} as b, _id from items where {condition} order by {}{}, _id \
                 limit 30",
                pick(&mut rng, EXPRESSIONS),
                pick(&mut rng, EXPRESSIONS),
                pick(&mut rng, EXPRESSIONS),
                pick(&mut rng, &["", " desc"])
            ),
            None,
            Probe::Rows,
        ));
    }
    for _ in 0..60 {
        let condition = random_condition(&mut rng, 1);
        let keys = [
            "k",
            "s",
            "arr.p",
            "o.p",
            "len(s)",
            "year(d)",
            "type(k)",
            "k[0]",
            "_id % 3",
            "o",
            "s, type(k)",
            "arr.p, k",
        ];
        let key = pick(&mut rng, &keys);
        let aggregates = "count() as n, count(k) as c, count(distinct arr.p) as dc, \
                          sum(n) as total, avg(n) as mean, min(k) as lo, max(d) as hi";
        let having = pick(
            &mut rng,
            &[
                "",
                " having n > 3",
                " having lo != null or hi > '2'",
                " having sum(k) >= 2",
            ],
        );
        let order = pick(
            &mut rng,
            &[
                "",
                " order by n desc",
                " order by total, lo desc",
                " order by mean desc limit 4",
            ],
        );
        let statement = match rng.below(4) {
            0 => format!("select distinct {key} from items where {condition}"),
            1 => format!("select {aggregates} from items where {condition}"),
            _ => format!(
                "select {key}, {aggregates} from items where {condition} group by {key}\
                 {having}{order}"
            ),
        };
        cases.push(case(statement, None, Probe::Rows));
    }
    let mut sql = String::new();
    let mut expected = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let translated = quarry::sql::translate(&case.statement, &target)
            .unwrap_or_else(|e| panic!("{}: {e}", case.statement));
        let mut params = quarry::query::Params::new();
        if let Some(value) = &case.param {
            params.set("v", quarry::Value::try_from(value.clone()).unwrap());
        }
        let prepared = db.prepare(&case.statement).unwrap();
        let select = match case.probe {
            Probe::Ids => {
                let ids: Vec<String> = prepared
                    .query_with(&params)
                    .unwrap()
                    .map(|r| r.unwrap().get("_id").unwrap().to_string())
                    .collect();
                expected.push(ids.join(","));
                format!(
                    "select array_to_string(array({}), ',')",
                    translated.sql.replacen("select id, doc", "select id", 1)
                )
            }
            Probe::Count => {
                expected.push(
                    prepared
                        .execute_with(&params)
                        .unwrap()
                        .to_string()
                        .trim()
                        .to_owned(),
                );
                translated.sql.clone()
            }
            Probe::Rows => {
                let rows = match prepared.execute_with(&params).unwrap() {
                    quarry::query::Output::Rows(rows) | quarry::query::Output::Groups(rows) => rows,
                    other => panic!("{}: {other:?}", case.statement),
                };
                let rows: Vec<Json> = rows
                    .iter()
                    .map(|r| serde_json::to_value(r).unwrap())
                    .collect();
                expected.push(normal(&Json::Array(rows)).to_string());
                format!(
                    "select coalesce(jsonb_agg(r), '[]') from ({}) r",
                    translated.sql
                )
            }
        };
        match &case.param {
            None => sql.push_str(&format!("{select};\n")),
            Some(value) => {
                assert_eq!(translated.parameters.len(), 1, "{}", case.statement);
                sql.push_str(&format!(
                    "prepare p{n} as {select};\nexecute p{n}('{}');\n",
                    value.to_string().replace('\'', "''")
                ));
            }
        }
    }
    let queries = dir.path().join("queries.sql");
    std::fs::write(&queries, sql).unwrap();
    let answers = server.psql(&["-f", queries.to_str().unwrap()]);
    let answers: Vec<String> = answers
        .lines()
        .zip(&cases)
        .map(|(line, case)| match case.probe {
            Probe::Rows => normal(&serde_json::from_str(line).unwrap()).to_string(),
            _ => line.to_owned(),
        })
        .collect();
    assert_eq!(answers.len(), cases.len());
    // Not a test of empty answers: most statements find something, and not everything.
    let found = expected
        .iter()
        .filter(|a| !a.is_empty() && *a != "0" && *a != "[]")
        .count();
    assert!(
        found > cases.len() / 2,
        "only {found} answers are not empty"
    );
    let everything = expected
        .iter()
        .filter(|a| a.split(',').count() == docs.len())
        .count();
    assert!(
        everything < cases.len() / 4,
        "{everything} answers hold every document"
    );
    let mut mismatches = Vec::new();
    for ((case, quarry), postgres) in cases.iter().zip(&expected).zip(&answers) {
        if quarry != postgres {
            mismatches.push(format!(
                "{} {:?}\n  quarry:     {quarry}\n  PostgreSQL: {postgres}",
                case.statement, case.param
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} statements answer differently:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

/// Every document of `items` in quarry and in PostgreSQL, in id order, as normalized JSON.
fn both_contents(db: &quarry::Db, server: &Server) -> (String, String) {
    let rows: Vec<Json> = db.query_as("from items").unwrap();
    let quarry = normal(&Json::Array(rows)).to_string();
    let postgres = server.psql(&[
        "-c",
        "select coalesce(jsonb_agg(doc || jsonb_build_object('_id', id) order by id), '[]') \
         from items",
    ]);
    let postgres = normal(&serde_json::from_str(postgres.trim()).unwrap()).to_string();
    (quarry, postgres)
}

/// Random inserts, updates (of constants and parameters, through missing objects and array
/// positions) and deletes, run by quarry and, translated, by PostgreSQL: the same documents
/// after each, with the same ids; where quarry refuses one, PostgreSQL does too and neither
/// changes anything.
#[test]
fn translated_writes_change_what_quarry_changes() {
    let server = Server::start();
    let db = quarry::Db::temporary().unwrap();
    let mut rng = Rng(0x5EED_0F7E);
    let docs: Vec<Json> = (0..120).map(|_| small_doc(&mut rng)).collect();
    db.collection("items").unwrap().insert_many(&docs).unwrap();
    let target = quarry::export::PgTarget::default();
    server.load(&db, "items", None, &target);
    let (mut refused, mut changed) = (0, 0);
    for round in 0..60 {
        let condition = random_condition(&mut rng, 1);
        let literal = pick(&mut rng, LITERALS);
        let (statement, param) = match rng.below(8) {
            6 => (
                format!(
                    "update items set z = {}, o.w = {} where {condition}",
                    pick(&mut rng, EXPRESSIONS),
                    pick(&mut rng, EXPRESSIONS)
                ),
                None,
            ),
            0 => (
                format!("update items set z = {literal} where {condition}"),
                None,
            ),
            1 => (
                format!("update items set o.q.r = {literal}, k = $v where {condition}"),
                Some([json!(1), json!("x"), Json::Null, json!(2.5)][rng.below(4) as usize].clone()),
            ),
            2 => (
                format!("update items unset s, arr[0].p where {condition}"),
                None,
            ),
            3 => (
                format!(
                    "update items set arr[{}] = {literal} where {condition}",
                    rng.below(3)
                ),
                None,
            ),
            4 => (format!("delete from items where {condition}"), None),
            _ => (
                format!(
                    "insert into items [{{k: {literal}, s: 'new{round}'}}, {{o: {{p: {}}}}}]",
                    pick(&mut rng, LITERALS)
                ),
                None,
            ),
        };
        let translated = quarry::sql::translate(&statement, &target)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        let mut params = quarry::query::Params::new();
        let mut sql = translated.sql.clone();
        if let Some(value) = &param {
            params.set("v", quarry::Value::try_from(value.clone()).unwrap());
            sql = format!(
                "prepare w as {sql}; execute w('{}')",
                value.to_string().replace('\'', "''")
            );
        }
        let in_quarry = db.prepare(&statement).unwrap().execute_with(&params);
        let in_postgres = server.psql_command(&["-c", &sql]).output().unwrap();
        assert_eq!(
            in_quarry.is_ok(),
            in_postgres.status.success(),
            "{statement}\n  quarry: {in_quarry:?}\n  PostgreSQL: {}",
            String::from_utf8_lossy(&in_postgres.stderr)
        );
        match in_quarry.is_ok() {
            true => changed += 1,
            false => refused += 1,
        }
        let (quarry, postgres) = both_contents(&db, &server);
        assert_eq!(quarry, postgres, "after {statement}");
    }
    assert!(
        changed > 30 && refused > 2,
        "{changed} ran, {refused} refused"
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
    // Each plan joins the golden file of plans (`QUARRY_UPDATE=1` rewrites it).
    let plans = std::cell::RefCell::new(String::new());
    let explain = |statement: &str| {
        let sql = quarry::sql::translate(statement, &target).unwrap().sql;
        let plan = server.psql(&[
            "-c",
            &format!("set enable_seqscan = off; explain (costs off) {sql}"),
        ]);
        plans
            .borrow_mut()
            .push_str(&format!("-- {statement}\n{sql};\n{plan}\n"));
        plan
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
    let plan = explain("from items where _id between 10 and 20");
    assert!(
        plan.contains("Index Scan using items_pkey") && plan.contains("id >= 10"),
        "{plan}"
    );
    let plan = explain("count from items where org in ['ICC', 'HRW'] and year >= 2020");
    assert!(plan.contains("Bitmap Index Scan on items_doc"), "{plan}");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/postgres_plans.txt");
    let plans = format!(
        "-- PostgreSQL's plans (explain, costs off, sequential scans off) for translated\n\
         -- statements over an export with indexes (org, year), (date), unique (code), (tags):\n\
         -- written by tests/postgres_export.rs, QUARRY_UPDATE=1 rewrites it.\n\n{}",
        plans.into_inner()
    );
    if std::env::var_os("QUARRY_UPDATE").is_some() {
        std::fs::write(&golden, &plans).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&golden).unwrap_or_default(),
        plans,
        "the plans differ from {} (QUARRY_UPDATE=1 rewrites it)",
        golden.display()
    );
    // A parameter's test is built as the statement runs, and still reads the GIN index, in
    // the generic plan a prepared statement settles on too.
    let sql = quarry::sql::translate("count from items where org = $org and year >= $2", &target)
        .unwrap()
        .sql;
    let plan = server.psql(&[
        "-c",
        &format!(
            "set enable_seqscan = off; set plan_cache_mode = force_generic_plan; \
             prepare q as {sql}; explain (costs off) execute q('\"ICC\"', '2020')"
        ),
    ]);
    assert!(plan.contains("Bitmap Index Scan on items_doc"), "{plan}");
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
