//! Serves the Trunk build output: the build's own brotli and gzip copies
//! when the browser takes them, cache headers that suit a service-worker
//! app, and the SPA fallback that lets client-side routes load from a deep
//! link.

use std::path::{Path, PathBuf};

use axum::{
    extract::{Request, State},
    handler::Handler,
    http::{HeaderValue, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::Router,
};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::AppError;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Files under `dist`, falling back to `index.html` for client-side routes.
pub fn service<S: Clone + Send + Sync + 'static>(dist: &Path) -> Router<S> {
    let index = dist.join("index.html");
    // The copies are compressed harder than the response layer does on the
    // fly; that layer leaves an already encoded response alone.
    let files = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(spa_fallback.with_state(index));
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(set_cache_control))
}

/// Trunk names build outputs `name-<16 hex digits>.ext`; such a file never
/// changes under its name, so browsers may keep it forever. Anything else
/// (`index.html`, `sw.js`, the manifest, routes) must be revalidated so that a
/// deploy is seen on the next load.
pub fn cache_policy(path: &str) -> &'static str {
    let file = path.rsplit('/').next().unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    // wasm-bindgen's module is `name-<hash>_bg.wasm`.
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let hashed = stem
        .rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    if hashed { IMMUTABLE } else { REVALIDATE }
}

async fn set_cache_control(request: Request, next: Next) -> Response {
    let policy = cache_policy(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status().as_u16() == 304 {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// A route such as `/visits` gets the app shell; a missing *file* (it has an
/// extension) is a real 404, so a stale asset URL never receives HTML.
async fn spa_fallback(State(index): State<PathBuf>, request: Request) -> Response {
    if Path::new(request.uri().path()).extension().is_some() {
        return AppError::not_found(format!("no file at {}", request.uri().path())).into_response();
    }
    let index = ServeFile::new(index)
        .precompressed_br()
        .precompressed_gzip();
    match index.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_policy_by_path() {
        for (path, expected) in [
            ("/doorstep-app-0123456789abcdef_bg.wasm", IMMUTABLE),
            ("/doorstep-app-0123456789abcdef.js", IMMUTABLE),
            ("/style-fedcba9876543210.css", IMMUTABLE),
            ("/", REVALIDATE),
            ("/index.html", REVALIDATE),
            ("/sw.js", REVALIDATE),
            ("/manifest.webmanifest", REVALIDATE),
            ("/icons/icon-192.png", REVALIDATE),
            ("/visits", REVALIDATE),
            ("/style-notahexhash!!.css", REVALIDATE),
            ("/short-0123abcd.js", REVALIDATE),
        ] {
            assert_eq!(cache_policy(path), expected, "{path}");
        }
    }
}
