//! Importing a data set: all or nothing, in one transaction, keyed so that importing the
//! same data twice changes nothing; each standard that changed is audited.

use super::format::{
    Bundle, ImportError, RowError, CALIBRATIONS, CALIBRATION_COLUMNS, DEVICES, DEVICE_COLUMNS, INSTRUMENTS,
    INSTRUMENT_COLUMNS, ORGANISATIONS, ORGANISATION_COLUMNS, STANDARDS, STANDARD_COLUMNS,
};
use super::parse::{
    parse_calibrations, parse_devices, parse_instruments, parse_orgs, parse_standards, CalibrationRow, InstrumentRow,
    Table,
};
use crate::domain::accounts::Role;
use crate::domain::register::OrgKind;
use crate::domain::traceability::ItemKind;
use crate::service::audit::{self, Changes, Entry};
use crate::service::standards::{active_model, audit_fields, check_owner, input_from_model};
use crate::service::Actor;
use crate::store::entities::{device, organisation};
use crate::store::{bulk, organisations, reference, standards};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use std::collections::{HashMap, HashSet};

/// Reports the progress of a long command; the CLI draws it, tests ignore it.
pub trait Progress: Sync {
    fn stage(&self, _label: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Progress that goes nowhere.
pub struct Quiet;
impl Progress for Quiet {}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportSummary {
    pub organisations: usize,
    pub standards: usize,
    pub devices: usize,
    pub instruments: usize,
    pub calibrations: usize,
}

/// Writes the instruments and calibrations of an import, after its organisations,
/// standards and devices. Items and references are found by their keys (a standard by
/// its certificate number, a device as "certificate#serial", an instrument as
/// "owner code#serial"), in the file or already in the register; a set of links that
/// would close a cycle is refused.
async fn import_calibrations<C: sea_orm::ConnectionTrait>(
    txn: &C,
    instruments: &[InstrumentRow],
    calibrations: &[CalibrationRow],
    owners: &HashMap<String, organisation::Model>,
    now: DateTime<Utc>,
) -> Result<(), ImportError> {
    use crate::domain::traceability::Item;
    use crate::store::entities::{calibration, instrument};
    use crate::store::traceability as tq;
    let row_error = |file: &str, line: u64, column: &str, reason: String| {
        ImportError::Row(RowError {
            file: file.into(),
            line,
            column: column.into(),
            reason,
        })
    };
    let mut rows = Vec::with_capacity(instruments.len());
    for (i, r) in instruments.iter().enumerate() {
        let Some(owner) = owners.get(&r.owner_code) else {
            return Err(row_error(
                INSTRUMENTS,
                i as u64 + 2,
                "owner",
                format!(
                    "no organisation with code {} in the register or in {ORGANISATIONS}",
                    r.owner_code
                ),
            ));
        };
        rows.push(instrument::ActiveModel {
            owner_id: Set(owner.id),
            name: Set(r.name.clone()),
            manufacturer: Set(r.manufacturer.clone()),
            model: Set(r.model.clone()),
            serial: Set(r.serial.clone()),
            category_code: Set(r.category_code.clone()),
            quantity: Set(r.quantity.map(|q| q.as_str().to_owned())),
            mpe_si: Set(r.mpe.map(|m| m.si)),
            mpe_unit: Set(r.mpe.map(|m| m.unit.to_owned())),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    let started = std::time::Instant::now();
    let lap = |stage: &str| tracing::debug!(stage, elapsed_ms = started.elapsed().as_millis() as u64, "calibrations");
    tq::upsert_instruments(txn, rows).await?;
    lap("instruments written");
    if calibrations.is_empty() {
        return Ok(());
    }
    // Every item's id by its key.
    let standards = standards::standard_ids_by_cert_no(txn).await?;
    let cert_of: HashMap<i32, &str> = standards.iter().map(|(c, id)| (*id, c.as_str())).collect();
    let mut keys: HashMap<(ItemKind, String), i32> = standards
        .iter()
        .map(|(c, id)| ((ItemKind::Standard, c.clone()), *id))
        .collect();
    for (id, standard_id, serial) in tq::device_keys(txn).await? {
        if let Some(cert) = cert_of.get(&standard_id) {
            keys.insert((ItemKind::Device, format!("{cert}#{serial}")), id);
        }
    }
    let code_of: HashMap<i32, &str> = owners.values().map(|o| (o.id, o.code.as_str())).collect();
    for (id, owner_id, serial) in tq::instrument_keys(txn).await? {
        if let Some(code) = code_of.get(&owner_id) {
            keys.insert((ItemKind::Instrument, format!("{code}#{serial}")), id);
        }
    }
    lap("keys read");
    let mut resolved = Vec::with_capacity(calibrations.len());
    let mut seen = HashSet::new();
    for c in calibrations {
        let find = |column: &str, (kind, key): &(ItemKind, String)| {
            keys.get(&(*kind, key.clone())).copied().ok_or_else(|| {
                row_error(
                    CALIBRATIONS,
                    c.line,
                    column,
                    format!("no {} with key {key} in the register or in the files", kind.as_str()),
                )
            })
        };
        let item = Item::new(c.item.0, find("item", &c.item)?);
        let reference = match &c.reference {
            Some(r) => Some(Item::new(r.0, find("reference", r)?)),
            None => None,
        };
        let provider = match &c.provider {
            Some(code) => match owners.get(code) {
                Some(o)
                    if matches!(
                        OrgKind::parse(&o.kind),
                        Some(OrgKind::ExternalNmi | OrgKind::AccreditedLab)
                    ) =>
                {
                    Some(o.id)
                }
                _ => {
                    return Err(row_error(
                        CALIBRATIONS,
                        c.line,
                        "provider",
                        format!("{code} is not an external metrology institute or accredited laboratory"),
                    ))
                }
            },
            None => None,
        };
        if reference == Some(item) {
            return Err(row_error(
                CALIBRATIONS,
                c.line,
                "reference",
                "an item cannot be its own reference".into(),
            ));
        }
        if !seen.insert((item, c.certificate_no.clone())) {
            return Err(row_error(
                CALIBRATIONS,
                c.line,
                "certificate_no",
                format!("certificate {} appears twice for the same item", c.certificate_no),
            ));
        }
        resolved.push((c, item, reference, provider));
    }
    // No cycles, with the links already in the register.
    let mut edges: HashMap<Item, Vec<Item>> = HashMap::new();
    for l in tq::all_links(txn, &["standard", "device", "instrument"]).await? {
        if let (Some(k), Some(r)) = (l.reference_kind, l.reference_id) {
            edges
                .entry(Item::new(l.item_kind, l.item_id))
                .or_default()
                .push(Item::new(k, r));
        }
    }
    for (_, item, reference, _) in &resolved {
        if let Some(r) = reference {
            edges.entry(*item).or_default().push(*r);
        }
    }
    lap("links read");
    if let Some(on_cycle) = crate::domain::traceability::on_a_cycle(&edges) {
        if let Some((c, ..)) = resolved
            .iter()
            .find(|(_, item, reference, _)| on_cycle.contains(item) && reference.is_some_and(|r| on_cycle.contains(&r)))
        {
            return Err(row_error(
                CALIBRATIONS,
                c.line,
                "reference",
                "this link closes a cycle: the reference is traceable to the item itself".into(),
            ));
        }
    }
    let rows: Vec<calibration::ActiveModel> = resolved
        .into_iter()
        .map(|(c, item, reference, provider)| calibration::ActiveModel {
            item_kind: Set(item.kind.as_str().to_owned()),
            item_id: Set(item.id),
            reference_kind: Set(reference.map(|r| r.kind.as_str().to_owned())),
            reference_id: Set(reference.map(|r| r.id)),
            provider_id: Set(provider),
            provider_evidence: Set(c.evidence.clone()),
            lab_id: Set(provider),
            certificate_no: Set(c.certificate_no.clone()),
            calibrated_on: Set(c.calibrated_on),
            valid_until: Set(c.valid_until),
            quantity: Set(c.quantity.map(|q| q.as_str().to_owned())),
            uncertainty_si: Set(c.uncertainty.map(|u| u.si)),
            uncertainty_unit: Set(c.uncertainty.map(|u| u.unit.to_owned())),
            mpe_si: Set(c.mpe.map(|m| m.si)),
            as_found_error_si: Set(c.error.map(|e| e.si)),
            decision_rule: Set(c.rule.map(|r| r.as_str().to_owned())),
            decision: Set(c.decision.map(|d| d.as_str().to_owned())),
            source: Set("import".into()),
            created_by: Set(None),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    lap("cycles checked");
    tq::upsert_calibrations(txn, rows).await?;
    lap("calibrations written");
    Ok(())
}

/// Imports a data set: all of it, or (on any error) none of it.
pub async fn import(
    actor: &Actor,
    db: &DatabaseConnection,
    bundle: &Bundle,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> Result<ImportSummary, ImportError> {
    // A bulk change to the whole register: the system admins (and the operator).
    if !actor.may(&[Role::SystemAdmin]) {
        return Err(ImportError::Service(actor.forbidden()));
    }
    let regions = reference::all_regions(db).await?;
    let region_codes: HashSet<String> = regions.iter().map(|r| r.code.clone()).collect();
    let region_ids: HashMap<&str, i32> = regions.iter().map(|r| (r.code.as_str(), r.id)).collect();

    // 1. Parse and check every row before writing anything; the three files in
    //    parallel (CPU-bound, no I/O), reporting the first error in file order.
    let started = std::time::Instant::now();
    let lap = |stage: &str| tracing::debug!(stage, elapsed_ms = started.elapsed().as_millis() as u64, "import");
    progress.stage("checking", 3);
    let (orgs, standards, devices) = std::thread::scope(|s| {
        let orgs = s.spawn(|| match bundle.files.get(ORGANISATIONS) {
            Some(b) => parse_orgs(&Table::read(ORGANISATIONS, b, ORGANISATION_COLUMNS)?, &region_codes),
            None => Ok(vec![]),
        });
        let standards = s.spawn(|| match bundle.files.get(STANDARDS) {
            Some(b) => {
                let t = Table::read(STANDARDS, b, STANDARD_COLUMNS)?;
                let drafts = parse_standards(&t)?;
                Ok::<_, ImportError>((Some(t), drafts))
            }
            None => Ok((None, vec![])),
        });
        let devices = match bundle.files.get(DEVICES) {
            Some(b) => Table::read(DEVICES, b, DEVICE_COLUMNS).and_then(|t| {
                let rows = parse_devices(&t)?;
                Ok((Some(t), rows))
            }),
            None => Ok((None, vec![])),
        };
        (
            orgs.join().expect("parser thread"),
            standards.join().expect("parser thread"),
            devices,
        )
    });
    let orgs = orgs?;
    let (std_table, drafts) = standards?;
    let (dev_table, devices) = devices?;
    let instruments = match bundle.files.get(INSTRUMENTS) {
        Some(b) => parse_instruments(&Table::read(INSTRUMENTS, b, INSTRUMENT_COLUMNS)?)?,
        None => vec![],
    };
    let calibrations = match bundle.files.get(CALIBRATIONS) {
        Some(b) => parse_calibrations(&Table::read(CALIBRATIONS, b, CALIBRATION_COLUMNS)?)?,
        None => vec![],
    };
    progress.advance(3);

    // 2. Write in one transaction; references are checked against the file and the
    //    database as they will be after this import.
    lap("checked");
    let txn = crate::store::begin(db).await?;
    // The standards this import changes keep their old values in the audit trail.
    let before = snapshot_of_standards(&txn).await?;
    let org_rows: Vec<organisation::ActiveModel> = orgs
        .iter()
        .map(|o| organisation::ActiveModel {
            code: Set(o.code.clone()),
            kind: Set(o.kind.as_str().to_owned()),
            name_zh: Set(o.name_zh.clone()),
            name_en: Set(o.name_en.clone()),
            region_id: Set(o.region_code.as_deref().and_then(|c| region_ids.get(c).copied())),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    progress.stage("organisations", org_rows.len() as u64);
    let n = org_rows.len() as u64;
    organisations::upsert_organisations(&txn, org_rows).await?;
    progress.advance(n);
    let owners: HashMap<String, organisation::Model> = organisations::all_organisations(&txn)
        .await?
        .into_iter()
        .map(|o| (o.code.clone(), o))
        .collect();

    // A large import rebuilds the search index once instead of row by row.
    let bulk = drafts.len() + devices.len() + calibrations.len() > 5000;
    if bulk {
        crate::store::set_page_cache(&txn, crate::store::BULK_PAGE_CACHE_KIB).await?;
    }
    let indexes = if bulk {
        standards::suspend_search_index(&txn).await?;
        bulk::suspend_indexes(&txn, &["standards", "devices", "calibrations"]).await?
    } else {
        vec![]
    };
    lap("organisations written");
    progress.stage("standards", drafts.len() as u64);
    let mut owner_of = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.iter().enumerate() {
        let owner = owners.get(&d.owner_code.to_ascii_uppercase());
        if let Err(e) = check_owner(d, owner) {
            return Err(ImportError::Row(RowError {
                file: STANDARDS.into(),
                line: std_table.as_ref().map(|t| t.rows[i].0).unwrap_or(0),
                column: e.field,
                reason: e.message,
            }));
        }
        owner_of.push(owner.expect("checked"));
    }
    let rows: Vec<_> = drafts
        .iter()
        .zip(&owner_of)
        .map(|(d, o)| active_model(d, o, now))
        .collect();
    standards::upsert_standards(&txn, rows).await?;
    progress.advance(drafts.len() as u64);

    lap("standards written");
    progress.stage("devices", devices.len() as u64);
    let ids = standards::standard_ids_by_cert_no(&txn).await?;
    let mut standard_of = Vec::with_capacity(devices.len());
    for (i, d) in devices.iter().enumerate() {
        let Some(&standard_id) = ids.get(&d.cert_no) else {
            return Err(ImportError::Row(RowError {
                file: DEVICES.into(),
                line: dev_table.as_ref().map(|t| t.rows[i].0).unwrap_or(0),
                column: "standard_cert_no".into(),
                reason: format!(
                    "no standard with certificate number {} in the register or in {STANDARDS}",
                    d.cert_no
                ),
            }));
        };
        standard_of.push(standard_id);
    }
    let rows: Vec<_> = devices
        .iter()
        .zip(&standard_of)
        .map(|(d, &standard_id)| device::ActiveModel {
            standard_id: Set(standard_id),
            role: Set(d.role.as_str().to_owned()),
            name: Set(d.name.clone()),
            manufacturer: Set(d.manufacturer.clone()),
            model: Set(d.model.clone()),
            serial: Set(d.serial.clone()),
            quantity: Set(d.range.map(|r| r.0.as_str().to_owned())),
            range_min_si: Set(d.range.map(|r| r.1)),
            range_max_si: Set(d.range.map(|r| r.2)),
            range_min_unit: Set(d.range.map(|r| r.3.to_owned())),
            range_max_unit: Set(d.range.map(|r| r.4.to_owned())),
            accuracy: Set(d.accuracy.clone()),
            cal_cert_no: Set(d.cal_cert_no.clone()),
            cal_date: Set(d.cal_date),
            cal_due: Set(d.cal_due),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    standards::upsert_devices(&txn, rows).await?;
    progress.advance(devices.len() as u64);
    lap("devices written");
    progress.stage("calibrations", 1);
    import_calibrations(&txn, &instruments, &calibrations, &owners, now).await?;
    progress.advance(1);
    lap("calibrations written");
    let changed = if before.is_empty() {
        0
    } else {
        audit_changed_standards(&txn, actor, now, &before).await?
    };
    let mut changes = Changes::new();
    for (name, digest) in bundle.digests() {
        changes.note(&format!("sha256:{name}"), digest.into());
    }
    changes.note("organisations", orgs.len().into());
    changes.note("standards", drafts.len().into());
    changes.note("standards_changed", changed.into());
    changes.note("devices", devices.len().into());
    changes.note("instruments", instruments.len().into());
    changes.note("calibrations", calibrations.len().into());
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "register.import",
            entity_type: "register",
            entity_id: String::new(),
            changes,
        },
    )
    .await
    .map_err(ImportError::Service)?;
    if bulk {
        progress.stage("indexing", 1);
        bulk::restore_indexes(&txn, &indexes).await?;
        lap("indexes built");
        standards::rebuild_search_index(&txn).await?;
        lap("search index built");
        bulk::analyze(&txn).await?;
        lap("statistics");
        crate::store::set_page_cache(&txn, crate::store::PAGE_CACHE_KIB).await?;
    }
    txn.commit().await?;
    lap("committed");
    if bulk {
        bulk::vacuum_after_bulk_load(db).await?;
        lap("vacuumed");
    }
    progress.finish();
    let summary = ImportSummary {
        organisations: orgs.len(),
        standards: drafts.len(),
        devices: devices.len(),
        instruments: instruments.len(),
        calibrations: calibrations.len(),
    };
    tracing::info!(actor = %actor.label(), ?summary, "import committed");
    Ok(summary)
}

/// The register's standards before an import, as the audit trail shows them, by id.
async fn snapshot_of_standards<C: sea_orm::ConnectionTrait>(
    db: &C,
) -> Result<HashMap<i32, std::collections::BTreeMap<&'static str, String>>, ImportError> {
    if standards::count_standards(db).await? == 0 {
        return Ok(HashMap::new());
    }
    let codes: HashMap<i32, String> = organisations::all_organisations(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.code))
        .collect();
    Ok(standards::all_standards(db)
        .await?
        .iter()
        .map(|s| {
            let owner = codes.get(&s.owner_id).map(String::as_str).unwrap_or_default();
            (s.id, audit_fields(&input_from_model(s, owner)))
        })
        .collect())
}

/// Records a `standard.update` event, with old and new values, for every standard
/// the import changed. Returns how many changed.
async fn audit_changed_standards<C: sea_orm::ConnectionTrait>(
    db: &C,
    actor: &Actor,
    now: DateTime<Utc>,
    before: &HashMap<i32, std::collections::BTreeMap<&'static str, String>>,
) -> Result<usize, ImportError> {
    let after = snapshot_of_standards(db).await?;
    let mut ids: Vec<&i32> = after.keys().filter(|id| before.contains_key(id)).collect();
    ids.sort_unstable();
    let mut n = 0;
    for id in ids {
        let changes = Changes::diff(&before[id], &after[id]);
        if changes.is_empty() {
            continue;
        }
        n += 1;
        audit::record(
            db,
            actor,
            now,
            Entry {
                action: "standard.update",
                entity_type: "standard",
                entity_id: id.to_string(),
                changes,
            },
        )
        .await
        .map_err(ImportError::Service)?;
    }
    Ok(n)
}
