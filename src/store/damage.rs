//! Opening sled's files without letting their damage panic: sled 0.34 panics inside its
//! recovery on some damaged logs (a log of several segments cut short, snapshot files lost).
//!
//! Invariant: opening a store never panics. A panic inside sled's open becomes an error that
//! says the store is damaged and what can be done, and its message is not printed (a panic
//! of another thread meanwhile still is).

use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

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
    let previous: Arc<Hook> = Arc::new(panic::take_hook());
    let this = std::thread::current().id();
    let others = previous.clone();
    panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != this {
            others(info);
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    drop(panic::take_hook());
    panic::set_hook(Box::new(move |info| previous(info)));
    result
}
