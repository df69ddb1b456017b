//! The register at province scale on PostgreSQL.
//!
//! - `standards.search_plain`: the search text without the space SQLite's trigram FTS
//!   needs after every Chinese character, generated from `search_text`, with a pg_trgm
//!   GIN index. pg_trgm makes trigrams within words, so "计量标准" spaced into one-character
//!   words gives only weak padded trigrams; unspaced it gives "计量标", "量标准".
//! - `register_totals`: the number of standards, kept exact by statement triggers in the
//!   same transaction as every insert and delete, so that the unfiltered list's `total`
//!   is one row read instead of a `COUNT(*)` over 46,000 rows.
//!
//! SQLite keeps its FTS5 index and its `COUNT(*)` (answered from a covering index in
//! a few milliseconds); nothing changes there.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for sql in [
            // Only the space metrocal puts after a non-ASCII character goes; the spaces
            // between words stay, so a term never matches across two words.
            r"ALTER TABLE standards ADD COLUMN search_plain text
                GENERATED ALWAYS AS (regexp_replace(search_text, '([^\x01-\x7f]) ', '\1', 'g')) STORED",
            "CREATE INDEX standards_search_plain_trgm ON standards USING gin (search_plain gin_trgm_ops)",
            "CREATE TABLE register_totals (name text PRIMARY KEY, n bigint NOT NULL)",
            "INSERT INTO register_totals (name, n) SELECT 'standards', COUNT(*) FROM standards",
            "CREATE FUNCTION register_totals_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    UPDATE register_totals SET n = n + (SELECT COUNT(*) FROM new_rows) WHERE name = 'standards';
                    RETURN NULL;
                END $$",
            "CREATE FUNCTION register_totals_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    UPDATE register_totals SET n = n - (SELECT COUNT(*) FROM old_rows) WHERE name = 'standards';
                    RETURN NULL;
                END $$",
            "CREATE TRIGGER standards_counted_insert AFTER INSERT ON standards
                REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION register_totals_inserted()",
            "CREATE TRIGGER standards_counted_delete AFTER DELETE ON standards
                REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION register_totals_deleted()",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for sql in [
            "DROP TRIGGER IF EXISTS standards_counted_delete ON standards",
            "DROP TRIGGER IF EXISTS standards_counted_insert ON standards",
            "DROP FUNCTION IF EXISTS register_totals_deleted()",
            "DROP FUNCTION IF EXISTS register_totals_inserted()",
            "DROP TABLE IF EXISTS register_totals",
            "DROP INDEX IF EXISTS standards_search_plain_trgm",
            "ALTER TABLE standards DROP COLUMN IF EXISTS search_plain",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
