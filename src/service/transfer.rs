//! Import and export of the register as a directory of CSV files.
//!
//! The format is documented in docs/data-format.md. `generate` writes it, `export`
//! writes it and `import` reads it. An import is all-or-nothing: every row of every
//! file is checked before anything is written, and the writes run in one transaction.
//! Rows are keyed (organisations by code, standards by certificate number, devices by
//! standard and serial number), so importing the same data twice changes nothing.

use super::audit::{self, Changes, Entry};
use super::standards::{active_model, audit_fields, check_owner, device_range, input_from_model};
use super::{Actor, Error};
use crate::domain::accounts::Role;
use crate::domain::conformity::{Decision, DecisionRule};
use crate::domain::register::{
    parse_date, validate_organisation, validate_standard, DeviceRole, OrgKind, OrganisationInput, StandardDraft,
    StandardInput,
};
use crate::domain::traceability::ItemKind;
use crate::domain::units::{parse_quantity, QuantityKind};
use crate::store::entities::{device, organisation};
use crate::store::register as q;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

pub const ORGANISATIONS: &str = "organisations.csv";
pub const STANDARDS: &str = "standards.csv";
pub const DEVICES: &str = "devices.csv";
pub use super::generate::{CALIBRATIONS, CALIBRATION_COLUMNS, INSTRUMENTS, INSTRUMENT_COLUMNS};

pub const ORGANISATION_COLUMNS: &[&str] = &["code", "kind", "name_zh", "name_en", "city"];
pub const DEVICE_COLUMNS: &[&str] = &[
    "standard_cert_no",
    "role",
    "name",
    "manufacturer",
    "model",
    "serial",
    "quantity",
    "range_min",
    "range_max",
    "accuracy",
    "cal_cert_no",
    "cal_date",
    "cal_due",
];

/// Where a bad row is and why it was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub file: String,
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, line {}, column {}: {}",
            self.file, self.line, self.column, self.reason
        )
    }
}

#[derive(Debug)]
pub enum ImportError {
    /// A row broke a rule; nothing was written.
    Row(RowError),
    /// A file could not be read.
    Io(String),
    Service(Error),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Row(r) => write!(f, "{r} (nothing was imported)"),
            ImportError::Io(m) => write!(f, "{m} (nothing was imported)"),
            ImportError::Service(e) => write!(f, "{e} (nothing was imported)"),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<sea_orm::DbErr> for ImportError {
    fn from(e: sea_orm::DbErr) -> Self {
        ImportError::Service(e.into())
    }
}

/// Reports the progress of a long command; the CLI draws it, tests ignore it.
pub trait Progress: Sync {
    fn stage(&self, _label: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Progress that goes nowhere.
pub struct Quiet;
impl Progress for Quiet {}

/// The files of a data set, read into memory (from a directory or from the binary).
pub struct Bundle {
    files: HashMap<String, Vec<u8>>,
}

impl Bundle {
    /// The SHA-256 of each file, which identifies exactly what was imported.
    pub fn digests(&self) -> std::collections::BTreeMap<String, String> {
        use sha2::{Digest, Sha256};
        self.files
            .iter()
            .map(|(name, bytes)| (name.clone(), hex::encode(Sha256::digest(bytes))))
            .collect()
    }

    pub fn from_dir(dir: &Path) -> Result<Bundle, ImportError> {
        if !dir.is_dir() {
            return Err(ImportError::Io(format!("{} is not a directory", dir.display())));
        }
        let mut files = HashMap::new();
        for name in [ORGANISATIONS, STANDARDS, DEVICES, INSTRUMENTS, CALIBRATIONS] {
            let path = dir.join(name);
            if path.exists() {
                let bytes = std::fs::read(&path)
                    .map_err(|e| ImportError::Io(format!("cannot read {}: {e}", path.display())))?;
                files.insert(name.to_owned(), bytes);
            }
        }
        if files.is_empty() {
            return Err(ImportError::Io(format!(
                "{} holds none of {ORGANISATIONS}, {STANDARDS}, {DEVICES}",
                dir.display()
            )));
        }
        Ok(Bundle { files })
    }

    pub fn from_static(files: &[(&str, &[u8])]) -> Bundle {
        Bundle {
            files: files.iter().map(|(n, b)| (n.to_string(), b.to_vec())).collect(),
        }
    }
}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportSummary {
    pub organisations: usize,
    pub standards: usize,
    pub devices: usize,
    pub instruments: usize,
    pub calibrations: usize,
}

/// A CSV file with named columns, read row by row with positions for error messages.
struct Table {
    file: String,
    columns: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn read(file: &str, bytes: &[u8], expected: &[&str]) -> Result<Table, ImportError> {
        let err = |line: u64, column: &str, reason: String| {
            ImportError::Row(RowError {
                file: file.to_owned(),
                line,
                column: column.to_owned(),
                reason,
            })
        };
        let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|e| err(1, "-", format!("unreadable header: {e}")))?
            .clone();
        let mut columns = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim();
            if !expected.contains(&h) {
                return Err(err(
                    1,
                    h,
                    format!("unknown column; the columns are: {}", expected.join(", ")),
                ));
            }
            columns.insert(h.to_owned(), i);
        }
        if let Some(missing) = expected.iter().find(|c| !columns.contains_key(**c)) {
            return Err(err(1, missing, "required column is missing".into()));
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            match record {
                Ok(r) => rows.push((r.position().map(|p| p.line()).unwrap_or(0), r)),
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    return Err(err(line, "-", format!("malformed CSV: {e}")));
                }
            }
        }
        Ok(Table {
            file: file.to_owned(),
            columns,
            rows,
        })
    }

    /// The cell's value: trimmed, and without the `'` that export puts before a value a
    /// spreadsheet would run as a formula (domain::spreadsheet).
    fn get<'r>(&self, row: &'r csv::StringRecord, column: &str) -> &'r str {
        crate::domain::spreadsheet::unescape(self.columns.get(column).and_then(|i| row.get(*i)).unwrap_or("").trim())
    }

    fn error(&self, line: u64, column: &str, reason: impl Into<String>) -> ImportError {
        ImportError::Row(RowError {
            file: self.file.clone(),
            line,
            column: column.to_owned(),
            reason: reason.into(),
        })
    }
}

struct OrgRow {
    code: String,
    kind: OrgKind,
    name_zh: String,
    name_en: String,
    region_code: Option<String>,
}

struct DeviceRow {
    cert_no: String,
    role: DeviceRole,
    name: String,
    manufacturer: String,
    model: String,
    serial: String,
    range: Option<(QuantityKind, f64, f64, &'static str, &'static str)>,
    accuracy: String,
    cal_cert_no: Option<String>,
    cal_date: Option<NaiveDate>,
    cal_due: Option<NaiveDate>,
}

fn parse_orgs(t: &Table, regions: &HashSet<String>) -> Result<Vec<OrgRow>, ImportError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, r) in &t.rows {
        let input = OrganisationInput {
            code: t.get(r, "code").to_owned(),
            kind: t.get(r, "kind").to_owned(),
            name_zh: t.get(r, "name_zh").to_owned(),
            name_en: t.get(r, "name_en").to_owned(),
            city: t.get(r, "city").to_owned(),
            // The street address is kept through the register's pages, not the CSV.
            address: String::new(),
        };
        let d = validate_organisation(&input, |c| regions.contains(c)).map_err(|errors| {
            let e = &errors[0];
            t.error(*line, &e.field, e.message.clone())
        })?;
        if !seen.insert(d.code.clone()) {
            return Err(t.error(
                *line,
                "code",
                format!("organisation {} appears twice in this file", d.code),
            ));
        }
        out.push(OrgRow {
            code: d.code,
            kind: d.kind,
            name_zh: d.name_zh,
            name_en: d.name_en,
            region_code: d.region_code,
        });
    }
    Ok(out)
}

fn parse_standards(t: &Table) -> Result<Vec<StandardDraft>, ImportError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, r) in &t.rows {
        let mut input = StandardInput::default();
        for f in StandardInput::FIELDS {
            *input.field_mut(f).expect("known field") = t.get(r, f).to_owned();
        }
        let draft = validate_standard(&input).map_err(|errs| {
            let e = &errs[0];
            t.error(*line, &e.field, e.message.clone())
        })?;
        if !seen.insert(draft.cert_no.clone()) {
            return Err(t.error(
                *line,
                "cert_no",
                format!("certificate {} appears twice in this file", draft.cert_no),
            ));
        }
        out.push(draft);
    }
    Ok(out)
}

fn optional_date(t: &Table, line: u64, column: &str, text: &str) -> Result<Option<NaiveDate>, ImportError> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse_date(column, text)
            .map(Some)
            .map_err(|e| t.error(line, column, e.message))
    }
}

fn parse_devices(t: &Table) -> Result<Vec<DeviceRow>, ImportError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, r) in &t.rows {
        let line = *line;
        let cert_no = t.get(r, "standard_cert_no");
        if cert_no.is_empty() {
            return Err(t.error(
                line,
                "standard_cert_no",
                "the standard's certificate number is required",
            ));
        }
        let role_text = t.get(r, "role");
        let role = DeviceRole::parse(role_text).ok_or_else(|| {
            t.error(
                line,
                "role",
                format!("'{role_text}' is not one of: {}", DeviceRole::choices()),
            )
        })?;
        let name = t.get(r, "name");
        if name.is_empty() {
            return Err(t.error(line, "name", "the device's name is required"));
        }
        let serial = t.get(r, "serial");
        if serial.is_empty() || serial.len() > 64 {
            return Err(t.error(line, "serial", "a serial number of 1 to 64 characters is required"));
        }
        if !seen.insert((cert_no.to_owned(), serial.to_owned())) {
            return Err(t.error(
                line,
                "serial",
                format!("serial {serial} appears twice for standard {cert_no}"),
            ));
        }
        let quantity = t.get(r, "quantity");
        let range = if quantity.is_empty() {
            None
        } else {
            let kind = QuantityKind::parse(quantity)
                .ok_or_else(|| t.error(line, "quantity", format!("'{quantity}' is not a kind of quantity")))?;
            let lo = parse_quantity("range_min", t.get(r, "range_min"), kind)
                .map_err(|e| t.error(line, "range_min", e.message))?;
            let hi = parse_quantity("range_max", t.get(r, "range_max"), kind)
                .map_err(|e| t.error(line, "range_max", e.message))?;
            if lo.si > hi.si {
                return Err(t.error(line, "range_max", "the upper limit is below the lower limit"));
            }
            Some((kind, lo.si, hi.si, lo.unit, hi.unit))
        };
        let cal_date = optional_date(t, line, "cal_date", t.get(r, "cal_date"))?;
        let cal_due = optional_date(t, line, "cal_due", t.get(r, "cal_due"))?;
        if let (Some(d), Some(due)) = (cal_date, cal_due) {
            if due <= d {
                return Err(t.error(
                    line,
                    "cal_due",
                    format!("the due date {due} is not after the calibration date {d}"),
                ));
            }
        }
        out.push(DeviceRow {
            cert_no: cert_no.to_owned(),
            role,
            name: name.to_owned(),
            manufacturer: t.get(r, "manufacturer").to_owned(),
            model: t.get(r, "model").to_owned(),
            serial: serial.to_owned(),
            range,
            accuracy: t.get(r, "accuracy").to_owned(),
            cal_cert_no: Some(t.get(r, "cal_cert_no").to_owned()).filter(|s| !s.is_empty()),
            cal_date,
            cal_due,
        });
    }
    Ok(out)
}

struct InstrumentRow {
    owner_code: String,
    name: String,
    manufacturer: String,
    model: String,
    serial: String,
    category_code: String,
    quantity: Option<QuantityKind>,
    mpe: Option<crate::domain::units::Quantity>,
}

fn parse_instruments(t: &Table) -> Result<Vec<InstrumentRow>, ImportError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, r) in &t.rows {
        let line = *line;
        let owner = t.get(r, "owner");
        if owner.is_empty() {
            return Err(t.error(line, "owner", "the owner's organisation code is required"));
        }
        let name = t.get(r, "name");
        if name.is_empty() {
            return Err(t.error(line, "name", "the instrument's name is required"));
        }
        let serial = t.get(r, "serial");
        if serial.is_empty() || serial.len() > 64 {
            return Err(t.error(line, "serial", "a serial number of 1 to 64 characters is required"));
        }
        if !seen.insert((owner.to_ascii_uppercase(), serial.to_owned())) {
            return Err(t.error(line, "serial", format!("serial {serial} appears twice for {owner}")));
        }
        let code = t.get(r, "category_code");
        crate::domain::codes::validate_jjf1022("category_code", code)
            .map_err(|e| t.error(line, "category_code", e.message))?;
        let quantity_text = t.get(r, "quantity");
        let quantity = if quantity_text.is_empty() {
            None
        } else {
            Some(
                QuantityKind::parse(quantity_text)
                    .ok_or_else(|| t.error(line, "quantity", format!("'{quantity_text}' is not a kind of quantity")))?,
            )
        };
        let mpe_text = t.get(r, "mpe");
        let mpe = match (quantity, mpe_text.is_empty()) {
            (_, true) => None,
            (Some(k), false) => Some(
                crate::domain::units::parse_tolerance("mpe", mpe_text, k.difference_kind())
                    .map_err(|e| t.error(line, "mpe", e.message))?,
            ),
            (None, false) => return Err(t.error(line, "quantity", "an MPE needs the kind of quantity")),
        };
        out.push(InstrumentRow {
            owner_code: owner.to_ascii_uppercase(),
            name: name.to_owned(),
            manufacturer: t.get(r, "manufacturer").to_owned(),
            model: t.get(r, "model").to_owned(),
            serial: serial.to_owned(),
            category_code: code.to_owned(),
            quantity,
            mpe,
        });
    }
    Ok(out)
}

struct CalibrationRow {
    line: u64,
    item: (ItemKind, String),
    reference: Option<(ItemKind, String)>,
    provider: Option<String>,
    evidence: String,
    certificate_no: String,
    calibrated_on: NaiveDate,
    valid_until: NaiveDate,
    quantity: Option<QuantityKind>,
    uncertainty: Option<crate::domain::units::Quantity>,
    mpe: Option<crate::domain::units::Quantity>,
    error: Option<crate::domain::units::Quantity>,
    rule: Option<DecisionRule>,
    decision: Option<Decision>,
}

fn parse_calibrations(t: &Table) -> Result<Vec<CalibrationRow>, ImportError> {
    let mut out = Vec::with_capacity(t.rows.len());
    let kind = |line: u64, column: &str, text: &str| {
        ItemKind::parse(text)
            .ok_or_else(|| t.error(line, column, format!("'{text}' is not one of: {}", ItemKind::choices())))
    };
    for (line, r) in &t.rows {
        let line = *line;
        let item_kind = kind(line, "item_kind", t.get(r, "item_kind"))?;
        let item = t.get(r, "item");
        if item.is_empty() {
            return Err(t.error(line, "item", "the item's key is required"));
        }
        let (ref_kind, reference, provider) = (t.get(r, "reference_kind"), t.get(r, "reference"), t.get(r, "provider"));
        let reference = match (ref_kind.is_empty() && reference.is_empty(), provider.is_empty()) {
            (false, true) => {
                let k = kind(line, "reference_kind", ref_kind)?;
                if k == ItemKind::Instrument {
                    return Err(t.error(
                        line,
                        "reference_kind",
                        "an enterprise's instrument cannot be a reference",
                    ));
                }
                if reference.is_empty() {
                    return Err(t.error(line, "reference", "the reference's key is required"));
                }
                Some((k, reference.to_owned()))
            }
            (true, false) => None,
            _ => {
                return Err(t.error(
                    line,
                    "reference",
                    "give either a reference in the register or an external provider, not both or neither",
                ))
            }
        };
        let certificate_no = t.get(r, "certificate_no");
        if certificate_no.is_empty() || certificate_no.len() > 128 {
            return Err(t.error(
                line,
                "certificate_no",
                "a certificate number of 1 to 128 characters is required",
            ));
        }
        let calibrated_on = parse_date("calibrated_on", t.get(r, "calibrated_on"))
            .map_err(|e| t.error(line, "calibrated_on", e.message))?;
        let valid_until =
            parse_date("valid_until", t.get(r, "valid_until")).map_err(|e| t.error(line, "valid_until", e.message))?;
        if valid_until < calibrated_on {
            return Err(t.error(
                line,
                "valid_until",
                "the certificate cannot expire before the calibration date",
            ));
        }
        let quantity_text = t.get(r, "quantity");
        let quantity = if quantity_text.is_empty() {
            None
        } else {
            Some(
                QuantityKind::parse(quantity_text)
                    .ok_or_else(|| t.error(line, "quantity", format!("'{quantity_text}' is not a kind of quantity")))?,
            )
        };
        let value = |column: &str, tolerance: bool| -> Result<Option<crate::domain::units::Quantity>, ImportError> {
            let text = t.get(r, column);
            if text.is_empty() {
                return Ok(None);
            }
            let k =
                quantity.ok_or_else(|| t.error(line, "quantity", format!("{column} needs the kind of quantity")))?;
            let q = if tolerance {
                crate::domain::units::parse_tolerance(column, text, k.difference_kind())
            } else {
                parse_quantity(column, text, k.difference_kind())
            };
            q.map(Some).map_err(|e| t.error(line, column, e.message))
        };
        let uncertainty = value("uncertainty", false)?;
        if uncertainty.is_some_and(|u| u.si <= 0.0) {
            return Err(t.error(
                line,
                "uncertainty",
                "the expanded uncertainty must be greater than zero",
            ));
        }
        let rule_text = t.get(r, "decision_rule");
        let rule = if rule_text.is_empty() {
            None
        } else {
            Some(DecisionRule::parse(rule_text).ok_or_else(|| {
                t.error(
                    line,
                    "decision_rule",
                    format!("'{rule_text}' is not one of: {}", DecisionRule::choices()),
                )
            })?)
        };
        let decision_text = t.get(r, "decision");
        let decision = if decision_text.is_empty() {
            None
        } else {
            Some(Decision::parse(decision_text).ok_or_else(|| {
                t.error(
                    line,
                    "decision",
                    format!("'{decision_text}' is not one of: {}", Decision::choices()),
                )
            })?)
        };
        out.push(CalibrationRow {
            line,
            item: (item_kind, item.to_owned()),
            reference,
            provider: (!provider.is_empty()).then(|| provider.to_ascii_uppercase()),
            evidence: t.get(r, "provider_evidence").to_owned(),
            certificate_no: certificate_no.to_owned(),
            calibrated_on,
            valid_until,
            quantity,
            uncertainty,
            mpe: value("mpe", true)?,
            error: value("as_found_error", false)?,
            rule,
            decision,
        });
    }
    Ok(out)
}

/// Writes the instruments and calibrations of an import, after its organisations,
/// standards and devices. Items and references are found by their keys (a standard by
/// its certificate number, a device as "certificate#serial", an instrument as
/// "owner code#serial"), in the file or already in the register; a set of links that
/// would close a cycle is refused.
async fn import_links<C: sea_orm::ConnectionTrait>(
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
    tq::upsert_instruments(txn, rows).await?;
    if calibrations.is_empty() {
        return Ok(());
    }
    // Every item's id by its key.
    let standards = q::standard_ids_by_cert_no(txn).await?;
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
    tq::upsert_calibrations(txn, rows).await?;
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
    let regions = q::all_regions(db).await?;
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
                let t = Table::read(STANDARDS, b, StandardInput::FIELDS)?;
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
    q::upsert_organisations(&txn, org_rows).await?;
    progress.advance(n);
    let owners: HashMap<String, organisation::Model> = q::all_organisations(&txn)
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
        q::suspend_search_index(&txn).await?;
        q::suspend_indexes(&txn, &["standards", "devices", "calibrations"]).await?
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
    q::upsert_standards(&txn, rows).await?;
    progress.advance(drafts.len() as u64);

    lap("standards written");
    progress.stage("devices", devices.len() as u64);
    let ids = q::standard_ids_by_cert_no(&txn).await?;
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
    q::upsert_devices(&txn, rows).await?;
    progress.advance(devices.len() as u64);
    lap("devices written");
    progress.stage("calibrations", 1);
    import_links(&txn, &instruments, &calibrations, &owners, now).await?;
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
        q::restore_indexes(&txn, &indexes).await?;
        lap("indexes built");
        q::rebuild_search_index(&txn).await?;
        lap("search index built");
        q::analyze(&txn).await?;
        lap("statistics");
        crate::store::set_page_cache(&txn, crate::store::PAGE_CACHE_KIB).await?;
    }
    txn.commit().await?;
    lap("committed");
    if bulk {
        q::vacuum_after_bulk_load(db).await?;
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
    let regions: HashMap<i32, String> = q::all_regions(&txn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.code))
        .collect();
    let orgs = q::all_organisations(&txn).await?;
    let standards = q::all_standards(&txn).await?;
    let devices = q::all_devices(&txn).await?;
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
    w.write_record(StandardInput::FIELDS).map_err(io)?;
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

/// The register's standards before an import, as the audit trail shows them, by id.
async fn snapshot_of_standards<C: sea_orm::ConnectionTrait>(
    db: &C,
) -> Result<HashMap<i32, std::collections::BTreeMap<&'static str, String>>, ImportError> {
    if q::count_standards(db).await? == 0 {
        return Ok(HashMap::new());
    }
    let codes: HashMap<i32, String> = q::all_organisations(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.code))
        .collect();
    Ok(q::all_standards(db)
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
