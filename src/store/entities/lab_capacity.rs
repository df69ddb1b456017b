//! A laboratory's calibrations per week in a JJF 1022 category ('*': any category without its own row).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lab_capacity")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub lab_id: i32,
    pub category_code: String,
    pub per_week: i32,
    pub updated_by: Option<i32>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
