//! A plan as data: where the documents come from, then the steps they pass through, first to
//! last. Planning builds it, `explain` renders it (`explain::render`), the executor runs it.
//!
//! Invariant: the steps decide what the executor does and what `explain` prints alike; nothing
//! is described that does not run, and nothing runs that is not described. Every pipeline
//! over documents keeps the plan's whole predicate as its `Filter` step, except a count that
//! the index keys answer exactly.

use std::sync::Arc;

use crate::path::Path;
use crate::query::ast::OrderKey;
use crate::query::plan::{Access, Plan};
use crate::store::IndexDef;

/// What a query asks for beyond the plan.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shape {
    /// Paths to keep (`select a, b`); `None` for whole documents.
    pub fields: Option<Vec<Path>>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: Option<u64>,
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
        keys: Vec<OrderKey>,
        /// The most rows the steps above can use.
        keep: Option<u64>,
    },
    /// Skips rows.
    Offset(u64),
    /// Stops after rows.
    Limit(u64),
    /// Builds each row from these paths.
    Project(Vec<Path>),
    /// Counts what reaches it.
    Count(Counting),
    /// Counts documents per value of `by` (each element of an array).
    Group {
        /// The grouping path.
        by: Path,
        /// An index whose per-value counts answer it, with whether a running load holds
        /// those counts back (its entries are then counted).
        index: Option<(Arc<IndexDef>, bool)>,
    },
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
        if shape.offset > 0 {
            steps.push(Step::Offset(shape.offset));
        }
        if let Some(limit) = shape.limit {
            steps.push(Step::Limit(limit));
        }
        if let Some(fields) = &shape.fields {
            steps.push(Step::Project(fields.clone()));
        }
        Pipeline {
            collection: collection.to_owned(),
            plan,
            steps,
        }
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

    /// `count [where ...] by PATH`: from an index's per-value counts when there is no filter
    /// and an index leads with the path, else by reading documents.
    pub fn count_by(
        collection: &str,
        plan: Plan,
        filter_text: String,
        by: &Path,
        index: Option<(Arc<IndexDef>, bool)>,
    ) -> Pipeline {
        let mut steps = Vec::new();
        let index = index.filter(|_| plan.filter.is_none());
        if index.is_none() && plan.filter.is_some() {
            steps.push(Step::Filter(filter_text));
        }
        steps.push(Step::Group {
            by: by.clone(),
            index,
        });
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
    use crate::query::eval::Predicate;

    fn plan(filter: bool, sort: bool, estimate: u64) -> Plan {
        let path: Path = "n".parse().unwrap();
        Plan {
            access: Access::FullScan,
            filter: filter.then(|| Predicate::Exists(path.clone())),
            sort: if sort {
                vec![OrderKey {
                    path,
                    descending: true,
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
            fields: Some(vec!["n".parse().unwrap()]),
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
