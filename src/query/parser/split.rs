//! Splitting text into statements without parsing them: where each ends, and whether the text
//! ends inside one (an open quote, bracket or statement). The shell and scripts use it to read
//! statements that span lines; it lives beside the parser because both layers need it.

use std::ops::Range;

use crate::lexicon::is_ident_char;

/// Walks text token by token: each call gives a character outside strings, quoted names
/// and comments, or a whole quoted section (as its opening quote), with where it ends.
pub(super) struct Scanner<'a> {
    text: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    /// An unclosed quote (`"`, `'` or `` ` ``) at the end.
    open_quote: Option<char>,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Scanner {
            text,
            chars: text.char_indices().peekable(),
            open_quote: None,
        }
    }

    /// `(start, char, end)`: for a quoted section `char` is its quote and `end` is past the
    /// closing quote (or the end of the text when it is not closed).
    pub(super) fn next_code(&mut self) -> Option<(usize, char, usize)> {
        while let Some((i, c)) = self.chars.next() {
            // `r"..."` and `r'...'` are raw strings: a backslash in them escapes nothing.
            let raw = c == 'r'
                && !self.text[..i].ends_with(is_ident_char)
                && self
                    .chars
                    .peek()
                    .is_some_and(|(_, q)| matches!(q, '"' | '\''));
            let (i, c) = match raw {
                true => self.chars.next().map_or((i, c), |(_, q)| (i, q)),
                false => (i, c),
            };
            match c {
                '"' | '\'' | '`' => {
                    self.open_quote = Some(c);
                    let mut end = self.text.len();
                    while let Some((j, d)) = self.chars.next() {
                        if d == '\\' && c != '`' && !raw {
                            self.chars.next();
                        } else if d == c {
                            self.open_quote = None;
                            end = j + 1;
                            break;
                        }
                    }
                    return Some((i, c, end));
                }
                '-' if self.chars.peek().is_some_and(|(_, d)| *d == '-') => {
                    for (_, d) in self.chars.by_ref() {
                        if d == '\n' {
                            break;
                        }
                    }
                }
                _ => return Some((i, c, i + c.len_utf8())),
            }
        }
        None
    }
}

/// Whether the REPL should keep reading lines: a bracket or quote is open, or the text ends
/// with a word or symbol that needs more (`and`, `or`, `,`, `=`, `where`, …).
///
/// ```
/// use quarry::query::is_incomplete;
/// assert!(is_incomplete("where org = \"ICC\" and"));
/// assert!(is_incomplete("insert into t [{a: 1},"));
/// assert!(!is_incomplete("where org = \"ICC\""));
/// assert!(is_incomplete("select org, count() from t group by"));
/// assert!(is_incomplete("select a +") && !is_incomplete("select *"));
/// // A raw string ends at its quote; in a quoted one `\"` is an escaped quote.
/// assert!(!is_incomplete(r#"where p = r"C:\""#));
/// assert!(is_incomplete(r#"where p = "C:\""#));
/// ```
pub fn is_incomplete(text: &str) -> bool {
    let mut scan = Scanner::new(text);
    let mut depth = 0i64;
    let mut last_end = 0;
    while let Some((_, c, end)) = scan.next_code() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        if !c.is_whitespace() {
            last_end = end;
        }
    }
    if scan.open_quote.is_some() || depth > 0 {
        return true;
    }
    let code = &text[..last_end];
    let tail: String = code
        .chars()
        .rev()
        .take_while(|c| is_ident_char(*c) || "=<>!,+-*/%|".contains(*c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    const NEEDS_MORE: &[&str] = &[
        "and", "or", "not", "where", "by", "set", "unset", "in", "between", "contains", "with",
        "matches", "is", "from", "select", "order", "limit", "offset", "into", "on", "explain",
        "analyze", "starts", "exists", "group", "having", "as", "distinct",
    ];
    let lower = tail.to_ascii_lowercase();
    lower.ends_with(',')
        || [
            // Not `*`: `select *` is whole.
            "=", "==", "!=", "<>", "<", "<=", ">", ">=", "+", "-", "/", "%", "||",
        ]
        .iter()
        .any(|op| lower.ends_with(op))
        || NEEDS_MORE.contains(&lower.as_str())
}

/// The source ranges of the statements in `text`, split at top-level `;` (strings, quoted
/// names, comments and brackets respected); empty statements are left out.
///
/// ```
/// let text = "count; -- a comment; still a comment\nfrom t where a = ';'";
/// let ranges = quarry::query::split_statements(text);
/// assert_eq!(ranges.len(), 2);
/// assert_eq!(&text[ranges[1].clone()], "from t where a = ';'");
/// ```
pub fn split_statements(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut scan = Scanner::new(text);
    let mut depth = 0i64;
    let mut start: Option<usize> = None;
    let mut end = 0;
    while let Some((i, c, token_end)) = scan.next_code() {
        match c {
            ';' if depth <= 0 => {
                if let Some(s) = start.take() {
                    ranges.push(s..end);
                }
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        if !c.is_whitespace() {
            start.get_or_insert(i);
            end = token_end;
        }
    }
    if let Some(s) = start {
        ranges.push(s..end);
    }
    ranges
}
