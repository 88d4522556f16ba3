//! Planning a query that answers with groups (`group by`, aggregates, `having`, `distinct`):
//! names resolved, the aggregates gathered, and every column, `having` condition and order
//! key rewritten to read a group row.
//!
//! Invariant: after grouping, an expression reads only group keys and aggregates. A path that
//! is neither a group key nor inside an aggregate is an error naming the rule, never a value
//! taken from some document of the group. An alias names its column in `group by`,
//! `having` and `order by`, before a field of the same name.

use crate::error::{Error, Result};
use crate::path::Segment;
use crate::query::ast::{Column, Expr, Operand, OrderKey, Query};
use crate::query::compute::Calc;
use crate::query::eval::{self, Predicate};
use crate::query::params::Params;
use crate::query::pipeline::{AggregateCall, GroupSource, Grouping, Projection};
use crate::query::plan::SortKey;

/// An aggregate query, ready for the pipeline.
#[derive(Debug)]
pub(crate) struct Grouped {
    /// The keys and aggregates (read from documents; the source is [`GroupSource::Rows`]
    /// until the session finds an index that answers it).
    pub grouping: Grouping,
    /// `having`, on group rows, with its text.
    pub having: Option<(Predicate, String)>,
    /// `order by`, on group rows.
    pub order: Vec<SortKey>,
    /// The columns, from group rows.
    pub columns: Vec<Projection>,
}

/// A grouped query's columns (its group keys when it selects none) and its group keys,
/// aliases resolved, each once (`group by a, a` is `group by a`, as in SQL); an error for an
/// aggregate among the keys, or `distinct` with `group by` or an aggregate.
pub(crate) fn columns_and_keys(query: &Query) -> Result<(Vec<Column>, Vec<Operand>)> {
    let columns: Vec<Column> = match &query.columns {
        Some(columns) => columns.clone(),
        // `from t group by a, b` answers with the keys.
        None => query
            .group_by
            .iter()
            .map(|key| Column {
                value: key.clone(),
                alias: None,
            })
            .collect(),
    };
    let aliases: Vec<(&str, &Operand)> = columns
        .iter()
        .filter_map(|c| Some((c.alias.as_deref()?, &c.value)))
        .collect();
    let mut keys: Vec<Operand> = if query.distinct {
        if !query.group_by.is_empty() {
            return Err(Error::Query(
                "`select distinct` groups by its columns already: write `group by` or `distinct`, \
                 not both"
                    .into(),
            ));
        }
        if let Some(c) = columns.iter().find(|c| c.value.has_aggregate()) {
            return Err(Error::Query(format!(
                "`select distinct` lists values, and `{}` is an aggregate: to count distinct \
                 values write `count(distinct x)`",
                c.value
            )));
        }
        columns.iter().map(|c| c.value.clone()).collect()
    } else {
        query
            .group_by
            .iter()
            .map(|key| {
                let key = resolve_alias(key, &aliases);
                if key.has_aggregate() {
                    return Err(Error::Query(format!(
                        "cannot group by `{key}`: it is an aggregate"
                    )));
                }
                Ok(key)
            })
            .collect::<Result<_>>()?
    };
    let mut seen = Vec::new();
    keys.retain(|k| {
        let new = !seen.contains(k);
        seen.push(k.clone());
        new
    });
    Ok((columns, keys))
}

/// Plans `query`'s groups ([`Query::aggregates`] holds).
pub(crate) fn plan(query: &Query, params: &Params) -> Result<Grouped> {
    let (columns, keys) = columns_and_keys(query)?;
    let aliases: Vec<(&str, &Operand)> = columns
        .iter()
        .filter_map(|c| Some((c.alias.as_deref()?, &c.value)))
        .collect();
    let resolve = |operand: &Operand| resolve_alias(operand, &aliases);
    let mut gather = Gather {
        slots: Slots::new(&keys),
        params,
    };
    let projections = columns
        .iter()
        .map(|c| Ok(Projection::of(c, gather.over_groups(&c.value)?)))
        .collect::<Result<Vec<_>>>()?;
    let having = match &query.having {
        Some(condition) => {
            let on_groups = gather.condition(&resolve_condition(condition, &aliases)?)?;
            Some((eval::bind(&on_groups, params)?, condition.to_string()))
        }
        None => None,
    };
    let order = query
        .order_by
        .iter()
        .map(|OrderKey { key, descending }| {
            Ok(SortKey {
                calc: gather.over_groups(&resolve(key))?,
                descending: *descending,
                text: OrderKey {
                    key: key.clone(),
                    descending: *descending,
                }
                .to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let aggregates = gather.aggregates()?;
    let keys = keys
        .iter()
        .map(|k| Ok((Calc::bind(k, params)?, k.to_string())))
        .collect::<Result<_>>()?;
    Ok(Grouped {
        grouping: Grouping {
            keys,
            aggregates,
            source: GroupSource::Rows,
            in_key_order: false,
        },
        having,
        order,
        columns: projections,
    })
}

/// `operand` with every bare name that is an alias replaced by its column (`n * 2` with
/// `count() as n` is `count() * 2`); names inside an aggregate are fields of the documents.
pub(crate) fn resolve_alias(operand: &Operand, aliases: &[(&str, &Operand)]) -> Operand {
    let resolved = operand.rewrite(&mut |part| {
        Ok(match part {
            Operand::Aggregate { .. } => Some(part.clone()),
            Operand::Path(path) => match path.segments() {
                [Segment::Field(name)] => aliases
                    .iter()
                    .find(|(alias, _)| alias == name)
                    .map(|(_, column)| (*column).clone()),
                _ => None,
            },
            _ => None,
        })
    });
    resolved.unwrap_or_else(|_: String| operand.clone())
}

/// `condition` with the aliases in its operands replaced by their columns.
fn resolve_condition(condition: &Expr, aliases: &[(&str, &Operand)]) -> Result<Expr> {
    on_groups(condition, &mut |o| Ok(resolve_alias(o, aliases)))
}

/// `condition` with every operand replaced by what `f` gives for it. `exists` and `has` test
/// documents' paths, which groups do not have: they are errors here.
pub(crate) fn on_groups(
    condition: &Expr,
    f: &mut dyn FnMut(&Operand) -> Result<Operand>,
) -> Result<Expr> {
    condition.map(f, &mut |_, test| {
        Err(Error::Query(format!(
            "`{test}` tests documents, not groups: put it in `where`"
        )))
    })
}

/// The group keys and the aggregates met so far, as a group row holds them: key `i` in slot
/// `i`, the `j`th aggregate met in slot `keys + j` ([`Grouping::slot`]). One rewrite for
/// quarry's planner and the PostgreSQL translation alike.
pub(crate) struct Slots<'a> {
    keys: &'a [Operand],
    /// The aggregates met, each once, in the order met.
    pub aggregates: Vec<Operand>,
}

impl<'a> Slots<'a> {
    /// No aggregate met yet.
    pub fn new(keys: &'a [Operand]) -> Slots<'a> {
        Slots {
            keys,
            aggregates: Vec::new(),
        }
    }

    /// `operand` reading a group row: its keys and aggregates as slots. A path that is
    /// neither is an error naming the rule.
    pub fn rewrite(&mut self, operand: &Operand) -> Result<Operand> {
        let slot = |i: usize| Operand::Path(Grouping::slot(i));
        operand
            .rewrite(&mut |part| {
                if let Some(i) = self.keys.iter().position(|k| k == part) {
                    return Ok(Some(slot(i)));
                }
                match part {
                    Operand::Aggregate { .. } => {
                        let i = match self.aggregates.iter().position(|a| a == part) {
                            Some(i) => i,
                            None => {
                                self.aggregates.push(part.clone());
                                self.aggregates.len() - 1
                            }
                        };
                        Ok(Some(slot(self.keys.len() + i)))
                    }
                    Operand::Path(path) => Err(format!(
                        "`{path}` must appear in group by or inside an aggregate{}",
                        if self.keys.is_empty() {
                            format!(" (as in `count({path})` or `min({path})`)")
                        } else {
                            String::new()
                        }
                    )),
                    _ => Ok(None),
                }
            })
            .map_err(Error::Query)
    }
}

/// Rewrites expressions to read group rows and binds them.
struct Gather<'a> {
    slots: Slots<'a>,
    params: &'a Params,
}

impl Gather<'_> {
    /// `operand` over group rows, bound.
    fn over_groups(&mut self, operand: &Operand) -> Result<Calc> {
        let rewritten = self.slots.rewrite(operand)?;
        Calc::bind(&rewritten, self.params)
    }

    fn condition(&mut self, condition: &Expr) -> Result<Expr> {
        on_groups(condition, &mut |o| self.slots.rewrite(o))
    }

    /// The aggregates met, bound.
    fn aggregates(self) -> Result<Vec<AggregateCall>> {
        self.slots
            .aggregates
            .iter()
            .map(|aggregate| {
                let Operand::Aggregate {
                    function,
                    arg,
                    distinct,
                } = aggregate
                else {
                    unreachable!("slots gather aggregates only")
                };
                Ok(AggregateCall {
                    function: *function,
                    arg: arg
                        .as_ref()
                        .map(|a| Calc::bind(a, self.params))
                        .transpose()?,
                    distinct: *distinct,
                    text: aggregate.to_string(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Path;
    use crate::query::Statement;

    fn grouped(text: &str) -> Result<Grouped> {
        let Ok(Statement::Query(query)) = crate::query::parse_statement(text) else {
            panic!("not a query: {text}")
        };
        assert!(query.aggregates(), "{text}");
        plan(&query, &Params::new())
    }

    #[test]
    fn aggregates_are_gathered_once_and_columns_read_group_fields() {
        let g = grouped(
            "select region, count() as n, sum(area) / count() as mean from t group by region \
             having n > 1 order by sum(area) desc",
        )
        .unwrap();
        let texts: Vec<&str> = g
            .grouping
            .aggregates
            .iter()
            .map(|a| a.text.as_str())
            .collect();
        assert_eq!(texts, ["count()", "sum(area)"]);
        assert_eq!(g.grouping.keys.len(), 1);
        // Group rows are [region, count(), sum(area)].
        let paths: Vec<&Path> = g.columns[2].calc.paths();
        assert_eq!(paths, [&Grouping::slot(2), &Grouping::slot(1)]);
        assert!(g.having.is_some());
        assert_eq!(g.order[0].calc, Calc::Path(Grouping::slot(2)));
    }

    #[test]
    fn aliases_name_group_keys_and_win_over_fields() {
        let g =
            grouped("select year(date) as y, count() as n from t group by y order by n desc, y")
                .unwrap();
        assert_eq!(g.grouping.keys[0].1, "year(date)");
        assert_eq!(g.order[1].calc, Calc::Path(Grouping::slot(0)));
    }

    #[test]
    fn a_path_outside_the_keys_and_the_aggregates_is_an_error_naming_the_rule() {
        let err = grouped("select title, count() from t group by org").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`title` must appear in group by or inside an aggregate"
        );
        let err = grouped("select a, count() from t").unwrap_err();
        assert!(err.to_string().contains("as in `count(a)`"), "{err}");
        let err = grouped("select count() as n from t group by n").unwrap_err();
        assert!(
            err.to_string().contains("cannot group by `count()`"),
            "{err}"
        );
        let err = grouped("select count() from t having exists a").unwrap_err();
        assert!(
            err.to_string().contains("tests documents, not groups"),
            "{err}"
        );
        let err = grouped("select distinct a from t group by a").unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }

    #[test]
    fn an_alias_inside_an_expression_names_its_column_but_not_inside_an_aggregate() {
        let g = grouped("select b, count() as n from t group by b having n * 2 > 4 order by -n")
            .unwrap();
        assert_eq!(g.grouping.aggregates.len(), 1);
        let g = grouped("select b as k, count() from t group by k, upper(k)").unwrap();
        assert_eq!(g.grouping.keys[1].1, "upper(b)");
        let g = grouped("select max(w) as n, sum(n) as total from t").unwrap();
        let texts: Vec<&str> = g
            .grouping
            .aggregates
            .iter()
            .map(|a| a.text.as_str())
            .collect();
        assert_eq!(texts, ["max(w)", "sum(n)"]);
    }

    #[test]
    fn distinct_groups_by_its_columns() {
        let g = grouped("select distinct region, sub from t").unwrap();
        assert_eq!(g.grouping.keys.len(), 2);
        assert!(g.grouping.aggregates.is_empty());
    }
}
