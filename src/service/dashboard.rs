//! The province dashboard: coverage by city and discipline, progress toward the
//! target, and assessment certificates expiring or expired.

use super::standards::{self, ListParams, StandardView};
use super::{Actor, Result};
use crate::domain::codes::jjf1022_level1;
use crate::store::{reference, standards as q};
use chrono::{Months, NaiveDate};
use sea_orm::DatabaseConnection;
use serde::Serialize;

/// The province's target number of public measurement standards.
pub const PROVINCE_TARGET: u64 = 46_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Count {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub count: u64,
    /// Share of the largest count, 0–100, for the bar width.
    pub bar: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub total: u64,
    pub target: u64,
    /// Progress toward the target in percent, one decimal.
    pub progress_percent: f64,
    pub by_city: Vec<Count>,
    pub by_category: Vec<Count>,
    /// Certificates expiring within the next 6 months (first page, soonest first).
    pub expiring: Vec<StandardView>,
    pub expiring_total: u64,
    /// The window of `expiring`, in days from `as_of` (6 calendar months).
    pub expiring_within_days: i64,
    /// Certificates already expired (first page, most recently expired first).
    pub expired: Vec<StandardView>,
    pub expired_total: u64,
    pub as_of: NaiveDate,
}

fn with_bars(mut counts: Vec<Count>) -> Vec<Count> {
    let max = counts.iter().map(|c| c.count).max().unwrap_or(0).max(1);
    for c in &mut counts {
        c.bar = ((c.count * 100) / max) as u32;
    }
    counts
}

pub async fn province(actor: &Actor, db: &DatabaseConnection, today: NaiveDate) -> Result<Dashboard> {
    let regions = reference::all_regions(db).await?;
    let by_region = q::count_by_region(db).await?;
    let mut by_city: Vec<Count> = regions
        .iter()
        .filter(|r| r.parent_code.is_some())
        .map(|r| Count {
            code: r.code.clone(),
            name_zh: r.name_zh.clone(),
            name_en: r.name_en.clone(),
            count: by_region
                .iter()
                .find(|(id, _)| *id == Some(r.id))
                .map(|(_, n)| *n as u64)
                .unwrap_or(0),
            bar: 0,
        })
        .collect();
    by_city.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));

    let mut per_level1: std::collections::BTreeMap<String, u64> = Default::default();
    for (code, n) in q::count_by_category_code(db).await? {
        *per_level1.entry(code.chars().take(2).collect()).or_default() += n as u64;
    }
    let by_category: Vec<Count> = per_level1
        .into_iter()
        .map(|(code, count)| {
            let l1 = jjf1022_level1(&code);
            Count {
                name_zh: l1.map(|l| l.1).unwrap_or("收容类").to_owned(),
                name_en: l1.map(|l| l.2).unwrap_or("Catch-all").to_owned(),
                code,
                count,
                bar: 0,
            }
        })
        .collect();

    let total = q::count_standards(db).await?;
    // "The next 6 months" in calendar months, so the window matches what a quality
    // manager counts on a calendar (183 days would drift by a day or two).
    let six_months = today.checked_add_months(Months::new(6)).unwrap_or(today);
    let expiring_params = ListParams {
        expiring_within_days: (six_months - today).num_days().to_string(),
        sort: "cert_expires_on".into(),
        page: 1,
        per_page: 10,
        ..Default::default()
    };
    let expiring = standards::list(actor, db, &expiring_params, today).await?;
    let expired_params = ListParams {
        status: "expired".into(),
        sort: "-cert_expires_on".into(),
        page: 1,
        per_page: 10,
        ..Default::default()
    };
    let expired = standards::list(actor, db, &expired_params, today).await?;
    Ok(Dashboard {
        total,
        target: PROVINCE_TARGET,
        progress_percent: ((total as f64 / PROVINCE_TARGET as f64) * 1000.0).round() / 10.0,
        by_city: with_bars(by_city),
        by_category: with_bars(by_category),
        expiring: expiring.items,
        expiring_total: expiring.total,
        expiring_within_days: (six_months - today).num_days(),
        expired: expired.items,
        expired_total: expired.total,
        as_of: today,
    })
}
