//! Streaming record readers: each yields documents one at a time with their `FILE:LINE`, so
//! memory stays flat whatever the file size.

use std::io::{BufRead, Read};

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};

use crate::path::Path as DocPath;
use crate::value::{Map, Value};

/// One record read from a file: where it was, and the document or what is wrong with it.
pub type Record = (String, Result<Value, String>);

/// Reads NDJSON: one JSON document per line (blank lines skipped).
pub fn ndjson(
    name: &str,
    input: impl BufRead,
    each: &mut dyn FnMut(Record) -> bool,
) -> std::io::Result<()> {
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let place = format!("{name}:{}", i + 1);
        let doc = serde_json::from_str::<Value>(&line).map_err(|e| json_message(&e));
        if !each((place, doc)) {
            break;
        }
    }
    Ok(())
}

fn json_message(err: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the place is reported separately.
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Reads JSON: one object, or an array of documents read element by element.
pub fn json(
    name: &str,
    input: impl Read,
    each: &mut dyn FnMut(Record) -> bool,
) -> std::io::Result<()> {
    let mut reader = std::io::BufReader::new(input);
    let first = loop {
        let buf = reader.fill_buf()?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let b = buf[i];
                reader.consume(i);
                break Some(b);
            }
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let result = if first == Some(b'[') {
        let mut seed = Elements {
            name,
            each,
            index: 0,
            stopped: false,
        };
        (&mut seed).deserialize(&mut deserializer).map(|_| ())
    } else {
        match serde::Deserialize::deserialize(&mut deserializer) {
            Ok(doc) => {
                each((format!("{name}:1"), Ok(doc)));
                Ok(())
            }
            Err(e) => Err(e),
        }
    };
    if let Err(err) = result {
        if err.is_io() {
            return Err(std::io::Error::other(err.to_string()));
        }
        if !err.to_string().contains(STOPPED) {
            each((format!("{name}:{}", err.line()), Err(json_message(&err))));
        }
    }
    Ok(())
}

const STOPPED: &str = "quarry: reading stopped";

/// Hands each element of a top-level array to the callback.
struct Elements<'a, 'f> {
    name: &'a str,
    each: &'f mut dyn FnMut(Record) -> bool,
    index: usize,
    stopped: bool,
}

impl<'de> DeserializeSeed<'de> for &mut Elements<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for &mut Elements<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of documents")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(doc) = seq.next_element::<Value>()? {
            self.index += 1;
            let place = format!("{}: element {}", self.name, self.index);
            if !(self.each)((place, Ok(doc))) {
                self.stopped = true;
                return Err(A::Error::custom(STOPPED));
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
        Err(A::Error::custom("expected an array"))
    }
}

/// What a CSV column holds, read from every one of its cells (empty ones aside): a column is
/// typed as a whole, so that one cell that is not a number (or a code with a leading zero, such
/// as `010`) keeps the whole column strings rather than typing each cell on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// No cell holds anything.
    Empty,
    /// Every cell is a number (integers stay integers).
    Number,
    /// Every cell is `true` or `false`.
    Bool,
    /// Every cell is a JSON array or object (as CSV export writes nested values).
    Json,
    /// Anything else: every cell as written.
    String,
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Column::Empty => "empty",
            Column::Number => "number",
            Column::Bool => "bool",
            Column::Json => "json",
            Column::String => "string",
        })
    }
}

impl Column {
    /// The kind of one non-empty cell.
    fn of(cell: &str) -> Column {
        match typed(cell) {
            Value::Int(_) | Value::Float(_) => Column::Number,
            Value::Bool(_) => Column::Bool,
            Value::Array(_) | Value::Object(_) => Column::Json,
            _ => Column::String,
        }
    }

    /// The kind of a column holding cells of both kinds.
    fn with(self, other: Column) -> Column {
        match (self, other) {
            (Column::Empty, kind) | (kind, Column::Empty) => kind,
            (a, b) if a == b => a,
            _ => Column::String,
        }
    }

    /// A non-empty cell of this column as a value.
    fn value(self, cell: &str) -> Value {
        match self {
            Column::String | Column::Empty => Value::String(cell.to_owned()),
            _ => typed(cell),
        }
    }
}

/// How CSV cells become values.
#[derive(Clone, Debug, Default)]
pub struct CsvTypes {
    /// Each column's kind ([`csv_columns`]); `None` keeps every cell a string.
    pub columns: Option<Vec<Column>>,
    /// An empty cell is null; by default it is a missing field, so that a CSV export (which
    /// writes every column for every row) reads back with the same fields.
    pub empty_as_null: bool,
}

/// The header and the kind of each column of a CSV text: the first of the two readings an
/// import makes. Records that do not read are left to the second reading to report.
///
/// ```
/// use quarry::internals::read::{Column, csv_columns};
/// let text = "name,ccn3,area,tags\nFrance,250,551695,[\"eu\"]\nAntarctica,010,,[]\n";
/// let (headers, columns) = csv_columns(text.as_bytes()).unwrap();
/// assert_eq!(headers, ["name", "ccn3", "area", "tags"]);
/// assert_eq!(columns, [Column::String, Column::String, Column::Number, Column::Json]);
/// ```
pub fn csv_columns(input: impl Read) -> std::io::Result<(Vec<String>, Vec<Column>)> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers: Vec<String> = match reader.headers() {
        Ok(headers) => headers.iter().map(str::to_owned).collect(),
        Err(_) => return Ok((Vec::new(), Vec::new())),
    };
    let mut columns = vec![Column::Empty; headers.len()];
    for record in reader.records().flatten() {
        for (column, cell) in columns.iter_mut().zip(record.iter()) {
            if !cell.is_empty() && *column != Column::String {
                *column = column.with(Column::of(cell));
            }
        }
    }
    Ok((headers, columns))
}

/// Reads CSV: the header row names the fields (dotted names make nested objects); each column
/// is typed as `types` says, and an empty cell is a missing field (or null, if asked).
pub fn csv(
    name: &str,
    input: impl Read,
    types: &CsvTypes,
    each: &mut dyn FnMut(Record) -> bool,
) -> std::io::Result<()> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers: Vec<DocPath> = match reader.headers() {
        Ok(headers) => headers
            .iter()
            .map(|h| h.parse().unwrap_or_else(|_| DocPath::field(h)))
            .collect(),
        Err(err) => {
            each((format!("{name}:1"), Err(err.to_string())));
            return Ok(());
        }
    };
    for record in reader.records() {
        let (line, doc) = match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let mut doc = Value::Object(Map::default());
                let mut problem = None;
                for (i, (path, cell)) in headers.iter().zip(record.iter()).enumerate() {
                    let value = match (cell, &types.columns) {
                        ("", _) if types.empty_as_null => Value::Null,
                        ("", _) => continue,
                        (cell, Some(columns)) => columns
                            .get(i)
                            .copied()
                            .unwrap_or(Column::String)
                            .value(cell),
                        (cell, None) => Value::String(cell.to_owned()),
                    };
                    if let Err(err) = path.set(&mut doc, value) {
                        problem = Some(err.to_string());
                    }
                }
                (line, problem.map_or(Ok(doc), Err))
            }
            Err(err) => (err.position().map_or(0, |p| p.line()), Err(err.to_string())),
        };
        if !each((format!("{name}:{line}"), doc)) {
            break;
        }
    }
    Ok(())
}

/// A CSV cell as the value it looks like on its own: numbers, `true`/`false`, empty as null,
/// and JSON arrays and objects (as CSV export writes them); anything else is a string. An
/// import types whole columns ([`Column`]), not cells.
///
/// ```
/// use quarry::{internals::read::typed, Value};
/// assert_eq!(typed("42"), Value::Int(42));
/// assert_eq!(typed("2.5"), Value::Float(2.5));
/// assert_eq!(typed("true"), Value::Bool(true));
/// assert_eq!(typed(""), Value::Null);
/// assert_eq!(typed("007"), Value::from("007"));
/// assert_eq!(typed("[1,\"a\"]").to_string(), "[1,\"a\"]");
/// assert_eq!(typed("[not json"), Value::from("[not json"));
/// ```
pub fn typed(cell: &str) -> Value {
    if (cell.starts_with('[') || cell.starts_with('{'))
        && let Ok(value) = serde_json::from_str::<Value>(cell)
    {
        return value;
    }
    match cell {
        "" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ if looks_like_a_number(cell) => cell
            .parse::<i64>()
            .map(Value::Int)
            .ok()
            .or_else(|| cell.parse::<f64>().ok().and_then(|f| Value::float(f).ok()))
            .unwrap_or_else(|| Value::from(cell)),
        _ => Value::from(cell),
    }
}

/// Digits with an optional sign, point and exponent; a leading zero (`007`, a postcode) keeps
/// the cell a string.
fn looks_like_a_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let leading_zero = digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.");
    digits.starts_with(|c: char| c.is_ascii_digit())
        && !leading_zero
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || ".eE-+".contains(c))
}
