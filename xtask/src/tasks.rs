//! The documented commands, `run`, `test` and `soak`, as sequences of steps.

use anyhow::bail;

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
    tools::ensure_browser()?;
    tools::ensure_postgres()?;
    build_app()?;
    let dist = root().join("dist");
    let suites: [(&str, std::process::Command); 5] = [
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
    if failed.is_empty() {
        eprintln!("\nall test suites passed");
        Ok(())
    } else {
        bail!("failed suites: {}", failed.join("; "))
    }
}

/// `cargo xtask soak`: the randomized sync simulation with `histories`
/// seeds. Release build, because the default 500 of `cargo test` are meant
/// to stay quick and a soak is meant to find the rare history.
pub fn soak(histories: u64) -> anyhow::Result<()> {
    run_step(
        cmd("cargo")
            .args([
                "test",
                "--release",
                "--package",
                "doorstep-server",
                "--test",
                "simulation",
                "--",
                "--nocapture",
            ])
            .env("DOORSTEP_SIM_HISTORIES", histories.to_string()),
    )
}

fn build_app() -> anyhow::Result<()> {
    run_step(cmd("trunk").args(["build", "--release"]))
}
