//! The values of a value index: blocks of document ids, one block per key of the index.
//!
//! Invariant: a block holds at least one id, ids strictly ascending, delta-encoded as LEB128
//! varints after their count; [`decode_ids_into`] refuses anything else, so `check` finds a
//! damaged block by decoding it, and [`ids_len`] reads the count without the ids.
//!
//! ```text
//! block := count id-delta*        the first delta is from 0, each later one from the id before
//! ```

use crate::codec::CodecError;
use crate::codec::varint::{Cursor, bad, put};

/// Encodes `ids` (ascending, without repeats, at least one) as a block.
///
/// ```
/// use quarry::internals::codec::ids::{decode_ids, encode_ids, ids_len};
/// let bytes = encode_ids(&[3, 4, 900]);
/// assert_eq!(bytes, [3, 3, 1, 0x80, 0x07]);
/// assert_eq!(decode_ids(&bytes).unwrap(), [3, 4, 900]);
/// assert_eq!(ids_len(&bytes).unwrap(), 3);
/// ```
pub fn encode_ids(ids: &[u64]) -> Vec<u8> {
    debug_assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of order");
    let mut out = Vec::with_capacity(ids.len() * 2 + 2);
    put(&mut out, ids.len() as u64);
    let mut previous = 0;
    for &id in ids {
        put(&mut out, id - previous);
        previous = id;
    }
    out
}

/// Decodes a block's ids.
pub fn decode_ids(bytes: &[u8]) -> Result<Vec<u64>, CodecError> {
    let mut ids = Vec::new();
    decode_ids_into(bytes, &mut ids)?;
    Ok(ids)
}

/// Appends a block's ids to `ids` (which keeps what it held, and its allocation).
pub fn decode_ids_into(bytes: &[u8], ids: &mut Vec<u64>) -> Result<(), CodecError> {
    let mut cursor = Cursor::new(bytes);
    let count = checked_count(cursor.next()?, bytes)?;
    ids.reserve(count as usize);
    let mut id = 0u64;
    for i in 0..count {
        let delta = cursor.next()?;
        if i > 0 && delta == 0 {
            return Err(bad("index block ids out of order"));
        }
        id = id
            .checked_add(delta)
            .ok_or_else(|| bad("index block id overflows"))?;
        ids.push(id);
    }
    cursor.done()
}

/// How many ids a block holds, read from its head.
pub fn ids_len(bytes: &[u8]) -> Result<u64, CodecError> {
    checked_count(Cursor::new(bytes).next()?, bytes)
}

/// A count that a block of `bytes` can hold: at least one id, at most one per byte.
fn checked_count(count: u64, bytes: &[u8]) -> Result<u64, CodecError> {
    match count == 0 || count >= bytes.len() as u64 {
        true => Err(bad("index block with a bad count")),
        false => Ok(count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn blocks_round_trip(ids in prop::collection::btree_set(any::<u64>(), 1..300)) {
            let ids: Vec<u64> = ids.into_iter().collect();
            let bytes = encode_ids(&ids);
            prop_assert_eq!(decode_ids(&bytes).unwrap(), ids.clone());
            prop_assert_eq!(ids_len(&bytes).unwrap(), ids.len() as u64);
        }
    }

    #[test]
    fn damaged_blocks_are_refused() {
        let good = encode_ids(&[5, 6, 7]);
        assert!(decode_ids(&good[..good.len() - 1]).is_err());
        assert!(decode_ids(&[good.as_slice(), &[1]].concat()).is_err());
        // An empty block, a repeated id, a count larger than the block.
        for bad in [vec![0], vec![2, 5, 0], vec![9, 1, 1], vec![]] {
            assert!(decode_ids(&bad).is_err(), "{bad:?}");
        }
        assert!(ids_len(&[0]).is_err());
        let mut kept = vec![1];
        decode_ids_into(&encode_ids(&[8]), &mut kept).unwrap();
        assert_eq!(kept, [1, 8]);
    }
}
