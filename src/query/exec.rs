//! The executor: a plan becomes a chain of lazy iterators.
//!
//! `source` (full scan, ids, index scan, intersection, union) → `filter` (the whole predicate)
//! → `sort` (all, or the best K in a bounded heap when there is a limit) → `offset` → `limit`
//! → `project`. Nothing is collected unless a sort needs it, so `limit 10` without a sort
//! stops after ten matches. With `explain analyze` each step counts its rows and time.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashSet};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::Instant;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::path::Path;
use crate::query::ast::OrderKey;
use crate::query::explain::{PlanNode, StepStats};
use crate::query::plan::{Access, IndexScan, Interrupt, Plan};
use crate::query::read_ahead::{self, Backlog};
use crate::store::{Collection, CollectionState, Stored};
use crate::value::Value;

/// A document as it moves through the pipeline: its id and its stored bytes. Steps decode
/// only the top-level fields they read (a filter its predicate's, a sort its keys'), and the
/// document is decoded whole only when it is returned, so what a query passes over costs a walk
/// over its bytes rather than a whole decode.
struct Doc {
    id: u64,
    bytes: Stored,
    /// The document as decoded so far: `_id` and the fields named in `read`.
    fields: Value,
    /// The top-level fields decoded so far; `None` before the first decode.
    read: Wanted,
    /// Whether every field is decoded.
    whole: bool,
}

impl Doc {
    fn new(id: u64, bytes: Stored) -> Doc {
        Doc {
            id,
            bytes,
            fields: Value::Null,
            read: None,
            whole: false,
        }
    }

    /// The document with at least the top-level fields in `wanted` decoded (all of them for
    /// `None`); what was decoded before is kept, not decoded again.
    fn read(&mut self, state: &CollectionState, wanted: Option<&Arc<[String]>>) -> Result<&Value> {
        if self.whole {
            return Ok(&self.fields);
        }
        // `_id` is always there: it is not a stored field.
        let fields: Wanted = match (&self.read, wanted) {
            (_, None) => None,
            (None, Some(wanted)) => Some(wanted.clone()),
            (Some(read), Some(wanted)) => {
                let missing: Vec<&String> = wanted
                    .iter()
                    .filter(|name| *name != "_id" && !read.contains(name))
                    .collect();
                if missing.is_empty() {
                    return Ok(&self.fields);
                }
                Some(read.iter().chain(missing).cloned().collect())
            }
        };
        let decoded = match std::mem::take(&mut self.fields) {
            Value::Object(map) => map,
            _ => crate::value::Map::default(),
        };
        self.fields = state.decode_more(self.id, &self.bytes, fields.as_deref(), decoded)?;
        self.whole = fields.is_none() || !matches!(self.fields, Value::Object(_));
        self.read = fields;
        Ok(&self.fields)
    }

    /// What [`Doc::read`] gives, by value.
    fn into_fields(
        mut self,
        state: &CollectionState,
        wanted: Option<&Arc<[String]>>,
    ) -> Result<Value> {
        self.read(state, wanted)?;
        Ok(self.fields)
    }
}

/// The top-level fields a step reads; `None` for the whole document.
type Wanted = Option<Arc<[String]>>;

/// The top-level fields `paths` start in (see [`Path::heads`]).
fn wanted<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Wanted {
    Path::heads(paths).map(Into::into)
}

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

/// A new step's node over `node`, when the plan is shown. A query that just runs discards its
/// plan tree, so in [`Mode::Run`] no label is formatted and `node` is passed on as it is.
fn above(mode: Mode, node: PlanNode, step: impl FnOnce() -> PlanNode) -> PlanNode {
    if mode == Mode::Run {
        node
    } else {
        step().child(node)
    }
}

/// A source's node, described only when the plan is shown (see [`above`]).
fn described(mode: Mode, describe: impl FnOnce() -> PlanNode) -> PlanNode {
    if mode == Mode::Run {
        PlanNode::default()
    } else {
        describe()
    }
}

/// Records what a step that ran all at once produced, for `explain analyze`.
fn record(node: &mut PlanNode, rows: u64, started: Instant) {
    let stats = Arc::new(StepStats::default());
    stats.add(rows, started.elapsed().as_nanos() as u64);
    node.stats = Some(stats);
}

/// Counts the items of a stream, failing on the first error.
fn count_items<T>(stream: impl Iterator<Item = Result<T>>) -> Result<u64> {
    let mut n = 0u64;
    for item in stream {
        item?;
        n += 1;
    }
    Ok(n)
}

/// Attaches stats to a step when analysing.
fn measure<T: 'static>(stream: Stream<T>, node: &mut PlanNode, mode: Mode) -> Stream<T> {
    if mode != Mode::Analyze {
        return stream;
    }
    let stats = Arc::new(StepStats::default());
    node.stats = Some(stats.clone());
    Box::new(Measured {
        inner: stream,
        stats,
    })
}

/// The result of a query: documents (or projected rows), produced lazily.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// db.execute(r#"insert into t [{"n": 1}, {"n": 2}, {"n": 3}]"#)?;
/// let rows: Vec<quarry::Value> = db.query("from t where n >= 2")?.collect::<Result<_, _>>()?;
/// assert_eq!(rows.len(), 2);
/// # Ok::<(), quarry::Error>(())
/// ```
pub struct Rows {
    inner: RowStream,
    state: Arc<CollectionState>,
}

/// The rows as the pipeline hands them out: stored documents not yet decoded whole, or rows
/// the query built (a projection).
enum RowStream {
    Stored(Stream<Doc>),
    Built(Stream<Value>),
}

impl Iterator for Rows {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            RowStream::Stored(docs) => Some(
                docs.next()?
                    .and_then(|doc| doc.into_fields(&self.state, None)),
            ),
            RowStream::Built(rows) => rows.next(),
        }
    }
}

impl Rows {
    /// The rows as `T`s, lazily. A whole document is read straight from its stored bytes into
    /// a `T`, with no [`Value`] built on the way, and the fields `T` does not have are stepped
    /// over; a row that does not fit `T` is an [`Error::Conversion`].
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Note { _id: u64, n: i64 }
    /// let db = quarry::Db::temporary()?;
    /// db.execute(r#"insert into t [{"n": 1, "text": "a"}, {"n": 2, "text": "b"}]"#)?;
    /// let notes: Vec<Note> = db.query("from t order by n desc")?.deserialize().collect::<Result<_, _>>()?;
    /// assert_eq!((notes[0]._id, notes[0].n), (2, 2));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn deserialize<T: DeserializeOwned>(self) -> TypedRows<T> {
        TypedRows {
            rows: self,
            _type: PhantomData,
        }
    }
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rows { .. }")
    }
}

/// The rows of a query as `T`s: see [`Rows::deserialize`].
pub struct TypedRows<T> {
    rows: Rows,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Iterator for TypedRows<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        let state = &self.rows.state;
        Some(match &mut self.rows.inner {
            RowStream::Stored(docs) => docs
                .next()?
                .and_then(|doc| state.decode_as(doc.id, &doc.bytes)),
            RowStream::Built(rows) => rows.next()?.and_then(|value| {
                crate::value::from_value(&value).map_err(|e| Error::Conversion(e.0))
            }),
        })
    }
}

impl<T> std::fmt::Debug for TypedRows<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TypedRows { .. }")
    }
}

/// What a query asks for beyond the plan.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    /// Paths to keep (`select a, b`); `None` for whole documents.
    pub fields: Option<Vec<Path>>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: Option<u64>,
}

/// Builds the pipeline of a query and, unless `mode` just runs it, the plan tree that
/// describes it.
pub fn query(
    collection: &Collection,
    plan: &Plan,
    filter_text: Option<String>,
    shape: &Shape,
    mode: Mode,
    read_ahead: Option<u64>,
) -> (Rows, PlanNode) {
    let ahead = read_ahead.is_some_and(|min| reads_many(plan, shape, min));
    let stop = (ahead && mode != Mode::Explain).then(Arc::<AtomicBool>::default);
    // Documents found by id are read by both threads when the query just runs (`explain
    // analyze` counts each step's rows on one thread).
    let shared = mode == Mode::Run && !matches!(plan.access, Access::FullScan);
    let (mut stream, mut node) = match stop {
        Some(stop) if shared => (shared_reading(collection, plan, stop), PlanNode::default()),
        Some(stop) => {
            let (stream, node) = filtered(collection, plan, filter_text, mode, Some(stop.clone()));
            let stream = Box::new(read_ahead::read_ahead(stream, stop, Backlog::default()));
            (stream as Stream<Doc>, node)
        }
        None => filtered(collection, plan, filter_text, mode, None),
    };
    if ahead {
        node = above(mode, node, || {
            PlanNode::new("Read ahead on a second thread".to_owned())
        });
        stream = measure(stream, &mut node, mode);
    }
    if !plan.sort.is_empty() {
        let keep = shape.limit.map(|l| l.saturating_add(shape.offset));
        node = above(mode, node, || {
            PlanNode::new(match keep {
                Some(k) => format!("Top {k} by {}", order_text(&plan.sort)),
                None => format!("Sort by {}", order_text(&plan.sort)),
            })
        });
        stream = sort(collection.state.clone(), stream, plan.sort.clone(), keep);
        stream = measure(stream, &mut node, mode);
    }
    if shape.offset > 0 {
        node = above(mode, node, || {
            PlanNode::new(format!("Offset {}", shape.offset))
        });
        stream = Box::new(skip_ok(stream, shape.offset));
        stream = measure(stream, &mut node, mode);
    }
    if let Some(limit) = shape.limit {
        node = above(mode, node, || PlanNode::new(format!("Limit {limit}")));
        stream = Box::new(take_ok(stream, limit));
        stream = measure(stream, &mut node, mode);
    }
    let state = collection.state.clone();
    let rows = match &shape.fields {
        Some(fields) => {
            node = above(mode, node, || {
                let texts: Vec<String> = fields.iter().map(Path::to_string).collect();
                PlanNode::new(format!("Project {}", texts.join(", ")))
            });
            let fields = fields.clone();
            let reads = wanted(&fields);
            let state = state.clone();
            let projected: Stream<Value> = Box::new(stream.map(move |item| {
                let mut doc = item?;
                Ok(project(doc.read(&state, reads.as_ref())?, &fields))
            }));
            RowStream::Built(measure(projected, &mut node, mode))
        }
        None => RowStream::Stored(stream),
    };
    (Rows { inner: rows, state }, node)
}

/// Whether a query is expected to read at least `min` documents, enough for another thread to
/// find them while the caller's decodes them ([`read_ahead`]): a sort reads all it finds, a
/// limit only what it keeps.
fn reads_many(plan: &Plan, shape: &Shape, min: u64) -> bool {
    let wanted = match shape.limit {
        Some(limit) if plan.sort.is_empty() => limit.saturating_add(shape.offset),
        _ => u64::MAX,
    };
    plan.estimate.min(wanted) >= min
}

/// The source followed by the residual filter, which decodes only the fields it tests. The
/// source ends early once `stop` is raised (the rows read ahead were dropped).
fn filtered(
    collection: &Collection,
    plan: &Plan,
    filter_text: Option<String>,
    mode: Mode,
    stop: Option<Arc<AtomicBool>>,
) -> (Stream<Doc>, PlanNode) {
    let test = filter_test(collection, plan);
    let (stream, mut node) = source(collection, &plan.access, plan.interrupt.as_ref(), mode);
    let mut stream = watched(stream, plan, stop);
    if let Some(test) = test {
        node = above(mode, node, || {
            PlanNode::new(format!("Filter {}", filter_text.unwrap_or_default()))
        });
        stream =
            Box::new(stream.filter_map(move |item| item.map_or_else(|e| Some(Err(e)), &*test)));
        stream = measure(stream, &mut node, mode);
    }
    (stream, node)
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
fn shared_reading(collection: &Collection, plan: &Plan, stop: Arc<AtomicBool>) -> Stream<Doc> {
    let test = filter_test(collection, plan);
    let state = collection.state.clone();
    let ids = watched(
        source_ids(collection, &plan.access, plan.interrupt.as_ref(), Mode::Run).0,
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
    let found = read_ahead::read_ahead(found, stop, backlog);
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
fn source(
    collection: &Collection,
    access: &Access,
    interrupt: Option<&Interrupt>,
    mode: Mode,
) -> (Stream<Doc>, PlanNode) {
    let (stream, mut node): (Stream<Doc>, PlanNode) = match access {
        Access::FullScan => (
            Box::new(
                collection
                    .state
                    .stored_documents()
                    .map(|item| item.map(|(id, bytes)| Doc::new(id, bytes))),
            ),
            full_scan_node(collection, mode),
        ),
        _ => {
            let (ids, node) = source_ids(collection, access, interrupt, mode);
            (fetch(collection, ids), node)
        }
    };
    let stream = measure(stream, &mut node, mode);
    (stream, node)
}

/// The ids of the documents an access path finds, in its order: from index keys alone for
/// index scans and unions (an id given by `_id in [...]` may have no document). Reading index
/// keys fails once `interrupt` is raised, also while ids are gathered before any is passed on.
fn source_ids(
    collection: &Collection,
    access: &Access,
    interrupt: Option<&Interrupt>,
    mode: Mode,
) -> (Stream<u64>, PlanNode) {
    let state = collection.state.clone();
    let interrupt = interrupt.cloned();
    match access {
        Access::FullScan => (
            Box::new(state.stored_documents().map(|item| item.map(|(id, _)| id))),
            full_scan_node(collection, mode),
        ),
        Access::Ids(ids) => (
            Box::new(ids.clone().into_iter().map(Ok)),
            described(mode, || {
                let texts: Vec<String> = ids.iter().map(u64::to_string).collect();
                PlanNode::new(format!("Fetch by _id [{}]", texts.join(", ")))
                    .estimate(ids.len() as u64)
            }),
        ),
        Access::IndexScan(scan) => (
            scan_ids(&state, scan, interrupt),
            described(mode, || scan_node(scan)),
        ),
        Access::Intersect(scans) => {
            let node = described(mode, || {
                let mut node = PlanNode::new("Intersect ids".to_owned());
                for scan in scans {
                    node = node.child(scan_node(scan));
                }
                node
            });
            let state = state.clone();
            let scans = scans.clone();
            let ids = lazily(move || {
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
                Ok(result.unwrap_or_default().into_iter().collect())
            });
            (ids, node)
        }
        Access::Union(parts) => {
            let node = described(mode, || union_node(collection, parts));
            (union_ids(state, parts.clone(), interrupt), node)
        }
    }
}

fn full_scan_node(collection: &Collection, mode: Mode) -> PlanNode {
    described(mode, || {
        PlanNode::new(format!("Full scan of {}", collection.name()))
            .estimate(collection.len().unwrap_or(0))
    })
}

fn union_node(collection: &Collection, parts: &[Access]) -> PlanNode {
    let mut node = PlanNode::new("Union ids".to_owned());
    for part in parts {
        node = node.child(source(collection, part, None, Mode::Explain).1);
    }
    node
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

/// An id stream computed all at once on first use (for id-order scans, intersections and
/// unions).
fn lazily(compute: impl FnOnce() -> Result<Vec<u64>> + Send + 'static) -> Stream<u64> {
    let mut compute = Some(compute);
    let mut ids: Option<std::vec::IntoIter<u64>> = None;
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
pub(crate) fn scan_ids(
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

fn skip_ok<T>(stream: Stream<T>, n: u64) -> impl Iterator<Item = Result<T>> {
    let mut skipped = 0u64;
    stream.filter(move |item| {
        if item.is_ok() && skipped < n {
            skipped += 1;
            false
        } else {
            true
        }
    })
}

fn take_ok<T>(mut stream: Stream<T>, n: u64) -> impl Iterator<Item = Result<T>> {
    let mut taken = 0u64;
    std::iter::from_fn(move || {
        if taken >= n {
            return None;
        }
        let item = stream.next()?;
        if item.is_ok() {
            taken += 1;
        }
        Some(item)
    })
}

/// `select a, b.c`: an object of the paths' first values (null when missing), keyed by the
/// field name for a one-field path, else by the path as written (`b.c`, `tags[0]`).
fn project(doc: &Value, fields: &[Path]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|p| {
                let name = match p.segments() {
                    [crate::path::Segment::Field(name)] => name.as_str().into(),
                    _ => p.to_string().into(),
                };
                (name, p.first(doc).cloned().unwrap_or(Value::Null))
            })
            .collect(),
    )
}

fn order_text(order: &[OrderKey]) -> String {
    order
        .iter()
        .map(|k| format!("{}{}", k.path, if k.descending { " desc" } else { "" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A document with its sort key, ordered by the `order by` and then by id, in the direction of
/// the last order key: as if every index entry's trailing id were one more order key, so that a
/// sort and an index scan read either way agree.
struct Sorted {
    key: Vec<Value>,
    descending: Arc<[bool]>,
    doc: Doc,
}

impl Sorted {
    fn new(doc: Doc, order: &[OrderKey], descending: &Arc<[bool]>) -> Sorted {
        let key = order
            .iter()
            .map(|k| k.path.first(&doc.fields).cloned().unwrap_or(Value::Null))
            .collect();
        Sorted {
            key,
            descending: descending.clone(),
            doc,
        }
    }
}

impl Ord for Sorted {
    fn cmp(&self, other: &Self) -> Ordering {
        for ((a, b), desc) in self.key.iter().zip(&other.key).zip(self.descending.iter()) {
            let ordering = a.cmp(b);
            let ordering = if *desc { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        let ids = self.doc.id.cmp(&other.doc.id);
        if self.descending.last() == Some(&true) {
            ids.reverse()
        } else {
            ids
        }
    }
}

impl PartialOrd for Sorted {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Sorted {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Sorted {}

/// Sorts the stream; with `keep`, only the best `keep` are held (a bounded max-heap).
fn sort(
    state: Arc<CollectionState>,
    stream: Stream<Doc>,
    order: Vec<OrderKey>,
    keep: Option<u64>,
) -> Stream<Doc> {
    let descending: Arc<[bool]> = order.iter().map(|k| k.descending).collect();
    let reads = wanted(order.iter().map(|k| &k.path));
    let mut stream = Some(stream);
    let mut sorted: Option<std::vec::IntoIter<Doc>> = None;
    Box::new(std::iter::from_fn(move || {
        if sorted.is_none() {
            let input = stream.take()?;
            let mut heap: BinaryHeap<Sorted> = BinaryHeap::new();
            let mut all: Vec<Sorted> = Vec::new();
            for item in input {
                let mut doc = match item {
                    Ok(doc) => doc,
                    Err(e) => return Some(Err(e)),
                };
                if let Err(e) = doc.read(&state, reads.as_ref()) {
                    return Some(Err(e));
                }
                let item = Sorted::new(doc, &order, &descending);
                match keep {
                    Some(0) => {}
                    Some(k) => {
                        if (heap.len() as u64) < k {
                            heap.push(item);
                        } else if heap.peek().is_some_and(|worst| item < *worst) {
                            heap.pop();
                            heap.push(item);
                        }
                    }
                    None => all.push(item),
                }
            }
            let mut result = if keep.is_some() { heap.into_vec() } else { all };
            result.sort();
            sorted = Some(
                result
                    .into_iter()
                    .map(|s| s.doc)
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
        }
        sorted.as_mut().and_then(Iterator::next).map(Ok)
    }))
}

/// How far to go with a plan: run it, only describe it (`explain`), or run and measure it
/// (`explain analyze`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Run it.
    Run,
    /// Describe it without running.
    Explain,
    /// Run it and measure each step.
    Analyze,
}

impl Mode {
    /// The mode of a statement by its `explain` prefix: none, `explain` (`Some(false)`) or
    /// `explain analyze` (`Some(true)`).
    pub(crate) fn of_explain(explain: Option<bool>) -> Mode {
        match explain {
            None => Mode::Run,
            Some(false) => Mode::Explain,
            Some(true) => Mode::Analyze,
        }
    }
}

/// Counts the documents a plan selects; reads only index keys when the plan allows. With
/// [`Mode::Explain`] nothing is read and the count is 0.
pub fn count(
    collection: &Collection,
    plan: &Plan,
    filter_text: Option<String>,
    mode: Mode,
) -> Result<(u64, PlanNode)> {
    let analyze = mode == Mode::Analyze;
    if plan.filter.is_none() {
        let node = PlanNode::new("Count from the collection's counter".to_owned());
        let n = if mode == Mode::Explain {
            0
        } else {
            collection.len()?
        };
        return Ok((n, node));
    }
    if plan.counts_from_keys() {
        let (ids, node) = source_ids(
            collection,
            &plan.access,
            plan.interrupt.as_ref(),
            Mode::Explain,
        );
        let mut node = PlanNode::new("Count index keys (no documents read)".to_owned()).child(node);
        if mode == Mode::Explain {
            return Ok((0, node));
        }
        let started = Instant::now();
        // A union takes the gate itself while it collects ids; never take it twice (a
        // waiting writer would make the second read wait forever).
        let n = if matches!(plan.access, Access::Union(_)) {
            count_items(ids)?
        } else {
            let _whole_batches = collection.state.read_gate();
            count_items(ids)?
        };
        if analyze {
            record(&mut node, n, started);
        }
        return Ok((n, node));
    }
    let (stream, node) = filtered(collection, plan, filter_text, mode, None);
    let mut node = PlanNode::new("Count".to_owned()).child(node);
    if mode == Mode::Explain {
        return Ok((0, node));
    }
    let started = Instant::now();
    let n = count_items(stream)?;
    if analyze {
        record(&mut node, 1, started);
    }
    Ok((n, node))
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
                _ => return Err(Error::Query("a union branch must be an index scan".into())),
            }
        }
        Ok(all.into_iter().collect())
    })
}

/// `count by PATH`: how many documents have each value (each element of an array counts;
/// a missing field counts as null), most frequent first, ties by value.
/// With [`Mode::Explain`] nothing is read and there are no groups.
pub fn count_by(
    collection: &Collection,
    plan: &Plan,
    filter_text: Option<String>,
    by: &Path,
    mode: Mode,
) -> Result<(Vec<(Value, u64)>, PlanNode)> {
    // `Value`'s order makes `1` and `1.0` one group; a group's value is copied out only when
    // the group is first met.
    let mut counts: BTreeMap<Value, u64> = BTreeMap::new();
    let mut add = |value: &Value, n: u64| match counts.get_mut(value) {
        Some(count) => *count += n,
        None => {
            counts.insert(canonical(value.clone()), n);
        }
    };
    let covering = if plan.filter.is_none() {
        collection
            .indexes()?
            .into_iter()
            .find(|d| d.paths.first() == Some(by) && (d.paths.len() == 1 || !d.multikey))
    } else {
        None
    };
    let started = Instant::now();
    let mut node = match &covering {
        Some(index) => PlanNode::new(format!(
            "Group by {by} from index {} {} (no documents read)",
            index.name,
            if collection.state.counts_held() {
                "entries, counted while a load runs"
            } else {
                "group counts"
            }
        )),
        None => PlanNode::new(format!("Group by {by}")),
    };
    if let Some(index) = covering {
        if mode == Mode::Explain {
            return Ok((Vec::new(), node));
        }
        // The index keeps a count of its entries per leading value: one key per group.
        for (value, n) in collection.state.group_counts(&index)? {
            add(&value, n);
        }
    } else {
        let (stream, child) = filtered(collection, plan, filter_text, mode, None);
        node = node.child(child);
        if mode == Mode::Explain {
            return Ok((Vec::new(), node));
        }
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
    let mut groups: Vec<(Value, u64)> = counts.into_iter().collect();
    if mode == Mode::Analyze {
        record(&mut node, groups.len() as u64, started);
    }
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok((groups, node))
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

/// The documents the plan selects, with ids, after the filter (for updates/deletes), read one
/// at a time: whole, or with only the top-level fields in `fields` (a delete needs only what
/// its index entries are made of).
pub fn matching<'a>(
    collection: &'a Collection,
    plan: &Plan,
    fields: Option<&[String]>,
) -> impl Iterator<Item = Result<(u64, Value)>> + 'a {
    let state = &collection.state;
    let fields: Wanted = fields.map(Into::into);
    filtered(collection, plan, None, Mode::Run, None)
        .0
        .map(move |item| {
            let doc = item?;
            Ok((doc.id, doc.into_fields(state, fields.as_ref())?))
        })
}
