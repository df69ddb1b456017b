//! SeaORM entities, one per table. The schema itself is defined by the migrations.

pub mod api_token;
pub mod audit_event;
pub mod audit_head;
pub mod calendar_feed;
pub mod calibration;
pub mod category;
pub mod device;
pub mod due_item;
pub mod instrument;
pub mod item_interval;
pub mod job_run;
pub mod login_attempt;
pub mod notification;
pub mod organisation;
pub mod region;
pub mod schedule_settings;
pub mod session;
pub mod standard;
pub mod uncertainty_budget;
pub mod user;
