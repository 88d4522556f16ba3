//! The syntax of a search (`"coral reef" -bleaching reef* OR lagoon`) and what it asks of
//! the terms of one document.
//!
//! Invariant: [`Matcher::matches`] is the one definition of which documents a search selects;
//! the posting-list evaluation in the query layer computes the same sets, and the
//! differential tests hold it to that.
//!
//! Syntax: words must all match; `"a phrase"` matches adjacent words in order (stop words
//! keep their place); `-word` and `-"phrase"` must not match; `word*` matches words starting
//! so; `a OR b` matches either (`OR` in capitals, binding looser than the implied `and`);
//! `AND` may be written; parentheses group. A word that is several words to the analyzer
//! (`2021-03-04`) is a phrase of them.

use std::collections::BTreeMap;

use crate::text::analyze::{Analyzer, fold};

/// A search as written, before any language's analysis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    /// A word, or a prefix (`reef*`).
    Word {
        /// The word as written.
        text: String,
        /// Written with a trailing `*`.
        prefix: bool,
    },
    /// `"a phrase"`.
    Phrase(String),
    /// `-part`.
    Not(Box<Search>),
    /// Parts that must all hold.
    And(Vec<Search>),
    /// `a OR b`.
    Or(Vec<Search>),
}

/// A mistake in a search's syntax, at a character offset of the search text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where, counted in characters from the start of the search.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a search.
///
/// ```
/// use quarry::text::{Search, parse_search};
/// let search = parse_search(r#""coral reef" -bleaching"#).unwrap();
/// assert!(matches!(search, Search::And(parts) if parts.len() == 2));
/// assert!(parse_search(r#""open"#).is_err());
/// ```
pub fn parse_search(text: &str) -> Result<Search, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut parser = Parser { chars, at: 0 };
    let search = parser.or()?;
    parser.skip_space();
    if parser.at < parser.chars.len() {
        return Err(parser.error("`)` closes no `(`"));
    }
    Ok(search)
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            offset: self.at,
            message: message.to_owned(),
        }
    }

    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    /// Whether the next bare word is `keyword` (followed by a space, a quote, a parenthesis or
    /// the end).
    fn keyword(&self, keyword: &str) -> bool {
        let len = keyword.chars().count();
        let end = self.at + len;
        end <= self.chars.len()
            && self.chars[self.at..end].iter().copied().eq(keyword.chars())
            && self
                .chars
                .get(end)
                .is_none_or(|c| c.is_whitespace() || matches!(c, '"' | '(' | ')'))
    }

    fn or(&mut self) -> Result<Search, SyntaxError> {
        let mut parts = vec![self.and()?];
        loop {
            self.skip_space();
            if !self.keyword("OR") {
                break;
            }
            self.at += 2;
            self.skip_space();
            if self.at >= self.chars.len() || self.chars[self.at] == ')' {
                return Err(self.error("`OR` needs something to look for after it"));
            }
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Search::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Search, SyntaxError> {
        let mut parts = Vec::new();
        loop {
            self.skip_space();
            match self.chars.get(self.at) {
                None | Some(')') => break,
                _ if self.keyword("OR") => {
                    if parts.is_empty() {
                        return Err(self.error("`OR` needs something to look for before it"));
                    }
                    break;
                }
                _ if self.keyword("AND") => {
                    if parts.is_empty() {
                        return Err(self.error("`AND` needs something to look for before it"));
                    }
                    self.at += 3;
                    self.skip_space();
                    if matches!(self.chars.get(self.at), None | Some(')')) {
                        return Err(self.error("`AND` needs something to look for after it"));
                    }
                }
                _ => parts.push(self.unary()?),
            }
        }
        match parts.len() {
            0 => Err(self.error("nothing to look for here")),
            1 => Ok(parts.remove(0)),
            _ => Ok(Search::And(parts)),
        }
    }

    fn unary(&mut self) -> Result<Search, SyntaxError> {
        if self.chars.get(self.at) == Some(&'-') {
            self.at += 1;
            if self
                .chars
                .get(self.at)
                .is_none_or(|c| c.is_whitespace() || *c == ')')
            {
                self.at -= 1;
                return Err(self.error("`-` needs a word, a phrase or `(` right after it"));
            }
            return Ok(Search::Not(Box::new(self.atom()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Search, SyntaxError> {
        match self.chars[self.at] {
            '"' => {
                let open = self.at;
                self.at += 1;
                let start = self.at;
                while self.chars.get(self.at).is_some_and(|c| *c != '"') {
                    self.at += 1;
                }
                if self.at >= self.chars.len() {
                    self.at = open;
                    return Err(self.error("this phrase is not closed: add a `\"` after it"));
                }
                let phrase: String = self.chars[start..self.at].iter().collect();
                self.at += 1;
                Ok(Search::Phrase(phrase))
            }
            '(' => {
                let open = self.at;
                self.at += 1;
                let inner = self.or()?;
                self.skip_space();
                if self.chars.get(self.at) != Some(&')') {
                    self.at = open;
                    return Err(self.error("this `(` is not closed: add a `)`"));
                }
                self.at += 1;
                Ok(inner)
            }
            _ => {
                let start = self.at;
                while self
                    .chars
                    .get(self.at)
                    .is_some_and(|c| !c.is_whitespace() && !matches!(c, '"' | '(' | ')'))
                {
                    if self.chars[self.at] == '*' && self.at + 1 < self.chars.len() {
                        let next = self.chars[self.at + 1];
                        if !next.is_whitespace() && !matches!(next, '"' | '(' | ')') {
                            return Err(self.error("`*` marks a prefix: it goes at a word's end"));
                        }
                    }
                    self.at += 1;
                }
                let word: String = self.chars[start..self.at].iter().collect();
                match word.strip_suffix('*') {
                    Some("") => {
                        self.at = start;
                        Err(self.error("`*` needs the start of a word before it"))
                    }
                    Some(stem) => Ok(Search::Word {
                        text: stem.to_owned(),
                        prefix: true,
                    }),
                    None => Ok(Search::Word {
                        text: word,
                        prefix: false,
                    }),
                }
            }
        }
    }
}

/// The field bits of a position: a position is `field << FIELD_SHIFT | offset`, so two
/// fields' words are never adjacent.
pub const FIELD_SHIFT: u32 = 28;
/// The most fields a text index may have.
pub const MAX_TEXT_FIELDS: usize = 16;
/// Positions left between two strings of one field (elements of an array), so that no phrase
/// runs from one into the next.
pub const ELEMENT_GAP: u32 = 256;
/// The longest span of positions a phrase may cover.
pub const MAX_PHRASE_SPAN: u32 = ELEMENT_GAP - 1;

/// The field number of a position.
pub fn field_of(position: u32) -> u32 {
    position >> FIELD_SHIFT
}

/// A search analyzed in one language: what it asks of a document's terms.
#[derive(Clone, Debug, PartialEq)]
pub enum Matcher {
    /// Terms at these offsets from the first (one term: a word).
    Phrase(Vec<(String, u32)>),
    /// A term starting with this (folded, not stemmed).
    Prefix(String),
    /// All hold (some may be [`Matcher::Not`]; at least one is not).
    And(Vec<Matcher>),
    /// One holds (none is a [`Matcher::Not`]).
    Or(Vec<Matcher>),
    /// Must not hold.
    Not(Box<Matcher>),
}

/// A document's terms in one text index: each term's positions, sorted, and how many terms
/// the document has (its length for ranking).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocTerms {
    /// Term -> its positions (field-tagged, sorted).
    pub terms: BTreeMap<String, Vec<u32>>,
    /// The number of indexed words.
    pub length: u32,
}

impl DocTerms {
    /// The terms of a document whose fields (in index order) hold these strings.
    /// `Err` names a field whose words do not fit the positions a field has.
    pub fn of<'s>(
        analyzer: &Analyzer,
        fields: impl IntoIterator<Item = impl IntoIterator<Item = &'s str>>,
    ) -> Result<DocTerms, String> {
        let mut terms: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let length = DocTerms::walk(analyzer, fields, |term, position| {
            terms.entry(term).or_default().push(position);
        })?;
        Ok(DocTerms { terms, length })
    }

    /// Gives `each` every indexed word of a document whose fields (in index order) hold
    /// these strings, as its term and position, positions ascending; returns how many.
    /// `Err` names a field whose words do not fit the positions a field has.
    ///
    /// ```
    /// use quarry::text::{Analyzer, DocTerms, Language};
    /// let mut seen = Vec::new();
    /// let n = DocTerms::walk(&Analyzer::new(Language::None), [vec!["a b"], vec!["c"]], |t, p| seen.push((t, p)));
    /// assert_eq!(n, Ok(3));
    /// assert_eq!(seen, [("a".into(), 0), ("b".into(), 1), ("c".into(), 1 << 28)]);
    /// ```
    pub fn walk<'s>(
        analyzer: &Analyzer,
        fields: impl IntoIterator<Item = impl IntoIterator<Item = &'s str>>,
        mut each: impl FnMut(String, u32),
    ) -> Result<u32, String> {
        let mut length = 0u32;
        for (field, strings) in fields.into_iter().enumerate() {
            let tag = u32::try_from(field).unwrap_or(u32::MAX) << FIELD_SHIFT;
            let mut base = 0u32;
            for text in strings {
                let mut words = 0u32;
                for token in analyzer.tokens(text) {
                    let offset = base.saturating_add(token.position);
                    if offset >= 1 << FIELD_SHIFT {
                        return Err(format!(
                            "field {field} holds more words than a text index can place \
                             ({} positions)",
                            1u32 << FIELD_SHIFT
                        ));
                    }
                    each(token.term, tag | offset);
                    length += 1;
                    words = token.position + 1;
                }
                base = base.saturating_add(words).saturating_add(ELEMENT_GAP);
            }
        }
        Ok(length)
    }
}

/// What an analysis found wrong with a search (its words, not its syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalysisError(pub String);

impl Matcher {
    /// Analyzes `search` with `analyzer`. Words the analyzer drops (stop words) are left
    /// out; a search left with nothing to look for, or a part that only excludes, is an error.
    ///
    /// ```
    /// use quarry::text::{Analyzer, Language, Matcher, parse_search};
    /// let english = Analyzer::new(Language::English);
    /// let m = Matcher::analyze(&parse_search("Reefs").unwrap(), &english).unwrap();
    /// assert_eq!(m, Matcher::Phrase(vec![("reef".into(), 0)]));
    /// assert!(Matcher::analyze(&parse_search("the of").unwrap(), &english).is_err());
    /// ```
    pub fn analyze(search: &Search, analyzer: &Analyzer) -> Result<Matcher, AnalysisError> {
        let mut dropped = Vec::new();
        match analyze(search, analyzer, &mut dropped)? {
            Some(matcher) if !matches!(matcher, Matcher::Not(_)) => Ok(matcher),
            Some(_) => Err(AnalysisError(
                "a search that only excludes (`-word`) selects nothing: add a word to look for"
                    .into(),
            )),
            None if dropped.is_empty() => {
                Err(AnalysisError("the search has no words to look for".into()))
            }
            None => Err(AnalysisError(format!(
                "the search has no words to look for: {} {} stop word{} in {}, which the index \
                 leaves out",
                dropped
                    .iter()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if dropped.len() == 1 { "is a" } else { "are" },
                if dropped.len() == 1 { "" } else { "s" },
                analyzer.language()
            ))),
        }
    }

    /// Whether a document with these terms matches, counting only positions in `field` when
    /// one is given.
    pub fn matches(&self, doc: &DocTerms, field: Option<u32>) -> bool {
        match self {
            Matcher::Phrase(_) | Matcher::Prefix(_) => self.occurrences(doc, field) > 0,
            Matcher::And(parts) => parts.iter().all(|p| p.matches(doc, field)),
            Matcher::Or(parts) => parts.iter().any(|p| p.matches(doc, field)),
            Matcher::Not(inner) => !inner.matches(doc, field),
        }
    }

    /// How often a phrase or prefix occurs in the document (0 for other matchers).
    pub fn occurrences(&self, doc: &DocTerms, field: Option<u32>) -> u32 {
        let in_field = |p: &u32| field.is_none_or(|f| field_of(*p) == f);
        match self {
            Matcher::Phrase(terms) => {
                let lists: Option<Vec<(&[u32], u32)>> = terms
                    .iter()
                    .map(|(term, offset)| doc.terms.get(term).map(|l| (l.as_slice(), *offset)))
                    .collect();
                match lists {
                    Some(lists) => phrase_occurrences(&lists, field),
                    None => 0,
                }
            }
            Matcher::Prefix(prefix) => doc
                .terms
                .range::<str, _>((
                    std::ops::Bound::Included(prefix.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(term, _)| term.starts_with(prefix.as_str()))
                .map(|(_, positions)| positions.iter().filter(|p| in_field(p)).count() as u32)
                .sum(),
            _ => 0,
        }
    }

    /// The phrases and prefixes that are looked for (not under a `-`), in the order written:
    /// what a score adds up.
    pub fn wanted(&self) -> Vec<&Matcher> {
        self.leaves()
            .into_iter()
            .zip(self.leaf_signs())
            .filter_map(|(leaf, wanted)| wanted.then_some(leaf))
            .collect()
    }

    /// For each of [`Matcher::leaves`], whether it is looked for (not under a `-`).
    pub fn leaf_signs(&self) -> Vec<bool> {
        fn walk(m: &Matcher, wanted: bool, out: &mut Vec<bool>) {
            match m {
                Matcher::Phrase(_) | Matcher::Prefix(_) => out.push(wanted),
                Matcher::And(parts) | Matcher::Or(parts) => {
                    parts.iter().for_each(|p| walk(p, wanted, out));
                }
                Matcher::Not(inner) => walk(inner, false, out),
            }
        }
        let mut out = Vec::new();
        walk(self, true, &mut out);
        out
    }

    /// Every phrase and prefix, looked for or excluded, in the order written.
    pub fn leaves(&self) -> Vec<&Matcher> {
        match self {
            Matcher::Phrase(_) | Matcher::Prefix(_) => vec![self],
            Matcher::And(parts) | Matcher::Or(parts) => {
                parts.iter().flat_map(Matcher::leaves).collect()
            }
            Matcher::Not(inner) => inner.leaves(),
        }
    }
}

/// How many times the terms of a phrase occur at their offsets, each list the positions of
/// one term with its offset from the first.
pub fn phrase_occurrences(lists: &[(&[u32], u32)], field: Option<u32>) -> u32 {
    let Some(((first, _), rest)) = lists.split_first() else {
        return 0;
    };
    first
        .iter()
        .filter(|p| field.is_none_or(|f| field_of(**p) == f))
        .filter(|p| {
            rest.iter()
                .all(|(list, offset)| list.binary_search(&(**p + offset)).is_ok())
        })
        .count() as u32
}

fn analyze(
    search: &Search,
    analyzer: &Analyzer,
    dropped: &mut Vec<String>,
) -> Result<Option<Matcher>, AnalysisError> {
    Ok(match search {
        Search::Word { text, prefix: true } => {
            let folded = fold(text);
            let folded = folded.trim_matches(|c: char| !c.is_alphanumeric());
            if folded.is_empty() {
                return Err(AnalysisError(format!(
                    "`{text}*` has no letters or digits to start a word with"
                )));
            }
            if Analyzer::word_count(folded) > 1 {
                return Err(AnalysisError(format!(
                    "`{text}*`: a prefix is the start of one word, and this is several"
                )));
            }
            Some(Matcher::Prefix(folded.to_owned()))
        }
        Search::Word { text, .. } | Search::Phrase(text) => {
            let tokens: Vec<(String, u32)> = analyzer
                .tokens(text)
                .map(|t| (t.term, t.position))
                .collect();
            match tokens.first() {
                None => {
                    if Analyzer::word_count(text) > 0 {
                        dropped.push(text.clone());
                    }
                    None
                }
                Some((_, first)) => {
                    let first = *first;
                    let terms: Vec<(String, u32)> =
                        tokens.into_iter().map(|(t, p)| (t, p - first)).collect();
                    if terms.last().is_some_and(|(_, o)| *o > MAX_PHRASE_SPAN) {
                        return Err(AnalysisError(format!(
                            "the phrase \"{text}\" is too long: a phrase spans at most \
                             {MAX_PHRASE_SPAN} words"
                        )));
                    }
                    Some(Matcher::Phrase(terms))
                }
            }
        }
        Search::Not(inner) => analyze(inner, analyzer, dropped)?.map(|m| match m {
            Matcher::Not(twice) => *twice,
            other => Matcher::Not(Box::new(other)),
        }),
        Search::And(parts) => {
            let mut kept = Vec::new();
            for part in parts {
                kept.extend(analyze(part, analyzer, dropped)?);
            }
            match kept.len() {
                0 => None,
                1 => kept.pop(),
                _ if kept.iter().all(|m| matches!(m, Matcher::Not(_))) => {
                    return Err(only_excludes(search));
                }
                _ => Some(Matcher::And(kept)),
            }
        }
        Search::Or(parts) => {
            let mut kept = Vec::new();
            for part in parts {
                kept.extend(analyze(part, analyzer, dropped)?);
            }
            if kept.iter().any(|m| matches!(m, Matcher::Not(_))) {
                return Err(only_excludes(search));
            }
            match kept.len() {
                0 => None,
                1 => kept.pop(),
                _ => Some(Matcher::Or(kept)),
            }
        }
    })
}

fn only_excludes(_search: &Search) -> AnalysisError {
    AnalysisError(
        "a part of the search only excludes (`-word` on its own, or beside `OR`): it would \
         select every document without the word; add a word to look for beside it"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::analyze::Language;

    fn matcher(text: &str) -> Matcher {
        Matcher::analyze(
            &parse_search(text).unwrap(),
            &Analyzer::new(Language::English),
        )
        .unwrap()
    }

    fn doc(fields: &[&str]) -> DocTerms {
        DocTerms::of(
            &Analyzer::new(Language::English),
            fields.iter().map(|f| std::iter::once(*f)),
        )
        .unwrap()
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = parse_search("a \"b c").unwrap_err();
        assert_eq!(err.offset, 2);
        assert!(
            parse_search("(a b")
                .unwrap_err()
                .message
                .contains("not closed")
        );
        assert!(parse_search("a OR").is_err());
        assert!(parse_search("OR a").is_err());
        assert!(parse_search("a)").is_err());
        assert!(parse_search("- a").is_err());
        assert!(parse_search("*").is_err());
        assert!(parse_search("a*b").is_err());
        assert!(parse_search("").is_err());
    }

    #[test]
    fn words_all_match_and_or_binds_looser() {
        let d = doc(&["coral reefs bleach"]);
        assert!(matcher("coral reef").matches(&d, None));
        assert!(!matcher("coral lagoon").matches(&d, None));
        assert!(matcher("lagoon OR reef").matches(&d, None));
        assert!(matcher("lagoon OR coral reef").matches(&d, None));
        assert!(!matcher("coral -bleaching").matches(&d, None));
        assert!(matcher("(lagoon OR coral) AND reef").matches(&d, None));
    }

    #[test]
    fn phrases_are_adjacent_within_one_field() {
        let d = doc(&["a coral", "reef here"]);
        assert!(!matcher("\"coral reef\"").matches(&d, None));
        assert!(matcher("coral reef").matches(&d, None));
        assert!(matcher("\"bank of england\"").matches(&doc(&["the Bank of England"]), None));
        assert!(!matcher("\"bank england\"").matches(&doc(&["the Bank of England"]), None));
    }

    #[test]
    fn a_field_restricts_positions() {
        let d = doc(&["coral", "reef"]);
        assert!(matcher("reef").matches(&d, Some(1)));
        assert!(!matcher("reef").matches(&d, Some(0)));
    }

    #[test]
    fn prefixes_match_folded_terms() {
        let d = doc(&["Lagoons and reefs"]);
        assert!(matcher("lag*").matches(&d, None));
        assert!(matcher("RE*").matches(&d, None));
        assert!(!matcher("x*").matches(&d, None));
    }

    #[test]
    fn a_search_of_stop_words_or_of_exclusions_only_is_refused() {
        let english = Analyzer::new(Language::English);
        let err = Matcher::analyze(&parse_search("the").unwrap(), &english).unwrap_err();
        assert!(
            err.0.contains("`the` is a stop word in english"),
            "{}",
            err.0
        );
        assert!(Matcher::analyze(&parse_search("-reef").unwrap(), &english).is_err());
        assert!(Matcher::analyze(&parse_search("a OR -reef").unwrap(), &english).is_err());
        assert!(Matcher::analyze(&parse_search("coral -the").unwrap(), &english).is_ok());
    }

    #[test]
    fn strings_of_an_array_are_apart() {
        let analyzer = Analyzer::new(Language::None);
        let d = DocTerms::of(&analyzer, [vec!["coral", "reef"]]).unwrap();
        let phrase = Matcher::analyze(&parse_search("\"coral reef\"").unwrap(), &analyzer).unwrap();
        assert!(!phrase.matches(&d, None));
        assert_eq!(d.length, 2);
    }
}
