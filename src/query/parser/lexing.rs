//! Tokens and literals: whitespace and comments, keywords, names, paths, strings, numbers,
//! arrays, objects and parameters, and the parser's error type.
//!
//! Invariant: a parser that fails without having committed leaves the input as it found it;
//! one that committed (`fail`, `expect`) says what was expected at that spot.

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, digit1, multispace1};
use nom::combinator::{map, not, opt, peek, recognize, value};
use nom::error::{ErrorKind, ParseError as NomParseError};
use nom::multi::many0;
use nom::sequence::{pair, preceded, terminated};
use nom::{IResult, Parser};

use crate::lexicon::{is_ident_char, is_reserved};
use crate::path::{Path, parse_path};
use crate::query::ast::Param;
use crate::value::{Map, Value};

/// The deepest nesting of parentheses, brackets and braces accepted.
pub(super) const MAX_NESTING: usize = 64;
/// The deepest expression tree accepted (`a + b + c` is three deep): evaluating, printing and
/// dropping one recurses that deep.
pub(super) const MAX_EXPRESSION_DEPTH: usize = 256;
/// The longest statement text accepted, in bytes.
pub(super) const MAX_TEXT: usize = 1 << 20;

pub(super) const VALUE_HELP: &str = "a string, number, true, false, null, [...] or $param";
pub(super) const OPERATORS: &str =
    "=, !=, <, <=, >, >=, in, not in, between, contains, starts with, matches, is null, has (...)";

pub(super) const STATEMENT_STARTS: &[&str] = &[
    "select", "from", "where", "order", "limit", "offset", "count", "insert", "update", "delete",
    "create", "drop", "use", "show", "explain", "import", "begin", "commit", "rollback",
];

/// The parser's internal error: where, and (once committed) what was expected there.
#[derive(Debug)]
pub(super) struct Failure<'a> {
    pub(super) input: &'a str,
    pub(super) message: Option<String>,
    /// Another place the message refers to (an unclosed `(`), as the input remaining there.
    pub(super) related: Option<&'a str>,
}

impl<'a> NomParseError<&'a str> for Failure<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        Failure {
            input,
            message: None,
            related: None,
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        if other.input.len() < self.input.len()
            || (other.input.len() == self.input.len() && other.message.is_some())
        {
            other
        } else {
            self
        }
    }
}

pub(super) type PResult<'a, T> = IResult<&'a str, T, Failure<'a>>;

pub(super) fn fail<'a, T>(input: &'a str, message: String) -> PResult<'a, T> {
    Err(nom::Err::Failure(Failure {
        input,
        message: Some(message),
        related: None,
    }))
}

/// Whitespace and `--` comments (rule `ws`).
pub(super) fn ws(input: &str) -> PResult<'_, ()> {
    value(
        (),
        many0(alt((
            multispace1,
            recognize(pair(tag("--"), take_while(|c| c != '\n'))),
        ))),
    )
    .parse(input)
}

/// A keyword, any case, not followed by a name character.
pub(super) fn kw<'a>(
    word: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = Failure<'a>> {
    preceded(
        ws,
        terminated(tag_no_case(word), not(peek(take_while1(is_ident_char)))),
    )
}

/// A symbol after optional whitespace.
pub(super) fn sym<'a>(
    s: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = Failure<'a>> {
    preceded(ws, tag(s))
}

/// Runs `parser`; if it does not match, fails for good with `message` at the next token.
pub(super) fn expect<'a, O>(
    mut parser: impl Parser<&'a str, Output = O, Error = Failure<'a>>,
    message: impl Fn() -> String,
) -> impl FnMut(&'a str) -> PResult<'a, O> {
    move |input: &'a str| match parser.parse(input) {
        Err(nom::Err::Error(_)) => {
            let at = ws(input).map(|(rest, _)| rest).unwrap_or(input);
            fail(at, message())
        }
        other => other,
    }
}

/// `ident = (letter | "_") { letter | digit | "_" }`
pub(super) fn ident(input: &str) -> PResult<'_, String> {
    map(
        preceded(
            ws,
            recognize(pair(
                take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
                take_while(is_ident_char),
            )),
        ),
        str::to_owned,
    )
    .parse(input)
}

/// A collection name after a keyword.
pub(super) fn name_after<'a>(keyword: &'static str) -> impl FnMut(&'a str) -> PResult<'a, String> {
    expect(ident, move || {
        format!("expected a collection name after `{keyword}`")
    })
}

/// `path` (a field path; a bare reserved word is not one).
pub(super) fn path(input: &str) -> PResult<'_, Path> {
    let (start, _) = ws(input)?;
    let word: String = start.chars().take_while(|c| is_ident_char(*c)).collect();
    if !word.is_empty() && is_reserved(&word) {
        return Err(nom::Err::Error(Failure::from_error_kind(
            start,
            ErrorKind::Tag,
        )));
    }
    parse_path(start)
}

/// `string = '"' chars '"' | "'" chars "'" | raw` with escapes `\" \' \\ \/ \n \t \r \b \f \uXXXX`;
/// `raw = 'r"' [^"]* '"' | "r'" [^']* "'"`, whose text is taken as written (the way to write
/// regular expressions: `r"\bword\b"`).
pub(super) fn string(input: &str) -> PResult<'_, String> {
    let (start, _) = ws(input)?;
    if let Some((rest, text)) = raw_string(start)? {
        return Ok((rest, text));
    }
    let quote = match start.chars().next() {
        Some(q @ ('"' | '\'')) => q,
        _ => {
            return Err(nom::Err::Error(Failure::from_error_kind(
                start,
                ErrorKind::Char,
            )));
        }
    };
    let mut out = String::new();
    let mut chars = start.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((&start[i + c.len_utf8()..], out));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = match chars.next() {
            Some((_, e)) => e,
            None => break,
        };
        match escaped {
            '"' | '\'' | '\\' | '/' => out.push(escaped),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let hex: String = chars.by_ref().take(4).map(|(_, h)| h).collect();
                let unit = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4);
                let Some(unit) = unit else {
                    return fail(&start[i..], "expected four hex digits after `\\u`".into());
                };
                let code = if (0xD800..0xDC00).contains(&unit) {
                    // A surrogate pair: the low half must follow as \uXXXX.
                    let rest: String = chars.by_ref().take(6).map(|(_, h)| h).collect();
                    let low = rest
                        .strip_prefix("\\u")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .filter(|l| (0xDC00..0xE000).contains(l));
                    match low {
                        Some(low) => 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00),
                        None => {
                            return fail(&start[i..], "unpaired surrogate in `\\u` escape".into());
                        }
                    }
                } else {
                    unit
                };
                match char::from_u32(code) {
                    Some(c) => out.push(c),
                    None => return fail(&start[i..], "invalid `\\u` escape".into()),
                }
            }
            other => {
                return fail(
                    &start[i..],
                    format!(
                        "unknown escape `\\{other}` in a string (a backslash is written `\\\\`, as in `\\\\d` for a regex digit)"
                    ),
                );
            }
        }
    }
    fail(
        start,
        format!("unterminated string: add the closing `{quote}`"),
    )
}

/// A raw string at `start`, if one starts there: `r"..."` or `r'...'`, no escapes.
fn raw_string(start: &str) -> Result<Option<(&str, String)>, nom::Err<Failure<'_>>> {
    let Some(quote @ ('"' | '\'')) = start.strip_prefix('r').and_then(|r| r.chars().next()) else {
        return Ok(None);
    };
    let body = &start[2..];
    match body.find(quote) {
        Some(end) => Ok(Some((&body[end + 1..], body[..end].to_owned()))),
        None => fail(
            start,
            format!("unterminated raw string: add the closing `{quote}`"),
        )
        .map(|_: (&str, ())| None),
    }
}

/// The first escape in the quoted (not raw) string at `start` that means something else in a
/// regular expression (`\b` is a backspace in a string, a word boundary in a pattern), with
/// its offset in `start`.
pub(super) fn regex_escape(start: &str) -> Option<(usize, char)> {
    let quote = start.chars().next().filter(|q| matches!(q, '"' | '\''))?;
    let mut chars = start.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return None;
        }
        if c == '\\' {
            match chars.next() {
                Some((_, e)) if "bBdDwWsSAzZpP.()[]{}*+?|^$".contains(e) => return Some((i, e)),
                Some(_) => {}
                None => return None,
            }
        }
    }
    None
}

/// `number = ["-"] digits ["." digits] [("e" | "E") ["+" | "-"] digits]`
pub(super) fn number(input: &str) -> PResult<'_, Value> {
    let (start, _) = ws(input)?;
    let (rest, text) = recognize((
        opt(char('-')),
        digit1,
        opt(pair(char('.'), digit1)),
        opt((
            alt((char('e'), char('E'))),
            opt(alt((char('+'), char('-')))),
            digit1,
        )),
    ))
    .parse(start)?;
    if peek(take_while1::<_, _, Failure>(is_ident_char))
        .parse(rest)
        .is_ok()
    {
        return Err(nom::Err::Error(Failure::from_error_kind(
            start,
            ErrorKind::Digit,
        )));
    }
    if text.contains(['.', 'e', 'E']) {
        match text.parse::<f64>().ok().filter(|f| f.is_finite()) {
            Some(f) => Ok((rest, Value::Float(f))),
            None => fail(start, format!("number `{text}` is too large")),
        }
    } else {
        match text.parse::<i64>() {
            Ok(i) => Ok((rest, Value::Int(i))),
            Err(_) => fail(
                start,
                format!(
                    "integer `{text}` is out of range (at most ±9223372036854775807; write a float with `.0` for larger numbers)"
                ),
            ),
        }
    }
}

/// `literal = string | number | "true" | "false" | "null" | array | object`
pub(super) fn literal(input: &str) -> PResult<'_, Value> {
    alt((
        map(string, Value::String),
        number,
        value(Value::Bool(true), kw("true")),
        value(Value::Bool(false), kw("false")),
        value(Value::Null, kw("null")),
        array,
        object,
    ))
    .parse(input)
}

/// `open [item {"," item} [","]] close`: the shape of arrays, objects and `in` lists.
/// `what` names the list in errors (`the array`).
pub(super) fn comma_list<'a, T>(
    input: &'a str,
    (open, close): (&'static str, &'static str),
    mut item: impl FnMut(&'a str) -> PResult<'a, T>,
    what: &'static str,
) -> PResult<'a, Vec<T>> {
    let (mut rest, _) = sym(open).parse(input)?;
    let mut items = Vec::new();
    loop {
        if let Ok((after, _)) = sym(close).parse(rest) {
            return Ok((after, items));
        }
        let (after, next) = item(rest)?;
        items.push(next);
        rest = after;
        match sym(",").parse(rest) {
            Ok((after, _)) => rest = after,
            Err(_) => {
                let (after, _) = expect(sym(close), || {
                    format!("expected `,` or `{close}` in {what}")
                })
                .parse(rest)?;
                return Ok((after, items));
            }
        }
    }
}

/// `array = "[" [literal {"," literal} [","]] "]"`
pub(super) fn array(input: &str) -> PResult<'_, Value> {
    let element = expect(literal, || {
        format!("expected a value in the array ({VALUE_HELP} inside `[...]` are literals)")
    });
    let (rest, items) = comma_list(input, ("[", "]"), element, "the array")?;
    Ok((rest, Value::Array(items)))
}

/// `object = "{" [key ":" literal {"," key ":" literal} [","]] "}"`, `key = ident | string | quoted`
pub(super) fn object(input: &str) -> PResult<'_, Value> {
    let entry = |input| {
        let (after, key) = expect(
            alt((string, ident, preceded(ws, crate::path::quoted))),
            || {
                "expected a field name (a name, a quoted string or a `quoted name`) in the object"
                    .into()
            },
        )
        .parse(input)?;
        let (after, _) = expect(sym(":"), || {
            format!("expected `:` after the field name `{key}`")
        })
        .parse(after)?;
        let (after, item) = expect(literal, || {
            format!("expected a value for `{key}` ({VALUE_HELP})")
        })
        .parse(after)?;
        Ok((after, (key, item)))
    };
    let (start, _) = ws(input)?;
    let (rest, fields) = comma_list(input, ("{", "}"), entry, "the object")?;
    let mut object = Map::with_capacity_and_hasher(fields.len(), Default::default());
    for (key, value) in fields {
        if object.contains_key(key.as_str()) {
            return fail(
                start,
                format!("the field `{key}` appears twice in this object"),
            );
        }
        object.insert(key.into(), value);
    }
    Ok((rest, Value::Object(object)))
}

/// `param = "$" (digits | ident)`
pub(super) fn param(input: &str) -> PResult<'_, Param> {
    let (rest, _) = sym("$").parse(input)?;
    if let Ok((after, digits)) = digit1::<_, Failure>(rest) {
        return match digits.parse::<usize>() {
            Ok(n) if n >= 1 => Ok((after, Param::Position(n))),
            _ => fail(rest, "positional parameters count from `$1`".into()),
        };
    }
    match ident(rest) {
        Ok((after, name)) if !rest.starts_with(char::is_whitespace) => {
            Ok((after, Param::Named(name)))
        }
        _ => fail(rest, "expected a parameter name or number after `$`".into()),
    }
}
