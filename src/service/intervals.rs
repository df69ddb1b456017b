//! Interval proposals (ILAC-G24 / OIML D 10, JJF 1139): a rule proposes, a person
//! approves, and only then does the interval change. Each proposal keeps its method,
//! parameters and the input history it read, so that it can be reproduced.
//!
//! - `staircase`: one item, from its latest as-found error against its MPE.
//! - `a3` and `s2`: a group of like instruments (one JJF 1022 category) pooled across
//!   the whole province; the approved interval applies to the proposing organisation's
//!   instruments in that category.

use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::intervals::{self as rules, Proposal};
use crate::domain::schedule::MAX_INTERVAL_MONTHS;
use crate::store::entities::interval_proposal;
use crate::store::intervals as q;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Serialize;

/// Who proposes and approves the intervals of an organisation's items.
const DECIDERS: &[Role] = &[Role::InstituteAdmin, Role::Scheduler, Role::Enterprise];

pub use super::calculators::ProposalParameters;
/// A month, in days, to turn the days between two calibrations into months.
const MONTH_DAYS: f64 = 30.436875;

fn in_tolerance(mpe: Option<f64>, error: Option<f64>, decision: &str) -> Option<bool> {
    match (mpe, error) {
        (Some(m), Some(e)) if m > 0.0 => Some(e.abs() <= m),
        _ => match decision {
            "pass" | "conditional_pass" => Some(true),
            "fail" | "conditional_fail" => Some(false),
            _ => None,
        },
    }
}

fn own_org(actor: &Actor) -> Result<(i32, i32)> {
    let p = actor.require_login()?.ok_or(Error::Forbidden)?;
    if !actor.may(DECIDERS) {
        return Err(actor.forbidden());
    }
    Ok((p.organisation_id, p.user_id))
}

async fn current_interval(db: &DatabaseConnection, org: i32, kind: &str, id: Option<i32>) -> Result<u32> {
    if let Some(id) = id {
        if let Some(m) = q::interval_of(db, kind, id).await? {
            return Ok(m.clamp(1, MAX_INTERVAL_MONTHS as i32) as u32);
        }
    }
    Ok(super::schedule::rules_of(db, org).await?.default_interval_months)
}

/// Proposes a new interval for one of the organisation's items by the staircase.
pub async fn propose_item(
    actor: &Actor,
    db: &DatabaseConnection,
    kind: &str,
    id: &str,
    given: &ProposalParameters,
    now: DateTime<Utc>,
) -> Result<IntervalProposal> {
    let (org, user) = own_org(actor)?;
    // The organisation's staircase, with what the request sets over it.
    let base = super::schedule::rules_of(db, org).await?.staircase;
    let staircase = given
        .parameters
        .clone()
        .unwrap_or_default()
        .over(&base, "parameters.")
        .map_err(Error::invalid)?;
    let kind = crate::domain::traceability::ItemKind::parse(kind.trim())
        .ok_or_else(|| Error::field("item_kind", "interval.kind_invalid", "standard, device or instrument"))?;
    let id: i32 = id
        .trim()
        .parse()
        .map_err(|_| Error::field("item_id", "field.number", "a whole number"))?;
    let due = crate::store::schedule::due_item_of(db, kind.as_str(), id)
        .await?
        .filter(|d| d.owner_id == org)
        .ok_or_else(|| Error::field("item_id", "interval.item_unknown", "no such item of your organisation"))?;
    let history = crate::store::traceability::calibrations_of(db, kind.as_str(), id).await?;
    let latest = history
        .iter()
        .find(|c| c.mpe_si.is_some_and(|m| m > 0.0) && c.as_found_error_si.is_some())
        .ok_or_else(|| {
            Error::field(
                "item_id",
                "interval.no_evidence",
                "no calibration of this item records an as-found error and an MPE",
            )
        })?;
    let current = current_interval(db, org, kind.as_str(), Some(id)).await?;
    let step = rules::staircase_step(
        f64::from(current),
        latest.as_found_error_si.expect("found"),
        latest.mpe_si.expect("found"),
        &staircase,
    )
    .ok_or_else(|| Error::Internal("the staircase refused its input".into()))?;
    let proposal = match step.action {
        rules::StepAction::Extend => Proposal::Extend,
        rules::StepAction::Hold => Proposal::Keep,
        rules::StepAction::Shorten => Proposal::Shorten,
    };
    // The register keeps intervals in whole months: an exact staircase is rounded here.
    let months = step.interval_after_months.round().max(1.0) as u32;
    let reason = format!(
        "staircase on {} (certificate {}): |e| = {:.6e}, MPE = {:.6e}, |e|/MPE = {:.3}: {}",
        latest.calibrated_on,
        latest.certificate_no,
        latest.as_found_error_si.unwrap_or_default().abs(),
        latest.mpe_si.unwrap_or_default(),
        latest.as_found_error_si.unwrap_or_default().abs() / latest.mpe_si.unwrap_or(1.0),
        proposal_name(proposal)
    );
    let history = serde_json::json!(history
        .iter()
        .map(|c| serde_json::json!({
            "calibrated_on": c.calibrated_on, "certificate_no": c.certificate_no,
            "mpe_si": c.mpe_si, "as_found_error_si": c.as_found_error_si, "decision": c.decision,
        }))
        .collect::<Vec<_>>());
    store(
        actor,
        db,
        interval_proposal::ActiveModel {
            organisation_id: Set(org),
            scope: Set("item".into()),
            item_kind: Set(Some(kind.as_str().to_owned())),
            item_id: Set(Some(id)),
            group_key: Set(due.label.clone()),
            method: Set("staircase".into()),
            params: Set(serde_json::json!({"staircase": staircase, "step": step}).to_string()),
            history: Set(history.to_string()),
            current_months: Set(current as i32),
            proposed_months: Set(months as i32),
            reason: Set(reason),
            status: Set("pending".into()),
            proposed_by: Set(Some(user)),
            proposed_at: Set(now),
            decided_by: Set(None),
            decided_at: Set(None),
            ..Default::default()
        },
        now,
    )
    .await
}

fn proposal_name(p: Proposal) -> &'static str {
    match p {
        Proposal::Extend => "extend",
        Proposal::Keep => "keep",
        Proposal::Shorten => "shorten",
    }
}

/// Proposes a new interval for the organisation's instruments in a JJF 1022 category,
/// from the end-of-period results of every instrument of that category in the province:
/// method `a3` (the binomial interval test at the mean interval observed) or `s2` (the
/// exponential reliability fit over all the intervals).
pub async fn propose_group(
    actor: &Actor,
    db: &DatabaseConnection,
    category: &str,
    method: &str,
    given: &ProposalParameters,
    now: DateTime<Utc>,
) -> Result<IntervalProposal> {
    let (org, user) = own_org(actor)?;
    let mut errors = Vec::new();
    let (target, confidence, limits) = super::calculators::a3_settings(&given.a3, "", &mut errors);
    let rejection = given.rejection_confidence.unwrap_or(0.95);
    if !(rejection > 0.0 && rejection < 1.0) {
        errors.push(crate::domain::Error::new(
            "rejection_confidence",
            "interval.parameter_invalid",
            "a probability between 0 and 1, both excluded",
        ));
    }
    let category = crate::domain::codes::validate_jjf1022("category_code", category)
        .map(|c| c.as_str().to_owned())
        .map_err(|e| errors.push(e))
        .ok();
    let method = match method.trim() {
        m @ ("a3" | "s2") => Some(m),
        _ => {
            errors.push(crate::domain::Error::new(
                "method",
                "interval.method_invalid",
                "a3 or s2",
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let (category, method) = (category.expect("checked"), method.expect("checked"));
    // Each interval between two calibrations of an instrument, ended by the later one's
    // as-found result.
    let results = q::group_results(db, &category).await?;
    let mut observations: Vec<(f64, bool)> = Vec::new();
    for w in results.windows(2) {
        if w[0].item_id != w[1].item_id {
            continue;
        }
        let months = (w[1].calibrated_on - w[0].calibrated_on).num_days() as f64 / MONTH_DAYS;
        if let Some(ok) = in_tolerance(w[1].mpe_si, w[1].as_found_error_si, &w[1].decision) {
            if months > 0.0 {
                observations.push((months, ok));
            }
        }
    }
    if observations.is_empty() {
        return Err(Error::field(
            "category_code",
            "interval.no_evidence",
            "no instrument of this category has two calibrations with an as-found result",
        ));
    }
    let current = current_interval(db, org, "instrument", None).await?;
    let n = observations.len() as u32;
    let ok = observations.iter().filter(|o| o.1).count() as u32;
    let mean_months = observations.iter().map(|o| o.0).sum::<f64>() / f64::from(n);
    let clamp = |m: f64| (m.round() as i64).clamp(1, MAX_INTERVAL_MONTHS as i64) as i32;
    let (proposed, reason, params) = match method {
        "a3" => {
            // RP-1's limits apply to the interval the reliability was observed at: a
            // factor of 2 either way, within 14 days to 5 years, unless the request says
            // otherwise (in days, as the calculator takes them).
            let limits = rules::ChangeLimits {
                max_change_factor: limits.max_change_factor,
                min: limits.min / MONTH_DAYS,
                max: limits.max / MONTH_DAYS,
            };
            let t = rules::binomial_test(ok, n, target, confidence, mean_months, &limits)
                .ok_or_else(|| Error::Internal("the interval test refused its input".into()))?;
            let proposed = match t.proposal {
                Proposal::Keep => current as i32,
                _ => clamp(t.new_months),
            };
            (
                proposed,
                format!(
                    "A3: {ok} of {n} in tolerance (R = {:.4}) at a mean interval of {mean_months:.2} months; \
                     {:.0} % confidence interval [{:.4}, {:.4}] against the target {target}: {}",
                    t.observed,
                    confidence * 100.0,
                    t.lower,
                    t.upper,
                    proposal_name(t.proposal)
                ),
                serde_json::json!({"target": target, "confidence": confidence, "interval_months": mean_months,
                    "limits": limits, "result": t}),
            )
        }
        _ => {
            // Grouped by the interval to the nearest whole month, for RP-1's F test.
            let mut groups: Vec<rules::Group> = Vec::new();
            for &(t, ok) in &observations {
                let t = t.round().max(1.0);
                match groups.iter_mut().find(|g| g.interval == t) {
                    Some(g) => {
                        g.n += 1;
                        g.in_tolerance += u32::from(ok);
                    }
                    None => groups.push(rules::Group {
                        interval: t,
                        n: 1,
                        in_tolerance: u32::from(ok),
                    }),
                }
            }
            groups.sort_by(|a, b| a.interval.total_cmp(&b.interval));
            let fit = rules::s2(&groups, target, rejection).ok_or_else(|| {
                Error::field(
                    "method",
                    "interval.no_fit",
                    "S2 needs both in- and out-of-tolerance results in the group",
                )
            })?;
            // Only a model the F test accepts proposes an interval (RP-1 Appendix D).
            match fit.f_test {
                None => {
                    return Err(Error::field(
                        "method",
                        "interval.model_untested",
                        "S2 needs results at two or more intervals to test its model; use A3 for one interval",
                    ))
                }
                Some(f) if !f.accept => {
                    return Err(Error::field(
                        "method",
                        "interval.model_rejected",
                        format!(
                            "the exponential model does not fit these results (F = {:.3} > {:.3}); use A3",
                            f.f, f.f_critical
                        ),
                    ))
                }
                Some(_) => {}
            }
            (
                clamp(fit.interval),
                format!(
                    "S2: R(t) = exp(−λt) fitted to {n} results ({ok} in tolerance) at {} intervals: \
                     λ = {:.6} per month; R = {target} at {:.2} months; RP-1's F test accepts the model \
                     (F = {:.3} ≤ {:.3})",
                    groups.len(),
                    fit.lambda,
                    fit.interval,
                    fit.f_test.map_or(0.0, |f| f.f),
                    fit.f_test.map_or(0.0, |f| f.f_critical)
                ),
                serde_json::json!({"target": target, "model": "exponential", "result": fit,
                    "groups": groups.iter().map(|g| serde_json::json!([g.interval, g.n, g.in_tolerance])).collect::<Vec<_>>()}),
            )
        }
    };
    let history = serde_json::json!({
        "category_code": category, "n": n, "in_tolerance": ok,
        "observations": observations.iter().map(|(t, ok)| serde_json::json!([(t * 1000.0).round() / 1000.0, ok])).collect::<Vec<_>>(),
    });
    store(
        actor,
        db,
        interval_proposal::ActiveModel {
            organisation_id: Set(org),
            scope: Set("group".into()),
            item_kind: Set(Some("instrument".into())),
            item_id: Set(None),
            group_key: Set(category),
            method: Set(method.to_owned()),
            params: Set(params.to_string()),
            history: Set(history.to_string()),
            current_months: Set(current as i32),
            proposed_months: Set(proposed),
            reason: Set(reason),
            status: Set("pending".into()),
            proposed_by: Set(Some(user)),
            proposed_at: Set(now),
            decided_by: Set(None),
            decided_at: Set(None),
            ..Default::default()
        },
        now,
    )
    .await
}

async fn store(
    actor: &Actor,
    db: &DatabaseConnection,
    row: interval_proposal::ActiveModel,
    now: DateTime<Utc>,
) -> Result<IntervalProposal> {
    let txn = crate::store::begin(db).await?;
    let p = q::insert_proposal(&txn, row).await?;
    let mut changes = super::audit::Changes::new();
    for (k, v) in [
        ("scope", p.scope.clone()),
        ("group_key", p.group_key.clone()),
        ("method", p.method.clone()),
        ("current_months", p.current_months.to_string()),
        ("proposed_months", p.proposed_months.to_string()),
        ("reason", p.reason.clone()),
    ] {
        changes.note(k, v.into());
    }
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "interval.propose",
            entity_type: "interval_proposal",
            entity_id: p.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(p.into())
}

/// Approves or rejects a pending proposal. The decider is a person of the organisation
/// other than the proposer; approval sets the interval of the item, or of the
/// organisation's instruments in the group, and the next daily run moves their due dates.
pub async fn decide(
    actor: &Actor,
    db: &DatabaseConnection,
    id: i32,
    decision: &str,
    now: DateTime<Utc>,
) -> Result<IntervalProposal> {
    let (org, user) = own_org(actor)?;
    let approve = match decision.trim() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(Error::field(
                "decision",
                "interval.decision_invalid",
                "approve or reject",
            ))
        }
    };
    let txn = crate::store::begin(db).await?;
    let p = q::proposal_by_id(&txn, id)
        .await?
        .filter(|p| p.organisation_id == org)
        .ok_or(Error::NotFound {
            what: "interval proposal",
        })?;
    if p.proposed_by == Some(user) {
        return Err(Error::field(
            "decision",
            "interval.same_person",
            "a proposal is approved or rejected by someone other than who proposed it",
        ));
    }
    let status = if approve { "approved" } else { "rejected" };
    if q::decide(&txn, id, status, Some(user), now).await? == 0 {
        return Err(Error::Conflict {
            code: "interval.decided",
            message: format!("the proposal was {} already", p.status),
            fields: vec![],
        });
    }
    let mut applied = 0usize;
    if approve {
        let items: Vec<(String, i32)> = match (p.scope.as_str(), &p.item_kind, p.item_id) {
            ("item", Some(k), Some(i)) => vec![(k.clone(), i)],
            _ => q::instruments_in(&txn, org, &p.group_key)
                .await?
                .into_iter()
                .map(|i| ("instrument".to_owned(), i))
                .collect(),
        };
        applied = items.len();
        q::set_intervals(&txn, &items, p.proposed_months, Some(user), now).await?;
    }
    let mut changes = super::audit::Changes::new();
    changes.set("status", "pending".into(), status.into());
    if approve {
        changes.set("months", p.current_months.into(), p.proposed_months.into());
        changes.note("items", applied.into());
    }
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: if approve { "interval.approve" } else { "interval.reject" },
            entity_type: "interval_proposal",
            entity_id: id.to_string(),
            changes,
        },
    )
    .await?;
    let p = q::proposal_by_id(&txn, id).await?.ok_or(Error::NotFound {
        what: "interval proposal",
    })?;
    txn.commit().await?;
    Ok(p.into())
}

/// An interval proposal as the API and the pages show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalProposal {
    pub id: i32,
    pub organisation_id: i32,
    /// 'item' or 'group'.
    pub scope: String,
    pub item_kind: Option<String>,
    pub item_id: Option<i32>,
    /// The item's label, or the group's JJF 1022 code.
    pub group_key: String,
    /// 'staircase', 'a3' or 's2'.
    pub method: String,
    /// The method's parameters, as JSON.
    pub params: String,
    /// The input history the method read, as JSON.
    pub history: String,
    pub current_months: i32,
    pub proposed_months: i32,
    pub reason: String,
    /// pending, approved or rejected.
    pub status: String,
    pub proposed_by: Option<i32>,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<i32>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<interval_proposal::Model> for IntervalProposal {
    fn from(m: interval_proposal::Model) -> Self {
        Self {
            id: m.id,
            organisation_id: m.organisation_id,
            scope: m.scope,
            item_kind: m.item_kind,
            item_id: m.item_id,
            group_key: m.group_key,
            method: m.method,
            params: m.params,
            history: m.history,
            current_months: m.current_months,
            proposed_months: m.proposed_months,
            reason: m.reason,
            status: m.status,
            proposed_by: m.proposed_by,
            proposed_at: m.proposed_at,
            decided_by: m.decided_by,
            decided_at: m.decided_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProposalList {
    pub proposals: Vec<IntervalProposal>,
    pub user_id: Option<i32>,
    pub may_decide: bool,
}

/// The organisation's latest proposals, newest first.
pub async fn list(actor: &Actor, db: &DatabaseConnection) -> Result<ProposalList> {
    let p = actor.require_login()?.ok_or(Error::Forbidden)?;
    Ok(ProposalList {
        proposals: q::proposals_of(db, p.organisation_id, 200)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        user_id: Some(p.user_id),
        may_decide: actor.may(DECIDERS),
    })
}
