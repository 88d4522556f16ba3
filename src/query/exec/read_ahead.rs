//! Reading ahead on a second thread: while the caller decodes (or sorts, or projects) the
//! documents a query has found, another thread goes on finding the next ones (walking the
//! index, reading each document from sled, testing the filter), so a query that returns many
//! documents keeps two cores busy instead of one.
//!
//! The rows come in the order the source gives them, errors included. The thread starts when
//! the first row is asked for and hands that row over at once, then batches that double up
//! to [`LAST_BATCH`] rows (a batch goes early when the caller has run out of rows and the
//! batch has waited [`LONGEST_WAIT`]). It stops at its next row once the caller drops the
//! rows, and is waited for then, so nothing reads the store after the query is gone. If no
//! thread can be started, the caller's thread reads as before. A source can see from the
//! [`Backlog`] whether the caller waits, and leave it part of the work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::store::Db;

/// Rows a query is expected to read before reading ahead is worth a thread: an indexed query
/// returning 633 documents of 10,000 took 0.9-1.4 ms read ahead against 0.7-1.1 ms on one
/// thread, one returning 6,052 of 100,000 went from 23-30 ms to 14-18. It is the planner's
/// estimate cap, so an index scan reads ahead when the planner stopped counting its entries.
pub(crate) const MIN_ROWS: u64 = crate::query::plan::ESTIMATE_CAP;
/// Rows in the first batch handed over (the first row goes at once); each next batch
/// doubles, up to [`LAST_BATCH`].
const FIRST_BATCH: usize = 1;
/// Rows in a batch at most.
const LAST_BATCH: usize = 128;
/// Batches the thread may have ready before it waits for the caller.
const BATCHES_AHEAD: usize = 4;
/// How long rows may wait in an unfinished batch while the caller has none left: rows found
/// slowly (a selective filter) are handed over when the next one is found after this.
const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_micros(500);

/// A source of rows that may be read on another thread.
pub(crate) type Source<T> = Box<dyn Iterator<Item = Result<T>> + Send>;

/// The batches handed over and not yet taken by the caller. A source read ahead can look at
/// it to leave part of its work to a caller that would otherwise wait (`exec` leaves some
/// documents of an id scan for the caller to read).
#[derive(Clone, Debug, Default)]
pub(crate) struct Backlog(Arc<AtomicUsize>);

impl Backlog {
    /// True when no batch waits for the caller: it has run out of rows, or soon will.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }
}

/// The rows of `source`, read ahead on another thread once the first is asked for, from the
/// store `db`. `stop` is raised when the rows are dropped: a source that may read long between
/// two rows (a selective filter) should end when it sees it raised. `backlog` counts the
/// batches waiting for the caller.
pub(crate) fn read_ahead<T: Send + 'static>(
    source: Source<T>,
    stop: Arc<AtomicBool>,
    backlog: Backlog,
    db: Db,
) -> ReadAhead<T> {
    ReadAhead {
        db,
        unstarted: Some(source),
        inline: None,
        batch: Vec::new().into_iter(),
        from: None,
        reader: None,
        in_flight: backlog.0,
        stop,
    }
}

/// Rows read ahead: see [`read_ahead`].
pub(crate) struct ReadAhead<T> {
    /// The store read: damage met on the thread makes it refuse writes.
    db: Db,
    /// The source, until the first row is asked for.
    unstarted: Option<Source<T>>,
    /// The source read on this thread, when no other could be started.
    inline: Option<Source<T>>,
    /// The batch being handed out.
    batch: std::vec::IntoIter<Result<T>>,
    /// Batches from the reading thread.
    from: Option<Receiver<Vec<Result<T>>>>,
    reader: Option<JoinHandle<()>>,
    /// Batches sent by the thread and not yet received.
    in_flight: Arc<AtomicUsize>,
    /// Raised when the rows are dropped: the thread reads no further row.
    stop: Arc<AtomicBool>,
}

impl<T: Send + 'static> ReadAhead<T> {
    fn start(&mut self, source: Source<T>) {
        // The source goes to the thread only once the thread runs: if it cannot be started,
        // this thread still holds the source and reads it itself.
        let (give, take) = channel::<Source<T>>();
        let (to, from) = sync_channel(BATCHES_AHEAD);
        let handover = Handover {
            to,
            in_flight: self.in_flight.clone(),
            stop: self.stop.clone(),
        };
        let db = self.db.clone();
        let started = std::thread::Builder::new()
            .name("quarry-read-ahead".into())
            .spawn(move || {
                if let Ok(source) = take.recv() {
                    // sled failing on a damaged store ends the rows with the error that says
                    // so, without printing a panic, and the store then refuses writes.
                    let read = db.contain_damage(|| {
                        send_all(source, &handover);
                        Ok(())
                    });
                    if let Err(damaged) = read {
                        handover.in_flight.fetch_add(1, Ordering::AcqRel);
                        let _ = handover.to.send(vec![Err(damaged)]);
                    }
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

/// The reading thread's end of the hand-over.
struct Handover<T> {
    to: SyncSender<Vec<Result<T>>>,
    /// Batches sent and not yet received: none means the caller is waiting, or soon will be.
    in_flight: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// Hands the source's rows over in batches until they end or the rows are dropped. A batch
/// goes when it is full, or early when the caller has no rows left and the batch's first row
/// has waited [`LONGEST_WAIT`]: handing over each row as the caller waits for it costs a
/// wake-up per row, which measured slower (`bench/FINDINGS.md`).
fn send_all<T>(source: Source<T>, handover: &Handover<T>) {
    let mut size = FIRST_BATCH;
    let mut batch = Vec::with_capacity(size);
    let mut first_waiting = std::time::Instant::now();
    for row in source {
        if handover.stop.load(Ordering::Relaxed) {
            return;
        }
        if batch.is_empty() {
            first_waiting = std::time::Instant::now();
        }
        batch.push(row);
        let full = batch.len() == size;
        if full
            || (handover.in_flight.load(Ordering::Acquire) == 0
                && first_waiting.elapsed() >= LONGEST_WAIT)
        {
            if full {
                size = (size * 2).min(LAST_BATCH);
            }
            let ready = std::mem::replace(&mut batch, Vec::with_capacity(size));
            handover.in_flight.fetch_add(1, Ordering::AcqRel);
            if handover.to.send(ready).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        handover.in_flight.fetch_add(1, Ordering::AcqRel);
        let _ = handover.to.send(batch);
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
                Ok(batch) => {
                    self.in_flight.fetch_sub(1, Ordering::AcqRel);
                    self.batch = batch.into_iter();
                }
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
        // The thread returns at its next row, or at once if it waits to hand a batch over
        // (dropping the receiver makes that fail).
        self.stop.store(true, Ordering::Relaxed);
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

    /// A store for the rows to come from.
    fn db() -> Db {
        Db::temporary().unwrap()
    }

    #[test]
    fn rows_come_in_order_with_their_errors() {
        let source = (0..2000).map(|i| {
            if i % 700 == 0 {
                Err(Error::Query(format!("bad {i}")))
            } else {
                Ok(i)
            }
        });
        let rows: Vec<std::result::Result<i32, String>> =
            read_ahead(Box::new(source), Arc::default(), Backlog::default(), db())
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
        let mut rows = read_ahead(Box::new(source), Arc::default(), Backlog::default(), db());
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
    fn dropping_the_rows_stops_a_thread_far_from_its_next_hand_over() {
        // One row, then nothing for a long time: a filter that matches almost nothing.
        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = read.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let raised = stop.clone();
        let source = (0..10_000_000u64)
            .inspect(move |_| {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
            .take_while(move |_| !raised.load(Ordering::Relaxed))
            .filter(|i| *i == 0 || *i == 9_999_999)
            .map(Ok);
        let mut rows = read_ahead(Box::new(source), stop, Backlog::default(), db());
        assert_eq!(rows.next().unwrap().unwrap(), 0);
        drop(rows);
        assert!(read.load(std::sync::atomic::Ordering::SeqCst) < 10_000_000);
    }

    #[test]
    fn a_panic_on_the_reading_thread_is_an_error_not_a_short_answer() {
        let source = (0..100).map(|i| if i == 50 { panic!("boom") } else { Ok(i) });
        let rows: Vec<Result<i32>> =
            read_ahead(Box::new(source), Arc::default(), Backlog::default(), db()).collect();
        let (last, before) = rows.split_last().unwrap();
        assert!(matches!(last, Err(Error::Storage(_))), "{last:?}");
        // The rows handed over before the panic, in order; the batch it broke off is lost.
        assert!(before.len() < 50);
        for (i, row) in before.iter().enumerate() {
            assert_eq!(row.as_ref().ok(), Some(&(i as i32)));
        }
    }

    #[test]
    fn sled_failing_on_the_reading_thread_ends_the_rows_with_the_damage() {
        let source = (0..100).map(|i| {
            if i == 50 {
                // A real panic raised in sled's source, as it does on some damaged trees.
                sled::IVec::from(&[1u8, 2, 3][..]).subslice(2, 5);
            }
            Ok(i)
        });
        let rows: Vec<Result<i32>> =
            read_ahead(Box::new(source), Arc::default(), Backlog::default(), db()).collect();
        let (last, before) = rows.split_last().unwrap();
        assert!(
            matches!(last, Err(Error::Corrupt(m)) if m.contains("is damaged: sled failed")),
            "{last:?}"
        );
        assert!(before.len() < 50 && before.iter().all(Result::is_ok));
    }

    #[test]
    fn nothing_is_read_before_the_first_row_is_asked_for() {
        let read = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = read.clone();
        let source = std::iter::once(()).map(move |()| {
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(1)
        });
        let rows = read_ahead(Box::new(source), Arc::default(), Backlog::default(), db());
        std::thread::sleep(std::time::Duration::from_millis(10));
        assert!(!read.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(rows.map(Result::unwrap).collect::<Vec<_>>(), [1]);
    }
}
