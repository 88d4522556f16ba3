//! The shell's line editor helper: completion, syntax highlighting and history hints.

use std::borrow::Cow;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use crate::lexicon::KEYWORDS;

/// The dot-commands, for completion and `.help`.
pub const DOT_COMMANDS: &[&str] = &[
    ".help",
    ".mode",
    ".timer",
    ".read",
    ".collections",
    ".indexes",
    ".schema",
    ".use",
    ".quit",
    ".exit",
];

/// What completion offers besides keywords: refreshed by the shell before each line.
#[derive(Default)]
pub struct Names {
    /// Collection names.
    pub collections: Vec<String>,
    /// Index names.
    pub indexes: Vec<String>,
    /// Field paths of the current collection (`author.name`).
    pub fields: Vec<String>,
    /// Values each field path holds, as literals (`"ICC"`, `2021`), from a sample.
    pub values: std::collections::BTreeMap<String, Vec<String>>,
}

/// Where in a statement the word being completed stands, from the tokens before it.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// Where a condition or a selected field starts: field paths.
    Field,
    /// After a comparison on this field: values it holds.
    Value(String),
    /// Where a collection is named.
    Collection,
    /// Where an index is named.
    Index,
    /// Anywhere else: keywords and every name.
    Any,
}

/// The tokens of `text` that matter for completion: words and paths, operators, and
/// punctuation; strings count as one token.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_word_char(c) && c != '[' && c != ']' {
            let mut word = c.to_string();
            while let Some(&d) = chars.peek().filter(|d| is_word_char(**d)) {
                word.push(d);
                chars.next();
            }
            out.push(word);
        } else if matches!(c, '=' | '!' | '<' | '>') {
            let mut op = c.to_string();
            while let Some(&d) = chars.peek().filter(|d| matches!(d, '=' | '<' | '>')) {
                op.push(d);
                chars.next();
            }
            out.push(op);
        } else if matches!(c, '"' | '\'') {
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
            }
            out.push("<string>".into());
        } else if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    out
}

/// The place of the word that follows `text`.
fn place(text: &str) -> Place {
    let tokens = tokens(text);
    let lower: Vec<String> = tokens.iter().map(|t| t.to_ascii_lowercase()).collect();
    let last = |n: usize| lower.len().checked_sub(n).map(|i| lower[i].as_str());
    let field_before = |n: usize| {
        lower
            .len()
            .checked_sub(n)
            .map(|i| tokens[i].clone())
            .unwrap_or_default()
    };
    match last(1) {
        Some("where" | "and" | "or" | "not" | "select" | "," | "(" | "by" | "exists") => {
            Place::Field
        }
        Some("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "contains") => {
            Place::Value(field_before(2))
        }
        Some("with") if last(2) == Some("starts") => Place::Value(field_before(3)),
        Some("[") if last(2) == Some("in") => Place::Value(field_before(3)),
        Some("from" | "into" | "on" | "use" | "of" | "update" | "collection") => Place::Collection,
        Some("index") if last(2) == Some("drop") => Place::Index,
        _ => Place::Any,
    }
}

/// The rustyline helper of the shell.
pub struct ReplHelper {
    /// Names to complete.
    pub names: Names,
    /// Colour the line (off with NO_COLOR or when stdout is not a terminal).
    pub color: bool,
    files: FilenameCompleter,
    hinter: HistoryHinter,
}

/// The functions and aggregates whose names start with `prefix`, each with its `(`.
fn functions(prefix: &str) -> impl Iterator<Item = String> + '_ {
    use crate::query::ast::{Aggregate, Function};
    Function::ALL
        .iter()
        .map(|(_, name, ..)| *name)
        .chain(Aggregate::ALL.iter().map(|(_, name)| *name))
        .filter(move |name| name.starts_with(prefix))
        .map(|name| format!("{name}("))
}

impl ReplHelper {
    /// A helper with nothing to complete yet.
    pub fn new(color: bool) -> ReplHelper {
        ReplHelper {
            names: Names::default(),
            color,
            files: FilenameCompleter::new(),
            hinter: HistoryHinter::new(),
        }
    }

    /// Candidates for `word` that fit its place: field paths where a condition starts (and the
    /// keywords that may start one), values the field holds after a comparison, collection or
    /// index names where one is named, else everything.
    fn candidates_at(&self, place: &Place, word: &str) -> Vec<String> {
        let starting = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .filter(|n| n.starts_with(word))
                .cloned()
                .collect()
        };
        match place {
            Place::Field => {
                let mut out = starting(&self.names.fields);
                let lower = word.to_ascii_lowercase();
                out.extend(
                    ["not", "exists"]
                        .iter()
                        .filter(|k| !word.is_empty() && k.starts_with(&lower))
                        .map(|k| (*k).to_owned()),
                );
                if !word.is_empty() {
                    out.extend(functions(&lower));
                }
                out
            }
            Place::Value(field) => self
                .names
                .values
                .get(field)
                .map(|values| starting(values))
                .unwrap_or_default(),
            Place::Collection => starting(&self.names.collections),
            Place::Index => starting(&self.names.indexes),
            Place::Any => self.candidates(word),
        }
    }

    /// Completion candidates for the word `word` (any case for keywords).
    pub fn candidates(&self, word: &str) -> Vec<String> {
        let lower = word.to_ascii_lowercase();
        let mut out: Vec<String> = Vec::new();
        if !word.contains('.') {
            out.extend(
                KEYWORDS
                    .iter()
                    .filter(|k| k.starts_with(&lower))
                    .map(|k| (*k).to_owned()),
            );
            out.extend(functions(&lower));
            out.extend(
                self.names
                    .collections
                    .iter()
                    .filter(|c| c.starts_with(word))
                    .cloned(),
            );
            out.extend(
                self.names
                    .indexes
                    .iter()
                    .filter(|i| i.starts_with(word))
                    .cloned(),
            );
        }
        out.extend(
            self.names
                .fields
                .iter()
                .filter(|f| f.starts_with(word))
                .cloned(),
        );
        out.sort();
        out.dedup();
        out
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '`')
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        if let Some(rest) = before.strip_prefix(".read ") {
            let offset = before.len() - rest.len();
            let (start, pairs) = self.files.complete(rest, rest.len(), ctx)?;
            return Ok((start + offset, pairs));
        }
        if before.starts_with('.') && !before.contains(char::is_whitespace) {
            let pairs = DOT_COMMANDS
                .iter()
                .filter(|d| d.starts_with(before))
                .map(|d| Pair {
                    display: (*d).to_owned(),
                    replacement: (*d).to_owned(),
                })
                .collect();
            return Ok((0, pairs));
        }
        let mut start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !is_word_char(*c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        // `[` opens a list here, not a position (`tags[0]` has a word before it).
        if before[start..].starts_with('[') {
            start += 1;
        }
        // A value being typed may start with its quote.
        if before[..start].ends_with(['"', '\'']) {
            start -= 1;
        }
        let word = &before[start..];
        let place = place(&before[..start]);
        if word.is_empty() && place == Place::Any {
            return Ok((pos, Vec::new()));
        }
        let pairs = self
            .candidates_at(&place, word)
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        self.hinter.hint(line, pos, ctx)
    }
}

const RESET: &str = "\x1b[0m";
const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[36m";
const PARAM: &str = "\x1b[35m";
const COMMENT: &str = "\x1b[2m";
const ERROR: &str = "\x1b[1;31m";

/// Colours a line of the language: keywords, strings, numbers, parameters, comments, and an
/// unterminated string in red.
pub fn colorize(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    let paint = |out: &mut String, color: &str, text: &str| {
        out.push_str(color);
        out.push_str(text);
        out.push_str(RESET);
    };
    while i < chars.len() {
        let (at, c) = chars[i];
        let end_of = |j: usize| chars.get(j).map_or(line.len(), |(p, _)| *p);
        if c == '-' && chars.get(i + 1).is_some_and(|(_, d)| *d == '-') {
            paint(&mut out, COMMENT, &line[at..]);
            return out;
        }
        if c == '"' || c == '\'' {
            let mut j = i + 1;
            let mut closed = false;
            while j < chars.len() {
                if chars[j].1 == '\\' {
                    j += 2;
                    continue;
                }
                if chars[j].1 == c {
                    closed = true;
                    j += 1;
                    break;
                }
                j += 1;
            }
            let j = j.min(chars.len());
            paint(
                &mut out,
                if closed { STRING } else { ERROR },
                &line[at..end_of(j)],
            );
            i = j;
            continue;
        }
        if c.is_ascii_digit()
            || (c == '-'
                && chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit())
                && (i == 0 || !is_word_char(chars[i - 1].1)))
        {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '.') {
                j += 1;
            }
            paint(&mut out, NUMBER, &line[at..end_of(j)]);
            i = j;
            continue;
        }
        if c == '$' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                j += 1;
            }
            paint(&mut out, PARAM, &line[at..end_of(j)]);
            i = j;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                j += 1;
            }
            let word = &line[at..end_of(j)];
            let after_dot = i > 0 && chars[i - 1].1 == '.';
            if !after_dot && KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                paint(&mut out, KEYWORD, word);
            } else {
                out.push_str(word);
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color || line.starts_with('.') {
            return Cow::Borrowed(line);
        }
        Cow::Owned(colorize(line))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if !self.color {
            return Cow::Borrowed(hint);
        }
        Cow::Owned(format!("{COMMENT}{hint}{RESET}"))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

/// Statements are completed line by line by the shell (each continuation line gets its own
/// `...> ` prompt), so the editor accepts every line.
impl Validator for ReplHelper {}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_strings_are_coloured() {
        let coloured = colorize("where a = 'x'");
        assert!(coloured.contains("\x1b[1;34mwhere\x1b[0m"));
        assert!(coloured.contains("\x1b[32m'x'\x1b[0m"));
    }

    fn helper() -> ReplHelper {
        let mut h = ReplHelper::new(false);
        h.names.collections = vec!["articles".into()];
        h.names.fields = vec!["author".into(), "author.name".into(), "year".into()];
        h.names.indexes = vec!["articles_year".into()];
        h
    }

    #[test]
    fn completion_offers_what_fits_the_place() {
        let mut h = helper();
        h.names.fields = vec!["org".into(), "year".into()];
        h.names
            .values
            .insert("org".into(), vec!["\"HRW\"".into(), "\"ICC\"".into()]);
        let at = |text: &str| {
            let (start, pairs) = h
                .complete(
                    text,
                    text.len(),
                    &Context::new(&rustyline::history::MemHistory::new()),
                )
                .unwrap();
            let _ = start;
            pairs.into_iter().map(|p| p.replacement).collect::<Vec<_>>()
        };
        // After `where`, field paths, not `of offset on or order`.
        assert_eq!(at("from articles where o"), ["org"]);
        assert_eq!(at("from articles where org = 'ICC' and n"), ["not"]);
        assert_eq!(at("select o"), ["org"]);
        // After a comparison, the values the field holds.
        assert_eq!(at("from articles where org = "), ["\"HRW\"", "\"ICC\""]);
        assert_eq!(at("from articles where org = \"I"), ["\"ICC\""]);
        assert_eq!(at("where org in ["), ["\"HRW\"", "\"ICC\""]);
        assert_eq!(at("where org starts with "), ["\"HRW\"", "\"ICC\""]);
        // Where a collection or an index is named.
        assert_eq!(at("from a"), ["articles"]);
        assert_eq!(at("drop index a"), ["articles_year"]);
        // Elsewhere, keywords too.
        assert!(at("from articles whe").contains(&"where".to_owned()));
    }

    #[test]
    fn completes_keywords_names_and_field_paths() {
        let h = helper();
        assert_eq!(h.candidates("wh"), ["where"]);
        assert_eq!(h.candidates("author."), ["author.name"]);
        assert!(h.candidates("art").contains(&"articles".to_owned()));
        assert!(
            h.candidates("articles_")
                .contains(&"articles_year".to_owned())
        );
        assert_eq!(h.candidates("SEL"), ["select"]);
    }

    #[test]
    fn unterminated_strings_are_red_and_comments_dim() {
        assert!(colorize("where a = 'x").contains(ERROR));
        assert!(colorize("count -- note").contains(COMMENT));
        assert!(colorize("where n = -12").contains(&format!("{NUMBER}-12{RESET}")));
        assert!(!colorize("where author.name = 1").contains(&format!("{KEYWORD}name")));
    }
}
