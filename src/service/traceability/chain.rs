//! One item's chain to the SI as of a date, step by step with each link's certificate,
//! uncertainty and TUR.

use super::catalogue::Catalogue;
use super::{may_see, parse_kind, ItemView};
use crate::domain::traceability::{self as rules, Chain, Graph, Item, ItemKind, Link, Parent};
use crate::domain::units::{display_stored, QuantityKind};
use crate::service::{Actor, Error, Result};
use crate::store::traceability as q;
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// One calibration of a chain.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationView {
    pub calibration_id: i32,
    pub certificate_no: String,
    pub calibrated_on: NaiveDate,
    pub valid_until: NaiveDate,
    /// The expanded uncertainty in the unit it was stated in ("0.05 µm").
    pub uncertainty: Option<String>,
    pub uncertainty_si: Option<f64>,
    /// An external provider: its name, kind and evidence.
    pub provider: Option<ProviderView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProviderView {
    pub id: i32,
    pub name: String,
    pub kind: &'static str,
    pub evidence: String,
}

/// One level of a chain, from the item up.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub item: ItemView,
    pub used_on: NaiveDate,
    pub link: Option<CalibrationView>,
    pub causes: Vec<&'static str>,
    pub tur: Option<f64>,
    pub low_tur: bool,
    /// A national primary standard: the top.
    pub top: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainView {
    pub as_of: NaiveDate,
    pub tur_limit: f64,
    pub broken: bool,
    pub steps: Vec<StepView>,
}

/// The chain of `kind`/`id` as of `as_of`.
pub async fn chain(
    actor: &Actor,
    db: &DatabaseConnection,
    kind: &str,
    id: i32,
    as_of: NaiveDate,
    tur_limit: Option<f64>,
) -> Result<ChainView> {
    actor.require_login()?;
    let kind = parse_kind("kind", kind)?;
    let item = Item::new(kind, id);
    let rows = q::links_above(db, kind.as_str(), id).await?;
    let mut items: HashSet<Item> = HashSet::from([item]);
    for r in &rows {
        if let (Some(k), Some(i)) = (r.reference_kind.as_deref().and_then(ItemKind::parse), r.reference_id) {
            items.insert(Item::new(k, i));
        }
    }
    let providers: Vec<i32> = rows.iter().filter_map(|r| r.provider_id).collect();
    let mut cat = Catalogue::load(db, Some(&items), &providers).await?;
    let Some(view) = cat.find(item) else {
        return Err(Error::NotFound { what: "item" });
    };
    if !may_see(actor, item, view.owner_id) {
        return Err(Error::NotFound { what: "item" });
    }
    let units: HashMap<i32, String> = rows
        .iter()
        .filter_map(|r| r.uncertainty_unit.clone().map(|u| (r.id, u)))
        .collect();
    let links: Vec<Link> = rows
        .into_iter()
        .filter_map(|r| q::LinkRow::from_model(r).and_then(|r| cat.link(r)))
        .collect();
    // The limit the item's owner set on its scheduling rules, unless the query names one.
    let tur_limit = match (tur_limit, view.owner_id) {
        (Some(l), _) => l,
        (None, Some(owner)) => crate::service::schedule::rules_of(db, owner).await?.tur_limit,
        (None, None) => super::DEFAULT_TUR_LIMIT,
    };
    let graph = Graph::new(links, std::mem::take(&mut cat.nodes));
    let c = rules::chain(&graph, item, as_of, tur_limit);
    Ok(chain_view(&cat, &graph, &c, as_of, tur_limit, &units))
}

fn chain_view(
    cat: &Catalogue,
    g: &Graph,
    c: &Chain,
    as_of: NaiveDate,
    tur_limit: f64,
    units: &HashMap<i32, String>,
) -> ChainView {
    let steps = c
        .steps
        .iter()
        .map(|s| StepView {
            item: cat.view(s.item),
            used_on: s.used_on,
            link: s
                .link
                .as_ref()
                .map(|l| calibration_view(cat, l, units.get(&l.id).map(String::as_str))),
            causes: s.causes.iter().map(|c| c.as_str()).collect(),
            tur: s.tur,
            low_tur: s.low_tur,
            top: g.node(s.item).is_some_and(|n| n.top),
        })
        .collect();
    ChainView {
        as_of,
        tur_limit,
        broken: c.broken(),
        steps,
    }
}

/// A link for people; `unit` is the unit its uncertainty was stated in.
fn calibration_view(cat: &Catalogue, l: &Link, unit: Option<&str>) -> CalibrationView {
    let provider = match &l.parent {
        Parent::External {
            provider_id,
            kind,
            evidence,
            ..
        } => Some(ProviderView {
            id: *provider_id,
            name: cat.providers.get(provider_id).map(|o| o.0.clone()).unwrap_or_default(),
            kind: kind.as_str(),
            evidence: evidence.clone(),
        }),
        Parent::Item(_) => None,
    };
    CalibrationView {
        calibration_id: l.id,
        certificate_no: l.certificate_no.clone(),
        calibrated_on: l.calibrated_on,
        valid_until: l.valid_until,
        uncertainty: l.uncertainty.map(|u| match &l.quantity {
            Some(q) => display_stored(
                q,
                u,
                unit.unwrap_or_else(|| QuantityKind::parse(q).map_or("", |k| k.si_symbol())),
            ),
            None => format!("{u}"),
        }),
        uncertainty_si: l.uncertainty,
        provider,
    }
}
