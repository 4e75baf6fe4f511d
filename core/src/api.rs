//! Wire types of the HTTP API that are not part of sync: one definition,
//! serialised by the server and read by the app.

use serde::{Deserialize, Serialize};

/// Answer of `GET /api/health`: only what a load balancer needs. Anyone may
/// ask, so it names no version of the server or its database engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: HealthStatus,
}

/// A 200 always says `ok` (the database answered); otherwise the answer is
/// an [`ApiError`] with a 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
}

/// Which store backs the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Sqlite,
    Postgres,
}

/// A compound's id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompoundSummary {
    pub id: crate::ids::CompoundId,
    /// Display name, e.g. 永安社区.
    pub name: String,
}

/// `POST /api/redeem`: a phone trades an invite code for a device token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// As typed or scanned; see [`crate::invite::normalize`].
    pub code: String,
    /// What the coordinator's device list calls this phone, e.g. "王芳的手机".
    #[serde(default)]
    pub label: String,
}

/// Answer of `POST /api/redeem`: the bearer token, shown this once, and
/// either a compound device's session or a district official's district.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Redeemed {
    pub token: String,
    /// A device that works in a compound: where, and what it may reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// A district official: the district whose totals it sees. It has no
    /// compound and syncs nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<crate::district::DistrictSummary>,
}

/// Answer of `GET /api/session`: who this device is and what it may reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub device: String,
    pub compound: CompoundSummary,
    pub scope: crate::access::Scope,
}

/// `POST /api/compounds/{c}/invites`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub role: crate::access::Role,
    /// Required for a volunteer: the team whose buildings they reach.
    #[serde(default)]
    pub team: Option<crate::ids::RecordId>,
    /// How many phones may redeem it (1 = single use).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 500))]
    #[serde(deserialize_with = "crate::number::whole")]
    pub uses: u32,
    /// Hours until it expires.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 720))]
    #[serde(deserialize_with = "crate::number::whole")]
    pub hours: u32,
    /// Grants a volunteer the key-persons fields.
    #[serde(default)]
    pub key_persons: bool,
}

/// An invite as the coordinator's list shows it (never its code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    pub id: String,
    pub role: crate::access::Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<crate::ids::RecordId>,
    pub key_persons: bool,
    pub uses_left: u32,
    pub expires_at_ms: u64,
    pub created_at_ms: u64,
}

/// Answer of `POST /api/compounds/{c}/invites`: the code, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewInvite {
    pub invite: Invite,
    /// Display form, e.g. `7K2QM-X9D4T`.
    pub code: String,
    /// The app page that redeems it; the code rides in the fragment, which
    /// browsers never send to the server (so it never reaches a log).
    pub join_url: String,
    /// A QR code of `join_url`, as SVG.
    pub qr_svg: String,
}

/// A redeemed device in the coordinator's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceInfo {
    pub id: String,
    pub label: String,
    pub role: crate::access::Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<crate::ids::RecordId>,
    pub key_persons: bool,
    pub created_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<u64>,
    /// The device asking: a coordinator may not revoke the phone in hand.
    #[serde(default)]
    pub this_device: bool,
}

/// `POST /api/compounds/{c}/devices/{id}`: revoke it, or change its grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceUpdate {
    /// `true` revokes the device for good.
    #[serde(default)]
    pub revoke: bool,
    #[serde(default)]
    pub key_persons: Option<bool>,
}

/// Every machine-readable code the server answers with, in an error body
/// or on a refused mutation: one list, so the server and the phone compare
/// variants, never strings. On the wire, snake_case (`not_found`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request could not be read (400).
    Malformed,
    /// The body was refused before it was read: too large, or not JSON.
    BodyRejected,
    /// No such route or record (404).
    NotFound,
    MethodNotAllowed,
    UnsupportedMediaType,
    /// A value breaks the schema or a domain rule (422; also a refusal).
    Invalid,
    /// The phone speaks an older sync format and must reload.
    UnsupportedSchema,
    TooManyMutations,
    /// The phone's clock is too far ahead of the server's.
    ClockAhead,
    /// A push skips mids the server has not seen.
    MidGap,
    /// A mid acknowledged before arrives with another edit.
    MidReused,
    /// No or an unknown token.
    Unauthorized,
    /// The device was signed out by a coordinator.
    DeviceRevoked,
    /// An invite code that is wrong, used up, expired or revoked.
    InvalidCode,
    /// A live-stream ticket that is forged, tampered with or expired.
    InvalidTicket,
    /// Too many tries from one address; wait.
    TooManyAttempts,
    /// Too many help requests from one address or building this hour.
    TooManyRequests,
    /// The compound does not take help requests (its switch is off).
    HelpClosed,
    /// The caller's role or buildings do not reach it (403; also a refusal).
    Forbidden,
    /// The record is already there (409).
    Exists,
    /// A roster whose rows cannot all be imported.
    BadRows,
    /// A roster file with no rows.
    RosterEmpty,
    /// A roster sheet without a door-number column.
    RosterNoDoorColumn,
    /// No header row in a roster's first rows.
    RosterNoHeader,
    /// A WPS .et roster, to be saved as .xlsx first.
    RosterWpsEt,
    /// A roster file that is not a spreadsheet this server reads.
    RosterUnreadable,
    /// A spreadsheet that could not be written.
    ExportFailed,
    /// The store is locked by other writers for now; retry (503).
    Busy,
    /// The database did not answer (503).
    StoreUnavailable,
    /// The store holds data the server cannot read (500).
    Corrupt,
    /// A refused mutation: an entry under this id exists with other content.
    EntryExists,
    /// A refused mutation: the record belongs to another compound.
    WrongCompound,
    /// Any other HTTP failure.
    HttpError,
    /// A code this build does not know (a newer server's).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as the wire writes it (`not_found`), for logs and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::BodyRejected => "body_rejected",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Invalid => "invalid",
            ErrorCode::UnsupportedSchema => "unsupported_schema",
            ErrorCode::TooManyMutations => "too_many_mutations",
            ErrorCode::ClockAhead => "clock_ahead",
            ErrorCode::MidGap => "mid_gap",
            ErrorCode::MidReused => "mid_reused",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::DeviceRevoked => "device_revoked",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::InvalidTicket => "invalid_ticket",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::HelpClosed => "help_closed",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Exists => "exists",
            ErrorCode::BadRows => "bad_rows",
            ErrorCode::RosterEmpty => "roster_empty",
            ErrorCode::RosterNoDoorColumn => "roster_no_door_column",
            ErrorCode::RosterNoHeader => "roster_no_header",
            ErrorCode::RosterWpsEt => "roster_wps_et",
            ErrorCode::RosterUnreadable => "roster_unreadable",
            ErrorCode::ExportFailed => "export_failed",
            ErrorCode::Busy => "busy",
            ErrorCode::StoreUnavailable => "store_unavailable",
            ErrorCode::Corrupt => "corrupt",
            ErrorCode::EntryExists => "entry_exists",
            ErrorCode::WrongCompound => "wrong_compound",
            ErrorCode::HttpError => "http_error",
            ErrorCode::Unknown => "unknown",
        }
    }

    /// A code read back from storage or a log; unknown words are `Unknown`.
    pub fn parse(code: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(code.to_owned()))
            .unwrap_or(ErrorCode::Unknown)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one error shape of the API: `{code, message, field?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable, machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// The offending input field, when one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON shape is a contract with deployed phones: pin it.
    #[test]
    fn health_json_shape() {
        let health = Health {
            status: HealthStatus::Ok,
        };
        let json = serde_json::to_string(&health).unwrap();
        assert_eq!(json, r#"{"status":"ok"}"#);
        assert_eq!(serde_json::from_str::<Health>(&json).unwrap(), health);
    }

    #[test]
    fn api_error_omits_absent_field() {
        let err = ApiError {
            code: ErrorCode::NotFound,
            message: "no such route".into(),
            field: None,
        };
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":"not_found","message":"no such route"}"#
        );
    }

    /// `as_str` is the wire's word, and a newer server's code still reads.
    #[test]
    fn error_codes_read_as_they_are_written() {
        use ErrorCode::*;
        let all = [
            Malformed,
            BodyRejected,
            NotFound,
            MethodNotAllowed,
            UnsupportedMediaType,
            Invalid,
            UnsupportedSchema,
            TooManyMutations,
            ClockAhead,
            MidGap,
            MidReused,
            Unauthorized,
            DeviceRevoked,
            InvalidCode,
            InvalidTicket,
            TooManyAttempts,
            TooManyRequests,
            HelpClosed,
            Forbidden,
            Exists,
            BadRows,
            RosterEmpty,
            RosterNoDoorColumn,
            RosterNoHeader,
            RosterWpsEt,
            RosterUnreadable,
            ExportFailed,
            Busy,
            StoreUnavailable,
            Corrupt,
            EntryExists,
            WrongCompound,
            HttpError,
        ];
        for code in all {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
        assert_eq!(ErrorCode::parse("from_the_future"), Unknown);
        let read: ApiError =
            serde_json::from_str(r#"{"code":"from_the_future","message":"m"}"#).unwrap();
        assert_eq!(read.code, Unknown);
    }
}

/// `GET /api/compounds/{c}/refused`: an edit the server refused for good,
/// newest first, so a coordinator can see it and adopt it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusedEdit {
    /// The device (client id) that made it.
    pub device: String,
    /// The device's name, when it signed in with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_label: Option<String>,
    /// Its number on that device: with `device`, it names the edit.
    pub mid: u64,
    pub mutation: crate::mutation::Mutation,
    /// When the device made it (its clock).
    pub made_at_ms: u64,
    /// When the server received it.
    pub received_at_ms: u64,
    pub refusal: crate::mutation::Refusal,
    /// The record holds what it said now: adopted, or entered again.
    pub reflected: bool,
}

/// One change in a record's history, from the server's mutation log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryChange {
    /// The device (client id) that made it.
    pub device: String,
    pub kind: String,
    /// The fields it wrote (empty for a delete).
    pub fields: std::collections::BTreeMap<String, serde_json::Value>,
    /// When the device made it (its clock).
    pub made_at_ms: u64,
    /// When the server received it.
    pub received_at_ms: u64,
    /// Why the server refused it, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<ErrorCode>,
}

/// `POST /api/events/ticket`: lets this device open its live stream,
/// `GET /api/events?ticket=…`, until `expires_ms` (server clock). A browser's
/// `EventSource` cannot send the bearer token, and a token in a URL would
/// end up in logs; a ticket only opens a stream of contentless pokes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventTicket {
    pub ticket: String,
    pub expires_ms: u64,
}

/// The events a phone's live stream sends (`event:` names): `ready` once
/// connected, then `poke` whenever its compound has new changes to pull.
pub const EVENT_READY: &str = "ready";
pub const EVENT_POKE: &str = "poke";

/// `GET` and `PUT /api/compounds/{compound}/help`: whether the compound's
/// building pages take residents' help requests (求助); off until a
/// coordinator turns it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HelpSwitch {
    pub enabled: bool,
}
