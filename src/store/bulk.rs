//! All-or-nothing bulk loads (imports): many batches, one outcome.
//!
//! A load owns the contiguous id range it assigns. Before its first batch it records a journal
//! entry with the first id; every document it replaces (an upsert) is saved under the journal
//! in the same batch as the replacement. Committing removes the journal. Rolling back — on
//! error, when the load is dropped unfinished, or at the next open after a crash — restores
//! the saved documents, deletes every document from the first id on, and removes the journal,
//! so the collection and its indexes are exactly as before.
//!
//! A load holds back its changes to the group counts and applies them all in its last batch,
//! with the journal's removal: written per batch, a count touched by many batches was read and
//! rewritten in each (a `date` index gets a new count key for nearly every document). While it
//! runs, the stored counts are therefore those from before the load, `count by` counts the
//! entries instead (see [`CollectionState::counts_held`]), and a rollback leaves the counts
//! alone. A load that touches more than [`MAX_HELD_GROUPS`] counts applies what it holds with
//! its next batch and from then on counts batch by batch, as the journal then records.

use std::collections::HashMap;

use crate::codec::{document, keycode};
use crate::error::{Error, Result};
use crate::path::Path;
use crate::store::state::{CollectionState, WriteGuard};
use crate::store::write::{GroupChanges, Writer, merge_group_changes, prepare_document};
use crate::store::{Collection, layout};
use crate::value::Value;

/// Documents per batch. Against 2,000, batches of 1,000 took a tenth to a quarter less peak
/// memory at 10,000 and 100,000 documents of 1 KB, at the same speed (sled holds more per
/// batch).
const BATCH_DOCS: usize = 1000;
/// Encoded bytes per batch (whichever limit comes first).
const BATCH_BYTES: usize = 2 << 20;
/// Documents and bytes per batch into a collection with a text index: each batch rewrites
/// the last block of every term its documents hold, so fewer, larger batches write less.
const TEXT_BATCH_DOCS: usize = 10_000;
const TEXT_BATCH_BYTES: usize = 16 << 20;
/// Group counts a load may hold back in memory (about 100 bytes each) before it applies them.
const MAX_HELD_GROUPS: usize = 100_000;

/// The key under which a replaced document is saved during a load.
fn saved_key(id: u64) -> Vec<u8> {
    [layout::JOURNAL_SAVED_PREFIX, &id.to_be_bytes()].concat()
}

/// A running bulk load; see the module docs. Holds the collection's write lock.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// let people = db.collection("people")?;
/// let mut load = people.bulk_load()?;
/// load.insert(serde_json::json!({"name": "Ada"}).try_into()?)?;
/// load.insert(serde_json::json!({"name": "Bob"}).try_into()?)?;
/// load.commit()?;
/// assert_eq!(people.len()?, 2);
///
/// let mut load = people.bulk_load()?;
/// load.insert(serde_json::json!({"name": "Cy"}).try_into()?)?;
/// load.rollback()?; // or drop it unfinished
/// assert_eq!(people.len()?, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BulkLoad<'a> {
    state: &'a CollectionState,
    _guard: WriteGuard<'a>,
    first_id: u64,
    writer: Option<Writer<'a>>,
    batch_docs: usize,
    /// Documents and bytes a batch holds before it is applied.
    batch_limits: (usize, usize),
    /// For upserts: encoded key value -> document id, built on first use.
    keys: Option<(Path, HashMap<Vec<u8>, u64>)>,
    saved: std::collections::HashSet<u64>,
    /// The group-count changes of the batches applied so far, while the load holds them back.
    held: Option<GroupChanges>,
    /// How many group counts `held` may reach ([`MAX_HELD_GROUPS`]).
    max_held_groups: usize,
    /// Set when a batch failed: the load can then only be rolled back.
    failed: bool,
    inserted: u64,
    replaced: u64,
    finished: bool,
}

impl Collection {
    /// Starts an all-or-nothing bulk load into this collection. Other writers wait until it
    /// commits or rolls back; readers may see its committed batches meanwhile (and `count by`
    /// then counts index entries, as the load brings the per-value counts up to date only as
    /// it commits).
    pub fn bulk_load(&self) -> Result<BulkLoad<'_>> {
        self.refuse_in_transaction("import")?;
        let guard = self.state.lock_writes()?;
        // A load whose rollback failed left its journal: finish that first.
        roll_back(&self.state)?;
        let first_id = self.state.meta().next_id;
        self.state
            .tree
            .insert(layout::JOURNAL_KEY, layout::journal_value(first_id, true))?;
        self.state.hold_counts(true);
        let text = self.state.meta().indexes.iter().any(|d| d.is_text());
        Ok(BulkLoad {
            state: &self.state,
            _guard: guard,
            first_id,
            writer: None,
            batch_docs: 0,
            batch_limits: match text {
                true => (TEXT_BATCH_DOCS, TEXT_BATCH_BYTES),
                false => (BATCH_DOCS, BATCH_BYTES),
            },
            keys: None,
            saved: Default::default(),
            held: Some(GroupChanges::default()),
            max_held_groups: MAX_HELD_GROUPS,
            failed: false,
            inserted: 0,
            replaced: 0,
            finished: false,
        })
    }
}

impl<'a> BulkLoad<'a> {
    /// Adds a document under a new id.
    pub fn insert(&mut self, doc: Value) -> Result<u64> {
        self.ensure_usable()?;
        let doc = prepare_document(doc)?;
        let id = self.writer().insert(&doc)?;
        self.inserted += 1;
        self.after_write()?;
        Ok(id)
    }

    /// Adds a document, or replaces the one whose value at `key` is the same (keeping its
    /// id). Returns the id and whether it replaced one. Documents without the key are added.
    pub fn upsert(&mut self, key: &Path, doc: Value) -> Result<(u64, bool)> {
        self.ensure_usable()?;
        let doc = prepare_document(doc)?;
        self.writer().track_pending();
        let Some(value) = key.first(&doc).cloned() else {
            let id = self.writer().insert(&doc)?;
            self.inserted += 1;
            self.after_write()?;
            return Ok((id, false));
        };
        let mut encoded = Vec::new();
        keycode::encode_value(&value, &mut encoded);
        let existing = self.key_map(key)?.get(&encoded).copied();
        let result = match existing {
            Some(id) => {
                let old = self.current(id)?;
                if id < self.first_id && self.saved.insert(id) {
                    let mut bytes = Vec::new();
                    document::encode_document(&old, &mut bytes)?;
                    self.writer().put_raw(&saved_key(id), bytes);
                }
                self.writer().replace(id, &old, &doc)?;
                self.replaced += 1;
                (id, true)
            }
            None => {
                let id = self.writer().insert(&doc)?;
                self.inserted += 1;
                (id, false)
            }
        };
        self.key_map(key)?.insert(encoded, result.0);
        self.after_write()?;
        Ok(result)
    }

    /// Documents added so far.
    pub fn inserted(&self) -> u64 {
        self.inserted
    }

    /// Documents replaced so far (upserts).
    pub fn replaced(&self) -> u64 {
        self.replaced
    }

    /// Writes the last batch and ends the load: everything it added stays.
    pub fn commit(mut self) -> Result<()> {
        self.ensure_usable()?;
        self.flush_batch()?;
        let mut writer = Writer::new(self.state);
        writer.remove_key(layout::JOURNAL_KEY);
        for id in &self.saved {
            writer.remove_key(&saved_key(*id));
        }
        if let Some(held) = self.held.take() {
            writer.add_group_changes(held);
        }
        writer.commit()?;
        self.state.hold_counts(false);
        self.finished = true;
        Ok(())
    }

    /// Undoes everything the load wrote.
    pub fn rollback(mut self) -> Result<()> {
        self.finished = true;
        self.writer = None;
        roll_back(self.state)?;
        self.state.hold_counts(false);
        Ok(())
    }

    fn ensure_usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::Storage(
                "a batch of this load failed: it can only be rolled back".into(),
            ));
        }
        Ok(())
    }

    fn writer(&mut self) -> &mut Writer<'a> {
        let state = self.state;
        self.writer.get_or_insert_with(|| Writer::new(state))
    }

    /// The document `id` as it is now: in this batch's pending writes or in the tree.
    fn current(&mut self, id: u64) -> Result<Value> {
        if let Some(doc) = self.writer.as_ref().and_then(|w| w.pending_document(id)) {
            return Ok(doc);
        }
        let mut doc = self
            .state
            .read(id)?
            .ok_or_else(|| Error::Corrupt(format!("document {id} vanished during a load")))?;
        if let Value::Object(fields) = &mut doc {
            fields.shift_remove("_id");
        }
        Ok(doc)
    }

    fn key_map(&mut self, key: &Path) -> Result<&mut HashMap<Vec<u8>, u64>> {
        if self.keys.as_ref().is_none_or(|(p, _)| p != key) {
            let mut map = HashMap::new();
            for item in self.state.stored_documents() {
                let (id, bytes) = item?;
                let doc = self.state.decode(id, &bytes)?;
                if let Some(value) = key.first(&doc) {
                    let mut encoded = Vec::new();
                    keycode::encode_value(value, &mut encoded);
                    map.insert(encoded, id);
                }
            }
            self.keys = Some((key.clone(), map));
        }
        match &mut self.keys {
            Some((_, map)) => Ok(map),
            None => Err(Error::Storage("upsert key map missing".into())),
        }
    }

    fn after_write(&mut self) -> Result<()> {
        self.batch_docs += 1;
        let bytes = self.writer.as_ref().map_or(0, Writer::value_bytes);
        if self.batch_docs >= self.batch_limits.0 || bytes >= self.batch_limits.1 {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<()> {
        self.batch_docs = 0;
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        let mut stops_holding = false;
        if let Some(held) = &mut self.held {
            merge_group_changes(held, writer.take_group_changes());
            if held.len() > self.max_held_groups {
                // Too many to keep: this batch applies them, and the journal says that the
                // counts are now kept up to date batch by batch.
                writer.add_group_changes(std::mem::take(held));
                writer.put_raw(
                    layout::JOURNAL_KEY,
                    layout::journal_value(self.first_id, false),
                );
                stops_holding = true;
            }
        }
        let committed = writer.commit();
        self.failed |= committed.is_err();
        committed?;
        if stops_holding {
            self.held = None;
            self.state.hold_counts(false);
        }
        Ok(())
    }
}

impl Drop for BulkLoad<'_> {
    fn drop(&mut self) {
        // Not while a panic unwinds (sled's, on a damaged store): the journal stays, and the
        // next open finishes it.
        if !self.finished && !std::thread::panicking() {
            self.writer = None;
            // Best effort: if this fails too, the journal stays and the next open (or load)
            // finishes it; meanwhile the counts stay marked as held back.
            if roll_back(self.state).is_ok() {
                self.state.hold_counts(false);
            }
        }
    }
}

/// Undoes an unfinished load recorded in the journal: restores saved documents, deletes the
/// load's ids, removes the journal. Call with the write lock held; does nothing without a
/// journal.
pub(crate) fn roll_back(state: &CollectionState) -> Result<()> {
    let Some(first) = state.tree.get(layout::JOURNAL_KEY)? else {
        return Ok(());
    };
    let (first_id, counts_held) = layout::read_journal(&first)
        .ok_or_else(|| Error::Corrupt("unreadable import journal".into()))?;
    // Held-back count changes never reached the stored counts, so undoing the load's entries
    // must not change them either.
    let commit = |mut writer: Writer| {
        if counts_held {
            writer.take_group_changes();
        }
        writer.commit_unchecked()
    };
    // Put back the documents the load replaced.
    loop {
        let saved: Vec<(sled::IVec, sled::IVec)> = state
            .tree
            .scan_prefix(layout::JOURNAL_SAVED_PREFIX)
            .take(BATCH_DOCS)
            .collect::<std::result::Result<_, _>>()?;
        if saved.is_empty() {
            break;
        }
        let mut writer = Writer::new(state);
        for (key, bytes) in &saved {
            let id = layout::read_u64(&key[layout::JOURNAL_SAVED_PREFIX.len()..])
                .ok_or_else(|| Error::Corrupt("unreadable import journal entry".into()))?;
            let old = document::decode_document(bytes, None)
                .map_err(|e| Error::Corrupt(format!("import journal: {e}")))?;
            if let Some(current) = state.read(id)? {
                writer.replace(id, &current, &old)?;
            }
            writer.remove_key(key);
        }
        commit(writer)?;
    }
    // Delete what the load added.
    loop {
        let added: Vec<(u64, crate::store::Stored)> = state
            .stored_documents_from(first_id)
            .take(BATCH_DOCS)
            .collect::<Result<_>>()?;
        if added.is_empty() {
            break;
        }
        let mut writer = Writer::new(state);
        for (id, bytes) in &added {
            let doc = document::decode_document(bytes, None)
                .map_err(|e| Error::Corrupt(format!("document {id}: {e}")))?;
            writer.remove(*id, &doc)?;
        }
        commit(writer)?;
    }
    let mut writer = Writer::new(state);
    writer.remove_key(layout::JOURNAL_KEY);
    writer.commit_unchecked()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_an_index_refuses_leaves_the_load_whole() {
        let db = crate::store::Db::temporary().unwrap();
        let c = db.collection("notes").unwrap();
        c.create_index(&["tags"]).unwrap();
        c.create_text_index(&["body"], crate::text::Language::None)
            .unwrap();
        let note = |body: &str, tags: Vec<usize>| {
            Value::try_from(serde_json::json!({ "body": body, "tags": tags })).unwrap()
        };
        let mut load = c.bulk_load().unwrap();
        load.insert(note("first words", vec![1])).unwrap();
        // More entries than an index takes from one document: refused, as a load that skips
        // invalid documents skips it, and nothing of it stays.
        let many: Vec<usize> = (0..=crate::store::MAX_ENTRIES_PER_DOCUMENT).collect();
        let refused = load.insert(note("refused words", many));
        assert!(
            matches!(refused, Err(Error::InvalidDocument(_))),
            "{refused:?}"
        );
        load.insert(note("last words", vec![2])).unwrap();
        load.commit().unwrap();
        let report = db.check().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        assert_eq!(c.len().unwrap(), 2);
        assert_eq!(
            db.query("from notes where search 'words'").unwrap().count(),
            2
        );
        assert_eq!(
            db.query("from notes where search 'refused'")
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn a_load_into_a_text_index_takes_larger_batches_and_is_all_or_nothing() {
        let db = crate::store::Db::temporary().unwrap();
        let c = db.collection("notes").unwrap();
        c.insert(&Value::try_from(serde_json::json!({"body": "w1 kept"})).unwrap())
            .unwrap();
        c.create_text_index(&["body"], crate::text::Language::None)
            .unwrap();
        let note = |n: usize| {
            let body = format!("w{} w{} n{n}", n % 50, n % 7);
            Value::try_from(serde_json::json!({ "body": body })).unwrap()
        };
        let words = |query: &str| db.query(query).unwrap().count();
        for commit in [false, true] {
            let mut load = c.bulk_load().unwrap();
            assert_eq!(load.batch_limits, (TEXT_BATCH_DOCS, TEXT_BATCH_BYTES));
            // More than a batch: the first is applied before the load ends.
            for n in 0..TEXT_BATCH_DOCS + 500 {
                load.insert(note(n)).unwrap();
            }
            if commit {
                load.commit().unwrap();
            } else {
                drop(load);
            }
            let report = db.check().unwrap();
            assert!(report.is_clean(), "{:?}", report.problems);
            let expected = if commit { TEXT_BATCH_DOCS + 500 } else { 0 };
            assert_eq!(words("from notes where search 'w49'"), expected / 50);
            assert_eq!(words("from notes where search 'kept w1'"), 1);
        }
    }

    fn doc(n: i64) -> Value {
        Value::try_from(serde_json::json!({ "n": n })).unwrap()
    }

    #[test]
    fn a_load_past_its_bound_of_held_counts_applies_them_and_counts_batch_by_batch() {
        let db = crate::Db::temporary().unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["n"]).unwrap();
        let journal = || {
            let bytes = c.state.tree.get(layout::JOURNAL_KEY).unwrap().unwrap();
            layout::read_journal(&bytes).unwrap()
        };
        for commit in [false, true] {
            let first = c.state.meta().next_id;
            let mut load = c.bulk_load().unwrap();
            load.max_held_groups = 100;
            for n in 0..10 {
                load.insert(doc(n)).unwrap();
            }
            assert!(c.state.counts_held());
            assert_eq!(journal(), (first, true));
            // The first batch brings more distinct values than the bound.
            for n in 10..BATCH_DOCS as i64 + 10 {
                load.insert(doc(n)).unwrap();
            }
            assert!(load.held.is_none());
            assert!(!c.state.counts_held());
            assert_eq!(journal(), (first, false));
            if commit {
                load.commit().unwrap();
                assert_eq!(c.len().unwrap(), BATCH_DOCS as u64 + 10);
            } else {
                drop(load);
                assert!(c.is_empty().unwrap());
            }
            let report = db.check().unwrap();
            assert!(report.is_clean(), "{:?}", report.problems);
        }
    }

    #[test]
    fn a_load_of_large_documents_applies_a_batch_per_2_mib() {
        let db = crate::Db::temporary().unwrap();
        let c = db.collection("c").unwrap();
        let text = "x".repeat(300_000);
        let big = |n: i64| Value::try_from(serde_json::json!({ "n": n, "text": text })).unwrap();
        let applied = || c.state.batches() / 2;
        let before = applied();
        let mut load = c.bulk_load().unwrap();
        for n in 0..6 {
            load.insert(big(n)).unwrap();
        }
        // Six documents of 300 KB stay below 2 MiB: nothing applied yet.
        assert_eq!(applied(), before);
        load.insert(big(6)).unwrap();
        // The seventh takes the batch past 2 MiB, long before 1,000 documents.
        assert_eq!(applied(), before + 1);
        load.commit().unwrap();
        assert_eq!(c.len().unwrap(), 7);
    }
}
