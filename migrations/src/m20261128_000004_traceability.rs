//! Traceability: enterprises' instruments, and the calibrations that link every
//! standard, device and instrument to what it was calibrated against (a standard or
//! device in the register, or an external provider with its MRA evidence).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Instruments {
    Table,
    Id,
    OwnerId,
    Name,
    Manufacturer,
    Model,
    Serial,
    CategoryCode,
    Quantity,
    MpeSi,
    MpeUnit,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Calibrations {
    Table,
    Id,
    ItemKind,
    ItemId,
    ReferenceKind,
    ReferenceId,
    ProviderId,
    ProviderEvidence,
    LabId,
    CertificateNo,
    CalibratedOn,
    ValidUntil,
    Quantity,
    UncertaintySi,
    UncertaintyUnit,
    MpeSi,
    AsFoundErrorSi,
    DecisionRule,
    Decision,
    Source,
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
            .create_table(
                Table::create()
                    .table(Instruments::Table)
                    .col(pk_auto(Instruments::Id))
                    // The enterprise that holds the instrument.
                    .col(integer(Instruments::OwnerId))
                    .col(string(Instruments::Name))
                    .col(string(Instruments::Manufacturer))
                    .col(string(Instruments::Model))
                    .col(string_len(Instruments::Serial, 64))
                    .col(string_len(Instruments::CategoryCode, 8))
                    .col(string_len_null(Instruments::Quantity, 32))
                    // Maximum permissible error, SI value and the unit it was given in.
                    .col(double_null(Instruments::MpeSi))
                    .col(string_len_null(Instruments::MpeUnit, 16))
                    .col(timestamp_with_time_zone(Instruments::CreatedAt))
                    .col(timestamp_with_time_zone(Instruments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_instruments_owner")
                            .from(Instruments::Table, Instruments::OwnerId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_instruments_owner_serial")
                    .table(Instruments::Table)
                    .col(Instruments::OwnerId)
                    .col(Instruments::Serial)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Calibrations::Table)
                    .col(pk_auto(Calibrations::Id))
                    // What was calibrated: 'standard', 'device' or 'instrument', and its id.
                    .col(string_len(Calibrations::ItemKind, 16))
                    .col(integer(Calibrations::ItemId))
                    // What it was calibrated against: a standard or device in the register…
                    .col(string_len_null(Calibrations::ReferenceKind, 16))
                    .col(integer_null(Calibrations::ReferenceId))
                    // …or an external provider (an NMI or an accredited laboratory) with its
                    // evidence: the KCDB reference or the accreditation number.
                    .col(integer_null(Calibrations::ProviderId))
                    .col(string_len(Calibrations::ProviderEvidence, 128))
                    // The laboratory that did the work.
                    .col(integer_null(Calibrations::LabId))
                    .col(string_len(Calibrations::CertificateNo, 128))
                    .col(date(Calibrations::CalibratedOn))
                    .col(date(Calibrations::ValidUntil))
                    // The expanded uncertainty stated on the certificate: SI value, its kind
                    // of quantity and the unit it was stated in.
                    .col(string_len_null(Calibrations::Quantity, 32))
                    .col(double_null(Calibrations::UncertaintySi))
                    .col(string_len_null(Calibrations::UncertaintyUnit, 16))
                    // The item's MPE and its as-found error (SI), and the conformity decision
                    // with the rule agreed for it.
                    .col(double_null(Calibrations::MpeSi))
                    .col(double_null(Calibrations::AsFoundErrorSi))
                    .col(string_len_null(Calibrations::DecisionRule, 16))
                    .col(string_len_null(Calibrations::Decision, 24))
                    // 'recorded' (from a calibration record), 'manual' or 'import'.
                    .col(string_len(Calibrations::Source, 16))
                    .col(integer_null(Calibrations::CreatedBy))
                    .col(timestamp_with_time_zone(Calibrations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calibrations_provider")
                            .from(Calibrations::Table, Calibrations::ProviderId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calibrations_lab")
                            .from(Calibrations::Table, Calibrations::LabId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calibrations_created_by")
                            .from(Calibrations::Table, Calibrations::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // An item's links in date order (its chain as of a date), what was calibrated
        // against a reference since a date (impact analysis), and one certificate per item.
        for (name, cols, unique) in [
            (
                "ux_calibrations_item_certificate",
                vec![
                    Calibrations::ItemKind,
                    Calibrations::ItemId,
                    Calibrations::CertificateNo,
                ],
                true,
            ),
            (
                "ix_calibrations_item_date",
                vec![Calibrations::ItemKind, Calibrations::ItemId, Calibrations::CalibratedOn],
                false,
            ),
            (
                "ix_calibrations_reference_date",
                vec![
                    Calibrations::ReferenceKind,
                    Calibrations::ReferenceId,
                    Calibrations::CalibratedOn,
                ],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Calibrations::Table);
            for c in cols {
                index.col(c);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Calibrations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Instruments::Table).to_owned())
            .await
    }
}
