//! Recording results for a work order, and the record's way to a certificate: the
//! technician records and signs, a reviewer (核验) signs, an approver (批准) signs and
//! the certificate is issued. Three different people, each re-entering their password;
//! each signature binds the SHA-256 of the record's content as it then stood.
//!
//! Raw observations are kept as entered; a later correction keeps the original, with
//! who, when and why (`record_edits`).
//!
//! Every move of a record is one transition of the state machine in
//! `domain::records::workflow` (docs/workflow.md): the service loads the record's state
//! and history, asks the domain, and applies the answer in one transaction.
//!
//! One file per use case: `create`, `correct`, `sign` (with the certificate of an
//! approval), `send_back` (return to the technician, withdraw), `amend` (the next
//! revision of an issued record), `queues` and `view`.

use super::{Actor, Error, Result};
use crate::domain::accounts::{Duty, Role};
use crate::domain::records::workflow::{self, History, Mover, RecordAction, RecordStatus, Refusal};
use crate::store::entities::{calibration_record, record_edit, record_point, record_signature};
use crate::store::records as q;
use sha2::{Digest, Sha256};

pub use crate::domain::records::{PointInput, RecordInput};

mod amend;
mod correct;
mod create;
mod queues;
mod repair;
mod send_back;
mod sign;
mod view;

pub use amend::{open_amendment, Amendment};
pub use correct::correct_readings;
pub use create::record;
pub use queues::{queues, Queue, QueueItem};
pub use repair::{repair_stuck_approvals, Repair};
pub use send_back::{return_to_technician, withdraw};
pub(crate) use sign::interval_of;
pub(crate) use sign::RecordContent;
pub use sign::{sign, Signed};
pub use view::{
    budget_choices, view, BudgetChoice, PointShown, Record, RecordEdit, RecordPoint, RecordSignature, RecordView,
};

/// The content a signature binds: the record as it stands, canonical JSON, hashed.
fn content_sha256(r: &calibration_record::Model, points: &[record_point::Model], standards: &[i32]) -> String {
    let mut value = serde_json::json!({
        "work_order_id": r.work_order_id, "kind": r.kind, "method": r.method, "quantity": r.quantity,
        "decision_rule": r.decision_rule, "guard_multiple": r.guard_multiple,
        "received_on": r.received_on, "calibrated_on": r.calibrated_on,
        "temperature_si": r.temperature_si, "temperature_unit": r.temperature_unit,
        "humidity_percent": r.humidity_percent, "adjusted": r.adjusted, "interval_months": r.interval_months,
        "cmc_si": r.cmc_si, "standards": standards,
        "points": points.iter().map(|p| serde_json::json!({
            "position": p.position, "unit": p.unit, "nominal_si": p.nominal_si, "reference_si": p.reference_si,
            "readings": p.readings, "error_si": p.error_si, "u_si": p.u_si, "u_unit": p.u_unit, "k": p.k, "p": p.p,
            "u_source": p.u_source,
            "raised_to_cmc": p.raised_to_cmc, "mpe_si": p.mpe_si, "decision": p.decision,
            "as_left_error_si": p.as_left_error_si,
        })).collect::<Vec<_>>(),
    });
    // The digits entered print on the certificate, so a signature binds them too (records
    // made before they were kept hash as they always have).
    for (i, p) in points.iter().enumerate() {
        if p.nominal_text.is_some() || p.reference_text.is_some() {
            value["points"][i]["nominal_text"] = p.nominal_text.clone().into();
            value["points"][i]["reference_text"] = p.reference_text.clone().into();
        }
    }
    // Limits given as such decide and print too (bound when given).
    for (i, p) in points.iter().enumerate() {
        if p.limits_text.is_some() {
            value["points"][i]["lower_limit_si"] = p.lower_limit_si.into();
            value["points"][i]["upper_limit_si"] = p.upper_limit_si.into();
            value["points"][i]["limits_text"] = p.limits_text.clone().into();
        }
    }
    // Where it was done and the condition on receipt print too (bound when stated).
    if r.condition_on_receipt.is_some() || r.on_site {
        value["condition_on_receipt"] = r.condition_on_receipt.clone().into();
        value["on_site"] = r.on_site.into();
    }
    // A revision after the first binds what its amendment changed too (how the item
    // and the customer print, and why); revision 1's content hashes as it always has.
    if r.revision > 1 {
        value["revision"] = r.revision.into();
        value["amends_certificate_id"] = r.amends_certificate_id.into();
        value["amendment_reason"] = r.amendment_reason.clone().into();
        value["print_changes"] = r.print_changes.clone().into();
    }
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

/// The work order, for a member of its laboratory with one of `roles`.
async fn work_order_for(
    actor: &Actor,
    db: &impl sea_orm::ConnectionTrait,
    id: i32,
    roles: &[Role],
) -> Result<crate::store::entities::work_order::Model> {
    actor.require_login()?;
    let w = crate::store::work_orders::work_order_by_id(db, id)
        .await?
        .filter(|w| actor.sees_organisation(w.lab_id))
        .ok_or(Error::NotFound { what: "work order" })?;
    let own = actor.principal().is_none_or(|p| p.organisation_id == w.lab_id);
    if !own || !actor.may(roles) {
        return Err(actor.forbidden());
    }
    Ok(w)
}

/// The roles `actor` may act in (every role for the operator's command line), and who
/// they are, as the workflow sees them.
fn roles_of(actor: &Actor) -> Vec<Role> {
    Role::ALL.iter().copied().filter(|r| actor.may(&[*r])).collect()
}

/// Who entered or corrected a record's results (in any revision), and every signature on
/// its current revision by duty.
async fn history_of(db: &impl sea_orm::ConnectionTrait, r: &calibration_record::Model) -> Result<History> {
    Ok(history_from(
        r,
        &q::signatures_of(db, r.id).await?,
        &q::edits_of(db, r.id).await?,
    ))
}

/// The record's history from its signatures and corrections already loaded.
fn history_from(
    r: &calibration_record::Model,
    signatures: &[record_signature::Model],
    edits: &[record_edit::Model],
) -> History {
    let mut authors: Vec<i32> = r.created_by.into_iter().collect();
    authors.extend(edits.iter().filter_map(|e| e.edited_by));
    History {
        amendment: r.revision > 1,
        authors,
        signatures: signatures
            .iter()
            .filter(|s| s.revision == r.revision)
            .filter_map(|s| s.user_id.map(|u| (duty_of(&s.role), u)))
            .collect(),
    }
}

/// The duty a signature's stored role stands for.
fn duty_of(role: &str) -> Duty {
    match role {
        "technician" => Duty::Record,
        "reviewer" => Duty::Review,
        _ => Duty::Approve,
    }
}

/// The record's state, as the workflow names it.
fn status_of(r: &calibration_record::Model) -> Result<RecordStatus> {
    RecordStatus::parse(&r.status).ok_or_else(|| Error::Internal(format!("record {} in state {}", r.id, r.status)))
}

/// Asks the workflow for `action` on `r` by `actor`: the move, or the refusal as the
/// service answers it (409 for the state, 403 for the role, 422 for a duty or a reason).
async fn transition(
    actor: &Actor,
    db: &impl sea_orm::ConnectionTrait,
    r: &calibration_record::Model,
    action: RecordAction,
    reason: &str,
) -> Result<workflow::Move> {
    let roles = roles_of(actor);
    let who = Mover {
        user: actor.principal().map(|p| p.user_id),
        roles: &roles,
    };
    let history = history_of(db, r).await?;
    workflow::next(status_of(r)?, action, &who, &history, reason).map_err(|refusal| match refusal {
        Refusal::State(e) => Error::Conflict {
            code: e.code,
            message: e.message,
            fields: vec![],
        },
        Refusal::Role => actor.forbidden(),
        Refusal::Invalid(e) => Error::invalid(vec![e]),
    })
}
