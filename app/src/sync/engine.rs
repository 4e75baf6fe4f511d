//! One sync round: push the outbox in batches, pull the compound's changes
//! page by page, committing each to IndexedDB before the cursor moves. Each
//! request carries a push batch and the pull after it, so a phone with fewer
//! edits than a batch and one page to pull syncs in one request.

use doorstep_core::api::ErrorCode;
use doorstep_core::sync::{
    MAX_PUSH_MUTATIONS, PullRequest, SCHEMA_VERSION, SyncRequest, SyncResponse,
};

use crate::{
    api::{self, ApiFailure, Body},
    storage::{Applied, Db, PullRound, StorageError},
};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub pushed: usize,
    pub applied: Applied,
    /// The server's clock when it last answered.
    pub server_time_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncError {
    Unreachable(String),
    /// The device clock is ahead of the server's: edits wait until it is fixed.
    ClockAhead(String),
    /// Refused as a whole: the server's error code.
    Refused(ErrorCode),
    /// The server already acknowledged one of the outbox's mids with other
    /// content: retrying cannot help, and the person must know.
    MidReused(String),
    /// The server no longer accepts this device's token (revoked, or never
    /// valid): it must sign in again; its outbox stays.
    SignedOut(ErrorCode),
    Storage(StorageError),
}

impl From<StorageError> for SyncError {
    fn from(err: StorageError) -> Self {
        SyncError::Storage(err)
    }
}

impl From<ApiFailure> for SyncError {
    fn from(failure: ApiFailure) -> Self {
        match failure {
            ApiFailure::Unreachable(detail) => SyncError::Unreachable(detail),
            ApiFailure::Refused { error, .. } if error.code == ErrorCode::ClockAhead => {
                SyncError::ClockAhead(error.message)
            }
            ApiFailure::Refused { error, .. } if error.code == ErrorCode::MidReused => {
                SyncError::MidReused(error.message)
            }
            ApiFailure::Refused { status: 401, error } => SyncError::SignedOut(error.code),
            ApiFailure::Refused { error, .. } => SyncError::Refused(error.code),
        }
    }
}

/// `POST /api/sync`: one push batch and the pull after it, gzipped when
/// the push makes it long.
async fn push_and_pull(request: &SyncRequest, token: &str) -> Result<SyncResponse, ApiFailure> {
    api::post(api::url("/api/sync"), Some(token), Body::GzipJson(request)).await
}

/// Pull progress: changes stored so far, and the total expected this round.
pub type Progress = (u64, u64);

/// Runs until the outbox is empty and the last page says no more.
pub async fn sync_once(
    db: &Db,
    now_ms: impl Fn() -> u64,
    on_progress: impl Fn(Progress),
) -> Result<Outcome, SyncError> {
    let mut outcome = Outcome::default();
    let mut pulled = 0u64;
    let mut expected = None;
    let mut round = PullRound::default();
    loop {
        let device = db.device().await?;
        if device.revoked {
            // Nothing is sent until the phone signs in again; the outbox stays.
            return Err(SyncError::SignedOut(ErrorCode::DeviceRevoked));
        }
        let Some(credentials) = device.credentials() else {
            return Ok(outcome);
        };
        let batch = db.outbox(MAX_PUSH_MUTATIONS as u32).await?;
        let request = SyncRequest {
            client_id: device.client_id,
            schema_version: SCHEMA_VERSION,
            mutations: batch.iter().map(|entry| entry.pushed.clone()).collect(),
            pull: Some(PullRequest {
                compound: credentials.compound.clone(),
                cursor: device.cursor,
                scope: device.pulled_scope.clone(),
            }),
        };
        let response = match push_and_pull(&request, &credentials.token).await {
            Err(ApiFailure::Refused { status: 401, error }) => {
                db.mark_revoked().await?;
                return Err(SyncError::SignedOut(error.code));
            }
            other => other?,
        };
        if let Some(last) = batch.last()
            && response.last_mid < last.pushed.mid
        {
            // The server skipped some of the batch: a gap it cannot fill.
            return Err(SyncError::Refused(ErrorCode::MidGap));
        }
        let undone = db
            .acknowledge(response.last_mid, &response.rejected)
            .await?;
        outcome.pushed += batch.len();
        outcome.server_time_ms = response.server_time_ms;
        if !undone.is_empty() {
            // Refused edits were taken back and the cursor is at 0: pull
            // again from there rather than store this page's cursor.
            outcome.applied.records.extend(undone);
            continue;
        }
        let Some(page) = response.pull else { break };
        let applied = db
            .apply_pull_page_in(&mut round, &page, now_ms(), || Ok(()))
            .await?;
        if applied.reset {
            // What this device may reach changed: learn how, for the pages.
            let session = api::session(&credentials.token).await?;
            db.set_access(session.scope).await?;
            // Storage now holds exactly what this page and the next ones
            // bring, so the outcome is the phone's whole data.
            outcome.applied = Applied {
                reset: true,
                ..Applied::default()
            };
        }
        pulled += page.changes.len() as u64;
        let total = *expected.get_or_insert(page.changes.len() as u64 + page.remaining);
        on_progress((pulled, total.max(pulled)));
        outcome.applied.records.extend(applied.records);
        outcome.applied.conflicts.extend(applied.conflicts);
        // One request did both: the push and the pull after it. Another
        // goes only for a full outbox batch (more may wait) or a next page;
        // an edit made meanwhile is the next round's (the runner kicks it).
        if batch.len() < MAX_PUSH_MUTATIONS && !page.more {
            break;
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use doorstep_core::{api::ApiError, sync::RequestError};

    use super::*;

    #[test]
    fn a_reused_mid_is_its_own_failure() {
        let error = RequestError::MidReused { mid: 7 }.to_api_error();
        let failure = ApiFailure::Refused { status: 409, error };
        assert!(matches!(SyncError::from(failure), SyncError::MidReused(_)));
        let gap = ApiFailure::Refused {
            status: 409,
            error: ApiError {
                code: ErrorCode::MidGap,
                message: "gap".into(),
                field: None,
            },
        };
        assert!(matches!(SyncError::from(gap), SyncError::Refused(_)));
    }
}
