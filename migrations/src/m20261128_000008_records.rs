//! Calibration records: what a technician records for a work order (method, environment,
//! standards used, each point's readings, error and uncertainty, the decision rule
//! agreed with the customer), every later edit of a raw observation with its reason, and
//! the signatures of the technician, the reviewer (核验) and the approver (批准).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WorkOrders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Standards {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum UncertaintyBudgets {
    Table,
    CalibrationId,
}

#[derive(DeriveIden)]
enum CalibrationRecords {
    Table,
    Id,
    WorkOrderId,
    Kind,
    Method,
    Quantity,
    DecisionRule,
    GuardMultiple,
    ReceivedOn,
    CalibratedOn,
    TemperatureSi,
    TemperatureUnit,
    HumidityPercent,
    Adjusted,
    IntervalMonths,
    CmcSi,
    Status,
    CertificateId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RecordStandards {
    Table,
    RecordId,
    StandardId,
}

#[derive(DeriveIden)]
enum RecordPoints {
    Table,
    Id,
    RecordId,
    Position,
    Unit,
    NominalSi,
    ReferenceSi,
    Readings,
    ErrorSi,
    USi,
    UUnit,
    K,
    P,
    USource,
    RaisedToCmc,
    MpeSi,
    Decision,
    AsLeftErrorSi,
}

#[derive(DeriveIden)]
enum RecordEdits {
    Table,
    Id,
    RecordId,
    Position,
    Field,
    OldValue,
    NewValue,
    Reason,
    EditedBy,
    EditedAt,
}

#[derive(DeriveIden)]
enum RecordSignatures {
    Table,
    Id,
    RecordId,
    UserId,
    Name,
    Role,
    Meaning,
    ContentSha256,
    SignedAt,
}

fn fk(
    name: &str,
    table: impl IntoIden + 'static,
    col: impl IntoIden + 'static,
    to: impl IntoIden + 'static,
    to_col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(to, to_col)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CalibrationRecords::Table)
                    .col(pk_auto(CalibrationRecords::Id))
                    .col(integer(CalibrationRecords::WorkOrderId).unique_key())
                    // calibration or verification.
                    .col(string_len(CalibrationRecords::Kind, 16))
                    .col(string(CalibrationRecords::Method))
                    .col(string_len(CalibrationRecords::Quantity, 32))
                    .col(string_len(CalibrationRecords::DecisionRule, 16))
                    .col(double(CalibrationRecords::GuardMultiple))
                    .col(date(CalibrationRecords::ReceivedOn))
                    .col(date(CalibrationRecords::CalibratedOn))
                    .col(double(CalibrationRecords::TemperatureSi))
                    .col(string_len(CalibrationRecords::TemperatureUnit, 8))
                    .col(double(CalibrationRecords::HumidityPercent))
                    .col(boolean(CalibrationRecords::Adjusted))
                    // A recommended interval, only when the customer asked for one.
                    .col(integer_null(CalibrationRecords::IntervalMonths))
                    .col(double_null(CalibrationRecords::CmcSi))
                    // recorded, reviewed, approved (issued).
                    .col(string_len(CalibrationRecords::Status, 16))
                    .col(integer_null(CalibrationRecords::CertificateId))
                    .col(integer_null(CalibrationRecords::CreatedBy))
                    .col(timestamp_with_time_zone(CalibrationRecords::CreatedAt))
                    .col(timestamp_with_time_zone(CalibrationRecords::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_records_work_order",
                        CalibrationRecords::Table,
                        CalibrationRecords::WorkOrderId,
                        WorkOrders::Table,
                        WorkOrders::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_records_certificate",
                        CalibrationRecords::Table,
                        CalibrationRecords::CertificateId,
                        Certificates::Table,
                        Certificates::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_records_created_by",
                        CalibrationRecords::Table,
                        CalibrationRecords::CreatedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecordStandards::Table)
                    .col(integer(RecordStandards::RecordId))
                    .col(integer(RecordStandards::StandardId))
                    .primary_key(
                        Index::create()
                            .col(RecordStandards::RecordId)
                            .col(RecordStandards::StandardId),
                    )
                    .foreign_key(&mut fk(
                        "fk_record_standards_record",
                        RecordStandards::Table,
                        RecordStandards::RecordId,
                        CalibrationRecords::Table,
                        CalibrationRecords::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_record_standards_standard",
                        RecordStandards::Table,
                        RecordStandards::StandardId,
                        Standards::Table,
                        Standards::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecordPoints::Table)
                    .col(pk_auto(RecordPoints::Id))
                    .col(integer(RecordPoints::RecordId))
                    .col(integer(RecordPoints::Position))
                    .col(string_len(RecordPoints::Unit, 16))
                    .col(double(RecordPoints::NominalSi))
                    .col(double(RecordPoints::ReferenceSi))
                    // The readings exactly as entered, as a JSON list of strings.
                    .col(text(RecordPoints::Readings))
                    .col(double(RecordPoints::ErrorSi))
                    .col(double(RecordPoints::USi))
                    .col(string_len(RecordPoints::UUnit, 16))
                    .col(double(RecordPoints::K))
                    .col(double(RecordPoints::P))
                    // entered, or budget:<id>.
                    .col(string_len(RecordPoints::USource, 32))
                    .col(boolean(RecordPoints::RaisedToCmc))
                    .col(double_null(RecordPoints::MpeSi))
                    .col(string_len_null(RecordPoints::Decision, 24))
                    .col(double_null(RecordPoints::AsLeftErrorSi))
                    .foreign_key(&mut fk(
                        "fk_record_points_record",
                        RecordPoints::Table,
                        RecordPoints::RecordId,
                        CalibrationRecords::Table,
                        CalibrationRecords::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_record_points")
                    .table(RecordPoints::Table)
                    .col(RecordPoints::RecordId)
                    .col(RecordPoints::Position)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecordEdits::Table)
                    .col(pk_auto(RecordEdits::Id))
                    .col(integer(RecordEdits::RecordId))
                    .col(integer(RecordEdits::Position))
                    .col(string_len(RecordEdits::Field, 32))
                    .col(text(RecordEdits::OldValue))
                    .col(text(RecordEdits::NewValue))
                    .col(text(RecordEdits::Reason))
                    .col(integer_null(RecordEdits::EditedBy))
                    .col(timestamp_with_time_zone(RecordEdits::EditedAt))
                    .foreign_key(&mut fk(
                        "fk_record_edits_record",
                        RecordEdits::Table,
                        RecordEdits::RecordId,
                        CalibrationRecords::Table,
                        CalibrationRecords::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_record_edits_user",
                        RecordEdits::Table,
                        RecordEdits::EditedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecordSignatures::Table)
                    .col(pk_auto(RecordSignatures::Id))
                    .col(integer(RecordSignatures::RecordId))
                    .col(integer_null(RecordSignatures::UserId))
                    .col(string(RecordSignatures::Name))
                    // technician, reviewer or approver.
                    .col(string_len(RecordSignatures::Role, 16))
                    .col(string(RecordSignatures::Meaning))
                    .col(string_len(RecordSignatures::ContentSha256, 64))
                    .col(timestamp_with_time_zone(RecordSignatures::SignedAt))
                    .foreign_key(&mut fk(
                        "fk_record_signatures_record",
                        RecordSignatures::Table,
                        RecordSignatures::RecordId,
                        CalibrationRecords::Table,
                        CalibrationRecords::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_record_signatures_user",
                        RecordSignatures::Table,
                        RecordSignatures::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        // A budget of the uncertainty engine can be the source of a recorded point's U.
        manager
            .alter_table(
                Table::alter()
                    .table(UncertaintyBudgets::Table)
                    .add_column(integer_null(UncertaintyBudgets::CalibrationId))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UncertaintyBudgets::Table)
                    .drop_column(UncertaintyBudgets::CalibrationId)
                    .to_owned(),
            )
            .await?;
        for t in [
            RecordSignatures::Table.into_iden(),
            RecordEdits::Table.into_iden(),
            RecordPoints::Table.into_iden(),
            RecordStandards::Table.into_iden(),
            CalibrationRecords::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
