//! metrocal: calibration management for a province's register of public metrology
//! standards (社会公用计量标准), their traceability to the SI, calibration schedules,
//! measurement uncertainty and certificates.
//!
//! Layers, from the bottom: [`domain`] (pure rules), [`store`] (persistence),
//! [`service`] (use cases and authorization), [`web`] (Rocket), and on top [`cli`], the
//! command line that src/main.rs runs. See docs/architecture.md.

pub mod cli;
pub mod config;
pub mod domain;
pub mod render;
pub mod service;
pub mod store;
pub mod web;

use config::AppConfig;

pub use service::setup::{setup_database, SetupError};
pub use store::redact;

/// The web application, as the binary and every test build it.
pub fn rocket(config: AppConfig) -> Result<rocket::Rocket<rocket::Build>, std::io::Error> {
    let figment = config::rocket_figment(&config)?;
    Ok(web::build(figment, config))
}

/// Sets the C allocator (glibc's, which SQLite allocates through) to give memory back:
/// at most two arenas, and blocks of 128 KiB or more mapped on their own and unmapped
/// when freed, instead of glibc's default of growing the threshold up to 32 MiB, which
/// keeps the daily run's large reads resident for good. Call first thing in `main`.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}
