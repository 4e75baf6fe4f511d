//! Rules the compiler cannot hold for the app's sources, checked by reading
//! them: nothing a volunteer records fails silently, no text is glued from
//! fragments, a record's field names are written only in core's schema, and
//! the app's top-level modules depend on each other in one direction only.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

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

/// The app's top-level modules (each `src/X.rs` or `src/X/`, beside
/// `lib.rs` and `main.rs`) and the others each names as `crate::…`, read
/// from its sources with comments left out.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        // The entry points (main.rs, bin/) only mount the library.
        if name == "lib" || name == "main" || name == "bin" {
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            sources(&path, &mut files);
        } else {
            files.push((String::new(), std::fs::read_to_string(&path).unwrap()));
        }
        let mut uses = BTreeSet::new();
        for (_, text) in &files {
            let code: String = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            crate_paths(&code, &mut uses);
        }
        uses.remove(&name);
        graph.insert(name, uses);
    }
    graph
}

/// The first segment of every `crate::` path in `code`, including each
/// branch of a `crate::{a::…, b}` group.
fn crate_paths(code: &str, out: &mut BTreeSet<String>) {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if !rest.starts_with('{') {
            out.insert(ident(rest));
            continue;
        }
        // A group: a segment starts after `{` or a `,` at the group's own depth.
        let mut depth = 0;
        let mut starts = Vec::new();
        for (i, c) in rest.char_indices() {
            match c {
                '{' => {
                    depth += 1;
                    if depth == 1 {
                        starts.push(i + 1);
                    }
                }
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                ',' if depth == 1 => starts.push(i + 1),
                _ => {}
            }
        }
        out.extend(starts.into_iter().map(|i| ident(&rest[i..])));
    }
    out.remove("");
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if !done.insert(module.to_owned()) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

/// The reader finds the paths a `use` names, groups included, so the rule
/// below can fail.
#[test]
fn crate_paths_are_read_from_groups_and_single_paths() {
    let mut uses = BTreeSet::new();
    crate_paths(
        "use crate::{\n    api::{self, X},\n    state::{a::{B, C}, d},\n};\nlet x = crate::i18n::t();",
        &mut uses,
    );
    let expected: BTreeSet<String> = ["api", "state", "i18n"].map(String::from).into();
    assert_eq!(uses, expected);
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), ["b".to_owned()].into()),
        ("b".to_owned(), ["a".to_owned()].into()),
    ]
    .into();
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}

/// The top-level modules form layers: none reaches, directly or through
/// others, back to itself (state and sync, say, importing each other would
/// make neither understandable alone).
#[test]
fn the_app_modules_depend_on_each_other_without_cycles() {
    let graph = module_graph();
    assert!(
        ["api", "state", "storage", "sync", "pages"]
            .iter()
            .all(|m| graph.contains_key(*m)),
        "the app's modules were found: {graph:?}"
    );
    assert_eq!(
        cycle(&graph),
        None,
        "modules importing each other: {graph:?}"
    );
}
