//! What building an index over stored documents reports as it goes, for a progress display.
//!
//! Invariant: a build reports `start` once, then `done` with counts that never go down and
//! never pass the total `start` gave, then `finish` once, whether the build succeeds or fails.

/// Told how far an index build over a collection's stored documents has gone: the `quarry`
/// command draws a bar on a terminal (`cli` feature). See [`Collection::with_progress`].
///
/// [`Collection::with_progress`]: crate::Collection::with_progress
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
/// #[derive(Default)]
/// struct Done(AtomicU64);
/// impl quarry::BuildProgress for Done {
///     fn start(&self, _index: &str, _documents: u64) {}
///     fn done(&self, documents: u64) { self.0.store(documents, Ordering::Relaxed); }
///     fn finish(&self) {}
/// }
/// let db = quarry::Db::temporary()?;
/// let notes = db.collection("notes")?;
/// notes.insert(&serde_json::json!({"topic": "reefs"}))?;
/// let done = Arc::new(Done::default());
/// notes.with_progress(done.clone()).create_index(&["topic"])?;
/// assert_eq!(done.0.load(Ordering::Relaxed), 1);
/// # Ok::<(), quarry::Error>(())
/// ```
pub trait BuildProgress: Send + Sync {
    /// Index `index` starts filling from the collection's `documents` stored documents.
    fn start(&self, index: &str, documents: u64);
    /// `documents` of them are read so far (a running total).
    fn done(&self, documents: u64);
    /// The build ended, whether it succeeded or not.
    fn finish(&self);
}

/// Reports one build to an optional [`BuildProgress`], keeping the running count, and
/// finishes it when dropped, so an early return on an error finishes it too.
pub(crate) struct Reporting<'p> {
    progress: Option<&'p dyn BuildProgress>,
    done: u64,
    total: u64,
}

impl<'p> Reporting<'p> {
    pub fn start(progress: Option<&'p dyn BuildProgress>, index: &str, total: u64) -> Self {
        if let Some(p) = progress {
            p.start(index, total);
        }
        Reporting {
            progress,
            done: 0,
            total,
        }
    }

    /// `documents` more were read. The running count stops at the total, which came from the
    /// collection's counter: a damaged store's counter may be short until `repair` mends it.
    pub fn read(&mut self, documents: u64) {
        self.done = (self.done + documents).min(self.total);
        if let Some(p) = self.progress {
            p.done(self.done);
        }
    }
}

impl Drop for Reporting<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.progress {
            p.finish();
        }
    }
}
