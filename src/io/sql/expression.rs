//! Expressions as SQL jsonb values, computed by the helpers of `helpers.sql` that mirror
//! quarry's arithmetic, functions and date steps.
//!
//! Invariant: the SQL of an expression gives, for every row, the value quarry's gives
//! (`'null'` where quarry's is null, never SQL's NULL); what PostgreSQL cannot compute so is an
//! error here (`lower`, `upper`: its case mapping follows the collation) or, where only the
//! values decide (`%` or `||` of floats), an error raised as the statement runs.

use crate::error::{Error, Result};
use crate::path::Segment;
use crate::query::ast::{BinaryOp, DateUnit, Function, Operand};

use super::path::segments_json;
use super::{Cx, jsonb, not_yet, quote};

/// Where an expression's paths read: a jsonb value (the document, or a `has` element), and
/// values already computed (group keys, aggregates and columns of a group row).
pub(super) struct Scope {
    /// The jsonb value paths read from; `None` on group rows, where only `known` are read.
    pub(super) source: Option<String>,
    /// Whether the source is the document, whose `_id` is the `id` column.
    pub(super) document: bool,
    /// Whether the source is always an object (a document or a group row).
    pub(super) object: bool,
    /// Operands with their SQL, matched before anything else.
    pub(super) known: Vec<(Operand, String)>,
}

impl Scope {
    /// The paths of `source` (`doc`, or a `has` element).
    pub(super) fn of(source: &str, document: bool) -> Scope {
        Scope {
            source: Some(source.to_owned()),
            document,
            object: document,
            known: Vec::new(),
        }
    }
}

/// `operand` as a SQL expression of type jsonb.
pub(super) fn value(operand: &Operand, scope: &Scope, cx: &mut Cx) -> Result<String> {
    if let Some((_, sql)) = scope.known.iter().find(|(known, _)| known == operand) {
        return Ok(sql.clone());
    }
    let mut arg = |operand: &Operand| value(operand, scope, cx);
    Ok(match operand {
        Operand::Value(v) => jsonb(v)?,
        Operand::Param(p) => format!("${}::jsonb", cx.param(p)),
        Operand::Path(path) => match &scope.source {
            None => {
                return Err(Error::Query(format!(
                    "`{path}` must appear in group by or inside an aggregate"
                )));
            }
            Some(_) if scope.document && path.is_id() => "to_jsonb(id)".to_owned(),
            // A document (or group row) is an object: one field is read directly.
            Some(source)
                if scope.object
                    && let [Segment::Field(name)] = path.segments() =>
            {
                format!("coalesce({source} -> '{}', 'null')", quote(name))
            }
            Some(source) => format!(
                "coalesce(quarry.project({source}, '{}'), 'null')",
                quote(&segments_json(path))
            ),
        },
        Operand::Negate(inner) => format!("quarry.arith('-', '0', {})", arg(inner)?),
        Operand::Binary {
            op: op @ (BinaryOp::Add | BinaryOp::Subtract),
            left,
            right,
        } if matches!(**right, Operand::Interval { .. }) => {
            let Operand::Interval { amount, unit } = &**right else {
                unreachable!("matched above")
            };
            let unit = match unit {
                DateUnit::Day => "day",
                DateUnit::Week => "week",
                DateUnit::Month => "month",
                DateUnit::Year => "year",
            };
            format!(
                "quarry.shift_date({}, {}, '{unit}', {})",
                arg(left)?,
                arg(amount)?,
                *op == BinaryOp::Subtract
            )
        }
        Operand::Binary {
            op: BinaryOp::Concat,
            left,
            right,
        } => format!("quarry.concat({}, {})", arg(left)?, arg(right)?),
        Operand::Binary { op, left, right } => format!(
            "quarry.arith('{}', {}, {})",
            op.symbol(),
            arg(left)?,
            arg(right)?
        ),
        Operand::Call { function, args } => {
            let args: Vec<String> = args.iter().map(&mut arg).collect::<Result<_>>()?;
            call(*function, &args)?
        }
        Operand::Interval { .. } => {
            return Err(Error::Query(
                crate::query::compute::INTERVAL_PLACE.to_owned(),
            ));
        }
        Operand::Aggregate { .. } => {
            return Err(Error::Query(format!(
                "the aggregate `{operand}` cannot be used here: aggregates go in `select`, \
                 `having` and `order by`"
            )));
        }
    })
}

/// `function(args)`.
fn call(function: Function, args: &[String]) -> Result<String> {
    let a = |i: usize| args.get(i).cloned().unwrap_or_else(|| "null".to_owned());
    Ok(match function {
        Function::Len => format!("quarry.len({})", a(0)),
        Function::Lower | Function::Upper => {
            return Err(not_yet(&format!(
                "`{}` (PostgreSQL's case mapping follows the database's collation)",
                function.name()
            )));
        }
        Function::Score | Function::Snippet => {
            return Err(not_yet(&format!("`{}()` of a `search`", function.name())));
        }
        Function::Trim => format!("quarry.trim({})", a(0)),
        Function::Substr => format!("quarry.substr({}, {}, {})", a(0), a(1), a(2)),
        Function::Abs => format!("quarry.abs({})", a(0)),
        Function::Round => format!("quarry.round({}, {})", a(0), a(1)),
        Function::Floor => format!("quarry.make_whole({}, 'floor')", a(0)),
        Function::Ceil => format!("quarry.make_whole({}, 'ceil')", a(0)),
        Function::Coalesce => {
            let firsts: Vec<String> = args
                .iter()
                .map(|a| format!("nullif({a}, 'null'::jsonb)"))
                .collect();
            format!("coalesce({}, 'null'::jsonb)", firsts.join(", "))
        }
        Function::Type => format!("quarry.type({})", a(0)),
        Function::Year => format!("quarry.date_part({}, 'year')", a(0)),
        Function::Month => format!("quarry.date_part({}, 'month')", a(0)),
        Function::Day => format!("quarry.date_part({}, 'day')", a(0)),
        Function::Date => format!("quarry.date_part({}, 'date')", a(0)),
        Function::Today => "to_jsonb(to_char(now() at time zone 'UTC', 'YYYY-MM-DD'))".to_owned(),
    })
}
