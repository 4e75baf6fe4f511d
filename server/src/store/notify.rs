//! Change notifications between server instances that share PostgreSQL:
//! `NOTIFY` on one channel, `LISTEN` on a dedicated connection per instance.
//! Payloads are short text (who sent it, what changed, which compound);
//! receivers read the data itself from the database. SQLite has one process,
//! so there is nothing to tell and nobody to listen.

use doorstep_core::api::StorageBackend;
use sqlx::postgres::PgListener;

use super::{Store, StoreError};

/// The one channel every instance listens on.
const CHANNEL: &str = "doorstep_changes";

/// Notifications from every instance (this one included), in the order
/// PostgreSQL delivers them.
pub struct Notifications {
    listener: PgListener,
}

impl Notifications {
    /// The next payload. `Ok(None)` means the connection was lost and has been
    /// made again: notifications sent in between are gone, so the caller
    /// should refresh whatever it serves from them.
    pub async fn next(&mut self) -> Result<Option<String>, StoreError> {
        Ok(self
            .listener
            .try_recv()
            .await?
            .map(|notification| notification.payload().to_owned()))
    }
}

impl Store {
    /// Whether other processes may write to this database, so that changes
    /// must be announced through it.
    pub fn is_shared(&self) -> bool {
        self.backend == StorageBackend::Postgres
    }

    /// Subscribes to every instance's announcements (`None` on SQLite).
    pub async fn listen(&self) -> Result<Option<Notifications>, StoreError> {
        if !self.is_shared() {
            return Ok(None);
        }
        let mut listener = PgListener::connect(&self.url).await?;
        listener.eager_reconnect(true);
        listener.listen(CHANNEL).await?;
        Ok(Some(Notifications { listener }))
    }

    /// Announces `payload` to every listening instance (a no-op on SQLite).
    /// PostgreSQL caps a payload at 8000 bytes; callers send ids, not data.
    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        if self.is_shared() {
            // `pg_notify` returns `void`, which `Any` cannot decode: count it.
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS sent")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }
}
