//! Plans as trees people can read: what `explain` prints.

use std::fmt;
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

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
