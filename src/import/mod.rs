//! Reading documents from the files people already have.
//!
//! Each submodule turns one file format into [`crate::Value`] documents; the `quarry import`
//! command and its statement form choose among them.

pub mod article;
pub mod read;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{Error, Result};
use crate::path::Path as DocPath;
use crate::store::Db;

/// The formats a file can be read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON document per line (`.ndjson`, `.jsonl`).
    Ndjson,
    /// One JSON object, or an array of them (`.json`).
    Json,
    /// Comma-separated values with a header row (`.csv`).
    Csv,
    /// A plain-text news article or press release (`.txt`).
    Article,
}

impl Format {
    /// The format named `name` (`ndjson`, `jsonl`, `json`, `csv`, `article`, `txt`).
    ///
    /// ```
    /// assert_eq!(quarry::import::Format::named("CSV").unwrap(), quarry::import::Format::Csv);
    /// ```
    pub fn named(name: &str) -> Result<Format> {
        match name.to_ascii_lowercase().as_str() {
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "article" | "txt" => Ok(Format::Article),
            other => Err(Error::Query(format!(
                "unknown import format `{other}`: use ndjson, json, csv or article"
            ))),
        }
    }

    /// The format a file's extension says, if any.
    pub fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        Format::named(ext).ok()
    }
}

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The format; `None` picks by each file's extension.
    pub format: Option<Format>,
    /// Upsert by this path: a record whose value there matches a document replaces it.
    pub key: Option<DocPath>,
    /// Skip (and list) bad records instead of stopping.
    pub skip_invalid: bool,
    /// Type CSV cells (numbers, booleans, empty as null); otherwise every cell is a string.
    pub infer_types: bool,
    /// Show progress on stderr (only when it is a terminal).
    pub progress: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            format: None,
            key: None,
            skip_invalid: false,
            infer_types: true,
            progress: false,
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    /// Documents added.
    pub count: u64,
    /// Documents replaced (with `key`).
    pub replaced: u64,
    /// The collection.
    pub collection: String,
    /// How long it took.
    pub elapsed: Duration,
    /// Records skipped (`FILE:LINE: what is wrong`), with `skip_invalid`.
    pub skipped: Vec<String>,
    /// Warnings about files (articles that fit no layout, …).
    pub warnings: Vec<String>,
}

impl std::fmt::Display for Imported {
    /// `imported 100000 documents into articles in 2.1 s (47600 docs/s)`, then what was
    /// replaced and skipped (the first ten skipped records with their place).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        let total = self.count + self.replaced;
        write!(
            f,
            "imported {} document{} into {} in {seconds:.1} s ({:.0} docs/s)",
            total,
            if total == 1 { "" } else { "s" },
            self.collection,
            total as f64 / seconds.max(1e-9)
        )?;
        if self.replaced > 0 {
            write!(f, "; {} replaced, {} new", self.replaced, self.count)?;
        }
        if !self.skipped.is_empty() {
            write!(
                f,
                "\nskipped {} invalid record{}:",
                self.skipped.len(),
                if self.skipped.len() == 1 { "" } else { "s" }
            )?;
            for line in self.skipped.iter().take(10) {
                write!(f, "\n  {line}")?;
            }
            if self.skipped.len() > 10 {
                write!(f, "\n  … and {} more", self.skipped.len() - 10)?;
            }
        }
        Ok(())
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

/// Imports files (or folders of files; `-` is stdin) into `collection`: every record goes in,
/// or — on the first bad record, or if the process dies half way — none does.
///
/// ```
/// use quarry::import::{import_files, ImportOptions};
/// let db = quarry::Db::temporary()?;
/// let done = import_files(&db, "people", &["examples/data/people.csv".into()], &ImportOptions::default())?;
/// assert!(done.count > 0);
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn import_files(
    db: &Db,
    collection: &str,
    inputs: &[PathBuf],
    options: &ImportOptions,
) -> Result<Imported> {
    let started = Instant::now();
    let mut files = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            files.push(input.clone());
        } else if !input.exists() {
            return Err(Error::NotFound(format!(
                "file or folder {:?} not found",
                input.display().to_string()
            )));
        } else {
            files.extend(files_of(input)?);
        }
    }
    let target = db.collection(collection)?;
    let mut load = target.bulk_load()?;
    let mut report = Imported {
        collection: collection.to_owned(),
        ..Imported::default()
    };
    let bar = progress_bar(options.progress, &files);
    for file in &files {
        let format = match (options.format, file.as_os_str() == "-") {
            (Some(format), _) => format,
            (None, true) => Format::Ndjson,
            (None, false) => Format::of_path(file).ok_or_else(|| {
                Error::Query(format!("{}: cannot tell the format from the extension: give one (ndjson, json, csv or article)", file.display()))
            })?,
        };
        let name = if file.as_os_str() == "-" {
            "stdin".to_owned()
        } else {
            file.display().to_string()
        };
        let mut failure: Option<Error> = None;
        let mut each = |(place, doc): read::Record| -> bool {
            let outcome = doc
                .map_err(Error::InvalidDocument)
                .and_then(|doc| match &options.key {
                    Some(key) => load.upsert(key, doc).map(|_| ()),
                    None => load.insert(doc).map(|_| ()),
                });
            if let Some(bar) = &bar {
                let records = load.inserted() + load.replaced();
                if records % 500 == 0 {
                    let rate = records as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    bar.set_message(format!("{records} records, {rate:.0} docs/s"));
                }
            }
            match outcome {
                Ok(()) => true,
                Err(err @ (Error::InvalidDocument(_) | Error::Conversion(_)))
                    if options.skip_invalid =>
                {
                    report.skipped.push(format!("{place}: {}", plain(&err)));
                    true
                }
                Err(err) => {
                    failure = Some(Error::InvalidDocument(format!("{place}: {}", plain(&err))));
                    false
                }
            }
        };
        let io = read_file(
            file,
            &name,
            format,
            options,
            bar.as_ref(),
            &mut report.warnings,
            &mut each,
        );
        if let Err(err) = io {
            return Err(Error::Query(format!("{name}: {err}")));
        }
        if let Some(err) = failure {
            // Dropping the load rolls everything back.
            return Err(err);
        }
    }
    report.count = load.inserted();
    report.replaced = load.replaced();
    load.commit()?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// An error's message without the variant's prefix (`invalid document: `).
fn plain(err: &Error) -> String {
    match err {
        Error::InvalidDocument(message) | Error::Conversion(message) => message.clone(),
        other => other.to_string(),
    }
}

fn progress_bar(wanted: bool, files: &[PathBuf]) -> Option<ProgressBar> {
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {msg} {bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

fn read_file(
    file: &Path,
    name: &str,
    format: Format,
    options: &ImportOptions,
    bar: Option<&ProgressBar>,
    warnings: &mut Vec<String>,
    each: &mut dyn FnMut(read::Record) -> bool,
) -> std::io::Result<()> {
    let input: Box<dyn std::io::Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file)?)
    };
    let input: Box<dyn std::io::Read> = match bar {
        Some(bar) => Box::new(bar.wrap_read(input)),
        None => input,
    };
    match format {
        Format::Ndjson => read::ndjson(name, std::io::BufReader::new(input), each),
        Format::Json => read::json(name, input, each),
        Format::Csv => read::csv(name, input, options.infer_types, each),
        Format::Article => {
            let mut bytes = Vec::new();
            std::io::BufReader::new(input).read_to_end(&mut bytes)?;
            let source = file
                .file_name()
                .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned());
            let doc = article::parse_article(&bytes, &source).map(|extracted| {
                warnings.extend(extracted.warnings);
                extracted.article.to_value()
            });
            each((format!("{name}:1"), doc.map_err(|e| e.to_string())));
            Ok(())
        }
    }
}

/// Runs `import "path" into COLL [format F]` with the default options.
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
    let options = ImportOptions {
        format: format.map(Format::named).transpose()?,
        ..ImportOptions::default()
    };
    import_files(db, collection, &[path.to_path_buf()], &options)
}
