//! What the app keeps in memory between requests so that its busiest pages answer at
//! once: one value, held by the server as managed state and passed to the use cases
//! that read through it, like the database connection. Each part is keyed by what the
//! database says has changed (a change counter advanced in the same transaction as the
//! change, or the audit trail's head), never by a time limit or a per-process counter,
//! so that a change made through any app instance, the CLI or the daily run is seen by
//! the next request to every other.

use super::{planner::PlanCache, standards::RegisterCache, traceability::ProvinceCache};

/// Every cache of one app instance.
#[derive(Default)]
pub struct Caches {
    /// Pages of the public register (the `register` change counter).
    pub register: RegisterCache,
    /// The province's calibration plan (the `plan` change counter).
    pub plan: PlanCache,
    /// The traceability graph the province audit and the impact analysis walk (the
    /// audit trail's head).
    pub province: ProvinceCache,
}
