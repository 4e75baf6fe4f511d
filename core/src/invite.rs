//! Invite codes as people type them: ten characters of Crockford's base32
//! (no I, L, O or U), shown as two groups of five. Typing is forgiving:
//! case, spaces and dashes are ignored, and the letters that look like
//! digits read as those digits.

/// The 32 symbols, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code: 50 bits, about 10^15 codes.
pub const LEN: usize = 10;
/// Most phones one invite may sign in.
pub const MAX_USES: u32 = 500;
/// Longest an invite may stay valid, in hours (30 days).
pub const MAX_HOURS: u32 = 30 * 24;

/// The code from 10 symbol values (each below 32), in display form.
pub fn from_values(values: [u8; LEN]) -> String {
    let text: String = values
        .iter()
        .map(|&v| ALPHABET[usize::from(v % 32)] as char)
        .collect();
    display(&text)
}

/// `ABCDE-FGHJK` from the normalized form.
pub fn display(normalized: &str) -> String {
    let (a, b) = normalized.split_at(normalized.len().min(LEN / 2));
    format!("{a}-{b}")
}

/// The canonical form of typed or scanned input, or `None` when it cannot
/// be a code (so it is refused without touching the store).
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(LEN);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\u{3000}' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if ALPHABET.contains(&(c as u8)) && c.is_ascii() => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == LEN).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_forgiving() {
        for (typed, want) in [
            ("7K2QM-X9D4T", Some("7K2QM X9D4T")),
            ("7k2qm x9d4t", Some("7K2QM X9D4T")),
            ("7K2QMX9D4T", Some("7K2QM X9D4T")),
            ("OIL00-11111", Some("01100 11111")),
            ("7K2QM-X9D4", None),
            ("7K2QM-X9D4TT", None),
            ("7K2QM-X9D4U", None),
            ("７K2QM-X9D4T", None),
            ("", None),
        ] {
            assert_eq!(
                normalize(typed),
                want.map(|w| w.replace(' ', "")),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn codes_display_in_two_groups_and_normalize_back() {
        let code = from_values([0, 1, 2, 3, 4, 27, 28, 29, 30, 31]);
        assert_eq!(code, "01234-VWXYZ");
        assert_eq!(normalize(&code).as_deref(), Some("01234VWXYZ"));
    }
}
