//! The `quarry` command: the command line, the shell, the demo and tables for terminals. Built
//! only with the `cli` feature; nothing below it knows it exists.

/// The exit status of a command that succeeded.
pub const EXIT_OK: i32 = 0;

/// A flag Ctrl-C raises instead of killing the process, so that work under way stops cleanly
/// (a query with an error, an import rolled back there and then).
pub(crate) fn interrupt_on_ctrl_c() -> crate::query::Interrupt {
    let interrupt = crate::query::Interrupt::default();
    let raised = interrupt.clone();
    let _ = ctrlc::set_handler(move || raised.raise());
    interrupt
}

/// Exit status of a command whose reader went away (`quarry exec ... | head`): quiet success.
const CLOSED_OUTPUT: i32 = EXIT_OK;

/// Writes to standard output. When the reader has gone (a closed pipe) the command ends there,
/// quietly, with status 0, as `cat` and `sqlite3` end in a pipeline; another write error ends it
/// with a message.
pub(crate) fn write_out(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(err) = std::io::stdout().lock().write_fmt(text) {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(CLOSED_OUTPUT);
        }
        eprintln!("error: cannot write the output: {err}");
        std::process::exit(1);
    }
}

/// `print!` that ends quietly on a closed pipe (see [`write_out`]).
macro_rules! out {
    ($($arg:tt)*) => { $crate::app::write_out(format_args!($($arg)*)) };
}

/// `println!` that ends quietly on a closed pipe (see [`write_out`]).
macro_rules! outln {
    () => { $crate::app::write_out(format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::app::write_out(format_args!($($arg)*));
        $crate::app::write_out(format_args!("\n"));
    }};
}

pub mod cli;
pub mod demo;
pub mod progress;
pub mod shell;
pub mod table;
