//! A laboratory's CMC table: /organisations/{id}/cmc and /api/v1/organisations/{id}/cmc.

use super::error::ApiResult;
use super::guards::CsrfForm;
use super::{Db, Page, PageResult, Ui};
use crate::service::cmc::{self as svc, CmcInput, CmcLineView, CmcView};
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, routes, Route, State};
use std::collections::BTreeMap;

pub fn page_routes() -> Vec<Route> {
    routes![cmc_page, cmc_add_page, cmc_remove_page, cmc_rounding_page]
}

pub fn api_routes() -> Vec<Route> {
    routes![cmc_api, cmc_add_api, cmc_remove_api, cmc_rounding_api]
}

async fn view(
    db: &Db,
    actor: &Actor,
    ui: &Ui<'_>,
    lab: i32,
    status: Status,
    form: Option<BTreeMap<&str, &str>>,
    errors: Option<BTreeMap<String, String>>,
) -> PageResult {
    let v = svc::list(actor, &db.0, lab).await?;
    Ok(ui.render(
        "organisations/cmc.html",
        status,
        minijinja::context! { v => Serde(&v), form => Serde(form), errors => Serde(errors) },
    ))
}

#[get("/organisations/<id>/cmc")]
async fn cmc_page(id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    view(db, &actor, &ui, id, Status::Ok, None, None).await
}

fn input_of(form: &CsrfForm) -> CmcInput {
    CmcInput {
        quantity: form.get("quantity").to_owned(),
        range_min: form.get("range_min").to_owned(),
        range_max: form.get("range_max").to_owned(),
        cmc: form.get("cmc").to_owned(),
        cmc_relative: form.get("cmc_relative").to_owned(),
        method: form.get("method").to_owned(),
    }
}

#[post("/organisations/<id>/cmc", data = "<form>")]
async fn cmc_add_page(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::add(&actor, &db.0, id, &input_of(&form), chrono::Utc::now()).await {
        Ok(_) => Ok(Page::redirect(format!("/organisations/{id}/cmc"))),
        Err(e @ Error::Invalid { .. }) => {
            let typed: BTreeMap<&str, &str> = form.iter().collect();
            view(
                db,
                &actor,
                &ui,
                id,
                Status::UnprocessableEntity,
                Some(typed),
                Some(e.field_messages()),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/organisations/<id>/cmc/rounding", data = "<form>")]
async fn cmc_rounding_page(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::set_rounding(&actor, &db.0, id, form.get("u_rounding"), chrono::Utc::now()).await {
        Ok(()) => Ok(Page::redirect(format!("/organisations/{id}/cmc"))),
        Err(e @ Error::Invalid { .. }) => {
            view(
                db,
                &actor,
                &ui,
                id,
                Status::UnprocessableEntity,
                None,
                Some(e.field_messages()),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/organisations/<id>/cmc/<line>/delete", data = "<_form>")]
async fn cmc_remove_page(id: i32, line: i32, _form: CsrfForm, db: &State<Db>, actor: Actor, _ui: Ui<'_>) -> PageResult {
    let () = svc::remove(&actor, &db.0, id, line, chrono::Utc::now()).await?;
    Ok(Page::redirect(format!("/organisations/{id}/cmc")))
}

/// A laboratory's CMC table, range by range.
#[utoipa::path(
    get, path = "/api/v1/organisations/{id}/cmc", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 200, description = "the laboratory's CMC lines"), (status = 404, description = "no such laboratory")),
    security(("bearer" = []))
)]
#[get("/organisations/<id>/cmc")]
pub async fn cmc_api(id: i32, db: &State<Db>, actor: Actor) -> ApiResult<Json<CmcView>> {
    Ok(Json(svc::list(&actor, &db.0, id).await?))
}

/// Adds a CMC line: `quantity`, `range_min`, `range_max` (with units), `cmc` (an expanded
/// uncertainty with its unit), `cmc_relative` (optional: "0.5 ppm") and `method`.
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/cmc", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 201, description = "added"), (status = 403, description = "not the laboratory's admin or approver"),
        (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/organisations/<id>/cmc", data = "<data>")]
pub async fn cmc_add_api(
    id: i32,
    data: Data<'_>,
    db: &State<Db>,
    actor: Actor,
) -> ApiResult<(Status, Json<CmcLineView>)> {
    let body = super::body::read_body(data).await?;
    let input: CmcInput = super::body::json_input(&body)?;
    Ok((
        Status::Created,
        Json(svc::add(&actor, &db.0, id, &input, chrono::Utc::now()).await?),
    ))
}

#[derive(serde::Deserialize)]
struct RoundingBody {
    u_rounding: String,
}

/// Sets how the laboratory rounds the U it reports: `u_rounding` is `half_even`
/// (GB/T 8170, the default) or `up`.
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/cmc/rounding", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 204, description = "set"), (status = 403, description = "not the laboratory's admin or approver"),
        (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/organisations/<id>/cmc/rounding", data = "<data>")]
pub async fn cmc_rounding_api(id: i32, data: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<Status> {
    let body = super::body::read_body(data).await?;
    let b: RoundingBody = super::body::json_input(&body)?;
    svc::set_rounding(&actor, &db.0, id, &b.u_rounding, chrono::Utc::now()).await?;
    Ok(Status::NoContent)
}

/// Removes a CMC line; records already made keep the floor they were made with.
#[utoipa::path(
    delete, path = "/api/v1/organisations/{id}/cmc/{line}", tag = "certificates",
    params(("id" = i32, Path), ("line" = i32, Path)),
    responses((status = 204, description = "removed"), (status = 404, description = "no such line")),
    security(("bearer" = []))
)]
#[delete("/organisations/<id>/cmc/<line>")]
pub async fn cmc_remove_api(id: i32, line: i32, db: &State<Db>, actor: Actor) -> ApiResult<Status> {
    svc::remove(&actor, &db.0, id, line, chrono::Utc::now()).await?;
    Ok(Status::NoContent)
}
