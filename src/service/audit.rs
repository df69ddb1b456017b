//! The audit trail: who did what, when, to which record, with the old and new values.
//!
//! Every service that changes state calls [`record`] inside its own transaction, so an
//! event exists exactly when the change does. Events are chained by SHA-256
//! ([`crate::domain::audit`]); [`verify`] walks the chain.

use super::{Actor, Error, Result, Who};
use crate::domain::audit::{truncate_to_micros, Break, Event, Head, Verifier};
use crate::store::audit::{self as q, AuditQuery};
use crate::store::entities::audit_event;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The changed fields of a record: `{field: [old, new]}`; `null` where there was
/// no old value (a creation) or is no new one.
#[derive(Debug, Default, Clone)]
pub struct Changes(Map<String, Value>);

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every field that differs between two snapshots of a record.
    pub fn diff(old: &BTreeMap<&str, String>, new: &BTreeMap<&str, String>) -> Self {
        let mut c = Changes::new();
        for (k, v) in new {
            match old.get(k) {
                Some(o) if o == v => {}
                o => {
                    c.set(k, o.map(|o| json!(o)).unwrap_or(Value::Null), json!(v));
                }
            }
        }
        for (k, o) in old {
            if !new.contains_key(k) {
                c.set(k, json!(o), Value::Null);
            }
        }
        c
    }

    /// A record as created: every field from nothing.
    pub fn created(new: &BTreeMap<&str, String>) -> Self {
        Self::diff(&BTreeMap::new(), new)
    }

    pub fn set(&mut self, field: &str, old: Value, new: Value) -> &mut Self {
        self.0.insert(field.to_owned(), json!([old, new]));
        self
    }

    /// A fact about the action that is not a field of a record (counts, a digest).
    pub fn note(&mut self, field: &str, value: Value) -> &mut Self {
        self.set(field, Value::Null, value)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What is being recorded.
pub struct Entry<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub changes: Changes,
}

/// Appends an event to the chain, inside the caller's transaction.
pub async fn record<C: ConnectionTrait>(db: &C, actor: &Actor, now: DateTime<Utc>, entry: Entry<'_>) -> Result<i64> {
    let (user_id, org_id) = match &actor.who {
        Who::User(p) => (Some(p.user_id), Some(p.organisation_id)),
        _ => (None, None),
    };
    append(db, user_id, actor.label(), org_id, &actor.request_id, now, entry).await
}

/// Appends an event for an actor not (yet) known by a session: a login attempt.
pub async fn record_for_user<C: ConnectionTrait>(
    db: &C,
    user: Option<(i32, &str, i32)>,
    request_id: &str,
    now: DateTime<Utc>,
    entry: Entry<'_>,
) -> Result<i64> {
    let (id, label, org) = match user {
        Some((id, email, org)) => (Some(id), email.to_owned(), Some(org)),
        None => (None, "anonymous".to_owned(), None),
    };
    append(db, id, label, org, request_id, now, entry).await
}

/// What is audited under these entity types does not change the public register's
/// pages; anything else (standards, organisations, imports, and kinds added later)
/// advances the register's change counter, and so makes its cached pages stale on every
/// app instance.
const OUTSIDE_REGISTER: &[&str] = &[
    "api_token",
    "calendar_feed",
    "calibration_record",
    "certificate",
    "holiday",
    "interval_proposal",
    "schedule",
    "uncertainty_budget",
    "user",
    "work_order",
];

/// What the calibration plan does not depend on; everything else (work orders,
/// capacities, holidays, the daily run, records and certificates that complete work
/// orders, the register itself) advances the plan's counter.
const OUTSIDE_PLAN: &[&str] = &["api_token", "calendar_feed", "uncertainty_budget", "user"];

async fn append<C: ConnectionTrait>(
    db: &C,
    actor_user_id: Option<i32>,
    actor: String,
    organisation_id: Option<i32>,
    request_id: &str,
    now: DateTime<Utc>,
    entry: Entry<'_>,
) -> Result<i64> {
    // The head first: it serialises every audited transaction until commit, so the
    // counters' rows below are only ever locked by one of them at a time (taken the
    // other way round, two writers locked the two rows in opposite orders and deadlocked).
    let (seq, prev_hash) = q::advance_head(db).await?;
    // The caches keyed by these counters see the change once this transaction commits.
    let mut views = Vec::with_capacity(2);
    if !OUTSIDE_REGISTER.contains(&entry.entity_type) {
        views.push(crate::store::changes::REGISTER);
    }
    if !OUTSIDE_PLAN.contains(&entry.entity_type) {
        views.push(crate::store::changes::PLAN);
    }
    crate::store::changes::advance(db, &views).await?;
    let event = Event {
        seq,
        occurred_at: truncate_to_micros(now),
        actor_user_id,
        actor,
        organisation_id,
        action: entry.action.to_owned(),
        entity_type: entry.entity_type.to_owned(),
        entity_id: entry.entity_id,
        changes: Value::Object(entry.changes.0).to_string(),
        request_id: request_id.to_owned(),
        prev_hash,
    };
    let hash = event.hash();
    q::insert_event(db, row_of(event, hash)).await?;
    Ok(seq)
}

fn row_of(e: Event, hash: String) -> audit_event::Model {
    audit_event::Model {
        seq: e.seq,
        occurred_at: e.occurred_at,
        actor_user_id: e.actor_user_id,
        actor: e.actor,
        organisation_id: e.organisation_id,
        action: e.action,
        entity_type: e.entity_type,
        entity_id: e.entity_id,
        changes: e.changes,
        request_id: e.request_id,
        prev_hash: e.prev_hash,
        hash,
    }
}

fn event_of(m: &audit_event::Model) -> Event {
    Event {
        seq: m.seq,
        occurred_at: m.occurred_at,
        actor_user_id: m.actor_user_id,
        actor: m.actor.clone(),
        organisation_id: m.organisation_id,
        action: m.action.clone(),
        entity_type: m.entity_type.clone(),
        entity_id: m.entity_id.clone(),
        changes: m.changes.clone(),
        request_id: m.request_id.clone(),
        prev_hash: m.prev_hash.clone(),
    }
}

/// The result of walking the chain.
#[derive(Debug)]
pub struct Verification {
    pub checked: u64,
    pub head: Head,
    /// The head the database itself records, when it disagrees with the chain.
    pub stored_head_mismatch: Option<Head>,
}

/// Walks the whole chain in pages and reports the first broken link. With `head`
/// (kept outside the database), also detects events cut off the end; without it, the
/// chain is compared with the head row in the database.
pub async fn verify(db: &DatabaseConnection, head: Option<&Head>) -> Result<Result<Verification, Break>> {
    let mut v = Verifier::default();
    let mut after = 0;
    loop {
        let page = q::events_after(db, after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for m in &page {
            if let Err(b) = v.push(&event_of(m), &m.hash) {
                return Ok(Err(b));
            }
        }
    }
    let stored = q::head(db).await?;
    let stored = Head {
        seq: stored.seq,
        hash: stored.hash,
    };
    match v.finish(head.or(Some(&stored))) {
        Ok((checked, chain_head)) => Ok(Ok(Verification {
            checked,
            stored_head_mismatch: (chain_head != stored).then_some(stored),
            head: chain_head,
        })),
        Err(b) => Ok(Err(b)),
    }
}

/// The head as recorded, to be printed and kept elsewhere.
pub async fn head(db: &DatabaseConnection) -> Result<Head> {
    let h = q::head(db).await?;
    Ok(Head {
        seq: h.seq,
        hash: h.hash,
    })
}

/// One event as the audit page and the history panels show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub actor_user_id: Option<i32>,
    pub organisation_id: Option<i32>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// `{field: [old, new]}`
    #[schema(value_type = Object)]
    pub changes: Value,
    pub request_id: String,
    pub hash: String,
}

fn view(m: audit_event::Model) -> EventView {
    EventView {
        changes: serde_json::from_str(&m.changes).unwrap_or(Value::Null),
        seq: m.seq,
        occurred_at: m.occurred_at,
        actor: m.actor,
        actor_user_id: m.actor_user_id,
        organisation_id: m.organisation_id,
        action: m.action,
        entity_type: m.entity_type,
        entity_id: m.entity_id,
        request_id: m.request_id,
        hash: m.hash,
    }
}

/// The history of one record, oldest first. The caller has checked that the actor may
/// see the record; the history is for staff who may see who changed it.
pub async fn history<C: ConnectionTrait>(db: &C, entity_type: &str, entity_id: i32) -> Result<Vec<EventView>> {
    Ok(q::events_of(db, entity_type, &entity_id.to_string())
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// The audit page's filters, as query parameters.
#[derive(Debug, Default, Clone, Serialize)]
pub struct AuditParams {
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub actor: String,
    pub from: String,
    pub until: String,
    pub page: u64,
    pub per_page: u64,
}

pub const AUDIT_PARAMS: &[&str] = &[
    "action",
    "entity_type",
    "entity_id",
    "actor",
    "from",
    "until",
    "page",
    "per_page",
];

impl AuditParams {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<AuditParams> {
        let mut p = AuditParams {
            page: 1,
            per_page: 50,
            ..Default::default()
        };
        let mut errors = Vec::new();
        for (k, v) in pairs {
            let v = v.trim();
            match k {
                "action" => p.action = v.to_owned(),
                "entity_type" => p.entity_type = v.to_owned(),
                "entity_id" => p.entity_id = v.to_owned(),
                "actor" => p.actor = v.to_lowercase(),
                "from" => p.from = v.to_owned(),
                "until" => p.until = v.to_owned(),
                "page" | "per_page" => match v.parse::<u64>() {
                    Ok(n)
                        if n >= 1
                            && n <= if k == "page" {
                                crate::domain::MAX_OFFSET / 200
                            } else {
                                200
                            } =>
                    {
                        if k == "page" {
                            p.page = n
                        } else {
                            p.per_page = n
                        }
                    }
                    _ => errors.push(crate::domain::Error::new(
                        k,
                        "list.page_invalid",
                        format!(
                            "{k} is a whole number from 1 to {}",
                            if k == "per_page" {
                                200
                            } else {
                                crate::domain::MAX_OFFSET / 200
                            }
                        ),
                    )),
                },
                _ => errors.push(crate::domain::Error::new(
                    k,
                    "list.unknown_parameter",
                    format!("unknown parameter; the parameters are: {}", AUDIT_PARAMS.join(", ")),
                )),
            }
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(Error::invalid(errors))
        }
    }

    /// The same filters with another page number, for the pager's links.
    pub fn query_for_page(&self, page: u64) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("action", &self.action),
            ("entity_type", &self.entity_type),
            ("entity_id", &self.entity_id),
            ("actor", &self.actor),
            ("from", &self.from),
            ("until", &self.until),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("page", &page.to_string());
        s.finish()
    }
}

fn day_start(field: &str, text: &str, errors: &mut Vec<crate::domain::Error>) -> Option<DateTime<Utc>> {
    if text.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        // Calendar days are Asia/Shanghai days (UTC+8).
        Ok(d) => Some(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - chrono::Duration::hours(8)),
        Err(_) => {
            errors.push(crate::domain::Error::new(
                field,
                "audit.date_invalid",
                format!("{field} is a date as YYYY-MM-DD"),
            ));
            None
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub items: Vec<EventView>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub pages: u64,
}

/// The audit trail, newest first. The regulator and system admins see every event;
/// an institute admin sees the events of their own organisation's staff.
pub async fn list(actor: &Actor, db: &DatabaseConnection, p: &AuditParams) -> Result<EventPage> {
    actor.require_login()?;
    let own_org = if actor.oversees() {
        None
    } else if actor.reads_as(&[crate::domain::accounts::Role::InstituteAdmin]) {
        actor.principal().map(|p| p.organisation_id)
    } else {
        return Err(Error::Forbidden);
    };
    let mut errors = Vec::new();
    let from = day_start("from", &p.from, &mut errors);
    let until = day_start("until", &p.until, &mut errors).map(|t| t + chrono::Duration::days(1));
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let query = AuditQuery {
        action: nonempty(&p.action),
        entity_type: nonempty(&p.entity_type),
        entity_id: nonempty(&p.entity_id),
        actor: nonempty(&p.actor),
        organisation_id: own_org,
        from,
        until,
        limit: p.per_page,
        offset: (p.page - 1) * p.per_page,
    };
    let (rows, total) = q::list_events(db, &query).await?;
    Ok(EventPage {
        items: rows.into_iter().map(view).collect(),
        total,
        page: p.page,
        per_page: p.per_page,
        pages: total.div_ceil(p.per_page).max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_names_only_what_changed_with_old_and_new() {
        let old = BTreeMap::from([("status", "in_service".to_owned()), ("name_zh", "量块".to_owned())]);
        let new = BTreeMap::from([("status", "suspended".to_owned()), ("name_zh", "量块".to_owned())]);
        let c = Changes::diff(&old, &new);
        assert_eq!(Value::Object(c.0), json!({"status": ["in_service", "suspended"]}));
        let c = Changes::created(&new);
        assert_eq!(
            Value::Object(c.0),
            json!({"name_zh": [null, "量块"], "status": [null, "suspended"]})
        );
    }

    #[test]
    fn audit_dates_are_shanghai_days() {
        let mut errors = vec![];
        let t = day_start("from", "2026-11-28", &mut errors).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-27T16:00:00+00:00");
        assert!(day_start("from", "28/11/2026", &mut errors).is_none());
        assert_eq!(errors[0].field, "from");
    }
}
