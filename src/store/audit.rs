//! The audit trail: appending to the chain, reading it back.

use super::entities::{audit_event, audit_head};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

/// Takes the next sequence number and the previous event's hash, locking the chain's
/// head until the caller's transaction ends. The UPDATE comes first so that SQLite
/// takes its write lock before reading (no stale snapshot) and PostgreSQL queues
/// concurrent appenders on the head row.
pub async fn advance_head<C: ConnectionTrait>(db: &C) -> Result<(i64, String), DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("audit_head".into()))?;
    Ok((row.try_get("", "seq")?, row.try_get("", "hash")?))
}

/// Stores an event and moves the head to it.
pub async fn insert_event<C: ConnectionTrait>(db: &C, event: audit_event::Model) -> Result<(), DbErr> {
    let (seq, hash) = (event.seq, event.hash.clone());
    let row = audit_event::ActiveModel {
        seq: Set(event.seq),
        occurred_at: Set(event.occurred_at),
        actor_user_id: Set(event.actor_user_id),
        actor: Set(event.actor),
        organisation_id: Set(event.organisation_id),
        action: Set(event.action),
        entity_type: Set(event.entity_type),
        entity_id: Set(event.entity_id),
        changes: Set(event.changes),
        request_id: Set(event.request_id),
        prev_hash: Set(event.prev_hash),
        hash: Set(event.hash),
    };
    audit_event::Entity::insert(row).exec_without_returning(db).await?;
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Hash, Expr::value(hash))
        .filter(audit_head::Column::Id.eq(1))
        .filter(audit_head::Column::Seq.eq(seq))
        .exec(db)
        .await?;
    Ok(())
}

/// The head as the database records it.
pub async fn head<C: ConnectionTrait>(db: &C) -> Result<audit_head::Model, DbErr> {
    audit_head::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("audit_head".into()))
}

/// Events after `after_seq` in order, for walking the chain in pages.
pub async fn events_after<C: ConnectionTrait>(
    db: &C,
    after_seq: i64,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbErr> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Seq.gt(after_seq))
        .order_by_asc(audit_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// The history of one entity, oldest first.
pub async fn events_of<C: ConnectionTrait>(
    db: &C,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<audit_event::Model>, DbErr> {
    audit_event::Entity::find()
        .filter(audit_event::Column::EntityType.eq(entity_type))
        .filter(audit_event::Column::EntityId.eq(entity_id))
        .order_by_asc(audit_event::Column::Seq)
        .limit(500)
        .all(db)
        .await
}

/// Filters of the audit page; every one is index-backed.
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    pub organisation_id: Option<i32>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub limit: u64,
    pub offset: u64,
}

/// A page of events, newest first, and how many match.
pub async fn list_events<C: ConnectionTrait>(db: &C, q: &AuditQuery) -> Result<(Vec<audit_event::Model>, u64), DbErr> {
    let mut find = audit_event::Entity::find();
    if let Some(a) = &q.action {
        find = find.filter(audit_event::Column::Action.eq(a.as_str()));
    }
    if let Some(t) = &q.entity_type {
        find = find.filter(audit_event::Column::EntityType.eq(t.as_str()));
    }
    if let Some(id) = &q.entity_id {
        find = find.filter(audit_event::Column::EntityId.eq(id.as_str()));
    }
    if let Some(actor) = &q.actor {
        find = find.filter(audit_event::Column::Actor.eq(actor.as_str()));
    }
    if let Some(org) = q.organisation_id {
        find = find.filter(audit_event::Column::OrganisationId.eq(org));
    }
    if let Some(from) = q.from {
        find = find.filter(audit_event::Column::OccurredAt.gte(from));
    }
    if let Some(until) = q.until {
        find = find.filter(audit_event::Column::OccurredAt.lt(until));
    }
    let total = find.clone().count(db).await?;
    let rows = find
        .order_by_desc(audit_event::Column::Seq)
        .limit(q.limit)
        .offset(q.offset)
        .all(db)
        .await?;
    Ok((rows, total))
}
