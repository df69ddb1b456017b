//! The change counters (migration 10): what a cached view of the data is keyed by.

use sea_orm::{ConnectionTrait, DbErr, Statement};

/// The public register's pages (standards, devices, organisations, regions, imports).
pub const REGISTER: &str = "register";
/// The calibration plan (work orders, capacities, holidays, due items, the register).
pub const PLAN: &str = "plan";

/// Advances the named counters, inside the caller's transaction.
pub async fn advance<C: ConnectionTrait>(db: &C, names: &[&str]) -> Result<(), DbErr> {
    if names.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let marks: Vec<String> = (1..=names.len())
        .map(|i| match backend {
            sea_orm::DbBackend::Postgres => format!("${i}"),
            _ => "?".to_owned(),
        })
        .collect();
    let sql = format!(
        "UPDATE change_counters SET value = value + 1 WHERE name IN ({})",
        marks.join(", ")
    );
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        names.iter().map(|n| sea_orm::Value::from(*n)),
    ))
    .await?;
    Ok(())
}

/// The counter's value as the database has it now.
pub async fn value<C: ConnectionTrait>(db: &C, name: &str) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "SELECT value FROM change_counters WHERE name = $1",
        _ => "SELECT value FROM change_counters WHERE name = ?",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [name.into()]))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("change counter {name}")))?;
    row.try_get_by_index::<i64>(0)
}
