//! A plan as data: where the documents come from, then the steps they pass through, first to
//! last. Planning builds it, `explain` renders it (`explain::render`), the executor runs it.
//!
//! Invariant: the steps decide what the executor does and what `explain` prints alike; nothing
//! is described that does not run, and nothing runs that is not described. Every pipeline
//! over documents keeps the plan's whole predicate as its `Filter` step, except a count that
//! the index keys answer exactly.

use std::sync::Arc;

use crate::path::Path;
use crate::query::ast::{Aggregate, Column};
use crate::query::compute::Calc;
use crate::query::eval::Predicate;
use crate::query::plan::{Access, Plan, SortKey};
use crate::store::IndexDef;

/// What a query asks for beyond the plan.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shape {
    /// The columns of each row (`select a, len(b) as n`); `None` for whole documents.
    pub columns: Option<Vec<Projection>>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: Option<u64>,
}

impl Shape {
    /// The last steps of every query: offset, limit, then the columns.
    fn push_steps(&self, steps: &mut Vec<Step>) {
        if self.offset > 0 {
            steps.push(Step::Offset(self.offset));
        }
        if let Some(limit) = self.limit {
            steps.push(Step::Limit(limit));
        }
        if let Some(columns) = &self.columns {
            steps.push(Step::Project(columns.clone()));
        }
    }
}

/// A plan and the steps after it.
#[derive(Clone, Debug)]
pub(crate) struct Pipeline {
    /// The collection read, for `explain`.
    pub collection: String,
    /// How documents are found, with the residual predicate and the sort still to do.
    pub plan: Plan,
    /// What happens to them, first to last.
    pub steps: Vec<Step>,
}

/// One step of a pipeline.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// Keeps the documents the plan's predicate selects (its text, as written).
    Filter(String),
    /// Hands the steps below to a second thread, which finds and filters documents while the
    /// caller's thread runs the steps above.
    ReadAhead,
    /// Orders by `keys`, then `_id` in the direction of the last key; with `keep`, holds only
    /// the best `keep` (a bounded heap).
    Sort {
        /// The order.
        keys: Vec<SortKey>,
        /// The most rows the steps above can use.
        keep: Option<u64>,
    },
    /// Skips rows.
    Offset(u64),
    /// Stops after rows.
    Limit(u64),
    /// Builds each row from these columns.
    Project(Vec<Projection>),
    /// Counts what reaches it.
    Count(Counting),
    /// Gathers rows into groups and aggregates each: one row per group, in ascending key
    /// order, holding the keys and the aggregates (see [`Grouping`]).
    Aggregate(Grouping),
    /// Keeps the groups that satisfy the condition.
    Having {
        /// The condition, on group rows.
        predicate: Predicate,
        /// The condition as written.
        text: String,
    },
}

/// One column of the rows a query returns.
#[derive(Clone, Debug)]
pub(crate) struct Projection {
    /// The column's name in the row.
    pub name: String,
    /// What it holds.
    pub calc: Calc,
    /// The column as written, for `explain`.
    pub text: String,
    /// The document paths it is computed from (through keys and aggregates too).
    pub sources: Vec<Path>,
}

impl Projection {
    /// The column `column`, computed by `calc`.
    pub fn of(column: &Column, calc: Calc) -> Projection {
        Projection {
            name: column.name(),
            text: column.to_string(),
            sources: column.value.paths().into_iter().cloned().collect(),
            calc,
        }
    }
}

/// What an `Aggregate` step computes. A group row is an array: the keys, then the
/// aggregates; the steps above it read its positions ([`Grouping::slot`]).
#[derive(Clone, Debug)]
pub(crate) struct Grouping {
    /// The group keys with their text; none for one group of every row.
    pub keys: Vec<(Calc, String)>,
    /// The aggregates computed per group.
    pub aggregates: Vec<AggregateCall>,
    /// Where the groups come from.
    pub source: GroupSource,
    /// Whether the rows come in the order of the one key (an index scan on its path): each
    /// group is then finished when the next begins, and no table of groups is kept.
    pub in_key_order: bool,
}

/// One aggregate of a [`Grouping`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AggregateCall {
    /// Which aggregate.
    pub function: Aggregate,
    /// What it takes from each row (`None`: `count()`).
    pub arg: Option<Calc>,
    /// `count(distinct x)`.
    pub distinct: bool,
    /// As written.
    pub text: String,
}

/// Where an `Aggregate` step's groups come from.
#[derive(Clone, Debug)]
pub(crate) enum GroupSource {
    /// The rows the filter passes.
    Rows,
    /// The collection's document counter (`count()` alone, no filter, no groups).
    Counter,
    /// An index's per-value counts (`count()` per value of its leading path, no filter),
    /// with whether a running load holds them back (its entries are then counted).
    IndexCounts(Arc<IndexDef>, bool),
    /// The two ends of an index (`min` and `max` of its leading path, no filter; `count()`
    /// from the collection's counter).
    IndexEnds(Arc<IndexDef>),
}

impl Grouping {
    /// The path to position `i` of a group row: key `i`, or aggregate `i - keys`.
    pub fn slot(i: usize) -> Path {
        Path::new(vec![crate::path::Segment::Index(i)])
    }
}

/// Where a count comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counting {
    /// The collection's document counter: there is no filter.
    Counter,
    /// The index keys the plan reads: they select exactly the matching documents.
    IndexKeys,
    /// The documents the filter lets through.
    Rows,
}

impl Pipeline {
    /// `from ... [where ...] [order by ...] [offset] [limit] [select ...]`. Reads ahead when the
    /// query is expected to read at least `read_ahead` documents: a sort reads all it finds, a
    /// limit only what it keeps.
    pub fn query(
        collection: &str,
        plan: Plan,
        filter_text: String,
        shape: &Shape,
        read_ahead: Option<u64>,
    ) -> Pipeline {
        let mut steps = Vec::new();
        if plan.filter.is_some() {
            steps.push(Step::Filter(filter_text));
        }
        let reads = match shape.limit {
            Some(limit) if plan.sort.is_empty() => limit.saturating_add(shape.offset),
            _ => u64::MAX,
        };
        if read_ahead.is_some_and(|min| plan.estimate.min(reads) >= min) {
            steps.push(Step::ReadAhead);
        }
        if !plan.sort.is_empty() {
            steps.push(Step::Sort {
                keys: plan.sort.clone(),
                keep: shape.limit.map(|l| l.saturating_add(shape.offset)),
            });
        }
        shape.push_steps(&mut steps);
        Pipeline {
            collection: collection.to_owned(),
            plan,
            steps,
        }
    }

    /// `select ... group by ... having ... order by ...`: the filter (unless an index answers
    /// without reading documents), the grouping, then `having`, the order of the groups,
    /// offset, limit and the columns.
    pub fn aggregate(
        collection: &str,
        plan: Plan,
        filter_text: String,
        grouping: Grouping,
        having: Option<(Predicate, String)>,
        order: Vec<SortKey>,
        shape: &Shape,
    ) -> Pipeline {
        let mut steps = Vec::new();
        if plan.filter.is_some() && matches!(grouping.source, GroupSource::Rows) {
            steps.push(Step::Filter(filter_text));
        }
        steps.push(Step::Aggregate(grouping));
        if let Some((predicate, text)) = having {
            steps.push(Step::Having { predicate, text });
        }
        if !order.is_empty() {
            steps.push(Step::Sort {
                keys: order,
                keep: None,
            });
        }
        shape.push_steps(&mut steps);
        Pipeline {
            collection: collection.to_owned(),
            plan,
            steps,
        }
    }

    /// The grouping step, if the pipeline aggregates.
    pub fn grouping(&self) -> Option<&Grouping> {
        self.steps.iter().find_map(|s| match s {
            Step::Aggregate(grouping) => Some(grouping),
            _ => None,
        })
    }

    /// `count [where ...]`: from the counter without a filter, from index keys when they answer
    /// exactly, else by reading and filtering documents.
    pub fn count(collection: &str, plan: Plan, filter_text: String) -> Pipeline {
        let steps = if plan.filter.is_none() {
            vec![Step::Count(Counting::Counter)]
        } else if plan.counts_from_keys() {
            vec![Step::Count(Counting::IndexKeys)]
        } else {
            vec![Step::Filter(filter_text), Step::Count(Counting::Rows)]
        };
        Pipeline {
            collection: collection.to_owned(),
            plan,
            steps,
        }
    }

    /// The measuring slot of the `Filter` step (0, the source's, when there is none): see
    /// `explain::Measures`.
    pub fn filter_slot(&self) -> usize {
        self.steps
            .iter()
            .position(|s| matches!(s, Step::Filter(_)))
            .map_or(0, |i| i + 1)
    }

    /// Whether the plan reads documents by id (not a full scan).
    pub fn by_id(&self) -> bool {
        !matches!(self.plan.access, Access::FullScan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(filter: bool, sort: bool, estimate: u64) -> Plan {
        let path: Path = "n".parse().unwrap();
        Plan {
            access: Access::FullScan,
            filter: filter.then(|| Predicate::Exists(path.clone())),
            sort: if sort {
                vec![SortKey {
                    calc: Calc::Path(path),
                    descending: true,
                    text: "n desc".into(),
                }]
            } else {
                Vec::new()
            },
            estimate,
            interrupt: None,
        }
    }

    fn names(pipeline: &Pipeline) -> Vec<String> {
        pipeline
            .steps
            .iter()
            .map(|s| {
                format!("{s:?}")
                    .split([' ', '('])
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn a_query_filters_reads_ahead_sorts_keeping_offset_plus_limit_then_projects() {
        let shape = Shape {
            columns: Some(vec![Projection::of(
                &Column {
                    value: crate::query::ast::Operand::Path(Path::field("n")),
                    alias: None,
                },
                Calc::Path(Path::field("n")),
            )]),
            offset: 2,
            limit: Some(3),
        };
        let p = Pipeline::query(
            "t",
            plan(true, true, 5000),
            "exists n".into(),
            &shape,
            Some(10),
        );
        assert_eq!(
            names(&p),
            ["Filter", "ReadAhead", "Sort", "Offset", "Limit", "Project"]
        );
        assert!(matches!(p.steps[2], Step::Sort { keep: Some(5), .. }));
    }

    #[test]
    fn a_limit_without_a_sort_reads_ahead_only_when_it_keeps_enough() {
        let shape = Shape {
            limit: Some(3),
            ..Shape::default()
        };
        let p = Pipeline::query(
            "t",
            plan(false, false, 5000),
            String::new(),
            &shape,
            Some(10),
        );
        assert_eq!(names(&p), ["Limit"]);
        let p = Pipeline::query("t", plan(false, false, 5000), String::new(), &shape, None);
        assert_eq!(names(&p), ["Limit"]);
    }

    #[test]
    fn counts_come_from_the_counter_without_a_filter_else_from_filtered_rows() {
        let p = Pipeline::count("t", plan(false, false, 9), String::new());
        assert!(matches!(p.steps[..], [Step::Count(Counting::Counter)]));
        let p = Pipeline::count("t", plan(true, false, 9), "exists n".into());
        assert!(matches!(
            p.steps[..],
            [Step::Filter(_), Step::Count(Counting::Rows)]
        ));
    }
}
