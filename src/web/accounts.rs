//! Login, logout and the user's own account: password and API tokens.

use super::error::ApiResult;
use super::guards::{cookie, rotate_csrf, ClientAddr, CsrfForm, Tls, SESSION_COOKIE};
use super::{Db, Page, PageResult, Ui};
use crate::service::accounts::{self as svc, Me};
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::http::{Cookie, CookieJar, Status};
use rocket::serde::json::Json;
use rocket::{delete, get, post, routes, Route, State};

pub fn page_routes() -> Vec<Route> {
    routes![
        login_page,
        login_submit,
        logout,
        account_page,
        password_submit,
        token_create,
        token_revoke
    ]
}

pub fn api_routes() -> Vec<Route> {
    routes![me_api, token_revoke_api]
}

/// Only a path on this site, and not the login page itself: never an open redirect.
fn safe_next(next: &str) -> &str {
    match super::same_site_path(next) {
        Some(path) if !path.starts_with("/login") => path,
        _ => "/",
    }
}

fn login_form(ui: &Ui<'_>, status: Status, email: &str, next: &str, error: Option<&Error>) -> PageResult {
    Ok(ui.render(
        "accounts/login.html",
        status,
        minijinja::context! {
            email => email, next => next,
            error => error.map(|e| e.to_string()),
            code => error.map(|e| e.code()),
        },
    ))
}

/// The login page; `expired` says the visitor was sent here because their session
/// ended after 30 idle minutes.
#[get("/login?<next>&<expired>")]
async fn login_page(mut ui: Ui<'_>, next: Option<&str>, expired: Option<&str>) -> PageResult {
    ui.chrome.session_expired |= expired == Some("1");
    login_form(&ui, Status::Ok, "", safe_next(next.unwrap_or("/")), None)
}

#[post("/login", data = "<form>")]
async fn login_submit(
    form: CsrfForm,
    db: &State<Db>,
    ui: Ui<'_>,
    client: ClientAddr,
    tls: Tls,
    jar: &CookieJar<'_>,
) -> PageResult {
    let (email, password) = (form.get("email"), form.get("password"));
    let next = safe_next(form.get("next")).to_owned();
    let previous = jar.get_private(SESSION_COOKIE).map(|c| c.value().to_owned());
    let result = svc::login(
        &db.0,
        email,
        password,
        &client.0,
        previous.as_deref(),
        &ui.chrome.request_id,
        chrono::Utc::now(),
    )
    .await;
    match result {
        Ok(done) => {
            // A new session secret and a new CSRF token: nothing from before the login
            // carries over.
            jar.add_private(cookie(tls.0, SESSION_COOKIE, done.session_secret));
            rotate_csrf(jar, tls.0);
            Ok(if done.must_change_password {
                Page::redirect("/account")
            } else {
                Page::redirect(next)
            })
        }
        Err(e @ Error::Invalid { .. }) => login_form(&ui, Status::Unauthorized, email, &next, Some(&e)),
        Err(e @ Error::Throttled { .. }) => login_form(&ui, Status::TooManyRequests, email, &next, Some(&e)),
        Err(e) => Err(e.into()),
    }
}

#[post("/logout", data = "<_form>")]
async fn logout(
    _form: CsrfForm,
    db: &State<Db>,
    actor: Actor,
    _ui: Ui<'_>,
    tls: Tls,
    jar: &CookieJar<'_>,
) -> PageResult {
    svc::logout(&actor, &db.0, chrono::Utc::now()).await?;
    jar.remove_private(Cookie::from(SESSION_COOKIE));
    rotate_csrf(jar, tls.0);
    Ok(Page::redirect("/"))
}

/// The account page, with what the last action produced.
#[derive(Default)]
struct AccountView<'a> {
    new_token: Option<String>,
    error: Option<&'a Error>,
    notice: Option<&'static str>,
}

async fn account_view(db: &Db, actor: &Actor, ui: &Ui<'_>, status: Status, view: AccountView<'_>) -> PageResult {
    let (me, tokens) = match (svc::me(actor), svc::tokens(actor, &db.0).await) {
        (Ok(me), Ok(tokens)) => (me, tokens),
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    let errors = view.error.map(|e| e.field_messages()).unwrap_or_default();
    let codes = view.error.map(|e| e.field_codes()).unwrap_or_default();
    Ok(ui.render(
        "accounts/account.html",
        status,
        minijinja::context! {
            account => Serde(me), tokens => Serde(tokens), new_token => view.new_token,
            errors => Serde(errors), codes => Serde(codes), notice => view.notice,
            message => view.error.map(|e| e.to_string()),
        },
    ))
}

/// A refused account form: back to the account page with the field errors (or the
/// throttling notice); any other error as an error page.
async fn account_error(db: &Db, actor: &Actor, ui: &Ui<'_>, e: &Error) -> PageResult {
    match e {
        Error::Invalid { .. } | Error::Throttled { .. } => {
            let view = AccountView {
                error: Some(e),
                ..Default::default()
            };
            account_view(db, actor, ui, super::error::status_of(e), view).await
        }
        _ => Ok(ui.error(e)),
    }
}

#[get("/account?<changed>")]
async fn account_page(db: &State<Db>, actor: Actor, ui: Ui<'_>, changed: Option<&str>) -> PageResult {
    let notice = match changed {
        Some("password") => Some("password_changed"),
        Some("token") => Some("token_revoked"),
        _ => None,
    };
    account_view(
        db,
        &actor,
        &ui,
        Status::Ok,
        AccountView {
            notice,
            ..Default::default()
        },
    )
    .await
}

#[post("/account/password", data = "<form>")]
async fn password_submit(form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>, client: ClientAddr) -> PageResult {
    let new = form.get("new_password");
    let result = if new != form.get("confirm_password") {
        Err(Error::field(
            "confirm_password",
            "password.mismatch",
            "the two new passwords differ",
        ))
    } else {
        svc::change_password(
            &actor,
            &db.0,
            form.get("current_password"),
            new,
            &client.0,
            chrono::Utc::now(),
        )
        .await
    };
    match result {
        Ok(()) => Ok(Page::redirect("/account?changed=password")),
        Err(e) => account_error(db, &actor, &ui, &e).await,
    }
}

#[post("/account/tokens", data = "<form>")]
async fn token_create(form: CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>, client: ClientAddr) -> PageResult {
    let result = svc::create_token(
        &actor,
        &db.0,
        None,
        form.get("name"),
        Some((form.get("password"), &client.0)),
        chrono::Utc::now(),
    )
    .await;
    match result {
        // Shown once, on this response only (which is never cached).
        Ok((secret, _)) => {
            let view = AccountView {
                new_token: Some(secret),
                ..Default::default()
            };
            account_view(db, &actor, &ui, Status::Created, view).await
        }
        Err(e) => account_error(db, &actor, &ui, &e).await,
    }
}

#[post("/account/tokens/<id>/revoke", data = "<_form>")]
async fn token_revoke(id: i32, _form: CsrfForm, db: &State<Db>, actor: Actor, _ui: Ui<'_>) -> PageResult {
    let () = svc::revoke_token(&actor, &db.0, id, chrono::Utc::now()).await?;
    Ok(Page::redirect("/account?changed=token"))
}

/// The account the bearer token belongs to.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Me), (status = 401, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[get("/me")]
pub async fn me_api(actor: Actor) -> ApiResult<Json<Me>> {
    Ok(Json(svc::me(&actor)?))
}

/// Revoke one of your API tokens (it stops working at once).
#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    params(("id" = i32, Path, description = "The token's id, as the account page lists it")),
    responses((status = 204), (status = 401, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/tokens/<id>")]
pub async fn token_revoke_api(id: i32, db: &State<Db>, actor: Actor) -> ApiResult<Status> {
    svc::revoke_token(&actor, &db.0, id, chrono::Utc::now()).await?;
    Ok(Status::NoContent)
}
