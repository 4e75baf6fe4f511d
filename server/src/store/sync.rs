//! Push and pull (see ARCHITECTURE.md, "Sync protocol"): a push batch is one
//! transaction that applies new mutations with core's merge rules, records
//! each one, and moves the client's last mid; a pull reads one compound's
//! records after a cursor in sequence order.

use std::collections::HashSet;

use doorstep_core::{
    ids::ClientId,
    mutation::Refusal,
    record::Record,
    sync::{
        Change, PULL_PAGE_SIZE, PullPage, PullRequest, PushedMutation, Rejection, RequestError,
        SyncRequest,
    },
};
use sqlx::{Sqlite, Transaction};

use super::{Store, StoreError};

/// What a push did: the client's new last mid and any rejections.
#[derive(Debug, PartialEq, Eq)]
pub struct PushOutcome {
    pub last_mid: u64,
    pub rejected: Vec<Rejection>,
}

impl Store {
    /// Applies the request's mutations, all or none. Call only after
    /// `SyncRequest::check` has passed.
    pub async fn push(
        &self,
        request: &SyncRequest,
        now_ms: u64,
    ) -> Result<PushOutcome, StoreError> {
        let mut tx = self.writer.begin().await?;
        let client = request.client_id.to_string();
        let known: Option<(i64,)> =
            sqlx::query_as("SELECT last_mid FROM client WHERE client_id = ?")
                .bind(&client)
                .fetch_optional(&mut *tx)
                .await?;
        let previous = known.map_or(0, |(mid,)| mid as u64);
        if let Some(first) = request.mutations.first()
            && first.mid > previous + 1
        {
            return Err(RequestError::MidGap {
                expected: previous + 1,
                got: first.mid,
            }
            .into());
        }

        let mut rejected = Vec::new();
        let mut compounds_seen = HashSet::new();
        for (i, pushed) in request.mutations.iter().enumerate() {
            if pushed.mid <= previous {
                // A retry: the outcome was decided the first time.
                if let Some(rejection) = earlier_rejection(&mut tx, &client, pushed.mid).await? {
                    rejected.push(rejection);
                }
                continue;
            }
            let compound = pushed.mutation.compound();
            if compounds_seen.insert(compound.clone())
                && !compound_exists(&mut tx, compound.as_str()).await?
            {
                return Err(RequestError::UnknownCompound {
                    field: format!("mutations[{i}].args.compound"),
                    compound: compound.clone(),
                }
                .into());
            }
            let refusal = apply(&mut tx, pushed).await?;
            record_mutation(&mut tx, &client, pushed, now_ms, refusal.as_ref()).await?;
            if let Some(refusal) = refusal {
                rejected.push(Rejection {
                    mid: pushed.mid,
                    refusal,
                });
            }
        }

        let last_mid = request
            .mutations
            .last()
            .map_or(previous, |m| m.mid.max(previous));
        if last_mid > previous {
            sqlx::query(
                "INSERT INTO client (client_id, last_mid) VALUES (?, ?) \
                 ON CONFLICT (client_id) DO UPDATE SET last_mid = excluded.last_mid",
            )
            .bind(&client)
            .bind(last_mid as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(PushOutcome { last_mid, rejected })
    }

    /// One page of a compound's changes after `cursor`, in commit order.
    pub async fn pull(&self, pull: &PullRequest) -> Result<PullPage, StoreError> {
        let mut conn = self.reader.acquire().await?;
        let exists: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM compound WHERE id = ?")
            .bind(pull.compound.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(RequestError::UnknownCompound {
                field: "pull.compound".into(),
                compound: pull.compound.clone(),
            }
            .into());
        }
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, state FROM record WHERE compound = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(pull.compound.as_str())
        .bind(pull.cursor as i64)
        .bind(PULL_PAGE_SIZE as i64 + 1)
        .fetch_all(&mut *conn)
        .await?;
        let more = rows.len() > PULL_PAGE_SIZE;
        let changes = rows
            .into_iter()
            .take(PULL_PAGE_SIZE)
            .map(|(seq, state)| {
                Ok(Change {
                    seq: seq as u64,
                    record: decode(&state)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let cursor = changes.last().map_or(pull.cursor, |c| c.seq);
        let remaining = if more {
            let (count,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM record WHERE compound = ? AND seq > ?")
                    .bind(pull.compound.as_str())
                    .bind(cursor as i64)
                    .fetch_one(&mut *conn)
                    .await?;
            count as u64
        } else {
            0
        };
        Ok(PullPage {
            compound: pull.compound.clone(),
            changes,
            cursor,
            more,
            remaining,
        })
    }

    /// The last mid the server has processed for `client` (0 if none).
    pub async fn last_mid(&self, client: &ClientId) -> Result<u64, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT last_mid FROM client WHERE client_id = ?")
            .bind(client.to_string())
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map_or(0, |(mid,)| mid as u64))
    }
}

/// Merges one mutation into the stored record; a refusal leaves it untouched.
async fn apply(
    tx: &mut Transaction<'_, Sqlite>,
    pushed: &PushedMutation,
) -> Result<Option<Refusal>, StoreError> {
    let mutation = &pushed.mutation;
    let collection = mutation.collection().name();
    let stored: Option<(String,)> =
        sqlx::query_as("SELECT state FROM record WHERE collection = ? AND id = ?")
            .bind(collection)
            .bind(mutation.id().as_str())
            .fetch_optional(&mut **tx)
            .await?;
    let existing = stored.map(|(state,)| decode(&state)).transpose()?;
    let record = match mutation.apply(existing.as_ref(), &pushed.hlc) {
        Ok((record, _)) => record,
        Err(refusal) => return Ok(Some(refusal)),
    };
    if existing.as_ref() == Some(&record) {
        return Ok(None); // an older or repeated edit: nothing new to pull
    }
    let (seq,): (i64,) = sqlx::query_as(
        "UPDATE compound SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
    )
    .bind(record.compound.as_str())
    .fetch_one(&mut **tx)
    .await?;
    let state = serde_json::to_string(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO record (collection, id, compound, seq, state) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (collection, id) DO UPDATE SET seq = excluded.seq, state = excluded.state",
    )
    .bind(collection)
    .bind(record.id.as_str())
    .bind(record.compound.as_str())
    .bind(seq)
    .bind(state)
    .execute(&mut **tx)
    .await?;
    Ok(None)
}

async fn record_mutation(
    tx: &mut Transaction<'_, Sqlite>,
    client: &str,
    pushed: &PushedMutation,
    now_ms: u64,
    refusal: Option<&Refusal>,
) -> Result<(), StoreError> {
    let wire =
        serde_json::to_value(&pushed.mutation).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO mutation (client_id, mid, kind, args, hlc, received_at_ms, rejection_code, rejection_message) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(client)
    .bind(pushed.mid as i64)
    .bind(pushed.mutation.kind())
    .bind(wire["args"].to_string())
    .bind(pushed.hlc.to_string())
    .bind(now_ms as i64)
    .bind(refusal.map(|r| r.code.as_str()))
    .bind(refusal.map(|r| r.message.as_str()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn earlier_rejection(
    tx: &mut Transaction<'_, Sqlite>,
    client: &str,
    mid: u64,
) -> Result<Option<Rejection>, StoreError> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT rejection_code, rejection_message FROM mutation WHERE client_id = ? AND mid = ?",
    )
    .bind(client)
    .bind(mid as i64)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some((Some(code), message)) => Some(Rejection {
            mid,
            refusal: Refusal {
                code,
                message: message.unwrap_or_default(),
            },
        }),
        _ => None,
    })
}

async fn compound_exists(tx: &mut Transaction<'_, Sqlite>, id: &str) -> Result<bool, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM compound WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

pub(super) fn decode(state: &str) -> Result<Record, StoreError> {
    serde_json::from_str(state)
        .map_err(|e| StoreError::Corrupt(format!("stored record does not decode: {e}")))
}
