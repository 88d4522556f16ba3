//! The parser: query text to [`Statement`]s, with nom 8, in rooms: `lexing` (tokens and
//! literals), `expressions` (conditions), `statements`, `diagnostics` (errors and limits), and
//! `split` (statement boundaries without parsing).
//!
//! Each function's doc names the rule of `grammar/quarry.ebnf` it implements. After a keyword
//! commits to a form (`where`, `order`, an operator, …) a failure is final and says what was
//! expected at that spot, so the caret points at the real mistake.

mod diagnostics;
mod expressions;
mod lexing;
mod split;
mod statements;

use std::ops::Range;

use crate::error::ParseError;
use crate::query::ast::Statement;
use diagnostics::{check_limits, to_error};
use lexing::ws;
use statements::statement;

pub use split::{is_incomplete, split_statements};

/// Parses all statements (separated by `;`), each with its byte range in `text`.
///
/// ```
/// let parsed = quarry::query::parse_script("count; from t where a = 1;").unwrap();
/// assert_eq!(parsed.len(), 2);
/// assert_eq!(parsed[1].1, 7..25);
/// ```
pub fn parse_script(text: &str) -> Result<Vec<(Statement, Range<usize>)>, ParseError> {
    check_limits(text)?;
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let (after, _) = ws(rest).map_err(|e| to_error(text, e))?;
        rest = after;
        if rest.is_empty() {
            return Ok(out);
        }
        if let Some(after) = rest.strip_prefix(';') {
            rest = after;
            continue;
        }
        let start = text.len() - rest.len();
        let (after, stmt) = statement(rest).map_err(|e| to_error(text, e))?;
        let end = text.len() - after.len();
        out.push((stmt, start..end));
        let (after, _) = ws(after).map_err(|e| to_error(text, e))?;
        if !after.is_empty() && !after.starts_with(';') {
            let statement = out.last().map(|(s, _)| s);
            return Err(diagnostics::trailing(text, after, statement));
        }
        rest = after;
    }
}

/// Parses one or more statements separated by `;`.
///
/// ```
/// let statements = quarry::query::parse("use t; where a > 1 order by a desc limit 2").unwrap();
/// assert_eq!(statements[1].to_string(), "where a > 1 order by a desc limit 2");
/// ```
pub fn parse(text: &str) -> Result<Vec<Statement>, ParseError> {
    Ok(parse_script(text)?.into_iter().map(|(s, _)| s).collect())
}

/// Parses exactly one statement.
///
/// ```
/// let err = quarry::query::parse_statement("from t whre a = 1").unwrap_err();
/// assert_eq!(err.hint.as_deref(), Some("did you mean `where`?"));
/// ```
pub fn parse_statement(text: &str) -> Result<Statement, ParseError> {
    let mut statements = parse_script(text)?;
    match statements.len() {
        1 => Ok(statements.remove(0).0),
        0 => Err(ParseError::at(
            text,
            text.len(),
            "expected a statement".into(),
            None,
        )),
        _ => Err(ParseError::at(
            text,
            statements[1].1.start,
            "expected one statement, found several".into(),
            None,
        )),
    }
}
