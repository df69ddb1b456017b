//! One measurement point of a record, in SI with the unit entered.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "record_points")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub record_id: i32,
    pub position: i32,
    pub unit: String,
    pub nominal_si: f64,
    /// The nominal and reference numbers as entered ("1.000"), to print with their digits.
    pub nominal_text: Option<String>,
    pub reference_text: Option<String>,
    pub reference_si: f64,
    /// The readings as entered (JSON list of strings), in `unit`.
    pub readings: String,
    pub error_si: f64,
    pub u_si: f64,
    pub u_unit: String,
    pub k: f64,
    pub p: f64,
    pub u_source: String,
    pub raised_to_cmc: bool,
    pub mpe_si: Option<f64>,
    /// The lower and upper limits on the error at this point, when the tolerance was
    /// given as limits (one-sided, asymmetric, relative or compound), and as typed.
    pub lower_limit_si: Option<f64>,
    pub upper_limit_si: Option<f64>,
    pub limits_text: Option<String>,
    pub decision: Option<String>,
    pub as_left_error_si: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
