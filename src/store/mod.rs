//! The storage engine: a database of collections of documents with secondary indexes.
//!
//! - [`layout`]: tree names and key prefixes (the on-disk map).
//! - [`Db`] (this module): opening, the catalog of collections, recovery after a crash.
//! - [`Collection`] (`collection`): documents and indexes of one collection.
//! - `state`: what every handle on a collection shares; `recovery`: format upgrades and
//!   finishing what a crash interrupted, at open.
//! - `bulk`: all-or-nothing bulk loads (imports) with a journal.
//! - `write`: the batch writer through which every change goes, atomically.
//! - `index`: index definitions and the entries a document gives.
//! - `blocks`: a value index's entries packed into blocks of ids, changed and read.
//! - `pages`: documents packed into pages of consecutive ids, changed and read.
//! - `check`: verifying and repairing a whole database.
//! - `compact`: rewriting a store into a fresh one and swapping them, crash-safely.
//! - `scan`: index scans asked for in values, document reads, the read epoch.
//! - `release_memory`: giving a closed database's memory back to the operating system.

mod blocks;
mod bulk;
mod check;
mod collection;
mod compact;
mod damage;
mod index;
pub mod layout;
mod pages;
mod progress;
mod recovery;
mod release_memory;
mod scan;
mod seal;
mod sled_config;
mod staged;
mod state;
mod text;
mod transaction;
mod write;
mod writers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

pub use bulk::BulkLoad;
pub use check::{CheckReport, Problem};
pub use collection::{Collection, Documents};
pub use compact::Compacted;
pub use index::{IndexDef, IndexKind, MAX_ENTRIES_PER_DOCUMENT, MAX_INDEX_PATHS};
pub(crate) use index::{default_index_name, strings_in};
pub use progress::BuildProgress;
pub(crate) use scan::{Bound, Bounds, KeyRanges, ReadEpoch, Rest, ScanStart, Stored};
pub(crate) use state::CollectionState;
pub(crate) use text::PostingList;
pub use transaction::Transaction;
pub(crate) use write::{Writer, prepare_document};

use crate::codec;
use crate::error::{Error, Result};

/// The on-disk format this build reads and writes. Formats 1 (without group counts), 2 (with
/// 4-byte index numbers and 8-byte ids in every index key), 3 (with a key per index entry,
/// not id blocks, and a key per document, not pages) and 4 (with pages of four documents, not
/// two) are upgraded in place when opened: see `CollectionState::upgrade`.
pub const FORMAT_VERSION: u32 = 5;

/// The oldest format this build can upgrade.
const OLDEST_FORMAT: u32 = 1;

/// The longest collection name allowed.
pub const MAX_NAME_LEN: usize = 128;

/// How a database is opened.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let options = quarry::Options { cache_capacity: 64 << 20, ..Default::default() };
/// let db = quarry::Db::open_with(dir.path().join("x.db"), options).unwrap();
/// assert!(db.collections().is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    /// Bytes of sled's page cache (default 256 MiB). Memory use grows with it.
    pub cache_capacity: u64,
    /// How long `open` waits for a lock held by another handle that is closing (sled releases
    /// it from a background thread shortly after the last handle drops) before failing with
    /// [`Error::Locked`]. Default: one second.
    pub lock_wait: std::time::Duration,
    /// Bytes of keys and values one transaction may write before it commits (default
    /// 64 MiB): they are held in memory until then, taking about twice this. A write past it
    /// fails with [`Error::Transaction`] and leaves the transaction as it was.
    pub transaction_limit: usize,
    /// Whether a new store compresses what sled writes with zstd (default `false`): it takes
    /// much less disk, while loading it and opening it again are slower (measured in
    /// `bench/FINDINGS.md`). A store keeps the setting it was created with, `compact`
    /// included.
    pub compression: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cache_capacity: 256 << 20,
            lock_wait: std::time::Duration::from_secs(1),
            transaction_limit: 64 << 20,
            compression: false,
        }
    }
}

/// A record of the catalog tree: a collection's name and the number of its tree.
#[derive(serde::Serialize, serde::Deserialize)]
struct CollectionRecord {
    name: String,
    number: u32,
}

/// An open database. Cheap to clone, `Send + Sync`: threads share one handle.
///
/// The database closes when its last handle (and the last [`Collection`] taken from it) drops:
/// sled writes what it still holds, and on Linux with glibc the memory it freed is handed back to
/// the operating system.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quarry::Db::open(dir.path().join("news.db"))?;
/// let articles = db.collection("articles")?;
/// articles.insert(&serde_json::json!({"org": "ICC", "year": 2021}))?;
/// db.flush()?;
/// assert_eq!(db.collections(), vec!["articles".to_string()]);
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Clone)]
pub struct Db {
    pub(crate) inner: Arc<DbInner>,
    /// The transaction this handle reads and writes through, if it belongs to one.
    pub(crate) tx: Option<Arc<transaction::Tx>>,
}

pub(crate) struct DbInner {
    sled: sled::Db,
    catalog: sled::Tree,
    path: PathBuf,
    collections: RwLock<BTreeMap<String, Arc<CollectionState>>>,
    /// Serialises catalog changes (creating and dropping collections).
    catalog_lock: Mutex<()>,
    /// Shared by every writer, held alone by a transaction.
    writers: Arc<writers::Writers>,
    /// See [`Options::transaction_limit`].
    transaction_limit: usize,
    /// The seal beside the store (`None` for a temporary one).
    seal: Option<PathBuf>,
    /// What opening found against the seal: collections that came back older than a flush
    /// acknowledged, with how many writes are missing; kept in each new seal until `repair`.
    stepped_back: Mutex<Vec<seal::Sealed>>,
    /// Why the seal found on opening could not be read, if it could not.
    seal_unreadable: Mutex<Option<String>>,
    /// Taken by whatever rewrites the seal (a flush, a drop), so that they take turns and a
    /// seal is never older than the one it replaces.
    seal_lock: Mutex<()>,
    /// Last, so that it drops after the sled handles above.
    _release: release_memory::ReleaseOnDrop,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Db {
    /// Opens the database at `path`, creating it when missing.
    ///
    /// Fails with [`Error::Locked`] when another process has it open, and with
    /// [`Error::FormatVersion`] when it was written by an incompatible version of quarry.
    /// Work a crash interrupted (a half-built index) is undone here.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quarry::Db::open(dir.path().join("news.db"))?;
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Db> {
        Db::open_with(path, Options::default())
    }

    /// Opens the database at `path` with `options`.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        let path = path.as_ref();
        if path.is_file() {
            return Err(Error::not_a_database(
                path,
                "it is a file; a quarry database is a folder",
            ));
        }
        compact::finish_compaction(path)?;
        refuse_foreign_folder(path)?;
        let config = sled_config::for_store(path, &options);
        let started = std::time::Instant::now();
        let sled = loop {
            match damage::open(&config, path) {
                Err(Error::Locked { .. }) if started.elapsed() < options.lock_wait => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => break other?,
            }
        };
        Db::from_sled(
            sled,
            path.to_path_buf(),
            Some(path.join(layout::MARKER_FILE)),
            &options,
        )
    }

    /// A database that lives only as long as its handles (deleted when the last one drops).
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.collection("scratch")?.insert(&serde_json::json!({"x": 1}))?;
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn temporary() -> Result<Db> {
        Db::temporary_with(Options::default())
    }

    /// [`Db::temporary`] with `options` (`lock_wait` has no use there).
    ///
    /// ```
    /// let small = quarry::Options { cache_capacity: 16 << 20, ..Default::default() };
    /// let db = quarry::Db::temporary_with(small)?;
    /// db.execute("insert into t {x: 1}")?;
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn temporary_with(options: Options) -> Result<Db> {
        let sled = sled_config::temporary(&options).open()?;
        Db::from_sled(sled, PathBuf::from("(temporary)"), None, &options)
    }

    /// Opens quarry's catalog inside a sled database. `marker` is the file that records that
    /// the database was created: with it present, a missing catalog means damage, not a new
    /// database.
    fn from_sled(
        sled: sled::Db,
        path: PathBuf,
        marker: Option<PathBuf>,
        options: &Options,
    ) -> Result<Db> {
        let writers = Arc::new(writers::Writers::default());
        let catalog = sled.open_tree(layout::CATALOG_TREE)?;
        let mut upgraded = false;
        match catalog.get(layout::FORMAT_KEY)? {
            Some(bytes) => {
                let found = layout::read_u32(&bytes)
                    .ok_or_else(|| Error::Corrupt("unreadable format version".into()))?;
                if !(OLDEST_FORMAT..=FORMAT_VERSION).contains(&found) {
                    return Err(Error::FormatVersion {
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
                if found < FORMAT_VERSION {
                    // Recorded before the collections are converted, so that an older build
                    // refuses a store whose conversion a crash interrupted.
                    catalog.insert(layout::FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())?;
                    sled.flush()?;
                    upgraded = true;
                }
            }
            None => {
                if !catalog.is_empty() {
                    return Err(Error::not_a_database(
                        &path,
                        "its catalog has no format version",
                    ));
                }
                if let Some(marker) = marker.as_ref().filter(|m| m.exists()) {
                    return Err(Error::Corrupt(format!(
                        "the catalog is missing although {} shows the database was created: \
                         the store file is damaged (restore it from a copy)",
                        marker.display()
                    )));
                }
                catalog.insert(layout::FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())?;
                sled.flush()?;
            }
        }
        if let Some(marker) = marker.as_ref().filter(|m| !m.exists()) {
            write_marker(&path, marker)?;
        }
        let mut collections = BTreeMap::new();
        for item in catalog.scan_prefix(layout::COLLECTION_PREFIX) {
            let (_, bytes) = item?;
            let record: CollectionRecord = codec::decode_record(&bytes)
                .map_err(|e| Error::Corrupt(format!("catalog record: {e}")))?;
            let tree = sled.open_tree(layout::collection_tree(record.number))?;
            let state =
                CollectionState::load(record.name.clone(), record.number, tree, writers.clone())?;
            collections.insert(record.name, Arc::new(state));
        }
        // A collection tree the catalog does not name was left by a crash while creating or
        // dropping a collection: nothing refers to it.
        let live: Vec<Vec<u8>> = collections
            .values()
            .map(|s| layout::collection_tree(s.number))
            .collect();
        for name in sled.tree_names() {
            if name.starts_with(layout::COLLECTION_TREE_PREFIX)
                && !live.iter().any(|l| l[..] == name[..])
            {
                sled.drop_tree(&name)?;
            }
        }
        // Compared before recovery, whose own batches move the generations on.
        let seal_file = marker.as_ref().map(|_| path.join(layout::SEAL_FILE));
        let (stepped_back, seal_unreadable) = match seal_file.as_deref().and_then(seal::read) {
            None => (Vec::new(), None),
            Some(Ok(sealed)) => (
                seal::compare(&sealed, &generations(collections.values())),
                None,
            ),
            Some(Err(why)) => (Vec::new(), Some(why)),
        };
        for state in collections.values() {
            state.upgrade()?;
            state.recover()?;
        }
        if upgraded {
            sled.flush()?;
        }
        // After an upgrade, also one a crash cut short and this open finished.
        if let Some(marker) = &marker {
            write_marker(&path, marker)?;
        }
        Ok(Db {
            inner: Arc::new(DbInner {
                sled,
                catalog,
                path,
                collections: RwLock::new(collections),
                catalog_lock: Mutex::new(()),
                writers,
                transaction_limit: options.transaction_limit,
                seal: seal_file,
                stepped_back: Mutex::new(stepped_back),
                seal_unreadable: Mutex::new(seal_unreadable),
                seal_lock: Mutex::new(()),
                _release: release_memory::ReleaseOnDrop,
            }),
            tx: None,
        })
    }

    /// Runs `f` on this store with a panic inside sled (on a damaged store) returned as an
    /// error that says so; the store then refuses writes (see `damage`).
    pub(crate) fn contain_damage<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        damage::contain(&self.inner.path, f).unwrap_or_else(|damaged| {
            self.inner.writers.refuse_all(&damaged);
            Err(damaged)
        })
    }

    /// Where the database lives.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quarry::Db::open(dir.path().join("news.db"))?;
    /// assert!(db.path().ends_with("news.db"));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The collection called `name`, created when missing. Names are letters, digits and `_`,
    /// not starting with a digit, at most 128 characters.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let articles = db.collection("articles")?;
    /// assert!(db.collection("no spaces").is_err());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn collection(&self, name: &str) -> Result<Collection> {
        if let Some(tx) = &self.tx {
            let found = tx.collection(self, name, true)?;
            return found.ok_or_else(|| Error::NotFound(format!("collection `{name}` not found")));
        }
        if let Some(found) = self.get_collection(name) {
            return Ok(found);
        }
        check_name(name)?;
        let _write = self.inner.writers.share()?;
        let _guard = self
            .inner
            .catalog_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(found) = self.get_collection(name) {
            return Ok(found);
        }
        let catalog = &self.inner.catalog;
        let number = self.inner.next_collection_number()?;
        let tree = self.inner.sled.open_tree(layout::collection_tree(number))?;
        tree.insert(layout::LAYOUT_KEY, &layout::LAYOUT_VERSION.to_be_bytes())?;
        let mut batch = sled::Batch::default();
        batch.insert(layout::NEXT_COLLECTION_KEY, &(number + 1).to_be_bytes());
        batch.insert(
            layout::collection_key(name),
            codec::encode_record(&CollectionRecord {
                name: name.to_owned(),
                number,
            })?,
        );
        catalog.apply_batch(batch)?;
        let state = Arc::new(CollectionState::load(
            name.to_owned(),
            number,
            tree,
            self.inner.writers.clone(),
        )?);
        self.inner
            .collections
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), state.clone());
        Ok(Collection::new(self.clone(), state))
    }

    /// The collection called `name`, or `None` when there is none (never creates one).
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// assert!(db.get_collection("articles").is_none());
    /// db.collection("articles")?;
    /// assert!(db.get_collection("articles").is_some());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn get_collection(&self, name: &str) -> Option<Collection> {
        if let Some(tx) = &self.tx {
            return tx.collection(self, name, false).ok().flatten();
        }
        self.inner
            .state(name)
            .map(|state| Collection::new(self.clone(), state))
    }

    /// The names of all collections, sorted.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.collection("b")?;
    /// db.collection("a")?;
    /// assert_eq!(db.collections(), ["a", "b"]);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn collections(&self) -> Vec<String> {
        let collections = self
            .inner
            .collections
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<String> = collections.keys().cloned().collect();
        if let Some(tx) = &self.tx {
            names.extend(tx.created());
            names.sort();
        }
        names
    }

    /// Every index of every collection, by collection then creation order.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.collection("a")?.create_index(&["x"])?;
    /// assert_eq!(db.indexes()?[0].name, "a_x");
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn indexes(&self) -> Result<Vec<IndexDef>> {
        let mut all = Vec::new();
        for name in self.collections() {
            if let Some(collection) = self.get_collection(&name) {
                all.extend(collection.indexes()?);
            }
        }
        Ok(all)
    }

    /// Drops the index called `name`, whichever collection it is on.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let name = db.collection("a")?.create_index(&["x"])?;
    /// db.drop_index(&name)?;
    /// assert!(matches!(db.drop_index(&name), Err(quarry::Error::NotFound(_))));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn drop_index(&self, name: &str) -> Result<()> {
        self.refuse_in_transaction("drop index")?;
        let owner = self
            .indexes()?
            .into_iter()
            .find(|d| d.name == name)
            .ok_or_else(|| Error::NotFound(format!("index `{name}` not found")))?;
        self.get_collection(&owner.collection)
            .ok_or_else(|| Error::NotFound(format!("collection `{}` not found", owner.collection)))?
            .drop_index(name)
    }

    /// Drops collection `name` with its documents and indexes; `false` when there was none.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.collection("a")?.insert(&serde_json::json!({"x": 1}))?;
    /// assert!(db.drop_collection("a")?);
    /// assert!(db.collections().is_empty());
    /// assert!(!db.drop_collection("a")?);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn drop_collection(&self, name: &str) -> Result<bool> {
        self.refuse_in_transaction("drop collection")?;
        // The database's write lock before the catalog's, as `collection` takes them.
        let _write = self.inner.writers.share()?;
        let _guard = self
            .inner
            .catalog_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let Some(state) = self.get_collection(name).map(|c| c.state) else {
            return Ok(false);
        };
        let _writes = state.lock_writes()?;
        // The seal forgets it first, on disk: it may claim less than the store holds, never
        // more.
        let _sealing = self
            .inner
            .seal_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(file) = &self.inner.seal
            && let Some(Ok(mut sealed)) = seal::read(file)
        {
            sealed.retain(|s| s.number != state.number);
            self.inner
                .stepped_back
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|s| s.number != state.number);
            self.write_seal(sealed, true)?;
        }
        // The catalog entry goes next: a crash after it leaves an unnamed tree, which the
        // next open drops.
        self.inner.catalog.remove(layout::collection_key(name))?;
        state.mark_dropped();
        self.inner
            .collections
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.inner
            .sled
            .drop_tree(layout::collection_tree(state.number))?;
        Ok(true)
    }

    /// Writes everything to disk: what was written before a successful `flush` survives a
    /// crash.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.flush()?;
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn flush(&self) -> Result<()> {
        let _sealing = self
            .inner
            .seal_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Taken before the flush, so that the seal never claims more than it made durable.
        let sealed = generations(
            self.inner
                .collections
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .values(),
        );
        self.inner.sled.flush()?;
        self.write_seal(sealed, false)
    }

    /// Writes the seal (under `seal_lock`): `sealed`, with what earlier opens found missing.
    fn write_seal(&self, mut sealed: Vec<seal::Sealed>, durably: bool) -> Result<()> {
        let Some(file) = &self.inner.seal else {
            return Ok(());
        };
        for lost in self.stepped_back_now() {
            match sealed.iter_mut().find(|s| s.number == lost.number) {
                Some(s) => s.lost = lost.lost,
                None => sealed.push(lost),
            }
        }
        seal::write(file, &sealed, durably)
    }

    fn stepped_back_now(&self) -> Vec<seal::Sealed> {
        self.inner
            .stepped_back
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Accepts the store as it is: forgets what opening found missing (`repair`).
    pub(crate) fn accept_losses(&self) -> Result<()> {
        self.inner
            .stepped_back
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        *self
            .inner
            .seal_unreadable
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        self.flush()
    }

    /// What opening the database found that its user must know: each collection that came
    /// back older than a flush acknowledged (a log cut short or partly lost), with how many of
    /// its writes are missing. `check` reports them too, at every open, until `repair` accepts
    /// the store as it is.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// assert!(db.warnings().is_empty());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn warnings(&self) -> Vec<String> {
        self.stepped_back()
            .into_iter()
            .map(|(collection, what)| format!("collection `{collection}`: {what}"))
            .collect()
    }

    /// What opening found against the seal, as (collection, what) pairs, for `check`.
    pub(crate) fn stepped_back(&self) -> Vec<(String, String)> {
        let collections = self
            .inner
            .collections
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let unreadable = self
            .inner
            .seal_unreadable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        unreadable
            .map(|why| {
                (
                    "(all)".to_owned(),
                    format!(
                        "the seal of the last flush ({}) is unreadable ({why}): whether the \
                         store came back whole cannot be told",
                        layout::SEAL_FILE
                    ),
                )
            })
            .into_iter()
            .chain(self.stepped_back_now().iter().map(|lost| {
                let exists = collections.values().any(|s| s.number == lost.number);
                (lost.name.clone(), seal::describe(lost, exists))
            }))
            .collect()
    }

    /// Bytes the database takes on disk.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quarry::Db::open(dir.path().join("x.db"))?;
    /// db.collection("c")?.insert(&serde_json::json!({"x": 1}))?;
    /// db.flush()?;
    /// assert!(db.size_on_disk()? > 0);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner.sled.size_on_disk()?)
    }
}

impl Db {
    /// Fails when this handle belongs to a transaction: `what` changes the catalog or runs
    /// in steps of its own, which a transaction cannot hold.
    pub(crate) fn refuse_in_transaction(&self, what: &str) -> Result<()> {
        match self.tx {
            Some(_) => Err(in_transaction(what)),
            None => Ok(()),
        }
    }

    /// Fails when this handle belongs to a transaction that has ended.
    pub(crate) fn ensure_open(&self) -> Result<()> {
        match &self.tx {
            Some(tx) => tx.ensure_open(),
            None => Ok(()),
        }
    }

    /// Whether this handle reads and writes through a transaction.
    pub(crate) fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }
}

/// The error for `what`, which cannot run inside a transaction.
pub(crate) fn in_transaction(what: &str) -> Error {
    Error::Transaction(format!(
        "`{what}` cannot run inside a transaction: commit or roll back first"
    ))
}

impl DbInner {
    /// The state of collection `name`, if there is one.
    fn state(&self, name: &str) -> Option<Arc<CollectionState>> {
        let collections = self.collections.read().unwrap_or_else(|e| e.into_inner());
        collections.get(name).cloned()
    }

    /// The number the next collection created gets.
    fn next_collection_number(&self) -> Result<u32> {
        match self.catalog.get(layout::NEXT_COLLECTION_KEY)? {
            Some(bytes) => layout::read_u32(&bytes)
                .ok_or_else(|| Error::Corrupt("unreadable collection counter".into())),
            None => Ok(1),
        }
    }

    /// The state of every collection.
    pub(crate) fn all_states(&self) -> Vec<Arc<CollectionState>> {
        let collections = self.collections.read().unwrap_or_else(|e| e.into_inner());
        collections.values().cloned().collect()
    }
}

/// Refuses a folder that holds files but neither quarry's marker nor sled's `conf` and `db`:
/// opening it would write a store over someone else's files.
fn refuse_foreign_folder(path: &Path) -> Result<()> {
    if !path.is_dir() || path.join(layout::MARKER_FILE).exists() {
        return Ok(());
    }
    let names: Vec<std::ffi::OsString> = std::fs::read_dir(path)?
        .filter_map(|entry| entry.ok().map(|e| e.file_name()))
        .collect();
    let sled = ["conf", "db"].iter().all(|f| names.iter().any(|n| n == f));
    if names.is_empty() || sled {
        Ok(())
    } else {
        Err(Error::not_a_database(
            path,
            "the folder holds other files and no quarry store",
        ))
    }
}

/// Collection names are identifiers so that queries can name them without quoting.
fn check_name(name: &str) -> Result<()> {
    let valid =
        !name.is_empty() && name.len() <= MAX_NAME_LEN && crate::lexicon::is_identifier(name);
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidName(format!(
            "collection name {name:?}: use letters, digits and `_`, not starting with a digit, at most {MAX_NAME_LEN} characters"
        )))
    }
}

/// The marker file's text for the store at `path`: the format it is in, and whether sled
/// compresses its log, beside sled's own record (see `sled_config`).
fn marker_text(path: &Path) -> String {
    let compressed = match sled_config::recorded_compression(path) {
        Some(true) => format!("{}\n", sled_config::COMPRESSED_LINE),
        _ => String::new(),
    };
    format!("quarry database, format {FORMAT_VERSION}\n{compressed}")
}

/// Writes the marker file of the store at `path` ([`marker_text`]) unless it already says
/// that: written beside, synced and renamed over, so that it is always whole.
fn write_marker(path: &Path, marker: &Path) -> Result<()> {
    let text = marker_text(path);
    if std::fs::read_to_string(marker).is_ok_and(|found| found == text) {
        return Ok(());
    }
    let beside = marker.with_extension("format.new");
    let mut file = std::fs::File::create(&beside)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&beside, marker)?;
    std::fs::File::open(path)?.sync_all()?;
    Ok(())
}

/// Each collection's number, name and generation now.
fn generations<'a>(states: impl Iterator<Item = &'a Arc<CollectionState>>) -> Vec<seal::Sealed> {
    states
        .map(|state| seal::Sealed {
            number: state.number,
            name: state.name.clone(),
            generation: state.generation(),
            lost: 0,
        })
        .collect()
}
