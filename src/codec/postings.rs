//! The values of a text index: posting blocks, document-length pages and the corpus record.
//!
//! Invariant: every id and position list is written strictly ascending and delta-encoded as
//! LEB128 varints; [`decode_block`] and [`decode_lengths`] refuse anything else, so `check`
//! finds a damaged block by decoding it.
//!
//! ```text
//! block   := count (id-delta position-count position-delta*)*     first id-delta from 0
//! lengths := count (id-delta length)*                              first id-delta from 0
//! corpus  := documents words
//! ```

use crate::codec::CodecError;

/// One document in a posting block: its id and the (field-tagged) positions of the term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    /// The document.
    pub id: u64,
    /// Where the term is in it, ascending.
    pub positions: Vec<u32>,
}

/// Appends `value` as a LEB128 varint.
fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn next(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or_else(|| CodecError::Decode("text index value cut short".into()))?;
            self.at += 1;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::Decode("text index varint too long".into()))
    }

    fn next_u32(&mut self) -> Result<u32, CodecError> {
        u32::try_from(self.next()?)
            .map_err(|_| CodecError::Decode("text index number out of range".into()))
    }

    fn done(&self) -> Result<(), CodecError> {
        match self.at == self.bytes.len() {
            true => Ok(()),
            false => Err(CodecError::Decode(
                "trailing bytes in a text index value".into(),
            )),
        }
    }
}

/// Encodes a posting block (ids ascending, each with ascending positions).
///
/// ```
/// use quarry::internals::codec::postings::{Posting, encode_block, decode_block};
/// let block = vec![Posting { id: 3, positions: vec![0, 9] }, Posting { id: 70, positions: vec![4] }];
/// let mut bytes = Vec::new();
/// encode_block(&block, &mut bytes);
/// assert_eq!(decode_block(&bytes).unwrap(), block);
/// ```
pub fn encode_block(postings: &[Posting], out: &mut Vec<u8>) {
    put(out, postings.len() as u64);
    let mut previous = 0u64;
    for posting in postings {
        put(out, posting.id - previous);
        previous = posting.id;
        put(out, posting.positions.len() as u64);
        let mut last = 0u32;
        for &position in &posting.positions {
            put(out, u64::from(position - last));
            last = position;
        }
    }
}

/// Decodes a posting block, refusing ids or positions out of order.
pub fn decode_block(bytes: &[u8]) -> Result<Vec<Posting>, CodecError> {
    let mut cursor = Cursor { bytes, at: 0 };
    let count = cursor.next()?;
    if count == 0 || count > bytes.len() as u64 {
        return Err(CodecError::Decode("posting block with a bad count".into()));
    }
    let mut postings = Vec::with_capacity(count as usize);
    let mut id = 0u64;
    for i in 0..count {
        let delta = cursor.next()?;
        if i > 0 && delta == 0 {
            return Err(CodecError::Decode("posting block ids out of order".into()));
        }
        id = id
            .checked_add(delta)
            .ok_or_else(|| CodecError::Decode("posting block id overflows".into()))?;
        let n = cursor.next()?;
        if n == 0 || n > bytes.len() as u64 {
            return Err(CodecError::Decode(
                "posting with a bad position count".into(),
            ));
        }
        let mut positions = Vec::with_capacity(n as usize);
        let mut position = 0u32;
        for j in 0..n {
            let step = cursor.next_u32()?;
            if j > 0 && step == 0 {
                return Err(CodecError::Decode("posting positions out of order".into()));
            }
            position = position
                .checked_add(step)
                .ok_or_else(|| CodecError::Decode("posting position overflows".into()))?;
            positions.push(position);
        }
        postings.push(Posting { id, positions });
    }
    cursor.done()?;
    Ok(postings)
}

/// Encodes a page of document lengths (ids ascending).
///
/// ```
/// use quarry::internals::codec::postings::{encode_lengths, decode_lengths};
/// let bytes = encode_lengths(&[(128, 40), (130, 7)]);
/// assert_eq!(decode_lengths(&bytes).unwrap(), [(128, 40), (130, 7)]);
/// ```
pub fn encode_lengths(lengths: &[(u64, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lengths.len() * 3 + 2);
    put(&mut out, lengths.len() as u64);
    let mut previous = 0u64;
    for &(id, length) in lengths {
        put(&mut out, id - previous);
        previous = id;
        put(&mut out, u64::from(length));
    }
    out
}

/// Decodes a page of document lengths, refusing ids out of order.
pub fn decode_lengths(bytes: &[u8]) -> Result<Vec<(u64, u32)>, CodecError> {
    let mut cursor = Cursor { bytes, at: 0 };
    let count = cursor.next()?;
    if count > bytes.len() as u64 {
        return Err(CodecError::Decode("length page with a bad count".into()));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut id = 0u64;
    for i in 0..count {
        let delta = cursor.next()?;
        if i > 0 && delta == 0 {
            return Err(CodecError::Decode("length page ids out of order".into()));
        }
        id = id
            .checked_add(delta)
            .ok_or_else(|| CodecError::Decode("length page id overflows".into()))?;
        out.push((id, cursor.next_u32()?));
    }
    cursor.done()?;
    Ok(out)
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
    let mut cursor = Cursor { bytes, at: 0 };
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
        fn damaged_blocks_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_block(&bytes);
            let _ = decode_lengths(&bytes);
            let _ = decode_corpus(&bytes);
        }
    }

    #[test]
    fn ids_out_of_order_are_refused() {
        // count 2, id 5 (one position 0), then delta 0.
        assert!(decode_block(&[2, 5, 1, 0, 0, 1, 0]).is_err());
        assert!(decode_block(&[0]).is_err());
        assert!(decode_lengths(&[2, 5, 1, 0, 1]).is_err());
    }
}
