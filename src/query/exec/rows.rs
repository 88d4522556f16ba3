//! What a query hands back: rows produced lazily, as [`Value`]s or straight into serde types,
//! and the steps that only pass rows on (offset, limit, projection).
//!
//! Invariant: reading a row never panics into the caller. Rows are read after the statement
//! that made them returned, so each step runs contained, as a thread that reads ahead runs
//! (`read_ahead`): a panic inside sled (a damaged store) becomes an error that says so, the
//! last row, and the store then refuses writes.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::query::exec::Stream;
use crate::query::exec::doc::Doc;
use crate::query::pipeline::Projection;
use crate::store::{CollectionState, Db};
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
    inner: RowStream,
    state: Arc<CollectionState>,
    /// The store the rows come from, whose damage ends them with an error.
    db: Db,
    ended: bool,
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
        self.contained(|inner, state| match inner {
            RowStream::Stored(docs) => {
                Some(docs.next()?.and_then(|doc| doc.into_fields(state, None)))
            }
            RowStream::Built(rows) => rows.next(),
        })
    }
}

impl Rows {
    /// The rows `inner` gives, read from `collection`.
    pub(super) fn new(inner: RowStream, collection: &crate::store::Collection) -> Rows {
        Rows {
            inner,
            state: collection.state.clone(),
            db: collection.db.clone(),
            ended: false,
        }
    }

    /// The next row as `step` reads it, with a panic inside sled while it does (a damaged
    /// store) made the rows' last item, an error that says the store is damaged.
    fn contained<T>(
        &mut self,
        step: impl FnOnce(&mut RowStream, &CollectionState) -> Option<Result<T>>,
    ) -> Option<Result<T>> {
        if self.ended {
            return None;
        }
        let Rows {
            inner, state, db, ..
        } = self;
        match db.contain_damage(|| Ok(step(inner, state))) {
            Ok(item) => item,
            Err(damaged) => {
                self.ended = true;
                Some(Err(damaged))
            }
        }
    }

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
        self.rows.contained(|inner, state| {
            Some(match inner {
                RowStream::Stored(docs) => docs
                    .next()?
                    .and_then(|doc| state.decode_as(doc.id, &doc.bytes)),
                RowStream::Built(rows) => rows.next()?.and_then(|value| {
                    crate::value::from_value(&value).map_err(|e| Error::Conversion(e.0))
                }),
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows whose second read panics inside sled (a slice past the end of a value), as a
    /// read of a damaged store can.
    fn rows_that_meet_damage(collection: &crate::store::Collection) -> Rows {
        let mut read = 0i64;
        let stream: Stream<Value> = Box::new(std::iter::from_fn(move || {
            read += 1;
            if read == 2 {
                sled::IVec::from(&[1u8, 2, 3][..]).subslice(2, 5);
            }
            Some(Ok(Value::from(read)))
        }));
        Rows::new(RowStream::Built(stream), collection)
    }

    #[test]
    fn a_panic_inside_sled_while_rows_are_read_is_their_last_row_an_error() {
        let db = crate::Db::temporary().unwrap();
        let notes = db.collection("notes").unwrap();
        let mut rows = rows_that_meet_damage(&notes);
        assert_eq!(rows.next().unwrap().unwrap(), Value::from(1));
        said_damaged_and_refuses_writes(&rows.next().unwrap().unwrap_err(), &notes);
        assert!(rows.next().is_none());
        // Reads go on.
        assert_eq!(notes.len().unwrap(), 0);
    }

    /// `err` says the store is damaged, and the store now refuses writes.
    fn said_damaged_and_refuses_writes(err: &Error, notes: &crate::store::Collection) {
        assert!(err.to_string().contains("is damaged"), "{err}");
        let refused = notes.insert(&serde_json::json!({"n": 1})).unwrap_err();
        assert!(
            refused.to_string().contains("writes are refused"),
            "{refused}"
        );
    }

    #[test]
    fn a_panic_inside_sled_on_a_thread_reading_ahead_ends_the_rows_and_stops_writes() {
        use crate::query::exec::read_ahead::{Backlog, read_ahead};
        let db = crate::Db::temporary().unwrap();
        let notes = db.collection("notes").unwrap();
        let Rows { inner, .. } = rows_that_meet_damage(&notes);
        let RowStream::Built(stream) = inner else {
            unreachable!()
        };
        let read: Vec<Result<Value>> =
            read_ahead(stream, Arc::default(), Backlog::default(), notes.db.clone()).collect();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].as_ref().unwrap(), &Value::from(1));
        said_damaged_and_refuses_writes(read[1].as_ref().unwrap_err(), &notes);
    }

    #[test]
    fn typed_rows_end_the_same_way() {
        let db = crate::Db::temporary().unwrap();
        let notes = db.collection("notes").unwrap();
        let mut rows = rows_that_meet_damage(&notes).deserialize::<i64>();
        assert_eq!(rows.next().unwrap().unwrap(), 1);
        assert!(rows.next().unwrap().is_err());
        assert!(rows.next().is_none());
    }
}
