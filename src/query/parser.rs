//! The parser: query text to [`Statement`]s, with nom 8.
//!
//! Each function's doc names the rule of `grammar/quarry.ebnf` it implements. After a keyword
//! commits to a form (`where`, `order`, an operator, …) a failure is final and says what was
//! expected at that spot, so the caret points at the real mistake.

use std::ops::Range;

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, digit1, multispace1};
use nom::combinator::{map, not, opt, peek, recognize, value};
use nom::error::{ErrorKind, ParseError as NomParseError};
use nom::multi::many0;
use nom::sequence::{pair, preceded, terminated};
use nom::{IResult, Parser};

use crate::error::ParseError;
use crate::lexicon::{KEYWORDS, is_ident_char, is_reserved};
use crate::path::{Path, parse_path};
use crate::query::ast::{CompareOp, Count, Expr, Operand, OrderKey, Param, Query, Statement};
use crate::value::{Map, Value};

/// The deepest nesting of parentheses, brackets and braces accepted.
pub const MAX_NESTING: usize = 64;
/// The longest statement text accepted, in bytes.
pub const MAX_TEXT: usize = 1 << 20;

const STATEMENT_STARTS: &[&str] = &[
    "select", "from", "where", "order", "limit", "offset", "count", "insert", "update", "delete",
    "create", "drop", "use", "show", "explain", "import",
];

const VALUE_HELP: &str = "a string, number, true, false, null, [...] or $param";
const OPERATORS: &str =
    "=, !=, <, <=, >, >=, in, not in, between, contains, starts with, matches, is null";

/// The parser's internal error: where, and (once committed) what was expected there.
#[derive(Debug)]
pub struct Failure<'a> {
    input: &'a str,
    message: Option<String>,
    /// Another place the message refers to (an unclosed `(`), as the input remaining there.
    related: Option<&'a str>,
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

type PResult<'a, T> = IResult<&'a str, T, Failure<'a>>;

fn fail<'a, T>(input: &'a str, message: String) -> PResult<'a, T> {
    Err(nom::Err::Failure(Failure {
        input,
        message: Some(message),
        related: None,
    }))
}

/// Whitespace and `--` comments (rule `ws`).
fn ws(input: &str) -> PResult<'_, ()> {
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
fn kw<'a>(word: &'static str) -> impl Parser<&'a str, Output = &'a str, Error = Failure<'a>> {
    preceded(
        ws,
        terminated(tag_no_case(word), not(peek(take_while1(is_ident_char)))),
    )
}

/// A symbol after optional whitespace.
fn sym<'a>(s: &'static str) -> impl Parser<&'a str, Output = &'a str, Error = Failure<'a>> {
    preceded(ws, tag(s))
}

/// Runs `parser`; if it does not match, fails for good with `message` at the next token.
fn expect<'a, O>(
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
fn ident(input: &str) -> PResult<'_, String> {
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
fn name_after<'a>(keyword: &'static str) -> impl FnMut(&'a str) -> PResult<'a, String> {
    expect(ident, move || {
        format!("expected a collection name after `{keyword}`")
    })
}

/// `path` (a field path; a bare reserved word is not one).
fn path(input: &str) -> PResult<'_, Path> {
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

/// `string = '"' chars '"' | "'" chars "'"` with escapes `\" \' \\ \/ \n \t \r \b \f \uXXXX`.
fn string(input: &str) -> PResult<'_, String> {
    let (start, _) = ws(input)?;
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

/// `number = ["-"] digits ["." digits] [("e" | "E") ["+" | "-"] digits]`
fn number(input: &str) -> PResult<'_, Value> {
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
fn literal(input: &str) -> PResult<'_, Value> {
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
fn comma_list<'a, T>(
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
fn array(input: &str) -> PResult<'_, Value> {
    let element = expect(literal, || {
        format!("expected a value in the array ({VALUE_HELP} inside `[...]` are literals)")
    });
    let (rest, items) = comma_list(input, ("[", "]"), element, "the array")?;
    Ok((rest, Value::Array(items)))
}

/// `object = "{" [key ":" literal {"," key ":" literal} [","]] "}"`, `key = ident | string | quoted`
fn object(input: &str) -> PResult<'_, Value> {
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
fn param(input: &str) -> PResult<'_, Param> {
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

/// `operand = literal | param`
fn operand(input: &str) -> PResult<'_, Operand> {
    alt((map(literal, Operand::Value), map(param, Operand::Param))).parse(input)
}

fn value_after<'a>(what: &'static str) -> impl FnMut(&'a str) -> PResult<'a, Operand> {
    expect(operand, move || {
        format!("expected a value after `{what}` ({VALUE_HELP})")
    })
}

/// `list = "[" [operand {"," operand} [","]] "]"` (the values of `in`)
fn operand_list(input: &str) -> PResult<'_, Vec<Operand>> {
    let element = expect(operand, || {
        format!("expected a value in the list ({VALUE_HELP})")
    });
    comma_list(input, ("[", "]"), element, "the list")
}

/// `compare_op = "=" | "==" | "!=" | "<>" | "<=" | ">=" | "<" | ">"`
fn compare_op(input: &str) -> PResult<'_, (CompareOp, &str)> {
    let (start, _) = ws(input)?;
    for (wrong, right) in [("=>", ">="), ("=<", "<=")] {
        if start.starts_with(wrong) {
            return fail(
                start,
                format!("`{wrong}` is not an operator: did you mean `{right}`?"),
            );
        }
    }
    preceded(
        ws,
        alt((
            map(tag("=="), |t| (CompareOp::Eq, t)),
            map(tag("!="), |t| (CompareOp::Ne, t)),
            map(tag("<>"), |t| (CompareOp::Ne, t)),
            map(tag("<="), |t| (CompareOp::Le, t)),
            map(tag(">="), |t| (CompareOp::Ge, t)),
            map(tag("="), |t| (CompareOp::Eq, t)),
            map(tag("<"), |t| (CompareOp::Lt, t)),
            map(tag(">"), |t| (CompareOp::Gt, t)),
        )),
    )
    .parse(input)
}

/// `predicate = compare_op operand | ["not"] "in" list | "between" operand "and" operand
/// | "contains" operand | "starts" "with" operand | "matches" string | "is" ["not"] "null"`
fn predicate(path: Path) -> impl FnMut(&str) -> PResult<'_, Expr> {
    move |input: &str| {
        let path = path.clone();
        match compare_op(input) {
            Err(nom::Err::Error(_)) => {}
            Err(e) => return Err(e),
            Ok((rest, (op, text))) => {
                let (rest, value) = expect(operand, || {
                    format!("expected a value after `{text}` ({VALUE_HELP})")
                })
                .parse(rest)?;
                return Ok((rest, Expr::Compare { path, op, value }));
            }
        }
        if let Ok((rest, negated)) = alt((
            value(true, pair(kw("not"), kw("in"))),
            value(false, kw("in")),
        ))
        .parse(input)
        {
            let (rest, values) =
                expect(operand_list, || "expected a list `[...]` after `in`".into()).parse(rest)?;
            return Ok((
                rest,
                Expr::In {
                    path,
                    values,
                    negated,
                },
            ));
        }
        if let Ok((rest, _)) = kw("between").parse(input) {
            let (rest, low) = value_after("between")(rest)?;
            let (rest, _) = expect(kw("and"), || {
                "expected `and` between the two ends of `between`".into()
            })
            .parse(rest)?;
            let (rest, high) = value_after("and")(rest)?;
            return Ok((rest, Expr::Between { path, low, high }));
        }
        if let Ok((rest, _)) = kw("contains").parse(input) {
            let (rest, value) = value_after("contains")(rest)?;
            return Ok((rest, Expr::Contains { path, value }));
        }
        if let Ok((rest, _)) = kw("starts").parse(input) {
            let (rest, _) =
                expect(kw("with"), || "expected `with` after `starts`".into()).parse(rest)?;
            let (rest, prefix) = value_after("starts with")(rest)?;
            return Ok((rest, Expr::StartsWith { path, prefix }));
        }
        if let Ok((rest, _)) = kw("matches").parse(input) {
            let (at, _) = ws(rest)?;
            let (rest, pattern) = value_after("matches")(rest)?;
            if let Operand::Value(Value::String(re)) = &pattern
                && let Err(err) = crate::query::eval::compile_regex(re)
            {
                return fail(at, err.to_string());
            }
            return Ok((rest, Expr::Matches { path, pattern }));
        }
        if let Ok((rest, _)) = kw("is").parse(input) {
            let (rest, negated) = map(opt(kw("not")), |n| n.is_some()).parse(rest)?;
            let (rest, _) = expect(kw("null"), || {
                "expected `null` after `is` (or `is not`)".into()
            })
            .parse(rest)?;
            return Ok((rest, Expr::IsNull { path, negated }));
        }
        Err(nom::Err::Error(Failure::from_error_kind(
            input,
            ErrorKind::Alt,
        )))
    }
}

/// `condition = "(" expr ")" | "exists" path | path predicate`
fn condition(input: &str) -> PResult<'_, Expr> {
    if let Ok((rest, _)) = sym("(").parse(input) {
        let (open, _) = ws(input)?;
        let (rest, inner) = expect(expr, || "expected a condition after `(`".into()).parse(rest)?;
        let (rest, _) = match sym(")").parse(rest) {
            Ok(ok) => ok,
            Err(_) => {
                let at = ws(rest).map(|(r, _)| r).unwrap_or(rest);
                return Err(nom::Err::Failure(Failure {
                    input: at,
                    message: Some("expected `)` to close the `(`".to_owned()),
                    related: Some(open),
                }));
            }
        };
        return Ok((rest, inner));
    }
    if let Ok((rest, _)) = kw("exists").parse(input) {
        let (rest, path) =
            expect(path, || "expected a field path after `exists`".into()).parse(rest)?;
        return Ok((rest, Expr::Exists { path }));
    }
    let (rest, p) = path(input)?;
    let shown = p.to_string();
    expect(predicate(p), move || {
        format!("expected an operator after `{shown}` ({OPERATORS})")
    })
    .parse(rest)
}

/// `not_expr = {"not"} condition`
fn not_expr(input: &str) -> PResult<'_, Expr> {
    let (rest, nots) = many0(kw("not")).parse(input)?;
    if nots.len() > MAX_NESTING {
        let (at, _) = ws(input)?;
        return fail(
            at,
            format!(
                "nesting deeper than {MAX_NESTING} levels (`not` repeated {} times)",
                nots.len()
            ),
        );
    }
    let (rest, mut inner) = if nots.is_empty() {
        condition(rest)?
    } else {
        expect(condition, || "expected a condition after `not`".into()).parse(rest)?
    };
    for _ in 0..nots.len() {
        inner = Expr::Not(Box::new(inner));
    }
    Ok((rest, inner))
}

/// `and_expr = not_expr {"and" not_expr}`
fn and_expr(input: &str) -> PResult<'_, Expr> {
    let (rest, first) = not_expr(input)?;
    let (rest, more) = many0(preceded(
        kw("and"),
        expect(not_expr, || "expected a condition after `and`".into()),
    ))
    .parse(rest)?;
    Ok((rest, flatten(first, more, false)))
}

/// `expr = and_expr {"or" and_expr}`
pub fn expr(input: &str) -> PResult<'_, Expr> {
    let (rest, first) = and_expr(input)?;
    let (rest, more) = many0(preceded(
        kw("or"),
        expect(and_expr, || "expected a condition after `or`".into()),
    ))
    .parse(rest)?;
    Ok((rest, flatten(first, more, true)))
}

fn flatten(first: Expr, more: Vec<Expr>, or: bool) -> Expr {
    if more.is_empty() {
        return first;
    }
    let mut items = Vec::with_capacity(more.len() + 1);
    for e in std::iter::once(first).chain(more) {
        match (e, or) {
            (Expr::Or(inner), true) | (Expr::And(inner), false) => items.extend(inner),
            (e, _) => items.push(e),
        }
    }
    if or {
        Expr::Or(items)
    } else {
        Expr::And(items)
    }
}

fn where_clause(input: &str) -> PResult<'_, Expr> {
    preceded(
        kw("where"),
        expect(expr, || {
            "expected a condition after `where` (e.g. `year >= 2020`)".into()
        }),
    )
    .parse(input)
}

/// `select = "select" ("*" | path {"," path})`
fn select_clause(input: &str) -> PResult<'_, Option<Vec<Path>>> {
    let (rest, _) = kw("select").parse(input)?;
    if let Ok((rest, _)) = sym("*").parse(rest) {
        return Ok((rest, None));
    }
    let (mut rest, first) = expect(path, || {
        "expected `*` or a field path after `select`".into()
    })
    .parse(rest)?;
    let mut paths = vec![first];
    while let Ok((after, _)) = sym(",").parse(rest) {
        let (after, p) = expect(path, || "expected a field path after `,`".into()).parse(after)?;
        paths.push(p);
        rest = after;
    }
    Ok((rest, Some(paths)))
}

/// `order = "order" "by" path ["asc" | "desc"] {"," path ["asc" | "desc"]}`
fn order_clause(input: &str) -> PResult<'_, Vec<OrderKey>> {
    let (rest, _) = kw("order").parse(input)?;
    let (rest, _) = expect(kw("by"), || "expected `by` after `order`".into()).parse(rest)?;
    let mut keys = Vec::new();
    let mut rest = rest;
    loop {
        let (after, p) = expect(path, || "expected a field path to order by".into()).parse(rest)?;
        let (after, dir) =
            opt(alt((value(false, kw("asc")), value(true, kw("desc"))))).parse(after)?;
        keys.push(OrderKey {
            path: p,
            descending: dir.unwrap_or(false),
        });
        match sym(",").parse(after) {
            Ok((after, _)) => rest = after,
            Err(_) => return Ok((after, keys)),
        }
    }
}

/// `query = [select] [from] [where] [order] [limit] [offset]` (limit and offset in either order)
fn query(input: &str) -> PResult<'_, Query> {
    let (rest, fields) = opt(select_clause).parse(input)?;
    let (rest, collection) = opt(preceded(kw("from"), name_after("from"))).parse(rest)?;
    let (rest, filter) = opt(where_clause).parse(rest)?;
    let (rest, order_by) = opt(order_clause).parse(rest)?;
    let mut q = Query {
        fields: fields.flatten(),
        collection,
        filter,
        order_by: order_by.unwrap_or_default(),
        limit: None,
        offset: None,
    };
    let mut rest = rest;
    loop {
        if q.limit.is_none()
            && let Ok((after, _)) = kw("limit").parse(rest)
        {
            let (after, n) =
                expect(operand, || "expected a whole number after `limit`".into()).parse(after)?;
            q.limit = Some(n);
            rest = after;
        } else if q.offset.is_none()
            && let Ok((after, _)) = kw("offset").parse(rest)
        {
            let (after, n) =
                expect(operand, || "expected a whole number after `offset`".into()).parse(after)?;
            q.offset = Some(n);
            rest = after;
        } else {
            return Ok((rest, q));
        }
    }
}

/// `count = "count" [from] [where] ["by" path]`
fn count(input: &str) -> PResult<'_, Count> {
    let (rest, _) = kw("count").parse(input)?;
    let (rest, collection) = opt(preceded(kw("from"), name_after("from"))).parse(rest)?;
    let (rest, filter) = opt(where_clause).parse(rest)?;
    let (rest, by) = opt(preceded(
        kw("by"),
        expect(path, || "expected a field path after `by`".into()),
    ))
    .parse(rest)?;
    Ok((
        rest,
        Count {
            collection,
            filter,
            by,
        },
    ))
}

/// `insert = "insert" "into" ident (object | "[" object {"," object} "]")`
fn insert(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("insert").parse(input)?;
    let (rest, _) = expect(kw("into"), || "expected `into` after `insert`".into()).parse(rest)?;
    let (rest, collection) = name_after("into")(rest)?;
    let (at, _) = ws(rest)?;
    let (rest, docs) = expect(alt((object, array)), || {
        "expected a document `{...}` or a list of documents `[{...}, ...]`".into()
    })
    .parse(rest)?;
    let documents = match docs {
        Value::Array(items) => items,
        doc => vec![doc],
    };
    if documents.iter().any(|d| !matches!(d, Value::Object(_))) {
        return fail(at, "each document must be an object `{...}`".into());
    }
    Ok((
        rest,
        Statement::Insert {
            collection,
            documents,
        },
    ))
}

/// `update = "update" ident ["set" path "=" operand {"," ...}] ["unset" path {"," path}] where`
fn update(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("update").parse(input)?;
    let (rest, collection) = name_after("update")(rest)?;
    let mut set = Vec::new();
    let mut unset = Vec::new();
    let mut rest = rest;
    if let Ok((after, _)) = kw("set").parse(rest) {
        rest = after;
        loop {
            let (after, p) = expect(path, || "expected a field path to set".into()).parse(rest)?;
            let (after, _) =
                expect(sym("="), || format!("expected `=` after `{p}`")).parse(after)?;
            let (after, v) = value_after("=")(after)?;
            set.push((p, v));
            match sym(",").parse(after) {
                Ok((after, _)) => rest = after,
                Err(_) => {
                    rest = after;
                    break;
                }
            }
        }
    }
    if let Ok((after, _)) = kw("unset").parse(rest) {
        rest = after;
        loop {
            let (after, p) =
                expect(path, || "expected a field path to unset".into()).parse(rest)?;
            unset.push(p);
            match sym(",").parse(after) {
                Ok((after, _)) => rest = after,
                Err(_) => {
                    rest = after;
                    break;
                }
            }
        }
    }
    if set.is_empty() && unset.is_empty() {
        let at = ws(rest)?.0;
        return fail(
            at,
            format!("expected `set` or `unset` after `update {collection}`"),
        );
    }
    let (rest, filter) = match where_clause(rest) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => {
            let at = ws(rest)?.0;
            return fail(at, "expected `where ...` after the changes (to change every document write `where exists _id`)".into());
        }
        Err(e) => return Err(e),
    };
    Ok((
        rest,
        Statement::Update {
            collection,
            set,
            unset,
            filter,
        },
    ))
}

/// `delete = "delete" "from" ident ("where" expr | "all")`
fn delete(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("delete").parse(input)?;
    let (rest, _) = expect(kw("from"), || "expected `from` after `delete`".into()).parse(rest)?;
    let (rest, collection) = name_after("from")(rest)?;
    if let Ok((rest, _)) = kw("all").parse(rest) {
        return Ok((
            rest,
            Statement::Delete {
                collection,
                filter: None,
            },
        ));
    }
    match where_clause(rest) {
        Ok((rest, filter)) => Ok((
            rest,
            Statement::Delete {
                collection,
                filter: Some(filter),
            },
        )),
        Err(nom::Err::Error(_)) => {
            let at = ws(rest)?.0;
            fail(
                at,
                format!(
                    "expected `where ...` or `all` after `delete from {collection}` (write `all` to delete every document)"
                ),
            )
        }
        Err(e) => Err(e),
    }
}

/// `create = "create" ["unique"] "index" "on" ident "(" path {"," path} ")"`
fn create(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("create").parse(input)?;
    let (rest, unique) = map(opt(kw("unique")), |u| u.is_some()).parse(rest)?;
    let (rest, _) = expect(kw("index"), || "expected `index` after `create`".into()).parse(rest)?;
    let (rest, _) = expect(kw("on"), || {
        "expected `on COLLECTION (paths)` after `create index`".into()
    })
    .parse(rest)?;
    let (rest, collection) = name_after("on")(rest)?;
    let (rest, _) =
        expect(sym("("), || "expected `(` and the paths to index".into()).parse(rest)?;
    let (mut rest, first) = expect(path, || "expected a field path to index".into()).parse(rest)?;
    let mut paths = vec![first];
    while let Ok((after, _)) = sym(",").parse(rest) {
        let (after, p) = expect(path, || "expected a field path after `,`".into()).parse(after)?;
        paths.push(p);
        rest = after;
    }
    let (rest, _) = expect(sym(")"), || {
        "expected `,` or `)` after the indexed path".into()
    })
    .parse(rest)?;
    Ok((
        rest,
        Statement::CreateIndex {
            collection,
            paths,
            unique,
        },
    ))
}

/// `drop = "drop" ("index" ident | "collection" ident)`
fn drop(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("drop").parse(input)?;
    if let Ok((rest, _)) = kw("index").parse(rest) {
        let (rest, name) = expect(ident, || {
            "expected an index name after `drop index` (see `show indexes`)".into()
        })
        .parse(rest)?;
        return Ok((rest, Statement::DropIndex { name }));
    }
    if let Ok((rest, _)) = kw("collection").parse(rest) {
        let (rest, name) = name_after("collection")(rest)?;
        return Ok((rest, Statement::DropCollection { name }));
    }
    let at = ws(rest)?.0;
    fail(
        at,
        "expected `index NAME` or `collection NAME` after `drop`".into(),
    )
}

/// `show = "show" ("collections" | "indexes" ["on" ident] | "fields" ["of" ident])`
fn show(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("show").parse(input)?;
    if let Ok((rest, _)) = kw("collections").parse(rest) {
        return Ok((rest, Statement::ShowCollections));
    }
    if let Ok((rest, _)) = kw("indexes").parse(rest) {
        let (rest, collection) = opt(preceded(kw("on"), name_after("on"))).parse(rest)?;
        return Ok((rest, Statement::ShowIndexes { collection }));
    }
    if let Ok((rest, _)) = kw("fields").parse(rest) {
        let (rest, collection) = opt(preceded(kw("of"), name_after("of"))).parse(rest)?;
        return Ok((rest, Statement::ShowFields { collection }));
    }
    let at = ws(rest)?.0;
    fail(
        at,
        "expected `collections`, `indexes` or `fields` after `show`".into(),
    )
}

/// `import = "import" string "into" ident ["format" ident]`
fn import(input: &str) -> PResult<'_, Statement> {
    let (rest, _) = kw("import").parse(input)?;
    let (rest, path) = expect(string, || {
        "expected a file path in quotes after `import`".into()
    })
    .parse(rest)?;
    let (rest, _) = expect(kw("into"), || {
        "expected `into COLLECTION` after the file path".into()
    })
    .parse(rest)?;
    let (rest, collection) = name_after("into")(rest)?;
    let (rest, format) = opt(preceded(
        kw("format"),
        expect(ident, || {
            "expected a format after `format` (ndjson, json, csv or article)".into()
        }),
    ))
    .parse(rest)?;
    Ok((
        rest,
        Statement::Import {
            path,
            collection,
            format,
        },
    ))
}

/// `statement = explain | query | count | insert | update | delete | create | drop | use
/// | show | import`
fn statement(input: &str) -> PResult<'_, Statement> {
    let (start, _) = ws(input)?;
    let word: String = start
        .chars()
        .take_while(|c| is_ident_char(*c))
        .collect::<String>()
        .to_ascii_lowercase();
    match word.as_str() {
        "explain" => {
            let (rest, _) = kw("explain").parse(start)?;
            let (rest, analyze) = map(opt(kw("analyze")), |a| a.is_some()).parse(rest)?;
            let (at, _) = ws(rest)?;
            if kw("explain").parse(at).is_ok() {
                return fail(at, "`explain` cannot explain itself".into());
            }
            let (rest, inner) =
                expect(statement, || "expected a statement to explain".into()).parse(rest)?;
            Ok((
                rest,
                Statement::Explain {
                    analyze,
                    statement: Box::new(inner),
                },
            ))
        }
        "select" | "from" | "where" | "order" | "limit" | "offset" => {
            map(query, Statement::Query).parse(start)
        }
        "count" => map(count, Statement::Count).parse(start),
        "insert" => insert(start),
        "update" => update(start),
        "delete" => delete(start),
        "create" => create(start),
        "drop" => drop(start),
        "use" => {
            let (rest, _) = kw("use").parse(start)?;
            let (rest, collection) = name_after("use")(rest)?;
            Ok((rest, Statement::Use { collection }))
        }
        "show" => show(start),
        "import" => import(start),
        _ => fail(
            start,
            format!("expected a statement ({})", STATEMENT_STARTS.join(", ")),
        ),
    }
}

/// The nearest keyword to the word at `at`, if it is at most `max` edits away (and at most
/// one for short keywords).
fn suggestion(at: &str, max: usize) -> Option<String> {
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
fn check_limits(text: &str) -> Result<(), ParseError> {
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
fn starts_a_clause(word: &str, rest: &str) -> bool {
    let word = word.to_ascii_lowercase();
    match word.as_str() {
        "from" | "where" | "limit" | "offset" | "select" => true,
        "order" => kw("by").parse(rest).is_ok(),
        _ => false,
    }
}

fn to_error(text: &str, err: nom::Err<Failure<'_>>) -> ParseError {
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
            let token: String = after
                .chars()
                .take_while(|c| !c.is_whitespace())
                .take(20)
                .collect();
            return Err(ParseError::at(
                text,
                text.len() - after.len(),
                format!("unexpected `{token}` after the end of the statement"),
                suggestion(after, 2).or_else(|| Some("separate statements with `;`".to_owned())),
            ));
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

/// Walks text token by token: each call gives a character outside strings, quoted names
/// and comments, or a whole quoted section (as its opening quote), with where it ends.
struct Scanner<'a> {
    text: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    /// An unclosed quote (`"`, `'` or `` ` ``) at the end.
    open_quote: Option<char>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            chars: text.char_indices().peekable(),
            open_quote: None,
        }
    }

    /// `(start, char, end)`: for a quoted section `char` is its quote and `end` is past the
    /// closing quote (or the end of the text when it is not closed).
    fn next_code(&mut self) -> Option<(usize, char, usize)> {
        while let Some((i, c)) = self.chars.next() {
            match c {
                '"' | '\'' | '`' => {
                    self.open_quote = Some(c);
                    let mut end = self.text.len();
                    while let Some((j, d)) = self.chars.next() {
                        if d == '\\' && c != '`' {
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
        .take_while(|c| is_ident_char(*c) || "=<>!,".contains(*c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    const NEEDS_MORE: &[&str] = &[
        "and", "or", "not", "where", "by", "set", "unset", "in", "between", "contains", "with",
        "matches", "is", "from", "select", "order", "limit", "offset", "into", "on", "explain",
        "analyze", "starts", "exists",
    ];
    let lower = tail.to_ascii_lowercase();
    lower.ends_with(',')
        || ["=", "==", "!=", "<>", "<", "<=", ">", ">="]
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
