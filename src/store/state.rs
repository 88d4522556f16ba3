//! What every handle on one collection shares: its tree, its committed counters and index
//! definitions, the locks that order writers, and the batch counter readers check.
//!
//! Invariant: the metadata held here is what the last applied batch committed; writers change
//! it only through [`CollectionState::install_meta`] after their batch is applied. A
//! transaction works on a *view* of a collection (see [`CollectionState::view`]): the same
//! tree under the transaction's staged writes, with metadata of its own, installed in the
//! collection itself only when the transaction commits.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::de::DeserializeOwned;

use crate::codec::{CodecError, document, keycode, typed};
use crate::error::{Error, Result};
use crate::store::index::IndexDef;
use crate::store::layout;
use crate::store::staged::{Batch, Budget, Entries, Reader, Staged};
use crate::store::writers::{SharedWrite, Writers};
use crate::value::Value;

/// How many documents a backfill or a bulk removal writes per batch.
pub(in crate::store) const CHUNK: usize = 1000;
/// How many bytes of postings a text index backfill gathers in memory before it writes them
/// (whole blocks, one batch).
pub(in crate::store) const TEXT_BUILD_BYTES: usize = 64 << 20;

/// A collection's counters and index definitions, as last committed.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Meta {
    pub next_id: u64,
    pub next_index: u32,
    pub count: u64,
    /// Shared, so a plan holds the index it scans without copying it.
    pub indexes: Vec<Arc<IndexDef>>,
}

/// What every handle on one collection shares.
pub(crate) struct CollectionState {
    pub(in crate::store) name: String,
    pub(in crate::store) number: u32,
    pub(in crate::store) tree: sled::Tree,
    /// The database's write lock, which every writer shares and a transaction holds alone;
    /// `None` on a transaction's view, whose transaction holds it.
    writers: Option<Arc<Writers>>,
    /// The writes of the transaction this is a view for; `None` on the collection itself.
    staged: Option<Staged>,
    /// Serialises writers; readers never take it.
    write_lock: Mutex<()>,
    /// Held exclusively while a batch is applied, and shared by readers that must see whole
    /// batches (sled applies a batch atomically for crashes, but concurrent readers can see it
    /// half applied).
    gate: RwLock<()>,
    /// Moves on by one as a batch starts being applied and by one as it is done (odd while
    /// one is under way), so a reader can tell that no batch touched the collection between
    /// two of its loads: see [`CollectionState::batches`].
    batches: AtomicU64,
    /// True while a bulk load holds back its group-count changes until it ends: the stored
    /// counts are then those from before the load, not what its visible entries say.
    counts_held: AtomicBool,
    /// Shared so that reading it (every query plans with it) copies nothing.
    meta: RwLock<Arc<Meta>>,
    dropped: AtomicBool,
    /// The generation stored with the last batch applied (see [`layout::GENERATION_KEY`]).
    generation: AtomicU64,
}

std::thread_local! {
    /// The collections whose read gate this thread holds.
    static GATED: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A collection's read gate held by this thread (see [`CollectionState::read_gate`]).
pub struct WholeBatches<'a> {
    guard: Option<std::sync::RwLockReadGuard<'a, ()>>,
    key: usize,
}

impl Drop for WholeBatches<'_> {
    fn drop(&mut self) {
        if self.guard.is_some() {
            GATED.with(|gated| gated.borrow_mut().retain(|k| *k != self.key));
        }
    }
}

impl CollectionState {
    /// Loads a collection's metadata from its tree; its writers share `writers`.
    pub fn load(
        name: String,
        number: u32,
        tree: sled::Tree,
        writers: Arc<Writers>,
    ) -> Result<CollectionState> {
        let read_u64 = |key: &[u8], default: u64| -> Result<u64> {
            match tree.get(key)? {
                None => Ok(default),
                Some(bytes) => layout::read_u64(&bytes).ok_or_else(|| {
                    Error::Corrupt(format!("collection `{name}`: bad counter {key:?}"))
                }),
            }
        };
        let next_id = read_u64(layout::NEXT_ID_KEY, 1)?;
        let count = read_u64(layout::COUNT_KEY, 0)?;
        let generation = read_u64(layout::GENERATION_KEY, 0)?;
        let next_index = match tree.get(layout::NEXT_INDEX_KEY)? {
            None => 1,
            Some(bytes) => layout::read_u32(&bytes)
                .ok_or_else(|| Error::Corrupt(format!("collection `{name}`: bad index counter")))?,
        };
        let mut indexes = Vec::new();
        for item in tree.scan_prefix(layout::INDEX_DEF_PREFIX) {
            let (_, bytes) = item?;
            let def: IndexDef = crate::store::index::decode_def(&bytes).map_err(|e| {
                Error::Corrupt(format!("collection `{name}`: index definition: {e}"))
            })?;
            indexes.push(Arc::new(def));
        }
        Ok(CollectionState {
            name,
            number,
            tree,
            writers: Some(writers),
            staged: None,
            write_lock: Mutex::new(()),
            gate: RwLock::new(()),
            batches: AtomicU64::new(0),
            counts_held: AtomicBool::new(false),
            meta: RwLock::new(Arc::new(Meta {
                next_id,
                next_index,
                count,
                indexes,
            })),
            dropped: AtomicBool::new(false),
            generation: AtomicU64::new(generation),
        })
    }

    /// A view of the collection for a transaction that holds the database's write lock: its
    /// reads see the tree under the writes the transaction stages, its writes are staged
    /// (counted against `budget`) instead of applied.
    pub fn view(&self, budget: Arc<Budget>) -> CollectionState {
        CollectionState {
            name: self.name.clone(),
            number: self.number,
            tree: self.tree.clone(),
            writers: None,
            staged: Some(Staged::new(budget)),
            write_lock: Mutex::new(()),
            gate: RwLock::new(()),
            batches: AtomicU64::new(0),
            counts_held: AtomicBool::new(self.counts_held()),
            meta: RwLock::new(self.meta()),
            dropped: AtomicBool::new(false),
            // A view stages; its base stamps the batches that commit it.
            generation: AtomicU64::new(0),
        }
    }

    /// Whether this is a transaction's view.
    pub(in crate::store) fn is_view(&self) -> bool {
        self.staged.is_some()
    }

    /// Ends a transaction's view, under its write lock so that no write through a handle on
    /// another thread lands after it: every write it staged, and its handles and reads fail
    /// from now on. Empty on the collection itself.
    pub(in crate::store) fn close_view(&self) -> crate::store::staged::StagedMap {
        let _writes = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.mark_dropped();
        self.staged.as_ref().map(Staged::close).unwrap_or_default()
    }

    /// An empty batch of the kind [`CollectionState::apply`] takes here.
    pub(in crate::store) fn batch(&self) -> Batch {
        match self.staged {
            Some(_) => Batch::Staged(Default::default()),
            None => Batch::Direct(sled::Batch::default()),
        }
    }

    /// A reader of the tree as this collection (or view) holds it.
    pub(in crate::store) fn reader(&self) -> Reader {
        match &self.staged {
            Some(staged) => staged.reader(&self.tree),
            None => Reader::tree(&self.tree),
        }
    }

    /// The value of `key`, as the transaction of a view would leave it.
    pub(in crate::store) fn get_key(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        match &self.staged {
            Some(_) => self.reader().get(key),
            None => Ok(self.tree.get(key)?),
        }
    }

    /// The entries whose keys start with `prefix`, in key order (backwards with `reverse`),
    /// as the transaction of a view would leave them.
    pub(in crate::store) fn prefixed(&self, prefix: &[u8], reverse: bool) -> Entries {
        self.reader().prefixed(prefix, reverse)
    }

    /// The committed metadata.
    pub fn meta(&self) -> Arc<Meta> {
        self.meta.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the metadata after a successful commit.
    pub fn install_meta(&self, meta: Meta) {
        *self.meta.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(meta);
    }

    /// Applies a batch so that gated readers see all of it or none of it: to the tree, or,
    /// on a transaction's view, to its staged writes.
    pub fn apply(&self, batch: Batch) -> Result<()> {
        self.refuse_if_damaged()?;
        self.while_applying(|| match (batch, &self.staged) {
            (Batch::Direct(mut batch), None) => {
                let generation = self.stamp(&mut batch);
                self.tree.apply_batch(batch)?;
                self.generation.store(generation, Ordering::SeqCst);
                Ok(())
            }
            (Batch::Staged(writes), Some(staged)) => staged.merge(writes),
            _ => Err(Error::Storage(
                "a batch was applied to the wrong kind of collection".into(),
            )),
        })
    }

    /// Writes one key outside any batch: only for what no reader relies on until a later
    /// batch publishes it (a text index backfill's posting blocks; see
    /// [`crate::store::text::TextBuild`]). sled logs large values written one at a time with
    /// far less rewriting than the same values in one batch.
    pub(in crate::store) fn put_unbatched(&self, key: &[u8], value: Vec<u8>) -> Result<()> {
        self.refuse_if_damaged()?;
        self.while_applying(|| match &self.staged {
            None => Ok(self.tree.insert(key, value).map(drop)?),
            Some(_) => Err(Error::Storage(
                "a key was written outside a batch in a transaction".into(),
            )),
        })
    }

    /// Fails once sled has failed on the database's damage (see `damage`): the one write
    /// path checks it as it writes, so a writer that waited for the failing one writes
    /// nothing either.
    fn refuse_if_damaged(&self) -> Result<()> {
        match &self.writers {
            Some(writers) => writers.refuse_if_damaged(),
            None => Ok(()),
        }
    }

    /// Adds the next generation to `batch`, which is to be applied to the tree while batches
    /// are kept out; the generation to record once it is.
    pub(in crate::store) fn stamp(&self, batch: &mut sled::Batch) -> u64 {
        let next = self.generation.load(Ordering::SeqCst) + 1;
        batch.insert(layout::GENERATION_KEY, &next.to_be_bytes());
        next
    }

    /// Records the generation of a batch [`CollectionState::stamp`] stamped, once applied.
    pub(in crate::store) fn stamped(&self, generation: u64) {
        self.generation.store(generation, Ordering::SeqCst);
    }

    /// The generation of the last batch applied.
    pub(in crate::store) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Runs `apply` as a batch is applied: gated readers wait, and the batch counter shows a
    /// batch under way.
    pub(in crate::store) fn while_applying<T>(&self, apply: impl FnOnce() -> T) -> T {
        /// Shows the batch done when dropped, also when `apply` panics (sled's, on a damaged
        /// store), so the counter is never left odd.
        struct Applied<'a>(&'a AtomicU64);
        impl Drop for Applied<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let _exclusive = self.gate.write().unwrap_or_else(|e| e.into_inner());
        self.batches.fetch_add(1, Ordering::SeqCst);
        let _applied = Applied(&self.batches);
        apply()
    }

    /// The batch counter, a sequence lock for readers that take no lock: when two loads of it
    /// return the same even number, no batch was applied, even in part, between them, so
    /// everything read from the tree in between comes from one state of the collection.
    pub(in crate::store) fn batches(&self) -> u64 {
        self.batches.load(Ordering::SeqCst)
    }

    /// Keeps batches out while the guard lives: for reads that must see whole batches
    /// (counting index keys, a count or groups over documents). A thread that holds it
    /// already gets a guard that holds nothing, so reads that take it nest (taking the lock
    /// twice would wait forever behind a waiting writer).
    pub fn read_gate(&self) -> WholeBatches<'_> {
        let key = self as *const CollectionState as usize;
        if GATED.with(|gated| gated.borrow().contains(&key)) {
            return WholeBatches { guard: None, key };
        }
        let guard = self.gate.read().unwrap_or_else(|e| e.into_inner());
        GATED.with(|gated| gated.borrow_mut().push(key));
        WholeBatches {
            guard: Some(guard),
            key,
        }
    }

    /// Says whether a bulk load is holding back its group-count changes. Set it before the
    /// load's first batch and clear it after the batch that applies them: a reader that checks
    /// it while holding [`CollectionState::read_gate`] and finds it clear may trust the counts.
    pub fn hold_counts(&self, held: bool) {
        self.counts_held.store(held, Ordering::SeqCst);
    }

    /// Whether the stored group counts may lag the entries (see
    /// [`CollectionState::hold_counts`]).
    pub fn counts_held(&self) -> bool {
        self.counts_held.load(Ordering::SeqCst)
    }

    /// How many entries `index` has whose leading value is `value`, from its stored group
    /// count (one read); `None` while a bulk load holds the counts back.
    pub fn group_count(&self, index: &IndexDef, value: &Value) -> Result<Option<u64>> {
        if self.counts_held() {
            return Ok(None);
        }
        let mut key = layout::group_prefix(index.number).to_vec();
        keycode::encode_value(value, &mut key);
        match self.reader().get(&key)? {
            None => Ok(Some(0)),
            Some(bytes) => Ok(layout::read_u64(&bytes)),
        }
    }

    /// How many entries `index` has per leading value, in value order, from whole batches: its
    /// stored group counts, or, while a bulk load holds back its changes to them, its entries
    /// counted.
    pub fn group_counts(&self, index: &IndexDef) -> Result<Vec<(Value, u64)>> {
        let prefix = layout::group_prefix(index.number);
        let value = |key: &[u8]| {
            keycode::decode_value(&key[prefix.len()..])
                .map(|(value, _)| value)
                .map_err(|e| Error::Corrupt(e.to_string()))
        };
        let _whole_batches = self.read_gate();
        if self.counts_held() {
            return index
                .count_groups(&self.reader())?
                .into_iter()
                .map(|(key, n)| Ok((value(&key)?, n)))
                .collect();
        }
        self.prefixed(&prefix, false)
            .map(|item| {
                let (key, count) = item?;
                let n = layout::read_u64(&count)
                    .ok_or_else(|| Error::Corrupt(format!("unreadable group count {key:?}")))?;
                Ok((value(&key)?, n))
            })
            .collect()
    }

    /// The lowest and highest leading value `index` holds other than null, from whole
    /// batches: two reads of its group counts (all of them while a bulk load holds them back).
    /// For an index that is not multikey, these are `min` and `max` of its leading path.
    pub fn index_ends(&self, index: &IndexDef) -> Result<(Option<Value>, Option<Value>)> {
        let prefix = layout::group_prefix(index.number);
        let value = |key: &[u8]| {
            keycode::decode_value(&key[prefix.len()..])
                .map(|(value, _)| value)
                .map_err(|e| Error::Corrupt(e.to_string()))
        };
        let not_null = |v: &Value| !matches!(v, Value::Null);
        let _whole_batches = self.read_gate();
        if self.counts_held() {
            drop(_whole_batches);
            let counts = self.group_counts(index)?;
            let values: Vec<Value> = counts
                .into_iter()
                .map(|(v, _)| v)
                .filter(not_null)
                .collect();
            return Ok((values.first().cloned(), values.last().cloned()));
        }
        // Null is the lowest value: the lowest other value is first or second.
        let mut low = None;
        for item in self.prefixed(&prefix, false).take(2) {
            let found = value(&item?.0)?;
            if not_null(&found) {
                low = Some(found);
                break;
            }
        }
        let high = match self.prefixed(&prefix, true).next() {
            Some(item) => Some(value(&item?.0)?).filter(not_null),
            None => None,
        };
        Ok((low, high))
    }

    /// Takes the write lock (and a share of the database's), failing if the collection was
    /// dropped meanwhile.
    pub fn lock_writes(&self) -> Result<WriteGuard<'_>> {
        let database = self.writers.as_ref().map(|w| w.share()).transpose()?;
        let collection = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.ensure_live()?;
        Ok(WriteGuard {
            _collection: collection,
            _database: database,
        })
    }

    /// Fails if the collection was dropped, or if this is a view of a transaction that ended.
    pub fn ensure_live(&self) -> Result<()> {
        if self.dropped.load(Ordering::Acquire) && self.staged.is_some() {
            Err(Error::Transaction(format!(
                "this handle on `{}` belongs to a transaction that has ended: take a new one",
                self.name
            )))
        } else if self.dropped.load(Ordering::Acquire) {
            Err(Error::NotFound(format!(
                "collection `{}` not found",
                self.name
            )))
        } else {
            Ok(())
        }
    }

    /// Marks the collection dropped (or a view's transaction ended); handles still held fail
    /// from now on.
    pub fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    /// Reads and decodes document `id`, with `_id` as its first field.
    pub fn read(&self, id: u64) -> Result<Option<Value>> {
        match self.read_stored(id)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(self.decode(id, &bytes)?)),
        }
    }

    /// Decodes a stored document.
    pub fn decode(&self, id: u64, bytes: &[u8]) -> Result<Value> {
        document::decode_document(bytes, Some(id)).map_err(|e| self.unreadable(id, e))
    }

    /// Reads a stored document straight into a `T` (see [`crate::codec::typed`]), `_id`
    /// first.
    pub fn decode_as<T: DeserializeOwned>(&self, id: u64, bytes: &[u8]) -> Result<T> {
        typed::from_stored(bytes, Some(id)).map_err(|e| self.unreadable(id, e))
    }

    /// Decodes a stored document whole (`fields` `None`) or only its top-level fields in
    /// `fields`, with `_id` first, moving in the fields of `decoded` (decoded from the same
    /// bytes before) instead of decoding them again.
    pub fn decode_more(
        &self,
        id: u64,
        bytes: &[u8],
        fields: Option<&[String]>,
        decoded: crate::value::Map,
    ) -> Result<Value> {
        document::decode_more_fields(bytes, Some(id), fields, decoded)
            .map_err(|e| self.unreadable(id, e))
    }

    /// Why document `id` could not be read: it does not fit the type asked for, or its bytes
    /// are damaged.
    fn unreadable(&self, id: u64, err: CodecError) -> Error {
        match err {
            CodecError::Convert(what) => Error::Conversion(format!("document {id}: {what}")),
            other => Error::Corrupt(format!(
                "document {id} of collection `{}`: {other}",
                self.name
            )),
        }
    }

    /// The top-level fields the collection's index entries are made of: all a document's
    /// entries can be computed from a decode of just these. `None` when an index path does
    /// not start with a field name.
    pub fn indexed_fields(&self) -> Option<Vec<String>> {
        crate::path::Path::heads(self.meta().indexes.iter().flat_map(|d| &d.paths))
    }
}

/// A writer's hold on a collection: its own lock and a share of the database's.
pub(crate) struct WriteGuard<'a> {
    _collection: MutexGuard<'a, ()>,
    _database: Option<SharedWrite<'a>>,
}
