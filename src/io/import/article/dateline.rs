//! Datelines: the place (and often the date and the source) that opens a news story or a press
//! release before a dash.
//!
//! ```text
//! GENEVA, March 3, 2022 (Reuters) - ...               place, date, agency
//! WASHINGTON (AP) — ...                               place, agency
//! SEOUL, South Korea — Oct. 7, 2021 — ...             place, region, date between dashes
//! NAIROBI, Kenya, 2021-06-09 -- ...                   place, region, date, double hyphen
//! Berlin, 14. März 2022 – ...                         place, date in another language
//! MADRID, 2 de junio de 2020 (Fundación Agua Limpia) – ...
//! 03/12/2018 Cairns, Australia (International Coral Council) – ...   (the date first)
//! ```
//!
//! Invariant: a line is a dateline only when what stands before its dash reads as a place
//! (capitalised words, at most a few, no digits) together with a date, a parenthesised source,
//! or a place written in capitals; otherwise it is left to the body.

use std::sync::LazyLock;

use regex::Regex;

use super::dates::{self, Found};

/// The longest text a dateline may put before its dash.
const MAX_PREFIX: usize = 140;

/// The dash that ends a dateline: a hyphen (or two) after a space or a closing parenthesis
/// (`(AFP)-`, `(EFE).-`), or an en or em dash.
static DASH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\s+-{1,2}|\s*[–—]|\)\.?-{1,2})(?:\s+|$)")
        .expect("the dash pattern is a valid regex")
});

/// A month and day without a year at the end of a dateline's place: `SEOUL, March 3`,
/// `LONDON, Nov 2`, `LISBOA, 3 Mar`.
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r",?\s*(?:(?P<a>\p{L}{3,10})\.?\s+\d{1,2}|\d{1,2}\.?\s+(?:de\s+)?(?P<b>\p{L}{3,10})\.?)$",
    )
    .expect("the month-day pattern is a valid regex")
});

/// Words that open a line before a dash without being a place.
const NOT_PLACES: [&str; 6] = [
    "NOTE",
    "UPDATE",
    "CORRECTION",
    "EDITOR'S NOTE",
    "EDITOR’S NOTE",
    "PHOTO",
];

/// The classic press-release form with the date first: `MM/DD/YYYY Place (Organisation) –`.
static DATE_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<date>\d{1,2}/\d{1,2}/\d{4})(?:\s+(?P<place>[^()]*?))?\s*(?:\((?P<org>[^()]+)\)\s*[-–—]\s*|\s+[-–—](?:\s+|$))",
    )
    .expect("the dateline pattern is a valid regex")
});

/// What a dateline says.
#[derive(Debug, Clone, PartialEq)]
pub struct Dateline {
    /// The place, with its region or country (`SEOUL, South Korea`).
    pub place: Option<String>,
    /// The date written in it.
    pub date: Option<Found>,
    /// What stands in its parentheses: an agency or an organisation's name.
    pub source: Option<String>,
    /// Where the story's own text begins in the line.
    pub rest: usize,
}

/// The dateline opening `line`, if it has one.
pub fn parse(line: &str) -> Option<Dateline> {
    if let Some(caps) = DATE_FIRST.captures(line) {
        return Some(Dateline {
            place: caps
                .name("place")
                .map(|p| p.as_str().trim_end_matches([',', ' ']).to_owned())
                .filter(|p| !p.is_empty()),
            date: dates::find(&caps["date"]),
            source: caps.name("org").map(|o| o.as_str().trim().to_owned()),
            rest: caps.get(0).map_or(0, |m| m.end()),
        });
    }
    let dash = DASH.find(line)?;
    // A dash right after `)` leaves the parenthesis in the prefix.
    let end = match line[dash.start()..].starts_with(')') {
        true => dash.start() + 1,
        false => dash.start(),
    };
    if end > MAX_PREFIX || end == 0 {
        return None;
    }
    let mut prefix = line[..end].trim();
    let mut rest = dash.end();
    let mut source = None;
    if let Some(inner) = prefix.strip_suffix(')')
        && let Some(open) = inner.rfind('(')
    {
        source = Some(inner[open + 1..].trim().to_owned()).filter(|s| !s.is_empty());
        prefix = inner[..open].trim();
    } else if let Some(inner) = prefix.strip_suffix('/')
        && let Some(open) = inner.rfind('/')
    {
        // A wire service between slashes: `Oct. 4, 2022 /PRNewswire/ --`.
        source = Some(inner[open + 1..].trim().to_owned()).filter(|s| !s.is_empty());
        prefix = inner[..open].trim();
    }
    let mut date = dates::find(prefix);
    let place = match &date {
        Some(found) => {
            let after =
                prefix[found.range.end..].trim_matches(|c: char| c == ',' || c.is_whitespace());
            if !after.is_empty() {
                return None;
            }
            &prefix[..found.range.start]
        }
        None => {
            // The date may stand between two dashes: `SEOUL — Oct. 7, 2021 — The ...`.
            let after = &line[rest..];
            if let Some(found) = dates::find(after).filter(|f| f.range.start == 0)
                && let Some(second) = DASH.find(&after[found.range.end..])
                && second.start() == 0
            {
                let range = found.range.start + rest..found.range.end + rest;
                rest += found.range.end + second.end();
                date = Some(Found { range, ..found });
            }
            prefix
        }
    };
    let mut place = place.trim_end_matches(|c: char| c == ',' || c.is_whitespace());
    if date.is_none()
        && let Some(caps) = MONTH_DAY.captures(place)
        && caps
            .name("a")
            .or(caps.name("b"))
            .is_some_and(|m| dates::month(m.as_str()).is_some())
    {
        // A month and day without a year: the place is what stands before them.
        place = place[..caps.get(0).map_or(place.len(), |m| m.start())].trim_end();
    }
    if !is_place(place) || NOT_PLACES.iter().any(|n| place.eq_ignore_ascii_case(n)) {
        return None;
    }
    let capitals = place.split(',').next().is_some_and(|first| {
        first.chars().any(char::is_alphabetic) && !first.chars().any(char::is_lowercase)
    });
    if date.is_none() && source.is_none() && !capitals {
        return None;
    }
    Some(Dateline {
        place: Some(place.to_owned()),
        date,
        source,
        rest,
    })
}

/// Words that may stand in lower case inside a place's name (`Rio de Janeiro`).
const PLACE_PARTICLES: [&str; 10] = [
    "de", "do", "da", "del", "la", "le", "sur", "am", "an", "upon",
];

/// Capitalised words, one to three comma-separated parts of at most four words each, no digits.
fn is_place(text: &str) -> bool {
    if text.is_empty() || text.chars().count() > 60 || text.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    parts.len() <= 3
        && parts.iter().all(|part| {
            let words: Vec<&str> = part.split_whitespace().collect();
            !words.is_empty()
                && words.len() <= 4
                && words.iter().enumerate().all(|(i, word)| {
                    word.starts_with(char::is_uppercase)
                        || (i > 0 && PLACE_PARTICLES.contains(word))
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Place, date, source and the rest of the line.
    type Read = Option<(Option<String>, Option<String>, Option<String>, String)>;

    fn read(line: &str) -> Read {
        parse(line).map(|d| {
            (
                d.place,
                d.date.and_then(|f| f.date).map(|d| d.to_string()),
                d.source,
                line[d.rest..].to_owned(),
            )
        })
    }

    fn some(place: &str, date: Option<&str>, source: Option<&str>, rest: &str) -> Read {
        Some((
            Some(place.to_owned()),
            date.map(str::to_owned),
            source.map(str::to_owned),
            rest.to_owned(),
        ))
    }

    #[test]
    fn the_usual_shapes() {
        assert_eq!(
            read("GENEVA, March 3, 2022 (Reuters) - Talks resumed."),
            some(
                "GENEVA",
                Some("2022-03-03"),
                Some("Reuters"),
                "Talks resumed."
            )
        );
        assert_eq!(
            read("WASHINGTON (AP) — The Senate voted."),
            some("WASHINGTON", None, Some("AP"), "The Senate voted.")
        );
        assert_eq!(
            read("SEOUL, South Korea — Oct. 7, 2021 — The center said."),
            some(
                "SEOUL, South Korea",
                Some("2021-10-07"),
                None,
                "The center said."
            )
        );
        assert_eq!(
            read("NAIROBI, Kenya, 2021-06-09 -- The alliance announced."),
            some(
                "NAIROBI, Kenya",
                Some("2021-06-09"),
                None,
                "The alliance announced."
            )
        );
        assert_eq!(
            read("Berlin, 14. März 2022 – Die Stiftung teilte mit."),
            some(
                "Berlin",
                Some("2022-03-14"),
                None,
                "Die Stiftung teilte mit."
            )
        );
        assert_eq!(
            read("Genève, le 5 mai 2021 (Comité pour les Rivières Propres) – Le comité a publié."),
            some(
                "Genève",
                Some("2021-05-05"),
                Some("Comité pour les Rivières Propres"),
                "Le comité a publié."
            )
        );
        assert_eq!(
            read("03/12/2018 Cairns, Australia (International Coral Council) – Divers counted."),
            some(
                "Cairns, Australia",
                Some("2018-03-12"),
                Some("International Coral Council"),
                "Divers counted."
            )
        );
    }

    #[test]
    fn sentences_with_dashes_are_not_datelines() {
        assert_eq!(read("Scientists say - the reef is recovering."), None);
        assert_eq!(read("Paris – a city of light"), None);
        assert_eq!(read("The Mayor – who spoke first – agreed."), None);
        assert_eq!(read("In 2021 - the year of floods - rivers rose."), None);
        assert_eq!(read("— a quote"), None);
        assert_eq!(read("NOTE - the taps are off."), None);
    }

    #[test]
    fn wire_shapes_without_a_year_or_spaces() {
        assert_eq!(
            read("SEOUL, March 3 (Yonhap) -- Officials said."),
            some("SEOUL", None, Some("Yonhap"), "Officials said.")
        );
        assert_eq!(
            read("PARIS (AFP)- Harbour workers struck."),
            some("PARIS", None, Some("AFP"), "Harbour workers struck.")
        );
        assert_eq!(
            read("SEVILLA, 3 mar. (EFE).- Los regantes."),
            some("SEVILLA", None, Some("EFE"), "Los regantes.")
        );
        assert_eq!(
            read("NORFOLK, Va., Oct. 4, 2022 /PRNewswire/ -- The port opened."),
            some(
                "NORFOLK, Va.",
                Some("2022-10-04"),
                Some("PRNewswire"),
                "The port opened."
            )
        );
    }
}
