//! A measurement standard (计量标准) of the register.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "standards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The assessment certificate number (计量标准考核证书编号); unique in the province.
    #[sea_orm(unique)]
    pub cert_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub category_code: String,
    pub owner_id: i32,
    /// The owner's city, kept here so that the city filter needs no join.
    pub region_id: Option<i32>,
    pub level: String,
    pub cert_authority: String,
    pub cert_issued_on: Date,
    pub cert_expires_on: Date,
    pub status: String,
    pub quantity: String,
    /// Range limits in the coherent SI unit of `quantity`, each shown in the unit it
    /// was entered in ("1 mg … 20 kg").
    pub range_min_si: f64,
    pub range_max_si: f64,
    pub range_min_unit: String,
    pub range_max_unit: String,
    pub accuracy_kind: String,
    /// Uncertainty or MPE in SI (a difference of `quantity`, or a ratio); none for a class.
    pub accuracy_si: Option<f64>,
    pub accuracy_unit: Option<String>,
    pub accuracy_text: String,
    pub regulations: String,
    pub responsible_person: String,
    pub search_text: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
