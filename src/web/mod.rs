//! Rocket: pages and /api/v1. Thin: parse the request, call a service, render.

pub mod dashboard;
pub mod error;
pub mod guards;
pub mod openapi;
pub mod standards;
pub mod templates;

use crate::config::AppConfig;
use error::{json_body, json_response, RequestId};
use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::{ContentType, Cookie, CookieJar, Header, SameSite, Status};
use rocket::request::Request;
use rocket::response::{self, Redirect, Responder, Response};
use rocket::{catch, catchers, get, routes, Build, Data, Rocket};
use std::io::Cursor;
use std::time::Instant;
use templates::{Lang, Templates};

/// The database connection, as managed state.
pub struct Db(pub sea_orm::DatabaseConnection);

/// "Today" for rules that depend on the date: the calendar date in Asia/Shanghai
/// (UTC+8 all year), or a fixed date from the configuration (demos and tests).
pub struct Clock(pub Option<chrono::NaiveDate>);

impl Clock {
    pub fn today(&self) -> chrono::NaiveDate {
        self.0.unwrap_or_else(|| {
            let shanghai = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
            chrono::Utc::now().with_timezone(&shanghai).date_naive()
        })
    }
}

/// An HTML page with its status.
pub struct Page {
    pub status: Status,
    pub html: String,
}

impl<'r> Responder<'r, 'static> for Page {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .status(self.status)
            .header(ContentType::HTML)
            .sized_body(self.html.len(), Cursor::new(self.html))
            .ok()
    }
}

/// Renders a page; a template error becomes a 500 page that names the request id.
pub fn render(
    templates: &Templates,
    name: &str,
    lang: Lang,
    path: &str,
    status: Status,
    ctx: minijinja::Value,
) -> Page {
    match templates.render(name, lang, path, ctx) {
        Ok(html) => Page { status, html },
        Err(e) => {
            tracing::error!(template = name, error = %e, "template failed");
            Page {
                status: Status::InternalServerError,
                html: "<!doctype html><title>500</title><p>Internal error. 内部错误。</p>".into(),
            }
        }
    }
}

/// A service error as a page.
pub fn error_page(templates: &Templates, lang: Lang, path: &str, e: &crate::service::Error) -> Page {
    let status = error::status_of(e);
    let message = match e {
        crate::service::Error::Internal(cause) => {
            tracing::error!(%cause, "internal error");
            String::new()
        }
        other => other.to_string(),
    };
    render(
        templates,
        "error.html",
        lang,
        path,
        status,
        minijinja::context! { code => status.code, message => message },
    )
}

/// One log line per request, with its id, status and latency; and the security headers.
struct RequestLog;

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log and headers",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(Instant::now);
        RequestId::of(req);
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let started = req.local_cache(Instant::now);
        let id = RequestId::of(req);
        let micros = started.elapsed().as_micros();
        tracing::info!(
            request = %id,
            method = %req.method(),
            uri = %req.uri(),
            status = res.status().code,
            peer = ?req.remote().map(|a| a.ip()),
            latency_us = micros as u64,
            "request"
        );
        res.set_header(Header::new("X-Request-Id", id.to_string()));
        res.set_header(Header::new(
            "Server-Timing",
            format!("app;dur={:.3}", micros as f64 / 1000.0),
        ));
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Referrer-Policy", "same-origin"));
        res.set_header(Header::new(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
        ));
    }
}

const STYLE_CSS: &str = include_str!("../../templates/static/style.css");

#[get("/static/style.css")]
fn style() -> (ContentType, &'static str) {
    (ContentType::CSS, STYLE_CSS)
}

/// Switches the interface language and returns to the page it was chosen on.
#[get("/lang/<code>?<next>")]
fn set_lang(code: &str, next: Option<&str>, cookies: &CookieJar<'_>) -> Redirect {
    if let Some(lang) = Lang::from_code(code) {
        let cookie = Cookie::build(("lang", lang.code()))
            .path("/")
            .same_site(SameSite::Lax)
            .http_only(true)
            .max_age(rocket::time::Duration::days(365));
        cookies.add(cookie);
    }
    // Only same-site paths: never an open redirect.
    let target = next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/");
    Redirect::to(target.to_owned())
}

fn api_catch(status: Status, req: &Request<'_>) -> response::Result<'static> {
    let (code, message) = match status.code {
        400 => ("bad_request", "the request could not be read"),
        404 => ("not_found", "no such resource"),
        413 => ("too_large", "the request body is too large"),
        415 => (
            "unsupported_media_type",
            "send JSON with Content-Type: application/json",
        ),
        422 => ("invalid", "the request body could not be read as the expected JSON"),
        500 => ("internal", "internal error"),
        _ => ("error", status.reason().unwrap_or("error")),
    };
    let message = if status.code >= 500 {
        format!("{message}; quote request id {} to the operator", RequestId::of(req))
    } else {
        message.to_owned()
    };
    json_response(status, json_body(code, &message, serde_json::json!({})))
}

struct ApiCatch(Status);
impl<'r> Responder<'r, 'static> for ApiCatch {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        api_catch(self.0, req)
    }
}

#[catch(default)]
fn api_default(status: Status, _req: &Request<'_>) -> ApiCatch {
    ApiCatch(status)
}

#[catch(default)]
fn page_default(status: Status, req: &Request<'_>) -> Page {
    let lang = req
        .cookies()
        .get("lang")
        .and_then(|c| Lang::from_code(c.value()))
        .unwrap_or(Lang::Zh);
    let templates = req.rocket().state::<Templates>();
    let id = RequestId::of(req);
    match templates {
        Some(t) => render(
            t,
            "error.html",
            lang,
            &req.uri().to_string(),
            status,
            minijinja::context! { code => status.code, request_id => id.to_string() },
        ),
        None => Page {
            status,
            html: format!("<!doctype html><title>{0}</title><p>{0}</p>", status.code),
        },
    }
}

/// Builds the web application: routes, catchers, fairings, and the database opened,
/// migrated and (on a new database) filled with the demo data set at ignite.
pub fn build(figment: rocket::figment::Figment, config: AppConfig) -> Rocket<Build> {
    let clock = Clock(config.today);
    rocket::custom(figment)
        .manage(Templates::new())
        .manage(clock)
        .attach(RequestLog)
        .attach(AdHoc::try_on_ignite("database", move |rocket| async move {
            match crate::setup_database(&config).await {
                Ok(db) => Ok(rocket.manage(Db(db)).manage(config)),
                Err(e) => {
                    tracing::error!(error = %e, "database setup failed");
                    eprintln!("metrocal: cannot open the database: {e}");
                    Err(rocket)
                }
            }
        }))
        .mount("/", routes![style, set_lang])
        .mount("/", dashboard::routes())
        .mount("/", standards::page_routes())
        .mount("/api/v1", standards::api_routes())
        .mount("/api/v1", dashboard::api_routes())
        .mount("/api/v1", openapi::routes())
        .register("/", catchers![page_default])
        .register("/api", catchers![api_default])
}
