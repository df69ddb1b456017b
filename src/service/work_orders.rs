//! Work orders: one item's calibration at a laboratory, planned → received → in
//! calibration → awaiting review → completed, or cancelled. Every creation and every
//! move is audited.

use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::records::workflow::RecordStatus;
use crate::domain::work_orders::WorkOrderStatus;
use crate::store::entities::work_order;
use crate::store::work_orders::{self as q, WorkOrderFilter};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use serde::Serialize;

/// Who plans a laboratory's work and sets its capacity.
pub const PLANNERS: &[Role] = &[Role::InstituteAdmin, Role::Scheduler];

pub const MAX_PAGE: u64 = 200;

/// Who moves an order to each state.
fn movers(to: WorkOrderStatus) -> &'static [Role] {
    use WorkOrderStatus::*;
    match to {
        Received | InCalibration | AwaitingReview => &[Role::Technician, Role::Scheduler, Role::InstituteAdmin],
        // Nobody by hand: the issue of the record's certificate completes the order.
        Completed => &[],
        Cancelled => PLANNERS,
        Planned => &[],
    }
}

/// A work order as the API and the pages show it (the row of `work_orders`, kept apart from
/// it so that a change of schema is not a change of the API).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkOrder {
    pub id: i32,
    pub lab_id: i32,
    /// 'standard', 'device' or 'instrument'.
    pub item_kind: String,
    pub item_id: i32,
    pub owner_id: i32,
    pub category_code: String,
    pub label: String,
    pub due_on: Option<NaiveDate>,
    /// The day the work is planned for.
    pub planned_on: NaiveDate,
    /// planned, received, in_calibration, awaiting_review, completed or cancelled.
    pub status: String,
    pub note: String,
    pub created_by: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<work_order::Model> for WorkOrder {
    fn from(m: work_order::Model) -> Self {
        Self {
            id: m.id,
            lab_id: m.lab_id,
            item_kind: m.item_kind,
            item_id: m.item_id,
            owner_id: m.owner_id,
            category_code: m.category_code,
            label: m.label,
            due_on: m.due_on,
            planned_on: m.planned_on,
            status: m.status,
            note: m.note,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkOrderView {
    #[serde(flatten)]
    pub order: WorkOrder,
    pub status_name: &'static str,
    /// The moves this actor may make, as (status, name).
    pub moves: Vec<(&'static str, &'static str)>,
    /// Its record, once results are recorded: the id and the record's state.
    pub record: Option<(i32, String)>,
}

fn view(actor: &Actor, w: work_order::Model, record: Option<(i32, String)>, zh: bool) -> WorkOrderView {
    let status = WorkOrderStatus::parse(&w.status);
    let own = actor.principal().is_none_or(|p| p.organisation_id == w.lab_id);
    // An order with a live record follows its record: completed by its certificate,
    // cancelled only once the record is withdrawn.
    let live_record = record
        .as_ref()
        .is_some_and(|(_, s)| s != RecordStatus::Withdrawn.as_str());
    let moves = status
        .map(|s| {
            WorkOrderStatus::ALL
                .iter()
                .copied()
                .filter(|t| s.may_move_to(*t) && own && actor.may(movers(*t)))
                .filter(|t| t.moved_by_hand())
                .filter(|t| !(live_record && *t == WorkOrderStatus::Cancelled))
                .map(|t| (t.as_str(), if zh { t.name_zh() } else { t.name_en() }))
                .collect()
        })
        .unwrap_or_default();
    WorkOrderView {
        status_name: status.map_or("", |s| if zh { s.name_zh() } else { s.name_en() }),
        order: w.into(),
        moves,
        record,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkOrderList {
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub side: &'static str,
    pub status: Option<String>,
    pub orders: Vec<WorkOrderView>,
    /// Whether the actor may open a work order (a planner of the laboratory).
    pub may_create: bool,
}

/// A laboratory's work orders (side 'lab'), or those for an organisation's items
/// (side 'holder'): the actor's own organisation.
pub async fn list(
    actor: &Actor,
    db: &DatabaseConnection,
    side: &str,
    status: Option<&str>,
    offset: u64,
    limit: u64,
    zh: bool,
) -> Result<WorkOrderList> {
    let p = actor.require_login()?.ok_or(Error::Forbidden)?;
    let side: &'static str = match side {
        "" | "lab" => "lab",
        "holder" => "holder",
        _ => return Err(Error::field("side", "work_orders.side_invalid", "lab or holder")),
    };
    let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some("open") => None,
        Some(s) => Some(
            WorkOrderStatus::parse(s)
                .ok_or_else(|| {
                    Error::field(
                        "status",
                        "work_orders.status_invalid",
                        format!("one of: open, {}", WorkOrderStatus::choices()),
                    )
                })?
                .as_str()
                .to_owned(),
        ),
    };
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::field(
            "limit",
            "page.limit_invalid",
            format!("from 1 to {MAX_PAGE}"),
        ));
    }
    let f = WorkOrderFilter {
        lab: (side == "lab").then_some(p.organisation_id),
        owner: (side == "holder").then_some(p.organisation_id),
        open_only: status.is_none(),
        status: status.clone(),
    };
    let (rows, total) = q::work_orders(db, &f, offset, limit).await?;
    let ids: Vec<i32> = rows.iter().map(|w| w.id).collect();
    let mut records: std::collections::HashMap<i32, (i32, String)> = crate::store::records::of_work_orders(db, &ids)
        .await?
        .into_iter()
        .map(|r| (r.work_order_id, (r.id, r.status)))
        .collect();
    Ok(WorkOrderList {
        total,
        offset,
        limit,
        side,
        status,
        orders: rows
            .into_iter()
            .map(|w| {
                let record = records.remove(&w.id);
                view(actor, w, record, zh)
            })
            .collect(),
        may_create: actor.may(PLANNERS),
    })
}

pub(crate) async fn audit_created<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    now: DateTime<Utc>,
    w: &work_order::Model,
    via: &str,
) -> Result<()> {
    let mut changes = super::audit::Changes::new();
    for (k, v) in [
        ("item", format!("{}/{}", w.item_kind, w.item_id)),
        ("lab_id", w.lab_id.to_string()),
        ("planned_on", w.planned_on.to_string()),
        ("status", w.status.clone()),
        ("via", via.to_owned()),
    ] {
        changes.note(k, v.into());
    }
    super::audit::record(
        db,
        actor,
        now,
        super::audit::Entry {
            action: "work_order.create",
            entity_type: "work_order",
            entity_id: w.id.to_string(),
            changes,
        },
    )
    .await?;
    Ok(())
}

/// Opens a work order at the actor's laboratory for one due item on a day.
pub async fn create(
    actor: &Actor,
    db: &DatabaseConnection,
    item_kind: &str,
    item_id: &str,
    planned_on: &str,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let p = actor.require_login()?.ok_or(Error::Forbidden)?;
    if !actor.may(PLANNERS) {
        return Err(actor.forbidden());
    }
    let mut errors = Vec::new();
    let kind = crate::domain::traceability::ItemKind::parse(item_kind.trim());
    if kind.is_none() {
        errors.push(crate::domain::Error::new(
            "item_kind",
            "work_order.kind_invalid",
            "standard, device or instrument",
        ));
    }
    let id = item_id.trim().parse::<i32>().ok();
    if id.is_none() {
        errors.push(crate::domain::Error::new("item_id", "field.number", "a whole number"));
    }
    let day: Option<NaiveDate> = crate::domain::register::parse_date("planned_on", planned_on)
        .map_err(|e| errors.push(e))
        .ok();
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let (kind, id, day) = (kind.expect("checked"), id.expect("checked"), day.expect("checked"));
    let txn = crate::store::begin(db).await?;
    let due = crate::store::schedule::due_item_of(&txn, kind.as_str(), id)
        .await?
        .filter(|d| d.lab_id == Some(p.organisation_id) || d.owner_id == p.organisation_id)
        .ok_or_else(|| {
            Error::field(
                "item_id",
                "work_order.item_unknown",
                "no such item due at your laboratory",
            )
        })?;
    if q::open_work_order(&txn, kind.as_str(), id).await?.is_some() {
        return Err(Error::Conflict {
            code: "work_order.open",
            message: "the item already has an open work order".into(),
            fields: vec![crate::domain::Error::new(
                "item_id",
                "work_order.open",
                "the item already has an open work order",
            )],
        });
    }
    let mut created = q::insert_work_orders(
        &txn,
        vec![work_order::ActiveModel {
            lab_id: Set(p.organisation_id),
            item_kind: Set(kind.as_str().to_owned()),
            item_id: Set(id),
            owner_id: Set(due.owner_id),
            category_code: Set(due.category_code.clone()),
            label: Set(due.label.clone()),
            due_on: Set(due.due_on),
            planned_on: Set(day),
            status: Set(WorkOrderStatus::Planned.as_str().into()),
            note: Set(String::new()),
            created_by: Set(Some(p.user_id)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }],
    )
    .await?;
    let w = created.pop().expect("one inserted");
    audit_created(&txn, actor, now, &w, "manual").await?;
    txn.commit().await?;
    Ok(w.into())
}

/// Moves a work order one step on, or cancels it (a reason is then required). Audited
/// with the state before and after.
pub async fn move_to(
    actor: &Actor,
    db: &DatabaseConnection,
    id: i32,
    to: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    actor.require_login()?;
    let txn = crate::store::begin(db).await?;
    let w = q::work_order_by_id(&txn, id)
        .await?
        .filter(|w| actor.sees_organisation(w.lab_id) || actor.sees_organisation(w.owner_id))
        .ok_or(Error::NotFound { what: "work order" })?;
    let to = WorkOrderStatus::parse(to).ok_or_else(|| {
        Error::field(
            "status",
            "work_order.status_invalid",
            format!("one of: {}", WorkOrderStatus::choices()),
        )
    })?;
    if to == WorkOrderStatus::Completed {
        return Err(Error::field(
            "status",
            "work_order.completed_by_certificate",
            "a work order is completed by the issue of its record's certificate",
        ));
    }
    if !to.moved_by_hand() {
        return Err(Error::field(
            "status",
            "work_order.review_by_signature",
            "a work order awaits review once the technician signs its record",
        ));
    }
    let own = actor.principal().is_none_or(|p| p.organisation_id == w.lab_id);
    if !own || !actor.may(movers(to)) {
        return Err(actor.forbidden());
    }
    let from = WorkOrderStatus::parse(&w.status).ok_or_else(|| Error::Internal("unknown work order status".into()))?;
    if !from.may_move_to(to) {
        return Err(Error::field(
            "status",
            "work_order.move_invalid",
            format!("a work order {} cannot become {}", from.name_en(), to.name_en()),
        ));
    }
    let note = note.trim();
    if to == WorkOrderStatus::Cancelled && note.is_empty() {
        return Err(Error::field(
            "note",
            "work_order.reason_required",
            "give the reason for cancelling",
        ));
    }
    if note.chars().count() > 1000 {
        return Err(Error::field("note", "field.too_long", "at most 1000 characters"));
    }
    // Once its results are recorded, the order follows its record: it ends with the
    // record's certificate, not by being cancelled under it.
    // A withdrawn record (with its reason, audited) frees the order to be cancelled.
    let record = crate::store::records::of_work_order(&txn, id).await?;
    if to == WorkOrderStatus::Cancelled
        && record.is_some_and(|r| r.status != crate::domain::records::workflow::RecordStatus::Withdrawn.as_str())
    {
        return Err(Error::Conflict {
            code: "work_order.has_record",
            message: "its results are recorded: a work order with a record ends with its certificate, \
                      or is cancelled once the record is withdrawn"
                .into(),
            fields: vec![],
        });
    }
    if q::move_work_order(&txn, id, from.as_str(), to.as_str(), note, now).await? == 0 {
        return Err(Error::Conflict {
            code: "work_order.moved",
            message: "someone else moved this work order first; reload it".into(),
            fields: vec![],
        });
    }
    let mut changes = super::audit::Changes::new();
    changes.set("status", from.as_str().into(), to.as_str().into());
    if !note.is_empty() {
        changes.note("note", note.into());
    }
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: if to == WorkOrderStatus::Cancelled {
                "work_order.cancel"
            } else {
                "work_order.move"
            },
            entity_type: "work_order",
            entity_id: id.to_string(),
            changes,
        },
    )
    .await?;
    let w = q::work_order_by_id(&txn, id)
        .await?
        .ok_or(Error::NotFound { what: "work order" })?;
    txn.commit().await?;
    Ok(w.into())
}

/// One work order, for its laboratory and the holder of its item.
pub async fn get(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<WorkOrder> {
    actor.require_login()?;
    q::work_order_by_id(db, id)
        .await?
        .filter(|w| actor.sees_organisation(w.lab_id) || actor.sees_organisation(w.owner_id))
        .map(Into::into)
        .ok_or(Error::NotFound { what: "work order" })
}

/// A standard a record may name: the laboratory's, in service.
#[derive(Debug, Clone, Serialize)]
pub struct StandardChoice {
    pub id: i32,
    pub name_zh: String,
    pub cert_no: String,
    pub category_code: String,
}

/// The laboratory's standards in service, those of the work order's category first.
pub async fn lab_standards(
    actor: &Actor,
    db: &DatabaseConnection,
    lab: i32,
    category: &str,
) -> Result<Vec<StandardChoice>> {
    if !actor.sees_organisation(lab) {
        return Err(Error::NotFound { what: "laboratory" });
    }
    let mut list: Vec<StandardChoice> = crate::store::work_orders::standards_of_lab(db, lab)
        .await?
        .into_iter()
        .map(|(id, name_zh, cert_no, category_code)| StandardChoice {
            id,
            name_zh,
            cert_no,
            category_code,
        })
        .collect();
    list.sort_by_key(|s| (s.category_code != category, s.category_code.clone(), s.id));
    Ok(list)
}
