//! The shape of the code: every module's imports point down the layers, and no modules import
//! each other in a circle.
//!
//! Layers, from the bottom: `lexicon` (words of the language), `value`, `path`, `text` (words
//! found in text, searches, scores), `codec`,
//! `error`, `store`, `query`, then `io` (import, export, rendering outputs as text, scripts),
//! then `app` (the command line, the shell, the demo, tables and progress bars). `lib.rs` and `main.rs` only assemble. The
//! test reads every `crate::` path in the code (comments aside) and fails naming each import
//! that points up a layer and each circle of modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer of a module, by its first segment.
fn layer(module: &str) -> Option<usize> {
    let first = module.split("::").next()?;
    let layers: [&[&str]; 10] = [
        &["lexicon"],
        &["value"],
        &["path"],
        &["text"],
        &["codec"],
        &["error"],
        &["store"],
        &["query"],
        &["io"],
        &["app"],
    ];
    layers.iter().position(|names| names.contains(&first))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/query/exec.rs` → `query::exec`; `src/store/mod.rs` → `store`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p != "mod")
        .collect();
    parts.join("::")
}

/// The code of a file without its comments and its tests (`#[cfg(test)]` modules may reach
/// anywhere below them, and doc comments are examples, not imports).
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start() == "#[cfg(test)]" {
            break;
        }
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The modules a file's code names with `crate::a::b::...`, resolved to the longest module
/// that exists (`crate::query::plan::Plan` → `query::plan`), and with `super::x::...` from
/// `module`, read as `crate::PARENT::x::...`.
fn imports(code: &str, module: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let parent = match module.rsplit_once("::") {
        Some((parent, _)) => format!("crate::{parent}::"),
        None => "crate::".to_owned(),
    };
    let code = code.replace("super::", &parent);
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        let segments: Vec<&str> = tail
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .filter(|s| !s.is_empty())
            .collect();
        // `use crate::{a, b::c}`: each item in braces.
        if tail.starts_with('{') {
            let inner = &tail[1..tail.find('}').unwrap_or(tail.len())];
            for item in inner.split(',') {
                let head = item.trim().split("::").next().unwrap_or("").trim();
                if modules.contains(head) {
                    found.insert(head.to_owned());
                }
            }
        }
        for n in (1..=segments.len()).rev() {
            let candidate = segments[..n].join("::");
            if modules.contains(&candidate) {
                found.insert(candidate);
                break;
            }
        }
        rest = tail;
    }
    found
}

#[test]
fn imports_point_down_the_layers_and_form_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&src, f))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer(&module) else {
            problems.push(format!("{module} belongs to no layer: add it to `layer`"));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for target in imports(&code(&text), &module, &modules) {
            if target == module || module.starts_with(&format!("{target}::")) {
                continue;
            }
            match layer(&target) {
                Some(theirs) if theirs > own => {
                    problems.push(format!("{module} imports {target}, a higher layer"))
                }
                _ => {}
            }
            graph.entry(module.clone()).or_default().insert(target);
        }
    }
    // Circles: a depth-first search that reports each back edge's cycle once.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    let mut stack: Vec<&str> = Vec::new();
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        problems: &mut Vec<String>,
    ) {
        state.insert(node, 1);
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|m| *m == next).unwrap();
                    let mut circle: Vec<&str> = stack[from..].to_vec();
                    circle.push(next);
                    problems.push(format!("import circle: {}", circle.join(" -> ")));
                }
                Some(_) => {}
                None => visit(next, graph, state, stack, problems),
            }
        }
        stack.pop();
        state.insert(node, 2);
    }
    for node in graph.keys() {
        if !state.contains_key(node.as_str()) {
            visit(node, &graph, &mut state, &mut stack, &mut problems);
        }
    }
    assert!(
        problems.is_empty(),
        "the module graph breaks the layering:\n  {}",
        problems.join("\n  ")
    );
}
