//! Differential test: whatever indexes exist, a query returns exactly what a full scan with the
//! same predicate returns (same order when `order by` is given, same set otherwise).
//!
//! Random documents (nested, arrays, mixed types, missing fields), random index sets and random
//! queries from the grammar run on two databases holding the same documents: one with the
//! indexes, one without (always a full scan). Counts and `count by` are compared the same way.
//! Conditions and order keys include computed ones (`len(tags) > 1`, `a < b`, `-a`), and
//! random groupings (`group by` paths and expressions, every aggregate) are checked against a
//! reference evaluation written here over all documents.
//!
//! Full-text `search` joins in a third property: documents with texts over a small vocabulary,
//! the same random text index in both databases, random searches (words, phrases, `-x`,
//! `prefix*`, `OR`, `AND`, groups, of all fields or one) anywhere in the condition, `score()`
//! as an order key and a column beside `snippet()`, limits with and without `order by`. Both
//! databases, and a plan forced to test every document, give the same rows, scores, snippets,
//! counts and errors.

mod common;
use common::cases;

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use quarry::internals::ast::{
    BinaryOp, Column, CompareOp, Count, Expr, Function, Operand, OrderKey, Query, Statement,
};
use quarry::paths::Path;
use quarry::query::Output;
use quarry::query::Session;
use quarry::text::Language;
use quarry::{Db, Value};
use serde_json::json;

fn scalar() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        (-2i64..4).prop_map(|i| json!(i)),
        prop::sample::select(vec![0.0, 1.0, 1.5, 2.5, -1.0]).prop_map(|f| json!(f)),
        prop::sample::select(vec!["", "a", "ab", "b", "ba", "B"]).prop_map(|s| json!(s)),
    ]
}

fn field() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        4 => scalar(),
        1 => prop::collection::vec(scalar(), 0..4).prop_map(|v| json!(v)),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(|v| json!({ "x": v.first().cloned().unwrap_or(json!(null)) })),
    ]
}

fn document() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::option::weighted(0.85, field()),
        prop::option::weighted(0.85, field()),
        prop::option::weighted(0.7, prop::collection::vec(scalar(), 0..4)),
        prop::option::weighted(0.7, scalar()),
    )
        .prop_map(|(a, b, tags, x)| {
            let mut doc = serde_json::Map::new();
            if let Some(a) = a {
                doc.insert("a".into(), a);
            }
            if let Some(b) = b {
                doc.insert("b".into(), b);
            }
            if let Some(tags) = tags {
                doc.insert("tags".into(), json!(tags));
            }
            if let Some(x) = x {
                doc.insert("o".into(), json!({ "x": x }));
            }
            serde_json::Value::Object(doc)
        })
}

const PATHS: &[&str] = &["a", "b", "tags", "o.x", "a.x", "tags[0]", "_id"];
const INDEXES: &[&[&str]] = &[
    &["a"],
    &["b"],
    &["a", "b"],
    &["b", "a"],
    &["tags"],
    &["o.x"],
    &["a.x"],
    &["o.x", "a"],
];

fn path() -> impl Strategy<Value = Path> {
    prop::sample::select(PATHS).prop_map(|p| p.parse().unwrap())
}

fn literal() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => scalar().prop_map(|v| Value::try_from(v).unwrap()),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(|v| Value::try_from(json!(v)).unwrap()),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
    ])
}

fn lit(v: Value) -> Operand {
    Operand::Value(v)
}

fn at(path: Path) -> Operand {
    Operand::Path(path)
}

/// A computed value: a function of a path, arithmetic on paths, or a negated path.
fn computed() -> impl Strategy<Value = Operand> {
    let call = |function: Function, args: Vec<Operand>| Operand::Call { function, args };
    prop_oneof![
        (
            path(),
            prop::sample::select(vec![
                Function::Len,
                Function::Type,
                Function::Lower,
                Function::Abs,
                Function::Round
            ])
        )
            .prop_map(move |(p, f)| call(f, vec![at(p)])),
        (path(), literal()).prop_map(move |(p, v)| call(Function::Coalesce, vec![at(p), lit(v)])),
        (
            path(),
            path(),
            prop::sample::select(vec![
                BinaryOp::Add,
                BinaryOp::Multiply,
                BinaryOp::Divide,
                BinaryOp::Remainder,
                BinaryOp::Concat
            ])
        )
            .prop_map(|(a, b, op)| Operand::Binary {
                op,
                left: Box::new(at(a)),
                right: Box::new(at(b))
            }),
        path().prop_map(|p| Operand::Negate(Box::new(at(p)))),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        6 => (path(), op(), literal()).prop_map(|(path, op, v)| Expr::Compare { subject: at(path), op, value: lit(v) }),
        2 => (path(), prop::collection::vec(literal(), 0..4), any::<bool>())
            .prop_map(|(path, vs, negated)| Expr::In { subject: at(path), values: vs.into_iter().map(lit).collect(), negated }),
        2 => (path(), literal(), literal()).prop_map(|(path, lo, hi)| Expr::Between { subject: at(path), low: lit(lo), high: lit(hi) }),
        1 => (path(), literal()).prop_map(|(path, v)| Expr::Contains { subject: at(path), value: lit(v) }),
        1 => (path(), prop::sample::select(vec!["", "a", "b", "ab"]))
            .prop_map(|(path, p)| Expr::StartsWith { subject: at(path), prefix: lit(Value::from(p)) }),
        1 => (path(), prop::sample::select(vec!["^a", "b$", "(?i)b"]))
            .prop_map(|(path, p)| Expr::Matches { subject: at(path), pattern: lit(Value::from(p)) }),
        1 => path().prop_map(|path| Expr::Exists { path }),
        1 => (path(), any::<bool>()).prop_map(|(path, negated)| Expr::IsNull { subject: at(path), negated }),
        // Computed conditions: no index answers them, and they must not change the answer.
        2 => (computed(), op(), literal()).prop_map(|(subject, op, v)| Expr::Compare { subject, op, value: lit(v) }),
        1 => (path(), op(), path()).prop_map(|(a, op, b)| Expr::Compare { subject: at(a), op, value: at(b) }),
        1 => (literal(), op(), path()).prop_map(|(v, op, p)| Expr::Compare { subject: lit(v), op, value: at(p) }),
        1 => (computed(), prop::collection::vec(literal(), 0..3)).prop_map(|(subject, vs)| Expr::In { subject, values: vs.into_iter().map(lit).collect(), negated: false }),
        1 => (computed(), any::<bool>()).prop_map(|(subject, negated)| Expr::IsNull { subject, negated }),
        // One element satisfying both conditions (`_` is the element, `x` its field).
        2 => (path(), element_compare(), element_compare())
            .prop_map(|(path, first, second)| Expr::Has { path, condition: Box::new(Expr::And(vec![first, second])) }),
    ]
}

/// A comparison on an array element: on the element itself (`_`) or its field `x`.
fn element_compare() -> impl Strategy<Value = Expr> {
    (prop::sample::select(vec!["_", "x"]), op(), literal()).prop_map(|(path, op, v)| {
        Expr::Compare {
            subject: at(path.parse().unwrap()),
            op,
            value: lit(v),
        }
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn order() -> impl Strategy<Value = Vec<OrderKey>> {
    prop::collection::vec(
        (
            prop_oneof![4 => path().prop_map(at), 1 => computed()],
            any::<bool>(),
        )
            .prop_map(|(key, descending)| OrderKey { key, descending }),
        0..3,
    )
}

#[derive(Debug, Clone)]
struct Case {
    docs: Vec<serde_json::Value>,
    indexes: Vec<usize>,
    filter: Option<Expr>,
    order: Vec<OrderKey>,
    limit: Option<i64>,
    offset: Option<i64>,
    by: Path,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(document(), 0..40),
        prop::collection::vec(0..INDEXES.len(), 0..4),
        prop::option::weighted(0.9, expr()),
        order(),
        prop::option::of(0i64..6),
        prop::option::of(0i64..4),
        path(),
    )
        .prop_map(|(docs, indexes, filter, order, limit, offset, by)| Case {
            docs,
            indexes,
            filter,
            order,
            limit,
            offset,
            by,
        })
}

fn rows(out: Output) -> Vec<Value> {
    match out {
        Output::Rows(rows) | Output::Groups(rows) => rows,
        other => panic!("expected rows, got {other:?}"),
    }
}

fn id_of(doc: &Value) -> i64 {
    doc.get("_id").and_then(Value::as_i64).unwrap()
}

/// Two stores holding `docs` in `t`: one with the indexes numbered `indexes`, one without.
fn stores(docs: &[serde_json::Value], indexes: &[usize]) -> (Db, Db) {
    let indexed = Db::temporary().unwrap();
    let plain = Db::temporary().unwrap();
    for db in [&indexed, &plain] {
        db.collection("t")
            .unwrap()
            .insert_many(docs.to_vec())
            .unwrap();
    }
    for &i in indexes {
        // An index over two arrays may be refused for this data; that is fine.
        let _ = indexed.collection("t").unwrap().create_index(INDEXES[i]);
    }
    (indexed, plain)
}

fn check(case: Case) -> Result<(), TestCaseError> {
    // The indexed store reads ahead on a second thread for every query, the plain one never.
    let (indexed, plain) = stores(&case.docs, &case.indexes);
    let mut with = Session::new(indexed.clone());
    with.set_read_ahead(Some(0));
    let mut without = Session::new(plain.clone());
    without.set_read_ahead(None);

    // Rows: the same rows in the same order, whatever the plan: with `order by` (and
    // limit/offset) in that order, without it in id order, as a full scan gives them.
    let ordered = !case.order.is_empty();
    let query = Statement::Query(Query {
        collection: Some("t".into()),
        filter: case.filter.clone(),
        order_by: case.order.clone(),
        limit: if ordered {
            case.limit.map(|l| lit(Value::Int(l)))
        } else {
            None
        },
        offset: if ordered {
            case.offset.map(|o| lit(Value::Int(o)))
        } else {
            None
        },
        ..Query::default()
    });
    let got = rows(with.run(&query).unwrap());
    let want = rows(without.run(&query).unwrap());
    // Typed reads (straight from the stored bytes) see the same rows as values do.
    let typed: Vec<serde_json::Value> = indexed
        .query(&query.to_string())
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap();
    let as_json: Vec<serde_json::Value> = got.iter().map(Value::to_json).collect();
    prop_assert_eq!(typed, as_json, "typed {}", query);
    prop_assert_eq!(&got, &want, "query {} ", query);

    // The reference: a plain filter over every document, written here, not in the engine.
    if !ordered && let Some(filter) = &case.filter {
        let predicate = quarry::internals::eval::bind(filter, &Default::default()).unwrap();
        let all: Vec<Value> = plain
            .collection("t")
            .unwrap()
            .iter()
            .map(|d| d.unwrap().1)
            .collect();
        let expected: Vec<i64> = all
            .iter()
            .filter(|d| predicate.matches(d))
            .map(id_of)
            .collect();
        let want_ids: Vec<i64> = want.iter().map(id_of).collect();
        prop_assert_eq!(want_ids, expected);
    }

    // Counts and facets.
    let count = Statement::Count(Count {
        collection: Some("t".into()),
        filter: case.filter.clone(),
        by: None,
    });
    let got = with.run(&count).unwrap().to_string();
    let want = without.run(&count).unwrap().to_string();
    prop_assert_eq!(got, want, "{}", count);
    let by = Statement::Count(Count {
        collection: Some("t".into()),
        filter: case.filter.clone(),
        by: Some(case.by.clone()),
    });
    let got = rows(with.run(&by).unwrap());
    let want = rows(without.run(&by).unwrap());
    prop_assert_eq!(got, want, "{}", by);
    Ok(())
}

/// A group key: a path (whose arrays stand for their elements), or a computed one.
#[derive(Debug, Clone)]
enum Key {
    Path(Path),
    Len(Path),
    Type(Path),
}

impl Key {
    fn text(&self) -> String {
        match self {
            Key::Path(p) => p.to_string(),
            Key::Len(p) => format!("len({p})"),
            Key::Type(p) => format!("type({p})"),
        }
    }

    /// The reference: the keys a document gives (each element of an array, once; `[]` for an
    /// empty one; null for a path that reaches nothing).
    fn values(&self, doc: &Value) -> Vec<Value> {
        match self {
            Key::Path(p) => p.index_keys(doc).0,
            Key::Len(p) => vec![match p.project(doc) {
                Some(Value::String(s)) => Value::Int(s.chars().count() as i64),
                Some(Value::Array(items)) => Value::Int(items.len() as i64),
                Some(Value::Object(map)) => Value::Int(map.len() as i64),
                _ => Value::Null,
            }],
            Key::Type(p) => vec![Value::from(
                p.project(doc).unwrap_or(Value::Null).type_name(),
            )],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Agg {
    Count,
    CountOf,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl Agg {
    fn text(self, p: &Path) -> String {
        match self {
            Agg::Count => "count()".into(),
            Agg::CountOf => format!("count({p})"),
            Agg::CountDistinct => format!("count(distinct {p})"),
            Agg::Sum => format!("sum({p})"),
            Agg::Avg => format!("avg({p})"),
            Agg::Min => format!("min({p})"),
            Agg::Max => format!("max({p})"),
        }
    }

    /// The reference: the aggregate over the documents of one group, in id order.
    fn over(self, p: &Path, docs: &[&Value]) -> Value {
        let values = || docs.iter().map(|d| p.project(d).unwrap_or(Value::Null));
        let numbers = || values().filter(|v| matches!(v, Value::Int(_) | Value::Float(_)));
        let (mut int, mut float, mut exact) = (0i64, 0f64, true);
        for n in numbers() {
            match n {
                Value::Int(i) => int += i,
                Value::Float(f) => {
                    float += f;
                    exact = false;
                }
                _ => unreachable!(),
            }
        }
        let present = || values().filter(|v| *v != Value::Null);
        match self {
            Agg::Count => Value::Int(docs.len() as i64),
            Agg::CountOf => Value::Int(present().count() as i64),
            Agg::CountDistinct => {
                let distinct: BTreeSet<Value> = docs
                    .iter()
                    .flat_map(|d| p.index_keys(d).0)
                    .filter(|v| *v != Value::Null)
                    .collect();
                Value::Int(distinct.len() as i64)
            }
            Agg::Sum if exact => Value::Int(int),
            Agg::Sum => Value::Float(int as f64 + float),
            Agg::Avg => match numbers().count() {
                0 => Value::Null,
                n => Value::Float((int as f64 + float) / n as f64),
            },
            Agg::Min => present().min().unwrap_or(Value::Null),
            Agg::Max => present().max().unwrap_or(Value::Null),
        }
    }
}

#[derive(Debug, Clone)]
struct Grouping {
    docs: Vec<serde_json::Value>,
    indexes: Vec<usize>,
    filter: Option<Expr>,
    keys: Vec<Key>,
    aggregates: Vec<(Agg, Path)>,
    by_first_aggregate_desc: bool,
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        4 => path().prop_map(Key::Path),
        1 => path().prop_map(Key::Len),
        1 => path().prop_map(Key::Type),
    ]
}

fn aggregate() -> impl Strategy<Value = (Agg, Path)> {
    (
        prop::sample::select(vec![
            Agg::Count,
            Agg::CountOf,
            Agg::CountDistinct,
            Agg::Sum,
            Agg::Avg,
            Agg::Min,
            Agg::Max,
        ]),
        path(),
    )
}

fn grouping() -> impl Strategy<Value = Grouping> {
    // Shapes an index may answer (counts per value of a path; min and max of a path), and
    // any other.
    let shape = prop_oneof![
        1 => path().prop_map(|p| (vec![Key::Path(p.clone())], vec![(Agg::Count, p)])),
        1 => (path(), any::<bool>()).prop_map(|(p, count)| {
            let mut aggregates = vec![(Agg::Min, p.clone()), (Agg::Max, p.clone())];
            if count {
                aggregates.push((Agg::Count, p));
            }
            (Vec::new(), aggregates)
        }),
        3 => (prop::collection::vec(key(), 0..3), prop::collection::vec(aggregate(), 1..4)),
    ];
    (
        prop::collection::vec(document(), 0..40),
        prop::collection::vec(0..INDEXES.len(), 0..4),
        prop::option::weighted(0.5, expr()),
        shape,
        any::<bool>(),
    )
        .prop_map(
            |(docs, indexes, filter, (keys, aggregates), by_first_aggregate_desc)| Grouping {
                docs,
                indexes,
                filter,
                keys,
                aggregates,
                by_first_aggregate_desc,
            },
        )
}

/// Integral floats as integers: `1` and `1.0` are one key, printed as `1`.
fn canonical(v: Value) -> Value {
    match v.as_i64() {
        Some(i) if matches!(v, Value::Float(_)) => Value::Int(i),
        _ => v,
    }
}

fn check_grouping(case: Grouping) -> Result<(), TestCaseError> {
    let (indexed, plain) = stores(&case.docs, &case.indexes);
    let mut columns: Vec<String> = case
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} as g{i}", k.text()))
        .collect();
    columns.extend(
        case.aggregates
            .iter()
            .enumerate()
            .map(|(i, (a, p))| format!("{} as x{i}", a.text(p))),
    );
    let mut text = format!("select {} from t", columns.join(", "));
    if let Some(filter) = &case.filter {
        text.push_str(&format!(" where {filter}"));
    }
    if !case.keys.is_empty() {
        let keys: Vec<String> = case.keys.iter().map(Key::text).collect();
        text.push_str(&format!(" group by {}", keys.join(", ")));
    }
    if case.by_first_aggregate_desc {
        text.push_str(" order by x0 desc");
    }
    let got = rows(
        Session::new(indexed.clone())
            .execute(&text)
            .unwrap()
            .pop()
            .unwrap(),
    );
    let want = rows(
        Session::new(plain.clone())
            .execute(&text)
            .unwrap()
            .pop()
            .unwrap(),
    );
    prop_assert_eq!(&got, &want, "{}", text);

    // The reference: every document filtered, grouped and aggregated here.
    let predicate = case
        .filter
        .as_ref()
        .map(|f| quarry::internals::eval::bind(f, &Default::default()).unwrap());
    let all: Vec<Value> = plain
        .collection("t")
        .unwrap()
        .iter()
        .map(|d| d.unwrap().1)
        .filter(|d| predicate.as_ref().is_none_or(|p| p.matches(d)))
        .collect();
    // A key given twice is one key.
    let mut distinct_keys: Vec<&Key> = Vec::new();
    for key in &case.keys {
        if !distinct_keys.iter().any(|k| k.text() == key.text()) {
            distinct_keys.push(key);
        }
    }
    let mut groups: BTreeMap<Vec<Value>, Vec<&Value>> = BTreeMap::new();
    if case.keys.is_empty() {
        groups.insert(Vec::new(), Vec::new());
    }
    for doc in &all {
        let mut combos: Vec<Vec<Value>> = vec![Vec::new()];
        for key in &distinct_keys {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    key.values(doc).into_iter().map(move |v| {
                        let mut c = c.clone();
                        c.push(canonical(v));
                        c
                    })
                })
                .collect();
        }
        for combo in combos {
            groups.entry(combo).or_default().push(doc);
        }
    }
    let mut expected: Vec<Value> = groups
        .into_iter()
        .map(|(key, docs)| {
            let mut row = serde_json::Map::new();
            for (i, k) in case.keys.iter().enumerate() {
                let at = distinct_keys
                    .iter()
                    .position(|d| d.text() == k.text())
                    .unwrap();
                row.insert(format!("g{i}"), key[at].to_json());
            }
            for (i, (a, p)) in case.aggregates.iter().enumerate() {
                row.insert(format!("x{i}"), a.over(p, &docs).to_json());
            }
            Value::try_from(serde_json::Value::Object(row)).unwrap()
        })
        .collect();
    if case.by_first_aggregate_desc {
        expected.sort_by(|a, b| b.get("x0").cmp(&a.get("x0")));
    }
    prop_assert_eq!(want, expected, "{}", text);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Full-text search: both stores have the same text index (made before the documents in one,
// after them in the other); beside it the indexed store has value indexes, some on the text
// fields themselves. Whatever plan answers (posting lists alone, intersected with an index,
// unions of `or` branches, a residual test on each document, ranked top-k), the rows, their
// scores and snippets, and the counts are the same; and the same as when a branch no index can
// answer (`or abs(_id) < 0`) forces a full scan that tests every document.

/// Words of the documents' text fields: a plural, a case, a stop word of english, a word that
/// is also a short scalar of `a` and `tags`.
const DOC_WORDS: &[&str] = &[
    "coral", "coral", "Coral", "reef", "reef", "reefs", "lagoon", "fish", "the", "ab",
];
/// Words of searches: the documents' (`reefs` is `reef` in english), one in capitals, two of
/// the scalars, one no text has; the commonest more often.
const SEARCH_WORDS: &[&str] = &[
    "coral", "coral", "coral", "reef", "reef", "reef", "reefs", "REEF", "lagoon", "fish", "fish",
    "the", "ab", "b", "kelp",
];
/// Phrases the texts often have.
const SEARCH_PHRASES: &[&str] = &[
    "\"coral reef\"",
    "\"coral reefs\"",
    "\"reef coral\"",
    "\"the reef\"",
    "\"coral coral\"",
    "\"reef fish\"",
];
/// Starts of words for `prefix*`.
const SEARCH_PREFIXES: &[&str] = &["re", "reef", "co", "l", "f", "a", "th"];
/// Paths of scalars a text index may have beside the text fields `txt` and `kw`.
const SCALAR_TEXT_FIELDS: &[&str] = &["a", "tags", "o.x"];
/// Value indexes on the text fields, beside the others.
const TEXT_VALUE_INDEXES: &[&[&str]] = &[&["txt"], &["kw"], &["kw", "a"], &["txt", "b"]];

/// A text of up to `max` words.
fn words(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(DOC_WORDS),
            prop::sample::select(vec![" ", " ", ", ", ". "]),
        ),
        0..=max,
    )
    .prop_map(|words| {
        let mut out = String::new();
        for (i, (word, sep)) in words.into_iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(word);
        }
        out
    })
}

/// A document of [`document`] with a text `txt` and keywords `kw` (texts, now and then a
/// scalar), each missing now and then.
fn text_document() -> BoxedStrategy<serde_json::Value> {
    let keyword = prop_oneof![4 => words(2).prop_map(|w| json!(w)), 1 => scalar()];
    (
        document(),
        prop::option::weighted(
            0.85,
            prop_oneof![8 => words(8).prop_map(|w| json!(w)), 1 => scalar()],
        ),
        prop::option::weighted(0.6, prop::collection::vec(keyword, 0..4)),
    )
        .prop_map(|(mut doc, txt, kw)| {
            let map = doc.as_object_mut().unwrap();
            if let Some(txt) = txt {
                map.insert("txt".into(), txt);
            }
            if let Some(kw) = kw {
                map.insert("kw".into(), json!(kw));
            }
            doc
        })
        .boxed()
}

/// The text index: its paths (`txt` mostly among them) and language (`none` mostly: no stop
/// words, so fewer searches that are errors).
#[derive(Debug, Clone)]
struct TextIndex {
    paths: Vec<&'static str>,
    english: bool,
    /// Made before the documents in the indexed store (after them in the plain one), or the
    /// other way round.
    first_in_indexed: bool,
}

fn text_index() -> BoxedStrategy<TextIndex> {
    (
        prop::bool::weighted(0.92),
        prop::bool::weighted(0.6),
        prop::option::weighted(0.3, prop::sample::select(SCALAR_TEXT_FIELDS)),
        prop::bool::weighted(0.3),
        any::<bool>(),
    )
        .prop_map(|(txt, kw, scalars, english, first_in_indexed)| {
            let mut paths: Vec<&str> = scalars.into_iter().collect();
            if kw {
                paths.push("kw");
            }
            if txt || paths.is_empty() {
                paths.push("txt");
            }
            (paths, english, first_in_indexed)
        })
        .prop_flat_map(|(paths, english, first_in_indexed)| {
            (
                Just(paths).prop_shuffle(),
                Just(english),
                Just(first_in_indexed),
            )
        })
        .prop_map(|(paths, english, first_in_indexed)| TextIndex {
            paths,
            english,
            first_in_indexed,
        })
        .boxed()
}

/// A word (mostly one the texts have), a phrase (mostly of words that often stand side by
/// side) or a prefix.
fn search_leaf() -> BoxedStrategy<String> {
    let word = || prop::sample::select(SEARCH_WORDS);
    let quoted = |words: Vec<&str>| format!("\"{}\"", words.join(" "));
    prop_oneof![
        10 => word().prop_map(String::from),
        2 => prop::sample::select(SEARCH_PHRASES).prop_map(String::from),
        1 => prop::collection::vec(word(), 2..=2).prop_map(quoted),
        1 => prop::collection::vec(word(), 3..=3).prop_map(quoted),
        2 => prop::sample::select(SEARCH_PREFIXES).prop_map(|p| format!("{p}*")),
    ]
    .boxed()
}

/// A part of an alternative: a leaf, or an exclusion of a leaf or of a group.
fn search_item() -> BoxedStrategy<String> {
    prop_oneof![
        5 => search_leaf(),
        2 => search_leaf().prop_map(|l| format!("-{l}")),
        1 => (search_leaf(), search_leaf()).prop_map(|(a, b)| format!("-({a} OR {b})")),
    ]
    .boxed()
}

/// Parts that must all match, the first one looked for (so that the search does not only
/// exclude), side by side or with `AND`.
fn search_alternative() -> BoxedStrategy<String> {
    (
        search_leaf(),
        prop_oneof![
            3 => prop::collection::vec(search_item(), 0..=0),
            3 => prop::collection::vec(search_item(), 1..=1),
            1 => prop::collection::vec(search_item(), 2..=2),
        ],
        any::<bool>(),
    )
        .prop_map(|(first, rest, explicit)| {
            let mut parts = vec![first];
            parts.extend(rest);
            parts.join(if explicit { " AND " } else { " " })
        })
        .boxed()
}

/// A search string: alternatives with `OR`, or a group of them beside another part.
fn search_text() -> BoxedStrategy<String> {
    prop_oneof![
        6 => search_alternative(),
        3 => prop::collection::vec(search_alternative(), 2..=3).prop_map(|a| a.join(" OR ")),
        1 => (prop::collection::vec(search_alternative(), 2..=2), search_item())
            .prop_map(|(a, item)| format!("({}) {item}", a.join(" OR "))),
    ]
    .boxed()
}

/// `search "..."`, or `field search "..."` of a field of the text index (mostly a text field).
fn search(fields: Vec<&'static str>) -> BoxedStrategy<Expr> {
    let weighted: Vec<&str> = fields
        .iter()
        .flat_map(|&f| std::iter::repeat_n(f, if f == "txt" || f == "kw" { 3 } else { 1 }))
        .collect();
    (
        prop::option::weighted(0.3, prop::sample::select(weighted)),
        search_text(),
    )
        .prop_map(|(field, text)| Expr::Search {
            path: field.map(|f| f.parse().unwrap()),
            query: lit(Value::from(text)),
        })
        .boxed()
}

/// A condition on the values of the text fields, which their value indexes may answer.
fn text_value_leaf() -> BoxedStrategy<Expr> {
    let field = || prop::sample::select(vec!["txt", "kw"]).prop_map(|p| p.parse::<Path>().unwrap());
    let text = || words(2).prop_map(|w| lit(Value::from(w)));
    prop_oneof![
        2 => (field(), op(), text()).prop_map(|(p, op, value)| Expr::Compare { subject: at(p), op, value }),
        1 => (field(), prop::collection::vec(text(), 0..3), any::<bool>())
            .prop_map(|(p, values, negated)| Expr::In { subject: at(p), values, negated }),
        1 => (field(), prop::sample::select(DOC_WORDS))
            .prop_map(|(p, w)| Expr::Contains { subject: at(p), value: lit(Value::from(w)) }),
        1 => (field(), prop::sample::select(vec!["", "co", "reef", "the c"]))
            .prop_map(|(p, s)| Expr::StartsWith { subject: at(p), prefix: lit(Value::from(s)) }),
        1 => field().prop_map(|path| Expr::Exists { path }),
    ]
    .boxed()
}

/// A condition a value index may answer, to stand beside a search in an `and` (an
/// intersection) or an `or` (a union): on the first path of one of the case's value indexes
/// (of any path when it has none).
fn indexable_leaf(indexes: &[&[&'static str]]) -> BoxedStrategy<Expr> {
    let mut paths: Vec<&str> = indexes.iter().map(|paths| paths[0]).collect();
    if paths.is_empty() {
        paths = vec!["a", "b", "tags", "o.x", "txt", "kw"];
    }
    let path = || prop::sample::select(paths.clone()).prop_map(|p| p.parse::<Path>().unwrap());
    let value = || {
        prop_oneof![
            2 => scalar().prop_map(|v| Value::try_from(v).unwrap()),
            1 => prop::sample::select(DOC_WORDS).prop_map(Value::from),
        ]
    };
    prop_oneof![
        3 => (path(), value()).prop_map(|(p, v)| Expr::Compare { subject: at(p), op: CompareOp::Eq, value: lit(v) }),
        1 => (path(), op(), value()).prop_map(|(p, op, v)| Expr::Compare { subject: at(p), op, value: lit(v) }),
        1 => (path(), prop::collection::vec(value(), 1..3))
            .prop_map(|(p, vs)| Expr::In { subject: at(p), values: vs.into_iter().map(lit).collect(), negated: false }),
    ]
    .boxed()
}

/// Whether `expr` has a `search`; with `looked_for`, one under an even number of `not`s (one
/// that counts in the score, and makes a `limit` without `order by` keep the best matches).
fn has_search(expr: &Expr, looked_for: bool, negated: bool) -> bool {
    match expr {
        Expr::Search { .. } => !looked_for || !negated,
        Expr::And(items) | Expr::Or(items) => {
            items.iter().any(|e| has_search(e, looked_for, negated))
        }
        Expr::Not(inner) => has_search(inner, looked_for, !negated),
        _ => false,
    }
}

/// A condition with at least one `search`: alone, beside one other condition, or anywhere in
/// a tree of `and` / `or` / `not` over searches and the other conditions.
fn search_filter(fields: Vec<&'static str>, indexes: &[&[&'static str]]) -> BoxedStrategy<Expr> {
    let tree = prop_oneof![
        3 => search(fields.clone()),
        1 => text_value_leaf(),
        4 => leaf(),
    ]
    .prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    });
    let other = || {
        prop_oneof![
            3 => indexable_leaf(indexes),
            1 => text_value_leaf(),
            1 => leaf(),
        ]
    };
    prop_oneof![
        3 => search(fields.clone()),
        3 => (search(fields.clone()), other()).prop_map(|(s, o)| Expr::And(vec![s, o])),
        1 => (search(fields.clone()), other()).prop_map(|(s, o)| Expr::Or(vec![s, o])),
        1 => (search(fields.clone()), search(fields.clone()), other())
            .prop_map(|(s, t, o)| Expr::Or(vec![s, Expr::And(vec![t, o])])),
        4 => (tree, search(fields)).prop_map(|(tree, s)| {
            if has_search(&tree, false, false) {
                tree
            } else {
                Expr::And(vec![s, tree])
            }
        }),
    ]
    .boxed()
}

fn score() -> Operand {
    Operand::Call {
        function: Function::Score,
        args: Vec::new(),
    }
}

/// Order keys: none, `score()` (mostly descending: what ranks from the posting lists) alone
/// or beside a path, or any of [`order`].
fn search_order() -> BoxedStrategy<Vec<OrderKey>> {
    let by_score = |descending| OrderKey {
        key: score(),
        descending,
    };
    let other = || {
        (
            prop::sample::select(vec!["a", "b", "txt", "kw", "_id", "o.x"]),
            any::<bool>(),
        )
            .prop_map(|(p, descending)| OrderKey {
                key: at(p.parse().unwrap()),
                descending,
            })
    };
    prop_oneof![
        2 => Just(Vec::new()),
        4 => Just(vec![by_score(true)]),
        1 => Just(vec![by_score(false)]),
        1 => other().prop_map(move |k| vec![by_score(true), k]),
        1 => other().prop_map(move |k| vec![k, by_score(true)]),
        1 => order(),
    ]
    .boxed()
}

/// Columns: the whole documents, or `_id`, `score()` and a `snippet` of a field of the index.
fn search_columns(fields: Vec<&'static str>) -> impl Strategy<Value = Option<Vec<Column>>> {
    prop::option::weighted(
        0.35,
        (prop::sample::select(fields), any::<bool>()).prop_map(|(field, marks)| {
            let mut args = vec![at(field.parse().unwrap())];
            if marks {
                args.extend([
                    lit(Value::from("<")),
                    lit(Value::from(">")),
                    lit(Value::Int(3)),
                ]);
            }
            let column = |value, alias: Option<&str>| Column {
                value,
                alias: alias.map(String::from),
            };
            vec![
                column(at("_id".parse().unwrap()), None),
                column(score(), Some("s")),
                column(
                    Operand::Call {
                        function: Function::Snippet,
                        args,
                    },
                    Some("hit"),
                ),
            ]
        }),
    )
}

#[derive(Debug, Clone)]
struct SearchCase {
    docs: Vec<serde_json::Value>,
    text: TextIndex,
    indexes: Vec<&'static [&'static str]>,
    filter: Expr,
    columns: Option<Vec<Column>>,
    order: Vec<OrderKey>,
    limit: Option<i64>,
    offset: Option<i64>,
    by: Path,
}

fn search_case() -> impl Strategy<Value = SearchCase> {
    let index = prop_oneof![
        2 => prop::sample::select(INDEXES),
        1 => prop::sample::select(TEXT_VALUE_INDEXES),
    ];
    // Now and then the documents several times over: a larger collection (where intersecting
    // with a value index may be given up for reading the best matches first), and ties.
    let copies = prop_oneof![6 => Just(1usize), 1 => 3usize..=6];
    (
        prop::collection::vec(text_document(), 0..40),
        copies,
        text_index(),
        prop::collection::vec(index, 0..4),
    )
        .prop_flat_map(|(docs, copies, text, indexes)| {
            let docs: Vec<_> = (0..copies).flat_map(|_| docs.iter().cloned()).collect();
            let fields = text.paths.clone();
            (
                Just(docs),
                Just(text),
                Just(indexes.clone()),
                search_filter(fields.clone(), &indexes),
                search_columns(fields),
                search_order(),
                prop::option::of(0i64..6),
                prop::option::of(0i64..4),
                prop::sample::select(vec!["a", "txt", "kw", "tags"]),
                any::<bool>(),
            )
        })
        .prop_map(
            |(docs, text, indexes, filter, columns, mut order, limit, offset, by, alias)| {
                // `order by s` for the column `score() as s`, now and then.
                if alias && columns.is_some() {
                    for key in &mut order {
                        if key.key == score() {
                            key.key = at("s".parse().unwrap());
                        }
                    }
                }
                SearchCase {
                    docs,
                    text,
                    indexes,
                    filter,
                    columns,
                    order,
                    limit,
                    offset,
                    by: by.parse().unwrap(),
                }
            },
        )
}

/// The two stores of a [`SearchCase`]: the same text index in each, made before the
/// documents in one and after them in the other; the value indexes in the first only.
fn search_stores(case: &SearchCase) -> (Db, Db) {
    let language = if case.text.english {
        Language::English
    } else {
        Language::None
    };
    let make = |text_first: bool, indexes: &[&[&str]]| {
        let db = Db::temporary().unwrap();
        let t = db.collection("t").unwrap();
        if text_first {
            t.create_text_index(&case.text.paths, language).unwrap();
        }
        t.insert_many(case.docs.to_vec()).unwrap();
        if !text_first {
            t.create_text_index(&case.text.paths, language).unwrap();
        }
        for paths in indexes {
            // An index over two arrays may be refused for this data; that is fine.
            let _ = t.create_index(paths);
        }
        db
    };
    (
        make(case.text.first_in_indexed, &case.indexes),
        make(!case.text.first_in_indexed, &[]),
    )
}

/// A statement's answer as compared: its rows (or printed count), or its error's message.
fn answer(session: &mut Session, statement: &Statement) -> Result<Vec<Value>, String> {
    match session.run(statement) {
        Ok(Output::Rows(rows) | Output::Groups(rows)) => Ok(rows),
        Ok(other) => Ok(vec![Value::from(other.to_string())]),
        Err(e) => Err(e.to_string()),
    }
}

fn check_search(case: SearchCase) -> Result<(), TestCaseError> {
    let (indexed, plain) = search_stores(&case);
    let mut with = Session::new(indexed.clone());
    with.set_read_ahead(Some(0));
    let mut without = Session::new(plain.clone());
    without.set_read_ahead(None);
    // The same condition with a branch that holds for no document and that no index answers:
    // the plan scans every document and tests the searches on each.
    let never = Expr::Compare {
        subject: Operand::Call {
            function: Function::Abs,
            args: vec![at("_id".parse().unwrap())],
        },
        op: CompareOp::Lt,
        value: lit(Value::Int(0)),
    };
    let scanned = Expr::Or(vec![case.filter.clone(), never]);

    // Rows, in the same order: with `order by` in that order, else in id order; and with a
    // `limit` and no `order by`, the best matches first (score descending, ties by `_id`
    // descending) when a search is looked for. Without either, a limit may keep any rows.
    let ordered = !case.order.is_empty() || has_search(&case.filter, true, false);
    let query = |filter: &Expr| {
        Statement::Query(Query {
            columns: case.columns.clone(),
            collection: Some("t".into()),
            filter: Some(filter.clone()),
            order_by: case.order.clone(),
            limit: case.limit.filter(|_| ordered).map(|l| lit(Value::Int(l))),
            offset: case.offset.filter(|_| ordered).map(|o| lit(Value::Int(o))),
            ..Query::default()
        })
    };
    let (planned, full) = (query(&case.filter), query(&scanned));
    let got = answer(&mut with, &planned);
    let want = answer(&mut without, &planned);
    let scan = answer(&mut without, &full);
    prop_assert_eq!(&got, &want, "query {}", planned);
    prop_assert_eq!(&want, &scan, "query {} against {}", planned, full);
    if let Ok(got) = &got {
        // Typed reads (straight from the stored bytes) see the same rows as values do.
        let typed: Vec<serde_json::Value> = indexed
            .query(&planned.to_string())
            .unwrap()
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        let as_json: Vec<serde_json::Value> = got.iter().map(Value::to_json).collect();
        prop_assert_eq!(typed, as_json, "typed {}", planned);
    }

    // Counts (from the posting lists alone when the search is the whole condition) and
    // counts by a path.
    for by in [None, Some(case.by.clone())] {
        let count = |filter: &Expr| {
            Statement::Count(Count {
                collection: Some("t".into()),
                filter: Some(filter.clone()),
                by: by.clone(),
            })
        };
        let (planned, full) = (count(&case.filter), count(&scanned));
        let got = answer(&mut with, &planned);
        let want = answer(&mut without, &planned);
        let scan = answer(&mut without, &full);
        prop_assert_eq!(&got, &want, "{}", planned);
        prop_assert_eq!(&want, &scan, "{} against {}", planned, full);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES raises it for a longer run.
        cases: cases(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn planned_results_equal_a_full_scan(case in case()) {
        check(case)?;
    }

    #[test]
    fn groups_and_aggregates_equal_a_reference_over_every_document(case in grouping()) {
        check_grouping(case)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Fewer than above: each case builds a text index twice and runs three times as many
        // statements. PROPTEST_CASES raises it for a longer run.
        cases: cases(250),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn searches_answer_alike_whatever_the_plan(case in search_case()) {
        check_search(case)?;
    }
}
