//! An organisation's scheduling rules (absent: the defaults).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
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
    /// The staircase of interval adjustment (ILAC-G24:2022 method 1): extend when |e| is
    /// within this fraction of the MPE, by this factor; shorten by that one; between the
    /// minimum and maximum months; to whole months or exact.
    pub staircase_extend_threshold: f64,
    pub staircase_extend_factor: f64,
    pub staircase_shorten_factor: f64,
    pub staircase_min_months: f64,
    pub staircase_max_months: f64,
    pub staircase_whole_months: bool,
    /// A traceability link whose MPE/U is below this is flagged (default 4).
    pub tur_limit: f64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
