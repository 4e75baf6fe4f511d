//! Reads pinned versions out of `Cargo.lock`, so tools always match the crates.

use anyhow::{Context, bail};

/// The version of `package` that `Cargo.lock` resolved. More than one version
/// is an error: the CLI tool can match only one.
pub fn locked_version(lock: &str, package: &str) -> anyhow::Result<String> {
    let lock: toml::Table = toml::from_str(lock).context("Cargo.lock is not valid TOML")?;
    let packages = lock
        .get("package")
        .and_then(|p| p.as_array())
        .context("Cargo.lock has no [[package]] entries")?;
    let mut versions: Vec<&str> = packages
        .iter()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some(package))
        .filter_map(|p| p.get("version").and_then(|v| v.as_str()))
        .collect();
    versions.dedup();
    match versions.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => bail!("{package} is not in Cargo.lock"),
        many => bail!("Cargo.lock holds several versions of {package}: {many:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.130"

[[package]]
name = "serde"
version = "1.0.219"
"#;

    #[test]
    fn finds_the_exact_package_not_a_prefix_match() {
        assert_eq!(locked_version(LOCK, "wasm-bindgen").unwrap(), "0.2.130");
        assert_eq!(locked_version(LOCK, "serde").unwrap(), "1.0.219");
    }

    #[test]
    fn missing_and_ambiguous_packages_are_errors() {
        let err = locked_version(LOCK, "trunk").unwrap_err().to_string();
        assert!(err.contains("not in Cargo.lock"), "{err}");
        let twice = format!("{LOCK}\n[[package]]\nname = \"serde\"\nversion = \"0.9.0\"\n");
        let err = locked_version(&twice, "serde").unwrap_err().to_string();
        assert!(err.contains("several versions"), "{err}");
    }

    #[test]
    fn the_workspace_lock_pins_wasm_bindgen() {
        let lock = std::fs::read_to_string(crate::shell::root().join("Cargo.lock")).unwrap();
        assert_eq!(locked_version(&lock, "wasm-bindgen").unwrap(), "0.2.130");
    }
}
