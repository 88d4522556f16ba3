//! `quarry demo`: a temporary database of the bundled sample articles and a guide of queries.

use std::io::IsTerminal;

use crate::error::{Error, Result};
use crate::io::import::article::parse_article;
use crate::io::render::{self, Style};
use crate::query::Session;
use crate::store::Db;

include!(concat!(env!("OUT_DIR"), "/samples.rs"));

/// The guide: what each query shows, and the query.
pub const GUIDE: &[(&str, &str)] = &[
    ("How many articles are there?", "count"),
    (
        "Who publishes the most? (`count ... by` counts each value; news pages name no organisation)",
        "count where org is not null by org",
    ),
    (
        "The International Coral Council since 2020, newest first (an index on org, year)",
        r#"select date, location, title from articles where org = "ICC" and year >= 2020 order by date desc"#,
    ),
    (
        "How quarry answers that: `explain` shows the plan",
        r#"explain select date, title from articles where org = "ICC" and year >= 2020 order by date desc"#,
    ),
    (
        "Anything about water? (a regex in a raw string r\"...\", (?i) for any case, \\b a word's edge)",
        r#"select date, org, title from articles where body matches r"(?i)\bwater\b" order by date"#,
    ),
    (
        "Words, not patterns: the text index on title and body (stems: coral reefs = coral reef), best first",
        r#"select title, round(score(), 2) as score, snippet(body) as hit from articles where search "coral reef" limit 3"#,
    ),
    (
        "Press and media contacts (a condition on an array matches any element)",
        r#"select source, contacts from articles where contacts starts with "press@" or contacts starts with "media@""#,
    ),
    (
        "The three longest pieces",
        "select title, words from articles order by words desc limit 3",
    ),
    ("Which fields do the articles have?", "show fields"),
];

/// A temporary database holding the sample articles in `articles`, indexed for the guide.
pub fn load() -> Result<Db> {
    let db = Db::temporary()?;
    let articles = db.collection("articles")?;
    let docs = SAMPLE_ARTICLES
        .iter()
        .map(|(name, text)| {
            parse_article(text.as_bytes(), name)
                .map(|extracted| extracted.article.to_value())
                .map_err(|e| Error::InvalidDocument(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    articles.insert_many(docs)?;
    articles.create_index(&["org", "year"])?;
    articles.create_index(&["date"])?;
    articles.create_index(&["contacts"])?;
    articles.create_text_index(&["title", "body"], crate::text::Language::English)?;
    Ok(db)
}

/// Runs the demo: the shell in a terminal, else the guide's queries and their results.
pub fn run() -> Result<i32> {
    let db = load()?;
    let mut session = Session::new(db);
    session.set_importer(Some(crate::io::import::statement));
    session.set_translator(Some(crate::io::sql::explain));
    session.execute("use articles")?;
    let count = SAMPLE_ARTICLES.len();
    if std::io::stdin().is_terminal() {
        outln!("quarry demo: {count} sample articles in the collection `articles`. Try:\n");
        for (what, query) in GUIDE {
            outln!("  -- {what}\n  {query}\n");
        }
        outln!("Type .help for help, .quit (or Ctrl-D) to leave.\n");
        return crate::app::shell::run_named(&mut session, "demo");
    }
    outln!("quarry demo: {count} sample articles in the collection `articles`.\n");
    let style = Style {
        draw_table: Some(crate::app::table::draw),
        ..Style::default()
    };
    for (what, query) in GUIDE {
        outln!("-- {what}");
        outln!("articles> {query}");
        let outputs = session.execute(query)?;
        for out in &outputs {
            out!("{}", render::render(out, &style));
        }
        outln!();
    }
    outln!("Run `quarry demo` in a terminal to try your own queries.");
    Ok(crate::app::EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_loads_every_sample_article() {
        let db = load().unwrap();
        let n = db.collection("articles").unwrap().len().unwrap();
        assert_eq!(n, SAMPLE_ARTICLES.len() as u64);
    }
}
