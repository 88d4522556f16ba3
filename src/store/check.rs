//! Verifying a whole database, and rebuilding its indexes from the documents.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::codec::keycode;
use crate::error::Result;
use crate::store::index::IndexDef;
use crate::store::state::CollectionState;
use crate::store::{Collection, Db, layout};

/// One thing `check` found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The collection it is in.
    pub collection: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.collection, self.message)
    }
}

/// What [`Db::check`] found: how much it read and every problem.
///
/// ```
/// let db = quarry::Db::temporary()?;
/// db.collection("a")?.insert(&serde_json::json!({"x": 1}))?;
/// let report = db.check()?;
/// assert!(report.is_clean());
/// assert_eq!(report.documents, 1);
/// # Ok::<(), quarry::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Collections checked.
    pub collections: usize,
    /// Documents read.
    pub documents: u64,
    /// Index entries read.
    pub index_entries: u64,
    /// Everything found wrong; empty when the database is sound.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// True when no problem was found.
    ///
    /// ```
    /// assert!(quarry::CheckReport::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Db {
    /// Verifies the whole store: every document decodes, every document has all its index
    /// entries, every entry points at a document that has that value, unique indexes hold,
    /// and counters are ahead of the ids and agree with the documents; and that no collection
    /// came back older than the last flush acknowledged (see [`Db::warnings`]).
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// let c = db.collection("c")?;
    /// c.create_index(&["tags"])?;
    /// c.insert(&serde_json::json!({"tags": ["a", "b"]}))?;
    /// let report = db.check()?;
    /// assert!(report.is_clean(), "{:?}", report.problems);
    /// assert_eq!(report.index_entries, 2);
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn check(&self) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        report.problems.extend(
            self.stepped_back()
                .into_iter()
                .map(|(collection, message)| Problem {
                    collection,
                    message,
                }),
        );
        for state in self.inner.all_states() {
            report.collections += 1;
            check_collection(&state, &mut report)?;
        }
        Ok(report)
    }

    /// Rebuilds every index from the documents (removing stray entries and restoring missing
    /// ones) and corrects the counters, accepts collections that came back older than a flush
    /// acknowledged as they are (see [`Db::warnings`]), then checks again and returns that
    /// report. Problems
    /// it cannot fix (a document that cannot be decoded, data that breaks a unique index)
    /// stay in the report.
    ///
    /// ```
    /// let db = quarry::Db::temporary()?;
    /// db.collection("c")?.create_index(&["x"])?;
    /// assert!(db.repair()?.is_clean());
    /// # Ok::<(), quarry::Error>(())
    /// ```
    pub fn repair(&self) -> Result<CheckReport> {
        self.refuse_in_transaction("repair")?;
        let mut failures = Vec::new();
        for state in self.inner.all_states() {
            let collection = Collection {
                db: self.clone(),
                state: state.clone(),
            };
            failures.extend(collection.rebuild()?.into_iter().map(|message| Problem {
                collection: state.name.clone(),
                message,
            }));
        }
        // What came back older than a flush acknowledged is accepted as it is.
        self.accept_losses()?;
        let mut report = self.check()?;
        report.problems.extend(failures);
        Ok(report)
    }
}

fn check_collection(state: &CollectionState, report: &mut CheckReport) -> Result<()> {
    let meta = state.meta();
    let mut problem = |message: String| {
        report.problems.push(Problem {
            collection: state.name.clone(),
            message,
        })
    };
    let indexes: Vec<_> = meta.indexes.iter().filter(|d| d.is_ready()).collect();
    let mut expected: HashMap<u32, HashSet<Vec<u8>>> =
        indexes.iter().map(|d| (d.number, HashSet::new())).collect();
    let mut documents = 0u64;
    let mut max_id = 0u64;
    for item in state.tree.scan_prefix([layout::DOC_PREFIX]) {
        let (key, bytes) = item?;
        let Some(id) = layout::doc_id(&key) else {
            problem(format!("unreadable document key {key:?}"));
            continue;
        };
        documents += 1;
        max_id = max_id.max(id);
        let doc = match state.decode(id, &bytes) {
            Ok(doc) => doc,
            Err(err) => {
                problem(err.to_string());
                continue;
            }
        };
        for def in &indexes {
            match def.entries(&doc, id) {
                Ok((entries, multi)) => {
                    if multi && !def.multikey {
                        problem(format!(
                            "index `{}` is not marked multikey but document {id} has several values",
                            def.name
                        ));
                    }
                    if let Some(set) = expected.get_mut(&def.number) {
                        set.extend(entries.into_iter().map(|e| e.key));
                    }
                }
                Err(err) => problem(format!("document {id}: {err}")),
            }
        }
    }
    report.documents += documents;
    if documents > 0 && max_id >= meta.next_id {
        problem(format!(
            "id counter {} is not ahead of document id {max_id}",
            meta.next_id
        ));
    }
    if documents != meta.count {
        problem(format!(
            "document count says {} but there are {documents} documents",
            meta.count
        ));
    }
    let mut previous_unique: Option<(u32, Vec<u8>)> = None;
    for item in state.tree.scan_prefix([layout::ENTRY_PREFIX]).keys() {
        let key = item?;
        report.index_entries += 1;
        let number = layout::index_number(&key).map(|(number, _)| number);
        let Some(def) = indexes.iter().find(|d| Some(d.number) == number) else {
            problem(format!("index entry {key:?} belongs to no index"));
            continue;
        };
        let id = keycode::key_id(&key).unwrap_or(0);
        let known = expected
            .get_mut(&def.number)
            .is_some_and(|set| set.remove(key.as_ref()));
        if !known {
            problem(format!(
                "index `{}` has an entry for document {id} that the document does not give",
                def.name
            ));
        }
        if def.unique {
            let values = keycode::split_id(&key).map_or(&key[..], |(values, _)| values);
            let null_free = keycode::decode_key(&key[def.prefix().len()..], def.paths.len())
                .is_ok_and(|(vals, _)| !vals.contains(&crate::value::Value::Null));
            if null_free
                && let Some((n, prev)) = &previous_unique
                && *n == def.number
                && prev == values
            {
                problem(format!(
                    "unique index `{}` holds a duplicate value (document {id})",
                    def.name
                ));
            }
            previous_unique = Some((def.number, values.to_vec()));
        }
    }
    // While a bulk load holds back its count changes, the counts are those from before it.
    if !state.counts_held() {
        for def in &indexes {
            check_groups(state, def, &mut problem)?;
        }
    }
    for key in state.tree.scan_prefix([layout::GROUP_PREFIX]).keys() {
        let key = key?;
        let number = layout::index_number(&key).map(|(number, _)| number);
        if !meta.indexes.iter().any(|d| Some(d.number) == number) {
            problem(format!("group count {key:?} belongs to no index"));
        }
    }
    for def in &indexes {
        if let Some(missing) = expected.get(&def.number)
            && !missing.is_empty()
        {
            let mut ids: Vec<u64> = missing.iter().filter_map(|k| keycode::key_id(k)).collect();
            ids.sort_unstable();
            ids.dedup();
            problem(format!(
                "index `{}` is missing {} entries (documents {})",
                def.name,
                missing.len(),
                summarise(&ids)
            ));
        }
    }
    Ok(())
}

/// The group counts of an index must be its entries counted by first value.
fn check_groups(
    state: &CollectionState,
    def: &IndexDef,
    problem: &mut impl FnMut(String),
) -> Result<()> {
    let mut expected = def.count_groups(&state.reader())?;
    let mut wrong = 0usize;
    for item in state.tree.scan_prefix(layout::group_prefix(def.number)) {
        let (key, count) = item?;
        let stored = layout::read_u64(&count);
        if expected.remove(key.as_ref()) != stored {
            wrong += 1;
        }
    }
    wrong += expected.len();
    if wrong > 0 {
        problem(format!(
            "index `{}` has {wrong} group counts that disagree with its entries",
            def.name
        ));
    }
    Ok(())
}

/// `1, 2, 3` or `1, 2, 3, … (12 in all)`.
fn summarise(ids: &[u64]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(u64::to_string).collect();
    if ids.len() > 5 {
        format!("{}, … ({} in all)", shown.join(", "), ids.len())
    } else {
        shown.join(", ")
    }
}
