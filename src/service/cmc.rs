//! A laboratory's calibration and measurement capabilities (CMC), range by range: the
//! smallest expanded uncertainty it may report over each range of a quantity
//! (ILAC-P14). Recording results raises a point's U to the CMC of the range it lies in.
//!
//! The table is public within the system (accreditation scopes are published): anyone
//! logged in may read it. It is kept by the laboratory's institute admins and approvers
//! (the quality manager signs the scope), and by system admins. Every change is audited.

use super::audit::{self, Changes, Entry};
use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::certificates::CmcLine;
use crate::domain::register::OrgKind;
use crate::domain::units::{display_stored, parse_quantity, QuantityKind};
use crate::domain::Error as FieldError;
use crate::store::entities::cmc_entry;
use crate::store::records as q;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const KEEPERS: [Role; 2] = [Role::InstituteAdmin, Role::Approver];

/// A CMC line as typed: the range and the CMC with their units, a relative part
/// ("0.5 ppm", "0.01 %" or a plain number) and the method it holds for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CmcInput {
    pub quantity: String,
    pub range_min: String,
    pub range_max: String,
    pub cmc: String,
    pub cmc_relative: String,
    pub method: String,
}

/// A line as the page and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct CmcLineView {
    pub id: i32,
    pub quantity: String,
    pub quantity_name_zh: String,
    pub quantity_name_en: String,
    pub range_min_si: f64,
    pub range_max_si: f64,
    pub cmc_si: f64,
    pub cmc_relative: f64,
    pub unit: String,
    /// "0.5 mm … 100 mm"
    pub range: String,
    /// "0.05 µm + 0.5·10⁻⁶·|x|"
    pub cmc_text: String,
    pub method: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CmcView {
    pub lab_id: i32,
    pub lab_name_zh: String,
    pub lab_name_en: String,
    pub lines: Vec<CmcLineView>,
    /// How the laboratory rounds the U it reports: `half_even` (GB/T 8170) or `up`.
    pub u_rounding: String,
    pub may_edit: bool,
    /// The kinds of quantity, as (value, Chinese name, English name).
    pub quantities: Vec<(&'static str, &'static str, &'static str)>,
}

fn may_keep(actor: &Actor, lab: i32) -> bool {
    actor.may(&[Role::SystemAdmin])
        || (actor.may(&KEEPERS) && actor.principal().is_some_and(|p| p.organisation_id == lab))
}

fn view_of(m: &cmc_entry::Model) -> CmcLineView {
    let rel = if m.cmc_relative == 0.0 {
        String::new()
    } else {
        // As scopes write it: "0.5×10⁻⁶·|x|".
        format!(
            " + {}×10⁻⁶·|x|",
            crate::domain::units::round_sig(m.cmc_relative * 1e6, 6)
        )
    };
    let kind = QuantityKind::parse(&m.quantity);
    CmcLineView {
        id: m.id,
        quantity: m.quantity.clone(),
        quantity_name_zh: kind.map_or("", |k| k.name_zh()).to_owned(),
        quantity_name_en: kind.map_or("", |k| k.name_en()).to_owned(),
        range_min_si: m.range_min_si,
        range_max_si: m.range_max_si,
        cmc_si: m.cmc_si,
        cmc_relative: m.cmc_relative,
        unit: m.unit.clone(),
        range: format!(
            "{} … {}",
            display_stored(&m.quantity, m.range_min_si, &m.range_min_unit),
            display_stored(&m.quantity, m.range_max_si, &m.range_max_unit)
        ),
        cmc_text: format!(
            "{}{rel}",
            display_stored(
                QuantityKind::parse(&m.quantity).map_or("", |k| k.difference_kind().as_str()),
                m.cmc_si,
                &m.unit
            )
        ),
        method: m.method.clone(),
    }
}

/// The laboratory's lines in SI, for one quantity, as the record's floor reads them.
pub async fn lines_for<C: ConnectionTrait>(db: &C, lab: i32, quantity: QuantityKind) -> Result<Vec<CmcLine>> {
    Ok(q::cmc_lines(db, lab, Some(quantity.as_str()))
        .await?
        .iter()
        .map(|m| CmcLine {
            min: m.range_min_si,
            max: m.range_max_si,
            absolute: m.cmc_si,
            relative: m.cmc_relative,
        })
        .collect())
}

async fn laboratory(db: &DatabaseConnection, lab: i32) -> Result<crate::store::entities::organisation::Model> {
    crate::store::organisations::organisations_by_ids(db, &[lab])
        .await?
        .remove(&lab)
        .filter(|o| {
            matches!(
                OrgKind::parse(&o.kind),
                Some(OrgKind::Institute | OrgKind::MeasurementCentre)
            )
        })
        .ok_or(Error::NotFound { what: "laboratory" })
}

pub async fn list(actor: &Actor, db: &DatabaseConnection, lab: i32) -> Result<CmcView> {
    actor.require_login()?;
    let o = laboratory(db, lab).await?;
    let lines = q::cmc_lines(db, lab, None).await?;
    Ok(CmcView {
        lab_id: lab,
        lab_name_zh: o.name_zh,
        lab_name_en: o.name_en,
        lines: lines.iter().map(view_of).collect(),
        u_rounding: o.u_rounding.clone(),
        may_edit: may_keep(actor, lab),
        quantities: QuantityKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.name_zh(), k.name_en()))
            .collect(),
    })
}

/// Sets how the laboratory rounds the expanded uncertainty it reports (JJF 1059.1-2012
/// §5.3.8): `half_even` (GB/T 8170, the default) or `up`. A U raised to the CMC is
/// rounded up whichever is chosen. Audited; records already issued keep their figures.
pub async fn set_rounding(
    actor: &Actor,
    db: &DatabaseConnection,
    lab: i32,
    u_rounding: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    actor.require_login()?;
    let o = laboratory(db, lab).await?;
    if !may_keep(actor, lab) {
        return Err(actor.forbidden());
    }
    let Some(rounding) = crate::domain::numbers::Rounding::parse(u_rounding) else {
        return Err(Error::field(
            "u_rounding",
            "cmc.rounding_invalid",
            "half_even (GB/T 8170) or up",
        ));
    };
    if o.u_rounding == rounding.as_str() {
        return Ok(());
    }
    let txn = crate::store::begin(db).await?;
    let old = o.u_rounding.clone();
    let mut row: crate::store::entities::organisation::ActiveModel = o.into();
    row.u_rounding = Set(rounding.as_str().to_owned());
    row.updated_at = Set(now);
    crate::store::organisations::update_organisation(&txn, row).await?;
    let mut changes = Changes::new();
    changes.set("u_rounding", old.into(), rounding.as_str().into());
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "organisation.u_rounding",
            entity_type: "organisation",
            entity_id: lab.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Adds a line; every field is checked and every error named.
pub async fn add(
    actor: &Actor,
    db: &DatabaseConnection,
    lab: i32,
    input: &CmcInput,
    now: DateTime<Utc>,
) -> Result<CmcLineView> {
    actor.require_login()?;
    laboratory(db, lab).await?;
    if !may_keep(actor, lab) {
        return Err(actor.forbidden());
    }
    let mut e: Vec<FieldError> = Vec::new();
    let kind = QuantityKind::parse(input.quantity.trim());
    if kind.is_none() {
        e.push(FieldError::new(
            "quantity",
            "cmc.quantity_invalid",
            "choose the kind of quantity",
        ));
    }
    let (mut min, mut max, mut cmc) = (None, None, None);
    if let Some(k) = kind {
        min = parse_quantity("range_min", &input.range_min, k)
            .map_err(|x| e.push(x))
            .ok();
        max = parse_quantity("range_max", &input.range_max, k)
            .map_err(|x| e.push(x))
            .ok();
        cmc = parse_quantity("cmc", &input.cmc, k.difference_kind())
            .map_err(|x| e.push(x))
            .ok();
    }
    if let (Some(a), Some(b)) = (min, max) {
        if b.si < a.si {
            e.push(FieldError::new(
                "range_max",
                "cmc.range_reversed",
                "the upper end is below the lower end",
            ));
        }
    }
    if cmc.is_some_and(|c| c.si < 0.0) {
        e.push(FieldError::new("cmc", "cmc.negative", "a CMC is not negative"));
    }
    let relative = match input.cmc_relative.trim() {
        "" => Some(0.0),
        t => parse_quantity("cmc_relative", t, QuantityKind::Ratio)
            .map_err(|x| e.push(x))
            .ok()
            .map(|r| r.si)
            .filter(|r| {
                let ok = (0.0..1.0).contains(r);
                if !ok {
                    e.push(FieldError::new(
                        "cmc_relative",
                        "cmc.relative_range",
                        "a relative part from 0 to below 1 (e.g. 0.5 ppm)",
                    ));
                }
                ok
            }),
    };
    if cmc.is_some_and(|c| c.si == 0.0) && relative == Some(0.0) {
        e.push(FieldError::new("cmc", "cmc.zero", "a CMC of zero floors nothing"));
    }
    if input.method.chars().count() > 200 {
        e.push(FieldError::new("method", "field.too_long", "at most 200 characters"));
    }
    if !e.is_empty() {
        return Err(Error::invalid(e));
    }
    let (k, min, max, cmc, relative) = (
        kind.expect("checked"),
        min.expect("checked"),
        max.expect("checked"),
        cmc.expect("checked"),
        relative.expect("checked"),
    );
    let txn = crate::store::begin(db).await?;
    let m = q::insert_cmc(
        &txn,
        cmc_entry::ActiveModel {
            lab_id: Set(lab),
            quantity: Set(k.as_str().to_owned()),
            range_min_si: Set(min.si),
            range_max_si: Set(max.si),
            range_min_unit: Set(min.unit.to_owned()),
            range_max_unit: Set(max.unit.to_owned()),
            unit: Set(cmc.unit.to_owned()),
            cmc_si: Set(cmc.si),
            cmc_relative: Set(relative),
            method: Set(input.method.trim().to_owned()),
            created_by: Set(actor.principal().map(|p| p.user_id)),
            created_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    let v = view_of(&m);
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "cmc.add",
            entity_type: "organisation",
            entity_id: lab.to_string(),
            changes: Changes::created(&BTreeMap::from([
                ("cmc_line", m.id.to_string()),
                ("quantity", m.quantity.clone()),
                ("range", v.range.clone()),
                ("cmc", v.cmc_text.clone()),
                ("method", m.method.clone()),
            ])),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(v)
}

/// Removes a line of the laboratory's table. Records already made keep the floor they
/// were made with: their points say whether U was raised.
pub async fn remove(actor: &Actor, db: &DatabaseConnection, lab: i32, id: i32, now: DateTime<Utc>) -> Result<()> {
    actor.require_login()?;
    let m = q::cmc_line(db, id)
        .await?
        .filter(|m| m.lab_id == lab && actor.require_login().is_ok())
        .ok_or(Error::NotFound { what: "CMC line" })?;
    if !may_keep(actor, lab) {
        return Err(actor.forbidden());
    }
    let v = view_of(&m);
    let txn = crate::store::begin(db).await?;
    q::delete_cmc(&txn, id).await?;
    let mut changes = Changes::new();
    changes.set("cmc_line", id.into(), serde_json::Value::Null);
    changes.note("range", v.range.into());
    changes.note("cmc", v.cmc_text.into());
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "cmc.remove",
            entity_type: "organisation",
            entity_id: lab.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
