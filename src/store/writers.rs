//! Who may write to a database: any number of single-statement writers at once (each also
//! holds its collection's own lock), or one transaction alone.
//!
//! Invariant: while a transaction holds the database, no other write starts and none is under
//! way, so what the transaction read stays true until it ends. Transactions begin in the
//! order they asked. A write on the thread that holds a transaction fails at once instead of
//! waiting for itself. Once sled has failed on the database's damage, no write starts.

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::ThreadId;

use crate::error::{Error, Result};

/// The database-wide write lock.
#[derive(Debug, Default)]
pub(crate) struct Writers {
    state: Mutex<Holders>,
    changed: Condvar,
    /// Why writes are refused: sled failed on the database's damage (see `damage`).
    /// Set once; every write reads it, so it is read without a lock.
    damaged: OnceLock<String>,
}

#[derive(Debug, Default)]
struct Holders {
    /// Single-statement writers under way, by thread.
    shared: std::collections::HashMap<ThreadId, usize>,
    /// The thread of the open transaction, if one is open.
    transaction: Option<ThreadId>,
    /// The ticket the next transaction to ask gets.
    next_ticket: u64,
    /// The ticket of the transaction whose turn it is.
    serving: u64,
}

/// A single-statement writer's hold; released on drop.
#[derive(Debug)]
pub(crate) struct SharedWrite<'a>(&'a Writers);

impl Drop for SharedWrite<'_> {
    fn drop(&mut self) {
        let mut holders = self.0.holders();
        let me = std::thread::current().id();
        if let Some(count) = holders.shared.get_mut(&me) {
            *count -= 1;
            if *count == 0 {
                holders.shared.remove(&me);
            }
        }
        if holders.shared.is_empty() {
            self.0.changed.notify_all();
        }
    }
}

impl Writers {
    fn holders(&self) -> MutexGuard<'_, Holders> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, holders: MutexGuard<'a, Holders>) -> MutexGuard<'a, Holders> {
        self.changed
            .wait(holders)
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses every write from now on: sled failed on the database's damage (`why`), and
    /// writing more could only spread it.
    pub fn refuse_all(&self, why: &Error) {
        let why = match why {
            Error::Corrupt(message) => message.clone(),
            other => other.to_string(),
        };
        // The first failure is the one reported.
        let _ = self.damaged.set(why);
    }

    /// Fails once [`Writers::refuse_all`] was called.
    pub fn refuse_if_damaged(&self) -> Result<()> {
        match self.damaged.get() {
            Some(why) => Err(Error::Corrupt(format!("{why}; writes are refused"))),
            None => Ok(()),
        }
    }

    /// Waits until no transaction is open, then holds the database for one write. Fails on
    /// the thread that has a transaction open: that write would bypass it.
    pub fn share(&self) -> Result<SharedWrite<'_>> {
        let me = std::thread::current().id();
        let mut holders = self.holders();
        loop {
            match holders.transaction {
                Some(owner) if owner == me => return Err(bypass()),
                Some(_) => holders = self.wait(holders),
                None => break,
            }
        }
        // After the wait: a write that waited for one that met the damage is refused too.
        self.refuse_if_damaged()?;
        *holders.shared.entry(me).or_insert(0) += 1;
        Ok(SharedWrite(self))
    }

    /// Waits until no write and no other transaction is under way, then holds the database
    /// for a transaction on this thread until [`Writers::end_transaction`].
    pub fn begin_transaction(&self) -> Result<()> {
        self.refuse_if_damaged()?;
        let me = std::thread::current().id();
        let mut holders = self.holders();
        if holders.transaction == Some(me) {
            return Err(Error::Transaction(
                "a transaction is already open on this thread (transactions do not nest): \
                 commit or roll it back first"
                    .into(),
            ));
        }
        if holders.shared.contains_key(&me) {
            return Err(Error::Transaction(
                "this thread is writing (an import or bulk load is open): finish it before \
                 beginning a transaction, which would wait for it forever"
                    .into(),
            ));
        }
        let ticket = holders.next_ticket;
        holders.next_ticket += 1;
        while holders.serving != ticket
            || holders.transaction.is_some()
            || !holders.shared.is_empty()
        {
            holders = self.wait(holders);
        }
        holders.transaction = Some(me);
        Ok(())
    }

    /// Lets writers in again after a transaction.
    pub fn end_transaction(&self) {
        let mut holders = self.holders();
        holders.transaction = None;
        holders.serving += 1;
        drop(holders);
        self.changed.notify_all();
    }
}

/// Why a write on a transaction's thread that does not go through it is refused.
fn bypass() -> Error {
    Error::Transaction(
        "a transaction is open on this thread: write through the transaction's handles \
         (or commit it first); this write would wait for it forever"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_transaction_waits_for_writers_and_keeps_them_out() {
        let writers = Arc::new(Writers::default());
        let write = writers.share().unwrap();
        let other = writers.clone();
        let began = std::thread::spawn(move || {
            other.begin_transaction().unwrap();
            let refused = other.share().unwrap_err();
            other.end_transaction();
            refused.to_string()
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!began.is_finished(), "began while a write was under way");
        drop(write);
        assert!(
            began
                .join()
                .unwrap()
                .contains("transaction is open on this thread")
        );
        writers.share().unwrap();
    }

    #[test]
    fn transactions_do_not_nest() {
        let writers = Writers::default();
        writers.begin_transaction().unwrap();
        assert!(writers.begin_transaction().is_err());
        writers.end_transaction();
        writers.begin_transaction().unwrap();
    }
}
