//! The server's persistent store. Only this module speaks SQL.
//!
//! SQLite is the embedded default; the URL scheme picks the backend.

use std::str::FromStr;

use doorstep_core::api::{StorageBackend, StorageInfo};
use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
};

/// Where the embedded database lives unless `DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/doorstep.sqlite";

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating on first use) the database named by `url`.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        if !url.starts_with("sqlite:") {
            anyhow::bail!(
                "unsupported DATABASE_URL {url:?}: this build stores data in SQLite (sqlite://path)"
            );
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            // WAL lets readers (pulls) run while a push transaction writes.
            .journal_mode(SqliteJournalMode::Wal);
        if let Some(dir) = options.get_filename().parent() {
            std::fs::create_dir_all(dir)?;
        }
        let pool = SqlitePoolOptions::new().connect_with(options).await?;
        Ok(Self { pool })
    }

    /// Asks the engine for its version: cheap, and proves it answers.
    pub async fn storage_info(&self) -> Result<StorageInfo, sqlx::Error> {
        let (engine_version,): (String,) = sqlx::query_as("SELECT sqlite_version()")
            .fetch_one(&self.pool)
            .await?;
        Ok(StorageInfo {
            backend: StorageBackend::Sqlite,
            engine_version,
        })
    }
}
