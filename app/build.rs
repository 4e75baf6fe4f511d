//! Turns `locales/{zh,en}.json` into a `Key` enum for plain texts and a
//! `Msg` enum for texts with `{placeholders}`, so a missing or misspelt
//! translation, or a placeholder one language lacks or a call site does
//! not fill, is a compile error rather than a blank button on a phone.

use std::{collections::BTreeMap, fmt::Write, path::Path};

const LOCALES: [&str; 2] = ["zh", "en"];

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let catalogs: Vec<BTreeMap<String, String>> = LOCALES
        .iter()
        .map(|locale| {
            let path = dir.join(format!("{locale}.json"));
            println!("cargo::rerun-if-changed={}", path.display());
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect();

    let keys: Vec<&String> = catalogs[0].keys().collect();
    for (locale, catalog) in LOCALES.iter().zip(&catalogs) {
        let these: Vec<&String> = catalog.keys().collect();
        assert_eq!(
            these, keys,
            "locales/{locale}.json must have exactly the keys of locales/zh.json"
        );
        for (key, text) in catalog {
            assert!(
                !text.trim().is_empty(),
                "locales/{locale}.json: {key} is empty"
            );
            let (ours, zh) = (placeholders(text), placeholders(&catalogs[0][key]));
            assert_eq!(
                ours, zh,
                "locales/{locale}.json: {key} has the placeholders {ours:?}, locales/zh.json {zh:?}"
            );
        }
    }
    // A text with placeholders is a `Msg` variant whose fields are its
    // arguments, so a call site that misses or adds one does not compile.
    let (plain, with_args): (Vec<&String>, Vec<&String>) = keys
        .iter()
        .partition(|key| placeholders(&catalogs[0][**key]).is_empty());

    let mut out = String::from(
        "/// A user-visible string, named by its key in `locales/*.json`.\n\
         #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\npub enum Key {\n",
    );
    for key in &plain {
        writeln!(out, "    /// `{key}`\n    {},", variant(key)).unwrap();
    }
    out.push_str("}\n\nimpl Key {\n");
    writeln!(
        out,
        "    pub const ALL: [Key; {}] = [{}];",
        plain.len(),
        plain
            .iter()
            .map(|k| format!("Key::{}", variant(k)))
            .collect::<Vec<_>>()
            .join(", ")
    )
    .unwrap();
    for (locale, catalog) in LOCALES.iter().zip(&catalogs) {
        writeln!(
            out,
            "\n    pub fn {locale}(self) -> &'static str {{\n        match self {{"
        )
        .unwrap();
        for key in &plain {
            writeln!(
                out,
                "            Key::{} => {:?},",
                variant(key),
                catalog[*key]
            )
            .unwrap();
        }
        out.push_str("        }\n    }\n");
    }
    out.push_str("}\n\n");

    out.push_str(
        "/// A user-visible text with arguments, named by its key in\n\
         /// `locales/*.json`; each field fills the placeholder of its name.\n\
         #[derive(Clone, Copy)]\npub enum Msg<'a> {\n",
    );
    for key in &with_args {
        let fields: Vec<String> = placeholders(&catalogs[0][*key])
            .iter()
            .map(|name| format!("{name}: &'a dyn std::fmt::Display"))
            .collect();
        writeln!(
            out,
            "    /// `{key}`\n    {} {{ {} }},",
            variant(key),
            fields.join(", ")
        )
        .unwrap();
    }
    out.push_str("}\n\nimpl Msg<'_> {\n");
    for (locale, catalog) in LOCALES.iter().zip(&catalogs) {
        writeln!(
            out,
            "    pub fn {locale}(self) -> String {{\n        match self {{"
        )
        .unwrap();
        for key in &with_args {
            let names = placeholders(&catalog[*key]);
            writeln!(
                out,
                "            Msg::{} {{ {} }} => format!({:?}),",
                variant(key),
                names.iter().cloned().collect::<Vec<_>>().join(", "),
                format_string(&catalog[*key]),
            )
            .unwrap();
        }
        out.push_str("        }\n    }\n");
    }
    out.push_str("}\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("i18n_keys.rs");
    std::fs::write(target, out).unwrap();
}

/// The `{name}` placeholders of a text, each once.
fn placeholders(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .unwrap_or_else(|| panic!("an unclosed {{ in {text:?}"));
        let name = &after[..close];
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "placeholder {{{name}}} in {text:?}: placeholders are lowercase words"
        );
        names.insert(name.to_owned());
        rest = &after[close + 1..];
    }
    names
}

/// The text as a `format!` string: its placeholders become inline
/// arguments and every other brace is literal (there are none: a `{`
/// always opens a placeholder, so only `}` outside one needs escaping).
fn format_string(text: &str) -> String {
    let mut out = String::new();
    let mut in_placeholder = false;
    for c in text.chars() {
        match c {
            '{' => in_placeholder = true,
            '}' if in_placeholder => in_placeholder = false,
            '}' => {
                out.push('}');
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// `area.visits.title` becomes `AreaVisitsTitle`.
fn variant(key: &str) -> String {
    key.split(['.', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
