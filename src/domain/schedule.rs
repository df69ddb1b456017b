//! Calibration schedules: due dates computed from the calibration history and the
//! interval (never typed in), the colour-coded status of each item, and the calendar
//! buckets of the recall lists.
//!
//! Months are added as calendars do: to the same day of the month, or to the month's
//! last day when it is shorter (31 January + 1 month = 28 or 29 February), like
//! spreadsheet programs' EDATE.

use chrono::{Datelike, Days, Months, NaiveDate};

/// An organisation's scheduling rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DueRules {
    /// Due dates are moved to the last day of their month.
    pub month_end: bool,
    /// A calibration up to this many days before the due date keeps the cycle: the next
    /// due date follows from the old one, not from the day of the calibration.
    pub early_window_days: u32,
    /// An item is due soon this many days before its due date.
    pub warning_days: u32,
}

impl Default for DueRules {
    fn default() -> Self {
        DueRules {
            month_end: false,
            early_window_days: 0,
            warning_days: 30,
        }
    }
}

/// The longest interval and window accepted, so that date arithmetic cannot overflow.
pub const MAX_INTERVAL_MONTHS: u32 = 120;
pub const MAX_WINDOW_DAYS: u32 = 366;

/// `d` plus `months` calendar months, on the month's last day when it is shorter.
pub fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// The last day of `d`'s month.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let first = d.with_day(1).expect("every month has a first day");
    add_months(first, 1).pred_opt().unwrap_or(d)
}

/// The due date that follows a calibration, or a due date kept, by `interval_months`.
fn next_due(from: NaiveDate, interval_months: u32, rules: &DueRules) -> NaiveDate {
    let due = add_months(from, interval_months);
    if rules.month_end {
        month_end(due)
    } else {
        due
    }
}

/// The item's due date after the calibrations of `history` (any order), or None when it
/// has never been calibrated.
///
/// Each calibration starts a new cycle from its own date, except one made early within
/// the window before the due date then in force: that one keeps the cycle, and the next
/// due date follows from the old one. A late calibration starts from its own date.
pub fn due_date(history: &[NaiveDate], interval_months: u32, rules: &DueRules) -> Option<NaiveDate> {
    let mut dates = history.to_vec();
    dates.sort_unstable();
    dates.dedup();
    let mut due: Option<NaiveDate> = None;
    for c in dates {
        due = Some(match due {
            Some(d) if c <= d && c >= d - Days::new(u64::from(rules.early_window_days)) => {
                next_due(d, interval_months, rules)
            }
            _ => next_due(c, interval_months, rules),
        });
    }
    due
}

vocabulary! {
    /// Where an item stands against its due date.
    DueStatus {
        InDate => "in_date", "在有效期内", "in date";
        DueSoon => "due_soon", "即将到期", "due soon";
        Overdue => "overdue", "已超期", "overdue";
        OutOfService => "out_of_service", "停用", "out of service";
    }
}

/// The status on `today`. The due date is the last day the calibration is good for; an
/// item never calibrated is overdue; an item out of service is only that.
pub fn status(due: Option<NaiveDate>, in_service: bool, today: NaiveDate, rules: &DueRules) -> DueStatus {
    if !in_service {
        return DueStatus::OutOfService;
    }
    match due {
        None => DueStatus::Overdue,
        Some(d) if d < today => DueStatus::Overdue,
        Some(d) if d <= today + Days::new(u64::from(rules.warning_days)) => DueStatus::DueSoon,
        Some(_) => DueStatus::InDate,
    }
}

vocabulary! {
    /// The calendar buckets of a recall list.
    Bucket {
        Overdue => "overdue", "已超期", "overdue";
        ThisMonth => "this_month", "本月到期", "due this month";
        NextMonth => "next_month", "下月到期", "due next month";
        Later => "later", "以后", "later";
    }
}

/// The bucket of a due date on `today` (an item never calibrated is overdue).
pub fn bucket(due: Option<NaiveDate>, today: NaiveDate) -> Bucket {
    let Some(d) = due else {
        return Bucket::Overdue;
    };
    let this_month_end = month_end(today);
    let next_month_end = month_end(this_month_end + Days::new(1));
    if d < today {
        Bucket::Overdue
    } else if d <= this_month_end {
        Bucket::ThisMonth
    } else if d <= next_month_end {
        Bucket::NextMonth
    } else {
        Bucket::Later
    }
}

/// The first day of the bucket's range and the last (None: open), on `today`.
pub fn bucket_range(b: Bucket, today: NaiveDate) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let this_month_end = month_end(today);
    let next_month_end = month_end(this_month_end + Days::new(1));
    match b {
        Bucket::Overdue => (None, today.pred_opt()),
        Bucket::ThisMonth => (Some(today), Some(this_month_end)),
        Bucket::NextMonth => (this_month_end.succ_opt(), Some(next_month_end)),
        Bucket::Later => (next_month_end.succ_opt(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const PLAIN: DueRules = DueRules {
        month_end: false,
        early_window_days: 0,
        warning_days: 30,
    };

    // Worked examples: spreadsheet EDATE (Microsoft's documented behaviour, and
    // LibreOffice's): EDATE(2024-01-31, 1) = 2024-02-29, EDATE(2023-01-31, 1) =
    // 2023-02-28, EDATE(2024-02-29, 12) = 2025-02-28, EDATE(2024-02-29, 48) = 2028-02-29.
    #[test]
    fn months_are_added_as_calendars_do() {
        assert_eq!(add_months(day("2024-01-31"), 1), day("2024-02-29"));
        assert_eq!(add_months(day("2023-01-31"), 1), day("2023-02-28"));
        assert_eq!(add_months(day("2024-02-29"), 12), day("2025-02-28"));
        assert_eq!(add_months(day("2024-02-29"), 48), day("2028-02-29"));
        assert_eq!(add_months(day("2025-08-31"), 6), day("2026-02-28"));
        assert_eq!(add_months(day("2025-03-15"), 12), day("2026-03-15"));
        assert_eq!(month_end(day("2024-02-10")), day("2024-02-29"));
        assert_eq!(month_end(day("2100-02-01")), day("2100-02-28"));
        assert_eq!(month_end(day("2025-12-31")), day("2025-12-31"));
    }

    #[test]
    fn due_dates_follow_the_last_calibration_and_the_interval() {
        assert_eq!(due_date(&[], 12, &PLAIN), None);
        assert_eq!(due_date(&[day("2025-03-15")], 12, &PLAIN), Some(day("2026-03-15")));
        // Leap day: 29 February 2024 + 12 months.
        assert_eq!(due_date(&[day("2024-02-29")], 12, &PLAIN), Some(day("2025-02-28")));
        // The latest calibration counts, whatever the order given.
        assert_eq!(
            due_date(&[day("2025-06-01"), day("2024-06-01")], 12, &PLAIN),
            Some(day("2026-06-01"))
        );
        // Keep to the end of the month.
        let month_ends = DueRules {
            month_end: true,
            ..PLAIN
        };
        assert_eq!(due_date(&[day("2025-03-15")], 12, &month_ends), Some(day("2026-03-31")));
        assert_eq!(due_date(&[day("2023-02-10")], 12, &month_ends), Some(day("2024-02-29")));
    }

    #[test]
    fn an_early_calibration_within_the_window_keeps_the_cycle() {
        let window = DueRules {
            early_window_days: 30,
            ..PLAIN
        };
        // Due 2026-03-15; calibrated 30 days before (2026-02-13): the cycle is kept.
        let h = [day("2025-03-15"), day("2026-02-13")];
        assert_eq!(due_date(&h, 12, &window), Some(day("2027-03-15")));
        // 31 days before: outside the window, a new cycle from the calibration.
        let h = [day("2025-03-15"), day("2026-02-12")];
        assert_eq!(due_date(&h, 12, &window), Some(day("2027-02-12")));
        // On the due date itself: kept.
        let h = [day("2025-03-15"), day("2026-03-15")];
        assert_eq!(due_date(&h, 12, &window), Some(day("2027-03-15")));
        // Late: a new cycle from the calibration.
        let h = [day("2025-03-15"), day("2026-04-01")];
        assert_eq!(due_date(&h, 12, &window), Some(day("2027-04-01")));
        // Without a window, the early calibration moves the cycle.
        let h = [day("2025-03-15"), day("2026-02-13")];
        assert_eq!(due_date(&h, 12, &PLAIN), Some(day("2027-02-13")));
        // A kept cycle from a leap day stays on the month's end.
        let h = [day("2023-02-28"), day("2024-02-20")];
        let both = DueRules {
            month_end: true,
            ..window
        };
        assert_eq!(due_date(&h, 12, &both), Some(day("2025-02-28")));
    }

    #[test]
    fn status_at_the_boundaries() {
        let due = Some(day("2026-03-31"));
        // The due date is still in date's last day for the warning: 30 days before.
        assert_eq!(status(due, true, day("2026-02-28"), &PLAIN), DueStatus::InDate);
        assert_eq!(status(due, true, day("2026-03-01"), &PLAIN), DueStatus::DueSoon);
        assert_eq!(status(due, true, day("2026-03-31"), &PLAIN), DueStatus::DueSoon);
        assert_eq!(status(due, true, day("2026-04-01"), &PLAIN), DueStatus::Overdue);
        assert_eq!(status(None, true, day("2026-04-01"), &PLAIN), DueStatus::Overdue);
        assert_eq!(status(due, false, day("2026-04-01"), &PLAIN), DueStatus::OutOfService);
        let week = DueRules {
            warning_days: 7,
            ..PLAIN
        };
        assert_eq!(status(due, true, day("2026-03-23"), &week), DueStatus::InDate);
        assert_eq!(status(due, true, day("2026-03-24"), &week), DueStatus::DueSoon);
    }

    #[test]
    fn buckets_at_month_ends() {
        let today = day("2026-01-31");
        assert_eq!(bucket(Some(day("2026-01-30")), today), Bucket::Overdue);
        assert_eq!(bucket(Some(day("2026-01-31")), today), Bucket::ThisMonth);
        assert_eq!(bucket(Some(day("2026-02-01")), today), Bucket::NextMonth);
        assert_eq!(bucket(Some(day("2026-02-28")), today), Bucket::NextMonth);
        assert_eq!(bucket(Some(day("2026-03-01")), today), Bucket::Later);
        assert_eq!(bucket(None, today), Bucket::Overdue);
        // December into January, and a leap February.
        let today = day("2027-12-15");
        assert_eq!(bucket(Some(day("2028-01-31")), today), Bucket::NextMonth);
        assert_eq!(bucket(Some(day("2028-02-01")), today), Bucket::Later);
        let today = day("2028-01-10");
        assert_eq!(bucket(Some(day("2028-02-29")), today), Bucket::NextMonth);
        assert_eq!(
            bucket_range(Bucket::NextMonth, today),
            (Some(day("2028-02-01")), Some(day("2028-02-29")))
        );
        assert_eq!(bucket_range(Bucket::Overdue, today), (None, Some(day("2028-01-09"))));
    }
}
