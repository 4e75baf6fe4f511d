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

/// Lines where a word that is also a field's name names something else:
/// a query parameter, an invite's field, a ledger's file name.
const NOT_FIELDS: &[&str] = &[
    r#"("care", if accept_care"#,
    r#"Some("team") => FormError::Team"#,
    r#"invalid("team", "#,
    r#"("care", Key::LedgersPrintCare)"#,
    r#"slug: "care","#,
];

/// The code lines (comments, `#[cfg(test)]` modules and fixtures left
/// out) of the app's and the server's sources, as `path:line: text`.
fn code_lines() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    sources(&root.join("../server/src"), &mut files);
    assert!(
        files.len() > 50,
        "the app's and server's sources were found"
    );
    files
        .iter()
        .filter(|(path, _)| !path.ends_with("fixtures.rs"))
        .flat_map(|(path, text)| {
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            code.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim_start().starts_with("//"))
                .map(move |(n, line)| format!("{path}:{}: {}", n + 1, line.trim()))
        })
        .collect()
}

/// Each field of a household, visit, person, need or purchase is named in
/// one place, its constant in core's schema (`schema::household::HEAD`):
/// the app and the server read and write records through those, never by
/// spelling a field's name.
#[test]
fn field_names_are_written_only_in_core() {
    use doorstep_core::schema::Collection;
    let names: std::collections::BTreeSet<&str> = [
        Collection::Household,
        Collection::Visit,
        Collection::Person,
        Collection::Need,
        Collection::Purchase,
    ]
    .iter()
    .flat_map(|c| c.fields().iter().map(|f| f.name))
    .collect();
    let spelled: Vec<String> = code_lines()
        .into_iter()
        .filter(|line| !NOT_FIELDS.iter().any(|other| line.contains(other)))
        .filter(|line| {
            names
                .iter()
                .any(|name| line.contains(&format!("\"{name}\"")))
        })
        .collect();
    assert!(
        spelled.is_empty(),
        "field names spelled outside core's schema:\n{}",
        spelled.join("\n")
    );
}
