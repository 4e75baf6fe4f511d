//! Shared by the server's test files: a throwaway PostgreSQL database per
//! test, on the real server (no mocks).
//!
//! The server is found at `DOORSTEP_TEST_POSTGRES` (default
//! `postgres://127.0.0.1:5432/postgres`, trust auth as the current user).
//! Each `TestDb` creates its own `doorstep_test_…` database and drops it when
//! it goes away, so tests and test runs never see each other's rows.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};

/// The maintenance database that test databases are created from.
pub fn admin_url() -> String {
    std::env::var("DOORSTEP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://127.0.0.1:5432/postgres".to_owned())
}

pub struct TestDb {
    pub url: String,
    name: String,
}

impl TestDb {
    pub async fn create() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin = admin_url();
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|err| {
            panic!(
                "PostgreSQL is not reachable at {admin} ({err}). These tests need a real \
                 server: start it (pg_ctlcluster <version> main start) or point \
                 DOORSTEP_TEST_POSTGRES at one."
            )
        });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "doorstep_test_{}_{nanos}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        conn.close().await.ok();
        let url = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("DOORSTEP_TEST_POSTGRES must end in /database: {admin}"),
        };
        Self { url, name }
    }
}

impl Drop for TestDb {
    /// Drops the database, ending any connection the test left open. Runs on
    /// its own thread and runtime, since `Drop` cannot await.
    fn drop(&mut self) {
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&admin_url()).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Whether this run tests the PostgreSQL store: `DOORSTEP_TEST_BACKEND=postgres`.
/// The default is SQLite; CI runs the suite once with each.
pub fn postgres_selected() -> bool {
    match std::env::var("DOORSTEP_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("DOORSTEP_TEST_BACKEND is sqlite or postgres, not {other:?}"),
    }
}

/// The database one test runs on, on the backend this run tests: a SQLite
/// file in the test's folder, or a fresh PostgreSQL database.
pub struct TestDatabase {
    pub url: String,
    sqlite: Option<std::path::PathBuf>,
    _postgres: Option<TestDb>,
}

impl TestDatabase {
    /// `file` is the SQLite file's path (its folder need not exist yet).
    pub async fn new(file: &std::path::Path) -> Self {
        if postgres_selected() {
            let db = TestDb::create().await;
            Self {
                url: db.url.clone(),
                sqlite: None,
                _postgres: Some(db),
            }
        } else {
            Self {
                url: format!("sqlite://{}", file.display()),
                sqlite: Some(file.to_owned()),
                _postgres: None,
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self._postgres.is_some()
    }

    /// Everything stored, to compare before and after: SQLite's files byte
    /// for byte (main file and write-ahead log), or every PostgreSQL row.
    pub async fn contents(&self) -> Vec<Vec<u8>> {
        if let Some(file) = &self.sqlite {
            let wal = format!("{}-wal", file.display());
            return [file.display().to_string(), wal]
                .iter()
                .map(|path| std::fs::read(path).unwrap_or_default())
                .collect();
        }
        let mut conn = PgConnection::connect(&self.url).await.unwrap();
        let mut contents = Vec::new();
        for table in [
            "compound",
            "client",
            "record",
            "mutation",
            "device",
            "invite",
            "throttle",
            "team_release",
            "compound_figures",
            "record_share",
        ] {
            let (rows,): (String,) = sqlx::query_as(&format!(
                "SELECT COALESCE(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t"
            ))
            .fetch_one(&mut conn)
            .await
            .unwrap();
            contents.push(rows.into_bytes());
        }
        conn.close().await.ok();
        contents
    }
}

/// A server on this run's backend with `compounds` (id, name) created; the
/// SQLite file (if any) lives in `dir`.
pub async fn state_with(
    dir: &std::path::Path,
    compounds: &[(&str, &str)],
) -> (TestDatabase, doorstep_server::AppState) {
    let db = TestDatabase::new(&dir.join("test.sqlite")).await;
    let store = doorstep_server::store::Store::open(&db.url).await.unwrap();
    for (id, name) in compounds {
        add_compound(&store, id, name).await;
    }
    (db, doorstep_server::AppState::new(store, dir.to_path_buf()))
}

/// Creates compound `id` named `name`, as the operator's CLI does.
pub async fn add_compound(store: &doorstep_server::store::Store, id: &str, name: &str) {
    let compound = doorstep_server::store::Compound {
        id: id.parse().unwrap(),
        name: name.into(),
    };
    store
        .create_compound(&compound, doorstep_server::now_ms())
        .await
        .unwrap();
}

/// One request through the whole router: status, headers and body.
pub async fn send(
    state: &doorstep_server::AppState,
    request: axum::http::Request<axum::body::Body>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use tower::ServiceExt;
    let response = doorstep_server::app(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, bytes.to_vec())
}

/// A bearer token for a new device of `role` in `compound` (a volunteer's
/// `team`, key-persons grant), ready for an `Authorization` header.
pub async fn bearer(
    state: &doorstep_server::AppState,
    compound: &str,
    role: doorstep_core::access::Role,
    team: Option<&str>,
    key_persons: bool,
) -> String {
    let (_, token) = state
        .store
        .enroll(
            &compound.parse().unwrap(),
            role,
            team.map(|t| t.parse().unwrap()),
            key_persons,
        )
        .await
        .unwrap();
    format!("Bearer {token}")
}

/// Creates compound `id` in `store` with a coordinator's device in it, as
/// the operator's CLI does before a server starts; returns that device's
/// `Authorization` header.
pub async fn compound_with_coordinator(
    store: &doorstep_server::store::Store,
    id: &str,
    name: &str,
) -> String {
    let compound: doorstep_core::ids::CompoundId = id.parse().unwrap();
    add_compound(store, id, name).await;
    let (_, token) = store
        .enroll(
            &compound,
            doorstep_core::access::Role::Coordinator,
            None,
            false,
        )
        .await
        .unwrap();
    format!("Bearer {token}")
}

/// [`bearer`] for a coordinator: everything in the compound.
pub async fn coordinator(state: &doorstep_server::AppState, compound: &str) -> String {
    bearer(
        state,
        compound,
        doorstep_core::access::Role::Coordinator,
        None,
        false,
    )
    .await
}

/// The router as one device calls it: every request carries its token.
pub struct Api {
    pub state: doorstep_server::AppState,
    /// The `Authorization` header value.
    pub auth: String,
}

impl Api {
    /// A coordinator of `compound`.
    pub async fn coordinator(state: &doorstep_server::AppState, compound: &str) -> Self {
        Self {
            auth: coordinator(state, compound).await,
            state: state.clone(),
        }
    }

    pub async fn send(
        &self,
        mut request: axum::http::Request<axum::body::Body>,
    ) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
        request.headers_mut().insert(
            axum::http::header::AUTHORIZATION,
            self.auth.parse().unwrap(),
        );
        send(&self.state, request).await
    }
}

/// Opens an SSE stream as a resident page does and reads past the response
/// head (whose headers may contain `data:`, e.g. in the CSP); returns the
/// connection and the body bytes read so far.
pub async fn sse_open(addr: std::net::SocketAddr, path: &str) -> (tokio::net::TcpStream, String) {
    try_sse_open(addr, path).await.unwrap()
}

/// [`sse_open`] that says what went wrong instead of panicking (the load
/// test counts failures).
pub async fn try_sse_open(
    addr: std::net::SocketAddr,
    path: &str,
) -> Result<(tokio::net::TcpStream, String), String> {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buffer = String::new();
    loop {
        if let Some(end) = buffer.find("\r\n\r\n") {
            if !buffer.starts_with("HTTP/1.1 200") {
                return Err(format!("answered {}", &buffer[..end]));
            }
            let body = buffer.split_off(end + 4);
            return Ok((stream, body));
        }
        read_more(&mut stream, &mut buffer, "closed before its head").await?;
    }
}

/// Reads one SSE `data:` payload from a stream opened with [`sse_open`].
pub async fn next_event(stream: &mut tokio::net::TcpStream, buffer: &mut String) -> String {
    try_next_event(stream, buffer).await.unwrap()
}

/// [`next_event`] that says what went wrong instead of panicking. Cancel
/// safe: nothing read is lost if the future is dropped.
pub async fn try_next_event(
    stream: &mut tokio::net::TcpStream,
    buffer: &mut String,
) -> Result<String, String> {
    loop {
        if let Some(start) = buffer.find("data:")
            && let Some(end) = buffer[start..].find("\n\n")
        {
            let event = buffer[start + 5..start + end].trim().to_owned();
            buffer.drain(..start + end + 2);
            return Ok(event);
        }
        read_more(stream, buffer, "the stream closed").await?;
    }
}

async fn read_more(
    stream: &mut tokio::net::TcpStream,
    buffer: &mut String,
    closed: &str,
) -> Result<(), String> {
    use tokio::io::AsyncReadExt;
    let mut chunk = [0u8; 8192];
    let n = stream
        .read(&mut chunk)
        .await
        .map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err(closed.to_owned());
    }
    buffer.push_str(&String::from_utf8_lossy(&chunk[..n]));
    Ok(())
}

/// One real `doorstep-server` process on 127.0.0.1, killed if dropped.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub addr: std::net::SocketAddr,
}

impl ServerProcess {
    /// Starts the binary on `database_url`, serving `dist`, and waits (at
    /// most 30 s) until it says where it listens.
    pub async fn start(database_url: &str, dist: &std::path::Path) -> Self {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_doorstep-server"))
            .args(["--addr", "127.0.0.1:0", "--dist"])
            .arg(dist)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split("Open http://").nth(1) {
                    return rest.split('/').next().unwrap().parse().unwrap();
                }
                echo_server(&line);
            }
            panic!("the server exited before it said where it listens");
        })
        .await
        .expect("the server starts within 30 s");
        // Keep reading its output (warnings), so it never writes into a closed pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                echo_server(&line);
            }
        });
        Self { child, addr }
    }
}

/// Shows the server's warnings, but not the expected one about the app build.
fn echo_server(line: &str) {
    if !line.contains("no index.html") {
        eprintln!("server: {line}");
    }
}

/// One `POST /api/sync` over a fresh connection to a real server: the status
/// and body, or why no complete answer came within 30 s (connection refused
/// or cut: the server died).
pub async fn post_sync(
    addr: std::net::SocketAddr,
    auth: &str,
    body: &str,
) -> Result<(u16, String), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).ok();
        let request = format!(
            "POST /api/sync HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Authorization: {auth}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut reply = Vec::new();
        stream
            .read_to_end(&mut reply)
            .await
            .map_err(|e| format!("read: {e}"))?;
        parse_response(&reply)
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")))
}

/// A complete HTTP/1.1 response with a `Content-Length` body.
fn parse_response(reply: &[u8]) -> Result<(u16, String), String> {
    let split = find_bytes(reply, b"\r\n\r\n")
        .ok_or_else(|| format!("incomplete response ({} bytes)", reply.len()))?;
    let head = String::from_utf8_lossy(&reply[..split]);
    let body = &reply[split + 4..];
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or_else(|| format!("no content-length: {head}"))?;
    if body.len() < length {
        return Err(format!("body cut at {} of {length} bytes", body.len()));
    }
    Ok((
        status,
        String::from_utf8_lossy(&body[..length]).into_owned(),
    ))
}

/// Where `needle` first occurs in `haystack`.
pub fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The pull page of a `/api/sync` answer, decoded from its compact wire form.
pub fn pull_page(response: &serde_json::Value) -> doorstep_core::sync::PullPage {
    serde_json::from_value(response["pull"].clone()).unwrap()
}
