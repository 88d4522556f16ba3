//! The `quarry` command: a shell, one-shot statements, checks, and a demo.

fn main() {
    std::process::exit(quarry::main());
}
