//! `doorstep-server`: parses flags, opens the store, serves until Ctrl-C.

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;
use doorstep_server::{AppState, serve, store::Store};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    version,
    about = "Doorstep: offline-first door-knock and vegetable-truck server"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "DOORSTEP_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The Trunk build output to serve as the app.
    #[arg(long, env = "DOORSTEP_DIST", default_value = "dist")]
    dist: PathBuf,
    /// Database location; the default is an embedded SQLite file.
    #[arg(long, env = "DATABASE_URL", default_value = doorstep_server::store::DEFAULT_DATABASE_URL)]
    database_url: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if !args.dist.join("index.html").is_file() {
        tracing::warn!(dist = %args.dist.display(), "no index.html: build the app with `cargo xtask run`");
    }
    let store = Store::open(&args.database_url).await?;
    let listener = TcpListener::bind(args.addr).await?;
    let url = format!("http://{}/", listener.local_addr()?);
    tracing::info!(%url, database = %args.database_url, "serving");
    println!("Doorstep is running. Open {url} (Ctrl-C stops it)");
    serve(
        listener,
        AppState {
            store,
            dist: args.dist,
        },
        shutdown_signal(),
    )
    .await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}
