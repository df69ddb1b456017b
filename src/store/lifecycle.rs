//! A standard's assessment lifecycle: its stability checks and repeatability tests, its
//! logbook, its devices' certificates, and the reminders already sent.

use super::entities::{logbook_event, reminder, standard_check};
use super::traceability::{columns, statement, Col, Columns};
use chrono::NaiveDate;
use rustc_hash::FxHashSet;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

pub async fn checks_of<C: ConnectionTrait>(db: &C, standard_id: i32) -> Result<Vec<standard_check::Model>, DbErr> {
    standard_check::Entity::find()
        .filter(standard_check::Column::StandardId.eq(standard_id))
        .order_by_desc(standard_check::Column::PerformedOn)
        .order_by_desc(standard_check::Column::Id)
        .all(db)
        .await
}

pub async fn insert_check<C: ConnectionTrait>(
    db: &C,
    row: standard_check::ActiveModel,
) -> Result<standard_check::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn logbook_of<C: ConnectionTrait>(db: &C, standard_id: i32) -> Result<Vec<logbook_event::Model>, DbErr> {
    logbook_event::Entity::find()
        .filter(logbook_event::Column::StandardId.eq(standard_id))
        .order_by_desc(logbook_event::Column::OccurredOn)
        .order_by_desc(logbook_event::Column::Id)
        .all(db)
        .await
}

pub async fn insert_event<C: ConnectionTrait>(
    db: &C,
    row: logbook_event::ActiveModel,
) -> Result<logbook_event::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

/// Each device of a standard with the (calibrated_on, valid_until) of its certificates:
/// its calibrations on record, and the certificate the register states for it
/// (`cal_date`, `cal_due`).
pub async fn device_certificates<C: ConnectionTrait>(
    db: &C,
    standard_id: i32,
) -> Result<Vec<(i32, String, Option<(NaiveDate, NaiveDate)>)>, DbErr> {
    let sql = "SELECT d.id AS id, d.name AS name, d.serial AS serial, c.calibrated_on AS calibrated_on, \
               c.valid_until AS valid_until FROM devices d LEFT JOIN calibrations c \
               ON c.item_kind = 'device' AND c.item_id = d.id WHERE d.standard_id = $1 \
               UNION ALL SELECT d.id, d.name, d.serial, d.cal_date, d.cal_due FROM devices d \
               WHERE d.standard_id = $2 AND d.cal_date IS NOT NULL AND d.cal_due IS NOT NULL \
               ORDER BY 1, 4";
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            sql,
            vec![standard_id.into(), standard_id.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            let id: i32 = r.try_get("", "id")?;
            let name: String = r.try_get("", "name")?;
            let serial: String = r.try_get("", "serial")?;
            let on: Option<NaiveDate> = r.try_get("", "calibrated_on")?;
            let until: Option<NaiveDate> = r.try_get("", "valid_until")?;
            Ok((id, format!("{name} {serial}"), on.zip(until)))
        })
        .collect()
}

/// The latest stability check and repeatability test of every standard:
/// (standard, kind, latest day).
pub async fn latest_checks<C: ConnectionTrait>(db: &C) -> Result<Vec<(i32, String, NaiveDate)>, DbErr> {
    let sql = "SELECT standard_id, kind, MAX(performed_on) AS latest FROM standard_checks GROUP BY standard_id, kind";
    let rows = db
        .query_all_raw(statement(db.get_database_backend(), sql, Vec::new()))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get("", "standard_id")?,
                r.try_get("", "kind")?,
                r.try_get("", "latest")?,
            ))
        })
        .collect()
}

/// The reminders already sent, as (subject kind, subject id, milestone), read by columns.
pub async fn sent_reminders<C: ConnectionTrait>(db: &C) -> Result<FxHashSet<(String, i32, String)>, DbErr> {
    let cols = [
        Col::Text("subject_kind"),
        Col::Int("subject_id"),
        Col::Text("milestone"),
    ];
    let read = columns(db, &cols, "FROM reminders", Vec::new()).await?;
    let mut r = read.readers("reminders");
    let mut out = FxHashSet::default();
    out.reserve(read.rows);
    for _ in 0..read.rows {
        let kind = r[0].text()?.to_owned();
        let id = r[1].int()?;
        out.insert((kind, id, r[2].text()?.to_owned()));
    }
    Columns::finish(r)?;
    Ok(out)
}

pub async fn insert_reminders<C: ConnectionTrait>(db: &C, rows: Vec<reminder::ActiveModel>) -> Result<(), DbErr> {
    for chunk in rows.chunks(500) {
        reminder::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    reminder::Column::SubjectKind,
                    reminder::Column::SubjectId,
                    reminder::Column::Milestone,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
