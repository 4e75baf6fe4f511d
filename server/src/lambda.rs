//! The same router as an AWS Lambda function behind API Gateway (HTTP API,
//! payload format 2.0), built with `--features lambda` as the
//! `doorstep-lambda` binary. See README.md, "Deploying".
//!
//! A function instance lives only while it handles requests and has no disk
//! that outlives it or is shared, so the store must be PostgreSQL. It holds
//! no state between requests beyond its connection pool. Server-sent events
//! need a long-lived instance: here the stream answers 204 at once (see
//! [`router`]) and resident pages fall back to polling
//! `/api/public/runs/{compound}`.

use std::path::PathBuf;

use axum::{
    Router,
    extract::Request,
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
};

use doorstep_core::api::StorageBackend;
use lambda_http::request::RequestContext;

use crate::{
    AppState,
    accounts::ClientAddr,
    app,
    store::{SECRET_ENV, Store},
};

/// PostgreSQL connections per function instance. Many instances run at once,
/// so put RDS Proxy or PgBouncer in front of a busy database.
pub const LAMBDA_POOL_SIZE: u32 = 2;

/// The state a function instance serves with, from its environment:
/// `DATABASE_URL` (PostgreSQL), `DOORSTEP_SECRET` (the key tokens and codes
/// are hashed with: a function has no disk to keep one on), optional
/// `DOORSTEP_DIST` (the app build packaged with the function; default
/// `dist`) and `DOORSTEP_PUBLIC_URL`.
pub async fn state_from_env() -> anyhow::Result<AppState> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("DATABASE_URL must name the PostgreSQL database"))?;
    if std::env::var_os(SECRET_ENV).is_none() {
        anyhow::bail!("{SECRET_ENV} must be set: a function's disk is neither kept nor shared");
    }
    let dist = std::env::var("DOORSTEP_DIST").map_or_else(|_| PathBuf::from("dist"), PathBuf::from);
    let mut state = state(&url, dist).await?;
    state.public_url = std::env::var("DOORSTEP_PUBLIC_URL").ok();
    Ok(state)
}

/// The state for the database at `url`, which must be PostgreSQL.
pub async fn state(url: &str, dist: PathBuf) -> anyhow::Result<AppState> {
    if crate::store::backend_of(url)? != StorageBackend::Postgres {
        anyhow::bail!(
            "the Lambda handler needs PostgreSQL (postgres://…): a function's disk is neither kept nor shared"
        );
    }
    // One request at a time per instance: a push's transaction and a read.
    let store = Store::open_with_pool(url, LAMBDA_POOL_SIZE).await?;
    Ok(AppState::new(store, dist))
}

/// The router a function serves: [`app`], except that event streams (the
/// resident pages' and the phones') answer `204 No Content` at once. API Gateway would hold a
/// stream until it times out, keeping a function instance busy for nothing;
/// a 204 tells the browser's `EventSource` not to reconnect, and the page
/// (or the phone's sync runner) polls instead.
pub fn router(state: AppState) -> Router {
    app(state)
        .layer(middleware::from_fn(no_event_streams))
        .layer(middleware::from_fn(source_ip))
}

/// Every connection a function sees comes from AWS: the caller's address,
/// for the redemption throttle, is the one API Gateway saw
/// (`requestContext.http.sourceIp`).
async fn source_ip(mut request: Request, next: Next) -> Response {
    let source = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    if let Some(ip) = source.and_then(|ip| ip.parse().ok()) {
        request.extensions_mut().insert(ClientAddr(ip));
    }
    next.run(request).await
}

async fn no_event_streams(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/api/events" || (path.starts_with("/api/public/") && path.ends_with("/stream")) {
        return StatusCode::NO_CONTENT.into_response();
    }
    next.run(request).await
}

/// Serves Lambda invocations until the runtime stops the instance.
pub async fn run(state: AppState) -> Result<(), lambda_http::Error> {
    lambda_http::run(router(state)).await
}
