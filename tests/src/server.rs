//! The real `doorstep-server` router, served in-process on 127.0.0.1 from the
//! Trunk build in `dist/`, with a SQLite file of its own. It can be stopped
//! (phones see the network fail) and restarted on the same port and file.

use std::{net::SocketAddr, path::PathBuf};

use doorstep_server::{
    AppState, now_ms,
    store::{Compound, Device, Placement, Store},
};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

pub struct TestServer {
    pub url: String,
    addr: SocketAddr,
    store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    data: TempDir,
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
        let store = open_store(&data).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Self {
            url: format!("http://{addr}"),
            addr,
            store,
            stop: None,
            task: None,
            data,
        };
        server.serve(listener);
        server
    }

    /// Adds a compound (what `doorstep-server compound create` does).
    pub async fn create_compound(&self, id: &str, name: &str) {
        self.store
            .create_compound(
                &Compound {
                    id: id.parse().unwrap(),
                    name: name.into(),
                },
                now_ms(),
            )
            .await
            .unwrap();
    }

    /// Adds a district, and compounds in it (`doorstep-server district
    /// create`, `compound create --district --street`).
    pub async fn create_district(
        &self,
        id: &str,
        name: &str,
        compounds: &[(&str, &str, Option<&str>)],
    ) {
        let district = doorstep_core::district::DistrictSummary {
            id: id.parse().unwrap(),
            name: name.into(),
        };
        self.store
            .create_district(&district, now_ms())
            .await
            .unwrap();
        for (compound, name, street) in compounds {
            let placement = Placement {
                district: Some(district.id.clone()),
                street: street.map(str::to_owned),
            };
            let compound = Compound {
                id: compound.parse().unwrap(),
                name: (*name).into(),
            };
            self.store
                .create_compound_in(&compound, &placement, now_ms())
                .await
                .unwrap();
        }
    }

    /// A fresh single-use invite code for an official of `district`, as
    /// `doorstep-server district invite` makes it.
    pub async fn official_invite(&self, district: &str) -> String {
        let (_, code) = self
            .store
            .create_official_invite(&district.parse().unwrap(), 1, 1, now_ms())
            .await
            .unwrap();
        code
    }

    /// A fresh single-use invite code for `role` (and a volunteer's `team`),
    /// as a coordinator or the operator's CLI would make it.
    pub async fn invite(
        &self,
        compound: &str,
        role: doorstep_core::access::Role,
        team: Option<&str>,
    ) -> String {
        let request = doorstep_core::api::InviteRequest {
            role,
            team: team.map(|t| t.parse().unwrap()),
            uses: 1,
            hours: 1,
            key_persons: false,
        };
        let (_, code) = self
            .store
            .create_invite(&compound.parse().unwrap(), &request, now_ms())
            .await
            .unwrap();
        code
    }

    /// Turns residents' help requests on or off in `compound`, as its
    /// coordinator does under 账号.
    pub async fn set_help_requests(&self, compound: &str, on: bool) {
        assert!(
            self.store
                .set_help_requests(&compound.parse().unwrap(), on)
                .await
                .unwrap()
        );
    }

    /// Records edits as one phone would push them (a fixed test client, as
    /// the operator: a coordinator of the edits' compound).
    pub async fn push(&self, mutations: Vec<doorstep_core::mutation::Mutation>) {
        use doorstep_core::{
            ids::ClientId,
            sync::{PushedMutation, SyncRequest},
        };
        let Some(compound) = mutations.first().map(|m| m.compound().clone()) else {
            return;
        };
        let device = Device::operator(compound);
        let scope = self.store.scope_of(&device).await.unwrap();
        let client = ClientId::from_u128(0xD00D);
        let first = self.store.last_mid(&client).await.unwrap() + 1;
        let request = SyncRequest {
            client_id: client,
            schema_version: doorstep_core::sync::SCHEMA_VERSION,
            mutations: PushedMutation::numbered(client, first, now_ms(), mutations),
            pull: None,
        };
        request.check(now_ms()).unwrap();
        let outcome = self
            .store
            .push(&device, &scope, &request, now_ms())
            .await
            .unwrap();
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A new device's bearer token for `role` in `compound`, as signing in
    /// with an invite code gives it.
    pub async fn token(&self, compound: &str, role: doorstep_core::access::Role) -> String {
        let (_, token) = self
            .store
            .enroll(&compound.parse().unwrap(), role, None, false)
            .await
            .unwrap();
        token
    }

    /// GETs a path over plain HTTP/1.1 as a coordinator of `compound` and
    /// returns the body (what a browser download would save).
    pub async fn download(&self, compound: &str, path: &str) -> Vec<u8> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let token = self
            .token(compound, doorstep_core::access::Role::Coordinator)
            .await;
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP response");
        let head = String::from_utf8_lossy(&response[..split]).to_string();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            !head.to_lowercase().contains("transfer-encoding: chunked"),
            "expected a sized body: {head}"
        );
        response[split + 4..].to_vec()
    }

    /// The server's records of one collection in a compound.
    pub async fn records(
        &self,
        compound: &str,
        collection: doorstep_core::schema::Collection,
    ) -> Vec<doorstep_core::record::Record> {
        self.store
            .records_of(&compound.parse().unwrap(), collection)
            .await
            .unwrap()
    }

    /// Closes the database under the running server: pages still load,
    /// but nothing can be read (a database that is down).
    pub async fn close_database(&self) {
        self.store.close().await;
    }

    /// Stops accepting connections and closes the database, like a crash
    /// of the machine's network from the phones' side.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            // The browser may hold keep-alive connections open; don't wait forever.
            if let Ok(result) = tokio::time::timeout(std::time::Duration::from_secs(5), task).await
            {
                result.unwrap().unwrap();
            }
        }
        self.store.close().await;
    }

    /// Starts again on the same address and database file.
    pub async fn restart(&mut self) {
        self.store = open_store(&self.data).await;
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(self.store.clone(), dist_dir());
        self.task = Some(tokio::spawn(doorstep_server::serve(
            listener,
            state,
            async {
                stopped.await.ok();
            },
        )));
        self.stop = Some(stop);
    }
}

async fn open_store(data: &TempDir) -> Store {
    let url = format!("sqlite://{}", data.path().join("doorstep.sqlite").display());
    Store::open(&url).await.expect("open the SQLite store")
}
