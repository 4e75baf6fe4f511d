//! The field bundle's WASM, built outside Trunk so that it can be split
//! (Trunk 0.21 cannot): cargo links `doorstep-app` with its relocations
//! kept, wasm-split cuts every split point (`app/src/split.rs`) out
//! into a chunk of its own, wasm-bindgen writes the main module's
//! JavaScript, and wasm-opt `-Oz` shrinks each module. `build` leaves the
//! result in `target/field/`; Trunk then builds the rest of the bundle
//! (`index.html`, CSS, icons) and its post_build hook calls `stage`, which
//! copies these files in and writes the tags that load them into
//! `index.html`, before the service worker's precache list is made.
//!
//! Every name carries a hash of the linked module, so the server marks them
//! immutable (server/src/static_files.rs) as it does Trunk's own.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use sha2::{Digest, Sha256};

use crate::shell::{cmd, root, run};

const BIN: &str = "doorstep-app";
const PROFILE: &str = "wasm-release";
/// Where `build` leaves its files, laid out as in `dist/`.
const OUT: &str = "target/field";
/// The tags `stage` writes into `index.html`, kept beside the files.
const TAGS: &str = "index-tags.html";
/// The chunks' folder in `dist/`: `size` weighs the top of `dist/` only,
/// what a first load fetches; a chunk loads when its page is opened.
pub const CHUNKS: &str = "chunks";
/// As Trunk passes them (index.html's `data-wasm-opt-params`, Manage.toml's
/// bundle): the features Rust 1.95 emits for wasm32.
const WASM_OPT: [&str; 7] = [
    "-Oz",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Builds, splits, binds and shrinks the field bundle's WASM into `target/field/`.
pub fn build() -> anyhow::Result<()> {
    // wasm-split needs the linker's relocations: only this binary's final
    // link is asked for them, so its dependencies stay the ones the manage
    // bundle's build already made (the app's library builds once more, with
    // its split points).
    run(cmd("cargo").args([
        "rustc",
        "--package",
        "doorstep-app",
        "--bin",
        BIN,
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        PROFILE,
        "--features",
        "split",
        "--",
        "-C",
        "link-arg=--emit-relocs",
    ]))?;
    let linked = root().join(format!(
        "target/wasm32-unknown-unknown/{PROFILE}/{BIN}.wasm"
    ));
    let input = std::fs::read(&linked).with_context(|| format!("reading {}", linked.display()))?;
    let hash = short_hash(&input);
    let names = Names::new(&hash);

    let out = root().join(OUT);
    let split_dir = root().join("target/field-split");
    for dir in [&out, &split_dir] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
    }
    std::fs::create_dir_all(out.join(CHUNKS))?;
    std::fs::create_dir_all(&split_dir)?;

    let main_split = split_dir.join("main.wasm");
    let link_module = format!("./{}", names.link_js);
    let main_module = format!("./{}.js", names.main);
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&input);
        options.output_dir = &split_dir;
        options.main_out_path = &main_split;
        options.link_name = &link_module;
        options.main_module = &main_module;
        options
    })
    .map_err(|err| anyhow::anyhow!("wasm-split: {err:?}"))?;
    eprintln!(
        "wasm-split: {} chunks beside the main module",
        split.split_modules.len()
    );

    run(cmd("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--keep-lld-exports",
            "--no-typescript",
            "--out-name",
            &names.main,
            "--out-dir",
        ])
        .arg(&out)
        .arg(&main_split))?;

    // The chunks, renamed with the hash, into chunks/; the loader that
    // fetches them (written by wasm-split beside them) names them.
    let mut link_js = std::fs::read_to_string(split_dir.join(&names.link_js))
        .context("wasm-split wrote no loader")?;
    let mut modules = vec![out.join(format!("{}_bg.wasm", names.main))];
    for chunk in &split.split_modules {
        let stem = chunk
            .file_stem()
            .and_then(|stem| stem.to_str())
            .context("a chunk without a name")?;
        let renamed = names.chunk(stem);
        link_js = replace_once(
            &link_js,
            &format!("\"./{stem}.wasm\""),
            &format!("\"./{renamed}\""),
        )?;
        std::fs::copy(chunk, out.join(&renamed))?;
        modules.push(out.join(renamed));
    }
    std::fs::write(out.join(&names.link_js), link_js)?;

    for module in &modules {
        run(cmd("wasm-opt")
            .args(WASM_OPT)
            .arg(module)
            .arg("-o")
            .arg(module))?;
    }
    std::fs::write(out.join(TAGS), names.index_tags())?;
    Ok(())
}

/// Trunk's post_build hook: copies `target/field/` into the staging folder
/// and writes its tags into the staged `index.html`.
pub fn stage(staging: &Path) -> anyhow::Result<()> {
    let out = root().join(OUT);
    let tags = std::fs::read_to_string(out.join(TAGS)).with_context(|| {
        format!(
            "no field WASM in {}: `cargo xtask run` builds it before Trunk",
            out.display()
        )
    })?;
    for file in crate::staging::files(&out)? {
        if file == Path::new(TAGS) {
            continue;
        }
        let to = staging.join(&file);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(out.join(&file), to)?;
    }
    let index = staging.join("index.html");
    let html = std::fs::read_to_string(&index).context("reading the staged index.html")?;
    std::fs::write(&index, in_place_of_skipped_link(&html, &tags)?)?;
    Ok(())
}

/// `html` with `tags` in place of the `rel="rust"` link that Trunk was told
/// to skip (`data-trunk-skip`) and so left as it was.
fn in_place_of_skipped_link(html: &str, tags: &str) -> anyhow::Result<String> {
    const LINK: &str = "<link data-trunk rel=\"rust\"";
    ensure!(
        html.matches(LINK).count() == 1,
        "index.html must have one `{LINK} … data-trunk-skip>`"
    );
    let start = html.find(LINK).unwrap_or_default();
    let end = start + html[start..].find('>').context("an unclosed link")? + 1;
    ensure!(
        html[start..end].contains("data-trunk-skip"),
        "index.html's rust link must be skipped by Trunk (data-trunk-skip)"
    );
    Ok(format!("{}{tags}{}", &html[..start], &html[end..]))
}

/// The build's file names, each with the linked module's hash.
struct Names {
    hash: String,
    /// wasm-bindgen's `--out-name`: `{main}.js` and `{main}_bg.wasm`.
    main: String,
    /// The chunk loader, which the main module imports.
    link_js: String,
}

impl Names {
    fn new(hash: &str) -> Names {
        Names {
            hash: hash.to_owned(),
            main: format!("{BIN}-{hash}"),
            link_js: format!("doorstep-split-{hash}.js"),
        }
    }

    /// A chunk's path from the top of `dist/`.
    fn chunk(&self, stem: &str) -> String {
        format!("{CHUNKS}/{stem}-{}.wasm", self.hash)
    }

    /// What Trunk writes for a `rel="rust"` link: preloads, then the module
    /// script that starts the app.
    fn index_tags(&self) -> String {
        let Names { main, link_js, .. } = self;
        format!(
            "<link rel=\"modulepreload\" href=\"/{main}.js\" crossorigin=\"anonymous\">\n\
             <link rel=\"modulepreload\" href=\"/{link_js}\" crossorigin=\"anonymous\">\n\
             <link rel=\"preload\" href=\"/{main}_bg.wasm\" crossorigin=\"anonymous\" as=\"fetch\" type=\"application/wasm\">\n\
             <script type=\"module\">import init from \"/{main}.js\"; init({{ module_or_path: \"/{main}_bg.wasm\" }});</script>\n"
        )
    }
}

/// 16 hex digits of SHA-256, the length Trunk's names (and the server's
/// cache policy) use.
fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn replace_once(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    ensure!(
        text.matches(from).count() == 1,
        "expected `{from}` exactly once"
    );
    Ok(text.replacen(from, to, 1))
}

/// The chunks of a built `dist/` (none before the split), sorted.
pub fn chunk_files(dist: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = dist.join(CHUNKS);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == "wasm"));
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_hash_the_server_reads_as_immutable() {
        let names = Names::new(&short_hash(b"module"));
        assert_eq!(names.hash.len(), 16);
        assert!(names.main.ends_with(&names.hash));
        assert!(names.link_js.ends_with(&format!("-{}.js", names.hash)));
        assert_eq!(
            names.chunk("split_door"),
            format!("chunks/split_door-{}.wasm", names.hash)
        );
        let tags = names.index_tags();
        assert!(tags.contains(&format!("import init from \"/{}.js\"", names.main)));
        assert!(tags.contains(&format!("\"/{}_bg.wasm\"", names.main)));
    }

    #[test]
    fn the_tags_take_the_skipped_links_place() {
        let staged = "<head>\n  <link data-trunk rel=\"rust\" href=\"app/Cargo.toml\" data-trunk-skip data-trunk-id=\"0\">\n  <link rel=\"stylesheet\">\n</head>";
        assert_eq!(
            in_place_of_skipped_link(staged, "<script></script>").unwrap(),
            "<head>\n  <script></script>\n  <link rel=\"stylesheet\">\n</head>"
        );
        // Trunk built it (no skip), or the link is gone: the build stops.
        let built = staged.replace(" data-trunk-skip", "");
        assert!(in_place_of_skipped_link(&built, "x").is_err());
        assert!(in_place_of_skipped_link("<head></head>", "x").is_err());
    }

    #[test]
    fn a_chunk_name_is_rewritten_once_or_the_build_stops() {
        assert_eq!(
            replace_once("a \"./c.wasm\" b", "\"./c.wasm\"", "x").unwrap(),
            "a x b"
        );
        assert!(replace_once("ab", "\"./c.wasm\"", "x").is_err());
        assert!(replace_once("\"./c.wasm\"\"./c.wasm\"", "\"./c.wasm\"", "x").is_err());
    }
}
