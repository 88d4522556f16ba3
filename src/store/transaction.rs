//! Transactions: reads and writes over several collections that commit together or not at
//! all.
//!
//! A transaction holds the database's write lock alone from `begin` to its end, so no other
//! write starts meanwhile and what it reads stays true. Each collection it touches is read and
//! written through a view (see `CollectionState::view`) whose writes are staged in memory,
//! bounded by [`Options::transaction_limit`](crate::Options). Commit applies every staged
//! write, of every collection and of the catalog, in one atomic sled operation: one batch
//! when a single tree changed, sled's multi-tree transaction otherwise.
//!
//! Invariant: nothing a transaction writes reaches sled before its commit, and its commit is
//! one atomic operation: a crash at any moment leaves all of its writes or none, and readers
//! outside see each collection wholly before or wholly after it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sled::Transactional;

use crate::codec;
use crate::error::{Error, Result};
use crate::store::staged::{Batch, Budget, StagedMap};
use crate::store::state::CollectionState;
use crate::store::{Collection, CollectionRecord, Db, DbInner, check_name, layout};

/// What an open transaction holds: the views of the collections it touched.
pub(crate) struct Tx {
    budget: Arc<Budget>,
    touched: Mutex<BTreeMap<String, Touched>>,
    ended: AtomicBool,
}

/// A collection a transaction touched.
struct Touched {
    /// The collection itself (a new one, not yet in the catalog, when `created`).
    base: Arc<CollectionState>,
    /// What the transaction reads and writes.
    view: Arc<CollectionState>,
    created: bool,
}

/// An open transaction. Its handles read and write like [`Db`]'s and [`Collection`]'s; reads
/// see the transaction's own writes, and nothing else sees them until [`Transaction::commit`].
/// Dropped without a commit, it rolls back. It is not `Send`: it ends on the thread that began
/// it (its handles, and rows read through it, may go to other threads). See [`Db::transaction`].
///
/// ```
/// let db = quarry::Db::temporary()?;
/// let tx = db.begin()?;
/// tx.collection("log")?.insert(&serde_json::json!({"event": "start"}))?;
/// assert_eq!(tx.collection("log")?.len()?, 1);
/// assert!(db.get_collection("log").is_none()); // not yet committed
/// tx.commit()?;
/// assert_eq!(db.collection("log")?.len()?, 1);
/// # Ok::<(), quarry::Error>(())
/// ```
pub struct Transaction {
    db: Db,
    finished: bool,
    /// A transaction belongs to the thread that began it (writes there that bypass it are
    /// refused, not waited for), so it cannot be sent to another.
    _thread: std::marker::PhantomData<*const ()>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("path", &self.db.inner.path)
            .finish()
    }
}

impl Db {
    /// Runs `work` in a transaction and returns what it returns. The transaction commits
    /// when `work` returns `Ok`; an `Err`, or a panic, leaves the store exactly as it was.
    /// Other writers wait while it runs; readers outside see each collection as it was
    /// before, until the commit shows all of its writes at once. The commit is durable
    /// (flushed) when this returns.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let inbox = db.collection("inbox")?;
    /// let id = inbox.insert(&serde_json::json!({"subject": "hello"}))?;
    /// db.transaction(|tx| {
    ///     let inbox = tx.collection("inbox")?;
    ///     let doc: serde_json::Value =
    ///         inbox.get(id)?.ok_or_else(|| quarry::Error::NotFound(format!("document {id}")))?;
    ///     inbox.delete(id)?;
    ///     tx.collection("archive")?.insert(&doc)?;
    ///     Ok(())
    /// })?;
    /// assert_eq!((inbox.len()?, db.collection("archive")?.len()?), (0, 1));
    ///
    /// let failed = db.transaction(|tx| {
    ///     tx.collection("archive")?.insert(&serde_json::json!({"subject": "lost"}))?;
    ///     Err::<(), _>(quarry::Error::Query("changed my mind".into()))
    /// });
    /// assert!(failed.is_err());
    /// assert_eq!(db.collection("archive")?.len()?, 1);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn transaction<T>(&self, work: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let tx = self.begin()?;
        match work(&tx) {
            Ok(value) => {
                tx.commit()?;
                Ok(value)
            }
            Err(err) => {
                // The work's error is the one to report; a rollback discards staged writes,
                // and a tree it could not drop is dropped at the next open.
                let _ = tx.rollback();
                Err(err)
            }
        }
    }

    /// Opens a transaction, waiting for writes under way and for transactions that asked
    /// earlier to end. It ends on this thread; transactions do not nest. Prefer
    /// [`Db::transaction`], which cannot forget to end one.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let tx = db.begin()?;
    /// assert!(db.begin().is_err()); // one at a time on a thread
    /// tx.rollback()?;
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn begin(&self) -> Result<Transaction> {
        self.ensure_open()?;
        if self.tx.is_some() {
            return Err(Error::Transaction(
                "a transaction is already open (transactions do not nest)".into(),
            ));
        }
        self.inner.writers.begin_transaction()?;
        let tx = Tx {
            budget: Arc::new(Budget::new(self.inner.transaction_limit)),
            touched: Mutex::new(BTreeMap::new()),
            ended: AtomicBool::new(false),
        };
        Ok(Transaction {
            db: Db {
                inner: self.inner.clone(),
                tx: Some(Arc::new(tx)),
            },
            finished: false,
            _thread: std::marker::PhantomData,
        })
    }
}

impl Transaction {
    /// The collection called `name` as this transaction sees it, created (at commit) when
    /// missing.
    pub fn collection(&self, name: &str) -> Result<Collection> {
        self.db.collection(name)
    }

    /// The collection called `name` as this transaction sees it, or `None` when there is
    /// none.
    pub fn get_collection(&self, name: &str) -> Option<Collection> {
        self.db.get_collection(name)
    }

    /// The names of all collections, with those this transaction creates, sorted.
    pub fn collections(&self) -> Vec<String> {
        self.db.collections()
    }

    /// A handle on the database that reads and writes through this transaction (what a
    /// [`Session`](crate::query::Session) inside it runs on).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Makes every write of the transaction visible and durable at once.
    pub fn commit(mut self) -> Result<()> {
        let result = self.tx().commit(&self.db.inner);
        self.end();
        self.finished = true;
        if result? {
            self.db.flush()?;
        }
        Ok(())
    }

    /// Discards every write of the transaction.
    pub fn rollback(mut self) -> Result<()> {
        let result = self.tx().discard(&self.db.inner);
        self.end();
        self.finished = true;
        result
    }

    fn tx(&self) -> &Tx {
        self.db
            .tx
            .as_deref()
            .expect("a transaction's handle is in the transaction")
    }

    /// Ends the transaction: its handles fail from now on, writers may go on.
    fn end(&self) {
        self.tx().ended.store(true, Ordering::SeqCst);
        self.db.inner.writers.end_transaction();
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.tx().discard(&self.db.inner);
            self.end();
        }
    }
}

impl Tx {
    fn touched(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Touched>> {
        self.touched.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn ensure_open(&self) -> Result<()> {
        if self.ended.load(Ordering::SeqCst) {
            return Err(Error::Transaction(
                "this transaction has ended: its handles can no longer be used".into(),
            ));
        }
        Ok(())
    }

    /// The view of collection `name`, made on first use; a new collection (created at
    /// commit) when it is missing and `create` is set.
    pub(crate) fn collection(
        &self,
        db: &Db,
        name: &str,
        create: bool,
    ) -> Result<Option<Collection>> {
        self.ensure_open()?;
        let mut touched = self.touched();
        let handle = |view: &Arc<CollectionState>| Collection::new(db.clone(), view.clone());
        if let Some(found) = touched.get(name) {
            return Ok(Some(handle(&found.view)));
        }
        let existing = db.inner.state(name);
        let (base, created) = match existing {
            Some(base) => (base, false),
            None if create => {
                check_name(name)?;
                let reserved = touched
                    .values()
                    .filter(|t| t.created)
                    .map(|t| t.base.number);
                let number = db
                    .inner
                    .next_collection_number()?
                    .max(reserved.max().map_or(0, |n| n + 1));
                let tree = db.inner.sled.open_tree(layout::collection_tree(number))?;
                let base =
                    CollectionState::load(name.to_owned(), number, tree, db.inner.writers.clone())?;
                (Arc::new(base), true)
            }
            None => return Ok(None),
        };
        let view = Arc::new(base.view(self.budget.clone()));
        if created {
            let mut layout_key = Batch::Staged(StagedMap::new());
            layout_key.insert(layout::LAYOUT_KEY, &layout::LAYOUT_VERSION.to_be_bytes());
            view.apply(layout_key)?;
        }
        let found = handle(&view);
        touched.insert(
            name.to_owned(),
            Touched {
                base,
                view,
                created,
            },
        );
        Ok(Some(found))
    }

    /// The names of the collections this transaction creates.
    pub(crate) fn created(&self) -> Vec<String> {
        self.touched()
            .iter()
            .filter(|(_, t)| t.created)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Applies every staged write in one atomic operation and installs what the views hold;
    /// says whether there was anything to write.
    fn commit(&self, db: &DbInner) -> Result<bool> {
        if let Err(refused) = db.writers.refuse_if_damaged() {
            // sled failed on the store's damage while the transaction was open: nothing
            // lands, and its handles end as a rollback's do (its new trees stay for the next
            // open to drop, which writes nothing more to the damaged store now).
            let touched = std::mem::take(&mut *self.touched());
            touched.values().for_each(|t| {
                t.view.close_view();
            });
            return Err(refused);
        }
        let touched = std::mem::take(&mut *self.touched());
        let mut catalog = sled::Batch::default();
        let mut catalog_changed = false;
        let mut changes: Vec<(&Touched, StagedMap)> = Vec::new();
        for (name, t) in &touched {
            let writes = t.view.close_view();
            if t.created {
                catalog_changed = true;
                catalog.insert(
                    layout::collection_key(name),
                    codec::encode_record(&CollectionRecord {
                        name: name.clone(),
                        number: t.base.number,
                    })?,
                );
            }
            if !writes.is_empty() {
                changes.push((t, writes));
            }
        }
        if let Some(highest) = touched
            .values()
            .filter(|t| t.created)
            .map(|t| t.base.number)
            .max()
        {
            catalog.insert(layout::NEXT_COLLECTION_KEY, &(highest + 1).to_be_bytes());
        }
        if changes.is_empty() && !catalog_changed {
            return Ok(false);
        }
        let states: Vec<&CollectionState> = changes.iter().map(|(t, _)| t.base.as_ref()).collect();
        let applied = while_applying_all(&states, || -> Result<Vec<u64>> {
            let mut generations = Vec::new();
            let mut batches: Vec<sled::Batch> = Vec::new();
            for (t, writes) in &changes {
                let mut batch = to_batch(writes);
                generations.push(t.base.stamp(&mut batch));
                batches.push(batch);
            }
            if let ([(t, _)], false) = (changes.as_slice(), catalog_changed) {
                t.base.tree.apply_batch(batches.remove(0))?;
                return Ok(generations);
            }
            let mut trees: Vec<sled::Tree> =
                changes.iter().map(|(t, _)| t.base.tree.clone()).collect();
            if catalog_changed {
                trees.push(db.catalog.clone());
                batches.push(catalog.clone());
            }
            trees
                .as_slice()
                .transaction(|views| {
                    for (view, batch) in views.iter().zip(&batches) {
                        view.apply_batch(batch)?;
                    }
                    Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
                })
                .map_err(|e| Error::Storage(format!("committing a transaction: {e:?}")))?;
            Ok(generations)
        });
        match applied {
            Ok(generations) => {
                for ((t, _), generation) in changes.iter().zip(generations) {
                    t.base.stamped(generation);
                }
            }
            Err(err) => {
                // The failed commit is what to report; a tree left behind is dropped at next
                // open.
                let _ = drop_created(db, &touched);
                return Err(err);
            }
        }
        for t in touched.values() {
            t.base
                .install_meta(crate::store::state::Meta::clone(&t.view.meta()));
        }
        let mut collections = db.collections.write().unwrap_or_else(|e| e.into_inner());
        for (name, t) in &touched {
            if t.created {
                collections.insert(name.clone(), t.base.clone());
            }
        }
        Ok(true)
    }

    /// Forgets every staged write and the trees of collections the transaction created.
    fn discard(&self, db: &DbInner) -> Result<()> {
        let touched = std::mem::take(&mut *self.touched());
        for t in touched.values() {
            t.view.close_view();
        }
        drop_created(db, &touched)
    }
}

/// Drops the trees made for collections a transaction would have created (a crash leaves
/// them for the next open, which drops trees the catalog does not name).
fn drop_created(db: &DbInner, touched: &BTreeMap<String, Touched>) -> Result<()> {
    for t in touched.values().filter(|t| t.created) {
        db.sled.drop_tree(layout::collection_tree(t.base.number))?;
    }
    Ok(())
}

/// Runs `apply` while every state in `states` shows a batch under way.
fn while_applying_all<T>(states: &[&CollectionState], apply: impl FnOnce() -> T) -> T {
    match states.split_first() {
        None => apply(),
        Some((first, rest)) => first.while_applying(|| while_applying_all(rest, apply)),
    }
}

fn to_batch(writes: &StagedMap) -> sled::Batch {
    let mut batch = sled::Batch::default();
    for (key, value) in writes {
        match value {
            Some(value) => batch.insert(key.clone(), value.clone()),
            None => batch.remove(key.clone()),
        }
    }
    batch
}
