//! Writing a collection (or the documents matching a condition) out as NDJSON, JSON, CSV or a
//! PostgreSQL script, streaming: documents are read and written one at a time.

use std::io::Write;

use crate::error::{Error, Result};
use crate::io::sql::PgTarget;
use crate::store::Db;
use crate::value::Value;

/// The formats documents can be written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One compact JSON document per line.
    Ndjson,
    /// One JSON array, a document per line.
    Json,
    /// A header of the fields, then a row per document: nested objects become dotted columns
    /// (`address.city`, as the CSV importer reads them back), arrays are JSON, null and
    /// missing values are empty cells.
    Csv,
    /// A script `psql -f` loads into PostgreSQL: a table `(id bigint primary key, doc jsonb
    /// not null)` in the schema and under the name [`PgTarget`] gives, the documents by
    /// `COPY`, and an id sequence that continues from the collection's next id.
    Postgres,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "ndjson" | "jsonl" => Ok(ExportFormat::Ndjson),
            "json" => Ok(ExportFormat::Json),
            "csv" => Ok(ExportFormat::Csv),
            "postgres" | "postgresql" => Ok(ExportFormat::Postgres),
            other => Err(format!(
                "unknown export format `{other}`: use ndjson, json, csv or postgres"
            )),
        }
    }
}

/// Writes the documents of `collection` matching `filter` (a condition, as after `where`)
/// to `out`, in id order, each with its `_id`. Returns how many were written.
///
/// ```
/// use quarry::export::{export, ExportFormat};
/// let db = quarry::Db::temporary()?;
/// db.execute("insert into t [{a: 1}, {a: 2}]")?;
/// let mut out = Vec::new();
/// assert_eq!(export(&db, "t", ExportFormat::Ndjson, Some("a > 1"), &mut out)?, 1);
/// assert_eq!(String::from_utf8(out).unwrap(), "{\"_id\":2,\"a\":2}\n");
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn export(
    db: &Db,
    collection: &str,
    format: ExportFormat,
    filter: Option<&str>,
    out: &mut dyn Write,
) -> Result<u64> {
    export_to(db, collection, format, filter, &PgTarget::default(), out)
}

/// [`export`], with where a PostgreSQL export goes.
///
/// ```
/// use quarry::export::{export_to, ExportFormat, PgTarget};
/// let db = quarry::Db::temporary()?;
/// db.execute(r"insert into t [{a: 'x\\y'}, {a: 2}]")?;
/// let target = PgTarget { schema: Some("news".into()), table: Some("items".into()) };
/// let mut out = Vec::new();
/// assert_eq!(export_to(&db, "t", ExportFormat::Postgres, None, &target, &mut out)?, 2);
/// let script = String::from_utf8(out).unwrap();
/// assert!(script.contains(r#"create table "news"."items" (id bigint primary key, doc jsonb not null);"#));
/// // COPY's text format doubles the backslash that JSON already doubled.
/// assert!(script.contains("1\t{\"a\":\"x\\\\\\\\y\"}"));
/// assert!(script.contains("start with 3"));
/// # Ok::<(), quarry::Error>(())
/// ```
pub fn export_to(
    db: &Db,
    collection: &str,
    format: ExportFormat,
    filter: Option<&str>,
    target: &PgTarget,
    out: &mut dyn Write,
) -> Result<u64> {
    db.contain_damage(|| {
        let Some(handle) = db.get_collection(collection) else {
            return Err(Error::NotFound(format!(
                "collection `{collection}` not found"
            )));
        };
        let query = match filter {
            Some(condition) => format!("from {collection} where {condition}"),
            None => format!("from {collection}"),
        };
        let mut count = 0u64;
        match format {
            ExportFormat::Ndjson => {
                for row in db.query(&query)? {
                    writeln!(out, "{}", row?)?;
                    count += 1;
                }
            }
            ExportFormat::Json => {
                write!(out, "[")?;
                for row in db.query(&query)? {
                    write!(out, "{}\n{}", if count == 0 { "" } else { "," }, row?)?;
                    count += 1;
                }
                writeln!(out, "{}]", if count == 0 { "" } else { "\n" })?;
            }
            ExportFormat::Csv => {
                // Two passes keep memory flat: the header needs every field first, and which
                // objects are maps (one JSON column each) rather than records (a column per field).
                let mut objects = Objects::default();
                for row in db.query(&query)? {
                    objects.add(&row?, "");
                }
                let maps = objects.maps();
                let mut columns: indexmap::IndexSet<String> = indexmap::IndexSet::new();
                for row in db.query(&query)? {
                    columns.extend(flatten(&row?, &maps).into_keys());
                }
                let mut writer = csv::Writer::from_writer(out);
                let csv_error = |e: csv::Error| Error::Io(std::io::Error::other(e.to_string()));
                if !columns.is_empty() {
                    writer.write_record(columns.iter()).map_err(csv_error)?;
                }
                for row in db.query(&query)? {
                    let cells = flatten(&row?, &maps);
                    let cells = columns.iter().map(|c| match cells.get(c) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                    });
                    writer.write_record(cells).map_err(csv_error)?;
                    count += 1;
                }
                writer.flush()?;
            }
            ExportFormat::Postgres => {
                let schema = crate::io::sql::ident(target.schema.as_deref().unwrap_or("public"));
                let table = target.table.as_deref().unwrap_or(collection);
                let name = format!("{schema}.{}", crate::io::sql::ident(table));
                let sequence = format!(
                    "{schema}.{}",
                    crate::io::sql::ident(&format!("{table}_id_seq"))
                );
                writeln!(
                    out,
                    "-- quarry export of collection `{collection}`: psql -f loads it into an empty database"
                )?;
                writeln!(out, "\\set ON_ERROR_STOP on")?;
                // `create ... if not exists` of what is there already is no news.
                writeln!(out, "set client_min_messages = warning;")?;
                writeln!(out, "begin;")?;
                writeln!(out, "create schema if not exists {schema};")?;
                // The helper functions translated statements use (`quarry::sql::translate`).
                out.write_all(crate::io::sql::HELPERS.as_bytes())?;
                writeln!(
                    out,
                    "create table {name} (id bigint primary key, doc jsonb not null);"
                )?;
                writeln!(out, "copy {name} (id, doc) from stdin;")?;
                let indexes = handle.indexes()?;
                let mut unordered: Vec<String> = Vec::new();
                for row in db.query(&query)? {
                    let mut doc = row?;
                    let id = match &mut doc {
                        Value::Object(fields) => fields.shift_remove("_id"),
                        _ => None,
                    };
                    let Some(Value::Int(id)) = id else {
                        return Err(Error::Storage("a document without its id".into()));
                    };
                    let mut json = String::new();
                    if !crate::io::sql::exact_json(&doc, &mut json) {
                        return Err(Error::InvalidDocument(format!(
                            "document {id}: a string holds the NUL character, which PostgreSQL's \
                             jsonb cannot store"
                        )));
                    }
                    for def in &indexes {
                        if !unordered.contains(&def.name)
                            && def
                                .paths
                                .iter()
                                .any(|p| p.any_value(&doc, unordered_object))
                        {
                            unordered.push(def.name.clone());
                        }
                    }
                    writeln!(out, "{id}\t{}", copy_text(&json))?;
                    count += 1;
                }
                writeln!(out, "\\.")?;
                writeln!(
                    out,
                    "create sequence {sequence} owned by {name}.id start with {};",
                    handle.next_id()
                )?;
                writeln!(
                    out,
                    "alter table {name} alter column id set default nextval('{}');",
                    sequence.replace('\'', "''")
                )?;
                for statement in crate::io::sql::index_statements(&name, table, &indexes, &unordered) {
                    writeln!(out, "{statement}")?;
                }
                writeln!(out, "commit;")?;
                writeln!(out, "analyze {name};")?;
            }
        }
        Ok(count)
    })
}

/// Whether `value` is or holds an object of several fields, which jsonb keeps in an order of
/// its own, not quarry's.
fn unordered_object(value: &Value) -> bool {
    match value {
        Value::Object(fields) => fields.len() > 1 || fields.values().any(unordered_object),
        Value::Array(items) => items.iter().any(unordered_object),
        _ => false,
    }
}

/// A value as COPY's text format wants it: backslashes doubled, tabs, newlines and carriage
/// returns escaped.
fn copy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// How the objects below each path are used: in how many rows, how many keys in all, and
/// which keys, to tell maps from records ([`crate::query::fields::is_map_like`]).
#[derive(Default)]
struct Objects(std::collections::BTreeMap<String, (u64, u64, std::collections::BTreeSet<String>)>);

impl Objects {
    fn add(&mut self, value: &Value, prefix: &str) {
        if let Value::Object(fields) = value {
            if !prefix.is_empty() {
                let entry = self.0.entry(prefix.to_owned()).or_default();
                entry.0 += 1;
                entry.1 += fields.len() as u64;
                entry.2.extend(fields.keys().map(|k| k.to_string()));
            }
            for (name, inner) in fields {
                self.add(inner, &join(prefix, name));
            }
        }
    }

    /// The paths whose objects are maps.
    fn maps(&self) -> std::collections::BTreeSet<String> {
        self.0
            .iter()
            .filter(|(_, (rows, keys, names))| {
                crate::query::fields::is_map_like(names.len(), *keys, *rows)
            })
            .map(|(path, _)| path.clone())
            .collect()
    }
}

/// `prefix.name`, the name quoted as a path needs.
fn join(prefix: &str, name: &str) -> String {
    let segment = crate::path::Path::field(name).to_string();
    if prefix.is_empty() {
        segment
    } else {
        format!("{prefix}.{segment}")
    }
}

/// A document's leaves by dotted path: nested objects are walked, except `maps`, which stay
/// whole; everything else is a leaf. An empty object stays a leaf (`{}`) so it is not lost.
fn flatten(
    doc: &Value,
    maps: &std::collections::BTreeSet<String>,
) -> indexmap::IndexMap<String, Value> {
    fn walk(
        prefix: &str,
        value: &Value,
        maps: &std::collections::BTreeSet<String>,
        out: &mut indexmap::IndexMap<String, Value>,
    ) {
        match value {
            Value::Object(fields) if !fields.is_empty() && !maps.contains(prefix) => {
                for (name, inner) in fields {
                    walk(&join(prefix, name), inner, maps, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.clone());
            }
        }
    }
    let mut out = indexmap::IndexMap::new();
    walk("", doc, maps, &mut out);
    out
}
