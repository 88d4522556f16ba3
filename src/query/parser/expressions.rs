//! Expressions and conditions. Expressions: literals, parameters, paths, `||`, `+ -`,
//! `* / %`, unary `-`, parentheses, function calls, aggregates and date intervals, in rising
//! order of binding. Conditions: comparisons, `in`, `between`, `contains`, `starts with`,
//! `matches`, `exists`, `is null`, `has`, and `not`/`and`/`or` with parentheses, `and` binding
//! tighter than `or`.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::combinator::{map, opt, value};
use nom::error::{ErrorKind, ParseError as NomParseError};
use nom::multi::many0;
use nom::sequence::{pair, preceded};

use crate::lexicon::is_reserved;
use crate::query::ast::{Aggregate, BinaryOp, CompareOp, DateUnit, Expr, Function, Operand};
use crate::query::compute::INTERVAL_PLACE;
use crate::value::Value;

use super::diagnostics::nearest;
use super::lexing::*;

/// `constant = literal | param` (what `limit` and `offset` take)
pub(super) fn constant(input: &str) -> PResult<'_, Operand> {
    alt((map(literal, Operand::Value), map(param, Operand::Param))).parse(input)
}

/// `operand = sum {"||" sum}`; an interval stands only on the right of `+` or `-`.
pub(super) fn operand(input: &str) -> PResult<'_, Operand> {
    let (start, _) = ws(input)?;
    let (rest, joined) = binary_level(input, sum, &[("||", BinaryOp::Concat)])?;
    if stray_interval(&joined) {
        return fail(start, INTERVAL_PLACE.into());
    }
    Ok((rest, joined))
}

/// Whether an interval stands anywhere but on the right of `+` or `-`.
fn stray_interval(operand: &Operand) -> bool {
    let mut stray = false;
    let mut placed = Vec::new();
    operand.visit(&mut |o| match o {
        Operand::Binary {
            op: BinaryOp::Add | BinaryOp::Subtract,
            right,
            ..
        } if matches!(**right, Operand::Interval { .. }) => placed.push(&**right as *const _),
        Operand::Interval { .. } => stray |= !placed.contains(&(o as *const _)),
        _ => {}
    });
    stray
}

/// One level of left-associative binary operators.
fn binary_level<'a>(
    input: &'a str,
    next: fn(&'a str) -> PResult<'a, Operand>,
    ops: &[(&'static str, BinaryOp)],
) -> PResult<'a, Operand> {
    let (mut rest, mut left) = next(input)?;
    let mut depth = left.depth();
    'more: loop {
        for (symbol, op) in ops {
            // `--` starts a comment, `||` is concatenation: neither is `-` or `|`.
            if let Ok((after, _)) = sym(symbol).parse(rest)
                && !(*symbol == "-" && after.starts_with('-'))
            {
                let (after, right) =
                    expect(next, || format!("expected a value after `{symbol}`")).parse(after)?;
                depth = depth.max(right.depth()) + 1;
                if depth > MAX_EXPRESSION_DEPTH {
                    return fail(
                        ws(rest)?.0,
                        format!(
                            "an expression deeper than {MAX_EXPRESSION_DEPTH} levels \
                             (operators and parentheses); split it"
                        ),
                    );
                }
                left = Operand::Binary {
                    op: *op,
                    left: Box::new(left),
                    right: Box::new(right),
                };
                rest = after;
                continue 'more;
            }
        }
        return Ok((rest, left));
    }
}

/// `sum = product {("+" | "-") product}`
fn sum(input: &str) -> PResult<'_, Operand> {
    binary_level(
        input,
        product,
        &[("+", BinaryOp::Add), ("-", BinaryOp::Subtract)],
    )
}

/// `product = unary {("*" | "/" | "%") unary}`
fn product(input: &str) -> PResult<'_, Operand> {
    binary_level(
        input,
        unary,
        &[
            ("*", BinaryOp::Multiply),
            ("/", BinaryOp::Divide),
            ("%", BinaryOp::Remainder),
        ],
    )
}

/// `unary = {"-"} primary [unit]`, `unit = "day" | "days" | "week" | "weeks" | "month"
/// | "months" | "year" | "years"` (a negative number is one literal)
fn unary(input: &str) -> PResult<'_, Operand> {
    let (start, _) = ws(input)?;
    let mut rest = start;
    let mut minus = 0usize;
    while number(rest).is_err()
        && let Ok((after, _)) = sym("-").parse(rest)
        && !after.starts_with('-')
    {
        minus += 1;
        if minus > MAX_NESTING {
            return fail(start, format!("more than {MAX_NESTING} `-` signs in a row"));
        }
        rest = after;
    }
    let (rest, mut inner) = if minus == 0 {
        primary(rest)?
    } else {
        expect(primary, || "expected a value after `-`".into()).parse(rest)?
    };
    if inner.depth() + minus > MAX_EXPRESSION_DEPTH {
        return fail(
            start,
            format!("an expression deeper than {MAX_EXPRESSION_DEPTH} levels; split it"),
        );
    }
    // `-n days` is `(-n) days`.
    for _ in 0..minus {
        inner = Operand::Negate(Box::new(inner));
    }
    let (rest, unit) = opt(date_unit).parse(rest)?;
    if let Some(unit) = unit {
        inner = Operand::Interval {
            amount: Box::new(inner),
            unit,
        };
    }
    Ok((rest, inner))
}

fn date_unit(input: &str) -> PResult<'_, DateUnit> {
    for (unit, one, many) in DateUnit::WORDS {
        if let Ok((rest, _)) = alt((kw(many), kw(one))).parse(input) {
            return Ok((rest, unit));
        }
    }
    Err(nom::Err::Error(Failure::from_error_kind(
        input,
        ErrorKind::Tag,
    )))
}

/// `primary = "(" operand ")" | literal | param | call | aggregate | path`
fn primary(input: &str) -> PResult<'_, Operand> {
    let (start, _) = ws(input)?;
    if let Ok((rest, _)) = sym("(").parse(start) {
        let (rest, inner) = expect(operand, || "expected a value after `(`".into()).parse(rest)?;
        let (rest, _) = match sym(")").parse(rest) {
            Ok(ok) => ok,
            Err(_) => {
                let at = ws(rest).map(|(r, _)| r).unwrap_or(rest);
                return Err(nom::Err::Failure(Failure {
                    input: at,
                    message: Some("expected `)` to close the `(`".to_owned()),
                    related: Some(start),
                }));
            }
        };
        return Ok((rest, inner));
    }
    match constant(start) {
        Err(nom::Err::Error(_)) => {}
        found => return found,
    }
    if let Ok((after, name)) = ident(start)
        && !is_reserved(&name)
        && sym("(").parse(after).is_ok()
    {
        return call(start, &name, after);
    }
    map(path, Operand::Path).parse(start)
}

/// `call = ident "(" [operand {"," operand}] ")"`; `aggregate = "count" "(" ["*" | ["distinct"]
/// operand] ")" | ("sum" | "avg" | "min" | "max") "(" operand ")"`
fn call<'a>(start: &'a str, name: &str, after_name: &'a str) -> PResult<'a, Operand> {
    let aggregate = Aggregate::ALL
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(a, _)| *a);
    let function = Function::from_name(name);
    if aggregate.is_none() && function.is_none() {
        let names = Function::ALL
            .iter()
            .map(|(_, n, ..)| (*n, *n))
            .chain(Aggregate::ALL.iter().map(|(_, n)| (*n, *n)))
            .chain(SYNONYMS.iter().copied());
        let names: Vec<(&str, &str)> = names.collect();
        let lower = name.to_ascii_lowercase();
        let meant = names
            .iter()
            .find(|(word, _)| *word == lower)
            .or_else(|| {
                let near = nearest(name, names.iter().map(|(word, _)| *word), 2)?;
                names.iter().find(|(word, _)| *word == near)
            })
            .map(|(_, meant)| *meant);
        let hint = meant
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_else(|| "; see `.help functions`".into());
        return fail(start, format!("unknown function `{name}`{hint}"));
    }
    let (rest, _) = sym("(").parse(after_name)?;
    if let Some(aggregate) = aggregate {
        return aggregate_call(start, aggregate, rest);
    }
    let function = function.expect("known above");
    let arg = || expect(operand, || format!("expected an argument of `{name}(`"));
    let (rest, args) = if sym(")").parse(rest).is_ok() {
        (rest, Vec::new())
    } else {
        let (rest, first) = arg()(rest)?;
        let (rest, more) = many0(preceded(sym(","), arg())).parse(rest)?;
        (rest, std::iter::once(first).chain(more).collect())
    };
    let (rest, _) = expect(sym(")"), || {
        format!("expected `,` or `)` after an argument of `{name}(`")
    })
    .parse(rest)?;
    let (min, max) = function.arity();
    if args.len() < min || args.len() > max {
        let takes = match (min, max) {
            (0, 0) => "no arguments".to_owned(),
            (1, 1) => "one argument".to_owned(),
            (min, usize::MAX) => {
                format!("at least {min} argument{}", if min == 1 { "" } else { "s" })
            }
            (min, max) => format!("{min} or {max} arguments"),
        };
        return fail(
            start,
            format!("`{}` takes {takes}, not {}", function.name(), args.len()),
        );
    }
    Ok((rest, Operand::Call { function, args }))
}

/// Names other languages give the functions, for suggestions.
const SYNONYMS: &[(&str, &str)] = &[
    ("length", "len"),
    ("char_length", "len"),
    ("substring", "substr"),
    ("ceiling", "ceil"),
    ("now", "today"),
    ("current_date", "today"),
    ("typeof", "type"),
    ("ifnull", "coalesce"),
    ("nvl", "coalesce"),
    ("lcase", "lower"),
    ("ucase", "upper"),
    ("average", "avg"),
    ("mean", "avg"),
];

fn nested_aggregate(inner: &Operand) -> String {
    format!(
        "an aggregate cannot stand inside another aggregate (`{inner}`): aggregate the values, \
         then compute on the results, as in `sum(x) / count()`"
    )
}

/// The arguments of an aggregate, after its `(`.
fn aggregate_call<'a>(start: &'a str, function: Aggregate, rest: &'a str) -> PResult<'a, Operand> {
    let name = function.name();
    let close =
        |rest: &'a str| expect(sym(")"), || format!("expected `)` to close `{name}(`")).parse(rest);
    // `count()` and `count(*)` count rows.
    let rows = match sym("*").parse(rest) {
        Ok((after, _)) => Some(close(after)?.0),
        Err(_) => sym(")").parse(rest).ok().map(|(after, _)| after),
    };
    if let (Aggregate::Count, Some(rest)) = (function, rows) {
        let arg = None;
        return Ok((
            rest,
            Operand::Aggregate {
                function,
                arg,
                distinct: false,
            },
        ));
    }
    let (rest, distinct) = map(opt(kw("distinct")), |d| d.is_some()).parse(rest)?;
    if distinct && function != Aggregate::Count {
        return fail(
            start,
            format!("`distinct` goes only in `count(distinct x)`, not in `{name}(`"),
        );
    }
    let (rest, arg) = expect(operand, || match function {
        Aggregate::Count => "expected `)`, `*`, `distinct` or a value after `count(`".into(),
        _ => format!("expected the value to aggregate after `{name}(`"),
    })
    .parse(rest)?;
    if arg.has_aggregate() {
        return fail(start, nested_aggregate(&arg));
    }
    let (rest, _) = close(rest)?;
    Ok((
        rest,
        Operand::Aggregate {
            function,
            arg: Some(Box::new(arg)),
            distinct,
        },
    ))
}

pub(super) fn value_after<'a>(what: &'static str) -> impl FnMut(&'a str) -> PResult<'a, Operand> {
    expect(operand, move || {
        format!("expected a value after `{what}` ({VALUE_HELP})")
    })
}

/// `list = "[" [operand {"," operand} [","]] "]"` (the values of `in`)
pub(super) fn operand_list(input: &str) -> PResult<'_, Vec<Operand>> {
    let element = expect(operand, || {
        format!("expected a value in the list ({VALUE_HELP})")
    });
    comma_list(input, ("[", "]"), element, "the list")
}

/// `compare_op = "=" | "==" | "!=" | "<>" | "<=" | ">=" | "<" | ">"`
pub(super) fn compare_op(input: &str) -> PResult<'_, (CompareOp, &str)> {
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
/// | "contains" operand | "starts" "with" operand | "matches" string | "is" ["not"] "null"
/// | "has" "(" expr ")"`
pub(super) fn predicate(subject: Operand) -> impl FnMut(&str) -> PResult<'_, Expr> {
    move |input: &str| {
        let subject = subject.clone();
        match compare_op(input) {
            Err(nom::Err::Error(_)) => {}
            Err(e) => return Err(e),
            Ok((rest, (op, text))) => {
                let (rest, value) = expect(operand, || {
                    format!("expected a value after `{text}` ({VALUE_HELP})")
                })
                .parse(rest)?;
                return Ok((rest, Expr::Compare { subject, op, value }));
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
                    subject,
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
            return Ok((rest, Expr::Between { subject, low, high }));
        }
        if let Ok((rest, _)) = kw("contains").parse(input) {
            let (rest, value) = value_after("contains")(rest)?;
            return Ok((rest, Expr::Contains { subject, value }));
        }
        if let Ok((rest, _)) = kw("starts").parse(input) {
            let (rest, _) =
                expect(kw("with"), || "expected `with` after `starts`".into()).parse(rest)?;
            let (rest, prefix) = value_after("starts with")(rest)?;
            return Ok((rest, Expr::StartsWith { subject, prefix }));
        }
        if let Ok((rest, _)) = kw("matches").parse(input) {
            let (at, _) = ws(rest)?;
            if let Some((offset, escape)) = regex_escape(at) {
                let meaning = if escape == 'b' {
                    "a backspace in a quoted string"
                } else {
                    "not an escape a quoted string knows"
                };
                return fail(
                    &at[offset..],
                    format!(
                        "`\\{escape}` is {meaning}: write the pattern as a raw string, \
                         r\"...\", whose backslashes reach the regex as written"
                    ),
                );
            }
            let (rest, pattern) = value_after("matches")(rest)?;
            if let Operand::Value(Value::String(re)) = &pattern
                && let Err(err) = crate::query::eval::compile_regex(re)
            {
                return fail(at, err.to_string());
            }
            return Ok((rest, Expr::Matches { subject, pattern }));
        }
        if let Ok((rest, query)) = search_query(input) {
            let Operand::Path(path) = subject else {
                return fail(
                    ws(input)?.0,
                    format!("`search` follows a field of the text index, not `{subject}`"),
                );
            };
            return Ok((
                rest,
                Expr::Search {
                    path: Some(path),
                    query,
                },
            ));
        }
        if let Ok((rest, _)) = kw("has").parse(input) {
            let Operand::Path(path) = subject else {
                return fail(
                    ws(input)?.0,
                    format!("`has` follows the path of an array, not `{subject}`"),
                );
            };
            let (rest, _) = expect(sym("("), || {
                "expected `(` and a condition on one element after `has`".into()
            })
            .parse(rest)?;
            let (rest, condition) = expect(expr, || {
                "expected a condition on one element (`_` is the element itself)".into()
            })
            .parse(rest)?;
            let (rest, _) =
                expect(sym(")"), || "expected `)` to close `has (`".into()).parse(rest)?;
            return Ok((
                rest,
                Expr::Has {
                    path,
                    condition: Box::new(condition),
                },
            ));
        }
        if let Ok((rest, _)) = kw("is").parse(input) {
            let (rest, negated) = map(opt(kw("not")), |n| n.is_some()).parse(rest)?;
            let (rest, _) = expect(kw("null"), || {
                "expected `null` after `is` (or `is not`)".into()
            })
            .parse(rest)?;
            return Ok((rest, Expr::IsNull { subject, negated }));
        }
        Err(nom::Err::Error(Failure::from_error_kind(
            input,
            ErrorKind::Alt,
        )))
    }
}

/// `condition = "(" expr ")" | "exists" path | operand predicate | operand` (a value alone
/// is `operand = true`). A `(` may open a condition or an expression (`(a + b) > 3`): it is
/// read as a condition when one follows to its end, else as an expression.
pub(super) fn condition(input: &str) -> PResult<'_, Expr> {
    if sym("(").parse(input).is_ok() {
        let grouped = grouped_condition(input);
        if let Ok((rest, _)) = &grouped
            && ends_a_condition(rest)
        {
            return grouped;
        }
        return match (grouped, tested_value(input)) {
            (_, Ok(found)) => Ok(found),
            (Ok(found), Err(_)) => Ok(found),
            (Err(a), Err(b)) => Err(further(a, b)),
        };
    }
    if let Ok((rest, _)) = kw("exists").parse(input) {
        let (rest, path) =
            expect(path, || "expected a field path after `exists`".into()).parse(rest)?;
        return Ok((rest, Expr::Exists { path }));
    }
    // `search` is not reserved: `search = 1` is a condition on a field called `search`.
    match search_query(input) {
        Ok((rest, query)) => Ok((rest, Expr::Search { path: None, query })),
        Err(nom::Err::Failure(e)) => Err(nom::Err::Failure(e)),
        Err(_) => tested_value(input),
    }
}

/// `"search" (string | param)`, the string checked against the syntax of searches (see
/// [`crate::text::search`]), a mistake in it reported where it is.
fn search_query(input: &str) -> PResult<'_, Operand> {
    let (rest, _) = kw("search").parse(input)?;
    let (at, _) = ws(rest)?;
    if at.starts_with(|c: char| c.is_ascii_digit() || c == '[' || c == '{') {
        return fail(
            at,
            "`search` needs a string of words (or a parameter): `search \"coral reef\"`".into(),
        );
    }
    if !at.starts_with(['"', '\'', '$']) && !at.starts_with("r\"") && !at.starts_with("r'") {
        return Err(nom::Err::Error(Failure::from_error_kind(
            input,
            ErrorKind::Tag,
        )));
    }
    let (rest, query) = value_after("search")(rest)?;
    match &query {
        Operand::Value(Value::String(text)) => {
            if let Err(err) = crate::text::parse_search(text) {
                // Point into the string: past its quote, at the character the search names.
                let body = at.char_indices().nth(1).map_or(at.len(), |(i, _)| i);
                let inside = at[body..]
                    .char_indices()
                    .nth(err.offset)
                    .map_or(at.len(), |(i, _)| body + i);
                return fail(
                    &at[inside.min(at.len())..],
                    format!("in the search: {}", err.message),
                );
            }
        }
        Operand::Value(other) => {
            return fail(at, format!("`search` needs a string of words, not {other}"));
        }
        _ => {}
    }
    Ok((rest, query))
}

/// `"(" expr ")"`
fn grouped_condition(input: &str) -> PResult<'_, Expr> {
    let (open, _) = ws(input)?;
    let (rest, _) = sym("(").parse(input)?;
    let (rest, inner) = expect(expr, || "expected a condition after `(`".into()).parse(rest)?;
    match sym(")").parse(rest) {
        Ok((rest, _)) => Ok((rest, inner)),
        Err(_) => {
            let at = ws(rest).map(|(r, _)| r).unwrap_or(rest);
            Err(nom::Err::Failure(Failure {
                input: at,
                message: Some("expected `)` to close the `(`".to_owned()),
                related: Some(open),
            }))
        }
    }
}

/// `operand predicate | operand`
fn tested_value(input: &str) -> PResult<'_, Expr> {
    let (rest, subject) = operand(input)?;
    let shown = subject.to_string();
    match predicate(subject.clone()).parse(rest) {
        // A value alone where the condition ends means `value = true`.
        Err(nom::Err::Error(_)) if ends_a_condition(rest) => Ok((
            rest,
            Expr::Compare {
                subject,
                op: CompareOp::Eq,
                value: Operand::Value(Value::Bool(true)),
            },
        )),
        Err(nom::Err::Error(_)) => fail(
            ws(rest)?.0,
            format!(
                "expected an operator after `{shown}` ({OPERATORS}); alone, {} means `{shown} = true`",
                if matches!(subject, Operand::Path(_)) {
                    "a field"
                } else {
                    "a value"
                }
            ),
        ),
        other => other,
    }
}

/// Of two failures, the one that read further (it knows more of what was meant).
fn further<'a>(a: nom::Err<Failure<'a>>, b: nom::Err<Failure<'a>>) -> nom::Err<Failure<'a>> {
    let left = |e: &nom::Err<Failure<'a>>| match e {
        nom::Err::Error(f) | nom::Err::Failure(f) => f.input.len(),
        nom::Err::Incomplete(_) => usize::MAX,
    };
    if left(&b) < left(&a) { b } else { a }
}

/// Whether the text at `rest` ends a condition: nothing, `)`, `;`, or a word that follows one.
fn ends_a_condition(rest: &str) -> bool {
    let Ok((at, _)) = ws(rest) else { return false };
    if at.is_empty() || at.starts_with([')', ';']) {
        return true;
    }
    let word: String = at
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(
        word.as_str(),
        "and" | "or" | "order" | "limit" | "offset" | "by" | "group" | "having"
    )
}

/// `not_expr = {"not"} condition`
pub(super) fn not_expr(input: &str) -> PResult<'_, Expr> {
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
pub(super) fn and_expr(input: &str) -> PResult<'_, Expr> {
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

pub(super) fn flatten(first: Expr, more: Vec<Expr>, or: bool) -> Expr {
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
