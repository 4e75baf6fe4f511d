//! The documented commands, `run`, `test` and `soak`, as sequences of steps.

use std::{
    io::{BufRead, BufReader},
    path::Path,
};

use anyhow::{Context, bail};

use crate::{
    shell::{cmd, root, run as run_step},
    tools,
};

/// `cargo xtask run`: build the app for release and serve it.
pub fn run(addr: Option<String>) -> anyhow::Result<()> {
    tools::ensure_build_tools()?;
    build_app()?;
    run_step(cmd("cargo").args(["build", "--release", "--package", "doorstep-server"]))?;
    let mut server = cmd(root()
        .join("target/release/doorstep-server")
        .to_str()
        .unwrap_or_default());
    server.arg("--dist").arg(root().join("dist"));
    if let Some(addr) = addr {
        server.args(["--addr", &addr]);
    }
    // Become the server, so Ctrl-C reaches it directly and it shuts down cleanly.
    let err = std::os::unix::process::CommandExt::exec(&mut server);
    bail!("could not start the server: {err}")
}

/// `cargo xtask test`: every suite, each run even if an earlier one failed.
pub fn test() -> anyhow::Result<()> {
    tools::ensure_build_tools()?;
    tools::ensure_lint_tools()?;
    tools::ensure_browser()?;
    tools::ensure_postgres()?;
    build_app()?;
    let dist = root().join("dist");
    let suites: [(&str, std::process::Command); 7] = [
        ("format (rustfmt --check)", {
            let mut c = cmd("cargo");
            c.args(["fmt", "--all", "--check"]);
            c
        }),
        ("lint (clippy, warnings denied)", {
            let mut c = cmd("cargo");
            c.args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "--deny",
                "warnings",
            ]);
            c
        }),
        ("native (core, app logic, server, xtask)", {
            let mut c = cmd("cargo");
            c.args(["test", "--workspace", "--exclude", "doorstep-tests"]);
            c
        }),
        (
            "server on PostgreSQL (the same suite, shared-database backend)",
            {
                let mut c = cmd("cargo");
                c.args(["test", "--package", "doorstep-server"])
                    .env("DOORSTEP_TEST_BACKEND", "postgres")
                    .env("DOORSTEP_SIM_HISTORIES", "100");
                c
            },
        ),
        ("serverless handler (feature lambda)", {
            let mut c = cmd("cargo");
            c.args([
                "test",
                "--package",
                "doorstep-server",
                "--features",
                "lambda",
                "--test",
                "lambda",
            ]);
            c
        }),
        ("app in headless Chromium (wasm-bindgen-test)", {
            let mut c = cmd("cargo");
            c.args([
                "test",
                "--package",
                "doorstep-app",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .env("CHROMEDRIVER", "/usr/bin/chromedriver");
            c
        }),
        ("end to end (fantoccini + Chromium)", {
            let mut c = cmd("cargo");
            c.args(["test", "--package", "doorstep-tests"])
                .env("DOORSTEP_DIST", &dist);
            c
        }),
    ];
    let mut failed = Vec::new();
    for (name, mut command) in suites {
        eprintln!("\n=== {name} ===");
        if let Err(err) = run_step(&mut command) {
            eprintln!("{err}");
            failed.push(name);
        }
    }
    let name = "API against an outside client (schemathesis, api-check)";
    eprintln!("\n=== {name} ===");
    if let Err(err) = crate::api_check::api_check() {
        eprintln!("{err:#}");
        failed.push(name);
    }
    if failed.is_empty() {
        eprintln!("\nall test suites passed");
        Ok(())
    } else {
        bail!("failed suites: {}", failed.join("; "))
    }
}

/// `cargo xtask soak`: the randomized sync simulation with `histories`
/// seeds. Release build, because the default 500 of `cargo test` are meant
/// to stay quick and a soak is meant to find the rare history. Then the
/// crash test (200 kills) and the load test (1,000 volunteers, 5,000
/// resident pages, 60 s) at their large sizes. Last, `fuzz_minutes` of
/// libFuzzer on the sync request decoder (fuzz/; 0 skips it).
pub fn soak(histories: u64, fuzz_minutes: u64) -> anyhow::Result<()> {
    let histories = histories.to_string();
    // The sync simulation, then the crash test (the server SIGKILLed 200
    // times mid-push), then load: 1,000 volunteers syncing every 5 s while
    // 5,000 resident pages stream, for 60 s (prints `doorstep-load:`).
    let runs: [(&str, &[(&str, &str)]); 3] = [
        ("simulation", &[("DOORSTEP_SIM_HISTORIES", &histories)]),
        ("crash", &[("DOORSTEP_CRASH_KILLS", "200")]),
        (
            "load",
            &[
                ("DOORSTEP_LOAD_VOLUNTEERS", "1000"),
                ("DOORSTEP_LOAD_SUBSCRIBERS", "5000"),
                ("DOORSTEP_LOAD_SECONDS", "60"),
            ],
        ),
    ];
    for (test, env) in runs {
        let mut command = cmd("cargo");
        command.args([
            "test",
            "--release",
            "--package",
            "doorstep-server",
            "--test",
            test,
            "--",
            "--nocapture",
        ]);
        command.envs(env.iter().copied());
        run_step(&mut command)?;
    }
    fuzz(fuzz_minutes)
}

/// The fuzz target in fuzz/; its seeds (fuzz/seeds/) and dictionary are
/// committed, while the corpus libFuzzer grows and the crashing inputs it
/// keeps (fuzz/corpus/, fuzz/artifacts/) are not.
const FUZZ_TARGET: &str = "sync_request";

/// Fuzzes `POST /api/sync` decoding and checks (issue #8) for `minutes`,
/// then reports executions and crashes; fails if it found any.
fn fuzz(minutes: u64) -> anyhow::Result<()> {
    if minutes == 0 {
        return Ok(());
    }
    tools::ensure_fuzz_tools()?;
    let fuzz = root().join("fuzz");
    let corpus = fuzz.join("corpus").join(FUZZ_TARGET);
    let artifacts = fuzz.join("artifacts").join(FUZZ_TARGET);
    std::fs::create_dir_all(&corpus)?;
    let before = artifact_files(&artifacts);
    let mut command = cmd("cargo");
    command
        .args(["+nightly", "fuzz", "run", FUZZ_TARGET])
        .arg(&corpus)
        .arg(fuzz.join("seeds").join(FUZZ_TARGET))
        .arg("--")
        .arg(format!("-max_total_time={}", minutes * 60))
        .arg(format!(
            "-dict={}",
            fuzz.join(format!("{FUZZ_TARGET}.dict")).display()
        ))
        .arg("-print_final_stats=1")
        .stderr(std::process::Stdio::piped());
    eprintln!("$ {}", crate::shell::describe(&command));
    let mut child = command.spawn().context("could not start cargo fuzz")?;
    // libFuzzer reports on stderr: pass it through and keep it to read the
    // final counts.
    let mut log = String::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).split(b'\n') {
            let line = String::from_utf8_lossy(&line?).into_owned();
            eprintln!("{line}");
            log.push_str(&line);
            log.push('\n');
        }
    }
    let status = child.wait()?;
    let found: Vec<String> = artifact_files(&artifacts)
        .into_iter()
        .filter(|file| !before.contains(file))
        .collect();
    let execs = executed_units(&log).map_or("an unknown number of".into(), |n| n.to_string());
    eprintln!(
        "\nfuzz {FUZZ_TARGET}: {execs} executions in {minutes} min, {} crashes",
        found.len()
    );
    if !found.is_empty() {
        bail!(
            "the fuzzer found {} crashing inputs in {}: {}\n\
             replay one with: cargo +nightly fuzz run {FUZZ_TARGET} <file>",
            found.len(),
            artifacts.display(),
            found.join(", ")
        );
    }
    if !status.success() {
        bail!("cargo fuzz run failed: {status}");
    }
    Ok(())
}

/// The files libFuzzer left in its artifacts folder (crash-, leak-, oom-,
/// timeout-…), by name.
fn artifact_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// How many inputs libFuzzer ran, from its final report: the
/// `stat::number_of_executed_units` line, else the last `#N` status line.
fn executed_units(log: &str) -> Option<u64> {
    let stat = log.lines().rev().find_map(|line| {
        line.strip_prefix("stat::number_of_executed_units:")?
            .trim()
            .parse()
            .ok()
    });
    stat.or_else(|| {
        log.lines().rev().find_map(|line| {
            let rest = line.strip_prefix('#')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
    })
}

/// Both bundles (app/src/bundle.rs): the manage bundle first, since the
/// field bundle's build copies it into `dist/manage/`; then the field
/// bundle's split WASM (`field_wasm.rs`, which Trunk cannot make); then
/// Trunk's field build, whose post_build hook stages that WASM and
/// precaches and compresses everything together.
pub fn build_app() -> anyhow::Result<()> {
    run_step(cmd("trunk").args(["--config", "Manage.toml", "build", "--release"]))?;
    crate::field_wasm::build()?;
    run_step(cmd("trunk").args(["build", "--release"]))
}

#[cfg(test)]
mod tests {
    use super::executed_units;

    #[test]
    fn reads_libfuzzers_execution_count() {
        let done = "#65536\tpulse  cov: 2101 ft: 9001 corp: 700/80Kb exec/s: 1092 rss: 512Mb\n\
                    #123456\tDONE   cov: 2200 ft: 9500 corp: 812/95Kb lim: 4096 exec/s: 2023 rss: 530Mb\n\
                    Done 123456 runs in 61 second(s)\n\
                    stat::number_of_executed_units: 123457\n\
                    stat::average_exec_per_sec:     2023\n";
        assert_eq!(executed_units(done), Some(123457));
        // Cut short (a crash): the last status line.
        let crashed = "#1024\tNEW    cov: 1900 ft: 7000 corp: 300/20Kb\n\
                       ==1234== ERROR: libFuzzer: deadly signal\n";
        assert_eq!(executed_units(crashed), Some(1024));
        assert_eq!(executed_units("error: could not compile\n"), None);
    }
}
