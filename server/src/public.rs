//! Public endpoints for residents: no login, no personal data. Only truck
//! status, building names and the vendor's contact leave through here.

use std::{convert::Infallible, time::Duration};

use axum::{
    Json,
    extract::{Path, State},
    response::{
        IntoResponse,
        sse::{Event, KeepAlive, Sse},
    },
};
use doorstep_core::{
    ids::CompoundId,
    schema::Collection,
    truck::{PublicRun, PublicRuns},
};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, error::AppError, now_ms, store::Store};

/// The routes under `/api/public`, documented.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(runs))
        .routes(routes!(stream))
        .merge(crate::resident_page::api_routes())
}

/// The collections whose changes the resident page shows.
pub fn is_public(collection: Collection) -> bool {
    matches!(
        collection,
        Collection::Truck | Collection::Run | Collection::StopEvent
    )
}

/// The public view of a compound's runs, built from its synced records.
pub async fn public_runs(store: &Store, compound: &CompoundId) -> Result<PublicRuns, AppError> {
    let runs = store.records_of(compound, Collection::Run).await?;
    let trucks = store.records_of(compound, Collection::Truck).await?;
    let events = store.records_of(compound, Collection::StopEvent).await?;
    let mut runs: Vec<PublicRun> = runs
        .iter()
        .filter_map(|run| PublicRun::from_records(run, &trucks, &events))
        .collect();
    runs.sort_by(|a, b| (&a.date, &a.id).cmp(&(&b.date, &b.id)));
    Ok(PublicRuns {
        compound: compound.clone(),
        runs,
        server_time_ms: now_ms(),
    })
}

/// Renders and publishes a compound's status after a push changed it.
pub async fn publish(state: &AppState, compound: &CompoundId) -> Result<(), AppError> {
    let runs = public_runs(&state.store, compound).await?;
    let json = serde_json::to_string(&runs)
        .map_err(|e| AppError::from(crate::store::StoreError::Corrupt(e.to_string())))?;
    state.live.publish(runs, json);
    Ok(())
}

/// The compound named in a public URL, if it exists (else 404).
pub async fn known(state: &AppState, compound: &str) -> Result<CompoundId, AppError> {
    let compound: CompoundId = compound
        .parse()
        .map_err(|_| AppError::not_found("no such compound"))?;
    if !state.store.compound_exists(&compound).await? {
        return Err(AppError::not_found("no such compound"));
    }
    Ok(compound)
}

/// Public truck status of a compound.
///
/// Runs, stops, the latest tap per stop, the vendor's contact. No login, no
/// personal data.
#[utoipa::path(get, path = "/runs/{compound}", params(crate::api::CompoundPath),
    responses(
        (status = 200, description = "The compound's runs.", body = PublicRuns),
        (status = 404, description = "No such compound (`not_found`).", body = doorstep_core::api::ApiError),
    ))]
async fn runs(
    State(state): State<AppState>,
    Path(compound): Path<String>,
) -> Result<Json<PublicRuns>, AppError> {
    let compound = known(&state, &compound).await?;
    Ok(Json(public_runs(&state.store, &compound).await?))
}

/// Server-sent events: the current status at once, then every change.
#[utoipa::path(get, path = "/runs/{compound}/stream", params(crate::api::CompoundPath),
    responses(
        (status = 200, description = "An event stream: one `PublicRuns` JSON per `data:` message.", content_type = "text/event-stream", body = crate::api::ServerSentEvent),
        (status = 404, description = "No such compound (`not_found`).", body = doorstep_core::api::ApiError),
    ))]
async fn stream(
    State(state): State<AppState>,
    Path(compound): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let compound = known(&state, &compound).await?;
    // Subscribe before reading the snapshot, so no change falls in between.
    let (mut updates, mut closing) = state.live.subscribe();
    let snapshot = serde_json::to_string(&public_runs(&state.store, &compound).await?)
        .map_err(|e| AppError::from(crate::store::StoreError::Corrupt(e.to_string())))?;
    let (sender, receiver) = mpsc::channel::<Result<Event, Infallible>>(4);
    tokio::spawn(async move {
        if sender
            .send(Ok(Event::default().data(snapshot)))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let update = tokio::select! {
                () = sender.closed() => return, // the page went away
                _ = closing.wait_for(|closing| *closing) => return,
                update = updates.recv() => update,
            };
            match update {
                Ok(update) if update.compound == compound => {
                    if sender
                        .send(Ok(Event::default().data(update.json.as_ref())))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(receiver))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
