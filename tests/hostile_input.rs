//! Hostile input: each is refused with a clear error or handled within bounds — never a
//! panic, a hang or a stack overflow.

use std::io::Write;

use quarry::import::{ImportOptions, import_files};
use quarry::{Db, Error, Value};

#[test]
fn json_nested_100000_levels_is_refused_on_import() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.ndjson");
    let mut out = std::fs::File::create(&file).unwrap();
    writeln!(
        out,
        "{{\"a\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    )
    .unwrap();
    drop(out);
    let db = Db::temporary().unwrap();
    let err = import_files(&db, "d", &[file], &ImportOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("deep.ndjson:1: recursion limit exceeded"),
        "{err}"
    );
    assert!(db.get_collection("d").is_none_or(|c| c.is_empty().unwrap()));
}

/// A value nested `depth` levels, built and torn down without recursion.
struct Deep(usize);

impl serde::Serialize for Deep {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(1))?;
        if self.0 == 0 {
            seq.serialize_element(&1)?;
        } else {
            seq.serialize_element(&Deep(self.0 - 1))?;
        }
        seq.end()
    }
}

#[test]
fn a_deeply_nested_value_from_rust_is_refused_before_it_overflows() {
    #[derive(serde::Serialize)]
    struct Doc {
        deep: Deep,
    }
    let db = Db::temporary().unwrap();
    let err = db
        .collection("d")
        .unwrap()
        .insert(&Doc {
            deep: Deep(100_000),
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidDocument(_)), "{err}");
    assert!(err.to_string().contains("deeper than 128"), "{err}");
    // 100 levels are fine.
    db.collection("d")
        .unwrap()
        .insert(&Doc { deep: Deep(100) })
        .unwrap();
}

#[test]
fn a_statement_nested_10000_levels_is_refused() {
    let db = Db::temporary().unwrap();
    let text = format!("where {}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
    let err = db.execute(&text).unwrap_err();
    assert!(err.to_string().contains("nesting deeper than 64"), "{err}");
}

#[test]
fn an_expression_of_a_hundred_thousand_operators_is_refused_not_a_stack_overflow() {
    let db = Db::temporary().unwrap();
    db.execute("insert into t {a: 1}").unwrap();
    for op in ["+", "||", "*"] {
        let chain = vec!["a"; 100_000].join(&format!(" {op} "));
        for statement in [
            format!("select {chain} as x from t"),
            format!("from t where {chain} > 1"),
            format!("update t set b = {chain} where a = 1"),
        ] {
            let err = db.execute(&statement).unwrap_err();
            assert!(err.to_string().contains("deeper than 256 levels"), "{err}");
        }
    }
    // Nested parentheses each holding a long chain add up too.
    let level = format!("a + {}", vec!["a"; 60].join(" + "));
    let nested = (0..10).fold("a".to_owned(), |inner, _| format!("({inner}) + {level}"));
    let err = db.execute(&format!("select {nested} from t")).unwrap_err();
    assert!(err.to_string().contains("deeper than 256 levels"), "{err}");
    // Just under the limit works.
    let chain = vec!["1"; 250].join(" + ");
    let out = db.execute(&format!("select {chain} as n from t")).unwrap();
    assert_eq!(out[0].to_string().matches("250").count(), 1, "{}", out[0]);
}

#[test]
fn a_100_mb_string_is_stored_and_read_back() {
    let db = Db::temporary().unwrap();
    let c = db.collection("big").unwrap();
    let text = "x".repeat(100 << 20);
    let id = c.insert(&serde_json::json!({ "s": text })).unwrap();
    let back = c.get_value(id).unwrap().unwrap();
    assert_eq!(
        back.get("s").and_then(Value::as_str).map(str::len),
        Some(100 << 20)
    );
    // In a statement it is refused: statements are at most 1 MiB.
    let err = db
        .execute(&format!(
            "insert into big {{s: \"{}\"}}",
            "y".repeat(2 << 20)
        ))
        .unwrap_err();
    assert!(err.to_string().contains("at most 1048576"), "{err}");
}

#[test]
fn a_million_element_array_is_stored_but_not_indexed_element_by_element() {
    let db = Db::temporary().unwrap();
    let c = db.collection("arr").unwrap();
    let tags: Vec<i64> = (0..1_000_000).collect();
    // Without an index on it, it is an ordinary (large) document.
    let id = c
        .insert(&serde_json::json!({ "tags": tags, "k": 1 }))
        .unwrap();
    let out = db.execute("count from arr where tags = 999999").unwrap();
    assert_eq!(out[0].to_string(), "1\n");
    // A multikey index would need a million entries for it: refused, with the reason.
    let err = c.create_index(&["tags"]).unwrap_err();
    assert!(
        err.to_string().contains("would need 1000000 entries"),
        "{err}"
    );
    assert!(c.indexes().unwrap().is_empty(), "no partial index is left");
    c.create_index(&["k"]).unwrap();
    assert_eq!(
        c.get_value(id).unwrap().unwrap().get("k"),
        Some(&Value::Int(1))
    );
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[test]
fn a_catastrophic_looking_regex_runs_in_linear_time() {
    let db = Db::temporary().unwrap();
    db.execute(&format!("insert into r {{s: \"{}b\"}}", "a".repeat(50_000)))
        .unwrap();
    // Exponential for backtracking engines; the regex crate guarantees linear time.
    let out = db
        .execute(r#"count from r where s matches "^(a+)+$""#)
        .unwrap();
    assert_eq!(out[0].to_string(), "0\n");
    // A pattern too large to compile is an error, not a memory blow-up.
    let err = db
        .execute(r#"count from r where s matches "(\\w{1000}){1000}""#)
        .unwrap_err();
    assert!(
        err.to_string().contains("invalid regular expression"),
        "{err}"
    );
}

/// Articles built to stress the header readers: a 4 MB line, a file without a newline, ten
/// thousand parentheses before a dash, a front matter fence never closed, every dash and
/// space character, binary: each is read (or refused as binary) without a panic.
#[test]
fn hostile_articles_are_read_or_refused_never_a_panic() {
    use quarry::import::article::parse_article;
    let huge_line = format!(
        "GENEVA, March 3, 2022 (Reuters) - {}",
        "word ".repeat(800_000)
    );
    let no_newline = "Title: x Date: 2021-01-01 By Jane Doe ".repeat(20_000);
    let parentheses = format!("{} – text\nbody", "(".repeat(10_000) + &")".repeat(10_000));
    let unclosed = format!("---\ntitle: x\n{}", "key: value\n".repeat(20_000));
    let dashes = "‐‑‒–—―−-".repeat(1000);
    let spaces = "\u{a0}\u{2000}\u{2001}\u{2002}\u{2003}\u{2009}\u{200a}\u{202f}\u{205f}\u{3000}\t";
    let spaced =
        format!("Berlin,{spaces}14.{spaces}März{spaces}2022{spaces}–{spaces}Text.\n{dashes}");
    let many_lines = "By Jane Doe\n".repeat(50_000);
    for (name, text) in [
        ("huge line", huge_line.as_str()),
        ("no newline", no_newline.as_str()),
        ("parentheses", parentheses.as_str()),
        ("unclosed front matter", unclosed.as_str()),
        ("dashes", dashes.as_str()),
        ("spaces", spaced.as_str()),
        ("many bylines", many_lines.as_str()),
    ] {
        let got =
            parse_article(text.as_bytes(), "hostile.txt").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            got.warnings.iter().all(|w| w.starts_with("hostile.txt")),
            "{name}"
        );
    }
    let spaced = parse_article(spaced.as_bytes(), "s.txt").unwrap().article;
    assert_eq!(
        spaced.date.map(|d| d.to_string()).as_deref(),
        Some("2022-03-14")
    );
    assert_eq!(spaced.location.as_deref(), Some("Berlin"));
    let binary: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    assert!(parse_article(&binary, "b.txt").is_err());
}
