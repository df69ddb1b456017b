//! A standard device (标准器) or auxiliary equipment (配套设备) of a standard.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "devices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub standard_id: i32,
    pub role: String,
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub quantity: Option<String>,
    pub range_min_si: Option<f64>,
    pub range_max_si: Option<f64>,
    pub range_min_unit: Option<String>,
    pub range_max_unit: Option<String>,
    /// Accuracy class, MPE or uncertainty as stated on the device's certificate.
    pub accuracy: String,
    pub cal_cert_no: Option<String>,
    pub cal_date: Option<Date>,
    pub cal_due: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
