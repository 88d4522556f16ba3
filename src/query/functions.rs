//! The functions of the language (`len`, `lower`, `round`, `year`, …) and date arithmetic: what
//! each gives for each kind of value.
//!
//! Invariant: a function never fails and never panics. Applied to a value of a type it does
//! not take (or to a date that does not exist), it gives null, and null then behaves as a
//! missing field does. Dates are `YYYY-MM-DD` strings, read and computed with jiff's
//! calendar.

use jiff::civil::Date;
use jiff::{Span, Timestamp, tz::TimeZone};

use crate::value::Value;

/// A unit of date arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateUnit {
    /// `day`, `days`
    Day,
    /// `week`, `weeks`
    Week,
    /// `month`, `months`
    Month,
    /// `year`, `years`
    Year,
}

impl DateUnit {
    /// Every unit with its singular and plural words.
    pub const WORDS: [(DateUnit, &'static str, &'static str); 4] = [
        (DateUnit::Day, "day", "days"),
        (DateUnit::Week, "week", "weeks"),
        (DateUnit::Month, "month", "months"),
        (DateUnit::Year, "year", "years"),
    ];
}

/// A function callable in expressions.
///
/// ```
/// use quarry::query::ast::Function;
/// assert_eq!(Function::from_name("LOWER"), Some(Function::Lower));
/// assert_eq!(Function::Len.name(), "len");
/// assert_eq!(Function::Len.call(&["héllo".into()]), 5i64.into());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// `len(x)`: characters of a string, elements of an array, fields of an object.
    Len,
    /// `lower(s)`
    Lower,
    /// `upper(s)`
    Upper,
    /// `trim(s)`: without leading and trailing white space.
    Trim,
    /// `substr(s, start[, len])`: characters from `start` (the first is 1).
    Substr,
    /// `abs(x)`
    Abs,
    /// `round(x[, digits])`: ties away from zero.
    Round,
    /// `floor(x)`
    Floor,
    /// `ceil(x)`
    Ceil,
    /// `coalesce(a, b, ...)`: the first that is not null.
    Coalesce,
    /// `type(x)`: `"null"`, `"bool"`, `"number"`, `"string"`, `"array"` or `"object"`.
    Type,
    /// `year(d)` of an ISO date or date-time string.
    Year,
    /// `month(d)`, 1 to 12.
    Month,
    /// `day(d)`, 1 to 31.
    Day,
    /// `date(d)`: the `YYYY-MM-DD` of an ISO date or date-time string.
    Date,
    /// `today()`: the current UTC date.
    Today,
    /// `score()`: how well the document matches the statement's `search` (BM25).
    Score,
    /// `snippet(path[, open, close[, words]])`: the words of `path` around its first match of
    /// the statement's `search`, matches marked (`[`, `]` unless given).
    Snippet,
}

impl Function {
    /// Every function with its name, fewest and most arguments (`usize::MAX`: any number).
    pub const ALL: [(Function, &'static str, usize, usize); 18] = [
        (Function::Len, "len", 1, 1),
        (Function::Lower, "lower", 1, 1),
        (Function::Upper, "upper", 1, 1),
        (Function::Trim, "trim", 1, 1),
        (Function::Substr, "substr", 2, 3),
        (Function::Abs, "abs", 1, 1),
        (Function::Round, "round", 1, 2),
        (Function::Floor, "floor", 1, 1),
        (Function::Ceil, "ceil", 1, 1),
        (Function::Coalesce, "coalesce", 1, usize::MAX),
        (Function::Type, "type", 1, 1),
        (Function::Year, "year", 1, 1),
        (Function::Month, "month", 1, 1),
        (Function::Day, "day", 1, 1),
        (Function::Date, "date", 1, 1),
        (Function::Today, "today", 0, 0),
        (Function::Score, "score", 0, 0),
        (Function::Snippet, "snippet", 1, 4),
    ];

    /// The function a name calls, in any case.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL
            .iter()
            .find(|(_, n, ..)| n.eq_ignore_ascii_case(name))
            .map(|(f, ..)| *f)
    }

    /// The function's name.
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// How many arguments it takes: fewest and most.
    pub fn arity(self) -> (usize, usize) {
        let (_, _, min, max) = self.entry();
        (min, max)
    }

    fn entry(self) -> (Function, &'static str, usize, usize) {
        *Function::ALL
            .iter()
            .find(|(f, ..)| *f == self)
            .expect("every function is listed")
    }

    /// Whether it gives the same answer whenever it is called with the same arguments
    /// (`today()` does not: it is read once per statement).
    pub fn is_pure(self) -> bool {
        !matches!(self, Function::Today | Function::Score | Function::Snippet)
    }

    /// The function applied to `args` (as many as [`Function::arity`] allows).
    pub fn call(self, args: &[Value]) -> Value {
        let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
        let text = |f: fn(&str) -> String| match arg(0) {
            Value::String(s) => Value::String(f(s)),
            _ => Value::Null,
        };
        match self {
            Function::Len => match arg(0) {
                Value::String(s) => Value::Int(s.chars().count() as i64),
                Value::Array(items) => Value::Int(items.len() as i64),
                Value::Object(map) => Value::Int(map.len() as i64),
                _ => Value::Null,
            },
            Function::Lower => text(str::to_lowercase),
            Function::Upper => text(str::to_uppercase),
            Function::Trim => text(|s| s.trim().to_owned()),
            Function::Substr => substr(arg(0), arg(1), args.get(2)),
            Function::Abs => match arg(0) {
                Value::Int(i) => i
                    .checked_abs()
                    .map_or(Value::Float((*i as f64).abs()), Value::Int),
                Value::Float(f) => Value::Float(f.abs()),
                _ => Value::Null,
            },
            Function::Round => round(arg(0), args.get(1)),
            Function::Floor => to_integer(arg(0), f64::floor),
            Function::Ceil => to_integer(arg(0), f64::ceil),
            Function::Coalesce => args
                .iter()
                .find(|v| !matches!(v, Value::Null))
                .cloned()
                .unwrap_or(Value::Null),
            Function::Type => Value::from(arg(0).type_name()),
            Function::Year => date_of(arg(0)).map_or(Value::Null, |d| i64::from(d.year()).into()),
            Function::Month => date_of(arg(0)).map_or(Value::Null, |d| i64::from(d.month()).into()),
            Function::Day => date_of(arg(0)).map_or(Value::Null, |d| i64::from(d.day()).into()),
            Function::Date => date_of(arg(0)).map_or(Value::Null, date_value),
            Function::Today => date_value(Timestamp::now().to_zoned_datetime(TimeZone::UTC).date()),
            // Bound to the statement's search instead (see `Calc::bind`): never called.
            Function::Score | Function::Snippet => Value::Null,
        }
    }
}

/// `substr(s, start[, len])` as PostgreSQL counts: characters `start .. start + len`, the
/// first being 1, clipped to the string; a negative length gives null.
fn substr(s: &Value, start: &Value, len: Option<&Value>) -> Value {
    let (Value::String(s), Some(start)) = (s, start.as_i64()) else {
        return Value::Null;
    };
    let end = match len.map(Value::as_i64) {
        None => i64::MAX,
        Some(Some(len)) if len >= 0 => start.saturating_add(len),
        Some(_) => return Value::Null,
    };
    let skip = start.max(1) - 1;
    let take = end.saturating_sub(start.max(1)).max(0);
    Value::String(
        s.chars()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(take).unwrap_or(usize::MAX))
            .collect(),
    )
}

/// `round(x)` to an integer, or `round(x, digits)`; ties away from zero.
fn round(x: &Value, digits: Option<&Value>) -> Value {
    let digits = match digits.map(Value::as_i64) {
        None => return to_integer(x, f64::round),
        Some(Some(d)) => d.clamp(-20, 20) as i32,
        Some(None) => return Value::Null,
    };
    match x {
        Value::Int(i) if digits >= 0 => Value::Int(*i),
        Value::Int(i) => {
            let unit = 10f64.powi(-digits);
            to_integer(&Value::Float((*i as f64 / unit).round() * unit), f64::round)
        }
        Value::Float(f) => {
            let scale = 10f64.powi(digits);
            let rounded = (f * scale).round() / scale;
            if rounded.is_finite() {
                Value::Float(rounded)
            } else {
                Value::Float(*f)
            }
        }
        _ => Value::Null,
    }
}

/// A number made whole by `f`: an integer when it fits one, else the float.
fn to_integer(x: &Value, f: fn(f64) -> f64) -> Value {
    match x {
        Value::Int(i) => Value::Int(*i),
        Value::Float(x) => {
            let whole = f(*x);
            match Value::Float(whole).as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(whole),
            }
        }
        _ => Value::Null,
    }
}

/// The calendar date an ISO date (`2021-03-04`) or date-time (`2021-03-04T10:00:00Z`,
/// `2021-03-04 10:00`: a time of day after `T` or a space) string starts with, as written (no
/// time-zone conversion); `None` for anything else, or a date or time that does not exist.
fn date_of(value: &Value) -> Option<Date> {
    let s = value.as_str()?;
    let head = s.get(..10)?;
    let rest = &s[10..];
    // After the date: nothing, or a time that starts as `HH:MM`.
    if let Some(time) = rest.strip_prefix(['T', 't', ' ']) {
        let hm = time.get(..5)?.as_bytes();
        let two = |a: u8, b: u8| Some((a as char).to_digit(10)? * 10 + (b as char).to_digit(10)?);
        let valid = hm[2] == b':'
            && two(hm[0], hm[1]).is_some_and(|h| h < 24)
            && two(hm[3], hm[4]).is_some_and(|m| m < 60);
        if !valid {
            return None;
        }
    } else if !rest.is_empty() {
        return None;
    }
    let bytes = head.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i32> {
        let part = &head[range];
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

fn date_value(date: Date) -> Value {
    Value::String(date.to_string())
}

/// `date + amount unit` (or `-` when `back`): a `YYYY-MM-DD` string; month and year steps
/// that land past a month's end stop at its last day (January 31 + 1 month is February's
/// last). Null when `date` is not a date, `amount` not a whole number, or the result falls
/// outside the calendar.
///
/// ```
/// use quarry::{Value, query::ast::DateUnit, query::functions::shift_date};
/// let d = |s: &str| Value::from(s);
/// assert_eq!(shift_date(&d("2024-01-31"), &1i64.into(), DateUnit::Month, false), d("2024-02-29"));
/// assert_eq!(shift_date(&d("2024-03-01T08:00Z"), &1i64.into(), DateUnit::Day, true), d("2024-02-29"));
/// assert_eq!(shift_date(&d("soon"), &1i64.into(), DateUnit::Day, false), Value::Null);
/// ```
pub fn shift_date(date: &Value, amount: &Value, unit: DateUnit, back: bool) -> Value {
    let (Some(date), Some(amount)) = (date_of(date), amount.as_i64()) else {
        return Value::Null;
    };
    let Some(amount) = (if back {
        amount.checked_neg()
    } else {
        Some(amount)
    }) else {
        return Value::Null;
    };
    let span = match unit {
        DateUnit::Day => Span::new().try_days(amount),
        DateUnit::Week => Span::new().try_weeks(amount),
        DateUnit::Month => Span::new().try_months(amount),
        DateUnit::Year => Span::new().try_years(amount),
    };
    span.and_then(|span| date.checked_add(span))
        .map_or(Value::Null, date_value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(f: Function, args: &[Value]) -> Value {
        f.call(args)
    }

    fn s(text: &str) -> Value {
        Value::from(text)
    }

    #[test]
    fn len_counts_characters_elements_and_fields_and_nothing_else() {
        assert_eq!(call(Function::Len, &[s("añb")]), Value::Int(3));
        assert_eq!(
            call(Function::Len, &[Value::Array(vec![Value::Null; 2])]),
            Value::Int(2)
        );
        assert_eq!(call(Function::Len, &[Value::Int(5)]), Value::Null);
        assert_eq!(call(Function::Len, &[Value::Null]), Value::Null);
    }

    #[test]
    fn substr_counts_from_one_and_clips_like_postgresql() {
        let sub = |start: i64, len: Option<i64>| {
            let mut args = vec![s("hello"), start.into()];
            args.extend(len.map(Value::from));
            call(Function::Substr, &args)
        };
        assert_eq!(sub(2, Some(3)), s("ell"));
        assert_eq!(sub(2, None), s("ello"));
        assert_eq!(sub(0, Some(3)), s("he"));
        assert_eq!(sub(-5, Some(3)), s(""));
        assert_eq!(sub(9, Some(3)), s(""));
        assert_eq!(sub(1, Some(-1)), Value::Null);
        assert_eq!(sub(i64::MIN, Some(i64::MAX)), s(""));
    }

    #[test]
    fn rounding_gives_integers_without_digits_and_breaks_ties_away_from_zero() {
        assert_eq!(call(Function::Round, &[Value::Float(2.5)]), Value::Int(3));
        assert_eq!(call(Function::Round, &[Value::Float(-2.5)]), Value::Int(-3));
        assert_eq!(
            call(Function::Round, &[Value::Float(1.256), 2i64.into()]),
            Value::Float(1.26)
        );
        assert_eq!(
            call(Function::Round, &[Value::Int(1250), (-2i64).into()]),
            Value::Int(1300)
        );
        assert_eq!(call(Function::Floor, &[Value::Float(-1.5)]), Value::Int(-2));
        assert_eq!(call(Function::Ceil, &[Value::Float(1.2)]), Value::Int(2));
        assert_eq!(
            call(Function::Ceil, &[Value::Float(1e300)]),
            Value::Float(1e300)
        );
        assert_eq!(
            call(Function::Abs, &[Value::Int(i64::MIN)]),
            Value::Float(9.223372036854776e18)
        );
        assert_eq!(call(Function::Round, &[s("1")]), Value::Null);
    }

    #[test]
    fn dates_are_read_as_written_and_impossible_ones_are_null() {
        assert_eq!(
            call(Function::Year, &[s("2021-03-04T23:30:00-05:00")]),
            Value::Int(2021)
        );
        assert_eq!(call(Function::Month, &[s("2021-03-04")]), Value::Int(3));
        assert_eq!(call(Function::Day, &[s("2021-03-04 10:00")]), Value::Int(4));
        assert_eq!(
            call(Function::Date, &[s("2021-03-04T10:00:00Z")]),
            s("2021-03-04")
        );
        assert_eq!(call(Function::Date, &[s("2021-02-30")]), Value::Null);
        assert_eq!(call(Function::Date, &[s("2021-3-4")]), Value::Null);
        assert_eq!(call(Function::Date, &[s("2021-03-04x")]), Value::Null);
        assert_eq!(call(Function::Date, &[s("2021-02-28Tjunk")]), Value::Null);
        assert_eq!(call(Function::Date, &[s("2021-02-28T25:00")]), Value::Null);
        assert_eq!(
            call(Function::Date, &[s("2021-02-28T23:59")]),
            s("2021-02-28")
        );
        assert_eq!(call(Function::Year, &[Value::Int(2021)]), Value::Null);
        let today = call(Function::Today, &[]);
        assert_eq!(call(Function::Date, std::slice::from_ref(&today)), today);
    }

    #[test]
    fn date_steps_clamp_month_ends_and_stay_in_the_calendar() {
        let shift = |d: &str, n: i64, unit, back| shift_date(&s(d), &n.into(), unit, back);
        assert_eq!(
            shift("2023-01-31", 1, DateUnit::Month, false),
            s("2023-02-28")
        );
        assert_eq!(
            shift("2024-02-29", 1, DateUnit::Year, false),
            s("2025-02-28")
        );
        assert_eq!(
            shift("2024-03-01", 30, DateUnit::Day, true),
            s("2024-01-31")
        );
        assert_eq!(
            shift("2024-03-01", 2, DateUnit::Week, false),
            s("2024-03-15")
        );
        assert_eq!(
            shift("2024-03-01", i64::MAX, DateUnit::Day, false),
            Value::Null
        );
        assert_eq!(
            shift("2024-03-01", i64::MIN, DateUnit::Day, true),
            Value::Null
        );
    }

    #[test]
    fn coalesce_and_type() {
        assert_eq!(
            call(
                Function::Coalesce,
                &[Value::Null, Value::Int(0), Value::Int(1)]
            ),
            Value::Int(0)
        );
        assert_eq!(call(Function::Coalesce, &[Value::Null]), Value::Null);
        assert_eq!(call(Function::Type, &[Value::Null]), s("null"));
        assert_eq!(call(Function::Type, &[Value::Float(1.5)]), s("number"));
        assert_eq!(call(Function::Lower, &[s("ÀB")]), s("àb"));
        assert_eq!(call(Function::Trim, &[s("  a b \n")]), s("a b"));
        assert_eq!(call(Function::Upper, &[Value::Int(1)]), Value::Null);
    }
}
