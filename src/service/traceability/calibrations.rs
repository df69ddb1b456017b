//! Calibration links entered by hand or read from an upstream laboratory's DCC: checked,
//! written and audited.

use super::catalogue::Catalogue;
use super::{may_see, parse_kind, ItemView, WRITERS};
use crate::domain::accounts::Role;
use crate::domain::register::{parse_date, OrgKind};
use crate::domain::traceability::{Item, ItemKind};
use crate::domain::units::{parse_quantity, parse_tolerance, QuantityKind};
use crate::domain::{self};
use crate::service::audit::{self, Changes, Entry};
use crate::service::{Actor, Error, Result};
use crate::store::entities::{calibration, organisation};
use crate::store::{organisations, traceability as q};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use std::collections::{BTreeMap, HashSet};

/// A link entered by hand (typically an external calibration of a standard's device).
#[derive(Debug, Clone, Default)]
pub struct CalibrationInput {
    pub item_kind: String,
    pub item_id: String,
    pub reference_kind: String,
    pub reference_id: String,
    /// The external provider's organisation code, instead of a reference.
    pub provider: String,
    pub provider_evidence: String,
    pub certificate_no: String,
    pub calibrated_on: String,
    pub valid_until: String,
    /// The expanded uncertainty stated on the certificate, with its unit ("0.05 µm").
    pub uncertainty: String,
    /// The item's MPE ("±0.2 µm"), optional.
    pub mpe: String,
}

impl CalibrationInput {
    pub const FIELDS: &'static [&'static str] = &[
        "item_kind",
        "item_id",
        "reference_kind",
        "reference_id",
        "provider",
        "provider_evidence",
        "certificate_no",
        "calibrated_on",
        "valid_until",
        "uncertainty",
        "mpe",
    ];

    pub fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "item_kind" => &mut self.item_kind,
            "item_id" => &mut self.item_id,
            "reference_kind" => &mut self.reference_kind,
            "reference_id" => &mut self.reference_id,
            "provider" => &mut self.provider,
            "provider_evidence" => &mut self.provider_evidence,
            "certificate_no" => &mut self.certificate_no,
            "calibrated_on" => &mut self.calibrated_on,
            "valid_until" => &mut self.valid_until,
            "uncertainty" => &mut self.uncertainty,
            "mpe" => &mut self.mpe,
            _ => return None,
        })
    }
}

impl crate::domain::TextFields for CalibrationInput {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        self.field_mut(name)
    }
}

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

/// Why the register standard behind `reference` (the standard itself, or the one a
/// device belongs to) could not be used on `on`: its assessment certificate had expired,
/// or it was suspended or withdrawn.
async fn reference_out_of_service<C: sea_orm::ConnectionTrait>(
    db: &C,
    reference: Item,
    on: NaiveDate,
) -> Result<Option<domain::Error>> {
    use crate::store::entities::{device, standard};
    use sea_orm::EntityTrait;
    let standard_id = match reference.kind {
        ItemKind::Standard => Some(reference.id),
        ItemKind::Device => device::Entity::find_by_id(reference.id)
            .one(db)
            .await?
            .map(|d| d.standard_id),
        ItemKind::Instrument => None,
    };
    let Some(s) = (match standard_id {
        Some(id) => standard::Entity::find_by_id(id).one(db).await?,
        None => None,
    }) else {
        return Ok(None);
    };
    Ok(crate::domain::traceability::out_of_service(
        &s.cert_no,
        &s.status,
        s.cert_expires_on,
        on,
    ))
}

/// Records a link; refuses one that would close a cycle.
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

/// The names under which a DCC states an indication error or deviation.
fn names_an_error(names: &[String]) -> bool {
    names.iter().any(|n| {
        let n = n.to_lowercase();
        ["error", "deviation", "误差", "偏差", "abweichung", "messabweichung"]
            .iter()
            .any(|w| n.contains(w))
    })
}

/// The names under which a DCC states a result after adjustment (as left).
fn names_as_left(names: &[String]) -> bool {
    names.iter().any(|n| {
        let n = n.to_lowercase();
        ["after adjustment", "as left", "as-left", "调整后", "nach justierung"]
            .iter()
            .any(|w| n.contains(w))
    })
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
        input.valid_until = crate::domain::schedule::add_months(on, 12)
            .pred_opt()
            .unwrap_or(on)
            .to_string();
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
    let mut errors: Vec<domain::Error> = Vec::new();
    let kind = ItemKind::parse(&input.item_kind);
    if kind.is_none() {
        errors.push(domain::Error::new(
            "item_kind",
            "traceability.kind_invalid",
            format!("choose one of: {}", ItemKind::choices()),
        ));
    }
    let Ok(item_id) = input.item_id.trim().parse::<i32>() else {
        errors.push(domain::Error::new(
            "item_id",
            "traceability.item_missing",
            "name the item by its id (a whole number)",
        ));
        return Err(Error::invalid(errors));
    };
    let Some(kind) = kind else {
        return Err(Error::invalid(errors));
    };
    let item = Item::new(kind, item_id);
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
    let quantity = cat.nodes.get(&item).and_then(|n| n.quantity.clone());
    let qkind = quantity.as_deref().and_then(QuantityKind::parse);
    // What it was calibrated against: a register item or an external provider.
    let reference_kind = input.reference_kind.trim();
    let provider_code = input.provider.trim();
    let mut reference: Option<Item> = None;
    let mut provider: Option<organisation::Model> = None;
    match (reference_kind.is_empty(), provider_code.is_empty()) {
        (false, true) => match (
            ItemKind::parse(reference_kind),
            input.reference_id.trim().parse::<i32>().ok(),
        ) {
            (Some(k), Some(rid)) => reference = Some(Item::new(k, rid)),
            (None, _) => errors.push(domain::Error::new(
                "reference_kind",
                "traceability.kind_invalid",
                format!("choose one of: {}", ItemKind::choices()),
            )),
            (_, None) => errors.push(domain::Error::new(
                "reference_id",
                "traceability.reference_missing",
                "name the reference by its id (a whole number)",
            )),
        },
        (true, false) => match organisations::organisation_by_code(db, provider_code).await? {
            Some(o)
                if matches!(
                    OrgKind::parse(&o.kind),
                    Some(OrgKind::ExternalNmi | OrgKind::AccreditedLab)
                ) =>
            {
                provider = Some(o)
            }
            _ => errors.push(domain::Error::new(
                "provider",
                "traceability.provider_unknown",
                "no external metrology institute or accredited laboratory with this code",
            )),
        },
        _ => errors.push(domain::Error::new(
            "reference_kind",
            "traceability.parent_one",
            "give either a reference in the register or an external provider, not both or neither",
        )),
    }
    if let Some(r) = reference {
        if r.kind == ItemKind::Instrument {
            errors.push(domain::Error::new(
                "reference_kind",
                "traceability.reference_instrument",
                "an enterprise's instrument cannot be a reference",
            ));
        } else {
            let rc = Catalogue::load(db, Some(&HashSet::from([r])), &[]).await?;
            if !rc.entries.contains_key(&r) {
                errors.push(domain::Error::new(
                    "reference_id",
                    "traceability.reference_unknown",
                    "no such item",
                ));
            } else if r == item || q::is_above_or_same(db, (r.kind.as_str(), r.id), (kind.as_str(), item_id)).await? {
                errors.push(domain::Error::new(
                    "reference_id",
                    "traceability.cycle",
                    "this reference is traceable to the item itself: the link would close a cycle",
                ));
            }
        }
    }
    if input.certificate_no.trim().is_empty() {
        errors.push(domain::Error::new(
            "certificate_no",
            "traceability.certificate_missing",
            "the certificate number is required",
        ));
    }
    let calibrated_on = parse_date("calibrated_on", &input.calibrated_on)
        .map_err(|e| errors.push(e))
        .ok();
    let valid_until = parse_date("valid_until", &input.valid_until)
        .map_err(|e| errors.push(e))
        .ok();
    if let (Some(a), Some(b)) = (calibrated_on, valid_until) {
        if b < a {
            errors.push(domain::Error::new(
                "valid_until",
                "traceability.valid_before_calibrated",
                "the certificate cannot expire before the calibration date",
            ));
        }
    }
    // JJF 1033-2023: a standard whose assessment certificate had expired on the day, or
    // that was out of service, cannot have been used for a calibration.
    if let (Some(r), Some(on)) = (reference, calibrated_on) {
        if let Some(e) = reference_out_of_service(db, r, on).await? {
            errors.push(e);
        }
    }
    let mut uncertainty = None;
    let mut mpe = None;
    match qkind {
        Some(k) => {
            if !input.uncertainty.trim().is_empty() {
                match parse_quantity("uncertainty", &input.uncertainty, k.difference_kind()) {
                    Ok(u) if u.si > 0.0 => uncertainty = Some(u),
                    Ok(_) => errors.push(domain::Error::new(
                        "uncertainty",
                        "traceability.uncertainty_not_positive",
                        "the expanded uncertainty must be greater than zero",
                    )),
                    Err(e) => errors.push(e),
                }
            }
            if !input.mpe.trim().is_empty() {
                match parse_tolerance("mpe", &input.mpe, k.difference_kind()) {
                    Ok(m) => mpe = Some(m),
                    Err(e) => errors.push(e),
                }
            }
        }
        None if !input.uncertainty.trim().is_empty() => errors.push(domain::Error::new(
            "uncertainty",
            "traceability.quantity_unknown",
            "the item has no kind of quantity to read the uncertainty in",
        )),
        None => {}
    }
    // From a DCC: the result in a unit of the item's quantity with the largest U.
    let mut as_found = None;
    if let (Some(f), Some(k)) = (from_dcc, qkind) {
        let d = k.difference_kind();
        let read: Vec<_> = f
            .dcc
            .results
            .iter()
            .filter_map(|r| {
                let unit = crate::domain::units::unit_from_dsi(d, &r.dsi_unit)?;
                let (u, _, _) = r.expanded?;
                let u = parse_quantity("file", &format!("{u} {unit}"), d).ok()?;
                let v = parse_quantity("file", &format!("{} {unit}", r.value), d).ok()?;
                Some((r, u, v))
            })
            .collect();
        // The largest U (the first of equals) is the link's; the as-found error is the
        // first error stated before any adjustment.
        let best = read
            .iter()
            .fold(None, |b: Option<&(_, crate::domain::units::Quantity, _)>, x| match b {
                Some(b) if b.1.si >= x.1.si => Some(b),
                _ => Some(x),
            });
        as_found = read
            .iter()
            .find(|(r, _, _)| names_an_error(&r.names) && !names_as_left(&r.names))
            .map(|(_, _, v)| v.si);
        match best {
            Some((_, u, _)) if u.si > 0.0 => uncertainty = Some(*u),
            _ => errors.push(domain::Error::new(
                "file",
                "dcc.no_result",
                format!(
                    "no result of the DCC is in a unit of {} with an expanded uncertainty",
                    d.as_str()
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let (calibrated_on, valid_until) = (calibrated_on.expect("checked"), valid_until.expect("checked"));
    let user = actor.principal().map(|p| p.user_id);
    let txn = crate::store::begin(db).await?;
    let row = calibration::ActiveModel {
        item_kind: Set(kind.as_str().to_owned()),
        item_id: Set(item_id),
        reference_kind: Set(reference.map(|r| r.kind.as_str().to_owned())),
        reference_id: Set(reference.map(|r| r.id)),
        provider_id: Set(provider.as_ref().map(|p| p.id)),
        provider_evidence: Set(input.provider_evidence.trim().to_owned()),
        lab_id: Set(provider.as_ref().map(|p| p.id)),
        certificate_no: Set(input.certificate_no.trim().to_owned()),
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
