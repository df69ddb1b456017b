//! Interval proposals and their approval (/schedule/intervals), and the same under
//! /api/v1/interval-proposals.

use super::error::ApiResult;
use super::guards::CsrfForm;
use super::{Db, Page, PageResult, Ui};
use crate::service::intervals::{self as svc, ProposalList};
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use std::collections::BTreeMap;

pub fn page_routes() -> Vec<Route> {
    routes![list_page, propose_page, decide_page]
}

pub fn api_routes() -> Vec<Route> {
    routes![list_api, propose_api, decide_api]
}

async fn list_view(db: &Db, actor: &Actor, ui: &Ui<'_>, status: Status, extra: minijinja::Value) -> PageResult {
    let l = svc::list(actor, &db.0).await?;
    Ok(ui.render(
        "schedule/intervals.html",
        status,
        minijinja::context! { l => Serde(&l), ..extra },
    ))
}

#[get("/schedule/intervals")]
async fn list_page(db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    list_view(db, &actor, &ui, Status::Ok, minijinja::context! {}).await
}

async fn propose(
    actor: &Actor,
    db: &Db,
    f: &BTreeMap<&str, &str>,
    given: &svc::ProposalParameters,
) -> Result<svc::IntervalProposal, Error> {
    let get = |k: &str| f.get(k).copied().unwrap_or("");
    match get("scope") {
        "item" => {
            svc::propose_item(
                actor,
                &db.0,
                get("item_kind"),
                get("item_id"),
                given,
                chrono::Utc::now(),
            )
            .await
        }
        "group" => {
            svc::propose_group(
                actor,
                &db.0,
                get("category_code"),
                get("method"),
                given,
                chrono::Utc::now(),
            )
            .await
        }
        _ => Err(Error::field("scope", "interval.scope_invalid", "item or group")),
    }
}

#[post("/schedule/intervals", data = "<form>")]
async fn propose_page(form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let typed: BTreeMap<&str, &str> = form.iter().collect();
    match propose(&actor, db, &typed, &svc::ProposalParameters::default()).await {
        Ok(_) => Ok(Page::redirect("/schedule/intervals".to_owned())),
        Err(e @ Error::Invalid { .. }) => {
            list_view(
                db,
                &actor,
                &ui,
                Status::UnprocessableEntity,
                minijinja::context! { typed => Serde(&typed), errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/schedule/intervals/<id>/decision", data = "<form>")]
async fn decide_page(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::decide(&actor, &db.0, id, form.get("decision"), chrono::Utc::now()).await {
        Ok(_) => Ok(Page::redirect("/schedule/intervals".to_owned())),
        Err(e @ Error::Invalid { .. }) => {
            list_view(
                db,
                &actor,
                &ui,
                Status::UnprocessableEntity,
                minijinja::context! { decision_id => id, errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The caller's organisation's interval proposals, newest first.
#[utoipa::path(
    get, path = "/api/v1/interval-proposals", tag = "schedule",
    responses((status = 200, description = "the proposals")),
    security(("bearer" = []))
)]
#[get("/interval-proposals")]
pub async fn list_api(db: &State<Db>, actor: Actor) -> ApiResult<Json<ProposalList>> {
    Ok(Json(svc::list(&actor, &db.0).await?))
}

#[derive(Debug, Default)]
pub struct ProposeInput {
    scope: String,
    item_kind: String,
    item_id: String,
    category_code: String,
    method: String,
}

impl crate::domain::TextFields for ProposeInput {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "scope" => &mut self.scope,
            "item_kind" => &mut self.item_kind,
            "item_id" => &mut self.item_id,
            "category_code" => &mut self.category_code,
            "method" => &mut self.method,
            _ => return None,
        })
    }
}

/// The names of a proposal's method settings, as `POST /api/v1/intervals/analyse` takes
/// them.
const PARAMETER_FIELDS: &[&str] = &[
    "parameters",
    "reliability_target",
    "confidence",
    "max_change_factor",
    "min_interval_days",
    "max_interval_days",
    "rejection_confidence",
];

/// Proposes an interval: `scope` item (`item_kind`, `item_id`; the staircase) or group
/// (`category_code`, `method` a3 or s2; pooled over the province). It applies only once
/// someone else approves it. The methods take the calculator's settings: the staircase's
/// `parameters` {`extend_threshold`, `extend_factor`, `shorten_factor`, `min_months`,
/// `max_months`, `rounding`} over the organisation's own; A3's `reliability_target`,
/// `confidence`, `max_change_factor`, `min_interval_days`, `max_interval_days`; S2's
/// `reliability_target` and `rejection_confidence`.
#[utoipa::path(
    post, path = "/api/v1/interval-proposals", tag = "schedule",
    responses((status = 201, description = "proposed, pending approval"), (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/interval-proposals", data = "<data>")]
pub async fn propose_api(
    data: Data<'_>,
    db: &State<Db>,
    actor: Actor,
) -> ApiResult<(Status, Json<svc::IntervalProposal>)> {
    let body = super::body::read_body(data).await?;
    // The method settings are numbers and an object; the rest are text fields.
    let (body, given) = match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut map)) => {
            let settings: serde_json::Map<String, serde_json::Value> = PARAMETER_FIELDS
                .iter()
                .filter_map(|k| map.remove(*k).map(|v| ((*k).to_owned(), v)))
                .collect();
            let given: svc::ProposalParameters =
                super::body::json_input(&serde_json::Value::Object(settings).to_string())?;
            (serde_json::Value::Object(map).to_string(), given)
        }
        _ => (body, svc::ProposalParameters::default()),
    };
    let i: ProposeInput = super::body::text_fields_from_json(
        &body,
        &["scope", "item_kind", "item_id", "category_code", "method"],
        true,
    )?;
    let f: BTreeMap<&str, &str> = [
        ("scope", i.scope.as_str()),
        ("item_kind", i.item_kind.as_str()),
        ("item_id", i.item_id.as_str()),
        ("category_code", i.category_code.as_str()),
        ("method", i.method.as_str()),
    ]
    .into_iter()
    .collect();
    Ok((Status::Created, Json(propose(&actor, db, &f, &given).await?)))
}

#[derive(Debug, Default)]
pub struct DecisionInput {
    decision: String,
}

impl crate::domain::TextFields for DecisionInput {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        (name == "decision").then_some(&mut self.decision)
    }
}

/// Approves or rejects a proposal: `decision` approve or reject.
#[utoipa::path(
    post, path = "/api/v1/interval-proposals/{id}/decision", tag = "schedule",
    params(("id" = i32, Path)),
    responses((status = 200, description = "decided"), (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/interval-proposals/<id>/decision", data = "<data>")]
pub async fn decide_api(
    id: i32,
    data: Data<'_>,
    db: &State<Db>,
    actor: Actor,
) -> ApiResult<Json<svc::IntervalProposal>> {
    let body = super::body::read_body(data).await?;
    let d: DecisionInput = super::body::text_fields_from_json(&body, &["decision"], false)?;
    Ok(Json(
        svc::decide(&actor, &db.0, id, &d.decision, chrono::Utc::now()).await?,
    ))
}
