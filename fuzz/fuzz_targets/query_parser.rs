//! Any text: the parser answers with statements or a located error, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Err(err) = quarry::query::parse(text) {
        let _ = err.render(text, Some("fuzz.qry"));
    }
    let _ = quarry::query::is_incomplete(text);
    let _ = quarry::query::split_statements(text);
});
