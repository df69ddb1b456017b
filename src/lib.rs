//! metrocal: calibration management for a province's register of public metrology
//! standards (社会公用计量标准), their traceability to the SI, calibration schedules,
//! measurement uncertainty and certificates.
//!
//! Layers, from the bottom: [`domain`] (pure rules), [`store`] (persistence),
//! [`service`] (use cases and authorization), [`web`] (Rocket). See docs/architecture.md.

pub mod config;
pub mod domain;
pub mod render;
pub mod service;
pub mod store;
pub mod web;

use config::AppConfig;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use service::transfer::{self, Bundle, Quiet};
use service::{reference, Actor};

/// The demo data set of calibration-data/demo, carried in the binary.
pub fn demo_bundle() -> Bundle {
    Bundle::from_static(&[
        (
            transfer::ORGANISATIONS,
            include_bytes!("../calibration-data/demo/organisations.csv"),
        ),
        (
            transfer::STANDARDS,
            include_bytes!("../calibration-data/demo/standards.csv"),
        ),
        (
            transfer::DEVICES,
            include_bytes!("../calibration-data/demo/devices.csv"),
        ),
        (
            transfer::INSTRUMENTS,
            include_bytes!("../calibration-data/demo/instruments.csv"),
        ),
        (
            transfer::CALIBRATIONS,
            include_bytes!("../calibration-data/demo/calibrations.csv"),
        ),
    ])
}

/// Why the database could not be made ready. Each keeps its cause; the message says
/// which step failed, for the operator's console.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sea_orm::DbErr },
    #[error("migration failed: {0}")]
    Migrate(sea_orm::DbErr),
    #[error("loading reference data failed: {0}")]
    Reference(service::Error),
    #[error("reading the database failed: {0}")]
    Read(sea_orm::DbErr),
    #[error("loading the demo data set failed: {0}")]
    DemoData(transfer::ImportError),
    #[error("completing the demo's calibrations failed: {0}")]
    DemoCalibrations(service::Error),
    #[error("creating the demo accounts failed: {0}")]
    DemoAccounts(service::Error),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// The command line reports every error as text.
impl From<SetupError> for String {
    fn from(e: SetupError) -> String {
        e.to_string()
    }
}

/// Opens the database, applies the migrations, loads the reference data and, on a
/// database with no organisations yet, the demo data set (when configured).
pub async fn setup_database(config: &AppConfig) -> Result<DatabaseConnection, SetupError> {
    let db = store::connect(&config.database_url)
        .await
        .map_err(|source| SetupError::Connect {
            url: redact(&config.database_url),
            source,
        })?;
    store::migrate(&db).await.map_err(SetupError::Migrate)?;
    reference::load(&db).await.map_err(SetupError::Reference)?;
    if config.demo_data {
        let orgs = store::entities::organisation::Entity::find()
            .count(&db)
            .await
            .map_err(SetupError::Read)?;
        if orgs == 0 {
            let operator = Actor::system("first start");
            let summary = transfer::import(&operator, &db, &demo_bundle(), chrono::Utc::now(), &Quiet)
                .await
                .map_err(SetupError::DemoData)?;
            tracing::info!(?summary, "demo data set loaded");
            let keys = service::keys::KeyStore::new(&config.data_dir).with_public_url(&config.public_url);
            service::demo::complete(&db, &keys, chrono::Utc::now())
                .await
                .map_err(SetupError::DemoCalibrations)?;
            tracing::info!("demo calibrations recorded and their certificates issued");
        }
        let accounts = service::accounts::create_demo_accounts(&db, chrono::Utc::now())
            .await
            .map_err(SetupError::DemoAccounts)?;
        if !accounts.is_empty() {
            announce_demo_accounts(&config.data_dir, &accounts)?;
        }
    }
    Ok(db)
}

/// Writes the demo accounts' one-time passwords to `data/demo-accounts.txt` (0600,
/// readable by the operator only) and tells the operator on the console where they are.
fn announce_demo_accounts(
    data_dir: &std::path::Path,
    accounts: &[service::accounts::DemoAccount],
) -> Result<(), SetupError> {
    use std::io::Write;
    let cannot_write = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| SetupError::Write { path, source }
    };
    std::fs::create_dir_all(data_dir).map_err(cannot_write(data_dir))?;
    let path = data_dir.join("demo-accounts.txt");
    let mut text = String::from(
        "# metrocal demo accounts: one per role. Each password works once: the first login\n\
         # asks for a new one. Delete this file when the accounts are in use.\n",
    );
    for a in accounts {
        text.push_str(&format!("{:<40} {:<16} {}\n", a.email, a.role.as_str(), a.password));
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(cannot_write(&path))?;
    file.write_all(text.as_bytes()).map_err(cannot_write(&path))?;
    eprintln!("metrocal: created {} demo accounts, one per role:", accounts.len());
    for a in accounts {
        eprintln!("  {:<40} {}", a.email, a.role.as_str());
    }
    eprintln!(
        "metrocal: their one-time passwords are in {} (mode 0600); log in at /login and choose a new password.",
        path.display()
    );
    Ok(())
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The web application, as the binary and every test build it.
pub fn rocket(config: AppConfig) -> Result<rocket::Rocket<rocket::Build>, std::io::Error> {
    let figment = config::rocket_figment(&config)?;
    Ok(web::build(figment, config))
}

/// Sets the C allocator (glibc's, which SQLite allocates through) to give memory back:
/// at most two arenas, and blocks of 128 KiB or more mapped on their own and unmapped
/// when freed, instead of glibc's default of growing the threshold up to 32 MiB, which
/// keeps the daily run's large reads resident for good. Call first thing in `main`.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}
