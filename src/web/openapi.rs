//! The OpenAPI document, generated from the handlers' annotations and the types they
//! return, served at /api/v1/openapi.json.

use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use serde::Serialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// The query parameters of the register list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// Full-text search over name, JJF 1022 code, certificate number and owner.
    q: Option<String>,
    /// GB/T 2260 code of the owner's city, e.g. 440100.
    city: Option<String>,
    /// A JJF 1022 code or its first 2, 4 or 6 digits, e.g. 04.
    category: Option<String>,
    /// The owner's id or unified social credit code.
    owner: Option<String>,
    /// national_primary, provincial_public, city_public, county_public, department_highest, enterprise_highest.
    level: Option<String>,
    /// in_service, suspended, expired, withdrawn. `expired` includes standards whose
    /// assessment certificate expired before today.
    status: Option<String>,
    /// Assessment certificates expiring between today and today + N days (0–3650).
    expiring_within_days: Option<u32>,
    /// name, cert_expires_on, category_code or updated_at; prefix with - to reverse.
    sort: Option<String>,
    /// Page number from 1.
    page: Option<u32>,
    /// Items per page, 1–200 (default 50).
    per_page: Option<u32>,
}

/// The error shape of every 4xx and 5xx answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code, e.g. `list.per_page_invalid` or `standard.category_format`.
    code: String,
    message: String,
    /// Field name → what is wrong with it.
    fields: std::collections::BTreeMap<String, String>,
}

/// A standard as submitted. Every value is a string; quantities carry their unit.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct StandardInputDoc {
    #[schema(example = "量块标准装置")]
    name_zh: String,
    #[schema(example = "Gauge block standard")]
    name_en: Option<String>,
    /// JJF 1022-2014 code, 8 digits.
    #[schema(example = "01219000")]
    category_code: String,
    /// The owner's unified social credit code. An institute admin's standards always
    /// belong to their own organisation, whatever this says.
    owner: String,
    #[schema(example = "city_public")]
    level: String,
    /// Assessment certificate number.
    cert_no: String,
    cert_authority: String,
    #[schema(example = "2024-03-01")]
    cert_issued_on: String,
    #[schema(example = "2028-02-29")]
    cert_expires_on: String,
    #[schema(example = "in_service")]
    status: Option<String>,
    /// The kind of quantity measured, e.g. length, temperature, pressure.
    #[schema(example = "length")]
    quantity: String,
    #[schema(example = "0.5 mm")]
    range_min: String,
    #[schema(example = "100 mm")]
    range_max: String,
    /// uncertainty, accuracy_class or mpe.
    #[schema(example = "uncertainty")]
    accuracy_kind: String,
    #[schema(example = "0.05 µm")]
    accuracy: String,
    #[schema(example = "JJG 146-2011")]
    regulations: Option<String>,
    responsible_person: String,
}

/// Declares the bearer-token scheme the API uses.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token from your account page or `metrocal token create`. Reading the \
                         public register needs none; everything else does.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "metrocal API",
        description = "The province's register of public metrology standards. The register is open \
                       data; everything else needs `Authorization: Bearer <token>`. Fields that name a \
                       role or an organisation (role, roles, organisation_id, org_id, owner_id, user_id) \
                       are ignored in request bodies: who acts, for which organisation, comes from the token."
    ),
    paths(
        super::standards::list_api,
        super::standards::get_api,
        super::standards::create_api,
        super::standards::update_api,
        super::dashboard::dashboard_api,
        super::accounts::me_api,
        super::accounts::token_revoke_api,
        super::organisations::get_api,
        super::audit::audit_api,
        super::uncertainty::evaluate_api,
        super::budgets::get_api,
        super::traceability::chain_api,
        super::traceability::audit_api,
        super::traceability::impact_api,
        super::traceability::record_link_api,
        super::traceability::dcc_import_api,
        super::schedule::recall_api,
        super::planner::plan_api,
        super::records::record_api,
        super::records::record_view_api,
        super::records::sign_api,
        super::records::correct_api,
        super::cmc::cmc_api,
        super::cmc::cmc_add_api,
        super::cmc::cmc_remove_api,
        super::certificates::verify_token_api,
        super::certificates::verify_file_api,
        super::certificates::list_api,
        super::certificates::detail_api,
        super::certificates::file_api,
        super::certificates::edit_api_put,
        super::certificates::amend_api,
        super::certificates::withdraw_api,
        super::certificates::keys_api,
        super::certificates::rotate_key_api,
        super::intervals::list_api,
        super::intervals::propose_api,
        super::intervals::decide_api,
        super::lifecycle::lifecycle_api,
        super::lifecycle::check_api,
        super::lifecycle::logbook_api,
        super::work_orders::list_api,
        super::work_orders::create_api,
        super::work_orders::move_api,
    ),
    components(schemas(ErrorBody, ErrorDetail, StandardInputDoc)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

#[get("/openapi.json")]
fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

pub fn routes() -> Vec<Route> {
    routes![openapi]
}
