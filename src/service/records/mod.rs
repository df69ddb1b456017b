//! Recording results for a work order, and the record's way to a certificate: the
//! technician records and signs, a reviewer (核验) signs, an approver (批准) signs and
//! the certificate is issued. Three different people, each re-entering their password;
//! each signature binds the SHA-256 of the record's content as it then stood.
//!
//! Raw observations are kept as entered; a later correction keeps the original, with
//! who, when and why (`record_edits`).
//!
//! One file per use case: `create`, `correct`, `sign` (with the certificate of an
//! approval) and `view`.

use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::store::entities::{calibration_record, record_point};
use sha2::{Digest, Sha256};

pub use crate::domain::records::{PointInput, RecordInput};

mod correct;
mod create;
mod repair;
mod sign;
mod view;

pub use correct::correct_readings;
pub use create::record;
pub use repair::{repair_stuck_approvals, Repair};
pub(crate) use sign::RecordContent;
pub use sign::{sign, Signed};
pub use view::{
    budget_choices, view, BudgetChoice, PointShown, Record, RecordEdit, RecordPoint, RecordSignature, RecordView,
};

/// The content a signature binds: the record as it stands, canonical JSON, hashed.
fn content_sha256(r: &calibration_record::Model, points: &[record_point::Model], standards: &[i32]) -> String {
    let value = serde_json::json!({
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
