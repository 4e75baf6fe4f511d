//! Harness for end-to-end tests: a real server, a real Chromium, and helpers
//! named so that a test reads like what a volunteer does.

pub mod browser;
pub mod peer;
pub mod seed;
pub mod server;
pub mod wire;

pub use browser::Browser;
pub use server::TestServer;

use std::time::Duration;

/// How long any UI expectation may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Where screenshots go; CI keeps `target/`, reviewers open the PNGs.
pub fn screenshot_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots")
}
