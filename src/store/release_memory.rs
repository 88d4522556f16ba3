//! Giving a closed database's memory back to the operating system.
//!
//! sled's page cache is freed, block by block, when the last handle to a database drops. glibc
//! keeps such blocks in its heap for later allocations of the thread arena they came from, so a
//! process that closes a database and opens another one (or the same one again) held both: the
//! reopened store's pages, read in by a query's reading-ahead thread, go to that thread's arena
//! and cannot reuse what the closed store left in the main one, so a process that reopened its
//! store held more after the reopen than it peaked at while loading (measured in
//! `bench/FINDINGS.md`).
//!
//! So, as a database closes, [`ReleaseOnDrop`] asks glibc (`malloc_trim`) to hand the free
//! pages of every arena back to the operating system, paid once per close. Other platforms'
//! allocators are left alone.

/// Returns freed memory to the operating system when dropped. The last field of `DbInner`, so
/// that it drops after the sled handles whose memory it returns.
pub(crate) struct ReleaseOnDrop;

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        release_freed_memory();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: `malloc_trim` takes no pointers and has no preconditions; it only releases free
    // pages of the allocator's own heaps (under their locks) and may be called at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}
