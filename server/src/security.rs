//! Response headers that make the browser enforce what the server intends:
//! a strict Content-Security-Policy for the app, no framing, no sniffing,
//! no referrer; and CORS, which is same-origin unless an operator lists
//! other origins.

use std::path::Path;

use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use tower_http::{cors::CorsLayer, set_header::SetResponseHeaderLayer};

/// The policy for printable pages the server renders itself (posters,
/// ledgers): their one inline stylesheet, inline SVG, nothing else.
pub const PRINT_PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// The app's policy: its own scripts (plus the inline module Trunk writes
/// into index.html, allowed by hash), WebAssembly, its own styles, fetches
/// and workers only to this origin; no plugins, no framing.
pub fn app_csp(dist: &Path) -> String {
    let inline: String = std::fs::read_to_string(dist.join("index.html"))
        .map(|html| {
            inline_scripts(&html)
                .map(|script| format!(" 'sha256-{}'", base64_sha256(script)))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{inline}; style-src 'self'; \
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// The bodies of `<script>` elements without `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, rest) = rest.split_once('>')?;
        let (body, _) = rest.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(body)
    })
}

fn base64_sha256(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

/// Adds the headers to every response; a handler that sets its own CSP
/// (a printable page) keeps it.
pub fn harden(router: Router, dist: &Path, cors_origins: &[HeaderValue]) -> Router {
    let csp = HeaderValue::from_str(&app_csp(dist)).expect("the policy is ASCII");
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
    ];
    let mut router = router.layer(SetResponseHeaderLayer::if_not_present(
        header::CONTENT_SECURITY_POLICY,
        csp,
    ));
    for (name, value) in fixed {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    if !cors_origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(cors_origins.to_vec())
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    }
    router
}

/// A printable HTML page with its own policy.
pub fn print_page(html: String) -> Response {
    (
        [(header::CONTENT_SECURITY_POLICY, PRINT_PAGE_CSP)],
        axum::response::Html(html),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found_and_external_ones_skipped() {
        let html = r#"<head><script src="/a.js"></script><script type="module">import init from '/x.js';</script></head>"#;
        assert_eq!(
            inline_scripts(html).collect::<Vec<_>>(),
            ["import init from '/x.js';"]
        );
    }
}
