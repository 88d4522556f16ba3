//! Full-text search against a reference of its own: random documents (titles, bodies, tag
//! arrays, an `org`) over a small vocabulary with stop words, plurals, case and accents, and
//! random searches (words, phrases, `-exclusions`, `prefix*`, `OR`, groups, a field) inside
//! conditions with `and` / `or` / `not` and `org = ...`. The reference tokenizes each string
//! with the [`Analyzer`] and decides every search itself: the ids quarry selects and counts
//! must be the reference's, in `none` and `english`, with and without an index on `org`,
//! after updates, unsets, deletes and inserts too, on their own or in a transaction (searched
//! inside it, then committed or rolled back), and `check` stays clean. Scores rank: positive,
//! descending, ties by `_id` descending, and a `limit` keeps the first of that order.

mod common;
use common::cases;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use quarry::query::Output;
use quarry::text::{Analyzer, Language, fold};
use quarry::{Db, Transaction};
use serde_json::{Value as Json, json};

/// Words of documents: stop words, a plural, two stems of `bleach`, case, an accent.
const DOC_WORDS: &[&str] = &[
    "the",
    "of",
    "a",
    "coral",
    "Coral",
    "reef",
    "reefs",
    "café",
    "Cafe",
    "lagoon",
    "bleaching",
    "bleached",
    "fish",
];
/// Words of searches: the documents' and a few they only reach through folding or stemming.
const QUERY_WORDS: &[&str] = &[
    "the",
    "of",
    "a",
    "coral",
    "CORAL",
    "reef",
    "reefs",
    "Reef",
    "café",
    "cafe",
    "lagoon",
    "bleaching",
    "bleach",
    "fish",
    "fishes",
];
/// Starts of words for `prefix*`.
const PREFIXES: &[&str] = &[
    "re", "ree", "reefs", "co", "Co", "ca", "café", "bl", "bleachi", "f", "la", "th", "of", "a",
];
/// What goes between two words of a text.
const SEPARATORS: &[&str] = &[" ", " ", " ", ", ", ". ", " - "];
const ORGS: &[&str] = &["ICC", "HRW", "UN"];
/// The text index's paths, in its order.
const FIELDS: &[&str] = &["title", "body", "tags"];

fn fail(what: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(what.to_string())
}

fn ok<T>(result: quarry::Result<T>, what: &str) -> Result<T, TestCaseError> {
    result.map_err(|e| fail(format!("{what}: {e}")))
}

// ---------------------------------------------------------------------------------------------
// Documents

/// A text of up to `max` words of the documents' vocabulary.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec((select(DOC_WORDS), select(SEPARATORS)), 0..=max).prop_map(|words| {
        let mut out = String::new();
        for (i, (word, sep)) in words.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(word);
        }
        out
    })
}

/// A title: text, a number, or nothing.
fn title() -> impl Strategy<Value = Option<Json>> {
    prop_oneof![
        5 => text(6).prop_map(|t| Some(Json::String(t))),
        1 => any::<i16>().prop_map(|n| Some(json!(n))),
        1 => Just(None),
    ]
}

/// A body: text, null, or nothing.
fn body() -> impl Strategy<Value = Option<Json>> {
    prop_oneof![
        6 => text(8).prop_map(|t| Some(Json::String(t))),
        1 => Just(Some(Json::Null)),
        1 => Just(None),
    ]
}

/// Tags: an array of short texts (a number or a nested array now and then), or nothing.
fn tags() -> impl Strategy<Value = Option<Json>> {
    let element = prop_oneof![
        6 => text(3).prop_map(Json::String),
        1 => any::<u8>().prop_map(|n| json!(n)),
        1 => prop::collection::vec(text(2).prop_map(Json::String), 1..=2).prop_map(Json::Array),
    ];
    prop_oneof![
        4 => prop::collection::vec(element, 0..=4).prop_map(|t| Some(Json::Array(t))),
        1 => Just(None),
    ]
}

fn doc() -> impl Strategy<Value = Json> {
    (title(), body(), tags(), select(ORGS)).prop_map(|(title, body, tags, org)| {
        let mut map = serde_json::Map::new();
        for (name, value) in [("title", title), ("body", body), ("tags", tags)] {
            if let Some(value) = value {
                map.insert(name.to_owned(), value);
            }
        }
        map.insert("org".to_owned(), json!(org));
        Json::Object(map)
    })
}

/// The strings a path reaches: a string, or the strings of an array (nested ones too).
fn strings_of(value: &Json, out: &mut Vec<String>) {
    match value {
        Json::String(s) => out.push(s.clone()),
        Json::Array(items) => items.iter().for_each(|item| strings_of(item, out)),
        _ => {}
    }
}

/// A document as the reference sees it: for each field of the index, for each of its strings,
/// the terms with their positions.
#[derive(Clone, Debug)]
struct RefDoc {
    org: String,
    fields: Vec<Vec<Vec<(String, u32)>>>,
}

impl RefDoc {
    fn of(analyzer: &Analyzer, doc: &Json) -> RefDoc {
        let fields = FIELDS
            .iter()
            .map(|field| {
                let mut strings = Vec::new();
                if let Some(value) = doc.get(field) {
                    strings_of(value, &mut strings);
                }
                strings
                    .iter()
                    .map(|s| analyzer.tokens(s).map(|t| (t.term, t.position)).collect())
                    .collect()
            })
            .collect();
        let org = doc["org"].as_str().unwrap_or_default().to_owned();
        RefDoc { org, fields }
    }

    /// The strings of `field` (all fields when `None`), each as its terms.
    fn strings(&self, field: Option<usize>) -> impl Iterator<Item = &Vec<(String, u32)>> {
        self.fields
            .iter()
            .enumerate()
            .filter(move |(i, _)| field.is_none_or(|f| f == *i))
            .flat_map(|(_, strings)| strings.iter())
    }
}

/// The collection as the reference knows it: documents by id.
struct Model {
    analyzer: Analyzer,
    docs: BTreeMap<u64, (Json, RefDoc)>,
}

impl Model {
    fn new(language: Language) -> Model {
        Model {
            analyzer: Analyzer::new(language),
            docs: BTreeMap::new(),
        }
    }

    fn put(&mut self, id: u64, doc: Json) {
        let terms = RefDoc::of(&self.analyzer, &doc);
        self.docs.insert(id, (doc, terms));
    }
}

// ---------------------------------------------------------------------------------------------
// Searches

/// A search as generated: rendered to text by [`render`], decided by [`resolve`] and [`holds`].
#[derive(Clone, Debug)]
enum Q {
    Word(&'static str),
    Phrase(Vec<&'static str>),
    Prefix(&'static str),
    /// `-x`: of a leaf or of an `OR` group of leaves.
    Not(Box<Q>),
    /// Parts side by side (`true`: written with `AND` between them).
    And(Vec<Q>, bool),
    Or(Vec<Q>),
}

fn leaf() -> impl Strategy<Value = Q> {
    prop_oneof![
        4 => select(QUERY_WORDS).prop_map(Q::Word),
        2 => prop::collection::vec(select(QUERY_WORDS), 2..=3).prop_map(Q::Phrase),
        1 => select(PREFIXES).prop_map(Q::Prefix),
    ]
}

/// One part of an `and`: a leaf, or an exclusion.
fn item() -> impl Strategy<Value = Q> {
    prop_oneof![
        6 => leaf(),
        2 => leaf().prop_map(|q| Q::Not(Box::new(q))),
        1 => prop::collection::vec(leaf(), 2..=2).prop_map(|v| Q::Not(Box::new(Q::Or(v)))),
    ]
}

fn and_of(mut parts: Vec<Q>, explicit: bool) -> Q {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        Q::And(parts, explicit)
    }
}

fn or_of(mut parts: Vec<Q>) -> Q {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        Q::Or(parts)
    }
}

/// `a b OR c`-shaped: alternatives of parts, each part an item or a group of the same shape.
fn search() -> impl Strategy<Value = Q> {
    let inner = prop::collection::vec((prop::collection::vec(item(), 1..=2), any::<bool>()), 1..=2)
        .prop_map(alternatives_of);
    let part = prop_oneof![6 => item(), 1 => inner];
    let alternative = (prop::collection::vec(part, 1..=3), any::<bool>()).boxed();
    prop_oneof![
        2 => prop::collection::vec(alternative.clone(), 1..=1),
        1 => prop::collection::vec(alternative, 2..=3),
    ]
    .prop_map(alternatives_of)
}

/// Alternatives (`OR`), each of parts that must all match, joined by `AND` when `explicit`.
fn alternatives_of(alternatives: Vec<(Vec<Q>, bool)>) -> Q {
    or_of(
        alternatives
            .into_iter()
            .map(|(parts, explicit)| and_of(parts, explicit))
            .collect(),
    )
}

/// The search's text, as the syntax parses it back into the same tree.
fn render(q: &Q) -> String {
    fn grouped(q: &Q) -> String {
        format!("({})", render(q))
    }
    match q {
        Q::Word(w) => (*w).to_owned(),
        Q::Phrase(words) => format!("\"{}\"", words.join(" ")),
        Q::Prefix(p) => format!("{p}*"),
        Q::Not(inner) => match **inner {
            Q::Word(_) | Q::Phrase(_) | Q::Prefix(_) => format!("-{}", render(inner)),
            _ => format!("-{}", grouped(inner)),
        },
        Q::And(parts, explicit) => parts
            .iter()
            .map(|p| match p {
                Q::And(..) | Q::Or(_) => grouped(p),
                _ => render(p),
            })
            .collect::<Vec<_>>()
            .join(if *explicit { " AND " } else { " " }),
        Q::Or(parts) => parts
            .iter()
            .map(|p| match p {
                Q::Or(_) => grouped(p),
                _ => render(p),
            })
            .collect::<Vec<_>>()
            .join(" OR "),
    }
}

/// A search analyzed by the reference: terms at offsets (a word is one), a folded prefix.
#[derive(Debug)]
enum R {
    Terms(Vec<(String, u32)>),
    Prefix(String),
    Not(Box<R>),
    And(Vec<R>),
    Or(Vec<R>),
}

/// Why the reference finds nothing positive to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Nothing is left once stop words are dropped.
    NoWords,
    /// What is left only excludes (at the top, in an `and` of exclusions, or beside `OR`).
    OnlyExcludes,
}

/// Stop words drop out (a part of nothing but stop words is no part); a prefix is folded.
fn reduce(q: &Q, analyzer: &Analyzer) -> Result<Option<R>, Refusal> {
    Ok(match q {
        Q::Word(w) => terms(analyzer, w),
        Q::Phrase(words) => terms(analyzer, &words.join(" ")),
        Q::Prefix(p) => Some(R::Prefix(fold(p))),
        Q::Not(inner) => reduce(inner, analyzer)?.map(|r| R::Not(Box::new(r))),
        Q::And(parts, _) => {
            let mut kept = Vec::new();
            for part in parts {
                kept.extend(reduce(part, analyzer)?);
            }
            if kept.len() > 1 && kept.iter().all(|r| matches!(r, R::Not(_))) {
                return Err(Refusal::OnlyExcludes);
            }
            if kept.len() <= 1 {
                kept.pop()
            } else {
                Some(R::And(kept))
            }
        }
        Q::Or(parts) => {
            let mut kept = Vec::new();
            for part in parts {
                kept.extend(reduce(part, analyzer)?);
            }
            if kept.iter().any(|r| matches!(r, R::Not(_))) {
                return Err(Refusal::OnlyExcludes);
            }
            if kept.len() <= 1 {
                kept.pop()
            } else {
                Some(R::Or(kept))
            }
        }
    })
}

/// The terms of a word or phrase with their offsets from the first kept one.
fn terms(analyzer: &Analyzer, text: &str) -> Option<R> {
    let tokens: Vec<(String, u32)> = analyzer
        .tokens(text)
        .map(|t| (t.term, t.position))
        .collect();
    let first = tokens.first()?.1;
    Some(R::Terms(
        tokens.into_iter().map(|(t, p)| (t, p - first)).collect(),
    ))
}

/// The reference's analysis of a whole search: something positive to look for, or a refusal.
fn resolve(q: &Q, analyzer: &Analyzer) -> Result<R, Refusal> {
    match reduce(q, analyzer)? {
        None => Err(Refusal::NoWords),
        Some(R::Not(_)) => Err(Refusal::OnlyExcludes),
        Some(r) => Ok(r),
    }
}

/// Whether the document matches, looking only at `field` when one is given.
fn holds(r: &R, doc: &RefDoc, field: Option<usize>) -> bool {
    match r {
        R::Terms(terms) => doc.strings(field).any(|string| {
            let (first, _) = &terms[0];
            string.iter().any(|(term, at)| {
                term == first
                    && terms.iter().all(|(t, offset)| {
                        string
                            .iter()
                            .any(|(other, p)| other == t && *p == at + offset)
                    })
            })
        }),
        R::Prefix(start) => doc.strings(field).any(|string| {
            string
                .iter()
                .any(|(term, _)| term.starts_with(start.as_str()))
        }),
        R::Not(inner) => !holds(inner, doc, field),
        R::And(parts) => parts.iter().all(|p| holds(p, doc, field)),
        R::Or(parts) => parts.iter().any(|p| holds(p, doc, field)),
    }
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// A `where` condition: searches (of all fields or one) with `org = ...`, `and`, `or`, `not`.
#[derive(Clone, Debug)]
enum Cond {
    Search(Option<usize>, Q),
    Org(&'static str),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

fn search_cond() -> impl Strategy<Value = Cond> {
    (
        prop_oneof![3 => Just(None), 1 => (0..FIELDS.len()).prop_map(Some)],
        search(),
    )
        .prop_map(|(field, q)| Cond::Search(field, q))
}

fn cond() -> impl Strategy<Value = Cond> {
    let base = prop_oneof![3 => search_cond(), 1 => select(ORGS).prop_map(Cond::Org)];
    let tree = base.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Cond::Not(Box::new(a))),
        ]
    });
    // Every condition searches: one that would not gets a search beside it.
    (tree, search_cond()).prop_map(|(c, s)| {
        if has_search(&c) {
            c
        } else {
            Cond::And(Box::new(s), Box::new(c))
        }
    })
}

fn has_search(c: &Cond) -> bool {
    match c {
        Cond::Search(..) => true,
        Cond::Org(_) => false,
        Cond::And(a, b) | Cond::Or(a, b) => has_search(a) || has_search(b),
        Cond::Not(a) => has_search(a),
    }
}

fn render_cond(c: &Cond) -> String {
    match c {
        Cond::Search(None, q) => format!("search '{}'", render(q)),
        Cond::Search(Some(f), q) => format!("{} search '{}'", FIELDS[*f], render(q)),
        Cond::Org(org) => format!("org = \"{org}\""),
        Cond::And(a, b) => format!("({}) and ({})", render_cond(a), render_cond(b)),
        Cond::Or(a, b) => format!("({}) or ({})", render_cond(a), render_cond(b)),
        Cond::Not(a) => format!("not ({})", render_cond(a)),
    }
}

/// The condition analyzed: its searches resolved, or the first refusal among them.
enum RefCond {
    Search(Option<usize>, R),
    Org(&'static str),
    And(Box<RefCond>, Box<RefCond>),
    Or(Box<RefCond>, Box<RefCond>),
    Not(Box<RefCond>),
}

fn resolve_cond(c: &Cond, analyzer: &Analyzer) -> Result<RefCond, Refusal> {
    Ok(match c {
        Cond::Search(field, q) => RefCond::Search(*field, resolve(q, analyzer)?),
        Cond::Org(org) => RefCond::Org(org),
        Cond::And(a, b) => RefCond::And(
            Box::new(resolve_cond(a, analyzer)?),
            Box::new(resolve_cond(b, analyzer)?),
        ),
        Cond::Or(a, b) => RefCond::Or(
            Box::new(resolve_cond(a, analyzer)?),
            Box::new(resolve_cond(b, analyzer)?),
        ),
        Cond::Not(a) => RefCond::Not(Box::new(resolve_cond(a, analyzer)?)),
    })
}

fn cond_holds(c: &RefCond, doc: &RefDoc) -> bool {
    match c {
        RefCond::Search(field, r) => holds(r, doc, *field),
        RefCond::Org(org) => doc.org == *org,
        RefCond::And(a, b) => cond_holds(a, doc) && cond_holds(b, doc),
        RefCond::Or(a, b) => cond_holds(a, doc) || cond_holds(b, doc),
        RefCond::Not(a) => !cond_holds(a, doc),
    }
}

// ---------------------------------------------------------------------------------------------
// Running

/// Where statements run: the database, or a transaction open on it (whose reads see its
/// writes).
trait Exec {
    fn run(&self, statement: &str) -> quarry::Result<Vec<Output>>;
    fn rows(&self, query: &str) -> quarry::Result<Vec<Json>>;
}

impl Exec for Db {
    fn run(&self, statement: &str) -> quarry::Result<Vec<Output>> {
        self.execute(statement)
    }
    fn rows(&self, query: &str) -> quarry::Result<Vec<Json>> {
        self.query_as(query)
    }
}

impl Exec for Transaction {
    fn run(&self, statement: &str) -> quarry::Result<Vec<Output>> {
        self.execute(statement)
    }
    fn rows(&self, query: &str) -> quarry::Result<Vec<Json>> {
        self.query_as(query)
    }
}

fn language_name(language: Language) -> &'static str {
    match language {
        Language::English => "english",
        _ => "none",
    }
}

/// A temporary database with collection `c` holding `docs`, its text index made before or
/// after them, and an index on `org` when asked. Returns the ids given.
fn setup(
    language: Language,
    docs: &[Json],
    index_first: bool,
    org_index: bool,
) -> Result<(Db, Vec<u64>), TestCaseError> {
    let db = ok(Db::temporary(), "temporary")?;
    let collection = ok(db.collection("c"), "collection")?;
    let create = format!(
        "create text index on c (title, body, tags) language {}",
        language_name(language)
    );
    if index_first {
        ok(db.execute(&create), &create)?;
    }
    if org_index {
        ok(db.execute("create index on c (org)"), "index on org")?;
    }
    let ids = ok(collection.insert_many(docs.to_vec()), "insert")?;
    if !index_first {
        ok(db.execute(&create), &create)?;
    }
    Ok((db, ids))
}

fn ids_of(rows: &[Json]) -> Result<Vec<u64>, TestCaseError> {
    rows.iter()
        .map(|row| {
            row["_id"]
                .as_u64()
                .ok_or_else(|| fail(format!("a row without an _id: {row}")))
        })
        .collect()
}

/// Whether quarry's error is the refusal of a search with nothing positive to look for.
fn is_refusal(message: &str) -> bool {
    message.contains("no words to look for") || message.contains("only excludes")
}

/// Runs `from c where COND` and `count from c where COND` and holds both to the reference.
fn compare(db: &dyn Exec, model: &Model, c: &Cond) -> Result<(), TestCaseError> {
    let condition = render_cond(c);
    let query = format!("from c where {condition}");
    let expected = resolve_cond(c, &model.analyzer);
    let found = db.rows(&query);
    let (expected, found) = match (expected, found) {
        (Err(refusal), Err(e)) => {
            let message = e.to_string();
            prop_assert!(
                is_refusal(&message),
                "{query}: the reference refuses it ({refusal:?}), quarry says: {message}"
            );
            return Ok(());
        }
        (Err(refusal), Ok(rows)) => {
            return Err(fail(format!(
                "{query}: the reference finds nothing to look for ({refusal:?}), quarry \
                 answered {:?}",
                ids_of(&rows)?
            )));
        }
        (Ok(_), Err(e)) => {
            return Err(fail(format!(
                "{query}: quarry refused a search the reference answers: {e}"
            )));
        }
        (Ok(expected), Ok(rows)) => (expected, rows),
    };
    let want: BTreeSet<u64> = model
        .docs
        .iter()
        .filter(|(_, (_, doc))| cond_holds(&expected, doc))
        .map(|(id, _)| *id)
        .collect();
    let got_list = ids_of(&found)?;
    let got: BTreeSet<u64> = got_list.iter().copied().collect();
    prop_assert_eq!(got.len(), got_list.len(), "{}: an id twice", query);
    if got != want {
        let mut explained = String::new();
        for id in got.symmetric_difference(&want) {
            explained.push_str(&format!(
                "\n  _id {id} ({}): {}",
                if got.contains(id) {
                    "quarry only"
                } else {
                    "reference only"
                },
                model.docs[id].0
            ));
        }
        return Err(fail(format!(
            "{query}\n  quarry: {got:?}\n  reference: {want:?}{explained}"
        )));
    }
    let count = format!("count from c where {condition}");
    match ok(db.run(&count), &count)?.as_slice() {
        [Output::Count(n)] => prop_assert_eq!(*n, want.len() as u64, "{}", count),
        other => return Err(fail(format!("{count}: {other:?}"))),
    }
    Ok(())
}

fn check_clean(db: &Db, after: &str) -> Result<(), TestCaseError> {
    let report = ok(db.check(), "check")?;
    prop_assert!(report.is_clean(), "check after {}: {:?}", after, report);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Writes

/// How a run of writes is made.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Each statement on its own.
    Direct,
    /// In a transaction, searched inside it, then committed.
    Committed,
    /// In a transaction, searched inside it, then rolled back.
    RolledBack,
}

#[derive(Clone, Debug)]
enum Op {
    /// `update c set FIELD = VALUE where _id = N` (`body`, `title` or `tags`).
    Set(u64, &'static str, Json),
    /// `update c unset FIELD where _id = N`.
    Unset(u64, &'static str),
    Delete(u64),
    Insert(Json),
}

fn op(n: u64) -> impl Strategy<Value = Op> {
    // Ids a little past the last one: writes to no document.
    let id = 1..=n + 2;
    prop_oneof![
        4 => (id.clone(), body()).prop_map(|(id, b)| Op::Set(id, "body", b.unwrap_or(Json::Null))),
        1 => (id.clone(), title()).prop_map(|(id, t)| Op::Set(id, "title", t.unwrap_or(json!(7)))),
        1 => (id.clone(), tags()).prop_map(|(id, t)| Op::Set(id, "tags", t.unwrap_or(json!([])))),
        1 => (id.clone(), select(FIELDS)).prop_map(|(id, f)| Op::Unset(id, f)),
        2 => id.prop_map(Op::Delete),
        1 => doc().prop_map(Op::Insert),
    ]
}

/// Applies `op` to quarry and to the model; returns the statement.
fn apply(db: &dyn Exec, model: &mut Model, op: &Op) -> Result<String, TestCaseError> {
    let statement = match op {
        Op::Set(id, field, value) => {
            let statement = format!("update c set {field} = {value} where _id = {id}");
            ok(db.run(&statement), &statement)?;
            if let Some((doc, _)) = model.docs.get(id) {
                let mut doc = doc.clone();
                doc[*field] = value.clone();
                model.put(*id, doc);
            }
            statement
        }
        Op::Unset(id, field) => {
            let statement = format!("update c unset {field} where _id = {id}");
            ok(db.run(&statement), &statement)?;
            if let Some((doc, _)) = model.docs.get(id) {
                let mut doc = doc.clone();
                if let Some(map) = doc.as_object_mut() {
                    map.remove(*field);
                }
                model.put(*id, doc);
            }
            statement
        }
        Op::Delete(id) => {
            let statement = format!("delete from c where _id = {id}");
            ok(db.run(&statement), &statement)?;
            model.docs.remove(id);
            statement
        }
        Op::Insert(doc) => {
            let statement = format!("insert into c {doc}");
            ok(db.run(&statement), &statement)?;
            // Ids only grow: the new document has the largest.
            let last = "select _id from c order by _id desc limit 1";
            let id = ids_of(&ok(db.rows(last), last)?)?
                .first()
                .copied()
                .ok_or_else(|| fail("no document after an insert"))?;
            model.put(id, doc.clone());
            statement
        }
    };
    Ok(statement)
}

// ---------------------------------------------------------------------------------------------
// Properties

const LANGUAGES: [Language; 2] = [Language::None, Language::English];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every condition selects and counts the reference's documents, in both languages, with
    /// and without an index on `org`, the text index made before or after the documents.
    #[test]
    fn searches_select_what_the_reference_selects(
        docs in prop::collection::vec(doc(), 1..=12),
        conds in prop::collection::vec(cond(), 1..=8),
        index_first in any::<bool>(),
    ) {
        for language in LANGUAGES {
            let mut model = Model::new(language);
            for org_index in [false, true] {
                let (db, ids) = setup(language, &docs, index_first, org_index)?;
                if model.docs.is_empty() {
                    for (id, doc) in ids.iter().zip(&docs) {
                        model.put(*id, doc.clone());
                    }
                }
                prop_assert_eq!(ids, model.docs.keys().copied().collect::<Vec<_>>());
                for c in &conds {
                    compare(&db, &model, c)?;
                }
                check_clean(&db, "the inserts")?;
            }
        }
    }

    /// Updates, unsets, deletes and inserts keep the text index in step, each on its own or in
    /// a transaction (searched inside it, then committed or rolled back): the answers stay
    /// the reference's and `check` finds nothing wrong.
    #[test]
    fn writes_keep_searches_right(
        language in select(LANGUAGES.to_vec()),
        org_index in any::<bool>(),
        (docs, runs) in prop::collection::vec(doc(), 1..=8).prop_flat_map(|docs| {
            let n = docs.len() as u64;
            let mode = prop_oneof![
                2 => Just(Mode::Direct),
                1 => Just(Mode::Committed),
                1 => Just(Mode::RolledBack),
            ];
            (Just(docs), prop::collection::vec((mode, prop::collection::vec(op(n), 1..=5)), 1..=3))
        }),
        conds in prop::collection::vec(cond(), 4..=6),
    ) {
        let (db, ids) = setup(language, &docs, true, org_index)?;
        let mut model = Model::new(language);
        for (id, doc) in ids.iter().zip(&docs) {
            model.put(*id, doc.clone());
        }
        let mut next = 0usize;
        let mut next_cond = || {
            next += 1;
            &conds[next % conds.len()]
        };
        for (mode, ops) in &runs {
            match mode {
                Mode::Direct => {
                    for op in ops {
                        let statement = apply(&db, &mut model, op)?;
                        check_clean(&db, &statement)?;
                        compare(&db, &model, next_cond())?;
                    }
                }
                Mode::Committed | Mode::RolledBack => {
                    let before = model.docs.clone();
                    let tx = ok(db.begin(), "begin")?;
                    for op in ops {
                        apply(&tx, &mut model, op)?;
                        compare(&tx, &model, next_cond())?;
                    }
                    if matches!(mode, Mode::Committed) {
                        ok(tx.commit(), "commit")?;
                    } else {
                        ok(tx.rollback(), "rollback")?;
                        model.docs = before;
                    }
                    check_clean(&db, &format!("{mode:?} {ops:?}"))?;
                    compare(&db, &model, next_cond())?;
                }
            }
        }
        for c in &conds {
            compare(&db, &model, c)?;
        }
    }

    /// Scores are positive and ranked descending, ties by `_id` descending; a `limit` without
    /// an order keeps the first of that ranking, and `order by score() desc limit .. offset ..`
    /// the same page of it.
    #[test]
    fn scores_rank_and_limits_keep_the_best(
        language in select(LANGUAGES.to_vec()),
        docs in prop::collection::vec(doc(), 1..=12),
        searches in prop::collection::vec(
            (prop_oneof![3 => Just(None), 1 => (0..FIELDS.len()).prop_map(Some)], search()),
            1..=6,
        ),
        limit in 1usize..=5,
        offset in 0usize..=2,
    ) {
        let (db, ids) = setup(language, &docs, false, false)?;
        let mut model = Model::new(language);
        for (id, doc) in ids.iter().zip(&docs) {
            model.put(*id, doc.clone());
        }
        for (field, q) in &searches {
            let Ok(r) = resolve(q, &model.analyzer) else {
                continue;
            };
            let condition = match field {
                None => format!("search '{}'", render(q)),
                Some(f) => format!("{} search '{}'", FIELDS[*f], render(q)),
            };
            let ranked = format!("select _id, score() as s from c where {condition} order by s desc");
            let rows = ok(db.query_as::<Json>(&ranked), &ranked)?;
            let scored: Vec<(u64, f64)> = rows
                .iter()
                .map(|row| {
                    Ok((
                        row["_id"].as_u64().ok_or_else(|| fail(format!("{ranked}: {row}")))?,
                        row["s"].as_f64().ok_or_else(|| fail(format!("{ranked}: {row}")))?,
                    ))
                })
                .collect::<Result<_, TestCaseError>>()?;
            let want: BTreeSet<u64> = model
                .docs
                .iter()
                .filter(|(_, (_, doc))| holds(&r, doc, *field))
                .map(|(id, _)| *id)
                .collect();
            let got: BTreeSet<u64> = scored.iter().map(|(id, _)| *id).collect();
            prop_assert_eq!(&got, &want, "{}", ranked);
            prop_assert_eq!(got.len(), scored.len(), "{}: an id twice", ranked);
            for (id, s) in &scored {
                prop_assert!(*s > 0.0 && s.is_finite(), "{}: _id {} scores {}", ranked, id, s);
            }
            for pair in scored.windows(2) {
                let ((a, sa), (b, sb)) = (pair[0], pair[1]);
                prop_assert!(
                    sa > sb || (sa == sb && a > b),
                    "{}: _id {} ({}) before _id {} ({}) in {:?}", ranked, a, sa, b, sb, scored
                );
            }
            for keep in [limit, 3] {
                let top = format!("select _id from c where {condition} limit {keep}");
                let rows = ok(db.query_as::<Json>(&top), &top)?;
                let expected: Vec<u64> = scored.iter().take(keep).map(|(id, _)| *id).collect();
                prop_assert_eq!(ids_of(&rows)?, expected, "{} against {:?}", top, scored);
            }
            // Ranked from the posting lists (`order by score() desc` and a limit): the same
            // rows with the same scores as the sort of every match.
            let page = format!(
                "select _id, score() as s from c where {condition} order by s desc \
                 limit {limit} offset {offset}"
            );
            let rows = ok(db.query_as::<Json>(&page), &page)?;
            let got: Vec<(u64, f64)> = rows
                .iter()
                .map(|row| (row["_id"].as_u64().unwrap_or(0), row["s"].as_f64().unwrap_or(0.0)))
                .collect();
            let expected: Vec<(u64, f64)> =
                scored.iter().skip(offset).take(limit).copied().collect();
            prop_assert_eq!(got, expected, "{} against {:?}", page, scored);
        }
    }
}

/// The fixed points the generators lean on: the reference's analysis of a few searches.
#[test]
fn the_reference_reads_searches_as_documented() {
    let english = Analyzer::new(Language::English);
    let plain = Analyzer::new(Language::None);
    let doc = json!({"title": "The Bank of England", "body": "coral", "tags": ["coral", "reefs"], "org": "UN"});
    let d = RefDoc::of(&english, &doc);
    let phrase = |words: Vec<&'static str>| resolve(&Q::Phrase(words), &english).unwrap();
    assert!(holds(&phrase(vec!["bank", "of", "england"]), &d, None));
    assert!(!holds(&phrase(vec!["bank", "england"]), &d, None));
    assert!(!holds(&phrase(vec!["coral", "reefs"]), &d, None));
    assert!(holds(&phrase(vec!["the", "reef"]), &d, Some(2)));
    assert!(!holds(&phrase(vec!["the", "reef"]), &d, Some(0)));
    assert_eq!(
        resolve(&Q::Word("the"), &english).unwrap_err(),
        Refusal::NoWords
    );
    assert!(resolve(&Q::Word("the"), &plain).is_ok());
    let only_not = Q::And(
        vec![Q::Word("the"), Q::Not(Box::new(Q::Word("reef")))],
        false,
    );
    assert_eq!(
        resolve(&only_not, &english).unwrap_err(),
        Refusal::OnlyExcludes
    );
    assert_eq!(
        render(&Q::Or(vec![
            Q::And(vec![Q::Word("a"), Q::Prefix("re")], true),
            Q::Not(Box::new(Q::Or(vec![
                Q::Word("b"),
                Q::Phrase(vec!["c", "d"])
            ]))),
        ])),
        "a AND re* OR -(b OR \"c d\")"
    );
}
