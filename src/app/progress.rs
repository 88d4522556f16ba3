//! An import's progress and an index build's, as bars on stderr (indicatif), drawn only
//! when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use crate::io::import::Progress;
use crate::store::BuildProgress;

/// A bar on stderr: bytes read of the total, records, rate and time left.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, total_bytes: u64) {
        self.0.set_length(total_bytes);
    }

    fn read(&self, bytes: u64) {
        self.0.inc(bytes);
    }

    fn records(&self, records: u64, per_second: f64) {
        self.0
            .set_message(format!("{records} records, {per_second:.0} docs/s"));
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A bar drawn with `template` on stderr, when stderr is a terminal.
fn stderr_bar(template: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

/// A progress bar for an import, when stderr is a terminal.
pub fn bar() -> Option<Arc<dyn Progress>> {
    let bar = stderr_bar("{bar:30} {bytes}/{total_bytes} {msg} {bytes_per_sec} ETA {eta}")?;
    Some(Arc::new(Bar(bar)))
}

/// A bar on stderr for an index build: documents read of the collection's, rate and time left.
struct IndexBar(ProgressBar);

impl BuildProgress for IndexBar {
    fn start(&self, index: &str, documents: u64) {
        self.0.set_length(documents);
        self.0.set_message(format!("building {index}"));
        self.0.reset();
    }

    fn done(&self, documents: u64) {
        self.0.set_position(documents);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A progress bar for the indexes statements create and `check --repair` rebuilds, when
/// stderr is a terminal.
pub fn index_bar() -> Option<Arc<dyn BuildProgress>> {
    let bar = stderr_bar("{msg} {bar:30} {human_pos}/{human_len} documents, {per_sec} ETA {eta}")?;
    Some(Arc::new(IndexBar(bar)))
}
