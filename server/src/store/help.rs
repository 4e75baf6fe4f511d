//! Help requests (求助) in the store: each compound's switch, filing a
//! request as records in one transaction with its ticket, and reading a
//! ticket back. A ticket is kept only as its keyed hash (as invite codes).

use doorstep_core::{
    access::Role,
    help::{HelpRequest, NewIds, find_household},
    ids::{ClientId, CompoundId, RecordId},
    record::Record,
    schema::{self, Collection},
    sync::{PushedMutation, SCHEMA_VERSION, SyncRequest},
};

use super::{Store, StoreError, accounts::Device, sync::decode};

/// The device a resident's request is written as: the server itself, a
/// coordinator of the compound without a token. Its id names it in a
/// record's history.
pub const RESIDENT_DEVICE: &str = "resident-request";

/// What became of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Filed {
    /// Recorded as this need.
    Need(RecordId),
    /// The compound takes no requests now.
    Closed,
    /// No such compound.
    Unknown,
}

/// What a ticket shows, read from the store.
pub struct TicketRecords {
    pub need: Record,
    pub events: Vec<Record>,
}

fn new_id() -> RecordId {
    uuid::Uuid::new_v4()
        .to_string()
        .parse()
        .expect("a UUID is a valid id")
}

impl Store {
    /// Whether `compound` takes requests (`None`: no such compound).
    pub async fn help_requests(&self, compound: &CompoundId) -> Result<Option<bool>, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT help_requests FROM compound WHERE id = $1")
                .bind(compound.as_str())
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.map(|(on,)| on != 0))
    }

    /// Turns requests on or off; false if there is no such compound.
    pub async fn set_help_requests(
        &self,
        compound: &CompoundId,
        on: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE compound SET help_requests = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(compound.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Files a checked request from `building`'s page at `now_ms`: under
    /// the household at its address (made for it if there is none), as a
    /// need and its first step, pushed as the server's own client, with
    /// the ticket's hash, all in one transaction, and only while the
    /// compound takes requests (read under the compound's lock).
    pub async fn file_help(
        &self,
        compound: &CompoundId,
        building: &str,
        request: &HelpRequest,
        ticket_hash: &str,
        now_ms: u64,
    ) -> Result<Filed, StoreError> {
        let device = Device {
            id: RESIDENT_DEVICE.into(),
            compound: compound.clone(),
            role: Role::Coordinator,
            team: None,
            key_persons: false,
            revoked: false,
        };
        let scope = self.scope_of(&device).await?;
        let mut tx = self.writer.begin().await?;
        let on: Option<(i64,)> = sqlx::query_as(
            "UPDATE compound SET last_seq = last_seq WHERE id = $1 RETURNING help_requests",
        )
        .bind(compound.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        match on {
            None => return Ok(Filed::Unknown),
            Some((0,)) => return Ok(Filed::Closed),
            Some(_) => {}
        }
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT state FROM record WHERE compound = $1 AND collection = 'household' \
             AND building = $2",
        )
        .bind(compound.as_str())
        .bind(building)
        .fetch_all(&mut *tx)
        .await?;
        let households = rows
            .iter()
            .map(|(state,)| decode(state))
            .collect::<Result<Vec<_>, _>>()?;
        let household = find_household(&households, building, &request.unit, &request.door);
        let ids = NewIds {
            household: new_id(),
            need: new_id(),
            event: new_id(),
        };
        let need = ids.need.clone();
        // Each request is a client of its own (as a roster import): mids from 1.
        let client = ClientId::from_uuid(uuid::Uuid::new_v4());
        let mutations = request.mutations(compound, building, household, ids, now_ms);
        let push = SyncRequest {
            client_id: client,
            schema_version: SCHEMA_VERSION,
            mutations: PushedMutation::numbered(client, 1, now_ms, mutations),
            pull: None,
        };
        let outcome = super::sync::push_in(&mut tx, &device, &scope, &push, now_ms).await?;
        if let Some(rejection) = outcome.rejected.first() {
            // The request was checked against the same rules: a refusal
            // here is a bug, and nothing is kept.
            return Err(StoreError::Corrupt(format!(
                "a help request was refused: {}",
                rejection.refusal.message
            )));
        }
        sqlx::query(
            "INSERT INTO help_ticket (ticket_hash, compound, need, created_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(ticket_hash)
        .bind(compound.as_str())
        .bind(need.as_str())
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Filed::Need(need))
    }

    /// The need a ticket's hash stands for, in the ticket's own compound,
    /// and its steps; none for an unknown ticket or a deleted need.
    pub async fn ticket(&self, ticket_hash: &str) -> Result<Option<TicketRecords>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT r.state FROM help_ticket t JOIN record r \
             ON r.compound = t.compound AND r.collection = 'need' AND r.id = t.need \
             WHERE t.ticket_hash = $1",
        )
        .bind(ticket_hash)
        .fetch_optional(&self.reader)
        .await?;
        let Some((state,)) = row else {
            return Ok(None);
        };
        let need = decode(&state)?;
        if need.is_deleted() || need.collection != Collection::Need {
            return Ok(None);
        }
        let household = need
            .text(schema::need::HOUSEHOLD)
            .unwrap_or_default()
            .to_owned();
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT state FROM record WHERE compound = $1 AND collection = 'need_event' \
             AND household = $2",
        )
        .bind(need.compound.as_str())
        .bind(household)
        .fetch_all(&self.reader)
        .await?;
        let events = rows
            .iter()
            .map(|(state,)| decode(state))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|e| e.text(schema::need_event::NEED) == Some(need.id.as_str()))
            .collect();
        Ok(Some(TicketRecords { need, events }))
    }
}
