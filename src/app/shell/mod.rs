//! The interactive shell: a line editor (rustyline) with history, completion, highlighting
//! and hints; statements continue on `...> ` lines until complete; dot-commands; results as
//! tables fitted to the terminal with a `12 rows (0.8 ms)` footer.

pub mod dot;
pub mod helper;

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use rustyline::Editor;
use rustyline::config::{ColorMode, CompletionType, Config, EditMode};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;

use crate::error::{Error, Result};
use crate::io::render::{self, Mode, Style};
use crate::query::Interrupt;
use crate::query::{Output, Session};
use crate::text::snippet::Marks;
use dot::Dot;
use helper::ReplHelper;

/// Documents sampled per collection for field-path completion.
const FIELD_SAMPLE: usize = 1000;
/// A collection's field paths, and the values each holds as literals.
type FieldNames = (Vec<String>, BTreeMap<String, Vec<String>>);

/// The most values of one field completion offers.
const VALUES_PER_FIELD: usize = 50;

/// Where history is kept: `$QUARRY_HISTORY`, else the user's data directory.
fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("QUARRY_HISTORY") {
        return Some(PathBuf::from(path));
    }
    let dir = dirs::data_dir()?.join("quarry");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history.txt"))
}

/// Where bold type starts and ends on a terminal (ANSI SGR 1 and 22).
const BOLD: &str = "\x1b[1m";
const NOT_BOLD: &str = "\x1b[22m";

/// Whether to use colour: a terminal, and no `NO_COLOR`.
fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// The shell's state between statements.
struct Shell<'a> {
    session: &'a mut Session,
    name: String,
    mode: Mode,
    /// Whether output goes to a terminal that takes colour (then `snippet()` marks in bold).
    color: bool,
    timer: bool,
    /// Field paths and their values, per collection, for completion (cleared by writes).
    fields: HashMap<String, FieldNames>,
    interrupt: Interrupt,
}

/// Runs the shell on a session until the user leaves; returns the exit code. The prompt
/// names the database file (`news.db:articles> `).
pub fn run(session: &mut Session) -> Result<i32> {
    let name = session
        .db()
        .path()
        .file_name()
        .map_or_else(|| "quarry".to_owned(), |n| n.to_string_lossy().into_owned());
    run_named(session, &name)
}

/// Runs the shell with `name` in the prompt.
pub fn run_named(session: &mut Session, name: &str) -> Result<i32> {
    let color = color_wanted();
    let config = Config::builder()
        .history_ignore_dups(true)
        .map_err(|e| Error::Storage(e.to_string()))?
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .edit_mode(EditMode::Emacs)
        .color_mode(if color {
            ColorMode::Enabled
        } else {
            ColorMode::Disabled
        })
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> =
        Editor::with_config(config).map_err(|e| Error::Storage(e.to_string()))?;
    editor.set_helper(Some(ReplHelper::new(color)));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    // Ctrl-C while a statement runs stops it; while typing, the editor handles it.
    let interrupt = crate::app::interrupt_on_ctrl_c();
    session.set_interrupt(Some(interrupt.clone()));
    let mut shell = Shell {
        session,
        name: name.to_owned(),
        mode: Mode::Table,
        color,
        timer: true,
        fields: HashMap::new(),
        interrupt,
    };
    shell.mark_snippets();
    let code = shell.run(&mut editor, history.as_ref());
    shell.session.set_interrupt(None);
    if shell.session.roll_back_open()? {
        eprintln!("rolled back the open transaction: its writes were not kept");
    }
    code
}

impl Shell<'_> {
    /// `news.db:articles> `, with a `*` before the `>` while a transaction is open.
    fn prompt(&self) -> String {
        let open = if self.session.in_transaction() {
            "*"
        } else {
            ""
        };
        match self.session.current() {
            Some(collection) => format!("{}:{collection}{open}> ", self.name),
            None => format!("{}{open}> ", self.name),
        }
    }

    /// Refreshes what completion offers.
    fn refresh_names(&mut self, editor: &mut Editor<ReplHelper, FileHistory>) {
        let db = self.session.db().clone();
        let collections = db.collections();
        let indexes = db
            .indexes()
            .map(|i| i.into_iter().map(|d| d.name).collect())
            .unwrap_or_default();
        let current =
            self.session
                .current()
                .map(str::to_owned)
                .or_else(|| match collections.as_slice() {
                    [only] => Some(only.clone()),
                    _ => None,
                });
        let (fields, values) = match &current {
            Some(name) => self
                .fields
                .entry(name.clone())
                .or_insert_with(|| {
                    let Some(collection) = db.get_collection(name) else {
                        return Default::default();
                    };
                    let fields = crate::query::fields::field_paths(&collection, FIELD_SAMPLE)
                        .unwrap_or_default();
                    let values = crate::query::fields::field_values(
                        &collection,
                        FIELD_SAMPLE,
                        VALUES_PER_FIELD,
                    )
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(path, values)| (path, values.iter().map(ToString::to_string).collect()))
                    .collect();
                    (fields, values)
                })
                .clone(),
            None => Default::default(),
        };
        if let Some(helper) = editor.helper_mut() {
            helper.names.collections = collections;
            helper.names.indexes = indexes;
            helper.names.fields = fields;
            helper.names.values = values;
        }
    }

    fn run(
        &mut self,
        editor: &mut Editor<ReplHelper, FileHistory>,
        history: Option<&PathBuf>,
    ) -> Result<i32> {
        loop {
            self.refresh_names(editor);
            let Some(text) = self.read_entry(editor)? else {
                return Ok(crate::app::EXIT_OK);
            };
            let trimmed = text.trim();
            if trimmed.is_empty() {
                continue;
            }
            let _ = editor.add_history_entry(trimmed);
            if let Some(path) = history {
                let _ = editor.save_history(path);
            }
            if trimmed.starts_with('.') {
                match dot::parse(trimmed) {
                    Ok(Dot::Quit) => return Ok(crate::app::EXIT_OK),
                    Ok(command) => self.dot(command),
                    Err(message) => eprintln!("error: {message}"),
                }
                continue;
            }
            self.execute(trimmed);
        }
    }

    /// Reads one entry: a dot-command line, or lines until the statement is complete.
    /// `None` at end of input (Ctrl-D on an empty line).
    fn read_entry(
        &mut self,
        editor: &mut Editor<ReplHelper, FileHistory>,
    ) -> Result<Option<String>> {
        let mut text = String::new();
        loop {
            let prompt = if text.is_empty() {
                self.prompt()
            } else {
                "...> ".to_owned()
            };
            match editor.readline(&prompt) {
                Ok(line) => {
                    if text.is_empty() && line.trim_start().starts_with('.') {
                        return Ok(Some(line));
                    }
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&line);
                    if !crate::query::is_incomplete(&text) {
                        return Ok(Some(text));
                    }
                }
                // Ctrl-C clears what was typed, including earlier lines of the statement.
                Err(ReadlineError::Interrupted) => {
                    text.clear();
                }
                Err(ReadlineError::Eof) => {
                    if text.is_empty() {
                        return Ok(None);
                    }
                    // Ctrl-D inside a statement runs it as it is (and reports its error).
                    return Ok(Some(text));
                }
                Err(err) => return Err(Error::Io(std::io::Error::other(err.to_string()))),
            }
        }
    }

    /// Marks `snippet()` matches in bold where people read the output (tables and lines on a
    /// colour terminal), with `[ ]` elsewhere.
    fn mark_snippets(&mut self) {
        let marks = match self.color && matches!(self.mode, Mode::Table | Mode::Line) {
            true => Marks {
                open: BOLD.into(),
                close: NOT_BOLD.into(),
                ..Marks::default()
            },
            false => Marks::default(),
        };
        self.session.set_snippet_marks(marks);
    }

    fn style(&self) -> Style {
        Style {
            mode: self.mode,
            width: if self.mode == Mode::Table {
                terminal_width()
            } else {
                None
            },
            draw_table: Some(crate::app::table::draw),
        }
    }

    /// Runs statements, printing each result, its footer and any error.
    fn execute(&mut self, text: &str) {
        let statements = match crate::query::parse(text) {
            Ok(statements) => statements,
            Err(err) => {
                eprint!("{}", err.render(text, None));
                return;
            }
        };
        for statement in &statements {
            self.interrupt.clear();
            let started = Instant::now();
            let result = self.session.run_durably(statement);
            let elapsed = started.elapsed();
            match result {
                Ok(out) => {
                    if matches!(out, Output::Changed { .. } | Output::Done(_)) {
                        self.fields.clear();
                    }
                    if !self.print_until_interrupted(&render::render(&out, &self.style())) {
                        eprintln!("interrupted");
                        return;
                    }
                    let time = if self.timer {
                        format!(" ({:.1} ms)", elapsed.as_secs_f64() * 1e3)
                    } else {
                        String::new()
                    };
                    // The footer is for people: in machine formats it goes to stderr, so that
                    // the output can be redirected as it is.
                    let for_people = matches!(self.mode, Mode::Table | Mode::Line);
                    let footer = match render::row_count(&out) {
                        Some(rows) => Some(format!(
                            "{rows} row{}{time}",
                            if rows == 1 { "" } else { "s" }
                        )),
                        None if self.timer => {
                            Some(format!("({:.1} ms)", elapsed.as_secs_f64() * 1e3))
                        }
                        None => None,
                    };
                    match footer {
                        Some(footer) if for_people => println!("{footer}"),
                        Some(footer) => eprintln!("{footer}"),
                        None => {}
                    }
                    for warning in self.session.warnings() {
                        eprintln!("warning: {warning}");
                    }
                }
                Err(Error::Interrupted) => {
                    eprintln!("interrupted");
                    return;
                }
                Err(err) => {
                    eprintln!("error: {err}");
                    return;
                }
            }
        }
    }

    /// Prints `text` a few lines at a time, stopping within a moment once Ctrl-C raises the
    /// interrupt; whether it printed everything.
    fn print_until_interrupted(&self, text: &str) -> bool {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for chunk in text.split_inclusive('\n').collect::<Vec<_>>().chunks(64) {
            if self.interrupt.is_raised() {
                let _ = out.flush();
                return false;
            }
            for line in chunk {
                if out.write_all(line.as_bytes()).is_err() {
                    return false;
                }
            }
        }
        let _ = out.flush();
        true
    }

    fn dot(&mut self, command: Dot) {
        match command {
            Dot::Help => println!("{}", dot::HELP),
            Dot::HelpFunctions => println!("{}", dot::FUNCTIONS),
            Dot::Mode(mode) => {
                self.mode = mode;
                self.mark_snippets();
            }
            Dot::Timer(on) => self.timer = on,
            Dot::Read(file) => {
                let mode = self.mode;
                let mut runner = crate::io::script::Runner::printing(self.session)
                    .with_tables(Some(crate::app::table::draw))
                    .with_mode(mode);
                if let Err(stopped) = runner.run_file(std::path::Path::new(&file)) {
                    eprintln!("{}: {}", stopped.place, stopped.message);
                }
                self.fields.clear();
            }
            Dot::Statement(text) => self.execute(&text),
            Dot::Param(command) => print!(
                "{}",
                crate::io::script::apply_param(self.session.params_mut(), command)
            ),
            Dot::Quit => {}
        }
    }
}

/// The terminal's width, when stdout is one.
fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    comfy_table::Table::new().width()
}
