//! Saved uncertainty budgets: a measurement model with its inputs, kept exactly as
//! entered, and the evaluation it gave, against a standard (its CMC budget).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Standards {
    Table,
    Id,
}

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
enum UncertaintyBudgets {
    Table,
    Id,
    StandardId,
    OrganisationId,
    Title,
    Problem,
    Result,
    Revision,
    CreatedBy,
    UpdatedBy,
    CreatedAt,
    UpdatedAt,
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
                    .table(UncertaintyBudgets::Table)
                    .col(pk_auto(UncertaintyBudgets::Id))
                    .col(integer(UncertaintyBudgets::StandardId))
                    // The standard's owner when the budget was made: whose staff may see it.
                    .col(integer(UncertaintyBudgets::OrganisationId))
                    .col(string_len(UncertaintyBudgets::Title, 200))
                    // The problem as JSON (docs/uncertainty.md), numbers as entered.
                    .col(text(UncertaintyBudgets::Problem))
                    // The evaluation it gave when saved, as JSON.
                    .col(text(UncertaintyBudgets::Result))
                    .col(integer(UncertaintyBudgets::Revision))
                    .col(integer_null(UncertaintyBudgets::CreatedBy))
                    .col(integer_null(UncertaintyBudgets::UpdatedBy))
                    .col(timestamp_with_time_zone(UncertaintyBudgets::CreatedAt))
                    .col(timestamp_with_time_zone(UncertaintyBudgets::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_budgets_standard")
                            .from(UncertaintyBudgets::Table, UncertaintyBudgets::StandardId)
                            .to(Standards::Table, Standards::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_budgets_organisation")
                            .from(UncertaintyBudgets::Table, UncertaintyBudgets::OrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_budgets_created_by")
                            .from(UncertaintyBudgets::Table, UncertaintyBudgets::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_budgets_updated_by")
                            .from(UncertaintyBudgets::Table, UncertaintyBudgets::UpdatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_budgets_standard")
                    .table(UncertaintyBudgets::Table)
                    .col(UncertaintyBudgets::StandardId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UncertaintyBudgets::Table).to_owned())
            .await
    }
}
