//! Reading the files: each CSV table with its positions, and each row checked into what
//! the import writes. Every bad cell is named by file, line and column.

use super::format::{ImportError, RowError};
use crate::domain::conformity::{Decision, DecisionRule};
use crate::domain::register::{
    parse_date, validate_organisation, validate_standard, DeviceRole, OrgKind, OrganisationInput, StandardDraft,
    StandardInput,
};
use crate::domain::traceability::ItemKind;
use crate::domain::units::{parse_quantity, QuantityKind};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

/// A CSV file with named columns, read row by row with positions for error messages.
pub(super) struct Table {
    pub(super) file: String,
    pub(super) columns: HashMap<String, usize>,
    pub(super) rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    pub(super) fn read(file: &str, bytes: &[u8], expected: &[&str]) -> Result<Table, ImportError> {
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
    pub(super) fn get<'r>(&self, row: &'r csv::StringRecord, column: &str) -> &'r str {
        crate::domain::spreadsheet::unescape(self.columns.get(column).and_then(|i| row.get(*i)).unwrap_or("").trim())
    }

    pub(super) fn error(&self, line: u64, column: &str, reason: impl Into<String>) -> ImportError {
        ImportError::Row(RowError {
            file: self.file.clone(),
            line,
            column: column.to_owned(),
            reason: reason.into(),
        })
    }
}

pub(super) struct OrgRow {
    pub(super) code: String,
    pub(super) kind: OrgKind,
    pub(super) name_zh: String,
    pub(super) name_en: String,
    pub(super) region_code: Option<String>,
}

pub(super) struct DeviceRow {
    pub(super) cert_no: String,
    pub(super) role: DeviceRole,
    pub(super) name: String,
    pub(super) manufacturer: String,
    pub(super) model: String,
    pub(super) serial: String,
    pub(super) range: Option<(QuantityKind, f64, f64, &'static str, &'static str)>,
    pub(super) accuracy: String,
    pub(super) cal_cert_no: Option<String>,
    pub(super) cal_date: Option<NaiveDate>,
    pub(super) cal_due: Option<NaiveDate>,
}

pub(super) fn parse_orgs(t: &Table, regions: &HashSet<String>) -> Result<Vec<OrgRow>, ImportError> {
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

pub(super) fn parse_standards(t: &Table) -> Result<Vec<StandardDraft>, ImportError> {
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

pub(super) fn optional_date(t: &Table, line: u64, column: &str, text: &str) -> Result<Option<NaiveDate>, ImportError> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse_date(column, text)
            .map(Some)
            .map_err(|e| t.error(line, column, e.message))
    }
}

pub(super) fn parse_devices(t: &Table) -> Result<Vec<DeviceRow>, ImportError> {
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

pub(super) struct InstrumentRow {
    pub(super) owner_code: String,
    pub(super) name: String,
    pub(super) manufacturer: String,
    pub(super) model: String,
    pub(super) serial: String,
    pub(super) category_code: String,
    pub(super) quantity: Option<QuantityKind>,
    pub(super) mpe: Option<crate::domain::units::Quantity>,
}

pub(super) fn parse_instruments(t: &Table) -> Result<Vec<InstrumentRow>, ImportError> {
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

pub(super) struct CalibrationRow {
    pub(super) line: u64,
    pub(super) item: (ItemKind, String),
    pub(super) reference: Option<(ItemKind, String)>,
    pub(super) provider: Option<String>,
    pub(super) evidence: String,
    pub(super) certificate_no: String,
    pub(super) calibrated_on: NaiveDate,
    pub(super) valid_until: NaiveDate,
    pub(super) quantity: Option<QuantityKind>,
    pub(super) uncertainty: Option<crate::domain::units::Quantity>,
    pub(super) mpe: Option<crate::domain::units::Quantity>,
    pub(super) error: Option<crate::domain::units::Quantity>,
    pub(super) rule: Option<DecisionRule>,
    pub(super) decision: Option<Decision>,
}

pub(super) fn parse_calibrations(t: &Table) -> Result<Vec<CalibrationRow>, ImportError> {
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
