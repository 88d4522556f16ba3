//! Translating quarry statements into PostgreSQL, over the table `export --format postgres`
//! writes (`id bigint primary key, doc jsonb not null`) and the `quarry` schema of helper
//! functions it creates (`helpers.sql`).
//!
//! - `condition`: conditions as lax SQL/JSON path tests (`doc @? '$ ? (…)'`);
//! - `expression`: expressions as jsonb values, computed by the helpers;
//! - `group`: queries that answer with groups (`group by`, aggregates, `distinct`);
//! - `path`: quarry paths as SQL/JSON paths;
//! - `statement`: queries, counts, writes and indexes around them;
//! - `regex`: `matches` patterns as PostgreSQL regular expressions.
//!
//! Invariant: a statement is translated only into SQL that answers exactly as quarry does; a
//! form without such a translation is an error that says so, never an approximation. What
//! depends on a parameter's value (its type, null) is decided by PostgreSQL when the statement
//! runs, with an error where quarry's would be one.

mod condition;
mod expression;
mod group;
mod path;
mod regex;
mod statement;

use std::fmt;

use crate::error::{Error, Result};
use crate::query::ast::{Param, Statement};
use crate::value::Value;

pub(crate) use statement::index_statements;

/// Where a PostgreSQL table is (and an export writes it): `schema.table` (default: `public`
/// and the collection's name).
#[derive(Clone, Debug, Default)]
pub struct PgTarget {
    /// The schema (`public` when `None`).
    pub schema: Option<String>,
    /// The table (the collection's name when `None`).
    pub table: Option<String>,
}

/// A statement translated: the SQL and, for each of its parameters `$1..$n` in order, the
/// quarry parameter it stands for (PostgreSQL's are numbered in order of first appearance and
/// take jsonb values: `execute q('"ICC"', '2020')`).
#[derive(Clone, Debug, PartialEq)]
pub struct Translation {
    /// The PostgreSQL statement, without a final `;`.
    pub sql: String,
    /// The quarry parameter behind `$1`, `$2`, ….
    pub parameters: Vec<Param>,
}

impl fmt::Display for Translation {
    /// The statement and `;`, then a comment line naming the parameters, if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{};", self.sql)?;
        if !self.parameters.is_empty() {
            let names: Vec<String> = self
                .parameters
                .iter()
                .enumerate()
                .map(|(i, p)| format!("${} is {p}", i + 1))
                .collect();
            write!(f, "\n-- parameters (jsonb values): {}", names.join(", "))?;
        }
        Ok(())
    }
}

/// The PostgreSQL statement equivalent to the quarry statement `text`, against the table
/// `target` names (default: `public` and the statement's collection).
///
/// ```
/// use quarry::export::PgTarget;
/// let t = quarry::sql::translate("count from articles where org = 'ICC'", &PgTarget::default())?;
/// assert_eq!(t.sql, r#"select count(*) from "public"."articles" where doc @? '$ ? (@."org" == "ICC")'"#);
/// let t = quarry::sql::translate("from a where year > $y order by year limit $n", &PgTarget::default())?;
/// assert_eq!(t.parameters.len(), 2);
/// assert!(quarry::sql::translate("from a limit 5", &PgTarget::default()).is_err());
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn translate(text: &str, target: &PgTarget) -> Result<Translation> {
    let statement = crate::query::parse_statement(text)?;
    let mut cx = Cx::default();
    let sql = statement::translate(&statement, target, &mut cx)?;
    Ok(Translation {
        sql,
        parameters: cx.params,
    })
}

/// Answers `explain sql`: the translation of `statement` (over the table of `current` when it
/// names no collection) as it prints, parameters named; a
/// [`crate::query::session::Translator`] for sessions.
///
/// ```
/// let statement = quarry::query::parse_statement("count where a = $1")?;
/// let sql = quarry::sql::explain(&statement, Some("t"))?;
/// assert!(sql.starts_with(r#"select count(*) from "public"."t""#));
/// assert!(sql.ends_with("-- parameters (jsonb values): $1 is $1"));
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn explain(statement: &Statement, current: Option<&str>) -> Result<String> {
    let mut cx = Cx {
        params: Vec::new(),
        current: current.map(str::to_owned),
    };
    let sql = statement::translate(statement, &PgTarget::default(), &mut cx)?;
    Ok(Translation {
        sql,
        parameters: cx.params,
    }
    .to_string())
}

/// What translating one statement gathers and needs: its parameters, in order of first
/// appearance, and the collection of a statement that names none.
#[derive(Default)]
struct Cx {
    params: Vec<Param>,
    current: Option<String>,
}

impl Cx {
    /// PostgreSQL's number for `param`: `$1` for the first one met, and so on.
    fn param(&mut self, param: &Param) -> usize {
        match self.params.iter().position(|p| p == param) {
            Some(i) => i + 1,
            None => {
                self.params.push(param.clone());
                self.params.len()
            }
        }
    }
}

/// The exact value of an integral float from 2^53 up (`1.0000000000000001e18` is
/// 1000000000000000128.0), which PostgreSQL must be given instead of the float's shortest text
/// (it reads a number's text as an exact decimal, so ...100 would be another number); `None`
/// for other floats, whose shortest text reads back exactly. The export, the translated
/// literals and `quarry.float_json` all write such floats so, or they would disagree; the
/// decimal point marks a float, as in every float quarry writes.
pub(crate) fn large_integral(x: f64) -> Option<String> {
    (x.fract() == 0.0 && x.abs() >= 9_007_199_254_740_992.0).then(|| format!("{x:.1}"))
}

/// Writes `value` as JSON whose numbers mean exactly what quarry holds (see
/// [`large_integral`]). False when a string holds NUL, which jsonb refuses.
pub(crate) fn exact_json(value: &Value, out: &mut String) -> bool {
    match value {
        Value::Float(x) if let Some(exact) = large_integral(*x) => {
            out.push_str(&exact);
        }
        Value::String(s) => {
            if s.contains('\0') {
                return false;
            }
            out.push_str(&value.to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !exact_json(item, out) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if key.contains('\0') {
                    return false;
                }
                out.push_str(&Value::String(key.to_string()).to_string());
                out.push(':');
                if !exact_json(item, out) {
                    return false;
                }
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
    true
}

/// `value` as a jsonb constant: `'{"a":1}'::jsonb`.
fn jsonb(value: &Value) -> Result<String> {
    let mut json = String::new();
    if !exact_json(value, &mut json) {
        return Err(Error::Query(
            "a string holding the NUL character has no PostgreSQL translation (jsonb refuses it)"
                .into(),
        ));
    }
    Ok(format!("'{}'::jsonb", quote(&json)))
}

fn not_yet(what: &str) -> Error {
    Error::Query(format!("{what} has no exact PostgreSQL translation"))
}

/// A quoted SQL identifier for a column or an index that the translation names, refused when
/// PostgreSQL would cut it (past 63 bytes), which would give another name, or two alike.
fn column_name(name: &str) -> Result<String> {
    if name.len() > 63 {
        return Err(Error::Query(format!(
            "the name `{name}` is longer than PostgreSQL's 63 bytes, which would cut it: give it \
             a shorter alias (`as name`)"
        )));
    }
    Ok(ident(name))
}

/// A quoted SQL identifier.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal's inside: `'` doubled.
fn quote(text: &str) -> String {
    text.replace('\'', "''")
}

/// The helper functions translated statements use, created idempotently in schema `quarry`
/// (`helpers.sql`): `quarry.key(jsonb) -> bytea`, quarry's key encoding (bytes that sort in
/// quarry's value order: null < false < true < numbers < strings < arrays < objects, strings
/// by code point, every i64 exact); `quarry.index_keys` (the keys of `count by`);
/// `quarry.project` (a `select` column); `quarry.set` and `quarry.unset` (`update`);
/// `quarry.contains`; and the checks of parameters (`quarry.lit`, `quarry.row_count`).
pub const HELPERS: &str = include_str!("helpers.sql");
