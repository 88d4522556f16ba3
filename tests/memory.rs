//! Closing a database gives the memory it held back to the operating system. In a test binary
//! of its own, so that no other test allocates in this process while it measures.

/// This process's resident memory, in MB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn closing_a_database_returns_its_cache_to_the_operating_system() {
    let dir = tempfile::tempdir().unwrap();
    // The first open of a process allocates about 22 MB that sled keeps for the life of the
    // process, whatever the store (measured with `mallinfo2`: live mmapped blocks that stay
    // the same through any number of opens and closes). It is not this store's to give back,
    // so it is paid before measuring: otherwise it is a third of what is measured, and whether
    // "most" came back became a matter of chance.
    drop(quarry::Db::open(dir.path().join("first.db")).unwrap());
    let before = resident_mb();
    let db = quarry::Db::open(dir.path().join("big.db")).unwrap();
    let docs = db.collection("docs").unwrap();
    let text = "lorem ipsum dolor sit amet ".repeat(110);
    let mut load = docs.bulk_load().unwrap();
    for i in 0..12_000 {
        let doc = serde_json::json!({"n": i, "text": format!("{i} {text}")});
        load.insert(doc.try_into().unwrap()).unwrap();
    }
    load.commit().unwrap();
    // Read everything, so that sled's cache holds the documents.
    let rows = db.query("from docs where n >= 0").unwrap();
    assert_eq!(rows.count(), 12_000);
    let open = resident_mb();
    assert!(
        open - before > 30.0,
        "the open store should hold its documents: {before} -> {open} MB"
    );

    drop(docs);
    drop(db);
    // sled's background threads let go of their handles shortly after the last one drops (on
    // a busy machine, later): wait for them, up to ten seconds, rather than race them.
    let mut closed = resident_mb();
    for _ in 0..100 {
        if open - closed > (open - before) / 2.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        closed = resident_mb();
    }
    assert!(
        open - closed > (open - before) / 2.0,
        "closing should give back most of what the store held: {before} MB before it opened, \
         {open} MB open, {closed} MB closed"
    );
}
