//! Writes an open transaction holds back until it commits, and reads that see them over the
//! collection's tree.
//!
//! Invariant: a staged key shadows the tree's. A staged value replaces the stored one and a
//! staged removal hides it, so a read inside a transaction sees the tree exactly as the
//! transaction would leave it, and nothing outside the transaction sees a staged key.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sled::IVec;

use crate::error::{Error, Result};

/// Staged writes of one collection: key -> new value, or `None` for a removal.
pub(crate) type StagedMap = BTreeMap<IVec, Option<IVec>>;

/// Writes collected to apply together: straight into sled's batch, or staged for a
/// transaction.
pub(crate) enum Batch {
    /// Applied to the tree as one sled batch.
    Direct(sled::Batch),
    /// Merged into a transaction's staged writes.
    Staged(StagedMap),
}

impl Batch {
    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl Into<IVec>, value: impl Into<IVec>) {
        match self {
            Batch::Direct(batch) => batch.insert(key, value),
            Batch::Staged(map) => {
                map.insert(key.into(), Some(value.into()));
            }
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl Into<IVec>) {
        match self {
            Batch::Direct(batch) => batch.remove(key),
            Batch::Staged(map) => {
                map.insert(key.into(), None);
            }
        }
    }
}

/// How many bytes of keys and values a transaction may stage, and how many it has.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    used: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Budget {
        Budget {
            limit,
            used: AtomicUsize::new(0),
        }
    }
}

/// The writes a transaction has staged on one collection.
#[derive(Debug)]
pub(crate) struct Staged {
    map: Arc<Mutex<StagedMap>>,
    budget: Arc<Budget>,
    /// Set when the transaction ends: reads through it fail from then on.
    ended: Arc<AtomicBool>,
}

fn lock(map: &Mutex<StagedMap>) -> std::sync::MutexGuard<'_, StagedMap> {
    map.lock().unwrap_or_else(|e| e.into_inner())
}

/// The size a staged write takes.
fn size(key: &[u8], value: Option<&IVec>) -> usize {
    key.len() + value.map_or(0, |v| v.len())
}

/// `bytes` for people: `3 MiB`, `700 KiB`, `12 bytes`.
fn human(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / f64::from(1 << 10)),
        b => format!("{b} bytes"),
    }
}

impl Staged {
    /// No writes yet, counted against `budget`.
    pub fn new(budget: Arc<Budget>) -> Staged {
        Staged {
            map: Arc::new(Mutex::new(StagedMap::new())),
            budget,
            ended: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Adds `writes` (later writes of a key replace earlier ones), or fails without adding
    /// any when what the transaction holds would then pass its budget.
    pub fn merge(&self, writes: StagedMap) -> Result<()> {
        let mut map = lock(&self.map);
        let mut change: isize = 0;
        for (key, value) in &writes {
            change += size(key, value.as_ref()) as isize;
            if let Some(old) = map.get(key) {
                change -= size(key, old.as_ref()) as isize;
            }
        }
        // One atomic update of the budget, which the views of one transaction share (their
        // handles may be used from several threads).
        let limit = self.budget.limit;
        let updated = self
            .budget
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                let after = used.saturating_add_signed(change);
                (change <= 0 || after <= limit).then_some(after)
            });
        if let Err(used) = updated {
            return Err(Error::Transaction(format!(
                "the transaction is too large: its writes would hold {}, over the limit of {} \
                 (Options::transaction_limit); commit in smaller transactions",
                human(used.saturating_add_signed(change)),
                human(limit)
            )));
        }
        map.extend(writes);
        Ok(())
    }

    /// Ends the view: every staged write, in key order, leaving none (to commit, or to
    /// discard), and reads through it fail from now on.
    pub fn close(&self) -> StagedMap {
        self.ended.store(true, Ordering::SeqCst);
        std::mem::take(&mut *lock(&self.map))
    }

    /// A reader of `tree` under these writes.
    pub fn reader(&self, tree: &sled::Tree) -> Reader {
        Reader {
            tree: tree.clone(),
            staged: Some((self.map.clone(), self.ended.clone())),
        }
    }
}

/// Reads of a collection's tree, under a transaction's staged writes when it has them. Cheap
/// to clone, and owns what it reads from, so a lazy scan can carry one.
#[derive(Clone)]
pub(crate) struct Reader {
    tree: sled::Tree,
    staged: Option<(Arc<Mutex<StagedMap>>, Arc<AtomicBool>)>,
}

/// The error of a read through a transaction that has ended.
fn ended() -> Error {
    Error::Transaction(
        "the transaction these reads belong to has ended: read again outside it".into(),
    )
}

/// Whether `BTreeMap::range` takes these bounds (it panics on a start past the end, and on
/// equal bounds both excluded); sled reads nothing for them.
fn valid(start: Bound<&[u8]>, end: Bound<&[u8]>) -> bool {
    match (start, end) {
        (Bound::Excluded(s), Bound::Excluded(e)) => s < e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e) | Bound::Excluded(e)) => {
            s <= e
        }
        _ => true,
    }
}

impl Reader {
    /// A reader of `tree` alone.
    pub fn tree(tree: &sled::Tree) -> Reader {
        Reader {
            tree: tree.clone(),
            staged: None,
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<IVec>> {
        if let Some((map, ended_flag)) = &self.staged {
            if ended_flag.load(Ordering::SeqCst) {
                return Err(ended());
            }
            if let Some(found) = lock(map).get(key) {
                return Ok(found.clone());
            }
        }
        Ok(self.tree.get(key)?)
    }

    /// The entries between `start` and `end`, in key order (backwards with `reverse`).
    /// Staged writes are looked up as the iterator goes: it sees the transaction as it is.
    pub fn entries(&self, start: Bound<&[u8]>, end: Bound<&[u8]>, reverse: bool) -> Entries {
        let below = self.tree.range::<&[u8], _>((start, end));
        let Some((map, ended_flag)) = &self.staged else {
            return match reverse {
                false => Entries::Tree(below),
                true => Entries::TreeBack(below.rev()),
            };
        };
        let below: TreeEntries = if reverse {
            Box::new(below.rev())
        } else {
            Box::new(below)
        };
        let owned = |b: Bound<&[u8]>| b.map(<[u8]>::to_vec);
        let mut merged = Merged {
            tree: below.peekable(),
            map: map.clone(),
            ended: ended_flag.clone(),
            start: owned(start),
            end: owned(end),
            next: None,
            reverse,
            reported: false,
        };
        merged.next = merged.staged_after(None);
        Entries::Merged(merged)
    }

    /// The entries whose keys start with `prefix`, in key order (backwards with `reverse`).
    pub fn prefixed(&self, prefix: &[u8], reverse: bool) -> Entries {
        let end = crate::codec::keycode::prefix_end(prefix);
        let end = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        self.entries(Bound::Included(prefix), end, reverse)
    }
}

/// A tree's entries in key order, straight or seen through a transaction's staged writes.
pub(crate) enum Entries {
    /// The tree's own, forwards.
    Tree(sled::Iter),
    /// The tree's own, backwards.
    TreeBack(std::iter::Rev<sled::Iter>),
    /// The tree's merged with staged writes.
    Merged(Merged),
}

impl Iterator for Entries {
    type Item = Result<(IVec, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Entries::Tree(iter) => iter.next().map(|r| r.map_err(Error::from)),
            Entries::TreeBack(iter) => iter.next().map(|r| r.map_err(Error::from)),
            Entries::Merged(merged) => merged.next(),
        }
    }
}

/// A tree's entries in one direction.
type TreeEntries = Box<dyn Iterator<Item = sled::Result<(IVec, IVec)>> + Send>;

/// The tree's entries and the staged writes in one key order, the staged ones winning on equal
/// keys and hiding removals.
pub(crate) struct Merged {
    tree: std::iter::Peekable<TreeEntries>,
    map: Arc<Mutex<StagedMap>>,
    ended: Arc<AtomicBool>,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    /// The next staged write in the range, in the iterator's direction.
    next: Option<(IVec, Option<IVec>)>,
    reverse: bool,
    /// The transaction's end was reported.
    reported: bool,
}

impl Merged {
    /// The first staged write in the range past `key` (from the range's start for `None`),
    /// in the iterator's direction.
    fn staged_after(&self, key: Option<&[u8]>) -> Option<(IVec, Option<IVec>)> {
        let (start, end) = match (key, self.reverse) {
            (None, _) => (
                self.start.as_ref().map(Vec::as_slice),
                self.end.as_ref().map(Vec::as_slice),
            ),
            (Some(key), false) => (Bound::Excluded(key), self.end.as_ref().map(Vec::as_slice)),
            (Some(key), true) => (self.start.as_ref().map(Vec::as_slice), Bound::Excluded(key)),
        };
        if !valid(start, end) {
            return None;
        }
        let map = lock(&self.map);
        let mut range = map.range::<[u8], _>((start, end));
        let found = if self.reverse {
            range.next_back()
        } else {
            range.next()
        };
        found.map(|(k, v)| (k.clone(), v.clone()))
    }
}

impl Iterator for Merged {
    type Item = Result<(IVec, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        if self.ended.load(Ordering::SeqCst) {
            // Said once; the iterator ends there.
            self.tree = (Box::new(std::iter::empty()) as TreeEntries).peekable();
            self.next = None;
            return (!std::mem::replace(&mut self.reported, true)).then(|| Err(ended()));
        }
        loop {
            let order = match (self.tree.peek(), &self.next) {
                (None, None) => return None,
                (Some(Err(_)), _) | (Some(_), None) => {
                    return self.tree.next().map(|r| r.map_err(Error::from));
                }
                (None, Some(_)) => Less,
                (Some(Ok((below, _))), Some((over, _))) => {
                    let order = over.cmp(below);
                    if self.reverse { order.reverse() } else { order }
                }
            };
            match order {
                Greater => return self.tree.next().map(|r| r.map_err(Error::from)),
                Equal => {
                    self.tree.next();
                }
                Less => {}
            }
            let (key, value) = self.next.take()?;
            self.next = self.staged_after(Some(&key));
            if let Some(value) = value {
                return Some(Ok((key, value)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_with(keys: &[&str]) -> sled::Tree {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        for key in keys {
            tree.insert(key.as_bytes(), key.as_bytes()).unwrap();
        }
        tree
    }

    fn read(entries: Entries) -> Vec<String> {
        entries
            .map(|e: Result<(IVec, IVec)>| {
                let (k, v) = e.unwrap();
                format!(
                    "{}={}",
                    String::from_utf8_lossy(&k),
                    String::from_utf8_lossy(&v)
                )
            })
            .collect()
    }

    #[test]
    fn staged_writes_shadow_the_tree_both_ways() {
        let tree = tree_with(&["a", "c", "e", "g"]);
        let staged = Staged::new(Arc::new(Budget::new(1 << 20)));
        let mut writes = StagedMap::new();
        writes.insert("b".into(), Some("B".into()));
        writes.insert("c".into(), None);
        writes.insert("e".into(), Some("E".into()));
        writes.insert("h".into(), Some("H".into()));
        writes.insert("z".into(), None);
        staged.merge(writes).unwrap();
        let reader = staged.reader(&tree);
        let all = (Bound::Unbounded, Bound::Unbounded);
        assert_eq!(
            read(reader.entries(all.0, all.1, false)),
            ["a=a", "b=B", "e=E", "g=g", "h=H"]
        );
        assert_eq!(
            read(reader.entries(all.0, all.1, true)),
            ["h=H", "g=g", "e=E", "b=B", "a=a"]
        );
        let part = (Bound::Included(&b"b"[..]), Bound::Excluded(&b"g"[..]));
        assert_eq!(read(reader.entries(part.0, part.1, false)), ["b=B", "e=E"]);
        assert_eq!(read(reader.prefixed(b"g", true)), ["g=g"]);
        let empty = (Bound::Included(&b"g"[..]), Bound::Excluded(&b"b"[..]));
        assert!(read(reader.entries(empty.0, empty.1, false)).is_empty());
        let equal = (Bound::Excluded(&b"e"[..]), Bound::Excluded(&b"e"[..]));
        assert!(read(reader.entries(equal.0, equal.1, true)).is_empty());
        assert_eq!(reader.get(b"c").unwrap(), None);
        assert_eq!(reader.get(b"e").unwrap().as_deref(), Some(&b"E"[..]));
        assert_eq!(reader.get(b"a").unwrap().as_deref(), Some(&b"a"[..]));
    }

    #[test]
    fn a_write_past_the_budget_adds_nothing() {
        let staged = Staged::new(Arc::new(Budget::new(10)));
        let mut small = StagedMap::new();
        small.insert("k".into(), Some("1234".into()));
        staged.merge(small).unwrap();
        let mut large = StagedMap::new();
        large.insert("l".into(), Some("123456789".into()));
        let err = staged.merge(large).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        // Writing a key again counts its new size in place of the old.
        for _ in 0..10 {
            let mut again = StagedMap::new();
            again.insert("k".into(), Some("5678".into()));
            staged.merge(again).unwrap();
        }
        assert_eq!(staged.close().len(), 1);
    }

    #[test]
    fn reads_through_an_ended_transaction_fail() {
        let tree = tree_with(&["a"]);
        let staged = Staged::new(Arc::new(Budget::new(1 << 20)));
        let reader = staged.reader(&tree);
        let mut entries = reader.prefixed(b"", false);
        staged.close();
        assert!(reader.get(b"a").is_err());
        assert!(entries.next().unwrap().is_err());
        assert!(entries.next().is_none());
    }
}
