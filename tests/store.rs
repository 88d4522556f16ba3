//! The storage engine's contract, through the public API.

use quarry::{Db, Error, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Article {
    org: String,
    year: i64,
    title: String,
}

fn fresh() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("test.db")).unwrap();
    (dir, db)
}

/// Opens the raw sled database under a quarry database (waiting for the lock that sled's
/// background thread releases shortly after the last handle drops).
fn raw_sled(path: &std::path::Path) -> sled::Db {
    for _ in 0..200 {
        if let Ok(db) = sled::open(path) {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("cannot open {}", path.display());
}

fn docs(c: &quarry::Collection) -> Vec<Value> {
    c.iter().map(|d| d.unwrap().1).collect()
}

#[test]
fn the_readme_example_works() {
    let (_dir, db) = fresh();
    let articles = db.collection("articles").unwrap();
    let id = articles
        .insert(&Article {
            org: "ICC".into(),
            year: 2021,
            title: "Letter".into(),
        })
        .unwrap();
    articles.create_index(&["org", "year"]).unwrap();
    articles.create_unique_index(&["title"]).unwrap();
    let back: Option<Article> = articles.get(id).unwrap();
    assert_eq!(back.unwrap().year, 2021);
    let ids = articles
        .insert_many(vec![json!({"org": "HRW", "year": 2022, "title": "Report"})])
        .unwrap();
    assert_eq!(ids.len(), 1);
    articles
        .update(id, &json!({"org": "ICC", "year": 2020, "title": "Letter"}))
        .unwrap();
    articles.delete(ids[0]).unwrap();
    assert_eq!(articles.len().unwrap(), 1);
    db.flush().unwrap();
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn db_handles_are_clone_send_sync() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Db>();
    shareable::<quarry::Collection>();
}

#[test]
fn ids_start_at_one_are_monotonic_and_never_reused_even_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        assert_eq!(c.insert(&json!({"n": 1})).unwrap(), 1);
        assert_eq!(c.insert(&json!({"n": 2})).unwrap(), 2);
        assert!(c.delete(2).unwrap());
        db.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(c.insert(&json!({"n": 3})).unwrap(), 3);
}

#[test]
fn flushed_data_and_indexes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("articles").unwrap();
        c.create_unique_index(&["title"]).unwrap();
        c.create_index(&["tags"]).unwrap();
        c.insert(&json!({"title": "a", "tags": ["x", "y"]}))
            .unwrap();
        db.collection("other").unwrap();
        db.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    assert_eq!(db.collections(), ["articles", "other"]);
    let c = db.collection("articles").unwrap();
    let indexes = c.indexes().unwrap();
    assert_eq!(indexes.len(), 2);
    assert!(indexes[0].unique);
    assert!(indexes[1].multikey, "multikey flag is stored");
    assert_eq!(
        docs(&c),
        vec![Value::try_from(json!({"_id": 1, "title": "a", "tags": ["x", "y"]})).unwrap()]
    );
    // The unique index still works after reopening.
    assert!(matches!(
        c.insert(&json!({"title": "a"})),
        Err(Error::UniqueViolation { .. })
    ));
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn stored_documents_keep_field_order_and_number_types() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    let id = c
        .insert(&json!({"z": 1, "a": 1.0, "m": {"y": [1, 2.5]}}))
        .unwrap();
    assert_eq!(
        c.get_value(id).unwrap().unwrap().to_string(),
        r#"{"_id":1,"z":1,"a":1.0,"m":{"y":[1,2.5]}}"#
    );
}

#[test]
fn a_supplied_id_is_ignored_the_store_assigns_ids() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    let id = c.insert(&json!({"_id": 99, "a": 1})).unwrap();
    assert_eq!(id, 1);
    assert_eq!(
        c.get_value(1).unwrap().unwrap().to_string(),
        r#"{"_id":1,"a":1}"#
    );
}

#[test]
fn documents_that_are_not_objects_are_refused() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    for bad in [json!(1), json!("x"), json!([1]), json!(null)] {
        let err = c.insert(&bad).unwrap_err();
        assert!(matches!(err, Error::InvalidDocument(_)), "{err}");
        assert!(err.to_string().contains("must be an object"), "{err}");
    }
    assert_eq!(c.len().unwrap(), 0);
}

#[test]
fn nan_and_infinity_are_refused_with_a_clear_error() {
    #[derive(Serialize)]
    struct Reading {
        v: f64,
    }
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = c.insert(&Reading { v }).unwrap_err();
        assert!(matches!(err, Error::InvalidDocument(_)), "{err}");
        assert!(err.to_string().contains("NaN and infinities"), "{err}");
    }
    assert_eq!(c.len().unwrap(), 0);
}

#[test]
fn too_deep_documents_are_refused() {
    let mut doc = json!(1);
    for _ in 0..200 {
        doc = json!({ "a": doc });
    }
    let (_dir, db) = fresh();
    let err = db.collection("c").unwrap().insert(&doc).unwrap_err();
    assert!(err.to_string().contains("deeper"), "{err}");
}

#[test]
fn unique_index_refuses_duplicates_and_writes_nothing() {
    let (_dir, db) = fresh();
    let c = db.collection("people").unwrap();
    c.create_index(&["name"]).unwrap();
    c.create_unique_index(&["email"]).unwrap();
    let a = c.insert(&json!({"name": "A", "email": "a@x.org"})).unwrap();
    let err = c
        .insert(&json!({"name": "B", "email": "a@x.org"}))
        .unwrap_err();
    match &err {
        Error::UniqueViolation { index, value } => {
            assert_eq!(index, "people_email");
            assert_eq!(value, r#"email = "a@x.org""#);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        r#"unique index `people_email` already has a document with email = "a@x.org""#
    );
    // Within one batch, and on update.
    assert!(
        c.insert_many([json!({"email": "n@x.org"}), json!({"email": "n@x.org"})])
            .is_err()
    );
    let b = c.insert(&json!({"name": "B", "email": "b@x.org"})).unwrap();
    assert!(
        c.update(b, &json!({"name": "B", "email": "a@x.org"}))
            .is_err()
    );
    // Updating a document to its own value is fine.
    c.update(a, &json!({"name": "A2", "email": "a@x.org"}))
        .unwrap();
    // Missing and null values are exempt.
    c.insert(&json!({"name": "C"})).unwrap();
    c.insert(&json!({"name": "D", "email": null})).unwrap();
    assert_eq!(c.len().unwrap(), 4);
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[test]
fn compound_unique_index_names_all_values_in_the_error() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.create_unique_index(&["org", "year"]).unwrap();
    c.insert(&json!({"org": "ICC", "year": 2021})).unwrap();
    c.insert(&json!({"org": "ICC", "year": 2022})).unwrap();
    let err = c
        .insert(&json!({"org": "ICC", "year": 2021.0}))
        .unwrap_err();
    assert!(
        err.to_string().contains(r#"(org, year) = ("ICC", 2021)"#),
        "{err}"
    );
}

#[test]
fn creating_a_unique_index_on_duplicates_fails_and_leaves_nothing() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    let many: Vec<_> = (0..2500).map(|i| json!({"k": i})).collect();
    c.insert_many(many).unwrap();
    c.insert(&json!({"k": 7})).unwrap();
    let err = c.create_unique_index(&["k"]).unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err}");
    assert!(c.indexes().unwrap().is_empty());
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.index_entries, 0, "no partial index is left behind");
}

#[test]
fn compound_index_on_two_arrays_is_refused_for_the_document() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.create_index(&["a", "b"]).unwrap();
    c.insert(&json!({"a": [1, 2], "b": 3})).unwrap();
    let err = c.insert(&json!({"a": [1], "b": [2, 3]})).unwrap_err();
    assert!(matches!(err, Error::InvalidDocument(_)), "{err}");
    assert_eq!(c.len().unwrap(), 1);
    // And creating such an index over such data fails without leaving it.
    c.insert(&json!({"x": [1], "y": [2]})).unwrap();
    assert!(c.create_index(&["x", "y"]).is_err());
    assert_eq!(c.indexes().unwrap().len(), 1);
}

#[test]
fn backfill_indexes_existing_documents_and_drop_removes_every_entry() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    let many: Vec<_> = (0..3000)
        .map(|i| json!({"n": i % 10, "tags": [i % 3, i % 5]}))
        .collect();
    c.insert_many(many).unwrap();
    c.create_index(&["n"]).unwrap();
    let tags = c.create_index(&["tags"]).unwrap();
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert!(report.index_entries >= 3000 + 3000);
    db.drop_index(&tags).unwrap();
    let report = db.check().unwrap();
    assert_eq!(report.index_entries, 3000);
    assert!(report.is_clean());
}

#[test]
fn dropping_a_collection_removes_it_and_its_handles_fail() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.insert(&json!({"a": 1})).unwrap();
    assert!(db.drop_collection("c").unwrap());
    assert!(matches!(
        c.insert(&json!({"a": 2})),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(c.len(), Err(Error::NotFound(_))));
    let again = db.collection("c").unwrap();
    assert_eq!(again.len().unwrap(), 0);
    assert_eq!(again.insert(&json!({"a": 3})).unwrap(), 1);
}

#[test]
fn bad_collection_names_are_refused() {
    let (_dir, db) = fresh();
    for bad in ["", "a b", "1abc", "a.b", "a-b", &"x".repeat(129)] {
        assert!(
            matches!(db.collection(bad), Err(Error::InvalidName(_))),
            "{bad}"
        );
    }
}

#[test]
fn a_second_open_of_the_same_database_is_refused_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let _first = Db::open(&path).unwrap();
    let options = quarry::Options {
        lock_wait: std::time::Duration::ZERO,
        ..Default::default()
    };
    let err = Db::open_with(&path, options).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("another quarry process"), "{err}");
}

/// Records `version` as the database's format, behind quarry's back.
fn write_format(raw: &sled::Db, version: u32) {
    raw.open_tree(quarry::internals::layout::CATALOG_TREE)
        .unwrap()
        .insert(
            quarry::internals::layout::FORMAT_KEY,
            &version.to_be_bytes(),
        )
        .unwrap();
}

#[test]
fn a_newer_format_version_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    drop(Db::open(&path).unwrap());
    {
        let raw = raw_sled(&path);
        write_format(&raw, 99);
        raw.flush().unwrap();
    }
    let err = Db::open(&path).unwrap_err();
    assert!(matches!(
        err,
        Error::FormatVersion {
            found: 99,
            supported: 5
        }
    ));
    assert_eq!(
        err.to_string(),
        "database format version 99 is not supported: this build of quarry reads format version 5"
    );
}

/// Rewrites a closed database behind quarry's back as format `version` (1 to 4) left it.
/// Format 4: pages of four ids, `"p" <id / 4>`, and layout mark 4.
/// Format 3: a key per document, `"d" <id>`, a key per index entry, `"e" <index number>
/// <values> <id>`, and layout mark 3.
/// Formats 1 and 2: index entries `"i" <u32 index number> <values> <u64 id>`, group counts
/// `"g" <u32 index number> <first value>` (format 2 only; format 1 had none), and no layout
/// mark.
fn rewrite_as_old_format(path: &std::path::Path, version: u32) {
    use quarry::internals::codec::ids;
    use quarry::internals::keycode;
    use quarry::internals::layout;
    let raw = raw_sled(path);
    write_format(&raw, version);
    for name in raw.tree_names() {
        if !name.starts_with(layout::COLLECTION_TREE_PREFIX) {
            continue;
        }
        let tree = raw.open_tree(name).unwrap();
        if version == 4 {
            rewrite_pages_as_format_4(&tree);
            continue;
        }
        let blocks: Vec<_> = tree
            .scan_prefix([layout::BLOCK_PREFIX])
            .map(Result::unwrap)
            .collect();
        for (key, block) in blocks {
            tree.remove(&key).unwrap();
            let (values, _) = keycode::split_id(&key).unwrap();
            for id in ids::decode_ids(&block).unwrap() {
                let mut entry = values.to_vec();
                entry[0] = layout::FORMAT3_ENTRY_PREFIX;
                keycode::append_id(id, &mut entry);
                tree.insert(entry, b"").unwrap();
            }
        }
        for (id, body) in take_pages(&tree) {
            if let Some(body) = body {
                tree.insert(layout::doc_key(id), body).unwrap();
            }
        }
        tree.insert(layout::LAYOUT_KEY, &3u32.to_be_bytes())
            .unwrap();
        if version == 3 {
            continue;
        }
        tree.remove(layout::LAYOUT_KEY).unwrap();
        for kind in [layout::FORMAT3_ENTRY_PREFIX, layout::GROUP_PREFIX] {
            let keys: Vec<_> = tree.scan_prefix([kind]).map(Result::unwrap).collect();
            for (key, value) in keys {
                tree.remove(&key).unwrap();
                let (number, start) = layout::index_number(&key).unwrap();
                let mut old = number.to_be_bytes().to_vec();
                if kind == layout::FORMAT3_ENTRY_PREFIX {
                    let (values, id) = keycode::split_id(&key[start..]).unwrap();
                    old.insert(0, layout::OLD_ENTRY_PREFIX);
                    old.extend_from_slice(values);
                    old.extend_from_slice(&id.to_be_bytes());
                } else if version == 2 {
                    old.insert(0, layout::OLD_GROUP_PREFIX);
                    old.extend_from_slice(&key[start..]);
                } else {
                    continue;
                }
                tree.insert(old, value).unwrap();
            }
        }
    }
    raw.flush().unwrap();
}

/// Removes every page from `tree`; the documents they held, by id: a body, or `None` for one
/// stored apart.
fn take_pages(tree: &sled::Tree) -> Vec<(u64, Option<Vec<u8>>)> {
    use quarry::internals::codec::pages::{self, Body};
    use quarry::internals::layout;
    let stored: Vec<_> = tree
        .scan_prefix([layout::PAGE_PREFIX])
        .map(Result::unwrap)
        .collect();
    let mut documents = Vec::new();
    for (key, page) in stored {
        tree.remove(&key).unwrap();
        let number = layout::page_number(&key).unwrap();
        for (slot, body) in pages::read_page(&page).unwrap() {
            let body = match body {
                Body::Here(range) => Some(page[range].to_vec()),
                Body::Apart => None,
            };
            documents.push((number * pages::PAGE_SLOTS + slot, body));
        }
    }
    documents
}

/// Format 4's pages in `tree`: `"p" <id / 4>`, four ids each, and layout mark 4.
fn rewrite_pages_as_format_4(tree: &sled::Tree) {
    use quarry::internals::codec::pages;
    use quarry::internals::layout;
    /// A page's documents by slot: a body, or `None` for one stored apart.
    type Slots = Vec<(u64, Option<Vec<u8>>)>;
    let mut old_pages: std::collections::BTreeMap<u64, Slots> = Default::default();
    for (id, body) in take_pages(tree) {
        old_pages.entry(id / 4).or_default().push((id % 4, body));
    }
    for (number, documents) in old_pages {
        let list: Vec<(u64, Option<&[u8]>)> =
            documents.iter().map(|(s, b)| (*s, b.as_deref())).collect();
        let mut key = vec![layout::FORMAT4_PAGE_PREFIX];
        key.extend_from_slice(&number.to_be_bytes());
        tree.insert(key, pages::encode_page(&list)).unwrap();
    }
    tree.insert(layout::LAYOUT_KEY, &4u32.to_be_bytes())
        .unwrap();
}

/// Every index entry of collection 1, its id block unpacked: `"b" <index number> <values>
/// <id>`, in key order.
fn entry_keys(path: &std::path::Path) -> Vec<Vec<u8>> {
    use quarry::internals::{codec::ids, keycode, layout};
    let raw = raw_sled(path);
    let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
    let mut entries = Vec::new();
    for item in tree.scan_prefix([layout::BLOCK_PREFIX]) {
        let (key, block) = item.unwrap();
        let (values, first) = keycode::split_id(&key).unwrap();
        let ids = ids::decode_ids(&block).unwrap();
        assert_eq!(ids[0], first);
        for id in ids {
            let mut entry = values.to_vec();
            keycode::append_id(id, &mut entry);
            entries.push(entry);
        }
    }
    entries
}

/// What `check` says is wrong with `db`.
fn problem_messages(db: &Db) -> Vec<String> {
    let report = db.check().unwrap();
    report.problems.into_iter().map(|p| p.message).collect()
}

/// The keys of collection 1 starting with `kind`.
fn keys_of_kind(path: &std::path::Path, kind: u8) -> Vec<sled::IVec> {
    let raw = raw_sled(path);
    let tree = raw
        .open_tree(quarry::internals::layout::collection_tree(1))
        .unwrap();
    tree.scan_prefix([kind])
        .keys()
        .map(Result::unwrap)
        .collect()
}

fn stored_format(path: &std::path::Path) -> u32 {
    let raw = raw_sled(path);
    let catalog = raw
        .open_tree(quarry::internals::layout::CATALOG_TREE)
        .unwrap();
    let format = catalog
        .get(quarry::internals::layout::FORMAT_KEY)
        .unwrap()
        .unwrap();
    u32::from_be_bytes(format.as_ref().try_into().unwrap())
}

/// A collection with a compound and a multikey index, as the upgrade tests start from.
fn old_format_fixture(path: &std::path::Path) -> Vec<String> {
    let db = Db::open(path).unwrap();
    let c = db.collection("c").unwrap();
    c.create_index(&["org", "year"]).unwrap();
    c.create_index(&["tags"]).unwrap();
    let orgs = ["ICC", "HRW", "MWA"];
    c.insert_many(
        (0..30).map(|i| json!({"org": orgs[i % 3], "year": 2000 + i, "tags": ["a", i % 2]})),
    )
    .unwrap();
    db.flush().unwrap();
    answers(&db)
}

/// What the upgrade tests ask of a database: indexed queries, ordered scans and counts.
fn answers(db: &Db) -> Vec<String> {
    [
        "from c where org = 'ICC' and year >= 2010",
        "from c where tags = 1 order by org, year desc limit 4",
        "count from c by org",
        "count from c by tags",
        "explain from c where org = 'HRW'",
    ]
    .iter()
    .map(|q| db.execute(q).unwrap()[0].to_string())
    .collect()
}

#[test]
fn a_format_2_database_is_converted_on_open_to_short_index_keys() {
    use quarry::internals::layout::{
        FORMAT3_ENTRY_PREFIX, GROUP_PREFIX, OLD_ENTRY_PREFIX, OLD_GROUP_PREFIX,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let before = old_format_fixture(&path);
    let entries = entry_keys(&path);
    let groups = keys_of_kind(&path, GROUP_PREFIX);
    rewrite_as_old_format(&path, 2);
    assert_eq!(keys_of_kind(&path, OLD_ENTRY_PREFIX).len(), entries.len());
    assert!(entry_keys(&path).is_empty());

    let db = Db::open(&path).unwrap();
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert!(before[4].contains("Index scan c_org_year"), "{}", before[4]);
    assert_eq!(answers(&db), before);
    drop(db);
    assert_eq!(stored_format(&path), 5);
    assert_eq!(entry_keys(&path), entries);
    assert_eq!(keys_of_kind(&path, GROUP_PREFIX), groups);
    for kind in [OLD_ENTRY_PREFIX, OLD_GROUP_PREFIX, FORMAT3_ENTRY_PREFIX] {
        assert!(keys_of_kind(&path, kind).is_empty());
    }
    // Every entry of a 30-document collection is 4 bytes shorter per index number and at
    // least 5 per id than format 2's.
    assert!(entries.iter().all(|k| k.ends_with(&[1]) && k[1] < 3));
}

#[test]
fn a_format_3_database_is_packed_on_open_into_id_blocks() {
    use quarry::internals::layout::{
        BLOCK_PREFIX, DOC_PREFIX, FORMAT3_ENTRY_PREFIX, GROUP_PREFIX, PAGE_PREFIX,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let before = old_format_fixture(&path);
    let entries = entry_keys(&path);
    let blocks = keys_of_kind(&path, BLOCK_PREFIX);
    let groups = keys_of_kind(&path, GROUP_PREFIX);
    // Fewer keys than entries: 30 documents give 30 entries to (org, year), whose values
    // differ, and 60 to tags, whose 3 values take a block each.
    assert_eq!((entries.len(), blocks.len()), (90, 33));
    rewrite_as_old_format(&path, 3);
    assert_eq!(keys_of_kind(&path, FORMAT3_ENTRY_PREFIX).len(), 90);

    let db = Db::open(&path).unwrap();
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.index_entries, 90);
    assert_eq!(answers(&db), before);
    drop(db);
    assert_eq!(stored_format(&path), 5);
    assert_eq!(entry_keys(&path), entries);
    assert_eq!(keys_of_kind(&path, BLOCK_PREFIX), blocks);
    assert_eq!(keys_of_kind(&path, GROUP_PREFIX), groups);
    assert!(keys_of_kind(&path, FORMAT3_ENTRY_PREFIX).is_empty());
    // Documents 1 to 30 in sixteen pages of two ids, none apart.
    assert_eq!(keys_of_kind(&path, PAGE_PREFIX).len(), 16);
    assert!(keys_of_kind(&path, DOC_PREFIX).is_empty());
}

#[test]
fn packing_cut_short_by_a_crash_is_finished_at_the_next_open() {
    use quarry::internals::{
        codec::{ids, pages},
        keycode, layout,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let before = old_format_fixture(&path);
    let entries = entry_keys(&path);
    // Format 4's first page, as the build that packed format 3 into format 4 wrote it: ids 1
    // to 3 under `"p" 0`.
    let first_page = {
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let mut bodies: Vec<(u64, Vec<u8>)> = Vec::new();
        for item in tree.scan_prefix([layout::PAGE_PREFIX]).take(2) {
            let (key, page) = item.unwrap();
            let number = layout::page_number(&key).unwrap();
            for (slot, body) in pages::read_page(&page).unwrap() {
                let pages::Body::Here(range) = body else {
                    panic!("stored apart")
                };
                bodies.push((number * pages::PAGE_SLOTS + slot, page[range].to_vec()));
            }
        }
        assert_eq!(
            bodies.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let list: Vec<(u64, Option<&[u8]>)> = bodies
            .iter()
            .map(|(id, b)| (*id, Some(b.as_slice())))
            .collect();
        let mut key = vec![layout::FORMAT4_PAGE_PREFIX];
        key.extend_from_slice(&0u64.to_be_bytes());
        (key, pages::encode_page(&list))
    };
    rewrite_as_old_format(&path, 3);
    {
        // Batches of the packing landed: the first two entries of the tag "a" are in a block
        // and gone as entries; the format already says 4, the layout mark still 3.
        let raw = raw_sled(&path);
        write_format(&raw, 4);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let mut tag_a = layout::block_prefix(2).to_vec();
        keycode::encode_value(&quarry::Value::from("a"), &mut tag_a);
        let mut old_prefix = tag_a.clone();
        old_prefix[0] = layout::FORMAT3_ENTRY_PREFIX;
        let packed: Vec<sled::IVec> = tree
            .scan_prefix(&old_prefix)
            .keys()
            .take(2)
            .map(Result::unwrap)
            .collect();
        let packed_ids: Vec<u64> = packed.iter().map(|k| keycode::key_id(k).unwrap()).collect();
        for key in &packed {
            tree.remove(key).unwrap();
        }
        let mut block_key = tag_a.clone();
        keycode::append_id(packed_ids[0], &mut block_key);
        tree.insert(block_key, ids::encode_ids(&packed_ids))
            .unwrap();
        // And the documents of the first page are in it.
        let (page_key, page) = &first_page;
        for (slot, _) in pages::read_page_of(page, layout::FORMAT4_PAGE_SLOTS).unwrap() {
            tree.remove(layout::doc_key(slot)).unwrap();
        }
        tree.insert(page_key, page.as_slice()).unwrap();
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(answers(&db), before);
    drop(db);
    assert_eq!(entry_keys(&path), entries);
    assert!(keys_of_kind(&path, layout::FORMAT3_ENTRY_PREFIX).is_empty());
    assert!(keys_of_kind(&path, layout::DOC_PREFIX).is_empty());
    assert!(keys_of_kind(&path, layout::FORMAT4_PAGE_PREFIX).is_empty());
}

/// The upgrade fixture with a document too large for a page (stored apart) after it: its
/// answers and documents.
fn fixture_with_a_document_apart(path: &std::path::Path) -> (Vec<String>, Vec<Value>) {
    old_format_fixture(path);
    let db = Db::open(path).unwrap();
    let c = db.collection("c").unwrap();
    c.insert(&json!({"org": "ICC", "year": 2031, "tags": ["a"], "text": "x".repeat(6000)}))
        .unwrap();
    db.flush().unwrap();
    (answers(&db), docs(&c))
}

#[test]
fn a_format_4_database_has_its_pages_of_four_split_on_open() {
    use quarry::internals::layout::{BLOCK_PREFIX, DOC_PREFIX, FORMAT4_PAGE_PREFIX, PAGE_PREFIX};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let (answered, documents) = fixture_with_a_document_apart(&path);
    let pages = keys_of_kind(&path, PAGE_PREFIX);
    let blocks = keys_of_kind(&path, BLOCK_PREFIX);
    // Ids 1 to 31 in pages 0 to 15; format 4 kept them in pages 0 to 7.
    assert_eq!(pages.len(), 16);
    rewrite_as_old_format(&path, 4);
    assert_eq!(keys_of_kind(&path, FORMAT4_PAGE_PREFIX).len(), 8);
    assert!(keys_of_kind(&path, PAGE_PREFIX).is_empty());
    let marker = path.join(quarry::internals::layout::MARKER_FILE);
    std::fs::write(&marker, "quarry database, format 4\n").unwrap();

    let db = Db::open(&path).unwrap();
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(answers(&db), answered);
    assert_eq!(docs(&db.collection("c").unwrap()), documents);
    drop(db);
    assert_eq!(stored_format(&path), 5);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "quarry database, format 5\n"
    );
    assert_eq!(keys_of_kind(&path, PAGE_PREFIX), pages);
    assert_eq!(keys_of_kind(&path, BLOCK_PREFIX), blocks);
    assert!(keys_of_kind(&path, FORMAT4_PAGE_PREFIX).is_empty());
    assert_eq!(keys_of_kind(&path, DOC_PREFIX).len(), 1);
}

#[test]
fn splitting_pages_cut_short_by_a_crash_is_finished_at_the_next_open() {
    use quarry::internals::layout;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let (answered, documents) = fixture_with_a_document_apart(&path);
    let new_pages: Vec<(sled::IVec, sled::IVec)> = {
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        tree.scan_prefix([layout::PAGE_PREFIX])
            .map(Result::unwrap)
            .collect()
    };
    rewrite_as_old_format(&path, 4);
    {
        // The first batch of the split landed: format 4's page 0 (ids 1 to 3) is gone and
        // pages 0 and 1 (ids 1, then 2 and 3) are written; the format already says 5.
        let raw = raw_sled(&path);
        write_format(&raw, 5);
        std::fs::write(
            path.join(layout::MARKER_FILE),
            "quarry database, format 4\n",
        )
        .unwrap();
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let mut old_first = vec![layout::FORMAT4_PAGE_PREFIX];
        old_first.extend_from_slice(&0u64.to_be_bytes());
        assert!(tree.remove(old_first).unwrap().is_some());
        for (key, page) in &new_pages[..2] {
            tree.insert(key, page).unwrap();
        }
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(answers(&db), answered);
    assert_eq!(docs(&db.collection("c").unwrap()), documents);
    drop(db);
    assert_eq!(
        keys_of_kind(&path, layout::PAGE_PREFIX).len(),
        new_pages.len()
    );
    assert!(keys_of_kind(&path, layout::FORMAT4_PAGE_PREFIX).is_empty());
    // The open that finished the split also set the marker right.
    let marker = std::fs::read_to_string(path.join(layout::MARKER_FILE)).unwrap();
    assert_eq!(marker, "quarry database, format 5\n");
}

#[test]
fn a_damaged_format_4_page_is_left_for_check_and_the_rest_is_split() {
    use quarry::internals::layout::{self, DOC_PREFIX, FORMAT4_PAGE_PREFIX};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let (_, documents) = fixture_with_a_document_apart(&path);
    rewrite_as_old_format(&path, 4);
    {
        // Format 4's page 1 (ids 4 to 7) does not read, and the document stored apart (31,
        // in page 7) lost its own key.
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let mut damaged = vec![FORMAT4_PAGE_PREFIX];
        damaged.extend_from_slice(&1u64.to_be_bytes());
        tree.insert(damaged, &[7, 7, 7]).unwrap();
        assert!(tree.remove(layout::doc_key(31)).unwrap().is_some());
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    // Document 31 reads as an error; the damaged page's four are gone; the rest are whole.
    let read: Vec<_> = c.iter().collect();
    assert_eq!(read.iter().filter(|d| d.is_err()).count(), 1);
    let ids: Vec<u64> = read
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .map(|d| d.0)
        .collect();
    assert_eq!(ids, (1..=3).chain(8..=30).collect::<Vec<_>>());
    let whole: Vec<&Value> = documents
        .iter()
        .enumerate()
        .filter(|(i, _)| !(3..=6).contains(i) && *i != 30)
        .map(|(_, d)| d)
        .collect();
    let kept: Vec<&Value> = read
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .map(|d| &d.1)
        .collect();
    assert_eq!(kept, whole);
    let problems = problem_messages(&db);
    let has = |text: &str| problems.iter().any(|p| p.contains(text));
    assert!(has("format 4 document page"), "{problems:?}");
    assert!(has("left behind by an upgrade"), "{problems:?}");
    assert!(
        has("document 31 is stored apart from its page, but is not there"),
        "{problems:?}"
    );
    drop((c, db));
    assert_eq!(stored_format(&path), 5);
    assert_eq!(keys_of_kind(&path, FORMAT4_PAGE_PREFIX).len(), 1);
    assert!(keys_of_kind(&path, DOC_PREFIX).is_empty());
}

#[test]
fn repair_splits_a_format_4_page_and_drops_format_3_entries_left_in_a_current_collection() {
    use quarry::internals::{codec::pages, layout};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("left.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["n"]).unwrap();
        c.insert_many([json!({"n": 1}), json!({"n": 99})]).unwrap();
        db.flush().unwrap();
    }
    let body = {
        // Document 2's encoding, as its page holds it.
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let page = tree
            .get(layout::page_key(2 / pages::PAGE_SLOTS))
            .unwrap()
            .unwrap();
        let head = pages::read_page(&page).unwrap();
        let (_, pages::Body::Here(range)) = head[head.len() - 1].clone() else {
            panic!("stored apart")
        };
        page[range].to_vec()
    };
    {
        // A format 4 page with document 2's encoding as id 1 (which a current page holds)
        // and as id 3 (which none does), and a format 3 entry.
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let mut key = vec![layout::FORMAT4_PAGE_PREFIX];
        key.extend_from_slice(&0u64.to_be_bytes());
        let old = [(1, Some(body.as_slice())), (3, Some(body.as_slice()))];
        tree.insert(key, pages::encode_page(&old)).unwrap();
        tree.insert([layout::FORMAT3_ENTRY_PREFIX, 1, 9, 9], b"")
            .unwrap();
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let problems = problem_messages(&db);
    let left = |what: &str| {
        problems
            .iter()
            .any(|p| p.contains(what) && p.contains("left behind by an upgrade"))
    };
    assert!(left("format 4 document page"), "{problems:?}");
    assert!(left("format 3 index entry"), "{problems:?}");
    let repaired = db.repair().unwrap();
    assert!(repaired.is_clean(), "{:?}", repaired.problems);
    // The current page's document 1 wins over the old copy; document 3 comes from the old page.
    let c = db.collection("c").unwrap();
    assert_eq!(c.len().unwrap(), 3);
    assert_eq!(
        c.get_value(1).unwrap(),
        Some(value(json!({"_id": 1, "n": 1})))
    );
    assert_eq!(
        c.get_value(3).unwrap(),
        Some(value(json!({"_id": 3, "n": 99})))
    );
    assert_eq!(db.query("from c where n = 99").unwrap().count(), 2);
    drop((c, db));
    assert!(keys_of_kind(&path, layout::FORMAT4_PAGE_PREFIX).is_empty());
    assert!(keys_of_kind(&path, layout::FORMAT3_ENTRY_PREFIX).is_empty());
}

#[test]
fn a_format_1_database_is_upgraded_on_open_with_group_counts_built() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let before = old_format_fixture(&path);
    let groups = keys_of_kind(&path, quarry::internals::layout::GROUP_PREFIX);
    rewrite_as_old_format(&path, 1);
    assert!(keys_of_kind(&path, quarry::internals::layout::OLD_GROUP_PREFIX).is_empty());

    let db = Db::open(&path).unwrap();
    assert!(db.check().unwrap().is_clean());
    assert_eq!(answers(&db), before);
    assert!(
        before[2].contains(r#"{"org":"ICC","count":10}"#),
        "{}",
        before[2]
    );
    drop(db);
    assert_eq!(
        keys_of_kind(&path, quarry::internals::layout::GROUP_PREFIX),
        groups
    );
    assert_eq!(stored_format(&path), 5);
}

#[test]
fn a_conversion_cut_short_by_a_crash_is_finished_at_the_next_open() {
    use quarry::internals::layout;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let before = old_format_fixture(&path);
    let entries = entry_keys(&path);

    // Cut short before the mark: the format says 4, the old keys are all there and some
    // format 3 keys were written, one of them wrong.
    rewrite_as_old_format(&path, 2);
    {
        let raw = raw_sled(&path);
        write_format(&raw, 4);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let mut first = entries[0].clone();
        first[0] = layout::FORMAT3_ENTRY_PREFIX;
        tree.insert(first, b"").unwrap();
        tree.insert([layout::FORMAT3_ENTRY_PREFIX, 1, 4, 0, 0, 1, 99, 1], b"")
            .unwrap();
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(answers(&db), before);
    drop(db);

    // Cut short after the mark of format 3's keys: the old keys' deletion and the packing
    // into format 4's pages and blocks were left.
    rewrite_as_old_format(&path, 3);
    let converted: Vec<_> = {
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        tree.iter().map(Result::unwrap).collect()
    };
    rewrite_as_old_format(&path, 2);
    {
        let raw = raw_sled(&path);
        write_format(&raw, 4);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        for (key, value) in &converted {
            tree.insert(key, value).unwrap();
        }
        raw.flush().unwrap();
    }
    assert!(!keys_of_kind(&path, layout::OLD_ENTRY_PREFIX).is_empty());
    let db = Db::open(&path).unwrap();
    assert!(db.check().unwrap().is_clean());
    assert_eq!(answers(&db), before);
    drop(db);
    assert!(keys_of_kind(&path, layout::OLD_ENTRY_PREFIX).is_empty());
    assert!(keys_of_kind(&path, layout::OLD_GROUP_PREFIX).is_empty());
    assert_eq!(entry_keys(&path), entries);
}

#[test]
fn a_format_2_load_cut_short_while_holding_its_counts_back_is_rolled_back_after_conversion() {
    use quarry::internals::layout;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["n"]).unwrap();
        c.insert_many((0..10).map(|i| json!({"n": i % 2}))).unwrap();
        db.flush().unwrap();
    }
    {
        // A load into the empty collection that died holding back its counts: its documents
        // and entries are in, the counts still say nothing.
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        for key in tree.scan_prefix([layout::GROUP_PREFIX]).keys() {
            tree.remove(key.unwrap()).unwrap();
        }
        tree.insert(layout::JOURNAL_KEY, layout::journal_value(1, true))
            .unwrap();
        raw.flush().unwrap();
    }
    rewrite_as_old_format(&path, 2);
    let db = Db::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    assert!(c.is_empty().unwrap());
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    drop((c, db));
    assert!(entry_keys(&path).is_empty());
    assert!(keys_of_kind(&path, layout::GROUP_PREFIX).is_empty());
}

#[test]
fn check_finds_id_blocks_that_overlap_are_misplaced_or_do_not_decode() {
    use quarry::internals::{codec::ids, keycode, layout};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["n"]).unwrap();
        c.create_unique_index(&["k"]).unwrap();
        c.insert_many((1..=600).map(|i| json!({"n": i % 2, "k": i})))
            .unwrap();
        db.flush().unwrap();
    }
    let block_of = |number: u32, value: quarry::Value, first: u64| {
        let mut key = layout::block_prefix(number).to_vec();
        keycode::encode_value(&value, &mut key);
        keycode::append_id(first, &mut key);
        key
    };
    {
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let mut zero = layout::block_prefix(1).to_vec();
        keycode::encode_value(&quarry::Value::Int(0), &mut zero);
        let n0: Vec<sled::IVec> = tree.scan_prefix(&zero).keys().map(Result::unwrap).collect();
        assert_eq!(n0.len(), 2, "300 ids of n = 0 in two blocks");
        // The second block of n = 0 also claims document 300, which the first holds; the
        // first block of n = 1 no longer decodes; k = 7 holds a second document; the block
        // of k = 9 says it starts at document 9 but holds document 10.
        let mut second = ids::decode_ids(&tree.get(&n0[1]).unwrap().unwrap()).unwrap();
        assert_eq!(second[0], 302);
        second.insert(0, 300);
        tree.remove(&n0[1]).unwrap();
        tree.insert(
            block_of(1, quarry::Value::Int(0), 300),
            ids::encode_ids(&second),
        )
        .unwrap();
        tree.insert(
            block_of(2, quarry::Value::Int(9), 9),
            ids::encode_ids(&[10]),
        )
        .unwrap();
        tree.insert(block_of(1, quarry::Value::Int(1), 1), &[9, 9])
            .unwrap();
        tree.insert(
            block_of(2, quarry::Value::Int(7), 7),
            ids::encode_ids(&[7, 8]),
        )
        .unwrap();
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let problems = problem_messages(&db);
    let has = |text: &str| problems.iter().any(|p| p.contains(text));
    assert!(
        has("index `c_k` has a block keyed by document 9 that holds 1 ids from document 10"),
        "{problems:?}"
    );
    assert!(
        has("index `c_n` has blocks that overlap at document 300"),
        "{problems:?}"
    );
    assert!(
        has("index `c_n`: corrupt data: index block"),
        "{problems:?}"
    );
    assert!(
        has("unique index `c_k` holds a duplicate value (document 8)"),
        "{problems:?}"
    );
    let repaired = db.repair().unwrap();
    assert!(repaired.is_clean(), "{:?}", repaired.problems);
    assert_eq!(repaired.index_entries, 1200);
    assert_eq!(db.query("from c where n = 1").unwrap().count(), 300);
}

#[test]
fn repair_puts_back_a_document_stored_apart_that_no_page_lists_and_drops_a_stale_one() {
    use quarry::internals::codec::pages::PAGE_SLOTS;
    use quarry::internals::layout;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    let encoded = |id: u64| {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        let doc = c.get_value(id).unwrap().unwrap();
        drop((c, db));
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let page = tree
            .get(layout::page_key(id / PAGE_SLOTS))
            .unwrap()
            .unwrap();
        let head = quarry::internals::codec::pages::read_page(&page).unwrap();
        let (_, body) = head
            .into_iter()
            .find(|(slot, _)| *slot == id % PAGE_SLOTS)
            .unwrap();
        let quarry::internals::codec::pages::Body::Here(range) = body else {
            panic!("stored apart")
        };
        (doc, page[range].to_vec())
    };
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["n"]).unwrap();
        c.insert_many((1..=8).map(|i| json!({"n": i}))).unwrap();
        db.flush().unwrap();
    }
    let (doc5, bytes5) = encoded(5);
    let (_, bytes6) = encoded(6);
    {
        // Document 5 lost from its page but kept apart; a stale copy of 6 apart although its
        // page holds it.
        let raw = raw_sled(&path);
        let tree = raw.open_tree(layout::collection_tree(1)).unwrap();
        let page = tree.get(layout::page_key(5 / PAGE_SLOTS)).unwrap().unwrap();
        let head = quarry::internals::codec::pages::read_page(&page).unwrap();
        let kept: Vec<(u64, Option<&[u8]>)> = head
            .iter()
            .filter(|(slot, _)| *slot != 5 % PAGE_SLOTS)
            .map(|(slot, body)| match body {
                quarry::internals::codec::pages::Body::Here(r) => (*slot, Some(&page[r.clone()])),
                quarry::internals::codec::pages::Body::Apart => (*slot, None),
            })
            .collect();
        tree.insert(
            layout::page_key(5 / PAGE_SLOTS),
            quarry::internals::codec::pages::encode_page(&kept),
        )
        .unwrap();
        tree.insert(layout::doc_key(5), bytes5).unwrap();
        tree.insert(layout::doc_key(6), bytes6).unwrap();
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let problems = problem_messages(&db);
    let apart = problems
        .iter()
        .filter(|p| p.contains("stored apart but no page lists it"))
        .count();
    assert_eq!(apart, 2, "{problems:?}");
    let repaired = db.repair().unwrap();
    assert!(repaired.is_clean(), "{:?}", repaired.problems);
    let c = db.collection("c").unwrap();
    assert_eq!(c.get_value(5).unwrap(), Some(doc5));
    assert_eq!(c.len().unwrap(), 8);
    drop(c);
    drop(db);
    assert!(keys_of_kind(&path, layout::DOC_PREFIX).is_empty());
}

#[test]
fn check_finds_entries_and_documents_that_disagree_and_repair_fixes_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["n"]).unwrap();
        c.insert_many((0..10).map(|i| json!({"n": i}))).unwrap();
        db.flush().unwrap();
    }
    {
        // Damage it behind quarry's back: remove the block of n = 0, add a block that says
        // document 77 has n = 5.
        use quarry::internals::{codec::ids, keycode};
        let raw = raw_sled(&path);
        let tree = raw
            .open_tree(quarry::internals::layout::collection_tree(1))
            .unwrap();
        let prefix = quarry::internals::layout::block_prefix(1);
        let first = tree.scan_prefix(prefix).keys().next().unwrap().unwrap();
        tree.remove(&first).unwrap();
        let mut stray = prefix.to_vec();
        keycode::encode_value(&quarry::Value::Int(5), &mut stray);
        keycode::append_id(77, &mut stray);
        tree.insert(stray, ids::encode_ids(&[77])).unwrap();
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let report = db.check().unwrap();
    assert_eq!(report.problems.len(), 3, "{:?}", report.problems);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("2 group counts that disagree"))
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("missing 1 entries"))
    );
    assert!(report.problems.iter().any(|p| {
        p.message
            .contains("has entries for documents 77 that the documents do not give")
    }));
    let repaired = db.repair().unwrap();
    assert!(repaired.is_clean(), "{:?}", repaired.problems);
    assert_eq!(repaired.index_entries, 10);
}

#[test]
fn check_finds_a_damaged_text_index_and_repair_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.insert_many((0..300).map(|i| json!({"body": format!("coral reef {i} w{}", i % 9)})))
            .unwrap();
        c.create_text_index(&["body"], quarry::text::Language::English)
            .unwrap();
        db.flush().unwrap();
    }
    {
        // Damage it behind quarry's back: a posting block gone, a length page garbled.
        let raw = raw_sled(&path);
        let tree = raw
            .open_tree(quarry::internals::layout::collection_tree(1))
            .unwrap();
        let keys_of = |prefix: u8| {
            tree.scan_prefix([prefix])
                .keys()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        };
        let block = keys_of(quarry::internals::layout::POSTING_PREFIX)
            .into_iter()
            .find(|k| k.windows(3).any(|w| w == b"w3\0"))
            .unwrap();
        tree.remove(&block).unwrap();
        let page = keys_of(quarry::internals::layout::LENGTH_PREFIX).remove(0);
        tree.insert(page, &[3, 1][..]).unwrap();
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let report = db.check().unwrap();
    let said = |what: &str| report.problems.iter().any(|p| p.message.contains(what));
    assert!(
        said("disagrees with the documents on 1 term (`w3`)"),
        "{:?}",
        report.problems
    );
    assert!(
        said("document lengths that disagree"),
        "{:?}",
        report.problems
    );
    let repaired = db.repair().unwrap();
    assert!(repaired.is_clean(), "{:?}", repaired.problems);
    let found = db.query("from c where search 'w3'").unwrap().count();
    assert_eq!(found, (0..300).filter(|i| i % 9 == 3).count());
}

#[test]
fn threads_share_one_handle_and_writes_stay_consistent() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.create_index(&["t"]).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let id = c.insert(&json!({"t": t, "i": i})).unwrap();
                    if i % 3 == 0 {
                        c.update(id, &json!({"t": t, "i": -i})).unwrap();
                    }
                    if i % 5 == 0 {
                        assert!(c.delete(id).unwrap());
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(c.len().unwrap(), 4 * 80);
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

fn value(json: serde_json::Value) -> Value {
    Value::try_from(json).unwrap()
}

#[test]
fn a_bulk_load_is_all_or_nothing_across_many_batches() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.create_index(&["n"]).unwrap();
    c.create_unique_index(&["k"]).unwrap();
    c.insert(&json!({"n": -1, "k": "first"})).unwrap();
    let before: Vec<Value> = docs(&c);

    let mut load = c.bulk_load().unwrap();
    for i in 0..5000 {
        load.insert(value(json!({"n": i % 7, "k": format!("k{i}")})))
            .unwrap();
    }
    // A duplicate unique key in a later batch fails that batch…
    load.insert(value(json!({"k": "k1"}))).unwrap();
    let failed = (0..3000).try_for_each(|i| {
        load.insert(value(json!({"k": format!("x{i}")})))
            .map(|_| ())
    });
    let err = failed.and_then(|_| load.commit()).unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err}");
    // …and the load is dropped unfinished: everything it wrote is gone.
    assert_eq!(docs(&c), before);
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.index_entries, 2);

    let mut load = c.bulk_load().unwrap();
    for i in 0..4500 {
        load.insert(value(json!({"n": i, "k": format!("k{i}")})))
            .unwrap();
    }
    load.commit().unwrap();
    assert_eq!(c.len().unwrap(), 4501);
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn bulk_loads_into_an_empty_collection_keep_per_value_counts_right_through_a_failure() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.create_index(&["n"]).unwrap();
    c.create_unique_index(&["k"]).unwrap();
    let mut load = c.bulk_load().unwrap();
    for i in 0..2500 {
        load.insert(value(json!({"n": i % 3, "k": i}))).unwrap();
    }
    // The first batch is in; a duplicate in the second fails the load.
    load.insert(value(json!({"n": 0, "k": 7}))).unwrap();
    let failed =
        (0..2000).try_for_each(|i| load.insert(value(json!({"n": 9, "k": -i}))).map(|_| ()));
    assert!(failed.and_then(|_| load.commit()).is_err());
    assert!(c.is_empty().unwrap());
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);

    let mut load = c.bulk_load().unwrap();
    for i in 0..3000 {
        load.insert(value(json!({"n": i % 3, "k": i}))).unwrap();
    }
    load.commit().unwrap();
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    let counts = db
        .execute("count from c by n")
        .unwrap()
        .remove(0)
        .to_string();
    assert!(counts.contains(r#"{"n":0,"count":1000}"#), "{counts}");
}

#[test]
fn during_a_load_count_by_counts_the_entries_it_sees_and_the_counts_catch_up_at_commit() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.create_index(&["n"]).unwrap();
    c.insert_many((0..3).map(|_| json!({"n": 0}))).unwrap();
    let groups = || match db.execute("count from c by n").unwrap().remove(0) {
        quarry::query::Output::Groups(groups) => groups
            .iter()
            .map(|g| {
                (
                    g.get("n").unwrap().to_string(),
                    g.get("count").unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let count_where = |n: &str| db.query(&format!("from c where n = {n}")).unwrap().count();

    let mut load = c.bulk_load().unwrap();
    for i in 0..2500 {
        load.insert(value(json!({"n": i % 5}))).unwrap();
    }
    // Some batches are in, and the load holds back its count changes until it ends: `count
    // by` agrees with what queries see meanwhile, and so does `check`.
    assert!(c.len().unwrap() > 3, "no batch was applied yet");
    let during = groups();
    assert_eq!(during.len(), 5);
    for (n, count) in &during {
        assert_eq!(count_where(n).to_string(), *count, "n = {n}: {during:?}");
    }
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    let plan = |db: &Db| db.execute("explain count from c by n").unwrap()[0].to_string();
    assert!(
        plan(&db).contains("entries, counted while a load runs"),
        "{}",
        plan(&db)
    );

    load.commit().unwrap();
    assert!(plan(&db).contains("group counts"), "{}", plan(&db));
    let after = groups();
    assert_eq!(after[0], ("0".to_string(), "503".to_string()), "{after:?}");
    assert!(
        after[1..].iter().all(|(_, count)| count == "500"),
        "{after:?}"
    );
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[test]
fn a_journal_written_before_loads_held_counts_back_is_rolled_back_with_its_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old-journal.db");
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["n"]).unwrap();
        c.insert_many((0..3).map(|_| json!({"n": 0}))).unwrap();
        // Documents 4 to 13, with their counts applied, as a load used to leave them.
        c.insert_many((0..10).map(|_| json!({"n": 1}))).unwrap();
        db.flush().unwrap();
    }
    {
        // The journal as it used to be: only the load's first id.
        let raw = raw_sled(&path);
        raw.open_tree(quarry::internals::layout::collection_tree(1))
            .unwrap()
            .insert(quarry::internals::layout::JOURNAL_KEY, &4u64.to_be_bytes())
            .unwrap();
        raw.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(c.len().unwrap(), 3);
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    let counts = db
        .execute("count from c by n")
        .unwrap()
        .remove(0)
        .to_string();
    assert!(counts.contains(r#"{"n":0,"count":3}"#), "{counts}");
    assert!(!counts.contains(r#""n":1"#), "{counts}");
}

#[test]
fn a_rolled_back_upsert_load_restores_the_documents_it_replaced() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.create_index(&["v"]).unwrap();
    c.insert_many((0..10).map(|i| json!({"key": i, "v": "old"})))
        .unwrap();
    let before = docs(&c);
    let key: quarry::paths::Path = "key".parse().unwrap();

    let mut load = c.bulk_load().unwrap();
    for i in 5..15 {
        load.upsert(&key, value(json!({"key": i, "v": "new"})))
            .unwrap();
    }
    assert_eq!((load.inserted(), load.replaced()), (5, 5));
    load.rollback().unwrap();
    assert_eq!(docs(&c), before);
    assert!(db.check().unwrap().is_clean());

    let mut load = c.bulk_load().unwrap();
    for i in 5..15 {
        let (id, replaced) = load
            .upsert(&key, value(json!({"key": i, "v": "new"})))
            .unwrap();
        assert_eq!(replaced, i < 10);
        if i < 10 {
            assert_eq!(
                id,
                i as u64 + 1,
                "an upsert keeps the replaced document's id"
            );
        }
    }
    load.commit().unwrap();
    assert_eq!(c.len().unwrap(), 15);
    let new = docs(&c)
        .into_iter()
        .filter(|d| d.get("v") == Some(&Value::from("new")));
    assert_eq!(new.count(), 10);
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn an_import_interrupted_by_a_crash_is_rolled_back_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let before;
    {
        let db = Db::open(&path).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index(&["key"]).unwrap();
        c.insert_many((0..3).map(|i| json!({"key": i}))).unwrap();
        before = docs(&c);
        let key: quarry::paths::Path = "key".parse().unwrap();
        let mut load = c.bulk_load().unwrap();
        for i in 0..4000 {
            load.upsert(&key, value(json!({"key": i, "new": true})))
                .unwrap();
        }
        // The process dies: no commit, no rollback, no destructor.
        std::mem::forget(load);
        db.flush().unwrap();
    }
    let db = Db::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(docs(&c), before);
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.index_entries, 3);
}

#[test]
fn updates_keep_index_entries_in_step_whether_or_not_they_touch_indexed_fields() {
    let (_dir, db) = fresh();
    let c = db.collection("t").unwrap();
    c.create_index(&["org", "year"]).unwrap();
    c.create_index(&["tags"]).unwrap();
    let id = c
        .insert(&json!({"org": "ICC", "year": 2020, "tags": ["a", "b"], "n": 1}))
        .unwrap();
    let count = |q: &str| db.query(q).unwrap().count();
    // Only an unindexed field changes; then an indexed one to an equal number of another type;
    // then the indexed fields for real.
    c.update(
        id,
        &json!({"org": "ICC", "year": 2020, "tags": ["a", "b"], "n": 2}),
    )
    .unwrap();
    assert_eq!(
        count("from t where org = 'ICC' and year = 2020 and tags = 'b'"),
        1
    );
    c.update(
        id,
        &json!({"org": "ICC", "year": 2020.0, "tags": ["a", "b"], "n": 3}),
    )
    .unwrap();
    assert_eq!(count("from t where org = 'ICC' and year = 2020"), 1);
    c.update(
        id,
        &json!({"org": "ICC", "year": 2021, "tags": ["c"], "n": 4}),
    )
    .unwrap();
    assert_eq!(count("from t where org = 'ICC' and year = 2020"), 0);
    assert_eq!(count("from t where tags = 'a'"), 0);
    assert_eq!(
        count("from t where org = 'ICC' and year = 2021 and tags = 'c'"),
        1
    );
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{report:?}");
}

/// A compaction cut short at each step of its swap: the next open finds one whole store.
#[test]
fn an_interrupted_compaction_is_finished_or_undone_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let with = |n: usize, at: &std::path::Path| {
        let db = Db::open(at).unwrap();
        db.collection("t")
            .unwrap()
            .insert_many((0..n).map(|i| serde_json::json!({"i": i})))
            .unwrap();
        db.flush().unwrap();
    };
    let count = |at: &std::path::Path| {
        Db::open(at)
            .unwrap()
            .collection("t")
            .unwrap()
            .len()
            .unwrap()
    };
    let sibling = |suffix: &str| dir.path().join(format!("x.db.{suffix}"));
    // Before the swap: a copy in progress is dropped, the store stays.
    with(3, &path);
    with(5, &sibling("compacting"));
    assert_eq!(count(&path), 3);
    assert!(!sibling("compacting").exists());
    // Between the renames, the copy complete: it becomes the store.
    std::fs::rename(&path, sibling("compacted-old")).unwrap();
    with(7, &sibling("compacting"));
    std::fs::write(sibling("compacting").join("quarry.compacted"), b"").unwrap();
    assert_eq!(count(&path), 7);
    assert!(!sibling("compacted-old").exists() && !sibling("compacting").exists());
    // Between the renames, the copy not marked complete: the old store comes back.
    std::fs::rename(&path, sibling("compacted-old")).unwrap();
    with(9, &sibling("compacting"));
    assert_eq!(count(&path), 7);
    // After the swap: the old store is deleted.
    with(1, &sibling("compacted-old"));
    assert_eq!(count(&path), 7);
    assert!(!sibling("compacted-old").exists());
    // And compaction refuses while another handle holds the store.
    let held = Db::open(&path).unwrap();
    assert!(matches!(
        Db::compact(&path),
        Err(quarry::Error::Locked { .. })
    ));
    drop(held);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(Db::compact(&path).map(|_| count(&path)).unwrap(), 7);
}

/// What a [`quarry::BuildProgress`] was told, in order.
#[derive(Default)]
struct Told(std::sync::Mutex<Vec<String>>);

impl quarry::BuildProgress for Told {
    fn start(&self, index: &str, documents: u64) {
        self.0
            .lock()
            .unwrap()
            .push(format!("start {index} {documents}"));
    }
    fn done(&self, documents: u64) {
        self.0.lock().unwrap().push(format!("done {documents}"));
    }
    fn finish(&self) {
        self.0.lock().unwrap().push("finish".to_owned());
    }
}

impl Told {
    /// The running counts `done` reported.
    fn counts(&self) -> Vec<u64> {
        let told = self.0.lock().unwrap();
        told.iter()
            .filter_map(|t| t.strip_prefix("done ")?.parse().ok())
            .collect()
    }
}

#[test]
fn an_index_build_tells_its_progress_from_start_to_finish() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.insert_many((0..2500).map(|i| json!({"k": i % 7, "body": format!("word{} reef", i % 50)})))
        .unwrap();
    for text in [false, true] {
        let told = std::sync::Arc::new(Told::default());
        let reporting = c.with_progress(told.clone());
        let name = if text {
            reporting
                .create_text_index(&["body"], quarry::text::Language::English)
                .unwrap()
        } else {
            reporting.create_index(&["k"]).unwrap()
        };
        let said = told.0.lock().unwrap().clone();
        assert_eq!(said.first().unwrap(), &format!("start {name} 2500"));
        assert_eq!(said.last().unwrap(), "finish");
        assert_eq!(said.iter().filter(|s| s.starts_with("start")).count(), 1);
        assert_eq!(said.iter().filter(|s| *s == "finish").count(), 1);
        let counts = told.counts();
        // Reported as it goes (chunks of a thousand), never backwards, ending at the total.
        assert!(counts.len() >= 3, "{name}: {counts:?}");
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
        assert_eq!(counts.last(), Some(&2500));
    }
    // The handle without a progress still builds, silently.
    c.create_index(&["body"]).unwrap();
}

#[test]
fn a_failed_index_build_still_finishes_its_progress() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.insert_many((0..1500).map(|i| json!({"email": format!("{}@x.org", i % 1400)})))
        .unwrap();
    let told = std::sync::Arc::new(Told::default());
    let err = c
        .with_progress(told.clone())
        .create_unique_index(&["email"])
        .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err}");
    assert!(c.indexes().unwrap().is_empty());
    let said = told.0.lock().unwrap().clone();
    assert_eq!(said.first().unwrap(), "start c_email 1500");
    assert_eq!(said.last().unwrap(), "finish");
    assert_eq!(said.iter().filter(|s| *s == "finish").count(), 1);
}

#[test]
fn a_repair_tells_the_progress_of_each_index_it_rebuilds() {
    let (_dir, db) = fresh();
    let c = db.collection("c").unwrap();
    c.insert_many((0..1200).map(|i| json!({"k": i, "body": format!("reef {i}")})))
        .unwrap();
    c.create_index(&["k"]).unwrap();
    c.create_text_index(&["body"], quarry::text::Language::None)
        .unwrap();
    let told = std::sync::Arc::new(Told::default());
    assert!(
        db.repair_with_progress(Some(told.clone()))
            .unwrap()
            .is_clean()
    );
    let said = told.0.lock().unwrap().clone();
    let starts: Vec<&String> = said.iter().filter(|s| s.starts_with("start")).collect();
    assert_eq!(starts, ["start c_k 1200", "start c_text 1200"]);
    assert_eq!(said.iter().filter(|s| *s == "finish").count(), 2);
    assert_eq!(told.counts().iter().filter(|&&n| n == 1200).count(), 2);
}
