//! Wire types of the HTTP API that are not part of sync: one definition,
//! serialised by the server and read by the app.

use serde::{Deserialize, Serialize};

/// Answer of `GET /api/health`: only what a load balancer needs. Anyone may
/// ask, so it names no version of the server or its database engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: HealthStatus,
}

/// A 200 always says `ok` (the database answered); otherwise the answer is
/// an [`ApiError`] with a 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct CompoundSummary {
    pub id: crate::ids::CompoundId,
    /// Display name, e.g. 永安社区.
    pub name: String,
}

/// `POST /api/redeem`: a phone trades an invite code for a device token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct Session {
    pub device: String,
    pub compound: CompoundSummary,
    pub scope: crate::access::Scope,
}

/// `POST /api/compounds/{c}/invites`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub role: crate::access::Role,
    /// Required for a volunteer: the team whose buildings they reach.
    #[serde(default)]
    pub team: Option<crate::ids::RecordId>,
    /// How many phones may redeem it (1 = single use).
    pub uses: u32,
    /// Hours until it expires.
    pub hours: u32,
    /// Grants a volunteer the key-persons fields.
    #[serde(default)]
    pub key_persons: bool,
}

/// An invite as the coordinator's list shows it (never its code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[serde(deny_unknown_fields)]
pub struct DeviceUpdate {
    /// `true` revokes the device for good.
    #[serde(default)]
    pub revoke: bool,
    #[serde(default)]
    pub key_persons: Option<bool>,
}

/// The one error shape of the API: `{code, message, field?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable, machine-readable code such as `not_found`.
    pub code: String,
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
            code: "not_found".into(),
            message: "no such route".into(),
            field: None,
        };
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":"not_found","message":"no such route"}"#
        );
    }
}

/// `GET /api/compounds/{c}/refused`: an edit the server refused for good,
/// newest first, so a coordinator can see it and adopt it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    pub rejected: Option<String>,
}

/// `POST /api/events/ticket`: lets this device open its live stream,
/// `GET /api/events?ticket=…`, until `expires_ms` (server clock). A browser's
/// `EventSource` cannot send the bearer token, and a token in a URL would
/// end up in logs; a ticket only opens a stream of contentless pokes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct HelpSwitch {
    pub enabled: bool,
}
