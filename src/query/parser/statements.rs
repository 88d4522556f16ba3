//! Statements: queries and their clauses, counts, writes, schema changes, `show`, `import`
//! and `explain`.

use nom::Parser;
use nom::branch::alt;
use nom::combinator::{map, opt, value};
use nom::sequence::preceded;

use crate::lexicon::is_ident_char;
use crate::query::ast::{Column, Count, Expr, Operand, OrderKey, Query, Statement};
use crate::value::Value;

use super::expressions::*;
use super::lexing::*;

pub(super) fn where_clause(input: &str) -> PResult<'_, Expr> {
    let (rest, _) = kw("where").parse(input)?;
    let (at, _) = ws(rest)?;
    let (rest, condition) = expect(expr, || {
        "expected a condition after `where` (e.g. `year >= 2020`)".into()
    })
    .parse(rest)?;
    no_aggregate(
        at,
        &condition.operands(),
        "where",
        "filter groups with `having`",
    )?;
    Ok((rest, condition))
}

/// Fails at `at` when one of `operands` holds an aggregate, naming the clause.
fn no_aggregate<'a>(
    at: &'a str,
    operands: &[&Operand],
    clause: &str,
    instead: &str,
) -> PResult<'a, ()> {
    let mut found = None;
    for operand in operands {
        operand.visit(&mut |o| {
            if found.is_none() && matches!(o, Operand::Aggregate { .. }) {
                found = Some(o.to_string());
            }
        });
    }
    match found {
        None => Ok((at, ())),
        Some(aggregate) => fail(
            at,
            format!("the aggregate `{aggregate}` cannot be used in `{clause}`: {instead}"),
        ),
    }
}

/// `select = "select" ["distinct"] ("*" | column {"," column})`, `column = operand ["as" name]`
pub(super) fn select_clause(input: &str) -> PResult<'_, (bool, Option<Vec<Column>>)> {
    let (rest, _) = kw("select").parse(input)?;
    let (rest, distinct) = map(opt(kw("distinct")), |d| d.is_some()).parse(rest)?;
    if let Ok((after, _)) = sym("*").parse(rest) {
        if distinct {
            return fail(
                ws(rest)?.0,
                "`select distinct` lists the columns to make distinct: `select distinct a, b`"
                    .into(),
            );
        }
        return Ok((after, (false, None)));
    }
    let column = |input, after: &'static str| {
        let (rest, value) = expect(operand, || match after {
            "select" => "expected `*` or a field path (or an expression) after `select`".into(),
            _ => "expected a field path (or an expression) after `,`".into(),
        })
        .parse(input)?;
        let (rest, alias) = opt(preceded(
            kw("as"),
            expect(alt((ident, preceded(ws, crate::path::quoted))), || {
                "expected a column name after `as`".into()
            }),
        ))
        .parse(rest)?;
        Ok((rest, Column { value, alias }))
    };
    let (mut rest, first) = column(rest, "select")?;
    let mut columns = vec![first];
    while let Ok((after, _)) = sym(",").parse(rest) {
        let at = ws(after)?.0;
        let (after, c) = column(after, ",")?;
        let name = c.name();
        if columns.iter().any(|earlier| earlier.name() == name) {
            return fail(
                at,
                format!("two columns are named `{name}`: name one of them with `as`"),
            );
        }
        columns.push(c);
        rest = after;
    }
    Ok((rest, (distinct, Some(columns))))
}

/// `group = "group" "by" operand {"," operand}`
pub(super) fn group_clause(input: &str) -> PResult<'_, Vec<Operand>> {
    let (rest, _) = kw("group").parse(input)?;
    let (mut rest, _) = expect(kw("by"), || "expected `by` after `group`".into()).parse(rest)?;
    let mut keys = Vec::new();
    loop {
        let (at, _) = ws(rest)?;
        let (after, key) = expect(operand, || {
            "expected a field path or an expression to group by".into()
        })
        .parse(rest)?;
        no_aggregate(
            at,
            &[&key],
            "group by",
            "group by values, then aggregate them in `select`",
        )?;
        keys.push(key);
        match sym(",").parse(after) {
            Ok((after, _)) => rest = after,
            Err(_) => return Ok((after, keys)),
        }
    }
}

/// `having = "having" expr`
pub(super) fn having_clause(input: &str) -> PResult<'_, Expr> {
    preceded(
        kw("having"),
        expect(expr, || {
            "expected a condition on groups after `having` (e.g. `count() > 5`)".into()
        }),
    )
    .parse(input)
}

/// `order = "order" "by" operand ["asc" | "desc"] {"," operand ["asc" | "desc"]}`
pub(super) fn order_clause(input: &str) -> PResult<'_, Vec<OrderKey>> {
    let (rest, _) = kw("order").parse(input)?;
    let (rest, _) = expect(kw("by"), || "expected `by` after `order`".into()).parse(rest)?;
    let mut keys = Vec::new();
    let mut rest = rest;
    loop {
        let (after, key) = expect(operand, || {
            "expected a field path, a column name or an expression to order by".into()
        })
        .parse(rest)?;
        let (after, dir) =
            opt(alt((value(false, kw("asc")), value(true, kw("desc"))))).parse(after)?;
        keys.push(OrderKey {
            key,
            descending: dir.unwrap_or(false),
        });
        match sym(",").parse(after) {
            Ok((after, _)) => rest = after,
            Err(_) => return Ok((after, keys)),
        }
    }
}

/// `query = [select] [from] [where] [group] [having] [order] [limit] [offset]` (limit and
/// offset in either order)
pub(super) fn query(input: &str) -> PResult<'_, Query> {
    let (rest, select) = opt(select_clause).parse(input)?;
    let (rest, collection) = opt(preceded(kw("from"), name_after("from"))).parse(rest)?;
    let (rest, filter) = opt(where_clause).parse(rest)?;
    let (at, _) = ws(rest)?;
    let (rest, group_by) = opt(group_clause).parse(rest)?;
    if group_by.is_some() && matches!(select, Some((_, None))) {
        return fail(
            at,
            "`select *` lists whole documents, which groups do not have: name the columns \
             (the keys and aggregates)"
                .into(),
        );
    }
    let (at, _) = ws(rest)?;
    let (rest, having) = opt(having_clause).parse(rest)?;
    let aggregates = |select: &Option<(bool, Option<Vec<Column>>)>| {
        select
            .as_ref()
            .and_then(|(_, c)| c.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.value.has_aggregate()))
    };
    if let Some(condition) = &having
        && group_by.is_none()
        && !aggregates(&select)
        && !condition.operands().iter().any(|o| o.has_aggregate())
    {
        return fail(
            at,
            "`having` keeps groups: without `group by` or an aggregate there are none, so \
             filter with `where`"
                .into(),
        );
    }
    let (rest, order_by) = opt(order_clause).parse(rest)?;
    let (distinct, columns) = select.unwrap_or((false, None));
    let mut q = Query {
        distinct,
        columns,
        collection,
        filter,
        group_by: group_by.unwrap_or_default(),
        having,
        order_by: order_by.unwrap_or_default(),
        limit: None,
        offset: None,
    };
    let mut rest = rest;
    loop {
        if q.limit.is_none()
            && let Ok((after, _)) = kw("limit").parse(rest)
        {
            let (after, n) =
                expect(constant, || "expected a whole number after `limit`".into()).parse(after)?;
            q.limit = Some(n);
            rest = after;
        } else if q.offset.is_none()
            && let Ok((after, _)) = kw("offset").parse(rest)
        {
            let (after, n) = expect(constant, || "expected a whole number after `offset`".into())
                .parse(after)?;
            q.offset = Some(n);
            rest = after;
        } else {
            return Ok((rest, q));
        }
    }
}

/// `count = "count" [from] [where] ["by" path]`
pub(super) fn count(input: &str) -> PResult<'_, Count> {
    let (rest, _) = kw("count").parse(input)?;
    let (rest, collection) = opt(preceded(kw("from"), name_after("from"))).parse(rest)?;
    let (rest, filter) = opt(where_clause).parse(rest)?;
    let (rest, by) = opt(preceded(
        kw("by"),
        expect(path, || "expected a field path after `by`".into()),
    ))
    .parse(rest)?;
    Ok((
        rest,
        Count {
            collection,
            filter,
            by,
        },
    ))
}

/// `insert = "insert" "into" ident (object | "[" object {"," object} "]")`
pub(super) fn insert(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("insert").parse(input)?;
    let (rest, _) = expect(kw("into"), || "expected `into` after `insert`".into()).parse(rest)?;
    let (rest, collection) = name_after("into")(rest)?;
    let (at, _) = ws(rest)?;
    let (rest, docs) = expect(alt((object, array)), || {
        "expected a document `{...}` or a list of documents `[{...}, ...]`".into()
    })
    .parse(rest)?;
    let documents = match docs {
        Value::Array(items) => items,
        doc => vec![doc],
    };
    if documents.iter().any(|d| !matches!(d, Value::Object(_))) {
        return fail(at, "each document must be an object `{...}`".into());
    }
    Ok((
        rest,
        Statement::Insert {
            collection,
            documents,
        },
    ))
}

/// `update = "update" ident ["set" path "=" operand {"," path "=" operand}] ["unset" path {"," path}] where`
pub(super) fn update(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("update").parse(input)?;
    let (rest, collection) = name_after("update")(rest)?;
    let mut set = Vec::new();
    let mut unset = Vec::new();
    let mut rest = rest;
    if let Ok((after, _)) = kw("set").parse(rest) {
        rest = after;
        loop {
            let (after, p) = expect(path, || "expected a field path to set".into()).parse(rest)?;
            let (after, _) =
                expect(sym("="), || format!("expected `=` after `{p}`")).parse(after)?;
            let (at, _) = ws(after)?;
            let (after, v) = value_after("=")(after)?;
            no_aggregate(
                at,
                &[&v],
                "update",
                "an update sets each document from its own fields",
            )?;
            set.push((p, v));
            match sym(",").parse(after) {
                Ok((after, _)) => rest = after,
                Err(_) => {
                    rest = after;
                    break;
                }
            }
        }
    }
    if let Ok((after, _)) = kw("unset").parse(rest) {
        rest = after;
        loop {
            let (after, p) =
                expect(path, || "expected a field path to unset".into()).parse(rest)?;
            unset.push(p);
            match sym(",").parse(after) {
                Ok((after, _)) => rest = after,
                Err(_) => {
                    rest = after;
                    break;
                }
            }
        }
    }
    if set.is_empty() && unset.is_empty() {
        let at = ws(rest)?.0;
        return fail(
            at,
            format!("expected `set` or `unset` after `update {collection}`"),
        );
    }
    let (rest, filter) = match where_clause(rest) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => {
            let at = ws(rest)?.0;
            return fail(at, "expected `where ...` after the changes (to change every document write `where exists _id`)".into());
        }
        Err(e) => return Err(e),
    };
    Ok((
        rest,
        Statement::Update {
            collection,
            set,
            unset,
            filter,
        },
    ))
}

/// `delete = "delete" "from" ident ("where" expr | "all")`
pub(super) fn delete(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("delete").parse(input)?;
    let (rest, _) = expect(kw("from"), || "expected `from` after `delete`".into()).parse(rest)?;
    let (rest, collection) = name_after("from")(rest)?;
    if let Ok((rest, _)) = kw("all").parse(rest) {
        return Ok((
            rest,
            Statement::Delete {
                collection,
                filter: None,
            },
        ));
    }
    match where_clause(rest) {
        Ok((rest, filter)) => Ok((
            rest,
            Statement::Delete {
                collection,
                filter: Some(filter),
            },
        )),
        Err(nom::Err::Error(_)) => {
            let at = ws(rest)?.0;
            fail(
                at,
                format!(
                    "expected `where ...` or `all` after `delete from {collection}` (write `all` to delete every document)"
                ),
            )
        }
        Err(e) => Err(e),
    }
}

/// `create = "create" ["unique" | "text"] "index" "on" ident "(" path {"," path} ")"
///   ["language" ident]` (the language only after `text`)
pub(super) fn create(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("create").parse(input)?;
    let (rest, unique) = map(opt(kw("unique")), |u| u.is_some()).parse(rest)?;
    let (rest, text) = match unique {
        true => (rest, false),
        false => map(opt(kw("text")), |t| t.is_some()).parse(rest)?,
    };
    let (rest, _) = expect(kw("index"), || {
        "expected `index` after `create` (or `unique index`, `text index`)".into()
    })
    .parse(rest)?;
    let (rest, _) = expect(kw("on"), || {
        "expected `on COLLECTION (paths)` after `create index`".into()
    })
    .parse(rest)?;
    let (rest, collection) = name_after("on")(rest)?;
    let (rest, _) =
        expect(sym("("), || "expected `(` and the paths to index".into()).parse(rest)?;
    let (mut rest, first) = expect(path, || "expected a field path to index".into()).parse(rest)?;
    let mut paths = vec![first];
    while let Ok((after, _)) = sym(",").parse(rest) {
        let (after, p) = expect(path, || "expected a field path after `,`".into()).parse(after)?;
        paths.push(p);
        rest = after;
    }
    let (rest, _) = expect(sym(")"), || {
        "expected `,` or `)` after the indexed path".into()
    })
    .parse(rest)?;
    let (rest, text) = match (text, kw("language").parse(rest)) {
        (false, Ok(_)) => {
            return fail(
                ws(rest)?.0,
                "`language` is for a text index: `create text index on C (paths) language L`"
                    .into(),
            );
        }
        (false, Err(_)) => (rest, None),
        (true, Err(_)) => (rest, Some(crate::text::Language::English)),
        (true, Ok((after, _))) => {
            let (at, _) = ws(after)?;
            let (after, name) = expect(ident, || {
                "expected a language after `language` (english, french, ..., or none)".into()
            })
            .parse(after)?;
            match name.parse::<crate::text::Language>() {
                Ok(language) => (after, Some(language)),
                Err(message) => return fail(at, message),
            }
        }
    };
    Ok((
        rest,
        Statement::CreateIndex {
            collection,
            paths,
            unique,
            text,
        },
    ))
}

/// `drop = "drop" ("index" ident | "collection" ident)`
pub(super) fn drop(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("drop").parse(input)?;
    if let Ok((rest, _)) = kw("index").parse(rest) {
        let (rest, name) = expect(ident, || {
            "expected an index name after `drop index` (see `show indexes`)".into()
        })
        .parse(rest)?;
        return Ok((rest, Statement::DropIndex { name }));
    }
    if let Ok((rest, _)) = kw("collection").parse(rest) {
        let (rest, name) = name_after("collection")(rest)?;
        return Ok((rest, Statement::DropCollection { name }));
    }
    let at = ws(rest)?.0;
    fail(
        at,
        "expected `index NAME` or `collection NAME` after `drop`".into(),
    )
}

/// `show = "show" ("collections" | "indexes" ["on" ident] | "fields" ["of" ident])`
pub(super) fn show(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("show").parse(input)?;
    if let Ok((rest, _)) = kw("collections").parse(rest) {
        return Ok((rest, Statement::ShowCollections));
    }
    if let Ok((rest, _)) = kw("indexes").parse(rest) {
        let (rest, collection) = opt(preceded(kw("on"), name_after("on"))).parse(rest)?;
        return Ok((rest, Statement::ShowIndexes { collection }));
    }
    if let Ok((rest, _)) = kw("fields").parse(rest) {
        let (rest, collection) = opt(preceded(kw("of"), name_after("of"))).parse(rest)?;
        return Ok((rest, Statement::ShowFields { collection }));
    }
    let at = ws(rest)?.0;
    fail(
        at,
        "expected `collections`, `indexes` or `fields` after `show`".into(),
    )
}

/// `transaction = ("begin" | "commit" | "rollback") ["transaction"]`
fn transaction(input: &str) -> PResult<'_, Statement> {
    let (rest, statement) = alt((
        value(Statement::Begin, kw("begin")),
        value(Statement::Commit, kw("commit")),
        value(Statement::Rollback, kw("rollback")),
    ))
    .parse(input)?;
    let (rest, _) = opt(kw("transaction")).parse(rest)?;
    Ok((rest, statement))
}

/// `import = "import" string "into" ident ["format" ident]`
pub(super) fn import(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("import").parse(input)?;
    let (rest, path) = expect(string, || {
        "expected a file path in quotes after `import`".into()
    })
    .parse(rest)?;
    let (rest, _) = expect(kw("into"), || {
        "expected `into COLLECTION` after the file path".into()
    })
    .parse(rest)?;
    let (rest, collection) = name_after("into")(rest)?;
    let (rest, format) = opt(preceded(
        kw("format"),
        expect(ident, || {
            "expected a format after `format` (ndjson, json, csv or article)".into()
        }),
    ))
    .parse(rest)?;
    Ok((
        rest,
        Statement::Import {
            path,
            collection,
            format,
        },
    ))
}

/// `statement = explain | query | count | insert | update | delete | create | drop | use
/// | show | import`
pub(super) fn statement(input: &str) -> PResult<'_, Statement> {
    let (start, _) = ws(input)?;
    let word: String = start
        .chars()
        .take_while(|c| is_ident_char(*c))
        .collect::<String>()
        .to_ascii_lowercase();
    match word.as_str() {
        "explain" => {
            let (rest, _) = kw("explain").parse(start)?;
            // `explain sql explain ...` is PostgreSQL's `explain` of the translation.
            if let Ok((rest, _)) = kw("sql").parse(rest) {
                let (rest, inner) =
                    expect(statement, || "expected a statement to translate".into()).parse(rest)?;
                return Ok((
                    rest,
                    Statement::ExplainSql {
                        statement: Box::new(inner),
                    },
                ));
            }
            let (rest, analyze) = map(opt(kw("analyze")), |a| a.is_some()).parse(rest)?;
            let (at, _) = ws(rest)?;
            if kw("explain").parse(at).is_ok() {
                return fail(at, "`explain` cannot explain itself".into());
            }
            let (rest, inner) =
                expect(statement, || "expected a statement to explain".into()).parse(rest)?;
            Ok((
                rest,
                Statement::Explain {
                    analyze,
                    statement: Box::new(inner),
                },
            ))
        }
        "select" | "from" | "where" | "group" | "having" | "order" | "limit" | "offset" => {
            map(query, Statement::Query).parse(start)
        }
        "count" => map(count, Statement::Count).parse(start),
        "insert" => insert(start),
        "update" => update(start),
        "delete" => delete(start),
        "create" => create(start),
        "drop" => drop(start),
        "use" => {
            let (rest, _) = kw("use").parse(start)?;
            let (rest, collection) = name_after("use")(rest)?;
            Ok((rest, Statement::Use { collection }))
        }
        "show" => show(start),
        "import" => import(start),
        "begin" | "commit" | "rollback" => transaction(start),
        _ => fail(
            start,
            format!("expected a statement ({})", STATEMENT_STARTS.join(", ")),
        ),
    }
}
