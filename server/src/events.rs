//! `/api/events`: a signed-in phone's live stream. Each push to a compound
//! pokes the streams of that compound's phones but the pusher's own (on this
//! instance directly, on others through [`crate::live::relay`]), and a
//! poked phone pulls at once instead of at its next poll. A poke says only "pull now": what the
//! phone may see is decided, as always, by `/api/sync`.
//!
//! An `EventSource` cannot send the bearer token, so the stream is opened
//! with a ticket from `POST /api/events/ticket`: the device id and an expiry,
//! signed with the server's secret (so any instance of a shared store can
//! check it), good for [`TICKET_MS`]. The device must still be signed in
//! when the stream opens.

use std::{convert::Infallible, time::Duration};

use axum::{
    Json,
    extract::{Query, State},
    http::StatusCode,
    response::{
        IntoResponse,
        sse::{Event, KeepAlive, Sse},
    },
};
use doorstep_core::api::ErrorCode;
use doorstep_core::api::{EVENT_POKE, EVENT_READY, EventTicket};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::{AppState, auth::Caller, error::AppError, now_ms};

/// How long a ticket may be used to open a stream.
pub const TICKET_MS: u64 = 5 * 60 * 1000;

/// A ticket to open this device's live stream.
///
/// Good for 5 minutes, for `GET /api/events`: an `EventSource` cannot send
/// the bearer token.
#[utoipa::path(post, path = "/events/ticket", security(("device" = [])),
    responses(
        (status = 200, description = "The ticket and when it expires (server clock).", body = EventTicket),
        crate::api::DeviceRefusals,
    ))]
pub async fn ticket(State(state): State<AppState>, Caller(device): Caller) -> Json<EventTicket> {
    let expires_ms = now_ms() + TICKET_MS;
    Json(EventTicket {
        ticket: sign(&state, &device.id, expires_ms),
        expires_ms,
    })
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Ticket {
    /// From `POST /api/events/ticket`.
    ticket: String,
}

/// Server-sent events: `ready`, then a `poke` per change to the device's
/// compound. A missed poke (the stream fell behind) is sent as a poke.
#[utoipa::path(get, path = "/events", params(Ticket),
    responses(
        (status = 200, description = "An event stream: `event: ready` once connected, then `event: poke` whenever the compound has new changes to pull.", content_type = "text/event-stream", body = crate::api::ServerSentEvent),
        (status = 204, description = "No streams here (the serverless build): poll instead."),
        (status = 400, description = "No ticket in the query (`malformed`).", body = doorstep_core::api::ApiError),
        (status = 401, description = "The ticket is not valid (`invalid_ticket`: expired, forged, or its device unknown) or the device was revoked (`device_revoked`).", body = doorstep_core::api::ApiError),
    ))]
pub async fn stream(
    State(state): State<AppState>,
    Query(Ticket { ticket }): Query<Ticket>,
) -> Result<impl IntoResponse, AppError> {
    let device = holder(&state, &ticket, now_ms()).await?;
    let mut pokes = state.live.subscribe_pokes();
    let mut closing = state.live.closing();
    let (sender, receiver) = mpsc::channel::<Result<Event, Infallible>>(4);
    tokio::spawn(async move {
        let event = |name: &str| Ok(Event::default().event(name).data(name));
        if sender.send(event(EVENT_READY)).await.is_err() {
            return;
        }
        loop {
            let poke = tokio::select! {
                () = sender.closed() => return, // the phone went away
                _ = closing.wait_for(|closing| *closing) => return,
                poke = pokes.recv() => poke,
            };
            let wanted = match poke {
                Ok(poke) => poke.is_for(&device.id, &device.compound),
                Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => return,
            };
            if wanted && sender.send(event(EVENT_POKE)).await.is_err() {
                return;
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(receiver))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn sign(state: &AppState, device: &str, expires_ms: u64) -> String {
    let mac = state
        .store
        .secret_hash(&format!("events {device} {expires_ms}"));
    format!("{device}.{expires_ms}.{mac}")
}

/// The signed-in device a ticket was given to, if it is unexpired, signed
/// here, and the device is still signed in.
async fn holder(
    state: &AppState,
    ticket: &str,
    now: u64,
) -> Result<crate::store::Device, AppError> {
    let invalid = || {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidTicket,
            "this stream ticket is not valid (expired or not from this server); ask for a new one",
        )
    };
    let mut parts = ticket.rsplitn(3, '.');
    let (Some(_signature), Some(expires), Some(device)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let expires_ms: u64 = expires.parse().map_err(|_| invalid())?;
    let expected = sign(state, device, expires_ms);
    if expires_ms < now || !same(expected.as_bytes(), ticket.as_bytes()) {
        return Err(invalid());
    }
    let device = state
        .store
        .device_by_id(device)
        .await?
        .ok_or_else(invalid)?;
    // Signed out since the ticket was given: as `/api/sync` would answer.
    Caller::check_active(&device)?;
    Ok(device)
}

/// Compares without an early exit, so timing says nothing of the signature.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
