//! The syntax tree of the query language. `Display` prints canonical query text that parses
//! back to the same tree.

use std::fmt;

use crate::path::Path;
use crate::text::Language;
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
// A statement is parsed once and run: boxing the query would cost every caller a `Box`
// pattern for nothing measurable.
#[allow(clippy::large_enum_variant)]
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
    /// `update C set p = e, ... unset p, ... where E`
    Update {
        /// The collection.
        collection: String,
        /// Paths to set and the expressions giving their new values (read from the document
        /// as it was before the update).
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
    /// `create [unique] index on C (p, ...)`, or `create text index on C (p, ...) [language L]`
    CreateIndex {
        /// The collection (created when missing).
        collection: String,
        /// The indexed paths.
        paths: Vec<Path>,
        /// Whether values must be unique.
        unique: bool,
        /// For a text index, the language its words are analyzed in.
        text: Option<Language>,
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
    /// `explain sql STATEMENT`: the PostgreSQL statement equivalent to the statement, over the
    /// table `export --format postgres` writes (run through the session's translator).
    ExplainSql {
        /// The statement translated.
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
    /// `begin`: the statements up to `commit` or `rollback` are one transaction.
    Begin,
    /// `commit`: makes the open transaction's writes visible and durable, all at once.
    Commit,
    /// `rollback`: discards the open transaction's writes.
    Rollback,
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
            | Statement::ShowFields { .. }
            | Statement::ExplainSql { .. }
            | Statement::Begin
            | Statement::Rollback => true,
            Statement::Explain { analyze, statement } => !analyze || statement.only_reads(),
            Statement::Insert { .. }
            | Statement::Update { .. }
            | Statement::Delete { .. }
            | Statement::CreateIndex { .. }
            | Statement::DropIndex { .. }
            | Statement::DropCollection { .. }
            | Statement::Import { .. }
            | Statement::Commit => false,
        }
    }

    /// What the statement is called when it cannot run inside a transaction: it changes the
    /// catalog (indexes, collections) or runs in steps of its own (`import`).
    ///
    /// ```
    /// let import = quarry::query::parse_statement("import 'a.csv' into a")?;
    /// let insert = quarry::query::parse_statement("insert into a {x: 1}")?;
    /// assert_eq!(import.outside_transactions(), Some("import"));
    /// assert_eq!(insert.outside_transactions(), None);
    /// # Ok::<(), quarry::query::ParseError>(())
    /// ```
    pub fn outside_transactions(&self) -> Option<&'static str> {
        match self {
            Statement::CreateIndex { .. } => Some("create index"),
            Statement::DropIndex { .. } => Some("drop index"),
            Statement::DropCollection { .. } => Some("drop collection"),
            Statement::Import { .. } => Some("import"),
            Statement::Explain { statement, .. } => statement.outside_transactions(),
            _ => None,
        }
    }
}

/// A query.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Query {
    /// `select distinct ...`: one row per distinct combination of the columns.
    pub distinct: bool,
    /// `select e [as name], ...`; `None` for `select *` or no `select`.
    pub columns: Option<Vec<Column>>,
    /// `from C`.
    pub collection: Option<String>,
    /// `where E`.
    pub filter: Option<Expr>,
    /// `group by e, ...`.
    pub group_by: Vec<Operand>,
    /// `having E`: a condition on groups.
    pub having: Option<Expr>,
    /// `order by ...`.
    pub order_by: Vec<OrderKey>,
    /// `limit N`.
    pub limit: Option<Operand>,
    /// `offset N`.
    pub offset: Option<Operand>,
}

impl Query {
    /// Whether the query answers with groups rather than documents: it has `group by`,
    /// `having`, `distinct`, or an aggregate among its columns or order keys.
    ///
    /// ```
    /// use quarry::query::{Statement, parse_statement};
    /// let aggregates = |text| match parse_statement(text) {
    ///     Ok(Statement::Query(q)) => q.aggregates(),
    ///     _ => unreachable!(),
    /// };
    /// assert!(aggregates("select count() from t") && aggregates("select distinct a from t"));
    /// assert!(!aggregates("select len(a) as n from t order by n"));
    /// ```
    pub fn aggregates(&self) -> bool {
        self.distinct
            || !self.group_by.is_empty()
            || self.having.is_some()
            || self
                .columns
                .iter()
                .flatten()
                .any(|c| c.value.has_aggregate())
            || self.order_by.iter().any(|k| k.key.has_aggregate())
    }
}

/// One column of `select`: an expression and the name it goes by.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// What the column holds.
    pub value: Operand,
    /// `as name`.
    pub alias: Option<String>,
}

impl Column {
    /// The column's name in each row: its alias; else a one-field path's field name; else the
    /// expression as written (`b.c`, `avg(area)`).
    ///
    /// ```
    /// use quarry::query::{Statement, parse_statement};
    /// let Ok(Statement::Query(q)) = parse_statement("select a, b.c, len(d) as n, avg(e)") else { panic!() };
    /// let names: Vec<String> = q.columns.unwrap().iter().map(|c| c.name()).collect();
    /// assert_eq!(names, ["a", "b.c", "n", "avg(e)"]);
    /// ```
    pub fn name(&self) -> String {
        match (&self.alias, &self.value) {
            (Some(alias), _) => alias.clone(),
            (None, Operand::Path(path)) => match path.segments() {
                [crate::path::Segment::Field(name)] => name.clone(),
                _ => path.to_string(),
            },
            (None, value) => value.to_string(),
        }
    }
}

/// One `order by` key.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderKey {
    /// What is sorted on: an expression, or the name of a column.
    pub key: Operand,
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

/// An expression that gives a value: a literal, a parameter, a path, arithmetic, a function
/// call, a date interval or an aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A literal value.
    Value(Value),
    /// `$1` or `$name`, bound when the statement runs.
    Param(Param),
    /// A field path (missing reads as null).
    Path(Path),
    /// `-e`
    Negate(Box<Operand>),
    /// `a + b`, `a || b`, …
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left side.
        left: Box<Operand>,
        /// The right side.
        right: Box<Operand>,
    },
    /// `len(x)`, `coalesce(a, b)`, …
    Call {
        /// The function.
        function: Function,
        /// Its arguments.
        args: Vec<Operand>,
    },
    /// `30 days`: only on the right of `+` or `-` after a date.
    Interval {
        /// How many units.
        amount: Box<Operand>,
        /// Which unit.
        unit: DateUnit,
    },
    /// `count()`, `sum(x)`, `count(distinct x)`, … (in `select`, `having`, `order by`).
    Aggregate {
        /// The aggregate.
        function: Aggregate,
        /// What it takes from each row; `None` for `count()`.
        arg: Option<Box<Operand>>,
        /// `count(distinct x)`.
        distinct: bool,
    },
}

/// An arithmetic or string operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
    /// `%`
    Remainder,
    /// `||`
    Concat,
}

impl BinaryOp {
    /// Binding strength: 0 `||`, 1 `+ -`, 2 `* / %`.
    pub fn level(self) -> u8 {
        match self {
            BinaryOp::Concat => 0,
            BinaryOp::Add | BinaryOp::Subtract => 1,
            BinaryOp::Multiply | BinaryOp::Divide | BinaryOp::Remainder => 2,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Subtract => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Remainder => "%",
            BinaryOp::Concat => "||",
        }
    }
}

/// An aggregate: what many rows give one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    /// `count()`, `count(x)`, `count(distinct x)`
    Count,
    /// `sum(x)`
    Sum,
    /// `avg(x)`
    Avg,
    /// `min(x)`
    Min,
    /// `max(x)`
    Max,
}

impl Aggregate {
    /// Every aggregate, by name.
    pub const ALL: [(Aggregate, &'static str); 5] = [
        (Aggregate::Count, "count"),
        (Aggregate::Sum, "sum"),
        (Aggregate::Avg, "avg"),
        (Aggregate::Min, "min"),
        (Aggregate::Max, "max"),
    ];

    /// The aggregate's name.
    pub fn name(self) -> &'static str {
        Aggregate::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("count", |(_, n)| n)
    }
}

pub use crate::query::functions::{DateUnit, Function};

impl Operand {
    /// Whether an aggregate appears in it.
    pub fn has_aggregate(&self) -> bool {
        let mut found = false;
        self.visit(&mut |o| found |= matches!(o, Operand::Aggregate { .. }));
        found
    }

    /// How deep its tree is: 1 for a leaf.
    pub fn depth(&self) -> usize {
        1 + match self {
            Operand::Negate(inner) => inner.depth(),
            Operand::Binary { left, right, .. } => left.depth().max(right.depth()),
            Operand::Call { args, .. } => args.iter().map(Operand::depth).max().unwrap_or(0),
            Operand::Interval { amount, .. } => amount.depth(),
            Operand::Aggregate { arg, .. } => arg.as_ref().map_or(0, |a| a.depth()),
            Operand::Value(_) | Operand::Param(_) | Operand::Path(_) => 0,
        }
    }

    /// Every path it reads (those inside aggregates too), in order.
    ///
    /// ```
    /// let Ok(quarry::query::Statement::Query(q)) =
    ///     quarry::query::parse_statement("select sum(a.b) / len(c) + 1") else { panic!() };
    /// let paths: Vec<String> = q.columns.unwrap()[0].value.paths().iter().map(|p| p.to_string()).collect();
    /// assert_eq!(paths, ["a.b", "c"]);
    /// ```
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        self.visit(&mut |o| {
            if let Operand::Path(p) = o {
                out.push(p);
            }
        });
        out
    }

    /// Calls `f` on this operand and every operand inside it, outside in.
    pub fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Operand)) {
        f(self);
        match self {
            Operand::Negate(inner) => inner.visit(f),
            Operand::Binary { left, right, .. } => {
                left.visit(f);
                right.visit(f);
            }
            Operand::Call { args, .. } => args.iter().for_each(|a| a.visit(f)),
            Operand::Interval { amount, .. } => amount.visit(f),
            Operand::Aggregate { arg: Some(arg), .. } => arg.visit(f),
            Operand::Value(_)
            | Operand::Param(_)
            | Operand::Path(_)
            | Operand::Aggregate { arg: None, .. } => {}
        }
    }

    /// The operand with every part replaced by what `f` gives for it, or rebuilt from its
    /// parts when `f` gives `None` (outside in: where `f` gives a replacement, the parts inside
    /// it are not visited).
    pub fn rewrite(
        &self,
        f: &mut impl FnMut(&Operand) -> Result<Option<Operand>, String>,
    ) -> Result<Operand, String> {
        if let Some(done) = f(self)? {
            return Ok(done);
        }
        Ok(match self {
            Operand::Negate(inner) => Operand::Negate(Box::new(inner.rewrite(f)?)),
            Operand::Binary { op, left, right } => Operand::Binary {
                op: *op,
                left: Box::new(left.rewrite(f)?),
                right: Box::new(right.rewrite(f)?),
            },
            Operand::Call { function, args } => Operand::Call {
                function: *function,
                args: args
                    .iter()
                    .map(|a| a.rewrite(f))
                    .collect::<Result<_, _>>()?,
            },
            Operand::Interval { amount, unit } => Operand::Interval {
                amount: Box::new(amount.rewrite(f)?),
                unit: *unit,
            },
            Operand::Aggregate {
                function,
                arg,
                distinct,
            } => Operand::Aggregate {
                function: *function,
                arg: arg
                    .as_ref()
                    .map(|a| a.rewrite(f).map(Box::new))
                    .transpose()?,
                distinct: *distinct,
            },
            Operand::Value(_) | Operand::Param(_) | Operand::Path(_) => self.clone(),
        })
    }

    /// Binding strength when printed: 0 `||`, 1 `+ -`, 2 `* / %`, 3 `-e` and intervals, 4 the rest.
    fn level(&self) -> u8 {
        match self {
            Operand::Binary { op, .. } => op.level(),
            Operand::Negate(_) | Operand::Interval { .. } => 3,
            _ => 4,
        }
    }

    fn write_at(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.level() < min {
            write!(f, "(")?;
            self.write_at(f, 0)?;
            return write!(f, ")");
        }
        match self {
            Operand::Value(v) => write!(f, "{v}"),
            Operand::Param(p) => write!(f, "{p}"),
            Operand::Path(p) => write!(f, "{p}"),
            Operand::Negate(inner) => {
                write!(f, "-")?;
                // `--` would start a comment, `-5` would read back as one number.
                match &**inner {
                    Operand::Value(Value::Int(_) | Value::Float(_)) | Operand::Negate(_) => {
                        write!(f, "({inner})")
                    }
                    _ => inner.write_at(f, 4),
                }
            }
            Operand::Binary { op, left, right } => {
                left.write_at(f, op.level())?;
                write!(f, " {} ", op.symbol())?;
                right.write_at(f, op.level() + 1)
            }
            Operand::Call { function, args } => write!(f, "{}({})", function.name(), list(args)),
            Operand::Interval { amount, unit } => {
                amount.write_at(f, 4)?;
                let (_, one, many) = DateUnit::WORDS
                    .iter()
                    .find(|(u, ..)| u == unit)
                    .copied()
                    .unwrap_or((DateUnit::Day, "day", "days"));
                let word = if **amount == Operand::Value(Value::Int(1)) {
                    one
                } else {
                    many
                };
                write!(f, " {word}")
            }
            Operand::Aggregate {
                function,
                arg,
                distinct,
            } => {
                write!(f, "{}(", function.name())?;
                if *distinct {
                    write!(f, "distinct ")?;
                }
                if let Some(arg) = arg {
                    write!(f, "{arg}")?;
                }
                write!(f, ")")
            }
        }
    }
}

impl From<Path> for Operand {
    fn from(path: Path) -> Operand {
        Operand::Path(path)
    }
}

impl From<Value> for Operand {
    fn from(value: Value) -> Operand {
        Operand::Value(value)
    }
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
    /// `subject OP value`
    Compare {
        /// What is compared.
        subject: Operand,
        /// The operator.
        op: CompareOp,
        /// The value.
        value: Operand,
    },
    /// `subject [not] in [v, ...]`
    In {
        /// What is looked up.
        subject: Operand,
        /// The values.
        values: Vec<Operand>,
        /// `not in`.
        negated: bool,
    },
    /// `subject between low and high` (inclusive)
    Between {
        /// What is tested.
        subject: Operand,
        /// The low end.
        low: Operand,
        /// The high end.
        high: Operand,
    },
    /// `subject contains v`
    Contains {
        /// The array or string looked into.
        subject: Operand,
        /// The element or substring.
        value: Operand,
    },
    /// `subject starts with "p"`
    StartsWith {
        /// The string tested.
        subject: Operand,
        /// The prefix.
        prefix: Operand,
    },
    /// `subject matches "re"`
    Matches {
        /// The string tested.
        subject: Operand,
        /// The regular expression.
        pattern: Operand,
    },
    /// `search "words"` (every field of the text index) or `path search "words"` (one)
    Search {
        /// The field searched; `None`: every field of the collection's text index.
        path: Option<Path>,
        /// The search (a string or a parameter).
        query: Operand,
    },
    /// `exists path`
    Exists {
        /// The path.
        path: Path,
    },
    /// `subject is [not] null`
    IsNull {
        /// What is tested.
        subject: Operand,
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

impl CompareOp {
    /// The operator with its sides swapped: `a < b` is `b > a`.
    pub fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            other => other,
        }
    }
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
        self.write_at(f, 0)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)?;
        let unnamed = Column {
            value: self.value.clone(),
            alias: None,
        };
        match &self.alias {
            // An alias that repeats the column's own name adds nothing.
            Some(alias) if *alias != unnamed.name() => write!(f, " as {}", Path::field(alias)),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}",
            self.key,
            if self.descending { " desc" } else { "" }
        )
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
    /// Every operand the condition tests or compares with, in order (those inside `has`
    /// included).
    ///
    /// ```
    /// let Ok(quarry::query::Statement::Query(q)) =
    ///     quarry::query::parse_statement("where a > 1 and not (len(b) in [2, $n])") else { panic!() };
    /// let texts: Vec<String> = q.filter.unwrap().operands().iter().map(|o| o.to_string()).collect();
    /// assert_eq!(texts, ["a", "1", "len(b)", "2", "$n"]);
    /// ```
    pub fn operands(&self) -> Vec<&Operand> {
        let mut out = Vec::new();
        self.collect_operands(&mut out);
        out
    }

    /// The condition with each operand replaced by what `operand` gives for it and each path
    /// of `exists` and `has` by what `path` gives (told the condition it is in); the condition
    /// inside a `has` is left as it is (its paths start at the element).
    pub fn map<E>(
        &self,
        operand: &mut dyn FnMut(&Operand) -> Result<Operand, E>,
        path: &mut dyn FnMut(&Path, &Expr) -> Result<Path, E>,
    ) -> Result<Expr, E> {
        let all = |items: &[Expr],
                   operand: &mut dyn FnMut(&Operand) -> Result<Operand, E>,
                   path: &mut dyn FnMut(&Path, &Expr) -> Result<Path, E>| {
            items
                .iter()
                .map(|e| e.map(operand, path))
                .collect::<Result<Vec<_>, E>>()
        };
        Ok(match self {
            Expr::Or(items) => Expr::Or(all(items, operand, path)?),
            Expr::And(items) => Expr::And(all(items, operand, path)?),
            Expr::Not(inner) => Expr::Not(Box::new(inner.map(operand, path)?)),
            Expr::Compare { subject, op, value } => Expr::Compare {
                subject: operand(subject)?,
                op: *op,
                value: operand(value)?,
            },
            Expr::In {
                subject,
                values,
                negated,
            } => Expr::In {
                subject: operand(subject)?,
                values: values.iter().map(&mut *operand).collect::<Result<_, E>>()?,
                negated: *negated,
            },
            Expr::Between { subject, low, high } => Expr::Between {
                subject: operand(subject)?,
                low: operand(low)?,
                high: operand(high)?,
            },
            Expr::Contains { subject, value } => Expr::Contains {
                subject: operand(subject)?,
                value: operand(value)?,
            },
            Expr::StartsWith { subject, prefix } => Expr::StartsWith {
                subject: operand(subject)?,
                prefix: operand(prefix)?,
            },
            Expr::Matches { subject, pattern } => Expr::Matches {
                subject: operand(subject)?,
                pattern: operand(pattern)?,
            },
            Expr::IsNull { subject, negated } => Expr::IsNull {
                subject: operand(subject)?,
                negated: *negated,
            },
            Expr::Search { path, query } => Expr::Search {
                path: path.clone(),
                query: operand(query)?,
            },
            Expr::Exists { path: p } => Expr::Exists {
                path: path(p, self)?,
            },
            Expr::Has { path: p, condition } => Expr::Has {
                path: path(p, self)?,
                condition: condition.clone(),
            },
        })
    }

    fn collect_operands<'a>(&'a self, out: &mut Vec<&'a Operand>) {
        match self {
            Expr::Or(items) | Expr::And(items) => {
                items.iter().for_each(|e| e.collect_operands(out));
            }
            Expr::Not(inner) => inner.collect_operands(out),
            Expr::Compare { subject, value, .. } | Expr::Contains { subject, value } => {
                out.extend([subject, value]);
            }
            Expr::In {
                subject, values, ..
            } => {
                out.push(subject);
                out.extend(values);
            }
            Expr::Between { subject, low, high } => out.extend([subject, low, high]),
            Expr::StartsWith {
                subject,
                prefix: other,
            }
            | Expr::Matches {
                subject,
                pattern: other,
            } => out.extend([subject, other]),
            Expr::IsNull { subject, .. } | Expr::Search { query: subject, .. } => {
                out.push(subject);
            }
            Expr::Exists { .. } => {}
            Expr::Has { condition, .. } => condition.collect_operands(out),
        }
    }

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
            Expr::Compare { subject, op, value } => write!(f, "{subject} {op} {value}"),
            Expr::In {
                subject,
                values,
                negated,
            } => {
                write!(
                    f,
                    "{subject} {}in [{}]",
                    if *negated { "not " } else { "" },
                    list(values)
                )
            }
            Expr::Between { subject, low, high } => {
                write!(f, "{subject} between {low} and {high}")
            }
            Expr::Contains { subject, value } => write!(f, "{subject} contains {value}"),
            Expr::StartsWith { subject, prefix } => write!(f, "{subject} starts with {prefix}"),
            Expr::Matches { subject, pattern } => write!(f, "{subject} matches {pattern}"),
            Expr::Exists { path } => write!(f, "exists {path}"),
            Expr::Search { path: None, query } => write!(f, "search {query}"),
            Expr::Search {
                path: Some(path),
                query,
            } => write!(f, "{path} search {query}"),
            Expr::Has { path, condition } => write!(f, "{path} has ({condition})"),
            Expr::IsNull { subject, negated } => {
                write!(f, "{subject} is {}null", if *negated { "not " } else { "" })
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
        let distinct = if self.distinct { "distinct " } else { "" };
        if let Some(columns) = &self.columns {
            parts.push(format!("select {distinct}{}", list(columns)));
        }
        if let Some(c) = &self.collection {
            parts.push(format!("from {c}"));
        }
        if let Some(e) = &self.filter {
            parts.push(format!("where {e}"));
        }
        if !self.group_by.is_empty() {
            parts.push(format!("group by {}", list(&self.group_by)));
        }
        if let Some(e) = &self.having {
            parts.push(format!("having {e}"));
        }
        if !self.order_by.is_empty() {
            parts.push(format!("order by {}", list(&self.order_by)));
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
                text,
            } => match text {
                Some(language) => write!(
                    f,
                    "create text index on {collection} ({}) language {language}",
                    list(paths)
                ),
                None => write!(
                    f,
                    "create {}index on {collection} ({})",
                    if *unique { "unique " } else { "" },
                    list(paths)
                ),
            },
            Statement::DropIndex { name } => write!(f, "drop index {name}"),
            Statement::DropCollection { name } => write!(f, "drop collection {name}"),
            Statement::Use { collection } => write!(f, "use {collection}"),
            Statement::ShowCollections => write!(f, "show collections"),
            Statement::Begin => write!(f, "begin"),
            Statement::Commit => write!(f, "commit"),
            Statement::Rollback => write!(f, "rollback"),
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
            Statement::ExplainSql { statement } => write!(f, "explain sql {statement}"),
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
