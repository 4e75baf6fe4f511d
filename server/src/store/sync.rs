//! Push and pull (see ARCHITECTURE.md, "Sync protocol"): a push batch is one
//! transaction that applies new mutations with core's merge rules, records
//! each one, and moves the client's last mid; a pull reads one compound's
//! records after a cursor in sequence order.
//!
//! Locks, for PostgreSQL where several instances write at once (on SQLite
//! there is one writer and they cost nothing): a push that has new mutations
//! first locks its client's row, then the counter row of every compound it
//! writes, in id order, and holds them until it commits. So two pushes from
//! one phone run one after the other, a record is read and merged only while
//! nobody else can write its compound, and a sequence number is handed out
//! only after every smaller one of that compound has committed: a reader
//! that has seen `seq` n never later finds a new change below n.

use std::{collections::BTreeMap, future::Future};

use doorstep_core::{
    ids::{ClientId, CompoundId},
    mutation::Refusal,
    record::Record,
    sync::{
        Change, PULL_PAGE_SIZE, PullPage, PullRequest, PushedMutation, Rejection, RequestError,
        SyncRequest,
    },
};
use sqlx::{Any, Transaction};

use super::{Store, StoreError};

/// What a push did: the client's new last mid and any rejections.
#[derive(Debug, PartialEq, Eq)]
pub struct PushOutcome {
    pub last_mid: u64,
    pub rejected: Vec<Rejection>,
}

type Tx = Transaction<'static, Any>;

impl Store {
    /// Applies the request's mutations, all or none. Call only after
    /// `SyncRequest::check` has passed.
    pub async fn push(
        &self,
        request: &SyncRequest,
        now_ms: u64,
    ) -> Result<PushOutcome, StoreError> {
        self.push_paused(request, now_ms, std::future::ready(()))
            .await
    }

    /// Test hook, not API: [`Store::push`] that awaits `before_commit` after
    /// all its writes and before it commits, holding its locks meanwhile, so
    /// a test can make a writer commit late.
    #[doc(hidden)]
    pub async fn push_paused(
        &self,
        request: &SyncRequest,
        now_ms: u64,
        before_commit: impl Future<Output = ()>,
    ) -> Result<PushOutcome, StoreError> {
        let mut tx = self.writer.begin().await?;
        let client = request.client_id.to_string();
        let mut previous = stored_last_mid(&mut tx, &client).await?;
        if request.mutations.iter().any(|m| m.mid > previous) {
            // Something new to write: lock, and read the mid again under the lock.
            previous = lock_client(&mut tx, &client).await?;
        }
        if let Some(first) = request.mutations.first()
            && first.mid > previous + 1
        {
            return Err(RequestError::MidGap {
                expected: previous + 1,
                got: first.mid,
            }
            .into());
        }
        lock_compounds(&mut tx, request, previous).await?;

        let mut rejected = Vec::new();
        for pushed in &request.mutations {
            if pushed.mid <= previous {
                // A retry: the outcome was decided the first time.
                if let Some(rejection) = earlier_rejection(&mut tx, &client, pushed.mid).await? {
                    rejected.push(rejection);
                }
                continue;
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
            sqlx::query("UPDATE client SET last_mid = $1 WHERE client_id = $2")
                .bind(last_mid as i64)
                .bind(&client)
                .execute(&mut *tx)
                .await?;
        }
        before_commit.await;
        tx.commit().await?;
        Ok(PushOutcome { last_mid, rejected })
    }

    /// One page of a compound's changes after `cursor`, in commit order.
    pub async fn pull(&self, pull: &PullRequest) -> Result<PullPage, StoreError> {
        let mut conn = self.reader.acquire().await?;
        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM compound WHERE id = $1")
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
            "SELECT seq, state FROM record WHERE compound = $1 AND seq > $2 ORDER BY seq LIMIT $3",
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
                sqlx::query_as("SELECT COUNT(*) FROM record WHERE compound = $1 AND seq > $2")
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
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT last_mid FROM client WHERE client_id = $1")
                .bind(client.to_string())
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.map_or(0, |(mid,)| mid as u64))
    }
}

async fn stored_last_mid(tx: &mut Tx, client: &str) -> Result<u64, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT last_mid FROM client WHERE client_id = $1")
        .bind(client)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map_or(0, |(mid,)| mid as u64))
}

/// Locks the client's row (creating it at 0) and returns its last mid as of
/// now: a concurrent push from the same client has committed or waits.
async fn lock_client(tx: &mut Tx, client: &str) -> Result<u64, StoreError> {
    let (mid,): (i64,) = sqlx::query_as(
        "INSERT INTO client (client_id, last_mid) VALUES ($1, 0) \
         ON CONFLICT (client_id) DO UPDATE SET last_mid = client.last_mid \
         RETURNING last_mid",
    )
    .bind(client)
    .fetch_one(&mut **tx)
    .await?;
    Ok(mid as u64)
}

/// Locks the counter row of every compound the batch's new mutations write,
/// in id order (so two pushes never wait on each other in a cycle), and
/// refuses the batch if one of them does not exist.
async fn lock_compounds(
    tx: &mut Tx,
    request: &SyncRequest,
    previous: u64,
) -> Result<(), StoreError> {
    // Each compound with the index of the first mutation naming it.
    let mut compounds: BTreeMap<&CompoundId, usize> = BTreeMap::new();
    for (i, pushed) in request.mutations.iter().enumerate() {
        if pushed.mid > previous {
            compounds.entry(pushed.mutation.compound()).or_insert(i);
        }
    }
    let mut unknown: Option<(usize, &CompoundId)> = None;
    for (&compound, &i) in &compounds {
        let locked = sqlx::query("UPDATE compound SET last_seq = last_seq WHERE id = $1")
            .bind(compound.as_str())
            .execute(&mut **tx)
            .await?;
        if locked.rows_affected() == 0 && unknown.is_none_or(|(first, _)| i < first) {
            unknown = Some((i, compound));
        }
    }
    match unknown {
        Some((i, compound)) => Err(RequestError::UnknownCompound {
            field: format!("mutations[{i}].args.compound"),
            compound: compound.clone(),
        }
        .into()),
        None => Ok(()),
    }
}

/// Merges one mutation into the stored record; a refusal leaves it untouched.
async fn apply(tx: &mut Tx, pushed: &PushedMutation) -> Result<Option<Refusal>, StoreError> {
    let mutation = &pushed.mutation;
    let collection = mutation.collection().name();
    // Twice at most: see the end of the loop.
    for _ in 0..2 {
        let stored: Option<(String,)> =
            sqlx::query_as("SELECT state FROM record WHERE collection = $1 AND id = $2")
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
        // The compound's row is already locked by this transaction.
        let (seq,): (i64,) = sqlx::query_as(
            "UPDATE compound SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
        )
        .bind(record.compound.as_str())
        .fetch_one(&mut **tx)
        .await?;
        let state =
            serde_json::to_string(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let written = sqlx::query(
            "INSERT INTO record (collection, id, compound, seq, state) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (collection, id) DO UPDATE SET seq = excluded.seq, state = excluded.state \
             WHERE record.compound = excluded.compound",
        )
        .bind(collection)
        .bind(record.id.as_str())
        .bind(record.compound.as_str())
        .bind(seq)
        .bind(state)
        .execute(&mut **tx)
        .await?;
        if written.rows_affected() == 1 {
            return Ok(None);
        }
        // PostgreSQL only: a push to another compound created this id after
        // we looked. Read it again; core refuses the move between compounds.
        // (The sequence number taken above stays unused: a gap is harmless.)
    }
    Err(StoreError::Corrupt(format!(
        "{collection} {} could not be written",
        mutation.id()
    )))
}

async fn record_mutation(
    tx: &mut Tx,
    client: &str,
    pushed: &PushedMutation,
    now_ms: u64,
    refusal: Option<&Refusal>,
) -> Result<(), StoreError> {
    let wire =
        serde_json::to_value(&pushed.mutation).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO mutation (client_id, mid, kind, args, hlc, received_at_ms, rejection_code, rejection_message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(client)
    .bind(pushed.mid as i64)
    .bind(pushed.mutation.kind())
    .bind(wire["args"].to_string())
    .bind(pushed.hlc.to_string())
    .bind(now_ms as i64)
    .bind(refusal.map(|r| r.code.clone()))
    .bind(refusal.map(|r| r.message.clone()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn earlier_rejection(
    tx: &mut Tx,
    client: &str,
    mid: u64,
) -> Result<Option<Rejection>, StoreError> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT rejection_code, rejection_message FROM mutation WHERE client_id = $1 AND mid = $2",
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

pub(super) fn decode(state: &str) -> Result<Record, StoreError> {
    serde_json::from_str(state)
        .map_err(|e| StoreError::Corrupt(format!("stored record does not decode: {e}")))
}
