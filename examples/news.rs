//! Load the bundled sample articles into a temporary database, index them, and ask a few
//! questions through the library: typed documents, the query language, `explain`, and
//! `count by` answered from an index.
//!
//! ```text
//! cargo run --example news
//! ```

use serde::Deserialize;

/// The fields of an article this example reads; the stored documents have more.
#[derive(Debug, Deserialize)]
struct Headline {
    date: Option<String>,
    org: Option<String>,
    title: Option<String>,
}

fn main() -> Result<(), quarry::Error> {
    let db = quarry::Db::temporary()?;
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/articles");
    let imported = quarry::import::import_files(
        &db,
        "articles",
        &[folder],
        &quarry::import::ImportOptions::default(),
    )?;
    println!("{imported}");

    let articles = db.collection("articles")?;
    articles.create_index(&["org", "year"])?;
    articles.create_index(&["date"])?;

    println!("\nThe three latest articles:");
    let latest: Vec<Headline> = db.query_as("from articles order by date desc limit 3")?;
    for a in &latest {
        println!(
            "  {}  {:<4} {}",
            a.date.as_deref().unwrap_or("undated"),
            a.org.as_deref().unwrap_or("-"),
            a.title.as_deref().unwrap_or("(no title)")
        );
    }

    let query = r#"from articles where org = "ICC" and year >= 2020 order by date desc"#;
    println!("\nHow quarry runs `{query}`:");
    for output in db.execute(&format!("explain {query}"))? {
        println!("{output}");
    }

    println!("Articles by organisation (from the index's per-value counts):");
    for output in db.execute("count from articles by org")? {
        print!("{output}");
    }
    assert!(db.check()?.is_clean());
    Ok(())
}
