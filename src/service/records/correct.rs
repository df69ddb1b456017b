//! Correcting a point's readings while the record is a draft; the original stays.

use super::{transition, work_order_for};
use crate::domain::accounts::Role;
use crate::domain::conformity::{decide, DecisionRule};
use crate::domain::records::workflow::{RecordAction, RecordStatus};
use crate::domain::units::QuantityKind;
use crate::service::{Actor, Error, Result};
use crate::store::entities::record_edit;
use crate::store::records as q;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};

/// Corrects a point's readings while the record is a draft (before its technician signs
/// it, or after a return): the original stays in the record's edits, with who, when and
/// why, and the error and decision follow.
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
    // Only a draft is corrected: a signed record is returned to its technician first, so
    // that no signature stands over content it did not see.
    transition(actor, db, &r, RecordAction::Correct, reason).await?;
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
    let error_si = crate::domain::records::indication_error("readings", &values, |v| unit.to_si(v), p.reference_si)
        .map_err(|x| Error::invalid(vec![x]))?;
    let old = p.readings.clone();
    p.readings = serde_json::to_string(&list).unwrap_or_default();
    p.error_si = error_si;
    let limits_given = p.lower_limit_si.is_some() || p.upper_limit_si.is_some();
    p.decision = match (DecisionRule::parse(&r.decision_rule), p.mpe_si) {
        (Some(rule), _) if limits_given => {
            let w = if rule == DecisionRule::Simple {
                0.0
            } else {
                p.u_si * r.guard_multiple
            };
            let (d, _, _) =
                crate::domain::conformity::decide_between(rule, p.error_si, p.lower_limit_si, p.upper_limit_si, w, 0.0);
            Some(d.as_str().to_owned())
        }
        (Some(rule), Some(m)) => Some(
            decide(rule, p.error_si, m, p.u_si * r.guard_multiple)
                .as_str()
                .to_owned(),
        ),
        _ => None,
    };
    let txn = crate::store::begin(db).await?;
    // Still a draft inside the transaction: a signature may have come in since.
    if q::set_status(
        &txn,
        r.id,
        RecordStatus::Draft.as_str(),
        RecordStatus::Draft.as_str(),
        None,
        now,
    )
    .await?
        == 0
    {
        return Err(Error::Conflict {
            code: "record.moved",
            message: "the record was signed meanwhile; reload it".into(),
            fields: vec![],
        });
    }
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
    let mut changes = crate::service::audit::Changes::new();
    changes.set(&format!("points[{position}].readings"), old.into(), new.into());
    changes.note("reason", reason.trim().into());
    crate::service::audit::record(
        &txn,
        actor,
        now,
        crate::service::audit::Entry {
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
