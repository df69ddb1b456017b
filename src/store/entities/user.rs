//! A person who logs in: one organisation, one or more roles.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organisation_id: i32,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    /// Role names joined by commas, see `domain::accounts::Roles`.
    pub roles: String,
    /// An argon2id PHC string.
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
