//! When to sync: at start, when the browser comes online or the app becomes
//! visible, shortly after an edit, at once when the live stream says the
//! compound changed ([`super::live`], kept open by the syncing tab), every
//! 30 s, and on request. One tab per
//! origin syncs (a Web Lock elects it); a BroadcastChannel tells the other
//! tabs to reload and lets them ask the leader to sync.

use std::{cell::Cell, pin::Pin, rc::Rc, time::Duration};

use leptos::{ev, prelude::*, task::spawn_local};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};

use super::{
    engine::{self, SyncError},
    live::{self, LiveStream},
};
use crate::state::{AppData, SyncTrigger, now_ms, replica::Replica, sync_status::SyncProblem};

const PERIOD: Duration = Duration::from_secs(30);
/// Gathers a burst of taps into one push.
const AFTER_EDIT: Duration = Duration::from_millis(800);
/// Gathers a burst of other phones' pushes into one pull.
const AFTER_POKE: Duration = Duration::from_millis(200);
const LOCK_NAME: &str = "doorstep-sync";
const CHANNEL_NAME: &str = "doorstep";
const MSG_CHANGED: &str = "changed";
const MSG_OUTBOX: &str = "outbox";

/// How a round is run: [`Runner::round`] itself, or through the split point
/// that loads its code first (the field bundle's `split::sync_round`).
pub type RunRound = fn(Runner) -> Pin<Box<dyn Future<Output = ()>>>;

#[derive(Clone)]
pub struct Runner {
    inner: Rc<Inner>,
}

struct Inner {
    data: AppData,
    run_round: RunRound,
    leader: Cell<bool>,
    running: Cell<bool>,
    again: Cell<bool>,
    soon: Cell<bool>,
    /// Rounds begun so far. A delayed request (an edit's, a poke's) made
    /// before a round began is that round's: its edits were in the outbox
    /// and its changes on the server. So a save followed by a tap on 同步
    /// is one request, not two.
    rounds: Cell<u64>,
    /// `rounds` when the latest delayed request was made.
    asked_after: Cell<u64>,
    channel: Option<web_sys::BroadcastChannel>,
    live: LiveStream,
}

impl Runner {
    pub fn start(data: AppData, run_round: RunRound) -> Self {
        let runner = Runner {
            inner: Rc::new(Inner {
                data,
                run_round,
                leader: Cell::new(false),
                running: Cell::new(false),
                again: Cell::new(false),
                soon: Cell::new(false),
                rounds: Cell::new(0),
                asked_after: Cell::new(0),
                channel: web_sys::BroadcastChannel::new(CHANNEL_NAME).ok(),
                live: LiveStream::default(),
            }),
        };
        runner.listen_to_other_tabs();
        runner.elect_leader();
        let on_online = runner.clone();
        let _ = window_event_listener(ev::online, move |_| on_online.kick());
        let on_visible = runner.clone();
        let visible = Closure::<dyn FnMut()>::new(move || {
            if document().visibility_state() == web_sys::VisibilityState::Visible {
                on_visible.kick();
            }
        });
        let _ = document()
            .add_event_listener_with_callback("visibilitychange", visible.as_ref().unchecked_ref());
        visible.forget(); // lives as long as the page
        let periodic = runner.clone();
        let _ = set_interval_with_handle(move || periodic.kick(), PERIOD);
        runner
    }

    /// Syncs now (or right after the round in progress).
    pub fn kick(&self) {
        if !self.inner.leader.get() {
            self.post(MSG_OUTBOX);
            return;
        }
        if self.inner.running.replace(true) {
            self.inner.again.set(true);
            return;
        }
        let runner = self.clone();
        spawn_local(async move {
            loop {
                runner.inner.again.set(false);
                // A device that is not signed in has nothing to sync: a new
                // phone does not even download the round's code.
                if runner.inner.data.credentials_untracked().is_some() {
                    runner.inner.rounds.set(runner.inner.rounds.get() + 1);
                    (runner.inner.run_round)(runner.clone()).await;
                }
                if !runner.inner.again.get() {
                    break;
                }
            }
            runner.inner.running.set(false);
        });
    }

    /// Syncs shortly, so a burst of edits goes in one push.
    pub fn kick_soon(&self) {
        self.kick_after(AFTER_EDIT);
    }

    /// Syncs after `delay`, unless a sync is already due then or sooner,
    /// or a round begins meanwhile (it takes what was asked for).
    fn kick_after(&self, delay: Duration) {
        self.inner.asked_after.set(self.inner.rounds.get());
        if self.inner.soon.replace(true) {
            return;
        }
        let runner = self.clone();
        set_timeout(
            move || {
                runner.inner.soon.set(false);
                if !covered(runner.inner.asked_after.get(), runner.inner.rounds.get()) {
                    runner.kick();
                }
            },
            delay,
        );
    }

    /// Pushes and pulls once, then updates the replica, the sync bar and
    /// the live stream; called through the runner's [`RunRound`].
    pub async fn round(&self) {
        let data = self.inner.data;
        let Some(db) = data.db() else { return };
        data.sync.update(|s| {
            s.running = true;
            s.progress = None;
        });
        let mut result = engine::sync_once(&db, now_ms, |progress| {
            data.sync.update(|s| s.progress = Some(progress))
        })
        .await;
        let changed = match &result {
            Ok(outcome) => outcome.pushed > 0 || !outcome.applied.records.is_empty(),
            Err(_) => false,
        };
        if let Ok(outcome) = &mut result
            && outcome.applied.reset
        {
            // Storage was replaced: the round's records are all there is
            // (no need to read 50,000 records back after a first sync).
            data.replica.set(Replica::new(
                std::mem::take(&mut outcome.applied.records),
                std::mem::take(&mut outcome.applied.conflicts),
            ));
        } else if let Ok(outcome) = result.as_ref() {
            data.replica.update(|replica| {
                for record in &outcome.applied.records {
                    replica.upsert(record.clone());
                }
                replica.add_conflicts(outcome.applied.conflicts.iter().cloned());
            });
        }
        let pending = db.outbox_len().await;
        let device = db.device().await;
        if let Ok(device) = &device
            && data.device.with_untracked(|d| d.as_ref() != Some(device))
        {
            data.device.set(Some(device.clone()));
        }
        // What could not be read back is shown, never guessed: an unread
        // outbox must not read "all sent".
        let unread = pending.as_ref().err().or(device.as_ref().err()).cloned();
        data.sync.update(|s| {
            s.running = false;
            if let Ok(pending) = pending {
                s.pending = pending;
            }
            s.rejections = device.as_ref().map_or(s.rejections, |d| d.rejections.len());
            match result {
                Ok(_) => {
                    s.last_success_ms = Some(now_ms());
                    s.problem = None;
                }
                Err(err) => s.problem = Some(problem(err)),
            }
            if let Some(err) = unread {
                s.problem = Some(SyncProblem::Storage(err));
            }
        });
        // Only the syncing tab listens (a round runs in no other).
        if let Some(token) = data.credentials_untracked().map(|c| c.token) {
            self.inner.live.keep_open(token, self.clone());
        }
        if changed {
            self.post(MSG_CHANGED);
        }
    }

    /// The round's code could not be loaded: shown as the server out of
    /// reach, which as far as syncing goes it is.
    pub fn round_unavailable(&self) {
        self.inner.data.sync.update(|s| {
            s.running = false;
            s.problem = Some(SyncProblem::Unreachable);
        });
    }

    fn post(&self, message: &str) {
        if let Some(channel) = &self.inner.channel {
            let _ = channel.post_message(&JsValue::from_str(message));
        }
    }

    fn listen_to_other_tabs(&self) {
        let Some(channel) = &self.inner.channel else {
            return;
        };
        let runner = self.clone();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| match event.data().as_string().as_deref() {
                Some(MSG_OUTBOX) if runner.inner.leader.get() => runner.kick_soon(),
                Some(MSG_CHANGED) | Some(MSG_OUTBOX) => {
                    let data = runner.inner.data;
                    spawn_local(async move {
                        // Another tab changed storage and it cannot be read
                        // back: the shell's storage banner says so.
                        if let Err(err) = data.reload().await {
                            data.storage_error.set(Some(err));
                        }
                    });
                }
                _ => {}
            },
        );
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
    }

    /// Asks for the origin-wide sync lock and keeps it for the page's life;
    /// without Web Locks every tab syncs (the server is idempotent anyway).
    fn elect_leader(&self) {
        let navigator = window().navigator();
        let locks = js_sys::Reflect::get(&navigator, &"locks".into()).unwrap_or(JsValue::UNDEFINED);
        let request = js_sys::Reflect::get(&locks, &"request".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let Some(request) = request.filter(|_| !locks.is_undefined()) else {
            self.inner.leader.set(true);
            self.kick();
            return;
        };
        let runner = self.clone();
        let granted = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
            runner.inner.leader.set(true);
            runner.kick();
            js_sys::Promise::new(&mut |_, _| {}) // never resolves: hold the lock
        });
        if request.call2(&locks, &LOCK_NAME.into(), &granted).is_err() {
            self.inner.leader.set(true);
            self.kick();
        }
    }
}

impl SyncTrigger for Runner {
    fn now(&self) {
        self.kick();
    }

    fn soon(&self) {
        self.kick_soon();
    }
}

impl live::Listener for Runner {
    fn connected(&self) {
        self.kick();
    }

    /// Soon rather than now: a burst of pushes makes one pull.
    fn poked(&self) {
        self.kick_after(AFTER_POKE);
    }
}

/// Whether a delayed request made when `asked_after` rounds had begun is
/// taken care of once `rounds` have.
fn covered(asked_after: u64, rounds: u64) -> bool {
    rounds > asked_after
}

fn problem(err: SyncError) -> SyncProblem {
    match err {
        SyncError::Unreachable(_) => SyncProblem::Unreachable,
        SyncError::ClockAhead(_) => SyncProblem::ClockAhead,
        SyncError::Refused(detail) => SyncProblem::Refused(detail),
        SyncError::MidReused(_) => SyncProblem::MidReused,
        SyncError::SignedOut(_) => SyncProblem::SignedOut,
        SyncError::Storage(err) => SyncProblem::Storage(err),
    }
}
