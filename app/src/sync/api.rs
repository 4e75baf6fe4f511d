//! HTTP calls to the server. Failures are sorted into what the app can do
//! about them: wait for a network, or show the server's reason.

use doorstep_core::{
    api::{ApiError, CompoundSummary},
    sync::{SyncRequest, SyncResponse},
};
use serde::de::DeserializeOwned;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiFailure {
    /// No answer: offline, server down, or the request was cut off.
    Unreachable(String),
    /// The server answered with an error.
    Refused { status: u16, error: ApiError },
}

/// The origin the app was loaded from; the API lives there too.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

pub async fn sync(request: &SyncRequest) -> Result<SyncResponse, ApiFailure> {
    let response = reqwest::Client::new()
        .post(format!("{}/api/sync", origin()))
        .json(request)
        .send()
        .await;
    read(response).await
}

pub async fn compounds() -> Result<Vec<CompoundSummary>, ApiFailure> {
    read(reqwest::get(format!("{}/api/compounds", origin())).await).await
}

async fn read<T: DeserializeOwned>(
    response: reqwest::Result<reqwest::Response>,
) -> Result<T, ApiFailure> {
    let response = response.map_err(|e| ApiFailure::Unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return response
            .json()
            .await
            .map_err(|e| ApiFailure::Unreachable(e.to_string()));
    }
    let error = response
        .json::<ApiError>()
        .await
        .unwrap_or_else(|_| ApiError {
            code: "http".into(),
            message: format!("HTTP {status}"),
            field: None,
        });
    Err(ApiFailure::Refused { status, error })
}

/// The public truck status of a compound (no login).
pub async fn public_runs(compound: &str) -> Result<doorstep_core::truck::PublicRuns, ApiFailure> {
    read(reqwest::get(format!("{}/api/public/runs/{compound}", origin())).await).await
}

/// What the server's roster import reports (see server/src/roster.rs).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct RosterReport {
    pub rows: Vec<RosterRow>,
    pub errors: Vec<RosterRowError>,
    pub ignored_columns: Vec<String>,
    pub imported: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct RosterRow {
    pub row: usize,
    pub fields: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct RosterRowError {
    pub row: usize,
    pub reason: String,
}

/// Uploads a roster file for a dry run or the real (all-or-nothing) import.
/// `map` lists extra header mappings, `列名=field,…`.
pub async fn import_roster(
    compound: &str,
    file_name: &str,
    bytes: Vec<u8>,
    map: &str,
    dry_run: bool,
) -> Result<RosterReport, ApiFailure> {
    let url = format!("{}/api/compounds/{compound}/roster", origin());
    let response = reqwest::Client::new()
        .post(url)
        .query(&[
            ("file", file_name),
            ("map", map),
            ("dry_run", if dry_run { "true" } else { "false" }),
        ])
        .body(bytes)
        .send()
        .await;
    read(response).await
}

/// One change in a record's history (see server/src/audit.rs).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct HistoryChange {
    pub device: String,
    pub kind: String,
    pub fields: std::collections::BTreeMap<String, serde_json::Value>,
    pub made_at_ms: u64,
    pub received_at_ms: u64,
    #[serde(default)]
    pub rejected: Option<String>,
}

pub async fn history(
    compound: &str,
    collection: &str,
    id: &str,
) -> Result<Vec<HistoryChange>, ApiFailure> {
    read(
        reqwest::get(format!(
            "{}/api/compounds/{compound}/history/{collection}/{id}",
            origin()
        ))
        .await,
    )
    .await
}

/// When each team's visits last reached the server (Unix ms by team id).
pub async fn freshness(
    compound: &str,
) -> Result<std::collections::BTreeMap<String, u64>, ApiFailure> {
    read(reqwest::get(format!("{}/api/compounds/{compound}/freshness", origin())).await).await
}
