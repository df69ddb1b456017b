//! One line of a laboratory's calibration and measurement capabilities: over a range of a
//! quantity, the smallest expanded uncertainty it may report (ILAC-P14).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cmc_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub lab_id: i32,
    pub quantity: String,
    /// The range in SI, both ends included.
    pub range_min_si: f64,
    pub range_max_si: f64,
    /// The units each end of the range was entered in.
    pub range_min_unit: String,
    pub range_max_unit: String,
    /// The unit the CMC was entered in.
    pub unit: String,
    /// CMC = cmc_si + cmc_relative · |nominal|.
    pub cmc_si: f64,
    pub cmc_relative: f64,
    pub method: String,
    pub created_by: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
