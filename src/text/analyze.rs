//! Turning text into the terms a text index holds, the same way for documents and for
//! searches.
//!
//! Invariant: a word becomes a term by one pipeline, [`Analyzer::term`]: apostrophes of every
//! kind are made `'`, letters are lower-cased and stripped of their accents (`é` = `e`), stop
//! words are dropped, and what is left is stemmed. Words are found at Unicode word boundaries
//! (UAX #29, as `unicode-segmentation` finds them: `Korea's` is one word, `2021-03-04` three,
//! each Han character one). Every word takes a position, a dropped one too, so a phrase with a
//! stop word in it keeps its spacing.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

/// The longest term kept, in bytes: a longer word (an encoded blob, a URL) takes its position
/// but is not indexed.
pub const MAX_TERM_BYTES: usize = 128;

/// The language whose stemming and stop words a text index uses.
///
/// ```
/// use quarry::text::Language;
/// assert_eq!("english".parse::<Language>(), Ok(Language::English));
/// assert_eq!(Language::None.to_string(), "none");
/// assert!("klingon".parse::<Language>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    /// No stemming and no stop words: every word is a term as written (folded).
    None,
    #[allow(missing_docs)]
    Arabic,
    #[allow(missing_docs)]
    Danish,
    #[allow(missing_docs)]
    Dutch,
    #[allow(missing_docs)]
    English,
    #[allow(missing_docs)]
    Finnish,
    #[allow(missing_docs)]
    French,
    #[allow(missing_docs)]
    German,
    #[allow(missing_docs)]
    Greek,
    #[allow(missing_docs)]
    Hungarian,
    #[allow(missing_docs)]
    Italian,
    #[allow(missing_docs)]
    Norwegian,
    #[allow(missing_docs)]
    Portuguese,
    #[allow(missing_docs)]
    Romanian,
    #[allow(missing_docs)]
    Russian,
    #[allow(missing_docs)]
    Spanish,
    #[allow(missing_docs)]
    Swedish,
    #[allow(missing_docs)]
    Tamil,
    #[allow(missing_docs)]
    Turkish,
}

impl Language {
    /// Every language, by the name the language of queries gives it.
    pub const ALL: [(Language, &'static str); 19] = [
        (Language::None, "none"),
        (Language::Arabic, "arabic"),
        (Language::Danish, "danish"),
        (Language::Dutch, "dutch"),
        (Language::English, "english"),
        (Language::Finnish, "finnish"),
        (Language::French, "french"),
        (Language::German, "german"),
        (Language::Greek, "greek"),
        (Language::Hungarian, "hungarian"),
        (Language::Italian, "italian"),
        (Language::Norwegian, "norwegian"),
        (Language::Portuguese, "portuguese"),
        (Language::Romanian, "romanian"),
        (Language::Russian, "russian"),
        (Language::Spanish, "spanish"),
        (Language::Swedish, "swedish"),
        (Language::Tamil, "tamil"),
        (Language::Turkish, "turkish"),
    ];

    /// The name (`english`).
    pub fn name(self) -> &'static str {
        Language::ALL
            .iter()
            .find(|(l, _)| *l == self)
            .map_or("none", |(_, name)| name)
    }

    fn algorithm(self) -> Option<(rust_stemmers::Algorithm, &'static str)> {
        use rust_stemmers::Algorithm as A;
        Some(match self {
            Language::None => return None,
            Language::Arabic => (A::Arabic, "ar"),
            Language::Danish => (A::Danish, "da"),
            Language::Dutch => (A::Dutch, "nl"),
            Language::English => (A::English, "en"),
            Language::Finnish => (A::Finnish, "fi"),
            Language::French => (A::French, "fr"),
            Language::German => (A::German, "de"),
            Language::Greek => (A::Greek, "el"),
            Language::Hungarian => (A::Hungarian, "hu"),
            Language::Italian => (A::Italian, "it"),
            Language::Norwegian => (A::Norwegian, "no"),
            Language::Portuguese => (A::Portuguese, "pt"),
            Language::Romanian => (A::Romanian, "ro"),
            Language::Russian => (A::Russian, "ru"),
            Language::Spanish => (A::Spanish, "es"),
            Language::Swedish => (A::Swedish, "sv"),
            Language::Tamil => (A::Tamil, "ta"),
            Language::Turkish => (A::Turkish, "tr"),
        })
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Language, String> {
        let lower = s.to_ascii_lowercase();
        Language::ALL
            .iter()
            .find(|(_, name)| *name == lower)
            .map(|(l, _)| *l)
            .ok_or_else(|| {
                let names: Vec<&str> = Language::ALL.iter().map(|(_, n)| *n).collect();
                format!("unknown language `{s}`: one of {}", names.join(", "))
            })
    }
}

/// A word of a text as the analyzer found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The term it is indexed under.
    pub term: String,
    /// Its position among the words of the text (dropped words counted).
    pub position: u32,
    /// Where it is in the text, in bytes.
    pub span: std::ops::Range<usize>,
}

/// Finds the terms of texts in one language.
///
/// ```
/// use quarry::text::{Analyzer, Language};
/// let english = Analyzer::new(Language::English);
/// let terms: Vec<String> = english.tokens("The reefs of Korea’s coast").map(|t| t.term).collect();
/// assert_eq!(terms, ["reef", "korea", "coast"]);
/// let plain = Analyzer::new(Language::None);
/// assert_eq!(plain.term("Café"), Some("cafe".to_owned()));
/// ```
pub struct Analyzer {
    language: Language,
    stemmer: Option<rust_stemmers::Stemmer>,
    stops: Option<&'static HashSet<String>>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Analyzer({})", self.language)
    }
}

impl Analyzer {
    /// The analyzer of `language`.
    pub fn new(language: Language) -> Analyzer {
        let (stemmer, stops) = match language.algorithm() {
            Some((algorithm, code)) => (
                Some(rust_stemmers::Stemmer::create(algorithm)),
                Some(stop_words_of(language, code)),
            ),
            None => (None, None),
        };
        Analyzer {
            language,
            stemmer,
            stops,
        }
    }

    /// The analyzer of `language`, made once and shared.
    pub fn shared(language: Language) -> &'static Analyzer {
        static ALL: OnceLock<Vec<Analyzer>> = OnceLock::new();
        let all = ALL.get_or_init(|| {
            Language::ALL
                .iter()
                .map(|(l, _)| Analyzer::new(*l))
                .collect()
        });
        all.iter()
            .find(|a| a.language == language)
            .unwrap_or(&all[0])
    }

    /// Its language.
    pub fn language(&self) -> Language {
        self.language
    }

    /// The words of `text` that are indexed, with their positions (counting from 0).
    pub fn tokens<'t>(&'t self, text: &'t str) -> impl Iterator<Item = Token> + 't {
        text.unicode_word_indices()
            .enumerate()
            .filter_map(|(position, (start, word))| {
                let term = self.term(word)?;
                Some(Token {
                    term,
                    position: u32::try_from(position).unwrap_or(u32::MAX),
                    span: start..start + word.len(),
                })
            })
    }

    /// How many words `text` has, dropped ones included: the positions it takes.
    pub fn word_count(text: &str) -> usize {
        text.unicode_words().count()
    }

    /// The term of one word: `None` for a stop word or a word too long to index.
    pub fn term(&self, word: &str) -> Option<String> {
        let folded = fold(word);
        if folded.is_empty() || self.stops.is_some_and(|stops| stops.contains(&folded)) {
            return None;
        }
        let term = match &self.stemmer {
            Some(stemmer) => stemmer.stem(&folded).into_owned(),
            None => folded,
        };
        (term.len() <= MAX_TERM_BYTES && !term.is_empty()).then_some(term)
    }

    /// Whether `word` is one of the language's stop words.
    pub fn is_stop_word(&self, word: &str) -> bool {
        self.stops.is_some_and(|stops| stops.contains(&fold(word)))
    }
}

/// A word lower-cased, its accents and other combining diacritical marks (U+0300 to U+036F)
/// removed, its apostrophes made `'`: what a prefix is compared with.
///
/// ```
/// assert_eq!(quarry::text::fold("Élan’S"), "elan's");
/// ```
pub fn fold(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(word.len());
    if word.is_ascii() {
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        return out;
    }
    for c in word.nfd() {
        match c {
            '\u{0300}'..='\u{036F}' => {}
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{FF07}' | '\u{00B4}' | '\u{0060}' => {
                out.push('\'');
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out.nfc().collect()
}

/// The stop words of a language, folded as terms are.
fn stop_words_of(language: Language, code: &str) -> &'static HashSet<String> {
    type Lists = std::sync::Mutex<Vec<(Language, &'static HashSet<String>)>>;
    static LISTS: OnceLock<Lists> = OnceLock::new();
    let lists = LISTS.get_or_init(Default::default);
    let mut lists = lists.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, set)) = lists.iter().find(|(l, _)| *l == language) {
        return set;
    }
    let words = stop_words::lookup(code).unwrap_or_default();
    let set: &'static HashSet<String> =
        Box::leak(Box::new(words.iter().map(|w| fold(w)).collect()));
    lists.push((language, set));
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(language: Language, text: &str) -> Vec<(String, u32)> {
        Analyzer::new(language)
            .tokens(text)
            .map(|t| (t.term, t.position))
            .collect()
    }

    #[test]
    fn apostrophes_of_every_kind_are_one() {
        let plain = |text| terms(Language::None, text);
        assert_eq!(plain("Korea's"), plain("Korea’s"));
        assert_eq!(plain("Korea's")[0].0, "korea's");
        assert_eq!(terms(Language::English, "Korea’s")[0].0, "korea");
    }

    #[test]
    fn accents_fold_and_case_lowers() {
        assert_eq!(terms(Language::None, "Élan CAFÉ naïve")[1].0, "cafe");
        assert_eq!(terms(Language::None, "naïve")[0].0, "naive");
    }

    #[test]
    fn stop_words_take_their_position() {
        assert_eq!(
            terms(Language::English, "the Bank of England"),
            [("bank".to_owned(), 1), ("england".to_owned(), 3)]
        );
        assert_eq!(terms(Language::None, "the").len(), 1);
    }

    #[test]
    fn stemming_follows_the_language() {
        assert_eq!(terms(Language::English, "reefs")[0].0, "reef");
        assert_eq!(terms(Language::None, "reefs")[0].0, "reefs");
        assert_eq!(terms(Language::French, "nationales")[0].0, "national");
    }

    #[test]
    fn numbers_and_dates_are_words() {
        let words: Vec<String> = terms(Language::English, "3.5 million on 2021-03-04")
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(words, ["3.5", "million", "2021", "03", "04"]);
    }

    #[test]
    fn han_characters_are_words_of_their_own() {
        assert_eq!(terms(Language::None, "珊瑚礁").len(), 3);
    }

    #[test]
    fn spans_point_into_the_text() {
        let text = "Coral reefs";
        let tokens: Vec<Token> = Analyzer::new(Language::English).tokens(text).collect();
        assert_eq!(&text[tokens[1].span.clone()], "reefs");
    }
}
