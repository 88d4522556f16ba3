//! The `quarry` command line: argument parsing and the subcommands.
//!
//! Exit codes: 0 success, 1 a statement (or check) failed, 2 bad usage.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::EXIT_OK;
use crate::error::Error;
use crate::io::render::{self, Mode, Style};
use crate::query::{Params, Session, Statement};
use crate::store::{Db, Options};
use crate::value::Value;

/// Exit code of a failed statement or check.
pub const EXIT_FAILED: i32 = 1;
/// Exit code of bad usage.
pub const EXIT_USAGE: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "quarry",
    version,
    about = "An embedded document store with a small query language",
    long_about = "An embedded document store with a small query language.\n\n\
        Without a subcommand, opens a shell on the database (or, when stdin is not a terminal,\n\
        runs the statements read from stdin).",
    after_help = "Examples:\n  quarry --db news.db\n  quarry exec --db news.db 'count from articles by org'\n  echo 'count' | quarry --db news.db\n  quarry demo"
)]
struct Cli {
    /// The database (default: $QUARRY_DB, else ./quarry.db); created when missing.
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,

    /// Create a missing database compressed with zstd: much less disk, slower to load and to
    /// open. An existing database keeps how it was created.
    #[arg(long, global = true)]
    compress: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run statements and print their output.
    #[command(
        after_help = "Example:\n  quarry exec --db news.db --format json --param org=ICC 'from articles where org = $org'"
    )]
    Exec {
        /// How to print rows.
        #[arg(long, short, default_value = "table", value_parser = parse_mode)]
        format: Mode,
        /// Bind a parameter: `--param org=ICC` for `$org`, `--param 1=5` for `$1`. The value
        /// is read as JSON when it parses as JSON, else as a string.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// One or more statements separated by `;` (may start with a `--` comment).
        #[arg(allow_hyphen_values = true)]
        statements: String,
    },
    /// A shell on a temporary database of the bundled sample articles, with a guide of
    /// queries to try (without a terminal: runs the guide and prints the results).
    #[command(after_help = "Example:\n  quarry demo")]
    Demo,
    /// Import files into a collection: all records or none. Formats by extension (.ndjson,
    /// .jsonl, .json, .csv, .txt articles); folders import their files; `-` reads stdin.
    #[command(
        after_help = "Examples:\n  quarry import --db news.db articles examples/data/articles\n  quarry import --db news.db people people.csv --key email\n  cat dump.ndjson | quarry import --db news.db dump -"
    )]
    Import {
        /// The collection (created when missing).
        collection: String,
        /// Files or folders; `-` for stdin (NDJSON unless --format says otherwise).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// auto (by extension), ndjson, json, csv or article.
        #[arg(long, default_value = "auto")]
        format: String,
        /// Upsert by this field: a record with the same value replaces the document.
        #[arg(long, value_name = "PATH")]
        key: Option<String>,
        /// Skip bad records (and list them) instead of importing nothing.
        #[arg(long)]
        skip_invalid: bool,
        /// Keep CSV cells as strings instead of typing each column (number, bool, JSON) from
        /// all its cells.
        #[arg(long)]
        no_infer: bool,
        /// Read an empty CSV cell as null instead of a missing field.
        #[arg(long)]
        empty_as_null: bool,
        /// Read and check everything, write nothing; for articles, show the fields found in
        /// each file and the rule that found each one.
        #[arg(long)]
        dry_run: bool,
    },
    /// Export a collection (or the documents matching --where) as NDJSON, JSON, CSV or a
    /// PostgreSQL script.
    #[command(
        after_help = "Examples:\n  quarry export --db news.db articles --format csv --where 'year >= 2020' -o recent.csv\n  quarry export --db news.db articles --format postgres -o articles.sql && psql -f articles.sql"
    )]
    Export {
        /// The collection.
        collection: String,
        /// ndjson, json, csv or postgres.
        #[arg(long, default_value = "ndjson")]
        format: crate::io::export::ExportFormat,
        /// With --format postgres: the table to create (default: the collection's name).
        #[arg(long, value_name = "NAME")]
        table: Option<String>,
        /// With --format postgres: the schema of the table (default: public).
        #[arg(long, value_name = "NAME")]
        schema: Option<String>,
        /// Only documents matching this condition (as after `where`).
        #[arg(long = "where", value_name = "CONDITION")]
        filter: Option<String>,
        /// Write to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the PostgreSQL statement equivalent to a quarry statement, over the table
    /// `export --format postgres` writes (no database needed).
    #[command(
        after_help = "Example:\n  quarry sql 'from articles where org = \"ICC\" and year >= 2020 order by date desc limit 10'"
    )]
    Sql {
        /// The quarry statement.
        statement: String,
        /// The table (default: the statement's collection).
        #[arg(long, value_name = "NAME")]
        table: Option<String>,
        /// The schema of the table (default: public).
        #[arg(long, value_name = "NAME")]
        schema: Option<String>,
    },
    /// Run query scripts (`.qry`) and print their output; stops at the first error.
    #[command(after_help = "Example:\n  quarry run --db news.db setup.qry report.qry")]
    Run {
        /// The scripts, run in order on the database.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check scripts' expected output: each file runs on a fresh temporary database (or a
    /// copy of --db); prints a diff per mismatch and `N passed, M failed`.
    #[command(
        after_help = "Example:\n  quarry test tests/queries\n  quarry test --update tests/queries/articles.qry"
    )]
    Test {
        /// Script files, or folders searched for `.qry` files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Rewrite the expected blocks with the actual output (also: QUARRY_UPDATE=1).
        #[arg(long)]
        update: bool,
    },
    /// Verify the database: every document against every index entry, and the counters.
    #[command(after_help = "Example:\n  quarry check --db news.db --repair")]
    Check {
        /// Rebuild the indexes from the documents, then check again.
        #[arg(long)]
        repair: bool,
    },
    /// Rewrite the store into a fresh one and swap them, giving back the space overwritten and
    /// deleted data still takes; refused while another process has it open.
    #[command(after_help = "Example:\n  quarry compact --db news.db")]
    Compact,
}

fn parse_mode(text: &str) -> Result<Mode, String> {
    text.parse()
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        // The reader of an export went away (`quarry export ... | head`): done, quietly.
        Err(Error::Io(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(err) => {
            eprintln!("error: {err}");
            EXIT_FAILED
        }
    }
}

fn db_path(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("QUARRY_DB").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("quarry.db"))
}

/// The database at `path`, which must exist: reads never create one.
fn open_existing(path: PathBuf, compress: bool) -> Result<Db, Error> {
    if !path.exists() {
        return Err(Error::NotFound(format!(
            "no database at {} (writes, imports and the shell create one)",
            path.display()
        )));
    }
    // A store keeps how it was created; `--compress` only matters to an empty folder.
    open(path, compress)
}

/// sled's page cache for `quarry import`. An import reads little back, and sled holds
/// several times its cache's nominal size in memory while writing (bench/FINDINGS.md), so the
/// default cache would make a large import's memory grow far past what it needs.
const IMPORT_CACHE: u64 = 64 << 20;

/// Opens the database at `path`, creating it (compressed with `compress`) when missing, and
/// says on stderr what opening found (a store that came back older than its last flush).
fn open(path: PathBuf, compress: bool) -> Result<Db, Error> {
    let options = Options {
        compression: compress,
        ..Options::default()
    };
    open_with(path, options)
}

/// [`open`] with `options`.
fn open_with(path: PathBuf, options: Options) -> Result<Db, Error> {
    let db = Db::open_with(path, options)?;
    for warning in db.warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(db)
}

/// A session on `db` that runs `import` and `explain sql` statements and draws a bar on a
/// terminal while a statement builds an index.
fn session(db: &Db) -> Session {
    let mut session = Session::new(db.clone());
    session.set_importer(Some(crate::io::import::statement));
    session.set_translator(Some(crate::io::sql::explain));
    session.set_progress(crate::app::progress::index_bar());
    session
}

fn run(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Some(Command::Exec {
            format,
            params,
            statements,
        }) => {
            let path = db_path(cli.db);
            let db = match crate::query::parse(&statements) {
                Ok(parsed) if parsed.iter().all(Statement::only_reads) => {
                    open_existing(path, cli.compress)?
                }
                // A statement that does not parse is reported without creating anything.
                Err(_) if !path.exists() => Db::temporary()?,
                _ => open(path, cli.compress)?,
            };
            let mut session = session(&db);
            session.set_params(parse_params(&params)?);
            let code = run_text(
                &mut session,
                &statements,
                &Style {
                    mode: format,
                    width: None,
                    draw_table: Some(crate::app::table::draw),
                },
            );
            db.flush()?;
            Ok(code)
        }
        Some(Command::Compact) => {
            let path = db_path(cli.db);
            if !path.exists() {
                return open_existing(path, cli.compress).map(|_| EXIT_FAILED);
            }
            outln!("{}", Db::compact(&path)?);
            Ok(EXIT_OK)
        }
        Some(Command::Check { repair }) => {
            let db = open_existing(db_path(cli.db), cli.compress)?;
            let report = if repair {
                db.repair_with_progress(crate::app::progress::index_bar())?
            } else {
                db.check()?
            };
            for problem in &report.problems {
                outln!("{problem}");
            }
            outln!(
                "checked {} collections, {} documents, {} index entries: {}",
                report.collections,
                report.documents,
                report.index_entries,
                match report.problems.len() {
                    0 => "no problems".to_owned(),
                    1 => "1 problem".to_owned(),
                    n => format!("{n} problems"),
                }
            );
            db.flush()?;
            Ok(if report.is_clean() {
                EXIT_OK
            } else {
                EXIT_FAILED
            })
        }
        Some(Command::Demo) => crate::app::demo::run(),
        Some(Command::Import {
            collection,
            files,
            format,
            key,
            skip_invalid,
            no_infer,
            empty_as_null,
            dry_run,
        }) => {
            let path = db_path(cli.db);
            // A dry run creates nothing: without a database, it checks against an empty one.
            let db = match (dry_run, path.exists()) {
                (true, false) => Db::temporary()?,
                _ => open_with(
                    path,
                    Options {
                        cache_capacity: IMPORT_CACHE,
                        compression: cli.compress,
                        ..Options::default()
                    },
                )?,
            };
            let options = crate::io::import::ImportOptions {
                format: match format.as_str() {
                    "auto" => None,
                    name => Some(crate::io::import::Format::named(name)?),
                },
                key: key
                    .map(|k| {
                        k.parse()
                            .map_err(|e: crate::path::PathError| Error::Query(e.to_string()))
                    })
                    .transpose()?,
                skip_invalid,
                infer_types: !no_infer,
                empty_as_null,
                progress: crate::app::progress::bar(),
                interrupt: Some(crate::app::interrupt_on_ctrl_c()),
                dry_run,
            };
            let done = match crate::io::import::import_files(&db, &collection, &files, &options) {
                Err(Error::Interrupted) => {
                    // Rolled back already: the next open has nothing to undo.
                    db.flush()?;
                    eprintln!("interrupted: nothing imported");
                    return Ok(EXIT_FAILED);
                }
                other => other?,
            };
            db.flush()?;
            for warning in &done.warnings {
                eprintln!("warning: {warning}");
            }
            outln!("{done}");
            Ok(EXIT_OK)
        }
        Some(Command::Export {
            collection,
            format,
            table,
            schema,
            filter,
            output,
        }) => {
            let db = open_existing(db_path(cli.db), cli.compress)?;
            let target = crate::io::sql::PgTarget { schema, table };
            match output {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    let count = crate::io::export::export_to(
                        &db,
                        &collection,
                        format,
                        filter.as_deref(),
                        &target,
                        &mut file,
                    )?;
                    std::io::Write::flush(&mut file)?;
                    eprintln!("exported {count} documents to {}", path.display());
                }
                None => {
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    crate::io::export::export_to(
                        &db,
                        &collection,
                        format,
                        filter.as_deref(),
                        &target,
                        &mut out,
                    )?;
                    std::io::Write::flush(&mut out)?;
                }
            }
            Ok(EXIT_OK)
        }
        Some(Command::Sql {
            statement,
            table,
            schema,
        }) => {
            let target = crate::io::sql::PgTarget { schema, table };
            match crate::io::sql::translate(&statement, &target) {
                Ok(translation) => {
                    outln!("{translation}");
                    Ok(EXIT_OK)
                }
                Err(Error::Parse(err)) => {
                    eprint!("{}", err.render(&statement, None));
                    Ok(EXIT_FAILED)
                }
                Err(err) => {
                    eprintln!("error: {err}");
                    Ok(EXIT_FAILED)
                }
            }
        }
        Some(Command::Run { files }) => {
            let db = open(db_path(cli.db), cli.compress)?;
            let mut session = session(&db);
            let mut runner = crate::io::script::Runner::printing(&mut session)
                .with_tables(Some(crate::app::table::draw));
            let mut code = EXIT_OK;
            for file in &files {
                match runner.run_file(file) {
                    Ok(()) => {}
                    Err(stopped) if stopped.output_closed => break,
                    Err(stopped) => {
                        eprintln!("{}: {}", stopped.place, stopped.message);
                        code = EXIT_FAILED;
                        break;
                    }
                }
            }
            db.flush()?;
            Ok(code)
        }
        Some(Command::Test { paths, update }) => {
            let update = update || crate::io::script::update_requested();
            let mut report = crate::io::script::Report::default();
            let mut broken = 0;
            let mut no_checks = Vec::new();
            for path in &paths {
                for file in crate::io::script::script_files(path)? {
                    match crate::io::script::test_file(
                        &file,
                        cli.db.as_deref(),
                        Some(crate::app::table::draw),
                    ) {
                        Ok(one) => {
                            // A file whose own lines check nothing (a setup file) is no test.
                            if !one.checks.iter().any(|c| c.file == file) {
                                no_checks.push(file.display().to_string());
                            }
                            if update {
                                crate::io::script::run::update_file(&file, &one.failures())?;
                            } else {
                                for failure in one.failures() {
                                    outln!("{}", failure.diff());
                                }
                            }
                            report.checks.extend(one.checks);
                        }
                        Err(err) => {
                            eprintln!("{err}");
                            broken += 1;
                        }
                    }
                }
            }
            if update {
                outln!("updated: {} checks", report.checks.len());
                return Ok(if broken == 0 { EXIT_OK } else { EXIT_FAILED });
            }
            if !no_checks.is_empty() {
                outln!("no checks: {}", no_checks.join(", "));
            }
            outln!("{}", report.summary());
            Ok(if report.failures().is_empty() && broken == 0 {
                EXIT_OK
            } else {
                EXIT_FAILED
            })
        }
        None => {
            let db = open(db_path(cli.db), cli.compress)?;
            let mut session = session(&db);
            let code = if std::io::stdin().is_terminal() {
                crate::app::shell::run(&mut session)?
            } else {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                run_text(
                    &mut session,
                    &text,
                    &Style {
                        draw_table: Some(crate::app::table::draw),
                        ..Style::default()
                    },
                )
            };
            db.flush()?;
            Ok(code)
        }
    }
}

/// Binds `NAME=VALUE` pairs: JSON values when they parse as JSON, else strings.
pub fn parse_params(pairs: &[String]) -> Result<Params, Error> {
    let mut params = Params::new();
    for pair in pairs {
        let (name, text) = pair
            .split_once('=')
            .ok_or_else(|| Error::Query(format!("--param takes NAME=VALUE, not {pair:?}")))?;
        let name = name.trim().trim_start_matches('$');
        let value = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|json| Value::try_from(json).ok())
            .unwrap_or_else(|| Value::from(text));
        params.set(name, value);
    }
    Ok(params)
}

/// Runs statements one by one, printing each output; on the first error prints it (with the
/// caret display for syntax errors) and returns [`EXIT_FAILED`].
pub fn run_text(session: &mut Session, text: &str, style: &Style) -> i32 {
    let statements = match crate::query::parse(text) {
        Ok(statements) => statements,
        Err(err) => {
            eprint!("{}", err.render(text, None));
            return EXIT_FAILED;
        }
    };
    for statement in &statements {
        match session.run_durably(statement) {
            // An empty answer in a table for people still says so; machine formats print
            // exactly the data (`[]`, or nothing).
            Ok(out) if style.mode == Mode::Table && render::row_count(&out) == Some(0) => {
                outln!("0 rows")
            }
            Ok(out) => out!("{}", render::render(&out, style)),
            Err(err) => {
                eprintln!("error: {err}");
                if let Ok(true) = session.roll_back_open() {
                    eprintln!("rolled back the open transaction");
                }
                return EXIT_FAILED;
            }
        }
        for warning in session.warnings() {
            eprintln!("warning: {warning}");
        }
    }
    match session.roll_back_open() {
        Ok(false) => EXIT_OK,
        Ok(true) => {
            eprintln!(
                "error: the statements ended with a transaction open (`begin` without `commit`): \
                 it was rolled back"
            );
            EXIT_FAILED
        }
        Err(err) => {
            eprintln!("error: {err}");
            EXIT_FAILED
        }
    }
}
