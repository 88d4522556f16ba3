//! The words of the language, in one place: keywords, the reserved words that cannot be bare
//! field names, and the identifier rule shared by field names, collection names and keywords.
//!
//! Invariant: every reserved word is a keyword, and a name that [`is_identifier`] accepts and
//! [`is_reserved`] rejects is written bare by paths and read back as the same field.

/// Every keyword of the language (for completion and highlighting).
pub(crate) const KEYWORDS: &[&str] = &[
    "select",
    "distinct",
    "as",
    "from",
    "where",
    "group",
    "having",
    "order",
    "by",
    "asc",
    "desc",
    "limit",
    "offset",
    "count",
    "insert",
    "into",
    "update",
    "set",
    "unset",
    "delete",
    "all",
    "create",
    "unique",
    "index",
    "on",
    "drop",
    "collection",
    "use",
    "show",
    "collections",
    "indexes",
    "fields",
    "of",
    "explain",
    "analyze",
    "sql",
    "import",
    "begin",
    "commit",
    "rollback",
    "transaction",
    "format",
    "and",
    "or",
    "not",
    "in",
    "between",
    "contains",
    "starts",
    "with",
    "matches",
    "exists",
    "has",
    "is",
    "null",
    "true",
    "false",
];

/// Words that cannot be bare field names (quote them with backticks: `` `order` ``).
pub(crate) const RESERVED: &[&str] = &[
    "select", "from", "where", "order", "by", "asc", "desc", "limit", "offset", "and", "or", "not",
    "in", "between", "contains", "starts", "matches", "exists", "is", "null", "true", "false",
    "set", "unset", "all", "group", "having", "distinct", "as",
];

/// Whether `c` may start an identifier: `letter | "_"`.
pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

/// Whether `c` may continue an identifier: `letter | digit | "_"`.
pub(crate) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `name` is an identifier: `(letter | "_") { letter | digit | "_" }`.
pub(crate) fn is_identifier(name: &str) -> bool {
    name.starts_with(is_ident_start) && name.chars().all(is_ident_char)
}

/// Whether `word` is reserved, in any case.
pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reserved_word_is_a_keyword() {
        for word in RESERVED {
            assert!(KEYWORDS.contains(word), "{word}");
        }
    }

    #[test]
    fn identifiers_are_letters_digits_and_underscores_not_starting_with_a_digit() {
        assert!(is_identifier("_a1") && is_identifier("Org"));
        assert!(!is_identifier("1a") && !is_identifier("a-b") && !is_identifier(""));
        assert!(is_reserved("ORDER") && !is_reserved("org"));
    }
}
