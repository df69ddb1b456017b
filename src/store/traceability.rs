//! Calibrations (the traceability links) and enterprises' instruments.
//!
//! The walk up from an item is a recursive query (WITH RECURSIVE, the same text on SQLite
//! and PostgreSQL), so a chain reads only the links it needs. The province-wide audit
//! and the reverse walk read every link once, by columns (see [`columns`]), and the service keeps
//! them until the next change (docs/benchmarks.md has the measurements behind this).

use super::entities::{calibration, device, instrument, standard};
use crate::domain::traceability::{Edge, Item, ItemKind};
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Statement, Value,
};
use std::sync::Arc;

/// `sql` written with PostgreSQL's $1, $2… placeholders (each used once, in order), for
/// the connection's engine.
pub(crate) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
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

/// One column of a [`columns`] read: an SQL expression, and how it is written as text.
#[derive(Clone, Copy)]
pub(crate) enum Col<'a> {
    /// A whole number, never null.
    Int(&'a str),
    /// A whole number or null (read back as an empty value).
    OptInt(&'a str),
    /// Text, or null read back as empty.
    Text(&'a str),
    /// A date, as ISO 8601 text.
    Date(&'a str),
    /// A date or null (read back as an empty value).
    OptDate(&'a str),
    /// A double or null, written so that it reads back to the same bits: PostgreSQL's
    /// text form is the shortest exact one, SQLite's is asked for 17 significant digits.
    Real(&'a str),
}

/// A columnar read of the rows `from_where` selects: each column comes back as one
/// text value, its values parted by the unit separator (U+001F), and the row count.
///
/// The drivers' cost is per row (SQLite's hands each row from its worker thread to the
/// async task on its own), so the province's hundreds of thousands of links and nodes
/// come as a single row. All the aggregates of one query see the rows in the same
/// order, so the columns line up. Free text holding a unit separator would not: the
/// reader finds that the columns do not line up and refuses the read.
pub(crate) async fn columns<C: ConnectionTrait>(
    db: &C,
    cols: &[Col<'_>],
    from_where: &str,
    values: Vec<Value>,
) -> Result<Columns, DbErr> {
    let backend = db.get_database_backend();
    let pg = backend == DbBackend::Postgres;
    let agg = |e: String| match pg {
        true => format!("string_agg({e}, chr(31))"),
        false => format!("group_concat({e}, char(31))"),
    };
    let mut select = vec!["CAST(COUNT(*) AS TEXT)".to_owned()];
    select.extend(cols.iter().map(|c| {
        agg(match *c {
            // SQLite's group_concat writes numbers and dates (stored as text) as they are.
            Col::Int(e) | Col::Date(e) if !pg => e.to_owned(),
            Col::Int(e) | Col::Date(e) => format!("CAST({e} AS TEXT)"),
            Col::OptInt(e) | Col::OptDate(e) if !pg => format!("COALESCE({e}, '')"),
            Col::OptDate(e) => format!("COALESCE(CAST({e} AS TEXT), '')"),
            Col::OptInt(e) => format!("COALESCE(CAST({e} AS TEXT), '')"),
            Col::Text(e) => format!("COALESCE({e}, '')"),
            Col::Real(e) if pg => format!("COALESCE(CAST({e} AS TEXT), '')"),
            // printf writes a null as 0.
            Col::Real(e) => format!("CASE WHEN {e} IS NULL THEN '' ELSE printf('%!.17g', {e}) END"),
        })
    }));
    let sql = format!("SELECT {} {from_where}", select.join(", "));
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .ok_or_else(|| DbErr::Custom("a columnar read returned no row".into()))?;
    let rows: String = row.try_get_by_index(0)?;
    let rows = rows
        .parse()
        .map_err(|_| DbErr::Custom("a columnar read's count is unreadable".into()))?;
    let mut texts = Vec::with_capacity(cols.len());
    for i in 0..cols.len() {
        let text: Option<String> = row.try_get_by_index(i + 1)?;
        texts.push(text.unwrap_or_default());
    }
    Ok(Columns { rows, texts })
}

/// What a [`columns`] read returns.
pub(crate) struct Columns {
    pub(crate) rows: usize,
    texts: Vec<String>,
}

impl Columns {
    /// The readers of every column, in order, to be read in step, row by row.
    pub(crate) fn readers(&self, table: &'static str) -> Vec<Column<'_>> {
        self.texts
            .iter()
            .map(|t| Column {
                values: (self.rows > 0).then(|| t.split('\u{1f}')),
                table,
            })
            .collect()
    }

    /// Errors unless every reader has given exactly the count of rows.
    pub(crate) fn finish(readers: Vec<Column<'_>>) -> Result<(), DbErr> {
        for mut r in readers {
            if r.values.as_mut().is_some_and(|v| v.next().is_some()) {
                return Err(r.bad("columns"));
            }
        }
        Ok(())
    }
}

/// Short texts that repeat (the kinds of quantity), shared rather than copied; empty is none.
#[derive(Default)]
pub(crate) struct Interned(rustc_hash::FxHashMap<String, Arc<str>>);

impl Interned {
    pub(crate) fn get(&mut self, text: &str) -> Option<Arc<str>> {
        if text.is_empty() {
            return None;
        }
        if let Some(a) = self.0.get(text) {
            return Some(a.clone());
        }
        let a: Arc<str> = Arc::from(text);
        self.0.insert(text.to_owned(), a.clone());
        Some(a)
    }
}

/// One column of a [`Columns`], read value by value.
pub(crate) struct Column<'a> {
    values: Option<std::str::Split<'a, char>>,
    table: &'static str,
}

impl<'a> Column<'a> {
    pub(crate) fn bad(&self, what: &str) -> DbErr {
        DbErr::Custom(format!("{}: unreadable {what}", self.table))
    }
    pub(crate) fn text(&mut self) -> Result<&'a str, DbErr> {
        let next = self.values.as_mut().and_then(|v| v.next());
        next.ok_or_else(|| self.bad("columns"))
    }
    pub(crate) fn kind(&mut self) -> Result<ItemKind, DbErr> {
        let t = self.text()?;
        ItemKind::parse(t).ok_or_else(|| self.bad("kind"))
    }
    pub(crate) fn opt_kind(&mut self) -> Result<Option<ItemKind>, DbErr> {
        match self.text()? {
            "" => Ok(None),
            t => ItemKind::parse(t).map(Some).ok_or_else(|| self.bad("kind")),
        }
    }
    pub(crate) fn int(&mut self) -> Result<i32, DbErr> {
        let t = self.text()?;
        t.parse().map_err(|_| self.bad("number"))
    }
    pub(crate) fn opt_int(&mut self) -> Result<Option<i32>, DbErr> {
        match self.text()? {
            "" => Ok(None),
            t => t.parse().map(Some).map_err(|_| self.bad("number")),
        }
    }
    pub(crate) fn real(&mut self) -> Result<Option<f64>, DbErr> {
        match self.text()? {
            "" => Ok(None),
            t => t.parse().map(Some).map_err(|_| self.bad("number")),
        }
    }
    pub(crate) fn opt_date(&mut self) -> Result<Option<NaiveDate>, DbErr> {
        let peek = self.values.as_ref().and_then(|v| v.clone().next());
        if peek == Some("") {
            self.text()?;
            return Ok(None);
        }
        self.date().map(Some)
    }
    /// An ISO date, read by position (a format string is parsed for every value).
    pub(crate) fn date(&mut self) -> Result<NaiveDate, DbErr> {
        let t = self.text()?.as_bytes();
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            t.get(r)?
                .iter()
                .try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
        };
        let ymd = (t.len() == 10 && t[4] == b'-' && t[7] == b'-')
            .then(|| Some((digits(0..4)?, digits(5..7)?, digits(8..10)?)))
            .flatten();
        ymd.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y as i32, m, d))
            .ok_or_else(|| self.bad("date"))
    }
}

pub async fn insert_calibration<C: ConnectionTrait>(
    db: &C,
    row: calibration::ActiveModel,
) -> Result<calibration::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

/// The calibration a recorded certificate `old_number` stands for, made to say what its
/// amendment says (`row`, whose certificate number is the amendment's): the link stays
/// one link, now evidenced by the certificate that supersedes the old one. Inserted when
/// no calibration carries the old number.
pub async fn replace_recorded_calibration<C: ConnectionTrait>(
    db: &C,
    old_number: &str,
    mut row: calibration::ActiveModel,
) -> Result<calibration::Model, DbErr> {
    let old = calibration::Entity::find()
        .filter(calibration::Column::CertificateNo.eq(old_number))
        .filter(calibration::Column::Source.eq("recorded"))
        .one(db)
        .await?;
    match old {
        Some(o) => {
            row.id = sea_orm::ActiveValue::Unchanged(o.id);
            sea_orm::ActiveModelTrait::update(row, db).await
        }
        None => sea_orm::ActiveModelTrait::insert(row, db).await,
    }
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

/// A link as the rules read it (from the audit's columnar read, without its certificate
/// number, or from a whole row).
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub id: i32,
    pub item_kind: ItemKind,
    pub item_id: i32,
    pub reference_kind: Option<ItemKind>,
    pub reference_id: Option<i32>,
    pub provider_id: Option<i32>,
    pub provider_evidence: String,
    pub certificate_no: String,
    pub calibrated_on: NaiveDate,
    pub valid_until: NaiveDate,
    pub quantity: Option<Arc<str>>,
    pub uncertainty_si: Option<f64>,
    pub mpe_si: Option<f64>,
}

impl LinkRow {
    /// The row's link, unless its item is of no kind the rules know.
    pub fn from_model(m: calibration::Model) -> Option<LinkRow> {
        Some(LinkRow {
            id: m.id,
            item_kind: ItemKind::parse(&m.item_kind)?,
            item_id: m.item_id,
            reference_kind: m.reference_kind.as_deref().and_then(ItemKind::parse),
            reference_id: m.reference_id,
            provider_id: m.provider_id,
            provider_evidence: m.provider_evidence,
            certificate_no: m.certificate_no,
            calibrated_on: m.calibrated_on,
            valid_until: m.valid_until,
            quantity: m.quantity.map(Arc::from),
            uncertainty_si: m.uncertainty_si,
            mpe_si: m.mpe_si,
        })
    }
}

/// Every link whose item is of one of `kinds`, without its certificate number. The
/// province audit reads hundreds of thousands, so they come by [`columns`].
pub async fn all_links<C: ConnectionTrait>(db: &C, kinds: &'static [&'static str]) -> Result<Vec<LinkRow>, DbErr> {
    links_in(db, kinds, None).await
}

/// [`all_links`] read on `parts` connections at once, in id order.
pub async fn all_links_in_parts(
    db: &sea_orm::DatabaseConnection,
    kinds: &'static [&'static str],
    parts: usize,
) -> Result<Vec<LinkRow>, DbErr> {
    by_id_ranges(db, parts, move |db, from, to| async move {
        links_in(&db, kinds, Some((from, to))).await
    })
    .await
}

/// Reads the calibrations by ranges of ids, on `parts` connections at once (each engine
/// works on its own thread), and gives what `read` makes of them in id order. The ranges
/// are several per connection, each connection taking the next when it is done, as the
/// rows wanted need not be spread evenly over the ids.
async fn by_id_ranges<T, F, Fut>(db: &sea_orm::DatabaseConnection, parts: usize, read: F) -> Result<Vec<T>, DbErr>
where
    T: Send + 'static,
    F: Fn(sea_orm::DatabaseConnection, i32, i32) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Vec<T>, DbErr>> + Send,
{
    use std::sync::atomic::{AtomicI32, Ordering};
    let Some(last) = latest_calibration_id(db).await? else {
        return Ok(Vec::new());
    };
    let parts = parts.max(1);
    let ranges = (parts * 4) as i32;
    let step = last / ranges + 1;
    let next = Arc::new(AtomicI32::new(0));
    let workers: Vec<_> = (0..parts)
        .map(|_| {
            let (db, next, read) = (db.clone(), next.clone(), read.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= ranges {
                        return Ok::<_, DbErr>(done);
                    }
                    done.push((k, read(db.clone(), k * step, (k + 1) * step).await?));
                }
            })
        })
        .collect();
    let mut done = Vec::with_capacity(ranges as usize);
    for w in workers {
        done.extend(w.await.map_err(|e| DbErr::Custom(e.to_string()))??);
    }
    done.sort_unstable_by_key(|(k, _)| *k);
    let mut out = Vec::with_capacity(done.iter().map(|(_, v)| v.len()).sum());
    for (_, v) in done {
        out.extend(v);
    }
    Ok(out)
}

/// The links of `kinds` with ids in [from, to), or all of them, read by [`columns`].
async fn links_in<C: ConnectionTrait>(
    db: &C,
    kinds: &'static [&'static str],
    ids: Option<(i32, i32)>,
) -> Result<Vec<LinkRow>, DbErr> {
    debug_assert!(kinds.iter().all(|k| k.chars().all(|c| c.is_ascii_lowercase())));
    let list = kinds.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
    let range = ids.map_or(String::new(), |(from, to)| format!(" AND id >= {from} AND id < {to}"));
    let cols = [
        Col::Int("id"),
        Col::Text("item_kind"),
        Col::Int("item_id"),
        Col::Text("reference_kind"),
        Col::OptInt("reference_id"),
        Col::OptInt("provider_id"),
        Col::Text("CASE WHEN provider_id IS NULL THEN '' ELSE provider_evidence END"),
        Col::Date("calibrated_on"),
        Col::Date("valid_until"),
        Col::Text("quantity"),
        Col::Real("uncertainty_si"),
        Col::Real("mpe_si"),
    ];
    // Most rows are wanted, so the table is read in order: by the index on the item's
    // kind (which the bare column would use), each row would be fetched apart.
    let read = columns(
        db,
        &cols,
        &format!("FROM calibrations WHERE (item_kind || '') IN ({list}){range}"),
        Vec::new(),
    )
    .await?;
    let mut r = read.readers("calibrations");
    let mut out = Vec::with_capacity(read.rows);
    let mut quantities = Interned::default();
    for _ in 0..read.rows {
        out.push(LinkRow {
            id: r[0].int()?,
            item_kind: r[1].kind()?,
            item_id: r[2].int()?,
            reference_kind: r[3].opt_kind()?,
            reference_id: r[4].opt_int()?,
            provider_id: r[5].opt_int()?,
            provider_evidence: r[6].text()?.to_owned(),
            calibrated_on: r[7].date()?,
            valid_until: r[8].date()?,
            quantity: quantities.get(r[9].text()?),
            uncertainty_si: r[10].real()?,
            mpe_si: r[11].real()?,
            certificate_no: String::new(),
        });
    }
    Columns::finish(r)?;
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

/// The standards named, or every standard (read by [`columns`]).
pub async fn standard_nodes<C: ConnectionTrait>(db: &C, ids: Option<&[i32]>) -> Result<Vec<StandardNode>, DbErr> {
    let cols = [
        Col::Int("id"),
        Col::Int("owner_id"),
        Col::OptInt("region_id"),
        Col::Text("level"),
        Col::Text("quantity"),
        Col::Text("accuracy_kind"),
        Col::Real("accuracy_si"),
        Col::Text("cert_no"),
        Col::Text("name_zh"),
    ];
    let mut out = Vec::new();
    let (from, values) = rows_of(db.get_database_backend(), "standards", ids);
    let read = columns(db, &cols, &from, values).await?;
    let mut r = read.readers("standards");
    out.reserve(read.rows);
    for _ in 0..read.rows {
        out.push(StandardNode {
            id: r[0].int()?,
            owner_id: r[1].int()?,
            region_id: r[2].opt_int()?,
            level: r[3].text()?.to_owned(),
            quantity: r[4].text()?.to_owned(),
            accuracy_kind: r[5].text()?.to_owned(),
            accuracy_si: r[6].real()?,
            cert_no: r[7].text()?.to_owned(),
            name_zh: r[8].text()?.to_owned(),
        });
    }
    Columns::finish(r)?;
    Ok(out)
}

/// The FROM clause (with its values) that selects the rows of `table` with the `ids`
/// given, or all of them. The ids are bound as one JSON array: one statement for any
/// number of them, which the engine neither parses nor plans again.
pub(crate) fn rows_of(backend: DbBackend, table: &str, ids: Option<&[i32]>) -> (String, Vec<Value>) {
    let Some(ids) = ids else {
        return (format!("FROM {table}"), Vec::new());
    };
    let list = ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    match backend {
        // An array: PostgreSQL sorts its keys and reads the primary key index in order
        // (15,552 calibrations of the largest impact report in 30–50 ms, against 65–73 ms
        // joining the elements of a JSON list, which visits the index in the list's order).
        DbBackend::Postgres => (
            format!("FROM {table} WHERE id = ANY(CAST($1 AS INTEGER[]))"),
            vec![format!("{{{list}}}").into()],
        ),
        _ => (
            format!("FROM {table} WHERE id IN (SELECT value FROM json_each(?))"),
            vec![format!("[{list}]").into()],
        ),
    }
}

/// What the traceability pages show of an organisation.
#[derive(Debug, Clone)]
pub struct OrganisationNode {
    pub id: i32,
    pub name_zh: String,
    pub region_id: Option<i32>,
    pub kind: String,
    pub code: String,
}

/// The organisations named, or all of them (read by [`columns`]).
pub async fn organisation_nodes<C: ConnectionTrait>(
    db: &C,
    ids: Option<&[i32]>,
) -> Result<Vec<OrganisationNode>, DbErr> {
    let cols = [
        Col::Int("id"),
        Col::Text("name_zh"),
        Col::OptInt("region_id"),
        Col::Text("kind"),
        Col::Text("code"),
    ];
    let mut out = Vec::new();
    let (from, values) = rows_of(db.get_database_backend(), "organisations", ids);
    let read = columns(db, &cols, &from, values).await?;
    let mut r = read.readers("organisations");
    out.reserve(read.rows);
    for _ in 0..read.rows {
        out.push(OrganisationNode {
            id: r[0].int()?,
            name_zh: r[1].text()?.to_owned(),
            region_id: r[2].opt_int()?,
            kind: r[3].text()?.to_owned(),
            code: r[4].text()?.to_owned(),
        });
    }
    Columns::finish(r)?;
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

/// The devices named, or every device (read by [`columns`]).
pub async fn device_nodes<C: ConnectionTrait>(db: &C, ids: Option<&[i32]>) -> Result<Vec<DeviceNode>, DbErr> {
    let cols = [
        Col::Int("id"),
        Col::Int("standard_id"),
        Col::Text("name"),
        Col::Text("serial"),
    ];
    let mut out = Vec::new();
    let (from, values) = rows_of(db.get_database_backend(), "devices", ids);
    let read = columns(db, &cols, &from, values).await?;
    let mut r = read.readers("devices");
    out.reserve(read.rows);
    for _ in 0..read.rows {
        out.push(DeviceNode {
            id: r[0].int()?,
            standard_id: r[1].int()?,
            name: r[2].text()?.to_owned(),
            serial: r[3].text()?.to_owned(),
        });
    }
    Columns::finish(r)?;
    Ok(out)
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
    super::bulk::bulk_upsert(db, rows, &["owner_id", "serial"], UPDATE).await?;
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
    super::bulk::bulk_upsert(db, rows, &["item_kind", "item_id", "certificate_no"], UPDATE).await?;
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
    by_id_ranges(db, parts, |db, from, to| async move {
        let cols = [
            Col::Int("id"),
            Col::Text("item_kind"),
            Col::Int("item_id"),
            Col::Text("reference_kind"),
            Col::Int("reference_id"),
            Col::Date("calibrated_on"),
        ];
        let from = format!("FROM calibrations WHERE reference_kind IS NOT NULL AND id >= {from} AND id < {to}");
        let read = columns(&db, &cols, &from, Vec::new()).await?;
        let mut r = read.readers("calibrations");
        let mut out = Vec::with_capacity(read.rows);
        for _ in 0..read.rows {
            let id = r[0].int()?;
            let item = Item::new(r[1].kind()?, r[2].int()?);
            let parent = Item::new(r[3].kind()?, r[4].int()?);
            let calibrated_on = r[5].date()?;
            out.push((
                parent,
                Edge {
                    calibration_id: id,
                    item,
                    calibrated_on,
                },
            ));
        }
        Columns::finish(r)?;
        Ok(out)
    })
    .await
}

/// (id, decision, certificate number) of the calibrations named, read by [`columns`].
pub async fn certificates_of<C: ConnectionTrait>(
    db: &C,
    ids: &[i32],
) -> Result<Vec<(i32, Option<String>, String)>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    let cols = [Col::Int("id"), Col::Text("decision"), Col::Text("certificate_no")];
    let (from, values) = rows_of(db.get_database_backend(), "calibrations", Some(ids));
    let read = columns(db, &cols, &from, values).await?;
    let mut r = read.readers("calibrations");
    for _ in 0..read.rows {
        let id = r[0].int()?;
        let decision = r[1].text()?;
        out.push((
            id,
            (!decision.is_empty()).then(|| decision.to_owned()),
            r[2].text()?.to_owned(),
        ));
    }
    Columns::finish(r)?;
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

/// The instruments named, read by [`columns`].
pub async fn instrument_nodes<C: ConnectionTrait>(db: &C, ids: &[i32]) -> Result<Vec<InstrumentNode>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    let cols = [
        Col::Int("id"),
        Col::Int("owner_id"),
        Col::Text("quantity"),
        Col::Text("name"),
        Col::Text("model"),
        Col::Text("serial"),
    ];
    let (from, values) = rows_of(db.get_database_backend(), "instruments", Some(ids));
    let read = columns(db, &cols, &from, values).await?;
    let mut r = read.readers("instruments");
    for _ in 0..read.rows {
        out.push(InstrumentNode {
            id: r[0].int()?,
            owner_id: r[1].int()?,
            quantity: Some(r[2].text()?).filter(|q| !q.is_empty()).map(str::to_owned),
            name: r[3].text()?.to_owned(),
            model: r[4].text()?.to_owned(),
            serial: r[5].text()?.to_owned(),
        });
    }
    Columns::finish(r)?;
    Ok(out)
}
