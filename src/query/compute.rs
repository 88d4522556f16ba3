//! Expressions ready to evaluate ([`Calc`]): parameters bound, every part that reads no
//! document folded to its value once, and what each arithmetic operator means.
//!
//! Invariant: evaluating never fails and never panics. A path that reaches nothing reads as
//! null; arithmetic on anything but numbers, a division or remainder by zero, and a result
//! that is not a finite number give null; integer arithmetic stays exact, and becomes a float
//! only where an integer cannot hold the answer.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::path::Path;
use crate::query::ast::{BinaryOp, DateUnit, Function, Operand};
use crate::query::functions::shift_date;
use crate::query::params::Params;
use crate::query::text::TextSearch;
use crate::text::snippet::Marks;
use crate::value::Value;

/// An expression as it runs.
///
/// ```
/// use quarry::query::{Params, compute::Calc, ast::Operand};
/// let Ok(quarry::query::Statement::Query(q)) =
///     quarry::query::parse_statement("select area / 1000 + $extra") else { panic!() };
/// let column = &q.columns.unwrap()[0].value;
/// let calc = Calc::bind(column, &Params::new().with("extra", 1i64))?;
/// let doc: quarry::Value = serde_json::json!({"area": 14000}).try_into().unwrap();
/// assert_eq!(calc.eval(&doc), 15i64.into());
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Calc {
    /// A value known before any document is read.
    Const(Value),
    /// What a path projects from the document (`select`'s rule), null when nothing.
    Path(Path),
    /// `-e`
    Negate(Box<Calc>),
    /// `a OP b`
    Binary(BinaryOp, Box<Calc>, Box<Calc>),
    /// `date + amount unit` (`back`: `-`).
    Shift {
        /// The date.
        date: Box<Calc>,
        /// How many units.
        amount: Box<Calc>,
        /// Which unit.
        unit: DateUnit,
        /// Whether the interval is subtracted.
        back: bool,
    },
    /// `f(args)`
    Call(Function, Vec<Calc>),
    /// `score()`: the document's BM25 score for the statement's `search`.
    Score(Arc<TextSearch>),
    /// `snippet(value[, open, close[, words]])` for the statement's `search`.
    Snippet(Arc<TextSearch>, Box<Calc>, Marks),
}

/// `score()` or `snippet(...)`, bound to the statement's `search`.
fn text_call(function: Function, args: &[Operand], params: &Params) -> Result<Calc> {
    let search = params.search().cloned().ok_or_else(|| {
        Error::Query(format!(
            "`{}()` needs a `search` in the `where` of its statement: it {} what the search \
             finds (`where search \"coral reef\"`)",
            function.name(),
            if function == Function::Score {
                "scores"
            } else {
                "shows"
            }
        ))
    })?;
    if function == Function::Score {
        return Ok(Calc::Score(search));
    }
    let mut marks = search.marks.clone();
    let text = |i: usize| -> Result<Option<String>> {
        match args.get(i).map(|a| Calc::bind(a, params)).transpose()? {
            None => Ok(None),
            Some(Calc::Const(Value::String(s))) => Ok(Some(s.to_string())),
            Some(other) => Err(Error::Query(format!(
                "`snippet` takes its marks as strings, not `{other:?}`"
            ))),
        }
    };
    if let Some(open) = text(1)? {
        marks.open = open;
        marks.close = text(2)?.unwrap_or_default();
    }
    if let Some(words) = args.get(3) {
        match Calc::bind(words, params)? {
            Calc::Const(Value::Int(n)) if (1..=1000).contains(&n) => marks.words = n as usize,
            _ => {
                return Err(Error::Query(
                    "`snippet`'s fourth argument is how many words to show, 1 to 1000".into(),
                ));
            }
        }
    }
    let value = args
        .first()
        .map(|a| Calc::bind(a, params))
        .transpose()?
        .unwrap_or(Calc::Const(Value::Null));
    Ok(Calc::Snippet(search, Box::new(value), marks))
}

impl Calc {
    /// The operand with parameters bound and constant parts folded. An aggregate or a
    /// misplaced interval is an error: the parser and the planner keep them out.
    pub fn bind(operand: &Operand, params: &Params) -> Result<Calc> {
        let calc = match operand {
            Operand::Value(v) => return Ok(Calc::Const(v.clone())),
            Operand::Param(p) => return Ok(Calc::Const(params.get(p)?)),
            Operand::Path(p) => return Ok(Calc::Path(p.clone())),
            Operand::Negate(inner) => Calc::Negate(Box::new(Calc::bind(inner, params)?)),
            Operand::Binary { op, left, right } => match (op, &**right) {
                (BinaryOp::Add | BinaryOp::Subtract, Operand::Interval { amount, unit }) => {
                    Calc::Shift {
                        date: Box::new(Calc::bind(left, params)?),
                        amount: Box::new(Calc::bind(amount, params)?),
                        unit: *unit,
                        back: *op == BinaryOp::Subtract,
                    }
                }
                _ => Calc::Binary(
                    *op,
                    Box::new(Calc::bind(left, params)?),
                    Box::new(Calc::bind(right, params)?),
                ),
            },
            Operand::Call {
                function: function @ (Function::Score | Function::Snippet),
                args,
            } => return text_call(*function, args, params),
            Operand::Call { function, args } => Calc::Call(
                *function,
                args.iter()
                    .map(|a| Calc::bind(a, params))
                    .collect::<Result<_>>()?,
            ),
            Operand::Interval { .. } => return Err(Error::Query(INTERVAL_PLACE.into())),
            Operand::Aggregate { function, .. } => {
                return Err(Error::Query(format!(
                    "the aggregate `{operand}` cannot be used here: aggregates go in `select`, \
                     `having` and `order by` ({}() over what `where` keeps)",
                    function.name()
                )));
            }
        };
        Ok(calc.folded())
    }

    /// Itself, or its value when none of its parts reads the document.
    fn folded(self) -> Calc {
        let constant = match &self {
            Calc::Const(_) | Calc::Path(_) => return self,
            Calc::Negate(inner) => inner.as_const().is_some(),
            Calc::Binary(_, a, b) => a.as_const().is_some() && b.as_const().is_some(),
            Calc::Shift { date, amount, .. } => {
                date.as_const().is_some() && amount.as_const().is_some()
            }
            Calc::Call(_, args) => args.iter().all(|a| a.as_const().is_some()),
            Calc::Score(_) | Calc::Snippet(..) => false,
        };
        if constant {
            Calc::Const(self.eval(&Value::Null))
        } else {
            self
        }
    }

    /// The value for `doc`.
    pub fn eval(&self, doc: &Value) -> Value {
        match self {
            Calc::Const(v) => v.clone(),
            Calc::Path(p) => p.project(doc).unwrap_or(Value::Null),
            Calc::Negate(inner) => arithmetic(BinaryOp::Subtract, &Value::Int(0), &inner.eval(doc)),
            Calc::Binary(op, a, b) => arithmetic(*op, &a.eval(doc), &b.eval(doc)),
            Calc::Shift {
                date,
                amount,
                unit,
                back,
            } => shift_date(&date.eval(doc), &amount.eval(doc), *unit, *back),
            Calc::Call(function, args) => {
                let values: Vec<Value> = args.iter().map(|a| a.eval(doc)).collect();
                function.call(&values)
            }
            Calc::Score(search) => Value::Float(search.score(doc)),
            Calc::Snippet(search, value, marks) => search.snippet(&value.eval(doc), marks),
        }
    }

    /// The values it stands for as a key (`group by`, `distinct`, `count(distinct x)`): each
    /// element of an array (once each; an empty array is its own key `[]`), else the value.
    /// A path gives the keys an index on it holds ([`Path::index_keys`]).
    pub fn key_values(&self, doc: &Value) -> Vec<Value> {
        if let Calc::Path(path) = self {
            return path.index_keys(doc).0;
        }
        match self.eval(doc) {
            Value::Array(mut items) if !items.is_empty() => {
                items.sort();
                items.dedup();
                items
            }
            value => vec![value],
        }
    }

    /// The path, when that is all it is.
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            Calc::Path(p) => Some(p),
            _ => None,
        }
    }

    /// The value, when it reads no document.
    pub fn as_const(&self) -> Option<&Value> {
        match self {
            Calc::Const(v) => Some(v),
            _ => None,
        }
    }

    /// Every path it reads, in order.
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        match self {
            Calc::Const(_) => {}
            Calc::Path(p) => out.push(p),
            Calc::Negate(inner) => inner.collect_paths(out),
            Calc::Binary(_, a, b) => {
                a.collect_paths(out);
                b.collect_paths(out);
            }
            Calc::Shift { date, amount, .. } => {
                date.collect_paths(out);
                amount.collect_paths(out);
            }
            Calc::Call(_, args) => args.iter().for_each(|a| a.collect_paths(out)),
            Calc::Score(search) => {
                if let Some(first) = search.conditions.first() {
                    out.extend(first.index.paths.iter());
                }
            }
            Calc::Snippet(_, value, _) => value.collect_paths(out),
        }
    }
}

/// Where an interval may stand, for errors.
pub(crate) const INTERVAL_PLACE: &str = "an interval such as `30 days` goes on the right of `+` or `-` after a date \
     (`today() - 30 days`)";

/// The value of an operand that must not read the document (`limit`, `offset`).
///
/// ```
/// use quarry::query::{Params, compute::constant, ast::Operand};
/// let two = Operand::Param(quarry::query::ast::Param::Position(1));
/// assert_eq!(constant(&two, &Params::new().with_positional(2i64))?, 2i64.into());
/// assert!(constant(&Operand::Path("a".parse().unwrap()), &Params::new()).is_err());
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn constant(operand: &Operand, params: &Params) -> Result<Value> {
    match Calc::bind(operand, params)? {
        Calc::Const(v) => Ok(v),
        _ => Err(Error::Query(format!(
            "`{operand}` reads the document where a value is needed"
        ))),
    }
}

/// `a OP b`: numbers for `+ - * / %` (integers stay integers where the answer is whole and
/// fits; `/` and `%` by zero give null; `%` takes the dividend's sign), and text for `||`
/// (numbers and booleans as their JSON text; null when either side is null, missing, an
/// array or an object).
///
/// ```
/// use quarry::{Value, query::{ast::BinaryOp, compute::arithmetic}};
/// assert_eq!(arithmetic(BinaryOp::Divide, &14000000i64.into(), &1000i64.into()), 14000i64.into());
/// assert_eq!(arithmetic(BinaryOp::Divide, &7i64.into(), &2i64.into()), Value::Float(3.5));
/// assert_eq!(arithmetic(BinaryOp::Remainder, &(-7i64).into(), &0i64.into()), Value::Null);
/// assert_eq!(arithmetic(BinaryOp::Concat, &"n".into(), &1i64.into()), "n1".into());
/// ```
pub fn arithmetic(op: BinaryOp, a: &Value, b: &Value) -> Value {
    if op == BinaryOp::Concat {
        return match (text(a), text(b)) {
            (Some(a), Some(b)) => Value::String(a + &b),
            _ => Value::Null,
        };
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => integer(op, *x, *y),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            float(op, number(a), number(b))
        }
        _ => Value::Null,
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

fn integer(op: BinaryOp, x: i64, y: i64) -> Value {
    let exact = match op {
        BinaryOp::Add => x.checked_add(y),
        BinaryOp::Subtract => x.checked_sub(y),
        BinaryOp::Multiply => x.checked_mul(y),
        BinaryOp::Divide if y == 0 => return Value::Null,
        BinaryOp::Divide => match x.checked_rem(y) {
            Some(0) => x.checked_div(y),
            _ => None,
        },
        BinaryOp::Remainder if y == 0 => return Value::Null,
        // `i64::MIN % -1` is 0; only its computation overflows.
        BinaryOp::Remainder => Some(x.wrapping_rem(y)),
        BinaryOp::Concat => unreachable!("handled by arithmetic"),
    };
    exact.map_or_else(|| float(op, x as f64, y as f64), Value::Int)
}

fn float(op: BinaryOp, x: f64, y: f64) -> Value {
    let result = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Subtract => x - y,
        BinaryOp::Multiply => x * y,
        BinaryOp::Divide | BinaryOp::Remainder if y == 0.0 => return Value::Null,
        BinaryOp::Divide => x / y,
        BinaryOp::Remainder => x % y,
        BinaryOp::Concat => unreachable!("handled by arithmetic"),
    };
    if result.is_finite() {
        Value::Float(result)
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BinaryOp::*;

    fn op(op: BinaryOp, a: impl Into<Value>, b: impl Into<Value>) -> Value {
        arithmetic(op, &a.into(), &b.into())
    }

    #[test]
    fn integer_arithmetic_stays_exact_and_overflows_into_floats() {
        assert_eq!(op(Add, 2i64, 3i64), Value::Int(5));
        assert_eq!(
            op(Multiply, i64::MAX, 2i64),
            Value::Float(i64::MAX as f64 * 2.0)
        );
        assert_eq!(
            op(Subtract, i64::MIN, 1i64),
            Value::Float(i64::MIN as f64 - 1.0)
        );
        assert_eq!(op(Divide, 14000000i64, 1000i64), Value::Int(14000));
        assert_eq!(op(Divide, 1i64, 3i64), Value::Float(1.0 / 3.0));
        assert_eq!(
            op(Divide, i64::MIN, -1i64),
            Value::Float(9.223372036854776e18)
        );
        assert_eq!(op(Remainder, -7i64, 3i64), Value::Int(-1));
        assert_eq!(op(Remainder, i64::MIN, -1i64), Value::Int(0));
    }

    #[test]
    fn division_by_zero_and_other_types_are_null() {
        assert_eq!(op(Divide, 1i64, 0i64), Value::Null);
        assert_eq!(op(Remainder, 1i64, 0i64), Value::Null);
        assert_eq!(
            op(Divide, Value::Float(1.0), Value::Float(0.0)),
            Value::Null
        );
        assert_eq!(op(Remainder, Value::Float(-7.5), 2i64), Value::Float(-1.5));
        assert_eq!(op(Add, "1", 1i64), Value::Null);
        assert_eq!(op(Add, Value::Null, 1i64), Value::Null);
        assert_eq!(
            op(Multiply, Value::Float(1e300), Value::Float(1e300)),
            Value::Null
        );
    }

    #[test]
    fn concatenation_writes_numbers_and_booleans_and_refuses_the_rest() {
        assert_eq!(op(Concat, "a", "b"), Value::from("ab"));
        assert_eq!(op(Concat, Value::Float(1.5), true), Value::from("1.5true"));
        assert_eq!(op(Concat, "a", Value::Null), Value::Null);
        assert_eq!(op(Concat, "a", Value::Array(vec![])), Value::Null);
    }

    #[test]
    fn parts_that_read_no_document_are_folded_when_bound() {
        let parse = |text: &str| match crate::query::parse_statement(&format!("select {text}")) {
            Ok(crate::query::Statement::Query(q)) => q.columns.unwrap().remove(0).value,
            other => panic!("{other:?}"),
        };
        let bind = |text: &str| Calc::bind(&parse(text), &Params::new().with("n", 4i64)).unwrap();
        assert_eq!(bind("2 * $n + 1"), Calc::Const(Value::Int(9)));
        assert_eq!(
            bind("\"2024-01-31\" + 1 month"),
            Calc::Const("2024-02-29".into())
        );
        assert!(matches!(bind("a + 2 * $n"), Calc::Binary(Add, a, b)
            if a.as_path().is_some() && *b == Calc::Const(Value::Int(8))));
        let err = Calc::bind(&parse("count()"), &Params::new()).unwrap_err();
        assert!(err.to_string().contains("cannot be used here"), "{err}");
    }
}
