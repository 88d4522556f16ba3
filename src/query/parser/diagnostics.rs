//! Turning a parse failure into a [`ParseError`]: where, what was expected, and a suggestion
//! only where one fits; the limits on a statement's size and nesting.

use nom::Parser;

use super::{MAX_NESTING, MAX_TEXT};
use crate::error::ParseError;
use crate::lexicon::{KEYWORDS, is_ident_char, is_reserved};

use super::lexing::*;
use super::split::Scanner;

pub(super) const VALUE_HELP: &str = "a string, number, true, false, null, [...] or $param";
pub(super) const OPERATORS: &str =
    "=, !=, <, <=, >, >=, in, not in, between, contains, starts with, matches, is null";

/// The nearest keyword to the word at `at`, if it is at most `max` edits away (and at most
/// one for short keywords).
pub(super) fn suggestion(at: &str, max: usize) -> Option<String> {
    let word: String = at.chars().take_while(|c| is_ident_char(*c)).collect();
    if word.len() < 2 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    if KEYWORDS.contains(&lower.as_str()) {
        return None;
    }
    KEYWORDS
        .iter()
        .map(|k| (strsim::damerau_levenshtein(k, &lower), *k))
        .filter(|(d, k)| *d <= if k.len() <= 4 { 1 } else { max })
        .min()
        .map(|(_, k)| format!("did you mean `{k}`?"))
}

/// Checks size and nesting before parsing, so hostile input cannot exhaust the stack.
pub(super) fn check_limits(text: &str) -> Result<(), ParseError> {
    if text.len() > MAX_TEXT {
        return Err(ParseError::at(
            text,
            0,
            format!(
                "the statement text is {} bytes; at most {MAX_TEXT} are accepted",
                text.len()
            ),
            None,
        ));
    }
    let mut depth = 0usize;
    let mut scan = Scanner::new(text);
    while let Some((i, c, _)) = scan.next_code() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(ParseError::at(
                        text,
                        i,
                        format!("nesting deeper than {MAX_NESTING} levels"),
                        None,
                    ));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Whether `word` (followed by `rest`) begins a clause, as in `select from t` where the
/// fields were left out, rather than naming a field.
pub(super) fn starts_a_clause(word: &str, rest: &str) -> bool {
    let word = word.to_ascii_lowercase();
    match word.as_str() {
        "from" | "where" | "limit" | "offset" | "select" => true,
        "order" => kw("by").parse(rest).is_ok(),
        _ => false,
    }
}

pub(super) fn to_error(text: &str, err: nom::Err<Failure<'_>>) -> ParseError {
    let failure = match err {
        nom::Err::Error(f) | nom::Err::Failure(f) => f,
        nom::Err::Incomplete(_) => Failure {
            input: "",
            message: None,
            related: None,
        },
    };
    let offset = text.len() - failure.input.len();
    // A keyword suggestion where any word could stand, or a near miss where one was expected.
    let open_ended = failure
        .message
        .as_ref()
        .is_none_or(|m| m.starts_with("expected a statement"));
    let word: String = failure
        .input
        .chars()
        .take_while(|c| is_ident_char(*c))
        .collect();
    let reserved_field = failure
        .message
        .as_ref()
        .is_some_and(|m| m.contains("field path") || m.contains("condition"))
        && is_reserved(&word)
        && !starts_a_clause(&word, &failure.input[word.len()..]);
    let hint = if reserved_field {
        Some(format!(
            "`{word}` is a reserved word: quote it in backticks to use it as a field name"
        ))
    } else {
        suggestion(failure.input, if open_ended { 2 } else { 1 })
    };
    let mut message = failure.message.unwrap_or_else(|| {
        let token: String = failure
            .input
            .chars()
            .take_while(|c| !c.is_whitespace())
            .take(20)
            .collect();
        if token.is_empty() {
            "unexpected end of input".to_owned()
        } else {
            format!("unexpected `{token}`")
        }
    });
    if let Some(related) = failure.related {
        let at = ParseError::at(text, text.len() - related.len(), String::new(), None);
        message.push_str(&format!(
            " opened at line {}, column {}",
            at.line, at.column
        ));
    }
    ParseError::at(text, offset, message, hint)
}
