//! An annual stability check or repeatability test of a standard (JJF 1033-2023).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "standard_checks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub standard_id: i32,
    /// 'stability' or 'repeatability'.
    pub kind: String,
    pub performed_on: Date,
    pub unit: String,
    /// The observations as entered, as JSON.
    pub data: String,
    /// max − min (or the year-on-year difference), or the experimental standard deviation s.
    pub figure_si: f64,
    pub limit_si: f64,
    /// 'mpe', 'u' or 'budget:<id>'.
    pub limit_source: String,
    pub passed: bool,
    pub recorded_by: Option<i32>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
