//! The syntax tree of the query language. `Display` prints canonical query text that parses
//! back to the same tree.

use std::fmt;

use crate::path::Path;
use crate::value::Value;

/// One statement, as [`crate::query::parse_statement`] reads it; it prints back as text that
/// parses to the same statement.
///
/// ```
/// use quarry::query::{Statement, parse_statement};
/// let statement = parse_statement("insert into t {a: 1}")?;
/// assert!(matches!(&statement, Statement::Insert { collection, .. } if collection == "t"));
/// assert_eq!(parse_statement(&statement.to_string())?, statement);
/// # Ok::<(), quarry::query::ParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// `[select ...] [from C] [where E] [order by ...] [limit N] [offset N]`
    Query(Query),
    /// `count [from C] [where E] [by PATH]`
    Count(Count),
    /// `insert into C {...}` or `[{...}, ...]`
    Insert {
        /// The collection (created when missing).
        collection: String,
        /// The documents.
        documents: Vec<Value>,
    },
    /// `update C set p = v, ... unset p, ... where E`
    Update {
        /// The collection.
        collection: String,
        /// Paths to set and their new values.
        set: Vec<(Path, Operand)>,
        /// Paths to remove.
        unset: Vec<Path>,
        /// Which documents.
        filter: Expr,
    },
    /// `delete from C where E` (or `all`: `filter` is `None`)
    Delete {
        /// The collection.
        collection: String,
        /// Which documents; `None` means all.
        filter: Option<Expr>,
    },
    /// `create [unique] index on C (p, ...)`
    CreateIndex {
        /// The collection (created when missing).
        collection: String,
        /// The indexed paths.
        paths: Vec<Path>,
        /// Whether values must be unique.
        unique: bool,
    },
    /// `drop index NAME`
    DropIndex {
        /// The index's name.
        name: String,
    },
    /// `drop collection C`
    DropCollection {
        /// The collection.
        name: String,
    },
    /// `use C`
    Use {
        /// The collection statements read by default.
        collection: String,
    },
    /// `show collections`
    ShowCollections,
    /// `show indexes [on C]`
    ShowIndexes {
        /// Only this collection's.
        collection: Option<String>,
    },
    /// `show fields [of C]`
    ShowFields {
        /// The collection (default: the current one).
        collection: Option<String>,
    },
    /// `explain [analyze] STATEMENT`
    Explain {
        /// Run it and measure each step.
        analyze: bool,
        /// The statement explained.
        statement: Box<Statement>,
    },
    /// `import "path" into C [format F]`
    Import {
        /// The file or folder.
        path: String,
        /// The collection.
        collection: String,
        /// `ndjson`, `json`, `csv` or `article` (default: by extension).
        format: Option<String>,
    },
}

impl Statement {
    /// Whether running it changes nothing stored (`explain analyze` of a write runs the write).
    ///
    /// ```
    /// let read = quarry::query::parse_statement("explain count from t")?;
    /// let write = quarry::query::parse_statement("explain analyze delete from t where a = 1")?;
    /// assert!(read.only_reads() && !write.only_reads());
    /// # Ok::<(), quarry::query::ParseError>(())
    /// ```
    pub fn only_reads(&self) -> bool {
        match self {
            Statement::Query(_)
            | Statement::Count(_)
            | Statement::Use { .. }
            | Statement::ShowCollections
            | Statement::ShowIndexes { .. }
            | Statement::ShowFields { .. } => true,
            Statement::Explain { analyze, statement } => !analyze || statement.only_reads(),
            Statement::Insert { .. }
            | Statement::Update { .. }
            | Statement::Delete { .. }
            | Statement::CreateIndex { .. }
            | Statement::DropIndex { .. }
            | Statement::DropCollection { .. }
            | Statement::Import { .. } => false,
        }
    }
}

/// A query.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Query {
    /// `select p, ...`; `None` for `select *` or no `select`.
    pub fields: Option<Vec<Path>>,
    /// `from C`.
    pub collection: Option<String>,
    /// `where E`.
    pub filter: Option<Expr>,
    /// `order by ...`.
    pub order_by: Vec<OrderKey>,
    /// `limit N`.
    pub limit: Option<Operand>,
    /// `offset N`.
    pub offset: Option<Operand>,
}

/// One `order by` key.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderKey {
    /// The path sorted on.
    pub path: Path,
    /// `desc`.
    pub descending: bool,
}

/// A count.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Count {
    /// `from C`.
    pub collection: Option<String>,
    /// `where E`.
    pub filter: Option<Expr>,
    /// `by PATH`: count per value.
    pub by: Option<Path>,
}

/// A literal or a parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A literal value.
    Value(Value),
    /// `$1` or `$name`, bound when the statement runs.
    Param(Param),
}

/// A parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    /// `$1`, `$2`, … (from 1).
    Position(usize),
    /// `$name`.
    Named(String),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `=` or `==`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A condition on documents.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Any of them.
    Or(Vec<Expr>),
    /// All of them.
    And(Vec<Expr>),
    /// The opposite.
    Not(Box<Expr>),
    /// `path OP value`
    Compare {
        /// The path.
        path: Path,
        /// The operator.
        op: CompareOp,
        /// The value.
        value: Operand,
    },
    /// `path [not] in [v, ...]`
    In {
        /// The path.
        path: Path,
        /// The values.
        values: Vec<Operand>,
        /// `not in`.
        negated: bool,
    },
    /// `path between low and high` (inclusive)
    Between {
        /// The path.
        path: Path,
        /// The low end.
        low: Operand,
        /// The high end.
        high: Operand,
    },
    /// `path contains v`
    Contains {
        /// The path.
        path: Path,
        /// The element or substring.
        value: Operand,
    },
    /// `path starts with "p"`
    StartsWith {
        /// The path.
        path: Path,
        /// The prefix.
        prefix: Operand,
    },
    /// `path matches "re"`
    Matches {
        /// The path.
        path: Path,
        /// The regular expression.
        pattern: Operand,
    },
    /// `exists path`
    Exists {
        /// The path.
        path: Path,
    },
    /// `path is [not] null`
    IsNull {
        /// The path.
        path: Path,
        /// `is not null`.
        negated: bool,
    },
    /// `path has (condition)`: one element of the array at `path` satisfies the whole
    /// condition, whose paths are relative to the element (`_` is the element itself).
    Has {
        /// The array's path.
        path: Path,
        /// The condition on one element.
        condition: Box<Expr>,
    },
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        })
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Position(n) => write!(f, "${n}"),
            Param::Named(name) => write!(f, "${name}"),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Value(v) => write!(f, "{v}"),
            Operand::Param(p) => write!(f, "{p}"),
        }
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Expr {
    /// Binding strength: 0 or, 1 and, 2 not, 3 a condition.
    fn level(&self) -> u8 {
        match self {
            Expr::Or(_) => 0,
            Expr::And(_) => 1,
            Expr::Not(_) => 2,
            _ => 3,
        }
    }

    fn write_at(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.level() < min {
            write!(f, "(")?;
            self.write_at(f, 0)?;
            return write!(f, ")");
        }
        match self {
            Expr::Or(items) | Expr::And(items) => {
                let (word, level) = if matches!(self, Expr::Or(_)) {
                    (" or ", 1)
                } else {
                    (" and ", 2)
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(word)?;
                    }
                    item.write_at(f, level)?;
                }
                Ok(())
            }
            Expr::Not(inner) => {
                write!(f, "not ")?;
                inner.write_at(f, 2)
            }
            Expr::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Expr::In {
                path,
                values,
                negated,
            } => {
                write!(
                    f,
                    "{path} {}in [{}]",
                    if *negated { "not " } else { "" },
                    list(values)
                )
            }
            Expr::Between { path, low, high } => write!(f, "{path} between {low} and {high}"),
            Expr::Contains { path, value } => write!(f, "{path} contains {value}"),
            Expr::StartsWith { path, prefix } => write!(f, "{path} starts with {prefix}"),
            Expr::Matches { path, pattern } => write!(f, "{path} matches {pattern}"),
            Expr::Exists { path } => write!(f, "exists {path}"),
            Expr::Has { path, condition } => write!(f, "{path} has ({condition})"),
            Expr::IsNull { path, negated } => {
                write!(f, "{path} is {}null", if *negated { "not " } else { "" })
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_at(f, 0)
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(fields) = &self.fields {
            parts.push(format!("select {}", list(fields)));
        }
        if let Some(c) = &self.collection {
            parts.push(format!("from {c}"));
        }
        if let Some(e) = &self.filter {
            parts.push(format!("where {e}"));
        }
        if !self.order_by.is_empty() {
            let keys: Vec<String> = self
                .order_by
                .iter()
                .map(|k| format!("{}{}", k.path, if k.descending { " desc" } else { "" }))
                .collect();
            parts.push(format!("order by {}", keys.join(", ")));
        }
        if let Some(l) = &self.limit {
            parts.push(format!("limit {l}"));
        }
        if let Some(o) = &self.offset {
            parts.push(format!("offset {o}"));
        }
        if parts.is_empty() {
            parts.push("select *".to_owned());
        }
        f.write_str(&parts.join(" "))
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("count")?;
        if let Some(c) = &self.collection {
            write!(f, " from {c}")?;
        }
        if let Some(e) = &self.filter {
            write!(f, " where {e}")?;
        }
        if let Some(by) = &self.by {
            write!(f, " by {by}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Query(q) => write!(f, "{q}"),
            Statement::Count(c) => write!(f, "{c}"),
            Statement::Insert {
                collection,
                documents,
            } => match documents.as_slice() {
                [one] => write!(f, "insert into {collection} {one}"),
                many => write!(f, "insert into {collection} [{}]", list(many)),
            },
            Statement::Update {
                collection,
                set,
                unset,
                filter,
            } => {
                write!(f, "update {collection}")?;
                if !set.is_empty() {
                    let assigns: Vec<String> =
                        set.iter().map(|(p, v)| format!("{p} = {v}")).collect();
                    write!(f, " set {}", assigns.join(", "))?;
                }
                if !unset.is_empty() {
                    write!(f, " unset {}", list(unset))?;
                }
                write!(f, " where {filter}")
            }
            Statement::Delete { collection, filter } => match filter {
                Some(e) => write!(f, "delete from {collection} where {e}"),
                None => write!(f, "delete from {collection} all"),
            },
            Statement::CreateIndex {
                collection,
                paths,
                unique,
            } => write!(
                f,
                "create {}index on {collection} ({})",
                if *unique { "unique " } else { "" },
                list(paths)
            ),
            Statement::DropIndex { name } => write!(f, "drop index {name}"),
            Statement::DropCollection { name } => write!(f, "drop collection {name}"),
            Statement::Use { collection } => write!(f, "use {collection}"),
            Statement::ShowCollections => write!(f, "show collections"),
            Statement::ShowIndexes { collection } => match collection {
                Some(c) => write!(f, "show indexes on {c}"),
                None => write!(f, "show indexes"),
            },
            Statement::ShowFields { collection } => match collection {
                Some(c) => write!(f, "show fields of {c}"),
                None => write!(f, "show fields"),
            },
            Statement::Explain { analyze, statement } => {
                write!(
                    f,
                    "explain {}{statement}",
                    if *analyze { "analyze " } else { "" }
                )
            }
            Statement::Import {
                path,
                collection,
                format,
            } => {
                write!(f, "import {} into {collection}", Value::from(path.as_str()))?;
                if let Some(format) = format {
                    write!(f, " format {format}")?;
                }
                Ok(())
            }
        }
    }
}
