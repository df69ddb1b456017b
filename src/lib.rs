//! metrocal: calibration management for a province's register of public metrology
//! standards (社会公用计量标准), their traceability to the SI, calibration schedules,
//! measurement uncertainty and certificates.
//!
//! Layers, from the bottom: [`domain`] (pure rules), [`store`] (persistence),
//! [`service`] (use cases and authorization), [`web`] (Rocket). See docs/architecture.md.

pub mod domain;
pub mod service;
pub mod store;
