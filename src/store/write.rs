//! The batch writer: every change to a collection goes through it, so that a document (its
//! page), all of its index entries (their blocks) and the collection's counters change
//! together in one atomic sled batch.

use std::collections::{HashMap, HashSet};

use crate::codec::{document, keycode};
use crate::error::{Error, Result};
use crate::store::blocks::{self, BlockChanges};
use crate::store::index::{Entry, IndexDef};
use crate::store::layout;
use crate::store::pages::PageChanges;
use crate::store::staged::Batch;
use crate::store::state::{CollectionState, Meta};
use crate::store::text::{TextBuild, TextChanges};
use crate::text::DocTerms;
use crate::value::Value;

/// Collects changes to one collection and applies them all at once in [`Writer::commit`].
///
/// Hold the collection's write lock while a writer lives: index maintenance reads the tree.
pub(crate) struct Writer<'a> {
    state: &'a CollectionState,
    meta: Meta,
    batch: Batch,
    /// Unique-rule entries this batch adds, with their document ids, checked at commit.
    added_unique: Vec<(Entry, u64)>,
    /// Entry keys this batch removes (an old value freed for another document).
    removed: HashSet<Vec<u8>>,
    /// How this batch changes each group count it touches.
    groups: GroupChanges,
    /// What this batch changes in value indexes, applied to their id blocks at commit.
    blocks: BlockChanges,
    /// The documents this batch writes and removes, applied to their pages at commit.
    pages: PageChanges,
    defs_changed: bool,
    /// Bytes of the documents (and other values) this batch writes.
    value_bytes: usize,
    /// Documents written by this batch, kept (when asked) for reads before it commits.
    pending: Option<HashMap<u64, Value>>,
    /// What this batch changes in text indexes, applied to their blocks at commit.
    text: TextChanges,
}

/// Changes to group counts: group-count key -> how much the count moves.
pub(crate) type GroupChanges = HashMap<Vec<u8>, i64, foldhash::fast::RandomState>;

/// Adds the changes in `more` to `changes`.
pub(crate) fn merge_group_changes(changes: &mut GroupChanges, more: GroupChanges) {
    for (key, change) in more {
        *changes.entry(key).or_insert(0) += change;
    }
}

/// Checks a document before it is stored: an object, finite numbers, not too deep. Drops any
/// `_id` field: ids are assigned by the store and added back when the document is read.
pub(crate) fn prepare_document(doc: Value) -> Result<Value> {
    match doc {
        Value::Object(mut fields) => {
            fields.shift_remove("_id");
            let doc = Value::Object(fields);
            doc.validate()?;
            Ok(doc)
        }
        other => Err(Error::InvalidDocument(format!(
            "a document must be an object, not {} `{other}`",
            article(other.type_name())
        ))),
    }
}

fn article(type_name: &str) -> String {
    let a = if type_name.starts_with(['a', 'o']) {
        "an"
    } else {
        "a"
    };
    format!("{a} {type_name}")
}

impl<'a> Writer<'a> {
    /// A writer over the collection's current metadata.
    pub fn new(state: &'a CollectionState) -> Writer<'a> {
        Writer {
            state,
            meta: Meta::clone(&state.meta()),
            batch: state.batch(),
            added_unique: Vec::new(),
            removed: HashSet::new(),
            groups: GroupChanges::default(),
            blocks: BlockChanges::default(),
            defs_changed: false,
            pages: PageChanges::default(),
            value_bytes: 0,
            pending: None,
            text: TextChanges::default(),
        }
    }

    /// The metadata as this batch will leave it.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Replaces the metadata this batch will write (used for catalog changes).
    pub fn meta_mut(&mut self) -> &mut Meta {
        self.defs_changed = true;
        &mut self.meta
    }

    /// Adds a prepared document under a new id and returns the id. A document an index
    /// refuses (too many entries, too many words) changes nothing in the batch, so a load
    /// that skips such documents goes on with a whole batch.
    pub fn insert(&mut self, doc: &Value) -> Result<u64> {
        let id = self.meta.next_id;
        let next = id
            .checked_add(1)
            .ok_or_else(|| Error::Storage("document ids are exhausted".into()))?;
        // Whatever may refuse the document first: its encoding, its value index entries,
        // then its text index terms (which change nothing when refused).
        let mut body = Vec::new();
        document::encode_document(doc, &mut body)?;
        let mut entries = Vec::new();
        for (i, def) in self.meta.indexes.iter().enumerate() {
            if maintained(def) && !def.is_text() {
                entries.push((i, def.entries(doc, id)?));
            }
        }
        if let Some(def) = self
            .meta
            .indexes
            .iter()
            .find(|def| maintained(def) && def.is_text())
        {
            self.text.insert(def, id, doc)?;
        }
        self.meta.next_id = next;
        self.meta.count += 1;
        if let Some(pending) = &mut self.pending {
            pending.insert(id, doc.clone());
        }
        self.value_bytes += body.len();
        self.pages.put(id, body);
        for (i, (index_entries, multi)) in entries {
            if multi && !self.meta.indexes[i].multikey {
                std::sync::Arc::make_mut(&mut self.meta.indexes[i]).multikey = true;
                self.defs_changed = true;
            }
            for entry in index_entries {
                self.add_entry(entry, id);
            }
        }
        Ok(id)
    }

    /// Replaces document `id`, currently `old`, with the prepared document `new`.
    pub fn replace(&mut self, id: u64, old: &Value, new: &Value) -> Result<()> {
        self.put_document(id, new)?;
        for i in 0..self.meta.indexes.len() {
            let index = &self.meta.indexes[i];
            if !maintained(index) || same_fields(index, old, new) {
                continue;
            }
            if index.is_text() {
                let (before, after) = (index.text_terms(old)?, index.text_terms(new)?);
                self.text.change(index.number, id, &before, &after);
                continue;
            }
            let (before, _) = index.entries(old, id)?;
            let after = self.entries(i, new, id)?;
            let before_keys: HashSet<&[u8]> = before.iter().map(|e| e.key.as_slice()).collect();
            let after_keys: HashSet<&[u8]> = after.iter().map(|e| e.key.as_slice()).collect();
            for entry in &before {
                if !after_keys.contains(entry.key.as_slice()) {
                    self.remove_entry(entry);
                }
            }
            for entry in after {
                if !before_keys.contains(entry.key.as_slice()) {
                    self.add_entry(entry, id);
                }
            }
        }
        Ok(())
    }

    /// Removes document `id`, currently `old`, and its entries.
    pub fn remove(&mut self, id: u64, old: &Value) -> Result<()> {
        if let Some(pending) = &mut self.pending {
            pending.remove(&id);
        }
        self.pages.remove(id);
        self.meta.count = self.meta.count.saturating_sub(1);
        for i in 0..self.meta.indexes.len() {
            let index = &self.meta.indexes[i];
            if !maintained(index) {
                continue;
            }
            if index.is_text() {
                let before = index.text_terms(old)?;
                self.text
                    .change(index.number, id, &before, &DocTerms::default());
                continue;
            }
            let (entries, _) = self.meta.indexes[i].entries(old, id)?;
            for entry in &entries {
                self.remove_entry(entry);
            }
        }
        Ok(())
    }

    /// Writes the entries `doc` gives index `number` for a new document `id`, above every id
    /// the collection holds (an insert, or a backfill).
    pub fn add_index_entries(&mut self, index: usize, id: u64, doc: &Value) -> Result<()> {
        let def = &self.meta.indexes[index];
        if def.is_text() {
            return self.text.insert(def, id, doc);
        }
        for entry in self.entries(index, doc, id)? {
            self.add_entry(entry, id);
        }
        Ok(())
    }

    /// Writes what a text index build holds (see [`TextBuild`]) into this batch; with
    /// `unbatched` (an index still building, which nothing reads), its blocks at once, one
    /// key at a time, and only its length pages and corpus into this batch.
    pub fn write_text_build(&mut self, build: &mut TextBuild, unbatched: bool) -> Result<()> {
        let state = self.state;
        let put = |key: Vec<u8>, value: Vec<u8>| state.put_unbatched(&key, value);
        build.write(unbatched.then_some(&put), &state.reader(), &mut self.batch)
    }

    /// Removes a raw key (used when dropping an index's blocks and group counts).
    pub fn remove_key(&mut self, key: &[u8]) {
        self.batch.remove(key);
    }

    /// Moves document `id` from a key of its own (as format 3 stored every document, or as
    /// damage left it) into its page, where a large one is stored apart again, under that key.
    pub fn pack_document(&mut self, id: u64, body: &[u8]) {
        self.batch.remove(&layout::doc_key(id));
        self.pages.put(id, body.to_vec());
    }

    /// Marks document `id` as stored apart in its page, its own key left as it is (an older
    /// format's page being split).
    pub fn mark_apart(&mut self, id: u64) {
        self.pages.mark_apart(id);
    }

    /// Adds an entry that is already counted in its group (an older format's entry being
    /// packed into a block): `values` is its block prefix.
    pub fn pack_entry(&mut self, values: &[u8], id: u64) {
        self.blocks.add(values, id);
    }

    /// Writes a raw key (the bulk loader's journal).
    pub fn put_raw(&mut self, key: &[u8], value: Vec<u8>) {
        self.value_bytes += value.len();
        self.batch.insert(key, value);
    }

    /// Bytes of the documents and other values this batch writes so far: what a bulk load
    /// sizes its batches by.
    pub fn value_bytes(&self) -> usize {
        self.value_bytes
    }

    /// A document this batch has written but not yet committed, without `_id`.
    pub fn pending_document(&self, id: u64) -> Option<Value> {
        self.pending.as_ref()?.get(&id).cloned()
    }

    /// Keeps the documents this batch writes readable through [`Writer::pending_document`].
    pub fn track_pending(&mut self) {
        self.pending.get_or_insert_with(HashMap::new);
    }

    /// Takes the group-count changes this batch has made so far, so that it commits without
    /// them: a bulk load holds them back until it ends, and the rollback of such a load drops
    /// them (the stored counts never had them).
    pub fn take_group_changes(&mut self) -> GroupChanges {
        std::mem::take(&mut self.groups)
    }

    /// Adds group-count changes held back from earlier batches, to be applied with this one.
    pub fn add_group_changes(&mut self, changes: GroupChanges) {
        merge_group_changes(&mut self.groups, changes);
    }

    /// Checks the unique rules, then applies everything in one atomic batch and installs the
    /// new metadata. Nothing is written when it fails.
    pub fn commit(self) -> Result<()> {
        self.check_unique()?;
        self.commit_unchecked()
    }

    /// Applies the batch without checking unique rules: for restoring a previous state
    /// (rollback), which held them already.
    pub fn commit_unchecked(mut self) -> Result<()> {
        let before = self.state.meta();
        if self.meta.next_id != before.next_id {
            self.batch
                .insert(layout::NEXT_ID_KEY, &self.meta.next_id.to_be_bytes());
        }
        if self.meta.count != before.count {
            self.batch
                .insert(layout::COUNT_KEY, &self.meta.count.to_be_bytes());
        }
        if self.meta.next_index != before.next_index {
            self.batch
                .insert(layout::NEXT_INDEX_KEY, &self.meta.next_index.to_be_bytes());
        }
        for (key, change) in std::mem::take(&mut self.groups) {
            if change == 0 {
                continue;
            }
            let stored = match self.state.get_key(&key)? {
                None => 0,
                Some(bytes) => layout::read_u64(&bytes).ok_or_else(|| {
                    Error::Corrupt(format!(
                        "collection `{}`: unreadable group count {key:?}",
                        self.state.name
                    ))
                })?,
            };
            // A count cannot go below zero; if damage made it try, `check` reports the
            // disagreement and `repair` recounts.
            let count = (i128::from(stored) + i128::from(change)).max(0) as u64;
            if count == 0 {
                self.batch.remove(key);
            } else {
                self.batch.insert(key, &count.to_be_bytes());
            }
        }
        if self.defs_changed {
            for def in &before.indexes {
                if !self.meta.indexes.iter().any(|d| d.number == def.number) {
                    self.batch.remove(layout::index_def_key(def.number));
                }
            }
            for def in &self.meta.indexes {
                if before.indexes.iter().any(|d| d == def) {
                    continue;
                }
                self.batch.insert(
                    layout::index_def_key(def.number),
                    crate::codec::encode_record(def.as_ref())?,
                );
            }
        }
        let pages = std::mem::take(&mut self.pages);
        if !pages.is_empty() {
            pages.apply(&self.state.reader(), &mut self.batch)?;
        }
        let blocks = std::mem::take(&mut self.blocks);
        if !blocks.is_empty() {
            blocks.apply(&self.state.reader(), &mut self.batch)?;
        }
        let text = std::mem::take(&mut self.text);
        if !text.is_empty() {
            text.apply(&self.state.reader(), &mut self.batch)?;
        }
        self.state.apply(self.batch)?;
        self.state.install_meta(self.meta);
        Ok(())
    }

    fn put_document(&mut self, id: u64, doc: &Value) -> Result<()> {
        if let Some(pending) = &mut self.pending {
            pending.insert(id, doc.clone());
        }
        let mut body = Vec::new();
        document::encode_document(doc, &mut body)?;
        self.value_bytes += body.len();
        self.pages.put(id, body);
        Ok(())
    }

    /// The entries of `doc` for index `i`, flipping its multikey flag when it first sees an
    /// array.
    fn entries(&mut self, i: usize, doc: &Value, id: u64) -> Result<Vec<Entry>> {
        let (entries, multi) = self.meta.indexes[i].entries(doc, id)?;
        if multi && !self.meta.indexes[i].multikey {
            std::sync::Arc::make_mut(&mut self.meta.indexes[i]).multikey = true;
            self.defs_changed = true;
        }
        Ok(entries)
    }

    fn add_entry(&mut self, entry: Entry, id: u64) {
        self.blocks.add(entry.value_prefix(), id);
        *self.groups.entry(entry.group_key()).or_insert(0) += 1;
        if !self.removed.is_empty() {
            self.removed.remove(&entry.key);
        }
        if entry.enforce_unique {
            self.added_unique.push((entry, id));
        }
    }

    fn remove_entry(&mut self, entry: &Entry) {
        self.blocks.remove(entry.value_prefix(), entry.id());
        *self.groups.entry(entry.group_key()).or_insert(0) -= 1;
        self.removed.insert(entry.key.clone());
    }

    /// Every added unique entry must be the only one with its values once the batch is in:
    /// none among the others added, none already stored unless this batch removes it.
    fn check_unique(&self) -> Result<()> {
        let mut seen: HashMap<&[u8], u64> = HashMap::new();
        for (entry, id) in &self.added_unique {
            let prefix = entry.value_prefix();
            if let Some(other) = seen.insert(prefix, *id)
                && other != *id
            {
                return Err(self.violation(entry));
            }
            for other in blocks::ids_of(&self.state.reader(), prefix)? {
                if other != *id && !self.removed.contains(&entry_key(prefix, other)) {
                    return Err(self.violation(entry));
                }
            }
        }
        Ok(())
    }

    fn violation(&self, entry: &Entry) -> Error {
        let def = self
            .meta
            .indexes
            .iter()
            .find(|d| entry.key.starts_with(&d.prefix()));
        let (index, value) = match def {
            Some(def) => (def.name.clone(), describe_entry(def, &entry.key)),
            None => ("?".to_owned(), "a duplicate value".to_owned()),
        };
        Error::UniqueViolation { index, value }
    }
}

/// The key of entry (`values`, `id`): its values' block prefix, then the id.
fn entry_key(values: &[u8], id: u64) -> Vec<u8> {
    let mut key = values.to_vec();
    keycode::append_id(id, &mut key);
    key
}

/// Whether writes keep this index's entries up to date.
fn maintained(def: &IndexDef) -> bool {
    def.state != crate::store::index::IndexState::Dropping
}

/// `org = "ICC"`, or `(org, year) = ("ICC", 2021)` for a compound index.
fn describe_entry(def: &IndexDef, key: &[u8]) -> String {
    let Ok((values, _)) = keycode::decode_key(&key[def.prefix().len()..], def.paths.len()) else {
        return "a duplicate value".to_owned();
    };
    if let ([path], [value]) = (def.paths.as_slice(), values.as_slice()) {
        return format!("{path} = {value}");
    }
    let paths: Vec<String> = def.paths.iter().map(ToString::to_string).collect();
    let values: Vec<String> = values.iter().map(ToString::to_string).collect();
    format!("({}) = ({})", paths.join(", "), values.join(", "))
}

/// Whether `old` and `new` hold equal values in every top-level field `index` reads: then they
/// give it the same entries (equal values encode to equal keys), and an update that left those
/// fields alone need not compute them.
fn same_fields(index: &IndexDef, old: &Value, new: &Value) -> bool {
    index.paths.iter().all(|path| {
        path.head()
            .is_some_and(|field| old.get(field) == new.get(field))
    })
}
