//! An amended certificate is a new revision of its record (ISO/IEC 17025 §7.8.8): the
//! record reopens as a draft of revision n + 1, says which certificate it amends and why, and
//! keeps the corrections to how the item and the customer print (a JSON Merge Patch over
//! those two parts of the certificate's content). Each signature belongs to the revision
//! it was made on, so that segregation of duties and the certificate count only the
//! signatures over the content being signed. A record's points keep their nominal and
//! reference numbers as entered, to print with their digits, and a laboratory says how it
//! rounds the uncertainty it reports.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CalibrationRecords {
    Table,
    Revision,
    AmendsCertificateId,
    AmendmentReason,
    PrintChanges,
    ConditionOnReceipt,
    OnSite,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    URounding,
}

#[derive(DeriveIden)]
enum RecordPoints {
    Table,
    NominalText,
    ReferenceText,
}

#[derive(DeriveIden)]
enum RecordSignatures {
    Table,
    Revision,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [
            integer(CalibrationRecords::Revision).default(1).to_owned(),
            integer_null(CalibrationRecords::AmendsCertificateId).to_owned(),
            string_len_null(CalibrationRecords::AmendmentReason, 500).to_owned(),
            text_null(CalibrationRecords::PrintChanges).to_owned(),
            // ISO/IEC 17025 §7.8.2.1 c) and f): where the work was done, and the item's
            // condition on receipt.
            string_len_null(CalibrationRecords::ConditionOnReceipt, 500).to_owned(),
            boolean(CalibrationRecords::OnSite).default(false).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CalibrationRecords::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // How a laboratory rounds the U it reports: half to even (GB/T 8170) or up.
        manager
            .alter_table(
                Table::alter()
                    .table(Organisations::Table)
                    .add_column(string_len(Organisations::URounding, 16).default("half_even"))
                    .to_owned(),
            )
            .await?;
        // The nominal and reference numbers as entered, so that "1.000 mm" prints as such.
        for column in [RecordPoints::NominalText, RecordPoints::ReferenceText] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RecordPoints::Table)
                        .add_column(string_len_null(column, 40))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(RecordSignatures::Table)
                    .add_column(integer(RecordSignatures::Revision).default(1))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organisations::Table)
                    .drop_column(Organisations::URounding)
                    .to_owned(),
            )
            .await?;
        for column in [RecordPoints::NominalText, RecordPoints::ReferenceText] {
            manager
                .alter_table(Table::alter().table(RecordPoints::Table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(RecordSignatures::Table)
                    .drop_column(RecordSignatures::Revision)
                    .to_owned(),
            )
            .await?;
        for column in [
            CalibrationRecords::OnSite,
            CalibrationRecords::ConditionOnReceipt,
            CalibrationRecords::PrintChanges,
            CalibrationRecords::AmendmentReason,
            CalibrationRecords::AmendsCertificateId,
            CalibrationRecords::Revision,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CalibrationRecords::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
