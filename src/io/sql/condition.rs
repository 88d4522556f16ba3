//! Conditions as SQL over a jsonb value: the document (`doc`, whose `_id` is the `id`
//! column) or an element of a `has` array.
//!
//! A comparison is one lax SQL/JSON path test (`doc @? '$ ? (…)'`), and tests are joined by
//! SQL's `and`, `or` and `not`. Each test is two-valued (never null), so `!=` is exactly
//! `not (=)`; a lax comparison tries a value and each element of an array, as quarry does (the
//! value tested is always a field, of the document or of the object holding a `has` element:
//! lax mode unwraps an array tested as the root once more); a
//! comparison across types is unknown, which a filter drops, as quarry's is false; `1 == 1.0`
//! holds; strings compare by code point whatever the collation. Where the statement gives the
//! value, the path is a constant the export's GIN index (`jsonb_path_ops`) serves; with a
//! parameter, the path is built from the parameter's value (its text and type) when the
//! statement runs, and is still an index condition, since it reads no column.
//!
//! Invariant: the SQL of a condition holds for exactly the rows quarry's condition holds for.

use crate::error::{Error, Result};
use crate::path::{Path, Segment};
use crate::query::ast::{CompareOp, Expr, Operand};
use crate::value::Value;

use super::expression::{Scope, value};
use super::path::{json_path, json_string};
use super::{Cx, jsonb, large_integral, not_yet, quote};

/// What a condition reads.
pub(super) struct Subject {
    /// The jsonb value: `doc`, or a `has` element's alias.
    sql: String,
    /// Whether it is the document, whose `_id` is the `id` column.
    document: bool,
    /// How many `has` enclose it (for aliases of their own).
    depth: usize,
}

impl Subject {
    /// The document of the row.
    pub(super) fn document() -> Subject {
        Subject {
            sql: "doc".into(),
            document: true,
            depth: 0,
        }
    }

    /// A jsonb row that is not a document (a group row).
    pub(super) fn row(sql: &str) -> Subject {
        Subject {
            sql: sql.into(),
            document: false,
            depth: 0,
        }
    }
}

/// The condition `expr` as SQL over `subject`.
pub(super) fn condition(expr: &Expr, subject: &Subject, cx: &mut Cx) -> Result<String> {
    let mut joined = |parts: &[Expr], word: &str| -> Result<String> {
        let parts: Vec<String> = parts
            .iter()
            .map(|p| condition(p, subject, cx))
            .collect::<Result<_>>()?;
        Ok(match parts.len() {
            0 => (if word == "and" { "true" } else { "false" }).to_owned(),
            _ => format!("({})", parts.join(&format!(" {word} "))),
        })
    };
    match expr {
        Expr::Search { .. } => Err(super::not_yet(
            "`search` (quarry's own tokens, stemming and BM25 are not PostgreSQL's text search)",
        )),
        Expr::And(parts) => joined(parts, "and"),
        Expr::Or(parts) => joined(parts, "or"),
        Expr::Not(inner) => Ok(negate(condition(inner, subject, cx)?)),
        Expr::Compare {
            subject: a,
            op,
            value: b,
        } => {
            let (read, op, value) = match (a, b) {
                (read, value) if constant(value) => (read, *op, value),
                (value, read) if constant(value) => (read, op.flipped(), value),
                _ => {
                    return Err(not_yet(&format!(
                        "a comparison of two values read from the document (`{a} {op} {b}`)"
                    )));
                }
            };
            let value = lit(value, cx)?;
            if subject.document
                && let Operand::Path(path) = read
                && path.is_id()
                && let Some(sql) = id_compare(op, &value)
            {
                return Ok(sql);
            }
            let (s, p) = reach(subject, read, cx)?;
            compare(&s, &p, op, &value)
        }
        Expr::In {
            subject: a,
            values,
            negated,
        } => {
            let (s, p) = reach(subject, a, cx)?;
            let values: Vec<Lit> = values.iter().map(|v| lit(v, cx)).collect::<Result<_>>()?;
            let positive = if values.iter().all(|v| matches!(v, Lit::Value(_))) {
                let mut alternatives = Vec::new();
                for value in &values {
                    let Lit::Value(value) = value else {
                        unreachable!("all are values")
                    };
                    alternatives.push(match scalar(value)? {
                        Some(x) => format!("{p} == {}", x.text),
                        None => null_form(&p),
                    });
                }
                match alternatives.is_empty() {
                    true => "false".to_owned(),
                    false => test(&s, &Jp::text(&alternatives.join(" || "))),
                }
            } else {
                let tests: Vec<String> = values
                    .iter()
                    .map(|v| compare(&s, &p, CompareOp::Eq, v))
                    .collect::<Result<_>>()?;
                format!("({})", tests.join(" or "))
            };
            Ok(if *negated { negate(positive) } else { positive })
        }
        Expr::Between {
            subject: a,
            low,
            high,
        } => {
            let (low, high) = (lit(low, cx)?, lit(high, cx)?);
            if subject.document
                && let Operand::Path(path) = a
                && path.is_id()
                && let (Some(low), Some(high)) = (id_number(&low), id_number(&high))
            {
                return Ok(format!("(id >= {low} and id <= {high})"));
            }
            let (s, p) = reach(subject, a, cx)?;
            between(&s, &p, &low, &high)
        }
        Expr::StartsWith { subject: a, prefix } => {
            let (s, p) = reach(subject, a, cx)?;
            let prefix = match lit(prefix, cx)? {
                Lit::Value(Value::String(prefix)) => Jp::text(&json_string(&prefix)?),
                Lit::Value(other) => {
                    return Err(Error::Query(format!(
                        "`starts with` needs a string, not {other}"
                    )));
                }
                Lit::Param(n) => Jp::sql(format!("quarry.lit_string(${n}::jsonb)")),
            };
            let predicate = Jp::text(&format!(
                "exists({p} ? (@.type() == \"string\" && @ starts with "
            ))
            .then(prefix)
            .then_text("))");
            Ok(test(&s, &predicate))
        }
        Expr::Matches {
            subject: a,
            pattern,
        } => {
            let (s, p) = reach(subject, a, cx)?;
            let pattern = match pattern {
                Operand::Value(Value::String(pattern)) => pattern,
                Operand::Value(other) => {
                    return Err(Error::Query(format!(
                        "`matches` needs a regular expression string, not {other}"
                    )));
                }
                _ => return Err(not_yet("`matches` with a pattern that is not a constant")),
            };
            crate::query::eval::compile_regex(pattern)?;
            let are = super::regex::to_postgres(pattern).map_err(|why| {
                not_yet(&format!("the regular expression {pattern:?}, with {why},"))
            })?;
            Ok(test(
                &s,
                &Jp::text(&format!(
                    "exists({p} ? (@.type() == \"string\" && @ like_regex {}))",
                    super::regex::jsonpath_string(&are)
                )),
            ))
        }
        Expr::Exists { path } => {
            let (s, p) = reach_path(subject, path)?;
            Ok(test(&s, &Jp::text(&format!("exists({p})"))))
        }
        Expr::IsNull {
            subject: a,
            negated,
        } => {
            let (s, p) = reach(subject, a, cx)?;
            let positive = test(&s, &Jp::text(&null_form(&p)));
            Ok(if *negated { negate(positive) } else { positive })
        }
        Expr::Contains { subject: a, value } => {
            let (s, p) = reach(subject, a, cx)?;
            let needle = match lit(value, cx)? {
                Lit::Value(value) if has_object(&value) => {
                    return Err(not_yet(
                        "`contains` of an object (jsonb does not keep the order of its fields)",
                    ));
                }
                Lit::Value(value) => jsonb(&value)?,
                Lit::Param(n) => format!("${n}::jsonb"),
            };
            let r = format!("r{}", subject.depth);
            Ok(format!(
                "exists (select from jsonb_path_query({s}, '{}') {r}(v) where \
                 quarry.contains({r}.v, {needle}))",
                quote(&format!("lax {}", dollar(&p)))
            ))
        }
        Expr::Has {
            path,
            condition: inner,
        } => {
            let (s, p) = reach_path(subject, path)?;
            let depth = subject.depth;
            // The element is read as the field `_` of an object, as a document's fields are:
            // tested as the root itself, an element that is an array would be unwrapped once
            // more than quarry does.
            let element = Subject {
                sql: format!("jsonb_build_object('_', e{depth}.v)"),
                document: false,
                depth: depth + 1,
            };
            let relative = under_element(&crate::query::eval::element_relative(inner));
            let inner = condition(&relative, &element, cx)?;
            Ok(format!(
                "exists (select from jsonb_path_query({s}, '{}') r{depth}(v), \
                 jsonb_array_elements(case when jsonb_typeof(r{depth}.v) = 'array' then \
                 r{depth}.v else jsonb_build_array(r{depth}.v) end) e{depth}(v) where {inner})",
                quote(&format!("lax {}", dollar(&p)))
            ))
        }
    }
}

/// A `has` condition, whose paths start at the element, with its paths starting at the field
/// `_` that holds the element.
fn under_element(expr: &Expr) -> Expr {
    let under = |path: &Path| {
        let mut segments = vec![Segment::Field("_".into())];
        segments.extend(path.segments().iter().cloned());
        Path::new(segments)
    };
    let mapped = expr.map(
        &mut |operand| {
            Ok::<_, std::convert::Infallible>(
                operand
                    .rewrite(&mut |part| {
                        Ok(match part {
                            Operand::Path(path) => Some(Operand::Path(under(path))),
                            _ => None,
                        })
                    })
                    .unwrap_or_else(|_: String| operand.clone()),
            )
        },
        &mut |path, _| Ok(under(path)),
    );
    match mapped {
        Ok(expr) => expr,
        Err(never) => match never {},
    }
}

/// The jsonb value a path is read from and its SQL/JSON path from `@`: the document's `_id`
/// is read from `{"_id": id}`.
fn reach_path(subject: &Subject, path: &Path) -> Result<(String, String)> {
    let s = match subject.document && path.is_id() {
        true => "jsonb_build_object('_id', id)".to_owned(),
        false => subject.sql.clone(),
    };
    Ok((s, json_path("@", path)?))
}

/// [`reach_path`] for a path; an expression is computed into `{"v": value}` and read as `v`,
/// so that its value, or each element of an array it gives, is tested as a path's would be.
fn reach(subject: &Subject, operand: &Operand, cx: &mut Cx) -> Result<(String, String)> {
    match operand {
        Operand::Path(path) => reach_path(subject, path),
        other => {
            let scope = Scope::of(&subject.sql, subject.document);
            Ok((
                format!("jsonb_build_object('v', {})", value(other, &scope, cx)?),
                "@.\"v\"".to_owned(),
            ))
        }
    }
}

/// A path from `@` as one from `$`.
fn dollar(p: &str) -> String {
    format!("${}", &p[1..])
}

/// Whether the operand is known without reading the document.
fn constant(operand: &Operand) -> bool {
    matches!(operand, Operand::Value(_) | Operand::Param(_))
}

/// A value a condition compares with.
enum Lit {
    /// Given in the statement.
    Value(Value),
    /// PostgreSQL's parameter `$n`, a jsonb value.
    Param(usize),
}

fn lit(operand: &Operand, cx: &mut Cx) -> Result<Lit> {
    match operand {
        Operand::Value(value) => Ok(Lit::Value(value.clone())),
        Operand::Param(param) => Ok(Lit::Param(cx.param(param))),
        other => Err(not_yet(&format!("the expression `{other}`"))),
    }
}

/// A scalar inside a path: its literal and its type's name (`.type()`'s words).
struct Scalar {
    text: String,
    kind: &'static str,
}

/// A constant scalar as a SQL/JSON path literal, or `None` for null; arrays and objects have
/// no literal there.
fn scalar(value: &Value) -> Result<Option<Scalar>> {
    let (text, kind) = match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => (b.to_string(), "boolean"),
        Value::Int(i) => (i.to_string(), "number"),
        // Without an exponent, which a path literal does not take.
        Value::Float(x) => (
            large_integral(*x).unwrap_or_else(|| format!("{x}")),
            "number",
        ),
        Value::String(s) => (json_string(s)?, "string"),
        Value::Array(_) | Value::Object(_) => {
            return Err(not_yet("a comparison with an array or an object"));
        }
    };
    Ok(Some(Scalar { text, kind }))
}

/// `_id op value` on the `id` column (which its primary key serves), for a constant; `None`
/// for a parameter.
fn id_compare(op: CompareOp, value: &Lit) -> Option<String> {
    let number = match value {
        Lit::Param(_) => return None,
        // An id equals no value of another type, and is never below or above one.
        Lit::Value(_) => match id_number(value) {
            Some(number) => number,
            None => return Some((op == CompareOp::Ne).to_string()),
        },
    };
    let symbol = match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
    };
    Some(format!("id {symbol} {number}"))
}

/// A constant number as SQL, which the `id` column compares with exactly.
fn id_number(value: &Lit) -> Option<String> {
    match value {
        Lit::Value(Value::Int(n)) => Some(n.to_string()),
        Lit::Value(Value::Float(x)) => Some(large_integral(*x).unwrap_or_else(|| format!("{x}"))),
        _ => None,
    }
}

/// `path op value` on `s`.
fn compare(s: &str, p: &str, op: CompareOp, value: &Lit) -> Result<String> {
    // Missing equals null; nothing is below or above null but null itself.
    let on_null = match op {
        CompareOp::Lt | CompareOp::Gt => None,
        _ => Some(Jp::text(&null_form(p))),
    };
    let symbol = match op {
        CompareOp::Eq | CompareOp::Ne => "==",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
    };
    let typed = |text: Jp, kind: Jp| match op {
        CompareOp::Eq | CompareOp::Ne => Jp::text(&format!("{p} == ")).then(text),
        _ => Jp::text(&format!("exists({p} ? (@.type() == \""))
            .then(kind)
            .then_text(&format!("\" && @ {symbol} "))
            .then(text)
            .then_text("))"),
    };
    let choice = match value {
        Lit::Value(value) => Choice::fixed(match scalar(value)? {
            None => on_null,
            Some(x) => Some(typed(Jp::text(&x.text), Jp::text(x.kind))),
        }),
        Lit::Param(n) => Choice {
            arms: vec![(is_null(*n), on_null)],
            otherwise: Some(typed(param_text(*n), param_kind(*n))),
        },
    };
    let positive = choice.render(s);
    Ok(match op {
        CompareOp::Ne => negate(positive),
        _ => positive,
    })
}

/// `path between low and high`: one value (or element) at or above `low` and at or below
/// `high`, both of its type.
fn between(s: &str, p: &str, low: &Lit, high: &Lit) -> Result<String> {
    let within = |kind: Jp, lo: Jp, hi: Jp| {
        Jp::text(&format!("exists({p} ? (@.type() == \""))
            .then(kind)
            .then_text("\" && @ >= ")
            .then(lo)
            .then_text(" && @ <= ")
            .then(hi)
            .then_text("))")
    };
    if let (Lit::Value(low), Lit::Value(high)) = (low, high) {
        return Ok(Choice::fixed(match (scalar(low)?, scalar(high)?) {
            (None, None) => Some(Jp::text(&null_form(p))),
            (Some(lo), Some(hi)) if lo.kind == hi.kind => Some(within(
                Jp::text(lo.kind),
                Jp::text(&lo.text),
                Jp::text(&hi.text),
            )),
            _ => None,
        })
        .render(s));
    }
    // The types of the ends, as SQL, and their literals.
    let side = |end: &Lit| -> Result<(String, Jp)> {
        Ok(match end {
            Lit::Value(value) => match scalar(value)? {
                None => ("'null'".to_owned(), Jp::text("null")),
                Some(x) => (format!("'{}'", x.kind), Jp::text(&x.text)),
            },
            Lit::Param(n) => (format!("jsonb_typeof(${n}::jsonb)"), param_text(*n)),
        })
    };
    let (low_kind, lo) = side(low)?;
    let (high_kind, hi) = side(high)?;
    Ok(Choice {
        arms: vec![
            (
                format!("{low_kind} = 'null' and {high_kind} = 'null'"),
                Some(Jp::text(&null_form(p))),
            ),
            (format!("{low_kind} is distinct from {high_kind}"), None),
        ],
        otherwise: Some(within(Jp::sql(low_kind), lo, hi)),
    }
    .render(s))
}

fn is_null(n: usize) -> String {
    format!("jsonb_typeof(${n}::jsonb) = 'null'")
}

/// A parameter's literal in a path (an error, raised by PostgreSQL, for an array or object).
fn param_text(n: usize) -> Jp {
    Jp::sql(format!("quarry.lit(${n}::jsonb)"))
}

fn param_kind(n: usize) -> Jp {
    Jp::sql(format!("jsonb_typeof(${n}::jsonb)"))
}

/// The path is null, holds a null element, or reaches nothing.
fn null_form(p: &str) -> String {
    format!("exists({p} ? (@.type() == \"null\")) || !exists({p})")
}

fn negate(positive: String) -> String {
    match positive.as_str() {
        "true" => "false".into(),
        "false" => "true".into(),
        _ => format!("not {positive}"),
    }
}

fn has_object(value: &Value) -> bool {
    match value {
        Value::Object(_) => true,
        Value::Array(items) => items.iter().any(has_object),
        _ => false,
    }
}

/// One test of `s` by the filter predicate `predicate`.
fn test(s: &str, predicate: &Jp) -> String {
    Choice::fixed(Some(predicate.clone())).render(s)
}

/// The predicate of a test, chosen by the types of the parameters when the statement runs;
/// `None` never holds.
struct Choice {
    arms: Vec<(String, Option<Jp>)>,
    otherwise: Option<Jp>,
}

impl Choice {
    fn fixed(predicate: Option<Jp>) -> Choice {
        Choice {
            arms: Vec::new(),
            otherwise: predicate,
        }
    }

    /// `s @? '$ ? (…)'`: a constant path where it is one, else a path built as it runs.
    fn render(&self, s: &str) -> String {
        let path = |predicate: &Option<Jp>| match predicate {
            Some(predicate) => Jp::text("$ ? (").then(predicate.clone()).then_text(")"),
            // Never holds: the document always exists.
            None => Jp::text("$ ? (!exists(@))"),
        };
        match (self.arms.is_empty(), &self.otherwise) {
            (true, None) => "false".to_owned(),
            (true, Some(_)) => {
                let path = path(&self.otherwise);
                match path.constant() {
                    Some(text) => format!("{s} @? '{}'", quote(&text)),
                    None => format!("{s} @? ({})::jsonpath", path.sql_text()),
                }
            }
            (false, _) => {
                let arms: Vec<String> = self
                    .arms
                    .iter()
                    .map(|(when, then)| format!("when {when} then {}", path(then).sql_text()))
                    .collect();
                format!(
                    "{s} @? (case {} else {} end)::jsonpath",
                    arms.join(" "),
                    path(&self.otherwise).sql_text()
                )
            }
        }
    }
}

/// A SQL/JSON path's text: constant pieces and SQL expressions of type text (from parameters).
#[derive(Clone, Default)]
struct Jp(Vec<Piece>);

#[derive(Clone)]
enum Piece {
    Text(String),
    Sql(String),
}

impl Jp {
    fn text(text: &str) -> Jp {
        Jp(vec![Piece::Text(text.to_owned())])
    }

    fn sql(expr: String) -> Jp {
        Jp(vec![Piece::Sql(expr)])
    }

    fn then(mut self, other: Jp) -> Jp {
        for piece in other.0 {
            match (self.0.last_mut(), piece) {
                (Some(Piece::Text(last)), Piece::Text(text)) => last.push_str(&text),
                (_, piece) => self.0.push(piece),
            }
        }
        self
    }

    fn then_text(self, text: &str) -> Jp {
        self.then(Jp::text(text))
    }

    /// The text, when no piece depends on a parameter.
    fn constant(&self) -> Option<String> {
        match self.0.as_slice() {
            [Piece::Text(text)] => Some(text.clone()),
            _ => None,
        }
    }

    /// A SQL expression of type text: `'…' || quarry.lit($1::jsonb) || '…'`.
    fn sql_text(&self) -> String {
        let pieces: Vec<String> = self
            .0
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => format!("'{}'", quote(text)),
                Piece::Sql(expr) => expr.clone(),
            })
            .collect();
        pieces.join(" || ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str) -> String {
        let crate::query::Statement::Count(count) = crate::query::parse_statement(text).unwrap()
        else {
            panic!("{text}")
        };
        condition(
            &count.filter.unwrap(),
            &Subject::document(),
            &mut Cx::default(),
        )
        .unwrap()
    }

    #[test]
    fn constants_make_constant_paths_and_parameters_paths_built_as_they_run() {
        assert_eq!(
            sql("count from t where a < 3"),
            r#"doc @? '$ ? (exists(@."a" ? (@.type() == "number" && @ < 3)))'"#
        );
        assert_eq!(
            sql("count from t where a < $1"),
            "doc @? (case when jsonb_typeof($1::jsonb) = 'null' then '$ ? (!exists(@))' \
             else '$ ? (exists(@.\"a\" ? (@.type() == \"' || jsonb_typeof($1::jsonb) || \
             '\" && @ < ' || quarry.lit($1::jsonb) || ')))' end)::jsonpath"
        );
    }

    #[test]
    fn ids_compare_on_the_id_column_and_other_types_never_equal_them() {
        assert_eq!(sql("count from t where _id >= 4"), "id >= 4");
        assert_eq!(sql("count from t where _id = 'x'"), "false");
        assert_eq!(sql("count from t where _id != null"), "true");
    }

    #[test]
    fn has_reads_each_element_and_negation_is_sql_not() {
        assert_eq!(
            sql("count from t where items has (not sku = 'X')"),
            "exists (select from jsonb_path_query(doc, 'lax $.\"items\"') r0(v), \
             jsonb_array_elements(case when jsonb_typeof(r0.v) = 'array' then r0.v else \
             jsonb_build_array(r0.v) end) e0(v) where not jsonb_build_object('_', e0.v) @? \
             '$ ? (@.\"_\".\"sku\" == \"X\")')"
        );
    }
}
