//! Import and export: every format and option, all-or-nothing on a bad record and on a killed
//! process, upserts by key, skipped records, and export → import round trips.

mod common;
use common::cases;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use quarry::export::{ExportFormat, export};
use quarry::import::{Format, ImportOptions, import_files};
use quarry::{Db, Value};
use serde_json::json;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(name)
}

fn docs(db: &Db, collection: &str) -> Vec<Value> {
    db.collection(collection)
        .unwrap()
        .iter()
        .map(|d| d.unwrap().1)
        .collect()
}

fn without_id(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Value::Object(fields) = &mut doc {
        fields.shift_remove("_id");
    }
    doc
}

#[test]
fn every_format_by_extension_and_by_name() {
    let db = Db::temporary().unwrap();
    let opts = ImportOptions::default();
    assert_eq!(
        import_files(&db, "posts", &[data("articles.ndjson")], &opts)
            .unwrap()
            .count,
        20
    );
    assert_eq!(
        import_files(&db, "articles", &[data("articles")], &opts)
            .unwrap()
            .count,
        15
    );
    let people = import_files(&db, "people", &[data("people.csv")], &opts).unwrap();
    assert_eq!(people.count, 12);
    let first = &docs(&db, "people")[0];
    assert_eq!(first.get("age"), Some(&Value::Int(34)));
    assert_eq!(first.get("active"), Some(&Value::Bool(true)));
    assert_eq!(
        first.get("address").and_then(|a| a.get("city")),
        Some(&Value::from("Suva"))
    );
    // A JSON array, streamed element by element, and a single JSON object.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), "[{\"a\": 1}, {\"a\": 2}]").unwrap();
    std::fs::write(dir.path().join("one.json"), "{\"a\": 3}").unwrap();
    let done = import_files(
        &db,
        "j",
        &[dir.path().join("a.json"), dir.path().join("one.json")],
        &opts,
    )
    .unwrap();
    assert_eq!(done.count, 3);
    // A format given by name overrides the extension.
    std::fs::write(dir.path().join("x.txt"), "{\"a\": 1}\n{\"a\": 2}\n").unwrap();
    let forced = ImportOptions {
        format: Some(Format::Ndjson),
        ..ImportOptions::default()
    };
    assert_eq!(
        import_files(&db, "forced", &[dir.path().join("x.txt")], &forced)
            .unwrap()
            .count,
        2
    );
}

#[test]
fn csv_without_inference_keeps_strings() {
    let db = Db::temporary().unwrap();
    let opts = ImportOptions {
        infer_types: false,
        ..ImportOptions::default()
    };
    import_files(&db, "people", &[data("people.csv")], &opts).unwrap();
    assert_eq!(docs(&db, "people")[0].get("age"), Some(&Value::from("34")));
}

#[test]
fn a_bad_record_in_the_middle_leaves_everything_as_it_was() {
    let db = Db::temporary().unwrap();
    let c = db.collection("c").unwrap();
    c.create_unique_index(&["k"]).unwrap();
    c.create_index(&["g"]).unwrap();
    c.insert_many((0..50).map(|i| json!({"k": -i - 1, "g": i % 3})))
        .unwrap();
    let before = docs(&db, "c");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.ndjson");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    for i in 0..10_000 {
        if i == 5_000 {
            writeln!(out, "{{\"k\": {i}, \"g\": oops}}").unwrap();
        } else {
            writeln!(out, "{{\"k\": {i}, \"g\": {}}}", i % 3).unwrap();
        }
    }
    drop(out);
    let err = import_files(
        &db,
        "c",
        std::slice::from_ref(&file),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("big.ndjson:5001: expected value"),
        "{err}"
    );
    assert_eq!(docs(&db, "c"), before);
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.index_entries, 100);
    // A unique clash with an existing document also leaves nothing behind.
    std::fs::write(&file, "{\"k\": 1}\n{\"k\": -3}\n").unwrap();
    assert!(import_files(&db, "c", &[file], &ImportOptions::default()).is_err());
    assert_eq!(docs(&db, "c"), before);
}

#[test]
fn a_failed_import_into_a_new_collection_leaves_no_collection() {
    let db = Db::temporary().unwrap();
    db.collection("kept").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.ndjson");
    std::fs::write(&file, "{\"a\": 1}\n{\"a\": oops}\n").unwrap();
    assert!(
        import_files(
            &db,
            "fresh",
            std::slice::from_ref(&file),
            &ImportOptions::default()
        )
        .is_err()
    );
    assert_eq!(db.collections(), ["kept"]);
    // A collection that was there before stays, empty or not.
    assert!(import_files(&db, "kept", &[file], &ImportOptions::default()).is_err());
    assert_eq!(db.collections(), ["kept"]);
}

#[test]
fn skip_invalid_lists_the_bad_records() {
    let db = Db::temporary().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.ndjson");
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(if i % 2 == 0 {
            "{\"ok\": true}\n"
        } else {
            "[1, 2]\n"
        });
    }
    std::fs::write(&file, text).unwrap();
    let opts = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let done = import_files(&db, "m", &[file], &opts).unwrap();
    assert_eq!((done.count, done.skipped.len()), (15, 15));
    let summary = done.to_string();
    assert!(summary.contains("skipped 15 invalid records:"), "{summary}");
    assert!(
        summary.contains("mixed.ndjson:2: a document must be an object"),
        "{summary}"
    );
    assert!(summary.contains("… and 5 more"), "{summary}");
}

#[test]
fn importing_again_with_a_key_replaces_instead_of_duplicating() {
    let db = Db::temporary().unwrap();
    let key = ImportOptions {
        key: Some("id".parse().unwrap()),
        ..ImportOptions::default()
    };
    import_files(&db, "people", &[data("people.csv")], &key).unwrap();
    let first = docs(&db, "people");
    let again = import_files(&db, "people", &[data("people.csv")], &key).unwrap();
    assert_eq!((again.count, again.replaced), (0, 12));
    assert_eq!(docs(&db, "people"), first, "same documents, same ids");
}

#[test]
fn killing_an_import_half_way_leaves_the_collection_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kill.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["n"]).unwrap();
        c.insert_many((0..10).map(|i| json!({"n": -i}))).unwrap();
        db.flush().unwrap();
    }
    let file = dir.path().join("huge.ndjson");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    for i in 0..400_000 {
        writeln!(out, "{{\"n\": {i}, \"text\": \"{}\"}}", "x".repeat(40)).unwrap();
    }
    drop(out);
    let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(["import", "--db"])
        .arg(&path)
        .args(["c"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let finished = child.try_wait().unwrap().is_some();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !finished,
        "the import finished before it could be killed: make the file bigger"
    );
    let db = Db::open(&path).unwrap();
    assert_eq!(db.collection("c").unwrap().len().unwrap(), 10);
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.index_entries, 10);
}

#[test]
fn export_formats_and_where() {
    let db = Db::temporary().unwrap();
    db.execute("insert into t [{a: 1, n: {x: 1}}, {a: 2, tags: [1, 2]}]")
        .unwrap();
    let text = |format, filter| {
        let mut out = Vec::new();
        export(&db, "t", format, filter, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    assert_eq!(
        text(ExportFormat::Ndjson, Some("a = 2")),
        "{\"_id\":2,\"a\":2,\"tags\":[1,2]}\n"
    );
    assert_eq!(
        text(ExportFormat::Json, None),
        "[\n{\"_id\":1,\"a\":1,\"n\":{\"x\":1}},\n{\"_id\":2,\"a\":2,\"tags\":[1,2]}\n]\n"
    );
    assert_eq!(
        text(ExportFormat::Csv, None),
        "_id,a,n.x,tags\n1,1,1,\n2,2,,\"[1,2]\"\n"
    );
    assert_eq!(text(ExportFormat::Json, Some("a > 5")), "[]\n");
    let mut out = Vec::new();
    assert!(export(&db, "nope", ExportFormat::Json, None, &mut out).is_err());
}

fn document() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|i| json!(i)),
        (-1e9f64..1e9).prop_map(|f| json!(f)),
        "[ -~é\\n\"]{0,8}".prop_map(|s| json!(s)),
    ];
    let value = leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!(v)),
            prop::collection::btree_map("[a-z]{1,3}", inner, 1..3).prop_map(|m| json!(m)),
        ]
    });
    prop::collection::btree_map("[a-z]{1,4}", value, 0..4).prop_map(|m| json!(m))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn export_then_import_gives_back_identical_documents(batch in prop::collection::vec(document(), 1..12)) {
        let db = Db::temporary().unwrap();
        db.collection("src").unwrap().insert_many(batch).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (format, name) in [(ExportFormat::Ndjson, "x.ndjson"), (ExportFormat::Json, "x.json")] {
            let file = dir.path().join(name);
            let mut out = std::fs::File::create(&file).unwrap();
            export(&db, "src", format, None, &mut out).unwrap();
            let target = format!("copy_{}", name.replace('.', "_"));
            import_files(&db, &target, &[file], &ImportOptions::default()).unwrap();
            // Ids are assigned afresh (from 1, so the same here); the documents are identical.
            let original: Vec<String> = docs(&db, "src").iter().map(|d| without_id(d).to_string()).collect();
            let copy: Vec<String> = docs(&db, &target).iter().map(|d| without_id(d).to_string()).collect();
            prop_assert_eq!(&copy, &original);
            prop_assert_eq!(docs(&db, &target), docs(&db, "src"));
        }
    }
}

/// Documents whose fields all reach CSV and back: no nulls, empty strings or empty objects,
/// which a CSV file cannot tell from a missing field.
fn csv_document() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(|b| json!(b)),
        any::<i32>().prop_map(|i| json!(i)),
        "[a-z0-9 ]{1,6}".prop_map(|s| json!(s)),
        prop::collection::vec(any::<u8>(), 0..3).prop_map(|v| json!(v)),
    ];
    let value = prop_oneof![
        3 => leaf.clone(),
        1 => prop::collection::btree_map("[a-c]", leaf, 1..3).prop_map(|m| json!(m)),
    ];
    prop::collection::btree_map("[a-e]", value, 0..4).prop_map(|m| json!(m))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_csv_round_trip_keeps_which_fields_exist(batch in prop::collection::vec(csv_document(), 1..12)) {
        let db = Db::temporary().unwrap();
        db.collection("src").unwrap().insert_many(batch).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.csv");
        let mut out = std::fs::File::create(&file).unwrap();
        export(&db, "src", ExportFormat::Csv, None, &mut out).unwrap();
        drop(out);
        import_files(&db, "back", std::slice::from_ref(&file), &ImportOptions::default()).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let header = text.lines().next().unwrap_or_default();
        for column in header.split(',').filter(|c| !c.is_empty() && *c != "_id") {
            let count = |c: &str| -> u64 {
                match &db.execute(&format!("count from {c} where exists {column}")).unwrap()[0] {
                    quarry::query::Output::Count(n) => *n,
                    other => panic!("{other:?}"),
                }
            };
            prop_assert_eq!(count("src"), count("back"), "exists {}\n{}", column, text);
        }
    }
}

#[test]
fn csv_columns_are_typed_from_all_their_cells_and_empty_cells_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("countries.csv");
    std::fs::write(
        &file,
        "name,ccn3,area,landlocked,borders\nFrance,250,551695,false,\"[\"\"ESP\"\"]\"\nAntarctica,010,,,[]\n",
    )
    .unwrap();
    let db = Db::temporary().unwrap();
    let done = import_files(
        &db,
        "c",
        std::slice::from_ref(&file),
        &ImportOptions::default(),
    )
    .unwrap();
    let summary = done.to_string();
    assert!(
        summary.contains("countries.csv: ccn3 string")
            && summary.contains("countries.csv: area number")
            && summary.contains("countries.csv: landlocked bool")
            && summary.contains("countries.csv: borders json"),
        "{summary}"
    );
    let count = |q: &str| -> Value {
        let out = db.execute(&format!("count from c where {q}")).unwrap();
        Value::from(out[0].to_string().trim())
    };
    // One column, one type: a code with a leading zero keeps the whole column strings.
    assert_eq!(count(r#"ccn3 = "250""#), Value::from("1"));
    assert_eq!(count("ccn3 = 250"), Value::from("0"));
    assert_eq!(count(r#"ccn3 = "010""#), Value::from("1"));
    // An empty cell is a missing field, not null.
    assert_eq!(count("exists area"), Value::from("1"));
    assert_eq!(count("exists landlocked"), Value::from("1"));
    // Asked for, an empty cell is null.
    let options = ImportOptions {
        empty_as_null: true,
        ..ImportOptions::default()
    };
    import_files(&db, "n", &[file], &options).unwrap();
    let out = db.execute("count from n where exists area").unwrap();
    assert_eq!(out[0].to_string().trim(), "2");
}

#[test]
fn csv_export_writes_an_object_used_as_a_map_as_one_json_column() {
    let db = Db::temporary().unwrap();
    let codes = [
        "EUR", "USD", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON",
    ];
    db.collection("countries")
        .unwrap()
        .insert_many(codes.iter().enumerate().map(|(i, code)| {
            json!({"name": {"common": format!("C{i}")}, "currencies": {*code: {"name": "money"}}})
        }))
        .unwrap();
    let mut out = Vec::new();
    export(&db, "countries", ExportFormat::Csv, None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().next().unwrap(), "_id,name.common,currencies");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("countries.csv");
    std::fs::write(&file, &text).unwrap();
    import_files(&db, "back", &[file], &ImportOptions::default()).unwrap();
    for db_name in ["countries", "back"] {
        let out = db
            .execute(&format!("count from {db_name} where exists currencies.EUR"))
            .unwrap();
        assert_eq!(out[0].to_string().trim(), "1", "{db_name}");
    }
}
