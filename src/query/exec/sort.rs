//! Sorting: all rows, or only the best K in a bounded heap when a limit follows.
//!
//! Invariant: rows equal on every key come in `_id` order in the direction of the last key,
//! as if the id were one more key, so a sort and an index scan read either way agree.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use crate::query::exec::Stream;
use crate::query::exec::doc::{Doc, wanted};
use crate::query::plan::SortKey;
use crate::store::CollectionState;
use crate::value::Value;

/// A document with its sort key, ordered by the `order by` and then by id, in the direction of
/// the last order key: as if every index entry's trailing id were one more order key, so that a
/// sort and an index scan read either way agree.
struct Sorted {
    key: Vec<Value>,
    descending: Arc<[bool]>,
    doc: Doc,
}

impl Sorted {
    fn new(doc: Doc, order: &[SortKey], descending: &Arc<[bool]>) -> Sorted {
        let key = order.iter().map(|k| k.value(&doc.fields)).collect();
        Sorted {
            key,
            descending: descending.clone(),
            doc,
        }
    }
}

impl Ord for Sorted {
    fn cmp(&self, other: &Self) -> Ordering {
        for ((a, b), desc) in self.key.iter().zip(&other.key).zip(self.descending.iter()) {
            let ordering = a.cmp(b);
            let ordering = if *desc { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        let ids = self.doc.id.cmp(&other.doc.id);
        if self.descending.last() == Some(&true) {
            ids.reverse()
        } else {
            ids
        }
    }
}

impl PartialOrd for Sorted {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Sorted {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Sorted {}

/// Sorts the stream; with `keep`, only the best `keep` are held (a bounded max-heap).
pub(super) fn sort(
    state: Arc<CollectionState>,
    stream: Stream<Doc>,
    order: Vec<SortKey>,
    keep: Option<u64>,
) -> Stream<Doc> {
    let descending: Arc<[bool]> = order.iter().map(|k| k.descending).collect();
    let reads = wanted(order.iter().flat_map(|k| k.calc.paths()));
    let mut stream = Some(stream);
    let mut sorted: Option<std::vec::IntoIter<Doc>> = None;
    Box::new(std::iter::from_fn(move || {
        if sorted.is_none() {
            let input = stream.take()?;
            let mut heap: BinaryHeap<Sorted> = BinaryHeap::new();
            let mut all: Vec<Sorted> = Vec::new();
            for item in input {
                let mut doc = match item {
                    Ok(doc) => doc,
                    Err(e) => return Some(Err(e)),
                };
                if let Err(e) = doc.read(&state, reads.as_ref()) {
                    return Some(Err(e));
                }
                let item = Sorted::new(doc, &order, &descending);
                match keep {
                    Some(0) => {}
                    Some(k) => {
                        if (heap.len() as u64) < k {
                            heap.push(item);
                        } else if heap.peek().is_some_and(|worst| item < *worst) {
                            heap.pop();
                            heap.push(item);
                        }
                    }
                    None => all.push(item),
                }
            }
            let mut result = if keep.is_some() { heap.into_vec() } else { all };
            result.sort();
            sorted = Some(
                result
                    .into_iter()
                    .map(|s| s.doc)
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
        }
        sorted.as_mut().and_then(Iterator::next).map(Ok)
    }))
}
