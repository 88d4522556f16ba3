//! The window of a text that shows why a document matched: the words around the first match,
//! with each matching word marked.
//!
//! Invariant: a snippet is made of the text's own characters between its marks; it is cut only
//! at word boundaries, and a cut is shown by the ellipsis.

use unicode_segmentation::UnicodeSegmentation;

use crate::text::analyze::Analyzer;

/// How matches and cuts are shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marks {
    /// Before a matching word (`[`).
    pub open: String,
    /// After it (`]`).
    pub close: String,
    /// Where the text was cut (`…`).
    pub ellipsis: String,
    /// How many words the window holds.
    pub words: usize,
}

impl Default for Marks {
    fn default() -> Marks {
        Marks {
            open: "[".into(),
            close: "]".into(),
            ellipsis: "…".into(),
            words: 12,
        }
    }
}

/// Words shown before the first match.
const LEAD: usize = 3;

/// The snippet of `text`: `Some` with the window around its first word for which `wanted`
/// holds (given the word's term), `None` when no word of it is wanted.
///
/// ```
/// use quarry::text::{Analyzer, Language, snippet::{Marks, snippet}};
/// let english = Analyzer::new(Language::English);
/// let text = "Divers counted the fish. The coral reefs were bleached white by the heat.";
/// let found = snippet(text, &english, &|term: &str| term == "reef", &Marks::default());
/// assert_eq!(found.unwrap(), "… fish. The coral [reefs] were bleached white by the heat.");
/// ```
pub fn snippet(
    text: &str,
    analyzer: &Analyzer,
    wanted: &dyn Fn(&str) -> bool,
    marks: &Marks,
) -> Option<String> {
    let words: Vec<(usize, &str)> = text.unicode_word_indices().collect();
    let matched: Vec<bool> = {
        let mut matched = vec![false; words.len()];
        for token in analyzer.tokens(text) {
            if wanted(&token.term)
                && let Some(slot) = matched.get_mut(token.position as usize)
            {
                *slot = true;
            }
        }
        matched
    };
    let first = matched.iter().position(|m| *m)?;
    Some(window(
        text,
        &words,
        &matched,
        first.saturating_sub(LEAD),
        marks,
    ))
}

/// The first words of `text`, unmarked: the snippet of a field that holds no match.
///
/// ```
/// use quarry::text::snippet::{Marks, opening};
/// let marks = Marks { words: 2, ..Marks::default() };
/// assert_eq!(opening("One two three.", &marks), "One two …");
/// ```
pub fn opening(text: &str, marks: &Marks) -> String {
    let words: Vec<(usize, &str)> = text.unicode_word_indices().collect();
    let matched = vec![false; words.len()];
    window(text, &words, &matched, 0, marks)
}

fn window(
    text: &str,
    words: &[(usize, &str)],
    matched: &[bool],
    start: usize,
    marks: &Marks,
) -> String {
    let end = (start + marks.words.max(1)).min(words.len());
    let mut out = String::new();
    if words.is_empty() {
        return text.to_owned();
    }
    // Text before the first word is kept when the window starts at the text's start.
    let mut at = if start == 0 {
        0
    } else {
        out.push_str(&marks.ellipsis);
        out.push(' ');
        words[start].0
    };
    for i in start..end {
        let (offset, word) = words[i];
        out.push_str(&text[at..offset]);
        if matched[i] {
            out.push_str(&marks.open);
            out.push_str(word);
            out.push_str(&marks.close);
        } else {
            out.push_str(word);
        }
        at = offset + word.len();
    }
    if end < words.len() {
        out.push(' ');
        out.push_str(&marks.ellipsis);
    } else {
        out.push_str(&text[at..]);
    }
    out
}
