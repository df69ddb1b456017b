//! The daily run: every item's due date recomputed from its calibrations, its interval and
//! its owner's rules, what changed written to `due_items`, each user's notification of what
//! falls due recorded; and the server's loop that runs it once a day on one instance.

use super::{rules_from, Rules};
use crate::domain::accounts::{Role, Roles};
use crate::domain::register::{effective_status, Status};
use crate::domain::schedule::{self as rules, DueStatus};
use crate::domain::traceability::ItemKind;
use crate::service::{Actor, Result};
use crate::store::entities::{due_item, job_run, notification, user};
use crate::store::schedule::{self as q};
use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::FxHashMap;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde::Serialize;

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
    pub reminders: crate::service::lifecycle::ReminderSummary,
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
    run_locked(actor, db, today, now, false)
        .await
        .map(|s| s.expect("a run that is not skipped returns its summary"))
}

/// [`run_daily`], or nothing when `skip_if_done` and the day's run has finished: decided
/// under the job's lock, so that instances started together run the day's job once.
async fn run_locked(
    actor: &Actor,
    db: &DatabaseConnection,
    today: NaiveDate,
    now: DateTime<Utc>,
    skip_if_done: bool,
) -> Result<Option<RunSummary>> {
    if !actor.may(&[Role::SystemAdmin]) {
        return Err(actor.forbidden());
    }
    let txn = crate::store::begin(db).await?;
    q::lock_job(&txn, "schedule").await?;
    let repeated = q::finished_run_on(&txn, "schedule", today).await?.is_some();
    if repeated && skip_if_done {
        txn.rollback().await?;
        return Ok(None);
    }
    let (mut summary, computed, standards) = recompute(db, &txn, today).await?;
    summary.repeated = repeated;
    let users: Vec<user::Model> = user::Entity::find().all(&txn).await?;
    let mut rows = digests(&computed, &users, today, now);
    let (reminders, notes) = crate::service::lifecycle::remind(&txn, &standards, &users, today, now).await?;
    summary.reminders = reminders;
    rows.extend(notes);
    summary.notifications = q::insert_notifications(&txn, rows).await?;
    // The run is audited with what it did (the due items are derived data; who ran it and
    // what it sent is the record).
    let mut changes = crate::service::audit::Changes::new();
    changes.note("summary", serde_json::to_value(&summary).unwrap_or_default());
    crate::service::audit::record(
        &txn,
        actor,
        now,
        crate::service::audit::Entry {
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
    Ok(Some(summary))
}

/// The server's daily job: runs [`run_daily`] unless today's run has finished (on any
/// instance sharing the database). Returns what the run did, if it ran.
pub async fn run_if_due(db: &DatabaseConnection, today: NaiveDate, now: DateTime<Utc>) -> Result<Option<RunSummary>> {
    if q::finished_run_on(db, "schedule", today).await?.is_some() {
        return Ok(None);
    }
    // Checked again under the lock: another instance may be running it right now.
    run_locked(&Actor::system("daily job"), db, today, now, true).await
}

/// The daily job of a server: at once and then every `every` it runs the schedule
/// unless today's run has finished, here or on another instance sharing the database
/// (the run itself holds a database lock), and e-mails the notifications not yet sent
/// when `mailer` is given. It never returns; a failed run is logged and tried again.
pub async fn keep_running(
    db: DatabaseConnection,
    mailer: Option<crate::service::mail::Mailer>,
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
            match crate::service::mail::deliver(&db, m, Utc::now()).await {
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
