//! The `quarry` command: the command line, the shell, the demo and tables for terminals. Built
//! only with the `cli` feature; nothing below it knows it exists.

pub mod cli;
pub mod demo;
pub mod progress;
pub mod shell;
pub mod table;

/// The exit status of a command that succeeded.
pub const EXIT_OK: i32 = 0;
