//! Queries that answer with groups (`group by`, aggregates, `having`, `distinct`) as SQL.
//!
//! Each document joins the keys each group key gives it (`quarry.index_keys` for a path,
//! `quarry.key_values` for an expression: each element of an array, once), rows group by
//! `quarry.key` of the keys, and each group becomes one jsonb row `{"s0": key, …, "sN":
//! aggregate, …}`, quarry's own group row (its slots, [`Slots`], as fields), which the columns,
//! `having` and `order by` then read as quarry reads it.
//!
//! Invariant: groups, their values and their order are quarry's: key order unless `order
//! by` says otherwise (ties in key order); `count(x)` counts what is not null; `sum` is exact
//! over integers and adds floats in id order; `min` and `max` follow the value order, the
//! first document's value among equal ones.

use crate::error::Result;
use crate::path::{Path, Segment};
use crate::query::ast::{Aggregate, Operand, Query};
use crate::query::grouping::Slots;

use super::condition::{Subject, condition};
use super::expression::{Scope, value};
use super::path::json_path;
use super::{Cx, column_name, quote};

/// The SQL of a query that answers with groups, from `table` (filter and limits given as
/// SQL clauses).
pub(super) fn grouped(
    q: &Query,
    table: &str,
    filter: &str,
    limits: &str,
    cx: &mut Cx,
) -> Result<String> {
    let (columns, keys) = crate::query::grouping::columns_and_keys(q)?;
    let aliases: Vec<(&str, &Operand)> = columns
        .iter()
        .filter_map(|c| Some((c.alias.as_deref()?, &c.value)))
        .collect();
    let resolve = |operand: &Operand| crate::query::grouping::resolve_alias(operand, &aliases);
    let mut slots = Slots::new(&keys);
    let group = Scope {
        source: Some("grouped.r".into()),
        document: false,
        object: true,
        known: Vec::new(),
    };
    let mut shown = Vec::new();
    for column in &columns {
        let on_row = named(&slots.rewrite(&column.value)?);
        shown.push(format!(
            "{} as {}",
            value(&on_row, &group, cx)?,
            column_name(&column.name())?
        ));
    }
    let having = match &q.having {
        Some(having) => {
            let on_rows = crate::query::grouping::on_groups(having, &mut |o| {
                Ok(named(&slots.rewrite(&resolve(o))?))
            })?;
            format!(
                " where {}",
                condition(&on_rows, &Subject::row("grouped.r"), cx)?
            )
        }
        None => String::new(),
    };
    let mut order = Vec::new();
    for key in &q.order_by {
        let on_row = named(&slots.rewrite(&resolve(&key.key))?);
        order.push(format!(
            "quarry.key({}){}",
            value(&on_row, &group, cx)?,
            if key.descending { " desc" } else { "" }
        ));
    }
    // Groups equal on every `order by` key stay in key order.
    order.extend((0..keys.len()).map(|i| format!("grouped.o{i}")));

    let document = Scope::of("doc", true);
    let mut fields = Vec::new();
    let mut sources = Vec::new();
    let mut group_by = Vec::new();
    let mut key_order = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        sources.push(match key {
            Operand::Path(path) => format!(
                "quarry.index_keys({}, '{}') g{i}(k)",
                if path.is_id() {
                    "jsonb_build_object('_id', id)"
                } else {
                    "doc"
                },
                quote(&format!("lax {}", json_path("$", path)?))
            ),
            other => format!(
                "quarry.key_values({}) g{i}(k)",
                value(other, &document, cx)?
            ),
        });
        // The value shown for a group: the first document's (1 and 1.0 are one group).
        fields.push(format!("'s{i}', (array_agg(g{i}.k order by id))[1]"));
        group_by.push(format!("quarry.key(g{i}.k)"));
        key_order.push(format!("quarry.key(g{i}.k) as o{i}"));
    }
    // Each aggregate's argument, computed once per row.
    let mut args = Vec::new();
    for (i, aggregate_call) in slots.aggregates.iter().enumerate() {
        let Operand::Aggregate {
            function,
            arg,
            distinct,
        } = aggregate_call
        else {
            unreachable!("slots gather aggregates only")
        };
        let x = match arg.as_deref() {
            Some(arg) => {
                args.push(format!("{} as x{i}", value(arg, &document, cx)?));
                Some((arg, format!("x.x{i}")))
            }
            None => None,
        };
        fields.push(format!(
            "'s{}', {}",
            keys.len() + i,
            aggregate(
                *function,
                x.as_ref().map(|(a, x)| (*a, x.as_str())),
                *distinct
            )?
        ));
    }
    if !args.is_empty() {
        sources.push(format!("lateral (select {}) x", args.join(", ")));
    }
    let mut inner = format!(
        "select jsonb_build_object({}) as r{} from {table}",
        fields.join(", "),
        key_order
            .iter()
            .map(|k| format!(", {k}"))
            .collect::<String>()
    );
    for source in &sources {
        inner.push_str(&format!(", {source}"));
    }
    inner.push_str(filter);
    if !group_by.is_empty() {
        inner.push_str(&format!(" group by {}", group_by.join(", ")));
    }
    let order = match order.is_empty() {
        true => String::new(),
        false => format!(" order by {}", order.join(", ")),
    };
    Ok(format!(
        "select {} from ({inner}) grouped{having}{order}{limits}",
        shown.join(", ")
    ))
}

/// `operand` as it reads the jsonb group row: slot `i` ([`Slots`]) is its field `s{i}`.
fn named(operand: &Operand) -> Operand {
    operand
        .rewrite(&mut |part| {
            Ok::<_, String>(match part {
                Operand::Path(path) => match path.segments() {
                    [Segment::Index(i)] => Some(Operand::Path(Path::field(format!("s{i}")))),
                    _ => None,
                },
                _ => None,
            })
        })
        .unwrap_or_else(|_| operand.clone())
}

/// One aggregate over the rows of a group, as jsonb, of its argument and that argument's
/// value in the row (`x.x0`).
fn aggregate(function: Aggregate, arg: Option<(&Operand, &str)>, distinct: bool) -> Result<String> {
    let Some((arg, x)) = arg else {
        return Ok("to_jsonb(count(*))".into());
    };
    Ok(match function {
        Aggregate::Count if distinct => {
            let keys = match arg {
                Operand::Path(path) if !path.is_id() => format!(
                    "(select jsonb_agg(k) from quarry.index_keys(doc, '{}') k)",
                    quote(&format!("lax {}", json_path("$", path)?))
                ),
                _ => format!("(select jsonb_agg(k) from quarry.key_values({x}) k)"),
            };
            format!("quarry.count_distinct(jsonb_agg({keys}))")
        }
        Aggregate::Count => format!("to_jsonb(count(*) filter (where {x} <> 'null'::jsonb))"),
        Aggregate::Sum | Aggregate::Avg => {
            let float = format!("(jsonb_typeof({x}) = 'number' and not quarry.is_int({x}))");
            format!(
                "quarry.sum_value(sum(({x})::numeric) filter (where quarry.is_int({x})), \
                 quarry.fsum(quarry.to_float({x}) order by id) filter (where {float}), \
                 bool_or({float}), count(*) filter (where jsonb_typeof({x}) = 'number'), {})",
                function == Aggregate::Avg
            )
        }
        Aggregate::Min | Aggregate::Max => format!(
            "coalesce((array_agg({x} order by quarry.key({x}){}, id) filter (where {x} <> \
             'null'::jsonb))[1], 'null')",
            if function == Aggregate::Max {
                " desc"
            } else {
                ""
            }
        ),
    })
}
