//! Keeping a text index: the changes a batch makes to its posting blocks, length pages and
//! corpus, applied in the batch's one `apply_batch`; and reading them back.
//!
//! Invariant: after every batch, each term's blocks hold exactly the documents whose indexed
//! strings have the term, with the positions [`DocTerms::of`] gives, ascending and without
//! overlap between blocks; the length pages hold every document with at least one indexed
//! word, and the corpus their number and total length. A batch rewrites only the blocks and
//! pages that hold a document it changes.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::codec::postings;
pub(crate) use crate::codec::postings::PostingList;
use crate::codec::postings::{BlockBuilder, Posting};
use crate::error::{Error, Result};
use crate::store::index::IndexDef;
use crate::store::layout;
use crate::store::staged::{Batch, Reader};
use crate::store::state::CollectionState;
use crate::text::DocTerms;
use crate::text::rank::Corpus;

/// A document's new positions for a term (`None`: it loses the term), by document id.
type TermChanges = BTreeMap<u64, Option<Vec<u32>>>;

/// What one batch changes in the text indexes of a collection.
#[derive(Default)]
pub(crate) struct TextChanges {
    /// (index, term) -> document -> its new positions (`None`: the document loses the term).
    postings: BTreeMap<(u32, String), TermChanges>,
    /// (index, document) -> its new length (`None`: it has no words any more).
    lengths: BTreeMap<(u32, u64), Option<u32>>,
    /// index -> (change in documents, change in words).
    corpus: HashMap<u32, (i64, i64)>,
    /// index -> the documents this batch inserts (new ids, ascending), gathered as a build
    /// gathers them, appended to each term's last block when applied.
    inserted: BTreeMap<u32, TextBuild>,
}

impl TextChanges {
    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.postings.is_empty() && self.lengths.is_empty() && self.inserted.is_empty()
    }

    /// Document `id`, new and above every id the index holds, is inserted into text index
    /// `def` with the terms `doc` gives it.
    pub fn insert(&mut self, def: &IndexDef, id: u64, doc: &crate::value::Value) -> Result<()> {
        let build = self
            .inserted
            .entry(def.number)
            .or_insert_with(|| TextBuild::new(def.number));
        match build.last_id.is_none_or(|last| last < id) {
            true => build.add(id, def, doc),
            false => {
                let terms = def.text_terms(doc)?;
                self.change(def.number, id, &DocTerms::default(), &terms);
                Ok(())
            }
        }
    }

    /// Document `id` changes from `old` terms to `new` ones in index `number`: only the
    /// terms whose positions differ are touched.
    pub fn change(&mut self, number: u32, id: u64, old: &DocTerms, new: &DocTerms) {
        for term in old.terms.keys() {
            if !new.terms.contains_key(term) {
                self.set(number, term, id, None);
            }
        }
        for (term, positions) in &new.terms {
            if old.terms.get(term) != Some(positions) {
                self.set(number, term, id, Some(positions.clone()));
            }
        }
        if old.length != new.length {
            self.lengths
                .insert((number, id), (new.length > 0).then_some(new.length));
            let corpus = self.corpus.entry(number).or_default();
            corpus.0 += i64::from(new.length > 0) - i64::from(old.length > 0);
            corpus.1 += i64::from(new.length) - i64::from(old.length);
        }
    }

    fn set(&mut self, number: u32, term: &str, id: u64, positions: Option<Vec<u32>>) {
        self.postings
            .entry((number, term.to_owned()))
            .or_default()
            .insert(id, positions);
    }

    /// Writes the changed blocks, pages and corpus records into `batch`, reading what they
    /// were through `reader`. Inserted documents are appended to each term's last block
    /// (rewritten only while it is under [`layout::BLOCK_BYTES`]); a term that other changes
    /// of the batch touch too, or whose last block does not end below them, takes them as
    /// changes like any other (a later change of the same document wins).
    pub fn apply(mut self, reader: &Reader, batch: &mut Batch) -> Result<()> {
        for (number, mut build) in std::mem::take(&mut self.inserted) {
            let built = build.take();
            for (term, blocks) in built.runs {
                let key = (number, term);
                if !self.postings.contains_key(&key)
                    && append_term(reader, batch, number, &key.1, &blocks)?
                {
                    continue;
                }
                let changes = self.postings.entry(key).or_default();
                for (_, block) in &blocks {
                    postings::walk_block(block, |id, positions| {
                        changes
                            .entry(id)
                            .or_insert_with(|| Some(positions.to_vec()));
                    })
                    .map_err(|e| corrupt("block", &e))?;
                }
            }
            for (id, length) in built.lengths {
                self.lengths.entry((number, id)).or_insert(Some(length));
            }
            let corpus = self.corpus.entry(number).or_default();
            corpus.0 += built.documents as i64;
            corpus.1 += built.words as i64;
        }
        for ((number, term), changes) in &self.postings {
            apply_term(reader, batch, *number, term, changes)?;
        }
        let mut pages: BTreeMap<Vec<u8>, Vec<(u64, Option<u32>)>> = BTreeMap::new();
        for (&(number, id), length) in &self.lengths {
            pages
                .entry(layout::length_key(number, id))
                .or_default()
                .push((id, *length));
        }
        for (key, changes) in pages {
            let mut page: Vec<u32> = match reader.get(&key)? {
                Some(bytes) => {
                    postings::decode_lengths(&bytes).map_err(|e| corrupt("length page", &e))?
                }
                None => Vec::new(),
            };
            page.resize(1 << layout::LENGTH_PAGE_BITS, 0);
            for (id, length) in changes {
                page[layout::length_slot(id)] = length.unwrap_or(0);
            }
            if page.iter().all(|&l| l == 0) {
                batch.remove(key);
            } else {
                batch.insert(key, postings::encode_lengths(&page));
            }
        }
        for (number, (documents, words)) in self.corpus {
            if documents == 0 && words == 0 {
                continue;
            }
            let key = layout::corpus_key(number);
            let stored = read_corpus(reader, number)?;
            let add =
                |value: u64, change: i64| (i128::from(value) + i128::from(change)).max(0) as u64;
            let (documents, words) = (add(stored.documents, documents), add(stored.words, words));
            if documents == 0 {
                batch.remove(&*key);
            } else {
                batch.insert(&*key, postings::encode_corpus(documents, words));
            }
        }
        Ok(())
    }
}

fn corrupt(what: &str, err: &dyn std::fmt::Display) -> Error {
    Error::Corrupt(format!("text index {what}: {err}"))
}

/// Applies the changes to one term's postings: each changed document goes to the block that
/// starts at or before it (the first block when none does); each changed block is written
/// again, split when it outgrows [`layout::BLOCK_BYTES`], removed when it is left empty.
fn apply_term(
    reader: &Reader,
    batch: &mut Batch,
    number: u32,
    term: &str,
    changes: &TermChanges,
) -> Result<()> {
    let (Some(&low), Some(&high)) = (changes.keys().next(), changes.keys().next_back()) else {
        return Ok(());
    };
    let prefix = layout::term_prefix(number, term);
    // The block holding `low` (the last starting at or before it, else the first), and every
    // block after it that starts at or before `high`.
    let low_key = layout::posting_key(number, term, low);
    let start = match reader
        .entries(Bound::Included(&prefix), Bound::Included(&low_key), true)
        .next()
        .transpose()?
    {
        Some((key, _)) => key.to_vec(),
        None => low_key.clone(),
    };
    let mut blocks: Vec<(u64, Vec<Posting>)> = Vec::new();
    for item in reader.entries(Bound::Included(&start), Bound::Unbounded, false) {
        let (key, bytes) = item?;
        if !key.starts_with(&prefix) {
            break;
        }
        let first = layout::read_posting_key(number, &key)
            .map(|(_, first)| first)
            .ok_or_else(|| corrupt("key", &format!("{key:?}")))?;
        if first > high && !blocks.is_empty() {
            break;
        }
        blocks.push((
            first,
            postings::decode_block(&bytes).map_err(|e| corrupt("block", &e))?,
        ));
        if first > high {
            break;
        }
    }
    if blocks.is_empty() {
        blocks.push((low, Vec::new()));
    }
    // Changes by the block they fall in.
    type Changed<'c> = Vec<(u64, Option<&'c Vec<u32>>)>;
    let mut by_block: Vec<Changed> = vec![Vec::new(); blocks.len()];
    for (&id, change) in changes {
        let slot = blocks
            .iter()
            .rposition(|(first, _)| *first <= id)
            .unwrap_or(0);
        by_block[slot].push((id, change.as_ref()));
    }
    for ((first, block), block_changes) in blocks.into_iter().zip(by_block) {
        if block_changes.is_empty() {
            continue;
        }
        let mut merged: BTreeMap<u64, Vec<u32>> =
            block.into_iter().map(|p| (p.id, p.positions)).collect();
        for (id, change) in block_changes {
            match change {
                Some(positions) => merged.insert(id, positions.to_vec()),
                None => merged.remove(&id),
            };
        }
        batch.remove(layout::posting_key(number, term, first));
        write_blocks(batch, number, term, merged);
    }
    Ok(())
}

/// Appends `blocks` (postings of one term, ids ascending) after the term's last block, into
/// it while it is under [`layout::BLOCK_BYTES`]; `false` (nothing written) when the last
/// block does not end below the first id appended.
fn append_term(
    reader: &Reader,
    batch: &mut Batch,
    number: u32,
    term: &str,
    blocks: &[Block],
) -> Result<bool> {
    let Some(&(first_new, _)) = blocks.first() else {
        return Ok(true);
    };
    let mut builder = BlockBuilder::default();
    if let Some((_, tail)) = reader
        .prefixed(&layout::term_prefix(number, term), true)
        .next()
        .transpose()?
    {
        let rewrite = tail.len() < layout::BLOCK_BYTES;
        let mut last = 0u64;
        postings::walk_block(&tail, |id, positions| {
            last = id;
            if rewrite {
                builder.push(id, positions);
            }
        })
        .map_err(|e| corrupt("block", &e))?;
        if last >= first_new {
            return Ok(false);
        }
    }
    for (_, block) in blocks {
        postings::walk_block(block, |id, positions| {
            builder.push(id, positions);
            if builder.bytes() >= layout::BLOCK_BYTES {
                write_block(batch, number, term, &mut builder);
            }
        })
        .map_err(|e| corrupt("block", &e))?;
    }
    write_block(batch, number, term, &mut builder);
    Ok(true)
}

/// Writes postings as blocks split once they reach [`layout::BLOCK_BYTES`], each under the
/// id of its first document.
fn write_blocks(batch: &mut Batch, number: u32, term: &str, merged: BTreeMap<u64, Vec<u32>>) {
    let mut builder = BlockBuilder::default();
    for (id, positions) in merged {
        builder.push(id, &positions);
        if builder.bytes() >= layout::BLOCK_BYTES {
            write_block(batch, number, term, &mut builder);
        }
    }
    write_block(batch, number, term, &mut builder);
}

/// Writes the block `builder` holds, if any, and empties it.
fn write_block(batch: &mut Batch, number: u32, term: &str, builder: &mut BlockBuilder) {
    if let Some((first, bytes)) = builder.finish() {
        batch.insert(layout::posting_key(number, term, first), bytes);
    }
}

/// A text index filled from documents in ascending id order, above every id it holds (a
/// backfill): postings gather in memory as encoded blocks of up to
/// [`layout::BUILD_BLOCK_BYTES`], and [`TextBuild::write`] writes each term's whole blocks
/// once, reading none back, so a term costs a key per block, not a rewrite per batch. For an
/// index being created the blocks go to sled one key at a time, outside batches (sled
/// rewrites its log far less for large values written singly): nothing reads an index while
/// it is building, and an open drops one left building. A repair rebuilds an index that
/// stays ready, so there everything goes in the batch. What the build holds is bounded by the
/// caller, who writes once [`TextBuild::held`] grows past its budget.
pub(crate) struct TextBuild {
    number: u32,
    /// The last document added.
    last_id: Option<u64>,
    /// Term -> its place in `runs`.
    places: HashMap<String, usize, foldhash::fast::RandomState>,
    runs: Vec<TermRun>,
    /// The runs the document being added touches.
    touched: Vec<usize>,
    lengths: Vec<(u64, u32)>,
    documents: u64,
    words: u64,
    held: usize,
}

/// Writes one key outside a batch.
pub(crate) type PutKey<'p> = dyn Fn(Vec<u8>, Vec<u8>) -> Result<()> + 'p;

/// A posting block: its first id and its bytes.
type Block = (u64, Vec<u8>);

/// What a [`TextBuild`] held: each term's blocks (first id, bytes) in term order, the
/// documents' lengths, how many documents had words and how many words.
struct Built {
    runs: Vec<(String, Vec<Block>)>,
    lengths: Vec<(u64, u32)>,
    documents: u64,
    words: u64,
}

/// One term's postings in a [`TextBuild`].
#[derive(Default)]
struct TermRun {
    term: String,
    /// Finished blocks.
    done: Vec<Block>,
    building: BlockBuilder,
    /// The positions of the document being added.
    positions: Vec<u32>,
}

impl TextBuild {
    /// A build of text index `number`.
    pub fn new(number: u32) -> TextBuild {
        TextBuild {
            number,
            last_id: None,
            places: HashMap::default(),
            runs: Vec::new(),
            touched: Vec::new(),
            lengths: Vec::new(),
            documents: 0,
            words: 0,
            held: 0,
        }
    }

    /// Adds document `id` (above every one added), its terms in text index `def`.
    pub fn add(&mut self, id: u64, def: &IndexDef, doc: &crate::value::Value) -> Result<()> {
        let (places, runs, touched) = (&mut self.places, &mut self.runs, &mut self.touched);
        let mut held = 0usize;
        let walked = def.walk_text_terms(doc, |term, position| {
            let place = match places.get(term.as_str()) {
                Some(&place) => place,
                None => {
                    held += 2 * term.len() + 128;
                    runs.push(TermRun {
                        term: term.clone(),
                        ..TermRun::default()
                    });
                    places.insert(term, runs.len() - 1);
                    runs.len() - 1
                }
            };
            let run = &mut runs[place];
            if run.positions.is_empty() {
                touched.push(place);
            }
            run.positions.push(position);
        });
        // A document the index refuses leaves nothing behind (a load may skip it and go on).
        let length = match walked {
            Ok(length) => length,
            Err(err) => {
                for place in touched.drain(..) {
                    runs[place].positions.clear();
                }
                return Err(err);
            }
        };
        for place in touched.drain(..) {
            let run = &mut runs[place];
            let before = run.building.bytes();
            run.building.push(id, &run.positions);
            held += run.building.bytes() - before;
            run.positions.clear();
            if run.building.bytes() >= layout::BUILD_BLOCK_BYTES
                && let Some(block) = run.building.finish()
            {
                run.done.push(block);
            }
        }
        if length > 0 {
            self.lengths.push((id, length));
            self.documents += 1;
            self.words += u64::from(length);
            held += 12;
        }
        self.held += held;
        self.last_id = Some(id);
        Ok(())
    }

    /// Takes out what the build holds (each term's blocks, in term order), leaving it empty.
    fn take(&mut self) -> Built {
        self.places.clear();
        // In key order: sled splits its nodes least when keys arrive in order.
        self.runs.sort_unstable_by(|a, b| a.term.cmp(&b.term));
        let runs = self
            .runs
            .drain(..)
            .map(|mut run| {
                run.done.extend(run.building.finish());
                (run.term, run.done)
            })
            .collect();
        let built = Built {
            runs,
            lengths: std::mem::take(&mut self.lengths),
            documents: self.documents,
            words: self.words,
        };
        (self.documents, self.words, self.held) = (0, 0, 0);
        built
    }

    /// Roughly how many bytes of memory the build holds.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Writes everything held into `batch` (length pages and the corpus merged with what
    /// `reader` holds), the blocks through `unbatched` when given, and starts empty.
    pub fn write(
        &mut self,
        unbatched: Option<&PutKey<'_>>,
        reader: &Reader,
        batch: &mut Batch,
    ) -> Result<()> {
        let number = self.number;
        let built = self.take();
        for (term, blocks) in built.runs {
            for (first, bytes) in blocks {
                let key = layout::posting_key(number, &term, first);
                match unbatched {
                    Some(put) => put(key, bytes)?,
                    None => batch.insert(key, bytes),
                }
            }
        }
        let mut lengths = built.lengths.into_iter().peekable();
        while let Some(&(id, _)) = lengths.peek() {
            let key = layout::length_key(number, id);
            let mut page: Vec<u32> = match reader.get(&key)? {
                Some(bytes) => {
                    postings::decode_lengths(&bytes).map_err(|e| corrupt("length page", &e))?
                }
                None => Vec::new(),
            };
            page.resize(1 << layout::LENGTH_PAGE_BITS, 0);
            while let Some(&(id, length)) = lengths.peek()
                && layout::length_key(number, id) == key
            {
                page[layout::length_slot(id)] = length;
                lengths.next();
            }
            batch.insert(key, postings::encode_lengths(&page));
        }
        if built.documents > 0 {
            let stored = read_corpus(reader, number)?;
            batch.insert(
                &*layout::corpus_key(number),
                postings::encode_corpus(
                    stored.documents + built.documents,
                    stored.words + built.words,
                ),
            );
        }
        Ok(())
    }
}

fn read_corpus(reader: &Reader, number: u32) -> Result<Corpus> {
    match reader.get(&layout::corpus_key(number))? {
        None => Ok(Corpus::default()),
        Some(bytes) => {
            let (documents, words) =
                postings::decode_corpus(&bytes).map_err(|e| corrupt("corpus", &e))?;
            Ok(Corpus { documents, words })
        }
    }
}

impl CollectionState {
    /// The documents that hold `term` in text index `def`, ascending, with its positions or
    /// only how many there are.
    pub(crate) fn postings(
        &self,
        def: &IndexDef,
        term: &str,
        with_positions: bool,
    ) -> Result<PostingList> {
        let mut list = PostingList::default();
        for item in self.prefixed(&layout::term_prefix(def.number, term), false) {
            let (_, bytes) = item?;
            postings::decode_block_into(&bytes, &mut list, with_positions)
                .map_err(|e| corrupt("block", &e))?;
        }
        Ok(list)
    }

    /// How many documents hold `term` in text index `def` (read from the blocks' heads).
    pub(crate) fn term_documents(&self, def: &IndexDef, term: &str) -> Result<u64> {
        let mut documents = 0u64;
        for item in self.prefixed(&layout::term_prefix(def.number, term), false) {
            let (_, bytes) = item?;
            documents += postings::block_len(&bytes).map_err(|e| corrupt("block", &e))?;
        }
        Ok(documents)
    }

    /// Every term of text index `def` that starts with `start`, with its postings.
    pub(crate) fn postings_with_prefix(
        &self,
        def: &IndexDef,
        start: &str,
        with_positions: bool,
    ) -> Result<Vec<(String, PostingList)>> {
        let mut out: Vec<(String, PostingList)> = Vec::new();
        for item in self.prefixed(&layout::terms_prefix(def.number, start), false) {
            let (key, bytes) = item?;
            let (term, _) = layout::read_posting_key(def.number, &key)
                .ok_or_else(|| corrupt("key", &format!("{key:?}")))?;
            if out.last().is_none_or(|(last, _)| last != term) {
                out.push((term.to_owned(), PostingList::default()));
            }
            if let Some((_, list)) = out.last_mut() {
                postings::decode_block_into(&bytes, list, with_positions)
                    .map_err(|e| corrupt("block", &e))?;
            }
        }
        Ok(out)
    }

    /// What text index `def` says of its whole corpus.
    pub(crate) fn corpus(&self, def: &IndexDef) -> Result<Corpus> {
        read_corpus(&self.reader(), def.number)
    }

    /// The lengths of documents `ids` (ascending) in text index `def` (0 for a document it
    /// does not hold): one read per page, each length read in place.
    pub(crate) fn text_lengths(&self, def: &IndexDef, ids: &[u64]) -> Result<Vec<u32>> {
        let reader = self.reader();
        let mut out = Vec::with_capacity(ids.len());
        let mut page: Option<(Vec<u8>, Option<sled::IVec>)> = None;
        for &id in ids {
            let key = layout::length_key(def.number, id);
            if page.as_ref().is_none_or(|(k, _)| *k != key) {
                let bytes = reader.get(&key)?;
                page = Some((key, bytes));
            }
            out.push(match page.as_ref().and_then(|(_, bytes)| bytes.as_ref()) {
                Some(bytes) => postings::length_in(bytes, layout::length_slot(id))
                    .map_err(|e| corrupt("length page", &e))?,
                None => 0,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Db;
    use crate::text::Language;
    use crate::value::Value;

    /// Documents whose words repeat enough that terms span several blocks.
    fn article(i: u64) -> Value {
        let words = ["coral", "reef", "lagoon", "tide", "shoal", "kelp", "atoll"];
        let pick = |k: u64| words[((i * 7 + k * 3) % words.len() as u64) as usize];
        let body: Vec<&str> = (0..40 + i % 30).map(|k| pick(k * (i % 5 + 1))).collect();
        let json = serde_json::json!({
            "title": format!("{} {} number {i}", pick(1), pick(2)),
            "body": body.join(" "),
            "tags": [pick(4), format!("t{}", i % 13)],
        });
        crate::value::to_value(&json).unwrap()
    }

    #[test]
    fn a_backfill_written_in_many_parts_equals_one_kept_by_every_insert() {
        let db = Db::temporary().unwrap();
        let kept = db.collection("kept").unwrap();
        let batched = db.collection("batched").unwrap();
        let built = db.collection("built").unwrap();
        for c in [&kept, &batched] {
            c.create_text_index(&["title", "body", "tags"], Language::None)
                .unwrap();
        }
        for i in 0..600 {
            kept.insert(&article(i)).unwrap();
            built.insert(&article(i)).unwrap();
        }
        // Batches append to each term's last block, and within one batch a document
        // inserted and then changed or deleted takes its last state.
        let all: Vec<Value> = (0..600).map(article).collect();
        for chunk in all.chunks(97) {
            batched.insert_many(chunk.to_vec()).unwrap();
        }
        db.transaction(|tx| {
            let c = tx.collection("batched")?;
            let id = c.insert(&article(7))?;
            c.update(id, &article(8))?;
            let gone = c.insert(&article(9))?;
            c.delete(gone)?;
            c.delete(id)
        })
        .unwrap();
        for gone in [5, 77, 300] {
            kept.delete(gone + 1).unwrap();
            batched.delete(gone + 1).unwrap();
            built.delete(gone + 1).unwrap();
        }
        built
            .create_text_index(&["title", "body", "tags"], Language::None)
            .unwrap();
        let def = built.state.meta().indexes[0].clone();
        built.state.clear_entries(def.number).unwrap();
        // A budget of 4 KB writes the build in dozens of parts.
        let mut reporting = crate::store::progress::Reporting::start(None, &def.name, 597);
        built.backfill_text(&def, 4096, &mut reporting).unwrap();
        let report = db.check().unwrap();
        assert!(report.is_clean(), "{report:?}");
        let ids: Vec<u64> = (1..=600).filter(|id| ![6, 78, 301].contains(id)).collect();
        for other in [&kept, &batched] {
            let other_def = other.state.meta().indexes[0].clone();
            for term in ["coral", "reef", "atoll", "t3", "number", "599"] {
                let (a, b) = (
                    other.state.postings(&other_def, term, true).unwrap(),
                    built.state.postings(&def, term, true).unwrap(),
                );
                assert!(!a.is_empty(), "{term}");
                assert_eq!(a, b, "{term}");
            }
            assert_eq!(
                other.state.text_lengths(&other_def, &ids).unwrap(),
                built.state.text_lengths(&def, &ids).unwrap()
            );
            assert_eq!(
                other.state.corpus(&other_def).unwrap(),
                built.state.corpus(&def).unwrap()
            );
        }
    }
}
