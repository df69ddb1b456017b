//! The province audit: every broken chain, by cause, city and owner (the regulator's).

use super::catalogue::ProvinceCache;
use super::ItemView;
use crate::domain::accounts::Role;
use crate::domain::traceability::{self as rules, Chain, Item};
use crate::service::{Actor, Error, Result};
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use serde::Serialize;
use std::collections::HashMap;

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
    /// The limit the query named; null when each item's owner's own applies.
    pub tur_limit: Option<f64>,
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

pub(super) fn counted(map: HashMap<String, usize>) -> Vec<Count> {
    let mut v: Vec<Count> = map.into_iter().map(|(key, count)| Count { key, count }).collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v
}

/// The province audit: the regulator's and the system admin's.
pub async fn audit(
    actor: &Actor,
    db: &DatabaseConnection,
    cache: &ProvinceCache,
    as_of: NaiveDate,
    tur_limit: Option<f64>,
) -> Result<AuditReport> {
    if !actor.reads_as(&[Role::Regulator, Role::SystemAdmin]) {
        return Err(actor.forbidden());
    }
    let p = cache.province(db).await?;
    // Each chain is judged by the limit its item's owner set, unless the query names one.
    let limits: HashMap<i32, f64> = crate::store::schedule::all_settings(db)
        .await?
        .into_iter()
        .filter(|s| s.tur_limit > 0.0)
        .map(|s| (s.organisation_id, s.tur_limit))
        .collect();
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
                        let (g, cat, limits) = (&p.graph, &p.cat, &limits);
                        s.spawn(move || {
                            items
                                .iter()
                                .map(|&i| {
                                    let limit = tur_limit.unwrap_or_else(|| {
                                        cat.find(i)
                                            .and_then(|v| v.owner_id)
                                            .and_then(|o| limits.get(&o).copied())
                                            .unwrap_or(super::DEFAULT_TUR_LIMIT)
                                    });
                                    (i, rules::chain(g, i, as_of, limit))
                                })
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
