//! Counting: `count` from the collection's counter, from index keys (the heads of the id
//! blocks, when no document gives the index two entries), or from the documents the filter
//! passes. (`count by` is a grouping: see `group`.)

use std::time::Instant;

use crate::error::Result;
use crate::query::exec::source::{filtered, source_ids};
use crate::query::explain::Measures;
use crate::query::pipeline::{Counting, Pipeline, Step};
use crate::query::plan::Access;
use crate::store::Collection;

/// Runs a `count` pipeline: the collection's counter, the index keys the plan reads, or the
/// documents the filter passes.
pub(crate) fn count(
    collection: &Collection,
    pipeline: &Pipeline,
    measures: &mut Measures,
) -> Result<u64> {
    let plan = &pipeline.plan;
    let started = Instant::now();
    let (n, slot) = match pipeline.steps.as_slice() {
        [Step::Count(Counting::Counter)] => return collection.len(),
        [Step::Count(Counting::IndexKeys)] => {
            let _whole_batches = collection.state.read_gate();
            if let Access::Search(scan) = &plan.access {
                (scan.condition.count(&collection.state)?, 1)
            } else if let Access::IndexScan(scan) = &plan.access
                && collection.state.one_entry_per_document(&scan.index)
            {
                let interrupt = plan.interrupt.as_ref();
                let interrupted = || interrupt.is_some_and(|flag| flag.is_raised());
                (
                    collection.state.count_entries(&scan.ranges, interrupted)?,
                    1,
                )
            } else {
                let ids = source_ids(collection, &plan.access, plan.interrupt.as_ref());
                (count_items(ids)?, 1)
            }
        }
        steps => {
            let filter_slot = pipeline.filter_slot();
            let n = super::whole(collection, measures, |measures| {
                count_items(filtered(collection, plan, filter_slot, measures, None))
            })?;
            // The count itself is one row.
            measures.record(steps.len(), 1, started);
            return Ok(n);
        }
    };
    measures.record(slot, n, started);
    Ok(n)
}

/// Counts the items of a stream, failing on the first error.
pub(super) fn count_items<T>(stream: impl Iterator<Item = Result<T>>) -> Result<u64> {
    let mut n = 0u64;
    for item in stream {
        item?;
        n += 1;
    }
    Ok(n)
}
