//! Rocket: pages and /api/v1. Thin: parse the request, call a service, render.

pub mod accounts;
pub mod audit;
pub mod body;
pub mod budgets;
pub mod certificates;
pub mod cmc;
pub mod dashboard;
pub mod error;
pub mod guards;
pub mod intervals;
pub mod lifecycle;
pub mod openapi;
pub mod organisations;
pub mod planner;
pub mod records;
pub mod schedule;
pub mod standards;
pub mod templates;
pub mod traceability;
pub mod uncertainty;
pub mod work_orders;

use crate::config::AppConfig;
pub use guards::Chrome;

use error::{error_json, json_response, RequestId};
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

/// Today from the app's [`Clock`], as a request guard for the handlers whose rules
/// depend on the date (the recall list, the plan, the calendar feeds).
#[derive(Debug, Clone, Copy)]
pub struct Today(pub chrono::NaiveDate);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Today {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        let today = req
            .rocket()
            .state::<Clock>()
            .map_or_else(|| Clock(None).today(), Clock::today);
        rocket::request::Outcome::Success(Today(today))
    }
}

/// An HTML page with its status, or a redirect (303 See Other).
pub struct Page {
    pub status: Status,
    pub html: String,
    pub location: Option<String>,
}

impl Page {
    /// After a form post, the browser is sent on with a GET.
    pub fn redirect(to: impl Into<String>) -> Page {
        Page {
            status: Status::SeeOther,
            html: String::new(),
            location: Some(to.into()),
        }
    }
}

impl<'r> Responder<'r, 'static> for Page {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.status(self.status);
        if let Some(to) = self.location {
            res.raw_header("Location", to);
        } else {
            res.header(ContentType::HTML)
                .raw_header("Cache-Control", "no-store")
                .sized_body(self.html.len(), Cursor::new(self.html));
        }
        res.ok()
    }
}

/// Renders a page; a template error becomes a 500 page that names the request id.
pub fn render(templates: &Templates, name: &str, chrome: &Chrome, status: Status, ctx: minijinja::Value) -> Page {
    match templates.render(name, chrome, ctx) {
        Ok(html) => Page {
            status,
            html,
            location: None,
        },
        Err(e) => {
            tracing::error!(template = name, request = %chrome.request_id, error = %e, "template failed");
            Page {
                status: Status::InternalServerError,
                html: format!(
                    "<!doctype html><title>500</title><p>Internal error. 内部错误。 Request id: {}</p>",
                    chrome.request_id
                ),
                location: None,
            }
        }
    }
}

/// A service error as a page. A visitor who must log in is sent to the login page
/// and brought back afterwards.
pub fn error_page(templates: &Templates, chrome: &Chrome, e: &crate::service::Error) -> Page {
    use crate::service::Error;
    if matches!(e, Error::Unauthenticated) {
        let next: String = form_urlencoded::byte_serialize(chrome.path.as_bytes()).collect();
        let expired = if chrome.session_expired { "&expired=1" } else { "" };
        return Page::redirect(format!("/login?next={next}{expired}"));
    }
    if matches!(e, Error::PasswordChangeRequired) {
        return Page::redirect("/account");
    }
    let status = error::status_of(e);
    let message = match e {
        Error::Internal(cause) => {
            tracing::error!(request = %chrome.request_id, %cause, "internal error");
            String::new()
        }
        other => other.to_string(),
    };
    render(
        templates,
        "error.html",
        chrome,
        status,
        minijinja::context! {
            code => status.code, error_code => e.code(), message => message,
            request_id => chrome.request_id.clone(),
        },
    )
}

/// What a page handler renders with: the templates and the page's chrome (language, who
/// is logged in, the CSRF token, today), taken as one request guard.
pub struct Ui<'r> {
    pub templates: &'r Templates,
    pub chrome: Chrome,
}

impl Ui<'_> {
    /// The page `name` with `ctx`, answered with `status`.
    pub fn render(&self, name: &str, status: Status, ctx: minijinja::Value) -> Page {
        render(self.templates, name, &self.chrome, status, ctx)
    }

    /// The page `name` with `ctx`, answered 200.
    pub fn page(&self, name: &str, ctx: minijinja::Value) -> Page {
        self.render(name, Status::Ok, ctx)
    }

    /// A service error as a page (see [`error_page`]).
    pub fn error(&self, e: &crate::service::Error) -> Page {
        error_page(self.templates, &self.chrome, e)
    }

    /// Whether the page is shown in Chinese.
    pub fn zh(&self) -> bool {
        self.chrome.lang == Lang::Zh
    }

    pub fn today(&self) -> chrono::NaiveDate {
        self.chrome.today
    }
}

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Ui<'r> {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, ()> {
        use rocket::request::Outcome;
        let Some(templates) = req.rocket().state::<Templates>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        match req.guard::<Chrome>().await {
            Outcome::Success(chrome) => Outcome::Success(Ui { templates, chrome }),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(s) => Outcome::Forward(s),
        }
    }
}

/// A service error raised by a page handler with `?`: answered as the error page in the
/// page's language (or the redirect to the login page), like [`error_page`].
#[derive(Debug)]
pub struct PageError(pub crate::service::Error);

impl From<crate::service::Error> for PageError {
    fn from(e: crate::service::Error) -> Self {
        PageError(e)
    }
}

/// What a page handler returns.
pub type PageResult = Result<Page, PageError>;

impl<'r> Responder<'r, 'static> for PageError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let Some(templates) = req.rocket().state::<Templates>() else {
            return Err(Status::InternalServerError);
        };
        let chrome = guards::Chrome::seen(req).unwrap_or_else(|| Chrome::minimal(req));
        error_page(templates, &chrome, &self.0).respond_to(req)
    }
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
        res.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
        res.set_header(Header::new(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self'; \
             form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'",
        ));
        if req.rocket().config().tls_enabled() {
            res.set_header(Header::new("Strict-Transport-Security", "max-age=31536000"));
        }
        // A body of known size goes out in one piece rather than Rocket's 4 KiB chunks
        // (a page of the register is ~60 KiB: fifteen writes instead of one).
        if let Some(n) = res.body().preset_size() {
            if n > rocket::response::Body::DEFAULT_MAX_CHUNK {
                res.set_max_chunk_size(n.min(1 << 20));
            }
        }
    }
}

const STYLE_CSS: &str = include_str!("../../templates/static/style.css");

#[get("/static/style.css")]
fn style() -> (ContentType, &'static str) {
    (ContentType::CSS, STYLE_CSS)
}

/// `path` when it is a path on this site: one leading `/`, not `//` (another host),
/// no backslash (which browsers read as `/`), and no control or space characters
/// (browsers drop a tab or a newline, so `/\t/evil.example` is `//evil.example`).
pub fn same_site_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(path)
}

/// Switches the interface language and returns to the page it was chosen on. A `next`
/// that is not a path on this site is refused (the switch's links always give one).
#[get("/lang/<code>?<next>")]
fn set_lang(
    code: &str,
    next: Option<&str>,
    cookies: &CookieJar<'_>,
    templates: &rocket::State<Templates>,
    chrome: Chrome,
) -> Result<Redirect, Page> {
    let target = match next {
        None => "/",
        Some(n) => same_site_path(n).ok_or_else(|| {
            let e = crate::service::Error::field(
                "next",
                "request.next_invalid",
                "the page to return to must be a path on this site",
            );
            error_page(templates, &chrome, &e)
        })?,
    };
    if let Some(lang) = Lang::from_code(code) {
        let cookie = Cookie::build(("lang", lang.code()))
            .path("/")
            .same_site(SameSite::Lax)
            .http_only(true)
            .max_age(rocket::time::Duration::days(365));
        cookies.add(cookie);
    }
    Ok(Redirect::to(target.to_owned()))
}

fn api_catch(status: Status, req: &Request<'_>) -> response::Result<'static> {
    let (code, message) = match status.code {
        400 => ("bad_request", "the request could not be read"),
        401 => (
            "unauthenticated",
            "send a valid API token as 'Authorization: Bearer mtc_…' (create one on your account page)",
        ),
        403 => ("forbidden", "you may not do this"),
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
    json_response(status, error_json(code, &message, serde_json::json!({})))
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
    let templates = req.rocket().state::<Templates>();
    let chrome = Chrome::minimal(req);
    match templates {
        Some(t) => render(
            t,
            "error.html",
            &chrome,
            status,
            minijinja::context! { code => status.code, request_id => chrome.request_id.clone() },
        ),
        None => Page {
            status,
            html: format!("<!doctype html><title>{0}</title><p>{0}</p>", status.code),
            location: None,
        },
    }
}

/// Builds the web application: routes, catchers, fairings, and the database opened,
/// migrated and (on a new database) filled with the demo data set at ignite.
pub fn build(figment: rocket::figment::Figment, config: AppConfig) -> Rocket<Build> {
    let clock = Clock(config.today);
    rocket::custom(figment)
        .manage(Templates::new())
        .manage(crate::service::cache::Caches::default())
        .manage(clock)
        .manage(crate::service::uncertainty::Evaluator::new(config.evaluation))
        .attach(RequestLog)
        .attach(AdHoc::try_on_ignite("database", move |rocket| async move {
            let keys = match crate::service::keys::KeyStore::from_config(&config) {
                Ok(k) => k,
                Err(e) => {
                    tracing::error!(error = %e, "the key-encryption key cannot be read");
                    eprintln!("metrocal: cannot read the key-encryption key: {e}");
                    return Err(rocket);
                }
            };
            match crate::service::setup::setup_database(&config).await {
                Ok(db) => {
                    // Key files of before keys were sealed move into the database, once.
                    match keys.migrate_files(&db).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(keys = n, "signing key files sealed into the database"),
                        Err(e) => tracing::error!(error = %e, "signing key files could not be sealed"),
                    }
                    Ok(rocket.manage(Db(db)).manage(keys).manage(config))
                }
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
        .mount("/", accounts::page_routes())
        .mount("/", organisations::page_routes())
        .mount("/", audit::page_routes())
        .mount("/", budgets::page_routes())
        .mount("/", traceability::page_routes())
        .mount("/", schedule::page_routes())
        .mount("/", planner::page_routes())
        .mount("/", records::page_routes())
        .mount("/", cmc::page_routes())
        .mount("/", certificates::page_routes())
        .mount("/", intervals::page_routes())
        .mount("/", lifecycle::page_routes())
        .mount("/", work_orders::page_routes())
        .mount("/api/v1", accounts::api_routes())
        .mount("/api/v1", organisations::api_routes())
        .mount("/api/v1", audit::api_routes())
        .mount("/api/v1", uncertainty::api_routes())
        .mount("/api/v1", budgets::api_routes())
        .mount("/api/v1", traceability::api_routes())
        .mount("/api/v1", schedule::api_routes())
        .mount("/api/v1", planner::api_routes())
        .mount("/api/v1", records::api_routes())
        .mount("/api/v1", cmc::api_routes())
        .mount("/api/v1", certificates::api_routes())
        .mount("/api/v1", intervals::api_routes())
        .mount("/api/v1", lifecycle::api_routes())
        .mount("/api/v1", work_orders::api_routes())
        .mount("/api/v1", standards::api_routes())
        .mount("/api/v1", dashboard::api_routes())
        .mount("/api/v1", openapi::routes())
        .register("/", catchers![page_default])
        .register("/api", catchers![api_default])
}
