//! The documents of a page: up to [`PAGE_SLOTS`] consecutive ids, each document's encoding
//! kept whole, or a note that it is stored under a key of its own (a large document).
//!
//! Invariant: slots strictly ascending and below [`PAGE_SLOTS`], at least one, and the bodies'
//! sizes add up to exactly the bytes after the head; [`read_page`] refuses anything else, so
//! `check` finds a damaged page by reading it.
//!
//! ```text
//! page := count (slot size)* body*     size: the body's length + 1, or 0 for a document
//!                                      stored on its own; bodies in slot order
//! ```

use std::ops::Range;

use crate::codec::CodecError;
use crate::codec::varint::{Cursor, bad, put};

/// How many consecutive ids share a page. Larger pages load a little faster, but sled
/// rewrites a leaf of 16 pages whenever one of its documents changes, and what it rewrites
/// stays on disk, and is written over at every open, until it is reused: with pages of 4 the
/// open after churn was three times slower (`bench/FINDINGS.md`, pages of two).
pub const PAGE_SLOTS: u64 = 2;

/// The most slots a page of any format has held (format 4's pages had 4): what
/// [`read_page_of`] reads.
pub const MOST_SLOTS: u64 = 4;

/// Where a page holds one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// These bytes of the page.
    Here(Range<usize>),
    /// Under a key of its own.
    Apart,
}

/// Encodes a page from its documents in slot order: `None` for one stored apart.
///
/// ```
/// use quarry::internals::codec::pages::{Body, encode_page, read_page};
/// let page = encode_page(&[(0, Some(b"abc".as_slice())), (1, None)]);
/// assert_eq!(*read_page(&page).unwrap(), [(0, Body::Here(5..8)), (1, Body::Apart)]);
/// ```
pub fn encode_page(documents: &[(u64, Option<&[u8]>)]) -> Vec<u8> {
    debug_assert!(documents.windows(2).all(|w| w[0].0 < w[1].0));
    let bodies: usize = documents
        .iter()
        .filter_map(|(_, b)| b.map(<[u8]>::len))
        .sum();
    let mut out = Vec::with_capacity(bodies + 4 * documents.len() + 2);
    put(&mut out, documents.len() as u64);
    for (slot, body) in documents {
        put(&mut out, *slot);
        put(&mut out, body.map_or(0, |b| b.len() as u64 + 1));
    }
    for body in documents.iter().filter_map(|(_, b)| *b) {
        out.extend_from_slice(body);
    }
    out
}

/// A page's head as read: each document's slot and where its body is, in slot order. It
/// lives inline (a page of any format holds at most [`MOST_SLOTS`] documents), so a point read allocates
/// nothing for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageHead {
    len: usize,
    documents: [(u64, Body); MOST_SLOTS as usize],
}

impl std::ops::Deref for PageHead {
    type Target = [(u64, Body)];
    fn deref(&self) -> &[(u64, Body)] {
        &self.documents[..self.len]
    }
}

impl IntoIterator for PageHead {
    type Item = (u64, Body);
    type IntoIter = std::iter::Take<std::array::IntoIter<(u64, Body), { MOST_SLOTS as usize }>>;
    fn into_iter(self) -> Self::IntoIter {
        self.documents.into_iter().take(self.len)
    }
}

/// Reads a page's head: each document's slot and where its body is.
pub fn read_page(bytes: &[u8]) -> Result<PageHead, CodecError> {
    read_page_of(bytes, PAGE_SLOTS)
}

/// Reads the head of a page of `slots` slots (an older format's page), at most
/// [`MOST_SLOTS`].
pub fn read_page_of(bytes: &[u8], slots: u64) -> Result<PageHead, CodecError> {
    debug_assert!(slots <= MOST_SLOTS);
    let mut cursor = Cursor::new(bytes);
    let count = cursor.next()?;
    if count == 0 || count > slots.min(MOST_SLOTS) {
        return Err(bad("document page with a bad count"));
    }
    let mut head = PageHead {
        len: count as usize,
        documents: std::array::from_fn(|_| (0, Body::Apart)),
    };
    // First the slots and sizes, then the bodies' ranges once the head's end is known.
    let mut sizes = [0u64; MOST_SLOTS as usize];
    let mut previous = None;
    for (document, size) in head.documents[..head.len].iter_mut().zip(&mut sizes) {
        let slot = cursor.next()?;
        if slot >= slots || previous.is_some_and(|last| last >= slot) {
            return Err(bad("document page slots out of order"));
        }
        previous = Some(slot);
        document.0 = slot;
        *size = cursor.next()?;
    }
    let mut at = cursor.position();
    for (document, size) in head.documents[..head.len].iter_mut().zip(sizes) {
        if let Some(len) = size.checked_sub(1) {
            let end = usize::try_from(len)
                .ok()
                .and_then(|len| at.checked_add(len))
                .filter(|&end| end <= bytes.len())
                .ok_or_else(|| bad("document page cut short"))?;
            document.1 = Body::Here(at..end);
            at = end;
        }
    }
    match at == bytes.len() {
        true => Ok(head),
        false => Err(bad("trailing bytes in a document page")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pages_round_trip(
            documents in prop::collection::btree_map(
                0..PAGE_SLOTS,
                prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
                1..=PAGE_SLOTS as usize,
            )
        ) {
            let list: Vec<(u64, Option<&[u8]>)> =
                documents.iter().map(|(s, b)| (*s, b.as_deref())).collect();
            let page = encode_page(&list);
            let read = read_page(&page).unwrap();
            prop_assert_eq!(read.len(), list.len());
            for ((slot, body), (want_slot, want)) in read.iter().zip(&list) {
                prop_assert_eq!(slot, want_slot);
                match (body, want) {
                    (Body::Here(range), Some(want)) => prop_assert_eq!(&page[range.clone()], *want),
                    (Body::Apart, None) => {}
                    other => prop_assert!(false, "{:?}", other),
                }
            }
        }
    }

    #[test]
    fn damaged_pages_are_refused() {
        let page = encode_page(&[(0, Some(b"xy".as_slice())), (1, Some(b"z".as_slice()))]);
        assert!(read_page(&page).is_ok());
        assert!(read_page(&page[..page.len() - 1]).is_err());
        assert!(read_page(&[page.as_slice(), b"!"].concat()).is_err());
        // No document, slots out of order, a slot past the page, more documents than slots.
        for bad in [vec![0], vec![2, 1, 1, 0, 1], vec![1, 2, 1], vec![3]] {
            assert!(read_page(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_format_4_page_of_four_reads_only_as_one() {
        let page = encode_page(&[(0, Some(b"ab".as_slice())), (3, None)]);
        let head = read_page_of(&page, 4).unwrap();
        assert_eq!(*head, [(0, Body::Here(5..7)), (3, Body::Apart)]);
        assert!(read_page(&page).is_err());
        let full: Vec<(u64, Option<&[u8]>)> = (0..4).map(|s| (s, Some(b"x".as_slice()))).collect();
        assert_eq!(read_page_of(&encode_page(&full), 4).unwrap().len(), 4);
        assert!(read_page(&encode_page(&full)).is_err());
    }
}
