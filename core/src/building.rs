//! How a building is named to people: one label for the stall's buttons,
//! the resident page and the printed QR posters, so a building stored as
//! "1号楼" is never shown as "1号楼号楼".

/// The label of building `name`: a bare number or code ("1", "1号楼",
/// "12号", "B") is named by `numbered`, the language's pattern
/// ("{b}号楼", "Building {b}"); a name that says what it is ("综合楼",
/// "3栋", "A座") is shown as it is.
pub fn building_label(name: &str, numbered: impl FnOnce(&str) -> String) -> String {
    let name = name.trim();
    let bare = name
        .strip_suffix("号楼")
        .or_else(|| name.strip_suffix('号'))
        .unwrap_or(name)
        .trim();
    let is_code = !bare.is_empty()
        && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && bare
            .chars()
            .any(|c| c.is_ascii_digit() || bare.chars().count() <= 2);
    if is_code {
        numbered(bare)
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (stored name, label in Chinese, label in English)
    #[test]
    fn a_building_gets_its_suffix_once() {
        let cases = [
            ("1", "1号楼", "Building 1"),
            ("1号楼", "1号楼", "Building 1"),
            (" 12号楼 ", "12号楼", "Building 12"),
            ("12号", "12号楼", "Building 12"),
            ("B", "B号楼", "Building B"),
            ("3-2", "3-2号楼", "Building 3-2"),
            ("3栋", "3栋", "3栋"),
            ("综合楼", "综合楼", "综合楼"),
            ("A座", "A座", "A座"),
            ("North", "North", "North"),
        ];
        for (name, zh, en) in cases {
            assert_eq!(building_label(name, |b| format!("{b}号楼")), zh, "{name}");
            assert_eq!(
                building_label(name, |b| format!("Building {b}")),
                en,
                "{name}"
            );
        }
    }
}
