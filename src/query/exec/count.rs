//! Counting: `count` from the collection's counter, from index keys, or from the documents
//! the filter passes; `count by` from an index's per-value counts or from the documents.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::error::Result;
use crate::query::exec::doc::wanted;
use crate::query::exec::source::{filtered, source_ids};
use crate::query::explain::Measures;
use crate::query::pipeline::{Counting, Pipeline, Step};
use crate::query::plan::Access;
use crate::store::Collection;
use crate::value::Value;

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
            let ids = source_ids(collection, &plan.access, plan.interrupt.as_ref());
            // A union takes the gate itself while it collects ids; never take it twice (a
            // waiting writer would make the second read wait forever).
            let n = if matches!(plan.access, Access::Union(_)) {
                count_items(ids)?
            } else {
                let _whole_batches = collection.state.read_gate();
                count_items(ids)?
            };
            (n, 1)
        }
        steps => {
            let filter_slot = pipeline.filter_slot();
            let n = count_items(filtered(collection, plan, filter_slot, measures, None))?;
            // The count itself is one row.
            measures.record(steps.len(), 1, started);
            return Ok(n);
        }
    };
    measures.record(slot, n, started);
    Ok(n)
}

/// Runs a `count by PATH` pipeline: how many documents have each value (each element of an
/// array counts; a missing field counts as null), most frequent first, ties by value.
pub(crate) fn count_by(
    collection: &Collection,
    pipeline: &Pipeline,
    measures: &mut Measures,
) -> Result<Vec<(Value, u64)>> {
    let Some(Step::Group { by, index }) = pipeline.steps.last() else {
        return Ok(Vec::new());
    };
    // `Value`'s order makes `1` and `1.0` one group; a group's value is copied out only when
    // the group is first met.
    let mut counts: BTreeMap<Value, u64> = BTreeMap::new();
    let mut add = |value: &Value, n: u64| match counts.get_mut(value) {
        Some(count) => *count += n,
        None => {
            counts.insert(canonical(value.clone()), n);
        }
    };
    let started = Instant::now();
    match index {
        // The index keeps a count of its entries per leading value: one key per group.
        Some((index, _)) => {
            for (value, n) in collection.state.group_counts(index)? {
                add(&value, n);
            }
        }
        None => {
            let stream = filtered(
                collection,
                &pipeline.plan,
                pipeline.filter_slot(),
                measures,
                None,
            );
            let reads = wanted([by]);
            for item in stream {
                let mut doc = item?;
                for value in by
                    .index_key_refs(doc.read(&collection.state, reads.as_ref())?)
                    .0
                {
                    add(value, 1);
                }
            }
        }
    }
    let mut groups: Vec<(Value, u64)> = counts.into_iter().collect();
    measures.record(pipeline.steps.len(), groups.len() as u64, started);
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(groups)
}

/// Integral floats as integers, so `1` and `1.0` group under one printed value.
fn canonical(value: Value) -> Value {
    match value {
        Value::Float(f) => match Value::Float(f).as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(f),
        },
        other => other,
    }
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
