//! The executor: a pipeline becomes a chain of lazy iterators, one file per kind of step.
//!
//! `source` (full scan, ids, index scan, intersection, union) → filter (the whole predicate)
//! → read ahead → `sort` (all, or the best K in a bounded heap when there is a limit) → offset
//! → limit → project, or `count`. Nothing is collected unless a sort needs it, so `limit 10`
//! without a sort stops after ten matches. With `explain analyze` each step counts its rows
//! and time in the pipeline's [`Measures`].

mod count;
mod doc;
mod group;
mod read_ahead;
mod rows;
mod sort;
mod source;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub(crate) use count::count;

/// How many times a read that gives one answer runs while batches may land, before it runs
/// with them kept out.
const OPTIMISTIC_READS: usize = 2;

/// Runs `read`, a read that gives one answer (a count, groups), so that it sees each batch of
/// `collection` whole, as a transaction's commit must be seen: first without keeping writers
/// out, again if a batch landed meanwhile, and at last with batches kept out (writers wait).
/// Rows streamed to a caller are not read so: they may span a batch. `read` runs on this
/// thread only (never through read-ahead): the gate it may hold is this thread's, and a read
/// on another thread that waited for it would wait forever behind a waiting writer.
fn whole<T>(
    collection: &Collection,
    measures: &mut Measures,
    mut read: impl FnMut(&mut Measures) -> Result<T>,
) -> Result<T> {
    for _ in 0..OPTIMISTIC_READS {
        let epoch = collection.state.epoch();
        let answer = read(measures);
        if collection.state.unchanged_since(epoch) {
            return answer;
        }
        measures.reset();
    }
    let _whole_batches = collection.state.read_gate();
    read(measures)
}
pub(crate) use read_ahead::MIN_ROWS;
pub use rows::{Rows, TypedRows};

use crate::error::Result;
use crate::query::explain::{Measures, StepStats};
use crate::query::pipeline::{Pipeline, Step};
use crate::query::plan::Plan;
use crate::store::Collection;
use crate::value::Value;
use doc::{Wanted, wanted};
use rows::RowStream;

/// A boxed stream of pipeline items.
type Stream<T> = Box<dyn Iterator<Item = Result<T>> + Send>;

/// Counts the items and time of an inner iterator.
struct Measured<I> {
    inner: I,
    stats: Arc<StepStats>,
}

impl<T, I: Iterator<Item = Result<T>>> Iterator for Measured<I> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        let started = Instant::now();
        let item = self.inner.next();
        let nanos = started.elapsed().as_nanos() as u64;
        self.stats
            .add(u64::from(matches!(item, Some(Ok(_)))), nanos);
        item
    }
}

/// `stream`, measured in `slot` when `measures` is on.
fn measured<T: 'static>(stream: Stream<T>, measures: &mut Measures, slot: usize) -> Stream<T> {
    match measures.slot(slot) {
        None => stream,
        Some(stats) => Box::new(Measured {
            inner: stream,
            stats,
        }),
    }
}

/// Runs a query's pipeline: its rows, lazily (an aggregate's groups are all computed first).
pub(crate) fn rows(collection: &Collection, pipeline: &Pipeline, measures: &mut Measures) -> Rows {
    let state = collection.state.clone();
    if pipeline.grouping().is_some() {
        let rows: Stream<Value> = match group::rows(collection, pipeline, measures) {
            Ok(rows) => Box::new(rows.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        };
        return Rows::new(RowStream::Built(rows), collection);
    }
    let plan = &pipeline.plan;
    let steps = &pipeline.steps;
    let filter_slot = pipeline.filter_slot();
    let ahead = steps.iter().position(|s| matches!(s, Step::ReadAhead));
    let (mut stream, first) = match ahead {
        Some(at) => {
            let stop = Arc::<AtomicBool>::default();
            // Documents found by id are read by both threads when the query just runs
            // (`explain analyze` counts each step's rows on one thread).
            let stream = if !measures.is_on() && pipeline.by_id() {
                source::shared_reading(collection, plan, stop)
            } else {
                let inner =
                    source::filtered(collection, plan, filter_slot, measures, Some(stop.clone()));
                Box::new(read_ahead::read_ahead(
                    inner,
                    stop,
                    read_ahead::Backlog::default(),
                    collection.db.clone(),
                ))
            };
            (measured(stream, measures, at + 1), at + 1)
        }
        None => (
            source::filtered(collection, plan, filter_slot, measures, None),
            filter_slot,
        ),
    };
    let mut project = None;
    for (i, step) in steps.iter().enumerate().skip(first) {
        stream = match step {
            Step::Sort { keys, keep } => sort::sort(state.clone(), stream, keys.clone(), *keep),
            Step::Offset(n) => Box::new(rows::skip_ok(stream, *n)),
            Step::Limit(n) => Box::new(rows::take_ok(stream, *n)),
            Step::Project(columns) => {
                project = Some((i, columns.clone()));
                continue;
            }
            Step::Filter(_)
            | Step::ReadAhead
            | Step::Count(_)
            | Step::Aggregate(_)
            | Step::Having { .. } => continue,
        };
        stream = measured(stream, measures, i + 1);
    }
    let inner = match project {
        Some((i, columns)) => {
            let reads = wanted(columns.iter().flat_map(|c| c.calc.paths()));
            let state = state.clone();
            let projected: Stream<Value> = Box::new(stream.map(move |item| {
                let mut doc = item?;
                Ok(rows::project(doc.read(&state, reads.as_ref())?, &columns))
            }));
            RowStream::Built(measured(projected, measures, i + 1))
        }
        None => RowStream::Stored(stream),
    };
    Rows::new(inner, collection)
}

/// The documents the plan selects, with ids, after the filter (for updates/deletes), read one
/// at a time: whole, or with only the top-level fields in `fields` (a delete needs only what
/// its index entries are made of).
pub(crate) fn matching<'a>(
    collection: &'a Collection,
    plan: &Plan,
    fields: Option<&[String]>,
) -> impl Iterator<Item = Result<(u64, Value)>> + 'a {
    let state = &collection.state;
    let fields: Wanted = fields.map(Into::into);
    source::filtered(collection, plan, 0, &mut Measures::off(), None).map(move |item| {
        let doc = item?;
        Ok((doc.id, doc.into_fields(state, fields.as_ref())?))
    })
}
