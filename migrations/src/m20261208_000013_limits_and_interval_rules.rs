//! Tolerance limits as laboratories write them, and an organisation's own interval
//! rules.
//!
//! A record point keeps its lower and upper tolerance limits on the error (one-sided,
//! asymmetric, relative or compound, as typed, and in SI at the point), beside the
//! symmetric MPE it had before. An organisation's scheduling rules gain the staircase's
//! parameters (ILAC-G24:2022 method 1) and the test uncertainty ratio below which a
//! traceability link is flagged (default 4; JJF 1094 practice often uses 3).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RecordPoints {
    Table,
    LowerLimitSi,
    UpperLimitSi,
    LimitsText,
}

#[derive(DeriveIden)]
enum ScheduleSettings {
    Table,
    StaircaseExtendThreshold,
    StaircaseExtendFactor,
    StaircaseShortenFactor,
    StaircaseMinMonths,
    StaircaseMaxMonths,
    StaircaseWholeMonths,
    TurLimit,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [
            double_null(RecordPoints::LowerLimitSi).to_owned(),
            double_null(RecordPoints::UpperLimitSi).to_owned(),
            // The limits as typed, to print: "−0.005 V / +0.010 V", "≤ 50 µm".
            string_len_null(RecordPoints::LimitsText, 200).to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(RecordPoints::Table).add_column(column).to_owned())
                .await?;
        }
        for column in [
            double(ScheduleSettings::StaircaseExtendThreshold)
                .default(0.5)
                .to_owned(),
            double(ScheduleSettings::StaircaseExtendFactor).default(1.25).to_owned(),
            double(ScheduleSettings::StaircaseShortenFactor).default(0.5).to_owned(),
            double(ScheduleSettings::StaircaseMinMonths).default(3.0).to_owned(),
            double(ScheduleSettings::StaircaseMaxMonths).default(60.0).to_owned(),
            boolean(ScheduleSettings::StaircaseWholeMonths).default(true).to_owned(),
            double(ScheduleSettings::TurLimit).default(4.0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ScheduleSettings::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ScheduleSettings::TurLimit,
            ScheduleSettings::StaircaseWholeMonths,
            ScheduleSettings::StaircaseMaxMonths,
            ScheduleSettings::StaircaseMinMonths,
            ScheduleSettings::StaircaseShortenFactor,
            ScheduleSettings::StaircaseExtendFactor,
            ScheduleSettings::StaircaseExtendThreshold,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ScheduleSettings::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            RecordPoints::LimitsText,
            RecordPoints::UpperLimitSi,
            RecordPoints::LowerLimitSi,
        ] {
            manager
                .alter_table(Table::alter().table(RecordPoints::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
