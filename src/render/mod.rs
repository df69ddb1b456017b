//! Renderings of a certificate snapshot: pure functions of their input.

pub mod dcc;
pub mod dcc_read;
#[cfg(test)]
mod fuzz;
pub mod pdf;
