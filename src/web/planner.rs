//! The planner's proposal for a laboratory (/schedule/plan) with its weekly load chart,
//! accepting it as work orders, and the laboratory's capacity and holidays
//! (/schedule/capacity); `GET /api/v1/plan` for scripts.

use super::error::ApiResult;
use super::guards::{CsrfForm, QueryPairs};
use super::{Db, Page, PageResult, Ui};
use crate::service::planner as svc;
use crate::service::{Actor, Error};
use chrono::NaiveDate;
use minijinja::value::Serde;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use std::collections::BTreeMap;

pub fn page_routes() -> Vec<Route> {
    routes![
        plan_page,
        accept_page,
        capacity_page,
        capacity_save_page,
        holiday_add_page,
        holiday_delete_page
    ]
}

pub fn api_routes() -> Vec<Route> {
    routes![plan_api]
}

pub const DEFAULT_WEEKS: u32 = 12;
/// Rows of a laboratory's planned items per page.
const PAGE: usize = 200;

/// weeks, start (by default `today`) and lab from the query, each refused by name.
fn plan_params(q: &BTreeMap<&str, &str>, today: NaiveDate) -> Result<(u32, NaiveDate, Option<i32>), Error> {
    let weeks = match q.get("weeks").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => DEFAULT_WEEKS,
        Some(w) => w
            .parse()
            .map_err(|_| Error::field("weeks", "plan.weeks_out_of_range", "a whole number of weeks"))?,
    };
    let start = match q.get("start").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => today,
        Some(s) => crate::domain::register::parse_date("start", s).map_err(|e| Error::invalid(vec![e]))?,
    };
    let lab = match q.get("lab").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(l) => Some(
            l.parse()
                .map_err(|_| Error::field("lab", "field.number", "a laboratory's id"))?,
        ),
    };
    Ok((weeks, start, lab))
}

#[get("/schedule/plan")]
async fn plan_page(
    db: &State<Db>,
    caches: &State<crate::service::cache::Caches>,
    actor: Actor,
    ui: Ui<'_>,
    query: QueryPairs,
) -> PageResult {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let result = match plan_params(&q, ui.chrome.today) {
        Ok((weeks, start, lab)) => svc::lab_plan(&actor, &db.0, &caches.plan, lab, start, weeks)
            .await
            .map(|p| (p, weeks)),
        Err(e) => Err(e),
    };
    match result {
        Ok((p, weeks)) => {
            let max = p
                .load
                .as_ref()
                .map(|l| l.weeks.iter().map(|w| w.capacity.max(w.planned)).max().unwrap_or(0))
                .unwrap_or(0)
                .max(1);
            let rows: Vec<_> = p.planned.iter().skip(offset).take(PAGE).collect();
            Ok(ui.render(
                "schedule/plan.html",
                Status::Ok,
                minijinja::context! {
                    p => Serde(&p), weeks => weeks, max => max, rows => Serde(&rows),
                    offset => offset, next => offset + rows.len(), total => p.planned.len(),
                    typed => Serde(&q),
                },
            ))
        }
        Err(e @ Error::Invalid { .. }) => Ok(ui.render(
            "schedule/plan.html",
            Status::UnprocessableEntity,
            minijinja::context! { typed => Serde(&q), errors => Serde(e.field_messages()) },
        )),
        Err(e) => Err(e.into()),
    }
}

#[post("/schedule/plan/accept", data = "<form>")]
async fn accept_page(
    form: CsrfForm,
    db: &State<Db>,
    caches: &State<crate::service::cache::Caches>,
    actor: Actor,
    ui: Ui<'_>,
) -> PageResult {
    let q: BTreeMap<&str, &str> = form.iter().collect();
    let result = match plan_params(&q, ui.chrome.today) {
        Ok((weeks, start, _)) => svc::accept(&actor, &db.0, &caches.plan, start, weeks, chrono::Utc::now()).await,
        Err(e) => Err(e),
    };
    result?;
    Ok(Page::redirect("/work-orders".to_owned()))
}

/// The planner's proposal. A laboratory's staff get their laboratory's share; the
/// regulator and system admin get the whole province, or a laboratory's share with `lab`.
#[utoipa::path(
    get, path = "/api/v1/plan", tag = "schedule",
    params(
        ("weeks" = Option<u32>, Query, description = "weeks to plan, 1 to 104; default 12"),
        ("start" = Option<String>, Query, description = "first day (YYYY-MM-DD); default today"),
        ("lab" = Option<i32>, Query, description = "a laboratory's id (regulator and system admin)"),
    ),
    responses((status = 200, description = "the proposal"), (status = 422, description = "a parameter is invalid, named")),
    security(("bearer" = []))
)]
#[get("/plan")]
pub async fn plan_api(
    db: &State<Db>,
    caches: &State<crate::service::cache::Caches>,
    actor: Actor,
    today: super::Today,
    query: QueryPairs,
) -> ApiResult<Json<svc::PlanFor>> {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let (weeks, start, lab) = plan_params(&q, today.0)?;
    Ok(Json(
        svc::plan_for(&actor, &db.0, &caches.plan, lab, start, weeks).await?,
    ))
}

async fn capacity_view(
    db: &Db,
    actor: &Actor,
    ui: &Ui<'_>,
    lab: Option<i32>,
    status: Status,
    extra: minijinja::Value,
) -> PageResult {
    let v = svc::capacity(actor, &db.0, lab, ui.chrome.today).await?;
    Ok(ui.render(
        "schedule/capacity.html",
        status,
        minijinja::context! { v => Serde(&v), ..extra },
    ))
}

#[get("/schedule/capacity?<lab>")]
async fn capacity_page(lab: Option<i32>, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    capacity_view(db, &actor, &ui, lab, Status::Ok, minijinja::context! {}).await
}

#[post("/schedule/capacity", data = "<form>")]
async fn capacity_save_page(form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::save_capacity(
        &actor,
        &db.0,
        form.get("category_code"),
        form.get("per_week"),
        chrono::Utc::now(),
    )
    .await
    {
        Ok(()) => Ok(Page::redirect("/schedule/capacity".to_owned())),
        Err(e @ Error::Invalid { .. }) => {
            let typed: BTreeMap<&str, &str> = form.iter().collect();
            capacity_view(
                db,
                &actor,
                &ui,
                None,
                Status::UnprocessableEntity,
                minijinja::context! { cap_form => Serde(&typed), cap_errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/schedule/holidays", data = "<form>")]
async fn holiday_add_page(form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let public = matches!(form.get("public"), "on" | "true" | "1");
    match svc::add_holiday(
        &actor,
        &db.0,
        form.get("on_date"),
        form.get("name"),
        public,
        chrono::Utc::now(),
    )
    .await
    {
        Ok(_) => Ok(Page::redirect("/schedule/capacity".to_owned())),
        Err(e @ Error::Invalid { .. }) => {
            let typed: BTreeMap<&str, &str> = form.iter().collect();
            capacity_view(
                db,
                &actor,
                &ui,
                None,
                Status::UnprocessableEntity,
                minijinja::context! { hol_form => Serde(&typed), hol_errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/schedule/holidays/<id>/delete", data = "<_form>")]
async fn holiday_delete_page(id: i32, _form: CsrfForm, db: &State<Db>, actor: Actor, _ui: Ui<'_>) -> PageResult {
    let () = svc::remove_holiday(&actor, &db.0, id, chrono::Utc::now()).await?;
    Ok(Page::redirect("/schedule/capacity".to_owned()))
}
