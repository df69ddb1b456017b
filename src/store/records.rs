//! Calibration records, their points, standards, edits and signatures.

use super::entities::{
    calibration, calibration_record, cmc_entry, device, instrument, record_edit, record_point, record_signature,
    record_standard, work_order,
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

pub async fn by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<calibration_record::Model>, DbErr> {
    calibration_record::Entity::find_by_id(id).one(db).await
}

pub async fn of_work_order<C: ConnectionTrait>(db: &C, wo: i32) -> Result<Option<calibration_record::Model>, DbErr> {
    calibration_record::Entity::find()
        .filter(calibration_record::Column::WorkOrderId.eq(wo))
        .one(db)
        .await
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    row: calibration_record::ActiveModel,
    points: Vec<record_point::ActiveModel>,
    standards: &[i32],
) -> Result<calibration_record::Model, DbErr> {
    let r = sea_orm::ActiveModelTrait::insert(row, db).await?;
    for mut p in points {
        p.record_id = Set(r.id);
        sea_orm::ActiveModelTrait::insert(p, db).await?;
    }
    for s in standards {
        record_standard::Entity::insert(record_standard::ActiveModel {
            record_id: Set(r.id),
            standard_id: Set(*s),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(r)
}

pub async fn points_of<C: ConnectionTrait>(db: &C, record: i32) -> Result<Vec<record_point::Model>, DbErr> {
    record_point::Entity::find()
        .filter(record_point::Column::RecordId.eq(record))
        .order_by_asc(record_point::Column::Position)
        .all(db)
        .await
}

pub async fn standards_of<C: ConnectionTrait>(db: &C, record: i32) -> Result<Vec<i32>, DbErr> {
    Ok(record_standard::Entity::find()
        .filter(record_standard::Column::RecordId.eq(record))
        .order_by_asc(record_standard::Column::StandardId)
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.standard_id)
        .collect())
}

pub async fn signatures_of<C: ConnectionTrait>(db: &C, record: i32) -> Result<Vec<record_signature::Model>, DbErr> {
    record_signature::Entity::find()
        .filter(record_signature::Column::RecordId.eq(record))
        .order_by_asc(record_signature::Column::Id)
        .all(db)
        .await
}

pub async fn edits_of<C: ConnectionTrait>(db: &C, record: i32) -> Result<Vec<record_edit::Model>, DbErr> {
    record_edit::Entity::find()
        .filter(record_edit::Column::RecordId.eq(record))
        .order_by_asc(record_edit::Column::Id)
        .all(db)
        .await
}

pub async fn insert_signature<C: ConnectionTrait>(db: &C, row: record_signature::ActiveModel) -> Result<(), DbErr> {
    record_signature::Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

pub async fn insert_edit<C: ConnectionTrait>(db: &C, row: record_edit::ActiveModel) -> Result<(), DbErr> {
    record_edit::Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Moves a record from `from` to `to`; 0 when it was not in `from`.
pub async fn set_status<C: ConnectionTrait>(
    db: &C,
    id: i32,
    from: &str,
    to: &str,
    certificate: Option<i32>,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut q = calibration_record::Entity::update_many()
        .col_expr(calibration_record::Column::Status, to.into())
        .col_expr(calibration_record::Column::UpdatedAt, at.into());
    if let Some(c) = certificate {
        q = q.col_expr(calibration_record::Column::CertificateId, Some(c).into());
    }
    Ok(q.filter(calibration_record::Column::Id.eq(id))
        .filter(calibration_record::Column::Status.eq(from))
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn update_point<C: ConnectionTrait>(db: &C, p: record_point::Model) -> Result<(), DbErr> {
    let am: record_point::ActiveModel = p.into();
    let mut am = am;
    for c in [
        record_point::Column::Readings,
        record_point::Column::ErrorSi,
        record_point::Column::Decision,
        record_point::Column::USi,
        record_point::Column::RaisedToCmc,
    ] {
        sea_orm::ActiveModelTrait::reset(&mut am, c);
    }
    sea_orm::ActiveModelTrait::update(am, db).await?;
    Ok(())
}

/// The standard's calibration valid on `on` (calibrated on or before, valid until on or after), if any.
pub async fn valid_calibration<C: ConnectionTrait>(
    db: &C,
    standard_id: i32,
    on: NaiveDate,
) -> Result<Option<calibration::Model>, DbErr> {
    calibration::Entity::find()
        .filter(calibration::Column::ItemKind.eq("standard"))
        .filter(calibration::Column::ItemId.eq(standard_id))
        .filter(calibration::Column::CalibratedOn.lte(on))
        .filter(calibration::Column::ValidUntil.gte(on))
        .order_by_desc(calibration::Column::CalibratedOn)
        .one(db)
        .await
}

pub async fn instrument_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<instrument::Model>, DbErr> {
    instrument::Entity::find_by_id(id).one(db).await
}

pub async fn device_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<device::Model>, DbErr> {
    device::Entity::find_by_id(id).one(db).await
}

/// A laboratory's CMC lines, of one quantity or all, narrowest range first.
pub async fn cmc_lines<C: ConnectionTrait>(
    db: &C,
    lab: i32,
    quantity: Option<&str>,
) -> Result<Vec<cmc_entry::Model>, DbErr> {
    let mut q = cmc_entry::Entity::find().filter(cmc_entry::Column::LabId.eq(lab));
    if let Some(k) = quantity {
        q = q.filter(cmc_entry::Column::Quantity.eq(k));
    }
    q.order_by_asc(cmc_entry::Column::Quantity)
        .order_by_asc(cmc_entry::Column::RangeMinSi)
        .order_by_asc(cmc_entry::Column::Id)
        .all(db)
        .await
}

pub async fn cmc_line<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<cmc_entry::Model>, DbErr> {
    cmc_entry::Entity::find_by_id(id).one(db).await
}

pub async fn insert_cmc<C: ConnectionTrait>(db: &C, row: cmc_entry::ActiveModel) -> Result<cmc_entry::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn delete_cmc<C: ConnectionTrait>(db: &C, id: i32) -> Result<u64, DbErr> {
    Ok(cmc_entry::Entity::delete_by_id(id).exec(db).await?.rows_affected)
}

/// Which of the standards `ids` have one of their own calibrations valid on `on`, in one
/// query.
pub async fn standards_calibrated_on<C: ConnectionTrait>(
    db: &C,
    ids: &[i32],
    on: NaiveDate,
) -> Result<std::collections::HashSet<i32>, DbErr> {
    use sea_orm::QuerySelect;
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<i32> = calibration::Entity::find()
        .select_only()
        .column(calibration::Column::ItemId)
        .filter(calibration::Column::ItemKind.eq("standard"))
        .filter(calibration::Column::ItemId.is_in(ids.iter().copied()))
        .filter(calibration::Column::CalibratedOn.lte(on))
        .filter(calibration::Column::ValidUntil.gte(on))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Records approved without the certificate the approval should have issued: what an
/// approval that committed before its certificate left behind (before the two were one
/// transaction).
pub async fn approved_without_certificate<C: ConnectionTrait>(db: &C) -> Result<Vec<calibration_record::Model>, DbErr> {
    calibration_record::Entity::find()
        .filter(calibration_record::Column::Status.eq("approved"))
        .filter(calibration_record::Column::CertificateId.is_null())
        .order_by_asc(calibration_record::Column::Id)
        .all(db)
        .await
}

/// Removes a record's signatures in one duty (`approver`); how many went.
pub async fn delete_signatures<C: ConnectionTrait>(db: &C, record: i32, role: &str) -> Result<u64, DbErr> {
    Ok(record_signature::Entity::delete_many()
        .filter(record_signature::Column::RecordId.eq(record))
        .filter(record_signature::Column::Role.eq(role))
        .exec(db)
        .await?
        .rows_affected)
}

/// Moves a record from `from` to `to` with the reason of a return or a withdrawal (kept
/// to show on the record); 0 when it was not in `from`.
pub async fn set_status_with_reason<C: ConnectionTrait>(
    db: &C,
    id: i32,
    from: &str,
    to: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(calibration_record::Entity::update_many()
        .col_expr(calibration_record::Column::Status, to.into())
        .col_expr(calibration_record::Column::StatusReason, Some(reason.to_owned()).into())
        .col_expr(calibration_record::Column::UpdatedAt, at.into())
        .filter(calibration_record::Column::Id.eq(id))
        .filter(calibration_record::Column::Status.eq(from))
        .exec(db)
        .await?
        .rows_affected)
}

/// Marks the record's signatures not yet void as void at `at`; how many.
pub async fn void_signatures<C: ConnectionTrait>(db: &C, record: i32, at: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(record_signature::Entity::update_many()
        .col_expr(record_signature::Column::VoidedAt, Some(at).into())
        .filter(record_signature::Column::RecordId.eq(record))
        .filter(record_signature::Column::VoidedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// The records of laboratory `lab` in one of `statuses`, the longest waiting first (by
/// when they last moved), at most `limit`, each with its work order.
pub async fn waiting_in<C: ConnectionTrait>(
    db: &C,
    lab: i32,
    statuses: &[&str],
    limit: u64,
) -> Result<Vec<(calibration_record::Model, work_order::Model)>, DbErr> {
    let of_lab = sea_orm::sea_query::Query::select()
        .column(work_order::Column::Id)
        .from(work_order::Entity)
        .and_where(work_order::Column::LabId.eq(lab))
        .to_owned();
    let rows = calibration_record::Entity::find()
        .filter(calibration_record::Column::Status.is_in(statuses.iter().copied()))
        .filter(calibration_record::Column::WorkOrderId.in_subquery(of_lab))
        .order_by_asc(calibration_record::Column::UpdatedAt)
        .order_by_asc(calibration_record::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<i32> = rows.iter().map(|r| r.work_order_id).collect();
    let orders: std::collections::HashMap<i32, work_order::Model> = work_order::Entity::find()
        .filter(work_order::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|r| orders.get(&r.work_order_id).cloned().map(|w| (r, w)))
        .collect())
}

/// The signatures of the records `ids`, in one query.
pub async fn signatures_of_many<C: ConnectionTrait>(
    db: &C,
    ids: &[i32],
) -> Result<Vec<record_signature::Model>, DbErr> {
    record_signature::Entity::find()
        .filter(record_signature::Column::RecordId.is_in(ids.iter().copied()))
        .order_by_asc(record_signature::Column::Id)
        .all(db)
        .await
}

/// The corrections of the records `ids`, in one query.
pub async fn edits_of_many<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<record_edit::Model>, DbErr> {
    record_edit::Entity::find()
        .filter(record_edit::Column::RecordId.is_in(ids.iter().copied()))
        .order_by_asc(record_edit::Column::Id)
        .all(db)
        .await
}

/// The records of the work orders `ids`, in one query.
pub async fn of_work_orders<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<calibration_record::Model>, DbErr> {
    calibration_record::Entity::find()
        .filter(calibration_record::Column::WorkOrderId.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// The record whose approval issued certificate `certificate` (none for a certificate
/// issued without a record).
pub async fn of_certificate<C: ConnectionTrait>(
    db: &C,
    certificate: i32,
) -> Result<Option<calibration_record::Model>, DbErr> {
    calibration_record::Entity::find()
        .filter(calibration_record::Column::CertificateId.eq(certificate))
        .one(db)
        .await
}

/// Writes an issued record back as the draft of its next revision, amending
/// `record.amends_certificate_id` (the record as the caller changed it); 0 when the record
/// was no longer issued at revision `from_revision`.
pub async fn reopen_as_revision<C: ConnectionTrait>(
    db: &C,
    record: calibration_record::Model,
    from_revision: i32,
) -> Result<u64, DbErr> {
    Ok(calibration_record::Entity::update_many()
        .col_expr(calibration_record::Column::Status, "draft".into())
        .col_expr(calibration_record::Column::Revision, record.revision.into())
        .col_expr(
            calibration_record::Column::AmendsCertificateId,
            record.amends_certificate_id.into(),
        )
        .col_expr(
            calibration_record::Column::AmendmentReason,
            record.amendment_reason.into(),
        )
        .col_expr(calibration_record::Column::StatusReason, record.status_reason.into())
        .col_expr(calibration_record::Column::PrintChanges, record.print_changes.into())
        .col_expr(calibration_record::Column::Method, record.method.into())
        .col_expr(calibration_record::Column::ReceivedOn, record.received_on.into())
        .col_expr(calibration_record::Column::CalibratedOn, record.calibrated_on.into())
        .col_expr(
            calibration_record::Column::IntervalMonths,
            record.interval_months.into(),
        )
        .col_expr(calibration_record::Column::Adjusted, record.adjusted.into())
        .col_expr(calibration_record::Column::UpdatedAt, record.updated_at.into())
        .filter(calibration_record::Column::Id.eq(record.id))
        .filter(calibration_record::Column::Status.eq("issued"))
        .filter(calibration_record::Column::Revision.eq(from_revision))
        .exec(db)
        .await?
        .rows_affected)
}
