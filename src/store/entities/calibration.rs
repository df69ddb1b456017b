//! One calibration of a standard, device or instrument: the traceability link to what it
//! was calibrated against, with the certificate's number, dates and uncertainty.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "calibrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// 'standard', 'device' or 'instrument'.
    pub item_kind: String,
    pub item_id: i32,
    /// The standard or device in the register it was calibrated against…
    pub reference_kind: Option<String>,
    pub reference_id: Option<i32>,
    /// …or the external provider (NMI or accredited laboratory) and its evidence.
    pub provider_id: Option<i32>,
    pub provider_evidence: String,
    pub lab_id: Option<i32>,
    pub certificate_no: String,
    pub calibrated_on: Date,
    pub valid_until: Date,
    pub quantity: Option<String>,
    pub uncertainty_si: Option<f64>,
    pub uncertainty_unit: Option<String>,
    pub mpe_si: Option<f64>,
    pub as_found_error_si: Option<f64>,
    pub decision_rule: Option<String>,
    pub decision: Option<String>,
    /// 'recorded', 'manual' or 'import'.
    pub source: String,
    pub created_by: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
