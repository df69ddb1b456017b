//! The one mapping from service errors to HTTP: JSON for the API, pages for people.

use crate::service::Error;
use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde_json::json;
use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use utoipa::ToSchema;

/// The id of a request: in the log line, the X-Request-Id header, every 500 answer and
/// every audit event the request writes. A random prefix per process plus a counter,
/// so ids stay unique across restarts and across app instances.
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub u64);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static PROCESS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

impl RequestId {
    pub fn of(req: &Request<'_>) -> RequestId {
        *req.local_cache(|| RequestId(NEXT_ID.fetch_add(1, Ordering::Relaxed)))
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let process = PROCESS.get_or_init(rand::random::<u32>);
        write!(f, "req-{process:08x}-{:06x}", self.0)
    }
}

pub fn status_of(e: &Error) -> Status {
    match e {
        Error::NotFound { .. } => Status::NotFound,
        Error::Unauthenticated => Status::Unauthorized,
        Error::Forbidden | Error::PasswordChangeRequired | Error::Refused { .. } => Status::Forbidden,
        Error::Throttled { .. } => Status::TooManyRequests,
        Error::Conflict { .. } => Status::Conflict,
        Error::Invalid { .. } => Status::UnprocessableEntity,
        Error::Busy { .. } => Status::ServiceUnavailable,
        Error::Internal(_) => Status::InternalServerError,
    }
}

/// The error shape of every 4xx and 5xx answer.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code, e.g. `list.per_page_invalid` or `standard.category_format`.
    code: String,
    message: String,
    /// Field name → what is wrong with it.
    fields: std::collections::BTreeMap<String, String>,
}

/// `{"error": {"code", "message", "fields"}}` (an [`ErrorBody`]) as text.
pub fn error_json(code: &str, message: &str, fields: serde_json::Value) -> String {
    json!({ "error": { "code": code, "message": message, "fields": fields } }).to_string()
}

pub fn json_response<'r>(status: Status, body: String) -> response::Result<'r> {
    Response::build()
        .status(status)
        .header(ContentType::JSON)
        .sized_body(body.len(), Cursor::new(body))
        .ok()
}

/// A service error answered as JSON (the API).
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = status_of(&self.0);
        let message = match &self.0 {
            Error::Internal(cause) => {
                let id = RequestId::of(req);
                tracing::error!(request = %id, %cause, "internal error");
                format!("internal error; quote request id {id} to the operator")
            }
            e => e.to_string(),
        };
        let fields = serde_json::to_value(self.0.field_messages()).unwrap_or_default();
        let mut res = json_response(status, error_json(self.0.code(), &message, fields))?;
        if let Error::Busy { retry_after_secs } = self.0 {
            res.set_raw_header("Retry-After", retry_after_secs.to_string());
        }
        Ok(res)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
