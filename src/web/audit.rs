//! The audit trail: a page for the regulator and admins, and /api/v1/audit.

use super::error::ApiResult;
use super::guards::QueryPairs;
use super::{Db, PageResult, Ui};
use crate::service::audit::{self as svc, AuditParams, EventPage};
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};

pub fn page_routes() -> Vec<Route> {
    routes![audit_page]
}

pub fn api_routes() -> Vec<Route> {
    routes![audit_api]
}

#[get("/audit")]
async fn audit_page(db: &State<Db>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> PageResult {
    let typed: std::collections::BTreeMap<&str, &str> = query.iter().collect();
    let result = match AuditParams::from_pairs(query.iter()) {
        Ok(p) => svc::list(&actor, &db.0, &p).await.map(|page| (p, page)),
        Err(e) => Err(e),
    };
    match result {
        Ok((params, page)) => {
            let prev = (page.page > 1).then(|| params.query_for_page(page.page - 1));
            let next = (page.page < page.pages).then(|| params.query_for_page(page.page + 1));
            Ok(ui.render(
                "audit/list.html",
                Status::Ok,
                minijinja::context! { page => Serde(page), typed => Serde(typed), prev => prev, next => next },
            ))
        }
        Err(e @ Error::Invalid { .. }) => {
            // Filters that could not be read are shown back with their errors, but
            // only to those who may read the trail at all.
            if let Err(denied) = svc::list(
                &actor,
                &db.0,
                &AuditParams {
                    page: 1,
                    per_page: 1,
                    ..Default::default()
                },
            )
            .await
            {
                return Err(denied.into());
            }
            Ok(ui.render(
                "audit/list.html",
                Status::UnprocessableEntity,
                minijinja::context! {
                    typed => Serde(typed), errors => Serde(e.field_messages()), codes => Serde(e.field_codes()),
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The audit trail, newest first. Filters: `action`, `entity_type`, `entity_id`,
/// `actor` (e-mail), `from` and `until` (dates, Asia/Shanghai), `page`, `per_page`.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit",
    params(
        ("action" = Option<String>, Query, description = "e.g. standard.update, login.failed"),
        ("entity_type" = Option<String>, Query, description = "standard, organisation, user, api_token, register"),
        ("entity_id" = Option<String>, Query),
        ("actor" = Option<String>, Query, description = "The actor's e-mail address"),
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD"),
        ("until" = Option<String>, Query, description = "Last day, YYYY-MM-DD"),
        ("page" = Option<u64>, Query),
        ("per_page" = Option<u64>, Query, description = "At most 200"),
    ),
    responses(
        (status = 200, body = EventPage),
        (status = 401, body = super::error::ErrorBody),
        (status = 403, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/audit")]
pub async fn audit_api(db: &State<Db>, actor: Actor, query: QueryPairs) -> ApiResult<Json<EventPage>> {
    let params = AuditParams::from_pairs(query.iter())?;
    Ok(Json(svc::list(&actor, &db.0, &params).await?))
}
