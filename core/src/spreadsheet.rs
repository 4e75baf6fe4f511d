//! Text that a spreadsheet would run: CSV formula injection (OWASP, "CSV
//! Injection"). Excel, WPS and LibreOffice treat a cell starting with `=`,
//! `+`, `-` or `@` (and, after trimming, a tab or carriage return) as a
//! formula, so a head of household typed as `=HYPERLINK(…)` becomes a live
//! link in the coordinator's export. The one rule, shared by every CSV
//! export and by the roster import.

use std::borrow::Cow;

/// The first characters that make a spreadsheet read a cell as a formula.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would read `text` as a formula.
pub fn looks_like_formula(text: &str) -> bool {
    text.starts_with(FORMULA_STARTS)
}

/// `text` as a cell a spreadsheet shows as text: prefixed with a single
/// quote when it would otherwise be a formula (OWASP's advice). A phone
/// number written `+86 138…` gets the quote too; spreadsheets hide it.
pub fn neutralise_formula(text: &str) -> Cow<'_, str> {
    if looks_like_formula(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_get_a_quote_and_text_stays_as_it_is() {
        for formula in [
            "=1+1",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "=HYPERLINK(\"http://x\",\"y\")",
            "\t=1",
            "\r=1",
            "+86 138 0000 0000",
        ] {
            assert!(looks_like_formula(formula), "{formula:?}");
            assert_eq!(neutralise_formula(formula), format!("'{formula}"));
        }
        for text in ["王芳", "3-101", "1+1", "", " =1", "'=1", "备注: =1"] {
            assert!(!looks_like_formula(text), "{text:?}");
            assert_eq!(neutralise_formula(text), text);
        }
    }
}
