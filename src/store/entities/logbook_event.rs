//! A change recorded in a standard's logbook (履历书).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "logbook_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub standard_id: i32,
    /// device, regulation, staff or environment.
    pub kind: String,
    pub occurred_on: Date,
    pub description: String,
    pub recorded_by: Option<i32>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
