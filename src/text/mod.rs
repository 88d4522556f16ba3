//! Text as a text index sees it: words found and made terms ([`analyze`]), the syntax of a
//! search and what it asks of one document ([`search`]), a document's score ([`rank`]) and the
//! window of text that shows why it matched ([`snippet`]).
//!
//! Invariant: nothing here reads the store; the store indexes what [`DocTerms::of`] gives and
//! the query layer selects what [`Matcher::matches`] selects.

pub mod analyze;
pub mod rank;
pub mod search;
pub mod snippet;

pub use analyze::{Analyzer, Language, Token, fold};
pub use search::{DocTerms, Matcher, Search, SyntaxError, parse_search};
