//! Identifiers. Records and clients get UUIDs made on the phone, so a record
//! created offline already has its permanent id.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// One IndexedDB instance. A phone that loses its local data makes a new one;
/// an old id is never reused, so mutation ids never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(uuid::Uuid);

impl ClientId {
    pub fn from_u128(n: u128) -> Self {
        Self(uuid::Uuid::from_u128(n))
    }

    pub fn from_uuid(id: uuid::Uuid) -> Self {
        Self(id)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for ClientId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| format!("not a UUID: {s:?}"))
    }
}

/// Ids of records and compounds: 1–64 characters of `[A-Za-z0-9_-]`, so they
/// are safe in URLs, file names and log lines.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                let valid = (1..=64).contains(&s.len())
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if valid {
                    Ok(Self(s))
                } else {
                    Err(format!("{} must be 1-64 characters of A-Z a-z 0-9 - _: {s:?}", stringify!($name)))
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::try_from(s.to_owned())
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::from_json(serde_json::json!({
                    "type": "string",
                    "pattern": $crate::openapi::TEXT_ID_PATTERN,
                }))
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

text_id!(
    /// A record's permanent id, unique within its collection.
    RecordId
);
text_id!(
    /// A compound (小区): the unit of tenancy and of pulling.
    CompoundId
);
text_id!(
    /// A district (区, or a 街道 office's area): compounds grouped for the
    /// totals its officials see.
    DistrictId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_ids_accept_safe_strings_only() {
        assert!("a1-b_2".parse::<RecordId>().is_ok());
        assert!("".parse::<RecordId>().is_err());
        assert!("has space".parse::<CompoundId>().is_err());
        assert!("楼".parse::<CompoundId>().is_err());
        assert!("x".repeat(65).parse::<RecordId>().is_err());
        let err = serde_json::from_str::<RecordId>("\"a/b\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("RecordId must be"), "{err}");
    }

    #[test]
    fn client_ids_are_uuids() {
        let id = ClientId::from_u128(42);
        assert_eq!(id.to_string().parse::<ClientId>().unwrap(), id);
        assert!("42".parse::<ClientId>().is_err());
    }
}
