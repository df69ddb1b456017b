//! A record as its laboratory sees it, and the budgets its form offers.

use super::content_sha256;
use crate::domain::records::workflow::{self, Mover};
use crate::domain::units::{from_si, QuantityKind};
use crate::service::{Actor, Error, Result};
use crate::store::entities::{calibration_record, record_edit, record_point, record_signature};
use crate::store::records as q;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;

/// A saved budget the record form offers as a point's U.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetChoice {
    pub id: i32,
    pub title: String,
    /// The first measurand's report line ("U = 0.05 µm, k = 2").
    pub report: String,
}

/// The laboratory's saved budgets, for its technicians' record form.
pub async fn budget_choices(actor: &Actor, db: &DatabaseConnection, lab: i32) -> Result<Vec<BudgetChoice>> {
    actor.require_login()?;
    if !actor.sees_organisation(lab) {
        return Err(Error::NotFound { what: "laboratory" });
    }
    Ok(crate::store::budgets::budgets_of_organisation(db, lab)
        .await?
        .into_iter()
        .map(|b| BudgetChoice {
            id: b.id,
            report: serde_json::from_str::<crate::domain::uncertainty::Evaluation>(&b.result)
                .ok()
                .and_then(|e| e.results.into_iter().next())
                .map(|r| r.report)
                .unwrap_or_default(),
            title: b.title,
        })
        .collect())
}

/// A calibration record as its laboratory sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub id: i32,
    pub work_order_id: i32,
    /// calibration or verification.
    pub kind: String,
    pub method: String,
    pub quantity: String,
    pub decision_rule: String,
    /// The guard band w as a multiple of U (ILAC-G8 §4.2.2).
    pub guard_multiple: f64,
    pub received_on: NaiveDate,
    pub calibrated_on: NaiveDate,
    pub temperature_si: f64,
    pub temperature_unit: String,
    pub humidity_percent: f64,
    pub adjusted: bool,
    pub interval_months: Option<i32>,
    /// The laboratory's CMC for the range, in SI: no U is reported below it.
    pub cmc_si: Option<f64>,
    /// draft, recorded, reviewed, issued or withdrawn (docs/workflow.md).
    pub status: String,
    /// Why it was last returned to its technician or withdrawn.
    pub status_reason: Option<String>,
    pub certificate_id: Option<i32>,
    /// The item's condition on receipt, when stated, and whether the work was done on
    /// site at the customer's.
    pub condition_on_receipt: Option<String>,
    pub on_site: bool,
    /// 1, or n + 1 once an amendment of its certificate reopened it.
    pub revision: i32,
    /// The certificate this revision amends, and why.
    pub amends_certificate_id: Option<i32>,
    pub amendment_reason: Option<String>,
    pub created_by: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<calibration_record::Model> for Record {
    fn from(m: calibration_record::Model) -> Self {
        Self {
            id: m.id,
            work_order_id: m.work_order_id,
            kind: m.kind,
            method: m.method,
            quantity: m.quantity,
            decision_rule: m.decision_rule,
            guard_multiple: m.guard_multiple,
            received_on: m.received_on,
            calibrated_on: m.calibrated_on,
            temperature_si: m.temperature_si,
            temperature_unit: m.temperature_unit,
            humidity_percent: m.humidity_percent,
            adjusted: m.adjusted,
            interval_months: m.interval_months,
            cmc_si: m.cmc_si,
            status: m.status,
            status_reason: m.status_reason,
            certificate_id: m.certificate_id,
            condition_on_receipt: m.condition_on_receipt,
            on_site: m.on_site,
            revision: m.revision,
            amends_certificate_id: m.amends_certificate_id,
            amendment_reason: m.amendment_reason,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// One measured point of a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordPoint {
    pub id: i32,
    pub record_id: i32,
    pub position: i32,
    pub unit: String,
    pub nominal_si: f64,
    pub reference_si: f64,
    /// The readings as entered (JSON list of strings), in `unit`.
    pub readings: String,
    pub error_si: f64,
    pub u_si: f64,
    pub u_unit: String,
    pub k: f64,
    pub p: f64,
    pub u_source: String,
    pub raised_to_cmc: bool,
    pub mpe_si: Option<f64>,
    /// Limits on the error given as such (one-sided, asymmetric, relative or compound),
    /// and as typed.
    pub lower_limit_si: Option<f64>,
    pub upper_limit_si: Option<f64>,
    pub limits_text: Option<String>,
    pub decision: Option<String>,
    pub as_left_error_si: Option<f64>,
}

impl From<record_point::Model> for RecordPoint {
    fn from(m: record_point::Model) -> Self {
        Self {
            id: m.id,
            record_id: m.record_id,
            position: m.position,
            unit: m.unit,
            nominal_si: m.nominal_si,
            reference_si: m.reference_si,
            readings: m.readings,
            error_si: m.error_si,
            u_si: m.u_si,
            u_unit: m.u_unit,
            k: m.k,
            p: m.p,
            u_source: m.u_source,
            raised_to_cmc: m.raised_to_cmc,
            mpe_si: m.mpe_si,
            lower_limit_si: m.lower_limit_si,
            upper_limit_si: m.upper_limit_si,
            limits_text: m.limits_text,
            decision: m.decision,
            as_left_error_si: m.as_left_error_si,
        }
    }
}

/// One correction of a record, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordEdit {
    pub id: i32,
    pub record_id: i32,
    pub position: i32,
    pub field: String,
    pub old_value: String,
    pub new_value: String,
    pub reason: String,
    pub edited_by: Option<i32>,
    pub edited_at: DateTime<Utc>,
}

impl From<record_edit::Model> for RecordEdit {
    fn from(m: record_edit::Model) -> Self {
        Self {
            id: m.id,
            record_id: m.record_id,
            position: m.position,
            field: m.field,
            old_value: m.old_value,
            new_value: m.new_value,
            reason: m.reason,
            edited_by: m.edited_by,
            edited_at: m.edited_at,
        }
    }
}

/// A signature on a record: who, in which duty, over which content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordSignature {
    pub id: i32,
    pub record_id: i32,
    pub user_id: Option<i32>,
    pub name: String,
    pub role: String,
    pub meaning: String,
    pub content_sha256: String,
    pub signed_at: DateTime<Utc>,
    /// When a return to the technician voided it; a void signature is history only.
    pub voided_at: Option<DateTime<Utc>>,
    /// The record's revision it was made on.
    pub revision: i32,
}

impl From<record_signature::Model> for RecordSignature {
    fn from(m: record_signature::Model) -> Self {
        Self {
            id: m.id,
            record_id: m.record_id,
            user_id: m.user_id,
            name: m.name,
            role: m.role,
            meaning: m.meaning,
            content_sha256: m.content_sha256,
            signed_at: m.signed_at,
            voided_at: m.voided_at,
            revision: m.revision,
        }
    }
}

/// A record with its points, standards, edits and signatures, for its laboratory.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub record: Record,
    pub points: Vec<RecordPoint>,
    pub standards: Vec<i32>,
    pub edits: Vec<RecordEdit>,
    pub signatures: Vec<RecordSignature>,
    pub content_sha256: String,
    /// Each point's values in the units they were entered in, as the page shows them.
    pub shown: Vec<PointShown>,
    /// The issued certificate's number, once issued.
    pub certificate: Option<String>,
    /// What the reader may do to the record now (`correct`, `sign_performed`, `review`,
    /// `approve`, `return`, `withdraw`): the page offers these forms and no others.
    pub actions: Vec<&'static str>,
}

/// A point's values in their units ("100.00012 mm", "0.12 µm").
#[derive(Debug, Clone, Serialize)]
pub struct PointShown {
    pub nominal: String,
    pub reference: String,
    /// The readings as entered, in their unit.
    pub readings: String,
    pub error: String,
    pub u: String,
    /// The coverage factor and probability as stated ("2", "95.45 %").
    pub k: String,
    pub p: String,
    /// The tolerance as typed: "±0.6 µm", or the limits ("−0.005 V … +0.010 V").
    pub mpe: Option<String>,
    pub as_left: Option<String>,
    /// The specific risk of the point's decision (JCGM 106:2012 §9.3): `pfa` for an
    /// accepted point, `pfr` for a rejected one, with its probability.
    pub risk: Option<PointRisk>,
}

/// A point's specific risk: the error's knowledge N(e, (U/k)²) against its limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointRisk {
    /// pfa (false acceptance) or pfr (false rejection).
    pub kind: &'static str,
    pub probability: f64,
    /// The probability as a percentage to two significant digits ("0.27 %").
    pub text: String,
}

/// The specific risk of a recorded point, from its error, U and k, its limits and the
/// decision taken (JCGM 106:2012 §7.2 and §9.3).
pub fn point_risk(p: &record_point::Model) -> Option<PointRisk> {
    use crate::domain::risk::{probability_within, Limits};
    let limits = match (p.lower_limit_si, p.upper_limit_si, p.mpe_si) {
        (None, None, Some(m)) => Limits {
            lower: Some(-m),
            upper: Some(m),
        },
        (None, None, None) => return None,
        (lower, upper, _) => Limits { lower, upper },
    };
    let u = p.u_si / p.k;
    if u.is_nan() || u <= 0.0 {
        return None;
    }
    let conforming = probability_within(&limits, p.error_si, u);
    let (kind, probability) = match p.decision.as_deref()? {
        "pass" | "conditional_pass" => ("pfa", 1.0 - conforming),
        _ => ("pfr", conforming),
    };
    let percent = probability * 100.0;
    let text = if percent < 1e-4 {
        "< 0.0001\u{a0}%".to_owned()
    } else {
        format!("{}\u{a0}%", crate::domain::units::round_sig(percent, 2))
    };
    Some(PointRisk {
        kind,
        probability,
        text,
    })
}

pub async fn view(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<RecordView> {
    actor.require_login()?;
    let r = q::by_id(db, id).await?.ok_or(Error::NotFound { what: "record" })?;
    // The record is its laboratory's: anyone else is told it does not exist.
    let lab = crate::store::work_orders::work_order_by_id(db, r.work_order_id)
        .await?
        .filter(|w| actor.sees_organisation(w.lab_id))
        .ok_or(Error::NotFound { what: "record" })?
        .lab_id;
    // The laboratory's rounding of the U it reports, as its certificates print it.
    let lab_rounding = crate::store::organisations::organisations_by_ids(db, &[lab])
        .await?
        .remove(&lab)
        .and_then(|o| crate::domain::numbers::Rounding::parse(&o.u_rounding))
        .unwrap_or(crate::domain::numbers::Rounding::HalfEven);
    let (points, standards, edits, signatures) = (
        q::points_of(db, id).await?,
        q::standards_of(db, id).await?,
        q::edits_of(db, id).await?,
        q::signatures_of(db, id).await?,
    );
    let content_sha256 = content_sha256(&r, &points, &standards);
    let actions = match super::status_of(&r) {
        Ok(state) => {
            let roles = super::roles_of(actor);
            let who = Mover {
                user: actor.principal().map(|p| p.user_id),
                roles: &roles,
            };
            // Only its own laboratory's staff act on a record; others (the regulator) read.
            let own = actor.principal().is_none_or(|p| p.organisation_id == lab);
            let history = super::history_from(&r, &signatures, &edits);
            if own {
                workflow::offered(state, &who, &history)
                    .into_iter()
                    .map(|a| a.as_str())
                    .collect()
            } else {
                Vec::new()
            }
        }
        Err(_) => Vec::new(),
    };
    let kind = r.quantity.as_str();
    let diff = QuantityKind::parse(kind).map_or(kind, |k| k.difference_kind().as_str());
    // In the units entered, stated as the certificate states them (domain::numbers):
    // nominal and reference with their digits, U to two significant digits and the
    // errors to its place, so that the page and the certificate print the same figures.
    use crate::domain::numbers::{self, Rounding};
    use crate::domain::units::with_unit;
    let unit_value = |kind: &str, si: f64, unit: &str| {
        QuantityKind::parse(kind)
            .and_then(|k| from_si(k, unit, si))
            .unwrap_or(si)
    };
    let shown = points
        .iter()
        .map(|p| {
            let rounding: Rounding = lab_rounding.for_u(p.raised_to_cmc);
            let u = unit_value(diff, p.u_si, &p.u_unit);
            let (error, u_text) = numbers::state(unit_value(diff, p.error_si, &p.u_unit), u, rounding);
            let entered = |text: &Option<String>, si: f64| {
                with_unit(
                    &text
                        .clone()
                        .unwrap_or_else(|| numbers::plain(unit_value(kind, si, &p.unit))),
                    &p.unit,
                )
            };
            PointShown {
                nominal: entered(&p.nominal_text, p.nominal_si),
                reference: entered(&p.reference_text, p.reference_si),
                readings: serde_json::from_str::<Vec<String>>(&p.readings)
                    .map(|r| format!("{} {}", r.join(" "), p.unit))
                    .unwrap_or_else(|_| p.readings.clone()),
                error: with_unit(&error, &p.u_unit),
                u: with_unit(&u_text, &p.u_unit),
                k: numbers::k(p.k),
                p: numbers::percent(p.p),
                mpe: p.limits_text.clone().or_else(|| {
                    p.mpe_si.map(|m| {
                        with_unit(
                            &format!("±{}", numbers::plain(unit_value(diff, m, &p.u_unit))),
                            &p.u_unit,
                        )
                    })
                }),
                risk: point_risk(p),
                as_left: p.as_left_error_si.map(|a| {
                    with_unit(
                        &numbers::at_u_place(unit_value(diff, a, &p.u_unit), u, rounding),
                        &p.u_unit,
                    )
                }),
            }
        })
        .collect();
    let certificate = match r.certificate_id {
        Some(id) => crate::store::certificates::by_id(db, id).await?.map(|c| c.number),
        None => None,
    };
    Ok(RecordView {
        shown,
        certificate,
        record: r.into(),
        points: points.into_iter().map(Into::into).collect(),
        standards,
        edits: edits.into_iter().map(Into::into).collect(),
        signatures: signatures.into_iter().map(Into::into).collect(),
        content_sha256,
        actions,
    })
}
