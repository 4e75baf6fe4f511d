//! Trunk's post_build hook: stamps the staged `sw.js` with the list of files to
//! precache and a build version derived from their contents.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

const SERVICE_WORKER: &str = "sw.js";
/// Lines of `public/sw.js` that this hook replaces; the build fails if either
/// goes missing, rather than shipping a worker that caches nothing.
const VERSION_LINE: &str = "const VERSION = \"dev\";";
const PRECACHE_LINE: &str = "const PRECACHE = [];";

pub fn stamp(staging: &Path, public_url: &str) -> anyhow::Result<()> {
    let worker_path = staging.join(SERVICE_WORKER);
    let template = std::fs::read_to_string(&worker_path)
        .with_context(|| format!("reading {}", worker_path.display()))?;
    let files = files_to_precache(staging)?;

    let mut hasher = Sha256::new();
    let mut urls = Vec::with_capacity(files.len());
    for relative in &files {
        let url = format!("{}{}", public_url.trim_end_matches('/'), url_path(relative));
        hasher.update(url.as_bytes());
        hasher.update(std::fs::read(staging.join(relative))?);
        urls.push(url);
    }
    let version = hasher
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>();

    let stamped = replace_line(
        &template,
        VERSION_LINE,
        &format!("const VERSION = \"{version}\";"),
    )?;
    let stamped = replace_line(
        &stamped,
        PRECACHE_LINE,
        &format!("const PRECACHE = {};", serde_json::to_string(&urls)?),
    )?;
    std::fs::write(&worker_path, stamped)?;
    eprintln!("sw.js: build {version}, {} files precached", urls.len());
    Ok(())
}

/// Every staged file but the worker itself, as sorted relative paths.
fn files_to_precache(staging: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = crate::staging::files(staging)?;
    files.retain(|file| file != Path::new(SERVICE_WORKER));
    Ok(files)
}

fn url_path(relative: &Path) -> String {
    relative
        .components()
        .map(|part| format!("/{}", part.as_os_str().to_string_lossy()))
        .collect()
}

fn replace_line(text: &str, marker: &str, replacement: &str) -> anyhow::Result<String> {
    if text.matches(marker).count() != 1 {
        bail!("sw.js must contain the line `{marker}` exactly once");
    }
    Ok(text.replacen(marker, replacement, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "const VERSION = \"dev\";\nconst PRECACHE = [];\nself.x = 1;\n";

    fn staged(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(dir.path().join(SERVICE_WORKER), TEMPLATE).unwrap();
        for (name, body) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        dir
    }

    fn stamped(files: &[(&str, &str)]) -> String {
        let dir = staged(files);
        stamp(dir.path(), "/").unwrap();
        std::fs::read_to_string(dir.path().join(SERVICE_WORKER)).unwrap()
    }

    #[test]
    fn lists_every_file_but_the_worker_sorted() {
        let worker = stamped(&[
            ("index.html", "<html>"),
            ("app-0123456789abcdef_bg.wasm", "wasm"),
            ("icons/icon-192.png", "png"),
        ]);
        assert!(
            worker.contains(
                r#"const PRECACHE = ["/app-0123456789abcdef_bg.wasm","/icons/icon-192.png","/index.html"];"#
            ),
            "{worker}"
        );
        assert!(worker.ends_with("self.x = 1;\n"));
        assert!(!worker.contains("\"dev\""));
    }

    #[test]
    fn version_follows_content() {
        let version = |body| {
            let worker = stamped(&[("index.html", body)]);
            worker.lines().next().unwrap().to_owned()
        };
        assert_eq!(version("a"), version("a"));
        assert_ne!(version("a"), version("b"));
    }

    #[test]
    fn public_url_prefixes_paths() {
        let dir = staged(&[("index.html", "x")]);
        stamp(dir.path(), "/app/").unwrap();
        let worker = std::fs::read_to_string(dir.path().join(SERVICE_WORKER)).unwrap();
        assert!(worker.contains(r#"["/app/index.html"]"#), "{worker}");
    }

    #[test]
    fn a_template_without_markers_fails_the_build() {
        let dir = staged(&[]);
        std::fs::write(dir.path().join(SERVICE_WORKER), "self.x = 1;").unwrap();
        let err = stamp(dir.path(), "/").unwrap_err().to_string();
        assert!(err.contains("exactly once"), "{err}");
    }
}
