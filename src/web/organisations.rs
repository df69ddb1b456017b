//! Organisations and their staff: pages and /api/v1/organisations.

use super::error::ApiResult;
use super::guards::{CsrfForm, QueryPairs};
use super::{Db, Page, PageResult, Ui};
use crate::domain::register::{OrgKind, OrganisationInput};
use crate::service::organisations::{self as svc, OrganisationDetail};
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};

pub fn page_routes() -> Vec<Route> {
    routes![
        list_page,
        detail_page,
        new_page,
        create_page,
        edit_page,
        update_page,
        add_user,
        disable_user
    ]
}

pub fn api_routes() -> Vec<Route> {
    routes![get_api]
}

#[get("/organisations")]
async fn list_page(db: &State<Db>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> PageResult {
    let get = |k: &str| query.iter().find(|(n, _)| *n == k).map(|(_, v)| v).unwrap_or("");
    let page = match get("page") {
        "" => 1,
        typed => match crate::domain::list_position("page", typed, 1) {
            Ok(p) => p,
            Err(e) => return Err(crate::service::Error::invalid(vec![e]).into()),
        },
    };
    let list = svc::list(&actor, &db.0, get("kind"), get("q"), page).await?;
    let kinds: Vec<_> = OrgKind::ALL
        .iter()
        .map(|k| minijinja::context! { value => k.as_str(), name_zh => k.name_zh(), name_en => k.name_en() })
        .collect();
    Ok(ui.render(
        "organisations/list.html",
        Status::Ok,
        minijinja::context! {
            list => Serde(list), kinds => kinds, kind => get("kind"), q => get("q"),
        },
    ))
}

/// The detail page, with what the last action produced.
async fn detail(db: &Db, actor: &Actor, ui: &Ui<'_>, id: i32, status: Status, extra: minijinja::Value) -> PageResult {
    let d = svc::get(actor, &db.0, id).await?;
    Ok(ui.render(
        "organisations/detail.html",
        status,
        minijinja::context! { d => Serde(d), ..extra },
    ))
}

#[get("/organisations/<id>")]
async fn detail_page(id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    detail(db, &actor, &ui, id, Status::Ok, minijinja::context! {}).await
}

/// The create/edit form with the input as typed and the error that sent it back.
async fn form_page(
    db: &Db,
    ui: &Ui<'_>,
    status: Status,
    id: Option<i32>,
    input: &OrganisationInput,
    error: Option<&Error>,
) -> PageResult {
    let cities = match crate::service::standards::choices(&db.0).await {
        Ok(c) => c.cities,
        Err(e) => return Err(e.into()),
    };
    let kinds: Vec<_> = OrgKind::ALL
        .iter()
        .map(|k| minijinja::context! { value => k.as_str(), name_zh => k.name_zh(), name_en => k.name_en() })
        .collect();
    Ok(ui.render(
        "organisations/form.html",
        status,
        minijinja::context! {
            id => id, input => Serde(input), kinds => kinds, cities => Serde(cities),
            errors => Serde(error.map(|e| e.field_messages()).unwrap_or_default()),
            codes => Serde(error.map(|e| e.field_codes()).unwrap_or_default()),
            message => error.map(|e| e.to_string()),
        },
    ))
}

/// After a form post: to the record, back to the form with field errors, or an error page.
async fn after_save(
    saved: Result<i32, Error>,
    id: Option<i32>,
    input: &OrganisationInput,
    db: &Db,
    ui: &Ui<'_>,
) -> PageResult {
    match saved {
        Ok(id) => Ok(Page::redirect(format!("/organisations/{id}"))),
        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. })) => {
            let status = super::error::status_of(&e);
            form_page(db, ui, status, id, input, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[get("/organisations/new")]
async fn new_page(db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = svc::new_form(&actor)?;
    form_page(db, &ui, Status::Ok, None, &input, None).await
}

#[post("/organisations", data = "<form>")]
async fn create_page(form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = form.to_input::<OrganisationInput>();
    let saved = svc::create(&actor, &db.0, &input, chrono::Utc::now()).await;
    after_save(saved, None, &input, db, &ui).await
}

#[get("/organisations/<id>/edit")]
async fn edit_page(id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = svc::edit_form(&actor, &db.0, id).await?;
    form_page(db, &ui, Status::Ok, Some(id), &input, None).await
}

#[post("/organisations/<id>", data = "<form>")]
async fn update_page(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = form.to_input::<OrganisationInput>();
    let saved = svc::update(&actor, &db.0, id, &input, chrono::Utc::now())
        .await
        .map(|()| id);
    after_save(saved, Some(id), &input, db, &ui).await
}

#[post("/organisations/<id>/users", data = "<form>")]
async fn add_user(id: i32, form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    // Roles arrive as one checkbox each.
    let roles: Vec<&str> = form.iter().filter(|(k, _)| *k == "roles").map(|(_, v)| v).collect();
    let roles = roles.join(",");
    let (email, name) = (form.get("email"), form.get("name"));
    match svc::add_user(&actor, &db.0, id, email, name, &roles, chrono::Utc::now()).await {
        Ok((user, password)) => {
            let extra = minijinja::context! { created => Serde(user), one_time_password => password };
            detail(db, &actor, &ui, id, Status::Created, extra).await
        }
        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. })) => {
            let extra = minijinja::context! {
                errors => Serde(e.field_messages()), codes => Serde(e.field_codes()),
                input => minijinja::context! {
                    email => email, name => name,
                    roles => roles.split(',').map(str::to_owned).collect::<Vec<_>>(),
                },
            };
            detail(db, &actor, &ui, id, super::error::status_of(&e), extra).await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/organisations/<id>/users/<user_id>/disable", data = "<_form>")]
async fn disable_user(id: i32, user_id: i32, _form: CsrfForm, db: &State<Db>, actor: Actor, _ui: Ui<'_>) -> PageResult {
    let () = svc::disable_user(&actor, &db.0, id, user_id, chrono::Utc::now()).await?;
    Ok(Page::redirect(format!("/organisations/{id}")))
}

/// One organisation with its users and history. Your own organisation, or any for the
/// regulator and system admins; any other is 404.
#[utoipa::path(
    get, path = "/api/v1/organisations/{id}", tag = "organisations",
    params(("id" = i32, Path, description = "The organisation's id")),
    responses(
        (status = 200, body = OrganisationDetail),
        (status = 401, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/organisations/<id>")]
pub async fn get_api(id: i32, db: &State<Db>, actor: Actor) -> ApiResult<Json<OrganisationDetail>> {
    Ok(Json(svc::get(&actor, &db.0, id).await?))
}
