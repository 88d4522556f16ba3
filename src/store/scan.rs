//! Reading a collection: index scans asked for in values, document reads by id, full scans,
//! and the read epoch that tells a reader whether a batch touched the collection meanwhile.
//!
//! The planner never sees a key. It describes what it wants from an index as [`Bounds`]:
//! equalities (each a set of values) on the index's leading paths, then all values, a range of
//! one type, or a string prefix on the next path. [`KeyRanges::new`] turns them into byte
//! ranges of the index's blocks with the key encoding, and the scan hands back the document
//! ids the blocks hold.
//!
//! Invariant: every key range starts at the index's own entry prefix and ends before the next
//! index's, and a range of one type's values stays inside that type's tag band, so a scan
//! reads exactly the entries whose values meet the bounds, in value order then id order.

use std::ops::Bound as KeyBound;
use std::sync::Arc;

use crate::codec::keycode;
use crate::error::{Error, Result};
use crate::store::blocks::{self, BlockIds};
use crate::store::index::IndexDef;
use crate::store::pages::{self, PageDocuments};
use crate::store::staged::{Entries, Reader};
use crate::store::state::CollectionState;
use crate::value::Value;

/// The most key ranges one scan may expand into (`in` lists on several paths multiply).
const MAX_RANGES: usize = 256;

/// One end of a range of values: the value and whether it is included.
pub(crate) type Bound = Option<(Value, bool)>;

/// What a scan wants of the index path after its equalities.
#[derive(Clone, Debug)]
pub(crate) enum Rest {
    /// Every value.
    All,
    /// Values of one type rank ([`Value::type_rank`]) between optional bounds.
    Range {
        /// The type rank both bounds share.
        rank: u8,
        /// The lower bound.
        lower: Bound,
        /// The upper bound.
        upper: Bound,
    },
    /// Strings starting with this prefix.
    Prefix(String),
}

/// What an index scan selects, in values: one set of values per leading path that must be
/// equal, then [`Rest`] on the next path.
#[derive(Clone, Debug)]
pub(crate) struct Bounds {
    /// Values allowed for each leading path, sorted and without duplicates.
    pub equal: Vec<Vec<Value>>,
    /// What the next path must hold.
    pub rest: Rest,
}

/// One contiguous range of index keys: `start` inclusive, `end` exclusive (`None`: to the end).
/// A range's ends are entry keys or value prefixes, never inside a block: a block's entries
/// share its values, so a range that holds a block's key holds all of its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KeyRange {
    start: Vec<u8>,
    end: Option<Vec<u8>>,
}

impl KeyRange {
    /// The range's entries after key `last` (from its start for `None`), in key order
    /// (backwards from its end with `reverse`).
    fn iter_after(&self, reader: &Reader, last: Option<&[u8]>, reverse: bool) -> Entries {
        let start = match last {
            Some(last) => KeyBound::Excluded(last),
            None => KeyBound::Included(self.start.as_slice()),
        };
        let end = self
            .end
            .as_deref()
            .map_or(KeyBound::Unbounded, KeyBound::Excluded);
        reader.entries(start, end, reverse)
    }
}

/// The key ranges of one index that [`Bounds`] select, in key order. Cheap to clone: a scan
/// shares them with the plan.
#[derive(Clone, Debug)]
pub(crate) struct KeyRanges(Arc<[KeyRange]>);

impl KeyRanges {
    /// The ranges of `def`'s entries that `bounds` select; `None` when the equality sets
    /// multiply into more than a few hundred ranges.
    pub fn new(def: &IndexDef, bounds: &Bounds) -> Option<KeyRanges> {
        let mut prefixes: Vec<Vec<u8>> = vec![def.prefix().to_vec()];
        for set in &bounds.equal {
            if prefixes.len() * set.len() > MAX_RANGES {
                return None;
            }
            prefixes = prefixes
                .iter()
                .flat_map(|p| {
                    set.iter().map(move |v| {
                        let mut key = p.clone();
                        keycode::encode_value(v, &mut key);
                        key
                    })
                })
                .collect();
        }
        let mut ranges: Vec<KeyRange> = prefixes
            .iter()
            .map(|p| rest_range(p, &bounds.rest))
            .collect();
        ranges.sort_by(|a, b| a.start.cmp(&b.start));
        Some(KeyRanges(ranges.into()))
    }

    /// How many contiguous ranges the scan reads.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// The range under `prefix` (an index prefix followed by equal values) that `rest` selects.
fn rest_range(prefix: &[u8], rest: &Rest) -> KeyRange {
    let with = |v: &Value| {
        let mut key = prefix.to_vec();
        keycode::encode_value(v, &mut key);
        key
    };
    let band = |tag: u8| [prefix, &[tag]].concat();
    match rest {
        Rest::All => KeyRange {
            start: prefix.to_vec(),
            end: keycode::prefix_end(prefix),
        },
        Rest::Prefix(text) => {
            let start = [prefix, &keycode::string_prefix(text)].concat();
            let end = keycode::prefix_end(&start);
            KeyRange { start, end }
        }
        Rest::Range { rank, lower, upper } => {
            let tag = rank_tag(*rank);
            let start = match lower {
                Some((v, true)) => with(v),
                Some((v, false)) => keycode::prefix_end(&with(v)).unwrap_or_else(|| with(v)),
                None => band(tag),
            };
            let end = match upper {
                Some((v, true)) => keycode::prefix_end(&with(v)),
                Some((v, false)) => Some(with(v)),
                None => Some(band(tag + 1)),
            };
            KeyRange { start, end }
        }
    }
}

/// The key tag of the values of a type rank (see [`Value::type_rank`]).
fn rank_tag(rank: u8) -> u8 {
    match rank {
        0 => keycode::tag::NULL,
        1 => keycode::tag::BOOL,
        2 => keycode::tag::NUMBER,
        3 => keycode::tag::STRING,
        4 => keycode::tag::ARRAY,
        _ => keycode::tag::OBJECT,
    }
}

/// Where the collection's batches stood when a reader looked: if the epoch is
/// [settled](ReadEpoch::is_settled) and [`CollectionState::unchanged_since`] says so later,
/// everything read in between came from one state of the collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReadEpoch(u64);

impl ReadEpoch {
    /// Whether no batch was being applied when the epoch was taken.
    pub fn is_settled(self) -> bool {
        self.0.is_multiple_of(2)
    }
}

/// A stream of document ids.
type Ids = Box<dyn Iterator<Item = Result<u64>> + Send>;

/// The first ids of an index scan, read while estimating it, and where reading stopped: a scan
/// run while the collection is still at the same epoch starts from here.
#[derive(Debug)]
pub(crate) struct ScanStart {
    epoch: ReadEpoch,
    ids: Vec<u64>,
    /// Ranges read to their end.
    whole_ranges: usize,
    /// The last key read in the next range, when that range was read in part.
    last_key: Option<sled::IVec>,
}

/// A count of an index scan's entries, stopped at a cap.
#[derive(Debug)]
pub(crate) struct Estimate {
    /// Entries counted (at most the cap).
    pub entries: u64,
    /// The ids read on the way, kept when asked for and consistent.
    pub start: Option<Arc<ScanStart>>,
}

/// A stored document's bytes, undecoded (see [`crate::codec::document`] for their format).
#[derive(Clone, Debug)]
pub(crate) struct Stored(sled::IVec);

impl std::ops::Deref for Stored {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl CollectionState {
    /// The collection's read epoch now.
    pub fn epoch(&self) -> ReadEpoch {
        ReadEpoch(self.batches())
    }

    /// Whether no batch was applied, even in part, since `epoch` was taken.
    pub fn unchanged_since(&self, epoch: ReadEpoch) -> bool {
        epoch.is_settled() && self.batches() == epoch.0
    }

    /// Counts the entries in `ranges`, up to `cap`, from the heads of their blocks. With `keep`, the ids read are
    /// kept so that running the scan forwards starts where the count stopped; what was read
    /// while a batch was being applied, or with a read error, is not kept.
    pub fn estimate(&self, ranges: &KeyRanges, keep: bool, cap: u64) -> Estimate {
        let epoch = self.epoch();
        let mut ids = Vec::new();
        let mut count = 0u64;
        let mut whole_ranges = 0;
        let mut last_key = None;
        let mut failed = false;
        let reader = self.reader();
        'ranges: for range in ranges.0.iter() {
            for item in range.iter_after(&reader, None, false) {
                if count >= cap {
                    break 'ranges;
                }
                let read = item.and_then(|(key, block)| {
                    let n = blocks::block_len(&key, &block)?;
                    if keep {
                        blocks::decode_into(&key, &block, &mut ids)?;
                        last_key = Some(key);
                    }
                    Ok(n)
                });
                match read {
                    Ok(n) => count += n,
                    Err(_) => failed = true,
                }
            }
            if count >= cap {
                break;
            }
            whole_ranges += 1;
            last_key = None;
        }
        let start = (keep && !failed && self.unchanged_since(epoch)).then(|| {
            Arc::new(ScanStart {
                epoch,
                ids,
                whole_ranges,
                last_key,
            })
        });
        Estimate {
            entries: count.min(cap),
            start,
        }
    }

    /// How many entries `ranges` hold, from the heads of their blocks (no id is decoded);
    /// [`Error::Interrupted`] once `interrupted` says so (asked at every block).
    pub fn count_entries(&self, ranges: &KeyRanges, interrupted: impl Fn() -> bool) -> Result<u64> {
        let reader = self.reader();
        let mut count = 0;
        for range in ranges.0.iter() {
            for item in range.iter_after(&reader, None, false) {
                if interrupted() {
                    return Err(Error::Interrupted);
                }
                let (key, block) = item?;
                count += blocks::block_len(&key, &block)?;
            }
        }
        Ok(count)
    }

    /// Whether `index`, as the collection holds it now, has at most one entry per document
    /// (no document gave it an array): then its entries in any key ranges are as many as
    /// their documents.
    pub fn one_entry_per_document(&self, index: &IndexDef) -> bool {
        self.meta()
            .indexes
            .iter()
            .any(|d| d.number == index.number && !d.multikey)
    }

    /// The document ids of the entries in `ranges`, in key order (backwards with `reverse`),
    /// duplicates included, and how many of them are already known. A forward scan given the
    /// `start` its estimate kept begins with those ids when no batch was applied since, and
    /// reads on after them.
    pub fn index_ids(
        &self,
        ranges: KeyRanges,
        reverse: bool,
        start: Option<Arc<ScanStart>>,
    ) -> (Ids, usize) {
        let reader = self.reader();
        let ranges = ranges.0;
        if reverse {
            let ids = (0..ranges.len())
                .rev()
                .flat_map(move |i| BlockIds::new(ranges[i].iter_after(&reader, None, true), true));
            return (Box::new(ids), 0);
        }
        let read = start.filter(|s| self.unchanged_since(s.epoch));
        let (first_range, last_key) = match &read {
            Some(s) => (s.whole_ranges, s.last_key.clone()),
            None => (0, None),
        };
        let known = read.as_ref().map_or(0, |s| s.ids.len());
        let read_ids = read
            .into_iter()
            .flat_map(|s| (0..s.ids.len()).map(move |i| Ok(s.ids[i])));
        let mut after = last_key;
        let ids = (first_range..ranges.len()).flat_map(move |i| {
            let blocks = ranges[i].iter_after(&reader, after.take().as_deref(), false);
            BlockIds::new(blocks, false)
        });
        (Box::new(read_ids.chain(ids)), known)
    }

    /// The stored bytes of document `id`, undecoded.
    pub fn read_stored(&self, id: u64) -> Result<Option<Stored>> {
        Ok(pages::read_document(&self.reader(), id)?.map(Stored))
    }

    /// Every document's id and stored bytes, undecoded, in id order.
    pub fn stored_documents(&self) -> impl Iterator<Item = Result<(u64, Stored)>> + Send + use<> {
        self.stored_documents_from(0)
    }

    /// The id and stored bytes of every document from id `first` on, undecoded, in id order.
    pub fn stored_documents_from(
        &self,
        first: u64,
    ) -> impl Iterator<Item = Result<(u64, Stored)>> + Send + use<> {
        PageDocuments::new(self.reader(), first)
            .map(|item| item.map(|(id, bytes)| (id, Stored(bytes))))
    }
}
