//! Planning the work and keeping standards fit for renewal: the laboratories' weekly
//! capacity and holidays, work orders, interval proposals awaiting a person's approval,
//! the annual stability checks and repeatability tests, the standards' logbooks, the
//! reminders already sent, and the validity of an assessment certificate.

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
enum Standards {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ScheduleSettings {
    Table,
    AssessmentValidityYears,
}

#[derive(DeriveIden)]
enum LabCapacity {
    Table,
    Id,
    LabId,
    CategoryCode,
    PerWeek,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Holidays {
    Table,
    Id,
    LabId,
    OnDate,
    Name,
}

#[derive(DeriveIden)]
enum WorkOrders {
    Table,
    Id,
    LabId,
    ItemKind,
    ItemId,
    OwnerId,
    CategoryCode,
    Label,
    DueOn,
    PlannedOn,
    Status,
    Note,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IntervalProposals {
    Table,
    Id,
    OrganisationId,
    Scope,
    ItemKind,
    ItemId,
    GroupKey,
    Method,
    Params,
    History,
    CurrentMonths,
    ProposedMonths,
    Reason,
    Status,
    ProposedBy,
    ProposedAt,
    DecidedBy,
    DecidedAt,
}

#[derive(DeriveIden)]
enum StandardChecks {
    Table,
    Id,
    StandardId,
    Kind,
    PerformedOn,
    Unit,
    Data,
    FigureSi,
    LimitSi,
    LimitSource,
    Passed,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum LogbookEvents {
    Table,
    Id,
    StandardId,
    Kind,
    OccurredOn,
    Description,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum Reminders {
    Table,
    Id,
    SubjectKind,
    SubjectId,
    Milestone,
    SentOn,
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

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: Vec<impl IntoIden>,
    unique: bool,
) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c);
    }
    if unique {
        i.unique();
    }
    manager.create_index(i.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // JJF 1033-2023: an assessment certificate is valid for 4 years (issue date + 4 years − 1 day).
        manager
            .alter_table(
                Table::alter()
                    .table(ScheduleSettings::Table)
                    .add_column(integer(ScheduleSettings::AssessmentValidityYears).default(4))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LabCapacity::Table)
                    .col(pk_auto(LabCapacity::Id))
                    .col(integer(LabCapacity::LabId))
                    // A JJF 1022 code, or '*' for every category without a row of its own.
                    .col(string_len(LabCapacity::CategoryCode, 8))
                    .col(integer(LabCapacity::PerWeek))
                    .col(integer_null(LabCapacity::UpdatedBy))
                    .col(timestamp_with_time_zone(LabCapacity::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_lab_capacity_lab",
                        LabCapacity::Table,
                        LabCapacity::LabId,
                        Organisations::Table,
                        Organisations::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_lab_capacity_user",
                        LabCapacity::Table,
                        LabCapacity::UpdatedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_lab_capacity",
            LabCapacity::Table,
            vec![LabCapacity::LabId, LabCapacity::CategoryCode],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Holidays::Table)
                    .col(pk_auto(Holidays::Id))
                    // None: a public holiday for every laboratory.
                    .col(integer_null(Holidays::LabId))
                    .col(date(Holidays::OnDate))
                    .col(string(Holidays::Name))
                    .foreign_key(&mut fk(
                        "fk_holidays_lab",
                        Holidays::Table,
                        Holidays::LabId,
                        Organisations::Table,
                        Organisations::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_holidays_day",
            Holidays::Table,
            vec![Holidays::OnDate, Holidays::LabId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(WorkOrders::Table)
                    .col(pk_auto(WorkOrders::Id))
                    .col(integer(WorkOrders::LabId))
                    .col(string_len(WorkOrders::ItemKind, 16))
                    .col(integer(WorkOrders::ItemId))
                    .col(integer(WorkOrders::OwnerId))
                    .col(string_len(WorkOrders::CategoryCode, 8))
                    .col(string(WorkOrders::Label))
                    .col(date_null(WorkOrders::DueOn))
                    .col(date(WorkOrders::PlannedOn))
                    .col(string_len(WorkOrders::Status, 16))
                    .col(text(WorkOrders::Note))
                    .col(integer_null(WorkOrders::CreatedBy))
                    .col(timestamp_with_time_zone(WorkOrders::CreatedAt))
                    .col(timestamp_with_time_zone(WorkOrders::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_work_orders_lab",
                        WorkOrders::Table,
                        WorkOrders::LabId,
                        Organisations::Table,
                        Organisations::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_orders_owner",
                        WorkOrders::Table,
                        WorkOrders::OwnerId,
                        Organisations::Table,
                        Organisations::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_orders_created_by",
                        WorkOrders::Table,
                        WorkOrders::CreatedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_work_orders_lab",
            WorkOrders::Table,
            vec![WorkOrders::LabId, WorkOrders::Status, WorkOrders::PlannedOn],
            false,
        )
        .await?;
        index(
            manager,
            "ix_work_orders_owner",
            WorkOrders::Table,
            vec![WorkOrders::OwnerId, WorkOrders::Status],
            false,
        )
        .await?;
        index(
            manager,
            "ix_work_orders_item",
            WorkOrders::Table,
            vec![WorkOrders::ItemKind, WorkOrders::ItemId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(IntervalProposals::Table)
                    .col(pk_auto(IntervalProposals::Id))
                    .col(integer(IntervalProposals::OrganisationId))
                    // 'item' (the staircase, one item) or 'group' (pooled over the province).
                    .col(string_len(IntervalProposals::Scope, 8))
                    .col(string_len_null(IntervalProposals::ItemKind, 16))
                    .col(integer_null(IntervalProposals::ItemId))
                    .col(string(IntervalProposals::GroupKey))
                    .col(string_len(IntervalProposals::Method, 16))
                    // The method's parameters and its input history, as JSON: enough to reproduce it.
                    .col(text(IntervalProposals::Params))
                    .col(text(IntervalProposals::History))
                    .col(integer(IntervalProposals::CurrentMonths))
                    .col(integer(IntervalProposals::ProposedMonths))
                    .col(text(IntervalProposals::Reason))
                    .col(string_len(IntervalProposals::Status, 16))
                    .col(integer_null(IntervalProposals::ProposedBy))
                    .col(timestamp_with_time_zone(IntervalProposals::ProposedAt))
                    .col(integer_null(IntervalProposals::DecidedBy))
                    .col(timestamp_with_time_zone_null(IntervalProposals::DecidedAt))
                    .foreign_key(&mut fk(
                        "fk_interval_proposals_org",
                        IntervalProposals::Table,
                        IntervalProposals::OrganisationId,
                        Organisations::Table,
                        Organisations::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_interval_proposals_by",
                        IntervalProposals::Table,
                        IntervalProposals::ProposedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_interval_proposals_decided",
                        IntervalProposals::Table,
                        IntervalProposals::DecidedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_interval_proposals_org",
            IntervalProposals::Table,
            vec![IntervalProposals::OrganisationId, IntervalProposals::Status],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(StandardChecks::Table)
                    .col(pk_auto(StandardChecks::Id))
                    .col(integer(StandardChecks::StandardId))
                    // 'stability' or 'repeatability'.
                    .col(string_len(StandardChecks::Kind, 16))
                    .col(date(StandardChecks::PerformedOn))
                    .col(string_len(StandardChecks::Unit, 32))
                    // The observations as entered (group means with their dates, or readings).
                    .col(text(StandardChecks::Data))
                    .col(double(StandardChecks::FigureSi))
                    .col(double(StandardChecks::LimitSi))
                    .col(string_len(StandardChecks::LimitSource, 32))
                    .col(boolean(StandardChecks::Passed))
                    .col(integer_null(StandardChecks::RecordedBy))
                    .col(timestamp_with_time_zone(StandardChecks::RecordedAt))
                    .foreign_key(&mut fk(
                        "fk_standard_checks_standard",
                        StandardChecks::Table,
                        StandardChecks::StandardId,
                        Standards::Table,
                        Standards::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_standard_checks_user",
                        StandardChecks::Table,
                        StandardChecks::RecordedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_standard_checks_standard",
            StandardChecks::Table,
            vec![
                StandardChecks::StandardId,
                StandardChecks::Kind,
                StandardChecks::PerformedOn,
            ],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(LogbookEvents::Table)
                    .col(pk_auto(LogbookEvents::Id))
                    .col(integer(LogbookEvents::StandardId))
                    .col(string_len(LogbookEvents::Kind, 24))
                    .col(date(LogbookEvents::OccurredOn))
                    .col(text(LogbookEvents::Description))
                    .col(integer_null(LogbookEvents::RecordedBy))
                    .col(timestamp_with_time_zone(LogbookEvents::RecordedAt))
                    .foreign_key(&mut fk(
                        "fk_logbook_events_standard",
                        LogbookEvents::Table,
                        LogbookEvents::StandardId,
                        Standards::Table,
                        Standards::Id,
                    ))
                    .foreign_key(&mut fk(
                        "fk_logbook_events_user",
                        LogbookEvents::Table,
                        LogbookEvents::RecordedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_logbook_events_standard",
            LogbookEvents::Table,
            vec![LogbookEvents::StandardId, LogbookEvents::OccurredOn],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Reminders::Table)
                    .col(pk_auto(Reminders::Id))
                    .col(string_len(Reminders::SubjectKind, 16))
                    .col(integer(Reminders::SubjectId))
                    // e.g. 'renewal:2028-02-29:6m': one reminder per certificate and milestone.
                    .col(string_len(Reminders::Milestone, 64))
                    .col(date(Reminders::SentOn))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ux_reminders",
            Reminders::Table,
            vec![
                Reminders::SubjectKind.into_iden(),
                Reminders::SubjectId.into_iden(),
                Reminders::Milestone.into_iden(),
            ],
            true,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Reminders::Table.into_iden(),
            LogbookEvents::Table.into_iden(),
            StandardChecks::Table.into_iden(),
            IntervalProposals::Table.into_iden(),
            WorkOrders::Table.into_iden(),
            Holidays::Table.into_iden(),
            LabCapacity::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ScheduleSettings::Table)
                    .drop_column(ScheduleSettings::AssessmentValidityYears)
                    .to_owned(),
            )
            .await
    }
}
