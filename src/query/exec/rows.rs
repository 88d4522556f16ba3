//! What a query hands back: rows produced lazily, as [`Value`]s or straight into serde types,
//! and the steps that only pass rows on (offset, limit, projection).

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::query::exec::Stream;
use crate::query::exec::doc::Doc;
use crate::query::pipeline::Projection;
use crate::store::CollectionState;
use crate::value::Value;

/// The result of a query: documents (or projected rows), produced lazily.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// db.execute(r#"insert into t [{"n": 1}, {"n": 2}, {"n": 3}]"#)?;
/// let rows: Vec<quarry::Value> = db.query("from t where n >= 2")?.collect::<Result<_, _>>()?;
/// assert_eq!(rows.len(), 2);
/// # Ok::<(), quarry::Error>(())
/// ```
pub struct Rows {
    pub(super) inner: RowStream,
    pub(super) state: Arc<CollectionState>,
}

/// The rows as the pipeline hands them out: stored documents not yet decoded whole, or rows
/// the query built (a projection).
pub(super) enum RowStream {
    Stored(Stream<Doc>),
    Built(Stream<Value>),
}

impl Iterator for Rows {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            RowStream::Stored(docs) => Some(
                docs.next()?
                    .and_then(|doc| doc.into_fields(&self.state, None)),
            ),
            RowStream::Built(rows) => rows.next(),
        }
    }
}

impl Rows {
    /// The rows as `T`s, lazily. A whole document is read straight from its stored bytes into
    /// a `T`, with no [`Value`] built on the way, and the fields `T` does not have are stepped
    /// over; a row that does not fit `T` is an [`Error::Conversion`].
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Note { _id: u64, n: i64 }
    /// let db = quarry::Db::temporary()?;
    /// db.execute(r#"insert into t [{"n": 1, "text": "a"}, {"n": 2, "text": "b"}]"#)?;
    /// let notes: Vec<Note> = db.query("from t order by n desc")?.deserialize().collect::<Result<_, _>>()?;
    /// assert_eq!((notes[0]._id, notes[0].n), (2, 2));
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn deserialize<T: DeserializeOwned>(self) -> TypedRows<T> {
        TypedRows {
            rows: self,
            _type: PhantomData,
        }
    }
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rows { .. }")
    }
}

/// The rows of a query as `T`s: see [`Rows::deserialize`].
pub struct TypedRows<T> {
    rows: Rows,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Iterator for TypedRows<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        let state = &self.rows.state;
        Some(match &mut self.rows.inner {
            RowStream::Stored(docs) => docs
                .next()?
                .and_then(|doc| state.decode_as(doc.id, &doc.bytes)),
            RowStream::Built(rows) => rows.next()?.and_then(|value| {
                crate::value::from_value(&value).map_err(|e| Error::Conversion(e.0))
            }),
        })
    }
}

impl<T> std::fmt::Debug for TypedRows<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TypedRows { .. }")
    }
}

pub(super) fn skip_ok<T>(stream: Stream<T>, n: u64) -> impl Iterator<Item = Result<T>> {
    let mut skipped = 0u64;
    stream.filter(move |item| {
        if item.is_ok() && skipped < n {
            skipped += 1;
            false
        } else {
            true
        }
    })
}

pub(super) fn take_ok<T>(mut stream: Stream<T>, n: u64) -> impl Iterator<Item = Result<T>> {
    let mut taken = 0u64;
    std::iter::from_fn(move || {
        if taken >= n {
            return None;
        }
        let item = stream.next()?;
        if item.is_ok() {
            taken += 1;
        }
        Some(item)
    })
}

/// `select a, b.c, len(d) as n`: an object of the columns' values, by name (see
/// [`crate::query::ast::Column::name`]); a path that reaches nothing gives null.
pub(super) fn project(doc: &Value, columns: &[Projection]) -> Value {
    Value::Object(
        columns
            .iter()
            .map(|c| (c.name.as_str().into(), c.calc.eval(doc)))
            .collect(),
    )
}
