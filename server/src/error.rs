//! The API's single error type: every failure leaves as `{code, message, field?}`.

use axum::{
    Json,
    extract::Request,
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use doorstep_core::{
    api::{ApiError, ErrorCode},
    sync::RequestError,
};

use crate::store::StoreError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub body: ApiError,
}

impl AppError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiError {
                code,
                message: message.into(),
                field: None,
            },
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
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
            ErrorCode::StoreUnavailable,
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
            StoreError::Exists(message) => {
                Self::new(StatusCode::CONFLICT, ErrorCode::Exists, message)
            }
            StoreError::Forbidden(message) => Self::forbidden(message),
            StoreError::Busy(message) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Busy, message)
            }
            StoreError::Corrupt(detail) => {
                tracing::error!(%detail, "corrupt stored data");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Corrupt,
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

/// The code of an error that axum itself answered, by its status.
fn code_of(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::BAD_REQUEST => ErrorCode::Malformed,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyRejected,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::Invalid,
        _ => ErrorCode::HttpError,
    }
}

/// Middleware for `/api`: an error response that is not already an
/// [`ApiError`] (axum's own answers: a body over the limit, a wrong
/// method, an extractor's rejection of a path, query, form or JSON body)
/// leaves as one, with the same status, its text as the message, and its
/// other headers (`Allow`, `Retry-After`) kept. An HTML page passes as it
/// is: the download forms (posters, ledgers) answer a failure with
/// `security::error_page`, which the browser shows in place of the file.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let shaped = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            let v = v.as_bytes();
            v.starts_with(b"application/json") || v.starts_with(b"text/html")
        });
    if !(status.is_client_error() || status.is_server_error()) || shaped {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_owned()
    } else {
        text
    };
    let mut json = AppError::new(status, code_of(status), message).into_response();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    json.headers_mut().extend(parts.headers);
    json
}
