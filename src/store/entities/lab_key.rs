//! A laboratory's Ed25519 public key; the private half is in a file outside the database.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lab_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub lab_id: i32,
    pub key_id: String,
    /// Hex of the 32-byte public key.
    pub public_key: String,
    pub created_at: DateTimeUtc,
    /// Rotated out: no longer signs, still verifies what it signed.
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
