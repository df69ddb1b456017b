//! The metrocal schema, as sea-orm-migration steps.
//!
//! One definition serves SQLite (the embedded default) and PostgreSQL (production).
//! Migrations are append-only: never edit a step that has shipped, add a new one.
//! Every step runs in a transaction on both engines, so a failed migration leaves
//! nothing half-built.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_register;
mod m20261128_000002_accounts;
mod m20261128_000003_budgets;
mod m20261128_000004_traceability;
mod m20261128_000005_schedules;
mod m20261128_000006_planning;
mod m20261128_000007_certificates;
mod m20261128_000008_records;
mod m20261128_000009_cmc_address;
mod m20261202_000010_change_counters;
mod m20261207_000011_record_returns;
mod m20261208_000012_record_revisions;
mod m20261208_000013_limits_and_interval_rules;
mod m20261208_000014_sealed_keys;
mod m20261208_000015_postgres_register;
mod m20261208_000016_register_summaries;

/// The triggers that keep SQLite's FTS5 search table in step with `standards`.
/// Shared with the bulk importer, which drops them, writes, and rebuilds the index once.
/// The first migration creates them from this text, so it must not change: a later
/// change to the triggers is a new migration and a new constant.
pub const SQLITE_FTS_TRIGGERS: &str = "
    CREATE TRIGGER standards_fts_ai AFTER INSERT ON standards BEGIN
        INSERT INTO standards_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END;
    CREATE TRIGGER standards_fts_ad AFTER DELETE ON standards BEGIN
        INSERT INTO standards_fts(standards_fts, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
    END;
    CREATE TRIGGER standards_fts_au AFTER UPDATE OF search_text ON standards BEGIN
        INSERT INTO standards_fts(standards_fts, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
        INSERT INTO standards_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END;";

pub const SQLITE_FTS_DROP_TRIGGERS: &str = "
    DROP TRIGGER IF EXISTS standards_fts_ai;
    DROP TRIGGER IF EXISTS standards_fts_ad;
    DROP TRIGGER IF EXISTS standards_fts_au;";

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_register::Migration),
            Box::new(m20261128_000002_accounts::Migration),
            Box::new(m20261128_000003_budgets::Migration),
            Box::new(m20261128_000004_traceability::Migration),
            Box::new(m20261128_000005_schedules::Migration),
            Box::new(m20261128_000006_planning::Migration),
            Box::new(m20261128_000007_certificates::Migration),
            Box::new(m20261128_000008_records::Migration),
            Box::new(m20261128_000009_cmc_address::Migration),
            Box::new(m20261202_000010_change_counters::Migration),
            Box::new(m20261207_000011_record_returns::Migration),
            Box::new(m20261208_000012_record_revisions::Migration),
            Box::new(m20261208_000013_limits_and_interval_rules::Migration),
            Box::new(m20261208_000014_sealed_keys::Migration),
            Box::new(m20261208_000015_postgres_register::Migration),
            Box::new(m20261208_000016_register_summaries::Migration),
        ]
    }
}
