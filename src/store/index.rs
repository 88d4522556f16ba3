//! Index definitions and the entries a document gives an index.

use serde::{Deserialize, Serialize};

use crate::codec::keycode;
use crate::error::{Error, Result};
use crate::path::Path;
use crate::store::layout;
use crate::text::search::MAX_TEXT_FIELDS;
use crate::text::{Analyzer, DocTerms, Language};
use crate::value::Value;

/// The most paths a compound index may have.
pub const MAX_INDEX_PATHS: usize = 4;

/// The most entries one document may give one index (a multikey index holds one per array
/// element): a bound on the memory and time one write can take.
pub const MAX_ENTRIES_PER_DOCUMENT: usize = 100_000;

/// Where an index is in its life: only `Ready` indexes serve queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum IndexState {
    /// Complete and maintained by every write.
    Ready,
    /// Being backfilled; rolled back at the next open if the process died meanwhile.
    Building,
    /// Being removed; finished at the next open if the process died meanwhile.
    Dropping,
}

/// A secondary index on one collection, as `show indexes` lists it.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let db = quarry::Db::open(dir.path().join("x.db")).unwrap();
/// let articles = db.collection("articles").unwrap();
/// articles.create_index(&["org", "year"]).unwrap();
/// let index = &articles.indexes().unwrap()[0];
/// assert_eq!(index.name, "articles_org_year");
/// assert_eq!(index.paths.len(), 2);
/// assert!(!index.unique && !index.multikey);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    /// Name, unique in the database (`articles_org_year`).
    pub name: String,
    /// The collection it indexes.
    pub collection: String,
    /// The indexed paths, leading path first.
    pub paths: Vec<Path>,
    /// Whether two documents may not share a value (documents whose value is null or missing
    /// are not held to it, as in SQL).
    pub unique: bool,
    /// Whether some document gave one of the paths several values (an array), so the index
    /// holds several entries for it and cannot give whole-value order.
    pub multikey: bool,
    pub(crate) number: u32,
    pub(crate) state: IndexState,
    /// What the index holds: values, or the words of text.
    pub kind: IndexKind,
}

/// What an index holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    /// The values of its paths, in order: it answers comparisons and gives order.
    #[default]
    Values,
    /// The words of the strings its paths reach, analyzed in a language: it answers `search`.
    Text(Language),
}

/// An index definition as formats 1 to 3 stored it, before indexes had a kind.
#[derive(Deserialize)]
struct StoredBeforeKinds {
    name: String,
    collection: String,
    paths: Vec<Path>,
    unique: bool,
    multikey: bool,
    number: u32,
    state: IndexState,
}

/// Reads a stored index definition, of this format or of one before index kinds (a value
/// index).
pub(crate) fn decode_def(bytes: &[u8]) -> std::result::Result<IndexDef, crate::codec::CodecError> {
    crate::codec::decode_record::<IndexDef>(bytes).or_else(|err| {
        let old: StoredBeforeKinds = crate::codec::decode_record(bytes).map_err(|_| err)?;
        Ok(IndexDef {
            name: old.name,
            collection: old.collection,
            paths: old.paths,
            unique: old.unique,
            multikey: old.multikey,
            number: old.number,
            state: old.state,
            kind: IndexKind::Values,
        })
    })
}

/// Counts the entries under `prefix` (one index's keys of one kind) by their first value, as
/// group-count keys; `entries` says how many entries a key and its value hold (`None`: leave
/// it out). Keys whose first value does not decode are left out.
pub(crate) fn count_groups_under(
    reader: &crate::store::staged::Reader,
    prefix: &[u8],
    entries: impl Fn(&[u8], &[u8]) -> Option<u64>,
) -> Result<std::collections::BTreeMap<Vec<u8>, u64>> {
    let mut groups = std::collections::BTreeMap::new();
    for item in reader.prefixed(prefix, false) {
        let (key, value) = item?;
        let Ok((_, rest)) = keycode::decode_value(&key[prefix.len()..]) else {
            continue;
        };
        let Some(n) = entries(&key, &value) else {
            continue;
        };
        let group_len = key.len() - rest.len();
        *groups
            .entry(layout::group_key(&key, group_len))
            .or_insert(0) += n;
    }
    Ok(groups)
}

/// One index entry a document gives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Entry {
    /// The full key: prefix, encoded values, document id.
    pub key: Vec<u8>,
    /// True when the unique rule applies to it (a unique index and no null value).
    pub enforce_unique: bool,
    /// How many leading bytes of the key are the index prefix and the first value: the
    /// entry's group (see [`layout::group_key`]).
    pub group_len: usize,
}

impl Entry {
    /// The key without the document id: equal for two documents with equal values, and the
    /// key prefix of the blocks that hold their ids.
    pub fn value_prefix(&self) -> &[u8] {
        keycode::split_id(&self.key).map_or(&self.key[..], |(values, _)| values)
    }

    /// The document the entry belongs to.
    pub fn id(&self) -> u64 {
        keycode::key_id(&self.key).unwrap_or_default()
    }

    /// The key of the group count this entry adds to.
    pub fn group_key(&self) -> Vec<u8> {
        layout::group_key(&self.key, self.group_len)
    }
}

impl IndexDef {
    /// The entries `doc` (with id `id`) gives this index, sorted, and whether the document is
    /// multi-valued on one of its paths. Fails for a compound index on two array paths.
    pub(crate) fn entries(&self, doc: &Value, id: u64) -> Result<(Vec<Entry>, bool)> {
        let mut per_path = Vec::with_capacity(self.paths.len());
        let mut multi_paths = Vec::new();
        for path in &self.paths {
            let (keys, multi) = path.index_key_refs(doc);
            if multi {
                multi_paths.push(path);
            }
            per_path.push(keys);
        }
        if multi_paths.len() > 1 {
            return Err(Error::InvalidDocument(format!(
                "index `{}` would need entries for two arrays, `{}` and `{}`: a compound index may \
                 hold at most one array path per document",
                self.name, multi_paths[0], multi_paths[1]
            )));
        }
        let total = per_path
            .iter()
            .map(Vec::len)
            .fold(1usize, usize::saturating_mul);
        if total > MAX_ENTRIES_PER_DOCUMENT {
            return Err(Error::InvalidDocument(format!(
                "index `{}` would need {total} entries for this document (at most \
                 {MAX_ENTRIES_PER_DOCUMENT}): an indexed array that long cannot be stored",
                self.name
            )));
        }
        let prefix = layout::block_prefix(self.number);
        let mut entries = Vec::new();
        let mut tuple = Vec::with_capacity(per_path.len());
        cartesian(&per_path, &mut tuple, &mut |values: &[&Value]| {
            let mut key = Vec::with_capacity(prefix.len() + 16 * values.len() + 8);
            key.extend_from_slice(&prefix);
            let group_len = keycode::append_key(values.iter().copied(), id, &mut key);
            entries.push(Entry {
                key,
                enforce_unique: self.unique && !values.iter().any(|v| matches!(v, Value::Null)),
                group_len,
            });
        });
        entries.sort();
        entries.dedup();
        Ok((entries, !multi_paths.is_empty()))
    }

    /// Whether this index serves queries.
    pub(crate) fn is_ready(&self) -> bool {
        self.state == IndexState::Ready
    }

    /// Whether this is a text index (one that answers `search`, not comparisons).
    pub fn is_text(&self) -> bool {
        matches!(self.kind, IndexKind::Text(_))
    }

    /// Whether this index serves comparisons and order: ready, and of values.
    pub(crate) fn serves_values(&self) -> bool {
        self.is_ready() && !self.is_text()
    }

    /// The terms `doc` gives this text index: the words of every string its paths reach
    /// (strings in arrays too), field by field in the order of the paths.
    pub(crate) fn text_terms(&self, doc: &Value) -> Result<DocTerms> {
        let IndexKind::Text(language) = self.kind else {
            return Ok(DocTerms::default());
        };
        let fields: Vec<Vec<&str>> = self.paths.iter().map(|p| text_of(p, doc)).collect();
        DocTerms::of(Analyzer::shared(language), fields)
            .map_err(|e| Error::InvalidDocument(format!("text index `{}`: {e}", self.name)))
    }

    /// Gives `each` every term of `doc` in this text index with its position, positions
    /// ascending (what [`IndexDef::text_terms`] gathers); returns the document's length.
    pub(crate) fn walk_text_terms(
        &self,
        doc: &Value,
        each: impl FnMut(String, u32),
    ) -> Result<u32> {
        let IndexKind::Text(language) = self.kind else {
            return Ok(0);
        };
        let fields: Vec<Vec<&str>> = self.paths.iter().map(|p| text_of(p, doc)).collect();
        DocTerms::walk(Analyzer::shared(language), fields, each)
            .map_err(|e| Error::InvalidDocument(format!("text index `{}`: {e}", self.name)))
    }

    /// The key prefix of all its blocks.
    pub(crate) fn prefix(&self) -> layout::IndexPrefix {
        layout::block_prefix(self.number)
    }

    /// Counts the stored entries of this index by their first value, as group-count keys:
    /// what the group counts must say (for checking and rebuilding them). Blocks that do not
    /// decode are left out: `check` reports them.
    pub(crate) fn count_groups(
        &self,
        reader: &crate::store::staged::Reader,
    ) -> Result<std::collections::BTreeMap<Vec<u8>, u64>> {
        let prefix = self.prefix();
        count_groups_under(reader, &prefix, |key, block| {
            crate::store::blocks::block_len(key, block).ok()
        })
    }

    /// ` language english` for a text index, nothing for a value index: what `show indexes`
    /// and statements add after the paths.
    pub fn language_text(&self) -> String {
        match self.kind {
            IndexKind::Text(language) => format!(" language {language}"),
            IndexKind::Values => String::new(),
        }
    }

    /// The paths as the user wrote them: `org, year`.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = quarry::Db::open(dir.path().join("x.db")).unwrap();
    /// let c = db.collection("c").unwrap();
    /// c.create_index(&["a.b", "c"]).unwrap();
    /// assert_eq!(c.indexes().unwrap()[0].paths_text(), "a.b, c");
    /// ```
    pub fn paths_text(&self) -> String {
        self.paths
            .iter()
            .map(Path::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The strings `path` reaches in `doc`, and the strings in arrays it reaches, in order.
pub(crate) fn text_of<'a>(path: &Path, doc: &'a Value) -> Vec<&'a str> {
    let mut out = Vec::new();
    path.any_value(doc, |value| {
        strings_in(value, &mut out);
        false
    });
    out
}

/// The strings of a value: itself, or those in an array (nested arrays too), in order.
pub(crate) fn strings_in<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|item| strings_in(item, out)),
        _ => {}
    }
}

/// Calls `emit` with every combination of one value from each list.
fn cartesian<'a>(
    lists: &[Vec<&'a Value>],
    tuple: &mut Vec<&'a Value>,
    emit: &mut impl FnMut(&[&'a Value]),
) {
    match lists.split_first() {
        None => emit(tuple),
        Some((first, rest)) => {
            for value in first {
                tuple.push(value);
                cartesian(rest, tuple, emit);
                tuple.pop();
            }
        }
    }
}

/// Checks and parses the paths of a new index.
pub(crate) fn parse_index_paths(paths: &[&str]) -> Result<Vec<Path>> {
    if paths.is_empty() {
        return Err(Error::InvalidIndex(
            "an index needs at least one path".into(),
        ));
    }
    if paths.len() > MAX_INDEX_PATHS {
        return Err(Error::InvalidIndex(format!(
            "an index may have at most {MAX_INDEX_PATHS} paths, not {}",
            paths.len()
        )));
    }
    let mut parsed: Vec<Path> = Vec::with_capacity(paths.len());
    for text in paths {
        let path: Path = text
            .parse()
            .map_err(|e: crate::path::PathError| Error::InvalidIndex(e.to_string()))?;
        if path.is_id() {
            return Err(Error::InvalidIndex(
                "`_id` is the document id and is always indexed".into(),
            ));
        }
        if parsed.contains(&path) {
            return Err(Error::InvalidIndex(format!("path `{path}` appears twice")));
        }
        parsed.push(path);
    }
    Ok(parsed)
}

/// Checks and parses the paths of a new text index: up to [`MAX_TEXT_FIELDS`], each once.
pub(crate) fn parse_text_paths(paths: &[&str]) -> Result<Vec<Path>> {
    if paths.len() > MAX_TEXT_FIELDS {
        return Err(Error::InvalidIndex(format!(
            "a text index may have at most {MAX_TEXT_FIELDS} paths, not {}",
            paths.len()
        )));
    }
    let mut parsed = Vec::with_capacity(paths.len());
    for chunk in paths.chunks(MAX_INDEX_PATHS) {
        parsed.extend(parse_index_paths(chunk)?);
    }
    if parsed.is_empty() {
        return Err(Error::InvalidIndex(
            "an index needs at least one path".into(),
        ));
    }
    for (i, path) in parsed.iter().enumerate() {
        if parsed[..i].contains(path) {
            return Err(Error::InvalidIndex(format!("path `{path}` appears twice")));
        }
    }
    Ok(parsed)
}

/// The default name of an index: the collection and paths joined by `_`, other characters
/// replaced by `_` (`articles_author_name` for `author.name`).
pub(crate) fn default_index_name(collection: &str, paths: &[Path]) -> String {
    let mut name = collection.to_owned();
    for path in paths {
        name.push('_');
        name.extend(
            path.to_string()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(paths: &[&str], unique: bool) -> IndexDef {
        IndexDef {
            name: "t".into(),
            collection: "c".into(),
            paths: parse_index_paths(paths).unwrap(),
            unique,
            multikey: false,
            number: 1,
            state: IndexState::Ready,
            kind: IndexKind::Values,
        }
    }

    fn doc(json: serde_json::Value) -> Value {
        Value::try_from(json).unwrap()
    }

    #[test]
    fn compound_index_with_one_array_gives_one_entry_per_element() {
        let d = doc(serde_json::json!({"org": "ICC", "tags": ["b", "a", "b"]}));
        let (entries, multi) = def(&["org", "tags"], false).entries(&d, 7).unwrap();
        assert!(multi);
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| keycode::key_id(&e.key) == Some(7)));
    }

    #[test]
    fn compound_index_refuses_two_arrays() {
        let d = doc(serde_json::json!({"a": [1, 2], "b": [3]}));
        let err = def(&["a", "b"], false).entries(&d, 1).unwrap_err();
        assert!(err.to_string().contains("at most one array"), "{err}");
    }

    #[test]
    fn unique_rule_skips_null_and_missing_values() {
        let (entries, _) = def(&["x"], true)
            .entries(&doc(serde_json::json!({})), 1)
            .unwrap();
        assert!(!entries[0].enforce_unique);
        let (entries, _) = def(&["x"], true)
            .entries(&doc(serde_json::json!({"x": 1})), 1)
            .unwrap();
        assert!(entries[0].enforce_unique);
    }

    #[test]
    fn index_paths_are_checked() {
        assert!(parse_index_paths(&[]).is_err());
        assert!(parse_index_paths(&["a", "b", "c", "d", "e"]).is_err());
        assert!(parse_index_paths(&["a", "a"]).is_err());
        assert!(parse_index_paths(&["_id"]).is_err());
        assert!(parse_index_paths(&["a..b"]).is_err());
        assert_eq!(
            default_index_name(
                "c",
                &parse_index_paths(&["author.name", "tags[0]"]).unwrap()
            ),
            "c_author_name_tags_0_"
        );
    }
}
