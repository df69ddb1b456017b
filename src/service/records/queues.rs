//! What waits for each person: the records a reviewer may review, those an approver may
//! approve, and the records returned to the technicians, the longest waiting first. Shown
//! on the home page and with the notifications.

use super::roles_of;
use crate::domain::records::workflow::{self, History, Mover, RecordAction, RecordStatus};
use crate::service::{Actor, Result};
use crate::store::records as q;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// How many records a queue shows; the oldest come first.
const SHOWN: usize = 50;
/// How many waiting records are looked at to fill a queue (some may not be the reader's
/// to sign, having taken part in an earlier step).
const LOOKED_AT: u64 = 200;

/// One record waiting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    pub record_id: i32,
    pub work_order_id: i32,
    /// The item as the work order names it.
    pub label: String,
    pub status: String,
    /// Since when it waits (its last move).
    pub waiting_since: DateTime<Utc>,
    /// Why it was returned, for a returned record.
    pub reason: Option<String>,
}

/// The reader's queues; each empty when the reader holds no role for it.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Queue {
    /// Recorded, waiting for the reader's review (核验).
    pub to_review: Vec<QueueItem>,
    /// Reviewed, waiting for the reader's approval (批准).
    pub to_approve: Vec<QueueItem>,
    /// Returned to the technicians, to correct and sign again.
    pub returned: Vec<QueueItem>,
}

impl Queue {
    pub fn total(&self) -> usize {
        self.to_review.len() + self.to_approve.len() + self.returned.len()
    }
}

/// The queues of the signed-in member of a laboratory; empty for anyone else.
pub async fn queues(actor: &Actor, db: &impl sea_orm::ConnectionTrait) -> Result<Queue> {
    let Some(p) = actor.principal() else {
        return Ok(Queue::default());
    };
    let roles = roles_of(actor);
    let who = Mover {
        user: Some(p.user_id),
        roles: &roles,
    };
    let lab = p.organisation_id;
    let mut out = Queue::default();
    for (state, action) in [
        (RecordStatus::Recorded, RecordAction::Review),
        (RecordStatus::Reviewed, RecordAction::Approve),
        (RecordStatus::Draft, RecordAction::SignPerformed),
    ] {
        if !workflow::roles_for(state, action).iter().any(|r| roles.contains(r)) {
            continue;
        }
        let mut waiting = q::waiting_in(db, lab, &[state.as_str()], LOOKED_AT).await?;
        if state == RecordStatus::Draft {
            // Only the returned drafts: a new draft is on the technician's work-order list.
            waiting.retain(|(r, _)| r.status_reason.is_some());
        }
        let histories = histories(db, &waiting).await?;
        let items = waiting
            .into_iter()
            .filter(|(r, _)| {
                let h = histories.get(&r.id).cloned().unwrap_or_default();
                workflow::offered(state, &who, &h).contains(&action)
            })
            .take(SHOWN)
            .map(|(r, w)| QueueItem {
                record_id: r.id,
                work_order_id: w.id,
                label: w.label,
                status: r.status,
                waiting_since: r.updated_at,
                reason: r.status_reason,
            });
        match state {
            RecordStatus::Recorded => out.to_review.extend(items),
            RecordStatus::Reviewed => out.to_approve.extend(items),
            _ => out.returned.extend(items),
        }
    }
    Ok(out)
}

/// The histories of the records in `waiting`, in two queries.
async fn histories(
    db: &impl sea_orm::ConnectionTrait,
    waiting: &[(
        crate::store::entities::calibration_record::Model,
        crate::store::entities::work_order::Model,
    )],
) -> Result<HashMap<i32, History>> {
    let ids: Vec<i32> = waiting.iter().map(|(r, _)| r.id).collect();
    let signatures = q::signatures_of_many(db, &ids).await?;
    let edits = q::edits_of_many(db, &ids).await?;
    Ok(waiting
        .iter()
        .map(|(r, _)| {
            let of = |id: i32| id == r.id;
            let s: Vec<_> = signatures.iter().filter(|s| of(s.record_id)).cloned().collect();
            let e: Vec<_> = edits.iter().filter(|e| of(e.record_id)).cloned().collect();
            (r.id, super::history_from(r, &s, &e))
        })
        .collect())
}
