//! A document as it moves through a pipeline: its id and stored bytes, decoded only as far as
//! the steps need.
//!
//! Invariant: `fields` holds `_id` and exactly the top-level fields `read` names (every field
//! once `whole`), each decoded from `bytes`; a field is never decoded twice.

use std::sync::Arc;

use crate::error::Result;
use crate::path::Path;
use crate::store::{CollectionState, Stored};
use crate::value::Value;

/// A document as it moves through the pipeline: its id and its stored bytes. Steps decode
/// only the top-level fields they read (a filter its predicate's, a sort its keys'), and the
/// document is decoded whole only when it is returned, so what a query passes over costs a walk
/// over its bytes rather than a whole decode.
pub(super) struct Doc {
    pub(super) id: u64,
    pub(super) bytes: Stored,
    /// The document as decoded so far: `_id` and the fields named in `read`.
    pub(super) fields: Value,
    /// The top-level fields decoded so far; `None` before the first decode.
    read: Wanted,
    /// Whether every field is decoded.
    whole: bool,
}

impl Doc {
    pub(super) fn new(id: u64, bytes: Stored) -> Doc {
        Doc {
            id,
            bytes,
            fields: Value::Null,
            read: None,
            whole: false,
        }
    }

    /// The document with at least the top-level fields in `wanted` decoded (all of them for
    /// `None`); what was decoded before is kept, not decoded again.
    pub(super) fn read(
        &mut self,
        state: &CollectionState,
        wanted: Option<&Arc<[String]>>,
    ) -> Result<&Value> {
        if self.whole {
            return Ok(&self.fields);
        }
        // `_id` is always there: it is not a stored field.
        let fields: Wanted = match (&self.read, wanted) {
            (_, None) => None,
            (None, Some(wanted)) => Some(wanted.clone()),
            (Some(read), Some(wanted)) => {
                let missing: Vec<&String> = wanted
                    .iter()
                    .filter(|name| *name != "_id" && !read.contains(name))
                    .collect();
                if missing.is_empty() {
                    return Ok(&self.fields);
                }
                Some(read.iter().chain(missing).cloned().collect())
            }
        };
        let decoded = match std::mem::take(&mut self.fields) {
            Value::Object(map) => map,
            _ => crate::value::Map::default(),
        };
        self.fields = state.decode_more(self.id, &self.bytes, fields.as_deref(), decoded)?;
        self.whole = fields.is_none() || !matches!(self.fields, Value::Object(_));
        self.read = fields;
        Ok(&self.fields)
    }

    /// What [`Doc::read`] gives, by value.
    pub(super) fn into_fields(
        mut self,
        state: &CollectionState,
        wanted: Option<&Arc<[String]>>,
    ) -> Result<Value> {
        self.read(state, wanted)?;
        Ok(self.fields)
    }
}

/// The top-level fields a step reads; `None` for the whole document.
pub(super) type Wanted = Option<Arc<[String]>>;

/// The top-level fields `paths` start in (see [`Path::heads`]).
pub(super) fn wanted<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Wanted {
    Path::heads(paths).map(Into::into)
}
