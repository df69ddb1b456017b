//! Calendar feeds: an organisation's due dates as iCalendar at a secret address.

use super::recall::{recall, RecallQuery};
use crate::domain::accounts::Role;
use crate::domain::schedule::DueStatus;
use crate::service::{Actor, Error, Result};
use crate::store::schedule::{self as q};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Serialize;

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
    let token = crate::service::random_hex(32);
    let txn = crate::store::begin(db).await?;
    let f = q::insert_feed(
        &txn,
        crate::store::entities::calendar_feed::ActiveModel {
            organisation_id: Set(p.organisation_id),
            token_hash: Set(crate::service::accounts::sha256_hex(&token)),
            label: Set(label.to_owned()),
            created_by: Set(Some(p.user_id)),
            created_at: Set(now),
            revoked_at: Set(None),
            ..Default::default()
        },
    )
    .await?;
    let mut changes = crate::service::audit::Changes::new();
    changes.note("label", f.label.clone().into());
    changes.note("organisation_id", p.organisation_id.into());
    crate::service::audit::record(
        &txn,
        actor,
        now,
        crate::service::audit::Entry {
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
    let mut changes = crate::service::audit::Changes::new();
    changes.set("revoked_at", serde_json::Value::Null, now.to_rfc3339().into());
    crate::service::audit::record(
        &txn,
        actor,
        now,
        crate::service::audit::Entry {
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
    let f = q::live_feed_by_hash(db, &crate::service::accounts::sha256_hex(token.trim()))
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
