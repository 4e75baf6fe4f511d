//! Turns `locales/{zh,en}.json`, the words people read for the schema's
//! names and vocabularies, into one sorted static table (`labels.rs`), so
//! the phone and the server's exports read the same words and a locale
//! missing a key fails the build.

use std::{collections::BTreeMap, fmt::Write, path::Path};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let read = |locale: &str| -> BTreeMap<String, String> {
        let path = dir.join(format!("{locale}.json"));
        println!("cargo::rerun-if-changed={}", path.display());
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let (zh, en) = (read("zh"), read("en"));
    assert_eq!(
        zh.keys().collect::<Vec<_>>(),
        en.keys().collect::<Vec<_>>(),
        "core/locales/en.json must have exactly the keys of core/locales/zh.json"
    );
    let mut out = format!("static LABELS: [(&str, &str, &str); {}] = [\n", zh.len());
    for (key, zh_text) in &zh {
        let en_text = &en[key];
        assert!(
            !zh_text.trim().is_empty() && !en_text.trim().is_empty(),
            "core/locales: {key} is empty"
        );
        writeln!(out, "    ({key:?}, {zh_text:?}, {en_text:?}),").unwrap();
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("labels_table.rs");
    std::fs::write(target, out).unwrap();
}
