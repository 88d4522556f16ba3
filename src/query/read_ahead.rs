//! Reading ahead on a second thread: while the caller decodes (or sorts, or projects) the
//! documents a query has found, another thread goes on finding the next ones (walking the
//! index, reading each document from sled, testing the filter), so a query that returns many
//! documents keeps two cores busy instead of one.
//!
//! The rows come in the order the source gives them, errors included. The thread starts when
//! the first row is asked for, hands rows over in batches (small first, so the first row
//! comes soon), stops within a batch once the caller drops the rows, and is waited for then,
//! so nothing reads the store after the query is gone. If no thread can be started, the
//! caller's thread reads as before.

use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// Rows a query is expected to read before reading ahead is worth a thread: below this,
/// starting one costs more than it saves.
pub(crate) const MIN_ROWS: u64 = 512;
/// Rows in the first batch handed over; each next batch doubles, up to [`LAST_BATCH`].
const FIRST_BATCH: usize = 8;
/// Rows in a batch at most.
const LAST_BATCH: usize = 128;
/// Batches the thread may have ready before it waits for the caller.
const BATCHES_AHEAD: usize = 4;

/// A source of rows that may be read on another thread.
pub(crate) type Source<T> = Box<dyn Iterator<Item = Result<T>> + Send>;

/// The rows of `source`, read ahead on another thread once the first is asked for.
pub(crate) fn read_ahead<T: Send + 'static>(source: Source<T>) -> ReadAhead<T> {
    ReadAhead {
        unstarted: Some(source),
        inline: None,
        batch: Vec::new().into_iter(),
        from: None,
        reader: None,
    }
}

/// Rows read ahead: see [`read_ahead`].
pub(crate) struct ReadAhead<T> {
    /// The source, until the first row is asked for.
    unstarted: Option<Source<T>>,
    /// The source read on this thread, when no other could be started.
    inline: Option<Source<T>>,
    /// The batch being handed out.
    batch: std::vec::IntoIter<Result<T>>,
    /// Batches from the reading thread.
    from: Option<Receiver<Vec<Result<T>>>>,
    reader: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> ReadAhead<T> {
    fn start(&mut self, source: Source<T>) {
        // The source goes to the thread only once the thread runs: if it cannot be started,
        // this thread still holds the source and reads it itself.
        let (give, take) = channel::<Source<T>>();
        let (to, from) = sync_channel(BATCHES_AHEAD);
        let started = std::thread::Builder::new()
            .name("quarry-read-ahead".into())
            .spawn(move || {
                if let Ok(source) = take.recv() {
                    send_all(source, to);
                }
            });
        match started {
            Ok(reader) => match give.send(source) {
                Ok(()) => {
                    self.from = Some(from);
                    self.reader = Some(reader);
                }
                Err(returned) => self.inline = Some(returned.0),
            },
            Err(_) => self.inline = Some(source),
        }
    }

    /// After the last batch: an error if the reading thread did not end by itself.
    fn finished(&mut self) -> Option<Result<T>> {
        let reader = self.reader.take()?;
        match reader.join() {
            Ok(()) => None,
            Err(_) => Some(Err(Error::Storage(
                "the thread reading ahead for this query stopped with a panic".into(),
            ))),
        }
    }
}

/// Hands the source's rows over in batches until they end or the rows are dropped.
fn send_all<T>(source: Source<T>, to: SyncSender<Vec<Result<T>>>) {
    let mut size = FIRST_BATCH;
    let mut batch = Vec::with_capacity(size);
    for row in source {
        batch.push(row);
        if batch.len() == size {
            size = (size * 2).min(LAST_BATCH);
            let full = std::mem::replace(&mut batch, Vec::with_capacity(size));
            if to.send(full).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = to.send(batch);
    }
}

impl<T: Send + 'static> Iterator for ReadAhead<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if let Some(source) = self.unstarted.take() {
            self.start(source);
        }
        if let Some(inline) = self.inline.as_mut() {
            return inline.next();
        }
        loop {
            if let Some(row) = self.batch.next() {
                return Some(row);
            }
            match self.from.as_ref()?.recv() {
                Ok(batch) => self.batch = batch.into_iter(),
                Err(_) => {
                    self.from = None;
                    return self.finished();
                }
            }
        }
    }
}

impl<T> Drop for ReadAhead<T> {
    fn drop(&mut self) {
        // Dropping the receiver makes the thread's next hand-over fail, and it returns.
        self.from = None;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl<T> std::fmt::Debug for ReadAhead<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadAhead { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_in_order_with_their_errors() {
        let source = (0..2000).map(|i| {
            if i % 700 == 0 {
                Err(Error::Query(format!("bad {i}")))
            } else {
                Ok(i)
            }
        });
        let rows: Vec<std::result::Result<i32, String>> = read_ahead(Box::new(source))
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        let expected: Vec<std::result::Result<i32, String>> = (0..2000)
            .map(|i| {
                if i % 700 == 0 {
                    Err(Error::Query(format!("bad {i}")).to_string())
                } else {
                    Ok(i)
                }
            })
            .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn dropping_the_rows_stops_the_thread_within_a_few_batches() {
        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = read.clone();
        let source = (0..1_000_000).map(move |i| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(i)
        });
        let mut rows = read_ahead(Box::new(source));
        assert_eq!(rows.next().unwrap().unwrap(), 0);
        drop(rows);
        // The drop waited for the thread: it read no more than the batches it could hold.
        let after_drop = read.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            after_drop <= (BATCHES_AHEAD + 2) * LAST_BATCH,
            "read {after_drop}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(read.load(std::sync::atomic::Ordering::SeqCst), after_drop);
    }

    #[test]
    fn a_panic_on_the_reading_thread_is_an_error_not_a_short_answer() {
        let source = (0..100).map(|i| if i == 50 { panic!("boom") } else { Ok(i) });
        let rows: Vec<Result<i32>> = read_ahead(Box::new(source)).collect();
        let (last, before) = rows.split_last().unwrap();
        assert!(matches!(last, Err(Error::Storage(_))), "{last:?}");
        // The rows handed over before the panic, in order; the batch it broke off is lost.
        assert!(before.len() < 50);
        for (i, row) in before.iter().enumerate() {
            assert_eq!(row.as_ref().ok(), Some(&(i as i32)));
        }
    }

    #[test]
    fn nothing_is_read_before_the_first_row_is_asked_for() {
        let read = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = read.clone();
        let source = std::iter::once(()).map(move |()| {
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(1)
        });
        let rows = read_ahead(Box::new(source));
        std::thread::sleep(std::time::Duration::from_millis(10));
        assert!(!read.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(rows.map(Result::unwrap).collect::<Vec<_>>(), [1]);
    }
}
