//! The language's golden tests: every `.qry` script below `tests/scripts/` runs on a fresh
//! database and must print exactly its expected blocks. `QUARRY_UPDATE=1 cargo test --test
//! scripts` rewrites them.

#[test]
fn golden_scripts_print_their_expected_output() {
    quarry::script::assert_scripts(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts"));
}
