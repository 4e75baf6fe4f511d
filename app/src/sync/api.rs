//! HTTP calls to the server. Failures are sorted into what the app can do
//! about them: wait for a network, or show the server's reason.

use doorstep_core::{
    api::{
        ApiError, DeviceInfo, DeviceUpdate, ErrorCode, EventTicket, HelpSwitch, HistoryChange,
        Invite, InviteRequest, NewInvite, RedeemRequest, Redeemed, RefusedEdit, Session,
    },
    district::DistrictTotals,
    ids::{CompoundId, DistrictId},
    roster::RosterReport,
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

/// What an authenticated call needs: the device token and its compound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub token: String,
    pub compound: CompoundId,
}

impl Credentials {
    /// An endpoint under this compound, e.g. `ledgers.xlsx`.
    pub fn url(&self, rest: &str) -> String {
        format!("{}/api/compounds/{}/{rest}", origin(), self.compound)
    }
}

pub async fn sync(request: &SyncRequest, token: &str) -> Result<SyncResponse, ApiFailure> {
    let response = reqwest::Client::new()
        .post(format!("{}/api/sync", origin()))
        .bearer_auth(token)
        .json(request)
        .send()
        .await;
    read(response).await
}

/// Trades an invite code for this phone's token.
pub async fn redeem(code: &str, label: &str) -> Result<Redeemed, ApiFailure> {
    let request = RedeemRequest {
        code: code.to_owned(),
        label: label.to_owned(),
    };
    let response = reqwest::Client::new()
        .post(format!("{}/api/redeem", origin()))
        .json(&request)
        .send()
        .await;
    read(response).await
}

/// A short-lived ticket to open this device's live stream ([`super::live`]).
pub async fn event_ticket(token: &str) -> Result<EventTicket, ApiFailure> {
    let response = reqwest::Client::new()
        .post(format!("{}/api/events/ticket", origin()))
        .bearer_auth(token)
        .send()
        .await;
    read(response).await
}

/// A district's totals, for an official of it.
pub async fn district_totals(
    token: &str,
    district: &DistrictId,
) -> Result<DistrictTotals, ApiFailure> {
    get(
        format!("{}/api/districts/{district}/totals", origin()),
        token,
    )
    .await
}

/// Where an official's phone downloads its district's workbook.
pub fn district_xlsx_url(district: &DistrictId) -> String {
    format!("{}/api/districts/{district}/totals.xlsx", origin())
}

pub async fn session(token: &str) -> Result<Session, ApiFailure> {
    get(format!("{}/api/session", origin()), token).await
}

pub async fn create_invite(
    credentials: &Credentials,
    request: &InviteRequest,
) -> Result<NewInvite, ApiFailure> {
    let response = reqwest::Client::new()
        .post(credentials.url("invites"))
        .bearer_auth(&credentials.token)
        .json(request)
        .send()
        .await;
    read(response).await
}

pub async fn invites(credentials: &Credentials) -> Result<Vec<Invite>, ApiFailure> {
    get(credentials.url("invites"), &credentials.token).await
}

/// Cancels an invite: its code no longer signs anyone in.
pub async fn revoke_invite(credentials: &Credentials, id: &str) -> Result<(), ApiFailure> {
    let response = reqwest::Client::new()
        .delete(credentials.url(&format!("invites/{id}")))
        .bearer_auth(&credentials.token)
        .send()
        .await;
    let response = response.map_err(|e| ApiFailure::Unreachable(e.to_string()))?;
    if response.status().is_success() {
        return Ok(());
    }
    Err(refusal(response).await)
}

pub async fn devices(credentials: &Credentials) -> Result<Vec<DeviceInfo>, ApiFailure> {
    get(credentials.url("devices"), &credentials.token).await
}

pub async fn update_device(
    credentials: &Credentials,
    id: &str,
    update: &DeviceUpdate,
) -> Result<DeviceInfo, ApiFailure> {
    let response = reqwest::Client::new()
        .post(credentials.url(&format!("devices/{id}")))
        .bearer_auth(&credentials.token)
        .json(update)
        .send()
        .await;
    read(response).await
}

async fn get<T: DeserializeOwned>(url: String, token: &str) -> Result<T, ApiFailure> {
    read(
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await,
    )
    .await
}

async fn read<T: DeserializeOwned>(
    response: reqwest::Result<reqwest::Response>,
) -> Result<T, ApiFailure> {
    let response = response.map_err(|e| ApiFailure::Unreachable(e.to_string()))?;
    if response.status().is_success() {
        return response
            .json()
            .await
            .map_err(|e| ApiFailure::Unreachable(e.to_string()));
    }
    Err(refusal(response).await)
}

/// An error answer as the server explained it.
async fn refusal(response: reqwest::Response) -> ApiFailure {
    let status = response.status().as_u16();
    let error = response
        .json::<ApiError>()
        .await
        .unwrap_or_else(|_| ApiError {
            code: ErrorCode::HttpError,
            message: format!("HTTP {status}"),
            field: None,
        });
    ApiFailure::Refused { status, error }
}

/// Uploads a roster file for a dry run or the real (all-or-nothing) import.
/// `map` lists extra header mappings, `列名=field,…`.
pub async fn import_roster(
    credentials: &Credentials,
    file_name: &str,
    bytes: Vec<u8>,
    map: &str,
    dry_run: bool,
    accept_care: bool,
) -> Result<RosterReport, ApiFailure> {
    let response = reqwest::Client::new()
        .post(credentials.url("roster"))
        .bearer_auth(&credentials.token)
        .query(&[
            ("file", file_name),
            ("map", map),
            ("dry_run", if dry_run { "true" } else { "false" }),
            ("care", if accept_care { "true" } else { "false" }),
        ])
        .body(bytes)
        .send()
        .await;
    read(response).await
}

pub async fn history(
    credentials: &Credentials,
    collection: &str,
    id: &str,
) -> Result<Vec<HistoryChange>, ApiFailure> {
    get(
        credentials.url(&format!("history/{collection}/{id}")),
        &credentials.token,
    )
    .await
}

/// The compound's refused edits, newest first (coordinators only).
pub async fn refused(credentials: &Credentials) -> Result<Vec<RefusedEdit>, ApiFailure> {
    get(credentials.url("refused"), &credentials.token).await
}

/// When each team's visits last reached the server (Unix ms by team id).
pub async fn freshness(
    credentials: &Credentials,
) -> Result<std::collections::BTreeMap<String, u64>, ApiFailure> {
    get(credentials.url("freshness"), &credentials.token).await
}

/// Whether the compound's building pages take residents' help requests.
pub async fn help_switch(credentials: &Credentials) -> Result<HelpSwitch, ApiFailure> {
    get(credentials.url("help"), &credentials.token).await
}

/// Turns residents' help requests on or off.
pub async fn set_help_switch(
    credentials: &Credentials,
    switch: HelpSwitch,
) -> Result<HelpSwitch, ApiFailure> {
    let response = reqwest::Client::new()
        .put(credentials.url("help"))
        .bearer_auth(&credentials.token)
        .json(&switch)
        .send()
        .await;
    read(response).await
}
