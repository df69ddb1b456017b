//! A standard's assessment lifecycle (JJF 1033-2023): its certificate's renewal window,
//! its annual stability checks and repeatability tests, its logbook, what its renewal
//! package lacks, and the daily job's reminders of all of these.

use super::{Actor, Error, Result};
use crate::domain::accounts::{Role, Roles};
use crate::domain::lifecycle::{self as rules, CheckKind, CheckResult, Evidence, LimitSource, LogbookKind, Milestone};
use crate::domain::register::parse_date;
use crate::domain::units::{display_stored, parse_quantity, QuantityKind};
use crate::store::entities::{logbook_event, notification, reminder, standard_check, user};
use crate::store::lifecycle as q;
use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::FxHashMap;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use serde::Serialize;

/// Who records checks and logbook events: the owner's admins, schedulers and technicians.
const RECORDERS: &[Role] = &[Role::InstituteAdmin, Role::Scheduler, Role::Technician];
/// Who is reminded: the owner's admins and schedulers.
const REMINDED: &[Role] = &[Role::InstituteAdmin, Role::Scheduler];

#[derive(Debug, Clone, Serialize)]
pub struct CheckView {
    pub id: i32,
    pub kind: &'static str,
    pub performed_on: NaiveDate,
    pub figure: String,
    pub limit: String,
    pub limit_source: String,
    pub passed: bool,
    /// The observations as entered.
    pub data: serde_json::Value,
    /// `check.few_readings` for a repeatability test of fewer than ten readings.
    pub warning: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub id: i32,
    pub kind: &'static str,
    pub kind_zh: &'static str,
    pub kind_en: &'static str,
    pub occurred_on: NaiveDate,
    pub description: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GapView {
    pub kind: &'static str,
    pub kind_zh: &'static str,
    pub kind_en: &'static str,
    pub subject: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LifecycleView {
    pub standard_id: i32,
    pub name_zh: String,
    pub cert_no: String,
    pub owner_id: i32,
    pub quantity: String,
    pub cert_issued_on: NaiveDate,
    pub cert_expires_on: NaiveDate,
    pub renewal_opens: NaiveDate,
    /// The last day to apply for renewal: six months before expiry (JJF 1033-2023).
    pub application_deadline: NaiveDate,
    /// valid, renewal_due, application_overdue or expired, on the day asked.
    pub renewal_state: &'static str,
    /// The next reminder and its day, if any is still to come.
    pub next_reminder: Option<(&'static str, NaiveDate)>,
    pub checks: Vec<CheckView>,
    pub last_stability: Option<NaiveDate>,
    pub last_repeatability: Option<NaiveDate>,
    pub stability_overdue: bool,
    pub repeatability_overdue: bool,
    pub logbook: Vec<EventView>,
    /// What the renewal package lacks, from the certificate's issue to today (or its expiry).
    pub gaps: Vec<GapView>,
    pub may_record: bool,
    pub on: NaiveDate,
}

async fn standard_for(
    actor: &Actor,
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<crate::store::entities::standard::Model> {
    actor.require_login()?;
    crate::store::standards::standard_by_id(db, id)
        .await?
        .filter(|s| actor.sees_organisation(s.owner_id))
        .ok_or(Error::NotFound { what: "standard" })
}

fn may_record(actor: &Actor, owner: i32) -> bool {
    actor.may(RECORDERS) && actor.principal().is_none_or(|p| p.organisation_id == owner) || actor.is_system()
}

/// A standard's lifecycle on `today`, for its owner's staff and those who oversee the province.
pub async fn view(actor: &Actor, db: &DatabaseConnection, id: i32, today: NaiveDate) -> Result<LifecycleView> {
    let s = standard_for(actor, db, id).await?;
    let (checks, events, certificates) = tokio::try_join!(
        q::checks_of(db, id),
        q::logbook_of(db, id),
        q::device_certificates(db, id),
    )?;
    let kind = QuantityKind::parse(&s.quantity);
    let show = |si: f64, unit: &str| match kind {
        Some(k) => display_stored(k.difference_kind().as_str(), si, unit),
        None => format!("{si}"),
    };
    let latest = |k: CheckKind| {
        checks
            .iter()
            .filter(|c| c.kind == k.as_str())
            .map(|c| c.performed_on)
            .max()
    };
    let (last_stability, last_repeatability) = (latest(CheckKind::Stability), latest(CheckKind::Repeatability));
    // The assessment itself is the first evidence: a check falls due a year after the issue.
    let baseline = |last: Option<NaiveDate>| last.max(Some(s.cert_issued_on));
    let until = today.min(s.cert_expires_on);
    let mut devices: Vec<(String, Vec<(NaiveDate, NaiveDate)>)> = Vec::new();
    let mut index: FxHashMap<i32, usize> = FxHashMap::default();
    for (device, label, cert) in certificates {
        let i = *index.entry(device).or_insert_with(|| {
            devices.push((label, Vec::new()));
            devices.len() - 1
        });
        devices[i].1.extend(cert);
    }
    let stability_days: Vec<NaiveDate> = checks
        .iter()
        .filter(|c| c.kind == "stability")
        .map(|c| c.performed_on)
        .collect();
    let repeatability_days: Vec<NaiveDate> = checks
        .iter()
        .filter(|c| c.kind == "repeatability")
        .map(|c| c.performed_on)
        .collect();
    let gaps = rules::renewal_gaps(&Evidence {
        issued: s.cert_issued_on,
        until,
        devices: &devices,
        stability: &stability_days,
        repeatability: &repeatability_days,
    })
    .into_iter()
    .map(|g| GapView {
        kind: g.kind.as_str(),
        kind_zh: g.kind.name_zh(),
        kind_en: g.kind.name_en(),
        days: (g.to - g.from).num_days() + 1,
        subject: g.subject,
        from: g.from,
        to: g.to,
    })
    .collect();
    let next_reminder = Milestone::ALL
        .iter()
        .map(|m| (m.as_str(), m.date(s.cert_expires_on)))
        .find(|(_, d)| *d > today);
    let state = rules::renewal_state(s.cert_expires_on, today);
    Ok(LifecycleView {
        standard_id: s.id,
        name_zh: s.name_zh.clone(),
        cert_no: s.cert_no.clone(),
        owner_id: s.owner_id,
        quantity: s.quantity.clone(),
        cert_issued_on: s.cert_issued_on,
        cert_expires_on: s.cert_expires_on,
        renewal_opens: rules::renewal_opens(s.cert_expires_on),
        application_deadline: rules::application_deadline(s.cert_expires_on),
        renewal_state: state.as_str(),
        next_reminder,
        checks: checks
            .into_iter()
            .map(|c| CheckView {
                warning: warning_of(&c),
                id: c.id,
                kind: CheckKind::parse(&c.kind).map_or("", |k| k.as_str()),
                performed_on: c.performed_on,
                figure: show(c.figure_si, &c.unit),
                limit: show(c.limit_si, &c.unit),
                limit_source: c.limit_source,
                passed: c.passed,
                data: serde_json::from_str(&c.data).unwrap_or_default(),
            })
            .collect(),
        last_stability,
        last_repeatability,
        stability_overdue: rules::check_overdue(baseline(last_stability), today),
        repeatability_overdue: rules::check_overdue(baseline(last_repeatability), today),
        logbook: events
            .into_iter()
            .map(|e| {
                let k = LogbookKind::parse(&e.kind);
                EventView {
                    id: e.id,
                    kind: k.map_or("", |k| k.as_str()),
                    kind_zh: k.map_or("", |k| k.name_zh()),
                    kind_en: k.map_or("", |k| k.name_en()),
                    occurred_on: e.occurred_on,
                    description: e.description,
                    recorded_at: e.recorded_at,
                }
            })
            .collect(),
        gaps,
        may_record: may_record(actor, s.owner_id),
        on: today,
    })
}

/// A check as typed: every field is text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckInput {
    /// stability or repeatability
    pub kind: String,
    pub performed_on: String,
    /// The unit of the values, of the standard's kind of quantity.
    pub unit: String,
    /// Stability: one group mean per line, "YYYY-MM-DD value"; repeatability: the
    /// readings, separated by spaces, commas or lines.
    pub values: String,
    /// Stability of an established standard: last year's mean (empty for a new standard).
    pub previous: String,
    /// The limit with its unit ("0.002 mm").
    pub limit: String,
    /// Stability: mpe or u. Repeatability: the repeatability component of the budget.
    pub limit_source: String,
}

impl crate::domain::TextFields for CheckInput {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "kind" => &mut self.kind,
            "performed_on" => &mut self.performed_on,
            "unit" => &mut self.unit,
            "values" => &mut self.values,
            "previous" => &mut self.previous,
            "limit" => &mut self.limit,
            "limit_source" => &mut self.limit_source,
            _ => return None,
        })
    }
}

impl CheckInput {
    pub const FIELDS: &'static [&'static str] = &[
        "kind",
        "performed_on",
        "unit",
        "values",
        "previous",
        "limit",
        "limit_source",
    ];
}

fn number(field: &str, text: &str) -> std::result::Result<f64, crate::domain::Error> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            crate::domain::Error::new(
                field,
                "check.value_invalid",
                format!("'{}' is not a number", text.trim()),
            )
        })
}

/// Records a stability check or repeatability test with its verdict, and audits it.
/// The warning a recorded check carries (`domain::lifecycle::check_warning`).
pub fn warning_of(c: &standard_check::Model) -> Option<&'static str> {
    let n = serde_json::from_str::<serde_json::Value>(&c.data)
        .ok()
        .and_then(|d| d["n"].as_u64())
        .unwrap_or(0) as usize;
    rules::check_warning(CheckKind::parse(&c.kind)?, n)
}

pub async fn record_check(
    actor: &Actor,
    db: &DatabaseConnection,
    standard_id: i32,
    input: &CheckInput,
    now: DateTime<Utc>,
) -> Result<standard_check::Model> {
    let s = standard_for(actor, db, standard_id).await?;
    if !may_record(actor, s.owner_id) {
        return Err(actor.forbidden());
    }
    let mut errors = Vec::new();
    let kind = CheckKind::parse(&input.kind);
    if kind.is_none() {
        errors.push(crate::domain::Error::new(
            "kind",
            "check.kind_invalid",
            format!("one of: {}", CheckKind::choices()),
        ));
    }
    let performed_on = parse_date("performed_on", &input.performed_on)
        .map_err(|e| errors.push(e))
        .ok();
    let qkind = QuantityKind::parse(&s.quantity);
    let unit = qkind.and_then(|k| k.unit(&input.unit));
    if unit.is_none() {
        errors.push(crate::domain::Error::new(
            "unit",
            "check.unit_invalid",
            match qkind {
                Some(k) => format!("a unit of {} (e.g. {})", k.name_en(), k.si_symbol()),
                None => "the standard has no kind of quantity".to_owned(),
            },
        ));
    }
    let limit = qkind.and_then(|k| {
        parse_quantity("limit", &input.limit, k.difference_kind())
            .map_err(|e| errors.push(e))
            .ok()
    });
    if performed_on.is_some_and(|d| d > now.date_naive() + chrono::Duration::days(1)) {
        errors.push(crate::domain::Error::new(
            "performed_on",
            "check.in_future",
            "a check cannot be recorded before it is done",
        ));
    }
    let source = input.limit_source.trim();
    match kind {
        Some(CheckKind::Stability) if LimitSource::parse(source).is_none() => errors.push(crate::domain::Error::new(
            "limit_source",
            "check.limit_source_invalid",
            "mpe (|MPE|, used at its nominal value) or u (U of the correction, used corrected)",
        )),
        _ => {}
    }
    // The observations, in the unit given.
    let mut means: Vec<(NaiveDate, f64)> = Vec::new();
    let mut readings: Vec<f64> = Vec::new();
    let previous = match input.previous.trim() {
        "" => None,
        p => number("previous", p).map_err(|e| errors.push(e)).ok(),
    };
    match kind {
        Some(CheckKind::Stability) => {
            for line in input.values.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let mut parts = line.split_whitespace();
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(d), Some(v), None) => match (parse_date("values", d), number("values", v)) {
                        (Ok(d), Ok(v)) => means.push((d, v)),
                        (Err(e), _) | (_, Err(e)) => errors.push(e),
                    },
                    // An established standard's one mean, on the day of the check.
                    (Some(v), None, None) if previous.is_some() => match (number("values", v), performed_on) {
                        (Ok(v), Some(d)) => means.push((d, v)),
                        (Err(e), _) => errors.push(e),
                        _ => {}
                    },
                    _ => errors.push(crate::domain::Error::new(
                        "values",
                        "check.line_invalid",
                        format!("'{line}': write one group mean per line as YYYY-MM-DD value"),
                    )),
                }
            }
        }
        Some(CheckKind::Repeatability) => {
            for v in input
                .values
                .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == ';')
            {
                if !v.is_empty() {
                    match number("values", v) {
                        Ok(v) => readings.push(v),
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        None => {}
    }
    if !errors.is_empty() {
        errors.dedup_by(|a, b| a.field == b.field && a.code == b.code);
        return Err(Error::invalid(errors));
    }
    let (kind, performed_on, unit, limit) = (
        kind.expect("checked"),
        performed_on.expect("checked"),
        unit.expect("checked"),
        limit.expect("checked"),
    );
    // In SI: differences and standard deviations of absolute values convert by the scale
    // alone, the offset (°C) cancels.
    let si_means: Vec<(NaiveDate, f64)> = means.iter().map(|(d, v)| (*d, unit.to_si(*v))).collect();
    let si_previous = previous.map(|p| unit.to_si(p));
    let si_readings: Vec<f64> = readings.iter().map(|v| unit.to_si(*v)).collect();
    let result: CheckResult = match kind {
        CheckKind::Stability => rules::stability(&si_means, si_previous, limit.si),
        CheckKind::Repeatability => rules::repeatability(&si_readings, limit.si),
    }
    .map_err(|e| Error::invalid(vec![e]))?;
    let data = match kind {
        CheckKind::Stability => serde_json::json!({
            "means": means.iter().map(|(d, v)| (d.to_string(), *v)).collect::<Vec<_>>(),
            "previous": previous, "unit": unit.symbol, "limit": limit.display(),
        }),
        CheckKind::Repeatability => serde_json::json!({
            "readings": readings, "n": readings.len(), "unit": unit.symbol, "limit": limit.display(),
        }),
    };
    let limit_source = match kind {
        CheckKind::Stability => LimitSource::parse(source).expect("checked").as_str().to_owned(),
        CheckKind::Repeatability => "budget".to_owned(),
    };
    let txn = crate::store::begin(db).await?;
    let row = q::insert_check(
        &txn,
        standard_check::ActiveModel {
            standard_id: Set(standard_id),
            kind: Set(kind.as_str().to_owned()),
            performed_on: Set(performed_on),
            unit: Set(unit.symbol.to_owned()),
            data: Set(data.to_string()),
            figure_si: Set(result.figure),
            limit_si: Set(result.limit),
            limit_source: Set(limit_source),
            passed: Set(result.passed),
            recorded_by: Set(actor.principal().map(|p| p.user_id)),
            recorded_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    let mut changes = super::audit::Changes::new();
    changes.note("kind", kind.as_str().into());
    changes.note("performed_on", performed_on.to_string().into());
    changes.note("data", data);
    changes.note("figure_si", result.figure.into());
    changes.note("limit_si", result.limit.into());
    changes.note("passed", result.passed.into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "standard_check.create",
            entity_type: "standard",
            entity_id: standard_id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Records a change in the standard's logbook, and audits it.
pub async fn record_event(
    actor: &Actor,
    db: &DatabaseConnection,
    standard_id: i32,
    kind: &str,
    occurred_on: &str,
    description: &str,
    now: DateTime<Utc>,
) -> Result<logbook_event::Model> {
    let s = standard_for(actor, db, standard_id).await?;
    if !may_record(actor, s.owner_id) {
        return Err(actor.forbidden());
    }
    let mut errors = Vec::new();
    let k = LogbookKind::parse(kind);
    if k.is_none() {
        errors.push(crate::domain::Error::new(
            "kind",
            "logbook.kind_invalid",
            format!("one of: {}", LogbookKind::choices()),
        ));
    }
    let on = parse_date("occurred_on", occurred_on).map_err(|e| errors.push(e)).ok();
    let description = description.trim();
    if description.is_empty() || description.chars().count() > 2000 {
        errors.push(crate::domain::Error::new(
            "description",
            "logbook.description_required",
            "describe the change (at most 2000 characters)",
        ));
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let (k, on) = (k.expect("checked"), on.expect("checked"));
    let txn = crate::store::begin(db).await?;
    let e = q::insert_event(
        &txn,
        logbook_event::ActiveModel {
            standard_id: Set(standard_id),
            kind: Set(k.as_str().to_owned()),
            occurred_on: Set(on),
            description: Set(description.to_owned()),
            recorded_by: Set(actor.principal().map(|p| p.user_id)),
            recorded_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    let mut changes = super::audit::Changes::new();
    changes.note("kind", k.as_str().into());
    changes.note("occurred_on", on.to_string().into());
    changes.note("description", description.into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "logbook.create",
            entity_type: "standard",
            entity_id: standard_id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(e)
}

/// What the daily job reminded of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReminderSummary {
    /// Certificates reaching 6, 3 or 1 month before expiry, or expired, for the first time.
    pub renewal: usize,
    /// Standards whose stability check or repeatability test became overdue.
    pub checks_overdue: usize,
}

/// The daily job's reminders: each certificate's renewal milestones and each standard's
/// overdue checks, once each (kept in `reminders`), as one notification per user and
/// kind that day to the owner's admins and schedulers.
pub(crate) async fn remind<C: ConnectionTrait>(
    db: &C,
    standards: &[crate::store::schedule::StandardRow],
    users: &[user::Model],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(ReminderSummary, Vec<notification::ActiveModel>)> {
    let (sent, latest) = (q::sent_reminders(db).await?, q::latest_checks(db).await?);
    let mut last: FxHashMap<(i32, &str), NaiveDate> = FxHashMap::default();
    for (id, kind, on) in &latest {
        last.insert((*id, kind.as_str()), *on);
    }
    let mut new: Vec<reminder::ActiveModel> = Vec::new();
    // Per owner: the standards newly reminded, per kind of notification.
    let mut renewal: FxHashMap<i32, Vec<(&crate::store::schedule::StandardRow, Milestone)>> = FxHashMap::default();
    let mut overdue: FxHashMap<i32, Vec<(&crate::store::schedule::StandardRow, CheckKind)>> = FxHashMap::default();
    let mut summary = ReminderSummary::default();
    let mut remember = |id: i32, milestone: String| -> bool {
        if sent.contains(&("standard".to_owned(), id, milestone.clone())) {
            return false;
        }
        new.push(reminder::ActiveModel {
            subject_kind: Set("standard".into()),
            subject_id: Set(id),
            milestone: Set(milestone),
            sent_on: Set(today),
            ..Default::default()
        });
        true
    };
    for s in standards
        .iter()
        .filter(|s| matches!(s.status.as_str(), "in_service" | "suspended"))
    {
        if let Some(m) = rules::reminder_due(s.cert_expires_on, today) {
            if remember(s.id, format!("renewal:{}:{}", s.cert_expires_on, m.as_str())) {
                renewal.entry(s.owner_id).or_default().push((s, m));
                summary.renewal += 1;
            }
        }
        if s.cert_expires_on < today || s.status != "in_service" {
            continue;
        }
        for k in CheckKind::ALL {
            let base = last.get(&(s.id, k.as_str())).copied().max(Some(s.cert_issued_on));
            if rules::check_overdue(base, today)
                && remember(
                    s.id,
                    format!(
                        "{}_overdue:{}",
                        k.as_str(),
                        base.map(|d| d.to_string()).unwrap_or_default()
                    ),
                )
            {
                overdue.entry(s.owner_id).or_default().push((s, *k));
                summary.checks_overdue += 1;
            }
        }
    }
    q::insert_reminders(db, new).await?;
    let mut rows = Vec::new();
    for u in users.iter().filter(|u| u.disabled_at.is_none()) {
        let roles = Roles::parse("roles", &u.roles).unwrap_or_default();
        if !REMINDED.iter().any(|r| roles.has(*r)) {
            continue;
        }
        if let Some(list) = renewal.get(&u.organisation_id) {
            let names: Vec<String> = list
                .iter()
                .take(5)
                .map(|(s, m)| format!("{} {}（{}，{}）", s.name_zh, s.cert_no, m.name_zh(), s.cert_expires_on))
                .collect();
            rows.push(note(
                u.id,
                "renewal",
                today,
                now,
                format!("{} 个计量标准考核证书需办理复查", list.len()),
                format!(
                    "{today}: {} assessment certificate(s) reached a renewal milestone (window opens 6 months before expiry). {}{}",
                    list.len(),
                    names.join("；"),
                    if list.len() > 5 { " …" } else { "" }
                ),
                link(list.iter().map(|(s, _)| s.id)),
            ));
        }
        if let Some(list) = overdue.get(&u.organisation_id) {
            let names: Vec<String> = list
                .iter()
                .take(5)
                .map(|(s, k)| format!("{} {}（{}）", s.name_zh, s.cert_no, k.name_zh()))
                .collect();
            rows.push(note(
                u.id,
                "checks_overdue",
                today,
                now,
                format!("{} 项稳定性考核/重复性试验已超过 12 个月", list.len()),
                format!(
                    "{today}: {} stability check(s) or repeatability test(s) not done in the last 12 months. {}{}",
                    list.len(),
                    names.join("；"),
                    if list.len() > 5 { " …" } else { "" }
                ),
                link(list.iter().map(|(s, _)| s.id)),
            ));
        }
    }
    Ok((summary, rows))
}

fn link(mut ids: impl Iterator<Item = i32>) -> String {
    match (ids.next(), ids.next()) {
        (Some(one), None) => format!("/standards/{one}/lifecycle"),
        _ => "/standards".to_owned(),
    }
}

fn note(
    user: i32,
    kind: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
    title: String,
    body: String,
    link: String,
) -> notification::ActiveModel {
    notification::ActiveModel {
        user_id: Set(user),
        kind: Set(kind.to_owned()),
        on_date: Set(today),
        title: Set(title),
        body: Set(body),
        link: Set(link),
        created_at: Set(now),
        read_at: Set(None),
        emailed_at: Set(None),
        ..Default::default()
    }
}

/// The default last valid day of an assessment certificate issued on `issued` by the
/// owner's rule (issue date + years − 1 day).
pub async fn default_expiry(db: &impl ConnectionTrait, owner: i32, issued: NaiveDate) -> Result<NaiveDate> {
    let years = crate::store::schedule::settings_of(db, owner)
        .await?
        .map(|s| s.assessment_validity_years.clamp(1, rules::MAX_VALIDITY_YEARS as i32) as u32)
        .unwrap_or(rules::DEFAULT_VALIDITY_YEARS);
    Ok(rules::certificate_expiry(issued, years))
}
