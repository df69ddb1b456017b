//! Records left approved without their certificate by an approval that committed before
//! the certificate was issued (fixed since: the two are one transaction). Each is put
//! back to awaiting approval: the approval signature goes, the record is reviewed again
//! and the work order still awaits review, so the approver can approve once more. Run at
//! every start, after the migrations; audited; what cannot be repaired is reported.

use crate::domain::work_orders::WorkOrderStatus;
use crate::service::{Actor, Result};
use crate::store::records as q;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;

/// What the repair did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Repair {
    /// The records put back to awaiting approval.
    pub repaired: Vec<i32>,
    /// The records left as they are, with why (for the operator to look at).
    pub left: Vec<(i32, String)>,
}

pub async fn repair_stuck_approvals(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Repair> {
    let actor = Actor::system("repair of approvals without a certificate");
    let mut out = Repair::default();
    for r in q::approved_without_certificate(db).await? {
        let txn = crate::store::begin(db).await?;
        let w = crate::store::work_orders::work_order_by_id(&txn, r.work_order_id).await?;
        let awaiting = WorkOrderStatus::AwaitingReview.as_str();
        match w {
            Some(w) if w.status == awaiting => {}
            Some(w) => {
                out.left
                    .push((r.id, format!("its work order {} is {}, not {awaiting}", w.id, w.status)));
                continue;
            }
            None => {
                out.left
                    .push((r.id, format!("its work order {} is gone", r.work_order_id)));
                continue;
            }
        }
        let removed = q::delete_signatures(&txn, r.id, "approver").await?;
        if q::set_status(&txn, r.id, "approved", "reviewed", None, now).await? == 0 {
            continue; // changed meanwhile by another instance's repair
        }
        let mut changes = crate::service::audit::Changes::new();
        changes.set("status", "approved".into(), "reviewed".into());
        changes.note("approval_signatures_removed", removed.into());
        changes.note(
            "reason",
            "approved without its certificate: the approval did not complete; approve again".into(),
        );
        crate::service::audit::record(
            &txn,
            &actor,
            now,
            crate::service::audit::Entry {
                action: "record.approval_undone",
                entity_type: "calibration_record",
                entity_id: r.id.to_string(),
                changes,
            },
        )
        .await?;
        txn.commit().await?;
        out.repaired.push(r.id);
    }
    Ok(out)
}
