//! Calibration schedules and recall: each organisation's scheduling rules, the
//! calibration interval of items that differ from the default, every item's computed
//! due date and status, the calendar feeds' revocable tokens, the users' notifications,
//! and the daily job's runs.

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
enum ScheduleSettings {
    Table,
    OrganisationId,
    MonthEnd,
    EarlyWindowDays,
    WarningDays,
    DefaultIntervalMonths,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ItemIntervals {
    Table,
    Id,
    ItemKind,
    ItemId,
    Months,
    SetBy,
    SetAt,
}

#[derive(DeriveIden)]
enum DueItems {
    Table,
    Id,
    ItemKind,
    ItemId,
    OwnerId,
    LabId,
    CategoryCode,
    Label,
    IntervalMonths,
    LastCalibratedOn,
    DueOn,
    Status,
    ComputedOn,
}

#[derive(DeriveIden)]
enum CalendarFeeds {
    Table,
    Id,
    OrganisationId,
    TokenHash,
    Label,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    OnDate,
    Title,
    Body,
    Link,
    CreatedAt,
    ReadAt,
    EmailedAt,
}

#[derive(DeriveIden)]
enum JobRuns {
    Table,
    Id,
    Job,
    OnDate,
    StartedAt,
    FinishedAt,
    Summary,
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
                    .table(ScheduleSettings::Table)
                    .col(integer(ScheduleSettings::OrganisationId).primary_key())
                    .col(boolean(ScheduleSettings::MonthEnd))
                    .col(integer(ScheduleSettings::EarlyWindowDays))
                    .col(integer(ScheduleSettings::WarningDays))
                    .col(integer(ScheduleSettings::DefaultIntervalMonths))
                    .col(timestamp_with_time_zone(ScheduleSettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_schedule_settings_organisation")
                            .from(ScheduleSettings::Table, ScheduleSettings::OrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ItemIntervals::Table)
                    .col(pk_auto(ItemIntervals::Id))
                    .col(string_len(ItemIntervals::ItemKind, 16))
                    .col(integer(ItemIntervals::ItemId))
                    .col(integer(ItemIntervals::Months))
                    .col(integer_null(ItemIntervals::SetBy))
                    .col(timestamp_with_time_zone(ItemIntervals::SetAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_item_intervals_set_by")
                            .from(ItemIntervals::Table, ItemIntervals::SetBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_item_intervals_item")
                    .table(ItemIntervals::Table)
                    .col(ItemIntervals::ItemKind)
                    .col(ItemIntervals::ItemId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DueItems::Table)
                    .col(pk_auto(DueItems::Id))
                    .col(string_len(DueItems::ItemKind, 16))
                    .col(integer(DueItems::ItemId))
                    // Who holds the item, and the laboratory that calibrates it.
                    .col(integer(DueItems::OwnerId))
                    .col(integer_null(DueItems::LabId))
                    .col(string_len(DueItems::CategoryCode, 8))
                    .col(string(DueItems::Label))
                    .col(integer(DueItems::IntervalMonths))
                    .col(date_null(DueItems::LastCalibratedOn))
                    .col(date_null(DueItems::DueOn))
                    .col(string_len(DueItems::Status, 16))
                    .col(date(DueItems::ComputedOn))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            ("ux_due_items_item", vec![DueItems::ItemKind, DueItems::ItemId], true),
            // A side's list in due order, and its counts by bucket from the index alone.
            (
                "ix_due_items_lab_due",
                vec![DueItems::LabId, DueItems::DueOn, DueItems::Status],
                false,
            ),
            (
                "ix_due_items_owner_due",
                vec![DueItems::OwnerId, DueItems::DueOn, DueItems::Status],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(DueItems::Table);
            for c in cols {
                index.col(c);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(CalendarFeeds::Table)
                    .col(pk_auto(CalendarFeeds::Id))
                    .col(integer(CalendarFeeds::OrganisationId))
                    // SHA-256 of the token in the feed's address; the token itself is shown once.
                    .col(string_len(CalendarFeeds::TokenHash, 64).unique_key())
                    .col(string(CalendarFeeds::Label))
                    .col(integer_null(CalendarFeeds::CreatedBy))
                    .col(timestamp_with_time_zone(CalendarFeeds::CreatedAt))
                    .col(timestamp_with_time_zone_null(CalendarFeeds::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calendar_feeds_organisation")
                            .from(CalendarFeeds::Table, CalendarFeeds::OrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calendar_feeds_created_by")
                            .from(CalendarFeeds::Table, CalendarFeeds::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_auto(Notifications::Id))
                    .col(integer(Notifications::UserId))
                    .col(string_len(Notifications::Kind, 32))
                    .col(date(Notifications::OnDate))
                    .col(string(Notifications::Title))
                    .col(text(Notifications::Body))
                    .col(string(Notifications::Link))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .col(timestamp_with_time_zone_null(Notifications::EmailedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_user")
                            .from(Notifications::Table, Notifications::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One notification of a kind per user per day: a second run sends nothing twice.
        manager
            .create_index(
                Index::create()
                    .name("ux_notifications_user_kind_day")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::Kind)
                    .col(Notifications::OnDate)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobRuns::Table)
                    .col(pk_auto(JobRuns::Id))
                    .col(string_len(JobRuns::Job, 32))
                    .col(date(JobRuns::OnDate))
                    .col(timestamp_with_time_zone(JobRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(JobRuns::FinishedAt))
                    .col(text(JobRuns::Summary))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_job_runs_job_day")
                    .table(JobRuns::Table)
                    .col(JobRuns::Job)
                    .col(JobRuns::OnDate)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            JobRuns::Table.into_iden(),
            Notifications::Table.into_iden(),
            CalendarFeeds::Table.into_iden(),
            DueItems::Table.into_iden(),
            ItemIntervals::Table.into_iden(),
            ScheduleSettings::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
