//! What every handle on one collection shares: its tree, its committed counters and index
//! definitions, the locks that order writers, and the batch counter readers check.
//!
//! Invariant: the metadata held here is what the last applied batch committed; writers change
//! it only through [`CollectionState::install_meta`] after their batch is applied.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::de::DeserializeOwned;

use crate::codec::{self, CodecError, document, keycode, typed};
use crate::error::{Error, Result};
use crate::store::index::IndexDef;
use crate::store::layout;
use crate::value::Value;

/// How many documents a backfill or a bulk removal writes per batch.
pub(in crate::store) const CHUNK: usize = 1000;

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
}

impl CollectionState {
    /// Loads a collection's metadata from its tree.
    pub fn load(name: String, number: u32, tree: sled::Tree) -> Result<CollectionState> {
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
        let next_index = match tree.get(layout::NEXT_INDEX_KEY)? {
            None => 1,
            Some(bytes) => layout::read_u32(&bytes)
                .ok_or_else(|| Error::Corrupt(format!("collection `{name}`: bad index counter")))?,
        };
        let mut indexes = Vec::new();
        for item in tree.scan_prefix(layout::INDEX_DEF_PREFIX) {
            let (_, bytes) = item?;
            let def: IndexDef = codec::decode_record(&bytes).map_err(|e| {
                Error::Corrupt(format!("collection `{name}`: index definition: {e}"))
            })?;
            indexes.push(Arc::new(def));
        }
        Ok(CollectionState {
            name,
            number,
            tree,
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
        })
    }

    /// The committed metadata.
    pub fn meta(&self) -> Arc<Meta> {
        self.meta.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the metadata after a successful commit.
    pub fn install_meta(&self, meta: Meta) {
        *self.meta.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(meta);
    }

    /// Applies a batch so that gated readers see all of it or none of it.
    pub fn apply(&self, batch: sled::Batch) -> Result<()> {
        let _exclusive = self.gate.write().unwrap_or_else(|e| e.into_inner());
        self.batches.fetch_add(1, Ordering::SeqCst);
        let applied = self.tree.apply_batch(batch);
        self.batches.fetch_add(1, Ordering::SeqCst);
        Ok(applied?)
    }

    /// The batch counter, a sequence lock for readers that take no lock: when two loads of it
    /// return the same even number, no batch was applied, even in part, between them, so
    /// everything read from the tree in between comes from one state of the collection.
    pub(in crate::store) fn batches(&self) -> u64 {
        self.batches.load(Ordering::SeqCst)
    }

    /// Keeps batches out while the guard lives: for reads that must see whole batches
    /// (counting index keys).
    pub fn read_gate(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(|e| e.into_inner())
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
                .count_groups(&self.tree)?
                .into_iter()
                .map(|(key, n)| Ok((value(&key)?, n)))
                .collect();
        }
        self.tree
            .scan_prefix(prefix)
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
        for item in self.tree.scan_prefix(prefix).take(2) {
            let found = value(&item?.0)?;
            if not_null(&found) {
                low = Some(found);
                break;
            }
        }
        let high = match self.tree.scan_prefix(prefix).next_back() {
            Some(item) => Some(value(&item?.0)?).filter(not_null),
            None => None,
        };
        Ok((low, high))
    }

    /// Takes the write lock, failing if the collection was dropped meanwhile.
    pub fn lock_writes(&self) -> Result<MutexGuard<'_, ()>> {
        let guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.ensure_live()?;
        Ok(guard)
    }

    /// Fails if the collection was dropped.
    pub fn ensure_live(&self) -> Result<()> {
        if self.dropped.load(Ordering::Acquire) {
            Err(Error::NotFound(format!(
                "collection `{}` not found",
                self.name
            )))
        } else {
            Ok(())
        }
    }

    /// Marks the collection dropped; handles still held fail from now on.
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
