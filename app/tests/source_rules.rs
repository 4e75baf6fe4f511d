//! Rules the compiler cannot hold for the app's sources, checked by reading
//! them: nothing a volunteer records fails silently, and no text is glued
//! from fragments.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
}

/// Every line of `app/src` that `matches`, as `path:line: text`.
fn lines_where(matches: impl Fn(&str) -> bool) -> Vec<String> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 20, "the app's sources were found");
    files
        .iter()
        .flat_map(|(path, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, line)| matches(line.trim_start()))
                .map(move |(n, line)| format!("{path}:{}: {}", n + 1, line.trim()))
        })
        .collect()
}

/// No page or state module drops the result of a write to this phone's
/// storage with `let _ =`. Fire-and-forget taps go through
/// `AppData::save`, which shows a failure.
#[test]
fn no_storage_result_is_discarded() {
    let dropped =
        lines_where(|line| line.starts_with("let _ = data.") || line.starts_with("let _ = db."));
    assert!(
        dropped.is_empty(),
        "results dropped:\n{}",
        dropped.join("\n")
    );
}

/// A text with arguments is a generated `Msg` whose fields fill its
/// placeholders (build.rs), never a `Key`'s text with `.replace("{n}", …)`:
/// a placeholder one language lacks would then show as "{n}" on a phone.
#[test]
fn no_text_fills_its_placeholders_by_hand() {
    let glued = lines_where(|line| line.contains(".replace(\"{"));
    assert!(
        glued.is_empty(),
        "texts glued by hand:\n{}",
        glued.join("\n")
    );
}
