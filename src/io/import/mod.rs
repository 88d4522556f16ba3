//! Reading documents from the files people already have.
//!
//! Each submodule turns one file format into [`crate::Value`] documents; the `quarry import`
//! command and its statement form choose among them.

pub mod article;
pub mod read;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::path::Path as DocPath;
use crate::query::Interrupt;
use crate::store::{Collection, Db, prepare_document};

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

/// What an import reports as it reads, for a progress display: the `quarry` command draws a
/// bar on a terminal (`cli` feature).
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
/// #[derive(Default)]
/// struct Bytes(AtomicU64);
/// impl quarry::import::Progress for Bytes {
///     fn start(&self, _total_bytes: u64) {}
///     fn read(&self, bytes: u64) { self.0.fetch_add(bytes, Ordering::Relaxed); }
///     fn records(&self, _records: u64, _per_second: f64) {}
///     fn finish(&self) {}
/// }
/// let bytes = Arc::new(Bytes::default());
/// let options = quarry::import::ImportOptions { progress: Some(bytes.clone()), ..Default::default() };
/// let db = quarry::Db::temporary()?;
/// quarry::import::import_files(&db, "people", &["examples/data/people.csv".into()], &options)?;
/// assert!(bytes.0.load(Ordering::Relaxed) > 0);
/// # Ok::<(), quarry::Error>(())
/// ```
pub trait Progress: Send + Sync {
    /// Reading starts: the files hold `total_bytes` bytes (0 when unknown, as for stdin).
    fn start(&self, total_bytes: u64);
    /// `bytes` more bytes were read.
    fn read(&self, bytes: u64);
    /// `records` records were read so far, at `per_second`.
    fn records(&self, records: u64, per_second: f64);
    /// The import ended (committed or not).
    fn finish(&self);
}

/// How to import.
#[derive(Clone)]
pub struct ImportOptions {
    /// The format; `None` picks by each file's extension.
    pub format: Option<Format>,
    /// Upsert by this path: a record whose value there matches a document replaces it.
    pub key: Option<DocPath>,
    /// Skip (and list) bad records instead of stopping.
    pub skip_invalid: bool,
    /// Type CSV columns (numbers, booleans, JSON), each from all its cells; otherwise every
    /// cell is a string.
    pub infer_types: bool,
    /// Read an empty CSV cell as null; by default it is a missing field.
    pub empty_as_null: bool,
    /// Told how reading goes, if set.
    pub progress: Option<Arc<dyn Progress>>,
    /// Once raised (Ctrl-C), the import stops and rolls back, failing with
    /// [`Error::Interrupted`].
    pub interrupt: Option<Interrupt>,
    /// Read and check everything, write nothing (not even the collection); for articles,
    /// report the fields found in each file and the rule that found each one.
    pub dry_run: bool,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("format", &self.format)
            .field("key", &self.key)
            .field("skip_invalid", &self.skip_invalid)
            .field("infer_types", &self.infer_types)
            .field("empty_as_null", &self.empty_as_null)
            .field("progress", &self.progress.is_some())
            .field("interrupt", &self.interrupt.is_some())
            .field("dry_run", &self.dry_run)
            .finish()
    }
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            format: None,
            key: None,
            skip_invalid: false,
            infer_types: true,
            empty_as_null: false,
            progress: None,
            interrupt: None,
            dry_run: false,
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
    /// Each CSV column and the type read from all its cells (`FILE: column`), in order.
    pub columns: Vec<(String, read::Column)>,
    /// Nothing was written: `count` documents were read and checked ([`ImportOptions::dry_run`]).
    pub dry_run: bool,
    /// With `dry_run`, per article file: each field found and the rule that found it.
    pub fields: Vec<String>,
}

impl std::fmt::Display for Imported {
    /// `imported N documents into articles in S s (R docs/s)`, then what was
    /// replaced and skipped (the first ten skipped records with their place).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        let total = self.count + self.replaced;
        if self.dry_run {
            for line in &self.fields {
                writeln!(f, "{line}")?;
            }
            write!(
                f,
                "dry run: {total} document{} read and checked for {} (not against its unique \
                 indexes or --key); nothing was written",
                if total == 1 { "" } else { "s" },
                self.collection
            )?;
        } else {
            write!(
                f,
                "imported {} document{} into {} in {seconds:.1} s ({:.0} docs/s)",
                total,
                if total == 1 { "" } else { "s" },
                self.collection,
                total as f64 / seconds.max(1e-9)
            )?;
        }
        if self.replaced > 0 {
            write!(f, "; {} replaced, {} new", self.replaced, self.count)?;
        }
        if !self.columns.is_empty() {
            let columns: Vec<String> = self
                .columns
                .iter()
                .map(|(name, kind)| format!("{name} {kind}"))
                .collect();
            write!(f, "\ncolumns: {}", columns.join(", "))?;
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
/// let done = import_files(&db, "articles", &["examples/data/articles".into()], &ImportOptions::default())?;
/// assert_eq!(done.count, 15);
/// assert!(done.to_string().starts_with("imported 15 documents into articles in"));
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn import_files(
    db: &Db,
    collection: &str,
    inputs: &[PathBuf],
    options: &ImportOptions,
) -> Result<Imported> {
    let existed = db.get_collection(collection).is_some();
    let imported = db.contain_damage(|| load_files(db, collection, inputs, options));
    // All or nothing includes the collection: one the import made is gone with it.
    if imported.is_err()
        && !options.dry_run
        && !existed
        && db
            .get_collection(collection)
            .is_some_and(|c| c.is_empty().unwrap_or(false))
    {
        // Should the drop fail too (a store that became damaged refuses it), the import's own
        // error is the one that says what went wrong.
        let _ = db.drop_collection(collection);
    }
    imported
}

/// [`import_files`] but for removing a collection it made when it fails.
fn load_files(
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
    let target = match options.dry_run {
        true => None,
        false => Some(db.collection(collection)?),
    };
    let mut load = target.as_ref().map(Collection::bulk_load).transpose()?;
    let mut report = Imported {
        collection: collection.to_owned(),
        dry_run: options.dry_run,
        ..Imported::default()
    };
    let mut checked = 0u64;
    let bar = options.progress.as_deref();
    if let Some(bar) = bar {
        let total = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        bar.start(total);
    }
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
            if options.interrupt.as_ref().is_some_and(Interrupt::is_raised) {
                failure = Some(Error::Interrupted);
                return false;
            }
            let outcome = doc.map_err(Error::InvalidDocument).and_then(|doc| {
                match (&mut load, &options.key) {
                    (Some(load), Some(key)) => load.upsert(key, doc).map(|_| ()),
                    (Some(load), None) => load.insert(doc).map(|_| ()),
                    (None, _) => prepare_document(doc).map(|_| checked += 1),
                }
            });
            if let Some(bar) = bar {
                let records = load
                    .as_ref()
                    .map_or(checked, |l| l.inserted() + l.replaced());
                if records % 500 == 0 {
                    let rate = records as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    bar.records(records, rate);
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
            bar,
            Notes {
                warnings: &mut report.warnings,
                columns: &mut report.columns,
                fields: options.dry_run.then_some(&mut report.fields),
            },
            &mut each,
        );
        if let Err(err) = io {
            if let Some(bar) = bar {
                bar.finish();
            }
            return Err(Error::Query(format!("{name}: {err}")));
        }
        if let Some(err) = failure {
            if let Some(bar) = bar {
                bar.finish();
            }
            // Dropping the load rolls everything back.
            return Err(err);
        }
    }
    match load {
        Some(load) => {
            report.count = load.inserted();
            report.replaced = load.replaced();
            load.commit()?;
        }
        None => report.count = checked,
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// What reading a file tells besides its records: warnings, CSV column types and, in a dry
/// run, each article's fields.
struct Notes<'a> {
    warnings: &'a mut Vec<String>,
    columns: &'a mut Vec<(String, read::Column)>,
    fields: Option<&'a mut Vec<String>>,
}

/// An error's message without the variant's prefix (`invalid document: `).
fn plain(err: &Error) -> String {
    match err {
        Error::InvalidDocument(message) | Error::Conversion(message) => message.clone(),
        other => other.to_string(),
    }
}

/// A reader that tells `progress` how many bytes pass through it.
struct Counted<'a> {
    inner: Box<dyn Read + 'a>,
    progress: &'a dyn Progress,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.read(n as u64);
        Ok(n)
    }
}

fn read_file(
    file: &Path,
    name: &str,
    format: Format,
    options: &ImportOptions,
    bar: Option<&dyn Progress>,
    notes: Notes<'_>,
    each: &mut dyn FnMut(read::Record) -> bool,
) -> std::io::Result<()> {
    // CSV is read twice, once to type its columns from all their cells: standard input is
    // kept in a temporary file for the second reading.
    let spooled = match (format, file.as_os_str() == "-") {
        (Format::Csv, true) => {
            let mut spool = tempfile::tempfile()?;
            std::io::copy(&mut std::io::stdin().lock(), &mut spool)?;
            Some(spool)
        }
        _ => None,
    };
    let open = || -> std::io::Result<Box<dyn std::io::Read>> {
        Ok(match &spooled {
            Some(spool) => {
                let mut spool = spool.try_clone()?;
                std::io::Seek::rewind(&mut spool)?;
                Box::new(spool)
            }
            None if file.as_os_str() == "-" => Box::new(std::io::stdin()),
            None => Box::new(std::fs::File::open(file)?),
        })
    };
    let columns = match format {
        Format::Csv if options.infer_types => {
            let (headers, columns) = read::csv_columns(std::io::BufReader::new(open()?))?;
            notes.columns.extend(
                headers
                    .into_iter()
                    .zip(columns.iter().copied())
                    .map(|(header, kind)| (format!("{name}: {header}"), kind)),
            );
            Some(columns)
        }
        _ => None,
    };
    let input = open()?;
    let input: Box<dyn std::io::Read + '_> = match bar {
        Some(progress) => Box::new(Counted {
            inner: input,
            progress,
        }),
        None => input,
    };
    match format {
        Format::Ndjson => read::ndjson(name, std::io::BufReader::new(input), each),
        Format::Json => read::json(name, input, each),
        Format::Csv => {
            let types = read::CsvTypes {
                columns,
                empty_as_null: options.empty_as_null,
            };
            read::csv(name, input, &types, each)
        }
        Format::Article => {
            let mut bytes = Vec::new();
            std::io::BufReader::new(input).read_to_end(&mut bytes)?;
            let source = file
                .file_name()
                .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned());
            let doc = article::parse_article(&bytes, &source).map(|extracted| {
                notes.warnings.extend(extracted.warnings);
                if let Some(fields) = notes.fields {
                    fields.push(extracted.article.describe());
                }
                extracted.article.to_value()
            });
            each((format!("{name}:1"), doc.map_err(|e| e.to_string())));
            Ok(())
        }
    }
}

/// Runs `import "path" into COLL [format F]` as the language does: default options, stopped
/// by the session's interrupt; the documents added. Give it to a session with
/// [`crate::query::Session::set_importer`].
///
/// ```
/// let db = quarry::Db::temporary()?;
/// let added = quarry::import::statement(&db, "examples/data/articles".as_ref(), "articles", None, None)?;
/// assert_eq!(added, 15);
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn statement(
    db: &Db,
    path: &Path,
    collection: &str,
    format: Option<&str>,
    interrupt: Option<&Interrupt>,
) -> Result<u64> {
    let options = ImportOptions {
        format: format.map(Format::named).transpose()?,
        interrupt: interrupt.cloned(),
        ..ImportOptions::default()
    };
    Ok(import_files(db, collection, &[path.to_path_buf()], &options)?.count)
}
