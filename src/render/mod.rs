//! Renderings of a certificate snapshot: pure functions of their input.

pub mod dcc;
pub mod pdf;
