//! A saved uncertainty budget: the problem as entered and the evaluation it gave.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uncertainty_budgets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub standard_id: i32,
    /// The standard's owner when the budget was made; its staff may see the budget.
    pub organisation_id: i32,
    pub title: String,
    /// The problem as JSON (docs/uncertainty.md).
    #[sea_orm(column_type = "Text")]
    pub problem: String,
    /// The evaluation as JSON, as it was when the budget was saved.
    #[sea_orm(column_type = "Text")]
    pub result: String,
    /// 1 when created, one more at every saved change.
    pub revision: i32,
    pub created_by: Option<i32>,
    pub updated_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
