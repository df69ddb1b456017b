//! Recording results for a work order, and the record's way to a certificate: the
//! technician records and signs, a reviewer (核验) signs, an approver (批准) signs and
//! the certificate is issued. Three different people, each re-entering their password;
//! each signature binds the SHA-256 of the record's content as it then stood.
//!
//! Raw observations are kept as entered; a later correction keeps the original, with
//! who, when and why (`record_edits`).

use super::keys::KeyStore;
use super::{Actor, Error, Result};
use crate::domain::accounts::{check_segregation, Duty, Role};
use crate::domain::conformity::{decide, DecisionRule};
use crate::domain::units::{from_si, QuantityKind};
use crate::store::entities::{calibration, calibration_record, record_edit, record_point, record_signature};
use crate::store::records as q;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use crate::domain::records::{PointInput, RecordInput};

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

/// The content a signature binds: the record as it stands, canonical JSON, hashed.
fn content_sha256(r: &calibration_record::Model, points: &[record_point::Model], standards: &[i32]) -> String {
    let value = serde_json::json!({
        "work_order_id": r.work_order_id, "kind": r.kind, "method": r.method, "quantity": r.quantity,
        "decision_rule": r.decision_rule, "guard_multiple": r.guard_multiple,
        "received_on": r.received_on, "calibrated_on": r.calibrated_on,
        "temperature_si": r.temperature_si, "temperature_unit": r.temperature_unit,
        "humidity_percent": r.humidity_percent, "adjusted": r.adjusted, "interval_months": r.interval_months,
        "cmc_si": r.cmc_si, "standards": standards,
        "points": points.iter().map(|p| serde_json::json!({
            "position": p.position, "unit": p.unit, "nominal_si": p.nominal_si, "reference_si": p.reference_si,
            "readings": p.readings, "error_si": p.error_si, "u_si": p.u_si, "u_unit": p.u_unit, "k": p.k, "p": p.p,
            "u_source": p.u_source,
            "raised_to_cmc": p.raised_to_cmc, "mpe_si": p.mpe_si, "decision": p.decision,
            "as_left_error_si": p.as_left_error_si,
        })).collect::<Vec<_>>(),
    });
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

/// The work order, for a member of its laboratory with one of `roles`.
async fn work_order_for(
    actor: &Actor,
    db: &impl sea_orm::ConnectionTrait,
    id: i32,
    roles: &[Role],
) -> Result<crate::store::entities::work_order::Model> {
    actor.require_login()?;
    let w = crate::store::work_orders::work_order_by_id(db, id)
        .await?
        .filter(|w| actor.sees_organisation(w.lab_id))
        .ok_or(Error::NotFound { what: "work order" })?;
    let own = actor.principal().is_none_or(|p| p.organisation_id == w.lab_id);
    if !own || !actor.may(roles) {
        return Err(actor.forbidden());
    }
    Ok(w)
}

/// Records the results of a work order in calibration. Every field is checked and every
/// error named (`domain::records::draft`); units must be of the quantity's kind; the
/// standards must be the laboratory's, valid on the day (their own calibration and their
/// assessment certificate) and cover every point's nominal value.
pub async fn record(
    actor: &Actor,
    db: &DatabaseConnection,
    work_order_id: i32,
    input: &RecordInput,
    now: DateTime<Utc>,
) -> Result<Record> {
    let w = work_order_for(actor, db, work_order_id, &[Role::Technician]).await?;
    may_record(db, &w).await?;
    let ctx = record_context(db, &w, input, now.date_naive()).await?;
    let d = crate::domain::records::draft(input, &ctx).map_err(Error::invalid)?;
    let txn = crate::store::begin(db).await?;
    // Again inside the transaction: the order may have moved, or been recorded, since.
    let w = crate::store::work_orders::work_order_by_id(&txn, w.id)
        .await?
        .ok_or(Error::NotFound { what: "work order" })?;
    may_record(&txn, &w).await?;
    let points = d
        .points
        .iter()
        .map(|p| record_point::ActiveModel {
            position: Set(p.position),
            unit: Set(p.unit.to_owned()),
            nominal_si: Set(p.nominal_si),
            reference_si: Set(p.reference_si),
            readings: Set(serde_json::to_string(&p.readings).unwrap_or_default()),
            error_si: Set(p.error_si),
            u_si: Set(p.u_si),
            u_unit: Set(p.u_unit.to_owned()),
            k: Set(p.k),
            p: Set(p.p),
            u_source: Set(p.u_source.clone()),
            raised_to_cmc: Set(p.raised_to_cmc),
            mpe_si: Set(p.mpe_si),
            decision: Set(p.decision.clone()),
            as_left_error_si: Set(p.as_left_error_si),
            ..Default::default()
        })
        .collect();
    let r = q::insert(
        &txn,
        calibration_record::ActiveModel {
            work_order_id: Set(w.id),
            kind: Set(d.kind.to_owned()),
            method: Set(d.method.clone()),
            quantity: Set(d.quantity.as_str().to_owned()),
            decision_rule: Set(d.decision_rule.as_str().to_owned()),
            guard_multiple: Set(d.guard_multiple),
            received_on: Set(d.received_on),
            calibrated_on: Set(d.calibrated_on),
            temperature_si: Set(d.temperature.si),
            temperature_unit: Set(d.temperature.unit.to_owned()),
            humidity_percent: Set(d.humidity_percent),
            adjusted: Set(d.adjusted),
            interval_months: Set(d.interval_months),
            cmc_si: Set(d.cmc_si),
            status: Set("draft".into()),
            certificate_id: Set(None),
            created_by: Set(actor.principal().map(|p| p.user_id)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
        points,
        &d.standards,
    )
    .await?;
    let mut changes = super::audit::Changes::new();
    changes.note("work_order", w.id.into());
    changes.note("input", serde_json::to_value(input).unwrap_or_default());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "record.create",
            entity_type: "calibration_record",
            entity_id: r.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(r.into())
}

/// A work order takes its results while it is in calibration, once.
async fn may_record(db: &impl sea_orm::ConnectionTrait, w: &crate::store::entities::work_order::Model) -> Result<()> {
    if w.status != crate::domain::work_orders::WorkOrderStatus::InCalibration.as_str() {
        return Err(Error::field(
            "work_order",
            "record.not_in_calibration",
            format!(
                "the work order is {}; results are recorded while it is in calibration",
                w.status
            ),
        ));
    }
    if q::of_work_order(db, w.id).await?.is_some() {
        return Err(Error::Conflict {
            code: "record.exists",
            message: "the work order's results are recorded already; correct a reading instead".into(),
            fields: vec![],
        });
    }
    Ok(())
}

/// What the record's rules read, in five queries whatever the number of points and
/// standards: the item's quantity, the standards named (the laboratory's only) with
/// whether each is calibrated on the day, the budgets named, and the CMC table.
async fn record_context(
    db: &DatabaseConnection,
    w: &crate::store::entities::work_order::Model,
    input: &RecordInput,
    today: NaiveDate,
) -> Result<crate::domain::records::RecordContext> {
    use crate::domain::records::{quantity_of, BudgetResult, RecordContext, StandardUsed};
    let item_quantity = match w.item_kind.as_str() {
        "instrument" => q::instrument_by_id(db, w.item_id).await?.and_then(|i| i.quantity),
        "device" => q::device_by_id(db, w.item_id).await?.and_then(|d| d.quantity),
        _ => None,
    };
    let rows: Vec<_> = crate::store::standards::standards_by_ids(db, &input.standards)
        .await?
        .into_iter()
        .filter(|s| s.owner_id == w.lab_id)
        .collect();
    let ids: Vec<i32> = rows.iter().map(|s| s.id).collect();
    let calibrated = match input.calibrated_day() {
        Some(on) => q::standards_calibrated_on(db, &ids, on).await?,
        None => Default::default(),
    };
    let standards: std::collections::HashMap<i32, StandardUsed> = rows
        .into_iter()
        .map(|s| {
            let used = StandardUsed {
                id: s.id,
                calibrated_on_day: calibrated.contains(&s.id),
                cert_no: s.cert_no,
                quantity: s.quantity,
                range_min_si: s.range_min_si,
                range_max_si: s.range_max_si,
                status: s.status,
                cert_expires_on: s.cert_expires_on,
            };
            (used.id, used)
        })
        .collect();
    let budgets = crate::store::budgets::budgets_by_ids(db, w.lab_id, &input.budget_ids())
        .await?
        .into_iter()
        .map(|b| {
            let first = serde_json::from_str::<crate::domain::uncertainty::Evaluation>(&b.result)
                .ok()
                .and_then(|ev| ev.results.into_iter().next())
                .map(|r| BudgetResult {
                    name: r.name,
                    expanded_uncertainty: r.expanded_uncertainty,
                    unit: r.unit,
                    coverage_factor: r.coverage_factor,
                    coverage_probability: r.coverage_probability,
                });
            (b.id, first)
        })
        .collect();
    let first = input
        .standards
        .iter()
        .find_map(|id| standards.get(id))
        .map(|s| s.quantity.as_str());
    let cmc_lines = match quantity_of(item_quantity.as_deref(), first) {
        Some(k) => super::cmc::lines_for(db, w.lab_id, k.difference_kind()).await?,
        None => Vec::new(),
    };
    Ok(RecordContext {
        today,
        item_quantity,
        standards,
        budgets,
        cmc_lines,
    })
}

/// Corrects a point's readings before the record is reviewed: the original stays in the
/// record's edits, with who, when and why, and the error and decision follow.
pub async fn correct_readings(
    actor: &Actor,
    db: &DatabaseConnection,
    record_id: i32,
    position: i32,
    readings: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    actor.require_login()?;
    let r = q::by_id(db, record_id)
        .await?
        .ok_or(Error::NotFound { what: "record" })?;
    work_order_for(actor, db, r.work_order_id, &[Role::Technician]).await?;
    if !matches!(r.status.as_str(), "draft" | "recorded") {
        return Err(Error::Conflict {
            code: "record.signed",
            message: format!("the record is {}; it can no longer be corrected", r.status),
            fields: vec![],
        });
    }
    if reason.trim().is_empty() {
        return Err(Error::field(
            "reason",
            "record.reason_required",
            "say why the reading is corrected",
        ));
    }
    let mut p = q::points_of(db, record_id)
        .await?
        .into_iter()
        .find(|p| p.position == position)
        .ok_or_else(|| Error::field("position", "record.point_unknown", "no such point"))?;
    let mut e = Vec::new();
    let (list, values) = crate::domain::records::readings("readings", readings, &mut e);
    if !e.is_empty() {
        return Err(Error::invalid(e));
    }
    let k = QuantityKind::parse(&r.quantity).ok_or_else(|| Error::Internal("record without a quantity".into()))?;
    let unit = k
        .unit(&p.unit)
        .ok_or_else(|| Error::Internal("record point without a unit".into()))?;
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let old = p.readings.clone();
    p.readings = serde_json::to_string(&list).unwrap_or_default();
    p.error_si = unit.to_si(mean) - p.reference_si;
    p.decision = match (DecisionRule::parse(&r.decision_rule), p.mpe_si) {
        (Some(rule), Some(m)) => Some(
            decide(rule, p.error_si, m, p.u_si * r.guard_multiple)
                .as_str()
                .to_owned(),
        ),
        _ => None,
    };
    let txn = crate::store::begin(db).await?;
    let new = p.readings.clone();
    q::update_point(&txn, p).await?;
    q::insert_edit(
        &txn,
        record_edit::ActiveModel {
            record_id: Set(record_id),
            position: Set(position),
            field: Set("readings".into()),
            old_value: Set(old.clone()),
            new_value: Set(new.clone()),
            reason: Set(reason.trim().to_owned()),
            edited_by: Set(actor.principal().map(|p| p.user_id)),
            edited_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    let mut changes = super::audit::Changes::new();
    changes.set(&format!("points[{position}].readings"), old.into(), new.into());
    changes.note("reason", reason.trim().into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "record.correct",
            entity_type: "calibration_record",
            entity_id: record_id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// What a signature did.
#[derive(Debug, Clone, Serialize)]
pub struct Signed {
    pub status: String,
    pub certificate: Option<String>,
}

/// Signs the record's next step with the signer's password: the technician records,
/// a reviewer reviews (核验), an approver approves (批准), three different people. The
/// approval issues the certificate and completes the work order.
#[allow(clippy::too_many_arguments)]
pub async fn sign(
    actor: &Actor,
    db: &DatabaseConnection,
    keys: &KeyStore,
    record_id: i32,
    password: &str,
    client_addr: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Signed> {
    actor.require_login()?;
    let r = q::by_id(db, record_id)
        .await?
        .ok_or(Error::NotFound { what: "record" })?;
    let (duty, role, meaning, next, role_name) = match r.status.as_str() {
        "draft" => (
            Duty::Record,
            Role::Technician,
            "检定/校准 / performed",
            "recorded",
            "technician",
        ),
        "recorded" => (Duty::Review, Role::Reviewer, "核验 / reviewed", "reviewed", "reviewer"),
        "reviewed" => (Duty::Approve, Role::Approver, "批准 / approved", "approved", "approver"),
        s => {
            return Err(Error::Conflict {
                code: "record.signed",
                message: format!("the record is {s}: nothing is left to sign"),
                fields: vec![],
            })
        }
    };
    let w = work_order_for(actor, db, r.work_order_id, &[role]).await?;
    let signatures = q::signatures_of(db, r.id).await?;
    if let Some(p) = actor.principal() {
        let earlier: Vec<(Duty, i32)> = signatures
            .iter()
            .filter_map(|s| {
                let d = match s.role.as_str() {
                    "technician" => Duty::Record,
                    "reviewer" => Duty::Review,
                    _ => Duty::Approve,
                };
                s.user_id.map(|u| (d, u))
            })
            .collect();
        check_segregation(duty, p.user_id, &earlier).map_err(|e| Error::invalid(vec![e]))?;
    }
    super::accounts::confirm_password(actor, db, password, client_addr, now).await?;
    let points = q::points_of(db, r.id).await?;
    let standards = q::standards_of(db, r.id).await?;
    let sha = content_sha256(&r, &points, &standards);
    let name = actor.display_name();
    let txn = crate::store::begin(db).await?;
    if q::set_status(&txn, r.id, &r.status, next, None, now).await? == 0 {
        return Err(Error::Conflict {
            code: "record.moved",
            message: "someone else signed this record first; reload it".into(),
            fields: vec![],
        });
    }
    q::insert_signature(
        &txn,
        record_signature::ActiveModel {
            record_id: Set(r.id),
            user_id: Set(actor.principal().map(|p| p.user_id)),
            name: Set(name.clone()),
            role: Set(role_name.into()),
            meaning: Set(meaning.into()),
            content_sha256: Set(sha.clone()),
            signed_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    // The work order follows: awaiting review once recorded.
    if duty == Duty::Record && w.status == crate::domain::work_orders::WorkOrderStatus::InCalibration.as_str() {
        crate::store::work_orders::move_work_order(
            &txn,
            w.id,
            crate::domain::work_orders::WorkOrderStatus::InCalibration.as_str(),
            crate::domain::work_orders::WorkOrderStatus::AwaitingReview.as_str(),
            "",
            now,
        )
        .await?;
    }
    let mut changes = super::audit::Changes::new();
    changes.set("status", r.status.clone().into(), next.into());
    changes.note("content_sha256", sha.clone().into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "record.sign",
            entity_type: "calibration_record",
            entity_id: r.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    let mut out = Signed {
        status: next.to_owned(),
        certificate: None,
    };
    if duty == Duty::Approve {
        let mut signatures = signatures;
        signatures.push(record_signature::Model {
            id: 0,
            record_id: r.id,
            user_id: actor.principal().map(|p| p.user_id),
            name,
            role: role_name.into(),
            meaning: meaning.into(),
            content_sha256: sha,
            signed_at: now,
        });
        let content = RecordContent {
            record: &r,
            work_order: &w,
            points: &points,
            standards: &standards,
            signatures: &signatures,
        };
        let c = issue_for(actor, db, keys, &content, today, now).await?;
        out.status = "issued".into();
        out.certificate = Some(c);
    }
    Ok(out)
}

/// A record with everything its certificate is made from: its work order, points,
/// standards and signatures, as they stand when it is approved.
pub(crate) struct RecordContent<'a> {
    pub record: &'a calibration_record::Model,
    pub work_order: &'a crate::store::entities::work_order::Model,
    pub points: &'a [record_point::Model],
    pub standards: &'a [i32],
    pub signatures: &'a [record_signature::Model],
}

/// The certificate of an approved record: its snapshot, the certificate, the traceability
/// link of the calibration (`calibrations`, source `recorded`), the record marked issued
/// and the work order completed.
async fn issue_for(
    actor: &Actor,
    db: &DatabaseConnection,
    keys: &KeyStore,
    content: &RecordContent<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<String> {
    let (r, w, points, standard_ids) = (content.record, content.work_order, content.points, content.standards);
    let (snapshot, verdict) = super::certificates::record_snapshot(db, content, today).await?;
    let c = super::certificates::issue(
        actor,
        db,
        keys,
        super::certificates::IssueRequest {
            lab_id: w.lab_id,
            customer_id: w.owner_id,
            snapshot,
            amends: None,
        },
        now,
    )
    .await?;
    let txn = crate::store::begin(db).await?;
    q::set_status(&txn, r.id, "approved", "issued", Some(c.id), now).await?;
    crate::store::work_orders::move_work_order(
        &txn,
        w.id,
        crate::domain::work_orders::WorkOrderStatus::AwaitingReview.as_str(),
        crate::domain::work_orders::WorkOrderStatus::Completed.as_str(),
        &c.number,
        now,
    )
    .await?;
    // The calibration as a traceability link: the item against the first standard used.
    let first = points.first();
    crate::store::traceability::insert_calibration(
        &txn,
        calibration::ActiveModel {
            item_kind: Set(w.item_kind.clone()),
            item_id: Set(w.item_id),
            reference_kind: Set(standard_ids.first().map(|_| "standard".to_owned())),
            reference_id: Set(standard_ids.first().copied()),
            provider_id: Set(None),
            provider_evidence: Set(String::new()),
            lab_id: Set(Some(w.lab_id)),
            certificate_no: Set(c.number.clone()),
            calibrated_on: Set(r.calibrated_on),
            valid_until: Set(crate::domain::schedule::add_months(r.calibrated_on, 12)
                .pred_opt()
                .unwrap_or(r.calibrated_on)),
            quantity: Set(Some(r.quantity.clone())),
            uncertainty_si: Set(first.map(|p| p.u_si)),
            uncertainty_unit: Set(first.map(|p| p.u_unit.clone())),
            mpe_si: Set(first.and_then(|p| p.mpe_si)),
            as_found_error_si: Set(first.map(|p| p.error_si)),
            decision_rule: Set(Some(r.decision_rule.clone())),
            decision: Set(verdict.map(|v| v.as_str().to_owned())),
            source: Set("recorded".into()),
            created_by: Set(actor.principal().map(|p| p.user_id)),
            created_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(c.number)
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
    /// recorded, reviewed, approved.
    pub status: String,
    pub certificate_id: Option<i32>,
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
            certificate_id: m.certificate_id,
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
    pub mpe: Option<String>,
    pub as_left: Option<String>,
}

pub async fn view(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<RecordView> {
    actor.require_login()?;
    let r = q::by_id(db, id).await?.ok_or(Error::NotFound { what: "record" })?;
    // The record is its laboratory's: anyone else is told it does not exist.
    crate::store::work_orders::work_order_by_id(db, r.work_order_id)
        .await?
        .filter(|w| actor.sees_organisation(w.lab_id))
        .ok_or(Error::NotFound { what: "record" })?;
    let (points, standards, edits, signatures) = (
        q::points_of(db, id).await?,
        q::standards_of(db, id).await?,
        q::edits_of(db, id).await?,
        q::signatures_of(db, id).await?,
    );
    let content_sha256 = content_sha256(&r, &points, &standards);
    let kind = r.quantity.as_str();
    let diff = QuantityKind::parse(kind).map_or(kind, |k| k.difference_kind().as_str());
    // Nine significant digits: enough for any reading, and no conversion noise
    // (50.0081 mm − 50 mm through SI is 8.09999999999 µm at twelve).
    let show = |kind: &str, si: f64, unit: &str| {
        let v = QuantityKind::parse(kind)
            .and_then(|k| from_si(k, unit, si))
            .unwrap_or(si);
        crate::domain::units::format_value(crate::domain::units::round_sig(v, 9), unit)
    };
    let shown = points
        .iter()
        .map(|p| PointShown {
            nominal: show(kind, p.nominal_si, &p.unit),
            reference: show(kind, p.reference_si, &p.unit),
            readings: serde_json::from_str::<Vec<String>>(&p.readings)
                .map(|r| format!("{} {}", r.join(" "), p.unit))
                .unwrap_or_else(|_| p.readings.clone()),
            error: show(diff, p.error_si, &p.u_unit),
            u: show(diff, p.u_si, &p.u_unit),
            mpe: p.mpe_si.map(|m| show(diff, m, &p.u_unit)),
            as_left: p.as_left_error_si.map(|a| show(diff, a, &p.u_unit)),
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
    })
}
