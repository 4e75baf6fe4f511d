//! `bench size`: the bytes a phone downloads for the app shell (index.html,
//! the WASM module, JavaScript and CSS of the release build), compressed the
//! way the build hook does for the server to send: brotli (quality 11) and
//! gzip (level 9). The field bundle's split chunks (`dist/chunks/`, loaded
//! when their page opens or once the device is signed in,
//! xtask/src/field_wasm.rs) are not part of it; their sizes are in the
//! details.

use std::path::Path;

use serde_json::json;

use crate::{bench::Measured, precompress};

/// The shell's files in `dist/`: everything a first load fetches.
pub fn shell_files(dist: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dist)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shell = name == "index.html"
            || [".wasm", ".js", ".css"]
                .iter()
                .any(|ext| name.ends_with(ext));
        if shell && path.is_file() {
            files.push((name, std::fs::read(&path)?));
        }
    }
    files.sort();
    anyhow::ensure!(
        files.iter().any(|(n, _)| n.ends_with(".wasm")),
        "no .wasm in {}: build the app first",
        dist.display()
    );
    Ok(files)
}

/// The figure: brotli kilobytes (1 KB = 1,000 bytes), with the raw
/// (uncompressed) size as the baseline for scale, and gzip and every file's
/// sizes in the details.
pub fn measure(dist: &Path) -> anyhow::Result<Measured> {
    let files = shell_files(dist)?;
    let kb = |bytes: usize| (bytes as f64 / 100.0).round() / 10.0;
    let (mut raw, mut gzip, mut brotli) = (0, 0, 0);
    let mut per_file = serde_json::Map::new();
    for (name, bytes) in &files {
        let (g, b) = (
            precompress::gzip(bytes).len(),
            precompress::brotli(bytes).len(),
        );
        raw += bytes.len();
        gzip += g;
        brotli += b;
        per_file.insert(
            name.clone(),
            json!({"raw_kb": kb(bytes.len()), "gzip_kb": kb(g), "brotli_kb": kb(b)}),
        );
    }
    let mut chunks = serde_json::Map::new();
    let mut chunks_brotli = 0;
    for path in crate::field_wasm::chunk_files(dist)? {
        let bytes = std::fs::read(&path)?;
        let b = precompress::brotli(&bytes).len();
        chunks_brotli += b;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        chunks.insert(
            name.into_owned(),
            json!({"raw_kb": kb(bytes.len()), "brotli_kb": kb(b)}),
        );
    }
    Ok(Measured {
        unit: "KB".into(),
        value: kb(brotli),
        paired: None,
        baseline: Some(kb(raw)),
        details: json!({
            "raw_kb": kb(raw), "gzip_kb": kb(gzip), "brotli_kb": kb(brotli), "files": per_file,
            "chunks_brotli_kb": kb(chunks_brotli), "chunks": chunks,
            "summary": format!(
                "brotli {} KB, gzip {} KB, raw {} KB; split chunks {} KB brotli",
                kb(brotli), kb(gzip), kb(raw), kb(chunks_brotli)
            ),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_shell_file_once() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("index.html", "<html></html>"),
            ("app_bg.wasm", "\0asm"),
            ("app.js", "export{}"),
            ("style.css", "p{}"),
            ("manifest.webmanifest", "{}"),
            ("app_bg.wasm.br", "compressed"),
        ] {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let names: Vec<String> = shell_files(dir.path())
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["app.js", "app_bg.wasm", "index.html", "style.css"]);
        let measured = measure(dir.path()).unwrap();
        assert_eq!(measured.details["files"].as_object().unwrap().len(), 4);
    }
}
