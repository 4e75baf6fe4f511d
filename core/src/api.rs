//! Wire types of the HTTP API that are not part of sync: one definition,
//! serialised by the server and read by the app.

use serde::{Deserialize, Serialize};

/// Answer of `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The server's crate version.
    pub version: String,
    pub storage: StorageInfo,
}

/// Which store backs the server, and what it reported when last asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageInfo {
    pub backend: StorageBackend,
    /// Version string the database engine itself reports, proving it answered.
    pub engine_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Sqlite,
    Postgres,
}

/// One entry of `GET /api/compounds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompoundSummary {
    pub id: crate::ids::CompoundId,
    /// Display name, e.g. 永安社区.
    pub name: String,
}

/// The one error shape of the API: `{code, message, field?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable, machine-readable code such as `not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The offending input field, when one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON shape is a contract with deployed phones: pin it.
    #[test]
    fn health_json_shape() {
        let health = Health {
            version: "1.2.3".into(),
            storage: StorageInfo {
                backend: StorageBackend::Sqlite,
                engine_version: "3.46.0".into(),
            },
        };
        let json = serde_json::to_string(&health).unwrap();
        assert_eq!(
            json,
            r#"{"version":"1.2.3","storage":{"backend":"sqlite","engine_version":"3.46.0"}}"#
        );
        assert_eq!(serde_json::from_str::<Health>(&json).unwrap(), health);
    }

    #[test]
    fn api_error_omits_absent_field() {
        let err = ApiError {
            code: "not_found".into(),
            message: "no such route".into(),
            field: None,
        };
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":"not_found","message":"no such route"}"#
        );
    }
}
