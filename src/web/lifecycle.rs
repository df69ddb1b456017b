//! A standard's assessment lifecycle page (/standards/{id}/lifecycle): the renewal
//! window, the stability checks and repeatability tests, the logbook and the renewal
//! package's gaps; the same under /api/v1/standards/{id}/lifecycle.

use super::error::ApiResult;
use super::guards::CsrfForm;
use super::{Clock, Db, Page, PageResult, Ui};
use crate::service::lifecycle::{self as svc, CheckInput, LifecycleView};
use crate::service::Actor;
use crate::service::Error;
use minijinja::value::Serde;
use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use std::collections::BTreeMap;

pub fn page_routes() -> Vec<Route> {
    routes![lifecycle_page, check_page, logbook_page]
}

pub fn api_routes() -> Vec<Route> {
    routes![lifecycle_api, check_api, logbook_api]
}

async fn show(
    db: &Db,
    clock: &Clock,
    actor: &Actor,
    ui: &Ui<'_>,
    id: i32,
    status: Status,
    extra: minijinja::Value,
) -> PageResult {
    let v = svc::view(actor, &db.0, id, clock.today()).await?;
    Ok(ui.render(
        "standards/lifecycle.html",
        status,
        minijinja::context! { v => Serde(&v), ..extra },
    ))
}

#[get("/standards/<id>/lifecycle")]
async fn lifecycle_page(id: i32, db: &State<Db>, clock: &State<Clock>, actor: Actor, ui: Ui<'_>) -> PageResult {
    show(db, clock, &actor, &ui, id, Status::Ok, minijinja::context! {}).await
}

fn check_input(form: &CsrfForm) -> CheckInput {
    CheckInput {
        kind: form.get("kind").to_owned(),
        performed_on: form.get("performed_on").to_owned(),
        unit: form.get("unit").to_owned(),
        values: form.get("values").to_owned(),
        previous: form.get("previous").to_owned(),
        limit: form.get("limit").to_owned(),
        limit_source: form.get("limit_source").to_owned(),
    }
}

#[post("/standards/<id>/checks", data = "<form>")]
async fn check_page(
    id: i32,
    form: CsrfForm,
    db: &State<Db>,
    clock: &State<Clock>,
    actor: Actor,
    ui: Ui<'_>,
) -> PageResult {
    let input = check_input(&form);
    match svc::record_check(&actor, &db.0, id, &input, chrono::Utc::now()).await {
        Ok(_) => Ok(Page::redirect(format!("/standards/{id}/lifecycle"))),
        Err(e @ Error::Invalid { .. }) => {
            show(
                db,
                clock,
                &actor,
                &ui,
                id,
                Status::UnprocessableEntity,
                minijinja::context! { check => Serde(&input), check_errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/standards/<id>/logbook", data = "<form>")]
async fn logbook_page(
    id: i32,
    form: CsrfForm,
    db: &State<Db>,
    clock: &State<Clock>,
    actor: Actor,
    ui: Ui<'_>,
) -> PageResult {
    match svc::record_event(
        &actor,
        &db.0,
        id,
        form.get("kind"),
        form.get("occurred_on"),
        form.get("description"),
        chrono::Utc::now(),
    )
    .await
    {
        Ok(_) => Ok(Page::redirect(format!("/standards/{id}/lifecycle"))),
        Err(e @ Error::Invalid { .. }) => {
            let typed: BTreeMap<&str, &str> = form.iter().collect();
            show(
                db,
                clock,
                &actor,
                &ui,
                id,
                Status::UnprocessableEntity,
                minijinja::context! { event => Serde(&typed), event_errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// A standard's lifecycle on the day: renewal window and next reminder, checks with
/// their verdicts and whether they are overdue, logbook, and the renewal package's gaps.
#[utoipa::path(
    get, path = "/api/v1/standards/{id}/lifecycle", tag = "standards",
    params(("id" = i32, Path)),
    responses((status = 200, description = "the lifecycle"), (status = 404, description = "no such standard for the caller")),
    security(("bearer" = []))
)]
#[get("/standards/<id>/lifecycle")]
pub async fn lifecycle_api(
    id: i32,
    db: &State<Db>,
    clock: &State<Clock>,
    actor: Actor,
) -> ApiResult<Json<LifecycleView>> {
    Ok(Json(svc::view(&actor, &db.0, id, clock.today()).await?))
}

#[derive(serde::Serialize)]
pub struct Recorded {
    pub id: i32,
    pub passed: Option<bool>,
    /// `check.few_readings` for a repeatability test of fewer than ten readings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<&'static str>,
}

/// Records a stability check or repeatability test: `kind`, `performed_on`, `unit`,
/// `values`, `previous`, `limit` (with its unit), `limit_source`.
#[utoipa::path(
    post, path = "/api/v1/standards/{id}/checks", tag = "standards",
    params(("id" = i32, Path)),
    responses((status = 201, description = "recorded, with its verdict"), (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/standards/<id>/checks", data = "<data>")]
pub async fn check_api(id: i32, data: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<(Status, Json<Recorded>)> {
    let body = super::body::read_body(data).await?;
    let input: CheckInput = super::body::text_fields_from_json(&body, CheckInput::FIELDS, true)?;
    let c = svc::record_check(&actor, &db.0, id, &input, chrono::Utc::now()).await?;
    Ok((
        Status::Created,
        Json(Recorded {
            id: c.id,
            passed: Some(c.passed),
            warning: svc::warning_of(&c),
        }),
    ))
}

#[derive(Debug, Default)]
pub struct EventInput {
    kind: String,
    occurred_on: String,
    description: String,
}

impl crate::domain::TextFields for EventInput {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "kind" => &mut self.kind,
            "occurred_on" => &mut self.occurred_on,
            "description" => &mut self.description,
            _ => return None,
        })
    }
}

/// Records a change in the standard's logbook: `kind` (device, regulation, staff or
/// environment), `occurred_on`, `description`.
#[utoipa::path(
    post, path = "/api/v1/standards/{id}/logbook", tag = "standards",
    params(("id" = i32, Path)),
    responses((status = 201, description = "recorded"), (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/standards/<id>/logbook", data = "<data>")]
pub async fn logbook_api(id: i32, data: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<(Status, Json<Recorded>)> {
    let body = super::body::read_body(data).await?;
    let e: EventInput = super::body::text_fields_from_json(&body, &["kind", "occurred_on", "description"], false)?;
    let row = svc::record_event(
        &actor,
        &db.0,
        id,
        &e.kind,
        &e.occurred_on,
        &e.description,
        chrono::Utc::now(),
    )
    .await?;
    Ok((
        Status::Created,
        Json(Recorded {
            id: row.id,
            passed: None,
            warning: None,
        }),
    ))
}
