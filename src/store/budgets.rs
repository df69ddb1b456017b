//! Saved uncertainty budgets.

use super::entities::uncertainty_budget as budget;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub async fn budget_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<budget::Model>, DbErr> {
    budget::Entity::find_by_id(id).one(db).await
}

/// A standard's budgets, the latest changed first.
pub async fn budgets_of_standard<C: ConnectionTrait>(db: &C, standard_id: i32) -> Result<Vec<budget::Model>, DbErr> {
    budget::Entity::find()
        .filter(budget::Column::StandardId.eq(standard_id))
        .order_by_desc(budget::Column::UpdatedAt)
        .order_by_desc(budget::Column::Id)
        .all(db)
        .await
}

/// An organisation's budgets, the latest changed first.
pub async fn budgets_of_organisation<C: ConnectionTrait>(db: &C, org: i32) -> Result<Vec<budget::Model>, DbErr> {
    budget::Entity::find()
        .filter(budget::Column::OrganisationId.eq(org))
        .order_by_desc(budget::Column::UpdatedAt)
        .order_by_desc(budget::Column::Id)
        .limit(200)
        .all(db)
        .await
}

pub async fn insert_budget<C: ConnectionTrait>(db: &C, row: budget::ActiveModel) -> Result<budget::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn update_budget<C: ConnectionTrait>(db: &C, row: budget::ActiveModel) -> Result<budget::Model, DbErr> {
    sea_orm::ActiveModelTrait::update(row, db).await
}

/// The budgets of `org` among `ids`, in one query.
pub async fn budgets_by_ids<C: ConnectionTrait>(db: &C, org: i32, ids: &[i32]) -> Result<Vec<budget::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    budget::Entity::find()
        .filter(budget::Column::OrganisationId.eq(org))
        .filter(budget::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}
