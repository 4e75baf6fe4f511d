//! The server's persistent store. Only this module speaks SQL.
//!
//! Two backends behind one API, chosen by the URL scheme of `DATABASE_URL`:
//! SQLite (`sqlite://…`, the embedded default) and PostgreSQL
//! (`postgres://…`, shared by many server instances). Every query is written
//! once, in SQL both engines accept (`$1` parameters, `ON CONFLICT`,
//! `RETURNING`), and runs through sqlx's `Any` driver; only the engine's
//! version query and change notifications differ per backend.
//!
//! Sequence numbers follow commit order on both: on SQLite every write goes
//! through a single connection; on PostgreSQL a push locks its compounds'
//! counter rows before touching their records and holds the locks until it
//! commits (see `sync.rs`).

mod accounts;
mod batch;
mod compounds;
mod districts;
mod figures;
mod help;
mod log;
mod notify;
mod records;
mod scope;
mod secret;
mod sync;

use std::{future::Future, pin::Pin, str::FromStr, sync::Arc, time::Duration};

use doorstep_core::{api::StorageBackend, sync::RequestError};
use sqlx::{
    AnyConnection, AnyPool, ConnectOptions, Connection, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    pool::PoolConnectionMetadata,
    postgres::PgConnection,
    sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous},
};

pub use accounts::{Device, RedeemError};
pub use compounds::Compound;
pub use districts::{Official, Placement};
pub use help::{Filed, RESIDENT_DEVICE, TicketRecords};
pub use log::{Logged, REFUSED_PER_DEVICE};
pub use notify::Notifications;
pub use scope::DeviceScope;
pub use secret::{SECRET_ENV, Secret, legacy_hash};

/// Where the embedded database lives unless `DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/doorstep.sqlite";

/// Connections one instance keeps to PostgreSQL at most, unless it says
/// otherwise ([`Store::open_with_pool`]). A push holds one for its
/// transaction; pulls and public reads take one each.
pub const POSTGRES_POOL_SIZE: u32 = 16;

#[derive(Clone)]
pub struct Store {
    backend: StorageBackend,
    /// Transactions. SQLite: one connection, so writers never contend.
    writer: AnyPool,
    /// Reads outside a transaction. SQLite: a read-only pool beside the
    /// writer (WAL lets it read during a write); PostgreSQL: the same pool.
    reader: AnyPool,
    /// The PostgreSQL URL, for the dedicated `LISTEN` connection.
    url: Arc<str>,
    /// The key that tokens and invite codes are hashed with.
    secret: Secret,
}

/// What the database engine reports about itself: for the operator's log,
/// never for the public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageInfo {
    pub backend: StorageBackend,
    /// Version string the engine itself reports, proving it answered.
    pub engine_version: String,
}

/// Why a store operation failed: the request's fault, or the database's.
#[derive(Debug)]
pub enum StoreError {
    Request(RequestError),
    Db(sqlx::Error),
    /// A stored row that does not decode: a bug or a hand-edited database.
    Corrupt(String),
    /// Creating something whose id is taken.
    Exists(String),
    /// Outside what the requesting device may do.
    Forbidden(String),
    /// Lost a race with another writer; the same request may be sent again.
    Busy(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Request(err) => f.write_str(&err.to_api_error().message),
            StoreError::Db(err) => write!(f, "database error: {err}"),
            StoreError::Corrupt(detail)
            | StoreError::Exists(detail)
            | StoreError::Forbidden(detail)
            | StoreError::Busy(detail) => f.write_str(detail),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Db(err)
    }
}

impl From<RequestError> for StoreError {
    fn from(err: RequestError) -> Self {
        StoreError::Request(err)
    }
}

/// The backend a `DATABASE_URL` names, or why it names none.
pub fn backend_of(url: &str) -> anyhow::Result<StorageBackend> {
    if url.starts_with("sqlite:") {
        Ok(StorageBackend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(StorageBackend::Postgres)
    } else {
        anyhow::bail!(
            "unsupported DATABASE_URL {url:?}: use sqlite://path (embedded) or postgres://host/db"
        )
    }
}

impl Store {
    /// Opens (creating on first use) the database named by `url` and brings
    /// its schema up to date.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with_pool(url, POSTGRES_POOL_SIZE).await
    }

    /// [`Store::open`], keeping at most `pool_size` PostgreSQL connections
    /// (a Lambda instance serves one request at a time). SQLite ignores it.
    pub async fn open_with_pool(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let store = match backend_of(url)? {
            StorageBackend::Sqlite => Self::open_sqlite(url).await?,
            StorageBackend::Postgres => Self::open_postgres(url, pool_size).await?,
        };
        store.check_secret().await?;
        figures::backfill(&store.writer).await?;
        Ok(store)
    }

    /// Refuses a secret other than the one this database's tokens and codes
    /// were hashed with: every phone would otherwise be answered as signed
    /// out (and drop its session) by a server that lost its secret file or
    /// an instance started without `DOORSTEP_SECRET`. The first start records
    /// the secret's HMAC of a fixed text, which says nothing of the secret.
    async fn check_secret(&self) -> anyhow::Result<()> {
        let check = self.secret.hash("doorstep secret check");
        sqlx::query(
            "INSERT INTO secret_check (id, check_hash) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&check)
        .execute(&self.writer)
        .await?;
        let (stored,): (String,) =
            sqlx::query_as("SELECT check_hash FROM secret_check WHERE id = 1")
                .fetch_one(&self.writer)
                .await?;
        if stored != check {
            anyhow::bail!(
                "this database was set up with another secret: start the server with the \
                 same {SECRET_ENV} as the other instances, or put back the `secret` file \
                 that was beside it (tokens and invite codes are hashed with it)"
            );
        }
        Ok(())
    }

    async fn open_sqlite(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?;
        // The secret lives next to the database file, never inside it.
        let data_dir = options
            .get_filename()
            .parent()
            .map(std::path::Path::to_owned)
            .unwrap_or_default();
        let secret = Secret::resolve(&data_dir)?;
        let options = options
            .create_if_missing(true)
            // WAL lets pulls read while a push writes. FULL syncs the WAL at
            // every commit, so a push acknowledged to a phone (which then
            // drops the edits from its outbox) survives a power cut; NORMAL
            // would only survive a process crash. Every write here is a push
            // or an account change worth the same promise, so the whole
            // store uses it.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Create the file, switch it to WAL (a property of the file) and
        // migrate, natively; then reach it through `Any` like PostgreSQL.
        let mut setup = SqliteConnection::connect_with(&options).await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut setup)
            .await?;
        setup.close().await?;

        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(sqlite_connection_settings)
            .connect_with(AnyConnectOptions::from_url(&options.to_url_lossy())?)
            .await?;
        let reader = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(sqlite_connection_settings)
            .connect_with(AnyConnectOptions::from_url(
                &options
                    .clone()
                    .create_if_missing(false)
                    .read_only(true)
                    .to_url_lossy(),
            )?)
            .await?;
        Ok(Self {
            backend: StorageBackend::Sqlite,
            writer,
            reader,
            url: url.into(),
            secret,
        })
    }

    async fn open_postgres(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        // Several instances must share it: set DOORSTEP_SECRET on each.
        let secret = Secret::resolve(&secret::data_dir())?;
        // Migrating takes an advisory lock, so instances starting together
        // migrate once.
        let mut setup = PgConnection::connect(url).await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&mut setup)
            .await?;
        setup.close().await?;
        let pool = AnyPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self {
            backend: StorageBackend::Postgres,
            writer: pool.clone(),
            reader: pool,
            url: url.into(),
            secret,
        })
    }

    pub fn backend(&self) -> StorageBackend {
        self.backend
    }

    /// Asks the engine for its version: cheap, and proves it answers. Logged
    /// at start; `/api/health` only says that it answered.
    pub async fn storage_info(&self) -> Result<StorageInfo, sqlx::Error> {
        let query = match self.backend {
            StorageBackend::Sqlite => "SELECT sqlite_version()",
            StorageBackend::Postgres => "SELECT version()",
        };
        let (engine_version,): (String,) = sqlx::query_as(query).fetch_one(&self.reader).await?;
        Ok(StorageInfo {
            backend: self.backend,
            engine_version,
        })
    }

    /// Closes every connection (a clean shutdown checkpoints SQLite's WAL).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// Settings each SQLite connection makes for itself: they are not part of the
/// URL that `Any` connects with.
fn sqlite_connection_settings(
    conn: &mut AnyConnection,
    _: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        conn.execute(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .await?;
        Ok(())
    })
}
