//! Putting a collection right when it opens: converting an older format's keys, rolling back
//! an import a crash interrupted, and removing indexes left half built or half dropped.
//!
//! Invariant: each step is safe to cut short at any point; the next open finds what is left and
//! finishes it, because every step is a sequence of atomic batches ordered so that a later one
//! only removes what an earlier one made redundant.

use std::sync::Arc;

use crate::codec::keycode;
use crate::error::Result;
use crate::store::index::IndexState;
use crate::store::layout;
use crate::store::state::{CHUNK, CollectionState};
use crate::store::write::Writer;

impl CollectionState {
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
    pub(in crate::store) fn remove_index(&self, number: u32) -> Result<()> {
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

    /// Deletes every key of index `number` (entries and group counts; posting blocks, length
    /// pages and the corpus of a text index), in batches. Call with the write lock.
    pub(in crate::store) fn clear_entries(&self, number: u32) -> Result<()> {
        for prefix in layout::index_prefixes(number) {
            self.remove_prefix(&prefix)?;
        }
        Ok(())
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
                    let counts = def.count_groups(&self.reader())?;
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
