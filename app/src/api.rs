//! The HTTP client: every call to the server's `/api` but the sync
//! engine's own ([`crate::sync`] posts `/api/sync` and asks for its live
//! stream's ticket through [`post`]): signing in, sessions, invites, devices, roster
//! uploads, a record's history, refused edits, freshness, the help switch
//! and a district's totals. Failures are sorted into what the app can do
//! about them: wait for a network, or show the server's reason.

use std::collections::BTreeMap;

use doorstep_core::{
    api::{
        ApiError, DeviceInfo, DeviceUpdate, ErrorCode, HelpSwitch, HistoryChange, Invite,
        InviteRequest, NewInvite, RedeemRequest, Redeemed, RefusedEdit, Session,
    },
    district::DistrictTotals,
    ids::DistrictId,
    roster::RosterReport,
    sync::BODY_ENCODING,
};
use gloo_net::http::{Method, Request, RequestBuilder, Response};
use serde::{Serialize, de::DeserializeOwned};

use crate::credentials::Credentials;

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

/// An endpoint of the server's, e.g. `/api/session`.
pub fn url(path: &str) -> String {
    format!("{}{path}", origin())
}

/// An endpoint under the credentials' compound, e.g. `ledgers.xlsx`.
pub fn compound_url(credentials: &Credentials, rest: &str) -> String {
    url(&format!("/api/compounds/{}/{rest}", credentials.compound))
}

/// What a request carries.
pub enum Body<'a, B: Serialize> {
    Empty,
    Json(&'a B),
    /// JSON that the server takes gzipped (`/api/sync`): sent so when it
    /// is long enough to gain and the browser can gzip.
    GzipJson(&'a B),
}

/// Below this a gzipped body gains too little to pay for the stream.
const GZIP_FROM_BYTES: usize = 1024;

/// No body, when `B` cannot be inferred.
pub const EMPTY: Body<'static, ()> = Body::Empty;

/// Posts to `url`, with the device's token when given, and reads the JSON
/// answer.
pub async fn post<B: Serialize, T: DeserializeOwned>(
    url: String,
    token: Option<&str>,
    body: Body<'_, B>,
) -> Result<T, ApiFailure> {
    send(Method::POST, url, token, body).await
}

async fn send<B: Serialize, T: DeserializeOwned>(
    method: Method,
    url: String,
    token: Option<&str>,
    body: Body<'_, B>,
) -> Result<T, ApiFailure> {
    let request = authorized(RequestBuilder::new(&url).method(method), token);
    let request = match body {
        Body::Empty => request.build(),
        Body::Json(body) => request.json(body),
        Body::GzipJson(body) => match serde_json::to_vec(body) {
            Ok(json) => match gzip(&json).await {
                Some(gzipped) => request
                    .header("Content-Type", "application/json")
                    .header("Content-Encoding", BODY_ENCODING)
                    .body(js_sys::Uint8Array::from(&gzipped[..])),
                None => request.json(body),
            },
            Err(err) => Err(err.into()),
        },
    };
    read(request).await
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The browser's own gzip (Compression Streams): no encoder in the
    /// app's WASM.
    type CompressionStream;
    #[wasm_bindgen(constructor, catch)]
    fn new(format: &str) -> Result<CompressionStream, wasm_bindgen::JsValue>;
}

/// `json` gzipped by the browser; `None` when too short to gain, or when
/// the browser cannot (then it goes as it is).
async fn gzip(json: &[u8]) -> Option<Vec<u8>> {
    use wasm_bindgen::JsCast;
    if json.len() < GZIP_FROM_BYTES {
        return None;
    }
    let stream = CompressionStream::new(BODY_ENCODING).ok()?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(json));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).ok()?;
    let gzipped = blob
        .stream()
        .pipe_through(stream.unchecked_ref::<web_sys::ReadableWritablePair>());
    let response = web_sys::Response::new_with_opt_readable_stream(Some(&gzipped)).ok()?;
    let buffer = wasm_bindgen_futures::JsFuture::from(response.array_buffer().ok()?)
        .await
        .ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The request with the device's bearer token, when given.
fn authorized(request: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(token) => request.header("Authorization", &format!("Bearer {token}")),
        None => request,
    }
}

async fn get<T: DeserializeOwned>(url: String, token: &str) -> Result<T, ApiFailure> {
    send(Method::GET, url, Some(token), EMPTY).await
}

fn unreachable(err: gloo_net::Error) -> ApiFailure {
    ApiFailure::Unreachable(err.to_string())
}

async fn read<T: DeserializeOwned>(
    request: Result<Request, gloo_net::Error>,
) -> Result<T, ApiFailure> {
    answered(request).await?.json().await.map_err(unreachable)
}

/// Sends the request: a success answer, or the failure it stands for.
async fn answered(request: Result<Request, gloo_net::Error>) -> Result<Response, ApiFailure> {
    let response = request
        .map_err(unreachable)?
        .send()
        .await
        .map_err(unreachable)?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let error = response
        .json::<ApiError>()
        .await
        .unwrap_or_else(|_| ApiError {
            code: ErrorCode::HttpError,
            message: format!("HTTP {status}"),
            field: None,
        });
    Err(ApiFailure::Refused { status, error })
}

/// Trades an invite code for this phone's token.
pub async fn redeem(code: &str, label: &str) -> Result<Redeemed, ApiFailure> {
    let request = RedeemRequest {
        code: code.to_owned(),
        label: label.to_owned(),
    };
    post(url("/api/redeem"), None, Body::Json(&request)).await
}

pub async fn session(token: &str) -> Result<Session, ApiFailure> {
    get(url("/api/session"), token).await
}

/// A district's totals, for an official of it.
pub async fn district_totals(
    token: &str,
    district: &DistrictId,
) -> Result<DistrictTotals, ApiFailure> {
    get(url(&format!("/api/districts/{district}/totals")), token).await
}

/// Where an official's phone downloads its district's workbook.
pub fn district_xlsx_url(district: &DistrictId) -> String {
    url(&format!("/api/districts/{district}/totals.xlsx"))
}

pub async fn create_invite(
    credentials: &Credentials,
    request: &InviteRequest,
) -> Result<NewInvite, ApiFailure> {
    let url = compound_url(credentials, "invites");
    post(url, Some(&credentials.token), Body::Json(request)).await
}

pub async fn invites(credentials: &Credentials) -> Result<Vec<Invite>, ApiFailure> {
    get(compound_url(credentials, "invites"), &credentials.token).await
}

/// Cancels an invite: its code no longer signs anyone in.
pub async fn revoke_invite(credentials: &Credentials, id: &str) -> Result<(), ApiFailure> {
    let url = compound_url(credentials, &format!("invites/{id}"));
    let request = authorized(Request::delete(&url), Some(&credentials.token));
    answered(request.build()).await.map(|_| ())
}

pub async fn devices(credentials: &Credentials) -> Result<Vec<DeviceInfo>, ApiFailure> {
    get(compound_url(credentials, "devices"), &credentials.token).await
}

pub async fn update_device(
    credentials: &Credentials,
    id: &str,
    update: &DeviceUpdate,
) -> Result<DeviceInfo, ApiFailure> {
    let url = compound_url(credentials, &format!("devices/{id}"));
    post(url, Some(&credentials.token), Body::Json(update)).await
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
    let url = compound_url(credentials, "roster");
    let request = authorized(Request::post(&url), Some(&credentials.token)).query([
        ("file", file_name),
        ("map", map),
        ("dry_run", if dry_run { "true" } else { "false" }),
        ("care", if accept_care { "true" } else { "false" }),
    ]);
    read(request.body(js_sys::Uint8Array::from(bytes.as_slice()))).await
}

pub async fn history(
    credentials: &Credentials,
    collection: &str,
    id: &str,
) -> Result<Vec<HistoryChange>, ApiFailure> {
    let url = compound_url(credentials, &format!("history/{collection}/{id}"));
    get(url, &credentials.token).await
}

/// The compound's refused edits, newest first (coordinators only).
pub async fn refused(credentials: &Credentials) -> Result<Vec<RefusedEdit>, ApiFailure> {
    get(compound_url(credentials, "refused"), &credentials.token).await
}

/// When each team's visits last reached the server (Unix ms by team id).
pub async fn freshness(credentials: &Credentials) -> Result<BTreeMap<String, u64>, ApiFailure> {
    get(compound_url(credentials, "freshness"), &credentials.token).await
}

/// Whether the compound's building pages take residents' help requests.
pub async fn help_switch(credentials: &Credentials) -> Result<HelpSwitch, ApiFailure> {
    get(compound_url(credentials, "help"), &credentials.token).await
}

/// Turns residents' help requests on or off.
pub async fn set_help_switch(
    credentials: &Credentials,
    switch: HelpSwitch,
) -> Result<HelpSwitch, ApiFailure> {
    let url = compound_url(credentials, "help");
    send(
        Method::PUT,
        url,
        Some(&credentials.token),
        Body::Json(&switch),
    )
    .await
}
