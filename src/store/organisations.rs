//! Organisations: the lookups, the list, and the writes of an edit or an import.

use super::bulk::bulk_upsert;
use super::entities::organisation;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

/// Organisations by id, for the rows of one page (one query, not one per row).
pub async fn organisations_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[i32],
) -> Result<HashMap<i32, organisation::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|o| (o.id, o)).collect())
}

pub async fn organisation_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<Option<organisation::Model>, DbErr> {
    organisation::Entity::find()
        .filter(organisation::Column::Code.eq(code))
        .one(db)
        .await
}

pub async fn organisation_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<organisation::Model>, DbErr> {
    organisation::Entity::find_by_id(id).one(db).await
}

/// A page of organisations, by name, optionally of one kind and matching a name.
pub async fn list_organisations<C: ConnectionTrait>(
    db: &C,
    kind: Option<&str>,
    name_contains: Option<&str>,
    limit: u64,
    offset: u64,
) -> Result<(Vec<organisation::Model>, u64), DbErr> {
    use sea_orm::{Condition, PaginatorTrait, QuerySelect};
    let mut find = organisation::Entity::find();
    if let Some(k) = kind {
        find = find.filter(organisation::Column::Kind.eq(k));
    }
    if let Some(text) = name_contains {
        find = find.filter(
            Condition::any()
                .add(organisation::Column::NameZh.contains(text))
                .add(organisation::Column::NameEn.contains(text))
                .add(organisation::Column::Code.eq(text.to_ascii_uppercase())),
        );
    }
    let total = find.clone().count(db).await?;
    let rows = find
        .order_by_asc(organisation::Column::NameZh)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok((rows, total))
}

pub async fn insert_organisation<C: ConnectionTrait>(
    db: &C,
    row: organisation::ActiveModel,
) -> Result<organisation::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn update_organisation<C: ConnectionTrait>(
    db: &C,
    row: organisation::ActiveModel,
) -> Result<organisation::Model, DbErr> {
    sea_orm::ActiveModelTrait::update(row, db).await
}

pub async fn all_organisations<C: ConnectionTrait>(db: &C) -> Result<Vec<organisation::Model>, DbErr> {
    organisation::Entity::find()
        .order_by_asc(organisation::Column::Id)
        .all(db)
        .await
}

/// Inserts or updates organisations by code.
pub async fn upsert_organisations<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = organisation::ActiveModel>,
) -> Result<(), DbErr> {
    bulk_upsert(
        db,
        rows,
        &["code"],
        &["kind", "name_zh", "name_en", "region_id", "updated_at"],
    )
    .await?;
    Ok(())
}
