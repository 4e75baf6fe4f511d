//! Trunk's staging folder, where the post-build hook finishes the build:
//! where it is, and the files in it.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The staging folder and public URL Trunk names for its post_build hook.
pub fn from_trunk_env() -> anyhow::Result<(PathBuf, String)> {
    let staging = std::env::var_os("TRUNK_STAGING_DIR")
        .context("TRUNK_STAGING_DIR is unset: this command runs as Trunk's post_build hook")?;
    let public_url = std::env::var("TRUNK_PUBLIC_URL").unwrap_or_else(|_| "/".into());
    Ok((PathBuf::from(staging), public_url))
}

/// Every file under `staging`, as sorted paths relative to it.
pub fn files(staging: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![staging.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path.strip_prefix(staging)?.to_path_buf());
            }
        }
    }
    files.sort();
    Ok(files)
}
