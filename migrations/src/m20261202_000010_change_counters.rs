//! Change counters: one row per cached view of the data (`register`, `plan`), advanced in
//! the same transaction as every audited change that view depends on. Every app
//! instance reads them, so a page cached by one instance is known to be stale the moment
//! another commits a change (DESIGN.md, scale path: no per-process counter, no TTL).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeCounters {
    Table,
    Name,
    Value,
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
                    .table(ChangeCounters::Table)
                    .col(string_len(ChangeCounters::Name, 32).primary_key())
                    .col(big_integer(ChangeCounters::Value).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ChangeCounters::Table)
                    .columns([ChangeCounters::Name, ChangeCounters::Value])
                    .values_panic(["register".into(), 0.into()])
                    .values_panic(["plan".into(), 0.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChangeCounters::Table).to_owned())
            .await
    }
}
