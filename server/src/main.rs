//! `doorstep-server`: parses flags, then serves (the default) or runs an
//! operator command against the store.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};
use doorstep_core::{
    access::Role, api::InviteRequest, district::DistrictSummary, ids::DistrictId, invite,
};
use doorstep_server::{
    AppState,
    accounts::new_invite,
    now_ms, roster, serve,
    store::{Compound, Device, Placement, Store},
};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    version,
    about = "Doorstep: offline-first door-knock and vegetable-truck server"
)]
struct Cli {
    /// Database location; the default is an embedded SQLite file.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = doorstep_server::store::DEFAULT_DATABASE_URL)]
    database_url: String,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DOORSTEP_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The Trunk build output to serve as the app.
    #[arg(long, env = "DOORSTEP_DIST", default_value = "dist")]
    dist: PathBuf,
    /// The app's address as residents reach it, for QR posters (e.g.
    /// https://doorstep.example.org). Default: the address of each request.
    #[arg(long, env = "DOORSTEP_PUBLIC_URL")]
    public_url: Option<String>,
    /// Count invite-code attempts by the last `X-Forwarded-For` address.
    /// Only behind a reverse proxy that sets it: otherwise clients could
    /// pick their own address.
    #[arg(long, env = "DOORSTEP_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Another origin allowed to call the API (CORS), e.g.
    /// https://dashboard.example.org; repeatable. Default: same origin only.
    #[arg(
        long = "cors-origin",
        env = "DOORSTEP_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Manage compounds (小区), the tenants of this server.
    #[command(subcommand)]
    Compound(CompoundCommand),
    /// Invite codes, e.g. a compound's first coordinator.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Districts (区/街道): compounds grouped for their officials' totals.
    #[command(subcommand)]
    District(DistrictCommand),
    /// Import households from an .xlsx, .xls or .csv roster (all rows or none).
    ImportRoster {
        /// The compound to import into.
        #[arg(long)]
        compound: String,
        /// Check the file and list what would be created, storing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Map another column header to a household field, e.g. `--map 房间=door`.
        #[arg(long = "map")]
        mappings: Vec<String>,
        /// Also record the proposed care-ledger entries (独居老人, 残疾…).
        #[arg(long)]
        accept_care: bool,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum CompoundCommand {
    /// Create a compound.
    Create {
        /// Permanent id: letters, digits, - and _ (e.g. yongan-28).
        #[arg(long)]
        id: String,
        /// Display name (e.g. 永安社区28号院).
        #[arg(long)]
        name: String,
        /// The district it belongs to (its id; create it first).
        #[arg(long)]
        district: Option<String>,
        /// The street (街道) within the district, e.g. 珞南街道.
        #[arg(long, requires = "district")]
        street: Option<String>,
    },
    /// List compounds.
    List,
}

#[derive(Subcommand)]
enum DistrictCommand {
    /// Create a district.
    Create {
        /// Permanent id: letters, digits, - and _ (e.g. hongshan).
        #[arg(long)]
        id: String,
        /// Display name (e.g. 洪山区).
        #[arg(long)]
        name: String,
    },
    /// List districts.
    List,
    /// Create an invite code for a district official and print it with its
    /// join link.
    Invite {
        #[arg(long)]
        district: String,
        /// How many phones may redeem it.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// Hours until it expires.
        #[arg(long, default_value_t = 72)]
        hours: u32,
        /// Where phones reach the server, for the join link.
        #[arg(long, env = "DOORSTEP_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Revoke the officials' devices of a district that signed in with
    /// this label (e.g. a lost phone).
    Revoke {
        #[arg(long)]
        district: String,
        #[arg(long)]
        label: String,
    },
}

#[derive(Subcommand)]
enum InviteCommand {
    /// Create an invite code and print it with its join link.
    Create {
        #[arg(long)]
        compound: String,
        /// coordinator, volunteer or stall.
        #[arg(long, default_value = "coordinator")]
        role: String,
        /// A volunteer's team (its record id).
        #[arg(long)]
        team: Option<String>,
        /// How many phones may redeem it.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// Hours until it expires.
        #[arg(long, default_value_t = 72)]
        hours: u32,
        /// Where phones reach the server, for the join link: the same
        /// public URL setting `serve` uses for QR posters.
        #[arg(long, env = "DOORSTEP_PUBLIC_URL")]
        public_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let store = Store::open(&cli.database_url).await?;
    match cli.command {
        None => run_server(store, cli.serve, &cli.database_url).await,
        Some(Command::Compound(CompoundCommand::Create {
            id,
            name,
            district,
            street,
        })) => {
            let id = id.parse().map_err(anyhow::Error::msg)?;
            let placement = Placement {
                district: district
                    .map(|d| d.parse())
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
                street: street
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
            };
            store
                .create_compound_in(&Compound { id, name }, &placement, now_ms())
                .await?;
            println!("created");
            Ok(())
        }
        Some(Command::District(command)) => district_command(&store, command).await,
        Some(Command::Invite(InviteCommand::Create {
            compound,
            role,
            team,
            uses,
            hours,
            public_url,
        })) => {
            let compound = compound.parse().map_err(anyhow::Error::msg)?;
            if !store.compound_exists(&compound).await? {
                anyhow::bail!("no compound {compound}: create it first");
            }
            let request = InviteRequest {
                role: Role::from_name(&role).ok_or_else(|| {
                    anyhow::anyhow!("role is coordinator, volunteer or stall, not {role:?}")
                })?,
                team: team
                    .map(|t| t.parse())
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
                uses,
                hours,
                key_persons: false,
            };
            let (base, note) = join_base(public_url.as_deref());
            let invite = new_invite(&store, &compound, &request, &base, now_ms())
                .await
                .map_err(|err| anyhow::anyhow!("{}", err.body.message))?;
            println!("code: {}", invite.code);
            println!("join: {}", invite.join_url);
            println!("{note}");
            println!(
                "{} use(s), expires in {hours} h; the code is shown only now",
                invite.invite.uses_left
            );
            Ok(())
        }
        Some(Command::Compound(CompoundCommand::List)) => {
            for compound in store.compounds().await? {
                println!("{}\t{}", compound.id, compound.name);
            }
            Ok(())
        }
        Some(Command::ImportRoster {
            compound,
            dry_run,
            mappings,
            accept_care,
            file,
        }) => {
            let compound = compound.parse().map_err(anyhow::Error::msg)?;
            let mapping = roster::parse_mapping(mappings.iter().map(String::as_str))
                .map_err(anyhow::Error::msg)?;
            let bytes = std::fs::read(&file)?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let how = roster::Import {
                dry_run,
                accept_care,
            };
            let report = roster::import(
                &store,
                &Device::operator(compound),
                &name,
                &bytes,
                &mapping,
                how,
                now_ms(),
            )
            .await?;
            for line in roster::report_lines(&report) {
                println!("{line}");
            }
            if !report.errors.is_empty() {
                anyhow::bail!(
                    "有 {n} 行出错，未导入任何一行 / {n} bad rows: nothing imported",
                    n = report.errors.len()
                );
            }
            if dry_run {
                println!(
                    "可导入 {n} 户，关爱对象 {c} 条（--accept-care 一并导入）/ {n} households \
                     would be imported, {c} care proposals (--accept-care records them)",
                    n = report.rows.len(),
                    c = report.care.len()
                );
            } else {
                println!(
                    "已导入 {} 户，关爱对象 {} 条 / households imported, care entries recorded",
                    report.imported, report.care_imported
                );
            }
            Ok(())
        }
    }
}

async fn district_command(store: &Store, command: DistrictCommand) -> anyhow::Result<()> {
    let parse =
        |id: String| -> anyhow::Result<DistrictId> { id.parse().map_err(anyhow::Error::msg) };
    match command {
        DistrictCommand::Create { id, name } => {
            let id = parse(id)?;
            store
                .create_district(&DistrictSummary { id, name }, now_ms())
                .await?;
            println!("created");
        }
        DistrictCommand::List => {
            for district in store.districts().await? {
                println!("{}\t{}", district.id, district.name);
            }
        }
        DistrictCommand::Invite {
            district,
            uses,
            hours,
            public_url,
        } => {
            let district = parse(district)?;
            if store.district(&district).await?.is_none() {
                anyhow::bail!("no district {district}: create it first");
            }
            if !(1..=invite::MAX_USES).contains(&uses) || !(1..=invite::MAX_HOURS).contains(&hours)
            {
                anyhow::bail!(
                    "--uses is 1 to {} and --hours 1 to {}",
                    invite::MAX_USES,
                    invite::MAX_HOURS
                );
            }
            let (_, code) = store
                .create_official_invite(&district, uses, hours, now_ms())
                .await?;
            let (base, note) = join_base(public_url.as_deref());
            println!("code: {code}");
            println!("join: {base}/join#code={code}");
            println!("{note}");
            println!("{uses} use(s), expires in {hours} h; the code is shown only now");
        }
        DistrictCommand::Revoke { district, label } => {
            let revoked = store
                .revoke_officials(&parse(district)?, &label, now_ms())
                .await?;
            println!("revoked {revoked} device(s)");
        }
    }
    Ok(())
}

async fn run_server(store: Store, args: ServeArgs, database_url: &str) -> anyhow::Result<()> {
    if !args.dist.join("index.html").is_file() {
        tracing::warn!(dist = %args.dist.display(), "no index.html: build the app with `cargo xtask run`");
    }
    let listener = TcpListener::bind(args.addr).await?;
    let url = format!("http://{}/", listener.local_addr()?);
    let storage = store.storage_info().await?;
    tracing::info!(%url, database = %without_password(database_url), engine = %storage.engine_version, version = env!("CARGO_PKG_VERSION"), "serving");
    println!("Doorstep is running. Open {url} (Ctrl-C stops it)");
    serve(
        listener,
        AppState {
            public_url: args.public_url,
            trust_forwarded_for: args.trust_forwarded_for,
            cors_origins: args
                .cors_origins
                .iter()
                .map(|origin| origin.parse())
                .collect::<Result<_, _>>()?,
            ..AppState::new(store.clone(), args.dist)
        },
        shutdown_signal(),
    )
    .await?;
    store.close().await;
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

/// The join link's base, and a line saying where it came from: the public
/// URL setting, or (unset) this machine's own address, which phones cannot
/// reach.
fn join_base(public_url: Option<&str>) -> (String, String) {
    match public_url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => (
            url.trim_end_matches('/').to_owned(),
            "the join link uses the public URL setting (--public-url / DOORSTEP_PUBLIC_URL)"
                .to_owned(),
        ),
        None => (
            "http://127.0.0.1:8080".to_owned(),
            "the public URL setting (--public-url / DOORSTEP_PUBLIC_URL) is not set: the join \
             link points at this machine, which phones cannot reach; set it to the address \
             phones use"
                .to_owned(),
        ),
    }
}

/// The database URL as the log may show it: a PostgreSQL password in
/// `scheme://user:password@host` is replaced, since logs travel further than
/// the server's environment.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{join_base, without_password};

    #[test]
    fn the_logged_database_url_carries_no_password() {
        assert_eq!(
            without_password("postgres://doorstep:s3cr@t@db.internal:5432/doorstep"),
            "postgres://doorstep:***@db.internal:5432/doorstep"
        );
        assert_eq!(
            without_password("postgres://doorstep@db/doorstep"),
            "postgres://doorstep@db/doorstep"
        );
        assert_eq!(
            without_password("sqlite://data/doorstep.sqlite"),
            "sqlite://data/doorstep.sqlite"
        );
    }

    #[test]
    fn the_join_link_follows_the_public_url_setting_and_says_so() {
        let (base, note) = join_base(Some("https://doorstep.example.org/"));
        assert_eq!(base, "https://doorstep.example.org");
        assert!(note.contains("DOORSTEP_PUBLIC_URL"));
        let (base, note) = join_base(None);
        assert_eq!(base, "http://127.0.0.1:8080");
        assert!(note.contains("not set"), "{note}");
    }
}
