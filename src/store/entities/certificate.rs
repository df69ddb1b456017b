//! An issued certificate: its frozen content, its files as served, their digests and the
//! laboratory's signature. Never updated except for its status.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub lab_id: i32,
    pub customer_id: i32,
    pub number: String,
    pub year: i32,
    pub seq: i32,
    /// calibration, verification or verification_notice.
    pub kind: String,
    pub revision: i32,
    pub replaces_id: Option<i32>,
    /// Why this revision replaces the last.
    pub reason: String,
    /// issued, superseded or withdrawn.
    pub status: String,
    pub status_reason: String,
    pub token: String,
    /// The snapshot's canonical JSON.
    pub snapshot: String,
    pub content_sha256: String,
    pub dcc: String,
    pub dcc_sha256: String,
    pub pdf: Option<Vec<u8>>,
    pub pdf_sha256: Option<String>,
    pub key_id: String,
    /// Hex of the Ed25519 signature over the certificate's signed message (service::certificates::signed_message).
    pub signature: String,
    pub issued_at: DateTimeUtc,
    pub issued_by: Option<i32>,
    pub status_changed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
