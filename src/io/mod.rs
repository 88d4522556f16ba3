//! Moving documents in and out, and running saved scripts: the layer above the language.
//!
//! - `import`: reading NDJSON, JSON, CSV and articles into a collection, all or nothing.
//! - `export`: writing a collection (or a query's rows) as NDJSON, JSON or CSV.
//! - `render`: a statement's output as text in each output mode.
//! - `script`: `.qry` scripts, their expected blocks and golden tests.
//! - `sql`: statements translated into PostgreSQL over an exported table.

pub mod export;
pub mod import;
pub mod render;
pub mod script;
pub mod sql;
