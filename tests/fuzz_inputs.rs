//! Fuzzing by property: the importers' readers, the article reader and the script reader take
//! arbitrary bytes and mutations of valid input without panicking, and bad records come back
//! as errors with their place.

mod common;
use common::cases;

use proptest::prelude::*;
use quarry::import::article;
use quarry::internals::read;

fn collect(
    run: impl FnOnce(&mut dyn FnMut(read::Record) -> bool) -> std::io::Result<()>,
) -> Vec<read::Record> {
    let mut records = Vec::new();
    let _ = run(&mut |record| {
        records.push(record);
        records.len() < 10_000
    });
    records
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ndjson_and_json_readers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for record in collect(|each| read::ndjson("f", &bytes[..], each)) {
            prop_assert!(record.0.starts_with("f:"));
        }
        collect(|each| read::json("f", &bytes[..], each));
    }

    #[test]
    fn json_text_mutations_never_panic(text in r#"[\[\]{}",:0-9a-z \-.eE\\]{0,80}"#) {
        collect(|each| read::json("f", text.as_bytes(), each));
        collect(|each| read::ndjson("f", text.as_bytes(), each));
    }

    #[test]
    fn csv_reader_never_panics(text in "[a-z0-9.,\"\n\r `\\[\\]{}-]{0,120}", infer in any::<bool>(), null in any::<bool>()) {
        let columns = infer.then(|| read::csv_columns(text.as_bytes()).unwrap().1);
        let types = read::CsvTypes { columns, empty_as_null: null };
        for record in collect(|each| read::csv("f", text.as_bytes(), &types, each)) {
            prop_assert!(record.0.starts_with("f:"));
        }
    }

    #[test]
    fn article_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400), text in "[ -~\u{a0}\u{2013}\u{2014}\n]{0,300}") {
        let _ = article::parse_article(&bytes, "x.txt");
        let _ = article::parse_article(text.as_bytes(), "y.txt");
        let dated = format!("03/12/2018 Some Place (Some Organisation Name) – {text}");
        let parsed = article::parse_article(dated.as_bytes(), "z.txt");
        prop_assert!(parsed.is_ok());
    }

    /// Lines built from the pieces the header readers look for (labels, month names in five
    /// languages, every dash and space, parentheses, front-matter fences), in any order.
    #[test]
    fn article_header_readers_never_panic(pieces in prop::collection::vec(prop::sample::select(ARTICLE_PIECES), 0..40)) {
        let text: String = pieces.concat();
        let parsed = article::parse_article(text.as_bytes(), "h.txt");
        if let Ok(got) = parsed {
            prop_assert!(got.warnings.iter().all(|w| w.starts_with("h.txt")));
        }
    }

    #[test]
    fn script_reader_never_panics(text in "[ -~\n]{0,200}") {
        let _ = quarry::internals::script_parse::parse(&text);
        let with_blocks = format!("count\n----\n{text}\n\n.mode json\n{text}");
        let _ = quarry::internals::script_parse::parse(&with_blocks);
    }
}

/// Pieces of article headers: labels, dates, dashes and spaces of every kind.
const ARTICLE_PIECES: &[&str] = &[
    "\n",
    "\n\n",
    "---\n",
    "###",
    "Title: ",
    "Date: ",
    "Author: ",
    "Tags: a, b",
    "title: \"x\"",
    "tags:\n- a\n",
    "By ",
    "Von ",
    "Par ",
    "Por ",
    "Reporting by ",
    "Published: ",
    "Posted on ",
    "Veröffentlicht am ",
    "Publié le ",
    "Publicado el ",
    "FOR IMMEDIATE RELEASE",
    "Home | News",
    "Share | Print",
    "# ",
    "*",
    "GENEVA",
    "Berlin",
    ", ",
    "(",
    ")",
    "(AP)",
    "(Reuters)",
    "Fundación Agua Limpia",
    "March",
    "Oct.",
    "März",
    "mai",
    "junio",
    "março",
    "de",
    "le ",
    "3",
    "14.",
    "3rd",
    "1er",
    "2021",
    "2022-06-09",
    "03/12/2018",
    "02/30/2021",
    "-",
    "--",
    "–",
    "—",
    "‐",
    "‑",
    "‒",
    "―",
    "−",
    "\u{a0}",
    "\u{2009}",
    "\u{202f}",
    "\u{3000}",
    "\t",
    " ",
    "Jane Doe",
    "The Global Water Alliance",
    "(GWA)",
    "said.",
    "é",
    "ß",
    "中文",
];

const TOKENS: &[&str] = &[
    "select", "from", "t", "where", "a", "=", "1", "'x'", "and", "or", "not", "(", ")", "[", "]",
    "{", "}", ",", ":", "insert", "into", "update", "set", "delete", "all", "count", "by", "order",
    "desc", "limit", "2", "create", "index", "on", "unique", "drop", "explain", "analyze",
    "matches", "\"^a\"", "in", "between", "contains", "starts", "with", "exists", "is", "null",
    ";", "\n", "----", ".mode", "json", "$1", "tags", "b.c", "-1.5",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn scripts_of_random_tokens_run_without_panicking(picks in prop::collection::vec(0..TOKENS.len(), 0..60)) {
        let mut text = String::from("insert into t [{a: 1, tags: ['x']}, {a: 'x', b: {c: 2}}]\n");
        for i in picks {
            text.push_str(TOKENS[i]);
            text.push(' ');
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fuzz.qry");
        std::fs::write(&file, &text).unwrap();
        let db = quarry::Db::temporary().unwrap();
        let _ = quarry::script::run_file(&db, &file);
        prop_assert!(db.check().unwrap().is_clean());
    }
}
