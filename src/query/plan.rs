//! The planner: turns a bound predicate and an `order by` into an access path over a
//! collection's indexes, always keeping the whole predicate as a residual filter.
//!
//! Access paths, from cheapest: document ids (`_id = 3`, `_id in [..]`); an index scan over
//! key ranges built from equalities and `in` lists on the index's leading paths followed by
//! one range (`<`, `<=`, `>`, `>=`, `between`, `starts with`); an intersection or union of
//! index scans (for `and` across indexes, for `or`); a full scan. An index whose paths follow
//! the `order by` (after its equality prefix) also gives the order, so no sort is needed and a
//! `limit` stops the scan early.
//!
//! What an index can stand for: a multikey index (one whose path held an array) holds array
//! elements, not whole arrays, so it never serves a comparison with an array literal, and two
//! range conditions on its path are not merged (each may be met by a different element).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::path::Path;
use crate::query::ast::CompareOp;
use crate::query::compute::Calc;
use crate::query::eval::Predicate;
use crate::query::text::{SearchCondition, TextSearch};
use crate::store::{Bound, Bounds, Collection, IndexDef, KeyRanges, Rest, ScanStart};
use crate::value::Value;

/// Index keys counted at most per candidate when estimating its rows.
pub(crate) const ESTIMATE_CAP: u64 = 2000;
/// How documents are found.
#[derive(Clone, Debug)]
pub enum Access {
    /// Every document, in id order.
    FullScan,
    /// These documents, in id order.
    Ids(Vec<u64>),
    /// Entries of one index within key ranges.
    IndexScan(IndexScan),
    /// Documents found by every one of these (in id order).
    Intersect(Vec<IndexScan>),
    /// Documents found by any of these (in id order).
    Union(Vec<Access>),
    /// Documents a text index's posting lists select.
    Search(SearchScan),
}

/// A `search` answered from the text index's posting lists.
#[derive(Clone, Debug)]
pub struct SearchScan {
    /// The condition.
    pub condition: Arc<SearchCondition>,
    /// The ids of this index scan are intersected with the search's (`and` across indexes).
    pub and: Option<IndexScan>,
    /// The search is the whole predicate: a `count` needs no documents.
    pub exact: bool,
    /// The documents come in score order, ranked from the posting lists, the best this many
    /// sorted first (`order by score() desc limit n`): only as many are read as the limit
    /// takes after the filter.
    pub top: Option<(usize, Arc<TextSearch>)>,
    /// Documents the search selects (counted while binding).
    pub estimate: u64,
}

/// A scan of one index.
#[derive(Clone, Debug)]
pub struct IndexScan {
    /// The index.
    pub index: Arc<IndexDef>,
    /// Key ranges, in key order (shared: a scan reads them without copying them).
    pub(crate) ranges: KeyRanges,
    /// What the ranges select, for `explain` (`org = "ICC", year >= 2020`; empty: all).
    pub condition: String,
    /// Walk the ranges backwards (for `order by ... desc`).
    pub reverse: bool,
    /// The query needs no key order: gather the ids, sort them and read the documents in id
    /// order, so that neighbours are read together (and results come as a full scan's do).
    pub id_order: bool,
    /// The ranges select exactly the documents the whole predicate selects, so a `count`
    /// needs no documents.
    pub exact: bool,
    /// Estimated entries (capped at a few thousand while planning).
    pub estimate: u64,
    /// The estimate is the number of entries, not the cap (counted below it, or read from
    /// the group count of one leading value).
    pub counted: bool,
    /// The entries the estimate read, for the scan to start from instead of reading them
    /// again.
    pub(crate) start: Option<Arc<ScanStart>>,
}

/// One key of a sort: what is sorted on, the direction, and the key as written.
#[derive(Clone, Debug)]
pub struct SortKey {
    /// The value sorted on (a path's first value; an expression's value).
    pub calc: Calc,
    /// `desc`.
    pub descending: bool,
    /// The key as written, for `explain`.
    pub text: String,
}

impl SortKey {
    /// The value `doc` sorts by: the first value a path reaches, or what an expression gives;
    /// null when nothing.
    pub fn value(&self, doc: &Value) -> Value {
        match &self.calc {
            Calc::Path(path) => path.first(doc).cloned().unwrap_or(Value::Null),
            calc => calc.eval(doc),
        }
    }
}

/// A complete plan for reading a collection.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How documents are found.
    pub access: Access,
    /// The whole predicate, applied to every document found.
    pub filter: Option<Predicate>,
    /// Sort keys still to apply (empty when the access already gives the order).
    pub sort: Vec<SortKey>,
    /// Estimated documents the access reads.
    pub estimate: u64,
    /// Set from another thread (Ctrl-C in the shell) to stop the plan while it reads.
    pub interrupt: Option<Interrupt>,
}

/// A flag that stops running plans: reading stops with [`crate::Error::Interrupted`].
///
/// ```
/// let flag = quarry::query::Interrupt::default();
/// flag.raise();
/// assert!(flag.is_raised());
/// flag.clear();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Interrupt(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Interrupt {
    /// Asks running plans to stop.
    pub fn raise(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Lets plans run again.
    pub fn clear(&self) {
        self.0.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether a stop was asked.
    pub fn is_raised(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A candidate index scan with the conjuncts it consumed.
struct Candidate {
    scan: IndexScan,
    eq_paths: usize,
}

impl Plan {
    /// Plans a read of `collection` for `filter` in `order`.
    pub fn new(
        collection: &Collection,
        filter: Option<Predicate>,
        order: &[SortKey],
        limited: bool,
    ) -> crate::error::Result<Plan> {
        let total = collection.len()?;
        // Borrowed from the shared metadata: a scan shares the definition of its index.
        let meta = collection.state.meta();
        let indexes = || meta.indexes.iter().filter(|d| d.serves_values());
        let conjuncts: Vec<&Predicate> = filter
            .as_ref()
            .map(Predicate::conjuncts)
            .unwrap_or_default();

        // Document ids first: nothing is cheaper.
        if let Some(ids) = id_lookup(&conjuncts) {
            let estimate = ids.len() as u64;
            return Ok(Plan {
                access: Access::Ids(ids),
                sort: order.to_vec(),
                filter,
                estimate,
                interrupt: None,
            });
        }

        let mut candidates: Vec<Candidate> = indexes()
            .filter_map(|def| candidate(collection, def, &conjuncts))
            .collect();
        candidates.sort_by_key(|c| (c.scan.estimate, std::cmp::Reverse(c.eq_paths)));

        // A search: its posting lists, intersected with a selective index scan if there is
        // one.
        if let Some(mut scan) = search_scan(&conjuncts) {
            let selective = |estimate: u64| estimate.saturating_mul(2) <= total.max(1);
            if let Some(best) = candidates.first()
                && selective(best.scan.estimate)
                && best.scan.estimate < scan.estimate
            {
                let mut other = best.scan.clone();
                other.id_order = true;
                scan.estimate = other.estimate;
                scan.and = Some(other);
            }
            let estimate = scan.estimate;
            return Ok(Plan {
                access: Access::Search(scan),
                sort: order.to_vec(),
                filter,
                estimate,
                interrupt: None,
            });
        }

        // An index that gives the order (with the best ranges it can use).
        let ordered = if order.is_empty() {
            None
        } else {
            indexes()
                .filter_map(|def| ordered_scan(collection, def, &conjuncts, order, total))
                .min_by_key(|s| s.estimate)
        };

        let selective = |estimate: u64| estimate.saturating_mul(2) <= total.max(1);
        if let Some(scan) = ordered
            && (limited || selective(scan.estimate))
            && candidates
                .first()
                .is_none_or(|best| scan.estimate <= best.scan.estimate.saturating_mul(4))
        {
            let estimate = scan.estimate;
            return Ok(Plan {
                access: Access::IndexScan(scan),
                sort: Vec::new(),
                filter,
                estimate,
                interrupt: None,
            });
        }

        if let Some(best) = candidates.first()
            && selective(best.scan.estimate)
        {
            let second = candidates.iter().skip(1).find(|c| {
                c.scan.index.number != best.scan.index.number && selective(c.scan.estimate)
            });
            let (access, estimate) = match second {
                Some(other) if best.scan.estimate >= 64 && !best.scan.exact => (
                    Access::Intersect(vec![best.scan.clone(), other.scan.clone()]),
                    best.scan.estimate.min(other.scan.estimate),
                ),
                _ => {
                    // Without a limit, or with a sort after it, every document found is read:
                    // in id order, they are read by neighbours. A limit alone stops early, so
                    // the scan streams in key order.
                    let mut scan = best.scan.clone();
                    scan.id_order = !limited || !order.is_empty();
                    (Access::IndexScan(scan), best.scan.estimate)
                }
            };
            return Ok(Plan {
                access,
                sort: order.to_vec(),
                filter,
                estimate,
                interrupt: None,
            });
        }

        // An `or` whose every branch has an index: union them.
        if let [Predicate::Or(branches)] = conjuncts.as_slice()
            && let Some(parts) = union_parts(collection, &meta.indexes, branches)
        {
            let estimate: u64 = parts.iter().map(access_estimate).sum();
            if selective(estimate) {
                return Ok(Plan {
                    access: Access::Union(parts),
                    sort: order.to_vec(),
                    filter,
                    estimate,
                    interrupt: None,
                });
            }
        }

        Ok(Plan {
            access: Access::FullScan,
            sort: order.to_vec(),
            filter,
            estimate: total,
            interrupt: None,
        })
    }

    /// Whether the access alone answers a `count`: no document needs reading.
    pub fn counts_from_keys(&self) -> bool {
        match &self.access {
            Access::IndexScan(scan) => scan.exact,
            Access::Search(scan) => scan.exact && scan.and.is_none(),
            Access::Union(parts) => parts.iter().all(|p| match p {
                Access::IndexScan(scan) => scan.exact,
                Access::Search(scan) => scan.exact && scan.and.is_none(),
                _ => false,
            }),
            _ => false,
        }
    }

    /// Ranks a search from its posting lists when the plan sorts by `score() desc` alone and
    /// keeps the first `keep` rows of a collection of `total`: the access then gives the
    /// search's documents best first, the filter passes those that match the rest of the
    /// condition, and no sort is left. An intersection with another index is given up when
    /// that index is large, since reading the best few documents and testing them costs less
    /// than reading all of its entries.
    pub fn rank_search(&mut self, keep: u64, total: u64) {
        if let (Access::Search(scan), [key]) = (&mut self.access, self.sort.as_slice())
            && let Calc::Score(search) = &key.calc
            && key.descending
            && search.conditions.len() == 1
        {
            if let Some(other) = &scan.and {
                // About `keep * total / entries` documents are read before `keep` pass, each
                // costing about ten index entries. An estimate that reached the cap (a range,
                // which no group count measures) is taken as a quarter of the collection.
                let entries = match other.counted {
                    true => other.estimate.max(1),
                    false => other.estimate.max(total / 4),
                };
                let reads = keep.saturating_mul(total).saturating_mul(10) / entries;
                if reads < entries {
                    scan.estimate = scan.condition.estimate();
                    scan.and = None;
                }
            }
            scan.top = Some((usize::try_from(keep).unwrap_or(usize::MAX), search.clone()));
            if scan.exact {
                scan.estimate = scan.estimate.min(keep);
            }
            self.estimate = scan.estimate;
            self.sort.clear();
        }
    }
}

fn access_estimate(access: &Access) -> u64 {
    match access {
        Access::IndexScan(scan) => scan.estimate,
        Access::Search(scan) => scan.estimate,
        Access::Ids(ids) => ids.len() as u64,
        _ => u64::MAX / 4,
    }
}

/// Each branch of an `or` planned on its own, on the ready ones of `indexes`; `None` when one
/// branch has no index.
fn union_parts(
    collection: &Collection,
    indexes: &[Arc<IndexDef>],
    branches: &[Predicate],
) -> Option<Vec<Access>> {
    let mut parts = Vec::with_capacity(branches.len());
    for branch in branches {
        let conjuncts = branch.conjuncts();
        if let Some(ids) = id_lookup(&conjuncts) {
            parts.push(Access::Ids(ids));
            continue;
        }
        if let Some(scan) = search_scan(&conjuncts) {
            parts.push(Access::Search(scan));
            continue;
        }
        // A branch is exact for its own conjuncts; the union is exact when every branch is.
        let best = indexes
            .iter()
            .filter(|def| def.serves_values())
            .filter_map(|def| candidate(collection, def, &conjuncts))
            .min_by_key(|c| c.scan.estimate)?;
        parts.push(Access::IndexScan(best.scan));
    }
    Some(parts)
}

/// A scan of the posting lists of the first `search` among the conjuncts.
fn search_scan(conjuncts: &[&Predicate]) -> Option<SearchScan> {
    conjuncts.iter().find_map(|c| match c {
        Predicate::Search(condition) => Some(SearchScan {
            condition: condition.clone(),
            and: None,
            exact: conjuncts.len() == 1,
            top: None,
            estimate: condition.estimate(),
        }),
        _ => None,
    })
}

/// `_id = n` or `_id in [..]` among the conjuncts: those ids, sorted.
fn id_lookup(conjuncts: &[&Predicate]) -> Option<Vec<u64>> {
    for conjunct in conjuncts {
        let values: Vec<&Value> = match conjunct {
            Predicate::Compare(path, CompareOp::Eq, value) if path.is_id() => vec![value],
            Predicate::In(path, values) if path.is_id() => values.iter().collect(),
            _ => continue,
        };
        let ids: BTreeSet<u64> = values
            .into_iter()
            .filter_map(|v| v.as_i64().and_then(|i| u64::try_from(i).ok()))
            .collect();
        return Some(ids.into_iter().collect());
    }
    None
}

/// Whether a literal can be looked up in `def`: multikey indexes hold elements, not arrays.
fn usable(def: &IndexDef, value: &Value) -> bool {
    !(def.multikey && matches!(value, Value::Array(_)))
}

/// The best scan of `def` for the conjuncts: equalities on leading paths, then one range.
fn candidate(
    collection: &Collection,
    def: &Arc<IndexDef>,
    conjuncts: &[&Predicate],
) -> Option<Candidate> {
    let (eq_sets, suffix, consumed, parts) = match_paths(def, conjuncts, def.paths.len());
    if eq_sets.is_empty() && matches!(suffix, Rest::All) {
        return None;
    }
    let exact = consumed.len() == conjuncts.len();
    let eq_paths = eq_sets.len();
    // One value of the leading path, nothing else: its group count says how many entries.
    let single = match (eq_sets.as_slice(), &suffix) {
        ([values], Rest::All) if values.len() == 1 => values.first().cloned(),
        _ => None,
    };
    let mut scan = build_scan(def, eq_sets, suffix, parts.join(", "), exact, false)?;
    estimate(collection, &mut scan);
    if scan.estimate >= ESTIMATE_CAP
        && let Some(value) = single
        && let Ok(Some(count)) = collection.state.group_count(def, &value)
    {
        scan.estimate = count.max(ESTIMATE_CAP);
        scan.counted = true;
    }
    Some(Candidate { eq_paths, scan })
}

/// A scan of `def` that yields documents in `order`, if `def` can: not multikey, and the
/// order paths follow the equality prefix, all in one direction.
fn ordered_scan(
    collection: &Collection,
    def: &Arc<IndexDef>,
    conjuncts: &[&Predicate],
    order: &[SortKey],
    total: u64,
) -> Option<IndexScan> {
    if def.multikey {
        return None;
    }
    let first = order.first()?;
    // Only paths are in an index's order.
    let paths: Vec<&Path> = order
        .iter()
        .map(|k| k.calc.as_path())
        .collect::<Option<_>>()?;
    if !def.paths.contains(paths[0]) {
        return None;
    }
    let descending = first.descending;
    if order.iter().any(|k| k.descending != descending) {
        return None;
    }
    // Try the longest equality prefix that still leaves the order paths next.
    for eq_len in (0..=def.paths.len()).rev() {
        let (eq_sets, suffix, consumed, parts) = match_paths(def, conjuncts, eq_len);
        if eq_sets.len() != eq_len || eq_sets.iter().any(|s| s.len() != 1) {
            continue;
        }
        let rest = &def.paths[eq_len..];
        let order_paths = paths
            .iter()
            .copied()
            .filter(|p| !def.paths[..eq_len].contains(p));
        // Every remaining index path must be an order path, in the same order, so that
        // entries with equal values are in id order (reversed when read backwards): ties are
        // broken by `_id` in the direction of the order, as a sort breaks them. A range on
        // the first of them (the only place `match_paths` puts one) keeps that order.
        if rest.is_empty() || !order_paths.eq(rest) {
            continue;
        }
        let exact = consumed.len() == conjuncts.len();
        let whole_index = eq_sets.is_empty() && matches!(suffix, Rest::All);
        let mut scan = build_scan(def, eq_sets, suffix, parts.join(", "), exact, descending)?;
        // Every document has one entry in a non-multikey index: a whole-index scan needs no
        // counting.
        if whole_index {
            scan.estimate = total;
        } else {
            estimate(collection, &mut scan);
        }
        return Some(scan);
    }
    None
}

/// Walks `def`'s paths: equality (`=`, `in`) conjuncts on up to `max_eq` leading paths, then
/// range conjuncts on the next path. Returns the equality value sets, the range, which
/// conjuncts were used, and their text.
fn match_paths(
    def: &IndexDef,
    conjuncts: &[&Predicate],
    max_eq: usize,
) -> (Vec<Vec<Value>>, Rest, Vec<usize>, Vec<String>) {
    let mut eq_sets = Vec::new();
    let mut consumed = Vec::new();
    let mut parts = Vec::new();
    let mut suffix = Rest::All;
    for path in &def.paths {
        if eq_sets.len() < max_eq
            && let Some((i, values)) = equality(def, path, conjuncts)
        {
            parts.push(if values.len() == 1 {
                format!("{path} = {}", values[0])
            } else {
                let texts: Vec<String> = values.iter().map(Value::to_string).collect();
                format!("{path} in [{}]", texts.join(", "))
            });
            eq_sets.push(values);
            consumed.push(i);
            continue;
        }
        let (range, used, text) = range_on(def, path, conjuncts);
        if !used.is_empty() {
            suffix = range;
            consumed.extend(used);
            parts.push(text);
        }
        break;
    }
    (eq_sets, suffix, consumed, parts)
}

/// An `=` or `in` conjunct on `path` usable with `def`.
fn equality(def: &IndexDef, path: &Path, conjuncts: &[&Predicate]) -> Option<(usize, Vec<Value>)> {
    conjuncts.iter().enumerate().find_map(|(i, c)| match c {
        Predicate::Compare(p, CompareOp::Eq, v) if p == path && usable(def, v) => {
            Some((i, vec![v.clone()]))
        }
        Predicate::In(p, values) if p == path && values.iter().all(|v| usable(def, v)) => {
            let mut values = values.clone();
            values.sort();
            values.dedup();
            Some((i, values))
        }
        _ => None,
    })
}

/// The range conjuncts on `path`: merged when `def` is not multikey, else only the first.
fn range_on(def: &IndexDef, path: &Path, conjuncts: &[&Predicate]) -> (Rest, Vec<usize>, String) {
    let mut rank: Option<u8> = None;
    let mut lower: Bound = None;
    let mut upper: Bound = None;
    let mut used = Vec::new();
    let mut texts = Vec::new();
    for (i, conjunct) in conjuncts.iter().enumerate() {
        if def.multikey && !used.is_empty() {
            break;
        }
        let (lo, hi): (Bound, Bound) = match conjunct {
            Predicate::StartsWith(p, prefix) if p == path => {
                if used.is_empty() {
                    return (
                        Rest::Prefix(prefix.clone()),
                        vec![i],
                        format!("{path} starts with {}", Value::from(prefix.as_str())),
                    );
                }
                continue;
            }
            Predicate::Compare(p, op, v) if p == path && usable(def, v) => match op {
                CompareOp::Gt => (Some((v.clone(), false)), None),
                CompareOp::Ge => (Some((v.clone(), true)), None),
                CompareOp::Lt => (None, Some((v.clone(), false))),
                CompareOp::Le => (None, Some((v.clone(), true))),
                _ => continue,
            },
            Predicate::Between(p, lo, hi)
                if p == path
                    && usable(def, lo)
                    && usable(def, hi)
                    && lo.type_rank() == hi.type_rank() =>
            {
                (Some((lo.clone(), true)), Some((hi.clone(), true)))
            }
            _ => continue,
        };
        let this_rank = lo.as_ref().or(hi.as_ref()).map(|(v, _)| v.type_rank());
        if rank.is_some() && this_rank != rank {
            continue; // a different type: left to the residual filter
        }
        rank = this_rank;
        if let Some(lo) = lo {
            lower = Some(tighter(lower, lo, true));
        }
        if let Some(hi) = hi {
            upper = Some(tighter(upper, hi, false));
        }
        used.push(i);
        texts.push(range_text(path, conjunct));
    }
    match rank {
        Some(rank) => (Rest::Range { rank, lower, upper }, used, texts.join(", ")),
        None => (Rest::All, Vec::new(), String::new()),
    }
}

fn range_text(path: &Path, conjunct: &Predicate) -> String {
    match conjunct {
        Predicate::Compare(_, op, v) => {
            let op = match op {
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Eq => "=",
                CompareOp::Ne => "!=",
            };
            format!("{path} {op} {v}")
        }
        Predicate::Between(_, lo, hi) => format!("{path} between {lo} and {hi}"),
        _ => path.to_string(),
    }
}

/// The tighter of two bounds (the larger lower bound, or the smaller upper bound).
fn tighter(current: Option<(Value, bool)>, new: (Value, bool), lower: bool) -> (Value, bool) {
    let Some(current) = current else { return new };
    match current.0.cmp(&new.0) {
        std::cmp::Ordering::Equal => (current.0, current.1 && new.1),
        std::cmp::Ordering::Less if lower => new,
        std::cmp::Ordering::Greater if !lower => new,
        _ => current,
    }
}

fn build_scan(
    def: &Arc<IndexDef>,
    equal: Vec<Vec<Value>>,
    rest: Rest,
    condition: String,
    exact: bool,
    reverse: bool,
) -> Option<IndexScan> {
    let ranges = KeyRanges::new(def, &Bounds { equal, rest })?;
    Some(IndexScan {
        index: def.clone(),
        ranges,
        condition,
        reverse,
        id_order: false,
        exact,
        // Callers set the estimate: counting keys is the costly part of planning.
        estimate: 0,
        counted: false,
        start: None,
    })
}

/// Counts the scan's entries, up to [`ESTIMATE_CAP`]. A forward scan keeps the ids it read, so
/// that running it starts where the count stopped instead of reading them again (a backwards
/// scan reads its entries the other way: it has no use for them).
fn estimate(collection: &Collection, scan: &mut IndexScan) {
    let found = collection
        .state
        .estimate(&scan.ranges, !scan.reverse, ESTIMATE_CAP);
    scan.estimate = found.entries;
    scan.counted = found.entries < ESTIMATE_CAP;
    scan.start = found.start;
}
