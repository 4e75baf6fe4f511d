//! `cargo xtask`: the two commands a newcomer needs, the sync soak, the
//! benchmarks, and Trunk's build hook.

mod api_check;
mod bench;
mod field_wasm;
mod lockfile;
mod precompress;
mod shell;
mod size;
mod staging;
mod sw_manifest;
mod tasks;
mod tools;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Doorstep developer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing, build the app, and serve it with the embedded database.
    Run {
        /// Address for the server (default 127.0.0.1:8080, or DOORSTEP_ADDR).
        #[arg(long)]
        addr: Option<String>,
    },
    /// Install what is missing (Chromium included), then run every test suite.
    Test,
    /// Hold the API to its document with an outside client: schemathesis
    /// (`--checks all`) against a real server, as a coordinator.
    ApiCheck,
    /// Run many more randomized sync histories than `test` does, in a release build.
    Soak {
        /// How many histories to simulate (each from its own seed).
        #[arg(long, default_value_t = 5000)]
        histories: u64,
        /// Minutes to fuzz the sync request decoder afterwards (0 skips it).
        #[arg(long, default_value_t = 5)]
        fuzz_minutes: u64,
    },
    /// Run benchmarks (every one when none is named), print one table, and
    /// write target/bench/. See BENCH.md.
    Bench {
        /// Metrics to run: sync, truck, store.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(bench::NAMES))]
        metrics: Vec<String>,
        /// Stop after this many seconds, builds included, and say what was cut short.
        #[arg(long, default_value_t = 1800)]
        budget: u64,
    },
    /// Trunk post_build hook: stage the split field WASM, write the precache
    /// list and build version into the staged sw.js, then brotli and gzip
    /// copies of the build's files.
    #[command(hide = true)]
    PostBuild,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run { addr } => tasks::run(addr),
        Command::Test => tasks::test(),
        Command::ApiCheck => api_check::api_check(),
        Command::Soak {
            histories,
            fuzz_minutes,
        } => tasks::soak(histories, fuzz_minutes),
        Command::Bench { metrics, budget } => {
            bench::bench(&metrics, std::time::Duration::from_secs(budget))
        }
        Command::PostBuild => {
            let (staging, public_url) = staging::from_trunk_env()?;
            field_wasm::stage(&staging)?;
            sw_manifest::stamp(&staging, &public_url)?;
            precompress::beside(&staging).map(drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed_and_soak_defaults_to_5000() {
        Cli::command().debug_assert();
        let soak = |args: &[&str]| match Cli::parse_from(args).command {
            Command::Soak {
                histories,
                fuzz_minutes,
            } => (histories, fuzz_minutes),
            _ => unreachable!(),
        };
        assert_eq!(soak(&["xtask", "soak"]), (5000, 5));
        assert_eq!(soak(&["xtask", "soak", "--histories", "7"]), (7, 5));
        assert_eq!(soak(&["xtask", "soak", "--fuzz-minutes", "0"]), (5000, 0));
    }

    #[test]
    fn bench_takes_known_metrics_and_a_budget() {
        let bench = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Command::Bench { metrics, budget }) => Ok((metrics, budget)),
            Ok(_) => unreachable!(),
            Err(err) => Err(err.kind()),
        };
        assert_eq!(bench(&["xtask", "bench"]), Ok((vec![], 1800)));
        assert_eq!(
            bench(&["xtask", "bench", "sync", "--budget", "60"]),
            Ok((vec!["sync".to_owned()], 60))
        );
        assert_eq!(
            bench(&["xtask", "bench", "truck", "sync"]),
            Ok((vec!["truck".to_owned(), "sync".to_owned()], 1800))
        );
        assert_eq!(
            bench(&["xtask", "bench", "store", "--budget", "900"]),
            Ok((vec!["store".to_owned()], 900))
        );
        assert_eq!(
            bench(&["xtask", "bench", "nope"]),
            Err(clap::error::ErrorKind::InvalidValue)
        );
    }
}
