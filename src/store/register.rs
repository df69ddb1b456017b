//! Queries of the register: standards, organisations, regions, categories, devices.

use super::entities::{category, device, organisation, region, standard};
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, Order};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait, ExprTrait,
    IdenStatic, Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};
use std::collections::HashMap;

/// How the status filter reads, given that `expired` also follows from the certificate date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatusCond {
    /// A recorded status that dates do not change (suspended, withdrawn).
    Stored(&'static str),
    /// Recorded in service and the certificate still valid on the date.
    InServiceOn(NaiveDate),
    /// Recorded expired, or recorded in service with a certificate expired before the date.
    ExpiredOn(NaiveDate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    CertExpiresOn,
    CategoryCode,
    UpdatedAt,
}

/// A page of the register, filtered and sorted. Every filter is backed by an index.
#[derive(Debug, Clone)]
pub struct StandardQuery {
    pub terms: Vec<String>,
    pub region_id: Option<i32>,
    pub category_prefix: Option<String>,
    pub owner_id: Option<i32>,
    pub level: Option<&'static str>,
    pub status: Option<StatusCond>,
    /// Certificates expiring in [from, to], of standards not withdrawn.
    pub expiring: Option<(NaiveDate, NaiveDate)>,
    pub sort: SortKey,
    pub descending: bool,
    pub limit: u64,
    pub offset: u64,
}

impl Default for StandardQuery {
    fn default() -> Self {
        StandardQuery {
            terms: vec![],
            region_id: None,
            category_prefix: None,
            owner_id: None,
            level: None,
            status: None,
            expiring: None,
            sort: SortKey::Name,
            descending: false,
            limit: 50,
            offset: 0,
        }
    }
}

fn condition(backend: DbBackend, q: &StandardQuery) -> Condition {
    use standard::Column as C;
    let mut cond = Condition::all();
    for term in &q.terms {
        cond = cond.add(match backend {
            // FTS5 trigram index: a phrase of three or more characters is a substring
            // match answered from the index alone.
            DbBackend::Sqlite if term.chars().count() >= 3 => Expr::cust_with_values(
                "\"standards\".\"id\" IN (SELECT rowid FROM standards_fts WHERE standards_fts MATCH ?)",
                [format!("\"{}\"", term.replace('"', "\"\""))],
            ),
            // Shorter terms have no trigram: scan the column. pg_trgm's GIN index serves
            // PostgreSQL for 3+ characters the same way.
            _ => Expr::col((standard::Entity, C::SearchText)).like(format!("%{term}%")),
        });
    }
    if let Some(r) = q.region_id {
        cond = cond.add(C::RegionId.eq(r));
    }
    if let Some(p) = &q.category_prefix {
        // A prefix as a range, so both engines use the index on category_code.
        let lo = format!("{p:0<8}");
        let hi = format!("{p:9<8}");
        cond = cond.add(C::CategoryCode.between(lo, hi));
    }
    if let Some(o) = q.owner_id {
        cond = cond.add(C::OwnerId.eq(o));
    }
    if let Some(l) = q.level {
        cond = cond.add(C::Level.eq(l));
    }
    match q.status {
        Some(StatusCond::Stored(s)) => cond = cond.add(C::Status.eq(s)),
        Some(StatusCond::InServiceOn(d)) => {
            cond = cond.add(C::Status.eq("in_service")).add(C::CertExpiresOn.gte(d));
        }
        Some(StatusCond::ExpiredOn(d)) => {
            cond = cond.add(
                Condition::any().add(C::Status.eq("expired")).add(
                    Condition::all()
                        .add(C::Status.eq("in_service"))
                        .add(C::CertExpiresOn.lt(d)),
                ),
            );
        }
        None => {}
    }
    if let Some((from, to)) = q.expiring {
        cond = cond
            .add(C::CertExpiresOn.between(from, to))
            .add(C::Status.is_in(["in_service", "suspended"]));
    }
    cond
}

/// One page of standards and the total number matching.
pub async fn list_standards<C: ConnectionTrait>(
    db: &C,
    q: &StandardQuery,
) -> Result<(Vec<standard::Model>, u64), DbErr> {
    use standard::Column as C;
    let cond = condition(db.get_database_backend(), q);
    let order = if q.descending { Order::Desc } else { Order::Asc };
    let col = match q.sort {
        SortKey::Name => C::NameZh,
        SortKey::CertExpiresOn => C::CertExpiresOn,
        SortKey::CategoryCode => C::CategoryCode,
        SortKey::UpdatedAt => C::UpdatedAt,
    };
    let total = standard::Entity::find().filter(cond.clone()).count(db).await?;
    let rows = standard::Entity::find()
        .filter(cond)
        .order_by(col, order.clone())
        .order_by(C::Id, order)
        .limit(q.limit)
        .offset(q.offset)
        .all(db)
        .await?;
    Ok((rows, total))
}

pub async fn standard_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<standard::Model>, DbErr> {
    standard::Entity::find_by_id(id).one(db).await
}

pub async fn standard_by_cert_no<C: ConnectionTrait>(db: &C, cert_no: &str) -> Result<Option<standard::Model>, DbErr> {
    standard::Entity::find()
        .filter(standard::Column::CertNo.eq(cert_no))
        .one(db)
        .await
}

pub async fn devices_of<C: ConnectionTrait>(db: &C, standard_id: i32) -> Result<Vec<device::Model>, DbErr> {
    device::Entity::find()
        .filter(device::Column::StandardId.eq(standard_id))
        .order_by_asc(device::Column::Role)
        .order_by_desc(device::Column::Id)
        .all(db)
        .await
}

/// Organisations by id, for the rows of one page (one query, not one per row).
pub async fn organisations_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[i32],
) -> Result<HashMap<i32, organisation::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = organisation::Entity::find()
        .filter(organisation::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|o| (o.id, o)).collect())
}

pub async fn organisation_by_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<Option<organisation::Model>, DbErr> {
    organisation::Entity::find()
        .filter(organisation::Column::Code.eq(code))
        .one(db)
        .await
}

pub async fn organisation_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<organisation::Model>, DbErr> {
    organisation::Entity::find_by_id(id).one(db).await
}

/// A page of organisations, by name, optionally of one kind and matching a name.
pub async fn list_organisations<C: ConnectionTrait>(
    db: &C,
    kind: Option<&str>,
    name_contains: Option<&str>,
    limit: u64,
    offset: u64,
) -> Result<(Vec<organisation::Model>, u64), DbErr> {
    use sea_orm::{Condition, PaginatorTrait, QuerySelect};
    let mut find = organisation::Entity::find();
    if let Some(k) = kind {
        find = find.filter(organisation::Column::Kind.eq(k));
    }
    if let Some(text) = name_contains {
        find = find.filter(
            Condition::any()
                .add(organisation::Column::NameZh.contains(text))
                .add(organisation::Column::NameEn.contains(text))
                .add(organisation::Column::Code.eq(text.to_ascii_uppercase())),
        );
    }
    let total = find.clone().count(db).await?;
    let rows = find
        .order_by_asc(organisation::Column::NameZh)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok((rows, total))
}

pub async fn insert_organisation<C: ConnectionTrait>(
    db: &C,
    row: organisation::ActiveModel,
) -> Result<organisation::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn update_organisation<C: ConnectionTrait>(
    db: &C,
    row: organisation::ActiveModel,
) -> Result<organisation::Model, DbErr> {
    sea_orm::ActiveModelTrait::update(row, db).await
}

/// Recomputes the search text of an owner's standards after the owner was renamed.
pub async fn refresh_search_text_of_owner<C: ConnectionTrait>(
    db: &C,
    owner_id: i32,
    owner_name: &str,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::Expr;
    let rows = standard::Entity::find()
        .filter(standard::Column::OwnerId.eq(owner_id))
        .all(db)
        .await?;
    for s in rows {
        let text =
            crate::domain::register::search_text(&s.name_zh, &s.name_en, &s.category_code, &s.cert_no, owner_name);
        standard::Entity::update_many()
            .col_expr(standard::Column::SearchText, Expr::value(text))
            .filter(standard::Column::Id.eq(s.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

pub async fn count_standards_of<C: ConnectionTrait>(db: &C, owner_id: i32) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    standard::Entity::find()
        .filter(standard::Column::OwnerId.eq(owner_id))
        .count(db)
        .await
}

pub async fn all_organisations<C: ConnectionTrait>(db: &C) -> Result<Vec<organisation::Model>, DbErr> {
    organisation::Entity::find()
        .order_by_asc(organisation::Column::Id)
        .all(db)
        .await
}

pub async fn all_regions<C: ConnectionTrait>(db: &C) -> Result<Vec<region::Model>, DbErr> {
    region::Entity::find().order_by_asc(region::Column::Code).all(db).await
}

pub async fn all_categories<C: ConnectionTrait>(db: &C) -> Result<Vec<category::Model>, DbErr> {
    category::Entity::find()
        .order_by_asc(category::Column::Code)
        .all(db)
        .await
}

pub async fn all_standards<C: ConnectionTrait>(db: &C) -> Result<Vec<standard::Model>, DbErr> {
    standard::Entity::find()
        .order_by_asc(standard::Column::Id)
        .all(db)
        .await
}

pub async fn all_devices<C: ConnectionTrait>(db: &C) -> Result<Vec<device::Model>, DbErr> {
    device::Entity::find().order_by_asc(device::Column::Id).all(db).await
}

/// (id, cert_no) of every standard, to attach imported devices to their standard.
pub async fn standard_ids_by_cert_no<C: ConnectionTrait>(db: &C) -> Result<HashMap<String, i32>, DbErr> {
    let rows: Vec<(i32, String)> = standard::Entity::find()
        .select_only()
        .column(standard::Column::Id)
        .column(standard::Column::CertNo)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, c)| (c, id)).collect())
}

/// Counts of standards per city (region id), for the dashboard.
pub async fn count_by_region<C: ConnectionTrait>(db: &C) -> Result<Vec<(Option<i32>, i64)>, DbErr> {
    standard::Entity::find()
        .select_only()
        .column(standard::Column::RegionId)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(standard::Column::RegionId)
        .into_tuple()
        .all(db)
        .await
}

/// Counts of standards per JJF 1022 code, for the dashboard. Grouping by the
/// indexed column itself is an index-only scan; callers add codes up by prefix.
pub async fn count_by_category_code<C: ConnectionTrait>(db: &C) -> Result<Vec<(String, i64)>, DbErr> {
    standard::Entity::find()
        .select_only()
        .column(standard::Column::CategoryCode)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(standard::Column::CategoryCode)
        .into_tuple()
        .all(db)
        .await
}

pub async fn count_standards<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    standard::Entity::find().count(db).await
}

/// Inserts rows, or updates the existing row with the same `key`, in multi-row
/// statements. Every column the first active model sets is written; on a key conflict
/// the columns in `update` are replaced.
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
    write!(
        sql,
        " ON CONFLICT ({}) DO UPDATE SET {}",
        key.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "),
        update
            .iter()
            .map(|c| format!("{0} = excluded.{0}", quote(c)))
            .collect::<Vec<_>>()
            .join(", ")
    )
    .expect("write to String");
    sql
}

/// Inserts or updates standards by certificate number (the import key).
pub async fn upsert_standards<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = standard::ActiveModel>,
) -> Result<(), DbErr> {
    const UPDATE: &[&str] = &[
        "name_zh",
        "name_en",
        "category_code",
        "owner_id",
        "region_id",
        "level",
        "cert_authority",
        "cert_issued_on",
        "cert_expires_on",
        "status",
        "quantity",
        "range_min_si",
        "range_max_si",
        "range_min_unit",
        "range_max_unit",
        "accuracy_kind",
        "accuracy_si",
        "accuracy_unit",
        "accuracy_text",
        "regulations",
        "responsible_person",
        "search_text",
        "updated_at",
    ];
    bulk_upsert(db, rows, &["cert_no"], UPDATE).await?;
    Ok(())
}

/// Inserts or updates devices by (standard, serial number).
pub async fn upsert_devices<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = device::ActiveModel>,
) -> Result<(), DbErr> {
    const UPDATE: &[&str] = &[
        "role",
        "name",
        "manufacturer",
        "model",
        "quantity",
        "range_min_si",
        "range_max_si",
        "range_min_unit",
        "range_max_unit",
        "accuracy",
        "cal_cert_no",
        "cal_date",
        "cal_due",
        "updated_at",
    ];
    bulk_upsert(db, rows, &["standard_id", "serial"], UPDATE).await?;
    Ok(())
}

/// Inserts or updates organisations by code.
pub async fn upsert_organisations<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = organisation::ActiveModel>,
) -> Result<(), DbErr> {
    bulk_upsert(
        db,
        rows,
        &["code"],
        &["kind", "name_zh", "name_en", "region_id", "updated_at"],
    )
    .await?;
    Ok(())
}

pub async fn upsert_regions<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = region::ActiveModel>,
) -> Result<(), DbErr> {
    bulk_upsert(db, rows, &["code"], &["name_zh", "name_en", "parent_code"]).await?;
    Ok(())
}

pub async fn upsert_categories<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = category::ActiveModel>,
) -> Result<(), DbErr> {
    bulk_upsert(db, rows, &["code"], &["level", "name_zh", "name_en", "source"]).await?;
    Ok(())
}

/// SQLite keeps the search index in an FTS5 table maintained by triggers. For a bulk
/// import it is cheaper to drop the triggers, write, and rebuild the index once; all of
/// it inside the caller's transaction, so a failed import restores the triggers too.
/// PostgreSQL's GIN index needs nothing.
pub async fn suspend_search_index<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared(migrations::SQLITE_FTS_DROP_TRIGGERS).await?;
    }
    Ok(())
}

pub async fn rebuild_search_index<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("INSERT INTO standards_fts(standards_fts) VALUES ('rebuild')")
            .await?;
        db.execute_unprepared(migrations::SQLITE_FTS_TRIGGERS).await?;
    }
    Ok(())
}

/// For a bulk load into SQLite: drops the secondary indexes of `tables` (not the
/// unique ones, which upserts need) and returns their definitions, so that
/// [`restore_indexes`] can build each in one sorted pass after the rows are in, which
/// is several times cheaper than growing them row by row. Both run inside the
/// caller's transaction: a failed import restores the indexes with everything else.
pub async fn suspend_indexes<C: ConnectionTrait>(db: &C, tables: &[&str]) -> Result<Vec<String>, DbErr> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(vec![]);
    }
    let mut saved = Vec::new();
    for table in tables {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? \
                 AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
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
    for sql in definitions {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// After a bulk load into PostgreSQL: VACUUM sets the visibility map, without which
/// the covering indexes cannot answer counts index-only (every entry would need a heap
/// visit). It cannot run inside a transaction, so callers run it after commit.
pub async fn vacuum_after_bulk_load(db: &sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("VACUUM (ANALYZE) {BULK_TABLES}"))
            .await?;
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
