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
