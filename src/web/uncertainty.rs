//! /api/v1/uncertainty: the evaluation engine over HTTP.

use super::error::ApiResult;
use crate::domain::uncertainty::{problem::parse_problem, Evaluation};
use crate::service::uncertainty::Evaluator;
use crate::service::{Actor, Error};
use rocket::data::Data;
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};

pub fn api_routes() -> Vec<Route> {
    routes![evaluate_api, decide_api, risk_api, analyse_interval_api]
}

/// A statement of conformity, checked before relying on a rule (ILAC-G8:09/2019):
/// `measured` ("10.0085 V"), `lower_limit` and `upper_limit` (either may be null or absent
/// for a one-sided limit), `expanded_uncertainty`, `k`, `rule` (simple, guarded,
/// non_binary), `guard_multiple` (r, default 1) and `cmc` (optional, the laboratory's CMC
/// as an expanded uncertainty at the same coverage). Answers, as numbers in the unit of
/// `measured`: `unit`, `decision`, `expanded_uncertainty` (after the CMC floor),
/// `raised_to_cmc`, `guard_band` (w = r·U; 0 for simple acceptance) and
/// `acceptance_limits` {`lower`, `upper`}. Writes nothing.
#[utoipa::path(
    post, path = "/api/v1/conformity/decide", tag = "uncertainty",
    request_body(content = Object, description = "measured, lower_limit, upper_limit, expanded_uncertainty, k, rule, guard_multiple, cmc"),
    responses(
        (status = 200, description = "unit, decision, expanded_uncertainty, raised_to_cmc, guard_band, acceptance_limits", body = Object),
        (status = 401, body = super::error::ErrorBody),
        (status = 422, description = "The field at fault is named", body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/conformity/decide", data = "<data>")]
pub async fn decide_api(data: Data<'_>, actor: Actor) -> ApiResult<Json<crate::service::calculators::DecideAnswer>> {
    let body = super::body::read_body(data).await?;
    let input: crate::service::calculators::DecideInput = super::body::json_input(&body)?;
    Ok(Json(crate::service::calculators::decide(&actor, &input)?))
}

/// The risks of a conformity decision (JCGM 106:2012 §9): `lower_limit`, `upper_limit`
/// (either may be null or absent), `acceptance_limits` {`lower`, `upper`} (default the
/// tolerance limits), `standard_uncertainty` (of the measurement, normal), `measured`
/// (for the specific risk), `process` {`mean`, `sd`} or {`mean`,
/// `in_tolerance_probability`} (for the global risk) and `measurement_bias`. Quantities
/// are written with their unit, or as bare numbers in the unit of the first one that has
/// one. Answers `specific` {`accepted`, `probability_conforming`,
/// `probability_nonconforming`, `pfa`, `pfr`} and `global` {`in_tolerance_probability`,
/// `pfa`, `pfr`, `conditional_pfa`}, each null when not asked for. Writes nothing.
#[utoipa::path(
    post, path = "/api/v1/conformity/risk", tag = "uncertainty",
    request_body(content = Object, description = "lower_limit, upper_limit, acceptance_limits, standard_uncertainty, measured, process, measurement_bias"),
    responses(
        (status = 200, description = "specific, global", body = Object),
        (status = 401, body = super::error::ErrorBody),
        (status = 422, description = "The field at fault is named", body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/conformity/risk", data = "<data>")]
pub async fn risk_api(data: Data<'_>, actor: Actor) -> ApiResult<Json<crate::service::calculators::RiskAnswer>> {
    let body = super::body::read_body(data).await?;
    let input: crate::service::calculators::RiskInput = super::body::json_input(&body)?;
    Ok(Json(crate::service::calculators::risk(&actor, &input)?))
}

/// Calibration interval methods, to check before relying on one: `method` `staircase`
/// (ILAC-G24 method 1), `a3` (NCSLI RP-1 interval test) or `s2` (RP-1 maximum
/// likelihood with the exponential model and its F test). The fields of each are in
/// docs/uncertainty.md, "Calibration intervals". Writes nothing.
#[utoipa::path(
    post, path = "/api/v1/intervals/analyse", tag = "schedule",
    request_body(content = Object, description = "method and its fields: staircase (initial_interval_months, mpe, as_found_errors, parameters), a3 (n, in_tolerance, current_interval_days, reliability_target, confidence, max_change_factor, min_interval_days, max_interval_days), s2 (reliability_target, groups)"),
    responses(
        (status = 200, description = "staircase: steps, final_interval_months; a3: observed_reliability, confidence_interval, decision, unclamped_interval_days, new_interval_days; s2: lambda, interval, f_test", body = Object),
        (status = 401, body = super::error::ErrorBody),
        (status = 422, description = "The field at fault is named", body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/intervals/analyse", data = "<data>")]
pub async fn analyse_interval_api(data: Data<'_>, actor: Actor) -> ApiResult<Json<serde_json::Value>> {
    let body = super::body::read_body(data).await?;
    let input: crate::service::calculators::IntervalInput = super::body::json_input(&body)?;
    Ok(Json(crate::service::calculators::analyse_interval(&actor, &input)?))
}

/// Largest problem accepted (readings included).
const BODY_LIMIT_KIB: u64 = 256;

/// Evaluate a measurement model: the GUM framework for each measurand, and Monte Carlo
/// when `monte_carlo` is given. The format is in docs/uncertainty.md.
#[utoipa::path(
    post, path = "/api/v1/uncertainty/evaluate", tag = "uncertainty",
    request_body(content = Object, description = "The problem: measurands, model, inputs, correlations, coverage, monte_carlo"),
    responses(
        (status = 200, description = "One result per measurand and their correlation matrix", body = Object),
        (status = 401, body = super::error::ErrorBody),
        (status = 422, description = "The field at fault is named (also when the evaluation would cost more than the limits allow, or ran past its deadline)", body = super::error::ErrorBody),
        (status = 503, description = "As many Monte Carlo evaluations as the server runs at once are running and waiting; try again after Retry-After seconds", body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/uncertainty/evaluate", data = "<data>")]
pub async fn evaluate_api(data: Data<'_>, evaluator: &State<Evaluator>, actor: Actor) -> ApiResult<Json<Evaluation>> {
    let body = super::body::read_text(data, BODY_LIMIT_KIB).await?;
    actor.require_login()?;
    let problem = parse_problem(&body).map_err(|e| Error::invalid(vec![e]))?;
    Ok(Json(evaluator.evaluate(&actor, problem).await?))
}
