//! Calibration schedules and recall lists.
//!
//! The daily run ([`run_daily`], `metrocal schedule run`) recomputes every item's due
//! date from its calibrations and its interval, with its owner's rules, writes what
//! changed to `due_items`, and records each user's notification of what falls due. The
//! recall lists read `due_items`; the status and bucket are taken on the day asked.
//!
//! One file per use case: `run` (the daily run and the server's loop), `recall`,
//! `notifications`, `feeds` (iCalendar) and `settings` (an organisation's rules).

use crate::domain::schedule::{self as rules, DueRules};
use serde::Serialize;

mod feeds;
mod notifications;
mod recall;
mod run;
mod settings;

pub use feeds::{create_feed, feed_ics, feeds, revoke_feed, FeedView};
pub use notifications::{mark_read, notifications, NotificationList, NotificationView};
pub use recall::{recall, recall_csv, BucketCount, RecallList, RecallQuery, RecallRow, MAX_PAGE};
pub use run::{keep_running, recompute, run_daily, run_if_due, RunSummary};
pub(crate) use settings::rules_of;
pub use settings::{save_settings, settings, SettingsInput};

/// The interval of an item with none of its own and an owner with no rule of its own.
pub const DEFAULT_INTERVAL_MONTHS: u32 = 12;

/// An organisation's rules: its settings, or the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rules {
    pub due: DueRules,
    pub default_interval_months: u32,
    /// Years an assessment certificate of the organisation's standards is valid
    /// (JJF 1033-2023: 4, so issue date + 4 years − 1 day).
    pub assessment_validity_years: u32,
    /// How its items' intervals step (ILAC-G24:2022 method 1).
    pub staircase: crate::domain::intervals::Staircase,
    /// The MPE/U ratio below which a traceability link of its items is flagged.
    pub tur_limit: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            due: DueRules::default(),
            default_interval_months: DEFAULT_INTERVAL_MONTHS,
            assessment_validity_years: crate::domain::lifecycle::DEFAULT_VALIDITY_YEARS,
            staircase: crate::service::calculators::STAIRCASE,
            tur_limit: crate::service::traceability::DEFAULT_TUR_LIMIT,
        }
    }
}

fn rules_from(s: &crate::store::entities::schedule_settings::Model) -> Rules {
    let clamp = |v: i32, max: u32| v.clamp(0, max as i32) as u32;
    Rules {
        due: DueRules {
            month_end: s.month_end,
            early_window_days: clamp(s.early_window_days, rules::MAX_WINDOW_DAYS),
            warning_days: clamp(s.warning_days, rules::MAX_WINDOW_DAYS),
        },
        default_interval_months: clamp(s.default_interval_months, rules::MAX_INTERVAL_MONTHS).max(1),
        assessment_validity_years: clamp(
            s.assessment_validity_years,
            crate::domain::lifecycle::MAX_VALIDITY_YEARS,
        )
        .max(1),
        staircase: crate::domain::intervals::Staircase {
            extend_within: s.staircase_extend_threshold,
            extend_by: s.staircase_extend_factor,
            shorten_by: s.staircase_shorten_factor,
            min_months: s.staircase_min_months,
            max_months: s.staircase_max_months,
            whole_months: s.staircase_whole_months,
        },
        tur_limit: if s.tur_limit > 0.0 {
            s.tur_limit
        } else {
            crate::service::traceability::DEFAULT_TUR_LIMIT
        },
    }
}
