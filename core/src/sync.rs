//! The sync protocol's wire format (`POST /api/sync`) and its request checks.
//!
//! One request pushes a batch of outbox entries and pulls one page of one
//! compound's changes. See ARCHITECTURE.md, "Sync protocol".

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::{
    api::{ApiError, ErrorCode},
    hlc::Hlc,
    ids::{ClientId, CompoundId},
    mutation::{Mutation, Refusal},
    record::Record,
};

/// The wire format this build speaks: its requests' mutations and the pull
/// pages it reads. 2: compact pages (`page.rs`), no echo of a push; 3: a
/// page's changes as arrays, a record's stamp once with only the fields
/// that differ carrying their own, wall times as offsets.
pub const SCHEMA_VERSION: u32 = 3;
/// The formats this build's server accepts. An older app is refused as a
/// whole (`unsupported_schema`, 422) and asked to reload, so it never reads
/// a page it would misunderstand.
pub const SUPPORTED_SCHEMA: RangeInclusive<u32> = 3..=3;
/// Most mutations in one push; the client sends its outbox in batches.
pub const MAX_PUSH_MUTATIONS: usize = 100;
/// Largest request body the server reads, and inflates a gzipped one to;
/// larger gets 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The `Content-Encoding` a sync request body may have besides none: the
/// phone gzips a push that is worth it.
pub const BODY_ENCODING: &str = "gzip";
/// Most changes in one pull page.
pub const PULL_PAGE_SIZE: usize = 1000;

/// A mutation as the client numbered and stamped it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushedMutation {
    /// Counts up by one per client, from 1.
    #[serde(deserialize_with = "crate::number::whole")]
    pub mid: u64,
    pub hlc: Hlc,
    #[serde(flatten)]
    pub mutation: Mutation,
}

impl PushedMutation {
    /// A client's mutations in order, numbered from `first_mid` and all
    /// stamped at `wall_ms`, the counter following the mid (so batches of
    /// one client at one wall time still count up): how a server-side
    /// client (a roster import, a resident's request) or a test pushes.
    pub fn numbered(
        client: ClientId,
        first_mid: u64,
        wall_ms: u64,
        mutations: impl IntoIterator<Item = Mutation>,
    ) -> Vec<PushedMutation> {
        mutations
            .into_iter()
            .zip(first_mid..)
            .map(|(mutation, mid)| PushedMutation {
                mid,
                hlc: Hlc {
                    wall_ms,
                    counter: mid as u32,
                    node: client,
                },
                mutation,
            })
            .collect()
    }
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub client_id: ClientId,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::schema_version))]
    #[serde(deserialize_with = "crate::number::whole")]
    pub schema_version: u32,
    /// Consecutive mids; may start at or below what the server has (a retry).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub mutations: Vec<PushedMutation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullRequest>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    pub compound: CompoundId,
    /// The last change sequence number this client has stored; 0 at first.
    #[serde(deserialize_with = "crate::number::whole")]
    pub cursor: u64,
    /// The scope fingerprint the phone's records were pulled under (from
    /// the last page). When the device's scope has changed since, the
    /// server starts again from 0 and says `reset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rejection {
    pub mid: u64,
    #[serde(flatten)]
    pub refusal: Refusal,
}

/// One page of a compound's changes. On the wire it is compact (see
/// `page.rs`: each client id, collection and field name once per page).
#[derive(Clone, Debug, PartialEq, Eq)]
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
    pub scope: String,
    /// The scope changed: this page starts from 0, and the phone drops every
    /// record it holds before storing it (what it may no longer see goes).
    pub reset: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The compound's change sequence number of this record's latest change.
    pub seq: u64,
    pub record: Record,
}

impl PullPage {
    /// Leaves out what the request's own `pushed` mutations wrote: the
    /// phone applied each of them when it was made, so a field or delete
    /// carrying one of their stamps is already on it. Records left with
    /// nothing go. A reset page is left whole: the phone drops every record
    /// before storing it.
    pub fn without_echo(mut self, pushed: &[PushedMutation]) -> Self {
        if self.reset || pushed.is_empty() {
            return self;
        }
        let own: std::collections::HashSet<&Hlc> = pushed.iter().map(|p| &p.hlc).collect();
        self.changes.retain_mut(|change| {
            let record = &mut change.record;
            record
                .fields
                .retain(|_, stamped| !own.contains(&stamped.hlc));
            if record.deleted.as_ref().is_some_and(|d| own.contains(d)) {
                record.deleted = None;
            }
            !record.fields.is_empty() || record.deleted.is_some()
        });
        self
    }
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
    pub fn code(&self) -> ErrorCode {
        match self {
            RequestError::Malformed { .. } => ErrorCode::Malformed,
            RequestError::UnsupportedSchema { .. } => ErrorCode::UnsupportedSchema,
            RequestError::TooManyMutations { .. } => ErrorCode::TooManyMutations,
            RequestError::Invalid { .. } => ErrorCode::Invalid,
            RequestError::ClockAhead { .. } => ErrorCode::ClockAhead,
            RequestError::MidGap { .. } => ErrorCode::MidGap,
            RequestError::MidReused { .. } => ErrorCode::MidReused,
        }
    }

    pub fn to_api_error(&self) -> ApiError {
        let (message, field) = match self {
            RequestError::Malformed { field, message } => (message.clone(), field.clone()),
            RequestError::UnsupportedSchema { version } => (
                format!(
                    "schema version {version} is not supported; this server takes {}..={}: \
                     reload the app to update it",
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
            code: self.code(),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{record::Stamped, schema::Collection};

    fn stamp(wall_ms: u64, node: u128) -> Hlc {
        Hlc {
            wall_ms,
            counter: 0,
            node: ClientId::from_u128(node),
        }
    }

    fn pushed(mid: u64, hlc: Hlc) -> PushedMutation {
        PushedMutation {
            mid,
            hlc,
            mutation: serde_json::from_value(json!({"kind": "set", "args": {
                "collection": "household", "id": "h1", "compound": "c1",
                "fields": {"door": "101"}}}))
            .unwrap(),
        }
    }

    fn change(seq: u64, id: &str, fields: &[(&str, Hlc)], deleted: Option<Hlc>) -> Change {
        let mut record = Record::new(
            Collection::Household,
            id.parse().unwrap(),
            "c1".parse().unwrap(),
        );
        for (name, hlc) in fields {
            record.fields.insert(
                (*name).to_owned(),
                Stamped {
                    value: json!("x"),
                    hlc: hlc.clone(),
                },
            );
        }
        record.deleted = deleted;
        Change { seq, record }
    }

    fn page(changes: Vec<Change>, reset: bool) -> PullPage {
        PullPage {
            compound: "c1".parse().unwrap(),
            changes,
            cursor: 3,
            more: false,
            remaining: 0,
            scope: String::new(),
            reset,
        }
    }

    #[test]
    fn numbered_mutations_count_up_from_the_first_mid_at_one_wall_time() {
        let client = ClientId::from_u128(7);
        let mutation = pushed(1, stamp(0, 7)).mutation;
        let numbered = PushedMutation::numbered(client, 41, 1_000, [mutation.clone(), mutation]);
        let marks: Vec<_> = numbered
            .iter()
            .map(|p| (p.mid, p.hlc.wall_ms, p.hlc.counter, p.hlc.node))
            .collect();
        assert_eq!(marks, [(41, 1_000, 41, client), (42, 1_000, 42, client)]);
        let next = PushedMutation::numbered(client, 43, 1_000, [numbered[0].mutation.clone()]);
        assert!(next[0].hlc > numbered[1].hlc, "a later batch stamps later");
    }

    #[test]
    fn a_push_answer_leaves_out_what_the_push_wrote() {
        let (mine, also_mine, theirs) = (stamp(10, 1), stamp(11, 1), stamp(12, 2));
        let push = [pushed(1, mine.clone()), pushed(2, also_mine.clone())];
        let changes = vec![
            // Only this push wrote it: nothing to send.
            change(1, "h1", &[("door", mine.clone())], None),
            // Another phone wrote a field too: that field alone comes back.
            change(
                2,
                "h2",
                &[("door", also_mine.clone()), ("head", theirs.clone())],
                None,
            ),
            // Deleted by this push, a field written elsewhere stays.
            change(3, "h3", &[("head", theirs.clone())], Some(mine.clone())),
        ];
        let answered = page(changes.clone(), false).without_echo(&push);
        assert_eq!(
            answered.changes,
            [
                change(2, "h2", &[("head", theirs.clone())], None),
                change(3, "h3", &[("head", theirs)], None),
            ]
        );
        // An earlier edit of this phone that is not in this push comes back.
        let older = [pushed(1, stamp(9, 1))];
        assert_eq!(
            page(changes.clone(), false).without_echo(&older).changes,
            changes
        );
        // A reset page is stored in place of everything: it stays whole.
        assert_eq!(
            page(changes.clone(), true).without_echo(&push).changes,
            changes
        );
    }
}
