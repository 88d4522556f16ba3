//! Running scripts: each statement's output is rendered as the shell would print it (no
//! colours, no timings) and compared with its expected block.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::render::{self, DrawTable, Mode, Style};
use crate::io::script::parse::{self, Item};
use crate::query::{ParseError, Session};

/// How deeply `.read` may nest.
const MAX_READ_DEPTH: usize = 16;

/// One statement whose output the script states.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("t.qry");
/// std::fs::write(&file, "insert into t {a: 1}\ncount from t\n----\n2\n")?;
/// let report = quarry::script::test_file(&file, None)?;
/// let check = &report.checks[0];
/// assert_eq!((check.line, check.passed()), (2, false));
/// assert!(check.diff().contains("- 2\n+ 1"), "{}", check.diff());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The script file.
    pub file: PathBuf,
    /// The statement's first line.
    pub line: usize,
    /// The statement text.
    pub statement: String,
    /// What the script says it prints.
    pub expected: Vec<String>,
    /// What it printed.
    pub actual: Vec<String>,
    /// Lines (0-based, end exclusive) of the expected block, for `--update`.
    pub span: std::ops::Range<usize>,
}

impl Check {
    /// Whether the output is as expected.
    pub fn passed(&self) -> bool {
        self.expected == self.actual
    }

    /// The mismatch as a diff, headed by `FILE:LINE` and the statement.
    pub fn diff(&self) -> String {
        let expected = self.expected.join("\n") + "\n";
        let actual = self.actual.join("\n") + "\n";
        let diff = similar::TextDiff::from_lines(&expected, &actual);
        let mut text = format!(
            "{}:{}: output differs for:\n  {}\n--- expected\n+++ actual\n",
            self.file.display(),
            self.line,
            self.statement.replace('\n', "\n  ")
        );
        for change in diff.iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            text.push_str(&format!("{sign} {}", change.value()));
        }
        text
    }
}

/// What running scripts found: every check, passed or not.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("t.qry");
/// std::fs::write(&file, "count from t\n----\n0\n\ninsert into t {a: 1}\n----\ninserted 1 document\nwarning: created collection `t`\n")?;
/// let report = quarry::script::test_file(&file, None)?;
/// assert_eq!(report.summary(), "1 passed, 1 failed"); // `count` of a missing collection errs
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Every statement that had an expected block, in order.
    pub checks: Vec<Check>,
}

impl Report {
    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed()).count()
    }

    /// The checks that failed.
    pub fn failures(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.passed()).collect()
    }

    /// `N passed, M failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failures().len())
    }
}

/// Runs scripts against one session, tracking the output mode.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("t.qry");
/// std::fs::write(&file, "insert into t {a: 1}\n.mode json\nfrom t\n----\n[\n  {\n    \"_id\": 1,\n    \"a\": 1\n  }\n]\n")?;
/// let mut session = quarry::query::Session::new(quarry::Db::temporary()?);
/// let mut runner = quarry::script::Runner::checking(&mut session);
/// runner.run_file(&file).map_err(|stopped| quarry::Error::Query(stopped.message))?;
/// assert_eq!(runner.into_report().summary(), "1 passed, 0 failed");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runner<'a> {
    session: &'a mut Session,
    style: Style,
    /// Stop at the first statement that fails (for `quarry run`).
    stop_on_error: bool,
    /// Print each statement's output as it runs (for `quarry run`).
    echo: bool,
    depth: usize,
    report: Report,
}

/// A statement that failed while running with `stop_on_error`.
#[derive(Debug)]
pub struct Stopped {
    /// `FILE:LINE`.
    pub place: String,
    /// The error as printed.
    pub message: String,
    /// The output's reader went away (a closed pipe): the run stopped, and nothing is wrong.
    pub output_closed: bool,
}

impl<'a> Runner<'a> {
    /// A runner that checks expected blocks and goes on after errors (`quarry test`).
    pub fn checking(session: &'a mut Session) -> Runner<'a> {
        Runner {
            session,
            style: Style::default(),
            stop_on_error: false,
            echo: false,
            depth: 0,
            report: Report::default(),
        }
    }

    /// A runner that prints outputs and stops at the first error (`quarry run`).
    pub fn printing(session: &'a mut Session) -> Runner<'a> {
        Runner {
            stop_on_error: true,
            echo: true,
            ..Runner::checking(session)
        }
    }

    /// Draws tables with `draw` (without one, table mode prints as line mode).
    pub fn with_tables(mut self, draw: Option<DrawTable>) -> Self {
        self.style.draw_table = draw;
        self
    }

    /// Prints in `mode` (the shell's `.read` keeps the shell's mode).
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.style.mode = mode;
        self
    }

    /// The checks so far.
    pub fn into_report(self) -> Report {
        self.report
    }

    /// Runs a script file. `Err(Stopped)` only with `stop_on_error`; a file that cannot be
    /// read or parsed is also reported as stopped at its line.
    pub fn run_file(&mut self, path: &Path) -> std::result::Result<(), Stopped> {
        let place = |line: usize| format!("{}:{line}", path.display());
        // A file that cannot be read has no line to point at: its path alone is the place.
        let text = std::fs::read_to_string(path).map_err(|e| Stopped {
            place: path.display().to_string(),
            message: format!("error: cannot read the file: {e}"),
            output_closed: false,
        })?;
        let items = parse::parse(&text).map_err(|e| Stopped {
            place: place(e.line),
            message: format!("error: {}", e.message),
            output_closed: false,
        })?;
        let previous = self.session_base(path);
        let was_open = self.session.in_transaction();
        let result = self.run_items(path, &text, items);
        self.session.set_base_dir(previous);
        result?;
        // A transaction the script opened (not a file it reads, nor the shell that reads it)
        // ends with it.
        if self.depth == 0 && !was_open {
            let rolled_back = self.session.roll_back_open().map_err(|e| Stopped {
                place: place(text.lines().count()),
                message: format!("error: {e}"),
                output_closed: false,
            })?;
            if rolled_back {
                return Err(Stopped {
                    place: place(text.lines().count()),
                    message: "error: the script ended with a transaction open (`begin` without \
                              `commit`): it was rolled back"
                        .into(),
                    output_closed: false,
                });
            }
        }
        Ok(())
    }

    fn session_base(&mut self, path: &Path) -> Option<PathBuf> {
        let dir = path.parent().map(Path::to_path_buf);
        let previous = self.session.base_dir().map(Path::to_path_buf);
        self.session.set_base_dir(dir);
        previous
    }

    fn run_items(
        &mut self,
        path: &Path,
        text: &str,
        items: Vec<Item>,
    ) -> std::result::Result<(), Stopped> {
        for item in items {
            match item {
                Item::Dot {
                    command,
                    args,
                    line,
                    expected,
                } => {
                    let output = match self.dot(path, &command, &args) {
                        Ok(output) => output,
                        Err(message) => {
                            let message = format!("error: {message}");
                            if self.stop_on_error {
                                return Err(Stopped {
                                    place: format!("{}:{line}", path.display()),
                                    message,
                                    output_closed: false,
                                });
                            }
                            message
                        }
                    };
                    if self.echo && !output.is_empty() {
                        use std::io::Write;
                        let _ = std::io::stdout().lock().write_all(output.as_bytes());
                    }
                    if let Some(expected) = expected {
                        self.report.checks.push(Check {
                            file: path.to_path_buf(),
                            line,
                            statement: format!(".{command} {}", args.join(" "))
                                .trim_end()
                                .to_owned(),
                            expected: expected.lines,
                            actual: output_lines(&output),
                            span: expected.span,
                        });
                    }
                }
                Item::Statement {
                    text: statement,
                    line,
                    expected,
                } => {
                    let (output, failed) = self.statement(path, text, &statement, line);
                    if self.echo && !failed {
                        use std::io::Write;
                        if let Err(err) = std::io::stdout().lock().write_all(output.as_bytes()) {
                            return Err(Stopped {
                                place: format!("{}:{line}", path.display()),
                                output_closed: err.kind() == std::io::ErrorKind::BrokenPipe,
                                message: format!("cannot write the output: {err}"),
                            });
                        }
                    }
                    if failed && self.stop_on_error {
                        return Err(Stopped {
                            place: format!("{}:{line}", path.display()),
                            message: output.trim_end().to_owned(),
                            output_closed: false,
                        });
                    }
                    if let Some(expected) = expected {
                        self.report.checks.push(Check {
                            file: path.to_path_buf(),
                            line,
                            statement,
                            expected: expected.lines,
                            actual: output_lines(&output),
                            span: expected.span,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs one entry; returns what it printed (errors as `error: ...` lines) and whether it
    /// failed.
    fn statement(&mut self, path: &Path, script: &str, text: &str, line: usize) -> (String, bool) {
        let statements = match crate::query::parse(text) {
            Ok(statements) => statements,
            Err(err) => return (render_parse_error(&err, path, script, line), true),
        };
        let mut out = String::new();
        for statement in &statements {
            let result = if self.echo {
                // `quarry run`: what it prints as done is on disk.
                self.session.run_durably(statement)
            } else {
                self.session.run(statement)
            };
            match result {
                Ok(result) => {
                    out.push_str(&render::render(&result, &self.style));
                    // Checked beside the output; `quarry run` prints them on stderr.
                    for warning in self.session.warnings() {
                        if self.echo {
                            eprintln!("warning: {warning}");
                        } else {
                            out.push_str(&format!("warning: {warning}\n"));
                        }
                    }
                }
                Err(err) => {
                    out.push_str(&format!("error: {err}\n"));
                    return (out, true);
                }
            }
        }
        (out, false)
    }

    /// `.mode M`, `.param set NAME VALUE` / `.param clear`, `.read FILE`.
    fn dot(
        &mut self,
        path: &Path,
        command: &str,
        args: &[String],
    ) -> std::result::Result<String, String> {
        match (command, args) {
            ("mode", [mode]) => {
                self.style.mode = mode.parse()?;
                Ok(String::new())
            }
            ("param", args) => {
                let words: Vec<&str> = args.iter().map(String::as_str).collect();
                let command = super::param::parse_param(&words)?;
                Ok(super::param::apply_param(
                    self.session.params_mut(),
                    command,
                ))
            }
            ("read", [file]) => {
                if self.depth >= MAX_READ_DEPTH {
                    return Err(format!("`.read` nested more than {MAX_READ_DEPTH} deep"));
                }
                let target = path.parent().unwrap_or(Path::new(".")).join(file);
                self.depth += 1;
                let result = self.run_file(&target);
                self.depth -= 1;
                result
                    .map(|()| String::new())
                    .map_err(|stopped| format!("{} ({})", stopped.message, stopped.place))
            }
            _ => Err(format!(
                "unknown dot-command `.{command}{}` (scripts know .mode, .param set|unset|list|clear, .read)",
                args.iter().map(|a| format!(" {a}")).collect::<String>()
            )),
        }
    }
}

/// A parse error shown at its place in the script: `--> file.qry:LINE:COL`.
fn render_parse_error(err: &ParseError, path: &Path, script: &str, line: usize) -> String {
    let mut moved = err.clone();
    moved.line += line - 1;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    moved.render(script, Some(&name))
}

/// Output text as lines, without trailing spaces or trailing empty lines.
fn output_lines(output: &str) -> Vec<String> {
    let mut lines: Vec<String> = output.lines().map(|l| l.trim_end().to_owned()).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Rewrites the expected blocks of `file` with the actual outputs of its checks, keeping
/// everything else (comments, layout) as it was.
pub fn update_file(file: &Path, checks: &[&Check]) -> Result<()> {
    let text = std::fs::read_to_string(file)?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut checks: Vec<&&Check> = checks.iter().filter(|c| c.file == file).collect();
    checks.sort_by_key(|c| std::cmp::Reverse(c.span.start));
    for check in checks {
        let replacement = check.actual.iter().map(|l| {
            if l.is_empty() {
                "~".to_owned()
            } else {
                l.clone()
            }
        });
        if check.span.end > lines.len() || check.span.start > check.span.end {
            return Err(Error::Query(format!(
                "{}: the file changed while it ran",
                file.display()
            )));
        }
        lines.splice(check.span.clone(), replacement);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(file, text)?;
    Ok(())
}
