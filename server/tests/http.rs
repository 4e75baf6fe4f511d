//! The HTTP surface as a client sees it: through `oneshot` on the router, and
//! once through a real listener on 127.0.0.1:0. Also holds the hand-written
//! OpenAPI document to the real codes and wire shapes.

use std::path::Path;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use doorstep_core::{
    access::Role,
    api::{ApiError, Health, HealthStatus, StorageBackend},
    hlc::Clock,
    ids::ClientId,
    sync::{PullRequest, PushedMutation, RequestError, SCHEMA_VERSION, SyncRequest},
};
use doorstep_server::{AppState, app, error::AppError, now_ms, store::Store};
use serde_json::{Value, json};
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

// --- /api/openapi.json -------------------------------------------------------

async fn openapi_document(state: &AppState) -> Value {
    let response = get(state, "/api/openapi.json", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        Some("application/json")
    );
    serde_json::from_slice(&body_bytes(response).await).expect("the document is JSON")
}

/// Follows a local `$ref` (`#/components/...`); any other schema is itself.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("not a local $ref: {reference}"));
            let target = spec
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref: {reference}"));
            resolve(spec, target)
        }
        None => schema,
    }
}

/// Every `$ref` anywhere in `value`.
fn refs(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref") {
                out.push(json!({ "$ref": reference }));
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_document_describes_health_and_sync() {
    let (_dir, state) = fixture().await;
    let spec = openapi_document(&state).await;
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{}",
        spec["openapi"]
    );
    assert_eq!(spec["info"]["version"], SCHEMA_VERSION.to_string());
    assert!(spec["paths"]["/api/health"]["get"]["responses"]["200"].is_object());
    assert!(spec["paths"]["/api/redeem"]["post"]["responses"]["429"].is_object());
    let sync = &spec["paths"]["/api/sync"]["post"];
    assert!(sync["requestBody"].is_object());
    for status in ["200", "400", "409", "413", "422", "503"] {
        assert!(
            sync["responses"][status].is_object(),
            "/api/sync documents no {status}"
        );
    }
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(all.len() > 20);
    for reference in &all {
        resolve(&spec, reference);
    }
}

/// One of each `RequestError`.
fn every_request_error() -> Vec<RequestError> {
    let samples = vec![
        RequestError::Malformed {
            field: None,
            message: "x".into(),
        },
        RequestError::UnsupportedSchema { version: 99 },
        RequestError::TooManyMutations { count: 101 },
        RequestError::Invalid {
            field: "mutations[0].mid".into(),
            message: "x".into(),
        },
        RequestError::ClockAhead {
            field: "mutations[0].hlc".into(),
            ahead_ms: 600_000,
        },
        RequestError::MidGap {
            expected: 4,
            got: 5,
        },
        RequestError::MidReused { mid: 3 },
    ];
    for sample in &samples {
        // No wildcard on purpose: a new variant stops this compiling, as a
        // reminder to add a sample of it above (and document its code).
        match sample {
            RequestError::Malformed { .. }
            | RequestError::UnsupportedSchema { .. }
            | RequestError::TooManyMutations { .. }
            | RequestError::Invalid { .. }
            | RequestError::ClockAhead { .. }
            | RequestError::MidGap { .. }
            | RequestError::MidReused { .. } => {}
        }
    }
    samples
}

/// The codes a documented response lists among its examples.
fn documented_codes(spec: &Value, response: &Value) -> Vec<String> {
    let response = resolve(spec, response);
    response["content"]["application/json"]["examples"]
        .as_object()
        .map(|examples| {
            examples
                .values()
                .map(|e| e["value"]["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every code `/api/sync` can answer appears under the status it comes with,
/// so the document cannot silently fall behind the code.
#[tokio::test]
async fn every_sync_error_code_is_documented_under_its_status() {
    let (_dir, state) = fixture().await;
    let spec = openapi_document(&state).await;
    let responses = &spec["paths"]["/api/sync"]["post"]["responses"];
    let mut expected: Vec<(u16, String)> = every_request_error()
        .into_iter()
        .map(|err| {
            let app_error = AppError::from(err);
            (
                app_error.status.as_u16(),
                app_error.body.code.as_str().to_owned(),
            )
        })
        .collect();
    // Errors that come from the body limit and the store, not the request's content.
    expected.extend([
        (413, "body_rejected".to_owned()),
        (500, "corrupt".to_owned()),
        (503, "store_unavailable".to_owned()),
    ]);
    for (status, code) in expected {
        let documented = documented_codes(&spec, &responses[status.to_string()]);
        assert!(
            documented.contains(&code),
            "/api/sync can answer {status} {code}, but the document lists {documented:?} under {status}"
        );
    }
}

/// Checks `value` against a schema of the document. Stricter than JSON Schema
/// on purpose: an object may carry only documented keys (unless the schema
/// allows more), so a field added to a wire type fails here until documented.
fn check(
    spec: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    closed: bool,
) -> Result<(), String> {
    let schema = resolve(spec, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        // Each part describes some of the keys, so none may insist on all.
        for part in parts {
            check(spec, part, value, at, false)?;
        }
        let mut known = Vec::new();
        for part in parts {
            known.extend(property_names(spec, resolve(spec, part), value));
        }
        return match value.as_object() {
            Some(map) if closed => match map.keys().find(|k| !known.contains(k)) {
                Some(key) => Err(format!("{at}.{key} is not documented")),
                None => Ok(()),
            },
            _ => Ok(()),
        };
    }
    if let Some(branches) = schema["oneOf"].as_array() {
        let fits = branches
            .iter()
            .filter(|b| check(spec, b, value, at, closed).is_ok())
            .count();
        return match fits {
            1 => Ok(()),
            n => Err(format!("{at} fits {n} oneOf branches: {value}")),
        };
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return Err(format!("{at} is {value}, not {constant}"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at} is {value}, not one of {allowed:?}"));
    }
    let type_ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        return Err(format!("{at} is {value}, not {}", schema["type"]));
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            check(spec, &schema["items"], item, &format!("{at}[{i}]"), true)?;
        }
    }
    if let (Some(map), Some("object")) = (value.as_object(), schema["type"].as_str()) {
        for required in schema["required"].as_array().into_iter().flatten() {
            if !map.contains_key(required.as_str().unwrap()) {
                return Err(format!("{at} lacks {required}: {value}"));
            }
        }
        for (key, item) in map {
            let at = format!("{at}.{key}");
            match (&schema["properties"][key], &schema["additionalProperties"]) {
                (Value::Null, Value::Null | Value::Bool(false)) if closed => {
                    return Err(format!("{at} is not documented"));
                }
                (Value::Null, extra @ Value::Object(_)) => check(spec, extra, item, &at, true)?,
                (Value::Null, _) => {}
                (property, _) => check(spec, property, item, &at, true)?,
            }
        }
    }
    Ok(())
}

/// The keys a (resolved) schema documents for `value`: its properties, or
/// those of the one `oneOf` branch that fits.
fn property_names(spec: &Value, schema: &Value, value: &Value) -> Vec<String> {
    if let Some(branches) = schema["oneOf"].as_array() {
        return branches
            .iter()
            .find(|b| check(spec, b, value, "", false).is_ok())
            .map(|b| property_names(spec, resolve(spec, b), value))
            .unwrap_or_default();
    }
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Real requests and responses fit the documented schemas, key for key.
#[tokio::test]
async fn real_wire_shapes_match_the_document() {
    let (_dir, state) = fixture().await;
    let spec = openapi_document(&state).await;
    let fits = |name: &str, value: &Value| {
        if let Err(problem) = check(&spec, &schema_ref(name), value, name, true) {
            panic!("{problem}");
        }
    };
    support::add_compound(&state.store, "c1", "永安社区").await;
    let auth = support::coordinator(&state, "c1").await;
    let node = ClientId::from_u128(1);
    let mut clock = Clock::new(node);
    let mutations: Vec<Value> = vec![
        json!({"kind": "set", "args": {"collection": "household", "id": "h1", "compound": "c1", "fields": {"head": "王芳", "members": 3, "notes": null}}}),
        json!({"kind": "delete", "args": {"collection": "household", "id": "h2", "compound": "c1"}}),
        json!({"kind": "append", "args": {"collection": "purchase", "id": "p1", "compound": "c1", "fields": {"household": "h1", "items": "米", "amount_cents": 900}}}),
        json!({"kind": "append", "args": {"collection": "purchase", "id": "p1", "compound": "c1", "fields": {"household": "h1", "items": "面", "amount_cents": 900}}}),
    ];
    let request = SyncRequest {
        client_id: node,
        schema_version: SCHEMA_VERSION,
        mutations: mutations
            .into_iter()
            .zip(1..)
            .map(|(mutation, mid)| PushedMutation {
                mid,
                hlc: clock.tick(now_ms()),
                mutation: serde_json::from_value(mutation).unwrap(),
            })
            .collect(),
        pull: Some(PullRequest {
            compound: "c1".parse().unwrap(),
            cursor: 0,
            scope: None,
        }),
    };
    let request = serde_json::to_value(&request).unwrap();
    fits("SyncRequest", &request);

    let response = app(state.clone())
        .oneshot(
            Request::post("/api/sync")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, &auth)
                .body(Body::from(request.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response: Value = serde_json::from_slice(&body_bytes(response).await).unwrap();
    assert_eq!(
        response["rejected"][0]["code"], "entry_exists",
        "{response}"
    );
    let page = &response["pull"];
    // h2, deleted at its only stamp: the delete is `[]`.
    assert_eq!(page["changes"][1][5], json!([]), "{page}");
    let decoded: doorstep_core::sync::PullPage = serde_json::from_value(page.clone()).unwrap();
    assert!(decoded.changes[1].record.deleted.is_some());
    fits("SyncResponse", &response);

    let health: Value =
        serde_json::from_slice(&body_bytes(get(&state, "/api/health", None).await).await).unwrap();
    fits("Health", &health);
    let session = app(state.clone())
        .oneshot(
            Request::get("/api/session")
                .header(header::AUTHORIZATION, &auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let session: Value = serde_json::from_slice(&body_bytes(session).await).unwrap();
    fits("Session", &session);
    // A new invite and the device list, as the coordinator's page reads them.
    for (method, path, body, schema) in [
        (
            "POST",
            "/api/compounds/c1/invites",
            json!({"role": "stall", "uses": 1, "hours": 1}).to_string(),
            "NewInvite",
        ),
        (
            "GET",
            "/api/compounds/c1/devices",
            String::new(),
            "DeviceInfo",
        ),
        // The second purchase p1 above was refused.
        (
            "GET",
            "/api/compounds/c1/refused",
            String::new(),
            "RefusedEdit",
        ),
        (
            "PUT",
            "/api/compounds/c1/help",
            json!({"enabled": true}).to_string(),
            "HelpSwitch",
        ),
        ("GET", "/api/compounds/c1/help", String::new(), "HelpSwitch"),
    ] {
        let response = app(state.clone())
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .header(header::AUTHORIZATION, &auth)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let value: Value = serde_json::from_slice(&body_bytes(response).await).unwrap();
        fits(schema, if value.is_array() { &value[0] } else { &value });
    }
    let error: Value =
        serde_json::from_slice(&body_bytes(get(&state, "/api/nope", None).await).await).unwrap();
    fits("ApiError", &error);

    // A district official's redeemed code and totals (issue 16).
    let district = doorstep_core::district::DistrictSummary {
        id: "d1".parse().unwrap(),
        name: "洪山区".into(),
    };
    state
        .store
        .create_district(&district, now_ms())
        .await
        .unwrap();
    let (_, code) = state
        .store
        .create_official_invite(&district.id, 1, 1, now_ms())
        .await
        .unwrap();
    let redeemed = app(state.clone())
        .oneshot(
            Request::post("/api/redeem")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"code": code}).to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let redeemed: Value = serde_json::from_slice(&body_bytes(redeemed).await).unwrap();
    fits("Redeemed", &redeemed);
    let compound = doorstep_server::store::Compound {
        id: "c9".parse().unwrap(),
        name: "新区小区".into(),
    };
    let placement = doorstep_server::store::Placement {
        district: Some(district.id.clone()),
        street: Some("珞南街道".into()),
    };
    state
        .store
        .create_compound_in(&compound, &placement, now_ms())
        .await
        .unwrap();
    let totals = app(state.clone())
        .oneshot(
            Request::get("/api/districts/d1/totals")
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", redeemed["token"].as_str().unwrap()),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(totals.status(), StatusCode::OK);
    let totals: Value = serde_json::from_slice(&body_bytes(totals).await).unwrap();
    fits("DistrictTotals", &totals);

    // The checker itself refuses an undocumented key.
    let mut extra = response.clone();
    extra["pull"]["surprise"] = json!(1);
    assert!(check(&spec, &schema_ref("SyncResponse"), &extra, "r", true).is_err());
}
