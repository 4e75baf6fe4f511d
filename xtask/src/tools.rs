//! Installs the build and test toolchain when it is missing. Each check asks
//! the installed tool for its version first, so a warm machine pays seconds.

use anyhow::{Context, bail};

use crate::{
    lockfile::locked_version,
    shell::{cmd, output, root, run, tools_dir},
};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Trunk 0.22 needs a newer rustc than this project's 1.95.
const TRUNK_VERSION: &str = "0.21.14";
/// Debian's binaryen 108 produces modules that Chromium rejects (`Table.set`).
const BINARYEN_VERSION: &str = "132";
/// Lighthouse 13 refuses Node 20; 12.2.3 is the last that runs on it.
const LIGHTHOUSE_VERSION: &str = "12.2.3";
/// `cargo xtask soak` fuzzes the sync decoder with it (fuzz/, nightly Rust).
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// Debian packages the browser tests need; the fonts make Chinese text render.
const BROWSER_PACKAGES: [&str; 3] = ["chromium", "chromium-driver", "fonts-wqy-microhei"];

/// Everything `trunk build --release` needs.
pub fn ensure_build_tools() -> anyhow::Result<()> {
    ensure_wasm_target()?;
    ensure_cargo_tool("trunk", "trunk", TRUNK_VERSION, &["--locked"])?;
    ensure_wasm_bindgen()?;
    ensure_wasm_opt()?;
    // Trunk builds offline (Trunk.toml), so every crate must already be here.
    run(cmd("cargo").arg("fetch").arg("--quiet"))
}

/// What `cargo test --target wasm32-unknown-unknown` needs (no Trunk):
/// the target and the wasm-bindgen CLI, whose test runner drives Chromium.
pub fn ensure_wasm_test_tools() -> anyhow::Result<()> {
    ensure_wasm_target()?;
    ensure_wasm_bindgen()
}

/// What the format and lint suites need: rustup's rustfmt and clippy.
pub fn ensure_lint_tools() -> anyhow::Result<()> {
    let installed = output(cmd("rustup").args(["component", "list", "--installed"]))
        .context("rustup is needed to add rustfmt and clippy")?;
    let missing: Vec<&str> = ["rustfmt", "clippy"]
        .into_iter()
        .filter(|component| !installed.lines().any(|line| line.starts_with(component)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(cmd("rustup").args(["component", "add"]).args(missing))
}

/// What `cargo +nightly fuzz run` needs: a nightly toolchain (libFuzzer's
/// sanitizer flags are nightly-only) and cargo-fuzz.
pub fn ensure_fuzz_tools() -> anyhow::Result<()> {
    let toolchains = output(cmd("rustup").args(["toolchain", "list"]))
        .context("rustup is needed to install the nightly toolchain for fuzzing")?;
    if !toolchains.lines().any(|line| line.starts_with("nightly")) {
        run(cmd("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))?;
    }
    ensure_cargo_tool(
        "cargo-fuzz",
        "cargo-fuzz",
        CARGO_FUZZ_VERSION,
        &["--locked"],
    )
}

fn ensure_wasm_bindgen() -> anyhow::Result<()> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let bindgen = locked_version(&lock, "wasm-bindgen")?;
    // wasm-bindgen-cli's own lockfile does not build here; let cargo resolve it.
    ensure_cargo_tool("wasm-bindgen", "wasm-bindgen-cli", &bindgen, &[])
}

/// The first token of a `--version` line that starts with a digit:
/// `trunk 0.21.14`, `wasm-bindgen 0.2.130`, `wasm-opt version 132 (version_132)`.
pub fn reported_version(output: &str) -> Option<&str> {
    output
        .split_whitespace()
        .find(|token| token.starts_with(|c: char| c.is_ascii_digit()))
}

fn installed_version(program: &str) -> Option<String> {
    let out = output(cmd(program).arg("--version"))?;
    reported_version(&out).map(str::to_owned)
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = output(cmd("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed to add the wasm32 target")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    run(cmd("rustup").args(["target", "add", WASM_TARGET]))
}

fn ensure_cargo_tool(
    program: &str,
    krate: &str,
    version: &str,
    extra: &[&str],
) -> anyhow::Result<()> {
    if installed_version(program).as_deref() == Some(version) {
        return Ok(());
    }
    eprintln!("installing {krate} {version} (first time only; it builds from source, minutes)");
    run(cmd("cargo")
        .args(["install", krate, "--version", version])
        .args(extra))
}

fn ensure_wasm_opt() -> anyhow::Result<()> {
    let wasm_opt = tools_dir().join("node_modules/.bin/wasm-opt");
    let current =
        output(cmd(wasm_opt.to_str().context("tools path is not UTF-8")?).arg("--version"));
    if current.as_deref().and_then(reported_version) == Some(BINARYEN_VERSION) {
        return Ok(());
    }
    std::fs::create_dir_all(tools_dir())?;
    run(cmd("npm")
        .args(["install", "--prefix"])
        .arg(tools_dir())
        .args([
            "--no-audit",
            "--no-fund",
            &format!("binaryen@{BINARYEN_VERSION}"),
        ]))
}

/// npm's lighthouse CLI in tools/ (for `cargo xtask bench lighthouse`);
/// returns its path.
pub fn ensure_lighthouse() -> anyhow::Result<std::path::PathBuf> {
    let lighthouse = tools_dir().join("node_modules/.bin/lighthouse");
    let current =
        output(cmd(lighthouse.to_str().context("tools path is not UTF-8")?).arg("--version"));
    if current.as_deref().map(str::trim) == Some(LIGHTHOUSE_VERSION) {
        return Ok(lighthouse);
    }
    std::fs::create_dir_all(tools_dir())?;
    run(cmd("npm")
        .args(["install", "--prefix"])
        .arg(tools_dir())
        .args([
            "--no-audit",
            "--no-fund",
            &format!("lighthouse@{LIGHTHOUSE_VERSION}"),
        ]))?;
    Ok(lighthouse)
}

/// A PostgreSQL server on 127.0.0.1:5432 that the current user reaches
/// without a password (the server's tests run on it too): started if it is
/// stopped, and installed and set up with Debian's package if it is missing
/// and we are root; otherwise a clear instruction.
pub fn ensure_postgres() -> anyhow::Result<()> {
    let ready =
        || output(cmd("pg_isready").args(["-h", "127.0.0.1", "-p", "5432", "-q"])).is_some();
    if ready() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "the server's tests need PostgreSQL on 127.0.0.1:5432 with trust auth for this user; start or install it (Debian: postgresql)"
        );
    }
    let fresh = !package_installed("postgresql");
    if fresh {
        run(cmd("apt-get").arg("update").arg("-q"))?;
        run(cmd("apt-get")
            .args(["install", "-y", "-q", "postgresql"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    let versions =
        std::fs::read_dir("/etc/postgresql").context("PostgreSQL's config folder is missing")?;
    let version = versions
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .max()
        .context("no PostgreSQL cluster in /etc/postgresql")?;
    if fresh {
        // Debian's default asks for passwords on TCP; the tests connect as
        // this user over 127.0.0.1, as on the machines the project runs on.
        let hba = format!("/etc/postgresql/{version}/main/pg_hba.conf");
        let rules = std::fs::read_to_string(&hba)?;
        std::fs::write(
            &hba,
            format!("host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n{rules}"),
        )?;
    }
    run(cmd("pg_ctlcluster").args(["--skip-systemctl-redirect", &version, "main", "start"]))?;
    for _ in 0..50 {
        if ready() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    if fresh {
        let user = output(cmd("id").arg("-un")).unwrap_or_default();
        for sql in [
            format!("CREATE ROLE \"{0}\" LOGIN SUPERUSER", user.trim()),
            format!("CREATE DATABASE \"{0}\" OWNER \"{0}\"", user.trim()),
        ] {
            run(cmd("su")
                .args(["postgres", "-c"])
                .arg(format!("psql -q -c '{sql}'")))?;
        }
    }
    if !ready() {
        bail!("PostgreSQL did not start on 127.0.0.1:5432");
    }
    Ok(())
}

fn is_root() -> bool {
    output(cmd("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

/// Debian's Chromium, its driver and CJK fonts.
pub fn ensure_browser() -> anyhow::Result<()> {
    ensure_debian_packages("the browser tests", &BROWSER_PACKAGES)
}

/// Debian packages that `what` needs: installed with apt-get when we are
/// root, otherwise a clear instruction.
pub fn ensure_debian_packages(what: &str, packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !package_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "{what} need Debian packages that are missing: {0}\n\
             install them with: sudo apt-get install -y {0}",
            missing.join(" ")
        );
    }
    run(cmd("apt-get").arg("update").arg("-q"))?;
    run(cmd("apt-get")
        .args(["install", "-y", "-q"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn package_installed(package: &str) -> bool {
    output(cmd("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_some_and(|status| status == "install ok installed")
}

#[cfg(test)]
mod tests {
    use super::reported_version;

    #[test]
    fn reads_versions_the_way_each_tool_prints_them() {
        for (line, version) in [
            ("trunk 0.21.14\n", Some("0.21.14")),
            ("wasm-bindgen 0.2.130", Some("0.2.130")),
            ("wasm-opt version 132 (version_132)", Some("132")),
            ("cargo-fuzz 0.13.2", Some("0.13.2")),
            ("", None),
            ("command not found", None),
        ] {
            assert_eq!(reported_version(line), version, "{line:?}");
        }
    }
}
