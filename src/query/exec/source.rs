//! Sources: the documents (or only the ids) an access path finds, in its order, and the
//! residual filter over them; reading shared between two threads when a query reads ahead.
//!
//! Invariant: a source passes each document once, whatever entries it met it under (several
//! array elements, several ranges, an old and a new entry while a writer changes it), and the
//! filter passes exactly the documents the whole predicate selects.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use crate::error::{Error, Result};
use crate::query::exec::Stream;
use crate::query::exec::doc::{Doc, wanted};
use crate::query::exec::read_ahead::{self, Backlog};
use crate::query::explain::Measures;
use crate::query::plan::{Access, IndexScan, Interrupt, Plan, SearchScan};
use crate::store::{Collection, CollectionState};

/// The source followed by the residual filter, which decodes only the fields it tests. The
/// source ends early once `stop` is raised (the rows read ahead were dropped). The source is
/// measured in slot 0, the filter in `filter_slot`.
pub(super) fn filtered(
    collection: &Collection,
    plan: &Plan,
    filter_slot: usize,
    measures: &mut Measures,
    stop: Option<Arc<AtomicBool>>,
) -> Stream<Doc> {
    let test = filter_test(collection, plan);
    let stream = super::measured(
        source(collection, &plan.access, plan.interrupt.as_ref()),
        measures,
        0,
    );
    let stream = watched(stream, plan, stop);
    match test {
        Some(test) => super::measured(
            Box::new(stream.filter_map(move |item| item.map_or_else(|e| Some(Err(e)), &*test))),
            measures,
            filter_slot,
        ),
        None => stream,
    }
}

/// A stream that ends once `stop` is raised and fails once the plan's interrupt is.
fn watched<T: Send + 'static>(
    mut stream: Stream<T>,
    plan: &Plan,
    stop: Option<Arc<AtomicBool>>,
) -> Stream<T> {
    if let Some(stop) = stop {
        stream = Box::new(stream.take_while(move |_| !stop.load(AtomicOrdering::Relaxed)));
    }
    if let Some(interrupt) = plan.interrupt.clone() {
        stream = Box::new(stream.map(move |item| {
            if interrupt.is_raised() {
                Err(Error::Interrupted)
            } else {
                item
            }
        }));
    }
    stream
}

/// The plan's filter as a test of one document: the document if it matches, `None` if not.
type FilterTest = Arc<dyn Fn(Doc) -> Option<Result<Doc>> + Send + Sync>;

/// The test of the plan's filter, if it has one.
fn filter_test(collection: &Collection, plan: &Plan) -> Option<FilterTest> {
    // An exact index scan selects exactly the documents the predicate selects. A document
    // read with no batch applied since before the scan began is the version its index entry
    // was made from, so it matches without being tested (nor decoded); once a batch has been
    // applied meanwhile, every document is tested. Loaded before the scan reads anything.
    let untouched_since = (plan.filter.is_some() && plan.counts_from_keys())
        .then(|| collection.state.epoch())
        .filter(|epoch| epoch.is_settled());
    let predicate = plan.filter.clone()?;
    let state = collection.state.clone();
    let reads = wanted(predicate.paths());
    Some(Arc::new(move |mut doc: Doc| {
        if untouched_since.is_some_and(|epoch| state.unchanged_since(epoch)) {
            return Some(Ok(doc));
        }
        // A condition on top-level scalars is decided on the bytes, without decoding the
        // document (or copying its text out).
        if let Some(holds) = predicate.matches_stored(&doc.bytes) {
            return holds.then_some(Ok(doc));
        }
        match doc.read(&state, reads.as_ref()) {
            Ok(fields) => predicate.matches(fields).then_some(Ok(doc)),
            Err(e) => Some(Err(e)),
        }
    }))
}

/// A row of an id scan read ahead: its document, or only its id, left for the caller to read.
enum Found {
    Read(Doc),
    Left(u64),
}

/// The documents of an id scan, read ahead, with the reading shared between the two threads.
/// Reading each document from sled was the reading thread's largest cost, and on an indexed
/// query the caller was busy about half as long as the reading thread: while no batch waits
/// for the caller, the reading thread leaves every other document to it, with the filter
/// test that goes with it. Rows come in scan order either way.
pub(super) fn shared_reading(
    collection: &Collection,
    plan: &Plan,
    stop: Arc<AtomicBool>,
) -> Stream<Doc> {
    let test = filter_test(collection, plan);
    let state = collection.state.clone();
    let ids = watched(
        source_ids(collection, &plan.access, plan.interrupt.as_ref()),
        plan,
        Some(stop.clone()),
    );
    let backlog = Backlog::default();
    let idle = backlog.clone();
    let (reader, reader_test) = (state.clone(), test.clone());
    let mut leave = false;
    let found: Stream<Found> = Box::new(ids.filter_map(move |id| {
        let id = match id {
            Ok(id) => id,
            Err(e) => return Some(Err(e)),
        };
        leave = !leave && idle.is_empty();
        if leave {
            return Some(Ok(Found::Left(id)));
        }
        read_tested(&reader, id, reader_test.as_ref()).map(|found| found.map(Found::Read))
    }));
    let found = read_ahead::read_ahead(found, stop, backlog, collection.db.clone());
    Box::new(found.filter_map(move |item| match item {
        Err(e) => Some(Err(e)),
        Ok(Found::Read(doc)) => Some(Ok(doc)),
        Ok(Found::Left(id)) => read_tested(&state, id, test.as_ref()),
    }))
}

/// The document `id` if it is there and passes `test`.
fn read_tested(state: &CollectionState, id: u64, test: Option<&FilterTest>) -> Option<Result<Doc>> {
    match (read_doc(state, id)?, test) {
        (Ok(doc), Some(test)) => test(doc),
        (read, _) => Some(read),
    }
}

/// Documents found by an access path; reading index keys fails once `interrupt` is raised.
fn source(collection: &Collection, access: &Access, interrupt: Option<&Interrupt>) -> Stream<Doc> {
    match access {
        Access::FullScan => Box::new(
            collection
                .state
                .stored_documents()
                .map(|item| item.map(|(id, bytes)| Doc::new(id, bytes))),
        ),
        _ => fetch(collection, source_ids(collection, access, interrupt)),
    }
}

/// The ids of the documents an access path finds, in its order: from index keys alone for
/// index scans and unions (an id given by `_id in [...]` may have no document). Reading index
/// keys fails once `interrupt` is raised, also while ids are gathered before any is passed on.
pub(super) fn source_ids(
    collection: &Collection,
    access: &Access,
    interrupt: Option<&Interrupt>,
) -> Stream<u64> {
    let state = collection.state.clone();
    let interrupt = interrupt.cloned();
    match access {
        Access::FullScan => Box::new(state.stored_documents().map(|item| item.map(|(id, _)| id))),
        Access::Ids(ids) => Box::new(ids.clone().into_iter().map(Ok)),
        Access::IndexScan(scan) => scan_ids(&state, scan, interrupt),
        Access::Intersect(scans) => {
            let scans = scans.clone();
            lazily(move || {
                let _whole_batches = state.read_gate();
                let mut result: Option<BTreeSet<u64>> = None;
                for scan in &scans {
                    let found: BTreeSet<u64> =
                        scan_ids(&state, scan, interrupt.clone()).collect::<Result<_>>()?;
                    result = Some(match result {
                        None => found,
                        Some(so_far) => so_far.intersection(&found).copied().collect(),
                    });
                }
                Ok(result.unwrap_or_default())
            })
        }
        Access::Union(parts) => union_ids(state, parts.clone(), interrupt),
        Access::Search(scan) => {
            let scan = scan.clone();
            match scan.top.clone() {
                None => lazily(move || {
                    let _whole_batches = state.read_gate();
                    search_ids(&state, &scan, interrupt)
                }),
                Some((first, search)) => lazily(move || {
                    let _whole_batches = state.read_gate();
                    let ids = search_ids(&state, &scan, interrupt)?;
                    let hits = scan.condition.hits(&state)?;
                    search.rank(&state, &hits, &ids, first)
                }),
            }
        }
    }
}

/// The ids a search selects, in id order (the caller holds the read gate).
fn search_ids(
    state: &Arc<CollectionState>,
    scan: &SearchScan,
    interrupt: Option<Interrupt>,
) -> Result<Vec<u64>> {
    let hits = scan.condition.hits(state)?;
    match &scan.and {
        None => Ok(hits.ids.clone()),
        Some(other) => {
            let mut found = Vec::new();
            for id in scan_ids(state, other, interrupt) {
                let id = id?;
                if hits.ids.binary_search(&id).is_ok() {
                    found.push(id);
                }
            }
            Ok(found)
        }
    }
}

/// An id stream worked out on first use: all at once (id-order scans, intersections, unions)
/// or ready to give them in order (a ranked search).
fn lazily<I>(compute: impl FnOnce() -> Result<I> + Send + 'static) -> Stream<u64>
where
    I: IntoIterator<Item = u64>,
    I::IntoIter: Send + 'static,
{
    let mut compute = Some(compute);
    let mut ids: Option<I::IntoIter> = None;
    Box::new(std::iter::from_fn(move || {
        if ids.is_none() {
            match compute.take().map(|f| f()) {
                Some(Ok(found)) => ids = Some(found.into_iter()),
                Some(Err(e)) => return Some(Err(e)),
                None => return None,
            }
        }
        ids.as_mut().and_then(Iterator::next).map(Ok)
    }))
}

/// Reads the documents of an id stream; ids whose document is gone (deleted meanwhile) are
/// passed over.
fn fetch(collection: &Collection, ids: Stream<u64>) -> Stream<Doc> {
    let state = collection.state.clone();
    Box::new(ids.filter_map(move |id| id.map_or_else(|e| Some(Err(e)), |id| read_doc(&state, id))))
}

/// The document `id`, or `None` if it is gone.
fn read_doc(state: &CollectionState, id: u64) -> Option<Result<Doc>> {
    state
        .read_stored(id)
        .map(|found| found.map(|bytes| Doc::new(id, bytes)))
        .transpose()
}

/// The document ids in an index scan's ranges, each once: in id order for a scan marked
/// [`IndexScan::id_order`], else in scan order, where entries with equal values are in id
/// order, descending when the scan reads backwards.
///
/// Nothing is read before the first id is asked for. Then the ids the planner read while
/// estimating come first, if no batch was applied since, and the scan reads on after them
/// (an id-order scan reads them all, then sorts them).
fn scan_ids(
    state: &Arc<CollectionState>,
    scan: &IndexScan,
    interrupt: Option<Interrupt>,
) -> Stream<u64> {
    if scan.id_order {
        let (state, ranges) = (state.clone(), scan.ranges.clone());
        let start = scan.start.clone();
        return lazily(move || {
            let (entries, _) = state.index_ids(ranges, false, start);
            let mut ids = interruptible(entries, interrupt).collect::<Result<Vec<u64>>>()?;
            // Sorting also drops the duplicates `distinct` drops for a key-order scan.
            ids.sort_unstable();
            ids.dedup();
            Ok(ids)
        });
    }
    let mut start = Some((
        state.clone(),
        scan.ranges.clone(),
        scan.reverse,
        scan.start.clone(),
        interrupt,
    ));
    let mut ids: Option<Stream<u64>> = None;
    Box::new(std::iter::from_fn(move || {
        if ids.is_none() {
            let (state, ranges, reverse, begin, interrupt) = start.take()?;
            let (entries, expected) = state.index_ids(ranges, reverse, begin);
            ids = Some(distinct(interruptible(entries, interrupt), expected));
        }
        ids.as_mut()?.next()
    }))
}

/// `ids`, failing with [`Error::Interrupted`] once `interrupt` is raised.
fn interruptible(ids: Stream<u64>, interrupt: Option<Interrupt>) -> Stream<u64> {
    match interrupt {
        None => ids,
        Some(flag) => Box::new(ids.map(move |id| {
            if flag.is_raised() {
                Err(Error::Interrupted)
            } else {
                id
            }
        })),
    }
}

/// Passes each id once: a document can meet a scan twice, under several entries (multikey,
/// several ranges), or under its old and new entries when a writer changes it mid-scan.
fn distinct(ids: Stream<u64>, expected: usize) -> Stream<u64> {
    // Room for a short scan (an ordered `limit`) up front: growing from empty reallocates
    // three times in the first ten ids.
    let mut seen: HashSet<u64, foldhash::fast::RandomState> =
        HashSet::with_capacity_and_hasher(expected.max(16), Default::default());
    Box::new(ids.filter_map(move |id| match id {
        Ok(id) => seen.insert(id).then_some(Ok(id)),
        Err(e) => Some(Err(e)),
    }))
}

/// The ids of the documents found by every branch of a union, each once, in id order.
fn union_ids(
    state: Arc<CollectionState>,
    parts: Vec<Access>,
    interrupt: Option<Interrupt>,
) -> Stream<u64> {
    lazily(move || {
        let _whole_batches = state.read_gate();
        let mut all = BTreeSet::new();
        for part in &parts {
            match part {
                Access::Ids(ids) => all.extend(ids.iter().copied()),
                Access::IndexScan(scan) => {
                    for id in scan_ids(&state, scan, interrupt.clone()) {
                        all.insert(id?);
                    }
                }
                Access::Search(scan) => all.extend(search_ids(&state, scan, interrupt.clone())?),
                _ => return Err(Error::Query("a union branch must be an index scan".into())),
            }
        }
        Ok(all)
    })
}
