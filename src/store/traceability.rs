//! Calibrations (the traceability links) and enterprises' instruments.
//!
//! The walk up from an item is a recursive query (WITH RECURSIVE, the same text on SQLite
//! and PostgreSQL), so a chain reads only the links it needs. The province-wide audit
//! and the reverse walk read every link once, in packed rows, and the service keeps
//! them until the next change (docs/benchmarks.md has the measurements behind this).

use super::entities::{calibration, device, instrument, standard};
use crate::domain::traceability::{Edge, Item, ItemKind};
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Statement, Value,
};

/// `sql` written with PostgreSQL's $1, $2… placeholders (each used once, in order), for
/// the connection's engine.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => {
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                    while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    };
    Statement::from_sql_and_values(backend, sql, values)
}

pub async fn insert_calibration<C: ConnectionTrait>(
    db: &C,
    row: calibration::ActiveModel,
) -> Result<calibration::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

/// The newest calibration's id (None when there is none).
pub async fn latest_calibration_id<C: ConnectionTrait>(db: &C) -> Result<Option<i32>, DbErr> {
    calibration::Entity::find()
        .select_only()
        .expr(calibration::Column::Id.max())
        .into_tuple::<Option<i32>>()
        .one(db)
        .await
        .map(Option::flatten)
}

/// The newest standard's id (None when there is none).
pub async fn latest_standard_id<C: ConnectionTrait>(db: &C) -> Result<Option<i32>, DbErr> {
    standard::Entity::find()
        .select_only()
        .expr(standard::Column::Id.max())
        .into_tuple::<Option<i32>>()
        .one(db)
        .await
        .map(Option::flatten)
}

pub async fn calibration_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<calibration::Model>, DbErr> {
    calibration::Entity::find_by_id(id).one(db).await
}

/// An item's calibrations, the latest first.
pub async fn calibrations_of<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    id: i32,
) -> Result<Vec<calibration::Model>, DbErr> {
    calibration::Entity::find()
        .filter(calibration::Column::ItemKind.eq(kind))
        .filter(calibration::Column::ItemId.eq(id))
        .order_by_desc(calibration::Column::CalibratedOn)
        .order_by_desc(calibration::Column::Id)
        .all(db)
        .await
}

/// Every link of the item and of everything above it, at any date: what its chain on
/// any date can use.
pub async fn links_above<C: ConnectionTrait>(db: &C, kind: &str, id: i32) -> Result<Vec<calibration::Model>, DbErr> {
    let sql = "WITH RECURSIVE up(kind, id) AS ( \
                 SELECT CAST($1 AS VARCHAR(16)), CAST($2 AS INTEGER) \
                 UNION \
                 SELECT c.reference_kind, c.reference_id FROM calibrations c \
                   JOIN up ON c.item_kind = up.kind AND c.item_id = up.id \
                   WHERE c.reference_kind IS NOT NULL) \
               SELECT c.* FROM calibrations c JOIN up ON c.item_kind = up.kind AND c.item_id = up.id";
    let stmt = statement(db.get_database_backend(), sql, vec![kind.into(), id.into()]);
    calibration::Entity::find().from_raw_sql(stmt).all(db).await
}

/// Whether `target` is `from` or lies above it: a link from `target` to `from` would
/// close a cycle.
pub async fn is_above_or_same<C: ConnectionTrait>(
    db: &C,
    from: (&str, i32),
    target: (&str, i32),
) -> Result<bool, DbErr> {
    let sql = "WITH RECURSIVE up(kind, id) AS ( \
                 SELECT CAST($1 AS VARCHAR(16)), CAST($2 AS INTEGER) \
                 UNION \
                 SELECT c.reference_kind, c.reference_id FROM calibrations c \
                   JOIN up ON c.item_kind = up.kind AND c.item_id = up.id \
                   WHERE c.reference_kind IS NOT NULL) \
               SELECT COUNT(*) AS n FROM up WHERE kind = $3 AND id = $4";
    let stmt = statement(
        db.get_database_backend(),
        sql,
        vec![from.0.into(), from.1.into(), target.0.into(), target.1.into()],
    );
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let found = Count::find_by_statement(stmt).one(db).await?;
    Ok(found.is_some_and(|c| c.n > 0))
}

/// The calibrations made with `suspect` since `since`, or with anything calibrated
/// under suspicion before it was used: the candidates of an impact analysis (the exact
/// walk and the depths are the domain's).
pub async fn links_below<C: ConnectionTrait>(
    db: &C,
    suspect: (&str, i32),
    since: NaiveDate,
) -> Result<Vec<calibration::Model>, DbErr> {
    // SQLite stores dates as ISO text, and CAST(… AS DATE) would make a number of it.
    let backend = db.get_database_backend();
    let since_value = match backend {
        DbBackend::Postgres => "CAST($3 AS DATE)",
        _ => "$3",
    };
    let sql = format!(
        "WITH RECURSIVE down(kind, id, since) AS ( \
                 SELECT CAST($1 AS VARCHAR(16)), CAST($2 AS INTEGER), {since_value} \
                 UNION \
                 SELECT c.item_kind, c.item_id, c.calibrated_on FROM calibrations c \
                   JOIN down d ON c.reference_kind = d.kind AND c.reference_id = d.id \
                   AND c.calibrated_on >= d.since) \
               SELECT c.* FROM calibrations c \
                 JOIN (SELECT kind, id, MIN(since) AS since FROM down GROUP BY kind, id) d \
                 ON c.reference_kind = d.kind AND c.reference_id = d.id AND c.calibrated_on >= d.since"
    );
    let stmt = statement(backend, &sql, vec![suspect.0.into(), suspect.1.into(), since.into()]);
    calibration::Entity::find().from_raw_sql(stmt).all(db).await
}

/// A link as the rules read it (from the audit's packed read, without its certificate
/// number, or from a whole row).
#[derive(Debug, Clone, FromQueryResult)]
pub struct LinkRow {
    pub id: i32,
    pub item_kind: String,
    pub item_id: i32,
    pub reference_kind: Option<String>,
    pub reference_id: Option<i32>,
    pub provider_id: Option<i32>,
    pub provider_evidence: String,
    pub certificate_no: String,
    pub calibrated_on: NaiveDate,
    pub valid_until: NaiveDate,
    pub quantity: Option<String>,
    pub uncertainty_si: Option<f64>,
    pub mpe_si: Option<f64>,
}

impl From<calibration::Model> for LinkRow {
    fn from(m: calibration::Model) -> Self {
        LinkRow {
            id: m.id,
            item_kind: m.item_kind,
            item_id: m.item_id,
            reference_kind: m.reference_kind,
            reference_id: m.reference_id,
            provider_id: m.provider_id,
            provider_evidence: m.provider_evidence,
            certificate_no: m.certificate_no,
            calibrated_on: m.calibrated_on,
            valid_until: m.valid_until,
            quantity: m.quantity,
            uncertainty_si: m.uncertainty_si,
            mpe_si: m.mpe_si,
        }
    }
}

/// Every link whose item is of one of `kinds`, without its certificate number. The
/// province audit reads hundreds of thousands, and the driver's cost is per value
/// decoded, so the whole numbers, dates and text of a row come as one text value, split
/// here (the same SQL on SQLite and PostgreSQL). The uncertainties keep their own
/// columns: a decimal text form would not always give back the same double.
pub async fn all_links<C: ConnectionTrait>(db: &C, kinds: &'static [&'static str]) -> Result<Vec<LinkRow>, DbErr> {
    links_in(db, kinds, None).await
}

/// [`all_links`] read in `parts` ranges of ids at once, on as many connections (each
/// engine decodes its rows on its own thread), in id order.
pub async fn all_links_in_parts(
    db: &sea_orm::DatabaseConnection,
    kinds: &'static [&'static str],
    parts: usize,
) -> Result<Vec<LinkRow>, DbErr> {
    let Some(last) = latest_calibration_id(db).await? else {
        return Ok(Vec::new());
    };
    let parts = parts.max(1) as i32;
    let step = last / parts + 1;
    let tasks: Vec<_> = (0..parts)
        .map(|k| {
            let db = db.clone();
            tokio::spawn(async move { links_in(&db, kinds, Some((k * step, (k + 1) * step))).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.extend(t.await.map_err(|e| DbErr::Custom(e.to_string()))??);
    }
    Ok(out)
}

/// The links of `kinds` with ids in [from, to), or all of them.
async fn links_in<C: ConnectionTrait>(
    db: &C,
    kinds: &'static [&'static str],
    ids: Option<(i32, i32)>,
) -> Result<Vec<LinkRow>, DbErr> {
    debug_assert!(kinds.iter().all(|k| k.chars().all(|c| c.is_ascii_lowercase())));
    let list = kinds.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
    let range = ids.map_or(String::new(), |(from, to)| format!(" AND id >= {from} AND id < {to}"));
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT CAST(id AS TEXT) || ',' || item_kind || ',' || CAST(item_id AS TEXT) || ',' \
           || COALESCE(reference_kind, '') || ',' || COALESCE(CAST(reference_id AS TEXT), '') || ',' \
           || COALESCE(CAST(provider_id AS TEXT), '') || ',' || CAST(calibrated_on AS TEXT) || ',' \
           || CAST(valid_until AS TEXT) || ',' || COALESCE(quantity, '') || ',' \
           || CASE WHEN provider_id IS NULL THEN '' ELSE provider_evidence END AS packed, \
           uncertainty_si, mpe_si \
         FROM calibrations WHERE item_kind IN ({list}){range}"
    );
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
    let bad = |what: &str| DbErr::Custom(format!("calibrations: unreadable {what}"));
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let packed: String = row.try_get_by_index(0)?;
        let uncertainty_si: Option<f64> = row.try_get_by_index(1)?;
        let mpe_si: Option<f64> = row.try_get_by_index(2)?;
        // The evidence is last: it may hold commas.
        let mut f = packed.splitn(10, ',');
        let mut next = || f.next().ok_or_else(|| bad("row"));
        let int = |s: &str| s.parse::<i32>().map_err(|_| bad("number"));
        let opt_int = |s: &str| if s.is_empty() { Ok(None) } else { int(s).map(Some) };
        let opt_text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad("date"));
        out.push(LinkRow {
            id: int(next()?)?,
            item_kind: next()?.to_owned(),
            item_id: int(next()?)?,
            reference_kind: opt_text(next()?),
            reference_id: opt_int(next()?)?,
            provider_id: opt_int(next()?)?,
            calibrated_on: date(next()?)?,
            valid_until: date(next()?)?,
            quantity: opt_text(next()?),
            provider_evidence: next()?.to_owned(),
            certificate_no: String::new(),
            uncertainty_si,
            mpe_si,
        });
    }
    Ok(out)
}

/// What the rules need of a standard.
#[derive(Debug, Clone, FromQueryResult)]
pub struct StandardNode {
    pub id: i32,
    pub owner_id: i32,
    pub region_id: Option<i32>,
    pub level: String,
    pub quantity: String,
    pub accuracy_kind: String,
    pub accuracy_si: Option<f64>,
    pub cert_no: String,
    pub name_zh: String,
}

/// The standards named (every standard for `None`; then without names and certificate
/// numbers, which [`standard_labels`] gives for the few that are shown).
pub async fn standard_nodes<C: ConnectionTrait>(db: &C, ids: Option<&[i32]>) -> Result<Vec<StandardNode>, DbErr> {
    use standard::Column as S;
    match ids {
        Some(ids) => {
            standard::Entity::find()
                .select_only()
                .columns([
                    S::Id,
                    S::OwnerId,
                    S::RegionId,
                    S::Level,
                    S::Quantity,
                    S::AccuracyKind,
                    S::AccuracySi,
                    S::CertNo,
                    S::NameZh,
                ])
                .filter(S::Id.is_in(ids.iter().copied()))
                .into_model::<StandardNode>()
                .all(db)
                .await
        }
        None => {
            type Row = (i32, i32, Option<i32>, String, String, String, Option<f64>);
            let rows: Vec<Row> = standard::Entity::find()
                .select_only()
                .columns([
                    S::Id,
                    S::OwnerId,
                    S::RegionId,
                    S::Level,
                    S::Quantity,
                    S::AccuracyKind,
                    S::AccuracySi,
                ])
                .into_tuple()
                .all(db)
                .await?;
            Ok(rows
                .into_iter()
                .map(|r| StandardNode {
                    id: r.0,
                    owner_id: r.1,
                    region_id: r.2,
                    level: r.3,
                    quantity: r.4,
                    accuracy_kind: r.5,
                    accuracy_si: r.6,
                    cert_no: String::new(),
                    name_zh: String::new(),
                })
                .collect())
        }
    }
}

/// (id, name, certificate number) of the standards named.
pub async fn standard_labels<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<(i32, String, String)>, DbErr> {
    use standard::Column as S;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let rows: Vec<(i32, String, String)> = standard::Entity::find()
            .select_only()
            .columns([S::Id, S::NameZh, S::CertNo])
            .filter(S::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// What the rules need of a device: the standard it belongs to.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DeviceNode {
    pub id: i32,
    pub standard_id: i32,
    pub name: String,
    pub serial: String,
}

/// The devices named, or every device (then without names and serial numbers).
pub async fn device_nodes<C: ConnectionTrait>(db: &C, ids: Option<&[i32]>) -> Result<Vec<DeviceNode>, DbErr> {
    use device::Column as D;
    match ids {
        Some(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(10_000) {
                out.extend(
                    device::Entity::find()
                        .select_only()
                        .columns([D::Id, D::StandardId, D::Name, D::Serial])
                        .filter(D::Id.is_in(chunk.iter().copied()))
                        .into_model::<DeviceNode>()
                        .all(db)
                        .await?,
                );
            }
            Ok(out)
        }
        None => {
            let rows: Vec<(i32, i32)> = device::Entity::find()
                .select_only()
                .columns([D::Id, D::StandardId])
                .into_tuple()
                .all(db)
                .await?;
            Ok(rows
                .into_iter()
                .map(|(id, standard_id)| DeviceNode {
                    id,
                    standard_id,
                    name: String::new(),
                    serial: String::new(),
                })
                .collect())
        }
    }
}

/// (id, standard, serial) of every device: their import keys.
pub async fn device_keys<C: ConnectionTrait>(db: &C) -> Result<Vec<(i32, i32, String)>, DbErr> {
    use device::Column as D;
    device::Entity::find()
        .select_only()
        .columns([D::Id, D::StandardId, D::Serial])
        .into_tuple()
        .all(db)
        .await
}

pub async fn calibrations_by_ids<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<calibration::Model>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        out.extend(
            calibration::Entity::find()
                .filter(calibration::Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Inserts or updates instruments by (owner, serial number).
pub async fn upsert_instruments<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = instrument::ActiveModel>,
) -> Result<(), DbErr> {
    const UPDATE: &[&str] = &[
        "name",
        "manufacturer",
        "model",
        "category_code",
        "quantity",
        "mpe_si",
        "mpe_unit",
        "updated_at",
    ];
    super::register::bulk_upsert(db, rows, &["owner_id", "serial"], UPDATE).await?;
    Ok(())
}

/// Inserts or updates calibrations by (item, certificate number).
pub async fn upsert_calibrations<C: ConnectionTrait>(
    db: &C,
    rows: impl IntoIterator<Item = calibration::ActiveModel>,
) -> Result<(), DbErr> {
    const UPDATE: &[&str] = &[
        "reference_kind",
        "reference_id",
        "provider_id",
        "provider_evidence",
        "lab_id",
        "calibrated_on",
        "valid_until",
        "quantity",
        "uncertainty_si",
        "uncertainty_unit",
        "mpe_si",
        "as_found_error_si",
        "decision_rule",
        "decision",
        "source",
    ];
    super::register::bulk_upsert(db, rows, &["item_kind", "item_id", "certificate_no"], UPDATE).await?;
    Ok(())
}

/// (id, owner, serial) of every instrument: their import keys.
pub async fn instrument_keys<C: ConnectionTrait>(db: &C) -> Result<Vec<(i32, i32, String)>, DbErr> {
    use instrument::Column as I;
    instrument::Entity::find()
        .select_only()
        .columns([I::Id, I::OwnerId, I::Serial])
        .into_tuple()
        .all(db)
        .await
}

/// Every calibration made against another item of the register, as (parent, edge): the
/// reverse walk's index. Read in `parts` id ranges at once, like [`all_links_in_parts`].
pub async fn all_edges_in_parts(db: &sea_orm::DatabaseConnection, parts: usize) -> Result<Vec<(Item, Edge)>, DbErr> {
    let Some(last) = latest_calibration_id(db).await? else {
        return Ok(Vec::new());
    };
    let parts = parts.max(1) as i32;
    let step = last / parts + 1;
    let tasks: Vec<_> = (0..parts)
        .map(|k| {
            let db = db.clone();
            tokio::spawn(async move {
                let sql = format!(
                    "SELECT CAST(id AS TEXT) || ',' || item_kind || ',' || CAST(item_id AS TEXT) || ',' \
                       || reference_kind || ',' || CAST(reference_id AS TEXT) || ',' || CAST(calibrated_on AS TEXT) \
                     FROM calibrations WHERE reference_kind IS NOT NULL AND id >= {} AND id < {}",
                    k * step,
                    (k + 1) * step
                );
                let rows = db
                    .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
                    .await?;
                let bad = || DbErr::Custom("calibrations: unreadable row".into());
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let packed: String = row.try_get_by_index(0)?;
                    let mut f = packed.split(',');
                    let mut next = || f.next().ok_or_else(bad);
                    let int = |s: &str| s.parse::<i32>().map_err(|_| bad());
                    let kind = |s: &str| ItemKind::parse(s).ok_or_else(bad);
                    let id = int(next()?)?;
                    let item = Item::new(kind(next()?)?, int(next()?)?);
                    let parent = Item::new(kind(next()?)?, int(next()?)?);
                    let calibrated_on = NaiveDate::parse_from_str(next()?, "%Y-%m-%d").map_err(|_| bad())?;
                    out.push((
                        parent,
                        Edge {
                            calibration_id: id,
                            item,
                            calibrated_on,
                        },
                    ));
                }
                Ok::<_, DbErr>(out)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.extend(t.await.map_err(|e| DbErr::Custom(e.to_string()))??);
    }
    Ok(out)
}

/// (id, decision, certificate number) of the calibrations named, packed one text value
/// per row (the certificate number last, as it may hold any character but a newline).
pub async fn certificates_of<C: ConnectionTrait>(
    db: &C,
    ids: &[i32],
) -> Result<Vec<(i32, Option<String>, String)>, DbErr> {
    let backend = db.get_database_backend();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let list = chunk.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT CAST(id AS TEXT) || ',' || COALESCE(decision, '') || ',' || certificate_no \
             FROM calibrations WHERE id IN ({list})"
        );
        for row in db.query_all_raw(Statement::from_string(backend, sql)).await? {
            let packed: String = row.try_get_by_index(0)?;
            let mut f = packed.splitn(3, ',');
            let bad = || DbErr::Custom("calibrations: unreadable row".into());
            let id = f.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            let decision = f.next().ok_or_else(bad)?;
            let cert = f.next().ok_or_else(bad)?;
            out.push((id, (!decision.is_empty()).then(|| decision.to_owned()), cert.to_owned()));
        }
    }
    Ok(out)
}

/// What a page shows of an instrument.
#[derive(Debug, Clone)]
pub struct InstrumentNode {
    pub id: i32,
    pub owner_id: i32,
    pub name: String,
    pub model: String,
    pub serial: String,
    pub quantity: Option<String>,
}

pub async fn instrument_nodes<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<InstrumentNode>, DbErr> {
    // Names, models and serial numbers are free text: the unit separator (U+001F) parts them.
    let backend = db.get_database_backend();
    let sep = match backend {
        DbBackend::Postgres => "chr(31)",
        _ => "char(31)",
    };
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let list = chunk.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT CAST(id AS TEXT) || {sep} || CAST(owner_id AS TEXT) || {sep} || COALESCE(quantity, '') \
               || {sep} || name || {sep} || model || {sep} || serial FROM instruments WHERE id IN ({list})"
        );
        for row in db.query_all_raw(Statement::from_string(backend, sql)).await? {
            let packed: String = row.try_get_by_index(0)?;
            let f: Vec<&str> = packed.split('\u{1f}').collect();
            let bad = || DbErr::Custom("instruments: unreadable row".into());
            let [id, owner, quantity, name, model, serial] = f.as_slice() else {
                return Err(bad());
            };
            out.push(InstrumentNode {
                id: id.parse().map_err(|_| bad())?,
                owner_id: owner.parse().map_err(|_| bad())?,
                quantity: (!quantity.is_empty()).then(|| quantity.to_string()),
                name: name.to_string(),
                model: model.to_string(),
                serial: serial.to_string(),
            });
        }
    }
    Ok(out)
}
