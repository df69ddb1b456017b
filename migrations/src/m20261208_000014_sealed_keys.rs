//! The laboratories' private signing keys move into the database, sealed: each is
//! encrypted (XChaCha20-Poly1305) under the key-encryption key the operator gives every
//! instance, with the laboratory and key id authenticated beside it. `kek_id` says which
//! key-encryption key sealed it, so that a server given another says so plainly. At most
//! one key of a laboratory is active, so that two instances making a laboratory's first
//! key at once agree on one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LabKeys {
    Table,
    SealedPrivate,
    KekId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            text_null(LabKeys::SealedPrivate).to_owned(),
            string_len_null(LabKeys::KekId, 16).to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(LabKeys::Table).add_column(column).to_owned())
                .await?;
        }
        // A partial unique index: the same statement on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared("CREATE UNIQUE INDEX lab_keys_one_active ON lab_keys (lab_id) WHERE retired_at IS NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS lab_keys_one_active")
            .await?;
        for column in [LabKeys::KekId, LabKeys::SealedPrivate] {
            manager
                .alter_table(Table::alter().table(LabKeys::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
