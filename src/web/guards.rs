//! Request guards: who is asking, in which language, with which query.

use super::templates::Lang;
use crate::service::Actor;
use rocket::request::{FromRequest, Outcome, Request};

/// The actor of a request. Until accounts exist, only a request whose socket peer is
/// the loopback interface acts as the operator. The peer address is used, never a
/// forwarded-for header, which a remote client could forge.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for Actor {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let local = req.remote().is_some_and(|a| a.ip().is_loopback());
        Outcome::Success(if local {
            Actor::Operator { via: "loopback" }
        } else {
            Actor::Public
        })
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Lang {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let lang = req
            .cookies()
            .get("lang")
            .and_then(|c| Lang::from_code(c.value()))
            .unwrap_or(Lang::Zh);
        Outcome::Success(lang)
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

/// The request's path, for the language switch to return to.
pub struct CurrentPath(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentPath {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(CurrentPath(req.uri().to_string()))
    }
}
