//! Push and pull (see ARCHITECTURE.md, "Sync protocol"): a push batch is one
//! transaction that applies new mutations with core's merge rules, records
//! each one, and moves the client's last mid; a pull reads one compound's
//! records after a cursor in sequence order.
//!
//! Locks, for PostgreSQL where several instances write at once (on SQLite
//! there is one writer and they cost nothing): a push that has new mutations
//! first locks its client's row, then its compound's counter row, and holds
//! them until it commits. So two pushes from one phone run one after the
//! other, a record is read and merged only while nobody else can write its
//! compound, and a sequence number is handed out only after every smaller
//! one of that compound has committed: a reader that has seen `seq` n never
//! later finds a new change below n.
//!
//! Round trips, since each statement is one to the database: under the lock
//! a push reads every record it touches at once ([`Batch`]), merges in
//! memory, counts sequence numbers there too, and writes the records, the
//! counter and the audit rows once each.

use std::future::Future;

use doorstep_core::api::ErrorCode;
use doorstep_core::{
    access::{Place, Release},
    domain,
    ids::ClientId,
    mutation::Refusal,
    record::Record,
    schema::Collection,
    sync::{
        Change, PULL_PAGE_SIZE, PullPage, PullRequest, PushedMutation, Rejection, RequestError,
        SyncRequest,
    },
};
use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};

use super::{
    Store, StoreError,
    accounts::Device,
    batch::{Batch, ROWS_PER_STATEMENT, Row, bind_ready, row_placeholders},
    scope::{self, DeviceScope},
};

/// What a push did: the client's new last mid and any rejections.
#[derive(Debug, PartialEq, Eq)]
pub struct PushOutcome {
    pub last_mid: u64,
    pub rejected: Vec<Rejection>,
}

type Tx = Transaction<'static, Any>;

impl Store {
    /// Applies the request's mutations, all or none, as `device` may: each
    /// one outside its scope is recorded as rejected and not applied. Call
    /// only after `SyncRequest::check` has passed.
    pub async fn push(
        &self,
        device: &Device,
        scope: &DeviceScope,
        request: &SyncRequest,
        now_ms: u64,
    ) -> Result<PushOutcome, StoreError> {
        self.push_paused(device, scope, request, now_ms, std::future::ready(()))
            .await
    }

    /// Test hook, not API: [`Store::push`] that awaits `before_commit` after
    /// all its writes and before it commits, holding its locks meanwhile, so
    /// a test can make a writer commit late.
    #[doc(hidden)]
    pub async fn push_paused(
        &self,
        device: &Device,
        scope: &DeviceScope,
        request: &SyncRequest,
        now_ms: u64,
        before_commit: impl Future<Output = ()>,
    ) -> Result<PushOutcome, StoreError> {
        let mut tx = self.writer.begin().await?;
        let outcome = push_in(&mut tx, device, scope, request, now_ms).await?;
        before_commit.await;
        tx.commit().await?;
        Ok(outcome)
    }

    /// One page of the changes after `cursor` that `scope` may see, in
    /// commit order, with the fields it may not read removed. If the phone's
    /// data was pulled under another scope, the page starts again from 0.
    pub async fn pull(
        &self,
        scope: &DeviceScope,
        pull: &PullRequest,
    ) -> Result<PullPage, StoreError> {
        scope.check_pull(pull)?;
        let reset = pull.scope.as_deref() != Some(scope.fingerprint.as_str());
        let after = if reset { 0 } else { pull.cursor };
        let mut conn = self.reader.acquire().await?;
        // Changes up to the compound's counter as committed now: later ones
        // come with the next pull, and an empty page can jump to it.
        let (last_seq,): (i64,) = sqlx::query_as("SELECT last_seq FROM compound WHERE id = $1")
            .bind(pull.compound.as_str())
            .fetch_one(&mut *conn)
            .await?;
        let (filter, params) = scope::pull_filter(&scope.scope, 5);
        let sql = format!(
            "SELECT seq, state FROM record WHERE compound = $1 AND seq > $2 AND seq <= $3 \
             AND {filter} ORDER BY seq LIMIT $4"
        );
        let mut query = sqlx::query_as::<_, (i64, String)>(&sql)
            .bind(pull.compound.as_str())
            .bind(after as i64)
            .bind(last_seq)
            .bind(PULL_PAGE_SIZE as i64 + 1);
        for param in &params {
            query = query.bind(param.as_str());
        }
        let rows = query.fetch_all(&mut *conn).await?;
        let more = rows.len() > PULL_PAGE_SIZE;
        let changes = rows
            .into_iter()
            .take(PULL_PAGE_SIZE)
            .map(|(seq, state)| {
                let mut record = decode(&state)?;
                scope.scope.redact(&mut record);
                Ok(Change {
                    seq: seq as u64,
                    record,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let cursor = match changes.last() {
            Some(last) if more => last.seq,
            _ => (last_seq as u64).max(after),
        };
        let remaining = if more {
            let (filter, params) = scope::pull_filter(&scope.scope, 4);
            let sql = format!(
                "SELECT COUNT(*) FROM record WHERE compound = $1 AND seq > $2 AND seq <= $3 \
                 AND {filter}"
            );
            let mut query = sqlx::query_as::<_, (i64,)>(&sql)
                .bind(pull.compound.as_str())
                .bind(cursor as i64)
                .bind(last_seq);
            for param in &params {
                query = query.bind(param.as_str());
            }
            query.fetch_one(&mut *conn).await?.0 as u64
        } else {
            0
        };
        Ok(PullPage {
            compound: pull.compound.clone(),
            changes,
            cursor,
            more,
            remaining,
            scope: scope.fingerprint.clone(),
            reset,
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

/// [`Store::push`]'s work inside `tx`, which the caller commits: so a
/// server-side write (a resident's help request) is one transaction with
/// what it writes besides records.
pub(super) async fn push_in(
    tx: &mut Tx,
    device: &Device,
    scope: &DeviceScope,
    request: &SyncRequest,
    now_ms: u64,
) -> Result<PushOutcome, StoreError> {
    let client = request.client_id.to_string();
    let mut previous = stored_last_mid(tx, &client, device).await?;
    let new_work = request.mutations.iter().any(|m| m.mid > previous);
    if new_work {
        // Something new to write: lock, and read the mid again under the lock.
        previous = lock_client(tx, &client, device).await?;
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
    // The device's compound, the only one it may write: locked now.
    let mut writing = if new_work {
        let new = request.mutations.iter().filter(|m| m.mid > previous);
        Some(Writing {
            sequence: Sequence::lock(&mut *tx, device.compound.as_str()).await?,
            batch: Batch::read(&mut *tx, new.map(|m| &m.mutation)).await?,
        })
    } else {
        None
    };

    let mut rejected = Vec::new();
    let mut audit = Vec::new();
    for pushed in &request.mutations {
        if pushed.mid <= previous {
            // A retry: the outcome was decided the first time, for the
            // same edit only.
            let (digest, rejection) = earlier_outcome(&mut *tx, &client, pushed.mid).await?;
            if digest.is_some_and(|d| d != digest_of(pushed)) {
                return Err(RequestError::MidReused { mid: pushed.mid }.into());
            }
            rejected.extend(rejection);
            continue;
        }
        let writing = writing.as_mut().expect("new work began writing");
        let refusal = apply(&mut *tx, &scope.scope, pushed, writing).await?;
        audit.push((pushed, refusal.clone()));
        if let Some(refusal) = refusal {
            rejected.push(Rejection {
                mid: pushed.mid,
                refusal,
            });
        }
    }
    record_mutations(&mut *tx, &client, &audit, now_ms).await?;
    if let Some(writing) = writing {
        writing.batch.write(&mut *tx).await?;
        writing.sequence.store(&mut *tx, now_ms).await?;
    }

    let last_mid = request
        .mutations
        .last()
        .map_or(previous, |m| m.mid.max(previous));
    if last_mid > previous {
        sqlx::query("UPDATE client SET last_mid = $1 WHERE client_id = $2")
            .bind(last_mid as i64)
            .bind(&client)
            .execute(&mut **tx)
            .await?;
    }
    Ok(PushOutcome { last_mid, rejected })
}

/// The client's last mid, refusing a client id that another device pushed as.
async fn stored_last_mid(tx: &mut Tx, client: &str, device: &Device) -> Result<u64, StoreError> {
    let row: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT last_mid, device FROM client WHERE client_id = $1")
            .bind(client)
            .fetch_optional(&mut **tx)
            .await?;
    match row {
        Some((_, Some(owner))) if owner != device.id => Err(client_taken(client)),
        Some((mid, _)) => Ok(mid as u64),
        None => Ok(0),
    }
}

fn client_taken(client: &str) -> StoreError {
    StoreError::Forbidden(format!("client id {client} belongs to another device"))
}

/// Locks the client's row (creating it at 0, bound to `device`) and returns
/// its last mid as of now: a concurrent push from the same client has
/// committed or waits. The first device to push as a client id owns it.
async fn lock_client(tx: &mut Tx, client: &str, device: &Device) -> Result<u64, StoreError> {
    let (mid, owner): (i64, Option<String>) = sqlx::query_as(
        "INSERT INTO client (client_id, last_mid, device) VALUES ($1, 0, $2) \
         ON CONFLICT (client_id) DO UPDATE SET device = COALESCE(client.device, excluded.device) \
         RETURNING last_mid, device",
    )
    .bind(client)
    .bind(&device.id)
    .fetch_one(&mut **tx)
    .await?;
    if owner.as_deref() != Some(device.id.as_str()) {
        return Err(client_taken(client));
    }
    Ok(mid as u64)
}

/// A compound's change counter during one push: read and locked once,
/// counted here, written back before the push commits. The lock is what
/// makes every smaller sequence number committed before a larger one is.
struct Sequence {
    compound: String,
    stored: i64,
    last: i64,
    /// Households that left their building or unit, records that left their
    /// household: each changes what volunteers see.
    moved: i64,
}

impl Sequence {
    async fn lock(tx: &mut Tx, compound: &str) -> Result<Self, StoreError> {
        let (stored,): (i64,) = sqlx::query_as(
            "UPDATE compound SET last_seq = last_seq WHERE id = $1 RETURNING last_seq",
        )
        .bind(compound)
        .fetch_one(&mut **tx)
        .await?;
        Ok(Self {
            compound: compound.to_owned(),
            stored,
            last: stored,
            moved: 0,
        })
    }

    fn next(&mut self, moved: bool) -> i64 {
        self.last += 1;
        self.moved += i64::from(moved);
        self.last
    }

    /// Writes the counter back, with when the compound last changed (its
    /// freshness on the district page).
    async fn store(self, tx: &mut Tx, now_ms: u64) -> Result<(), StoreError> {
        if self.last == self.stored {
            return Ok(());
        }
        sqlx::query(
            "UPDATE compound SET last_seq = $2, scope_epoch = scope_epoch + $3, \
             changed_at_ms = $4 WHERE id = $1",
        )
        .bind(&self.compound)
        .bind(self.last)
        .bind(self.moved)
        .bind(now_ms as i64)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// What a push with new mutations holds while it writes.
struct Writing {
    sequence: Sequence,
    batch: Batch,
}

/// Checks the mutation against the device's scope, then merges it into the
/// record as the push holds it; a refusal changes nothing.
async fn apply(
    tx: &mut Tx,
    scope: &doorstep_core::access::Scope,
    pushed: &PushedMutation,
    writing: &mut Writing,
) -> Result<Option<Refusal>, StoreError> {
    let mutation = &pushed.mutation;
    let collection = mutation.collection();
    let batch = &mut writing.batch;
    let (existing, old_household, old_place) = match batch.row(collection, mutation.id().as_str()) {
        Some(row) => (Some(row.record), row.household, (row.building, row.unit)),
        None => (None, None, (None, None)),
    };
    let places = if scope.by_building(collection) {
        batch.placements(tx, mutation, existing.as_ref()).await?
    } else {
        Vec::new()
    };
    let places: Vec<Option<&Place>> = places.iter().map(Option::as_ref).collect();
    let dispatched_household = if scope.writes_by_dispatch(collection) {
        batch
            .household_after(tx, mutation, existing.as_ref())
            .await?
    } else {
        None
    };
    if let Err(refusal) = scope.may_write(
        mutation,
        existing.as_ref(),
        &places,
        dispatched_household.as_deref(),
        pushed.hlc.wall_ms,
    ) {
        return Ok(Some(refusal));
    }
    let record = match mutation.apply(existing.as_ref(), &pushed.hlc) {
        Ok((record, _)) => record,
        Err(refusal) => return Ok(Some(refusal)),
    };
    if existing.as_ref() == Some(&record) {
        return Ok(None); // an older or repeated edit: nothing new to pull
    }
    // The phone's own rules, on the state this edit makes.
    let need_events = if collection == Collection::NeedEvent {
        batch.need_events(tx, &record).await?
    } else {
        Vec::new()
    };
    if let Err(refusal) = domain::check_edit(existing.as_ref(), &record, &need_events) {
        return Ok(Some(refusal));
    }
    if let Some(release) = Release::between(existing.as_ref(), &record, pushed.hlc.wall_ms) {
        scope::record_release(&mut **tx, mutation.compound().as_str(), &release).await?;
    }
    // A step a team writes by dispatch is appended, never merged, so its
    // household is the one found before the merge.
    let household = match dispatched_household {
        Some(household) => Some(household),
        None => batch.household_of(tx, &record).await?,
    };
    let place = (collection == Collection::Household)
        .then(|| Place::of_household(&record))
        .flatten();
    let (building, unit) = place.map_or((None, None), |p| (Some(p.building), p.unit));
    // Core refuses a record outside the device's compound, whose counter
    // this push holds. A household that left its building or unit, or a
    // record that left its household, changes what volunteers see.
    let moved = (old_place.0.is_some() && old_place != (building.clone(), unit.clone()))
        || (collection != Collection::Household
            && old_household.is_some()
            && old_household != household);
    let seq = writing.sequence.next(moved);
    batch.change(
        Row {
            record,
            household,
            building,
            unit,
        },
        seq,
    );
    Ok(None)
}

/// The audit rows of a push's new mutations, in as few statements as the
/// databases' parameter limits allow.
async fn record_mutations(
    tx: &mut Tx,
    client: &str,
    audit: &[(&PushedMutation, Option<Refusal>)],
    now_ms: u64,
) -> Result<(), StoreError> {
    const COLUMNS: usize = 9;
    for chunk in audit.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO mutation (client_id, mid, kind, args, hlc, received_at_ms, \
             rejection_code, rejection_message, digest) VALUES {}",
            row_placeholders(chunk.len(), COLUMNS)
        );
        let sql = bind_ready(tx, sql);
        let mut query = sqlx::query(&sql);
        for (pushed, refusal) in chunk {
            let wire = serde_json::to_value(&pushed.mutation)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            query = query
                .bind(client.to_owned())
                .bind(pushed.mid as i64)
                .bind(pushed.mutation.kind())
                .bind(wire["args"].to_string())
                .bind(pushed.hlc.to_string())
                .bind(now_ms as i64)
                .bind(refusal.as_ref().map(|r| r.code.as_str()))
                .bind(refusal.as_ref().map(|r| r.message.clone()))
                .bind(digest_of(pushed));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// What the server kept of an acknowledged mutation: its digest (none if
/// processed before digests were kept) and its rejection, if refused.
async fn earlier_outcome(
    tx: &mut Tx,
    client: &str,
    mid: u64,
) -> Result<(Option<String>, Option<Rejection>), StoreError> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT digest, rejection_code, rejection_message FROM mutation \
         WHERE client_id = $1 AND mid = $2",
    )
    .bind(client)
    .bind(mid as i64)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((digest, code, message)) = row else {
        return Ok((None, None));
    };
    let rejection = code.map(|code| Rejection {
        mid,
        refusal: Refusal {
            code: ErrorCode::parse(&code),
            message: message.unwrap_or_default(),
        },
    });
    Ok((digest, rejection))
}

/// SHA-256 (hex) of a pushed mutation as its canonical JSON (sorted keys):
/// equal for a retry of the same edit, different for any other edit.
fn digest_of(pushed: &PushedMutation) -> String {
    let json = serde_json::to_string(pushed).expect("a pushed mutation serialises");
    Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn decode(state: &str) -> Result<Record, StoreError> {
    serde_json::from_str(state)
        .map_err(|e| StoreError::Corrupt(format!("stored record does not decode: {e}")))
}
