//! `cargo xtask bench peer`: Doorstep beside the sync stack of the
//! Community Health Toolkit (PouchDB 9 in Chromium ↔ pouchdb-server), on the
//! same generated workload, in one run on this machine.
//!
//! The PouchDB harness (`shared/peer`, or `DOORSTEP_PEER_HARNESS`) is copied
//! into `target/peer/`, installed with `npm ci` and run with `node bench.js`
//! (`RUNS` from `DOORSTEP_PEER_RUNS`, default 3; Debian's Chromium). Its
//! generator's output (`gen.js`, `--edits`, `--stats`) goes to
//! `target/peer/workload/`; the workload's sha256 must match the one the
//! harness measured. Then the ignored test `peer` of
//! `tests/tests/bench_browser.rs` runs Doorstep on those files (release
//! build). Each figure is the median of Doorstep's runs beside the median of
//! PouchDB's; the ratio is Doorstep ÷ PouchDB. `target/bench/peer.md` has
//! the table as BENCH.md shows it.

use std::{fs, path::PathBuf};

use super::*;

/// Where the harness is, when not at `../shared/peer` beside the checkout.
const HARNESS_ENV: &str = "DOORSTEP_PEER_HARNESS";
const RUNS_ENV: &str = "DOORSTEP_PEER_RUNS";
const DEFAULT_RUNS: u32 = 3;

/// One row of the table: where each side's figure is in its results.
struct Figure {
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    goal: Goal,
    /// JSON pointer into one of Doorstep's runs.
    ours: &'static str,
    /// JSON pointer to a `{median, min, max}` in `results/pouchdb.json`.
    theirs: &'static str,
}

const FIGURES: &[Figure] = &[
    Figure {
        key: "peer.pull_cpu1x",
        label: "initial pull, docs/s",
        unit: "docs/s",
        goal: Goal::RatioAtLeast(4.0),
        ours: "/pull_cpu1x/docs_per_s",
        theirs: "/metrics/initial_replication_cpu1x/docs_per_s",
    },
    Figure {
        key: "peer.pull_cpu4x",
        label: "same with 4× CPU slowdown",
        unit: "docs/s",
        goal: Goal::RatioAtLeast(3.5),
        ours: "/pull_cpu4x/docs_per_s",
        theirs: "/metrics/initial_replication_cpu4x/docs_per_s",
    },
    Figure {
        key: "peer.pull_wire_down",
        label: "pull, bytes down the wire",
        unit: "bytes",
        goal: Goal::RatioAtMost(0.25),
        ours: "/pull_cpu1x/wire_down",
        theirs: "/metrics/initial_replication_cpu1x/wire_bytes_down",
    },
    Figure {
        key: "peer.pull_decoded",
        label: "pull, decoded response bodies",
        unit: "bytes",
        goal: Goal::RatioAtMost(1.0),
        ours: "/pull_cpu1x/decoded_body",
        theirs: "/metrics/initial_replication_cpu1x/decoded_response_body_bytes",
    },
    Figure {
        key: "peer.push_wire",
        label: "60 edits pushed: bytes on the wire",
        unit: "bytes",
        goal: Goal::RatioAtMost(0.25),
        ours: "/push/wire",
        theirs: "/metrics/incremental_push/wire_bytes",
    },
    Figure {
        key: "peer.push_requests",
        label: "60 edits pushed: requests",
        unit: "requests",
        goal: Goal::AtMost {
            max: 1.0,
            unit: "requests",
        },
        ours: "/push/requests",
        theirs: "/metrics/incremental_push/requests",
    },
    Figure {
        key: "peer.ingest",
        label: "server ingest, docs/s (100 per request)",
        unit: "docs/s",
        goal: Goal::RatioAtLeast(1.5),
        ours: "/ingest/docs_per_s",
        theirs: "/metrics/server_ingest/docs_per_s",
    },
];

/// Every figure with the same status (the run failed, or never got there).
fn all(status: Status) -> Vec<Entry> {
    FIGURES
        .iter()
        .map(|f| Entry::new(f.key, f.goal, status.clone()))
        .collect()
}

pub fn peer(deadline: Instant) -> Vec<Entry> {
    match measure(deadline) {
        Ok(entries) => entries,
        Err(status) => all(status),
    }
}

fn failed(err: impl std::fmt::Display) -> Status {
    Status::Failed(err.to_string())
}

/// Runs a step to its end within the deadline and returns what it printed.
fn finish(mut command: Command, deadline: Instant, what: &str) -> Result<String, Status> {
    if Instant::now() >= deadline {
        return Err(Status::NotRun);
    }
    match run_until(&mut command, deadline).map_err(|e| failed(format!("{what}: {e:#}")))? {
        StepEnd::Exited {
            success: true,
            stdout,
        } => Ok(stdout),
        StepEnd::Exited { .. } => Err(failed(format!("{what} failed (see its output above)"))),
        StepEnd::CutShort { .. } => Err(Status::CutShort),
    }
}

fn harness_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os(HARNESS_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/peer"));
    if !dir.join("bench.js").is_file() {
        bail!(
            "no PouchDB harness at {} (set {HARNESS_ENV} to the shared/peer folder)",
            dir.display()
        );
    }
    Ok(dir)
}

/// Copies the harness's own files (not an install or results of its own).
fn copy_harness(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "node_modules" || name == "results" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_harness(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// `node gen.js ARGS > file` in the harness.
fn generate(dir: &Path, args: &[&str], file: &Path) -> anyhow::Result<()> {
    let out = fs::File::create(file).with_context(|| format!("creating {}", file.display()))?;
    let status = cmd("node")
        .arg("gen.js")
        .args(args)
        .current_dir(dir)
        .stdout(out)
        .status()
        .context("running node gen.js")?;
    if !status.success() {
        bail!("node gen.js {} failed", args.join(" "));
    }
    Ok(())
}

fn measure(deadline: Instant) -> Result<Vec<Entry>, Status> {
    let runs: u32 = std::env::var(RUNS_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_RUNS);
    let work = root().join("target/peer");
    let workload = work.join("workload");
    let prepare = || -> anyhow::Result<Value> {
        copy_harness(&harness_dir()?, &work)?;
        fs::create_dir_all(&workload)?;
        generate(&work, &["--stats"], &workload.join("stats.json"))?;
        generate(&work, &[], &workload.join("docs.jsonl"))?;
        generate(&work, &["--edits"], &workload.join("edits.jsonl"))?;
        Ok(serde_json::from_str(&fs::read_to_string(
            workload.join("stats.json"),
        )?)?)
    };
    let stats = prepare().map_err(|e| failed(format!("{e:#}")))?;

    let mut install = cmd("npm");
    install.arg("ci").current_dir(&work);
    finish(install, deadline, "npm ci")?;
    let results = work.join("results/pouchdb.json");
    let _ = fs::remove_file(&results);
    let mut pouch = cmd("node");
    pouch
        .arg("bench.js")
        .current_dir(&work)
        .env("RUNS", runs.to_string())
        .env("CHROMIUM", "/usr/bin/chromium");
    finish(pouch, deadline, "node bench.js")?;
    let theirs: Value = fs::read_to_string(&results)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| failed(format!("no results in {}", results.display())))?;
    same_workload(&stats, &theirs["workload"]).map_err(failed)?;

    let mut doorstep = browser_bench("peer").map_err(|e| failed(format!("{e:#}")))?;
    doorstep
        .env("DOORSTEP_PEER_DIR", &workload)
        .env(RUNS_ENV, runs.to_string());
    let stdout = finish(doorstep, deadline, "the Doorstep side")?;
    let ours = parse_results(&stdout)
        .remove("peer.doorstep")
        .ok_or_else(|| failed("no doorstep-bench: peer.doorstep line in its output"))?;
    same_workload(&stats, &ours.details["workload"]).map_err(failed)?;
    let entries = judge(&ours.details, &theirs);
    let table = markdown(&entries, &theirs);
    let path = root().join("target/bench/peer.md");
    let _ = fs::create_dir_all(root().join("target/bench"));
    fs::write(&path, &table).map_err(|e| failed(format!("{}: {e}", path.display())))?;
    eprintln!("\n{table}");
    Ok(entries)
}

/// Both sides ran on the bytes `gen.js --stats` describes.
fn same_workload(stats: &Value, used: &Value) -> Result<(), String> {
    for key in ["jsonl_sha256", "edits_jsonl_sha256", "docs"] {
        if stats.get(key).is_none() || stats.get(key) != used.get(key) {
            return Err(format!(
                "the workload's {key} differs: gen.js --stats says {}, the run used {}",
                stats.get(key).unwrap_or(&Value::Null),
                used.get(key).unwrap_or(&Value::Null)
            ));
        }
    }
    Ok(())
}

/// Each figure: Doorstep's median over its runs beside PouchDB's median.
fn judge(ours: &Value, theirs: &Value) -> Vec<Entry> {
    let runs = ours["runs"].as_array().cloned().unwrap_or_default();
    FIGURES
        .iter()
        .map(|f| {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|run| run.pointer(f.ours).and_then(Value::as_f64))
                .collect();
            let ours = (values.len() == runs.len())
                .then(|| Spread::of(&values))
                .flatten();
            let theirs = theirs.pointer(f.theirs).and_then(Spread::parse);
            let status = match (ours, theirs) {
                (Some(ours), Some(theirs)) => Status::Measured(Measured {
                    unit: f.unit.to_owned(),
                    value: ours.median,
                    baseline: Some(theirs.median),
                    paired: None,
                    details: json!({
                        "doorstep": {"runs": values, "spread": ours.to_json()},
                        "pouchdb": theirs.to_json(),
                        "baseline_is": "PouchDB 9 <-> pouchdb-server (shared/peer), same run",
                        "summary": format!(
                            "{}: Doorstep {} ({}-{}), PouchDB {} ({}-{}) {}",
                            f.label, amount(ours.median), amount(ours.min), amount(ours.max),
                            amount(theirs.median), amount(theirs.min), amount(theirs.max), f.unit
                        ),
                    }),
                }),
                (None, _) => {
                    // A step that gave up says why (e.g. `/push/error`).
                    let section = f.ours.rsplit_once('/').map_or("", |(s, _)| s);
                    let why = runs
                        .iter()
                        .find_map(|run| run.pointer(&format!("{section}/error"))?.as_str())
                        .map_or(String::new(), |why| format!(": {why}"));
                    failed(format!("no {} in every Doorstep run{why}", f.ours))
                }
                (_, None) => failed(format!("no {} in pouchdb.json", f.theirs)),
            };
            Entry::new(f.key, f.goal, status)
        })
        .collect()
}

/// The table: PouchDB, Doorstep, the ratio and the goal per row.
fn markdown(entries: &[Entry], theirs: &Value) -> String {
    let mut out =
        "| | PouchDB | Doorstep | Doorstep ÷ PouchDB | goal | |\n|---|---:|---:|---:|---:|---|\n"
            .to_owned();
    for (f, e) in FIGURES.iter().zip(entries) {
        let row = match &e.status {
            Status::Measured(m) => format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                f.label,
                amount(m.baseline.unwrap_or(0.0)),
                amount(m.value),
                m.ratio_text(),
                e.goal.describe(),
                if e.passed() { "met" } else { "BELOW GOAL" }
            ),
            _ => format!(
                "| {} | | | | {} | not measured |\n",
                f.label,
                e.goal.describe()
            ),
        };
        out.push_str(&row);
    }
    out.push_str(&format!(
        "\nMedians of {} runs of each system, one after the other (PouchDB: {}).\n",
        theirs["runs"],
        theirs["stack"].as_str().unwrap_or("PouchDB")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pouch() -> Value {
        let s = |m: f64| json!({"median": m, "min": m * 0.9, "max": m * 1.1});
        json!({"runs": 3, "stack": "PouchDB 9.0.0", "metrics": {
            "initial_replication_cpu1x": {"docs_per_s": s(1589.0), "wire_bytes_down": s(932478.0),
                "decoded_response_body_bytes": s(4.6e6)},
            "initial_replication_cpu4x": {"docs_per_s": s(675.0)},
            "incremental_push": {"wire_bytes": s(33187.0), "requests": s(3.0)},
            "server_ingest": {"docs_per_s": s(8533.0)},
        }})
    }

    fn run(pull: f64) -> Value {
        json!({"ingest": {"docs_per_s": 16000.0},
               "pull_cpu1x": {"docs_per_s": pull, "wire_down": 200000.0, "decoded_body": 4.0e6},
               "pull_cpu4x": {"docs_per_s": 2000.0},
               "push": {"wire": 9000.0, "requests": 1}})
    }

    #[test]
    fn each_figure_is_our_median_over_theirs_judged_by_its_goal() {
        let ours = json!({"runs": [run(7000.0), run(6000.0), run(9000.0)]});
        let entries = judge(&ours, &pouch());
        assert_eq!(entries.len(), FIGURES.len());
        let by = |key: &str| entries.iter().find(|e| e.key == key).unwrap();
        let pull = by("peer.pull_cpu1x");
        let Status::Measured(m) = &pull.status else {
            panic!("{pull:?}")
        };
        assert_eq!((m.value, m.baseline), (7000.0, Some(1589.0)));
        assert_eq!(m.details["doorstep"]["spread"]["min"], 6000.0);
        assert!(pull.passed(), "7000 / 1589 = 4.4 >= 4");
        // Bytes: lower is better.
        assert!(by("peer.pull_wire_down").passed(), "0.21 <= 0.25");
        assert!(by("peer.pull_decoded").passed());
        assert!(!by("peer.pull_cpu4x").passed(), "2000 / 675 = 2.96 < 3.5");
        assert!(by("peer.push_requests").passed());
        let table = markdown(&entries, &pouch());
        assert!(
            table.contains("| initial pull, docs/s | 1,589 | 7,000 | 4.41 | ratio >= 4 | met |"),
            "{table}"
        );
        assert!(table.contains("BELOW GOAL"));

        // A run without a figure fails that figure, not the others.
        let mut broken = run(7000.0);
        broken["push"] = json!({"error": "too slow"});
        let entries = judge(&json!({"runs": [broken, run(1.0)]}), &pouch());
        assert_eq!(
            entries[4].status,
            Status::Failed("no /push/wire in every Doorstep run: too slow".into())
        );
        assert!(matches!(entries[0].status, Status::Measured(_)));
    }

    #[test]
    fn a_different_workload_is_refused() {
        let stats = json!({"docs": 10000, "jsonl_sha256": "aa", "edits_jsonl_sha256": "bb"});
        assert!(same_workload(&stats, &stats.clone()).is_ok());
        let other = json!({"docs": 10000, "jsonl_sha256": "ab", "edits_jsonl_sha256": "bb"});
        assert!(
            same_workload(&stats, &other)
                .unwrap_err()
                .contains("jsonl_sha256")
        );
        assert!(same_workload(&stats, &Value::Null).is_err());
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let s = Spread::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert!(Spread::of(&[]).is_none());
    }
}
