//! News articles and press releases kept as plain text files, in the layouts news sites, wire
//! services and press offices use, in English, French, German, Spanish and Portuguese.
//!
//! ```text
//! [furniture: FOR IMMEDIATE RELEASE, Pressemitteilung, Home | News | World, Share | Print]
//! Headline                                   (or `# Headline`, or front matter: Title:, YAML)
//! [By Jane Doe, Science Editor]              (Von, Par, Por, Author:, Reporting by …)
//! [Published: March 3, 2022]                 (Posted on, Veröffentlicht am, Publié le, …)
//! PLACE, [Region,] [date] [(Agency or Organisation)] – first paragraph …
//! ```
//!
//! Each part is optional and found by its own reader (`header`: front matter, furniture,
//! bylines, date lines; `dateline`; `dates`: dates in five languages); the organisation comes
//! from the dateline's parentheses, else from the first `Full Name (ACRONYM)` of the lead
//! paragraph. Every field found records the rule that found it ([`Article::rules`]); a field
//! not found is null, and one warning per file names what is missing. Page furniture never
//! reaches the body.

mod dateline;
pub(crate) mod dates;
mod header;

use std::sync::LazyLock;

use jiff::civil::Date;
use regex::Regex;

pub use dates::Language;
use dates::Language::{De, En, Es, Fr, Pt};

use crate::value::{Map, Value};

/// How many non-blank lines at the top of a file are searched for a dateline, a date line,
/// a byline, navigation furniture or a date.
const HEAD_LINES: usize = 12;

/// Titles made from the first sentence are shortened to about this many characters.
const TITLE_CHARS: usize = 120;

/// A line longer than this is body text, not a headline.
const HEADLINE_CHARS: usize = 150;

/// A site tagline such as `Serving the reef since 1987`.
static TAGLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^.{0,100}\b(?i:since)\s+\d{4}$").expect("the tagline pattern is a valid regex")
});

/// An e-mail address; the domain ends in letters, so a sentence's final period stays out.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[A-Za-z0-9](?:[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}",
    )
    .expect("the e-mail pattern is a valid regex")
});

/// The placeholder web pages show instead of a protected address: `[email protected]`.
static HIDDEN_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\[\s*email\s*protected\s*\]")
        .expect("the hidden e-mail pattern is a valid regex")
});

/// `Full Name (ACRONYM)`: capitalised words (minor words between them) and the acronym the
/// text gives them.
static NAMED_ACRONYM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?P<name>\p{Lu}[\p{L}\p{M}'’&.-]*(?:\s+(?:(?:of|for|the|and|on|de|des|du|la|le|les|el|los|las|y|e|da|do|das|dos|der|die|und|für|von|zu|pour|et|d'|l')\s+)*\p{Lu}[\p{L}\p{M}'’&.-]*){0,8})\s+\((?P<acronym>\p{Lu}[\p{Lu}\p{N}&.-]{1,11})\)",
    )
    .expect("the named-acronym pattern is a valid regex")
});

/// What may stand beside a date on a line that holds nothing else (`Dated 3 March 2021`).
const DATE_LABELS: [&str; 6] = ["", "date", "dated", "written", "published", "issued"];

/// Words left out of an organisation's acronym, whatever their case.
const MINOR_WORDS: [&str; 36] = [
    "a", "an", "and", "at", "by", "for", "in", "of", "on", "the", "to", "&", "de", "des", "du",
    "la", "le", "les", "el", "los", "las", "y", "e", "da", "do", "das", "dos", "der", "die", "und",
    "für", "von", "zu", "pour", "et", "del",
];

/// Articles that open an organisation's name in a sentence (`The`, `Die`, `La`, …).
const LEADING_ARTICLES: [&str; 14] = [
    "The", "Die", "Der", "Das", "La", "Le", "Les", "L'", "El", "Los", "Las", "A", "O", "Os",
];

/// Words ending in a period that do not end a sentence.
const ABBREVIATIONS: [&str; 24] = [
    "mr", "mrs", "ms", "dr", "prof", "st", "mt", "jr", "sr", "inc", "ltd", "co", "corp", "gov",
    "sen", "rep", "gen", "col", "lt", "no", "vs", "etc", "approx", "dept",
];

/// Which layout a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A story or press release opening with a dateline (`GENEVA, March 3, 2022 (Reuters) -`,
    /// `MM/DD/YYYY Place (Organisation) –`).
    Dateline,
    /// A web page or post with a date line (`Posted …`, `Published: …`) or a byline under the
    /// headline, and no dateline.
    Newspaper,
    /// Front matter: `Title:`/`Date:` lines, or YAML between `---` lines.
    FrontMatter,
    /// None of these: fields were taken from whatever the text offered.
    Unknown,
}

/// The fields read from one article file.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Acronym of the publishing organisation (`ICC`), from the dateline's parentheses.
    pub org: Option<String>,
    /// The organisation's full name as written in the dateline.
    pub org_name: Option<String>,
    /// Publication date, validated.
    pub date: Option<Date>,
    /// The place named in the dateline (`Washington, D.C.`).
    pub location: Option<String>,
    /// The headline, or the body's first sentence shortened to about 120 characters.
    pub title: Option<String>,
    /// The text without page furniture; paragraphs separated by `"\n\n"`.
    pub body: String,
    /// Number of words in `body` (tokens holding at least one letter or digit).
    pub words: u64,
    /// E-mail addresses found in the file, in order of appearance, without duplicates.
    pub contacts: Vec<String>,
    /// Who wrote it, from a byline (`By`, `Von`, `Par`, `Por`, `Author:`, `Reporting by`) or
    /// front matter.
    pub author: Option<String>,
    /// Tags given in front matter.
    pub tags: Option<Vec<String>>,
    /// The language its dates and labels were read in, when they tell.
    pub language: Option<Language>,
    /// The file name the article was read from.
    pub source: String,
    /// The layout the file was recognised as.
    pub layout: Layout,
    /// Which rule found each field that was found: (`"date"`, `"dateline"`), …
    pub rules: Vec<(&'static str, String)>,
}

/// An article together with what the reader noticed on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The fields read.
    pub article: Article,
    /// Problems worth telling the user about, each naming the file.
    pub warnings: Vec<String>,
}

/// A file that cannot be read as an article at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArticleError {
    /// The file holds nothing but whitespace.
    #[error("{file}: the file is empty")]
    Empty {
        /// The file name.
        file: String,
    },
    /// The file holds NUL bytes or is not valid UTF-8 text.
    #[error("{file}: not a text file (NUL bytes or invalid UTF-8)")]
    Binary {
        /// The file name.
        file: String,
    },
}

/// Reads one article from a file's raw bytes; `source` is the file name, used in the article
/// and in every warning and error.
///
/// Empty or whitespace-only input is [`ArticleError::Empty`]; NUL bytes or invalid UTF-8 are
/// [`ArticleError::Binary`]. A file fitting no known layout is still read, with a warning.
///
/// ```
/// use quarry::import::article::{parse_article, Layout};
///
/// let text = "04/02/2022 Lima, Peru (Andean Glacier Watch) – Volunteers measured the ice.\n\
///             Write to press@agw.example.";
/// let got = parse_article(text.as_bytes(), "glacier.txt").unwrap();
/// let a = &got.article;
/// assert_eq!(a.layout, Layout::Dateline);
/// assert_eq!(a.org.as_deref(), Some("AGW"));
/// assert_eq!(a.date.map(|d| d.to_string()).as_deref(), Some("2022-04-02"));
/// assert_eq!(a.location.as_deref(), Some("Lima, Peru"));
/// assert_eq!(a.title.as_deref(), Some("Volunteers measured the ice."));
/// assert_eq!(a.contacts, ["press@agw.example"]);
/// assert!(got.warnings.is_empty());
///
/// assert!(parse_article(b"  \n", "blank.txt").is_err());
/// ```
pub fn parse_article(bytes: &[u8], source: &str) -> Result<Extracted, ArticleError> {
    let text = decode(bytes, source)?;
    let mut page = Page::new(text);
    let mut warnings = Vec::new();
    let mut fields = Fields::default();

    let matter = header::front_matter(&page.lines);
    let mut from = 0;
    if let Some(matter) = &matter {
        from = matter.lines;
        for i in 0..from {
            page.keep[i] = false;
        }
        fields.read_front_matter(matter, source, &mut warnings);
    }
    let start = page.skip_leading_furniture(from, &mut fields);
    let head = page.head(start);
    let found_header = page.read_header(start, &head, &mut fields, source, &mut warnings);
    let layout = match (&matter, found_header) {
        (_, Some(layout @ Layout::Dateline)) => layout,
        (Some(_), _) => Layout::FrontMatter,
        (None, Some(layout)) => layout,
        (None, None) => {
            page.read_loose(start, &head, &mut fields, source, &mut warnings);
            if page.has_newspaper_marker {
                Layout::Newspaper
            } else {
                Layout::Unknown
            }
        }
    };

    let (headline, extra) = split_headline(&fields.headers);
    if fields.title.is_none()
        && let Some(headline) = &headline
    {
        fields.title = Some(headline.clone());
        fields.rule("title", "the headline above the story");
    }
    let mut paragraphs = extra;
    paragraphs.extend(page.body_paragraphs());
    if let Some(h) = &headline {
        paragraphs.retain(|p| p != h);
    }
    if fields.author.is_none() {
        // A wire story may end with its byline: `Reporting by …; Editing by …`.
        if let Some(last) = paragraphs.last()
            && let Some(byline) = header::byline(last).filter(|b| b.label.to_lowercase() != "by")
        {
            fields.cue(&byline.languages);
            fields.author = Some(byline.name);
            fields.rule("author", &format!("the closing byline `{}`", byline.label));
            paragraphs.pop();
        }
    }
    if fields.org.is_none()
        && let Some(lead) = paragraphs.first()
        && let Some(caps) = NAMED_ACRONYM.captures(lead)
    {
        let mut name = caps["name"].trim();
        for article in LEADING_ARTICLES {
            if let Some(rest) = name.strip_prefix(article).filter(|r| r.starts_with(' ')) {
                name = rest.trim_start();
            }
        }
        fields.org = Some(caps["acronym"].to_owned());
        fields.org_name = Some(name.to_owned());
        fields.rule("org", "`Full Name (ACRONYM)` in the lead paragraph");
    }
    let body = paragraphs.join("\n\n");
    if body.is_empty() {
        warnings.push(format!("{source}: no body text found"));
    }
    if fields.title.is_none()
        && let Some(first) = paragraphs.first()
    {
        fields.title = Some(title_from(first_sentence(first)));
        fields.rule("title", "the first sentence");
    }
    let words = body
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count() as u64;
    if HIDDEN_EMAIL.is_match(text) {
        warnings.push(format!(
            "{source}: an e-mail address hidden by the web page ([email protected]) was left out of contacts"
        ));
    }
    let language = fields.language(&body);
    // One warning names what is missing: for a file in no known layout, or without a date.
    let invalid_date_warned = warnings.iter().any(|w| w.contains("is not a valid date"));
    if layout == Layout::Unknown || (fields.date.is_none() && !invalid_date_warned) {
        let missing: Vec<&str> = [
            ("title", fields.title.is_none()),
            ("date", fields.date.is_none()),
            ("org", fields.org.is_none()),
            ("location", fields.location.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect();
        let layout_note = match layout {
            Layout::Unknown => "no dateline or header found; ",
            _ => "",
        };
        if !missing.is_empty() || layout == Layout::Unknown {
            warnings.push(format!(
                "{source}: {layout_note}not found: {}",
                if missing.is_empty() {
                    "nothing".to_owned()
                } else {
                    missing.join(", ")
                }
            ));
        }
    }
    Ok(Extracted {
        article: Article {
            org: fields.org,
            org_name: fields.org_name,
            date: fields.date,
            location: fields.location,
            title: fields.title,
            body,
            words,
            contacts: contacts(text),
            author: fields.author,
            tags: fields.tags,
            language,
            source: source.to_owned(),
            layout,
            rules: fields.rules,
        },
        warnings,
    })
}

impl Article {
    /// What was found, field by field, with the rule that found each (what
    /// `quarry import --dry-run` prints for an article):
    ///
    /// ```
    /// use quarry::import::article::parse_article;
    /// let text = "Rivers rise\nBy Jane Doe\nGENEVA, March 3, 2022 (Reuters) - Water rose.";
    /// let described = parse_article(text.as_bytes(), "r.txt").unwrap().article.describe();
    /// assert!(described.starts_with("r.txt (dateline)\n"));
    /// assert!(described.contains("  author    Jane Doe  (the byline `By`)"));
    /// assert!(described.contains("  org       Reuters  (the dateline's parentheses)"));
    /// ```
    pub fn describe(&self) -> String {
        let layout = match self.layout {
            Layout::Dateline => "dateline",
            Layout::Newspaper => "web page or post",
            Layout::FrontMatter => "front matter",
            Layout::Unknown => "no known layout",
        };
        let mut out = format!("{} ({layout})\n", self.source);
        let shown = [
            ("title", self.title.clone()),
            ("date", self.date.map(|d| d.to_string())),
            ("org", self.org.clone()),
            ("location", self.location.clone()),
            ("author", self.author.clone()),
            ("tags", self.tags.as_ref().map(|t| t.join(", "))),
            ("language", self.language.map(|l| l.code().to_owned())),
        ];
        for (field, value) in shown {
            let rule = self
                .rules
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, rule)| rule.as_str());
            match (value, rule) {
                (Some(value), Some(rule)) => {
                    out.push_str(&format!("  {field:<9} {value}  ({rule})\n"));
                }
                (Some(value), None) => out.push_str(&format!("  {field:<9} {value}\n")),
                (None, _) => out.push_str(&format!("  {field:<9} null  (not found)\n")),
            }
        }
        out.pop();
        out
    }

    /// The document stored for this article, with fields in this order: `org`, `org_name`,
    /// `date` (`"YYYY-MM-DD"`), `year`, `month`, `location`, `title`, `author`, `tags`,
    /// `language` (`"en"`, `"fr"`, `"de"`, `"es"`, `"pt"`), `body`, `words`, `contacts`,
    /// `source`. Absent values are null; `contacts` is always an array.
    ///
    /// ```
    /// use quarry::import::article::parse_article;
    /// use quarry::Value;
    ///
    /// let text = "11/30/2019 Geneva (Alpine Snow Trust) - The season opened early.";
    /// let doc = parse_article(text.as_bytes(), "snow.txt").unwrap().article.to_value();
    /// assert_eq!(doc.get("org"), Some(&Value::from("AST")));
    /// assert_eq!(doc.get("date"), Some(&Value::from("2019-11-30")));
    /// assert_eq!(doc.get("year"), Some(&Value::Int(2019)));
    /// assert_eq!(doc.get("month"), Some(&Value::Int(11)));
    /// assert_eq!(doc.get("contacts"), Some(&Value::Array(vec![])));
    /// let names: Vec<&str> = doc.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    /// assert_eq!(names, ["org", "org_name", "date", "year", "month", "location", "title",
    ///                    "author", "tags", "language", "body", "words", "contacts", "source"]);
    /// ```
    pub fn to_value(&self) -> Value {
        let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
        let mut doc = Map::default();
        doc.insert("org".into(), text(&self.org));
        doc.insert("org_name".into(), text(&self.org_name));
        doc.insert(
            "date".into(),
            self.date
                .map_or(Value::Null, |d| Value::String(d.to_string())),
        );
        doc.insert(
            "year".into(),
            self.date
                .map_or(Value::Null, |d| Value::Int(d.year().into())),
        );
        doc.insert(
            "month".into(),
            self.date
                .map_or(Value::Null, |d| Value::Int(d.month().into())),
        );
        doc.insert("location".into(), text(&self.location));
        doc.insert("title".into(), text(&self.title));
        doc.insert("author".into(), text(&self.author));
        doc.insert(
            "tags".into(),
            self.tags.as_ref().map_or(Value::Null, |tags| {
                Value::Array(tags.iter().cloned().map(Value::String).collect())
            }),
        );
        doc.insert(
            "language".into(),
            self.language
                .map_or(Value::Null, |l| Value::String(l.code().to_owned())),
        );
        doc.insert("body".into(), Value::String(self.body.clone()));
        doc.insert(
            "words".into(),
            Value::Int(i64::try_from(self.words).unwrap_or(i64::MAX)),
        );
        doc.insert(
            "contacts".into(),
            Value::Array(self.contacts.iter().cloned().map(Value::String).collect()),
        );
        doc.insert("source".into(), Value::String(self.source.clone()));
        Value::Object(doc)
    }
}

/// The acronym of an organisation's name: the initials of its capitalised words, minor words
/// (`of`, `for`, `the`, ...) left out, acronyms inside the name kept whole. A name that is
/// already an acronym, or has a single significant word, is returned as written.
fn acronym(name: &str) -> String {
    let name = name.trim();
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '-' || c == '/')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .filter(|w| !MINOR_WORDS.iter().any(|m| w.eq_ignore_ascii_case(m)))
        .collect();
    let mut out = String::new();
    let mut significant = 0;
    for word in &words {
        if is_acronym(word) {
            out.extend(word.chars().filter(|c| c.is_alphanumeric()));
        } else if let Some(first) = word.chars().next().filter(|c| c.is_uppercase()) {
            out.push(first);
        } else {
            continue;
        }
        significant += 1;
    }
    if significant < 2 {
        name.to_owned()
    } else {
        out
    }
}

/// An all-capitals word of at least two letters (`HRW`, `U.N`).
fn is_acronym(word: &str) -> bool {
    word.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !word.chars().any(char::is_lowercase)
}

/// Checks the raw bytes and returns the text without a byte-order mark.
fn decode<'a>(bytes: &'a [u8], source: &str) -> Result<&'a str, ArticleError> {
    let binary = || ArticleError::Binary {
        file: source.to_owned(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| binary())?;
    if text.contains('\0') {
        return Err(binary());
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ArticleError::Empty {
            file: source.to_owned(),
        });
    }
    Ok(text)
}

/// One line with every run of whitespace (non-breaking spaces included) or control characters
/// turned into a single space, trimmed.
fn clean_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for word in line
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// What the header of a file yielded, and which rule found each field.
#[derive(Default)]
struct Fields {
    /// Lines standing above the body: the headline (maybe repeated), subtitles.
    headers: Vec<String>,
    title: Option<String>,
    date: Option<Date>,
    org: Option<String>,
    org_name: Option<String>,
    location: Option<String>,
    author: Option<String>,
    tags: Option<Vec<String>>,
    /// What the words read so far say of the language: each cue, the languages it allows.
    cues: Vec<Vec<Language>>,
    rules: Vec<(&'static str, String)>,
}

impl Fields {
    fn rule(&mut self, field: &'static str, rule: &str) {
        self.rules.push((field, rule.to_owned()));
    }

    /// Notes words of one of `languages`.
    fn cue(&mut self, languages: &[Language]) {
        if !languages.is_empty() {
            self.cues.push(languages.to_vec());
        }
    }

    /// Takes a date found in the header, if none was taken yet; warns when it names no day.
    fn take_date(
        &mut self,
        found: &dates::Found,
        raw: &str,
        rule: &str,
        source: &str,
        warnings: &mut Vec<String>,
    ) {
        if self.date.is_some() {
            return;
        }
        self.cue(&found.languages);
        match found.date {
            Some(date) => {
                self.date = Some(date);
                self.rule("date", rule);
            }
            None => warnings.push(invalid_date(raw, source)),
        }
    }

    fn read_front_matter(
        &mut self,
        matter: &header::FrontMatter,
        source: &str,
        warnings: &mut Vec<String>,
    ) {
        let rule = match matter.kind {
            "yaml" => "front matter (YAML)",
            _ => "front matter lines",
        };
        self.cue(&matter.languages);
        if let Some(title) = &matter.title {
            self.title = Some(title.clone());
            self.rule("title", rule);
        }
        if let Some(written) = &matter.date {
            match dates::find(written) {
                Some(found) => self.take_date(&found, written, rule, source, warnings),
                None => warnings.push(invalid_date(written, source)),
            }
        }
        if let Some(author) = &matter.author {
            self.author = Some(author.clone());
            self.rule("author", rule);
        }
        if let Some(tags) = &matter.tags {
            self.tags = Some(tags.clone());
            self.rule("tags", rule);
        }
        if let Some(location) = &matter.location {
            self.location = Some(location.clone());
            self.rule("location", rule);
        }
    }

    /// The language the cues agree on most; words of the body break a tie between the
    /// languages the cues allow. `None` without a cue.
    fn language(&mut self, body: &str) -> Option<Language> {
        let mut votes: std::collections::BTreeMap<Language, usize> = Default::default();
        for cue in &self.cues {
            for language in cue {
                *votes.entry(*language).or_default() += 1;
            }
        }
        let Some(&best) = votes.values().max() else {
            // No word of a date or label tells: the body's words may, clearly enough.
            let language = dates::likely_language(body, &[En, Fr, De, Es, Pt])?;
            self.rule("language", "the words of its body");
            return Some(language);
        };
        let tied: Vec<Language> = votes
            .iter()
            .filter(|(_, n)| **n == best)
            .map(|(l, _)| *l)
            .collect();
        let language = match tied.as_slice() {
            [only] => *only,
            several => dates::likely_language(body, several)?,
        };
        self.rule("language", "the words of its dates and labels");
        Some(language)
    }
}

/// A file's cleaned lines, and which of them are still body text.
struct Page {
    lines: Vec<String>,
    /// False for furniture and for lines consumed by the header.
    keep: Vec<bool>,
    /// Where the body begins.
    body_start: usize,
    /// A `Go to contents` line was seen.
    has_newspaper_marker: bool,
}

impl Page {
    fn new(text: &str) -> Page {
        let lines: Vec<String> = text.lines().map(clean_line).collect();
        let keep = vec![true; lines.len()];
        let has_newspaper_marker = lines.iter().any(|l| {
            l.eq_ignore_ascii_case("go to contents") || l.eq_ignore_ascii_case("go to content")
        });
        Page {
            lines,
            keep,
            body_start: 0,
            has_newspaper_marker,
        }
    }

    /// Drops navigation lines everywhere, other furniture (release labels, link bars, rules)
    /// in the head, and the site furniture at the top: everything above the last navigation
    /// line of the head, or else a first line such as `... since 1995` standing directly
    /// above a dateline (a headline may end that way too, so elsewhere it is kept). A
    /// markdown heading's marks go. Returns the first line after that furniture.
    fn skip_leading_furniture(&mut self, from: usize, fields: &mut Fields) -> usize {
        for i in from..self.lines.len() {
            if header::furniture(&self.lines[i]) == Some(header::Furniture::Navigation) {
                self.keep[i] = false;
            }
        }
        // Site furniture stands above the story: a navigation line counts only when no
        // byline, date line or dateline comes before it.
        let is_marker = |line: &str| {
            header::parts(line)
                .iter()
                .any(|p| header::byline(p).is_some() || header::date_line(p).is_some())
                || dateline::parse(line).is_some()
        };
        let top: Vec<usize> = (from..self.lines.len())
            .filter(|&i| !self.lines[i].is_empty())
            .take(HEAD_LINES)
            .collect();
        let story = top
            .iter()
            .position(|&i| self.keep[i] && is_marker(&self.lines[i]));
        let head_navigation = top[..story.unwrap_or(top.len())]
            .iter()
            .copied()
            .rfind(|&i| !self.keep[i]);
        let mut start = head_navigation.map_or(from, |i| i + 1);
        let head: Vec<usize> = self.non_blank(start).take(HEAD_LINES).collect();
        for &i in &head {
            let line = &self.lines[i];
            // A byline such as `Von Markus Feldmann | Redaktion`, or `Oslo | March 3, 2021`,
            // is not a link bar.
            if is_marker(line) {
                continue;
            }
            match header::furniture(line) {
                Some(header::Furniture::ReleaseLabel(language)) => {
                    fields.cue(&[language]);
                    self.keep[i] = false;
                }
                Some(_) => self.keep[i] = false,
                None => {
                    if let Some(text) = header::heading(line) {
                        self.lines[i] = text.to_owned();
                    }
                }
            }
        }
        let first_two: Vec<usize> = self.non_blank(start).take(2).collect();
        if let (None, &[tagline, dateline]) = (head_navigation, &first_two[..])
            && TAGLINE.is_match(&self.lines[tagline])
            && dateline::parse(&self.lines[dateline]).is_some()
        {
            self.keep[tagline] = false;
            start = tagline + 1;
        }
        self.body_start = start;
        start
    }

    /// Indices of the non-blank lines still kept, from `from` on.
    fn non_blank(&self, from: usize) -> impl Iterator<Item = usize> + '_ {
        (from..self.lines.len()).filter(|&i| self.keep[i] && !self.lines[i].is_empty())
    }

    /// The first non-blank lines from `start`, where the header must be.
    fn head(&self, start: usize) -> Vec<usize> {
        self.non_blank(start).take(HEAD_LINES).collect()
    }

    /// Reads the header in the `head` lines: bylines and date lines (dropped from the body)
    /// and a dateline (its text after the dash opens the body); the lines above the first of
    /// them are the headline and subtitles. `None` when the head has none of them;
    /// [`Layout::Unknown`] when it has only a date on a line of its own. Past the first line
    /// that reads as a sentence, only a dateline with a date is looked for.
    fn read_header(
        &mut self,
        start: usize,
        head: &[usize],
        fields: &mut Fields,
        source: &str,
        warnings: &mut Vec<String>,
    ) -> Option<Layout> {
        let mut first = None;
        let mut layout = None;
        let mut seen_sentence = false;
        // The date of an `Updated` line, taken only when no other date is found.
        let mut updated: Option<(dates::Found, String)> = None;
        for (k, &i) in head.iter().enumerate() {
            let line = self.lines[i].clone();
            if let Some(found) = dateline::parse(&line)
                && (!seen_sentence || found.date.is_some())
            {
                first.get_or_insert(i);
                layout = Some(Layout::Dateline);
                if let Some(date) = &found.date {
                    let raw = dateline_date_text(&line, date);
                    fields.take_date(date, raw, "the dateline", source, warnings);
                }
                if fields.location.is_none()
                    && let Some(place) = found.place
                {
                    fields.location = Some(place);
                    fields.rule("location", "the dateline");
                }
                if let Some(name) = found.source {
                    fields.org = Some(acronym(&name));
                    fields.org_name = Some(name);
                    fields.rule("org", "the dateline's parentheses");
                }
                self.lines[i] = line[found.rest..].to_owned();
                break;
            }
            if seen_sentence {
                continue;
            }
            let mut marker = false;
            for part in header::parts(&line) {
                if let Some(dated) = header::date_line(part) {
                    marker = true;
                    if !dated.label.is_empty() {
                        layout.get_or_insert(Layout::Newspaper);
                    }
                    fields.cue(&dated.languages);
                    let raw = part
                        .get(dated.found.range.clone())
                        .unwrap_or(part)
                        .to_owned();
                    if dated.updated {
                        updated.get_or_insert((dated.found.clone(), raw));
                    } else {
                        let rule = match dated.label.as_str() {
                            "" => "a date on a line of its own".to_owned(),
                            label => format!("the date line `{label}`"),
                        };
                        fields.take_date(&dated.found, &raw, &rule, source, warnings);
                    }
                    if let Some(byline) = dated.byline
                        && fields.author.is_none()
                    {
                        fields.cue(&byline.languages);
                        fields.author = Some(byline.name);
                        fields.rule(
                            "author",
                            &format!("`{} NAME` beside the date", byline.label),
                        );
                    }
                } else if let Some(byline) = header::byline(part) {
                    marker = true;
                    layout.get_or_insert(Layout::Newspaper);
                    fields.cue(&byline.languages);
                    if fields.author.is_none() {
                        fields.author = Some(byline.name);
                        fields.rule("author", &format!("the byline `{}`", byline.label));
                    }
                }
            }
            if marker {
                first.get_or_insert(i);
                self.keep[i] = false;
                continue;
            }
            // A credit line between a byline and the dateline (`Associated Press`).
            let before_dateline = head[k + 1..]
                .first()
                .is_some_and(|&next| dateline::parse(&self.lines[next]).is_some());
            if first.is_some() && before_dateline && line.split_whitespace().count() <= 5 {
                self.keep[i] = false;
                continue;
            }
            if first.is_some() {
                break;
            }
            seen_sentence |= !is_headline(&line);
        }
        if let Some((found, raw)) = updated {
            fields.take_date(&found, &raw, "the date line `Updated`", source, warnings);
        }
        let first = first?;
        fields.headers = self.take_headers(start, first);
        // A date alone under a headline is read, but says nothing of the layout.
        Some(layout.unwrap_or(Layout::Unknown))
    }

    /// Reads a file with neither dateline nor date line nor byline: a date in the head (a
    /// line holding only the date, maybe labelled `Dated`, is dropped), and a headline when
    /// the first line stands alone.
    fn read_loose(
        &mut self,
        start: usize,
        head: &[usize],
        fields: &mut Fields,
        source: &str,
        warnings: &mut Vec<String>,
    ) {
        for &i in head {
            if fields.date.is_some() {
                break;
            }
            let Some(found) = dates::find(&self.lines[i]) else {
                continue;
            };
            let line = self.lines[i].clone();
            let raw = &line[found.range.clone()];
            if found.date.is_none() {
                warnings.push(invalid_date(raw, source));
                continue;
            }
            let label = line
                .replacen(raw, "", 1)
                .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
                .to_lowercase();
            let only_date = DATE_LABELS.contains(&label.as_str());
            fields.take_date(&found, raw, "a date in the first lines", source, warnings);
            self.keep[i] &= !only_date;
        }

        let first_two: Vec<usize> = self.non_blank(start).take(2).collect();
        let [first, _] = first_two[..] else {
            return;
        };
        // Lines dropped as furniture read as blank here.
        let blank_or_repeat = |i: usize| {
            !self.keep[i] || self.lines[i].is_empty() || self.lines[i] == self.lines[first]
        };
        let end = (first + 1..self.lines.len())
            .find(|&i| !blank_or_repeat(i))
            .unwrap_or(self.lines.len());
        let stands_alone = first + 1 == self.lines.len()
            || !self.keep[first + 1]
            || self.lines[first + 1].is_empty()
            || self.lines[first + 1] == self.lines[first];
        if stands_alone && is_headline(&self.lines[first]) {
            fields.headers = self.take_headers(first, end);
        }
    }

    /// Takes the kept non-blank lines in `from..to` out of the body, as header lines.
    fn take_headers(&mut self, from: usize, to: usize) -> Vec<String> {
        let mut headers = Vec::new();
        for i in from..to {
            if self.keep[i] && !self.lines[i].is_empty() {
                headers.push(self.lines[i].clone());
            }
            self.keep[i] = false;
        }
        self.body_start = to;
        headers
    }

    /// The body's paragraphs. Where the body has blank lines they separate paragraphs and the
    /// lines between them are joined; otherwise every line is a paragraph.
    fn body_paragraphs(&self) -> Vec<String> {
        // A press release ends at `###` (or `-30-`): what follows is boilerplate.
        let lines: Vec<&str> = (self.body_start..self.lines.len())
            .take_while(|&i| !matches!(self.lines[i].as_str(), "###" | "-30-" | "- 30 -" | "# # #"))
            .filter(|&i| self.keep[i])
            .map(|i| self.lines[i].as_str())
            .collect();
        let first = lines.iter().position(|l| !l.is_empty());
        let last = lines.iter().rposition(|l| !l.is_empty());
        let (Some(first), Some(last)) = (first, last) else {
            return Vec::new();
        };
        let lines = &lines[first..=last];
        if lines.iter().any(|l| l.is_empty()) {
            lines
                .split(|l| l.is_empty())
                .filter(|block| !block.is_empty())
                .map(|block| block.join(" "))
                .collect()
        } else {
            lines.iter().map(|l| (*l).to_owned()).collect()
        }
    }
}

/// Splits header lines into the headline (said once) and the remaining lines, which belong to
/// the body. The first header line is the headline when it looks like one.
fn split_headline(headers: &[String]) -> (Option<String>, Vec<String>) {
    let Some(first) = headers.first().filter(|h| is_headline(h)) else {
        return (None, headers.to_vec());
    };
    let rest = headers.iter().filter(|h| *h != first).cloned().collect();
    (Some(first.clone()), rest)
}

/// A short line with letters, not ending like a sentence fragment, not just a date.
fn is_headline(line: &str) -> bool {
    line.chars().count() <= HEADLINE_CHARS
        && line.chars().any(char::is_alphabetic)
        && !line.ends_with(['.', ',', ';', ':'])
        && !line.starts_with(char::is_lowercase)
        && dates::find(line).is_none_or(|d| d.range.len() < line.len())
}

/// The text of a dateline's date: where [`dateline::parse`] found it in the line (a date-first
/// dateline reports it within its own first word).
fn dateline_date_text<'a>(line: &'a str, date: &dates::Found) -> &'a str {
    line.get(date.range.clone()).unwrap_or(line)
}

/// The warning for a written date that names no real day.
fn invalid_date(raw: &str, source: &str) -> String {
    format!("{source}: \"{raw}\" is not a valid date; the date is left empty")
}

/// The first sentence of a paragraph: up to a `.`, `!` or `?` (and closing quotes) followed by
/// a space and not by a lowercase word, skipping abbreviations and initials (`U.S.`, `Dr.`).
fn first_sentence(paragraph: &str) -> &str {
    let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
    for (k, &(at, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let mut end = k + 1;
        while chars
            .get(end)
            .is_some_and(|&(_, q)| matches!(q, '"' | '\'' | '”' | '’' | ')' | ']'))
        {
            end += 1;
        }
        let Some(&(end_byte, after)) = chars.get(end) else {
            return paragraph;
        };
        if !after.is_whitespace() {
            continue;
        }
        let next = paragraph[end_byte..].trim_start().chars().next();
        if next.is_some_and(char::is_lowercase) {
            continue;
        }
        if c == '.' && is_abbreviation(&paragraph[..at]) {
            continue;
        }
        return &paragraph[..end_byte];
    }
    paragraph
}

/// Whether the word ending `before` (which is followed by a period) is an abbreviation.
fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or(before)
        .trim_start_matches(|c: char| !c.is_alphanumeric());
    let single_letter = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
    single_letter
        || word.contains('.')
        || ABBREVIATIONS.iter().any(|a| word.eq_ignore_ascii_case(a))
}

/// A title made from a sentence: kept whole up to [`TITLE_CHARS`] characters, else cut at the
/// last word boundary before that and ended with `…`.
fn title_from(sentence: &str) -> String {
    let Some((cut, _)) = sentence.char_indices().nth(TITLE_CHARS) else {
        return sentence.to_owned();
    };
    let head = &sentence[..cut];
    let at_boundary = sentence[cut..].starts_with(char::is_whitespace);
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if !at_boundary && space > 0 => &head[..space],
        _ => head,
    };
    let head = head.trim_end_matches(|c: char| c.is_whitespace() || ",;:–—-".contains(c));
    format!("{head}…")
}

/// The e-mail addresses in the text, in order, each once (compared without case).
fn contacts(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for m in EMAIL.find_iter(text) {
        let address = m.as_str();
        if seen.insert(address.to_lowercase()) {
            found.push(address.to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Extracted {
        parse_article(text.as_bytes(), "test.txt").expect("test text is valid")
    }

    #[test]
    fn acronym_takes_initials_of_capitalised_words() {
        assert_eq!(acronym("International Christian Concern"), "ICC");
        assert_eq!(acronym("Human Rights Watch"), "HRW");
        assert_eq!(acronym("International Coral Council"), "ICC");
    }

    #[test]
    fn acronym_skips_minor_words_in_any_case() {
        assert_eq!(acronym("Coalition for Open Libraries"), "COL");
        assert_eq!(acronym("Friends of the Tidal Flats"), "FTF");
        assert_eq!(acronym("The Open Harbour Trust"), "OHT");
        assert_eq!(acronym("League Of Free Presses"), "LFP");
    }

    #[test]
    fn acronym_keeps_a_name_that_is_already_an_acronym() {
        assert_eq!(acronym("UNICEF"), "UNICEF");
        assert_eq!(acronym(" ICC "), "ICC");
    }

    #[test]
    fn acronym_keeps_acronyms_inside_a_name_whole() {
        assert_eq!(acronym("UN Reef Watch"), "UNRW");
    }

    #[test]
    fn acronym_splits_hyphenated_words() {
        assert_eq!(acronym("Anti-Poaching Rangers Network"), "APRN");
    }

    #[test]
    fn acronym_of_a_single_word_name_is_the_name() {
        assert_eq!(acronym("Reefkeepers"), "Reefkeepers");
    }

    #[test]
    fn clean_line_collapses_whitespace_and_nbsp() {
        assert_eq!(clean_line("\u{a0} a\t\u{a0}b  c \u{a0}"), "a b c");
    }

    #[test]
    fn first_sentence_skips_abbreviations_and_initials() {
        assert_eq!(
            first_sentence("Dr. Ames met U.S. staff in St. Paul. Then she left."),
            "Dr. Ames met U.S. staff in St. Paul."
        );
        assert_eq!(
            first_sentence("The reef is \"alive.\" It recovered."),
            "The reef is \"alive.\""
        );
        assert_eq!(first_sentence("No end here"), "No end here");
        assert_eq!(first_sentence("Why now? Because."), "Why now?");
    }

    #[test]
    fn title_from_cuts_long_sentences_at_a_word_boundary() {
        let sentence = "word ".repeat(40);
        let title = title_from(sentence.trim());
        assert!(title.ends_with("word…"), "{title}");
        assert!(title.chars().count() <= TITLE_CHARS + 1);
        assert_eq!(title_from("short one."), "short one.");
    }

    #[test]
    fn title_from_keeps_a_word_ending_exactly_at_the_limit() {
        let sentence = format!("{} tail", "a".repeat(TITLE_CHARS));
        assert_eq!(
            title_from(&sentence),
            format!("{}…", "a".repeat(TITLE_CHARS))
        );
    }

    #[test]
    fn dateline_accepts_hyphen_en_dash_and_em_dash() {
        for dash in ['-', '–', '—'] {
            let got = read(&format!(
                "05/06/2020 Hobart, Tasmania (Southern Kelp Society) {dash} The kelp returned."
            ));
            let a = got.article;
            assert_eq!(a.layout, Layout::Dateline, "{dash}");
            assert_eq!(a.org.as_deref(), Some("SKS"));
            assert_eq!(a.location.as_deref(), Some("Hobart, Tasmania"));
            assert_eq!(a.date, Date::new(2020, 5, 6).ok());
            assert_eq!(a.body, "The kelp returned.");
        }
    }

    #[test]
    fn dateline_without_organisation_needs_spaced_dash() {
        let a = read("05/06/2020 Hobart - The kelp returned.").article;
        assert_eq!(a.layout, Layout::Dateline);
        assert_eq!(a.location.as_deref(), Some("Hobart"));
        assert_eq!(a.org, None);
        assert_eq!(a.body, "The kelp returned.");
    }

    #[test]
    fn dateline_place_may_hold_hyphens() {
        let a =
            read("01/09/2018 Port-au-Prince (Island Clinics Network) – Clinics opened.").article;
        assert_eq!(a.location.as_deref(), Some("Port-au-Prince"));
        assert_eq!(a.org.as_deref(), Some("ICN"));
    }

    #[test]
    fn invalid_dateline_date_warns_and_leaves_date_empty() {
        let got = read("02/30/2021 Oslo (Fjord Ferry Guild) – Ferries ran late.");
        assert_eq!(got.article.date, None);
        assert_eq!(got.article.location.as_deref(), Some("Oslo"));
        assert_eq!(got.article.body, "Ferries ran late.");
        assert_eq!(got.warnings.len(), 1);
        assert!(got.warnings[0].contains("test.txt"));
        assert!(got.warnings[0].contains("02/30/2021"));
    }

    #[test]
    fn a_tagline_directly_above_the_dateline_is_dropped() {
        let a = read(
            "Mapping kelp forests since 1991\n05/06/2020 Hobart (Southern Kelp Society) – One.",
        )
        .article;
        assert_eq!(a.title.as_deref(), Some("One."));
        assert_eq!(a.body, "One.");
    }

    #[test]
    fn a_headline_ending_in_since_and_a_year_stays_the_headline() {
        let got = read(
            "Go to contents\n\nRiver level highest since 1952\n\nPosted Mar. 2, 2020 08:00\n\nThe river rose.",
        );
        assert_eq!(
            got.article.title.as_deref(),
            Some("River level highest since 1952")
        );
        assert_eq!(got.article.body, "The river rose.");
        let got = read("Drought worst since 1976\n\nThe wells ran dry in June.");
        assert_eq!(
            got.article.title.as_deref(),
            Some("Drought worst since 1976")
        );
    }

    #[test]
    fn lines_without_blank_lines_are_paragraphs_each() {
        let a = read("05/06/2020 Hobart (Southern Kelp Society) – One.\nTwo.\nThree.").article;
        assert_eq!(a.body, "One.\n\nTwo.\n\nThree.");
        assert_eq!(a.words, 3);
    }

    #[test]
    fn blank_lines_separate_paragraphs_and_wrapped_lines_are_joined() {
        let a = read("A plain note\n\nfirst line\nstill first.\n\n\n\nsecond.\n").article;
        assert_eq!(a.title.as_deref(), Some("A plain note"));
        assert_eq!(a.body, "first line still first.\n\nsecond.");
    }

    #[test]
    fn words_count_only_tokens_with_letters_or_digits() {
        let a =
            read("05/06/2020 Hobart (Southern Kelp Society) – Kelp — it is back, 100%.").article;
        assert_eq!(a.words, 5);
    }

    #[test]
    fn contacts_strip_the_final_period_and_are_deduplicated() {
        let got = read("Write to Press@Reef.example or ops@reef.example.\npress@reef.example.");
        assert_eq!(
            got.article.contacts,
            ["Press@Reef.example", "ops@reef.example"]
        );
    }

    #[test]
    fn hidden_addresses_are_not_contacts_but_warn() {
        let got = read("Call the desk.\nContact: [email\u{a0}protected].");
        assert!(got.article.contacts.is_empty());
        assert!(
            got.warnings
                .iter()
                .any(|w| w.contains("test.txt") && w.contains("[email protected]"))
        );
    }

    #[test]
    fn crlf_line_endings_read_like_lf() {
        let a = read("05/06/2020 Hobart (Southern Kelp Society) – One.\r\n\r\nTwo.\r\n").article;
        assert_eq!(a.body, "One.\n\nTwo.");
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let a = read("\u{feff}05/06/2020 Hobart (Southern Kelp Society) – One.").article;
        assert_eq!(a.layout, Layout::Dateline);
    }
}
