//! Traceability chains to the SI (ILAC-P10): the rules that say whether the chain of
//! calibrations above an item is unbroken on a date, and the reverse question, what a
//! suspect reference has touched since a date.
//!
//! A link is one calibration: the item, what it was calibrated against (a standard or
//! device of the register, or an external provider), the certificate's number, its
//! calibration and valid-until dates and the expanded uncertainty it states. The chain
//! of an item as of a date D is its latest link calibrated on or before D, then the
//! parent's latest link on or before the day the parent was used, and so on up to a
//! national primary standard or an external institute.

use super::register::{Level, OrgKind};
use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

vocabulary! {
    /// What a link joins: a public or other standard of the register, one of its
    /// devices, or an enterprise's instrument.
    ItemKind {
        Standard => "standard", "计量标准", "standard";
        Device => "device", "标准器/配套设备", "device";
        Instrument => "instrument", "客户计量器具", "customer instrument";
    }
}

vocabulary! {
    /// Why a link is broken (ILAC-P10 §2; JJF 1033).
    Cause {
        NoCalibration => "no_calibration", "无校准记录", "no calibration on record";
        Expired => "expired", "证书已过期", "certificate expired when used";
        ParentBroken => "parent_broken", "上级溯源链断裂", "parent's chain broken at the time";
        UncertaintyNotSmaller => "uncertainty_not_smaller", "上级不确定度不小于本级", "parent's uncertainty not smaller";
        LevelInverted => "level_inverted", "层级倒置", "hierarchy levels inverted";
        NoEvidence => "no_evidence", "外部机构无互认证据", "external provider without MRA evidence";
        Cycle => "cycle", "循环溯源", "the chain returns to an item below";
    }
}

/// An item of the register or an enterprise's instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Item {
    pub kind: ItemKind,
    pub id: i32,
}

impl Item {
    pub fn new(kind: ItemKind, id: i32) -> Item {
        Item { kind, id }
    }
}

impl Ord for ItemKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for ItemKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// What an item was calibrated against.
#[derive(Debug, Clone, PartialEq)]
pub enum Parent {
    Item(Item),
    /// An organisation outside the province: a national metrology institute under the
    /// CIPM MRA (evidence: its KCDB reference) or an ILAC-MRA accredited laboratory
    /// (evidence: its accreditation number).
    External {
        provider_id: i32,
        kind: OrgKind,
        evidence: String,
        /// China's national metrology institute (中国计量科学研究院), which keeps the
        /// national primary standards (国家计量基准): the top of the domestic chain,
        /// valid without CIPM MRA evidence ([`is_national_nmi`]).
        national: bool,
    },
}

/// Whether an external provider is China's national metrology institute, the keeper of
/// the national primary standards (国家计量基准; 《中华人民共和国计量法》 §5): traceability
/// to it needs no CIPM MRA evidence, which is asked of foreign NMIs and of laboratories
/// outside China's accreditation. Known by its register code or its name.
pub fn is_national_nmi(kind: OrgKind, code: &str, name_zh: &str) -> bool {
    kind == OrgKind::ExternalNmi && (code.trim() == "NIM-CN" || name_zh.trim() == "中国计量科学研究院")
}

/// One calibration of an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The calibration's id.
    pub id: i32,
    pub item: Item,
    pub parent: Parent,
    pub certificate_no: String,
    pub calibrated_on: NaiveDate,
    /// The last day the certificate may be relied on.
    pub valid_until: NaiveDate,
    /// The kind of quantity of the stated uncertainty (uncertainties of different kinds
    /// are not compared). Shared: a province has a few dozen kinds.
    pub quantity: Option<Arc<str>>,
    /// The expanded uncertainty stated on the certificate, in SI units.
    pub uncertainty: Option<f64>,
    /// The item's maximum permissible error in SI units, for the test-uncertainty ratio.
    pub mpe: Option<f64>,
}

/// What the rules need to know of an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Place in the hierarchy: 0 national, 1 provincial, 2 city or department, 3 county,
    /// 4 enterprise's highest, 5 working instruments (see [`rank`]).
    pub rank: u8,
    /// A national primary standard (or one of its devices): the top of a chain.
    pub top: bool,
    pub quantity: Option<Arc<str>>,
    /// The uncertainty the register states for it (the top's, which has no link).
    pub uncertainty: Option<f64>,
}

/// The place of a level in the national hierarchy (《计量法》 §5–7): a standard may be
/// calibrated only against one at the same place or above.
pub fn rank(level: Level) -> u8 {
    match level {
        Level::NationalPrimary => 0,
        Level::ProvincialPublic => 1,
        Level::CityPublic | Level::DepartmentHighest => 2,
        Level::CountyPublic => 3,
        Level::EnterpriseHighest => 4,
    }
}

/// The rank of an enterprise's working instruments.
pub const INSTRUMENT_RANK: u8 = 5;

/// Links and nodes, indexed for the rules.
#[derive(Debug, Default)]
pub struct Graph {
    links: Vec<Link>,
    /// Each item's links, in calibration order.
    by_item: FxHashMap<Item, Vec<usize>>,
    nodes: FxHashMap<Item, Node>,
}

impl Graph {
    pub fn new(links: Vec<Link>, nodes: impl IntoIterator<Item = (Item, Node)>) -> Graph {
        let nodes: FxHashMap<Item, Node> = nodes.into_iter().collect();
        let mut by_item: FxHashMap<Item, Vec<usize>> =
            FxHashMap::with_capacity_and_hasher(nodes.len(), Default::default());
        for (i, l) in links.iter().enumerate() {
            by_item.entry(l.item).or_default().push(i);
        }
        for v in by_item.values_mut() {
            v.sort_by_key(|&i| (links[i].calibrated_on, links[i].id));
        }
        Graph { links, by_item, nodes }
    }

    /// The link in force for `item` on `on`: its latest calibration on or before that day.
    pub fn link_at(&self, item: Item, on: NaiveDate) -> Option<&Link> {
        let ids = self.by_item.get(&item)?;
        let n = ids.partition_point(|&i| self.links[i].calibrated_on <= on);
        (n > 0).then(|| &self.links[ids[n - 1]])
    }

    pub fn node(&self, item: Item) -> Option<&Node> {
        self.nodes.get(&item)
    }

    pub fn items(&self) -> impl Iterator<Item = Item> + '_ {
        self.nodes.keys().copied()
    }

    /// The uncertainty of `item` at the level it stood on `on`: the one on its link in
    /// force then, or for the top of a chain, the one the register states.
    fn uncertainty_at(&self, item: Item, on: NaiveDate) -> Option<(f64, Option<&str>)> {
        let node = self.node(item)?;
        if node.top {
            return node.uncertainty.map(|u| (u, node.quantity.as_deref()));
        }
        let l = self.link_at(item, on)?;
        l.uncertainty.map(|u| (u, l.quantity.as_deref()))
    }
}

/// One level of a chain: an item and the link it relied on at the date it was used.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub item: Item,
    /// The day this item was used (the chain's date for the first level, then the day
    /// the level below was calibrated against it).
    pub used_on: NaiveDate,
    pub link: Option<Link>,
    pub causes: Vec<Cause>,
    /// Test-uncertainty ratio MPE / U of the link, when both are known.
    pub tur: Option<f64>,
    pub low_tur: bool,
}

/// An item's chain as of a date, from the item up.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub steps: Vec<Step>,
}

impl Chain {
    pub fn broken(&self) -> bool {
        self.steps.iter().any(|s| !s.causes.is_empty())
    }

    /// The causes of the item's own link (a broken parent shows as `parent_broken`).
    pub fn causes(&self) -> &[Cause] {
        self.steps.first().map_or(&[], |s| &s.causes)
    }

    /// The highest broken level and its first cause: where the chain needs mending.
    pub fn root(&self) -> Option<(Item, Cause)> {
        self.steps.iter().rev().find_map(|s| {
            s.causes
                .iter()
                .find(|c| **c != Cause::ParentBroken)
                .map(|c| (s.item, *c))
        })
    }
}

/// Evaluates the chain above `item` as of `as_of`. A ratio MPE / U below `tur_limit`
/// is a warning, not a break.
pub fn chain(g: &Graph, item: Item, as_of: NaiveDate, tur_limit: f64) -> Chain {
    let mut steps: Vec<Step> = Vec::new();
    // Chains are a few levels long: a list finds a repeat sooner than a hash set.
    let mut seen: Vec<Item> = Vec::new();
    let (mut current, mut on) = (item, as_of);
    loop {
        let mut step = Step {
            item: current,
            used_on: on,
            link: None,
            causes: Vec::new(),
            tur: None,
            low_tur: false,
        };
        if seen.contains(&current) {
            step.causes.push(Cause::Cycle);
            steps.push(step);
            break;
        }
        seen.push(current);
        let node = g.node(current);
        if node.is_some_and(|n| n.top) {
            steps.push(step);
            break;
        }
        let Some(link) = g.link_at(current, on) else {
            step.causes.push(Cause::NoCalibration);
            steps.push(step);
            break;
        };
        if link.valid_until < on {
            step.causes.push(Cause::Expired);
        }
        if let (Some(mpe), Some(u)) = (link.mpe, link.uncertainty) {
            if u > 0.0 {
                let tur = mpe / u;
                step.tur = Some(tur);
                step.low_tur = tur < tur_limit;
            }
        }
        let next = match &link.parent {
            Parent::External {
                kind,
                evidence,
                national,
                ..
            } => {
                let recognised = matches!(kind, OrgKind::ExternalNmi | OrgKind::AccreditedLab);
                if !*national && (!recognised || evidence.trim().is_empty()) {
                    step.causes.push(Cause::NoEvidence);
                }
                None
            }
            Parent::Item(parent) => {
                if let (Some(p), Some(c)) = (g.node(*parent), node) {
                    if p.rank > c.rank {
                        step.causes.push(Cause::LevelInverted);
                    }
                }
                if let (Some(child_u), Some((parent_u, parent_q))) =
                    (link.uncertainty, g.uncertainty_at(*parent, link.calibrated_on))
                {
                    // Only uncertainties of the same kind of quantity are compared.
                    let comparable = matches!((link.quantity.as_deref(), parent_q), (Some(a), Some(b)) if a == b);
                    if comparable && parent_u >= child_u {
                        step.causes.push(Cause::UncertaintyNotSmaller);
                    }
                }
                Some((*parent, link.calibrated_on))
            }
        };
        step.link = Some(link.clone());
        steps.push(step);
        match next {
            Some((p, d)) => (current, on) = (p, d),
            None => break,
        }
    }
    // A level whose parent's chain was broken at the time is broken too.
    for i in (0..steps.len().saturating_sub(1)).rev() {
        if !steps[i + 1].causes.is_empty() && !steps[i].causes.contains(&Cause::ParentBroken) {
            steps[i].causes.push(Cause::ParentBroken);
        }
    }
    Chain { steps }
}

/// The items on or above a cycle of `edges` (item → what it was calibrated against), or
/// None when there is none: every item whose references can be followed without end.
pub fn on_a_cycle(edges: &HashMap<Item, Vec<Item>>) -> Option<HashSet<Item>> {
    // Kahn's algorithm on the reversed edges: peel off items nothing still depends on
    // (no remaining child); what cannot be peeled lies on a cycle or leads into one.
    let mut children_left: HashMap<Item, usize> = HashMap::new();
    for (item, refs) in edges {
        children_left.entry(*item).or_insert(0);
        for r in refs {
            *children_left.entry(*r).or_insert(0) += 1;
        }
    }
    let mut ready: Vec<Item> = children_left
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(i, _)| *i)
        .collect();
    let mut peeled = 0;
    while let Some(item) = ready.pop() {
        peeled += 1;
        for r in edges.get(&item).into_iter().flatten() {
            let n = children_left.get_mut(r).expect("counted above");
            *n -= 1;
            if *n == 0 {
                ready.push(*r);
            }
        }
    }
    (peeled < children_left.len()).then(|| {
        children_left
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(i, _)| i)
            .collect()
    })
}

/// A calibration reached by the impact analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    pub calibration_id: i32,
    pub item: Item,
    /// 1 for what was calibrated directly against the suspect reference.
    pub depth: u32,
    pub calibrated_on: NaiveDate,
}

/// Reverse traceability: every calibration made since `since` against `suspect`, or
/// against anything that had itself been calibrated under suspicion before it was used
/// (each item is suspect from its first suspect calibration on). `links` are the
/// candidates (any superset of the downstream links; order does not matter).
pub fn impact(links: &[Link], suspect: Item, since: NaiveDate) -> Vec<Affected> {
    impact_in(&children(links), suspect, since)
}

/// A calibration as the reverse walk needs it: what was calibrated, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub calibration_id: i32,
    pub item: Item,
    pub calibrated_on: NaiveDate,
}

/// Calibrations by the item they were calibrated against.
pub type Children = FxHashMap<Item, Vec<Edge>>;

pub fn children(links: &[Link]) -> Children {
    let mut children = Children::default();
    for l in links {
        if let Parent::Item(p) = &l.parent {
            children.entry(*p).or_default().push(Edge {
                calibration_id: l.id,
                item: l.item,
                calibrated_on: l.calibrated_on,
            });
        }
    }
    children
}

/// [`impact`] over links already indexed by their parent.
pub fn impact_in(children: &Children, suspect: Item, since: NaiveDate) -> Vec<Affected> {
    // Breadth first: depth is the shortest distance, and an item's suspicion starts at
    // its earliest suspect calibration (which can only move earlier as more is found).
    let mut from: FxHashMap<Item, NaiveDate> = FxHashMap::from_iter([(suspect, since)]);
    let mut depth_of: FxHashMap<Item, u32> = FxHashMap::from_iter([(suspect, 0)]);
    let mut queue = std::collections::VecDeque::from([suspect]);
    while let Some(item) = queue.pop_front() {
        let start = from[&item];
        let d = depth_of[&item];
        for l in children.get(&item).into_iter().flatten() {
            if l.calibrated_on < start {
                continue;
            }
            let earlier = from.get(&l.item).is_none_or(|&t| l.calibrated_on < t);
            if earlier {
                from.insert(l.item, l.calibrated_on);
                depth_of.entry(l.item).or_insert(d + 1);
                queue.push_back(l.item);
            }
        }
    }
    let mut out: Vec<Affected> = Vec::new();
    for (item, &start) in &from {
        for l in children.get(item).into_iter().flatten() {
            if l.calibrated_on >= start && l.item != suspect {
                out.push(Affected {
                    calibration_id: l.calibration_id,
                    item: l.item,
                    depth: depth_of[item] + 1,
                    calibrated_on: l.calibrated_on,
                });
            }
        }
    }
    out.sort_by_key(|a| (a.depth, a.calibrated_on, a.calibration_id));
    out
}

/// Whether a standard may serve as a reference on a day: not with its assessment
/// certificate expired (JJF 1033-2023), nor while suspended or withdrawn. The error names
/// `reference_id`; a record reports it against its standards.
pub fn out_of_service(cert_no: &str, status: &str, cert_expires_on: NaiveDate, on: NaiveDate) -> Option<super::Error> {
    if cert_expires_on < on {
        return Some(super::Error::new(
            "reference_id",
            "traceability.reference_expired",
            format!(
                "the standard {cert_no} had an expired assessment certificate on {on} (valid to {cert_expires_on})"
            ),
        ));
    }
    if matches!(status, "suspended" | "withdrawn") {
        return Some(super::Error::new(
            "reference_id",
            "traceability.reference_out_of_service",
            format!("the standard {cert_no} is {status}"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn std_item(id: i32) -> Item {
        Item::new(ItemKind::Standard, id)
    }

    fn node(rank: u8, top: bool, u: Option<f64>) -> Node {
        Node {
            rank,
            top,
            quantity: Some("length".into()),
            uncertainty: u,
        }
    }

    fn link(id: i32, item: Item, parent: Parent, on: &str, until: &str, u: f64) -> Link {
        Link {
            id,
            item,
            parent,
            certificate_no: format!("C{id}"),
            calibrated_on: day(on),
            valid_until: day(until),
            quantity: Some("length".into()),
            uncertainty: Some(u),
            mpe: None,
        }
    }

    /// National (1, top, U 0.01) → provincial (2, U 0.05) → city (3, U 0.2) →
    /// instrument (4, U 1.0).
    fn province() -> (Vec<Link>, HashMap<Item, Node>) {
        let instrument = Item::new(ItemKind::Instrument, 4);
        let nodes = HashMap::from([
            (std_item(1), node(0, true, Some(0.01))),
            (std_item(2), node(1, false, None)),
            (std_item(3), node(2, false, None)),
            (instrument, node(INSTRUMENT_RANK, false, None)),
        ]);
        let links = vec![
            link(
                10,
                std_item(2),
                Parent::Item(std_item(1)),
                "2025-03-01",
                "2026-02-28",
                0.05,
            ),
            link(
                11,
                std_item(2),
                Parent::Item(std_item(1)),
                "2026-03-02",
                "2027-03-01",
                0.05,
            ),
            link(
                20,
                std_item(3),
                Parent::Item(std_item(2)),
                "2026-01-10",
                "2027-01-09",
                0.2,
            ),
            link(
                30,
                instrument,
                Parent::Item(std_item(3)),
                "2026-06-01",
                "2027-05-31",
                1.0,
            ),
        ];
        (links, nodes)
    }

    #[test]
    fn an_unbroken_chain_reaches_the_national_standard() {
        let (links, nodes) = province();
        let g = Graph::new(links, nodes);
        let c = chain(&g, Item::new(ItemKind::Instrument, 4), day("2026-11-28"), 4.0);
        assert!(!c.broken(), "{c:?}");
        let items: Vec<i32> = c.steps.iter().map(|s| s.item.id).collect();
        assert_eq!(items, [4, 3, 2, 1]);
        // The provincial standard was used on 2026-01-10, when its 2025 link held.
        assert_eq!(c.steps[2].link.as_ref().unwrap().id, 10);
        assert_eq!(c.steps[2].used_on, day("2026-01-10"));
    }

    #[test]
    fn expiry_is_judged_on_the_day_the_link_was_used() {
        let (mut links, nodes) = province();
        // The city standard calibrated the instrument on the last valid day of its own
        // certificate: fine. One day later: expired, and the instrument's chain with it.
        links[2].valid_until = day("2026-06-01");
        let g = Graph::new(links.clone(), nodes.clone());
        let instrument = Item::new(ItemKind::Instrument, 4);
        assert!(!chain(&g, instrument, day("2026-06-01"), 4.0).broken());
        links[2].valid_until = day("2026-05-31");
        let g = Graph::new(links, nodes);
        let c = chain(&g, instrument, day("2026-06-01"), 4.0);
        assert_eq!(c.steps[1].causes, [Cause::Expired]);
        assert_eq!(c.causes(), [Cause::ParentBroken]);
        assert_eq!(c.root(), Some((std_item(3), Cause::Expired)));
        // The city standard's own certificate as first recorded: valid through 2027-01-09,
        // expired the day after.
        let (links, nodes) = province();
        let g = Graph::new(links, nodes);
        assert_eq!(chain(&g, std_item(3), day("2027-01-09"), 4.0).causes(), []);
        assert_eq!(
            chain(&g, std_item(3), day("2027-01-10"), 4.0).causes(),
            [Cause::Expired]
        );
    }

    #[test]
    fn a_gap_in_the_parents_certificates_breaks_what_was_calibrated_in_it() {
        let (links, nodes) = province();
        let g = Graph::new(links, nodes);
        // The provincial standard's 2025 certificate ran to 2026-02-28, the next began
        // 2026-03-02. Had the city standard been calibrated on 2026-03-01, its parent's
        // link then was expired: the city's chain was broken at that time.
        let mut links2 = g.links.clone();
        links2[2].calibrated_on = day("2026-03-01");
        let g2 = Graph::new(links2, g.nodes.clone());
        let c = chain(&g2, std_item(3), day("2026-11-28"), 4.0);
        assert_eq!(c.steps[1].causes, [Cause::Expired]);
        assert_eq!(c.causes(), [Cause::ParentBroken]);
        // Calibrated on 2026-03-02, the new certificate holds.
        let mut links3 = g.links.clone();
        links3[2].calibrated_on = day("2026-03-02");
        let g3 = Graph::new(links3, g.nodes.clone());
        assert!(!chain(&g3, std_item(3), day("2026-11-28"), 4.0).broken());
    }

    #[test]
    fn uncertainty_cannot_shrink_going_down() {
        let (mut links, nodes) = province();
        // Equal to the parent's is not smaller: broken.
        links[2].uncertainty = Some(0.05);
        let g = Graph::new(links.clone(), nodes.clone());
        assert_eq!(
            chain(&g, std_item(3), day("2026-11-28"), 4.0).causes(),
            [Cause::UncertaintyNotSmaller]
        );
        // Just above it: fine.
        links[2].uncertainty = Some(0.050001);
        let g = Graph::new(links.clone(), nodes.clone());
        assert_eq!(chain(&g, std_item(3), day("2026-11-28"), 4.0).causes(), []);
        // Against the top, the register's own uncertainty counts.
        links[0].uncertainty = Some(0.01);
        let g = Graph::new(links.clone(), nodes.clone());
        assert_eq!(
            chain(&g, std_item(2), day("2025-12-01"), 4.0).causes(),
            [Cause::UncertaintyNotSmaller]
        );
        // Uncertainties of different kinds of quantity are not compared.
        links[0].quantity = Some("mass".into());
        let g = Graph::new(links, nodes);
        assert_eq!(chain(&g, std_item(2), day("2025-12-01"), 4.0).causes(), []);
    }

    #[test]
    fn an_enterprise_standard_above_a_public_one_is_inverted() {
        let (mut links, mut nodes) = province();
        nodes.insert(std_item(5), node(4, false, None));
        links.push(link(
            50,
            std_item(5),
            Parent::Item(std_item(2)),
            "2026-01-01",
            "2027-01-01",
            0.1,
        ));
        links[2] = link(
            20,
            std_item(3),
            Parent::Item(std_item(5)),
            "2026-02-01",
            "2027-01-31",
            0.2,
        );
        let g = Graph::new(links, nodes);
        let c = chain(&g, std_item(3), day("2026-11-28"), 4.0);
        assert_eq!(c.causes(), [Cause::LevelInverted]);
        assert_eq!(c.steps[1].causes, []);
        // The same rank above is allowed (a provincial standard calibrating another).
        assert_eq!(chain(&g, std_item(5), day("2026-11-28"), 4.0).causes(), []);
    }

    #[test]
    fn an_external_provider_needs_its_mra_evidence() {
        let (mut links, nodes) = province();
        let external = |kind, evidence: &str| Parent::External {
            provider_id: 99,
            kind,
            evidence: evidence.into(),
            national: false,
        };
        links[0].parent = external(OrgKind::ExternalNmi, "KCDB CMC 12345");
        links[1].parent = external(OrgKind::ExternalNmi, "KCDB CMC 12345");
        let g = Graph::new(links.clone(), nodes.clone());
        assert!(!chain(&g, std_item(2), day("2026-11-28"), 4.0).broken());
        for (kind, evidence) in [
            (OrgKind::ExternalNmi, " "),
            (OrgKind::AccreditedLab, ""),
            (OrgKind::Enterprise, "CNAS L0001"),
        ] {
            links[1].parent = external(kind, evidence);
            let g = Graph::new(links.clone(), nodes.clone());
            assert_eq!(
                chain(&g, std_item(2), day("2026-11-28"), 4.0).causes(),
                [Cause::NoEvidence],
                "{kind:?} {evidence:?}"
            );
        }
        links[1].parent = external(OrgKind::AccreditedLab, "CNAS L0001");
        let g = Graph::new(links.clone(), nodes.clone());
        assert!(!chain(&g, std_item(2), day("2026-11-28"), 4.0).broken());
        // Issue 21, defect 8: China's national metrology institute is the top of the
        // domestic chain, without CIPM MRA evidence; a foreign NMI still needs its KCDB
        // reference.
        assert!(is_national_nmi(OrgKind::ExternalNmi, "NIM-CN", ""));
        assert!(is_national_nmi(OrgKind::ExternalNmi, "X", "中国计量科学研究院"));
        assert!(!is_national_nmi(OrgKind::ExternalNmi, "PTB", "德国联邦物理技术研究院"));
        assert!(!is_national_nmi(OrgKind::AccreditedLab, "NIM-CN", "中国计量科学研究院"));
        links[1].parent = Parent::External {
            provider_id: 99,
            kind: OrgKind::ExternalNmi,
            evidence: String::new(),
            national: true,
        };
        let g = Graph::new(links.clone(), nodes.clone());
        assert!(!chain(&g, std_item(2), day("2026-11-28"), 4.0).broken());
        links[1].parent = external(OrgKind::ExternalNmi, "");
        let g = Graph::new(links, nodes);
        assert_eq!(
            chain(&g, std_item(2), day("2026-11-28"), 4.0).causes(),
            [Cause::NoEvidence]
        );
    }

    #[test]
    fn no_link_before_the_first_calibration() {
        let (links, nodes) = province();
        let g = Graph::new(links, nodes);
        assert_eq!(
            chain(&g, std_item(3), day("2026-01-09"), 4.0).causes(),
            [Cause::NoCalibration]
        );
        assert_eq!(chain(&g, std_item(3), day("2026-01-10"), 4.0).causes(), []);
    }

    #[test]
    fn a_low_test_uncertainty_ratio_warns_without_breaking() {
        let (mut links, nodes) = province();
        links[3].mpe = Some(4.0); // MPE 4, U 1: TUR 4, at the limit
        let g = Graph::new(links.clone(), nodes.clone());
        let c = chain(&g, Item::new(ItemKind::Instrument, 4), day("2026-11-28"), 4.0);
        assert_eq!((c.steps[0].tur, c.steps[0].low_tur), (Some(4.0), false));
        links[3].mpe = Some(3.9);
        let g = Graph::new(links, nodes);
        let c = chain(&g, Item::new(ItemKind::Instrument, 4), day("2026-11-28"), 4.0);
        assert!(c.steps[0].low_tur);
        assert!(!c.broken());
    }

    #[test]
    fn a_cycle_in_stored_links_stops_the_walk() {
        let (mut links, nodes) = province();
        links[0].parent = Parent::Item(std_item(3));
        links[1].parent = Parent::Item(std_item(3));
        let mut nodes = nodes;
        nodes.get_mut(&std_item(1)).unwrap().top = false;
        let g = Graph::new(links, nodes);
        let c = chain(&g, std_item(3), day("2026-11-28"), 4.0);
        assert!(c.broken());
        assert_eq!(c.steps.last().unwrap().causes, [Cause::Cycle]);
    }

    #[test]
    fn cycles_are_found_with_what_they_hold() {
        let (a, b, c, d) = (std_item(1), std_item(2), std_item(3), std_item(4));
        // d ← c ← b ← a: no cycle.
        let mut edges = HashMap::from([(d, vec![c]), (c, vec![b]), (b, vec![a])]);
        assert_eq!(on_a_cycle(&edges), None);
        // a ← c closes a ← c ← b ← a; d, below it, is not on it.
        edges.insert(a, vec![c]);
        assert_eq!(on_a_cycle(&edges), Some(HashSet::from([a, b, c])));
    }

    #[test]
    fn impact_follows_suspicion_down_from_the_day_it_began() {
        // P (suspect from 2026-03-01) calibrated A on 2026-02-01 (before: clean) and
        // 2026-04-01 (suspect); A then calibrated B on 2026-03-15 (before A was suspect:
        // clean) and 2026-05-01 (suspect); B calibrated instrument I on 2026-06-01.
        // P also calibrated C on 2026-03-01 (the first suspect day), and C nothing since.
        let p = std_item(1);
        let (a, b, c) = (std_item(2), std_item(3), std_item(4));
        let i = Item::new(ItemKind::Instrument, 9);
        let l = |id, item, parent, on: &str| link(id, item, Parent::Item(parent), on, "2030-01-01", 1.0);
        let links = vec![
            l(1, a, p, "2026-02-01"),
            l(2, a, p, "2026-04-01"),
            l(3, b, a, "2026-03-15"),
            l(4, b, a, "2026-05-01"),
            l(5, i, b, "2026-06-01"),
            l(6, c, p, "2026-03-01"),
            l(7, std_item(7), c, "2026-02-28"),
        ];
        let found = impact(&links, p, day("2026-03-01"));
        let got: Vec<(i32, u32)> = found.iter().map(|f| (f.calibration_id, f.depth)).collect();
        assert_eq!(got, [(6, 1), (2, 1), (4, 2), (5, 3)]);
    }
}
