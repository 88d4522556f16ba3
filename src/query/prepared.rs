//! Prepared statements: text parsed once by [`Db::prepare`], run as often as wanted.
//!
//! A [`Prepared`] keeps the parsed statement, not a plan: every run plans afresh, so an index
//! created after `prepare` is used and one dropped is no longer read.

use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::query::ast::Statement;
use crate::query::exec::{Rows, TypedRows};
use crate::query::params::Params;
use crate::query::session::{Output, Session};
use crate::store::Db;

/// One parsed statement on a database, ready to run many times without parsing it again.
///
/// Each run binds its own parameters and chooses its plan then, with the indexes the
/// database has at that moment. Cloning is cheap enough to hand one to each thread.
///
/// ```
/// use quarry::query::Params;
/// let db = quarry::Db::temporary()?;
/// db.execute("insert into t [{org: 'ICC'}, {org: 'HRW'}, {org: 'ICC'}]")?;
/// let by_org = db.prepare("from t where org = $org")?;
/// for (org, n) in [("ICC", 2), ("HRW", 1)] {
///     assert_eq!(by_org.query_with(&Params::new().with("org", org))?.count(), n);
/// }
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Prepared {
    db: Db,
    statement: Statement,
}

impl Prepared {
    /// The parsed statement.
    ///
    /// ```
    /// use quarry::internals::ast::Statement;
    /// let db = quarry::Db::temporary()?;
    /// let prepared = db.prepare("count from t")?;
    /// assert!(matches!(prepared.statement(), Statement::Count(_)));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// Runs a prepared query and returns its documents lazily, as [`Db::query`] does on the
    /// same text. Any other kind of statement is an error: run it with [`Prepared::execute`].
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{a: 1}, {a: 2}]")?;
    /// let top = db.prepare("from t order by a desc limit 1")?;
    /// let first = top.query()?.next().unwrap()?;
    /// assert_eq!(first.to_string(), r#"{"_id":2,"a":2}"#);
    /// db.execute("insert into t {a: 3}")?;
    /// assert_eq!(top.query()?.next().unwrap()?.to_string(), r#"{"_id":3,"a":3}"#);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query(&self) -> Result<Rows> {
        self.session(None).query_statement(&self.statement)
    }

    /// Runs a prepared query with `$1` / `$name` parameters bound for this run only, as
    /// [`Db::query_with`] does on the same text.
    ///
    /// ```
    /// use quarry::query::Params;
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{year: 2019}, {year: 2021}, {year: 2023}]")?;
    /// let since = db.prepare("from t where year >= $1")?;
    /// assert_eq!(since.query_with(&Params::new().with_positional(2020i64))?.count(), 2);
    /// assert_eq!(since.query_with(&Params::new().with_positional(2022i64))?.count(), 1);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query_with(&self, params: &Params) -> Result<Rows> {
        self.session(Some(params)).query_statement(&self.statement)
    }

    /// Runs a prepared query and returns its rows as `T`s, lazily: whole documents are read
    /// straight from their stored bytes (see [`Rows::deserialize`]).
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Note { _id: u64, a: i64 }
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{a: 1, text: 'x'}, {a: 2, text: 'y'}]")?;
    /// let top = db.prepare("from t order by a desc limit 1")?;
    /// let notes: Vec<Note> = top.query_as()?.collect::<Result<_, _>>()?;
    /// assert_eq!((notes[0]._id, notes[0].a), (2, 2));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query_as<T: DeserializeOwned>(&self) -> Result<TypedRows<T>> {
        Ok(self.query()?.deserialize())
    }

    /// [`Prepared::query_as`] with `$1` / `$name` parameters bound for this run only.
    ///
    /// ```
    /// use quarry::query::Params;
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{year: 2019}, {year: 2021}]")?;
    /// let since = db.prepare("from t where year >= $1")?;
    /// let years: Vec<serde_json::Value> =
    ///     since.query_as_with(&Params::new().with_positional(2020i64))?.collect::<Result<_, _>>()?;
    /// assert_eq!(years, [serde_json::json!({"_id": 2, "year": 2021})]);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn query_as_with<T: DeserializeOwned>(&self, params: &Params) -> Result<TypedRows<T>> {
        Ok(self.query_with(params)?.deserialize())
    }

    /// Runs the prepared statement, of any kind, and returns its output, as [`Db::execute`]
    /// does on the same text.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let insert = db.prepare("insert into t {a: 1}")?;
    /// insert.execute()?;
    /// insert.execute()?;
    /// assert_eq!(db.prepare("count from t")?.execute()?.to_string(), "2\n");
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn execute(&self) -> Result<Output> {
        self.session(None).run(&self.statement)
    }

    /// Runs the prepared statement with `$1` / `$name` parameters bound for this run only.
    ///
    /// ```
    /// use quarry::query::Params;
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{k: 1}, {k: 2}]")?;
    /// let mark = db.prepare("update t set seen = true where k = $k")?;
    /// let out = mark.execute_with(&Params::new().with("k", 2i64))?;
    /// assert_eq!(out.to_string(), "updated 1 document\n");
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn execute_with(&self, params: &Params) -> Result<Output> {
        self.session(Some(params)).run(&self.statement)
    }

    /// A fresh session for one run, as `Db::execute` and `Db::query` use.
    fn session(&self, params: Option<&Params>) -> Session {
        let mut session = Session::new(self.db.clone());
        if let Some(params) = params {
            session.set_params(params.clone());
        }
        session
    }
}

impl Db {
    /// Parses one statement for running many times: see [`Prepared`]. Text with no
    /// statement or with several is an error, as is text that does not parse (with its line
    /// and column).
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.execute("insert into t [{a: 1}, {a: 2}]")?;
    /// let big = db.prepare("from t where a > 1")?;
    /// assert_eq!(big.query()?.count(), 1);
    /// assert!(db.prepare("count from t; count from t").is_err());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn prepare(&self, text: &str) -> Result<Prepared> {
        Ok(Prepared {
            db: self.clone(),
            statement: crate::query::parse_statement(text)?,
        })
    }
}
