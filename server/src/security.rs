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
/// into each bundle's index.html, allowed by hash), WebAssembly, its own
/// styles, fetches and workers only to this origin; no plugins, no framing.
pub fn app_csp(dist: &Path) -> String {
    let inline: String = bundle_indexes(dist)
        .iter()
        .filter_map(|index| std::fs::read_to_string(index).ok())
        .flat_map(|html| {
            inline_scripts(&html)
                .map(|script| format!(" 'sha256-{}'", base64_sha256(script)))
                .collect::<Vec<_>>()
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{inline}; style-src 'self'; \
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// `dist/index.html` and the `index.html` of each folder in `dist` (the
/// manage bundle's, app/src/bundle.rs), sorted.
fn bundle_indexes(dist: &Path) -> Vec<std::path::PathBuf> {
    let folders = std::fs::read_dir(dist).into_iter().flatten().flatten();
    let mut indexes: Vec<_> = std::iter::once(dist.to_path_buf())
        .chain(folders.map(|entry| entry.path()))
        .map(|folder| folder.join("index.html"))
        .filter(|index| index.is_file())
        .collect();
    indexes.sort();
    indexes
}

/// The bodies of `<script>` elements without `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, rest) = rest.split_once('>')?;
        let (body, _) = rest.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(body)
    })
}

pub fn base64_sha256(text: &str) -> String {
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

/// A download form's failure as a page a person can read (the form is a
/// browser navigation, so JSON would show raw): what happened and what to
/// do next, in Chinese and English, with the same status.
pub fn error_page(error: crate::error::AppError) -> Response {
    let (zh, en) = match error.status.as_u16() {
        401 => (
            "登录已失效。请回到应用重新登录，再下载。",
            "You are signed out. Go back to the app, sign in again, then retry.",
        ),
        403 => (
            "您的角色不能打开这份文件。如需要，请联系社区负责人。",
            "Your role may not open this file. Ask your coordinator if you need it.",
        ),
        404 => (
            "找不到这份文件。请回到应用，刷新后再试。",
            "This file was not found. Go back to the app, refresh and retry.",
        ),
        _ => (
            "暂时无法生成这份文件，请稍后再试。",
            "This file cannot be made right now; try again later.",
        ),
    };
    tracing::info!(code = %error.body.code, "download form refused");
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{zh}</title><style>\
         body{{font-family:sans-serif;margin:24px;font-size:18px;line-height:1.5}}\
         a{{display:inline-block;min-height:44px;line-height:44px}}</style></head><body>\
         <p>{zh}</p><p lang=\"en\">{en}</p><p><a href=\"/\">返回应用 / Back to the app</a></p>\
         </body></html>"
    );
    let mut response = print_page(html);
    *response.status_mut() = error.status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_download_is_a_page_not_json() {
        let response = error_page(crate::error::AppError::forbidden("coordinators only"));
        assert_eq!(response.status(), axum::http::StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
    }

    #[test]
    fn every_bundles_loader_is_allowed_by_hash() {
        let dist = tempfile::TempDir::new().unwrap();
        std::fs::create_dir(dist.path().join("manage")).unwrap();
        std::fs::write(dist.path().join("index.html"), "<script>field()</script>").unwrap();
        std::fs::write(
            dist.path().join("manage/index.html"),
            "<script>manage()</script>",
        )
        .unwrap();
        let csp = app_csp(dist.path());
        for script in ["field()", "manage()"] {
            assert!(
                csp.contains(&format!("'sha256-{}'", base64_sha256(script))),
                "{script}: {csp}"
            );
        }
    }

    #[test]
    fn inline_scripts_are_found_and_external_ones_skipped() {
        let html = r#"<head><script src="/a.js"></script><script type="module">import init from '/x.js';</script></head>"#;
        assert_eq!(
            inline_scripts(html).collect::<Vec<_>>(),
            ["import init from '/x.js';"]
        );
    }
}
