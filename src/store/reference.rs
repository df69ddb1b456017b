//! Reference data: the regions (GB/T 2260) and the JJF 1022 categories.

use super::bulk::bulk_upsert;
use super::entities::{category, region};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder};

pub async fn all_regions<C: ConnectionTrait>(db: &C) -> Result<Vec<region::Model>, DbErr> {
    region::Entity::find().order_by_asc(region::Column::Code).all(db).await
}

pub async fn all_categories<C: ConnectionTrait>(db: &C) -> Result<Vec<category::Model>, DbErr> {
    category::Entity::find()
        .order_by_asc(category::Column::Code)
        .all(db)
        .await
}

pub async fn upsert_regions<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = region::ActiveModel>,
) -> Result<(), DbErr> {
    bulk_upsert(db, rows, &["code"], &["name_zh", "name_en", "parent_code"]).await?;
    Ok(())
}

pub async fn upsert_categories<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = category::ActiveModel>,
) -> Result<(), DbErr> {
    bulk_upsert(db, rows, &["code"], &["level", "name_zh", "name_en", "source"]).await?;
    Ok(())
}
