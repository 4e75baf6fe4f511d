//! The HTTP surface as a client sees it: through `oneshot` on the router, and
//! once through a real listener on 127.0.0.1:0.

use std::path::Path;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use doorstep_core::api::{ApiError, Health, StorageBackend};
use doorstep_server::{AppState, app, store::Store};
use tempfile::TempDir;
use tower::ServiceExt;

const WASM: &str = "doorstep-app-0123456789abcdef_bg.wasm";
const JS: &str = "doorstep-app-0123456789abcdef.js";

/// A dist folder shaped like Trunk's output, and a fresh SQLite file.
async fn fixture() -> (TempDir, AppState) {
    let dir = TempDir::new().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let index = format!(
        "<!doctype html><html><script src=\"/{JS}\"></script>{}</html>",
        " ".repeat(200)
    );
    std::fs::write(dist.join("index.html"), index).unwrap();
    std::fs::write(
        dist.join("sw.js"),
        "self.addEventListener('fetch', () => {});".repeat(10),
    )
    .unwrap();
    std::fs::write(
        dist.join(JS),
        "export default function init() {}\n".repeat(20),
    )
    .unwrap();
    std::fs::write(dist.join(WASM), [0u8, 97, 115, 109, 1, 0, 0, 0].repeat(64)).unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("data/doorstep.sqlite").display()
    );
    let store = Store::open(&url).await.unwrap();
    (dir, AppState { store, dist })
}

async fn get(state: &AppState, path: &str, accept_encoding: Option<&str>) -> Response {
    let mut request = Request::get(path);
    if let Some(encoding) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, encoding);
    }
    app(state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body_bytes(response: Response) -> Vec<u8> {
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

fn header_of<'a>(response: &'a Response, name: header::HeaderName) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn health_reports_version_and_a_live_sqlite() {
    let (dir, state) = fixture().await;
    let response = get(&state, "/api/health", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let health: Health = serde_json::from_slice(&body_bytes(response).await).unwrap();
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(health.storage.backend, StorageBackend::Sqlite);
    assert!(health.storage.engine_version.starts_with('3'), "{health:?}");
    assert!(Path::new(&dir.path().join("data/doorstep.sqlite")).is_file());
}

#[tokio::test]
async fn unknown_api_path_is_a_json_404_not_the_app() {
    let (_dir, state) = fixture().await;
    let response = get(&state, "/api/nope", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let error: ApiError = serde_json::from_slice(&body_bytes(response).await).unwrap();
    assert_eq!(error.code, "not_found");
}

#[tokio::test]
async fn shell_files_revalidate_and_hashed_assets_are_immutable() {
    let (_dir, state) = fixture().await;
    for path in ["/", "/index.html", "/sw.js"] {
        let response = get(&state, path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            Some("no-cache"),
            "{path}"
        );
    }
    for path in [JS, WASM] {
        let response = get(&state, &format!("/{path}"), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn client_routes_get_the_shell_but_missing_files_do_not() {
    let (_dir, state) = fixture().await;
    let response = get(&state, "/visits", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL),
        Some("no-cache")
    );
    assert!(
        String::from_utf8(body_bytes(response).await)
            .unwrap()
            .contains(JS)
    );

    let stale = get(&state, "/doorstep-app-ffffffffffffffff.js", None).await;
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);
    assert_eq!(header_of(&stale, header::CACHE_CONTROL), None);
}

#[tokio::test]
async fn responses_are_compressed_with_brotli_or_gzip() {
    let (_dir, state) = fixture().await;
    for (accept, expected) in [("br", "br"), ("gzip", "gzip"), ("br, gzip", "br")] {
        let response = get(&state, &format!("/{WASM}"), Some(accept)).await;
        assert_eq!(
            header_of(&response, header::CONTENT_ENCODING),
            Some(expected),
            "Accept-Encoding: {accept}"
        );
    }
    let plain = get(&state, &format!("/{WASM}"), None).await;
    assert_eq!(header_of(&plain, header::CONTENT_ENCODING), None);
}

#[tokio::test]
async fn real_listener_serves_then_shuts_down_gracefully() {
    let (_dir, state) = fixture().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(doorstep_server::serve(listener, state, async {
        stopped.await.ok();
    }));

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = "GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .unwrap();
    let mut reply = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut reply)
        .await
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"backend\":\"sqlite\""), "{reply}");

    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("server stops within 5 s")
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed"
    );
}
