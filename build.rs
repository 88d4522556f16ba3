//! Embeds the sample articles in `examples/data/articles/` into the binary for `quarry demo`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("examples/data/articles");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".txt"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from(
        "/// The sample articles: (file name, text).\npub const SAMPLE_ARTICLES: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        let path = std::fs::canonicalize(dir.join(name)).unwrap_or_else(|_| dir.join(name));
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
        println!("cargo:rerun-if-changed={}", dir.join(name).display());
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let _ = std::fs::write(Path::new(&out).join("samples.rs"), code);
}
