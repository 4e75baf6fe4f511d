//! Why a read or write of this phone's storage failed, by cause: the page
//! says what to do ([`crate::errors::storage`]), and only the browser's own
//! words ([`StorageError::Browser`]) stay untranslated, for the console.

use indexed_db_futures::{
    error::{DomException, Error as IdbError, OpenDbError},
    internals::SystemRepr,
};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// There is no open database: it could not be opened, or the browser or
    /// another tab closed it under the running app. A reload reopens it.
    #[error("local storage is closed")]
    Closed,
    /// The browser refused the write for lack of space.
    #[error("local storage is full")]
    Full,
    /// The edit breaks a field's rule; it was never written.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// The edit does not apply to the record as stored (e.g. a change to an
    /// append-only record); it was never written.
    #[error("refused: {0}")]
    Refused(String),
    /// Something stored cannot be read back (not the JSON this app wrote).
    #[error("stored data cannot be read: {0}")]
    Unreadable(String),
    /// Any other failure, in the browser's words.
    #[error("local storage: {0}")]
    Browser(String),
}

impl From<IdbError> for StorageError {
    fn from(err: IdbError) -> Self {
        match err {
            // A closing or closed connection refuses new transactions.
            IdbError::DomException(
                DomException::InvalidStateError(_) | DomException::TransactionInactiveError(_),
            ) => StorageError::Closed,
            IdbError::DomException(dom) if is_quota(&dom) => StorageError::Full,
            IdbError::DomException(dom) => {
                let dom = dom.as_sys();
                StorageError::Browser(format!("{}: {}", dom.name(), dom.message()))
            }
            IdbError::Serialisation(err) => StorageError::Unreadable(err.to_string()),
            IdbError::MissingData(err) => StorageError::Unreadable(err.to_string()),
            other => StorageError::Browser(other.to_string()),
        }
    }
}

impl From<OpenDbError> for StorageError {
    fn from(err: OpenDbError) -> Self {
        match err {
            OpenDbError::Base(err) => err.into(),
            other => StorageError::Browser(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for StorageError {
    fn from(err: serde_json::Error) -> Self {
        StorageError::Unreadable(err.to_string())
    }
}

/// Chromium reports a full disk as `QuotaExceededError`; a transaction that
/// aborts for it reports `AbortError` with the quota named in its message.
fn is_quota(dom: &DomException) -> bool {
    let dom = dom.as_sys();
    dom.name() == "QuotaExceededError" || dom.message().contains("Quota")
}
