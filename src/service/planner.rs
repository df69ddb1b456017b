//! The automatic planner over the province (`metrocal schedule plan`, `/schedule/plan`),
//! the laboratories' capacity and holidays it respects, and accepting its proposal as
//! work orders.
//!
//! A laboratory's capacity in a category is its own figure when it has set one, else
//! its figure for every category ('*'), else [`DEFAULT_PER_STANDARD`] calibrations a
//! week for each standard in service it holds in that category.

use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::codes::validate_jjf1022;
use crate::domain::planner::{self, Calendar, Demand, Reason};
use crate::store::entities::{holiday, work_order};
use crate::store::planner as q;
use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::FxHashMap;
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// Calibrations a week per standard in service, for a laboratory that has set no capacity.
pub const DEFAULT_PER_STANDARD: u32 = 5;
/// The largest weekly capacity accepted.
pub const MAX_PER_WEEK: u32 = 100_000;

pub use super::work_orders::PLANNERS;
/// Who may read a laboratory's plan.
const READERS: &[Role] = &[
    Role::InstituteAdmin,
    Role::Scheduler,
    Role::Technician,
    Role::Reviewer,
    Role::Approver,
    Role::Regulator,
    Role::SystemAdmin,
];

/// One item in the proposal.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedItem {
    pub item_kind: String,
    pub item_id: i32,
    pub label: String,
    pub owner_id: i32,
    pub category_code: String,
    pub due_on: Option<NaiveDate>,
    /// The item's own laboratory, if it has one.
    pub home_lab_id: Option<i32>,
    pub lab_id: Option<i32>,
    pub lab: Option<String>,
    pub planned_on: Option<NaiveDate>,
    pub week: Option<u32>,
    /// Why the due date is not met: already_overdue, capacity_before_due, no_day_before_due,
    /// no_laboratory, no_capacity.
    pub reason: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WeekLoad {
    pub monday: NaiveDate,
    pub planned: u32,
    pub capacity: u32,
}

/// A laboratory's load week by week, over all its categories.
#[derive(Debug, Clone, Serialize)]
pub struct LabLoad {
    pub lab_id: i32,
    pub lab: String,
    pub planned: u32,
    pub weeks: Vec<WeekLoad>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ReasonCount {
    pub already_overdue: usize,
    pub capacity_before_due: usize,
    pub no_day_before_due: usize,
    pub no_laboratory: usize,
    pub no_capacity: usize,
}

/// The planner's proposal.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub weeks: Vec<NaiveDate>,
    /// Items considered: in service, due by the end (or never calibrated), without an open work order.
    pub items: usize,
    pub on_time: usize,
    pub late: usize,
    pub unplaced: usize,
    pub reasons: ReasonCount,
    /// Every placed item, by day.
    pub planned: Vec<PlannedItem>,
    /// Every item whose due date is not met, with why.
    pub unmet: Vec<PlannedItem>,
    pub labs: Vec<LabLoad>,
}

type Cached = (NaiveDate, u32, i64, Arc<Plan>);

/// The last plan of one database, kept until the next change it depends on, so that the
/// planning page answers at once. It is keyed by the database's `plan` change counter
/// (advanced with every audited change the plan depends on: work orders, capacities,
/// holidays, the daily run, the register), so a change made through any app instance
/// or the CLI is seen by the next request to every other. The server keeps one, as
/// managed state; the CLI makes one per run.
#[derive(Default)]
pub struct PlanCache(Mutex<Option<Cached>>);

fn check_weeks(weeks: u32) -> Result<()> {
    if weeks == 0 || weeks > planner::MAX_WEEKS {
        return Err(Error::field(
            "weeks",
            "plan.weeks_out_of_range",
            format!("a whole number of weeks from 1 to {}", planner::MAX_WEEKS),
        ));
    }
    Ok(())
}

/// The province's plan for `weeks` weeks from `start` (any planner, scheduler, or
/// someone who oversees the province; a laboratory's staff read their own share with
/// [`lab_plan`]).
pub async fn plan(
    actor: &Actor,
    db: &DatabaseConnection,
    cache: &PlanCache,
    start: NaiveDate,
    weeks: u32,
) -> Result<Arc<Plan>> {
    if !actor.reads_as(READERS) {
        return Err(actor.forbidden());
    }
    check_weeks(weeks)?;
    // Read before the plan: a change committed while it is computed leaves it under a
    // counter that is already behind, so the next request computes it again.
    let generation = crate::store::changes::value(db, crate::store::changes::PLAN).await?;
    if let Some((s, w, g, p)) = cache.0.lock().expect("plan cache").as_ref() {
        if (*s, *w, *g) == (start, weeks, generation) {
            return Ok(p.clone());
        }
    }
    let p = Arc::new(compute(db, start, weeks).await?);
    *cache.0.lock().expect("plan cache") = Some((start, weeks, generation, p.clone()));
    Ok(p)
}

async fn compute(db: &DatabaseConnection, start: NaiveDate, weeks: u32) -> Result<Plan> {
    let end_guess = start + chrono::Duration::days(7 * weeks as i64 + 7);
    let monday = start - chrono::Duration::days(chrono::Datelike::weekday(&start).num_days_from_monday() as i64);
    let (items, bookings, accredited, capacities, holidays, orgs) = tokio::try_join!(
        q::plan_items(db, end_guess),
        q::bookings(db, monday, end_guess),
        q::accredited(db, start),
        q::capacities(db, None),
        q::holidays(db, None, start - chrono::Duration::days(7), end_guess),
        crate::store::traceability::organisation_nodes(db, None),
    )?;
    let holidays: Vec<(Option<i32>, NaiveDate)> = holidays.iter().map(|h| (h.lab_id, h.on_date)).collect();
    let calendar = Calendar::new(start, weeks, &holidays);
    let end = calendar.end();
    // Categories as small numbers.
    let mut categories: Vec<String> = Vec::new();
    let mut category_ix: FxHashMap<String, u32> = FxHashMap::default();
    let mut intern = |c: &str| -> u32 {
        if let Some(&i) = category_ix.get(c) {
            return i;
        }
        categories.push(c.to_owned());
        category_ix.insert(c.to_owned(), categories.len() as u32 - 1);
        categories.len() as u32 - 1
    };
    let org_of: FxHashMap<i32, &crate::store::traceability::OrganisationNode> =
        orgs.iter().map(|o| (o.id, o)).collect();
    // Standards held per (laboratory, category), and the measurement centres per category.
    let mut held: FxHashMap<(i32, u32), u32> = FxHashMap::default();
    let mut centres: FxHashMap<u32, Vec<i32>> = FxHashMap::default();
    for (lab, cat, n) in &accredited {
        let c = intern(cat);
        held.insert((*lab, c), (*n).clamp(0, u32::MAX as i64) as u32);
        if org_of.get(lab).is_some_and(|o| o.kind == "measurement_centre") {
            centres.entry(c).or_default().push(*lab);
        }
    }
    let mut explicit: FxHashMap<(i32, Option<u32>), u32> = FxHashMap::default();
    for c in &capacities {
        let cat = (c.category_code != "*").then(|| intern(&c.category_code));
        explicit.insert((c.lab_id, cat), c.per_week.max(0) as u32);
    }
    let items: Vec<q::PlanItem> = items
        .into_iter()
        .filter(|i| i.due_on.is_none_or(|d| d <= end))
        .collect();
    let demands: Vec<Demand> = items
        .iter()
        .map(|i| {
            let cat = intern(&i.category_code);
            let mut labs: Vec<i32> = i.lab_id.into_iter().collect();
            if let Some(cs) = centres.get(&cat) {
                // Centres in the holder's region first.
                let region = org_of.get(&i.owner_id).and_then(|o| o.region_id);
                let mut others: Vec<i32> = cs.iter().copied().filter(|c| Some(*c) != i.lab_id).collect();
                others.sort_by_key(|c| {
                    (
                        org_of.get(c).and_then(|o| o.region_id) != region || region.is_none(),
                        *c,
                    )
                });
                labs.extend(others);
            }
            Demand {
                category: cat,
                due: i.due_on,
                labs,
            }
        })
        .collect();
    let booked: Vec<(i32, u32, u32)> = bookings
        .iter()
        .filter(|b| b.2 <= end)
        .map(|(lab, cat, on)| (*lab, intern(cat), ((*on - monday).num_days() / 7) as u32))
        .collect();
    let per_week = |lab: i32, cat: u32| -> u32 {
        explicit
            .get(&(lab, Some(cat)))
            .or_else(|| explicit.get(&(lab, None)))
            .copied()
            .unwrap_or_else(|| {
                held.get(&(lab, cat))
                    .copied()
                    .unwrap_or(0)
                    .saturating_mul(DEFAULT_PER_STANDARD)
            })
    };
    let (outcomes, load) = planner::plan(&calendar, &demands, &booked, per_week);
    let name = |id: i32| org_of.get(&id).map(|o| o.name_zh.clone());
    let mut planned = Vec::new();
    let mut unmet = Vec::new();
    let mut reasons = ReasonCount::default();
    let (mut on_time, mut late, mut unplaced) = (0, 0, 0);
    for (i, o) in items.iter().zip(&outcomes) {
        let row = PlannedItem {
            item_kind: i.item_kind.clone(),
            item_id: i.item_id,
            label: i.label.clone(),
            owner_id: i.owner_id,
            category_code: i.category_code.clone(),
            due_on: i.due_on,
            home_lab_id: i.lab_id,
            lab_id: o.placement.map(|p| p.lab),
            lab: o.placement.and_then(|p| name(p.lab)),
            planned_on: o.placement.map(|p| p.day),
            week: o.placement.map(|p| p.week),
            reason: o.reason.map(Reason::as_str),
        };
        match o.reason {
            None => on_time += 1,
            Some(r) => {
                match r {
                    Reason::AlreadyOverdue => reasons.already_overdue += 1,
                    Reason::CapacityBeforeDue => reasons.capacity_before_due += 1,
                    Reason::NoDayBeforeDue => reasons.no_day_before_due += 1,
                    Reason::NoLaboratory => reasons.no_laboratory += 1,
                    Reason::NoCapacity => reasons.no_capacity += 1,
                }
                if o.placement.is_some() {
                    late += 1;
                } else {
                    unplaced += 1;
                }
                unmet.push(row.clone());
            }
        }
        if o.placement.is_some() {
            planned.push(row);
        }
    }
    planned.sort_by_key(|a| (a.planned_on, a.lab_id, a.due_on));
    unmet.sort_by(|a, b| (a.reason, a.due_on).cmp(&(b.reason, b.due_on)));
    // The load per laboratory, over its categories.
    let mut by_lab: FxHashMap<i32, (Vec<u32>, Vec<u32>)> = FxHashMap::default();
    for ((lab, cat), used) in &load {
        let pw = per_week(*lab, *cat);
        let e = by_lab
            .entry(*lab)
            .or_insert_with(|| (vec![0; weeks as usize], vec![0; weeks as usize]));
        for (w, u) in used.iter().enumerate().take(calendar.weeks as usize) {
            e.0[w] += u;
            e.1[w] += calendar.capacity(*lab, w as u32, pw);
        }
    }
    let mondays: Vec<NaiveDate> = (0..calendar.weeks).map(|w| calendar.monday(w)).collect();
    let mut labs: Vec<LabLoad> = by_lab
        .into_iter()
        .map(|(lab, (used, cap))| LabLoad {
            lab_id: lab,
            lab: name(lab).unwrap_or_default(),
            planned: used.iter().sum(),
            weeks: mondays
                .iter()
                .zip(used.iter().zip(&cap))
                .map(|(m, (u, c))| WeekLoad {
                    monday: *m,
                    planned: *u,
                    capacity: *c,
                })
                .collect(),
        })
        .collect();
    labs.sort_by(|a, b| b.planned.cmp(&a.planned).then(a.lab_id.cmp(&b.lab_id)));
    Ok(Plan {
        start,
        end,
        weeks: mondays,
        items: items.len(),
        on_time,
        late,
        unplaced,
        reasons,
        planned,
        unmet,
        labs,
    })
}

/// One laboratory's share of the province's plan.
#[derive(Debug, Clone, Serialize)]
pub struct LabPlan {
    pub lab_id: i32,
    pub lab: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub load: Option<LabLoad>,
    pub planned: Vec<PlannedItem>,
    /// The laboratory's own items (it is their laboratory) whose due date is not met.
    pub unmet: Vec<PlannedItem>,
    pub may_accept: bool,
}

/// The laboratory the actor plans for: their own, or (overseeing the province) the one asked.
fn lab_of(actor: &Actor, asked: Option<i32>) -> Result<i32> {
    let p = actor.require_login()?;
    match (p, asked) {
        (_, Some(l)) if actor.oversees() => Ok(l),
        (Some(p), Some(l)) if l != p.organisation_id => Err(Error::NotFound { what: "laboratory" }),
        (Some(p), _) => Ok(p.organisation_id),
        (None, Some(l)) => Ok(l),
        (None, None) => Err(Error::field("lab", "plan.lab_required", "name the laboratory")),
    }
}

/// The plan an actor is shown when it names no laboratory or one: the whole province for
/// those who oversee it (regulator, system admin) when no laboratory is named, and a
/// laboratory's share otherwise.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum PlanFor {
    Province(Arc<Plan>),
    Lab(LabPlan),
}

/// Chooses the plan by who asks: see [`PlanFor`].
pub async fn plan_for(
    actor: &Actor,
    db: &DatabaseConnection,
    cache: &PlanCache,
    lab: Option<i32>,
    start: NaiveDate,
    weeks: u32,
) -> Result<PlanFor> {
    if lab.is_none() && actor.oversees() {
        Ok(PlanFor::Province(plan(actor, db, cache, start, weeks).await?))
    } else {
        Ok(PlanFor::Lab(lab_plan(actor, db, cache, lab, start, weeks).await?))
    }
}

pub async fn lab_plan(
    actor: &Actor,
    db: &DatabaseConnection,
    cache: &PlanCache,
    lab: Option<i32>,
    start: NaiveDate,
    weeks: u32,
) -> Result<LabPlan> {
    let lab = lab_of(actor, lab)?;
    let p = plan(actor, db, cache, start, weeks).await?;
    let name = crate::store::traceability::organisation_nodes(db, Some(&[lab]))
        .await?
        .pop()
        .map(|o| o.name_zh)
        .unwrap_or_default();
    Ok(LabPlan {
        lab_id: lab,
        lab: name,
        start: p.start,
        end: p.end,
        load: p.labs.iter().find(|l| l.lab_id == lab).cloned(),
        planned: p.planned.iter().filter(|i| i.lab_id == Some(lab)).cloned().collect(),
        // Placed here late, or its own item not placed anywhere.
        unmet: p
            .unmet
            .iter()
            .filter(|i| i.lab_id.or(i.home_lab_id) == Some(lab))
            .cloned()
            .collect(),
        may_accept: actor.may(PLANNERS) && actor.principal().is_some_and(|pr| pr.organisation_id == lab),
    })
}

/// Accepts a laboratory's share of the plan: a planned work order for each item placed
/// there that still has no open order. Returns how many were created.
pub async fn accept(
    actor: &Actor,
    db: &DatabaseConnection,
    cache: &PlanCache,
    start: NaiveDate,
    weeks: u32,
    now: DateTime<Utc>,
) -> Result<usize> {
    let p = actor.require_login()?.ok_or(Error::Forbidden)?;
    if !actor.may(PLANNERS) {
        return Err(actor.forbidden());
    }
    let lab = p.organisation_id;
    let plan = plan(actor, db, cache, start, weeks).await?;
    let mine: Vec<&PlannedItem> = plan.planned.iter().filter(|i| i.lab_id == Some(lab)).collect();
    let txn = crate::store::begin(db).await?;
    // A plan read just before another order was committed: skip what was ordered since.
    let open: rustc_hash::FxHashSet<(String, i32)> = crate::store::work_orders::open_items_of(&txn, lab)
        .await?
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    for i in &mine {
        if open.contains(&(i.item_kind.clone(), i.item_id)) {
            continue;
        }
        rows.push(work_order::ActiveModel {
            lab_id: Set(lab),
            item_kind: Set(i.item_kind.clone()),
            item_id: Set(i.item_id),
            owner_id: Set(i.owner_id),
            category_code: Set(i.category_code.clone()),
            label: Set(i.label.clone()),
            due_on: Set(i.due_on),
            planned_on: Set(i.planned_on.expect("placed")),
            status: Set(crate::domain::work_orders::WorkOrderStatus::Planned.as_str().into()),
            note: Set(String::new()),
            created_by: Set(Some(p.user_id)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    let created = crate::store::work_orders::insert_work_orders(&txn, rows).await?;
    for w in &created {
        super::work_orders::audit_created(&txn, actor, now, w, "plan").await?;
    }
    txn.commit().await?;
    Ok(created.len())
}

// ---------------------------------------------------------------- capacity and holidays

#[derive(Debug, Clone, Serialize)]
pub struct CapacityRow {
    pub category_code: String,
    pub per_week: i32,
    /// Set by the laboratory (else the default from its standards).
    pub explicit: bool,
    pub standards: i64,
}

/// A laboratory holiday as the capacity page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holiday {
    pub id: i32,
    pub lab_id: Option<i32>,
    pub on_date: NaiveDate,
    pub name: String,
}

impl From<holiday::Model> for Holiday {
    fn from(m: holiday::Model) -> Self {
        Self {
            id: m.id,
            lab_id: m.lab_id,
            on_date: m.on_date,
            name: m.name,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CapacityView {
    pub lab_id: i32,
    pub rows: Vec<CapacityRow>,
    pub holidays: Vec<Holiday>,
    pub may_edit: bool,
    pub may_edit_public: bool,
    pub per_standard: u32,
}

/// A laboratory's capacity per category (its own figures and the defaults) and its
/// holidays from `today` on.
pub async fn capacity(
    actor: &Actor,
    db: &DatabaseConnection,
    lab: Option<i32>,
    today: NaiveDate,
) -> Result<CapacityView> {
    if !actor.reads_as(READERS) {
        return Err(actor.forbidden());
    }
    let lab = lab_of(actor, lab)?;
    let (accredited, explicit, holidays) = tokio::try_join!(
        q::accredited(db, today),
        q::capacities(db, Some(lab)),
        q::holidays(db, Some(lab), today, today + chrono::Duration::days(400)),
    )?;
    let mut rows: Vec<CapacityRow> = explicit
        .iter()
        .map(|c| CapacityRow {
            category_code: c.category_code.clone(),
            per_week: c.per_week,
            explicit: true,
            standards: accredited
                .iter()
                .find(|a| a.0 == lab && a.1 == c.category_code)
                .map_or(0, |a| a.2),
        })
        .collect();
    for (l, cat, n) in accredited.iter().filter(|a| a.0 == lab) {
        let _ = l;
        if !rows.iter().any(|r| &r.category_code == cat) {
            rows.push(CapacityRow {
                category_code: cat.clone(),
                per_week: (*n as i32).saturating_mul(DEFAULT_PER_STANDARD as i32),
                explicit: false,
                standards: *n,
            });
        }
    }
    rows.sort_by(|a, b| a.category_code.cmp(&b.category_code));
    Ok(CapacityView {
        lab_id: lab,
        rows,
        holidays: holidays.into_iter().map(Into::into).collect(),
        may_edit: actor.may(PLANNERS) && actor.principal().is_some_and(|p| p.organisation_id == lab),
        may_edit_public: actor.may(&[Role::SystemAdmin, Role::Regulator]),
        per_standard: DEFAULT_PER_STANDARD,
    })
}

/// Sets (or, with an empty figure, removes) the actor's laboratory's weekly capacity in
/// a category ('*' for every category without its own figure). Audited.
pub async fn save_capacity(
    actor: &Actor,
    db: &DatabaseConnection,
    category: &str,
    per_week: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let p = actor.require_login()?.ok_or(Error::Forbidden)?;
    if !actor.may(PLANNERS) {
        return Err(actor.forbidden());
    }
    let mut errors = Vec::new();
    let category = category.trim();
    let category = if category == "*" {
        "*".to_owned()
    } else {
        match validate_jjf1022("category_code", category) {
            Ok(c) => c.as_str().to_owned(),
            Err(e) => {
                errors.push(e);
                String::new()
            }
        }
    };
    let per_week = per_week.trim();
    let figure = if per_week.is_empty() {
        None
    } else {
        match per_week.parse::<u32>() {
            Ok(v) if v <= MAX_PER_WEEK => Some(v),
            _ => {
                errors.push(crate::domain::Error::new(
                    "per_week",
                    "capacity.out_of_range",
                    format!("a whole number from 0 to {MAX_PER_WEEK}, or empty to use the default"),
                ));
                None
            }
        }
    };
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let txn = crate::store::begin(db).await?;
    let old = q::capacities(&txn, Some(p.organisation_id))
        .await?
        .into_iter()
        .find(|c| c.category_code == category)
        .map(|c| c.per_week.to_string());
    match figure {
        Some(v) => {
            q::save_capacity(&txn, p.organisation_id, &category, v as i32, Some(p.user_id), now).await?;
        }
        None => {
            q::delete_capacity(&txn, p.organisation_id, &category).await?;
        }
    }
    let mut changes = super::audit::Changes::new();
    changes.set(
        "per_week",
        old.map(serde_json::Value::from).unwrap_or_default(),
        figure.map(serde_json::Value::from).unwrap_or_default(),
    );
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "lab_capacity.update",
            entity_type: "organisation",
            entity_id: format!("{}/{category}", p.organisation_id),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Adds a holiday: the actor's laboratory's own, or (`public`, the regulator or system
/// admin) one for every laboratory. Audited.
pub async fn add_holiday(
    actor: &Actor,
    db: &DatabaseConnection,
    on: &str,
    name: &str,
    public: bool,
    now: DateTime<Utc>,
) -> Result<i32> {
    let p = actor.require_login()?;
    let lab = if public {
        if !actor.may(&[Role::SystemAdmin, Role::Regulator]) {
            return Err(actor.forbidden());
        }
        None
    } else {
        if !actor.may(PLANNERS) {
            return Err(actor.forbidden());
        }
        Some(p.ok_or(Error::Forbidden)?.organisation_id)
    };
    let mut errors = Vec::new();
    let day = crate::domain::register::parse_date("on_date", on)
        .map_err(|e| errors.push(e))
        .ok();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(crate::domain::Error::new(
            "name",
            "field.required",
            "name the holiday (at most 100 characters)",
        ));
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let day = day.expect("checked");
    let txn = crate::store::begin(db).await?;
    let h = q::insert_holiday(
        &txn,
        holiday::ActiveModel {
            lab_id: Set(lab),
            on_date: Set(day),
            name: Set(name.to_owned()),
            ..Default::default()
        },
    )
    .await?;
    let mut changes = super::audit::Changes::new();
    changes.note("on_date", day.to_string().into());
    changes.note("name", name.into());
    changes.note("lab_id", lab.into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "holiday.create",
            entity_type: "holiday",
            entity_id: h.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(h.id)
}

pub async fn remove_holiday(actor: &Actor, db: &DatabaseConnection, id: i32, now: DateTime<Utc>) -> Result<()> {
    let p = actor.require_login()?;
    let txn = crate::store::begin(db).await?;
    let h = q::holiday_by_id(&txn, id)
        .await?
        .ok_or(Error::NotFound { what: "holiday" })?;
    match h.lab_id {
        None if actor.may(&[Role::SystemAdmin, Role::Regulator]) => {}
        Some(l) if actor.may(PLANNERS) && p.is_none_or(|p| p.organisation_id == l) => {}
        Some(l) if !actor.sees_organisation(l) => return Err(Error::NotFound { what: "holiday" }),
        _ => return Err(actor.forbidden()),
    }
    q::delete_holiday(&txn, id).await?;
    let mut changes = super::audit::Changes::new();
    changes.note("on_date", h.on_date.to_string().into());
    changes.note("name", h.name.clone().into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "holiday.delete",
            entity_type: "holiday",
            entity_id: id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
