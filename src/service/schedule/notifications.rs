//! A user's notifications of what falls due, and marking one read.

use crate::service::{Actor, Error, Result};
use crate::store::schedule::{self as q};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct NotificationList {
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

pub async fn notifications(actor: &Actor, db: &DatabaseConnection) -> Result<NotificationList> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    Ok(NotificationList {
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
