//! SeaORM entities, one per table. The schema itself is defined by the migrations.

pub mod category;
pub mod device;
pub mod organisation;
pub mod region;
pub mod standard;
