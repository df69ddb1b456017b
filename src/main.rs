//! The metrocal command line: parses arguments, calls the services, prints.

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use metrocal::config::AppConfig;
use metrocal::service::generate::{generate, Spec};
use metrocal::service::transfer::{self, Bundle, Progress};
use metrocal::service::Actor;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// mimalloc: the bulk import allocates and frees millions of small strings beside
/// large statement buffers, a pattern on which glibc malloc spends most of its time
/// consolidating free lists (measured with perf; docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "metrocal",
    version,
    about = "Calibration management for the province's register of public metrology standards"
)]
struct Cli {
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
    /// Import a directory of organisations.csv, standards.csv and devices.csv (all or nothing).
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
}

/// Progress bars on a terminal; nothing when output goes to a file or a pipe.
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Bar { bar }
    }
}

impl Progress for Bar {
    fn stage(&self, label: &str, total: u64) {
        self.bar.set_message(label.to_owned());
        self.bar.set_length(total);
        self.bar.set_position(0);
    }
    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn config(cli: &Cli) -> Result<AppConfig, String> {
    let mut config = AppConfig::load().map_err(|e| format!("configuration: {e}"))?;
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    Ok(config)
}

async fn run(cli: Cli) -> Result<(), String> {
    let operator = Actor::Operator { via: "cli" };
    match cli.command.as_ref().unwrap_or(&Command::Serve) {
        Command::Serve => {
            let config = config(&cli)?;
            let rocket = metrocal::rocket(config).map_err(|e| format!("cannot prepare the data directory: {e}"))?;
            rocket.launch().await.map_err(|e| e.to_string())?;
        }
        Command::Migrate => {
            let mut config = config(&cli)?;
            config.demo_data = false;
            metrocal::setup_database(&config).await?;
            println!("database {} is up to date", metrocal::redact(&config.database_url));
        }
        Command::Generate {
            standards,
            seed,
            out,
            as_of,
        } => {
            let started = Instant::now();
            let spec = Spec {
                standards: *standards,
                seed: *seed,
                as_of: *as_of,
            };
            let (orgs, stds, devices) =
                generate(&spec, out, &Bar::new()).map_err(|e| format!("{}: {e}", out.display()))?;
            println!(
                "wrote {orgs} organisations, {stds} standards and {devices} devices to {} in {:.2} s",
                out.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Import { dir } => {
            let mut config = config(&cli)?;
            config.demo_data = false;
            let db = metrocal::setup_database(&config).await?;
            let started = Instant::now();
            let bundle = Bundle::from_dir(dir).map_err(|e| e.to_string())?;
            let summary = transfer::import(&operator, &db, &bundle, chrono::Utc::now(), &Bar::new())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "imported {} organisations, {} standards and {} devices in {:.2} s",
                summary.organisations,
                summary.standards,
                summary.devices,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Export { out } => {
            let mut config = config(&cli)?;
            config.demo_data = false;
            let db = metrocal::setup_database(&config).await?;
            let summary = transfer::export(&operator, &db, out, &Bar::new())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "exported {} organisations, {} standards and {} devices to {}",
                summary.organisations,
                summary.standards,
                summary.devices,
                out.display()
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn,rocket=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = rocket::execute(run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("metrocal: {e}");
            ExitCode::FAILURE
        }
    }
}
