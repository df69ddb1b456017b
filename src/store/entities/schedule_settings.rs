//! An organisation's scheduling rules (absent: the defaults).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "schedule_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organisation_id: i32,
    /// Due dates move to the last day of their month.
    pub month_end: bool,
    /// A calibration this many days before the due date keeps the cycle.
    pub early_window_days: i32,
    /// Items are due soon this many days before their due date.
    pub warning_days: i32,
    /// The interval of items that have none of their own.
    pub default_interval_months: i32,
    /// Years an assessment certificate is valid: issue date + this − 1 day.
    pub assessment_validity_years: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
