//! The lines around a headline that are not the story: front matter (`Title:` lines, YAML
//! between `---` lines), page furniture (release labels, breadcrumbs, share links, rules such
//! as `###`), bylines (`By`, `Von`, `Par`, `Por`, `Author:`, `Reporting by`) and date lines
//! (`Published:`, `Posted on`, `Veröffentlicht am`, `Publié le`, `Publicado el`, or a date
//! alone), in English, French, German, Spanish and Portuguese.
//!
//! Invariant: every reader here looks at one line (or the front matter block) and says what it
//! is, with the language its words are in when they tell; none of them reads body text.

use std::sync::LazyLock;

use regex::Regex;

use super::dates::{self, Found, Language};

use Language::{De, En, Es, Fr, Pt};

/// Labels of press releases, in lower case, with their language.
const RELEASE_LABELS: &[(&str, Language)] = &[
    ("for immediate release", En),
    ("press release", En),
    ("news release", En),
    ("media release", En),
    ("pressemitteilung", De),
    ("presseinformation", De),
    ("pressemeldung", De),
    ("communiqué de presse", Fr),
    ("communique de presse", Fr),
    ("communiqué", Fr),
    ("nota de prensa", Es),
    ("comunicado de prensa", Es),
    ("comunicado de imprensa", Pt),
    ("nota à imprensa", Pt),
    ("nota de imprensa", Pt),
];

/// Navigation lines of web pages saved as text.
const NAVIGATION: [&str; 15] = [
    "select page",
    "go to contents",
    "go to content",
    "go to navigation",
    "skip to content",
    "skip to main content",
    "skip to navigation",
    "skip navigation",
    "jump to content",
    "jump to navigation",
    "back to top",
    "menu",
    "zum inhalt springen",
    "aller au contenu",
    "ir al contenido",
];

/// Labels of contact lines at the top of a press release.
const CONTACT_LABELS: [&str; 12] = [
    "contact",
    "media contact",
    "press contact",
    "phone",
    "tel",
    "email",
    "e-mail",
    "kontakt",
    "pressekontakt",
    "contacto",
    "contato",
    "contact presse",
];

/// Link words of share and print bars.
const SHARE_WORDS: [&str; 14] = [
    "share",
    "print",
    "email",
    "e-mail",
    "tweet",
    "facebook",
    "twitter",
    "linkedin",
    "whatsapp",
    "teilen",
    "drucken",
    "partager",
    "imprimer",
    "compartir",
];

/// What a furniture line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Furniture {
    /// `Go to contents`, `Select Page`, `Skip to content`: page navigation.
    Navigation,
    /// `FOR IMMEDIATE RELEASE`, `Pressemitteilung`, …
    ReleaseLabel(Language),
    /// `Home | News | World`, `Share | Print | Email`.
    Links,
    /// `###`, `***`, `---`.
    Rule,
    /// `Contact: …`, `Phone: …`, `Email: …` at the top of a release.
    Contact,
}

/// What kind of page furniture `line` is, if it is.
pub fn furniture(line: &str) -> Option<Furniture> {
    let plain = unmarked(line).trim_end_matches(':').trim();
    let lower = plain.to_lowercase();
    if NAVIGATION.contains(&lower.as_str()) {
        return Some(Furniture::Navigation);
    }
    if let Some((_, language)) = RELEASE_LABELS.iter().find(|(label, _)| *label == lower) {
        return Some(Furniture::ReleaseLabel(*language));
    }
    if line.len() >= 3 && line.chars().all(|c| "#*-=_~".contains(c)) {
        return Some(Furniture::Rule);
    }
    if let Some((label, _)) = lower.split_once(':')
        && CONTACT_LABELS.contains(&label.trim())
    {
        return Some(Furniture::Contact);
    }
    let parts: Vec<&str> = plain
        .split(['|', '>', '»', '›', '·'])
        .map(str::trim)
        .collect();
    let links = parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.split_whitespace().count() <= 4 && p.len() <= 40);
    let shares = !parts.is_empty()
        && plain.split_whitespace().count() >= 2
        && plain
            .split(|c: char| c.is_whitespace() || "|/·".contains(c))
            .filter(|w| !w.is_empty())
            .all(|w| SHARE_WORDS.contains(&w.to_lowercase().as_str()));
    (links || shares).then_some(Furniture::Links)
}

/// A markdown heading's text (`# Title` → `Title`), if the line is one.
pub fn heading(line: &str) -> Option<&str> {
    let text = line.trim_start_matches('#');
    (text.len() < line.len() && line.len() - text.len() <= 6 && text.starts_with(' '))
        .then(|| text.trim())
        .filter(|t| !t.is_empty())
}

/// The line without markdown emphasis around it (`*Published 3 May 2021*`).
fn unmarked(line: &str) -> &str {
    line.trim_matches(|c| c == '*' || c == '_').trim()
}

/// A byline: who wrote the story.
#[derive(Debug, Clone, PartialEq)]
pub struct Byline {
    /// The name (or names) as written.
    pub name: String,
    /// The label that introduced it (`By`, `Von`, `Reporting by`, …).
    pub label: String,
    /// The languages that write the label so.
    pub languages: Vec<Language>,
}

/// Byline labels, longest first, with their languages.
const BYLINE_LABELS: &[(&str, &[Language])] = &[
    ("reporting by", &[En]),
    ("written by", &[En]),
    ("geschrieben von", &[De]),
    ("escrito por", &[Es, Pt]),
    ("texto de", &[Es, Pt]),
    ("author:", &[En]),
    ("autor:", &[De, Es, Pt]),
    ("autora:", &[Es, Pt]),
    ("auteur :", &[Fr]),
    ("auteur:", &[Fr]),
    ("autrice :", &[Fr]),
    ("by", &[En]),
    ("von", &[De]),
    ("par", &[Fr]),
    ("por", &[Es, Pt]),
];

/// The byline `line` is, if it is one: a label, then a name of at most six capitalised words.
pub fn byline(line: &str) -> Option<Byline> {
    let line = unmarked(line);
    if line.chars().count() > 100 {
        return None;
    }
    let lower = line.to_lowercase();
    let (label, languages) = BYLINE_LABELS.iter().find(|(label, _)| {
        lower.starts_with(label)
            && (label.ends_with(':') || lower[label.len()..].starts_with(char::is_whitespace))
    })?;
    let name = name_after(&line[label.len()..])?;
    Some(Byline {
        name,
        label: line[..label.len()].trim_end_matches([':', ' ']).to_owned(),
        languages: languages.to_vec(),
    })
}

/// The name at the start of `text`: up to a comma, semicolon, ` | ` or a spaced dash;
/// capitalised, at most six words, no digits.
fn name_after(text: &str) -> Option<String> {
    let text = text.trim_start_matches([':', ' ']);
    let end = [",", ";", " | ", " - ", " – ", " — ", " ("]
        .iter()
        .filter_map(|stop| text.find(stop))
        .min()
        .unwrap_or(text.len());
    let name = text[..end].trim();
    let words: Vec<&str> = name.split_whitespace().collect();
    let capitalised = words
        .iter()
        .filter(|w| w.starts_with(char::is_uppercase))
        .count();
    let fits = !words.is_empty()
        && words.len() <= 6
        && name.starts_with(char::is_uppercase)
        && capitalised * 2 >= words.len()
        && !name.chars().any(|c| c.is_ascii_digit());
    fits.then(|| name.to_owned())
}

/// Labels of date lines, longest first, with their languages.
const DATE_LABELS: &[(&str, &[Language])] = &[
    ("last updated", &[En]),
    ("published on", &[En]),
    ("posted on", &[En]),
    ("published", &[En]),
    ("posted", &[En]),
    ("updated", &[En]),
    ("issued", &[En]),
    ("dated", &[En]),
    ("date", &[En, Fr]),
    ("veröffentlicht am", &[De]),
    ("veröffentlicht", &[De]),
    ("aktualisiert am", &[De]),
    ("aktualisiert", &[De]),
    ("datum", &[De]),
    ("stand", &[De]),
    ("publié le", &[Fr]),
    ("publié", &[Fr]),
    ("mis à jour le", &[Fr]),
    ("mis à jour", &[Fr]),
    ("publicado el", &[Es]),
    ("publicado em", &[Pt]),
    ("publicado", &[Es, Pt]),
    ("actualizado el", &[Es]),
    ("actualizado", &[Es]),
    ("atualizado em", &[Pt]),
    ("atualizado", &[Pt]),
    ("fecha", &[Es]),
    ("data", &[Pt]),
];

/// A line that gives the date of the story.
#[derive(Debug, Clone, PartialEq)]
pub struct DateLine {
    /// The date.
    pub found: Found,
    /// Its label (`Published`), empty for a date alone on its line.
    pub label: String,
    /// The languages of the label.
    pub languages: Vec<Language>,
    /// A byline after the date (`Posted on March 3rd, 2021 by Jane Roe`).
    pub byline: Option<Byline>,
    /// The label says when it was changed (`Updated`), not published.
    pub updated: bool,
}

/// What may follow a date on its line: a time, a time zone, an `Updated …` part.
static AFTER_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[\s,|/·-]*(?:(?:at|um|à|a las|às)?\s*\d{1,2}[:.h]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*\p{Lu}{2,5})?)?[\s,|/·-]*(?:(?:updated|aktualisiert|mis à jour|actualizado|atualizado)\b.*)?$")
        .expect("the after-date pattern is a valid regex")
});

/// Labels of lines that give the date a story was changed, not published: their date is
/// taken only when no other is found.
const UPDATE_LABELS: [&str; 7] = [
    "updated",
    "last updated",
    "aktualisiert",
    "mis à jour",
    "actualizado",
    "atualizado",
    "modified",
];

/// The date line `line` is, if it is one. A labelled line (`Published`, `Posted by Sam Ng on`,
/// `Publié le`) holds a date anywhere in its first words and anything after it; a line without
/// a label is a date alone, with at most a time or a byline after it. Ranges are in `line`.
pub fn date_line(line: &str) -> Option<DateLine> {
    let whole = line;
    let line = unmarked(line);
    if line.chars().count() > 120 {
        return None;
    }
    // `unmarked` returns a part of `line`: where it starts.
    let shift = line.as_ptr() as usize - whole.as_ptr() as usize;
    let lower = line.to_lowercase();
    let (label, languages) = DATE_LABELS
        .iter()
        .find(|(label, _)| {
            lower.starts_with(label)
                && lower[label.len()..].starts_with(|c: char| c.is_whitespace() || c == ':')
        })
        .map_or(("", &[][..]), |(label, languages)| (*label, *languages));
    let rest = &line[label.len()..];
    let skipped = rest.len() - rest.trim_start_matches([':', ' ']).len();
    let rest = &rest[skipped..];
    let found = dates::find(rest)?;
    let before = rest[..found.range.start].trim();
    let after = &rest[found.range.end..];
    let byline;
    if label.is_empty() {
        let alone = before.is_empty()
            || before.eq_ignore_ascii_case("on")
            || before.eq_ignore_ascii_case("am");
        byline = by_name(after);
        if !alone || (byline.is_none() && !AFTER_DATE.is_match(after)) {
            return None;
        }
    } else {
        // `Posted by Staff Reporter on Mar. 3, 2021`, `Published Wednesday, March 3, 2021`.
        if before.split_whitespace().count() > 6 {
            return None;
        }
        let before = before
            .trim_end_matches(',')
            .trim_end()
            .trim_end_matches(" on")
            .trim_end_matches(" am");
        byline = by_name(before).or_else(|| by_name(after));
    }
    let offset = shift + label.len() + skipped;
    Some(DateLine {
        found: Found {
            range: found.range.start + offset..found.range.end + offset,
            ..found
        },
        label: line[..label.len()].to_owned(),
        languages: languages.to_vec(),
        byline,
        updated: UPDATE_LABELS.contains(&label),
    })
}

/// The parts of a line that a bar separates (`By Jane Roe | March 3, 2021`), or the line.
pub fn parts(line: &str) -> Vec<&str> {
    line.split(" | ")
        .flat_map(|p| p.split(" · "))
        .flat_map(|p| p.split(" • "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// `by Jane Roe` after a date.
fn by_name(text: &str) -> Option<Byline> {
    let text = text.trim_start_matches([',', ' ']);
    let lower = text.to_lowercase();
    let (label, languages): (&str, &[Language]) = [
        ("by", &[En][..]),
        ("von", &[De][..]),
        ("par", &[Fr][..]),
        ("por", &[Es, Pt][..]),
    ]
    .into_iter()
    .find(|(label, _)| lower.starts_with(label) && lower[label.len()..].starts_with(' '))?;
    Some(Byline {
        name: name_after(&text[label.len()..])?,
        label: text[..label.len()].to_owned(),
        languages: languages.to_vec(),
    })
}

/// Front matter: fields given by name at the top of a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    /// `title`.
    pub title: Option<String>,
    /// `date`, as written.
    pub date: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `tags`.
    pub tags: Option<Vec<String>>,
    /// `location`.
    pub location: Option<String>,
    /// The languages of the labels (none for YAML, whose keys are English by convention).
    pub languages: Vec<Language>,
    /// `yaml` or `lines`.
    pub kind: &'static str,
    /// How many lines it takes.
    pub lines: usize,
}

/// Front-matter labels, with the field and languages each gives.
const FRONT_LABELS: &[(&str, &str, &[Language])] = &[
    ("title", "title", &[En]),
    ("headline", "title", &[En]),
    ("titel", "title", &[De]),
    ("titre", "title", &[Fr]),
    ("título", "title", &[Es, Pt]),
    ("titulo", "title", &[Es, Pt]),
    ("date", "date", &[En, Fr]),
    ("datum", "date", &[De]),
    ("fecha", "date", &[Es]),
    ("data", "date", &[Pt]),
    ("author", "author", &[En]),
    ("byline", "author", &[En]),
    ("autor", "author", &[De, Es, Pt]),
    ("auteur", "author", &[Fr]),
    ("tags", "tags", &[En, De]),
    ("keywords", "tags", &[En]),
    ("schlagwörter", "tags", &[De]),
    ("mots-clés", "tags", &[Fr]),
    ("etiquetas", "tags", &[Es, Pt]),
    ("location", "location", &[En]),
    ("place", "location", &[En]),
    ("ort", "location", &[De]),
    ("lieu", "location", &[Fr]),
    ("lugar", "location", &[Es, Pt]),
];

/// `key: value` (a space may stand before the colon, as French writes it).
static FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<key>[\p{L}-]{2,20})\s?:\s*(?P<value>.*)$")
        .expect("the field pattern is a valid regex")
});

/// Front matter at the top of `lines` (cleaned, blank lines included): YAML between `---`
/// lines, or two or more `Label: value` lines of which one is a title or a date.
pub fn front_matter(lines: &[String]) -> Option<FrontMatter> {
    let first = lines.iter().position(|l| !l.is_empty())?;
    if lines[first] == "---" {
        let end = lines[first + 1..]
            .iter()
            .position(|l| l == "---" || l == "...")?
            + first
            + 1;
        // Only fields, list items and blank lines between the fences: else `---` is a rule.
        let fields_only = lines[first + 1..end]
            .iter()
            .all(|l| l.is_empty() || l.starts_with("- ") || FIELD.is_match(l));
        if !fields_only {
            return None;
        }
        let mut matter = FrontMatter {
            kind: "yaml",
            lines: end + 1,
            ..FrontMatter::default()
        };
        let block = &lines[first + 1..end];
        let mut i = 0;
        while i < block.len() {
            let Some(caps) = FIELD.captures(&block[i]) else {
                i += 1;
                continue;
            };
            let key = caps["key"].to_lowercase();
            let mut value = caps["value"].trim().to_owned();
            i += 1;
            if value.is_empty() {
                // A YAML list on the following lines: `- item`.
                let mut items = Vec::new();
                while let Some(item) = block.get(i).and_then(|l| l.strip_prefix("- ")) {
                    items.push(unquote(item.trim()).to_owned());
                    i += 1;
                }
                if key == "tags" || key == "keywords" {
                    matter.tags = Some(items).filter(|t| !t.is_empty());
                }
                continue;
            }
            value = unquote(&value).to_owned();
            set_field(&mut matter, field_of(&key), &value);
        }
        return Some(matter);
    }
    let mut matter = FrontMatter {
        kind: "lines",
        ..FrontMatter::default()
    };
    let mut count = 0;
    let mut end = first;
    for (i, line) in lines.iter().enumerate().skip(first) {
        if line.is_empty() {
            break;
        }
        let Some(caps) = FIELD.captures(line) else {
            break;
        };
        let key = caps["key"].to_lowercase();
        let Some((_, field, languages)) = FRONT_LABELS.iter().find(|(label, _, _)| *label == key)
        else {
            break;
        };
        set_field(&mut matter, Some(field), caps["value"].trim());
        for language in *languages {
            if !matter.languages.contains(language) {
                matter.languages.push(*language);
            }
        }
        count += 1;
        end = i + 1;
    }
    let useful = matter.title.is_some() || matter.date.is_some();
    (count >= 2 && useful).then_some(FrontMatter {
        lines: end,
        ..matter
    })
}

fn field_of(key: &str) -> Option<&'static str> {
    FRONT_LABELS
        .iter()
        .find(|(label, _, _)| *label == key)
        .map(|(_, field, _)| *field)
}

fn set_field(matter: &mut FrontMatter, field: Option<&str>, value: &str) {
    let value = value.trim();
    if value.is_empty() {
        return;
    }
    match field {
        Some("title") => matter.title = Some(value.to_owned()),
        Some("date") => matter.date = Some(value.to_owned()),
        Some("author") => matter.author = Some(value.to_owned()),
        Some("location") => matter.location = Some(value.to_owned()),
        Some("tags") => {
            let list = value.trim_start_matches('[').trim_end_matches(']');
            let tags: Vec<String> = list
                .split(',')
                .map(|t| unquote(t.trim()).to_owned())
                .filter(|t| !t.is_empty())
                .collect();
            matter.tags = Some(tags).filter(|t| !t.is_empty());
        }
        _ => {}
    }
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn furniture_of_every_kind() {
        assert_eq!(
            furniture("FOR IMMEDIATE RELEASE"),
            Some(Furniture::ReleaseLabel(En))
        );
        assert_eq!(
            furniture("Pressemitteilung"),
            Some(Furniture::ReleaseLabel(De))
        );
        assert_eq!(furniture("Home | News | World"), Some(Furniture::Links));
        assert_eq!(furniture("Inicio > Noticias"), Some(Furniture::Links));
        assert_eq!(furniture("Share | Print | Email"), Some(Furniture::Links));
        assert_eq!(furniture("Share Print Email"), Some(Furniture::Links));
        assert_eq!(furniture("###"), Some(Furniture::Rule));
        assert_eq!(furniture("Go to contents"), Some(Furniture::Navigation));
        assert_eq!(furniture("Go to navigation"), Some(Furniture::Navigation));
        assert_eq!(
            furniture("Media contact: Maria Lopez"),
            Some(Furniture::Contact)
        );
        assert_eq!(furniture("Floods hit the coast as rivers rise"), None);
        assert_eq!(furniture("Print media in decline"), None);
    }

    #[test]
    fn bylines_in_every_language() {
        let name = |line: &str| byline(line).map(|b| b.name);
        assert_eq!(
            name("By Jane Doe, Environment Correspondent").as_deref(),
            Some("Jane Doe")
        );
        assert_eq!(name("Von Anna Schmidt").as_deref(), Some("Anna Schmidt"));
        assert_eq!(name("Par Marie Dupont").as_deref(), Some("Marie Dupont"));
        assert_eq!(name("Por João Silva").as_deref(), Some("João Silva"));
        assert_eq!(name("Author: Kim Lee").as_deref(), Some("Kim Lee"));
        assert_eq!(name("Auteur : Luc Martin").as_deref(), Some("Luc Martin"));
        assert_eq!(
            name("Reporting by Ana Silva and Tom Reed; Editing by Joe Bloggs").as_deref(),
            Some("Ana Silva and Tom Reed")
        );
        assert_eq!(
            name("By the time the rain stopped, the river had risen."),
            None
        );
        assert_eq!(name("Byron Bay wakes up"), None);
    }

    #[test]
    fn date_lines_with_labels_times_and_bylines() {
        let iso = |line: &str| {
            date_line(line)
                .and_then(|d| d.found.date)
                .map(|d| d.to_string())
        };
        assert_eq!(
            iso("Published: March 3, 2022").as_deref(),
            Some("2022-03-03")
        );
        assert_eq!(
            iso("Updated Oct. 7, 2021 10:42 a.m.").as_deref(),
            Some("2021-10-07")
        );
        assert_eq!(
            iso("Posted on 12 March 2021").as_deref(),
            Some("2021-03-12")
        );
        assert_eq!(iso("*Published 3 May 2021*").as_deref(), Some("2021-05-03"));
        assert_eq!(
            iso("Veröffentlicht am 3. Mai 2021").as_deref(),
            Some("2021-05-03")
        );
        assert_eq!(iso("Publié le 5 mai 2021").as_deref(), Some("2021-05-05"));
        assert_eq!(
            iso("Publicado el 15 de marzo de 2021").as_deref(),
            Some("2021-03-15")
        );
        assert_eq!(iso("3 March 2021").as_deref(), Some("2021-03-03"));
        let blog = date_line("Posted on March 3rd, 2021 by Jane Roe").unwrap();
        assert_eq!(blog.byline.unwrap().name, "Jane Roe");
        assert_eq!(
            iso("On March 3, 2021 the council met to discuss floods."),
            None
        );
        assert_eq!(
            iso("Posted March 3, 2021 in Local News").as_deref(),
            Some("2021-03-03")
        );
        assert_eq!(
            iso("Published Wednesday, March 3, 2021").as_deref(),
            Some("2021-03-03")
        );
        let staff = date_line("Posted by Staff Reporter on Mar. 3, 2021").unwrap();
        assert_eq!(staff.byline.unwrap().name, "Staff Reporter");
        assert!(date_line("Updated: May 4, 2022").unwrap().updated);
        let marked = "*Published 3 May 2021*";
        assert_eq!(
            &marked[date_line(marked).unwrap().found.range],
            "3 May 2021"
        );
    }

    #[test]
    fn front_matter_as_lines_and_as_yaml() {
        let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
        let matter = front_matter(&lines(
            "Title: Volunteers plant trees\nDate: 2021-04-12\nAuthor: Sam Ng\nTags: trees, city\n\nBody.",
        ))
        .unwrap();
        assert_eq!(matter.title.as_deref(), Some("Volunteers plant trees"));
        assert_eq!(matter.tags, Some(vec!["trees".into(), "city".into()]));
        assert_eq!((matter.kind, matter.lines), ("lines", 4));
        let yaml = front_matter(&lines(
            "---\ntitle: \"Rivers rise\"\ndate: 2021-04-12\ntags:\n- water\n- rivers\n---\nBody.",
        ))
        .unwrap();
        assert_eq!(yaml.title.as_deref(), Some("Rivers rise"));
        assert_eq!(yaml.tags, Some(vec!["water".into(), "rivers".into()]));
        assert_eq!(yaml.lines, 7);
        assert_eq!(front_matter(&lines("Note: one line only\n\nBody.")), None);
        assert_eq!(
            front_matter(&lines("---\nA headline\n\nA paragraph.\n---\nMore.")),
            None
        );
    }
}
