//! Reverse traceability: what a suspect standard or device calibrated since a date, with
//! each decision recomputed for the error found, and the list as CSV.

use super::audit::{counted, Count};
use super::catalogue::{Catalogue, ProvinceCache};
use super::{may_see, parse_kind, ItemView};
use crate::domain::conformity::{corrected_error, decide, Decision, DecisionRule};
use crate::domain::register::parse_date;
use crate::domain::traceability::{self as rules, Item};
use crate::domain::units::{parse_quantity, QuantityKind};
use crate::service::{Actor, Error, Result};
use crate::store::entities::calibration;
use crate::store::traceability as q;
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A calibration reached by an impact analysis.
#[derive(Debug, Clone, Serialize)]
pub struct AffectedView {
    pub calibration_id: i32,
    pub depth: u32,
    pub item: ItemView,
    pub certificate_no: String,
    pub calibrated_on: NaiveDate,
    /// The enterprise (or other owner) that holds the item.
    pub holder: String,
    pub decision: Option<String>,
    /// First level only, when the reference's error is given: the decision with the
    /// item's error corrected for it.
    pub recomputed_decision: Option<&'static str>,
    pub flips: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImpactReport {
    pub suspect: ItemView,
    pub since: NaiveDate,
    /// The suspect reference's as-found error, as given.
    pub reference_error: Option<String>,
    pub affected: Vec<AffectedView>,
    /// Holders of affected items, with how many of their calibrations are affected.
    pub holders: Vec<Count>,
    /// The first-level results whose decision flips from pass.
    pub flips: usize,
}

/// Reverse traceability from `kind`/`id`, suspect since `since`. `reference_error` is the
/// suspect's as-found error with its sign and unit ("-0.3 µm"), when known.
pub async fn impact(
    actor: &Actor,
    db: &DatabaseConnection,
    cache: &ProvinceCache,
    kind: &str,
    id: i32,
    since: &str,
    reference_error: Option<&str>,
) -> Result<ImpactReport> {
    actor.require_login()?;
    let kind = parse_kind("kind", kind)?;
    let since = parse_date("since", since).map_err(|e| Error::invalid(vec![e]))?;
    let suspect = Item::new(kind, id);
    let suspect_cat = Catalogue::load(db, Some(&HashSet::from([suspect])), &[]).await?;
    let Some(suspect_view) = suspect_cat.find(suspect) else {
        return Err(Error::NotFound { what: "item" });
    };
    let owner = suspect_view.owner_id.unwrap_or(0);
    if !may_see(actor, suspect, Some(owner)) {
        return Err(Error::NotFound { what: "item" });
    }
    if !(actor.oversees() || actor.principal().is_some_and(|p| p.organisation_id == owner)) {
        return Err(actor.forbidden());
    }
    let quantity = suspect_cat.nodes.get(&suspect).and_then(|n| n.quantity.clone());
    let delta = match reference_error.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => {
            let kind = quantity.as_deref().and_then(QuantityKind::parse).ok_or_else(|| {
                Error::field(
                    "reference_error",
                    "traceability.error_kind_unknown",
                    "the suspect reference has no kind of quantity to read the error in",
                )
            })?;
            let q =
                parse_quantity("reference_error", text, kind.difference_kind()).map_err(|e| Error::invalid(vec![e]))?;
            Some((q.si, text.to_owned()))
        }
    };
    let children = cache.downstream(db).await?;
    let found = rules::impact_in(&children, suspect, since);
    let ids: Vec<i32> = found.iter().map(|a| a.calibration_id).collect();
    let first_level: Vec<i32> = found
        .iter()
        .filter(|a| a.depth == 1)
        .map(|a| a.calibration_id)
        .collect();
    let items: HashSet<Item> = found.iter().map(|a| a.item).collect();
    // Certificates, the first level's results in full (to decide them again) and the
    // items, on their own connections at once.
    let (certificates, full, cat) = tokio::try_join!(
        async { Ok::<_, Error>(q::certificates_of(db, &ids).await?) },
        async {
            Ok::<_, Error>(match delta {
                Some(_) => q::calibrations_by_ids(db, &first_level).await?,
                None => Vec::new(),
            })
        },
        Catalogue::load(db, Some(&items), &[])
    )?;
    let certificates: HashMap<i32, (Option<String>, String)> = certificates
        .into_iter()
        .map(|(id, decision, cert)| (id, (decision, cert)))
        .collect();
    let full: HashMap<i32, calibration::Model> = full.into_iter().map(|m| (m.id, m)).collect();
    let mut holders: HashMap<String, usize> = HashMap::new();
    let mut flips = 0;
    let affected: Vec<AffectedView> = found
        .iter()
        .map(|a| {
            let (decision, certificate_no) = certificates.get(&a.calibration_id).cloned().unwrap_or_default();
            let item = cat.view(a.item);
            *holders.entry(item.owner.clone()).or_insert(0) += 1;
            let recomputed = match (a.depth, delta.as_ref(), full.get(&a.calibration_id)) {
                (1, Some((d, _)), Some(row)) => recompute(row, *d, quantity.as_deref()),
                _ => None,
            };
            let was_pass = decision.as_deref() == Some(Decision::Pass.as_str());
            let flip = was_pass && recomputed.is_some_and(|d| d != Decision::Pass);
            flips += usize::from(flip);
            AffectedView {
                calibration_id: a.calibration_id,
                depth: a.depth,
                certificate_no,
                calibrated_on: a.calibrated_on,
                holder: item.owner.clone(),
                item,
                decision,
                recomputed_decision: recomputed.map(|d| d.as_str()),
                flips: flip,
            }
        })
        .collect();
    Ok(ImpactReport {
        suspect: suspect_view,
        since,
        reference_error: delta.map(|(_, t)| t),
        affected,
        holders: counted(holders),
        flips,
    })
}

/// The decision of a first-level result with its error corrected for the reference's
/// error `delta` (SI), under the rule stored with it; None when the result lacks what
/// the decision needs or is of another kind of quantity.
fn recompute(row: &calibration::Model, delta: f64, reference_quantity: Option<&str>) -> Option<Decision> {
    if row.quantity.as_deref() != reference_quantity {
        return None;
    }
    let rule = DecisionRule::parse(row.decision_rule.as_deref()?)?;
    let e = row.as_found_error_si?;
    let mpe = row.mpe_si?;
    let u = row.uncertainty_si.unwrap_or(0.0);
    Some(decide(rule, corrected_error(e, delta), mpe, u))
}

/// The impact analysis as CSV, one affected calibration per row (the lab's notification
/// list). Cells that a spreadsheet would run as a formula are quoted with a leading '.
pub fn impact_csv(r: &ImpactReport) -> std::result::Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "depth",
        "item_kind",
        "item_id",
        "item",
        "holder",
        "city",
        "certificate_no",
        "calibrated_on",
        "decision",
        "recomputed_decision",
        "flips",
    ])?;
    let safe = |s: &str| crate::domain::spreadsheet::cell(s).into_owned();
    for a in &r.affected {
        w.write_record([
            a.depth.to_string(),
            a.item.kind.to_owned(),
            a.item.id.to_string(),
            safe(&a.item.label),
            safe(&a.holder),
            safe(&a.item.city),
            safe(&a.certificate_no),
            a.calibrated_on.to_string(),
            a.decision.clone().unwrap_or_default(),
            a.recomputed_decision.unwrap_or("").to_owned(),
            a.flips.to_string(),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 text"))
}
