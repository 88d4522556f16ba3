//! Running statements: a session holds the current collection (`use`) and bound parameters,
//! and turns each statement into an [`Output`].

use std::fmt;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::path::Path;
use std::sync::Arc;

use crate::query::ast::{Aggregate, Column, Count, Expr, Operand, OrderKey, Query, Statement};
use crate::query::compute::{self, Calc};
use crate::query::eval;
use crate::query::exec::{self, Rows};
use crate::query::explain::{self, Measures, PlanNode};
use crate::query::grouping::{self, resolve_alias};
use crate::query::params::Params;
use crate::query::pipeline::{
    AggregateCall, GroupSource, Grouping, Pipeline, Projection, Shape, Step,
};
use crate::query::plan::{Access, Interrupt, Plan, SortKey};
use crate::store::{
    BuildProgress, Collection, Db, IndexDef, Transaction, Writer, prepare_document,
};
use crate::text::snippet::Marks;
use crate::value::{Map, Value};

/// What one statement produced.
#[derive(Debug)]
#[non_exhaustive]
pub enum Output {
    /// Documents or rows (queries, `show ...`).
    Rows(Vec<Value>),
    /// `count ... by PATH`: rows of `{PATH: value, count: n}`, most frequent first.
    Groups(Vec<Value>),
    /// A number (`count`).
    Count(u64),
    /// Documents written: `inserted 3 documents`.
    Changed {
        /// `inserted`, `updated`, `deleted` or `imported`.
        action: &'static str,
        /// How many documents.
        count: u64,
    },
    /// A schema change or setting, said in words (`created index articles_org`).
    Done(String),
    /// The plan of `explain`.
    Plan(PlanNode),
    /// The PostgreSQL statement of `explain sql`.
    Sql(String),
}

impl fmt::Display for Output {
    /// Plain text: rows as compact JSON lines, counts bare, messages as they are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Rows(rows) | Output::Groups(rows) => {
                for row in rows {
                    writeln!(f, "{row}")?;
                }
                Ok(())
            }
            Output::Count(n) => writeln!(f, "{n}"),
            Output::Changed { action, count } => writeln!(
                f,
                "{action} {count} document{}",
                if *count == 1 { "" } else { "s" }
            ),
            Output::Done(message) => writeln!(f, "{message}"),
            Output::Plan(plan) => write!(f, "{plan}"),
            Output::Sql(sql) => writeln!(f, "{sql}"),
        }
    }
}

/// A conversation with a database: the current collection and parameters carry over from one
/// statement to the next, as in the REPL and in scripts.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// let mut session = quarry::query::Session::new(db);
/// session.execute("insert into notes {text: 'hi'}; use notes")?;
/// let out = session.execute("count")?;
/// assert_eq!(out[0].to_string(), "1\n");
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Debug)]
pub struct Session {
    base: Db,
    /// The transaction `begin` opened, until `commit` or `rollback` (or the session's end,
    /// which rolls it back).
    tx: Option<Transaction>,
    current: Option<String>,
    params: Params,
    base_dir: Option<std::path::PathBuf>,
    interrupt: Option<Interrupt>,
    importer: Option<Importer>,
    translator: Option<Translator>,
    read_ahead: Option<u64>,
    /// What the last statement run may want its user to know (see [`Session::warnings`]).
    warnings: Vec<String>,
    /// How `snippet()` marks matches unless a statement says.
    marks: Marks,
    /// Told how `create index` statements fill their indexes (see [`Session::set_progress`]).
    progress: Option<Reporter>,
}

/// A session's [`BuildProgress`], shown by name in the session's `Debug`.
#[derive(Clone)]
struct Reporter(Arc<dyn BuildProgress>);

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BuildProgress")
    }
}

/// Runs an `import "PATH" into COLLECTION [format F]` statement: reads the file or folder at
/// the path into the collection and returns how many documents it added. The language knows
/// no file formats; the layer that does supplies this (`quarry::import::statement`).
pub type Importer = fn(
    db: &Db,
    path: &std::path::Path,
    collection: &str,
    format: Option<&str>,
    interrupt: Option<&Interrupt>,
) -> Result<u64>;

/// Answers `explain sql STATEMENT`: the PostgreSQL statement equivalent to `statement`, whose
/// collection is `current` when it names none. The language knows no SQL; the layer that does
/// supplies this (`quarry::sql::explain`).
pub type Translator = fn(statement: &Statement, current: Option<&str>) -> Result<String>;

impl Session {
    /// A session on `db` with no current collection and no parameters.
    pub fn new(db: Db) -> Session {
        Session {
            base: db,
            tx: None,
            current: None,
            params: Params::new(),
            base_dir: None,
            interrupt: None,
            importer: None,
            translator: None,
            read_ahead: Some(exec::MIN_ROWS),
            warnings: Vec::new(),
            marks: Marks::default(),
            progress: None,
        }
    }

    /// What `create index` and `create text index` statements tell how they fill the index
    /// from the stored documents (the shell and `quarry exec` draw a bar on a terminal).
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
    /// #[derive(Default)]
    /// struct Total(AtomicU64);
    /// impl quarry::BuildProgress for Total {
    ///     fn start(&self, _index: &str, documents: u64) { self.0.store(documents, Ordering::Relaxed); }
    ///     fn done(&self, _documents: u64) {}
    ///     fn finish(&self) {}
    /// }
    /// let mut session = quarry::query::Session::new(quarry::Db::temporary()?);
    /// let total = Arc::new(Total::default());
    /// session.set_progress(Some(total.clone()));
    /// session.execute("insert into notes [{n: 1}, {n: 2}]; create index on notes (n)")?;
    /// assert_eq!(total.0.load(Ordering::Relaxed), 2);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn set_progress(&mut self, progress: Option<Arc<dyn BuildProgress>>) {
        self.progress = progress.map(Reporter);
    }

    /// `collection` for a statement that creates an index, telling the session's progress.
    fn collection_for_index(&mut self, collection: &str) -> Result<Collection> {
        let handle = self.collection_for_write(collection)?;
        Ok(match &self.progress {
            Some(Reporter(progress)) => handle.with_progress(progress.clone()),
            None => handle,
        })
    }

    /// How `snippet()` marks the words that match and the cuts, unless a statement gives
    /// marks of its own (the shell marks them in bold on a terminal).
    ///
    /// ```
    /// use quarry::text::snippet::Marks;
    /// let mut session = quarry::query::Session::new(quarry::Db::temporary()?);
    /// session.set_snippet_marks(Marks { open: "<b>".into(), close: "</b>".into(), ..Marks::default() });
    /// session.execute("create text index on notes (body); insert into notes {body: 'coral reefs'}")?;
    /// let out = session.execute("select snippet(body) as s from notes where search 'reef'")?;
    /// assert!(out[0].to_string().contains("coral <b>reefs</b>"), "{}", out[0]);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn set_snippet_marks(&mut self, marks: Marks) {
        self.marks = marks;
    }

    /// The session's parameters, with the `search` conditions of `filter` bound to
    /// `collection`'s text index.
    fn search_params(&self, collection: &Collection, filter: Option<&Expr>) -> Result<Params> {
        let param = |p: &crate::query::ast::Param| self.params.get(p);
        let search = crate::query::text::resolve(collection, filter, &param, &self.marks)?;
        Ok(self.params.with_search(search))
    }

    /// What the last statement run ([`Session::run`], or the last of [`Session::execute`]'s)
    /// may owe its answer to, without being wrong: an empty answer to a condition on a field no
    /// document has, or on a type the field never holds; a collection a write created. The
    /// shell and `quarry exec` print them on stderr; scripts print them after the output.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let mut session = quarry::query::Session::new(db);
    /// session.execute("insert into articles {org: 'ICC', year: 2021}")?;
    /// session.execute("count from articles where org = 'ICC' and yaer >= 2020")?;
    /// assert_eq!(session.warnings(), ["no document in articles has field `yaer`; did you mean `year`?"]);
    /// session.execute("count from articles where year >= '2020'")?;
    /// assert_eq!(session.warnings(), ["`year` holds numbers in every document; `\"2020\"` is a string"]);
    /// session.execute("insert into artcles {org: 'HRW'}")?;
    /// assert_eq!(session.warnings(), ["created collection `artcles`; did you mean `articles`?"]);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Warns, when `empty`, about what `predicate` asks of `collection` that no document has.
    fn warn_if_empty(
        &mut self,
        empty: bool,
        collection: &Collection,
        predicate: Option<&eval::Predicate>,
    ) -> Result<()> {
        if let (true, Some(predicate)) = (empty, predicate) {
            self.warnings = crate::query::warnings::for_empty_answer(collection, predicate)?;
        }
        Ok(())
    }

    /// Adds a warning for each unknown field behind a column that came out empty in every
    /// row: null (`select nmae`, `min(aera)`, `group by regoin`), or 0 (`sum(aera)`,
    /// `count(aera)`). A query whose columns all hold something samples nothing.
    fn warn_of_unknown_fields(
        &mut self,
        collection: &Collection,
        pipeline: &Pipeline,
        rows: &[Value],
    ) -> Result<()> {
        let empty = |v: &Value| matches!(v, Value::Null) || *v == Value::Int(0);
        let paths: Vec<&Path> = pipeline
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Project(columns) => Some(columns),
                _ => None,
            })
            .flatten()
            .filter(|c| !rows.is_empty() && rows.iter().all(|r| r.get(&c.name).is_none_or(empty)))
            .flat_map(|c| &c.sources)
            .collect();
        if paths.is_empty() {
            return Ok(());
        }
        for warning in crate::query::warnings::for_unknown_fields(collection, paths)? {
            if !self.warnings.contains(&warning) {
                self.warnings.push(warning);
            }
        }
        Ok(())
    }

    /// How many documents a query must be expected to read before a second thread finds them
    /// (walks the index, reads and filters the documents) while the calling thread decodes,
    /// sorts or projects them; documents found by id are read by whichever thread is free.
    /// Default: `Some(2000)`; `None` keeps every query on the calling thread. A query with a
    /// `limit` and no sort is expected to read its limit at most.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let mut session = quarry::query::Session::new(db);
    /// session.set_read_ahead(None);
    /// session.execute("insert into t {x: 1}; from t")?;
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn set_read_ahead(&mut self, min_rows: Option<u64>) {
        self.read_ahead = min_rows;
    }

    /// Lets `import` statements run, through `importer`; without one they fail with an error
    /// that says so. The shell, `quarry exec` and scripts set `quarry::import::statement`.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let mut session = quarry::query::Session::new(db);
    /// assert!(session.execute("import 'examples/data/people.csv' into people").is_err());
    /// session.set_importer(Some(quarry::import::statement));
    /// session.execute("import 'examples/data/people.csv' into people")?;
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn set_importer(&mut self, importer: Option<Importer>) {
        self.importer = importer;
    }

    /// Lets `explain sql` statements run, through `translator`; without one they fail with an
    /// error that says so. The shell, `quarry exec` and scripts set `quarry::sql::explain`.
    ///
    /// ```
    /// let mut session = quarry::query::Session::new(quarry::Db::temporary()?);
    /// session.set_translator(Some(quarry::sql::explain));
    /// let out = session.execute("explain sql count from t")?;
    /// assert_eq!(out[0].to_string(), "select count(*) from \"public\".\"t\";\n");
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn set_translator(&mut self, translator: Option<Translator>) {
        self.translator = translator;
    }

    /// The database, as the open transaction sees it when there is one.
    pub fn db(&self) -> &Db {
        match &self.tx {
            Some(tx) => tx.db(),
            None => &self.base,
        }
    }

    /// Whether a transaction is open (`begin` without `commit` or `rollback` yet).
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// Rolls back the open transaction, if there is one, and says whether there was: what
    /// the shell and scripts do when they end with one open.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let mut session = quarry::query::Session::new(db.clone());
    /// session.execute("begin; insert into t {x: 1}")?;
    /// assert!(session.roll_back_open()?);
    /// assert!(db.get_collection("t").is_none());
    /// assert!(!session.roll_back_open()?);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn roll_back_open(&mut self) -> Result<bool> {
        match self.tx.take() {
            Some(tx) => tx.rollback().map(|()| true),
            None => Ok(false),
        }
    }

    /// The collection chosen with `use`, if any.
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The parameters statements see.
    pub fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    /// The folder relative paths in statements (`import "data.csv" into ...`) start from:
    /// a script's own folder; the working directory when unset.
    pub fn set_base_dir(&mut self, dir: Option<std::path::PathBuf>) {
        self.base_dir = dir;
    }

    /// A flag that, once raised, stops the statement running (the shell raises it on Ctrl-C).
    pub fn set_interrupt(&mut self, interrupt: Option<Interrupt>) {
        self.interrupt = interrupt;
    }

    /// The folder relative paths start from, if set.
    pub fn base_dir(&self) -> Option<&std::path::Path> {
        self.base_dir.as_deref()
    }

    /// Replaces the parameters.
    pub fn set_params(&mut self, params: Params) {
        self.params = params;
    }

    /// Parses and runs one or more statements, returning each one's output. Stops at the
    /// first failing statement; those before it keep their effect (each statement is atomic).
    pub fn execute(&mut self, text: &str) -> Result<Vec<Output>> {
        let statements = crate::query::parse(text)?;
        statements.iter().map(|s| self.run(s)).collect()
    }

    /// Runs a query and returns its rows lazily.
    pub fn query(&mut self, text: &str) -> Result<Rows> {
        self.query_statement(&crate::query::parse_statement(text)?)
    }

    /// Runs one parsed query and returns its rows lazily; any other statement is an error.
    /// The plan is chosen now, with the indexes the database has at this moment.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{a: 1}, {a: 2}]")?;
    /// let mut session = quarry::query::Session::new(db);
    /// let statement = quarry::query::parse_statement("from t where a = 2")?;
    /// assert_eq!(session.query_statement(&statement)?.count(), 1);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query_statement(&mut self, statement: &Statement) -> Result<Rows> {
        match statement {
            Statement::Query(query) => self.rows(query),
            _ => Err(Error::Query(
                "`query` runs a query (`from ... where ...`); use `execute` for other statements"
                    .into(),
            )),
        }
    }

    /// Runs a statement and, when it changed anything, flushes the database before returning:
    /// what it reports done is on disk. The command line and the shell run statements so.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let mut session = quarry::query::Session::new(db);
    /// let statement = quarry::query::parse_statement("insert into t {a: 1}")?;
    /// assert_eq!(session.run_durably(&statement)?.to_string(), "inserted 1 document\n");
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn run_durably(&mut self, statement: &Statement) -> Result<Output> {
        let output = self.run(statement)?;
        if matches!(output, Output::Changed { .. } | Output::Done(_)) {
            self.db().flush()?;
        }
        Ok(output)
    }

    /// Runs one parsed statement. On a damaged store where sled fails, the statement fails
    /// with an error that says so (and the store then refuses writes), never a panic.
    pub fn run(&mut self, statement: &Statement) -> Result<Output> {
        self.warnings.clear();
        let db = self.base.clone();
        db.contain_damage(|| self.run_explained(statement, None))
    }

    /// Runs a statement; with `explain` set, returns its plan instead (running it too when
    /// `explain` is `Some(true)`, i.e. `explain analyze`).
    fn run_explained(&mut self, statement: &Statement, explain: Option<bool>) -> Result<Output> {
        self.db().ensure_open()?;
        if let Some(what) = statement.outside_transactions() {
            self.db().refuse_in_transaction(what)?;
        }
        match statement {
            Statement::Begin | Statement::Commit | Statement::Rollback if explain.is_some() => {
                Err(Error::Query(format!(
                    "`explain` shows how a statement reads or writes; `{statement}` does neither"
                )))
            }
            Statement::Begin => {
                if self.tx.is_some() {
                    return Err(Error::Transaction(
                        "a transaction is already open: `commit` or `rollback` it first \
                         (transactions do not nest)"
                            .into(),
                    ));
                }
                self.tx = Some(self.base.begin()?);
                Ok(Output::Done("began a transaction".into()))
            }
            Statement::Commit | Statement::Rollback
                if self.tx.is_none() && self.db().in_transaction() =>
            {
                Err(Error::Transaction(format!(
                    "`{statement}` cannot end a transaction opened from Rust: return from \
                     Db::transaction, or call Transaction::commit or rollback"
                )))
            }
            Statement::Commit | Statement::Rollback => {
                let tx = self.tx.take().ok_or_else(|| {
                    Error::Transaction(format!(
                        "`{statement}` with no transaction open: `begin` starts one"
                    ))
                })?;
                if matches!(statement, Statement::Commit) {
                    tx.commit()?;
                    Ok(Output::Done("committed".into()))
                } else {
                    tx.rollback()?;
                    Ok(Output::Done("rolled back".into()))
                }
            }
            Statement::Query(query) => self.run_query(query, explain),
            Statement::Count(count) => self.run_count(count, explain),
            Statement::Insert {
                collection,
                documents,
            } => {
                if let Some(analyze) = explain {
                    let node = PlanNode::new(format!(
                        "Insert {} document{} into {collection}",
                        documents.len(),
                        if documents.len() == 1 { "" } else { "s" }
                    ));
                    if analyze {
                        self.insert(collection, documents)?;
                    }
                    return Ok(Output::Plan(node));
                }
                self.insert(collection, documents)
            }
            Statement::Update {
                collection,
                set,
                unset,
                filter,
            } => {
                let collection = self.existing(collection)?;
                let params = self.search_params(&collection, Some(filter))?;
                let predicate = eval::bind(filter, &params)?;
                let set: Vec<(Path, Calc)> = set
                    .iter()
                    .map(|(p, v)| Ok((p.clone(), Calc::bind(v, &params)?)))
                    .collect::<Result<_>>()?;
                for (path, _) in &set {
                    if path.is_id() {
                        return Err(Error::Query("`_id` cannot be changed".into()));
                    }
                }
                let change = |doc: &mut Value| {
                    // Every new value is computed from the document as it was.
                    let values: Vec<Value> = set.iter().map(|(_, calc)| calc.eval(doc)).collect();
                    for ((path, _), value) in set.iter().zip(values) {
                        path.set(doc, value)?;
                    }
                    for path in unset {
                        path.remove(doc);
                    }
                    Ok(())
                };
                self.write_matching(
                    &collection,
                    predicate,
                    filter.to_string(),
                    explain,
                    Change::Update(&change),
                )
            }
            Statement::Delete { collection, filter } => {
                let collection = self.existing(collection)?;
                let params = self.search_params(&collection, filter.as_ref())?;
                let (predicate, text) = match filter {
                    Some(filter) => (eval::bind(filter, &params)?, filter.to_string()),
                    None => (eval::Predicate::And(Vec::new()), "all".to_owned()),
                };
                self.write_matching(&collection, predicate, text, explain, Change::Delete)
            }
            Statement::CreateIndex {
                collection,
                paths,
                text: Some(language),
                ..
            } => {
                let texts: Vec<String> = paths.iter().map(Path::to_string).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let handle = self.collection_for_index(collection)?;
                let existed = handle.indexes()?.iter().any(|d| d.is_text());
                let name = handle.create_text_index(&refs, *language)?;
                Ok(Output::Done(if existed {
                    format!("text index {name} already exists")
                } else {
                    format!(
                        "created text index {name} on {collection} ({}) language {language}",
                        texts.join(", ")
                    )
                }))
            }
            Statement::CreateIndex {
                collection,
                paths,
                unique,
                text: None,
            } => {
                let texts: Vec<String> = paths.iter().map(Path::to_string).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let handle = self.collection_for_index(collection)?;
                let existed = handle.indexes()?.iter().any(|d| d.paths == *paths);
                let name = handle.create_index_with(&refs, *unique)?;
                Ok(Output::Done(if existed {
                    format!("index {name} already exists")
                } else {
                    format!(
                        "created {}index {name} on {collection} ({})",
                        if *unique { "unique " } else { "" },
                        texts.join(", ")
                    )
                }))
            }
            Statement::DropIndex { name } => {
                self.db().drop_index(name)?;
                Ok(Output::Done(format!("dropped index {name}")))
            }
            Statement::DropCollection { name } => {
                if !self.db().drop_collection(name)? {
                    return Err(self.unknown_collection(name));
                }
                if self.current.as_deref() == Some(name.as_str()) {
                    self.current = None;
                }
                Ok(Output::Done(format!("dropped collection {name}")))
            }
            Statement::Use { collection } => {
                let note = if self.db().get_collection(collection).is_some() {
                    ""
                } else {
                    " (a new collection: it is created by the first insert)"
                };
                self.current = Some(collection.clone());
                Ok(Output::Done(format!("using {collection}{note}")))
            }
            Statement::ShowCollections => {
                let mut rows = Vec::new();
                for name in self.db().collections() {
                    if let Some(c) = self.db().get_collection(&name) {
                        rows.push(object([
                            ("name", Value::from(name.as_str())),
                            ("documents", count_value(c.len()?)),
                            ("indexes", count_value(c.indexes()?.len() as u64)),
                        ]));
                    }
                }
                Ok(Output::Rows(rows))
            }
            Statement::ShowIndexes { collection } => {
                let indexes = match collection {
                    Some(name) => self.existing(name)?.indexes()?,
                    None => self.db().indexes()?,
                };
                Ok(Output::Rows(
                    indexes
                        .into_iter()
                        .map(|d| {
                            object([
                                ("name", Value::from(d.name.as_str())),
                                ("collection", Value::from(d.collection.as_str())),
                                ("paths", Value::from(d.paths_text())),
                                ("unique", Value::Bool(d.unique)),
                                ("multikey", Value::Bool(d.multikey)),
                                ("kind", Value::from(index_kind(&d))),
                            ])
                        })
                        .collect(),
                ))
            }
            Statement::ShowFields { collection } => {
                let collection = self.resolve(collection.as_deref())?;
                Ok(Output::Rows(crate::query::fields::field_summary(
                    &collection,
                )?))
            }
            Statement::ExplainSql { statement } => {
                let translator = self.translator.ok_or_else(|| {
                    Error::Query(
                        "`explain sql` runs in the shell, `quarry exec` and scripts; from Rust, \
                         call quarry::sql::translate (or give the session a translator)"
                            .into(),
                    )
                })?;
                Ok(Output::Sql(translator(statement, self.current.as_deref())?))
            }
            Statement::Explain { analyze, statement } => {
                if matches!(**statement, Statement::Explain { .. }) {
                    return Err(Error::Query("`explain explain` is not a statement".into()));
                }
                self.run_explained(statement, Some(*analyze))
            }
            Statement::Import {
                path,
                collection,
                format,
            } => {
                let file = match &self.base_dir {
                    Some(dir) => dir.join(path),
                    None => std::path::PathBuf::from(path),
                };
                if !file.exists() {
                    return Err(Error::NotFound(format!(
                        "file or folder {path:?} not found"
                    )));
                }
                let importer = self.importer.ok_or_else(|| {
                    Error::Query(
                        "`import` runs in the shell, `quarry exec` and scripts; from Rust, \
                         call quarry::import::import_files (or give the session an importer)"
                            .into(),
                    )
                })?;
                let count = importer(
                    self.db(),
                    &file,
                    collection,
                    format.as_deref(),
                    self.interrupt.as_ref(),
                )?;
                Ok(Output::Changed {
                    action: "imported",
                    count,
                })
            }
        }
    }

    fn run_query(&mut self, query: &Query, explain: Option<bool>) -> Result<Output> {
        let (collection, pipeline) = self.pipeline(query)?;
        match explain {
            None => {
                let rows: Vec<Value> = exec::rows(&collection, &pipeline, &mut Measures::off())
                    .collect::<Result<_>>()?;
                self.warn_if_empty(rows.is_empty(), &collection, pipeline.plan.filter.as_ref())?;
                self.warn_of_unknown_fields(&collection, &pipeline, &rows)?;
                Ok(Output::Rows(rows))
            }
            Some(false) => Ok(Output::Plan(explain::render(&pipeline, &Measures::off()))),
            Some(true) => {
                let mut measures = Measures::on(pipeline.steps.len());
                for row in exec::rows(&collection, &pipeline, &mut measures) {
                    row?;
                }
                Ok(Output::Plan(explain::render(&pipeline, &measures)))
            }
        }
    }

    fn rows(&mut self, query: &Query) -> Result<Rows> {
        let db = self.base.clone();
        db.contain_damage(|| {
            let (collection, pipeline) = self.pipeline(query)?;
            Ok(exec::rows(&collection, &pipeline, &mut Measures::off()))
        })
    }

    /// Plans a query: the collection it reads and the pipeline that reads it.
    fn pipeline(&mut self, query: &Query) -> Result<(Collection, Pipeline)> {
        let collection = self.resolve(query.collection.as_deref())?;
        let params = self.search_params(&collection, query.filter.as_ref())?;
        let predicate = query
            .filter
            .as_ref()
            .map(|f| eval::bind(f, &params))
            .transpose()?;
        let limit = query
            .limit
            .as_ref()
            .map(|l| self.whole_number("limit", l))
            .transpose()?;
        let offset = query
            .offset
            .as_ref()
            .map(|o| self.whole_number("offset", o))
            .transpose()?
            .unwrap_or(0);
        let text = query
            .filter
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        if query.aggregates() {
            let grouped = grouping::plan(query, &params)?;
            let mut grouping = grouped.grouping;
            // One path as the key: an index scan that gives its order, when the planner
            // chooses one for the filter, lets groups stream in key order.
            let key_order: Vec<SortKey> = match grouping.keys.as_slice() {
                [(calc @ Calc::Path(_), text)] => vec![SortKey {
                    calc: calc.clone(),
                    descending: false,
                    text: text.clone(),
                }],
                _ => Vec::new(),
            };
            let mut plan = Plan::new(&collection, predicate, &key_order, false)?;
            plan.interrupt = self.interrupt.clone();
            grouping.in_key_order = !key_order.is_empty()
                && plan.sort.is_empty()
                && matches!(plan.access, Access::IndexScan(_));
            // The groups are sorted after grouping, never the documents.
            plan.sort.clear();
            if plan.filter.is_none() {
                grouping.source = index_source(&collection, &grouping)?;
            }
            let shape = Shape {
                columns: Some(grouped.columns),
                offset,
                limit,
            };
            let pipeline = Pipeline::aggregate(
                collection.name(),
                plan,
                text,
                grouping,
                grouped.having,
                grouped.order,
                &shape,
            );
            return Ok((collection, pipeline));
        }
        let columns = query.columns.as_deref();
        let aliases: Vec<(&str, &Operand)> = columns
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c.alias.as_deref()?, &c.value)))
            .collect();
        let order = query
            .order_by
            .iter()
            .map(|key| {
                Ok(SortKey {
                    calc: Calc::bind(&resolve_alias(&key.key, &aliases), &params)?,
                    descending: key.descending,
                    text: key.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // A search with a limit keeps its best matches unless told otherwise.
        let order = match params.search() {
            Some(search) if order.is_empty() && limit.is_some() && search.ranks() => {
                vec![SortKey {
                    calc: Calc::Score(search.clone()),
                    descending: true,
                    text: "score() desc".into(),
                }]
            }
            _ => order,
        };
        let mut plan = Plan::new(&collection, predicate, &order, limit.is_some())?;
        plan.rank_search(
            limit.map_or(u64::MAX, |limit| limit.saturating_add(offset)),
            collection.len()?,
        );
        plan.interrupt = self.interrupt.clone();
        let columns = columns
            .map(|columns| {
                columns
                    .iter()
                    .map(|c| Ok(Projection::of(c, Calc::bind(&c.value, &params)?)))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        let shape = Shape {
            columns,
            offset,
            limit,
        };
        let pipeline = Pipeline::query(collection.name(), plan, text, &shape, self.read_ahead);
        Ok((collection, pipeline))
    }

    fn run_count(&mut self, count: &Count, explain: Option<bool>) -> Result<Output> {
        if let Some(by) = &count.by {
            return self.run_count_by(count, by, explain);
        }
        let collection = self.resolve(count.collection.as_deref())?;
        let params = self.search_params(&collection, count.filter.as_ref())?;
        let predicate = count
            .filter
            .as_ref()
            .map(|f| eval::bind(f, &params))
            .transpose()?;
        let mut plan = Plan::new(&collection, predicate, &[], false)?;
        plan.interrupt = self.interrupt.clone();
        let text = count
            .filter
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let pipeline = Pipeline::count(collection.name(), plan, text);
        let mut measures = match explain {
            Some(true) => Measures::on(pipeline.steps.len()),
            _ => Measures::off(),
        };
        if explain == Some(false) {
            return Ok(Output::Plan(explain::render(&pipeline, &measures)));
        }
        let n = exec::count(&collection, &pipeline, &mut measures)?;
        if explain.is_some() {
            return Ok(Output::Plan(explain::render(&pipeline, &measures)));
        }
        self.warn_if_empty(n == 0, &collection, pipeline.plan.filter.as_ref())?;
        Ok(Output::Count(n))
    }

    /// `count by p` is `select p, count() as count group by p order by count desc`: groups
    /// most frequent first, ties in value order.
    fn run_count_by(&mut self, count: &Count, by: &Path, explain: Option<bool>) -> Result<Output> {
        let query = Query {
            columns: Some(vec![
                Column {
                    value: Operand::Path(by.clone()),
                    alias: Some(by.to_string()),
                },
                Column {
                    value: Operand::Aggregate {
                        function: Aggregate::Count,
                        arg: None,
                        distinct: false,
                    },
                    alias: Some("count".into()),
                },
            ]),
            collection: count.collection.clone(),
            filter: count.filter.clone(),
            group_by: vec![Operand::Path(by.clone())],
            order_by: vec![OrderKey {
                key: Operand::Path(Path::field("count")),
                descending: true,
            }],
            ..Query::default()
        };
        match self.run_query(&query, explain)? {
            Output::Rows(groups) => Ok(Output::Groups(groups)),
            other => Ok(other),
        }
    }

    fn insert(&mut self, collection: &str, documents: &[Value]) -> Result<Output> {
        let given_ids = documents.iter().filter(|d| d.get("_id").is_some()).count();
        let docs: Vec<Value> = documents
            .iter()
            .cloned()
            .map(prepare_document)
            .collect::<Result<_>>()?;
        let ids = self
            .collection_for_write(collection)?
            .insert_values(&docs)?;
        if given_ids > 0 {
            // Ids are the store's to give: say so rather than drop one silently.
            self.warnings.push(format!(
                "`_id` is assigned by the store: the `_id` given in {given_ids} document{} was \
                 ignored ({})",
                if given_ids == 1 { "" } else { "s" },
                match ids.as_slice() {
                    [only] => format!("its new id is {only}"),
                    [first, .., last] => format!("the new ids are {first} to {last}"),
                    [] => String::new(),
                }
            ));
        }
        Ok(Output::Changed {
            action: "inserted",
            count: ids.len() as u64,
        })
    }

    /// Updates or deletes every document matching `predicate`, all in one atomic batch.
    fn write_matching(
        &mut self,
        collection: &Collection,
        predicate: eval::Predicate,
        text: String,
        explain: Option<bool>,
        kind: Change,
    ) -> Result<Output> {
        let action = kind.done();
        let _guard = collection.state.lock_writes()?;
        let mut plan = Plan::new(collection, Some(predicate), &[], false)?;
        plan.interrupt = self.interrupt.clone();
        // The plan as chosen, before anything changes.
        let mut node = explain.map(|_| {
            let pipeline = Pipeline::query(
                collection.name(),
                plan.clone(),
                text,
                &Shape::default(),
                None,
            );
            explain::render(&pipeline, &Measures::off())
        });
        if explain == Some(false)
            && let Some(node) = node.take()
        {
            let verb = match kind {
                Change::Update(_) => "Update",
                Change::Delete => "Delete",
            };
            return Ok(Output::Plan(
                PlanNode::new(format!(
                    "{verb} matching documents in {}",
                    collection.name()
                ))
                .child(node),
            ));
        }
        // Of the document as it was, the writer needs only what its index entries are made of
        // (known under the write lock, so no index can be created in between): a delete reads
        // no more, an update keeps no more of it than that.
        let indexed = collection.state.indexed_fields();
        let fields = match kind {
            Change::Update(_) => None,
            Change::Delete => indexed.as_deref(),
        };
        // One document at a time into one batch: nothing is applied before the last is read.
        let mut writer = Writer::new(&collection.state);
        let mut changed = 0u64;
        for found in exec::matching(collection, &plan, fields) {
            let (id, mut doc) = found?;
            match kind {
                Change::Update(change) => {
                    let old = match &indexed {
                        Some(names) => only_fields(&doc, names),
                        None => doc.clone(),
                    };
                    change(&mut doc)?;
                    writer.replace(id, &old, &prepare_document(doc)?)?;
                }
                Change::Delete => writer.remove(id, &doc)?,
            }
            changed += 1;
        }
        writer.commit()?;
        if let Some(node) = node {
            return Ok(Output::Plan(
                PlanNode::new(format!("{action} {changed} documents")).child(node),
            ));
        }
        self.warn_if_empty(changed == 0, collection, plan.filter.as_ref())?;
        Ok(Output::Changed {
            action,
            count: changed,
        })
    }

    /// The collection a statement reads: named, or the current one, or the only one.
    fn resolve(&self, named: Option<&str>) -> Result<Collection> {
        if let Some(name) = named.or(self.current.as_deref()) {
            return self.existing(name);
        }
        let names = self.db().collections();
        match names.as_slice() {
            [only] => self.existing(only),
            [] => Err(Error::Query(
                "the database has no collections yet: `insert into NAME {...}` creates one".into(),
            )),
            _ => Err(Error::Query(format!(
                "which collection? add `from NAME` or run `use NAME` first (collections: {})",
                names.join(", ")
            ))),
        }
    }

    /// The collection a write goes to, created when missing, with a warning that says so (and
    /// names an existing collection one or two edits away: a likely typo).
    fn collection_for_write(&mut self, name: &str) -> Result<Collection> {
        if let Some(found) = self.db().get_collection(name) {
            return Ok(found);
        }
        let near = self
            .db()
            .collections()
            .into_iter()
            .map(|n| (strsim::damerau_levenshtein(&n, name), n))
            .filter(|(d, _)| (1..=crate::query::warnings::likely_typo(name).min(1)).contains(d))
            .min();
        let created = self.db().collection(name)?;
        self.warnings.push(format!(
            "created collection `{name}`{}",
            near.map(|(_, n)| format!("; did you mean `{n}`?"))
                .unwrap_or_default()
        ));
        Ok(created)
    }

    fn existing(&self, name: &str) -> Result<Collection> {
        self.db()
            .get_collection(name)
            .ok_or_else(|| self.unknown_collection(name))
    }

    fn unknown_collection(&self, name: &str) -> Error {
        let names = self.db().collections();
        let hint = match names.iter().min_by_key(|n| strsim::levenshtein(n, name)) {
            Some(near) if strsim::levenshtein(near, name) <= 2 => {
                format!("; did you mean `{near}`?")
            }
            _ if names.is_empty() => "; the database has no collections yet".to_owned(),
            _ => format!(" (collections: {})", names.join(", ")),
        };
        Error::NotFound(format!("collection `{name}` not found{hint}"))
    }

    fn whole_number(&self, what: &str, operand: &Operand) -> Result<u64> {
        let value = compute::constant(operand, &self.params)?;
        match &value {
            Value::Int(i) if *i >= 0 => Ok(*i as u64),
            Value::Float(_) => value
                .as_i64()
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| {
                    Error::Query(format!("`{what}` takes a whole number ≥ 0, not {value}"))
                }),
            _ => Err(Error::Query(format!(
                "`{what}` takes a whole number ≥ 0, not {value}"
            ))),
        }
    }
}

fn count_value(n: u64) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// What answers a grouping without reading documents when there is no filter: the
/// collection's counter for `count()` alone; an index's per-value counts for `count()` per value of its leading path (`count by`), or its two ends
/// for `min` and `max` of its leading path (a top-level field). A multikey index on several paths counts pairs,
/// and one on arrays holds elements, not the arrays `min` and `max` compare: neither answers.
/// `values`, or `text english`: what `show indexes` says an index holds.
fn index_kind(index: &IndexDef) -> String {
    match index.kind {
        crate::store::IndexKind::Values => "values".to_owned(),
        crate::store::IndexKind::Text(language) => format!("text {language}"),
    }
}

fn index_source(collection: &Collection, grouping: &Grouping) -> Result<GroupSource> {
    let leading = |path: &Path, whole_values: bool| -> Result<Option<Arc<IndexDef>>> {
        Ok(collection
            .indexes()?
            .into_iter()
            .find(|d| {
                d.paths.first() == Some(path)
                    && !d.is_text()
                    && if whole_values {
                        !d.multikey
                    } else {
                        d.paths.len() == 1 || !d.multikey
                    }
            })
            .map(Arc::new))
    };
    let only_count_rows = |a: &AggregateCall| a.function == Aggregate::Count && a.arg.is_none();
    match grouping.keys.as_slice() {
        [(Calc::Path(path), _)] if grouping.aggregates.iter().all(only_count_rows) => {
            Ok(match leading(path, false)? {
                Some(index) => GroupSource::IndexCounts(index, collection.state.counts_held()),
                None => GroupSource::Rows,
            })
        }
        [] => {
            let mut ends = grouping.aggregates.iter().filter(|a| !only_count_rows(a));
            let path = match ends.next() {
                None => return Ok(GroupSource::Counter),
                Some(AggregateCall {
                    function: Aggregate::Min | Aggregate::Max,
                    arg: Some(Calc::Path(path)),
                    ..
                }) => path,
                _ => return Ok(GroupSource::Rows),
            };
            // Below the top level a path may cross arrays, which `min` and `max` take whole
            // and an index does not.
            if path.segments().len() != 1 {
                return Ok(GroupSource::Rows);
            }
            let same = ends.all(|a| {
                matches!(a.function, Aggregate::Min | Aggregate::Max)
                    && a.arg.as_ref().and_then(Calc::as_path) == Some(path)
            });
            Ok(match leading(path, true)? {
                Some(index) if same => GroupSource::IndexEnds(index),
                _ => GroupSource::Rows,
            })
        }
        _ => Ok(GroupSource::Rows),
    }
}

/// What a write statement does to the documents it matches: changes each in place, or deletes
/// it.
#[derive(Clone, Copy)]
enum Change<'a> {
    Update(&'a dyn Fn(&mut Value) -> Result<()>),
    Delete,
}

impl Change<'_> {
    /// How its report says it: `updated 3 documents`.
    fn done(self) -> &'static str {
        match self {
            Change::Update(_) => "updated",
            Change::Delete => "deleted",
        }
    }
}

/// The top-level fields of `doc` named in `names`, as an object of their own.
fn only_fields(doc: &Value, names: &[String]) -> Value {
    Value::Object(
        names
            .iter()
            .filter_map(|name| Some((name.as_str().into(), doc.get(name)?.clone())))
            .collect(),
    )
}

fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect::<Map>(),
    )
}

impl Db {
    /// Runs one or more statements of any kind and returns each one's output.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let out = db.execute("insert into t [{a: 1}, {a: 2}]; count from t where a > 1")?;
    /// assert_eq!(out[0].to_string(), "inserted 2 documents\n");
    /// assert_eq!(out[1].to_string(), "1\n");
    /// # Ok::<(), quarry::Error>(())
    /// ```
    ///
    /// `begin` ... `commit` make the statements between one transaction. Statements that end
    /// with one still open roll it back and fail: nothing of it is kept.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.execute("begin; insert into t {a: 1}; insert into u {a: 2}; commit")?;
    /// assert!(db.execute("begin; insert into t {a: 3}").is_err());
    /// assert_eq!(db.collection("t")?.len()?, 1);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn execute(&self, text: &str) -> Result<Vec<Output>> {
        let mut session = Session::new(self.clone());
        let outputs = session.execute(text)?;
        if session.roll_back_open()? {
            return Err(Error::Transaction(
                "the statements ended with a transaction open (`begin` without `commit`): \
                 it was rolled back"
                    .into(),
            ));
        }
        Ok(outputs)
    }

    /// Runs a query and returns its documents lazily, each with its `_id`. A query run many
    /// times can be parsed once with [`Db::prepare`].
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{a: 1}, {a: 2}]")?;
    /// let first = db.query("from t order by a desc limit 1")?.next().unwrap()?;
    /// assert_eq!(first.to_string(), r#"{"_id":2,"a":2}"#);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query(&self, text: &str) -> Result<Rows> {
        self.prepare(text)?.query()
    }

    /// Runs a query with `$1` / `$name` parameters bound.
    ///
    /// ```
    /// use quarry::query::Params;
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{org: 'ICC', year: 2021}, {org: 'HRW', year: 2020}]")?;
    /// let params = Params::new().with("org", "ICC");
    /// let rows: Vec<_> = db.query_with("from t where org = $org", &params)?.collect();
    /// assert_eq!(rows.len(), 1);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query_with(&self, text: &str, params: &Params) -> Result<Rows> {
        self.prepare(text)?.query_with(params)
    }

    /// Runs a query and converts every row into `T` (whole documents straight from their
    /// stored bytes: see [`Rows::deserialize`] for doing so lazily).
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Row { _id: u64, a: i64 }
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{a: 1}, {a: 2}]")?;
    /// let rows: Vec<Row> = db.query_as("from t where a = 2")?;
    /// assert_eq!((rows[0]._id, rows[0].a), (2, 2));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query_as<T: DeserializeOwned>(&self, text: &str) -> Result<Vec<T>> {
        self.prepare(text)?.query_as()?.collect()
    }
}

impl Transaction {
    /// Runs statements inside the transaction: reads see its writes, writes join it.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.transaction(|tx| {
    ///     tx.execute("insert into t [{a: 1}, {a: 2}]")?;
    ///     assert_eq!(tx.execute("count from t")?[0].to_string(), "2\n");
    ///     Ok(())
    /// })?;
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn execute(&self, text: &str) -> Result<Vec<Output>> {
        self.db().execute(text)
    }

    /// Runs a query inside the transaction and returns its documents lazily.
    pub fn query(&self, text: &str) -> Result<Rows> {
        self.db().query(text)
    }

    /// Runs a query inside the transaction with parameters bound.
    pub fn query_with(&self, text: &str, params: &Params) -> Result<Rows> {
        self.db().query_with(text, params)
    }

    /// Runs a query inside the transaction and converts every row into `T`.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let n = db.transaction(|tx| {
    ///     tx.execute("insert into t {a: 1}")?;
    ///     Ok(tx.query_as::<serde_json::Value>("from t")?.len())
    /// })?;
    /// assert_eq!(n, 1);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query_as<T: DeserializeOwned>(&self, text: &str) -> Result<Vec<T>> {
        self.db().query_as(text)
    }
}
