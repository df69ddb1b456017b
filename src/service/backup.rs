//! Online backup and restore of the whole database, for the operator.
//!
//! SQLite: `VACUUM INTO` writes a consistent, compacted copy while the server keeps
//! serving (one read transaction; writers wait only for its snapshot). PostgreSQL:
//! `pg_dump --format=custom` (a consistent snapshot), restored with `pg_restore`.
//! A restore is refused onto a database that already holds data unless asked to replace
//! it, checks the copy before it touches the target (SQLite's `integrity_check`), and
//! brings the restored schema up to date with the migrations.
//!
//! The signing keys' private halves are in the database sealed under the operator's
//! key-encryption key, so the copy carries them; the key-encryption key itself is never
//! in the database, and is kept apart from the copies.
//!
//! [`Fingerprint`] is what a restore is checked against: row counts, a digest of every
//! issued certificate's hashes, and the head of the audit chain.

use super::{Error, Result};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The tables a fingerprint counts.
const COUNTED: &[&str] = &[
    "organisations",
    "standards",
    "devices",
    "instruments",
    "calibrations",
    "certificates",
    "calibration_records",
    "audit_events",
];

/// What a database holds, compared before and after a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    pub counts: Vec<(String, i64)>,
    /// SHA-256 over every certificate's number, content, DCC and PDF digests, in number order.
    pub certificates_sha256: String,
    /// The audit chain's head (its last event's id and hash).
    pub audit_head: String,
}

pub async fn fingerprint(db: &DatabaseConnection) -> Result<Fingerprint> {
    let mut counts = Vec::new();
    for t in COUNTED {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {t}"),
            ))
            .await?
            .ok_or_else(|| Error::Internal(format!("no count of {t}")))?;
        counts.push(((*t).to_owned(), row.try_get::<i64>("", "n")?));
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT number, content_sha256, dcc_sha256, COALESCE(pdf_sha256, '') AS pdf FROM certificates ORDER BY number",
        ))
        .await?;
    let mut h = Sha256::new();
    for r in rows {
        for c in ["number", "content_sha256", "dcc_sha256", "pdf"] {
            h.update(r.try_get::<String>("", c)?.as_bytes());
            h.update([0]);
        }
    }
    let audit_head = super::audit::head(db).await?.to_string();
    Ok(Fingerprint {
        counts,
        certificates_sha256: hex::encode(h.finalize()),
        audit_head,
    })
}

/// Where a database URL points.
enum Target {
    Sqlite(PathBuf),
    /// The URL without its options, and the schema its search_path names, if any.
    Postgres {
        url: String,
        schema: Option<String>,
    },
}

fn target(url: &str) -> Result<Target> {
    if url.starts_with("sqlite:") {
        let path = crate::store::sqlite_path(url)
            .ok_or_else(|| Error::Internal(format!("{}: not a SQLite file", crate::store::redact(url))))?;
        return Ok(Target::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        // The tests (and some operators) keep metrocal in its own schema, named by
        // options=-c search_path=SCHEMA,public; pg_dump takes it as --schema.
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut schema = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let decoded = pair.replace("%20", " ").replace("%3D", "=").replace("%2C", ",");
            if let Some(v) = decoded.strip_prefix("options=-c search_path=") {
                schema = v.split(',').next().map(str::to_owned).filter(|s| !s.is_empty());
            } else {
                kept.push(pair);
            }
        }
        let url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok(Target::Postgres { url, schema });
    }
    Err(Error::Internal(format!(
        "{}: backups are made of sqlite:// and postgres:// databases",
        crate::store::redact(url)
    )))
}

fn run(cmd: &mut std::process::Command, what: &str) -> Result<()> {
    let out = cmd.output().map_err(|e| {
        Error::Internal(format!(
            "{what} could not be started (is postgresql-client installed?): {e}"
        ))
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Writes a consistent copy of the database at `url` (open as `db`) to `out`, which must
/// not exist yet.
pub async fn backup(db: &DatabaseConnection, url: &str, out: &Path) -> Result<Fingerprint> {
    if out.exists() {
        return Err(Error::field(
            "out",
            "backup.exists",
            format!("{} exists; a backup never overwrites a file", out.display()),
        ));
    }
    let print = fingerprint(db).await?;
    // A copy of the register, the accounts and the keys' ciphertexts: the operator's alone.
    crate::store::private_file(out).map_err(|e| Error::Internal(format!("{}: {e}", out.display())))?;
    let written: Result<()> = async {
        match target(url)? {
            Target::Sqlite(_) => {
                db.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "VACUUM INTO ?",
                    [out.to_string_lossy().into_owned().into()],
                ))
                .await?;
            }
            Target::Postgres { url, schema } => {
                let mut cmd = std::process::Command::new("pg_dump");
                cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                    .arg(out)
                    .arg("--dbname")
                    .arg(&url);
                if let Some(s) = schema {
                    cmd.arg("--schema").arg(s);
                }
                run(&mut cmd, "pg_dump")?;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = written {
        // Never leave an empty or partial copy behind to be mistaken for a backup.
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(print)
}

/// Restores the backup `file` into the database at `url`. A database that already holds
/// organisations is replaced only with `replace`. Returns the restored fingerprint.
pub async fn restore(url: &str, file: &Path, replace: bool) -> Result<Fingerprint> {
    if !file.is_file() {
        return Err(Error::field(
            "file",
            "backup.missing",
            format!("{} is not a file", file.display()),
        ));
    }
    let holds_data = async {
        let Ok(db) = crate::store::connect(url).await else {
            return false;
        };
        let n = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM organisations",
            ))
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get::<i64>("", "n").ok())
            .unwrap_or(0);
        db.close().await.ok();
        n > 0
    };
    match target(url)? {
        Target::Sqlite(path) => {
            // The copy is checked before anything is replaced.
            let source = format!("sqlite://{}?mode=ro", file.display());
            let copy = sea_orm::Database::connect(source.as_str())
                .await
                .map_err(|e| Error::field("file", "backup.unreadable", format!("not a SQLite database: {e}")))?;
            let check = copy
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA integrity_check"))
                .await
                .ok()
                .flatten()
                .and_then(|r| r.try_get_by_index::<String>(0).ok());
            if check.as_deref() != Some("ok") {
                return Err(Error::field(
                    "file",
                    "backup.corrupt",
                    format!(
                        "{} fails SQLite's integrity check: {}",
                        file.display(),
                        check.unwrap_or_else(|| "unreadable".into())
                    ),
                ));
            }
            if path.exists() && holds_data.await && !replace {
                return Err(Error::field(
                    "replace",
                    "backup.target_not_empty",
                    format!("{} holds data; restore with --replace to overwrite it", path.display()),
                ));
            }
            // Written beside the target, then moved over it: never half a database.
            let staging = path.with_extension("restoring");
            let _ = std::fs::remove_file(&staging);
            crate::store::private_file(&staging).map_err(|e| Error::Internal(format!("{}: {e}", staging.display())))?;
            copy.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "VACUUM INTO ?",
                [staging.to_string_lossy().into_owned().into()],
            ))
            .await?;
            copy.close().await.ok();
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            std::fs::rename(&staging, &path).map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
        }
        Target::Postgres { url: plain, schema } => {
            // The archive is read through (its table of contents) before anything is dropped.
            run(
                std::process::Command::new("pg_restore").arg("--list").arg(file),
                "reading the backup (pg_restore --list)",
            )
            .map_err(|e| Error::field("file", "backup.unreadable", e.to_string()))?;
            if holds_data.await && !replace {
                return Err(Error::field(
                    "replace",
                    "backup.target_not_empty",
                    "the database holds data; restore with --replace to overwrite it",
                ));
            }
            let db = crate::store::connect(&plain).await?;
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
                .await?;
            if let Some(s) = &schema {
                if replace {
                    db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", s.replace('"', "")))
                        .await?;
                }
            }
            db.close().await.ok();
            let mut cmd = std::process::Command::new("pg_restore");
            cmd.args([
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
            ]);
            if replace && schema.is_none() {
                cmd.args(["--clean", "--if-exists"]);
            }
            cmd.arg("--dbname").arg(&plain).arg(file);
            run(&mut cmd, "pg_restore")?;
        }
    }
    let db = crate::store::connect(url).await?;
    crate::store::migrate(&db).await?;
    let print = fingerprint(&db).await?;
    db.close().await.ok();
    Ok(print)
}
