//! Serves the Trunk build output: the build's own brotli and gzip copies
//! when the browser takes them, cache headers that suit a service-worker
//! app, and the SPA fallback that lets client-side routes load from a deep
//! link: `dist/index.html`, or a folder's own `index.html` for the routes
//! under it (the manage bundle's `dist/manage/`, app/src/bundle.rs).

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

/// Files under `dist`, falling back to an `index.html` for client-side routes.
pub fn service<S: Clone + Send + Sync + 'static>(dist: &Path) -> Router<S> {
    // The copies are compressed harder than the response layer does on the
    // fly; that layer leaves an already encoded response alone.
    let files = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(spa_fallback.with_state(dist.to_path_buf()));
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

/// The `index.html` whose bundle routes `path`: the one in the folder named
/// by the path's first segment if there is one (`/manage/accounts` gets
/// `manage/index.html`), else the top one.
pub fn index_for(dist: &Path, path: &str) -> PathBuf {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let nested = dist.join(first).join("index.html");
    if !first.is_empty() && path.len() > first.len() + 1 && nested.is_file() {
        nested
    } else {
        dist.join("index.html")
    }
}

/// A route such as `/visits` gets the app shell; a missing *file* (it has an
/// extension) is a real 404, so a stale asset URL never receives HTML.
async fn spa_fallback(State(dist): State<PathBuf>, request: Request) -> Response {
    if Path::new(request.uri().path()).extension().is_some() {
        return AppError::not_found(format!("no file at {}", request.uri().path())).into_response();
    }
    let index = ServeFile::new(index_for(&dist, request.uri().path()))
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
    fn routes_under_a_bundle_folder_get_its_index() {
        let dist = tempfile::TempDir::new().unwrap();
        std::fs::create_dir(dist.path().join("manage")).unwrap();
        std::fs::create_dir(dist.path().join("icons")).unwrap();
        std::fs::write(dist.path().join("index.html"), "field").unwrap();
        std::fs::write(dist.path().join("manage/index.html"), "manage").unwrap();
        let top = dist.path().join("index.html");
        let manage = dist.path().join("manage/index.html");
        for (path, expected) in [
            ("/", &top),
            ("/visits", &top),
            ("/visits/door/x", &top),
            ("/icons/x", &top),
            ("/manage", &top),
            ("/manage/accounts", &manage),
            ("/manage/visits/import", &manage),
            ("/managers/x", &top),
        ] {
            assert_eq!(&index_for(dist.path(), path), expected, "{path}");
        }
    }

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
