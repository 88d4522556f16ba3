//! A collection: its documents, its indexes and the typed API over them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{self, CodecError, document, keycode, typed};
use crate::error::{Error, Result};
use crate::store::index::{self, IndexDef, IndexState};
use crate::store::layout;
use crate::store::write::{Writer, prepare_document};
use crate::store::{Db, DbInner};
use crate::value::{Value, to_value};

/// How many documents a backfill or a bulk removal writes per batch.
const CHUNK: usize = 1000;

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

    /// Finishes what a crash interrupted: an unfinished import is rolled back, indexes half
    /// built or half dropped are removed.
    pub fn recover(&self) -> Result<()> {
        let _guard = self.lock_writes()?;
        crate::store::bulk::roll_back(self)?;
        let unfinished: Vec<u32> = self
            .meta()
            .indexes
            .iter()
            .filter(|d| d.state != IndexState::Ready)
            .map(|d| d.number)
            .collect();
        for number in unfinished {
            self.remove_index(number)?;
        }
        Ok(())
    }

    /// Deletes every entry of index `number`, then its definition. Call with the write lock.
    fn remove_index(&self, number: u32) -> Result<()> {
        let mut writer = Writer::new(self);
        if let Some(def) = writer
            .meta_mut()
            .indexes
            .iter_mut()
            .find(|d| d.number == number)
        {
            Arc::make_mut(def).state = IndexState::Dropping;
        }
        writer.commit()?;
        self.clear_entries(number)?;
        let mut writer = Writer::new(self);
        writer.meta_mut().indexes.retain(|d| d.number != number);
        writer.commit()
    }

    /// Deletes every entry and group count of index `number`, in batches. Call with the
    /// write lock.
    fn clear_entries(&self, number: u32) -> Result<()> {
        self.remove_prefix(&layout::entry_prefix(number))?;
        self.remove_prefix(&layout::group_prefix(number))
    }

    /// Brings a collection written by format 1 or 2 to the key layout of format 3: rewrites
    /// its index entries and group counts under their new prefixes, counting the groups from
    /// the entries where format 1 wrote none, then marks the collection as converted and
    /// deletes the old keys. Run before [`CollectionState::recover`], which reads the new
    /// layout. A crash anywhere in it leaves what the next open redoes: before the mark, the
    /// old keys are intact and the new ones are written again from them; after it, only the
    /// old keys' deletion is left.
    pub fn upgrade(&self) -> Result<()> {
        let _guard = self.lock_writes()?;
        if self.tree.get(layout::LAYOUT_KEY)?.is_none() {
            for prefix in [layout::ENTRY_PREFIX, layout::GROUP_PREFIX] {
                self.remove_prefix(&[prefix])?;
            }
            self.convert_old_keys(layout::OLD_ENTRY_PREFIX)?;
            let groups = self.convert_old_keys(layout::OLD_GROUP_PREFIX)?;
            let counts_held = match self.tree.get(layout::JOURNAL_KEY)? {
                Some(journal) => layout::read_journal(&journal).is_some_and(|(_, held)| held),
                None => false,
            };
            if groups == 0 && !counts_held {
                for def in &self.meta().indexes {
                    let counts = def.count_groups(&self.tree)?;
                    for chunk in counts.into_iter().collect::<Vec<_>>().chunks(CHUNK * 10) {
                        let mut writer = Writer::new(self);
                        for (key, count) in chunk {
                            writer.put_raw(key, count.to_be_bytes().to_vec());
                        }
                        writer.commit_unchecked()?;
                    }
                }
            }
            self.tree
                .insert(layout::LAYOUT_KEY, &layout::LAYOUT_VERSION.to_be_bytes())?;
        }
        for prefix in [layout::OLD_ENTRY_PREFIX, layout::OLD_GROUP_PREFIX] {
            self.remove_prefix(&[prefix])?;
        }
        Ok(())
    }

    /// Writes every old-layout key of one kind (`"i"`/`"g"` `<u32 index number>` ...) again
    /// in the new layout, with its value; returns how many there were. An old key too short to
    /// be one is left out (`check` then reports the entry its document misses).
    fn convert_old_keys(&self, old_kind: u8) -> Result<usize> {
        let mut converted = 0;
        let mut writer = Writer::new(self);
        for item in self.tree.scan_prefix([old_kind]) {
            let (key, value) = item?;
            let Some(number) = key.get(1..5).and_then(layout::read_u32) else {
                continue;
            };
            let new_key = if old_kind == layout::OLD_ENTRY_PREFIX {
                let Some(split) = key.len().checked_sub(8).filter(|&at| at >= 5) else {
                    continue;
                };
                let Some(id) = layout::read_u64(&key[split..]) else {
                    continue;
                };
                let mut new_key = layout::entry_prefix(number).to_vec();
                new_key.extend_from_slice(&key[5..split]);
                keycode::append_id(id, &mut new_key);
                new_key
            } else {
                [&layout::group_prefix(number)[..], &key[5..]].concat()
            };
            writer.put_raw(&new_key, value.to_vec());
            converted += 1;
            if converted % (CHUNK * 10) == 0 {
                std::mem::replace(&mut writer, Writer::new(self)).commit_unchecked()?;
            }
        }
        writer.commit_unchecked()?;
        Ok(converted)
    }

    /// Deletes every key starting with `prefix`, in batches. Call with the write lock.
    fn remove_prefix(&self, prefix: &[u8]) -> Result<()> {
        loop {
            let keys: Vec<sled::IVec> = self
                .tree
                .scan_prefix(prefix)
                .keys()
                .take(CHUNK * 10)
                .collect::<std::result::Result<_, _>>()?;
            if keys.is_empty() {
                return Ok(());
            }
            let mut writer = Writer::new(self);
            keys.iter().for_each(|k| writer.remove_key(k));
            writer.commit()?;
        }
    }
}

/// A handle on one collection of a [`Db`]. Cheap to clone; all handles share one state.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quarry::Db::open(dir.path().join("x.db"))?;
/// let people = db.collection("people")?;
/// let id = people.insert(&serde_json::json!({"name": "Ada"}))?;
/// let ada: serde_json::Value = people.get(id)?.unwrap();
/// assert_eq!(ada, serde_json::json!({"_id": id, "name": "Ada"}));
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Clone)]
pub struct Collection {
    pub(crate) db: Db,
    pub(crate) state: Arc<CollectionState>,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("name", &self.state.name)
            .finish()
    }
}

fn to_document<T: Serialize + ?Sized>(doc: &T) -> Result<Value> {
    prepare_document(to_value(doc)?)
}

impl Collection {
    /// The collection's name.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// assert_eq!(db.collection("notes")?.name(), "notes");
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// Stores a document (any serde type that serialises to an object) and returns its new id.
    /// An `_id` field in it is ignored: ids are assigned, from 1, never reused.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let notes = db.collection("notes")?;
    /// assert_eq!(notes.insert(&serde_json::json!({"text": "hi"}))?, 1);
    /// assert!(notes.insert(&42).is_err()); // not an object
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn insert<T: Serialize + ?Sized>(&self, doc: &T) -> Result<u64> {
        let doc = to_document(doc)?;
        let _guard = self.state.lock_writes()?;
        let mut writer = Writer::new(&self.state);
        let id = writer.insert(&doc)?;
        writer.commit()?;
        Ok(id)
    }

    /// Stores many documents in one atomic batch: all of them, or none when one is invalid or
    /// breaks a unique index. Returns their ids in order.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let notes = db.collection("notes")?;
    /// let ids = notes.insert_many([serde_json::json!({"n": 1}), serde_json::json!({"n": 2})])?;
    /// assert_eq!(ids, vec![1, 2]);
    /// assert!(notes.insert_many([serde_json::json!({"n": 3}), serde_json::json!(null)]).is_err());
    /// assert_eq!(notes.len()?, 2);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn insert_many<T: Serialize, I: IntoIterator<Item = T>>(
        &self,
        docs: I,
    ) -> Result<Vec<u64>> {
        let docs: Vec<Value> = docs
            .into_iter()
            .map(|d| to_document(&d))
            .collect::<Result<_>>()?;
        self.insert_values(&docs)
    }

    /// Stores prepared documents in one batch (used by `insert_many` and the executor).
    pub(crate) fn insert_values(&self, docs: &[Value]) -> Result<Vec<u64>> {
        let _guard = self.state.lock_writes()?;
        let mut writer = Writer::new(&self.state);
        let ids = docs
            .iter()
            .map(|doc| writer.insert(doc))
            .collect::<Result<Vec<u64>>>()?;
        writer.commit()?;
        Ok(ids)
    }

    /// Reads document `id` as `T`; `None` when there is none. The document carries its id as
    /// the field `_id`, which `T` may declare or ignore.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Note { _id: u64, text: String }
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let notes = db.collection("notes")?;
    /// let id = notes.insert(&serde_json::json!({"text": "hi"}))?;
    /// let note: Note = notes.get(id)?.unwrap();
    /// assert_eq!((note._id, note.text.as_str()), (id, "hi"));
    /// assert!(notes.get::<Note>(999)?.is_none());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn get<T: DeserializeOwned>(&self, id: u64) -> Result<Option<T>> {
        self.state.ensure_live()?;
        match self.state.read_stored(id)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(self.state.decode_as(id, &bytes)?)),
        }
    }

    /// Reads document `id` as a [`Value`], with `_id` first.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let notes = db.collection("notes")?;
    /// let id = notes.insert(&serde_json::json!({"text": "hi"}))?;
    /// assert_eq!(notes.get_value(id)?.unwrap().to_string(), r#"{"_id":1,"text":"hi"}"#);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn get_value(&self, id: u64) -> Result<Option<Value>> {
        self.state.ensure_live()?;
        self.state.read(id)
    }

    /// Replaces document `id` with `doc`, keeping its id. [`Error::NotFound`] when there is no
    /// such document; nothing is written when the new document breaks a unique index.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let notes = db.collection("notes")?;
    /// let id = notes.insert(&serde_json::json!({"text": "hi"}))?;
    /// notes.update(id, &serde_json::json!({"text": "bye"}))?;
    /// assert_eq!(notes.get_value(id)?.unwrap().get("text").unwrap().as_str(), Some("bye"));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn update<T: Serialize + ?Sized>(&self, id: u64, doc: &T) -> Result<()> {
        let doc = to_document(doc)?;
        let _guard = self.state.lock_writes()?;
        let old = self.state.read(id)?.ok_or_else(|| self.missing(id))?;
        let mut writer = Writer::new(&self.state);
        writer.replace(id, &old, &doc)?;
        writer.commit()
    }

    /// Deletes document `id` and its index entries; `false` when there was no such document.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let notes = db.collection("notes")?;
    /// let id = notes.insert(&serde_json::json!({"text": "hi"}))?;
    /// assert!(notes.delete(id)?);
    /// assert!(!notes.delete(id)?);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn delete(&self, id: u64) -> Result<bool> {
        let _guard = self.state.lock_writes()?;
        let Some(old) = self.state.read(id)? else {
            return Ok(false);
        };
        let mut writer = Writer::new(&self.state);
        writer.remove(id, &old)?;
        writer.commit()?;
        Ok(true)
    }

    /// How many documents the collection holds (kept as a counter: no scan).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// assert_eq!(db.collection("notes")?.len()?, 0);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn len(&self) -> Result<u64> {
        self.state.ensure_live()?;
        Ok(self.state.meta().count)
    }

    /// Whether the collection holds no document.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// assert!(db.collection("notes")?.is_empty()?);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Every document in id order, each as `(id, document)` with `_id` in the document.
    /// Documents are read lazily, one at a time.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let notes = db.collection("notes")?;
    /// notes.insert_many([serde_json::json!({"n": 1}), serde_json::json!({"n": 2})])?;
    /// let ids: Vec<u64> = notes.iter().map(|d| d.map(|(id, _)| id)).collect::<Result<_, _>>()?;
    /// assert_eq!(ids, vec![1, 2]);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn iter(&self) -> Documents {
        Documents {
            state: self.state.clone(),
            inner: Box::new(self.state.stored_documents()),
        }
    }

    /// Creates an index on up to four paths (`["org", "year"]`, `["author.name"]`), filling
    /// it from the documents already stored, and returns its name. Creating an index that
    /// already exists returns the existing one's name.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let articles = db.collection("articles")?;
    /// assert_eq!(articles.create_index(&["org", "year"])?, "articles_org_year");
    /// assert_eq!(articles.create_index(&["org", "year"])?, "articles_org_year");
    /// assert!(articles.create_index(&["a", "b", "c", "d", "e"]).is_err());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn create_index(&self, paths: &[&str]) -> Result<String> {
        self.create_index_with(paths, false)
    }

    /// Creates a unique index: no two documents may share its value (documents where it is
    /// null or missing are exempt). Fails, leaving no index behind, when the documents
    /// already stored break the rule.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let people = db.collection("people")?;
    /// people.create_unique_index(&["email"])?;
    /// people.insert(&serde_json::json!({"email": "a@x.org"}))?;
    /// let err = people.insert(&serde_json::json!({"email": "a@x.org"})).unwrap_err();
    /// assert!(matches!(err, quarry::Error::UniqueViolation { .. }));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn create_unique_index(&self, paths: &[&str]) -> Result<String> {
        self.create_index_with(paths, true)
    }

    /// Creates an index, unique or not (see [`Collection::create_index`]).
    pub fn create_index_with(&self, paths: &[&str], unique: bool) -> Result<String> {
        let paths = index::parse_index_paths(paths)?;
        let _guard = self.state.lock_writes()?;
        let meta = self.state.meta();
        if let Some(existing) = meta
            .indexes
            .iter()
            .find(|d| d.paths == paths && d.is_ready())
        {
            if existing.unique == unique {
                return Ok(existing.name.clone());
            }
            return Err(Error::InvalidIndex(format!(
                "index `{}` on ({}) already exists and is {}unique; drop it first",
                existing.name,
                existing.paths_text(),
                if existing.unique { "" } else { "not " }
            )));
        }
        let name = self
            .db
            .inner
            .free_index_name(&index::default_index_name(&self.state.name, &paths));
        let number = meta.next_index;
        let mut writer = Writer::new(&self.state);
        let meta = writer.meta_mut();
        meta.next_index += 1;
        meta.indexes.push(Arc::new(IndexDef {
            name: name.clone(),
            collection: self.state.name.clone(),
            paths,
            unique,
            multikey: false,
            number,
            state: IndexState::Building,
        }));
        writer.commit()?;
        if let Err(err) = self.backfill(number) {
            self.state.remove_index(number)?;
            return Err(err);
        }
        let mut writer = Writer::new(&self.state);
        if let Some(def) = writer
            .meta_mut()
            .indexes
            .iter_mut()
            .find(|d| d.number == number)
        {
            Arc::make_mut(def).state = IndexState::Ready;
        }
        writer.commit()?;
        Ok(name)
    }

    /// Writes the entries of every stored document into index `number`, a chunk at a time.
    fn backfill(&self, number: u32) -> Result<()> {
        let mut next = layout::doc_key(0).to_vec();
        let end = [layout::DOC_PREFIX + 1];
        loop {
            let chunk: Vec<(sled::IVec, sled::IVec)> = self
                .state
                .tree
                .range(next.as_slice()..&end[..])
                .take(CHUNK)
                .collect::<std::result::Result<_, _>>()?;
            let Some((last, _)) = chunk.last() else {
                return Ok(());
            };
            next = last.to_vec();
            next.push(0);
            let mut writer = Writer::new(&self.state);
            let position = writer
                .meta()
                .indexes
                .iter()
                .position(|d| d.number == number)
                .ok_or_else(|| Error::NotFound(format!("index number {number} not found")))?;
            for (key, bytes) in &chunk {
                let id = layout::doc_id(key)
                    .ok_or_else(|| Error::Corrupt(format!("bad document key {key:?}")))?;
                let doc = document::decode_document(bytes, None).map_err(|e| {
                    Error::Corrupt(format!(
                        "document {id} of collection `{}`: {e}",
                        self.state.name
                    ))
                })?;
                writer.add_index_entries(position, id, &doc)?;
            }
            writer.commit()?;
        }
    }

    /// Drops index `name` of this collection and every entry of it.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let articles = db.collection("articles")?;
    /// let name = articles.create_index(&["org"])?;
    /// articles.drop_index(&name)?;
    /// assert!(articles.indexes()?.is_empty());
    /// assert!(articles.drop_index(&name).is_err());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn drop_index(&self, name: &str) -> Result<()> {
        let _guard = self.state.lock_writes()?;
        let number = self
            .state
            .meta()
            .indexes
            .iter()
            .find(|d| d.name == name && d.is_ready())
            .map(|d| d.number)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "index `{name}` not found on collection `{}`",
                    self.state.name
                ))
            })?;
        self.state.remove_index(number)
    }

    /// The collection's indexes, in the order they were created.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// let c = db.collection("c")?;
    /// c.create_index(&["a"])?;
    /// c.create_unique_index(&["b"])?;
    /// let names: Vec<String> = c.indexes()?.into_iter().map(|i| i.name).collect();
    /// assert_eq!(names, ["c_a", "c_b"]);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn indexes(&self) -> Result<Vec<IndexDef>> {
        self.state.ensure_live()?;
        Ok(self
            .state
            .meta()
            .indexes
            .iter()
            .filter(|d| d.is_ready())
            .map(|d| IndexDef::clone(d))
            .collect())
    }

    /// Rebuilds every index from the documents and corrects the counters (for
    /// [`Db::repair`]). Returns what could not be rebuilt; such an index is dropped.
    pub(crate) fn rebuild(&self) -> Result<Vec<String>> {
        let _guard = self.state.lock_writes()?;
        let mut failures = Vec::new();
        let mut count = 0u64;
        let mut max_id = 0u64;
        for key in self.state.tree.scan_prefix([layout::DOC_PREFIX]).keys() {
            if let Some(id) = layout::doc_id(&key?) {
                count += 1;
                max_id = max_id.max(id);
            }
        }
        // Entries of numbers no index has any more (left by damage) go first.
        let known: Vec<u32> = self.state.meta().indexes.iter().map(|d| d.number).collect();
        let mut strays = Vec::new();
        for prefix in [layout::ENTRY_PREFIX, layout::GROUP_PREFIX] {
            for key in self.state.tree.scan_prefix([prefix]).keys() {
                let key = key?;
                let number = layout::index_number(&key).map(|(number, _)| number);
                if !number.is_some_and(|n| known.contains(&n)) {
                    strays.push(key);
                }
            }
        }
        for chunk in strays.chunks(CHUNK * 10) {
            let mut writer = Writer::new(&self.state);
            chunk.iter().for_each(|k| writer.remove_key(k));
            writer.commit()?;
        }
        for def in self.state.meta().indexes.clone() {
            self.state.clear_entries(def.number)?;
            let mut writer = Writer::new(&self.state);
            if let Some(d) = writer
                .meta_mut()
                .indexes
                .iter_mut()
                .find(|d| d.number == def.number)
            {
                Arc::make_mut(d).multikey = false;
            }
            writer.commit()?;
            if let Err(err) = self.backfill(def.number) {
                failures.push(format!(
                    "index `{}` could not be rebuilt and was dropped: {err}",
                    def.name
                ));
                self.state.remove_index(def.number)?;
            }
        }
        let mut writer = Writer::new(&self.state);
        let meta = writer.meta_mut();
        meta.count = count;
        meta.next_id = meta.next_id.max(max_id + 1);
        writer.commit()?;
        Ok(failures)
    }

    fn missing(&self, id: u64) -> Error {
        Error::NotFound(format!(
            "document {id} not found in collection `{}`",
            self.state.name
        ))
    }
}

/// The documents of a collection in id order; see [`Collection::iter`].
pub struct Documents {
    state: Arc<CollectionState>,
    inner: Box<dyn Iterator<Item = Result<(u64, crate::store::Stored)>> + Send>,
}

impl Iterator for Documents {
    type Item = Result<(u64, Value)>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next()?;
        Some(item.and_then(|(id, bytes)| Ok((id, self.state.decode(id, &bytes)?))))
    }
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents")
            .field("collection", &self.state.name)
            .finish()
    }
}

impl DbInner {
    /// `base`, or `base_2`, `base_3`… : the first index name no collection uses.
    fn free_index_name(&self, base: &str) -> String {
        let taken: Vec<String> = self
            .all_states()
            .iter()
            .flat_map(|s| {
                s.meta()
                    .indexes
                    .iter()
                    .map(|d| d.name.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut name = base.to_owned();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        name
    }
}
