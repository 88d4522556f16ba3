//! quarry: an embedded document store with secondary indexes and a small query language.
//!
//! Documents are JSON-like [`Value`]s stored in [sled](https://docs.rs/sled) trees, encoded with
//! bincode, with secondary indexes kept atomically in step with them.

pub mod codec;
pub mod error;
pub mod import;
pub mod path;
pub mod value;

pub use error::{Error, Result};
pub use value::{Map, Value, ValueError, from_value, to_value};
