//! Recall lists: what falls due, by status and bucket as of the day asked, for a laboratory
//! or for the holder of the items, and as CSV.

use super::{rules_from, Rules};
use crate::domain::register::parse_date;
use crate::domain::schedule::{self as rules, Bucket, DueStatus};
use crate::domain::traceability::ItemKind;
use crate::service::{Actor, Error, Result};
use crate::store::schedule::{self as q, RecallFilter, Side};
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use serde::Serialize;

/// A row of a recall list.
#[derive(Debug, Clone, Serialize)]
pub struct RecallRow {
    pub item_kind: String,
    pub item_id: i32,
    pub label: String,
    pub category_code: String,
    pub owner_id: i32,
    pub lab_id: Option<i32>,
    pub interval_months: i32,
    pub last_calibrated_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
    /// On the day asked.
    pub status: &'static str,
    pub bucket: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketCount {
    pub bucket: &'static str,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecallList {
    pub organisation_id: i32,
    /// "lab" or "holder".
    pub side: &'static str,
    pub on: NaiveDate,
    pub rules: Rules,
    pub buckets: Vec<BucketCount>,
    pub total: u64,
    pub offset: u64,
    pub rows: Vec<RecallRow>,
}

/// A recall list's request, as typed (query parameters).
#[derive(Debug, Clone, Default)]
pub struct RecallQuery {
    pub organisation: Option<String>,
    pub side: Option<String>,
    pub on: Option<String>,
    pub bucket: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub category: Option<String>,
    pub q: Option<String>,
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// The longest page of a recall list (CSV and calendar feeds take everything).
pub const MAX_PAGE: u64 = 1000;

fn some(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A recall list: what a laboratory must calibrate, or what an organisation holds, by due date.
pub async fn recall(
    actor: &Actor,
    db: &DatabaseConnection,
    rq: &RecallQuery,
    today: NaiveDate,
    all: bool,
) -> Result<RecallList> {
    let principal = actor.require_login()?;
    let mut errors = Vec::new();
    let org = match some(&rq.organisation) {
        Some(t) => match t.parse::<i32>() {
            Ok(v) => Some(v),
            Err(_) => {
                errors.push(crate::domain::Error::new(
                    "organisation",
                    "schedule.organisation_invalid",
                    "an organisation's id",
                ));
                None
            }
        },
        None => principal.map(|p| p.organisation_id),
    };
    let side = match some(&rq.side) {
        None | Some("lab") => Side::Lab,
        Some("holder") => Side::Holder,
        Some(_) => {
            errors.push(crate::domain::Error::new(
                "side",
                "schedule.side_invalid",
                "choose one of: lab, holder",
            ));
            Side::Lab
        }
    };
    let on = match some(&rq.on) {
        Some(t) => parse_date("on", t).map_err(|e| errors.push(e)).unwrap_or(today),
        None => today,
    };
    let bucket = some(&rq.bucket).and_then(|t| {
        let b = Bucket::parse(t);
        if b.is_none() {
            errors.push(crate::domain::Error::new(
                "bucket",
                "schedule.bucket_invalid",
                format!("choose one of: {}", Bucket::choices()),
            ));
        }
        b
    });
    let status = some(&rq.status).and_then(|t| {
        let s = DueStatus::parse(t);
        if s.is_none() {
            errors.push(crate::domain::Error::new(
                "status",
                "schedule.status_invalid",
                format!("choose one of: {}", DueStatus::choices()),
            ));
        }
        s
    });
    let kind = some(&rq.kind).and_then(|t| {
        let k = ItemKind::parse(t);
        if k.is_none() {
            errors.push(crate::domain::Error::new(
                "kind",
                "schedule.kind_invalid",
                format!("choose one of: {}", ItemKind::choices()),
            ));
        }
        k
    });
    let number = |field: &str, v: &Option<String>, default: u64, errors: &mut Vec<crate::domain::Error>| match some(v) {
        None => default,
        Some(t) => t.parse::<u64>().unwrap_or_else(|_| {
            errors.push(crate::domain::Error::new(
                field,
                "schedule.number_invalid",
                "a whole number, 0 or more",
            ));
            default
        }),
    };
    let offset = match some(&rq.offset) {
        None => 0,
        Some(t) => crate::domain::list_position("offset", t, 0).unwrap_or_else(|e| {
            errors.push(e);
            0
        }),
    };
    let limit = number("limit", &rq.limit, 100, &mut errors).clamp(1, MAX_PAGE);
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let Some(org) = org else {
        return Err(actor.forbidden());
    };
    if !actor.sees_organisation(org) {
        return Err(actor.forbidden());
    }
    let rules = q::settings_of(db, org)
        .await?
        .as_ref()
        .map(rules_from)
        .unwrap_or_default();
    // The status a due date has on the day asked, as a range of due dates.
    let warn = on + chrono::Days::new(u64::from(rules.due.warning_days));
    let mut f = RecallFilter {
        kind: kind.map(ItemKind::as_str),
        category: some(&rq.category).map(str::to_owned),
        text: some(&rq.q).map(str::to_owned),
        ..RecallFilter::default()
    };
    let narrow = |f: &mut RecallFilter, from: Option<NaiveDate>, to: Option<NaiveDate>| {
        if let Some(from) = from {
            f.due_from = Some(f.due_from.map_or(from, |d| d.max(from)));
        }
        if let Some(to) = to {
            f.due_to = Some(f.due_to.map_or(to, |d| d.min(to)));
        }
    };
    match status {
        Some(DueStatus::OutOfService) => f.out_of_service = Some(true),
        Some(s) => {
            f.out_of_service = Some(false);
            match s {
                DueStatus::Overdue => narrow(&mut f, None, on.pred_opt()),
                DueStatus::DueSoon => narrow(&mut f, Some(on), Some(warn)),
                _ => narrow(&mut f, warn.succ_opt(), None),
            }
        }
        None => {}
    }
    if let Some(b) = bucket {
        f.out_of_service.get_or_insert(false);
        let (from, to) = rules::bucket_range(b, on);
        narrow(&mut f, from, to);
    }
    let (limit, offset) = if all { (u64::MAX >> 1, 0) } else { (limit, offset) };
    let (rows, total) = q::recall(db, org, side, &f, offset, limit).await?;
    let this_end = rules::month_end(on);
    let next_end = rules::month_end(this_end + chrono::Days::new(1));
    let counts = q::recall_counts(db, org, side, [on, this_end, next_end]).await?;
    let buckets = vec![
        BucketCount {
            bucket: Bucket::Overdue.as_str(),
            count: counts[0] + counts[1],
        },
        BucketCount {
            bucket: Bucket::ThisMonth.as_str(),
            count: counts[2],
        },
        BucketCount {
            bucket: Bucket::NextMonth.as_str(),
            count: counts[3],
        },
        BucketCount {
            bucket: Bucket::Later.as_str(),
            count: counts[4],
        },
    ];
    let rows = rows
        .into_iter()
        .map(|m| {
            let in_service = m.status != DueStatus::OutOfService.as_str();
            RecallRow {
                status: rules::status(m.due_on, in_service, on, &rules.due).as_str(),
                bucket: rules::bucket(m.due_on, on).as_str(),
                item_kind: m.item_kind,
                item_id: m.item_id,
                label: m.label,
                category_code: m.category_code,
                owner_id: m.owner_id,
                lab_id: m.lab_id,
                interval_months: m.interval_months,
                last_calibrated_on: m.last_calibrated_on,
                due_on: m.due_on,
            }
        })
        .collect();
    Ok(RecallList {
        organisation_id: org,
        side: match side {
            Side::Lab => "lab",
            Side::Holder => "holder",
        },
        on,
        rules,
        buckets,
        total,
        offset,
        rows,
    })
}

/// A recall list as CSV (UTF-8 with a byte-order mark, for spreadsheet programs); a
/// cell that a spreadsheet would run as a formula starts with `'`.
pub fn recall_csv(list: &RecallList) -> std::result::Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "item_kind",
        "item_id",
        "label",
        "category_code",
        "interval_months",
        "last_calibrated_on",
        "due_on",
        "status",
        "bucket",
    ])?;
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let cell = crate::domain::spreadsheet::cell;
    for r in &list.rows {
        w.write_record([
            r.item_kind.as_str(),
            &r.item_id.to_string(),
            &cell(&r.label),
            &cell(&r.category_code),
            &r.interval_months.to_string(),
            &date(r.last_calibrated_on),
            &date(r.due_on),
            r.status,
            r.bucket,
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(format!("\u{feff}{}", String::from_utf8_lossy(&bytes)))
}
