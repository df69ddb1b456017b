//! Exporting the register as a data set that imports back unchanged.

use super::format::{
    ImportError, DEVICES, DEVICE_COLUMNS, ORGANISATIONS, ORGANISATION_COLUMNS, STANDARDS, STANDARD_COLUMNS,
};
use super::import::{ImportSummary, Progress};
use crate::domain::accounts::Role;
use crate::service::audit::{self, Changes, Entry};
use crate::service::standards::{device_range, input_from_model};
use crate::service::Actor;
use crate::store::{organisations, reference, standards};
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::path::Path;

/// Writes the whole register to `dir` in the import format.
pub async fn export(
    actor: &Actor,
    db: &DatabaseConnection,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<ImportSummary, ImportError> {
    if !actor.may(&[Role::SystemAdmin, Role::Regulator]) {
        return Err(ImportError::Service(actor.forbidden()));
    }
    std::fs::create_dir_all(dir).map_err(|e| ImportError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let io = |e: csv::Error| ImportError::Io(e.to_string());
    // One read transaction, so the three files are a consistent snapshot.
    let txn = crate::store::begin_read(db).await?;
    let regions: HashMap<i32, String> = reference::all_regions(&txn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.code))
        .collect();
    let orgs = organisations::all_organisations(&txn).await?;
    let standards = standards::all_standards(&txn).await?;
    let devices = standards::all_devices(&txn).await?;
    txn.commit().await?;
    // The export is recorded (who took a copy of the register, and when) before the
    // files are written.
    let mut changes = Changes::new();
    changes.note("directory", dir.display().to_string().into());
    changes.note("organisations", orgs.len().into());
    changes.note("standards", standards.len().into());
    changes.note("devices", devices.len().into());
    let txn = crate::store::begin(db).await?;
    audit::record(
        &txn,
        actor,
        chrono::Utc::now(),
        Entry {
            action: "register.export",
            entity_type: "register",
            entity_id: String::new(),
            changes,
        },
    )
    .await
    .map_err(ImportError::Service)?;
    txn.commit().await?;
    progress.stage("exporting", (orgs.len() + standards.len() + devices.len()) as u64);

    // Every cell as the exchange format writes it: reversible, and inert in a spreadsheet.
    let escape = |v: &str| crate::domain::spreadsheet::escape(v).into_owned();
    let mut w = csv::Writer::from_path(dir.join(ORGANISATIONS)).map_err(io)?;
    w.write_record(ORGANISATION_COLUMNS).map_err(io)?;
    let mut org_codes = HashMap::new();
    for o in &orgs {
        let city = o.region_id.and_then(|r| regions.get(&r)).cloned().unwrap_or_default();
        w.write_record([o.code.as_str(), &o.kind, &o.name_zh, &o.name_en, &city].map(escape))
            .map_err(io)?;
        org_codes.insert(o.id, o.code.clone());
    }
    w.flush().map_err(|e| ImportError::Io(e.to_string()))?;
    progress.advance(orgs.len() as u64);

    let mut w = csv::Writer::from_path(dir.join(STANDARDS)).map_err(io)?;
    w.write_record(STANDARD_COLUMNS).map_err(io)?;
    let mut cert_nos = HashMap::new();
    for s in &standards {
        let owner = org_codes.get(&s.owner_id).cloned().unwrap_or_default();
        let input = input_from_model(s, &owner);
        w.write_record(input.entries().map(|(_, v)| escape(v))).map_err(io)?;
        cert_nos.insert(s.id, s.cert_no.clone());
    }
    w.flush().map_err(|e| ImportError::Io(e.to_string()))?;
    progress.advance(standards.len() as u64);

    let mut w = csv::Writer::from_path(dir.join(DEVICES)).map_err(io)?;
    w.write_record(DEVICE_COLUMNS).map_err(io)?;
    for d in &devices {
        let (lo, hi) = device_range(d).unwrap_or_default();
        let quantity = if lo.is_empty() {
            String::new()
        } else {
            d.quantity.clone().unwrap_or_default()
        };
        w.write_record(
            [
                cert_nos.get(&d.standard_id).map(String::as_str).unwrap_or(""),
                &d.role,
                &d.name,
                &d.manufacturer,
                &d.model,
                &d.serial,
                &quantity,
                &lo,
                &hi,
                &d.accuracy,
                d.cal_cert_no.as_deref().unwrap_or(""),
                &d.cal_date.map(|x| x.to_string()).unwrap_or_default(),
                &d.cal_due.map(|x| x.to_string()).unwrap_or_default(),
            ]
            .map(escape),
        )
        .map_err(io)?;
    }
    w.flush().map_err(|e| ImportError::Io(e.to_string()))?;
    progress.advance(devices.len() as u64);
    progress.finish();
    tracing::info!(actor = %actor.label(), dir = %dir.display(), "export written");
    Ok(ImportSummary {
        organisations: orgs.len(),
        standards: standards.len(),
        devices: devices.len(),
        ..Default::default()
    })
}
