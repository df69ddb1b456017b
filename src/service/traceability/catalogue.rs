//! What the traceability reports read: every item of the province with its links, loaded
//! once as a graph (the `Catalogue`) and kept per app in the `ProvinceCache` until the audit
//! trail says the data changed.

use super::{level_names, ItemView};
use crate::domain::register::{Level, OrgKind};
use crate::domain::traceability::{self as rules, Graph, Item, ItemKind, Link, Node, Parent};
use crate::service::{Error, Result};
use crate::store::{reference, traceability as q};
use rustc_hash::FxHashMap;
use sea_orm::DatabaseConnection;
use std::collections::HashSet;

/// Everything the service needs to know of the items of a graph, by item.
#[derive(Default)]
pub(super) struct Catalogue {
    pub(super) nodes: FxHashMap<Item, Node>,
    pub(super) entries: FxHashMap<Item, CatalogueEntry>,
    /// Owners' names, and the region each owner is in.
    pub(super) owners: FxHashMap<i32, (String, Option<i32>)>,
    /// Cities' (regions') names.
    pub(super) cities: FxHashMap<i32, String>,
    /// External providers: name, kind, and whether it is China's national metrology
    /// institute (`domain::traceability::is_national_nmi`).
    pub(super) providers: FxHashMap<i32, (String, OrgKind, bool)>,
}

/// What a page shows of an item, kept compact: a province has 150,000 of them, and the
/// names of owners, cities and levels are looked up when a view is made.
pub(super) struct CatalogueEntry {
    pub(super) label: String,
    pub(super) owner_id: Option<i32>,
    /// The standard's region, when it has one of its own (else its owner's).
    pub(super) region_id: Option<i32>,
    /// The level (standards and devices) or "instrument".
    pub(super) level: &'static str,
}

impl Catalogue {
    /// Loads the items named (and, for devices, their standards) with their owners, and
    /// the external providers named. `None` loads every standard and device of the
    /// register and every organisation.
    pub(super) async fn load<C: sea_orm::ConnectionTrait>(
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
            cities: reference::all_regions(db)
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
                Some(k @ (OrgKind::ExternalNmi | OrgKind::AccreditedLab)) => {
                    let national = crate::domain::traceability::is_national_nmi(k, &o.code, &o.name_zh);
                    Some((o.id, (o.name_zh, k, national)))
                }
                _ => None,
            })
            .collect();
        Ok(c)
    }

    /// The item's view, when the catalogue holds it.
    pub(super) fn find(&self, item: Item) -> Option<ItemView> {
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

    pub(super) fn view(&self, item: Item) -> ItemView {
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

    pub(super) fn link(&self, row: q::LinkRow) -> Option<Link> {
        let item = Item::new(row.item_kind, row.item_id);
        let parent = match (row.reference_kind, row.reference_id) {
            (Some(kind), Some(id)) => Parent::Item(Item::new(kind, id)),
            _ => {
                let provider_id = row.provider_id?;
                // A provider that is not an external NMI or accredited laboratory gives no
                // evidence the rules accept.
                let (kind, national) = self
                    .providers
                    .get(&provider_id)
                    .map_or((OrgKind::Enterprise, false), |o| (o.1, o.2));
                Parent::External {
                    provider_id,
                    kind,
                    evidence: row.provider_evidence,
                    national,
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

/// The register's whole graph as the audit reads it, shared between audits until
/// something changes.
pub(super) struct Province {
    pub(super) graph: Graph,
    pub(super) cat: Catalogue,
    /// Standards, and devices with a calibration on record: the chains the audit checks.
    pub(super) items: Vec<Item>,
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

    pub(super) async fn downstream(&self, db: &DatabaseConnection) -> Result<std::sync::Arc<rules::Children>> {
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

    pub(super) async fn province(&self, db: &DatabaseConnection) -> Result<std::sync::Arc<Province>> {
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
