//! Trunk's post_build hook, second step: a brotli (quality 11) and a gzip
//! (level 9) copy beside every compressible file of the build. The server
//! sends those as they are, instead of compressing each response on the fly
//! at the fast brotli quality 4 that suits dynamic content.

use std::{io::Write, path::Path};

/// What compresses: text and WebAssembly (images are compressed already).
const COMPRESSIBLE: [&str; 7] = [
    ".html",
    ".js",
    ".wasm",
    ".css",
    ".json",
    ".webmanifest",
    ".svg",
];

pub fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        writer.write_all(bytes).expect("writing to memory");
    }
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// Writes `name.br` and `name.gz` beside each compressible file under
/// `staging`; returns how many files it compressed.
pub fn beside(staging: &Path) -> anyhow::Result<usize> {
    let mut compressed = 0;
    for file in crate::staging::files(staging)? {
        let name = staging.join(file).to_string_lossy().into_owned();
        if COMPRESSIBLE.iter().any(|ext| name.ends_with(ext)) {
            let bytes = std::fs::read(&name)?;
            std::fs::write(format!("{name}.br"), brotli(&bytes))?;
            std::fs::write(format!("{name}.gz"), gzip(&bytes))?;
            compressed += 1;
        }
    }
    eprintln!("precompressed {compressed} files (brotli 11, gzip 9)");
    Ok(compressed)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn text_and_wasm_get_copies_that_decompress_to_the_original() {
        let dir = tempfile::TempDir::new().unwrap();
        let text = "王芳 101 ".repeat(500);
        std::fs::create_dir(dir.path().join("icons")).unwrap();
        for name in ["index.html", "app_bg.wasm", "icons/a.svg", "icons/a.png"] {
            std::fs::write(dir.path().join(name), &text).unwrap();
        }
        assert_eq!(beside(dir.path()).unwrap(), 3);
        for name in ["index.html", "app_bg.wasm", "icons/a.svg"] {
            let br = std::fs::read(dir.path().join(format!("{name}.br"))).unwrap();
            assert!(br.len() < text.len() / 10, "{name}: {} bytes", br.len());
            let mut unpacked = String::new();
            brotli::Decompressor::new(&br[..], 4096)
                .read_to_string(&mut unpacked)
                .unwrap();
            assert_eq!(unpacked, text, "{name}.br");
            let gz = std::fs::read(dir.path().join(format!("{name}.gz"))).unwrap();
            let mut unpacked = String::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_string(&mut unpacked)
                .unwrap();
            assert_eq!(unpacked, text, "{name}.gz");
        }
        assert!(!dir.path().join("icons/a.png.br").exists());
    }
}
