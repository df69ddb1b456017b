//! The register's standards and their devices: the filtered, sorted list, the lookups, the
//! counts the dashboard shows, the bulk writes of an import and the search index.

use super::bulk::bulk_upsert;
use super::entities::{device, standard};
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, Order};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
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

/// A search term without the space the search form puts after each non-ASCII character
/// (terms have no other white space): the form of `standards.search_plain`.
fn plain(term: &str) -> String {
    term.chars().filter(|c| *c != ' ').collect()
}

/// `%` and `_` in a term stand for themselves, so that it matches as a substring, as
/// the FTS index matches it on SQLite.
fn like_escaped(term: &str) -> String {
    term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Whether the query asks for the whole register (its total is then kept, not counted).
fn unfiltered(q: &StandardQuery) -> bool {
    q.terms.is_empty()
        && q.region_id.is_none()
        && q.category_prefix.is_none()
        && q.owner_id.is_none()
        && q.level.is_none()
        && q.status.is_none()
        && q.expiring.is_none()
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
            // PostgreSQL: three characters or more of the unspaced form are answered by
            // pg_trgm's index on search_plain (whole trigrams, "计量标"); shorter terms
            // match the spaced form, whose one-character words pg_trgm pads.
            DbBackend::Postgres if plain(term).chars().count() >= 3 => {
                Expr::col((standard::Entity, sea_orm::sea_query::Alias::new("search_plain")))
                    .like(format!("%{}%", like_escaped(&plain(term))))
            }
            // Shorter terms have no trigram: scan the column.
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
            // The same rows, with a bound on the expiry date that an index can use: no
            // expired standard expires after the day before `d` or the latest expiry
            // recorded as expired. Without it PostgreSQL read the most recently expired
            // first by walking back from the register's latest expiry, filtering 42,000
            // valid certificates (124 ms; with the bound 0.1 ms, docs/benchmarks.md).
            if backend == DbBackend::Postgres {
                cond = cond.add(Expr::cust_with_values(
                    "\"standards\".\"cert_expires_on\" <= \
                     GREATEST($1, (SELECT MAX(s.cert_expires_on) FROM standards s WHERE s.status = 'expired'))",
                    [d.pred_opt().unwrap_or(d)],
                ));
            }
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

/// The kept total of a query on PostgreSQL, where its filters are among those the
/// summaries are kept by: none (`register_totals`); city, discipline and recorded status
/// (`register_counts`); or only the dates of expiry (`register_expiry_counts`). `None`
/// where the query must be counted.
async fn kept_total<C: ConnectionTrait>(db: &C, q: &StandardQuery) -> Result<Option<u64>, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres
        || !q.terms.is_empty()
        || q.owner_id.is_some()
        || q.level.is_some()
    {
        return Ok(None);
    }
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let mut arg = |v: sea_orm::Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let by_dates_only = q.region_id.is_none() && q.category_prefix.is_none();
    let sql = match (q.status, q.expiring) {
        _ if unfiltered(q) => "SELECT n FROM register_totals WHERE name = 'standards'".to_owned(),
        (None | Some(StatusCond::Stored(_)), None) => {
            let mut clauses = vec!["TRUE".to_owned()];
            if let Some(r) = q.region_id {
                clauses.push(format!("region_key = {}", arg(r.into())));
            }
            if let Some(p) = &q.category_prefix {
                let (lo, hi) = (arg(format!("{p:0<8}").into()), arg(format!("{p:9<8}").into()));
                clauses.push(format!("category_code BETWEEN {lo} AND {hi}"));
            }
            if let Some(StatusCond::Stored(s)) = q.status {
                clauses.push(format!("status = {}", arg(s.into())));
            }
            format!(
                "SELECT COALESCE(SUM(n), 0)::bigint AS n FROM register_counts WHERE {}",
                clauses.join(" AND ")
            )
        }
        (None, Some((from, to))) if by_dates_only => format!(
            "SELECT COALESCE(SUM(n), 0)::bigint AS n FROM register_expiry_counts \
             WHERE cert_expires_on BETWEEN {} AND {} AND status IN ('in_service', 'suspended')",
            arg(from.into()),
            arg(to.into())
        ),
        (Some(StatusCond::ExpiredOn(d)), None) if by_dates_only => format!(
            "SELECT COALESCE(SUM(n), 0)::bigint AS n FROM register_expiry_counts \
             WHERE status = 'expired' OR (status = 'in_service' AND cert_expires_on < {})",
            arg(d.into())
        ),
        (Some(StatusCond::InServiceOn(d)), None) if by_dates_only => format!(
            "SELECT COALESCE(SUM(n), 0)::bigint AS n FROM register_expiry_counts \
             WHERE status = 'in_service' AND cert_expires_on >= {}",
            arg(d.into())
        ),
        _ => return Ok(None),
    };
    Ok(db
        .query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .map(|n| u64::try_from(n).unwrap_or(0)))
}

/// Up to how many matches a PostgreSQL search sorts them instead of walking an index.
const SORT_MATCHES_UP_TO: u64 = 4_000;

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
    // On PostgreSQL the totals of the common filters are kept exact by triggers in the
    // same transaction as every change (migrations 015 and 016): a few rows summed
    // instead of a count over the register.
    let kept = kept_total(db, q).await?;
    let total = match kept {
        Some(n) => n,
        None => standard::Entity::find().filter(cond.clone()).count(db).await?,
    };
    // A search on PostgreSQL matching few standards: sort the matches, rather than walk
    // the sort column's index filtering each row, which the planner picks when it takes
    // the matches to be spread evenly along the index (measured on the province: 1,881 to
    // 2,748 matches, 28–87 ms by the index, 4–6 ms sorted; at 4,953 the index wins,
    // 5 ms against 10; docs/benchmarks.md). COALESCE(c, c) sorts as c does.
    let sorted_matches =
        db.get_database_backend() == DbBackend::Postgres && !q.terms.is_empty() && total <= SORT_MATCHES_UP_TO;
    let key: sea_orm::sea_query::SimpleExpr = if sorted_matches {
        let name = match q.sort {
            SortKey::Name => "name_zh",
            SortKey::CertExpiresOn => "cert_expires_on",
            SortKey::CategoryCode => "category_code",
            SortKey::UpdatedAt => "updated_at",
        };
        Expr::cust(format!("COALESCE(\"standards\".\"{name}\", \"standards\".\"{name}\")"))
    } else {
        Expr::col((standard::Entity, col))
    };
    let rows = standard::Entity::find()
        .filter(cond)
        .order_by(key, order.clone())
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

/// Counts of standards per city (region id), for the dashboard. PostgreSQL adds up its
/// kept counts (migration 016).
pub async fn count_by_region<C: ConnectionTrait>(db: &C) -> Result<Vec<(Option<i32>, i64)>, DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        return kept_counts(
            db,
            "SELECT NULLIF(region_key, 0) AS k, SUM(n)::bigint AS n FROM register_counts \
             GROUP BY region_key HAVING SUM(n) > 0",
        )
        .await;
    }
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
    if db.get_database_backend() == DbBackend::Postgres {
        return kept_counts(
            db,
            "SELECT category_code AS k, SUM(n)::bigint AS n FROM register_counts \
             GROUP BY category_code HAVING SUM(n) > 0",
        )
        .await;
    }
    standard::Entity::find()
        .select_only()
        .column(standard::Column::CategoryCode)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(standard::Column::CategoryCode)
        .into_tuple()
        .all(db)
        .await
}

/// The number of standards in the register (kept on PostgreSQL, counted on SQLite).
pub async fn count_standards<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    match kept_total(db, &StandardQuery::default()).await? {
        Some(n) => Ok(n),
        None => standard::Entity::find().count(db).await,
    }
}

/// Rows of (key, count) from PostgreSQL's kept counts.
async fn kept_counts<C: ConnectionTrait, K: sea_orm::TryGetable>(db: &C, sql: &str) -> Result<Vec<(K, i64)>, DbErr> {
    db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<K>("", "k")?, r.try_get::<i64>("", "n")?)))
        .collect()
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

/// The standards among `ids`, in one query.
pub async fn standards_by_ids<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<standard::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    standard::Entity::find()
        .filter(standard::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}
