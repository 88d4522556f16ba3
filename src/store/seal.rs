//! The seal beside the store (`quarry.seal`): each collection's generation (how many batches
//! it has had) at the last flush, written after sled confirms the flush, so it never claims
//! more than the store holds. A store that comes back older than its seal (a log cut short,
//! part of it lost) would otherwise open as an earlier state without a word.
//!
//! Invariant: the seal is replaced whole (written beside, then renamed over), so it is the
//! old one or the new one, never a mix; a seal that cannot be read is itself reported.

use std::path::Path;

use crate::error::Result;

/// One collection as sealed: its number, name and generation, and how many of its writes an
/// earlier open found missing (kept until `repair` accepts the loss).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sealed {
    pub number: u32,
    pub name: String,
    pub generation: u64,
    pub lost: u64,
}

const HEADER: &str = "quarry seal 1";

/// Replaces the seal at `file` with `collections` (its callers take turns). `durably`: synced
/// before this returns, for a seal that must be on disk before what it describes changes (a
/// dropped collection); a flush's seal needs no sync, as a lost one only claims less.
pub(crate) fn write(file: &Path, collections: &[Sealed], durably: bool) -> Result<()> {
    use std::io::Write;
    let mut text = format!("{HEADER}\n");
    for c in collections {
        text.push_str(&format!(
            "{} {} {} {}\n",
            c.number, c.generation, c.lost, c.name
        ));
    }
    let beside = file.with_extension("seal.new");
    let mut out = std::fs::File::create(&beside)?;
    out.write_all(text.as_bytes())?;
    if durably {
        out.sync_all()?;
    }
    drop(out);
    std::fs::rename(&beside, file)?;
    if durably && let Some(folder) = file.parent() {
        std::fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}

/// The seal at `file`: `None` when there is none, an error in words when it is unreadable.
pub(crate) fn read(file: &Path) -> Option<std::result::Result<Vec<Sealed>, String>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(e.to_string())),
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Some(Err("it does not start with its header".into()));
    }
    let parse = |line: &str| -> Option<Sealed> {
        let mut parts = line.splitn(4, ' ');
        Some(Sealed {
            number: parts.next()?.parse().ok()?,
            generation: parts.next()?.parse().ok()?,
            lost: parts.next()?.parse().ok()?,
            name: parts.next()?.to_owned(),
        })
    };
    Some(
        lines
            .map(|line| parse(line).ok_or_else(|| format!("unreadable line {line:?}")))
            .collect(),
    )
}

/// What opening found against the seal: each sealed collection that came back older than its
/// seal (or not at all), or that an earlier open found so, with how many of its writes are
/// missing; what the next seal keeps of it until `repair`.
pub(crate) fn compare(sealed: &[Sealed], now: &[Sealed]) -> Vec<Sealed> {
    sealed
        .iter()
        .filter_map(|s| {
            let (generation, lost) = match now.iter().find(|n| n.number == s.number) {
                // A collection gone is one loss, however often it is found gone.
                None => (s.generation, s.lost.max(s.generation.max(1))),
                Some(n) => (
                    n.generation,
                    s.lost + s.generation.saturating_sub(n.generation),
                ),
            };
            (lost > 0).then(|| Sealed {
                number: s.number,
                name: s.name.clone(),
                generation,
                lost,
            })
        })
        .collect()
}

/// What a collection [`compare`] found says, in words.
pub(crate) fn describe(found: &Sealed, exists: bool) -> String {
    format!(
        "{}{} of its writes are missing: the store came back older than what a flush \
         acknowledged (a log cut short or partly lost); restore it from a copy, or accept it as \
         it is with `quarry check --repair`",
        if exists {
            ""
        } else {
            "the collection itself is missing; "
        },
        found.lost
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(number: u32, name: &str, generation: u64) -> Sealed {
        Sealed {
            number,
            name: name.into(),
            generation,
            lost: 0,
        }
    }

    #[test]
    fn a_seal_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("quarry.seal");
        assert!(read(&file).is_none());
        let mut lost = sealed(3, "with space", 0);
        lost.lost = 2;
        let all = vec![sealed(1, "a", 7), lost];
        write(&file, &all, false).unwrap();
        assert_eq!(read(&file).unwrap().unwrap(), all);
        std::fs::write(&file, "garbage").unwrap();
        assert!(read(&file).unwrap().is_err());
    }

    #[test]
    fn only_collections_behind_their_seal_are_reported() {
        let mut earlier = sealed(6, "lost before", 4);
        earlier.lost = 3;
        let was = [
            sealed(1, "a", 7),
            sealed(2, "b", 3),
            sealed(4, "gone", 1),
            earlier,
        ];
        let now = [
            sealed(1, "a", 9),
            sealed(2, "b", 1),
            sealed(5, "new", 2),
            sealed(6, "lost before", 9),
        ];
        let found = compare(&was, &now);
        let lost: Vec<(&str, u64, u64)> = found
            .iter()
            .map(|f| (f.name.as_str(), f.generation, f.lost))
            .collect();
        assert_eq!(lost, [("b", 1, 2), ("gone", 1, 1), ("lost before", 9, 3)]);
        assert!(describe(&found[0], true).starts_with("2 of its writes are missing"));
        // Found gone again at the next open, it is still one loss.
        assert_eq!(compare(&found, &now)[1].lost, 1);
    }
}
