//! A consistent copy of the database, and restoring one; each prints what it holds.

use super::{config, field_errors, open, Cli};
use std::path::Path;

pub async fn backup(cli: &Cli, out: &Path) -> Result<(), String> {
    let config = config(cli)?;
    let db = open(cli).await?;
    let print = crate::service::backup::backup(&db, &config.database_url, out)
        .await
        .map_err(field_errors)?;
    println!("{}", out.display());
    print_fingerprint(&print);
    Ok(())
}

pub async fn restore(cli: &Cli, file: &Path, replace: bool) -> Result<(), String> {
    let config = config(cli)?;
    let print = crate::service::backup::restore(&config.database_url, file, replace)
        .await
        .map_err(field_errors)?;
    println!(
        "restored {} into {}",
        file.display(),
        crate::redact(&config.database_url)
    );
    print_fingerprint(&print);
    Ok(())
}

/// What a database holds, to compare a backup with its source.
fn print_fingerprint(f: &crate::service::backup::Fingerprint) {
    for (table, n) in &f.counts {
        println!("{table:<22}{n:>10}");
    }
    println!("certificates sha256   {}", f.certificates_sha256);
    println!("audit head            {}", f.audit_head);
}
