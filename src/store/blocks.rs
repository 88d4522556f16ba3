//! A value index's entries, packed into id blocks: the changes a batch makes to them, applied
//! as rewrites of the few blocks they touch, and the reads that unpack them.
//!
//! Invariant: under the key prefix of one tuple of values (the index prefix and the encoded
//! values), every block is keyed by its first id and holds 1 to [`BLOCK_IDS`] ids, strictly
//! ascending, all below the next block's first id. So the blocks of a key range, read in key
//! order, give exactly the entries that range holds, in value order then id order; and an
//! entry `(values, id)` is in the block whose key is the greatest at or before
//! `values` + `id`. A change rewrites only the blocks its ids fall in, each split again into
//! even blocks of at most [`BLOCK_IDS`]; a block left with fewer than a quarter of that takes
//! in the block after it.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use sled::IVec;

use crate::codec::{ids, keycode};
use crate::error::{Error, Result};
use crate::store::layout::BLOCK_IDS;
use crate::store::staged::{Batch, Reader};

/// Changes to value index entries, gathered per tuple of values (the key prefix of its
/// blocks) and applied to the blocks at once.
#[derive(Default)]
pub(crate) struct BlockChanges {
    values: HashMap<Vec<u8>, IdChanges, foldhash::fast::RandomState>,
}

/// The ids one tuple of values gains and loses; the later of an addition and a removal of
/// the same id wins.
#[derive(Default)]
struct IdChanges {
    add: BTreeSet<u64>,
    remove: BTreeSet<u64>,
}

impl BlockChanges {
    /// Adds entry (`values`, `id`): `values` is the key prefix of its blocks.
    pub fn add(&mut self, values: &[u8], id: u64) {
        let changes = self.changes(values);
        changes.remove.remove(&id);
        changes.add.insert(id);
    }

    /// Removes entry (`values`, `id`).
    pub fn remove(&mut self, values: &[u8], id: u64) {
        let changes = self.changes(values);
        changes.add.remove(&id);
        changes.remove.insert(id);
    }

    fn changes(&mut self, values: &[u8]) -> &mut IdChanges {
        if !self.values.contains_key(values) {
            self.values.insert(values.to_vec(), IdChanges::default());
        }
        self.values.get_mut(values).expect("inserted above")
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Writes the blocks the changes touch, as `reader` sees them, into `batch`.
    pub fn apply(self, reader: &Reader, batch: &mut Batch) -> Result<()> {
        for (values, changes) in self.values {
            rewrite(reader, batch, &values, &changes)?;
        }
        Ok(())
    }
}

/// The key of the block of `values` that starts at `first`.
pub(crate) fn block_key(values: &[u8], first: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(values.len() + 10);
    key.extend_from_slice(values);
    keycode::append_id(first, &mut key);
    key
}

/// Appends the ids of block `key` to `ids`.
pub(crate) fn decode_into(key: &[u8], block: &[u8], ids: &mut Vec<u64>) -> Result<()> {
    ids::decode_ids_into(block, ids).map_err(|e| unreadable(key, e))
}

/// The error of a block that does not decode.
fn unreadable(key: &[u8], err: crate::codec::CodecError) -> Error {
    Error::Corrupt(format!(
        "index block {key:?} cannot be read ({}); `check --repair` rebuilds the index",
        err.into_reason()
    ))
}

/// Rewrites the blocks of `values` that `changes` touch: region by region, each the block the
/// lowest change left falls in (if any) up to the next block, which a small result takes in.
fn rewrite(reader: &Reader, batch: &mut Batch, values: &[u8], changes: &IdChanges) -> Result<()> {
    let mut from = 0;
    while let Some(low) = changes.first_from(from) {
        let at = block_key(values, low);
        let mut loaded: Vec<IVec> = Vec::new();
        let mut stored: Vec<u64> = Vec::new();
        if let Some(item) = reader
            .entries(Bound::Included(values), Bound::Included(&at), true)
            .next()
        {
            let (key, block) = item?;
            stored = read_block(&key, &block)?.1;
            loaded.push(key);
        }
        let mut next = block_after(reader, values, &at)?;
        let limit = |next: &Option<(IVec, Vec<u64>)>| next.as_ref().map(|(_, ids)| ids[0]);
        let mut ids = merge(&stored, changes, low, limit(&next))?;
        while ids.len() < BLOCK_IDS / 4
            && let Some((key, more)) = next.take()
        {
            next = block_after(reader, values, &key)?;
            loaded.push(key);
            stored.extend(more);
            ids = merge(&stored, changes, low, limit(&next))?;
        }
        for key in loaded {
            batch.remove(key);
        }
        let blocks = ids.len().div_ceil(BLOCK_IDS);
        if blocks > 0 {
            for chunk in ids.chunks(ids.len().div_ceil(blocks)) {
                batch.insert(block_key(values, chunk[0]), ids::encode_ids(chunk));
            }
        }
        match limit(&next) {
            Some(limit) => from = limit,
            None => break,
        }
    }
    Ok(())
}

/// The first block of `values` after key `after`, with its ids.
fn block_after(reader: &Reader, values: &[u8], after: &[u8]) -> Result<Option<(IVec, Vec<u64>)>> {
    let end = keycode::prefix_end(values);
    let end = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    match reader.entries(Bound::Excluded(after), end, false).next() {
        None => Ok(None),
        Some(item) => {
            let (key, block) = item?;
            let ids = read_block(&key, &block)?.1;
            Ok(Some((key, ids)))
        }
    }
}

impl IdChanges {
    /// The lowest id at or above `from` that changes.
    fn first_from(&self, from: u64) -> Option<u64> {
        let add = self.add.range(from..).next();
        let remove = self.remove.range(from..).next();
        match (add, remove) {
            (Some(a), Some(r)) => Some(*a.min(r)),
            (a, r) => a.or(r).copied(),
        }
    }
}

/// `stored` (ascending: blocks one after another) with the changes to ids from `low` up to
/// `limit` (exclusive; `None`: all) made. Fails when `stored` is not ascending: the blocks
/// were damaged, and writing them again would spread it.
fn merge(stored: &[u64], changes: &IdChanges, low: u64, limit: Option<u64>) -> Result<Vec<u64>> {
    if stored.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::Corrupt(
            "index blocks overlap or are out of order; `check --repair` rebuilds the index".into(),
        ));
    }
    let range = (
        Bound::Included(low),
        limit.map_or(Bound::Unbounded, Bound::Excluded),
    );
    let mut merged = Vec::with_capacity(stored.len() + changes.add.len());
    let mut added = changes.add.range(range).copied().peekable();
    for &id in stored {
        while let Some(new) = added.next_if(|&new| new < id) {
            merged.push(new);
        }
        added.next_if_eq(&id);
        if !changes.remove.contains(&id) {
            merged.push(id);
        }
    }
    merged.extend(added);
    Ok(merged)
}

/// The values and ids of block `key`, checked: its key ends in an id, and its ids start there.
pub(crate) fn read_block<'k>(key: &'k [u8], block: &[u8]) -> Result<(&'k [u8], Vec<u64>)> {
    let Some((values, first)) = keycode::split_id(key) else {
        return Err(Error::Corrupt(format!(
            "index block key {key:?} does not end in a document id; `check --repair` rebuilds \
             the index"
        )));
    };
    let mut ids = Vec::new();
    decode_into(key, block, &mut ids)?;
    if ids[0] != first {
        return Err(Error::Corrupt(format!(
            "index block {key:?} starts at document {} but its key names {first}; `check \
             --repair` rebuilds the index",
            ids[0]
        )));
    }
    Ok((values, ids))
}

/// Every id under `values` (the entries of one tuple of values), ascending.
pub(crate) fn ids_of(reader: &Reader, values: &[u8]) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    for item in reader.prefixed(values, false) {
        let (key, block) = item?;
        decode_into(&key, &block, &mut ids)?;
    }
    Ok(ids)
}

/// How many entries a block holds, from its head.
pub(crate) fn block_len(key: &[u8], block: &[u8]) -> Result<u64> {
    ids::ids_len(block).map_err(|e| unreadable(key, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A tree of blocks for tests: changes applied straight, blocks read back whole.
    struct Blocks {
        tree: sled::Tree,
        _db: sled::Db,
    }

    impl Blocks {
        fn new() -> Blocks {
            let db = sled::Config::new().temporary(true).open().unwrap();
            let tree = db.open_tree("t").unwrap();
            Blocks { tree, _db: db }
        }

        fn change(&self, edit: impl FnOnce(&mut BlockChanges)) {
            let mut changes = BlockChanges::default();
            edit(&mut changes);
            let mut batch = Batch::Direct(sled::Batch::default());
            changes
                .apply(&Reader::tree(&self.tree), &mut batch)
                .unwrap();
            let Batch::Direct(batch) = batch else {
                unreachable!()
            };
            self.tree.apply_batch(batch).unwrap();
        }

        /// Each block of `values`: its first id and its ids.
        fn blocks(&self, values: &[u8]) -> Vec<(u64, Vec<u64>)> {
            self.tree
                .scan_prefix(values)
                .map(|item| {
                    let (key, block) = item.unwrap();
                    let (_, ids) = read_block(&key, &block).unwrap();
                    (ids[0], ids)
                })
                .collect()
        }

        /// Checks the module's invariant for `values` and returns its ids.
        fn checked_ids(&self, values: &[u8]) -> Vec<u64> {
            let mut all: Vec<u64> = Vec::new();
            for (first, ids) in self.blocks(values) {
                assert_eq!(ids[0], first);
                assert!(!ids.is_empty() && ids.len() <= BLOCK_IDS);
                assert!(all.last().is_none_or(|&last| last < first));
                all.extend(ids);
            }
            all
        }
    }

    const A: &[u8] = b"b\x01a";
    const B: &[u8] = b"b\x01b";

    #[test]
    fn appends_fill_the_last_block_then_split_it_evenly() {
        let blocks = Blocks::new();
        blocks.change(|c| (0..200).for_each(|id| c.add(A, id)));
        assert_eq!(blocks.blocks(A).len(), 1);
        blocks.change(|c| (200..300).for_each(|id| c.add(A, id)));
        let sizes: Vec<usize> = blocks.blocks(A).iter().map(|(_, ids)| ids.len()).collect();
        assert_eq!(sizes, [150, 150]);
        assert_eq!(blocks.checked_ids(A), (0..300).collect::<Vec<_>>());
        assert!(blocks.blocks(B).is_empty());
    }

    #[test]
    fn removals_merge_a_small_block_with_the_next_and_empty_values_leave_no_key() {
        let blocks = Blocks::new();
        blocks.change(|c| (0..1000).for_each(|id| c.add(A, id)));
        assert_eq!(blocks.blocks(A).len(), 4);
        // The first block keeps 5 of its 250 ids, and takes in the second.
        blocks.change(|c| (0..245).for_each(|id| c.remove(A, id)));
        let sizes: Vec<usize> = blocks.blocks(A).iter().map(|(_, ids)| ids.len()).collect();
        assert_eq!(sizes, [255, 250, 250]);
        assert_eq!(blocks.checked_ids(A), (245..1000).collect::<Vec<_>>());
        blocks.change(|c| (245..1000).for_each(|id| c.remove(A, id)));
        assert!(blocks.tree.is_empty());
    }

    #[test]
    fn the_later_of_an_addition_and_a_removal_wins() {
        let blocks = Blocks::new();
        blocks.change(|c| {
            c.add(A, 1);
            c.remove(A, 1);
            c.remove(A, 2);
            c.add(A, 2);
        });
        assert_eq!(blocks.checked_ids(A), [2]);
    }

    #[test]
    fn a_damaged_block_is_an_error_that_names_it() {
        let blocks = Blocks::new();
        blocks.change(|c| c.add(A, 5));
        blocks.tree.insert(block_key(A, 5), &[7, 1]).unwrap();
        let mut changes = BlockChanges::default();
        changes.add(A, 6);
        let err = refused(&blocks, changes);
        assert!(err.to_string().contains("check --repair"), "{err}");
        let read = ids_of(&Reader::tree(&blocks.tree), A);
        assert!(matches!(read, Err(Error::Corrupt(_))), "{read:?}");
    }

    #[test]
    fn a_change_rewrites_only_the_blocks_its_ids_fall_in() {
        let blocks = Blocks::new();
        blocks.change(|c| (0..2560).for_each(|id| c.add(A, id)));
        assert_eq!(blocks.blocks(A).len(), 10);
        // Two ids far apart: their two blocks are written again, the eight between are not.
        let mut changes = BlockChanges::default();
        changes.remove(A, 3);
        changes.remove(A, 2500);
        let mut batch = Batch::Staged(Default::default());
        changes
            .apply(&Reader::tree(&blocks.tree), &mut batch)
            .unwrap();
        let Batch::Staged(writes) = batch else {
            unreachable!()
        };
        let written: BTreeSet<Vec<u64>> = writes
            .iter()
            .filter_map(|(key, value)| value.as_ref().map(|v| read_block(key, v).unwrap().1))
            .collect();
        assert_eq!(written.len(), 2, "{written:?}");
        assert!(written.iter().all(|ids| ids.len() == 255));
    }

    #[test]
    fn a_block_out_of_order_with_the_next_is_refused_not_written_again() {
        let blocks = Blocks::new();
        blocks.change(|c| (0..10).for_each(|id| c.add(A, id)));
        // A second block that overlaps the first.
        blocks
            .tree
            .insert(block_key(A, 5), ids::encode_ids(&[5, 6]))
            .unwrap();
        let mut changes = BlockChanges::default();
        changes.remove(A, 1);
        let err = refused(&blocks, changes);
        assert!(err.to_string().contains("out of order"), "{err}");
    }

    /// The error `changes` meet when applied to `blocks`.
    fn refused(blocks: &Blocks, changes: BlockChanges) -> Error {
        let mut batch = Batch::Direct(sled::Batch::default());
        changes
            .apply(&Reader::tree(&blocks.tree), &mut batch)
            .unwrap_err()
    }

    proptest! {
        /// Any sequence of batches of additions and removals leaves blocks that keep the
        /// invariant and hold exactly the ids a set would, read forwards and backwards.
        #[test]
        fn blocks_hold_what_a_set_holds(
            batches in prop::collection::vec(
                prop::collection::vec((any::<bool>(), 0u64..2_000), 1..400),
                1..12,
            )
        ) {
            let blocks = Blocks::new();
            let mut model = BTreeSet::new();
            for batch in batches {
                blocks.change(|c| {
                    for &(add, id) in &batch {
                        if add {
                            c.add(A, id);
                            model.insert(id);
                        } else {
                            c.remove(A, id);
                            model.remove(&id);
                        }
                    }
                });
                let expected: Vec<u64> = model.iter().copied().collect();
                prop_assert_eq!(blocks.checked_ids(A), expected.clone());
                let reader = Reader::tree(&blocks.tree);
                prop_assert_eq!(ids_of(&reader, A).unwrap(), expected);
            }
        }
    }
}
