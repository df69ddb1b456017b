//! Persistence: the connection, the migrations and the query functions.
//! No rules and no HTTP here; the service layer decides what may be written.

pub mod accounts;
pub mod audit;
pub mod budgets;
pub mod bulk;
pub mod certificates;
pub mod changes;
pub mod entities;
pub mod intervals;
pub mod lifecycle;
pub mod organisations;
pub mod planner;
pub mod records;
pub mod reference;
pub mod schedule;
pub mod standards;
pub mod traceability;
pub mod work_orders;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use std::time::Duration;

pub use sea_orm::DatabaseConnection as Db;

/// The default database: an embedded SQLite file beside the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/metrocal.db?mode=rwc";

/// Opens the database at `url` (sqlite:// or postgres://).
///
/// SQLite runs in WAL mode with synchronous=FULL and foreign keys on, and a busy
/// timeout so that a reader never fails while the importer holds the write lock.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        if let Some(path) = sqlite_path(url) {
            if let Some(dir) = std::path::Path::new(&path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
                }
            }
            // The register, accounts and audit trail are no other local user's to read.
            let writable = !url.contains("mode=ro");
            for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
                let file = std::path::Path::new(&file);
                if writable && (file.exists() || file.as_os_str() == path.as_str()) {
                    private_file(file).map_err(|e| DbErr::Custom(format!("cannot secure {}: {e}", file.display())))?;
                }
            }
        }
        // WAL lets readers run beside the one writer; more connections serve more readers.
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // 8 MiB of page cache per connection (8 connections: 64 MiB at most),
                // so that the server's memory stays flat under load; a bulk import
                // widens its own connection's (`set_page_cache`).
                .pragma("cache_size", "-8192")
                // No memory map of the file: each connection maps it on its own and the
                // kernel counts the mapped pages in the RSS once per connection (eight
                // 64 MiB maps measured 260 MB of RSS under load). Reads go through the
                // page cache above and the OS's file cache.
                .pragma("temp_store", "memory")
        });
    } else {
        opts.max_connections(16).min_connections(1);
    }
    Database::connect(opts).await
}

/// Makes `path` readable and writable by its owner only (0600): created empty when it
/// does not exist (SQLite takes an empty file as a new database, and `VACUUM INTO` an
/// empty file as its target), narrowed when it does. SQLite gives the WAL and
/// shared-memory files the database file's permissions, so they follow.
pub fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        } else {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
        }
    }
    #[cfg(not(unix))]
    if !path.exists() {
        std::fs::File::create(path)?;
    }
    Ok(())
}

/// The page cache of this connection (SQLite; PostgreSQL's is the server's), in KiB.
/// A bulk import widens it for the length of its transaction and narrows it again
/// before committing, so that the pooled connection goes back at its usual size.
pub async fn set_page_cache<C: sea_orm::ConnectionTrait>(db: &C, kib: u32) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        db.execute_unprepared(&format!("PRAGMA cache_size = -{kib}")).await?;
    }
    Ok(())
}

/// The page cache of a pooled SQLite connection, in KiB.
pub const PAGE_CACHE_KIB: u32 = 8 * 1024;
/// The page cache of a bulk import's connection, in KiB.
pub const BULK_PAGE_CACHE_KIB: u32 = 64 * 1024;

/// The file path of a sqlite:// URL, if it names a file.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_owned())
    }
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    // Instances started together on one PostgreSQL database migrate one at a time: a
    // session advisory lock, held on a connection of its own while the migrations run on
    // the pool (SQLite's writers are serialised by the file's lock already).
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        use sea_orm::sqlx;
        let custom = |e: sqlx::Error| DbErr::Custom(format!("the migration lock: {e}"));
        let mut conn = db.get_postgres_connection_pool().acquire().await.map_err(custom)?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await
            .map_err(custom)?;
        let result = Migrator::up(db, None).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // Closing the session releases its locks.
            conn.detach();
        }
        return result;
    }
    // Processes on one SQLite file: an exclusive lock on a file beside it.
    let lock = sqlite_migration_lock(db).await?;
    let result = Migrator::up(db, None).await;
    drop(lock);
    result
}

/// An exclusive flock on `<database>.migrate-lock`, held until the file is dropped; None
/// for an in-memory database.
async fn sqlite_migration_lock(db: &DatabaseConnection) -> Result<Option<std::fs::File>, DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(None);
    }
    let options = db.get_sqlite_connection_pool().connect_options();
    let path = options.get_filename();
    if path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:") {
        return Ok(None);
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".migrate-lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| DbErr::Custom(format!("the migration lock {}: {e}", name.to_string_lossy())))?;
    use std::os::fd::AsRawFd;
    // Tried without blocking, so that a task waiting for it never holds up the runtime.
    loop {
        // SAFETY: flock on a file descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Some(file));
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(DbErr::Custom(format!(
                "the migration lock {}: {e}",
                name.to_string_lossy()
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The advisory lock key of the migrations ("metrocal migrate", as bytes of an i64).
const MIGRATION_LOCK: i64 = 0x6d63_6d69_6772_6174;

/// Opens a write transaction; every use case that writes starts here.
///
/// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken at the start, waiting
/// out the busy timeout behind another writer. A deferred transaction reads first and
/// upgrades at its first write; two of them deadlock on the upgrade (or find their
/// snapshot stale in WAL mode) and one fails with "database is locked" at once,
/// whatever the busy timeout. PostgreSQL ignores the mode and takes row locks as it
/// writes. Nested, it is a savepoint of the outer transaction.
pub async fn begin<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Opens a read transaction: one consistent snapshot for several queries (an
/// export). It takes no write lock; a write inside it would risk the deadlock that
/// [`begin`] avoids.
#[allow(clippy::disallowed_methods)]
pub async fn begin_read<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin().await
}

/// Whether the database runs on PostgreSQL (some queries differ by engine).
pub fn is_postgres(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
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
