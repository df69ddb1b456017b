//! Uncertainty budgets: the form, the budget page with its Monte Carlo histogram, and
//! GET /api/v1/budgets/{id}.

use super::error::ApiResult;
use super::guards::CsrfForm;
use super::{Db, Page, PageResult, Ui};
use crate::domain::uncertainty::form::{BudgetForm, KINDS, PARAMETERS, SPARE_ROWS};
use crate::domain::uncertainty::{Evaluation, MeasurandResult};
use crate::service::budgets::{self as svc, BudgetView, InputView, StandardRef};
use crate::service::uncertainty::Evaluator;
use crate::service::{Actor, Error};
use minijinja::value::Serde;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use serde::Serialize;

pub fn page_routes() -> Vec<Route> {
    routes![
        new_page,
        create_page,
        detail_page,
        edit_page,
        update_page,
        recompute_page
    ]
}

pub fn api_routes() -> Vec<Route> {
    routes![get_api]
}

// ---------------------------------------------------------------- the histogram

/// The Monte Carlo histogram of one measurand with the GUM's normal curve over it, laid
/// out for an SVG of `WIDTH` × `HEIGHT` user units.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    /// The plot area: left, top, right, bottom.
    pub plot: [f64; 4],
    pub bars: Vec<Bar>,
    /// The GUM's N(y, u_c²), scaled to the trials per bin, as SVG path data.
    pub curve: String,
    /// The Monte Carlo probabilistically symmetric coverage interval, as x positions.
    pub interval: [f64; 2],
    pub ticks: Vec<Tick>,
    pub trials: u64,
    /// Trials outside the drawn range.
    pub outside: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub x: f64,
    pub label: String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 16.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 34.0;

/// The chart of a measurand's result, when Monte Carlo ran and its trials spread.
pub fn chart(r: &MeasurandResult) -> Option<Chart> {
    let mc = r.monte_carlo.as_ref()?;
    let h = mc.histogram.as_ref()?;
    let bins = h.counts.len();
    let span = h.high - h.low;
    if bins == 0 || span <= 0.0 {
        return None;
    }
    let bin_width = span / bins as f64;
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x_of = |v: f64| LEFT + (v - h.low) / span * pw;
    // The normal curve in trials per bin: M · Δ · φ((x − y)/u)/u.
    let gum = |v: f64| {
        let u = r.standard_uncertainty;
        if u > 0.0 {
            let z = (v - r.estimate) / u;
            mc.trials as f64 * bin_width * (-0.5 * z * z).exp() / (u * (2.0 * std::f64::consts::PI).sqrt())
        } else {
            0.0
        }
    };
    const POINTS: usize = 200;
    let curve_values: Vec<(f64, f64)> = (0..=POINTS)
        .map(|i| {
            let v = h.low + span * i as f64 / POINTS as f64;
            (v, gum(v))
        })
        .collect();
    let peak = h
        .counts
        .iter()
        .map(|&c| c as f64)
        .chain(curve_values.iter().map(|&(_, c)| c))
        .fold(0.0, f64::max)
        .max(1.0);
    let y_of = |c: f64| TOP + ph - c / peak * ph;
    let bars = h
        .counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let top = y_of(c as f64);
            Bar {
                x: round1(x_of(h.low + i as f64 * bin_width)),
                y: round1(top),
                w: round1(pw / bins as f64),
                h: round1(TOP + ph - top),
            }
        })
        .collect();
    let curve = curve_values
        .iter()
        .enumerate()
        .map(|(i, &(v, c))| {
            format!(
                "{}{},{}",
                if i == 0 { "M" } else { "L" },
                round1(x_of(v)),
                round1(y_of(c))
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    // Five ticks, labelled to the digits that tell them apart.
    let step = span / 4.0;
    let decimals = (-(step.abs().log10().floor()) + 1.0).max(0.0) as usize;
    let ticks = (0..=4)
        .map(|i| {
            let v = h.low + step * i as f64;
            Tick {
                x: round1(x_of(v)),
                label: format!("{v:.decimals$}"),
            }
        })
        .collect();
    let clamp = |v: f64| round1(x_of(v).clamp(LEFT, WIDTH - RIGHT));
    Some(Chart {
        width: WIDTH as u32,
        height: HEIGHT as u32,
        plot: [LEFT, TOP, WIDTH - RIGHT, TOP + ph],
        bars,
        curve,
        interval: [clamp(mc.interval[0]), clamp(mc.interval[1])],
        ticks,
        trials: mc.trials,
        outside: h.below + h.above,
    })
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn charts(e: &Evaluation) -> Vec<Option<Chart>> {
    e.results.iter().map(chart).collect()
}

// ---------------------------------------------------------------- pages

#[get("/budgets/<id>")]
async fn detail_page(id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    show(id, None, db, &actor, &ui).await
}

/// The budget page; after a recomputation, with its result and whether it matched.
async fn show(id: i32, recomputed: Option<svc::Recomputed>, db: &Db, actor: &Actor, ui: &Ui<'_>) -> PageResult {
    let (b, history) = match svc::get(actor, &db.0, id).await {
        Ok(b) => match svc::history(actor, &db.0, id).await {
            Ok(h) => (b, h),
            Err(e) => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    let charts = recomputed
        .as_ref()
        .map(|r| &r.result)
        .or(b.result.as_ref())
        .map(charts)
        .unwrap_or_default();
    Ok(ui.render(
        "budgets/detail.html",
        Status::Ok,
        minijinja::context! {
            b => Serde(&b), charts => Serde(charts), history => Serde(history),
            recomputed => Serde(recomputed),
        },
    ))
}

#[post("/budgets/<id>/recompute", data = "<_form>")]
async fn recompute_page(
    id: i32,
    _form: CsrfForm,
    db: &State<Db>,
    evaluator: &State<Evaluator>,
    actor: Actor,
    ui: Ui<'_>,
) -> PageResult {
    let r = svc::recompute(&actor, &db.0, evaluator, id).await?;
    show(id, Some(r), db, &actor, &ui).await
}

/// What the form page shows: the standard, the budget (when editing), the form as
/// typed, the error that sent it back, and a preview's evaluation.
struct FormPage<'a> {
    standard: &'a StandardRef,
    id: Option<i32>,
    form: BudgetForm,
    error: Option<&'a Error>,
    preview: Option<(Vec<InputView>, Evaluation)>,
}

fn form_page(ui: &Ui<'_>, status: Status, page: FormPage<'_>) -> PageResult {
    let FormPage {
        standard,
        id,
        form,
        error,
        preview,
    } = page;
    let errors = error.map(|e| e.field_messages()).unwrap_or_default();
    let codes = error.map(|e| e.field_codes()).unwrap_or_default();
    let action = match id {
        Some(id) => format!("/budgets/{id}"),
        None => format!("/standards/{}/budgets", standard.id),
    };
    let (inputs, result, charts) = match preview {
        Some((inputs, result)) => {
            let charts = charts(&result);
            (Some(inputs), Some(result), Some(charts))
        }
        None => (None, None, None),
    };
    Ok(ui.render(
        "budgets/form.html",
        status,
        minijinja::context! {
            s => Serde(standard), id => id, action => action, form => Serde(form),
            errors => Serde(errors), codes => Serde(codes), message => error.map(|e| e.to_string()),
            kinds => Serde(KINDS), parameters => Serde(PARAMETERS),
            inputs => Serde(inputs), result => Serde(result), charts => Serde(charts),
        },
    ))
}

#[get("/standards/<standard_id>/budgets/new")]
async fn new_page(standard_id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let (standard, form) = svc::new_form(&actor, &db.0, standard_id).await?;
    let page = FormPage {
        standard: &standard,
        id: None,
        form,
        error: None,
        preview: None,
    };
    form_page(&ui, Status::Ok, page)
}

#[get("/budgets/<id>/edit")]
async fn edit_page(id: i32, db: &State<Db>, actor: Actor, ui: Ui<'_>) -> PageResult {
    let (standard, form) = svc::edit_form(&actor, &db.0, id).await?;
    let page = FormPage {
        standard: &standard,
        id: Some(id),
        form: form.with_spare_rows(SPARE_ROWS),
        error: None,
        preview: None,
    };
    form_page(&ui, Status::Ok, page)
}

#[post("/standards/<standard_id>/budgets", data = "<form>")]
async fn create_page(
    standard_id: i32,
    form: CsrfForm,
    db: &State<Db>,
    evaluator: &State<Evaluator>,
    actor: Actor,
    ui: Ui<'_>,
) -> PageResult {
    submit(Target::New(standard_id), &form, db, evaluator, &actor, &ui).await
}

#[post("/budgets/<id>", data = "<form>")]
async fn update_page(
    id: i32,
    form: CsrfForm,
    db: &State<Db>,
    evaluator: &State<Evaluator>,
    actor: Actor,
    ui: Ui<'_>,
) -> PageResult {
    submit(Target::Existing(id), &form, db, evaluator, &actor, &ui).await
}

/// What a posted budget form is for.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A new budget of this standard.
    New(i32),
    /// This saved budget.
    Existing(i32),
}

/// Which button sent the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Save,
    /// Evaluate and show the result without saving.
    Preview,
    /// Offer more empty input rows.
    AddRows,
}

/// A posted budget form: saved and on to the budget, or back to the form as typed, with
/// the preview's evaluation, more rows, or the field errors that refused it.
async fn submit(
    target: Target,
    posted: &CsrfForm,
    db: &Db,
    evaluator: &Evaluator,
    actor: &Actor,
    ui: &Ui<'_>,
) -> PageResult {
    // The standard first: who may write here, and what the form page names.
    let (standard, id) = match target {
        Target::New(standard_id) => (svc::new_form(actor, &db.0, standard_id).await, None),
        Target::Existing(id) => (svc::edit_form(actor, &db.0, id).await, Some(id)),
    };
    let standard = match standard {
        Ok((s, _)) => s,
        Err(e) => return Err(e.into()),
    };
    let action = match posted.get("action") {
        "preview" => Action::Preview,
        "add_rows" => Action::AddRows,
        _ => Action::Save,
    };
    let form = BudgetForm::from_pairs(posted.iter());
    let outcome = match action {
        Action::AddRows => Ok(None),
        Action::Preview => svc::preview(actor, evaluator, &form).await.map(Some),
        Action::Save => {
            let now = chrono::Utc::now();
            let saved = match target {
                Target::New(standard_id) => svc::create(actor, &db.0, evaluator, standard_id, &form, now).await,
                Target::Existing(id) => svc::update(actor, &db.0, evaluator, id, &form, now).await.map(|()| id),
            };
            match saved {
                Ok(id) => return Ok(Page::redirect(format!("/budgets/{id}"))),
                Err(e) => Err(e),
            }
        }
    };
    let spare = if action == Action::AddRows { 5 } else { SPARE_ROWS };
    let form = form.with_spare_rows(spare);
    match outcome {
        Ok(preview) => {
            let page = FormPage {
                standard: &standard,
                id,
                form,
                error: None,
                preview: preview.map(|(problem, result)| (svc::input_views(&problem), result)),
            };
            form_page(ui, Status::Ok, page)
        }
        Err(e @ Error::Invalid { .. }) => {
            let page = FormPage {
                standard: &standard,
                id,
                form,
                error: Some(&e),
                preview: None,
            };
            form_page(ui, super::error::status_of(&e), page)
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- API

/// A saved uncertainty budget: its problem as entered (the JSON of
/// `POST /api/v1/uncertainty/evaluate`) and the evaluation saved with it.
#[utoipa::path(
    get, path = "/api/v1/budgets/{id}", tag = "uncertainty",
    params(("id" = i32, Path, description = "The budget's id")),
    responses(
        (status = 200, description = "The budget", body = Object),
        (status = 401, body = super::error::ErrorBody),
        (status = 404, description = "No such budget, or not yours to see", body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/budgets/<id>")]
pub async fn get_api(id: i32, db: &State<Db>, actor: Actor) -> ApiResult<Json<BudgetView>> {
    Ok(Json(svc::get(&actor, &db.0, id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::uncertainty::{evaluate_with, problem::parse_problem};

    /// For a linear model of normal inputs the output is normal, so the GUM curve, scaled
    /// to trials per bin, must meet the histogram: at the peak, M·Δ/(u√(2π)) trials.
    #[test]
    fn the_gum_curve_is_scaled_to_the_histogram() {
        let p = parse_problem(
            r#"{"measurands": [{"name": "y", "unit": "mV"}], "model": "y = a + b",
                "inputs": [{"name": "a", "value": 1, "unit": "V", "uncertainty": {"kind": "normal", "u": 0.003}},
                           {"name": "b", "value": 2, "unit": "mV", "uncertainty": {"kind": "normal", "u": 4}}],
                "monte_carlo": {"trials": 200000, "seed": 3}}"#,
        )
        .unwrap();
        let e = evaluate_with(&p, 60).unwrap();
        let r = &e.results[0];
        let h = r.monte_carlo.as_ref().unwrap().histogram.as_ref().unwrap();
        assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 200_000);
        // u = 5 mV; the drawn range is about y ± 3.2u, so about 0.14 % falls outside.
        assert!(h.below + h.above < 600, "{} outside", h.below + h.above);
        let c = chart(r).unwrap();
        let tallest = c.bars.iter().map(|b| b.h).fold(0.0, f64::max);
        // The curve's highest point is its smallest y.
        let curve_top = c
            .curve
            .split(' ')
            .map(|pt| pt[1..].split(',').nth(1).unwrap().parse::<f64>().unwrap())
            .fold(f64::INFINITY, f64::min);
        let curve_height = c.plot[3] - curve_top;
        assert!(
            (tallest - curve_height).abs() / curve_height < 0.04,
            "{tallest} vs {curve_height}"
        );
        assert_eq!(c.bars.len(), 60);
        assert_eq!(c.ticks.len(), 5);
    }

    #[test]
    fn no_chart_without_monte_carlo_or_spread() {
        let p = parse_problem(
            r#"{"measurands": [{"name": "y", "unit": "V"}], "model": "y = a",
                "inputs": [{"name": "a", "value": 1, "unit": "V", "uncertainty": {"kind": "constant"}}],
                "monte_carlo": {"trials": 10000}}"#,
        )
        .unwrap();
        let e = evaluate_with(&p, 60).unwrap();
        assert!(chart(&e.results[0]).is_none(), "every trial the same: nothing to draw");
    }
}
