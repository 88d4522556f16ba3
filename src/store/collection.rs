//! A collection's public API: its documents, its indexes and the typed reads and writes over
//! them. Every write goes through the one batch writer (`write`).

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::document;
use crate::error::{Error, Result};
use crate::path::Path;
use crate::store::index::{self, IndexDef, IndexKind, IndexState};
use crate::store::layout;
use crate::store::progress::{BuildProgress, Reporting};
use crate::store::state::{CHUNK, CollectionState, TEXT_BUILD_BYTES};
use crate::store::text::TextBuild;
use crate::store::write::{Writer, prepare_document};
use crate::store::{Db, DbInner, Stored};
use crate::text::Language;
use crate::value::{Value, to_value};

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
    /// Told how index builds through this handle go (see [`Collection::with_progress`]).
    progress: Option<Arc<dyn BuildProgress>>,
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
    pub(crate) fn new(db: Db, state: Arc<CollectionState>) -> Collection {
        Collection {
            db,
            state,
            progress: None,
        }
    }

    /// This handle, telling `progress` how each index it creates fills from the stored
    /// documents (see [`BuildProgress`]); the shell draws a bar with it.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// #[derive(Default)]
    /// struct Log(Mutex<Vec<String>>);
    /// impl quarry::BuildProgress for Log {
    ///     fn start(&self, index: &str, documents: u64) {
    ///         self.0.lock().unwrap().push(format!("{index}: {documents}"));
    ///     }
    ///     fn done(&self, _documents: u64) {}
    ///     fn finish(&self) { self.0.lock().unwrap().push("done".into()); }
    /// }
    /// let db = quarry::Db::temporary()?;
    /// let notes = db.collection("notes")?;
    /// notes.insert(&serde_json::json!({"body": "coral reefs"}))?;
    /// let log = Arc::new(Log::default());
    /// let reporting = notes.with_progress(log.clone());
    /// reporting.create_text_index(&["body"], quarry::text::Language::English)?;
    /// assert_eq!(*log.0.lock().unwrap(), ["notes_text: 1", "done"]);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn with_progress(&self, progress: Arc<dyn BuildProgress>) -> Collection {
        Collection {
            progress: Some(progress),
            ..self.clone()
        }
    }

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
        self.refuse_in_transaction("create index")?;
        let paths = index::parse_index_paths(paths)?;
        self.create_index_of(paths, unique, IndexKind::Values)
    }

    /// Creates the collection's text index on `paths` (the strings they reach, and strings in
    /// arrays they reach), its words analyzed in `language`, filled from every stored
    /// document, and returns its name. A collection has at most one text index; creating the
    /// one it has again does nothing.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// use quarry::text::Language;
    /// let notes = db.collection("notes")?;
    /// notes.insert(&serde_json::json!({"title": "Reefs", "body": "Coral reefs bleach."}))?;
    /// assert_eq!(notes.create_text_index(&["title", "body"], Language::English)?, "notes_text");
    /// assert!(notes.indexes()?[0].is_text());
    /// assert!(notes.create_text_index(&["body"], Language::None).is_err());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn create_text_index(&self, paths: &[&str], language: Language) -> Result<String> {
        self.refuse_in_transaction("create text index")?;
        let paths = index::parse_text_paths(paths)?;
        self.create_index_of(paths, false, IndexKind::Text(language))
    }

    fn create_index_of(&self, paths: Vec<Path>, unique: bool, kind: IndexKind) -> Result<String> {
        let _guard = self.state.lock_writes()?;
        let meta = self.state.meta();
        if kind != IndexKind::Values
            && let Some(existing) = meta.indexes.iter().find(|d| d.is_text() && d.is_ready())
        {
            if existing.paths == paths && existing.kind == kind {
                return Ok(existing.name.clone());
            }
            return Err(Error::InvalidIndex(format!(
                "collection `{}` already has the text index `{}` on ({}){}: a collection has \
                 one text index; drop it first (`drop index {}`)",
                self.state.name,
                existing.name,
                existing.paths_text(),
                existing.language_text(),
                existing.name
            )));
        }
        if let Some(existing) = meta
            .indexes
            .iter()
            .find(|d| d.paths == paths && d.serves_values() && kind == IndexKind::Values)
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
        let base = match kind {
            IndexKind::Values => index::default_index_name(&self.state.name, &paths),
            IndexKind::Text(_) => format!("{}_text", self.state.name),
        };
        let name = self.db.inner.free_index_name(&base);
        let number = meta.next_index;
        let meta_count = meta.count;
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
            kind,
        }));
        writer.commit()?;
        if let Err(err) = self.backfill(number, meta_count) {
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

    /// Writes the entries of every stored document (`documents` of them) into index
    /// `number`, a chunk at a time, telling the handle's progress how far it has gone.
    fn backfill(&self, number: u32, documents: u64) -> Result<()> {
        let def = (self.state.meta().indexes.iter())
            .find(|d| d.number == number)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("index number {number} not found")))?;
        let mut reporting = Reporting::start(self.progress.as_deref(), &def.name, documents);
        if def.is_text() {
            return self.backfill_text(&def, TEXT_BUILD_BYTES, &mut reporting);
        }
        let mut next = 0;
        loop {
            let chunk: Vec<(u64, Stored)> = self
                .state
                .stored_documents_from(next)
                .take(CHUNK)
                .collect::<Result<_>>()?;
            let Some((last, _)) = chunk.last() else {
                return Ok(());
            };
            next = last + 1;
            let mut writer = Writer::new(&self.state);
            let position = writer
                .meta()
                .indexes
                .iter()
                .position(|d| d.number == number)
                .ok_or_else(|| Error::NotFound(format!("index number {number} not found")))?;
            for (id, bytes) in &chunk {
                let doc = self.stored_document(*id, bytes)?;
                writer.add_index_entries(position, *id, &doc)?;
            }
            writer.commit()?;
            reporting.read(chunk.len() as u64);
        }
    }

    /// Document `id` (without `_id`) from its stored bytes.
    fn stored_document(&self, id: u64, bytes: &[u8]) -> Result<Value> {
        document::decode_document(bytes, None).map_err(|e| {
            Error::Corrupt(format!(
                "document {id} of collection `{}`: {e}",
                self.state.name
            ))
        })
    }

    /// Fills text index `def` from every stored document, in id order: its postings gather
    /// in memory and are written, whole blocks at a time, whenever they reach `budget` bytes
    /// ([`TEXT_BUILD_BYTES`] but in tests).
    pub(in crate::store) fn backfill_text(
        &self,
        def: &IndexDef,
        budget: usize,
        reporting: &mut Reporting,
    ) -> Result<()> {
        let mut build = TextBuild::new(def.number);
        // Blocks outside batches only while the index is building (see `TextBuild`).
        let unbatched = !def.is_ready();
        let write = |build: &mut TextBuild| {
            let mut writer = Writer::new(&self.state);
            writer.write_text_build(build, unbatched)?;
            writer.commit()
        };
        let mut unreported = 0;
        for item in self.state.stored_documents() {
            let (id, bytes) = item?;
            let doc = self.stored_document(id, &bytes)?;
            build.add(id, def, &doc)?;
            if build.held() >= budget {
                write(&mut build)?;
            }
            unreported += 1;
            if unreported == CHUNK {
                reporting.read(unreported as u64);
                unreported = 0;
            }
        }
        write(&mut build)?;
        if unreported > 0 {
            reporting.read(unreported as u64);
        }
        Ok(())
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
        self.refuse_in_transaction("drop index")?;
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
        self.refuse_in_transaction("repair")?;
        let _guard = self.state.lock_writes()?;
        let mut failures = Vec::new();
        self.state.clear_older_layouts()?;
        self.state.restore_strays()?;
        let mut count = 0u64;
        let mut max_id = 0u64;
        // A page that cannot be read is left as it is: the indexes cannot be rebuilt without
        // its documents, so they are dropped below and reported.
        for (id, _) in self.state.stored_documents().flatten() {
            count += 1;
            max_id = max_id.max(id);
        }
        // Entries of numbers no index has any more (left by damage) go first.
        let known: Vec<u32> = self.state.meta().indexes.iter().map(|d| d.number).collect();
        let mut strays = Vec::new();
        for prefix in [
            layout::BLOCK_PREFIX,
            layout::GROUP_PREFIX,
            layout::POSTING_PREFIX,
            layout::LENGTH_PREFIX,
            layout::CORPUS_PREFIX,
        ] {
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
            if let Err(err) = self.backfill(def.number, count) {
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

    /// The id the next document inserted gets.
    pub(crate) fn next_id(&self) -> u64 {
        self.state.meta().next_id
    }

    /// Fails on a transaction's handle: `what` changes the catalog or runs in steps of its
    /// own, which a transaction cannot hold.
    pub(crate) fn refuse_in_transaction(&self, what: &str) -> Result<()> {
        match self.state.is_view() {
            true => Err(crate::store::in_transaction(what)),
            false => Ok(()),
        }
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
