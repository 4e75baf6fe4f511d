//! Routes under `/api`. Never cached by the service worker, never served from disk.

use axum::{
    Json, Router,
    extract::State,
    http::{Uri, header},
    response::IntoResponse,
    routing::{get, post},
};
use doorstep_core::api::Health;

use crate::{AppState, error::AppError};

/// Largest body any endpoint but sync and the roster upload reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/sync", crate::sync::route())
        .route("/redeem", post(crate::accounts::redeem))
        .route("/session", get(crate::accounts::session))
        .route(
            "/compounds/{compound}/invites",
            get(crate::accounts::invites).post(crate::accounts::create_invite),
        )
        .route(
            "/compounds/{compound}/devices",
            get(crate::accounts::devices),
        )
        .route(
            "/compounds/{compound}/devices/{id}",
            post(crate::accounts::update_device),
        )
        .route(
            "/compounds/{compound}/history/{collection}/{id}",
            get(crate::audit::history),
        )
        .route(
            "/compounds/{compound}/freshness",
            get(crate::audit::freshness),
        )
        .route("/compounds/{compound}/refused", get(crate::audit::refused))
        .route(
            "/compounds/{compound}/posters",
            get(crate::posters::posters).post(crate::posters::posters_form),
        )
        .route(
            "/compounds/{compound}/ledgers.xlsx",
            get(crate::export::xlsx).post(crate::export::xlsx_form),
        )
        .route(
            "/compounds/{compound}/ledgers/{file}",
            get(crate::export::ledger_file).post(crate::export::ledger_file_form),
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
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Reports the version and asks the store to answer, so a green health check
/// means the database is reachable too.
async fn health(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    Ok(Json(Health {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        storage: state.store.storage_info().await?,
    }))
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
