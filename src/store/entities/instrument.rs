//! An enterprise's measuring instrument, calibrated by a laboratory of the province.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "instruments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The enterprise that holds it.
    pub owner_id: i32,
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    /// JJF 1022 category code.
    pub category_code: String,
    pub quantity: Option<String>,
    /// Maximum permissible error: SI value, and the unit it was given in.
    pub mpe_si: Option<f64>,
    pub mpe_unit: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
