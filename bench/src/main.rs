//! quarry side by side with SQLite (a JSON text column with expression indexes) and a raw
//! sled floor, on the same seeded data, in one run. Each engine runs in its own child process
//! (so its peak memory is its own); the parent prints a table with the ratios
//! quarry/SQLite and quarry/raw-sled and writes it as Markdown.
//!
//! ```text
//! cargo run --release -p quarry-bench -- [--n 100000] [--runs 3] [--repeat 3] [--out bench/RESULTS.md]
//! cargo run --release -p quarry-bench -- --sizes 10000,100000,1000000 --out bench/SCALING.md
//! cargo run --release -p quarry-bench -- text [--n 100000]   # full-text search (text.rs)
//! ```
//! The size can also come from `QUARRY_BENCH_N`. To profile one engine on some workloads:
//!
//! ```text
//! perf record -g target/release/quarry-bench --engine quarry --only indexed,get --runs 20
//! ```

mod data;
mod engines;
mod text;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use engines::Engine;

/// The workloads, in the order they run and are shown.
const WORKLOADS: &[(&str, &str)] = &[
    ("load", "bulk import, two indexes (docs/s)"),
    ("get", "point get by id (µs)"),
    ("indexed", "org = ICC and year >= 2020, whole docs (ms)"),
    (
        "indexed_count",
        "count where org = ICC and year >= 2020 (ms)",
    ),
    ("latest", "order by date desc limit 10, indexed (ms)"),
    ("longest", "order by words desc limit 10, no index (ms)"),
    ("count_by", "count by org (ms)"),
    ("group_by", "group by org: count, avg, max (ms)"),
    ("distinct", "count(distinct location) (ms)"),
    ("scan", "full scan, unindexed predicate (ms)"),
    ("regex", "regex scan over body (ms)"),
    ("update", "update 10% by predicate (ms)"),
    ("delete", "delete 10% by predicate (ms)"),
    ("reopen", "reopen + first indexed query (ms)"),
    (
        "latest_reopened",
        "order by date desc limit 10, after reopening (ms)",
    ),
    ("size", "on disk after flush (MB)"),
    ("memory", "peak memory (MB)"),
];

const ENGINES: &[&str] = &["quarry", "sqlite", "raw-sled"];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// Times `f` once; the time in milliseconds, and what `f` returned. For what changes the data
/// (updates, deletes) or happens once (reopening).
fn time_once(f: impl FnOnce() -> usize) -> (f64, usize) {
    let started = Instant::now();
    let result = f();
    (started.elapsed().as_secs_f64() * 1e3, result)
}

/// A sample repeats a read until at least this long has passed and counts the time per call:
/// a 10 µs query timed on its own measures cold caches and the clock more than the query.
const MIN_SAMPLE: Duration = Duration::from_millis(5);

/// Takes `runs` samples of a read `f`; the median time per call in milliseconds, and what `f`
/// returned.
fn sample_ms(runs: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut result = 0;
    let samples = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            let mut calls = 0u32;
            loop {
                result = f();
                calls += 1;
                if started.elapsed() >= MIN_SAMPLE {
                    break;
                }
            }
            started.elapsed().as_secs_f64() * 1e3 / f64::from(calls)
        })
        .collect();
    (median(samples), result)
}

/// The value of the `name:` line of a `/proc` file such as `/proc/self/status`, trimmed.
fn proc_field(path: &str, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(name))?;
    line.split_once(':').map(|(_, v)| v.trim().to_owned())
}

/// A `/proc` figure given in kB (`VmHWM`, `MemTotal`), as a number of kB.
fn proc_kb(path: &str, name: &str) -> Option<f64> {
    proc_field(path, name)?.trim_end_matches(" kB").parse().ok()
}

/// Peak resident memory of this process, in MB (VmHWM).
fn peak_mb() -> f64 {
    proc_kb("/proc/self/status", "VmHWM").map_or(0.0, |kb| kb / 1024.0)
}

/// Runs every workload on one engine (or, with `only`, the load and the reads, writes and
/// reopening named there) and prints the figures as one JSON line.
fn run_engine(name: &str, n: usize, runs: usize, only: Option<&str>) {
    let wanted = |key: &str| only.is_none_or(|list| list.split(',').any(|w| w == key));
    let dir = tempfile::tempdir().expect("tempdir");
    let docs = data::articles(n);
    let mut engine: Box<dyn Engine> = match name {
        "quarry" => Box::new(engines::Quarry::new(dir.path())),
        "sqlite" => Box::new(engines::Sqlite::new(dir.path())),
        _ => Box::new(engines::RawSled::new(dir.path())),
    };
    let mut figures: BTreeMap<&str, f64> = BTreeMap::new();
    let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
    let started = Instant::now();
    engine.load(&docs);
    figures.insert("load", n as f64 / started.elapsed().as_secs_f64());
    drop(docs);
    // Let background work a load leaves (sled's flushing and segment clean-up) finish before
    // timing reads, the same for every engine.
    std::thread::sleep(Duration::from_secs(2));
    let ids: Vec<u64> = (0..1000u64).map(|i| 1 + (i * 7919) % n as u64).collect();
    if wanted("get") {
        // At least five rounds: the first ones after a load meet the engine's background work.
        let (ms, _) = sample_ms(runs.max(5), || ids.iter().map(|id| engine.get(*id)).sum());
        figures.insert("get", ms * 1e3 / ids.len() as f64);
    }
    for (key, f) in [
        (
            "indexed",
            (|e: &dyn Engine| e.indexed()) as fn(&dyn Engine) -> usize,
        ),
        ("indexed_count", |e| e.indexed_count()),
        ("latest", |e| e.latest()),
        ("longest", |e| e.longest()),
        ("count_by", |e| e.count_by_org()),
        ("group_by", |e| e.group_by_org()),
        ("distinct", |e| e.distinct_locations()),
        ("scan", |e| e.scan()),
        ("regex", |e| e.regex()),
    ] {
        if !wanted(key) {
            continue;
        }
        let (ms, answer) = sample_ms(runs, || f(engine.as_ref()));
        figures.insert(key, ms);
        answers.insert(key, answer);
    }
    if wanted("update") {
        let (ms, answer) = time_once(|| engine.update());
        figures.insert("update", ms);
        answers.insert("update", answer);
    }
    if wanted("delete") {
        let (ms, answer) = time_once(|| engine.delete());
        figures.insert("delete", ms);
        answers.insert("delete", answer);
    }
    // Timing the ordered limit after reopening needs the reopen first.
    if wanted("reopen") || wanted("latest_reopened") {
        engine.close();
        std::thread::sleep(Duration::from_millis(1500));
        let (ms, answer) = time_once(|| engine.reopen());
        figures.insert("reopen", ms);
        answers.insert("reopen", answer);
        // The ordered limit again, in a store opened on stored data rather than in the heap the
        // load left behind: what an application that opens an existing store sees.
        if wanted("latest_reopened") {
            let (ms, answer) = sample_ms(runs, || engine.latest());
            figures.insert("latest_reopened", ms);
            answers.insert("latest_reopened", answer);
        }
    }
    if only.is_none() {
        figures.insert("size", engine.size() as f64 / 1e6);
        figures.insert("memory", peak_mb());
    }
    let json = serde_json::json!({ "engine": name, "figures": figures, "answers": answers });
    println!("{json}");
}

/// Runs one engine on `n` documents in a child process; its figures and answers.
fn run_child(engine: &str, n: usize, runs: usize) -> serde_json::Value {
    child_json(&[], engine, n, runs)
}

/// Runs this program again with `mode` (none, or `text`) for one engine and reads the one
/// JSON line it prints.
pub(crate) fn child_json(mode: &[&str], engine: &str, n: usize, runs: usize) -> serde_json::Value {
    let exe = std::env::current_exe().expect("exe");
    let (n, runs) = (n.to_string(), runs.to_string());
    let output = std::process::Command::new(&exe)
        .args(mode)
        .args(["--engine", engine, "--n", &n, "--runs", &runs])
        .output()
        .expect("child");
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(line.trim()).unwrap_or_else(|_| {
        panic!(
            "{engine} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Runs every engine on `n` documents `repeat` times, interleaved, each run in a fresh child
/// process; per engine, the median of each figure over the runs (loads, writes and reopening
/// are timed once per process, so this is what steadies them), and the answers when every
/// run gave the same (null when they differ, which shows as a disagreement).
fn run_size(n: usize, runs: usize, repeat: usize) -> BTreeMap<String, serde_json::Value> {
    let mut all: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
    for round in 1..=repeat.max(1) {
        for engine in ENGINES {
            eprintln!("running {engine} on {n} documents ({round} of {repeat})…");
            all.entry(engine)
                .or_default()
                .push(run_child(engine, n, runs));
        }
    }
    all.into_iter()
        .map(|(engine, results)| {
            let mut figures = serde_json::Map::new();
            for (key, _) in WORKLOADS {
                let samples: Vec<f64> = results
                    .iter()
                    .filter_map(|r| r["figures"][*key].as_f64())
                    .collect();
                if !samples.is_empty() {
                    figures.insert((*key).to_owned(), median(samples).into());
                }
            }
            let agree = results
                .windows(2)
                .all(|w| w[0]["answers"] == w[1]["answers"]);
            let answers = if agree {
                results[0]["answers"].clone()
            } else {
                serde_json::Value::Null
            };
            let value = serde_json::json!({ "figures": figures, "answers": answers });
            (engine.to_owned(), value)
        })
        .collect()
}

fn figure(results: &BTreeMap<String, serde_json::Value>, engine: &str, key: &str) -> f64 {
    results[engine]["figures"][key].as_f64().unwrap_or(f64::NAN)
}

/// The side-by-side table of one size, as a terminal table and as Markdown rows.
fn ratio_table(results: &BTreeMap<String, serde_json::Value>) -> (comfy_table::Table, String) {
    let mut table = comfy_table::Table::new();
    table.set_header([
        "workload",
        "quarry",
        "SQLite",
        "raw sled",
        "quarry/SQLite",
        "quarry/raw",
    ]);
    let mut markdown = String::from(
        "| workload | quarry | SQLite | raw sled | quarry/SQLite | quarry/raw |\n|---|---|---|---|---|---|\n",
    );
    for (key, label) in WORKLOADS {
        let (q, s, r) = (
            figure(results, "quarry", key),
            figure(results, "sqlite", key),
            figure(results, "raw-sled", key),
        );
        // For a rate, the cost ratio is the inverse.
        let (vs_sqlite, vs_raw) = if *key == "load" {
            (s / q, r / q)
        } else {
            (q / s, q / r)
        };
        let cells = [
            label.to_string(),
            number(q),
            number(s),
            number(r),
            number(vs_sqlite),
            number(vs_raw),
        ];
        markdown.push_str(&format!("| {} |\n", cells.join(" | ")));
        table.add_row(cells);
    }
    (table, markdown)
}

/// A figure with three significant digits or more (`0.0312`, `4.58`, `25418`).
fn number(v: f64) -> String {
    let decimals = match v.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        a if a >= 1.0 => 2,
        a if a >= 0.1 => 3,
        _ => 4,
    };
    format!("{v:.decimals$}")
}

/// Whether every engine gave the same answers.
fn engines_agree(results: &BTreeMap<String, serde_json::Value>) -> bool {
    let answers: Vec<&serde_json::Value> =
        ENGINES.iter().map(|e| &results[*e]["answers"]).collect();
    answers.windows(2).all(|w| w[0] == w[1])
}

/// How the cost of the size-sensitive workloads grows with the collection, per engine.
fn scaling_table(sizes: &[(usize, BTreeMap<String, serde_json::Value>)]) -> String {
    let mut markdown = String::from(
        "| documents | engine | indexed query: rows | ms | µs per row | order by … limit 10 (ms) | count by org (ms) | point get (µs) | full scan (ms) |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for (n, results) in sizes {
        for engine in ENGINES {
            let rows = results[*engine]["answers"]["indexed"]
                .as_f64()
                .unwrap_or(f64::NAN);
            let ms = figure(results, engine, "indexed");
            markdown.push_str(&format!(
                "| {n} | {engine} | {rows} | {} | {} | {} | {} | {} | {} |\n",
                number(ms),
                number(ms * 1e3 / rows),
                number(figure(results, engine, "latest")),
                number(figure(results, engine, "count_by")),
                number(figure(results, engine, "get")),
                number(figure(results, engine, "scan")),
            ));
        }
    }
    markdown
}

/// What the run ran on, for the Markdown file: cores, CPU model, memory, system, and the day.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |p| p.get());
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let memory = proc_kb("/proc/meminfo", "MemTotal").map_or_else(
        || "unknown memory".into(),
        |kb| format!("{:.0} GiB", kb / 1048576.0),
    );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let os = std::env::consts::OS;
    let day = jiff::ZonedDateTime::now().date();
    format!(
        "{cores} cores ({cpu}), {memory}, {os} {}; run on {day}",
        kernel.trim()
    )
}

/// The options `main` reads, each followed by a value.
const OPTIONS: &[&str] = &[
    "--n", "--runs", "--repeat", "--engine", "--only", "--out", "--sizes",
];

const USAGE: &str = "usage: quarry-bench [--n DOCS] [--runs SAMPLES] [--repeat PROCESSES] \
[--out FILE.md] [--sizes N,N,...] | --engine quarry|sqlite|raw-sled [--only WORKLOADS] | text ...
  (the size can also come from QUARRY_BENCH_N, sled's cache from QUARRY_BENCH_CACHE_MB)";

/// Refuses anything but the known options, each with a value: a mistyped option would
/// otherwise start a long run with the defaults (and overwrite the results file).
fn check_args() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rest = args.iter();
    while let Some(option) = rest.next() {
        if option == "--help" || option == "-h" {
            return Err(String::new());
        }
        if !OPTIONS.contains(&option.as_str()) {
            return Err(format!("unknown option `{option}`"));
        }
        let Some(value) = rest.next() else {
            return Err(format!("`{option}` needs a value"));
        };
        if option == "--only"
            && let Some(unknown) = value
                .split(',')
                .find(|w| !WORKLOADS.iter().any(|(key, _)| key == w))
        {
            return Err(format!("unknown workload `{unknown}` in --only"));
        }
    }
    Ok(())
}

/// The usage text, with the workload names `--only` takes.
fn usage() -> String {
    let names: Vec<&str> = WORKLOADS.iter().map(|(key, _)| *key).collect();
    format!(
        "{USAGE}\n  WORKLOADS: a comma-separated list of {}",
        names.join(", ")
    )
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("text") {
        text::main();
        return;
    }
    if let Err(problem) = check_args() {
        if !problem.is_empty() {
            eprintln!("quarry-bench: {problem}");
        }
        eprintln!("{}", usage());
        std::process::exit(if problem.is_empty() { 0 } else { 2 });
    }
    let n: usize = arg("--n")
        .or_else(|| std::env::var("QUARRY_BENCH_N").ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let repeat: usize = arg("--repeat").and_then(|v| v.parse().ok()).unwrap_or(3);
    if let Some(engine) = arg("--engine") {
        run_engine(&engine, n, runs, arg("--only").as_deref());
        return;
    }
    let out = arg("--out").unwrap_or_else(|| "bench/RESULTS.md".to_owned());
    let machine = machine();
    let mut markdown = String::from("# quarry benchmark\n\n");
    if let Some(list) = arg("--sizes") {
        let sizes: Vec<usize> = list.split(',').filter_map(|s| s.parse().ok()).collect();
        let all: Vec<(usize, BTreeMap<String, serde_json::Value>)> = sizes
            .iter()
            .map(|n| (*n, run_size(*n, runs, repeat)))
            .collect();
        markdown.push_str(&format!(
            "How costs grow with the collection: medians of {runs} samples (a sample repeats a read until 5 ms have passed) in each of {repeat} fresh process(es) per engine, on {machine}. The indexed query (`org = \"ICC\" and year >= 2020`, whole documents) returns about 6% of the collection, so its cost per returned row is what should stay flat.\n\n"
        ));
        markdown.push_str(&scaling_table(&all));
        for (n, results) in &all {
            let (table, rows) = ratio_table(results);
            println!("{n} documents\n{table}");
            println!("engines agree on every answer: {}", engines_agree(results));
            markdown.push_str(&format!("\n## {n} documents\n\n{rows}"));
            if !engines_agree(results) {
                markdown.push_str("\n**The engines gave different answers.**\n");
            }
        }
    } else {
        let results = run_size(n, runs, repeat);
        let (table, rows) = ratio_table(&results);
        let store = match engines::compressed() {
            true => " quarry's stores were created compressed (`QUARRY_BENCH_COMPRESS=1`).",
            false => "",
        };
        markdown.push_str(&format!(
            "{n} documents of about 1 KB, on {machine}.{store} Each engine ran in {repeat} fresh processes, interleaved; a figure is the median over them of the median of {runs} samples, where a sample repeats a read until 5 ms have passed and counts the time per call (loads, writes and reopening are timed once per process). Lower is better except for docs/s; ratios are quarry's cost relative to the other engine (below 1.0: quarry is faster).\n\n{rows}"
        ));
        if !engines_agree(&results) {
            markdown.push_str("\n**The engines gave different answers** — see the raw figures.\n");
        }
        println!("{table}");
        println!("engines agree on every answer: {}", engines_agree(&results));
    }
    text::keep_section(&out, &mut markdown);
    if let Err(err) = std::fs::write(&out, markdown) {
        eprintln!("cannot write {out}: {err}");
    } else {
        eprintln!("wrote {out}");
    }
}
