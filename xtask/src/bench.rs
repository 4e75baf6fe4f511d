//! `cargo xtask bench [METRIC...]`: benchmarks with speed goals, kept out of
//! the tests (a timed test fails on a busy machine; a benchmark reports).
//!
//! Each metric runs child processes that print `doorstep-bench: {json}`
//! lines; this module runs them against one time budget, reads those lines,
//! checks each figure against its goal, prints one table and writes
//! `target/bench/<metric>.json` (and `target/bench/report.json` when every
//! metric ran). See BENCH.md.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::{
    shell::{cmd, root},
    tools,
};

mod peer;

/// What a benchmark binary prints in front of its JSON result.
pub const MARKER: &str = "doorstep-bench: ";

/// Every metric, in the order a full run takes them.
pub const METRICS: &[Metric] = &[
    Metric {
        name: "size",
        about: "bytes over the wire for the app shell (release build), brotli and gzip",
        needs_browser: false,
        needs_postgres: false,
        run: size,
    },
    Metric {
        name: "load",
        about: "cold and repeat load until the home page is usable, Slow 3G and a 4x slower CPU",
        needs_browser: true,
        needs_postgres: false,
        run: load,
    },
    Metric {
        name: "resident",
        about: "the resident page cold, Slow 3G and a 4x slower CPU: bytes and time until \
                its status line shows real data",
        needs_browser: true,
        needs_postgres: false,
        run: resident,
    },
    Metric {
        name: "lighthouse",
        about: "Lighthouse 12.2.3 mobile scores (performance, accessibility, best practices) \
                of / and the resident page",
        needs_browser: true,
        needs_postgres: false,
        run: lighthouse,
    },
    Metric {
        name: "sync",
        about: "server ingest and client pull apply, each next to a raw batched write",
        needs_browser: true,
        needs_postgres: false,
        run: sync,
    },
    Metric {
        name: "initial",
        about: "first sync of 5,000 households (45,000 records) into a fresh Chromium profile",
        needs_browser: true,
        needs_postgres: false,
        run: initial,
    },
    Metric {
        name: "truck",
        about: "one tap fanned out to 1,000 open resident pages (SSE), next to 1 page",
        needs_browser: false,
        needs_postgres: false,
        run: truck,
    },
    Metric {
        name: "edit",
        about: "p95 of 200 checklist taps until the draft is in IndexedDB and painted",
        needs_browser: true,
        needs_postgres: false,
        run: edit,
    },
    Metric {
        name: "live",
        about: "p95 from a save on phone A until phone B shows it, no tap on B (both Chromium)",
        needs_browser: true,
        needs_postgres: false,
        run: live,
    },
    Metric {
        name: "store",
        about: "capacity per instance for docs/SCALE.md: ingest on SQLite and PostgreSQL, \
                open SSE pages",
        needs_browser: false,
        needs_postgres: true,
        run: store,
    },
    Metric {
        name: "roster",
        about: "dry run of a 9-building, 2,300-household office workbook, next to reading it alone",
        needs_browser: false,
        needs_postgres: false,
        run: roster,
    },
    Metric {
        name: "district",
        about: "a district's totals over 1,000 compounds (200,000 records), every compound \
                changed, on SQLite and PostgreSQL",
        needs_browser: false,
        needs_postgres: true,
        run: district,
    },
    Metric {
        name: "peer",
        about: "beside PouchDB 9 <-> pouchdb-server (shared/peer) on its generated workload: \
                initial pull at 1x and 4x CPU, bytes, 60 edits pushed, server ingest",
        needs_browser: true,
        needs_postgres: false,
        run: peer::peer,
    },
];

/// The names `cargo xtask bench` accepts.
pub const NAMES: &[&str] = &[
    "size",
    "load",
    "resident",
    "lighthouse",
    "sync",
    "initial",
    "truck",
    "edit",
    "live",
    "store",
    "roster",
    "district",
    "peer",
];

pub struct Metric {
    pub name: &'static str,
    pub about: &'static str,
    /// Whether it runs in headless Chromium (the WASM tools and the browser
    /// are installed first, outside the budget).
    pub needs_browser: bool,
    /// Whether it needs PostgreSQL on 127.0.0.1:5432 (started, or installed
    /// and set up when we are root, first, outside the budget).
    pub needs_postgres: bool,
    /// Runs the metric's steps until `deadline`, one entry per figure.
    run: fn(Instant) -> Vec<Entry>,
}

/// What a figure must reach. Checked by the runner, never by a test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// `value / baseline` at least this.
    RatioAtLeast(f64),
    /// `value / baseline` at most this (bytes, requests: lower is better).
    RatioAtMost(f64),
    /// `value` at most `max`, in `unit` (a latency: lower is better). The
    /// baseline is shown for scale but does not count.
    AtMost { max: f64, unit: &'static str },
    /// `value` at least `min`, in `unit` (a score: higher is better).
    AtLeast { min: f64, unit: &'static str },
    /// No goal: a capacity figure (`store`), recorded for docs/SCALE.md and
    /// judged by the plan that reads it. Its `met` is `null`.
    Recorded,
}

impl Goal {
    /// Whether a measured figure reaches the goal: a ratio goal judges the
    /// figure's [`Measured::ratio`] (the median of paired rounds when the
    /// benchmark reported one); a figure with no goal has nothing to miss.
    pub fn met(self, measured: &Measured) -> bool {
        match self {
            Goal::RatioAtLeast(min) => measured.ratio().is_some_and(|r| r >= min),
            Goal::RatioAtMost(max) => measured.ratio().is_some_and(|r| r <= max),
            Goal::AtMost { max, .. } => measured.value <= max,
            Goal::AtLeast { min, .. } => measured.value >= min,
            Goal::Recorded => true,
        }
    }

    /// Whether there is a goal to meet at all.
    pub fn judged(self) -> bool {
        self != Goal::Recorded
    }

    pub fn describe(self) -> String {
        match self {
            Goal::RatioAtLeast(min) => format!("ratio >= {min}"),
            Goal::RatioAtMost(max) => format!("ratio <= {max}"),
            Goal::AtMost { max, unit } => format!("<= {max} {unit}"),
            Goal::AtLeast { min, unit } => format!(">= {min} {unit}"),
            Goal::Recorded => "none (recorded)".to_owned(),
        }
    }
}

pub fn ratio(value: f64, baseline: f64) -> f64 {
    if baseline > 0.0 {
        value / baseline
    } else {
        0.0
    }
}

/// One measured figure: ours, and the raw floor measured in the same run.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    pub unit: String,
    pub value: f64,
    /// `None` when the benchmark has no raw floor (it printed `null`).
    pub baseline: Option<f64>,
    /// Ours over the baseline per round, when both ran in the same rounds
    /// (the benchmark printed `rounds_ms`): the figure a ratio goal judges.
    pub paired: Option<Spread>,
    /// Everything else the benchmark reported (sizes, per-round times).
    pub details: Value,
}

/// The median of a set of figures (a benchmark's paired ratios, the peer
/// bench's runs) and their range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The median of `xs` (the mean of the middle two for an even count),
    /// and its range; `None` for no values.
    fn of(xs: &[f64]) -> Option<Self> {
        let mut sorted = xs.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }

    fn parse(v: &Value) -> Option<Self> {
        Some(Self {
            median: v.get("median")?.as_f64()?,
            min: v.get("min")?.as_f64()?,
            max: v.get("max")?.as_f64()?,
        })
    }

    /// The form [`Spread::parse`] reads.
    fn to_json(self) -> Value {
        json!({"median": self.median, "min": self.min, "max": self.max})
    }
}

impl Measured {
    /// A rate measured in paired rounds: `rounds` holds each round's
    /// milliseconds, ours (`value`) and the raw floor's (`baseline`), each
    /// round doing `per_round` units of work. Each side's figure is its
    /// median round as a rate; the ratio is the median of the rounds' own
    /// ratios, so one outlier round moves it by one round, not the whole.
    fn paired(unit: String, rounds: &Value, per_round: f64) -> Option<Self> {
        let ms = |side: &str| -> Option<Vec<f64>> {
            rounds
                .get(side)?
                .as_array()?
                .iter()
                .map(Value::as_f64)
                .collect()
        };
        let (ours, raw) = (ms("value")?, ms("baseline")?);
        if ours.len() != raw.len() || ours.iter().chain(&raw).any(|&ms| ms <= 0.0) {
            return None;
        }
        let rate = |times: &[f64]| Some(per_round / (Spread::of(times)?.median / 1000.0));
        let ratios: Vec<f64> = raw.iter().zip(&ours).map(|(r, o)| r / o).collect();
        Some(Self {
            unit,
            value: rate(&ours)?,
            baseline: Some(rate(&raw)?),
            paired: Some(Spread::of(&ratios)?),
            details: Value::Null,
        })
    }

    /// Ours over the baseline: the median of the paired rounds when there
    /// were some, else the two figures' quotient; `None` without a baseline.
    pub fn ratio(&self) -> Option<f64> {
        match (&self.paired, self.baseline) {
            (Some(paired), _) => Some(paired.median),
            (None, Some(b)) => Some(ratio(self.value, b)),
            (None, None) => None,
        }
    }

    /// The ratio as the table shows it, with its spread when paired.
    fn ratio_text(&self) -> String {
        match (&self.paired, self.ratio()) {
            (Some(p), _) => format!("{:.2} ({:.2}-{:.2})", p.median, p.min, p.max),
            (None, Some(r)) => format!("{r:.2}"),
            (None, None) => "-".to_owned(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Measured(Measured),
    /// The time budget ran out while this figure was being measured.
    CutShort,
    /// The budget was spent before this figure's turn came.
    NotRun,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// `metric.figure`, e.g. `sync.server`: the key in the report.
    pub key: String,
    pub goal: Goal,
    pub status: Status,
}

impl Entry {
    fn new(key: &str, goal: Goal, status: Status) -> Self {
        Self {
            key: key.to_owned(),
            goal,
            status,
        }
    }

    /// Whether the figure was measured and met its goal (a figure with no
    /// goal passes once measured).
    pub fn passed(&self) -> bool {
        matches!(&self.status, Status::Measured(m) if self.goal.met(m))
    }

    /// The report entry: value and baseline first, then how it was judged.
    pub fn to_json(&self) -> Value {
        let goal = self.goal.describe();
        match &self.status {
            Status::Measured(m) => json!({
                "value": round(m.value, 1),
                "baseline": m.baseline.map(|b| round(b, 1)),
                "unit": m.unit,
                "ratio": m.ratio().map(|r| round(r, 3)),
                "ratio_spread": m.paired.map(|p| [round(p.min, 3), round(p.max, 3)]),
                "goal": goal,
                "met": self.goal.judged().then(|| self.passed()),
                "status": "measured",
                "details": m.details,
            }),
            other => json!({
                "value": null,
                "baseline": null,
                "goal": goal,
                "met": self.goal.judged().then_some(false),
                "status": match other {
                    Status::CutShort => "cut short".to_owned(),
                    Status::NotRun => "not run".to_owned(),
                    Status::Failed(why) => format!("failed: {why}"),
                    Status::Measured(_) => unreachable!(),
                },
            }),
        }
    }
}

fn round(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

/// `cargo xtask bench [METRIC...]`: every metric when none is named.
pub fn bench(names: &[String], budget: Duration) -> anyhow::Result<()> {
    let selected: Vec<&Metric> = if names.is_empty() {
        METRICS.iter().collect()
    } else {
        names
            .iter()
            .map(|name| {
                METRICS
                    .iter()
                    .find(|m| m.name == name)
                    .with_context(|| format!("no metric {name:?}; known: {}", NAMES.join(", ")))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let load = machine_load();
    if let Some(note) = &load {
        eprintln!("{note}");
    }
    // Installing tools is a one-time cost outside the budget.
    if selected.iter().any(|m| m.needs_browser) {
        tools::ensure_wasm_test_tools()?;
        tools::ensure_browser()?;
    }
    if selected.iter().any(|m| m.needs_postgres) {
        tools::ensure_postgres()?;
    }

    let started = Instant::now();
    let deadline = started + budget;
    eprintln!(
        "benchmarks: {} (time budget {} s, builds included)",
        selected
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", "),
        budget.as_secs()
    );
    let out_dir = root().join("target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let mut entries = Vec::new();
    for metric in &selected {
        eprintln!("\n=== bench {}: {} ===", metric.name, metric.about);
        let found = (metric.run)(deadline);
        write_json(
            &out_dir.join(format!("{}.json", metric.name)),
            &metric_json(metric.name, &found),
        )?;
        entries.extend(found);
    }
    // A full run writes the report afresh; a partial one updates its figures.
    let report_path = out_dir.join("report.json");
    let previous = if names.is_empty() {
        None
    } else {
        std::fs::read_to_string(&report_path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
    };
    write_json(&report_path, &merged_report(previous, &entries))?;

    println!("\n{}", render_table(&entries));
    for line in summaries(&entries) {
        println!("{line}");
    }
    if let Some(note) = &load {
        println!("{note}");
    }
    let cut = entries
        .iter()
        .any(|e| matches!(e.status, Status::CutShort | Status::NotRun));
    if cut {
        println!(
            "CUT SHORT: the {} s budget ran out after {} s; figures marked so were not measured \
             (raise it with --budget)",
            budget.as_secs(),
            started.elapsed().as_secs()
        );
    }
    println!("written to {}", out_dir.display());
    let failed: Vec<&str> = entries
        .iter()
        .filter(|e| matches!(e.status, Status::Failed(_)))
        .map(|e| e.key.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("benchmarks failed: {}", failed.join(", "));
    }
    if cut {
        bail!("benchmarks cut short by the time budget");
    }
    Ok(())
}

/// The load average against the core count, read before anything is built:
/// other work on the machine slows the side with more round trips more.
fn machine_load() -> Option<String> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").ok()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Some(load_note(&loadavg, cores))
}

pub fn load_note(loadavg: &str, cores: usize) -> String {
    let one_minute: f64 = loadavg
        .split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(0.0);
    let busy = if one_minute >= 0.5 * cores as f64 {
        ": the machine is busy, expect noisy figures"
    } else {
        ""
    };
    format!("load average at start: {one_minute:.2} on {cores} cores{busy}")
}

fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `target/bench/<metric>.json`: the metric's figures by their short name.
pub fn metric_json(metric: &str, entries: &[Entry]) -> Value {
    let prefix = format!("{metric}.");
    Value::Object(
        entries
            .iter()
            .map(|e| {
                let short = e.key.strip_prefix(&prefix).unwrap_or(&e.key);
                (short.to_owned(), e.to_json())
            })
            .collect(),
    )
}

/// `target/bench/report.json`: every figure under its full key, each with
/// its value and its baseline.
pub fn report_json(entries: &[Entry]) -> Value {
    Value::Object(
        entries
            .iter()
            .map(|e| (e.key.clone(), e.to_json()))
            .collect(),
    )
}

/// `report.json` after a run: `previous` (a partial run's earlier report)
/// with this run's figures put in or replaced.
pub fn merged_report(previous: Option<Value>, entries: &[Entry]) -> Value {
    let mut report = match previous {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    if let Value::Object(fresh) = report_json(entries) {
        report.extend(fresh);
    }
    Value::Object(report)
}

/// The `doorstep-bench:` results in a step's output, by their `bench` name.
pub fn parse_results(output: &str) -> BTreeMap<String, Measured> {
    output
        .lines()
        .filter_map(|line| line.split_once(MARKER).map(|(_, json)| json.trim()))
        .filter_map(|json| serde_json::from_str::<Value>(json).ok())
        .filter_map(|mut v| {
            let name = v.get("bench")?.as_str()?.to_owned();
            let unit = v.get("unit")?.as_str()?.to_owned();
            let measured = match v.get("rounds_ms") {
                Some(rounds) => Measured::paired(unit, rounds, v.get("per_round")?.as_f64()?)?,
                None => Measured {
                    unit,
                    value: v.get("value")?.as_f64()?,
                    // The baseline must be there: a number, or `null` for a
                    // figure with no raw floor.
                    baseline: match v.get("baseline")? {
                        Value::Null => None,
                        b => Some(b.as_f64()?),
                    },
                    paired: None,
                    details: Value::Null,
                },
            };
            let obj = v.as_object_mut()?;
            for key in ["bench", "unit", "value", "baseline", "per_round"] {
                obj.remove(key);
            }
            Some((
                name,
                Measured {
                    details: Value::Object(std::mem::take(obj)),
                    ..measured
                },
            ))
        })
        .collect()
}

/// The `summary` a benchmark reported next to its figure (e.g. a latency's
/// p50, p99 and max), one line per figure that has one.
pub fn summaries(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| match &e.status {
            Status::Measured(m) => m
                .details
                .get("summary")
                .and_then(Value::as_str)
                .map(|summary| format!("{}: {summary}", e.key)),
            _ => None,
        })
        .collect()
}

/// One table for the whole run.
pub fn render_table(entries: &[Entry]) -> String {
    let header = ["figure", "ours", "raw baseline", "ratio", "goal", "result"];
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| match &e.status {
            Status::Measured(m) => [
                e.key.clone(),
                format!("{} {}", amount(m.value), m.unit),
                m.baseline
                    .map_or("-".to_owned(), |b| format!("{} {}", amount(b), m.unit)),
                m.ratio_text(),
                e.goal.describe(),
                if !e.goal.judged() {
                    "recorded"
                } else if e.passed() {
                    "met"
                } else {
                    "BELOW GOAL"
                }
                .to_owned(),
            ],
            other => [
                e.key.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                e.goal.describe(),
                match other {
                    Status::CutShort => "CUT SHORT".to_owned(),
                    Status::NotRun => "NOT RUN (budget spent)".to_owned(),
                    Status::Failed(why) => format!("FAILED: {why}"),
                    Status::Measured(_) => unreachable!(),
                },
            ],
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    std::iter::once(line(&header.map(str::to_owned)))
        .chain(std::iter::once(line(&rule)))
        .chain(rows.iter().map(|r| line(r)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A figure for the table: grouped whole numbers from 100 up (rates),
/// one decimal below (milliseconds).
pub fn amount(x: f64) -> String {
    if x.abs() < 100.0 {
        format!("{x:.1}")
    } else {
        thousands(x)
    }
}

/// `12345.6` as `12,346`.
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// How a child process ended.
#[derive(Debug)]
enum StepEnd {
    Exited {
        success: bool,
        stdout: String,
    },
    /// Killed at the deadline; `stdout` is what it printed until then.
    CutShort {
        stdout: String,
    },
}

/// Runs `command` until it exits or `deadline` passes, whichever is first;
/// at the deadline its whole process group (cargo, the benchmark, a browser)
/// is killed. Stdout is echoed to stderr as it comes and kept (also when it
/// is cut short: a step that prints several figures keeps the finished ones).
fn run_until(command: &mut Command, deadline: Instant) -> anyhow::Result<StepEnd> {
    use std::os::unix::process::CommandExt;

    eprintln!("$ {}", crate::shell::describe(command));
    let mut child = command
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("could not start the benchmark")?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // The group id is the child's pid (process_group(0) above).
            let group = format!("-{}", child.id());
            let _ = cmd("kill").args(["-KILL", "--", &group]).status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Drain what is left. A grandchild that outlived its parent could hold
    // the pipe open, so wait only briefly, and join the reader only once the
    // pipe has closed.
    let mut stdout = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(line) => stdout.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = reader.join();
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => break,
        }
    }
    let stdout = stdout.join("\n");
    Ok(match status {
        Some(status) => StepEnd::Exited {
            success: status.success(),
            stdout,
        },
        None => StepEnd::CutShort { stdout },
    })
}

/// Runs one step and takes the figure named `bench` from its output.
fn step(key: &str, goal: Goal, bench: &str, command: Command, deadline: Instant) -> Entry {
    let mut entries = steps(&[(key, goal, bench)], command, deadline);
    entries.remove(0)
}

/// Runs one step that prints several figures, `(key, goal, bench)` each,
/// and takes each from its output.
fn steps(figures: &[(&str, Goal, &str)], mut command: Command, deadline: Instant) -> Vec<Entry> {
    let end = if Instant::now() >= deadline {
        None
    } else {
        Some(run_until(&mut command, deadline))
    };
    judge_step(figures, end)
}

/// The entries for a step's figures from how it ended (`None`: it never
/// started, the budget was spent). A step cut short keeps the figures it
/// printed before the deadline; one that failed keeps none.
fn judge_step(figures: &[(&str, Goal, &str)], end: Option<anyhow::Result<StepEnd>>) -> Vec<Entry> {
    let (mut found, success, cut) = match &end {
        Some(Ok(StepEnd::Exited { success, stdout })) => (parse_results(stdout), *success, false),
        Some(Ok(StepEnd::CutShort { stdout })) => (parse_results(stdout), true, true),
        _ => (BTreeMap::new(), false, false),
    };
    figures
        .iter()
        .map(|&(key, goal, bench)| {
            let status = match (&end, found.remove(bench)) {
                (None, _) => Status::NotRun,
                (Some(Err(err)), _) => Status::Failed(format!("{err:#}")),
                (Some(Ok(_)), Some(measured)) if success => Status::Measured(measured),
                (Some(Ok(_)), Some(_)) => {
                    Status::Failed("the benchmark exited with an error".into())
                }
                (Some(Ok(_)), None) if cut => Status::CutShort,
                (Some(Ok(_)), None) if success => {
                    Status::Failed(format!("no {MARKER}{bench} line in its output"))
                }
                (Some(Ok(_)), None) => {
                    Status::Failed("the benchmark failed (see its output above)".into())
                }
            };
            Entry::new(key, goal, status)
        })
        .collect()
}

/// `size`: builds the release app, then weighs its shell (`size.rs`).
fn size(_deadline: Instant) -> Vec<Entry> {
    let goal = Goal::AtMost {
        max: 250.0,
        unit: "KB",
    };
    let measured = build_app_once().and_then(|()| crate::size::measure(&root().join("dist")));
    let status = match measured {
        Ok(measured) => Status::Measured(measured),
        Err(err) => Status::Failed(err.to_string()),
    };
    vec![Entry::new("size", goal, status)]
}

/// The release app, built once in a run: every metric of the run weighs and
/// loads the same build (a build of the split field bundle takes minutes).
fn build_app_once() -> anyhow::Result<()> {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if BUILT.get().is_none() {
        tools::ensure_build_tools()?;
        crate::tasks::build_app()?;
        let _ = BUILT.set(());
    }
    Ok(())
}

/// One ignored test of `tests/tests/bench_browser.rs` in a release build,
/// against the release app (built first).
fn browser_bench(test: &str) -> anyhow::Result<Command> {
    build_app_once()?;
    let mut c = cmd("cargo");
    c.args([
        "test",
        "--release",
        "--package",
        "doorstep-tests",
        "--test",
        "bench_browser",
        "--",
        "--ignored",
        "--exact",
        "--nocapture",
        test,
    ])
    .env("DOORSTEP_DIST", root().join("dist"));
    Ok(c)
}

/// `load`: cold and repeat loads in throttled Chromium (seconds).
fn load(deadline: Instant) -> Vec<Entry> {
    let figures = [
        (
            "load.cold",
            Goal::AtMost {
                max: 6.0,
                unit: "s",
            },
            "load.cold",
        ),
        (
            "load.repeat",
            Goal::AtMost {
                max: 1.0,
                unit: "s",
            },
            "load.repeat",
        ),
    ];
    match browser_bench("load") {
        Ok(command) => steps(&figures, command, deadline),
        Err(err) => figures
            .iter()
            .map(|(key, goal, _)| Entry::new(key, *goal, Status::Failed(err.to_string())))
            .collect(),
    }
}

/// `resident`: the resident page cold on Slow 3G and a 4x slower CPU: what
/// was transferred (KB) and how long it took (s) until the status line
/// showed real data.
fn resident(deadline: Instant) -> Vec<Entry> {
    let figures = [
        (
            "resident.bytes",
            Goal::AtMost {
                max: 60.0,
                unit: "KB",
            },
            "resident.bytes",
        ),
        (
            "resident.time",
            Goal::AtMost {
                max: 2.5,
                unit: "s",
            },
            "resident.time",
        ),
    ];
    match browser_bench("resident") {
        Ok(command) => steps(&figures, command, deadline),
        Err(err) => figures
            .iter()
            .map(|(key, goal, _)| Entry::new(key, *goal, Status::Failed(err.to_string())))
            .collect(),
    }
}

/// The Lighthouse figures: each page's three category scores, 0-100.
fn lighthouse_figures() -> Vec<(String, Goal)> {
    let mut figures = Vec::new();
    for page in ["home", "resident"] {
        for (category, min) in [
            ("performance", 95.0),
            ("accessibility", 100.0),
            ("best_practices", 100.0),
        ] {
            figures.push((
                format!("lighthouse.{page}.{category}"),
                Goal::AtLeast { min, unit: "score" },
            ));
        }
    }
    figures
}

/// `lighthouse`: npm's lighthouse (installed into tools/) against Debian's
/// Chromium, mobile preset, for `/` and the resident page.
fn lighthouse(deadline: Instant) -> Vec<Entry> {
    let owned = lighthouse_figures();
    let figures: Vec<(&str, Goal, &str)> = owned
        .iter()
        .map(|(key, goal)| (key.as_str(), *goal, key.as_str()))
        .collect();
    let command = tools::ensure_lighthouse().and_then(|program| {
        let mut command = browser_bench("lighthouse")?;
        command
            .env("DOORSTEP_LIGHTHOUSE", program)
            .env("CHROME_PATH", "/usr/bin/chromium");
        Ok(command)
    });
    match command {
        Ok(command) => steps(&figures, command, deadline),
        Err(err) => figures
            .iter()
            .map(|(key, goal, _)| Entry::new(key, *goal, Status::Failed(err.to_string())))
            .collect(),
    }
}

/// `initial`: a compound's first sync into a fresh phone (seconds).
fn initial(deadline: Instant) -> Vec<Entry> {
    one_browser_figure(
        "initial",
        Goal::AtMost {
            max: 10.0,
            unit: "s",
        },
        deadline,
    )
}

/// `edit`: a checklist tap until its draft is stored and painted (p95, ms).
fn edit(deadline: Instant) -> Vec<Entry> {
    one_browser_figure(
        "edit",
        Goal::AtMost {
            max: 16.0,
            unit: "ms",
        },
        deadline,
    )
}

/// `live`: one phone's edit until another shows it, no tap (p95, seconds).
fn live(deadline: Instant) -> Vec<Entry> {
    one_browser_figure(
        "live",
        Goal::AtMost {
            max: 2.0,
            unit: "s",
        },
        deadline,
    )
}

/// A browser benchmark that reports one figure under its own name.
fn one_browser_figure(name: &str, goal: Goal, deadline: Instant) -> Vec<Entry> {
    match browser_bench(name) {
        Ok(command) => vec![step(name, goal, name, command, deadline)],
        Err(err) => vec![Entry::new(name, goal, Status::Failed(err.to_string()))],
    }
}

/// `sync`: the server's ingest rate (release build, through the router) and
/// the phone's pull apply rate (headless Chromium, the shipped WASM profile).
fn sync(deadline: Instant) -> Vec<Entry> {
    let server = {
        let mut c = cmd("cargo");
        c.args([
            "bench",
            "--package",
            "doorstep-server",
            "--bench",
            "sync_ingest",
        ]);
        c
    };
    let client = {
        let mut c = cmd("cargo");
        c.args([
            "test",
            "--profile",
            "wasm-release",
            "--package",
            "doorstep-app",
            "--target",
            "wasm32-unknown-unknown",
            "--test",
            "bench_sync",
            "--",
            "--include-ignored",
            "--nocapture",
        ])
        .env("CHROMEDRIVER", "/usr/bin/chromedriver");
        c
    };
    vec![
        step(
            "sync.server",
            Goal::RatioAtLeast(0.3),
            "sync.server",
            server,
            deadline,
        ),
        step(
            "sync.client",
            Goal::RatioAtLeast(0.5),
            "sync.client",
            client,
            deadline,
        ),
    ]
}

/// `truck`: how long one tap takes to reach 1,000 open resident pages
/// (release build, the real server on loopback), next to the same tap
/// reaching one page. The figure is the p99 latency in milliseconds.
fn truck(deadline: Instant) -> Vec<Entry> {
    let mut fanout = cmd("cargo");
    fanout.args([
        "bench",
        "--package",
        "doorstep-server",
        "--bench",
        "truck_fanout",
    ]);
    vec![step(
        "truck",
        Goal::AtMost {
            max: 500.0,
            unit: "ms",
        },
        "truck",
        fanout,
        deadline,
    )]
}

/// `store`: what one instance carries, for docs/SCALE.md
/// (`server/examples/capacity.rs`, release build): the door-knock ingest
/// rate on SQLite and on PostgreSQL (mutations/s), and how many open SSE
/// pages one tap reaches with a p99 within 500 ms. Capacity figures, with no
/// raw baseline and no goal: the plan in docs/SCALE.md judges them.
fn store(deadline: Instant) -> Vec<Entry> {
    let mut capacity = cmd("cargo");
    capacity.args([
        "run",
        "--release",
        "--package",
        "doorstep-server",
        "--example",
        "capacity",
    ]);
    steps(
        &[
            ("store.sqlite", Goal::Recorded, "store.sqlite"),
            ("store.postgres", Goal::Recorded, "store.postgres"),
            ("store.sse", Goal::Recorded, "store.sse"),
        ],
        capacity,
        deadline,
    )
}

/// `roster`: a dry run of a compound's whole roster (9 sheets, 2,300
/// households, release build) on a fresh SQLite store, in seconds; the raw
/// baseline is calamine reading the sheets alone. Goal: at most 2 s.
fn roster(deadline: Instant) -> Vec<Entry> {
    let mut dry_run = cmd("cargo");
    dry_run.args([
        "bench",
        "--package",
        "doorstep-server",
        "--bench",
        "roster_dry_run",
    ]);
    vec![step(
        "roster",
        Goal::AtMost {
            max: 2.0,
            unit: "s",
        },
        "roster",
        dry_run,
        deadline,
    )]
}

/// `district`: `GET /api/districts/{d}/totals` for a district of 1,000
/// compounds (about 200 records each), in ms, when every compound changed
/// since the last look (each push kept its compound's figures current, so
/// the look reads kept rows), on a real SQLite file and on PostgreSQL
/// (release build); the baseline is the same request when nothing changed,
/// and the details hold what a push pays for it. Goal: at most 1 s on each.
fn district(deadline: Instant) -> Vec<Entry> {
    let mut totals = cmd("cargo");
    totals.args([
        "bench",
        "--package",
        "doorstep-server",
        "--bench",
        "district_totals",
    ]);
    let goal = Goal::AtMost {
        max: 1000.0,
        unit: "ms",
    };
    steps(
        &[
            ("district.sqlite", goal, "district.sqlite"),
            ("district.postgres", goal, "district.postgres"),
        ],
        totals,
        deadline,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(value: f64, baseline: f64) -> Status {
        Status::Measured(Measured {
            unit: "records/s".into(),
            value,
            baseline: Some(baseline),
            paired: None,
            details: json!({"records": 5000}),
        })
    }

    #[test]
    fn every_metric_is_named_once() {
        let names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        assert_eq!(names, NAMES);
    }

    #[test]
    fn finds_result_lines_among_test_runner_noise() {
        let output = "\
running 1 test
Invoking test: pull_apply_rate
doorstep-bench: {\"bench\":\"sync.client\",\"unit\":\"records/s\",\"value\":2000.5,\"baseline\":4000,\"records\":5000}
    doorstep-bench: {\"bench\":\"sync.server\",\"unit\":\"mutations/s\",\"value\":1,\"baseline\":2}
doorstep-bench: not json
doorstep-bench: {\"bench\":\"no.value\",\"unit\":\"x\"}
test pull_apply_rate ... ok";
        let found = parse_results(output);
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            ["sync.client", "sync.server"]
        );
        let client = &found["sync.client"];
        assert_eq!((client.value, client.baseline), (2000.5, Some(4000.0)));
        assert_eq!(client.unit, "records/s");
        assert_eq!(client.details, json!({"records": 5000}));
    }

    #[test]
    fn goals_compare_the_ratio_to_the_raw_baseline() {
        let goal = Goal::RatioAtLeast(0.5);
        let m = |value, baseline| Measured {
            unit: "x".into(),
            value,
            baseline,
            paired: None,
            details: Value::Null,
        };
        assert!(goal.met(&m(50.0, Some(100.0))));
        assert!(!goal.met(&m(49.9, Some(100.0))));
        assert!(!goal.met(&m(10.0, Some(0.0))), "no baseline, no pass");
        assert!(!goal.met(&m(10.0, None)), "no baseline, no pass");
        assert_eq!(goal.describe(), "ratio >= 0.5");
        assert!(Entry::new("a.b", goal, measured(3.0, 4.0)).passed());
        assert!(!Entry::new("a.b", goal, Status::CutShort).passed());
    }

    #[test]
    fn a_paired_ratio_is_judged_by_its_median_and_shown_with_its_spread() {
        // The 189 ms outlier of one raw round would have made "fastest of"
        // read 0.2; paired rounds keep it to one round's ratio.
        let output = "doorstep-bench: {\"bench\":\"sync.server\",\"unit\":\"mutations/s\",\
            \"per_round\":20000,\"rounds_ms\":{\"value\":[1000,1000,950],\
            \"baseline\":[1210,189,1235]},\"mutations\":20000}";
        let server = parse_results(output).remove("sync.server").unwrap();
        assert_eq!(
            server.paired,
            Some(Spread {
                median: 1.21,
                min: 0.189,
                max: 1.3
            })
        );
        assert_eq!(server.value, 20_000.0, "the median round, 1,000 ms");
        assert_eq!(server.baseline, Some(20_000.0 / 1.21));
        assert_eq!(server.details["mutations"], 20_000);
        assert!(server.details.get("per_round").is_none());
        let unpaired = "doorstep-bench: {\"bench\":\"b\",\"unit\":\"x/s\",\"per_round\":1,\
            \"rounds_ms\":{\"value\":[1,2],\"baseline\":[1]}}";
        assert!(parse_results(unpaired).is_empty(), "rounds must pair up");
        assert_eq!(server.ratio(), Some(1.21));
        let entry = Entry::new(
            "sync.server",
            Goal::RatioAtLeast(1.2),
            Status::Measured(server),
        );
        assert!(entry.passed());
        let report = report_json(std::slice::from_ref(&entry));
        assert_eq!(report["sync.server"]["ratio"], 1.21);
        assert_eq!(report["sync.server"]["ratio_spread"], json!([0.189, 1.3]));
        assert!(render_table(&[entry]).contains("1.21 (0.19-1.30)"));
    }

    #[test]
    fn reports_hold_value_and_baseline_under_each_key() {
        let entries = [
            Entry::new(
                "sync.server",
                Goal::RatioAtLeast(0.3),
                measured(1000.0, 4000.0),
            ),
            Entry::new("sync.client", Goal::RatioAtLeast(0.5), Status::CutShort),
        ];
        let report = report_json(&entries);
        assert_eq!(report["sync.server"]["value"], 1000.0);
        assert_eq!(report["sync.server"]["baseline"], 4000.0);
        assert_eq!(report["sync.server"]["ratio"], 0.25);
        assert_eq!(report["sync.server"]["met"], false);
        assert_eq!(report["sync.server"]["details"]["records"], 5000);
        assert_eq!(report["sync.client"]["status"], "cut short");
        assert!(report["sync.client"]["value"].is_null());
        let per_metric = metric_json("sync", &entries);
        assert_eq!(per_metric["server"]["ratio"], 0.25);
        assert_eq!(per_metric["client"]["status"], "cut short");
    }

    #[test]
    fn the_table_shows_figures_and_what_was_cut_short() {
        let table = render_table(&[
            Entry::new(
                "sync.server",
                Goal::RatioAtLeast(0.3),
                measured(12345.6, 20000.0),
            ),
            Entry::new("sync.client", Goal::RatioAtLeast(0.5), Status::NotRun),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("figure"));
        assert!(lines[2].contains("12,346 records/s"), "{table}");
        assert!(lines[2].contains("20,000 records/s"));
        assert!(lines[2].contains("0.62"));
        assert!(lines[2].ends_with("met"));
        assert!(lines[3].contains("NOT RUN (budget spent)"));
        // Columns line up.
        assert_eq!(lines[0].find("ours"), lines[2].find("12,346"));
    }

    /// A line as `server/benches/truck_fanout.rs` prints it (shortened).
    const TRUCK_LINE: &str = "doorstep-bench: {\"baseline\":7.98,\"baseline_pages\":1,\
        \"bench\":\"truck\",\"from_accepted_ms\":{\"max\":46.6,\"min\":-8.97,\"p50\":7.59,\
        \"p99\":33.59},\"from_sent_ms\":{\"max\":50.44,\"min\":1.13,\"p50\":12.21,\"p99\":41.71},\
        \"pages\":1000,\"summary\":\"1000 pages x 30 taps: from sent p50 12.21 ms, p99 41.71 ms, \
        max 50.44 ms\",\"taps\":30,\"unit\":\"ms\",\"value\":41.71}";

    fn truck_goal() -> Goal {
        Goal::AtMost {
            max: 500.0,
            unit: "ms",
        }
    }

    #[test]
    fn the_truck_line_keeps_its_percentiles_in_details() {
        let output = format!("open-file limit: 1024, raised to 2258\n{TRUCK_LINE}\n");
        let found = parse_results(&output);
        let truck = &found["truck"];
        assert_eq!(truck.unit, "ms");
        assert_eq!((truck.value, truck.baseline), (41.71, Some(7.98)));
        assert_eq!(truck.details["from_sent_ms"]["p50"], 12.21);
        assert_eq!(truck.details["from_sent_ms"]["max"], 50.44);
        assert_eq!(truck.details["from_accepted_ms"]["min"], -8.97);
        assert_eq!(truck.details["pages"], 1000);
        assert!(truck.details.get("value").is_none());
    }

    #[test]
    fn a_latency_goal_is_an_upper_bound_on_the_value_alone() {
        let goal = truck_goal();
        let m = |value, baseline| Measured {
            unit: "ms".into(),
            value,
            baseline,
            paired: None,
            details: Value::Null,
        };
        assert!(goal.met(&m(41.7, Some(8.0))));
        assert!(goal.met(&m(500.0, Some(8.0))));
        assert!(!goal.met(&m(500.1, Some(8.0))));
        assert!(goal.met(&m(41.7, None)), "the baseline is only for scale");
        assert_eq!(goal.describe(), "<= 500 ms");
    }

    #[test]
    fn truck_is_reported_under_its_own_name() {
        let truck = parse_results(TRUCK_LINE).remove("truck").unwrap();
        let entries = [
            Entry::new(
                "sync.server",
                Goal::RatioAtLeast(0.3),
                measured(1000.0, 4000.0),
            ),
            Entry::new("truck", truck_goal(), Status::Measured(truck)),
        ];
        let report = report_json(&entries);
        assert_eq!(report["truck"]["value"], 41.7);
        assert_eq!(report["truck"]["baseline"], 8.0);
        assert_eq!(report["truck"]["unit"], "ms");
        assert_eq!(report["truck"]["goal"], "<= 500 ms");
        assert_eq!(report["truck"]["met"], true);
        assert_eq!(report["truck"]["details"]["from_sent_ms"]["p99"], 41.71);
        let per_metric = metric_json("truck", &entries[1..]);
        assert_eq!(
            per_metric.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["truck"]
        );
        assert_eq!(per_metric["truck"]["details"]["from_sent_ms"]["max"], 50.44);
        let cut = metric_json(
            "truck",
            &[Entry::new("truck", truck_goal(), Status::CutShort)],
        );
        assert!(cut["truck"]["value"].is_null());
        assert_eq!(cut["truck"]["status"], "cut short");
    }

    #[test]
    fn the_table_shows_milliseconds_and_the_summary_follows() {
        let truck = parse_results(TRUCK_LINE).remove("truck").unwrap();
        let entries = [
            Entry::new("truck", truck_goal(), Status::Measured(truck)),
            Entry::new("sync.server", Goal::RatioAtLeast(0.3), Status::NotRun),
        ];
        let table = render_table(&entries);
        let row = table.lines().nth(2).unwrap();
        for cell in ["truck", "41.7 ms", "8.0 ms", "5.23", "<= 500 ms", "met"] {
            assert!(row.contains(cell), "{cell:?} in {table}");
        }
        assert_eq!(
            summaries(&entries),
            ["truck: 1000 pages x 30 taps: from sent p50 12.21 ms, p99 41.71 ms, max 50.44 ms"]
        );
        let slow = Entry::new("truck", truck_goal(), measured(612.0, 9.0));
        assert!(render_table(&[slow]).ends_with("BELOW GOAL"));
    }

    #[test]
    fn amounts_keep_a_decimal_below_100() {
        for (x, text) in [
            (0.0, "0.0"),
            (7.98, "8.0"),
            (41.71, "41.7"),
            (-8.97, "-9.0"),
            (99.94, "99.9"),
            (100.0, "100"),
            (18280.4, "18,280"),
        ] {
            assert_eq!(amount(x), text);
        }
    }

    #[test]
    fn only_browser_metrics_install_the_browser() {
        let needs = |name: &str| {
            METRICS
                .iter()
                .find(|m| m.name == name)
                .unwrap()
                .needs_browser
        };
        assert!(needs("sync"));
        assert!(!needs("truck"));
        assert!(!needs("store"));
        let postgres: Vec<&str> = METRICS
            .iter()
            .filter(|m| m.needs_postgres)
            .map(|m| m.name)
            .collect();
        assert_eq!(postgres, ["store", "district"]);
    }

    #[test]
    fn a_score_goal_is_a_lower_bound() {
        let goal = Goal::AtLeast {
            min: 95.0,
            unit: "score",
        };
        let score = |value: f64| Measured {
            unit: "score".into(),
            value,
            baseline: None,
            paired: None,
            details: Value::Null,
        };
        assert!(goal.met(&score(95.0)) && goal.met(&score(100.0)));
        assert!(!goal.met(&score(94.0)));
        assert_eq!(goal.describe(), ">= 95 score");
        let keys: Vec<String> = lighthouse_figures().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 6);
        assert!(keys.contains(&"lighthouse.resident.best_practices".to_owned()));
    }

    #[test]
    fn a_partial_run_updates_the_report_and_keeps_the_rest() {
        let previous = json!({"size": {"value": 535.0}, "resident.time": {"value": 9.0}});
        let goal = Goal::AtMost {
            max: 2.5,
            unit: "s",
        };
        let report = merged_report(
            Some(previous),
            &[Entry::new("resident.time", goal, measured(1.2, 0.3))],
        );
        assert_eq!(report["size"]["value"], 535.0);
        assert_eq!(report["resident.time"]["value"], 1.2);
        let fresh = merged_report(
            None,
            &[Entry::new("resident.time", goal, measured(1.2, 0.3))],
        );
        assert_eq!(fresh.as_object().unwrap().len(), 1);
    }

    #[test]
    fn a_busy_machine_is_called_out() {
        assert_eq!(
            load_note("0.20 0.30 0.40 1/200 999\n", 2),
            "load average at start: 0.20 on 2 cores"
        );
        assert!(load_note("3.10 2.00 1.00 1/200 999", 2).ends_with("expect noisy figures"));
    }

    #[test]
    fn thousands_are_grouped() {
        for (x, text) in [
            (0.0, "0"),
            (999.4, "999"),
            (1000.0, "1,000"),
            (1234567.8, "1,234,568"),
            (-4200.0, "-4,200"),
        ] {
            assert_eq!(thousands(x), text);
        }
    }

    #[test]
    fn a_step_past_its_deadline_is_cut_short_and_killed() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild.pid");
        let mut sleeper = Command::new("sh");
        sleeper.arg("-c").arg(format!(
            "echo 'doorstep-bench: first'; sleep 30 & echo $! > {}; sleep 30",
            pid_file.display()
        ));
        let end = run_until(&mut sleeper, Instant::now() + Duration::from_secs(2)).unwrap();
        match &end {
            // What it printed before the cut is kept.
            StepEnd::CutShort { stdout } => assert_eq!(stdout, "doorstep-bench: first"),
            other => panic!("{other:?}"),
        }
        // The background sleep went with its process group: gone, or a zombie.
        // SIGKILL lands when the process next runs, so give it a moment.
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let alive = || {
            std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|stat| {
                let state = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
                !state.starts_with('Z')
            })
        };
        for _ in 0..100 {
            if !alive() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let alive = alive();
        if alive {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        assert!(!alive, "the grandchild {} outlived the cut", pid.trim());

        let mut quick = Command::new("sh");
        quick.args(["-c", "echo 'doorstep-bench: {}'"]);
        match run_until(&mut quick, Instant::now() + Duration::from_secs(30)).unwrap() {
            StepEnd::Exited { success, stdout } => {
                assert!(success);
                assert_eq!(stdout, "doorstep-bench: {}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Lines as `server/examples/capacity.rs` prints them (shortened).
    const STORE_SQLITE: &str = "doorstep-bench: {\"baseline\":null,\"bench\":\"store.sqlite\",\
        \"polls_per_s\":4300.0,\"requests_per_s\":957.0,\"rounds\":3,\"shapes\":{\"door_knock\":\
        {\"mutations_per_s\":4780.0,\"phones\":16},\"one_phone\":{\"mutations_per_s\":8480.0}},\
        \"summary\":\"16 phones in 16 compounds 4780 mutations/s (957 requests/s); 1 phone, \
        100-mutation pushes 8480; 16 phones in 1 compound 3030; polls 4300/s\",\
        \"unit\":\"mutations/s\",\"value\":4780.0}";
    const STORE_POSTGRES: &str = "doorstep-bench: {\"baseline\":null,\"bench\":\"store.postgres\",\
        \"unit\":\"mutations/s\",\"value\":2690.0}";
    const STORE_SSE: &str = "doorstep-bench: {\"baseline\":null,\"bench\":\"store.sse\",\
        \"bound_ms\":500.0,\"first_over\":8000,\"ladder\":[1000,2000,4000,8000],\"steps\":\
        [{\"pages\":1000,\"p99_ms\":68.1,\"within_bound\":true}],\"summary\":\"4000 pages within \
        500 ms (8000 missed it); p99/every page: 1000 pages 68/69 ms\",\"taps\":3,\
        \"unit\":\"pages\",\"value\":4000}";

    fn store_figures() -> [(&'static str, Goal, &'static str); 3] {
        [
            ("store.sqlite", Goal::Recorded, "store.sqlite"),
            ("store.postgres", Goal::Recorded, "store.postgres"),
            ("store.sse", Goal::Recorded, "store.sse"),
        ]
    }

    #[test]
    fn a_null_baseline_is_a_figure_without_a_raw_floor() {
        let output = format!(
            "## sqlite: ingest\n{STORE_SQLITE}\n{STORE_POSTGRES}\n{STORE_SSE}\n\
             doorstep-bench: {{\"bench\":\"no.baseline\",\"unit\":\"x\",\"value\":1}}\n\
             doorstep-bench: {{\"bench\":\"bad.baseline\",\"unit\":\"x\",\"value\":1,\"baseline\":\"2\"}}"
        );
        let found = parse_results(&output);
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            ["store.postgres", "store.sqlite", "store.sse"],
            "a missing or non-numeric baseline drops the line"
        );
        let sqlite = &found["store.sqlite"];
        assert_eq!((sqlite.value, sqlite.baseline), (4780.0, None));
        assert_eq!(sqlite.unit, "mutations/s");
        assert_eq!(
            sqlite.details["shapes"]["one_phone"]["mutations_per_s"],
            8480.0
        );
        assert_eq!(sqlite.details["polls_per_s"], 4300.0);
        let sse = &found["store.sse"];
        assert_eq!(
            (sse.value, sse.baseline, sse.unit.as_str()),
            (4000.0, None, "pages")
        );
        assert_eq!(sse.details["first_over"], 8000);
        assert_eq!(sse.details["steps"][0]["p99_ms"], 68.1);
    }

    #[test]
    fn a_recorded_figure_has_no_goal_ratio_or_baseline() {
        let goal = Goal::Recorded;
        assert!(!goal.judged());
        assert!(Goal::RatioAtLeast(0.3).judged() && truck_goal().judged());
        let nothing = Measured {
            unit: "x".into(),
            value: 0.0,
            baseline: None,
            paired: None,
            details: Value::Null,
        };
        assert!(goal.met(&nothing), "nothing to miss");
        assert_eq!(goal.describe(), "none (recorded)");
        let mut found = parse_results(&format!("{STORE_SQLITE}\n{STORE_SSE}"));
        let entries = [
            Entry::new(
                "store.sqlite",
                goal,
                Status::Measured(found.remove("store.sqlite").unwrap()),
            ),
            Entry::new("store.postgres", goal, Status::CutShort),
            Entry::new(
                "store.sse",
                goal,
                Status::Measured(found.remove("store.sse").unwrap()),
            ),
        ];
        let report = report_json(&entries);
        assert_eq!(report["store.sqlite"]["value"], 4780.0);
        assert!(report["store.sqlite"]["baseline"].is_null());
        assert!(report["store.sqlite"]["ratio"].is_null());
        assert!(report["store.sqlite"]["met"].is_null());
        assert_eq!(report["store.sqlite"]["goal"], "none (recorded)");
        assert_eq!(report["store.sqlite"]["status"], "measured");
        assert_eq!(report["store.sqlite"]["details"]["requests_per_s"], 957.0);
        assert!(report["store.postgres"]["met"].is_null());
        assert_eq!(report["store.postgres"]["status"], "cut short");
        assert_eq!(report["store.sse"]["unit"], "pages");
        let per_metric = metric_json("store", &entries);
        assert_eq!(
            per_metric.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["postgres", "sqlite", "sse"]
        );
        assert_eq!(per_metric["sse"]["value"], 4000.0);
        // A judged figure still says whether it met its goal.
        let judged = report_json(&[Entry::new(
            "sync.server",
            Goal::RatioAtLeast(0.3),
            Status::NotRun,
        )]);
        assert_eq!(judged["sync.server"]["met"], false);

        let table = render_table(&entries);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        for cell in [
            "store.sqlite",
            "4,780 mutations/s",
            "none (recorded)",
            "recorded",
        ] {
            assert!(lines[2].contains(cell), "{cell:?} in {table}");
        }
        // No baseline, no ratio: dashes under both.
        let dashes = lines[2]
            .split("  ")
            .filter(|cell| cell.trim() == "-")
            .count();
        assert_eq!(dashes, 2, "{table}");
        assert!(lines[3].ends_with("CUT SHORT"));
        assert!(lines[4].contains("4,000 pages"), "{table}");
        assert_eq!(
            summaries(&entries),
            [
                "store.sqlite: 16 phones in 16 compounds 4780 mutations/s (957 requests/s); \
                 1 phone, 100-mutation pushes 8480; 16 phones in 1 compound 3030; polls 4300/s",
                "store.sse: 4000 pages within 500 ms (8000 missed it); p99/every page: 1000 \
                 pages 68/69 ms",
            ]
        );
    }

    #[test]
    fn one_step_yields_several_figures() {
        let figures = store_figures();
        let statuses = |end| {
            judge_step(&figures, end)
                .into_iter()
                .map(|e| (e.key, e.status))
                .collect::<Vec<_>>()
        };
        let all = format!("{STORE_SQLITE}\n{STORE_POSTGRES}\n{STORE_SSE}");
        let done = statuses(Some(Ok(StepEnd::Exited {
            success: true,
            stdout: all.clone(),
        })));
        assert_eq!(
            done.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["store.sqlite", "store.postgres", "store.sse"]
        );
        assert!(done.iter().all(|(_, s)| matches!(s, Status::Measured(_))));

        // Cut short after the backends: those two count, the SSE figure not.
        let cut = statuses(Some(Ok(StepEnd::CutShort {
            stdout: format!("{STORE_SQLITE}\nnoise\n{STORE_POSTGRES}\n   800 pages: ..."),
        })));
        assert!(matches!(cut[0].1, Status::Measured(_)));
        assert!(matches!(cut[1].1, Status::Measured(_)));
        assert_eq!(cut[2].1, Status::CutShort);

        // A failed run keeps nothing, even what it printed.
        let failed = statuses(Some(Ok(StepEnd::Exited {
            success: false,
            stdout: STORE_SQLITE.to_owned(),
        })));
        assert_eq!(
            failed[0].1,
            Status::Failed("the benchmark exited with an error".into())
        );
        assert_eq!(
            failed[2].1,
            Status::Failed("the benchmark failed (see its output above)".into())
        );

        // Exited cleanly but one line is missing.
        let missing = statuses(Some(Ok(StepEnd::Exited {
            success: true,
            stdout: STORE_SQLITE.to_owned(),
        })));
        assert_eq!(
            missing[1].1,
            Status::Failed("no doorstep-bench: store.postgres line in its output".into())
        );

        let never = statuses(None);
        assert!(never.iter().all(|(_, s)| *s == Status::NotRun));
        let unstartable = statuses(Some(Err(anyhow::anyhow!("no cargo"))));
        assert!(
            unstartable
                .iter()
                .all(|(_, s)| *s == Status::Failed("no cargo".into()))
        );
    }

    #[test]
    fn a_step_with_no_time_left_does_not_start() {
        let entry = step(
            "x.y",
            Goal::RatioAtLeast(1.0),
            "x.y",
            Command::new("false"),
            Instant::now(),
        );
        assert_eq!(entry.status, Status::NotRun);
        let entries = steps(&store_figures(), Command::new("false"), Instant::now());
        assert!(entries.iter().all(|e| e.status == Status::NotRun));
    }
}
