//! Statements around their conditions: queries and their order, counts and `count by`,
//! inserts, updates, deletes, and the indexes, over the exported table.
//!
//! Invariant: rows come in quarry's order. `order by` sorts by `quarry.key`, quarry's own key
//! encoding of the first value a path reaches, then by `id` in the direction of the last key;
//! `count by` counts each element of an array once per document, null and missing in one
//! group, most frequent first, ties in value order. The export's btree indexes are built on
//! the same key expressions, so `order by ... limit` reads them.

use crate::error::{Error, Result};
use crate::path::Path;
use crate::query::ast::{Count, Operand, Query, Statement};
use crate::store::IndexDef;
use crate::value::Value;

use super::condition::{Subject, condition};
use super::expression::{Scope, value as value_of};
use super::path::{json_path, segments_json};
use super::{Cx, PgTarget, column_name, ident, jsonb, not_yet, quote};

/// The SQL of `statement` against `target`.
pub(super) fn translate(statement: &Statement, target: &PgTarget, cx: &mut Cx) -> Result<String> {
    match statement {
        Statement::Query(q) => query(q, target, cx),
        Statement::Count(c) => count(c, target, cx),
        Statement::Insert {
            collection,
            documents,
        } => insert(&table(Some(collection), target, cx)?, documents),
        Statement::Update {
            collection,
            set,
            unset,
            filter,
        } => {
            let mut doc = "doc".to_owned();
            for (path, value) in set {
                // Read from the document as it was before the update, as in quarry.
                let value = value_of(value, &Scope::of("doc", true), cx)?;
                doc = format!("quarry.set({doc}, '{}', {value})", writable(path)?);
            }
            for path in unset {
                doc = format!("quarry.unset({doc}, '{}')", writable(path)?);
            }
            Ok(format!(
                "update {} set doc = {doc}{}",
                table(Some(collection), target, cx)?,
                filter_clause(Some(filter), cx)?
            ))
        }
        Statement::Delete { collection, filter } => Ok(format!(
            "delete from {}{}",
            table(Some(collection), target, cx)?,
            filter_clause(filter.as_ref(), cx)?
        )),
        Statement::CreateIndex { text: Some(_), .. } => Err(super::not_yet(
            "a text index (quarry's own tokens, stemming and BM25 are not PostgreSQL's text \
             search)",
        )),
        Statement::CreateIndex {
            collection,
            paths,
            unique,
            text: None,
        } => create_index(
            &table(Some(collection), target, cx)?,
            collection,
            paths,
            *unique,
        ),
        Statement::DropIndex { name } => Ok(format!(
            "drop index {}.{}",
            ident(target.schema.as_deref().unwrap_or("public")),
            ident(name)
        )),
        Statement::DropCollection { name } => {
            Ok(format!("drop table {}", table(Some(name), target, cx)?))
        }
        Statement::Explain { analyze, statement } => Ok(format!(
            "explain {}{}",
            if *analyze { "analyze " } else { "" },
            translate(statement, target, cx)?
        )),
        other => Err(not_yet(&format!("`{other}`"))),
    }
}

/// `schema.table` for a statement's collection.
fn table(collection: Option<&String>, target: &PgTarget, cx: &Cx) -> Result<String> {
    let table = match (&target.table, collection.or(cx.current.as_ref())) {
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

fn filter_clause(filter: Option<&crate::query::ast::Expr>, cx: &mut Cx) -> Result<String> {
    Ok(match filter {
        Some(filter) => format!(" where {}", condition(filter, &Subject::document(), cx)?),
        None => String::new(),
    })
}

fn query(q: &Query, target: &PgTarget, cx: &mut Cx) -> Result<String> {
    let from = table(q.collection.as_ref(), target, cx)?;
    if q.aggregates() {
        let filter = filter_clause(q.filter.as_ref(), cx)?;
        let limits = limits(q, cx)?;
        return super::group::grouped(q, &from, &filter, &limits, cx);
    }
    let document = Scope::of("doc", true);
    let columns = match &q.columns {
        None => "id, doc".to_owned(),
        Some(columns) => {
            let mut out = Vec::new();
            for column in columns {
                let value = value_of(&column.value, &document, cx)?;
                out.push(format!("{value} as {}", column_name(&column.name())?));
            }
            out.join(", ")
        }
    };
    let mut sql = format!(
        "select {columns} from {from}{}",
        filter_clause(q.filter.as_ref(), cx)?
    );
    let aliases: Vec<(&str, &Operand)> = q
        .columns
        .iter()
        .flatten()
        .filter_map(|c| Some((c.alias.as_deref()?, &c.value)))
        .collect();
    let mut keys = Vec::new();
    for key in &q.order_by {
        // An alias names its column's expression.
        let operand = crate::query::grouping::resolve_alias(&key.key, &aliases);
        let sql = match &operand {
            Operand::Path(path) => key_expression(path)?,
            other => format!("quarry.key({})", value_of(other, &document, cx)?),
        };
        keys.push(format!(
            "{sql}{}",
            if key.descending { " desc" } else { "" }
        ));
    }
    // Rows equal on every key come in id order, in the direction of the last key.
    let last_descending = q.order_by.last().is_some_and(|k| k.descending);
    keys.push(format!("id{}", if last_descending { " desc" } else { "" }));
    sql.push_str(&format!(" order by {}", keys.join(", ")));
    if q.order_by.is_empty() && (q.limit.is_some() || q.offset.is_some()) {
        // Without `order by`, quarry's `limit` keeps the first rows its plan meets (an index
        // scan's are in key order), which SQL cannot know.
        return Err(not_yet(
            "a `limit` or `offset` without `order by` (quarry keeps the first rows its plan \
             meets; write `order by _id` for id order)",
        ));
    }
    sql.push_str(&limits(q, cx)?);
    Ok(sql)
}

/// ` limit N offset M`, as far as the query has them.
fn limits(q: &Query, cx: &mut Cx) -> Result<String> {
    let mut sql = String::new();
    for (word, operand) in [("limit", &q.limit), ("offset", &q.offset)] {
        match operand {
            None => {}
            Some(Operand::Value(v)) if v.as_i64().is_some_and(|n| n >= 0) => {
                sql.push_str(&format!(" {word} {}", v.as_i64().unwrap_or_default()));
            }
            Some(Operand::Param(param)) => sql.push_str(&format!(
                " {word} quarry.row_count(${}::jsonb, '{word}')",
                cx.param(param)
            )),
            Some(_) => return Err(not_yet(&format!("a `{word}` that is not a whole number"))),
        }
    }
    Ok(sql)
}

fn count(c: &Count, target: &PgTarget, cx: &mut Cx) -> Result<String> {
    let from = table(c.collection.as_ref(), target, cx)?;
    let filter = filter_clause(c.filter.as_ref(), cx)?;
    let Some(by) = &c.by else {
        return Ok(format!("select count(*) from {from}{filter}"));
    };
    let source = match by.is_id() {
        true => "jsonb_build_object('_id', id)",
        false => "doc",
    };
    // The value shown for a group: the first document's (1 and 1.0 are one group).
    Ok(format!(
        "select (array_agg(g.k order by id))[1] as {}, count(*) as \"count\" from {from}, \
         quarry.index_keys({source}, '{}') g(k){filter} group by quarry.key(g.k) \
         order by count(*) desc, quarry.key(g.k)",
        column_name(&by.to_string())?,
        quote(&format!("lax {}", json_path("$", by)?))
    ))
}

fn insert(table: &str, documents: &[Value]) -> Result<String> {
    let mut rows = Vec::new();
    for document in documents {
        let mut document = document.clone();
        // quarry gives the id (and says so when a document brings its own).
        if let Value::Object(fields) = &mut document {
            fields.shift_remove("_id");
        }
        rows.push(format!("({})", jsonb(&document)?));
    }
    if rows.is_empty() {
        return Ok(format!(
            "insert into {table} (doc) select '{{}}'::jsonb where false returning id"
        ));
    }
    Ok(format!(
        "insert into {table} (doc) values {} returning id",
        rows.join(", ")
    ))
}

/// A path `update` may set or unset, as the helpers' jsonb array of segments.
fn writable(path: &Path) -> Result<String> {
    if path.is_id() {
        return Err(Error::Query("`_id` cannot be set or unset".into()));
    }
    Ok(quote(&segments_json(path)))
}

/// The sort key of `path`: quarry's key encoding of the first value it reaches (of null when
/// it reaches none); `id` for `_id`.
fn key_expression(path: &Path) -> Result<String> {
    if path.is_id() {
        return Ok("id".into());
    }
    Ok(format!(
        "quarry.key(jsonb_path_query_first(doc, '{}'))",
        quote(&format!("lax {}", json_path("$", path)?))
    ))
}

/// `create [unique] index`: a btree on the paths' sort keys and `id`, which `order by` reads
/// (conditions read the export's GIN index). A unique one exempts null and missing, as
/// quarry's does, and comes with a check that each path reaches one value that is not an
/// array: quarry keeps an array's elements unique one by one, which a btree cannot, so
/// PostgreSQL refuses what it could not keep unique as quarry does.
fn create_index(table: &str, collection: &str, paths: &[Path], unique: bool) -> Result<String> {
    let name = crate::store::default_index_name(collection, paths);
    column_name(&format!("{name}_single"))?;
    let keys: Vec<String> = paths.iter().map(key_expression).collect::<Result<_>>()?;
    if !unique {
        return Ok(format!(
            "create index {} on {table} ({}, id)",
            ident(&name),
            keys.join(", ")
        ));
    }
    let single: Vec<String> = paths
        .iter()
        .map(|p| {
            Ok(format!(
                "quarry.single_valued(doc, '{}')",
                quote(&format!("lax {}", json_path("$", p)?))
            ))
        })
        .collect::<Result<_>>()?;
    Ok(format!(
        "{};\nalter table {table} add constraint {} check ({})",
        unique_index(&ident(&name), table, &keys),
        ident(&format!("{name}_single")),
        single.join(" and ")
    ))
}

/// A unique btree on `keys`, null and missing (key `\x01`) exempt, as in quarry.
fn unique_index(index: &str, table: &str, keys: &[String]) -> String {
    let exempt: Vec<String> = keys.iter().map(|k| format!("{k} <> '\\x01'")).collect();
    format!(
        "create unique index {index} on {table} ({}) where {}",
        keys.join(", "),
        exempt.join(" and ")
    )
}

/// The PostgreSQL indexes for the exported `table`: a GIN index on `doc` (which `@?` tests
/// read), then, for each quarry index, a btree on its paths' sort keys and `id` (which
/// `order by` reads), unique where quarry's is, with null and missing exempt. An index on an
/// array field (multikey) has no btree: the GIN index serves its conditions. Neither has one
/// whose values include objects of several fields (`unordered`), which jsonb keeps in no order
/// of quarry's.
pub(crate) fn index_statements(
    table: &str,
    name: &str,
    indexes: &[IndexDef],
    unordered: &[String],
) -> Vec<String> {
    let mut out = vec![format!(
        "create index {} on {table} using gin (doc jsonb_path_ops);",
        ident(&format!("{name}_doc"))
    )];
    for def in indexes {
        let keys: Result<Vec<String>> = def.paths.iter().map(key_expression).collect();
        let keys = match keys {
            Ok(_) if unordered.contains(&def.name) => {
                out.push(format!(
                    "-- quarry's index {}: its values include objects of several fields, \
                     whose order jsonb does not keep: no btree",
                    def.name
                ));
                continue;
            }
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
            out.push(format!("{};", unique_index(&index, table, &keys)));
        } else {
            out.push(format!(
                "create index {index} on {table} ({}, id);",
                keys.join(", ")
            ));
        }
    }
    out
}
