//! Traceability pages (an item's chain drawn as SVG, the province audit, impact
//! analysis with its CSV) and /api/v1/traceability, /api/v1/calibrations.

use super::error::ApiResult;
use super::guards::QueryPairs;
use super::{Db, Page, PageResult, Ui};
use crate::domain::register::parse_date;
use crate::service::cache::Caches;
use crate::service::traceability::{self as svc, AuditReport, CalibrationInput, ChainView, ImpactReport};
use crate::service::{Actor, Error};
use chrono::NaiveDate;
use minijinja::value::Serde;
use rocket::data::Data;
use rocket::http::{ContentType, Header, Status};
use rocket::serde::json::Json;
use rocket::{get, post, routes, Responder, Route, State};
use serde::Serialize;
use std::collections::BTreeMap;

pub fn page_routes() -> Vec<Route> {
    routes![
        chain_page,
        audit_page,
        impact_page,
        impact_csv,
        calibration_form_page,
        calibration_create_page,
        dcc_import_page
    ]
}

pub fn api_routes() -> Vec<Route> {
    routes![chain_api, audit_api, impact_api, record_calibration_api, dcc_import_api]
}

/// The query's `as_of` (default: today from the app's clock) and `tur_limit` (default:
/// the limit of the organisation that owns each item, 4 unless it set its own).
fn as_of_and_limit(query: &BTreeMap<&str, &str>, today: NaiveDate) -> Result<(NaiveDate, Option<f64>), Error> {
    let as_of = match query.get("as_of").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(s) => parse_date("as_of", s).map_err(|e| Error::invalid(vec![e]))?,
        None => today,
    };
    let limit = match query.get("tur_limit").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(Some)
            .ok_or_else(|| Error::field("tur_limit", "traceability.tur_limit_invalid", "a positive number"))?,
        None => None,
    };
    Ok((as_of, limit))
}

// ---------------------------------------------------------------- the chain drawing

/// An item's chain laid out top-down for an SVG: the top of the chain first.
#[derive(Debug, Clone, Serialize)]
pub struct Drawing {
    pub width: u32,
    pub height: u32,
    pub boxes: Vec<DrawnBox>,
    pub arrows: Vec<Arrow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DrawnBox {
    pub y: u32,
    /// ok, broken, warning or top: the class that colours it.
    pub status: &'static str,
    pub title: String,
    pub subtitle: String,
    pub href: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Arrow {
    pub y1: u32,
    pub y2: u32,
    pub status: &'static str,
    /// The certificate, its dates and the uncertainty stated on it.
    pub label: String,
    pub causes: Vec<&'static str>,
}

const BOX_H: u32 = 56;
const GAP: u32 = 64;
const WIDTH: u32 = 720;

/// Lays out the chain: one box per level, the external provider (if any) as a last box,
/// and one arrow per link from the reference down to what it calibrated.
pub fn drawing(c: &ChainView, english: bool) -> Drawing {
    let mut levels: Vec<(DrawnBox, Option<Arrow>)> = Vec::new();
    for s in &c.steps {
        let status = if s.top {
            "top"
        } else if !s.causes.is_empty() {
            "broken"
        } else if s.low_tur {
            "warning"
        } else {
            "ok"
        };
        let b = DrawnBox {
            y: 0,
            status,
            title: s.item.label.clone(),
            subtitle: format!(
                "{} · {} · {}",
                if english { s.item.level_en } else { s.item.level_zh },
                s.item.owner,
                s.item.city
            ),
            href: Some(format!("/traceability/{}/{}?as_of={}", s.item.kind, s.item.id, c.as_of)),
        };
        let arrow = s.link.as_ref().map(|l| Arrow {
            y1: 0,
            y2: 0,
            status,
            label: format!(
                "{} · {} – {}{}{}",
                l.certificate_no,
                l.calibrated_on,
                l.valid_until,
                l.uncertainty.as_ref().map_or(String::new(), |u| format!(" · U = {u}")),
                s.tur.map_or(String::new(), |t| format!(" · TUR {t:.1}"))
            ),
            causes: s.causes.iter().copied().filter(|c| *c != "parent_broken").collect(),
        });
        levels.push((b, arrow));
    }
    // The external provider at the top, when the chain ends at one.
    if let Some(p) = c
        .steps
        .last()
        .and_then(|s| s.link.as_ref())
        .and_then(|l| l.provider.as_ref())
    {
        levels.push((
            DrawnBox {
                y: 0,
                status: if p.evidence.trim().is_empty() { "broken" } else { "top" },
                title: p.name.clone(),
                subtitle: format!(
                    "{} · {}",
                    crate::domain::register::OrgKind::parse(p.kind).map_or(p.kind, |k| if english {
                        k.name_en()
                    } else {
                        k.name_zh()
                    }),
                    p.evidence
                ),
                href: None,
            },
            None,
        ));
    }
    levels.reverse();
    let mut boxes = Vec::new();
    let mut arrows = Vec::new();
    let mut y = 16;
    let n = levels.len();
    for (i, (mut b, arrow)) in levels.into_iter().enumerate() {
        b.y = y;
        // The arrow of this level's link runs from the box above down to this one.
        if let Some(mut a) = arrow {
            if i > 0 {
                a.y1 = y - GAP;
                a.y2 = y;
                arrows.push(a);
            }
        }
        boxes.push(b);
        if i + 1 < n {
            y += BOX_H + GAP;
        }
    }
    Drawing {
        width: WIDTH,
        height: y + BOX_H + 16,
        boxes,
        arrows,
    }
}

// ---------------------------------------------------------------- pages

#[get("/traceability/<kind>/<id>")]
async fn chain_page(kind: &str, id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> PageResult {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let (as_of, limit) = as_of_and_limit(&q, ui.today())?;
    let c = svc::chain(&actor, &db.0, kind, id, as_of, limit).await?;
    let d = drawing(&c, ui.chrome.lang == super::templates::Lang::En);
    Ok(ui.render(
        "traceability/chain.html",
        Status::Ok,
        minijinja::context! { c => Serde(&c), drawing => Serde(d), kind => kind, id => id },
    ))
}

#[get("/traceability/<kind>/<id>/links/new")]
async fn calibration_form_page(kind: &str, id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let item = svc::calibration_target(&actor, &db.0, kind, id).await?;
    Ok(ui.render(
        "traceability/calibration_form.html",
        Status::Ok,
        minijinja::context! { item => Serde(&item), form => Serde(BTreeMap::<&str, &str>::new()) },
    ))
}

/// The status of a link refused with field messages: 409 for a duplicate, else 422.
fn refused_status(e: &Error) -> Status {
    if matches!(e, Error::Conflict { .. }) {
        Status::Conflict
    } else {
        Status::UnprocessableEntity
    }
}

/// A link entered by hand: saved and back to the chain, or the form again with each
/// field's message.
#[post("/traceability/<kind>/<id>/links", data = "<form>")]
async fn calibration_create_page(
    kind: &str,
    id: i32,
    form: super::guards::CsrfForm,
    db: &State<Db>,
    actor: Actor,
    ui: Ui<'_>,
) -> PageResult {
    let item = svc::calibration_target(&actor, &db.0, kind, id).await?;
    let mut input: CalibrationInput = form.to_input();
    input.item_kind = item.kind.to_owned();
    input.item_id = item.id.to_string();
    match svc::record_calibration(&actor, &db.0, &input, chrono::Utc::now()).await {
        Ok(_) => Ok(Page::redirect(format!("/traceability/{}/{}", item.kind, item.id))),
        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. })) => {
            let status = refused_status(&e);
            let typed: BTreeMap<&str, &str> = form.iter().collect();
            Ok(ui.render(
                "traceability/calibration_form.html",
                status,
                minijinja::context! {
                    item => Serde(&item), form => Serde(typed),
                    errors => Serde(e.field_messages()), codes => Serde(e.field_codes()),
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(rocket::FromForm)]
struct DccUpload<'r> {
    csrf: String,
    file: rocket::fs::TempFile<'r>,
    provider: String,
    valid_until: String,
}

/// An upstream laboratory's DCC for the item, uploaded: the calibration link from its
/// number, date, laboratory and results, or the form again with the file's message.
#[post("/traceability/<kind>/<id>/dcc", data = "<upload>")]
async fn dcc_import_page(
    kind: &str,
    id: i32,
    upload: rocket::form::Form<DccUpload<'_>>,
    jar: &rocket::http::CookieJar<'_>,
    db: &State<Db>,
    actor: Actor,
    ui: Ui<'_>,
) -> PageResult {
    if !super::guards::csrf_matches(jar, &upload.csrf) {
        return Err(Error::Forbidden.into());
    }
    let item = svc::calibration_target(&actor, &db.0, kind, id).await?;
    let bytes = match upload.file.path() {
        Some(p) => rocket::tokio::fs::read(p).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let input = CalibrationInput {
        item_kind: item.kind.to_owned(),
        item_id: item.id.to_string(),
        provider: upload.provider.clone(),
        valid_until: upload.valid_until.clone(),
        ..Default::default()
    };
    match svc::import_dcc(&actor, &db.0, &input, &bytes, chrono::Utc::now()).await {
        Ok(_) => Ok(Page::redirect(format!("/traceability/{}/{}", item.kind, item.id))),
        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. })) => {
            let status = refused_status(&e);
            let typed = BTreeMap::from([
                ("provider", upload.provider.as_str()),
                ("valid_until", upload.valid_until.as_str()),
            ]);
            Ok(ui.render(
                "traceability/calibration_form.html",
                status,
                minijinja::context! {
                    item => Serde(&item), form => Serde(BTreeMap::<&str, &str>::new()), dcc_form => Serde(typed),
                    dcc_errors => Serde(e.field_messages()),
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// At most this many broken chains are listed on the page (the API and the CLI give
/// them all); filters narrow the list.
const PAGE_CHAINS: usize = 500;

#[get("/traceability/audit")]
async fn audit_page(db: &State<Db>, caches: &State<Caches>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> PageResult {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let (as_of, limit) = as_of_and_limit(&q, ui.today())?;
    let mut r = svc::audit(&actor, &db.0, &caches.province, as_of, limit).await?;
    let cause = q.get("cause").copied().unwrap_or("");
    let city = q.get("city").copied().unwrap_or("");
    r.chains
        .retain(|c| (cause.is_empty() || c.causes.contains(&cause)) && (city.is_empty() || c.item.city == city));
    let shown = r.chains.len();
    r.chains.truncate(PAGE_CHAINS);
    Ok(ui.render(
        "traceability/audit.html",
        Status::Ok,
        minijinja::context! { r => Serde(&r), cause => cause, city => city, shown => shown },
    ))
}

async fn run_impact(actor: &Actor, db: &Db, caches: &Caches, q: &BTreeMap<&str, &str>) -> Result<ImpactReport, Error> {
    let id = q
        .get("id")
        .and_then(|s| s.trim().parse::<i32>().ok())
        .ok_or_else(|| Error::field("id", "traceability.item_missing", "name the suspect item by its id"))?;
    svc::impact(
        actor,
        &db.0,
        &caches.province,
        q.get("kind").copied().unwrap_or(""),
        id,
        q.get("since").copied().unwrap_or(""),
        q.get("error").copied(),
    )
    .await
}

#[get("/traceability/impact")]
async fn impact_page(
    db: &State<Db>,
    caches: &State<Caches>,
    actor: Actor,
    ui: Ui<'_>,
    query: QueryPairs,
) -> PageResult {
    actor.require_login()?;
    let q: BTreeMap<&str, &str> = query.iter().collect();
    if !q.contains_key("id") {
        // The empty form.
        return Ok(ui.render(
            "traceability/impact.html",
            Status::Ok,
            minijinja::context! { typed => Serde(&q) },
        ));
    }
    match run_impact(&actor, db, caches, &q).await {
        Ok(r) => {
            let csv_query: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(q.iter().filter(|(k, _)| ["kind", "id", "since", "error"].contains(k)))
                .finish();
            Ok(ui.render(
                "traceability/impact.html",
                Status::Ok,
                minijinja::context! { r => Serde(&r), typed => Serde(&q), csv_query => csv_query },
            ))
        }
        Err(e @ Error::Invalid { .. }) => Ok(ui.render(
            "traceability/impact.html",
            Status::UnprocessableEntity,
            minijinja::context! { typed => Serde(&q), errors => Serde(e.field_messages()) },
        )),
        Err(e) => Err(e.into()),
    }
}

/// A CSV download.
#[derive(Responder)]
pub enum CsvFile {
    File(String, ContentType, Header<'static>),
    Page(Page),
}

impl CsvFile {
    /// `text` as a UTF-8 CSV attachment named `filename`.
    pub fn attachment(text: String, filename: &str) -> CsvFile {
        CsvFile::File(
            text,
            ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            Header::new("Content-Disposition", format!("attachment; filename=\"{filename}\"")),
        )
    }
}

#[get("/traceability/impact.csv")]
async fn impact_csv(db: &State<Db>, caches: &State<Caches>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> CsvFile {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let report = match run_impact(&actor, db, caches, &q).await {
        Ok(r) => r,
        Err(e) => return CsvFile::Page(ui.error(&e)),
    };
    match svc::impact_csv(&report) {
        Ok(text) => CsvFile::attachment(
            text,
            &format!(
                "impact-{}-{}-{}.csv",
                report.suspect.kind, report.suspect.id, report.since
            ),
        ),
        Err(e) => CsvFile::Page(ui.error(&Error::Internal(e.to_string()))),
    }
}

// ---------------------------------------------------------------- API

/// An item's chain as of `as_of` (default today), with each level's status.
#[utoipa::path(
    get, path = "/api/v1/traceability/{kind}/{id}", tag = "traceability",
    params(
        ("kind" = String, Path, description = "standard, device or instrument"),
        ("id" = i32, Path),
        ("as_of" = Option<String>, Query, description = "YYYY-MM-DD"),
        ("tur_limit" = Option<f64>, Query, description = "Warn below this MPE/U ratio (default: the item owner's scheduling rule, 4 unless set)"),
    ),
    responses((status = 200, description = "The chain"), (status = 404, body = super::error::ErrorBody),
              (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[get("/traceability/<kind>/<id>", rank = 2)]
pub async fn chain_api(
    kind: &str,
    id: i32,
    db: &State<Db>,
    actor: Actor,
    today: super::Today,
    query: QueryPairs,
) -> ApiResult<Json<ChainView>> {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let (as_of, limit) = as_of_and_limit(&q, today.0)?;
    Ok(Json(svc::chain(&actor, &db.0, kind, id, as_of, limit).await?))
}

/// The province audit: every broken chain, grouped by cause, city and owner.
#[utoipa::path(
    get, path = "/api/v1/traceability/audit", tag = "traceability",
    params(("as_of" = Option<String>, Query, description = "YYYY-MM-DD"), ("tur_limit" = Option<f64>, Query)),
    responses((status = 200, description = "The audit"), (status = 403, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[get("/traceability/audit")]
pub async fn audit_api(
    db: &State<Db>,
    caches: &State<Caches>,
    actor: Actor,
    today: super::Today,
    query: QueryPairs,
) -> ApiResult<Json<AuditReport>> {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let (as_of, limit) = as_of_and_limit(&q, today.0)?;
    Ok(Json(svc::audit(&actor, &db.0, &caches.province, as_of, limit).await?))
}

/// Reverse traceability: what a suspect standard or device touched since a date.
#[utoipa::path(
    get, path = "/api/v1/traceability/impact", tag = "traceability",
    params(
        ("kind" = String, Query, description = "standard or device"),
        ("id" = i32, Query),
        ("since" = String, Query, description = "Suspect from this date, YYYY-MM-DD"),
        ("error" = Option<String>, Query, description = "The suspect's as-found error with sign and unit"),
    ),
    responses((status = 200, description = "The impact"), (status = 404, body = super::error::ErrorBody),
              (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[get("/traceability/impact")]
pub async fn impact_api(
    db: &State<Db>,
    caches: &State<Caches>,
    actor: Actor,
    query: QueryPairs,
) -> ApiResult<Json<ImpactReport>> {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    Ok(Json(run_impact(&actor, db, caches, &q).await?))
}

#[derive(Serialize)]
pub struct Created {
    pub id: i32,
}

/// Records a calibration link by hand (an external calibration, or one made before the
/// system); 422 names each field to correct, a cycle included.
#[utoipa::path(
    post, path = "/api/v1/calibrations", tag = "traceability",
    responses((status = 201, description = "Recorded"), (status = 422, body = super::error::ErrorBody),
              (status = 409, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/calibrations", data = "<data>")]
pub async fn record_calibration_api(
    data: Data<'_>,
    db: &State<Db>,
    actor: Actor,
) -> ApiResult<(Status, Json<Created>)> {
    let body = super::body::read_body(data).await?;
    let input = link_from_json(&body)?;
    let id = svc::record_calibration(&actor, &db.0, &input, chrono::Utc::now()).await?;
    Ok((Status::Created, Json(Created { id })))
}

/// Imports an upstream laboratory's DCC (the request body, XML) as a calibration link of
/// the item named by `item_kind` and `item_id`; `provider` (the laboratory's code when the
/// DCC gives none) and `valid_until` (default 12 months) are optional. 422 names the field
/// (`file` for what the DCC lacks).
#[utoipa::path(
    post, path = "/api/v1/calibrations/dcc", tag = "traceability",
    params(("item_kind" = String, Query), ("item_id" = i32, Query), ("provider" = Option<String>, Query),
           ("valid_until" = Option<String>, Query)),
    responses((status = 201, description = "Recorded"), (status = 422, body = super::error::ErrorBody),
              (status = 409, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/calibrations/dcc", data = "<data>")]
pub async fn dcc_import_api(
    data: Data<'_>,
    db: &State<Db>,
    actor: Actor,
    query: QueryPairs,
) -> ApiResult<(Status, Json<Created>)> {
    use rocket::data::ToByteUnit;
    let body = super::body::read_bytes(data, 8.mebibytes(), "8 MiB").await?;
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let get = |k: &str| q.get(k).copied().unwrap_or("").to_owned();
    let input = CalibrationInput {
        item_kind: get("item_kind"),
        item_id: get("item_id"),
        provider: get("provider"),
        reference_kind: get("reference_kind"),
        reference_id: get("reference_id"),
        valid_until: get("valid_until"),
        ..Default::default()
    };
    let id = svc::import_dcc(&actor, &db.0, &input, &body, chrono::Utc::now()).await?;
    Ok((Status::Created, Json(Created { id })))
}

/// The link's fields from a JSON object; ids may come as numbers.
fn link_from_json(body: &str) -> Result<CalibrationInput, Error> {
    super::body::text_fields_from_json(body, CalibrationInput::FIELDS, true)
}
