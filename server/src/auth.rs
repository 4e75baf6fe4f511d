//! Who is calling: the `Authorization: Bearer` token (or, for downloads,
//! a form's `token`) resolved to its device, and the role check every
//! compound endpoint makes before it reads anything. A district official's
//! token is a [`DistrictCaller`], refused (403) by every compound endpoint,
//! sync included; a compound's device is refused by the district's.

use axum::{
    extract::FromRequestParts,
    http::{StatusCode, header, request::Parts},
};
use doorstep_core::api::ErrorCode;
use doorstep_core::{
    access::Role,
    ids::{CompoundId, DistrictId},
};

use crate::{
    AppState,
    error::AppError,
    store::{Device, Official},
};

/// A request from a redeemed, unrevoked device.
pub struct Caller(pub Device);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Caller::from_token(state, bearer(parts)).await
    }
}

/// The body of a download the app starts as a form `POST` (`token=…`): a
/// browser download or a page to print cannot carry a header, and a token
/// in a URL would end up in logs and history.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    /// The device token, as `Authorization: Bearer` would carry it.
    token: String,
}

impl Caller {
    pub async fn from_form(state: &AppState, form: &TokenForm) -> Result<Self, AppError> {
        Caller::from_token(state, &form.token).await
    }

    async fn from_token(state: &AppState, token: &str) -> Result<Self, AppError> {
        let token = given(token)?;
        let Some(device) = state.store.device_by_token(token).await? else {
            if state.store.official_by_token(token).await?.is_some() {
                return Err(AppError::forbidden(
                    "a district official's device sees only its district's totals",
                ));
            }
            return Err(unauthorized(
                ErrorCode::Unauthorized,
                "this device's sign-in is not valid",
            ));
        };
        Caller::check_active(&device)?;
        Ok(Caller(device))
    }

    /// Refuses a device a coordinator has revoked.
    pub fn check_active(device: &Device) -> Result<(), AppError> {
        if device.revoked {
            return Err(unauthorized(
                ErrorCode::DeviceRevoked,
                "a coordinator has revoked this device; unsent records stay on the phone",
            ));
        }
        Ok(())
    }

    /// The compound named in the path, if the caller works there in one of
    /// `roles`. Another compound is refused alike whether it exists or not.
    pub fn in_compound(&self, compound: &str, roles: &[Role]) -> Result<CompoundId, AppError> {
        let Caller(device) = self;
        if device.compound.as_str() != compound {
            return Err(AppError::forbidden(format!(
                "this device works in compound {}",
                device.compound
            )));
        }
        if !roles.contains(&device.role) {
            return Err(AppError::forbidden(format!(
                "a {} may not do this",
                device.role.name()
            )));
        }
        Ok(device.compound.clone())
    }
}

/// A request from a district official's unrevoked device.
pub struct DistrictCaller(pub Official);

impl FromRequestParts<AppState> for DistrictCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        DistrictCaller::from_token(state, bearer(parts)).await
    }
}

impl DistrictCaller {
    pub async fn from_form(state: &AppState, form: &TokenForm) -> Result<Self, AppError> {
        DistrictCaller::from_token(state, &form.token).await
    }

    async fn from_token(state: &AppState, token: &str) -> Result<Self, AppError> {
        let token = given(token)?;
        let Some(official) = state.store.official_by_token(token).await? else {
            if state.store.device_by_token(token).await?.is_some() {
                return Err(AppError::forbidden(
                    "only a district official sees a district's totals",
                ));
            }
            return Err(unauthorized(
                ErrorCode::Unauthorized,
                "this device's sign-in is not valid",
            ));
        };
        if official.revoked {
            return Err(unauthorized(
                ErrorCode::DeviceRevoked,
                "this official's device has been revoked",
            ));
        }
        Ok(DistrictCaller(official))
    }

    /// The district named in the path, if it is the caller's. Another
    /// district is refused alike whether it exists or not.
    pub fn in_district(&self, district: &str) -> Result<DistrictId, AppError> {
        if self.0.district.as_str() != district {
            return Err(AppError::forbidden(format!(
                "this device sees district {}",
                self.0.district
            )));
        }
        Ok(self.0.district.clone())
    }
}

/// The token of an `Authorization: Bearer` header ("" if none).
fn bearer(parts: &Parts) -> &str {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
}

/// A token as sent, trimmed; none at all is refused before any lookup.
fn given(token: &str) -> Result<&str, AppError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(unauthorized(
            ErrorCode::Unauthorized,
            "sign in with an invite code first",
        ));
    }
    Ok(token)
}

fn unauthorized(code: ErrorCode, message: &str) -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, code, message)
}
