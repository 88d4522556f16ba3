//! The parser's contract: precedence, comments, quoting, parameters, limits, and that no input
//! makes it panic. (Error texts are specified in `grammar/errors/`.)

mod common;
use common::cases;

use proptest::prelude::*;
use quarry::Value;
use quarry::internals::ast::{
    BinaryOp, CompareOp, Expr, Function, Operand, Param, Query, Statement,
};
use quarry::paths::Path;
use quarry::query::{is_incomplete, parse, parse_statement, split_statements};

fn filter_of(text: &str) -> Expr {
    match parse_statement(text).unwrap() {
        Statement::Query(Query {
            filter: Some(f), ..
        }) => f,
        other => panic!("{other:?}"),
    }
}

fn cmp(path: &str, value: i64) -> Expr {
    Expr::Compare {
        subject: Operand::Path(path.parse().unwrap()),
        op: CompareOp::Eq,
        value: Operand::Value(Value::Int(value)),
    }
}

#[test]
fn and_binds_tighter_than_or_and_not_tighter_than_and() {
    assert_eq!(
        filter_of("where a = 1 or b = 2 and c = 3"),
        Expr::Or(vec![cmp("a", 1), Expr::And(vec![cmp("b", 2), cmp("c", 3)])])
    );
    assert_eq!(
        filter_of("where not a = 1 and b = 2"),
        Expr::And(vec![Expr::Not(Box::new(cmp("a", 1))), cmp("b", 2)])
    );
    assert_eq!(
        filter_of("where (a = 1 or b = 2) and c = 3"),
        Expr::And(vec![Expr::Or(vec![cmp("a", 1), cmp("b", 2)]), cmp("c", 3)])
    );
    // Chains flatten.
    assert_eq!(
        filter_of("where a = 1 and (b = 2 and c = 3)"),
        Expr::And(vec![cmp("a", 1), cmp("b", 2), cmp("c", 3)])
    );
}

#[test]
fn between_takes_its_own_and() {
    let parsed = filter_of("where a between 1 and 5 and b = 2");
    assert!(
        matches!(&parsed, Expr::And(items) if items.len() == 2 && matches!(items[0], Expr::Between { .. }))
    );
}

#[test]
fn keywords_are_case_insensitive_and_comments_go_anywhere() {
    let a = parse_statement("SELECT a FROM t WHERE a = 1 ORDER BY a DESC LIMIT 2").unwrap();
    let b = parse_statement(
        "select a -- the field\nfrom t where -- a comment\n a = 1 order by a desc limit 2 -- end",
    )
    .unwrap();
    assert_eq!(a, b);
}

#[test]
fn strings_take_both_quotes_and_json_escapes() {
    let expected = Expr::Compare {
        subject: Operand::Path(Path::field("s")),
        op: CompareOp::Eq,
        value: Operand::Value(Value::from("it's \"x\"\n\u{e9}\u{1F600}")),
    };
    assert_eq!(
        filter_of(r#"where s = 'it\'s "x"\n\u00e9\ud83d\ude00'"#),
        expected
    );
    assert_eq!(filter_of(r#"where s = "it's \"x\"\n\u00e9😀""#), expected);
}

#[test]
fn parameters_by_position_and_name() {
    match filter_of("where a = $1 and b in [$name, 2]") {
        Expr::And(items) => {
            assert!(matches!(
                &items[0],
                Expr::Compare {
                    value: Operand::Param(Param::Position(1)),
                    ..
                }
            ));
            assert!(
                matches!(&items[1], Expr::In { values, .. } if values[0] == Operand::Param(Param::Named("name".into())))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(parse("where a = $0").is_err());
}

#[test]
fn reserved_words_need_backticks_as_field_names_and_print_with_them() {
    assert!(parse("where order = 1").is_err());
    let statement = parse_statement("where `order` = 1 order by `limit`").unwrap();
    assert_eq!(statement.to_string(), "where `order` = 1 order by `limit`");
    // Ordinary words that are keywords elsewhere are fine.
    parse_statement("where count = 1 and date = 2 and index = 3 and name = 4").unwrap();
}

#[test]
fn numbers_are_integers_unless_written_as_floats() {
    assert_eq!(
        filter_of("where a = -7"),
        Expr::Compare {
            subject: Operand::Path(Path::field("a")),
            op: CompareOp::Eq,
            value: Operand::Value(Value::Int(-7))
        }
    );
    match filter_of("where a = 1.0") {
        Expr::Compare {
            value: Operand::Value(Value::Float(f)),
            ..
        } => assert_eq!(f, 1.0),
        other => panic!("{other:?}"),
    }
    assert!(parse("where a = 1e999").is_err());
}

#[test]
fn hostile_nesting_is_refused_without_overflowing_the_stack() {
    let deep = format!("where {}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
    let err = parse(&deep).unwrap_err();
    assert!(err.message.contains("nesting deeper than 64"), "{err}");
    let nots = format!("where {}a = 1", "not ".repeat(10_000));
    assert!(parse(&nots).unwrap_err().message.contains("nesting deeper"));
    let arrays = format!(
        "insert into t {{a: {}1{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(parse(&arrays).is_err());
    let huge = format!("where a = \"{}\"", "x".repeat(2 << 20));
    assert!(parse(&huge).unwrap_err().message.contains("at most"));
    // Long flat chains are fine.
    let chain = vec!["a = 1"; 5_000].join(" and ");
    assert!(parse(&format!("where {chain}")).is_ok());
}

#[test]
fn incomplete_input_is_recognised_for_the_shell() {
    for text in [
        "where a = 1 and",
        "where a in [1,",
        "insert into t {a: 'x",
        "where (a = 1",
        "select a,",
        "from t where",
        "where a =",
        "count by",
    ] {
        assert!(is_incomplete(text), "{text}");
    }
    for text in [
        "where a = 1",
        "count",
        "from t where a = 'and'",
        "where a = 1 -- and",
        "",
        "where band = 1",
    ] {
        assert!(!is_incomplete(text), "{text}");
    }
}

#[test]
fn statements_split_at_top_level_semicolons_only() {
    let text = "insert into t {a: ';'}; -- x; y\n count ;; from t where a = \"a;b\"";
    let parts: Vec<&str> = split_statements(text)
        .into_iter()
        .map(|r| &text[r])
        .collect();
    assert_eq!(
        parts,
        [
            "insert into t {a: ';'}",
            "count",
            "from t where a = \"a;b\""
        ]
    );
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let path = prop::sample::select(vec!["a", "b.c", "d[0]", "`odd name`", "`order`"])
        .prop_map(|p| p.parse::<Path>().unwrap());
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-1e6f64..1e6).prop_map(Value::Float),
        "[ -~\\n\\u{e9}]{0,6}".prop_map(Value::String),
    ];
    let operand = prop_oneof![
        4 => value.clone().prop_map(Operand::Value),
        1 => (1usize..9).prop_map(|n| Operand::Param(Param::Position(n))),
        1 => "[a-z]{1,5}".prop_map(|n| Operand::Param(Param::Named(n))),
    ];
    let op = prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
    ]);
    // Operands: leaves, arithmetic, `||`, negated paths and calls (whose arguments are any
    // operand), each printed and read back.
    let leaf_operand = prop_oneof![
        3 => operand.clone(),
        3 => path.clone().prop_map(Operand::Path),
    ];
    let subject = leaf_operand.prop_recursive(3, 12, 3, |inner| {
        let arithmetic = prop::sample::select(vec![
            BinaryOp::Add,
            BinaryOp::Subtract,
            BinaryOp::Multiply,
            BinaryOp::Divide,
            BinaryOp::Remainder,
            BinaryOp::Concat,
        ]);
        let function = prop::sample::select(Function::ALL.to_vec());
        prop_oneof![
            (arithmetic, inner.clone(), inner.clone()).prop_map(|(op, l, r)| Operand::Binary {
                op,
                left: Box::new(l),
                right: Box::new(r)
            }),
            (function, prop::collection::vec(inner.clone(), 3)).prop_map(
                |((f, _, min, max), args)| {
                    let n = min.max(max.min(args.len()));
                    Operand::Call {
                        function: f,
                        args: args.into_iter().cycle().take(n).collect(),
                    }
                }
            ),
            inner
                .prop_filter("a negated literal reads back as one number", |o| {
                    !matches!(o, Operand::Value(_))
                })
                .prop_map(|o| Operand::Negate(Box::new(o))),
        ]
    });
    let leaf = prop_oneof![
        (subject.clone(), op, subject.clone()).prop_map(|(subject, op, value)| Expr::Compare {
            subject,
            op,
            value
        }),
        (
            subject.clone(),
            prop::collection::vec(operand.clone(), 0..3),
            any::<bool>()
        )
            .prop_map(|(subject, values, negated)| Expr::In {
                subject,
                values,
                negated
            }),
        (subject.clone(), operand.clone(), operand.clone())
            .prop_map(|(subject, low, high)| Expr::Between { subject, low, high }),
        (subject.clone(), operand.clone())
            .prop_map(|(subject, value)| Expr::Contains { subject, value }),
        (subject.clone(), "[a-z]{0,3}").prop_map(|(subject, p)| Expr::StartsWith {
            subject,
            prefix: Operand::Value(Value::String(p))
        }),
        path.clone().prop_map(|path| Expr::Exists { path }),
        (subject, any::<bool>()).prop_map(|(subject, negated)| Expr::IsNull { subject, negated }),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// Parsing flattens nested and/or; do the same to a generated tree before comparing.
fn normalise(e: Expr) -> Expr {
    match e {
        Expr::And(items) | Expr::Or(items) if items.is_empty() => unreachable!(),
        Expr::And(items) => Expr::And(
            items
                .into_iter()
                .map(normalise)
                .flat_map(|i| match i {
                    Expr::And(inner) => inner,
                    other => vec![other],
                })
                .collect(),
        ),
        Expr::Or(items) => Expr::Or(
            items
                .into_iter()
                .map(normalise)
                .flat_map(|i| match i {
                    Expr::Or(inner) => inner,
                    other => vec![other],
                })
                .collect(),
        ),
        Expr::Not(inner) => Expr::Not(Box::new(normalise(*inner))),
        other => other,
    }
}

const VALID: &[&str] = &[
    "from articles where org = \"ICC\" and year >= 2020 order by date desc limit 10",
    "insert into t [{a: 1, b: [1, 2, {c: 'x'}]}, {}]",
    "update t set a.b = 1, c = $x unset d where e in [1, 2] or not f is null",
    "count from t where a between 1 and 2 by b",
    "explain analyze select a, b from t where c matches \"^x\" offset 2 limit 3",
    "create unique index on t (a, b.c); drop index t_a; show fields of t",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn printed_trees_parse_back_to_themselves(e in arb_expr()) {
        let statement = Statement::Query(Query { filter: Some(normalise(e)), ..Query::default() });
        let text = statement.to_string();
        let again = parse_statement(&text);
        prop_assert!(again.is_ok(), "{}: {:?}", text, again);
        prop_assert_eq!(again.unwrap(), statement, "{}", text);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,80}") {
        let _ = parse(&text);
        let _ = is_incomplete(&text);
        let _ = split_statements(&text);
    }

    #[test]
    fn mutated_statements_never_panic(pick in 0..VALID.len(), at in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>(), insert in "[-()\\[\\]{}'\"`$;,.=<>!a-z0-9 \\\\]{0,4}") {
        let base = VALID[pick];
        let chars: Vec<char> = base.chars().collect();
        let i = at.index(chars.len());
        let j = (i + cut.index(5)).min(chars.len());
        let mutated: String = chars[..i].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(chars[j..].iter()).collect();
        if let Err(err) = parse(&mutated) {
            let rendered = err.render(&mutated, Some("m.qry"));
            prop_assert!(rendered.contains('^'));
        }
    }
}
