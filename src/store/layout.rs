//! Where everything lives on disk: the one place that knows tree names and key prefixes.
//!
//! A database is a folder holding one sled instance (with a catalog tree and one tree per
//! collection) and the marker file `quarry.format`:
//!
//! ```text
//! tree "quarry.catalog"
//!   "format"                        -> u32 format version (big-endian)
//!   "next_collection"               -> u32 next collection number (big-endian)
//!   "collection/" <name>            -> CollectionRecord { number, name }
//!
//! tree "quarry.collection." <number>   (everything a write touches, so one batch is atomic)
//!   "m/next_id"                     -> u64 next document id (big-endian)
//!   "m/next_index"                  -> u32 next index number (big-endian)
//!   "m/count"                       -> u64 number of documents (big-endian)
//!   "m/index/" <u32 index number>   -> IndexDef { number, name, paths, unique, multikey, state }
//!   "m/journal"                     -> u64 first id of an import still running
//!   "m/journal/saved/" <u64 doc id> -> a document that import replaced, as it was before
//!   "m/layout"                      -> u32 5: the collection's keys are format 5's (below)
//!   "q" <u64 id / 2>                -> page of the documents of 2 consecutive ids
//!                                      (codec::pages): each one's bincode encoding, or a
//!                                      mark that it is stored apart
//!   "d" <u64 doc id>                -> bincode document stored apart from its page (one
//!                                      longer than APART_BYTES)
//!   "b" <index number> <keycode(values...)> <keycode(first id)>  -> id block of a value index:
//!                                                     the ids, from that first one on, of
//!                                                     documents that give those values
//!                                                     (codec::ids), at most BLOCK_IDS
//!   "c" <index number> <keycode(first value)>       -> u64 entries with that first value
//!                                                     (big-endian)
//!   "x" <index number> <term> 0x00 <u64 first id>  -> posting block of a text index: the
//!                                                     documents from that id on that hold the
//!                                                     term, with its positions (codec::postings)
//!   "l" <index number> <u64 id / 512>               -> the lengths of those documents (words
//!                                                     indexed) for a text index, one entry
//!                                                     per id, 0 for none
//!   "s" <index number>                              -> a text index's corpus: documents with
//!                                                     words, and their words
//! ```
//!
//! Documents share a page with their id neighbour, so a load writes one key per 2
//! documents, a scan reads one per 2, and a point read gets one page and slices its
//! document out; a document longer than [`APART_BYTES`] keeps a key of its own, so that a page
//! stays small enough to rewrite whenever one of its documents changes (see `store::pages`).
//!
//! A value index's entry (values, id) is the id in the block of its values whose key is the
//! greatest at or before the entry's own key `"b" <number> <values> <id>`: the blocks of one
//! tuple of values hold disjoint, ascending runs of ids, so reading a key range's blocks in key
//! order gives its entries in value order, then id order (see `store::blocks`). A load writes
//! one key per distinct value and batch, not one per entry, and a count adds up block heads.
//!
//! A text index's keys are few and large: a block holds up to [`BLOCK_BYTES`] of postings and
//! a page the lengths of 512 consecutive ids, so a load of many documents writes one key per
//! term and batch, not one per term and document. Terms never hold a 0x00 byte, so a term's
//! blocks are exactly the keys under `"x" <number> <term> 0x00`.
//!
//! An index number below 255 is one byte, a larger one 0xFF and four (big-endian); with
//! [`keycode`](crate::codec::keycode)'s short ids a date index's key fits the 22 bytes sled
//! keeps inline. Formats 1 and 2 wrote entries as `"i" <u32> <values> <u64 id>` and counts as
//! `"g" <u32> <first value>`; format 3 wrote a key per entry, `"e" <number> <values> <id>`,
//! and a key per document, `"d" <id>`; format 4 wrote pages of 4 documents, `"p" <id / 4>`:
//! opening such a collection rewrites them (see `CollectionState::upgrade`); the kind bytes
//! keep the layouts apart while it runs.
//!
//! The `c` keys ("group counts") let `count by` on an index's leading path read one key per
//! distinct value instead of one per entry; every batch that adds or removes entries updates
//! them in the same `apply_batch`.
//!
//! The issue asked for index definitions and id counters in the catalog; they live in the
//! collection's own tree instead, because sled batches are atomic only within one tree: this way
//! a document, its index entries, the id counter and a flipped multikey flag all land in one
//! `apply_batch` and no crash can separate them. The catalog tree only names collections.

/// A file beside sled's own, written once the catalog is durable: with it present, an empty
/// catalog means the store was damaged rather than newly created.
pub const MARKER_FILE: &str = "quarry.format";
/// The file beside the store that records each collection's generation at the last flush
/// (see `seal`).
pub const SEAL_FILE: &str = "quarry.seal";

/// Name of the catalog tree.
pub const CATALOG_TREE: &[u8] = b"quarry.catalog";
/// Prefix of every collection tree's name.
pub const COLLECTION_TREE_PREFIX: &[u8] = b"quarry.collection.";

/// Catalog key of the format version.
pub const FORMAT_KEY: &[u8] = b"format";
/// Catalog key of the next collection number.
pub const NEXT_COLLECTION_KEY: &[u8] = b"next_collection";
/// Catalog key prefix of collection records.
pub const COLLECTION_PREFIX: &[u8] = b"collection/";

/// Collection-tree key of the next document id.
pub const NEXT_ID_KEY: &[u8] = b"m/next_id";
/// Collection-tree key of the next index number.
pub const NEXT_INDEX_KEY: &[u8] = b"m/next_index";
/// Collection-tree key of the document count.
pub const COUNT_KEY: &[u8] = b"m/count";
/// How many batches have been applied to the collection (absent: none yet): a write sequence
/// that the seal beside the store is compared with on open.
pub const GENERATION_KEY: &[u8] = b"m/generation";
/// Collection-tree key prefix of index definitions.
pub const INDEX_DEF_PREFIX: &[u8] = b"m/index/";
/// Collection-tree key of a running import's journal.
pub const JOURNAL_KEY: &[u8] = b"m/journal";
/// Collection-tree key prefix of documents saved by a running import (to restore on rollback).
pub const JOURNAL_SAVED_PREFIX: &[u8] = b"m/journal/saved/";
/// Prefix byte of documents stored apart from their pages.
pub const DOC_PREFIX: u8 = b'd';
/// Prefix byte of document pages.
pub const PAGE_PREFIX: u8 = b'q';
/// Prefix byte of format 4's document pages, of [`FORMAT4_PAGE_SLOTS`] ids each.
pub const FORMAT4_PAGE_PREFIX: u8 = b'p';
/// How many consecutive ids shared a page in format 4.
pub const FORMAT4_PAGE_SLOTS: u64 = 4;
/// The longest document encoding a page holds; a longer one is stored apart.
pub const APART_BYTES: usize = 4096;
/// Collection-tree key saying which key layout the collection has.
pub const LAYOUT_KEY: &[u8] = b"m/layout";
/// The key layout this build writes (the value of [`LAYOUT_KEY`]).
pub const LAYOUT_VERSION: u32 = 5;
/// Prefix byte of a value index's id blocks.
pub const BLOCK_PREFIX: u8 = b'b';
/// The most ids a value index's block holds: a bound on what one small write rewrites.
pub const BLOCK_IDS: usize = 256;
/// Prefix byte of value index entries as format 3 wrote them, one key each.
pub const FORMAT3_ENTRY_PREFIX: u8 = b'e';
/// Prefix byte of group counts.
pub const GROUP_PREFIX: u8 = b'c';
/// Prefix byte of a text index's posting blocks.
pub const POSTING_PREFIX: u8 = b'x';
/// Prefix byte of a text index's document-length pages.
pub const LENGTH_PREFIX: u8 = b'l';
/// Prefix byte of a text index's corpus record.
pub const CORPUS_PREFIX: u8 = b's';
/// The size a posting block is split at when writes change it.
pub const BLOCK_BYTES: usize = 4096;
/// The size a text index backfill splits the blocks it writes at: larger, since they are
/// written once and sled stores fewer, larger values with less rewriting of its log (a write
/// that changes one splits it at [`BLOCK_BYTES`] again).
pub const BUILD_BLOCK_BYTES: usize = 16384;
/// How many consecutive ids share a length page (as a power of two).
pub const LENGTH_PAGE_BITS: u32 = 9;
/// Prefix byte of index entries as formats 1 and 2 wrote them.
pub const OLD_ENTRY_PREFIX: u8 = b'i';
/// Prefix byte of group counts as format 2 wrote them.
pub const OLD_GROUP_PREFIX: u8 = b'g';

/// The prefix of one index's blocks or group counts: a kind byte, then the index number.
///
/// ```
/// use quarry::internals::layout::{block_prefix, index_number};
/// assert_eq!(&block_prefix(3)[..], b"b\x03");
/// assert_eq!(block_prefix(300).len(), 6);
/// assert_eq!(index_number(&block_prefix(300)), Some((300, 6)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexPrefix {
    bytes: [u8; 6],
    len: u8,
}

impl IndexPrefix {
    /// The prefix of index `number`'s keys of kind `kind`.
    pub fn new(kind: u8, number: u32) -> IndexPrefix {
        let mut bytes = [kind, 0, 0, 0, 0, 0];
        let len = match u8::try_from(number) {
            Ok(small) if small < 0xFF => {
                bytes[1] = small;
                2
            }
            _ => {
                bytes[1] = 0xFF;
                bytes[2..].copy_from_slice(&number.to_be_bytes());
                6
            }
        };
        IndexPrefix { bytes, len }
    }
}

impl std::ops::Deref for IndexPrefix {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl AsRef<[u8]> for IndexPrefix {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// The index number of an entry or group-count key, and where its values start (`None` when
/// the key is too short to hold one).
pub fn index_number(key: &[u8]) -> Option<(u32, usize)> {
    match key.get(1)? {
        0xFF => Some((read_u32(key.get(2..6)?)?, 6)),
        &small => Some((u32::from(small), 2)),
    }
}

/// The name of the tree of collection number `number`.
pub fn collection_tree(number: u32) -> Vec<u8> {
    let mut name = COLLECTION_TREE_PREFIX.to_vec();
    name.extend_from_slice(number.to_string().as_bytes());
    name
}

/// The catalog key of the collection called `name`.
pub fn collection_key(name: &str) -> Vec<u8> {
    [COLLECTION_PREFIX, name.as_bytes()].concat()
}

/// The key of document `id` when it is stored apart from its page.
pub fn doc_key(id: u64) -> [u8; 9] {
    let mut key = [DOC_PREFIX; 9];
    key[1..].copy_from_slice(&id.to_be_bytes());
    key
}

/// The key of document page `number` (ids `number × 2` and `number × 2 + 1`).
///
/// ```
/// use quarry::internals::layout::{page_key, page_number};
/// assert!(page_key(2) < page_key(300));
/// assert_eq!(page_number(&page_key(300)), Some(300));
/// ```
pub fn page_key(number: u64) -> [u8; 9] {
    let mut key = [PAGE_PREFIX; 9];
    key[1..].copy_from_slice(&number.to_be_bytes());
    key
}

/// The page number in a page key, if it is one.
pub fn page_number(key: &[u8]) -> Option<u64> {
    match key {
        [PAGE_PREFIX, rest @ ..] => rest.try_into().ok().map(u64::from_be_bytes),
        _ => None,
    }
}

/// The page number in a format 4 page key, if it is one.
pub fn format4_page_number(key: &[u8]) -> Option<u64> {
    match key {
        [FORMAT4_PAGE_PREFIX, rest @ ..] => rest.try_into().ok().map(u64::from_be_bytes),
        _ => None,
    }
}

/// The document id in a document key, if it is one.
pub fn doc_id(key: &[u8]) -> Option<u64> {
    match key {
        [DOC_PREFIX, rest @ ..] => rest.try_into().ok().map(u64::from_be_bytes),
        _ => None,
    }
}

/// The key of index definition `number`.
pub fn index_def_key(number: u32) -> Vec<u8> {
    [INDEX_DEF_PREFIX, &number.to_be_bytes()].concat()
}

/// The prefix shared by every id block of value index `number`.
pub fn block_prefix(number: u32) -> IndexPrefix {
    IndexPrefix::new(BLOCK_PREFIX, number)
}

/// The prefix shared by every group count of index `number`.
pub fn group_prefix(number: u32) -> IndexPrefix {
    IndexPrefix::new(GROUP_PREFIX, number)
}

/// Every key prefix one index's keys may have (id blocks, group counts, text keys).
pub fn index_prefixes(number: u32) -> [IndexPrefix; 5] {
    [
        BLOCK_PREFIX,
        GROUP_PREFIX,
        POSTING_PREFIX,
        LENGTH_PREFIX,
        CORPUS_PREFIX,
    ]
    .map(|kind| IndexPrefix::new(kind, number))
}

/// The prefix of every posting block of `term` in text index `number`.
///
/// ```
/// use quarry::internals::layout::{posting_key, term_prefix};
/// assert!(posting_key(1, "reef", 9).starts_with(&term_prefix(1, "reef")));
/// assert!(!posting_key(1, "reefs", 9).starts_with(&term_prefix(1, "reef")));
/// ```
pub fn term_prefix(number: u32, term: &str) -> Vec<u8> {
    let prefix = IndexPrefix::new(POSTING_PREFIX, number);
    let mut key = Vec::with_capacity(prefix.len() + term.len() + 9);
    key.extend_from_slice(&prefix);
    key.extend_from_slice(term.as_bytes());
    key.push(0);
    key
}

/// The key of the posting block of `term` that starts at document `first`.
pub fn posting_key(number: u32, term: &str, first: u64) -> Vec<u8> {
    let mut key = term_prefix(number, term);
    key.extend_from_slice(&first.to_be_bytes());
    key
}

/// The prefix of the posting blocks of every term that starts with `start`.
pub fn terms_prefix(number: u32, start: &str) -> Vec<u8> {
    let mut key = IndexPrefix::new(POSTING_PREFIX, number).to_vec();
    key.extend_from_slice(start.as_bytes());
    key
}

/// The term and first id of a posting key of index `number` (`None` if it is not one).
pub fn read_posting_key(number: u32, key: &[u8]) -> Option<(&str, u64)> {
    let prefix = IndexPrefix::new(POSTING_PREFIX, number);
    let rest = key.strip_prefix(&prefix[..])?;
    let (term, first) = rest.split_at_checked(rest.len().checked_sub(9)?)?;
    let (zero, first) = first.split_first()?;
    (*zero == 0)
        .then(|| Some((std::str::from_utf8(term).ok()?, read_u64(first)?)))
        .flatten()
}

/// The prefix of every length page of text index `number`.
pub fn length_prefix(number: u32) -> IndexPrefix {
    IndexPrefix::new(LENGTH_PREFIX, number)
}

/// The key of the length page that holds document `id` in text index `number`.
pub fn length_key(number: u32, id: u64) -> Vec<u8> {
    let mut key = length_prefix(number).to_vec();
    key.extend_from_slice(&(id >> LENGTH_PAGE_BITS).to_be_bytes());
    key
}

/// The first id of the length page at `key` of text index `number` (`None` if it is not
/// one): the page's entry `i` is document `first + i`.
///
/// ```
/// use quarry::internals::layout::{length_key, length_page_first};
/// assert_eq!(length_page_first(3, &length_key(3, 1000)), Some(512));
/// ```
pub fn length_page_first(number: u32, key: &[u8]) -> Option<u64> {
    let page = read_u64(key.strip_prefix(&length_prefix(number)[..])?)?;
    page.checked_mul(1 << LENGTH_PAGE_BITS)
}

/// The place of document `id` in its length page.
pub fn length_slot(id: u64) -> usize {
    (id & ((1 << LENGTH_PAGE_BITS) - 1)) as usize
}

/// The key of text index `number`'s corpus record.
pub fn corpus_key(number: u32) -> IndexPrefix {
    IndexPrefix::new(CORPUS_PREFIX, number)
}

/// The group-count key of an entry key whose index number and first value take the first
/// `group_len` bytes.
pub fn group_key(entry_key: &[u8], group_len: usize) -> Vec<u8> {
    let mut key = entry_key[..group_len.min(entry_key.len())].to_vec();
    if let Some(first) = key.first_mut() {
        *first = GROUP_PREFIX;
    }
    key
}

/// The value of an import journal: the load's first id, and whether the load holds back its
/// group-count changes until it ends (then a rollback must not undo them in the counts).
pub fn journal_value(first_id: u64, counts_held: bool) -> Vec<u8> {
    let mut value = first_id.to_be_bytes().to_vec();
    if counts_held {
        value.push(1);
    }
    value
}

/// Reads [`journal_value`]: the first id and whether counts are held back. A journal of 8
/// bytes (written before loads held counts back) holds none back.
pub fn read_journal(bytes: &[u8]) -> Option<(u64, bool)> {
    match bytes {
        [id @ .., 1] if id.len() == 8 => Some((read_u64(id)?, true)),
        _ => Some((read_u64(bytes)?, false)),
    }
}

/// A big-endian u64 stored value, if it is one.
pub fn read_u64(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_be_bytes)
}

/// A big-endian u32 stored value, if it is one.
pub fn read_u32(bytes: &[u8]) -> Option<u32> {
    bytes.try_into().ok().map(u32::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journals_say_their_first_id_and_whether_counts_are_held_back() {
        assert_eq!(read_journal(&journal_value(7, true)), Some((7, true)));
        assert_eq!(read_journal(&journal_value(7, false)), Some((7, false)));
        assert_eq!(read_journal(&7u64.to_be_bytes()), Some((7, false)));
        assert_eq!(read_journal(&[1, 2, 3]), None);
        assert_eq!(read_journal(&[0; 10]), None);
    }

    #[test]
    fn index_numbers_take_one_byte_below_255_and_five_above() {
        for number in [0, 1, 254, 255, 256, 70_000, u32::MAX] {
            let prefix = block_prefix(number);
            assert_eq!(prefix.len(), if number < 255 { 2 } else { 6 });
            assert_eq!(index_number(&prefix), Some((number, prefix.len())));
        }
        // No index's prefix is the start of another's.
        let prefixes: Vec<IndexPrefix> = [1, 255, 65_281, 65_535].map(block_prefix).into();
        for a in &prefixes {
            for b in &prefixes {
                assert!(a == b || !b.starts_with(a), "{a:?} {b:?}");
            }
        }
        assert_eq!(index_number(&[BLOCK_PREFIX]), None);
        assert_eq!(index_number(&[BLOCK_PREFIX, 0xFF, 0, 1]), None);
    }

    #[test]
    fn document_keys_sort_by_id_and_round_trip() {
        assert!(doc_key(2) < doc_key(10));
        assert!(doc_key(u64::MAX) > doc_key(1 << 40));
        assert_eq!(doc_id(&doc_key(77)), Some(77));
        assert_eq!(doc_id(b"m/next_id"), None);
    }

    #[test]
    fn prefixes_do_not_collide() {
        assert_ne!(block_prefix(1)[0], doc_key(1)[0]);
        assert_ne!(group_prefix(1)[0], block_prefix(1)[0]);
        assert_ne!(group_prefix(1)[0], doc_key(1)[0]);
        assert!(!index_def_key(1).starts_with(&[GROUP_PREFIX]));
        assert!(group_key(&[BLOCK_PREFIX, 1, 9, 9, 7], 3).starts_with(&group_prefix(1)));
        for kind in [BLOCK_PREFIX, GROUP_PREFIX] {
            assert_ne!(kind, FORMAT3_ENTRY_PREFIX);
            assert_ne!(kind, OLD_ENTRY_PREFIX);
            assert_ne!(kind, OLD_GROUP_PREFIX);
        }
        assert!(!index_def_key(1).starts_with(&[DOC_PREFIX]));
        assert!(!index_def_key(1).starts_with(&[BLOCK_PREFIX]));
    }
}
