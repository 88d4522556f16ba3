//! Putting a collection right when it opens: converting an older format's keys (format 4's
//! pages of four documents into pages of two, format 3's documents into pages and entries
//! into id blocks, formats 1 and 2 first into format 3's keys), rolling back
//! an import a crash interrupted, and removing indexes left half built or half dropped.
//!
//! Invariant: each step is safe to cut short at any point; the next open finds what is left and
//! finishes it, because every step is a sequence of atomic batches ordered so that a later one
//! only removes what an earlier one made redundant.

use std::sync::Arc;

use crate::codec::{self, keycode, pages::Body};
use crate::error::Result;
use crate::store::index::{IndexState, count_groups_under};
use crate::store::layout::{self, IndexPrefix};
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

    /// Brings a collection written by an older format to the key layout of this one. Run
    /// before [`CollectionState::recover`], which reads the new layout.
    ///
    /// - Formats 1 and 2: their index entries and group counts are rewritten under format 3's
    ///   prefixes, the groups counted from the entries where format 1 wrote none; then the
    ///   collection is marked as format 3 and the old keys deleted. A crash before the mark
    ///   leaves the old keys intact, and the next open writes the new ones again from them;
    ///   after it, only the old keys' deletion is left.
    /// - Format 3: its documents, one key each, are packed into pages, and its entries, one
    ///   key each, into id blocks, a few thousand per batch that writes the pages or blocks
    ///   and deletes the keys they replace, so that a crash leaves each document and entry
    ///   either packed or as it was. Group counts do not change.
    /// - Format 4: its pages of four documents (`"p" <id / 4>`) are split into pages of two,
    ///   [`CHUNK`] pages per batch that writes the new pages and deletes the old ones, so that
    ///   a crash leaves each page split or as it was. Once no key of an older layout is left,
    ///   the collection is marked as format 5.
    pub fn upgrade(&self) -> Result<()> {
        let _guard = self.lock_writes()?;
        let layout_version = match self.tree.get(layout::LAYOUT_KEY)? {
            None => None,
            Some(bytes) => Some(layout::read_u32(&bytes).ok_or_else(|| {
                crate::error::Error::Corrupt(format!(
                    "collection `{}`: unreadable layout mark",
                    self.name
                ))
            })?),
        };
        if layout_version.is_none() {
            for prefix in [
                layout::FORMAT3_ENTRY_PREFIX,
                layout::BLOCK_PREFIX,
                layout::GROUP_PREFIX,
            ] {
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
                    let prefix = IndexPrefix::new(layout::FORMAT3_ENTRY_PREFIX, def.number);
                    let counts = count_groups_under(&self.reader(), &prefix, |_, _| Some(1))?;
                    for chunk in counts.into_iter().collect::<Vec<_>>().chunks(CHUNK * 10) {
                        let mut writer = Writer::new(self);
                        for (key, count) in chunk {
                            writer.put_raw(key, count.to_be_bytes().to_vec());
                        }
                        writer.commit_unchecked()?;
                    }
                }
            }
            self.tree.insert(layout::LAYOUT_KEY, &3u32.to_be_bytes())?;
        }
        for prefix in [layout::OLD_ENTRY_PREFIX, layout::OLD_GROUP_PREFIX] {
            self.remove_prefix(&[prefix])?;
        }
        if layout_version.is_none_or(|v| v < layout::LAYOUT_VERSION) {
            // Format 4's `"d"` keys are documents stored apart, already where they belong.
            if layout_version.is_none_or(|v| v < 4) {
                self.pack_documents()?;
            }
            self.pack_entries()?;
            self.split_pages()?;
            self.tree
                .insert(layout::LAYOUT_KEY, &layout::LAYOUT_VERSION.to_be_bytes())?;
        }
        Ok(())
    }

    /// Moves format 3's documents (`"d" <id>`, one key each) into their pages, [`CHUNK`]
    /// per batch, each batch deleting the keys it packs (a large document is stored apart
    /// again under its key, which a later pass packs again, the same way; so are format 4's
    /// documents stored apart).
    fn pack_documents(&self) -> Result<()> {
        self.in_chunks(layout::DOC_PREFIX, |documents| {
            let mut writer = Writer::new(self);
            // A key that holds no id is left: `check` reports it.
            for (key, body) in documents {
                if let Some(id) = layout::doc_id(key) {
                    writer.pack_document(id, body);
                }
            }
            writer.commit_unchecked()
        })
    }

    /// Splits format 4's pages of four documents into pages of two, [`CHUNK`] pages per
    /// batch, each batch deleting the pages it splits. A document a page marks as stored apart
    /// keeps its key, and its new page marks it so. What a current page already holds wins
    /// over an old page's copy (an upgrade never leaves both; damage can, for `repair`). An old
    /// page that does not read, or whose documents fall in a current page that does not, is
    /// left as it is for `check` to report: one damaged page does not keep the store from
    /// opening.
    pub(in crate::store) fn split_pages(&self) -> Result<()> {
        let reader = self.reader();
        self.in_chunks(layout::FORMAT4_PAGE_PREFIX, |pages| {
            let mut writer = Writer::new(self);
            let mut split = 0;
            for (key, page) in pages {
                let first = layout::format4_page_number(key)
                    .and_then(|n| n.checked_mul(layout::FORMAT4_PAGE_SLOTS));
                let head = codec::pages::read_page_of(page, layout::FORMAT4_PAGE_SLOTS);
                let (Some(first), Ok(head)) = (first, head) else {
                    continue;
                };
                let listed: Result<Vec<bool>> = head
                    .iter()
                    .map(|(slot, _)| crate::store::pages::page_lists(&reader, first + slot))
                    .collect();
                let Ok(listed) = listed else {
                    continue;
                };
                writer.remove_key(key);
                split += 1;
                for ((slot, body), listed) in head.into_iter().zip(listed) {
                    match body {
                        _ if listed => {}
                        Body::Here(range) => writer.pack_document(first + slot, &page[range]),
                        Body::Apart => writer.mark_apart(first + slot),
                    }
                }
            }
            match split {
                0 => Ok(()),
                _ => writer.commit_unchecked(),
            }
        })
    }

    /// Runs `f` on the keys and values starting with `prefix`, [`CHUNK`] at a time in key
    /// order, reading each chunk after `f` has run on the one before: `f` may delete what it
    /// was given, or leave it.
    fn in_chunks(
        &self,
        prefix: u8,
        mut f: impl FnMut(&[(sled::IVec, sled::IVec)]) -> Result<()>,
    ) -> Result<()> {
        use std::ops::Bound;
        let end = [prefix + 1];
        let mut after: Option<sled::IVec> = None;
        loop {
            let start = match &after {
                Some(key) => Bound::Excluded(key.as_ref()),
                None => Bound::Included(&[prefix][..]),
            };
            let chunk: Vec<(sled::IVec, sled::IVec)> = self
                .tree
                .range::<&[u8], _>((start, Bound::Excluded(&end[..])))
                .take(CHUNK)
                .collect::<std::result::Result<_, _>>()?;
            let Some((last, _)) = chunk.last() else {
                return Ok(());
            };
            after = Some(last.clone());
            f(&chunk)?;
        }
    }

    /// Puts right what an upgrade left behind (only damage can leave it): splits format 4's
    /// pages that read, and drops format 3's entries, which the indexes' rebuild replaces.
    /// Call with the write lock.
    pub(in crate::store) fn clear_older_layouts(&self) -> Result<()> {
        self.split_pages()?;
        self.remove_prefix(&[layout::FORMAT3_ENTRY_PREFIX])
    }

    /// Puts right documents stored apart that their pages do not list (left by damage): one
    /// whose page holds another version of it is dropped, one whose page lacks it goes back
    /// into its page. Call with the write lock.
    pub(in crate::store) fn restore_strays(&self) -> Result<()> {
        for chunk in self.strays_apart()?.chunks(CHUNK) {
            let mut writer = Writer::new(self);
            for (key, id) in chunk {
                match (id, self.tree.get(key)?) {
                    (Some(id), Some(body)) if self.read_stored(*id)?.is_none() => {
                        writer.pack_document(*id, &body);
                    }
                    _ => writer.remove_key(key),
                }
            }
            writer.commit_unchecked()?;
        }
        Ok(())
    }

    /// The keys of documents stored apart that their pages do not list, with the id each
    /// holds (`None`: not a document key). One whose page cannot be read is left out: the
    /// page is the problem, and `check` reports it.
    pub(in crate::store) fn strays_apart(&self) -> Result<Vec<(sled::IVec, Option<u64>)>> {
        let reader = self.reader();
        let mut strays = Vec::new();
        for key in self.tree.scan_prefix([layout::DOC_PREFIX]).keys() {
            let key = key?;
            let id = layout::doc_id(&key);
            match id.map(|id| crate::store::pages::marked_apart(&reader, id)) {
                Some(Ok(true) | Err(_)) => {}
                Some(Ok(false)) | None => strays.push((key, id)),
            }
        }
        Ok(strays)
    }

    /// Moves format 3's entries (`"e" <number> <values> <id>`, one key each) into id blocks,
    /// [`CHUNK`] × 10 entries per batch, each batch deleting the entries it packs.
    fn pack_entries(&self) -> Result<()> {
        loop {
            let keys = self.first_keys(&[layout::FORMAT3_ENTRY_PREFIX])?;
            if keys.is_empty() {
                return Ok(());
            }
            let mut writer = Writer::new(self);
            for key in &keys {
                writer.remove_key(key);
                // A key without an index number and an id is left out: `check` then reports
                // the entry its document misses.
                if let (Some(_), Some((values, id))) =
                    (layout::index_number(key), keycode::split_id(key))
                {
                    let mut values = values.to_vec();
                    values[0] = layout::BLOCK_PREFIX;
                    writer.pack_entry(&values, id);
                }
            }
            writer.commit_unchecked()?;
        }
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
                let mut new_key = IndexPrefix::new(layout::FORMAT3_ENTRY_PREFIX, number).to_vec();
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

    /// The first [`CHUNK`] × 10 keys starting with `prefix`: what one batch of a conversion
    /// or a deletion takes on.
    fn first_keys(&self, prefix: &[u8]) -> Result<Vec<sled::IVec>> {
        let keys = self.tree.scan_prefix(prefix).keys().take(CHUNK * 10);
        Ok(keys.collect::<std::result::Result<_, _>>()?)
    }

    /// Deletes every key starting with `prefix`, in batches. Call with the write lock.
    fn remove_prefix(&self, prefix: &[u8]) -> Result<()> {
        loop {
            let keys = self.first_keys(prefix)?;
            if keys.is_empty() {
                return Ok(());
            }
            let mut writer = Writer::new(self);
            keys.iter().for_each(|k| writer.remove_key(k));
            writer.commit()?;
        }
    }
}
