//! `cargo xtask`: the two commands a newcomer needs, plus Trunk's build hook.

mod lockfile;
mod shell;
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
    /// Trunk post_build hook: write the precache list and build version into the staged sw.js.
    #[command(hide = true)]
    SwManifest,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run { addr } => tasks::run(addr),
        Command::Test => tasks::test(),
        Command::SwManifest => sw_manifest::from_trunk_env(),
    }
}
