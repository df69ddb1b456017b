//! A proposed change of calibration interval, with what is needed to reproduce it, awaiting a person's decision.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interval_proposals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organisation_id: i32,
    /// 'item' or 'group'.
    pub scope: String,
    pub item_kind: Option<String>,
    pub item_id: Option<i32>,
    /// The item's label, or the group's JJF 1022 code.
    pub group_key: String,
    /// 'staircase', 'a3' or 's2'.
    pub method: String,
    /// The method's parameters, as JSON.
    pub params: String,
    /// The input history the method read, as JSON.
    pub history: String,
    pub current_months: i32,
    pub proposed_months: i32,
    pub reason: String,
    /// pending, approved or rejected.
    pub status: String,
    pub proposed_by: Option<i32>,
    pub proposed_at: DateTimeUtc,
    pub decided_by: Option<i32>,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
