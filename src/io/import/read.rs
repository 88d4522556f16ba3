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

/// Reads CSV: the header row names the fields (dotted names make nested objects); values
/// are typed (integers, floats, true/false, empty as null) unless `infer` is false.
pub fn csv(
    name: &str,
    input: impl Read,
    infer: bool,
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
                for (path, cell) in headers.iter().zip(record.iter()) {
                    let value = if infer {
                        typed(cell)
                    } else {
                        Value::String(cell.to_owned())
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

/// A CSV cell as the value it looks like: numbers, `true`/`false`, empty as null, and JSON
/// arrays and objects (as CSV export writes them); anything else is a string.
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
