//! The article importer against a corpus written for quarry (`tests/article_corpus/`): 50
//! articles in 14 layouts and 5 languages, each with the fields it should give. Fails below
//! 95% of expected fields right, printing the accuracy per field (the README shows this table).

use std::collections::BTreeMap;

use quarry::import::article::parse_article;
use serde_json::Value as Json;

const FIELDS: [&str; 7] = [
    "title", "date", "org", "location", "author", "tags", "language",
];

#[test]
fn the_importer_reads_at_least_95_percent_of_the_corpus_fields_right() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/article_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "the corpus has {} articles", files.len());
    let mut right: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in &files {
        let expected: Json =
            serde_json::from_str(&std::fs::read_to_string(file.with_extension("json")).unwrap())
                .unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let got = parse_article(&std::fs::read(file).unwrap(), &name).unwrap();
        let doc = serde_json::to_value(got.article.to_value()).unwrap();
        for field in FIELDS {
            let (hits, total) = right.entry(field).or_default();
            *total += 1;
            if doc[field] == expected[field] {
                *hits += 1;
            } else {
                wrong.push(format!(
                    "{name}: {field} = {} (expected {})",
                    doc[field], expected[field]
                ));
            }
        }
    }
    let (hits, total) = right.values().fold((0, 0), |(h, t), (a, b)| (h + a, t + b));
    let mut table = String::from("| field | right |\n|---|---|\n");
    for (field, (h, t)) in &right {
        table.push_str(&format!(
            "| {field} | {h}/{t} ({:.0}%) |\n",
            100.0 * *h as f64 / *t as f64
        ));
    }
    table.push_str(&format!(
        "| all | {hits}/{total} ({:.1}%) |\n",
        100.0 * hits as f64 / total as f64
    ));
    eprintln!("{table}");
    for line in &wrong {
        eprintln!("{line}");
    }
    assert!(
        hits * 100 >= total * 95,
        "{hits} of {total} fields right, below 95%:\n{table}\n{}",
        wrong.join("\n")
    );
}
