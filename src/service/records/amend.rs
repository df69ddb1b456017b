//! Amending a certificate: its record reopens as the draft of its next revision
//! (ISO/IEC 17025 §7.8.8), to be corrected, signed as performed, reviewed and approved
//! again like a new record, by two people other than its drafter.

use super::{transition, work_order_for};
use crate::domain::records::amendment::{self, Amendable};
use crate::domain::records::workflow::{self, RecordAction};
use crate::service::{Actor, Error, Result};
use crate::store::entities::{certificate, record_edit};
use crate::store::records as q;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Serialize;

/// An amendment opened: the record's draft of its next revision.
#[derive(Debug, Clone, Serialize)]
pub struct Amendment {
    pub record_id: i32,
    pub revision: i32,
    /// `draft`: the revision waits for its technician's signature.
    pub status: String,
    /// The certificate it amends, which stays current until the revision is approved.
    pub amends: String,
}

/// Opens the amendment of certificate `c` (already found current and of the actor's
/// laboratory): checks the changes as the domain says, then in one transaction reopens
/// the record as revision n + 1, voids the signatures of revision n (they stay on it and
/// on its certificate), records the drafter as one of the revision's authors and audits
/// it. Certificates issued without a record (none are, through the application) cannot
/// be amended.
#[allow(clippy::too_many_arguments)]
pub async fn open_amendment(
    actor: &Actor,
    db: &DatabaseConnection,
    c: &certificate::Model,
    reason: &str,
    changes: &serde_json::Value,
    password: &str,
    client_addr: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Amendment> {
    let r = q::of_certificate(db, c.id).await?.ok_or_else(|| Error::Conflict {
        code: "certificate.no_record",
        message: format!(
            "{} was not issued from a record, so it has no revision to amend",
            c.number
        ),
        fields: vec![],
    })?;
    work_order_for(
        actor,
        db,
        r.work_order_id,
        workflow::roles_for(workflow::RecordStatus::Issued, RecordAction::Amend),
    )
    .await?;
    let current = Amendable {
        method: r.method.clone(),
        received_on: r.received_on,
        calibrated_on: r.calibrated_on,
        interval_months: r.interval_months,
        adjusted: r.adjusted,
        print_changes: r.print_changes.as_deref().and_then(|t| serde_json::from_str(t).ok()),
    };
    let issued: serde_json::Value = serde_json::from_str(&c.snapshot).map_err(|e| Error::Internal(e.to_string()))?;
    let next = amendment::amend(&current, &issued, changes, reason, today).map_err(Error::invalid)?;
    // The workflow's word on the move (state, role, reason), then the password.
    transition(actor, db, &r, RecordAction::Amend, reason).await?;
    crate::service::accounts::confirm_password(actor, db, password, client_addr, now).await?;
    let reason = reason.trim().to_owned();
    let mut row = r.clone();
    row.revision = r.revision + 1;
    row.amends_certificate_id = Some(c.id);
    row.amendment_reason = Some(reason.clone());
    row.status_reason = Some(reason.clone());
    row.print_changes = next.print_changes.as_ref().map(|v| v.to_string());
    row.method = next.method.clone();
    row.received_on = next.received_on;
    row.calibrated_on = next.calibrated_on;
    row.interval_months = next.interval_months;
    row.adjusted = next.adjusted;
    row.updated_at = now;
    let txn = crate::store::begin(db).await?;
    if q::reopen_as_revision(&txn, row.clone(), r.revision).await? == 0 {
        return Err(Error::Conflict {
            code: "record.moved",
            message: "someone else amended this certificate first; reload it".into(),
            fields: vec![],
        });
    }
    let voided = q::void_signatures(&txn, r.id, now).await?;
    // What changed, field by field, in the record's corrections: the first names the
    // revision and its drafter, who is one of the revision's authors from now on.
    let mut edits = vec![("revision", r.revision.to_string(), row.revision.to_string())];
    let fields = [
        ("method", r.method.clone(), row.method.clone()),
        ("received_on", r.received_on.to_string(), row.received_on.to_string()),
        (
            "calibrated_on",
            r.calibrated_on.to_string(),
            row.calibrated_on.to_string(),
        ),
        (
            "interval_months",
            r.interval_months.map(|m| m.to_string()).unwrap_or_default(),
            row.interval_months.map(|m| m.to_string()).unwrap_or_default(),
        ),
        ("adjusted", r.adjusted.to_string(), row.adjusted.to_string()),
        (
            "print_changes",
            r.print_changes.clone().unwrap_or_default(),
            row.print_changes.clone().unwrap_or_default(),
        ),
    ];
    edits.extend(fields.into_iter().filter(|(_, old, new)| old != new));
    let mut audit = crate::service::audit::Changes::new();
    for (field, old, new) in &edits {
        q::insert_edit(
            &txn,
            record_edit::ActiveModel {
                record_id: Set(r.id),
                position: Set(0),
                field: Set((*field).to_owned()),
                old_value: Set(old.clone()),
                new_value: Set(new.clone()),
                reason: Set(reason.clone()),
                edited_by: Set(actor.principal().map(|p| p.user_id)),
                edited_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        audit.set(field, old.clone().into(), new.clone().into());
    }
    audit.set("status", r.status.clone().into(), "draft".into());
    audit.note("amends", c.number.clone().into());
    audit.note("reason", reason.into());
    audit.note("signatures_voided", (voided as i64).into());
    crate::service::audit::record(
        &txn,
        actor,
        now,
        crate::service::audit::Entry {
            action: "record.amend",
            entity_type: "calibration_record",
            entity_id: r.id.to_string(),
            changes: audit,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Amendment {
        record_id: r.id,
        revision: row.revision,
        status: "draft".into(),
        amends: c.number.clone(),
    })
}
