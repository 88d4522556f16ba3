//! `matches` patterns (the `regex` crate's syntax) as PostgreSQL regular expressions (AREs),
//! for the SQL/JSON path test `like_regex` with no flags.
//!
//! Invariant: a pattern is translated only into an ARE that finds a match in exactly the
//! strings the pattern finds one in; otherwise the error names the construct that has no
//! such translation.
//!
//! The pattern is parsed by `regex-syntax`, as the `regex` crate parses it, so `(?i)`, `.`,
//! `\d`, `\p{…}` and the like arrive as explicit code point ranges: no ARE class, case
//! folding or locale is involved. Line anchors and word boundaries become lookaround
//! constraints over explicit classes. The ARE is printable ASCII: every character but an ASCII
//! letter or digit is escaped (`\.`, `\u00E9`). It never uses `.` or `[^…]`, so the flag `s`
//! would change nothing; `i`, `m` and `q` would.

use regex_syntax::ParserBuilder;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The largest repetition bound an ARE takes (`DUPMAX`).
const MAX_BOUND: u32 = 255;

/// The PostgreSQL regular expression (ARE) that finds a match in exactly the strings
/// `pattern` (regex crate syntax) finds one in, or why there is none.
pub(super) fn to_postgres(pattern: &str) -> Result<String, String> {
    regex(&parse(pattern)?)
}

/// `text` as a SQL/JSON path string literal, quotes included: `"a\\d"` for `a\d`. Within
/// SQL it still needs its `'` doubled; a NUL character has no form PostgreSQL accepts.
pub(super) fn jsonpath_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The pattern's syntax tree, as the `regex` crate's defaults parse it.
fn parse(pattern: &str) -> Result<Hir, String> {
    ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|_| "an invalid regular expression".to_owned())
}

/// `hir` as an ARE, possibly an alternation at its top level.
fn regex(hir: &Hir) -> Result<String, String> {
    Ok(match hir.kind() {
        HirKind::Empty => "(?:)".to_owned(),
        HirKind::Literal(literal) => std::str::from_utf8(&literal.0)
            .map_err(|_| "a literal that is not UTF-8".to_owned())?
            .chars()
            .map(char_outside)
            .collect(),
        HirKind::Class(class) => bracket(&ranges(class)?),
        HirKind::Look(look) => self::look(*look)?,
        HirKind::Repetition(rep) => {
            let bound = |n: u32| match n {
                n if n > MAX_BOUND => Err(format!("a repetition bound above {MAX_BOUND}")),
                n => Ok(n),
            };
            let quantifier = match (bound(rep.min)?, rep.max.map(bound).transpose()?) {
                (0, None) => "*".to_owned(),
                (1, None) => "+".to_owned(),
                (0, Some(1)) => "?".to_owned(),
                (min, None) => format!("{{{min},}}"),
                (min, Some(max)) if min == max => format!("{{{min}}}"),
                (min, Some(max)) => format!("{{{min},{max}}}"),
            };
            let sub = regex(&rep.sub)?;
            if is_atom(&rep.sub) {
                sub + &quantifier
            } else {
                format!("(?:{sub}){quantifier}")
            }
        }
        HirKind::Capture(capture) => regex(&capture.sub)?,
        HirKind::Concat(parts) => parts
            .iter()
            .map(|part| match uncaptured(part).kind() {
                HirKind::Alternation(_) => Ok(format!("(?:{})", regex(part)?)),
                _ => regex(part),
            })
            .collect::<Result<_, _>>()?,
        HirKind::Alternation(branches) => branches
            .iter()
            .map(regex)
            .collect::<Result<Vec<_>, _>>()?
            .join("|"),
    })
}

/// `hir` without the capture groups around it.
fn uncaptured(hir: &Hir) -> &Hir {
    match hir.kind() {
        HirKind::Capture(capture) => uncaptured(&capture.sub),
        _ => hir,
    }
}

/// Whether `hir`'s ARE is one atom a quantifier may follow: one character or a bracket
/// expression (an empty class is a constraint, which takes no quantifier).
fn is_atom(hir: &Hir) -> bool {
    match uncaptured(hir).kind() {
        HirKind::Literal(literal) => {
            std::str::from_utf8(&literal.0).is_ok_and(|s| s.chars().count() == 1)
        }
        HirKind::Class(Class::Unicode(class)) => !class.ranges().is_empty(),
        HirKind::Class(Class::Bytes(class)) => !class.ranges().is_empty(),
        _ => false,
    }
}

/// A class's code point ranges; a byte class only when all ASCII (when it is a class of
/// characters too).
fn ranges(class: &Class) -> Result<Vec<(char, char)>, String> {
    match class {
        Class::Unicode(class) => Ok(class
            .ranges()
            .iter()
            .map(|r| (r.start(), r.end()))
            .collect()),
        Class::Bytes(class) => class
            .ranges()
            .iter()
            .map(|r| {
                if r.end().is_ascii() {
                    Ok((char::from(r.start()), char::from(r.end())))
                } else {
                    Err("a class of non-ASCII bytes".to_owned())
                }
            })
            .collect(),
    }
}

/// A bracket expression of `ranges`, or a constraint that never holds when there are none.
fn bracket(ranges: &[(char, char)]) -> String {
    if ranges.is_empty() {
        return "(?!)".to_owned();
    }
    let mut out = "[".to_owned();
    for &(start, end) in ranges {
        out.push_str(&char_inside(start));
        if end != start {
            if u32::from(end) - u32::from(start) > 1 {
                out.push('-');
            }
            out.push_str(&char_inside(end));
        }
    }
    out.push(']');
    out
}

/// The ARE for the character `c` outside a bracket expression.
fn char_outside(c: char) -> String {
    if c.is_ascii_punctuation() {
        format!("\\{c}")
    } else {
        char_inside(c)
    }
}

/// The ARE for the character `c` inside a bracket expression: an ASCII letter or digit as
/// itself, any other character as an escape of exactly 4 or 8 hex digits.
fn char_inside(c: char) -> String {
    match u32::from(c) {
        _ if c.is_ascii_alphanumeric() => c.to_string(),
        n @ ..=0xFFFF => format!("\\u{n:04X}"),
        n => format!("\\U{n:08X}"),
    }
}

/// An assertion as ARE anchors and lookaround constraints.
fn look(look: Look) -> Result<String, String> {
    let word = |ascii: bool| regex(&parse(if ascii { r"(?-u:\w)" } else { r"\w" })?);
    Ok(match look {
        Look::Start => "^".to_owned(),
        Look::End => "$".to_owned(),
        Look::StartLF => r"(?:^|(?<=\n))".to_owned(),
        Look::EndLF => r"(?:$|(?=\n))".to_owned(),
        Look::StartCRLF => r"(?:^|(?<=\n)|(?<=\r)(?!\n))".to_owned(),
        Look::EndCRLF => r"(?:$|(?=\r)|(?<!\r)(?=\n))".to_owned(),
        Look::WordAscii | Look::WordUnicode => {
            let w = word(look == Look::WordAscii)?;
            format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))")
        }
        Look::WordAsciiNegate | Look::WordUnicodeNegate => {
            let w = word(look == Look::WordAsciiNegate)?;
            format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))")
        }
        Look::WordStartAscii | Look::WordStartUnicode => {
            let w = word(look == Look::WordStartAscii)?;
            format!("(?<!{w})(?={w})")
        }
        Look::WordEndAscii | Look::WordEndUnicode => {
            let w = word(look == Look::WordEndAscii)?;
            format!("(?<={w})(?!{w})")
        }
        Look::WordStartHalfAscii | Look::WordStartHalfUnicode => {
            format!("(?<!{})", word(look == Look::WordStartHalfAscii)?)
        }
        Look::WordEndHalfAscii | Look::WordEndHalfUnicode => {
            format!("(?!{})", word(look == Look::WordEndHalfAscii)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_syntax::hir::{ClassBytes, ClassBytesRange};

    const ASCII_WORD: &str = r"[0-9A-Z\u005Fa-z]";

    fn pg(pattern: &str) -> String {
        to_postgres(pattern).unwrap_or_else(|e| panic!("{pattern:?}: {e}"))
    }

    #[test]
    fn literals_are_escaped() {
        assert_eq!(pg("abc123"), "abc123");
        assert_eq!(pg(r"a\.b"), r"a\.b");
        assert_eq!(
            pg(r#"\^\$\[\]\(\)\{\}\|\*\+\?\\'\""#),
            r#"\^\$\[\]\(\)\{\}\|\*\+\?\\\'\""#
        );
        assert_eq!(pg("a b\t"), r"a\u0020b\u0009");
        assert_eq!(pg("é5"), r"\u00E95");
        assert_eq!(pg(r"\x{1F600}"), r"\U0001F600");
    }

    #[test]
    fn empty_is_an_empty_group() {
        assert_eq!(pg(""), "(?:)");
        assert_eq!(pg("a|"), "a|(?:)");
    }

    #[test]
    fn classes_are_explicit_ranges() {
        assert_eq!(pg("[a-c]"), "[a-c]");
        assert_eq!(pg("[ab]"), "[ab]");
        assert_eq!(pg("[a-cx]"), "[a-cx]");
        assert_eq!(pg(r"[\]\-^]"), r"[\u002D\u005D\u005E]");
        assert_eq!(
            pg(r"\x{1F600}|[\x{1F600}-\x{1F64F}]"),
            r"\U0001F600|[\U0001F600-\U0001F64F]"
        );
        assert_eq!(pg(r"(?-u:\d)"), "[0-9]");
        assert_eq!(pg(r"(?-u:\w)"), ASCII_WORD);
        assert_eq!(pg("[^a]"), r"[\u0000-\u0060b-\U0010FFFF]");
        assert!(pg(r"\d").starts_with(r"[0-9\u0660-\u0669"));
        assert!(pg(r"\p{Greek}").starts_with(r"[\u0370-\u0373\u0375-\u0377"));
    }

    #[test]
    fn case_folding_and_dot_are_expanded() {
        assert_eq!(pg("(?i)k"), r"[Kk\u212A]");
        assert_eq!(
            pg("(?i)straße"),
            r"[Ss\u017F][Tt][Rr][Aa][\u00DF\u1E9E][Ee]"
        );
        assert_eq!(pg("."), r"[\u0000-\u0009\u000B-\U0010FFFF]");
        assert_eq!(pg("(?s)."), r"[\u0000-\U0010FFFF]");
    }

    #[test]
    fn an_empty_class_never_matches() {
        assert_eq!(pg(r"[^\s\S]"), "(?!)");
        assert_eq!(pg(r"a[^\s\S]"), "a(?!)");
    }

    #[test]
    fn repetitions_quantify_an_atom_or_a_group() {
        assert_eq!(pg("a*b+c?"), "a*b+c?");
        assert_eq!(pg("a{2}b{2,}c{2,5}"), "a{2}b{2,}c{2,5}");
        assert_eq!(pg("d{0}"), "(?:)");
        assert_eq!(pg("a*?b+?(?U)c*"), "a*b+c*");
        assert_eq!(pg("(?:ab)*"), "(?:ab)*");
        assert_eq!(pg("[ab]{3}"), "[ab]{3}");
        assert_eq!(pg("(ab|c)+"), "(?:ab|c)+");
        assert_eq!(pg("(?:^|a)+"), "(?:^|a)+");
        assert_eq!(pg(r"(?:a[^\s\S])?"), "(?:a(?!))?");
        assert_eq!(pg("a{255}"), "a{255}");
    }

    #[test]
    fn captures_become_plain_groups() {
        assert_eq!(pg("(a)"), "a");
        assert_eq!(pg("(ab|cd)e"), "(?:ab|cd)e");
        assert_eq!(pg("((ab|cd))e"), "(?:ab|cd)e");
        assert_eq!(pg("ab|(cd)"), "ab|cd");
    }

    #[test]
    fn anchors_and_line_anchors() {
        assert_eq!(pg("^a$"), "^a$");
        assert_eq!(pg(r"\Aa\z"), "^a$");
        assert_eq!(pg("(?m)^a$"), r"(?:^|(?<=\n))a(?:$|(?=\n))");
        assert_eq!(pg("(?Rm)^"), r"(?:^|(?<=\n)|(?<=\r)(?!\n))");
        assert_eq!(pg("(?Rm)$"), r"(?:$|(?=\r)|(?<!\r)(?=\n))");
    }

    #[test]
    fn word_boundaries_are_lookarounds_over_explicit_classes() {
        let w = ASCII_WORD;
        assert_eq!(
            pg(r"(?-u:\b)"),
            format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))")
        );
        assert_eq!(
            pg(r"(?-u:\B)"),
            format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))")
        );
        assert_eq!(pg(r"(?-u:\b{start})"), format!("(?<!{w})(?={w})"));
        assert_eq!(pg(r"(?-u:\b{end})"), format!("(?<={w})(?!{w})"));
        assert_eq!(pg(r"(?-u:\b{start-half})"), format!("(?<!{w})"));
        assert_eq!(pg(r"(?-u:\b{end-half})"), format!("(?!{w})"));
        let w = pg(r"\w");
        assert!(
            w.starts_with(r"[0-9A-Z\u005Fa-z\u00AA\u00B5\u00BA\u00C0-\u00D6") && w.len() > 5000
        );
        assert_eq!(pg(r"\b"), format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))"));
        assert_eq!(pg(r"\B"), format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))"));
        assert_eq!(pg(r"\<"), format!("(?<!{w})(?={w})"));
        assert_eq!(pg(r"\>"), format!("(?<={w})(?!{w})"));
        assert_eq!(pg(r"\b{start-half}"), format!("(?<!{w})"));
        assert_eq!(pg(r"\b{end-half}"), format!("(?!{w})"));
    }

    #[test]
    fn untranslatable_forms_say_why() {
        let err = |pattern: &str| to_postgres(pattern).unwrap_err();
        assert_eq!(err("a{256}"), "a repetition bound above 255");
        assert_eq!(err("a{1,256}"), "a repetition bound above 255");
        assert_eq!(err("(?:ab){300,}"), "a repetition bound above 255");
        assert_eq!(err("a("), "an invalid regular expression");
        // The parser refuses both in UTF-8 mode; they are still refused when built directly.
        let bytes = Class::Bytes(ClassBytes::new([ClassBytesRange::new(b'a', 0xFF)]));
        assert_eq!(
            regex(&Hir::class(bytes)).unwrap_err(),
            "a class of non-ASCII bytes"
        );
        let literal = Hir::literal(vec![b'a', 0xFF]);
        assert_eq!(regex(&literal).unwrap_err(), "a literal that is not UTF-8");
    }

    #[test]
    fn jsonpath_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(jsonpath_string(r"a\.b"), r#""a\\.b""#);
        assert_eq!(jsonpath_string("\"'\n\r\t\u{1}é"), r#""\"'\n\r\t\u0001é""#);
    }
}
