//! Dates as news and press releases write them, in English, French, German, Spanish and
//! Portuguese: `March 3, 2022`, `Oct. 7, 2021`, `3rd March 2021`, `14. März 2022`,
//! `le 5 mai 2021`, `1er juin 2021`, `2 de junio de 2020`, `3 de março de 2021`, `2021-06-09`,
//! `03/12/2018` (month first).
//!
//! Invariant: a date is found only where a month name of one of these languages (or a numeric
//! form) stands in one of these shapes; the language it reports is one whose month names and
//! shape fit what was written.

use std::ops::Range;
use std::sync::LazyLock;

use jiff::civil::Date;
use regex::Regex;

/// A language an article's dates and labels can be read in.
///
/// ```
/// use quarry::import::article::Language;
/// assert_eq!(Language::De.code(), "de");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// English.
    En,
    /// French.
    Fr,
    /// German.
    De,
    /// Spanish.
    Es,
    /// Portuguese.
    Pt,
}

impl Language {
    /// The ISO 639-1 code (`en`, `fr`, `de`, `es`, `pt`).
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
            Language::De => "de",
            Language::Es => "es",
            Language::Pt => "pt",
        }
    }
}

use Language::{De, En, Es, Fr, Pt};

/// Month names and abbreviations (lower case, without a final dot), with their month and the
/// languages that write them so.
const MONTHS: &[(&str, u8, &[Language])] = &[
    ("january", 1, &[En]),
    ("jan", 1, &[En, De]),
    ("janvier", 1, &[Fr]),
    ("janv", 1, &[Fr]),
    ("januar", 1, &[De]),
    ("enero", 1, &[Es]),
    ("ene", 1, &[Es]),
    ("janeiro", 1, &[Pt]),
    ("february", 2, &[En]),
    ("feb", 2, &[En, De]),
    ("février", 2, &[Fr]),
    ("fevrier", 2, &[Fr]),
    ("févr", 2, &[Fr]),
    ("fév", 2, &[Fr]),
    ("februar", 2, &[De]),
    ("febrero", 2, &[Es]),
    ("fevereiro", 2, &[Pt]),
    ("fev", 2, &[Pt]),
    ("march", 3, &[En]),
    ("mar", 3, &[En, Es, Pt]),
    ("mars", 3, &[Fr]),
    ("märz", 3, &[De]),
    ("marz", 3, &[De]),
    ("mär", 3, &[De]),
    ("marzo", 3, &[Es]),
    ("março", 3, &[Pt]),
    ("marco", 3, &[Pt]),
    ("april", 4, &[En, De]),
    ("apr", 4, &[En, De]),
    ("avril", 4, &[Fr]),
    ("avr", 4, &[Fr]),
    ("abril", 4, &[Es, Pt]),
    ("abr", 4, &[Es, Pt]),
    ("may", 5, &[En]),
    ("mai", 5, &[Fr, De]),
    ("mayo", 5, &[Es]),
    ("maio", 5, &[Pt]),
    ("june", 6, &[En]),
    ("jun", 6, &[En, De, Es, Pt]),
    ("juin", 6, &[Fr]),
    ("juni", 6, &[De]),
    ("junio", 6, &[Es]),
    ("junho", 6, &[Pt]),
    ("july", 7, &[En]),
    ("jul", 7, &[En, De, Es, Pt]),
    ("juillet", 7, &[Fr]),
    ("juil", 7, &[Fr]),
    ("juli", 7, &[De]),
    ("julio", 7, &[Es]),
    ("julho", 7, &[Pt]),
    ("august", 8, &[En, De]),
    ("aug", 8, &[En, De]),
    ("août", 8, &[Fr]),
    ("aout", 8, &[Fr]),
    ("agosto", 8, &[Es, Pt]),
    ("ago", 8, &[Es, Pt]),
    ("september", 9, &[En, De]),
    ("sept", 9, &[En, Fr, De]),
    ("sep", 9, &[En, De, Es]),
    ("septembre", 9, &[Fr]),
    ("septiembre", 9, &[Es]),
    ("setiembre", 9, &[Es]),
    ("setembro", 9, &[Pt]),
    ("set", 9, &[Pt]),
    ("october", 10, &[En]),
    ("oct", 10, &[En, Fr, Es]),
    ("octobre", 10, &[Fr]),
    ("oktober", 10, &[De]),
    ("okt", 10, &[De]),
    ("octubre", 10, &[Es]),
    ("outubro", 10, &[Pt]),
    ("out", 10, &[Pt]),
    ("november", 11, &[En, De]),
    ("nov", 11, &[En, Fr, De, Es, Pt]),
    ("novembre", 11, &[Fr]),
    ("noviembre", 11, &[Es]),
    ("novembro", 11, &[Pt]),
    ("december", 12, &[En]),
    ("dec", 12, &[En]),
    ("décembre", 12, &[Fr]),
    ("decembre", 12, &[Fr]),
    ("déc", 12, &[Fr]),
    ("dezember", 12, &[De]),
    ("dez", 12, &[De, Pt]),
    ("diciembre", 12, &[Es]),
    ("dic", 12, &[Es]),
    ("dezembro", 12, &[Pt]),
];

/// The month a name or abbreviation stands for, and the languages that write it so.
pub fn month(name: &str) -> Option<(u8, &'static [Language])> {
    let name = name.trim_end_matches('.').to_lowercase();
    MONTHS
        .iter()
        .find(|(written, _, _)| *written == name)
        .map(|&(_, month, languages)| (month, languages))
}

/// Any word a month name could be: letters, an optional final dot.
const NAME: &str = r"(?P<mon>\p{L}{3,10})\.?";

/// The shapes, each with what it says of the language.
static FORMS: LazyLock<[(Regex, Shape); 4]> = LazyLock::new(|| {
    [
        // March 3, 2022 · Oct. 7 2021 · March 3rd, 2021
        (
            format!(r"(?i)\b{NAME}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b"),
            Shape::MonthFirst,
        ),
        // 3 March 2021 · 14. März 2022 · le 5 mai 2021 · 1er juin 2021 · 2 de junio de 2020
        (
            format!(
                r"(?i)\b(?P<day>\d{{1,2}})(?P<mark>\.|st|nd|rd|th|er|º|°)?\s+(?:of\s+|(?P<de>de\s+))?{NAME},?\s+(?:(?:de|del)\s+)?(?P<year>\d{{4}})\b"
            ),
            Shape::DayFirst,
        ),
        (
            r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\b"
                .to_owned(),
            Shape::Numeric,
        ),
        (
            r"\b(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})\b".to_owned(),
            Shape::Numeric,
        ),
    ]
    .map(|(pattern, shape)| {
        (
            Regex::new(&pattern).expect("the date patterns are valid regexes"),
            shape,
        )
    })
});

#[derive(Debug, Clone, Copy)]
enum Shape {
    MonthFirst,
    DayFirst,
    Numeric,
}

/// A date written in a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The day, or `None` when the parts name no real day (`February 30, 2021`).
    pub date: Option<Date>,
    /// Where it is written (with a leading `le ` in French).
    pub range: Range<usize>,
    /// The languages it may be written in (empty for numeric forms).
    pub languages: Vec<Language>,
}

/// The earliest date written in `line` in one of the recognised forms (`Berlin, 14. März
/// 2022 –`: 2022-03-14, German).
pub fn find(line: &str) -> Option<Found> {
    let mut best: Option<Found> = None;
    for (re, shape) in FORMS.iter() {
        for caps in re.captures_iter(line) {
            let Some(whole) = caps.get(0) else { continue };
            if best
                .as_ref()
                .is_some_and(|b| b.range.start <= whole.start())
            {
                break;
            }
            let (month, languages) = match caps.name("mon") {
                Some(name) => {
                    let Some((month, languages)) = month(name.as_str()) else {
                        continue;
                    };
                    (month, fit(*shape, &caps, languages))
                }
                None => match caps["month"].parse::<u8>() {
                    Ok(month) => (month, Vec::new()),
                    Err(_) => continue,
                },
            };
            if caps.name("mon").is_some() && languages.is_empty() {
                continue;
            }
            let date = caps["year"]
                .parse()
                .ok()
                .zip(caps["day"].parse().ok())
                .and_then(|(year, day)| Date::new(year, month as i8, day).ok());
            let mut start = whole.start();
            let mut languages = languages;
            if line[..start].to_lowercase().ends_with("le ") && languages.contains(&Fr) {
                // `le 5 mai 2021`: French.
                start -= 3;
                languages = vec![Fr];
            }
            best = Some(Found {
                date,
                range: start..whole.end(),
                languages,
            });
            break;
        }
    }
    best
}

/// The languages among `languages` that write a date in this shape.
fn fit(shape: Shape, caps: &regex::Captures, languages: &[Language]) -> Vec<Language> {
    let mark = caps.name("mark").map(|m| m.as_str().to_lowercase());
    let with_de = caps.name("de").is_some();
    languages
        .iter()
        .copied()
        .filter(|language| match shape {
            Shape::MonthFirst => *language == En,
            Shape::DayFirst => match (mark.as_deref(), with_de) {
                (_, true) => matches!(language, Es | Pt),
                (Some("."), false) => *language == De,
                (Some("er"), false) => *language == Fr,
                (Some("st" | "nd" | "rd" | "th"), false) => *language == En,
                (Some(_), false) => matches!(language, Es | Pt),
                (None, false) => true,
            },
            Shape::Numeric => true,
        })
        .collect()
}

/// Short words frequent in each language and rare in the others.
const FUNCTION_WORDS: &[(Language, &[&str])] = &[
    (
        En,
        &[
            "the", "and", "of", "to", "is", "that", "with", "for", "was", "this",
        ],
    ),
    (
        Fr,
        &[
            "le", "les", "des", "et", "est", "une", "dans", "pour", "qui", "sur",
        ],
    ),
    (
        De,
        &[
            "der", "die", "und", "das", "ist", "nicht", "ein", "eine", "mit", "auf",
        ],
    ),
    (
        Es,
        &[
            "el", "los", "las", "y", "una", "del", "con", "por", "para", "que",
        ],
    ),
    (
        Pt,
        &[
            "o", "os", "as", "e", "uma", "do", "da", "com", "não", "para",
        ],
    ),
];

/// Which of `candidates` the words of `text` are most likely in, by counting each one's
/// frequent short words; `None` on a tie.
pub fn likely_language(text: &str, candidates: &[Language]) -> Option<Language> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut scores: Vec<(usize, Language)> = candidates
        .iter()
        .map(|language| {
            let list = FUNCTION_WORDS
                .iter()
                .find(|(l, _)| l == language)
                .map_or(&[][..], |(_, w)| *w);
            let score = words.iter().filter(|w| list.contains(&w.as_str())).count();
            (score, *language)
        })
        .collect();
    scores.sort_by_key(|s| std::cmp::Reverse(s.0));
    match scores.as_slice() {
        [(best, language), rest @ ..] if *best > 0 && rest.first().is_none_or(|r| r.0 < *best) => {
            Some(*language)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(line: &str) -> Option<String> {
        find(line).and_then(|f| f.date).map(|d| d.to_string())
    }

    #[test]
    fn every_language_and_shape_reads() {
        let cases = [
            ("GENEVA, March 3, 2022 (Reuters) -", "2022-03-03", vec![En]),
            ("SEOUL — Oct. 7, 2021 —", "2021-10-07", vec![En]),
            (
                "Posted on March 3rd, 2021 by Jane Roe",
                "2021-03-03",
                vec![En],
            ),
            ("Posted on 12 March 2021", "2021-03-12", vec![En]),
            ("Berlin, 14. März 2022 –", "2022-03-14", vec![De]),
            ("Veröffentlicht am 3. Mai 2021", "2021-05-03", vec![De]),
            ("Genève, le 5 mai 2021 (Comité)", "2021-05-05", vec![Fr]),
            ("Publié le 1er juin 2021", "2021-06-01", vec![Fr]),
            ("Paris, 12 janv. 2022", "2022-01-12", vec![Fr]),
            ("VALENCIA, 12 ene. 2022", "2022-01-12", vec![Es]),
            (
                "MADRID, 2 de junio de 2020 (Fundación)",
                "2020-06-02",
                vec![Es],
            ),
            ("Publicado el 15 de marzo de 2021", "2021-03-15", vec![Es]),
            ("LISBOA, 3 de março de 2021 –", "2021-03-03", vec![Pt]),
            ("Lisboa, 3 de Março de 2021", "2021-03-03", vec![Pt]),
            ("10 de abril de 2020", "2020-04-10", vec![Es, Pt]),
            ("Hamburg, 3. Okt. 2021", "2021-10-03", vec![De]),
            ("NAIROBI, Kenya, 2021-06-09 --", "2021-06-09", vec![]),
            ("03/12/2018 Cairns", "2018-03-12", vec![]),
            ("date: 2021-03-03T10:00:00Z", "2021-03-03", vec![]),
            ("Posted on the 3rd of March 2021", "2021-03-03", vec![En]),
        ];
        for (line, date, languages) in cases {
            let found = find(line).unwrap_or_else(|| panic!("no date in {line:?}"));
            assert_eq!(
                found.date.map(|d| d.to_string()).as_deref(),
                Some(date),
                "{line}"
            );
            assert_eq!(found.languages, languages, "{line}");
        }
    }

    #[test]
    fn words_that_are_not_months_and_impossible_days() {
        assert_eq!(iso("at 3 o'clock on Tuesday"), None);
        assert_eq!(iso("Room 12 Main 2021"), None);
        let found = find("February 30, 2021").unwrap();
        assert_eq!(found.date, None);
        assert_eq!(found.range, 0..17);
    }

    #[test]
    fn function_words_break_a_tie() {
        let pt = "A associação não divulgou os dados da campanha com a imprensa.";
        let es = "La asociación no publicó los datos de la campaña con la prensa y el público.";
        assert_eq!(likely_language(pt, &[Es, Pt]), Some(Pt));
        assert_eq!(likely_language(es, &[Es, Pt]), Some(Es));
        assert_eq!(likely_language("12 34", &[Es, Pt]), None);
    }

    #[test]
    fn the_earliest_date_wins_and_le_belongs_to_it() {
        assert_eq!(
            iso("On 2021-01-02, after March 3, 2020"),
            Some("2021-01-02".into())
        );
        let line = "Genève, le 5 mai 2021 –";
        let found = find(line).unwrap();
        assert_eq!(&line[found.range], "le 5 mai 2021");
    }
}
