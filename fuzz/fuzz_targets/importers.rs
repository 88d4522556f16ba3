//! Any bytes, read as NDJSON, JSON, CSV and as an article: records or errors, never a panic.
#![no_main]

use quarry::import::article;
use quarry::internals::read;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let mut keep = |_: read::Record| true;
    let _ = read::ndjson("f", bytes, &mut keep);
    let _ = read::json("f", bytes, &mut keep);
    if let Ok((_, columns)) = read::csv_columns(bytes) {
        let typed = read::CsvTypes { columns: Some(columns), empty_as_null: false };
        let _ = read::csv("f", bytes, &typed, &mut keep);
    }
    let _ = read::csv("f", bytes, &read::CsvTypes::default(), &mut keep);
    let _ = article::parse_article(bytes, "f.txt");
});
