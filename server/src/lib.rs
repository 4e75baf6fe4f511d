//! Doorstep's HTTP server as a library: [`app`] builds the whole router, so tests
//! drive exactly what `main` serves.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod district;
pub mod error;
pub mod events;
pub mod export;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod live;
pub mod posters;
pub mod public;
pub mod resident_page;
pub mod roster;
pub mod security;
pub mod static_files;
pub mod store;
pub mod sync;

use std::{future::Future, path::PathBuf};

use axum::Router;
use tokio::net::TcpListener;
use tower_http::{CompressionLevel, compression::CompressionLayer, trace::TraceLayer};

use crate::store::Store;

/// Everything a request handler may reach. Passed with `State`, never global.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The Trunk build output (`dist/`) served as the app shell.
    pub dist: PathBuf,
    /// Live updates for open resident pages.
    pub live: live::Live,
    /// The address residents reach the app at (for QR posters), when it is
    /// not the address the request came in on (e.g. behind a proxy).
    pub public_url: Option<String>,
    /// Limits on redeeming invite codes.
    pub throttle: accounts::Throttle,
    /// Limits on residents' help requests.
    pub help_limits: resident_page::help::HelpLimits,
    /// Take the client's address from `X-Forwarded-For` (only behind a
    /// proxy that sets it), for the redemption throttle.
    pub trust_forwarded_for: bool,
    /// Other origins allowed to call the API (CORS); none by default.
    pub cors_origins: Vec<axum::http::HeaderValue>,
}

impl AppState {
    pub fn new(store: Store, dist: PathBuf) -> Self {
        Self {
            store,
            dist,
            live: live::Live::default(),
            public_url: None,
            throttle: accounts::Throttle::default(),
            help_limits: Default::default(),
            trust_forwarded_for: false,
            cors_origins: Vec::new(),
        }
    }
}

/// Brotli quality (and gzip level) of responses compressed on the fly, such
/// as pull pages: at 5 a first pull's pages are 1–8 % smaller than at
/// tower-http's default 4 (`core/tests/wire_bytes.rs`), for little more
/// time. (The shell's files are compressed ahead, at 11.)
const RESPONSE_QUALITY: i32 = 5;

/// The complete HTTP surface: `/api` plus the app shell, with security
/// headers on every response.
pub fn app(state: AppState) -> Router {
    let (dist, cors) = (state.dist.clone(), state.cors_origins.clone());
    let router = Router::new()
        .nest("/api", api::router())
        .merge(resident_page::routes())
        .fallback_service(static_files::service(&state.dist))
        .with_state(state)
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(RESPONSE_QUALITY)));
    // The trace logs method and path only: bearer tokens ride in a header,
    // invite codes in a URL fragment, and neither is ever logged.
    security::harden(router, &dist, &cors).layer(TraceLayer::new_for_http())
}

/// The server's wall clock in Unix milliseconds: the reference for HLC drift.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then drains open
/// requests before returning.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let live = state.live.clone();
    let shutdown = async move {
        shutdown.await;
        live.close();
    };
    // Other instances' changes, when the store is shared (ends at shutdown).
    let relay = live::relay(state.clone()).await;
    let served = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    relay.abort();
    served
}
