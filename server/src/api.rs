//! Routes under `/api`. Never cached by the service worker, never served from disk.

use axum::{
    Json, Router,
    extract::State,
    http::{Uri, header},
    response::IntoResponse,
    routing::get,
};
use doorstep_core::api::{CompoundSummary, Health};

use crate::{AppState, error::AppError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/sync", crate::sync::route())
        .route("/compounds", get(compounds))
        .route(
            "/compounds/{compound}/history/{collection}/{id}",
            get(crate::audit::history),
        )
        .route(
            "/compounds/{compound}/freshness",
            get(crate::audit::freshness),
        )
        .route(
            "/compounds/{compound}/posters",
            get(crate::posters::posters),
        )
        .route(
            "/compounds/{compound}/ledgers.xlsx",
            get(crate::export::xlsx),
        )
        .route(
            "/compounds/{compound}/ledgers/{file}",
            get(crate::export::ledger_file),
        )
        .route(
            "/compounds/{compound}/roster",
            axum::routing::post(crate::roster::http::upload).layer(
                axum::extract::DefaultBodyLimit::max(crate::roster::http::MAX_ROSTER_BYTES),
            ),
        )
        .nest("/public", crate::public::router())
        .route("/openapi.json", get(openapi))
        .fallback(unknown_endpoint)
}

/// Reports the version and asks the store to answer, so a green health check
/// means the database is reachable too.
async fn health(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    Ok(Json(Health {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        storage: state.store.storage_info().await?,
    }))
}

/// The compounds a phone may join. Until accounts exist (invite codes bind a
/// device to its compound) this list is how a phone picks one.
async fn compounds(State(state): State<AppState>) -> Result<Json<Vec<CompoundSummary>>, AppError> {
    let compounds = state.store.compounds().await?;
    Ok(Json(
        compounds
            .into_iter()
            .map(|c| CompoundSummary {
                id: c.id,
                name: c.name,
            })
            .collect(),
    ))
}

/// The API description. Written by hand rather than derived, so core keeps no
/// framework dependency; `tests/http.rs` holds it to the real error codes and
/// response shapes so it cannot drift silently.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

async fn unknown_endpoint(uri: Uri) -> AppError {
    AppError::not_found(format!("no API endpoint at {}", uri.path()))
}
