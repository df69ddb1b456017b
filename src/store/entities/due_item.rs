//! An item's computed due date and status, as of the daily job's last run: what the
//! recall lists and calendar feeds read.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "due_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// 'standard', 'device' or 'instrument'.
    pub item_kind: String,
    pub item_id: i32,
    /// The organisation that holds the item.
    pub owner_id: i32,
    /// The laboratory that calibrates it (None: not known yet).
    pub lab_id: Option<i32>,
    pub category_code: String,
    /// Name and serial or certificate number, for lists.
    pub label: String,
    pub interval_months: i32,
    pub last_calibrated_on: Option<Date>,
    pub due_on: Option<Date>,
    /// in_date, due_soon, overdue or out_of_service.
    pub status: String,
    pub computed_on: Date,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
