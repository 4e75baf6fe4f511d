//! `POST /api/sync`: one request pushes a batch of outbox entries and pulls
//! one page of changes, without the push's own edits (the phone has them).
//! The body may come gzipped (phones gzip their pushes). Inflating,
//! decoding and checks happen before the store is touched, so bad input
//! changes nothing.

use std::io::Read;

use axum::{
    Json,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header::CONTENT_ENCODING},
};
use doorstep_core::api::{ApiError, ErrorCode};
use doorstep_core::sync::{BODY_ENCODING, MAX_BODY_BYTES, RequestError, SyncRequest, SyncResponse};
use utoipa_axum::{
    router::{UtoipaMethodRouter, UtoipaMethodRouterExt},
    routes,
};

use crate::{AppState, api::DeviceRefusals, auth::Caller, error::AppError, now_ms};

/// The route, with its larger body limit.
pub fn route() -> UtoipaMethodRouter<AppState> {
    routes!(sync).layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Push a batch of outbox entries and pull one page of a compound's changes.
///
/// The push is one transaction: all of the batch or none. Mids at or below
/// the client's `last_mid` are retries and are not applied again (each must
/// carry the edit first acknowledged under it, else 409 `mid_reused`); a
/// refused mutation is recorded, reported in `rejected` and passed. A
/// request refused as a whole (4xx) stores nothing.
#[utoipa::path(post, path = "/sync", security(("device" = [])),
    request_body(content = SyncRequest, description = "At most 256 KiB, also once inflated: \
        the body may be gzipped (`Content-Encoding: gzip`; phones gzip pushes of 1 KiB or more)."),
    responses(
        (status = 200, description = "The batch is stored (or was already); the page follows the request's cursor.", body = SyncResponse),
        (status = 400, description = "The body is not this endpoint's JSON (`malformed`, with the JSON path in `field`), or says it is gzip and is not (`body_rejected`).", body = ApiError),
        (status = 409, description = "The batch skips mids the server has not seen (`mid_gap`) or reuses an acknowledged mid with another edit (`mid_reused`).", body = ApiError),
        (status = 413, description = "Too much in one request (`too_many_mutations`, or a body over 256 KiB, also once inflated: `body_rejected`).", body = ApiError),
        (status = 415, description = "A `Content-Encoding` other than `gzip` (`unsupported_media_type`).", body = ApiError),
        (status = 422, description = "Well-formed, but no server state could accept it (`unsupported_schema`, `invalid`, `clock_ahead`).", body = ApiError),
        (status = 500, description = "The server holds data it cannot read (`corrupt`).", body = ApiError),
        (status = 503, description = "The database did not answer (`store_unavailable`) or a concurrent push took an id (`busy`); retry.", body = ApiError),
        DeviceRefusals,
    ))]
pub async fn sync(
    State(state): State<AppState>,
    Caller(device): Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SyncResponse>, AppError> {
    let body = body.map_err(|rejection| {
        AppError::new(
            rejection.status(),
            ErrorCode::BodyRejected,
            rejection.body_text(),
        )
    })?;
    let body = inflate(&headers, body)?;
    let request = decode(&body)?;
    let now = now_ms();
    request.check(now)?;
    let scope = state.store.scope_of(&device).await?;
    // Before the push: a pull the device may not make refuses the whole
    // request, which must then have stored nothing.
    if let Some(pull) = &request.pull {
        scope.check_pull(pull)?;
    }
    let pushed = state.store.push(&device, &scope, &request, now).await?;
    crate::live::after_push(&state, &device, &request).await?;
    let pull = match &request.pull {
        // The scope again: the push may have changed it (an assignment).
        // What this push wrote is on the phone already: not sent back.
        Some(pull) => Some(
            state
                .store
                .pull(&state.store.scope_of(&device).await?, pull)
                .await?
                .without_echo(&request.mutations),
        ),
        None => None,
    };
    state.store.touch_device(&device.id, now).await?;
    Ok(Json(SyncResponse {
        last_mid: pushed.last_mid,
        rejected: pushed.rejected,
        pull,
        server_time_ms: now,
    }))
}

/// The body as sent, or inflated when it says it is gzipped: at most
/// [`MAX_BODY_BYTES`] either way. Any other encoding is refused (415).
fn inflate(headers: &HeaderMap, body: Bytes) -> Result<Bytes, AppError> {
    let Some(encoding) = headers.get(CONTENT_ENCODING) else {
        return Ok(body);
    };
    let encoding = String::from_utf8_lossy(encoding.as_bytes());
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" => Ok(body),
        BODY_ENCODING => {
            let mut inflated = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .take(MAX_BODY_BYTES as u64 + 1)
                .read_to_end(&mut inflated)
                .map_err(|err| {
                    AppError::bad_request(
                        ErrorCode::BodyRejected,
                        format!("the body is not readable gzip: {err}"),
                    )
                })?;
            if inflated.len() > MAX_BODY_BYTES {
                return Err(AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::BodyRejected,
                    format!("the body inflates past {MAX_BODY_BYTES} bytes"),
                ));
            }
            Ok(inflated.into())
        }
        other => Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!(
                "a body encoded as {other:?} is not taken; send it as is or as {BODY_ENCODING}"
            ),
        )),
    }
}

/// Parses the body, naming the JSON path of the first problem.
pub fn decode(body: &[u8]) -> Result<SyncRequest, RequestError> {
    if !crate::api::is_json_object(body) {
        return Err(RequestError::Malformed {
            field: None,
            message: "expected a JSON object {client_id, schema_version, mutations, pull?}".into(),
        });
    }
    // The plain parse first; only a body it refuses is parsed again to
    // name where (tracking the path costs every good push).
    if let Ok(request) = serde_json::from_slice(body) {
        return Ok(request);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        RequestError::Malformed {
            field: (path != ".").then_some(path),
            message: err.into_inner().to_string(),
        }
    })
}
