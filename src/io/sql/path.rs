//! quarry paths as SQL/JSON paths, run in lax mode.
//!
//! Invariant: [`json_path`] yields, in lax mode, exactly the values a quarry path reaches
//! ([`Path::values`]) in the same order, from an object root (a document, or the object that
//! holds a `has` element). A field of an array is that field of each element: lax mode
//! unwraps one level of array, as quarry does. A position applies only to an array:
//! lax mode would take `[0]` of a scalar or an object as the value itself, so each position is
//! guarded by a filter, on the value before the field that holds the array, that the field is
//! an array (`$ ? (@."t".type() == "array")."t"[0]`; `.type()` does not unwrap).

use crate::error::{Error, Result};
use crate::path::{Path, Segment};

use super::not_yet;

/// The SQL/JSON path of `path` from `base` (`$` or `@`): `@."author"."name"`.
pub(super) fn json_path(base: &str, path: &Path) -> Result<String> {
    let mut out = base.to_owned();
    let mut segments = path.segments().iter().peekable();
    while let Some(segment) = segments.next() {
        let Segment::Field(name) = segment else {
            return Err(not_yet(
                "a path that starts with an array position (`_[0]`)",
            ));
        };
        let mut step = format!(".{}", json_string(name)?);
        let mut guards = Vec::new();
        while let Some(Segment::Index(i)) = segments.peek() {
            guards.push(format!("@{step}.type() == \"array\""));
            step.push_str(&format!("[{i}]"));
            segments.next();
        }
        if !guards.is_empty() {
            out.push_str(&format!(" ? ({})", guards.join(" && ")));
        }
        out.push_str(&step);
    }
    Ok(out)
}

/// `text` as a JSON (and SQL/JSON path) string literal, quotes included.
pub(super) fn json_string(text: &str) -> Result<String> {
    serde_json::to_string(text).map_err(|e| Error::Query(e.to_string()))
}

/// The path's segments as a jsonb array (`'["items", 0, "sku"]'`): fields as strings,
/// positions as numbers, for the helpers that walk a path themselves.
pub(super) fn segments_json(path: &Path) -> String {
    let segments: Vec<serde_json::Value> = path
        .segments()
        .iter()
        .map(|s| match s {
            Segment::Field(name) => serde_json::Value::from(name.as_str()),
            Segment::Index(i) => serde_json::Value::from(*i),
        })
        .collect();
    serde_json::Value::Array(segments).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> String {
        json_path("$", &text.parse().unwrap()).unwrap()
    }

    #[test]
    fn fields_are_quoted_and_positions_guarded() {
        assert_eq!(path("a.b"), r#"$."a"."b""#);
        assert_eq!(path("t[1]"), r#"$ ? (@."t".type() == "array")."t"[1]"#);
        assert_eq!(
            path("m[0][2].x"),
            r#"$ ? (@."m".type() == "array" && @."m"[0].type() == "array")."m"[0][2]."x""#
        );
        let quoted = Path::field("say \"hi\"");
        assert_eq!(json_path("$", &quoted).unwrap(), r#"$."say \"hi\"""#);
    }

    #[test]
    fn segments_are_strings_and_numbers() {
        assert_eq!(
            segments_json(&"items[0].sku".parse().unwrap()),
            r#"["items",0,"sku"]"#
        );
    }
}
