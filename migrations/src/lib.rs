//! The metrocal schema, as sea-orm-migration steps.
//!
//! One definition serves SQLite (the embedded default) and PostgreSQL (production).
//! Migrations are append-only: never edit a step that has shipped, add a new one.
//! Every step runs in a transaction on both engines, so a failed migration leaves
//! nothing half-built.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_register;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261128_000001_register::Migration)]
    }
}
