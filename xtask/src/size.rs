//! `bench size`: the bytes a phone downloads for the app shell (index.html,
//! the WASM module, JavaScript and CSS of the release build), compressed the
//! way the server sends them: brotli (quality 11) and gzip (level 9).

use std::{io::Write, path::Path};

use serde_json::json;

use crate::bench::Measured;

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

pub fn brotli_len(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        writer.write_all(bytes).expect("writing to memory");
    }
    out.len()
}

pub fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory").len()
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
        let (g, b) = (gzip_len(bytes), brotli_len(bytes));
        raw += bytes.len();
        gzip += g;
        brotli += b;
        per_file.insert(
            name.clone(),
            json!({"raw_kb": kb(bytes.len()), "gzip_kb": kb(g), "brotli_kb": kb(b)}),
        );
    }
    Ok(Measured {
        unit: "KB".into(),
        value: kb(brotli),
        baseline: Some(kb(raw)),
        details: json!({
            "raw_kb": kb(raw), "gzip_kb": kb(gzip), "brotli_kb": kb(brotli), "files": per_file,
            "summary": format!("brotli {} KB, gzip {} KB, raw {} KB", kb(brotli), kb(gzip), kb(raw)),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_shrinks_repetitive_text_and_counts_every_shell_file() {
        let text = "敲门行动 ".repeat(2000).into_bytes();
        assert!(brotli_len(&text) < text.len() / 20);
        assert!(gzip_len(&text) < text.len() / 10);
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("index.html", "<html></html>"),
            ("app_bg.wasm", "\0asm"),
            ("app.js", "export{}"),
            ("style.css", "p{}"),
            ("manifest.webmanifest", "{}"),
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
