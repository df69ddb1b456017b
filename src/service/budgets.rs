//! Uncertainty budgets saved against a standard (its CMC budget): who may see and
//! change them, their evaluation, and their audit trail.
//!
//! A budget is seen by the staff of the standard's owner and by those who oversee the
//! province; to anyone else it does not exist. It is written by the owner's institute
//! admins, technicians, reviewers and approvers, and by system admins. The problem is
//! stored as entered and the evaluation as it was when saved; recomputing it must give
//! the same evaluation to the last bit, and the page says whether it does.

use super::audit::{self, Changes, Entry, EventView};
use super::uncertainty::Evaluator;
use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::uncertainty::form::{form_field, BudgetForm};
use crate::domain::uncertainty::problem::{check_input, parse_problem};
use crate::domain::uncertainty::{Evaluation, Problem};
use crate::domain::{self};
use crate::store::entities::uncertainty_budget as budget;
use crate::store::standards;
use crate::store::{accounts as users, budgets as q};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Serialize;
use std::collections::BTreeMap;

/// Bins of the Monte Carlo histogram the page draws.
pub const HISTOGRAM_BINS: usize = 60;

/// The staff who may write a budget for their own organisation's standards.
const WRITERS: [Role; 4] = [Role::InstituteAdmin, Role::Technician, Role::Reviewer, Role::Approver];

/// Whether the actor may write budgets of organisation `org`.
pub fn may_write(actor: &Actor, org: i32) -> bool {
    actor.may(&[Role::SystemAdmin])
        || (actor.may(&WRITERS) && actor.principal().is_some_and(|p| p.organisation_id == org))
}

/// Whether the actor may see budgets of organisation `org`.
fn may_read(actor: &Actor, org: i32) -> bool {
    actor.require_login().is_ok() && actor.sees_organisation(org)
}

/// The standard a budget belongs to, as its pages name it.
#[derive(Debug, Clone, Serialize)]
pub struct StandardRef {
    pub id: i32,
    pub name_zh: String,
    pub name_en: String,
    pub cert_no: String,
    pub owner_id: i32,
}

/// A budget in a standard's list.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetSummary {
    pub id: i32,
    pub title: String,
    pub revision: i32,
    pub updated_at: DateTime<Utc>,
    /// The report line of each measurand.
    pub reports: Vec<String>,
    /// The saved result cannot be read (see [`BudgetView::result`]).
    pub unreadable: bool,
}

/// An input as the budget table shows it: estimate and standard uncertainty in the
/// input's own unit.
#[derive(Debug, Clone, Serialize)]
pub struct InputView {
    pub name: String,
    pub value: f64,
    pub unit: String,
    pub kind: String,
    pub standard_uncertainty: f64,
    pub dof: Option<f64>,
}

/// A saved budget with everything its page shows.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetView {
    pub id: i32,
    pub standard: StandardRef,
    pub title: String,
    pub problem: Problem,
    pub inputs: Vec<InputView>,
    /// None when the saved result cannot be read (saved before the engine refused
    /// numbers it cannot compute with); the page says so and offers to edit it.
    pub result: Option<Evaluation>,
    pub revision: i32,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub may_edit: bool,
}

async fn standard_ref<C: sea_orm::ConnectionTrait>(db: &C, id: i32) -> Result<StandardRef> {
    let s = standards::standard_by_id(db, id)
        .await?
        .ok_or(Error::NotFound { what: "standard" })?;
    Ok(StandardRef {
        id: s.id,
        name_zh: s.name_zh,
        name_en: s.name_en,
        cert_no: s.cert_no,
        owner_id: s.owner_id,
    })
}

fn stored_problem(row: &budget::Model) -> Result<Problem> {
    parse_problem(&row.problem).map_err(|e| Error::Internal(format!("budget {} problem unreadable: {e}", row.id)))
}

fn stored_result(row: &budget::Model) -> Result<Evaluation> {
    serde_json::from_str(&row.result).map_err(|e| Error::Internal(format!("budget {} result unreadable: {e}", row.id)))
}

/// The saved result, or None (logged) when it cannot be read: a page that shows it
/// says so instead of failing.
fn readable_result(row: &budget::Model) -> Option<Evaluation> {
    stored_result(row)
        .map_err(|e| tracing::warn!(budget = row.id, error = %e, "saved budget result unreadable"))
        .ok()
}

/// The budgets of a standard, for those who may see them; `None` for everyone else
/// (the standard's page then shows no budget panel).
pub async fn of_standard(
    actor: &Actor,
    db: &DatabaseConnection,
    standard_id: i32,
) -> Result<Option<Vec<BudgetSummary>>> {
    let s = standard_ref(db, standard_id).await?;
    if !may_read(actor, s.owner_id) {
        return Ok(None);
    }
    let rows = q::budgets_of_standard(db, standard_id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows.into_iter().filter(|r| actor.sees_organisation(r.organisation_id)) {
        let result = readable_result(&row);
        out.push(BudgetSummary {
            id: row.id,
            title: row.title,
            revision: row.revision,
            updated_at: row.updated_at,
            unreadable: result.is_none(),
            reports: result.into_iter().flat_map(|r| r.results).map(|r| r.report).collect(),
        });
    }
    Ok(Some(out))
}

/// A budget, for those who may see it; others are told it does not exist.
pub async fn get(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<BudgetView> {
    let row = readable(actor, db, id).await?;
    let problem = stored_problem(&row)?;
    let result = readable_result(&row);
    let standard = standard_ref(db, row.standard_id).await?;
    let name_of = |user: Option<i32>| async move {
        match user {
            Some(u) => users::user_by_id(db, u).await.map(|u| u.map(|u| u.name)),
            None => Ok(None),
        }
    };
    Ok(BudgetView {
        id: row.id,
        inputs: input_views(&problem),
        may_edit: may_write(actor, row.organisation_id),
        standard,
        title: row.title,
        problem,
        result,
        revision: row.revision,
        created_by: name_of(row.created_by).await?,
        updated_by: name_of(row.updated_by).await?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

async fn readable(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<budget::Model> {
    actor.require_login()?;
    let row = q::budget_by_id(db, id)
        .await?
        .ok_or(Error::NotFound { what: "budget" })?;
    if !may_read(actor, row.organisation_id) {
        return Err(Error::NotFound { what: "budget" });
    }
    Ok(row)
}

/// The inputs of a problem in their own units, for the budget table. Inputs the engine
/// refused are left out (a saved problem has none).
pub fn input_views(p: &Problem) -> Vec<InputView> {
    p.inputs
        .iter()
        .enumerate()
        .filter_map(|(i, spec)| check_input(i, spec).ok().map(|x| (spec, x)))
        .map(|(spec, x)| InputView {
            name: x.name.to_owned(),
            value: x.unit.from_si(x.x),
            unit: spec.unit.clone(),
            kind: spec.uncertainty.kind.clone(),
            standard_uncertainty: x.unit.diff_from_si(x.u),
            dof: x.dof,
        })
        .collect()
}

/// A budget's history, for those who may see the budget.
pub async fn history(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<Vec<EventView>> {
    readable(actor, db, id).await?;
    audit::history(db, "uncertainty_budget", id).await
}

/// The empty form for a new budget of a standard, for those who may write one.
pub async fn new_form(actor: &Actor, db: &DatabaseConnection, standard_id: i32) -> Result<(StandardRef, BudgetForm)> {
    let s = writable_standard(actor, db, standard_id).await?;
    let form = BudgetForm {
        title: format!("{} CMC", s.name_zh),
        ..BudgetForm::default()
    };
    Ok((s, form))
}

/// A saved budget as its edit form, for those who may change it.
pub async fn edit_form(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<(StandardRef, BudgetForm)> {
    let row = writable(actor, db, id).await?;
    let form = BudgetForm::from_problem(&row.title, &stored_problem(&row)?);
    Ok((standard_ref(db, row.standard_id).await?, form))
}

async fn writable_standard(actor: &Actor, db: &DatabaseConnection, standard_id: i32) -> Result<StandardRef> {
    actor.require_login()?;
    let s = standard_ref(db, standard_id).await?;
    if !actor.sees_organisation(s.owner_id) {
        return Err(Error::NotFound { what: "standard" });
    }
    if !may_write(actor, s.owner_id) {
        return Err(actor.forbidden());
    }
    Ok(s)
}

async fn writable(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<budget::Model> {
    let row = readable(actor, db, id).await?;
    if !may_write(actor, row.organisation_id) {
        return Err(actor.forbidden());
    }
    Ok(row)
}

/// The engine's errors, each named by the form field it concerns.
fn form_error(errors: Vec<domain::Error>) -> Error {
    Error::invalid(
        errors
            .into_iter()
            .map(|e| domain::Error {
                field: form_field(&e.field),
                ..e
            })
            .collect(),
    )
}

/// The form's problem and title, checked, and its evaluation (off the request threads:
/// Monte Carlo runs on every core).
async fn evaluate_form(evaluator: &Evaluator, form: &BudgetForm) -> Result<(String, Problem, Evaluation)> {
    let title = form.checked_title();
    let problem = form.to_problem();
    let (title, problem) = match (title, problem) {
        (Ok(t), Ok(p)) => (t, p),
        (t, p) => {
            // These already name the form's fields.
            let mut errors: Vec<domain::Error> = t.err().into_iter().collect();
            errors.extend(p.err().unwrap_or_default());
            return Err(Error::invalid(errors));
        }
    };
    let evaluation = evaluate(evaluator, problem.clone()).await?;
    Ok((title, problem, evaluation))
}

async fn evaluate(evaluator: &Evaluator, problem: Problem) -> Result<Evaluation> {
    evaluator
        .run(problem, HISTOGRAM_BINS)
        .await?
        .map_err(|e| form_error(vec![e]))
}

/// Evaluates a form without saving it, for any logged-in user (a preview).
pub async fn preview(actor: &Actor, evaluator: &Evaluator, form: &BudgetForm) -> Result<(Problem, Evaluation)> {
    actor.require_login()?;
    let (_, problem, evaluation) = evaluate_form(evaluator, form).await?;
    Ok((problem, evaluation))
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

/// What the audit trail keeps of a budget: each part of the problem as text, each input
/// as its JSON, and the report line of each measurand.
fn audit_fields(title: &str, p: &Problem, e: &Evaluation) -> Result<BTreeMap<String, String>> {
    let mut f = BTreeMap::new();
    f.insert("title".to_owned(), title.to_owned());
    f.insert("measurement_model".to_owned(), p.model.clone());
    f.insert("measurands".to_owned(), to_json(&p.measurands)?);
    for spec in &p.inputs {
        f.insert(format!("input {}", spec.name), to_json(spec)?);
    }
    f.insert("correlations".to_owned(), to_json(&p.correlations)?);
    let options = serde_json::json!({
        "coverage": p.coverage, "second_order": p.second_order, "truncate_dof": p.truncate_dof,
        "rounding": p.rounding, "monte_carlo": p.monte_carlo, "about": p.about,
    });
    f.insert("options".to_owned(), options.to_string());
    for r in &e.results {
        // The report is rounded; the unrounded u_c shows a change the rounding hides.
        f.insert(
            format!("result {}", r.name),
            format!("{}; u_c = {} {}", r.report, r.standard_uncertainty, r.unit),
        );
    }
    Ok(f)
}

fn borrowed(f: &BTreeMap<String, String>) -> BTreeMap<&str, String> {
    f.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

/// Saves a new budget against a standard. Returns its id.
pub async fn create(
    actor: &Actor,
    db: &DatabaseConnection,
    evaluator: &Evaluator,
    standard_id: i32,
    form: &BudgetForm,
    now: DateTime<Utc>,
) -> Result<i32> {
    let s = writable_standard(actor, db, standard_id).await?;
    let (title, problem, evaluation) = evaluate_form(evaluator, form).await?;
    let fields = audit_fields(&title, &problem, &evaluation)?;
    let user = actor.principal().map(|p| p.user_id);
    let txn = crate::store::begin(db).await?;
    let row = q::insert_budget(
        &txn,
        budget::ActiveModel {
            standard_id: Set(s.id),
            organisation_id: Set(s.owner_id),
            title: Set(title),
            problem: Set(to_json(&problem)?),
            result: Set(to_json(&evaluation)?),
            revision: Set(1),
            created_by: Set(user),
            updated_by: Set(user),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    let mut changes = Changes::created(&borrowed(&fields));
    changes.note("standard_id", s.id.into());
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "uncertainty_budget.create",
            entity_type: "uncertainty_budget",
            entity_id: row.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(budget = row.id, standard = s.id, actor = %actor.label(), "uncertainty budget created");
    Ok(row.id)
}

/// Replaces a budget's problem with the form's, re-evaluated. The old inputs and
/// results stay in the audit trail, part by part.
pub async fn update(
    actor: &Actor,
    db: &DatabaseConnection,
    evaluator: &Evaluator,
    id: i32,
    form: &BudgetForm,
    now: DateTime<Utc>,
) -> Result<()> {
    writable(actor, db, id).await?;
    let (title, problem, evaluation) = evaluate_form(evaluator, form).await?;
    let txn = crate::store::begin(db).await?;
    // Read again inside the transaction: the revision counts every saved change.
    let existing = q::budget_by_id(&txn, id)
        .await?
        .ok_or(Error::NotFound { what: "budget" })?;
    let old = audit_fields(&existing.title, &stored_problem(&existing)?, &stored_result(&existing)?)?;
    let new = audit_fields(&title, &problem, &evaluation)?;
    let changes = Changes::diff(&borrowed(&old), &borrowed(&new));
    if changes.is_empty() {
        return Ok(());
    }
    q::update_budget(
        &txn,
        budget::ActiveModel {
            id: Set(id),
            title: Set(title),
            problem: Set(to_json(&problem)?),
            result: Set(to_json(&evaluation)?),
            revision: Set(existing.revision + 1),
            updated_by: Set(actor.principal().map(|p| p.user_id)),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "uncertainty_budget.update",
            entity_type: "uncertainty_budget",
            entity_id: id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(budget = id, actor = %actor.label(), "uncertainty budget updated");
    Ok(())
}

/// A saved budget evaluated again from its stored problem.
#[derive(Debug, Clone, Serialize)]
pub struct Recomputed {
    pub result: Evaluation,
    /// The new evaluation is the saved one, bit for bit.
    pub identical: bool,
}

/// Evaluates a saved budget again and compares the result with the one saved.
pub async fn recompute(actor: &Actor, db: &DatabaseConnection, evaluator: &Evaluator, id: i32) -> Result<Recomputed> {
    let row = readable(actor, db, id).await?;
    let result = evaluate(evaluator, stored_problem(&row)?).await?;
    let identical = to_json(&result)? == row.result;
    Ok(Recomputed { result, identical })
}
