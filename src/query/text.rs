//! Searching a collection's text index: a `search` condition bound to the index (analyzed,
//! with the statistics its score needs), the documents its posting lists select, and their
//! scores.
//!
//! Invariant: the posting lists select exactly the documents [`SearchCondition::holds`]
//! selects, and give each the score [`TextSearch::score`] computes from the document itself:
//! both take the terms of [`IndexDef::text_terms`], count occurrences with
//! [`phrase_occurrences`], and sum with [`bm25`] in the order the search is written.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::path::Path;
use crate::query::ast::{Expr, Operand, Param};
use crate::store::{Collection, CollectionState, IndexDef, IndexKind, PostingList, ReadEpoch};
use crate::text::rank::{Corpus, bm25};
use crate::text::search::phrase_occurrences;
use crate::text::snippet::{self, Marks};
use crate::text::{Analyzer, Matcher, parse_search};
use crate::value::Value;

/// One `search` condition, bound to the collection's text index.
#[derive(Debug)]
pub struct SearchCondition {
    /// The text index.
    pub index: Arc<IndexDef>,
    /// The field searched (`title search ...`), by its place in the index; `None`: all.
    pub field: Option<u32>,
    /// The search analyzed in the index's language.
    pub matcher: Matcher,
    /// The condition as written, for `explain` and errors.
    pub text: String,
    /// The idf of each phrase or prefix looked for ([`Matcher::wanted`] order).
    idfs: Vec<f64>,
    /// How many documents it selected while it was bound.
    estimate: u64,
    /// The hits last read, reused while no batch has changed the collection.
    hits: Mutex<Option<(ReadEpoch, Arc<Hits>)>>,
}

/// What the posting lists say of one search condition.
#[derive(Debug, Default)]
pub struct Hits {
    /// The documents it selects, ascending.
    pub ids: Vec<u64>,
    /// For each phrase or prefix looked for: the documents holding it and how often, by id.
    wanted: Vec<Vec<(u64, u32)>>,
}

/// Every `search` of one statement: what `score()` and `snippet()` read.
#[derive(Debug)]
pub struct TextSearch {
    /// The conditions, in the order written; `positive[i]` says whether condition `i` is
    /// looked for (not under a `not`), and so counts in the score.
    pub conditions: Vec<Arc<SearchCondition>>,
    positive: Vec<bool>,
    /// The index's statistics when the statement was bound.
    pub corpus: Corpus,
    /// How `snippet()` marks matches by default.
    pub marks: Marks,
}

impl PartialEq for TextSearch {
    fn eq(&self, other: &TextSearch) -> bool {
        self.conditions.len() == other.conditions.len()
            && self
                .conditions
                .iter()
                .zip(&other.conditions)
                .all(|(a, b)| a.text == b.text)
    }
}

impl SearchCondition {
    /// Whether `doc` matches (from its own terms).
    pub fn holds(&self, doc: &Value) -> bool {
        self.index
            .text_terms(doc)
            .is_ok_and(|terms| self.matcher.matches(&terms, self.field))
    }

    /// How many documents the condition selected while it was bound.
    pub fn estimate(&self) -> u64 {
        self.estimate
    }

    /// The documents the posting lists select, read now (or before, if no batch has been
    /// applied since).
    pub(crate) fn hits(&self, state: &CollectionState) -> Result<Arc<Hits>> {
        let mut cached = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((epoch, hits)) = cached.as_ref()
            && state.unchanged_since(*epoch)
        {
            return Ok(hits.clone());
        }
        let epoch = state.epoch();
        let hits = Arc::new(read_hits(state, &self.index, &self.matcher, self.field)?);
        *cached = Some((epoch, hits.clone()));
        Ok(hits)
    }

    /// How many documents the posting lists select: for one word in any field, from the
    /// heads of its blocks alone.
    pub(crate) fn count(&self, state: &CollectionState) -> Result<u64> {
        match one_word(&self.matcher, self.field) {
            Some(term) => state.term_documents(&self.index, term),
            None => Ok(self.hits(state)?.ids.len() as u64),
        }
    }
}

/// The term of a search for one word in any field: its documents are its posting list's.
fn one_word(matcher: &Matcher, field: Option<u32>) -> Option<&str> {
    match matcher {
        Matcher::Phrase(terms) if terms.len() == 1 && field.is_none() => Some(&terms[0].0),
        _ => None,
    }
}

/// Reads the posting lists of every phrase and prefix of `matcher` and combines them.
fn read_hits(
    state: &CollectionState,
    index: &IndexDef,
    matcher: &Matcher,
    field: Option<u32>,
) -> Result<Hits> {
    let leaves = matcher.leaves();
    let mut per_leaf: Vec<Vec<(u64, u32)>> = Vec::with_capacity(leaves.len());
    for leaf in &leaves {
        per_leaf.push(leaf_hits(state, index, leaf, field)?);
    }
    let mut next = 0usize;
    let ids = combine(matcher, &per_leaf, &mut next);
    let wanted = matcher
        .leaf_signs()
        .into_iter()
        .zip(per_leaf)
        .filter(|(wanted, _)| *wanted)
        .map(|(_, hits)| hits)
        .collect();
    Ok(Hits { ids, wanted })
}

/// The documents holding one phrase or prefix, with how often each holds it.
fn leaf_hits(
    state: &CollectionState,
    index: &IndexDef,
    leaf: &Matcher,
    field: Option<u32>,
) -> Result<Vec<(u64, u32)>> {
    let in_field = |positions: &[u32]| phrase_occurrences(&[(positions, 0)], field);
    match leaf {
        Matcher::Phrase(terms) if terms.len() == 1 && field.is_none() => {
            let list = state.postings(index, &terms[0].0, false)?;
            Ok(list.ids.into_iter().zip(list.counts).collect())
        }
        Matcher::Phrase(terms) => {
            let mut lists: Vec<(PostingList, u32)> = Vec::with_capacity(terms.len());
            for (term, offset) in terms {
                let list = state.postings(index, term, true)?;
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                lists.push((list, *offset));
            }
            // Walk the shortest list and look the id up in the others.
            let shortest = (0..lists.len())
                .min_by_key(|&i| lists[i].0.len())
                .unwrap_or(0);
            let mut out = Vec::new();
            let mut positions: Vec<(&[u32], u32)> = Vec::with_capacity(lists.len());
            for &id in &lists[shortest].0.ids {
                positions.clear();
                for (list, offset) in &lists {
                    match list.find(id) {
                        Some(at) => positions.push((list.positions(at), *offset)),
                        None => break,
                    }
                }
                if positions.len() == lists.len() {
                    let n = phrase_occurrences(&positions, field);
                    if n > 0 {
                        out.push((id, n));
                    }
                }
            }
            Ok(out)
        }
        Matcher::Prefix(start) => {
            let mut found: Vec<(u64, u32)> = Vec::new();
            for (_, list) in state.postings_with_prefix(index, start, field.is_some())? {
                for (at, (&id, &count)) in list.ids.iter().zip(&list.counts).enumerate() {
                    let n = match field {
                        None => count,
                        Some(_) => in_field(list.positions(at)),
                    };
                    if n > 0 {
                        found.push((id, n));
                    }
                }
            }
            found.sort_unstable_by_key(|(id, _)| *id);
            found.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    kept.1 += later.1;
                }
                same
            });
            Ok(found)
        }
        _ => Ok(Vec::new()),
    }
}

/// The ids `matcher` selects, given the hits of its leaves in [`Matcher::leaves`] order
/// (`next` walks them).
fn combine(matcher: &Matcher, leaves: &[Vec<(u64, u32)>], next: &mut usize) -> Vec<u64> {
    match matcher {
        Matcher::Phrase(_) | Matcher::Prefix(_) => {
            let ids = leaves[*next].iter().map(|(id, _)| *id).collect();
            *next += 1;
            ids
        }
        Matcher::Not(inner) => combine(inner, leaves, next),
        Matcher::Or(parts) => {
            let mut all: Vec<u64> = parts
                .iter()
                .flat_map(|p| combine(p, leaves, next))
                .collect();
            all.sort_unstable();
            all.dedup();
            all
        }
        Matcher::And(parts) => {
            let mut wanted: Option<Vec<u64>> = None;
            let mut excluded: Vec<Vec<u64>> = Vec::new();
            for part in parts {
                let ids = combine(part, leaves, next);
                if matches!(part, Matcher::Not(_)) {
                    excluded.push(ids);
                    continue;
                }
                wanted = Some(match wanted {
                    None => ids,
                    Some(so_far) => so_far
                        .into_iter()
                        .filter(|id| ids.binary_search(id).is_ok())
                        .collect(),
                });
            }
            wanted
                .unwrap_or_default()
                .into_iter()
                .filter(|id| excluded.iter().all(|ex| ex.binary_search(id).is_err()))
                .collect()
        }
    }
}

impl TextSearch {
    /// Whether some condition is looked for (not under a `not`): then scores rank.
    pub fn ranks(&self) -> bool {
        self.positive.iter().any(|p| *p)
    }

    /// The score of a document, from its own terms.
    pub fn score(&self, doc: &Value) -> f64 {
        let Some(first) = self.conditions.first() else {
            return 0.0;
        };
        let Ok(terms) = first.index.text_terms(doc) else {
            return 0.0;
        };
        let (idfs, occurrences) =
            self.inputs(|condition, leaf| leaf.occurrences(&terms, condition.field));
        bm25(&idfs, &occurrences, terms.length, &self.corpus)
    }

    /// The idf and occurrences of every phrase and prefix looked for, in order.
    fn inputs(
        &self,
        mut occurrences: impl FnMut(&SearchCondition, &Matcher) -> u32,
    ) -> (Vec<f64>, Vec<u32>) {
        let mut idfs = Vec::new();
        let mut counts = Vec::new();
        for (condition, _) in self
            .conditions
            .iter()
            .zip(&self.positive)
            .filter(|(_, positive)| **positive)
        {
            for (leaf, idf) in condition.matcher.wanted().into_iter().zip(&condition.idfs) {
                idfs.push(*idf);
                counts.push(occurrences(condition, leaf));
            }
        }
        (idfs, counts)
    }

    /// `ids` (some of the hits of the one condition of the statement, ascending) in score
    /// order, best first, ties by id descending: scored from the posting lists and the
    /// length pages, the best `first` sorted now and the rest when asked for.
    pub(crate) fn rank(
        &self,
        state: &CollectionState,
        hits: &Hits,
        ids: &[u64],
        first: usize,
    ) -> Result<Ranked> {
        let Some(condition) = self.conditions.first() else {
            return Ok(Ranked::default());
        };
        let lengths = state.text_lengths(&condition.index, ids)?;
        let mut cursors = vec![0usize; hits.wanted.len()];
        let mut scored: Vec<(f64, u64)> = Vec::with_capacity(ids.len());
        for (&id, &length) in ids.iter().zip(&lengths) {
            let mut leaf = 0usize;
            let (idfs, occurrences) = self.inputs(|_, _| {
                let list = &hits.wanted[leaf];
                let cursor = &mut cursors[leaf];
                leaf += 1;
                *cursor += list[*cursor..].partition_point(|(found, _)| *found < id);
                match list.get(*cursor) {
                    Some((found, n)) if *found == id => *n,
                    _ => 0,
                }
            });
            scored.push((bm25(&idfs, &occurrences, length, &self.corpus), id));
        }
        Ok(Ranked {
            scored,
            next: 0,
            sorted: 0,
            step: first.max(1),
        })
    }

    /// The snippet of `value` (a string, or the strings of an array): the window around the
    /// first word any positive condition looks for, with the words marked; the opening words
    /// when none is there; null for a value with no string.
    pub fn snippet(&self, value: &Value, marks: &Marks) -> Value {
        let Some(first) = self.conditions.first() else {
            return Value::Null;
        };
        let IndexKind::Text(language) = first.index.kind else {
            return Value::Null;
        };
        let analyzer = Analyzer::shared(language);
        let mut strings = Vec::new();
        crate::store::strings_in(value, &mut strings);
        let leaves: Vec<&Matcher> = self
            .conditions
            .iter()
            .zip(&self.positive)
            .filter(|(_, positive)| **positive)
            .flat_map(|(c, _)| c.matcher.wanted())
            .collect();
        let wanted = |term: &str| {
            leaves.iter().any(|leaf| match leaf {
                Matcher::Phrase(terms) => terms.iter().any(|(t, _)| t == term),
                Matcher::Prefix(start) => term.starts_with(start.as_str()),
                _ => false,
            })
        };
        for text in &strings {
            if let Some(found) = snippet::snippet(text, analyzer, &wanted, marks) {
                return Value::from(found);
            }
        }
        strings.first().map_or(Value::Null, |text| {
            Value::from(snippet::opening(text, marks))
        })
    }
}

/// Document ids in score order, best first, ties by id descending, sorted a part at a time:
/// a query that stops after the first few sorts only those.
#[derive(Debug, Default)]
pub(crate) struct Ranked {
    /// Score and id; `scored[..sorted]` is in order, and no later one comes before it.
    scored: Vec<(f64, u64)>,
    next: usize,
    sorted: usize,
    /// How many to sort next.
    step: usize,
}

impl Iterator for Ranked {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.next == self.sorted && self.sorted < self.scored.len() {
            let order = |a: &(f64, u64), b: &(f64, u64)| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1));
            let rest = &mut self.scored[self.sorted..];
            let take = self.step.min(rest.len());
            if take < rest.len() {
                rest.select_nth_unstable_by(take, order);
            }
            rest[..take].sort_unstable_by(order);
            self.sorted += take;
            self.step = self.step.saturating_mul(4);
        }
        let (_, id) = self.scored.get(self.next)?;
        self.next += 1;
        Some(*id)
    }
}

/// Binds every `search` of `filter` to `collection`'s text index: analyzes each, reads its
/// posting lists for the statistics of its score. `None` when the filter has no `search`.
pub(crate) fn resolve(
    collection: &Collection,
    filter: Option<&Expr>,
    param: &dyn Fn(&Param) -> Result<Value>,
    marks: &Marks,
) -> Result<Option<Arc<TextSearch>>> {
    let mut found: Vec<(Option<&Path>, &Operand, bool)> = Vec::new();
    if let Some(filter) = filter {
        searches(filter, false, &mut found)?;
    }
    if found.is_empty() {
        return Ok(None);
    }
    let meta = collection.state.meta();
    let index = meta
        .indexes
        .iter()
        .find(|d| d.is_text() && d.is_ready())
        .cloned()
        .ok_or_else(|| {
            let name = collection.name();
            let fields = crate::query::fields::string_fields(collection).unwrap_or_default();
            let paths = if fields.is_empty() {
                "title, body".to_owned()
            } else {
                fields.join(", ")
            };
            Error::Query(format!(
                "collection `{name}` has no text index for `search` to use: create one with \
                 `create text index on {name} ({paths})`"
            ))
        })?;
    let IndexKind::Text(language) = index.kind else {
        return Ok(None);
    };
    let analyzer = Analyzer::shared(language);
    let corpus = collection.state.corpus(&index)?;
    let mut conditions = Vec::new();
    let mut positive = Vec::new();
    for (path, query, negated) in found {
        let text = match query {
            Operand::Value(Value::String(s)) => s.to_string(),
            Operand::Param(p) => match param(p)? {
                Value::String(s) => s.to_string(),
                other => {
                    return Err(Error::Query(format!(
                        "`search` needs a string of words, and {query} is {other}"
                    )));
                }
            },
            other => {
                return Err(Error::Query(format!(
                    "`search` needs a string or a parameter, not `{other}`"
                )));
            }
        };
        let search = parse_search(&text).map_err(|e| {
            Error::Query(format!(
                "in the search {}: {} (at character {})",
                Value::from(text.as_str()),
                e.message,
                e.offset + 1
            ))
        })?;
        let matcher = Matcher::analyze(&search, analyzer)
            .map_err(|e| Error::Query(format!("search {}: {}", Value::from(text.as_str()), e.0)))?;
        let field = match path {
            None => None,
            Some(path) => Some(
                index
                    .paths
                    .iter()
                    .position(|p| p == path)
                    .map(|i| i as u32)
                    .ok_or_else(|| {
                        Error::Query(format!(
                            "`{path}` is not a field of the text index `{}` ({}): search one of \
                             those, or all with `search ...`",
                            index.name,
                            index.paths_text()
                        ))
                    })?,
            ),
        };
        // One word needs only how many documents hold it, from its blocks' heads; other
        // searches read their hits now (for their idfs and the estimate) and keep them.
        let epoch = collection.state.epoch();
        let (estimate, idfs, hits) = match one_word(&matcher, field) {
            Some(term) => {
                let documents = collection.state.term_documents(&index, term)?;
                (documents, vec![corpus.idf(documents)], None)
            }
            None => {
                let hits = read_hits(&collection.state, &index, &matcher, field)?;
                let idfs = hits
                    .wanted
                    .iter()
                    .map(|list| corpus.idf(list.len() as u64))
                    .collect();
                (hits.ids.len() as u64, idfs, Some((epoch, Arc::new(hits))))
            }
        };
        let written = written(path, &text);
        conditions.push(Arc::new(SearchCondition {
            index: index.clone(),
            field,
            matcher,
            text: written,
            idfs,
            estimate,
            hits: Mutex::new(hits),
        }));
        positive.push(!negated);
    }
    Ok(Some(Arc::new(TextSearch {
        conditions,
        positive,
        corpus,
        marks: marks.clone(),
    })))
}

/// A `search` condition as written, its parameter replaced by its value: how binding finds
/// the condition [`resolve`] made for it.
fn written(path: Option<&Path>, text: &str) -> String {
    match path {
        Some(path) => format!("{path} search {}", Value::from(text)),
        None => format!("search {}", Value::from(text)),
    }
}

/// The bound condition of `search` (at `path`, of `query`) among the statement's.
pub(crate) fn bound_condition(
    search: Option<&Arc<TextSearch>>,
    path: Option<&Path>,
    query: &Operand,
    param: &dyn Fn(&Param) -> Result<Value>,
) -> Result<Arc<SearchCondition>> {
    let text = match query {
        Operand::Param(p) => param(p)?.as_str().map(str::to_owned),
        Operand::Value(Value::String(s)) => Some(s.to_string()),
        _ => None,
    };
    let wanted = text.map(|t| written(path, &t));
    search
        .and_then(|search| {
            search
                .conditions
                .iter()
                .find(|c| Some(&c.text) == wanted.as_ref())
        })
        .cloned()
        .ok_or_else(|| {
            Error::Query(
                "`search` is bound to a collection's text index: run it in a statement on a \
                 collection"
                    .into(),
            )
        })
}

/// The `search` conditions of `expr`, in order, each with whether it is under a `not`.
fn searches<'e>(
    expr: &'e Expr,
    negated: bool,
    out: &mut Vec<(Option<&'e Path>, &'e Operand, bool)>,
) -> Result<()> {
    match expr {
        Expr::Search { path, query } => out.push((path.as_ref(), query, negated)),
        Expr::Or(items) | Expr::And(items) => {
            for item in items {
                searches(item, negated, out)?;
            }
        }
        Expr::Not(inner) => searches(inner, !negated, out)?,
        Expr::Has { condition, .. } => {
            let mut inside = Vec::new();
            searches(condition, negated, &mut inside)?;
            if !inside.is_empty() {
                return Err(Error::Query(
                    "`search` cannot go inside `has (...)`: it searches whole documents".into(),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}
