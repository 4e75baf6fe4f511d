//! The real `doorstep-server` router, served in-process on 127.0.0.1:0 from the
//! Trunk build in `dist/`, with a fresh SQLite file per test.

use std::path::PathBuf;

use doorstep_server::{AppState, store::Store};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

pub struct TestServer {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _data: TempDir,
}

/// The app build under test: `DOORSTEP_DIST`, set by `cargo xtask test`.
pub fn dist_dir() -> PathBuf {
    let dist = std::env::var_os("DOORSTEP_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../dist")));
    assert!(
        dist.join("index.html").is_file(),
        "no app build at {}: run `cargo xtask test` (it builds the app first)",
        dist.display()
    );
    dist
}

impl TestServer {
    pub async fn start() -> Self {
        let data = TempDir::new().unwrap();
        let url = format!("sqlite://{}", data.path().join("doorstep.sqlite").display());
        let store = Store::open(&url).await.expect("open the SQLite store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState {
            store,
            dist: dist_dir(),
        };
        let task = tokio::spawn(doorstep_server::serve(listener, state, async {
            stopped.await.ok();
        }));
        Self {
            url: format!("http://{addr}"),
            stop: Some(stop),
            task: Some(task),
            _data: data,
        }
    }

    /// Stops accepting connections and waits until the listener is closed.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            // The browser may hold keep-alive connections open; don't wait for them forever.
            if let Ok(result) = tokio::time::timeout(std::time::Duration::from_secs(5), task).await
            {
                result.unwrap().unwrap();
            }
        }
    }
}
