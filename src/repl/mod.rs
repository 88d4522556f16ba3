//! The interactive shell: reads statements line by line (a statement ends at `;` or at the end
//! of a line once it is complete) and prints their results as tables.

use std::io::{BufRead, Write};

use crate::error::Result;
use crate::output::Style;
use crate::query::Session;

/// Runs the shell on a session until end of input; returns the exit code.
pub fn run(session: &mut Session) -> Result<i32> {
    let stdin = std::io::stdin();
    let mut pending = String::new();
    loop {
        let prompt = match (pending.is_empty(), session.current()) {
            (false, _) => "...> ".to_owned(),
            (true, Some(c)) => format!("{c}> "),
            (true, None) => "quarry> ".to_owned(),
        };
        print!("{prompt}");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            println!();
            return Ok(crate::cli::EXIT_OK);
        }
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed == ".quit" || trimmed == ".exit") {
            return Ok(crate::cli::EXIT_OK);
        }
        pending.push_str(&line);
        if crate::query::is_incomplete(&pending) {
            continue;
        }
        let text = std::mem::take(&mut pending);
        if text.trim().is_empty() {
            continue;
        }
        crate::cli::run_text(session, &text, &Style::default());
    }
}
