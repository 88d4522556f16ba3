//! The query language: text → [`parse`] → [`ast`] → [`plan`] → [`exec`] → rows.
//!
//! - [`ast`]: the syntax tree; [`parser`]: nom parser with located errors ([`ParseError`]);
//!   the grammar is `grammar/quarry.ebnf`.
//! - [`eval`]: parameters bound, regexes compiled, and what every condition means;
//!   [`compute`]: what every expression gives; [`functions`]: `len`, `round`, `year`, ….
//! - [`plan`]: choosing indexes; [`exec`]: lazy iterators; [`explain`]: plans as trees.
//! - [`session`]: running statements ([`Session`], [`Output`]); [`fields`]: `show fields`.
//! - [`prepared`]: statements parsed once and run many times ([`Prepared`], from
//!   [`Db::prepare`](crate::Db::prepare)).

#[doc(hidden)]
pub mod ast;
#[doc(hidden)]
pub mod compute;
#[doc(hidden)]
pub mod eval;
mod exec;
mod explain;
#[doc(hidden)]
pub mod fields;
#[doc(hidden)]
pub mod functions;
pub(crate) mod grouping;
mod params;
mod parser;
mod pipeline;
mod plan;
mod prepared;
mod session;
pub mod text;
mod warnings;

pub use crate::error::ParseError;
pub use ast::Statement;
pub use exec::{Rows, TypedRows};
pub use explain::{PlanNode, StepStats};
pub use params::Params;
pub use parser::{is_incomplete, parse, parse_script, parse_statement, split_statements};
pub use plan::Interrupt;
pub use prepared::Prepared;
pub use session::{Importer, Output, Session, Translator};
