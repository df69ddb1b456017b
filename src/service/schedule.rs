//! Calibration schedules and recall lists.
//!
//! The daily run ([`run_daily`], `metrocal schedule run`) recomputes every item's due
//! date from its calibrations and its interval, with its owner's rules, writes what
//! changed to `due_items`, and records each user's notification of what falls due. The
//! recall lists read `due_items`; the status and bucket are taken on the day asked.

use super::{Actor, Error, Result};
use crate::domain::accounts::{Role, Roles};
use crate::domain::register::{effective_status, parse_date, Status};
use crate::domain::schedule::{self as rules, Bucket, DueRules, DueStatus};
use crate::domain::traceability::ItemKind;
use crate::store::entities::{due_item, job_run, notification, user};
use crate::store::schedule::{self as q, RecallFilter, Side};
use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::FxHashMap;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde::Serialize;

/// The interval of an item with none of its own and an owner with no rule of its own.
pub const DEFAULT_INTERVAL_MONTHS: u32 = 12;

/// An organisation's rules: its settings, or the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rules {
    pub due: DueRules,
    pub default_interval_months: u32,
    /// Years an assessment certificate of the organisation's standards is valid
    /// (JJF 1033-2023: 4, so issue date + 4 years − 1 day).
    pub assessment_validity_years: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            due: DueRules::default(),
            default_interval_months: DEFAULT_INTERVAL_MONTHS,
            assessment_validity_years: crate::domain::lifecycle::DEFAULT_VALIDITY_YEARS,
        }
    }
}

fn rules_from(s: &crate::store::entities::schedule_settings::Model) -> Rules {
    let clamp = |v: i32, max: u32| v.clamp(0, max as i32) as u32;
    Rules {
        due: DueRules {
            month_end: s.month_end,
            early_window_days: clamp(s.early_window_days, rules::MAX_WINDOW_DAYS),
            warning_days: clamp(s.warning_days, rules::MAX_WINDOW_DAYS),
        },
        default_interval_months: clamp(s.default_interval_months, rules::MAX_INTERVAL_MONTHS).max(1),
        assessment_validity_years: clamp(
            s.assessment_validity_years,
            crate::domain::lifecycle::MAX_VALIDITY_YEARS,
        )
        .max(1),
    }
}

/// What a daily run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub date: NaiveDate,
    pub items: usize,
    /// Items whose due date, status, laboratory or label changed (or that are new).
    pub changed: usize,
    pub removed: u64,
    pub in_date: usize,
    pub due_soon: usize,
    pub overdue: usize,
    pub out_of_service: usize,
    /// Notifications recorded by this run (none twice for a user on a day).
    pub notifications: u64,
    /// The run was the day's second or later: its notifications had gone already.
    pub repeated: bool,
    /// Renewal milestones and overdue checks reminded of for the first time.
    pub reminders: super::lifecycle::ReminderSummary,
}

/// Recomputes every item's due date and status as of `today` and writes what changed.
///
/// Reads through `read` (a pooled connection), writes through `write`
/// (the daily job's transaction, which holds its lock).
pub async fn recompute<C: sea_orm::ConnectionTrait>(
    read: &DatabaseConnection,
    write: &C,
    today: NaiveDate,
) -> Result<(RunSummary, Vec<due_item::Model>, Vec<q::StandardRow>)> {
    let db = read;
    // One read after another: each comes as one large text per column, and reading them
    // side by side would hold all of those at once (the run's memory, not its time).
    let settings = q::all_settings(db).await?;
    let intervals = q::all_intervals(db).await?;
    let standards = q::standards(db).await?;
    let devices = q::devices(db).await?;
    let instruments = q::instruments(db).await?;
    let calibrations = q::calibration_dates(db).await?;
    let stored = q::all_due_items(db).await?;
    let settings: FxHashMap<i32, Rules> = settings.iter().map(|s| (s.organisation_id, rules_from(s))).collect();
    let intervals: FxHashMap<(ItemKind, i32), u32> = intervals
        .into_iter()
        .filter_map(|i| {
            let months = u32::try_from(i.months).ok()?.clamp(1, rules::MAX_INTERVAL_MONTHS);
            Some(((ItemKind::parse(&i.item_kind)?, i.item_id), months))
        })
        .collect();
    let computed = compute(
        today,
        &settings,
        &intervals,
        &standards,
        &devices,
        &instruments,
        &calibrations,
    );
    let (summary, computed) = save(write, today, computed, stored).await?;
    Ok((summary, computed, standards))
}

/// Every item's due item as of `today`.
fn compute(
    today: NaiveDate,
    settings: &FxHashMap<i32, Rules>,
    intervals: &FxHashMap<(ItemKind, i32), u32>,
    standards: &[q::StandardRow],
    devices: &[q::DeviceRow],
    instruments: &[q::InstrumentRow],
    calibrations: &[q::CalibrationDate],
) -> Vec<due_item::Model> {
    let rules_of = |org: i32| settings.get(&org).copied().unwrap_or_default();
    // Each item's calibration dates, and its latest calibration's laboratory and reference.
    let mut history: FxHashMap<(ItemKind, i32), Vec<NaiveDate>> = FxHashMap::default();
    let mut latest: FxHashMap<(ItemKind, i32), &q::CalibrationDate> = FxHashMap::default();
    for c in calibrations {
        let key = (c.item_kind, c.item_id);
        history.entry(key).or_default().push(c.calibrated_on);
        let e = latest.entry(key).or_insert(c);
        if c.calibrated_on > e.calibrated_on {
            *e = c;
        }
    }
    let standard_of: FxHashMap<i32, &q::StandardRow> = standards.iter().map(|s| (s.id, s)).collect();
    let device_standard: FxHashMap<i32, i32> = devices.iter().map(|d| (d.id, d.standard_id)).collect();
    // The laboratory of an instrument: the one named on its latest calibration, else the
    // owner of the standard it was calibrated against.
    let lab_of_reference = |kind: Option<ItemKind>, id: Option<i32>| -> Option<i32> {
        let sid = match (kind?, id?) {
            (ItemKind::Standard, id) => id,
            (ItemKind::Device, id) => *device_standard.get(&id)?,
            (ItemKind::Instrument, _) => return None,
        };
        standard_of.get(&sid).map(|s| s.owner_id)
    };
    let mut computed: Vec<due_item::Model> = Vec::with_capacity(standards.len() + devices.len() + instruments.len());
    let mut add = |kind: ItemKind,
                   id: i32,
                   owner: i32,
                   lab: Option<i32>,
                   category: &str,
                   label: String,
                   in_service: bool,
                   fallback: Option<NaiveDate>| {
        let r = rules_of(owner);
        let interval = intervals.get(&(kind, id)).copied().unwrap_or(r.default_interval_months);
        let mut dates = history.get(&(kind, id)).cloned().unwrap_or_default();
        if dates.is_empty() {
            dates.extend(fallback);
        }
        let due = rules::due_date(&dates, interval, &r.due);
        computed.push(due_item::Model {
            id: 0,
            item_kind: kind.as_str().to_owned(),
            item_id: id,
            owner_id: owner,
            lab_id: lab,
            category_code: category.to_owned(),
            label,
            interval_months: interval as i32,
            last_calibrated_on: dates.iter().max().copied(),
            due_on: due,
            status: rules::status(due, in_service, today, &r.due).as_str().to_owned(),
            computed_on: today,
        });
    };
    let in_service = |s: &q::StandardRow| {
        Status::parse(&s.status).is_some_and(|st| effective_status(st, s.cert_expires_on, today) == Status::InService)
    };
    for s in standards {
        add(
            ItemKind::Standard,
            s.id,
            s.owner_id,
            Some(s.owner_id),
            &s.category_code,
            format!("{} {}", s.name_zh, s.cert_no),
            in_service(s),
            None,
        );
    }
    for d in devices {
        let Some(s) = standard_of.get(&d.standard_id) else {
            continue;
        };
        add(
            ItemKind::Device,
            d.id,
            s.owner_id,
            Some(s.owner_id),
            &s.category_code,
            format!("{} {} ({})", d.name, d.serial, s.cert_no),
            in_service(s),
            d.cal_date,
        );
    }
    for i in instruments {
        let lab = latest
            .get(&(ItemKind::Instrument, i.id))
            .and_then(|c| c.lab_id.or_else(|| lab_of_reference(c.reference_kind, c.reference_id)));
        add(
            ItemKind::Instrument,
            i.id,
            i.owner_id,
            lab,
            &i.category_code,
            i.label.clone(),
            true,
            None,
        );
    }
    computed
}

/// Writes the due items that changed, and counts them.
async fn save<C: sea_orm::ConnectionTrait>(
    db: &C,
    today: NaiveDate,
    computed: Vec<due_item::Model>,
    stored: Vec<q::StoredDue>,
) -> Result<(RunSummary, Vec<due_item::Model>)> {
    let key = |m: &due_item::Model| (ItemKind::parse(&m.item_kind), m.item_id);
    let stored: FxHashMap<(Option<ItemKind>, i32), (i32, u64)> = stored
        .into_iter()
        .map(|s| ((s.item_kind, s.item_id), (s.id, s.digest)))
        .collect();
    let digest = |m: &due_item::Model| {
        q::due_digest(
            m.owner_id,
            m.lab_id,
            &m.category_code,
            &m.label,
            m.interval_months,
            m.last_calibrated_on,
            m.due_on,
            &m.status,
        )
    };
    let changed = |m: &&due_item::Model| stored.get(&key(m)).is_none_or(|s| s.1 != digest(m));
    // Items gone from the register since the last run.
    let present: rustc_hash::FxHashSet<(Option<ItemKind>, i32)> = computed.iter().map(key).collect();
    let gone: Vec<i32> = stored
        .iter()
        .filter(|(k, _)| !present.contains(k))
        .map(|(_, s)| s.0)
        .collect();
    drop(present);
    let mut summary = RunSummary {
        date: today,
        items: computed.len(),
        changed: computed.iter().filter(changed).count(),
        ..RunSummary::default()
    };
    // Written a chunk at a time: at province scale the first run changes all 245,000,
    // and a copy of them all would double the run's memory.
    let mut pending = computed.iter().filter(changed).peekable();
    while pending.peek().is_some() {
        let rows: Vec<due_item::ActiveModel> = pending
            .by_ref()
            .take(8_192)
            .map(|m| due_item::ActiveModel {
                item_kind: Set(m.item_kind.clone()),
                item_id: Set(m.item_id),
                owner_id: Set(m.owner_id),
                lab_id: Set(m.lab_id),
                category_code: Set(m.category_code.clone()),
                label: Set(m.label.clone()),
                interval_months: Set(m.interval_months),
                last_calibrated_on: Set(m.last_calibrated_on),
                due_on: Set(m.due_on),
                status: Set(m.status.clone()),
                computed_on: Set(m.computed_on),
                ..Default::default()
            })
            .collect();
        q::upsert_due_items(db, rows).await?;
    }
    drop(stored);
    summary.removed = q::delete_due_items(db, &gone).await?;
    for m in &computed {
        match DueStatus::parse(&m.status) {
            Some(DueStatus::InDate) => summary.in_date += 1,
            Some(DueStatus::DueSoon) => summary.due_soon += 1,
            Some(DueStatus::Overdue) => summary.overdue += 1,
            Some(DueStatus::OutOfService) | None => summary.out_of_service += 1,
        }
    }
    Ok((summary, computed))
}

/// The roles told of what their laboratory must calibrate, and of what their
/// organisation holds.
const LAB_ROLES: &[Role] = &[Role::InstituteAdmin, Role::Scheduler];
const HOLDER_ROLES: &[Role] = &[Role::InstituteAdmin, Role::Scheduler, Role::Enterprise];

/// One notification per user and side (laboratory, holder) with anything overdue or due soon.
fn digests(
    computed: &[due_item::Model],
    users: &[user::Model],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<notification::ActiveModel> {
    // Per organisation: (overdue, due soon) as the laboratory and as the holder.
    let mut as_lab: FxHashMap<i32, (usize, usize)> = FxHashMap::default();
    let mut as_holder: FxHashMap<i32, (usize, usize)> = FxHashMap::default();
    for m in computed {
        let bump = |e: &mut (usize, usize)| match DueStatus::parse(&m.status) {
            Some(DueStatus::Overdue) => e.0 += 1,
            Some(DueStatus::DueSoon) => e.1 += 1,
            _ => {}
        };
        if let Some(l) = m.lab_id {
            bump(as_lab.entry(l).or_default());
        }
        bump(as_holder.entry(m.owner_id).or_default());
    }
    let mut rows = Vec::new();
    for u in users.iter().filter(|u| u.disabled_at.is_none()) {
        let roles = Roles::parse("roles", &u.roles).unwrap_or_default();
        let has = |rs: &[Role]| rs.iter().any(|r| roles.has(*r));
        let mut add = |kind: &str, side: &str, counts: Option<&(usize, usize)>, title_zh: &str| {
            let Some(&(overdue, soon)) = counts else {
                return;
            };
            if overdue + soon == 0 {
                return;
            }
            rows.push(notification::ActiveModel {
                user_id: Set(u.id),
                kind: Set(kind.to_owned()),
                on_date: Set(today),
                title: Set(format!("{title_zh}：{overdue} 项已超期，{soon} 项即将到期")),
                body: Set(format!(
                    "{today}: {overdue} overdue, {soon} due soon ({side}). 截至 {today}，{overdue} 项已超期，{soon} 项即将到期。"
                )),
                link: Set(format!("/schedule?side={side}")),
                created_at: Set(now),
                read_at: Set(None),
                emailed_at: Set(None),
                ..Default::default()
            });
        };
        if has(LAB_ROLES) {
            add("recall_lab", "lab", as_lab.get(&u.organisation_id), "待检定/校准");
        }
        if has(HOLDER_ROLES) {
            add(
                "recall_holder",
                "holder",
                as_holder.get(&u.organisation_id),
                "本单位器具到期",
            );
        }
    }
    rows
}

/// The daily job: recompute, then one notification per user of what falls due. Several
/// instances sharing a database run it one after the other (a database lock); a second
/// run on the same day recomputes but sends nothing twice.
pub async fn run_daily(
    actor: &Actor,
    db: &DatabaseConnection,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RunSummary> {
    if !actor.may(&[Role::SystemAdmin]) {
        return Err(actor.forbidden());
    }
    let txn = crate::store::begin(db).await?;
    q::lock_job(&txn, "schedule").await?;
    let repeated = q::finished_run_on(&txn, "schedule", today).await?.is_some();
    let (mut summary, computed, standards) = recompute(db, &txn, today).await?;
    summary.repeated = repeated;
    let users: Vec<user::Model> = user::Entity::find().all(&txn).await?;
    let mut rows = digests(&computed, &users, today, now);
    let (reminders, notes) = super::lifecycle::remind(&txn, &standards, &users, today, now).await?;
    summary.reminders = reminders;
    rows.extend(notes);
    summary.notifications = q::insert_notifications(&txn, rows).await?;
    // The run is audited with what it did (the due items are derived data; who ran it and
    // what it sent is the record).
    let mut changes = super::audit::Changes::new();
    changes.note("summary", serde_json::to_value(&summary).unwrap_or_default());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "schedule.run",
            entity_type: "schedule",
            entity_id: today.to_string(),
            changes,
        },
    )
    .await?;
    q::insert_run(
        &txn,
        job_run::ActiveModel {
            job: Set("schedule".into()),
            on_date: Set(today),
            started_at: Set(now),
            finished_at: Set(Some(Utc::now())),
            summary: Set(serde_json::to_string(&summary).unwrap_or_default()),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    if summary.changed as u64 + summary.removed > 10_000 {
        // Committed already: a failure here only leaves the tidying to autovacuum.
        if let Err(e) = q::vacuum_due_items(db).await {
            tracing::warn!(error = %e, "vacuuming the due items after the run failed");
        }
    }
    tracing::info!(actor = %actor.label(), ?summary, "schedule run");
    Ok(summary)
}

// ---------------------------------------------------------------- recall lists

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

// ---------------------------------------------------------------- the inbox

#[derive(Debug, Clone, Serialize)]
pub struct Inbox {
    pub unread: u64,
    pub notifications: Vec<NotificationView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    pub id: i32,
    pub kind: String,
    pub on_date: NaiveDate,
    pub title: String,
    pub body: String,
    pub link: String,
    pub read: bool,
}

pub async fn inbox(actor: &Actor, db: &DatabaseConnection) -> Result<Inbox> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    Ok(Inbox {
        unread: q::unread_count(db, p.user_id).await?,
        notifications: q::notifications_of(db, p.user_id, 200)
            .await?
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                kind: n.kind,
                on_date: n.on_date,
                title: n.title,
                body: n.body,
                link: n.link,
                read: n.read_at.is_some(),
            })
            .collect(),
    })
}

/// Marks one of the actor's own notifications read (another user's is not found).
pub async fn mark_read(actor: &Actor, db: &DatabaseConnection, id: i32, now: DateTime<Utc>) -> Result<()> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    if q::mark_read(db, p.user_id, id, now).await? == 0 {
        return Err(Error::NotFound { what: "notification" });
    }
    Ok(())
}

// ---------------------------------------------------------------- calendar feeds

/// Who may manage an organisation's calendar feeds.
const FEED_ROLES: &[Role] = &[
    Role::InstituteAdmin,
    Role::Scheduler,
    Role::Enterprise,
    Role::SystemAdmin,
];

#[derive(Debug, Clone, Serialize)]
pub struct FeedView {
    pub id: i32,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

fn feed_view(f: crate::store::entities::calendar_feed::Model) -> FeedView {
    FeedView {
        id: f.id,
        label: f.label,
        created_at: f.created_at,
        revoked: f.revoked_at.is_some(),
    }
}

/// The actor's organisation's calendar feeds.
pub async fn feeds(actor: &Actor, db: &DatabaseConnection) -> Result<Vec<FeedView>> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    Ok(q::feeds_of(db, p.organisation_id)
        .await?
        .into_iter()
        .map(feed_view)
        .collect())
}

/// A new calendar feed of the actor's organisation's due dates. The token in its address
/// is returned once; only its SHA-256 is kept.
pub async fn create_feed(
    actor: &Actor,
    db: &DatabaseConnection,
    label: &str,
    now: DateTime<Utc>,
) -> Result<(String, FeedView)> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    if !actor.may(FEED_ROLES) {
        return Err(actor.forbidden());
    }
    let label = label.trim();
    if label.chars().count() > 100 {
        return Err(Error::field(
            "label",
            "feed.label_too_long",
            "a feed's name has at most 100 characters",
        ));
    }
    let label = if label.is_empty() {
        "日历订阅 calendar"
    } else {
        label
    };
    let token = super::random_hex(32);
    let txn = crate::store::begin(db).await?;
    let f = q::insert_feed(
        &txn,
        crate::store::entities::calendar_feed::ActiveModel {
            organisation_id: Set(p.organisation_id),
            token_hash: Set(super::accounts::sha256_hex(&token)),
            label: Set(label.to_owned()),
            created_by: Set(Some(p.user_id)),
            created_at: Set(now),
            revoked_at: Set(None),
            ..Default::default()
        },
    )
    .await?;
    let mut changes = super::audit::Changes::new();
    changes.note("label", f.label.clone().into());
    changes.note("organisation_id", p.organisation_id.into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "calendar_feed.create",
            entity_type: "calendar_feed",
            entity_id: f.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok((token, feed_view(f)))
}

/// Revokes one of the organisation's feeds: its address stops answering.
pub async fn revoke_feed(actor: &Actor, db: &DatabaseConnection, id: i32, now: DateTime<Utc>) -> Result<()> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    let txn = crate::store::begin(db).await?;
    let f = q::feed_by_id(&txn, id)
        .await?
        .filter(|f| f.organisation_id == p.organisation_id)
        .ok_or(Error::NotFound { what: "calendar feed" })?;
    if !actor.may(FEED_ROLES) {
        return Err(actor.forbidden());
    }
    if f.revoked_at.is_some() {
        return Ok(());
    }
    q::revoke_feed(&txn, f.id, now).await?;
    let mut changes = super::audit::Changes::new();
    changes.set("revoked_at", serde_json::Value::Null, now.to_rfc3339().into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "calendar_feed.revoke",
            entity_type: "calendar_feed",
            entity_id: f.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The iCalendar feed behind a token: one all-day event per item on its due date, for
/// what the organisation calibrates and what it holds. Not found once revoked.
pub async fn feed_ics(db: &DatabaseConnection, token: &str, today: NaiveDate) -> Result<String> {
    use icalendar::{Calendar, Component, EventLike};
    let f = q::live_feed_by_hash(db, &super::accounts::sha256_hex(token.trim()))
        .await?
        .ok_or(Error::NotFound { what: "calendar feed" })?;
    let reader = Actor::system("calendar feed");
    let mut cal = Calendar::new();
    cal.name(&format!("metrocal {}", f.label));
    let mut seen = rustc_hash::FxHashSet::default();
    for side in ["lab", "holder"] {
        let rq = RecallQuery {
            organisation: Some(f.organisation_id.to_string()),
            side: Some(side.to_owned()),
            ..RecallQuery::default()
        };
        let list = recall(&reader, db, &rq, today, true).await?;
        for r in list.rows {
            let (Some(due), true) = (r.due_on, seen.insert((r.item_kind.clone(), r.item_id))) else {
                continue;
            };
            if r.status == DueStatus::OutOfService.as_str() {
                continue;
            }
            let side_zh = if side == "lab" { "待检" } else { "到期" };
            cal.push(
                icalendar::Event::new()
                    .uid(&format!("{}-{}@metrocal", r.item_kind, r.item_id))
                    .all_day(due)
                    .summary(&format!("{side_zh}：{}", r.label))
                    .description(&format!(
                        "{} {} · due {due} · interval {} months · last calibrated {}",
                        r.item_kind,
                        r.category_code,
                        r.interval_months,
                        r.last_calibrated_on.map_or("—".to_owned(), |d| d.to_string())
                    ))
                    .done(),
            );
        }
    }
    Ok(cal.done().to_string())
}

/// The server's daily job: runs [`run_daily`] unless today's run has finished (on any
/// instance sharing the database). Returns what the run did, if it ran.
pub async fn run_if_due(db: &DatabaseConnection, today: NaiveDate, now: DateTime<Utc>) -> Result<Option<RunSummary>> {
    if q::finished_run_on(db, "schedule", today).await?.is_some() {
        return Ok(None);
    }
    run_daily(&Actor::system("daily job"), db, today, now).await.map(Some)
}

// ---------------------------------------------------------------- an organisation's rules

/// Who may change their organisation's scheduling rules.
const SETTINGS_ROLES: &[Role] = &[
    Role::InstituteAdmin,
    Role::Scheduler,
    Role::Enterprise,
    Role::SystemAdmin,
];

/// An organisation's rules, or the defaults.
pub(crate) async fn rules_of(db: &impl sea_orm::ConnectionTrait, org: i32) -> Result<Rules> {
    Ok(q::settings_of(db, org)
        .await?
        .as_ref()
        .map(rules_from)
        .unwrap_or_default())
}

/// The actor's organisation's rules.
pub async fn settings(actor: &Actor, db: &DatabaseConnection) -> Result<Rules> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    Ok(q::settings_of(db, p.organisation_id)
        .await?
        .as_ref()
        .map(rules_from)
        .unwrap_or_default())
}

/// The rules as typed in the form (every field is text).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SettingsInput {
    pub month_end: bool,
    pub early_window_days: String,
    pub warning_days: String,
    pub default_interval_months: String,
    pub assessment_validity_years: String,
}

/// Saves the actor's organisation's rules (audited field by field); the next daily run
/// moves the due dates they change.
pub async fn save_settings(
    actor: &Actor,
    db: &DatabaseConnection,
    input: &SettingsInput,
    now: DateTime<Utc>,
) -> Result<Rules> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    if !actor.may(SETTINGS_ROLES) {
        return Err(actor.forbidden());
    }
    let mut errors = Vec::new();
    let mut number = |field: &str, text: &str, min: u32, max: u32| -> u32 {
        match text.trim().parse::<u32>() {
            Ok(v) if (min..=max).contains(&v) => v,
            _ => {
                errors.push(crate::domain::Error::new(
                    field,
                    "schedule.setting_out_of_range",
                    format!("a whole number from {min} to {max}"),
                ));
                min
            }
        }
    };
    let rules = Rules {
        due: DueRules {
            month_end: input.month_end,
            early_window_days: number("early_window_days", &input.early_window_days, 0, rules::MAX_WINDOW_DAYS),
            warning_days: number("warning_days", &input.warning_days, 0, rules::MAX_WINDOW_DAYS),
        },
        default_interval_months: number(
            "default_interval_months",
            &input.default_interval_months,
            1,
            rules::MAX_INTERVAL_MONTHS,
        ),
        assessment_validity_years: number(
            "assessment_validity_years",
            &input.assessment_validity_years,
            1,
            crate::domain::lifecycle::MAX_VALIDITY_YEARS,
        ),
    };
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let txn = crate::store::begin(db).await?;
    let old = q::settings_of(&txn, p.organisation_id)
        .await?
        .as_ref()
        .map(rules_from)
        .unwrap_or_default();
    q::save_settings(
        &txn,
        crate::store::entities::schedule_settings::Model {
            organisation_id: p.organisation_id,
            month_end: rules.due.month_end,
            early_window_days: rules.due.early_window_days as i32,
            warning_days: rules.due.warning_days as i32,
            default_interval_months: rules.default_interval_months as i32,
            assessment_validity_years: rules.assessment_validity_years as i32,
            updated_at: now,
        },
    )
    .await?;
    let snapshot = |r: &Rules| {
        std::collections::BTreeMap::from([
            ("month_end", r.due.month_end.to_string()),
            ("early_window_days", r.due.early_window_days.to_string()),
            ("warning_days", r.due.warning_days.to_string()),
            ("default_interval_months", r.default_interval_months.to_string()),
            ("assessment_validity_years", r.assessment_validity_years.to_string()),
        ])
    };
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "schedule_settings.update",
            entity_type: "organisation",
            entity_id: p.organisation_id.to_string(),
            changes: super::audit::Changes::diff(&snapshot(&old), &snapshot(&rules)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(rules)
}

/// The daily job of a server: at once and then every `every` it runs the schedule
/// unless today's run has finished, here or on another instance sharing the database
/// (the run itself holds a database lock), and e-mails the notifications not yet sent
/// when `mailer` is given. It never returns; a failed run is logged and tried again.
pub async fn keep_running(
    db: DatabaseConnection,
    mailer: Option<super::mail::Mailer>,
    today: impl Fn() -> NaiveDate,
    every: std::time::Duration,
) {
    loop {
        match run_if_due(&db, today(), Utc::now()).await {
            Ok(Some(s)) => {
                tracing::info!(?s, "daily schedule run");
                release_memory();
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "daily schedule run failed; retrying later"),
        }
        if let Some(m) = &mailer {
            match super::mail::deliver(&db, m, Utc::now()).await {
                Ok(s) if s.sent + s.failed > 0 => tracing::info!(?s, "notifications e-mailed"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "e-mailing notifications failed; retrying later"),
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Returns freed memory to the operating system after a large job (the daily run reads
/// every item of the province at once): mimalloc's (the binary's allocator) and the C
/// allocator's.
fn release_memory() {
    // SAFETY: both only release free pages; neither touches live allocations.
    unsafe {
        libmimalloc_sys::mi_collect(true);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        libc::malloc_trim(0);
    }
}
