//! Recording the results of a work order in calibration: the rules are
//! `domain::records::draft`; here what they read is loaded, and the record written.

use super::{work_order_for, Record, RecordInput};
use crate::domain::accounts::Role;
use crate::service::{Actor, Error, Result};
use crate::store::entities::{calibration_record, record_point};
use crate::store::records as q;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};

/// Records the results of a work order in calibration, on `today` of the app's clock (a
/// calibration is not recorded before it is done). Every field is checked and every
/// error named (`domain::records::draft`); units must be of the quantity's kind; the
/// standards must be the laboratory's, valid on the day (their own calibration and their
/// assessment certificate) and cover every point's nominal value.
pub async fn record(
    actor: &Actor,
    db: &DatabaseConnection,
    work_order_id: i32,
    input: &RecordInput,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Record> {
    let w = work_order_for(actor, db, work_order_id, &[Role::Technician]).await?;
    may_record(db, &w).await?;
    let ctx = record_context(db, &w, input, today).await?;
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
            nominal_text: Set(p.nominal_text.clone()),
            reference_text: Set(p.reference_text.clone()),
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
            lower_limit_si: Set(p.lower_limit_si),
            upper_limit_si: Set(p.upper_limit_si),
            limits_text: Set(p.limits_text.clone()),
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
            condition_on_receipt: Set(d.condition_on_receipt.clone()),
            on_site: Set(d.on_site),
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
    let mut changes = crate::service::audit::Changes::new();
    changes.note("work_order", w.id.into());
    changes.note("input", serde_json::to_value(input).unwrap_or_default());
    crate::service::audit::record(
        &txn,
        actor,
        now,
        crate::service::audit::Entry {
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
        Some(k) => crate::service::cmc::lines_for(db, w.lab_id, k.difference_kind()).await?,
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
