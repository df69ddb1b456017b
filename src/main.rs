//! The metrocal command line: parses arguments, calls the services, prints.

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use metrocal::config::AppConfig;
use metrocal::domain::audit::Head;
use metrocal::domain::uncertainty;
use metrocal::service::generate::{generate, Spec};
use metrocal::service::transfer::{self, Bundle, Progress};
use metrocal::service::{accounts, audit, schedule, traceability, Actor};
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
    /// Write a consistent copy of the running database to FILE (SQLite: VACUUM INTO;
    /// PostgreSQL: pg_dump). Prints what it holds: counts, certificates, audit head.
    Backup {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a backup into the database (DATABASE_URL). A database that holds data is
    /// replaced only with --replace. Prints what the restored database holds.
    Restore {
        file: std::path::PathBuf,
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
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Measurement uncertainty (GUM and Monte Carlo).
    #[command(subcommand)]
    Uncertainty(UncertaintyCommand),
    /// Traceability chains to the SI.
    #[command(subcommand)]
    Traceability(TraceabilityCommand),
    /// Calibration schedules and recall.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Issued certificates.
    #[command(subcommand)]
    Certificate(CertificateCommand),
}

#[derive(Subcommand)]
enum CertificateCommand {
    /// Checks a certificate's PDF or DCC file against the register: exits 0 only when it
    /// is byte for byte the file issued and the laboratory's signature holds.
    Verify {
        file: std::path::PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Writes a certificate's issued files (DCC, and PDF when there is one) into DIR,
    /// byte for byte as served.
    Export {
        number: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Retires a laboratory's signing key and makes a new one; certificates signed with
    /// the old key still verify. Prints the new key's id.
    RotateKey {
        /// The laboratory's unified social credit code.
        #[arg(long)]
        lab: String,
    },
    /// Withdraws a certificate (ISO/IEC 17025 §7.8.8): it stays downloadable, marked
    /// withdrawn with the reason.
    Withdraw {
        number: String,
        #[arg(long)]
        reason: String,
    },
    /// Amends a certificate: issues a new one, revision n + 1, with the changes of FILE
    /// (a JSON Merge Patch over the amendable parts of its content) and supersedes it.
    /// Prints the new certificate's number.
    Amend {
        number: String,
        #[arg(long)]
        reason: String,
        /// A JSON file, e.g. {"item": {"serial": "GB-100-0042A"}}.
        #[arg(long)]
        changes: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum ScheduleCommand {
    /// The daily job: recompute every due date and status, and record the notifications
    /// (a second run on the same day sends nothing twice).
    Run {
        /// The day to run for (YYYY-MM-DD); default today in China Standard Time.
        #[arg(long)]
        date: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// The automatic planner: proposes a laboratory and a week for every item falling
    /// due in the next N weeks, within each laboratory's capacity and holidays, and lists
    /// what cannot be met and why. It proposes only; laboratories accept their share in
    /// the app (/schedule/plan).
    Plan {
        /// How many weeks to plan, from the week holding the start date.
        #[arg(long)]
        weeks: u32,
        /// The first day (YYYY-MM-DD); default today in China Standard Time.
        #[arg(long)]
        date: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum TraceabilityCommand {
    /// List every broken chain in the province, grouped by cause, city and owner.
    Audit {
        /// The date to judge the chains on (YYYY-MM-DD); default today.
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// A test-uncertainty ratio below this gives a warning.
        #[arg(long, default_value_t = traceability::DEFAULT_TUR_LIMIT)]
        tur_limit: f64,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Everything calibrated since a date with a suspect standard or device, or with
    /// anything downstream of it.
    Impact {
        /// standard or device.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        id: i32,
        /// Suspect from this date (YYYY-MM-DD).
        #[arg(long)]
        since: String,
        /// The suspect's as-found error with its sign and unit ("-0.3 µm").
        #[arg(long)]
        error: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

#[derive(Subcommand)]
enum UncertaintyCommand {
    /// Evaluate a problem (docs/uncertainty.md) and print the result as JSON.
    Evaluate {
        /// The problem as JSON, or - for standard input.
        file: String,
        /// Lift the limits a server applies to one evaluation (model size, trials, work,
        /// memory): at the command line the operator's own machine is at stake.
        #[arg(long)]
        no_limits: bool,
        /// Raise (or lower) the work one evaluation may do: trials × (operations + inputs).
        #[arg(long, value_name = "UNITS")]
        max_work: Option<u64>,
        /// Raise (or lower) the memory one evaluation may take, in MiB.
        #[arg(long, value_name = "MIB")]
        max_memory_mib: Option<u64>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user to an organisation with one or more roles.
    Add {
        /// The login name.
        #[arg(long)]
        email: String,
        /// The person's name.
        #[arg(long)]
        name: String,
        /// The organisation's unified social credit code (or id).
        #[arg(long)]
        org: String,
        /// regulator, system_admin, institute_admin, scheduler, technician, reviewer, approver, enterprise.
        #[arg(long = "role", required = true, num_args = 1.., value_delimiter = ',')]
        roles: Vec<String>,
        /// Read the password from the first line of standard input. Without it a
        /// one-time password is generated, printed once, and must be changed at first login.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: their sessions end and their tokens stop working.
    Disable {
        /// The user's e-mail address.
        email: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it (the only time it is shown).
    Create {
        #[arg(long)]
        email: String,
        /// What the token is for, e.g. "LIMS export".
        #[arg(long, default_value = "")]
        name: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and report the first broken link.
    Verify {
        /// A head printed earlier by `metrocal audit head` (SEQ:SHA256) and kept outside
        /// the database: proves that no events were cut off the end.
        #[arg(long)]
        head: Option<String>,
    },
    /// Print the newest event's sequence number and hash, to keep outside the database.
    Head,
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

fn print_fingerprint(f: &metrocal::service::backup::Fingerprint) {
    for (table, n) in &f.counts {
        println!("{table:<22}{n:>10}");
    }
    println!("certificates sha256   {}", f.certificates_sha256);
    println!("audit head            {}", f.audit_head);
}

fn config(cli: &Cli) -> Result<AppConfig, String> {
    let mut config = AppConfig::load().map_err(|e| format!("configuration: {e}"))?;
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    Ok(config)
}

async fn run(cli: Cli) -> Result<(), String> {
    let operator = Actor::system("cli");
    match cli.command.as_ref().unwrap_or(&Command::Serve) {
        Command::Serve => {
            let config = config(&cli)?;
            let rocket = metrocal::rocket(config).map_err(|e| format!("cannot prepare the data directory: {e}"))?;
            rocket
                .attach(metrocal::web::schedule::daily_job())
                .launch()
                .await
                .map_err(|e| e.to_string())?;
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
                "imported {} organisations, {} standards, {} devices, {} instruments and {} calibrations in {:.2} s",
                summary.organisations,
                summary.standards,
                summary.devices,
                summary.instruments,
                summary.calibrations,
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
        Command::User(UserCommand::Add {
            email,
            name,
            org,
            roles,
            password_stdin,
        }) => {
            let db = open(&cli).await?;
            let (password, one_time) = if *password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (accounts::one_time_password(), true)
            };
            let input = accounts::NewUser {
                email: email.clone(),
                name: name.clone(),
                organisation: org.clone(),
                roles: roles.join(","),
                password: password.clone(),
                one_time,
            };
            let user = accounts::add_user(&Actor::system("cli user add"), &db, &input, chrono::Utc::now())
                .await
                .map_err(field_errors)?;
            println!("added user {} ({}) with roles {}", user.email, user.id, user.roles);
            if one_time {
                println!("one-time password (shown once; to be changed at first login): {password}");
            }
        }
        Command::User(UserCommand::Disable { email }) => {
            let db = open(&cli).await?;
            accounts::disable_user(&Actor::system("cli user disable"), &db, email, chrono::Utc::now())
                .await
                .map_err(field_errors)?;
            println!("disabled {email}: its sessions are ended and its tokens no longer work");
        }
        Command::Token(TokenCommand::Create { email, name }) => {
            let db = open(&cli).await?;
            let (secret, token) = accounts::create_token(
                &Actor::system("cli token create"),
                &db,
                Some(email),
                name,
                None,
                chrono::Utc::now(),
            )
            .await
            .map_err(field_errors)?;
            eprintln!(
                "token {} ({}) for {email}; it is shown only this once:",
                token.id, token.name
            );
            println!("{secret}");
        }
        Command::Uncertainty(UncertaintyCommand::Evaluate {
            file,
            no_limits,
            max_work,
            max_memory_mib,
        }) => {
            let text = if file == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .map_err(|e| format!("cannot read standard input: {e}"))?;
                s
            } else {
                std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?
            };
            let field = |e: metrocal::domain::Error| format!("{}: {}", e.field, e.message);
            let problem = uncertainty::problem::parse_problem(&text).map_err(field)?;
            let mut limits = if *no_limits {
                uncertainty::Limits::none()
            } else {
                uncertainty::Limits::default()
            };
            if let Some(w) = max_work {
                limits.max_work = *w;
            }
            if let Some(m) = max_memory_mib {
                limits.max_memory_bytes = m.saturating_mul(1 << 20);
            }
            let stop = uncertainty::Stop::new(false);
            let result = uncertainty::evaluate_limited(&problem, 0, &limits, &stop).map_err(field)?;
            println!("{}", serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?);
        }
        Command::Traceability(TraceabilityCommand::Audit {
            as_of,
            tur_limit,
            format,
        }) => {
            let db = open(&cli).await?;
            let as_of = as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let report = traceability::audit(&operator, &db, &Default::default(), as_of, *tur_limit)
                .await
                .map_err(field_errors)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?),
                Format::Text => print!("{}", audit_text(&report)),
            }
        }
        Command::Traceability(TraceabilityCommand::Impact {
            kind,
            id,
            since,
            error,
            format,
        }) => {
            let db = open(&cli).await?;
            let report = traceability::impact(&operator, &db, &Default::default(), kind, *id, since, error.as_deref())
                .await
                .map_err(field_errors)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?),
                Format::Text => print!("{}", traceability::impact_csv(&report).map_err(|e| e.to_string())?),
            }
        }
        Command::Schedule(ScheduleCommand::Run { date, format }) => {
            let db = open(&cli).await?;
            let today = date.unwrap_or_else(|| (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive());
            let started = Instant::now();
            let s = schedule::run_daily(&operator, &db, today, chrono::Utc::now())
                .await
                .map_err(field_errors)?;
            let mailed = match metrocal::service::mail::Mailer::from_config(&config(&cli)?)? {
                Some(m) => Some(
                    metrocal::service::mail::deliver(&db, &m, chrono::Utc::now())
                        .await
                        .map_err(|e| e.to_string())?,
                ),
                None => None,
            };
            if let Some(m) = mailed {
                eprintln!(
                    "e-mailed {} notifications ({} failed, kept for the next run)",
                    m.sent, m.failed
                );
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?),
                Format::Text => println!(
                    "schedule run for {}: {} items ({} changed, {} removed): {} in date, {} due soon, {} overdue, \
                     {} out of service; {} renewal reminders, {} overdue checks; {} notifications{} in {:.2} s",
                    s.date,
                    s.items,
                    s.changed,
                    s.removed,
                    s.in_date,
                    s.due_soon,
                    s.overdue,
                    s.out_of_service,
                    s.reminders.renewal,
                    s.reminders.checks_overdue,
                    s.notifications,
                    if s.repeated {
                        " (run again today: none sent twice)"
                    } else {
                        ""
                    },
                    started.elapsed().as_secs_f64()
                ),
            }
        }
        Command::Schedule(ScheduleCommand::Plan { weeks, date, format }) => {
            let db = open(&cli).await?;
            let start = date.unwrap_or_else(|| (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive());
            let started = Instant::now();
            let plan = metrocal::service::planner::plan(&operator, &db, &Default::default(), start, *weeks)
                .await
                .map_err(field_errors)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(&*plan).map_err(|e| e.to_string())?),
                Format::Text => print!("{}", plan_text(&plan, started.elapsed().as_secs_f64())),
            }
        }
        Command::Certificate(CertificateCommand::Verify { file, format }) => {
            let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let db = open(&cli).await?;
            let v = metrocal::service::certificates::verify_file(&db, &bytes)
                .await
                .map_err(field_errors)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?),
                Format::Text => {
                    println!("{}: {}", if v.genuine { "GENUINE" } else { "NOT GENUINE" }, v.reason);
                    if let Some(n) = &v.number {
                        println!(
                            "certificate {n} ({}), revision {}, {}{}",
                            v.kind.as_deref().unwrap_or(""),
                            v.revision.unwrap_or(0),
                            v.status.as_deref().unwrap_or(""),
                            v.superseded_by
                                .as_ref()
                                .map(|s| format!(", superseded by {s}"))
                                .unwrap_or_default()
                        );
                        println!("issued by {}", v.issuer.as_deref().unwrap_or(""));
                    }
                }
            }
            if !v.genuine {
                return Err("the file is not a genuine certificate".into());
            }
        }
        Command::Certificate(CertificateCommand::Export { number, out }) => {
            let db = open(&cli).await?;
            let files = metrocal::service::certificates::files(&db, number)
                .await
                .map_err(field_errors)?;
            std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
            for (name, bytes) in files {
                let path = out.join(&name);
                std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                println!("{}", path.display());
            }
        }
        Command::Certificate(CertificateCommand::RotateKey { lab }) => {
            let config = config(&cli)?;
            let db = open(&cli).await?;
            let keys = metrocal::service::keys::KeyStore::new(&config.data_dir).with_public_url(&config.public_url);
            let org = metrocal::store::register::organisation_by_code(&db, lab.trim())
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("--lab: no organisation {lab}"))?;
            let key_id = metrocal::service::certificates::rotate_key(
                &Actor::system("cli certificate rotate-key"),
                &db,
                &keys,
                org.id,
                chrono::Utc::now(),
            )
            .await
            .map_err(field_errors)?;
            println!("{key_id}");
        }
        Command::Certificate(CertificateCommand::Withdraw { number, reason }) => {
            let db = open(&cli).await?;
            metrocal::service::certificates::withdraw(
                &Actor::system("cli certificate withdraw"),
                &db,
                number,
                reason,
                "",
                "cli",
                chrono::Utc::now(),
            )
            .await
            .map_err(field_errors)?;
            println!("{number} withdrawn");
        }
        Command::Certificate(CertificateCommand::Amend {
            number,
            reason,
            changes,
        }) => {
            let text = std::fs::read_to_string(changes).map_err(|e| format!("{}: {e}", changes.display()))?;
            let patch: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", changes.display()))?;
            let config = config(&cli)?;
            let db = open(&cli).await?;
            let keys = metrocal::service::keys::KeyStore::new(&config.data_dir).with_public_url(&config.public_url);
            let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
            let c = metrocal::service::certificates::amend(
                &Actor::system("cli certificate amend"),
                &db,
                &keys,
                number,
                reason,
                &patch,
                "",
                "cli",
                today,
                chrono::Utc::now(),
            )
            .await
            .map_err(field_errors)?;
            println!("{}", c.number);
        }
        Command::Backup { out } => {
            let config = config(&cli)?;
            let db = open(&cli).await?;
            let print = metrocal::service::backup::backup(&db, &config.database_url, out)
                .await
                .map_err(field_errors)?;
            println!("{}", out.display());
            print_fingerprint(&print);
        }
        Command::Restore { file, replace } => {
            let config = config(&cli)?;
            let print = metrocal::service::backup::restore(&config.database_url, file, *replace)
                .await
                .map_err(field_errors)?;
            println!(
                "restored {} into {}",
                file.display(),
                metrocal::redact(&config.database_url)
            );
            print_fingerprint(&print);
        }
        Command::Audit(AuditCommand::Head) => {
            let db = open(&cli).await?;
            let head = audit::head(&db).await.map_err(|e| e.to_string())?;
            println!("{head}");
        }
        Command::Audit(AuditCommand::Verify { head }) => {
            let head: Option<Head> = match head {
                Some(h) => Some(h.parse().map_err(|e| format!("--head: {e}"))?),
                None => None,
            };
            let db = open(&cli).await?;
            match audit::verify(&db, head.as_ref()).await.map_err(|e| e.to_string())? {
                Ok(v) => {
                    println!("audit trail intact: {} events, head {}", v.checked, v.head);
                    if let Some(stored) = v.stored_head_mismatch {
                        return Err(format!(
                            "the chain ends at {} but the database records the head as {stored}",
                            v.head
                        ));
                    }
                }
                Err(broken) => return Err(format!("audit trail broken: {broken}")),
            }
        }
    }
    Ok(())
}

/// The province audit for a terminal: the counts, then one line per broken chain.
fn audit_text(r: &traceability::AuditReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "traceability audit as of {}: {} chains checked, {} broken, {} with a test-uncertainty ratio below {}",
        r.as_of, r.checked, r.broken, r.low_tur, r.tur_limit
    );
    for (title, counts) in [
        ("by cause at the item's own link", &r.by_cause),
        ("by root cause (where to mend)", &r.by_root_cause),
        ("by city", &r.by_city),
        ("by owner", &r.by_owner),
    ] {
        let _ = writeln!(out, "\n{title}:");
        for c in counts {
            let _ = writeln!(out, "  {:>7}  {}", c.count, c.key);
        }
    }
    let _ = writeln!(out, "\nbroken chains:");
    for c in &r.chains {
        let _ = writeln!(
            out,
            "  {}:{}\t{}\t{}\t{}\t{}\troot: {} {}",
            c.item.kind,
            c.item.id,
            c.item.label,
            c.item.owner,
            c.item.city,
            c.causes.join(","),
            c.root_item
                .as_ref()
                .map_or(String::new(), |i| format!("{}:{}", i.kind, i.id)),
            c.root_cause.unwrap_or("")
        );
    }
    out
}

/// Opens and migrates the database, without the demo data.
async fn open(cli: &Cli) -> Result<sea_orm::DatabaseConnection, String> {
    let mut config = config(cli)?;
    config.demo_data = false;
    Ok(metrocal::setup_database(&config).await?)
}

/// A service error with every field named, for the terminal.
fn field_errors(e: metrocal::service::Error) -> String {
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

fn main() -> ExitCode {
    metrocal::tune_allocator();
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

/// The planner's proposal for a terminal: the totals, the load week by week, the busiest
/// laboratories, and every item whose due date cannot be met.
fn plan_text(p: &metrocal::service::planner::Plan, seconds: f64) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan {} to {} ({} weeks): {} items; {} on time, {} late, {} cannot be placed ({:.2} s)",
        p.start,
        p.end,
        p.weeks.len(),
        p.items,
        p.on_time,
        p.late,
        p.unplaced,
        seconds
    );
    let r = &p.reasons;
    let _ = writeln!(
        out,
        "not met: {} already overdue, {} capacity full before the due date, {} no working day left before the due date, \
         {} no laboratory accredited, {} no capacity in the plan",
        r.already_overdue,
        r.capacity_before_due,
        r.no_day_before_due,
        r.no_laboratory,
        r.no_capacity
    );
    let _ = writeln!(out, "\nweek of      planned  capacity");
    for (w, monday) in p.weeks.iter().enumerate() {
        let (planned, capacity) = p.labs.iter().fold((0u64, 0u64), |(a, b), l| {
            (a + l.weeks[w].planned as u64, b + l.weeks[w].capacity as u64)
        });
        let _ = writeln!(out, "{monday}  {planned:>8}  {capacity:>8}");
    }
    let _ = writeln!(out, "\nbusiest laboratories (planned, of capacity):");
    for l in p.labs.iter().take(10) {
        let cap: u32 = l.weeks.iter().map(|w| w.capacity).sum();
        let _ = writeln!(out, "  {:>6} of {:>6}  {} (id {})", l.planned, cap, l.lab, l.lab_id);
    }
    let _ = writeln!(out, "\ncannot be met ({}):", p.unmet.len());
    for i in &p.unmet {
        let _ = writeln!(
            out,
            "  {:<20} due {:<10} {}/{} {} -> {}",
            i.reason.unwrap_or(""),
            i.due_on.map(|d| d.to_string()).unwrap_or_else(|| "never".into()),
            i.item_kind,
            i.item_id,
            i.label,
            match (&i.lab, i.planned_on) {
                (Some(l), Some(d)) => format!("{l} on {d}"),
                _ => "not placed".into(),
            }
        );
    }
    out
}
