//! The grammar's own examples: every statement in `grammar/examples/` parses (and prints back
//! to text that parses to the same tree); every file in `grammar/errors/` fails with exactly
//! the error written below its `----` line. `QUARRY_UPDATE=1` rewrites those expectations.

use std::fs;
use std::path::Path;

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "qry"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_parses_and_prints_back_to_the_same_tree() {
    let mut count = 0;
    for file in files("grammar/examples") {
        let text = fs::read_to_string(&file).unwrap();
        let statements = quarry::query::parse(&text)
            .unwrap_or_else(|e| panic!("{}:\n{}", file.display(), e.render(&text, None)));
        for statement in statements {
            let printed = statement.to_string();
            let again = quarry::query::parse_statement(&printed)
                .unwrap_or_else(|e| panic!("{printed}\n{}", e.render(&printed, None)));
            assert_eq!(again, statement, "{printed}");
            count += 1;
        }
    }
    assert!(count >= 80, "only {count} example statements");
}

#[test]
fn every_error_example_fails_with_its_message() {
    let update = std::env::var("QUARRY_UPDATE").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for file in files("grammar/errors") {
        let text = fs::read_to_string(&file).unwrap();
        let (statement, expected) = match text.split_once("\n----\n") {
            Some((s, e)) => (s.to_owned(), Some(e.to_owned())),
            None => (text.trim_end().to_owned(), None),
        };
        let actual = match quarry::query::parse(&statement) {
            Ok(parsed) => format!("parsed: {parsed:?}\n"),
            Err(err) => err.render(&statement, None),
        };
        if update {
            fs::write(&file, format!("{statement}\n----\n{actual}")).unwrap();
        } else if expected.as_deref() != Some(actual.as_str()) {
            failures.push(format!(
                "{}:\nexpected:\n{}\nactual:\n{actual}",
                file.display(),
                expected.unwrap_or_default()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
