//! The server's persistent store. Only this module speaks SQL.
//!
//! SQLite (WAL) is the embedded default; the URL scheme picks the backend.
//! Writes go through a single connection, so a push transaction never waits
//! on another writer inside this process and sequence numbers follow commits.

mod compounds;
mod records;
mod sync;

use std::{str::FromStr, time::Duration};

use doorstep_core::{
    api::{StorageBackend, StorageInfo},
    sync::RequestError,
};
use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

pub use compounds::Compound;

/// Where the embedded database lives unless `DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/doorstep.sqlite";

#[derive(Clone)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
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
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Request(err) => f.write_str(&err.to_api_error().message),
            StoreError::Db(err) => write!(f, "database error: {err}"),
            StoreError::Corrupt(detail) | StoreError::Exists(detail) => f.write_str(detail),
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

impl Store {
    /// Opens (creating on first use) the database named by `url` and brings
    /// its schema up to date.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        if !url.starts_with("sqlite:") {
            anyhow::bail!(
                "unsupported DATABASE_URL {url:?}: this build stores data in SQLite (sqlite://path)"
            );
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // WAL lets pulls read while a push writes; NORMAL is durable in WAL
            // mode across process crashes (only power loss can drop the tail).
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent() {
            std::fs::create_dir_all(dir)?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    /// Asks the engine for its version: cheap, and proves it answers.
    pub async fn storage_info(&self) -> Result<StorageInfo, sqlx::Error> {
        let (engine_version,): (String,) = sqlx::query_as("SELECT sqlite_version()")
            .fetch_one(&self.reader)
            .await?;
        Ok(StorageInfo {
            backend: StorageBackend::Sqlite,
            engine_version,
        })
    }

    /// Closes every connection (a clean shutdown checkpoints the WAL).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
