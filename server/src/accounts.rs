//! Signing phones in: invites (created by a coordinator, or by the operator
//! for the first coordinator), redeeming a code for a device token under a
//! throttle, the session a device asks about, and the device list.

use std::net::{IpAddr, SocketAddr};

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use doorstep_core::api::ErrorCode;
use doorstep_core::{
    access::Role,
    api::{
        CompoundSummary, DeviceInfo, DeviceUpdate, InviteRequest, NewInvite, RedeemRequest,
        Redeemed, Session,
    },
    ids::CompoundId,
    invite,
    schema::Collection,
};

use crate::{
    AppState,
    auth::Caller,
    error::AppError,
    now_ms,
    store::{Device, RedeemError, Store},
};

/// Limits on redeeming codes, counted in fixed windows in the database (so
/// they hold across instances). See SECURITY.md for what they mean for a
/// guesser.
#[derive(Clone, Copy, Debug)]
pub struct Throttle {
    pub window_ms: u64,
    /// Wrong codes from one address (IPv4, or an IPv6 /64) per window.
    pub per_ip: u64,
    /// Attempts at one code (right or wrong) per window: a leaked
    /// many-use code cannot sign in a crowd.
    pub per_code: u64,
    /// Wrong codes from everyone per window: the ceiling for a guesser with
    /// many addresses.
    pub everyone: u64,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            window_ms: 10 * 60 * 1000,
            per_ip: 10,
            per_code: 60,
            everyone: 1000,
        }
    }
}

/// Checks an invite request and creates it. Shared by the coordinator's
/// endpoint and the operator's `invite create`.
pub async fn new_invite(
    store: &Store,
    compound: &CompoundId,
    request: &InviteRequest,
    base_url: &str,
    now_ms: u64,
) -> Result<NewInvite, AppError> {
    let invalid = |field: &str, message: &str| {
        let mut err = AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Invalid,
            message,
        );
        err.body.field = Some(field.to_owned());
        err
    };
    if !request.role.in_compound() {
        return Err(invalid(
            "role",
            "a district official is invited by the operator (doorstep-server district invite)",
        ));
    }
    if !(1..=invite::MAX_USES).contains(&request.uses) {
        return Err(invalid("uses", "must be from 1 to 500"));
    }
    if !(1..=invite::MAX_HOURS).contains(&request.hours) {
        return Err(invalid("hours", "must be from 1 to 720 (30 days)"));
    }
    match (&request.team, request.role.needs_team()) {
        (None, true) => return Err(invalid("team", "a volunteer invite names a team")),
        (Some(_), false) => return Err(invalid("team", "only a volunteer invite names a team")),
        (Some(team), true) => {
            let teams = store.records_of(compound, Collection::Team).await?;
            if !teams.iter().any(|t| &t.id == team && !t.is_deleted()) {
                return Err(invalid("team", "no such team in this compound"));
            }
        }
        (None, false) => {}
    }
    if request.key_persons && request.role != Role::Volunteer {
        return Err(invalid(
            "key_persons",
            "only a volunteer's key-persons access is granted",
        ));
    }
    let (invite, code) = store.create_invite(compound, request, now_ms).await?;
    let join_url = format!("{base_url}/join#code={code}");
    Ok(NewInvite {
        qr_svg: crate::posters::qr_svg(&join_url),
        invite,
        code,
        join_url,
    })
}

/// `POST /api/redeem`. Every failure looks the same (401 `invalid_code`);
/// past a limit, 429 with `Retry-After`.
#[utoipa::path(post, path = "/redeem",
    request_body = doorstep_core::api::RedeemRequest,
    responses(
        (status = 200, description = "Signed in: the token, shown this once.", body = Redeemed),
        (status = 401, description = "Wrong, used up, expired or revoked (`invalid_code`): the same answer for all.", body = doorstep_core::api::ApiError),
        (status = 429, description = "Too many attempts (`too_many_attempts`); `Retry-After` says how many seconds to wait.", body = doorstep_core::api::ApiError),
        crate::api::JsonBodyRefusals,
    ))]
pub async fn redeem(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    platform: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Redeemed>, Response> {
    let request: RedeemRequest =
        crate::api::json_object(&body, "{code, label}").map_err(IntoResponse::into_response)?;
    let now = now_ms();
    let throttle = state.throttle;
    let peer = match platform {
        Some(Extension(ClientAddr(ip))) => Some(ip),
        None => connect.map(|Extension(ConnectInfo(peer))| peer.ip()),
    };
    let ip = client_ip(&state, peer, &headers);
    let ip_key = format!("redeem-ip:{}", throttle_address(ip));
    let store = &state.store;
    // Keyed: the throttle table must not hold what lets a code be tested.
    let code_key = format!(
        "redeem-code:{}",
        &store.secret_hash(&invite::normalize(&request.code).unwrap_or(request.code.clone()))[..16]
    );
    let wrong_code_keys = [ip_key.as_str(), "redeem-everyone"];
    let counted = store
        .throttle_take(
            &[
                (ip_key.as_str(), throttle.per_ip),
                ("redeem-everyone", throttle.everyone),
                (code_key.as_str(), throttle.per_code),
            ],
            throttle.window_ms,
            now,
        )
        .await
        .map_err(|e| AppError::from(e).into_response())?;
    if !counted {
        return Err(too_many(throttle, now));
    }
    let normalized = invite::normalize(&request.code);
    let outcome = match &normalized {
        Some(code) => store.redeem(code, &request.label, now).await,
        None => Err(RedeemError::NoSuchCode),
    };
    // Not a compound's code: perhaps a district official's.
    let outcome = match (outcome, &normalized) {
        (Err(RedeemError::NoSuchCode), Some(code)) => store
            .redeem_official(code, &request.label, now)
            .await
            .map(|(official, district, token)| {
                tracing::info!(device = %official.id, district = %district.id, "official signed in");
                Redeemed {
                    token,
                    session: None,
                    district: Some(district),
                }
            }),
        (Ok((device, token)), _) => {
            tracing::info!(device = %device.id, compound = %device.compound, role = device.role.name(), "device signed in");
            let session = session_of(store, &device)
                .await
                .map_err(IntoResponse::into_response)?;
            Ok(Redeemed {
                token,
                session: Some(session),
                district: None,
            })
        }
        (Err(err), _) => Err(err),
    };
    match outcome {
        Ok(redeemed) => {
            // Only wrong codes count against an address and everyone.
            store
                .throttle_refund(&wrong_code_keys, throttle.window_ms, now)
                .await
                .map_err(|e| AppError::from(e).into_response())?;
            Ok(Json(redeemed))
        }
        Err(RedeemError::NoSuchCode) => {
            tracing::info!(
                ip = ip.map_or_else(|| "unknown".into(), |ip| ip.to_string()),
                "invite code refused"
            );
            Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCode,
                "this code is wrong, used up, expired or revoked",
            )
            .into_response())
        }
        Err(RedeemError::Store(err)) => Err(AppError::from(err).into_response()),
    }
}

fn too_many(throttle: Throttle, now: u64) -> Response {
    let window = throttle.window_ms.max(1);
    let wait_s = (window - now % window).div_ceil(1000);
    let mut response = AppError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyAttempts,
        format!("too many attempts; try again in {wait_s} s"),
    )
    .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&wait_s.to_string()).expect("digits"),
    );
    response
}

/// The caller's address as the platform in front of the server saw it
/// (API Gateway's `requestContext.http.sourceIp` on Lambda, where every
/// connection comes from AWS): preferred to the socket's peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The address a request came from: the platform's, else the socket's peer,
/// or, behind a trusted proxy, the last address it appended to
/// `X-Forwarded-For`.
pub(crate) fn client_ip(
    state: &AppState,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let forwarded = state
        .trust_forwarded_for
        .then(|| headers.get("x-forwarded-for")?.to_str().ok())
        .flatten()
        .and_then(|list| list.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    forwarded.or(peer)
}

/// What the per-address limit counts: an IPv4 address, or an IPv6
/// address's /64 (one subscriber's whole prefix, which they may rotate
/// through at will).
pub fn throttle_address(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        None => "unknown".to_owned(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

async fn session_of(store: &Store, device: &Device) -> Result<Session, AppError> {
    let name = store
        .compounds()
        .await?
        .into_iter()
        .find(|c| c.id == device.compound)
        .map(|c| c.name)
        .unwrap_or_default();
    Ok(Session {
        device: device.id.clone(),
        compound: CompoundSummary {
            id: device.compound.clone(),
            name,
        },
        scope: store.scope_of(device).await?.scope,
    })
}

/// `GET /api/session`: who this device is and what it may reach now.
#[utoipa::path(get, path = "/session", security(("device" = [])),
    responses(
        (status = 200, description = "Who this device is and what it may reach now.", body = Session),
        crate::api::DeviceRefusals,
    ))]
pub async fn session(
    State(state): State<AppState>,
    Caller(device): Caller,
) -> Result<Json<Session>, AppError> {
    Ok(Json(session_of(&state.store, &device).await?))
}

/// `POST /api/compounds/{c}/invites` (coordinators).
#[utoipa::path(post, path = "/compounds/{compound}/invites", security(("device" = [])),
    params(crate::api::CompoundPath),
    request_body = InviteRequest,
    responses(
        (status = 200, description = "The invite and its code, shown this once.", body = NewInvite),
        (status = 422, description = "The request names something impossible (uses, hours, team: `invalid`).", body = doorstep_core::api::ApiError),
        crate::api::JsonBodyRefusals,
        crate::api::DeviceRefusals,
    ))]
pub async fn create_invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<NewInvite>, AppError> {
    let compound = caller.in_compound(&compound, &[Role::Coordinator])?;
    let request: InviteRequest = crate::api::json_object(&body, "{role, team?, uses?, hours?}")?;
    let base = crate::posters::base_url(&state, &headers);
    Ok(Json(
        new_invite(&state.store, &compound, &request, &base, now_ms()).await?,
    ))
}

/// `GET /api/compounds/{c}/invites` (coordinators): the usable ones.
#[utoipa::path(get, path = "/compounds/{compound}/invites", security(("device" = [])),
    params(crate::api::CompoundPath),
    responses(
        (status = 200, description = "Invites that can still be redeemed, never their codes.", body = Vec<doorstep_core::api::Invite>),
        crate::api::DeviceRefusals,
    ))]
pub async fn invites(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound): Path<String>,
) -> Result<Json<Vec<doorstep_core::api::Invite>>, AppError> {
    let compound = caller.in_compound(&compound, &[Role::Coordinator])?;
    Ok(Json(state.store.invites(&compound, now_ms()).await?))
}

/// `DELETE /api/compounds/{c}/invites/{id}` (coordinators): cancels an
/// invite, e.g. a leaked code. 204 whether or not it was revoked before.
#[utoipa::path(delete, path = "/compounds/{compound}/invites/{id}", security(("device" = [])),
    params(crate::api::CompoundPath, ("id" = String, Path, description = "The invite's `id` from the invite list.")),
    responses(
        (status = 204, description = "Revoked (also when it already was); redeeming its code now answers 401 `invalid_code`."),
        (status = 404, description = "No such invite in this compound (`not_found`).", body = doorstep_core::api::ApiError),
        crate::api::DeviceRefusals,
    ))]
pub async fn revoke_invite(
    State(state): State<AppState>,
    caller: Caller,
    Path((compound, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let compound = caller.in_compound(&compound, &[Role::Coordinator])?;
    if !state.store.revoke_invite(&compound, &id, now_ms()).await? {
        return Err(AppError::not_found("no such invite in this compound"));
    }
    tracing::info!(invite = %id, %compound, by = %caller.0.id, "invite revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/compounds/{c}/devices` (coordinators).
#[utoipa::path(get, path = "/compounds/{compound}/devices", security(("device" = [])),
    params(crate::api::CompoundPath),
    responses(
        (status = 200, description = "Redeemed devices.", body = Vec<DeviceInfo>),
        crate::api::DeviceRefusals,
    ))]
pub async fn devices(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound): Path<String>,
) -> Result<Json<Vec<DeviceInfo>>, AppError> {
    let compound = caller.in_compound(&compound, &[Role::Coordinator])?;
    let mut devices = state.store.devices(&compound).await?;
    for device in &mut devices {
        device.this_device = device.id == caller.0.id;
    }
    Ok(Json(devices))
}

/// `POST /api/compounds/{c}/devices/{id}` (coordinators): revoke, or grant
/// or withdraw a volunteer's key-persons access.
#[utoipa::path(post, path = "/compounds/{compound}/devices/{id}", security(("device" = [])),
    params(crate::api::CompoundPath, ("id" = String, Path, description = "The device's `id` from the device list.")),
    request_body = DeviceUpdate,
    responses(
        (status = 200, description = "The device as it is now.", body = DeviceInfo),
        (status = 404, description = "No such device in this compound (`not_found`).", body = doorstep_core::api::ApiError),
        (status = 422, description = "Only a volunteer's key-persons access is granted, and a coordinator cannot revoke the phone in hand (`invalid`).", body = doorstep_core::api::ApiError),
        crate::api::JsonBodyRefusals,
        crate::api::DeviceRefusals,
    ))]
pub async fn update_device(
    State(state): State<AppState>,
    caller: Caller,
    Path((compound, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<DeviceInfo>, AppError> {
    let compound = caller.in_compound(&compound, &[Role::Coordinator])?;
    let update: DeviceUpdate = crate::api::json_object(&body, "{revoke?, key_persons?}")?;
    let current = state
        .store
        .devices(&compound)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| AppError::not_found("no such device in this compound"))?;
    if update.revoke && current.id == caller.0.id {
        // Signing oneself out for good needs another coordinator's phone.
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Invalid,
            "a coordinator cannot revoke the device they are using",
        ));
    }
    if update.key_persons == Some(true) && current.role != Role::Volunteer {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Invalid,
            "only a volunteer's key-persons access is granted",
        ));
    }
    let device = state
        .store
        .update_device(&compound, &id, &update, now_ms())
        .await?
        .ok_or_else(|| AppError::not_found("no such device in this compound"))?;
    Ok(Json(device))
}
