//! The query engine through `Db::execute`, `Db::query` and `Db::prepare`: ordering rules,
//! streaming, plans, prepared statements, atomic writes and the errors users see.

use quarry::query::{Output, Params};
use quarry::{Db, Error, Value};

fn db_with(docs: &str) -> Db {
    let db = Db::temporary().unwrap();
    db.execute(&format!("insert into t {docs}")).unwrap();
    db
}

fn ids(db: &Db, query: &str) -> Vec<i64> {
    db.query(query)
        .unwrap()
        .map(|row| row.unwrap().get("_id").and_then(Value::as_i64).unwrap())
        .collect()
}

fn text(db: &Db, statement: &str) -> String {
    db.execute(statement)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn prepared_ids(prepared: &quarry::query::Prepared, params: &Params) -> Vec<i64> {
    prepared
        .query_with(params)
        .unwrap()
        .map(|row| row.unwrap().get("_id").and_then(Value::as_i64).unwrap())
        .collect()
}

#[test]
fn order_by_puts_missing_first_ascending_and_descending_is_the_exact_reverse() {
    // Ties are broken by `_id` in the direction of the last order key.
    let db = db_with("[{a: 2}, {}, {a: 1}, {a: null}, {a: 2}, {a: 'x'}]");
    assert_eq!(ids(&db, "from t order by a"), [2, 4, 3, 1, 5, 6]);
    assert_eq!(ids(&db, "from t order by a desc"), [6, 5, 1, 3, 4, 2]);
    db.execute("create index on t (a)").unwrap();
    assert_eq!(ids(&db, "from t order by a desc limit 3"), [6, 5, 1]);
    assert_eq!(ids(&db, "from t order by a limit 2 offset 1"), [4, 3]);
}

#[test]
fn limit_without_sort_stops_reading_early() {
    let db = Db::temporary().unwrap();
    let docs: Vec<serde_json::Value> = (0..1000).map(|i| serde_json::json!({"n": i})).collect();
    db.collection("t").unwrap().insert_many(docs).unwrap();
    let plan = text(&db, "explain analyze from t where n >= 0 limit 10");
    assert!(
        plan.contains("Full scan of t  [est. 1000 rows]  [actual 10 rows"),
        "{plan}"
    );
}

/// Past the few thousand entries planning counts, one value of an index's leading path is
/// estimated from its group count; a ranked search keeps an intersection with an index that
/// selects few, and gives up one with an index that selects many for reading the best first.
#[test]
fn estimates_past_the_cap_come_from_group_counts() {
    let db = Db::temporary().unwrap();
    let t = db.collection("t").unwrap();
    t.create_index(&["org"]).unwrap();
    t.create_text_index(&["body"], quarry::text::Language::None)
        .unwrap();
    let org = |i: usize| match i % 100 {
        0 => "rare",
        1..=44 => "common",
        _ => "other",
    };
    t.insert_many(
        (0..5000).map(|i| serde_json::json!({"org": org(i), "body": format!("coral w{}", i % 3)})),
    )
    .unwrap();
    let plan = text(&db, "explain from t where org = 'common'");
    assert!(plan.contains("[est. 2200 rows]"), "{plan}");
    let ranked = |org: &str| {
        text(
            &db,
            &format!("explain select _id from t where search 'coral' and org = '{org}' limit 5"),
        )
    };
    assert!(
        ranked("rare").contains("Intersect ids"),
        "{}",
        ranked("rare")
    );
    assert!(
        !ranked("common").contains("Intersect ids"),
        "{}",
        ranked("common")
    );
    let best = ids(
        &db,
        "select _id from t where search 'coral' and org = 'common' limit 5",
    );
    assert_eq!(best.len(), 5);
}

#[test]
fn explain_shows_when_a_query_reads_ahead_on_a_second_thread() {
    let db = Db::temporary().unwrap();
    let docs: Vec<serde_json::Value> = (0..3000).map(|i| serde_json::json!({"n": i})).collect();
    db.collection("t").unwrap().insert_many(docs).unwrap();
    // Expected to read 3,000 documents: found on a second thread, handed over in order.
    let plan = text(&db, "explain analyze from t where n >= 10");
    assert!(
        plan.contains("Read ahead on a second thread  [actual 2990 rows"),
        "{plan}"
    );
    let ns: Vec<i64> = db
        .query("from t where n >= 10")
        .unwrap()
        .map(|r| r.unwrap().get("n").and_then(Value::as_i64).unwrap())
        .collect();
    assert_eq!(ns, (10..3000).collect::<Vec<i64>>());
    // A limit without a sort reads no more than it keeps: one thread.
    assert!(!text(&db, "explain from t where n >= 10 limit 10").contains("Read ahead"));
    // A sort reads everything it finds, whatever it keeps.
    assert!(text(&db, "explain from t order by n desc limit 3").contains("Read ahead"));
    // Turned off, no query reads ahead.
    let mut one_thread = quarry::query::Session::new(db.clone());
    one_thread.set_read_ahead(None);
    let plan = one_thread.execute("explain from t where n >= 10").unwrap();
    assert!(!plan[0].to_string().contains("Read ahead"));
}

#[test]
fn documents_found_by_id_read_by_both_threads_come_as_on_one_thread() {
    // Reading ahead, the second thread leaves some of an id scan's documents for the caller to
    // read (and test); the rows, their order and what the filter lets through stay the same.
    let docs: Vec<serde_json::Value> = (0..6000)
        .map(|i| serde_json::json!({"g": i % 3, "n": i, "tag": if i % 7 == 0 { "x" } else { "y" }}))
        .collect();
    let open = |read_ahead| {
        let db = Db::temporary().unwrap();
        let t = db.collection("t").unwrap();
        t.insert_many(docs.clone()).unwrap();
        t.create_index(&["g", "n"]).unwrap();
        // Gaps in the ids an index scan finds: deleted documents are passed over.
        db.execute("delete from t where n in [1, 4, 100, 2000, 5998]")
            .unwrap();
        db.execute("delete from t where n >= 3000 and n < 3300")
            .unwrap();
        let mut session = quarry::query::Session::new(db);
        session.set_read_ahead(read_ahead);
        session
    };
    let (mut two, mut one) = (open(Some(0)), open(None));
    for query in [
        "from t where g = 1",
        "from t where g = 2 and tag = 'x'",
        "from t where g in [0, 2] and n >= 100",
        "from t where _id in [5, 6, 7, 70000] or g = 1",
        "from t where g = 0 order by n desc",
    ] {
        let plan = two.execute(&format!("explain {query}")).unwrap();
        assert!(plan[0].to_string().contains("Read ahead"), "{query}");
        let rows = |session: &mut quarry::query::Session| {
            session
                .query(query)
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        };
        let (got, want) = (rows(&mut two), rows(&mut one));
        assert!(!want.is_empty(), "{query}");
        assert_eq!(got, want, "{query}");
        let typed: Vec<serde_json::Value> = two
            .query(query)
            .unwrap()
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        let as_json: Vec<serde_json::Value> = want.iter().map(Value::to_json).collect();
        assert_eq!(typed, as_json, "{query}");
    }
}

#[test]
fn top_k_sorts_without_an_index_and_keeps_only_k() {
    let db = Db::temporary().unwrap();
    let docs: Vec<serde_json::Value> = (0..500)
        .map(|i| serde_json::json!({"n": (i * 37) % 500}))
        .collect();
    db.collection("t").unwrap().insert_many(docs).unwrap();
    let top: Vec<i64> = db
        .query("from t order by n desc limit 3")
        .unwrap()
        .map(|r| r.unwrap().get("n").and_then(Value::as_i64).unwrap())
        .collect();
    assert_eq!(top, [499, 498, 497]);
    assert!(text(&db, "explain from t order by n desc limit 3").contains("Top 3 by n desc"));
}

#[test]
fn an_index_gives_order_and_counts_without_reading_documents() {
    let db = Db::temporary().unwrap();
    let docs: Vec<serde_json::Value> = (0..300)
        .map(|i| {
            let org = ["ICC", "HRW", "MWA"][i % 3];
            serde_json::json!({"org": org, "year": 2000 + (i % 25)})
        })
        .collect();
    db.collection("t").unwrap().insert_many(docs).unwrap();
    db.execute("create index on t (org, year)").unwrap();
    let plan = text(
        &db,
        "explain from t where org = 'ICC' order by year desc limit 5",
    );
    assert!(
        plan.contains("Index scan t_org_year (org = \"ICC\") backwards"),
        "{plan}"
    );
    assert!(!plan.contains("Sort"), "{plan}");
    let count = text(
        &db,
        "explain count from t where org = 'ICC' and year >= 2020",
    );
    assert!(
        count.contains("Count index keys (no documents read)"),
        "{count}"
    );
    assert_eq!(
        text(&db, "count from t where org = 'ICC' and year >= 2020"),
        "20\n"
    );
    let groups = text(&db, "explain count from t by org");
    assert!(
        groups.contains("from index t_org_year group counts"),
        "{groups}"
    );
}

#[test]
fn writes_report_what_they_changed_and_are_atomic() {
    let db = db_with("[{k: 1, v: 'a'}, {k: 2, v: 'b'}, {k: 3, v: 'c'}]");
    db.execute("create unique index on t (v)").unwrap();
    assert_eq!(
        text(&db, "update t set w = true where k >= 2"),
        "updated 2 documents\n"
    );
    // Setting every v to the same value breaks the unique index: nothing changes.
    let err = db
        .execute("update t set v = 'same' where exists k")
        .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err}");
    assert_eq!(text(&db, "count where v = 'same'"), "0\n");
    assert_eq!(
        text(&db, "update t unset w where k = 3"),
        "updated 1 document\n"
    );
    assert_eq!(text(&db, "count where exists w"), "1\n");
    assert_eq!(
        text(&db, "delete from t where k = 1"),
        "deleted 1 document\n"
    );
    assert_eq!(text(&db, "delete from t all"), "deleted 2 documents\n");
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn statements_without_from_use_the_only_or_current_collection() {
    let db = db_with("{a: 1}");
    assert_eq!(text(&db, "count"), "1\n");
    db.execute("insert into u {b: 1}").unwrap();
    let err = db.execute("count").unwrap_err();
    assert!(err.to_string().contains("which collection?"), "{err}");
    let mut session = quarry::query::Session::new(db);
    session.execute("use u").unwrap();
    let out = session.execute("count where b = 1").unwrap();
    assert!(matches!(out[0], Output::Count(1)));
}

#[test]
fn runtime_errors_are_clear() {
    let db = db_with("{title: 'x'}");
    let message = |q: &str| db.execute(q).unwrap_err().to_string();
    assert_eq!(
        message("from articels"),
        "collection `articels` not found (collections: t)"
    );
    db.execute("insert into articles {a: 1}").unwrap();
    assert_eq!(
        message("from articels"),
        "collection `articels` not found; did you mean `articles`?"
    );
    assert_eq!(
        message("from t limit 'ten'"),
        "`limit` takes a whole number ≥ 0, not \"ten\""
    );
    assert_eq!(
        message("from t limit -1"),
        "`limit` takes a whole number ≥ 0, not -1"
    );
    assert_eq!(
        message("from t where a = $p"),
        "no value is bound for parameter $p"
    );
    assert_eq!(message("drop index nope"), "index `nope` not found");
    assert!(message("from t where title matches $1").contains("no value is bound"));
    let parse = db.execute("from t whre a = 1").unwrap_err();
    assert!(matches!(parse, Error::Parse(_)));
    assert_eq!(
        parse.to_string(),
        "line 1, column 8: unexpected `whre`: expected `where`, `group by`, `order by`, `limit`, `offset` or the end of the statement (did you mean `where`?)"
    );
}

#[test]
fn select_projects_paths_and_show_statements_describe_the_database() {
    let db = db_with("[{a: {b: 1}, t: [5, 6]}, {a: 2}]");
    assert_eq!(
        text(&db, "select a.b, t[1], missing from t"),
        "{\"a.b\":1,\"t[1]\":6,\"missing\":null}\n{\"a.b\":null,\"t[1]\":null,\"missing\":null}\n"
    );
    db.execute("create index on t (a.b)").unwrap();
    assert_eq!(
        text(&db, "show collections"),
        "{\"name\":\"t\",\"documents\":2,\"indexes\":1}\n"
    );
    assert_eq!(
        text(&db, "show indexes"),
        "{\"name\":\"t_a_b\",\"collection\":\"t\",\"paths\":\"a.b\",\"unique\":false,\"multikey\":false,\"kind\":\"values\"}\n"
    );
    assert!(
        text(&db, "show fields")
            .contains("{\"path\":\"a\",\"types\":\"number, object\",\"documents\":2}")
    );
}

#[test]
fn query_with_binds_parameters_and_query_as_gives_types() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Row {
        _id: u64,
        org: String,
    }
    let db = db_with("[{org: 'ICC'}, {org: 'HRW'}]");
    let params = quarry::query::Params::new().with("org", "HRW");
    let rows: Vec<Value> = db
        .query_with("where org = $org", &params)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 1);
    let typed: Vec<Row> = db.query_as("where org = 'ICC'").unwrap();
    assert_eq!(
        typed,
        [Row {
            _id: 1,
            org: "ICC".into()
        }]
    );
}

#[test]
fn a_backwards_index_scan_gives_ties_in_descending_id_order_as_a_sort_does() {
    // Runs of 1, 40 and 17 equal values.
    let mut docs: Vec<String> = Vec::new();
    for i in 0..58 {
        let v = match i {
            0 => 0,
            1..41 => 1,
            _ => 2,
        };
        docs.push(format!("{{v: {v}, w: {}}}", i % 3));
    }
    let db = db_with(&format!("[{}]", docs.join(", ")));
    let queries = [
        "from t order by v desc",
        "from t order by v desc limit 20",
        "from t order by v desc limit 5 offset 15",
        "from t where v <= 1 order by v desc limit 30",
        "from t where v >= 1 and w = 2 order by v desc",
    ];
    let unindexed: Vec<Vec<i64>> = queries.iter().map(|q| ids(&db, q)).collect();
    db.execute("create index on t (v)").unwrap();
    let plan = text(&db, "explain from t order by v desc limit 20");
    assert!(plan.contains("Index scan t_v backwards"), "{plan}");
    for (query, expected) in queries.iter().zip(&unindexed) {
        assert_eq!(&ids(&db, query), expected, "{query}");
    }
    assert_eq!(ids(&db, "from t order by v desc limit 3"), [58, 57, 56]);
    assert_eq!(
        ids(&db, "from t order by v limit 3 offset 40"),
        [41, 42, 43]
    );
}

#[test]
fn a_prepared_query_gives_the_rows_db_query_gives_on_the_same_text() {
    let db = db_with("[{d: 3}, {d: 1}, {d: 2}, {}, {d: 5}]");
    for query in [
        "from t order by d desc limit 3",
        "from t where d >= 2 order by d",
        "select d from t where exists d offset 1",
        "where d in [1, 5]",
    ] {
        let direct: Vec<Value> = db.query(query).unwrap().map(Result::unwrap).collect();
        let prepared = db.prepare(query).unwrap();
        for _ in 0..2 {
            let rows: Vec<Value> = prepared.query().unwrap().map(Result::unwrap).collect();
            assert_eq!(rows, direct, "{query}");
        }
    }
}

#[test]
fn a_prepared_query_binds_its_parameters_at_each_run() {
    let db = db_with("[{org: 'ICC'}, {org: 'HRW'}, {org: 'ICC'}]");
    let by_org = db.prepare("from t where org = $org").unwrap();
    assert_eq!(
        prepared_ids(&by_org, &Params::new().with("org", "ICC")),
        [1, 3]
    );
    assert_eq!(
        prepared_ids(&by_org, &Params::new().with("org", "HRW")),
        [2]
    );
    let err = by_org.query().unwrap_err();
    assert_eq!(err.to_string(), "no value is bound for parameter $org");
}

#[test]
fn a_prepared_write_applies_at_each_run() {
    let db = db_with("[{k: 1}, {k: 2}]");
    let insert = db.prepare("insert into t {k: 3}").unwrap();
    assert_eq!(
        insert.execute().unwrap().to_string(),
        "inserted 1 document\n"
    );
    assert_eq!(
        insert.execute().unwrap().to_string(),
        "inserted 1 document\n"
    );
    assert_eq!(text(&db, "count where k = 3"), "2\n");
    // The language has no arithmetic (`set n = n + 1`): each run sets what it is given.
    let tag = db.prepare("update t set tag = $tag where k = $k").unwrap();
    for (k, tag_value) in [(1i64, "one"), (3, "three")] {
        tag.execute_with(&Params::new().with("k", k).with("tag", tag_value))
            .unwrap();
    }
    assert_eq!(text(&db, "count where tag = 'one'"), "1\n");
    assert_eq!(text(&db, "count where tag = 'three'"), "2\n");
    let count = db.prepare("count from t where exists tag").unwrap();
    assert!(matches!(count.execute().unwrap(), Output::Count(3)));
    assert!(db.check().unwrap().is_clean());
}

#[test]
fn a_prepared_statement_that_is_not_a_query_cannot_be_queried() {
    let db = db_with("{a: 1}");
    let count = db.prepare("count from t").unwrap();
    assert_eq!(
        count.query().unwrap_err().to_string(),
        db.query("count from t").unwrap_err().to_string()
    );
    assert!(matches!(count.query().unwrap_err(), Error::Query(_)));
}

#[test]
fn prepare_takes_exactly_one_statement() {
    let db = db_with("{a: 1}");
    for text in ["", "  -- only a comment\n", ";"] {
        let err = db.prepare(text).unwrap_err();
        assert!(matches!(err, Error::Parse(_)), "{text:?}: {err}");
        assert!(err.to_string().contains("expected a statement"), "{err}");
    }
    let err = db.prepare("from t; count from t").unwrap_err();
    assert!(matches!(err, Error::Parse(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "line 1, column 9: expected one statement, found several"
    );
}

#[test]
fn a_parse_error_from_prepare_says_where() {
    let db = db_with("{a: 1}");
    let Error::Parse(err) = db.prepare("from t\nwhre a = 1").unwrap_err() else {
        panic!("not a parse error");
    };
    assert_eq!((err.line, err.column), (2, 1));
    assert_eq!(err.hint.as_deref(), Some("did you mean `where`?"));
}

#[test]
fn a_prepared_statement_is_planned_at_each_run_with_the_indexes_of_the_moment() {
    let db = db_with("[{org: 'ICC', n: 1}, {org: 'HRW', n: 2}, {org: 'ICC', n: 3}]");
    let query = db
        .prepare("from t where org = $org order by n desc limit 10")
        .unwrap();
    let explain = db
        .prepare("explain from t where org = $org order by n desc limit 10")
        .unwrap();
    let icc = Params::new().with("org", "ICC");
    let plan = |p: &Params| explain.execute_with(p).unwrap().to_string();
    assert_eq!(prepared_ids(&query, &icc), [3, 1]);
    assert!(plan(&icc).contains("Full scan of t"), "{}", plan(&icc));
    db.execute("create index on t (org, n)").unwrap();
    assert_eq!(prepared_ids(&query, &icc), [3, 1]);
    assert!(
        plan(&icc).contains("Index scan t_org_n (org = \"ICC\") backwards"),
        "{}",
        plan(&icc)
    );
    db.execute("drop index t_org_n").unwrap();
    assert_eq!(prepared_ids(&query, &icc), [3, 1]);
    assert!(plan(&icc).contains("Full scan of t"), "{}", plan(&icc));
}

#[test]
fn a_prepared_statement_can_be_shared_between_threads() {
    fn send_sync_clone_debug<T: Send + Sync + Clone + std::fmt::Debug>() {}
    send_sync_clone_debug::<quarry::query::Prepared>();
    let db = db_with("[{a: 1}, {a: 2}]");
    let prepared = db.prepare("from t where a = $1").unwrap();
    std::thread::scope(|s| {
        for a in [1i64, 2] {
            let prepared = prepared.clone();
            s.spawn(move || {
                assert_eq!(
                    prepared_ids(&prepared, &Params::new().with_positional(a)),
                    [a]
                );
            });
        }
    });
}

/// 5000 documents `{g: i % 5, n: i}` with an index on each field: scans longer than the
/// 2000 entries the planner counts when estimating, which the scan reads on from.
fn db_of_5000() -> Db {
    let db = Db::temporary().unwrap();
    let docs: Vec<serde_json::Value> = (0..5000)
        .map(|i| serde_json::json!({"g": i % 5, "n": i}))
        .collect();
    db.collection("t").unwrap().insert_many(docs).unwrap();
    db.execute("create index on t (g)").unwrap();
    db.execute("create index on t (n)").unwrap();
    db
}

#[test]
fn an_index_scan_longer_than_the_planners_count_returns_every_match_once() {
    let db = db_of_5000();
    let by_n = |keep: &dyn Fn(i64) -> bool| -> Vec<i64> {
        (0..5000).filter(|n| keep(*n)).map(|n| n + 1).collect()
    };
    assert_eq!(ids(&db, "from t where n >= 100"), by_n(&|n| n >= 100));
    assert_eq!(
        ids(&db, "from t where n > 1000 and n < 4000"),
        by_n(&|n| n > 1000 && n < 4000)
    );
    assert_eq!(
        ids(&db, "from t where n in [4, 4999] or n < 3"),
        [1, 2, 3, 5, 5000]
    );
    // Three ranges of 1000 entries: the count stops at the end of the second. Without a
    // limit the ids are sorted before the documents are read; with one, the scan streams in
    // key order and reads on from where the count stopped.
    let plan = text(&db, "explain from t where g in [1, 2, 4]");
    assert!(plan.contains("Index scan t_g"), "{plan}");
    assert!(plan.contains("ids sorted"), "{plan}");
    assert_eq!(
        ids(&db, "from t where g in [1, 2, 4]"),
        by_n(&|n| [1, 2, 4].contains(&(n % 5)))
    );
    let mut in_groups = by_n(&|n| n % 5 == 1);
    in_groups.extend(by_n(&|n| n % 5 == 2));
    in_groups.extend(by_n(&|n| n % 5 == 4).into_iter().take(500));
    let plan = text(&db, "explain from t where g in [1, 2, 4] limit 2500");
    assert!(!plan.contains("ids sorted"), "{plan}");
    assert_eq!(
        ids(&db, "from t where g in [1, 2, 4] limit 2500"),
        in_groups
    );
    assert_eq!(
        text(&db, "count from t where g in [1, 2, 4]").trim(),
        "3000"
    );
    assert_eq!(text(&db, "count from t where n >= 100").trim(), "4900");
    assert_eq!(
        ids(&db, "from t where n >= 2500 order by n limit 3"),
        [2501, 2502, 2503]
    );
}

#[test]
fn rows_read_after_a_write_see_it_as_a_scan_started_then_would() {
    // The planner read the first 2000 entries of `n >= 100` when the query was made; the
    // update then moves 100 documents into the range, before the entries it read.
    let db = db_of_5000();
    let rows = db.query("from t where n >= 100").unwrap();
    db.execute("update t set n = 150 where n < 100").unwrap();
    let mut found: Vec<i64> = rows
        .map(|row| row.unwrap().get("_id").and_then(Value::as_i64).unwrap())
        .collect();
    found.sort();
    let every: Vec<i64> = (1..=5000).collect();
    assert!(
        found == every,
        "{} rows, from {:?}",
        found.len(),
        found.first()
    );
}

#[test]
fn update_statements_keep_indexes_in_step_with_the_documents() {
    let db = db_with("[{k: 1, tags: ['a'], body: 'x'}, {k: 2, tags: ['b'], body: 'y'}]");
    db.execute("create unique index on t (k); create index on t (tags)")
        .unwrap();
    // An indexed array changes, an unindexed field changes, the unique field clashes.
    db.execute("update t set tags = ['c', 'd'] where k = 1")
        .unwrap();
    db.execute("update t set body = 'z' where k = 2").unwrap();
    assert!(db.execute("update t set k = 2 where k = 1").is_err());
    assert_eq!(ids(&db, "from t where tags = 'c'"), [1]);
    assert_eq!(ids(&db, "from t where tags = 'a'"), Vec::<i64>::new());
    assert_eq!(ids(&db, "from t where k = 1 and body = 'x'"), [1]);
    assert_eq!(ids(&db, "from t where tags = 'b' and body = 'z'"), [2]);
    let report = db.check().unwrap();
    assert!(report.is_clean(), "{report:?}");
}

#[test]
fn a_raised_interrupt_stops_every_plan_even_one_that_reads_only_index_keys() {
    let db = db_of_5000();
    let mut session = quarry::query::Session::new(db.clone());
    let flag = quarry::query::Interrupt::default();
    session.set_interrupt(Some(flag.clone()));
    let statements = [
        // An index scan that gathers and sorts its ids before reading a document.
        "from t where n >= 100",
        // One that streams in key order.
        "from t where n >= 100 limit 10",
        // A count from index keys alone, which reads no document.
        "count from t where n >= 100",
        // A union and an intersection, which gather ids too, and a full scan.
        "from t where n < 10 or g = 1",
        "from t where n >= 100 and g = 2",
        "from t",
    ];
    flag.raise();
    for statement in statements {
        let outcome = if statement.starts_with("count") {
            session.execute(statement).map(|_| 0)
        } else {
            session
                .query(statement)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map(|rows| rows.len())
        };
        assert!(
            matches!(outcome, Err(Error::Interrupted)),
            "{statement}: {outcome:?}"
        );
    }
    flag.clear();
    assert_eq!(text(&db, "count from t where n >= 100").trim(), "4900");
    assert_eq!(
        session.query("from t where n >= 100").unwrap().count(),
        4900
    );
}

#[test]
fn explain_analyze_measures_the_grouping_and_the_steps_over_groups() {
    let db = db_with(
        r#"[{"org": "a", "w": 1}, {"org": "b", "w": 2}, {"org": "a", "w": 3}, {"org": "c"}]"#,
    );
    let plan = text(
        &db,
        "explain analyze select org, sum(w) as total from t group by org having total > 0 order by total desc limit 1",
    );
    let lines: Vec<&str> = plan.lines().collect();
    assert!(
        lines[0].starts_with("Project org, sum(w) as total  [actual 1 row"),
        "{plan}"
    );
    assert!(lines[1].contains("Limit 1  [actual 1 row"), "{plan}");
    assert!(
        lines[2].contains("Sort by total desc  [actual 2 rows"),
        "{plan}"
    );
    assert!(
        lines[3].contains("Having total > 0  [actual 2 rows"),
        "{plan}"
    );
    assert!(
        lines[4].contains("Group by org: sum(w)  [actual 3 rows"),
        "{plan}"
    );
    assert!(
        lines[5].contains("Full scan of t  [est. 4 rows]  [actual 4 rows"),
        "{plan}"
    );
}

#[test]
fn aggregate_rows_come_as_typed_values_through_every_entry_point() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Group {
        org: String,
        n: i64,
    }
    let db = db_with(r#"[{"org": "a"}, {"org": "b"}, {"org": "a"}]"#);
    let text = "select org, count() as n from t group by org order by n desc";
    let typed: Vec<Group> = db
        .query(text)
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        typed,
        [
            Group {
                org: "a".into(),
                n: 2
            },
            Group {
                org: "b".into(),
                n: 1
            }
        ]
    );
    let prepared = db
        .prepare("select count() as n from t where org = $1")
        .unwrap();
    let rows: Vec<quarry::Value> = prepared
        .query_with(&Params::new().with_positional("a"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows[0].get("n"), Some(&quarry::Value::Int(2)));
}

#[test]
fn groups_streamed_in_an_index_order_equal_groups_hashed_without_the_index() {
    let docs: Vec<serde_json::Value> = (0..300)
        .map(|i| match i % 5 {
            0 => serde_json::json!({"k": i % 7, "w": i}),
            1 => serde_json::json!({"k": (i % 7) as f64, "w": i}),
            2 => serde_json::json!({"k": format!("s{}", i % 3), "w": i}),
            3 => serde_json::json!({"w": i}),
            _ => serde_json::json!({"k": null, "w": [i]}),
        })
        .collect();
    let indexed = Db::temporary().unwrap();
    let plain = Db::temporary().unwrap();
    for db in [&indexed, &plain] {
        db.collection("t")
            .unwrap()
            .insert_many(docs.clone())
            .unwrap();
    }
    indexed.execute("create index on t (k)").unwrap();
    for filter in [
        "k >= 3",
        "k < 2",
        "k >= \"s1\"",
        "k between 1 and 5 and w > 10",
    ] {
        let query = format!(
            "select k, count() as n, sum(w) as total, max(w) as last from t where {filter} group by k"
        );
        let plan = text(&indexed, &format!("explain {query}"));
        assert!(plan.contains("(rows in key order)"), "{plan}");
        assert_eq!(text(&indexed, &query), text(&plain, &query), "{query}");
    }
}
