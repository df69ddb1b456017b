//! Recording results and signing them: the record form of a work order
//! (/work-orders/{id}/record), the record's page with its signature step
//! (/records/{id}), and the same under /api/v1.

use super::error::ApiResult;
use super::guards::{CsrfForm, Signing};
use super::{Db, Page, PageResult, Ui};
use crate::service::records::{self as svc, PointInput, RecordInput, RecordView, Signed};
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};

pub fn page_routes() -> Vec<Route> {
    routes![
        record_form_page,
        record_save_page,
        record_page,
        sign_page,
        correct_page,
        return_page,
        withdraw_page
    ]
}

pub fn api_routes() -> Vec<Route> {
    routes![
        record_api,
        record_view_api,
        sign_api,
        correct_api,
        return_api,
        withdraw_api,
        queues_api
    ]
}

/// Rows of points the form offers.
const FORM_POINTS: usize = 6;

fn input_from_form(form: &CsrfForm) -> RecordInput {
    let mut input = RecordInput {
        kind: form.get("kind").to_owned(),
        method: form.get("method").to_owned(),
        decision_rule: form.get("decision_rule").to_owned(),
        guard_multiple: form.get("guard_multiple").to_owned(),
        received_on: form.get("received_on").to_owned(),
        calibrated_on: form.get("calibrated_on").to_owned(),
        temperature: form.get("temperature").to_owned(),
        humidity: form.get("humidity").to_owned(),
        adjusted: matches!(form.get("adjusted"), "on" | "true" | "1"),
        interval_months: form.get("interval_months").to_owned(),
        cmc: form.get("cmc").to_owned(),
        standards: form
            .iter()
            .filter(|(k, _)| *k == "standards")
            .filter_map(|(_, v)| v.trim().parse().ok())
            .collect(),
        points: Vec::new(),
        condition_on_receipt: form.get("condition_on_receipt").to_owned(),
        on_site: matches!(form.get("on_site"), "on" | "true" | "1"),
    };
    for i in 0..FORM_POINTS {
        let g = |f: &str| form.get(&format!("p{i}_{f}")).to_owned();
        let p = PointInput {
            nominal: g("nominal"),
            reference: g("reference"),
            readings: g("readings"),
            u: g("u"),
            budget: g("budget"),
            k: g("k"),
            p: g("p"),
            mpe: g("mpe"),
            lower_limit: g("lower_limit"),
            upper_limit: g("upper_limit"),
            as_left: g("as_left"),
        };
        // An empty row is not a point.
        if !(p.nominal.trim().is_empty() && p.reference.trim().is_empty() && p.readings.trim().is_empty()) {
            input.points.push(p);
        }
    }
    input
}

async fn form_view(
    db: &Db,
    actor: &Actor,
    ui: &Ui<'_>,
    id: i32,
    status: Status,
    input: Option<&RecordInput>,
    errors: Option<std::collections::BTreeMap<String, String>>,
) -> PageResult {
    let w = crate::service::work_orders::get(actor, &db.0, id).await?;
    let standards = crate::service::work_orders::lab_standards(actor, &db.0, w.lab_id, &w.category_code).await?;
    let budgets = svc::budget_choices(actor, &db.0, w.lab_id).await?;
    Ok(ui.render(
        "records/form.html",
        status,
        minijinja::context! {
            w => Serde(&w), standards => Serde(&standards), input => Serde(input), errors => Serde(errors),
            rows => FORM_POINTS, budgets => Serde(&budgets),
        },
    ))
}

#[get("/work-orders/<id>/record")]
async fn record_form_page(id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    form_view(db, &actor, &ui, id, Status::Ok, None, None).await
}

#[post("/work-orders/<id>/record", data = "<form>")]
async fn record_save_page(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = input_from_form(&form);
    match svc::record(&actor, &db.0, id, &input, ui.today(), chrono::Utc::now()).await {
        Ok(r) => Ok(Page::redirect(format!("/records/{}", r.id))),
        Err(e @ Error::Invalid { .. }) => {
            let messages = e.field_messages();
            form_view(
                db,
                &actor,
                &ui,
                id,
                Status::UnprocessableEntity,
                Some(&input),
                Some(messages),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[get("/records/<id>")]
async fn record_page(id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let v = svc::view(&actor, &db.0, id).await?;
    Ok(ui.render(
        "records/record.html",
        Status::Ok,
        minijinja::context! { v => Serde(&v) },
    ))
}

#[post("/records/<id>/sign", data = "<form>")]
async fn sign_page(
    id: i32,
    form: CsrfForm,
    db: &State<Db>,
    actor: Actor,
    ui: Ui<'_>,
    signing: Signing<'_>,
) -> PageResult {
    match svc::sign(
        &actor,
        &db.0,
        signing.keys,
        id,
        form.get("password"),
        &signing.addr,
        signing.today,
        chrono::Utc::now(),
    )
    .await
    {
        Ok(s) => Ok(match s.certificate {
            Some(n) => Page::redirect(format!("/certificates/{n}")),
            None => Page::redirect(format!("/records/{id}")),
        }),
        Err(e @ Error::Invalid { .. }) => {
            let v = svc::view(&actor, &db.0, id).await?;
            Ok(ui.render(
                "records/record.html",
                Status::UnprocessableEntity,
                minijinja::context! { v => Serde(&v), errors => Serde(e.field_messages()) },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The record's page again, with what was refused and why.
async fn refused_page(db: &Db, actor: &Actor, ui: &Ui<'_>, id: i32, e: Error) -> PageResult {
    let v = svc::view(actor, &db.0, id).await?;
    Ok(ui.render(
        "records/record.html",
        Status::UnprocessableEntity,
        minijinja::context! { v => Serde(&v), errors => Serde(e.field_messages()) },
    ))
}

#[post("/records/<id>/return", data = "<form>")]
async fn return_page(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::return_to_technician(&actor, &db.0, id, form.get("reason"), chrono::Utc::now()).await {
        Ok(()) => Ok(Page::redirect(format!("/records/{id}"))),
        Err(e @ Error::Invalid { .. }) => refused_page(db, &actor, &ui, id, e).await,
        Err(e) => Err(e.into()),
    }
}

#[post("/records/<id>/withdraw", data = "<form>")]
async fn withdraw_page(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::withdraw(&actor, &db.0, id, form.get("reason"), chrono::Utc::now()).await {
        Ok(()) => Ok(Page::redirect(format!("/records/{id}"))),
        Err(e @ Error::Invalid { .. }) => refused_page(db, &actor, &ui, id, e).await,
        Err(e) => Err(e.into()),
    }
}

#[post("/records/<id>/points/<position>/readings", data = "<form>")]
async fn correct_page(id: i32, position: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::correct_readings(
        &actor,
        &db.0,
        id,
        position,
        form.get("readings"),
        form.get("reason"),
        chrono::Utc::now(),
    )
    .await
    {
        Ok(()) => Ok(Page::redirect(format!("/records/{id}"))),
        Err(e @ Error::Invalid { .. }) => {
            let v = svc::view(&actor, &db.0, id).await?;
            Ok(ui.render(
                "records/record.html",
                Status::UnprocessableEntity,
                minijinja::context! { v => Serde(&v), errors => Serde(e.field_messages()) },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Records a work order's results (the technician, while it is in calibration):
/// `kind`, `method`, `decision_rule`, `guard_multiple`, `received_on`, `calibrated_on`,
/// `temperature`, `humidity`, `adjusted`, `interval_months`, `cmc`, `standards` (ids) and
/// `points` (`nominal`, `reference`, `readings`, `u` or `budget` (a saved budget's id), `k`, `p`,
/// `mpe`, `as_left`), all
/// quantities with their units. 422 names each field, e.g. `points[0].nominal`.
#[utoipa::path(
    post, path = "/api/v1/work-orders/{id}/record", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 201, description = "recorded"), (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/work-orders/<id>/record", data = "<data>")]
pub async fn record_api(
    id: i32,
    data: Data<'_>,
    db: &State<Db>,
    actor: Actor,
    today: super::Today,
) -> ApiResult<(Status, Json<crate::service::records::Record>)> {
    let body = super::body::read_body(data).await?;
    let input: RecordInput = super::body::json_input(&body)?;
    Ok((
        Status::Created,
        Json(svc::record(&actor, &db.0, id, &input, today.0, chrono::Utc::now()).await?),
    ))
}

/// A record with its points, standards, corrections and signatures.
#[utoipa::path(
    get, path = "/api/v1/records/{id}", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 200, description = "the record"), (status = 404, description = "not one of the caller's laboratory")),
    security(("bearer" = []))
)]
#[get("/records/<id>")]
pub async fn record_view_api(id: i32, db: &State<Db>, actor: Actor) -> ApiResult<Json<RecordView>> {
    Ok(Json(svc::view(&actor, &db.0, id).await?))
}

#[derive(serde::Deserialize)]
struct SignBody {
    password: String,
}

/// Signs the record's next step with the signer's password: technician, then reviewer
/// (核验), then approver (批准), three different people; the approval issues the certificate.
#[utoipa::path(
    post, path = "/api/v1/records/{id}/sign", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 200, description = "signed; the certificate's number once approved"),
        (status = 403, description = "not this step's role, or a wrong password"),
        (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/records/<id>/sign", data = "<data>")]
pub async fn sign_api(
    id: i32,
    data: Data<'_>,
    db: &State<Db>,
    actor: Actor,
    signing: Signing<'_>,
) -> ApiResult<Json<Signed>> {
    let body = super::body::read_body(data).await?;
    let b: SignBody = super::body::json_input(&body)?;
    Ok(Json(
        svc::sign(
            &actor,
            &db.0,
            signing.keys,
            id,
            &b.password,
            &signing.addr,
            signing.today,
            chrono::Utc::now(),
        )
        .await?,
    ))
}

#[derive(serde::Deserialize)]
struct CorrectBody {
    readings: String,
    reason: String,
}

/// Corrects a point's readings before review; the original is kept with who, when and why.
#[utoipa::path(
    post, path = "/api/v1/records/{id}/points/{position}/readings", tag = "certificates",
    params(("id" = i32, Path), ("position" = i32, Path)),
    responses((status = 200, description = "corrected"), (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/records/<id>/points/<position>/readings", data = "<data>")]
pub async fn correct_api(id: i32, position: i32, data: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<Json<()>> {
    let body = super::body::read_body(data).await?;
    let b: CorrectBody = super::body::json_input(&body)?;
    svc::correct_readings(&actor, &db.0, id, position, &b.readings, &b.reason, chrono::Utc::now()).await?;
    Ok(Json(()))
}

#[derive(serde::Deserialize)]
struct ReasonBody {
    reason: String,
}

/// Returns a recorded or reviewed record to its technician (退回) with a `reason`: it
/// reopens as a draft, its signatures become void (kept in its history), and its work
/// order is back in calibration. A reviewer, or once reviewed the approver; never who
/// entered or corrected its results.
#[utoipa::path(
    post, path = "/api/v1/records/{id}/return", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 200, description = "returned"), (status = 403, description = "not a reviewer or approver of its laboratory"),
        (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/records/<id>/return", data = "<data>")]
pub async fn return_api(id: i32, data: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<Json<()>> {
    let body = super::body::read_body(data).await?;
    let b: ReasonBody = super::body::json_input(&body)?;
    svc::return_to_technician(&actor, &db.0, id, &b.reason, chrono::Utc::now()).await?;
    Ok(Json(()))
}

/// Withdraws a record that will not become a certificate (撤回), with a `reason`: a
/// scheduler or the institute's administrator. Its work order may then be cancelled.
#[utoipa::path(
    post, path = "/api/v1/records/{id}/withdraw", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 200, description = "withdrawn"), (status = 403, description = "not a scheduler or administrator of its laboratory"),
        (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/records/<id>/withdraw", data = "<data>")]
pub async fn withdraw_api(id: i32, data: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<Json<()>> {
    let body = super::body::read_body(data).await?;
    let b: ReasonBody = super::body::json_input(&body)?;
    svc::withdraw(&actor, &db.0, id, &b.reason, chrono::Utc::now()).await?;
    Ok(Json(()))
}

/// What waits for the caller, the longest waiting first: records to review, records to
/// approve, and records returned to the technicians.
#[utoipa::path(
    get, path = "/api/v1/queues", tag = "certificates",
    responses((status = 200, body = crate::service::records::Queue)),
    security(("bearer" = []))
)]
#[get("/queues")]
pub async fn queues_api(db: &State<Db>, actor: Actor) -> ApiResult<Json<crate::service::records::Queue>> {
    actor.require_login()?;
    Ok(Json(svc::queues(&actor, &db.0).await?))
}
