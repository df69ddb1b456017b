//! The province dashboard.

use super::error::ApiResult;
use super::templates::Templates;
use super::{error_page, render, Chrome, Clock, Db, Page};
use crate::service::dashboard::{self as svc, Dashboard};
use crate::service::Actor;
use minijinja::value::Serde;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};

pub fn routes() -> Vec<Route> {
    routes![dashboard_page]
}

pub fn api_routes() -> Vec<Route> {
    routes![dashboard_api]
}

#[get("/")]
async fn dashboard_page(
    db: &State<Db>,
    templates: &State<Templates>,
    clock: &State<Clock>,
    actor: Actor,
    chrome: Chrome,
) -> Page {
    match svc::province(&actor, &db.0, clock.today()).await {
        Ok(d) => render(
            templates,
            "dashboard.html",
            &chrome,
            Status::Ok,
            minijinja::context! { d => Serde(d) },
        ),
        Err(e) => error_page(templates, &chrome, &e),
    }
}

/// The province dashboard: counts by city and discipline, progress toward the target,
/// certificates expiring within 6 months and already expired.
#[utoipa::path(
    get, path = "/api/v1/dashboard", tag = "dashboard",
    responses((status = 200, body = Dashboard))
)]
#[get("/dashboard")]
pub async fn dashboard_api(db: &State<Db>, clock: &State<Clock>, actor: Actor) -> ApiResult<Json<Dashboard>> {
    Ok(Json(svc::province(&actor, &db.0, clock.today()).await?))
}
