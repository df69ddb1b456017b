//! A signature on a record: who, in which role, meaning what, over which content.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "record_signatures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub record_id: i32,
    pub user_id: Option<i32>,
    pub name: String,
    pub role: String,
    pub meaning: String,
    pub content_sha256: String,
    pub signed_at: DateTimeUtc,
    /// When a return to the technician voided it: it stays in the record's history, and
    /// no certificate prints it.
    pub voided_at: Option<DateTimeUtc>,
    /// The record's revision it was made on.
    pub revision: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
