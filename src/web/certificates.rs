//! Public verification of certificates: /verify/{token} (the page the QR code opens),
//! an uploaded PDF or DCC checked byte for byte at /verify, and the same under
//! /api/v1. No login: anyone who holds a certificate may verify it.

use super::error::ApiResult;
use super::templates::Templates;
use super::{error_page, render, Chrome, Db, Page};
use crate::service::certificates::{self as svc, Verification};
use crate::service::Error;
use minijinja::value::Serde;
use rocket::data::{Data, ToByteUnit};
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, FromForm, Route, State};

pub fn page_routes() -> Vec<Route> {
    routes![verify_page, verify_form_page, verify_upload_page]
}

pub fn api_routes() -> Vec<Route> {
    routes![verify_token_api, verify_file_api]
}

/// The largest file accepted for verification.
const MAX_UPLOAD_MIB: usize = 8;

#[get("/verify/<token>")]
async fn verify_page(token: &str, db: &State<Db>, templates: &State<Templates>, chrome: Chrome) -> Page {
    match svc::verify_token(&db.0, token).await {
        Ok(v) => render(
            templates,
            "certificates/verify.html",
            &chrome,
            Status::Ok,
            minijinja::context! { v => Serde(&v), token => token },
        ),
        Err(e) => error_page(templates, &chrome, &e),
    }
}

#[get("/verify")]
async fn verify_form_page(templates: &State<Templates>, chrome: Chrome) -> Page {
    render(
        templates,
        "certificates/verify.html",
        &chrome,
        Status::Ok,
        minijinja::context! {},
    )
}

#[derive(FromForm)]
struct Upload<'r> {
    file: TempFile<'r>,
}

async fn read_upload(file: &TempFile<'_>) -> Result<Vec<u8>, Error> {
    let path = file
        .path()
        .ok_or_else(|| Error::field("file", "verify.file_missing", "choose the PDF or DCC file to check"))?;
    rocket::tokio::fs::read(path)
        .await
        .map_err(|e| Error::Internal(format!("the upload cannot be read: {e}")))
}

/// Checks an uploaded file. Reading only: no state changes, so no CSRF token is asked of
/// a visitor who has none.
#[post("/verify", data = "<upload>")]
async fn verify_upload_page(
    upload: Form<Upload<'_>>,
    db: &State<Db>,
    templates: &State<Templates>,
    chrome: Chrome,
) -> Page {
    let result = match read_upload(&upload.file).await {
        Ok(bytes) if bytes.is_empty() => Err(Error::field("file", "verify.file_missing", "the file is empty")),
        Ok(bytes) => svc::verify_file(&db.0, &bytes).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => render(
            templates,
            "certificates/verify.html",
            &chrome,
            Status::Ok,
            minijinja::context! { v => Serde(&v), uploaded => true },
        ),
        Err(e @ Error::Invalid { .. }) => render(
            templates,
            "certificates/verify.html",
            &chrome,
            Status::UnprocessableEntity,
            minijinja::context! { errors => Serde(e.field_messages()) },
        ),
        Err(e) => error_page(templates, &chrome, &e),
    }
}

/// A certificate's verification by the token of its QR code: number, status (issued,
/// superseded, withdrawn), issuer, item, dates and digests, and whether its signature holds.
#[utoipa::path(
    get, path = "/api/v1/verify/{token}", tag = "certificates",
    params(("token" = String, Path)),
    responses((status = 200, description = "the certificate's standing"), (status = 404, description = "no such certificate"))
)]
#[get("/verify/<token>")]
pub async fn verify_token_api(token: &str, db: &State<Db>) -> ApiResult<Json<Verification>> {
    Ok(Json(svc::verify_token(&db.0, token).await?))
}

/// Checks a file sent as the request body (a certificate's PDF or DCC): `genuine` only
/// when it is byte for byte the issued file and the laboratory's signature holds.
#[utoipa::path(
    post, path = "/api/v1/certificates/verify", tag = "certificates",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "the verdict"), (status = 422, body = super::openapi::ErrorBody))
)]
#[post("/certificates/verify", data = "<data>")]
pub async fn verify_file_api(data: Data<'_>, db: &State<Db>) -> ApiResult<Json<Verification>> {
    let body = data
        .open(MAX_UPLOAD_MIB.mebibytes())
        .into_bytes()
        .await
        .map_err(|e| Error::field("body", "request.unreadable", format!("the body could not be read: {e}")))?;
    if !body.is_complete() {
        return Err(Error::field(
            "body",
            "request.too_large",
            format!("the file is larger than {MAX_UPLOAD_MIB} MiB"),
        )
        .into());
    }
    if body.is_empty() {
        return Err(Error::field("body", "verify.file_missing", "send the PDF or DCC file as the body").into());
    }
    Ok(Json(svc::verify_file(&db.0, &body).await?))
}
