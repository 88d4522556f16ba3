//! Turning a parse failure into a [`ParseError`]: where, what was expected, and a suggestion
//! only where one fits; the limits on a statement's size and nesting.

use nom::Parser;

use crate::error::ParseError;
use crate::lexicon::{KEYWORDS, is_ident_char, is_reserved};

use super::lexing::*;
use super::split::Scanner;
use crate::query::ast::Statement;

/// The nearest keyword to the word at `at`, if it is at most `max` edits away (and at most
/// one for short keywords).
pub(super) fn suggestion(at: &str, max: usize) -> Option<String> {
    let word: String = at.chars().take_while(|c| is_ident_char(*c)).collect();
    if word.len() < 2 {
        return None;
    }
    if KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
        return None;
    }
    nearest(&word, KEYWORDS.iter().copied(), max).map(|k| format!("did you mean `{k}`?"))
}

/// The keyword among `candidates` that `word` (any case, two letters or more) most likely
/// misspells: at most one edit from a keyword of four letters or fewer, `max` from a longer one.
pub(super) fn nearest<'k>(
    word: &str,
    candidates: impl Iterator<Item = &'k str>,
    max: usize,
) -> Option<&'k str> {
    if word.len() < 2 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    candidates
        .map(|k| (strsim::damerau_levenshtein(k, &lower), k))
        .filter(|(d, k)| *d > 0 && *d <= if k.len() <= 4 { 1 } else { max })
        .min()
        .map(|(_, k)| k)
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
        suggestion(failure.input, if open_ended { 2 } else { 1 }).filter(|hint| {
            // A message that suggests already needs no second suggestion.
            if failure
                .message
                .as_ref()
                .is_some_and(|m| m.contains("did you mean"))
            {
                return false;
            }
            // Where the message names the words that fit, only one of those is suggested.
            let named = |m: &String| m.starts_with("expected `");
            match failure.message.as_ref().filter(|m| named(m)) {
                Some(message) => {
                    hint.split('`')
                        .nth(1)
                        .is_some_and(|word| message.contains(&format!("`{word}")))
                        || !message.contains(" after `")
                }
                None => true,
            }
        })
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

/// What may follow a statement that parsed whole but is followed by more text: the clauses and
/// words its last clause allows (empty when it can only end).
fn may_follow(statement: Option<&Statement>) -> Option<&'static [&'static str]> {
    Some(match statement? {
        Statement::Query(q) if q.offset.is_some() => &[],
        Statement::Query(q) if q.limit.is_some() => &["offset"],
        Statement::Query(q) if !q.order_by.is_empty() => &[",", "asc", "desc", "limit", "offset"],
        Statement::Query(q) if q.having.is_some() => &["and", "or", "order by", "limit", "offset"],
        Statement::Query(q) if !q.group_by.is_empty() => {
            &[",", "having", "order by", "limit", "offset"]
        }
        Statement::Query(q) if q.filter.is_some() => {
            &["and", "or", "group by", "order by", "limit", "offset"]
        }
        Statement::Query(q) if q.collection.is_some() => {
            &["where", "group by", "order by", "limit", "offset"]
        }
        Statement::Query(q) => match q.columns.as_deref() {
            None => &["from", "where", "group by", "order by", "limit", "offset"],
            Some([.., last]) if last.alias.is_some() => &[
                ",", "from", "where", "group by", "order by", "limit", "offset",
            ],
            Some(_) => &[
                ",", "as", "from", "where", "group by", "order by", "limit", "offset",
            ],
        },
        Statement::Count(c) if c.by.is_some() => &[],
        Statement::Count(c) if c.filter.is_some() => &["and", "or", "by"],
        Statement::Count(c) if c.collection.is_some() => &["where", "by"],
        Statement::Count(_) => &["from", "where", "by"],
        _ => return None,
    })
}

/// The error for text after a statement that parsed whole: what was expected there (from the
/// statement's last clause), a keyword suggested only when it fits that place, and a plain word
/// for what the language does not have (functions, a second `count by` path).
pub(super) fn trailing(text: &str, after: &str, statement: Option<&Statement>) -> ParseError {
    let offset = text.len() - after.len();
    let token: String = after
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(20)
        .collect();
    let before = text[..offset].trim_end();
    let word_before: String = before
        .chars()
        .rev()
        .take_while(|c| is_ident_char(*c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if token.starts_with('(') && !word_before.is_empty() && before.len() == text[..offset].len() {
        return ParseError::at(
            text,
            offset,
            format!(
                "unexpected `(` after `{word_before}`: a function call goes where a value does \
                 (in `select`, `where`, `group by`, `having`, `order by` and `set`)"
            ),
            matches!(statement, Some(Statement::Count(c)) if c.by.is_some()).then(|| {
                "`count by` takes a path; to count by an expression write \
                 `select EXPR, count() from C group by EXPR`"
                    .to_owned()
            }),
        );
    }
    let Some(allowed) = may_follow(statement) else {
        return ParseError::at(
            text,
            offset,
            format!("unexpected `{token}` after the end of the statement"),
            suggestion(after, 2).or_else(|| Some("separate statements with `;`".to_owned())),
        );
    };
    if token.starts_with(',') && matches!(statement, Some(Statement::Count(c)) if c.by.is_some()) {
        return ParseError::at(
            text,
            offset,
            "unexpected `,`: `count by` groups by one path".to_owned(),
            None,
        );
    }
    let expected = match allowed {
        [] => "the end of the statement".to_owned(),
        words => {
            let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
            format!("{} or the end of the statement", quoted.join(", "))
        }
    };
    let word: String = after.chars().take_while(|c| is_ident_char(*c)).collect();
    let near = nearest(
        &word,
        allowed
            .iter()
            .filter_map(|w| w.split(' ').next())
            .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic())),
        2,
    );
    let lower = word.to_ascii_lowercase();
    let repeated = match statement {
        Some(Statement::Query(q)) => match lower.as_str() {
            "limit" => q.limit.is_some(),
            "offset" => q.offset.is_some(),
            "where" => q.filter.is_some(),
            "from" => q.collection.is_some(),
            "order" => !q.order_by.is_empty(),
            "group" => !q.group_by.is_empty(),
            "having" => q.having.is_some(),
            _ => false,
        },
        _ => false,
    };
    let hint = match near {
        _ if repeated => Some(format!("a statement takes one `{lower}` clause")),
        Some(w) => Some(format!("did you mean `{w}`?")),
        None if STATEMENT_STARTS.contains(&word.to_ascii_lowercase().as_str()) => {
            Some("separate statements with `;`".to_owned())
        }
        None => None,
    };
    ParseError::at(
        text,
        offset,
        format!("unexpected `{token}`: expected {expected}"),
        hint,
    )
}
