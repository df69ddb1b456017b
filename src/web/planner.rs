//! The planner's proposal for a laboratory (/schedule/plan) with its weekly load chart,
//! accepting it as work orders, and the laboratory's capacity and holidays
//! (/schedule/capacity); `GET /api/v1/plan` for scripts.

use super::error::ApiResult;
use super::guards::{CsrfForm, QueryPairs};
use super::templates::Templates;
use super::{error_page, render, Chrome, Db, Page};
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
    templates: &State<Templates>,
    actor: Actor,
    chrome: Chrome,
    query: QueryPairs,
) -> Page {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let result = match plan_params(&q, chrome.today) {
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
            render(
                templates,
                "schedule/plan.html",
                &chrome,
                Status::Ok,
                minijinja::context! {
                    p => Serde(&p), weeks => weeks, max => max, rows => Serde(&rows),
                    offset => offset, next => offset + rows.len(), total => p.planned.len(),
                    typed => Serde(&q),
                },
            )
        }
        Err(e @ Error::Invalid { .. }) => render(
            templates,
            "schedule/plan.html",
            &chrome,
            Status::UnprocessableEntity,
            minijinja::context! { typed => Serde(&q), errors => Serde(e.field_messages()) },
        ),
        Err(e) => error_page(templates, &chrome, &e),
    }
}

#[post("/schedule/plan/accept", data = "<form>")]
async fn accept_page(
    form: CsrfForm,
    db: &State<Db>,
    caches: &State<crate::service::cache::Caches>,
    templates: &State<Templates>,
    actor: Actor,
    chrome: Chrome,
) -> Page {
    let q: BTreeMap<&str, &str> = form.iter().collect();
    let result = match plan_params(&q, chrome.today) {
        Ok((weeks, start, _)) => svc::accept(&actor, &db.0, &caches.plan, start, weeks, chrono::Utc::now()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Page::redirect("/work-orders".to_owned()),
        Err(e) => error_page(templates, &chrome, &e),
    }
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
) -> ApiResult<Json<serde_json::Value>> {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let (weeks, start, lab) = plan_params(&q, today.0)?;
    let value = if lab.is_none() && actor.oversees() {
        serde_json::to_value(&*svc::plan(&actor, &db.0, &caches.plan, start, weeks).await?)
    } else {
        serde_json::to_value(svc::lab_plan(&actor, &db.0, &caches.plan, lab, start, weeks).await?)
    };
    Ok(Json(value.map_err(|e| Error::Internal(e.to_string()))?))
}

async fn capacity_view(
    db: &Db,
    templates: &Templates,
    actor: &Actor,
    chrome: &Chrome,
    lab: Option<i32>,
    status: Status,
    extra: minijinja::Value,
) -> Page {
    match svc::capacity(actor, &db.0, lab, chrome.today).await {
        Ok(v) => render(
            templates,
            "schedule/capacity.html",
            chrome,
            status,
            minijinja::context! { v => Serde(&v), ..extra },
        ),
        Err(e) => error_page(templates, chrome, &e),
    }
}

#[get("/schedule/capacity?<lab>")]
async fn capacity_page(
    lab: Option<i32>,
    db: &State<Db>,
    templates: &State<Templates>,
    actor: Actor,
    chrome: Chrome,
) -> Page {
    capacity_view(db, templates, &actor, &chrome, lab, Status::Ok, minijinja::context! {}).await
}

#[post("/schedule/capacity", data = "<form>")]
async fn capacity_save_page(
    form: CsrfForm,
    db: &State<Db>,
    templates: &State<Templates>,
    actor: Actor,
    chrome: Chrome,
) -> Page {
    match svc::save_capacity(
        &actor,
        &db.0,
        form.get("category_code"),
        form.get("per_week"),
        chrono::Utc::now(),
    )
    .await
    {
        Ok(()) => Page::redirect("/schedule/capacity".to_owned()),
        Err(e @ Error::Invalid { .. }) => {
            let typed: BTreeMap<&str, &str> = form.iter().collect();
            capacity_view(
                db,
                templates,
                &actor,
                &chrome,
                None,
                Status::UnprocessableEntity,
                minijinja::context! { cap_form => Serde(&typed), cap_errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => error_page(templates, &chrome, &e),
    }
}

#[post("/schedule/holidays", data = "<form>")]
async fn holiday_add_page(
    form: CsrfForm,
    db: &State<Db>,
    templates: &State<Templates>,
    actor: Actor,
    chrome: Chrome,
) -> Page {
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
        Ok(_) => Page::redirect("/schedule/capacity".to_owned()),
        Err(e @ Error::Invalid { .. }) => {
            let typed: BTreeMap<&str, &str> = form.iter().collect();
            capacity_view(
                db,
                templates,
                &actor,
                &chrome,
                None,
                Status::UnprocessableEntity,
                minijinja::context! { hol_form => Serde(&typed), hol_errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => error_page(templates, &chrome, &e),
    }
}

#[post("/schedule/holidays/<id>/delete", data = "<_form>")]
async fn holiday_delete_page(
    id: i32,
    _form: CsrfForm,
    db: &State<Db>,
    templates: &State<Templates>,
    actor: Actor,
    chrome: Chrome,
) -> Page {
    match svc::remove_holiday(&actor, &db.0, id, chrono::Utc::now()).await {
        Ok(()) => Page::redirect("/schedule/capacity".to_owned()),
        Err(e) => error_page(templates, &chrome, &e),
    }
}
