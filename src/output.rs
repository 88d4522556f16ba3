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

use comfy_table::{Cell, ContentArrangement, Table, presets};

use crate::query::session::Output;
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

/// Settings for printing.
#[derive(Clone, Debug, Default)]
pub struct Style {
    /// The mode.
    pub mode: Mode,
    /// The terminal width tables must fit, if any (none: no limit, as in scripts).
    pub width: Option<u16>,
}

/// The text of an output in a style; ends with a newline unless empty.
///
/// ```
/// use quarry::output::{render, Mode, Style};
/// let db = quarry::Db::temporary()?;
/// let out = db.execute("insert into t [{a: 1, b: 'x'}, {a: 2}]; from t")?;
/// let csv = render(&out[1], &Style { mode: Mode::Csv, width: None });
/// assert_eq!(csv, "_id,a,b\n1,1,x\n2,2,\n");
/// let json = render(&out[1], &Style { mode: Mode::Ndjson, width: None });
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
        Mode::Table => table(rows, style.width, bars),
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
fn cell_text(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn table(rows: &[Value], width: Option<u16>, bars: bool) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let columns = columns(rows);
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.force_no_tty();
    let max_cell = match width {
        Some(w) => (w as usize / columns.len().max(1)).clamp(12, 80),
        None => 80,
    };
    if let Some(w) = width {
        table.set_width(w);
        table.set_content_arrangement(ContentArrangement::Dynamic);
    }
    let mut header: Vec<Cell> = columns.iter().map(Cell::new).collect();
    let most = rows
        .iter()
        .filter_map(|r| r.get("count").and_then(Value::as_i64))
        .max()
        .unwrap_or(0);
    if bars {
        header.push(Cell::new(""));
    }
    table.set_header(header);
    for row in rows {
        let mut cells: Vec<Cell> = columns
            .iter()
            .map(|c| Cell::new(shorten(&cell_text(row.get(c)), max_cell)))
            .collect();
        if bars {
            let n = row.get("count").and_then(Value::as_i64).unwrap_or(0);
            cells.push(Cell::new(bar(n, most, 20)));
        }
        table.add_row(cells);
    }
    format!("{table}\n")
}

/// A bar of up to `width` blocks for `n` out of `most`.
fn bar(n: i64, most: i64, width: usize) -> String {
    if most <= 0 || n <= 0 {
        return String::new();
    }
    let eighths = (n as f64 / most as f64 * width as f64 * 8.0).round() as usize;
    let mut text = "█".repeat(eighths / 8);
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    text.push_str(PARTS[eighths % 8]);
    if text.is_empty() {
        text.push('▏');
    }
    text
}

/// Cuts text longer than `max` characters, ending it with `…`; newlines become `⏎`.
fn shorten(text: &str, max: usize) -> String {
    let flat = text.replace('\n', "⏎");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
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
mod tests {
    use super::*;

    fn rows(json: serde_json::Value) -> Vec<Value> {
        match Value::try_from(json).unwrap() {
            Value::Array(items) => items,
            _ => unreachable!(),
        }
    }

    #[test]
    fn table_lists_every_field_once_in_order_of_appearance() {
        let text = table(
            &rows(serde_json::json!([{"a": 1, "n": {"x": [1]}}, {"b": "long text"}])),
            None,
            false,
        );
        let header = text.lines().nth(1).unwrap();
        assert!(header.contains('a') && header.contains('n') && header.contains('b'));
        assert!(text.contains(r#"{"x":[1]}"#), "{text}");
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("a\nb", 10), "a⏎b");
    }

    #[test]
    fn groups_get_a_bar_scaled_to_the_largest_count() {
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(0, 10, 4), "");
        let text = table(
            &rows(serde_json::json!([{"org": "A", "count": 4}, {"org": "B", "count": 2}])),
            None,
            true,
        );
        assert!(text.contains("████"), "{text}");
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
