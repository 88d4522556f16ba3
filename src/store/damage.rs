//! Opening sled's files without letting their damage panic: sled 0.34 panics inside its
//! recovery on some damaged logs (a log of several segments cut short, snapshot files lost).
//!
//! Invariant: opening a store never panics. A panic inside sled's open becomes an error that
//! says the store is damaged and what can be done, and its message is not printed; the panic
//! hook is wrapped once, and a panic of any other thread, or of this one at any other time,
//! still reaches the hook that was in place.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use crate::error::{Error, Result};

std::thread_local! {
    /// Whether this thread is inside [`quietly`].
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// `config.open()`, with a panic inside it reported as damage of the store at `path`.
pub(crate) fn open(config: &sled::Config, path: &Path) -> Result<sled::Db> {
    match quietly(|| config.open()) {
        Ok(opened) => opened.map_err(|e| Error::opening(e, path)),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "an unreadable log".to_owned());
            Err(Error::Corrupt(format!(
                "{} is damaged: its log cannot be read back (sled: {detail}); nothing in it \
                 can be read, so restore it from a copy",
                path.display()
            )))
        }
    }
}

/// Runs `f`, catching a panic on this thread without printing it.
fn quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static WRAP: Once = Once::new();
    WRAP.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|quiet| quiet.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|quiet| quiet.set(false));
    result
}
