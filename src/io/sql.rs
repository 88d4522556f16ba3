//! Translating quarry statements into PostgreSQL, over the table `export --format postgres`
//! writes (`id bigint primary key, doc jsonb not null`) and the `quarry` schema of helper
//! functions it creates.
//!
//! Conditions become lax SQL/JSON path tests, one `doc @? '$ ? (…)'` per condition, joined by
//! SQL's `and`, `or` and `not`. Each test is two-valued (never null), so `!=` is exactly
//! `not (=)`; a lax comparison tries a value and each element of an array, as quarry does; a
//! comparison across types is unknown, which a filter drops, as quarry's is false; `1 == 1.0`
//! holds; strings compare by code point whatever the collation. `order by` sorts by
//! `quarry.key`, quarry's own key encoding, then by `id` in the direction of the last key.
//!
//! Invariant: a statement is translated only into SQL that answers exactly as quarry does; a
//! form without such a translation yet is an error that says so, never an approximation.

use crate::error::{Error, Result};
use crate::path::{Path, Segment};
use crate::query::ast::{CompareOp, Count, Expr, Operand, Query, Statement};
use crate::value::Value;

/// Where a PostgreSQL table is (and an export writes it): `schema.table` (default: `public` and the collection's
/// name).
#[derive(Clone, Debug, Default)]
pub struct PgTarget {
    /// The schema (`public` when `None`).
    pub schema: Option<String>,
    /// The table (the collection's name when `None`).
    pub table: Option<String>,
}

/// The PostgreSQL statement equivalent to the quarry statement `text`, against the table
/// `target` names (default: `public` and the statement's collection).
///
/// ```
/// use quarry::export::PgTarget;
/// let sql = quarry::sql::translate("count from articles where org = 'ICC'", &PgTarget::default())?;
/// assert_eq!(sql, r#"select count(*) from "public"."articles" where doc @? '$ ? (@."org" == "ICC")'"#);
/// assert!(quarry::sql::translate("from a where title matches 'x'", &PgTarget::default()).is_err());
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn translate(text: &str, target: &PgTarget) -> Result<String> {
    match crate::query::parse_statement(text)? {
        Statement::Query(query) => translate_query(&query, target),
        Statement::Count(count) => translate_count(&count, target),
        other => Err(not_yet(&format!("`{other}`"))),
    }
}

/// The exact integer an integral float from 2^53 up stands for (`1.0000000000000001e18` is
/// 1000000000000000128), which PostgreSQL must be given instead of the float's shortest text
/// (it reads a number's text as an exact decimal, so ...100 would be another number); `None`
/// for other floats, whose shortest text reads back exactly. The export and the translated
/// literals both write such floats so, or they would disagree.
pub(crate) fn large_integral(x: f64) -> Option<String> {
    (x.fract() == 0.0 && x.abs() >= 9_007_199_254_740_992.0).then(|| format!("{x:.0}"))
}

fn not_yet(what: &str) -> Error {
    Error::Query(format!(
        "{what} has no exact PostgreSQL translation yet; only queries of whole documents and \
         counts, with conditions on paths against constants, are translated"
    ))
}

fn table(collection: Option<&str>, target: &PgTarget) -> Result<String> {
    let table = match (&target.table, collection) {
        (Some(table), _) => table.as_str(),
        (None, Some(collection)) => collection,
        (None, None) => {
            return Err(Error::Query(
                "name the collection (`from C`) to translate a statement".into(),
            ));
        }
    };
    let schema = target.schema.as_deref().unwrap_or("public");
    Ok(format!("{}.{}", ident(schema), ident(table)))
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn translate_count(count: &Count, target: &PgTarget) -> Result<String> {
    if count.by.is_some() {
        return Err(not_yet("`count ... by`"));
    }
    let mut sql = format!(
        "select count(*) from {}",
        table(count.collection.as_deref(), target)?
    );
    if let Some(filter) = &count.filter {
        sql.push_str(&format!(" where {}", condition(filter)?));
    }
    Ok(sql)
}

fn translate_query(query: &Query, target: &PgTarget) -> Result<String> {
    if query.columns.is_some() || query.distinct {
        return Err(not_yet("`select` of columns"));
    }
    if !query.group_by.is_empty() || query.having.is_some() {
        return Err(not_yet("`group by`"));
    }
    let mut sql = format!(
        "select id, doc from {}",
        table(query.collection.as_deref(), target)?
    );
    if let Some(filter) = &query.filter {
        sql.push_str(&format!(" where {}", condition(filter)?));
    }
    let mut keys = Vec::new();
    for key in &query.order_by {
        let Operand::Path(path) = &key.key else {
            return Err(not_yet("`order by` of an expression"));
        };
        keys.push(format!(
            "{}{}",
            key_expression(path)?,
            if key.descending { " desc" } else { "" }
        ));
    }
    // Rows equal on every key come in id order, in the direction of the last key.
    let last_descending = query.order_by.last().is_some_and(|k| k.descending);
    keys.push(format!("id{}", if last_descending { " desc" } else { "" }));
    sql.push_str(&format!(" order by {}", keys.join(", ")));
    if let Some(limit) = &query.limit {
        sql.push_str(&format!(" limit {}", whole_number("limit", limit)?));
    }
    if let Some(offset) = &query.offset {
        sql.push_str(&format!(" offset {}", whole_number("offset", offset)?));
    }
    Ok(sql)
}

/// The sort key of `path`: quarry's key encoding of the first value it reaches (of null when
/// it reaches none). The export's btree indexes are built on the same expression, so that
/// `order by ... limit` reads them.
fn key_expression(path: &Path) -> Result<String> {
    Ok(format!(
        "quarry.key(jsonb_path_query_first(doc, '{}'))",
        quote(&format!("lax {}", json_path("$", path)?))
    ))
}

/// The PostgreSQL indexes for the exported `table`: a GIN index on `doc` (which `@?` tests
/// read), then, for each quarry index, a btree on its paths' sort keys and `id` (which
/// `order by` reads), unique where quarry's is, with null and missing exempt. An index on an
/// array field (multikey) has no btree: the GIN index serves its conditions.
pub(crate) fn index_statements(
    table: &str,
    name: &str,
    indexes: &[crate::store::IndexDef],
) -> Vec<String> {
    let mut out = vec![format!(
        "create index {} on {table} using gin (doc jsonb_path_ops);",
        ident(&format!("{name}_doc"))
    )];
    for def in indexes {
        let keys: Result<Vec<String>> = def.paths.iter().map(key_expression).collect();
        let keys = match keys {
            Ok(keys) if !def.multikey => keys,
            Ok(_) if def.unique => {
                out.push(format!(
                    "-- quarry's unique index {} is on an array field: not enforced here",
                    def.name
                ));
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                out.push(format!(
                    "-- quarry's index {}: no PostgreSQL index ({e})",
                    def.name
                ));
                continue;
            }
        };
        let index = ident(&def.name);
        if def.unique {
            // Null and missing (key \x01) are exempt from a unique index, as in quarry.
            let exempt: Vec<String> = keys.iter().map(|k| format!("{k} <> '\\x01'")).collect();
            out.push(format!(
                "create unique index {index} on {table} ({}) where {};",
                keys.join(", "),
                exempt.join(" and ")
            ));
        } else {
            out.push(format!(
                "create index {index} on {table} ({}, id);",
                keys.join(", ")
            ));
        }
    }
    out
}

fn whole_number(what: &str, operand: &Operand) -> Result<i64> {
    match operand {
        Operand::Value(Value::Int(n)) if *n >= 0 => Ok(*n),
        _ => Err(not_yet(&format!("a `{what}` that is not a whole number"))),
    }
}

/// A SQL string literal's inside: `'` doubled.
fn quote(text: &str) -> String {
    text.replace('\'', "''")
}

/// The lax SQL/JSON path of `path` from `base` (`$` or `@`): `@."author"."name"`.
fn json_path(base: &str, path: &Path) -> Result<String> {
    if path.is_id() {
        return Err(not_yet("a condition on `_id`"));
    }
    let mut out = base.to_owned();
    for segment in path.segments() {
        match segment {
            Segment::Field(name) => {
                out.push('.');
                out.push_str(
                    &serde_json::to_string(name).map_err(|e| Error::Query(e.to_string()))?,
                );
            }
            Segment::Index(_) => return Err(not_yet("a path with an array position")),
        }
    }
    Ok(out)
}

/// A scalar as a SQL/JSON path literal, with its type's name (`"number"`), or `None` for
/// null; arrays and objects have no literal there.
fn literal(value: &Value) -> Result<Option<(String, &'static str)>> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => (b.to_string(), "boolean"),
        Value::Int(i) => (i.to_string(), "number"),
        // Without an exponent, which a path literal does not take.
        Value::Float(x) => (
            large_integral(*x).unwrap_or_else(|| format!("{x}")),
            "number",
        ),
        Value::String(s) => (
            serde_json::to_string(s).map_err(|e| Error::Query(e.to_string()))?,
            "string",
        ),
        Value::Array(_) | Value::Object(_) => {
            return Err(not_yet("a condition on an array or object literal"));
        }
    }))
}

/// The condition `expr` as SQL over `doc`.
fn condition(expr: &Expr) -> Result<String> {
    let joined = |parts: &[Expr], word: &str| -> Result<String> {
        let parts: Vec<String> = parts.iter().map(condition).collect::<Result<_>>()?;
        Ok(match parts.len() {
            0 => (if word == "and" { "true" } else { "false" }).to_owned(),
            _ => format!("({})", parts.join(&format!(" {word} "))),
        })
    };
    match expr {
        Expr::And(parts) => joined(parts, "and"),
        Expr::Or(parts) => joined(parts, "or"),
        Expr::Not(inner) => Ok(format!("not {}", condition(inner)?)),
        Expr::Exists { path } => Ok(test(&format!("exists({})", json_path("@", path)?))),
        Expr::IsNull { subject, negated } => {
            let p = subject_path(subject)?;
            Ok(negate(*negated, test(&null_form(&p))))
        }
        Expr::Compare { subject, op, value } => {
            let (path, op, value) = match (subject, value) {
                (Operand::Path(path), Operand::Value(value)) => (path, *op, value),
                (Operand::Value(value), Operand::Path(path)) => (path, flip(*op), value),
                _ => {
                    return Err(not_yet(
                        "a comparison that is not a path against a constant",
                    ));
                }
            };
            compare(&json_path("@", path)?, op, value)
        }
        Expr::In {
            subject,
            values,
            negated,
        } => {
            let p = subject_path(subject)?;
            let mut alternatives = Vec::new();
            for value in values {
                let Operand::Value(value) = value else {
                    return Err(not_yet("`in` with a value that is not a constant"));
                };
                alternatives.push(match literal(value)? {
                    Some((lit, _)) => format!("{p} == {lit}"),
                    None => null_form(&p),
                });
            }
            let positive = match alternatives.is_empty() {
                true => "false".to_owned(),
                false => test(&alternatives.join(" || ")),
            };
            Ok(negate(*negated, positive))
        }
        Expr::Between { subject, low, high } => {
            let p = subject_path(subject)?;
            let (Operand::Value(low), Operand::Value(high)) = (low, high) else {
                return Err(not_yet("`between` with ends that are not constants"));
            };
            Ok(match (literal(low)?, literal(high)?) {
                (None, None) => test(&null_form(&p)),
                (Some((lo, low_type)), Some((hi, high_type))) if low_type == high_type => {
                    // One element must satisfy both ends.
                    test(&format!(
                        "exists({p} ? (@.type() == \"{low_type}\" && @ >= {lo} && @ <= {hi}))"
                    ))
                }
                _ => "false".to_owned(),
            })
        }
        Expr::StartsWith { subject, prefix } => {
            let p = subject_path(subject)?;
            let Operand::Value(Value::String(prefix)) = prefix else {
                return Err(not_yet(
                    "`starts with` of something other than a string constant",
                ));
            };
            let prefix = serde_json::to_string(prefix).map_err(|e| Error::Query(e.to_string()))?;
            Ok(test(&format!(
                "exists({p} ? (@.type() == \"string\" && @ starts with {prefix}))"
            )))
        }
        Expr::Contains { .. } => Err(not_yet("`contains`")),
        Expr::Matches { .. } => Err(not_yet("`matches`")),
        Expr::Has { .. } => Err(not_yet("`has`")),
    }
}

fn subject_path(subject: &Operand) -> Result<String> {
    match subject {
        Operand::Path(path) => json_path("@", path),
        _ => Err(not_yet("a condition on an expression")),
    }
}

/// `path op value`, for a path and a constant.
fn compare(p: &str, op: CompareOp, value: &Value) -> Result<String> {
    let Some((lit, kind)) = literal(value)? else {
        // Missing equals null; nothing is below or above null but null itself.
        return Ok(match op {
            CompareOp::Eq | CompareOp::Le | CompareOp::Ge => test(&null_form(p)),
            CompareOp::Ne => format!("not {}", test(&null_form(p))),
            CompareOp::Lt | CompareOp::Gt => "false".to_owned(),
        });
    };
    let ordered = |symbol: &str| {
        test(&format!(
            "exists({p} ? (@.type() == \"{kind}\" && @ {symbol} {lit}))"
        ))
    };
    Ok(match op {
        CompareOp::Eq => test(&format!("{p} == {lit}")),
        CompareOp::Ne => format!("not {}", test(&format!("{p} == {lit}"))),
        CompareOp::Lt => ordered("<"),
        CompareOp::Le => ordered("<="),
        CompareOp::Gt => ordered(">"),
        CompareOp::Ge => ordered(">="),
    })
}

/// The path is null, holds a null element, or reaches nothing.
fn null_form(p: &str) -> String {
    format!("exists({p} ? (@.type() == \"null\")) || !exists({p})")
}

/// One two-valued test of the document.
fn test(predicate: &str) -> String {
    format!("doc @? '$ ? ({})'", quote(predicate))
}

fn negate(negated: bool, positive: String) -> String {
    if negated {
        format!("not {positive}")
    } else {
        positive
    }
}

/// `a < b` as `b > a`.
fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => other,
    }
}

/// The helper functions translated statements use, created idempotently in schema `quarry`:
/// `quarry.key(jsonb) -> bytea`, quarry's key encoding (bytes that sort in quarry's value
/// order: null < false < true < numbers < strings < arrays < objects, strings by code point,
/// every i64 exact), and `quarry.num_key(numeric)` beneath it.
pub const HELPERS: &str = r#"create schema if not exists quarry;
create or replace function quarry.num_key(n numeric) returns bytea
language plpgsql immutable strict parallel safe as $$
declare
  f float8;
  corr int := 0;
  i int8;
  b bit(64);
begin
  if n = trunc(n) and n >= -9223372036854775808 and n <= 9223372036854775807 then
    i := n::int8;
    f := i::float8;
    if f >= 9223372036854775808::float8 then
      corr := (i::numeric - 9223372036854775808::numeric)::int;
    else
      corr := (i - f::int8)::int;
    end if;
  else
    f := n::float8;
  end if;
  if f = 0 then f := 0; end if;
  b := ('x' || encode(float8send(f), 'hex'))::bit(64);
  if substring(b from 1 for 1) = B'1' then
    b := ~b;
  else
    b := b # B'1000000000000000000000000000000000000000000000000000000000000000';
  end if;
  return '\x03'::bytea
      || decode(lpad(to_hex(b::int8), 16, '0'), 'hex')
      || decode(lpad(to_hex(corr + 32768), 4, '0'), 'hex');
end $$;
create or replace function quarry.key(v jsonb) returns bytea
language plpgsql immutable parallel safe as $$
declare
  out bytea;
  e jsonb;
  k text;
begin
  case jsonb_typeof(v)
    when 'null' then return '\x01'::bytea;
    when 'boolean' then return case when v = 'true'::jsonb then '\x0201'::bytea else '\x0200'::bytea end;
    when 'number' then return quarry.num_key(v::numeric);
    when 'string' then return '\x04'::bytea || convert_to(v #>> '{}', 'UTF8') || '\x0000'::bytea;
    when 'array' then
      out := '\x05'::bytea;
      for e in select x from jsonb_array_elements(v) x loop
        out := out || quarry.key(e);
      end loop;
      return out || '\x00'::bytea;
    when 'object' then
      out := '\x06'::bytea;
      for k, e in select x.key, x.value from jsonb_each(v) x loop
        out := out || '\x01'::bytea || convert_to(k, 'UTF8') || '\x0000'::bytea || quarry.key(e);
      end loop;
      return out || '\x00'::bytea;
    else
      return '\x01'::bytea;
  end case;
end $$;
"#;
