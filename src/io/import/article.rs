//! News articles and press releases kept as plain text files.
//!
//! Two layouts are recognised, and anything else is still read for what it offers:
//!
//! ```text
//! Dateline (press release):
//!     [site tagline "... since 1995"]  [Select Page]
//!     [Headline]
//!     MM/DD/YYYY Place (Organisation Name) – first paragraph ...      (– may be –, — or -)
//!
//! Newspaper page:
//!     Go to contents
//!     Headline
//!     Headline                                        (the page repeats it)
//!     Posted Mon. DD, YYYY HH:MM                      (non-breaking spaces allowed)
//!     Updated Mon. DD, YYYY HH:MM
//!     first paragraph ...
//! ```
//!
//! A file in neither layout is imported with what can be found (a headline on its first line,
//! a date such as `March 3, 2021`, `3 March 2021`, `2021-03-03` or `03/03/2021` in its first
//! lines) and a warning naming it. Page furniture (site taglines, `Select Page`,
//! `Go to contents`, `Posted`/`Updated` lines, the repeated headline) never reaches the body.

use std::ops::Range;
use std::sync::LazyLock;

use jiff::civil::Date;
use regex::Regex;

use crate::value::{Map, Value};

/// How many non-blank lines at the top of a file are searched for a dateline, a `Posted` line,
/// navigation furniture or a date.
const HEAD_LINES: usize = 12;

/// Titles made from the first sentence are shortened to about this many characters.
const TITLE_CHARS: usize = 120;

/// A line longer than this is body text, not a headline.
const HEADLINE_CHARS: usize = 150;

/// Month names and their usual abbreviations (`Sept` included), matched case-insensitively.
const MONTH: &str = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

/// `MM/DD/YYYY Place (Organisation) – text`; place and organisation are optional, and without
/// an organisation the dash must stand between spaces.
static DATELINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})(?:\s+(?P<place>[^()]*?))?\s*(?:\((?P<org>[^()]+)\)\s*[-–—]\s*|\s+[-–—](?:\s+|$))",
    )
    .expect("the dateline pattern is a valid regex")
});

/// `Posted Mon. DD, YYYY HH:MM` (also `Published`, `Posted on`, `Posted:`).
static POSTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i:posted|published)(?:\s+on)?\s*:?\s+(?P<rest>.+)$")
        .expect("the posted pattern is a valid regex")
});

/// The `Updated ...` line that follows a `Posted` line.
static UPDATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i:updated|last updated|modified)\b.*\d")
        .expect("the updated pattern is a valid regex")
});

/// A site tagline such as `Serving the reef since 1987`.
static TAGLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^.{0,100}\b(?i:since)\s+\d{4}$").expect("the tagline pattern is a valid regex")
});

/// The date forms recognised in the first lines of a file without a dateline.
static DATE_FORMS: LazyLock<[Regex; 4]> = LazyLock::new(|| {
    [
        format!(r"(?i)\b{MONTH}\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b"),
        format!(r"(?i)\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{MONTH}\.?,?\s+(?P<year>\d{{4}})\b"),
        r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b".to_owned(),
        r"\b(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})\b".to_owned(),
    ]
    .map(|pattern| Regex::new(&pattern).expect("the date patterns are valid regexes"))
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

/// Navigation lines of web pages saved as text.
const NAVIGATION: [&str; 5] = [
    "select page",
    "go to contents",
    "go to content",
    "skip to content",
    "skip to main content",
];

/// What may stand beside a date on a line that holds nothing else (`Dated 3 March 2021`).
const DATE_LABELS: [&str; 6] = ["", "date", "dated", "written", "published", "issued"];

/// Words left out of an organisation's acronym, whatever their case.
const MINOR_WORDS: [&str; 14] = [
    "a", "an", "and", "at", "by", "for", "in", "of", "on", "the", "to", "&", "de", "des",
];

/// Words ending in a period that do not end a sentence.
const ABBREVIATIONS: [&str; 24] = [
    "mr", "mrs", "ms", "dr", "prof", "st", "mt", "jr", "sr", "inc", "ltd", "co", "corp", "gov",
    "sen", "rep", "gen", "col", "lt", "no", "vs", "etc", "approx", "dept",
];

/// Which layout a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A press release opening with `MM/DD/YYYY Place (Organisation) –`.
    Dateline,
    /// A newspaper web page with `Go to contents` or a `Posted ...` line under the headline.
    Newspaper,
    /// Neither: fields were taken from whatever the text offered.
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
    /// The file name the article was read from.
    pub source: String,
    /// The layout the file was recognised as.
    pub layout: Layout,
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

    let start = page.skip_leading_furniture();
    let head = page.head(start);
    let dateline = head
        .iter()
        .copied()
        .find(|&i| DATELINE.is_match(&page.lines[i]));
    let posted = head
        .iter()
        .copied()
        .find(|&i| POSTED.is_match(&page.lines[i]));

    let mut fields = Fields::default();
    let layout = match (dateline, posted) {
        (Some(d), p) if p.is_none_or(|p| d < p) => {
            page.read_dateline(start, d, &mut fields, source, &mut warnings);
            Layout::Dateline
        }
        (_, Some(p)) => {
            page.read_posted(start, p, &mut fields, source, &mut warnings);
            Layout::Newspaper
        }
        _ => {
            page.read_loose(start, &head, &mut fields, source, &mut warnings);
            if page.has_newspaper_marker {
                Layout::Newspaper
            } else {
                warnings.push(format!(
                    "{source}: no dateline or newspaper header found; imported with the fields that could be read"
                ));
                Layout::Unknown
            }
        }
    };

    let (headline, extra) = split_headline(&fields.headers);
    let mut paragraphs = extra;
    paragraphs.extend(page.body_paragraphs());
    if let Some(h) = &headline {
        paragraphs.retain(|p| p != h);
    }
    let body = paragraphs.join("\n\n");
    if body.is_empty() {
        warnings.push(format!("{source}: no body text found"));
    }
    let title = headline.or_else(|| paragraphs.first().map(|p| title_from(first_sentence(p))));
    let words = body
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count() as u64;
    if HIDDEN_EMAIL.is_match(text) {
        warnings.push(format!(
            "{source}: an e-mail address hidden by the web page ([email protected]) was left out of contacts"
        ));
    }

    let org = fields.org_name.as_deref().map(acronym);
    Ok(Extracted {
        article: Article {
            org,
            org_name: fields.org_name,
            date: fields.date,
            location: fields.location,
            title,
            body,
            words,
            contacts: contacts(text),
            source: source.to_owned(),
            layout,
        },
        warnings,
    })
}

impl Article {
    /// The document stored for this article, with fields in this order: `org`, `org_name`,
    /// `date` (`"YYYY-MM-DD"`), `year`, `month`, `location`, `title`, `body`, `words`,
    /// `contacts`, `source`. Absent values are null; `contacts` is always an array.
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
    ///                    "body", "words", "contacts", "source"]);
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

/// What the header of a file yielded.
#[derive(Default)]
struct Fields {
    /// Lines standing above the body: the headline (maybe repeated), subtitles.
    headers: Vec<String>,
    date: Option<Date>,
    org_name: Option<String>,
    location: Option<String>,
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

    /// Drops navigation lines everywhere and the site furniture at the top: everything above
    /// the last navigation line of the head, or else a first line such as `... since 1995`
    /// standing directly above a dateline (a headline may end that way too, so elsewhere it
    /// is kept). Returns the first line after that furniture.
    fn skip_leading_furniture(&mut self) -> usize {
        for (line, keep) in self.lines.iter().zip(self.keep.iter_mut()) {
            if NAVIGATION.iter().any(|n| line.eq_ignore_ascii_case(n)) {
                *keep = false;
            }
        }
        let head_navigation = (0..self.lines.len())
            .filter(|&i| !self.lines[i].is_empty())
            .take(HEAD_LINES)
            .filter(|&i| !self.keep[i])
            .last();
        let mut start = head_navigation.map_or(0, |i| i + 1);
        let first_two: Vec<usize> = self.non_blank(0).take(2).collect();
        if let (None, &[tagline, dateline]) = (head_navigation, &first_two[..])
            && TAGLINE.is_match(&self.lines[tagline])
            && DATELINE.is_match(&self.lines[dateline])
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

    /// Reads the dateline on line `at`: lines above it are header lines, the text after its
    /// dash opens the body.
    fn read_dateline(
        &mut self,
        start: usize,
        at: usize,
        fields: &mut Fields,
        source: &str,
        warnings: &mut Vec<String>,
    ) {
        fields.headers = self.take_headers(start, at);
        if let Some(caps) = DATELINE.captures(&self.lines[at]) {
            let raw = format!("{}/{}/{}", &caps["month"], &caps["day"], &caps["year"]);
            fields.date = date_from(&caps["year"], &caps["month"], &caps["day"]);
            if fields.date.is_none() {
                warnings.push(invalid_date(&raw, source));
            }
            fields.location = caps
                .name("place")
                .map(|p| p.as_str().trim_end_matches([',', ' ']).to_owned())
                .filter(|p| !p.is_empty());
            fields.org_name = caps.name("org").map(|o| o.as_str().trim().to_owned());
            let rest = self.lines[at][caps.get(0).map_or(0, |m| m.end())..].to_owned();
            self.lines[at] = rest;
        }
        self.body_start = at;
    }

    /// Reads a newspaper header whose `Posted` line is line `at`: lines above it are the
    /// headline, `Updated` lines under it are dropped.
    fn read_posted(
        &mut self,
        start: usize,
        at: usize,
        fields: &mut Fields,
        source: &str,
        warnings: &mut Vec<String>,
    ) {
        fields.headers = self.take_headers(start, at);
        let rest = POSTED
            .captures(&self.lines[at])
            .and_then(|c| c.name("rest"))
            .map_or("", |m| m.as_str());
        fields.date = match find_date(rest) {
            Some(found) => {
                if found.date.is_none() {
                    warnings.push(invalid_date(&rest[found.range], source));
                }
                found.date
            }
            None => {
                warnings.push(format!("{source}: no date found in \"{}\"", self.lines[at]));
                None
            }
        };
        self.keep[at] = false;
        let mut next = at + 1;
        while next < self.lines.len()
            && (self.lines[next].is_empty() || UPDATED.is_match(&self.lines[next]))
        {
            self.keep[next] = false;
            next += 1;
        }
        self.body_start = next;
    }

    /// Reads a file with neither dateline nor `Posted` line: a date in the head (a line
    /// holding only the date, maybe labelled `Dated`, is dropped), and a headline when the first
    /// line stands alone.
    fn read_loose(
        &mut self,
        start: usize,
        head: &[usize],
        fields: &mut Fields,
        source: &str,
        warnings: &mut Vec<String>,
    ) {
        let mut invalid = false;
        for &i in head {
            let Some(found) = find_date(&self.lines[i]) else {
                continue;
            };
            let line = &self.lines[i];
            let raw = &line[found.range.clone()];
            let Some(date) = found.date else {
                warnings.push(invalid_date(raw, source));
                invalid = true;
                continue;
            };
            let label = line
                .replacen(raw, "", 1)
                .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
                .to_lowercase();
            let only_date = DATE_LABELS.contains(&label.as_str());
            fields.date = Some(date);
            self.keep[i] &= !only_date;
            break;
        }
        if fields.date.is_none() && !invalid {
            warnings.push(format!("{source}: no date found"));
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
        let lines: Vec<&str> = (self.body_start..self.lines.len())
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
        && find_date(line).is_none_or(|d| d.range.len() < line.len())
}

/// A date found in a line: the validated date (or why not), and where it was written.
struct FoundDate {
    date: Option<Date>,
    range: Range<usize>,
}

/// The earliest date written in `line` in one of the recognised forms.
fn find_date(line: &str) -> Option<FoundDate> {
    DATE_FORMS
        .iter()
        .filter_map(|re| re.captures(line))
        .min_by_key(|caps| caps.get(0).map_or(usize::MAX, |m| m.start()))
        .and_then(|caps| {
            let range = caps.get(0)?.range();
            let month = match caps.name("mon") {
                Some(name) => month_number(name.as_str())?.to_string(),
                None => caps.name("month")?.as_str().to_owned(),
            };
            let date = date_from(&caps["year"], &month, &caps["day"]);
            Some(FoundDate { date, range })
        })
}

/// The month number of an English month name or abbreviation.
fn month_number(name: &str) -> Option<u8> {
    let prefix = name.get(..3)?.to_ascii_lowercase();
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let index = months.iter().position(|m| *m == prefix)?;
    u8::try_from(index + 1).ok()
}

/// A calendar date from its written parts, or `None` when there is no such day.
fn date_from(year: &str, month: &str, day: &str) -> Option<Date> {
    Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()
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
    for m in EMAIL.find_iter(text) {
        let address = m.as_str();
        if !found.iter().any(|f| f.eq_ignore_ascii_case(address)) {
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
    fn month_number_reads_names_and_abbreviations() {
        assert_eq!(month_number("Sept"), Some(9));
        assert_eq!(month_number("december"), Some(12));
        assert_eq!(month_number("May"), Some(5));
        assert_eq!(month_number("Ma"), None);
    }

    #[test]
    fn find_date_reads_every_common_form() {
        for line in [
            "March 3, 2021",
            "Mar. 3, 2021",
            "mar 3rd 2021",
            "3 March 2021",
            "3rd Mar. 2021",
            "2021-03-03",
            "03/03/2021",
            "Filed on March 3, 2021 at noon",
        ] {
            let found = find_date(line).expect("a date is found");
            assert_eq!(found.date, Date::new(2021, 3, 3).ok(), "{line}");
        }
    }

    #[test]
    fn find_date_reports_impossible_days_as_invalid() {
        let found = find_date("February 30, 2021").expect("the date is found");
        assert_eq!(found.date, None);
        assert_eq!(found.range, 0..17);
    }

    #[test]
    fn find_date_takes_the_earliest_date_in_the_line() {
        let found = find_date("2020-01-02 or March 3, 2021").expect("a date is found");
        assert_eq!(found.date, Date::new(2020, 1, 2).ok());
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
