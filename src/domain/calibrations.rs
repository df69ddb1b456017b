//! The rules of a calibration entered for an item of the register (a link of its chain to
//! the SI), by hand or read from an upstream laboratory's DCC: against a reference in the
//! register or an external provider (one of the two), never an instrument, never closing a
//! cycle, with a reference usable on the day (JJF 1033-2023), dates in order, U above zero
//! and in the item's kind of quantity.
//!
//! Pure: what the rules need from the database arrives as a [`CalibrationContext`].

use super::register::{parse_date, OrgKind};
use super::traceability::{out_of_service, Item, ItemKind};
use super::units::{parse_quantity, unit_from_dsi, Quantity, QuantityKind};
use super::Error;
use chrono::NaiveDate;

/// A calibration as entered (typically an external calibration of a standard's device).
#[derive(Debug, Clone, Default)]
pub struct CalibrationInput {
    pub item_kind: String,
    pub item_id: String,
    pub reference_kind: String,
    pub reference_id: String,
    /// The external provider's organisation code, instead of a reference.
    pub provider: String,
    pub provider_evidence: String,
    pub certificate_no: String,
    pub calibrated_on: String,
    pub valid_until: String,
    /// The expanded uncertainty stated on the certificate, with its unit ("0.05 µm").
    pub uncertainty: String,
    /// The item's MPE ("±0.2 µm"), optional.
    pub mpe: String,
}

impl CalibrationInput {
    pub const FIELDS: &'static [&'static str] = &[
        "item_kind",
        "item_id",
        "reference_kind",
        "reference_id",
        "provider",
        "provider_evidence",
        "certificate_no",
        "calibrated_on",
        "valid_until",
        "uncertainty",
        "mpe",
    ];

    pub fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "item_kind" => &mut self.item_kind,
            "item_id" => &mut self.item_id,
            "reference_kind" => &mut self.reference_kind,
            "reference_id" => &mut self.reference_id,
            "provider" => &mut self.provider,
            "provider_evidence" => &mut self.provider_evidence,
            "certificate_no" => &mut self.certificate_no,
            "calibrated_on" => &mut self.calibrated_on,
            "valid_until" => &mut self.valid_until,
            "uncertainty" => &mut self.uncertainty,
            "mpe" => &mut self.mpe,
            _ => return None,
        })
    }

    /// The item calibrated, or the errors of its kind and id.
    pub fn item(&self) -> Result<Item, Vec<Error>> {
        let mut errors = Vec::new();
        let kind = ItemKind::parse(&self.item_kind);
        if kind.is_none() {
            errors.push(Error::new(
                "item_kind",
                "traceability.kind_invalid",
                format!("choose one of: {}", ItemKind::choices()),
            ));
        }
        let id = self.item_id.trim().parse::<i32>().ok();
        if id.is_none() {
            errors.push(Error::new(
                "item_id",
                "traceability.item_missing",
                "name the item by its id (a whole number)",
            ));
        }
        match (kind, id) {
            (Some(k), Some(i)) => Ok(Item::new(k, i)),
            _ => Err(errors),
        }
    }

    /// The reference in the register it names, if it names one readably.
    pub fn reference(&self) -> Option<Item> {
        Some(Item::new(
            ItemKind::parse(self.reference_kind.trim())?,
            self.reference_id.trim().parse().ok()?,
        ))
    }

    /// The day of the calibration, if it reads as a date.
    pub fn calibrated_day(&self) -> Option<NaiveDate> {
        parse_date("calibrated_on", &self.calibrated_on).ok()
    }
}

impl super::TextFields for CalibrationInput {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        self.field_mut(name)
    }
}

/// One result quantity an upstream DCC states.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultQuantity {
    /// The quantity's first name (dcc:name/dcc:content), e.g. "示值误差".
    pub name: String,
    /// Every name given, in every language, for matching ("Indication error").
    pub names: Vec<String>,
    pub value: f64,
    /// The D-SI unit as written (\milli\metre).
    pub dsi_unit: String,
    /// The expanded uncertainty, its coverage factor and probability.
    pub expanded: Option<(f64, f64, f64)>,
}

/// The register standard behind a reference (the standard itself, or the one a device
/// belongs to), for whether it was usable on the day.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardFacts {
    pub cert_no: String,
    pub status: String,
    pub cert_expires_on: NaiveDate,
}

/// What the register says of the reference the input names.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceFacts {
    /// Whether it is an item of the register.
    pub in_register: bool,
    /// Whether it is traceable to the item already (a link would close a cycle).
    pub above_or_same: bool,
    pub standard: Option<StandardFacts>,
}

/// What the rules read from the database.
#[derive(Debug, Clone, Default)]
pub struct CalibrationContext<'a> {
    /// The item's kind of quantity, when the register states one.
    pub item_quantity: Option<String>,
    /// Facts of `input.reference()`, when it names one.
    pub reference: Option<ReferenceFacts>,
    /// The organisation with the provider's code, if any: its id and kind.
    pub provider: Option<(i32, Option<OrgKind>)>,
    /// The results of the DCC the calibration is read from.
    pub dcc: Option<&'a [ResultQuantity]>,
}

/// A calibration that passed every rule, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationDraft {
    pub item: Item,
    pub reference: Option<Item>,
    pub provider_id: Option<i32>,
    pub provider_evidence: String,
    pub certificate_no: String,
    pub calibrated_on: NaiveDate,
    pub valid_until: NaiveDate,
    pub quantity: Option<String>,
    pub uncertainty: Option<Quantity>,
    pub mpe: Option<Quantity>,
    /// From a DCC: the first indication error stated before any adjustment, in SI.
    pub as_found_error_si: Option<f64>,
}

/// The names under which a DCC states an indication error or deviation.
fn names_an_error(names: &[String]) -> bool {
    names.iter().any(|n| {
        let n = n.to_lowercase();
        ["error", "deviation", "误差", "偏差", "abweichung", "messabweichung"]
            .iter()
            .any(|w| n.contains(w))
    })
}

/// The names under which a DCC states a result after adjustment (as left).
fn names_as_left(names: &[String]) -> bool {
    names.iter().any(|n| {
        let n = n.to_lowercase();
        ["after adjustment", "as left", "as-left", "调整后", "nach justierung"]
            .iter()
            .any(|w| n.contains(w))
    })
}

/// Checks a calibration of `item` as entered against every rule; the draft to write, or
/// every error, each naming its field.
pub fn draft(item: Item, input: &CalibrationInput, ctx: &CalibrationContext) -> Result<CalibrationDraft, Vec<Error>> {
    let mut errors: Vec<Error> = Vec::new();
    let qkind = ctx.item_quantity.as_deref().and_then(QuantityKind::parse);
    // What it was calibrated against: a register item or an external provider.
    let mut reference: Option<Item> = None;
    let mut provider_id: Option<i32> = None;
    match (input.reference_kind.trim().is_empty(), input.provider.trim().is_empty()) {
        (false, true) => match (
            ItemKind::parse(input.reference_kind.trim()),
            input.reference_id.trim().parse::<i32>().ok(),
        ) {
            (Some(k), Some(rid)) => reference = Some(Item::new(k, rid)),
            (None, _) => errors.push(Error::new(
                "reference_kind",
                "traceability.kind_invalid",
                format!("choose one of: {}", ItemKind::choices()),
            )),
            (_, None) => errors.push(Error::new(
                "reference_id",
                "traceability.reference_missing",
                "name the reference by its id (a whole number)",
            )),
        },
        (true, false) => match ctx.provider {
            Some((id, Some(OrgKind::ExternalNmi | OrgKind::AccreditedLab))) => provider_id = Some(id),
            _ => errors.push(Error::new(
                "provider",
                "traceability.provider_unknown",
                "no external metrology institute or accredited laboratory with this code",
            )),
        },
        _ => errors.push(Error::new(
            "reference_kind",
            "traceability.parent_one",
            "give either a reference in the register or an external provider, not both or neither",
        )),
    }
    let facts = reference.and(ctx.reference.as_ref());
    if let Some(r) = reference {
        if r.kind == ItemKind::Instrument {
            errors.push(Error::new(
                "reference_kind",
                "traceability.reference_instrument",
                "an enterprise's instrument cannot be a reference",
            ));
        } else if !facts.is_some_and(|f| f.in_register) {
            errors.push(Error::new(
                "reference_id",
                "traceability.reference_unknown",
                "no such item",
            ));
        } else if r == item || facts.is_some_and(|f| f.above_or_same) {
            errors.push(Error::new(
                "reference_id",
                "traceability.cycle",
                "this reference is traceable to the item itself: the link would close a cycle",
            ));
        }
    }
    if input.certificate_no.trim().is_empty() {
        errors.push(Error::new(
            "certificate_no",
            "traceability.certificate_missing",
            "the certificate number is required",
        ));
    }
    let calibrated_on = parse_date("calibrated_on", &input.calibrated_on)
        .map_err(|e| errors.push(e))
        .ok();
    let valid_until = parse_date("valid_until", &input.valid_until)
        .map_err(|e| errors.push(e))
        .ok();
    if let (Some(a), Some(b)) = (calibrated_on, valid_until) {
        if b < a {
            errors.push(Error::new(
                "valid_until",
                "traceability.valid_before_calibrated",
                "the certificate cannot expire before the calibration date",
            ));
        }
    }
    // JJF 1033-2023: a standard whose assessment certificate had expired on the day, or
    // that was out of service, cannot have been used for a calibration.
    if let (Some(s), Some(on)) = (facts.and_then(|f| f.standard.as_ref()), calibrated_on) {
        if let Some(e) = out_of_service(&s.cert_no, &s.status, s.cert_expires_on, on) {
            errors.push(e);
        }
    }
    let mut uncertainty = None;
    let mut mpe = None;
    match qkind {
        Some(k) => {
            if !input.uncertainty.trim().is_empty() {
                match parse_quantity("uncertainty", &input.uncertainty, k.difference_kind()) {
                    Ok(u) if u.si > 0.0 => uncertainty = Some(u),
                    Ok(_) => errors.push(Error::new(
                        "uncertainty",
                        "traceability.uncertainty_not_positive",
                        "the expanded uncertainty must be greater than zero",
                    )),
                    Err(e) => errors.push(e),
                }
            }
            if !input.mpe.trim().is_empty() {
                use crate::domain::limits::Term;
                match crate::domain::limits::parse_mpe("mpe", &input.mpe, k) {
                    // A link states no reading for a relative MPE to be taken of, and its
                    // TUR compares the MPE with an absolute U (issue 21, defect 6).
                    Ok(m) if m.terms.iter().any(|t| !matches!(t, Term::Absolute(_))) => {
                        errors.push(Error::new(
                            "mpe",
                            "traceability.mpe_relative",
                            "give the maximum permissible error in a unit of the item's quantity: a relative MPE needs the value it is taken of",
                        ))
                    }
                    Ok(m) => {
                        let d = k.difference_kind();
                        mpe = Some(Quantity {
                            kind: d,
                            si: m.at(0.0),
                            unit: m.plain.as_ref().map_or(d.si_symbol(), |p| p.1),
                        })
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        None if !input.uncertainty.trim().is_empty() => errors.push(Error::new(
            "uncertainty",
            "traceability.quantity_unknown",
            "the item has no kind of quantity to read the uncertainty in",
        )),
        None => {}
    }
    // From a DCC: the result in a unit of the item's quantity with the largest U.
    let mut as_found = None;
    if let (Some(results), Some(k)) = (ctx.dcc, qkind) {
        let d = k.difference_kind();
        let read: Vec<(&ResultQuantity, Quantity, Quantity)> = results
            .iter()
            .filter_map(|r| {
                let unit = unit_from_dsi(d, &r.dsi_unit)?;
                let (u, _, _) = r.expanded?;
                let u = parse_quantity("file", &format!("{u} {unit}"), d).ok()?;
                let v = parse_quantity("file", &format!("{} {unit}", r.value), d).ok()?;
                Some((r, u, v))
            })
            .collect();
        // The largest U (the first of equals) is the link's; the as-found error is the
        // first error stated before any adjustment.
        let best = read.iter().fold(None, |b: Option<&(_, Quantity, _)>, x| match b {
            Some(b) if b.1.si >= x.1.si => Some(b),
            _ => Some(x),
        });
        as_found = read
            .iter()
            .find(|(r, _, _)| names_an_error(&r.names) && !names_as_left(&r.names))
            .map(|(_, _, v)| v.si);
        match best {
            Some((_, u, _)) if u.si > 0.0 => uncertainty = Some(*u),
            _ => errors.push(Error::new(
                "file",
                "dcc.no_result",
                format!(
                    "no result of the DCC is in a unit of {} with an expanded uncertainty",
                    d.as_str()
                ),
            )),
        }
    }
    match (calibrated_on, valid_until) {
        (Some(calibrated_on), Some(valid_until)) if errors.is_empty() => Ok(CalibrationDraft {
            item,
            reference,
            provider_id,
            provider_evidence: input.provider_evidence.trim().to_owned(),
            certificate_no: input.certificate_no.trim().to_owned(),
            calibrated_on,
            valid_until,
            quantity: ctx.item_quantity.clone(),
            uncertainty,
            mpe,
            as_found_error_si: as_found,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CalibrationInput {
        CalibrationInput {
            item_kind: "device".into(),
            item_id: "5".into(),
            reference_kind: "standard".into(),
            reference_id: "1".into(),
            certificate_no: "GD-2026-031".into(),
            calibrated_on: "2026-09-01".into(),
            valid_until: "2027-08-31".into(),
            uncertainty: "0.05 µm".into(),
            mpe: "±0.2 µm".into(),
            ..Default::default()
        }
    }

    fn reference(standard: StandardFacts) -> ReferenceFacts {
        ReferenceFacts {
            in_register: true,
            above_or_same: false,
            standard: Some(standard),
        }
    }

    fn usable() -> StandardFacts {
        StandardFacts {
            cert_no: "[2024]粤社量标证字第000038号".into(),
            status: "in_service".into(),
            cert_expires_on: NaiveDate::from_ymd_opt(2028, 12, 31).unwrap(),
        }
    }

    fn ctx(r: ReferenceFacts) -> CalibrationContext<'static> {
        CalibrationContext {
            item_quantity: Some("length".into()),
            reference: Some(r),
            ..Default::default()
        }
    }

    #[test]
    fn a_calibration_against_a_usable_standard_is_drafted_in_si() {
        let i = input();
        let d = draft(i.item().unwrap(), &i, &ctx(reference(usable()))).unwrap();
        assert_eq!(d.reference, Some(Item::new(ItemKind::Standard, 1)));
        assert_eq!(d.uncertainty.map(|u| (u.si, u.unit)), Some((0.05e-6, "µm")));
        assert!((d.mpe.unwrap().si - 0.2e-6).abs() < 1e-18);
        assert_eq!(d.calibrated_on, NaiveDate::from_ymd_opt(2026, 9, 1).unwrap());
    }

    #[test]
    fn a_cycle_an_expired_reference_and_reversed_dates_are_named() {
        let mut i = input();
        i.valid_until = "2026-08-31".into();
        let mut expired = usable();
        expired.cert_expires_on = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let codes: Vec<&str> = draft(i.item().unwrap(), &i, &ctx(reference(expired)))
            .unwrap_err()
            .iter()
            .map(|e| e.code)
            .collect();
        assert!(codes.contains(&"traceability.valid_before_calibrated"), "{codes:?}");
        assert!(codes.contains(&"traceability.reference_expired"), "{codes:?}");
        let mut cyclic = reference(usable());
        cyclic.above_or_same = true;
        let errors = draft(i.item().unwrap(), &input(), &ctx(cyclic)).unwrap_err();
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code),
            ("reference_id", "traceability.cycle")
        );
    }

    #[test]
    fn a_provider_must_be_an_external_institute_or_an_accredited_laboratory() {
        let mut i = input();
        i.reference_kind.clear();
        i.reference_id.clear();
        i.provider = "12100000400000624D".into();
        let mut c = ctx(reference(usable()));
        c.provider = Some((9, Some(OrgKind::ExternalNmi)));
        assert_eq!(draft(i.item().unwrap(), &i, &c).unwrap().provider_id, Some(9));
        c.provider = Some((9, Some(OrgKind::Enterprise)));
        let errors = draft(i.item().unwrap(), &i, &c).unwrap_err();
        assert_eq!(errors[0].code, "traceability.provider_unknown");
    }

    #[test]
    fn from_a_dcc_the_largest_u_and_the_as_found_error_are_taken() {
        // Two results in millimetres: the indication error −0.00012 mm with U = 0.00005 mm,
        // and after adjustment 0.00001 mm with U = 0.00003 mm. The link takes U = 0.05 µm
        // (the larger) and the as-found error −0.12 µm (the one before adjustment).
        let results = vec![
            ResultQuantity {
                name: "示值误差".into(),
                names: vec!["示值误差".into(), "Indication error".into()],
                value: -0.00012,
                dsi_unit: "\\milli\\metre".into(),
                expanded: Some((0.00005, 2.0, 0.95)),
            },
            ResultQuantity {
                name: "调整后误差".into(),
                names: vec!["调整后误差".into(), "Error after adjustment".into()],
                value: 0.00001,
                dsi_unit: "\\milli\\metre".into(),
                expanded: Some((0.00003, 2.0, 0.95)),
            },
        ];
        let mut i = input();
        i.uncertainty.clear();
        let mut c = ctx(reference(usable()));
        c.dcc = Some(&results);
        let d = draft(i.item().unwrap(), &i, &c).unwrap();
        assert!((d.uncertainty.unwrap().si - 0.05e-6).abs() < 1e-18);
        assert!((d.as_found_error_si.unwrap() + 0.12e-6).abs() < 1e-18);
    }
}
