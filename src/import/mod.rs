//! Reading documents from the files people already have.
//!
//! Each submodule turns one file format into [`crate::Value`] documents; the `quarry import`
//! command and its statement form choose among them.

pub mod article;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::store::Db;
use crate::value::Value;

/// The formats a file can be read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON document per line (`.ndjson`, `.jsonl`).
    Ndjson,
    /// One JSON object, or an array of objects (`.json`).
    Json,
    /// A plain-text news article or press release (`.txt`).
    Article,
}

impl Format {
    /// The format named `name` (`ndjson`, `jsonl`, `json`, `article`, `txt`).
    pub fn named(name: &str) -> Result<Format> {
        match name.to_ascii_lowercase().as_str() {
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "json" => Ok(Format::Json),
            "article" | "txt" => Ok(Format::Article),
            other => Err(Error::Query(format!(
                "unknown import format `{other}`: use ndjson, json or article"
            ))),
        }
    }

    /// The format a file's extension says, if any.
    pub fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        Format::named(ext).ok()
    }
}

/// The files to read for `path`: the file itself, or a folder's files with a known extension,
/// sorted by name.
fn files_of(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && Format::of_path(p).is_some())
        .collect();
    files.sort();
    Ok(files)
}

/// The documents of one file, each with its `FILE:LINE` for error messages.
fn read_documents(file: &Path, format: Format) -> Result<Vec<(String, Value)>> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| Error::Query(format!("{name}: {e}")))?;
    let parse_json = |text: &str, line: usize| -> Result<Value> {
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::InvalidDocument(format!("{name}:{line}: {e}")))?;
        Value::try_from(json).map_err(|e| Error::InvalidDocument(format!("{name}:{line}: {e}")))
    };
    match format {
        Format::Article => {
            let source = file
                .file_name()
                .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned());
            let extracted = article::parse_article(&bytes, &source)
                .map_err(|e| Error::InvalidDocument(e.to_string()))?;
            Ok(vec![(format!("{name}:1"), extracted.article.to_value())])
        }
        Format::Ndjson => {
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::InvalidDocument(format!("{name}: not UTF-8 text")))?;
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(i, line)| Ok((format!("{name}:{}", i + 1), parse_json(line, i + 1)?)))
                .collect()
        }
        Format::Json => {
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::InvalidDocument(format!("{name}: not UTF-8 text")))?;
            match parse_json(&text, 1)? {
                Value::Array(items) => Ok(items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{name}: element {}", i + 1), v))
                    .collect()),
                one => Ok(vec![(format!("{name}:1"), one)]),
            }
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    /// Documents added.
    pub count: u64,
    /// The collection.
    pub collection: String,
    /// How long it took.
    pub elapsed: std::time::Duration,
}

impl std::fmt::Display for Imported {
    /// `imported 100000 documents into articles in 2.1 s (47600 docs/s)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        write!(
            f,
            "imported {} document{} into {} in {seconds:.1} s ({:.0} docs/s)",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.collection,
            self.count as f64 / seconds.max(1e-9)
        )
    }
}

/// Runs `import "path" into COLL [format F]`: every document of the file (or of the folder's
/// files) goes in, or none does.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// let done = quarry::import::import_statement(&db, "examples/data/articles".as_ref(), "articles", None)?;
/// assert_eq!(done.count, 15);
/// assert!(done.to_string().starts_with("imported 15 documents into articles in"));
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn import_statement(
    db: &Db,
    path: &Path,
    collection: &str,
    format: Option<&str>,
) -> Result<Imported> {
    let started = Instant::now();
    let forced = format.map(Format::named).transpose()?;
    let files = files_of(path).map_err(|e| Error::Query(format!("{}: {e}", path.display())))?;
    let target = db.collection(collection)?;
    let mut load = target.bulk_load()?;
    for file in &files {
        let format = forced.or_else(|| Format::of_path(file)).ok_or_else(|| {
            Error::Query(format!(
                "{}: cannot tell the format from the extension: add `format ndjson|json|article`",
                file.display()
            ))
        })?;
        for (place, doc) in read_documents(file, format)? {
            load.insert(doc)
                .map_err(|e| Error::InvalidDocument(format!("{place}: {e}")))?;
        }
    }
    let count = load.inserted();
    load.commit()?;
    Ok(Imported {
        count,
        collection: collection.to_owned(),
        elapsed: started.elapsed(),
    })
}
