//! The resident page, `/r/{compound}/{building}`: what a resident opens
//! from the QR poster at their building door. Server-rendered HTML, so the
//! first response already says where the truck is; one small inline script
//! keeps it live (`/api/public/status/…/stream`, polling while that is
//! down), keeps the last status for offline visits, and alerts when the
//! truck is next. It is not the volunteer app: no login, no sync, no
//! personal data (only what `PublicRuns` carries), and its own tiny service
//! worker (`/r/sw.js`, scope `/r/`) keeps a copy of the page for offline use.
//! Below the status, the help form (求助, `help.rs`) posts to the server;
//! its ticket page `/h/{ticket}` has the same worker at `/h/sw.js`.

pub mod help;
pub mod render;
pub mod text;

use std::{
    convert::Infallible,
    sync::{Arc, LazyLock},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{
        Html, IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use doorstep_core::truck::PublicRuns;
use serde::Deserialize;
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    error::AppError,
    now_ms,
    public::{known, public_runs},
    security::base64_sha256,
};
use render::{First, Live};
use text::Lang;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");
const WORKER: &str = include_str!("sw.js");

/// How often an open stream re-renders its building's status although
/// nothing changed, so ETAs and stale ages move with the clock.
const TICK: Duration = Duration::from_secs(30);

/// The page's policy: its one inline script and stylesheet by hash, fetches
/// and its worker only to this origin, nothing else.
static PAGE_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; img-src data:; \
         connect-src 'self'; worker-src 'self'; base-uri 'none'; frame-ancestors 'none'; \
         form-action 'self'",
        base64_sha256(SCRIPT),
        base64_sha256(STYLE)
    )
});

/// `/r/…`: the page and its worker; `/h/…`: a request's ticket and the
/// same worker for it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/r/sw.js", get(worker))
        .route("/r/{compound}/{building}", get(page))
        .route("/h/sw.js", get(worker))
        .route("/h/{ticket}", get(help::ticket))
}

/// `/api/public/status/…`: the live part, once or as a stream.
/// The resident page's calls under `/api/public`, documented.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(stream))
        .routes(routes!(help::post))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// `en` for English; anything else, or none, is Chinese.
    lang: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    Path((compound, building)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
) -> Response {
    let lang = Lang::from_query(query.lang.as_deref());
    let now = now_ms();
    let rendered = match known(&state, &compound).await {
        Ok(id) => match (
            public_runs(&state.store, &id).await,
            state.store.help_requests(&id).await,
        ) {
            (Ok(runs), Ok(open)) => {
                let live = render::live(&runs, &building, now, lang);
                let notice = match open {
                    Some(true) => help::Notice::None,
                    _ => help::Notice::Closed,
                };
                let form = help::form(&compound, &building, lang, &Default::default(), &notice);
                Ok(render::page(
                    &compound,
                    &building,
                    lang,
                    First::Live(&live),
                    &form,
                    STYLE,
                    SCRIPT,
                ))
            }
            (Err(err), _) => Err(err),
            (_, Err(err)) => Err(err.into()),
        },
        Err(err) => Err(err),
    };
    let (status, html) = match rendered {
        Ok(html) => (StatusCode::OK, html),
        Err(err) if err.status == StatusCode::NOT_FOUND => (
            StatusCode::NOT_FOUND,
            render_page(&compound, &building, lang, First::Unknown),
        ),
        Err(err) => {
            tracing::warn!(code = %err.body.code, %compound, "resident page without data");
            (
                err.status,
                render_page(&compound, &building, lang, First::Loading),
            )
        }
    };
    (
        status,
        [
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&PAGE_CSP).expect("the policy is ASCII"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Html(html),
    )
        .into_response()
}

fn render_page(compound: &str, building: &str, lang: Lang, first: First<'_>) -> String {
    render::page(compound, building, lang, first, "", STYLE, SCRIPT)
}

async fn worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        WORKER,
    )
        .into_response()
}

/// The live part of a building's resident page.
///
/// Rendered by the server with core's ETA rules at its clock, in the
/// chosen language: what the page's script polls while its stream is down.
/// No login, no personal data.
#[utoipa::path(get, path = "/status/{compound}/{building}",
    params(crate::api::BuildingPath, LangQuery),
    responses(
        (status = 200, description = "The building's status now.", body = Live),
        (status = 404, description = "No such compound (`not_found`).", body = doorstep_core::api::ApiError),
    ))]
async fn status(
    State(state): State<AppState>,
    Path((compound, building)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
) -> Result<Json<Live>, AppError> {
    let lang = Lang::from_query(query.lang.as_deref());
    let compound = known(&state, &compound).await?;
    let runs = public_runs(&state.store, &compound).await?;
    Ok(Json(render::live(&runs, &building, now_ms(), lang)))
}

fn event(runs: &PublicRuns, building: &str, lang: Lang) -> Event {
    let live = render::live(runs, building, now_ms(), lang);
    Event::default().data(serde_json::to_string(&live).expect("plain data serializes"))
}

/// Server-sent events: the building's status at once, after every change
/// of the compound's public runs, and every [`TICK`].
#[utoipa::path(get, path = "/status/{compound}/{building}/stream",
    params(crate::api::BuildingPath, LangQuery),
    responses(
        (status = 200, description = "An event stream: one `Live` JSON per `data:` message.", content_type = "text/event-stream", body = crate::api::ServerSentEvent),
        (status = 404, description = "No such compound (`not_found`).", body = doorstep_core::api::ApiError),
    ))]
async fn stream(
    State(state): State<AppState>,
    Path((compound, building)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
) -> Result<impl IntoResponse, AppError> {
    let lang = Lang::from_query(query.lang.as_deref());
    let compound = known(&state, &compound).await?;
    // Subscribe before reading the snapshot, so no change falls in between.
    let (mut updates, mut closing) = state.live.subscribe();
    let mut runs = Arc::new(public_runs(&state.store, &compound).await?);
    let (sender, receiver) = mpsc::channel::<Result<Event, Infallible>>(4);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        loop {
            // The first tick is at once: the snapshot.
            tokio::select! {
                () = sender.closed() => return, // the page went away
                _ = closing.wait_for(|closing| *closing) => return,
                _ = tick.tick() => {}
                update = updates.recv() => match update {
                    Ok(update) if update.compound == compound => {
                        runs = update.runs;
                        tick.reset();
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                },
            }
            if sender
                .send(Ok(event(&runs, &building, lang)))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(receiver))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
