//! Sending a record back: returned to its technician with a reason (退回), it reopens as
//! a draft and its signatures stay in its history as void; withdrawn with a reason (撤回),
//! it ends, and its work order may be cancelled.

use super::{status_of, transition, work_order_for};
use crate::domain::accounts::Role;
use crate::domain::records::workflow::{self, RecordAction};
use crate::domain::work_orders::WorkOrderStatus;
use crate::service::{Actor, Error, Result};
use crate::store::records as q;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

/// Returns a recorded or reviewed record to its technician with `reason`: a reviewer
/// (or, once reviewed, the approver) finds something to change. The record reopens as a
/// draft, its signatures are void (kept in its history), the reason shows on the record,
/// and the work order is back in calibration.
pub async fn return_to_technician(
    actor: &Actor,
    db: &DatabaseConnection,
    record_id: i32,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    send_back(actor, db, record_id, RecordAction::Return, reason, now).await
}

/// Withdraws a record that will not become a certificate (the item was not calibrated
/// after all, the order was made in error), with `reason`: a scheduler or the
/// institute's administrator. The record ends as withdrawn and its work order may then
/// be cancelled.
pub async fn withdraw(
    actor: &Actor,
    db: &DatabaseConnection,
    record_id: i32,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    send_back(actor, db, record_id, RecordAction::Withdraw, reason, now).await
}

async fn send_back(
    actor: &Actor,
    db: &DatabaseConnection,
    record_id: i32,
    action: RecordAction,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    actor.require_login()?;
    if reason.chars().count() > 4000 {
        return Err(Error::field("reason", "field.too_long", "at most 4,000 characters"));
    }
    let r = q::by_id(db, record_id)
        .await?
        .ok_or(Error::NotFound { what: "record" })?;
    let roles = workflow::roles_for(status_of(&r)?, action);
    let fallback: &[Role] = match action {
        RecordAction::Withdraw => &[Role::Scheduler, Role::InstituteAdmin],
        _ => &[Role::Reviewer, Role::Approver],
    };
    let w = work_order_for(
        actor,
        db,
        r.work_order_id,
        if roles.is_empty() { fallback } else { roles },
    )
    .await?;
    let step = transition(actor, db, &r, action, reason).await?;
    let reason = reason.trim();
    let txn = crate::store::begin(db).await?;
    if q::set_status_with_reason(&txn, r.id, &r.status, step.to.as_str(), reason, now).await? == 0 {
        return Err(Error::Conflict {
            code: "record.moved",
            message: "someone else moved this record first; reload it".into(),
            fields: vec![],
        });
    }
    let voided = if step.voids_signatures {
        q::void_signatures(&txn, r.id, now).await?
    } else {
        0
    };
    // The work order follows its record: back in calibration while the record is being
    // redone, or once it is withdrawn (to be cancelled by whoever plans the work).
    if w.status == WorkOrderStatus::AwaitingReview.as_str() {
        crate::store::work_orders::move_work_order(
            &txn,
            w.id,
            WorkOrderStatus::AwaitingReview.as_str(),
            WorkOrderStatus::InCalibration.as_str(),
            &w.note,
            now,
        )
        .await?;
    }
    let mut changes = crate::service::audit::Changes::new();
    changes.set("status", r.status.clone().into(), step.to.as_str().into());
    changes.note("reason", reason.into());
    if voided > 0 {
        changes.note("signatures_voided", (voided as i64).into());
    }
    crate::service::audit::record(
        &txn,
        actor,
        now,
        crate::service::audit::Entry {
            action: match action {
                RecordAction::Withdraw => "record.withdraw",
                _ => "record.return",
            },
            entity_type: "calibration_record",
            entity_id: r.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
