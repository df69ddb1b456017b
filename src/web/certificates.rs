//! Certificates: public verification (/verify/{token}, the page the QR code opens; an
//! uploaded PDF or DCC checked byte for byte at /verify; no login), and the portal where
//! an enterprise finds and downloads its certificates (/certificates), with the same
//! under /api/v1.

use super::error::ApiResult;
use super::guards::{ClientAddr, CsrfForm, QueryPairs, Signing};
use super::{Db, Page, PageResult, Ui};
use crate::service::certificates::{self as svc, Verification};
use crate::service::keys::KeyStore;
use crate::service::Actor;
use crate::service::Error;
use minijinja::value::Serde;
use rocket::data::{Data, ToByteUnit};
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::http::{ContentType, Header};
use rocket::serde::json::Json;
use rocket::{get, patch, post, put, routes, FromForm, Responder, Route, State};

pub fn page_routes() -> Vec<Route> {
    routes![
        verify_page,
        verify_form_page,
        verify_upload_page,
        list_page,
        zip_download,
        detail_page,
        file_download,
        amend_page,
        withdraw_page,
        keys_page,
        rotate_key_page
    ]
}

pub fn api_routes() -> Vec<Route> {
    routes![
        verify_token_api,
        verify_file_api,
        list_api,
        detail_api,
        file_api,
        edit_api_put,
        edit_api_patch,
        amend_api,
        withdraw_api,
        keys_api,
        rotate_key_api
    ]
}

/// The largest file accepted for verification.
const MAX_UPLOAD_MIB: usize = 8;

#[get("/verify/<token>")]
async fn verify_page(token: &str, db: &State<Db>, ui: Ui<'_>) -> PageResult {
    let v = svc::verify_token(&db.0, token).await?;
    Ok(ui.render(
        "certificates/verify.html",
        Status::Ok,
        minijinja::context! { v => Serde(&v), token => token },
    ))
}

#[get("/verify")]
async fn verify_form_page(ui: Ui<'_>) -> PageResult {
    Ok(ui.render("certificates/verify.html", Status::Ok, minijinja::context! {}))
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
async fn verify_upload_page(upload: Form<Upload<'_>>, db: &State<Db>, ui: Ui<'_>) -> PageResult {
    let result = match read_upload(&upload.file).await {
        Ok(bytes) if bytes.is_empty() => Err(Error::field("file", "verify.file_missing", "the file is empty")),
        Ok(bytes) => svc::verify_file(&db.0, &bytes).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => Ok(ui.render(
            "certificates/verify.html",
            Status::Ok,
            minijinja::context! { v => Serde(&v), uploaded => true },
        )),
        Err(e @ Error::Invalid { .. }) => Ok(ui.render(
            "certificates/verify.html",
            Status::UnprocessableEntity,
            minijinja::context! { errors => Serde(e.field_messages()) },
        )),
        Err(e) => Err(e.into()),
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
    responses((status = 200, description = "the verdict"), (status = 422, body = super::error::ErrorBody))
)]
#[post("/certificates/verify", data = "<data>")]
pub async fn verify_file_api(data: Data<'_>, db: &State<Db>) -> ApiResult<Json<Verification>> {
    let body = super::body::read_bytes(data, MAX_UPLOAD_MIB.mebibytes(), &format!("{MAX_UPLOAD_MIB} MiB")).await?;
    if body.is_empty() {
        return Err(Error::field("body", "verify.file_missing", "send the PDF or DCC file as the body").into());
    }
    Ok(Json(svc::verify_file(&db.0, &body).await?))
}

/// A file download: the bytes with their type, as an attachment with a safe name.
#[derive(Responder)]
pub enum Download {
    File(Vec<u8>, ContentType, Header<'static>),
    Page(Page),
}

impl Download {
    /// `name` is made of the certificate number's safe characters only.
    pub fn attachment(bytes: Vec<u8>, name: &str) -> Download {
        let kind = match name.rsplit('.').next() {
            Some("pdf") => ContentType::PDF,
            Some("xml") => ContentType::XML,
            Some("zip") => ContentType::ZIP,
            _ => ContentType::Binary,
        };
        Download::File(
            bytes,
            kind,
            Header::new("Content-Disposition", format!("attachment; filename=\"{name}\"")),
        )
    }
}

const PAGE: u64 = 50;

fn page_params(q: &std::collections::BTreeMap<&str, &str>) -> Result<(u64, u64), Error> {
    let num = |k: &str, default: u64| -> Result<u64, Error> {
        match q.get(k).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| Error::field(k, "field.number", "a whole number")),
        }
    };
    let offset = match q.get("offset").filter(|v| !v.is_empty()) {
        None => 0,
        Some(v) => crate::domain::list_position("offset", v, 0).map_err(|e| Error::invalid(vec![e]))?,
    };
    Ok((offset, num("limit", PAGE)?))
}

#[get("/certificates")]
async fn list_page(db: &State<Db>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> PageResult {
    let q: std::collections::BTreeMap<&str, &str> = query.iter().collect();
    let result = match page_params(&q) {
        Ok((offset, limit)) => svc::list(&actor, &db.0, q.get("q").copied().unwrap_or(""), offset, limit).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(l) => Ok(ui.render(
            "certificates/list.html",
            Status::Ok,
            minijinja::context! { l => Serde(&l), next => l.offset + l.certificates.len() as u64 },
        )),
        Err(e @ Error::Invalid { .. }) => Ok(ui.render(
            "certificates/list.html",
            Status::UnprocessableEntity,
            minijinja::context! { typed => Serde(&q), errors => Serde(e.field_messages()) },
        )),
        Err(e) => Err(e.into()),
    }
}

/// Several certificates' files in one ZIP: `number` repeated.
#[get("/certificates.zip")]
async fn zip_download(db: &State<Db>, actor: Actor, ui: Ui<'_>, query: QueryPairs) -> Download {
    let numbers: Vec<String> = query
        .iter()
        .filter(|(k, _)| *k == "number")
        .map(|(_, v)| v.to_owned())
        .collect();
    match svc::zip(&actor, &db.0, &numbers).await {
        Ok(bytes) => Download::attachment(bytes, "certificates.zip"),
        Err(e) => Download::Page(ui.error(&e)),
    }
}

#[get("/certificates/<number>", rank = 2)]
async fn detail_page(
    number: &str,
    db: &State<Db>,
    actor: Actor,
    ui: Ui<'_>,
    keys: &State<crate::service::keys::KeyStore>,
) -> PageResult {
    detail_view(db, &actor, &ui, keys, number, Status::Ok, minijinja::context! {}).await
}

/// The certificate's page. The issuing laboratory's administrator is warned when the
/// server's public address is this machine: the QR codes it prints open nowhere.
async fn detail_view(
    db: &Db,
    actor: &Actor,
    ui: &Ui<'_>,
    keys: &crate::service::keys::KeyStore,
    number: &str,
    status: Status,
    extra: minijinja::Value,
) -> PageResult {
    let (c, s) = svc::get(actor, &db.0, number).await?;
    let local_qr = (c.lab_admin && crate::config::address_is_local(keys.public_url())).then(|| keys.public_url());
    Ok(ui.render(
        "certificates/detail.html",
        status,
        minijinja::context! {
            c => Serde(&c),
            texts => Serde(&s.points.iter().map(|p| p.texts()).collect::<Vec<_>>()),
            s => Serde(&s),
            local_qr => local_qr,
            ..extra
        },
    ))
}

/// The amendment form's fields: the item's identity, the method and the dates, the
/// parts a laboratory most often corrects. Other parts are amended through the API.
const AMEND_FIELDS: &[&str] = &[
    "item.name.zh",
    "item.name.en",
    "item.manufacturer",
    "item.model",
    "item.serial",
    "method",
    "received_on",
    "calibrated_on",
];

/// The changes an amendment form asks for, as a merge patch: only the fields typed
/// differently from the certificate.
fn form_changes(form: &CsrfForm, current: &serde_json::Value) -> serde_json::Value {
    let mut changes = serde_json::Map::new();
    for f in AMEND_FIELDS {
        let typed = form.get(&f.replace('.', "_")).trim();
        let path: Vec<&str> = f.split('.').collect();
        let now = path
            .iter()
            .try_fold(current, |v, k| v.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if typed.is_empty() || typed == now {
            continue;
        }
        let mut node = &mut changes;
        for k in &path[..path.len() - 1] {
            node = node
                .entry((*k).to_owned())
                .or_insert_with(|| serde_json::Value::Object(Default::default()))
                .as_object_mut()
                .expect("an object");
        }
        node.insert(path[path.len() - 1].to_owned(), typed.into());
    }
    serde_json::Value::Object(changes)
}

#[post("/certificates/<number>/amend", data = "<form>")]
async fn amend_page(
    number: &str,
    form: CsrfForm,
    db: &State<Db>,
    actor: Actor,
    ui: Ui<'_>,
    signing: Signing<'_>,
) -> PageResult {
    let current = match svc::get(&actor, &db.0, number).await {
        Ok((_, s)) => serde_json::to_value(&s).unwrap_or_default(),
        Err(e) => return Err(e.into()),
    };
    let changes = form_changes(&form, &current);
    match svc::amend(
        &actor,
        &db.0,
        number,
        form.get("reason"),
        &changes,
        form.get("password"),
        &signing.addr,
        signing.today,
        chrono::Utc::now(),
    )
    .await
    {
        Ok(a) => Ok(Page::redirect(format!("/records/{}", a.record_id))),
        Err(e @ Error::Invalid { .. }) => {
            let typed: std::collections::BTreeMap<&str, &str> = form.iter().filter(|(k, _)| *k != "password").collect();
            let messages: std::collections::BTreeMap<String, String> = e
                .field_messages()
                .into_iter()
                .map(|(k, v)| (k.trim_start_matches("changes.").replace('.', "_"), v))
                .collect();
            detail_view(
                db,
                &actor,
                &ui,
                signing.keys,
                number,
                Status::UnprocessableEntity,
                minijinja::context! { amend_form => Serde(&typed), amend_errors => Serde(&messages) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[post("/certificates/<number>/withdraw", data = "<form>")]
async fn withdraw_page(
    number: &str,
    form: CsrfForm,
    db: &State<Db>,
    actor: Actor,
    ui: Ui<'_>,
    addr: ClientAddr,
    keys: &State<crate::service::keys::KeyStore>,
) -> PageResult {
    match svc::withdraw(
        &actor,
        &db.0,
        number,
        form.get("reason"),
        form.get("password"),
        &addr.0,
        chrono::Utc::now(),
    )
    .await
    {
        Ok(()) => Ok(Page::redirect(format!("/certificates/{number}"))),
        Err(e @ Error::Invalid { .. }) => {
            let typed: std::collections::BTreeMap<&str, &str> = form.iter().filter(|(k, _)| *k != "password").collect();
            detail_view(
                db,
                &actor,
                &ui,
                keys,
                number,
                Status::UnprocessableEntity,
                minijinja::context! { withdraw_form => Serde(&typed), withdraw_errors => Serde(e.field_messages()) },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[get("/organisations/<id>/keys")]
async fn keys_page(id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let (keys, may_rotate) = svc::keys_of(&actor, &db.0, id).await?;
    Ok(ui.render(
        "certificates/keys.html",
        Status::Ok,
        minijinja::context! { lab_id => id, keys => Serde(&keys), may_rotate => may_rotate },
    ))
}

#[post("/organisations/<id>/keys/rotate", data = "<_form>")]
async fn rotate_key_page(
    id: i32,
    _form: CsrfForm,
    db: &State<Db>,
    keys: &State<KeyStore>,
    actor: Actor,
    _ui: Ui<'_>,
) -> PageResult {
    svc::rotate_key(&actor, &db.0, keys, id, chrono::Utc::now()).await?;
    Ok(Page::redirect(format!("/organisations/{id}/keys")))
}

#[get("/certificates/<number>/<file>")]
async fn file_download(number: &str, file: &str, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> Download {
    match svc::download(&actor, &db.0, number, file).await {
        Ok((name, bytes)) => Download::attachment(bytes, &name),
        Err(e) => Download::Page(ui.error(&e)),
    }
}

/// The certificates the caller may see: an enterprise its own, a laboratory those it
/// issued, the regulator all; `q` searches the number, item and names.
#[utoipa::path(
    get, path = "/api/v1/certificates", tag = "certificates",
    params(("q" = Option<String>, Query), ("offset" = Option<u64>, Query), ("limit" = Option<u64>, Query, description = "at most 200")),
    responses((status = 200, description = "the list"), (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[get("/certificates")]
pub async fn list_api(db: &State<Db>, actor: Actor, query: QueryPairs) -> ApiResult<Json<svc::CertificateList>> {
    let q: std::collections::BTreeMap<&str, &str> = query.iter().collect();
    let (offset, limit) = page_params(&q)?;
    Ok(Json(
        svc::list(&actor, &db.0, q.get("q").copied().unwrap_or(""), offset, limit).await?,
    ))
}

#[derive(serde::Serialize)]
pub struct CertificateDetail {
    #[serde(flatten)]
    certificate: svc::CertificateView,
    content: crate::domain::certificates::Snapshot,
}

/// One certificate with its frozen content.
#[utoipa::path(
    get, path = "/api/v1/certificates/{number}", tag = "certificates",
    params(("number" = String, Path)),
    responses((status = 200, description = "the certificate"), (status = 404, description = "not one the caller may see")),
    security(("bearer" = []))
)]
#[get("/certificates/<number>", rank = 2)]
pub async fn detail_api(number: &str, db: &State<Db>, actor: Actor) -> ApiResult<Json<CertificateDetail>> {
    let (certificate, content) = svc::get(&actor, &db.0, number).await?;
    Ok(Json(CertificateDetail { certificate, content }))
}

/// A certificate's issued file: `dcc` (XML) or `pdf`, as an attachment.
#[utoipa::path(
    get, path = "/api/v1/certificates/{number}/{file}", tag = "certificates",
    params(("number" = String, Path), ("file" = String, Path, description = "dcc or pdf")),
    responses((status = 200, description = "the file"), (status = 404, description = "not one the caller may see")),
    security(("bearer" = []))
)]
#[get("/certificates/<number>/<file>")]
pub async fn file_api(
    number: &str,
    file: &str,
    db: &State<Db>,
    actor: Actor,
) -> Result<Download, super::error::ApiError> {
    let (name, bytes) = svc::download(&actor, &db.0, number, file).await?;
    Ok(Download::attachment(bytes, &name))
}

/// An issued certificate never changes (ISO/IEC 17025 §7.8.8): an amendment is a new
/// certificate. Every edit is refused with 409.
#[utoipa::path(
    put, path = "/api/v1/certificates/{number}", tag = "certificates",
    params(("number" = String, Path)),
    responses((status = 409, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[put("/certificates/<number>", data = "<_body>")]
pub async fn edit_api_put(number: &str, _body: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<Json<()>> {
    Err(immutable(&actor, db, number).await.into())
}

#[patch("/certificates/<number>", data = "<_body>")]
pub async fn edit_api_patch(number: &str, _body: Data<'_>, db: &State<Db>, actor: Actor) -> ApiResult<Json<()>> {
    Err(immutable(&actor, db, number).await.into())
}

/// 404 for a certificate the caller may not see, else 409.
async fn immutable(actor: &Actor, db: &Db, number: &str) -> Error {
    match svc::get(actor, &db.0, number).await {
        Ok(_) => Error::Conflict {
            code: "certificate.immutable",
            message: "an issued certificate cannot be changed; issue an amendment".into(),
            fields: vec![],
        },
        Err(e) => e,
    }
}

#[derive(serde::Deserialize)]
struct AmendBody {
    reason: String,
    #[serde(default)]
    changes: serde_json::Value,
    password: String,
}

/// Opens the amendment of a certificate (ISO/IEC 17025 §7.8.8): `reason`, `changes` (a
/// JSON Merge Patch over the amendable parts: customer and item as they print, method,
/// received_on, calibrated_on, interval_months, adjusted; optional) and the drafter's
/// `password`. Its record reopens as the draft of revision n + 1: results are corrected
/// on the record, which is then signed as performed, reviewed and approved by two people
/// other than the drafter; the approval issues the amending certificate and supersedes
/// this one. Answers the record's revision.
#[utoipa::path(
    post, path = "/api/v1/certificates/{number}/amend", tag = "certificates",
    params(("number" = String, Path)),
    responses((status = 201, description = "the record's new revision, a draft"), (status = 403, description = "not a technician or approver of the issuing laboratory"),
        (status = 404, description = "not one the caller may see"), (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/certificates/<number>/amend", data = "<data>")]
pub async fn amend_api(
    number: &str,
    data: Data<'_>,
    db: &State<Db>,
    actor: Actor,
    signing: Signing<'_>,
) -> ApiResult<(Status, Json<crate::service::records::Amendment>)> {
    let body = super::body::read_body(data).await?;
    let b: AmendBody = super::body::json_input(&body)?;
    let a = svc::amend(
        &actor,
        &db.0,
        number,
        &b.reason,
        &b.changes,
        &b.password,
        &signing.addr,
        signing.today,
        chrono::Utc::now(),
    )
    .await?;
    Ok((Status::Created, Json(a)))
}

#[derive(serde::Deserialize)]
struct WithdrawBody {
    reason: String,
    password: String,
}

/// Withdraws a certificate: `reason` and the approver's `password`. It stays
/// downloadable, and its verification page says it is withdrawn.
#[utoipa::path(
    post, path = "/api/v1/certificates/{number}/withdraw", tag = "certificates",
    params(("number" = String, Path)),
    responses((status = 200, description = "withdrawn"), (status = 403, description = "not an approver of the issuing laboratory, or a wrong password"),
        (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[post("/certificates/<number>/withdraw", data = "<data>")]
pub async fn withdraw_api(
    number: &str,
    data: Data<'_>,
    db: &State<Db>,
    actor: Actor,
    addr: ClientAddr,
) -> ApiResult<Json<svc::CertificateView>> {
    let body = super::body::read_body(data).await?;
    let b: WithdrawBody = super::body::json_input(&body)?;
    svc::withdraw(
        &actor,
        &db.0,
        number,
        &b.reason,
        &b.password,
        &addr.0,
        chrono::Utc::now(),
    )
    .await?;
    Ok(Json(svc::get(&actor, &db.0, number).await?.0))
}

/// A laboratory's signing keys: the current one, and the retired ones that still verify
/// what they signed.
#[utoipa::path(
    get, path = "/api/v1/organisations/{id}/keys", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 200, description = "the keys"), (status = 404, description = "not the caller's laboratory")),
    security(("bearer" = []))
)]
#[get("/organisations/<id>/keys")]
pub async fn keys_api(id: i32, db: &State<Db>, actor: Actor) -> ApiResult<Json<Vec<svc::KeyView>>> {
    Ok(Json(svc::keys_of(&actor, &db.0, id).await?.0))
}

/// Rotates a laboratory's signing key (its institute admin, or a system admin).
#[utoipa::path(
    post, path = "/api/v1/organisations/{id}/keys/rotate", tag = "certificates",
    params(("id" = i32, Path)),
    responses((status = 200, description = "the new key's id"), (status = 403, description = "not the laboratory's admin")),
    security(("bearer" = []))
)]
#[post("/organisations/<id>/keys/rotate")]
pub async fn rotate_key_api(
    id: i32,
    db: &State<Db>,
    keys: &State<KeyStore>,
    actor: Actor,
) -> ApiResult<Json<serde_json::Value>> {
    let key_id = svc::rotate_key(&actor, &db.0, keys, id, chrono::Utc::now()).await?;
    Ok(Json(serde_json::json!({ "key_id": key_id })))
}
