//! Routes under `/api` and the API document generated from them: each
//! handler carries its `#[utoipa::path]`, [`routes`] lists them once, and
//! both the served router ([`router`]) and the document ([`document`],
//! `GET /api/openapi.json`) come from that list, so a route cannot be
//! served undocumented. Never cached by the service worker, never served
//! from disk.

use std::{collections::BTreeMap, sync::LazyLock};

use axum::{
    Json, Router,
    extract::State,
    http::{Uri, header},
    middleware,
    response::IntoResponse,
};
use doorstep_core::{
    api::{ApiError, ErrorCode, Health, HealthStatus},
    sync::SCHEMA_VERSION,
};
use serde::de::DeserializeOwned;
use utoipa::{
    IntoResponses, OpenApi,
    openapi::{
        self, ContentBuilder, Ref, RefOr, Response, ResponseBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, error::AppError};

/// Largest body any endpoint but sync and the roster upload reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The security scheme every authorized operation names.
pub const DEVICE_AUTH: &str = "device";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Doorstep API",
        description = "Generated from the server's types and routes (utoipa). `info.version` is \
                       the sync schema version (`schema_version` in requests). Every failure is \
                       an `ApiError` with a stable `code`; unknown paths under `/api` answer 404 \
                       `not_found`, a method an endpoint does not take 405 `method_not_allowed` \
                       (with `Allow`), a body over its limit 413 `body_rejected`. The download \
                       forms (posters, ledgers, totals) answer their own refusals with a short \
                       HTML page, which the browser shows in place of the file.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0")
    ),
    components(schemas(
        ApiError,
        doorstep_core::need::Category,
        doorstep_core::need::Source,
        doorstep_core::visit::Outcome,
        doorstep_core::visit::Health,
        doorstep_core::visit::CareGroup,
        doorstep_core::visit::KeyStatus,
    )),
    modifiers(&Version, &DeviceToken)
)]
struct ApiDoc;

/// `info.version` is the sync schema version, written once in core.
struct Version;

impl utoipa::Modify for Version {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        doc.info.version = SCHEMA_VERSION.to_string();
    }
}

/// The bearer token of a redeemed device.
struct DeviceToken;

impl utoipa::Modify for DeviceToken {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "The device token from POST /api/redeem (256 random bits, base64url).",
            ))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(DEVICE_AUTH, SecurityScheme::Http(scheme));
    }
}

/// Every `/api` route, each with its documentation: the one list both
/// [`router`] and [`document`] are made from. Paths are relative to `/api`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(openapi_json))
        .routes(crate::sync::route())
        .routes(routes!(crate::accounts::redeem))
        .routes(routes!(crate::accounts::session))
        .routes(routes!(crate::events::ticket))
        .routes(routes!(crate::events::stream))
        .routes(routes!(
            crate::accounts::invites,
            crate::accounts::create_invite
        ))
        .routes(routes!(crate::accounts::revoke_invite))
        .routes(routes!(crate::accounts::devices))
        .routes(routes!(crate::accounts::update_device))
        .routes(routes!(crate::audit::history))
        .routes(routes!(crate::audit::freshness))
        .routes(routes!(crate::audit::refused))
        .routes(routes!(
            crate::resident_page::help::switch,
            crate::resident_page::help::set_switch
        ))
        .routes(routes!(
            crate::posters::posters,
            crate::posters::posters_form
        ))
        .routes(routes!(crate::export::xlsx, crate::export::xlsx_form))
        .routes(routes!(
            crate::export::ledger_file,
            crate::export::ledger_file_form
        ))
        .routes(crate::roster::http::route())
        .routes(routes!(crate::district::totals))
        .routes(routes!(crate::district::xlsx, crate::district::xlsx_form))
        .nest("/public", crate::public::routes())
}

/// The API document: [`routes`] under `/api`, with the shared parts.
pub fn document() -> openapi::OpenApi {
    OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/api", routes())
        .into_openapi()
}

/// The `/api` router as served: [`routes`], plus the JSON 404 for unknown
/// paths, the body limit and the JSON shape of axum's own refusals.
pub fn router() -> Router<AppState> {
    let (router, _) = routes().split_for_parts();
    router
        .fallback(unknown_endpoint)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(crate::error::json_errors))
}

/// Whether the server and its database answer; names no versions.
///
/// Asks the store to answer, so a green health check means the database is
/// reachable too. Anyone may ask (versions are in the operator's log at
/// start).
#[utoipa::path(get, path = "/health", responses(
    (status = 200, description = "The server and its database are up.", body = Health),
    (status = 503, description = "The database did not answer.", body = ApiError),
))]
async fn health(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    state.store.storage_info().await?;
    Ok(Json(Health {
        status: HealthStatus::Ok,
    }))
}

/// The document, made once per process.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string(&document()).expect("the API document serializes"));

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", responses(
    (status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json", body = serde_json::Value),
))]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

async fn unknown_endpoint(uri: Uri) -> AppError {
    AppError::not_found(format!("no API endpoint at {}", uri.path()))
}

/// A JSON error answer: an [`ApiError`] with this meaning.
pub fn error(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ApiError")))
                .build(),
        )
        .build()
        .into()
}

/// A download form's refusal: a short HTML page the browser shows in
/// place of the file (`security::error_page`).
pub fn error_page(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "text/html",
            ContentBuilder::new()
                .schema(Some(openapi::schema::Object::with_type(
                    openapi::schema::Type::String,
                )))
                .build(),
        )
        .build()
        .into()
}

/// 401 and 403 of every operation that takes a device token.
pub struct DeviceRefusals;

impl IntoResponses for DeviceRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            (
                "401".into(),
                error(
                    "No valid device token (`unauthorized`: sign in with an invite code) or \
                     a revoked device (`device_revoked`; its unsent edits stay on the phone).",
                ),
            ),
            (
                "403".into(),
                error("The device's role or compound does not reach this (`forbidden`)."),
            ),
        ])
    }
}

/// The refusals of a download form (`token=…` in the body): the caller's
/// as an HTML page, a body that is not the form as JSON (axum's own).
pub struct FormRefusals;

impl IntoResponses for FormRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            (
                "401".into(),
                error_page("The token in the form is not a valid device's."),
            ),
            (
                "403".into(),
                error_page("The device's role or compound does not reach this."),
            ),
            (
                "400".into(),
                error("The body is not a form this server reads (`malformed`)."),
            ),
            (
                "415".into(),
                error(
                    "The body is not `application/x-www-form-urlencoded` \
                     (`unsupported_media_type`).",
                ),
            ),
            ("422".into(), error("The form has no `token` (`invalid`).")),
        ])
    }
}

/// The refusals of an operation that reads a JSON body itself.
pub struct JsonBodyRefusals;

impl IntoResponses for JsonBodyRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            (
                "400".into(),
                error(
                    "The body is not this endpoint's JSON (`malformed`: unparseable, an \
                     unknown field, a wrong type).",
                ),
            ),
            (
                "413".into(),
                error("The body is larger than 16 KB (`body_rejected`)."),
            ),
        ])
    }
}

/// One server-sent event as a client reads it off a stream (the body of
/// the `text/event-stream` answers).
#[derive(utoipa::ToSchema)]
pub struct ServerSentEvent {
    /// The event's name (`event:`); absent means `message`.
    pub event: Option<String>,
    /// Its `data:` line: on the public streams, a JSON document.
    pub data: String,
}

/// Whether a JSON body is an object at its top: serde would also read a
/// struct from an array of its fields in order, which no documented body is.
pub fn is_json_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// A JSON request body of shape `T`, which must be an object (`shape`
/// names its fields for the message), or 400 `malformed`.
pub fn json_object<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, AppError> {
    let malformed = |detail: String| {
        AppError::bad_request(ErrorCode::Malformed, format!("expected {shape}{detail}"))
    };
    if !is_json_object(body) {
        return Err(malformed(" as a JSON object".into()));
    }
    serde_json::from_slice(body).map_err(|err| malformed(format!(": {err}")))
}

/// The path parameter naming a compound.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CompoundPath {
    /// The compound's id.
    #[param(value_type = doorstep_core::ids::CompoundId)]
    pub compound: String,
}

/// The path parameters naming a compound and one of its buildings (a
/// resident's page: the poster's QR code carries both).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BuildingPath {
    /// The compound's id.
    #[param(value_type = doorstep_core::ids::CompoundId)]
    pub compound: String,
    /// The building as the roster and the truck's stops name it
    /// (percent-encoded), e.g. `4` or `1号楼`.
    pub building: String,
}
