//! Recall lists (/schedule, its CSV, /api/v1/recall) and a user's notifications.

use super::error::ApiResult;
use super::guards::QueryPairs;
use super::traceability::CsvFile;
use super::{Db, Page, PageResult, Ui};
use crate::service::schedule::{self as svc, RecallList, RecallQuery};
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::http::{ContentType, Status};
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use std::collections::BTreeMap;

pub fn page_routes() -> Vec<Route> {
    routes![
        recall_page,
        recall_csv,
        notifications_page,
        old_inbox,
        mark_read_page,
        feeds_page,
        feed_create_page,
        feed_revoke_page,
        calendar_feed,
        settings_page,
        settings_save_page
    ]
}

pub fn api_routes() -> Vec<Route> {
    routes![recall_api]
}

fn recall_query(q: &BTreeMap<&str, &str>) -> RecallQuery {
    let get = |k: &str| q.get(k).map(|v| (*v).to_owned());
    RecallQuery {
        organisation: get("organisation"),
        side: get("side"),
        on: get("on"),
        bucket: get("bucket"),
        status: get("status"),
        kind: get("kind"),
        category: get("category"),
        q: get("q"),
        offset: get("offset"),
        limit: get("limit"),
    }
}

/// The filters of the query, for links that keep them.
fn kept(q: &BTreeMap<&str, &str>, without: &[&str]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q.iter().filter(|(k, v)| !without.contains(k) && !v.is_empty()))
        .finish()
}

#[get("/schedule")]
async fn recall_page(db: &State<Db>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> PageResult {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    match svc::recall(&actor, &db.0, &recall_query(&q), ui.chrome.today, false).await {
        Ok(r) => Ok(ui.render(
            "schedule/recall.html",
            Status::Ok,
            minijinja::context! {
                r => Serde(&r), typed => Serde(&q),
                keep => kept(&q, &["offset"]), keep_bucket => kept(&q, &["offset", "bucket"]),
                next => r.offset + (r.rows.len() as u64),
            },
        )),
        Err(e @ Error::Invalid { .. }) => Ok(ui.render(
            "schedule/recall.html",
            Status::UnprocessableEntity,
            minijinja::context! { typed => Serde(&q), errors => Serde(e.field_messages()) },
        )),
        Err(e) => Err(e.into()),
    }
}

#[get("/schedule.csv")]
async fn recall_csv(db: &State<Db>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> CsvFile {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    let list = match svc::recall(&actor, &db.0, &recall_query(&q), ui.chrome.today, true).await {
        Ok(r) => r,
        Err(e) => return CsvFile::Page(ui.error(&e)),
    };
    match svc::recall_csv(&list) {
        Ok(text) => CsvFile::attachment(
            text,
            &format!("recall-{}-{}-{}.csv", list.organisation_id, list.side, list.on),
        ),
        Err(e) => CsvFile::Page(ui.error(&Error::Internal(e.to_string()))),
    }
}

/// The notifications' address before it was named after them: kept for bookmarks.
#[get("/inbox")]
fn old_inbox() -> rocket::response::Redirect {
    rocket::response::Redirect::permanent("/notifications")
}

#[get("/notifications")]
async fn notifications_page(db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let n = svc::notifications(&actor, &db.0).await?;
    let queue = crate::service::records::queues(&actor, &db.0).await?;
    Ok(ui.render(
        "schedule/notifications.html",
        Status::Ok,
        minijinja::context! { notifications => Serde(&n), queue => Serde(queue) },
    ))
}

#[post("/notifications/<id>/read", data = "<_form>")]
async fn mark_read_page(
    id: i32,
    _form: super::guards::CsrfForm,
    db: &State<Db>,
    actor: Actor,
    _ui: Ui<'_>,
) -> PageResult {
    let () = svc::mark_read(&actor, &db.0, id, chrono::Utc::now()).await?;
    Ok(Page::redirect("/notifications".to_owned()))
}

/// A recall list: what a laboratory must calibrate (`side=lab`, the default) or what an
/// organisation holds (`side=holder`), by due date, with the status and calendar bucket
/// of each item on the day asked (`on`, default today).
#[utoipa::path(
    get, path = "/api/v1/recall", tag = "schedule",
    params(
        ("organisation" = Option<i32>, Query, description = "organisation id; default the caller's"),
        ("side" = Option<String>, Query, description = "lab or holder"),
        ("on" = Option<String>, Query, description = "the day (YYYY-MM-DD)"),
        ("bucket" = Option<String>, Query, description = "overdue, this_month, next_month or later"),
        ("status" = Option<String>, Query, description = "in_date, due_soon, overdue or out_of_service"),
        ("kind" = Option<String>, Query, description = "standard, device or instrument"),
        ("category" = Option<String>, Query, description = "JJF 1022 code"),
        ("q" = Option<String>, Query, description = "text in the item's name"),
        ("offset" = Option<u64>, Query), ("limit" = Option<u64>, Query, description = "at most 1000"),
    ),
    responses((status = 200, description = "the list"), (status = 422, description = "a parameter is invalid, named")),
    security(("bearer" = []))
)]
#[get("/recall")]
pub async fn recall_api(
    db: &State<Db>,
    actor: Actor,
    today: super::Today,
    query: QueryPairs,
) -> ApiResult<Json<RecallList>> {
    let q: BTreeMap<&str, &str> = query.iter().collect();
    Ok(Json(
        svc::recall(&actor, &db.0, &recall_query(&q), today.0, false).await?,
    ))
}

async fn render_feeds(
    db: &Db,
    actor: &Actor,
    ui: &Ui<'_>,
    status: Status,
    created: Option<String>,
    errors: Option<BTreeMap<String, String>>,
) -> PageResult {
    let feeds = svc::feeds(actor, &db.0).await?;
    Ok(ui.render(
        "schedule/feeds.html",
        status,
        minijinja::context! { feeds => Serde(&feeds), created => created, errors => Serde(errors) },
    ))
}

#[get("/schedule/feeds")]
async fn feeds_page(db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    render_feeds(db, &actor, &ui, Status::Ok, None, None).await
}

/// A new feed: its address is shown once.
#[post("/schedule/feeds", data = "<form>")]
async fn feed_create_page(form: super::guards::CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    match svc::create_feed(&actor, &db.0, form.get("label"), chrono::Utc::now()).await {
        Ok((token, _)) => {
            let url = format!("/calendar/{token}.ics");
            render_feeds(db, &actor, &ui, Status::Ok, Some(url), None).await
        }
        Err(e @ Error::Invalid { .. }) => {
            let errors = e.field_messages();
            render_feeds(db, &actor, &ui, Status::UnprocessableEntity, None, Some(errors)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/schedule/feeds/<id>/revoke", data = "<_form>")]
async fn feed_revoke_page(
    id: i32,
    _form: super::guards::CsrfForm,
    db: &State<Db>,
    actor: Actor,
    _ui: Ui<'_>,
) -> PageResult {
    let () = svc::revoke_feed(&actor, &db.0, id, chrono::Utc::now()).await?;
    Ok(Page::redirect("/schedule/feeds".to_owned()))
}

/// A calendar program's subscription: `/calendar/{token}.ics`, no login (the token is the
/// credential); 404 once revoked.
#[get("/calendar/<file>")]
async fn calendar_feed(file: &str, db: &State<Db>, today: super::Today) -> Result<(ContentType, String), Status> {
    let token = file.strip_suffix(".ics").ok_or(Status::NotFound)?;
    match svc::feed_ics(&db.0, token, today.0).await {
        Ok(text) => Ok((
            ContentType::new("text", "calendar").with_params(("charset", "utf-8")),
            text,
        )),
        Err(Error::NotFound { .. }) => Err(Status::NotFound),
        Err(e) => {
            tracing::error!(error = %e, "calendar feed");
            Err(Status::InternalServerError)
        }
    }
}

/// Runs the daily schedule job in the server: at start and then every quarter of an
/// hour it runs unless today's run has finished, here or on another instance sharing
/// the database (the run itself holds a database lock), and e-mails the notifications
/// not yet sent when SMTP is configured. `metrocal serve` attaches it;
/// the tests' servers do not.
pub fn daily_job() -> rocket::fairing::AdHoc {
    rocket::fairing::AdHoc::on_liftoff("daily schedule run", |rocket| {
        Box::pin(async move {
            let Some(db) = rocket.state::<Db>().map(|d| d.0.clone()) else {
                return;
            };
            let clock = super::Clock(rocket.state::<super::Clock>().and_then(|c| c.0));
            let Some(config) = rocket.state::<crate::config::AppConfig>() else {
                return;
            };
            let mailer = match crate::service::mail::Mailer::from_config(config) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(error = %e, "e-mail is not configured correctly; notifications stay in the app");
                    None
                }
            };
            rocket::tokio::spawn(svc::keep_running(
                db,
                mailer,
                move || clock.today(),
                std::time::Duration::from_secs(15 * 60),
            ));
        })
    })
}

#[get("/schedule/settings")]
async fn settings_page(db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let r = svc::settings(&actor, &db.0).await?;
    let form = svc::SettingsInput::from_rules(&r);
    Ok(ui.render(
        "schedule/settings.html",
        Status::Ok,
        minijinja::context! { form => Serde(&form) },
    ))
}

/// Saved and back to the recall list, or the form again with each field's message.
#[post("/schedule/settings", data = "<form>")]
async fn settings_save_page(form: super::guards::CsrfForm, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let input = svc::SettingsInput {
        month_end: matches!(form.get("month_end"), "on" | "true" | "1"),
        early_window_days: form.get("early_window_days").to_owned(),
        warning_days: form.get("warning_days").to_owned(),
        default_interval_months: form.get("default_interval_months").to_owned(),
        assessment_validity_years: form.get("assessment_validity_years").to_owned(),
        staircase_extend_threshold: form.get("staircase_extend_threshold").to_owned(),
        staircase_extend_factor: form.get("staircase_extend_factor").to_owned(),
        staircase_shorten_factor: form.get("staircase_shorten_factor").to_owned(),
        staircase_min_months: form.get("staircase_min_months").to_owned(),
        staircase_max_months: form.get("staircase_max_months").to_owned(),
        staircase_whole_months: matches!(form.get("staircase_whole_months"), "on" | "true" | "1"),
        tur_limit: form.get("tur_limit").to_owned(),
    };
    match svc::save_settings(&actor, &db.0, &input, chrono::Utc::now()).await {
        Ok(_) => Ok(Page::redirect("/schedule".to_owned())),
        Err(e @ Error::Invalid { .. }) => Ok(ui.render(
            "schedule/settings.html",
            Status::UnprocessableEntity,
            minijinja::context! { form => Serde(&input), errors => Serde(e.field_messages()) },
        )),
        Err(e) => Err(e.into()),
    }
}
