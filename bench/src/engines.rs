//! The three engines, each doing the same workloads on the same data.

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap};
use std::path::{Path, PathBuf};

use crate::data::{Article, order_fingerprint};

/// The workloads every engine runs; each returns how many documents (or groups) it produced,
/// or for the ordered limit which documents in which order ([`order_fingerprint`]), so the
/// engines can be checked against each other.
pub trait Engine {
    /// Bulk import with two indexes: (org, year) and (date).
    fn load(&mut self, docs: &[Article]);
    /// Point get by id, decoding the document.
    fn get(&self, id: u64) -> usize;
    /// `org = "ICC" and year >= 2020`, whole documents.
    fn indexed(&self) -> usize;
    /// How many documents have `org = "ICC" and year >= 2020` (no document needs reading).
    fn indexed_count(&self) -> usize;
    /// `order by date desc limit 10` (on an index), ties newest id first.
    fn latest(&self) -> usize;
    /// `order by words desc limit 10` (no index).
    fn longest(&self) -> usize;
    /// `count by org`.
    fn count_by_org(&self) -> usize;
    /// `select org, count() as n, avg(words) as w, max(date) as last group by org`: a
    /// [`groups_fingerprint`] of the groups.
    fn group_by_org(&self) -> usize;
    /// `select count(distinct location)`.
    fn distinct_locations(&self) -> usize;
    /// Full scan with a predicate on an unindexed field: `words > 140`.
    fn scan(&self) -> usize;
    /// `body matches "glacier.*storm"`.
    fn regex(&self) -> usize;
    /// Update 10% of the documents by predicate (`bucket = 3`).
    fn update(&mut self) -> usize;
    /// Delete 10% of the documents by predicate (`bucket = 4`).
    fn delete(&mut self) -> usize;
    /// Close the database (the harness then waits for the engine to let go of its files).
    fn close(&mut self);
    /// Open again and run the indexed query.
    fn reopen(&mut self) -> usize;
    /// Bytes on disk after a flush.
    fn size(&mut self) -> u64;
}

/// Which groups came with which figures: each group's count, its mean word count to a
/// thousandth and the length of its latest date, folded in group order.
pub fn groups_fingerprint(groups: impl IntoIterator<Item = (String, i64, f64, String)>) -> usize {
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups
        .iter()
        .fold(groups.len(), |print, (_, n, mean, last)| {
            print
                .wrapping_mul(1_000_003)
                .wrapping_add(*n as usize)
                .wrapping_mul(31)
                .wrapping_add((mean * 1000.0).round() as usize)
                .wrapping_add(last.len())
        })
}

/// Bytes in all files below `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        dir_size(&path)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
/// quarry through its public API.
pub struct Quarry {
    dir: PathBuf,
    db: Option<quarry::Db>,
    /// Queries parsed once, as SQLite's engine keeps its statements (`prepare_cached`).
    prepared: RefCell<HashMap<&'static str, quarry::query::Prepared>>,
}

/// Bytes of page cache both sled-based engines get: `QUARRY_BENCH_CACHE_MB`, default 256
/// (quarry's default).
pub fn cache_bytes() -> u64 {
    std::env::var("QUARRY_BENCH_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(256)
        << 20
}

/// Whether quarry's stores are created compressed (`QUARRY_BENCH_COMPRESS=1`, which the
/// children of a run inherit), in either mode; each mode's results say so.
pub(crate) fn compressed() -> bool {
    std::env::var_os("QUARRY_BENCH_COMPRESS").is_some_and(|v| v == "1")
}

/// Opens a quarry store with the bench's cache size.
pub(crate) fn quarry_open(path: &Path) -> quarry::Db {
    let options = quarry::Options {
        cache_capacity: cache_bytes(),
        compression: compressed(),
        ..Default::default()
    };
    quarry::Db::open_with(path, options).expect("open quarry")
}

impl Quarry {
    pub fn new(dir: &Path) -> Quarry {
        let db = quarry_open(&dir.join("quarry.db"));
        Quarry {
            dir: dir.to_path_buf(),
            db: Some(db),
            prepared: RefCell::default(),
        }
    }
    fn db(&self) -> &quarry::Db {
        self.db.as_ref().expect("open")
    }
    /// Runs a query (prepared on first use); its documents as `Article`s.
    fn typed(&self, query: &'static str) -> impl Iterator<Item = Article> {
        let mut prepared = self.prepared.borrow_mut();
        let statement = match prepared.entry(query) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(self.db().prepare(query).expect("prepare")),
        };
        let rows = statement.query_as::<Article>().expect("query");
        rows.map(|row| row.expect("row"))
    }
    /// Runs a query and counts its documents.
    fn rows(&self, query: &'static str) -> usize {
        self.typed(query).fold(0, |n, row| {
            std::hint::black_box(row);
            n + 1
        })
    }
    fn changed(&self, statement: &str) -> usize {
        match self.db().execute(statement).expect("statement").remove(0) {
            quarry::query::Output::Changed { count, .. } => count as usize,
            other => panic!("{other:?}"),
        }
    }
}

impl Engine for Quarry {
    fn load(&mut self, docs: &[Article]) {
        let articles = self.db().collection("articles").expect("collection");
        articles.create_index(&["org", "year"]).expect("index");
        articles.create_index(&["date"]).expect("index");
        let mut load = articles.bulk_load().expect("load");
        for doc in docs {
            load.insert(quarry::to_value(doc).expect("value"))
                .expect("insert");
        }
        load.commit().expect("commit");
        self.db().flush().expect("flush");
    }
    fn get(&self, id: u64) -> usize {
        let articles = self.db().get_collection("articles").expect("collection");
        usize::from(articles.get::<Article>(id).expect("get").is_some())
    }
    fn indexed(&self) -> usize {
        self.rows("from articles where org = 'ICC' and year >= 2020")
    }
    fn indexed_count(&self) -> usize {
        match self
            .db()
            .execute("count from articles where org = 'ICC' and year >= 2020")
            .expect("count")
            .remove(0)
        {
            quarry::query::Output::Count(n) => n as usize,
            other => panic!("{other:?}"),
        }
    }
    fn latest(&self) -> usize {
        let rows: Vec<Article> = self
            .typed("from articles order by date desc limit 10")
            .collect();
        order_fingerprint(&rows)
    }
    fn longest(&self) -> usize {
        self.rows("from articles order by words desc limit 10")
    }
    fn count_by_org(&self) -> usize {
        match self
            .db()
            .execute("count from articles by org")
            .expect("count")
            .remove(0)
        {
            quarry::query::Output::Groups(groups) => groups.len(),
            other => panic!("{other:?}"),
        }
    }
    fn group_by_org(&self) -> usize {
        #[derive(serde::Deserialize)]
        struct Group {
            org: String,
            n: i64,
            w: f64,
            last: String,
        }
        let groups = self
            .db()
            .query("select org, count() as n, avg(words) as w, max(date) as last from articles group by org")
            .expect("query")
            .deserialize::<Group>()
            .map(|g| g.expect("group"));
        groups_fingerprint(groups.map(|g| (g.org, g.n, g.w, g.last)))
    }
    fn distinct_locations(&self) -> usize {
        #[derive(serde::Deserialize)]
        struct Count {
            n: usize,
        }
        self.db()
            .query("select count(distinct location) as n from articles")
            .expect("query")
            .deserialize::<Count>()
            .next()
            .expect("one row")
            .expect("row")
            .n
    }
    fn scan(&self) -> usize {
        self.rows("from articles where words > 140")
    }
    fn regex(&self) -> usize {
        self.rows(r#"from articles where body matches "glacier.*storm""#)
    }
    fn update(&mut self) -> usize {
        self.changed("update articles set flagged = true where bucket = 3")
    }
    fn delete(&mut self) -> usize {
        self.changed("delete from articles where bucket = 4")
    }
    fn close(&mut self) {
        // The prepared statements hold the database too: the store closes when they go.
        self.prepared.borrow_mut().clear();
        if let Some(db) = self.db.take() {
            db.flush().expect("flush");
        }
    }
    fn reopen(&mut self) -> usize {
        self.db = Some(quarry_open(&self.dir.join("quarry.db")));
        self.indexed()
    }
    fn size(&mut self) -> u64 {
        self.db().flush().expect("flush");
        dir_size(&self.dir.join("quarry.db"))
    }
}

// ---------------------------------------------------------------------------------------------
/// SQLite with a JSON text column and expression indexes (WAL, synchronous=NORMAL).
pub struct Sqlite {
    path: PathBuf,
    conn: Option<rusqlite::Connection>,
}

fn sqlite_open(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open sqlite");
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        .expect("pragmas");
    conn.create_scalar_function(
        "regexp",
        2,
        rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let re = ctx.get_or_create_aux(0, |v| {
                regex::Regex::new(v.as_str()?)
                    .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))
            })?;
            let text = ctx.get::<String>(1)?;
            Ok(re.is_match(&text))
        },
    )
    .expect("regexp");
    conn
}

impl Sqlite {
    pub fn new(dir: &Path) -> Sqlite {
        let path = dir.join("sqlite.db");
        Sqlite {
            conn: Some(sqlite_open(&path)),
            path,
        }
    }
    fn conn(&self) -> &rusqlite::Connection {
        self.conn.as_ref().expect("open")
    }
    /// Runs a query (prepared on first use) and hands its documents as `Article`s to `read`.
    fn docs_with<R>(
        &self,
        sql: &str,
        read: impl FnOnce(&mut dyn Iterator<Item = Article>) -> R,
    ) -> R {
        let mut statement = self.conn().prepare_cached(sql).expect("prepare");
        let mut rows = statement
            .query_map([], |row| row.get::<_, String>(0))
            .expect("query")
            .map(|text| serde_json::from_str::<Article>(&text.expect("row")).expect("json"));
        read(&mut rows)
    }
    /// Runs a query and counts its documents.
    fn docs(&self, sql: &str) -> usize {
        self.docs_with(sql, |rows| {
            rows.fold(0, |n, doc| {
                std::hint::black_box(doc);
                n + 1
            })
        })
    }
}

impl Engine for Sqlite {
    fn load(&mut self, docs: &[Article]) {
        let conn = self.conn.as_mut().expect("open");
        conn.execute_batch(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
             CREATE INDEX docs_org_year ON docs (json_extract(doc, '$.org'), json_extract(doc, '$.year'));
             CREATE INDEX docs_date ON docs (json_extract(doc, '$.date'));",
        )
        .expect("schema");
        let tx = conn.transaction().expect("tx");
        {
            let mut insert = tx
                .prepare("INSERT INTO docs (id, doc) VALUES (?1, ?2)")
                .expect("prepare");
            for (i, doc) in docs.iter().enumerate() {
                insert
                    .execute(rusqlite::params![
                        i as i64 + 1,
                        serde_json::to_string(doc).expect("json")
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    fn get(&self, id: u64) -> usize {
        let mut statement = self
            .conn()
            .prepare_cached("SELECT doc FROM docs WHERE id = ?1")
            .expect("prepare");
        let text: String = statement
            .query_row([id as i64], |row| row.get(0))
            .expect("get");
        usize::from(serde_json::from_str::<Article>(&text).is_ok())
    }
    fn indexed(&self) -> usize {
        self.docs("SELECT doc FROM docs WHERE json_extract(doc, '$.org') = 'ICC' AND json_extract(doc, '$.year') >= 2020")
    }
    fn indexed_count(&self) -> usize {
        let sql = "SELECT count(*) FROM docs WHERE json_extract(doc, '$.org') = 'ICC' AND json_extract(doc, '$.year') >= 2020";
        let mut statement = self.conn().prepare_cached(sql).expect("prepare");
        statement
            .query_row([], |row| row.get::<_, i64>(0))
            .expect("count") as usize
    }
    fn latest(&self) -> usize {
        let sql = "SELECT doc FROM docs ORDER BY json_extract(doc, '$.date') DESC LIMIT 10";
        self.docs_with(sql, |rows| order_fingerprint(&rows.collect::<Vec<_>>()))
    }
    fn longest(&self) -> usize {
        self.docs("SELECT doc FROM docs ORDER BY json_extract(doc, '$.words') DESC LIMIT 10")
    }
    fn count_by_org(&self) -> usize {
        let mut statement = self
            .conn()
            .prepare_cached("SELECT json_extract(doc, '$.org'), count(*) FROM docs GROUP BY 1")
            .expect("prepare");
        statement
            .query_map([], |row| row.get::<_, i64>(1))
            .expect("query")
            .count()
    }
    fn group_by_org(&self) -> usize {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT json_extract(doc, '$.org'), count(*), avg(json_extract(doc, '$.words')), \
                 max(json_extract(doc, '$.date')) FROM docs GROUP BY 1",
            )
            .expect("prepare");
        let groups = statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .expect("query")
            .map(|g| g.expect("group"));
        groups_fingerprint(groups)
    }
    fn distinct_locations(&self) -> usize {
        self.conn()
            .query_row(
                "SELECT count(DISTINCT json_extract(doc, '$.location')) FROM docs",
                [],
                |row| row.get::<_, i64>(0),
            )
            .expect("query") as usize
    }
    fn scan(&self) -> usize {
        self.docs("SELECT doc FROM docs WHERE json_extract(doc, '$.words') > 140")
    }
    fn regex(&self) -> usize {
        self.docs(
            "SELECT doc FROM docs WHERE regexp('glacier.*storm', json_extract(doc, '$.body'))",
        )
    }
    fn update(&mut self) -> usize {
        self.conn()
            .execute("UPDATE docs SET doc = json_set(doc, '$.flagged', json('true')) WHERE json_extract(doc, '$.bucket') = 3", [])
            .expect("update")
    }
    fn delete(&mut self) -> usize {
        self.conn()
            .execute(
                "DELETE FROM docs WHERE json_extract(doc, '$.bucket') = 4",
                [],
            )
            .expect("delete")
    }
    fn close(&mut self) {
        drop(self.conn.take());
    }
    fn reopen(&mut self) -> usize {
        self.conn = Some(sqlite_open(&self.path));
        self.indexed()
    }
    fn size(&mut self) -> u64 {
        let _ = self
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        let dir = self
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("sqlite.db"))
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------------
/// The raw sled floor: the least code that stores the same documents with bincode and the same
/// index keys by hand. What sled itself allows; quarry's query layer should cost little more.
pub struct RawSled {
    dir: PathBuf,
    db: Option<sled::Db>,
}

fn raw_open(dir: &Path) -> sled::Db {
    sled::Config::new()
        .path(dir.join("raw.db"))
        .cache_capacity(cache_bytes())
        .open()
        .expect("open sled")
}

fn encode(doc: &Article) -> Vec<u8> {
    bincode::serde::encode_to_vec(doc, bincode::config::standard()).expect("encode")
}

fn decode(bytes: &[u8]) -> Article {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .expect("decode")
        .0
}

fn org_year_key(org: &str, year: i64, id: u64) -> Vec<u8> {
    let mut key = org.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&((year as u64) ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(&id.to_be_bytes());
    key
}

fn date_key(date: &str, id: u64) -> Vec<u8> {
    let mut key = date.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

fn id_of(key: &[u8]) -> u64 {
    u64::from_be_bytes(key[key.len() - 8..].try_into().expect("id"))
}

impl RawSled {
    pub fn new(dir: &Path) -> RawSled {
        RawSled {
            dir: dir.to_path_buf(),
            db: Some(raw_open(dir)),
        }
    }
    fn tree(&self, name: &str) -> sled::Tree {
        self.db
            .as_ref()
            .expect("open")
            .open_tree(name)
            .expect("tree")
    }
    fn docs_where(&self, keep: impl Fn(&Article) -> bool) -> usize {
        self.tree("docs")
            .iter()
            .values()
            .map(|v| decode(&v.expect("value")))
            .filter(|d| keep(d))
            .count()
    }
}

impl Engine for RawSled {
    fn load(&mut self, docs: &[Article]) {
        let (tree, org_year, date) = (self.tree("docs"), self.tree("org_year"), self.tree("date"));
        for (chunk_no, chunk) in docs.chunks(1000).enumerate() {
            let (mut d, mut o, mut t) = (
                sled::Batch::default(),
                sled::Batch::default(),
                sled::Batch::default(),
            );
            for (i, doc) in chunk.iter().enumerate() {
                let id = (chunk_no * 1000 + i) as u64 + 1;
                d.insert(&id.to_be_bytes(), encode(doc));
                o.insert(org_year_key(&doc.org, doc.year, id), &[]);
                t.insert(date_key(&doc.date, id), &[]);
            }
            tree.apply_batch(d).expect("docs");
            org_year.apply_batch(o).expect("org_year");
            date.apply_batch(t).expect("date");
        }
        self.db.as_ref().expect("open").flush().expect("flush");
    }
    fn get(&self, id: u64) -> usize {
        self.tree("docs")
            .get(id.to_be_bytes())
            .expect("get")
            .map(|v| decode(&v))
            .map_or(0, |_| 1)
    }
    fn indexed(&self) -> usize {
        let docs = self.tree("docs");
        let start = org_year_key("ICC", 2020, 0);
        let end = {
            let mut e = b"ICC".to_vec();
            e.push(1);
            e
        };
        self.tree("org_year")
            .range(start..end)
            .keys()
            .fold(0, |n, k| {
                std::hint::black_box(decode(
                    &docs
                        .get(id_of(&k.expect("key")).to_be_bytes())
                        .expect("get")
                        .expect("doc"),
                ));
                n + 1
            })
    }
    fn indexed_count(&self) -> usize {
        let start = org_year_key("ICC", 2020, 0);
        let mut end = b"ICC".to_vec();
        end.push(1);
        self.tree("org_year").range(start..end).keys().count()
    }
    fn latest(&self) -> usize {
        let docs = self.tree("docs");
        let rows: Vec<Article> = self
            .tree("date")
            .iter()
            .rev()
            .take(10)
            .map(|item| {
                decode(
                    &docs
                        .get(id_of(&item.expect("key").0).to_be_bytes())
                        .expect("get")
                        .expect("doc"),
                )
            })
            .collect();
        order_fingerprint(&rows)
    }
    fn longest(&self) -> usize {
        let mut heap = BinaryHeap::new();
        for value in self.tree("docs").iter().values() {
            let doc = decode(&value.expect("value"));
            heap.push(std::cmp::Reverse(doc.words));
            if heap.len() > 10 {
                heap.pop();
            }
        }
        heap.len()
    }
    fn count_by_org(&self) -> usize {
        let mut groups: HashMap<Vec<u8>, u64> = HashMap::new();
        for key in self.tree("org_year").iter().keys() {
            let key = key.expect("key");
            let org = key.split(|b| *b == 0).next().unwrap_or(&[]).to_vec();
            *groups.entry(org).or_default() += 1;
        }
        groups.len()
    }
    fn group_by_org(&self) -> usize {
        let mut groups: HashMap<String, (i64, i64, String)> = HashMap::new();
        for value in self.tree("docs").iter().values() {
            let doc = decode(&value.expect("value"));
            let (n, words, last) = groups.entry(doc.org).or_default();
            *n += 1;
            *words += doc.words;
            if doc.date > *last {
                *last = doc.date;
            }
        }
        groups_fingerprint(
            groups
                .into_iter()
                .map(|(org, (n, words, last))| (org, n, words as f64 / n as f64, last)),
        )
    }
    fn distinct_locations(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        for value in self.tree("docs").iter().values() {
            seen.insert(decode(&value.expect("value")).location);
        }
        seen.len()
    }
    fn scan(&self) -> usize {
        self.docs_where(|d| d.words > 140)
    }
    fn regex(&self) -> usize {
        let re = regex::Regex::new("glacier.*storm").expect("regex");
        self.docs_where(|d| re.is_match(&d.body))
    }
    fn update(&mut self) -> usize {
        let docs = self.tree("docs");
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in docs.iter() {
            let (key, value) = item.expect("item");
            let mut doc = decode(&value);
            if doc.bucket == 3 {
                doc.tags.push("flagged".into());
                batch.insert(key, encode(&doc));
                n += 1;
            }
        }
        docs.apply_batch(batch).expect("update");
        n
    }
    fn delete(&mut self) -> usize {
        let (docs, org_year, date) = (self.tree("docs"), self.tree("org_year"), self.tree("date"));
        let (mut d, mut o, mut t) = (
            sled::Batch::default(),
            sled::Batch::default(),
            sled::Batch::default(),
        );
        let mut n = 0;
        for item in docs.iter() {
            let (key, value) = item.expect("item");
            let doc = decode(&value);
            if doc.bucket == 4 {
                let id = id_of(&key);
                d.remove(key);
                o.remove(org_year_key(&doc.org, doc.year, id));
                t.remove(date_key(&doc.date, id));
                n += 1;
            }
        }
        docs.apply_batch(d).expect("docs");
        org_year.apply_batch(o).expect("org_year");
        date.apply_batch(t).expect("date");
        n
    }
    fn close(&mut self) {
        if let Some(db) = self.db.take() {
            db.flush().expect("flush");
        }
    }
    fn reopen(&mut self) -> usize {
        // sled releases its lock from a background thread shortly after the last handle.
        let mut tries = 0;
        loop {
            match sled::Config::new()
                .path(self.dir.join("raw.db"))
                .cache_capacity(cache_bytes())
                .open()
            {
                Ok(db) => {
                    self.db = Some(db);
                    break;
                }
                Err(_) if tries < 200 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(err) => panic!("reopen: {err}"),
            }
        }
        self.indexed()
    }
    fn size(&mut self) -> u64 {
        self.db.as_ref().expect("open").flush().expect("flush");
        dir_size(&self.dir.join("raw.db"))
    }
}
