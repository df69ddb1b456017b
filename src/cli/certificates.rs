//! Issued certificates: verify, export, withdraw, amend, and a laboratory's signing key.

use super::{config, field_errors, open, today, Cli, Format};
use crate::service::Actor;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum CertificateCommand {
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
    /// Re-seals every laboratory's signing key under a new key-encryption key (64 hex
    /// digits in FILE), in one transaction. Then give every instance the new key
    /// (METROCAL_KEY_ENCRYPTION_KEY or _FILE); on a single machine whose key was
    /// generated, the new one replaces it in the data directory.
    RotateKek {
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
    /// Withdraws a certificate (ISO/IEC 17025 §7.8.8): it stays downloadable, marked
    /// withdrawn with the reason.
    Withdraw {
        number: String,
        #[arg(long)]
        reason: String,
    },
    /// Opens the amendment of a certificate: its record reopens as the draft of revision
    /// n + 1 with the changes of FILE (a JSON Merge Patch over the amendable parts). The
    /// revision is then signed as performed, reviewed and approved like any record, and
    /// its approval issues the amending certificate. Prints the record and revision.
    Amend {
        number: String,
        #[arg(long)]
        reason: String,
        /// A JSON file, e.g. {"item": {"serial": "GB-100-0042A"}}.
        #[arg(long)]
        changes: std::path::PathBuf,
    },
}

pub async fn run(cli: &Cli, command: &CertificateCommand) -> Result<(), String> {
    match command {
        CertificateCommand::Verify { file, format } => {
            let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let db = open(cli).await?;
            let v = crate::service::certificates::verify_file(&db, &bytes)
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
        CertificateCommand::Export { number, out } => {
            let db = open(cli).await?;
            let files = crate::service::certificates::files(&db, number)
                .await
                .map_err(field_errors)?;
            std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
            for (name, bytes) in files {
                let path = out.join(&name);
                std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                println!("{}", path.display());
            }
        }
        CertificateCommand::RotateKey { lab } => {
            let config = config(cli)?;
            let db = open(cli).await?;
            let keys = crate::service::keys::KeyStore::from_config(&config)?;
            let org = crate::store::organisations::organisation_by_code(&db, lab.trim())
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("--lab: no organisation {lab}"))?;
            let key_id = crate::service::certificates::rotate_key(
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
        CertificateCommand::RotateKek { new_key_file } => {
            let config = config(cli)?;
            let db = open(cli).await?;
            let (current, source) = crate::service::keys::load_kek(&config)?;
            let text = std::fs::read_to_string(new_key_file).map_err(|e| format!("--new-key-file: {e}"))?;
            let new = crate::service::keys::Kek::from_hex(&text).map_err(|e| format!("--new-key-file: {e}"))?;
            if new.id() == current.id() {
                return Err("--new-key-file: that is the key-encryption key in use already".into());
            }
            let keys = crate::service::keys::KeyStore::with_kek(&config.data_dir, current);
            let n = crate::service::certificates::rotate_kek(
                &Actor::system("cli certificate rotate-kek"),
                &db,
                &keys,
                &new,
                chrono::Utc::now(),
            )
            .await
            .map_err(field_errors)?;
            if let crate::service::keys::KekSource::Generated(path) = &source {
                std::fs::write(path, format!("{}\n", new.to_hex())).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            println!(
                "{n} signing keys re-sealed under the key-encryption key {}; give it to every instance{}",
                new.id(),
                if source.given() {
                    ""
                } else {
                    " (this machine's copy in the data directory is replaced)"
                }
            );
        }
        CertificateCommand::Withdraw { number, reason } => {
            let db = open(cli).await?;
            crate::service::certificates::withdraw(
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
        CertificateCommand::Amend {
            number,
            reason,
            changes,
        } => {
            let text = std::fs::read_to_string(changes).map_err(|e| format!("{}: {e}", changes.display()))?;
            let patch: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", changes.display()))?;
            let db = open(cli).await?;
            let today = today(cli)?;
            let a = crate::service::certificates::amend(
                &Actor::system("cli certificate amend"),
                &db,
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
            println!(
                "record {} revision {}: amends {}; sign it as performed, review and approve it to issue the amending certificate",
                a.record_id, a.revision, a.amends
            );
        }
    }
    Ok(())
}
