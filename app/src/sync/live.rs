//! The phone's live stream (`/api/events`, server-sent events): a `poke`
//! says "your compound changed", and the runner pulls at once instead of at
//! its next poll. An `EventSource` cannot send the token, so each connection
//! first asks for a short-lived ticket. Streams may be unavailable (offline,
//! a proxy that buffers, the serverless build's 204): the poll carries on,
//! and the stream is tried again later, waiting longer each time.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use doorstep_core::api::{EVENT_POKE, EVENT_READY, EventTicket};
use wasm_bindgen::{JsCast, closure::Closure};

use crate::api::{self, ApiFailure};

/// The first wait before trying a failed stream again; it doubles up to
/// [`MAX_RETRY_MS`].
const FIRST_RETRY_MS: f64 = 5_000.0;
const MAX_RETRY_MS: f64 = 5.0 * 60_000.0;

/// What the stream tells its owner (the sync runner).
pub trait Listener: Clone + 'static {
    /// The stream is open: anything missed while it was down is to pull.
    fn connected(&self);
    /// The compound changed: pull now.
    fn poked(&self);
}

/// The stream's state, shared with its callbacks.
#[derive(Clone, Default)]
pub struct LiveStream(Rc<State>);

#[derive(Default)]
struct State {
    open: RefCell<Option<Open>>,
    connecting: Cell<bool>,
    retry_ms: Cell<f64>,
    retry_at_ms: Cell<f64>,
}

/// An open (or reconnecting) `EventSource` and the callbacks it calls;
/// dropping it closes the connection.
struct Open {
    source: web_sys::EventSource,
    _callbacks: [Closure<dyn FnMut(web_sys::Event)>; 3],
}

impl Drop for Open {
    fn drop(&mut self) {
        self.source.close();
    }
}

impl LiveStream {
    /// Opens the stream unless it is open, being opened, or waiting out a
    /// failure; `token` is the device's (signed in).
    pub fn keep_open(&self, token: String, listener: impl Listener) {
        let state = &self.0;
        let alive = state
            .open
            .borrow()
            .as_ref()
            .is_some_and(|open| open.source.ready_state() != web_sys::EventSource::CLOSED);
        if alive || state.connecting.get() || js_sys::Date::now() < state.retry_at_ms.get() {
            return;
        }
        state.open.replace(None);
        state.connecting.set(true);
        let stream = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let opened = match ticket(&token).await {
                Ok(ticket) => stream.connect(&ticket.ticket, listener),
                Err(_) => None,
            };
            if opened.is_none() {
                stream.failed();
            }
            stream.0.open.replace(opened);
            stream.0.connecting.set(false);
        });
    }

    fn connect(&self, ticket: &str, listener: impl Listener) -> Option<Open> {
        let url = api::url(&format!("/api/events?ticket={ticket}"));
        let source = web_sys::EventSource::new(&url).ok()?;
        let on_ready = {
            let (stream, listener) = (self.clone(), listener.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                stream.0.retry_ms.set(0.0);
                listener.connected();
            })
        };
        let on_poke = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| listener.poked());
        // A closed stream (refused, or the browser gave up) waits, then a
        // later round opens a new one with a new ticket.
        let stream = self.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let closed = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::EventSource>().ok())
                .is_some_and(|s| s.ready_state() == web_sys::EventSource::CLOSED);
            if closed {
                stream.failed();
            }
        });
        source
            .add_event_listener_with_callback(EVENT_READY, on_ready.as_ref().unchecked_ref())
            .ok()?;
        source
            .add_event_listener_with_callback(EVENT_POKE, on_poke.as_ref().unchecked_ref())
            .ok()?;
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(Open {
            source,
            _callbacks: [on_ready, on_poke, on_error],
        })
    }

    fn failed(&self) {
        let state = &self.0;
        let wait = (state.retry_ms.get() * 2.0).clamp(FIRST_RETRY_MS, MAX_RETRY_MS);
        state.retry_ms.set(wait);
        state.retry_at_ms.set(js_sys::Date::now() + wait);
    }
}

/// A short-lived ticket to open this device's stream.
async fn ticket(token: &str) -> Result<EventTicket, ApiFailure> {
    api::post(api::url("/api/events/ticket"), Some(token), api::EMPTY).await
}
