//! Plans as trees people can read: what `explain` prints, rendered from the pipeline the
//! executor runs, with what `explain analyze` measured of each step.
//!
//! Invariant: the tree has one node per source and step of the pipeline, the final step at
//! the root, and a node's measures are those of its own step.

use std::fmt;
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Instant;

use crate::query::pipeline::{Counting, GroupSource, Grouping, Pipeline, Step};
use crate::query::plan::{Access, IndexScan, SearchScan, SortKey};

/// One step of a plan, with the steps feeding it.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// db.execute("create index on t (n); insert into t [{n: 1}, {n: 2}, {n: 3}]")?;
/// let out = db.execute("explain from t where n = 1")?;
/// let text = out[0].to_string();
/// assert!(text.contains("Index scan t_n (n = 1)"), "{text}");
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PlanNode {
    /// What the step does (`Index scan articles_org_year (org = "ICC")`).
    pub label: String,
    /// Extra facts about it.
    pub notes: Vec<String>,
    /// Rows the planner expects it to produce.
    pub estimate: Option<u64>,
    /// Rows and time measured by `explain analyze`.
    pub stats: Option<Arc<StepStats>>,
    /// The steps that feed it.
    pub children: Vec<PlanNode>,
}

impl PlanNode {
    /// A step with a label.
    pub fn new(label: String) -> PlanNode {
        PlanNode {
            label,
            ..PlanNode::default()
        }
    }

    /// Adds a step feeding this one.
    pub fn child(mut self, child: PlanNode) -> PlanNode {
        self.children.push(child);
        self
    }

    /// Records the planner's row estimate.
    pub fn estimate(mut self, rows: u64) -> PlanNode {
        self.estimate = Some(rows);
        self
    }

    /// Adds a note.
    pub fn note(mut self, note: String) -> PlanNode {
        self.notes.push(note);
        self
    }

    fn line(&self) -> String {
        let mut line = self.label.clone();
        for note in &self.notes {
            line.push_str(&format!("; {note}"));
        }
        if let Some(rows) = self.estimate {
            line.push_str(&format!("  [est. {}]", rows_text(rows)));
        }
        if let Some(stats) = &self.stats {
            line.push_str(&format!(
                "  [actual {}, {:.3} ms]",
                rows_text(stats.rows()),
                stats.millis()
            ));
        }
        line
    }

    fn write_tree(
        &self,
        f: &mut fmt::Formatter<'_>,
        prefix: &str,
        last: bool,
        root: bool,
    ) -> fmt::Result {
        if root {
            writeln!(f, "{}", self.line())?;
        } else {
            writeln!(
                f,
                "{prefix}{}{}",
                if last { "└─ " } else { "├─ " },
                self.line()
            )?;
        }
        let child_prefix = if root {
            String::new()
        } else {
            format!("{prefix}{}", if last { "   " } else { "│  " })
        };
        for (i, child) in self.children.iter().enumerate() {
            child.write_tree(f, &child_prefix, i + 1 == self.children.len(), false)?;
        }
        Ok(())
    }
}

/// `1 row`, `3 rows`.
fn rows_text(n: u64) -> String {
    format!("{n} row{}", if n == 1 { "" } else { "s" })
}

impl fmt::Display for PlanNode {
    /// The indented tree, one step per line, the final step first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_tree(f, "", true, true)
    }
}

/// Rows and time one step produced, for `explain analyze`.
#[derive(Debug, Default)]
pub struct StepStats {
    rows: AtomicU64,
    nanos: AtomicU64,
}

impl StepStats {
    /// Rows the step produced.
    pub fn rows(&self) -> u64 {
        self.rows.load(AtomicOrdering::Relaxed)
    }

    /// Time spent in the step and the steps below it, in milliseconds.
    pub fn millis(&self) -> f64 {
        self.nanos.load(AtomicOrdering::Relaxed) as f64 / 1e6
    }

    /// Adds rows produced and nanoseconds spent.
    pub(crate) fn add(&self, rows: u64, nanos: u64) {
        self.rows.fetch_add(rows, AtomicOrdering::Relaxed);
        self.nanos.fetch_add(nanos, AtomicOrdering::Relaxed);
    }
}

/// What `explain analyze` measures of a pipeline: a slot for its source (0) and one per step
/// (step `i` in slot `i + 1`). Off, it measures nothing and costs nothing.
#[derive(Debug, Default)]
pub(crate) struct Measures {
    slots: Option<Vec<Option<Arc<StepStats>>>>,
}

impl Measures {
    /// Measures the source and each of `steps` steps.
    pub fn on(steps: usize) -> Measures {
        Measures {
            slots: Some(vec![None; steps + 1]),
        }
    }

    /// Measures nothing.
    pub fn off() -> Measures {
        Measures::default()
    }

    /// Whether anything is measured.
    pub fn is_on(&self) -> bool {
        self.slots.is_some()
    }

    /// Forgets what was measured (of a read that is done again).
    pub fn reset(&mut self) {
        if let Some(slots) = self.slots.as_mut() {
            slots.iter_mut().for_each(|slot| *slot = None);
        }
    }

    /// The stats of `slot`, made when first asked for (`None` when off).
    pub fn slot(&mut self, slot: usize) -> Option<Arc<StepStats>> {
        let entry = self.slots.as_mut()?.get_mut(slot)?;
        Some(entry.get_or_insert_with(Default::default).clone())
    }

    /// Records what a step that ran all at once produced.
    pub fn record(&mut self, slot: usize, rows: u64, started: Instant) {
        if let Some(stats) = self.slot(slot) {
            stats.add(rows, started.elapsed().as_nanos() as u64);
        }
    }

    fn get(&self, slot: usize) -> Option<Arc<StepStats>> {
        self.slots.as_ref()?.get(slot)?.clone()
    }
}

/// The tree `explain` prints for `pipeline`, with what `measures` holds.
pub(crate) fn render(pipeline: &Pipeline, measures: &Measures) -> PlanNode {
    let mut node = source_node(
        &pipeline.collection,
        &pipeline.plan.access,
        pipeline.plan.estimate,
    );
    node.stats = measures.get(0);
    for (i, step) in pipeline.steps.iter().enumerate() {
        let label = step_label(step);
        node = match step {
            Step::Count(Counting::Counter) => PlanNode::new(label),
            Step::Aggregate(Grouping { source, .. }) if !matches!(source, GroupSource::Rows) => {
                PlanNode::new(label)
            }
            _ => PlanNode::new(label).child(node),
        };
        node.stats = measures.get(i + 1);
    }
    node
}

fn step_label(step: &Step) -> String {
    match step {
        Step::Filter(text) => format!("Filter {text}"),
        Step::ReadAhead => "Read ahead on a second thread".to_owned(),
        Step::Sort { keys, keep } => match keep {
            Some(k) => format!("Top {k} by {}", order_text(keys)),
            None => format!("Sort by {}", order_text(keys)),
        },
        Step::Offset(n) => format!("Offset {n}"),
        Step::Limit(n) => format!("Limit {n}"),
        Step::Project(columns) => {
            let texts: Vec<&str> = columns.iter().map(|c| c.text.as_str()).collect();
            format!("Project {}", texts.join(", "))
        }
        Step::Count(Counting::Counter) => "Count from the collection's counter".to_owned(),
        Step::Count(Counting::IndexKeys) => "Count index keys (no documents read)".to_owned(),
        Step::Count(Counting::Rows) => "Count".to_owned(),
        Step::Aggregate(grouping) => grouping_label(grouping),
        Step::Having { text, .. } => format!("Having {text}"),
    }
}

/// `Group by a, b: count(), sum(x)`, and where the groups come from when not from rows.
fn grouping_label(grouping: &Grouping) -> String {
    let keys: Vec<&str> = grouping.keys.iter().map(|(_, t)| t.as_str()).collect();
    let aggregates: Vec<&str> = grouping
        .aggregates
        .iter()
        .map(|a| a.text.as_str())
        .collect();
    let mut label = match keys.is_empty() {
        true => "Aggregate".to_owned(),
        false => format!("Group by {}", keys.join(", ")),
    };
    if !aggregates.is_empty() {
        label.push_str(&format!(": {}", aggregates.join(", ")));
    }
    match &grouping.source {
        GroupSource::Rows if grouping.in_key_order => label.push_str(" (rows in key order)"),
        GroupSource::Rows => {}
        GroupSource::IndexCounts(index, held) => label.push_str(&format!(
            " from index {} {} (no documents read)",
            index.name,
            if *held {
                "entries, counted while a load runs"
            } else {
                "group counts"
            }
        )),
        GroupSource::Counter => label.push_str(" from the collection's counter"),
        GroupSource::IndexEnds(index) => label.push_str(&format!(
            " from the ends of index {} (no documents read)",
            index.name
        )),
    }
    label
}

fn order_text(order: &[SortKey]) -> String {
    order
        .iter()
        .map(|k| k.text.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The node of a source: how documents are found, with the planner's estimate.
fn source_node(collection: &str, access: &Access, estimate: u64) -> PlanNode {
    match access {
        Access::FullScan => PlanNode::new(format!("Full scan of {collection}")).estimate(estimate),
        Access::Ids(ids) => {
            let texts: Vec<String> = ids.iter().map(u64::to_string).collect();
            PlanNode::new(format!("Fetch by _id [{}]", texts.join(", "))).estimate(ids.len() as u64)
        }
        Access::IndexScan(scan) => scan_node(scan),
        Access::Intersect(scans) => scans
            .iter()
            .fold(PlanNode::new("Intersect ids".to_owned()), |node, scan| {
                node.child(scan_node(scan))
            }),
        Access::Union(parts) => parts
            .iter()
            .fold(PlanNode::new("Union ids".to_owned()), |node, part| {
                node.child(source_node(collection, part, estimate))
            }),
        Access::Search(scan) => search_node(scan),
    }
}

fn search_node(scan: &SearchScan) -> PlanNode {
    let condition = &scan.condition;
    let node = PlanNode::new(format!(
        "Text index {} ({})",
        condition.index.name, condition.text
    ))
    .estimate(condition.estimate());
    let node = match &scan.and {
        Some(other) => PlanNode::new("Intersect ids".to_owned())
            .child(node)
            .child(scan_node(other))
            .estimate(scan.estimate),
        None => node,
    };
    match &scan.top {
        None => node,
        Some((keep, _)) => node.note(match (*keep, scan.exact && scan.and.is_none()) {
            (usize::MAX, _) => "ranked by score from the posting lists: documents are read best \
                                first"
                .to_owned(),
            (keep, true) => format!(
                "ranked by score from the posting lists: only the best {keep} documents are read"
            ),
            (keep, false) => format!(
                "ranked by score from the posting lists: documents are read best first until \
                 {keep} pass the filter"
            ),
        }),
    }
}

fn scan_node(scan: &IndexScan) -> PlanNode {
    let mut label = format!("Index scan {}", scan.index.name);
    if !scan.condition.is_empty() {
        label.push_str(&format!(" ({})", scan.condition));
    }
    if scan.reverse {
        label.push_str(" backwards");
    }
    let mut node = PlanNode::new(label).estimate(scan.estimate);
    if scan.ranges.len() > 1 {
        node = node.note(format!("{} key ranges", scan.ranges.len()));
    }
    if scan.id_order {
        node = node.note("ids sorted".to_owned());
    }
    node
}
