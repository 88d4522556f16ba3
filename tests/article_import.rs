//! The article reader on the project's own samples (`examples/data/articles/`), on edge cases,
//! and on the real examples in `../shared/seed-articles/` when that folder is present.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use quarry::Value;
use quarry::import::article::{ArticleError, Extracted, Layout, parse_article};

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/articles")
}

fn read_sample(name: &str) -> Extracted {
    let bytes = fs::read(samples_dir().join(name)).expect("the sample file exists");
    parse_article(&bytes, name).expect("the sample file reads as an article")
}

fn read_text(text: &str) -> Extracted {
    parse_article(text.as_bytes(), "case.txt").expect("the text reads as an article")
}

fn date_string(e: &Extracted) -> Option<String> {
    e.article.date.map(|d| d.to_string())
}

/// What a sample must read as.
struct Expected {
    file: &'static str,
    layout: Layout,
    org: Option<&'static str>,
    org_name: Option<&'static str>,
    date: Option<&'static str>,
    location: Option<&'static str>,
    title: &'static str,
    contacts: &'static [&'static str],
}

const ICC: Option<&str> = Some("International Coral Council");
const HRW: Option<&str> = Some("Harbour Rights Watch");
const MWA: Option<&str> = Some("Mountain Water Alliance");

const SAMPLES: &[Expected] = &[
    Expected {
        file: "2018-03-ICC-cairns-bleaching-alert.txt",
        layout: Layout::Dateline,
        org: Some("ICC"),
        org_name: ICC,
        date: Some("2018-03-12"),
        location: Some("Cairns, Australia"),
        title: "Field teams from the International Coral Council recorded the first signs of bleaching on four inshore reefs near Cairns…",
        contacts: &["media@coral-council.example"],
    },
    Expected {
        file: "2021-03-ICC-reef-survey.txt",
        layout: Layout::Dateline,
        org: Some("ICC"),
        org_name: ICC,
        date: Some("2021-03-04"),
        location: Some("Suva, Fiji"),
        title: "The International Coral Council has completed its largest reef survey to date, counting fish, coral cover and sea…",
        contacts: &[
            "survey@coral-council.example",
            "press@coral-council.example",
        ],
    },
    Expected {
        file: "2023-07-ICC-nursery-results.txt",
        layout: Layout::Dateline,
        org: Some("ICC"),
        org_name: ICC,
        date: Some("2023-07-19"),
        location: Some("Honolulu, Hawaii"),
        title: "Coral nurseries double their survival rate",
        contacts: &["nurseries@coral-council.example"],
    },
    Expected {
        file: "2019-06-HRW-dockworkers-report.txt",
        layout: Layout::Dateline,
        org: Some("HRW"),
        org_name: HRW,
        date: Some("2019-06-25"),
        location: Some("Rotterdam, Netherlands"),
        title: "Temporary dock workers at three container terminals routinely work shifts of fourteen hours or more, Harbour Rights…",
        contacts: &["reports@harbourrights.example"],
    },
    Expected {
        file: "2022-10-HRW-valparaiso-shifts.txt",
        layout: Layout::Dateline,
        org: Some("HRW"),
        org_name: HRW,
        date: Some("2022-10-03"),
        location: Some("Valparaíso, Chile"),
        title: "A new agreement between the port of Valparaíso and the two unions representing crane operators caps night shifts at nine…",
        contacts: &["c.moreno@harbourrights.example"],
    },
    Expected {
        file: "2020-02-MWA-kathmandu-springs.txt",
        layout: Layout::Dateline,
        org: Some("MWA"),
        org_name: MWA,
        date: Some("2020-02-14"),
        location: Some("Kathmandu, Nepal"),
        title: "Nearly half of the springs that supply hill villages around the Kathmandu valley now run dry for at least two months a…",
        contacts: &[],
    },
    Expected {
        file: "2024-04-MWA-la-paz-glacier-meltwater.txt",
        layout: Layout::Dateline,
        org: Some("MWA"),
        org_name: MWA,
        date: Some("2024-04-08"),
        location: Some("La Paz, Bolivia"),
        title: "Meltwater from the glaciers above La Paz now makes up less than a tenth of the city's dry season supply, down from about…",
        contacts: &[
            "m.quispe@mountainwater.example",
            "press@mountainwater.example",
        ],
    },
    Expected {
        file: "2020-11-COL-library-lending.txt",
        layout: Layout::Dateline,
        org: Some("COL"),
        org_name: Some("Coalition for Open Libraries"),
        date: Some("2020-11-20"),
        location: Some("Washington, D.C."),
        title: "Public libraries in the United States lent more e-books in the first nine months of 2020 than in the whole of 2019, but…",
        contacts: &["policy@openlibraries.example"],
    },
    Expected {
        file: "2021-08-DLF-school-solar.txt",
        layout: Layout::Dateline,
        org: Some("DLF"),
        org_name: Some("Desert Light Foundation"),
        date: Some("2021-08-30"),
        location: Some("Marrakesh, Morocco"),
        title: "Thirty-two rural schools in the foothills south of Marrakesh will start the new school year with solar panels, batteries…",
        contacts: &[],
    },
    Expected {
        file: "2018-05-news-bergen-ferry-strike.txt",
        layout: Layout::Newspaper,
        org: None,
        org_name: None,
        date: Some("2018-05-07"),
        location: None,
        title: "Ferry crews in Bergen vote to end strike after nine days",
        contacts: &[],
    },
    Expected {
        file: "2019-09-news-saltmere-library-reopens.txt",
        layout: Layout::Newspaper,
        org: None,
        org_name: None,
        date: Some("2019-09-09"),
        location: None,
        title: "Saltmere library reopens with a seed exchange and a repair café",
        contacts: &["repairs@saltmerelibrary.example"],
    },
    Expected {
        file: "2022-06-news-seville-heat-record.txt",
        layout: Layout::Newspaper,
        org: None,
        org_name: None,
        date: Some("2022-06-02"),
        location: None,
        title: "Seville opens night-time shade routes as June heat breaks records",
        contacts: &[],
    },
    Expected {
        file: "2024-01-news-lisbon-tram-line.txt",
        layout: Layout::Newspaper,
        org: None,
        org_name: None,
        date: Some("2024-01-15"),
        location: None,
        title: "Lisbon brings back a riverside tram line after forty years",
        contacts: &["metro@dailyharbour.example"],
    },
    Expected {
        file: "2022-09-volunteer-weekend-note.txt",
        layout: Layout::Unknown,
        org: None,
        org_name: None,
        date: Some("2022-09-17"),
        location: None,
        title: "Notes from the autumn volunteer weekend",
        contacts: &["ruth.fenwick@marshfriends.example"],
    },
    Expected {
        file: "undated-kayak-club-memo.txt",
        layout: Layout::Unknown,
        org: None,
        org_name: None,
        date: None,
        location: None,
        title: "Members of the harbour kayak club are reminded that from the first of next month all boats stored in the club shed must…",
        contacts: &[],
    },
];

#[test]
fn every_sample_reads_with_its_expected_fields() {
    for e in SAMPLES {
        let got = read_sample(e.file);
        let a = &got.article;
        assert_eq!(a.layout, e.layout, "{}: layout", e.file);
        assert_eq!(a.org.as_deref(), e.org, "{}: org", e.file);
        assert_eq!(a.org_name.as_deref(), e.org_name, "{}: org_name", e.file);
        assert_eq!(date_string(&got).as_deref(), e.date, "{}: date", e.file);
        assert_eq!(a.location.as_deref(), e.location, "{}: location", e.file);
        assert_eq!(a.title.as_deref(), Some(e.title), "{}: title", e.file);
        assert_eq!(a.contacts, e.contacts, "{}: contacts", e.file);
        assert_eq!(a.source, e.file, "{}: source", e.file);
    }
}

#[test]
fn every_sample_file_has_expectations_and_the_set_is_varied() {
    let mut on_disk: Vec<String> = fs::read_dir(samples_dir())
        .expect("the samples folder exists")
        .map(|entry| entry.expect("a readable entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = SAMPLES.iter().map(|e| e.file.to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);

    let count = |layout| SAMPLES.iter().filter(|e| e.layout == layout).count();
    assert!(count(Layout::Dateline) >= 8);
    assert!(count(Layout::Newspaper) >= 4);
    assert!(count(Layout::Unknown) >= 2);

    let mut by_org: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for e in SAMPLES {
        *by_org.entry(e.org).or_default() += 1;
    }
    assert_eq!(by_org.get(&Some("ICC")), Some(&3));
    assert!(by_org.len() >= 5, "{by_org:?}");
    let years: Vec<&str> = SAMPLES
        .iter()
        .filter_map(|e| e.date)
        .map(|d| &d[..4])
        .collect();
    for year in ["2018", "2019", "2020", "2021", "2022", "2023", "2024"] {
        assert!(years.contains(&year), "no sample from {year}");
    }
}

#[test]
fn samples_in_a_known_layout_read_without_warnings() {
    for e in SAMPLES.iter().filter(|e| e.layout != Layout::Unknown) {
        let got = read_sample(e.file);
        let hidden = e.file == "2021-08-DLF-school-solar.txt";
        assert_eq!(
            got.warnings.len(),
            usize::from(hidden),
            "{}: {:?}",
            e.file,
            got.warnings
        );
    }
}

#[test]
fn a_file_in_no_known_layout_warns_with_its_name() {
    for file in [
        "2022-09-volunteer-weekend-note.txt",
        "undated-kayak-club-memo.txt",
    ] {
        let got = read_sample(file);
        assert!(
            got.warnings
                .iter()
                .any(|w| w.starts_with(file) && w.contains("no dateline")),
            "{file}: {:?}",
            got.warnings
        );
    }
    let undated = read_sample("undated-kayak-club-memo.txt");
    assert_eq!(
        undated.warnings,
        [
            "undated-kayak-club-memo.txt: no dateline or header found; not found: date, org, location"
        ]
    );
}

#[test]
fn sample_bodies_hold_no_page_furniture() {
    for e in SAMPLES {
        let a = read_sample(e.file).article;
        for furniture in [
            "Select Page",
            "Go to contents",
            "Posted ",
            "Updated ",
            "since 1987",
            "since 2004",
        ] {
            assert!(!a.body.contains(furniture), "{}: {furniture}", e.file);
        }
        assert!(!a.body.contains('\u{a0}'), "{}: non-breaking space", e.file);
        assert!(!a.body.contains("  "), "{}: double space", e.file);
        assert!(!a.body.contains("\n\n\n"), "{}: blank lines", e.file);
        assert_eq!(a.body, a.body.trim(), "{}: surrounding whitespace", e.file);
    }
}

#[test]
fn the_dateline_is_not_part_of_the_body() {
    let a = read_sample("2018-03-ICC-cairns-bleaching-alert.txt").article;
    assert!(
        a.body
            .starts_with("Field teams from the International Coral Council")
    );
    assert!(!a.body.contains("03/12/2018"));
}

#[test]
fn a_repeated_headline_is_the_title_once_and_not_in_the_body() {
    let a = read_sample("2018-05-news-bergen-ferry-strike.txt").article;
    let headline = "Ferry crews in Bergen vote to end strike after nine days";
    assert_eq!(a.title.as_deref(), Some(headline));
    assert!(!a.body.contains(headline));
    assert!(a.body.starts_with("Ferry services between Bergen"));
}

#[test]
fn a_headline_above_the_dateline_is_the_title() {
    let a = read_sample("2023-07-ICC-nursery-results.txt").article;
    assert!(!a.body.contains("Coral nurseries double"));
    assert!(
        a.body
            .starts_with("Young corals raised on floating rope nurseries")
    );
}

#[test]
fn a_title_from_the_first_sentence_is_cut_at_a_word_boundary_near_120_chars() {
    for e in SAMPLES.iter().filter(|e| e.title.ends_with('…')) {
        let a = read_sample(e.file).article;
        let title = a.title.expect("a title");
        let kept = title.trim_end_matches('…');
        assert!(title.chars().count() <= 121, "{title}");
        assert!(title.chars().count() >= 100, "{title}");
        assert!(a.body.starts_with(kept), "{title}");
        let next = a.body[kept.len()..].chars().next();
        assert_eq!(next, Some(' '), "{}: cut inside a word", e.file);
    }
}

#[test]
fn a_short_first_sentence_is_the_whole_title() {
    let got = read_text("The ferry is late. Again.\n\nMore text follows here.");
    assert_eq!(got.article.title.as_deref(), Some("The ferry is late."));
}

#[test]
fn paragraphs_are_kept_and_words_are_counted() {
    let a = read_sample("2021-03-ICC-reef-survey.txt").article;
    assert_eq!(a.body.split("\n\n").count(), 6);
    let one_per_line = read_sample("2019-06-HRW-dockworkers-report.txt").article;
    assert_eq!(one_per_line.body.split("\n\n").count(), 6);
    let words = a
        .body
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric));
    assert_eq!(a.words, words.count() as u64);
    assert_eq!(a.words, 189);
}

#[test]
fn contacts_are_deduplicated_in_order_without_the_sentence_period() {
    let a = read_sample("2021-03-ICC-reef-survey.txt").article;
    assert_eq!(
        a.contacts,
        [
            "survey@coral-council.example",
            "press@coral-council.example"
        ]
    );
}

#[test]
fn an_obfuscated_address_is_not_a_contact_and_is_reported() {
    let got = read_sample("2021-08-DLF-school-solar.txt");
    assert!(got.article.contacts.is_empty());
    assert_eq!(
        got.warnings,
        [
            "2021-08-DLF-school-solar.txt: an e-mail address hidden by the web page ([email protected]) was left out of contacts"
        ]
    );
}

#[test]
fn the_stored_document_has_every_field_in_order() {
    let doc = read_sample("2020-11-COL-library-lending.txt")
        .article
        .to_value();
    let fields: Vec<(&str, Value)> = doc
        .as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let names: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "org", "org_name", "date", "year", "month", "location", "title", "author", "tags",
            "language", "body", "words", "contacts", "source"
        ]
    );
    assert_eq!(doc.get("author"), Some(&Value::Null));
    assert_eq!(doc.get("tags"), Some(&Value::Null));
    assert_eq!(doc.get("language"), Some(&Value::from("en")));
    assert_eq!(doc.get("org"), Some(&Value::from("COL")));
    assert_eq!(
        doc.get("org_name"),
        Some(&Value::from("Coalition for Open Libraries"))
    );
    assert_eq!(doc.get("date"), Some(&Value::from("2020-11-20")));
    assert_eq!(doc.get("year"), Some(&Value::Int(2020)));
    assert_eq!(doc.get("month"), Some(&Value::Int(11)));
    assert_eq!(doc.get("location"), Some(&Value::from("Washington, D.C.")));
    assert_eq!(doc.get("words"), Some(&Value::Int(157)));
    assert_eq!(
        doc.get("contacts"),
        Some(&Value::Array(vec![Value::from(
            "policy@openlibraries.example"
        )]))
    );
    assert_eq!(
        doc.get("source"),
        Some(&Value::from("2020-11-COL-library-lending.txt"))
    );
}

#[test]
fn absent_fields_are_null_in_the_stored_document() {
    let doc = read_sample("undated-kayak-club-memo.txt")
        .article
        .to_value();
    for field in ["org", "org_name", "date", "year", "month", "location"] {
        assert_eq!(doc.get(field), Some(&Value::Null), "{field}");
    }
    assert_eq!(doc.get("contacts"), Some(&Value::Array(vec![])));
}

#[test]
fn posted_lines_read_with_non_breaking_spaces_and_any_month_spelling() {
    for (posted, expected) in [
        (
            "Posted\u{a0}May.\u{a0}14,\u{a0}2021\u{a0}07:25,\u{a0} \u{a0}",
            "2021-05-14",
        ),
        ("Posted Sept. 9, 2019 17:40", "2019-09-09"),
        ("Posted Sep 9, 2019", "2019-09-09"),
        ("Posted September 9, 2019 17:40", "2019-09-09"),
        ("Posted: 2019-09-09 17:40", "2019-09-09"),
    ] {
        let text = format!(
            "Go to contents\n\nA headline\n\n{posted}\n\nUpdated Dec. 1, 2019 10:00\n\nThe body."
        );
        let got = read_text(&text);
        assert_eq!(got.article.layout, Layout::Newspaper, "{posted}");
        assert_eq!(date_string(&got).as_deref(), Some(expected), "{posted}");
        assert_eq!(got.article.title.as_deref(), Some("A headline"));
        assert_eq!(got.article.body, "The body.");
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    }
}

#[test]
fn a_posted_line_with_an_impossible_day_warns_and_leaves_the_date_empty() {
    let got = read_text("Go to contents\n\nA headline\n\nPosted Feb. 30, 2021 09:00\n\nThe body.");
    assert_eq!(got.article.date, None);
    assert_eq!(got.warnings.len(), 1);
    assert!(got.warnings[0].starts_with("case.txt:"));
    assert!(got.warnings[0].contains("Feb. 30, 2021"));
}

#[test]
fn an_impossible_dateline_date_warns_but_keeps_place_and_organisation() {
    let got =
        read_text("02/30/2021 Tromsø, Norway (Arctic Light Society) – The aurora season ended.");
    let a = &got.article;
    assert_eq!(a.date, None);
    assert_eq!(a.org.as_deref(), Some("ALS"));
    assert_eq!(a.location.as_deref(), Some("Tromsø, Norway"));
    assert_eq!(a.body, "The aurora season ended.");
    assert_eq!(got.warnings.len(), 1);
    assert!(got.warnings[0].starts_with("case.txt:") && got.warnings[0].contains("02/30/2021"));
    assert_eq!(a.to_value().get("year"), Some(&Value::Null));
}

#[test]
fn the_dateline_dash_may_be_hyphen_en_dash_or_em_dash() {
    for dash in ["-", "–", "—"] {
        let got = read_text(&format!(
            "Site tagline since 1999\nSelect Page\n\n06/01/2022 Accra, Ghana (West African Seed Savers) {dash} Farmers swapped seeds."
        ));
        let a = &got.article;
        assert_eq!(a.layout, Layout::Dateline, "{dash}");
        assert_eq!(a.org.as_deref(), Some("WASS"), "{dash}");
        assert_eq!(a.location.as_deref(), Some("Accra, Ghana"), "{dash}");
        assert_eq!(date_string(&got).as_deref(), Some("2022-06-01"), "{dash}");
        assert_eq!(a.body, "Farmers swapped seeds.", "{dash}");
    }
}

#[test]
fn an_organisation_name_that_is_an_acronym_stays_as_is() {
    let a = read_text("06/01/2022 Geneva (WMO) – Forecasts improved.").article;
    assert_eq!(a.org.as_deref(), Some("WMO"));
    assert_eq!(a.org_name.as_deref(), Some("WMO"));
}

#[test]
fn other_date_forms_are_found_in_the_first_lines() {
    for (line, expected) in [
        ("March 3, 2021", "2021-03-03"),
        ("3 March 2021", "2021-03-03"),
        ("2021-03-03", "2021-03-03"),
        ("03/03/2021", "2021-03-03"),
        ("Dated 14th Nov. 2020", "2020-11-14"),
    ] {
        let got = read_text(&format!(
            "A short note\n\n{line}\n\nSomething happened on the quay."
        ));
        assert_eq!(date_string(&got).as_deref(), Some(expected), "{line}");
        assert_eq!(got.article.title.as_deref(), Some("A short note"), "{line}");
        assert_eq!(
            got.article.body, "Something happened on the quay.",
            "{line}"
        );
    }
}

#[test]
fn an_impossible_date_in_the_first_lines_warns() {
    let got = read_text("April 31, 2021\n\nThe hall was booked.");
    assert_eq!(got.article.date, None);
    assert!(
        got.warnings
            .iter()
            .any(|w| w.starts_with("case.txt:") && w.contains("April 31, 2021"))
    );
}

#[test]
fn empty_and_whitespace_files_are_errors_naming_the_file() {
    for bytes in [&b""[..], b"   \n\t\r\n", "\u{a0}\n".as_bytes()] {
        let err = parse_article(bytes, "blank.txt").expect_err("no article in blank text");
        assert_eq!(
            err,
            ArticleError::Empty {
                file: "blank.txt".into()
            }
        );
        assert!(err.to_string().contains("blank.txt"));
    }
}

#[test]
fn binary_files_are_errors_naming_the_file() {
    for bytes in [
        &b"04/15/2021 Oslo\0 (X) - y"[..],
        b"\xff\xfe\x00h\x00i",
        b"caf\xe9 au lait",
    ] {
        let err = parse_article(bytes, "photo.jpg").expect_err("binary is not an article");
        assert_eq!(
            err,
            ArticleError::Binary {
                file: "photo.jpg".into()
            }
        );
        assert!(err.to_string().contains("photo.jpg"));
    }
}

#[test]
fn the_ndjson_sample_holds_objects_with_nested_authors_and_tags() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/articles.ndjson");
    let text = fs::read_to_string(path).expect("the NDJSON sample exists");
    let docs: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert!(docs.len() >= 20);
    let with = |field: &str| docs.iter().filter(|d| d.get(field).is_some()).count();
    assert_eq!(with("id"), docs.len());
    assert!(with("author") < docs.len(), "some document lacks an author");
    assert!(with("rating") < docs.len(), "some document lacks a rating");
    assert!(
        docs.iter()
            .all(|d| matches!(d.get("tags"), Some(Value::Array(_))))
    );
    assert!(
        docs.iter()
            .any(|d| matches!(d.get("author"), Some(Value::Object(_))))
    );
}

#[test]
fn the_csv_sample_has_dotted_headers_and_mixed_cells() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/people.csv");
    let mut reader = csv::Reader::from_path(path).expect("the CSV sample exists");
    let headers = reader.headers().expect("a header row").clone();
    assert!(headers.iter().any(|h| h == "address.city"));
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.expect("a well-formed row"))
        .collect();
    assert!(rows.len() >= 10);
    let cells: Vec<&str> = rows.iter().flat_map(|r| r.iter()).collect();
    assert!(cells.iter().any(|c| c.is_empty()), "an empty cell");
    assert!(cells.contains(&"true") && cells.contains(&"false"));
    assert!(
        cells
            .iter()
            .any(|c| c.contains('.') && c.parse::<f64>().is_ok()),
        "a float"
    );
    assert!(
        cells.iter().any(|c| c.contains(',')),
        "a quoted cell with a comma"
    );
}

/// Seed articles (not ours): file name -> (org, date, location), read off each file by hand.
const SEEDS: &[(&str, Option<&str>, &str, Option<&str>)] = &[
    (
        "000_9312dada7992c6ed.txt",
        Some("ICC"),
        "2021-04-15",
        Some("Washington, D.C."),
    ),
    (
        "001_1b49627dbff3e2a3.txt",
        Some("ICC"),
        "2020-12-18",
        Some("Washington, D.C."),
    ),
    (
        "002_0ade38174a5aa531.txt",
        Some("ICC"),
        "2021-11-02",
        Some("United States"),
    ),
    (
        "003_f26ad41e07514a0f.txt",
        Some("ICC"),
        "2019-12-21",
        Some("North Korea"),
    ),
    ("004_e55622919343e442.txt", None, "2021-05-14", None),
];

/// `../shared/seed-articles` next to the crate, or the folder named by `QUARRY_SEED_ARTICLES`
/// (for checkouts such as worktrees that sit elsewhere); `None` when absent.
fn seeds_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("QUARRY_SEED_ARTICLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seed-articles"));
    dir.is_dir().then_some(dir)
}

#[test]
fn seed_articles_read_with_the_org_date_and_location_read_by_hand() {
    let Some(dir) = seeds_dir() else {
        return;
    };
    for &(file, org, date, location) in SEEDS {
        let bytes = fs::read(dir.join(file)).expect("every listed seed file is present");
        let got = parse_article(&bytes, file).expect("a seed reads as an article");
        let a = &got.article;
        assert_eq!(a.org.as_deref(), org, "{file}: org");
        assert_eq!(date_string(&got).as_deref(), Some(date), "{file}: date");
        assert_eq!(a.location.as_deref(), location, "{file}: location");
        let expected_layout = if org.is_some() {
            Layout::Dateline
        } else {
            Layout::Newspaper
        };
        assert_eq!(a.layout, expected_layout, "{file}: layout");
        assert!(a.title.is_some(), "{file}: title");
        assert!(a.words > 100, "{file}: words");
        assert!(
            a.contacts.iter().all(|c| !c.ends_with('.')),
            "{file}: contacts"
        );
    }
}

#[test]
fn seed_articles_lose_their_furniture_and_repeated_headline() {
    let Some(dir) = seeds_dir() else {
        return;
    };
    for entry in fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a readable entry").path();
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = fs::read(&path).expect("a readable seed");
        let got = parse_article(&bytes, &file).expect("a seed reads as an article");
        let a = &got.article;
        for furniture in [
            "Select Page",
            "Go to contents",
            "Posted ",
            "Updated ",
            "since 1995",
        ] {
            assert!(!a.body.contains(furniture), "{file}: {furniture}");
        }
        assert!(!a.body.contains('\u{a0}'), "{file}: non-breaking space");
        if let Some(title) = a.title.as_deref().filter(|t| !t.ends_with('…')) {
            assert!(!a.body.contains(title), "{file}: headline repeated in body");
        }
        // A hidden address is reported rather than silently dropped.
        let hidden = String::from_utf8_lossy(&bytes).contains("protected]");
        assert_eq!(
            got.warnings
                .iter()
                .any(|w| w.starts_with(&file) && w.contains("[email protected]")),
            hidden,
            "{file}"
        );
    }
}

/// Layouts a review of the reader found wanting, each with what it must give.
#[test]
fn variations_of_the_usual_layouts_read_right() {
    let read = |text: &str| {
        quarry::import::article::parse_article(text.as_bytes(), "v.txt")
            .unwrap()
            .article
    };
    let iso = |a: &quarry::import::article::Article| a.date.map(|d| d.to_string());

    // A `Menu` line in the body does not erase the header above it.
    let a = read(
        "Soup night returns\nBy Ann Fox\nPublished: May 2, 2022\n\nThe hall opens at six.\nMenu\nStarters include leek soup.",
    );
    assert_eq!(
        (a.title.as_deref(), a.author.as_deref()),
        (Some("Soup night returns"), Some("Ann Fox"))
    );
    assert_eq!(iso(&a).as_deref(), Some("2022-05-02"));
    assert!(a.body.contains("The hall opens at six."));

    // Old `Posted` lines with a byline, a section or a weekday.
    let a =
        read("Bridge reopens\n\nPosted by Staff Reporter on Mar. 3, 2021\n\nTraffic flowed again.");
    assert_eq!(
        (iso(&a).as_deref(), a.author.as_deref()),
        (Some("2021-03-03"), Some("Staff Reporter"))
    );
    assert_eq!(a.body, "Traffic flowed again.");
    let a = read("Bridge reopens\n\nPublished Wednesday, March 3, 2021\n\nTraffic flowed again.");
    assert_eq!(iso(&a).as_deref(), Some("2021-03-03"));

    // Navigation of every usual wording stays out of the title.
    let a = read(
        "Go to contents\nGo to navigation\nFerry fares rise\nFerry fares rise\nPosted Mar. 3, 2021 14:05\n\nFares rose.",
    );
    assert_eq!(a.title.as_deref(), Some("Ferry fares rise"));
    assert_eq!(a.body, "Fares rose.");

    // Wire datelines without a year, and with the dash touching the parenthesis.
    let a = read("Talks resume\n\nSEOUL, March 3 (Yonhap) -- Officials met on Tuesday.");
    assert_eq!(
        (a.location.as_deref(), a.org.as_deref()),
        (Some("SEOUL"), Some("Yonhap"))
    );
    let a = read("Strike ends\n\nPARIS (AFP)- Harbour workers went back.");
    assert_eq!(
        (a.location.as_deref(), a.org.as_deref()),
        (Some("PARIS"), Some("AFP"))
    );
    assert_eq!(a.body, "Harbour workers went back.");

    // An `Updated` date is taken only without a publication date.
    let a = read("Flood warning\nUpdated: March 9, 2022\nPublished: March 7, 2022\n\nRivers rose.");
    assert_eq!(iso(&a).as_deref(), Some("2022-03-07"));

    // YAML dates with a time, `the 3rd of March`, dates beside bylines behind bars.
    let a = read("---\ntitle: Night market\ndate: 2021-03-03T10:00:00Z\n---\n\nStalls opened.");
    assert_eq!(iso(&a).as_deref(), Some("2021-03-03"));
    let a = read("Garden diary\n\nPosted on the 3rd of March 2021 by Sam Ng\n\nThe beans are up.");
    assert_eq!(
        (iso(&a).as_deref(), a.author.as_deref()),
        (Some("2021-03-03"), Some("Sam Ng"))
    );
    let a = read("New ferry\nBy Carlos Mendes | 12 July 2022\n\nThe ferry sailed.");
    assert_eq!(
        (iso(&a).as_deref(), a.author.as_deref()),
        (Some("2022-07-12"), Some("Carlos Mendes"))
    );
    let a = read("Cold snap\nOslo | March 3, 2021\n\nIt froze.");
    assert_eq!(iso(&a).as_deref(), Some("2021-03-03"));

    // Body lines with a dash are not datelines.
    let a =
        read("Letters\n\nReaders wrote in this week.\n\nJane Smith (Leeds) - I waited an hour.");
    assert_eq!((a.location, a.org), (None, None));

    // A credit line between the byline and the dateline.
    let a = read(
        "Fjord survey\nBY JANE ROE AND TOM LEE\nAssociated Press\nOSLO, Norway (AP) — Divers counted cod.",
    );
    assert_eq!(
        (a.location.as_deref(), a.org.as_deref()),
        (Some("OSLO, Norway"), Some("AP"))
    );
    assert_eq!(a.body, "Divers counted cod.");

    // A wire service between slashes, a contact block above the headline, `###` ends it.
    let a = read(
        "Media contact: Maria Lopez\nPhone: 555-0100\n\nPort opens new berth\n\nNORFOLK, Va., Oct. 4, 2022 /PRNewswire/ -- The port opened a berth.\n\n###\n\nAbout the port: boilerplate.",
    );
    assert_eq!(a.title.as_deref(), Some("Port opens new berth"));
    assert_eq!(
        (a.location.as_deref(), a.org.as_deref()),
        (Some("NORFOLK, Va."), Some("PRNewswire"))
    );
    assert_eq!(a.body, "The port opened a berth.");

    // A leading `---` rule is not front matter.
    let a = read("---\nHarbour notes\n\nThe tide was high.\n---\nMore notes.");
    assert_eq!(a.title.as_deref(), Some("Harbour notes"));
}
