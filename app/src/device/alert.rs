//! Getting a resident's attention without any push service: a tone, a
//! vibration, and a system notification when permission was given.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Two short tones (WebAudio). Browsers only allow sound after a tap on the
/// page, which the "turn on alerts" button provides.
pub fn beep() {
    let Ok(context) = web_sys::AudioContext::new() else {
        return;
    };
    for (start, frequency) in [(0.0, 880.0), (0.35, 1175.0)] {
        let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain())
        else {
            return;
        };
        oscillator.frequency().set_value(frequency);
        gain.gain().set_value(0.3);
        let _ = oscillator.connect_with_audio_node(&gain);
        let _ = gain.connect_with_audio_node(&context.destination());
        let now = context.current_time();
        let _ = oscillator.start_with_when(now + start);
        let _ = oscillator.stop_with_when(now + start + 0.25);
    }
}

pub fn vibrate() {
    if let Some(window) = web_sys::window() {
        let pattern = js_sys::Array::of3(&300.into(), &150.into(), &300.into());
        let _ = window.navigator().vibrate_with_pattern(&pattern);
    }
}

/// A system notification, if the resident allowed them.
pub fn notify(title: &str, body: &str) {
    if web_sys::Notification::permission() != web_sys::NotificationPermission::Granted {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    let _ = web_sys::Notification::new_with_options(title, &options);
}

pub fn all(title: &str, body: &str) {
    beep();
    vibrate();
    notify(title, body);
}

/// Asks for notification permission; true when granted.
pub async fn request_permission() -> bool {
    let supported = web_sys::window()
        .and_then(|w| js_sys::Reflect::has(&w, &JsValue::from_str("Notification")).ok())
        .unwrap_or(false);
    if !supported {
        return false;
    }
    let Ok(promise) = web_sys::Notification::request_permission() else {
        return false;
    };
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|v| v.dyn_into::<js_sys::JsString>().ok())
        .is_some_and(|s| s == "granted")
}
