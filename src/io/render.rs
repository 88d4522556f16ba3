//! Printing statement outputs for people and programs: the modes of the REPL's `.mode`, the
//! CLI's `--format`, and the scripts' expected blocks.
//!
//! - `table`: aligned columns (the union of the rows' top-level fields, in order of first
//!   appearance), nested values as compact JSON, long values cut with `…` to fit a width;
//!   `count ... by` gets a bar chart column.
//! - `json`: one JSON array of the rows (a `count` is its bare number).
//! - `ndjson`: one compact JSON row per line.
//! - `csv`: a header of the top-level fields, then the rows; nested values as JSON, null and
//!   missing values as empty cells.
//! - `line`: each row as `field = value` lines, rows separated by a blank line.
//!
//! Messages (`inserted 3 documents`) and plans print as text in every mode.

use std::fmt;
use std::str::FromStr;

use crate::query::Output;
use crate::value::Value;

/// How rows are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON array.
    Json,
    /// One JSON document per line.
    Ndjson,
    /// Comma-separated values with a header.
    Csv,
    /// `field = value` lines.
    Line,
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(text: &str) -> Result<Mode, String> {
        match text.to_ascii_lowercase().as_str() {
            "table" => Ok(Mode::Table),
            "json" => Ok(Mode::Json),
            "ndjson" | "jsonl" => Ok(Mode::Ndjson),
            "csv" => Ok(Mode::Csv),
            "line" => Ok(Mode::Line),
            other => Err(format!(
                "unknown output mode `{other}`: use table, json, ndjson, csv or line"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Table => "table",
            Mode::Json => "json",
            Mode::Ndjson => "ndjson",
            Mode::Csv => "csv",
            Mode::Line => "line",
        })
    }
}

/// Draws rows as a table for people: the rows, the width to fit (none: no limit) and whether
/// to add a bar chart column for `count by`. The `quarry` command supplies one
/// (`cli` feature); without it, table mode prints as line mode.
pub type DrawTable = fn(rows: &[Value], width: Option<u16>, bars: bool) -> String;

/// Settings for printing.
#[derive(Clone, Debug, Default)]
pub struct Style {
    /// The mode.
    pub mode: Mode,
    /// The terminal width tables must fit, if any (none: no limit, as in scripts).
    pub width: Option<u16>,
    /// How tables are drawn; `None`: as line mode.
    pub draw_table: Option<DrawTable>,
}

/// The text of an output in a style; ends with a newline unless empty.
///
/// ```
/// use quarry::render::{render, Mode, Style};
/// let db = quarry::Db::temporary()?;
/// let out = db.execute("insert into t [{a: 1, b: 'x'}, {a: 2}]; from t")?;
/// let csv = render(&out[1], &Style { mode: Mode::Csv, ..Style::default() });
/// assert_eq!(csv, "_id,a,b\n1,1,x\n2,2,\n");
/// let json = render(&out[1], &Style { mode: Mode::Ndjson, ..Style::default() });
/// assert_eq!(json, "{\"_id\":1,\"a\":1,\"b\":\"x\"}\n{\"_id\":2,\"a\":2}\n");
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn render(output: &Output, style: &Style) -> String {
    match output {
        Output::Rows(rows) => render_rows(rows, style, false),
        Output::Groups(rows) => render_rows(rows, style, true),
        Output::Count(n) => format!("{n}\n"),
        other => other.to_string(),
    }
}

/// How many rows an output holds, for the REPL's footer (`None` for messages).
pub fn row_count(output: &Output) -> Option<usize> {
    match output {
        Output::Rows(rows) | Output::Groups(rows) => Some(rows.len()),
        _ => None,
    }
}

fn render_rows(rows: &[Value], style: &Style, bars: bool) -> String {
    match style.mode {
        Mode::Table => match style.draw_table {
            Some(draw) => draw(rows, style.width, bars),
            None => lines(rows),
        },
        Mode::Json => {
            let mut text = serde_json::to_string_pretty(rows).unwrap_or_default();
            text.push('\n');
            text
        }
        Mode::Ndjson => rows.iter().map(|r| format!("{r}\n")).collect(),
        Mode::Csv => csv(rows),
        Mode::Line => lines(rows),
    }
}

/// The union of the rows' top-level field names, in order of first appearance.
pub fn columns(rows: &[Value]) -> Vec<String> {
    let mut columns: indexmap::IndexSet<String> = indexmap::IndexSet::new();
    for row in rows {
        if let Value::Object(fields) = row {
            columns.extend(fields.keys().map(|k| k.to_string()));
        }
    }
    columns.into_iter().collect()
}

/// A value as a cell: strings bare, everything else as compact JSON, missing as empty.
pub fn cell_text(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn csv(rows: &[Value]) -> String {
    let columns = columns(rows);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |record: Vec<String>| writer.write_record(&record).is_ok();
    if !columns.is_empty() && write(columns.clone()) {
        for row in rows {
            // Null is an empty cell, as the CSV importer reads it.
            write(
                columns
                    .iter()
                    .map(|c| match row.get(c) {
                        Some(Value::Null) => String::new(),
                        other => cell_text(other),
                    })
                    .collect(),
            );
        }
    }
    writer
        .into_inner()
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

fn lines(rows: &[Value]) -> String {
    let columns = columns(rows);
    let width = columns.iter().map(|c| c.chars().count()).max().unwrap_or(0);
    let mut text = String::new();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        for column in &columns {
            if let Some(value) = row.get(column) {
                text.push_str(&format!("{column:>width$} = {}\n", cell_text(Some(value))));
            }
        }
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The rows of a JSON array, for tests of the output modes.
    pub(crate) fn rows(json: serde_json::Value) -> Vec<Value> {
        match Value::try_from(json).unwrap() {
            Value::Array(items) => items,
            _ => unreachable!(),
        }
    }

    #[test]
    fn line_mode_aligns_field_names() {
        let text = lines(&rows(serde_json::json!([{"a": 1, "long": "x"}, {"a": 2}])));
        assert_eq!(text, "   a = 1\nlong = x\n\n   a = 2\n");
    }

    #[test]
    fn modes_parse_from_their_names() {
        assert_eq!("JSON".parse::<Mode>().unwrap(), Mode::Json);
        assert!("xml".parse::<Mode>().is_err());
    }
}
