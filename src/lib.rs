//! quarry: an embedded document store with secondary indexes and a small query language.
//!
//! Documents are JSON-like [`Value`]s stored in [sled](https://docs.rs/sled) trees, encoded with
//! bincode, with secondary indexes (single, compound, multikey, unique) kept atomically in step
//! with them.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Article { org: String, year: i64, title: String }
//!
//! fn main() -> Result<(), quarry::Error> {
//!     let dir = tempfile::tempdir()?;
//!     let db = quarry::Db::open(dir.path().join("news.db"))?;     // creates it when missing
//!     let articles = db.collection("articles")?;                   // creates it when missing
//!     let id: u64 = articles.insert(&Article { org: "ICC".into(), year: 2021, title: "Letter".into() })?;
//!     articles.create_index(&["org", "year"])?;
//!     articles.create_unique_index(&["title"])?;
//!     let back: Option<Article> = articles.get(id)?;
//!     assert_eq!(back.unwrap().year, 2021);
//!     let ids = articles.insert_many(vec![
//!         serde_json::json!({"org": "HRW", "year": 2022, "title": "Report"}),
//!     ])?;                                                          // one batch, all or nothing
//!     assert_eq!(ids.len(), 1);
//!     articles.update(id, &serde_json::json!({"org": "ICC", "year": 2020, "title": "Letter"}))?;
//!     articles.delete(ids[0])?;
//!     let count: u64 = articles.len()?;
//!     assert_eq!(count, 1);
//!     db.flush()?;                                                   // durable on disk
//!     let report = db.check()?;                                      // Result<CheckReport>
//!     assert!(report.is_clean());
//!     Ok(())
//! }
//! ```
//!
//! Queries, from Rust:
//!
//! ```
//! let db = quarry::Db::temporary()?;
//! db.execute(r#"create index on articles (org, year);
//!               insert into articles [{org: "ICC", year: 2021}, {org: "HRW", year: 2019}]"#)?;
//! let recent: Vec<serde_json::Value> = db.query_as(r#"where org = "ICC" and year >= 2020"#)?;
//! assert_eq!(recent.len(), 1);
//! # Ok::<(), quarry::Error>(())
//! ```
//!
//! A query run often is prepared once, and its rows can be read straight into serde types:
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Recent { _id: u64, year: i64 }
//! let db = quarry::Db::temporary()?;
//! db.execute("insert into articles [{org: 'ICC', year: 2021}, {org: 'ICC', year: 2023}]")?;
//! let latest = db.prepare("from articles where org = $org order by year desc limit 1")?;
//! let params = quarry::query::Params::new().with("org", "ICC");
//! let rows: Vec<Recent> = latest.query_as_with(&params)?.collect::<Result<_, _>>()?;
//! assert_eq!((rows[0]._id, rows[0].year), (2, 2023));
//! # Ok::<(), quarry::Error>(())
//! ```
//!
//! Modules: [`value`] (the value model and its order), [`path`] (paths into documents),
//! [`codec`] (byte encodings), [`store`] (databases, collections, indexes), [`query`] (the
//! language: parser, planner, executor), [`output`] (printing results), [`import`] (reading
//! files into collections), [`cli`], [`repl`] and [`demo`] (the `quarry` command).

pub mod cli;
pub mod codec;
pub mod demo;
pub mod error;
pub mod export;
pub mod import;
pub mod output;
pub mod path;
pub mod query;
pub mod repl;
pub mod script;
pub mod store;
pub mod value;

pub use error::{Error, Result};
pub use store::{CheckReport, Collection, Db, IndexDef, Options};
pub use value::{Key, Map, Value, ValueError, from_value, to_value};

/// The examples in README.md, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
