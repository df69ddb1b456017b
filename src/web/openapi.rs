//! The OpenAPI document, generated from the handlers' annotations and the types they
//! return, served at /api/v1/openapi.json.

use super::error::{ErrorBody, ErrorDetail};
use super::standards::StandardInputDoc;
use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use utoipa::OpenApi;

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
        super::uncertainty::decide_api,
        super::uncertainty::risk_api,
        super::uncertainty::analyse_interval_api,
        super::budgets::get_api,
        super::traceability::chain_api,
        super::traceability::audit_api,
        super::traceability::impact_api,
        super::traceability::record_calibration_api,
        super::traceability::dcc_import_api,
        super::schedule::recall_api,
        super::planner::plan_api,
        super::records::record_api,
        super::records::record_view_api,
        super::records::sign_api,
        super::records::correct_api,
        super::records::return_api,
        super::records::withdraw_api,
        super::records::queues_api,
        super::cmc::cmc_api,
        super::cmc::cmc_add_api,
        super::cmc::cmc_rounding_api,
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
    components(schemas(ErrorBody, ErrorDetail, StandardInputDoc, crate::service::records::Queue, crate::service::records::QueueItem)),
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
