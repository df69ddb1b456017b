//! The province audit of every chain and the impact of a suspect reference.

use super::{field_errors, open, today, Cli, Format};
use crate::service::{traceability, Actor};
use chrono::NaiveDate;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum TraceabilityCommand {
    /// List every broken chain in the province, grouped by cause, city and owner.
    Audit {
        /// The date to judge the chains on (YYYY-MM-DD); default today.
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// A test-uncertainty ratio below this gives a warning (default: each item's
        /// owner's scheduling rule, 4 unless it set its own).
        #[arg(long)]
        tur_limit: Option<f64>,
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

pub async fn run(cli: &Cli, command: &TraceabilityCommand) -> Result<(), String> {
    let operator = Actor::system("cli");
    match command {
        TraceabilityCommand::Audit {
            as_of,
            tur_limit,
            format,
        } => {
            let db = open(cli).await?;
            let as_of = as_of.map_or_else(|| today(cli), Ok)?;
            let report = traceability::audit(&operator, &db, &Default::default(), as_of, *tur_limit)
                .await
                .map_err(field_errors)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?),
                Format::Text => print!("{}", audit_text(&report)),
            }
        }
        TraceabilityCommand::Impact {
            kind,
            id,
            since,
            error,
            format,
        } => {
            let db = open(cli).await?;
            let report = traceability::impact(&operator, &db, &Default::default(), kind, *id, since, error.as_deref())
                .await
                .map_err(field_errors)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?),
                Format::Text => print!("{}", traceability::impact_csv(&report).map_err(|e| e.to_string())?),
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
        r.as_of,
        r.checked,
        r.broken,
        r.low_tur,
        r.tur_limit
            .map_or_else(|| "each owner's limit (4 unless set)".to_owned(), |l| l.to_string())
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
