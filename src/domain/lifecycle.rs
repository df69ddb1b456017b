//! The assessment lifecycle of a public standard (JJF 1033-2023, 计量标准考核规范):
//! how long its certificate is valid, when renewal (复查) opens and the reminders go
//! out, the annual stability check and repeatability test, the logbook's kinds of
//! change, and what is missing from a renewal package.

use super::schedule::add_months;
use super::Error;
use chrono::{Months, NaiveDate};
use serde::Serialize;

/// JJF 1033-2023 §6: a certificate is valid for four years.
pub const DEFAULT_VALIDITY_YEARS: u32 = 4;
pub const MAX_VALIDITY_YEARS: u32 = 10;
/// JJF 1033-2023 (复查): the holder applies for renewal at least six months before the
/// certificate expires. The application deadline is that day.
pub const APPLY_BEFORE_MONTHS: u32 = 6;
/// The first reminder goes out this many months before expiry, three months before the
/// deadline, so that the renewal package can be prepared in time.
pub const FIRST_REMINDER_MONTHS: u32 = 9;
/// A stability check or repeatability test is due every year.
pub const CHECK_EVERY_MONTHS: u32 = 12;

/// The certificate's last valid day: the issue date plus the validity, less one day
/// (issued 2024-03-01 for 4 years: valid to 2028-02-29).
pub fn certificate_expiry(issued: NaiveDate, years: u32) -> NaiveDate {
    add_months(issued, years.min(MAX_VALIDITY_YEARS) * 12)
        .pred_opt()
        .unwrap_or(issued)
}

fn months_before(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(months)).unwrap_or(NaiveDate::MIN)
}

/// The last day to apply for renewal (JJF 1033-2023: at least six months before the last
/// valid day).
pub fn application_deadline(expires: NaiveDate) -> NaiveDate {
    months_before(expires, APPLY_BEFORE_MONTHS)
}

/// The day renewal falls due and the first reminder goes out: nine months before the
/// last valid day, three months before the application deadline.
pub fn renewal_opens(expires: NaiveDate) -> NaiveDate {
    months_before(expires, FIRST_REMINDER_MONTHS)
}

vocabulary! {
    /// Where a certificate stands on a day.
    RenewalState {
        Valid => "valid", "有效", "valid";
        RenewalDue => "renewal_due", "应申请复查", "renewal due: apply by the deadline";
        ApplicationOverdue => "application_overdue", "复查申请已逾期", "renewal application overdue";
        Expired => "expired", "已过期", "expired";
    }
}

pub fn renewal_state(expires: NaiveDate, today: NaiveDate) -> RenewalState {
    if today > expires {
        RenewalState::Expired
    } else if today > application_deadline(expires) {
        RenewalState::ApplicationOverdue
    } else if today >= renewal_opens(expires) {
        RenewalState::RenewalDue
    } else {
        RenewalState::Valid
    }
}

vocabulary! {
    /// The reminders of a certificate's renewal, all before the application deadline
    /// (nine and seven months before expiry, and the deadline itself, six months before),
    /// then when the application is overdue and when the certificate has expired.
    Milestone {
        NineMonths => "9m", "距到期 9 个月（复查申请截止前 3 个月）", "9 months to expiry (3 months to the application deadline)";
        SevenMonths => "7m", "距到期 7 个月（复查申请截止前 1 个月）", "7 months to expiry (1 month to the application deadline)";
        Deadline => "6m", "今日为复查申请截止日", "renewal application deadline today";
        Overdue => "overdue", "复查申请已逾期", "renewal application overdue";
        Expired => "expired", "已过期", "expired";
    }
}

impl Milestone {
    pub fn date(self, expires: NaiveDate) -> NaiveDate {
        match self {
            Milestone::NineMonths => months_before(expires, FIRST_REMINDER_MONTHS),
            Milestone::SevenMonths => months_before(expires, 7),
            Milestone::Deadline => application_deadline(expires),
            Milestone::Overdue => application_deadline(expires).succ_opt().unwrap_or(expires),
            Milestone::Expired => expires.succ_opt().unwrap_or(expires),
        }
    }
}

/// The reminder due on `today`: the latest milestone reached. One missed (the job did not
/// run) is not sent late once a later one is due.
pub fn reminder_due(expires: NaiveDate, today: NaiveDate) -> Option<Milestone> {
    Milestone::ALL.iter().rev().copied().find(|m| today >= m.date(expires))
}

vocabulary! {
    /// The four kinds of change recorded in a standard's logbook (JJF 1033-2023 §7).
    LogbookKind {
        Device => "device", "更换计量标准器或主要配套设备", "standard device or main equipment replaced";
        Regulation => "regulation", "规程规范变更", "regulation or specification changed";
        Staff => "staff", "人员变更", "staff changed";
        Environment => "environment", "环境条件变更", "environment changed";
    }
}

vocabulary! {
    CheckKind {
        Stability => "stability", "稳定性考核", "stability check";
        Repeatability => "repeatability", "重复性试验", "repeatability test";
    }
}

vocabulary! {
    /// What a stability figure is compared with (JJF 1033-2023 §4.2.3): |MPE| when the
    /// standard is used at its nominal value, the U of its correction when corrected.
    LimitSource {
        Mpe => "mpe", "最大允许误差的绝对值", "|MPE|";
        U => "u", "修正值的扩展不确定度", "U of the correction";
    }
}

/// A check's result: the figure, the limit it is compared with, and the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckResult {
    pub figure: f64,
    pub limit: f64,
    pub passed: bool,
}

/// The stability of a standard over a year (JJF 1033-2023 §4.2.3 and appendix C.1).
///
/// A new standard (`previous` None) gives at least four group means, each measured more
/// than a month after the one before; the figure is max − min. An established one gives
/// this year's mean; the figure is its difference from last year's. Either passes when
/// the figure is smaller than the limit.
pub fn stability(means: &[(NaiveDate, f64)], previous: Option<f64>, limit: f64) -> Result<CheckResult, Error> {
    if !(limit.is_finite() && limit > 0.0) {
        return Err(Error::new(
            "limit",
            "check.limit_invalid",
            "the limit must be a positive number",
        ));
    }
    if means.iter().any(|(_, v)| !v.is_finite()) {
        return Err(Error::new(
            "values",
            "check.value_invalid",
            "every value must be a number",
        ));
    }
    let figure = match previous {
        Some(prev) => {
            let Some(&(_, last)) = means.iter().max_by_key(|(d, _)| *d) else {
                return Err(Error::new("values", "check.too_few", "give this year's group mean"));
            };
            (last - prev).abs()
        }
        None => {
            if means.len() < 4 {
                return Err(Error::new(
                    "values",
                    "check.too_few",
                    format!(
                        "a new standard needs at least 4 group means, more than a month apart; {} given",
                        means.len()
                    ),
                ));
            }
            let mut sorted = means.to_vec();
            sorted.sort_by_key(|(d, _)| *d);
            for w in sorted.windows(2) {
                if w[1].0 <= add_months(w[0].0, 1) {
                    return Err(Error::new(
                        "values",
                        "check.too_close",
                        format!(
                            "the group means of {} and {} are not more than a month apart",
                            w[0].0, w[1].0
                        ),
                    ));
                }
            }
            let max = sorted.iter().map(|m| m.1).fold(f64::MIN, f64::max);
            let min = sorted.iter().map(|m| m.1).fold(f64::MAX, f64::min);
            max - min
        }
    };
    Ok(CheckResult {
        figure,
        limit,
        passed: figure < limit,
    })
}

/// The fewest readings a repeatability test accepts; JJF 1033-2023 C.2 asks for n = 10
/// where the method allows it.
pub const MIN_REPEATABILITY_READINGS: usize = 6;

/// A repeatability test (JJF 1033-2023 C.2): the experimental standard deviation s of n
/// readings (Bessel), which must be no larger than the repeatability component of the
/// uncertainty budget.
pub fn repeatability(readings: &[f64], limit: f64) -> Result<CheckResult, Error> {
    if !(limit.is_finite() && limit > 0.0) {
        return Err(Error::new(
            "limit",
            "check.limit_invalid",
            "the limit must be a positive number",
        ));
    }
    if readings.iter().any(|v| !v.is_finite()) {
        return Err(Error::new(
            "values",
            "check.value_invalid",
            "every reading must be a number",
        ));
    }
    if readings.len() < MIN_REPEATABILITY_READINGS {
        return Err(Error::new(
            "values",
            "check.too_few",
            format!(
                "at least {MIN_REPEATABILITY_READINGS} readings (10 is usual); {} given",
                readings.len()
            ),
        ));
    }
    let n = readings.len() as f64;
    let mean = readings.iter().sum::<f64>() / n;
    let s = (readings.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Ok(CheckResult {
        figure: s,
        limit,
        passed: s <= limit,
    })
}

/// JJF 1033-2023's repeatability test takes at least ten readings; fewer are recorded (six
/// are the least the figure means anything with) but the check says so.
pub const USUAL_REPEATABILITY_READINGS: usize = 10;

/// The warning a recorded check carries: `check.few_readings` for a repeatability test
/// of fewer than ten readings (issue 21, defect 10).
pub fn check_warning(kind: CheckKind, readings: usize) -> Option<&'static str> {
    (kind == CheckKind::Repeatability && readings < USUAL_REPEATABILITY_READINGS).then_some("check.few_readings")
}

/// A check is overdue when none was done in the last 12 months (the last on 2025-03-15
/// is still in time on 2026-03-15 and overdue on 2026-03-16).
pub fn check_overdue(last: Option<NaiveDate>, today: NaiveDate) -> bool {
    last.is_none_or(|d| add_months(d, CHECK_EVERY_MONTHS) < today)
}

vocabulary! {
    /// What a renewal package can lack.
    GapKind {
        DeviceCertificate => "device_certificate", "标准器证书不连续", "no valid device certificate";
        Stability => "stability", "缺少稳定性考核", "no stability check";
        Repeatability => "repeatability", "缺少重复性试验", "no repeatability test";
    }
}

/// Something missing from a renewal package, with the days it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    #[serde(serialize_with = "as_str")]
    pub kind: GapKind,
    /// The device's name and serial, or empty for the standard's own checks.
    pub subject: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn as_str<S: serde::Serializer>(k: &GapKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

/// The days of [from, to] that no certificate (calibrated_on, valid_until) covers.
pub fn uncovered(
    from: NaiveDate,
    to: NaiveDate,
    certificates: &[(NaiveDate, NaiveDate)],
) -> Vec<(NaiveDate, NaiveDate)> {
    let mut certs: Vec<_> = certificates.iter().copied().filter(|(a, b)| a <= b).collect();
    certs.sort();
    let mut gaps = Vec::new();
    let mut next = from; // the first day not yet covered
    for (a, b) in certs {
        if next > to {
            break;
        }
        if a > next {
            gaps.push((next, a.pred_opt().unwrap_or(a).min(to)));
        }
        if b >= next {
            next = b.succ_opt().unwrap_or(b);
        }
    }
    if next <= to {
        gaps.push((next, to));
    }
    gaps
}

/// One standard's evidence over its certificate's period, for the completeness check.
pub struct Evidence<'a> {
    pub issued: NaiveDate,
    /// The last day examined: the certificate's expiry, or today if earlier.
    pub until: NaiveDate,
    /// Each device's label and its certificates' (calibrated_on, valid_until).
    pub devices: &'a [(String, Vec<(NaiveDate, NaiveDate)>)],
    pub stability: &'a [NaiveDate],
    pub repeatability: &'a [NaiveDate],
}

/// What a renewal package lacks: each device's days without a valid certificate, and
/// each year of the certificate (from its issue date) without a stability check or a
/// repeatability test.
pub fn renewal_gaps(e: &Evidence) -> Vec<Gap> {
    let mut gaps = Vec::new();
    for (label, certs) in e.devices {
        for (from, to) in uncovered(e.issued, e.until, certs) {
            gaps.push(Gap {
                kind: GapKind::DeviceCertificate,
                subject: label.clone(),
                from,
                to,
            });
        }
    }
    // Whole years of the certificate that have ended by `until`.
    let mut year = 0;
    loop {
        let start = add_months(e.issued, year * 12);
        let end = add_months(e.issued, (year + 1) * 12).pred_opt().unwrap_or(start);
        if end > e.until {
            break;
        }
        for (kind, dates) in [
            (GapKind::Stability, e.stability),
            (GapKind::Repeatability, e.repeatability),
        ] {
            if !dates.iter().any(|d| (start..=end).contains(d)) {
                gaps.push(Gap {
                    kind,
                    subject: String::new(),
                    from: start,
                    to: end,
                });
            }
        }
        year += 1;
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_certificate_is_valid_four_years_less_a_day() {
        // JJF 1033-2023 §6: valid four years; the last valid day is the day before the anniversary.
        assert_eq!(certificate_expiry(d("2024-03-01"), 4), d("2028-02-29"));
        assert_eq!(certificate_expiry(d("2023-01-01"), 4), d("2026-12-31"));
        // Issued on 29 February: the anniversary falls on 28 February, so valid to the 27th.
        assert_eq!(certificate_expiry(d("2024-02-29"), 4), d("2028-02-28"));
        assert_eq!(certificate_expiry(d("2024-02-29"), 1), d("2025-02-27"));
        assert_eq!(certificate_expiry(d("2024-03-01"), 5), d("2029-02-28"));
    }

    #[test]
    fn a_repeatability_test_of_fewer_than_ten_readings_warns() {
        // JJF 1033-2023 (重复性试验): n ≥ 10.
        assert_eq!(check_warning(CheckKind::Repeatability, 6), Some("check.few_readings"));
        assert_eq!(check_warning(CheckKind::Repeatability, 9), Some("check.few_readings"));
        assert_eq!(check_warning(CheckKind::Repeatability, 10), None);
        assert_eq!(check_warning(CheckKind::Stability, 4), None);
    }

    #[test]
    fn renewal_is_applied_for_six_months_before_expiry() {
        // JJF 1033-2023 (复查): apply at least six months before expiry. Valid to
        // 2028-02-29: apply by 2027-08-29; due (first reminder) from 2027-05-29.
        let x = d("2028-02-29");
        assert_eq!(application_deadline(x), d("2027-08-29"));
        assert_eq!(renewal_opens(x), d("2027-05-29"));
        assert_eq!(renewal_state(x, d("2027-05-28")), RenewalState::Valid);
        assert_eq!(renewal_state(x, d("2027-05-29")), RenewalState::RenewalDue);
        assert_eq!(renewal_state(x, d("2027-08-29")), RenewalState::RenewalDue);
        assert_eq!(renewal_state(x, d("2027-08-30")), RenewalState::ApplicationOverdue);
        assert_eq!(renewal_state(x, d("2028-02-29")), RenewalState::ApplicationOverdue);
        assert_eq!(renewal_state(x, d("2028-03-01")), RenewalState::Expired);
        // Month ends: six months before 31 August is 28 or 29 February.
        assert_eq!(application_deadline(d("2027-08-31")), d("2027-02-28"));
    }

    #[test]
    fn every_reminder_comes_before_the_application_deadline_then_overdue() {
        // Issue 21, defect 9: the 3- and 1-month reminders fell after the deadline. Now
        // 9 and 7 months before expiry, the deadline day (6 months), then overdue.
        let x = d("2027-12-31");
        assert_eq!(reminder_due(x, d("2027-03-30")), None);
        assert_eq!(reminder_due(x, d("2027-03-31")), Some(Milestone::NineMonths));
        assert_eq!(reminder_due(x, d("2027-05-30")), Some(Milestone::NineMonths));
        assert_eq!(reminder_due(x, d("2027-05-31")), Some(Milestone::SevenMonths));
        assert_eq!(reminder_due(x, d("2027-06-30")), Some(Milestone::Deadline));
        assert_eq!(reminder_due(x, d("2027-07-01")), Some(Milestone::Overdue));
        assert_eq!(reminder_due(x, d("2027-12-31")), Some(Milestone::Overdue));
        assert_eq!(reminder_due(x, d("2028-01-01")), Some(Milestone::Expired));
        for m in [Milestone::NineMonths, Milestone::SevenMonths, Milestone::Deadline] {
            assert!(m.date(x) <= application_deadline(x), "{m:?}");
        }
    }

    #[test]
    fn stability_of_a_new_standard_is_max_minus_min_of_four_means() {
        // JJF 1033-2023 C.1.2 (new standard): m ≥ 4 group means, each more than a month
        // after the last; stability = max − min. Hand arithmetic: 10.0021 − 10.0012 = 0.0009.
        let means = [
            (d("2026-01-10"), 10.0015),
            (d("2026-02-11"), 10.0021),
            (d("2026-03-12"), 10.0012),
            (d("2026-04-15"), 10.0018),
        ];
        let r = stability(&means, None, 0.001).unwrap();
        assert!((r.figure - 0.0009).abs() < 1e-12, "{}", r.figure);
        assert!(r.passed);
        // Equal to the limit is not smaller than it: fails.
        assert!(!stability(&means, None, r.figure).unwrap().passed);
        // Three means are too few; a month apart exactly is not more than a month.
        assert_eq!(stability(&means[..3], None, 0.001).unwrap_err().code, "check.too_few");
        let close = [
            (d("2026-01-31"), 1.0),
            (d("2026-02-28"), 1.0),
            (d("2026-04-01"), 1.0),
            (d("2026-05-02"), 1.0),
        ];
        assert_eq!(stability(&close, None, 0.1).unwrap_err().code, "check.too_close");
        let mut apart = close;
        apart[1].0 = d("2026-03-01");
        apart[2].0 = d("2026-04-02");
        apart[3].0 = d("2026-05-03");
        assert!(stability(&apart, None, 0.1).is_ok());
    }

    #[test]
    fn stability_of_an_established_standard_is_the_change_from_last_year() {
        // C.1.1: the difference between this year's mean and last year's.
        let r = stability(&[(d("2026-05-01"), 99.9987)], Some(99.9995), 0.0010).unwrap();
        assert!((r.figure - 0.0008).abs() < 1e-12);
        assert!(r.passed);
        assert!(
            !stability(&[(d("2026-05-01"), 99.9984)], Some(99.9995), 0.0010)
                .unwrap()
                .passed
        );
    }

    #[test]
    fn repeatability_is_the_bessel_standard_deviation() {
        // Ten readings; s = 0.001636391694485729 from Python's statistics.stdev (Bessel).
        let r = [
            100.012, 100.015, 100.011, 100.013, 100.016, 100.012, 100.014, 100.013, 100.015, 100.012,
        ];
        let t = repeatability(&r, 0.0017).unwrap();
        assert!((t.figure - 0.001636391694485729).abs() < 1e-12, "{}", t.figure);
        assert!(t.passed);
        assert!(!repeatability(&r, 0.0016).unwrap().passed);
        assert_eq!(repeatability(&r[..5], 0.01).unwrap_err().code, "check.too_few");
        assert_eq!(repeatability(&r, 0.0).unwrap_err().field, "limit");
    }

    #[test]
    fn a_check_is_overdue_after_twelve_months() {
        assert!(!check_overdue(Some(d("2025-03-15")), d("2026-03-15")));
        assert!(check_overdue(Some(d("2025-03-15")), d("2026-03-16")));
        assert!(check_overdue(None, d("2026-03-16")));
        assert!(!check_overdue(Some(d("2024-02-29")), d("2025-02-28")));
        assert!(check_overdue(Some(d("2024-02-29")), d("2025-03-01")));
    }

    #[test]
    fn uncovered_days_between_certificates() {
        let certs = [(d("2024-01-10"), d("2025-01-09")), (d("2025-01-20"), d("2026-01-19"))];
        assert_eq!(
            uncovered(d("2024-03-01"), d("2026-02-28"), &certs),
            vec![(d("2025-01-10"), d("2025-01-19")), (d("2026-01-20"), d("2026-02-28"))]
        );
        // Back to back, and overlapping: no gap.
        let certs = [
            (d("2024-01-10"), d("2025-01-09")),
            (d("2025-01-10"), d("2026-01-09")),
            (d("2025-12-01"), d("2026-12-01")),
        ];
        assert!(uncovered(d("2024-03-01"), d("2026-11-30"), &certs).is_empty());
        assert_eq!(
            uncovered(d("2024-03-01"), d("2024-03-31"), &[]),
            vec![(d("2024-03-01"), d("2024-03-31"))]
        );
    }

    #[test]
    fn renewal_gaps_name_the_device_and_the_years_without_checks() {
        let devices = vec![(
            "量块 A123".to_owned(),
            vec![(d("2024-02-01"), d("2025-01-31")), (d("2025-03-01"), d("2026-02-28"))],
        )];
        let e = Evidence {
            issued: d("2024-03-01"),
            until: d("2026-05-31"),
            devices: &devices,
            stability: &[d("2024-09-01"), d("2025-09-01")],
            repeatability: &[d("2024-09-02")],
        };
        let gaps = renewal_gaps(&e);
        assert_eq!(
            gaps,
            vec![
                Gap {
                    kind: GapKind::DeviceCertificate,
                    subject: "量块 A123".into(),
                    from: d("2025-02-01"),
                    to: d("2025-02-28")
                },
                Gap {
                    kind: GapKind::DeviceCertificate,
                    subject: "量块 A123".into(),
                    from: d("2026-03-01"),
                    to: d("2026-05-31")
                },
                Gap {
                    kind: GapKind::Repeatability,
                    subject: String::new(),
                    from: d("2025-03-01"),
                    to: d("2026-02-28")
                },
            ]
        );
    }
}
