//! Helpers shared by the integration tests.

/// Cases per property test: `default`, or `PROPTEST_CASES` for a longer run.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
