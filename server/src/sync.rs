//! `POST /api/sync`: one request pushes a batch of outbox entries and pulls
//! one page of changes, without the push's own edits (the phone has them).
//! Decoding and checks happen before the store is touched, so bad input
//! changes nothing.

use axum::{
    Json,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    routing::{MethodRouter, post},
};
use doorstep_core::api::ErrorCode;
use doorstep_core::sync::{MAX_BODY_BYTES, RequestError, SyncRequest, SyncResponse};

use crate::{AppState, auth::Caller, error::AppError, now_ms};

pub fn route() -> MethodRouter<AppState> {
    post(sync).layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

async fn sync(
    State(state): State<AppState>,
    Caller(device): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SyncResponse>, AppError> {
    let body = body.map_err(|rejection| {
        AppError::new(
            rejection.status(),
            ErrorCode::BodyRejected,
            rejection.body_text(),
        )
    })?;
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
    crate::live::after_push(&state, &device.compound, &request).await?;
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

/// Parses the body, naming the JSON path of the first problem.
pub fn decode(body: &[u8]) -> Result<SyncRequest, RequestError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        RequestError::Malformed {
            field: (path != ".").then_some(path),
            message: err.into_inner().to_string(),
        }
    })
}
