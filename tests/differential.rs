//! Differential test: whatever indexes exist, a query returns exactly what a full scan with the
//! same predicate returns (same order when `order by` is given, same set otherwise).
//!
//! Random documents (nested, arrays, mixed types, missing fields), random index sets and random
//! queries from the grammar run on two databases holding the same documents: one with the
//! indexes, one without (always a full scan). Counts and `count by` are compared the same way.

mod common;
use common::cases;

use proptest::prelude::*;
use quarry::internals::ast::{CompareOp, Count, Expr, Operand, OrderKey, Query, Statement};
use quarry::paths::Path;
use quarry::query::Output;
use quarry::query::Session;
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

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        6 => (path(), op(), literal()).prop_map(|(path, op, v)| Expr::Compare { path, op, value: lit(v) }),
        2 => (path(), prop::collection::vec(literal(), 0..4), any::<bool>())
            .prop_map(|(path, vs, negated)| Expr::In { path, values: vs.into_iter().map(lit).collect(), negated }),
        2 => (path(), literal(), literal()).prop_map(|(path, lo, hi)| Expr::Between { path, low: lit(lo), high: lit(hi) }),
        1 => (path(), literal()).prop_map(|(path, v)| Expr::Contains { path, value: lit(v) }),
        1 => (path(), prop::sample::select(vec!["", "a", "b", "ab"]))
            .prop_map(|(path, p)| Expr::StartsWith { path, prefix: lit(Value::from(p)) }),
        1 => (path(), prop::sample::select(vec!["^a", "b$", "(?i)b"]))
            .prop_map(|(path, p)| Expr::Matches { path, pattern: lit(Value::from(p)) }),
        1 => path().prop_map(|path| Expr::Exists { path }),
        1 => (path(), any::<bool>()).prop_map(|(path, negated)| Expr::IsNull { path, negated }),
        // One element satisfying both conditions (`_` is the element, `x` its field).
        2 => (path(), element_compare(), element_compare())
            .prop_map(|(path, first, second)| Expr::Has { path, condition: Box::new(Expr::And(vec![first, second])) }),
    ]
}

/// A comparison on an array element: on the element itself (`_`) or its field `x`.
fn element_compare() -> impl Strategy<Value = Expr> {
    (prop::sample::select(vec!["_", "x"]), op(), literal()).prop_map(|(path, op, v)| {
        Expr::Compare {
            path: path.parse().unwrap(),
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
        (path(), any::<bool>()).prop_map(|(path, descending)| OrderKey { path, descending }),
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

fn check(case: Case) -> Result<(), TestCaseError> {
    // The indexed store reads ahead on a second thread for every query, the plain one never.
    let indexed = Db::temporary().unwrap();
    let plain = Db::temporary().unwrap();
    for db in [&indexed, &plain] {
        db.collection("t")
            .unwrap()
            .insert_many(case.docs.clone())
            .unwrap();
    }
    for &i in &case.indexes {
        // An index over two arrays may be refused for this data; that is fine.
        let _ = indexed.collection("t").unwrap().create_index(INDEXES[i]);
    }
    let mut with = Session::new(indexed.clone());
    with.set_read_ahead(Some(0));
    let mut without = Session::new(plain.clone());
    without.set_read_ahead(None);

    // Rows: the same rows in the same order, whatever the plan: with `order by` (and
    // limit/offset) in that order, without it in id order, as a full scan gives them.
    let ordered = !case.order.is_empty();
    let query = Statement::Query(Query {
        fields: None,
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
}
