//! Calibrations entered by hand or read from an upstream laboratory's DCC: the rules are
//! `domain::calibrations::draft`; here they are authorized, given what the register says,
//! written and audited.

use super::catalogue::Catalogue;
use super::{may_see, parse_kind, ItemView, WRITERS};
use crate::domain::accounts::Role;
use crate::domain::calibrations::{CalibrationContext, ReferenceFacts, StandardFacts};
use crate::domain::register::OrgKind;
use crate::domain::traceability::{Item, ItemKind};
use crate::domain::{self};
use crate::service::audit::{self, Changes, Entry};
use crate::service::{Actor, Error, Result};
use crate::store::entities::calibration;
use crate::store::{organisations, traceability as q};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use std::collections::{BTreeMap, HashSet};

pub use crate::domain::calibrations::CalibrationInput;

/// The item a link would be entered for, when the actor may enter one: its owner's
/// calibration staff and system admins. Others learn nothing more than they may see.
pub async fn calibration_target(actor: &Actor, db: &DatabaseConnection, kind: &str, id: i32) -> Result<ItemView> {
    actor.require_login()?;
    let item = Item::new(parse_kind("kind", kind)?, id);
    let cat = Catalogue::load(db, Some(&HashSet::from([item])), &[]).await?;
    let view = cat.find(item).ok_or(Error::NotFound { what: "item" })?;
    let owner = view.owner_id.unwrap_or(0);
    if !may_see(actor, item, Some(owner)) {
        return Err(Error::NotFound { what: "item" });
    }
    let may_write = actor.may(&[Role::SystemAdmin])
        || (actor.may(&WRITERS) && actor.principal().is_some_and(|p| p.organisation_id == owner));
    if !may_write {
        return Err(actor.forbidden());
    }
    Ok(view)
}

/// What the register says of a reference: whether it is one of its items, whether it is
/// traceable to `item` already, and the standard behind it (for the day's rules).
async fn reference_facts(db: &DatabaseConnection, r: Item, item: Item) -> Result<ReferenceFacts> {
    use crate::store::entities::{device, standard};
    use sea_orm::EntityTrait;
    if r.kind == ItemKind::Instrument {
        return Ok(ReferenceFacts {
            in_register: false,
            above_or_same: false,
            standard: None,
        });
    }
    let rc = Catalogue::load(db, Some(&HashSet::from([r])), &[]).await?;
    let in_register = rc.entries.contains_key(&r);
    let above_or_same =
        in_register && q::is_above_or_same(db, (r.kind.as_str(), r.id), (item.kind.as_str(), item.id)).await?;
    let standard_id = match r.kind {
        ItemKind::Standard => Some(r.id),
        ItemKind::Device => device::Entity::find_by_id(r.id).one(db).await?.map(|d| d.standard_id),
        ItemKind::Instrument => None,
    };
    let standard = match standard_id {
        Some(id) => standard::Entity::find_by_id(id).one(db).await?.map(|s| StandardFacts {
            cert_no: s.cert_no,
            status: s.status,
            cert_expires_on: s.cert_expires_on,
        }),
        None => None,
    };
    Ok(ReferenceFacts {
        in_register,
        above_or_same,
        standard,
    })
}

/// Records a calibration; refuses one that would close a cycle.
pub async fn record_calibration(
    actor: &Actor,
    db: &DatabaseConnection,
    input: &CalibrationInput,
    now: DateTime<Utc>,
) -> Result<i32> {
    record_calibration_from(actor, db, input, None, now).await
}

/// A link read from an upstream laboratory's DCC.
pub struct FromDcc {
    pub dcc: crate::render::dcc_read::Incoming,
    pub sha256: String,
}

/// Imports a DCC issued by an upstream laboratory for an item of the register (one of
/// our standards or devices): its number, calibration date and the laboratory (by the
/// code it gives, or `input.provider`) fill in the calibration link; the result in a
/// unit of the item's quantity with the largest expanded uncertainty gives the link's U
/// and, when it is an indication error, the as-found error. `input.valid_until` may be
/// given; else the calibration is valid for 12 months. All or nothing, audited with the
/// file's SHA-256.
pub async fn import_dcc(
    actor: &Actor,
    db: &DatabaseConnection,
    input: &CalibrationInput,
    xml: &[u8],
    now: DateTime<Utc>,
) -> Result<i32> {
    actor.require_login()?;
    // Who may link the item, before anything of the file is read.
    if let Ok(id) = input.item_id.trim().parse::<i32>() {
        calibration_target(actor, db, input.item_kind.trim(), id).await?;
    }
    if xml.is_empty() {
        return Err(Error::field("file", "dcc.file_missing", "choose the DCC's XML file"));
    }
    let dcc = crate::render::dcc_read::read(xml).map_err(|m| Error::field("file", "dcc.unreadable", m))?;
    let mut input = input.clone();
    input.certificate_no = dcc.unique_identifier.clone();
    let on = dcc.end.unwrap_or(dcc.begin);
    input.calibrated_on = on.to_string();
    if input.valid_until.trim().is_empty() {
        input.valid_until = crate::domain::schedule::valid_until(on, 12).to_string();
    }
    if input.provider.trim().is_empty() && input.reference_kind.trim().is_empty() {
        match &dcc.lab_code {
            Some(code) => input.provider = code.clone(),
            None => {
                return Err(Error::field(
                    "provider",
                    "dcc.provider_unknown",
                    format!(
                        "the DCC names its laboratory ({}) without a code; name the provider",
                        dcc.lab_name
                    ),
                ))
            }
        }
    }
    if input.provider_evidence.trim().is_empty() {
        input.provider_evidence = format!("DCC {} · {}", dcc.unique_identifier, dcc.lab_name)
            .chars()
            .take(200)
            .collect();
    }
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(xml));
    record_calibration_from(actor, db, &input, Some(&FromDcc { dcc, sha256 }), now).await
}

async fn record_calibration_from(
    actor: &Actor,
    db: &DatabaseConnection,
    input: &CalibrationInput,
    from_dcc: Option<&FromDcc>,
    now: DateTime<Utc>,
) -> Result<i32> {
    actor.require_login()?;
    let item = input.item().map_err(Error::invalid)?;
    let (kind, item_id) = (item.kind, item.id);
    let cat = Catalogue::load(db, Some(&HashSet::from([item])), &[]).await?;
    let Some(view) = cat.find(item) else {
        return Err(Error::field("item_id", "traceability.item_unknown", "no such item"));
    };
    let owner = view.owner_id.unwrap_or(0);
    if !may_see(actor, item, Some(owner)) {
        return Err(Error::field("item_id", "traceability.item_unknown", "no such item"));
    }
    let may_write = actor.may(&[Role::SystemAdmin])
        || (actor.may(&WRITERS) && actor.principal().is_some_and(|p| p.organisation_id == owner));
    if !may_write {
        return Err(actor.forbidden());
    }
    let ctx = CalibrationContext {
        item_quantity: cat
            .nodes
            .get(&item)
            .and_then(|n| n.quantity.as_deref().map(str::to_owned)),
        reference: match input.reference() {
            Some(r) => Some(reference_facts(db, r, item).await?),
            None => None,
        },
        provider: match input.provider.trim() {
            "" => None,
            code => organisations::organisation_by_code(db, code)
                .await?
                .map(|o| (o.id, OrgKind::parse(&o.kind))),
        },
        dcc: from_dcc.map(|f| f.dcc.results.as_slice()),
    };
    let d = crate::domain::calibrations::draft(item, input, &ctx).map_err(Error::invalid)?;
    let provider = match d.provider_id {
        Some(id) => organisations::organisation_by_id(db, id).await?,
        None => None,
    };
    let (reference, uncertainty, mpe, as_found) = (d.reference, d.uncertainty, d.mpe, d.as_found_error_si);
    let (calibrated_on, valid_until, quantity) = (d.calibrated_on, d.valid_until, d.quantity.clone());
    let user = actor.principal().map(|p| p.user_id);
    let txn = crate::store::begin(db).await?;
    let row = calibration::ActiveModel {
        item_kind: Set(kind.as_str().to_owned()),
        item_id: Set(item_id),
        reference_kind: Set(reference.map(|r| r.kind.as_str().to_owned())),
        reference_id: Set(reference.map(|r| r.id)),
        provider_id: Set(provider.as_ref().map(|p| p.id)),
        provider_evidence: Set(d.provider_evidence.clone()),
        lab_id: Set(provider.as_ref().map(|p| p.id)),
        certificate_no: Set(d.certificate_no.clone()),
        calibrated_on: Set(calibrated_on),
        valid_until: Set(valid_until),
        quantity: Set(quantity.as_deref().map(str::to_owned)),
        uncertainty_si: Set(uncertainty.as_ref().map(|u| u.si)),
        uncertainty_unit: Set(uncertainty.as_ref().map(|u| u.unit.to_owned())),
        mpe_si: Set(mpe.as_ref().map(|m| m.si)),
        as_found_error_si: Set(as_found),
        decision_rule: Set(None),
        decision: Set(None),
        source: Set(if from_dcc.is_some() { "dcc" } else { "manual" }.into()),
        created_by: Set(user),
        created_at: Set(now),
        ..Default::default()
    };
    let saved = match q::insert_calibration(&txn, row).await {
        Ok(m) => m,
        Err(e) if e.to_string().to_lowercase().contains("unique") => {
            return Err(Error::Conflict {
                code: "traceability.certificate_duplicate",
                message: "this item already has a calibration with this certificate number".into(),
                fields: vec![domain::Error::new(
                    "certificate_no",
                    "traceability.certificate_duplicate",
                    "this item already has a calibration with this certificate number",
                )],
            })
        }
        Err(e) => return Err(e.into()),
    };
    let mut fields: BTreeMap<&str, String> = BTreeMap::new();
    fields.insert("item", format!("{}:{}", kind.as_str(), item_id));
    if let Some(r) = reference {
        fields.insert("reference", format!("{}:{}", r.kind.as_str(), r.id));
    }
    if let Some(p) = &provider {
        fields.insert("provider", p.code.clone());
        fields.insert("provider_evidence", saved.provider_evidence.clone());
    }
    fields.insert("certificate_no", saved.certificate_no.clone());
    fields.insert("calibrated_on", calibrated_on.to_string());
    fields.insert("valid_until", valid_until.to_string());
    if let Some(u) = &uncertainty {
        fields.insert("uncertainty", u.display());
    }
    if let Some(m) = &mpe {
        fields.insert("mpe", m.display());
    }
    if let Some(f) = from_dcc {
        fields.insert("dcc_sha256", f.sha256.clone());
        fields.insert("dcc_laboratory", f.dcc.lab_name.clone());
        if let Some(a) = as_found {
            fields.insert("as_found_error", a.to_string());
        }
    }
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "calibration.create",
            entity_type: "calibration",
            entity_id: saved.id.to_string(),
            changes: Changes::created(&fields),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(saved.id)
}
