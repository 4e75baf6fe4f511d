//! Whole numbers as JSON may spell them: `2` or `2.0` are one number in
//! JSON (and in JSON Schema's `integer`), so a reader that takes only the
//! first would refuse a value the API document admits.

use serde::{Deserializer, de};

/// The largest integer every JSON reader spells exactly as a float.
const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

/// `#[serde(deserialize_with = "crate::number::whole")]` for an unsigned
/// integer field: an integer, or a float with no fraction, in range.
pub fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    struct Whole;
    impl de::Visitor<'_> for Whole {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number, 0 or more")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<u64, E> {
            Ok(n)
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<u64, E> {
            u64::try_from(n).map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<u64, E> {
            if n.fract() == 0.0 && (0.0..=EXACT).contains(&n) {
                Ok(n as u64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(n), &self))
            }
        }
    }
    let n = deserializer.deserialize_any(Whole)?;
    T::try_from(n)
        .map_err(|_| de::Error::invalid_value(de::Unexpected::Unsigned(n), &"a smaller number"))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Count {
        #[serde(deserialize_with = "super::whole")]
        n: u32,
    }

    #[test]
    fn whole_floats_read_as_integers_and_nothing_else_does() {
        let read = |json: &str| serde_json::from_str::<Count>(json).map(|c| c.n);
        assert_eq!(read(r#"{"n": 138}"#).unwrap(), 138);
        assert_eq!(read(r#"{"n": 138.0}"#).unwrap(), 138);
        for bad in [
            r#"{"n": 1.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": 4294967296}"#,
            r#"{"n": "1"}"#,
            r#"{"n": 1e300}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
