//! The register of standards: pages and /api/v1/standards.

use super::error::{ApiError, ApiResult};
use super::guards::{CsrfForm, QueryPairs};
use super::{Clock, Db, Page, PageResult, Ui};
use crate::domain::register::StandardInput;
use crate::service::budgets;
use crate::service::standards::{self as svc, DeviceView, ListParams, StandardPage, StandardView};
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::data::Data;
use rocket::http::Status;
use rocket::response::status::Created;
use rocket::serde::json::Json;
use rocket::{get, post, put, routes, Route, State};
use serde::Serialize;

pub fn page_routes() -> Vec<Route> {
    routes![list_page, detail_page, new_page, create_page, edit_page, update_page]
}

pub fn api_routes() -> Vec<Route> {
    routes![list_api, get_api, create_api, update_api]
}

/// A JSON object as a standard's input. Every value is text ("12.5 mm"); unknown
/// names and values of another type are field errors.
fn input_from_json(body: &str) -> Result<StandardInput, Error> {
    super::body::text_fields_from_json(body, StandardInput::FIELDS, false)
}

// ---------------------------------------------------------------- pages

#[get("/standards")]
async fn list_page(
    db: &State<Db>,
    clock: &State<Clock>,
    caches: &State<crate::service::cache::Caches>,
    actor: Actor,
    ui: Ui<'_>,
    query: QueryPairs,
) -> PageResult {
    let choices = svc::choices(&db.0).await?;
    let (params, result) = match ListParams::from_pairs(query.iter()) {
        Ok(p) => {
            let r = svc::list_cached(&actor, &db.0, &caches.register, &p, clock.today())
                .await
                .map(|c| c.page.clone());
            (p, r)
        }
        Err(e) => (ListParams::default(), Err(e)),
    };
    // Show what was typed even when it was refused.
    let typed: std::collections::BTreeMap<&str, &str> = query.iter().collect();
    let (page, status, errors, codes) = match result {
        Ok(page) => (Some(page), Status::Ok, Default::default(), Default::default()),
        Err(e @ Error::Invalid { .. }) => (None, Status::UnprocessableEntity, e.field_messages(), e.field_codes()),
        Err(e) => return Err(e.into()),
    };
    let links = page.as_ref().map(|p| {
        let prev = (p.page > 1).then(|| params.query_for_page(p.page - 1));
        let next = (p.page < p.pages).then(|| params.query_for_page(p.page + 1));
        minijinja::context! { prev => prev, next => next }
    });
    Ok(ui.render(
        "standards/list.html",
        status,
        minijinja::context! {
            page => Serde(page), params => Serde(params), typed => Serde(typed), errors => Serde(errors),
            codes => Serde(codes),
            choices => Serde(choices), links => links, may_edit => svc::may_edit(&actor, None),
        },
    ))
}

#[get("/standards/<id>")]
async fn detail_page(id: i32, db: &State<Db>, clock: &State<Clock>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let found = svc::get(&actor, &db.0, id, clock.today()).await;
    let history = match &found {
        Ok(_) => svc::history(&actor, &db.0, id).await,
        Err(_) => Ok(None),
    };
    let budgets = match &found {
        Ok(_) => budgets::of_standard(&actor, &db.0, id).await,
        Err(_) => Ok(None),
    };
    match (found, history, budgets) {
        (Ok((standard, devices)), Ok(history), Ok(budgets)) => {
            let owner = standard.owner.as_ref().map(|o| o.id);
            let may_edit = svc::may_edit(&actor, owner);
            let may_add_budget = owner.is_some_and(|o| budgets::may_write(&actor, o));
            let sees_lifecycle = owner.is_some_and(|o| actor.sees_organisation(o));
            Ok(ui.render(
                "standards/detail.html",
                Status::Ok,
                minijinja::context! {
                    s => Serde(standard), devices => Serde(devices), may_edit => may_edit, history => Serde(history),
                    budgets => Serde(budgets), may_add_budget => may_add_budget, sees_lifecycle => sees_lifecycle,
                },
            ))
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e.into()),
    }
}

/// What the create/edit form shows: the record's id (when editing), the input as
/// typed, and the error that sent it back.
struct Form<'a> {
    id: Option<i32>,
    input: &'a StandardInput,
    error: Option<&'a Error>,
}

async fn form_page(db: &Db, ui: &Ui<'_>, status: Status, form: Form<'_>) -> PageResult {
    let Form { id, input, error } = form;
    let choices = svc::choices(&db.0).await?;
    let errors = error.map(|e| e.field_messages()).unwrap_or_default();
    let codes = error.map(|e| e.field_codes()).unwrap_or_default();
    Ok(ui.render(
        "standards/form.html",
        status,
        minijinja::context! {
            id => id, input => Serde(input), errors => Serde(errors), codes => Serde(codes), choices => Serde(choices),
            message => error.map(|e| e.to_string()),
        },
    ))
}

#[get("/standards/new")]
async fn new_page(db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = svc::new_form(&actor, &db.0).await?;
    let form = Form {
        id: None,
        input: &input,
        error: None,
    };
    form_page(db, &ui, Status::Ok, form).await
}

#[post("/standards", data = "<form>")]
async fn create_page(form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = form.to_input::<StandardInput>();
    let saved = svc::create(&actor, &db.0, &input, chrono::Utc::now()).await;
    after_save(saved, None, &input, db, &ui).await
}

/// After a form post: to the record on success; back to the form, with the input as
/// typed and the field errors, when the input was refused; an error page otherwise.
async fn after_save(
    saved: Result<i32, Error>,
    id: Option<i32>,
    input: &StandardInput,
    db: &Db,
    ui: &Ui<'_>,
) -> PageResult {
    match saved {
        Ok(id) => Ok(Page::redirect(format!("/standards/{id}"))),
        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. } | Error::Refused { .. })) => {
            let status = super::error::status_of(&e);
            let form = Form {
                id,
                input,
                error: Some(&e),
            };
            form_page(db, ui, status, form).await
        }
        Err(e) => Err(e.into()),
    }
}

#[get("/standards/<id>/edit")]
async fn edit_page(id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = svc::edit_form(&actor, &db.0, id).await?;
    let form = Form {
        id: Some(id),
        input: &input,
        error: None,
    };
    form_page(db, &ui, Status::Ok, form).await
}

#[post("/standards/<id>", data = "<form>")]
async fn update_page(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = form.to_input::<StandardInput>();
    let saved = svc::update(&actor, &db.0, id, &input, chrono::Utc::now())
        .await
        .map(|()| id);
    after_save(saved, Some(id), &input, db, &ui).await
}

// ---------------------------------------------------------------- API

/// The query parameters of the register list.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// Full-text search over name, JJF 1022 code, certificate number and owner.
    q: Option<String>,
    /// GB/T 2260 code of the owner's city, e.g. 440100.
    city: Option<String>,
    /// A JJF 1022 code or its first 2, 4 or 6 digits, e.g. 04.
    category: Option<String>,
    /// The owner's id or unified social credit code.
    owner: Option<String>,
    /// national_primary, provincial_public, city_public, county_public, department_highest, enterprise_highest.
    level: Option<String>,
    /// in_service, suspended, expired, withdrawn. `expired` includes standards whose
    /// assessment certificate expired before today.
    status: Option<String>,
    /// Assessment certificates expiring between today and today + N days (0–3650).
    expiring_within_days: Option<u32>,
    /// name, cert_expires_on, category_code or updated_at; prefix with - to reverse.
    sort: Option<String>,
    /// Page number from 1.
    page: Option<u32>,
    /// Items per page, 1–200 (default 50).
    per_page: Option<u32>,
}

/// A standard as submitted. Every value is a string; quantities carry their unit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct StandardInputDoc {
    #[schema(example = "量块标准装置")]
    name_zh: String,
    #[schema(example = "Gauge block standard")]
    name_en: Option<String>,
    /// JJF 1022-2014 code, 8 digits.
    #[schema(example = "01219000")]
    category_code: String,
    /// The owner's unified social credit code. An institute admin's standards always
    /// belong to their own organisation, whatever this says.
    owner: String,
    #[schema(example = "city_public")]
    level: String,
    /// Assessment certificate number.
    cert_no: String,
    cert_authority: String,
    #[schema(example = "2024-03-01")]
    cert_issued_on: String,
    #[schema(example = "2028-02-29")]
    cert_expires_on: String,
    #[schema(example = "in_service")]
    status: Option<String>,
    /// The kind of quantity measured, e.g. length, temperature, pressure.
    #[schema(example = "length")]
    quantity: String,
    #[schema(example = "0.5 mm")]
    range_min: String,
    #[schema(example = "100 mm")]
    range_max: String,
    /// uncertainty, accuracy_class or mpe.
    #[schema(example = "uncertainty")]
    accuracy_kind: String,
    #[schema(example = "0.05 µm")]
    accuracy: String,
    #[schema(example = "JJG 146-2011")]
    regulations: Option<String>,
    responsible_person: String,
}

/// A standard with its devices.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StandardDetail {
    pub standard: StandardView,
    pub devices: Vec<DeviceView>,
}

/// List the register, filtered, sorted and paginated.
#[utoipa::path(
    get, path = "/api/v1/standards", tag = "standards",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of standards and the total count", body = StandardPage),
        (status = 422, description = "An unknown filter or a malformed value; `fields` names it", body = super::error::ErrorBody),
    )
)]
#[get("/standards")]
pub async fn list_api(
    db: &State<Db>,
    clock: &State<Clock>,
    caches: &State<crate::service::cache::Caches>,
    actor: Actor,
    query: QueryPairs,
) -> ApiResult<JsonBytes> {
    let params = ListParams::from_pairs(query.iter())?;
    let page = svc::list_cached(&actor, &db.0, &caches.register, &params, clock.today()).await?;
    Ok(JsonBytes(page.json.clone()))
}

/// JSON already serialised (a cached page), sent without copying.
pub struct JsonBytes(pub std::sync::Arc<[u8]>);

impl<'r> rocket::response::Responder<'r, 'static> for JsonBytes {
    fn respond_to(self, _: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        rocket::Response::build()
            .header(rocket::http::ContentType::JSON)
            .sized_body(self.0.len(), std::io::Cursor::new(self.0))
            .ok()
    }
}

/// One standard with its devices.
#[utoipa::path(
    get, path = "/api/v1/standards/{id}", tag = "standards",
    params(("id" = i32, Path, description = "The standard's id")),
    responses(
        (status = 200, body = StandardDetail),
        (status = 404, body = super::error::ErrorBody),
    )
)]
#[get("/standards/<id>")]
pub async fn get_api(id: i32, db: &State<Db>, clock: &State<Clock>, actor: Actor) -> ApiResult<Json<StandardDetail>> {
    let (standard, devices) = svc::get(&actor, &db.0, id, clock.today()).await?;
    Ok(Json(StandardDetail { standard, devices }))
}

/// Add a standard. Every field is text; quantities carry their unit ("12.5 mm").
#[utoipa::path(
    post, path = "/api/v1/standards", tag = "standards",
    request_body = StandardInputDoc,
    responses(
        (status = 201, description = "Created; Location names the new standard", body = StandardView),
        (status = 401, description = "No token, or a token that is not valid", body = super::error::ErrorBody),
        (status = 403, description = "Only the regulator, system admins and institute admins (for their own organisation) add standards", body = super::error::ErrorBody),
        (status = 409, description = "The certificate number is taken", body = super::error::ErrorBody),
        (status = 422, description = "Field errors", body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/standards", data = "<data>")]
pub async fn create_api(
    data: Data<'_>,
    db: &State<Db>,
    clock: &State<Clock>,
    actor: Actor,
) -> ApiResult<Created<Json<StandardView>>> {
    let input = input_from_json(&super::body::read_body(data).await?)?;
    let id = svc::create(&actor, &db.0, &input, chrono::Utc::now()).await?;
    let (view, _) = svc::get(&actor, &db.0, id, clock.today()).await?;
    Ok(Created::new(format!("/api/v1/standards/{id}")).body(Json(view)))
}

/// Replace a standard's fields.
#[utoipa::path(
    put, path = "/api/v1/standards/{id}", tag = "standards",
    params(("id" = i32, Path, description = "The standard's id")),
    request_body = StandardInputDoc,
    responses(
        (status = 200, body = StandardView),
        (status = 401, body = super::error::ErrorBody),
        (status = 403, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[put("/standards/<id>", data = "<data>")]
pub async fn update_api(
    id: i32,
    data: Data<'_>,
    db: &State<Db>,
    clock: &State<Clock>,
    actor: Actor,
) -> ApiResult<Json<StandardView>> {
    let input = input_from_json(&super::body::read_body(data).await?)?;
    svc::update(&actor, &db.0, id, &input, chrono::Utc::now()).await?;
    let (view, _) = svc::get(&actor, &db.0, id, clock.today()).await.map_err(ApiError)?;
    Ok(Json(view))
}
