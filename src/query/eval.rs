//! Predicates ready to run: parameters bound, regexes compiled, and the one definition of what
//! each operator means. Every plan, indexed or not, ends by filtering documents through
//! [`Predicate::matches`], so the answer cannot depend on the plan.
//!
//! The rules: a missing field equals null; a comparison against an array is true when the
//! array itself or any element satisfies it; comparisons across types are false (ordering
//! comparisons only hold between values of the same type in the total order); `1 = 1.0`;
//! `!=`, `not in` and `is not null` are exactly the negations of `=`, `in` and `is null`.

use std::borrow::Cow;
use std::cmp::Ordering;

use std::sync::Arc;

use regex::Regex;

use crate::codec::document::{stored_scalar, stored_str};
use crate::error::{Error, Result};
use crate::path::Path;
use crate::query::ast::{CompareOp, Expr, Operand};
use crate::query::compute::Calc;
use crate::query::params::Params;
use crate::query::text::SearchCondition;
use crate::value::Value;

/// An expression ready to evaluate against documents.
#[derive(Clone, Debug)]
pub enum Predicate {
    /// Any of them.
    Or(Vec<Predicate>),
    /// All of them.
    And(Vec<Predicate>),
    /// The negation.
    Not(Box<Predicate>),
    /// `path OP value`.
    Compare(Path, CompareOp, Value),
    /// `path in [values]`.
    In(Path, Vec<Value>),
    /// `path between low and high`, both ends included.
    Between(Path, Value, Value),
    /// `path contains value`.
    Contains(Path, Value),
    /// `path starts with "prefix"`.
    StartsWith(Path, String),
    /// `path matches "regex"`.
    Matches(Path, Regex),
    /// `exists path`.
    Exists(Path),
    /// `path is null` (missing counts as null).
    IsNull(Path),
    /// `path has (condition)`: an element of the array at `path` (or the value itself when it
    /// is not an array) satisfies the condition, whose paths start at the element.
    Has(Path, Box<Predicate>),
    /// A condition on a computed value, or against values read from the document
    /// (`len(tags) > 2`, `price > cost * 2`): no index answers it.
    Test(Box<Test>),
    /// `search "words"`, bound to the collection's text index.
    Search(Arc<SearchCondition>),
}

/// A condition that computes: its subject and the values it is tested against are evaluated
/// for each document, then tested as a path's value would be (an array subject holds when
/// the array or one of its elements does).
#[derive(Clone, Debug)]
pub struct Test {
    /// What is tested.
    pub subject: Calc,
    /// The test.
    pub kind: TestKind,
}

/// What a [`Test`] asks of its subject.
#[derive(Clone, Debug)]
pub enum TestKind {
    /// `OP value` (`!=` is bound as `not =`).
    Compare(CompareOp, Calc),
    /// `in [values]`
    In(Vec<Calc>),
    /// `between low and high`
    Between(Calc, Calc),
    /// `contains value`
    Contains(Calc),
    /// `starts with prefix`
    StartsWith(Calc),
    /// `matches "regex"` (the pattern reads no document)
    Matches(Regex),
    /// `is null`
    IsNull,
}

impl Test {
    fn matches<'a>(&'a self, doc: &'a Value) -> bool {
        let kind = &self.kind;
        // What the subject is tested against, computed once per document. A value read from
        // the document stands for itself and each of its elements, as a path does; a
        // constant stands for itself.
        let single = |v: &'a Calc| match v {
            Calc::Const(v) => vec![Cow::Borrowed(v)],
            other => vec![Cow::Owned(other.eval(doc))],
        };
        let operands: Vec<Vec<Cow<'a, Value>>> = match kind {
            TestKind::Compare(_, v) => vec![candidates(v, doc)],
            TestKind::In(values) => vec![values.iter().flat_map(|v| candidates(v, doc)).collect()],
            TestKind::Between(low, high) => vec![candidates(low, doc), candidates(high, doc)],
            TestKind::Contains(v) | TestKind::StartsWith(v) => vec![single(v)],
            TestKind::Matches(_) | TestKind::IsNull => Vec::new(),
        };
        let holds = |c: &Value| match kind {
            TestKind::Compare(op, _) => operands[0].iter().any(|v| compare(c, *op, v)),
            TestKind::In(_) => operands[0].iter().any(|v| **v == *c),
            TestKind::Between(..) => operands[0].iter().any(|low| {
                compare(c, CompareOp::Ge, low)
                    && operands[1]
                        .iter()
                        .any(|high| compare(c, CompareOp::Le, high))
            }),
            TestKind::StartsWith(_) => match (c, &*operands[0][0]) {
                (Value::String(s), Value::String(prefix)) => s.starts_with(prefix.as_str()),
                _ => false,
            },
            TestKind::Matches(regex) => c.as_str().is_some_and(|s| regex.is_match(s)),
            TestKind::IsNull => matches!(c, Value::Null),
            TestKind::Contains(_) => unreachable!("contains looks at whole values"),
        };
        let contains = |reached: &Value| match (reached, &*operands[0][0]) {
            (Value::Array(items), needle) => items.contains(needle),
            (Value::String(hay), Value::String(needle)) => hay.contains(needle.as_str()),
            _ => false,
        };
        match (&self.subject, kind) {
            (Calc::Path(path), TestKind::Contains(_)) => path.any_value(doc, contains),
            (Calc::Path(path), _) => path.any_candidate(doc, holds),
            (subject, TestKind::Contains(_)) => contains(&subject.eval(doc)),
            (subject, _) => candidates(subject, doc).iter().any(|c| holds(c)),
        }
    }

    fn paths(&self) -> Vec<&Path> {
        let mut out = self.subject.paths();
        match &self.kind {
            TestKind::Compare(_, v) | TestKind::Contains(v) | TestKind::StartsWith(v) => {
                out.extend(v.paths());
            }
            TestKind::In(values) => out.extend(values.iter().flat_map(Calc::paths)),
            TestKind::Between(low, high) => {
                out.extend(low.paths());
                out.extend(high.paths());
            }
            TestKind::Matches(_) | TestKind::IsNull => {}
        }
        out
    }
}

/// Binds parameters, folds constants and compiles regexes: the expression as it will run.
/// A condition on a path against values known before reading (the kind an index can answer)
/// keeps its own form; a computed one becomes a [`Predicate::Test`].
pub fn bind(expr: &Expr, params: &Params) -> Result<Predicate> {
    let calc = |operand: &Operand| Calc::bind(operand, params);
    Ok(match expr {
        Expr::Or(items) => Predicate::Or(bind_all(items, params)?),
        Expr::And(items) => Predicate::And(bind_all(items, params)?),
        Expr::Not(inner) => Predicate::Not(Box::new(bind(inner, params)?)),
        Expr::Compare { subject, op, value } => {
            let (mut subject, mut value, mut op) = (calc(subject)?, calc(value)?, *op);
            // `5 < n` is `n > 5`: the path goes first, where an index can use it.
            if subject.as_const().is_some() && value.as_path().is_some() {
                std::mem::swap(&mut subject, &mut value);
                op = op.flipped();
            }
            let (negated, op) = match op {
                CompareOp::Ne => (true, CompareOp::Eq),
                op => (false, op),
            };
            let predicate = match (subject, value) {
                (Calc::Path(path), Calc::Const(value)) => Predicate::Compare(path, op, value),
                (subject, value) => test(subject, TestKind::Compare(op, value)),
            };
            negate_if(negated, predicate)
        }
        Expr::In {
            subject,
            values,
            negated,
        } => {
            let values = values.iter().map(calc).collect::<Result<Vec<_>>>()?;
            let predicate = match (calc(subject)?, constants(&values)) {
                (Calc::Path(path), Some(values)) => Predicate::In(path, values),
                (subject, _) => test(subject, TestKind::In(values)),
            };
            negate_if(*negated, predicate)
        }
        Expr::Between { subject, low, high } => match (calc(subject)?, calc(low)?, calc(high)?) {
            (Calc::Path(path), Calc::Const(low), Calc::Const(high)) => {
                Predicate::Between(path, low, high)
            }
            (subject, low, high) => test(subject, TestKind::Between(low, high)),
        },
        Expr::Contains { subject, value } => match (calc(subject)?, calc(value)?) {
            (Calc::Path(path), Calc::Const(value)) => Predicate::Contains(path, value),
            (subject, value) => test(subject, TestKind::Contains(value)),
        },
        Expr::StartsWith { subject, prefix } => match (calc(subject)?, calc(prefix)?) {
            (Calc::Path(path), Calc::Const(Value::String(s))) => Predicate::StartsWith(path, s),
            (_, Calc::Const(other)) if !matches!(other, Value::String(_)) => {
                return Err(Error::Query(format!(
                    "`starts with` needs a string, not {other}"
                )));
            }
            (subject, prefix) => test(subject, TestKind::StartsWith(prefix)),
        },
        Expr::Matches { subject, pattern } => {
            let regex = match calc(pattern)? {
                Calc::Const(Value::String(s)) => compile_regex(&s)?,
                Calc::Const(other) => {
                    return Err(Error::Query(format!(
                        "`matches` needs a regular expression string, not {other}"
                    )));
                }
                _ => {
                    return Err(Error::Query(format!(
                        "the pattern after `matches` cannot read the document (`{pattern}`): \
                         write a string or a parameter"
                    )));
                }
            };
            match calc(subject)? {
                Calc::Path(path) => Predicate::Matches(path, regex),
                subject => test(subject, TestKind::Matches(regex)),
            }
        }
        Expr::Exists { path } => Predicate::Exists(path.clone()),
        Expr::IsNull { subject, negated } => negate_if(
            *negated,
            match calc(subject)? {
                Calc::Path(path) => Predicate::IsNull(path),
                subject => test(subject, TestKind::IsNull),
            },
        ),
        Expr::Search { path, query } => Predicate::Search(crate::query::text::bound_condition(
            params.search(),
            path.as_ref(),
            query,
            &|p| params.get(p),
        )?),
        Expr::Has { path, condition } => Predicate::Has(
            path.clone(),
            Box::new(bind(&element_relative(condition), params)?),
        ),
    })
}

/// The values a computed operand stands for in a comparison: a constant, itself; a path,
/// [`Path::candidates`]; another expression, its value and, for an array, each element.
/// Constants and what a path reaches are borrowed, not copied for each document.
fn candidates<'a>(calc: &'a Calc, doc: &'a Value) -> Vec<Cow<'a, Value>> {
    match calc {
        Calc::Const(v) => vec![Cow::Borrowed(v)],
        Calc::Path(path) => path
            .candidates(doc)
            .into_iter()
            .map(Cow::Borrowed)
            .collect(),
        other => match other.eval(doc) {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len() + 1);
                out.extend(items.iter().cloned().map(Cow::Owned));
                out.push(Cow::Owned(Value::Array(items)));
                out
            }
            value => vec![Cow::Owned(value)],
        },
    }
}

fn test(subject: Calc, kind: TestKind) -> Predicate {
    Predicate::Test(Box::new(Test { subject, kind }))
}

/// The values, when every one is known before reading.
fn constants(values: &[Calc]) -> Option<Vec<Value>> {
    values.iter().map(|v| v.as_const().cloned()).collect()
}

/// A `has` condition with its paths made relative to the element: `_` is the element itself,
/// `_.x` and `x` its field `x`.
pub(crate) fn element_relative(expr: &Expr) -> Expr {
    let rebase = |path: &Path| match path.segments() {
        [crate::path::Segment::Field(head), rest @ ..] if head == "_" => Path::new(rest.to_vec()),
        _ => path.clone(),
    };
    // A `has` inside a `has` starts at the outer element; its own condition is rebased when
    // it is bound.
    let rebased: std::result::Result<Expr, std::convert::Infallible> = expr.map(
        &mut |operand| {
            Ok(operand
                .rewrite(&mut |o| {
                    Ok(match o {
                        Operand::Path(path) => Some(Operand::Path(rebase(path))),
                        _ => None,
                    })
                })
                .unwrap_or_else(|_: String| operand.clone()))
        },
        &mut |path, _| Ok(rebase(path)),
    );
    match rebased {
        Ok(expr) => expr,
        Err(never) => match never {},
    }
}

/// Compiles a `matches` pattern with bounded size, so a hostile pattern is an error, not a
/// memory blow-up. (The regex crate guarantees linear-time matching.)
pub fn compile_regex(pattern: &str) -> Result<Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(4 << 20)
        .build()
        .map_err(|e| {
            // The regex crate's message spans lines (pattern, caret, error); keep the error.
            let text = e.to_string();
            let reason = text
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or(text.lines().last().unwrap_or("invalid"))
                .to_owned();
            Error::Query(format!("invalid regular expression {pattern:?}: {reason}"))
        })
}

fn bind_all(items: &[Expr], params: &Params) -> Result<Vec<Predicate>> {
    items.iter().map(|e| bind(e, params)).collect()
}

fn negate_if(negated: bool, predicate: Predicate) -> Predicate {
    if negated {
        Predicate::Not(Box::new(predicate))
    } else {
        predicate
    }
}

/// `candidate OP value` for one candidate: ordering comparisons hold only within one type.
pub fn compare(candidate: &Value, op: CompareOp, value: &Value) -> bool {
    if op == CompareOp::Eq {
        return candidate == value;
    }
    if op == CompareOp::Ne {
        return candidate != value;
    }
    if candidate.type_rank() != value.type_rank() {
        return false;
    }
    let ordering = candidate.cmp(value);
    match op {
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Eq | CompareOp::Ne => unreachable!("handled above"),
    }
}

impl Predicate {
    /// Every path the predicate reads, in order, with repeats.
    ///
    /// ```
    /// use quarry::internals::eval::Predicate;
    /// let path = |p: &str| p.parse::<quarry::paths::Path>().unwrap();
    /// let predicate = Predicate::And(vec![
    ///     Predicate::Exists(path("a")),
    ///     Predicate::Not(Box::new(Predicate::Or(vec![
    ///         Predicate::IsNull(path("b.c")),
    ///         Predicate::Exists(path("a")),
    ///     ]))),
    /// ]);
    /// let paths: Vec<String> = predicate.paths().map(|p| p.to_string()).collect();
    /// assert_eq!(paths, ["a", "b.c", "a"]);
    /// ```
    pub fn paths(&self) -> Box<dyn Iterator<Item = &Path> + '_> {
        match self {
            Predicate::Or(items) | Predicate::And(items) => {
                Box::new(items.iter().flat_map(Predicate::paths))
            }
            Predicate::Not(inner) => inner.paths(),
            Predicate::Compare(path, ..)
            | Predicate::In(path, _)
            | Predicate::Between(path, ..)
            | Predicate::Contains(path, _)
            | Predicate::StartsWith(path, _)
            | Predicate::Matches(path, _)
            | Predicate::Exists(path)
            | Predicate::IsNull(path)
            | Predicate::Has(path, _) => Box::new(std::iter::once(path)),
            Predicate::Test(test) => Box::new(test.paths().into_iter()),
            Predicate::Search(search) => Box::new(search.index.paths.iter()),
        }
    }

    /// Whether `doc` satisfies the predicate.
    pub fn matches(&self, doc: &Value) -> bool {
        match self {
            Predicate::Or(items) => items.iter().any(|p| p.matches(doc)),
            Predicate::And(items) => items.iter().all(|p| p.matches(doc)),
            Predicate::Not(inner) => !inner.matches(doc),
            Predicate::Compare(path, op, value) => {
                path.any_candidate(doc, |c| compare(c, *op, value))
            }
            Predicate::In(path, values) => path.any_candidate(doc, |c| values.contains(c)),
            Predicate::Between(path, low, high) => path.any_candidate(doc, |c| {
                compare(c, CompareOp::Ge, low) && compare(c, CompareOp::Le, high)
            }),
            Predicate::Contains(path, needle) => {
                path.any_value(doc, |reached| match (reached, needle) {
                    (Value::Array(items), _) => items.contains(needle),
                    (Value::String(hay), Value::String(needle)) => hay.contains(needle.as_str()),
                    _ => false,
                })
            }
            Predicate::StartsWith(path, prefix) => path.any_candidate(doc, |c| {
                c.as_str().is_some_and(|s| s.starts_with(prefix.as_str()))
            }),
            Predicate::Matches(path, regex) => {
                path.any_candidate(doc, |c| c.as_str().is_some_and(|s| regex.is_match(s)))
            }
            Predicate::Exists(path) => path.any_value(doc, |_| true),
            Predicate::IsNull(path) => path.any_candidate(doc, |c| matches!(c, Value::Null)),
            Predicate::Has(path, inner) => path.any_value(doc, |reached| match reached {
                Value::Array(items) => items.iter().any(|item| inner.matches(item)),
                other => inner.matches(other),
            }),
            Predicate::Test(test) => test.matches(doc),
            Predicate::Search(search) => search.holds(doc),
        }
    }

    /// Whether the document stored as `bytes` satisfies the predicate, decided from the bytes
    /// in place when that is cheap and certain: a condition on a top-level field that holds a
    /// scalar (a text match on a string, read without copying it; a comparison, `in` or
    /// `between` on a null, boolean, number or string), and `and`, `or`, `not` of such. `None`
    /// when the document must be decoded to tell; when it decides, it gives the answer
    /// [`Predicate::matches`] gives on the decoded document.
    ///
    /// ```
    /// # use quarry::query::{eval, parse_statement, ast::{Statement, Query}};
    /// # let Statement::Query(Query { filter: Some(expr), .. }) =
    /// #     parse_statement(r#"where body matches "gla.*er" and n > 1"#).unwrap() else { panic!() };
    /// let predicate = eval::bind(&expr, &Default::default()).unwrap();
    /// let doc: quarry::Value = serde_json::json!({"n": 2, "body": "a glacier"}).try_into().unwrap();
    /// let mut bytes = Vec::new();
    /// quarry::internals::codec::document::encode_document(&doc, &mut bytes).unwrap();
    /// assert_eq!(predicate.matches_stored(&bytes), Some(true));
    /// ```
    pub fn matches_stored(&self, bytes: &[u8]) -> Option<bool> {
        let text = |path: &Path| stored_str(bytes, top_level_field(path)?);
        let scalar = |path: &Path| stored_scalar(bytes, top_level_field(path)?);
        match self {
            Predicate::Matches(path, regex) => text(path).map(|s| regex.is_match(s)),
            Predicate::StartsWith(path, prefix) => {
                text(path).map(|s| s.starts_with(prefix.as_str()))
            }
            Predicate::Compare(path, op, value) => scalar(path).map(|c| compare(&c, *op, value)),
            Predicate::In(path, values) => scalar(path).map(|c| values.contains(&c)),
            Predicate::Between(path, low, high) => scalar(path)
                .map(|c| compare(&c, CompareOp::Ge, low) && compare(&c, CompareOp::Le, high)),
            Predicate::Not(inner) => inner.matches_stored(bytes).map(|holds| !holds),
            Predicate::And(items) => decided(items, bytes, false),
            Predicate::Or(items) => decided(items, bytes, true),
            _ => None,
        }
    }

    /// The conjuncts of the predicate: its parts when it is an `and`, else itself.
    pub fn conjuncts(&self) -> Vec<&Predicate> {
        match self {
            Predicate::And(items) => items.iter().flat_map(Predicate::conjuncts).collect(),
            other => vec![other],
        }
    }
}

/// The top-level field a one-segment path names.
fn top_level_field(path: &Path) -> Option<&str> {
    path.head().filter(|_| path.segments().len() == 1)
}

/// An `and` (`settles` false) or `or` (`settles` true) decided from stored bytes: one item
/// deciding `settles` decides it; every item deciding the other way does too.
fn decided(items: &[Predicate], bytes: &[u8], settles: bool) -> Option<bool> {
    let mut all_decided = true;
    for item in items {
        match item.matches_stored(bytes) {
            Some(holds) if holds == settles => return Some(settles),
            Some(_) => {}
            None => all_decided = false,
        }
    }
    all_decided.then_some(!settles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::ast::{Query, Statement};
    use crate::query::parse_statement;

    fn doc(json: serde_json::Value) -> Value {
        Value::try_from(json).unwrap()
    }

    /// Whether `doc` matches the condition written in the language.
    fn holds(condition: &str, d: &Value) -> bool {
        let statement = parse_statement(&format!("where {condition}")).unwrap();
        let Statement::Query(Query {
            filter: Some(expr), ..
        }) = statement
        else {
            panic!("not a query")
        };
        let params = Params::new().with("x", 2i64).with_positional("a");
        bind(&expr, &params).unwrap().matches(d)
    }

    #[test]
    fn a_missing_field_equals_null() {
        let d = doc(serde_json::json!({"a": 1}));
        assert!(holds("b = null", &d));
        assert!(holds("b is null", &d));
        assert!(!holds("b is not null", &d));
        assert!(!holds("exists b", &d));
        assert!(holds("exists a", &d));
        let explicit = doc(serde_json::json!({"b": null}));
        assert!(holds("b is null", &explicit) && holds("exists b", &explicit));
    }

    #[test]
    fn not_equal_is_exactly_not_equal() {
        for d in [
            doc(serde_json::json!({"a": 1})),
            doc(serde_json::json!({"a": [1, 2]})),
            doc(serde_json::json!({"a": "1"})),
            doc(serde_json::json!({})),
        ] {
            for v in ["1", "2", "null", "\"1\"", "[1, 2]"] {
                assert_eq!(
                    holds(&format!("a != {v}"), &d),
                    !holds(&format!("a = {v}"), &d),
                    "{d} {v}"
                );
                assert_eq!(
                    holds(&format!("a <> {v}"), &d),
                    !holds(&format!("a == {v}"), &d)
                );
            }
            assert_eq!(holds("a not in [1, 3]", &d), !holds("a in [1, 3]", &d));
            assert_eq!(holds("a is not null", &d), !holds("a is null", &d));
        }
    }

    #[test]
    fn a_condition_on_an_array_holds_when_any_element_or_the_array_does() {
        let d = doc(serde_json::json!({"tags": ["reef", "fiji"], "n": [1, 10]}));
        assert!(holds("tags = \"fiji\"", &d));
        assert!(holds("tags = [\"reef\", \"fiji\"]", &d));
        assert!(!holds("tags = \"reef fiji\"", &d));
        assert!(holds("n > 5", &d) && holds("n < 5", &d));
        assert!(
            !holds("n between 2 and 9", &d),
            "one element must satisfy both ends"
        );
        assert!(holds("tags in [\"x\", \"reef\"]", &d));
        assert!(holds("tags starts with \"fi\"", &d));
        assert!(holds("tags matches \"^r\"", &d));
    }

    #[test]
    fn comparisons_across_types_are_false_never_errors() {
        let d = doc(serde_json::json!({"s": "abc", "n": 5, "b": true}));
        assert!(!holds("s > 1", &d) && !holds("s < 1", &d) && !holds("s = 1", &d));
        assert!(!holds("n > \"a\"", &d) && !holds("n < \"a\"", &d));
        assert!(!holds("b > 1", &d));
        assert!(!holds("n starts with \"5\"", &d) && !holds("n matches \"5\"", &d));
        assert!(!holds("n between 1 and \"z\"", &d));
        assert!(holds("b > false", &d));
    }

    #[test]
    fn integers_and_floats_are_one_number_type() {
        let d = doc(serde_json::json!({"i": 1, "f": 2.5}));
        assert!(holds("i = 1.0", &d) && holds("i in [1.0]", &d));
        assert!(holds("f > 2", &d) && holds("f < 3", &d) && holds("f between 2 and 3", &d));
    }

    #[test]
    fn contains_looks_into_arrays_and_strings() {
        let d = doc(serde_json::json!({"tags": ["a", "b"], "title": "Coral reef survey", "n": 12}));
        assert!(holds("tags contains \"a\"", &d));
        assert!(!holds("tags contains \"c\"", &d));
        assert!(holds("title contains \"reef\"", &d));
        assert!(!holds("title contains \"Reef\"", &d));
        assert!(!holds("n contains 1", &d));
    }

    #[test]
    fn matches_uses_regex_syntax_with_inline_flags() {
        let d = doc(serde_json::json!({"title": "Coral Reef"}));
        assert!(holds("title matches \"(?i)^coral\"", &d));
        assert!(!holds("title matches \"^coral\"", &d));
        assert!(compile_regex("(").is_err());
    }

    #[test]
    fn nested_paths_reach_into_objects_and_arrays_of_objects() {
        let d = doc(
            serde_json::json!({"author": {"name": "Ada"}, "people": [{"n": "x"}, {"n": "y"}], "t": [5, 6]}),
        );
        assert!(holds("author.name = \"Ada\"", &d));
        assert!(holds("people.n = \"y\"", &d));
        assert!(holds("t[1] = 6", &d) && !holds("t[0] = 6", &d));
    }

    #[test]
    fn boolean_logic_and_parameters() {
        let d = doc(serde_json::json!({"a": 2, "b": "a"}));
        assert!(holds("a = $x and b = $1", &d));
        assert!(holds("not a = 3 or a = 9", &d));
        assert!(!holds("not (a = 2 or a = 9)", &d));
        let statement = parse_statement("where a = $missing").unwrap();
        let Statement::Query(Query {
            filter: Some(expr), ..
        }) = statement
        else {
            unreachable!()
        };
        let err = bind(&expr, &Params::new()).unwrap_err();
        assert_eq!(err.to_string(), "no value is bound for parameter $missing");
    }

    /// Documents with text, numbers, arrays of text, objects and nulls in a few fields.
    fn stored_doc() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let field = prop_oneof![
            "[a-c]{0,6}".prop_map(serde_json::Value::from),
            (0i64..3).prop_map(serde_json::Value::from),
            prop::collection::vec("[a-c]{0,3}", 0..3).prop_map(|v| serde_json::json!(v)),
            "[a-c]{0,3}".prop_map(|s| serde_json::json!({ "t": s })),
            Just(serde_json::Value::Null),
        ];
        prop::collection::btree_map(prop::sample::select(vec!["t", "u", "v"]), field, 0..3)
            .prop_map(|m| {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect())
            })
    }

    proptest::proptest! {
        /// Deciding on the stored bytes never disagrees with deciding on the decoded document.
        #[test]
        fn a_predicate_decided_on_stored_bytes_agrees_with_the_decoded_document(
            json in stored_doc(),
            condition in proptest::sample::select(vec![
                r#"t matches "a.?b""#, r#"t matches "^$""#, r#"t starts with "ab""#,
                r#"not t starts with "a""#, r#"t matches "b" and u starts with "c""#,
                r#"t matches "c" or u = 1"#, r#"t.t matches "a""#, r#"u matches "a" or v is null"#,
                r#"t starts with "" and not (u matches "b")"#,
                "u = 1", "u = 1.0", "u > 0", "t < \"b\"", "u in [0, 2, \"a\"]", "t != null",
                "u between 1 and 2", "t = \"ab\" or u >= 2", "not (u < 1) and t != \"\"",
                "u = null", "t.t = \"a\"",
            ]),
        ) {
            let d = doc(json);
            let mut bytes = Vec::new();
            crate::codec::document::encode_document(&d, &mut bytes).unwrap();
            let Statement::Query(Query { filter: Some(expr), .. }) =
                parse_statement(&format!("where {condition}")).unwrap() else { panic!() };
            let predicate = bind(&expr, &Params::new()).unwrap();
            if let Some(holds) = predicate.matches_stored(&bytes) {
                proptest::prop_assert_eq!(holds, predicate.matches(&d), "{} on {}", condition, d);
            }
        }
    }

    proptest::proptest! {
        /// A comparison reads the same whichever side each value is written on, and `in` a
        /// list of one value is `=` that value.
        #[test]
        fn a_comparison_does_not_depend_on_the_side_a_value_is_written_on(
            json in stored_doc(),
            left in proptest::sample::select(vec!["t", "u", "v", "u + 1", "len(t)", "1", "\"a\"", "[1]"]),
            right in proptest::sample::select(vec!["t", "u", "v", "u * 2", "coalesce(v, 0)", "2", "\"b\""]),
            op in proptest::sample::select(vec![CompareOp::Eq, CompareOp::Ne, CompareOp::Lt, CompareOp::Le, CompareOp::Gt, CompareOp::Ge]),
        ) {
            let d = doc(json);
            let written = holds(&format!("{left} {op} {right}"), &d);
            let flipped = holds(&format!("{right} {} {left}", op.flipped()), &d);
            proptest::prop_assert_eq!(written, flipped, "{} {} {} on {}", left, op, right, d);
            if op == CompareOp::Eq {
                proptest::prop_assert_eq!(written, holds(&format!("{left} in [{right}]"), &d));
            }
        }
    }

    #[test]
    fn conditions_on_top_level_scalars_are_decided_on_the_stored_bytes() {
        let decide = |condition: &str, json: serde_json::Value| {
            let mut bytes = Vec::new();
            crate::codec::document::encode_document(&doc(json), &mut bytes).unwrap();
            let Statement::Query(Query {
                filter: Some(expr), ..
            }) = parse_statement(&format!("where {condition}")).unwrap()
            else {
                panic!()
            };
            bind(&expr, &Params::new()).unwrap().matches_stored(&bytes)
        };
        let m = r#"t matches "a""#;
        assert_eq!(
            decide(m, serde_json::json!({"u": 1, "t": "xa"})),
            Some(true)
        );
        assert_eq!(decide(m, serde_json::json!({"t": "xb"})), Some(false));
        // Arrays, other types, missing fields and nested paths are left to the decoded document.
        assert_eq!(decide("t = 1", serde_json::json!({"t": 1.0})), Some(true));
        assert_eq!(decide("t = 1", serde_json::json!({"t": [1]})), None);
        assert_eq!(decide(m, serde_json::json!({"t": ["a"]})), None);
        assert_eq!(decide(m, serde_json::json!({"t": 1})), None);
        assert_eq!(decide(m, serde_json::json!({})), None);
        assert_eq!(
            decide(r#"t.x matches "a""#, serde_json::json!({"t": {"x": "a"}})),
            None
        );
        // `and` settles on one false part, `or` on one true part.
        let and = r#"t matches "b" and u = 1"#;
        assert_eq!(
            decide(and, serde_json::json!({"t": "a", "u": 1})),
            Some(false)
        );
        assert_eq!(
            decide(and, serde_json::json!({"t": "b", "u": 1})),
            Some(true)
        );
        assert_eq!(decide(and, serde_json::json!({"t": "b", "u": [1]})), None);
        let or = r#"t matches "a" or u = 1"#;
        assert_eq!(decide(or, serde_json::json!({"t": "a"})), Some(true));
    }
}
