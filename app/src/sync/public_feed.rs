//! The resident page's live truck status: server-sent events from
//! `/api/public/runs/{compound}/stream`, which the browser reconnects by
//! itself; the page polls as well while the stream is down.

use doorstep_core::truck::PublicRuns;
use wasm_bindgen::{JsCast, closure::Closure};

use super::api::origin;

/// An open stream; dropping it closes the connection.
pub struct Feed {
    source: web_sys::EventSource,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
}

impl Feed {
    pub fn open(compound: &str, on_update: impl Fn(PublicRuns) + 'static) -> Option<Self> {
        let source =
            web_sys::EventSource::new(&format!("{}/api/public/runs/{compound}/stream", origin()))
                .ok()?;
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if let Some(runs) = event
                    .data()
                    .as_string()
                    .and_then(|text| serde_json::from_str(&text).ok())
                {
                    on_update(runs);
                }
            },
        );
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Self {
            source,
            _on_message: on_message,
        })
    }

    pub fn is_open(&self) -> bool {
        self.source.ready_state() == web_sys::EventSource::OPEN
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.source.close();
    }
}
