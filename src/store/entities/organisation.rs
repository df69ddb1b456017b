//! An organisation of the province's metrology network.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The unified social credit code (GB 32100) or, for an external provider, its identifier.
    #[sea_orm(unique)]
    pub code: String,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
    pub region_id: Option<i32>,
    /// The street address certificates print (ISO/IEC 17025 §7.8.2.1 b).
    pub address: String,
    /// How a laboratory rounds the expanded uncertainty it reports: `half_even`
    /// (GB/T 8170) or `up` (domain::numbers::Rounding).
    pub u_rounding: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
