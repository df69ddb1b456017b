//! What a technician recorded for a work order, and where it stands.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "calibration_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub work_order_id: i32,
    /// calibration or verification.
    pub kind: String,
    pub method: String,
    pub quantity: String,
    pub decision_rule: String,
    /// The guard band w as a multiple of U (ILAC-G8 §4.2.2).
    pub guard_multiple: f64,
    pub received_on: Date,
    pub calibrated_on: Date,
    pub temperature_si: f64,
    pub temperature_unit: String,
    pub humidity_percent: f64,
    pub adjusted: bool,
    pub interval_months: Option<i32>,
    /// The laboratory's CMC for the range, in SI: no U is reported below it.
    pub cmc_si: Option<f64>,
    /// draft, recorded, reviewed, approved (only within the approval's transaction),
    /// issued, withdrawn (`domain::records::workflow::RecordStatus`).
    pub status: String,
    /// Why the record was last returned to its technician or withdrawn.
    pub status_reason: Option<String>,
    pub certificate_id: Option<i32>,
    /// The item's condition on receipt, when stated.
    pub condition_on_receipt: Option<String>,
    /// Performed on site at the customer's, not at the laboratory.
    pub on_site: bool,
    /// 1 for the record as first made; n + 1 once an amendment of its certificate
    /// reopens it (ISO/IEC 17025 §7.8.8).
    pub revision: i32,
    /// The certificate an open or issued revision amends.
    pub amends_certificate_id: Option<i32>,
    /// Why: printed on the amended certificate.
    pub amendment_reason: Option<String>,
    /// How the item and the customer print on the amended certificate: a JSON Merge Patch
    /// over those parts of its content, as the amendment gave it.
    pub print_changes: Option<String>,
    pub created_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
