//! Seeded synthetic article-like documents of about 1 KB.

use serde::{Deserialize, Serialize};

/// One article: the same data goes into every engine.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Article {
    pub org: String,
    pub year: i64,
    pub date: String,
    pub location: String,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub words: i64,
    pub bucket: i64,
}

/// Which articles came, in which order: their body lengths (which tell apart articles with
/// equal keys) folded in order, so that engines returning the same rows in another order differ.
pub fn order_fingerprint(rows: &[Article]) -> usize {
    rows.iter().fold(rows.len(), |print, article| {
        print
            .wrapping_mul(1_000_003)
            .wrapping_add(article.body.len())
    })
}

/// A small deterministic generator (xorshift64*), so every run sees the same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const ORGS: &[&str] = &[
    "ICC", "HRW", "MWA", "COL", "DLF", "AIN", "RSF", "PEN", "ODI", "WWF",
];
const PLACES: &[&str] = &[
    "Suva, Fiji",
    "Geneva",
    "Lima, Peru",
    "Nairobi, Kenya",
    "Dhaka",
    "Oslo",
    "Quito",
    "Hanoi",
];
const WORDS: &[&str] = &[
    "reef", "survey", "water", "rights", "school", "solar", "harbour", "library", "council",
    "report", "village", "coast", "glacier", "workers", "shift", "data", "season", "river",
    "market", "court", "health", "forest", "storm", "press", "release", "field", "team",
];
const TAGS: &[&str] = &[
    "climate",
    "labour",
    "education",
    "oceans",
    "water",
    "press",
    "health",
];

/// `n` articles; `org` is skewed (the first organisations are far more common).
pub fn articles(n: usize) -> Vec<Article> {
    let mut rng = Rng::new(0x5EED);
    (0..n)
        .map(|i| {
            // Skew: half the documents come from the first two organisations.
            let org = if rng.below(2) == 0 {
                ORGS[rng.below(2) as usize]
            } else {
                ORGS[rng.below(ORGS.len() as u64) as usize]
            };
            let year = 2000 + rng.below(25) as i64;
            let date = format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
            let text_words = 110 + rng.below(40) as usize;
            let body: Vec<&str> = (0..text_words)
                .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
                .collect();
            let title: Vec<&str> = body.iter().take(6).copied().collect();
            let tags = (0..1 + rng.below(3))
                .map(|_| TAGS[rng.below(TAGS.len() as u64) as usize].to_owned())
                .collect();
            Article {
                org: org.to_owned(),
                year,
                date,
                location: PLACES[rng.below(PLACES.len() as u64) as usize].to_owned(),
                title: title.join(" "),
                body: body.join(" "),
                tags,
                words: text_words as i64,
                bucket: (i % 10) as i64,
            }
        })
        .collect()
}

/// One document of the full-text benchmark: the same data goes into SQLite's FTS5 table and
/// quarry's text index.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TextArticle {
    pub org: String,
    pub title: String,
    pub body: String,
}

/// The organisations of the full-text documents, skewed as in [`articles`].
pub const TEXT_ORGS: &[&str] = &["ICC", "HRW", "MWA", "COL", "DLF", "AIN", "RSF", "PEN"];

/// How many distinct words the full-text documents draw from.
pub const VOCABULARY: usize = 4000;

/// Per thousand documents: how many get the phrase "coral reef" in the body (one to three
/// times), "coral" alone in the body, "reef" alone in the body, the phrase in the title, and
/// "reef" alone in the title. Each is drawn on its own, so a document may get several.
pub const PHRASE_IN_BODY: u64 = 20;
pub const CORAL_IN_BODY: u64 = 30;
pub const REEF_IN_BODY: u64 = 50;
pub const PHRASE_IN_TITLE: u64 = 5;
pub const REEF_IN_TITLE: u64 = 5;

/// `size` distinct lower-case ASCII words of two to four syllables, none of them `coral` or
/// `reef` (which the documents get only in the shares above).
pub fn vocabulary(size: usize) -> Vec<String> {
    const ONSETS: &[&str] = &[
        "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "st",
        "tr", "gl",
    ];
    const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou"];
    let mut rng = Rng::new(0x70CA);
    let mut seen = std::collections::HashSet::new();
    let mut words = Vec::with_capacity(size);
    while words.len() < size {
        let syllables = 2 + rng.below(3);
        let mut word = String::new();
        for _ in 0..syllables {
            word.push_str(ONSETS[rng.below(ONSETS.len() as u64) as usize]);
            word.push_str(VOWELS[rng.below(VOWELS.len() as u64) as usize]);
        }
        if rng.below(3) == 0 {
            word.push_str(["n", "r", "s", "t"][rng.below(4) as usize]);
        }
        if word != "coral" && word != "reef" && seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

/// Draws word ranks with probability proportional to 1 / (rank + 1) (Zipf, s = 1).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(size: usize) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..size)
            .map(|rank| {
                total += 1.0 / (rank as f64 + 1.0);
                total
            })
            .collect();
        Zipf { cumulative }
    }
    fn draw(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let at = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.cumulative
            .partition_point(|c| *c <= at)
            .min(self.cumulative.len() - 1)
    }
}

/// Puts `words` into `text` at a random word boundary.
fn put_words<'a>(rng: &mut Rng, text: &mut Vec<&'a str>, words: &[&'a str]) {
    let at = rng.below(text.len() as u64 + 1) as usize;
    text.splice(at..at, words.iter().copied());
}

/// Joins words into sentences: the first word of each capitalised, a full stop every 8 to 19
/// words, now and then a comma.
fn sentences(rng: &mut Rng, words: &[&str]) -> String {
    let mut out = String::with_capacity(words.len() * 8);
    let mut left = 0;
    for (i, word) in words.iter().enumerate() {
        if left == 0 {
            if i > 0 {
                out.push_str(". ");
            }
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
            left = 8 + rng.below(12);
        } else {
            out.push_str(if rng.below(12) == 0 { ", " } else { " " });
            out.push_str(word);
        }
        left -= 1;
    }
    out.push('.');
    out
}

/// `n` documents for the full-text benchmark: a title of 4 to 8 words and a body of 130 to
/// 170 words drawn from [`vocabulary`] by [`Zipf`], with `coral` and `reef` put in the shares
/// of documents given above, and an `org` skewed as in [`articles`].
pub fn text_articles(n: usize) -> Vec<TextArticle> {
    let words = vocabulary(VOCABULARY);
    let zipf = Zipf::new(words.len());
    let mut rng = Rng::new(0x7E47);
    let chance = |rng: &mut Rng, per_thousand: u64| rng.below(1000) < per_thousand;
    (0..n)
        .map(|_| {
            let org = if rng.below(2) == 0 {
                TEXT_ORGS[rng.below(2) as usize]
            } else {
                TEXT_ORGS[rng.below(TEXT_ORGS.len() as u64) as usize]
            };
            let mut title: Vec<&str> = (0..4 + rng.below(5))
                .map(|_| words[zipf.draw(&mut rng)].as_str())
                .collect();
            let mut body: Vec<&str> = (0..130 + rng.below(41))
                .map(|_| words[zipf.draw(&mut rng)].as_str())
                .collect();
            if chance(&mut rng, PHRASE_IN_BODY) {
                for _ in 0..1 + rng.below(3) {
                    put_words(&mut rng, &mut body, &["coral", "reef"]);
                }
            }
            if chance(&mut rng, CORAL_IN_BODY) {
                put_words(&mut rng, &mut body, &["coral"]);
            }
            if chance(&mut rng, REEF_IN_BODY) {
                put_words(&mut rng, &mut body, &["reef"]);
            }
            if chance(&mut rng, PHRASE_IN_TITLE) {
                put_words(&mut rng, &mut title, &["Coral", "Reef"]);
            }
            if chance(&mut rng, REEF_IN_TITLE) {
                put_words(&mut rng, &mut title, &["reef"]);
            }
            let mut title = sentences(&mut rng, &title);
            title.pop();
            TextArticle {
                org: org.to_owned(),
                title,
                body: sentences(&mut rng, &body),
            }
        })
        .collect()
}
