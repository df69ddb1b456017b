//! Signing a record's next step, and the certificate its approval issues.

use super::{content_sha256, status_of, transition, work_order_for};
use crate::domain::accounts::{Duty, Role};
use crate::domain::records::workflow::{self, RecordAction, RecordStatus};
use crate::service::keys::KeyStore;
use crate::service::{Actor, Error, Result};
use crate::store::entities::{calibration, calibration_record, record_point, record_signature};
use crate::store::records as q;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Serialize;

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
    // The step to sign is the record's next one; the workflow says who may sign it.
    let action = match status_of(&r)? {
        RecordStatus::Draft => RecordAction::SignPerformed,
        RecordStatus::Recorded => RecordAction::Review,
        _ => RecordAction::Approve,
    };
    let roles = workflow::roles_for(status_of(&r)?, action);
    let w = work_order_for(
        actor,
        db,
        r.work_order_id,
        if roles.is_empty() { Role::ALL } else { roles },
    )
    .await?;
    let step = transition(actor, db, &r, action, "").await?;
    let (duty, role_name, meaning) = match step.signs {
        Some(Duty::Record) => (Duty::Record, "technician", "检定/校准 / performed"),
        Some(Duty::Review) => (Duty::Review, "reviewer", "核验 / reviewed"),
        _ => (Duty::Approve, "approver", "批准 / approved"),
    };
    // The approval stands as `approved` inside its transaction until the certificate
    // is made, then the record is issued.
    let next = match duty {
        Duty::Record => RecordStatus::Recorded.as_str(),
        Duty::Review => RecordStatus::Reviewed.as_str(),
        Duty::Approve => RecordStatus::Approved.as_str(),
    };
    // Reviewed and approved only while its work order awaits that review, or, for an
    // amendment's revision, while the work order stands completed by the certificate
    // being amended.
    let waiting = if r.amends_certificate_id.is_some() {
        crate::domain::work_orders::WorkOrderStatus::Completed
    } else {
        crate::domain::work_orders::WorkOrderStatus::AwaitingReview
    };
    if duty != Duty::Record && w.status != waiting.as_str() {
        return Err(Error::Conflict {
            code: "record.work_order_closed",
            message: format!("its work order is {}; the record is not signed further", w.status),
            fields: vec![],
        });
    }
    // What the certificate prints: the signatures made over this revision's content, not
    // those a return or an amendment voided.
    let signatures: Vec<_> = q::signatures_of(db, r.id)
        .await?
        .into_iter()
        .filter(|s| s.voided_at.is_none() && s.revision == r.revision)
        .collect();
    crate::service::accounts::confirm_password(actor, db, password, client_addr, now).await?;
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
            revision: Set(r.revision),
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
    let mut changes = crate::service::audit::Changes::new();
    changes.set("status", r.status.clone().into(), next.into());
    changes.note("content_sha256", sha.clone().into());
    crate::service::audit::record(
        &txn,
        actor,
        now,
        crate::service::audit::Entry {
            action: "record.sign",
            entity_type: "calibration_record",
            entity_id: r.id.to_string(),
            changes,
        },
    )
    .await?;
    let mut out = Signed {
        status: next.to_owned(),
        certificate: None,
    };
    // The approval, the certificate, the calibration it records and the completed work
    // order are one transaction: a record that cannot become a certificate is not
    // approved (it stays reviewed, and the approver is told why).
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
            voided_at: None,
            revision: r.revision,
        });
        let content = RecordContent {
            record: &r,
            work_order: &w,
            points: &points,
            standards: &standards,
            signatures: &signatures,
        };
        let c = issue_for(&txn, actor, keys, &content, today, now).await?;
        out.status = "issued".into();
        out.certificate = Some(c);
    }
    txn.commit().await?;
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
/// and the work order completed. An amendment's revision issues the certificate that
/// supersedes the amended one, and its link now stands on the new certificate.
async fn issue_for(
    txn: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    keys: &KeyStore,
    content: &RecordContent<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<String> {
    use crate::domain::work_orders::WorkOrderStatus;
    let (r, w, points, standard_ids) = (content.record, content.work_order, content.points, content.standards);
    let (snapshot, verdict) = crate::service::certificates::record_snapshot(txn, content, today).await?;
    let amends = r.amends_certificate_id.map(|id| {
        (
            id,
            r.amendment_reason.clone().unwrap_or_else(|| "修订 / amended".into()),
        )
    });
    let amended = match r.amends_certificate_id {
        Some(id) => crate::store::certificates::by_id(txn, id).await?.map(|c| c.number),
        None => None,
    };
    let c = crate::service::certificates::issue_in(
        txn,
        actor,
        keys,
        crate::service::certificates::IssueRequest {
            lab_id: w.lab_id,
            customer_id: w.owner_id,
            snapshot,
            amends,
        },
        now,
    )
    .await?;
    q::set_status(txn, r.id, "approved", "issued", Some(c.id), now).await?;
    // The work order is completed by its first certificate; an amendment's certificate
    // becomes the one it names.
    let from = if amended.is_some() {
        WorkOrderStatus::Completed
    } else {
        WorkOrderStatus::AwaitingReview
    };
    crate::store::work_orders::move_work_order(
        txn,
        w.id,
        from.as_str(),
        WorkOrderStatus::Completed.as_str(),
        &c.number,
        now,
    )
    .await?;
    // The calibration as a traceability link: the item against the first standard used,
    // valid for the record's interval by the one rule of validity.
    let first = points.first();
    let link = calibration::ActiveModel {
        item_kind: Set(w.item_kind.clone()),
        item_id: Set(w.item_id),
        reference_kind: Set(standard_ids.first().map(|_| "standard".to_owned())),
        reference_id: Set(standard_ids.first().copied()),
        provider_id: Set(None),
        provider_evidence: Set(String::new()),
        lab_id: Set(Some(w.lab_id)),
        certificate_no: Set(c.number.clone()),
        calibrated_on: Set(r.calibrated_on),
        valid_until: Set(crate::domain::schedule::valid_until(r.calibrated_on, interval_of(r))),
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
    };
    match &amended {
        Some(old) => {
            crate::store::traceability::replace_recorded_calibration(txn, old, link).await?;
        }
        None => {
            crate::store::traceability::insert_calibration(txn, link).await?;
        }
    }
    Ok(c.number)
}

/// The interval a record's calibration is valid for: the one the laboratory recorded,
/// else twelve months (JJF 1139-2005's usual first interval).
pub(crate) fn interval_of(r: &calibration_record::Model) -> u32 {
    r.interval_months.map_or(12, |m| m.clamp(1, 120) as u32)
}
