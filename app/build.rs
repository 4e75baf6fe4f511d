//! Turns `locales/{zh,en}.json` into a `Key` enum, so a missing or misspelt
//! translation is a compile error rather than a blank button on a phone.

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
        }
    }

    let mut out = String::from(
        "/// A user-visible string, named by its key in `locales/*.json`.\n\
         #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\npub enum Key {\n",
    );
    for key in &keys {
        writeln!(out, "    /// `{key}`\n    {},", variant(key)).unwrap();
    }
    out.push_str("}\n\nimpl Key {\n");
    writeln!(
        out,
        "    pub const ALL: [Key; {}] = [{}];",
        keys.len(),
        keys.iter()
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
        for (key, text) in catalog {
            writeln!(out, "            Key::{} => {text:?},", variant(key)).unwrap();
        }
        out.push_str("        }\n    }\n");
    }
    out.push_str("}\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("i18n_keys.rs");
    std::fs::write(target, out).unwrap();
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
