//! Any text as a script: read and run against a fresh database, never a panic, and the
//! database stays consistent.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    if quarry::internals::script_parse::parse(text).is_err() {
        return;
    }
    let Ok(dir) = tempfile_dir() else { return };
    let file = dir.join("fuzz.qry");
    if std::fs::write(&file, text).is_err() {
        return;
    }
    if let Ok(db) = quarry::Db::temporary() {
        let _ = quarry::script::run_file(&db, &file);
        assert!(db.check().map(|r| r.is_clean()).unwrap_or(true));
    }
    let _ = std::fs::remove_dir_all(dir);
});

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("quarry-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
