//! The province dashboard.

use super::error::ApiResult;
use super::{Clock, Db, PageResult, Ui};
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
async fn dashboard_page(db: &State<Db>, clock: &State<Clock>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let d = svc::province(&actor, &db.0, clock.today()).await?;
    let queue = crate::service::records::queues(&actor, &db.0).await?;
    Ok(ui.render(
        "dashboard.html",
        Status::Ok,
        minijinja::context! { d => Serde(d), queue => Serde(queue) },
    ))
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
