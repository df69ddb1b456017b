//! Making the database ready for the app or a command: connect, apply the migrations, load
//! the reference data and, on a first start with the demo configured, the demo data set
//! with its completed calibrations and one account per role.

use super::transfer::{self, Bundle, Quiet};
use super::{reference, Actor};
use crate::config::AppConfig;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

/// The demo data set of calibration-data/demo, carried in the binary.
pub fn demo_bundle() -> Bundle {
    Bundle::from_static(&[
        (
            transfer::ORGANISATIONS,
            include_bytes!("../../calibration-data/demo/organisations.csv"),
        ),
        (
            transfer::STANDARDS,
            include_bytes!("../../calibration-data/demo/standards.csv"),
        ),
        (
            transfer::DEVICES,
            include_bytes!("../../calibration-data/demo/devices.csv"),
        ),
        (
            transfer::INSTRUMENTS,
            include_bytes!("../../calibration-data/demo/instruments.csv"),
        ),
        (
            transfer::CALIBRATIONS,
            include_bytes!("../../calibration-data/demo/calibrations.csv"),
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
    Reference(super::Error),
    #[error("repairing approvals without a certificate failed: {0}")]
    Repair(super::Error),
    #[error("reading the database failed: {0}")]
    Read(sea_orm::DbErr),
    #[error("loading the demo data set failed: {0}")]
    DemoData(transfer::ImportError),
    #[error("completing the demo's calibrations failed: {0}")]
    DemoCalibrations(super::Error),
    #[error("creating the demo accounts failed: {0}")]
    DemoAccounts(super::Error),
    #[error("the key-encryption key cannot be read: {0}")]
    Keys(String),
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
    let db = crate::store::connect(&config.database_url)
        .await
        .map_err(|source| SetupError::Connect {
            url: crate::store::redact(&config.database_url),
            source,
        })?;
    crate::store::migrate(&db).await.map_err(SetupError::Migrate)?;
    reference::load(&db).await.map_err(SetupError::Reference)?;
    let repair = super::records::repair_stuck_approvals(&db, chrono::Utc::now())
        .await
        .map_err(SetupError::Repair)?;
    for id in &repair.repaired {
        tracing::warn!(
            record = id,
            "record was approved without its certificate: put back to awaiting approval"
        );
    }
    for (id, why) in &repair.left {
        tracing::error!(
            record = id,
            why,
            "record approved without its certificate could not be repaired"
        );
        eprintln!("metrocal: record {id} is approved without its certificate and was left as it is: {why}");
    }
    if config.demo_data {
        let orgs = crate::store::entities::organisation::Entity::find()
            .count(&db)
            .await
            .map_err(SetupError::Read)?;
        if orgs == 0 {
            let operator = Actor::system("first start");
            let summary = transfer::import(&operator, &db, &demo_bundle(), chrono::Utc::now(), &Quiet)
                .await
                .map_err(SetupError::DemoData)?;
            tracing::info!(?summary, "demo data set loaded");
            let keys = super::keys::KeyStore::from_config(config).map_err(SetupError::Keys)?;
            super::demo::complete(&db, &keys, chrono::Utc::now())
                .await
                .map_err(SetupError::DemoCalibrations)?;
            tracing::info!("demo calibrations recorded and their certificates issued");
        }
        let accounts = super::accounts::create_demo_accounts(&db, chrono::Utc::now())
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
    accounts: &[super::accounts::DemoAccount],
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
