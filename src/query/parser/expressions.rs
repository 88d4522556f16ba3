//! Conditions: comparisons, `in`, `between`, `contains`, `starts with`, `matches`, `exists`,
//! `is null`, and `not`/`and`/`or` with parentheses, `and` binding tighter than `or`.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::combinator::{map, opt, value};
use nom::error::{ErrorKind, ParseError as NomParseError};
use nom::multi::many0;
use nom::sequence::{pair, preceded};

use crate::path::Path;
use crate::query::ast::{CompareOp, Expr, Operand};
use crate::value::Value;

use super::lexing::*;

/// `operand = literal | param`
pub(super) fn operand(input: &str) -> PResult<'_, Operand> {
    alt((map(literal, Operand::Value), map(param, Operand::Param))).parse(input)
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
pub(super) fn predicate(path: Path) -> impl FnMut(&str) -> PResult<'_, Expr> {
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
            return Ok((rest, Expr::Matches { path, pattern }));
        }
        if let Ok((rest, _)) = kw("has").parse(input) {
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
            return Ok((rest, Expr::IsNull { path, negated }));
        }
        Err(nom::Err::Error(Failure::from_error_kind(
            input,
            ErrorKind::Alt,
        )))
    }
}

/// `condition = "(" expr ")" | "exists" path | path predicate | path` (a bare path is
/// `path = true`)
pub(super) fn condition(input: &str) -> PResult<'_, Expr> {
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
    match predicate(p.clone()).parse(rest) {
        // A bare path where the condition ends means `path = true`.
        Err(nom::Err::Error(_)) if ends_a_condition(rest) => Ok((
            rest,
            Expr::Compare {
                path: p,
                op: CompareOp::Eq,
                value: Operand::Value(Value::Bool(true)),
            },
        )),
        Err(nom::Err::Error(_)) => fail(
            ws(rest)?.0,
            format!(
                "expected an operator after `{shown}` ({OPERATORS}); alone, a field means `{shown} = true`"
            ),
        ),
        other => other,
    }
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
        "and" | "or" | "order" | "limit" | "offset" | "by"
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
