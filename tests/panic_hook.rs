//! Opening a store catches sled's panics on damaged files without printing them, and leaves
//! the process's panic hook as it was: alone in its test binary, because the hook is the
//! process's.

use std::sync::atomic::{AtomicUsize, Ordering};

static REPORTED: AtomicUsize = AtomicUsize::new(0);

/// Stores opened from four threads at once, 30 times each (and 200 times more on one), then
/// five panics, each on a thread of its own: the hook in place before sees all five.
#[test]
fn opening_leaves_the_panic_hook_as_it_was() {
    std::panic::set_hook(Box::new(|_| {
        REPORTED.fetch_add(1, Ordering::SeqCst);
    }));
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let path = dir.path().join(format!("s{t}.db"));
            s.spawn(move || {
                for _ in 0..30 {
                    drop(quarry::Db::open(&path).unwrap());
                }
            });
        }
    });
    let one = dir.path().join("one.db");
    for _ in 0..200 {
        drop(quarry::Db::open(&one).unwrap());
    }
    let before = REPORTED.load(Ordering::SeqCst);
    for _ in 0..5 {
        std::thread::spawn(|| {
            let _ = std::panic::catch_unwind(|| panic!("probe"));
        })
        .join()
        .unwrap();
    }
    assert_eq!(REPORTED.load(Ordering::SeqCst) - before, 5);
}
