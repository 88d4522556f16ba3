//! Rows as a table for people (comfy-table): the union of the rows' top-level fields as
//! columns, nested values as compact JSON, long values cut with `…` to fit a width, and a bar
//! chart column for `count by`.

use comfy_table::{Cell, ContentArrangement, Table, presets};

use crate::io::render::{cell_text, columns};
use crate::value::Value;

/// Draws `rows` as a table fitting `width` columns (none: no limit); with `bars`, a bar per
/// row's `count`. Empty rows draw nothing. A [`crate::io::render::DrawTable`].
pub fn draw(rows: &[Value], width: Option<u16>, bars: bool) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let columns = columns(rows);
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.force_no_tty();
    let max_cell = match width {
        Some(w) => (w as usize / columns.len().max(1)).clamp(12, 80),
        None => 80,
    };
    if let Some(w) = width {
        table.set_width(w);
        table.set_content_arrangement(ContentArrangement::Dynamic);
    }
    let mut header: Vec<Cell> = columns.iter().map(Cell::new).collect();
    let most = rows
        .iter()
        .filter_map(|r| r.get("count").and_then(Value::as_i64))
        .max()
        .unwrap_or(0);
    if bars {
        header.push(Cell::new(""));
    }
    table.set_header(header);
    for row in rows {
        let mut cells: Vec<Cell> = columns
            .iter()
            .map(|c| Cell::new(shorten(&cell_text(row.get(c)), max_cell)))
            .collect();
        if bars {
            let n = row.get("count").and_then(Value::as_i64).unwrap_or(0);
            cells.push(Cell::new(bar(n, most, 20)));
        }
        table.add_row(cells);
    }
    format!("{table}\n")
}

/// A bar of up to `width` blocks for `n` out of `most`.
fn bar(n: i64, most: i64, width: usize) -> String {
    if most <= 0 || n <= 0 {
        return String::new();
    }
    let eighths = (n as f64 / most as f64 * width as f64 * 8.0).round() as usize;
    let mut text = "█".repeat(eighths / 8);
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    text.push_str(PARTS[eighths % 8]);
    if text.is_empty() {
        text.push('▏');
    }
    text
}

/// Cuts text longer than `max` characters, ending it with `…`; newlines become `⏎`. Terminal
/// styles (`snippet()`'s bold) take no room, and one cut inside a style is reset.
fn shorten(text: &str, max: usize) -> String {
    let flat = text.replace('\n', "⏎");
    let mut cut = String::with_capacity(flat.len());
    let (mut shown, mut styled, mut rest) = (0usize, false, flat.as_str());
    while let Some(c) = rest.chars().next() {
        if let Some(len) = style_len(rest) {
            cut.push_str(&rest[..len]);
            styled = true;
            rest = &rest[len..];
            continue;
        }
        if shown == max.saturating_sub(1) && visible(rest) > 1 {
            if styled {
                cut.push_str("\x1b[0m");
            }
            cut.push('…');
            return cut;
        }
        cut.push(c);
        shown += 1;
        rest = &rest[c.len_utf8()..];
    }
    cut
}

/// The length of the terminal style sequence (`ESC [ ... m`) `text` starts with, if any.
fn style_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\x1b[")?;
    let end = body.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    body[end..].starts_with('m').then_some(2 + end + 1)
}

/// How many characters of `text` show (style sequences take none).
fn visible(text: &str) -> usize {
    let (mut n, mut rest) = (0usize, text);
    while let Some(c) = rest.chars().next() {
        match style_len(rest) {
            Some(len) => rest = &rest[len..],
            None => {
                n += 1;
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::render::tests::rows;

    #[test]
    fn table_lists_every_field_once_in_order_of_appearance() {
        let text = draw(
            &rows(serde_json::json!([{"a": 1, "n": {"x": [1]}}, {"b": "long text"}])),
            None,
            false,
        );
        let header = text.lines().nth(1).unwrap();
        assert!(header.contains('a') && header.contains('n') && header.contains('b'));
        assert!(text.contains(r#"{"x":[1]}"#), "{text}");
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abcd", 4), "abcd");
        assert_eq!(shorten("a\nb", 10), "a⏎b");
    }

    #[test]
    fn styles_take_no_room_and_a_cut_inside_one_is_reset() {
        let bold = "a \x1b[1mreef\x1b[22m b";
        assert_eq!(shorten(bold, 8), bold);
        assert_eq!(shorten(bold, 5), "a \x1b[1mre\x1b[0m…");
        // A table measures the words, not the escapes: its rows stay as wide as its header.
        let rows = rows(serde_json::json!([{"snippet": bold}, {"snippet": "a reef b"}]));
        let text = draw(&rows, None, false);
        let widths: Vec<usize> = text.lines().map(visible).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn groups_get_a_bar_scaled_to_the_largest_count() {
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(0, 10, 4), "");
        let text = draw(
            &rows(serde_json::json!([{"org": "A", "count": 4}, {"org": "B", "count": 2}])),
            None,
            true,
        );
        assert!(text.contains("████"), "{text}");
    }
}
