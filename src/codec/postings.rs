//! The values of a text index: posting blocks, document-length pages and the corpus record.
//!
//! Invariant: every id and position list is written strictly ascending and delta-encoded as
//! LEB128 varints; [`decode_block`], [`decode_block_into`] and [`decode_lengths`] refuse
//! anything else, so `check` finds a damaged block by decoding it.
//!
//! ```text
//! block     := count (id-delta position-count position*)*        first id-delta from 0
//! position  := 0 field-delta | step      a 0 moves to a later field (the first is field 0);
//!                                        a step is the offset + 1 for a field's first
//!                                        position, then the distance from the one before
//! lengths   := width (length as `width` bytes, little-endian)*   width 1, 2 or 4; entry i
//!                                        is the length of the page's i-th id (0: none),
//!                                        trailing zeros left out
//! corpus    := documents words
//! ```
//!
//! A position is `field << FIELD_SHIFT | offset` ([`crate::text::search::FIELD_SHIFT`]);
//! writing field changes apart keeps a later field's positions as short as the first's.

use crate::codec::CodecError;
use crate::codec::varint::{Cursor, bad, put};
use crate::text::search::{FIELD_SHIFT, MAX_TEXT_FIELDS};

/// One document in a posting block: its id and the (field-tagged) positions of the term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    /// The document.
    pub id: u64,
    /// Where the term is in it, ascending.
    pub positions: Vec<u32>,
}

/// A term's documents, column by column, as a search reads them: ids ascending, how often
/// each holds the term and (when asked for) where.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostingList {
    /// The documents, ascending.
    pub ids: Vec<u64>,
    /// How many positions each document has.
    pub counts: Vec<u32>,
    /// Every document's positions one after another (empty unless read with positions).
    positions: Vec<u32>,
    /// Where each document's positions start in `positions` (with positions only).
    starts: Vec<usize>,
}

impl PostingList {
    /// How many documents.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no document holds the term.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The place of document `id`, if it holds the term.
    pub fn find(&self, id: u64) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// The positions of the document at `at` (empty when read without positions).
    pub fn positions(&self, at: usize) -> &[u32] {
        match (self.starts.get(at), self.starts.get(at + 1)) {
            (Some(&start), Some(&end)) => &self.positions[start..end],
            (Some(&start), None) => &self.positions[start..],
            _ => &[],
        }
    }
}

/// Builds posting blocks one document at a time, ids ascending.
///
/// ```
/// use quarry::internals::codec::postings::{BlockBuilder, Posting, decode_block};
/// let mut builder = BlockBuilder::default();
/// builder.push(3, &[0, 9]);
/// builder.push(70, &[4]);
/// let (first, bytes) = builder.finish().unwrap();
/// assert_eq!(first, 3);
/// assert_eq!(decode_block(&bytes).unwrap()[1], Posting { id: 70, positions: vec![4] });
/// assert!(builder.is_empty() && builder.finish().is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct BlockBuilder {
    /// The postings so far, without the count that heads a block.
    body: Vec<u8>,
    count: u64,
    first: u64,
    last: u64,
}

impl BlockBuilder {
    /// Adds document `id`, above every id added so far, with its positions (ascending).
    pub fn push(&mut self, id: u64, positions: &[u32]) {
        let delta = match self.count {
            0 => {
                self.first = id;
                id
            }
            _ => id - self.last,
        };
        put(&mut self.body, delta);
        put(&mut self.body, positions.len() as u64);
        let (mut field, mut last) = (0u32, None::<u32>);
        for &position in positions {
            let (f, offset) = (position >> FIELD_SHIFT, position & ((1 << FIELD_SHIFT) - 1));
            if f != field {
                put(&mut self.body, 0);
                put(&mut self.body, u64::from(f - field));
                (field, last) = (f, None);
            }
            put(
                &mut self.body,
                u64::from(last.map_or(offset + 1, |l| offset - l)),
            );
            last = Some(offset);
        }
        self.last = id;
        self.count += 1;
    }

    /// The bytes held so far.
    pub fn bytes(&self) -> usize {
        self.body.len()
    }

    /// Whether no document was added since the last block was finished.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The block built so far, as its first id and its bytes; the builder starts a new one.
    pub fn finish(&mut self) -> Option<(u64, Vec<u8>)> {
        if self.count == 0 {
            return None;
        }
        let mut out = Vec::with_capacity(self.body.len() + 4);
        put(&mut out, self.count);
        out.extend_from_slice(&self.body);
        self.body.clear();
        self.count = 0;
        Some((self.first, out))
    }
}

/// Encodes a posting block (ids ascending, each with ascending positions).
///
/// ```
/// use quarry::internals::codec::postings::{Posting, encode_block, decode_block};
/// let body = 1 << 28; // field 1
/// let block = vec![Posting { id: 3, positions: vec![0, 9, body + 2] }, Posting { id: 70, positions: vec![4] }];
/// let mut bytes = Vec::new();
/// encode_block(&block, &mut bytes);
/// assert_eq!(decode_block(&bytes).unwrap(), block);
/// ```
pub fn encode_block(postings: &[Posting], out: &mut Vec<u8>) {
    let mut builder = BlockBuilder::default();
    for posting in postings {
        builder.push(posting.id, &posting.positions);
    }
    match builder.finish() {
        Some((_, bytes)) => out.extend_from_slice(&bytes),
        None => put(out, 0),
    }
}

/// Walks a posting block: `each` gets every document's id and positions, in order (the
/// block is checked as [`decode_block`] checks it, nothing is allocated per document).
///
/// ```
/// use quarry::internals::codec::postings::{Posting, encode_block, walk_block};
/// let mut bytes = Vec::new();
/// encode_block(&[Posting { id: 3, positions: vec![0, 9] }, Posting { id: 70, positions: vec![4] }], &mut bytes);
/// let mut ids = Vec::new();
/// walk_block(&bytes, |id, positions| ids.push((id, positions.len()))).unwrap();
/// assert_eq!(ids, [(3, 2), (70, 1)]);
/// ```
pub fn walk_block(bytes: &[u8], mut each: impl FnMut(u64, &[u32])) -> Result<(), CodecError> {
    let mut cursor = Cursor::new(bytes);
    let count = cursor.next()?;
    if count == 0 || count > bytes.len() as u64 {
        return Err(bad("posting block with a bad count"));
    }
    let mut id = 0u64;
    let mut positions: Vec<u32> = Vec::new();
    for i in 0..count {
        let delta = cursor.next()?;
        if i > 0 && delta == 0 {
            return Err(bad("posting block ids out of order"));
        }
        id = id
            .checked_add(delta)
            .ok_or_else(|| bad("posting block id overflows"))?;
        let n = cursor.next()?;
        if n == 0 || n > bytes.len() as u64 {
            return Err(bad("posting with a bad position count"));
        }
        positions.clear();
        let (mut field, mut last) = (0u64, None::<u64>);
        while (positions.len() as u64) < n {
            let step = cursor.next()?;
            if step == 0 {
                let moved = cursor.next()?;
                field = field.saturating_add(moved);
                if moved == 0 || field >= MAX_TEXT_FIELDS as u64 {
                    return Err(bad("posting positions with a bad field"));
                }
                last = None;
                continue;
            }
            let offset = match last {
                None => step - 1,
                Some(l) => l.saturating_add(step),
            };
            if offset >= 1 << FIELD_SHIFT {
                return Err(bad("posting position out of range"));
            }
            positions.push(((field << FIELD_SHIFT) | offset) as u32);
            last = Some(offset);
        }
        each(id, &positions);
    }
    cursor.done()
}

/// Decodes a posting block, refusing ids or positions out of order.
pub fn decode_block(bytes: &[u8]) -> Result<Vec<Posting>, CodecError> {
    let mut postings = Vec::new();
    walk_block(bytes, |id, positions| {
        postings.push(Posting {
            id,
            positions: positions.to_vec(),
        })
    })?;
    Ok(postings)
}

/// Decodes a posting block onto the end of `list` (whose ids must all be lower), with the
/// positions or only their counts.
///
/// ```
/// use quarry::internals::codec::postings::{Posting, PostingList, encode_block, decode_block_into};
/// let mut bytes = Vec::new();
/// encode_block(&[Posting { id: 3, positions: vec![0, 9] }, Posting { id: 70, positions: vec![4] }], &mut bytes);
/// let mut list = PostingList::default();
/// decode_block_into(&bytes, &mut list, true).unwrap();
/// assert_eq!((list.ids.as_slice(), list.counts.as_slice()), (&[3, 70][..], &[2, 1][..]));
/// assert_eq!(list.positions(list.find(70).unwrap()), [4]);
/// ```
pub fn decode_block_into(
    bytes: &[u8],
    list: &mut PostingList,
    with_positions: bool,
) -> Result<(), CodecError> {
    let floor = list.ids.last().copied();
    let before = list.ids.len();
    let result = walk_block(bytes, |id, positions| {
        list.ids.push(id);
        list.counts.push(positions.len() as u32);
        if with_positions {
            list.starts.push(list.positions.len());
            list.positions.extend_from_slice(positions);
        }
    });
    let ordered = list
        .ids
        .get(before)
        .is_none_or(|&id| floor.is_none_or(|f| f < id));
    match (result, ordered) {
        (Err(e), _) => Err(e),
        (Ok(()), false) => Err(bad("posting blocks of a term overlap")),
        (Ok(()), true) => Ok(()),
    }
}

/// How many documents a posting block holds (read from its head, nothing decoded).
pub fn block_len(bytes: &[u8]) -> Result<u64, CodecError> {
    let count = Cursor::new(bytes).next()?;
    match count == 0 || count > bytes.len() as u64 {
        true => Err(bad("posting block with a bad count")),
        false => Ok(count),
    }
}

/// Encodes a page of document lengths: entry `i` the length of the page's `i`-th id, 0 for
/// none; an all-zero page is empty.
///
/// ```
/// use quarry::internals::codec::postings::{encode_lengths, decode_lengths, length_in};
/// let bytes = encode_lengths(&[40, 0, 300, 0, 0]);
/// assert_eq!(bytes.len(), 1 + 3 * 2);
/// assert_eq!(decode_lengths(&bytes).unwrap(), [40, 0, 300]);
/// assert_eq!((length_in(&bytes, 2).unwrap(), length_in(&bytes, 9).unwrap()), (300, 0));
/// ```
pub fn encode_lengths(lengths: &[u32]) -> Vec<u8> {
    let used = lengths.iter().rposition(|&l| l > 0).map_or(0, |at| at + 1);
    let widest = lengths[..used].iter().copied().max().unwrap_or(0);
    let width: usize = match widest {
        0..=0xFF => 1,
        0x100..=0xFFFF => 2,
        _ => 4,
    };
    let mut out = Vec::with_capacity(1 + used * width);
    out.push(width as u8);
    for &length in &lengths[..used] {
        out.extend_from_slice(&length.to_le_bytes()[..width]);
    }
    out
}

/// The width of a length page's entries, and how many it has.
fn length_shape(bytes: &[u8]) -> Result<(usize, usize), CodecError> {
    let (&width, entries) = bytes
        .split_first()
        .ok_or_else(|| bad("empty length page"))?;
    let width = usize::from(width);
    if !matches!(width, 1 | 2 | 4) || entries.len() % width != 0 {
        return Err(bad("length page with a bad width"));
    }
    Ok((width, entries.len() / width))
}

fn entry(bytes: &[u8], width: usize, at: usize) -> u32 {
    let mut le = [0u8; 4];
    le[..width].copy_from_slice(&bytes[1 + at * width..1 + (at + 1) * width]);
    u32::from_le_bytes(le)
}

/// Decodes a page of document lengths, refusing a bad width or trailing zeros.
pub fn decode_lengths(bytes: &[u8]) -> Result<Vec<u32>, CodecError> {
    let (width, n) = length_shape(bytes)?;
    let lengths: Vec<u32> = (0..n).map(|at| entry(bytes, width, at)).collect();
    match lengths.last() {
        Some(0) => Err(bad("length page with trailing zeros")),
        _ => Ok(lengths),
    }
}

/// The length of the page's `at`-th id, read in place (0 past the page's last entry).
pub fn length_in(bytes: &[u8], at: usize) -> Result<u32, CodecError> {
    let (width, n) = length_shape(bytes)?;
    Ok(if at < n { entry(bytes, width, at) } else { 0 })
}

/// Encodes the corpus record: documents with words, and their words.
///
/// ```
/// use quarry::internals::codec::postings::{encode_corpus, decode_corpus};
/// assert_eq!(decode_corpus(&encode_corpus(3, 50)).unwrap(), (3, 50));
/// ```
pub fn encode_corpus(documents: u64, words: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    put(&mut out, documents);
    put(&mut out, words);
    out
}

/// Decodes the corpus record.
pub fn decode_corpus(bytes: &[u8]) -> Result<(u64, u64), CodecError> {
    let mut cursor = Cursor::new(bytes);
    let pair = (cursor.next()?, cursor.next()?);
    cursor.done()?;
    Ok(pair)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn blocks_round_trip(ids in proptest::collection::btree_set(0u64..u64::MAX, 1..50),
                             positions in proptest::collection::btree_set(0u32..u32::MAX, 1..20)) {
            let block: Vec<Posting> = ids.into_iter()
                .map(|id| Posting { id, positions: positions.iter().copied().collect() })
                .collect();
            let mut bytes = Vec::new();
            encode_block(&block, &mut bytes);
            prop_assert_eq!(decode_block(&bytes).unwrap(), block);
        }

        #[test]
        fn columns_hold_what_blocks_hold(ids in proptest::collection::btree_set(0u64..1 << 40, 1..30),
                                        positions in proptest::collection::btree_set(any::<u32>(), 1..8)) {
            let block: Vec<Posting> = ids.into_iter()
                .map(|id| Posting { id, positions: positions.iter().copied().collect() })
                .collect();
            let (left, right) = block.split_at(block.len() / 2);
            let mut list = PostingList::default();
            let mut counts = PostingList::default();
            for half in [left, right].into_iter().filter(|h| !h.is_empty()) {
                let mut bytes = Vec::new();
                encode_block(half, &mut bytes);
                prop_assert_eq!(block_len(&bytes).unwrap(), half.len() as u64);
                decode_block_into(&bytes, &mut list, true).unwrap();
                decode_block_into(&bytes, &mut counts, false).unwrap();
            }
            for (at, posting) in block.iter().enumerate() {
                prop_assert_eq!(list.find(posting.id), Some(at));
                prop_assert_eq!(list.positions(at), posting.positions.as_slice());
                prop_assert_eq!(counts.counts[at] as usize, posting.positions.len());
                prop_assert!(counts.positions(at).is_empty());
            }
            // A block that does not start after the list's last id is refused.
            let mut bytes = Vec::new();
            encode_block(&block, &mut bytes);
            prop_assert!(decode_block_into(&bytes, &mut list, false).is_err());
        }

        #[test]
        fn length_pages_round_trip(lengths in proptest::collection::vec(
            prop_oneof![Just(0u32), 1u32..300, any::<u32>()], 0..40)) {
            let bytes = encode_lengths(&lengths);
            let used = lengths.iter().rposition(|&l| l > 0).map_or(0, |at| at + 1);
            prop_assert_eq!(decode_lengths(&bytes).unwrap(), &lengths[..used]);
            for (at, length) in lengths.iter().enumerate() {
                prop_assert_eq!(length_in(&bytes, at).unwrap(), *length);
            }
        }

        #[test]
        fn damaged_blocks_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_block(&bytes);
            let _ = decode_block_into(&bytes, &mut PostingList::default(), true);
            let _ = block_len(&bytes);
            let _ = decode_lengths(&bytes);
            let _ = length_in(&bytes, 3);
            let _ = decode_corpus(&bytes);
        }
    }

    #[test]
    fn ids_out_of_order_are_refused() {
        // count 2, id 5 (one position 0), then delta 0.
        assert!(decode_block(&[2, 5, 1, 1, 0, 1, 1]).is_err());
        assert!(decode_block(&[2, 5, 1, 1, 1, 1, 1]).is_ok());
        assert!(decode_block(&[0]).is_err());
        // Field moves of 0, and positions past a field's room.
        assert!(decode_block(&[1, 5, 1, 0, 0, 1]).is_err());
        assert!(decode_block(&[1, 5, 1, 0x81, 0x80, 0x80, 0x80, 0x01]).is_err());
        // Widths other than 1, 2, 4; entries that do not fill the width; trailing zeros.
        assert!(decode_lengths(&[3, 1, 0, 0]).is_err());
        assert!(decode_lengths(&[2, 1]).is_err());
        assert!(decode_lengths(&[1, 5, 0]).is_err());
        assert_eq!(decode_lengths(&[1]).unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn later_fields_cost_no_more_than_the_first() {
        let at = |field: u32| Posting {
            id: 1,
            positions: vec![(field << FIELD_SHIFT) | 7],
        };
        let (mut first, mut later) = (Vec::new(), Vec::new());
        encode_block(&[at(0)], &mut first);
        encode_block(&[at(1)], &mut later);
        assert_eq!(later.len(), first.len() + 2);
    }
}
