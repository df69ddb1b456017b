//! What a certificate still needed from the register: the laboratory's street address
//! (ISO/IEC 17025 §7.8.2.1 b) and its calibration and measurement capabilities, range by
//! range (ILAC-P14: no reported U below the CMC of the range the point lies in).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    Address,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CmcEntries {
    Table,
    Id,
    LabId,
    Quantity,
    RangeMinSi,
    RangeMaxSi,
    RangeMinUnit,
    RangeMaxUnit,
    Unit,
    CmcSi,
    CmcRelative,
    Method,
    CreatedBy,
    CreatedAt,
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
                    .table(Organisations::Table)
                    .add_column(string_len(Organisations::Address, 300).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CmcEntries::Table)
                    .col(pk_auto(CmcEntries::Id))
                    .col(integer(CmcEntries::LabId))
                    .col(string_len(CmcEntries::Quantity, 32))
                    // The range, in SI, both ends included.
                    .col(double(CmcEntries::RangeMinSi))
                    .col(double(CmcEntries::RangeMaxSi))
                    // The units each end was entered in.
                    .col(string_len(CmcEntries::RangeMinUnit, 16))
                    .col(string_len(CmcEntries::RangeMaxUnit, 16))
                    // The unit the CMC was entered in (a difference unit of the quantity).
                    .col(string_len(CmcEntries::Unit, 16))
                    // CMC = cmc_si + cmc_relative · |nominal|, as an expanded uncertainty.
                    .col(double(CmcEntries::CmcSi))
                    .col(double(CmcEntries::CmcRelative))
                    .col(string_len(CmcEntries::Method, 200))
                    .col(integer_null(CmcEntries::CreatedBy))
                    .col(timestamp_with_time_zone(CmcEntries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cmc_entries_lab")
                            .from(CmcEntries::Table, CmcEntries::LabId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cmc_entries_user")
                            .from(CmcEntries::Table, CmcEntries::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_cmc_entries_lab")
                    .table(CmcEntries::Table)
                    .col(CmcEntries::LabId)
                    .col(CmcEntries::Quantity)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CmcEntries::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organisations::Table)
                    .drop_column(Organisations::Address)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
