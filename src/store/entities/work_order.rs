//! One item's calibration at a laboratory, from planning to completion.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "work_orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub lab_id: i32,
    /// 'standard', 'device' or 'instrument'.
    pub item_kind: String,
    pub item_id: i32,
    pub owner_id: i32,
    pub category_code: String,
    pub label: String,
    pub due_on: Option<Date>,
    /// The day the work is planned for.
    pub planned_on: Date,
    /// planned, received, in_calibration, awaiting_review, completed or cancelled.
    pub status: String,
    pub note: String,
    pub created_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
