//! The HTTP surface as a client sees it: through `oneshot` on the router, and
//! once through a real listener on 127.0.0.1:0. The API document is held to
//! the server in `openapi.rs`.

use std::path::Path;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use doorstep_core::{
    access::Role,
    api::{ApiError, Health, HealthStatus, StorageBackend},
};
use doorstep_server::{AppState, app, store::Store};
use support::TestDatabase;
use tempfile::TempDir;
use tower::ServiceExt;

mod support;

const WASM: &str = "doorstep-app-0123456789abcdef_bg.wasm";
const JS: &str = "doorstep-app-0123456789abcdef.js";

/// A dist folder shaped like Trunk's output, and a fresh database (a SQLite
/// file unless `DOORSTEP_TEST_BACKEND=postgres`), dropped with the fixture.
struct Fixture {
    dir: TempDir,
    db: TestDatabase,
}

impl Fixture {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

async fn fixture() -> (Fixture, AppState) {
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
    let db = TestDatabase::new(&dir.path().join("data/doorstep.sqlite")).await;
    let store = Store::open(&db.url).await.unwrap();
    (Fixture { dir, db }, AppState::new(store, dist))
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

fn header_of(response: &Response, name: header::HeaderName) -> Option<&str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Anyone may ask, so the answer names no version of the server or of the
/// database engine (issue 15, item 6): only that the database answered.
#[tokio::test]
async fn health_says_ok_and_names_no_versions() {
    let (dir, state) = fixture().await;
    let response = get(&state, "/api/health", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_bytes(response).await;
    let health: Health = serde_json::from_slice(&body).unwrap();
    assert_eq!(health.status, HealthStatus::Ok);
    assert_eq!(body, br#"{"status":"ok"}"#);
    let engine = state.store.storage_info().await.unwrap();
    if dir.db.is_postgres() {
        assert_eq!(engine.backend, StorageBackend::Postgres);
        assert!(engine.engine_version.starts_with("PostgreSQL"));
    } else {
        assert_eq!(engine.backend, StorageBackend::Sqlite);
        assert!(Path::new(&dir.path().join("data/doorstep.sqlite")).is_file());
    }
    let text = String::from_utf8_lossy(&body);
    for secret in [engine.engine_version.as_str(), env!("CARGO_PKG_VERSION")] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

/// The error a response carries, checking it is the JSON shape.
async fn api_error_of(response: Response) -> (StatusCode, ApiError) {
    let status = response.status();
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        Some("application/json"),
        "{status}"
    );
    let body = body_bytes(response).await;
    let error = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{status}: {e}: {}", String::from_utf8_lossy(&body)));
    (status, error)
}

async fn send(state: &AppState, request: Request<Body>) -> Response {
    app(state.clone()).oneshot(request).await.unwrap()
}

/// Axum's own answers (a body over the limit outside `/api/sync`, a wrong
/// method, an extractor's rejection) are the same `{code, message}` shape
/// as every other failure (issue 15, item 8).
#[tokio::test]
async fn every_failure_is_the_json_error_shape() {
    let (_dir, state) = fixture().await;
    support::add_compound(&state.store, "c1", "永安社区").await;
    let auth = support::coordinator(&state, "c1").await;
    let big = |bytes: usize| Body::from(vec![b'x'; bytes]);
    let post = |path: &str, body: Body| {
        Request::post(path)
            .header(header::AUTHORIZATION, &auth)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap()
    };
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post("/api/compounds/c1/invites", big(20 * 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_rejected",
        ),
        (
            post("/api/redeem", big(20 * 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_rejected",
        ),
        (
            post("/api/compounds/c1/roster?file=r.csv", big(9 * 1024 * 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_rejected",
        ),
        (
            Request::put("/api/health").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Request::get("/api/sync").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Request::delete("/api/compounds/c1/devices")
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        // A download form without its token, and one that is not a form.
        (
            Request::post("/api/compounds/c1/ledgers.xlsx")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("nothing=here"))
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            Request::post("/api/compounds/c1/posters")
                .body(Body::from("token=x"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        // A query the roster upload cannot read.
        (
            post(
                "/api/compounds/c1/roster?file=r.csv&dry_run=maybe",
                Body::from("楼栋\n"),
            ),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        // JSON that is not JSON.
        (
            post("/api/compounds/c1/invites", Body::from("{\"role\":")),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
    ];
    for (request, status, code) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        let response = send(&state, request).await;
        let allow = header_of(&response, header::ALLOW).map(str::to_owned);
        let (got, error) = api_error_of(response).await;
        assert_eq!(
            (got, error.code.as_str()),
            (status, code),
            "{what}: {error:?}"
        );
        assert!(!error.message.is_empty(), "{what}");
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(allow.is_some(), "{what} keeps its Allow header");
        }
    }
}

/// A download form is a browser navigation: its failure is a page the
/// person can read in their language, through the whole router (issue 19,
/// item 6), never the JSON the rest of `/api` answers.
#[tokio::test]
async fn a_refused_download_form_answers_a_readable_page() {
    let (_dir, state) = fixture().await;
    support::add_compound(&state.store, "c1", "永安社区").await;
    let stall = support::bearer(&state, "c1", Role::Stall, None, false).await;
    let stall_token = stall.trim_start_matches("Bearer ");
    for (path, token, status) in [
        (
            "/api/compounds/c1/posters",
            "not-a-token",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/compounds/c1/ledgers.xlsx",
            "not-a-token",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/compounds/c1/posters",
            stall_token,
            StatusCode::FORBIDDEN,
        ),
    ] {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap();
        let response = send(&state, request).await;
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        let page = String::from_utf8(body_bytes(response).await).unwrap();
        assert!(page.contains("返回应用"), "{path}: {page}");
        assert!(!page.contains("\"code\""), "{path}: {page}");
    }
}

#[tokio::test]
async fn unknown_api_path_is_a_json_404_not_the_app() {
    let (_dir, state) = fixture().await;
    let response = get(&state, "/api/nope", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let error: ApiError = serde_json::from_slice(&body_bytes(response).await).unwrap();
    assert_eq!(error.code, doorstep_core::api::ErrorCode::NotFound);
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

/// The manage bundle's routes (`/manage/…`) get its own `index.html`;
/// the field bundle's routes still get the top one.
#[tokio::test]
async fn manage_routes_get_the_manage_bundles_shell() {
    let (dir, state) = fixture().await;
    let manage = dir.path().join("dist/manage");
    std::fs::create_dir_all(&manage).unwrap();
    std::fs::write(manage.join("index.html"), "<html>the manage shell</html>").unwrap();
    let text = |response: Response| async move {
        assert_eq!(response.status(), StatusCode::OK);
        String::from_utf8(body_bytes(response).await).unwrap()
    };
    for path in ["/manage/accounts", "/manage/visits/import"] {
        assert_eq!(
            text(get(&state, path, None).await).await,
            "<html>the manage shell</html>",
            "{path}"
        );
    }
    assert!(text(get(&state, "/visits", None).await).await.contains(JS));
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

/// The build hook's brotli-11 and gzip-9 copies (`name.br`, `name.gz`) go
/// out byte for byte, for files and for the shell of a client route; on-the-
/// fly compression is only for what has no copy.
#[tokio::test]
async fn the_builds_own_compressed_copies_are_sent_as_they_are() {
    let (dir, state) = fixture().await;
    let dist = dir.path().join("dist");
    for (name, copy) in [
        (format!("{WASM}.br"), "wasm at brotli 11"),
        (format!("{WASM}.gz"), "wasm at gzip 9"),
        ("index.html.br".to_owned(), "shell at brotli 11"),
    ] {
        std::fs::write(dist.join(name), copy).unwrap();
    }
    for (path, accept, encoding, copy) in [
        (format!("/{WASM}"), "br, gzip", "br", "wasm at brotli 11"),
        (format!("/{WASM}"), "gzip", "gzip", "wasm at gzip 9"),
        ("/visits".to_owned(), "br", "br", "shell at brotli 11"),
    ] {
        let response = get(&state, &path, Some(accept)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path} {accept}");
        assert_eq!(
            header_of(&response, header::CONTENT_ENCODING),
            Some(encoding),
            "{path} {accept}"
        );
        if path.ends_with(".wasm") {
            assert_eq!(
                header_of(&response, header::CONTENT_TYPE),
                Some("application/wasm")
            );
            assert_eq!(
                header_of(&response, header::CACHE_CONTROL),
                Some("public, max-age=31536000, immutable")
            );
        }
        assert_eq!(
            body_bytes(response).await,
            copy.as_bytes(),
            "{path} {accept}"
        );
    }
    let plain = get(&state, &format!("/{WASM}"), None).await;
    assert_eq!(header_of(&plain, header::CONTENT_ENCODING), None);
    assert_eq!(body_bytes(plain).await.len(), 8 * 64);
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
    assert!(reply.ends_with(r#"{"status":"ok"}"#), "{reply}");

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
