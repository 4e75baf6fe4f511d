//! What the sync bar shows: unsent edits, last success, the current problem.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Edits saved on this phone that the server has not acknowledged.
    pub pending: u32,
    pub running: bool,
    pub last_success_ms: Option<u64>,
    pub problem: Option<SyncProblem>,
    /// Changes stored and expected during a large pull.
    pub progress: Option<(u64, u64)>,
    /// Edits the server refused for good.
    pub rejections: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncProblem {
    Unreachable,
    ClockAhead,
    /// The server's error code.
    Refused(doorstep_core::api::ErrorCode),
    /// The outbox reuses a mid the server acknowledged with another edit:
    /// its edits stay on the phone until someone looks (issue 15).
    MidReused,
    /// The device was revoked (or its sign-in is no longer valid).
    SignedOut,
    /// This phone's storage failed during the round (or its outbox could
    /// not be counted afterwards).
    Storage(crate::storage::StorageError),
}

impl SyncStatus {
    /// Percentage for the progress bar, while a pull is under way.
    pub fn progress_percent(&self) -> Option<u32> {
        let (done, total) = self.progress?;
        (self.running && total > 0).then(|| (done.min(total) * 100 / total) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_shows_only_while_running() {
        let mut status = SyncStatus {
            progress: Some((250, 1000)),
            running: true,
            ..Default::default()
        };
        assert_eq!(status.progress_percent(), Some(25));
        status.running = false;
        assert_eq!(status.progress_percent(), None);
    }
}
