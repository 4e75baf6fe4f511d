//! Whether the browser believes it is online, as a signal that follows the
//! `online` and `offline` events.

use leptos::{ev, prelude::*};

pub fn online_signal() -> ReadSignal<bool> {
    let initially = web_sys::window().is_none_or(|w| w.navigator().on_line());
    let (online, set_online) = signal(initially);
    // The app shell lives as long as the page, so the listeners do too.
    let _ = window_event_listener(ev::online, move |_| set_online.set(true));
    let _ = window_event_listener(ev::offline, move |_| set_online.set(false));
    online
}
