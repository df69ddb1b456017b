//! Work orders: the laboratory's list and the moves of each order (/work-orders), and
//! the same for scripts under /api/v1/work-orders.

use super::error::ApiResult;
use super::guards::{CsrfForm, QueryPairs};
use super::templates::Lang;
use super::{Db, Page, PageResult, Ui};
use crate::service::work_orders::{self as svc, WorkOrderList};
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use std::collections::BTreeMap;

pub fn page_routes() -> Vec<Route> {
    routes![list_page, create_page, move_page]
}

pub fn api_routes() -> Vec<Route> {
    routes![list_api, create_api, move_api]
}

const PAGE: u64 = 50;

async fn list_of(actor: &Actor, db: &Db, q: &BTreeMap<&str, &str>, zh: bool) -> Result<WorkOrderList, Error> {
    let offset = match q.get("offset").filter(|s| !s.is_empty()) {
        None => 0,
        Some(o) => crate::domain::list_position("offset", o, 0).map_err(|e| Error::invalid(vec![e]))?,
    };
    let limit = match q.get("limit").filter(|s| !s.is_empty()) {
        None => PAGE,
        Some(o) => o
            .parse()
            .map_err(|_| Error::field("limit", "field.number", "a whole number"))?,
    };
    svc::list(
        actor,
        &db.0,
        q.get("side").copied().unwrap_or(""),
        q.get("status").copied(),
        offset,
        limit,
        zh,
    )
    .await
}

async fn list_view(
    db: &Db,
    actor: &Actor,
    ui: &Ui<'_>,
    q: &BTreeMap<&str, &str>,
    status: Status,
    extra: minijinja::Value,
) -> PageResult {
    match list_of(actor, db, q, ui.chrome.lang == Lang::Zh).await {
        Ok(l) => Ok(ui.render(
            "schedule/work_orders.html",
            status,
            minijinja::context! {
                l => Serde(&l), typed => Serde(q), next => l.offset + l.orders.len() as u64,
                may_create => l.may_create, ..extra
            },
        )),
        Err(e @ Error::Invalid { .. }) => Ok(ui.render(
            "schedule/work_orders.html",
            Status::UnprocessableEntity,
            minijinja::context! { typed => Serde(q), errors => Serde(e.field_messages()) },
        )),
        Err(e) => Err(e.into()),
    }
}

#[get("/work-orders")]
async fn list_page(db: &State<Db>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> PageResult {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    list_view(db, &actor, &ui, &q, Status::Ok, minijinja::context! {}).await
}

#[post("/work-orders", data = "<form>")]
async fn create_page(form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::create(
        &actor,
        &db.0,
        form.get("item_kind"),
        form.get("item_id"),
        form.get("planned_on"),
        chrono::Utc::now(),
    )
    .await
    {
        Ok(_) => Ok(Page::redirect("/work-orders".to_owned())),
        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. })) => {
            let typed: BTreeMap<&str, &str> = form.iter().collect();
            list_view(
                db,
                &actor,
                &ui,
                &BTreeMap::new(),
                Status::UnprocessableEntity,
                minijinja::context! { new_form => Serde(&typed), new_errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/work-orders/<id>/move", data = "<form>")]
async fn move_page(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::move_to(
        &actor,
        &db.0,
        id,
        form.get("status"),
        form.get("note"),
        chrono::Utc::now(),
    )
    .await
    {
        Ok(_) => Ok(Page::redirect("/work-orders".to_owned())),
        Err(e @ Error::Invalid { .. }) => {
            list_view(
                db,
                &actor,
                &ui,
                &BTreeMap::new(),
                Status::UnprocessableEntity,
                minijinja::context! { move_id => id, move_errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The caller's laboratory's open work orders (`side=lab`), or those for their
/// organisation's items (`side=holder`); `status` narrows to one state.
#[utoipa::path(
    get, path = "/api/v1/work-orders", tag = "schedule",
    params(
        ("side" = Option<String>, Query, description = "lab (default) or holder"),
        ("status" = Option<String>, Query, description = "open (default), planned, received, in_calibration, awaiting_review, completed or cancelled"),
        ("offset" = Option<u64>, Query), ("limit" = Option<u64>, Query, description = "at most 200"),
    ),
    responses((status = 200, description = "the list"), (status = 422, description = "a parameter is invalid, named")),
    security(("bearer" = []))
)]
#[get("/work-orders")]
pub async fn list_api(db: &State<Db>, actor: Actor, query: QueryPairs) -> ApiResult<Json<WorkOrderList>> {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    Ok(Json(list_of(&actor, db, &q, false).await?))
}

/// A work order's fields as sent (ids may come as numbers).
#[derive(Debug, Default)]
pub struct NewWorkOrder {
    pub item_kind: String,
    pub item_id: String,
    pub planned_on: String,
}

impl crate::domain::TextFields for NewWorkOrder {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        match name {
            "item_kind" => Some(&mut self.item_kind),
            "item_id" => Some(&mut self.item_id),
            "planned_on" => Some(&mut self.planned_on),
            _ => None,
        }
    }
}

/// Opens a work order at the caller's laboratory for a due item: `item_kind` (standard,
/// device or instrument), `item_id`, `planned_on` (YYYY-MM-DD).
#[utoipa::path(
    post, path = "/api/v1/work-orders", tag = "schedule",
    responses((status = 201, description = "created"), (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/work-orders", data = "<data>")]
pub async fn create_api(data: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<(Status, Json<svc::WorkOrder>)> {
    let body = super::body::read_body(data).await?;
    let b: NewWorkOrder = super::body::text_fields_from_json(&body, &["item_kind", "item_id", "planned_on"], true)?;
    let w = svc::create(
        &actor,
        &db.0,
        &b.item_kind,
        &b.item_id,
        &b.planned_on,
        chrono::Utc::now(),
    )
    .await?;
    Ok((Status::Created, Json(w)))
}

/// A move as sent.
#[derive(Debug, Default)]
pub struct Move {
    pub status: String,
    pub note: String,
}

impl crate::domain::TextFields for Move {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        match name {
            "status" => Some(&mut self.status),
            "note" => Some(&mut self.note),
            _ => None,
        }
    }
}

/// Moves a work order one step on (planned → received → in_calibration →
/// awaiting_review → completed), or cancels it with a reason: `status`, `note`.
#[utoipa::path(
    post, path = "/api/v1/work-orders/{id}/status", tag = "schedule",
    params(("id" = i32, Path)),
    responses((status = 200, description = "moved"), (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/work-orders/<id>/status", data = "<data>")]
pub async fn move_api(id: i32, data: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<Json<svc::WorkOrder>> {
    let body = super::body::read_body(data).await?;
    let b: Move = super::body::text_fields_from_json(&body, &["status", "note"], false)?;
    Ok(Json(
        svc::move_to(&actor, &db.0, id, &b.status, &b.note, chrono::Utc::now()).await?,
    ))
}
