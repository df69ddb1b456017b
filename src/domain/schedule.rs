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

/// The last day a calibration made on `calibrated_on` is good for, with an interval of
/// `interval_months`: the day before the same date `interval_months` later (calibrated
/// 2026-01-15 for 12 months: valid until 2027-01-14, as a Chinese verification
/// certificate's 有效期至 reads). The one rule for a certificate's valid-until date, the
/// traceability link's validity and the schedule's due date, which is the last day in
/// date. Months are added as [`add_months`] does, so a calibration on 31 January for one
/// month is valid until 27 February (28 February in a leap year).
pub fn valid_until(calibrated_on: NaiveDate, interval_months: u32) -> NaiveDate {
    add_months(calibrated_on, interval_months)
        .pred_opt()
        .unwrap_or(calibrated_on)
}

/// The due date that follows a calibration by `interval_months`.
fn next_due(from: NaiveDate, interval_months: u32, rules: &DueRules) -> NaiveDate {
    let due = valid_until(from, interval_months);
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
            // The kept cycle's next period starts the day after the due date.
            Some(d) if c <= d && c >= d - Days::new(u64::from(rules.early_window_days)) => {
                next_due(d.succ_opt().unwrap_or(d), interval_months, rules)
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
        // The due date is the last day in date: the day before the same date a year on.
        assert_eq!(due_date(&[day("2025-03-15")], 12, &PLAIN), Some(day("2026-03-14")));
        // Leap day: 29 February 2024 + 12 months is 28 February 2025; the day before.
        assert_eq!(due_date(&[day("2024-02-29")], 12, &PLAIN), Some(day("2025-02-27")));
        // The latest calibration counts, whatever the order given.
        assert_eq!(
            due_date(&[day("2025-06-01"), day("2024-06-01")], 12, &PLAIN),
            Some(day("2026-05-31"))
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
        // Due 2026-03-14; calibrated 30 days before (2026-02-12): the cycle is kept, and
        // its next period runs from 2026-03-15 to 2027-03-14.
        let h = [day("2025-03-15"), day("2026-02-12")];
        assert_eq!(due_date(&h, 12, &window), Some(day("2027-03-14")));
        // 31 days before: outside the window, a new cycle from the calibration.
        let h = [day("2025-03-15"), day("2026-02-11")];
        assert_eq!(due_date(&h, 12, &window), Some(day("2027-02-10")));
        // On the due date itself: kept.
        let h = [day("2025-03-15"), day("2026-03-14")];
        assert_eq!(due_date(&h, 12, &window), Some(day("2027-03-14")));
        // Late: a new cycle from the calibration.
        let h = [day("2025-03-15"), day("2026-04-01")];
        assert_eq!(due_date(&h, 12, &window), Some(day("2027-03-31")));
        // Without a window, the early calibration moves the cycle.
        let h = [day("2025-03-15"), day("2026-02-13")];
        assert_eq!(due_date(&h, 12, &PLAIN), Some(day("2027-02-12")));
        // A kept cycle from a leap day stays on the month's end.
        let h = [day("2023-02-28"), day("2024-02-20")];
        let both = DueRules {
            month_end: true,
            ..window
        };
        assert_eq!(due_date(&h, 12, &both), Some(day("2025-02-28")));
    }

    #[test]
    fn one_rule_for_valid_until_and_the_due_date() {
        // Worked by hand from the calendar (JJF 1139-2005 sets the interval; the day
        // before the same date is the last day in date, as 有效期至 on a verification
        // certificate reads).
        for (on, months, until) in [
            ("2026-01-15", 12, "2027-01-14"),
            ("2026-01-15", 1, "2026-02-14"),
            ("2026-01-15", 6, "2026-07-14"),
            ("2026-01-15", 24, "2028-01-14"),
            ("2026-01-31", 1, "2026-02-27"),
            ("2024-01-31", 1, "2024-02-28"),
            ("2026-08-31", 6, "2027-02-27"),
            ("2026-12-31", 24, "2028-12-30"),
            ("2026-03-01", 12, "2027-02-28"),
            ("2027-03-01", 12, "2028-02-29"),
        ] {
            assert_eq!(valid_until(day(on), months), day(until), "{on} + {months} months");
            // The schedule's due date after that one calibration is the same day.
            assert_eq!(
                due_date(&[day(on)], months, &PLAIN),
                Some(day(until)),
                "{on} + {months}"
            );
            // In date on its last day, overdue the day after.
            let due = Some(day(until));
            assert_ne!(status(due, true, day(until), &PLAIN), DueStatus::Overdue);
            assert_eq!(
                status(due, true, day(until).succ_opt().unwrap(), &PLAIN),
                DueStatus::Overdue
            );
        }
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
