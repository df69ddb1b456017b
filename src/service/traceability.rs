//! Traceability: an item's chain to the SI as of a date, the province audit of every
//! broken chain, reverse-traceability impact analysis, and links entered by hand.
//!
//! Who sees what: the chains of the register's standards and devices, like the register,
//! are open to every logged-in user; an enterprise's instrument is seen by its own staff
//! and by those who oversee the province. The audit is the regulator's (and the system
//! admin's). An impact analysis is run by the staff of the suspect reference's owner or
//! by the overseers. Links are entered by the item owner's institute admins,
//! technicians, reviewers and approvers, or a system admin; each is audited.

use super::audit::{self, Changes, Entry};
use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::conformity::{corrected_error, decide, Decision, DecisionRule};
use crate::domain::register::{parse_date, Level, OrgKind};
use crate::domain::traceability::{self as rules, Chain, Graph, Item, ItemKind, Link, Node, Parent};
use crate::domain::units::{display_stored, parse_quantity, parse_tolerance, QuantityKind};
use crate::domain::{self};
use crate::store::entities::{calibration, organisation};
use crate::store::{register as reg, traceability as q};
use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::FxHashMap;
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A test-uncertainty ratio (MPE / U) below this gives a warning unless configured
/// otherwise (ANSI/NCSL Z540.3 and common practice: 4:1).
pub const DEFAULT_TUR_LIMIT: f64 = 4.0;

/// The staff who may enter links for their own organisation's items.
const WRITERS: [Role; 4] = [Role::InstituteAdmin, Role::Technician, Role::Reviewer, Role::Approver];

/// An item as pages and reports name it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub kind: &'static str,
    pub id: i32,
    /// Standard: its name and certificate number; device: name and serial; instrument:
    /// name, model and serial.
    pub label: String,
    pub owner_id: Option<i32>,
    pub owner: String,
    pub city: String,
    /// The hierarchy level (standards and their devices) or "instrument".
    pub level: String,
    pub level_zh: &'static str,
    pub level_en: &'static str,
}

/// The level's names for people ("省级社会公用计量标准", "provincial public standard").
fn level_names(level: &str) -> (&'static str, &'static str) {
    match Level::parse(level) {
        Some(l) => (l.name_zh(), l.name_en()),
        None => match ItemKind::parse(level) {
            Some(k) => (k.name_zh(), k.name_en()),
            None => ("", ""),
        },
    }
}

/// One calibration of a chain.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
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
    pub link: Option<LinkView>,
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

fn parse_kind(field: &str, text: &str) -> Result<ItemKind> {
    ItemKind::parse(text).ok_or_else(|| {
        Error::field(
            field,
            "traceability.kind_invalid",
            format!("choose one of: {}", ItemKind::choices()),
        )
    })
}

/// Everything the service needs to know of the items of a graph, by item.
#[derive(Default)]
struct Catalogue {
    nodes: FxHashMap<Item, Node>,
    entries: FxHashMap<Item, CatalogueEntry>,
    /// Owners' names, and the region each owner is in.
    owners: FxHashMap<i32, (String, Option<i32>)>,
    /// Cities' (regions') names.
    cities: FxHashMap<i32, String>,
    /// External providers: name and kind.
    providers: FxHashMap<i32, (String, OrgKind)>,
}

/// What a page shows of an item, kept compact: a province has 150,000 of them, and the
/// names of owners, cities and levels are looked up when a view is made.
struct CatalogueEntry {
    label: String,
    owner_id: Option<i32>,
    /// The standard's region, when it has one of its own (else its owner's).
    region_id: Option<i32>,
    /// The level (standards and devices) or "instrument".
    level: &'static str,
}

impl Catalogue {
    /// Loads the items named (and, for devices, their standards) with their owners, and
    /// the external providers named. `None` loads every standard and device of the
    /// register and every organisation.
    async fn load<C: sea_orm::ConnectionTrait>(
        db: &C,
        items: Option<&HashSet<Item>>,
        providers: &[i32],
    ) -> Result<Catalogue> {
        let ids =
            |kind| -> Option<Vec<i32>> { items.map(|s| s.iter().filter(|i| i.kind == kind).map(|i| i.id).collect()) };
        // Devices and instruments on their own connections at once.
        let device_ids = ids(ItemKind::Device);
        let (devices, instruments) = tokio::try_join!(q::device_nodes(db, device_ids.as_deref()), async {
            match ids(ItemKind::Instrument) {
                Some(v) => q::instrument_nodes(db, &v).await,
                None => Ok(vec![]),
            }
        })?;
        let standards = match ids(ItemKind::Standard) {
            Some(mut v) => {
                v.extend(devices.iter().map(|d| d.standard_id));
                v.sort_unstable();
                v.dedup();
                q::standard_nodes(db, Some(&v)).await?
            }
            None => q::standard_nodes(db, None).await?,
        };
        let orgs: Vec<q::OrganisationNode> = match items {
            None => q::organisation_nodes(db, None).await?,
            Some(_) => {
                let mut ids: Vec<i32> = standards
                    .iter()
                    .map(|s| s.owner_id)
                    .chain(instruments.iter().map(|i| i.owner_id))
                    .chain(providers.iter().copied())
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                q::organisation_nodes(db, Some(&ids)).await?
            }
        };
        let mut c = Catalogue {
            cities: reg::all_regions(db)
                .await?
                .into_iter()
                .map(|r| (r.id, r.name_zh))
                .collect(),
            owners: orgs.iter().map(|o| (o.id, (o.name_zh.clone(), o.region_id))).collect(),
            ..Catalogue::default()
        };
        let size = standards.len() + devices.len() + instruments.len();
        c.nodes.reserve(size);
        c.entries.reserve(size);
        let mut quantities = q::Interned::default();
        let mut standard_by_id = FxHashMap::with_capacity_and_hasher(standards.len(), Default::default());
        for s in &standards {
            let level = Level::parse(&s.level);
            let item = Item::new(ItemKind::Standard, s.id);
            let uncertainty = (s.accuracy_kind == "uncertainty").then_some(s.accuracy_si).flatten();
            let node = Node {
                rank: level.map_or(rules::INSTRUMENT_RANK, rules::rank),
                top: level == Some(Level::NationalPrimary),
                quantity: quantities.get(&s.quantity),
                uncertainty,
            };
            c.nodes.insert(item, node.clone());
            c.entries.insert(
                item,
                CatalogueEntry {
                    label: format!("{} {}", s.name_zh, s.cert_no),
                    owner_id: Some(s.owner_id),
                    region_id: s.region_id,
                    level: level.map_or("", Level::as_str),
                },
            );
            standard_by_id.insert(s.id, (s, node));
        }
        for d in &devices {
            let Some((s, node)) = standard_by_id.get(&d.standard_id) else {
                continue;
            };
            let item = Item::new(ItemKind::Device, d.id);
            c.nodes.insert(
                item,
                Node {
                    uncertainty: None,
                    ..node.clone()
                },
            );
            c.entries.insert(
                item,
                CatalogueEntry {
                    label: format!("{} {} ({})", d.name, d.serial, s.cert_no),
                    owner_id: Some(s.owner_id),
                    region_id: s.region_id,
                    level: Level::parse(&s.level).map_or("", Level::as_str),
                },
            );
        }
        for i in &instruments {
            let item = Item::new(ItemKind::Instrument, i.id);
            c.nodes.insert(
                item,
                Node {
                    rank: rules::INSTRUMENT_RANK,
                    top: false,
                    quantity: i.quantity.as_deref().and_then(|q| quantities.get(q)),
                    uncertainty: None,
                },
            );
            c.entries.insert(
                item,
                CatalogueEntry {
                    label: format!("{} {} {}", i.name, i.model, i.serial),
                    owner_id: Some(i.owner_id),
                    region_id: None,
                    level: ItemKind::Instrument.as_str(),
                },
            );
        }
        c.providers = orgs
            .into_iter()
            .filter_map(|o| match OrgKind::parse(&o.kind) {
                Some(k @ (OrgKind::ExternalNmi | OrgKind::AccreditedLab)) => Some((o.id, (o.name_zh, k))),
                _ => None,
            })
            .collect();
        Ok(c)
    }

    /// The item's view, when the catalogue holds it.
    fn find(&self, item: Item) -> Option<ItemView> {
        let e = self.entries.get(&item)?;
        let owner = e.owner_id.and_then(|o| self.owners.get(&o));
        let region = e.region_id.or_else(|| owner.and_then(|o| o.1));
        let (level_zh, level_en) = level_names(e.level);
        Some(ItemView {
            kind: item.kind.as_str(),
            id: item.id,
            label: e.label.clone(),
            owner_id: e.owner_id,
            owner: owner.map(|o| o.0.clone()).unwrap_or_default(),
            city: region.and_then(|r| self.cities.get(&r)).cloned().unwrap_or_default(),
            level: e.level.to_owned(),
            level_zh,
            level_en,
        })
    }

    fn view(&self, item: Item) -> ItemView {
        self.find(item).unwrap_or_else(|| ItemView {
            kind: item.kind.as_str(),
            id: item.id,
            label: format!("{} #{}", item.kind.as_str(), item.id),
            owner_id: None,
            owner: String::new(),
            city: String::new(),
            level: String::new(),
            level_zh: "",
            level_en: "",
        })
    }

    fn link(&self, row: q::LinkRow) -> Option<Link> {
        let item = Item::new(row.item_kind, row.item_id);
        let parent = match (row.reference_kind, row.reference_id) {
            (Some(kind), Some(id)) => Parent::Item(Item::new(kind, id)),
            _ => {
                let provider_id = row.provider_id?;
                // A provider that is not an external NMI or accredited laboratory gives no
                // evidence the rules accept.
                let kind = self.providers.get(&provider_id).map_or(OrgKind::Enterprise, |o| o.1);
                Parent::External {
                    provider_id,
                    kind,
                    evidence: row.provider_evidence,
                }
            }
        };
        Some(Link {
            id: row.id,
            item,
            parent,
            certificate_no: row.certificate_no,
            calibrated_on: row.calibrated_on,
            valid_until: row.valid_until,
            quantity: row.quantity,
            uncertainty: row.uncertainty_si,
            mpe: row.mpe_si,
        })
    }
}

/// May the actor see this item's chain (and that it exists)?
fn may_see(actor: &Actor, item: Item, owner_id: Option<i32>) -> bool {
    if actor.require_login().is_err() {
        return false;
    }
    match item.kind {
        ItemKind::Standard | ItemKind::Device => true,
        ItemKind::Instrument => owner_id.is_some_and(|o| actor.sees_organisation(o)),
    }
}

/// The chain of `kind`/`id` as of `as_of`.
pub async fn chain(
    actor: &Actor,
    db: &DatabaseConnection,
    kind: &str,
    id: i32,
    as_of: NaiveDate,
    tur_limit: f64,
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
                .map(|l| link_view(cat, l, units.get(&l.id).map(String::as_str))),
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
fn link_view(cat: &Catalogue, l: &Link, unit: Option<&str>) -> LinkView {
    let provider = match &l.parent {
        Parent::External {
            provider_id,
            kind,
            evidence,
        } => Some(ProviderView {
            id: *provider_id,
            name: cat.providers.get(provider_id).map(|o| o.0.clone()).unwrap_or_default(),
            kind: kind.as_str(),
            evidence: evidence.clone(),
        }),
        Parent::Item(_) => None,
    };
    LinkView {
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

/// A broken chain in the province audit.
#[derive(Debug, Clone, Serialize)]
pub struct BrokenChain {
    pub item: ItemView,
    /// The causes at the item's own link (`parent_broken` when the break is above).
    pub causes: Vec<&'static str>,
    /// Where the chain needs mending: the highest broken level and its cause.
    pub root_item: Option<ItemView>,
    pub root_cause: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub key: String,
    pub count: usize,
}

/// Every broken chain of the province's register as of a date, grouped.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub as_of: NaiveDate,
    pub tur_limit: f64,
    /// Standards, and devices with a calibration on record, whose chains were checked.
    pub checked: usize,
    pub broken: usize,
    pub low_tur: usize,
    pub by_cause: Vec<Count>,
    pub by_root_cause: Vec<Count>,
    pub by_city: Vec<Count>,
    pub by_owner: Vec<Count>,
    pub chains: Vec<BrokenChain>,
}

fn counted(map: HashMap<String, usize>) -> Vec<Count> {
    let mut v: Vec<Count> = map.into_iter().map(|(key, count)| Count { key, count }).collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v
}

/// The register's whole graph as the audit reads it, shared between audits until
/// something changes.
struct Province {
    graph: Graph,
    cat: Catalogue,
    /// Standards, and devices with a calibration on record: the chains the audit checks.
    items: Vec<Item>,
}

/// What identifies the data a [`Province`] was read from: the audit trail's head (every
/// change the application makes is audited) and the newest calibration's and standard's ids.
type Version = (i64, String, Option<i32>, Option<i32>);

/// The traceability graph of the province, as the audit and the impact analysis last
/// read it, by [`Version`]. The app keeps one, in [`super::cache::Caches`]. A change
/// made behind the application's back (by hand in the database, without an audit
/// event) is not seen until the next audited one.
#[derive(Default)]
pub struct ProvinceCache {
    province: std::sync::Mutex<Option<(Version, std::sync::Arc<Province>)>>,
    /// The reverse walk's index of every calibration made against another item.
    downstream: std::sync::Mutex<Option<(Version, std::sync::Arc<rules::Children>)>>,
}

impl ProvinceCache {
    /// Forgets what was read, so that the next audit reads the register again (for
    /// measuring that read).
    pub fn forget(&self) {
        *self.province.lock().unwrap_or_else(|e| e.into_inner()) = None;
        *self.downstream.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    async fn downstream(&self, db: &DatabaseConnection) -> Result<std::sync::Arc<rules::Children>> {
        let version = version(db).await?;
        if let Some((v, c)) = self.downstream.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if *v == version {
                return Ok(c.clone());
            }
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut children = rules::Children::default();
        for (parent, edge) in q::all_edges_in_parts(db, cores).await? {
            children.entry(parent).or_default().push(edge);
        }
        let c = std::sync::Arc::new(children);
        *self.downstream.lock().unwrap_or_else(|e| e.into_inner()) = Some((version, c.clone()));
        Ok(c)
    }

    async fn province(&self, db: &DatabaseConnection) -> Result<std::sync::Arc<Province>> {
        let version = version(db).await?;
        if let Some((v, p)) = self.province.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if *v == version {
                return Ok(p.clone());
            }
        }
        let p = std::sync::Arc::new(read_province(db).await?);
        *self.province.lock().unwrap_or_else(|e| e.into_inner()) = Some((version, p.clone()));
        Ok(p)
    }
}

async fn version(db: &DatabaseConnection) -> Result<Version> {
    let head = crate::store::audit::head(db).await?;
    Ok((
        head.seq,
        head.hash,
        q::latest_calibration_id(db).await?,
        q::latest_standard_id(db).await?,
    ))
}

async fn read_province(db: &DatabaseConnection) -> Result<Province> {
    let (rows, cat) = tokio::try_join!(
        async {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Ok::<_, Error>(q::all_links_in_parts(db, &["standard", "device"], cores).await?)
        },
        Catalogue::load(db, None, &[])
    )?;
    let links: Vec<Link> = rows.into_iter().filter_map(|r| cat.link(r)).collect();
    // Every standard is checked; a device only once it has a calibration on record
    // (auxiliary equipment is not part of the chain until it is linked).
    let mut items: Vec<Item> = cat
        .nodes
        .iter()
        .filter(|(i, n)| i.kind == ItemKind::Standard && !n.top)
        .map(|(i, _)| *i)
        .collect();
    let linked_devices: HashSet<Item> = links
        .iter()
        .map(|l| l.item)
        .filter(|i| i.kind == ItemKind::Device && !cat.nodes.get(i).is_some_and(|n| n.top))
        .collect();
    items.extend(linked_devices);
    items.sort_unstable();
    let mut cat = cat;
    let graph = Graph::new(links, std::mem::take(&mut cat.nodes));
    Ok(Province { graph, cat, items })
}

/// The province audit: the regulator's and the system admin's.
pub async fn audit(
    actor: &Actor,
    db: &DatabaseConnection,
    cache: &ProvinceCache,
    as_of: NaiveDate,
    tur_limit: f64,
) -> Result<AuditReport> {
    if !actor.reads_as(&[Role::Regulator, Role::SystemAdmin]) {
        return Err(actor.forbidden());
    }
    let p = cache.province(db).await?;
    // Every chain, on every core (off the async workers).
    let checked: Vec<(Item, Chain)> = {
        let p = p.clone();
        tokio::task::spawn_blocking(move || {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let part = p.items.len().div_ceil(cores).max(1);
            std::thread::scope(|s| {
                let handles: Vec<_> = p
                    .items
                    .chunks(part)
                    .map(|items| {
                        let g = &p.graph;
                        s.spawn(move || {
                            items
                                .iter()
                                .map(|&i| (i, rules::chain(g, i, as_of, tur_limit)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("an audit thread does not panic"))
                    .collect()
            })
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    };
    let low_tur = checked
        .iter()
        .filter(|(_, c)| c.steps.first().is_some_and(|s| s.low_tur))
        .count();
    let view = |i: Item| p.cat.view(i);
    let (mut by_cause, mut by_root, mut by_city, mut by_owner) =
        (HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new());
    let mut chains = Vec::new();
    for (item, c) in &checked {
        if !c.broken() {
            continue;
        }
        let v = view(*item);
        for cause in c.causes() {
            *by_cause.entry(cause.as_str().to_owned()).or_insert(0) += 1;
        }
        let root = c.root();
        if let Some((_, cause)) = root {
            *by_root.entry(cause.as_str().to_owned()).or_insert(0) += 1;
        }
        *by_city.entry(v.city.clone()).or_insert(0) += 1;
        *by_owner.entry(v.owner.clone()).or_insert(0) += 1;
        chains.push(BrokenChain {
            causes: c.causes().iter().map(|c| c.as_str()).collect(),
            root_item: root.map(|(i, _)| view(i)),
            root_cause: root.map(|(_, c)| c.as_str()),
            item: v,
        });
    }
    Ok(AuditReport {
        as_of,
        tur_limit,
        checked: checked.len(),
        broken: chains.len(),
        low_tur,
        by_cause: counted(by_cause),
        by_root_cause: counted(by_root),
        by_city: counted(by_city),
        by_owner: counted(by_owner),
        chains,
    })
}

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

/// A link entered by hand (typically an external calibration of a standard's device).
#[derive(Debug, Clone, Default)]
pub struct LinkInput {
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

impl LinkInput {
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

impl crate::domain::TextFields for LinkInput {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        self.field_mut(name)
    }
}

/// The item a link would be entered for, when the actor may enter one: its owner's
/// calibration staff and system admins. Others learn nothing more than they may see.
pub async fn link_target(actor: &Actor, db: &DatabaseConnection, kind: &str, id: i32) -> Result<ItemView> {
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
pub(crate) async fn reference_out_of_service<C: sea_orm::ConnectionTrait>(
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
    if s.cert_expires_on < on {
        return Ok(Some(domain::Error::new(
            "reference_id",
            "traceability.reference_expired",
            format!(
                "the standard {} had an expired assessment certificate on {on} (valid to {})",
                s.cert_no, s.cert_expires_on
            ),
        )));
    }
    if matches!(s.status.as_str(), "suspended" | "withdrawn") {
        return Ok(Some(domain::Error::new(
            "reference_id",
            "traceability.reference_out_of_service",
            format!("the standard {} is {}", s.cert_no, s.status),
        )));
    }
    Ok(None)
}

/// Records a link; refuses one that would close a cycle.
pub async fn record_link(actor: &Actor, db: &DatabaseConnection, input: &LinkInput, now: DateTime<Utc>) -> Result<i32> {
    record_link_from(actor, db, input, None, now).await
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
    input: &LinkInput,
    xml: &[u8],
    now: DateTime<Utc>,
) -> Result<i32> {
    actor.require_login()?;
    // Who may link the item, before anything of the file is read.
    if let Ok(id) = input.item_id.trim().parse::<i32>() {
        link_target(actor, db, input.item_kind.trim(), id).await?;
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
    record_link_from(actor, db, &input, Some(&FromDcc { dcc, sha256 }), now).await
}

async fn record_link_from(
    actor: &Actor,
    db: &DatabaseConnection,
    input: &LinkInput,
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
        (true, false) => match reg::organisation_by_code(db, provider_code).await? {
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
