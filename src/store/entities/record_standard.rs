//! A standard used for a record.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "record_standards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub record_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub standard_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
