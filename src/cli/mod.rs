//! The metrocal command line, one file per command group (as the operator meets them in
//! `metrocal --help`): `server` (serve, migrate), `data` (generate, import, export),
//! `backup` (backup, restore), `accounts` (user, token), `audit`, `uncertainty`,
//! `traceability`, `schedule` and `certificates`. Each parses its arguments, calls the
//! services and prints; none holds a rule of its own.

mod accounts;
mod audit;
mod backup;
mod certificates;
mod data;
mod schedule;
mod server;
mod traceability;
mod uncertainty;

use crate::config::AppConfig;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "metrocal",
    version,
    about = "Calibration management for the province's register of public metrology standards"
)]
pub struct Cli {
    /// Database URL (sqlite://… or postgres://…); defaults to sqlite://data/metrocal.db
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the web application (the default).
    Serve,
    /// Create or upgrade the database schema and load the reference data.
    Migrate,
    /// Write a consistent copy of the running database to FILE (SQLite: VACUUM INTO;
    /// PostgreSQL: pg_dump). Prints what it holds: counts, certificates, audit head.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into the database (DATABASE_URL). A database that holds data is
    /// replaced only with --replace. Prints what the restored database holds.
    Restore {
        file: PathBuf,
        #[arg(long)]
        replace: bool,
    },
    /// Write a deterministic province-scale data set in the import format.
    Generate {
        /// How many standards.
        #[arg(long, default_value_t = 46_000)]
        standards: usize,
        /// Random seed: the same seed writes the same files.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// The date the data set describes (YYYY-MM-DD); default 2026-11-28.
        #[arg(long, default_value = "2026-11-28")]
        as_of: NaiveDate,
    },
    /// Import a directory of organisations.csv, standards.csv, devices.csv, instruments.csv and calibrations.csv (all or nothing).
    Import {
        /// The directory to read.
        dir: PathBuf,
    },
    /// Export the register to a directory in the import format.
    Export {
        /// The directory to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(accounts::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(accounts::TokenCommand),
    /// Check the audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Measurement uncertainty (GUM and Monte Carlo).
    #[command(subcommand)]
    Uncertainty(uncertainty::UncertaintyCommand),
    /// Traceability chains to the SI.
    #[command(subcommand)]
    Traceability(traceability::TraceabilityCommand),
    /// Calibration schedules and recall.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Issued certificates.
    #[command(subcommand)]
    Certificate(certificates::CertificateCommand),
}

/// How a report is printed.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The whole program behind `src/main.rs`: logging, the command line, the command. Not
/// generic and not async, so that everything it runs is compiled once, in the library:
/// when the binary called `rocket::execute(run(cli))` itself, the release build compiled
/// every future the commands reach a second time for the binary (66 s of the build).
pub fn main() -> std::process::ExitCode {
    crate::tune_allocator();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn,rocket=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match rocket::execute(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("metrocal: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the command the operator gave (`serve` when none).
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command.as_ref().unwrap_or(&Command::Serve) {
        Command::Serve => server::serve(&cli).await,
        Command::Migrate => server::migrate(&cli).await,
        Command::Backup { out } => backup::backup(&cli, out).await,
        Command::Restore { file, replace } => backup::restore(&cli, file, *replace).await,
        Command::Generate {
            standards,
            seed,
            out,
            as_of,
        } => data::generate(*standards, *seed, out, *as_of),
        Command::Import { dir } => data::import(&cli, dir).await,
        Command::Export { out } => data::export(&cli, out).await,
        Command::User(c) => accounts::users(&cli, c).await,
        Command::Token(c) => accounts::tokens(&cli, c).await,
        Command::Audit(c) => audit::run(&cli, c).await,
        Command::Uncertainty(c) => uncertainty::run(&cli, c).await,
        Command::Traceability(c) => traceability::run(&cli, c).await,
        Command::Schedule(c) => schedule::run(&cli, c).await,
        Command::Certificate(c) => certificates::run(&cli, c).await,
    }
}

/// The configuration (METROCAL_* and Rocket.toml), with the database the command line names.
fn config(cli: &Cli) -> Result<AppConfig, String> {
    let mut config = AppConfig::load().map_err(|e| format!("configuration: {e}"))?;
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    Ok(config)
}

/// Today as the server would take it: the configured day, or the date in Asia/Shanghai.
fn today(cli: &Cli) -> Result<NaiveDate, String> {
    Ok(crate::web::Clock(config(cli)?.today).today())
}

/// Opens and migrates the database, without the demo data.
async fn open(cli: &Cli) -> Result<sea_orm::DatabaseConnection, String> {
    let mut config = config(cli)?;
    config.demo_data = false;
    Ok(crate::setup_database(&config).await?)
}

/// A service error with every field named, for the terminal.
fn field_errors(e: crate::service::Error) -> String {
    let fields = e.field_messages();
    if fields.is_empty() {
        e.to_string()
    } else {
        fields
            .iter()
            .map(|(k, v)| format!("--{}: {v}", k.replace('_', "-")))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
