//! The server's secret: the HMAC-SHA-256 key that bearer tokens and invite
//! codes are hashed with before they are stored or looked up. It is kept
//! outside the database, so a copy of the database alone does not let
//! anyone test guesses of a 50-bit invite code offline.
//!
//! Where it comes from: `DOORSTEP_SECRET` (at least 32 characters; the same
//! on every instance sharing a PostgreSQL database), else the file `secret`
//! in the data directory (the SQLite file's folder; for PostgreSQL,
//! `DOORSTEP_DATA_DIR`, default `data`), made on first start with 32
//! random bytes and mode 0600.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};

/// The environment variable that sets the secret.
pub const SECRET_ENV: &str = "DOORSTEP_SECRET";
/// Where a PostgreSQL server keeps its secret file unless it is set by env.
const DATA_DIR_ENV: &str = "DOORSTEP_DATA_DIR";
const FILE_NAME: &str = "secret";
const MIN_LEN: usize = 32;

#[derive(Clone)]
pub struct Secret(Arc<[u8]>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The data directory of a server without a SQLite file.
pub fn data_dir() -> PathBuf {
    std::env::var_os(DATA_DIR_ENV).map_or_else(|| PathBuf::from("data"), PathBuf::from)
}

impl Secret {
    /// `DOORSTEP_SECRET`, else the file in `data_dir` (made if missing).
    pub fn resolve(data_dir: &Path) -> anyhow::Result<Self> {
        match std::env::var(SECRET_ENV) {
            Ok(text) => Self::from_text(&text),
            Err(_) => Self::in_dir(data_dir),
        }
    }

    /// A secret given as text (`DOORSTEP_SECRET`): at least 32 characters.
    pub fn from_text(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        if text.len() < MIN_LEN {
            anyhow::bail!("{SECRET_ENV} must be at least {MIN_LEN} characters");
        }
        Ok(Self(text.as_bytes().into()))
    }

    /// Reads `dir/secret`, or makes it: written whole to a private file
    /// first and then linked into place, so servers starting together all
    /// end up with the one that won.
    pub fn in_dir(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            std::fs::create_dir_all(dir)?;
            let bytes: [u8; 32] = rand::rng().random();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let draft = dir.join(format!(
                ".{FILE_NAME}.{}.{}",
                std::process::id(),
                uuid::Uuid::new_v4()
            ));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&draft)?;
            file.write_all(hex.as_bytes())?;
            file.sync_all()?;
            drop(file);
            let linked = std::fs::hard_link(&draft, &path);
            std::fs::remove_file(&draft)?;
            match linked {
                Ok(()) => tracing::info!(path = %path.display(), "made the server's secret"),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err.into()),
            }
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
        Self::from_text(&text)
            .map_err(|_| anyhow::anyhow!("{} is too short to be a secret", path.display()))
    }

    /// Hex HMAC-SHA-256 of `text` under this secret: how tokens and codes
    /// are stored and looked up.
    pub fn hash(&self, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(text.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

/// Hex SHA-256, unkeyed: how secrets were stored before the keyed hash.
/// Such rows are still found, and rewritten with [`Secret::hash`] on use.
pub fn legacy_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
