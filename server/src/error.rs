//! The API's single error type: every failure leaves as `{code, message, field?}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use doorstep_core::{api::ApiError, sync::RequestError};

use crate::store::StoreError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub body: ApiError,
}

impl AppError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiError {
                code: code.to_owned(),
                message: message.into(),
                field: None,
            },
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
}

/// Storage failures are the server's fault, never the client's: log the cause,
/// answer 503 without leaking internals.
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(error = %err, "store failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the server's database did not answer",
        )
    }
}

impl From<RequestError> for AppError {
    fn from(err: RequestError) -> Self {
        let status = match err {
            RequestError::Malformed { .. } => StatusCode::BAD_REQUEST,
            RequestError::TooManyMutations { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::MidGap { .. } | RequestError::MidReused { .. } => StatusCode::CONFLICT,
            RequestError::UnsupportedSchema { .. }
            | RequestError::Invalid { .. }
            | RequestError::ClockAhead { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self {
            status,
            body: err.to_api_error(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Request(err) => err.into(),
            StoreError::Db(err) => err.into(),
            StoreError::Exists(message) => Self::new(StatusCode::CONFLICT, "exists", message),
            StoreError::Forbidden(message) => Self::forbidden(message),
            StoreError::Busy(message) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
            }
            StoreError::Corrupt(detail) => {
                tracing::error!(%detail, "corrupt stored data");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "corrupt",
                    "the server holds data it cannot read",
                )
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
