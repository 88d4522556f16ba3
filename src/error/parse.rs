//! Syntax errors: where (line, column), what was expected, and a hint, rendered with the
//! offending line and a caret under the spot.

use std::fmt;

/// A statement that does not parse.
///
/// ```
/// let err = quarry::query::parse("from t where year = and").unwrap_err();
/// assert_eq!((err.line, err.column), (1, 21));
/// assert_eq!(
///     err.render("from t where year = and", Some("q.qry")),
///     "error: expected a value after `=` (a string, number, true, false, null, [...] or $param)\n \
///      --> q.qry:1:21\n  |\n1 | from t where year = and\n  |                     ^\n"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset in the text.
    pub offset: usize,
    /// What was expected, in words.
    pub message: String,
    /// A suggestion (`did you mean `where`?`).
    pub hint: Option<String>,
}

impl ParseError {
    /// An error at byte `offset` of `text`.
    pub fn at(text: &str, offset: usize, message: String, hint: Option<String>) -> ParseError {
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        ParseError {
            line,
            column,
            offset,
            message,
            hint,
        }
    }

    /// The error with the line it is on and a caret under the spot. `origin` names the file
    /// (`--> file.qry:3:14`); without it the position reads `--> line 3, column 14`.
    pub fn render(&self, source: &str, origin: Option<&str>) -> String {
        let line = source.lines().nth(self.line - 1).unwrap_or("");
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        let place = match origin {
            Some(origin) => format!("{origin}:{}:{}", self.line, self.column),
            None => format!("line {}, column {}", self.line, self.column),
        };
        let (text, caret_at) = window(line, self.column - 1);
        let caret_pad: String = text
            .chars()
            .take(caret_at)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let mut out = format!(
            "error: {}\n{pad}--> {place}\n{pad} |\n{number} | {text}\n{pad} | {caret_pad}^\n",
            self.message
        );
        if let Some(hint) = &self.hint {
            out.push_str(&format!("{pad} = hint: {hint}\n"));
        }
        out
    }
}

/// The widest stretch of a line an error shows, in characters.
const WINDOW: usize = 100;

/// At most [`WINDOW`] characters of `line` around character `at`, with `…` where the line was
/// cut, and where `at` falls in what is shown: a long line is shown, not echoed whole.
fn window(line: &str, at: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= WINDOW {
        return (line.to_owned(), at);
    }
    let start = at.saturating_sub(WINDOW * 2 / 3).min(chars.len() - WINDOW);
    let end = (start + WINDOW).min(chars.len());
    let mut text = String::new();
    if start > 0 {
        text.push('…');
    }
    text.extend(&chars[start..end]);
    if end < chars.len() {
        text.push('…');
    }
    (text, at - start + usize::from(start > 0))
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

impl fmt::Display for ParseError {
    /// `line 3, column 14: expected ...` (and the hint).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_shows_a_window_around_the_caret() {
        let line = format!("{}where{}", "a".repeat(5000), "b".repeat(5000));
        let err = ParseError::at(&line, 5000, "expected something".into(), None);
        let text = err.render(&line, None);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() < 120), "{text}");
        let shown = lines[3].split_once("| ").unwrap().1;
        let caret = lines[4].split_once("| ").unwrap().1;
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        let caret_at = caret.chars().count() - 1;
        assert_eq!(
            shown.chars().skip(caret_at).take(5).collect::<String>(),
            "where"
        );
    }

    #[test]
    fn a_short_line_is_shown_whole() {
        let err = ParseError::at("from t whre", 7, "oops".into(), None);
        assert!(
            err.render("from t whre", None)
                .contains("1 | from t whre\n  |        ^")
        );
    }
}
