//! The query language: text → [`parse`] → [`ast`] → [`plan`] → [`exec`] → rows.
//!
//! - [`ast`]: the syntax tree; [`parser`]: nom parser with located errors ([`ParseError`]);
//!   the grammar is `grammar/quarry.ebnf`.
//! - [`eval`]: parameters bound, regexes compiled, and what every operator means.
//! - [`plan`]: choosing indexes; [`exec`]: lazy iterators; [`explain`]: plans as trees.
//! - [`session`]: running statements ([`Session`], [`Output`]); [`fields`]: `show fields`.
//! - [`prepared`]: statements parsed once and run many times ([`Prepared`], from
//!   [`Db::prepare`](crate::Db::prepare)).

pub mod ast;
pub mod error;
pub mod eval;
pub mod exec;
pub mod explain;
pub mod fields;
pub mod parser;
pub mod plan;
pub mod prepared;
pub(crate) mod read_ahead;
pub mod session;

pub use error::ParseError;
pub use eval::Params;
pub use exec::{Rows, TypedRows};
pub use parser::{KEYWORDS, is_incomplete, parse, parse_script, parse_statement, split_statements};
pub use prepared::Prepared;
pub use session::{Output, Session};
