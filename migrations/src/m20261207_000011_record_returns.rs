//! A record can be returned to its technician (退回) or withdrawn (撤回), each with a
//! reason: the record keeps the reason of its latest return or withdrawal to show, and a
//! signature made before a return stays in the record's history marked void (with when),
//! so that the certificate prints only the signatures made over its own content. An index
//! serves the queues: a laboratory's records waiting in one state, the longest first.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CalibrationRecords {
    Table,
    StatusReason,
    Status,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RecordSignatures {
    Table,
    VoidedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CalibrationRecords::Table)
                    .add_column(string_len_null(CalibrationRecords::StatusReason, 4000))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RecordSignatures::Table)
                    .add_column(timestamp_with_time_zone_null(RecordSignatures::VoidedAt))
                    .to_owned(),
            )
            .await?;
        // The queues: a laboratory's records waiting in one state, the longest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_records_status_updated")
                    .table(CalibrationRecords::Table)
                    .col(CalibrationRecords::Status)
                    .col(CalibrationRecords::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_records_status_updated")
                    .table(CalibrationRecords::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RecordSignatures::Table)
                    .drop_column(RecordSignatures::VoidedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CalibrationRecords::Table)
                    .drop_column(CalibrationRecords::StatusReason)
                    .to_owned(),
            )
            .await
    }
}
