//! Queries of the register: standards, organisations, regions, categories, devices.

use super::entities::{category, device, organisation, region, standard};
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, OnConflict, Order};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
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
        let pattern = format!("%{term}%");
        cond = cond.add(match backend {
            // FTS5 trigram index: LIKE on the virtual table is answered from the index
            // for terms of three or more characters.
            DbBackend::Sqlite => Expr::cust_with_values(
                "\"standards\".\"id\" IN (SELECT rowid FROM standards_fts WHERE search_text LIKE ?)",
                [pattern],
            ),
            // pg_trgm GIN index on search_text.
            _ => Expr::col((standard::Entity, C::SearchText)).like(pattern),
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

/// Counts of standards per JJF 1022 level-1 code, for the dashboard.
pub async fn count_by_category_level1<C: ConnectionTrait>(db: &C) -> Result<Vec<(String, i64)>, DbErr> {
    standard::Entity::find()
        .select_only()
        .column_as(Expr::cust("SUBSTR(\"category_code\", 1, 2)"), "l1")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(Expr::cust("SUBSTR(\"category_code\", 1, 2)"))
        .into_tuple()
        .all(db)
        .await
}

pub async fn count_standards<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    standard::Entity::find().count(db).await
}

/// Inserts or updates standards by certificate number (the import key).
pub async fn upsert_standards<C: ConnectionTrait>(db: &C, rows: Vec<standard::ActiveModel>) -> Result<(), DbErr> {
    use standard::Column as C;
    if rows.is_empty() {
        return Ok(());
    }
    standard::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(C::CertNo)
                .update_columns([
                    C::NameZh,
                    C::NameEn,
                    C::CategoryCode,
                    C::OwnerId,
                    C::RegionId,
                    C::Level,
                    C::CertAuthority,
                    C::CertIssuedOn,
                    C::CertExpiresOn,
                    C::Status,
                    C::Quantity,
                    C::RangeMinSi,
                    C::RangeMaxSi,
                    C::RangeMinUnit,
                    C::RangeMaxUnit,
                    C::AccuracyKind,
                    C::AccuracySi,
                    C::AccuracyUnit,
                    C::AccuracyText,
                    C::Regulations,
                    C::ResponsiblePerson,
                    C::SearchText,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Inserts or updates devices by (standard, serial number).
pub async fn upsert_devices<C: ConnectionTrait>(db: &C, rows: Vec<device::ActiveModel>) -> Result<(), DbErr> {
    use device::Column as C;
    if rows.is_empty() {
        return Ok(());
    }
    device::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([C::StandardId, C::Serial])
                .update_columns([
                    C::Role,
                    C::Name,
                    C::Manufacturer,
                    C::Model,
                    C::Quantity,
                    C::RangeMinSi,
                    C::RangeMaxSi,
                    C::RangeMinUnit,
                    C::RangeMaxUnit,
                    C::Accuracy,
                    C::CalCertNo,
                    C::CalDate,
                    C::CalDue,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Inserts or updates organisations by code.
pub async fn upsert_organisations<C: ConnectionTrait>(
    db: &C,
    rows: Vec<organisation::ActiveModel>,
) -> Result<(), DbErr> {
    use organisation::Column as C;
    if rows.is_empty() {
        return Ok(());
    }
    organisation::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(C::Code)
                .update_columns([C::Kind, C::NameZh, C::NameEn, C::RegionId, C::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn upsert_regions<C: ConnectionTrait>(db: &C, rows: Vec<region::ActiveModel>) -> Result<(), DbErr> {
    use region::Column as C;
    if rows.is_empty() {
        return Ok(());
    }
    region::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(C::Code)
                .update_columns([C::NameZh, C::NameEn, C::ParentCode])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn upsert_categories<C: ConnectionTrait>(db: &C, rows: Vec<category::ActiveModel>) -> Result<(), DbErr> {
    use category::Column as C;
    if rows.is_empty() {
        return Ok(());
    }
    category::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(C::Code)
                .update_columns([C::Level, C::NameZh, C::NameEn, C::Source])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
