//! A collection's documents, packed into pages: the changes a batch makes to them, applied as
//! rewrites of the pages they touch, and the reads that unpack them.
//!
//! Invariant: document `id` is in the page keyed by `id / PAGE_SLOTS`, at slot
//! `id % PAGE_SLOTS`: whole, or marked as stored apart under `"d" <id>` when its encoding is
//! longer than [`APART_BYTES`]; a `"d"` key exists exactly for the documents so marked, and a
//! page that holds no document has no key. So reading a document is one get (two for a large
//! one), and reading the pages in key order gives the documents in id order.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

use sled::IVec;

use crate::codec::pages::{self, Body, PAGE_SLOTS, PageHead};
use crate::error::{Error, Result};
use crate::store::layout::{self, APART_BYTES};
use crate::store::staged::{Batch, Entries, Reader};

/// Documents a batch writes and removes, gathered per page and applied to the pages at once.
#[derive(Default)]
pub(crate) struct PageChanges {
    /// Page number -> slot -> what becomes of the document there.
    pages: BTreeMap<u64, BTreeMap<u64, Change>>,
}

/// What a batch does to one document of a page.
enum Change {
    /// Writes its encoding, replacing what the id held.
    Put(Vec<u8>),
    /// Removes it.
    Remove,
    /// Marks it as stored apart, its key left as it is.
    MarkApart,
}

impl PageChanges {
    /// Writes document `id` (its encoding), replacing what the id held.
    pub fn put(&mut self, id: u64, body: Vec<u8>) {
        self.change(id, Change::Put(body));
    }

    /// Removes document `id`.
    pub fn remove(&mut self, id: u64) {
        self.change(id, Change::Remove);
    }

    /// Marks document `id` as stored apart, leaving its own key as it is: an older format's
    /// page being split, whose document apart stays where it is (or stays missing, for
    /// `check` to name).
    pub fn mark_apart(&mut self, id: u64) {
        self.change(id, Change::MarkApart);
    }

    fn change(&mut self, id: u64, change: Change) {
        let slots = self.pages.entry(id / PAGE_SLOTS).or_default();
        slots.insert(id % PAGE_SLOTS, change);
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Writes the pages the changes touch, as `reader` sees them, into `batch`.
    pub fn apply(self, reader: &Reader, batch: &mut Batch) -> Result<()> {
        for (number, changes) in self.pages {
            let key = layout::page_key(number);
            let stored = reader.get(&key)?;
            let mut documents: BTreeMap<u64, Option<&[u8]>> = BTreeMap::new();
            if let Some(page) = &stored {
                for (slot, body) in read(&key, page)?.iter() {
                    let body = match body {
                        Body::Here(range) => Some(&page[range.clone()]),
                        Body::Apart => None,
                    };
                    documents.insert(*slot, body);
                }
            }
            for (slot, change) in &changes {
                let id = number * PAGE_SLOTS + slot;
                let was_apart = matches!(documents.get(slot), Some(None));
                match change {
                    Change::Put(body) if body.len() > APART_BYTES => {
                        batch.insert(&layout::doc_key(id), body.as_slice());
                        documents.insert(*slot, None);
                    }
                    Change::Put(body) => {
                        if was_apart {
                            batch.remove(&layout::doc_key(id));
                        }
                        documents.insert(*slot, Some(body));
                    }
                    Change::Remove => {
                        if was_apart {
                            batch.remove(&layout::doc_key(id));
                        }
                        documents.remove(slot);
                    }
                    Change::MarkApart => {
                        documents.insert(*slot, None);
                    }
                }
            }
            if documents.is_empty() {
                batch.remove(&key);
            } else {
                let list: Vec<(u64, Option<&[u8]>)> = documents.into_iter().collect();
                batch.insert(&key, pages::encode_page(&list));
            }
        }
        Ok(())
    }
}

/// The head of page `key`.
fn read(key: &[u8], page: &[u8]) -> Result<PageHead> {
    pages::read_page(page).map_err(|e| {
        Error::Corrupt(format!(
            "document page {key:?} cannot be read ({}); restore the store from a copy",
            e.into_reason()
        ))
    })
}

/// What document `id`'s page says of it now.
enum InPage {
    /// Its encoding, sliced out of the page.
    Here(IVec),
    /// Stored apart, under its own key.
    Apart,
}

/// What document `id`'s page says of it (`None`: the page does not hold it).
fn in_page(reader: &Reader, id: u64) -> Result<Option<InPage>> {
    let key = layout::page_key(id / PAGE_SLOTS);
    let Some(page) = reader.get(&key)? else {
        return Ok(None);
    };
    let slot = id % PAGE_SLOTS;
    Ok(match read(&key, &page)?.iter().find(|(s, _)| *s == slot) {
        None => None,
        Some((_, Body::Here(range))) => Some(InPage::Here(page.subslice(range.start, range.len()))),
        Some((_, Body::Apart)) => Some(InPage::Apart),
    })
}

/// Whether document `id`'s page lists it (whole, or as stored apart).
pub(crate) fn page_lists(reader: &Reader, id: u64) -> Result<bool> {
    Ok(in_page(reader, id)?.is_some())
}

/// Document `id`, which its page marked as stored apart: under its own key, or, when a batch
/// moved it back into its page or removed it between the two reads, what the page says now.
fn apart(reader: &Reader, id: u64) -> Result<Option<IVec>> {
    for _ in 0..3 {
        if let Some(found) = reader.get(&layout::doc_key(id))? {
            return Ok(Some(found));
        }
        match in_page(reader, id)? {
            None => return Ok(None),
            Some(InPage::Here(bytes)) => return Ok(Some(bytes)),
            Some(InPage::Apart) => {}
        }
    }
    Err(Error::Corrupt(format!(
        "document {id} is stored apart from its page, but is not there"
    )))
}

/// The encoding of document `id`, if the collection holds it.
pub(crate) fn read_document(reader: &Reader, id: u64) -> Result<Option<IVec>> {
    match in_page(reader, id)? {
        None => Ok(None),
        Some(InPage::Here(bytes)) => Ok(Some(bytes)),
        Some(InPage::Apart) => apart(reader, id),
    }
}

/// Whether document `id`'s page marks it as stored apart.
pub(crate) fn marked_apart(reader: &Reader, id: u64) -> Result<bool> {
    Ok(matches!(in_page(reader, id)?, Some(InPage::Apart)))
}

/// The documents from id `from` on, in id order, with their encodings. A page that cannot be
/// read is one error, and the documents after it still come.
pub(crate) struct PageDocuments {
    reader: Reader,
    pages: Entries,
    from: u64,
    ready: VecDeque<Result<(u64, IVec)>>,
}

impl PageDocuments {
    /// The documents `reader` sees, from id `from` on.
    pub fn new(reader: Reader, from: u64) -> PageDocuments {
        let start = layout::page_key(from / PAGE_SLOTS);
        let end = [layout::PAGE_PREFIX + 1];
        let pages = reader.entries(Bound::Included(&start), Bound::Excluded(&end), false);
        PageDocuments {
            reader,
            pages,
            from,
            ready: VecDeque::new(),
        }
    }

    /// Unpacks page `key` into `ready`.
    fn unpack(&mut self, key: &[u8], page: &IVec) {
        let first = layout::page_number(key).and_then(|n| n.checked_mul(PAGE_SLOTS));
        let Some(first) = first else {
            let error = Error::Corrupt(format!("unreadable document page key {key:?}"));
            self.ready.push_back(Err(error));
            return;
        };
        let head = match read(key, page) {
            Ok(head) => head,
            Err(err) => {
                self.ready.push_back(Err(err));
                return;
            }
        };
        for (slot, body) in head.iter() {
            let id = first + slot;
            if id < self.from {
                continue;
            }
            match body {
                Body::Here(range) => {
                    let bytes = page.subslice(range.start, range.len());
                    self.ready.push_back(Ok((id, bytes)));
                }
                Body::Apart => match apart(&self.reader, id) {
                    Ok(Some(bytes)) => self.ready.push_back(Ok((id, bytes))),
                    Ok(None) => {}
                    Err(err) => self.ready.push_back(Err(err)),
                },
            }
        }
    }
}

impl Iterator for PageDocuments {
    type Item = Result<(u64, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.ready.is_empty() {
            match self.pages.next()? {
                Ok((key, page)) => self.unpack(&key, &page),
                Err(err) => return Some(Err(err)),
            }
        }
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tree() -> (sled::Db, sled::Tree) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        (db, tree)
    }

    fn change(tree: &sled::Tree, edit: impl FnOnce(&mut PageChanges)) {
        let mut changes = PageChanges::default();
        edit(&mut changes);
        let mut batch = Batch::Direct(sled::Batch::default());
        changes.apply(&Reader::tree(tree), &mut batch).unwrap();
        let Batch::Direct(batch) = batch else {
            unreachable!()
        };
        tree.apply_batch(batch).unwrap();
    }

    fn all(tree: &sled::Tree, from: u64) -> Vec<(u64, Vec<u8>)> {
        PageDocuments::new(Reader::tree(tree), from)
            .map(|item| item.map(|(id, bytes)| (id, bytes.to_vec())).unwrap())
            .collect()
    }

    #[test]
    fn a_large_document_is_stored_apart_and_comes_back_into_its_page_when_it_shrinks() {
        let (_db, tree) = tree();
        let large = vec![7u8; APART_BYTES + 1];
        change(&tree, |c| {
            c.put(3, b"small".to_vec());
            c.put(4, large.clone());
        });
        let reader = Reader::tree(&tree);
        assert_eq!(read_document(&reader, 4).unwrap().unwrap(), large);
        assert!(tree.contains_key(layout::doc_key(4)).unwrap());
        assert_eq!(all(&tree, 0), [(3, b"small".to_vec()), (4, large)]);
        change(&tree, |c| c.put(4, b"now small".to_vec()));
        assert!(!tree.contains_key(layout::doc_key(4)).unwrap());
        assert_eq!(
            read_document(&reader, 4).unwrap().unwrap(),
            b"now small"[..]
        );
        change(&tree, |c| {
            c.remove(3);
            c.remove(4);
        });
        assert!(tree.is_empty(), "an empty page leaves no key");
    }

    #[test]
    fn a_document_missing_from_apart_or_a_damaged_page_is_an_error_and_reading_goes_on() {
        let (_db, tree) = tree();
        change(&tree, |c| {
            c.put(1, vec![1; APART_BYTES + 1]);
            c.put(40, b"next page".to_vec());
        });
        tree.remove(layout::doc_key(1)).unwrap();
        let read: Vec<Result<(u64, IVec)>> = PageDocuments::new(Reader::tree(&tree), 0).collect();
        assert!(matches!(read[0], Err(Error::Corrupt(_))), "{read:?}");
        assert_eq!(read[1].as_ref().unwrap().0, 40);
        tree.insert(layout::page_key(0), &[9, 9]).unwrap();
        let err = read_document(&Reader::tree(&tree), 1).unwrap_err();
        assert!(err.to_string().contains("cannot be read"), "{err}");
        // From an id inside the damaged page on.
        let read: Vec<Result<(u64, IVec)>> = PageDocuments::new(Reader::tree(&tree), 1).collect();
        assert!(matches!(read[0], Err(Error::Corrupt(_))), "{read:?}");
        assert_eq!(read[1].as_ref().unwrap().0, 40);
        assert_eq!(read.len(), 2);
    }

    proptest! {
        /// Any sequence of batches of writes and removals leaves pages that read back as a map
        /// of id to document would, whole and from any id on, and point reads agree.
        #[test]
        fn pages_hold_what_a_map_holds(
            batches in prop::collection::vec(
                prop::collection::vec((0u64..100, prop::option::of(0usize..3)), 1..60),
                1..8,
            ),
            from in 0u64..100,
        ) {
            let (_db, tree) = tree();
            let sizes = [0, 10, APART_BYTES + 1];
            let mut model: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
            for (round, batch) in batches.iter().enumerate() {
                change(&tree, |c| {
                    for &(id, write) in batch {
                        match write {
                            Some(size) => {
                                let body = vec![(id + round as u64) as u8; sizes[size]];
                                model.insert(id, body.clone());
                                c.put(id, body);
                            }
                            None => {
                                model.remove(&id);
                                c.remove(id);
                            }
                        }
                    }
                });
                let want: Vec<(u64, Vec<u8>)> =
                    model.range(from..).map(|(id, b)| (*id, b.clone())).collect();
                prop_assert_eq!(all(&tree, from), want);
                for id in 0..100 {
                    let got = read_document(&Reader::tree(&tree), id).unwrap();
                    prop_assert_eq!(got.map(|b| b.to_vec()), model.get(&id).cloned());
                }
                let apart = tree.scan_prefix([layout::DOC_PREFIX]).count();
                prop_assert_eq!(apart, model.values().filter(|b| b.len() > APART_BYTES).count());
            }
        }
    }
}
