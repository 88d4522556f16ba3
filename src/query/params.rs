//! Values for the parameters of a statement (`$1`, `$name`), bound by name or position.
//!
//! Invariant: positions count from 1, and a name made of digits is that position, so `$1`
//! and a binding named `1` are one parameter.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::query::ast::Param;
use crate::query::text::TextSearch;
use crate::value::Value;

/// Values for `$1` / `$name` parameters.
///
/// ```
/// use quarry::query::Params;
/// let params = Params::new().with("org", "ICC").with_positional(2021i64);
/// assert_eq!(params.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    positional: Vec<Value>,
    named: HashMap<String, Value>,
    /// The statement's `search` conditions, bound to the text index: what binding a `search`,
    /// `score()` or `snippet()` reads.
    search: Option<Arc<TextSearch>>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Params {
        Params::default()
    }

    /// Binds `$name`.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Params {
        self.set(name, value);
        self
    }

    /// Binds the next positional parameter (`$1`, then `$2`, …).
    pub fn with_positional(mut self, value: impl Into<Value>) -> Params {
        self.positional.push(value.into());
        self
    }

    /// Binds `$name` in place (a name of digits binds that position).
    ///
    /// ```
    /// let mut params = quarry::query::Params::new();
    /// params.set("1", 5i64);
    /// params.set("org", "ICC");
    /// assert_eq!(params.len(), 2);
    /// ```
    pub fn set(&mut self, name: &str, value: impl Into<Value>) {
        let value = value.into();
        match name.parse::<usize>() {
            Ok(position) if position >= 1 => {
                if self.positional.len() < position {
                    self.positional.resize(position, Value::Null);
                }
                self.positional[position - 1] = value;
            }
            _ => {
                self.named.insert(name.to_owned(), value);
            }
        }
    }

    /// Unbinds `$name` (a name of digits unbinds that position); whether it was bound.
    ///
    /// ```
    /// let mut params = quarry::query::Params::new().with("org", "ICC");
    /// assert!(params.unset("org") && !params.unset("org"));
    /// ```
    pub fn unset(&mut self, name: &str) -> bool {
        match name.parse::<usize>() {
            Ok(position) if (1..=self.positional.len()).contains(&position) => {
                self.positional[position - 1] = Value::Null;
                while self.positional.last() == Some(&Value::Null) {
                    self.positional.pop();
                }
                true
            }
            Ok(_) => false,
            Err(_) => self.named.remove(name).is_some(),
        }
    }

    /// Every binding, positions first (`1`, `2`, …), then names in order.
    ///
    /// ```
    /// let params = quarry::query::Params::new().with("b", 2i64).with("a", 1i64).with_positional(true);
    /// let names: Vec<String> = params.bound().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["1", "a", "b"]);
    /// ```
    pub fn bound(&self) -> Vec<(String, Value)> {
        let mut named: Vec<(String, Value)> = self
            .named
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        named.sort();
        (1..)
            .zip(&self.positional)
            .map(|(i, v)| (i.to_string(), v.clone()))
            .chain(named)
            .collect()
    }

    /// How many parameters are bound.
    pub fn len(&self) -> usize {
        self.positional.len() + self.named.len()
    }

    /// Whether none is bound.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// These parameters, for a statement whose `search` conditions are bound as `search`.
    pub(crate) fn with_search(&self, search: Option<Arc<TextSearch>>) -> Params {
        Params {
            search,
            ..self.clone()
        }
    }

    /// The statement's `search` conditions, bound.
    pub(crate) fn search(&self) -> Option<&Arc<TextSearch>> {
        self.search.as_ref()
    }

    /// The value bound to a parameter.
    ///
    /// ```
    /// use quarry::query::{Params, ast::Param};
    /// let params = quarry::query::Params::new().with("org", "ICC");
    /// assert_eq!(params.get(&Param::Named("org".into()))?, "ICC".into());
    /// assert!(params.get(&Param::Position(1)).is_err());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn get(&self, param: &Param) -> Result<Value> {
        let found = match param {
            Param::Position(n) => n.checked_sub(1).and_then(|i| self.positional.get(i)),
            Param::Named(name) => self.named.get(name),
        };
        found
            .cloned()
            .ok_or_else(|| Error::Query(format!("no value is bound for parameter {param}")))
    }
}
