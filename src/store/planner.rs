//! What the planner reads and keeps: the due items without an open work order, the
//! bookings already made, the laboratories accredited per category, their capacities and
//! their holidays.

use super::entities::{holiday, lab_capacity};
use super::traceability::{columns, statement, Col, Columns};
use crate::domain::work_orders::WorkOrderStatus;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

/// A due item the planner places.
#[derive(Debug, Clone)]
pub struct PlanItem {
    pub item_kind: String,
    pub item_id: i32,
    pub owner_id: i32,
    pub lab_id: Option<i32>,
    pub category_code: String,
    pub label: String,
    pub due_on: Option<NaiveDate>,
}

/// The items in service that fall due by `until` (or were never calibrated) and have no
/// open work order.
pub async fn plan_items<C: ConnectionTrait>(db: &C, until: NaiveDate) -> Result<Vec<PlanItem>, DbErr> {
    let cols = [
        Col::Text("d.item_kind"),
        Col::Int("d.item_id"),
        Col::Int("d.owner_id"),
        Col::OptInt("d.lab_id"),
        Col::Text("d.category_code"),
        Col::Text("d.label"),
        Col::OptDate("d.due_on"),
    ];
    let open = WorkOrderStatus::OPEN
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let from = format!(
        "FROM due_items d WHERE d.status <> 'out_of_service' AND (d.due_on IS NULL OR d.due_on <= $1) \
         AND NOT EXISTS (SELECT 1 FROM work_orders w WHERE w.item_kind = d.item_kind \
         AND w.item_id = d.item_id AND w.status IN ({open}))"
    );
    let st = statement(db.get_database_backend(), &from, vec![until.into()]);
    let read = columns(db, &cols, &st.sql, st.values.map(|v| v.0).unwrap_or_default()).await?;
    let mut r = read.readers("due_items");
    let mut out = Vec::with_capacity(read.rows);
    for _ in 0..read.rows {
        out.push(PlanItem {
            item_kind: r[0].text()?.to_owned(),
            item_id: r[1].int()?,
            owner_id: r[2].int()?,
            lab_id: r[3].opt_int()?,
            category_code: r[4].text()?.to_owned(),
            label: r[5].text()?.to_owned(),
            due_on: r[6].opt_date()?,
        });
    }
    Columns::finish(r)?;
    Ok(out)
}

/// (laboratory, category, planned day) of every open work order planned from `from` to `to`.
pub async fn bookings<C: ConnectionTrait>(
    db: &C,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(i32, String, NaiveDate)>, DbErr> {
    let cols = [Col::Int("lab_id"), Col::Text("category_code"), Col::Date("planned_on")];
    let open = WorkOrderStatus::OPEN
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let from_where = format!("FROM work_orders WHERE status IN ({open}) AND planned_on >= $1 AND planned_on <= $2");
    let st = statement(db.get_database_backend(), &from_where, vec![from.into(), to.into()]);
    let read = columns(db, &cols, &st.sql, st.values.map(|v| v.0).unwrap_or_default()).await?;
    let mut r = read.readers("work_orders");
    let mut out = Vec::with_capacity(read.rows);
    for _ in 0..read.rows {
        out.push((r[0].int()?, r[1].text()?.to_owned(), r[2].date()?));
    }
    Columns::finish(r)?;
    Ok(out)
}

/// (laboratory, category, standards): the institutes and measurement centres holding
/// standards in service with a valid certificate on `on`, per JJF 1022 category.
pub async fn accredited<C: ConnectionTrait>(db: &C, on: NaiveDate) -> Result<Vec<(i32, String, i64)>, DbErr> {
    let sql = "SELECT s.owner_id AS lab, s.category_code AS cat, COUNT(*) AS n FROM standards s \
               JOIN organisations o ON o.id = s.owner_id \
               WHERE s.status = 'in_service' AND s.cert_expires_on >= $1 \
               AND o.kind IN ('institute', 'measurement_centre') \
               GROUP BY s.owner_id, s.category_code";
    let rows = db
        .query_all_raw(statement(db.get_database_backend(), sql, vec![on.into()]))
        .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get("", "lab")?, r.try_get("", "cat")?, r.try_get("", "n")?)))
        .collect()
}

pub async fn capacities<C: ConnectionTrait>(db: &C, lab: Option<i32>) -> Result<Vec<lab_capacity::Model>, DbErr> {
    let mut q = lab_capacity::Entity::find();
    if let Some(l) = lab {
        q = q.filter(lab_capacity::Column::LabId.eq(l));
    }
    q.order_by_asc(lab_capacity::Column::LabId)
        .order_by_asc(lab_capacity::Column::CategoryCode)
        .all(db)
        .await
}

pub async fn save_capacity<C: ConnectionTrait>(
    db: &C,
    lab: i32,
    category: &str,
    per_week: i32,
    by: Option<i32>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let am = lab_capacity::ActiveModel {
        lab_id: Set(lab),
        category_code: Set(category.to_owned()),
        per_week: Set(per_week),
        updated_by: Set(by),
        updated_at: Set(at),
        ..Default::default()
    };
    lab_capacity::Entity::insert(am)
        .on_conflict(
            OnConflict::columns([lab_capacity::Column::LabId, lab_capacity::Column::CategoryCode])
                .update_columns([
                    lab_capacity::Column::PerWeek,
                    lab_capacity::Column::UpdatedBy,
                    lab_capacity::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete_capacity<C: ConnectionTrait>(db: &C, lab: i32, category: &str) -> Result<u64, DbErr> {
    Ok(lab_capacity::Entity::delete_many()
        .filter(lab_capacity::Column::LabId.eq(lab))
        .filter(lab_capacity::Column::CategoryCode.eq(category))
        .exec(db)
        .await?
        .rows_affected)
}

/// The holidays from `from` to `to`: a laboratory's own and the public ones (or all, for None).
pub async fn holidays<C: ConnectionTrait>(
    db: &C,
    lab: Option<i32>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<holiday::Model>, DbErr> {
    let mut q = holiday::Entity::find()
        .filter(holiday::Column::OnDate.gte(from))
        .filter(holiday::Column::OnDate.lte(to));
    if let Some(l) = lab {
        q = q.filter(
            Condition::any()
                .add(holiday::Column::LabId.eq(l))
                .add(holiday::Column::LabId.is_null()),
        );
    }
    q.order_by_asc(holiday::Column::OnDate).all(db).await
}

pub async fn insert_holiday<C: ConnectionTrait>(db: &C, row: holiday::ActiveModel) -> Result<holiday::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn holiday_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<holiday::Model>, DbErr> {
    holiday::Entity::find_by_id(id).one(db).await
}

pub async fn delete_holiday<C: ConnectionTrait>(db: &C, id: i32) -> Result<(), DbErr> {
    holiday::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
