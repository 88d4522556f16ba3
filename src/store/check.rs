//! Verifying a whole database, and rebuilding its indexes from the documents.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use crate::codec::keycode;
use crate::error::{Error, Result};
use crate::store::blocks;
use crate::store::index::IndexDef;
use crate::store::state::CollectionState;
use crate::store::{BuildProgress, Collection, Db, damage, layout};

/// One thing `check` found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The collection it is in.
    pub collection: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.collection, self.message)
    }
}

/// What [`Db::check`] found: how much it read and every problem.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// db.collection("a")?.insert(&serde_json::json!({"x": 1}))?;
/// let report = db.check()?;
/// assert!(report.is_clean());
/// assert_eq!(report.documents, 1);
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Collections checked.
    pub collections: usize,
    /// Documents read.
    pub documents: u64,
    /// Index entries read.
    pub index_entries: u64,
    /// Everything found wrong; empty when the database is sound.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// True when no problem was found.
    ///
    /// ```
    /// assert!(quarry::CheckReport::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Db {
    /// Verifies the whole store: every document decodes, every document has all its index
    /// entries, every entry points at a document that has that value, unique indexes hold,
    /// and counters are ahead of the ids and agree with the documents; and that no collection
    /// came back older than the last flush acknowledged (see [`Db::warnings`]).
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let c = db.collection("c")?;
    /// c.create_index(&["tags"])?;
    /// c.insert(&serde_json::json!({"tags": ["a", "b"]}))?;
    /// let report = db.check()?;
    /// assert!(report.is_clean(), "{:?}", report.problems);
    /// assert_eq!(report.index_entries, 2);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn check(&self) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        report.problems.extend(
            self.stepped_back()
                .into_iter()
                .map(|(collection, message)| Problem {
                    collection,
                    message,
                }),
        );
        for state in self.inner.all_states() {
            report.collections += 1;
            // A collection whose tree sled cannot read is a problem of the report, not a
            // panic; the others are still checked.
            match damage::contain(self.path(), || check_collection(&state, &mut report)) {
                Ok(checked) => checked?,
                Err(damaged) => {
                    self.inner.writers.refuse_all(&damaged);
                    report.problems.push(Problem {
                        collection: state.name.clone(),
                        message: damaged.to_string(),
                    });
                }
            }
        }
        Ok(report)
    }

    /// Rebuilds every index from the documents (removing stray entries and restoring missing
    /// ones) and corrects the counters, accepts collections that came back older than a flush
    /// acknowledged as they are (see [`Db::warnings`]), then checks again and returns that
    /// report. Problems
    /// it cannot fix (a document that cannot be decoded, data that breaks a unique index)
    /// stay in the report.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.collection("c")?.create_index(&["x"])?;
    /// assert!(db.repair()?.is_clean());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn repair(&self) -> Result<CheckReport> {
        self.repair_with_progress(None)
    }

    /// [`Db::repair`], telling `progress` how each index's rebuild goes (`quarry check
    /// --repair` draws a bar on a terminal).
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// #[derive(Default)]
    /// struct Names(Mutex<Vec<String>>);
    /// impl quarry::BuildProgress for Names {
    ///     fn start(&self, index: &str, _documents: u64) { self.0.lock().unwrap().push(index.into()); }
    ///     fn done(&self, _documents: u64) {}
    ///     fn finish(&self) {}
    /// }
    /// let db = quarry::Db::temporary()?;
    /// db.collection("c")?.create_index(&["x"])?;
    /// let names = Arc::new(Names::default());
    /// assert!(db.repair_with_progress(Some(names.clone()))?.is_clean());
    /// assert_eq!(*names.0.lock().unwrap(), ["c_x"]);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn repair_with_progress(
        &self,
        progress: Option<Arc<dyn BuildProgress>>,
    ) -> Result<CheckReport> {
        self.refuse_in_transaction("repair")?;
        self.contain_damage(|| self.repair_contained(progress))
    }

    fn repair_contained(&self, progress: Option<Arc<dyn BuildProgress>>) -> Result<CheckReport> {
        let mut failures = Vec::new();
        for state in self.inner.all_states() {
            let mut collection = Collection::new(self.clone(), state.clone());
            if let Some(progress) = &progress {
                collection = collection.with_progress(progress.clone());
            }
            failures.extend(collection.rebuild()?.into_iter().map(|message| Problem {
                collection: state.name.clone(),
                message,
            }));
        }
        // What came back older than a flush acknowledged is accepted as it is.
        self.accept_losses()?;
        let mut report = self.check()?;
        report.problems.extend(failures);
        Ok(report)
    }
}

fn check_collection(state: &CollectionState, report: &mut CheckReport) -> Result<()> {
    let meta = state.meta();
    let mut problem = |message: String| {
        report.problems.push(Problem {
            collection: state.name.clone(),
            message,
        })
    };
    let indexes: Vec<_> = meta.indexes.iter().filter(|d| d.serves_values()).collect();
    let mut texts: Vec<TextCheck> = meta
        .indexes
        .iter()
        .filter(|d| d.is_text() && d.is_ready())
        .map(|d| TextCheck::new(d))
        .collect();
    let mut expected: HashMap<u32, HashSet<Vec<u8>>> =
        indexes.iter().map(|d| (d.number, HashSet::new())).collect();
    let mut documents = 0u64;
    let mut max_id = 0u64;
    for item in state.stored_documents() {
        let (id, bytes) = match item {
            Ok(document) => document,
            Err(Error::Corrupt(why)) => {
                problem(why);
                continue;
            }
            Err(err) => return Err(err),
        };
        documents += 1;
        max_id = max_id.max(id);
        let doc = match state.decode(id, &bytes) {
            Ok(doc) => doc,
            Err(err) => {
                problem(err.to_string());
                continue;
            }
        };
        for text in &mut texts {
            match text.def.text_terms(&doc) {
                Ok(terms) => text.expect(id, &terms),
                Err(err) => problem(format!("document {id}: {err}")),
            }
        }
        for def in &indexes {
            match def.entries(&doc, id) {
                Ok((entries, multi)) => {
                    if multi && !def.multikey {
                        problem(format!(
                            "index `{}` is not marked multikey but document {id} has several values",
                            def.name
                        ));
                    }
                    if let Some(set) = expected.get_mut(&def.number) {
                        set.extend(entries.into_iter().map(|e| e.key));
                    }
                }
                Err(err) => problem(format!("document {id}: {err}")),
            }
        }
    }
    for (key, _) in state.strays_apart()? {
        problem(format!(
            "document key {key:?} is stored apart but no page lists it"
        ));
    }
    // An upgrade marks the collection only once none of these is left: one now is damage,
    // and what it holds is not read.
    for (kind, what) in [
        (layout::FORMAT4_PAGE_PREFIX, "format 4 document page"),
        (layout::FORMAT3_ENTRY_PREFIX, "format 3 index entry"),
    ] {
        for key in state.tree.scan_prefix([kind]).keys() {
            problem(format!("{what} {:?} was left behind by an upgrade", key?));
        }
    }
    report.documents += documents;
    if documents > 0 && max_id >= meta.next_id {
        problem(format!(
            "id counter {} is not ahead of document id {max_id}",
            meta.next_id
        ));
    }
    if documents != meta.count {
        problem(format!(
            "document count says {} but there are {documents} documents",
            meta.count
        ));
    }
    // The blocks of one tuple of values come one after another: the last one read says
    // where the next must start, and whether a unique index has seen the values already.
    let mut previous: Option<(u32, Vec<u8>, u64)> = None;
    let mut ids = Vec::new();
    for item in state.tree.scan_prefix([layout::BLOCK_PREFIX]) {
        let (key, block) = item?;
        let number = layout::index_number(&key).map(|(number, _)| number);
        let Some(def) = indexes.iter().find(|d| Some(d.number) == number) else {
            problem(format!("index block {key:?} belongs to no index"));
            continue;
        };
        let Some((values, first)) = keycode::split_id(&key) else {
            problem(format!(
                "index `{}` has a block whose key {key:?} does not end in an id",
                def.name
            ));
            continue;
        };
        ids.clear();
        if let Err(err) = blocks::decode_into(&key, &block, &mut ids) {
            problem(format!("index `{}`: {err}", def.name));
            continue;
        }
        report.index_entries += ids.len() as u64;
        if ids[0] != first || ids.len() > layout::BLOCK_IDS {
            problem(format!(
                "index `{}` has a block keyed by document {first} that holds {} ids from \
                 document {}",
                def.name,
                ids.len(),
                ids[0]
            ));
        }
        let same_values = previous
            .as_ref()
            .is_some_and(|(n, v, _)| *n == def.number && v == values);
        if let Some((_, _, last)) = previous.as_ref().filter(|_| same_values)
            && *last >= first
        {
            problem(format!(
                "index `{}` has blocks that overlap at document {first}",
                def.name
            ));
        }
        let null_free = || {
            keycode::decode_key(&key[def.prefix().len()..], def.paths.len())
                .is_ok_and(|(vals, _)| !vals.contains(&crate::value::Value::Null))
        };
        if def.unique && (same_values || ids.len() > 1) && null_free() {
            problem(format!(
                "unique index `{}` holds a duplicate value (document {})",
                def.name,
                ids[ids.len().min(2) - 1]
            ));
        }
        let mut expected = expected.get_mut(&def.number);
        let mut unknown = Vec::new();
        let mut entry = values.to_vec();
        for &id in &ids {
            entry.truncate(values.len());
            keycode::append_id(id, &mut entry);
            if !expected.as_mut().is_some_and(|set| set.remove(&entry)) {
                unknown.push(id);
            }
        }
        if !unknown.is_empty() {
            problem(format!(
                "index `{}` has entries for documents {} that the documents do not give",
                def.name,
                summarise(&unknown)
            ));
        }
        previous = Some((def.number, values.to_vec(), ids[ids.len() - 1]));
    }
    // While a bulk load holds back its count changes, the counts are those from before it.
    if !state.counts_held() {
        for def in &indexes {
            check_groups(state, def, &mut problem)?;
        }
    }
    for (kind, what) in [
        (layout::GROUP_PREFIX, "group count"),
        (layout::POSTING_PREFIX, "posting block"),
        (layout::LENGTH_PREFIX, "length page"),
        (layout::CORPUS_PREFIX, "text corpus record"),
    ] {
        for key in state.tree.scan_prefix([kind]).keys() {
            let key = key?;
            let number = layout::index_number(&key).map(|(number, _)| number);
            let owner = meta.indexes.iter().find(|d| Some(d.number) == number);
            if owner.is_none_or(|d| d.is_text() != (kind != layout::GROUP_PREFIX)) {
                problem(format!("{what} {key:?} belongs to no index"));
            }
        }
    }
    for text in texts {
        text.finish(state, &mut problem)?;
    }
    for def in &indexes {
        if let Some(missing) = expected.get(&def.number)
            && !missing.is_empty()
        {
            let mut ids: Vec<u64> = missing.iter().filter_map(|k| keycode::key_id(k)).collect();
            ids.sort_unstable();
            ids.dedup();
            problem(format!(
                "index `{}` is missing {} entries (documents {})",
                def.name,
                missing.len(),
                summarise(&ids)
            ));
        }
    }
    Ok(())
}

/// What a text index must hold, gathered from the documents, compared with what it holds.
/// Postings are compared by a fingerprint per term (a sum of hashes of each document's id and
/// positions), so the check's memory grows with the vocabulary, not with the postings.
struct TextCheck<'a> {
    def: &'a IndexDef,
    terms: HashMap<String, (u64, u64)>,
    lengths: HashMap<u64, u32>,
    documents: u64,
    words: u64,
}

fn posting_hash(id: u64, positions: &[u32]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    id.hash(&mut hasher);
    positions.hash(&mut hasher);
    hasher.finish()
}

impl<'a> TextCheck<'a> {
    fn new(def: &'a IndexDef) -> TextCheck<'a> {
        TextCheck {
            def,
            terms: HashMap::new(),
            lengths: HashMap::new(),
            documents: 0,
            words: 0,
        }
    }

    fn expect(&mut self, id: u64, terms: &crate::text::DocTerms) {
        for (term, positions) in &terms.terms {
            let slot = self.terms.entry(term.clone()).or_default();
            slot.0 = slot.0.wrapping_add(posting_hash(id, positions));
            slot.1 += 1;
        }
        if terms.length > 0 {
            self.lengths.insert(id, terms.length);
            self.documents += 1;
            self.words += u64::from(terms.length);
        }
    }

    fn finish(mut self, state: &CollectionState, problem: &mut impl FnMut(String)) -> Result<()> {
        use crate::codec::postings;
        let name = &self.def.name;
        let number = self.def.number;
        let mut wrong_terms: Vec<String> = Vec::new();
        let mut bad_blocks = 0usize;
        let mut current: Option<(String, u64, u64, u64)> = None; // term, hash, count, last id
        let close = |current: Option<(String, u64, u64, u64)>,
                     expected: &mut HashMap<String, (u64, u64)>,
                     wrong: &mut Vec<String>| {
            if let Some((term, hash, count, _)) = current
                && expected.remove(&term) != Some((hash, count))
            {
                wrong.push(term);
            }
        };
        for item in state.tree.scan_prefix(layout::terms_prefix(number, "")) {
            let (key, bytes) = item?;
            let Some((term, first)) = layout::read_posting_key(number, &key) else {
                bad_blocks += 1;
                continue;
            };
            let block = match postings::decode_block(&bytes) {
                Ok(block) => block,
                Err(_) => {
                    bad_blocks += 1;
                    continue;
                }
            };
            if current.as_ref().is_none_or(|(t, ..)| t != term) {
                close(current.take(), &mut self.terms, &mut wrong_terms);
                current = Some((term.to_owned(), 0, 0, 0));
            }
            let Some((_, hash, count, last)) = current.as_mut() else {
                continue;
            };
            // A block starts at the id of its key, after the previous block of its term.
            if block[0].id != first || (*count > 0 && first <= *last) {
                bad_blocks += 1;
            }
            for posting in &block {
                *hash = hash.wrapping_add(posting_hash(posting.id, &posting.positions));
                *count += 1;
                *last = posting.id;
            }
        }
        close(current, &mut self.terms, &mut wrong_terms);
        wrong_terms.extend(self.terms.into_keys());
        if bad_blocks > 0 {
            problem(format!(
                "text index `{name}` has {bad_blocks} posting blocks that are unreadable, out of \
                 order or overlapping"
            ));
        }
        if !wrong_terms.is_empty() {
            wrong_terms.sort();
            let shown: Vec<String> = wrong_terms
                .iter()
                .take(5)
                .map(|t| format!("`{t}`"))
                .collect();
            problem(format!(
                "text index `{name}` disagrees with the documents on {} term{} ({}{})",
                wrong_terms.len(),
                if wrong_terms.len() == 1 { "" } else { "s" },
                shown.join(", "),
                if wrong_terms.len() > 5 { ", …" } else { "" }
            ));
        }
        let mut wrong_lengths = 0usize;
        for item in state.tree.scan_prefix(layout::length_prefix(number)) {
            let (key, bytes) = item?;
            let first = layout::length_page_first(number, &key);
            match (first, postings::decode_lengths(&bytes)) {
                (Some(first), Ok(page)) if page.len() <= 1 << layout::LENGTH_PAGE_BITS => {
                    for (slot, length) in page.into_iter().enumerate().filter(|(_, l)| *l > 0) {
                        let id = first.checked_add(slot as u64);
                        if id.is_none_or(|id| self.lengths.remove(&id) != Some(length)) {
                            wrong_lengths += 1;
                        }
                    }
                }
                _ => wrong_lengths += 1,
            }
        }
        wrong_lengths += self.lengths.len();
        if wrong_lengths > 0 {
            problem(format!(
                "text index `{name}` has {wrong_lengths} document lengths that disagree with \
                 the documents"
            ));
        }
        let corpus = state.corpus(self.def).ok();
        if corpus.is_none_or(|c| c.documents != self.documents || c.words != self.words) {
            problem(format!(
                "text index `{name}`'s corpus record disagrees with the documents"
            ));
        }
        Ok(())
    }
}

/// The group counts of an index must be its entries counted by first value.
fn check_groups(
    state: &CollectionState,
    def: &IndexDef,
    problem: &mut impl FnMut(String),
) -> Result<()> {
    let mut expected = def.count_groups(&state.reader())?;
    let mut wrong = 0usize;
    for item in state.tree.scan_prefix(layout::group_prefix(def.number)) {
        let (key, count) = item?;
        let stored = layout::read_u64(&count);
        if expected.remove(key.as_ref()) != stored {
            wrong += 1;
        }
    }
    wrong += expected.len();
    if wrong > 0 {
        problem(format!(
            "index `{}` has {wrong} group counts that disagree with its entries",
            def.name
        ));
    }
    Ok(())
}

/// `1, 2, 3` or `1, 2, 3, … (12 in all)`.
fn summarise(ids: &[u64]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(u64::to_string).collect();
    if ids.len() > 5 {
        format!("{}, … ({} in all)", shown.join(", "), ids.len())
    } else {
        shown.join(", ")
    }
}
