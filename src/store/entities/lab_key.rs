//! A laboratory's Ed25519 key: the public half, and the private half sealed under the
//! operator's key-encryption key (service::keys).
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
    /// Hex of the 24-byte nonce and the XChaCha20-Poly1305 ciphertext of the private key;
    /// None for a key made before keys were sealed, until its file is migrated.
    pub sealed_private: Option<String>,
    /// Which key-encryption key sealed it (the first 16 hex digits of its fingerprint).
    pub kek_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
