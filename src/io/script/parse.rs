//! Reading a `.qry` script: statements, dot-commands and expected-output blocks, each with
//! its line number.
//!
//! ```text
//! -- a comment
//! .mode json
//! from articles where org = "ICC"      <- a statement ends where the shell would run it:
//!   order by date                      <- at the end of a line once it is complete
//! ----                                 <- what it must print, up to a blank line or the end
//! [ ... ]
//! ```
//!
//! Inside an expected block a line of exactly `~` stands for an empty output line (a blank
//! line would end the block).

use std::ops::Range;

/// One thing a script does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// Statements to run (one shell entry: possibly several, separated by `;`).
    Statement {
        /// The statement text.
        text: String,
        /// Line of its first line (1-based).
        line: usize,
        /// What it must print, when the script says.
        expected: Option<Expected>,
    },
    /// A dot-command such as `.mode json`.
    Dot {
        /// The command without its dot (`mode`).
        command: String,
        /// Its arguments, split at whitespace.
        args: Vec<String>,
        /// Its line (1-based).
        line: usize,
        /// What it must print (nothing, or its error), when the script says.
        expected: Option<Expected>,
    },
}

/// An expected-output block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The expected output, one entry per line (`~` already turned into an empty line).
    pub lines: Vec<String>,
    /// Line numbers (0-based, end exclusive) of the block's output lines in the file: what
    /// `--update` replaces.
    pub span: Range<usize>,
}

/// A script that cannot be read, with the line where reading failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ScriptError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Splits a script into items.
///
/// ```
/// use quarry::internals::script_parse::{parse, Item};
/// let items = parse("-- counts\ncount\n----\n3\n\n.mode json\nwhere a = 1 and\n  b = 2\n").unwrap();
/// assert_eq!(items.len(), 3);
/// assert!(matches!(&items[0], Item::Statement { line: 2, expected: Some(e), .. } if e.lines == ["3"]));
/// assert!(matches!(&items[2], Item::Statement { text, line: 7, .. } if text.ends_with("b = 2")));
/// ```
pub fn parse(text: &str) -> Result<Vec<Item>, ScriptError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut items = Vec::new();
    let mut pending = String::new();
    let mut pending_line = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        // `----` ends a statement even when it is unfinished (it will report its error).
        if trimmed == "----" && !pending.is_empty() {
            items.push(Item::Statement {
                text: std::mem::take(&mut pending),
                line: pending_line,
                expected: None,
            });
        }
        if pending.is_empty() {
            if trimmed == "----" {
                let expected = match items.last_mut() {
                    Some(Item::Statement { expected, .. } | Item::Dot { expected, .. }) => expected,
                    None => {
                        return Err(ScriptError {
                            line: i + 1,
                            message: "`----` must follow a statement".into(),
                        });
                    }
                };
                if expected.is_some() {
                    return Err(ScriptError {
                        line: i + 1,
                        message: "a statement has only one expected block".into(),
                    });
                }
                let start = i + 1;
                let mut end = start;
                while end < lines.len() && !lines[end].trim().is_empty() {
                    end += 1;
                }
                *expected = Some(Expected {
                    lines: lines[start..end]
                        .iter()
                        .map(|l| {
                            if *l == "~" {
                                String::new()
                            } else {
                                (*l).to_owned()
                            }
                        })
                        .collect(),
                    span: start..end,
                });
                i = end;
                continue;
            }
            if trimmed.is_empty() || trimmed.starts_with("--") {
                i += 1;
                continue;
            }
            if let Some(dot) = trimmed.strip_prefix('.') {
                let mut words = dot.split_whitespace().map(str::to_owned);
                items.push(Item::Dot {
                    command: words.next().unwrap_or_default(),
                    args: words.collect(),
                    line: i + 1,
                    expected: None,
                });
                i += 1;
                continue;
            }
            pending_line = i + 1;
        }
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(line);
        if !crate::query::is_incomplete(&pending) {
            items.push(Item::Statement {
                text: std::mem::take(&mut pending),
                line: pending_line,
                expected: None,
            });
        }
        i += 1;
    }
    if !pending.is_empty() {
        items.push(Item::Statement {
            text: pending,
            line: pending_line,
            expected: None,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_end_at_a_blank_line_and_tilde_is_an_empty_line() {
        let items = parse("from t\n----\na\n~\nb\n\ncount\n").unwrap();
        match &items[0] {
            Item::Statement {
                expected: Some(e), ..
            } => {
                assert_eq!(e.lines, ["a", "", "b"]);
                assert_eq!(e.span, 2..5);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn an_unfinished_statement_ends_at_its_expected_block() {
        let items = parse("where a = and\n----\nerror\n\ncount\n").unwrap();
        assert_eq!(items.len(), 2);
        assert!(
            matches!(&items[0], Item::Statement { text, expected: Some(_), .. } if text == "where a = and")
        );
    }

    #[test]
    fn a_dangling_separator_is_an_error_with_its_line() {
        assert_eq!(parse("-- x\n----\n").unwrap_err().line, 2);
        assert!(parse("count\n----\n1\n\n----\n").is_err());
    }

    #[test]
    fn dot_commands_and_comments_between_statements() {
        let items = parse(".param set org ICC\n-- note\nwhere org = $org\n").unwrap();
        assert_eq!(
            items[0],
            Item::Dot {
                command: "param".into(),
                args: vec!["set".into(), "org".into(), "ICC".into()],
                line: 1,
                expected: None
            }
        );
        assert!(matches!(&items[1], Item::Statement { line: 3, .. }));
    }
}
