//! The sync protocol's wire format (`POST /api/sync`) and its request checks.
//!
//! One request pushes a batch of outbox entries and pulls one page of one
//! compound's changes. See ARCHITECTURE.md, "Sync protocol".

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::{
    api::ApiError,
    hlc::Hlc,
    ids::{ClientId, CompoundId},
    mutation::{Mutation, Refusal},
    record::Record,
};

/// The mutation format this build writes.
pub const SCHEMA_VERSION: u32 = 1;
/// The formats this build's server accepts.
pub const SUPPORTED_SCHEMA: RangeInclusive<u32> = 1..=1;
/// Most mutations in one push; the client sends its outbox in batches.
pub const MAX_PUSH_MUTATIONS: usize = 100;
/// Largest request body the server reads; larger gets 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Most changes in one pull page.
pub const PULL_PAGE_SIZE: usize = 1000;

/// A mutation as the client numbered and stamped it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedMutation {
    /// Counts up by one per client, from 1.
    pub mid: u64,
    pub hlc: Hlc,
    #[serde(flatten)]
    pub mutation: Mutation,
}

/// What the phone keeps in its outbox until the server acknowledges it:
/// `{client_id, mid, kind, args, hlc, schema_version}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub client_id: ClientId,
    pub schema_version: u32,
    #[serde(flatten)]
    pub pushed: PushedMutation,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub client_id: ClientId,
    pub schema_version: u32,
    /// Consecutive mids; may start at or below what the server has (a retry).
    #[serde(default)]
    pub mutations: Vec<PushedMutation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullRequest>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    pub compound: CompoundId,
    /// The last change sequence number this client has stored; 0 at first.
    pub cursor: u64,
    /// The scope fingerprint the phone's records were pulled under (from
    /// the last page). When the device's scope has changed since, the
    /// server starts again from 0 and says `reset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The highest mid the server has processed for this client (applied or
    /// rejected). The client drops outbox entries up to it.
    pub last_mid: u64,
    /// Rejections among the mids this request carried.
    pub rejected: Vec<Rejection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullPage>,
    /// The server's clock, so the app can warn about a wrong device clock.
    pub server_time_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub mid: u64,
    #[serde(flatten)]
    pub refusal: Refusal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullPage {
    pub compound: CompoundId,
    /// Records changed after the request's cursor, in commit order, as their
    /// full current state.
    pub changes: Vec<Change>,
    /// Store this once the page is committed locally; pull again from it.
    pub cursor: u64,
    /// More changes wait beyond this page.
    pub more: bool,
    /// How many changes wait beyond this page: drives the progress bar.
    pub remaining: u64,
    /// Fingerprint of what this device may see; send it back with the next pull.
    #[serde(default)]
    pub scope: String,
    /// The scope changed: this page starts from 0, and the phone drops every
    /// record it holds before storing it (what it may no longer see goes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The compound's change sequence number of this record's latest change.
    pub seq: u64,
    pub record: Record,
}

/// Why a sync request is refused as a whole; nothing of it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The body is not the JSON this endpoint takes.
    Malformed {
        field: Option<String>,
        message: String,
    },
    UnsupportedSchema {
        version: u32,
    },
    TooManyMutations {
        count: usize,
    },
    /// A mutation that no state could make valid.
    Invalid {
        field: String,
        message: String,
    },
    /// Stamped too far ahead of the server's clock: the device clock is wrong.
    ClockAhead {
        field: String,
        ahead_ms: u64,
    },
    /// The batch skips mids the server has not seen.
    MidGap {
        expected: u64,
        got: u64,
    },
    /// A mid the server acknowledged before, sent again with another edit:
    /// the new edit would be dropped as a retry, so nothing is taken.
    MidReused {
        mid: u64,
    },
}

impl RequestError {
    /// The code of [`RequestError::MidReused`], which the app tells apart.
    pub const MID_REUSED: &'static str = "mid_reused";

    pub fn code(&self) -> &'static str {
        match self {
            RequestError::Malformed { .. } => "malformed",
            RequestError::UnsupportedSchema { .. } => "unsupported_schema",
            RequestError::TooManyMutations { .. } => "too_many_mutations",
            RequestError::Invalid { .. } => "invalid",
            RequestError::ClockAhead { .. } => "clock_ahead",
            RequestError::MidGap { .. } => "mid_gap",
            RequestError::MidReused { .. } => Self::MID_REUSED,
        }
    }

    pub fn to_api_error(&self) -> ApiError {
        let (message, field) = match self {
            RequestError::Malformed { field, message } => (message.clone(), field.clone()),
            RequestError::UnsupportedSchema { version } => (
                format!(
                    "schema version {version} is not supported; this server takes {}..={}: update the app",
                    SUPPORTED_SCHEMA.start(),
                    SUPPORTED_SCHEMA.end()
                ),
                Some("schema_version".into()),
            ),
            RequestError::TooManyMutations { count } => (
                format!("{count} mutations in one push; at most {MAX_PUSH_MUTATIONS}"),
                Some("mutations".into()),
            ),
            RequestError::Invalid { field, message } => (message.clone(), Some(field.clone())),
            RequestError::ClockAhead { field, ahead_ms } => (
                format!(
                    "stamped {} s ahead of the server clock: the device clock is wrong; the edit is kept and will be sent again",
                    ahead_ms / 1000
                ),
                Some(field.clone()),
            ),
            RequestError::MidGap { expected, got } => (
                format!("expected mutation {expected} next, got {got}"),
                Some("mutations[0].mid".into()),
            ),
            RequestError::MidReused { mid } => (
                format!(
                    "mutation {mid} was acknowledged with other content; this device's outbox \
                     reuses a sent number, so its edits from {mid} on are not taken"
                ),
                Some("mutations".into()),
            ),
        };
        ApiError {
            code: self.code().to_owned(),
            message,
            field,
        }
    }
}

impl SyncRequest {
    /// Every check that needs no stored state.
    pub fn check(&self, server_now_ms: u64) -> Result<(), RequestError> {
        if !SUPPORTED_SCHEMA.contains(&self.schema_version) {
            return Err(RequestError::UnsupportedSchema {
                version: self.schema_version,
            });
        }
        if self.mutations.len() > MAX_PUSH_MUTATIONS {
            return Err(RequestError::TooManyMutations {
                count: self.mutations.len(),
            });
        }
        for (i, pushed) in self.mutations.iter().enumerate() {
            let at = |field: &str| format!("mutations[{i}].{field}");
            // Checked: a batch that starts near u64::MAX has no next mid.
            let Some(expected_mid) = self.mutations[0].mid.checked_add(i as u64) else {
                return Err(RequestError::Invalid {
                    field: at("mid"),
                    message: "mids must count up by one from 1; this one would be past the largest"
                        .into(),
                });
            };
            if pushed.mid == 0 || pushed.mid != expected_mid {
                return Err(RequestError::Invalid {
                    field: at("mid"),
                    message: format!("mids must count up by one from 1; expected {expected_mid}"),
                });
            }
            if pushed.hlc.node != self.client_id {
                return Err(RequestError::Invalid {
                    field: at("hlc"),
                    message: "stamped by another client".into(),
                });
            }
            if pushed.hlc.is_ahead_of(server_now_ms) {
                return Err(RequestError::ClockAhead {
                    field: at("hlc"),
                    ahead_ms: pushed.hlc.wall_ms - server_now_ms,
                });
            }
            pushed
                .mutation
                .validate()
                .map_err(|invalid| RequestError::Invalid {
                    field: at(&invalid.field),
                    message: invalid.message,
                })?;
        }
        Ok(())
    }
}
