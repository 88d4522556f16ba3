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
use crate::store::blocks;
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
    /// The range's blocks in key order (backwards with `reverse`).
    fn blocks(&self, reader: &Reader, reverse: bool) -> Entries {
        reader.entries(KeyBound::Included(&self.start), self.end_bound(), reverse)
    }

    /// Where the range ends, as a bound.
    fn end_bound(&self) -> KeyBound<&[u8]> {
        self.end
            .as_deref()
            .map_or(KeyBound::Unbounded, KeyBound::Excluded)
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
    /// The values and id of the last entry read in the next range, when that range was read
    /// in part.
    last: Option<(Vec<u8>, u64)>,
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

/// The ids one key range's blocks hold, in key order (backwards with `reverse`), read a block
/// at a time.
///
/// Invariant: each step holds the read gate, so it sees whole batches, and finds its block
/// again from the last entry it gave (its values and id) instead of going on from a block key:
/// a batch that rewrote blocks between two steps may have moved ids into a block whose key the
/// scan had passed, and a step that looked only past that key would miss them. So every entry
/// present from the scan's start to its end is given once, whatever is written meanwhile.
struct RangeIds {
    state: Arc<CollectionState>,
    ranges: Arc<[KeyRange]>,
    range: usize,
    reverse: bool,
    /// The values and id of the last entry given (`None`: none yet).
    last: Option<(Vec<u8>, u64)>,
    /// The ids of the block read last not given yet, the next one last.
    ready: Vec<u64>,
    /// The values of the block read last.
    values: Vec<u8>,
    done: bool,
}

impl RangeIds {
    fn new(
        state: Arc<CollectionState>,
        ranges: Arc<[KeyRange]>,
        range: usize,
        reverse: bool,
        last: Option<(Vec<u8>, u64)>,
    ) -> RangeIds {
        RangeIds {
            state,
            ranges,
            range,
            reverse,
            last,
            ready: Vec::new(),
            values: Vec::new(),
            done: false,
        }
    }

    /// Reads the next block's ids past the last entry given into `ready`; false at the range's
    /// end.
    fn step(&mut self) -> Result<bool> {
        let state = self.state.clone();
        let _whole_batches = state.read_gate();
        let reader = state.reader();
        let ranges = self.ranges.clone();
        let range = &ranges[self.range];
        let Some((values, id)) = self.last.clone() else {
            return self.take(range.blocks(&reader, self.reverse).next(), None);
        };
        let at = blocks::block_key(&values, id);
        if self.reverse {
            // The greatest block key before the last entry's own: its ids below that entry.
            let before = reader.entries(
                KeyBound::Included(&range.start),
                KeyBound::Excluded(&at),
                true,
            );
            return self.take(before.into_iter().next(), Some((values, id)));
        }
        // The block that holds the last entry may hold later ones now; else the next block.
        let holding = reader
            .entries(KeyBound::Included(&values), KeyBound::Included(&at), true)
            .next();
        let last = (values, id);
        if self.take(holding, Some(last.clone()))? {
            return Ok(true);
        }
        let next = reader
            .entries(KeyBound::Excluded(&at), range.end_bound(), false)
            .next();
        self.take(next, Some(last))
    }

    /// Puts the ids of `block` that come after entry `last` (all, for `None`, or for a block of
    /// other values) into `ready`; whether there were any, or false without a block.
    fn take(
        &mut self,
        block: Option<Result<(sled::IVec, sled::IVec)>>,
        last: Option<(Vec<u8>, u64)>,
    ) -> Result<bool> {
        let Some(item) = block else {
            return Ok(false);
        };
        let (key, block) = item?;
        let (values, mut ids) = blocks::read_block(&key, &block)?;
        if let Some((last_values, last_id)) = &last
            && last_values.as_slice() == values
        {
            ids.retain(|id| match self.reverse {
                false => id > last_id,
                true => id < last_id,
            });
        }
        if !self.reverse {
            ids.reverse();
        }
        if ids.is_empty() {
            return Ok(false);
        }
        self.ready = ids;
        self.values = values.to_vec();
        Ok(true)
    }
}

impl Iterator for RangeIds {
    type Item = Result<u64>;

    fn next(&mut self) -> Option<Result<u64>> {
        if self.ready.is_empty() && !self.done {
            match self.step() {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(err) => {
                    self.done = true;
                    return Some(Err(err));
                }
            }
        }
        let id = self.ready.pop()?;
        match &mut self.last {
            Some((values, last)) if *values == self.values => *last = id,
            _ => self.last = Some((self.values.clone(), id)),
        }
        Some(Ok(id))
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

    /// Counts the entries in `ranges`, up to `cap`, from the heads of their blocks. With
    /// `keep`, the ids read are kept so that running the scan forwards starts where the count
    /// stopped; what was read while a batch was being applied, or with a read error, is not
    /// kept.
    pub fn estimate(&self, ranges: &KeyRanges, keep: bool, cap: u64) -> Estimate {
        let epoch = self.epoch();
        let mut ids = Vec::new();
        let mut count = 0u64;
        let mut whole_ranges = 0;
        let mut last = None;
        let mut failed = false;
        let reader = self.reader();
        'ranges: for range in ranges.0.iter() {
            for item in range.blocks(&reader, false) {
                if count >= cap {
                    break 'ranges;
                }
                let read = item.and_then(|(key, block)| {
                    if !keep {
                        return blocks::block_len(&key, &block);
                    }
                    let (values, read) = blocks::read_block(&key, &block)?;
                    last = read.last().map(|&id| (values.to_vec(), id));
                    ids.extend_from_slice(&read);
                    Ok(read.len() as u64)
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
            last = None;
        }
        let start = (keep && !failed && self.unchanged_since(epoch)).then(|| {
            Arc::new(ScanStart {
                epoch,
                ids,
                whole_ranges,
                last,
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
            for item in range.blocks(&reader, false) {
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
    /// their documents. Call with the read gate held.
    pub fn one_entry_per_document(&self, index: &IndexDef) -> bool {
        // From the tree, not the installed metadata: the batch that first gives the index two
        // entries for a document rewrites its definition too, and its metadata is installed
        // only after the batch is in. Read with the gate held, this sees both or neither.
        match self.get_key(&crate::store::layout::index_def_key(index.number)) {
            Ok(Some(bytes)) => crate::store::index::decode_def(&bytes).is_ok_and(|d| !d.multikey),
            _ => false,
        }
    }

    /// The document ids of the entries in `ranges`, in key order (backwards with `reverse`),
    /// duplicates included, and how many of them are already known. A forward scan given the
    /// `start` its estimate kept begins with those ids when no batch was applied since, and
    /// reads on after them. The ids are read a block at a time (see [`RangeIds`]).
    pub fn index_ids(
        self: &Arc<Self>,
        ranges: KeyRanges,
        reverse: bool,
        start: Option<Arc<ScanStart>>,
    ) -> (Ids, usize) {
        let state = self.clone();
        let ranges = ranges.0;
        if reverse {
            let ids = (0..ranges.len())
                .rev()
                .flat_map(move |i| RangeIds::new(state.clone(), ranges.clone(), i, true, None));
            return (Box::new(ids), 0);
        }
        let read = start.filter(|s| self.unchanged_since(s.epoch));
        let (first_range, last) = match &read {
            Some(s) => (s.whole_ranges, s.last.clone()),
            None => (0, None),
        };
        let known = read.as_ref().map_or(0, |s| s.ids.len());
        let read_ids = read
            .into_iter()
            .flat_map(|s| (0..s.ids.len()).map(move |i| Ok(s.ids[i])));
        let mut after = last;
        let ids = (first_range..ranges.len()).flat_map(move |i| {
            RangeIds::new(state.clone(), ranges.clone(), i, false, after.take())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Scans `n = 1` forwards or backwards, reading `first` ids, then runs `statement`, then
    /// reads the rest: every id the statement left alone must come exactly once.
    fn scan_across(reverse: bool, first: usize, statement: &str, gone: impl Fn(u64) -> bool) {
        let db = crate::store::Db::temporary().unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["n"]).unwrap();
        c.insert_many((1..=600).map(|i| serde_json::json!({ "n": 1, "i": i })))
            .unwrap();
        let def = c.state.meta().indexes[0].clone();
        let bounds = Bounds {
            equal: vec![vec![Value::Int(1)]],
            rest: Rest::All,
        };
        let ranges = KeyRanges::new(&def, &bounds).unwrap();
        let (mut ids, _) = c.state.index_ids(ranges, reverse, None);
        let mut seen: Vec<u64> = (&mut ids).take(first).map(Result::unwrap).collect();
        db.execute(statement).unwrap();
        seen.extend(ids.map(Result::unwrap));
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "an id came twice");
        let mut want: Vec<u64> = (1..=600).filter(|id| !gone(*id)).collect();
        if reverse {
            want.reverse();
        }
        let kept: Vec<u64> = seen.iter().copied().filter(|id| !gone(*id)).collect();
        assert_eq!(kept, want, "reverse: {reverse}");
    }

    #[test]
    fn a_scan_gives_every_entry_that_stays_while_batches_rewrite_its_blocks() {
        // Three blocks of 200 ids. The forward scan has read the first block when a delete
        // leaves it four ids, and it takes in the next block's: those must still come.
        scan_across(false, 10, "delete from c where i >= 5 and i <= 250", |id| {
            (5..=250).contains(&id)
        });
        // Backwards; and forwards across an update that moves ids to another value.
        scan_across(
            true,
            10,
            "delete from c where i >= 350 and i <= 595",
            |id| (350..=595).contains(&id),
        );
        scan_across(
            false,
            300,
            "update c set n = 2 where i >= 100 and i <= 500",
            |id| (100..=500).contains(&id),
        );
    }
}
