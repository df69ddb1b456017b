//! Schedules: what the daily run reads of every item and its calibrations (by columns,
//! as the traceability audit does), the computed due items it writes, the recall lists,
//! calendar feeds and notifications.

use super::entities::{calendar_feed, due_item, item_interval, job_run, notification, schedule_settings};
use super::traceability::{columns, rows_of, Col, Columns};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};

/// What the schedule needs of a standard.
#[derive(Debug, Clone)]
pub struct StandardRow {
    pub id: i32,
    pub owner_id: i32,
    pub category_code: String,
    pub name_zh: String,
    pub cert_no: String,
    pub status: String,
    pub cert_issued_on: NaiveDate,
    pub cert_expires_on: NaiveDate,
}

pub async fn standards<C: ConnectionTrait>(db: &C) -> Result<Vec<StandardRow>, DbErr> {
    let cols = [
        Col::Int("id"),
        Col::Int("owner_id"),
        Col::Text("category_code"),
        Col::Text("name_zh"),
        Col::Text("cert_no"),
        Col::Text("status"),
        Col::Date("cert_issued_on"),
        Col::Date("cert_expires_on"),
    ];
    let (from, values) = rows_of(db.get_database_backend(), "standards", None);
    let read = columns(db, &cols, &from, values).await?;
    let mut r = read.readers("standards");
    let mut out = Vec::with_capacity(read.rows);
    for _ in 0..read.rows {
        out.push(StandardRow {
            id: r[0].int()?,
            owner_id: r[1].int()?,
            category_code: r[2].text()?.to_owned(),
            name_zh: r[3].text()?.to_owned(),
            cert_no: r[4].text()?.to_owned(),
            status: r[5].text()?.to_owned(),
            cert_issued_on: r[6].date()?,
            cert_expires_on: r[7].date()?,
        });
    }
    Columns::finish(r)?;
    Ok(out)
}

/// What the schedule needs of a device (its owner and category are its standard's).
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: i32,
    pub standard_id: i32,
    pub name: String,
    pub serial: String,
    /// The calibration date the register states, for a device with none on record.
    pub cal_date: Option<NaiveDate>,
}

pub async fn devices<C: ConnectionTrait>(db: &C) -> Result<Vec<DeviceRow>, DbErr> {
    let cols = [
        Col::Int("id"),
        Col::Int("standard_id"),
        Col::Text("name"),
        Col::Text("serial"),
        Col::OptDate("cal_date"),
    ];
    let (from, values) = rows_of(db.get_database_backend(), "devices", None);
    let read = columns(db, &cols, &from, values).await?;
    let mut r = read.readers("devices");
    let mut out = Vec::with_capacity(read.rows);
    for _ in 0..read.rows {
        let (id, standard_id) = (r[0].int()?, r[1].int()?);
        let (name, serial) = (r[2].text()?.to_owned(), r[3].text()?.to_owned());
        let cal_date = r[4].opt_date()?;
        out.push(DeviceRow {
            id,
            standard_id,
            name,
            serial,
            cal_date,
        });
    }
    Columns::finish(r)?;
    Ok(out)
}

/// What the schedule needs of an enterprise's instrument.
#[derive(Debug, Clone)]
pub struct InstrumentRow {
    pub id: i32,
    pub owner_id: i32,
    pub category_code: String,
    pub label: String,
}

pub async fn instruments<C: ConnectionTrait>(db: &C) -> Result<Vec<InstrumentRow>, DbErr> {
    let cols = [
        Col::Int("id"),
        Col::Int("owner_id"),
        Col::Text("category_code"),
        Col::Text("name"),
        Col::Text("model"),
        Col::Text("serial"),
    ];
    let (from, values) = rows_of(db.get_database_backend(), "instruments", None);
    let read = columns(db, &cols, &from, values).await?;
    let mut r = read.readers("instruments");
    let mut out = Vec::with_capacity(read.rows);
    for _ in 0..read.rows {
        let (id, owner_id) = (r[0].int()?, r[1].int()?);
        let category_code = r[2].text()?.to_owned();
        let (name, model, serial) = (r[3].text()?, r[4].text()?, r[5].text()?);
        out.push(InstrumentRow {
            id,
            owner_id,
            category_code,
            label: format!("{name} {model} {serial}"),
        });
    }
    Columns::finish(r)?;
    Ok(out)
}

/// A calibration as the schedule reads it: whose, when, by which laboratory and against
/// what.
#[derive(Debug, Clone, Copy)]
pub struct CalibrationDate {
    pub item_kind: crate::domain::traceability::ItemKind,
    pub item_id: i32,
    pub calibrated_on: NaiveDate,
    pub lab_id: Option<i32>,
    pub reference_kind: Option<crate::domain::traceability::ItemKind>,
    pub reference_id: Option<i32>,
}

pub async fn calibration_dates<C: ConnectionTrait>(db: &C) -> Result<Vec<CalibrationDate>, DbErr> {
    let cols = [
        Col::Text("item_kind"),
        Col::Int("item_id"),
        Col::Date("calibrated_on"),
        Col::OptInt("lab_id"),
        Col::Text("reference_kind"),
        Col::OptInt("reference_id"),
    ];
    let read = columns(db, &cols, "FROM calibrations", Vec::new()).await?;
    let mut r = read.readers("calibrations");
    let mut out = Vec::with_capacity(read.rows);
    for _ in 0..read.rows {
        out.push(CalibrationDate {
            item_kind: r[0].kind()?,
            item_id: r[1].int()?,
            calibrated_on: r[2].date()?,
            lab_id: r[3].opt_int()?,
            reference_kind: r[4].opt_kind()?,
            reference_id: r[5].opt_int()?,
        });
    }
    Columns::finish(r)?;
    Ok(out)
}

pub async fn all_settings<C: ConnectionTrait>(db: &C) -> Result<Vec<schedule_settings::Model>, DbErr> {
    schedule_settings::Entity::find().all(db).await
}

pub async fn settings_of<C: ConnectionTrait>(
    db: &C,
    organisation_id: i32,
) -> Result<Option<schedule_settings::Model>, DbErr> {
    schedule_settings::Entity::find_by_id(organisation_id).one(db).await
}

pub async fn save_settings<C: ConnectionTrait>(db: &C, row: schedule_settings::Model) -> Result<(), DbErr> {
    let am = schedule_settings::ActiveModel {
        organisation_id: Set(row.organisation_id),
        month_end: Set(row.month_end),
        early_window_days: Set(row.early_window_days),
        warning_days: Set(row.warning_days),
        default_interval_months: Set(row.default_interval_months),
        assessment_validity_years: Set(row.assessment_validity_years),
        staircase_extend_threshold: Set(row.staircase_extend_threshold),
        staircase_extend_factor: Set(row.staircase_extend_factor),
        staircase_shorten_factor: Set(row.staircase_shorten_factor),
        staircase_min_months: Set(row.staircase_min_months),
        staircase_max_months: Set(row.staircase_max_months),
        staircase_whole_months: Set(row.staircase_whole_months),
        tur_limit: Set(row.tur_limit),
        updated_at: Set(row.updated_at),
    };
    schedule_settings::Entity::insert(am)
        .on_conflict(
            OnConflict::column(schedule_settings::Column::OrganisationId)
                .update_columns([
                    schedule_settings::Column::MonthEnd,
                    schedule_settings::Column::EarlyWindowDays,
                    schedule_settings::Column::WarningDays,
                    schedule_settings::Column::DefaultIntervalMonths,
                    schedule_settings::Column::AssessmentValidityYears,
                    schedule_settings::Column::StaircaseExtendThreshold,
                    schedule_settings::Column::StaircaseExtendFactor,
                    schedule_settings::Column::StaircaseShortenFactor,
                    schedule_settings::Column::StaircaseMinMonths,
                    schedule_settings::Column::StaircaseMaxMonths,
                    schedule_settings::Column::StaircaseWholeMonths,
                    schedule_settings::Column::TurLimit,
                    schedule_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

pub async fn all_intervals<C: ConnectionTrait>(db: &C) -> Result<Vec<item_interval::Model>, DbErr> {
    item_interval::Entity::find().all(db).await
}

/// Every due item as last written: (kind, id) → the row.
/// A stored due item as the daily run compares it: its key and a digest of what it
/// states (245,000 of them at province scale: a few megabytes, not the rows).
pub struct StoredDue {
    pub id: i32,
    pub item_kind: Option<crate::domain::traceability::ItemKind>,
    pub item_id: i32,
    pub digest: u64,
}

/// The digest of what a due item states (everything but its key and the day computed).
#[allow(clippy::too_many_arguments)]
pub fn due_digest(
    owner_id: i32,
    lab_id: Option<i32>,
    category_code: &str,
    label: &str,
    interval_months: i32,
    last_calibrated_on: Option<NaiveDate>,
    due_on: Option<NaiveDate>,
    status: &str,
) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    (
        owner_id,
        lab_id,
        category_code,
        label,
        interval_months,
        last_calibrated_on,
        due_on,
        status,
    )
        .hash(&mut h);
    h.finish()
}

pub async fn all_due_items<C: ConnectionTrait>(db: &C) -> Result<Vec<StoredDue>, DbErr> {
    let cols = [
        Col::Int("id"),
        Col::Text("item_kind"),
        Col::Int("item_id"),
        Col::Int("owner_id"),
        Col::OptInt("lab_id"),
        Col::Text("category_code"),
        Col::Text("label"),
        Col::Int("interval_months"),
        Col::OptDate("last_calibrated_on"),
        Col::OptDate("due_on"),
        Col::Text("status"),
    ];
    let read = columns(db, &cols, "FROM due_items", Vec::new()).await?;
    let mut r = read.readers("due_items");
    let mut out = Vec::with_capacity(read.rows);
    for _ in 0..read.rows {
        let (id, kind, item_id) = (r[0].int()?, r[1].text()?, r[2].int()?);
        let (owner_id, lab_id, category_code, label) = (r[3].int()?, r[4].opt_int()?, r[5].text()?, r[6].text()?);
        let (interval_months, last, due, status) = (r[7].int()?, r[8].opt_date()?, r[9].opt_date()?, r[10].text()?);
        out.push(StoredDue {
            id,
            item_kind: crate::domain::traceability::ItemKind::parse(kind),
            item_id,
            digest: due_digest(
                owner_id,
                lab_id,
                category_code,
                label,
                interval_months,
                last,
                due,
                status,
            ),
        });
    }
    Columns::finish(r)?;
    Ok(out)
}

/// After a run that rewrote many due items: PostgreSQL's visibility map is stale until
/// autovacuum comes round, and the recall list's counts read the table instead of the
/// index meanwhile (181 ms instead of 16 at province scale). SQLite has nothing to do.
pub async fn vacuum_due_items(db: &sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("VACUUM (ANALYZE) due_items").await?;
    }
    Ok(())
}

/// Inserts or updates due items by (kind, id).
pub async fn upsert_due_items<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = due_item::ActiveModel>,
) -> Result<u64, DbErr> {
    const UPDATE: &[&str] = &[
        "owner_id",
        "lab_id",
        "category_code",
        "label",
        "interval_months",
        "last_calibrated_on",
        "due_on",
        "status",
        "computed_on",
    ];
    super::bulk::bulk_upsert(db, rows, &["item_kind", "item_id"], UPDATE).await
}

/// Removes the due items named (of items gone from the register).
pub async fn delete_due_items<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<u64, DbErr> {
    let mut n = 0;
    for chunk in ids.chunks(10_000) {
        n += due_item::Entity::delete_many()
            .filter(due_item::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(n)
}

/// Which side of the recall list: the items a laboratory calibrates, or those an
/// organisation holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Lab,
    Holder,
}

/// A recall list's filter, in the stored vocabulary.
#[derive(Debug, Clone, Default)]
pub struct RecallFilter {
    pub kind: Option<&'static str>,
    pub category: Option<String>,
    /// Due on or after / on or before (an item never calibrated has no due date and
    /// counts as due before any date).
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
    pub out_of_service: Option<bool>,
    pub text: Option<String>,
}

fn recall_condition(org: i32, side: Side, f: &RecallFilter) -> Condition {
    use due_item::Column as D;
    let mut c = Condition::all().add(match side {
        Side::Lab => D::LabId.eq(org),
        Side::Holder => D::OwnerId.eq(org),
    });
    if let Some(k) = f.kind {
        c = c.add(D::ItemKind.eq(k));
    }
    if let Some(cat) = &f.category {
        c = c.add(D::CategoryCode.eq(cat.clone()));
    }
    if let Some(d) = f.due_from {
        c = c.add(D::DueOn.gte(d));
    }
    if let Some(d) = f.due_to {
        c = c.add(Condition::any().add(D::DueOn.lte(d)).add(D::DueOn.is_null()));
    }
    match f.out_of_service {
        Some(true) => c = c.add(D::Status.eq("out_of_service")),
        Some(false) => c = c.add(D::Status.ne("out_of_service")),
        None => {}
    }
    if let Some(t) = &f.text {
        c = c.add(D::Label.contains(t.clone()));
    }
    c
}

/// One page of a recall list, by due date (never calibrated first), and the count of
/// all that match.
pub async fn recall<C: ConnectionTrait>(
    db: &C,
    org: i32,
    side: Side,
    f: &RecallFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<due_item::Model>, u64), DbErr> {
    use due_item::Column as D;
    let cond = recall_condition(org, side, f);
    let total = due_item::Entity::find().filter(cond.clone()).count(db).await?;
    let rows = due_item::Entity::find()
        .filter(cond)
        .order_by_asc(D::DueOn)
        .order_by_asc(D::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// The count of a side's items by due date: (never calibrated, before `a`, [a, b], [b+1, c], after c).
pub async fn recall_counts<C: ConnectionTrait>(
    db: &C,
    org: i32,
    side: Side,
    edges: [NaiveDate; 3],
) -> Result<[i64; 5], DbErr> {
    let key = match side {
        Side::Lab => "lab_id",
        Side::Holder => "owner_id",
    };
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT COUNT(*) FILTER (WHERE due_on IS NULL) AS never, \
           COUNT(*) FILTER (WHERE due_on < $1) AS before, \
           COUNT(*) FILTER (WHERE due_on >= $2 AND due_on <= $3) AS this, \
           COUNT(*) FILTER (WHERE due_on > $4 AND due_on <= $5) AS next, \
           COUNT(*) FILTER (WHERE due_on > $6) AS later \
         FROM due_items WHERE {key} = $7 AND status <> 'out_of_service'"
    );
    let [a, b, c] = edges;
    let values: Vec<sea_orm::Value> = vec![a.into(), a.into(), b.into(), b.into(), c.into(), c.into(), org.into()];
    let row = db
        .query_one_raw(super::traceability::statement(backend, &sql, values))
        .await?
        .ok_or_else(|| DbErr::Custom("no counts".into()))?;
    let mut out = [0i64; 5];
    for (i, name) in ["never", "before", "this", "next", "later"].iter().enumerate() {
        out[i] = row.try_get("", name)?;
    }
    Ok(out)
}

pub async fn insert_feed<C: ConnectionTrait>(
    db: &C,
    row: calendar_feed::ActiveModel,
) -> Result<calendar_feed::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn feeds_of<C: ConnectionTrait>(db: &C, organisation_id: i32) -> Result<Vec<calendar_feed::Model>, DbErr> {
    calendar_feed::Entity::find()
        .filter(calendar_feed::Column::OrganisationId.eq(organisation_id))
        .order_by_desc(calendar_feed::Column::Id)
        .all(db)
        .await
}

pub async fn feed_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<calendar_feed::Model>, DbErr> {
    calendar_feed::Entity::find_by_id(id).one(db).await
}

pub async fn live_feed_by_hash<C: ConnectionTrait>(db: &C, hash: &str) -> Result<Option<calendar_feed::Model>, DbErr> {
    calendar_feed::Entity::find()
        .filter(calendar_feed::Column::TokenHash.eq(hash))
        .filter(calendar_feed::Column::RevokedAt.is_null())
        .one(db)
        .await
}

pub async fn revoke_feed<C: ConnectionTrait>(db: &C, id: i32, at: DateTime<Utc>) -> Result<(), DbErr> {
    calendar_feed::Entity::update_many()
        .col_expr(calendar_feed::Column::RevokedAt, sea_orm::sea_query::Expr::value(at))
        .filter(calendar_feed::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records notifications, leaving out any of a kind a user already has for that day.
/// Returns how many were new.
pub async fn insert_notifications<C: ConnectionTrait>(
    db: &C,
    rows: Vec<notification::ActiveModel>,
) -> Result<u64, DbErr> {
    let mut n = 0;
    for chunk in rows.chunks(500) {
        let res = notification::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    notification::Column::UserId,
                    notification::Column::Kind,
                    notification::Column::OnDate,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        n += res;
    }
    Ok(n)
}

pub async fn notifications_of<C: ConnectionTrait>(
    db: &C,
    user_id: i32,
    limit: u64,
) -> Result<Vec<notification::Model>, DbErr> {
    notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .order_by_desc(notification::Column::OnDate)
        .order_by_desc(notification::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

pub async fn unread_count<C: ConnectionTrait>(db: &C, user_id: i32) -> Result<u64, DbErr> {
    notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await
}

pub async fn mark_read<C: ConnectionTrait>(db: &C, user_id: i32, id: i32, at: DateTime<Utc>) -> Result<u64, DbErr> {
    let res = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, sea_orm::sea_query::Expr::value(at))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Holds the daily job's lock until the transaction ends: on PostgreSQL an advisory
/// lock (instances sharing the database wait for each other); on SQLite the first write
/// takes the database's write lock, which does the same.
pub async fn lock_job<C: ConnectionTrait>(db: &C, job: &str) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let key = job
                .bytes()
                .fold(0x6d63_i64, |h, b| h.wrapping_mul(131).wrapping_add(i64::from(b)));
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                vec![key.into()],
            ))
            .await?;
        }
        _ => {
            db.execute_unprepared("UPDATE job_runs SET summary = summary WHERE id = -1")
                .await?;
        }
    }
    Ok(())
}

pub async fn finished_run_on<C: ConnectionTrait>(
    db: &C,
    job: &str,
    on: NaiveDate,
) -> Result<Option<job_run::Model>, DbErr> {
    job_run::Entity::find()
        .filter(job_run::Column::Job.eq(job))
        .filter(job_run::Column::OnDate.eq(on))
        .filter(job_run::Column::FinishedAt.is_not_null())
        .order_by_desc(job_run::Column::Id)
        .one(db)
        .await
}

pub async fn insert_run<C: ConnectionTrait>(db: &C, row: job_run::ActiveModel) -> Result<job_run::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

/// One item's due item.
pub async fn due_item_of<C: ConnectionTrait>(db: &C, kind: &str, id: i32) -> Result<Option<due_item::Model>, DbErr> {
    due_item::Entity::find()
        .filter(due_item::Column::ItemKind.eq(kind))
        .filter(due_item::Column::ItemId.eq(id))
        .one(db)
        .await
}

/// Notifications created since `since` and not yet e-mailed, with their user's address
/// and name (active users only).
pub async fn unemailed<C: ConnectionTrait>(
    db: &C,
    since: DateTime<Utc>,
) -> Result<Vec<(notification::Model, String, String)>, DbErr> {
    use super::entities::user;
    let rows = notification::Entity::find()
        .filter(notification::Column::EmailedAt.is_null())
        .filter(notification::Column::CreatedAt.gte(since))
        .order_by_asc(notification::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i32> = rows.iter().map(|n| n.user_id).collect();
    let users: std::collections::HashMap<i32, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .filter(user::Column::DisabledAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|n| {
            let u = users.get(&n.user_id)?;
            Some((n, u.email.clone(), u.name.clone()))
        })
        .collect())
}

/// Claims a notification for e-mail; 0 when it was claimed or sent already.
pub async fn claim_email<C: ConnectionTrait>(db: &C, id: i32, at: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(notification::Entity::update_many()
        .col_expr(notification::Column::EmailedAt, Some(at).into())
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::EmailedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn release_email<C: ConnectionTrait>(db: &C, id: i32) -> Result<(), DbErr> {
    notification::Entity::update_many()
        .col_expr(notification::Column::EmailedAt, Option::<DateTime<Utc>>::None.into())
        .filter(notification::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
