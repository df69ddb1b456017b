//! Interval proposals, the results they read, and the intervals they set.

use super::entities::{interval_proposal, item_interval};
use super::traceability::{columns, statement, Col, Columns};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// One calibration's end-of-period result: (item, day, MPE, as-found error, decision).
#[derive(Debug, Clone)]
pub struct GroupResult {
    pub item_id: i32,
    pub calibrated_on: NaiveDate,
    pub mpe_si: Option<f64>,
    pub as_found_error_si: Option<f64>,
    pub decision: String,
}

/// The calibrations of every instrument in a JJF 1022 category, across the province, by
/// instrument and date.
pub async fn group_results<C: ConnectionTrait>(db: &C, category: &str) -> Result<Vec<GroupResult>, DbErr> {
    let cols = [
        Col::Int("c.item_id"),
        Col::Date("c.calibrated_on"),
        Col::Real("c.mpe_si"),
        Col::Real("c.as_found_error_si"),
        Col::Text("c.decision"),
    ];
    // The aggregate sees the rows in the subquery's order.
    let from = "FROM (SELECT c.item_id, c.calibrated_on, c.mpe_si, c.as_found_error_si, c.decision \
                FROM calibrations c JOIN instruments i ON c.item_kind = 'instrument' AND c.item_id = i.id \
                WHERE i.category_code = $1 ORDER BY c.item_id, c.calibrated_on) c";
    let st = statement(db.get_database_backend(), from, vec![category.into()]);
    let read = columns(db, &cols, &st.sql, st.values.map(|v| v.0).unwrap_or_default()).await?;
    let mut r = read.readers("calibrations");
    let mut out = Vec::with_capacity(read.rows);
    for _ in 0..read.rows {
        out.push(GroupResult {
            item_id: r[0].int()?,
            calibrated_on: r[1].date()?,
            mpe_si: r[2].real()?,
            as_found_error_si: r[3].real()?,
            decision: r[4].text()?.to_owned(),
        });
    }
    Columns::finish(r)?;
    // Rows of one aggregate arrive in the subquery's order on SQLite; sort to be sure on every engine.
    out.sort_by_key(|a| (a.item_id, a.calibrated_on));
    Ok(out)
}

pub async fn interval_of<C: ConnectionTrait>(db: &C, kind: &str, id: i32) -> Result<Option<i32>, DbErr> {
    Ok(item_interval::Entity::find()
        .filter(item_interval::Column::ItemKind.eq(kind))
        .filter(item_interval::Column::ItemId.eq(id))
        .one(db)
        .await?
        .map(|i| i.months))
}

/// Sets the interval of each item (kind, id).
pub async fn set_intervals<C: ConnectionTrait>(
    db: &C,
    items: &[(String, i32)],
    months: i32,
    by: Option<i32>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in items.chunks(500) {
        let rows = chunk.iter().map(|(k, id)| item_interval::ActiveModel {
            item_kind: Set(k.clone()),
            item_id: Set(*id),
            months: Set(months),
            set_by: Set(by),
            set_at: Set(at),
            ..Default::default()
        });
        item_interval::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([item_interval::Column::ItemKind, item_interval::Column::ItemId])
                    .update_columns([
                        item_interval::Column::Months,
                        item_interval::Column::SetBy,
                        item_interval::Column::SetAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The ids of an organisation's instruments in a category.
pub async fn instruments_in<C: ConnectionTrait>(db: &C, owner: i32, category: &str) -> Result<Vec<i32>, DbErr> {
    use super::entities::instrument;
    instrument::Entity::find()
        .select_only()
        .column(instrument::Column::Id)
        .filter(instrument::Column::OwnerId.eq(owner))
        .filter(instrument::Column::CategoryCode.eq(category))
        .into_tuple::<i32>()
        .all(db)
        .await
}

pub async fn insert_proposal<C: ConnectionTrait>(
    db: &C,
    row: interval_proposal::ActiveModel,
) -> Result<interval_proposal::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn proposal_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<interval_proposal::Model>, DbErr> {
    interval_proposal::Entity::find_by_id(id).one(db).await
}

pub async fn proposals_of<C: ConnectionTrait>(
    db: &C,
    org: i32,
    limit: u64,
) -> Result<Vec<interval_proposal::Model>, DbErr> {
    interval_proposal::Entity::find()
        .filter(interval_proposal::Column::OrganisationId.eq(org))
        .order_by_desc(interval_proposal::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Decides a pending proposal; 0 rows when it was decided already.
pub async fn decide<C: ConnectionTrait>(
    db: &C,
    id: i32,
    status: &str,
    by: Option<i32>,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(interval_proposal::Entity::update_many()
        .col_expr(interval_proposal::Column::Status, status.into())
        .col_expr(interval_proposal::Column::DecidedBy, by.into())
        .col_expr(interval_proposal::Column::DecidedAt, Some(at).into())
        .filter(interval_proposal::Column::Id.eq(id))
        .filter(interval_proposal::Column::Status.eq("pending"))
        .exec(db)
        .await?
        .rows_affected)
}
