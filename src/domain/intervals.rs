//! Calibration interval analysis (ILAC-G24:2022 / OIML D 10, JJF 1139): the rules that
//! propose a new interval from the evidence. A person approves each proposal before it
//! applies; the service stores the method, its parameters and the inputs with it.
//!
//! - [`staircase`]: one item, from its latest as-found error against its MPE (ILAC-G24
//!   method 1, "automatic adjustment or staircase").
//! - [`binomial_test`]: a group of like instruments pooled across the province, from
//!   how many were found in tolerance at the end of their interval (NCSLI RP-1 method A3,
//!   the interval test method).

use statrs::distribution::{Beta, ContinuousCDF};

/// What a rule proposes for the interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proposal {
    Extend,
    Keep,
    Shorten,
}

/// The staircase's parameters (ILAC-G24:2022 method 1), set by each organisation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Staircase {
    /// Extend when the as-found error was within this fraction of the MPE (e.g. 0.5).
    pub extend_within: f64,
    /// The factor of an extension (e.g. 1.25) and of a shortening (e.g. 0.5).
    pub extend_by: f64,
    pub shorten_by: f64,
    /// The interval stays within these, in months.
    pub min_months: f64,
    pub max_months: f64,
    /// Whether a new interval is rounded to whole months (else kept exact).
    pub whole_months: bool,
}

impl Staircase {
    /// What is wrong with these parameters, as (field, message) pairs: each factor and
    /// fraction in its range, the bounds in order.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if !(self.extend_within >= 0.0 && self.extend_within <= 1.0) {
            out.push(("extend_threshold", "a fraction of the MPE from 0 to 1"));
        }
        if !(self.extend_by >= 1.0 && self.extend_by <= 10.0) {
            out.push(("extend_factor", "a factor from 1 to 10"));
        }
        if !(self.shorten_by > 0.0 && self.shorten_by <= 1.0) {
            out.push(("shorten_factor", "a factor above 0, at most 1"));
        }
        if !(self.min_months > 0.0 && self.min_months <= 1200.0) {
            out.push(("min_months", "a number of months above 0"));
        }
        if !(self.max_months >= self.min_months && self.max_months <= 1200.0) {
            out.push(("max_months", "a number of months not below the minimum, at most 1200"));
        }
        out
    }
}

/// One step of the staircase.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Step {
    pub action: StepAction,
    pub interval_before_months: f64,
    /// The interval times the factor (rounded to whole months when the rule says so),
    /// before the minimum and maximum.
    pub interval_unclamped_months: f64,
    pub interval_after_months: f64,
    pub clamped: bool,
}

/// What the staircase does on one calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    Extend,
    Hold,
    Shorten,
}

/// `a ≤ b` up to the last bits of binary noise (|e| = MPE is within tolerance).
fn at_most(a: f64, b: f64) -> bool {
    a <= b + 1e-12 * b.abs()
}

/// The staircase on one calibration: out of tolerance (|e| > MPE) shortens, within the
/// set fraction of the MPE extends, anything between holds. The new interval is the old
/// one times the factor, rounded to whole months when the rule says so (at least one),
/// then kept within the minimum and maximum. None when the MPE is not positive.
pub fn staircase_step(interval_months: f64, as_found_error: f64, mpe: f64, p: &Staircase) -> Option<Step> {
    if mpe.is_nan() || mpe <= 0.0 || !as_found_error.is_finite() || interval_months.is_nan() || interval_months <= 0.0 {
        return None;
    }
    let e = as_found_error.abs();
    let (action, factor) = if !at_most(e, mpe) {
        (StepAction::Shorten, p.shorten_by)
    } else if at_most(e, p.extend_within * mpe) {
        (StepAction::Extend, p.extend_by)
    } else {
        (StepAction::Hold, 1.0)
    };
    let mut unclamped = interval_months * factor;
    if p.whole_months {
        unclamped = unclamped.round().max(1.0);
    }
    let after = unclamped.clamp(p.min_months, p.max_months.max(p.min_months));
    Some(Step {
        action,
        interval_before_months: interval_months,
        interval_unclamped_months: unclamped,
        interval_after_months: after,
        clamped: after != unclamped,
    })
}

/// The exact (Clopper–Pearson) two-sided confidence interval of a proportion: `x` of
/// `n` at confidence `level` (e.g. 0.95).
pub fn clopper_pearson(x: u32, n: u32, level: f64) -> Option<(f64, f64)> {
    if n == 0 || x > n || !(0.0 < level && level < 1.0) {
        return None;
    }
    let alpha = 1.0 - level;
    let (xf, nf) = (f64::from(x), f64::from(n));
    let lower = if x == 0 {
        0.0
    } else {
        Beta::new(xf, nf - xf + 1.0).ok()?.inverse_cdf(alpha / 2.0)
    };
    let upper = if x == n {
        1.0
    } else {
        Beta::new(xf + 1.0, nf - xf).ok()?.inverse_cdf(1.0 - alpha / 2.0)
    };
    Some((lower, upper))
}

/// The outcome of the interval test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BinomialTest {
    pub observed: f64,
    pub lower: f64,
    pub upper: f64,
    pub proposal: Proposal,
    /// The interval that would bring the reliability to the target under an exponential
    /// reliability model, R(I) = exp(−λI): I·ln R*/ln R, before any limit. When every one
    /// was in tolerance (R = 1) or none was (R = 0), R is the confidence interval's bound
    /// (lower or upper) instead, as RP-1 does. None when the interval is kept.
    pub suggested_months: Option<f64>,
    /// The new interval: the suggestion within the maximum change (I/f to I·f) and within
    /// the minimum and maximum interval; the current one when it is kept.
    pub new_months: f64,
    /// Whether a limit moved the suggestion.
    pub clamped: bool,
}

/// RP-1's limits on a change of interval (in the unit of the interval): at most a factor
/// `max_change_factor` either way, and within `min`..=`max`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ChangeLimits {
    pub max_change_factor: f64,
    pub min: f64,
    pub max: f64,
}

impl ChangeLimits {
    /// In months: a factor of 2, from 14 days to 1,826 days (5 years), as RP-1's
    /// examples and metrocal's calculator default to.
    pub const MONTHS: ChangeLimits = ChangeLimits {
        max_change_factor: 2.0,
        min: 14.0 / 30.4375,
        max: 1826.0 / 30.4375,
    };

    /// `proposed` for a current interval `current`: within the change factor, then
    /// within the minimum and maximum; and whether it moved.
    pub fn apply(&self, current: f64, proposed: f64) -> (f64, bool) {
        let f = self.max_change_factor.max(1.0);
        let v = proposed.clamp(current / f, current * f).clamp(self.min, self.max);
        (v, (v - proposed).abs() > 1e-12 * proposed.abs().max(1.0))
    }
}

/// NCSLI RP-1 method A3: `in_tolerance` of `n` were found in tolerance at the end of
/// `interval` (in any one unit, as `limits` are: months for the group proposals, days
/// for the calculator). The interval is kept when the target reliability lies within the
/// confidence interval of the observed one; shortened when the target is above it (too
/// many out of tolerance), extended when below it.
pub fn binomial_test(
    in_tolerance: u32,
    n: u32,
    target: f64,
    level: f64,
    interval: f64,
    limits: &ChangeLimits,
) -> Option<BinomialTest> {
    if !(0.0 < target && target < 1.0) {
        return None;
    }
    let (lower, upper) = clopper_pearson(in_tolerance, n, level)?;
    let observed = f64::from(in_tolerance) / f64::from(n);
    let proposal = if target > upper {
        Proposal::Shorten
    } else if target < lower {
        Proposal::Extend
    } else {
        Proposal::Keep
    };
    // All in tolerance (R = 1) gives no ln R to scale by: the lower bound stands in, and
    // none in tolerance the upper (issue 21, defect 7: 36 of 36 said "extend" and kept).
    let r = if observed >= 1.0 {
        lower
    } else if observed <= 0.0 {
        upper
    } else {
        observed
    };
    let suggested_months = match proposal {
        Proposal::Keep => None,
        _ if !(0.0 < r && r < 1.0) => None,
        _ => Some(interval * target.ln() / r.ln()),
    };
    let (new_months, clamped) = match (proposal, suggested_months) {
        (Proposal::Keep, _) => (interval, false),
        (p, None) => limits.apply(
            interval,
            if p == Proposal::Extend {
                interval * limits.max_change_factor
            } else {
                interval / limits.max_change_factor
            },
        ),
        (_, Some(m)) => limits.apply(interval, m),
    };
    Some(BinomialTest {
        observed,
        lower,
        upper,
        proposal,
        suggested_months,
        new_months,
        clamped,
    })
}

/// NCSLI RP-1 method S2 with the exponential reliability model R(t) = exp(−λt): the
/// maximum-likelihood λ from end-of-period results at various intervals, and the interval
/// at which the reliability falls to the target.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ReliabilityFit {
    /// Failure rate per month.
    pub lambda: f64,
    /// −ln(target)/λ, in months.
    pub suggested_months: f64,
    pub observations: usize,
}

/// Fits R(t) = exp(−λt) to `results`, each (interval in months, found in tolerance), by
/// maximum likelihood: log L(λ) = Σ in −λt + Σ out ln(1 − e^{−λt}), whose derivative
/// falls monotonically in λ, so its root is found by bisection. None without both an
/// in-tolerance and an out-of-tolerance result (no finite estimate), or for a target
/// outside (0, 1).
pub fn exponential_fit(results: &[(f64, bool)], target: f64) -> Option<ReliabilityFit> {
    if !(0.0 < target && target < 1.0) || results.iter().any(|(t, _)| !(t.is_finite() && *t > 0.0)) {
        return None;
    }
    if !results.iter().any(|r| r.1) || !results.iter().any(|r| !r.1) {
        return None;
    }
    let slope = |l: f64| -> f64 {
        results
            .iter()
            .map(|&(t, ok)| {
                if ok {
                    -t
                } else {
                    // t·e^{−λt}/(1 − e^{−λt}) = t/(e^{λt} − 1)
                    t / (l * t).exp_m1()
                }
            })
            .sum()
    };
    let (mut lo, mut hi) = (1e-12_f64, 1.0_f64);
    while slope(hi) > 0.0 {
        hi *= 2.0;
        if hi > 1e6 {
            return None;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if slope(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= f64::EPSILON * hi {
            break;
        }
    }
    let lambda = 0.5 * (lo + hi);
    Some(ReliabilityFit {
        lambda,
        suggested_months: -target.ln() / lambda,
        observations: results.len(),
    })
}

/// One group of RP-1 method S2: `n` items calibrated after `interval`, of which
/// `in_tolerance` were found in tolerance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Group {
    pub interval: f64,
    pub n: u32,
    pub in_tolerance: u32,
}

/// RP-1's goodness-of-fit test of a reliability model (NCSLI RP-1 Appendix D, the
/// lack-of-fit F test): the lack of fit s_L² = Σ nᵢ(R̂ᵢ − R(tᵢ))²/(k − m) against the
/// pure error s_E² = Σ nᵢR̂ᵢ(1 − R̂ᵢ)/(n − k), for k intervals, n results and m = 1
/// parameter. The model is rejected when F = s_L²/s_E² exceeds the F distribution's
/// quantile at the rejection confidence.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FTest {
    /// Infinite (null in JSON) when the pure error is zero and the fit is not exact.
    pub f: f64,
    pub f_critical: f64,
    pub accept: bool,
}

/// Method S2 on grouped results: the exponential fit and its F test (None when there are
/// fewer than two intervals or no pure error's degrees of freedom, so nothing to test).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct S2 {
    /// Per unit of the intervals.
    pub lambda: f64,
    /// −ln R*/λ, in the unit of the intervals.
    pub interval: f64,
    pub f_test: Option<FTest>,
}

/// The quantile of Snedecor's F(d1, d2) at `p`, through the beta distribution:
/// X ~ Beta(d1/2, d2/2) ⇒ F = d2·X/(d1·(1 − X)).
fn f_quantile(p: f64, d1: f64, d2: f64) -> Option<f64> {
    let x = Beta::new(d1 / 2.0, d2 / 2.0).ok()?.inverse_cdf(p);
    Some(d2 * x / (d1 * (1.0 - x)))
}

/// Fits R(t) = exp(−λt) to `groups` by maximum likelihood and tests the fit at
/// `rejection_confidence` (e.g. 0.95). Groups at the same interval are pooled. None
/// without both an in- and an out-of-tolerance result, or with a bad target.
pub fn s2(groups: &[Group], target: f64, rejection_confidence: f64) -> Option<S2> {
    let mut pooled: Vec<Group> = Vec::new();
    for g in groups {
        match pooled.iter_mut().find(|p| p.interval == g.interval) {
            Some(p) => {
                p.n += g.n;
                p.in_tolerance += g.in_tolerance;
            }
            None => pooled.push(*g),
        }
    }
    pooled.retain(|g| g.n > 0);
    let results: Vec<(f64, bool)> = pooled
        .iter()
        .flat_map(|g| (0..g.n).map(move |i| (g.interval, i < g.in_tolerance)))
        .collect();
    let fit = exponential_fit(&results, target)?;
    let k = pooled.len() as f64;
    let n = results.len() as f64;
    let f_test = if k >= 2.0 && n > k {
        let (mut lack, mut pure) = (0.0, 0.0);
        for g in &pooled {
            let ni = f64::from(g.n);
            let r_hat = f64::from(g.in_tolerance) / ni;
            let r = (-fit.lambda * g.interval).exp();
            lack += ni * (r_hat - r).powi(2);
            pure += ni * r_hat * (1.0 - r_hat);
        }
        let (d1, d2) = (k - 1.0, n - k);
        let f = if pure > 0.0 {
            (lack / d1) / (pure / d2)
        } else if lack > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        let f_critical = f_quantile(rejection_confidence, d1, d2)?;
        Some(FTest {
            f,
            f_critical,
            accept: f <= f_critical,
        })
    } else {
        None
    };
    Some(S2 {
        lambda: fit.lambda,
        interval: fit.suggested_months,
        f_test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exponential_fit_agrees_with_a3_on_one_interval_and_with_scipy_on_two() {
        // One interval: the MLE is R = k/n, so λ = −ln(k/n)/t, and the suggested interval
        // is A3's t·ln R*/ln R. 12 of 20 at 12 months, target 0.90.
        let results: Vec<(f64, bool)> = (0..20).map(|i| (12.0, i < 12)).collect();
        let fit = exponential_fit(&results, 0.90).unwrap();
        let a3 = binomial_test(12, 20, 0.90, 0.95, 12.0, &ChangeLimits::MONTHS)
            .unwrap()
            .suggested_months
            .unwrap();
        assert!(
            (fit.suggested_months - a3).abs() < 1e-9,
            "{} vs {a3}",
            fit.suggested_months
        );
        assert!((fit.lambda - -(0.6f64.ln()) / 12.0).abs() < 1e-12);
        // Two intervals: 28 of 30 in tolerance at 6 months, 16 of 20 at 12. SciPy
        // (brentq on the score, xtol 1e-16): λ = 0.015417510443425578 per month,
        // −ln 0.9/λ = 6.833821585167449 months.
        let mut results: Vec<(f64, bool)> = (0..30).map(|i| (6.0, i < 28)).collect();
        results.extend((0..20).map(|i| (12.0, i < 16)));
        let fit = exponential_fit(&results, 0.90).unwrap();
        assert!((fit.lambda - 0.015417510443425578).abs() < 1e-12, "{}", fit.lambda);
        assert!((fit.suggested_months - 6.833821585167449).abs() < 1e-9);
        assert_eq!(fit.observations, 50);
        // No failures (or no successes): no finite estimate.
        assert!(exponential_fit(&[(12.0, true); 5], 0.9).is_none());
        assert!(exponential_fit(&[(12.0, false); 5], 0.9).is_none());
    }

    /// P(X ≤ k) for X ~ Binomial(n, p), by summing the terms: an independent way to
    /// check a Clopper–Pearson bound.
    fn binomial_cdf(k: u32, n: u32, p: f64) -> f64 {
        let mut sum = 0.0;
        let mut term = (1.0 - p).powi(n as i32); // P(X = 0)
        for i in 0..=k {
            if i > 0 {
                term *= f64::from(n - i + 1) / f64::from(i) * p / (1.0 - p);
            }
            sum += term;
        }
        sum
    }

    // Reference values: scipy.stats.beta.ppf (SciPy 1.x), the usual way the exact
    // interval is computed: 17/20 → (0.621073, 0.967929); 12/20 → (0.360543, 0.808810);
    // 20/20 → (0.831567, 1); 0/20 → (0, 0.168433).
    #[test]
    fn clopper_pearson_bounds() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        let (lo, hi) = clopper_pearson(17, 20, 0.95).unwrap();
        assert!(close(lo, 0.621_073_173) && close(hi, 0.967_929_063), "{lo} {hi}");
        let (lo, hi) = clopper_pearson(12, 20, 0.95).unwrap();
        assert!(close(lo, 0.360_542_587) && close(hi, 0.808_809_939), "{lo} {hi}");
        let (lo, hi) = clopper_pearson(20, 20, 0.95).unwrap();
        assert!(close(lo, 0.831_566_529) && hi == 1.0, "{lo} {hi}");
        let (lo, hi) = clopper_pearson(0, 20, 0.95).unwrap();
        assert!(lo == 0.0 && close(hi, 0.168_433_471), "{lo} {hi}");
        // The defining property, checked by summing the binomial terms: at the upper
        // bound, P(X ≤ x) = α/2; at the lower bound, P(X ≥ x) = α/2.
        for (x, n) in [(17, 20), (12, 20), (3, 7), (45, 50)] {
            let (lo, hi) = clopper_pearson(x, n, 0.95).unwrap();
            assert!((binomial_cdf(x, n, hi) - 0.025).abs() < 1e-9, "{x}/{n}");
            assert!((1.0 - binomial_cdf(x - 1, n, lo) - 0.025).abs() < 1e-9, "{x}/{n}");
        }
        assert_eq!(clopper_pearson(3, 0, 0.95), None);
        assert_eq!(clopper_pearson(21, 20, 0.95), None);
    }

    // The worked examples (NCSLI RP-1 method A3, target 0.90, 95 % confidence):
    // 17 of 20 in tolerance → keep; 12 of 20 → shorten.
    #[test]
    fn method_a3_decisions() {
        let unlimited = ChangeLimits {
            max_change_factor: f64::INFINITY,
            min: 0.0,
            max: f64::INFINITY,
        };
        let binomial_test = |x, n, t, l, i| binomial_test(x, n, t, l, i, &unlimited);
        let keep = binomial_test(17, 20, 0.90, 0.95, 12.0).unwrap();
        assert_eq!(keep.proposal, Proposal::Keep);
        assert_eq!(keep.suggested_months, None);
        let shorten = binomial_test(12, 20, 0.90, 0.95, 12.0).unwrap();
        assert_eq!(shorten.proposal, Proposal::Shorten);
        // 12 × ln 0.9 / ln 0.6 = 12 × 0.1053605 / 0.5108256 = 2.475064 months
        // (Python's math.log: 2.475064149235206).
        let m = shorten.suggested_months.unwrap();
        assert!((m - 2.475_064_149).abs() < 1e-8, "{m}");
        // 20 of 20: the target lies below the interval (0.8316, 1] only when it is
        // below 0.8316; at 0.90 the interval is kept, at 0.80 extended.
        assert_eq!(
            binomial_test(20, 20, 0.90, 0.95, 12.0).unwrap().proposal,
            Proposal::Keep
        );
        assert_eq!(
            binomial_test(20, 20, 0.80, 0.95, 12.0).unwrap().proposal,
            Proposal::Extend
        );
        assert_eq!(binomial_test(12, 20, 1.0, 0.95, 12.0), None);
    }

    #[test]
    fn method_a3_lengthens_when_all_are_in_tolerance_and_limits_its_change() {
        // Issue 21, defect 7 (NCSLI RP-1, method A3; max change factor 2 by default).
        let l = ChangeLimits::MONTHS;
        // 36 of 36 in tolerance, target 0.90, 95 %: the two-sided Clopper–Pearson lower
        // bound is 0.025^(1/36) = 0.902606 (scipy.stats.beta.ppf(0.025, 36, 1)), above the
        // target: extend, from the bound: 12 × ln 0.9 / ln 0.902606.
        let t = binomial_test(36, 36, 0.90, 0.95, 12.0, &l).unwrap();
        assert_eq!(t.proposal, Proposal::Extend);
        assert!((t.lower - 0.025f64.powf(1.0 / 36.0)).abs() < 1e-12);
        let want = 12.0 * 0.9f64.ln() / 0.025f64.powf(1.0 / 36.0).ln();
        assert!((t.suggested_months.unwrap() - want).abs() < 1e-9);
        assert!(t.new_months > 12.0 && !t.clamped, "{t:?}");
        // 98 of 100 at 12 months: 12 × ln 0.9 / ln 0.98 = 62.6 months, limited to 24 (×2).
        let t = binomial_test(98, 100, 0.90, 0.95, 12.0, &l).unwrap();
        assert_eq!(t.proposal, Proposal::Extend);
        assert!((t.suggested_months.unwrap() - 62.58).abs() < 0.01);
        assert_eq!((t.new_months, t.clamped), (24.0, true));
        // 12 of 20: 2.48 months, limited to 6 (÷2).
        let t = binomial_test(12, 20, 0.90, 0.95, 12.0, &l).unwrap();
        assert_eq!((t.new_months, t.clamped), (6.0, true));
        // The maximum interval (1,826 days, 60 months) bounds a long one.
        let t = binomial_test(98, 100, 0.90, 0.95, 48.0, &l).unwrap();
        assert!((t.new_months - 1826.0 / 30.4375).abs() < 1e-9);
        // Kept: unchanged.
        assert_eq!(binomial_test(17, 20, 0.90, 0.95, 12.0, &l).unwrap().new_months, 12.0);
    }

    // NCSLI RP-1 method S2 with the exponential model and its lack-of-fit F test, on
    // grouped results; reference values from SciPy (brentq on the likelihood's score,
    // xtol 1e-16; scipy.stats.f.ppf(0.95, k − 1, n − k)).
    #[test]
    fn method_s2_fits_and_tests_its_model() {
        let g = |interval: f64, n: u32, in_tolerance: u32| Group {
            interval,
            n,
            in_tolerance,
        };
        // Accepted: 46/50 at 6 months, 42/50 at 12, 38/50 at 18 follow exp(−λt) closely:
        // λ = 0.0147635202959575 per month, t* = 7.13654423509518 months at R* = 0.90,
        // F = 0.0136211403329118 < F(0.95; 2, 147) = 3.05762065164939.
        let s = s2(&[g(6.0, 50, 46), g(12.0, 50, 42), g(18.0, 50, 38)], 0.90, 0.95).unwrap();
        assert!((s.lambda - 0.014_763_520_295_957_5).abs() < 1e-12, "{s:?}");
        assert!((s.interval - 7.136_544_235_095_18).abs() < 1e-8);
        let f = s.f_test.unwrap();
        assert!((f.f - 0.013_621_140_332_911_8).abs() < 1e-9, "{f:?}");
        assert!((f.f_critical - 3.057_620_651_649_39).abs() < 1e-8, "{f:?}");
        assert!(f.accept);
        // Rejected: 70/100 at 6 months, 95/100 at 12, 60/100 at 24 do not fall off
        // exponentially: λ = 0.0210880212307167, F = 18.7906032484532 >
        // F(0.95; 2, 297) = 3.02615336856538.
        let s = s2(&[g(6.0, 100, 70), g(12.0, 100, 95), g(24.0, 100, 60)], 0.90, 0.95).unwrap();
        assert!((s.lambda - 0.021_088_021_230_716_7).abs() < 1e-12);
        let f = s.f_test.unwrap();
        assert!((f.f - 18.790_603_248_453_2).abs() < 1e-8, "{f:?}");
        assert!((f.f_critical - 3.026_153_368_565_38).abs() < 1e-8);
        assert!(!f.accept);
        // One interval: nothing to test the model against. Groups at the same interval
        // are pooled.
        assert_eq!(s2(&[g(12.0, 20, 12)], 0.9, 0.95).unwrap().f_test, None);
        assert_eq!(s2(&[g(12.0, 10, 6), g(12.0, 10, 6)], 0.9, 0.95).unwrap().f_test, None);
    }

    /// The staircase on one calibration, as a proposal and a whole number of months.
    fn staircase(interval_months: u32, as_found_error: f64, mpe: f64, p: &Staircase) -> Option<(Proposal, u32)> {
        let s = staircase_step(f64::from(interval_months), as_found_error, mpe, p)?;
        let proposal = match s.action {
            StepAction::Extend => Proposal::Extend,
            StepAction::Hold => Proposal::Keep,
            StepAction::Shorten => Proposal::Shorten,
        };
        Some((proposal, s.interval_after_months.round().max(1.0) as u32))
    }

    #[test]
    fn staircase_at_its_boundaries() {
        let p = Staircase {
            extend_within: 0.5,
            extend_by: 1.25,
            shorten_by: 0.5,
            min_months: 3.0,
            max_months: 24.0,
            whole_months: true,
        };
        // |e| = MPE exactly: in tolerance, held.
        assert_eq!(staircase(12, -0.2, 0.2, &p), Some((Proposal::Keep, 12)));
        // Just out of tolerance: halved.
        assert_eq!(staircase(12, 0.2001, 0.2, &p), Some((Proposal::Shorten, 6)));
        // Exactly half the MPE: extended by 1.25 (12 → 15).
        assert_eq!(staircase(12, 0.1, 0.2, &p), Some((Proposal::Extend, 15)));
        // Clamped to the maximum and the minimum.
        assert_eq!(staircase(22, 0.0, 0.2, &p), Some((Proposal::Extend, 24)));
        assert_eq!(staircase(4, 1.0, 0.2, &p), Some((Proposal::Shorten, 3)));
        assert_eq!(staircase(12, 0.1, 0.0, &p), None);
        // Exact intervals: 12 × 1.25 = 15, 15 × 1.25 = 18.75 kept as is.
        let exact = Staircase {
            whole_months: false,
            ..p
        };
        let s = staircase_step(15.0, 0.0, 0.2, &exact).unwrap();
        assert_eq!((s.interval_unclamped_months, s.interval_after_months), (18.75, 18.75));
        let s = staircase_step(20.0, 0.0, 0.2, &exact).unwrap();
        assert_eq!(
            (s.interval_unclamped_months, s.interval_after_months, s.clamped),
            (25.0, 24.0, true)
        );
        // |e| = threshold × MPE in decimal (0.3 of 0.6) extends despite binary noise.
        assert_eq!(staircase_step(12.0, 0.3, 0.6, &p).unwrap().action, StepAction::Extend);
    }
}
