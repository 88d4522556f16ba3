//! Grouping and aggregating, and the steps over the groups (`having`, their order, offset,
//! limit, the columns).
//!
//! Invariant: memory grows with the number of groups (and the distinct values a
//! `count(distinct x)` meets), never with the documents read: each document is read, added to
//! the groups its keys name, and dropped. A key that is an array stands for each of its
//! elements, so a document counts once in each element's group; `1` and `1.0` are one key.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crate::error::Result;
use crate::query::ast::Aggregate;
use crate::query::compute::Calc;
use crate::query::exec::doc::wanted;
use crate::query::exec::source::filtered;
use crate::query::explain::Measures;
use crate::query::pipeline::{AggregateCall, GroupSource, Grouping, Pipeline, Step};
use crate::store::Collection;
use crate::value::Value;

/// Runs an aggregate pipeline: its rows, all computed (there is one per group).
pub(crate) fn rows(
    collection: &Collection,
    pipeline: &Pipeline,
    measures: &mut Measures,
) -> Result<Vec<Value>> {
    let mut rows = Vec::new();
    for (i, step) in pipeline.steps.iter().enumerate() {
        let slot = i + 1;
        let started = Instant::now();
        rows = match step {
            Step::Filter(_) | Step::ReadAhead | Step::Count(_) => continue,
            Step::Aggregate(grouping) => super::whole(collection, measures, |measures| {
                group(collection, pipeline, grouping, measures)
            })?,
            Step::Having { predicate, .. } => {
                rows.retain(|row| predicate.matches(row));
                rows
            }
            Step::Sort { keys, .. } => {
                let mut keyed: Vec<(Vec<Value>, Value)> = rows
                    .into_iter()
                    .map(|row| (keys.iter().map(|k| k.value(&row)).collect(), row))
                    .collect();
                // Stable: groups equal on every key stay in key order.
                keyed.sort_by(|(a, _), (b, _)| {
                    a.iter()
                        .zip(b)
                        .zip(keys)
                        .map(|((a, b), key)| match key.descending {
                            true => b.cmp(a),
                            false => a.cmp(b),
                        })
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                keyed.into_iter().map(|(_, row)| row).collect()
            }
            Step::Offset(n) => rows
                .into_iter()
                .skip(usize::try_from(*n).unwrap_or(usize::MAX))
                .collect(),
            Step::Limit(n) => rows
                .into_iter()
                .take(usize::try_from(*n).unwrap_or(usize::MAX))
                .collect(),
            Step::Project(columns) => rows
                .iter()
                .map(|row| {
                    Value::Object(
                        columns
                            .iter()
                            .map(|c| (c.name.as_str().into(), c.calc.eval(row)))
                            .collect(),
                    )
                })
                .collect(),
        };
        measures.record(slot, rows.len() as u64, started);
    }
    Ok(rows)
}

/// The group rows, in ascending key order.
fn group(
    collection: &Collection,
    pipeline: &Pipeline,
    grouping: &Grouping,
    measures: &mut Measures,
) -> Result<Vec<Value>> {
    // Hashed while documents come, sorted by key once at the end.
    let mut groups: HashMap<Vec<Value>, Vec<Accumulator>, foldhash::fast::RandomState> =
        HashMap::default();
    // Rows in key order need no table: the group being filled, and those finished.
    let mut current: Option<(Vec<Value>, Vec<Accumulator>)> = None;
    let mut finished: Vec<(Vec<Value>, Vec<Accumulator>)> = Vec::new();
    let fresh = || grouping.aggregates.iter().map(Accumulator::new).collect();
    match &grouping.source {
        GroupSource::IndexCounts(index, _) => {
            for (value, n) in collection.state.group_counts(index)? {
                let accumulators = groups.entry(vec![canonical(value)]).or_insert_with(fresh);
                for accumulator in accumulators.iter_mut() {
                    accumulator.add_count(n);
                }
            }
        }
        GroupSource::Counter => {
            let count = collection.len()?;
            let accumulators = groups.entry(Vec::new()).or_insert_with(fresh);
            accumulators.iter_mut().for_each(|a| a.add_count(count));
        }
        GroupSource::IndexEnds(index) => {
            let (low, high) = collection.state.index_ends(index)?;
            let count = collection.len()?;
            let accumulators = groups.entry(Vec::new()).or_insert_with(fresh);
            for (accumulator, call) in accumulators.iter_mut().zip(&grouping.aggregates) {
                match call.function {
                    Aggregate::Min => low.iter().for_each(|v| accumulator.add(v)),
                    Aggregate::Max => high.iter().for_each(|v| accumulator.add(v)),
                    _ => accumulator.add_count(count),
                }
            }
        }
        GroupSource::Rows => {
            if grouping.keys.is_empty() {
                groups.insert(Vec::new(), fresh());
            }
            let reads = wanted(
                grouping.keys.iter().flat_map(|(k, _)| k.paths()).chain(
                    grouping
                        .aggregates
                        .iter()
                        .flat_map(|a| a.arg.iter().flat_map(|arg| arg.paths()).collect::<Vec<_>>()),
                ),
            );
            let stream = filtered(
                collection,
                &pipeline.plan,
                pipeline.filter_slot(),
                measures,
                None,
            );
            for item in stream {
                let mut doc = item?;
                let fields = doc.read(&collection.state, reads.as_ref())?;
                let inputs: Vec<Input> = grouping
                    .aggregates
                    .iter()
                    .map(|call| Input::of(call, fields))
                    .collect();
                let mut add = |key: &[Value]| {
                    let accumulators = if grouping.in_key_order {
                        // Rows come in key order: a new key finishes the group before it.
                        if current.as_ref().is_none_or(|(k, _)| k.as_slice() != key) {
                            let next = (key.iter().cloned().map(canonical).collect(), fresh());
                            finished.extend(current.replace(next));
                        }
                        &mut current.as_mut().expect("set above").1
                    } else {
                        match groups.get_mut(key) {
                            Some(found) => found,
                            None => groups
                                .entry(key.iter().cloned().map(canonical).collect())
                                .or_insert_with(fresh),
                        }
                    };
                    for (accumulator, input) in accumulators.iter_mut().zip(&inputs) {
                        accumulator.take(input);
                    }
                };
                match grouping.keys.as_slice() {
                    // One path: its keys are looked up where they lie in the document.
                    [(Calc::Path(path), _)] => {
                        for key in path.index_key_refs(fields).0 {
                            add(std::slice::from_ref(key));
                        }
                    }
                    keys => {
                        let key_sets: Vec<Vec<Value>> =
                            keys.iter().map(|(k, _)| k.key_values(fields)).collect();
                        for_each_combination(&key_sets, &mut add);
                    }
                }
            }
        }
    }
    let mut groups: Vec<(Vec<Value>, Vec<Accumulator>)> =
        groups.into_iter().chain(finished).chain(current).collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // A group row: the keys, then the aggregates (see `Grouping::slot`).
    Ok(groups
        .into_iter()
        .map(|(mut row, accumulators)| {
            row.extend(accumulators.into_iter().map(Accumulator::finish));
            Value::Array(row)
        })
        .collect())
}

/// Calls `f` with every combination of one value from each set (none when a set is empty).
fn for_each_combination(sets: &[Vec<Value>], f: &mut impl FnMut(&[Value])) {
    fn walk(sets: &[Vec<Value>], chosen: &mut Vec<Value>, f: &mut impl FnMut(&[Value])) {
        match sets.split_first() {
            None => f(chosen),
            Some((first, rest)) => {
                for value in first {
                    chosen.push(value.clone());
                    walk(rest, chosen, f);
                    chosen.pop();
                }
            }
        }
    }
    walk(sets, &mut Vec::with_capacity(sets.len()), f);
}

/// Integral floats as integers, so `1` and `1.0` group under one printed value.
fn canonical(value: Value) -> Value {
    match value {
        Value::Float(f) => match Value::Float(f).as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(f),
        },
        other => other,
    }
}

/// What one document gives one aggregate, computed once however many groups it joins.
enum Input {
    /// `count()`
    Row,
    /// The argument's value (missing reads as null).
    Value(Value),
    /// `count(distinct x)`: the keys the argument stands for.
    Keys(Vec<Value>),
}

impl Input {
    fn of(call: &AggregateCall, doc: &Value) -> Input {
        match (&call.arg, call.distinct) {
            (None, _) => Input::Row,
            (Some(arg), true) => Input::Keys(arg.key_values(doc)),
            (Some(arg), false) => Input::Value(arg.eval(doc)),
        }
    }
}

/// One aggregate's running state in one group.
enum Accumulator {
    /// `count()`, `count(x)`
    Count(u64),
    /// `count(distinct x)`
    Distinct(HashSet<Value, foldhash::fast::RandomState>),
    /// `sum(x)`: exact while every number is an integer and the total fits.
    Sum(Sum),
    /// `avg(x)`
    Avg(Sum, u64),
    /// `min(x)`
    Min(Option<Value>),
    /// `max(x)`
    Max(Option<Value>),
}

/// A running total of numbers: integers summed exactly (an `i128` cannot overflow on any
/// number of `i64`s a collection holds), floats apart.
#[derive(Default)]
struct Sum {
    int: i128,
    float: f64,
    /// Whether a float was added.
    floats: bool,
}

impl Sum {
    /// Adds a number; whether `value` was one.
    fn add(&mut self, value: &Value) -> bool {
        match value {
            Value::Int(i) => self.int += i128::from(*i),
            Value::Float(f) => {
                self.float += f;
                self.floats = true;
            }
            _ => return false,
        }
        true
    }

    fn total(&self) -> f64 {
        self.int as f64 + self.float
    }

    /// The total: an integer when only integers were added and the total fits one.
    fn value(&self) -> Value {
        match i64::try_from(self.int) {
            Ok(int) if !self.floats => Value::Int(int),
            _ => Value::float(self.total()).unwrap_or(Value::Null),
        }
    }
}

impl Accumulator {
    fn new(call: &AggregateCall) -> Accumulator {
        match call.function {
            Aggregate::Count if call.distinct => Accumulator::Distinct(HashSet::default()),
            Aggregate::Count => Accumulator::Count(0),
            Aggregate::Sum => Accumulator::Sum(Sum::default()),
            Aggregate::Avg => Accumulator::Avg(Sum::default(), 0),
            Aggregate::Min => Accumulator::Min(None),
            Aggregate::Max => Accumulator::Max(None),
        }
    }

    fn take(&mut self, input: &Input) {
        match (self, input) {
            (Accumulator::Count(n), Input::Row) => *n += 1,
            (Accumulator::Distinct(seen), Input::Keys(keys)) => {
                for key in keys.iter().filter(|k| !matches!(k, Value::Null)) {
                    if !seen.contains(key) {
                        seen.insert(canonical(key.clone()));
                    }
                }
            }
            (accumulator, Input::Value(value)) => accumulator.add(value),
            _ => {}
        }
    }

    /// Adds one value of the argument.
    fn add(&mut self, value: &Value) {
        match self {
            Accumulator::Count(n) => *n += u64::from(!matches!(value, Value::Null)),
            Accumulator::Sum(sum) => {
                sum.add(value);
            }
            Accumulator::Avg(sum, n) => *n += u64::from(sum.add(value)),
            Accumulator::Min(low)
                if !matches!(value, Value::Null) && low.as_ref().is_none_or(|l| value < l) =>
            {
                *low = Some(value.clone());
            }
            Accumulator::Max(high)
                if !matches!(value, Value::Null) && high.as_ref().is_none_or(|h| value > h) =>
            {
                *high = Some(value.clone());
            }
            _ => {}
        }
    }

    /// Adds `n` to a count (from an index's counts or the collection's counter).
    fn add_count(&mut self, n: u64) {
        if let Accumulator::Count(count) = self {
            *count += n;
        }
    }

    fn finish(self) -> Value {
        match self {
            Accumulator::Count(n) => count_value(n),
            Accumulator::Distinct(seen) => count_value(seen.len() as u64),
            Accumulator::Sum(sum) => sum.value(),
            Accumulator::Avg(_, 0) => Value::Null,
            Accumulator::Avg(sum, n) => Value::float(sum.total() / n as f64).unwrap_or(Value::Null),
            Accumulator::Min(v) | Accumulator::Max(v) => v.unwrap_or(Value::Null),
        }
    }
}

fn count_value(n: u64) -> Value {
    i64::try_from(n).map_or(Value::Float(n as f64), Value::Int)
}
