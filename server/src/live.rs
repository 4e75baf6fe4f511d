//! Fan-out of public truck status to open resident pages in this process.
//! The JSON is rendered once per change and shared by every subscriber.

use std::sync::Arc;

use doorstep_core::ids::CompoundId;
use tokio::sync::{broadcast, watch};

/// How many updates a slow subscriber may fall behind before it skips to
/// the newest (each update is a full snapshot, so skipping loses nothing).
const BACKLOG: usize = 16;

#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<Update>,
    /// Set at shutdown: open streams end, so a graceful shutdown does not
    /// wait forever on resident pages that never hang up.
    closing: watch::Sender<bool>,
}

/// A compound's new public truck status, as SSE-ready JSON.
#[derive(Clone, Debug)]
pub struct Update {
    pub compound: CompoundId,
    pub json: Arc<str>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
            closing: watch::channel(false).0,
        }
    }
}

impl Live {
    pub fn publish(&self, compound: CompoundId, json: String) {
        // No subscribers is fine: nobody is watching.
        let _ = self.sender.send(Update {
            compound,
            json: json.into(),
        });
    }

    /// Updates, and a flag that turns true when the server shuts down.
    pub fn subscribe(&self) -> (broadcast::Receiver<Update>, watch::Receiver<bool>) {
        (self.sender.subscribe(), self.closing.subscribe())
    }

    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}
