//! Fan-out of changes to open streams: the public truck status for resident
//! pages, and "pokes" (this compound changed: pull now) for phones'
//! streams ([`crate::events`]).
//!
//! In one process, a push publishes here directly; the status JSON is
//! rendered once per change and shared by every subscriber. When the store
//! is shared (PostgreSQL), several instances serve the same compounds, so a
//! push is also announced through the database (`NOTIFY`), and each other
//! instance's [`relay`] re-renders the status once per announcement and
//! publishes it to its own subscribers. Announcements carry only the sending
//! instance, the kind and the compound id; everything else is read from the
//! database. An instance keeps no other state about devices, so any request
//! may land on any instance.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use doorstep_core::{ids::CompoundId, sync::SyncRequest, truck::PublicRuns};
use tokio::sync::{broadcast, watch};

use crate::{AppState, error::AppError, public, store::Device};

/// How many updates a slow subscriber may fall behind before it skips to
/// the newest (each update is a full snapshot, so skipping loses nothing).
const BACKLOG: usize = 16;

#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<Update>,
    pokes: broadcast::Sender<Poke>,
    /// Set at shutdown: open streams end, so a graceful shutdown does not
    /// wait forever on resident pages that never hang up.
    closing: watch::Sender<bool>,
    /// Names this instance in announcements, so it skips its own.
    origin: Arc<str>,
}

/// A compound has new changes to pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poke {
    pub compound: CompoundId,
    /// The device whose push made them, if one did: its own push answer
    /// carried the pull, so its stream is not poked.
    pub by: Option<String>,
}

impl Poke {
    /// Whether `device` of `compound` should pull because of this poke.
    pub fn is_for(&self, device: &str, compound: &CompoundId) -> bool {
        &self.compound == compound && self.by.as_deref() != Some(device)
    }
}

/// A compound's new public truck status: as SSE-ready JSON for the
/// compound's stream, and as data for the resident pages' per-building
/// streams, which render it themselves.
#[derive(Clone, Debug)]
pub struct Update {
    pub compound: CompoundId,
    pub json: Arc<str>,
    pub runs: Arc<PublicRuns>,
}

impl Default for Live {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self {
            sender: broadcast::channel(BACKLOG).0,
            pokes: broadcast::channel(BACKLOG).0,
            closing: watch::channel(false).0,
            origin: format!(
                "{:x}.{nanos:x}.{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            )
            .into(),
        }
    }
}

impl Live {
    pub fn publish(&self, runs: PublicRuns, json: String) {
        // No subscribers is fine: nobody is watching.
        let _ = self.sender.send(Update {
            compound: runs.compound.clone(),
            json: json.into(),
            runs: Arc::new(runs),
        });
    }

    /// Updates, and a flag that turns true when the server shuts down.
    pub fn subscribe(&self) -> (broadcast::Receiver<Update>, watch::Receiver<bool>) {
        (self.sender.subscribe(), self.closing())
    }

    /// Turns true when the server shuts down: open streams end then.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Tells this instance's phones that a compound has new changes to pull.
    pub fn poke(&self, poke: Poke) {
        let _ = self.pokes.send(poke);
    }

    /// Compounds with new changes, from pushes to any instance.
    pub fn subscribe_pokes(&self) -> broadcast::Receiver<Poke> {
        self.pokes.subscribe()
    }

    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// What an announcement says changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Records changed, some of them public truck data.
    Public,
    /// Records changed, none of them public.
    Poke,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Public => "public",
            Kind::Poke => "poke",
        }
    }
}

/// After a push: publishes the device's compound, if the push wrote to it,
/// to this instance's streams, then announces it to the other instances
/// (shared store only). The pushing device itself is not poked.
pub async fn after_push(
    state: &AppState,
    device: &Device,
    request: &SyncRequest,
) -> Result<(), AppError> {
    let compound = &device.compound;
    let mut touched = request
        .mutations
        .iter()
        .filter(|pushed| pushed.mutation.compound() == compound)
        .map(|pushed| public::is_public(pushed.mutation.collection()));
    let kind = match touched.next() {
        None => return Ok(()),
        Some(first) if first || touched.any(|public| public) => Kind::Public,
        Some(_) => Kind::Poke,
    };
    let poke = Poke {
        compound: compound.clone(),
        by: Some(device.id.clone()),
    };
    announce(state, poke, kind).await
}

/// Pokes `compound`'s phones after the server itself wrote records there
/// that residents do not see (a resident's help request).
pub async fn after_server_write(state: &AppState, compound: &CompoundId) -> Result<(), AppError> {
    let poke = Poke {
        compound: compound.clone(),
        by: None,
    };
    announce(state, poke, Kind::Poke).await
}

/// Tells this instance's streams, then the other instances:
/// `origin kind compound [device]`.
async fn announce(state: &AppState, poke: Poke, kind: Kind) -> Result<(), AppError> {
    let mut announcement = format!("{} {} {}", state.live.origin, kind.as_str(), poke.compound);
    if let Some(by) = &poke.by {
        announcement.push(' ');
        announcement.push_str(by);
    }
    let compound = poke.compound.clone();
    deliver(state, poke, kind).await?;
    if let Err(err) = state.store.notify(&announcement).await {
        // The push has committed; other instances' streams catch up on
        // the next change, and resident pages also poll.
        tracing::warn!(error = %err, %compound, "could not announce a change");
    }
    Ok(())
}

/// Publishes one compound's change to this instance's subscribers.
async fn deliver(state: &AppState, poke: Poke, kind: Kind) -> Result<(), AppError> {
    if kind == Kind::Public {
        public::publish(state, &poke.compound).await?;
    }
    state.live.poke(poke);
    Ok(())
}

/// Relays other instances' announcements to this instance's subscribers
/// until shutdown. Resolves once listening has begun (or failed to, in which
/// case it keeps trying in the background), so that a server which starts
/// serving after it misses nothing. On SQLite there is nothing to relay.
pub async fn relay(state: AppState) -> tokio::task::JoinHandle<()> {
    let first = state.store.listen().await;
    tokio::spawn(async move {
        let mut closing = state.live.closing.subscribe();
        let mut attempt = Some(first);
        loop {
            let listening = match attempt.take() {
                Some(result) => result,
                None => state.store.listen().await,
            };
            let mut notifications = match listening {
                Ok(Some(notifications)) => notifications,
                Ok(None) => return, // not shared: nothing to relay
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for other instances' changes");
                    tokio::select! {
                        _ = closing.wait_for(|closing| *closing) => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            loop {
                let next = tokio::select! {
                    _ = closing.wait_for(|closing| *closing) => return,
                    next = notifications.next() => next,
                };
                match next {
                    Ok(Some(payload)) => receive(&state, &payload).await,
                    // Reconnected; what was sent meanwhile is lost, and the
                    // next change of each compound brings its streams up to date.
                    Ok(None) => tracing::warn!("listen connection lost and made again"),
                    Err(err) => {
                        tracing::warn!(error = %err, "listening for changes failed");
                        break;
                    }
                }
            }
        }
    })
}

async fn receive(state: &AppState, payload: &str) {
    let mut parts = payload.splitn(4, ' ');
    let (Some(origin), Some(kind), Some(compound)) = (parts.next(), parts.next(), parts.next())
    else {
        tracing::warn!(%payload, "unreadable announcement");
        return;
    };
    if origin == &*state.live.origin {
        return; // published here already
    }
    let kind = match kind {
        "public" => Kind::Public,
        "poke" => Kind::Poke,
        _ => {
            tracing::warn!(%payload, "unknown announcement");
            return;
        }
    };
    let Ok(compound) = compound.parse::<CompoundId>() else {
        tracing::warn!(%payload, "announcement names no compound");
        return;
    };
    let poke = Poke {
        compound,
        by: parts.next().map(str::to_owned),
    };
    if let Err(err) = deliver(state, poke, kind).await {
        tracing::warn!(error = ?err.body, %payload, "could not relay a change");
    }
}
