//! Request guards: who is asking (session cookie or bearer token), the page chrome
//! (language, path, the logged-in user, the CSRF token), the client address, and
//! CSRF-checked form bodies.

use super::error::RequestId;
use super::templates::Lang;
use super::Db;
use crate::service::accounts::{self, SessionState};
use crate::service::{Actor, Principal};
use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use serde::Serialize;
use subtle::ConstantTimeEq;

/// The cookie that carries a browser session's secret (encrypted: a private cookie).
pub const SESSION_COOKIE: &str = "session";
/// The cookie that carries the CSRF token every form must echo.
pub const CSRF_COOKIE: &str = "csrf";

/// A cookie as the app sets them: whole site, HttpOnly, SameSite=Lax, and Secure
/// whenever the server speaks TLS.
pub fn cookie(req_tls: bool, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(req_tls)
        .build()
}

pub fn tls(req: &Request<'_>) -> bool {
    req.rocket().config().tls_enabled()
}

/// The actor of a request, resolved once per request.
///
/// - `Authorization: Bearer mtc_…` → the token's user; a bad token is refused (401),
///   never silently downgraded to a visitor.
/// - Under /api without a token → a visitor (the API does not read cookies, so a
///   browser cannot be tricked into writing through it).
/// - Otherwise the session cookie → its user, or a visitor.
#[derive(Clone)]
struct Resolved(Result<Actor, Status>);

async fn resolve(req: &Request<'_>) -> Resolved {
    let request_id = RequestId::of(req).to_string();
    let Some(db) = req.rocket().state::<Db>() else {
        return Resolved(Ok(Actor::public(request_id)));
    };
    let now = chrono::Utc::now();
    if let Some(header) = req.headers().get_one("Authorization") {
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .unwrap_or("")
            .trim();
        return Resolved(match accounts::token_user(&db.0, token, now).await {
            Ok(Some(p)) => Ok(Actor::user(p, request_id)),
            Ok(None) => Err(Status::Unauthorized),
            Err(e) => {
                tracing::error!(request = %request_id, error = %e, "token lookup failed");
                Err(Status::InternalServerError)
            }
        });
    }
    if req.uri().path().starts_with("/api/") {
        return Resolved(Ok(Actor::public(request_id)));
    }
    let jar = req.cookies();
    let Some(secret) = jar.get_private(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Resolved(Ok(Actor::public(request_id)));
    };
    match accounts::session_user(&db.0, &secret, now).await {
        Ok(Ok(p)) => Resolved(Ok(Actor::user(p, request_id))),
        Ok(Err(state)) => {
            jar.remove_private(Cookie::from(SESSION_COOKIE));
            if state == SessionState::Expired {
                req.local_cache(|| SessionExpired(true));
            }
            Resolved(Ok(Actor::public(request_id)))
        }
        Err(e) => {
            tracing::error!(request = %request_id, error = %e, "session lookup failed");
            Resolved(Err(Status::InternalServerError))
        }
    }
}

/// Set when this request came with a session that had been idle too long.
pub struct SessionExpired(pub bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Actor {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let resolved = req.local_cache_async(resolve(req)).await;
        match &resolved.0 {
            Ok(actor) => Outcome::Success(actor.clone()),
            Err(status) => Outcome::Error((*status, ())),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Lang {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(lang_of(req))
    }
}

fn lang_of(req: &Request<'_>) -> Lang {
    req.cookies()
        .get("lang")
        .and_then(|c| Lang::from_code(c.value()))
        .unwrap_or(Lang::Zh)
}

/// The logged-in user as the page header shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Badge {
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub organisation_id: i32,
    pub roles: Vec<&'static str>,
    pub must_change_password: bool,
    pub oversees: bool,
}

fn badge(actor: &Actor) -> Option<Badge> {
    actor.principal().map(|p: &Principal| Badge {
        name: p.name.clone(),
        email: p.email.clone(),
        organisation: p.organisation_name.clone(),
        organisation_id: p.organisation_id,
        roles: p.roles.iter().map(|r| r.as_str()).collect(),
        must_change_password: p.must_change_password,
        oversees: actor.oversees(),
    })
}

/// What every page needs besides its own content.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub lang: Lang,
    pub path: String,
    pub me: Option<Badge>,
    pub csrf: String,
    pub request_id: String,
    pub session_expired: bool,
    /// Today, from the app's clock (a fixed day in demonstrations and tests).
    pub today: chrono::NaiveDate,
}

fn today_of(req: &Request<'_>) -> chrono::NaiveDate {
    req.rocket()
        .state::<super::Clock>()
        .map_or_else(|| super::Clock(None).today(), super::Clock::today)
}

/// The chrome built for this request, kept for the error page of a handler that fails.
struct ChromeSeen(Option<Chrome>);

impl Chrome {
    /// The chrome this request's guard built, if it ran.
    pub fn seen(req: &Request<'_>) -> Option<Chrome> {
        req.local_cache(|| ChromeSeen(None)).0.clone()
    }

    /// For error pages rendered by a catcher, where the actor may not be known.
    pub fn minimal(req: &Request<'_>) -> Chrome {
        Chrome {
            lang: lang_of(req),
            path: req.uri().path().to_string(),
            me: None,
            csrf: String::new(),
            request_id: RequestId::of(req).to_string(),
            session_expired: false,
            today: today_of(req),
        }
    }
}

/// The CSRF token of this browser, created on first use. Forms echo it in a hidden
/// field; [`CsrfForm`] compares the two. The cookie is encrypted and SameSite=Lax, so
/// another site can neither read it nor make the browser send a matching field.
pub fn csrf_token(req: &Request<'_>) -> String {
    let jar = req.cookies();
    if let Some(c) = jar.get_private(CSRF_COOKIE) {
        return c.value().to_owned();
    }
    if let Some(c) = jar.get_pending(CSRF_COOKIE) {
        // Set earlier in this request (e.g. just rotated at login); pending private
        // cookies hold the plain value.
        return c.value().to_owned();
    }
    let token = crate::service::random_hex(32);
    jar.add_private(cookie(tls(req), CSRF_COOKIE, token.clone()));
    token
}

/// Whether `sent` is this browser's CSRF token (compared in constant time). For the
/// multipart forms [`CsrfForm`] cannot read.
pub fn csrf_matches(jar: &CookieJar<'_>, sent: &str) -> bool {
    match jar.get_private(CSRF_COOKIE) {
        Some(c) => !sent.is_empty() && bool::from(c.value().as_bytes().ct_eq(sent.as_bytes())),
        None => false,
    }
}

/// A new CSRF token, after login or logout.
pub fn rotate_csrf(jar: &CookieJar<'_>, tls: bool) {
    jar.add_private(cookie(tls, CSRF_COOKIE, crate::service::random_hex(32)));
}

/// Whether this server speaks TLS (cookies are then marked Secure).
pub struct Tls(pub bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Tls {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Tls(tls(req)))
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Chrome {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let actor = match req.guard::<Actor>().await {
            Outcome::Success(a) => a,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(s) => return Outcome::Forward(s),
        };
        let chrome = Chrome {
            lang: lang_of(req),
            path: req.uri().to_string(),
            me: badge(&actor),
            csrf: csrf_token(req),
            request_id: actor.request_id.clone(),
            session_expired: req.local_cache(|| SessionExpired(false)).0,
            today: today_of(req),
        };
        req.local_cache(|| ChromeSeen(Some(chrome.clone())));
        Outcome::Success(chrome)
    }
}

/// The client's address: the socket peer (forwarded headers are honoured only when
/// the operator names one with ROCKET_IP_HEADER, behind their own proxy).
pub struct ClientAddr(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddr {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientAddr(
            req.client_ip()
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

/// The decoded query parameters of a request, in order, for filters that must reject
/// unknown names rather than ignore them.
pub struct QueryPairs(pub Vec<(String, String)>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for QueryPairs {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let pairs = req
            .uri()
            .query()
            .map(|q| q.segments().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
            .unwrap_or_default();
        Outcome::Success(QueryPairs(pairs))
    }
}

impl QueryPairs {
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Largest form body the pages accept: an uncertainty budget of 200 inputs with their
/// readings fits, as its JSON fits the evaluation API.
pub const FORM_LIMIT_KIB: u64 = 256;

/// An url-encoded form body whose `csrf` field matches this browser's CSRF cookie.
/// Every state-changing page route takes one; a mismatch is refused with 403 before
/// the handler runs.
pub struct CsrfForm(pub Vec<(String, String)>);

impl CsrfForm {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The form as a record's input. Fields the record does not have (the CSRF token,
    /// anything a browser adds) are ignored.
    pub fn to_input<T: crate::domain::TextFields>(&self) -> T {
        let mut input = T::default();
        for (k, v) in self.iter() {
            if let Some(f) = input.text_field_mut(k) {
                *f = v.to_owned();
            }
        }
        input
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for CsrfForm {
    type Error = &'static str;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let body = match data.open(FORM_LIMIT_KIB.kibibytes()).into_string().await {
            Ok(s) if s.is_complete() => s.into_inner(),
            Ok(_) => return data::Outcome::Error((Status::PayloadTooLarge, "form too large")),
            Err(_) => return data::Outcome::Error((Status::BadRequest, "unreadable form")),
        };
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        // No field longer than any rule allows gets past the boundary (docs/security.md).
        if let Some((k, _)) = pairs
            .iter()
            .find(|(k, v)| crate::domain::check_field_length(k, v).is_err() || k.len() > 200)
        {
            tracing::warn!(request = %RequestId::of(req), uri = %req.uri(), field = %k.chars().take(60).collect::<String>(), "form refused: a field is too long");
            return data::Outcome::Error((Status::UnprocessableEntity, "field too long"));
        }
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if csrf_matches(req.cookies(), sent) {
            data::Outcome::Success(CsrfForm(pairs))
        } else {
            tracing::warn!(request = %RequestId::of(req), uri = %req.uri(), "form refused: CSRF token missing or wrong");
            data::Outcome::Error((Status::Forbidden, "csrf"))
        }
    }
}

/// What a signature given through a request needs besides its form: the laboratory keys
/// that sign the certificate, today from the app's clock, and the signer's address (kept
/// with the re-authentication in the audit trail).
pub struct Signing<'r> {
    pub keys: &'r crate::service::keys::KeyStore,
    pub today: chrono::NaiveDate,
    pub addr: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Signing<'r> {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(keys) = req.rocket().state::<crate::service::keys::KeyStore>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let addr = match req.guard::<ClientAddr>().await {
            Outcome::Success(a) => a.0,
            _ => "unknown".into(),
        };
        Outcome::Success(Signing {
            keys,
            today: today_of(req),
            addr,
        })
    }
}
