//! Integration tests: the real Rocket app, through its local client, against a real
//! database. SQLite (a temp file per test) by default; PostgreSQL (a schema per test)
//! when TEST_DATABASE_URL is set. The migrations always run.

mod api;
mod audit;
mod authz;
mod budgets;
mod certificates;
mod cli;
mod faults;
mod fuzz;
mod hardening;
mod hostile;
mod instances;
mod intervals;
mod keys;
mod layers;
mod lifecycle;
mod limits;
mod mail;
mod messages;
mod pages;
mod planning;
mod records;
mod schedule;
mod sessions;
mod snapshots;
mod support;
mod traceability;
mod transfer;
mod uncertainty;
