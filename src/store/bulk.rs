//! Bulk loading: multi-row upserts, the secondary indexes dropped and rebuilt around a
//! large import, and the statistics refreshed after it.
//!
//! On SQLite a batch is a multi-row `VALUES` list with one parameter per value. On
//! PostgreSQL a batch is one parameter per column: the column's values as an array in
//! PostgreSQL's text form, which `unnest` turns back into rows, as COPY reads its text
//! format. A `VALUES` list of 400 rows and 8,000 parameters cost PostgreSQL ~70 ms to
//! bind and plan per statement (the province's 445,000 calibrations took 77 s); as a
//! JSON document per batch they took 9 s; as arrays, see docs/benchmarks.md
//! ("PostgreSQL beside SQLite").

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait, IdenStatic, Iterable, Statement,
    Value,
};

/// Inserts rows, or updates the existing row with the same `key`, in multi-row
/// statements. Every column the first active model sets is written; on a key conflict
/// the columns in `update` are replaced. The rows must be unique by `key` (an import
/// refuses a file that has a key twice); PostgreSQL refuses a statement that would
/// update one row twice.
///
/// Bulk imports go through here: the statement text is the same for every full batch
/// (so the driver's prepared-statement cache reuses it), and the next batch's values
/// are built while the database executes the current one (the SQLite driver runs
/// statements on its own thread).
pub(crate) async fn bulk_upsert<A, C, I>(db: &C, rows: I, key: &[&str], update: &[&str]) -> Result<u64, DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
    I: IntoIterator<Item = A>,
{
    let mut rows = rows.into_iter().peekable();
    let Some(first) = rows.peek() else {
        return Ok(0);
    };
    let columns: Vec<<A::Entity as EntityTrait>::Column> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|c| first.get(*c).is_set())
        .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
    let table = <A::Entity as Default>::default().table_name().to_owned();
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        return upsert_arrays::<A, C, I>(db, rows, &table, &columns, key, update).await;
    }
    // SQLite binds at most 32,766 parameters per statement, PostgreSQL 65,535; batches
    // of ~8,000 values measured fastest on SQLite (docs/benchmarks.md).
    let per_statement = (8_000 / columns.len().max(1)).max(1);
    let mut full_sql: Option<String> = None;
    let mut build = |rows: &mut std::iter::Peekable<I::IntoIter>| -> Option<Statement> {
        let mut values = Vec::with_capacity(per_statement * columns.len());
        let mut n = 0;
        for row in rows.by_ref().take(per_statement) {
            values.extend(
                columns
                    .iter()
                    .map(|c| row.get(*c).into_value().unwrap_or(Value::Int(None))),
            );
            n += 1;
        }
        if n == 0 {
            return None;
        }
        let sql = if n == per_statement {
            full_sql
                .get_or_insert_with(|| upsert_sql(backend, &table, &names, n, key, update))
                .clone()
        } else {
            upsert_sql(backend, &table, &names, n, key, update)
        };
        Some(Statement::from_sql_and_values(backend, sql, values))
    };
    let mut written = 0u64;
    let mut next = build(&mut rows);
    while let Some(stmt) = next.take() {
        let (result, built) = tokio::join!(db.execute_raw(stmt), async { build(&mut rows) });
        written += result?.rows_affected();
        next = built;
    }
    Ok(written)
}

/// Rows per statement on PostgreSQL: some megabytes of text.
const ARRAY_ROWS_PER_STATEMENT: usize = 20_000;

/// PostgreSQL's bulk upsert: each batch of rows is one array parameter per column.
async fn upsert_arrays<A, C, I>(
    db: &C,
    rows: std::iter::Peekable<I::IntoIter>,
    table: &str,
    columns: &[<A::Entity as EntityTrait>::Column],
    key: &[&str],
    update: &[&str],
) -> Result<u64, DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
    I: IntoIterator<Item = A>,
{
    // Each column's type, for the array it is sent as.
    let types: std::collections::HashMap<String, String> = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute \
             WHERE attrelid = format('%I', $1::text)::regclass AND attnum > 0 AND NOT attisdropped",
            [Value::from(table.to_owned())],
        ))
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<String>("", "name")?, r.try_get::<String>("", "type")?)))
        .collect::<Result<_, DbErr>>()?;
    let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
    let mut arrays = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let ty = types
            .get(*name)
            .ok_or_else(|| DbErr::Custom(format!("{table} has no column {name}")))?;
        arrays.push(format!("${}::{ty}[]", i + 1));
    }
    let quoted = names.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    // Into an empty table (a first load) rows unique by key cannot conflict, and a
    // plain INSERT skips the speculative insertion of ON CONFLICT: 445,000
    // calibrations in 1.9 s instead of 3.4 s. A row that did conflict (a concurrent
    // writer) fails the statement, and the caller's transaction with it.
    let empty = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT NOT EXISTS (SELECT 1 FROM \"{table}\") AS empty"),
        ))
        .await?
        .map(|r| r.try_get::<bool>("", "empty"))
        .transpose()?
        .unwrap_or(false);
    let sql = format!(
        "INSERT INTO \"{table}\" ({quoted}) SELECT * FROM unnest({}){}",
        arrays.join(", "),
        if empty { String::new() } else { on_conflict(key, update) }
    );
    let mut rows = rows;
    let build = |rows: &mut std::iter::Peekable<I::IntoIter>| -> Result<Option<Statement>, DbErr> {
        let mut texts: Vec<String> = columns.iter().map(|_| String::from("{")).collect();
        let mut n = 0;
        for row in rows.by_ref().take(ARRAY_ROWS_PER_STATEMENT) {
            for (text, c) in texts.iter_mut().zip(columns) {
                if n > 0 {
                    text.push(',');
                }
                push_element(text, &row.get(*c).into_value().unwrap_or(Value::Int(None)))?;
            }
            n += 1;
        }
        if n == 0 {
            return Ok(None);
        }
        let values: Vec<Value> = texts
            .into_iter()
            .map(|mut t| {
                t.push('}');
                Value::from(t)
            })
            .collect();
        Ok(Some(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql.clone(),
            values,
        )))
    };
    let mut written = 0u64;
    let mut next = build(&mut rows)?;
    while let Some(stmt) = next.take() {
        let (result, built) = tokio::join!(db.execute_raw(stmt), async { build(&mut rows) });
        written += result?.rows_affected();
        next = built?;
    }
    Ok(written)
}

/// One element of an array in PostgreSQL's text form: numbers as they are (f64 printed
/// so that it reads back to the same double), text, dates and times double-quoted with
/// `"` and `\\` escaped, times to the microsecond (PostgreSQL's precision, as the
/// driver truncates), and `NULL`.
fn push_element(text: &mut String, v: &Value) -> Result<(), DbErr> {
    use std::fmt::Write;
    let quoted = |text: &mut String, s: &str| {
        text.push('"');
        for ch in s.chars() {
            if ch == '"' || ch == '\\' {
                text.push('\\');
            }
            text.push(ch);
        }
        text.push('"');
    };
    match v {
        Value::Bool(Some(b)) => text.push(if *b { 't' } else { 'f' }),
        Value::TinyInt(Some(n)) => write!(text, "{n}").expect("write to String"),
        Value::SmallInt(Some(n)) => write!(text, "{n}").expect("write to String"),
        Value::Int(Some(n)) => write!(text, "{n}").expect("write to String"),
        Value::BigInt(Some(n)) => write!(text, "{n}").expect("write to String"),
        Value::Unsigned(Some(n)) => write!(text, "{n}").expect("write to String"),
        Value::BigUnsigned(Some(n)) => write!(text, "{n}").expect("write to String"),
        Value::Float(Some(x)) => write!(text, "{x:?}").expect("write to String"),
        Value::Double(Some(x)) => {
            if !x.is_finite() {
                return Err(DbErr::Custom(format!("{x} cannot be stored")));
            }
            // Rust's shortest round-trip form; PostgreSQL reads it back exactly.
            write!(text, "{x:?}").expect("write to String")
        }
        Value::String(Some(s)) => quoted(text, s),
        Value::Json(Some(j)) => quoted(text, &j.to_string()),
        Value::ChronoDate(Some(d)) => write!(text, "{}", d.format("%Y-%m-%d")).expect("write to String"),
        Value::ChronoDateTimeUtc(Some(t)) => quoted(text, &t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        Value::ChronoDateTime(Some(t)) => quoted(text, &t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
        Value::Bool(None)
        | Value::TinyInt(None)
        | Value::SmallInt(None)
        | Value::Int(None)
        | Value::BigInt(None)
        | Value::Unsigned(None)
        | Value::BigUnsigned(None)
        | Value::Float(None)
        | Value::Double(None)
        | Value::String(None)
        | Value::Json(None)
        | Value::ChronoDate(None)
        | Value::ChronoDateTimeUtc(None)
        | Value::ChronoDateTime(None) => text.push_str("NULL"),
        other => return Err(DbErr::Custom(format!("bulk load cannot write {other:?}"))),
    }
    Ok(())
}

fn on_conflict(key: &[&str], update: &[&str]) -> String {
    let quote = |c: &str| format!("\"{c}\"");
    format!(
        " ON CONFLICT ({}) DO UPDATE SET {}",
        key.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "),
        update
            .iter()
            .map(|c| format!("{0} = excluded.{0}", quote(c)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn upsert_sql(backend: DbBackend, table: &str, columns: &[&str], rows: usize, key: &[&str], update: &[&str]) -> String {
    use std::fmt::Write;
    let quote = |c: &str| format!("\"{c}\"");
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        quote(table),
        columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
    );
    let mut p = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for i in 0..columns.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            p += 1;
            match backend {
                DbBackend::Postgres => write!(sql, "${p}").expect("write to String"),
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql.push_str(&on_conflict(key, update));
    sql
}

/// For a bulk load: drops the secondary indexes of `tables` (not the unique ones, which
/// upserts need) and returns their definitions, so that [`restore_indexes`] can build
/// each in one sorted pass after the rows are in, which is several times cheaper than
/// growing them row by row (on PostgreSQL the 46,000 standards went in in 9.5 s with
/// their ten indexes, in 1.2 s without them, and their indexes then built in 3.4 s).
/// Both run inside the caller's transaction: a failed import restores the indexes with
/// everything else. On PostgreSQL the dropped indexes hold the tables exclusively until
/// the import commits, so the register's pages wait for a bulk import instead of
/// reading around it (docs/operations.md).
pub async fn suspend_indexes<C: ConnectionTrait>(db: &C, tables: &[&str]) -> Result<Vec<String>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? \
             AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"
        }
        DbBackend::Postgres => {
            "SELECT i.indexname AS name, i.indexdef AS sql FROM pg_indexes i \
             JOIN pg_index x ON x.indexrelid = format('%I.%I', i.schemaname, i.indexname)::regclass \
             WHERE i.schemaname = current_schema() AND i.tablename = $1 AND NOT x.indisunique"
        }
        _ => return Ok(vec![]),
    };
    let mut saved = Vec::new();
    for table in tables {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [Value::from(table.to_string())],
            ))
            .await?;
        for row in rows {
            let name: String = row.try_get("", "name")?;
            let sql: String = row.try_get("", "sql")?;
            db.execute_unprepared(&format!("DROP INDEX \"{name}\"")).await?;
            saved.push(sql);
        }
    }
    Ok(saved)
}

pub async fn restore_indexes<C: ConnectionTrait>(db: &C, definitions: &[String]) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres && !definitions.is_empty() {
        // Room to sort an index in memory, for this transaction only.
        db.execute_unprepared("SET LOCAL maintenance_work_mem = '256MB'")
            .await?;
    }
    for sql in definitions {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// After a bulk load into PostgreSQL: VACUUM sets the visibility map, without which
/// the covering indexes cannot answer counts index-only (every entry would need a heap
/// visit). It cannot run inside a transaction, so callers run it after commit. The
/// statistics were refreshed by [`analyze`] before the load committed, so it does not
/// gather them again.
pub async fn vacuum_after_bulk_load(db: &sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("VACUUM {BULK_TABLES}")).await?;
    }
    Ok(())
}

/// The tables a bulk load writes, whose statistics it refreshes.
const BULK_TABLES: &str = "organisations, standards, devices, instruments, calibrations";

/// Refreshes the planner's statistics after a bulk change, so that list queries pick
/// the most selective index (checked with EXPLAIN QUERY PLAN; docs/benchmarks.md). On
/// PostgreSQL only the tables the load wrote: a bare ANALYZE inside the load's
/// transaction would lock every table of every schema in the database until commit
/// (it ran out of lock slots once a database held a hundred schemas).
pub async fn analyze<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => db.execute_unprepared(&format!("ANALYZE {BULK_TABLES}")).await?,
        _ => db.execute_unprepared("ANALYZE").await?,
    };
    Ok(())
}
