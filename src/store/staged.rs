//! Writes an open transaction holds back until it commits, and reads that see them over the
//! collection's tree.
//!
//! Invariant: a staged key shadows the tree's. A staged value replaces the stored one and a
//! staged removal hides it, so a read inside a transaction sees the tree exactly as the
//! transaction would leave it, and nothing outside the transaction sees a staged key.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
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
}

fn lock(map: &Mutex<StagedMap>) -> std::sync::MutexGuard<'_, StagedMap> {
    map.lock().unwrap_or_else(|e| e.into_inner())
}

impl Staged {
    /// No writes yet, counted against `budget`.
    pub fn new(budget: Arc<Budget>) -> Staged {
        Staged {
            map: Arc::new(Mutex::new(StagedMap::new())),
            budget,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, StagedMap> {
        lock(&self.map)
    }

    /// Adds `writes` (later writes of a key replace earlier ones), or fails without adding
    /// any when they would take the transaction past its budget.
    pub fn merge(&self, writes: StagedMap) -> Result<()> {
        let bytes: usize = writes
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()))
            .sum();
        let used = self.budget.used.fetch_add(bytes, Ordering::SeqCst) + bytes;
        if used > self.budget.limit {
            self.budget.used.fetch_sub(bytes, Ordering::SeqCst);
            return Err(Error::Transaction(format!(
                "the transaction is too large: its writes would hold {} MiB, over the limit \
                 of {} MiB (Options::transaction_limit); commit in smaller transactions",
                used >> 20,
                self.budget.limit >> 20
            )));
        }
        self.map().extend(writes);
        Ok(())
    }

    /// Every staged write, in key order, leaving none (at commit, or to discard them).
    pub fn take(&self) -> StagedMap {
        std::mem::take(&mut *self.map())
    }

    /// A reader of `tree` under these writes.
    pub fn reader(&self, tree: &sled::Tree) -> Reader {
        Reader {
            tree: tree.clone(),
            staged: Some(self.map.clone()),
        }
    }
}

/// Reads of a collection's tree, under a transaction's staged writes when it has them. Cheap
/// to clone, and owns what it reads from, so a lazy scan can carry one.
#[derive(Clone)]
pub(crate) struct Reader {
    tree: sled::Tree,
    staged: Option<Arc<Mutex<StagedMap>>>,
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
    pub fn get(&self, key: &[u8]) -> sled::Result<Option<IVec>> {
        if let Some(found) = self.staged.as_ref().and_then(|s| lock(s).get(key).cloned()) {
            return Ok(found);
        }
        self.tree.get(key)
    }

    /// The entries between `start` and `end`, in key order (backwards with `reverse`).
    /// Staged writes in the range are copied now: the iterator sees the transaction as it is
    /// when it is made.
    pub fn entries(&self, start: Bound<&[u8]>, end: Bound<&[u8]>, reverse: bool) -> Entries {
        let below = self.tree.range::<&[u8], _>((start, end));
        let Some(staged) = &self.staged else {
            return match reverse {
                false => Entries::Tree(below),
                true => Entries::TreeBack(below.rev()),
            };
        };
        let staged: Vec<(IVec, Option<IVec>)> = lock(staged)
            .range::<[u8], _>((start, end))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let below: TreeEntries = if reverse {
            Box::new(below.rev())
        } else {
            Box::new(below)
        };
        let staged: StagedEntries = if reverse {
            Box::new(staged.into_iter().rev())
        } else {
            Box::new(staged.into_iter())
        };
        Entries::Merged(Merged {
            tree: below.peekable(),
            staged: staged.peekable(),
            reverse,
        })
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
    type Item = sled::Result<(IVec, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Entries::Tree(iter) => iter.next(),
            Entries::TreeBack(iter) => iter.next(),
            Entries::Merged(merged) => merged.next(),
        }
    }
}

impl Entries {
    /// The keys alone.
    pub fn keys(self) -> impl Iterator<Item = sled::Result<IVec>> + Send {
        self.map(|entry| entry.map(|(key, _)| key))
    }
}

/// A tree's entries in one direction.
type TreeEntries = Box<dyn Iterator<Item = sled::Result<(IVec, IVec)>> + Send>;
/// Staged writes in one direction.
type StagedEntries = Box<dyn Iterator<Item = (IVec, Option<IVec>)> + Send>;

/// Two streams in one key order, the staged one winning on equal keys and hiding removals.
pub(crate) struct Merged {
    tree: std::iter::Peekable<TreeEntries>,
    staged: std::iter::Peekable<StagedEntries>,
    reverse: bool,
}

impl Iterator for Merged {
    type Item = sled::Result<(IVec, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        loop {
            let order = match (self.tree.peek(), self.staged.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) | (Some(_), None) => return self.tree.next(),
                (None, Some(_)) => Less,
                (Some(Ok((below, _))), Some((over, _))) => {
                    let order = over.cmp(below);
                    if self.reverse { order.reverse() } else { order }
                }
            };
            match order {
                Greater => return self.tree.next(),
                Equal => {
                    self.tree.next();
                }
                Less => {}
            }
            if let Some((key, Some(value))) = self.staged.next() {
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
            .map(|e| {
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
        assert_eq!(staged.take().len(), 1);
    }
}
