//! The province dashboard's counts on PostgreSQL, kept instead of counted.
//!
//! - `register_counts`: standards per (city, JJF 1022 code, stored status). The
//!   dashboard's coverage by city and by discipline, and the register list's `total`
//!   when it is filtered only by city, discipline or stored status, add up these rows
//!   (about 1,300 at province scale) instead of counting 46,000.
//! - `register_expiry_counts`: standards per (stored status, certificate expiry date).
//!   "Expiring within 6 months" and "expired" add up a range of dates.
//!
//! Both are kept exact by statement triggers on `standards`, with transition tables,
//! in the same transaction as every insert, update and delete, so a reader sees counts
//! that match the rows of the same snapshot. Each trigger writes its keys in key order
//! (`ORDER BY`), so two transactions that touch the same counts lock them in the same
//! order and never deadlock; they queue behind each other only for those rows.
//!
//! SQLite keeps counting: its covering indexes answer the dashboard in ~14 ms
//! (docs/benchmarks.md), and it has no statement triggers.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Adds the rows of a transition table (`rows`) with `sign` (+ or -) to both summaries.
fn apply(rows: &str, sign: &str) -> String {
    format!(
        "INSERT INTO register_counts AS t (region_key, category_code, status, n)
            SELECT COALESCE(region_id, 0), category_code, status, {sign}COUNT(*) FROM {rows}
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (region_key, category_code, status) DO UPDATE SET n = t.n + excluded.n;
        INSERT INTO register_expiry_counts AS t (status, cert_expires_on, n)
            SELECT status, cert_expires_on, {sign}COUNT(*) FROM {rows}
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (status, cert_expires_on) DO UPDATE SET n = t.n + excluded.n;"
    )
}

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
        let inserted = apply("new_rows", "");
        let deleted = apply("old_rows", "-");
        // An update moves only the rows whose counted columns changed.
        let updated = format!(
            "{}{}",
            apply(
                "(SELECT o.* FROM old_rows o JOIN new_rows n USING (id)
                  WHERE (o.region_id, o.category_code, o.status, o.cert_expires_on)
                        IS DISTINCT FROM (n.region_id, n.category_code, n.status, n.cert_expires_on)) moved",
                "-"
            ),
            apply(
                "(SELECT n.* FROM old_rows o JOIN new_rows n USING (id)
                  WHERE (o.region_id, o.category_code, o.status, o.cert_expires_on)
                        IS DISTINCT FROM (n.region_id, n.category_code, n.status, n.cert_expires_on)) moved",
                ""
            )
        );
        for sql in [
            "CREATE TABLE register_counts (
                region_key integer NOT NULL,
                category_code text NOT NULL,
                status text NOT NULL,
                n bigint NOT NULL,
                PRIMARY KEY (region_key, category_code, status))"
                .to_owned(),
            "CREATE TABLE register_expiry_counts (
                status text NOT NULL,
                cert_expires_on date NOT NULL,
                n bigint NOT NULL,
                PRIMARY KEY (status, cert_expires_on))"
                .to_owned(),
            format!(
                "CREATE FUNCTION register_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN {inserted} RETURN NULL; END $$"
            ),
            format!(
                "CREATE FUNCTION register_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN {deleted} RETURN NULL; END $$"
            ),
            format!(
                "CREATE FUNCTION register_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN {updated} RETURN NULL; END $$"
            ),
            "CREATE FUNCTION register_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    DELETE FROM register_counts;
                    DELETE FROM register_expiry_counts;
                    UPDATE register_totals SET n = 0 WHERE name = 'standards';
                    RETURN NULL;
                END $$"
                .to_owned(),
            "CREATE TRIGGER standards_summed_insert AFTER INSERT ON standards
                REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION register_counts_inserted()"
                .to_owned(),
            "CREATE TRIGGER standards_summed_delete AFTER DELETE ON standards
                REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION register_counts_deleted()"
                .to_owned(),
            "CREATE TRIGGER standards_summed_update AFTER UPDATE ON standards
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION register_counts_updated()"
                .to_owned(),
            "CREATE TRIGGER standards_summed_truncate AFTER TRUNCATE ON standards
                FOR EACH STATEMENT EXECUTE FUNCTION register_counts_truncated()"
                .to_owned(),
        ] {
            conn.execute_unprepared(&sql).await?;
        }
        // The counts of the standards already in the register (two statements).
        for part in apply("standards", "").split(';').filter(|p| !p.trim().is_empty()) {
            conn.execute_unprepared(part).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for sql in [
            "DROP TRIGGER IF EXISTS standards_summed_truncate ON standards",
            "DROP TRIGGER IF EXISTS standards_summed_update ON standards",
            "DROP TRIGGER IF EXISTS standards_summed_delete ON standards",
            "DROP TRIGGER IF EXISTS standards_summed_insert ON standards",
            "DROP FUNCTION IF EXISTS register_counts_truncated()",
            "DROP FUNCTION IF EXISTS register_counts_updated()",
            "DROP FUNCTION IF EXISTS register_counts_deleted()",
            "DROP FUNCTION IF EXISTS register_counts_inserted()",
            "DROP TABLE IF EXISTS register_expiry_counts",
            "DROP TABLE IF EXISTS register_counts",
        ] {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
