//! Routes under `/api`. Never cached by the service worker, never served from disk.

use axum::{
    Json, Router,
    extract::State,
    http::{Uri, header},
    middleware,
    response::IntoResponse,
    routing::{delete, get, post},
};
use doorstep_core::api::{Health, HealthStatus};

use crate::{AppState, error::AppError};

/// Largest body any endpoint but sync and the roster upload reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/sync", crate::sync::route())
        .route("/redeem", post(crate::accounts::redeem))
        .route("/session", get(crate::accounts::session))
        .route("/events/ticket", post(crate::events::ticket))
        .route("/events", get(crate::events::stream))
        .route(
            "/compounds/{compound}/invites",
            get(crate::accounts::invites).post(crate::accounts::create_invite),
        )
        .route(
            "/compounds/{compound}/invites/{id}",
            delete(crate::accounts::revoke_invite),
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
            "/compounds/{compound}/help",
            get(crate::resident_page::help::switch).put(crate::resident_page::help::set_switch),
        )
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
        .route("/districts/{district}/totals", get(crate::district::totals))
        .route(
            "/districts/{district}/totals.xlsx",
            get(crate::district::xlsx).post(crate::district::xlsx_form),
        )
        .nest("/public", crate::public::router())
        .route("/openapi.json", get(openapi))
        .fallback(unknown_endpoint)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(crate::error::json_errors))
}

/// Asks the store to answer, so a green health check means the database is
/// reachable too. Says nothing else: anyone may ask (versions are in the
/// operator's log at start).
async fn health(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    state.store.storage_info().await?;
    Ok(Json(Health {
        status: HealthStatus::Ok,
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
