//! Work orders: inserted, found, moved and listed.

use super::entities::work_order;
use crate::domain::work_orders::WorkOrderStatus;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

pub async fn insert_work_orders<C: ConnectionTrait>(
    db: &C,
    rows: Vec<work_order::ActiveModel>,
) -> Result<Vec<work_order::Model>, DbErr> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(sea_orm::ActiveModelTrait::insert(r, db).await?);
    }
    Ok(out)
}

pub async fn work_order_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<work_order::Model>, DbErr> {
    work_order::Entity::find_by_id(id).one(db).await
}

/// The open work order of an item, if any.
pub async fn open_work_order<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    id: i32,
) -> Result<Option<work_order::Model>, DbErr> {
    work_order::Entity::find()
        .filter(work_order::Column::ItemKind.eq(kind))
        .filter(work_order::Column::ItemId.eq(id))
        .filter(work_order::Column::Status.is_in(WorkOrderStatus::OPEN.iter().map(|s| s.as_str())))
        .one(db)
        .await
}

/// The (kind, id) of a laboratory's items that have an open work order.
pub async fn open_items_of<C: ConnectionTrait>(db: &C, lab: i32) -> Result<Vec<(String, i32)>, DbErr> {
    work_order::Entity::find()
        .select_only()
        .columns([work_order::Column::ItemKind, work_order::Column::ItemId])
        .filter(work_order::Column::LabId.eq(lab))
        .filter(work_order::Column::Status.is_in(WorkOrderStatus::OPEN.iter().map(|s| s.as_str())))
        .into_tuple()
        .all(db)
        .await
}

/// Moves a work order from `from` to `to`; 0 rows when someone else moved it first.
pub async fn move_work_order<C: ConnectionTrait>(
    db: &C,
    id: i32,
    from: &str,
    to: &str,
    note: &str,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(work_order::Entity::update_many()
        .col_expr(work_order::Column::Status, to.into())
        .col_expr(work_order::Column::Note, note.into())
        .col_expr(work_order::Column::UpdatedAt, at.into())
        .filter(work_order::Column::Id.eq(id))
        .filter(work_order::Column::Status.eq(from))
        .exec(db)
        .await?
        .rows_affected)
}

/// Which work orders a list shows.
#[derive(Debug, Clone, Default)]
pub struct WorkOrderFilter {
    /// The laboratory's orders, or (holder) the orders for an organisation's items.
    pub lab: Option<i32>,
    pub owner: Option<i32>,
    pub status: Option<String>,
    pub open_only: bool,
}

pub async fn work_orders<C: ConnectionTrait>(
    db: &C,
    f: &WorkOrderFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<work_order::Model>, u64), DbErr> {
    use work_order::Column as W;
    let mut c = Condition::all();
    if let Some(l) = f.lab {
        c = c.add(W::LabId.eq(l));
    }
    if let Some(o) = f.owner {
        c = c.add(W::OwnerId.eq(o));
    }
    if let Some(s) = &f.status {
        c = c.add(W::Status.eq(s.clone()));
    } else if f.open_only {
        c = c.add(W::Status.is_in(WorkOrderStatus::OPEN.iter().map(|s| s.as_str())));
    }
    let total = work_order::Entity::find().filter(c.clone()).count(db).await?;
    let rows = work_order::Entity::find()
        .filter(c)
        .order_by_asc(W::PlannedOn)
        .order_by_asc(W::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// (id, name, certificate number, category) of a laboratory's standards in service.
pub async fn standards_of_lab<C: ConnectionTrait>(
    db: &C,
    lab: i32,
) -> Result<Vec<(i32, String, String, String)>, DbErr> {
    use super::entities::standard;
    standard::Entity::find()
        .select_only()
        .columns([
            standard::Column::Id,
            standard::Column::NameZh,
            standard::Column::CertNo,
            standard::Column::CategoryCode,
        ])
        .filter(standard::Column::OwnerId.eq(lab))
        .filter(standard::Column::Status.eq("in_service"))
        .order_by_asc(standard::Column::Id)
        .limit(2000)
        .into_tuple()
        .all(db)
        .await
}
