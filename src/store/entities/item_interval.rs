//! The calibration interval of an item that differs from its owner's default.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "item_intervals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// 'standard', 'device' or 'instrument'.
    pub item_kind: String,
    pub item_id: i32,
    pub months: i32,
    pub set_by: Option<i32>,
    pub set_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
